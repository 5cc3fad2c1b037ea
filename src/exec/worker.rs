//! A worker: what one thread of the rayon pool does for one job. It starts
//! the job's batches one after another through `exec::spawn`, waits for each
//! and sends the coordinator what happened ([`Event`]).
//!
//! It must not decide, measure, signal or print: output goes to the job's log
//! file only, and stopping is the coordinator's to ask for (the `stop` flag).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::exec::spawn::{self, Invocation};

/// What a worker tells the coordinator.
pub enum Event {
    Spawned {
        job: usize,
        pid: u32,
    },
    BatchEnded {
        job: usize,
    },
    Finished {
        job: usize,
        exit_code: Option<i32>,
        signal: Option<i32>,
        error: Option<String>,
    },
}

/// A worker: runs the job's batches one after another, stopping at the first
/// that fails or when told to stop. Output goes to the log file only.
pub fn work(
    job: usize,
    batches: Vec<Invocation>,
    log: PathBuf,
    stop: Arc<AtomicBool>,
    tx: Sender<Event>,
) {
    let finished = |exit_code, signal, error| Event::Finished {
        job,
        exit_code,
        signal,
        error,
    };
    let file = match crate::fsutil::create_private(&log) {
        Ok(f) => f,
        Err(e) => {
            let error = format!("cannot create the log file {}: {e}", log.display());
            let _ = tx.send(finished(None, None, Some(error)));
            return;
        }
    };
    let (mut exit_code, mut signal) = (Some(0), None);
    for inv in &batches {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let handle = match spawn::start(inv, &file) {
            Ok(h) => h,
            Err(e) => {
                let error = format!("cannot start `{}`: {e}", inv.program.to_string_lossy());
                let _ = tx.send(finished(None, None, Some(error)));
                return;
            }
        };
        if let Some(&pid) = handle.pids().first() {
            let _ = tx.send(Event::Spawned { job, pid });
        }
        let result = handle.wait().map(|out| spawn::status_parts(out.status));
        let _ = tx.send(Event::BatchEnded { job });
        match result {
            Ok((code, sig)) => {
                exit_code = code;
                signal = sig;
                if code != Some(0) {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.send(finished(None, None, Some(format!("waiting failed: {e}"))));
                return;
            }
        }
    }
    let _ = tx.send(finished(exit_code, signal, None));
}
