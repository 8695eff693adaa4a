//! What every document kind shares: ids, times, the schema version, and the mapping between a
//! Rust value and its Automerge document (autosurgeon `reconcile` / `hydrate`).

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::labels::labelled_enum;

/// The schema version this code writes. A document with a higher version comes from newer code:
/// it is refused with [`DocumentError::TooNew`] rather than silently mangled.
pub const SCHEMA_VERSION: u64 = 1;

/// The two kinds of synced document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// 客户信息单, form COP7.4-1.
    Sheet,
    /// 回访记录.
    FollowUp,
}

labelled_enum!(DocumentKind {
    Sheet => ("sheet", "客户信息单", "Customer information sheet"),
    FollowUp => ("follow_up", "回访记录", "Follow-up"),
});

/// Why document bytes or a document value are not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the document bytes are not a valid Automerge document: {0}")]
    Corrupt(#[from] automerge::AutomergeError),
    #[error("the document does not have the shape of a {kind}: {source}")]
    Shape {
        kind: DocumentKind,
        #[source]
        source: autosurgeon::HydrateError,
    },
    #[error("cannot write the document: {0}")]
    Write(#[from] autosurgeon::ReconcileError),
    #[error("the document has schema version {found}, newer than {supported}: update the app")]
    TooNew { found: u64, supported: u64 },
}

/// A document kind: a Rust type mapped onto an Automerge document.
pub trait Document: Reconcile + Hydrate + Clone + PartialEq + Sized {
    const KIND: DocumentKind;

    fn id(&self) -> &str;
    fn schema_version(&self) -> u64;
    /// Brings a document written by older code up to [`SCHEMA_VERSION`].
    fn upgrade(&mut self);

    /// Reads a document from its Automerge form, upgrading older versions.
    fn hydrate_from(doc: &AutoCommit) -> Result<Self, DocumentError> {
        let mut value: Self = autosurgeon::hydrate(doc).map_err(|source| DocumentError::Shape {
            kind: Self::KIND,
            source,
        })?;
        if value.schema_version() > SCHEMA_VERSION {
            return Err(DocumentError::TooNew {
                found: value.schema_version(),
                supported: SCHEMA_VERSION,
            });
        }
        value.upgrade();
        Ok(value)
    }

    /// Loads saved Automerge bytes and reads the document.
    fn load(bytes: &[u8]) -> Result<(AutoCommit, Self), DocumentError> {
        let doc = AutoCommit::load(bytes)?;
        let value = Self::hydrate_from(&doc)?;
        Ok((doc, value))
    }

    /// Writes this value into `doc`, changing only what differs, so concurrent edits merge.
    fn reconcile_into(&self, doc: &mut AutoCommit) -> Result<(), DocumentError> {
        autosurgeon::reconcile(doc, self)?;
        Ok(())
    }
}

/// A new random document id, as [`check_document_id`] wants it: the phone and the server make
/// them the same way, so either can create a document offline without asking the other.
pub fn new_document_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

/// A document id: 32 lowercase hex digits (128 random bits), made by whoever creates the
/// document, so a phone can create one offline.
pub fn check_document_id(id: &str) -> Result<(), String> {
    if id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!(
            "document id {id:?} must be 32 lowercase hex digits"
        ))
    }
}

/// Formats a time as documents store it: UTC RFC 3339 with milliseconds.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as a person reads it: `YYYY-MM-DD HH:MM` in the company's time zone. Wire formats and
/// storage stay UTC ([`format_time`]); notifications, task lists and pages show this.
pub fn local_time<Tz: chrono::TimeZone>(time: DateTime<Utc>, time_zone: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    time.with_timezone(time_zone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// As [`local_time`], for a stored or wire time; text that is not a time is shown as it is.
pub fn local_time_of<Tz: chrono::TimeZone>(text: &str, time_zone: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_owned(),
        |t| local_time(t.with_timezone(&Utc), time_zone),
    )
}

/// Parses a stored or submitted time (any RFC 3339 offset), naming the field on failure.
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("{field} must be an RFC 3339 time such as 2026-11-28T09:30:00Z, got {text:?}")
        })
}

/// A time a caller gave (RFC 3339), or `now` when they gave none. Whether it lies within bounds is
/// the review's to say, the same for the API, sync and the phone.
pub fn time_or_now(
    field: &str,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    text.map_or(Ok(now), |text| parse_time(field, text))
}

/// Checks free text: at most `max` characters (and not empty when `required`).
pub fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), String> {
    if required && text.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    if text.chars().count() > max {
        return Err(format!("{field} must have at most {max} characters"));
    }
    if text.contains('\0') {
        return Err(format!("{field} must not contain a NUL character"));
    }
    Ok(())
}

/// Collected validation problems, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct Invalid {
    pub problems: Vec<String>,
}

impl Invalid {
    pub fn check(&mut self, result: Result<(), String>) {
        if let Err(problem) = result {
            self.problems.push(problem);
        }
    }

    pub fn require(&mut self, ok: bool, problem: impl Into<String>) {
        if !ok {
            self.problems.push(problem.into());
        }
    }

    pub fn into_result(self) -> Result<(), Invalid> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Finds content of `doc` that `value` (the document hydrated from it) does not hold: a key the
/// schema does not have, a list longer than the value's, or an object where the schema has a
/// plain value. Hydrating ignores such content, but it would still be stored and sent to every
/// device, so a device's changes that add it are refused. Returns the path of the first one.
pub fn unknown_content<D: Document>(
    doc: &AutoCommit,
    value: &D,
) -> Result<Option<String>, DocumentError> {
    let mut canonical = AutoCommit::new();
    value.reconcile_into(&mut canonical)?;
    Ok(compare_objects(
        doc,
        &automerge::ROOT,
        &canonical,
        &automerge::ROOT,
        "",
    ))
}

fn compare_objects(
    doc: &AutoCommit,
    obj: &automerge::ObjId,
    canonical: &AutoCommit,
    canonical_obj: &automerge::ObjId,
    path: &str,
) -> Option<String> {
    use automerge::{ObjType, ReadDoc, Value};
    let child = |doc_value: Option<(Value<'_>, automerge::ObjId)>,
                 canonical_value: Option<(Value<'_>, automerge::ObjId)>,
                 path: String| {
        match (doc_value, canonical_value) {
            (Some(_), None) => Some(path),
            (Some((Value::Object(_), id)), Some((Value::Object(_), canonical_id))) => {
                compare_objects(doc, &id, canonical, &canonical_id, &path)
            }
            (Some((Value::Object(_), _)), Some(_)) => Some(path),
            _ => None,
        }
    };
    match doc.object_type(obj).ok()? {
        ObjType::Map | ObjType::Table => {
            for key in doc.keys(obj) {
                let found = child(
                    doc.get(obj, &key).ok()?,
                    canonical.get(canonical_obj, &key).ok()?,
                    format!("{path}/{key}"),
                );
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        ObjType::List | ObjType::Text => {
            let length = doc.length(obj);
            if length > canonical.length(canonical_obj) {
                return Some(format!("{path}/{}", canonical.length(canonical_obj)));
            }
            if doc.object_type(obj).ok()? == ObjType::Text {
                return None;
            }
            (0..length).find_map(|index| {
                child(
                    doc.get(obj, index).ok()?,
                    canonical.get(canonical_obj, index).ok()?,
                    format!("{path}/{index}"),
                )
            })
        }
    }
}

/// Whether `text` is a SHA-256 as this system writes it: 64 lowercase hex digits (blob names,
/// content hashes).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
