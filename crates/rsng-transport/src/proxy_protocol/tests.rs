use super::*;

fn done(buf: &[u8]) -> Parsed {
    match parse(buf) {
        Ok(Parse::Done(p)) => p,
        other => panic!("{:?}: {other:?}", printable(buf)),
    }
}

fn refused(buf: &[u8]) -> ProxyError {
    match parse(buf) {
        Err(e) => e,
        other => panic!("{:?} accepted: {other:?}", printable(buf)),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// A v2 header: command, family byte, address block and TLVs.
fn v2(command: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.push(0x20 | command);
    out.push(fam);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn v2_inet(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&src);
    body.extend_from_slice(&dst);
    body.extend_from_slice(&sport.to_be_bytes());
    body.extend_from_slice(&dport.to_be_bytes());
    body
}

#[test]
fn v1_tcp4_and_tcp6() {
    let p = done(b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 514\r\n<13>hello\n");
    assert_eq!(p.consumed, 46);
    assert_eq!(p.warning, None);
    assert_eq!(
        p.header,
        Header::Proxied(Proxied {
            version: 1,
            source: addr("192.0.2.10:56324"),
            destination: addr("198.51.100.1:514")
        })
    );
    let p = done(b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
    let Header::Proxied(x) = p.header else { panic!() };
    assert_eq!((x.source, x.destination, x.ip_version()), (addr("[2001:db8::1]:1"), addr("[::1]:65535"), 6));
    // A bare LF ends the line too, as syslog-ng reads it.
    assert_eq!(done(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nx").consumed, 31);
}

#[test]
fn v1_unknown_and_extras() {
    assert_eq!(done(b"PROXY UNKNOWN\r\n").header, Header::Unknown { version: 1 });
    // Whatever follows UNKNOWN is ignored, as the specification says.
    assert_eq!(done(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").header, Header::Unknown { version: 1 });
    let p = done(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 extra\r\n");
    assert!(p.warning.unwrap().contains("unexpected parameters; parameters='extra'"));
}

#[test]
fn v1_incomplete_needs_more() {
    let line = b"PROXY TCP4 192.0.2.10 198.51.100.1 56324 514\r\n";
    for n in 0..line.len() {
        assert_eq!(parse(&line[..n]), Ok(Parse::NeedMore), "{n}");
    }
}

#[test]
fn v1_refusals() {
    for (input, what) in [
        (&b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"[..], "no destination port"),
        (b"PROXY TCP4 1.2.3.4\r\n", "no destination address"),
        (b"PROXY TCP4 ::1 ::1 1 2\r\n", "not an IPv4 address"),
        (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "not an IPv6 address"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "not a port number"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "not a port number"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "not a port number"),
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "no"),
        (b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "unknown PROXY v1 protocol"),
        (b"PROXY UNKNOWNX\r\n", "unknown PROXY v1 protocol"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.\xff 1 2\r\n", "not text"),
    ] {
        let e = refused(input);
        assert!(e.reason.contains(what), "{}: {}", printable(input), e.reason);
        assert_eq!(e.version, Some(1));
    }
    // No line end within syslog-ng's limit.
    let mut long = b"PROXY TCP4 ".to_vec();
    long.resize(V1_MAX_LINE - 1, b'1');
    assert_eq!(parse(&long), Ok(Parse::NeedMore));
    long.push(b'1');
    assert!(refused(&long).reason.contains("longer than 216 bytes"));
}

#[test]
fn missing_header() {
    let e = refused(b"<13>Jan  1 00:00:00 host app: hi\n");
    assert_eq!(e.version, None);
    assert_eq!(e.reason, "no PROXY protocol header; start='<13>Jan  1 00:00'");
    assert!(refused(b"PROXYTCP4").reason.starts_with("no PROXY protocol header"));
    // A TLS ClientHello where a clear-text header was expected.
    assert!(refused(b"\x16\x03\x01\x02\x00\x01").reason.contains("start='\\x16\\x03\\x01\\x02\\x00\\x01'"));
}

#[test]
fn v2_inet_and_inet6() {
    let mut buf = v2(1, 0x11, &v2_inet([192, 0, 2, 10], [198, 51, 100, 1], 56324, 514));
    buf.extend_from_slice(b"<13>after\n");
    let p = done(&buf);
    assert_eq!(p.consumed, 28);
    assert_eq!(
        p.header,
        Header::Proxied(Proxied {
            version: 2,
            source: addr("192.0.2.10:56324"),
            destination: addr("198.51.100.1:514")
        })
    );
    let mut body = Vec::new();
    body.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
    body.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    body.extend_from_slice(&7u16.to_be_bytes());
    body.extend_from_slice(&6514u16.to_be_bytes());
    // TLVs after the addresses (a NOOP and an ALPN) are skipped.
    body.extend_from_slice(&[0x04, 0, 2, 0, 0, 0x01, 0, 2, b'h', b'2']);
    let p = done(&v2(1, 0x21, &body));
    let Header::Proxied(x) = p.header else { panic!() };
    assert_eq!((x.source, x.destination), (addr("[2001:db8::7]:7"), addr("[::1]:6514")));
    assert_eq!(p.consumed, 16 + 36 + 10);
}

#[test]
fn v2_local_unspec_unix() {
    // LOCAL (a health check of the proxy) carries no client, whatever its addresses.
    let p = done(&v2(0, 0x11, &v2_inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)));
    assert_eq!(p.header, Header::Unknown { version: 2 });
    assert_eq!(done(&v2(0, 0x00, &[])).header, Header::Unknown { version: 2 });
    assert_eq!(done(&v2(1, 0x00, &[])).header, Header::Unknown { version: 2 });
    assert_eq!(done(&v2(1, 0x31, &[0u8; 216])).header, Header::Unknown { version: 2 });
}

#[test]
fn v2_incomplete_needs_more() {
    let buf = v2(1, 0x11, &v2_inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2));
    for n in 0..buf.len() {
        assert_eq!(parse(&buf[..n]), Ok(Parse::NeedMore), "{n}");
    }
}

#[test]
fn v2_refusals() {
    let mut bad_version = v2(1, 0x11, &v2_inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2));
    bad_version[12] = 0x11;
    for (input, what) in [
        (bad_version, "has version 1"),
        (v2(2, 0x11, &[0; 12]), "unknown command"),
        (v2(1, 0x41, &[0; 12]), "unknown address family"),
        (v2(1, 0x11, &[0; 11]), "too short for its addresses"),
        (v2(1, 0x21, &[0; 12]), "too short for its addresses"),
        (v2(1, 0x11, &[[0u8; 12].as_slice(), &[1, 0]].concat()), "ends inside a TLV"),
        (v2(1, 0x11, &[[0u8; 12].as_slice(), &[1, 0, 5, 1]].concat()), "TLV points outside"),
        (v2(1, 0x11, &vec![0; V2_MAX_HEADER]), "longer than 1500 bytes"),
    ] {
        let e = refused(&input);
        assert!(e.reason.contains(what), "{}: {}", printable(&input[..input.len().min(40)]), e.reason);
        assert_eq!(e.version, Some(2));
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pseudo-random headers, built from valid pieces and mutated, never make the parser panic; a
/// verdict never claims more bytes than it was given, and what is complete stays complete (the
/// same verdict) when more bytes follow.
#[test]
fn fuzz_never_panics() {
    const PIECES: &[&[u8]] = &[
        b"PROXY ",
        b"PROXY",
        b"TCP4 ",
        b"TCP6 ",
        b"UNKNOWN",
        b"1.2.3.4 ",
        b"::1 ",
        b"ffff:: ",
        b"65535 ",
        b"0",
        b" ",
        b"\r\n",
        b"\n",
        b"\r",
        b"\r\n\r\n\0\r\nQUIT\n",
        b"\x21\x11\x00\x0c",
        b"\x20\x21\x00\x24",
        b"\x21\x00\xff\xff",
        b"\x01\x00\x02",
        b"\x00",
        b"\xff",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::new();
    for _ in 0..200_000 {
        buf.clear();
        for _ in 0..rng.below(12) {
            buf.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
        for _ in 0..rng.below(3) {
            if !buf.is_empty() {
                let at = rng.below(buf.len());
                buf[at] = rng.next() as u8;
            }
        }
        if let Ok(Parse::Done(p)) = parse(&buf) {
            assert!(p.consumed <= buf.len());
            buf.extend_from_slice(b"more bytes");
            assert_eq!(parse(&buf), Ok(Parse::Done(p)));
        }
    }
    // Pure noise of every length too.
    for len in 0..2048 {
        buf.clear();
        buf.extend((0..len).map(|_| rng.next() as u8));
        let _ = parse(&buf);
    }
}

#[tokio::test]
async fn read_header_hands_back_what_follows() {
    let (mut client, mut server) = tokio::io::duplex(64);
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        // In small pieces, so that the header arrives over several reads.
        for piece in [&b"PROXY TCP4 10.0.0.1 "[..], b"10.0.0.2 1000 ", b"514\r\nfirst line\nsecond"] {
            client.write_all(piece).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    let (parsed, rest) = read_header(&mut server).await.unwrap();
    writer.await.unwrap();
    let Header::Proxied(p) = parsed.header else { panic!() };
    assert_eq!(p.source, addr("10.0.0.1:1000"));
    let mut all = Vec::new();
    let mut stream = Prefixed::new(rest, server);
    stream.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"first line\nsecond");
}

#[tokio::test]
async fn read_header_endings() {
    let (client, mut server) = tokio::io::duplex(64);
    drop(client);
    assert!(matches!(read_header(&mut server).await, Err(ReadError::Closed)));
    let (mut client, mut server) = tokio::io::duplex(64);
    {
        use tokio::io::AsyncWriteExt;
        client.write_all(b"PROXY TCP4 1.2.3.4").await.unwrap();
    }
    drop(client);
    let e = read_header(&mut server).await.unwrap_err();
    assert_eq!(e.to_string(), "PROXY protocol header truncated; header='PROXY TCP4 1.2.3.4'");
}
