//! The live view in a real terminal (tmux): running checks update in place,
//! and nothing is left garbled when checks finish or fail. The same run
//! piped gives plain lines.

use std::process::Command;
use std::time::Duration;

use crate::common::{self, wait_for, TestRepo, BIN};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(repo: &TestRepo, script: &str) -> Tmux {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok(),
            "this test needs tmux (apt-get install tmux); .ci/run installs it"
        );
        let socket = format!("precheck-test-{}", std::process::id());
        repo.write("live.sh", script);
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
        ])
        .arg(format!("sh {}", repo.file("live.sh").display()))
        .current_dir(repo.path());
        common::clean_env(&mut cmd, repo.path());
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn live_view_updates_in_place_and_ends_clean() {
    let repo = TestRepo::new();
    repo.checks(
        "[settings]\njobs = 4\nmemory = \"4GiB\"\n\
         [checks.slow-one]\nrun = 'sleep 2.5'\nmemory = \"1GiB\"\n\
         [checks.slow-two]\nrun = 'sleep 3'\nmemory = \"1GiB\"\n\
         [checks.breaks]\nrun = 'sleep 0.3; echo boom-from-breaks; exit 1'\nmemory = \"1GiB\"\n\
         [checks.waits]\nrun = 'true'\nmemory = \"3GiB\"\n",
    );
    let tmux = Tmux::start(&repo, &format!("{BIN} run; echo \"EXIT=$?\"; sleep 120\n"));
    wait_for("the live view", || tmux.screen().contains("running,"));
    wait_for("the failure to be reported", || {
        tmux.screen().contains("✗ breaks failed (exit 1)")
    });
    let first = tmux.screen();
    std::thread::sleep(Duration::from_millis(600));
    let second = tmux.screen();
    for screen in [&first, &second] {
        assert!(screen.contains("waiting (1 for memory)"), "{screen}");
        // One line per running check, redrawn in place, never appended.
        assert_eq!(count(screen, "slow-one"), 1, "{screen}");
        assert_eq!(count(screen, "slow-two"), 1, "{screen}");
        assert_eq!(count(screen, "running,"), 1, "{screen}");
        assert_eq!(count(screen, "✗ breaks failed"), 1, "{screen}");
    }
    assert_ne!(first, second, "elapsed times update");
    wait_for("precheck to exit", || tmux.screen().contains("EXIT="));
    let end = tmux.screen();
    assert!(end.contains("EXIT=1"), "{end}");
    assert!(
        !end.contains("running,"),
        "the live block is cleared: {end}"
    );
    assert!(
        !end.contains('⠋') && !end.contains('⠙'),
        "no spinner left: {end}"
    );
    assert_eq!(count(&end, "✓ slow-one passed"), 1, "{end}");
    assert_eq!(count(&end, "✓ waits passed"), 1, "{end}");
    assert_eq!(count(&end, "── breaks failed (exit 1)"), 1, "{end}");
    assert!(end.contains("boom-from-breaks"), "{end}");
    assert!(end.contains("failed: 3 passed, 1 failed"), "{end}");
    // Top to bottom: progress lines, then the failure block, then the table.
    let block = end.find("── breaks").unwrap();
    let table = end.find("check  ").unwrap();
    assert!(
        end.find("✓ slow-two").unwrap() < block && block < table,
        "{end}"
    );
}

#[test]
fn piped_output_is_plain_lines() {
    let repo = TestRepo::new();
    repo.checks("[checks.a]\nrun = 'sleep 0.2'\n[checks.b]\nrun = 'exit 3'\n");
    let run = repo.precheck(&["run"]);
    run.expect_code(1);
    assert!(!run.stderr.contains('\x1b'), "{}", run.context);
    assert!(!run.stdout.contains('\x1b'), "{}", run.context);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.contains(&"start a"), "{}", run.context);
    assert!(
        lines.iter().any(|l| l.starts_with("pass  a passed")),
        "{}",
        run.context
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("FAIL  b failed (exit 3)")),
        "{}",
        run.context
    );
}
