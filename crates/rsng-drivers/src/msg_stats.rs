//! The counters syslog-ng keeps per message value from `stats-level(2)` on: messages by `$HOST`
//! (`src.host;;HOST;d`), and from `stats-level(3)` on by `$HOST_FROM` (`src.sender`), by
//! `$PROGRAM` (`src.program`), by host and sender per source driver, by severity and facility
//! (`src.severity`, `src.facility`) and by tag (`tag;NAME`). They are process-wide, as in
//! syslog-ng; below level 2 nothing is counted and the sources pay one atomic load per batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rsng_core::message::{Builtin, TagId};
use rsng_core::LogMessage;

/// A dynamic counter: messages and the receive time of the last one.
#[derive(Debug, Default, Clone, Copy)]
struct Count {
    processed: u64,
    stamp: u64,
}

impl Count {
    fn add(&mut self, stamp: u64) {
        self.processed += 1;
        self.stamp = stamp;
    }
}

type ByValue = HashMap<Box<[u8]>, Count>;

#[derive(Default)]
struct Counters {
    host: ByValue,
    sender: ByValue,
    program: ByValue,
    /// Per source driver id (`s#0`): by host and by sender.
    per_source: HashMap<Arc<str>, (ByValue, ByValue)>,
    severity: [u64; 8],
    /// Facilities 0-23, then `other`.
    facility: [u64; 25],
    tags: HashMap<TagId, u64>,
}

fn level_cell() -> &'static AtomicI64 {
    static LEVEL: AtomicI64 = AtomicI64::new(0);
    &LEVEL
}

fn counters() -> &'static Mutex<Counters> {
    static COUNTERS: OnceLock<Mutex<Counters>> = OnceLock::new();
    COUNTERS.get_or_init(Mutex::default)
}

/// Sets the `stats-level()` the counters follow (each start and reload).
pub fn set_level(level: i64) {
    level_cell().store(level, Ordering::Relaxed);
}

/// Whether per-message counters are kept.
pub fn active() -> bool {
    level_cell().load(Ordering::Relaxed) >= 2
}

fn bump(map: &mut ByValue, value: &[u8], stamp: u64) {
    match map.get_mut(value) {
        Some(c) => c.add(stamp),
        None => {
            let mut c = Count::default();
            c.add(stamp);
            map.insert(value.into(), c);
        }
    }
}

/// Counts the messages of a batch received by source driver `source_id` (only when
/// [`active`]).
pub fn count(source_id: &Arc<str>, batch: &[LogMessage]) {
    let level = level_cell().load(Ordering::Relaxed);
    if level < 2 {
        return;
    }
    let mut c = counters().lock().unwrap_or_else(|e| e.into_inner());
    let c = &mut *c;
    for msg in batch {
        let stamp = msg.received().sec.max(0) as u64;
        let host = msg.builtin(Builtin::Host);
        bump(&mut c.host, host, stamp);
        if level < 3 {
            continue;
        }
        let sender = msg.builtin(Builtin::HostFrom);
        bump(&mut c.sender, sender, stamp);
        bump(&mut c.program, msg.builtin(Builtin::Program), stamp);
        if !c.per_source.contains_key(&**source_id) {
            c.per_source.insert(source_id.clone(), Default::default());
        }
        if let Some((hosts, senders)) = c.per_source.get_mut(&**source_id) {
            bump(hosts, host, stamp);
            bump(senders, sender, stamp);
        }
        let pri = msg.pri();
        c.severity[usize::from(pri & 7)] += 1;
        c.facility[usize::from(pri >> 3).min(24)] += 1;
        for tag in msg.tags().iter() {
            *c.tags.entry(tag).or_default() += 1;
        }
    }
}

/// One row: component, id, instance, state, kind, value.
pub type Row = (&'static str, String, String, char, &'static str, u64);

/// The rows of the counters kept at `level`, as `syslog-ng-ctl stats` shows them.
pub fn rows(level: i64) -> Vec<Row> {
    let mut out = Vec::new();
    if level < 2 {
        return out;
    }
    let c = counters().lock().unwrap_or_else(|e| e.into_inner());
    let mut dynamic = |component: &'static str, id: &str, map: &ByValue| {
        for (value, count) in map {
            let instance = String::from_utf8_lossy(value).into_owned();
            out.push((component, id.to_string(), instance.clone(), 'd', "processed", count.processed));
            out.push((component, id.to_string(), instance, 'd', "stamp", count.stamp));
        }
    };
    dynamic("src.host", "", &c.host);
    if level < 3 {
        return out;
    }
    dynamic("src.sender", "", &c.sender);
    dynamic("src.program", "", &c.program);
    for (id, (hosts, senders)) in &c.per_source {
        dynamic("src.host", id, hosts);
        dynamic("src.sender", id, senders);
    }
    for (i, n) in c.severity.iter().enumerate() {
        out.push(("src.severity", String::new(), i.to_string(), 'a', "processed", *n));
    }
    for (i, n) in c.facility.iter().enumerate() {
        let name = if i == 24 { "other".to_string() } else { i.to_string() };
        out.push(("src.facility", String::new(), name, 'a', "processed", *n));
    }
    for (tag, n) in &c.tags {
        if let Some(name) = tag.name() {
            out.push(("tag", name.to_string(), String::new(), 'a', "processed", *n));
        }
    }
    out
}
