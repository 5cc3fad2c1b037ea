//! Other hook managers' configs at the root (pre-commit, lefthook, husky,
//! hk, lint-staged), and what to do about each: `precheck import` for the
//! two it translates, by hand for the rest. It only looks.

use std::fs;
use std::path::Path;

/// Other hook managers' configs, and what to do about each.
pub fn hook_managers(root: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let import = |file: &str, tool: &str| {
        format!(
            "found {file}: {tool}'s config; `precheck import --from {file} --force` translates it into checks.toml instead of this starter"
        )
    };
    let by_hand = |file: &str, tool: &str| {
        format!("found {file}: {tool} runs hooks here; move its commands into checks.toml by hand (precheck import does not read it)")
    };
    for f in [".pre-commit-config.yaml", ".pre-commit-config.yml"] {
        if root.join(f).is_file() {
            lines.push(import(f, "pre-commit"));
        }
    }
    for f in [
        "lefthook.yml",
        "lefthook.yaml",
        ".lefthook.yml",
        ".lefthook.yaml",
    ] {
        if root.join(f).is_file() {
            lines.push(import(f, "lefthook"));
        }
    }
    if root.join(".husky").is_dir() {
        lines.push(by_hand(".husky/", "husky"));
    }
    if root.join("hk.pkl").is_file() {
        lines.push(by_hand("hk.pkl", "hk"));
    }
    let mut staged: Vec<String> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(".lintstagedrc") || n.starts_with("lint-staged.config."))
        .collect();
    staged.sort();
    let in_package_json = fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|d| !d["lint-staged"].is_null());
    if in_package_json {
        staged.push("lint-staged in package.json".into());
    }
    for f in staged {
        lines.push(format!("found {f}: lint-staged's config; precheck checks only the staged files already (a check's `{{files}}`): move its commands into checks.toml by hand"));
    }
    lines
}
