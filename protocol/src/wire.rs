//! The sync wire protocol (version [`SYNC_VERSION`]): one request from a device, one answer from
//! the server, both CBOR (`ciborium`) compressed with gzip (`flate2`).
//!
//! A device sends its cursor (the change sequence it has everything up to) and its pending local
//! changes per document; the server answers with which of those it committed, per-document
//! rejections with reasons, the documents in the device's scope that changed after the cursor (a
//! page at a time), the documents that left its scope, and the new cursor.

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::document::DocumentKind;

/// The protocol version this code speaks.
pub const SYNC_VERSION: u32 = 1;
/// The largest compressed body either side accepts.
pub const MAX_COMPRESSED_BYTES: usize = 16 * 1024 * 1024;
/// The largest body after decompression (a gzip bomb stops here).
pub const MAX_DECOMPRESSED_BYTES: usize = 64 * 1024 * 1024;
/// The largest sync request, compressed or not. A phone sends its pending changes in requests
/// that stay under it (a document's changes are a few KB); the bound keeps what one request
/// makes the server hold and parse small (see the bomb benchmark).
pub const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;
/// The most documents one response page carries.
pub const MAX_PAGE: u32 = 2_000;

/// The status the server answers a device's token with when the device was reported lost and
/// must erase itself (#18): 410 Gone, on every authenticated route, sync and the live channel
/// alike, and never for anything else. The device erases its store, then confirms at
/// [`WIPE_CONFIRMATION_PATH`] with the same token.
pub const WIPE_STATUS: u16 = 410;
/// Where a device confirms that it erased itself (POST, its token as bearer).
pub const WIPE_CONFIRMATION_PATH: &str = "/api/v1/auth/wiped";

/// The device's half of a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub version: u32,
    /// The device has every change in its scope up to this sequence number (0 for a new device).
    pub cursor: i64,
    /// Pending local changes, oldest first, at most one entry per document.
    pub changes: Vec<OutgoingChanges>,
    /// Most documents wanted in the answer; the rest come in the next page.
    pub page_size: u32,
    /// The version of the reference rows the device holds (`None`: none yet).
    #[serde(default)]
    pub reference_version: Option<String>,
    /// The scope the device's documents were synced for (`SyncResponse::scope_version`).
    #[serde(default)]
    pub scope_version: Option<String>,
    /// The phone's state, sent with the first request of each sync (absent from apps before
    /// it existed).
    #[serde(default)]
    pub device: Option<DeviceReport>,
}

/// What a phone says of itself with each sync (#18), so head office and unit heads see per phone
/// when it last synced, what it holds unsynced and which app it runs — whom to call before a
/// 24-hour deadline passes — and the server can require a newer app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    /// The app's version, dotted numbers (`1.4.2`).
    pub app_version: String,
    /// The version of the phone store's schema.
    pub schema_version: u32,
    /// When the phone last finished a sync (RFC 3339), if ever.
    pub last_synced_at: Option<String>,
    /// Documents with local changes not yet acknowledged by the server.
    pub pending_changes: u32,
    /// When the oldest of them was made.
    pub oldest_pending_at: Option<String>,
    /// Follow-ups done on the phone whose outcome has not reached the server, at most
    /// [`MAX_DONE_ON_PHONE`].
    pub done_on_phone: Vec<DoneOnPhone>,
}

/// A follow-up recorded on the phone and not yet synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneOnPhone {
    pub follow_up_id: String,
    /// When it was done, as recorded on the phone (RFC 3339).
    pub done_at: String,
}

/// Most follow-ups a device report lists as done on the phone.
pub const MAX_DONE_ON_PHONE: usize = 1_000;

impl DeviceReport {
    /// The shape a server relies on: a version of dotted numbers, times it can read, bounded
    /// lists of well-formed ids.
    pub fn check(&self) -> Result<(), String> {
        if app_version(&self.app_version).is_none() {
            return Err(format!(
                "device.app_version must be dotted numbers such as 1.4.2, not {:?}",
                self.app_version.chars().take(40).collect::<String>()
            ));
        }
        for (field, time) in [
            ("device.last_synced_at", &self.last_synced_at),
            ("device.oldest_pending_at", &self.oldest_pending_at),
        ] {
            if let Some(time) = time {
                crate::parse_time(field, time)?;
            }
        }
        if self.done_on_phone.len() > MAX_DONE_ON_PHONE {
            return Err(format!(
                "device.done_on_phone lists at most {MAX_DONE_ON_PHONE} follow-ups"
            ));
        }
        for done in &self.done_on_phone {
            crate::check_document_id(&done.follow_up_id)
                .map_err(|e| format!("device.done_on_phone.follow_up_id: {e}"))?;
            crate::parse_time("device.done_on_phone.done_at", &done.done_at)?;
        }
        Ok(())
    }
}

/// An app version's numbers (`1.4.2` → `[1, 4, 2]`), compared number by number; `None` for
/// anything else (at most four numbers).
pub fn app_version(text: &str) -> Option<Vec<u32>> {
    let numbers: Option<Vec<u32>> = text.split('.').map(|n| n.parse().ok()).collect();
    numbers.filter(|n| (1..=4).contains(&n.len()) && text.len() <= 32)
}

/// Automerge changes a device made to one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingChanges {
    pub document_id: String,
    pub kind: DocumentKind,
    /// Automerge changes (a saved document or incremental saves, concatenated).
    #[serde(with = "serde_bytes")]
    pub changes: Vec<u8>,
}

/// The server's half of a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub version: u32,
    /// Documents whose changes from this request are now part of the server's copy; the device
    /// may drop them from its outbox.
    pub committed: Vec<String>,
    /// Per-document notices: changes refused, with the fields and reasons.
    pub rejections: Vec<Rejection>,
    /// Documents in scope that changed after the request's cursor (whole, compacted).
    pub documents: Vec<IncomingDocument>,
    /// Documents that left the device's scope (reassigned away): purge once nothing is pending.
    pub removed: Vec<String>,
    /// The cursor to send next time.
    pub cursor: i64,
    /// More documents are waiting: sync again at once with the new cursor.
    pub more: bool,
    /// Fresh reference rows, when the device's version is not the current one.
    #[serde(default)]
    pub reference: Option<ReferenceRows>,
    /// The scope this answer was made for: who the staff member is, in which role and units. The
    /// device sends it back next time.
    #[serde(default)]
    pub scope_version: Option<String>,
    /// Sent when the scope changed since the device's last sync (a move to another unit, a new
    /// role): every document now in scope. The device purges what is not listed (once nothing of
    /// it is pending) and receives the rest from the start, page by page.
    #[serde(default)]
    pub in_scope: Option<Vec<String>>,
}

/// The registry rows of the device's scope, for looking things up offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRows {
    pub version: String,
    pub units: Vec<crate::Unit>,
    pub staff: Vec<crate::StaffMember>,
    pub households: Vec<crate::Household>,
    /// The opinion survey forms taking answers, so a phone shows and checks them offline.
    #[serde(default)]
    pub survey_forms: Vec<SurveyFormRow>,
}

/// An opinion survey form taking answers (distributed, not closed), as a phone needs it: the
/// version the general manager approved (D-SUR-2) and its questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyFormRow {
    pub id: i64,
    pub approved_sha256: String,
    pub content: crate::SurveyContent,
}

/// A document as the server has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingDocument {
    pub document_id: String,
    pub kind: DocumentKind,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// The document's list row as the server stored it with these bytes ([`crate::DocumentListing`],
    /// encoded), so a phone that does not hold the document yet stores both without reading the
    /// bytes. Absent for documents stored before rows were kept.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes")]
    pub listing: Option<Vec<u8>>,
}

/// Why (part of) a device's changes did not stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub document_id: String,
    /// The fields the review refused (empty when the bytes themselves were refused).
    pub fields: Vec<String>,
    pub reason: String,
    /// `true`: none of the changes were taken (a document's changes are taken whole or not at
    /// all): keep them for their owner to see and take the server's copy.
    pub refused: bool,
    /// How the review judged them (as the API would answer: 409, 403, 422); `None` when the
    /// bytes themselves were not acceptable or the document is outside the sender's scope.
    #[serde(default)]
    pub kind: Option<crate::RefusalKind>,
}

/// The largest blob (a photo; a customer's signature strokes are far smaller) a device may upload.
pub const MAX_BLOB_BYTES: usize = crate::photo::MAX_PHOTO_BYTES;
/// The size of the parts a blob is uploaded in, so a cut line costs at most one part.
pub const BLOB_PART_BYTES: usize = 512 * 1024;

/// How far a blob's upload has got (`POST /api/v1/blobs/{sha256}?offset=&total=` answers it,
/// `GET /api/v1/blobs/{sha256}/upload` tells it): the next part starts at `received`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobUploadStatus {
    pub received: u64,
    pub total: Option<u64>,
    pub complete: bool,
}

impl BlobUploadStatus {
    /// The blob is on the server, whole.
    pub fn complete(size: u64) -> Self {
        BlobUploadStatus {
            received: size,
            total: Some(size),
            complete: true,
        }
    }
}

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the body is not gzip-compressed CBOR: {0}")]
    Malformed(String),
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error(
        "sync protocol version {found} is not supported (this side speaks {SYNC_VERSION}): update the app"
    )]
    Version { found: u32 },
}

/// Serialises and compresses a message.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let mut cbor = Vec::new();
    ciborium::into_writer(message, &mut cbor).map_err(|e| WireError::Malformed(e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&cbor)
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    gz.finish().map_err(|e| WireError::Malformed(e.to_string()))
}

/// Decompresses (within [`MAX_DECOMPRESSED_BYTES`]) and deserialises a message (a device reading
/// the server's answer).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    decode_within(body, MAX_COMPRESSED_BYTES, MAX_DECOMPRESSED_BYTES)
}

/// Decodes a device's sync request within [`MAX_REQUEST_BYTES`], compressed and decompressed.
pub fn decode_request(body: &[u8]) -> Result<SyncRequest, WireError> {
    decode_within(body, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES)
}

fn decode_within<T: DeserializeOwned>(
    body: &[u8],
    max_compressed: usize,
    max_decompressed: usize,
) -> Result<T, WireError> {
    if body.len() > max_compressed {
        return Err(WireError::TooLarge {
            limit: max_compressed,
        });
    }
    let mut cbor = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(max_decompressed as u64 + 1)
        .read_to_end(&mut cbor)
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    if cbor.len() > max_decompressed {
        return Err(WireError::TooLarge {
            limit: max_decompressed,
        });
    }
    // ciborium reads nested arrays and maps recursively up to its own depth limit (256) and
    // allocates no more than the input holds, so bounded input gives bounded work.
    ciborium::from_reader(cbor.as_slice()).map_err(|e| WireError::Malformed(e.to_string()))
}

impl SyncRequest {
    /// Checks the version and the shape a server relies on.
    pub fn check(&self) -> Result<(), WireError> {
        if self.version != SYNC_VERSION {
            return Err(WireError::Version {
                found: self.version,
            });
        }
        if let Some(device) = &self.device {
            device.check().map_err(WireError::Malformed)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SyncRequest {
        SyncRequest {
            version: SYNC_VERSION,
            cursor: 42,
            changes: vec![OutgoingChanges {
                document_id: "a".repeat(32),
                kind: DocumentKind::Sheet,
                changes: vec![1, 2, 3],
            }],
            page_size: 500,
            reference_version: None,
            scope_version: None,
            device: None,
        }
    }

    #[test]
    fn messages_round_trip_compressed() {
        let bytes = encode(&request()).unwrap();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
        assert_eq!(decode::<SyncRequest>(&bytes).unwrap(), request());
    }

    #[test]
    fn garbage_bombs_and_versions_are_refused() {
        assert!(matches!(
            decode::<SyncRequest>(b"hello"),
            Err(WireError::Malformed(_))
        ));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; MAX_DECOMPRESSED_BYTES + 10])
            .unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1024 * 1024);
        assert!(matches!(
            decode::<SyncRequest>(&bomb),
            Err(WireError::TooLarge { .. })
        ));
        let old = SyncRequest {
            version: 0,
            ..request()
        };
        assert!(matches!(old.check(), Err(WireError::Version { found: 0 })));
    }

    /// #18: a device report is checked before the server keeps it; versions compare by number.
    #[test]
    fn a_device_report_is_well_formed_or_refused() {
        let good = DeviceReport {
            app_version: "2.10.1".into(),
            schema_version: 5,
            last_synced_at: Some("2026-11-30T08:00:00.000Z".into()),
            pending_changes: 2,
            oldest_pending_at: Some("2026-11-30T09:00:00.000Z".into()),
            done_on_phone: vec![DoneOnPhone {
                follow_up_id: "b".repeat(32),
                done_at: "2026-11-30T09:00:00.000Z".into(),
            }],
        };
        assert_eq!(good.check(), Ok(()));
        assert!(
            app_version("2.10.1") > app_version("2.9.9"),
            "numbers, not text"
        );
        assert_eq!(app_version("2.3"), Some(vec![2, 3]));
        for bad in ["", "v2", "2..3", "1.2.3.4.5", "1.-2", "１.２"] {
            assert_eq!(app_version(bad), None, "{bad}");
        }
        let refused = |report: DeviceReport| report.check().unwrap_err();
        assert!(
            refused(DeviceReport {
                app_version: "latest".into(),
                ..good.clone()
            })
            .contains("app_version")
        );
        assert!(
            refused(DeviceReport {
                last_synced_at: Some("yesterday".into()),
                ..good.clone()
            })
            .contains("last_synced_at")
        );
        assert!(
            refused(DeviceReport {
                done_on_phone: vec![DoneOnPhone {
                    follow_up_id: "x".into(),
                    done_at: "2026-11-30T09:00:00.000Z".into()
                }],
                ..good.clone()
            })
            .contains("follow_up_id")
        );
        assert!(
            refused(DeviceReport {
                done_on_phone: vec![good.done_on_phone[0].clone(); MAX_DONE_ON_PHONE + 1],
                ..good.clone()
            })
            .contains("at most")
        );
        let request = SyncRequest {
            device: Some(DeviceReport {
                app_version: "x".into(),
                ..good
            }),
            ..request()
        };
        assert!(matches!(request.check(), Err(WireError::Malformed(_))));
    }
}
