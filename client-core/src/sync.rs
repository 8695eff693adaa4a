//! The device's half of sync: send the outbox, merge what the server sends back, page after page.
//! A local change leaves the outbox only when the server reports it committed, so a lost
//! response just means the same changes are sent again (the server ignores what it has).

use std::collections::BTreeMap;
use std::time::Instant;

use huifang_protocol::{
    BlobUploadStatus, DeviceReport, DocumentKind, DoneOnPhone, MAX_DONE_ON_PHONE, MAX_PAGE,
    MAX_REQUEST_BYTES, OutgoingChanges, SYNC_VERSION, SyncRequest, SyncResponse, decode_message,
    encode_message, format_time,
};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::{ClientError, Result};
use crate::store::ClientStore;
use crate::transport::{Request, Transport, TransportError};

/// The sync endpoint, relative to the server URL.
pub const SYNC_ENDPOINT: &str = "/api/v1/sync";
/// The content type of sync bodies (gzip-compressed CBOR).
const SYNC_CONTENT_TYPE: &str = "application/vnd.huifang.sync+cbor";

/// What one `sync_now` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Documents whose local changes were sent.
    pub sent: u32,
    /// Of those, committed by the server.
    pub committed: u32,
    /// Documents received (new or changed).
    pub received: u32,
    /// Documents purged because they left this staff member's scope.
    pub removed: u32,
    /// Per-document notices. Refused changes are kept in `refused_changes`.
    pub rejected: Vec<SyncNotice>,
    pub pages: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub duration_ms: u64,
}

/// Why (part of) a local change to one document did not stand on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncNotice {
    pub document_id: String,
    pub reason: String,
}

/// Local changes the server refused, kept so the person who typed them can see what did not
/// stand and why (the phone's copy of the document is then the server's).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RefusedChange {
    pub document_id: String,
    /// `sheet` or `follow_up`.
    pub kind: String,
    pub reason: String,
    pub refused_at: String,
}

/// Progress of a long (first) sync, after each page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncProgress {
    pub pages: u32,
    pub received: u32,
}

fn meta(conn: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn cursor(conn: &rusqlite::Connection) -> Result<i64> {
    Ok(meta(conn, "cursor")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Most documents the server takes per request.
const MAX_DOCUMENTS_PER_REQUEST: usize = 1_000;

/// Takes the next request's worth of pending changes: at most [`MAX_DOCUMENTS_PER_REQUEST`]
/// documents and a body within the server's limit; the rest go in the next request of the same
/// sync.
fn next_batch(pending: &mut Vec<OutgoingChanges>) -> Vec<OutgoingChanges> {
    let budget = MAX_REQUEST_BYTES - 64 * 1024;
    let mut bytes = 0;
    let mut take = 0;
    for change in pending.iter() {
        if take == MAX_DOCUMENTS_PER_REQUEST || (take > 0 && bytes + change.changes.len() > budget)
        {
            break;
        }
        bytes += change.changes.len();
        take += 1;
    }
    pending.drain(..take).collect()
}

impl ClientStore {
    /// Syncs now: sends pending changes, receives everything new in scope (in pages).
    pub fn sync_now(&self, transport: &dyn Transport) -> Result<SyncReport> {
        self.sync_with_progress(transport, &|_| {})
    }

    /// [`ClientStore::sync_now`], calling `progress` after each page of a long first sync. A
    /// phone reported lost is erased when the server says so ([`ClientError::Wiped`]).
    pub fn sync_with_progress(
        &self,
        transport: &dyn Transport,
        progress: &dyn Fn(SyncProgress),
    ) -> Result<SyncReport> {
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        match self.sync_pages(transport, progress, &session) {
            Err(ClientError::Wiped) => Err(self.erase(transport, &session.token)),
            result => result,
        }
    }

    fn sync_pages(
        &self,
        transport: &dyn Transport,
        progress: &dyn Fn(SyncProgress),
        session: &crate::Session,
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        // The outbox as it is now, one entry per document: its changes concatenated in order.
        let pending = self.pending_changes(u32::MAX)?;
        let mut by_document: BTreeMap<String, (DocumentKind, Vec<u8>, i64)> = BTreeMap::new();
        for change in pending {
            let kind: DocumentKind = change.kind.parse().map_err(|e| ClientError::Corrupt {
                reason: format!("outbox: {e}"),
            })?;
            let entry = by_document
                .entry(change.document_id)
                .or_insert((kind, Vec::new(), 0));
            entry.1.extend_from_slice(&change.changes);
            entry.2 = entry.2.max(change.outbox_id);
        }
        let mut changes: Vec<OutgoingChanges> = by_document
            .iter()
            .map(|(id, (kind, bytes, _))| OutgoingChanges {
                document_id: id.clone(),
                kind: *kind,
                changes: bytes.clone(),
            })
            .collect();
        report.sent = changes.len() as u32;
        // Signatures first, so the server holds every blob its documents refer to.
        report.bytes_sent += self.upload_blobs(transport, &session.token)?;
        let page_size = self.sync_page_size.min(MAX_PAGE);
        let post = |body: &[u8]| -> Result<Vec<u8>> {
            Ok(crate::transport::send(
                transport,
                Request::post(SYNC_ENDPOINT, Some(&session.token), SYNC_CONTENT_TYPE, body),
            )?)
        };
        std::thread::scope(|scope| -> Result<()> {
            // The next page, asked for while this one is stored (see below).
            let mut next_page: Option<std::thread::ScopedJoinHandle<'_, Result<Vec<u8>>>> = None;
            loop {
                let request = SyncRequest {
                    reference_version: self.read(|conn| meta(conn, "reference_version"))?,
                    version: SYNC_VERSION,
                    cursor: self.read(cursor)?,
                    changes: Vec::new(),
                    scope_version: self.read(|conn| meta(conn, "scope_version"))?,
                    page_size,
                    device: Some(self.device_report()?),
                };
                let answer = match next_page.take() {
                    Some(fetching) => fetching.join().map_err(|_| ClientError::Offline {
                        reason: "fetching the next page stopped".into(),
                    })??,
                    None => {
                        let request = SyncRequest {
                            changes: next_batch(&mut changes),
                            ..request.clone()
                        };
                        let body = encode_message(&request)
                            .map_err(|e| ClientError::invalid(e.to_string()))?;
                        report.bytes_sent += body.len() as u64;
                        post(&body)?
                    }
                };
                report.bytes_received += answer.len() as u64;
                let response: SyncResponse =
                    decode_message(&answer).map_err(|e| ClientError::ServerRefused {
                        reason: format!("unreadable answer: {e}"),
                    })?;
                // With nothing left to send and more to receive, the next request is known from
                // this answer alone (its cursor, and the scope and reference versions it sets):
                // it goes out now, so the server and the network work while this page is stored.
                // A request without changes reads only, so an answer dropped by an error here
                // costs nothing.
                if response.more && changes.is_empty() {
                    let next = SyncRequest {
                        cursor: response.cursor,
                        reference_version: response
                            .reference
                            .as_ref()
                            .map(|r| r.version.clone())
                            .or(request.reference_version.clone()),
                        scope_version: response
                            .scope_version
                            .clone()
                            .or(request.scope_version.clone()),
                        ..request
                    };
                    let body =
                        encode_message(&next).map_err(|e| ClientError::invalid(e.to_string()))?;
                    report.bytes_sent += body.len() as u64;
                    next_page = Some(scope.spawn(move || post(&body)));
                }
                self.apply_response(&response, &by_document, &mut report)?;
                report.pages += 1;
                progress(SyncProgress {
                    pages: report.pages,
                    received: report.received,
                });
                if !response.more && changes.is_empty() {
                    return Ok(());
                }
            }
        })?;
        let finished = format_time(self.now());
        self.write(|tx| set_meta(tx, "last_synced_at", &finished))?;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// What this phone says of itself with each sync request: the app and schema versions, its
    /// last finished sync, what waits in the outbox and since when, and the follow-ups done here
    /// whose outcome has not reached the server (so a supervisor sees "done on the phone, not yet
    /// synced" rather than a missed deadline).
    fn device_report(&self) -> Result<DeviceReport> {
        self.read(|conn| {
            let (pending_changes, oldest_pending_at): (i64, Option<String>) = conn.query_row(
                "SELECT COUNT(DISTINCT document_id), MIN(created_at) FROM outbox",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let mut done = conn.prepare(
                "SELECT f.id, f.done_at FROM follow_ups f
                 WHERE f.done_at IS NOT NULL
                   AND EXISTS (SELECT 1 FROM outbox o WHERE o.document_id = f.id)
                 ORDER BY f.done_at LIMIT ?1",
            )?;
            let done_on_phone = done
                .query_map([MAX_DONE_ON_PHONE as i64], |row| {
                    Ok(DoneOnPhone {
                        follow_up_id: row.get(0)?,
                        done_at: row.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(DeviceReport {
                app_version: self.app_version.clone(),
                schema_version: crate::schema::VERSION,
                last_synced_at: meta(conn, "last_synced_at")?,
                pending_changes: u32::try_from(pending_changes).unwrap_or(u32::MAX),
                oldest_pending_at,
                done_on_phone,
            })
        })
    }

    /// The changes the server refused, newest first: what the app shows its user.
    pub fn refused_changes(&self) -> Result<Vec<RefusedChange>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT document_id, kind, reason, refused_at FROM refused_changes ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(RefusedChange {
                    document_id: r.get(0)?,
                    kind: r.get(1)?,
                    reason: r.get(2)?,
                    refused_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Waits on the server's live channel and calls `on_work` whenever something new arrived in
    /// this staff member's scope (then the app syncs). Returns when `on_work` returns `false` or
    /// the connection ends; the app calls it again from its background thread. A phone reported
    /// lost is erased when the server says so ([`ClientError::Wiped`]).
    pub fn listen_for_work(
        &self,
        transport: &crate::HttpTransport,
        on_work: &dyn Fn() -> bool,
    ) -> Result<()> {
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        let cursor = self.read(cursor)?;
        match transport.listen_for_work(&session.token, cursor, &|_| on_work()) {
            Ok(()) => Ok(()),
            Err(e) => match ClientError::from(e) {
                ClientError::Wiped => Err(self.erase(transport, &session.token)),
                e => Err(e),
            },
        }
    }

    /// Uploads the blobs (signatures, photos) the server does not have yet, part by part; an upload cut off
    /// midway goes on where the server says it got to. Returns the bytes sent.
    fn upload_blobs(&self, transport: &dyn Transport, token: &str) -> Result<u64> {
        let pending: Vec<String> = self.read(|conn| {
            let mut stmt = conn.prepare("SELECT sha256 FROM blobs WHERE uploaded = 0")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        let mut sent = 0;
        for hash in pending {
            let bytes: Vec<u8> = self.read(|conn| {
                Ok(
                    conn.query_row("SELECT bytes FROM blobs WHERE sha256 = ?1", [&hash], |r| {
                        r.get(0)
                    })?,
                )
            })?;
            sent += upload_blob(transport, token, &hash, &bytes, self.blob_part_bytes)?;
            self.write(|tx| {
                Ok(tx.execute("UPDATE blobs SET uploaded = 1 WHERE sha256 = ?1", [&hash])?)
            })?;
        }
        Ok(sent)
    }

    fn apply_response(
        &self,
        response: &SyncResponse,
        sent: &BTreeMap<String, (DocumentKind, Vec<u8>, i64)>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let now = format_time(self.now());
        self.write(|tx| {
            for id in &response.committed {
                if let Some((_, _, last)) = sent.get(id) {
                    tx.execute("DELETE FROM outbox WHERE document_id = ?1 AND id <= ?2", params![id, last])?;
                    report.committed += 1;
                }
            }
            for rejection in &response.rejections {
                report.rejected.push(SyncNotice {
                    document_id: rejection.document_id.clone(),
                    reason: rejection.reason.clone(),
                });
                if !rejection.refused {
                    continue;
                }
                // The server took none of this document's changes. Every pending change of it
                // (also any made while this sync ran, which build on the refused ones) is kept
                // where its owner sees it, and the phone's copy gives way to the server's, which
                // comes in this answer when this staff member may still hold the document.
                if sent.contains_key(&rejection.document_id) {
                    tx.execute(
                        "INSERT INTO refused_changes (document_id, kind, changes, reason, refused_at)
                         SELECT document_id, kind, changes, ?2, ?3 FROM outbox WHERE document_id = ?1 ORDER BY id",
                        params![rejection.document_id, rejection.reason, now],
                    )?;
                    tx.execute("DELETE FROM outbox WHERE document_id = ?1", [&rejection.document_id])?;
                    crate::projections::forget(tx, &rejection.document_id)?;
                }
            }
            for document in &response.documents {
                crate::projections::receive(
                    tx,
                    &document.document_id,
                    document.kind,
                    &document.bytes,
                    document.listing.as_deref(),
                    &now,
                )?;
                report.received += 1;
            }
            for id in &response.removed {
                let pending: i64 = tx.query_row("SELECT COUNT(*) FROM outbox WHERE document_id = ?1", [id], |r| r.get(0))?;
                if pending == 0 {
                    crate::projections::forget(tx, id)?;
                    report.removed += 1;
                }
            }
            // The staff member's scope changed (another unit, another role): what is no longer
            // theirs goes, unless something of it is still to be sent.
            if let Some(in_scope) = &response.in_scope {
                let keep: std::collections::HashSet<&str> =
                    in_scope.iter().map(String::as_str).collect();
                let held: Vec<String> = {
                    let mut stmt = tx.prepare(
                        "SELECT id FROM documents WHERE id NOT IN (SELECT document_id FROM outbox)",
                    )?;
                    let rows = stmt.query_map([], |r| r.get(0))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for id in held.iter().filter(|id| !keep.contains(id.as_str())) {
                    crate::projections::forget(tx, id)?;
                    report.removed += 1;
                }
            }
            if let Some(version) = &response.scope_version {
                set_meta(tx, "scope_version", version)?;
            }
            if let Some(reference) = &response.reference {
                let data = crate::ReferenceData {
                    units: reference.units.clone(),
                    staff: reference.staff.clone(),
                    households: reference.households.clone(),
                    survey_forms: reference.survey_forms.clone(),
                };
                crate::reference::replace(tx, &data)?;
                set_meta(tx, "reference_version", &reference.version)?;
            }
            set_meta(tx, "cursor", &response.cursor.to_string())?;
            Ok(())
        })
    }
}

fn upload_status(answer: &[u8]) -> Result<BlobUploadStatus> {
    serde_json::from_slice(answer).map_err(|e| ClientError::ServerRefused {
        reason: format!("unreadable upload status: {e}"),
    })
}

/// Sends one blob from wherever the server's copy ends. Returns the bytes sent.
fn upload_blob(
    transport: &dyn Transport,
    token: &str,
    hash: &str,
    bytes: &[u8],
    part_bytes: usize,
) -> Result<u64> {
    let total = bytes.len();
    let mut offset = 0;
    let mut sent = 0;
    // Each round either moves on by a part or learns where to go on; more rounds than that
    // means the server keeps contradicting itself.
    let mut rounds_left = 2 * total.div_ceil(part_bytes) + 4;
    while rounds_left > 0 {
        rounds_left -= 1;
        let end = (offset + part_bytes).min(total);
        let path = format!("/api/v1/blobs/{hash}?offset={offset}&total={total}");
        let part = &bytes[offset..end];
        match crate::transport::send(
            transport,
            Request::post(&path, Some(token), "application/octet-stream", part),
        ) {
            Ok(answer) => {
                sent += part.len() as u64;
                let status = upload_status(&answer)?;
                if status.complete {
                    return Ok(sent);
                }
                offset = status.received as usize;
            }
            Err(TransportError::Rejected { status: 409, .. }) => {
                let answer = crate::transport::send(
                    transport,
                    Request::get(&format!("/api/v1/blobs/{hash}/upload"), token),
                )?;
                let status = upload_status(&answer)?;
                if status.complete {
                    return Ok(sent);
                }
                // Where the server's copy ends (0 if it has none, or a different total).
                offset = match status.total {
                    Some(t) if t as usize == total => status.received as usize,
                    _ => 0,
                };
            }
            Err(error) => return Err(error.into()),
        }
        if offset > total {
            offset = 0;
        }
    }
    Err(ClientError::ServerRefused {
        reason: format!("the upload of signature {hash} does not make progress"),
    })
}

fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
