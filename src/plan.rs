//! The plan: which checks run, with which files, and why the others do not.
//!
//! Pure: it takes the config, the files of the change and the user's
//! selection, and returns data. It touches neither git, the file system nor
//! processes, so every decision here can be shown (`precheck list`) and tested.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::config::{Check, Condition, Config};
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
    /// What `skip` and `only` conditions are decided on.
    pub facts: Facts,
}

/// The state of the repository and the environment, read by the command
/// (git by `worktree::git`) so that the plan stays pure.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// A merge is in progress.
    pub merging: bool,
    /// A rebase is in progress.
    pub rebasing: bool,
    /// The current branch's short name (the branch being rebased, during a
    /// rebase); None when HEAD is detached.
    pub branch: Option<String>,
    /// The environment variables that are set and not empty.
    pub env: HashSet<String>,
}

impl Facts {
    fn holds(&self, c: &Condition) -> bool {
        match c {
            Condition::Merge => self.merging,
            Condition::Rebase => self.rebasing,
            Condition::Branch(patterns) => self
                .branch
                .as_deref()
                .is_some_and(|b| patterns.iter().any(|p| branch_matches(p, b))),
            Condition::Env(v) => self.env.contains(v),
        }
    }
}

/// A branch pattern: a name, or a glob whose `*` stays within one `/` part.
fn branch_matches(pattern: &str, branch: &str) -> bool {
    pattern == branch
        || GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .is_ok_and(|g| g.compile_matcher().is_match(branch))
}

/// Why a check's `skip` or `only` keeps it from running now, if they do.
fn gated(config: &Config, check: &Check, facts: &Facts) -> Option<String> {
    if check.off {
        return Some(format!("off in {}", config.skip_source(&check.name)));
    }
    if let Some(c) = check.skip.iter().find(|c| facts.holds(c)) {
        return Some(match c {
            Condition::Merge => "during a merge".into(),
            Condition::Rebase => "during a rebase".into(),
            Condition::Branch(_) => format!("on branch {}", facts.branch.as_deref().unwrap_or("?")),
            Condition::Env(v) => format!("{v} is set"),
        });
    }
    if !check.only.is_empty() && !check.only.iter().any(|c| facts.holds(c)) {
        let each: Vec<String> = check
            .only
            .iter()
            .map(|c| match c {
                Condition::Merge => "during a merge".into(),
                Condition::Rebase => "during a rebase".into(),
                Condition::Branch(p) => format!("on branch {}", p.join(" or ")),
                Condition::Env(v) => format!("when {v} is set"),
            })
            .collect();
        return Some(format!("only {}", each.join(" or ")));
    }
    None
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
    /// Its `skip` or `only` keeps it from running now; why, in a few words
    /// (`during a merge`, `only on branch main`, `off in checks.local.toml`).
    Skipped { reason: String },
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
            Decision::Skipped { .. } => DecisionKind::SkippedByCondition,
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
            Decision::Skipped { reason } => format!("skipped: {reason}"),
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
    /// A built-in's file type, as far as a path tells (YAML, JSON, TOML).
    file_type: Option<crate::builtins::FileType>,
}

impl Matcher {
    pub fn new(check: &Check) -> anyhow::Result<Matcher> {
        let mut m = Matcher::from_patterns(&check.glob, &check.exclude)?;
        if let crate::config::Run::Builtin(b) = &check.run {
            m.file_type = Some(b.kind.file_type());
        }
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
            file_type: None,
        })
    }

    pub fn matches(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        self.include.as_ref().is_none_or(|set| set.is_match(path))
            && self.file_type.is_none_or(|t| t.may_match(path))
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
            _ => match gated(config, check, &sel.facts) {
                // Decided like a check with no files: it does not run, and
                // checks that need it run without it.
                Some(reason) => Decision::Skipped { reason },
                None => {
                    let files = files_for(check, files)?;
                    if check.is_file_check() && files.is_empty() {
                        Decision::NoFiles
                    } else if check.is_file_check() {
                        Decision::Run { files }
                    } else {
                        Decision::Run { files: Vec::new() }
                    }
                }
            },
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
    use crate::config::{parse, parse_layered};

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
            facts: Facts::default(),
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

    #[test]
    fn skip_any_only_one_off_from_its_file_and_a_skipped_need_holds_nothing() {
        let base = "[checks.a]\nrun='a'\nskip=['merge', { env = 'CI' }]\n[checks.b]\nrun='b'\nonly=[{ branch = ['main', 'release/*'] }, 'rebase']\nneeds=['a']\n[checks.c]\nrun='c'\nskip=true\n";
        let c = parse_layered(
            Path::new("checks.toml"),
            base,
            Some((Path::new("checks.local.toml"), "[checks.a]\nskip=true\n")),
        )
        .unwrap();
        let decide = |facts: Facts, c: &Config| {
            let sel = Selection {
                names: vec![],
                hook: "pre-commit".into(),
                skip: vec![],
                facts,
            };
            plan(c, &[], &sel)
                .unwrap()
                .decisions
                .iter()
                .zip(&c.checks)
                .map(|(d, k)| d.reason(k, &sel))
                .collect::<Vec<_>>()
        };
        let on = |branch: &str| Facts {
            branch: Some(branch.into()),
            ..Facts::default()
        };
        assert_eq!(
            decide(on("release/2"), &c),
            [
                "skipped: off in checks.local.toml",
                "runs on every run of its hook",
                "skipped: off in checks.toml"
            ]
        );
        let c = cfg(base);
        assert_eq!(decide(on("main"), &c)[0], "runs on every run of its hook");
        let ci = Facts {
            env: ["CI".to_string()].into(),
            ..on("feature")
        };
        assert_eq!(
            decide(ci, &c)[..2],
            [
                "skipped: CI is set",
                "skipped: only on branch main or release/* or during a rebase"
            ]
        );
        let merging = Facts {
            merging: true,
            rebasing: true,
            ..on("release/2/x")
        };
        assert_eq!(
            decide(merging, &c)[..2],
            ["skipped: during a merge", "runs on every run of its hook"]
        );
    }
}
