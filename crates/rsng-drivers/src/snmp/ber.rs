//! The BER encoding of an SNMPv2c trap message (RFC 3416's SNMPv2-Trap-PDU in RFC 1901's
//! community message), as far as `snmp()` sends it.

/// A variable binding's value, already converted from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Integer(i64),
    OctetString(&'a [u8]),
    ObjectId(&'a [u32]),
    IpAddress([u8; 4]),
    Counter32(u32),
    TimeTicks(u32),
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OBJECT_ID: u8 = 0x06;
const IP_ADDRESS: u8 = 0x40;
const COUNTER32: u8 = 0x41;
const TIME_TICKS: u8 = 0x43;
const TRAP_V2: u8 = 0xa7;
/// `version` of an SNMPv2c message.
const VERSION_2C: i64 = 1;

/// Builds messages in a buffer reused from one to the next. Constructed types are written with
/// their contents first and their headers put in front afterwards, so nothing is measured twice.
#[derive(Debug, Default)]
pub struct TrapWriter {
    /// The variable bindings of the message being built.
    bindings: Vec<u8>,
    out: Vec<u8>,
}

impl TrapWriter {
    pub fn new() -> TrapWriter {
        TrapWriter { bindings: Vec::with_capacity(512), out: Vec::with_capacity(600) }
    }

    /// Starts a new message.
    pub fn clear(&mut self) {
        self.bindings.clear();
    }

    /// Adds one variable binding.
    pub fn bind(&mut self, oid: &[u32], value: Value<'_>) {
        let start = self.bindings.len();
        push_oid(&mut self.bindings, oid);
        match value {
            Value::Integer(n) => push_integer(&mut self.bindings, INTEGER, n),
            Value::OctetString(s) => push_tlv(&mut self.bindings, OCTET_STRING, s),
            Value::ObjectId(o) => push_oid(&mut self.bindings, o),
            Value::IpAddress(a) => push_tlv(&mut self.bindings, IP_ADDRESS, &a),
            Value::Counter32(n) => push_integer(&mut self.bindings, COUNTER32, i64::from(n)),
            Value::TimeTicks(n) => push_integer(&mut self.bindings, TIME_TICKS, i64::from(n)),
        }
        wrap(&mut self.bindings, start, SEQUENCE);
    }

    /// The whole message with the bindings added so far.
    pub fn finish(&mut self, community: &[u8], request_id: i32) -> &[u8] {
        let out = &mut self.out;
        out.clear();
        push_integer(out, INTEGER, VERSION_2C);
        push_tlv(out, OCTET_STRING, community);
        let pdu = out.len();
        push_integer(out, INTEGER, i64::from(request_id));
        push_integer(out, INTEGER, 0); // error-status
        push_integer(out, INTEGER, 0); // error-index
        push_tlv(out, SEQUENCE, &self.bindings);
        wrap(out, pdu, TRAP_V2);
        wrap(out, 0, SEQUENCE);
        out
    }
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_length(out, content.len());
    out.extend_from_slice(content);
}

/// Puts a header with `tag` in front of everything from `start` on.
fn wrap(out: &mut Vec<u8>, start: usize, tag: u8) {
    let len = out.len() - start;
    let mut header = Vec::with_capacity(6);
    header.push(tag);
    push_length(&mut header, len);
    out.splice(start..start, header);
}

/// An integer in the fewest two's-complement bytes (unsigned types too: a leading zero byte
/// keeps a high bit from reading as a sign).
fn push_integer(out: &mut Vec<u8>, tag: u8, n: i64) {
    let bytes = n.to_be_bytes();
    let mut skip = 0;
    while skip < 7 {
        let (b, next) = (bytes[skip], bytes[skip + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            skip += 1;
        } else {
            break;
        }
    }
    push_tlv(out, tag, &bytes[skip..]);
}

/// An object identifier: the first two arcs in one, then base-128 arcs.
fn push_oid(out: &mut Vec<u8>, oid: &[u32]) {
    out.push(OBJECT_ID);
    let start = out.len();
    out.push(0); // the length, fixed below
    let first = match oid {
        [] => 0,
        [a] => u64::from(*a) * 40,
        [a, b, ..] => u64::from(*a) * 40 + u64::from(*b),
    };
    push_arc(out, first);
    for &arc in oid.iter().skip(2) {
        push_arc(out, u64::from(arc));
    }
    let len = out.len() - start - 1;
    if len < 0x80 {
        out[start] = len as u8;
    } else {
        let mut header = Vec::with_capacity(4);
        push_length(&mut header, len);
        out.splice(start..start + 1, header);
    }
}

fn push_arc(out: &mut Vec<u8>, arc: u64) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut rest = arc;
    loop {
        groups[n] = (rest & 0x7f) as u8;
        n += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_the_fewest_bytes() {
        let enc = |n| {
            let mut v = Vec::new();
            push_integer(&mut v, INTEGER, n);
            v
        };
        assert_eq!(enc(0), [2, 1, 0]);
        assert_eq!(enc(127), [2, 1, 0x7f]);
        assert_eq!(enc(128), [2, 2, 0, 0x80]);
        assert_eq!(enc(-1), [2, 1, 0xff]);
        assert_eq!(enc(-129), [2, 2, 0xff, 0x7f]);
        assert_eq!(enc(4_294_967_295), [2, 5, 0, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn object_ids_join_the_first_arcs_and_split_big_ones() {
        let mut v = Vec::new();
        push_oid(&mut v, &[1, 3, 6, 1, 4, 1, 18372]);
        assert_eq!(v, [6, 8, 0x2b, 6, 1, 4, 1, 0x81, 0x8f, 0x44]);
    }

    #[test]
    fn a_trap_message_is_community_message_around_the_pdu() {
        let mut w = TrapWriter::new();
        w.bind(&[1, 3, 6], Value::OctetString(b"ab"));
        let msg = w.finish(b"public", 5).to_vec();
        let expected: &[u8] = &[
            0x30, 0x22, 2, 1, 1, 4, 6, b'p', b'u', b'b', b'l', b'i', b'c', 0xa7, 0x15, 2, 1, 5, 2, 1, 0, 2, 1, 0, 0x30,
            0x0a, 0x30, 0x08, 6, 2, 0x2b, 6, 4, 2, b'a', b'b',
        ];
        assert_eq!(msg, expected);
    }

    #[test]
    fn long_contents_take_long_lengths() {
        let mut w = TrapWriter::new();
        let text = vec![b'x'; 300];
        w.bind(&[1, 3], Value::OctetString(&text));
        let msg = w.finish(b"c", 1);
        assert_eq!(&msg[..2], &[0x30, 0x82]);
        assert_eq!(usize::from(u16::from_be_bytes([msg[2], msg[3]])), msg.len() - 4);
    }
}
