//! Global options that change what the daemon itself does, each run through syslog-ng 3.38 and
//! rsng with the same configuration and input: `use-uniqid()`, `stats-freq()`, `mark-freq()`,
//! the global `time-zone()` and `send-time-zone()`, `custom-domain()`.

use std::fs;
use std::path::Path;

use rsng_tests::{oracle_skipped, Daemon, RunningDaemon, TempDir};

/// Runs `config(port, output file)` in `daemon` with its persist file in `dir`, sends `input`
/// over one TCP connection, waits until `lines` lines of the output file are there (at most
/// 20 s), stops the daemon and returns the whole output file.
fn run_once(daemon: Daemon, dir: &Path, config: &dyn Fn(u16, &Path) -> String, input: &[u8], lines: usize) -> String {
    let out = dir.join(format!("{}.out", daemon.name()));
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0], &out));
    running.send_tcp(ports.tcp[0], input);
    let count = || fs::read_to_string(&out).map_or(0, |t| t.lines().count());
    running.wait_for(20, || count() >= lines);
    assert!(running.stop(), "{} did not stop", daemon.name());
    fs::read_to_string(&out).unwrap_or_default()
}

/// `text` with every `$HOSTID` (8 hexadecimal digits at the start of a line and after the
/// second `|`) replaced by `H`, after checking that one host id is used throughout.
fn mask_host_id(daemon: Daemon, text: &str) -> String {
    let mut seen: Option<&str> = None;
    let mut out = String::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.splitn(4, '|').collect();
        assert_eq!(fields.len(), 4, "{}: bad line {line:?}", daemon.name());
        let (id, counter) = fields[0].split_once('@').unwrap_or_else(|| panic!("{}: no @ in {line:?}", daemon.name()));
        assert!(id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{line:?}");
        assert_eq!(fields[2], id, "{}: $HOSTID is not the host part of $UNIQID: {line:?}", daemon.name());
        assert_eq!(*seen.get_or_insert(id), id, "{}: the host id changed: {text}", daemon.name());
        out.push_str(&format!("H@{counter}|{}|H|{}\n", fields[1], fields[3]));
    }
    out
}

/// `use-uniqid(yes)`: `$UNIQID` is the host id and the message's receipt counter in hexadecimal,
/// `$RCPTID` the counter in decimal, `$HOSTID` the host id; the counter and the host id carry on
/// across a restart with the same persist file. Internal messages take counter values too, so
/// the counters seen by the network messages match syslog-ng's only if those are numbered alike.
#[test]
fn use_uniqid_numbers_messages_and_persists_across_restarts() {
    if oracle_skipped() {
        return;
    }
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38\n\
             options {{ use-uniqid(yes); }};\n\
             source s {{ network(ip(127.0.0.1) port({port})); }};\n\
             destination d {{ file(\"{}\" template(\"$UNIQID|$RCPTID|$HOSTID|$MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let input = b"<13>Dec  6 10:00:00 h p: one\n<13>Dec  6 10:00:00 h p: two\n";
    let tmp = TempDir::new("use-uniqid").expect("tempdir");
    let mut outputs = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        run_once(daemon, tmp.path(), &config, input, 2);
        // The same persist file: the sequence continues.
        let text = run_once(daemon, tmp.path(), &config, input, 4);
        outputs.push(mask_host_id(daemon, &text));
    }
    let (oracle, rsng) = (&outputs[0], &outputs[1]);
    assert_eq!(oracle.lines().count(), 4, "syslog-ng wrote:\n{oracle}");
    let counters: Vec<u64> = rsng.lines().map(|l| l.split('|').nth(1).unwrap().parse().unwrap()).collect();
    assert!(counters.windows(2).all(|w| w[0] < w[1]), "the counter does not increase: {rsng}");
    assert_eq!(rsng, oracle, "rsng differs from syslog-ng");
}

/// Without `use-uniqid()`, `$UNIQID` and `$RCPTID` are empty in both daemons.
#[test]
fn without_use_uniqid_the_macros_are_empty() {
    if oracle_skipped() {
        return;
    }
    let config = |port: u16, out: &Path| {
        format!(
            "@version: 3.38\n\
             source s {{ network(ip(127.0.0.1) port({port})); }};\n\
             destination d {{ file(\"{}\" template(\"[$UNIQID|$RCPTID] $MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            out.display()
        )
    };
    let input = b"<13>Dec  6 10:00:00 h p: one\n";
    let tmp = TempDir::new("no-uniqid").expect("tempdir");
    let oracle = run_once(Daemon::Oracle, tmp.path(), &config, input, 1);
    let rsng = run_once(Daemon::Rsng, tmp.path(), &config, input, 1);
    assert_eq!(oracle, "[|] one\n");
    assert_eq!(rsng, oracle);
}

/// Runs `config(output file)` (no network source) in `daemon` for `seconds`, then stops it and
/// returns the output file.
fn run_for(daemon: Daemon, dir: &Path, config: &dyn Fn(&Path) -> String, seconds: f64) -> String {
    let out = dir.join(format!("{}.out", daemon.name()));
    let (running, _, _) = RunningDaemon::start(daemon, dir, 0, 0, |_| config(&out));
    std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
    assert!(running.stop(), "{} did not stop", daemon.name());
    fs::read_to_string(&out).unwrap_or_default()
}

/// The tags of the first "Log statistics" line of `text` (`kind='component(id)=value'`), and
/// that line's priority and program; `stamp` values masked.
fn first_statistics(daemon: Daemon, text: &str) -> (String, Vec<String>) {
    let line = text
        .lines()
        .find(|l| l.contains("Log statistics"))
        .unwrap_or_else(|| panic!("{} sent no Log statistics:\n{text}", daemon.name()));
    let (head, tags) = line.split_once("|Log statistics; ").unwrap_or_else(|| panic!("shape: {line:?}"));
    let tags = tags
        .split(", ")
        .map(|t| match t.rsplit_once('=') {
            Some((row, _)) if t.starts_with("stamp=") => format!("{row}=T'"),
            _ => t.to_string(),
        })
        .collect();
    (head.to_string(), tags)
}

/// `stats-freq(1)`: every second an info-level internal message "Log statistics; " lists every
/// counter as `kind='component(id,instance)=value'`. The counters rsng keeps are named, and
/// count, as syslog-ng's; syslog-ng's own global counters (`global(msg_clones)`, ...) and the
/// per-driver `src.internal` row are not kept by rsng.
#[test]
fn stats_freq_sends_log_statistics() {
    if oracle_skipped() {
        return;
    }
    let config = |freq: u32| {
        move |out: &Path| {
            format!(
                "@version: 3.38\n\
                 options {{ stats-freq({freq}); }};\n\
                 source i {{ internal(); }};\n\
                 destination d {{ file(\"{}\" template(\"$FACILITY.$LEVEL|$PROGRAM|$MSG\\n\")); }};\n\
                 log {{ source(i); destination(d); }};\n",
                out.display()
            )
        }
    };
    let tmp = TempDir::new("stats-freq").expect("tempdir");
    let oracle = run_for(Daemon::Oracle, tmp.path(), &config(1), 2.5);
    let rsng = run_for(Daemon::Rsng, tmp.path(), &config(1), 2.5);
    let (oracle_head, oracle_tags) = first_statistics(Daemon::Oracle, &oracle);
    let (rsng_head, rsng_tags) = first_statistics(Daemon::Rsng, &rsng);
    assert_eq!(oracle_head, "syslog.info|syslog-ng");
    assert_eq!(rsng_head, oracle_head);
    for tag in ["processed='source(i)=1'", "processed='destination(d)=1'", "processed='center(received)=1'"] {
        assert!(oracle_tags.iter().any(|t| t == tag), "syslog-ng: no {tag} in {oracle_tags:?}");
    }
    for tag in &rsng_tags {
        assert!(oracle_tags.contains(tag), "rsng's {tag} is not in syslog-ng's {oracle_tags:?}");
    }
    let named = |tags: &[String]| tags.iter().filter(|t| !t.contains("'global(") && !t.contains("'src.")).count();
    assert_eq!(named(&rsng_tags), named(&oracle_tags), "rsng {rsng_tags:?}\nsyslog-ng {oracle_tags:?}");
    assert!(rsng.lines().filter(|l| l.contains("Log statistics")).count() >= 2, "{rsng}");

    // stats-freq(0): none.
    let tmp = TempDir::new("stats-freq-0").expect("tempdir");
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let text = run_for(daemon, tmp.path(), &config(0), 1.5);
        assert!(text.contains("starting up") && !text.contains("Log statistics"), "{}: {text}", daemon.name());
    }
}

/// In `options {}`, `time-zone()` is a template option: the zone destinations write dates in
/// (as `send-time-zone()` is), not the zone stamps are read in (`$S_ISODATE` keeps the
/// stamp's own zone).
#[test]
fn global_time_zone_is_the_zone_dates_are_written_in() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("global-tz").expect("tempdir");
    let input = b"<13>2026-03-01T10:00:00+00:00 h p: utc stamp\n<13>2026-07-01T23:30:00-04:00 h p: other stamp\n";
    for global in ["time-zone(\"+05:30\")", "send-time-zone(\"Asia/Tokyo\")", "time-zone(\"America/New_York\")"] {
        let config = |port: u16, out: &Path| {
            format!(
                "@version: 3.38\n\
                 options {{ {global}; }};\n\
                 source s {{ network(ip(127.0.0.1) port({port})); }};\n\
                 destination d {{ file(\"{out}\" template(\"$ISODATE $S_ISODATE $MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                out = out.display()
            )
        };
        let oracle = run_once(Daemon::Oracle, tmp.path(), &config, input, 2);
        let rsng = run_once(Daemon::Rsng, tmp.path(), &config, input, 2);
        let sorted = |t: &str| {
            let mut l: Vec<&str> = t.lines().collect();
            l.sort();
            l.join("\n")
        };
        assert_eq!(oracle.lines().count(), 2, "{global}: syslog-ng wrote {oracle}");
        assert_eq!(sorted(&rsng), sorted(&oracle), "{global}");
        let _ = fs::remove_file(tmp.path().join("syslog-ng.out"));
        let _ = fs::remove_file(tmp.path().join("rsng.out"));
    }
}

/// `custom-domain()` gives this host's full name another domain: `$HOST` of local messages and
/// `$LOGHOST` with `use-fqdn(yes)`; without `use-fqdn()` both are the short name.
#[test]
fn custom_domain_is_this_hosts_domain() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("custom-domain").expect("tempdir");
    for fqdn in ["yes", "no"] {
        let mut seen = Vec::new();
        for daemon in [Daemon::Oracle, Daemon::Rsng] {
            let out = tmp.path().join(format!("{}.out", daemon.name()));
            let sock = tmp.path().join(format!("{}.sock", daemon.name()));
            let _ = fs::remove_file(&out);
            let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 0, |_| {
                format!(
                    "@version: 3.38\n\
                     options {{ custom-domain(\"example.com\"); use-fqdn({fqdn}); }};\n\
                     source s {{ unix-dgram(\"{}\"); }};\n\
                     destination d {{ file(\"{}\" template(\"$HOST $LOGHOST $MSG\\n\")); }};\n\
                     log {{ source(s); destination(d); }};\n",
                    sock.display(),
                    out.display()
                )
            });
            running.wait_for(20, || sock.exists());
            let sender = std::os::unix::net::UnixDatagram::unbound().expect("socket");
            sender.send_to(b"<13>prog: a local message", &sock).expect("send");
            running.wait_for(20, || fs::read_to_string(&out).is_ok_and(|t| !t.is_empty()));
            assert!(running.stop());
            seen.push(fs::read_to_string(&out).unwrap_or_default());
        }
        let short = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
        let short = short.split('.').next().unwrap_or_default().to_string();
        let name = if fqdn == "yes" { format!("{short}.example.com") } else { short };
        assert_eq!(seen[0], format!("{name} {name} a local message\n"), "syslog-ng, use-fqdn({fqdn})");
        assert_eq!(seen[1], seen[0], "use-fqdn({fqdn})");
    }
}

/// `dns-cache-hosts()`: the DNS cache answers with the first name of the file's line for the
/// sender's address (shortened unless `use-fqdn(yes)`), before any DNS query.
#[test]
fn dns_cache_hosts_names_the_senders() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("dns-cache-hosts").expect("tempdir");
    let hosts = tmp.path().join("hosts");
    fs::write(&hosts, "# senders\n10.9.9.9 other.example.org\n127.0.0.1\tloghost.example.org alias\n").expect("hosts");
    for fqdn in ["no", "yes"] {
        let config = |port: u16, out: &Path| {
            format!(
                "@version: 3.38\n\
                 options {{ dns-cache-hosts(\"{}\"); use-dns(yes); use-fqdn({fqdn}); }};\n\
                 source s {{ network(ip(127.0.0.1) port({port})); }};\n\
                 destination d {{ file(\"{}\" template(\"$HOST $HOST_FROM $MSG\\n\")); }};\n\
                 log {{ source(s); destination(d); }};\n",
                hosts.display(),
                out.display()
            )
        };
        let input = b"<13>Dec  6 10:00:00 h p: named by the hosts file\n";
        let oracle = run_once(Daemon::Oracle, tmp.path(), &config, input, 1);
        let rsng = run_once(Daemon::Rsng, tmp.path(), &config, input, 1);
        let name = if fqdn == "yes" { "loghost.example.org" } else { "loghost" };
        assert_eq!(oracle, format!("{name} {name} named by the hosts file\n"), "syslog-ng, use-fqdn({fqdn})");
        assert_eq!(rsng, oracle, "use-fqdn({fqdn})");
        let _ = fs::remove_file(tmp.path().join("syslog-ng.out"));
        let _ = fs::remove_file(tmp.path().join("rsng.out"));
    }
}

/// A step of [`run_with_hosts`]: `("send", x, text)` sends `text` from 127.0.0.x, `("hosts", _,
/// names)` rewrites the hosts file with `names`, `("sleep", _, _)` waits 2.2 s.
type Step<'a> = (&'a str, u8, &'a str);

/// Runs `daemon` with its own /etc/hosts (`hosts`, bind-mounted in a private mount namespace,
/// so that the test can change the names the system resolver gives), a UDP source and
/// `$HOST_FROM $MSG` lines; `steps` send from 127.0.0.x and rewrite the hosts file in turn.
fn run_with_hosts(daemon: Daemon, options: &str, steps: &[Step]) -> String {
    let tmp = TempDir::new("dns-cache").expect("tempdir");
    let hosts = tmp.path().join("hosts");
    let out = tmp.path().join("out");
    let set_hosts = |names: &str| {
        let text: String = [7, 8].iter().map(|n| format!("127.0.0.{n} {names}{n}.example.org\n")).collect();
        // In place: the bind mount follows the file, not its name.
        fs::write(&hosts, text).expect("hosts");
    };
    set_hosts("first");
    let script = tmp.path().join("wrap.sh");
    // One worker thread: syslog-ng keeps a DNS cache per thread, and its readers run on any of
    // its worker threads, so with more a message may find another thread's cache.
    fs::write(&script, format!("mount --bind '{}' /etc/hosts && exec \"$@\" --worker-threads=1\n", hosts.display()))
        .expect("script");
    let script = script.display().to_string();
    // Without root, a user namespace of its own lets the daemon mount.
    let user = if nix::unistd::geteuid().is_root() { "--mount" } else { "--map-root-user" };
    let wrapper = ["unshare", user, "--mount", "--propagation", "private", "sh", script.as_str()];
    let (running, ports, _) = RunningDaemon::start_wrapped(daemon, tmp.path(), 1, 0, &[], &wrapper, |p| {
        format!(
            "@version: 3.38\n\
             options {{ use-dns(yes); dns-cache(yes); use-fqdn(yes); stats-freq(0); {options} }};\n\
             source s {{ network(ip(127.0.0.1) port({}) transport(udp)); }};\n\
             destination d {{ file(\"{}\" template(\"$HOST_FROM $MSG\\n\")); }};\n\
             log {{ source(s); destination(d); }};\n",
            p.udp[0],
            out.display()
        )
    });
    let lines = || fs::read_to_string(&out).map_or(0, |t| t.lines().count());
    let mut sent = 0;
    for (step, from, text) in steps {
        match *step {
            "send" => {
                let sender = std::net::UdpSocket::bind((format!("127.0.0.{from}").as_str(), 0)).expect("bind sender");
                let message = format!("<13>Dec  7 06:50:00 h p: {text}");
                sender.send_to(message.as_bytes(), ("127.0.0.1", ports.udp[0])).expect("send");
                sent += 1;
                running.wait_for(10, || lines() >= sent);
            }
            "hosts" => set_hosts(text),
            "sleep" => std::thread::sleep(std::time::Duration::from_millis(2200)),
            _ => unreachable!(),
        }
    }
    assert!(running.stop());
    fs::read_to_string(&out).unwrap_or_default()
}

/// `dns-cache-expire()` and `dns-cache-size()`: a name older than the expiry is looked up again
/// (and a name the hosts file changed meanwhile shows), a young one is not; a full cache keeps
/// its names and stores no new ones. Same lines on both daemons.
#[test]
fn dns_cache_expiry_and_size() {
    if oracle_skipped() {
        return;
    }
    let expiring = [("send", 7, "m1"), ("hosts", 0, "second"), ("sleep", 0, ""), ("send", 7, "m2")];
    let full = [("send", 7, "m1"), ("send", 8, "m2"), ("hosts", 0, "second"), ("send", 7, "m3"), ("send", 8, "m4")];
    let cases: [(&str, &[Step], &str); 3] = [
        ("dns-cache-expire(1);", &expiring, "first7.example.org m1\nsecond7.example.org m2\n"),
        ("", &expiring, "first7.example.org m1\nfirst7.example.org m2\n"),
        (
            "dns-cache-size(1);",
            &full,
            "first7.example.org m1\nfirst8.example.org m2\nfirst7.example.org m3\nsecond8.example.org m4\n",
        ),
    ];
    for (options, steps, expected) in cases {
        let oracle = run_with_hosts(Daemon::Oracle, options, steps);
        assert_eq!(oracle, expected, "syslog-ng with {options:?}");
        let rsng = run_with_hosts(Daemon::Rsng, options, steps);
        assert_eq!(rsng, oracle, "rsng with {options:?}");
    }
}
