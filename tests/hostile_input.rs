//! Hostile input: random bytes, huge lines, broken octet counts and more connections than allowed,
//! over TCP, UDP and the octet-counted `syslog()` transport. rsng must keep running, refuse what
//! it must, and still deliver a well-formed message sent afterwards.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use rsng_tests::{Daemon, RunningDaemon, TempDir};

/// A small deterministic generator (no dependency needed for test noise).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_and_oversized_input_does_not_stop_rsng() {
    let tmp = TempDir::new("hostile").expect("tempdir");
    let out = tmp.path().join("out");
    let (rsng, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 1, 2, |p| {
        format!(
            "@version: 3.38\noptions {{ use-dns(no); keep-hostname(yes); }};\n\
             source s {{ network(ip(127.0.0.1) port({}) max-connections(20) log-msg-size(4096));\n\
                        network(ip(127.0.0.1) port({}) transport(\"udp\"));\n\
                        syslog(ip(127.0.0.1) port({}) max-connections(20)); }};\n\
             destination d {{ file(\"{}\" template(\"$PROGRAM|$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            p.tcp[0],
            p.udp[0],
            p.tcp[1],
            out.display()
        )
    });
    let (tcp, framed, udp) = (ports.tcp[0], ports.tcp[1], ports.udp[0]);
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    // Random bytes and a 1 MiB line without a newline over TCP.
    for _ in 0..20 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", tcp)) {
            let _ = s.write_all(&noise.bytes(64 * 1024));
            let _ = s.write_all(&vec![b'x'; 1 << 20]);
        }
    }
    // Broken octet counts and random bytes on the framed transport.
    for garbage in [&b"99999999999999999999 x"[..], b"-1 x", b"12x", b"5 ab", &noise.bytes(4096)] {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", framed)) {
            let _ = s.write_all(garbage);
        }
    }
    // Random datagrams, some of the largest size.
    let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for i in 0..500 {
        let len = if i % 50 == 0 { 65_000 } else { (noise.next() % 2048) as usize };
        let _ = sender.send_to(&noise.bytes(len), ("127.0.0.1", udp));
    }
    // More connections than max-connections(20), all held open at once.
    let held: Vec<TcpStream> = (0..60).filter_map(|_| TcpStream::connect(("127.0.0.1", tcp)).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    // rsng is still there and still delivers.
    let mut s = TcpStream::connect(("127.0.0.1", tcp)).expect("rsng still accepts connections");
    s.write_all(b"<13>Jan  2 03:04:05 h canary: after the storm\n").expect("send");
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivered =
        || std::fs::read(&out).map(|d| d.windows(22).any(|w| w == b"canary|after the storm")).unwrap_or(false);
    while !delivered() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(delivered(), "the message sent after the hostile input was not delivered");
    assert!(rsng.stop(), "rsng did not stop cleanly after hostile input");
}
