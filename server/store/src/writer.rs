//! Group commit for document writes.
//!
//! Every document write of this process runs on one dedicated connection, in a transaction that
//! several writes share: each write is a savepoint, kept whole or rolled back whole, and the
//! transaction commits when no other write is waiting for its turn, or once it has carried
//! [`MOST_WRITES`] writes or held the change sequence for [`LONGEST`]. A commit's cost (the
//! database's flush to disk, on either engine) is paid once for many phones' edits, while the
//! writes themselves still run one at a time, in order.
//!
//! Change-sequence numbers stay gap-free and become visible in order: the batch locks the
//! sequence's row when it opens (so a second instance's batch waits for this one's commit),
//! numbers its writes one after another in memory, and records the last number, with the audit
//! chain's head, in the same commit. A device whose cursor is at a number never misses a smaller
//! one that commits later.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::error::StoreError;

/// Most writes one commit carries.
const MOST_WRITES: usize = 128;

/// Longest a batch holds the change sequence (and, on SQLite, the database's write lock) while
/// writes keep arriving: sign-ins, imports and another instance's writes wait at most about this.
const LONGEST: Duration = Duration::from_millis(10);

/// How a batch ended, told to every write it carried.
type Outcome = Option<Result<(), String>>;

/// The process's document writer: the gate writes queue at, and how many are queued.
#[derive(Clone)]
pub(crate) struct Writer {
    gate: Arc<Mutex<Batch>>,
    queued: Arc<AtomicUsize>,
}

/// What the gate guards: the writer's connection and the batch open on it.
pub(crate) struct Batch {
    conn: AnyConnection,
    open: Option<Open>,
    /// A write ended without being kept: its savepoint is still to be rolled back.
    abandoned: bool,
    /// A statement failed in a way that leaves the connection's state unknown: it is replaced
    /// before the next write.
    broken: bool,
    /// How long a batch may hold the change sequence while writes keep arriving ([`LONGEST`]
    /// unless a test says otherwise).
    longest: Duration,
    pool: AnyPool,
    /// Run on each new writer connection (SQLite's full synchronous commits).
    setup: Option<&'static str>,
    /// Live channels learn of each committed batch here (`Database::watch_changes`).
    changes: Arc<watch::Sender<i64>>,
}

/// A transaction open on the writer's connection, holding the change sequence's row.
struct Open {
    /// The change sequence as the writes kept so far leave it.
    seq: i64,
    /// The audit chain's head as the writes kept so far leave it.
    audit_head: String,
    kept: usize,
    started: Instant,
    ended: watch::Sender<Outcome>,
}

impl Writer {
    /// Takes a connection of `pool` for the writer's own, running `setup` on it first (and on
    /// every replacement).
    pub(crate) async fn new(
        pool: &AnyPool,
        setup: Option<&'static str>,
        changes: Arc<watch::Sender<i64>>,
    ) -> Result<Self, sqlx::Error> {
        let conn = connect(pool, setup).await?;
        Ok(Writer {
            gate: Arc::new(Mutex::new(Batch {
                conn,
                open: None,
                abandoned: false,
                broken: false,
                longest: LONGEST,
                pool: pool.clone(),
                setup,
                changes,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Waits for this process's turn at the writer, in order of arrival.
    pub(crate) async fn turn(&self) -> Turn {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut waiting = Waiting {
            writer: self,
            acquired: false,
        };
        let guard = self.gate.clone().lock_owned().await;
        waiting.acquired = true;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        Turn {
            guard,
            writer: self.clone(),
        }
    }

    /// Lets a batch stay open up to `longest` while writes keep arriving (a test that must see
    /// a batch passed on, whatever the machine's speed).
    #[cfg(feature = "testing")]
    pub(crate) async fn hold_batches_up_to(&self, longest: Duration) {
        self.gate.lock().await.longest = longest;
    }

    fn someone_waiting(&self) -> bool {
        self.queued.load(Ordering::SeqCst) > 0
    }

    /// Ends whatever is pending once nobody else will: a batch left open, a write abandoned.
    fn settle_later(&self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let writer = self.clone();
            runtime.spawn(async move {
                let mut turn = writer.turn().await;
                turn.settle().await;
            });
        }
    }
}

/// One place in the writer's queue; if its owner stops waiting, a batch the writer before it
/// left open for it is still committed.
struct Waiting<'a> {
    writer: &'a Writer,
    acquired: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.acquired {
            self.writer.queued.fetch_sub(1, Ordering::SeqCst);
            if !self.writer.someone_waiting() {
                self.writer.settle_later();
            }
        }
    }
}

/// A turn at the writer's connection: while it is held nobody else in this process writes
/// documents. Whoever holds it last ends the batch; a turn dropped with work pending and nobody
/// queued behind it has the batch ended for it.
pub struct Turn {
    guard: OwnedMutexGuard<Batch>,
    writer: Writer,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let pending = self.guard.open.is_some() || self.guard.abandoned;
        if pending && !self.writer.someone_waiting() {
            self.writer.settle_later();
        }
    }
}

/// Where a write begins: its change-sequence number and the audit chain's head before it.
pub(crate) struct Start {
    pub seq: i64,
    pub audit_head: String,
}

impl Turn {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.guard.conn
    }

    /// Begins a write in the open batch (opening one when none is, or when the open one is
    /// full): a savepoint, the next change-sequence number.
    pub(crate) async fn begin_write(&mut self) -> Result<Start, StoreError> {
        self.tidy().await;
        if self.guard.broken {
            let conn = connect(&self.guard.pool, self.guard.setup).await?;
            self.guard.conn = conn;
            self.guard.broken = false;
        }
        let longest = self.guard.longest;
        let full = self
            .guard
            .open
            .as_ref()
            .is_some_and(|open| open.kept >= MOST_WRITES || open.started.elapsed() >= longest);
        if full {
            self.end().await;
        }
        if self.guard.open.is_none() {
            let opened = self.open().await;
            if let Err(error) = opened {
                self.guard.broken = true;
                return Err(error);
            }
        }
        if let Err(error) = self.guard.conn.execute("SAVEPOINT doc_write").await {
            self.fail(&error.to_string());
            return Err(error.into());
        }
        match &self.guard.open {
            Some(open) => Ok(Start {
                seq: open.seq + 1,
                audit_head: open.audit_head.clone(),
            }),
            None => Err(StoreError::corrupt(
                "the write's batch closed before it began",
            )),
        }
    }

    /// Keeps the write begun last (its savepoint released into the batch) as change `seq`,
    /// leaving the audit chain at `audit_head`; returns where the batch's outcome will be told.
    /// The batch is ended here unless another write is waiting to join it.
    pub(crate) async fn keep(
        &mut self,
        seq: i64,
        audit_head: String,
    ) -> Result<watch::Receiver<Outcome>, StoreError> {
        self.guard
            .conn
            .execute("RELEASE SAVEPOINT doc_write")
            .await?;
        let longest = self.guard.longest;
        let Some(open) = self.guard.open.as_mut() else {
            return Err(StoreError::corrupt(
                "the write's batch closed before it was kept",
            ));
        };
        open.seq = seq;
        open.audit_head = audit_head;
        open.kept += 1;
        let outcome = open.ended.subscribe();
        let room = open.kept < MOST_WRITES && open.started.elapsed() < longest;
        if !(room && self.writer.someone_waiting()) {
            self.end().await;
        }
        Ok(outcome)
    }

    /// Marks the write begun last as not kept: its savepoint is rolled back before anything else
    /// runs on the connection.
    pub(crate) fn abandon(&mut self) {
        self.guard.abandoned = true;
    }

    /// Rolls back an abandoned write and ends the open batch (a turn taken for a write outside
    /// the writer, or the last turn of a burst).
    pub(crate) async fn settle(&mut self) {
        self.tidy().await;
        if self.guard.open.is_some() {
            self.end().await;
        }
    }

    /// Rolls back an abandoned write's savepoint; if that fails the batch fails with it.
    async fn tidy(&mut self) {
        if !self.guard.abandoned {
            return;
        }
        self.guard.abandoned = false;
        if self.guard.open.is_none() {
            return;
        }
        let rolled_back = match self
            .guard
            .conn
            .execute("ROLLBACK TO SAVEPOINT doc_write")
            .await
        {
            Ok(_) => self.guard.conn.execute("RELEASE SAVEPOINT doc_write").await,
            Err(error) => Err(error),
        };
        if let Err(error) = rolled_back {
            self.fail(&error.to_string());
        }
    }

    /// Opens a batch: locks the change sequence's row and reads where it stands.
    async fn open(&mut self) -> Result<(), StoreError> {
        self.guard.conn.execute("BEGIN").await?;
        let (seq, audit_head): (i64, String) = sqlx::query_as(
            "UPDATE change_sequence SET value = value WHERE id = 1 RETURNING value, audit_head",
        )
        .fetch_one(&mut self.guard.conn)
        .await?;
        self.guard.open = Some(Open {
            seq,
            audit_head,
            kept: 0,
            started: Instant::now(),
            ended: watch::Sender::new(None),
        });
        Ok(())
    }

    /// Commits the open batch (rolls it back when it kept nothing) and tells its writes.
    async fn end(&mut self) {
        let Some(open) = self.guard.open.take() else {
            return;
        };
        let result = if open.kept == 0 {
            self.guard.conn.execute("ROLLBACK").await.map(|_| ())
        } else {
            let recorded =
                sqlx::query("UPDATE change_sequence SET value = $1, audit_head = $2 WHERE id = 1")
                    .bind(open.seq)
                    .bind(&open.audit_head)
                    .execute(&mut self.guard.conn)
                    .await;
            match recorded {
                Ok(_) => self.guard.conn.execute("COMMIT").await.map(|_| ()),
                Err(error) => Err(error),
            }
        };
        match result {
            Ok(()) => {
                if open.kept > 0 {
                    announce(&self.guard.changes, open.seq);
                }
                open.ended.send_replace(Some(Ok(())));
            }
            Err(error) => {
                tracing::error!(%error, writes = open.kept, "a batch of document writes failed to commit");
                self.guard.broken = true;
                open.ended.send_replace(Some(Err(error.to_string())));
            }
        }
    }

    /// Fails the open batch: nothing in it is kept, and the connection is replaced.
    fn fail(&mut self, reason: &str) {
        self.guard.broken = true;
        if let Some(open) = self.guard.open.take() {
            tracing::error!(
                reason,
                writes = open.kept,
                "a batch of document writes was rolled back"
            );
            open.ended.send_replace(Some(Err(reason.to_owned())));
        }
    }
}

/// Waits until the batch a kept write went into has ended, and says how.
pub(crate) async fn outcome(mut ended: watch::Receiver<Outcome>) -> Result<(), StoreError> {
    let told = ended
        .wait_for(Option::is_some)
        .await
        .map(|outcome| outcome.clone());
    match told {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(reason))) => Err(StoreError::NotCommitted(reason)),
        Ok(None) | Err(_) => Err(StoreError::NotCommitted(
            "the writer stopped before committing".into(),
        )),
    }
}

/// Announces a committed change-sequence number to this process's live channels.
pub(crate) fn announce(changes: &watch::Sender<i64>, seq: i64) {
    changes.send_if_modified(|known| {
        let newer = seq > *known;
        if newer {
            *known = seq;
        }
        newer
    });
}

async fn connect(
    pool: &AnyPool,
    setup: Option<&'static str>,
) -> Result<AnyConnection, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    if let Some(setup) = setup {
        conn.execute(setup).await?;
    }
    Ok(conn)
}
