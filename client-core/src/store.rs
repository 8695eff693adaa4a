//! [`ClientStore`]: the one entry point of the client core.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use automerge::ActorId;
use chrono::{DateTime, Utc};
use huifang_protocol::{
    Clock, DocumentKind, FollowUp, FollowUpMethod, PhotoRef, Ratings, Sheet, SurveyAnswer,
    SurveyFormRow, WIPE_CONFIRMATION_PATH, format_time,
};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::editing::{self, NewSheet, OutcomeInput, PhotoInput, Signing};
use crate::encryption::{self, StoreKey};
use crate::error::{ClientError, Result};
use crate::queries::{
    self, BadgeCounts, BuildingTasks, HouseholdHistory, SearchResults, SheetRow, Task,
};
use crate::reference::{self, ReferenceData};
use crate::session::{self, LoginAnswer, MeAnswer, Session};
use crate::signature::{self, SignatureCheck, SignatureInput};
use crate::transport::{PendingChange, Request, Transport};
use crate::{db, documents, schema};

/// The phone's store. Safe to share between threads (the UI thread and a sync thread): writes
/// are serialised on one connection, reads use another, and SQLite's WAL lets them overlap.
pub struct ClientStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    actor: ActorId,
    path: PathBuf,
    /// Where the phone's "now" comes from: the system clock, or the one a test starts.
    clock: Clock,
    /// Documents per page asked of the server in a sync.
    pub(crate) sync_page_size: u32,
    /// The size of the parts a blob is uploaded in.
    pub(crate) blob_part_bytes: usize,
    /// The app's version, reported with each sync (the server may require a newer one).
    pub(crate) app_version: String,
    /// Set once the store was erased on the server's order ([`ClientStore::erase`]): every call
    /// then answers [`ClientError::Wiped`].
    wiped: AtomicBool,
}

/// Documents per sync page asked of the server, unless the app says otherwise
/// ([`ClientStore::with_sync_page_size`]).
const SYNC_PAGE_SIZE: u32 = 2_000;

/// Closes the store's two connections, the reader first and the writer last (the last close
/// checkpoints the log into the file and removes it), leaving in-memory placeholders in their
/// place; both are closed even when one fails, and the first failure is returned.
fn close_both(writer: &mut Connection, reader: &mut Connection) -> Result<()> {
    let mut result = Ok(());
    for conn in [reader, writer] {
        let closed = encryption::close(std::mem::replace(conn, Connection::open_in_memory()?));
        result = result.and(closed);
    }
    result
}

/// A poisoned lock only means another thread panicked while holding it; SQLite has already rolled
/// back whatever that thread left unfinished, so the connection is safe to use.
fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ClientStore {
    /// Opens (or creates) the store at `path`, encrypted under `key`, migrating its schema. A
    /// key that does not open an existing store is [`ClientError::WrongKey`]; a store an earlier
    /// version kept in plaintext is encrypted under `key`, keeping everything in it.
    pub fn open(path: impl AsRef<Path>, key: &StoreKey) -> Result<Self> {
        Self::open_with(path.as_ref(), Some(key))
    }

    /// The store without encryption, for the benchmarks to print the unencrypted figure beside
    /// the encrypted one. Never in an app's build.
    #[cfg(feature = "unencrypted-benchmark")]
    #[doc(hidden)]
    pub fn open_unencrypted(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), None)
    }

    fn open_with(path: &Path, key: Option<&StoreKey>) -> Result<Self> {
        let path = path.to_path_buf();
        let mut writer = db::open(&path, key)?;
        schema::migrate(&mut writer)?;
        let actor = documents::actor(&writer)?;
        let reader = db::open(&path, key)?;
        Ok(ClientStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            actor,
            path,
            clock: Clock::system(),
            sync_page_size: SYNC_PAGE_SIZE,
            blob_part_bytes: huifang_protocol::BLOB_PART_BYTES,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            wiped: AtomicBool::new(false),
        })
    }

    /// The same store asking for `documents` per sync page (between 1 and the server's most;
    /// 2,000 unless told): smaller pages for a slow link, where each answer should arrive well
    /// within the request's timeout.
    pub fn with_sync_page_size(mut self, documents: u32) -> Self {
        self.sync_page_size = documents.clamp(1, huifang_protocol::MAX_PAGE);
        self
    }

    /// The same store uploading blobs (photos, signatures) in parts of `bytes` (at least 4 KiB;
    /// 512 KiB unless told): smaller parts for a link that breaks often, where each part should
    /// arrive before the next cut.
    pub fn with_blob_part_bytes(mut self, bytes: usize) -> Self {
        self.blob_part_bytes = bytes.clamp(4 * 1024, huifang_protocol::MAX_BLOB_BYTES);
        self
    }

    /// The same store reporting `version` as the app's (dotted numbers, `2.3.0`) with each sync;
    /// the library's own version unless told.
    pub fn with_app_version(mut self, version: &str) -> Result<Self> {
        if huifang_protocol::app_version(version).is_none() {
            return Err(ClientError::invalid(format!(
                "an app version is dotted numbers such as 2.3.0, not {version:?}"
            )));
        }
        self.app_version = version.to_owned();
        Ok(self)
    }

    /// The same store reading `clock` for "now" (tests start it at a chosen instant).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, on this phone's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Encrypts the store under a new key (the app rotates it, or moves it to new hardware-backed
    /// storage). Everything is copied under `key` beside the store and put in its place in one
    /// rename, so a crash leaves the store whole under the old key or the new one: keep the new
    /// key beside the old until this returns, and on [`ClientError::WrongKey`] try the other.
    /// On an error before the rename nothing has changed and the store stays open.
    pub fn rekey(&self, key: &StoreKey) -> Result<()> {
        // Both connections are held, so no call reads or writes meanwhile.
        let mut writer = lock(&self.writer);
        let mut reader = lock(&self.reader);
        let fresh = encryption::copy_under(&writer, &self.path, key)?;
        // The copy is complete; the old file's connections close (the writer last, checkpointing
        // and removing its log) before the copy takes its name.
        close_both(&mut writer, &mut reader)?;
        encryption::replace(&fresh, &self.path)?;
        *writer = db::open(&self.path, Some(key))?;
        *reader = db::open(&self.path, Some(key))?;
        Ok(())
    }

    /// Runs `work` in one immediate transaction: all of it is stored, or none.
    pub(crate) fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        self.not_wiped()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    pub(crate) fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = lock(&self.reader);
        self.not_wiped()?;
        work(&conn)
    }

    fn not_wiped(&self) -> Result<()> {
        if self.wiped.load(Ordering::Acquire) {
            return Err(ClientError::Wiped);
        }
        Ok(())
    }

    /// Erases the store because the server answered this phone's token with
    /// [`huifang_protocol::WIPE_STATUS`]: the phone was reported lost. Both connections close and
    /// the store's files (database, log, shared memory, an unfinished re-encryption) are deleted;
    /// their content was encrypted under a key only the app holds, which it deletes on
    /// [`ClientError::Wiped`]. Then the server is told, with the token it asked about (still in
    /// memory, nowhere else): if that cannot reach it, the server still knows it told the phone.
    /// Unsynced work is erased too: the phone is in someone else's hands.
    pub(crate) fn erase(&self, transport: &dyn Transport, token: &str) -> ClientError {
        {
            let mut writer = lock(&self.writer);
            let mut reader = lock(&self.reader);
            self.wiped.store(true, Ordering::Release);
            if let Err(e) = close_both(&mut writer, &mut reader) {
                tracing::warn!(error = %e, "closing the store before erasing it failed");
            }
            if let Err(e) = encryption::remove_store(&self.path) {
                tracing::error!(error = %e, "erasing the store on the server's order failed");
            }
        }
        let confirmed = crate::transport::send(
            transport,
            Request::post(
                WIPE_CONFIRMATION_PATH,
                Some(token),
                "application/json",
                b"{}",
            ),
        );
        if let Err(e) = confirmed {
            tracing::warn!(error = %e, "the erasure could not be confirmed to the server");
        }
        ClientError::Wiped
    }

    fn signed_in<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>, &Session) -> Result<T>,
    ) -> Result<T> {
        self.write(|tx| {
            let session = session::require(tx)?;
            work(tx, &session)
        })
    }

    // ----- session -------------------------------------------------------------------------

    /// Keeps the session the app obtained from the server. Signing in as someone else while
    /// another user's changes are unsynced is refused, so nobody's work is lost or misattributed.
    pub fn sign_in(&self, session: Session) -> Result<()> {
        session.check()?;
        self.write(|tx| {
            if let Some(current) = session::load(tx)?
                && current.staff_id != session.staff_id
            {
                let pending = pending_count(tx)?;
                if pending > 0 {
                    return Err(ClientError::UnsyncedChanges { count: pending });
                }
                wipe(tx)?;
            }
            session::save(tx, &session, &format_time(self.clock.now()))
        })
    }

    pub fn session(&self) -> Result<Option<Session>> {
        self.read(session::load)
    }

    /// Signs out and wipes this user's data from the phone. Refused while local changes have not
    /// reached the server, unless `discard_unsynced` says to drop them.
    pub fn sign_out(&self, discard_unsynced: bool) -> Result<()> {
        self.write(|tx| {
            let pending = pending_count(tx)?;
            if pending > 0 && !discard_unsynced {
                return Err(ClientError::UnsyncedChanges { count: pending });
            }
            wipe(tx)
        })
    }

    // ----- data from the server ------------------------------------------------------------

    /// Replaces the reference rows (units, staff, households and customers in scope).
    pub fn apply_reference(&self, data: &ReferenceData) -> Result<()> {
        self.write(|tx| reference::replace(tx, data))
    }

    /// Merges a document (or changes to it) that came from the server.
    pub fn receive_document(&self, id: &str, kind: DocumentKind, bytes: &[u8]) -> Result<()> {
        let now = format_time(self.clock.now());
        self.write(|tx| crate::projections::receive(tx, id, kind, bytes, None, &now))
    }

    /// Local changes not yet acknowledged by the server, oldest first.
    pub fn pending_changes(&self, limit: u32) -> Result<Vec<PendingChange>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, document_id, kind, changes FROM outbox ORDER BY id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(PendingChange {
                    outbox_id: r.get(0)?,
                    document_id: r.get(1)?,
                    kind: r.get(2)?,
                    changes: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Removes changes the server has committed. Only then do they leave the outbox.
    pub fn acknowledge(&self, outbox_ids: &[i64]) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare("DELETE FROM outbox WHERE id = ?1")?;
            for id in outbox_ids {
                stmt.execute([id])?;
            }
            Ok(())
        })
    }

    // ----- offline edits -------------------------------------------------------------------

    /// Accepts a new information sheet (on the doorstep, offline).
    pub fn accept_sheet(&self, input: NewSheet) -> Result<Sheet> {
        self.signed_in(|tx, session| {
            editing::accept_sheet(tx, session, &self.actor, input, self.clock.now())
        })
    }

    /// Records a done follow-up's outcome.
    pub fn record_outcome(&self, follow_up_id: &str, input: OutcomeInput) -> Result<FollowUp> {
        self.signed_in(|tx, session| {
            editing::record_outcome(
                tx,
                session,
                &self.actor,
                follow_up_id,
                input,
                None,
                self.clock.now(),
            )
        })
    }

    /// Records the household's answers to the opinion survey during a visit, offline (R-SUR-2):
    /// checked against the form as the server checks them, they complete the survey follow-up
    /// and travel in its document at the next sync.
    pub fn answer_survey(
        &self,
        follow_up_id: &str,
        answers: Vec<SurveyAnswer>,
    ) -> Result<FollowUp> {
        self.signed_in(|tx, session| {
            editing::answer_survey(
                tx,
                session,
                &self.actor,
                follow_up_id,
                answers,
                self.clock.now(),
            )
        })
    }

    /// Attaches a photo to a sheet or a repair's follow-up, offline (issue #18): its location
    /// is removed, it waits as a blob for the next sync, which uploads it before the change.
    pub fn attach_photo(&self, document_id: &str, input: PhotoInput) -> Result<PhotoRef> {
        self.signed_in(|tx, session| {
            editing::attach_photo(
                tx,
                session,
                &self.actor,
                document_id,
                input,
                self.clock.now(),
            )
        })
    }

    /// A photo's bytes, if this phone holds it (one taken here, or fetched before).
    pub fn photo(&self, blob_sha256: &str) -> Result<Vec<u8>> {
        self.read(|conn| crate::photos::bytes(conn, blob_sha256))
    }

    /// A photo's bytes: this phone's copy, or — for one taken on another phone (what the customer
    /// showed a colleague) — the server's, downloaded once and kept. The server's answer is
    /// checked against the photo's name before it is kept.
    pub fn fetch_photo(&self, transport: &dyn Transport, blob_sha256: &str) -> Result<Vec<u8>> {
        match self.photo(blob_sha256) {
            Err(ClientError::NotFound { .. }) => {}
            held => return held,
        }
        if !huifang_protocol::is_sha256_hex(blob_sha256) {
            return Err(ClientError::invalid(
                "a photo is named by its SHA-256: 64 lowercase hex digits",
            ));
        }
        let session = self.read(session::require)?;
        let path = format!("/api/v1/blobs/{blob_sha256}");
        let bytes = match crate::transport::send(transport, Request::get(&path, &session.token))
            .map_err(ClientError::from)
        {
            Ok(bytes) => bytes,
            Err(ClientError::Wiped) => return Err(self.erase(transport, &session.token)),
            Err(e) => return Err(e),
        };
        crate::photos::check_fetched(blob_sha256, &bytes)?;
        self.write(|tx| {
            crate::photos::keep_fetched(tx, blob_sha256, &bytes, &format_time(self.clock.now()))
        })?;
        Ok(bytes)
    }

    /// Records a failed attempt to reach the customer.
    pub fn record_unreachable(
        &self,
        follow_up_id: &str,
        method: FollowUpMethod,
        note: String,
    ) -> Result<FollowUp> {
        self.signed_in(|tx, session| {
            editing::record_unreachable(
                tx,
                session,
                &self.actor,
                follow_up_id,
                method,
                note,
                self.clock.now(),
            )
        })
    }

    /// Adds a tracking note to a sheet.
    pub fn add_tracking_note(&self, sheet_id: &str, note: String) -> Result<Sheet> {
        self.signed_in(|tx, session| {
            editing::add_tracking_note(tx, session, &self.actor, sheet_id, note, self.clock.now())
        })
    }

    /// The customer signs to confirm a repair; this completes its follow-up with method
    /// on-site signature (R-INF-8), the signature bound to what was signed (D-SIG-1).
    pub fn complete_with_signature(
        &self,
        follow_up_id: &str,
        signature: SignatureInput,
        ratings: Ratings,
        opinions: String,
    ) -> Result<FollowUp> {
        self.signed_in(|tx, session| {
            let now = self.clock.now();
            let blob_sha256 = signature::store_blob(tx, &signature, &format_time(now))?;
            let input = OutcomeInput {
                method: FollowUpMethod::OnSiteSignature,
                ratings,
                opinions,
                done_at: None,
            };
            let signing = Signing {
                blob_sha256,
                signer_name: signature.signer_name.trim().to_owned(),
            };
            editing::record_outcome(
                tx,
                session,
                &self.actor,
                follow_up_id,
                input,
                Some(signing),
                now,
            )
        })
    }

    // ----- reading -------------------------------------------------------------------------

    pub fn sheet(&self, id: &str) -> Result<Sheet> {
        self.read(|conn| Ok(documents::load::<Sheet>(conn, &self.actor, id)?.1))
    }

    pub fn follow_up(&self, id: &str) -> Result<FollowUp> {
        self.read(|conn| Ok(documents::load::<FollowUp>(conn, &self.actor, id)?.1))
    }

    /// The opinion survey form a survey follow-up asks its household, to show it offline: the
    /// version the general manager approved (D-SUR-2).
    pub fn survey_form(&self, follow_up_id: &str) -> Result<SurveyFormRow> {
        self.read(|conn| {
            let (_, follow_up) = documents::load::<FollowUp>(conn, &self.actor, follow_up_id)?;
            editing::survey_form_of(conn, &follow_up)
        })
    }

    /// One follow-up as a task-list row.
    pub fn task(&self, follow_up_id: &str) -> Result<Task> {
        self.read(|conn| queries::task_by_id(conn, follow_up_id, self.clock.now()))
    }

    /// One sheet as a list row.
    pub fn sheet_row(&self, sheet_id: &str) -> Result<SheetRow> {
        self.read(|conn| queries::sheet_row_by_id(conn, sheet_id))
    }

    pub fn tasks_due(&self, now: DateTime<Utc>) -> Result<Vec<Task>> {
        self.read(|conn| queries::tasks_due(conn, &session::require(conn)?, now))
    }

    /// Open tasks by community and building, for planning a round of visits.
    pub fn tasks_by_building(&self, now: DateTime<Utc>) -> Result<Vec<BuildingTasks>> {
        self.read(|conn| queries::tasks_by_building(conn, &session::require(conn)?, now))
    }

    /// A household's follow-up file: its sheets and follow-ups.
    pub fn household_history(&self, household_id: i64) -> Result<HouseholdHistory> {
        self.read(|conn| {
            queries::household_history(conn, household_id, self.clock.now())?
                .ok_or_else(|| ClientError::not_found(format!("household {household_id}")))
        })
    }

    pub fn search(&self, text: &str) -> Result<SearchResults> {
        if text.chars().count() > 100 {
            return Err(ClientError::invalid(
                "search text must have at most 100 characters",
            ));
        }
        self.read(|conn| queries::search(conn, text))
    }

    pub fn badge_counts(&self, now: DateTime<Utc>) -> Result<BadgeCounts> {
        self.read(|conn| queries::badges(conn, &session::require(conn)?, now))
    }

    // ----- signatures ----------------------------------------------------------------------

    /// Whether a follow-up's signature still matches the content it was given for.
    pub fn verify_signature(&self, follow_up_id: &str) -> Result<SignatureCheck> {
        self.read(|conn| {
            let (_, follow_up) = documents::load::<FollowUp>(conn, &self.actor, follow_up_id)?;
            let sheet = match &follow_up.sheet_id {
                Some(id) => match documents::load::<Sheet>(conn, &self.actor, id) {
                    Ok((_, sheet)) => Some(sheet),
                    Err(ClientError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            signature::verify(conn, sheet.as_ref(), &follow_up)
        })
    }

    pub fn signature_svg(&self, blob_sha256: &str) -> Result<String> {
        self.read(|conn| signature::svg(conn, blob_sha256))
    }

    pub fn signature_png(&self, blob_sha256: &str, width: u32) -> Result<Vec<u8>> {
        self.read(|conn| signature::png(conn, blob_sha256, width))
    }

    /// Bytes on disk per stored document (snapshot and chunks), for the size budget.
    pub fn stored_bytes(&self, id: &str) -> Result<u64> {
        self.read(|conn| {
            let size: Option<i64> = conn.query_row(
                "SELECT length(snapshot) + COALESCE((SELECT SUM(length(bytes)) FROM document_chunks WHERE document_id = ?1), 0)
                 FROM documents WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            size.map(|s| s as u64).ok_or_else(|| ClientError::not_found(format!("document {id}")))
        })
    }
}

fn pending_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Deletes every trace of the signed-in user's work and scope.
fn wipe(tx: &Transaction<'_>) -> Result<()> {
    for table in [
        "outbox",
        "sheets",
        "follow_ups",
        "document_chunks",
        "documents",
        "blobs",
        "customers",
        "households",
        "staff",
        "units",
        "session",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

impl ClientStore {
    /// Signs in to the server with a username and password, then keeps the session on this
    /// phone ([`crate::ClientStore::sign_in`]). The password is sent once and never stored.
    pub fn log_in(
        &self,
        transport: &crate::HttpTransport,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session> {
        self.log_in_through(
            transport,
            transport.server_url(),
            username,
            password,
            device_name,
        )
    }

    /// [`crate::ClientStore::log_in`] through any transport to `server_url`.
    pub fn log_in_through(
        &self,
        transport: &dyn crate::Transport,
        server_url: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session> {
        if username.trim().is_empty() || password.is_empty() {
            return Err(ClientError::invalid("enter a username and a password"));
        }
        let body = serde_json::json!({
            "username": username,
            "password": password,
            "device_name": device_name,
        })
        .to_string();
        let answer = crate::transport::send(
            transport,
            crate::Request::post(
                "/api/v1/auth/login",
                None,
                "application/json",
                body.as_bytes(),
            ),
        )?;
        let unreadable = |e: serde_json::Error| ClientError::ServerRefused {
            reason: format!("unreadable answer: {e}"),
        };
        let login: LoginAnswer = serde_json::from_slice(&answer).map_err(unreadable)?;
        let answer = crate::transport::send(
            transport,
            crate::Request::get("/api/v1/auth/me", &login.token),
        )?;
        let me: MeAnswer = serde_json::from_slice(&answer).map_err(unreadable)?;
        let session = Session {
            server_url: server_url.trim_end_matches('/').to_owned(),
            token: login.token,
            staff_id: me.staff.id,
            username: me.staff.username,
            name: me.staff.name,
            role: me.staff.role,
            unit_id: me.staff.unit_id,
            work_units: me.work_units,
            time_zone: me.time_zone,
        };
        self.sign_in(session.clone())?;
        Ok(session)
    }
}
