//! A worker: what one thread of the rayon pool does. It takes the jobs the
//! coordinator admitted from a queue, one at a time ([`serve`]), starts each
//! job's batches one after another through `exec::spawn` (or runs a
//! built-in in process, through `exec::builtin`), waits for each and sends
//! the coordinator what happened ([`Event`]). A worker waiting for
//! its next job sleeps on the queue (it does not spin), and one job costs
//! the coordinator two wake-ups: its process started, and it ended.
//!
//! It must not decide, measure, signal or print: output goes to the job's log
//! file only, and stopping is the coordinator's to ask for (the `stop` flag).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::exec::spawn::{self, Invocation};

/// What a worker tells the coordinator.
pub enum Event {
    Spawned {
        job: usize,
        pid: u32,
    },
    /// A batch's process ended and the job goes on with its next batch.
    BatchEnded {
        job: usize,
    },
    /// A service's probe found it ready (sent by its prober thread, not a
    /// worker): how.
    Ready {
        job: usize,
        how: String,
    },
    /// The job ended (its last process, if one started, has ended too).
    Finished {
        job: usize,
        exit_code: Option<i32>,
        signal: Option<i32>,
        error: Option<String>,
    },
}

/// One admitted job, as the coordinator hands it to a worker.
pub struct Task {
    pub job: usize,
    pub batches: Vec<Invocation>,
    pub log: PathBuf,
    pub stop: Arc<AtomicBool>,
}

/// A worker's life: runs the queued jobs one after another until the
/// coordinator drops the queue's sender.
pub fn serve(queue: Arc<Mutex<Receiver<Task>>>, tx: Sender<Event>) {
    loop {
        // Only the take is under the lock, not the job.
        let next = queue.lock().map(|q| q.recv());
        match next {
            Ok(Ok(task)) => work(task, &tx),
            _ => return,
        }
    }
}

/// A worker: runs the job's batches one after another, stopping at the first
/// that fails or when told to stop. Output goes to the log file only.
fn work(task: Task, tx: &Sender<Event>) {
    let Task {
        job,
        batches,
        log,
        stop,
    } = task;
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
    for (k, inv) in batches.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Some(work) = &inv.builtin {
            // In process, on this thread; a panic is the check's failure,
            // not the run's.
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::exec::builtin::run(work, &inv.dir, &file, &stop)
            }));
            let event = match done {
                Ok(Ok(code)) => finished(Some(code), None, None),
                Ok(Err(e)) => finished(None, None, Some(e)),
                Err(_) => finished(None, None, Some("the built-in check crashed".into())),
            };
            let _ = tx.send(event);
            return;
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
        // It may have written files: what comes next looks at them again.
        crate::reads::processes_ended();
        let last = k + 1 == batches.len();
        match result {
            Ok((code, sig)) => {
                exit_code = code;
                signal = sig;
                if code != Some(0) || last {
                    break;
                }
                let _ = tx.send(Event::BatchEnded { job });
            }
            Err(e) => {
                let _ = tx.send(finished(None, None, Some(format!("waiting failed: {e}"))));
                return;
            }
        }
    }
    let _ = tx.send(finished(exit_code, signal, None));
}
