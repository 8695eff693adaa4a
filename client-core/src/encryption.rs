//! The store's encryption at rest. Phones get lost with customers' names, phone numbers,
//! addresses and signatures on them, and the session's token; the store is therefore a SQLCipher
//! database (AES-256, every page and every log frame encrypted and authenticated) under a 256-bit
//! key the app keeps in the platform's key store (Android Keystore, iOS Keychain) — the field
//! client in a file of its user's. The key is used raw (SQLCipher's `x'…'` form): it is random,
//! so no password derivation is spent on every open. The files are also readable by their user
//! only ([`owner_only`]).

use std::fmt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use rusqlite::{Connection, ErrorCode, params};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{ClientError, Result};

/// The key of a phone's store: 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; StoreKey::LEN]);

impl StoreKey {
    /// A key's length in bytes (AES-256).
    pub const LEN: usize = 32;

    /// A new key from the operating system's random source, for a new store.
    pub fn generate() -> StoreKey {
        let mut bytes = [0u8; StoreKey::LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        StoreKey(bytes)
    }

    /// The key the app kept, as bytes; anything but 32 bytes is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<StoreKey> {
        let bytes: [u8; StoreKey::LEN] = bytes.try_into().map_err(|_| {
            ClientError::invalid(format!(
                "a store key is {} bytes, not {}",
                StoreKey::LEN,
                bytes.len()
            ))
        })?;
        Ok(StoreKey(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; StoreKey::LEN] {
        &self.0
    }

    /// SQLCipher's raw-key form, `x'<64 hex digits>'`, wiped from memory when dropped.
    fn raw(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(self.0)))
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Gives a new connection its key and proves it fits: SQLCipher reads nothing until asked, so the
/// schema is read here, and a key that does not decrypt page 1 is [`ClientError::WrongKey`]
/// now rather than a puzzling failure at the first query. A library built without SQLCipher
/// would ignore the key and write plaintext; it is refused instead.
pub(crate) fn unlock(conn: &Connection, key: &StoreKey) -> Result<()> {
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |row| row.get(0))
        .ok();
    if cipher.is_none() {
        return Err(ClientError::Storage {
            reason: "this build's SQLite cannot encrypt (SQLCipher is missing)".to_owned(),
        });
    }
    // SQLCipher would log a wrong key's failed decryption to standard error (logcat on
    // Android); the caller gets `WrongKey` instead.
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    conn.pragma_update(None, "key", &*key.raw())?;
    match conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Err(ClientError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the file is a plaintext SQLite database: a store written before encryption, which
/// [`encrypt_plaintext`] converts. An encrypted file starts with random salt; a new one is empty.
pub(crate) fn is_plaintext(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|e| storage(path, e))?;
    match file.read_exact(&mut header) {
        Ok(()) => Ok(&header == b"SQLite format 3\0"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(storage(path, e)),
    }
}

/// Encrypts a store an earlier version left in plaintext, keeping everything in it (unsynced
/// changes included): copied under `key` beside it, then put in its place.
pub(crate) fn encrypt_plaintext(path: &Path, key: &StoreKey) -> Result<()> {
    let plain = Connection::open(path)?;
    let fresh = copy_under(&plain, path, key)?;
    close(plain)?;
    replace(&fresh, path)
}

/// Copies the database `conn` has open into a new file beside `path`, encrypted under `key`
/// (SQLCipher's `sqlcipher_export`: schema and rows; then the schema's version), and returns the new file's
/// path. On failure the copy is removed and nothing else has changed.
pub(crate) fn copy_under(conn: &Connection, path: &Path, key: &StoreKey) -> Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push("-rekey");
    let fresh = PathBuf::from(name);
    // A copy left by an interrupted attempt is of no use: the original is still whole.
    remove_copy(&fresh)?;
    let copy = || -> Result<()> {
        owner_only(&fresh)?;
        let target = fresh.to_str().ok_or_else(|| ClientError::Storage {
            reason: format!("{}: not a UTF-8 path", fresh.display()),
        })?;
        conn.execute(
            "ATTACH DATABASE ?1 AS fresh KEY ?2",
            params![target, &*key.raw()],
        )?;
        let exported = conn
            .query_row("SELECT sqlcipher_export('fresh')", [], |_| Ok(()))
            .and_then(|()| {
                // The schema's version (crate::schema) is not part of the export.
                let version: i64 =
                    conn.pragma_query_value(Some("main"), "user_version", |row| row.get(0))?;
                conn.pragma_update(Some("fresh"), "user_version", version)
            });
        conn.execute("DETACH DATABASE fresh", [])?;
        exported?;
        Ok(())
    };
    copy().inspect_err(|_| {
        let _ = remove_copy(&fresh);
    })?;
    Ok(fresh)
}

/// Closes a connection, surfacing the error SQLite gives when it cannot finish (the last
/// connection's close checkpoints the log into the file and removes it).
pub(crate) fn close(conn: Connection) -> Result<()> {
    conn.close().map_err(|(_, e)| e.into())
}

/// Puts the copy in the original's place in one rename, after making both durable: a crash
/// leaves either the old store (and a stray copy, removed by the next attempt) or the new one.
/// Every connection to the original must be closed, or its log would be taken for the copy's.
pub(crate) fn replace(fresh: &Path, path: &Path) -> Result<()> {
    let sync = |file: &Path| -> Result<()> {
        std::fs::File::open(file)
            .and_then(|f| f.sync_all())
            .map_err(|e| storage(file, e))
    };
    sync(fresh)?;
    remove_log(path)?;
    std::fs::rename(fresh, path).map_err(|e| storage(path, e))?;
    #[cfg(unix)]
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync(folder)?;
    }
    Ok(())
}

/// The store holds customers' names, phone numbers and signatures and the session's token, so
/// on Unix (Android, iOS, the field client) its file is created readable and writable by its user
/// only (0600), and a store created before this is tightened when opened. SQLite gives the log
/// and shared-memory files it creates the database file's mode; ones left by an older version
/// are tightened too.
pub(crate) fn owner_only(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let storage = |e: std::io::Error| crate::error::ClientError::Storage {
            reason: format!("{}: {e}", path.display()),
        };
        // Created empty if missing (SQLite takes an empty file as a new database), never
        // truncated.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(storage)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            if file.exists() {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                    .map_err(storage)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Removes a database file's log and shared memory, left only when it was not closed cleanly:
/// a stray log beside the renamed copy would be taken for the copy's.
fn remove_log(path: &Path) -> Result<()> {
    remove_files(path, &["-wal", "-shm"])
}

/// Removes a copy left by an interrupted attempt, with its journal and log.
fn remove_copy(fresh: &Path) -> Result<()> {
    remove_files(fresh, &["", "-journal", "-wal", "-shm"])
}

/// Removes the store's every file: the database, its log and shared memory, and a copy of an
/// unfinished re-encryption. Its connections must be closed.
pub(crate) fn remove_store(path: &Path) -> Result<()> {
    let mut copy = path.as_os_str().to_owned();
    copy.push("-rekey");
    remove_copy(Path::new(&copy))?;
    remove_files(path, &["", "-journal", "-wal", "-shm"])
}

fn remove_files(path: &Path, suffixes: &[&str]) -> Result<()> {
    for suffix in suffixes {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(storage(Path::new(&name), e)),
        }
    }
    Ok(())
}

fn storage(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::Storage {
        reason: format!("{}: {e}", path.display()),
    }
}
