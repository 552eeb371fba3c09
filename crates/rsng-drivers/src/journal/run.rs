//! The reading thread of `systemd-journal()`.
//!
//! sd-journal objects must stay on the thread that opened them, so the source runs on one
//! blocking thread for its whole life: it waits for room in the destinations (the journal keeps
//! what is not read yet, so nothing is dropped), reads up to `log-fetch-limit()` entries, posts
//! them as one batch and records the cursor of the last one; at the end of the journal it waits
//! for it to grow (sd_journal_wait(), woken up by inotify), checking for shutdown in between.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rsng_core::message::{zone_offset, ReceiveInfo, UnixTime};
use rsng_core::LogMessage;

use super::ffi::Journal;
use super::options::{JournalOptions, MAX_NAME_LEN};
use crate::file::persist::PersistStore;
use crate::receive::Receiver;
use crate::{internal, Source, SourceContext, Task};

/// How long one wait for new entries lasts at most: the bound on noticing shutdown.
const WAIT: Duration = Duration::from_millis(200);
/// How often the cursor is written to the persist file at most while reading.
const SAVE_EVERY: Duration = Duration::from_secs(1);

pub struct JournalSource {
    pub(super) receiver: Receiver,
    pub(super) options: JournalOptions,
    /// The persist-file key of the cursor.
    pub(super) key: String,
    /// `match-boot(yes)`: the current boot's id.
    pub(super) boot_id: Option<String>,
    pub(super) store: Arc<PersistStore>,
}

impl Source for JournalSource {
    fn run(self: Box<Self>, ctx: SourceContext) -> Task {
        Box::pin(async move {
            let handle = tokio::runtime::Handle::current();
            let _ = tokio::task::spawn_blocking(move || self.read(ctx, &handle)).await;
        })
    }
}

/// Buffers kept from entry to entry.
#[derive(Default)]
struct Scratch {
    name: String,
    program: Vec<u8>,
}

impl JournalSource {
    fn open(&self) -> Option<Journal> {
        let (namespace, flags) = self.options.open_args();
        let mut j = match Journal::open(namespace, flags) {
            Ok(j) => j,
            Err(e) => {
                internal::error(format!("Error opening the journal; error='{}'", crate::file::os_error(&e)));
                return None;
            }
        };
        let boot = self.boot_id.as_ref().map(|id| format!("_BOOT_ID={id}").into_bytes());
        for term in self.options.matches.iter().chain(boot.iter()) {
            if let Err(e) = j.add_match(term) {
                internal::error(format!(
                    "Error adding a journal match; match='{}', error='{}'",
                    String::from_utf8_lossy(term),
                    crate::file::os_error(&e)
                ));
                return None;
            }
        }
        self.seek_start(&mut j).then_some(j)
    }

    /// Positions the journal on the last entry handed on (the saved cursor), before the first
    /// entry, or (`read-old-records(no)`) on the newest entry.
    fn seek_start(&self, j: &mut Journal) -> bool {
        if let Some(cursor) = self.store.text(&self.key) {
            let at_saved = match j.seek_cursor(&cursor).and_then(|()| j.step()) {
                Err(e) => {
                    internal::warning(format!(
                        "Failed to seek journal to the saved cursor position; cursor='{cursor}', error='{}'",
                        crate::file::os_error(&e)
                    ));
                    false
                }
                Ok(false) => {
                    internal::warning("Failed to step cursor");
                    false
                }
                Ok(true) => {
                    j.test_cursor(&cursor).unwrap_or(false) || {
                        internal::warning(format!(
                        "Current position not matches to the saved cursor position, seek to head; cursor='{cursor}'"
                    ));
                        false
                    }
                }
            };
            if at_saved {
                return true;
            }
            return self.seek_head(j);
        }
        if self.options.read_old_records {
            return self.seek_head(j);
        }
        if let Err(e) = j.seek_tail() {
            internal::error(format!(
                "Failed to seek to the end position of the journal; error='{}'",
                crate::file::os_error(&e)
            ));
            return false;
        }
        if !j.step().unwrap_or(false) {
            internal::error("Can't move cursor to the next position after seek to tail.");
            return false;
        }
        // A restart continues after this entry, not at the end of the journal then.
        if let Ok(cursor) = j.cursor() {
            self.store.set_text(&self.key, &cursor);
        }
        true
    }

    fn seek_head(&self, j: &mut Journal) -> bool {
        match j.seek_head() {
            Ok(()) => true,
            Err(e) => {
                internal::error(format!(
                    "Failed to seek to the start position of the journal; error='{}'",
                    crate::file::os_error(&e)
                ));
                false
            }
        }
    }

    fn read(self: Box<Self>, ctx: SourceContext, handle: &tokio::runtime::Handle) {
        let SourceContext { mut port, shutdown, .. } = ctx;
        // A reload starts the new reader before the old one stops: it starts from the cursor the
        // old one leaves, so that no entry is read twice.
        let turn = reader_turn(&self.key);
        let _turn = turn.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut j) = self.open() else {
            // Stay until stopped, like a source whose init failed at run time.
            handle.block_on(shutdown.cancelled());
            return;
        };
        let limit = self.options.fetch_limit;
        let mut info = self.receiver.info(None);
        let mut scratch = Scratch::default();
        let mut batch = Vec::with_capacity(limit);
        loop {
            let go_on = handle.block_on(async {
                tokio::select! {
                    _ = port.ready_all() => true,
                    _ = shutdown.cancelled() => false,
                }
            });
            if !go_on {
                break;
            }
            info.received = self.receiver.now();
            let mut at_end = false;
            while batch.len() < limit {
                match j.step() {
                    Ok(true) => batch.push(self.message(&mut j, &info, &mut scratch)),
                    Ok(false) => {
                        at_end = true;
                        break;
                    }
                    Err(e) => {
                        internal::error(format!(
                            "Error occurred while getting next message from journal; error='{}'",
                            crate::file::os_error(&e)
                        ));
                        at_end = true;
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                if let Ok(cursor) = j.cursor() {
                    self.store.set_text(&self.key, &cursor);
                }
                port.post(&mut batch);
            }
            if self.store.save_due(SAVE_EVERY) {
                self.store.save();
            }
            if at_end {
                if shutdown.is_cancelled() {
                    break;
                }
                let _ = j.wait(WAIT);
            }
        }
        self.store.save();
    }

    /// The message of the current entry.
    fn message(&self, j: &mut Journal, info: &ReceiveInfo, scratch: &mut Scratch) -> LogMessage {
        let opts = &self.options;
        let mut msg = LogMessage::new(info);
        let mut pri = opts.default_pri;
        j.for_each_field(|field| {
            let Some(eq) = field.iter().position(|&b| b == b'=') else { return };
            let (key, value) = (&field[..eq], &field[eq + 1..]);
            // syslog-ng copies values as C strings: they end at the first NUL.
            let value = value.iter().position(|&b| b == 0).map_or(value, |nul| &value[..nul]);
            let value = &value[..value.len().min(opts.max_field_size)];
            match key {
                b"MESSAGE" => msg.set_value("MESSAGE", value),
                b"_HOSTNAME" => msg.set_value("HOST", value),
                b"_PID" => msg.set_value("PID", value),
                b"SYSLOG_FACILITY" => pri = (pri & 7) | (atoi(value) << 3) as u16,
                b"PRIORITY" => pri = (pri & !7) | atoi(value) as u16,
                _ => {}
            }
            let key = String::from_utf8_lossy(key);
            set_name(&mut scratch.name, &opts.prefix, &key);
            msg.set_value(&scratch.name, value);
        });
        msg.set_pri(pri);
        if let Ok(usec) = j.realtime_usec() {
            let sec = (usec / 1_000_000) as i64;
            let usec = (usec % 1_000_000) as u32;
            msg.set_stamp(UnixTime { sec, usec, gmtoff: zone_offset(&self.receiver.time_zone, sec) });
        }
        // $PROGRAM: SYSLOG_IDENTIFIER, else _COMM, read back as stored (under the prefix).
        scratch.program.clear();
        for field in ["SYSLOG_IDENTIFIER", "_COMM"] {
            set_name(&mut scratch.name, &opts.prefix, field);
            if let Some(v) = msg.get(&scratch.name).filter(|v| !v.is_empty()) {
                scratch.program.extend_from_slice(v);
                break;
            }
        }
        msg.set_value("PROGRAM", &scratch.program);
        self.receiver.finish(&mut msg, info);
        msg
    }
}

/// The lock a reader of the cursor under `key` holds while it reads.
fn reader_turn(key: &str) -> Arc<Mutex<()>> {
    static TURNS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut turns = TURNS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    turns.entry(key.to_string()).or_default().clone()
}

/// `prefix` + `key`, cut as syslog-ng's name buffer cuts it.
fn set_name(name: &mut String, prefix: &str, key: &str) {
    name.clear();
    name.push_str(prefix);
    name.push_str(key);
    if name.len() > MAX_NAME_LEN {
        let mut end = MAX_NAME_LEN;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
}

/// C's `atoi()`: optional blanks and sign, then digits; anything else ends the number.
fn atoi(text: &[u8]) -> i32 {
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        if !b.is_ascii_whitespace() {
            break;
        }
        rest = tail;
    }
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let mut n: i32 = 0;
    for &b in rest.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add(i32::from(b - b'0'));
    }
    if negative {
        n.wrapping_neg()
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi(b"3"), 3);
        assert_eq!(atoi(b"  12x"), 12);
        assert_eq!(atoi(b"-4"), -4);
        assert_eq!(atoi(b"x1"), 0);
        assert_eq!(atoi(b""), 0);
    }

    #[test]
    fn names_are_cut_at_255_bytes() {
        let mut name = String::new();
        set_name(&mut name, ".journald.", &"A".repeat(300));
        assert_eq!(name.len(), 255);
        assert!(name.starts_with(".journald.AAA"));
    }
}
