//! The module graph reads top-down and has no cycle. Every `crate::path` a
//! file of `src/` names is an edge to the module it lands in. Two rules, each
//! failing with the edges that break it:
//! - each module belongs to a layer (`LAYERS`, top first) and names only
//!   modules of its own layer or below: an import that runs back up fails;
//! - no module reaches itself again: within a layer, a cycle fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top first: a module may use its own layer and the ones below it. The key
/// is a module's first path segment (`worktree` for `worktree::git`).
const LAYERS: &[(&str, &[&str])] = &[
    ("entry", &["main"]),
    ("commands", &["commands", "cli"]),
    ("pipeline", &["pipeline"]),
    (
        "exec, report, store, worktree",
        &["exec", "report", "store", "worktree"],
    ),
    (
        "config and plan",
        &["config", "builtins", "identify", "plan", "shard"],
    ),
    ("system", &["sys"]),
    (
        "leaf vocabulary",
        &[
            "units", "fsutil", "env", "outcome", "exit", "fault", "parallel", "reads",
        ],
    ),
];

fn layer_of(module: &str) -> usize {
    let head = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&head))
        .unwrap_or_else(|| panic!("module {module} has no layer: add it to LAYERS"))
}

/// Module path (`worktree::git`, `report`, `main`) → its file's text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let path = e.path();
            if path.is_dir() {
                let sub = format!("{prefix}{name}::");
                walk(&path, &sub, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let module = if stem == "mod" {
                    prefix.trim_end_matches("::").to_string()
                } else {
                    format!("{prefix}{stem}")
                };
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out
}

/// The paths named after `crate::` in `text`, groups expanded
/// (`crate::{a, b::{c, d}}` names `a`, `b::c` and `b::d`).
fn crate_paths(text: &str) -> Vec<String> {
    fn expand(prefix: &str, rest: &str, out: &mut Vec<String>) {
        let rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        expand(prefix, &group[start..i], out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(prefix, &group[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let path: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let path = path.trim_end_matches(':');
        let full = if prefix.is_empty() {
            path.to_string()
        } else {
            format!("{prefix}::{path}")
        };
        let after = &rest[path.len()..];
        if let Some(group) = after.strip_prefix("::{") {
            expand(&full, &format!("{{{group}"), out);
        } else {
            out.push(full);
        }
    }
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        expand("", &text[i + 7..], &mut out);
    }
    out
}

/// Module → the other modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = modules();
    let names: BTreeSet<&String> = files.keys().collect();
    let mut graph = BTreeMap::new();
    for (module, text) in &files {
        let mut deps = BTreeSet::new();
        for path in crate_paths(text) {
            // The longest module that is a prefix of the path.
            let mut parts: Vec<&str> = path.split("::").collect();
            while !parts.is_empty() {
                let candidate = parts.join("::");
                if names.contains(&candidate) {
                    if &candidate != module {
                        deps.insert(candidate);
                    }
                    break;
                }
                parts.pop();
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in &graph[&node] {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    assert!(graph.len() > 30, "the modules were found: {graph:?}");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn no_import_runs_back_up_a_layer() {
    let graph = graph();
    let mut upward = Vec::new();
    for (module, deps) in &graph {
        for dep in deps {
            if layer_of(dep) < layer_of(module) {
                upward.push(format!(
                    "{module} ({}) uses {dep} ({})",
                    LAYERS[layer_of(module)].0,
                    LAYERS[layer_of(dep)].0
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_path_reader_finds_grouped_and_nested_imports() {
    let paths = crate_paths(
        "use crate::{a, b::{c, d::E}};\nuse crate::f::g::{self, H};\nlet x = crate::i::j(1);",
    );
    assert_eq!(
        paths,
        ["a", "b::c", "b::d::E", "f::g::self", "f::g::H", "i::j"],
        "{paths:?}"
    );
}

/// The code of a module, without its comments (a comment may name anything).
fn code_of(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each way out to the system has one owner: `needle` appears in the code
/// of `owner` (and the listed exceptions, each with its reason) and nowhere
/// else.
#[test]
fn each_system_boundary_has_one_owner() {
    let files = modules();
    let rules: &[(&str, &str, &[&str])] = &[
        ("git2::", "worktree::git", &[]),
        ("Command::new(\"git\")", "worktree::git", &[]),
        ("duct::", "exec::spawn", &[]),
        ("\"/proc", "sys::proc", &[]),
        ("/sys/fs/cgroup", "sys::proc", &[]),
        ("signal_hook::", "sys::signal", &[]),
        // fault: a debug build kills itself at a named step, for the tests.
        ("libc::kill(", "sys::signal", &["fault"]),
        ("libc::killpg(", "sys::signal", &[]),
        // Variables are read by the names in `env`; only the debug build's
        // fault injection names its own.
        ("env::var(\"", "fault", &[]),
        ("env::var_os(\"", "fault", &[]),
        ("std::io::stdout()", "report", &[]),
        ("std::io::stderr()", "report", &[]),
    ];
    let mut wrong = Vec::new();
    for (needle, owner, exceptions) in rules {
        assert!(
            code_of(&files[*owner]).contains(needle),
            "{owner} should hold `{needle}`: the rule is stale"
        );
        for (module, text) in &files {
            if module != owner
                && !exceptions.contains(&module.as_str())
                && code_of(text).contains(needle)
            {
                wrong.push(format!("{module} uses `{needle}`, which only {owner} may"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// ARCHITECTURE.md's module map: module → what it may use (beyond the leaf
/// vocabulary and its own family).
fn module_map() -> BTreeMap<String, Vec<String>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() != 5 || !cells[1].starts_with('`') {
            continue;
        }
        let module = cells[1].trim_matches('`').to_string();
        let uses = cells[3]
            .split(',')
            .map(|u| u.split('(').next().unwrap().trim().to_string())
            .filter(|u| !u.is_empty() && u != "—")
            .collect();
        map.insert(module, uses);
    }
    map
}

#[test]
fn the_module_map_matches_the_code() {
    let graph = graph();
    let map = module_map();
    let leaves = LAYERS.last().unwrap().1;
    let mut wrong = Vec::new();
    // Unit-test modules are no part of the map.
    for module in graph.keys().filter(|m| !m.ends_with("::tests")) {
        if !map.contains_key(module) {
            wrong.push(format!("{module} is missing from ARCHITECTURE.md"));
        }
    }
    for (module, uses) in &map {
        let Some(deps) = graph.get(module) else {
            wrong.push(format!(
                "ARCHITECTURE.md names {module}, which does not exist"
            ));
            continue;
        };
        let family = module.split("::").next().unwrap();
        for dep in deps {
            let head = dep.split("::").next().unwrap();
            let covered = leaves.contains(&head)
                || head == family
                || uses
                    .iter()
                    .any(|u| dep == u || dep.starts_with(&format!("{u}::")));
            if !covered {
                wrong.push(format!(
                    "{module} uses {dep}, which its line in ARCHITECTURE.md does not list"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
