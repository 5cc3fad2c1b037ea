//! `precheck import`: configs of pre-commit and lefthook, in the shape their
//! documentation gives, become a checks.toml that runs and behaves the same.

use crate::common::TestRepo;

const PRE_COMMIT: &str = r#"
default_stages: [pre-commit]
repos:
  - repo: https://github.com/psf/black
    rev: 24.1.0
    hooks:
      - id: black
  - repo: local
    hooks:
      - id: py-list
        name: list python files
        entry: sh -c 'printf "%s\n" "$@" > py.txt' --
        language: system
        types: [python]
        exclude: ^vendor/
      - id: no-files
        name: runs without file names
        entry: sh -c 'echo ran > nofiles.txt'
        language: system
        pass_filenames: false
        always_run: true
      - id: docs
        name: markdown under docs
        entry: sh -c 'printf "%s\n" "$@" > docs.txt' --
        language: system
        files: ^docs/.*\.md$
      - id: push-only
        name: on push
        entry: sh -c 'echo pushed > push.txt'
        language: system
        pass_filenames: false
        stages: [pre-push]
      - id: eslint
        name: eslint
        entry: eslint
        language: node
"#;

#[test]
fn pre_commit_config_becomes_checks_that_behave_the_same() {
    let repo = TestRepo::new();
    repo.write(".pre-commit-config.yaml", PRE_COMMIT);
    repo.write(".gitignore", "*.txt\n");
    for f in [
        "a.py",
        "sub/b.py",
        "vendor/c.py",
        "docs/x.md",
        "README.md",
        "d.js",
    ] {
        repo.write(f, "x\n");
    }
    repo.stage(&["."]);
    let import = repo.precheck(&["import"]);
    import.expect_code(0);
    assert!(
        import.stderr.contains("with 6 checks"),
        "{}",
        import.context
    );
    assert!(
        import.stderr.contains(
            "hook eslint: `language: node` without additional_dependencies: `eslint` runs from your PATH"
        ),
        "{}",
        import.context
    );
    let toml = repo.read("checks.toml");
    assert!(
        toml.contains(r#"run = ["uvx", "black@24.1.0", "{files}"]"#),
        "{toml}"
    );
    let run = repo.precheck(&[
        "run", "py-list", "no-files", "docs", "--all", "--format", "json",
    ]);
    run.expect_code(0);
    assert_eq!(
        repo.read("py.txt"),
        "a.py\nsub/b.py\n",
        "types: [python], exclude ^vendor/"
    );
    assert_eq!(
        repo.read("docs.txt"),
        "docs/x.md\n",
        "files: ^docs/.*\\.md$"
    );
    assert_eq!(repo.read("nofiles.txt"), "ran\n");
    assert!(
        !repo.file("push.txt").exists(),
        "a pre-push hook is not a pre-commit check"
    );
    repo.precheck(&["run", "--all", "--hook", "pre-push"])
        .expect_code(0);
    assert_eq!(repo.read("push.txt"), "pushed\n");
    // It refuses to overwrite.
    repo.precheck(&["import"]).expect_code(2);
}

const LEFTHOOK: &str = r#"
pre-commit:
  parallel: true
  commands:
    lint:
      glob: "*.js"
      run: printf '%s\n' {staged_files} > js.txt
    web:
      root: "web/"
      glob: "*.ts"
      run: printf '%s\n' {staged_files} > ../ts.txt
    trailing:
      glob: "*.md"
      run: sed -i 's/ *$//' {staged_files}
      stage_fixed: true
commit-msg:
  commands:
    ticket:
      run: grep -q TICKET {1}
"#;

#[test]
fn lefthook_config_becomes_checks_that_behave_the_same() {
    let repo = TestRepo::new();
    repo.write("lefthook.yml", LEFTHOOK);
    repo.write(".gitignore", "*.txt\n");
    repo.stage(&["."]).commit("base");
    let import = repo.precheck(&["import"]);
    import.expect_code(0);
    assert!(
        import.stderr.contains("with 4 checks"),
        "{}",
        import.context
    );
    repo.stage(&["checks.toml"]).commit("precheck").install();
    repo.write("a.js", "x\n")
        .write("web/src/x.ts", "x\n")
        .write("notes.md", "trailing   \n");
    repo.stage(&["a.js", "web", "notes.md"]);
    let bad = repo.git_try(&["commit", "-qm", "no ticket"]);
    assert_ne!(bad.code, 0, "{}", bad.context);
    repo.git_try(&["commit", "-qm", "TICKET-1 import"])
        .expect_code(0);
    assert_eq!(repo.read("js.txt"), "a.js\n");
    assert_eq!(
        repo.read("ts.txt"),
        "src/x.ts\n",
        "root: web/ gives paths relative to it"
    );
    assert_eq!(
        repo.show("HEAD:notes.md"),
        b"trailing\n",
        "stage_fixed: the fix is committed"
    );
}
