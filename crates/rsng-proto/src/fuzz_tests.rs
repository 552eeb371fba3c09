//! Property test: pseudo-random inputs never make the parser or the
//! splitters panic, and splitters never hand out more bytes than given.

use crate::framing::{datagram, Decoded, OctetCountedSplitter, TextSplitter};
use crate::syslog::{parse, ParseFlags, ParseOptions};

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

const PIECES: &[&[u8]] = &[
    b"<",
    b">",
    b"<13>",
    b"<165>1 ",
    b"1 ",
    b"-",
    b" ",
    b"  ",
    b"Jan",
    b"Jan  2 ",
    b"10:11:12",
    b"2024-01-02T03:04:05",
    b".123",
    b"Z",
    b"+02:00",
    b"host",
    b"prog",
    b"[",
    b"]",
    b"[12]",
    b":",
    b": ",
    b"=",
    b"\"",
    b"\\",
    b"[id a=\"v\"]",
    b"\n",
    b"\r\n",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xff",
    b"fe80::1",
    b"123: ",
    b"*",
    b"12 ",
    b"99999999999 ",
    b"Message forwarded from ",
    b"last message repeated",
];

fn random_input(rng: &mut XorShift) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(16) {
        if rng.below(3) == 0 {
            out.push(rng.next() as u8);
        } else {
            out.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
    }
    out
}

fn random_flags(rng: &mut XorShift) -> ParseFlags {
    let bits = rng.next();
    let bit = |i: u32| bits & (1 << i) != 0;
    ParseFlags {
        no_parse: (bits >> 20) & 15 == 0,
        check_hostname: bit(1),
        syslog_protocol: bit(2),
        no_rfc3164_fallback: bit(3),
        assume_utf8: bit(4),
        validate_utf8: bit(5),
        sanitize_utf8: bit(6),
        no_multi_line: bit(7),
        store_legacy_msghdr: bit(8),
        expect_hostname: bit(9),
        no_header: (bits >> 24) & 15 == 0,
        local: bit(11),
        no_parse_date: bit(12),
        kernel: bit(13),
    }
}

#[test]
fn random_inputs_do_not_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let input = random_input(&mut rng);
        let flags = random_flags(&mut rng);
        match parse(&input, &ParseOptions::with_flags(flags)) {
            Ok(m) => {
                let _ = m.message_text();
                for el in m.sd_elements() {
                    for param in el.params() {
                        let _ = param.value();
                    }
                }
            }
            Err(e) => {
                assert!(e.position <= input.len() + 1);
                let _ = e.error_text(&input, &flags);
            }
        }

        let max = 1 + rng.below(40);
        assert!(datagram(&input, max).len() <= input.len().min(max));
        let mut text = TextSplitter::new(max);
        let mut octet = OctetCountedSplitter::new(max, rng.below(2) == 0);
        let mut rest = &input[..];
        for _ in 0..input.len() + 2 {
            let step = text.decode(rest, true).unwrap();
            match step {
                Decoded::Frame { message, consumed } => {
                    assert!(consumed <= rest.len() && consumed > 0 && message.len() <= consumed.min(max));
                    rest = &rest[consumed..];
                }
                Decoded::Skip { .. } => unreachable!(),
                Decoded::NeedMore => break,
            }
        }
        assert!(rest.is_empty());
        let mut rest = &input[..];
        for _ in 0..input.len() + 2 {
            match octet.decode(rest, false) {
                Ok(Decoded::Frame { message, consumed }) => {
                    assert!(consumed <= rest.len() && message.len() < consumed && message.len() <= max);
                    rest = &rest[consumed..];
                }
                Ok(Decoded::Skip { consumed }) => {
                    assert!(consumed <= rest.len() && consumed > 0);
                    rest = &rest[consumed..];
                }
                Ok(Decoded::NeedMore) | Err(_) => break,
            }
        }
    }
}
