//! Services: real HTTP servers (Python's `http.server`) that checks need,
//! started and stopped by a run or by `precheck up`/`down`, under the
//! memory cap; what happens when one is never ready or dies; and that no
//! process is left behind after `down`, Ctrl-C or a killed precheck.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{alive, intervals, timed, wait_for, TestRepo};

/// A port nothing listens on now, and no other test of this process was
/// given: the kernel's own pick (port 0) can hand one test the port another
/// just let go of, so ports are counted out here, each checked free.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 400) as u16 * 50,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A server that writes its pid to NAME.pid, waits DELAY seconds, says
/// "serving", and answers every GET with "hello from NAME"; once the file
/// DIE exists (if given) it exits with status 3.
const SERVER: &str = r#"
import http.server, os, sys, threading, time
name, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with open(name + ".pid", "w") as f:
    f.write(str(os.getpid()))
print("booting", name, flush=True)
time.sleep(delay)
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(("hello from " + name + "\n").encode())
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Hello)
def die_when(path):
    while not os.path.exists(path):
        time.sleep(0.02)
    os._exit(3)
if len(sys.argv) > 4:
    threading.Thread(target=die_when, args=(sys.argv[4],), daemon=True).start()
print("serving", name, "on", port, flush=True)
server.serve_forever()
"#;

fn repo_with_server() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("server.py", SERVER);
    repo
}

/// A check command that fetches the URL and writes what it got to OUT.
fn fetch(port: u16, out: &str) -> String {
    format!(
        "python3 -c \"import urllib.request; open('{out}', 'w').write(urllib.request.urlopen('http://127.0.0.1:{port}/').read().decode())\""
    )
}

/// The pid a server wrote to `file` (waiting until it is whole: the file
/// exists a moment before its number does).
fn pid_in(repo: &TestRepo, file: &str) -> i32 {
    let mut pid = None;
    wait_for(&format!("a pid in {file}"), || {
        pid = std::fs::read_to_string(repo.file(file))
            .ok()
            .and_then(|t| t.trim().parse().ok());
        pid.is_some()
    });
    pid.unwrap_or_default()
}

#[test]
fn a_check_that_needs_a_service_fetches_from_it_and_the_run_stops_it_after() {
    let repo = repo_with_server();
    // The server writes its pid in the tree each run: ignored, or no pass
    // would be remembered (the tree changed while the checks ran).
    repo.write(".gitignore", "web.pid\n");
    let port = free_port();
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0.5\"\nready = \"http://127.0.0.1:{port}/\"\n\n\
         [checks.e2e]\nrun = '''{}'''\nneeds = [\"web\"]\n\n\
         [checks.lint]\nrun = 'true'\n",
        fetch(port, "got.txt")
    ));
    let run = repo.precheck(&["run", "--all", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(repo.read("got.txt"), "hello from web\n", "{}", run.context);
    let web = run.check("web");
    assert_eq!(web["kind"], "service");
    assert_eq!(web["status"], "passed");
    let detail = web["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("http://127.0.0.1:{port}/ answered 200")),
        "{detail}"
    );
    assert_eq!(run.check("e2e")["kind"], "check");
    // Stopped with the run: nothing listens any more.
    let pid = pid_in(&repo, "web.pid");
    assert!(!alive(pid), "the service outlived the run");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    // A run whose checks need no service starts none, nor one whose
    // checks that need it have their passes cached.
    std::fs::remove_file(repo.file("web.pid")).unwrap();
    repo.precheck(&["run", "--all", "lint"]).expect_code(0);
    assert!(!repo.file("web.pid").exists());
    // (Once more first, from the tree as it now stays: got.txt written.)
    repo.precheck(&["run", "--all"]).expect_code(0);
    std::fs::remove_file(repo.file("web.pid")).unwrap();
    let again = repo.precheck(&["run", "--all", "--format", "json"]);
    again.expect_code(0);
    assert_eq!(again.check("e2e")["status"], "cached", "{}", again.context);
    assert!(!repo.file("web.pid").exists(), "{}", again.context);
    assert!(again.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["name"] != "web"));
}

#[test]
fn a_service_never_ready_fails_its_checks_after_ready_timeout_with_its_log_tail() {
    let repo = repo_with_server();
    let port = free_port();
    let dead = free_port();
    repo.checks(&format!(
        "[services.slow]\nrun = \"python3 server.py slow {port} 300\"\nready = \"http://127.0.0.1:{port}/\"\nready_timeout = \"1s\"\n\n\
         [services.broken]\nrun = \"echo cannot bind >&2; exit 7\"\nready_port = {dead}\n\n\
         [checks.e2e]\nrun = 'touch e2e-ran'\nneeds = [\"slow\"]\n\n\
         [checks.api]\nrun = 'touch api-ran'\nneeds = [\"broken\"]\n"
    ));
    let run = repo.precheck(&["run", "--all", "--format", "json"]);
    run.expect_code(1);
    let e2e = run.check("e2e");
    assert_eq!(e2e["status"], "failed", "{}", run.context);
    assert_eq!(
        e2e["detail"],
        format!(
            "needs service `slow`, which was not ready after 1.0s (waiting for http://127.0.0.1:{port}/)"
        )
    );
    let slow = run.check("slow");
    assert_eq!(slow["status"], "failed");
    assert!(
        slow["tail"].as_str().unwrap().contains("booting slow"),
        "{}",
        run.context
    );
    let api = run.check("api");
    assert_eq!(api["status"], "failed");
    assert_eq!(
        api["detail"],
        format!(
            "needs service `broken`, which exited before it was ready (exit code 7; waiting for port {dead})"
        )
    );
    assert!(run.check("broken")["tail"]
        .as_str()
        .unwrap()
        .contains("cannot bind"));
    assert!(!repo.file("e2e-ran").exists() && !repo.file("api-ran").exists());
    assert!(
        !alive(pid_in(&repo, "slow.pid")),
        "the slow service is stopped"
    );
    // The person at the terminal sees the reason and the log, once each.
    let human = repo.precheck(&["run", "--all"]);
    human.expect_code(1);
    assert!(
        human
            .stdout
            .contains("service `slow`: was not ready after 1.0s"),
        "{}",
        human.context
    );
    assert_eq!(
        human.stdout.matches("booting slow").count(),
        1,
        "{}",
        human.context
    );
}

#[test]
fn a_service_that_dies_mid_run_fails_the_checks_that_need_it() {
    let repo = repo_with_server();
    let port = free_port();
    // Exits with status 3 once the check, which goes on running (it waits
    // for a file nobody writes), has fetched from it and written its pid.
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0 e2e.pid\"\nready_log = \"serving web\"\n\n\
         [checks.e2e]\nrun = '''{} && echo $$ > e2e.pid && while [ ! -e never ]; do sleep 0.05; done'''\nneeds = [\"web\"]\n",
        fetch(port, "got.txt")
    ));
    let run = repo.precheck(&["run", "--all", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(repo.read("got.txt"), "hello from web\n");
    let e2e = run.check("e2e");
    assert_eq!(e2e["status"], "failed", "{}", run.context);
    assert_eq!(
        e2e["detail"],
        "service `web`, which it needs, ended while it ran (see the service's log)"
    );
    let web = run.check("web");
    assert_eq!(web["status"], "failed");
    assert_eq!(web["detail"], "exited while checks needed it (exit code 3)");
    assert!(web["tail"].as_str().unwrap().contains("serving web"));
    assert!(!alive(pid_in(&repo, "e2e.pid")), "the check was stopped");
}

#[test]
fn up_tasks_log_follow_and_down_leave_nothing_running() {
    let repo = repo_with_server();
    let port = free_port();
    // The service's first process is a shell; the server is its child.
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0.3 & echo $$ > shell.pid; wait\"\nready = \"http://127.0.0.1:{port}/\"\nmemory = \"300MiB\"\n"
    ));
    let up = repo.precheck(&["up"]);
    up.expect_code(0);
    let line = up.stdout.lines().next().unwrap_or_default().to_string();
    assert!(line.starts_with("web  ready"), "{}", up.context);
    assert!(
        line.contains(&format!("http://127.0.0.1:{port}/ answered 200")),
        "{}",
        up.context
    );
    let server = pid_in(&repo, "web.pid");
    let shell = pid_in(&repo, "shell.pid");
    assert!(line.contains(&format!("pid {shell}")), "{}", up.context);
    // It outlives the command that started it, in a session of its own.
    assert!(alive(server) && alive(shell));
    let again = repo.precheck(&["up", "--format", "json"]).json();
    assert_eq!(again["services"][0]["started"], false, "{again}");
    assert_eq!(again["services"][0]["pid"], shell);

    let tasks = repo.precheck(&["tasks", "--format", "json"]).json();
    let row = &tasks["services"][0];
    assert_eq!(row["name"], "web");
    assert_eq!(row["state"], "ready");
    assert_eq!(row["pid"], shell);
    assert_eq!(row["reserved_bytes"], 300u64 << 20);
    assert!(row["memory_bytes"].as_u64().unwrap() > 0, "{tasks}");
    assert!(row["uptime_ms"].as_u64().is_some());
    let text = repo.precheck(&["tasks"]);
    assert!(text.stdout.contains("SERVICE"), "{}", text.context);
    assert!(text.stdout.contains("(300MiB)"), "{}", text.context);

    let log = repo.precheck(&["log", "web"]);
    assert!(
        log.stdout.contains(&format!("serving web on {port}")),
        "{}",
        log.context
    );
    // `log -f` follows until the service stops.
    let follower = repo
        .command(&["log", "web", "-f"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let down = repo.precheck(&["down"]);
    down.expect_code(0);
    assert!(down.stdout.starts_with("web  stopped"), "{}", down.context);
    let followed = follower.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&followed.stdout).contains("serving web"));
    assert!(!alive(server) && !alive(shell), "down left a process");
    let tasks = repo.precheck(&["tasks", "--format", "json"]).json();
    assert_eq!(tasks["services"][0]["state"], "stopped");
    assert_eq!(tasks["services"][0]["reserved_bytes"], 0);
    let nothing = repo.precheck(&["down"]);
    assert_eq!(nothing.stdout.trim(), "no service is running");
    // Up again, then `kill web` stops it the same way.
    repo.precheck(&["up", "web"]).expect_code(0);
    let server = pid_in(&repo, "web.pid");
    let kill = repo.precheck(&["kill", "web"]);
    assert!(
        kill.stdout.starts_with("stopped service web"),
        "{}",
        kill.context
    );
    assert!(!alive(server));
}

#[test]
fn a_service_left_running_by_up_is_reused_by_a_hook_and_not_stopped() {
    let repo = repo_with_server();
    let port = free_port();
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0\"\nready = \"http://127.0.0.1:{port}/\"\n\n\
         [checks.e2e]\nrun = '''{}'''\nneeds = [\"web\"]\n",
        fetch(port, "got.txt")
    ));
    repo.precheck(&["up"]).expect_code(0);
    let server = pid_in(&repo, "web.pid");
    repo.install();
    repo.write("a.txt", "a\n")
        .stage(&["a.txt", "checks.toml", "server.py"]);
    let commit = repo.git_try(&["commit", "-m", "with e2e"]);
    commit.expect_code(0);
    assert_eq!(repo.read("got.txt"), "hello from web\n");
    assert!(
        commit.stdout.contains("reused") || commit.stderr.contains("reused"),
        "the hook says it reused the service: {}",
        commit.context
    );
    assert!(alive(server), "a hook stopped a service it did not start");
    assert_eq!(
        pid_in(&repo, "web.pid"),
        server,
        "no second server was started"
    );
    repo.precheck(&["down"]).expect_code(0);
    assert!(!alive(server));
}

#[test]
fn anything_already_answering_the_probe_is_used_and_left_alone() {
    let repo = repo_with_server();
    let port = free_port();
    // Started by hand, not by precheck.
    let mut outside = std::process::Command::new("python3")
        .args(["server.py", "outside", &port.to_string(), "0"])
        .current_dir(repo.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the outside server", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0\"\nready_port = {port}\n\n\
         [checks.e2e]\nrun = '''{}'''\nneeds = [\"web\"]\n",
        fetch(port, "got.txt")
    ));
    let run = repo.precheck(&["run", "--all", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(repo.read("got.txt"), "hello from outside\n");
    assert!(run.check("web")["detail"]
        .as_str()
        .unwrap()
        .starts_with(&format!("reused: port {port} accepted a connection")));
    assert!(!repo.file("web.pid").exists(), "precheck started its own");
    assert!(outside.try_wait().unwrap().is_none(), "precheck stopped it");
    outside.kill().unwrap();
    let _ = outside.wait();
}

#[test]
fn a_service_and_its_checks_never_exceed_the_cap() {
    let repo = repo_with_server();
    let port = free_port();
    // 1 GiB: the 600 MiB service leaves room for one 300 MiB check at a time.
    let service = format!(
        "trap 'echo web end $(date +%s%N) >> times.log; exit 0' TERM; echo web start $(date +%s%N) >> times.log; python3 server.py web {port} 0 & wait"
    );
    let mut toml = format!(
        "[settings]\njobs = 4\nmemory = \"1GiB\"\n\n\
         [services.web]\nrun = \"\"\"{service}\"\"\"\nready = \"http://127.0.0.1:{port}/\"\nmemory = \"600MiB\"\n"
    );
    for name in ["c1", "c2", "c3"] {
        toml.push_str(&format!(
            "\n[checks.{name}]\nrun = '''{}'''\nmemory = \"300MiB\"\nneeds = [\"web\"]\n",
            timed(
                name,
                &format!("{} && sleep 0.3", fetch(port, &format!("{name}.txt")))
            )
        ));
    }
    toml.push_str(&format!(
        "\n[checks.free]\nrun = '{}'\nmemory = \"300MiB\"\n",
        timed("free", "sleep 0.3")
    ));
    repo.checks(&toml);
    let run = repo.precheck(&["run", "--all", "--format", "json"]);
    run.expect_code(0);
    let times = intervals(&repo);
    assert_eq!(times.len(), 5, "{times:?}");
    let declared = |name: &str| if name == "web" { 600 } else { 300 };
    // At every start, what runs then (by its own timestamps) fits the cap.
    for (name, (start, _)) in &times {
        let held: u64 = times
            .iter()
            .filter(|(_, (s, e))| s <= start && start < e)
            .map(|(n, _)| declared(n))
            .sum();
        assert!(
            held <= 1024,
            "{held} MiB held when {name} started: {times:?}"
        );
    }
    // The checks that need web ran while it served, and it stopped after them.
    let web = times["web"];
    for name in ["c1", "c2", "c3"] {
        assert_eq!(repo.read(format!("{name}.txt")), "hello from web\n");
        assert!(web.0 < times[name].0 && times[name].1 < web.1, "{times:?}");
    }
}

/// Processes whose environment holds `needle` (a marker only this test's
/// processes carry).
fn with_marker(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        })
        .filter(|&pid| alive(pid))
        .collect()
}

#[test]
fn ctrl_c_or_a_killed_precheck_leaves_no_service_running() {
    for signal in [libc::SIGINT, libc::SIGKILL] {
        let repo = repo_with_server();
        let port = free_port();
        let marker = format!("SERVICE_TEST_MARK={port}");
        repo.checks(&format!(
            "[services.web]\nrun = \"python3 server.py web {port} 0\"\nready = \"http://127.0.0.1:{port}/\"\nenv = {{ SERVICE_TEST_MARK = \"{port}\" }}\n\n\
             [checks.e2e]\nrun = 'touch e2e.started; sleep 300'\nneeds = [\"web\"]\nenv = {{ SERVICE_TEST_MARK = \"{port}\" }}\n"
        ));
        let mut child = repo.command(&["run", "--all"]).spawn().unwrap();
        wait_for("the check to start", || repo.file("e2e.started").exists());
        let server = pid_in(&repo, "web.pid");
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let status = child.wait().unwrap();
        if signal == libc::SIGINT {
            assert_eq!(status.code(), Some(130));
            assert!(with_marker(&marker).is_empty(), "Ctrl-C left processes");
        } else {
            // Killed outright: the next command stops what it left.
            assert!(alive(server), "the server outlives a SIGKILLed precheck");
            let next = repo.precheck(&["tasks"]);
            assert!(
                next.stderr.contains("left running by a precheck that died"),
                "{}",
                next.context
            );
        }
        wait_for("the service to be gone", || !alive(server));
        assert!(
            with_marker(&marker).is_empty(),
            "signal {signal}: processes left"
        );
    }
}

#[test]
fn a_killed_up_leaves_nothing_once_the_next_command_runs() {
    let repo = repo_with_server();
    let port = free_port();
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 300\"\nready = \"http://127.0.0.1:{port}/\"\n"
    ));
    let mut up = repo.command(&["up"]).spawn().unwrap();
    wait_for("the service to start", || repo.file("web.pid").exists());
    let server = pid_in(&repo, "web.pid");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(up.id() as i32, libc::SIGKILL);
    }
    let _ = up.wait();
    assert!(alive(server));
    let next = repo.precheck(&["tasks", "--format", "json"]);
    wait_for("the service to be gone", || !alive(server));
    assert_eq!(next.json()["services"][0]["state"], "exited");
    // Ctrl-C while `up` waits stops what it started too.
    std::fs::remove_file(repo.file("web.pid")).unwrap();
    let mut up = repo.command(&["up"]).spawn().unwrap();
    wait_for("the service to start", || repo.file("web.pid").exists());
    let server = pid_in(&repo, "web.pid");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(up.id() as i32, libc::SIGINT);
    }
    assert_eq!(up.wait().unwrap().code(), Some(130));
    assert!(!alive(server));
}

#[test]
fn a_background_run_starts_and_stops_its_services_the_same_way() {
    let repo = repo_with_server();
    let port = free_port();
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0.2\"\nready = \"http://127.0.0.1:{port}/\"\n\n\
         [checks.e2e]\nrun = '''{}'''\nneeds = [\"web\"]\n",
        fetch(port, "got.txt")
    ));
    let id = crate::common::start(&repo, &["--all"]);
    repo.precheck(&["wait", "--run", &id]).expect_code(0);
    assert_eq!(repo.read("got.txt"), "hello from web\n");
    assert!(!alive(pid_in(&repo, "web.pid")));
}

#[test]
fn bad_services_are_told_with_line_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "[services.web]\nrun = 'x'\nreadyy = 'http://a/'\n",
            "checks.toml:3:1: unknown field `readyy`",
        ),
        (
            "[services.web]\nrun = 'x'\nready = 'localhost:5173'\n",
            "checks.toml:3:9: service `web`: `ready`: `localhost:5173` is not an http:// URL",
        ),
        (
            "[services.web]\nrun = 'x'\nready = 'http://127.0.0.1:99999/'\n",
            "checks.toml:3:9: service `web`: `ready`: `http://127.0.0.1:99999/`: `99999` is not a port",
        ),
        (
            "[services.web]\nrun = 'x'\nready_port = 0\n",
            "checks.toml:3:14: service `web`: `ready_port` must be a port from 1 to 65535, not 0",
        ),
        (
            "[services.web]\nrun = 'x'\nready_log = 'Local: ('\n",
            "checks.toml:3:13: service `web`: `ready_log` is not a valid regular expression",
        ),
        (
            "[services.web]\nrun = 'x'\nready_port = 80\nready_log = 'x'\n",
            "checks.toml:4:13: service `web`: give one of `ready`, `ready_port` and `ready_log`, not several",
        ),
        (
            "[services.web]\nrun = 'x'\nready_port = 80\nready_timeout = 'soon'\n",
            "checks.toml:4:17: service `web`: `ready_timeout`: `soon` is not a duration",
        ),
        (
            "[services.web]\nready_port = 80\n",
            "checks.toml:1:1: service `web` has no `run`",
        ),
        (
            "[checks.e2e]\nrun = 'x'\nneeds = ['wbe']\n[services.web]\nrun = 'x'\n",
            "checks.toml:3:10: check `e2e` needs `wbe`, which is neither a check nor a service in this file",
        ),
        (
            "[checks.web]\nrun = 'x'\n[services.web]\nrun = 'x'\n",
            "checks.toml:3:11: `web` is both a check and a service",
        ),
    ];
    for (toml, want) in cases {
        let repo = TestRepo::new();
        repo.checks(toml);
        let run = repo.precheck(&["run", "--all"]);
        run.expect_code(2);
        assert!(
            run.stderr.starts_with(&format!("error: {want}")),
            "want {want:?}\n{}",
            run.context
        );
        assert!(!run.stderr.contains("panicked"));
    }
}

#[test]
fn a_service_left_running_by_up_makes_later_runs_admit_fewer_checks() {
    let repo = repo_with_server();
    let port = free_port();
    // 1 GiB: two 300 MiB checks fit together, but not beside a 600 MiB
    // service that `up` left running.
    let mut toml = format!(
        "[settings]\njobs = 4\nmemory = \"1GiB\"\n\n\
         [services.web]\nrun = \"python3 server.py web {port} 0\"\nready = \"http://127.0.0.1:{port}/\"\nmemory = \"600MiB\"\n"
    );
    for name in ["a", "b"] {
        toml.push_str(&format!(
            "\n[checks.{name}]\nrun = '{}'\nmemory = \"300MiB\"\ncache = false\n",
            timed(name, "sleep 0.5")
        ));
    }
    repo.checks(&toml);
    repo.precheck(&["run", "--all"]).expect_code(0);
    assert_eq!(
        crate::common::max_overlap(&intervals(&repo)),
        2,
        "without the service they overlap"
    );
    std::fs::remove_file(repo.file("times.log")).unwrap();
    repo.precheck(&["up"]).expect_code(0);
    repo.precheck(&["run", "--all"]).expect_code(0);
    assert_eq!(
        crate::common::max_overlap(&intervals(&repo)),
        1,
        "the service's 600 MiB leaves room for one check at a time"
    );
    repo.precheck(&["down"]).expect_code(0);
}

#[test]
fn two_ups_at_once_start_one_server() {
    let repo = repo_with_server();
    let port = free_port();
    // Slow to become ready, so the two commands overlap.
    repo.checks(&format!(
        "[services.web]\nrun = \"python3 server.py web {port} 0.5 & echo $$ >> starts; wait\"\nready = \"http://127.0.0.1:{port}/\"\n"
    ));
    let first = repo
        .command(&["up", "--format", "json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first up to start it", || repo.file("starts").exists());
    let second = repo.precheck(&["up", "--format", "json"]);
    second.expect_code(0);
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["services"][0]["started"], true, "{first}");
    assert_eq!(
        second.json()["services"][0]["started"],
        false,
        "{}",
        second.context
    );
    assert!(
        second.stderr.contains("waiting for another `precheck up`"),
        "{}",
        second.context
    );
    assert_eq!(repo.read("starts").lines().count(), 1, "one server started");
    assert_eq!(
        second.json()["services"][0]["pid"],
        first["services"][0]["pid"],
        "the second names the first's service"
    );
    repo.precheck(&["down"]).expect_code(0);
    assert!(!alive(pid_in(&repo, "web.pid")));
}
