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
    /// How many dynamic counters there are (the `d` rows: by host, sender and program).
    dynamic: usize,
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

/// `stats-max-dynamics()` (`None`: no limit) and `stats-lifetime()` (seconds).
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_dynamic: Option<usize>,
    lifetime: u64,
}

fn limits() -> &'static Mutex<Limits> {
    static LIMITS: Mutex<Limits> = Mutex::new(Limits { max_dynamic: None, lifetime: DEFAULT_LIFETIME });
    &LIMITS
}

/// syslog-ng's default `stats-lifetime()`.
pub const DEFAULT_LIFETIME: u64 = 600;

/// Sets `stats-max-dynamics()` (`None` or negative: no limit) and `stats-lifetime()` (each
/// start and reload).
pub fn set_limits(max_dynamic: Option<i64>, lifetime: Option<i64>) {
    *limits().lock().unwrap_or_else(|e| e.into_inner()) = Limits {
        max_dynamic: max_dynamic.filter(|&n| n >= 0).map(|n| n as usize),
        lifetime: lifetime.filter(|&n| n > 0).map_or(DEFAULT_LIFETIME, |n| n as u64),
    };
}

/// The dynamic counters not updated for `stats-lifetime()` seconds go, as syslog-ng prunes
/// them at each statistics period: how many went and the oldest stamp among them.
pub fn prune(now: u64) -> Option<(usize, u64)> {
    let lifetime = limits().lock().unwrap_or_else(|e| e.into_inner()).lifetime;
    let mut c = counters().lock().unwrap_or_else(|e| e.into_inner());
    let c = &mut *c;
    let (mut dropped, mut oldest) = (0, 0);
    let mut prune_map = |map: &mut ByValue| {
        map.retain(|_, count| {
            let expired = count.stamp <= now.saturating_sub(lifetime);
            if expired {
                dropped += 1;
                if oldest == 0 || count.stamp < oldest {
                    oldest = count.stamp;
                }
            }
            !expired
        })
    };
    prune_map(&mut c.host);
    prune_map(&mut c.sender);
    prune_map(&mut c.program);
    for (hosts, senders) in c.per_source.values_mut() {
        prune_map(hosts);
        prune_map(senders);
    }
    c.dynamic -= dropped;
    (dropped > 0).then_some((dropped, oldest))
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

/// Counts a message for `value`; a new value gets a counter while `stats-max-dynamics()`
/// allows one more (`dynamic` is how many there are), with syslog-ng's warning when the
/// limit is reached.
fn bump(map: &mut ByValue, value: &[u8], stamp: u64, dynamic: &mut usize, max: Option<usize>) {
    match map.get_mut(value) {
        Some(c) => c.add(stamp),
        None => {
            if max.is_some_and(|m| *dynamic >= m) {
                return;
            }
            let mut c = Count::default();
            c.add(stamp);
            map.insert(value.into(), c);
            *dynamic += 1;
            if let Some(m) = max.filter(|&m| *dynamic >= m) {
                crate::internal::warning(format!(
                    "Number of dynamic cluster limit has been reached.; allowed_clusters='{m}'"
                ));
            }
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
    let max = limits().lock().unwrap_or_else(|e| e.into_inner()).max_dynamic;
    let mut c = counters().lock().unwrap_or_else(|e| e.into_inner());
    let c = &mut *c;
    for msg in batch {
        let stamp = msg.received().sec.max(0) as u64;
        let host = msg.builtin(Builtin::Host);
        bump(&mut c.host, host, stamp, &mut c.dynamic, max);
        if level < 3 {
            continue;
        }
        let sender = msg.builtin(Builtin::HostFrom);
        bump(&mut c.sender, sender, stamp, &mut c.dynamic, max);
        bump(&mut c.program, msg.builtin(Builtin::Program), stamp, &mut c.dynamic, max);
        if !c.per_source.contains_key(&**source_id) {
            c.per_source.insert(source_id.clone(), Default::default());
        }
        if let Some((hosts, senders)) = c.per_source.get_mut(&**source_id) {
            bump(hosts, host, stamp, &mut c.dynamic, max);
            bump(senders, sender, stamp, &mut c.dynamic, max);
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
