//! The SQLite writer: one thread that runs the SCIM writes of this process, whatever is
//! waiting at once as one group-committed batch ([`Store::write_batch`]).
//!
//! SQLite has a single writer. Writes that each took a blocking thread and waited for the
//! lock left it idle between one transaction and the next, and paid the per-transaction
//! costs (the lock, the WAL pages, the wal-index) once per write. Here the writes queue
//! in memory; the thread takes every write waiting (up to [`MAX_BATCH`]), runs each in a
//! savepoint of one transaction, commits once, and only then answers them. A write that
//! fails undoes only itself; when the commit fails, every write of the batch is answered
//! with an error and nothing of it is kept.
//!
//! The batches' commits leave the write-ahead log's checkpoints to a second thread
//! ([`checkpoints`]), so that the copying and syncing of the log into the database file
//! never holds a batch up.
//!
//! SQLite starts the log over only when a write begins with all of it copied back and no
//! reader still in it, which writes that never pause never give that thread: under SCIM
//! creates that never paused the log grew by every batch, to 7.1 GiB in 100 s beside a
//! database of 0.2 GiB (`docs/benchmarks.md`). So once the checkpoint thread finds the
//! log holding [`RESTART_LOG_AT`] frames, the writer itself, between two batches, copies
//! the rest and waits for the readers still in the log ([`Store::restart_log`], at most
//! [`RESTART_WAIT`], and again after the next batch if that was not enough); the next
//! batch then writes the log from its start.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as sync_mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use portcullis_store::{Batch, Checkpoint, Store};
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;

/// Most writes committed together. Enough to absorb every connection of a busy client
/// while keeping one transaction (and the lock it holds) short.
pub const MAX_BATCH: usize = 64;

/// Writes waiting at most; a caller beyond it waits for room.
const QUEUE: usize = 1024;

/// How often the log is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Frames (pages) the write-ahead log may hold before the writer starts it over: 4 GiB of
/// 4 KiB pages. Starting it over syncs the database file on the writer's path, with all
/// that the checkpoint thread copied into it since it last could (the checkpoint thread's
/// own checkpoints sync it only when they copy the whole log): at 64 MiB, under SCIM
/// PATCHes that never paused, that was a 39 ms sync about once a second, and the
/// PATCHes' p99 rose from 19-25 ms to 56 ms (`docs/benchmarks.md`). So this is a bound
/// on the file, not a size the log keeps to: a log this long took 55 s of SCIM creates
/// that never paused, and starting it over held them up once (the longest answer 168 ms,
/// against 43 ms when the log grew instead).
const RESTART_LOG_AT: i32 = 1_048_576;

/// How long the writer waits, when it starts the log over, for the reads still in it (the
/// writes wait as long); a longer read and it tries again after its next batch.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// When the write-ahead log is checkpointed, and when it is started over.
#[derive(Debug, Clone, Copy)]
struct LogUpkeep {
    checkpoint_every: Duration,
    restart_at: i32,
}

impl LogUpkeep {
    const SERVER: LogUpkeep = LogUpkeep {
        checkpoint_every: CHECKPOINT_EVERY,
        restart_at: RESTART_LOG_AT,
    };
}

/// A queued write: runs in the batch and hands back what answers its caller once the
/// batch is committed.
type Job = Box<dyn FnOnce(&Batch<'_>) -> Box<dyn FnOnce() + Send> + Send>;

/// The handle requests queue their writes on. Cheap to clone; the thread ends when the
/// last handle is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over `store`.
    pub fn start(store: Store) -> std::io::Result<Writer> {
        Self::start_with(store, LogUpkeep::SERVER)
    }

    fn start_with(store: Store, upkeep: LogUpkeep) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        // The checkpoint thread stops when the writer thread ends and drops `running`.
        let (running, stopped) = sync_mpsc::channel::<()>();
        // Set by the checkpoint thread when the log is long, taken by the writer.
        let restart = Arc::new(AtomicBool::new(false));
        let checkpointed = store.clone();
        let long = Arc::clone(&restart);
        thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoints(&checkpointed, upkeep, &long, &stopped))?;
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(&store, queue, &restart);
                drop(running);
            })?;
        Ok(Writer { jobs })
    }

    /// Queues `f`, which runs on the writer thread in a savepoint of the next batch, and
    /// waits for its result, which is given only once the batch is committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |batch: &Batch<'_>| {
            let result = batch.attempt(f);
            Box::new(move || {
                // The caller may have gone (a closed connection); the write stands.
                let _ = answer.send(result);
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| AppError::Internal("the database writer has stopped".into()))?;
        match answered.await {
            Ok(result) => result,
            Err(_) => Err(AppError::Internal(
                "the write was not committed (see the server log)".into(),
            )),
        }
    }
}

/// The writer thread: batch, commit, answer, and start the log over when `restart` is
/// set, until every handle is gone.
fn run(store: &Store, mut queue: mpsc::Receiver<Job>, restart: &AtomicBool) {
    while let Some(first) = queue.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let count = jobs.len();
        // A panicking write (a bug) undoes its whole batch: the transaction is rolled
        // back with its connection, and every caller of the batch is told so.
        let committed = catch_unwind(AssertUnwindSafe(|| {
            store.write_batch(|batch| jobs.into_iter().map(|job| job(batch)).collect::<Vec<_>>())
        }));
        match committed {
            Ok(Ok(answers)) => answers.into_iter().for_each(|answer| answer()),
            Ok(Err(e)) => {
                tracing::error!(error = %e, writes = count, "a write batch was not committed")
            }
            Err(_) => tracing::error!(
                writes = count,
                "a write panicked; its batch was rolled back"
            ),
        }
        if restart.swap(false, Ordering::Relaxed) {
            match store.restart_log(RESTART_WAIT) {
                Ok(Checkpoint { busy: 0, .. }) => {}
                // The checkpoint thread's checkpoint was running, or a reader was still
                // in the log: again after the next batch.
                Ok(_) => restart.store(true, Ordering::Relaxed),
                Err(e) => {
                    tracing::warn!(error = %e, "the write-ahead log could not be started over")
                }
            }
        }
    }
}

/// The checkpoint thread: every [`CHECKPOINT_EVERY`], what the log holds goes into the
/// database file, as far as readers allow ([`Store::checkpoint`]), until the writer ends.
/// A log of [`RESTART_LOG_AT`] frames or more sets `restart` for the writer.
fn checkpoints(
    store: &Store,
    upkeep: LogUpkeep,
    restart: &AtomicBool,
    stopped: &sync_mpsc::Receiver<()>,
) {
    while let Err(sync_mpsc::RecvTimeoutError::Timeout) =
        stopped.recv_timeout(upkeep.checkpoint_every)
    {
        match store.checkpoint() {
            Ok(c) if c.log >= upkeep.restart_at => restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a checkpoint of the write-ahead log failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use portcullis_domain::{
        Account, AccountId, AccountSlug, EnforcementPolicy, IpRestrictions, ProvisioningMode,
    };

    use super::*;

    fn account(n: usize) -> Account {
        Account {
            id: AccountId::from_uuid(uuid::Uuid::new_v4()),
            slug: AccountSlug::parse(&format!("account-{n}")).unwrap(),
            name: format!("Account {n}"),
            enforcement: EnforcementPolicy::Mixed,
            provisioning: ProvisioningMode::Scim,
            api_ip_restrictions: IpRestrictions::none(),
            provision_only_verified_domains: false,
            created_at: Utc::now(),
            suspended_at: None,
        }
    }

    /// Writes that never pause, beside a reader that never stops reading, still start the
    /// log over: its file stays a few MiB (2 to 3 here, for a limit of 64 frames checked
    /// every 5 ms) instead of growing by every batch (without the restart it grew to 80
    /// to 91 MB).
    #[tokio::test]
    async fn the_log_starts_over_under_writes_that_never_pause() {
        const WRITERS: usize = 32;
        const EACH: usize = 250;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writer.db");
        let store = Store::connect(&path.display().to_string()).unwrap();
        store.migrate().unwrap();
        let upkeep = LogUpkeep {
            checkpoint_every: Duration::from_millis(5),
            restart_at: 64,
        };
        let writer = Writer::start_with(store.clone(), upkeep).unwrap();
        let reading = Arc::new(AtomicBool::new(true));
        let reader = {
            let (store, reading) = (store.clone(), Arc::clone(&reading));
            thread::spawn(move || {
                while reading.load(Ordering::Relaxed) {
                    store.count_accounts().unwrap();
                }
            })
        };
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    for i in 0..EACH {
                        let account = account(w * EACH + i);
                        writer
                            .write(move |s| Ok(s.create_account(&account, None)?))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        reading.store(false, Ordering::Relaxed);
        reader.join().unwrap();
        assert_eq!(store.count_accounts().unwrap(), (WRITERS * EACH) as i64);
        let log = std::fs::metadata(format!("{}-wal", path.display()))
            .unwrap()
            .len();
        assert!(log < 16 << 20, "the log grew to {log} bytes");
    }
}
