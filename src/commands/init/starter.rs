//! The checks `init` drafts, each with the reason it was written, and the
//! text of the starter checks.toml they become. Detectors draft checks as if
//! their project were the root; [`Starter::relocate`] moves one into its
//! folder (names, `dir`, globs). It reads and writes nothing.

use std::fmt::Write as _;

/// One check to write.
#[derive(Debug, Clone)]
pub struct Starter {
    pub name: String,
    pub run: String,
    /// Gitignore-style, relative to the repository root once relocated.
    pub glob: Vec<String>,
    pub exclude: Vec<String>,
    pub dir: Option<String>,
    pub needs: Vec<String>,
    pub memory: &'static str,
    /// Why it was written: printed, and its comment in checks.toml.
    pub reason: String,
    /// What runs it (cargo, pnpm, uv…): the suffix that tells two checks of
    /// one name apart.
    pub tool: String,
}

pub fn starter(
    name: &str,
    run: &str,
    glob: &[&str],
    memory: &'static str,
    tool: &str,
    reason: String,
) -> Starter {
    Starter {
        name: name.into(),
        run: run.into(),
        glob: glob.iter().map(|g| g.to_string()).collect(),
        exclude: Vec::new(),
        dir: None,
        needs: Vec::new(),
        memory,
        reason,
        tool: tool.into(),
    }
}

/// A `dev` script's server, offered as a commented service.
#[derive(Debug)]
pub struct DevServer {
    pub run: String,
    pub url: String,
    pub dir: Option<String>,
    /// Where the script is, as the user sees it (`web/package.json`).
    pub manifest: String,
}

/// `web/package.json` for a project in `web`, `package.json` at the root.
pub fn shown(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}

/// A folder as a check-name prefix: `apps/web` → `apps-web-`.
pub fn name_prefix(dir: &str) -> String {
    let mut p: String = dir
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    p.push('-');
    p
}

/// A gitignore-style pattern written for a project's folder, made relative
/// to the root: a name (`*.ts`, matching at any depth) matches at any depth
/// below `dir`; a path is anchored at `dir`.
pub fn under(dir: &str, pattern: &str) -> String {
    if dir.is_empty() {
        return pattern.to_string();
    }
    let anchored = pattern.starts_with('/');
    let p = pattern.trim_start_matches('/');
    if !anchored && !p.trim_end_matches('/').contains('/') {
        format!("{dir}/**/{p}")
    } else {
        format!("{dir}/{p}")
    }
}

impl Starter {
    /// Moves a check drafted for a project's folder into it: the folder
    /// names it, is its working directory, and bounds its globs (precheck
    /// matches globs against paths relative to the root, then hands the
    /// check its files relative to `dir`). `nested` are the folders of
    /// projects inside this one, whose files are theirs.
    pub fn relocate(&mut self, dir: &str, nested: &[String]) {
        if !dir.is_empty() {
            let prefix = name_prefix(dir);
            self.name = format!("{prefix}{}", self.name);
            for n in &mut self.needs {
                *n = format!("{prefix}{n}");
            }
            if self.glob.is_empty() {
                self.glob.push(format!("{dir}/"));
            } else {
                self.glob = self.glob.iter().map(|g| under(dir, g)).collect();
            }
            self.dir = Some(dir.to_string());
        }
        for n in nested {
            self.exclude.push(format!("{n}/"));
        }
    }
}

/// A TOML string (basic, escaped as TOML wants, not as Rust's `{:?}` does).
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| q(i)).collect();
    format!("[{}]", items.join(", "))
}

pub fn render(checks: &[Starter], dev: Option<&DevServer>) -> String {
    let mut s = String::from(
        "# precheck's checks: run by `precheck run`, and by git hooks once installed.\n\
         # Every key is described in precheck's README. Memory figures are estimates\n\
         # of each check's peak: edit them to what your checks really use.\n\n\
         [settings]\n\
         # jobs = 4              # most checks at once (default: number of CPUs)\n\
         # memory = \"75%\"        # cap for checks running at once\n\
         # default_memory = \"512MiB\"\n\
         # fail_fast = false\n",
    );
    for c in checks {
        let _ = write!(
            s,
            "\n# {}\n[checks.{}]\nrun = {}\n",
            c.reason,
            c.name,
            q(&c.run)
        );
        if let Some(d) = &c.dir {
            let _ = writeln!(s, "dir = {}", q(d));
        }
        if !c.glob.is_empty() {
            let _ = writeln!(s, "glob = {}", list(&c.glob));
        }
        if !c.exclude.is_empty() {
            let _ = writeln!(s, "exclude = {}", list(&c.exclude));
        }
        if !c.needs.is_empty() {
            let _ = writeln!(s, "needs = {}", list(&c.needs));
        }
        let _ = writeln!(s, "memory = {}", q(c.memory));
    }
    if let Some(d) = dev {
        let _ = write!(
            s,
            "\n# The dev server of {}, for checks that need it running (end-to-end\n\
             # tests): uncomment it and add `needs = [\"dev\"]` to those checks. A run\n\
             # starts it, waits until the URL answers and stops it after them;\n\
             # `precheck up` starts it to keep, and runs then use that one.\n\
             # [services.dev]\n\
             # run = {}\n",
            d.manifest,
            q(&d.run)
        );
        if let Some(dir) = &d.dir {
            let _ = writeln!(s, "# dir = {}", q(dir));
        }
        let _ = write!(
            s,
            "# ready = {}\n\
             # ready_timeout = \"60s\"\n\
             # memory = \"500MiB\"\n",
            q(&d.url)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_move_under_the_projects_folder() {
        assert_eq!(under("", "*.ts"), "*.ts");
        assert_eq!(under("web", "*.ts"), "web/**/*.ts");
        assert_eq!(under("web", "/top.rs"), "web/top.rs");
        assert_eq!(under("web", "src/**/*.ts"), "web/src/**/*.ts");
        assert_eq!(under("web", "docs/"), "web/**/docs/");
        assert_eq!(name_prefix("apps/my.site"), "apps-my-site-");
    }
}
