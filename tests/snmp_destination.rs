//! `snmp()` against syslog-ng 3.38's afsnmp module: both daemons run the same configuration and
//! send traps to an snmptrapd started here on a free loopback port, which logs each trap's
//! community, sender and variable bindings on one line. The lines must be the same (the sender's
//! port masked), and so must the `dst.snmp` statistics. Configurations syslog-ng refuses, rsng
//! refuses at the same place.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rsng_tests::{free_udp_ports, oracle_skipped, run_oracle, run_rsng, Daemon, RunningDaemon, TempDir};

/// What snmptrapd writes per trap: `TRAP <security>|<sender>|<bindings, tab-separated>`.
const FORMAT: &str = "TRAP %P|%b|%v\n";

/// A private snmptrapd: its own configuration (no authorization checks), no MIBs, numeric OIDs,
/// every trap logged to a file.
struct Snmptrapd {
    port: u16,
    log: PathBuf,
    child: Child,
}

impl Snmptrapd {
    fn start(dir: &Path) -> Snmptrapd {
        let port = free_udp_ports(1)[0];
        let conf = dir.join("snmptrapd.conf");
        std::fs::write(&conf, "disableAuthorization yes\n").expect("snmptrapd.conf");
        let log = dir.join("traps.log");
        let _ = std::fs::remove_file(&log);
        let child = Command::new("snmptrapd")
            .args(["-f", "-C", "-c"])
            .arg(&conf)
            .args(["-n", "-On", "-m", "", "--doNotLogTraps=no", "-Lf"])
            .arg(&log)
            .args(["-F", FORMAT, &format!("udp:127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("snmptrapd (apt-get install snmptrapd)");
        let trapd = Snmptrapd { port, log, child };
        assert!(
            wait_until(10, || std::fs::read_to_string(&trapd.log).is_ok_and(|t| t.contains("NET-SNMP version"))),
            "snmptrapd did not start"
        );
        trapd
    }

    /// The trap lines so far (a value that does not fit on a line continues on the next ones),
    /// the ports masked.
    fn traps(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut traps: Vec<String> = Vec::new();
        for line in text.lines().skip_while(|l| !l.starts_with("TRAP ")) {
            match traps.last_mut() {
                Some(last) if !line.starts_with("TRAP ") => {
                    last.push('\n');
                    last.push_str(line);
                }
                _ => traps.push(mask_ports(line)),
            }
        }
        traps
    }
}

impl Drop for Snmptrapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `UDP: [127.0.0.1]:40123->[127.0.0.1]:30162`: the sender's port differs from run to run, and
/// each run has its own snmptrapd.
fn mask_ports(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("]:") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("PORT");
        }
        rest = &rest[digits..];
        if rest.starts_with('|') {
            break;
        }
    }
    out.push_str(rest);
    out
}

fn wait_until(seconds: u64, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// Every object type, templated values, a number type given a word (sent as 0), the trap
/// object in the middle and a custom community.
fn config(input: u16, trapd: u16) -> String {
    format!(
        r#"@version: 3.38
options {{ stats-level(1); keep-hostname(yes); }};
source s {{ network(ip("127.0.0.1") port({input}) transport("tcp")); }};
destination d {{
    snmp(
        host("127.0.0.1") port({trapd}) version("v2c") community("c0mmunity")
        snmp-obj(".1.3.6.1.4.1.9.9.41.1.2.3.1.2.55", "Octetstring", "$PROGRAM")
        trap-obj(".1.3.6.1.6.3.1.1.4.1.0", "Objectid", ".1.3.6.1.4.1.9.9.41.2.0.1")
        snmp-obj("1.3.6.1.4.1.9.9.41.1.2.3.1.3.55", "Integer", "$LEVEL_NUM")
        snmp-obj("1.3.6.1.4.1.9.9.41.1.2.3.1.4.55", "integer", "$SEVERITY")
        snmp-obj("1.3.6.1.4.1.9.9.41.1.2.3.1.5.55", "Octetstring", "$MSG")
        snmp-obj("1.3.6.1.4.1.9.9.41.1.2.3.1.6.55", "Timeticks", "97881")
        snmp-obj("1.3.6.1.4.1.18372.1", "Counter32", "4294967295")
        snmp-obj("1.3.6.1.4.1.18372.2", "Ipaddress", "10.20.30.40")
        snmp-obj("1.3.6.1.4.1.18372.3", "Objectid", ".1.3.6.1.4.1.$PID")
    );
}};
log {{ source(s); destination(d); }};
"#
    )
}

fn messages() -> String {
    [
        "<38>Feb 11 21:27:22 host-a prog-a[111]: first message",
        "<13>Feb 11 21:27:23 host-b prog-b[222]: a longer message with \"quotes\" and UTF-8: \u{e9}t\u{e9} \
         and enough text to need a two-byte BER length: 0123456789012345678901234567890123456789012345678901234567890123456789",
        "<0>Feb 11 21:27:24 host-c prog-c[333]: last",
    ]
    .iter()
    .map(|m| format!("{m}\n"))
    .collect()
}

/// `dst.snmp` rows of `syslog-ng-ctl stats` that are not 0, with the trap port as `PORT`.
fn stats_rows(dir: &Path, daemon: Daemon, port: u16) -> Vec<String> {
    let out = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("dst.snmp;"))
        .filter(|l| !l.ends_with(";0"))
        .map(|l| l.replace(&format!(",{port};"), ",PORT;"))
        .collect();
    rows.sort();
    rows
}

fn run(daemon: Daemon, dir: &Path) -> (Vec<String>, Vec<String>) {
    let trapd = Snmptrapd::start(dir);
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| config(p.tcp[0], trapd.port));
    d.send_tcp(ports.tcp[0], messages().as_bytes());
    assert!(wait_until(10, || trapd.traps().len() >= 3), "{}: traps received: {:?}", daemon.name(), trapd.traps());
    let stats = stats_rows(dir, daemon, trapd.port);
    assert!(d.stop(), "{} did not stop cleanly", daemon.name());
    (trapd.traps(), stats)
}

#[test]
fn traps_as_syslog_ng_sends_them() {
    let dir = TempDir::new("snmp").expect("temp dir");
    let (ours, our_stats) = run(Daemon::Rsng, dir.path());
    assert_eq!(ours.len(), 3, "{ours:#?}");
    assert!(ours[0].starts_with("TRAP TRAP2, SNMP v2c, community c0mmunity|"), "{}", ours[0]);
    assert!(ours[0].contains(".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.9.9.41.2.0.1"), "{}", ours[0]);
    assert!(our_stats.iter().any(|r| r.ends_with(";snmpdest,127.0.0.1,PORT;a;written;3")), "{our_stats:?}");
    if oracle_skipped() {
        return;
    }
    let (theirs, their_stats) = run(Daemon::Oracle, dir.path());
    // $PID is each daemon's own: compare the traps with it masked.
    let mask = |lines: &[String]| -> Vec<String> {
        lines.iter().map(|l| l.rsplit_once(".1.3.6.1.4.1.").map_or(l.clone(), |(head, _)| head.to_string())).collect()
    };
    assert_eq!(mask(&ours), mask(&theirs));
    assert_eq!(our_stats, their_stats);
}

fn refusal(dir: &Path, name: &str, options: &str) -> (rsng_tests::Verdict, Option<rsng_tests::Verdict>) {
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(
        &path,
        format!(
            "@version: 3.38\ndestination d {{\n    snmp(host(\"127.0.0.1\") port(16200)\n        {options});\n}};\n\
             log {{ destination(d); }};\n"
        ),
    )
    .expect("config");
    let ours = run_rsng(&path);
    (ours, (!oracle_skipped()).then(|| run_oracle(&path)))
}

const TRAP: &str = "trap-obj(\".1.3.6.1.6.3.1.1.4.1.0\", \"Objectid\", \".1.3.6.1.4.1.18372.3.1.1.1.2.1\")";
const OBJ: &str = "snmp-obj(\".1.3.6.1.4.1.18372.3.1.1.1.1.1.0\", \"Octetstring\", \"admin\")";

#[test]
fn configurations_syslog_ng_refuses() {
    let dir = TempDir::new("snmp-refusals").expect("temp dir");
    let cases = [
        ("missing-trap-obj", OBJ.to_string(), "SNMP: config error: missing trap_obj"),
        ("bad-version", format!("version(\"v1\") {OBJ} {TRAP}"), "SNMP: invalid version: v1"),
        (
            "integer-trap",
            format!("{OBJ} trap-obj(\".1.3.6.1.6.3.1.1.4.1.0\", \"Integer\", \"1\")"),
            "SNMP: config error: wrong trap object type: Integer",
        ),
        ("bad-type", format!("snmp-obj(\"1.3.6\", \"Float\", \"1\") {TRAP}"), "SNMP: invalid oid type; type='Float'"),
        (
            "two-objectids",
            format!("snmp-obj(\"1.3.6\", \"objectid\", \"1.3\") snmp-obj(\"1.3.7\", \"objectid\", \"1.4\") {TRAP}"),
            "SNMP: multiple Objectid",
        ),
        ("v3-without-engine-id", format!("version(\"v3\") {OBJ} {TRAP}"), "SNMP: config error: missing engine id"),
        (
            "bad-auth-algorithm",
            format!("version(\"v3\") engine-id(\"0x0102030405\") auth-algorithm(\"MD5\") {OBJ} {TRAP}"),
            "SNMP: wrong auth algorithm: MD5",
        ),
        ("transport", format!("{OBJ} {TRAP} transport(\"udp\")"), ""),
        ("time-reopen", format!("{OBJ} {TRAP} time-reopen(1)"), ""),
    ];
    for (name, options, message) in cases {
        let (ours, theirs) = refusal(dir.path(), name, &options);
        assert!(!ours.ok && !ours.crashed, "{name}: rsng accepted or crashed: {ours:?}");
        assert!(ours.message.contains(message), "{name}: {ours:?}");
        if let Some(theirs) = theirs {
            assert!(!theirs.ok, "{name}: syslog-ng accepted: {theirs:?}");
            assert!(theirs.message.contains(message), "{name}: {theirs:?}");
            assert_eq!(ours.line, theirs.line, "{name}: {ours:?} / {theirs:?}");
        }
    }
    // A trap object alone is enough, as in syslog-ng.
    let (ours, theirs) = refusal(dir.path(), "trap-only", TRAP);
    assert!(ours.ok, "{ours:?}");
    if let Some(theirs) = theirs {
        assert!(theirs.ok, "{theirs:?}");
    }
}

#[test]
fn v3_is_refused_rather_than_sent_as_v2c() {
    let dir = TempDir::new("snmp-v3").expect("temp dir");
    let (ours, theirs) =
        refusal(dir.path(), "v3", &format!("version(\"v3\") engine-id(\"0x0102030405\") {OBJ} {TRAP}"));
    assert!(!ours.ok && !ours.crashed, "{ours:?}");
    assert!(ours.message.contains("v3") && ours.message.contains("not supported"), "{ours:?}");
    // syslog-ng accepts it: a deliberate difference (docs/compatibility.md).
    if let Some(theirs) = theirs {
        assert!(theirs.ok, "{theirs:?}");
    }
}
