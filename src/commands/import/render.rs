//! Writing a translation as checks.toml text: the notes at the top, each
//! check's table, and the `skip`/`only` conditions, written as keys when
//! this precheck reads them and as comments until then. It decides nothing
//! about what a hook means.

use std::fmt::Write as _;

use super::{Condition, Draft, Translation};

/// Does this precheck read `skip`/`only`? Asked of the parser itself, so
/// the keys are written as soon as a precheck that reads them builds this.
pub fn conditions_parse() -> bool {
    let sample = "[checks.x]\nrun = \"true\"\nskip = [\"merge\", { branch = \"main\" }]\n";
    crate::config::parse(std::path::Path::new("checks.toml"), sample).is_ok()
}

pub fn toml_str(s: &str) -> String {
    // A TOML basic string is a JSON string for our purposes.
    serde_json::to_string(s).expect("strings serialize")
}

pub fn toml_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

fn conditions(list: &[Condition]) -> String {
    if list == [Condition::Always] {
        return "true".into();
    }
    let items: Vec<String> = list
        .iter()
        .map(|c| match c {
            Condition::Always => "true".into(),
            Condition::Merge => "\"merge\"".into(),
            Condition::Rebase => "\"rebase\"".into(),
            Condition::Branch(b) => format!("{{ branch = {} }}", toml_str(b)),
            Condition::Env(v) => format!("{{ env = {} }}", toml_str(v)),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

pub fn render(t: &Translation, keys_for_conditions: bool) -> String {
    let mut out = format!(
        "# checks.toml, translated by `precheck import` from {}.\n",
        t.source
    );
    if !t.notes.is_empty() {
        out.push_str("# Not translated, or translated with a difference:\n");
        for n in &t.notes {
            let _ = writeln!(out, "#   - {n}");
        }
    }
    if !t.settings.is_empty() {
        out.push_str("\n[settings]\n");
        for line in &t.settings {
            let _ = writeln!(out, "{line}");
        }
    }
    for d in &t.checks {
        check(&mut out, d, keys_for_conditions);
    }
    out
}

fn check(out: &mut String, d: &Draft, keys_for_conditions: bool) {
    let _ = write!(out, "\n[checks.{}]\n", toml_str(&d.name));
    for c in &d.comments {
        let _ = writeln!(out, "# {c}");
    }
    match (&d.argv, &d.script) {
        (Some(argv), _) => {
            let _ = writeln!(out, "run = {}", toml_list(argv));
        }
        (None, Some(script)) => {
            let _ = writeln!(out, "run = {}", toml_str(script));
        }
        (None, None) => {}
    }
    if !d.glob.is_empty() {
        let _ = writeln!(out, "glob = {}", toml_list(&d.glob));
    }
    match d.regex.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "regex = {}", toml_str(one));
        }
        all => {
            let _ = writeln!(out, "regex = {}", toml_list(all));
        }
    }
    if !d.exclude.is_empty() {
        let _ = writeln!(out, "exclude = {}", toml_list(&d.exclude));
    }
    if let Some(r) = &d.exclude_regex {
        let _ = writeln!(out, "exclude_regex = {}", toml_str(r));
    }
    if let Some(dir) = &d.dir {
        let _ = writeln!(out, "dir = {}", toml_str(dir));
    }
    if !d.env.is_empty() {
        let pairs: Vec<String> = d
            .env
            .iter()
            .map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v)))
            .collect();
        let _ = writeln!(out, "env = {{ {} }}", pairs.join(", "));
    }
    if !d.needs.is_empty() {
        let _ = writeln!(out, "needs = {}", toml_list(&d.needs));
    }
    if !d.hooks.is_empty() && d.hooks != ["pre-commit"] {
        let _ = writeln!(out, "hooks = {}", toml_list(&d.hooks));
    }
    if d.stage_fixed {
        let _ = writeln!(out, "stage_fixed = true");
    } else if d.fix {
        let _ = writeln!(out, "fix = true");
    }
    for (key, list) in [("skip", &d.skip), ("only", &d.only)] {
        if list.is_empty() {
            continue;
        }
        let line = format!("{key} = {}", conditions(list));
        if keys_for_conditions {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(
                out,
                "# {line}  (precheck's `{key}`: this precheck does not read it yet)"
            );
        }
    }
}
