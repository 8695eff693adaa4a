//! Every decoder of bytes from a phone under a property harness: random and mutated inputs must
//! be answered with an error or a bounded result, never a panic, a hang or a blow-up.
//!
//! The suite runs a small budget (`HUIFANG_FUZZ_CASES`, 256 by default); `scripts/fuzz` runs it
//! for longer. Inputs that once broke a decoder are kept in `tests/corpus/` and replayed on
//! every run; proptest also keeps its own shrunk failures in `proptest-regressions/`.

// A test binary: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use huifang_protocol::{
    ChangeBytesError, DOCUMENT_CHANGE_LIMITS, Document, DocumentKind, OutgoingChanges,
    SYNC_VERSION, SyncRequest, decode_request, encode_message, inspect_changes,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("HUIFANG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Plain changes as a phone sends them: a new document and two edits.
fn phone_changes() -> Vec<u8> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "customer_name", "陈志强").unwrap();
    doc.put(ROOT, "accepted_by", 7).unwrap();
    let items = doc
        .put_object(ROOT, "items", automerge::ObjType::List)
        .unwrap();
    let item = doc
        .insert_object(&items, 0, automerge::ObjType::Map)
        .unwrap();
    doc.put(&item, "text", "楼道灯坏了").unwrap();
    doc.commit();
    doc.put(ROOT, "status", "handled").unwrap();
    doc.put(ROOT, "result", "已处理完毕").unwrap();
    doc.commit();
    doc.delete(ROOT, "accepted_by").unwrap();
    doc.save_after(&[])
}

/// What the server does with a device's bytes: inspect, and only if they pass, let Automerge
/// load them. Neither step may panic; what passes is small enough to load at once.
fn server_reads(bytes: &[u8]) {
    if let Ok(summary) = inspect_changes(bytes, &DOCUMENT_CHANGE_LIMITS) {
        assert!(summary.ops <= DOCUMENT_CHANGE_LIMITS.max_ops);
        let mut doc = AutoCommit::new();
        if doc.load_incremental(bytes).is_ok() {
            let _ = huifang_protocol::Sheet::hydrate_from(&doc);
            let _ = huifang_protocol::FollowUp::hydrate_from(&doc);
        }
    }
}

/// A change chunk built by hand, for inputs no Automerge writer makes.
fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    leb(&mut bytes, body.len() as u64);
    bytes.extend_from_slice(body);
    bytes
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A change whose single column is `spec` holding `data`.
fn change_with_column(spec: u64, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 16];
    body.extend_from_slice(&[7; 16]); // actor
    body.extend_from_slice(&[1, 1, 0, 0, 0]); // seq, start op, time, message, other actors
    body.push(1);
    leb(&mut body, spec);
    leb(&mut body, data.len() as u64);
    body.extend_from_slice(data);
    chunk(1, &body)
}

#[test]
fn the_decompression_bomb_is_refused_before_anything_inflates() {
    // Chunk type 2: a change compressed with raw deflate, here 64 MiB of zeros in a few KB.
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = chunk(2, &deflate.finish().unwrap());
    assert!(bomb.len() < 100_000);
    assert!(matches!(
        inspect_changes(&bomb, &DOCUMENT_CHANGE_LIMITS),
        Err(ChangeBytesError::NotAChange { .. })
    ));
    // A whole document (its columns may be deflated) and a bundle are refused the same way.
    for kind in [0, 3] {
        assert!(matches!(
            inspect_changes(&chunk(kind, b"x"), &DOCUMENT_CHANGE_LIMITS),
            Err(ChangeBytesError::NotAChange { .. })
        ));
    }
}

#[test]
fn run_length_bombs_are_counted_not_expanded() {
    // The action column (id 4, integers) says "2^40 times the action 1": a trillion operations
    // in 7 bytes.
    let mut run = Vec::new();
    leb(&mut run, 1 << 40); // also a positive signed LEB128: its last byte is 0x20
    run.push(1);
    let actions = change_with_column((4 << 4) | 2, &run);
    assert!(matches!(
        inspect_changes(&actions, &DOCUMENT_CHANGE_LIMITS),
        Err(ChangeBytesError::TooManyOps { .. })
    ));
    // The same in a boolean column, a null run and a predecessor group.
    let mut nulls = vec![0];
    leb(&mut nulls, 1 << 40);
    for (spec, data) in [
        (((3 << 4) | 4), {
            let mut d = Vec::new();
            leb(&mut d, 1 << 40);
            d
        }),
        ((7 << 4), nulls),
    ] {
        assert!(matches!(
            inspect_changes(&change_with_column(spec, &data), &DOCUMENT_CHANGE_LIMITS),
            Err(ChangeBytesError::TooManyOps { .. })
        ));
    }
    // A deflated column inside a change.
    assert!(matches!(
        inspect_changes(
            &change_with_column((4 << 4) | 2 | 8, &[2, 1]),
            &DOCUMENT_CHANGE_LIMITS
        ),
        Err(ChangeBytesError::CompressedColumn { .. })
    ));
}

#[test]
fn what_a_phone_sends_passes_and_loads() {
    let bytes = phone_changes();
    let summary = inspect_changes(&bytes, &DOCUMENT_CHANGE_LIMITS).unwrap();
    assert_eq!(summary.changes, 3);
    let mut doc = AutoCommit::new();
    doc.load_incremental(&bytes).unwrap();
    assert_eq!(doc.get_heads().len(), 1);
}

#[test]
fn the_corpus_of_once_breaking_inputs_is_answered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        match path.extension().and_then(|e| e.to_str()) {
            Some("changes") => server_reads(&bytes),
            Some("sync") => {
                if let Ok(request) = decode_request(&bytes) {
                    for change in request.changes {
                        server_reads(&change.changes);
                    }
                }
            }
            _ => continue,
        }
        replayed += 1;
    }
    assert!(replayed >= 2, "the corpus is in place");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_bytes_never_break_the_change_reader(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        server_reads(&bytes);
        let mut with_magic = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1];
        with_magic.extend_from_slice(&bytes);
        server_reads(&with_magic);
    }

    #[test]
    fn mutated_phone_changes_never_break_the_change_reader(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let mut bytes = phone_changes();
        for (at, byte, how) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at.index(bytes.len());
            match how {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                2 => { bytes.remove(at); }
                _ => bytes.truncate(at),
            }
        }
        server_reads(&bytes);
    }

    #[test]
    fn random_sync_bodies_are_refused_or_bounded(
        garbage in proptest::collection::vec(any::<u8>(), 0..4096),
        changes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..8),
    ) {
        // Raw garbage, and well-formed requests carrying garbage changes.
        let _ = decode_request(&garbage);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&garbage).unwrap();
        let _ = decode_request(&gz.finish().unwrap());
        let request = SyncRequest {
            version: SYNC_VERSION,
            cursor: 0,
            changes: changes
                .into_iter()
                .map(|changes| OutgoingChanges {
                    document_id: "a".repeat(32),
                    kind: DocumentKind::Sheet,
                    changes,
                })
                .collect(),
            page_size: 10,
            reference_version: None,
            scope_version: None,
            device: None,
        };
        let decoded = decode_request(&encode_message(&request).unwrap()).unwrap();
        for change in decoded.changes {
            server_reads(&change.changes);
        }
    }
}
