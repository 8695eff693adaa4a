//! #18: the phone store is encrypted at rest. A lost phone's file, read byte by byte, gives away
//! no customer's name or phone number, no opinion and no session token; a wrong key opens
//! nothing and changes nothing; the key can be changed; a store an earlier version kept in
//! plaintext is encrypted when opened, keeping its unsynced work.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;
use huifang_client::{ClientError, ClientStore, OutcomeInput, StoreKey};
use huifang_protocol::{FollowUpMethod, SheetCategory};

/// What must never be readable in the file: a customer's name and phone number (reference
/// rows), the staff member's token (session), an opinion typed on the phone (document and
/// outbox), and SQLite's own header (which would say the file is a plain database).
const SECRETS: [&str; 5] = [
    "陈志强",
    "13800138001",
    "hfs_secret_token_of_10",
    "漏水已修好的机密意见",
    "SQLite format 3",
];

/// Every byte the store keeps on disk: the database, its log and its shared memory.
fn bytes_on_disk(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(file) = std::fs::read(&name) {
            bytes.extend(file);
        }
    }
    bytes
}

fn found(haystack: &[u8], secret: &str) -> bool {
    haystack
        .windows(secret.len())
        .any(|window| window == secret.as_bytes())
}

/// A store with a day's work in it: reference rows, a follow-up delivered and completed with an
/// opinion, not yet synced.
fn with_work(store: ClientStore) -> ClientStore {
    let store = signed_in(store);
    deliver(
        &store,
        1,
        1,
        SheetCategory::Repair,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    );
    store
        .record_outcome(
            &id(1),
            OutcomeInput {
                method: FollowUpMethod::HomeVisit,
                ratings: ratings(5),
                opinions: "漏水已修好的机密意见".into(),
                done_at: None,
            },
        )
        .unwrap();
    store
}

fn pending(store: &ClientStore) -> usize {
    store.pending_changes(100).unwrap().len()
}

#[test]
fn the_store_file_holds_no_customer_data_or_token_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let store = with_work(open(&dir));
    // Read while open (the log holds the latest writes) and after closing (checkpointed).
    let open_bytes = bytes_on_disk(&path);
    drop(store);
    let closed_bytes = bytes_on_disk(&path);
    for secret in SECRETS {
        assert!(!found(&open_bytes, secret), "{secret} readable while open");
        assert!(
            !found(&closed_bytes, secret),
            "{secret} readable after close"
        );
    }

    // The same work in an unencrypted store shows every one of them: the check can see them.
    let plain = dir.path().join("plain.db");
    let store = with_work(ClientStore::open_unencrypted(&plain).unwrap());
    let bytes = bytes_on_disk(&plain);
    for secret in SECRETS {
        assert!(found(&bytes, secret), "{secret} is in an unencrypted store");
    }
    drop(store);
}

#[test]
fn a_wrong_key_opens_nothing_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    drop(with_work(open(&dir)));
    let before = std::fs::read(&path).unwrap();

    let wrong = StoreKey::generate();
    let err = ClientStore::open(&path, &wrong).err().unwrap();
    assert_eq!(err, ClientError::WrongKey);
    assert!(err.to_string().contains("key"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );

    // The right key still opens everything, unsynced work included.
    let store = open(&dir);
    assert_eq!(pending(&store), 1);
    assert_eq!(
        store.session().unwrap().unwrap().token,
        "hfs_secret_token_of_10"
    );

    // A key of the wrong length is refused before anything is opened.
    let err = StoreKey::from_bytes(&[1; 16]).unwrap_err();
    assert!(
        matches!(&err, ClientError::InvalidInput { reason } if reason.contains("32 bytes")),
        "{err}"
    );

    // A file that is no database at all is not mistaken for a store, nor damaged.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    assert_eq!(
        ClientStore::open(&junk, &key()).err(),
        Some(ClientError::WrongKey)
    );
    assert_eq!(std::fs::read(&junk).unwrap(), vec![0x5a; 8192]);
}

#[test]
fn rekey_keeps_everything_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let store = with_work(open(&dir));
    // A copy an interrupted attempt left behind is no obstacle.
    std::fs::write(dir.path().join("phone.db-rekey"), b"half a copy").unwrap();

    let new = StoreKey::generate();
    store.rekey(&new).unwrap();
    // The open store goes on working under the new key: reads, writes, the outbox.
    assert_eq!(pending(&store), 1);
    deliver(
        &store,
        2,
        2,
        SheetCategory::Repair,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    );
    assert_eq!(store.tasks_by_building(store.now()).unwrap().len(), 1);
    drop(store);
    assert!(!dir.path().join("phone.db-rekey").exists());

    assert_eq!(
        ClientStore::open(&path, &key()).err(),
        Some(ClientError::WrongKey),
        "the old key opens nothing"
    );
    let store = ClientStore::open(&path, &new).unwrap();
    assert_eq!(pending(&store), 1);
    assert!(store.follow_up(&id(2)).is_ok());
    let bytes = bytes_on_disk(&path);
    for secret in SECRETS {
        assert!(!found(&bytes, secret), "{secret} readable after rekey");
    }
}

#[test]
fn a_plaintext_store_of_an_earlier_version_is_encrypted_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    // What an earlier version left: a plaintext store with unsynced work, its log not yet
    // checkpointed (the app was killed).
    let old = with_work(ClientStore::open_unencrypted(&path).unwrap());
    let before = old.follow_up(&id(1)).unwrap();
    std::mem::forget(old);
    assert!(found(&bytes_on_disk(&path), "陈志强"));

    let store = open(&dir);
    assert_eq!(pending(&store), 1, "the unsynced outcome is kept");
    assert_eq!(store.follow_up(&id(1)).unwrap(), before);
    assert_eq!(store.session().unwrap().unwrap().staff_id, ME);
    drop(store);
    let bytes = bytes_on_disk(&path);
    for secret in SECRETS {
        assert!(!found(&bytes, secret), "{secret} readable after conversion");
    }
    assert_eq!(
        ClientStore::open(&path, &StoreKey::generate()).err(),
        Some(ClientError::WrongKey),
        "the converted store is under the key it was opened with"
    );
}
