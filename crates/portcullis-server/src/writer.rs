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

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc as sync_mpsc;
use std::thread;
use std::time::Duration;

use portcullis_store::{Batch, Store};
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;

/// Most writes committed together. Enough to absorb every connection of a busy client
/// while keeping one transaction (and the lock it holds) short.
pub const MAX_BATCH: usize = 64;

/// Writes waiting at most; a caller beyond it waits for room.
const QUEUE: usize = 1024;

/// How often the log is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

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
        let (jobs, queue) = mpsc::channel(QUEUE);
        // The checkpoint thread stops when the writer thread ends and drops `running`.
        let (running, stopped) = sync_mpsc::channel::<()>();
        let checkpointed = store.clone();
        thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoints(&checkpointed, &stopped))?;
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(&store, queue);
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

/// The writer thread: batch, commit, answer, until every handle is gone.
fn run(store: &Store, mut queue: mpsc::Receiver<Job>) {
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
    }
}

/// The checkpoint thread: every [`CHECKPOINT_EVERY`], what the log holds goes into the
/// database file, as far as readers allow ([`Store::checkpoint`]), until the writer ends.
fn checkpoints(store: &Store, stopped: &sync_mpsc::Receiver<()>) {
    while let Err(sync_mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = store.checkpoint() {
            tracing::warn!(error = %e, "a checkpoint of the write-ahead log failed");
        }
    }
}
