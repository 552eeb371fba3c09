//! Options that used to be accepted and ignored: each runs as syslog-ng 3.38 runs it (same
//! configuration and input through both daemons, same output bytes), or rsng warns about it at
//! start-up, naming the option, the driver and the configuration location.

use std::fs;
use std::path::Path;
use std::process::Command;

use rsng_tests::{mask_receive_times, oracle_bin, oracle_skipped, rsng_bin, Daemon, RunningDaemon, TempDir};

/// Runs `config(port, output file)` in `daemon`, sends `input` over one TCP connection, and
/// returns what the daemon wrote once `lines` lines are there (or after 20 s).
fn run(daemon: Daemon, dir: &Path, config: &dyn Fn(u16, &Path) -> String, input: &[u8], lines: usize) -> String {
    let out = dir.join(format!("{}.out", daemon.name()));
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0], &out));
    running.send_tcp(ports.tcp[0], input);
    let count = || line_count(&out);
    running.wait_for(20, || count() >= lines);
    assert!(running.stop(), "{} did not stop", daemon.name());
    fs::read_to_string(&out).unwrap_or_default()
}

/// The outputs of syslog-ng and rsng for the same configuration and input, receive times masked.
fn both(tag: &str, config: &dyn Fn(u16, &Path) -> String, input: &[u8], lines: usize) -> Option<(String, String)> {
    if oracle_skipped() {
        return None;
    }
    let tmp = TempDir::new(tag).expect("tempdir");
    let oracle = run(Daemon::Oracle, tmp.path(), config, input, lines);
    let rsng = run(Daemon::Rsng, tmp.path(), config, input, lines);
    Some((mask_receive_times(&oracle), mask_receive_times(&rsng)))
}

fn assert_same(oracle: &str, rsng: &str, lines: usize) {
    assert_eq!(oracle.lines().count(), lines, "syslog-ng wrote:\n{oracle}");
    assert_eq!(rsng, oracle, "rsng differs from syslog-ng");
}

/// Debian's default configuration sets `bad-hostname("^gconfd$")`: a header whose host field is
/// `gconfd` has no host name, and `gconfd` is read as the program.
#[test]
fn bad_hostname_is_read_as_the_program() {
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38\n\
             options {{ bad-hostname(\"^gconfd$\"); keep-hostname(yes); }};\n\
             source s {{ network(ip(127.0.0.1) port({port})); }};\n\
             destination d {{ file(\"{}\" template(\"$HOST|$PROGRAM|$PID|$MSG|$LEGACY_MSGHDR\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let input = b"<13>Dec  6 10:00:00 gconfd prog[1]: one\n\
        <13>Dec  6 10:00:00 gconfdx prog[2]: two\n\
        <13>Dec  6 10:00:00 gconfd: three\n\
        <13>Dec  6 10:00:00 myhost gconfd[4]: four\n\
        <13>Dec  6 10:00:00 gconfd gconfd[5]: five\n\
        <13>1 2026-12-06T10:00:00Z gconfd app 6 - - six\n";
    let Some((oracle, rsng)) = both("bad-hostname", &config, input, 6) else { return };
    assert!(oracle.contains("|gconfd||prog[1]: one|"), "{oracle}");
    assert_same(&oracle, &rsng, 6);
}

/// The warning lines (`WARNING: option not implemented ...`) in `text`.
fn warnings(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("WARNING: option not implemented by rsng")).collect()
}

/// Options rsng does not run are named with their driver and location, by `--syntax-only` and by
/// start-up alike; options it runs, and values that change nothing, are not.
#[test]
fn unused_options_are_warned_about_at_start_up_and_with_syntax_only() {
    let tmp = TempDir::new("unused-warnings").expect("tempdir");
    let out = tmp.path().join("out");
    let config = |port: u16| {
        format!(
            "@version: 3.38\n\
             options {{ stats-freq(0); sync(5); disk-buffer(truncate-size-ratio(0.5)); }};\n\
             source s {{ network(ip(127.0.0.1) port({port}) hook-commands(startup(\"true\"))); }};\n\
             destination d {{ file(\"{}\" disk-buffer(dir(\"{}\") truncate-size-ratio(0.5))); }};\n\
             destination u {{ udp(\"127.0.0.1\" port(9) spoof-source(no) flags(ignore-errors)); }};\n\
             log {{ source(s); destination(d); destination(u); }};\n",
            out.display(),
            tmp.path().display()
        )
    };
    let (running, _, text) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0]));
    // A reload reads the file again and warns again.
    let start_warnings = warnings(&running_stderr(tmp.path())).len();
    let _ = Command::new("kill").arg("-HUP").arg(running.pid()).status();
    running.wait_for(20, || warnings(&running_stderr(tmp.path())).len() >= 2 * start_warnings);
    let after_reload = running_stderr(tmp.path());
    assert!(running.stop());
    assert_eq!(warnings(&after_reload).len(), 2 * start_warnings, "{after_reload}");
    let conf = tmp.path().join("syntax.conf");
    fs::write(&conf, &text).expect("config");
    let check = Command::new(rsng_bin()).arg("--syntax-only").arg("-f").arg(&conf).output().expect("rsng -s");
    assert!(check.status.success());
    let syntax_stderr = String::from_utf8_lossy(&check.stderr).replace(&conf.display().to_string(), "CONF");
    let start_stderr = after_reload.replace(&tmp.path().join("rsng.conf").display().to_string(), "CONF");
    let expected = [
        "WARNING: option not implemented by rsng, ignored; option='disk-buffer', driver='options', location='CONF:2:",
        "WARNING: option not implemented by rsng, ignored; option='disk-buffer.truncate-size-ratio', driver='file()', location='CONF:4:",
        "WARNING: option not implemented by rsng, ignored; option='flags(ignore-errors)', driver='udp()', location='CONF:5:",
    ];
    for stderr in [&syntax_stderr, &start_stderr] {
        let lines = warnings(stderr);
        // Start-up and reload print the same lines.
        let lines = if lines.len() == 2 * expected.len() {
            assert_eq!(lines[..expected.len()], lines[expected.len()..]);
            lines[..expected.len()].to_vec()
        } else {
            lines
        };
        assert_eq!(lines.len(), expected.len(), "{stderr}");
        for (line, want) in lines.iter().zip(expected) {
            assert!(line.starts_with(want), "{line}\nexpected: {want}");
        }
    }
    assert_eq!(warnings(&syntax_stderr), warnings(&start_stderr)[..expected.len()]);
}

/// A reload refuses what start-up refuses, with the same error and without also warning about the
/// refused option as ignored; the running configuration stays.
#[test]
fn a_reload_refuses_what_start_up_refuses() {
    let tmp = TempDir::new("reload-refusal").expect("tempdir");
    let out = tmp.path().join("out");
    let config = |port: u16, extra: &str| {
        format!(
            "@version: 3.38\n\
             source s {{ network(ip(127.0.0.1) port({port})); {extra} }};\n\
             destination d {{ file(\"{}\" template(\"$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let (running, ports, _) = RunningDaemon::start(Daemon::Rsng, tmp.path(), 0, 1, |p| config(p.tcp[0], ""));
    let port = ports.tcp[0];
    let refused = format!("file(\"{}\" flags(store-raw-message));", tmp.path().join("in").display());
    fs::write(tmp.path().join("rsng.conf"), config(port, &refused)).expect("config");
    let _ = Command::new("kill").arg("-HUP").arg(running.pid()).status();
    running.wait_for(20, || running_stderr(tmp.path()).contains("Configuration reload finished"));
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the old configuration listens");
    std::io::Write::write_all(&mut stream, b"<13>Jan  1 00:00:00 h p: still running\n").expect("send");
    drop(stream);
    running.wait_for(20, || fs::read_to_string(&out).is_ok_and(|t| t.contains("still running")));
    let stderr = running_stderr(tmp.path());
    assert!(running.stop());
    assert!(fs::read_to_string(&out).unwrap_or_default().contains("still running"), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("rsng:")).unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    assert!(error.contains("store-raw-message") && error.contains("rsng.conf:2:"), "{error}");
    assert!(stderr.contains("Error initializing new configuration, reverting to old config;"), "{stderr}");
    assert!(!stderr.contains("ignored"), "the refused option is also warned about:\n{stderr}");
    // `--syntax-only` gives the same error for the same file.
    let check = Command::new(rsng_bin()).arg("--syntax-only").arg("-f").arg(tmp.path().join("rsng.conf")).output();
    let check = check.expect("rsng --syntax-only");
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains(error), "{}", String::from_utf8_lossy(&check.stderr));
}

/// How many lines `path` has (0 while it does not exist).
fn line_count(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// The lines of `path`, sorted: what comes over several connections or sockets arrives in any
/// order.
fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect();
    lines.sort();
    lines
}

fn running_stderr(dir: &Path) -> String {
    (0..5).filter_map(|a| fs::read_to_string(dir.join(format!("rsng.stderr.{a}"))).ok()).collect()
}

/// `ss` lines (one per socket, with `--tos` and timers) matching `filter`.
fn ss(args: &[&str], filter: &str) -> Vec<String> {
    let out = Command::new("ss").args(["-Hn", "--tos", "-o", "-O"]).args(args).arg(filter).output().expect("ss");
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// `timer:(keepalive,1min,0)` and `timer:(keepalive,58sec,0)` become `timer:(keepalive,T,0)`
/// after checking that T is at most `max` seconds (the kernel's default would be two hours).
fn mask_keepalive(line: &str, max: u64) -> String {
    let Some(start) = line.find("timer:(keepalive,") else { return line.to_string() };
    let rest = &line[start + 17..];
    let end = rest.find(',').expect("timer end");
    let t = &rest[..end];
    let secs = if let Some(m) = t.strip_suffix("min") {
        m.parse::<u64>().expect("minutes") * 60
    } else if let Some((m, s)) = t.split_once("min") {
        m.parse::<u64>().expect("minutes") * 60 + s.trim_end_matches("sec").parse::<u64>().unwrap_or(0)
    } else {
        t.trim_end_matches("sec").trim_end_matches("ms").parse::<u64>().unwrap_or(0)
    };
    assert!(secs <= max, "keep-alive timer {t} is above {max} s: {line}");
    format!("{}T{}", &line[..start + 17], &rest[end..])
}

/// `ip-freebind()`, `interface()` and `tcp-keepalive-*()` of a source, as the kernel reports
/// them for the listeners and an accepted connection of each daemon: a listener on an address
/// the host does not have, bound to `lo`, whose connections probe after 61 s. syslog-ng does not
/// set `ip-tos()` on listening sockets; neither does rsng.
#[test]
fn socket_options_of_sources_are_set_as_syslog_ng_sets_them() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("sockopt-src").expect("tempdir");
    let freebind_port = rsng_tests::free_tcp_ports(1)[0];
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 2, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({}) ip-tos(16) interface(\"lo\") so-keepalive(yes)\n\
                 tcp-keepalive-time(61) tcp-keepalive-intvl(7) tcp-keepalive-probes(4));\n\
                 network(ip(192.0.2.1) port({freebind_port}) ip-freebind(yes));\n\
                 network(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ file(\"{}\"); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.tcp[1],
                out.display()
            )
        });
        // Without options, accepted connections probe after 60 s.
        let default_port = ports.tcp[1];
        let plain = std::net::TcpStream::connect(("127.0.0.1", default_port)).expect("connect");
        let plain_peer = plain.local_addr().expect("client address").port();
        let port = ports.tcp[0];
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let peer = client.local_addr().expect("client address").port();
        let established = || ss(&["-t", "state", "established"], &format!("( sport = :{port} )"));
        running.wait_for(20, || !established().is_empty());
        let mut lines: Vec<String> =
            established().iter().map(|l| mask_keepalive(l, 61).replace(&format!(":{peer} "), ":PEER ")).collect();
        running
            .wait_for(20, || ss(&["-t", "state", "established"], &format!("( sport = :{default_port} )")).len() == 1);
        let defaults = ss(&["-t", "state", "established"], &format!("( sport = :{default_port} )"));
        lines.extend(defaults.iter().map(|l| mask_keepalive(l, 60).replace(&format!(":{plain_peer} "), ":PEER ")));
        lines.extend(ss(&["-lt"], &format!("( sport = :{port} or sport = :{freebind_port} )")));
        lines.sort();
        let lines: Vec<String> = lines
            .iter()
            .map(|l| l.replace(&port.to_string(), "PORT").replace(&default_port.to_string(), "DPORT"))
            .collect();
        drop((client, plain));
        assert!(running.stop());
        seen.push(lines);
    }
    let (oracle, rsng) = (&seen[0], &seen[1]);
    assert_eq!(oracle.len(), 4, "{oracle:?}");
    assert!(oracle.iter().any(|l| l.contains("127.0.0.1:DPORT") && l.contains("timer:(keepalive,T,0)")), "{oracle:?}");
    assert!(
        oracle.iter().any(|l| l.contains("127.0.0.1%lo:PORT") && l.contains("timer:(keepalive,T,0)")),
        "{oracle:?}"
    );
    assert!(oracle.iter().any(|l| l.contains(&format!("192.0.2.1:{freebind_port}"))), "{oracle:?}");
    // The kernel derives class_id from the TOS; compare the TOS only.
    let strip = |v: &Vec<String>| -> Vec<String> {
        v.iter().map(|l| l.split(" class_id:").next().unwrap_or(l).to_string()).collect()
    };
    assert_eq!(strip(rsng), strip(oracle));
}

/// `ip-tos()` and `interface()` of a destination: the connection to the test's listener carries
/// TOS 0x10 and is bound to `lo`; `tcp-keepalive-time()` does not apply to destinations.
#[test]
fn socket_options_of_destinations_are_set_as_syslog_ng_sets_them() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("sockopt-dst").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let peer = listener.local_addr().expect("address").port();
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ network(\"127.0.0.1\" port({peer}) ip-tos(16) interface(\"lo\")\n\
                 tcp-keepalive-time(61) time-reopen(1)); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0]
            )
        });
        running.send_tcp(ports.tcp[0], b"<13>Dec  6 10:00:00 host prog: hello\n");
        let (conn, from) = listener.accept().expect("the destination connects");
        let lines = ss(&["-t", "state", "established"], &format!("( dport = :{peer} )"));
        let lines: Vec<String> = lines
            .iter()
            .map(|l| l.replace(&format!(":{} ", from.port()), ":LOCAL ").replace(&peer.to_string(), "PEER"))
            .map(|l| l.split(" class_id:").next().unwrap_or(&l).to_string())
            .collect();
        drop(conn);
        assert!(running.stop());
        seen.push(lines);
    }
    assert_eq!(seen[0].len(), 1, "{:?}", seen[0]);
    assert!(seen[0][0].contains("127.0.0.1%lo:LOCAL") && seen[0][0].contains("tos:0x10"), "{:?}", seen[0]);
    assert_eq!(seen[1], seen[0]);
}

/// A BSD stamp (`Dec  6 10:00:00`) of `offset` seconds from now, in UTC.
fn bsd_stamp(offset: i64) -> String {
    let t = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(offset)).expect("time");
    t.to_zoned(jiff::tz::TimeZone::UTC).strftime("%b %e %H:%M:%S").to_string()
}

/// `flags(store-raw-message)` keeps the frame as `$RAWMSG`; `flags(guess-timezone)` takes a
/// header stamp that is whole quarter hours off the receive time as written in that zone.
#[test]
fn store_raw_message_and_guess_timezone_flags() {
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38\n\
             source s {{ network(ip(127.0.0.1) port({port}) flags(store-raw-message, guess-timezone)); }};\n\
             destination d {{ file(\"{}\" template(\"$TZOFFSET|$PROGRAM|$MSG|$RAWMSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let input = format!(
        "<13>{} host ahead: three hours ahead\n<13>{} host behind: five and a half hours behind\n\
         <13>{} host old: two days old\n<13>1 2026-12-06T10:00:00+02:00 host app - - - rfc5424\n",
        bsd_stamp(3 * 3600),
        bsd_stamp(-(5 * 3600 + 1800)),
        bsd_stamp(-2 * 86400)
    );
    let Some((oracle, rsng)) = both("raw-guess", &config, input.as_bytes(), 4) else { return };
    assert!(oracle.contains("+03:00|ahead|three hours ahead|<13>"), "{oracle}");
    assert_same(&oracle, &rsng, 4);
}

/// `so-passcred(no)` on a `unix-dgram()` source: the kernel does not pass the sender's
/// credentials, so `.unix.pid` and `.unix.uid` stay empty; by default they are set.
#[test]
fn so_passcred_of_unix_dgram_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("passcred").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let (off, on) = (tmp.path().join("off.sock"), tmp.path().join("on.sock"));
        let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 0, |_| {
            format!(
                "@version: 3.38\n\
                 source s {{ unix-dgram(\"{}\" so-passcred(no)); unix-dgram(\"{}\"); }};\n\
                 destination d {{ file(\"{}\" template(\"${{.unix.pid}}|${{.unix.uid}}|$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                off.display(),
                on.display(),
                out.display()
            )
        });
        running.wait_for(20, || off.exists() && on.exists());
        let sender = std::os::unix::net::UnixDatagram::unbound().expect("socket");
        sender.send_to(b"<13>prog: without credentials", &off).expect("send");
        sender.send_to(b"<13>prog: with credentials", &on).expect("send");
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 2);
        assert!(running.stop());
        seen.push(sorted_lines(&out));
    }
    let me = std::process::id();
    let uid = nix::unistd::getuid();
    let mut expected = vec!["||without credentials".to_string(), format!("{me}|{uid}|with credentials")];
    expected.sort();
    assert_eq!(seen[0], expected);
    assert_eq!(seen[1], seen[0]);
}

/// The socket options of unix sources, as the kernel reports them for each daemon's sockets:
/// `so-rcvbuf()` and `listen-backlog()` (default 255) are set; `so-sndbuf()` and
/// `so-broadcast()` only apply to sending sockets, so they change nothing here, on TCP and UDP
/// listeners either.
#[test]
fn socket_options_of_unix_sources_are_set_as_syslog_ng_sets_them() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("sockopt-unix").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let dir = tmp.path().join(daemon.name());
        fs::create_dir_all(&dir).expect("dir");
        let out = dir.join("out");
        let names = ["set-stream", "set-dgram", "plain-stream", "plain-dgram"];
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 1, 1, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ unix-stream(\"{0}/set-stream\" so-rcvbuf(100000) so-sndbuf(50000) listen-backlog(7)\n\
                 so-keepalive(yes));\n\
                 unix-dgram(\"{0}/set-dgram\" so-rcvbuf(120000) so-sndbuf(60000) so-broadcast(yes));\n\
                 unix-stream(\"{0}/plain-stream\"); unix-dgram(\"{0}/plain-dgram\");\n\
                 network(ip(127.0.0.1) port({2}) so-rcvbuf(100000) so-sndbuf(50000));\n\
                 network(ip(127.0.0.1) port({3}) transport(udp) so-rcvbuf(100000) so-sndbuf(50000) so-broadcast(yes)); }};\n\
                 destination d {{ file(\"{1}\"); }};\n\
                 log {{ source(s); destination(d); }};\n",
                dir.display(),
                out.display(),
                p.tcp[0],
                p.udp[0]
            )
        });
        running.wait_for(20, || names.iter().all(|n| dir.join(n).exists()));
        let listing = Command::new("ss").args(["-Hxamn"]).output().expect("ss");
        let inet = |args: &[&str], port: u16| {
            let lines = ss(&[args, &["-m"]].concat(), &format!("( sport = :{port} )"));
            lines
                .iter()
                .map(|l| l.split(' ').filter(|f| f.starts_with("skmem:")).collect::<String>())
                .collect::<Vec<_>>()
        };
        let buffers = [inet(&["-t", "-l"], ports.tcp[0]), inet(&["-u", "-a"], ports.udp[0])];
        assert!(running.stop());
        let listing = String::from_utf8_lossy(&listing.stdout).to_string();
        // Type, state, queues and buffers of each socket, by name; the inode numbers differ.
        let mut lines = Vec::new();
        for name in names {
            let path = dir.join(name).display().to_string();
            let line = listing
                .lines()
                .find(|l| l.split_whitespace().any(|w| w == path))
                .unwrap_or_else(|| panic!("{}: no socket {path} in\n{listing}", daemon.name()));
            let fields: Vec<&str> = line.split_whitespace().collect();
            let skmem = fields.iter().find(|f| f.starts_with("skmem:")).copied().unwrap_or_default();
            lines.push(format!("{name} {} {} {} {} {skmem}", fields[0], fields[1], fields[2], fields[3]));
        }
        for (name, skmem) in ["tcp", "udp"].iter().zip(&buffers) {
            lines.push(format!("{name} {skmem:?}"));
        }
        seen.push(lines);
    }
    assert!(seen[0][0].contains(" 7 ") && seen[0][0].contains("rb200000"), "{:?}", seen[0]);
    assert!(seen[0][4].contains("rb200000") && !seen[0][4].contains("tb100000"), "{:?}", seen[0]);
    assert_eq!(seen[1], seen[0]);
}

/// `optional(yes)` of a unix source whose socket cannot be bound: the error is logged and the
/// daemon goes on; without it start-up stops. `so-reuseport(yes)`, which Linux refuses on unix
/// sockets, stops start-up with syslog-ng's words, or is logged with `optional(yes)`.
#[test]
fn optional_and_so_reuseport_of_unix_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("unix-optional").expect("tempdir");
    let missing = tmp.path().join("no-such-dir");
    let text = |options: &str| {
        format!(
            "@version: 3.38\n\
             source s {{ unix-dgram(\"{}/dgram\" {options}); unix-stream(\"{}/stream\" {options}); }};\n\
             destination d {{ file(\"{}/out\"); }};\n\
             log {{ source(s); destination(d); }};\n",
            missing.display(),
            missing.display(),
            tmp.path().display()
        )
    };
    let bind_error = format!(
        "Error binding socket; addr='AF_UNIX({}/dgram)', error='No such file or directory (2)'",
        missing.display()
    );
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let optional = start_briefly(daemon, &text("optional(yes)"), tmp.path(), "optional", 2.0);
        assert_eq!(optional.code, None, "{}: optional(yes) stopped start-up:\n{}", daemon.name(), optional.stderr);
        assert!(optional.stderr.contains(&bind_error), "{}:\n{}", daemon.name(), optional.stderr);
        let required = start_briefly(daemon, &text(""), tmp.path(), "required", 5.0);
        assert!(required.code.is_some_and(|c| c != 0), "{}: started without its socket", daemon.name());
        assert!(required.stderr.contains(&bind_error), "{}:\n{}", daemon.name(), required.stderr);
    }
    fs::create_dir_all(&missing).expect("dir");
    let words = "The kernel refused our SO_REUSEPORT setting, which should be supported by Linux 3.9+; \
                 error='Operation not supported (95)'";
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let refused = start_briefly(daemon, &text("so-reuseport(yes)"), tmp.path(), "reuseport", 5.0);
        assert!(refused.code.is_some_and(|c| c != 0), "{}: started with so-reuseport(yes)", daemon.name());
        assert!(refused.stderr.contains(words), "{}:\n{}", daemon.name(), refused.stderr);
        let optional = start_briefly(daemon, &text("so-reuseport(yes) optional(yes)"), tmp.path(), "reuse-opt", 2.0);
        assert_eq!(optional.code, None, "{}: optional(yes) stopped start-up:\n{}", daemon.name(), optional.stderr);
        assert_eq!(optional.stderr.matches(words).count(), 2, "{}:\n{}", daemon.name(), optional.stderr);
    }
}

/// Starts `daemon` in the foreground on configuration `text` for at most `seconds`: its exit
/// code (`None`: it was still running, so it started) and what it wrote to stderr.
fn start_briefly(daemon: Daemon, text: &str, dir: &Path, tag: &str, seconds: f64) -> rsng_tests::Output {
    let config = dir.join(format!("{}-{tag}.conf", daemon.name()));
    fs::write(&config, text).expect("config");
    let program = match daemon {
        Daemon::Oracle => rsng_tests::oracle_bin(),
        Daemon::Rsng => rsng_bin().to_path_buf(),
    };
    let mut cmd = Command::new(program);
    cmd.arg("-F").arg("-f").arg(&config).arg("--no-caps").arg("--stderr");
    for (flag, file) in [("-p", "pid"), ("-c", "ctl"), ("-R", "persist")] {
        cmd.arg(flag).arg(dir.join(format!("{}-{tag}.{file}", daemon.name())));
    }
    rsng_tests::run_with_timeout(cmd, dir, std::time::Duration::from_secs_f64(seconds)).expect("run")
}

/// The window of a stream connection, as syslog-ng sizes it: `log-iw-size()` (default 1,000;
/// 25,600 for `unix-stream()`) divided by `max-connections()`, and at least the global
/// `min-iw-size-per-reader()`, with syslog-ng's warning when it is raised to that.
#[test]
fn stream_windows_are_sized_as_syslog_ng_sizes_them() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("iw-size").expect("tempdir");
    let port = rsng_tests::free_tcp_ports(1)[0];
    let sock = tmp.path().join("log.sock");
    let sources = [
        ("", format!("network(ip(127.0.0.1) port({port}))")),
        ("", format!("network(ip(127.0.0.1) port({port}) log-iw-size(100))")),
        ("", format!("syslog(ip(127.0.0.1) port({port}) log-iw-size(1000) max-connections(20))")),
        ("min-iw-size-per-reader(7);", format!("tcp(ip(127.0.0.1) port({port}) log-iw-size(50))")),
        ("", format!("unix-stream(\"{}\")", sock.display())),
        ("", format!("unix-stream(\"{}\" log-iw-size(300))", sock.display())),
        ("min-iw-size-per-reader(20);", format!("unix-stream(\"{}\" log-iw-size(300))", sock.display())),
        ("", format!("udp(ip(127.0.0.1) port({port}) log-iw-size(5))")),
    ];
    let mut warned = 0;
    for (i, (options, source)) in sources.iter().enumerate() {
        let text = format!(
            "@version: 3.38\noptions {{ {options} }};\nsource s {{ {source}; }};\n\
             destination d {{ file(\"/dev/null\"); }};\nlog {{ source(s); destination(d); flags(flow-control); }};\n"
        );
        let mut seen = Vec::new();
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let out = start_briefly(daemon, &text, tmp.path(), &format!("iw{i}"), 1.0);
            assert_eq!(out.code, None, "{} did not start on {source}: {}", daemon.name(), out.stderr);
            let warnings: Vec<String> = out
                .stderr
                .lines()
                .filter_map(|l| l.split_once("WARNING: window sizing").map(|(_, rest)| rest.to_string()))
                .collect();
            seen.push(warnings);
        }
        assert_eq!(seen[1], seen[0], "{options} {source}");
        warned += seen[0].len();
    }
    assert_eq!(warned, 5, "syslog-ng raised five of the windows");
}

/// `trim-large-messages(yes)`, on the source or in `options {}`: an octet-counted frame longer
/// than `log-msg-size()` is cut to that size and the connection goes on; without it the frame is
/// refused and the connection closed. A second connection's message marks the end.
#[test]
fn trim_large_messages_of_octet_counted_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("trim").expect("tempdir");
    let body = format!("<13>1 2026-12-07T10:00:00+00:00 h p - - - {}", "x".repeat(120));
    let framed = format!("{} {body}", body.len());
    let small = "<13>1 2026-12-07T10:00:01+00:00 h p - - - after";
    let first = format!("{framed}{} {small}", small.len());
    let marker = "<13>1 2026-12-07T10:00:02+00:00 h p - - - marker";
    let second = format!("{} {marker}", marker.len());
    for (options, trim) in [("", ""), ("", "trim-large-messages(yes)"), ("trim-large-messages(yes);", "")] {
        let mut seen = Vec::new();
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let out = tmp.path().join(format!("{}.out", daemon.name()));
            let _ = fs::remove_file(&out);
            let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
                format!(
                    "@version: 3.38\noptions {{ log-msg-size(60); {options} }};\n\
                     source s {{ syslog(ip(127.0.0.1) port({}) {trim}); }};\n\
                     destination d {{ file(\"{}\" template(\"$MSG\\n\")); }};\n\
                     log {{ source(s); destination(d); }};\n",
                    p.tcp[0],
                    out.display()
                )
            });
            running.send_tcp(ports.tcp[0], first.as_bytes());
            std::thread::sleep(std::time::Duration::from_millis(300));
            running.send_tcp(ports.tcp[0], second.as_bytes());
            running.wait_for(20, || fs::read_to_string(&out).is_ok_and(|t| t.contains("marker")));
            assert!(running.stop());
            seen.push(fs::read_to_string(&out).unwrap_or_default());
        }
        assert!(seen[0].ends_with("marker\n"), "{options}{trim}: syslog-ng wrote {:?}", seen[0]);
        assert_eq!(seen[1], seen[0], "{options}{trim}");
        let trimmed = !format!("{options}{trim}").is_empty();
        assert_eq!(seen[0].contains("after"), trimmed, "{options}{trim}: {:?}", seen[0]);
    }
}

/// `hook-commands()` on a source and a destination: `startup()` and `setup()` at the start,
/// `teardown()` then `setup()` of every driver at a reload, `teardown()` and `shutdown()` at the
/// stop, in syslog-ng's order; a failing `setup()` stops the start with syslog-ng's message.
#[test]
fn hook_commands_run_when_syslog_ng_runs_them() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("hooks").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let log = tmp.path().join(format!("{}.hooks", daemon.name()));
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let hooks = |who: &str| {
            ["startup", "setup", "teardown", "shutdown"]
                .map(|h| format!("{h}(\"echo {h}-{who} >> {}\")", log.display()))
                .join(" ")
        };
        let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({}) hook-commands({})); }};\n\
                 destination d {{ file(\"{}\" hook-commands({})); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                hooks("s"),
                out.display(),
                hooks("d")
            )
        });
        let lines = || fs::read_to_string(&log).map_or(0, |t| t.lines().count());
        running.wait_for(10, || lines() >= 4);
        let _ = Command::new("kill").arg("-HUP").arg(running.pid()).status();
        running.wait_for(10, || lines() >= 8);
        assert!(running.stop());
        seen.push(fs::read_to_string(&log).unwrap_or_default());
    }
    let expected = "startup-s\nsetup-s\nstartup-d\nsetup-d\nteardown-s\nteardown-d\nsetup-s\nsetup-d\n\
                    teardown-s\nshutdown-s\nteardown-d\nshutdown-d\n";
    assert_eq!(seen[0], expected, "syslog-ng");
    assert_eq!(seen[1], seen[0], "rsng");

    let text = "@version: 3.38\nsource s { internal(); };\n\
                destination d { file(\"/dev/null\" hook-commands(setup(\"exit 3\"))); };\n\
                log { source(s); destination(d); };\n";
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = start_briefly(daemon, text, tmp.path(), "hookfail", 3.0);
        assert!(out.code.is_some_and(|c| c != 0), "{} started: {}", daemon.name(), out.stderr);
        let conf = tmp.path().join(format!("{}-hookfail.conf", daemon.name()));
        let want = format!(
            "Hook command returned with failure, aborting initialization; driver='d#0', location='{}:3:17', \
             hook='setup', command='exit 3', rc='768'",
            conf.display()
        );
        assert!(out.stderr.contains(&want), "{}: {}", daemon.name(), out.stderr);
    }
}

/// `suppress(2)`, on the destination or in `options {}`: repetitions of a message (same text,
/// host, program and pid, whatever the priority) are dropped, and syslog-ng's summary comes
/// before the next different message or 2 s after the first repetition.
#[test]
fn suppress_writes_syslog_ngs_summaries() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("suppress").expect("tempdir");
    let input = "<13>Dec  7 10:00:00 h p[1]: same message repeated here\n".repeat(3)
        + "<14>Dec  7 10:00:00 h p[1]: other\n<13>Dec  7 10:00:00 h p[1]: other\n<13>Dec  7 10:00:00 h p[1]: other\n\
           <13>Dec  7 10:00:00 h p[2]: other\n<13>Dec  7 10:00:00 h p[2]: other\n";
    for (options, own) in [("", "suppress(2)"), ("suppress(2);", "")] {
        let mut seen = Vec::new();
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let out = tmp.path().join(format!("{}.out", daemon.name()));
            let _ = fs::remove_file(&out);
            let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
                format!(
                    "@version: 3.38\noptions {{ {options} }};\n\
                     source s {{ network(ip(127.0.0.1) port({})); }};\n\
                     destination d {{ file(\"{}\" template(\"$PRI $HOST $PROGRAM[$PID] $MSG\\n\") {own}); }};\n\
                     log {{ source(s); destination(d); }};\n",
                    p.tcp[0],
                    out.display()
                )
            });
            running.send_tcp(ports.tcp[0], input.as_bytes());
            // The last summary comes from the timer, 2 s after the first repetition of `other`.
            running.wait_for(20, || fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 6));
            let pid = running.pid();
            assert!(running.stop());
            seen.push(fs::read_to_string(&out).unwrap_or_default().replace(&format!("[{pid}]"), "[PID]"));
        }
        let expected = "13 localhost p[1] same message repeated here\n\
                        13 localhost p[PID] Last message 'same message repeate' repeated 2 times, suppressed by syslog-ng on HOST\n\
                        14 localhost p[1] other\n\
                        14 localhost p[PID] Last message 'other' repeated 2 times, suppressed by syslog-ng on HOST\n\
                        13 localhost p[2] other\n\
                        13 localhost p[PID] Last message 'other' repeated 1 times, suppressed by syslog-ng on HOST\n";
        let host = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
        let oracle = seen[0].replace(&format!("syslog-ng on {host}"), "syslog-ng on HOST");
        assert_eq!(oracle, expected, "{options}{own}: syslog-ng");
        assert_eq!(seen[1], seen[0], "{options}{own}");
    }
}

/// `create-dirs(yes)` on a `unix-stream()` source makes the missing directories above the socket
/// with `dir-perm()`, and the socket gets `perm()`; without `create-dirs()` the source cannot
/// bind there and the daemon does not start.
#[test]
fn create_dirs_of_unix_stream_sources() {
    use std::os::unix::fs::PermissionsExt as _;
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("unixdirs").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let base = tmp.path().join(daemon.name());
        let socket = base.join("a/b/log.sock");
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 0, |_| {
            format!(
                "@version: 3.38
                 source s {{ unix-stream(\"{}\" create-dirs(yes) dir-perm(0751) perm(0604)); }};
                 destination d {{ file(\"{}\" template(\"$MSG\\n\")); }};
                 log {{ source(s); destination(d); }};
",
                socket.display(),
                out.display()
            )
        });
        running.wait_for(20, || socket.exists());
        let mut conn = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
        std::io::Write::write_all(&mut conn, b"<13>prog: through a made directory\n").expect("send");
        drop(conn);
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 1);
        assert!(running.stop());
        let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
        seen.push((mode(&base.join("a")), mode(&base.join("a/b")), fs::read_to_string(&out).unwrap_or_default()));
    }
    assert_eq!(seen[0].2, "through a made directory\n", "syslog-ng wrote {:?}", seen[0]);
    assert_eq!(seen[1], seen[0], "rsng differs from syslog-ng (directory modes, output)");
    assert_eq!((seen[0].0, seen[0].1), (0o751, 0o751));

    // Without create-dirs(), both refuse to start.
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let socket = tmp.path().join(format!("{}-missing/x/log.sock", daemon.name()));
        let text = format!(
            "@version: 3.38\nsource s {{ unix-stream(\"{}\"); }};\n\
             destination d {{ file(\"/dev/null\"); }};\nlog {{ source(s); destination(d); }};\n",
            socket.display()
        );
        let out = start_briefly(daemon, &text, tmp.path(), "nodirs", 3.0);
        assert!(out.stderr.contains("Error binding socket"), "{}: {}", daemon.name(), out.stderr);
    }
}

/// Reads what arrives on `listener` (one connection) until `want` bytes or 20 s.
fn receive(listener: &std::net::TcpListener, want: usize) -> String {
    use std::io::Read as _;
    let (mut conn, _) = listener.accept().expect("the destination connects");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// The global `file-template()` and `proto-template()` are the default templates of file and
/// network destinations; `syslog()` keeps RFC 5424, and a destination's own `template()` wins.
#[test]
fn file_template_and_proto_template_are_the_defaults() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("default-templates").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let (net, sys) = (
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
        );
        let (net_port, sys_port) = (net.local_addr().expect("addr").port(), sys.local_addr().expect("addr").port());
        let (file, own) =
            (tmp.path().join(format!("{}.file", daemon.name())), tmp.path().join(format!("{}.own", daemon.name())));
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\n\
                 template t_file {{ template(\"F $PROGRAM $MSG\\n\"); }};\n\
                 template t_proto {{ template(\"P $PROGRAM $MSG\\n\"); }};\n\
                 options {{ file-template(t_file); proto-template(t_proto); }};\n\
                 source s {{ network(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ file(\"{}\"); file(\"{}\" template(\"own $MSG\\n\"));\n\
                 network(\"127.0.0.1\" port({net_port})); syslog(\"127.0.0.1\" port({sys_port})); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                file.display(),
                own.display()
            )
        });
        running.send_tcp(ports.tcp[0], b"<13>Dec  6 10:00:00 host prog: hello\n");
        let network = receive(&net, 13);
        let syslog = receive(&sys, 40);
        running.wait_for(20, || fs::read_to_string(&own).is_ok_and(|t| t.ends_with('\n')));
        assert!(running.stop());
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        seen.push(mask_receive_times(&format!("{}{}{network}{syslog}", read(&file), read(&own))));
    }
    assert!(seen[0].starts_with("F prog hello\nown hello\nP prog hello\n"), "{}", seen[0]);
    assert!(seen[0].contains(" prog - - - hello"), "syslog() keeps RFC 5424: {}", seen[0]);
    assert_eq!(seen[1], seen[0]);
}

/// The obsolete `long-hostnames()` and `log-prefix()` of a source still mean
/// `chain-hostnames()` and `program-override()`.
#[test]
fn long_hostnames_and_log_prefix_are_the_old_names() {
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38\n\
             source s {{ network(ip(127.0.0.1) port({port}) long-hostnames(yes) log-prefix(\"pfx\")); }};\n\
             destination d {{ file(\"{}\" template(\"$HOST|$PROGRAM|$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let input = b"<13>Dec  6 10:00:00 sender prog[1]: one\n";
    let Some((oracle, rsng)) = both("long-hostnames", &config, input, 1) else { return };
    assert!(oracle.starts_with("sender|pfx|one"), "{oracle}");
    assert_same(&oracle, &rsng, 1);
}

/// The global `long-hostnames(yes)` is the obsolete spelling of the global
/// `chain-hostnames(yes)`: a network message keeps its header's host name instead of the
/// sender's (here `localhost`).
#[test]
fn global_long_hostnames_is_chain_hostnames() {
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38
             options {{ long-hostnames(yes); }};
             source s {{ network(ip(127.0.0.1) port({port})); }};
             destination d {{ file(\"{}\" template(\"$HOST|$PROGRAM|$MSG\\n\")); }};
             log {{ source(s); destination(d); }};
",
            out.display()
        )
    };
    let input = b"<13>Dec  6 10:00:00 sender prog[1]: remote\n";
    let Some((oracle, rsng)) = both("global-long-hostnames", &config, input, 1) else { return };
    assert_eq!(oracle, "sender|prog|remote\n", "without the option syslog-ng writes localhost");
    assert_same(&oracle, &rsng, 1);
}

/// A syslog server that answers: each line it reads is recorded with the number of the
/// connection it came on, and the first line of every connection gets a reply.
fn answering_server(listener: std::net::TcpListener) -> std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>> {
    use std::io::{BufRead, BufReader, Write};
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let reader = BufReader::new(stream.try_clone().expect("clone"));
                for (i, line) in reader.lines().map_while(Result::ok).enumerate() {
                    if i == 0 {
                        let _ = stream.write_all(b"a reply the client did not ask for\n");
                    }
                    seen.lock().expect("lines").push((n + 1, line));
                }
            });
        }
    });
    lines
}

/// A daemon forwarding from a TCP source to a `tcp()` destination (`$MSG` lines) with
/// `options`, whose server is an [`answering_server`].
struct Relay {
    running: RunningDaemon,
    port: u16,
    lines: std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>>,
    _tmp: TempDir,
}

impl Relay {
    fn start(daemon: Daemon, options: &str) -> Relay {
        let tmp = TempDir::new("relay").expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = listener.local_addr().expect("addr").port();
        let lines = answering_server(listener);
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\noptions {{ stats-freq(0); time-reopen(1); }};\n\
                 source s {{ network(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ tcp(\"127.0.0.1\" port({server}) template(\"$MSG\\n\"){options}); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0]
            )
        });
        Relay { running, port: ports.tcp[0], lines, _tmp: tmp }
    }

    /// Sends `text` as a message on a connection of its own.
    fn send(&self, text: &str) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        std::io::Write::write_all(&mut s, format!("<13>Dec  7 06:50:00 h p: {text}\n").as_bytes()).expect("send");
    }

    fn received(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    /// Stops the daemon; what the server received, with the connection each line came on.
    fn stop(self) -> Vec<(usize, String)> {
        assert!(self.running.stop());
        let lines = self.lines.lock().expect("lines").clone();
        lines
    }
}

/// `close-on-input()` of a TCP destination: with syslog-ng's default `yes`, input from the
/// server ends the connection and the next message goes out on a new one (after
/// `time-reopen()`); with `no`, the input is ignored and the connection stays. Same on both daemons.
#[test]
fn close_on_input_of_tcp_destinations() {
    if oracle_skipped() {
        return;
    }
    for (setting, second_connection) in [("", 2), (" close-on-input(yes)", 2), (" close-on-input(no)", 1)] {
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let relay = Relay::start(daemon, setting);
            relay.send("first");
            relay.running.wait_for(10, || relay.received() == 1);
            // The reply has arrived and been seen by now.
            std::thread::sleep(std::time::Duration::from_millis(1500));
            relay.send("second");
            relay.running.wait_for(10, || relay.received() == 2);
            assert_eq!(
                relay.stop(),
                vec![(1, "first".to_string()), (second_connection, "second".to_string())],
                "{}{setting}",
                daemon.name()
            );
        }
    }
}

/// `throttle(10)` of a TCP destination: 40 messages queued at once go out at about ten a second
/// (after a first second's worth), on both daemons: far from all of them within 1.5 s, all of
/// them within 10 s.
#[test]
fn throttle_of_tcp_destinations() {
    if oracle_skipped() {
        return;
    }
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let relay = Relay::start(daemon, " throttle(10) close-on-input(no)");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", relay.port)).expect("connect");
        let input: String = (0..40).map(|i| format!("<13>Dec  7 06:50:00 h p: message {i}\n")).collect();
        std::io::Write::write_all(&mut s, input.as_bytes()).expect("send");
        relay.running.wait_for(10, || relay.received() > 0);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let early = relay.received();
        relay.running.wait_for(10, || relay.received() == 40);
        let all = relay.stop().len();
        assert!((5..=32).contains(&early), "{}: {early} of 40 written in the first 1.5 s", daemon.name());
        assert_eq!(all, 40, "{}", daemon.name());
    }
}

/// `keep-alive()` of a TCP destination across a reload: kept by default, a new connection with
/// `keep-alive(no)`; nothing lost either way. Same on both daemons.
#[test]
fn keep_alive_of_tcp_destinations_across_a_reload() {
    if oracle_skipped() {
        return;
    }
    for (setting, second_connection) in [("", 1), (" keep-alive(yes)", 1), (" keep-alive(no)", 2)] {
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let relay = Relay::start(daemon, &format!(" close-on-input(no){setting}"));
            relay.send("before");
            relay.running.wait_for(10, || relay.received() == 1);
            let _ = Command::new("kill").arg("-HUP").arg(relay.running.pid()).status();
            std::thread::sleep(std::time::Duration::from_millis(1500));
            relay.send("after");
            relay.running.wait_for(10, || relay.received() == 2);
            assert_eq!(
                relay.stop(),
                vec![(1, "before".to_string()), (second_connection, "after".to_string())],
                "{}{setting}",
                daemon.name()
            );
        }
    }
}

/// What a UDP destination's server received: (sender address, datagram).
fn udp_datagrams(socket: &std::net::UdpSocket, want: usize) -> Vec<(std::net::SocketAddr, String)> {
    socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while out.len() < want {
        let Ok((n, from)) = socket.recv_from(&mut buf) else { break };
        out.push((from, String::from_utf8_lossy(&buf[..n]).into_owned()));
    }
    out
}

/// `spoof-source(yes)` of UDP destinations: a message that came from 127.0.0.5 leaves from
/// 127.0.0.5 and the sender's port (raw sockets: as root, which the test machine is; without the
/// privilege both daemons send the ordinary way), cut to `spoof-source-max-msglen()`. Same on
/// both daemons.
#[test]
fn spoof_source_of_udp_destinations() {
    if oracle_skipped() {
        return;
    }
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let tmp = TempDir::new("spoof").expect("tempdir");
        let servers: Vec<std::net::UdpSocket> =
            (0..2).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind server")).collect();
        let port = |i: usize| servers[i].local_addr().expect("addr").port();
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 1, 0, |p| {
            format!(
                "@version: 3.38\noptions {{ stats-freq(0); }};\n\
                 source s {{ network(ip(127.0.0.1) port({}) transport(udp)); }};\n\
                 destination d_whole {{ udp(\"127.0.0.1\" port({}) spoof-source(yes) template(\"$MSG\")); }};\n\
                 destination d_cut {{ network(\"127.0.0.1\" port({}) transport(udp) spoof-source(yes) \
                 spoof-source-max-msglen(12) template(\"$MSG\")); }};\n\
                 log {{ source(s); destination(d_whole); destination(d_cut); }};\n",
                p.udp[0],
                port(0),
                port(1)
            )
        });
        let sender = std::net::UdpSocket::bind("127.0.0.5:0").expect("bind sender");
        let sender_port = sender.local_addr().expect("addr").port();
        sender
            .send_to(b"<13>Dec  7 06:50:00 h p: a message from 127.0.0.5", ("127.0.0.1", ports.udp[0]))
            .expect("send");
        let received: Vec<Vec<String>> = servers
            .iter()
            .map(|s| {
                udp_datagrams(s, 1)
                    .into_iter()
                    .map(|(from, text)| {
                        format!("{}:{} {text}", from.ip(), if from.port() == sender_port { "SENDER" } else { "OTHER" })
                    })
                    .collect()
            })
            .collect();
        assert!(running.stop());
        seen.push(received);
    }
    let root = nix::unistd::geteuid().is_root();
    if root {
        assert_eq!(
            seen[0],
            vec![
                vec!["127.0.0.5:SENDER a message from 127.0.0.5".to_string()],
                vec!["127.0.0.5:SENDER a message fr".to_string()]
            ],
            "syslog-ng"
        );
    }
    assert_eq!(seen[1], seen[0], "rsng differs from syslog-ng (root: {root})");
}

/// `flags(syslog-protocol)` of a `network()` destination: RFC 5424 lines, as `syslog()` writes
/// them, the same bytes from both daemons.
#[test]
fn syslog_protocol_flag_of_network_destinations() {
    if oracle_skipped() {
        return;
    }
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let tmp = TempDir::new("syslog-protocol").expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = listener.local_addr().expect("addr").port();
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\noptions {{ stats-freq(0); }};\n\
                 source s {{ network(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ network(\"127.0.0.1\" port({server}) flags(syslog-protocol)); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0]
            )
        });
        running.send_tcp(ports.tcp[0], b"<13>Dec  7 06:50:00 h p[5]: first\n<14>Dec  7 06:50:01 h q: second\n");
        let (mut conn, _) = listener.accept().expect("the daemon connects");
        conn.set_read_timeout(Some(std::time::Duration::from_millis(500))).expect("timeout");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got.iter().filter(|&&b| b == b'\n').count() < 2 && std::time::Instant::now() < deadline {
            if let Ok(n) = std::io::Read::read(&mut conn, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        assert!(running.stop());
        seen.push(String::from_utf8_lossy(&got).into_owned());
    }
    assert!(seen[0].starts_with("<13>1 ") && seen[0].contains(" p 5 - - first\n"), "syslog-ng wrote {:?}", seen[0]);
    assert_eq!(seen[1], seen[0], "rsng differs from syslog-ng");
}

/// `encoding()` of socket sources: what peers send is converted to UTF-8 before it is cut into
/// messages, over TCP and UDP; a byte the character set does not have is skipped. An unknown
/// character set is refused while loading, as syslog-ng refuses it.
#[test]
fn encoding_of_socket_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("encoding").expect("tempdir");
    let mut outputs = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let dir = tmp.path().join(daemon.name());
        fs::create_dir_all(&dir).expect("dir");
        let out = dir.join("out");
        let (running, ports, _) = RunningDaemon::start(daemon, &dir, 1, 2, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ tcp(ip(127.0.0.1) port({}) encoding(\"ISO-8859-2\") flags(no-parse));\n\
                 udp(ip(127.0.0.1) port({}) encoding(\"latin2\") flags(no-parse));\n\
                 tcp(ip(127.0.0.1) port({}) encoding(\"ASCII\") flags(no-parse)); }};\n\
                 destination d {{ file(\"{}\" template(\"$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.udp[0],
                p.tcp[1],
                out.display()
            )
        });
        running.send_tcp(ports.tcp[0], b"caf\xe9 \xb1\nzweite Zeile \xdf\n");
        running.send_udp(&[ports.udp[0]], &[&b"datagram \xe9\xb1"[..]]);
        running.send_tcp(ports.tcp[1], b"ascii \xe9x\n");
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 4);
        assert!(running.stop(), "{} did not stop", daemon.name());
        // The sources run side by side: their order in the file is not fixed.
        outputs.push(sorted_lines(&out));
    }
    assert_eq!(outputs[0], ["ascii x", "café ą", "datagram éą", "zweite Zeile ß"], "syslog-ng wrote");
    assert_eq!(outputs[1], outputs[0], "rsng differs from syslog-ng");

    let conf = tmp.path().join("unknown.conf");
    fs::write(
        &conf,
        "@version: 3.38\nsource s { tcp(ip(127.0.0.1) port(1) encoding(\"NO-SUCH-SET\")); };\n\
         destination d { file(\"/dev/null\"); };\nlog { source(s); destination(d); };\n",
    )
    .expect("write");
    for (what, bin) in [("syslog-ng", oracle_bin()), ("rsng", rsng_bin().to_path_buf())] {
        let out = Command::new(bin).arg("--syntax-only").arg("-f").arg(&conf).output().expect("run");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what} accepted an unknown encoding");
        assert!(text.contains("unknown encoding \"NO-SUCH-SET\""), "{what}: {text}");
    }
}

/// `use-syslogng-pid(yes)` of a network source: `$PID` is the daemon's own, not the one the
/// message carries; without it the message's stays.
#[test]
fn use_syslogng_pid_of_network_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("own-pid").expect("tempdir");
    let mut outputs = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let dir = tmp.path().join(daemon.name());
        fs::create_dir_all(&dir).expect("dir");
        let out = dir.join("out");
        let (running, ports, _) = RunningDaemon::start(daemon, &dir, 0, 2, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({}) use-syslogng-pid(yes));\n\
                 network(ip(127.0.0.1) port({}) use-syslogng-pid(no)); }};\n\
                 destination d {{ file(\"{}\" template(\"$PID|$PROGRAM|$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.tcp[1],
                out.display()
            )
        });
        running.send_tcp(ports.tcp[0], b"<13>Jan  1 00:00:00 host prog[123]: own\n");
        running.send_tcp(ports.tcp[1], b"<13>Jan  1 00:00:00 host prog[123]: sender's\n");
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 2);
        let pid = running.pid().to_string();
        assert!(running.stop(), "{} did not stop", daemon.name());
        let text = fs::read_to_string(&out).unwrap_or_default();
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| if l.starts_with(&format!("{pid}|")) { l.replacen(&pid, "OWN", 1) } else { l.into() })
            .collect();
        lines.sort();
        outputs.push(lines);
    }
    assert_eq!(outputs[0], ["123|prog|sender's", "OWN|prog|own"], "syslog-ng wrote");
    assert_eq!(outputs[1], outputs[0], "rsng differs from syslog-ng");
}

/// `keep-alive()` of a TCP source across a reload: by default the connection stays open and
/// what it sends afterwards arrives; with `keep-alive(no)` the daemon closes it, as syslog-ng
/// does.
#[test]
fn keep_alive_of_tcp_sources_across_a_reload() {
    use std::io::{Read, Write};
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("keep-alive-src").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 2, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({}) keep-alive(no)); network(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ file(\"{}\" template(\"$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.tcp[1],
                out.display()
            )
        });
        let mut closing = std::net::TcpStream::connect(("127.0.0.1", ports.tcp[0])).expect("connect");
        let mut kept = std::net::TcpStream::connect(("127.0.0.1", ports.tcp[1])).expect("connect");
        closing.write_all(b"<13>Jan  1 00:00:00 h p: before no\n").expect("send");
        kept.write_all(b"<13>Jan  1 00:00:00 h p: before yes\n").expect("send");
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 2);
        let _ = Command::new("kill").arg("-HUP").arg(running.pid()).status();
        // Whether the daemon closed each connection: end of file, else nothing to read.
        let state = |s: &mut std::net::TcpStream| {
            s.set_read_timeout(Some(std::time::Duration::from_millis(200))).expect("timeout");
            let mut buf = [0u8; 16];
            match s.read(&mut buf) {
                Ok(0) => "closed",
                Ok(_) => "data",
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => "closed",
                Err(_) => "open",
            }
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut closed = state(&mut closing);
        while closed == "open" && std::time::Instant::now() < deadline {
            closed = state(&mut closing);
        }
        let kept_state = state(&mut kept);
        kept.write_all(b"<13>Jan  1 00:00:00 h p: after yes\n").expect("send");
        running.wait_for(20, || count() >= 3);
        assert!(running.stop());
        seen.push((closed, kept_state, sorted_lines(&out)));
    }
    assert_eq!(seen[0].0, "closed", "{seen:?}");
    assert_eq!(seen[0].1, "open", "{seen:?}");
    assert_eq!(seen[1], seen[0]);
}

/// `flags(ignore-aux-data)` of TCP, UDP and unix sources: the sender's address and port, the
/// listener's port and protocol and the unix credentials are not used, so the message reads as a
/// local one (`$HOST` is the local host's name); without the flag they are.
#[test]
fn ignore_aux_data_of_socket_sources() {
    use std::io::Write;
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("ignore-aux").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let dir = tmp.path().join(daemon.name());
        fs::create_dir_all(&dir).expect("dir");
        let out = dir.join("out");
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 1, 2, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({}) flags(ignore-aux-data)); network(ip(127.0.0.1) port({}));\n\
                 network(ip(127.0.0.1) port({}) transport(udp) flags(ignore-aux-data));\n\
                 unix-dgram(\"{3}/ignore\" flags(ignore-aux-data)); unix-dgram(\"{3}/plain\"); }};\n\
                 destination d {{ file(\"{4}\" template(\"${{SOURCEIP}}|${{HOST}}|${{HOST_FROM}}|${{.unix.pid}}|${{DESTPORT}}|${{PROTO}}|${{MSG}}\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.tcp[1],
                p.udp[0],
                dir.display(),
                out.display()
            )
        });
        running.wait_for(20, || dir.join("ignore").exists() && dir.join("plain").exists());
        let mut ignoring = std::net::TcpStream::connect(("127.0.0.1", ports.tcp[0])).expect("connect");
        let mut plain = std::net::TcpStream::connect(("127.0.0.1", ports.tcp[1])).expect("connect");
        ignoring.write_all(b"<13>Jan  1 00:00:00 h p: tcp-ignore\n").expect("send");
        plain.write_all(b"<13>Jan  1 00:00:00 h p: tcp-plain\n").expect("send");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        udp.send_to(b"<13>Jan  1 00:00:00 h p: udp-ignore", ("127.0.0.1", ports.udp[0])).expect("send");
        let unix = std::os::unix::net::UnixDatagram::unbound().expect("unix");
        unix.send_to(b"<13>Jan  1 00:00:00 p: unix-ignore", dir.join("ignore")).expect("send");
        unix.send_to(b"<13>Jan  1 00:00:00 p: unix-plain", dir.join("plain")).expect("send");
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 5);
        assert!(running.stop());
        let text = fs::read_to_string(&out).unwrap_or_default();
        // The plain TCP listener's port differs between the runs.
        let text = text.replace(&format!("|{}|6|tcp-plain", ports.tcp[1]), "|PORT|6|tcp-plain");
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.sort();
        seen.push(lines);
    }
    let me = std::process::id().to_string();
    assert!(seen[0].iter().any(|l| l.ends_with("|0|0|tcp-ignore")), "{:?}", seen[0]);
    assert!(seen[0].iter().any(|l| l.contains(&format!("|{me}|0|0|unix-plain"))), "{:?}", seen[0]);
    assert!(seen[0].iter().any(|l| l.ends_with("||0|0|unix-ignore")), "{:?}", seen[0]);
    assert_eq!(seen[1], seen[0]);
}

/// `format(linux-kmsg)` of TCP and UDP sources: each frame is read as a kernel log record, and
/// one that is not (a continuation line, a syslog line) becomes syslog-ng's error message.
#[test]
fn linux_kmsg_format_of_socket_sources() {
    use std::io::Write;
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("kmsg-socket").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 1, 1, |p| {
            format!(
                "@version: 3.38\n\
                 source s {{ network(ip(127.0.0.1) port({}) format(\"linux-kmsg\"));\n\
                 network(ip(127.0.0.1) port({}) transport(udp) format(linux-kmsg)); }};\n\
                 destination d {{ file(\"{}\" template(\"${{PRI}}|${{MSGID}}|${{.linux.timestamp}}|${{MSG}}|${{.linux.SUBSYSTEM}}\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                p.tcp[0],
                p.udp[0],
                out.display()
            )
        });
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", ports.tcp[0])).expect("connect");
        tcp.write_all(b"6,123,456789,-;hello kernel\n SUBSYSTEM=usb\n<13>Jan  1 00:00:00 h p: plain\n").expect("send");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        // A datagram holds one record with its newline, as /dev/kmsg gives it (syslog-ng 3.38
        // reports a record without it as an error, and garbles continuation lines).
        udp.send_to(b"3,7,1000,c;over udp\n", ("127.0.0.1", ports.udp[0])).expect("send");
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 4);
        assert!(running.stop());
        seen.push(sorted_lines(&out));
    }
    assert!(seen[0].contains(&"6|123|456789|hello kernel|".to_string()), "{:?}", seen[0]);
    assert_eq!(seen[1], seen[0]);
}

/// A `format()` socket sources do not read: syslog-ng 3.38 starts and drops every message
/// (an unknown name) or reads binary records (`pacct`); rsng refuses it, at start-up and with
/// `--syntax-only` alike, naming it.
#[test]
fn unknown_formats_of_socket_sources_are_refused() {
    let tmp = TempDir::new("format-refused").expect("tempdir");
    for format in ["nonsense", "pacct"] {
        let text = format!(
            "@version: 3.38\nsource s {{ network(ip(127.0.0.1) port(0) format(\"{format}\")); }};\n\
             destination d {{ file(\"{}/out\"); }};\nlog {{ source(s); destination(d); }};\n",
            tmp.path().display()
        );
        let started = start_briefly(Daemon::Rsng, &text, tmp.path(), format, 5.0);
        assert_eq!(started.code, Some(1), "{format}: {}", started.stderr);
        let error = started.stderr.lines().find(|l| l.starts_with("rsng:")).expect("an error line").to_string();
        assert!(error.contains(&format!("`format({format})`")) && error.contains(":2:"), "{error}");
        let conf = tmp.path().join(format!("rsng-{format}.conf"));
        let check = Command::new(rsng_bin()).arg("--syntax-only").arg("-f").arg(&conf).output().expect("rsng -s");
        assert_eq!(check.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&check.stderr).contains(&error), "{}", String::from_utf8_lossy(&check.stderr));
    }
}

/// `so-passcred()` of a `unix-stream()` source: by default every message of a connection gets
/// the connecting process's `.unix.pid`, `.unix.uid` and `.unix.gid`; with `so-passcred(no)` none.
#[test]
fn so_passcred_of_unix_stream_sources() {
    use std::io::Write;
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("passcred-stream").expect("tempdir");
    let mut seen = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let out = tmp.path().join(format!("{}.out", daemon.name()));
        let (off, on) = (tmp.path().join("off.stream"), tmp.path().join("on.stream"));
        let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 0, |_| {
            format!(
                "@version: 3.38\n\
                 source s {{ unix-stream(\"{}\" so-passcred(no)); unix-stream(\"{}\"); }};\n\
                 destination d {{ file(\"{}\" template(\"${{.unix.pid}}|${{.unix.uid}}|${{.unix.gid}}|$MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                off.display(),
                on.display(),
                out.display()
            )
        });
        running.wait_for(20, || off.exists() && on.exists());
        for (path, text) in [(&off, "without"), (&on, "with")] {
            let mut s = std::os::unix::net::UnixStream::connect(path).expect("connect");
            s.write_all(format!("<13>Jan  1 00:00:00 prog: {text} credentials\n").as_bytes()).expect("send");
        }
        let count = || line_count(&out);
        running.wait_for(20, || count() >= 2);
        assert!(running.stop());
        seen.push(sorted_lines(&out));
    }
    let (me, uid, gid) = (std::process::id(), nix::unistd::getuid(), nix::unistd::getgid());
    let mut expected = vec!["|||without credentials".to_string(), format!("{me}|{uid}|{gid}|with credentials")];
    expected.sort();
    assert_eq!(seen[0], expected);
    assert_eq!(seen[1], seen[0]);
}

/// What flow-controlled connections get queued while their destination is away, with
/// `source_options` on the source (`log-iw-size(1000) max-connections(10)`: 100 each), after
/// `seconds`.
fn queued_with_windows(daemon: Daemon, tmp: &Path, connections: usize, source_options: &str, seconds: u64) -> usize {
    use std::io::Write;
    let dir = tmp.join(format!("{}-{connections}", daemon.name()));
    fs::create_dir_all(&dir).expect("dir");
    let away = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let (running, ports, _) = RunningDaemon::start(daemon, &dir, 0, 1, |p| {
        format!(
            "@version: 3.38\noptions {{ stats-freq(0); }};\n\
             source s {{ network(ip(127.0.0.1) port({}) max-connections(10) log-iw-size(1000) {source_options}); }};\n\
             destination d {{ network(\"127.0.0.1\" port({away}) time-reopen(1) log-fifo-size(100000)); }};\n\
             log {{ source(s); destination(d); flags(flow-control); }};\n",
            p.tcp[0]
        )
    });
    let port = ports.tcp[0];
    let senders: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                for i in 0..5000 {
                    let line = format!("<13>Jan  1 00:00:00 h p: connection {c} message {i:05}\n");
                    if s.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_secs(seconds));
    let stats = rsng_tests::ctl_stats(&dir, daemon);
    assert!(running.stop());
    for s in senders {
        let _ = s.join();
    }
    stats
        .lines()
        .filter(|l| l.starts_with("dst.network;d#0;") && l.contains(";queued;"))
        .filter_map(|l| l.rsplit(';').next()?.parse::<usize>().ok())
        .sum()
}

/// `dynamic-window-size()`: the pool is shared out evenly among the open connections on top of
/// their own windows, once every `dynamic-window-stats-freq()` × `dynamic-window-realloc-ticks()`
/// seconds: one connection takes 100 + 1,000 messages, two take 2 × (100 + 500); without the
/// pool they stop at 100 each. The same on both daemons.
#[test]
fn dynamic_window_size_of_stream_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("dynamic-window").expect("tempdir");
    let pool = "dynamic-window-size(1000) dynamic-window-stats-freq(1) dynamic-window-realloc-ticks(1)";
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let name = daemon.name();
        assert_eq!(queued_with_windows(daemon, tmp.path(), 1, "", 3), 100, "{name}: no pool");
        assert_eq!(queued_with_windows(daemon, &tmp.path().join("one"), 1, pool, 4), 1100, "{name}: one connection");
        assert_eq!(queued_with_windows(daemon, &tmp.path().join("two"), 2, pool, 4), 1200, "{name}: two connections");
    }
}

/// `log-iw-size()` of `internal()` (default 100): with flow control and the destination away,
/// that many internal messages go into its queue and the rest wait in the queue of internal
/// events (`global;internal_queue_length`), on both daemons alike.
#[test]
fn log_iw_size_of_internal_sources() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("internal-window").expect("tempdir");
    for options in ["", "log-iw-size(10)"] {
        let mut seen = Vec::new();
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let dir = tmp.path().join(format!("{}{}", daemon.name(), options.len()));
            fs::create_dir_all(&dir).expect("dir");
            let away = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
            let (running, ports, _) = RunningDaemon::start(daemon, &dir, 0, 1, |p| {
                format!(
                    "@version: 3.38\noptions {{ stats-freq(0); }};\n\
                     source s_net {{ network(ip(127.0.0.1) port({})); }};\n\
                     source s_int {{ internal({options}); }};\n\
                     destination d {{ network(\"127.0.0.1\" port({away}) time-reopen(60) log-fifo-size(100000)); }};\n\
                     destination d_null {{ file(\"/dev/null\"); }};\n\
                     log {{ source(s_int); destination(d); flags(flow-control); }};\n\
                     log {{ source(s_net); destination(d_null); }};\n",
                    p.tcp[0]
                )
            });
            // Each connection makes two internal messages ("accepted", "closed").
            for _ in 0..80 {
                drop(std::net::TcpStream::connect(("127.0.0.1", ports.tcp[0])).expect("connect"));
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let stats = rsng_tests::ctl_stats(&dir, daemon);
            assert!(running.stop());
            let mut rows: Vec<String> = stats
                .lines()
                .filter(|l| {
                    l.starts_with("dst.network;d#0;") && l.contains(";queued;")
                        || l.starts_with("global;internal_queue_length;")
                        || l.starts_with("src.internal;s_int#0;;a;processed;")
                })
                .map(|l| l.replace(&format!(":{away};"), ":PORT;"))
                .collect();
            rows.sort();
            seen.push(rows);
        }
        let window = if options.is_empty() { "100" } else { "10" };
        assert!(seen[0].iter().any(|r| r.ends_with(&format!(";queued;{window}"))), "{:?}", seen[0]);
        assert_eq!(seen[1], seen[0], "internal({options})");
    }
}
