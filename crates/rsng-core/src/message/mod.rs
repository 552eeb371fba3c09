//! The message model: [`LogMessage`], a shared, copy-on-write log message.
//!
//! # Layout
//!
//! A message keeps the bytes it was received as (`Arc<[u8]>`, shared with
//! every copy) and stores its built-in values (`HOST`, `PROGRAM`, `PID`,
//! `MSGID`, `MESSAGE`, `LEGACY_MSGHDR`) and structured-data parameters as
//! byte ranges into them. Values that are not in the received bytes
//! (unescaped SD values, sanitised text, values set later by rewrites and
//! parsers, user name-value pairs) go to a per-message arena, a `Vec<u8>`
//! that stays unallocated for most messages; the sender's name
//! (`HOST_FROM`) and the source's name are `Arc<str>`s shared by all
//! messages of one connection.
//!
//! A [`LogMessage`] is an `Arc` handle: cloning it is a reference-count
//! bump. Changing a shared message ([`LogMessage::set_value`] and friends)
//! copies it first ([`Arc::make_mut`]); the copy shares the received
//! bytes.
//!
//! Building one from a parse result with [`LogMessage::from_parsed`]
//! allocates the `Arc` itself, plus the SD list when the message has
//! structured data and the arena when a value had to be rewritten.

mod encode;
mod tags;
mod time;
pub mod uniqid;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use jiff::tz::TimeZone;
use rsng_proto::syslog::{ParsedMessage, Stamp};

pub use tags::{TagId, Tags};
pub use time::{
    civil_from_days, days_from_civil, local_zone, resolve_timestamp, resolve_timestamp_with_hint, zone_offset,
    UnixTime, WallClock,
};

/// Where a value's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Val {
    /// Not set (reads as empty).
    #[default]
    Unset,
    /// A range of the received bytes.
    Raw(u32, u32),
    /// A range of the arena.
    Arena(u32, u32),
    /// Fixed text.
    Static(&'static [u8]),
    /// The sender's name (`HOST_FROM`).
    HostFrom,
}

/// One structured-data parameter: `.SDATA.<id>.<param>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SdEntry {
    id: Val,
    param: Val,
    value: Val,
}

/// A user name-value pair.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    name: Val,
    value: Val,
}

/// A built-in value that messages store directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Host,
    HostFrom,
    Program,
    Pid,
    MsgId,
    Message,
    LegacyMsgHdr,
    Source,
}

impl Builtin {
    /// The built-in value named `name` (including the aliases `MSG`,
    /// `MSGONLY`, `FULLHOST`, `FULLHOST_FROM`).
    pub fn from_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "HOST" | "FULLHOST" => Builtin::Host,
            "HOST_FROM" | "FULLHOST_FROM" => Builtin::HostFrom,
            "PROGRAM" => Builtin::Program,
            "PID" => Builtin::Pid,
            "MSGID" => Builtin::MsgId,
            "MESSAGE" | "MSG" | "MSGONLY" => Builtin::Message,
            "LEGACY_MSGHDR" => Builtin::LegacyMsgHdr,
            "SOURCE" => Builtin::Source,
            _ => return None,
        })
    }
}

/// What the receiving side knows about a message besides its bytes.
#[derive(Debug, Clone)]
pub struct ReceiveInfo {
    /// The source's name (`$SOURCE`, e.g. `s_net`).
    pub source: Arc<str>,
    /// The `.source.<name>` tag every message of the source gets.
    pub source_tag: TagId,
    /// The sender's name or address (`$HOST_FROM`; `$HOST` when the message has none).
    pub host_from: Arc<str>,
    /// The sender's address (`$SOURCEIP`), when it came over IP.
    pub source_ip: Option<IpAddr>,
    /// The sender's port (0 when unknown): `spoof-source()` sends from it.
    pub source_port: u16,
    /// The address the message came in on (`$DESTIP`, `$DESTPORT`), when known.
    pub dest: Option<SocketAddr>,
    /// When the message was received.
    pub received: UnixTime,
    /// The source's `time-zone()`: the zone of stamps that carry none.
    pub time_zone: TimeZone,
    /// Whether `time_zone` was configured (`time-zone()`): stamps without a zone then get the
    /// zone's offset at reception, as in syslog-ng; otherwise the local zone at the stamp.
    pub zone_configured: bool,
    /// Whether the message is local (internal or from a local source).
    pub local: bool,
    /// IP protocol number (6 TCP, 17 UDP) and local port it came in on (`$PROTO`,
    /// `$DESTPORT`); zeros when it did not come over IP.
    pub destination: (u8, u16),
}

impl ReceiveInfo {
    /// Receive information for source `source`, sender `host_from`, received now.
    pub fn new(source: &str, host_from: &str, source_ip: Option<IpAddr>, time_zone: TimeZone) -> ReceiveInfo {
        ReceiveInfo {
            source: Arc::from(source),
            source_tag: TagId::intern(&format!(".source.{source}")),
            host_from: Arc::from(host_from),
            source_ip,
            source_port: 0,
            dest: None,
            received: UnixTime::now(&time_zone),
            time_zone,
            zone_configured: false,
            local: false,
            destination: (0, 0),
        }
    }
}

#[derive(Debug, Clone)]
struct Inner {
    raw: Arc<[u8]>,
    arena: Vec<u8>,
    host: Val,
    program: Val,
    pid: Val,
    msgid: Val,
    message: Val,
    legacy_msghdr: Val,
    sdata: Vec<SdEntry>,
    pairs: Vec<Pair>,
    tags: Tags,
    pri: u16,
    source_port: u16,
    stamp: UnixTime,
    recvd: UnixTime,
    source: Arc<str>,
    host_from: Arc<str>,
    source_ip: Option<IpAddr>,
    dest: Option<SocketAddr>,
    destination: (u8, u16),
    local: bool,
    utf8: bool,
    /// `$HOST` holds a `chain-hostnames()` chain (`orig/relay`, `source@host`); the `HOST`
    /// macro then shows only the original name, `FULLHOST` the chain.
    chained_host: bool,
    /// A `-- MARK --` message (syslog-ng's `LF_MARK`).
    mark: bool,
    /// The receipt id (`$RCPTID`), 0 unless `use-uniqid()` numbers messages.
    rcptid: u64,
}

/// A log message; cloning is cheap (a reference-count bump).
#[derive(Debug, Clone)]
pub struct LogMessage {
    inner: Arc<Inner>,
}

const SDATA_PREFIX: &str = ".SDATA.";

impl LogMessage {
    /// An empty message with priority `user.notice`, received as `info` says.
    pub fn new(info: &ReceiveInfo) -> LogMessage {
        LogMessage::numbered(info, uniqid::take())
    }

    /// [`LogMessage::new`] with the receipt id taken already (an internal event's, taken when it
    /// happened).
    pub fn numbered(info: &ReceiveInfo, rcptid: u64) -> LogMessage {
        LogMessage::holding(info, rcptid, empty_bytes())
    }

    /// A message of `info` holding `raw`; built in one step, since a message is made for every
    /// line received.
    fn holding(info: &ReceiveInfo, rcptid: u64, raw: Arc<[u8]>) -> LogMessage {
        let mut tags = Tags::default();
        tags.insert(info.source_tag);
        let (pri, at) = (rsng_proto::syslog::DEFAULT_PRI, info.received);
        let mut inner = Inner::with(pri, at, at, raw, info.source.clone(), info.host_from.clone());
        inner.tags = tags;
        inner.source_ip = info.source_ip;
        inner.source_port = info.source_port;
        inner.dest = info.dest;
        inner.destination = info.destination;
        inner.local = info.local;
        inner.rcptid = rcptid;
        LogMessage { inner: Arc::new(inner) }
    }

    /// Builds a message from rsng-proto's parse result; `parsed` must be
    /// the result of parsing `raw` (its slices point into `raw`; anything
    /// else is copied).
    pub fn from_parsed(raw: Arc<[u8]>, parsed: &ParsedMessage<'_>, info: &ReceiveInfo) -> LogMessage {
        let mut msg = LogMessage::holding(info, uniqid::take(), raw);
        let inner = Arc::get_mut(&mut msg.inner).expect("fresh message");
        inner.pri = parsed.pri.0;
        inner.utf8 = parsed.utf8;
        inner.stamp = match parsed.stamp {
            Stamp::Parsed(t) => {
                let hint = info.zone_configured.then(|| zone_offset(&info.time_zone, info.received.sec));
                resolve_timestamp_with_hint(&t, local_zone(), &info.received, hint)
            }
            // Without a stamp, the receive time shown in the source's `time-zone()`.
            Stamp::None | Stamp::Nil if info.zone_configured => {
                UnixTime { gmtoff: zone_offset(&info.time_zone, info.received.sec), ..info.received }
            }
            Stamp::None | Stamp::Nil => info.received,
        };
        inner.host = match parsed.host {
            Some(h) if !h.is_empty() => inner.locate(h),
            _ => Val::HostFrom,
        };
        // syslog-ng sets PROGRAM (maybe empty) whenever it parsed an RFC 3164 header, and an
        // empty `prog[]` PID; both show in value-pairs (`$(format-json --scope nv-pairs)`).
        inner.program = if parsed.program.is_empty() && parsed.legacy_msghdr.is_some() {
            Val::Static(b"")
        } else {
            inner.locate_nonempty(parsed.program)
        };
        inner.pid = parsed.pid.map_or(Val::Unset, |p| if p.is_empty() { Val::Static(b"") } else { inner.locate(p) });
        inner.msgid = parsed.msgid.map_or(Val::Unset, |p| inner.locate_nonempty(p));
        inner.legacy_msghdr = parsed.legacy_msghdr.map_or(Val::Unset, |p| inner.locate_nonempty(p));
        inner.message = inner.locate(&parsed.message_text());
        if let Some(seq) = parsed.cisco_sequence_id {
            let value = inner.locate(seq);
            inner.set_sdata(Val::Static(b"meta"), Val::Static(b"sequenceId"), value, true);
        }
        if let Some(synced) = parsed.time_synced {
            let value = Val::Static(if synced { b"1" } else { b"0" });
            inner.set_sdata(Val::Static(b"timeQuality"), Val::Static(b"isSynced"), value, true);
        }
        for el in parsed.sd_elements() {
            let id = inner.locate(el.id);
            let mut any = false;
            for param in el.params() {
                any = true;
                let name = inner.locate(param.name);
                let value = inner.locate(&param.value());
                inner.set_sdata(id, name, value, true);
            }
            if !any {
                // `[id]` alone: syslog-ng stores `.SDATA.id` with an empty value.
                inner.set_sdata(id, Val::Unset, Val::Static(b""), true);
            }
        }
        msg
    }

    /// About how much memory the message holds: its fields and the bytes it was read from
    /// (shared with the other messages of the same read, so an upper bound).
    pub fn size_estimate(&self) -> usize {
        std::mem::size_of::<Inner>() + self.inner.raw.len()
    }

    /// The priority (`PRI`), as stored: 16 bits, not range checked.
    pub fn pri(&self) -> u16 {
        self.inner.pri
    }

    /// Sets the priority.
    pub fn set_pri(&mut self, pri: u16) {
        Arc::make_mut(&mut self.inner).pri = pri;
    }

    /// The message's timestamp (`$S_*` macros).
    pub fn stamp(&self) -> UnixTime {
        self.inner.stamp
    }

    /// Sets the message's timestamp.
    pub fn set_stamp(&mut self, stamp: UnixTime) {
        Arc::make_mut(&mut self.inner).stamp = stamp;
    }

    /// When the message was received (`$R_*` macros).
    pub fn received(&self) -> UnixTime {
        self.inner.recvd
    }

    /// The sender's address (`$SOURCEIP`).
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.inner.source_ip
    }

    /// The sender's address with its port, when it came over IP.
    pub fn source_addr(&self) -> Option<SocketAddr> {
        self.inner.source_ip.map(|ip| SocketAddr::new(ip, self.inner.source_port))
    }

    /// The address the message came in on (`$DESTIP`, `$DESTPORT`), when known.
    pub fn dest(&self) -> Option<SocketAddr> {
        self.inner.dest
    }

    /// IP protocol number and local port the message came in on (`$PROTO`, `$DESTPORT`).
    pub fn destination(&self) -> (u8, u16) {
        self.inner.destination
    }

    /// The receipt id `use-uniqid()` gave the message (0: none).
    pub fn rcptid(&self) -> u64 {
        self.inner.rcptid
    }

    /// Whether the message is local (internal, or from a local source).
    pub fn is_local(&self) -> bool {
        self.inner.local
    }

    /// Whether the message is flagged as UTF-8.
    pub fn is_utf8(&self) -> bool {
        self.inner.utf8
    }

    /// The tags.
    pub fn tags(&self) -> &Tags {
        &self.inner.tags
    }

    /// Adds a tag.
    pub fn set_tag(&mut self, tag: TagId) {
        Arc::make_mut(&mut self.inner).tags.insert(tag);
    }

    /// Removes a tag.
    pub fn clear_tag(&mut self, tag: TagId) {
        Arc::make_mut(&mut self.inner).tags.remove(tag);
    }

    /// A built-in value (empty when unset).
    pub fn builtin(&self, which: Builtin) -> &[u8] {
        let inner = &*self.inner;
        match which {
            Builtin::Host => inner.bytes(inner.host),
            Builtin::HostFrom => inner.host_from.as_bytes(),
            Builtin::Program => inner.bytes(inner.program),
            Builtin::Pid => inner.bytes(inner.pid),
            Builtin::MsgId => inner.bytes(inner.msgid),
            Builtin::Message => inner.bytes(inner.message),
            Builtin::LegacyMsgHdr => inner.bytes(inner.legacy_msghdr),
            Builtin::Source => inner.source.as_bytes(),
        }
    }

    /// The value of name-value pair `name`: built-in values, `.SDATA.id.param`
    /// and user pairs. `None` when unset.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        if let Some(b) = Builtin::from_name(name) {
            return Some(self.builtin(b));
        }
        let inner = &*self.inner;
        if let Some(rest) = name.strip_prefix(SDATA_PREFIX) {
            return inner.sdata.iter().find(|e| inner.sd_name_is(e, rest.as_bytes())).map(|e| inner.bytes(e.value));
        }
        inner.pairs.iter().find(|p| inner.bytes(p.name) == name.as_bytes()).map(|p| inner.bytes(p.value))
    }

    /// Empties the message as syslog-ng's `log_msg_clear` does: every value (the sender's name,
    /// source and address too), tags and flags go; priority and timestamps stay.
    pub fn clear(&mut self) {
        let old = &self.inner;
        // The receipt id stays, as in syslog-ng.
        self.inner = Arc::new(Inner { rcptid: old.rcptid, ..Inner::empty(old.pri, old.stamp, old.recvd) });
    }

    /// Marks the message as local (made by this host): writers then number it themselves in
    /// `$SEQNUM` and `$SDATA`.
    pub fn set_local(&mut self, local: bool) {
        if self.inner.local != local {
            Arc::make_mut(&mut self.inner).local = local;
        }
    }

    /// Whether this is a `-- MARK --` message made by rsng (`mark-freq()`).
    pub fn is_mark(&self) -> bool {
        self.inner.mark
    }

    /// Makes this a `-- MARK --` message: text, priority `syslog.info` and the mark flag, as
    /// syslog-ng's `log_msg_new_mark`.
    pub fn make_mark(&mut self) {
        self.set_pri(5 * 8 + 6);
        self.set_value("MESSAGE", b"-- MARK --");
        Arc::make_mut(&mut self.inner).mark = true;
    }

    /// Sets the time the message was received (`$R_*` macros).
    pub fn set_received(&mut self, t: UnixTime) {
        Arc::make_mut(&mut self.inner).recvd = t;
    }

    /// Marks `$HOST` as a `chain-hostnames()` chain.
    pub fn set_host_chained(&mut self) {
        Arc::make_mut(&mut self.inner).chained_host = true;
    }

    /// Whether `$HOST` is a `chain-hostnames()` chain.
    pub fn is_host_chained(&self) -> bool {
        self.inner.chained_host
    }

    /// Makes `$HOST` the sender's name (`$HOST_FROM`), as `keep-hostname(no)` does.
    pub fn use_sender_as_host(&mut self) {
        if self.inner.host != Val::HostFrom {
            Arc::make_mut(&mut self.inner).host = Val::HostFrom;
        }
    }

    /// Sets name-value pair `name` (copying the message first if it is shared).
    pub fn set_value(&mut self, name: &str, value: &[u8]) {
        let inner = Arc::make_mut(&mut self.inner);
        let v = inner.push_arena(value);
        if let Some(b) = Builtin::from_name(name) {
            match b {
                Builtin::Host => inner.host = v,
                // As syslog-ng: a changed PROGRAM or PID invalidates the header kept as received.
                Builtin::Program => {
                    inner.program = v;
                    inner.legacy_msghdr = Val::Unset;
                }
                Builtin::Pid => {
                    inner.pid = v;
                    inner.legacy_msghdr = Val::Unset;
                }
                Builtin::MsgId => inner.msgid = v,
                Builtin::Message => inner.message = v,
                Builtin::LegacyMsgHdr => inner.legacy_msghdr = v,
                Builtin::HostFrom => inner.host_from = Arc::from(String::from_utf8_lossy(value).as_ref()),
                Builtin::Source => inner.source = Arc::from(String::from_utf8_lossy(value).as_ref()),
            }
        } else if let Some(rest) = name.strip_prefix(SDATA_PREFIX) {
            let (id, param) = match rest.rfind('.') {
                Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
                None => (rest, None),
            };
            let id = inner.push_arena(id.as_bytes());
            let param = param.map_or(Val::Unset, |p| inner.push_arena(p.as_bytes()));
            inner.set_sdata(id, param, v, false);
        } else if let Some(i) = inner.pairs.iter().position(|p| inner.bytes(p.name) == name.as_bytes()) {
            inner.pairs[i].value = v;
        } else {
            let name = inner.push_arena(name.as_bytes());
            inner.pairs.push(Pair { name, value: v });
        }
    }

    /// Unsets name-value pair `name` (built-ins become empty).
    pub fn unset_value(&mut self, name: &str) {
        let inner = Arc::make_mut(&mut self.inner);
        match Builtin::from_name(name) {
            Some(Builtin::Host) => inner.host = Val::Unset,
            Some(Builtin::Program) => {
                inner.program = Val::Unset;
                inner.legacy_msghdr = Val::Unset;
            }
            Some(Builtin::Pid) => {
                inner.pid = Val::Unset;
                inner.legacy_msghdr = Val::Unset;
            }
            Some(Builtin::MsgId) => inner.msgid = Val::Unset,
            Some(Builtin::Message) => inner.message = Val::Unset,
            Some(Builtin::LegacyMsgHdr) => inner.legacy_msghdr = Val::Unset,
            Some(Builtin::HostFrom | Builtin::Source) => {}
            None => {
                if let Some(rest) = name.strip_prefix(SDATA_PREFIX) {
                    let inner_ref = &*inner;
                    if let Some(i) = inner_ref.sdata.iter().position(|e| inner_ref.sd_name_is(e, rest.as_bytes())) {
                        inner.sdata.remove(i);
                    }
                } else {
                    let inner_ref = &*inner;
                    if let Some(i) = inner_ref.pairs.iter().position(|p| inner_ref.bytes(p.name) == name.as_bytes()) {
                        inner.pairs.remove(i);
                    }
                }
            }
        }
    }

    /// The structured data, in storage order: `(id, param, value)`; `param`
    /// is empty for an element without parameters.
    pub fn sdata(&self) -> impl Iterator<Item = (&[u8], &[u8], &[u8])> + '_ {
        let inner = &*self.inner;
        inner.sdata.iter().map(move |e| (inner.bytes(e.id), inner.bytes(e.param), inner.bytes(e.value)))
    }

    /// The user name-value pairs (not built-ins or SD), in the order set.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let inner = &*self.inner;
        inner.pairs.iter().map(move |p| (inner.bytes(p.name), inner.bytes(p.value)))
    }

    /// The sequence number a destination writer passes to templates
    /// (`$SEQNUM`, the `sequenceId` of `$SDATA`), as syslog-ng 3.38's
    /// `log_writer_format_log` picks it: the writer's own counter for local
    /// messages, otherwise the number in `.SDATA.meta.sequenceId` (0 when
    /// there is none).
    pub fn writer_seq_num(&self, writer_counter: u32) -> u32 {
        if self.inner.local {
            return writer_counter;
        }
        match self.get(".SDATA.meta.sequenceId") {
            Some(v) => strtol_u32(v),
            None => 0,
        }
    }

    /// Whether two handles share one message.
    pub fn ptr_eq(a: &LogMessage, b: &LogMessage) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Every name-value pair that is set (possibly to an empty value), as
    /// syslog-ng's `log_msg_values_foreach` lists them: the built-in values
    /// (`HOST`, `HOST_FROM`, `MESSAGE`, `PROGRAM`, `PID`, `MSGID`, `SOURCE`,
    /// `LEGACY_MSGHDR`), then structured data (`.SDATA.id.param`), then user
    /// pairs. Allocates nothing.
    pub fn values(&self) -> impl Iterator<Item = (ValueName<'_>, &[u8])> + '_ {
        let inner = &*self.inner;
        let builtins = [
            ("HOST", inner.host),
            ("HOST_FROM", Val::HostFrom),
            ("MESSAGE", inner.message),
            ("PROGRAM", inner.program),
            ("PID", inner.pid),
            ("MSGID", inner.msgid),
            ("SOURCE", Val::Static(b"")),
            ("LEGACY_MSGHDR", inner.legacy_msghdr),
        ];
        let builtins = builtins.into_iter().filter(|(_, v)| *v != Val::Unset).map(move |(name, v)| {
            let value = if name == "SOURCE" { inner.source.as_bytes() } else { inner.bytes(v) };
            (ValueName::Builtin(name), value)
        });
        let sdata = inner.sdata.iter().map(move |e| {
            (ValueName::Sdata { id: inner.bytes(e.id), param: inner.bytes(e.param) }, inner.bytes(e.value))
        });
        let pairs = inner.pairs.iter().map(move |p| (ValueName::Pair(inner.bytes(p.name)), inner.bytes(p.value)));
        builtins.chain(sdata).chain(pairs)
    }
}

/// The name of a value listed by [`LogMessage::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueName<'a> {
    /// A built-in value (`HOST`, `PROGRAM`, ...).
    Builtin(&'static str),
    /// `.SDATA.<id>.<param>`, or `.SDATA.<id>` when `param` is empty.
    Sdata { id: &'a [u8], param: &'a [u8] },
    /// A user name-value pair.
    Pair(&'a [u8]),
}

impl ValueName<'_> {
    /// Appends the full name to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match *self {
            ValueName::Builtin(name) => out.extend_from_slice(name.as_bytes()),
            ValueName::Sdata { id, param } => {
                out.extend_from_slice(SDATA_PREFIX.as_bytes());
                out.extend_from_slice(id);
                if !param.is_empty() {
                    out.push(b'.');
                    out.extend_from_slice(param);
                }
            }
            ValueName::Pair(name) => out.extend_from_slice(name),
        }
    }
}

/// C's `strtol(s, NULL, 10)` cast to 32 bits: leading space, a sign, digits.
fn strtol_u32(v: &[u8]) -> u32 {
    let s = v.iter().position(|c| !c.is_ascii_whitespace()).map_or(&v[..0], |i| &v[i..]);
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &c in s.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    (if neg { n.wrapping_neg() } else { n }) as u32
}

/// The shared empty value: an empty `Arc` costs an allocation each time it is made.
fn empty_bytes() -> Arc<[u8]> {
    static EMPTY: std::sync::OnceLock<Arc<[u8]>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(&[][..])).clone()
}

fn empty_str() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}

impl Inner {
    /// A message with nothing set: no values, tags, sender or flags.
    fn empty(pri: u16, stamp: UnixTime, recvd: UnixTime) -> Inner {
        Inner::with(pri, stamp, recvd, empty_bytes(), empty_str(), empty_str())
    }

    fn with(
        pri: u16,
        stamp: UnixTime,
        recvd: UnixTime,
        raw: Arc<[u8]>,
        source: Arc<str>,
        host_from: Arc<str>,
    ) -> Inner {
        Inner {
            raw,
            arena: Vec::new(),
            host: Val::Unset,
            program: Val::Unset,
            pid: Val::Unset,
            msgid: Val::Unset,
            message: Val::Unset,
            legacy_msghdr: Val::Unset,
            sdata: Vec::new(),
            pairs: Vec::new(),
            tags: Tags::default(),
            pri,
            source_port: 0,
            stamp,
            recvd,
            source,
            host_from,
            source_ip: None,
            dest: None,
            destination: (0, 0),
            local: false,
            utf8: false,
            chained_host: false,
            mark: false,
            rcptid: 0,
        }
    }

    fn bytes(&self, v: Val) -> &[u8] {
        match v {
            Val::Unset => b"",
            Val::Raw(s, l) => &self.raw[s as usize..(s + l) as usize],
            Val::Arena(s, l) => &self.arena[s as usize..(s + l) as usize],
            Val::Static(b) => b,
            Val::HostFrom => self.host_from.as_bytes(),
        }
    }

    /// A range of the received bytes when `s` lies in them, else an arena copy.
    fn locate(&mut self, s: &[u8]) -> Val {
        let base = self.raw.as_ptr() as usize;
        let start = s.as_ptr() as usize;
        if start >= base && start + s.len() <= base + self.raw.len() && self.raw.len() <= u32::MAX as usize {
            Val::Raw((start - base) as u32, s.len() as u32)
        } else {
            self.push_arena(s)
        }
    }

    fn locate_nonempty(&mut self, s: &[u8]) -> Val {
        if s.is_empty() {
            Val::Unset
        } else {
            self.locate(s)
        }
    }

    fn push_arena(&mut self, s: &[u8]) -> Val {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(s);
        Val::Arena(start, s.len() as u32)
    }

    /// Whether SD entry `e` is `.SDATA.<rest>`.
    fn sd_name_is(&self, e: &SdEntry, rest: &[u8]) -> bool {
        let id = self.bytes(e.id);
        if e.param == Val::Unset {
            return rest == id;
        }
        let param = self.bytes(e.param);
        rest.len() == id.len() + 1 + param.len()
            && rest.starts_with(id)
            && rest[id.len()] == b'.'
            && rest.ends_with(param)
    }

    /// Sets an SD parameter: overwrites an existing one; a new one goes after
    /// the last parameter of the same element (at the end while parsing).
    fn set_sdata(&mut self, id: Val, param: Val, value: Val, initial: bool) {
        let (idb, pb) = (self.bytes(id), self.bytes(param));
        if let Some(e) = self.sdata.iter().position(|e| self.bytes(e.id) == idb && self.bytes(e.param) == pb) {
            self.sdata[e].value = value;
            return;
        }
        let entry = SdEntry { id, param, value };
        if !initial {
            if let Some(last) = self.sdata.iter().rposition(|e| self.bytes(e.id) == idb) {
                self.sdata.insert(last + 1, entry);
                return;
            }
        }
        self.sdata.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsng_proto::syslog::{parse, ParseOptions};

    fn info() -> ReceiveInfo {
        let mut info = ReceiveInfo::new("s_test", "10.0.0.1", "10.0.0.1".parse().ok(), TimeZone::UTC);
        info.received = UnixTime { sec: days_from_civil(2024, 6, 1) * 86_400, usec: 0, gmtoff: 0 };
        info
    }

    fn msg(text: &[u8]) -> LogMessage {
        let raw: Arc<[u8]> = Arc::from(text);
        let flags = rsng_proto::syslog::ParseFlags { syslog_protocol: true, ..Default::default() };
        let parsed = parse(&raw, &ParseOptions::with_flags(flags)).expect("parses");
        LogMessage::from_parsed(raw.clone(), &parsed, &info())
    }

    #[test]
    fn fields_point_into_the_received_bytes() {
        let m = msg(b"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed");
        assert_eq!(m.pri(), 34);
        assert_eq!(m.get("HOST"), Some(&b"mymachine"[..]));
        assert_eq!(m.get("PROGRAM"), Some(&b"su"[..]));
        assert_eq!(m.get("PID"), Some(&b"123"[..]));
        assert_eq!(m.get("MSG"), Some(&b"'su root' failed"[..]));
        assert_eq!(m.get("LEGACY_MSGHDR"), Some(&b"su[123]: "[..]));
        assert_eq!(m.get("SOURCE"), Some(&b"s_test"[..]));
        assert!(m.inner.arena.is_empty());
        assert_eq!(m.get(".nope"), None);
        let wc = WallClock::new(&m.stamp(), 0);
        assert_eq!((wc.year, wc.mon, wc.mday, wc.hour), (2024, 9, 11, 22));
    }

    #[test]
    fn sdata_and_copy_on_write() {
        let m = msg(b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"q\\\"uote\"][b@2 y=\"2\"][c] hi");
        assert_eq!(m.get(".SDATA.a.x"), Some(&b"q\"uote"[..]));
        assert_eq!(m.get(".SDATA.b@2.y"), Some(&b"2"[..]));
        assert_eq!(m.get(".SDATA.c"), Some(&b""[..]));
        let mut copy = m.clone();
        assert!(LogMessage::ptr_eq(&m, &copy));
        copy.set_value(".SDATA.a.z", b"new");
        copy.set_value(".json.a", b"1");
        copy.set_value("HOST", b"other");
        assert!(!LogMessage::ptr_eq(&m, &copy));
        assert_eq!(m.get("HOST"), Some(&b"host"[..]));
        assert_eq!(copy.get("HOST"), Some(&b"other"[..]));
        assert_eq!(copy.get(".json.a"), Some(&b"1"[..]));
        let order: Vec<_> = copy.sdata().map(|(i, p, _)| (i.to_vec(), p.to_vec())).collect();
        assert_eq!(order[1], (b"a".to_vec(), b"z".to_vec()));
        assert_eq!(m.sdata().count(), 3);
        copy.unset_value(".json.a");
        assert_eq!(copy.get(".json.a"), None);
    }

    #[test]
    fn missing_host_and_seq_num() {
        let m = msg(b"<13>123: Jan  2 10:11:12 prog: missing hostname");
        assert_eq!(m.get("HOST"), Some(&b"10.0.0.1"[..]));
        assert_eq!(m.writer_seq_num(7), 123);
        assert_eq!(msg(b"<13>x").writer_seq_num(7), 0);
        assert_eq!(strtol_u32(b" 12ab"), 12);
    }
}
