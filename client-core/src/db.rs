//! Opening the phone's SQLite database.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::encryption::{self, StoreKey};
use crate::error::Result;

/// Opens (creating) the database file under `key` with the settings every connection needs: WAL
/// so the UI can read while sync writes, foreign keys on, and a busy timeout instead of instant
/// failures. The file is its user's alone and encrypted (see [`encryption`]); a plaintext store
/// an earlier version left is encrypted first. No key only for the benchmarks' comparison
/// (feature `unencrypted-benchmark`).
pub(crate) fn open(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    encryption::owner_only(path)?;
    if let Some(key) = key
        && encryption::is_plaintext(path)?
    {
        encryption::encrypt_plaintext(path, key)?;
    }
    let mut conn = Connection::open(path)?;
    if let Some(key) = key {
        // SQLCipher 4.10 now and then refuses the right key with "An error occurred with PRAGMA
        // key" while other connections of the process open and close (seen in about one test
        // run in twenty under load, its own log silent; the cause is not found). The refused
        // connection's pager is left in an error state, so a fresh connection tries once more.
        // A wrong key is not this error (it fails reading the schema, `WrongKey`) and is not
        // retried.
        if let Err(error) = encryption::unlock(&conn, key) {
            if matches!(error, crate::error::ClientError::WrongKey) {
                return Err(error);
            }
            drop(conn);
            conn = Connection::open(path)?;
            encryption::unlock(&conn, key)?;
        }
    }
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a committed transaction survives a crash of the app; only a power
    // loss can take back the last commits, never corrupt the file.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// #18: the store, its log and its shared memory are readable by their user only — a new
    /// store, and one an older version left readable by all.
    #[test]
    fn the_store_files_are_readable_by_their_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        let conn = open(&path, Some(&StoreKey::generate())).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("phone.db{suffix}"));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(conn);

        let old = dir.path().join("old.db");
        {
            let conn = Connection::open(&old).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch("CREATE TABLE t (x);").unwrap();
        }
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(mode(&old), 0o644);
        let conn = open(&old, Some(&StoreKey::generate())).unwrap();
        conn.execute_batch("INSERT INTO t VALUES (1);").unwrap();
        assert_eq!(mode(&old), 0o600, "an older store is tightened");
        assert_eq!(mode(&dir.path().join("old.db-wal")), 0o600);
    }
}
