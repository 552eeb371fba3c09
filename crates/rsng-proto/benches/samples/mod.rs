//! The messages the benches work on, shared by the benches of rsng-proto and rsng-core: about
//! 300 bytes each, varied by an index so that no two messages of a batch are the same.

/// An RFC 3164 line of about 300 bytes; `i` varies host, PID and text.
pub fn rfc3164(i: usize) -> Vec<u8> {
    let mut text = format!(
        "<{}>Dec  {} 22:{:02}:{:02} web-{:02}.example.net sshd[{}]: Accepted publickey for deploy from 10.20.{}.{} \
         port {} ssh2: RSA SHA256:q3NWbNo2bqTbBzR7bXyVqQm6vEiZcUO8m5YqH0bNqYk session opened for user deploy",
        8 * 4 + i % 8,
        1 + i % 9,
        i % 60,
        (i * 7) % 60,
        i % 32,
        20000 + i,
        i % 256,
        (i * 13) % 256,
        40000 + i
    )
    .into_bytes();
    pad_to(&mut text, 300);
    text
}

/// An RFC 5424 message of about 300 bytes with two structured-data elements, one with an escape.
pub fn rfc5424(i: usize) -> Vec<u8> {
    let mut text = format!(
        "<{}>1 2026-12-06T22:{:02}:{:02}.{:06}+01:00 app-{:02}.example.net billing {} ORDER \
         [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"{}\"]\
         [meta sequenceId=\"{}\" note=\"quoted \\\"x\\\" here\"] \
         order {} charged to account {} after retry",
        128 + i % 8,
        i % 60,
        (i * 7) % 60,
        i * 1031 % 1_000_000,
        i % 32,
        3000 + i,
        1000 + i,
        i,
        900_000 + i,
        77_000 + i
    )
    .into_bytes();
    pad_to(&mut text, 300);
    text
}

/// Pads a message with words up to `len` bytes, so that every message has about the same size.
fn pad_to(text: &mut Vec<u8>, len: usize) {
    while text.len() < len {
        text.extend_from_slice(b" lorem");
    }
}
