//! The MQTT 3.1.1 packets a publisher and a subscriber need: CONNECT/CONNACK, PUBLISH with its
//! acknowledgements (PUBACK for QoS 1; PUBREC, PUBREL, PUBCOMP for QoS 2), SUBSCRIBE/SUBACK,
//! PINGREQ/PINGRESP and DISCONNECT.

use tokio::io::{AsyncRead, AsyncReadExt};

pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;
pub const PUBREL: u8 = 6;
pub const SUBACK: u8 = 9;
pub const PUBREC: u8 = 5;
pub const PUBCOMP: u8 = 7;
pub const CONNACK: u8 = 2;
pub const PINGRESP: u8 = 13;

pub const PINGREQ: [u8; 2] = [0xC0, 0];
pub const DISCONNECT: [u8; 2] = [0xE0, 0];

/// The largest remaining length the protocol can express (four length bytes).
const MAX_REMAINING: usize = 268_435_455;

fn put_length(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            return;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// CONNECT, with a clean session or resuming the broker's session of `client_id`.
pub fn connect(
    out: &mut Vec<u8>,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
    keepalive_secs: u16,
    clean_session: bool,
) {
    // A password needs a user name in 3.1.1: an empty one goes with it.
    let username = username.or(password.map(|_| ""));
    let mut flags = if clean_session { 0x02 } else { 0 };
    let mut len = 10 + 2 + client_id.len();
    if let Some(u) = username {
        flags |= 0x80;
        len += 2 + u.len();
    }
    if let Some(p) = password {
        flags |= 0x40;
        len += 2 + p.len();
    }
    out.push(0x10);
    put_length(out, len);
    put_str(out, b"MQTT");
    out.extend_from_slice(&[4, flags]);
    out.extend_from_slice(&keepalive_secs.to_be_bytes());
    put_str(out, client_id.as_bytes());
    if let Some(u) = username {
        put_str(out, u.as_bytes());
    }
    if let Some(p) = password {
        put_str(out, p.as_bytes());
    }
}

/// PUBLISH (never retained); `id` is used for QoS 1 and 2.
///
/// # Errors
/// A topic longer than 65535 bytes or a packet larger than the protocol allows.
pub fn publish(out: &mut Vec<u8>, topic: &[u8], payload: &[u8], qos: u8, id: u16) -> Result<(), &'static str> {
    if topic.len() > usize::from(u16::MAX) {
        return Err("topic longer than 65535 bytes");
    }
    let len = 2 + topic.len() + if qos > 0 { 2 } else { 0 } + payload.len();
    if len > MAX_REMAINING {
        return Err("message larger than an MQTT packet can carry");
    }
    out.push(0x30 | (qos << 1));
    put_length(out, len);
    put_str(out, topic);
    if qos > 0 {
        out.extend_from_slice(&id.to_be_bytes());
    }
    out.extend_from_slice(payload);
    Ok(())
}

/// PUBREL, the second step of a QoS 2 delivery.
pub fn pubrel(out: &mut Vec<u8>, id: u16) {
    out.extend_from_slice(&[0x62, 2]);
    out.extend_from_slice(&id.to_be_bytes());
}

/// SUBSCRIBE to one topic filter with the highest QoS wanted.
pub fn subscribe(out: &mut Vec<u8>, id: u16, filter: &[u8], qos: u8) {
    out.push(0x82);
    put_length(out, 2 + 2 + filter.len() + 1);
    out.extend_from_slice(&id.to_be_bytes());
    put_str(out, filter);
    out.push(qos);
}

/// An acknowledgement of a received PUBLISH or PUBREL: PUBACK (QoS 1), PUBREC (QoS 2, first
/// step) or PUBCOMP (QoS 2, last step).
pub fn ack(out: &mut Vec<u8>, kind: u8, id: u16) {
    out.extend_from_slice(&[kind << 4, 2]);
    out.extend_from_slice(&id.to_be_bytes());
}

/// A received PUBLISH: its QoS, packet id (0 for QoS 0), topic and payload, borrowed from the
/// packet's body; `None` when the body is malformed.
pub fn parse_publish(flags: u8, body: &[u8]) -> Option<(u8, u16, &[u8], &[u8])> {
    let qos = (flags >> 1) & 3;
    let topic_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let topic = body.get(2..2 + topic_len)?;
    let mut rest = &body[2 + topic_len..];
    let id = if qos > 0 {
        let id = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
        rest = &rest[2..];
        id
    } else {
        0
    };
    (qos < 3).then_some((qos, id, topic, rest))
}

/// One packet from the broker: its type and body (a publisher gets only small ones).
///
/// # Errors
/// I/O errors, end of stream, a malformed length or an oversized packet.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R, body: &mut Vec<u8>) -> std::io::Result<u8> {
    // The broker sends a publisher nothing large; this bounds memory on a confused peer.
    Ok(read_packet(r, body, 64 * 1024).await? >> 4)
}

/// One packet of at most `max` bytes: its first byte (type and flags) and its body.
///
/// # Errors
/// I/O errors, end of stream, a malformed length or a packet larger than `max`.
pub async fn read_packet<R: AsyncRead + Unpin>(r: &mut R, body: &mut Vec<u8>, max: usize) -> std::io::Result<u8> {
    let first = r.read_u8().await?;
    let mut len = 0usize;
    for shift in 0..4 {
        let byte = r.read_u8().await?;
        len |= usize::from(byte & 0x7F) << (7 * shift);
        if byte & 0x80 == 0 {
            break;
        }
        if shift == 3 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed MQTT packet length"));
        }
    }
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("MQTT packet of {len} bytes, larger than the {max} accepted"),
        ));
    }
    body.resize(len, 0);
    r.read_exact(body).await?;
    Ok(first)
}

/// The packet id at the start of an acknowledgement's body.
pub fn ack_id(body: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*body.first()?, *body.get(1)?]))
}

/// The text of a CONNACK return code.
pub fn connack_error(code: u8) -> &'static str {
    match code {
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "unknown CONNACK return code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_and_received_publish() {
        let mut out = Vec::new();
        subscribe(&mut out, 1, b"a/#", 1);
        assert_eq!(out, [0x82, 8, 0, 1, 0, 3, b'a', b'/', b'#', 1]);
        assert_eq!(parse_publish(0x2, &[0, 1, b't', 0, 9, b'x']), Some((1, 9, &b"t"[..], &b"x"[..])));
        assert_eq!(parse_publish(0x0, &[0, 1, b't', b'x', b'y']), Some((0, 0, &b"t"[..], &b"xy"[..])));
        assert_eq!(parse_publish(0x0, &[0, 5, b't']), None);
        out.clear();
        ack(&mut out, PUBCOMP, 0x102);
        assert_eq!(out, [0x70, 2, 1, 2]);
    }

    #[test]
    fn remaining_length() {
        let mut out = Vec::new();
        put_length(&mut out, 321);
        assert_eq!(out, [0xC1, 0x02]);
        out.clear();
        put_length(&mut out, 127);
        assert_eq!(out, [0x7F]);
    }

    #[test]
    fn publish_qos1() {
        let mut out = Vec::new();
        publish(&mut out, b"a/b", b"hi", 1, 7).unwrap();
        assert_eq!(out, [0x32, 9, 0, 3, b'a', b'/', b'b', 0, 7, b'h', b'i']);
    }

    #[test]
    fn connect_with_password_only() {
        let mut out = Vec::new();
        connect(&mut out, "c", None, Some("p"), 60, true);
        assert_eq!(out, [0x10, 18, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 60, 0, 1, b'c', 0, 0, 0, 1, b'p']);
    }
}
