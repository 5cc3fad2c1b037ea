//! Run records on disk: each run's directory under the git dir
//! (`precheck/runs/ID/`), its per-check logs, and its result, written
//! atomically (write, sync, rename) so a reader never sees half a record.
//! Old runs are pruned so that logs never grow without bound.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// How many finished runs are kept.
pub const KEEP_RUNS: usize = 20;

pub struct RunDir {
    pub id: String,
    pub path: PathBuf,
}

fn runs_root(git_dir: &Path) -> PathBuf {
    git_dir.join("precheck").join("runs")
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A unique, time-ordered name for a file written now: `YYYYMMDD-HHMMSS-PID`.
pub fn stamp_now() -> String {
    format!("{}-{}", utc_stamp(SystemTime::now()), std::process::id())
}

impl RunDir {
    /// A new, empty run directory with a unique, time-ordered id.
    pub fn create(git_dir: &Path) -> Result<RunDir> {
        let root = runs_root(git_dir);
        fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
        let stamp = utc_stamp(SystemTime::now());
        let pid = std::process::id();
        for n in 0.. {
            let id = if n == 0 {
                format!("{stamp}-{pid}")
            } else {
                format!("{stamp}-{pid}-{n}")
            };
            let path = root.join(&id);
            match fs::create_dir(&path) {
                Ok(()) => {
                    fs::create_dir(path.join("logs"))?;
                    return Ok(RunDir { id, path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        unreachable!()
    }

    pub fn log_path(&self, check: &str) -> PathBuf {
        self.path.join("logs").join(format!("{check}.log"))
    }

    /// Writes `result.json` atomically (not synced: a record, not the user's work).
    pub fn write_result(&self, json: &str) -> Result<()> {
        write_atomic(&self.path.join("result.json"), json.as_bytes(), false)
    }
}

/// Writes a file so that readers see the old or the new contents, never
/// half; `durable` also syncs it to disk before the rename.
pub fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut f =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    if durable {
        f.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Run directories, newest first.
fn run_dirs(git_dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(runs_root(git_dir))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// Removes all but the newest `keep` finished runs (those with a result).
pub fn prune(git_dir: &Path, keep: usize) {
    let finished = run_dirs(git_dir)
        .into_iter()
        .filter(|d| d.join("result.json").exists());
    for dir in finished.skip(keep) {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Median duration of each check's recent passes, from the newest results.
pub fn recent_durations(git_dir: &Path, runs: usize) -> HashMap<String, Duration> {
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    for dir in run_dirs(git_dir).into_iter().take(runs) {
        let Ok(text) = fs::read_to_string(dir.join("result.json")) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for check in doc["checks"].as_array().into_iter().flatten() {
            if check["status"] == "passed" {
                if let (Some(name), Some(ms)) =
                    (check["name"].as_str(), check["duration_ms"].as_u64())
                {
                    seen.entry(name.to_string()).or_default().push(ms);
                }
            }
        }
    }
    seen.into_iter()
        .map(|(name, mut v)| {
            v.sort_unstable();
            (name, Duration::from_millis(v[v.len() / 2]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_civil_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_794_787_200 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(utc_stamp(t), "20261116-030405");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
    }
}
