//! `rsng-loadgen`: a syslog load generator for benchmarks, fast enough that the daemon under test,
//! not the sender, is the limit.
//!
//! Every connection runs on its own thread and sends pre-serialised messages: one buffer of
//! messages is built at start, and only the sequence-number digits are rewritten before each
//! write, so sending costs no allocation and one `write` per buffer. Every message carries
//! `seq=NNNNNNNNNN conn=NNNNN`, so a reader can tell what was lost, duplicated or reordered.
//!
//! At the end it prints one line, `sent=N connections=C seconds=S rate=R`, for scripts (such as
//! `cargo xtask bench`) to read.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: rsng-loadgen [options] HOST:PORT

  --transport tcp|tls|udp   how to send (default tcp)
  --format rfc3164|rfc5424|octet-counted
                            message format and framing (default rfc5424, newline-framed;
                            octet-counted is RFC 5424 with RFC 6587 octet counting)
  --connections N           parallel connections (default 1)
  --size BYTES              bytes per message, framing included (default 300)
  --rate N                  messages per second over all connections (default 0: unlimited)
  --count N                 messages in all, spread over the connections
  --duration SECONDS        send for this long (default 10 when --count is not given)
  --idle                    open every connection, send one message on each, and hold them
                            open for --duration seconds (for memory per connection)
  --ca-file FILE            TLS: verify the server against this CA (default: no verification)
  --cert-file FILE, --key-file FILE
                            TLS: the client certificate and key
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Tls,
    Udp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Rfc3164,
    Rfc5424,
    OctetCounted,
}

struct Args {
    target: SocketAddr,
    transport: Transport,
    format: Format,
    connections: usize,
    size: usize,
    rate: u64,
    count: Option<u64>,
    duration: Option<Duration>,
    idle: bool,
    ca_file: Option<PathBuf>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut target = None;
    let mut a = Args {
        target: SocketAddr::from(([127, 0, 0, 1], 514)),
        transport: Transport::Tcp,
        format: Format::Rfc5424,
        connections: 1,
        size: 300,
        rate: 0,
        count: None,
        duration: None,
        idle: false,
        ca_file: None,
        cert_file: None,
        key_file: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--transport" => {
                a.transport = match value("--transport")?.as_str() {
                    "tcp" => Transport::Tcp,
                    "tls" => Transport::Tls,
                    "udp" => Transport::Udp,
                    other => return Err(format!("unknown transport `{other}` (tcp, tls or udp)")),
                }
            }
            "--format" => {
                a.format = match value("--format")?.as_str() {
                    "rfc3164" => Format::Rfc3164,
                    "rfc5424" => Format::Rfc5424,
                    "octet-counted" => Format::OctetCounted,
                    other => return Err(format!("unknown format `{other}` (rfc3164, rfc5424 or octet-counted)")),
                }
            }
            "--connections" => a.connections = number(&value("--connections")?, "--connections")?.max(1) as usize,
            "--size" => a.size = number(&value("--size")?, "--size")? as usize,
            "--rate" => a.rate = number(&value("--rate")?, "--rate")?,
            "--count" => a.count = Some(number(&value("--count")?, "--count")?),
            "--duration" => {
                let text = value("--duration")?;
                let secs: f64 = text.parse().map_err(|_| format!("--duration: `{text}` is not a number of seconds"))?;
                a.duration = Some(Duration::from_secs_f64(secs.max(0.0)));
            }
            "--idle" => a.idle = true,
            "--ca-file" => a.ca_file = Some(value("--ca-file")?.into()),
            "--cert-file" => a.cert_file = Some(value("--cert-file")?.into()),
            "--key-file" => a.key_file = Some(value("--key-file")?.into()),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`")),
            other => {
                let addr = other
                    .to_socket_addrs()
                    .map_err(|e| format!("cannot resolve `{other}`: {e}"))?
                    .next()
                    .ok_or_else(|| format!("`{other}` has no address"))?;
                target = Some(addr);
            }
        }
    }
    a.target = target.ok_or("the target HOST:PORT is missing")?;
    if a.count.is_none() && a.duration.is_none() {
        a.duration = Some(Duration::from_secs(10));
    }
    Ok(a)
}

fn number(text: &str, name: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("{name}: `{text}` is not a whole number"))
}

/// One message's bytes and where its sequence-number digits are.
struct Layout {
    bytes: Vec<u8>,
    seq_at: usize,
}

const SEQ_DIGITS: usize = 10;

/// Builds the message of connection `conn`: a header in `format`, `seq=` with room for the
/// digits, `conn=`, and padding up to `size` bytes (framing included).
fn layout(format: Format, conn: usize, size: usize, udp: bool) -> Layout {
    let pid = std::process::id();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let header = match format {
        Format::Rfc3164 => format!("<13>{} loadgen rsng-loadgen[{pid}]: ", bsd_stamp(now)),
        Format::Rfc5424 | Format::OctetCounted => {
            format!("<13>1 {} loadgen rsng-loadgen {pid} - - ", iso_stamp(now))
        }
    };
    let mut body = header.into_bytes();
    body.extend_from_slice(b"seq=");
    let seq_at = body.len();
    body.extend(std::iter::repeat_n(b'0', SEQ_DIGITS));
    body.extend_from_slice(format!(" conn={conn:05} ").as_bytes());
    let newline = !udp && format != Format::OctetCounted;
    // Octet counting adds "LEN " in front; its length depends on the body's own.
    let mut prefix = Vec::new();
    let target = if format == Format::OctetCounted && !udp {
        let mut body_len = size.saturating_sub(2);
        while body_len > 0 && body_len + body_len.to_string().len() + 1 > size {
            body_len -= 1;
        }
        prefix = format!("{body_len} ").into_bytes();
        body_len
    } else {
        size.saturating_sub(usize::from(newline))
    };
    while body.len() < target {
        body.push(b'x');
    }
    if format == Format::OctetCounted && !udp {
        // A body longer than asked for (tiny --size) keeps its real length in the prefix.
        prefix = format!("{} ", body.len()).into_bytes();
    }
    let mut bytes = prefix;
    let seq_at = seq_at + bytes.len();
    bytes.extend_from_slice(&body);
    if newline {
        bytes.push(b'\n');
    }
    Layout { bytes, seq_at }
}

fn civil(secs: u64) -> (i64, u32, u32, u64) {
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d, secs % 86_400)
}

fn bsd_stamp(secs: u64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (_, m, d, s) = civil(secs);
    format!("{} {d:>2} {:02}:{:02}:{:02}", MONTHS[m as usize - 1], s / 3600, s / 60 % 60, s % 60)
}

fn iso_stamp(secs: u64) -> String {
    let (y, m, d, s) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", s / 3600, s / 60 % 60, s % 60)
}

/// Writes `seq` as fixed-width decimal digits.
fn put_seq(buf: &mut [u8], mut seq: u64) {
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (seq % 10) as u8;
        seq /= 10;
    }
}

enum Conn {
    Tcp(TcpStream),
    Tls(Box<openssl::ssl::SslStream<TcpStream>>),
    Udp(UdpSocket),
}

impl Conn {
    fn open(args: &Args, tls: Option<&openssl::ssl::SslConnector>) -> Result<Conn, String> {
        match args.transport {
            Transport::Udp => {
                let socket = UdpSocket::bind(if args.target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })
                    .map_err(|e| format!("udp socket: {e}"))?;
                socket.connect(args.target).map_err(|e| format!("udp connect {}: {e}", args.target))?;
                Ok(Conn::Udp(socket))
            }
            Transport::Tcp | Transport::Tls => {
                let stream = TcpStream::connect(args.target).map_err(|e| format!("connect {}: {e}", args.target))?;
                let _ = stream.set_nodelay(true);
                match tls {
                    None => Ok(Conn::Tcp(stream)),
                    Some(connector) => {
                        let mut config = connector.configure().map_err(|e| format!("tls: {e}"))?;
                        if args.ca_file.is_none() {
                            config.set_verify_hostname(false);
                        }
                        let host = args.target.ip().to_string();
                        let ssl = config.connect(&host, stream).map_err(|e| format!("tls handshake: {e}"))?;
                        Ok(Conn::Tls(Box::new(ssl)))
                    }
                }
            }
        }
    }

    fn send(&mut self, buf: &[u8], message_len: usize) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.write_all(buf),
            Conn::Tls(s) => s.write_all(buf),
            Conn::Udp(s) => {
                for datagram in buf.chunks(message_len) {
                    s.send(datagram)?;
                }
                Ok(())
            }
        }
    }

    /// Ends the connection so that the receiver reads everything: a TLS close_notify, then a
    /// half-close, then waiting for the peer to close (bounded).
    fn finish(self) {
        let stream = match self {
            Conn::Udp(_) => return,
            Conn::Tcp(s) => s,
            Conn::Tls(mut s) => {
                let _ = s.shutdown();
                match s.get_ref().try_clone() {
                    Ok(tcp) => tcp,
                    Err(_) => return,
                }
            }
        };
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut sink = [0u8; 4096];
        while matches!(std::io::Read::read(&mut &stream, &mut sink), Ok(n) if n > 0) {}
    }
}

fn tls_connector(args: &Args) -> Result<Option<openssl::ssl::SslConnector>, String> {
    use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
    if args.transport != Transport::Tls {
        return Ok(None);
    }
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| format!("tls: {e}"))?;
    match &args.ca_file {
        Some(ca) => builder.set_ca_file(ca).map_err(|e| format!("--ca-file {}: {e}", ca.display()))?,
        None => builder.set_verify(SslVerifyMode::NONE),
    }
    if let Some(cert) = &args.cert_file {
        builder.set_certificate_chain_file(cert).map_err(|e| format!("--cert-file {}: {e}", cert.display()))?;
    }
    if let Some(key) = &args.key_file {
        builder
            .set_private_key_file(key, SslFiletype::PEM)
            .map_err(|e| format!("--key-file {}: {e}", key.display()))?;
    }
    Ok(Some(builder.build()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rsng-loadgen: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rsng-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let args = Arc::new(args);
    let connector = Arc::new(tls_connector(&args)?);
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    // Everyone starts sending at once, after every connection is open.
    let barrier = Arc::new(Barrier::new(args.connections + 1));
    let mut threads = Vec::with_capacity(args.connections);
    for conn in 0..args.connections {
        let (args, connector, sent, failed, barrier) =
            (args.clone(), connector.clone(), sent.clone(), failed.clone(), barrier.clone());
        let thread = std::thread::Builder::new()
            .name(format!("conn{conn}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                let result = connection(conn, &args, connector.as_ref().as_ref(), &sent, &barrier);
                if let Err(e) = result {
                    failed.store(true, Ordering::Relaxed);
                    eprintln!("rsng-loadgen: connection {conn}: {e}");
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        threads.push(thread);
    }
    barrier.wait();
    let start = Instant::now();
    for t in threads {
        let _ = t.join();
    }
    let seconds = start.elapsed().as_secs_f64();
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "sent={sent} connections={} seconds={seconds:.3} rate={:.0}",
        args.connections,
        sent as f64 / seconds.max(1e-9)
    );
    if failed.load(Ordering::Relaxed) {
        return Err("some connections failed (see above)".into());
    }
    Ok(())
}

fn connection(
    conn: usize,
    args: &Args,
    tls: Option<&openssl::ssl::SslConnector>,
    sent: &AtomicU64,
    barrier: &Barrier,
) -> Result<(), String> {
    let opened = Conn::open(args, tls);
    // Wait for the others even when this one failed, so that the barrier releases.
    barrier.wait();
    let mut stream = opened?;
    let udp = args.transport == Transport::Udp;
    let one = layout(args.format, conn, args.size, udp);
    let len = one.bytes.len();
    if args.idle {
        let mut first = one.bytes.clone();
        put_seq(&mut first[one.seq_at..one.seq_at + SEQ_DIGITS], 0);
        stream.send(&first, len).map_err(|e| format!("send: {e}"))?;
        sent.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(args.duration.unwrap_or_default());
        stream.finish();
        return Ok(());
    }
    // This connection's share of --count and of --rate.
    let conns = args.connections as u64;
    let quota = args.count.map(|n| n / conns + u64::from((conn as u64) < n % conns));
    let rate = (args.rate > 0).then(|| (args.rate as f64 / conns as f64).max(1e-3));
    // Up to 64 KiB of messages per write, fewer when rate-limited so that pacing stays smooth.
    let mut per_write = (65_536 / len).max(1);
    if let Some(r) = rate {
        per_write = per_write.min((r / 100.0).ceil().max(1.0) as usize);
    }
    let mut buf = Vec::with_capacity(per_write * len);
    for _ in 0..per_write {
        buf.extend_from_slice(&one.bytes);
    }
    let start = Instant::now();
    let mut seq: u64 = 0;
    loop {
        let mut n = per_write as u64;
        if let Some(q) = quota {
            n = n.min(q - seq);
        }
        if n == 0 || args.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        for i in 0..n as usize {
            let at = i * len + one.seq_at;
            put_seq(&mut buf[at..at + SEQ_DIGITS], seq + i as u64);
        }
        stream.send(&buf[..n as usize * len], len).map_err(|e| format!("send: {e}"))?;
        seq += n;
        sent.fetch_add(n, Ordering::Relaxed);
        if let Some(r) = rate {
            let due = Duration::from_secs_f64(seq as f64 / r);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    stream.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_asked_size_and_a_sequence_slot() {
        for format in [Format::Rfc3164, Format::Rfc5424, Format::OctetCounted] {
            let l = layout(format, 7, 300, false);
            assert_eq!(l.bytes.len(), 300);
            assert_eq!(&l.bytes[l.seq_at - 4..l.seq_at], b"seq=");
            let mut b = l.bytes.clone();
            put_seq(&mut b[l.seq_at..l.seq_at + SEQ_DIGITS], 1234567);
            let text = String::from_utf8(b).unwrap();
            assert!(text.contains("seq=0001234567 conn=00007 "), "{text}");
        }
        let octet = layout(Format::OctetCounted, 0, 300, false);
        assert!(octet.bytes.starts_with(b"296 <13>1 "), "{}", String::from_utf8_lossy(&octet.bytes));
        assert!(layout(Format::Rfc5424, 0, 300, false).bytes.ends_with(b"x\n"));
    }

    #[test]
    fn stamps() {
        assert_eq!(bsd_stamp(1_796_590_748), "Dec  6 20:59:08");
        assert_eq!(iso_stamp(1_796_590_748), "2026-12-06T20:59:08+00:00");
    }
}
