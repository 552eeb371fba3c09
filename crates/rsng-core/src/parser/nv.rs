//! Name-value helpers shared by the parsers and rewrite rules: regex match groups (`$0`..`$255`,
//! stored as name-value pairs named `0`..`255` as in syslog-ng), "is this value set", and
//! building prefixed names without allocating.

use super::scratch::ScratchString;
use crate::message::{Builtin, LogMessage, ValueName};

pub use crate::bytes::c_str;

/// syslog-ng's `LOGMSG_MAX_MATCHES`: match groups `$0`..`$255`.
pub const MAX_MATCHES: usize = 256;

/// The decimal name of match group `index` (`"0"`..`"255"`), written into `buf`.
pub fn match_name(index: usize, buf: &mut [u8; 3]) -> &str {
    let mut n = index.min(MAX_MATCHES - 1);
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The match index a pair name denotes (`"0"`..`"255"`, canonical decimal only).
pub fn match_index(name: &[u8]) -> Option<usize> {
    if name.is_empty() || name.len() > 3 || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    let mut n = 0usize;
    for &c in name {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(c - b'0');
    }
    (n < MAX_MATCHES).then_some(n)
}

/// Sets match group `index` (`$index`).
pub fn set_match(msg: &mut LogMessage, index: usize, value: &[u8]) {
    if index < MAX_MATCHES {
        let mut buf = [0u8; 3];
        msg.set_value(match_name(index, &mut buf), value);
    }
}

/// Unsets every match group from `n` up (syslog-ng's `log_msg_truncate_matches`).
pub fn truncate_matches(msg: &mut LogMessage, n: usize) {
    let mut set = [0u64; MAX_MATCHES / 64];
    let mut any = false;
    for (name, _) in msg.pairs() {
        if let Some(i) = match_index(name).filter(|&i| i >= n) {
            set[i / 64] |= 1 << (i % 64);
            any = true;
        }
    }
    if !any {
        return;
    }
    for i in n..MAX_MATCHES {
        if set[i / 64] & (1 << (i % 64)) != 0 {
            let mut buf = [0u8; 3];
            msg.unset_value(match_name(i, &mut buf));
        }
    }
}

/// Unsets every match group (`log_msg_clear_matches`).
pub fn clear_matches(msg: &mut LogMessage) {
    truncate_matches(msg, 0);
}

/// Whether changing `name` drops `LEGACY_MSGHDR`: syslog-ng unsets the legacy header whenever
/// `PROGRAM` or `PID` is set or unset, as it no longer matches them.
fn invalidates_legacy_header(name: &str) -> bool {
    matches!(Builtin::from_name(name), Some(Builtin::Program | Builtin::Pid))
}

/// Sets `name` as syslog-ng's `log_msg_set_value` does (see [`invalidates_legacy_header`]).
pub fn set(msg: &mut LogMessage, name: &str, value: &[u8]) {
    msg.set_value(name, value);
    if invalidates_legacy_header(name) {
        msg.unset_value("LEGACY_MSGHDR");
    }
}

/// Unsets `name` as syslog-ng's `log_msg_unset_value` does.
pub fn unset(msg: &mut LogMessage, name: &str) {
    msg.unset_value(name);
    if invalidates_legacy_header(name) {
        msg.unset_value("LEGACY_MSGHDR");
    }
}

/// The canonical name under which [`LogMessage::values`] lists built-in `b`.
fn builtin_name(b: Builtin) -> &'static str {
    match b {
        Builtin::Host => "HOST",
        Builtin::HostFrom => "HOST_FROM",
        Builtin::Program => "PROGRAM",
        Builtin::Pid => "PID",
        Builtin::MsgId => "MSGID",
        Builtin::Message => "MESSAGE",
        Builtin::LegacyMsgHdr => "LEGACY_MSGHDR",
        Builtin::Source => "SOURCE",
    }
}

/// The value of `name` when it is set (possibly empty), `None` when unset. Unlike
/// [`LogMessage::get`], an unset built-in value (`$PID` of a message without one) is `None`.
pub fn get_if_set<'m>(msg: &'m LogMessage, name: &str) -> Option<&'m [u8]> {
    match Builtin::from_name(name) {
        Some(b) => {
            let canonical = builtin_name(b);
            msg.values().find(|(n, _)| *n == ValueName::Builtin(canonical)).map(|(_, v)| v)
        }
        None => msg.get(name),
    }
}

/// Whether `name` would be missing from syslog-ng's payload: not set, and not one of the
/// values every received message carries (`MESSAGE`, `HOST`, `HOST_FROM`, `SOURCE`). syslog-ng
/// keeps an entry for a value that was set and later unset; rsng cannot tell such a value from
/// one never set, and takes it as never set.
pub fn missing(msg: &LogMessage, name: &str) -> bool {
    let always = matches!(
        Builtin::from_name(name),
        Some(Builtin::Message | Builtin::Host | Builtin::HostFrom | Builtin::Source)
    );
    !always && get_if_set(msg, name).is_none()
}

/// `prefix` + `key` names, built in a reused buffer.
#[derive(Debug)]
pub struct PrefixedName {
    buf: ScratchString,
    prefix_len: usize,
}

impl PrefixedName {
    /// Names starting with `prefix`.
    pub fn new(prefix: &str) -> PrefixedName {
        let mut buf = ScratchString::take();
        buf.push_str(prefix);
        PrefixedName { buf, prefix_len: prefix.len() }
    }

    /// `prefix` + `key`; invalid UTF-8 in `key` is replaced.
    pub fn with(&mut self, key: &[u8]) -> &str {
        self.buf.truncate(self.prefix_len);
        match std::str::from_utf8(key) {
            Ok(k) => self.buf.push_str(k),
            Err(_) => self.buf.push_str(&String::from_utf8_lossy(key)),
        }
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;

    fn msg() -> LogMessage {
        LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC))
    }

    #[test]
    fn match_names() {
        let mut b = [0u8; 3];
        assert_eq!(match_name(0, &mut b), "0");
        assert_eq!(match_name(42, &mut b), "42");
        assert_eq!(match_name(255, &mut b), "255");
        assert_eq!(match_index(b"07"), None);
        assert_eq!(match_index(b"256"), None);
        assert_eq!(match_index(b"12"), Some(12));
    }

    #[test]
    fn truncating_matches() {
        let mut m = msg();
        for i in 0..5 {
            set_match(&mut m, i, b"x");
        }
        m.set_value("07", b"kept");
        truncate_matches(&mut m, 2);
        assert_eq!(m.get("1"), Some(&b"x"[..]));
        assert_eq!(m.get("2"), None);
        assert_eq!(m.get("4"), None);
        assert_eq!(m.get("07"), Some(&b"kept"[..]));
        clear_matches(&mut m);
        assert_eq!(m.get("0"), None);
    }

    #[test]
    fn set_or_unset() {
        let mut m = msg();
        assert_eq!(get_if_set(&m, "PID"), None);
        assert_eq!(get_if_set(&m, "HOST_FROM"), Some(&b"h"[..]));
        m.set_value("MSG", b"");
        assert_eq!(get_if_set(&m, "MESSAGE"), Some(&b""[..]));
        let mut p = PrefixedName::new(".kv.");
        assert_eq!(p.with(b"a"), ".kv.a");
        assert_eq!(p.with(b"bb"), ".kv.bb");
    }
}
