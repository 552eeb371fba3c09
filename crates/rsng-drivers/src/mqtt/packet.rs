//! The MQTT 3.1.1 packets a publisher needs: CONNECT/CONNACK, PUBLISH with its acknowledgements
//! (PUBACK for QoS 1; PUBREC, PUBREL, PUBCOMP for QoS 2), PINGREQ/PINGRESP and DISCONNECT.

use tokio::io::{AsyncRead, AsyncReadExt};

pub const PUBACK: u8 = 4;
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

/// CONNECT with a clean session.
pub fn connect(
    out: &mut Vec<u8>,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
    keepalive_secs: u16,
) {
    // A password needs a user name in 3.1.1: an empty one goes with it.
    let username = username.or(password.map(|_| ""));
    let mut flags = 0x02;
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

/// One packet from the broker: its type and body (a publisher gets only small ones).
///
/// # Errors
/// I/O errors, end of stream, a malformed length or an oversized packet.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R, body: &mut Vec<u8>) -> std::io::Result<u8> {
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
    // The broker sends a publisher nothing large; this bounds memory on a confused peer.
    if len > 64 * 1024 {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "unexpected large MQTT packet"));
    }
    body.resize(len, 0);
    r.read_exact(body).await?;
    Ok(first >> 4)
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
        connect(&mut out, "c", None, Some("p"), 60);
        assert_eq!(out, [0x10, 18, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 60, 0, 1, b'c', 0, 0, 0, 1, b'p']);
    }
}
