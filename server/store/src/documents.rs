//! Document storage: each sheet or follow-up is an Automerge document stored whole (compacted)
//! with projection rows beside it. Every change happens in a [`DocWrite`]: one transaction that
//! takes the company's next change-sequence number first (which serialises document writers on
//! both engines), then writes documents, projections, notifications and audit entries together.

use automerge::AutoCommit;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huifang_protocol::{Document, DocumentKind, DocumentListing, Labelled, Listed};
use sqlx::AnyConnection;

use crate::audit::{self, AuditActor};
use crate::db::{self, Database};
use crate::error::StoreError;
use crate::writer::{self, Turn};

/// One write of documents: a savepoint in the writer's shared transaction (see
/// [`crate::writer`]), kept whole by [`DocWrite::commit`] or rolled back whole when dropped.
pub struct DocWrite {
    turn: Turn,
    db: Database,
    /// Whether [`DocWrite::commit`] kept it (else dropping it rolls it back).
    kept: bool,
    /// The change-sequence number every document written here gets.
    pub seq: i64,
    /// The audit chain's head as this write leaves it (kept in memory by the writer, recorded
    /// once per batch).
    audit_head: String,
    pub now: DateTime<Utc>,
    pub actor: AuditActor,
    pub time_zone: Tz,
}

impl Drop for DocWrite {
    fn drop(&mut self) {
        if !self.kept {
            self.turn.abandon();
        }
    }
}

impl DocWrite {
    /// Waits for this process's turn to write documents and begins a write.
    pub async fn begin(
        db: &Database,
        actor: AuditActor,
        time_zone: Tz,
    ) -> Result<Self, StoreError> {
        let mut turn = db.writer().turn().await;
        let start = turn.begin_write().await?;
        Ok(DocWrite {
            turn,
            db: db.clone(),
            kept: false,
            seq: start.seq,
            audit_head: start.audit_head,
            now: db.now(),
            actor,
            time_zone,
        })
    }

    /// What the write's statements run on: the writer's connection, inside the write.
    pub fn tx(&mut self) -> &mut AnyConnection {
        self.turn.conn()
    }

    /// Which engine the write goes to (for [`db::insert_rows`]).
    pub fn backend(&self) -> db::Backend {
        self.db.backend()
    }

    /// Now, as stored.
    pub fn now_text(&self) -> String {
        huifang_protocol::format_time(self.now)
    }

    /// A stored time as people read it in notifications: the company's local time.
    pub fn local(&self, text: &str) -> String {
        huifang_protocol::local_time_of(text, &self.time_zone)
    }

    /// The month of `time` in the company's time zone, `YYYY-MM`.
    pub fn month_of(&self, time: DateTime<Utc>) -> String {
        time.with_timezone(&self.time_zone)
            .format("%Y-%m")
            .to_string()
    }

    /// Loads a document of kind `D` for changing.
    pub async fn load<D: Document>(
        &mut self,
        id: &str,
    ) -> Result<Option<(AutoCommit, D)>, StoreError> {
        let bytes: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT bytes FROM documents WHERE id = $1 AND kind = $2")
                .bind(id)
                .bind(D::KIND.code())
                .fetch_optional(self.turn.conn())
                .await?;
        bytes
            .map(|bytes| {
                D::load(&bytes)
                    .map_err(|e| StoreError::corrupt(format!("stored document {id}: {e}")))
            })
            .transpose()
    }

    /// The stored copy of document `id`, whatever its kind, inside this write ([`stored_copy`]
    /// outside one).
    pub async fn stored_copy(&mut self, id: &str) -> Result<Option<StoredCopy>, StoreError> {
        copy_of(self.turn.conn(), id).await
    }

    /// Records that a document left a staff member's scope (their phone purges it).
    pub async fn scope_exit(&mut self, document_id: &str, staff_id: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO scope_exits (seq, document_id, staff_id) VALUES ($1, $2, $3)")
            .bind(self.seq)
            .bind(document_id)
            .bind(staff_id)
            .execute(self.turn.conn())
            .await?;
        Ok(())
    }

    /// Records that a document left a unit's scope (re-routed, or reassigned to another unit): the
    /// phones of that unit's people purge it unless it is still theirs some other way.
    pub async fn unit_scope_exit(
        &mut self,
        document_id: &str,
        unit_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO scope_exits (seq, document_id, unit_id) VALUES ($1, $2, $3)")
            .bind(self.seq)
            .bind(document_id)
            .bind(unit_id)
            .execute(self.turn.conn())
            .await?;
        Ok(())
    }

    /// Writes `value` into `doc` and stores the document with this write's sequence number.
    /// The caller updates the projection in the same transaction.
    pub async fn put_document<D: Listed>(
        &mut self,
        doc: &mut AutoCommit,
        value: &D,
    ) -> Result<(), StoreError> {
        value
            .reconcile_into(doc)
            .map_err(|e| StoreError::corrupt(format!("writing document {}: {e}", value.id())))?;
        self.put_bytes(value, doc.save()).await
    }

    /// Stores a document's saved bytes and the listing of `value` (their value) with this
    /// write's sequence number.
    async fn put_bytes<D: Listed>(&mut self, value: &D, bytes: Vec<u8>) -> Result<(), StoreError> {
        let now = self.now_text();
        sqlx::query(
            "INSERT INTO documents (id, kind, bytes, listing, seq, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, listing = excluded.listing,
                seq = excluded.seq, updated_at = excluded.updated_at",
        )
        .bind(value.id())
        .bind(D::KIND.code())
        .bind(bytes)
        .bind(value.listing().encode())
        .bind(self.seq)
        .bind(now)
        .execute(self.turn.conn())
        .await?;
        Ok(())
    }

    /// The change sequence of document `id` as stored now, inside this write.
    pub async fn stored_seq(&mut self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(self.turn.conn())
                .await?,
        )
    }

    /// The change sequence of each of `ids` as stored now, inside this write (which holds the
    /// change-sequence lock, so nothing changes them until it commits).
    pub async fn stored_seqs(
        &mut self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let mut seqs = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, seq FROM documents WHERE id IN ({})",
                db::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            let rows: Vec<(String, i64)> = query.fetch_all(self.turn.conn()).await?;
            seqs.extend(rows);
        }
        Ok(seqs)
    }

    /// [`stored_many`] inside this write.
    pub async fn load_many<D: Document>(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<StoredDoc>, StoreError> {
        stored_many::<D>(self.turn.conn(), ids).await
    }

    /// Stores many documents' saved bytes, each with its listing, with this write's sequence
    /// number, in few statements (a job's batch, changed off the async threads). The caller projects them and audits them in
    /// the same write ([`DocWrite::audit_all`]), as [`DocWrite::store`] does for one.
    pub async fn put_all_bytes(
        &mut self,
        documents: Vec<(DocumentListing, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let now = self.now_text();
        let rows: Vec<serde_json::Value> = documents
            .iter()
            .map(|(listing, bytes)| {
                serde_json::json!([
                    listing.id(),
                    listing.kind().code(),
                    hex::encode(bytes),
                    hex::encode(listing.encode()),
                    self.seq,
                    now,
                    now
                ])
            })
            .collect();
        use db::ColumnType::{Bytes, Int, Text};
        let backend = self.backend();
        db::upsert_rows(
            self.turn.conn(),
            backend,
            "documents",
            &[
                ("id", Text),
                ("kind", Text),
                ("bytes", Bytes),
                ("listing", Bytes),
                ("seq", Int),
                ("created_at", Text),
                ("updated_at", Text),
            ],
            ("id", &["bytes", "listing", "seq", "updated_at"]),
            &rows,
        )
        .await?;
        Ok(())
    }

    /// Stores many new documents already saved (`(value, bytes)`, each a history of its own,
    /// made off the async threads) with their projections and audit entries in a handful of
    /// statements: a batch of the planner's routine follow-ups, as [`DocWrite::store`] would
    /// store each.
    pub async fn store_saved_all<D: Stored>(
        &mut self,
        saved: Vec<(D, Vec<u8>)>,
        action: &str,
    ) -> Result<(), StoreError> {
        let (values, bytes): (Vec<D>, Vec<Vec<u8>>) = saved.into_iter().unzip();
        self.put_all_bytes(values.iter().map(Listed::listing).zip(bytes).collect())
            .await?;
        let refs: Vec<&D> = values.iter().collect();
        D::project_all(&refs, self).await?;
        let seq = self.seq;
        let entries = values
            .iter()
            .map(|value| {
                let mut detail = value.audit_detail();
                detail["seq"] = seq.into();
                (action, value.id().to_owned(), detail)
            })
            .collect();
        self.audit_all(entries).await
    }

    /// Audit entries for many subjects, chained in order, in few statements.
    pub async fn audit_all(
        &mut self,
        entries: Vec<(&str, String, serde_json::Value)>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let at = self.now_text();
        let backend = self.backend();
        let head = audit::append_all(
            self.turn.conn(),
            backend,
            &self.audit_head,
            &at,
            self.actor,
            &entries,
        )
        .await?;
        self.audit_head = head;
        Ok(())
    }

    /// Stores a document with its projection and an audit entry: the one way a document changes.
    pub async fn store<D: Stored>(
        &mut self,
        doc: &mut AutoCommit,
        value: &D,
        action: &str,
    ) -> Result<(), StoreError> {
        self.store_noting(doc, value, action, serde_json::Map::new())
            .await
    }

    /// As [`DocWrite::store`], with more said in the audit entry (a head's reason).
    pub async fn store_noting<D: Stored>(
        &mut self,
        doc: &mut AutoCommit,
        value: &D,
        action: &str,
        note: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError> {
        self.put_document(doc, value).await?;
        self.project_and_audit(value, action, note).await
    }

    /// Stores a document already saved (a device's changes, applied and checked off the async
    /// threads, whose value `value` is): as [`DocWrite::store`] without writing and saving it
    /// again.
    pub async fn store_saved<D: Stored>(
        &mut self,
        saved: Vec<u8>,
        value: &D,
        action: &str,
    ) -> Result<(), StoreError> {
        self.put_bytes(value, saved).await?;
        self.project_and_audit(value, action, serde_json::Map::new())
            .await
    }

    async fn project_and_audit<D: Stored>(
        &mut self,
        value: &D,
        action: &str,
        note: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError> {
        value.project(self).await?;
        let mut detail = value.audit_detail();
        detail["seq"] = self.seq.into();
        for (key, value) in note {
            detail[key] = value;
        }
        self.audit(action, value.id(), detail).await
    }

    /// Stores a document the server changed on its own (rules, deadlines, reopening): loads its
    /// Automerge history first, or starts a new document.
    pub async fn store_as_server<D: Stored>(
        &mut self,
        value: &D,
        action: &str,
    ) -> Result<(), StoreError> {
        let mut doc = match self.load::<D>(value.id()).await? {
            Some((doc, _)) => doc,
            None => AutoCommit::new(),
        };
        self.store(&mut doc, value, action).await
    }

    /// Records the change in the audit log.
    pub async fn audit(
        &mut self,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let at = self.now_text();
        let head = audit::append(
            self.turn.conn(),
            &self.audit_head,
            &at,
            self.actor,
            action,
            subject,
            &detail,
        )
        .await?;
        self.audit_head = head;
        Ok(())
    }

    /// Tells a staff member about a document (a major complaint for their unit, an overdue follow-up).
    pub async fn notify(
        &mut self,
        staff_id: i64,
        document_id: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO notifications (staff_id, document_id, message, created_at) VALUES ($1, $2, $3, $4)")
            .bind(staff_id)
            .bind(document_id)
            .bind(message)
            .bind(self.now_text())
            .execute(self.turn.conn())
            .await?;
        Ok(())
    }

    /// Tells many staff members about documents, in few statements (a job's batch).
    pub async fn notify_all(
        &mut self,
        notices: Vec<(i64, String, String)>,
    ) -> Result<(), StoreError> {
        let now = self.now_text();
        let rows: Vec<serde_json::Value> = notices
            .iter()
            .map(|(staff, document, message)| serde_json::json!([staff, document, message, now]))
            .collect();
        use db::ColumnType::{Int, Text};
        let backend = self.backend();
        db::insert_rows(
            self.turn.conn(),
            backend,
            "notifications",
            &[
                ("staff_id", Int),
                ("document_id", Text),
                ("message", Text),
                ("created_at", Text),
            ],
            &rows,
        )
        .await?;
        Ok(())
    }

    /// Keeps the write and waits until the batch it joined has committed (the writer commits
    /// as soon as no other write waits to join, see [`crate::writer`]).
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let head = std::mem::take(&mut self.audit_head);
        let ended = self.turn.keep(self.seq, head).await?;
        self.kept = true;
        drop(self);
        writer::outcome(ended).await
    }
}

/// A document kind the server stores with projection rows.
pub trait Stored: Listed + Sync {
    /// Rewrites the document's projection, in the write's transaction.
    fn project(
        &self,
        write: &mut DocWrite,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Rewrites many documents' projections (a batch; one at a time unless the kind knows
    /// better).
    fn project_all(
        values: &[&Self],
        write: &mut DocWrite,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
        async move {
            for value in values {
                value.project(write).await?;
            }
            Ok(())
        }
    }
    /// What the audit entry records about this version of the document.
    fn audit_detail(&self) -> serde_json::Value;
}

/// A stored document as a job reads it: id, change sequence and bytes.
pub type StoredDoc = (String, i64, Vec<u8>);

/// The stored copies of many documents of kind `D` (a job's batch); missing ids are left out.
/// Parsing them is the caller's, off the async threads. Outside a write the copies may change
/// before the caller writes: compare their sequence with [`DocWrite::stored_seqs`] then.
pub async fn stored_many<D: Document>(
    conn: &mut sqlx::AnyConnection,
    ids: &[String],
) -> Result<Vec<StoredDoc>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, seq, bytes FROM documents WHERE kind = $1 AND id IN ({})",
            db::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(D::KIND.code());
        for id in chunk {
            query = query.bind(id);
        }
        let rows: Vec<StoredDoc> = query.fetch_all(&mut *conn).await?;
        found.extend(rows);
    }
    Ok(found)
}

/// A stored document of any kind: its kind's code, change sequence and bytes.
pub type StoredCopy = (String, i64, Vec<u8>);

/// The stored copy of document `id`, whatever its kind, outside a write (a sync reads it before
/// its write begins, and compares the sequence inside).
pub async fn stored_copy(db: &Database, id: &str) -> Result<Option<StoredCopy>, StoreError> {
    copy_of(db.pool(), id).await
}

/// The one query behind [`stored_copy`] and [`DocWrite::stored_copy`].
async fn copy_of<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<StoredCopy>, StoreError> {
    Ok(
        sqlx::query_as("SELECT kind, seq, bytes FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(executor)
            .await?,
    )
}

/// Reads a document outside a write (for display or for checking a projection).
pub async fn read<D: Document>(db: &Database, id: &str) -> Result<Option<D>, StoreError> {
    let bytes: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT bytes FROM documents WHERE id = $1 AND kind = $2")
            .bind(id)
            .bind(D::KIND.code())
            .fetch_optional(db.pool())
            .await?;
    bytes
        .map(|bytes| {
            D::load(&bytes)
                .map(|(_, value)| value)
                .map_err(|e| StoreError::corrupt(format!("stored document {id}: {e}")))
        })
        .transpose()
}

/// The ids of every stored document of a kind (for checks that recompute projections).
pub async fn ids_of(db: &Database, kind: DocumentKind) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM documents WHERE kind = $1 ORDER BY id")
            .bind(kind.code())
            .fetch_all(db.pool())
            .await?,
    )
}
