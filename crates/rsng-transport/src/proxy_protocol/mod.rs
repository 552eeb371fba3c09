//! The PROXY protocol (HAProxy's, versions 1 and 2): the header a load balancer (HAProxy with
//! `send-proxy`/`send-proxy-v2`, AWS NLB) puts before the client's bytes to name the client's
//! real address, for the `proxied-tcp`, `proxied-tls` and `proxied-tls-passthrough` transports.
//!
//! * [`parse`] reads one header from the start of a buffer, incrementally: it asks for more bytes
//!   until the header is complete, never reads past it, and turns any malformed input into a
//!   [`ProxyError`] (it is run on bytes from the network, so it never panics and never allocates
//!   more than the header's length).
//! * [`read_header`] reads from a stream until [`parse`] has a verdict; bytes read past the header
//!   are handed back, to be read first through [`Prefixed`].

mod prefixed;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt};

pub use prefixed::Prefixed;

/// The v2 signature: `\r\n\r\n\0\r\nQUIT\n`.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Fixed part of a v2 header: signature, version and command, family, length.
const V2_FIXED: usize = 16;
/// The longest v1 line syslog-ng reads (twice the 108 bytes of the specification) before it
/// gives up on a header.
pub const V1_MAX_LINE: usize = 216;
/// The longest v1 line the specification allows, CRLF included (`PROXY UNKNOWN` with two IPv6
/// addresses and ports).
pub const V1_MAX_LINE_SPEC: usize = 107;
/// The longest v2 header accepted (fixed part, addresses and TLVs), as AxoSyslog bounds it.
pub const V2_MAX_HEADER: usize = 1500;

/// The connection a proxy forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proxied {
    /// The protocol version of the header (1 or 2).
    pub version: u8,
    /// The client's address and port.
    pub source: SocketAddr,
    /// The address and port the client connected to (on the proxy).
    pub destination: SocketAddr,
}

impl Proxied {
    /// 4 or 6.
    pub fn ip_version(&self) -> u8 {
        if self.source.is_ipv4() {
            4
        } else {
            6
        }
    }
}

/// What a header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// A forwarded connection, with its addresses.
    Proxied(Proxied),
    /// No addresses: v1 `PROXY UNKNOWN`, or v2 `LOCAL` (the proxy's own health check) or an
    /// address family other than IPv4 and IPv6. `version` is the header's version.
    Unknown { version: u8 },
}

impl Header {
    pub fn version(&self) -> u8 {
        match self {
            Header::Proxied(p) => p.version,
            Header::Unknown { version } => *version,
        }
    }
}

/// A complete header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub header: Header,
    /// The header's length: the client's own bytes start here.
    pub consumed: usize,
    /// What was accepted but is unusual (a line longer than the specification allows, extra
    /// fields after the ports), as syslog-ng warns about it.
    pub warning: Option<String>,
}

/// The verdict on the start of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// Not enough bytes yet to decide.
    NeedMore,
    Done(Parsed),
}

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    /// What is wrong, for the internal message.
    pub reason: String,
    /// The version, when the start of the header showed it.
    pub version: Option<u8>,
}

impl ProxyError {
    fn new(version: Option<u8>, reason: impl Into<String>) -> ProxyError {
        ProxyError { reason: reason.into(), version }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ProxyError {}

/// Parses the PROXY header at the start of `buf`.
///
/// # Errors
/// When `buf` does not start with a valid v1 or v2 header (no header at all is an error too:
/// every connection to a proxied listener must start with one).
pub fn parse(buf: &[u8]) -> Result<Parse, ProxyError> {
    // The first bytes tell the version: "PROXY" or the v2 signature.
    let v1 = b"PROXY ";
    let probe = buf.len().min(V2_SIGNATURE.len());
    if buf[..buf.len().min(v1.len())] == v1[..buf.len().min(v1.len())] {
        if buf.len() < v1.len() {
            return Ok(Parse::NeedMore);
        }
        return parse_v1(buf);
    }
    if buf[..probe] == V2_SIGNATURE[..probe] {
        if buf.len() < V2_FIXED {
            return Ok(Parse::NeedMore);
        }
        return parse_v2(buf);
    }
    Err(ProxyError::new(None, format!("no PROXY protocol header; start='{}'", printable(&buf[..buf.len().min(16)]))))
}

fn parse_v1(buf: &[u8]) -> Result<Parse, ProxyError> {
    let err = |reason: String| ProxyError::new(Some(1), reason);
    let Some(nl) = buf.iter().take(V1_MAX_LINE).position(|&b| b == b'\n') else {
        if buf.len() >= V1_MAX_LINE {
            return Err(err(format!(
                "PROXY v1 header longer than {V1_MAX_LINE} bytes; header='{}'",
                printable(&buf[..V1_MAX_LINE])
            )));
        }
        return Ok(Parse::NeedMore);
    };
    let consumed = nl + 1;
    let mut line = &buf[..nl];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    let mut warning = (consumed > V1_MAX_LINE_SPEC).then(|| {
        format!("PROXY v1 header longer than the {V1_MAX_LINE_SPEC} bytes of the specification; length='{consumed}'")
    });
    let Ok(text) = std::str::from_utf8(line) else {
        return Err(err(format!("PROXY v1 header is not text; header='{}'", printable(line))));
    };
    let rest = &text["PROXY ".len()..];
    if let Some(params) = rest.strip_prefix("UNKNOWN") {
        // The receiver must ignore whatever follows UNKNOWN.
        if !params.is_empty() && !params.starts_with(' ') {
            return Err(err(format!("unknown PROXY v1 protocol; header='{}'", printable(line))));
        }
        return Ok(Parse::Done(Parsed { header: Header::Unknown { version: 1 }, consumed, warning }));
    }
    let (v6, params) = match (rest.strip_prefix("TCP4 "), rest.strip_prefix("TCP6 ")) {
        (Some(p), _) => (false, p),
        (_, Some(p)) => (true, p),
        _ => return Err(err(format!("unknown PROXY v1 protocol; header='{}'", printable(line)))),
    };
    let mut fields = params.split(' ');
    let mut next = |what: &str| {
        fields
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| err(format!("PROXY v1 header has no {what}; header='{}'", printable(line))))
    };
    let src = next("source address")?;
    let dst = next("destination address")?;
    let sport = next("source port")?;
    let dport = next("destination port")?;
    let extra: Vec<&str> = fields.collect();
    let ip = |text: &str, what: &str| -> Result<IpAddr, ProxyError> {
        let parsed = if v6 {
            text.parse::<Ipv6Addr>().map(IpAddr::V6).ok()
        } else {
            text.parse::<Ipv4Addr>().map(IpAddr::V4).ok()
        };
        parsed.ok_or_else(|| {
            err(format!(
                "PROXY v1 {what} is not an {} address; address='{}'",
                if v6 { "IPv6" } else { "IPv4" },
                printable(text.as_bytes())
            ))
        })
    };
    let port = |text: &str, what: &str| -> Result<u16, ProxyError> {
        // Decimal without sign or leading zeros (the specification's form), 0..=65535.
        let ok = text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
        ok.then(|| text.parse::<u16>().ok())
            .flatten()
            .ok_or_else(|| err(format!("PROXY v1 {what} is not a port number; port='{}'", printable(text.as_bytes()))))
    };
    let source = SocketAddr::new(ip(src, "source address")?, port(sport, "source port")?);
    let destination = SocketAddr::new(ip(dst, "destination address")?, port(dport, "destination port")?);
    if !extra.is_empty() {
        warning = Some(format!(
            "PROXY v1 header has unexpected parameters; parameters='{}'",
            printable(extra.join(" ").as_bytes())
        ));
    }
    Ok(Parse::Done(Parsed { header: Header::Proxied(Proxied { version: 1, source, destination }), consumed, warning }))
}

fn parse_v2(buf: &[u8]) -> Result<Parse, ProxyError> {
    let err = |reason: String| ProxyError::new(Some(2), reason);
    let ver_cmd = buf[12];
    let fam = buf[13];
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if ver_cmd >> 4 != 2 {
        return Err(err(format!("PROXY v2 header has version {}", ver_cmd >> 4)));
    }
    let command = ver_cmd & 0x0f;
    if command > 1 {
        return Err(err(format!("PROXY v2 header has an unknown command; command='{command}'")));
    }
    let total = V2_FIXED + len;
    if total > V2_MAX_HEADER {
        return Err(err(format!("PROXY v2 header longer than {V2_MAX_HEADER} bytes; length='{total}'")));
    }
    if buf.len() < total {
        return Ok(Parse::NeedMore);
    }
    let body = &buf[V2_FIXED..total];
    let (addresses, addr_len) = match fam >> 4 {
        // AF_INET, AF_INET6: addresses then ports; AF_UNSPEC: none; AF_UNIX: 216 bytes of paths.
        1 => (true, 12),
        2 => (true, 36),
        0 => (false, 0),
        3 => (false, 216),
        other => return Err(err(format!("PROXY v2 header has an unknown address family; family='{other}'"))),
    };
    if body.len() < addr_len {
        return Err(err(format!(
            "PROXY v2 header too short for its addresses; length='{}', needed='{addr_len}'",
            body.len()
        )));
    }
    check_tlvs(&body[addr_len..]).map_err(err)?;
    let header = if command == 0 || !addresses {
        // LOCAL: the proxy's own connection; its addresses (if any) are to be ignored.
        Header::Unknown { version: 2 }
    } else {
        let a = body;
        let (source, destination) = if fam >> 4 == 1 {
            let ip = |at: usize| IpAddr::V4(Ipv4Addr::new(a[at], a[at + 1], a[at + 2], a[at + 3]));
            let port = |at: usize| u16::from_be_bytes([a[at], a[at + 1]]);
            (SocketAddr::new(ip(0), port(8)), SocketAddr::new(ip(4), port(10)))
        } else {
            let ip = |at: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&a[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            };
            let port = |at: usize| u16::from_be_bytes([a[at], a[at + 1]]);
            (SocketAddr::new(ip(0), port(32)), SocketAddr::new(ip(16), port(34)))
        };
        Header::Proxied(Proxied { version: 2, source, destination })
    };
    Ok(Parse::Done(Parsed { header, consumed: total, warning: None }))
}

/// Checks that the TLVs after the addresses tile their space exactly.
fn check_tlvs(mut tlvs: &[u8]) -> Result<(), String> {
    while !tlvs.is_empty() {
        if tlvs.len() < 3 {
            return Err(format!("PROXY v2 header ends inside a TLV; remaining='{}'", tlvs.len()));
        }
        let len = usize::from(u16::from_be_bytes([tlvs[1], tlvs[2]]));
        if 3 + len > tlvs.len() {
            return Err(format!(
                "PROXY v2 header TLV points outside of the header; type='{}', length='{len}', remaining='{}'",
                tlvs[0],
                tlvs.len() - 3
            ));
        }
        tlvs = &tlvs[3 + len..];
    }
    Ok(())
}

/// Bytes shown in a message: printable ASCII as is, the rest as `\xNN`.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e if b != b'\\' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// How reading a header ended.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed before sending anything.
    Closed,
    /// The peer closed in the middle of the header.
    Truncated {
        received: Vec<u8>,
    },
    Invalid(ProxyError),
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Closed => f.write_str("connection closed before a PROXY protocol header"),
            ReadError::Truncated { received } => {
                write!(f, "PROXY protocol header truncated; header='{}'", printable(received))
            }
            ReadError::Invalid(e) => e.fmt(f),
            ReadError::Io(e) => write!(f, "I/O error occurred while reading proxy header; error='{e}'"),
        }
    }
}

/// Reads a header from `stream`. Returns it with the bytes read past it (the start of the
/// client's data).
///
/// # Errors
/// A closed connection, a malformed header, a read error.
pub async fn read_header<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(Parsed, Vec<u8>), ReadError> {
    let mut buf = Vec::with_capacity(256);
    loop {
        match parse(&buf) {
            Ok(Parse::Done(parsed)) => {
                let rest = buf.split_off(parsed.consumed);
                return Ok((parsed, rest));
            }
            Ok(Parse::NeedMore) => {}
            Err(e) => return Err(ReadError::Invalid(e)),
        }
        if buf.capacity() == buf.len() {
            buf.reserve(512);
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) if buf.is_empty() => return Err(ReadError::Closed),
            Ok(0) => return Err(ReadError::Truncated { received: buf }),
            Ok(_) => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
}
