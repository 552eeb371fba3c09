//! A message as bytes and back, for queues that outlive the process (`disk-buffer()`).
//!
//! The encoding is rsng's own: a version byte, then every field with its value written out
//! (values that point into the received bytes are copied), strings and byte strings prefixed
//! with their length. Tags are stored by name, since tag ids are numbered per process.

use std::net::IpAddr;
use std::sync::Arc;

use super::{Inner, LogMessage, SdEntry, TagId, UnixTime, Val};

/// Version 2 added the receiving address at the end, version 3 the sender's port after it;
/// older records still decode.
const VERSION: u8 = 3;

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_time(out: &mut Vec<u8>, t: &UnixTime) {
    out.extend_from_slice(&t.sec.to_le_bytes());
    out.extend_from_slice(&t.usec.to_le_bytes());
    out.extend_from_slice(&t.gmtoff.to_le_bytes());
}

/// An optional value: 0 unset, 1 set (then the bytes), 2 "the sender's name".
fn put_val(out: &mut Vec<u8>, inner: &Inner, v: Val) {
    match v {
        Val::Unset => out.push(0),
        Val::HostFrom => out.push(2),
        other => {
            out.push(1);
            put_bytes(out, inner.bytes(other));
        }
    }
}

fn put_ip(out: &mut Vec<u8>, ip: Option<IpAddr>) {
    match ip {
        None => out.push(0),
        Some(IpAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    /// An address written by [`put_ip`]: `Some(None)` for "no address".
    fn ip(&mut self) -> Option<Option<IpAddr>> {
        Some(match self.u8()? {
            0 => None,
            4 => Some(IpAddr::from(<[u8; 4]>::try_from(self.take(4)?).ok()?)),
            6 => Some(IpAddr::from(<[u8; 16]>::try_from(self.take(16)?).ok()?)),
            _ => return None,
        })
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4).map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn i64(&mut self) -> Option<i64> {
        self.take(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn time(&mut self) -> Option<UnixTime> {
        Some(UnixTime { sec: self.i64()?, usec: self.u32()?, gmtoff: self.i32()? })
    }

    fn val(&mut self, inner: &mut Inner) -> Option<Val> {
        Some(match self.u8()? {
            0 => Val::Unset,
            2 => Val::HostFrom,
            1 => {
                let b = self.bytes()?;
                inner.push_arena(b)
            }
            _ => return None,
        })
    }
}

impl LogMessage {
    /// Appends the message's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let m = &*self.inner;
        out.push(VERSION);
        out.extend_from_slice(&m.pri.to_le_bytes());
        put_time(out, &m.stamp);
        put_time(out, &m.recvd);
        out.push(u8::from(m.local) | u8::from(m.utf8) << 1 | u8::from(m.chained_host) << 2 | u8::from(m.mark) << 3);
        put_bytes(out, m.source.as_bytes());
        put_bytes(out, m.host_from.as_bytes());
        put_ip(out, m.source_ip);
        for v in [m.host, m.program, m.pid, m.msgid, m.message, m.legacy_msghdr] {
            put_val(out, m, v);
        }
        out.extend_from_slice(&(m.sdata.len() as u32).to_le_bytes());
        for e in &m.sdata {
            put_val(out, m, e.id);
            put_val(out, m, e.param);
            put_val(out, m, e.value);
        }
        out.extend_from_slice(&(m.pairs.len() as u32).to_le_bytes());
        for p in &m.pairs {
            put_bytes(out, m.bytes(p.name));
            put_bytes(out, m.bytes(p.value));
        }
        let names: Vec<Arc<str>> = m.tags.iter().filter_map(TagId::name).collect();
        out.extend_from_slice(&(names.len() as u32).to_le_bytes());
        for n in names {
            put_bytes(out, n.as_bytes());
        }
        put_ip(out, m.dest.map(|a| a.ip()));
        out.extend_from_slice(&m.dest.map_or(0, |a| a.port()).to_le_bytes());
        out.extend_from_slice(&m.source_port.to_le_bytes());
    }

    /// A message from [`LogMessage::encode`]'s output; `None` when the bytes are not one.
    pub fn decode(bytes: &[u8]) -> Option<LogMessage> {
        let mut r = Reader { rest: bytes };
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return None;
        }
        let pri = r.u16()?;
        let stamp = r.time()?;
        let recvd = r.time()?;
        let flags = r.u8()?;
        let source: Arc<str> = Arc::from(r.str()?);
        let host_from: Arc<str> = Arc::from(r.str()?);
        let source_ip = r.ip()?;
        let mut inner = Inner {
            arena: Vec::with_capacity(bytes.len()),
            source,
            host_from,
            source_ip,
            local: flags & 1 != 0,
            utf8: flags & 2 != 0,
            chained_host: flags & 4 != 0,
            mark: flags & 8 != 0,
            ..Inner::empty(pri, stamp, recvd)
        };
        inner.host = r.val(&mut inner)?;
        inner.program = r.val(&mut inner)?;
        inner.pid = r.val(&mut inner)?;
        inner.msgid = r.val(&mut inner)?;
        inner.message = r.val(&mut inner)?;
        inner.legacy_msghdr = r.val(&mut inner)?;
        let n = r.u32()? as usize;
        for _ in 0..n.min(bytes.len()) {
            let id = r.val(&mut inner)?;
            let param = r.val(&mut inner)?;
            let value = r.val(&mut inner)?;
            inner.sdata.push(SdEntry { id, param, value });
        }
        let n = r.u32()? as usize;
        for _ in 0..n.min(bytes.len()) {
            let name = r.bytes()?;
            let name = inner.push_arena(name);
            let value = r.bytes()?;
            let value = inner.push_arena(value);
            inner.pairs.push(super::Pair { name, value });
        }
        let n = r.u32()? as usize;
        for _ in 0..n.min(bytes.len()) {
            inner.tags.insert(TagId::intern(r.str()?));
        }
        if version >= 2 {
            let ip = r.ip()?;
            let port = r.u16()?;
            inner.dest = ip.map(|ip| std::net::SocketAddr::new(ip, port));
        }
        if version >= 3 {
            inner.source_port = r.u16()?;
        }
        Some(LogMessage { inner: Arc::new(inner) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;
    use rsng_proto::syslog::{parse, ParseOptions};

    #[test]
    fn round_trip_keeps_every_value() {
        let raw: Arc<[u8]> = Arc::from(
            &b"<165>1 2003-10-11T22:14:15.003Z host app 12 ID47 [ex@1 a=\"1\" b=\"\\\"q\\\"\"] hello \xc3\xa9"[..],
        );
        let parsed = parse(&raw, &ParseOptions::default()).expect("parses");
        let mut info = ReceiveInfo::new("s_net", "10.0.0.1", "10.0.0.1".parse().ok(), jiff::tz::TimeZone::UTC);
        info.local = false;
        info.dest = "[2001:db8::1]:6514".parse().ok();
        info.source_port = 40_514;
        let mut msg = LogMessage::from_parsed(raw.clone(), &parsed, &info);
        msg.set_value("user.key", b"value");
        msg.set_tag(TagId::intern("a-tag"));
        let mut buf = Vec::new();
        msg.encode(&mut buf);
        let back = LogMessage::decode(&buf).expect("decodes");
        let all = |m: &LogMessage| {
            let mut v: Vec<(String, Vec<u8>)> = Vec::new();
            for name in
                ["HOST", "HOST_FROM", "PROGRAM", "PID", "MSGID", "MESSAGE", "SOURCE", "user.key", ".SDATA.ex@1.b"]
            {
                v.push((name.into(), m.get(name).unwrap_or_default().to_vec()));
            }
            v
        };
        assert_eq!(all(&msg), all(&back));
        assert_eq!(msg.pri(), back.pri());
        assert_eq!(msg.stamp(), back.stamp());
        assert_eq!(back.source_addr(), "10.0.0.1:40514".parse().ok());
        assert_eq!(msg.dest(), back.dest());
        assert_eq!(msg.tags(), back.tags());
        assert_eq!(msg.sdata().count(), back.sdata().count());
        assert!(LogMessage::decode(&buf[..buf.len() - 1]).is_none() || buf.len() < 2);
        assert!(LogMessage::decode(b"\x09garbage").is_none());
    }
}
