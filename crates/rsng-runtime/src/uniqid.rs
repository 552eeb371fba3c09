//! `use-uniqid()`: starts and stops message numbering ([`rsng_core::message::uniqid`]) and keeps
//! its state in the persist file, as syslog-ng keeps its `host_id` and `next.rcptid` entries: a
//! restart with the same persist file continues the sequence under the same host id.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use rsng_core::message::uniqid;
use rsng_drivers::file::persist;
use rsng_drivers::options::globals::DaemonGlobals;
use rsng_drivers::options::Globals;

const HOST_ID_KEY: &str = "host_id";
const NEXT_KEY: &str = "next.rcptid";

/// Switches numbering on or off as the configuration's `use-uniqid()` (or its old name
/// `use-rcptid()`) says. Numbering that already runs continues (a reload).
pub fn configure(globals: &Globals, persist_file: Option<&Path>) {
    // Not recorded as a read of the drivers: the option changes no driver.
    let wanted = DaemonGlobals::read_globals(&globals.detached()).uniqid();
    match (wanted, uniqid::enabled()) {
        (true, false) => {
            let store = persist::store(persist_file);
            let host_id = match store.text(HOST_ID_KEY).and_then(|t| u32::from_str_radix(&t, 16).ok()) {
                Some(id) => id,
                None => {
                    let id = random_u32();
                    store.set_text(HOST_ID_KEY, &format!("{id:08x}"));
                    id
                }
            };
            let next = store.text(NEXT_KEY).and_then(|t| t.parse().ok()).unwrap_or(1);
            uniqid::enable(host_id, next);
            store.set_text(NEXT_KEY, &next.to_string());
            store.save();
        }
        (false, true) => stop(persist_file),
        _ => {}
    }
}

/// Stops numbering and records where it stopped.
pub fn stop(persist_file: Option<&Path>) {
    let next = uniqid::disable();
    if next != 0 {
        let store = persist::store(persist_file);
        store.set_text(NEXT_KEY, &next.to_string());
        store.save();
    }
}

/// A random host id: the standard library's per-process random hash keys, mixed with the time
/// and the process id.
fn random_u32() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish() as u32
}
