//! The field client's store key. A phone keeps its key in Android Keystore or the iOS Keychain;
//! on a desktop it lives in a file readable by its user only, beside the store unless told
//! otherwise, made on first use. A key file others can read is refused, as ssh refuses such a
//! private key: the key may already have been read.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use huifang_client::{ClientError, ClientStore, StoreKey};

/// The key file beside `store`: `huifang-field.db` → `huifang-field.db.key`.
pub fn beside(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Opens the store with the key in `key_file`, making both when neither exists. A store an
/// earlier version left unencrypted gets a new key and is encrypted under it.
pub fn open_store(store: &Path, key_file: &Path) -> Result<ClientStore> {
    if key_file.exists() {
        let key = read(key_file)?;
        return ClientStore::open(store, &key).map_err(|e| {
            let context = match e {
                ClientError::WrongKey => format!(
                    "the store {} cannot be opened with the key in {}: a wrong key file",
                    store.display(),
                    key_file.display()
                ),
                _ => format!("opening the store {}", store.display()),
            };
            anyhow::Error::new(e).context(context)
        });
    }
    // The key is kept before the store is encrypted under it, so no crash can leave a store
    // whose key was never written down.
    let key = StoreKey::generate();
    write_new(key_file, &key)?;
    match ClientStore::open(store, &key) {
        Ok(opened) => Ok(opened),
        Err(e) => {
            // The new key opened nothing: an encrypted store whose key file is missing.
            let _ = std::fs::remove_file(key_file);
            let context = match e {
                ClientError::WrongKey => format!(
                    "the store {} is encrypted and its key file {} is missing; without the key \
                     the store cannot be read (sign in on a new store with another --store)",
                    store.display(),
                    key_file.display()
                ),
                _ => format!("opening the store {}", store.display()),
            };
            Err(anyhow::Error::new(e).context(context))
        }
    }
}

fn read(key_file: &Path) -> Result<StoreKey> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file)
            .with_context(|| format!("reading {}", key_file.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the key file {} is readable by others (mode {:o}); make it its user's only \
                 (chmod 600) — and consider the store's data exposed",
                key_file.display(),
                mode & 0o777
            );
        }
    }
    let text = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading {}", key_file.display()))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .filter(|bytes| bytes.len() == StoreKey::LEN)
        .with_context(|| {
            format!(
                "{} does not hold a store key ({} hexadecimal digits)",
                key_file.display(),
                StoreKey::LEN * 2
            )
        })?;
    Ok(StoreKey::from_bytes(&bytes)?)
}

fn write_new(key_file: &Path, key: &StoreKey) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(key_file)
        .with_context(|| format!("creating the key file {}", key_file.display()))?;
    writeln!(file, "{}", hex::encode(key.as_bytes()))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the key file {}", key_file.display()))
}
