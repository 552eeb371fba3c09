//! Behaviours syslog-ng's functional test suite checks, against syslog-ng 3.38 itself:
//! `transport("text-with-nuls")`, a negative `follow-freq()`.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{oracle_bin, oracle_skipped, rsng_bin, Daemon, RunningDaemon, TempDir};

fn wait_lines(path: &std::path::Path, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bytes = fs::read(path).unwrap_or_default();
        if bytes.iter().filter(|&&b| b == b'\n').count() >= n || Instant::now() > deadline {
            return bytes;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `input` to each TCP source of `config` and returns the output file, lines sorted.
fn run(daemon: Daemon, config: impl Fn(&[u16], &str) -> String, sources: usize, input: &[u8], lines: usize) -> Vec<u8> {
    let tmp = TempDir::new(&format!("light-{}", daemon.name())).expect("tempdir");
    let out = tmp.path().join("out.log");
    let out_text = out.display().to_string();
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, sources, |p| config(&p.tcp, &out_text));
    for port in &ports.tcp {
        running.send_tcp(*port, input);
    }
    let got = wait_lines(&out, lines);
    assert!(running.stop(), "{} did not stop", daemon.name());
    let mut sorted: Vec<&[u8]> = got.split_inclusive(|&b| b == b'\n').collect();
    sorted.sort();
    sorted.concat()
}

#[test]
fn text_with_nuls_keeps_nuls() {
    if oracle_skipped() {
        return;
    }
    let config = |ports: &[u16], out: &str| {
        format!(
            "@version: 3.38\n\
             source s1 {{ network(ip(127.0.0.1) port({}) transport(\"text-with-nuls\") flags(no-multi-line)); }};\n\
             source s2 {{ network(ip(127.0.0.1) port({}) transport(\"text-with-nuls\")); }};\n\
             source s3 {{ network(ip(127.0.0.1) port({}) transport(\"tcp\")); }};\n\
             destination d {{ file(\"{out}\" template(\"$SOURCE [${{MESSAGE}}] [$PROGRAM]\\n\")); }};\n\
             log {{ source(s1); source(s2); source(s3); destination(d); }};\n",
            ports[0], ports[1], ports[2]
        )
    };
    let input = b"prog message\0embedded\0nul\nsecond\n";
    // s1 and s2: two messages each; s3 cuts at each NUL: four.
    let expected = run(Daemon::Oracle, config, 3, input, 8);
    let ours = run(Daemon::Rsng, config, 3, input, 8);
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&expected));
    assert!(expected.windows(9).any(|w| w == b"message\0e"), "NULs kept: {expected:?}");
}

#[test]
fn negative_follow_freq_is_refused_as_in_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("follow-freq").expect("tempdir");
    for (value, ok) in [("-1", false), ("-0.1", false), ("-1.0", false), ("0", true), ("0.1", true), ("1", true)] {
        let conf = tmp.path().join("t.conf");
        fs::write(
            &conf,
            format!(
                "@version: 3.38\nsource s {{ file(\"/dev/null\" follow-freq({value})); }};\nlog {{ source(s); }};\n"
            ),
        )
        .expect("write");
        let [oracle, ours] = [oracle_bin(), rsng_bin().to_path_buf()].map(|bin| {
            let out = Command::new(bin).arg("-s").arg("-f").arg(&conf).env("NO_COLOR", "1").output().expect("run");
            (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
        });
        assert_eq!(oracle.0, ok, "syslog-ng, follow-freq({value}): {}", oracle.1);
        assert_eq!(ours.0, ok, "rsng, follow-freq({value}): {}", ours.1);
        if !ok {
            assert!(oracle.1.contains("It cannot be negative"), "{}", oracle.1);
            assert!(ours.1.contains("It cannot be negative") && ours.1.contains("t.conf:2:"), "{}", ours.1);
        }
    }
}

#[test]
fn rate_limit_filter_counts_as_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    // rate(1): one message a second per key; the burst below arrives well within a second.
    let config = |ports: &[u16], out: &str| {
        format!(
            "@version: 3.38\n\
             source s {{ network(ip(127.0.0.1) port({})); }};\n\
             filter per_program {{ rate-limit(template(\"$PROGRAM\") rate(1)); }};\n\
             filter over {{ not throttle(rate(1)); }};\n\
             destination d {{ file(\"{out}\" template(\"$PROGRAM $MSG\\n\")); }};\n\
             destination rest {{ file(\"{out}.rest\" template(\"$PROGRAM $MSG\\n\")); }};\n\
             log {{ source(s); filter(per_program); destination(d); }};\n\
             log {{ source(s); filter(over); destination(rest); }};\n",
            ports[0]
        )
    };
    let input: Vec<u8> = (0..10).flat_map(|i| format!("a m{i}\nb m{i}\n").into_bytes()).collect();
    let expected = run(Daemon::Oracle, config, 1, &input, 2);
    let ours = run(Daemon::Rsng, config, 1, &input, 2);
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&expected));
    assert_eq!(String::from_utf8_lossy(&expected), "a m0\nb m0\n");
}

#[test]
fn rate_limit_needs_a_rate() {
    let tmp = TempDir::new("rate-limit").expect("tempdir");
    let conf = tmp.path().join("t.conf");
    fs::write(
        &conf,
        "@version: 3.38\nsource s { internal(); };\nlog { source(s); filter { rate-limit(template(\"$HOST\")); }; };\n",
    )
    .expect("write");
    let out = Command::new(rsng_bin())
        .arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(tmp.path().join("p"))
        .arg("-c")
        .arg(tmp.path().join("c"))
        .arg("-R")
        .arg(tmp.path().join("r"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rate-limit: the rate() argument is required"), "{err}");
}

/// `$PROTO` and `$DESTPORT`: the IP protocol and local port a message came in on (0 otherwise).
fn proto_and_port(daemon: Daemon) -> String {
    let tmp = TempDir::new(&format!("proto-{}", daemon.name())).expect("tempdir");
    let out = tmp.path().join("out.log");
    let sock = tmp.path().join("in.sock");
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 1, 1, |p| {
        format!(
            "@version: 3.38\n\
             source s {{ network(ip(127.0.0.1) port({})); network(ip(127.0.0.1) port({}) transport(udp));\n\
               unix-stream(\"{}\"); }};\n\
             destination d {{ file(\"{}\" template(\"$PROGRAM proto=$PROTO dport=$DESTPORT\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            p.tcp[0],
            p.udp[0],
            sock.display(),
            out.display()
        )
    });
    running.send_tcp(ports.tcp[0], b"tcp m\n");
    running.send_udp(&ports.udp, &["udp m"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut unix = loop {
        match std::os::unix::net::UnixStream::connect(&sock) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "{}: {e}", sock.display());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    std::io::Write::write_all(&mut unix, b"unix m\n").expect("send");
    drop(unix);
    let got = String::from_utf8(wait_lines(&out, 3)).expect("utf-8");
    assert!(running.stop());
    let mut lines: Vec<String> = got
        .lines()
        .map(|l| l.replace(&ports.tcp[0].to_string(), "<TCP>").replace(&ports.udp[0].to_string(), "<UDP>"))
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn proto_and_destport_macros() {
    if oracle_skipped() {
        return;
    }
    let expected = proto_and_port(Daemon::Oracle);
    assert_eq!(proto_and_port(Daemon::Rsng), expected);
    assert_eq!(expected, "tcp proto=6 dport=<TCP>\nudp proto=17 dport=<UDP>\nunix proto=0 dport=0");
}

/// The per-driver counters of `unix-stream()` and `unix-dgram()` destinations, once three
/// messages were written to each.
fn unix_destination_counters(daemon: Daemon) -> Vec<String> {
    use std::io::Read;
    let tmp = TempDir::new(&format!("unix-dst-{}", daemon.name())).expect("tempdir");
    let stream_path = tmp.path().join("stream.sock");
    let dgram_path = tmp.path().join("dgram.sock");
    let listener = std::os::unix::net::UnixListener::bind(&stream_path).expect("bind stream");
    let dgram = std::os::unix::net::UnixDatagram::bind(&dgram_path).expect("bind dgram");
    dgram.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 0, |_| {
        format!(
            "@version: 3.38\n\
             source s {{ example-msg-generator(num(3) freq(0.01) template(\"m\")); }};\n\
             destination d {{ unix-stream(\"{}\"); unix-dgram(\"{}\"); }};\n\
             log {{ source(s); destination(d); }};\n",
            stream_path.display(),
            dgram_path.display()
        )
    });
    let (mut conn, _) = listener.accept().expect("accept");
    conn.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while received.iter().filter(|&&b| b == b'\n').count() < 3 {
        let n = conn.read(&mut chunk).expect("read stream");
        assert!(n > 0, "{}: stream closed early", daemon.name());
        received.extend_from_slice(&chunk[..n]);
    }
    for _ in 0..3 {
        dgram.recv(&mut chunk).expect("datagram");
    }
    let ctl = tmp.path().join(format!("{}.ctl", daemon.name()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let counters = loop {
        let out = Command::new("/usr/sbin/syslog-ng-ctl").arg("stats").arg("-c").arg(&ctl).output().expect("ctl");
        let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| {
                l.starts_with("dst.unix-")
                    && ["processed", "written", "dropped", "queued"].iter().any(|k| l.contains(&format!(";a;{k};")))
            })
            .map(|l| l.replace(&tmp.path().display().to_string(), "DIR"))
            .collect();
        rows.sort();
        let written = rows.iter().filter(|r| r.contains(";a;written;3")).count();
        if written == 2 || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(running.stop());
    counters
}

#[test]
fn unix_destination_counters_are_syslog_ngs() {
    if oracle_skipped() || !std::path::Path::new("/usr/lib/syslog-ng/3.38/libexamples.so").exists() {
        assert!(oracle_skipped(), "syslog-ng-mod-examples is missing: cargo xtask test installs it");
        return;
    }
    let expected = unix_destination_counters(Daemon::Oracle);
    assert_eq!(expected.len(), 8, "{expected:?}");
    assert_eq!(unix_destination_counters(Daemon::Rsng), expected);
}

/// `parser;NAME;;a;discarded;N` rows at `stats-level(1)`.
fn parser_counters(daemon: Daemon) -> Vec<String> {
    let tmp = TempDir::new(&format!("parser-stats-{}", daemon.name())).expect("tempdir");
    let out = tmp.path().join("out.log");
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ stats-level(1); }};\n\
             source s {{ network(ip(127.0.0.1) port({})); }};\n\
             parser p {{ regexp-parser(patterns(\"^(?<word>foo)\")); }};\n\
             parser q {{ regexp-parser(patterns(\"never\")); }};\n\
             destination d {{ file(\"{}\"); }};\n\
             log {{ source(s); parser(p); destination(d); }};\n\
             log {{ source(s); parser(q); destination(d); }};\n",
            p.tcp[0],
            out.display()
        )
    });
    running.send_tcp(ports.tcp[0], b"prog foo\nprog bar\nprog foo again\n");
    wait_lines(&out, 2);
    let ctl = tmp.path().join(format!("{}.ctl", daemon.name()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let out = Command::new("/usr/sbin/syslog-ng-ctl").arg("stats").arg("-c").arg(&ctl).output().expect("ctl");
        let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("parser;"))
            .map(String::from)
            .collect();
        rows.sort();
        if rows.iter().any(|r| r == "parser;q;;a;discarded;3") || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(running.stop());
    rows
}

#[test]
fn parser_discarded_counters() {
    if oracle_skipped() {
        return;
    }
    let expected = parser_counters(Daemon::Oracle);
    assert_eq!(expected, ["parser;p;;a;discarded;1", "parser;q;;a;discarded;3"]);
    assert_eq!(parser_counters(Daemon::Rsng), expected);
}

/// `filter;NAME;;a;matched|not_matched;N` rows at `stats-level(3)`.
fn filter_counters(daemon: Daemon) -> Vec<String> {
    let tmp = TempDir::new(&format!("filter-stats-{}", daemon.name())).expect("tempdir");
    let out = tmp.path().join("out.log");
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ stats-level(3); }};\n\
             source s {{ network(ip(127.0.0.1) port({})); }};\n\
             filter f {{ program(\"a\"); }};\n\
             destination d {{ file(\"{}\"); }};\n\
             log {{ source(s); filter(f); destination(d); }};\n\
             log {{ source(s); filter {{ program(\"b\"); }}; destination(d); }};\n",
            p.tcp[0],
            out.display()
        )
    });
    running.send_tcp(ports.tcp[0], b"a m\nb m\nb m\n");
    wait_lines(&out, 3);
    let ctl = tmp.path().join(format!("{}.ctl", daemon.name()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let out = Command::new("/usr/sbin/syslog-ng-ctl").arg("stats").arg("-c").arg(&ctl).output().expect("ctl");
        let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("filter;"))
            .map(String::from)
            .collect();
        rows.sort();
        if rows.iter().any(|r| r == "filter;f;;a;not_matched;2") || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(running.stop());
    rows
}

#[test]
fn filter_match_counters() {
    if oracle_skipped() {
        return;
    }
    let expected = filter_counters(Daemon::Oracle);
    assert_eq!(expected.len(), 4, "{expected:?}");
    assert_eq!(filter_counters(Daemon::Rsng), expected);
}

#[test]
fn regexp_parser_dupnames_flag_allows_repeated_names() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("dupnames").expect("tempdir");
    for (flags, ok) in [("flags(dupnames)", true), ("", false)] {
        let conf = tmp.path().join("t.conf");
        fs::write(
            &conf,
            format!(
                "@version: 3.38\nsource s {{ internal(); }};\n\
                 parser p {{ regexp-parser(prefix(\".reg.\") patterns(\"(?<key>foo)|(?<key>bar)\") {flags}); }};\n\
                 log {{ source(s); parser(p); }};\n"
            ),
        )
        .expect("write");
        let [oracle, ours] = [oracle_bin(), rsng_bin().to_path_buf()].map(|bin| {
            let out = Command::new(bin).arg("-s").arg("-f").arg(&conf).env("NO_COLOR", "1").output().expect("run");
            (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
        });
        assert_eq!(oracle.0, ok, "syslog-ng with `{flags}`: {}", oracle.1);
        assert_eq!(ours.0, ok, "rsng with `{flags}`: {}", ours.1);
    }
}
