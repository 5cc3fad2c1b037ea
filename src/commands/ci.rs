//! `precheck ci matrix`: the shards of the checks as a CI job matrix.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::MatrixArgs;
use crate::commands::{change_of, load_config, selection};
use crate::exit::Exit;
use crate::pipeline::files_of;
use crate::plan::{self, Decision};
use crate::shard;

/// `precheck ci matrix`: the shards as JSON for a CI job matrix.
pub fn matrix(config_path: Option<PathBuf>, args: MatrixArgs) -> Result<Exit> {
    let repo = crate::worktree::snapshot::open_repo()?;
    let config = load_config(&repo, config_path)?;
    let files = files_of(&repo, &change_of(&repo, &args.files)?)?;
    let sel = selection(&repo, Vec::new(), args.files.hook.clone());
    let plan = plan::plan(&config, &files, &sel)?;
    let runs: Vec<bool> = plan.decisions.iter().map(Decision::runs).collect();
    let groups = shard::groups(&config, &runs);
    let count = args
        .shards
        .map_or(groups.len(), |n| n as usize)
        .clamp(1, groups.len().max(1));
    let shards = shard::assign(&groups, count);
    let include: Vec<serde_json::Value> = shards
        .iter()
        .enumerate()
        .map(|(k, checks)| {
            let names: Vec<&str> = checks
                .iter()
                .map(|&i| config.checks[i].name.as_str())
                .collect();
            serde_json::json!({
                "shard": format!("{}/{count}", k + 1),
                "checks": names,
                "name": names.join(", "),
            })
        })
        .collect();
    let shard_ids: Vec<String> = (1..=count).map(|k| format!("{k}/{count}")).collect();
    let doc = serde_json::json!({ "include": include, "shard": shard_ids });
    crate::report::outln!("{}", serde_json::to_string(&doc)?);
    Ok(Exit::Passed)
}
