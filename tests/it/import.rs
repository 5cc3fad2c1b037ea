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

/// A real config from tests/import/, imported in a fresh repository holding
/// `files`; returns the repository, the import's stderr and checks.toml.
fn import_real(config: &str, as_name: &str, files: &[&str]) -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/import")
            .join(config),
    )
    .unwrap();
    repo.write(as_name, text);
    for f in files {
        repo.write(f, "x = 1\n");
    }
    repo.stage(&["."]);
    let import = repo.precheck(&["import"]);
    import.expect_code(0);
    let toml = repo.read("checks.toml");
    (repo, import.stderr, toml)
}

/// Each check's `paths` in `precheck list --all --format json`.
fn selection(repo: &TestRepo, hook: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    repo.stage(&["."]);
    let doc = repo
        .precheck(&["list", "--all", "--hook", hook, "--format", "json"])
        .json();
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let paths = c["paths"].as_array().unwrap();
            (
                c["name"].as_str().unwrap().to_string(),
                paths
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .filter(|p| p != "checks.toml")
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn import_of_requests_makes_built_ins_and_pinned_ruff_under_the_top_level_exclude() {
    let (repo, _, toml) = import_real(
        "requests.pre-commit-config.yaml",
        ".pre-commit-config.yaml",
        &[
            "src/requests/api.py",
            "docs/conf.py",
            "tests/test_lowlevel.py",
            "tests/t.py",
        ],
    );
    for line in [
        r#"run = ["builtin:mixed-line-ending", "--fix=auto"]"#,
        r#"run = ["builtin:check-yaml"]"#,
        r#"run = ["uvx", "ruff@0.15.22", "check", "--force-exclude", "--fix", "{files}"]"#,
        r#"exclude_regex = "(?:docs/|ext/)|(?:tests/test_lowlevel.py)""#,
        "# no ruff in the project (.venv/bin, venv/bin) at import: ruff==0.15.22",
    ] {
        assert!(toml.contains(line), "{line}\n{toml}");
    }
    let sel = selection(&repo, "pre-commit");
    assert_eq!(
        sel["ruff-check"],
        [
            "src/requests/api.py",
            "tests/t.py",
            "tests/test_lowlevel.py"
        ]
    );
    assert_eq!(sel["ruff-format"], ["src/requests/api.py", "tests/t.py"]);
}

#[test]
fn import_of_pip_keeps_pygrep_fail_hooks_and_pre_commit_hooks_without_a_built_in() {
    let (repo, stderr, toml) = import_real(
        "pip.pre-commit-config.yaml",
        ".pre-commit-config.yaml",
        &[
            "src/pip/_vendor/v.py",
            "src/pip/m.py",
            "news/1.bugfix.rst",
            "news/bad.txt",
            "NEWS.rst",
            "docs/a.rst",
        ],
    );
    assert!(stderr.contains("with 17 checks"), "{stderr}");
    for line in [
        r#"run = ["uvx", "--from", "pre-commit-hooks==4.4.0", "debug-statement-hook", "{files}"]"#,
        r#"run = ["builtin:pygrep", "\\beval\\("]"#,
        r#"run = ["uvx", "--from", "mypy==0.961", "--with", "keyring==23.0.1""#,
        r#"run = ["sh", "-c", "printf '%s\\n' \"$0\" \"$@\" >&2; exit 1", "NEWS fragment files must be named"#,
    ] {
        assert!(toml.contains(line), "{line}\n{toml}");
    }
    let sel = selection(&repo, "pre-commit");
    assert_eq!(sel["news-fragment-filenames"], ["news/bad.txt"]);
    assert_eq!(sel["python-no-eval"], ["src/pip/m.py"]);
    assert_eq!(
        sel["rst-backticks"],
        ["docs/a.rst", "news/1.bugfix.rst"],
        "NEWS.rst is excluded"
    );
}

#[test]
fn import_of_flask_says_which_filter_it_could_not_read() {
    let (repo, stderr, toml) = import_real(
        "flask.pre-commit-config.yaml",
        ".pre-commit-config.yaml",
        &["src/flask/app.py", "examples/demo.py"],
    );
    assert!(
        stderr.contains("hook reorder-python-imports: `files` `^(?!examples/)` uses look-around"),
        "{stderr}"
    );
    assert!(toml.contains(r#"run = ["uvx", "--from", "flake8==6.1.0", "--with", "flake8-bugbear", "--with", "flake8-implicit-str-concat", "flake8", "{files}"]"#), "{toml}");
    assert!(toml.contains(r#"run = ["uvx", "--from", "pre-commit-hooks==4.4.0", "fix-byte-order-marker", "{files}"]"#), "{toml}");
    let sel = selection(&repo, "pre-commit");
    assert_eq!(sel["black"], ["examples/demo.py", "src/flask/app.py"]);
}

#[test]
fn import_of_home_assistant_keeps_stages_branches_and_names_the_unknown_repository() {
    let (repo, stderr, toml) = import_real(
        "home-assistant.pre-commit-config.yaml",
        ".pre-commit-config.yaml",
        &["homeassistant/core.py", "other/x.py"],
    );
    assert!(stderr.contains("hook python-typing-update (https://github.com/cdce8p/python-typing-update v0.3.2): not translated"), "{stderr}");
    assert!(toml.contains(r#"run = ["builtin:no-commit-to-branch", "--branch=dev", "--branch=master", "--branch=rc"]"#), "{toml}");
    assert!(toml.contains("[checks.\"prettier\"]\n# no prettier in the project (node_modules/.bin) at import: prettier@2.2.1"), "{toml}");
    let sel = selection(&repo, "pre-commit");
    assert_eq!(sel["black"], ["homeassistant/core.py"]);
    assert_eq!(sel["pyupgrade"], ["homeassistant/core.py", "other/x.py"]);
}

#[test]
fn import_prefers_the_projects_own_tool() {
    let repo = TestRepo::new();
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n- repo: https://github.com/psf/black-pre-commit-mirror\n  rev: 24.1.0\n  hooks:\n  - id: black\n- repo: https://github.com/pre-commit/mirrors-prettier\n  rev: v3.1.0\n  hooks:\n  - id: prettier\n",
    );
    repo.write(".venv/bin/black", "#!/bin/sh\n");
    repo.precheck(&["import"]).expect_code(0);
    let toml = repo.read("checks.toml");
    assert!(toml.contains("# the project's own black (.venv/bin/black, found at import); pre-commit used black 24.1.0\nrun = [\".venv/bin/black\", \"{files}\"]"), "{toml}");
    assert!(
        toml.contains(
            r#"run = ["npx", "--yes", "prettier@3.1.0", "--write", "--ignore-unknown", "{files}"]"#
        ),
        "{toml}"
    );
}

#[test]
fn import_of_lefthooks_own_config_keeps_groups_and_globs() {
    let (repo, _, toml) = import_real(
        "lefthook.lefthook.yml",
        "lefthook.yml",
        &[
            "main.go",
            "internal/config/c.go",
            "internal/config/sub/d.go",
            "CHANGELOG.md",
            "README.md",
        ],
    );
    assert!(toml.contains("[checks.\"lint-&-test-1\"]\nrun = \"make lint\"\nglob = [\"*.go\"]\nstage_fixed = true"), "{toml}");
    let sel = selection(&repo, "pre-commit");
    assert_eq!(sel["check-links"], ["README.md"]);
    assert_eq!(
        sel["update-JSON-schema"],
        ["internal/config/c.go", "internal/config/sub/d.go"],
        "lefthook's * crosses folders"
    );
}

#[test]
fn import_of_discourse_keeps_pre_push_and_custom_hooks() {
    let (repo, stderr, toml) = import_real(
        "discourse.lefthook.yml",
        "lefthook.yml",
        &[
            "app/x.rb",
            "vendor/lib.js",
            "app/a.js",
            "config/database.yml",
            "config/site.yml",
        ],
    );
    assert!(stderr.contains("`lints` is not a git hook"), "{stderr}");
    assert!(toml.contains("[checks.\"rubocop\"]\nrun = \"bundle exec rubocop {files}\"\nglob = [\"*.rb\"]\nhooks = [\"pre-push\"]"), "{toml}");
    let sel = selection(&repo, "pre-push");
    assert_eq!(sel["eslint-js"], ["app/a.js"]);
    assert_eq!(sel["yaml-syntax"], ["config/site.yml", "lefthook.yml"]);
}

#[test]
fn import_of_lefthook_jobs_scripts_piped_and_conditions() {
    let repo = TestRepo::new();
    repo.write(
        "lefthook.yml",
        r#"
pre-commit:
  piped: true
  jobs:
    - name: fmt
      run: cargo fmt
      skip: [merge, rebase, { ref: main }, { run: "test -f x" }]
    - name: lint
      run: cargo clippy
      only: [{ ref: dev }]
      tags: [rust]
      fail_text: run cargo clippy --fix
      env: { RUSTFLAGS: "-D warnings" }
commit-msg:
  scripts:
    "check.sh":
      runner: bash
"#,
    );
    repo.precheck(&["import"]).expect_code(0);
    let toml = repo.read("checks.toml");
    for line in [
        "needs = [\"fmt\"]",
        "\nskip = [\"merge\", \"rebase\", { branch = \"main\" }]",
        "\nonly = [{ branch = \"dev\" }]",
        "# lefthook's fail_text: run cargo clippy --fix",
        "env = { \"RUSTFLAGS\" = \"-D warnings\" }",
        "run = [\"bash\", \".lefthook/commit-msg/check.sh\", \"{msg}\"]",
        "`skip` when `test -f x` succeeds: precheck has no command condition",
        "tags [\"rust\"]: precheck has no tags",
    ] {
        assert!(toml.contains(line), "{line}\n{toml}");
    }
}

#[test]
fn import_of_a_file_of_neither_format_is_exit_2() {
    let repo = TestRepo::new();
    repo.write(
        "lefthook.yml",
        "name: my-app\nversion: 3\nsettings:\n  debug: true\n",
    );
    let run = repo.precheck(&["import"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("is neither a pre-commit config (it has no `repos`) nor a lefthook config"),
        "{}",
        run.context
    );
    repo.write("lefthook.yml", "- a\n- b\n");
    let run = repo.precheck(&["import", "--force"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("its top level is not a mapping"),
        "{}",
        run.context
    );
    assert!(!repo.file("checks.toml").exists());
}

/// tests/import/compare.py: prek and lefthook give each hook the files
/// precheck gives each imported check. Needs prek and lefthook (a venv at
/// target/import-venv, made by .ci/run); CI fails without them.
#[test]
fn import_selections_match_prek_and_lefthook() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/import-venv/bin");
    if !venv.join("prek").exists() || !venv.join("lefthook").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and prek or lefthook is missing from {}: .ci/run installs them",
            venv.display()
        );
        eprintln!("skipped: no prek/lefthook in {} (python3 -m venv target/import-venv && target/import-venv/bin/pip install prek lefthook identify pyyaml)", venv.display());
        return;
    }
    let out = std::process::Command::new(venv.join("python"))
        .arg(root.join("tests/import/compare.py"))
        .arg(crate::common::BIN)
        .arg("--bin")
        .arg(&venv)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("every selection matches"),
        "{text}"
    );
}
