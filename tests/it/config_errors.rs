//! Bad checks.toml: exit 2, `checks.toml:LINE:COL`, the line, a caret, and a
//! message naming the key. Never a panic.

use crate::common::{self, TestRepo};

fn error_of(toml: &str) -> String {
    let repo = TestRepo::new();
    repo.checks(toml);
    let run = repo.precheck(&["run"]);
    run.expect_code(2);
    assert!(!run.stderr.contains("panicked"), "{}", run.context);
    assert!(run.stdout.is_empty(), "{}", run.context);
    run.stderr
}

#[test]
fn unknown_key_points_at_it() {
    let err = error_of("[checks.lint]\nrun = 'true'\ncolour = 'red'\n");
    assert!(
        err.starts_with("error: checks.toml:3:1: unknown field `colour`, expected one of"),
        "{err}"
    );
    assert!(err.contains("3 | colour = 'red'\n  | ^^^^^^"), "{err}");
}

#[test]
fn unknown_setting_points_at_it() {
    let err = error_of("[settings]\njobz = 4\n");
    assert!(
        err.starts_with("error: checks.toml:2:1: unknown field `jobz`"),
        "{err}"
    );
}

#[test]
fn cycle_is_named() {
    let err = error_of(
        "[checks.a]\nrun = 'true'\nneeds = [\"b\"]\n[checks.b]\nrun = 'true'\nneeds = [\"c\"]\n[checks.c]\nrun = 'true'\nneeds = [\"a\"]\n",
    );
    assert_eq!(
        err,
        "error: checks.toml:3:10: dependency cycle in `needs`: a -> b -> c -> a\n  |\n3 | needs = [\"b\"]\n  |          ^^^\n"
    );
}

#[test]
fn unknown_needs_target() {
    let err = error_of("[checks.a]\nrun = 'true'\nneeds = [\"biuld\"]\n");
    assert!(
        err.starts_with(
            "error: checks.toml:3:10: check `a` needs `biuld`, which is neither a check nor a service in this file"
        ),
        "{err}"
    );
}

#[test]
fn bad_size_and_duration() {
    let err = error_of("[checks.a]\nrun = 'true'\nmemory = \"lots\"\n");
    assert!(
        err.starts_with("error: checks.toml:3:10: `memory`: `lots` is not a size"),
        "{err}"
    );
    let err = error_of("[checks.a]\nrun = 'true'\ntimeout = \"10\"\n");
    assert!(
        err.starts_with("error: checks.toml:3:11: `timeout`: `10` is not a duration"),
        "{err}"
    );
    let err = error_of("[settings]\nmemory = \"150%\"\n");
    assert!(
        err.starts_with("error: checks.toml:2:10: `memory`:"),
        "{err}"
    );
}

#[test]
fn empty_or_missing_run() {
    let err = error_of("[checks.a]\nrun = '  '\n");
    assert!(
        err.starts_with("error: checks.toml:2:7: check `a`: `run` is empty"),
        "{err}"
    );
    let err = error_of("[checks.a]\nrun = []\n");
    assert!(
        err.starts_with("error: checks.toml:2:7: check `a`: `run` is empty"),
        "{err}"
    );
    let err = error_of("[checks.a]\nglob = '*.rs'\n");
    assert!(err.contains("check `a` has no `run`"), "{err}");
}

#[test]
fn wrong_types() {
    let err = error_of("[checks.a]\nrun = 5\n");
    assert!(
        err.starts_with("error: checks.toml:2:7: check `a`: `run` must be a string"),
        "{err}"
    );
    let err = error_of("[settings]\njobs = \"four\"\n");
    assert!(
        err.starts_with("error: checks.toml:2:8: invalid type: string \"four\", expected i64"),
        "{err}"
    );
    let err = error_of("[checks.a]\nrun = 'x'\nhooks = [\"pre-comit\"]\n");
    assert!(err.contains("unknown hook `pre-comit`"), "{err}");
}

#[test]
fn toml_syntax_error_has_a_position() {
    let err = error_of("[checks.a]\nrun = 'unterminated\n");
    assert!(err.starts_with("error: checks.toml:2:"), "{err}");
}

#[test]
fn missing_config_says_what_to_do() {
    let repo = TestRepo::new();
    let run = repo.precheck(&["run"]);
    run.expect_code(2);
    assert!(run.stderr.contains("precheck init"), "{}", run.context);
}

#[test]
fn outside_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.arg("run").current_dir(dir.path());
    common::clean_env(&mut cmd, dir.path());
    cmd.env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap());
    let run = common::finish(&mut cmd, dir.path());
    run.expect_code(2);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.context
    );
}

#[test]
fn bad_usage_exits_2() {
    let repo = TestRepo::new();
    repo.checks("[checks.a]\nrun = 'true'\n");
    repo.precheck(&["run", "--memory", "much"]).expect_code(2);
    repo.precheck(&["run", "nosuchcheck"]).expect_code(2);
    repo.precheck(&["run", "--bogus-flag"]).expect_code(2);
}

#[test]
fn zero_and_nonsense_limits_point_at_their_key() {
    let err = error_of("[checks.a]\nrun = 'true'\nmemory_limit = \"0\"\n");
    assert!(
        err.starts_with("error: checks.toml:3:16: check `a`: `memory_limit` of 0 would kill"),
        "{err}"
    );
    let err = error_of("[checks.a]\nrun = 'true'\ntimeout = \"0s\"\n");
    assert!(
        err.starts_with("error: checks.toml:3:11: check `a`: `timeout` of 0 would stop"),
        "{err}"
    );
    let err = error_of("[checks.a]\nrun = 'true'\nmemory = \"2GiB\"\nmemory_limit = \"1GiB\"\n");
    assert!(
        err.starts_with(
            "error: checks.toml:4:16: check `a`: `memory_limit` is below its expected `memory`"
        ),
        "{err}"
    );
    assert!(
        err.contains("4 | memory_limit = \"1GiB\"\n  |                ^^^^^^"),
        "{err}"
    );
}
