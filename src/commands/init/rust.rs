//! Rust projects: a crate's fmt, check, clippy and test; for a Cargo
//! workspace one set of `--workspace` checks at its root, its members then
//! being no projects of their own.

use anyhow::Result;

use super::projects::Members;
use super::starter::starter;
use super::{Findings, Project};

fn strings(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn detect(p: &Project, out: &mut Findings) -> Result<()> {
    let file = "Cargo.toml";
    let Some(doc) = p.parse(
        file,
        out,
        "TOML",
        |t| toml::from_str::<toml::Table>(t),
        |e| e.message().to_string(),
    )?
    else {
        return Ok(());
    };
    let manifest = p.shown(file);
    let workspace = doc.get("workspace").and_then(|w| w.as_table());
    let (scope, all, what) = match workspace {
        Some(ws) => {
            let members = Members::new(&strings(ws.get("members")), &strings(ws.get("exclude")));
            let dirs = members.of(p.manifests, p.dir, file);
            out.note(format!(
                "found {manifest}: a Cargo workspace ({} member{}): one set of --workspace checks{}, not one per member",
                dirs.len(),
                if dirs.len() == 1 { "" } else { "s" },
                if p.dir.is_empty() { " at the root".to_string() } else { p.at() }
            ));
            out.members.extend(dirs.into_iter().map(|d| (d, file)));
            (" --workspace", "every member", "the workspace")
        }
        None => {
            out.note(format!("found {manifest}: a Rust crate"));
            ("", "the crate", "the crate")
        }
    };
    let rs = &["*.rs", "Cargo.toml", "Cargo.lock"];
    out.checks.push(starter(
        "fmt",
        "cargo fmt --all -- --check",
        &["*.rs"],
        "256MiB",
        "cargo",
        format!("{manifest}: rustfmt checks the formatting of {all}"),
    ));
    out.checks.push(starter(
        "check",
        &format!("cargo check{scope} --all-targets"),
        rs,
        "1.5GiB",
        "cargo",
        format!("{manifest}: cargo check compiles {what}, tests and examples too"),
    ));
    let mut clippy = starter(
        "clippy",
        &format!("cargo clippy{scope} --all-targets -- -D warnings"),
        rs,
        "1.5GiB",
        "cargo",
        format!("{manifest}: clippy's lints on {what}, warnings as errors, once check passes"),
    );
    clippy.needs.push("check".into());
    out.checks.push(clippy);
    let mut test = starter(
        "test",
        &format!("cargo test{scope}"),
        rs,
        "2GiB",
        "cargo",
        format!("{manifest}: the tests of {what}, once check passes"),
    );
    test.needs.push("check".into());
    out.checks.push(test);
    Ok(())
}
