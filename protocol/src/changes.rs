//! What Automerge bytes a device may send, checked before Automerge sees them.
//!
//! Automerge 0.12 inflates a compressed change chunk (chunk type 2), a bundle (type 3) and the
//! deflated columns of a whole document (type 0) without any limit, and its run-length encoded
//! columns can say "ten billion of these" in a few bytes. A phone is untrusted, so the server
//! walks a device's bytes itself first: only plain change chunks (type 1, what `save_after`
//! writes) are accepted, every column is decoded far enough to count its items, and the bytes,
//! chunks and operations are capped per document and per request. Only bytes that pass reach
//! Automerge, and they cannot make it allocate or loop more than the caps allow.
//!
//! The walk follows the storage format of <https://alexjg.github.io/automerge-storage-docs/>.

/// The four bytes every Automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk types (the byte after the checksum).
const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED: u8 = 2;
const CHUNK_BUNDLE: u8 = 3;
/// A column specification's deflate bit.
const DEFLATE_BIT: u32 = 0b1000;
/// The operations' action column (id 4, unsigned integers): one item per operation.
const ACTION_COLUMN: u32 = (4 << 4) | 2;
/// No legitimate change has more columns than the format defines (fourteen today).
const MAX_COLUMNS: u64 = 64;
/// Actor ids are 16 random bytes; allow some room for other writers.
const MAX_ACTOR_BYTES: u64 = 128;

/// How much one document's changes, sent in one sync, may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLimits {
    /// Bytes of Automerge data.
    pub max_bytes: usize,
    /// Changes (chunks).
    pub max_changes: usize,
    /// Operations, over all its changes; also the most items any one column may hold.
    pub max_ops: usize,
}

/// The caps for one document's changes in one sync. A sheet accepted on the doorstep is about 60
/// operations and 2 KB; a month of offline edits to one document stays far below these.
pub const DOCUMENT_CHANGE_LIMITS: ChangeLimits = ChangeLimits {
    max_bytes: MAX_DOCUMENT_BYTES,
    max_changes: 1_000,
    max_ops: 10_000,
};

/// The most operations one sync request may carry over all its documents.
pub const MAX_REQUEST_OPS: usize = 100_000;

/// The largest a stored document may grow (its compacted Automerge bytes). A change that would
/// make a document larger is refused whole, so no device can bloat what every other device in
/// scope downloads.
pub const MAX_DOCUMENT_BYTES: usize = 128 * 1024;

/// What the bytes hold, once they passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeSummary {
    pub changes: usize,
    pub ops: usize,
}

/// Why a device's Automerge bytes are not accepted. Each says what a phone's developer must fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeBytesError {
    #[error("the changes are empty")]
    Empty,
    #[error("the changes are {size} bytes; at most {limit} are accepted per document per sync")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "chunk {index} is {kind}; only plain Automerge changes (chunk type 1, as `save_after` writes them) are accepted"
    )]
    NotAChange { index: usize, kind: &'static str },
    #[error("a column of change {index} is deflate-compressed; change columns must be plain")]
    CompressedColumn { index: usize },
    #[error("more than {limit} changes in one document's sync")]
    TooManyChanges { limit: usize },
    #[error("more than {limit} operations in one document's sync")]
    TooManyOps { limit: usize },
    #[error("change {index} is not valid Automerge data: {reason}")]
    Malformed { index: usize, reason: &'static str },
}

/// Checks a device's changes to one document against `limits`, without decompressing or
/// expanding anything.
pub fn inspect_changes(
    bytes: &[u8],
    limits: &ChangeLimits,
) -> Result<ChangeSummary, ChangeBytesError> {
    if bytes.is_empty() {
        return Err(ChangeBytesError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ChangeBytesError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let mut reader = Reader::new(bytes);
    let mut summary = ChangeSummary::default();
    while !reader.is_empty() {
        let index = summary.changes;
        if index >= limits.max_changes {
            return Err(ChangeBytesError::TooManyChanges {
                limit: limits.max_changes,
            });
        }
        let malformed = |reason| ChangeBytesError::Malformed { index, reason };
        if reader.take(4).map_err(malformed)? != MAGIC {
            return Err(malformed("it does not start with Automerge's magic bytes"));
        }
        reader.take(4).map_err(malformed)?;
        let kind = reader.byte().map_err(malformed)?;
        let length = reader.uleb().map_err(malformed)?;
        let body = reader.take_len(length).map_err(malformed)?;
        match kind {
            CHUNK_CHANGE => {}
            CHUNK_DOCUMENT => {
                return Err(ChangeBytesError::NotAChange {
                    index,
                    kind: "a whole document",
                });
            }
            CHUNK_COMPRESSED => {
                return Err(ChangeBytesError::NotAChange {
                    index,
                    kind: "a compressed change",
                });
            }
            CHUNK_BUNDLE => {
                return Err(ChangeBytesError::NotAChange {
                    index,
                    kind: "a bundle",
                });
            }
            _ => return Err(malformed("its chunk type is unknown")),
        }
        let ops = change_ops(body, limits.max_ops, index)?;
        summary.ops += ops;
        if summary.ops > limits.max_ops {
            return Err(ChangeBytesError::TooManyOps {
                limit: limits.max_ops,
            });
        }
        summary.changes += 1;
    }
    Ok(summary)
}

/// Walks one change chunk's body; returns its number of operations (at most `max_ops`).
fn change_ops(body: &[u8], max_ops: usize, index: usize) -> Result<usize, ChangeBytesError> {
    let malformed = |reason| ChangeBytesError::Malformed { index, reason };
    let mut r = Reader::new(body);
    let dependencies = r.uleb().map_err(malformed)?;
    r.take_len(dependencies.saturating_mul(32))
        .map_err(malformed)?;
    actor(&mut r).map_err(malformed)?;
    r.uleb().map_err(malformed)?; // seq
    if r.uleb().map_err(malformed)? == 0 {
        return Err(malformed("its start op is zero"));
    }
    r.sleb().map_err(malformed)?; // time
    let message_length = r.uleb().map_err(malformed)?;
    let message = r.take_len(message_length).map_err(malformed)?;
    if std::str::from_utf8(message).is_err() {
        return Err(malformed("its message is not UTF-8"));
    }
    let other_actors = r.uleb().map_err(malformed)?;
    if other_actors > r.remaining() as u64 {
        return Err(malformed("it names more actors than it has bytes"));
    }
    for _ in 0..other_actors {
        actor(&mut r).map_err(malformed)?;
    }
    let columns = r.uleb().map_err(malformed)?;
    if columns > MAX_COLUMNS {
        return Err(malformed("it has too many columns"));
    }
    let mut specs = Vec::with_capacity(columns as usize);
    for _ in 0..columns {
        let spec = u32::try_from(r.uleb().map_err(malformed)?)
            .map_err(|_| malformed("a column specification is out of range"))?;
        let length = r.uleb().map_err(malformed)?;
        if spec & DEFLATE_BIT != 0 {
            return Err(ChangeBytesError::CompressedColumn { index });
        }
        specs.push((spec, length));
    }
    let mut ops = 0;
    for (spec, length) in specs {
        let data = r.take_len(length).map_err(malformed)?;
        let items = column_items(spec, data, max_ops).map_err(|e| match e {
            ColumnError::TooMany => ChangeBytesError::TooManyOps { limit: max_ops },
            ColumnError::Malformed(reason) => malformed(reason),
        })?;
        if spec == ACTION_COLUMN {
            ops = items;
        }
    }
    // Whatever follows the columns is the change's "extra bytes", kept as they are.
    Ok(ops)
}

fn actor(r: &mut Reader<'_>) -> Result<(), &'static str> {
    let length = r.uleb()?;
    if length > MAX_ACTOR_BYTES {
        return Err("an actor id is too long");
    }
    r.take_len(length)?;
    Ok(())
}

enum ColumnError {
    TooMany,
    Malformed(&'static str),
}

impl From<&'static str> for ColumnError {
    fn from(reason: &'static str) -> Self {
        ColumnError::Malformed(reason)
    }
}

/// How many items a column holds, decoding only the run lengths and skipping the values; stops
/// as soon as the count passes `max`.
fn column_items(spec: u32, data: &[u8], max: usize) -> Result<usize, ColumnError> {
    let mut r = Reader::new(data);
    let mut items: u64 = 0;
    let add = |items: &mut u64, n: u64| -> Result<(), ColumnError> {
        *items = items.saturating_add(n);
        if *items > max as u64 {
            Err(ColumnError::TooMany)
        } else {
            Ok(())
        }
    };
    match spec & 0b111 {
        // Booleans: alternating run lengths of false and true.
        4 => {
            while !r.is_empty() {
                let run = r.uleb()?;
                add(&mut items, run)?;
            }
        }
        // Raw values: their lengths live in the value-metadata column.
        7 => {}
        kind => {
            let skip_value = |r: &mut Reader<'_>| -> Result<(), &'static str> {
                match kind {
                    3 => r.sleb().map(|_| ()),
                    5 => {
                        let length = r.uleb()?;
                        let text = r.take_len(length)?;
                        std::str::from_utf8(text)
                            .map(|_| ())
                            .map_err(|_| "a string column holds text that is not UTF-8")
                    }
                    _ => r.uleb().map(|_| ()),
                }
            };
            while !r.is_empty() {
                let count = r.sleb()?;
                if count > 0 {
                    skip_value(&mut r)?;
                    add(&mut items, count.unsigned_abs())?;
                } else if count < 0 {
                    let literals = count.unsigned_abs();
                    if literals > r.remaining() as u64 {
                        return Err("a literal run is longer than its column".into());
                    }
                    for _ in 0..literals {
                        skip_value(&mut r)?;
                    }
                    add(&mut items, literals)?;
                } else {
                    let nulls = r.uleb()?;
                    add(&mut items, nulls)?;
                }
            }
        }
    }
    Ok(items as usize)
}

/// A cursor over untrusted bytes: every read is checked against what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        let byte = *self
            .bytes
            .get(self.position)
            .ok_or("it ends in the middle")?;
        self.position += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.remaining() {
            return Err("a length runs past its end");
        }
        let taken = &self.bytes[self.position..self.position + n];
        self.position += n;
        Ok(taken)
    }

    fn take_len(&mut self, n: u64) -> Result<&'a [u8], &'static str> {
        let n = usize::try_from(n).map_err(|_| "a length runs past its end")?;
        self.take(n)
    }

    /// Unsigned LEB128, at most 64 bits.
    fn uleb(&mut self) -> Result<u64, &'static str> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err("a number overflows 64 bits");
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number overflows 64 bits")
    }

    /// Signed LEB128, at most 64 bits.
    fn sleb(&mut self) -> Result<i64, &'static str> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            if shift == 63 && byte != 0 && byte != 0x7f {
                return Err("a number overflows 64 bits");
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
            if shift >= 64 {
                return Err("a number overflows 64 bits");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn edited() -> (AutoCommit, Vec<u8>) {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "customer_name", "陈志强").unwrap();
        doc.put(ROOT, "result", "x".repeat(1000)).unwrap();
        let list = doc
            .put_object(ROOT, "items", automerge::ObjType::List)
            .unwrap();
        for n in 0..20 {
            doc.insert(&list, n, n as i64).unwrap();
        }
        doc.commit();
        doc.put(ROOT, "status", "handled").unwrap();
        let bytes = doc.save_after(&[]);
        (doc, bytes)
    }

    #[test]
    fn plain_changes_pass_and_count_their_operations() {
        let (_, bytes) = edited();
        let summary = inspect_changes(&bytes, &DOCUMENT_CHANGE_LIMITS).unwrap();
        assert_eq!(summary.changes, 2);
        assert_eq!(summary.ops, 3 + 20 + 1);
    }

    #[test]
    fn whole_documents_and_compressed_chunks_are_refused() {
        let (mut doc, _) = edited();
        let saved = doc.save();
        assert!(matches!(
            inspect_changes(&saved, &DOCUMENT_CHANGE_LIMITS),
            Err(ChangeBytesError::NotAChange { index: 0, .. })
        ));
        let mut compressed = saved;
        compressed[8] = CHUNK_COMPRESSED;
        assert!(matches!(
            inspect_changes(&compressed, &DOCUMENT_CHANGE_LIMITS),
            Err(ChangeBytesError::NotAChange { .. })
        ));
    }

    #[test]
    fn limits_hold() {
        let (_, bytes) = edited();
        let tight = ChangeLimits {
            max_bytes: 1 << 20,
            max_changes: 1,
            max_ops: 10_000,
        };
        assert_eq!(
            inspect_changes(&bytes, &tight),
            Err(ChangeBytesError::TooManyChanges { limit: 1 })
        );
        let few_ops = ChangeLimits {
            max_ops: 10,
            ..tight
        };
        assert!(matches!(
            inspect_changes(
                &bytes[..bytes.len()],
                &ChangeLimits {
                    max_changes: 10,
                    ..few_ops
                }
            ),
            Err(ChangeBytesError::TooManyOps { .. })
        ));
        assert!(matches!(
            inspect_changes(
                &bytes,
                &ChangeLimits {
                    max_bytes: 10,
                    ..tight
                }
            ),
            Err(ChangeBytesError::TooLarge { .. })
        ));
    }

    #[test]
    fn leb128_reads_the_extremes() {
        assert_eq!(Reader::new(&[0x7f]).sleb(), Ok(-1));
        assert_eq!(Reader::new(&[0x3f]).sleb(), Ok(63));
        assert_eq!(Reader::new(&[0x80, 0x7f]).sleb(), Ok(-128));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).uleb(), Ok(u64::MAX));
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03];
        assert!(Reader::new(&too_big).uleb().is_err());
        let min = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f];
        assert_eq!(Reader::new(&min).sleb(), Ok(i64::MIN));
    }
}
