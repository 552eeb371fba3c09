//! Listening sockets that a reload hands over instead of binding again.
//!
//! A reload builds the whole new configuration before it stops anything of the old one, so a
//! changed source whose address is the same as a running one's cannot bind it: it takes a
//! duplicate of the running socket instead. Both listen on it until the old source stops; the
//! socket (and a unix socket's file) goes away with its last user.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Mutex;

struct Entry {
    key: String,
    socket: OwnedFd,
    users: usize,
    unix_path: Option<PathBuf>,
}

static SOCKETS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn sockets() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    SOCKETS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A duplicate of the running socket bound at `key` (`tcp:127.0.0.1:514`,
/// `unix-dgram:/dev/log`), if a running source has it.
pub fn take_over(key: &str) -> Option<OwnedFd> {
    sockets().iter().find(|e| e.key == key).and_then(|e| e.socket.try_clone().ok())
}

/// A running source's claim on its socket; the last claim to go removes a unix socket's file.
pub struct Claim {
    key: String,
}

/// Records that a running source uses `socket`, bound at `key`.
pub fn claim(key: String, socket: BorrowedFd<'_>, unix_path: Option<PathBuf>) -> Option<Claim> {
    let mut all = sockets();
    match all.iter_mut().find(|e| e.key == key) {
        Some(e) => e.users += 1,
        None => {
            let socket = socket.try_clone_to_owned().ok()?;
            all.push(Entry { key: key.clone(), socket, users: 1, unix_path });
        }
    }
    Some(Claim { key })
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut all = sockets();
        let Some(i) = all.iter().position(|e| e.key == self.key) else { return };
        all[i].users -= 1;
        if all[i].users == 0 {
            let e = all.swap_remove(i);
            if let Some(path) = e.unix_path {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// The key of a bound socket.
pub fn key_of(kind: &str, addr: &str) -> String {
    format!("{kind}:{addr}")
}
