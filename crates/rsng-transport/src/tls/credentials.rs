//! Passphrases of encrypted private keys, given at run time with
//! `syslog-ng-ctl credentials add --id=KEY-FILE --secret=PASSPHRASE`, as syslog-ng's secret
//! storage keeps them.
//!
//! A `tls()` block whose key file is encrypted waits for its passphrase (its source does not
//! accept connections, its destination does not connect) and is set up once the passphrase
//! arrives; a wrong one leaves it waiting for the next. `syslog-ng-ctl credentials status` lists
//! every key file with its state.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use tokio::sync::watch;

/// Where a key file's passphrase stands, in syslog-ng's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waited for, or given and not tried yet.
    Pending,
    /// The key was decrypted with it.
    Success,
    /// The key could not be set up for another reason.
    Failed,
    /// It does not decrypt the key.
    InvalidPassword,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::InvalidPassword => "INVALID_PASSWORD",
        }
    }
}

struct Entry {
    secret: Option<Vec<u8>>,
    status: Status,
}

struct Store {
    entries: Mutex<BTreeMap<String, Entry>>,
    /// Counts additions, so that waiting contexts try again.
    added: watch::Sender<u64>,
}

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| Store { entries: Mutex::new(BTreeMap::new()), added: watch::channel(0).0 })
}

fn entries() -> std::sync::MutexGuard<'static, BTreeMap<String, Entry>> {
    store().entries.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stores the passphrase of key file `id` (the path as the `tls()` block writes it) and wakes
/// the contexts waiting for it.
pub fn add(id: &str, secret: &[u8]) {
    {
        let mut entries = entries();
        let entry = entries.entry(id.to_string()).or_insert(Entry { secret: None, status: Status::Pending });
        if let Some(old) = entry.secret.as_mut() {
            old.fill(0);
        }
        entry.secret = Some(secret.to_vec());
        entry.status = Status::Pending;
    }
    store().added.send_modify(|n| *n += 1);
}

/// The passphrase of key file `id`, if one was given.
pub(crate) fn secret(id: &str) -> Option<Vec<u8>> {
    entries().get(id).and_then(|e| e.secret.clone())
}

/// Records that a context waits for the passphrase of `id` (listed as `PENDING`).
pub(crate) fn waiting_for(id: &str) {
    entries().entry(id.to_string()).or_insert(Entry { secret: None, status: Status::Pending });
}

pub(crate) fn set_status(id: &str, status: Status) {
    if let Some(entry) = entries().get_mut(id) {
        entry.status = status;
    }
}

/// Resolves after the next [`add`].
pub(crate) fn subscribe() -> watch::Receiver<u64> {
    store().added.subscribe()
}

/// Every key file with the state of its passphrase, in name order.
pub fn status() -> Vec<(String, Status)> {
    entries().iter().map(|(id, e)| (id.clone(), e.status)).collect()
}
