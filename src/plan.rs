//! The plan: which checks run, with which files, and why the others do not.
//!
//! Pure: it takes the config, the files of the change and the user's
//! selection, and returns data. It touches neither git, the file system nor
//! processes, so every decision here can be shown (`precheck list`) and tested.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::config::{Check, Config};
use crate::outcome::DecisionKind;
use crate::units::plural;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Checks named on the command line; empty means those of `hook`.
    pub names: Vec<String>,
    pub hook: String,
    /// Checks the user skips for this run (`PRECHECK_SKIP`).
    pub skip: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Runs; with its files relative to its working directory (empty for a
    /// check that is not a file check).
    Run { files: Vec<PathBuf> },
    /// A file check with no matching file in the change.
    NoFiles,
    /// Not one of the selected hook's checks.
    NotInHook,
    /// Other checks were named and this one is not among them or their needs.
    NotSelected,
    /// Named in `PRECHECK_SKIP`.
    SkippedByUser,
    /// Runs in another shard (`--shard K/N`).
    OtherShard,
}

impl Decision {
    pub fn kind(&self) -> DecisionKind {
        match self {
            Decision::Run { .. } => DecisionKind::Run,
            Decision::NoFiles => DecisionKind::SkippedNoFiles,
            Decision::NotInHook => DecisionKind::NotInHook,
            Decision::NotSelected => DecisionKind::NotSelected,
            Decision::SkippedByUser => DecisionKind::SkippedByUser,
            Decision::OtherShard => DecisionKind::OtherShard,
        }
    }

    pub fn runs(&self) -> bool {
        matches!(self, Decision::Run { .. })
    }

    /// Why, in a few words.
    pub fn reason(&self, check: &Check, sel: &Selection) -> String {
        match self {
            Decision::Run { files } if check.is_file_check() => {
                format!("{} matching file{}", files.len(), plural(files.len()))
            }
            Decision::Run { .. } => "runs on every run of its hook".into(),
            Decision::NoFiles => "skipped: no files".into(),
            Decision::NotInHook => format!("not a {} check", sel.hook),
            Decision::NotSelected => "not selected".into(),
            Decision::SkippedByUser => "skipped: PRECHECK_SKIP".into(),
            Decision::OtherShard => "in another shard".into(),
        }
    }
}

/// One decision per check, in config order.
#[derive(Debug)]
pub struct Plan {
    pub decisions: Vec<Decision>,
}

/// Which files a check matches: gitignore-style globs relative to the root.
pub struct Matcher {
    include: Option<GlobSet>,
    exclude: GlobSet,
    include_regex: Vec<regex::bytes::Regex>,
    exclude_regex: Option<regex::bytes::Regex>,
}

impl Matcher {
    pub fn new(check: &Check) -> anyhow::Result<Matcher> {
        let mut m = Matcher::from_patterns(&check.glob, &check.exclude)?;
        let re = |r: &Option<String>| r.as_deref().map(regex::bytes::Regex::new).transpose();
        m.include_regex = check
            .regex
            .iter()
            .map(|r| regex::bytes::Regex::new(r))
            .collect::<Result<_, _>>()?;
        m.exclude_regex = re(&check.exclude_regex)?;
        Ok(m)
    }

    /// Matches `include` (everything when empty) less `exclude`.
    pub fn from_patterns(include: &[String], exclude: &[String]) -> anyhow::Result<Matcher> {
        let include = if include.is_empty() {
            None
        } else {
            Some(glob_set(include)?)
        };
        Ok(Matcher {
            include,
            exclude: glob_set(exclude)?,
            include_regex: Vec::new(),
            exclude_regex: None,
        })
    }

    pub fn matches(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        self.include.as_ref().is_none_or(|set| set.is_match(path))
            && self.include_regex.iter().all(|r| r.is_match(bytes))
            && !self.exclude.is_match(path)
            && !self
                .exclude_regex
                .as_ref()
                .is_some_and(|r| r.is_match(bytes))
    }
}

/// Gitignore-style: a pattern without a slash matches a name at any depth; a
/// leading slash anchors at the root; a trailing slash means everything below.
fn glob_set(patterns: &[String]) -> anyhow::Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let mut p = pattern.as_str();
        let mut owned;
        if let Some(dir) = p.strip_suffix('/') {
            owned = format!("{dir}/**");
            p = &owned;
        }
        let anchored = p.starts_with('/');
        let p = p.trim_start_matches('/');
        owned = if !anchored && !p.contains('/') {
            format!("**/{p}")
        } else {
            p.to_string()
        };
        let glob = GlobBuilder::new(&owned)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| anyhow::anyhow!("bad glob `{pattern}`: {}", e.kind()))?;
        builder.add(glob);
        // `dir/**` should match `dir` itself too, as gitignore does.
        if let Some(base) = owned.strip_suffix("/**") {
            if let Ok(g) = GlobBuilder::new(base).literal_separator(true).build() {
                builder.add(g);
            }
        }
    }
    Ok(builder.build()?)
}

/// Decides every check. `files` are the change's files relative to the root.
pub fn plan(config: &Config, files: &[PathBuf], sel: &Selection) -> anyhow::Result<Plan> {
    let chosen = chosen(config, sel)?;
    let mut decisions = Vec::with_capacity(config.checks.len());
    for (i, check) in config.checks.iter().enumerate() {
        let decision = match chosen.get(i) {
            Some(Choice::No(d)) => d.clone(),
            _ if sel.skip.contains(&check.name) => Decision::SkippedByUser,
            _ => {
                let files = files_for(check, files)?;
                if check.is_file_check() && files.is_empty() {
                    Decision::NoFiles
                } else if check.is_file_check() {
                    Decision::Run { files }
                } else {
                    Decision::Run { files: Vec::new() }
                }
            }
        };
        decisions.push(decision);
    }
    Ok(Plan { decisions })
}

enum Choice {
    Yes,
    No(Decision),
}

/// Named checks and the needs they bring along, or the hook's checks and theirs.
fn chosen(config: &Config, sel: &Selection) -> anyhow::Result<Vec<Choice>> {
    let names: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
    for n in &sel.names {
        if !names.contains(&n.as_str()) {
            anyhow::bail!(
                "no check named `{n}` in {}; its checks are: {}",
                config.path.display(),
                names.join(", ")
            );
        }
    }
    let mut wanted: Vec<usize> = if sel.names.is_empty() {
        (0..config.checks.len())
            .filter(|&i| config.checks[i].hooks.iter().any(|h| h == &sel.hook))
            .collect()
    } else {
        (0..config.checks.len())
            .filter(|&i| sel.names.contains(&config.checks[i].name))
            .collect()
    };
    let mut seen: HashSet<usize> = wanted.iter().copied().collect();
    while let Some(i) = wanted.pop() {
        for need in &config.checks[i].needs {
            if let Some(j) = names.iter().position(|n| n == need) {
                if seen.insert(j) {
                    wanted.push(j);
                }
            }
        }
    }
    Ok((0..config.checks.len())
        .map(|i| {
            if seen.contains(&i) {
                Choice::Yes
            } else if sel.names.is_empty() {
                Choice::No(Decision::NotInHook)
            } else {
                Choice::No(Decision::NotSelected)
            }
        })
        .collect())
}

/// The change's files this check matches and that lie inside its `dir`,
/// relative to that `dir`.
pub fn files_for(check: &Check, files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let matcher = Matcher::new(check)?;
    let dir = check
        .dir
        .as_deref()
        .map(|d| Path::new(d.trim_end_matches('/')))
        .filter(|d| !d.as_os_str().is_empty() && *d != Path::new("."));
    Ok(files
        .iter()
        .filter(|f| matcher.matches(f))
        .filter_map(|f| match dir {
            Some(d) => f.strip_prefix(d).ok().map(Path::to_path_buf),
            None => Some(f.clone()),
        })
        .filter(|f| !f.as_os_str().is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn cfg(text: &str) -> Config {
        parse(Path::new("checks.toml"), text).unwrap()
    }

    fn paths(v: &[&str]) -> Vec<PathBuf> {
        v.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn gitignore_style_globs() {
        let c =
            cfg("[checks.a]\nrun='x'\nglob=['*.ts','/top.rs','docs/']\nexclude=['vendor/**']\n");
        let m = Matcher::new(&c.checks[0]).unwrap();
        assert!(m.matches(Path::new("a.ts")));
        assert!(m.matches(Path::new("src/deep/a.ts")));
        assert!(!m.matches(Path::new("vendor/x/a.ts")));
        assert!(m.matches(Path::new("top.rs")));
        assert!(!m.matches(Path::new("src/top.rs")));
        assert!(m.matches(Path::new("docs/a/b.md")));
        assert!(!m.matches(Path::new("a.tsx")));
    }

    #[test]
    fn dir_relative_files_and_needs_brought_along() {
        let c = cfg(
            "[checks.build]\nrun='b'\nhooks=['pre-push']\n[checks.lint]\nrun='l {files}'\ndir='web'\nglob='*.js'\nneeds=['build']\n[checks.doc]\nrun='d'\nglob='*.md'\n",
        );
        let sel = Selection {
            names: vec![],
            hook: "pre-commit".into(),
            skip: vec![],
        };
        let p = plan(&c, &paths(&["web/a.js", "b.js", "web/x/c.js"]), &sel).unwrap();
        assert_eq!(
            p.decisions[1],
            Decision::Run {
                files: paths(&["a.js", "x/c.js"])
            }
        );
        assert!(p.decisions[0].runs(), "needs are brought along");
        assert_eq!(p.decisions[2], Decision::NoFiles);
    }
}
