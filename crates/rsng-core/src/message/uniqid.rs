//! `use-uniqid()`: the per-host id and the receipt counter behind `$HOSTID`, `$RCPTID` and
//! `$UNIQID`.
//!
//! As in syslog-ng, every message made while the counter runs takes the next value (starting at
//! 1, skipping 0 when it wraps); `$UNIQID` is the host id and that value in hexadecimal
//! (`HOSTID@COUNTER`, 8 and 16 digits). The runtime keeps both in the persist file so that a
//! restart continues the sequence under the same host id. Process-wide atomics: messages are
//! made on every worker thread and a lock per message would serialise them.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

static HOST_ID: AtomicU32 = AtomicU32::new(0);
/// The next receipt id; 0 while `use-uniqid()` is off.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Starts numbering messages from `next` (0 is taken as 1) under `host_id`.
pub fn enable(host_id: u32, next: u64) {
    HOST_ID.store(host_id, Relaxed);
    NEXT.store(next.max(1), Relaxed);
}

/// Stops numbering; returns the value the next message would have had (0: it was off).
pub fn disable() -> u64 {
    NEXT.swap(0, Relaxed)
}

/// Whether messages are numbered.
pub fn enabled() -> bool {
    NEXT.load(Relaxed) != 0
}

/// The value the next message will take (0: numbering is off).
pub fn peek_next() -> u64 {
    NEXT.load(Relaxed)
}

/// The host id (0 until [`enable`]).
pub fn host_id() -> u32 {
    HOST_ID.load(Relaxed)
}

/// The receipt id of a new message: 0 when numbering is off. Taken by every new message, and by
/// every internal event, which syslog-ng makes into a message whether an `internal()` source
/// reads it or not.
pub fn take() -> u64 {
    let mut current = NEXT.load(Relaxed);
    loop {
        if current == 0 {
            return 0;
        }
        // The value after u64::MAX is 1: 0 means "not numbered".
        let next = current.checked_add(1).unwrap_or(1);
        match NEXT.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return current,
            Err(seen) => current = seen,
        }
    }
}
