//! Shards: splitting a run's checks over N CI jobs so that no job waits for
//! another. Checks joined by `needs` stay together (a group); groups are
//! dealt out largest first (one unit a check) to the least loaded shard, so
//! the split depends on checks.toml alone, never on this clone's timings. Pure and deterministic: the matrix job and
//! every shard job compute the same split, whatever ran before in the clone.

use std::collections::HashMap;

use crate::config::Config;
use crate::plan::{Decision, Plan};

/// `K/N` as the user writes it, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard; write it as K/N, like 2/4 (K from 1 to N)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Groups of check indices (config order inside each), connected by `needs`,
/// among `runs` (the checks that will run).
pub fn groups(config: &Config, runs: &[bool]) -> Vec<Vec<usize>> {
    let n = config.checks.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let index: HashMap<&str, usize> = config
        .checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    for (i, c) in config.checks.iter().enumerate() {
        for need in &c.needs {
            if let Some(&j) = index.get(need.as_str()) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut by_root: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in (0..n).filter(|&i| runs[i]) {
        let r = root(&mut parent, i);
        match by_root.iter_mut().find(|(root, _)| *root == r) {
            Some((_, members)) => members.push(i),
            None => by_root.push((r, vec![i])),
        }
    }
    by_root.into_iter().map(|(_, m)| m).collect()
}

/// Deals `groups` into `count` shards, largest first (one unit a check),
/// each to the least loaded shard; returns the checks of each shard.
pub fn assign(groups: &[Vec<usize>], count: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| groups[b].len().cmp(&groups[a].len()).then(a.cmp(&b)));
    let mut shards: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); count.max(1)];
    for g in order {
        let (k, _) = shards
            .iter()
            .enumerate()
            .min_by(|(i, a), (j, b)| a.0.cmp(&b.0).then(i.cmp(j)))
            .expect("at least one shard");
        shards[k].0 += groups[g].len();
        shards[k].1.push(g);
    }
    shards
        .into_iter()
        .map(|(_, gs)| {
            let mut checks: Vec<usize> = gs.iter().flat_map(|&g| groups[g].clone()).collect();
            checks.sort_unstable();
            checks
        })
        .collect()
}

/// Leaves in the plan only the checks of one shard. The split is a pure
/// function of checks.toml (never of this clone's timings), so shards run in
/// any order, in one clone or many, cover every check exactly once.
pub fn keep(config: &Config, plan: &mut Plan, shard: Shard) {
    let runs: Vec<bool> = plan.decisions.iter().map(Decision::runs).collect();
    let groups = groups(config, &runs);
    let shards = assign(&groups, shard.count);
    let mine = &shards[shard.index - 1];
    for (i, d) in plan.decisions.iter_mut().enumerate() {
        if !mine.contains(&i) && matches!(d, Decision::Run { .. } | Decision::NoFiles) {
            *d = Decision::OtherShard;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn needs_stay_together_and_every_check_lands_once() {
        let config = crate::config::parse(
            std::path::Path::new("checks.toml"),
            "[checks.a]\nrun='x'\n[checks.b]\nrun='x'\nneeds=['a']\n[checks.c]\nrun='x'\n[checks.d]\nrun='x'\n[checks.e]\nrun='x'\nneeds=['d']\n",
        )
        .unwrap();
        let runs = vec![true; 5];
        let groups = groups(&config, &runs);
        assert_eq!(groups, vec![vec![0, 1], vec![2], vec![3, 4]]);
        let shards = assign(&groups, 2);
        let mut all: Vec<usize> = shards.concat();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        assert!(shards.iter().all(|s| !(s.contains(&0) ^ s.contains(&1))));
    }
}
