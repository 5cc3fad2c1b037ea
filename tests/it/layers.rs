//! The module graph has no cycle: every `crate::MODULE` a file of `src/`
//! names is an edge, and an import that runs back up (a lower module naming
//! one that uses it) closes a cycle and fails this test, naming it.

use std::collections::{BTreeMap, BTreeSet};

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(module) = name.strip_suffix(".rs") {
            files.insert(
                module.to_string(),
                std::fs::read_to_string(e.path()).unwrap(),
            );
        }
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, text) in &files {
        let mut deps = BTreeSet::new();
        // `crate::name` anywhere, and names inside `use crate::{a, b::c}`.
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + 7..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let head = part.trim().split("::").next().unwrap_or("").trim();
                    deps.insert(head.to_string());
                }
            } else {
                let head: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                deps.insert(head);
            }
        }
        deps.retain(|d| modules.contains(d) && d != module);
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
    assert!(graph.len() > 20, "the modules were found: {graph:?}");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn leaf_modules_use_nothing_of_precheck_but_leaves() {
    let graph = graph();
    let leaves = [
        "units", "fsutil", "env", "exit", "fault", "memory", "outcome",
    ];
    for leaf in leaves {
        let deps = &graph[leaf];
        assert!(
            deps.iter().all(|d| leaves.contains(&d.as_str())),
            "{leaf} is a leaf but uses {deps:?}"
        );
    }
}
