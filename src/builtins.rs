//! The built-in checks: their names, the arguments each takes (those of
//! the pre-commit-hooks hook of the same name, so a `.pre-commit-config.yaml`
//! carries over word for word), the files each looks at and which of them
//! fix. A check names one with `run = "builtin:NAME"` or
//! `run = ["builtin:NAME", "--arg", …]`; `exec::builtin` runs it in process.
//!
//! This module only reads words: it touches neither files nor git, so that
//! checks.toml's validation can reject a bad argument at its line.

use std::path::Path;

/// What a `run` starts with to name a built-in.
pub const PREFIX: &str = "builtin:";

/// Every built-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    TrailingWhitespace,
    EndOfFileFixer,
    MixedLineEnding,
    CheckMergeConflict,
    CheckAddedLargeFiles,
    CheckYaml,
    CheckToml,
    CheckJson,
    CheckCaseConflict,
    CheckExecutablesHaveShebangs,
    CheckSymlinks,
    DetectPrivateKey,
    NoCommitToBranch,
    Pygrep,
}

/// Names, in the order `list --builtins` shows them, with what each does.
pub const ALL: &[(Kind, &str, &str)] = &[
    (
        Kind::TrailingWhitespace,
        "trailing-whitespace",
        "fixes: removes whitespace at the ends of lines (--markdown-linebreak-ext=EXT, --chars=CHARS)",
    ),
    (
        Kind::EndOfFileFixer,
        "end-of-file-fixer",
        "fixes: ends each file with exactly one newline (an empty file stays empty)",
    ),
    (
        Kind::MixedLineEnding,
        "mixed-line-ending",
        "fixes: one line ending per file, the most common (--fix=auto|lf|crlf|cr|no)",
    ),
    (
        Kind::CheckMergeConflict,
        "check-merge-conflict",
        "conflict markers, during a merge or rebase (--assume-in-merge: always)",
    ),
    (
        Kind::CheckAddedLargeFiles,
        "check-added-large-files",
        "added files over a size (--maxkb=500; --enforce-all: every file given)",
    ),
    (Kind::CheckYaml, "check-yaml", "YAML parses (--allow-multiple-documents, --unsafe: syntax only)"),
    (Kind::CheckToml, "check-toml", "TOML parses"),
    (Kind::CheckJson, "check-json", "JSON parses, without duplicate keys"),
    (
        Kind::CheckCaseConflict,
        "check-case-conflict",
        "names that differ only in case, among the repository's files",
    ),
    (
        Kind::CheckExecutablesHaveShebangs,
        "check-executables-have-shebangs",
        "executable text files start with #!",
    ),
    (Kind::CheckSymlinks, "check-symlinks", "symlinks that point nowhere"),
    (Kind::DetectPrivateKey, "detect-private-key", "private keys (PEM, OpenSSH, PuTTY, PGP…)"),
    (
        Kind::NoCommitToBranch,
        "no-commit-to-branch",
        "refuses commits on branches (--branch NAME, --pattern REGEX; default main and master)",
    ),
    (
        Kind::Pygrep,
        "pygrep",
        "lines matching a regex fail (--ignore-case, --multiline, --negate; pre-commit's pygrep)",
    ),
];

impl Kind {
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(k, _, _)| *k == self)
            .map_or("?", |(_, n, _)| n)
    }

    fn by_name(name: &str) -> Option<Kind> {
        ALL.iter().find(|(_, n, _)| *n == name).map(|(k, _, _)| *k)
    }

    /// It rewrites the files it is given (so it is a fixer by default).
    pub fn fixes(self) -> bool {
        matches!(
            self,
            Kind::TrailingWhitespace | Kind::EndOfFileFixer | Kind::MixedLineEnding
        )
    }

    /// It is given files (all but no-commit-to-branch, which always runs).
    pub fn takes_files(self) -> bool {
        self != Kind::NoCommitToBranch
    }

    /// The files it looks at, as pre-commit-hooks' `types` say.
    pub fn file_type(self) -> FileType {
        match self {
            Kind::CheckYaml => FileType::Yaml,
            Kind::CheckToml => FileType::Toml,
            Kind::CheckJson => FileType::Json,
            Kind::CheckSymlinks => FileType::Symlink,
            Kind::CheckExecutablesHaveShebangs => FileType::ExecutableText,
            Kind::CheckAddedLargeFiles | Kind::CheckCaseConflict | Kind::NoCommitToBranch => {
                FileType::Any
            }
            Kind::Pygrep => FileType::Text,
            Kind::TrailingWhitespace
            | Kind::EndOfFileFixer
            | Kind::MixedLineEnding
            | Kind::CheckMergeConflict
            | Kind::DetectPrivateKey => FileType::Text,
        }
    }
}

/// The kinds of file a built-in looks at (identify's tags, as pre-commit
/// matches them). Names and extensions are decided from the path, here;
/// the rest (text, executable, symlink) from the file, when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Any,
    Text,
    ExecutableText,
    Symlink,
    Yaml,
    Toml,
    Json,
}

impl FileType {
    /// Whether the path's name can be of this type (identify's tables of
    /// names and extensions).
    pub fn may_match(self, path: &Path) -> bool {
        let tag = match self {
            FileType::Any | FileType::Text | FileType::ExecutableText | FileType::Symlink => {
                return true
            }
            FileType::Yaml => "yaml",
            FileType::Toml => "toml",
            FileType::Json => "json",
        };
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|name| crate::identify::name_has(tag, name))
    }
}

/// What `mixed-line-ending --fix` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFix {
    Auto,
    No,
    Lf,
    CrLf,
    Cr,
}

/// A built-in with its arguments read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builtin {
    pub kind: Kind,
    /// As written, for listings and the cache key.
    pub args: Vec<String>,
    /// trailing-whitespace: extensions (lowercase, with their dot) whose
    /// lines keep two trailing spaces (a markdown line break).
    pub markdown_exts: Vec<String>,
    /// trailing-whitespace: every file is markdown (`*`).
    pub all_markdown: bool,
    /// trailing-whitespace: what to strip; None: ASCII whitespace.
    pub chars: Option<Vec<u8>>,
    pub line_fix: LineFix,
    pub assume_in_merge: bool,
    pub max_kb: u64,
    pub enforce_all: bool,
    pub multi: bool,
    pub unsafe_syntax: bool,
    pub branches: Vec<String>,
    pub patterns: Vec<String>,
    /// pygrep
    pub regex: Option<String>,
    pub ignore_case: bool,
    pub multiline: bool,
    pub negate: bool,
}

impl Builtin {
    /// How it reads in a listing: `builtin:NAME ARGS…`.
    pub fn display(&self) -> String {
        let mut s = format!("{PREFIX}{}", self.kind.name());
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// pygrep's pattern as Python compiles a bytes pattern: ASCII classes,
/// `.` any byte but LF; `--multiline` is Python's MULTILINE | DOTALL.
pub fn pygrep_regex(
    pattern: &str,
    ignore_case: bool,
    multiline: bool,
) -> Result<regex::bytes::Regex, String> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .case_insensitive(ignore_case)
        .multi_line(multiline)
        .dot_matches_new_line(multiline)
        .build()
        .map_err(|e| format!("builtin:pygrep: bad regular expression: {e}"))
}

/// The names, for an error message.
pub fn names() -> String {
    ALL.iter()
        .map(|(_, n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads `builtin:NAME` and its arguments (as pre-commit-hooks' argparse
/// would: `--opt=value` or `--opt value`, short forms where it has them).
/// The error says what is wrong and what is accepted.
pub fn parse(name: &str, args: &[String]) -> Result<Builtin, String> {
    let kind = Kind::by_name(name).ok_or_else(|| {
        format!(
            "no built-in check is called `{name}`; the built-ins are {}",
            names()
        )
    })?;
    let mut b = Builtin {
        kind,
        args: args.to_vec(),
        markdown_exts: Vec::new(),
        all_markdown: false,
        chars: None,
        line_fix: LineFix::Auto,
        assume_in_merge: false,
        max_kb: 500,
        enforce_all: false,
        multi: false,
        unsafe_syntax: false,
        branches: Vec::new(),
        patterns: Vec::new(),
        regex: None,
        ignore_case: false,
        multiline: false,
        negate: false,
    };
    let mut markdown = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with('-') => (k, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        // The option's value: after `=`, else the next argument.
        let mut value = |what: &str| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| format!("`{key}` needs a value ({what})"))?;
            i += 1;
            Ok(v)
        };
        let flag = |set: &mut bool| -> Result<(), String> {
            if inline.is_some() {
                return Err(format!("`{key}` takes no value"));
            }
            *set = true;
            Ok(())
        };
        match (kind, key) {
            (Kind::TrailingWhitespace, "--markdown-linebreak-ext") => {
                markdown.push(value("extensions, like md,markdown, or *")?)
            }
            (Kind::TrailingWhitespace, "--no-markdown-linebreak-ext") => {}
            (Kind::TrailingWhitespace, "--chars") => {
                b.chars = Some(value("the characters to strip")?.into_bytes())
            }
            (Kind::MixedLineEnding, "--fix" | "-f") => {
                b.line_fix = match value("auto, no, lf, crlf or cr")?.as_str() {
                    "auto" => LineFix::Auto,
                    "no" => LineFix::No,
                    "lf" => LineFix::Lf,
                    "crlf" => LineFix::CrLf,
                    "cr" => LineFix::Cr,
                    other => {
                        return Err(format!(
                            "`--fix={other}`: expected auto, no, lf, crlf or cr"
                        ))
                    }
                }
            }
            (Kind::CheckMergeConflict, "--assume-in-merge") => flag(&mut b.assume_in_merge)?,
            (Kind::CheckAddedLargeFiles, "--maxkb") => {
                let v = value("a number of KB")?;
                b.max_kb = v
                    .parse()
                    .map_err(|_| format!("`--maxkb={v}`: expected a whole number of KB"))?;
            }
            (Kind::CheckAddedLargeFiles, "--enforce-all") => flag(&mut b.enforce_all)?,
            (Kind::CheckYaml, "--allow-multiple-documents" | "--multi" | "-m") => {
                flag(&mut b.multi)?
            }
            (Kind::CheckYaml, "--unsafe") => flag(&mut b.unsafe_syntax)?,
            (Kind::NoCommitToBranch, "--branch" | "-b") => b.branches.push(value("a branch")?),
            (Kind::NoCommitToBranch, "--pattern" | "-p") => {
                let p = value("a regular expression")?;
                regex::Regex::new(&p).map_err(|e| format!("`--pattern {p}`: {e}"))?;
                b.patterns.push(p);
            }
            (Kind::Pygrep, "--ignore-case" | "-i") => flag(&mut b.ignore_case)?,
            (Kind::Pygrep, "--multiline") => flag(&mut b.multiline)?,
            (Kind::Pygrep, "--negate") => flag(&mut b.negate)?,
            (Kind::Pygrep, _) if !arg.starts_with('-') && b.regex.is_none() => {
                b.regex = Some(arg.clone())
            }
            _ => {
                return Err(format!(
                    "`{arg}` is not an argument of builtin:{}; it takes {}",
                    kind.name(),
                    ALL.iter()
                        .find(|(k, _, _)| *k == kind)
                        .map_or("", |(_, _, what)| what)
                ))
            }
        }
    }
    if kind == Kind::Pygrep {
        let Some(re) = &b.regex else {
            return Err("builtin:pygrep needs a regular expression".into());
        };
        pygrep_regex(re, b.ignore_case, b.multiline)?;
    }
    if markdown.iter().any(String::is_empty) {
        return Err("--markdown-linebreak-ext requires a non-empty argument".into());
    }
    b.all_markdown = markdown.iter().any(|m| m == "*");
    for ext in markdown.join(",").split(',').filter(|e| !e.is_empty()) {
        let ext = format!(".{}", ext.to_lowercase().trim_start_matches('.'));
        if ext[1..].contains(['.', '/', '\\', ':']) {
            return Err(format!(
                "bad --markdown-linebreak-ext extension `{ext}` (has . / \\ :); use --markdown-linebreak-ext=EXT"
            ));
        }
        b.markdown_exts.push(ext);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn arguments_read_as_pre_commit_hooks_reads_them() {
        let b = parse(
            "check-added-large-files",
            &words("--maxkb=123 --enforce-all"),
        )
        .unwrap();
        assert_eq!((b.max_kb, b.enforce_all), (123, true));
        let b = parse(
            "no-commit-to-branch",
            &words("--branch dev -b prod -p ^rel/"),
        )
        .unwrap();
        assert_eq!(b.branches, ["dev", "prod"]);
        assert_eq!(b.patterns, ["^rel/"]);
        let b = parse(
            "trailing-whitespace",
            &words("--markdown-linebreak-ext=MD,.markdown"),
        )
        .unwrap();
        assert_eq!(b.markdown_exts, [".md", ".markdown"]);
        assert!(
            parse("mixed-line-ending", &words("--fix=crlf"))
                .unwrap()
                .line_fix
                == LineFix::CrLf
        );
        assert!(parse("check-yaml", &words("-m")).unwrap().multi);
    }

    #[test]
    fn mistakes_say_what_is_accepted() {
        let e = parse("check-jsn", &[]).unwrap_err();
        assert!(e.contains("check-json"), "{e}");
        let e = parse("check-json", &words("--maxkb=1")).unwrap_err();
        assert!(e.contains("not an argument of builtin:check-json"), "{e}");
        let e = parse("mixed-line-ending", &words("--fix=unix")).unwrap_err();
        assert!(e.contains("expected auto, no, lf, crlf or cr"), "{e}");
        assert!(parse("check-added-large-files", &words("--maxkb")).is_err());
        assert!(parse("pygrep", &[]).is_err());
        assert!(parse("pygrep", &words("(")).is_err());
        assert!(parse(
            "trailing-whitespace",
            &words("--markdown-linebreak-ext=a/b")
        )
        .is_err());
    }

    #[test]
    fn file_types_follow_identify() {
        let yaml = FileType::Yaml;
        assert!(yaml.may_match(Path::new("a/b.yml")));
        assert!(yaml.may_match(Path::new("B.YAML")));
        assert!(yaml.may_match(Path::new(".clang-format")));
        assert!(!yaml.may_match(Path::new("a.json")));
        assert!(FileType::Toml.may_match(Path::new("x/Cargo.lock")));
        assert!(FileType::Json.may_match(Path::new("Pipfile.lock")));
        assert!(!FileType::Toml.may_match(Path::new("Pipfile.lock")));
        assert!(FileType::Toml.may_match(Path::new("Pipfile")));
        assert!(!FileType::Json.may_match(Path::new(".json")));
    }
}
