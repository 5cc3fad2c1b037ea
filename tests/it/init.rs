//! `precheck init` end to end: what it detects in each ecosystem (package
//! managers, Python environments, Cargo workspaces, sub-projects), the exact
//! checks it writes and the reason it gives for each, that `precheck list`
//! accepts the file and that a written check runs, the pointer to `precheck
//! import`, and the .gitignore line for checks.local.toml.

use crate::common::{Run, TestRepo};

/// The globs every package.json script check gets.
const JS: &str = "*.js *.jsx *.ts *.tsx *.mjs *.cjs package.json";

/// `precheck init`, which must succeed.
fn init(repo: &TestRepo) -> Run {
    let run = repo.precheck(&["init", "--force"]);
    run.expect_code(0);
    run
}

/// The checks of checks.toml as `precheck list` reads them (so the file
/// parses), one line each: `name: run (in dir) [globs] -[excludes] <needs>`.
fn written(repo: &TestRepo) -> Vec<String> {
    let list = repo.precheck(&["list", "--format", "json"]);
    list.expect_code(0);
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    list.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut line = format!(
                "{}: {}",
                c["name"].as_str().unwrap(),
                c["run"].as_str().unwrap()
            );
            if let Some(d) = c["dir"].as_str() {
                line += &format!(" (in {d})");
            }
            line += &format!(" [{}]", strings(&c["glob"]).join(" "));
            let exclude = strings(&c["exclude"]);
            if !exclude.is_empty() {
                line += &format!(" -[{}]", exclude.join(" "));
            }
            let needs = strings(&c["needs"]);
            if !needs.is_empty() {
                line += &format!(" <{}>", needs.join(" "));
            }
            line
        })
        .collect()
}

/// Each line is a whole line of stderr.
#[track_caller]
fn said(run: &Run, lines: &[&str]) {
    for line in lines {
        assert!(
            run.stderr.lines().any(|l| l == *line),
            "stderr lacks the line `{line}`\n{}",
            run.context
        );
    }
}

#[test]
fn npm_scripts_run_with_npm_and_a_written_check_runs_end_to_end() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        r#"{"name": "x", "scripts": {"lint": "node -e \"require('fs').writeFileSync('linted', process.cwd())\"", "test": "node -e 0", "start": "node ."}}"#,
    )
    .write("package-lock.json", r#"{"lockfileVersion": 3}"#)
    .write("index.js", "module.exports = 1;\n")
    .write(".gitignore", "linted\n")
    .stage(&["package.json", "package-lock.json", "index.js", ".gitignore"]);
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            format!("lint: npm run lint [{JS}]"),
            format!("test: npm run test [{JS}]"),
        ]
    );
    said(
        &run,
        &[
            "found package-lock.json: scripts run with npm",
            "lint: package.json has a `lint` script",
            "test: package.json has a `test` script",
        ],
    );
    let text = repo.read("checks.toml");
    assert!(
        text.contains(
            "\n# package.json has a `lint` script\n[checks.lint]\nrun = \"npm run lint\"\n"
        ),
        "{text}"
    );
    // The written check runs the script, through npm, at the root.
    let lint = repo.precheck(&["run", "--all", "--no-cache", "lint"]);
    lint.expect_code(0);
    let cwd = repo.read("linted");
    assert_eq!(
        std::fs::canonicalize(cwd).unwrap(),
        std::fs::canonicalize(repo.path()).unwrap()
    );
}

#[test]
fn pnpm_lock_makes_scripts_and_the_dev_service_run_with_pnpm() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        r#"{"scripts": {"typecheck": "tsc --noEmit", "lint": "eslint .", "dev": "vite"}}"#,
    )
    .write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            format!("typecheck: pnpm run typecheck [{JS}]"),
            format!("lint: pnpm run lint [{JS}]"),
        ]
    );
    said(
        &run,
        &[
            "found pnpm-lock.yaml: scripts run with pnpm",
            "typecheck: package.json has a `typecheck` script",
            "lint: package.json has a `lint` script",
        ],
    );
    assert!(repo.read("checks.toml").contains(
        "# [services.dev]\n# run = \"pnpm run dev\"\n# ready = \"http://127.0.0.1:5173/\"\n"
    ));
}

/// A workspace's scripts run once at the root; a script only its packages
/// have runs in each through pnpm -r; its packages are no sub-projects.
#[test]
fn a_pnpm_workspace_runs_the_roots_scripts_once_not_per_package() {
    let repo = TestRepo::new();
    repo.write("package.json", r#"{"scripts": {"lint": "eslint ."}}"#)
        .write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        .write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n")
        .write(
            "packages/a/package.json",
            r#"{"scripts": {"lint": "eslint .", "test": "vitest"}}"#,
        )
        .write(
            "packages/b/package.json",
            r#"{"scripts": {"lint": "eslint ."}}"#,
        );
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            format!("lint: pnpm run lint [{JS}]"),
            format!("test: pnpm -r --if-present run test [{JS}]"),
        ]
    );
    said(
        &run,
        &[
            "found pnpm-lock.yaml: scripts run with pnpm",
            "found pnpm-workspace.yaml: a workspace (2 packages): the root's scripts run once, not per package",
            "lint: package.json has a `lint` script",
            "test: no `test` script in package.json, but packages/a has one: run in every package that has it",
        ],
    );
}

/// package.json's `workspaces` (a list, or yarn's `{packages: [...]}`):
/// npm runs a packages-only script in each; yarn 1 cannot, and says so.
#[test]
fn package_json_workspaces_run_packages_only_scripts_through_the_manager() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        r#"{"workspaces": ["packages/*"], "scripts": {"lint": "eslint ."}}"#,
    )
    .write(
        "packages/a/package.json",
        r#"{"scripts": {"test": "node -e 0"}}"#,
    );
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            format!("lint: npm run lint [{JS}]"),
            format!("test: npm run test --workspaces --if-present [{JS}]"),
        ]
    );
    said(
        &run,
        &["found package.json's workspaces: a workspace (1 package): the root's scripts run once, not per package"],
    );
    repo.write(
        "package.json",
        r#"{"workspaces": {"packages": ["packages/*"]}, "scripts": {}}"#,
    )
    .write("yarn.lock", "# yarn lockfile v1\n");
    let run = init(&repo);
    assert_eq!(written(&repo), Vec::<String>::new());
    said(
        &run,
        &["packages/a has a `test` script and package.json has none: yarn 1 cannot run it in just those packages; add a root script to check it"],
    );
    repo.write(".yarnrc.yml", "nodeLinker: node-modules\n");
    init(&repo);
    assert_eq!(
        written(&repo),
        [format!("test: yarn workspaces foreach -A run test [{JS}]")]
    );
}

#[test]
fn yarn_lock_or_package_manager_makes_scripts_run_with_yarn() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        r#"{"scripts": {"lint": "eslint .", "build": "tsc"}}"#,
    )
    .write("yarn.lock", "# yarn lockfile v1\n");
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            format!("lint: yarn run lint [{JS}]"),
            format!("build: yarn run build [{JS}]"),
        ]
    );
    said(&run, &["found yarn.lock: scripts run with yarn"]);
    // packageManager is the project's own word, over a stale lock file.
    repo.write(
        "package.json",
        r#"{"packageManager": "yarn@4.1.0", "scripts": {"lint": "eslint ."}}"#,
    )
    .write("package-lock.json", "{}");
    std::fs::remove_file(repo.file("yarn.lock")).unwrap();
    let run = init(&repo);
    assert_eq!(written(&repo), [format!("lint: yarn run lint [{JS}]")]);
    said(
        &run,
        &["package.json's packageManager is yarn@4.1.0: scripts run with yarn"],
    );
}

#[test]
fn bun_lock_files_make_scripts_run_with_bun() {
    for lock in ["bun.lockb", "bun.lock"] {
        let repo = TestRepo::new();
        repo.write("package.json", r#"{"scripts": {"test": "bun test"}}"#)
            .write(lock, "{}");
        let run = init(&repo);
        assert_eq!(written(&repo), [format!("test: bun run test [{JS}]")]);
        said(
            &run,
            &[
                &format!("found {lock}: scripts run with bun"),
                "test: package.json has a `test` script",
            ],
        );
    }
}

#[test]
fn uv_lock_runs_the_tools_a_dependency_group_names_with_uv_run() {
    let repo = TestRepo::new();
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"x\"\ndependencies = [\"requests\"]\n\n[dependency-groups]\ndev = [\"ruff>=0.4\", \"pytest\"]\n",
    )
    .write("uv.lock", "version = 1\n");
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            "ruff: uv run ruff check {files} [*.py *.pyi]",
            "ruff-format: uv run ruff format --check {files} [*.py *.pyi]",
            "pytest: uv run pytest -q [*.py *.pyi pyproject.toml]",
        ]
    );
    said(
        &run,
        &[
            "found uv.lock: Python tools run with `uv run`",
            "ruff: pyproject.toml lists ruff in [dependency-groups] dev",
            "ruff-format: pyproject.toml lists ruff in [dependency-groups] dev: ruff's formatter checks the formatting too",
            "pytest: pyproject.toml lists pytest in [dependency-groups] dev",
        ],
    );
    assert!(repo.read("checks.toml").contains(
        "\n# pyproject.toml lists ruff in [dependency-groups] dev\n[checks.ruff]\nrun = \"uv run ruff check {files}\"\n"
    ));
}

#[test]
fn poetry_runs_the_tools_its_tables_and_groups_name_with_poetry_run() {
    let repo = TestRepo::new();
    repo.write(
        "pyproject.toml",
        "[tool.poetry]\nname = \"x\"\n\n[tool.poetry.group.dev.dependencies]\nmypy = \"^1.0\"\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n",
    )
    .write("poetry.lock", "# poetry lock\n");
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            "mypy: poetry run mypy . [*.py *.pyi pyproject.toml]",
            "pytest: poetry run pytest -q [*.py *.pyi pyproject.toml]",
        ]
    );
    said(
        &run,
        &[
            "found poetry.lock: Python tools run with `poetry run`",
            "mypy: pyproject.toml lists mypy in [tool.poetry.group.dev.dependencies]",
            "pytest: pyproject.toml has [tool.pytest.ini_options]",
        ],
    );
    // [tool.poetry] alone says poetry too.
    std::fs::remove_file(repo.file("poetry.lock")).unwrap();
    let run = init(&repo);
    said(
        &run,
        &["pyproject.toml has [tool.poetry]: Python tools run with `poetry run`"],
    );
}

/// A `.venv` runs its own tools: the written check runs `.venv/bin/ruff`
/// on the change's files.
#[test]
fn a_venv_runs_its_own_tools_and_the_check_runs_them() {
    let repo = TestRepo::new();
    repo.write("pyproject.toml", "[tool.ruff]\nline-length = 100\n")
        .write(".gitignore", ".venv/\nruff-args\n")
        .write(".venv/bin/ruff", "#!/bin/sh\necho \"$@\" >> ruff-args\n")
        .write("app.py", "x = 1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        repo.file(".venv/bin/ruff"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let run = init(&repo);
    assert_eq!(
        written(&repo),
        [
            "ruff: .venv/bin/ruff check {files} [*.py *.pyi]",
            "ruff-format: .venv/bin/ruff format --check {files} [*.py *.pyi]",
        ]
    );
    said(
        &run,
        &[
            "found .venv/: Python tools run from .venv/bin",
            "ruff: pyproject.toml has [tool.ruff]",
        ],
    );
    repo.stage(&["pyproject.toml", ".gitignore", "app.py"]);
    repo.precheck(&["run", "--no-cache"]).expect_code(0);
    let mut args: Vec<String> = repo.read("ruff-args").lines().map(String::from).collect();
    args.sort();
    assert_eq!(args, ["check app.py", "format --check app.py"]);
}

/// A Cargo workspace gets one set of `--workspace` checks at its root, not
/// one per member; a crate that is no member is a project of its own.
#[test]
fn a_cargo_workspace_is_checked_once_at_its_root() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    )
    .write("crates/a/Cargo.toml", "[package]\nname = \"a\"\n")
    .write("crates/b/Cargo.toml", "[package]\nname = \"b\"\n")
    .write("tools/gen/Cargo.toml", "[package]\nname = \"gen\"\n");
    let run = init(&repo);
    let rs = "*.rs Cargo.toml Cargo.lock";
    let sub = "tools/gen/**/*.rs tools/gen/**/Cargo.toml tools/gen/**/Cargo.lock";
    assert_eq!(
        written(&repo),
        [
            "fmt: cargo fmt --all -- --check [*.rs] -[tools/gen/]".to_string(),
            format!("check: cargo check --workspace --all-targets [{rs}] -[tools/gen/]"),
            format!("clippy: cargo clippy --workspace --all-targets -- -D warnings [{rs}] -[tools/gen/] <check>"),
            format!("test: cargo test --workspace [{rs}] -[tools/gen/] <check>"),
            "tools-gen-fmt: cargo fmt --all -- --check (in tools/gen) [tools/gen/**/*.rs]".to_string(),
            format!("tools-gen-check: cargo check --all-targets (in tools/gen) [{sub}]"),
            format!("tools-gen-clippy: cargo clippy --all-targets -- -D warnings (in tools/gen) [{sub}] <tools-gen-check>"),
            format!("tools-gen-test: cargo test (in tools/gen) [{sub}] <tools-gen-check>"),
        ]
    );
    said(
        &run,
        &[
            "found Cargo.toml: a Cargo workspace (2 members): one set of --workspace checks at the root, not one per member",
            "check: Cargo.toml: cargo check compiles the workspace, tests and examples too",
            "found tools/gen/Cargo.toml: a project of its own: its checks run in tools/gen, named tools-gen-…",
            "found tools/gen/Cargo.toml: a Rust crate",
        ],
    );
}

/// `web/package.json` beside a root crate: its checks run in `web`, match
/// only files below it, and get them relative to it; the crate's checks
/// leave `web` alone; dependency folders hold no projects.
#[test]
fn a_sub_project_gets_checks_of_its_own_in_its_folder() {
    let repo = TestRepo::new();
    repo.write("Cargo.toml", "[package]\nname = \"x\"\n")
        .write("src/main.rs", "fn main() {}\n")
        .write(
            "web/package.json",
            r#"{"scripts": {"lint": "eslint .", "dev": "next dev"}}"#,
        )
        .write("web/pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        .write("web/src/app.ts", "export {};\n")
        .write(
            "web/node_modules/left-pad/package.json",
            r#"{"scripts": {"test": "x"}}"#,
        )
        .write("target/debug/build/pyproject.toml", "[tool.ruff]\n");
    let run = init(&repo);
    let web = "web/**/*.js web/**/*.jsx web/**/*.ts web/**/*.tsx web/**/*.mjs web/**/*.cjs web/**/package.json";
    let rs = "*.rs Cargo.toml Cargo.lock";
    assert_eq!(
        written(&repo),
        [
            "fmt: cargo fmt --all -- --check [*.rs] -[web/]".to_string(),
            format!("check: cargo check --all-targets [{rs}] -[web/]"),
            format!("clippy: cargo clippy --all-targets -- -D warnings [{rs}] -[web/] <check>"),
            format!("test: cargo test [{rs}] -[web/] <check>"),
            format!("web-lint: pnpm run lint (in web) [{web}]"),
        ]
    );
    said(
        &run,
        &[
            "found Cargo.toml: a Rust crate",
            "found web/package.json: a project of its own: its checks run in web, named web-…",
            "found web/pnpm-lock.yaml: scripts in web run with pnpm",
            "web-lint: web/package.json has a `lint` script",
        ],
    );
    assert!(repo.read("checks.toml").contains(
        "# [services.dev]\n# run = \"pnpm run dev\"\n# dir = \"web\"\n# ready = \"http://127.0.0.1:3000/\"\n"
    ));
    // A file below web is web-lint's, given relative to web; not the crate's.
    let list = repo.precheck(&[
        "list",
        "--files",
        "web/src/app.ts",
        "src/main.rs",
        "--format",
        "json",
    ]);
    list.expect_code(0);
    let doc = list.json();
    let decision = |name: &str| {
        let c = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone();
        (
            c["decision"].as_str().unwrap().to_string(),
            c["files"].clone(),
        )
    };
    assert_eq!(
        decision("web-lint"),
        ("run".to_string(), serde_json::json!(1))
    );
    assert_eq!(decision("fmt"), ("run".to_string(), serde_json::json!(1)));
    let only_web = repo.precheck(&["list", "--files", "web/src/app.ts", "--format", "json"]);
    assert_eq!(only_web.check("fmt")["decision"], "skipped_no_files");
}

#[test]
fn other_hook_managers_are_pointed_at_and_the_starter_is_written_anyway() {
    let repo = TestRepo::new();
    repo.write(".pre-commit-config.yaml", "repos: []\n")
        .write(".lefthook.yml", "pre-commit:\n  commands: {}\n")
        .write(".husky/pre-commit", "npx lint-staged\n")
        .write(
            "package.json",
            r#"{"scripts": {"lint": "eslint ."}, "lint-staged": {"*.js": "eslint"}}"#,
        );
    let run = init(&repo);
    said(
        &run,
        &[
            "found .pre-commit-config.yaml: pre-commit's config; `precheck import --from .pre-commit-config.yaml --force` translates it into checks.toml instead of this starter",
            "found .lefthook.yml: lefthook's config; `precheck import --from .lefthook.yml --force` translates it into checks.toml instead of this starter",
            "found .husky/: husky runs hooks here; move its commands into checks.toml by hand (precheck import does not read it)",
            "found lint-staged in package.json: lint-staged's config; precheck checks only the staged files already (a check's `{files}`): move its commands into checks.toml by hand",
        ],
    );
    assert_eq!(written(&repo), [format!("lint: npm run lint [{JS}]")]);
    // And the suggestion works.
    repo.precheck(&["import", "--from", ".lefthook.yml", "--force"])
        .expect_code(0);
}

#[test]
fn checks_local_toml_is_git_ignored_once() {
    let repo = TestRepo::new();
    let run = init(&repo);
    said(
        &run,
        &["created .gitignore with checks.local.toml: each developer's overrides stay out of commits"],
    );
    assert_eq!(repo.read(".gitignore"), "checks.local.toml\n");
    // Already ignored: nothing added, nothing said.
    let again = init(&repo);
    assert!(!again.stderr.contains(".gitignore"), "{}", again.context);
    assert_eq!(repo.read(".gitignore"), "checks.local.toml\n");
    // Appended to a file without a final newline.
    repo.write(".gitignore", "/target");
    let run = init(&repo);
    said(
        &run,
        &["added checks.local.toml to .gitignore: each developer's overrides stay out of commits"],
    );
    assert_eq!(repo.read(".gitignore"), "/target\nchecks.local.toml\n");
    // A pattern that already covers it is enough.
    repo.write(".gitignore", "*.local.toml\n");
    init(&repo);
    assert_eq!(repo.read(".gitignore"), "*.local.toml\n");
    repo.write("checks.local.toml", "");
    let status = repo.git(&["status", "--porcelain"]).stdout;
    assert!(!String::from_utf8_lossy(&status).contains("checks.local.toml"));
}
#[test]
fn init_writes_a_starter_that_runs_and_refuses_to_overwrite() {
    let repo = TestRepo::new();
    repo.write("Cargo.toml", "[package]\nname = \"x\"\n");
    repo.write(
        "package.json",
        "{\"scripts\": {\"lint\": \"eslint .\", \"test\": \"jest\", \"start\": \"node .\"}}",
    );
    repo.precheck(&["init"]).expect_code(0);
    let text = repo.read("checks.toml");
    for name in [
        "[checks.fmt]",
        "[checks.check]",
        "[checks.clippy]",
        "[checks.test]",
        "[checks.lint]",
        "[checks.test-npm]",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(!text.contains("[checks.start]"));
    assert!(text.contains("memory = \"1.5GiB\""));
    let list = repo.precheck(&["list", "--format", "json"]);
    list.expect_code(0);
    let again = repo.precheck(&["init"]);
    again.expect_code(2);
    assert!(again.stderr.contains("--force"), "{}", again.context);
    repo.write("Cargo.toml", "").write("package.json", "{}");
    std::fs::remove_file(repo.file("Cargo.toml")).unwrap();
    repo.precheck(&["init", "--force"]).expect_code(0);
    assert!(!repo.read("checks.toml").contains("[checks.fmt]"));
}

#[test]
fn init_offers_a_commented_dev_service_when_package_json_has_a_dev_script() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"scripts\": {\"dev\": \"vite --host\", \"test:e2e\": \"playwright test\"}}",
    );
    let init = repo.precheck(&["init"]);
    init.expect_code(0);
    let text = repo.read("checks.toml");
    assert!(
        text.contains(
            "# [services.dev]\n# run = \"npm run dev\"\n# ready = \"http://127.0.0.1:5173/\"\n"
        ),
        "{text}"
    );
    assert!(init.stderr.contains("[services.dev]"), "{}", init.context);
    // Commented: nothing starts it yet; uncommented, it is a valid service.
    let list = repo.precheck(&["list", "--format", "json"]);
    list.expect_code(0);
    let uncommented = text
        .replace("# [services.dev]", "[services.dev]")
        .replace("# run = \"npm", "run = \"npm");
    let uncommented = uncommented
        .replace("# ready = ", "ready = ")
        .replace("# ready_timeout = ", "ready_timeout = ")
        .replace("# memory = \"500MiB\"", "memory = \"500MiB\"");
    repo.write("checks.toml", &uncommented);
    repo.precheck(&["list"]).expect_code(0);
    // The port a script names wins over the tool's default; no dev script, no service.
    repo.write(
        "package.json",
        "{\"scripts\": {\"dev\": \"next dev --port 4000\"}}",
    );
    repo.precheck(&["init", "--force"]).expect_code(0);
    assert!(repo
        .read("checks.toml")
        .contains("# ready = \"http://127.0.0.1:4000/\""));
    repo.write("package.json", "{\"scripts\": {\"start\": \"node .\"}}");
    repo.precheck(&["init", "--force"]).expect_code(0);
    assert!(!repo.read("checks.toml").contains("services"));
}
