//! Writing a translation as checks.toml text: the notes at the top, each
//! check's table with its `skip`/`only` conditions. It decides nothing
//! about what a hook means.

use std::fmt::Write as _;

use super::{Condition, Draft, Translation};

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

pub fn render(t: &Translation) -> String {
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
        check(&mut out, d);
    }
    out
}

fn check(out: &mut String, d: &Draft) {
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
        let _ = writeln!(out, "{key} = {}", conditions(list));
    }
}
