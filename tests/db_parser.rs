//! `db-parser()` and `rsng pdbtool`: the same patterndb files give the same results as syslog-ng
//! 3.38's `db-parser()` and Debian's `/usr/bin/pdbtool`.
//!
//! The rule sets are in `tests/fixtures/patterndb/`: `parsers.xml` has a rule for each
//! `@PARSER@` (and program patterns with parsers, rules for any program, literal `@`, partial
//! matches), `correlation.xml` has correlation contexts with every scope-dependent feature
//! (context timeout, actions on match and on timeout, conditions, rate limits, the three
//! inherit modes, `$(context-length)` and `${NAME}@N`), and `sample.xml` is a small published
//! style rule set (OpenSSH and su) with examples.
//!
//! - `pdbtool match` and `pdbtool test -v` are run by both tools; stdout and the exit code must
//!   be the same bytes.
//! - Both daemons run the same configuration (TCP sources, one log path per case, the fields of
//!   each message in a file); the files must be the same bytes, generated messages included.
//! - A file changed while the daemons run is reloaded by both once a message arrives more than
//!   5 seconds after the last check.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rsng_tests::{oracle_skipped, rsng_bin, workspace_root, Daemon, RunningDaemon, TempDir};

const PDBTOOL: &str = "/usr/bin/pdbtool";

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/patterndb").join(name)
}

/// Runs a pdbtool (`None`: syslog-ng's) and returns its stdout and exit code.
fn pdbtool(rsng: bool, args: &[&str]) -> (String, i32) {
    let mut cmd = if rsng {
        let mut c = Command::new(rsng_bin());
        c.arg("pdbtool");
        c
    } else {
        Command::new(PDBTOOL)
    };
    let out = cmd.args(args).env("TZ", "UTC").output().expect("run pdbtool");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

fn skip() -> bool {
    if oracle_skipped() {
        eprintln!("RSNG_SKIP_ORACLE=1: not comparing with syslog-ng");
        return true;
    }
    assert!(Path::new(PDBTOOL).is_file(), "{PDBTOOL} is missing: apt-get install syslog-ng-core");
    false
}

/// (file, program, message) looked up by `pdbtool match`.
const MATCHES: &[(&str, &str, &str)] = &[
    ("parsers.xml", "app", "estring a b and x y--z-- end"),
    ("parsers.xml", "app2", "string abc a.b-c end"),
    ("parsers.xml", "app", "number 12 -5 0x1F"),
    ("parsers.xml", "app", "number 12 -5 0xZ"),
    ("parsers.xml", "app", "float -1.5e3 2."),
    ("parsers.xml", "app", "ip 10.1.2.3 fe80::1 ::ffff:1.2.3.4 192.168.0.1 end"),
    ("parsers.xml", "app", "ip 10.1.2.3 1:2:3:4:5:6:7:8 2001:db8:: 1.2.3.4 end"),
    ("parsers.xml", "app", "ip 300.1.2.3 fe80::1 ::1 ::2 end"),
    ("parsers.xml", "app", "qstring \"a b\" [c d] 'e' end"),
    ("parsers.xml", "app", "email a.b+c@example.com <x@y.org> end"),
    ("parsers.xml", "app", "email .a@example.com <x@y.org> end"),
    ("parsers.xml", "app", "host www.example.org end"),
    ("parsers.xml", "app", "host localhost end"),
    ("parsers.xml", "app", "mac 00:11:22:33:44:55 aa:bb aa:bb:cc:dd:ee:ff:00:11 end"),
    ("parsers.xml", "app", "pcre abc123 abcdab end"),
    ("parsers.xml", "app", "set  , ,xyzrest of it"),
    ("parsers.xml", "app", "set ,zrest"),
    ("parsers.xml", "app", "nl first\nsecond rest"),
    ("parsers.xml", "app", "nl first\r\nsecond rest"),
    ("parsers.xml", "app", "at @ sign someone@host"),
    ("parsers.xml", "app", "values bob 42"),
    ("parsers.xml", "app", "partial prefix and more"),
    ("parsers.xml", "app", "choose root"),
    ("parsers.xml", "app", "choose bob"),
    ("parsers.xml", "other", "anything goes here"),
    ("parsers.xml", "kernel[12]", "kmsg hello"),
    ("parsers.xml", "appx", "estring a b and x y--z-- end"),
    ("parsers.xml", "app", "nomatch here"),
    ("parsers.xml", "", "anything without program"),
    ("sample.xml", "sshd", "Accepted password for alice from 192.0.2.10 port 51022 ssh2"),
    ("sample.xml", "sshd", "Failed password for invalid user mallory from 198.51.100.4 port 2222 ssh2"),
    ("sample.xml", "sshd", "pam_unix(sshd:session): session closed for user alice"),
    ("sample.xml", "su", "(to root) alice on pts/3"),
    ("sample.xml", "cron", "(root) CMD (true)"),
    ("correlation.xml", "sessiond", "ping 10.0.0.1"),
    ("correlation.xml", "sessiond", "session opened for alice id 1"),
];

#[test]
fn pdbtool_match_is_syslog_ngs() {
    if skip() {
        return;
    }
    let mut failures = Vec::new();
    for (file, program, message) in MATCHES {
        let path = fixture(file);
        let path = path.to_str().expect("utf-8 path");
        let args = ["match", "-p", path, "-P", program, "-M", message];
        let want = pdbtool(false, &args);
        let got = pdbtool(true, &args);
        if want != got {
            failures.push(format!("{file} {program:?} {message:?}:\nsyslog-ng {want:?}\nrsng      {got:?}"));
        }
    }
    // `-T`: a template instead of the values.
    let path = fixture("sample.xml");
    let args = [
        "match",
        "-p",
        path.to_str().unwrap_or(""),
        "-P",
        "su",
        "-M",
        "(to root) bob on tty1",
        "-T",
        "${usracct.username}<-${usracct.applicant} ${.classifier.rule_id}\\n",
    ];
    let (want, got) = (pdbtool(false, &args), pdbtool(true, &args));
    if want != got {
        failures.push(format!("-T:\nsyslog-ng {want:?}\nrsng      {got:?}"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} lookups differ:\n{}",
        failures.len(),
        MATCHES.len() + 1,
        failures.join("\n")
    );
}

#[test]
fn pdbtool_test_is_syslog_ngs() {
    if skip() {
        return;
    }
    for args in
        [vec!["test", "-v"], vec!["test"], vec!["test", "-r", "ssh-login-ok"], vec!["test", "-r", "no-such-rule"]]
    {
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.push(fixture("sample.xml").display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let want = pdbtool(false, &args);
        assert!(want.0.contains("Testing message"), "syslog-ng's pdbtool tested nothing: {want:?}");
        assert_eq!(pdbtool(true, &args), want, "pdbtool {args:?}");
    }
}

#[test]
fn bad_files_are_refused_with_their_location() {
    if skip() {
        return;
    }
    let dir = TempDir::new("pdb-bad").expect("temp dir");
    let cases = [
        ("unclosed.xml", "<patterndb version='4'>\n<ruleset>\n<rules>\n</ruleset>\n</patterndb>\n"),
        ("toonew.xml", "<patterndb version='6'>\n</patterndb>\n"),
        ("noid.xml", "<patterndb version='4'>\n<ruleset><rules>\n<rule class='x'/></rules></ruleset></patterndb>\n"),
        ("badtag.xml", "<patterndb version='4'>\n<ruleset>\n  <bogus/></ruleset></patterndb>\n"),
    ];
    for (name, text) in cases {
        let path = dir.path().join(name);
        fs::write(&path, text).expect("write");
        let p = path.to_str().expect("utf-8");
        let args = ["match", "-p", p, "-M", "x"];
        let want = pdbtool(false, &args);
        let out = Command::new(rsng_bin()).arg("pdbtool").args(args).output().expect("run rsng");
        let got = (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1));
        assert_eq!(got, want, "{name}: same output and exit code");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{p}:")), "{name}: the error names the file and line: {err}");
        assert!(err.contains("Error parsing pattern database file"), "{name}: {err}");
    }
}

/// One log path per case, each from its own TCP source; `{file}` is replaced by the fixture
/// directory.
fn config(out: &Path, files: &Path, ports: &[u16]) -> String {
    let fields = "${ISODATE}|${HOST}|${PROGRAM}|${PID}|${MSG}|${.classifier.class}|${.classifier.rule_id}|\
                  ${.classifier.context_id}|${TAGS}";
    let cases = [
        ("parsers", "file(\"{files}/parsers.xml\")", "|${e1}|${e2}|${s2}|${n3}|${f1}|${ip6}|${ipa}|${q2}|${m2}|${h1}|${mac}|${ll8}|${p2}|${s}|${o}|${rest}|${line}|${who}|${combined}|${func}|${kid}|${all}"),
        ("corr", "file(\"{files}/correlation.xml\")", "|${phase}|${opener}|${user}|${addr}|${sid}"),
        ("sample", "file(\"{files}/sample.xml\") drop-unmatched(yes)", "|${usracct.username}|${usracct.device}|${usracct.sessionid}|${secevt.verdict}"),
        ("aggregate", "file(\"{files}/correlation.xml\") inject-mode(aggregate-only)", "|${user}"),
        ("templates", "file(\"{files}/sample.xml\") program-template(\"${HOST}\") message-template(\"Accepted $MSG\")", "|${usracct.username}|${usracct.authmethod}"),
    ];
    let mut text = String::from("@version: 3.38\noptions { keep-hostname(yes); };\n");
    for (i, (name, options, extra)) in cases.iter().enumerate() {
        let options = options.replace("{files}", &files.display().to_string());
        text.push_str(&format!(
            "source s_{name} {{ tcp(ip(127.0.0.1) port({port})); }};\n\
             parser p_{name} {{ db-parser({options}); }};\n\
             destination d_{name} {{ file(\"{out}/{name}.out\" template(\"{fields}{extra}\\n\")); }};\n\
             log {{ source(s_{name}); parser(p_{name}); destination(d_{name}); }};\n",
            port = ports[i],
            out = out.display(),
        ));
    }
    text
}

/// The input of each case, RFC 3164 lines with fixed stamps in the past.
fn inputs() -> Vec<(&'static str, String)> {
    let line = |t: &str, host: &str, prog: &str, msg: &str| format!("<13>2020-01-01T{t}+00:00 {host} {prog}: {msg}\n");
    let parsers: String = MATCHES
        .iter()
        .filter(|(f, _, m)| *f == "parsers.xml" && !m.contains('\n'))
        .map(|(_, p, m)| {
            let prog = if p.is_empty() { "-".to_string() } else { p.to_string() };
            line("00:00:00", "h", &prog, m)
        })
        .collect();
    let corr = [
        line("00:00:00", "h1", "sessiond[10]", "session opened for alice id 1"),
        line("00:00:01", "h1", "sessiond[11]", "session opened for bob id 2"),
        line("00:00:05", "h1", "sessiond[10]", "session closed id 1"),
        line("00:00:06", "h2", "sessiond[12]", "session closed id 2"),
        line("00:00:07", "h1", "sessiond[12]", "session closed id 7"),
        line("00:05:00", "h1", "sessiond[13]", "unrelated message"),
        line("00:06:00", "h1", "other[14]", "nothing"),
        line("00:07:00", "h3", "sessiond[15]", "ping 10.0.0.1"),
        line("00:07:01", "h3", "sessiond[15]", "ping 10.0.0.2"),
    ]
    .concat();
    let sample = [
        line("01:00:00", "srv", "sshd[100]", "Accepted password for alice from 192.0.2.10 port 51022 ssh2"),
        line(
            "01:00:01",
            "srv",
            "sshd[101]",
            "Failed password for invalid user mallory from 198.51.100.4 port 2222 ssh2",
        ),
        line("01:00:02", "srv", "sshd[102]", "not a known message"),
        line("01:00:03", "srv", "su[103]", "(to root) alice on pts/3"),
    ]
    .concat();
    let templates = [
        line("02:00:00", "sshd", "anything[1]", "publickey for carol from 10.1.1.1 port 22 ssh2"),
        line("02:00:01", "other", "sshd[2]", "publickey for dave from 10.1.1.1 port 22 ssh2"),
    ]
    .concat();
    vec![
        ("parsers", parsers),
        ("corr", corr.clone()),
        ("sample", sample),
        ("aggregate", corr),
        ("templates", templates),
    ]
}

fn run_daemon(daemon: Daemon, dir: &Path, inputs: &[(&str, String)]) -> Vec<(String, String)> {
    let out = dir.join(daemon.name());
    fs::create_dir_all(&out).expect("out dir");
    let files = fixture("");
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, inputs.len(), |p| config(&out, &files, &p.tcp));
    for (i, (_, text)) in inputs.iter().enumerate() {
        running.send_tcp(ports.tcp[i], text.as_bytes());
    }
    // Every case writes at least its last input's record.
    running.wait_for(10, || inputs.iter().all(|(n, _)| out.join(format!("{n}.out")).exists()));
    std::thread::sleep(Duration::from_millis(700));
    assert!(running.stop(), "{} stopped", daemon.name());
    inputs
        .iter()
        .map(|(n, _)| (n.to_string(), fs::read_to_string(out.join(format!("{n}.out"))).unwrap_or_default()))
        .collect()
}

#[test]
fn db_parser_matches_syslog_ng() {
    if skip() {
        return;
    }
    let dir = TempDir::new("db-parser").expect("temp dir");
    let inputs = inputs();
    let want = run_daemon(Daemon::Oracle, dir.path(), &inputs);
    let got = run_daemon(Daemon::Rsng, dir.path(), &inputs);
    for ((name, w), (_, g)) in want.iter().zip(&got) {
        assert!(!w.is_empty(), "{name}: syslog-ng wrote nothing");
        assert_eq!(g, w, "{name}: rsng's output differs from syslog-ng's");
    }
    // The correlation case generated messages (not only classified the input).
    for generated in ["timed out after 2 messages", "pong 10.0.0.1", "session of alice closed after 3 messages|"] {
        assert!(want[1].1.contains(generated), "syslog-ng generated {generated:?}");
    }
}

#[test]
fn changed_file_is_reloaded() {
    if skip() {
        return;
    }
    let dir = TempDir::new("db-parser-reload").expect("temp dir");
    let rules = |id: &str| {
        format!(
            "<patterndb version='4'><ruleset><pattern>app</pattern><rules><rule id='{id}' class='c'>\
             <patterns><pattern>hello @ANYSTRING:who@</pattern></patterns></rule></rules></ruleset></patterndb>"
        )
    };
    let run = |daemon: Daemon, attempt: usize| {
        let xml = dir.path().join(format!("{}-{attempt}.xml", daemon.name()));
        fs::write(&xml, rules("first")).expect("write rules");
        let out = dir.path().join(format!("{}-{attempt}.out", daemon.name()));
        let (running, ports, _) = RunningDaemon::start(daemon, dir.path(), 0, 1, |p| {
            format!(
                "@version: 3.38\nsource s {{ tcp(ip(127.0.0.1) port({})); }};\n\
                 destination d {{ file(\"{}\" template(\"${{.classifier.rule_id}} $MSG\\n\")); }};\n\
                 log {{ source(s); parser {{ db-parser(file(\"{}\")); }}; destination(d); }};\n",
                p.tcp[0],
                out.display(),
                xml.display()
            )
        });
        running.send_tcp(ports.tcp[0], b"<13>Jan  1 00:00:00 h app: hello one\n");
        running.wait_for(20, || fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 1));
        // A new file (new inode), as an editor or package upgrade writes it.
        let tmp = dir.path().join("new.xml");
        fs::write(&tmp, rules("second")).expect("write rules");
        fs::rename(&tmp, &xml).expect("replace rules");
        running.send_tcp(ports.tcp[0], b"<13>Jan  1 00:00:00 h app: hello two\n");
        // The file is looked at again 5 s (of receive time) after the last look.
        std::thread::sleep(Duration::from_millis(6500));
        running.send_tcp(ports.tcp[0], b"<13>Jan  1 00:00:00 h app: hello three\n");
        running.wait_for(5, || fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 3));
        assert!(running.stop());
        fs::read_to_string(&out).unwrap_or_default()
    };
    let expected = "first hello one\nfirst hello two\nsecond hello three\n";
    // syslog-ng on a loaded machine has lost the first message now and then (its output then
    // starts with "second hello two"): it gets three tries; rsng one.
    let mut oracle = Vec::new();
    for attempt in 0..3 {
        oracle.push(run(Daemon::Oracle, attempt));
        if oracle.last().is_some_and(|o| o == expected) {
            break;
        }
    }
    assert_eq!(oracle.last().map(String::as_str), Some(expected), "syslog-ng, in three tries: {oracle:?}");
    assert_eq!(run(Daemon::Rsng, 0), expected, "rsng reloads as syslog-ng does");
}

/// The fields the timer tests write for each message.
const TIMER_FIELDS: &str = "${ISODATE}|${HOST}|${PROGRAM}|${PID}|${MSG}|${.classifier.rule_id}|${TAGS}|${SOURCE}";

/// Starts `daemon` with one TCP source per `db-parser()` option set in `cases`, each path writing
/// to `NAME.out`; generated messages that reach `internal()` (tagged `gen`) go to `from_internal.out`.
fn start_timer_case(daemon: Daemon, dir: &Path, cases: &[(&str, &str)]) -> (RunningDaemon, Vec<u16>, PathBuf) {
    let out = dir.join(daemon.name());
    fs::create_dir_all(&out).expect("out dir");
    let xml = fixture("timeout.xml");
    let (running, ports, _) = RunningDaemon::start(daemon, dir, 0, cases.len(), |p| {
        let mut text = format!(
            "@version: 3.38\noptions {{ keep-hostname(yes); }};\n\
             source s_int {{ internal(); }};\n\
             destination d_int {{ file(\"{out}/from_internal.out\" template(\"{TIMER_FIELDS}\\n\")); }};\n\
             log {{ source(s_int); filter {{ tags(\"gen\"); }}; destination(d_int); }};\n",
            out = out.display()
        );
        for (i, (name, options)) in cases.iter().enumerate() {
            text.push_str(&format!(
                "source s_{name} {{ tcp(ip(127.0.0.1) port({port})); }};\n\
                 destination d_{name} {{ file(\"{out}/{name}.out\" template(\"{TIMER_FIELDS}\\n\")); }};\n\
                 log {{ source(s_{name}); parser {{ db-parser(file(\"{xml}\") {options}); }}; destination(d_{name}); }};\n",
                port = p.tcp[i],
                out = out.display(),
                xml = xml.display(),
            ));
        }
        text
    });
    (running, ports.tcp, out)
}

fn read_out(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(format!("{name}.out"))).unwrap_or_default()
}

#[test]
fn context_times_out_without_more_messages() {
    if skip() {
        return;
    }
    let dir = TempDir::new("db-parser-timer").expect("temp dir");
    let mut outputs = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let (running, ports, out) = start_timer_case(daemon, dir.path(), &[("timer", "")]);
        let sent = std::time::Instant::now();
        running.send_tcp(ports[0], b"<13>2020-01-01T00:00:00+00:00 h app[7]: open 1\n");
        // Nothing else arrives: only the timer can make the context time out. The clock moves in
        // whole seconds and a context expires once the clock is past its second: 3 to 4 s.
        running.wait_for(8, || read_out(&out, "timer").contains("timed out"));
        let took = sent.elapsed();
        assert!(running.stop(), "{} stopped", daemon.name());
        let text = read_out(&out, "timer");
        assert!(text.contains("job 1 timed out after "), "{}: no timeout message: {text:?}", daemon.name());
        assert!(
            took >= Duration::from_secs(3) && took <= Duration::from_secs(5),
            "{}: the context timed out after {took:?}",
            daemon.name()
        );
        eprintln!("{}: timed out {took:?} after the message", daemon.name());
        outputs.push(text);
    }
    assert_eq!(outputs[1], outputs[0], "rsng's output differs from syslog-ng's");
}

#[test]
fn inject_modes_match_syslog_ng() {
    if skip() {
        return;
    }
    let dir = TempDir::new("db-parser-inject").expect("temp dir");
    let cases = [
        ("pass", "inject-mode(pass-through)"),
        ("aggregate", "inject-mode(aggregate-only)"),
        ("internal", "inject-mode(internal)"),
        ("unmatched", "inject-mode(aggregate_only) drop-unmatched(yes)"),
    ];
    let input = "<13>2020-01-01T00:00:00+00:00 h app[7]: open 1\n\
                 <13>2020-01-01T00:00:00+00:00 h app[8]: hello there\n\
                 <13>2020-01-01T00:00:01+00:00 h other[9]: not for the rules\n";
    let mut outputs = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let (running, ports, out) = start_timer_case(daemon, dir.path(), &cases);
        for port in &ports {
            running.send_tcp(*port, input.as_bytes());
        }
        // Every case's context times out, each through its own mode.
        running.wait_for(10, || {
            ["pass", "aggregate", "unmatched"].iter().all(|n| read_out(&out, n).contains("timed out"))
                && read_out(&out, "from_internal").contains("timed out")
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(running.stop(), "{} stopped", daemon.name());
        let names = ["pass", "aggregate", "internal", "unmatched"];
        let mut files: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), read_out(&out, n))).collect();
        // The internal() source's HOST and SOURCE are the same for both; its file is compared too.
        files.push(("internal()".to_string(), read_out(&out, "from_internal")));
        outputs.push(files);
    }
    let want = &outputs[0];
    // What syslog-ng does with each mode, so that the comparison means something.
    assert!(want[0].1.contains("|open 1|") && want[0].1.contains("|opened 1|"), "pass-through: {:?}", want[0].1);
    assert!(!want[1].1.contains("|open 1|") && want[1].1.contains("|opened 1|"), "aggregate-only: {:?}", want[1].1);
    assert!(want[2].1.contains("|open 1|") && !want[2].1.contains("opened"), "internal: {:?}", want[2].1);
    assert!(want[4].1.contains("|opened 1|") && want[4].1.contains("timed out"), "internal(): {:?}", want[4].1);
    for ((name, w), (_, g)) in want.iter().zip(&outputs[1]) {
        assert_eq!(g, w, "{name}: rsng's output differs from syslog-ng's");
    }
}

#[test]
fn contexts_survive_reload_and_are_dropped_at_stop() {
    if skip() {
        return;
    }
    let dir = TempDir::new("db-parser-reload-ctx").expect("temp dir");
    let mut outputs = Vec::new();
    for daemon in [Daemon::Oracle, Daemon::Rsng] {
        let (running, ports, out) = start_timer_case(daemon, dir.path(), &[("timer", "")]);
        running.send_tcp(
            ports[0],
            b"<13>2020-01-01T00:00:00+00:00 h app[7]: open 1\n<13>2020-01-01T00:00:00+00:00 h app[7]: long 2\n",
        );
        running.wait_for(5, || read_out(&out, "timer").contains("long 2"));
        // A reload while both contexts are open: they are kept, and the short one times out in
        // the new configuration.
        let pid = running.pid();
        let _ = Command::new("kill").arg("-HUP").arg(&pid).status();
        running.wait_for(8, || read_out(&out, "timer").contains("timed out"));
        std::thread::sleep(Duration::from_millis(300));
        // The long one (30 s) is still open at the stop: it is dropped, not timed out.
        assert!(running.stop(), "{} stopped", daemon.name());
        let text = read_out(&out, "timer");
        outputs.push(text);
    }
    assert!(outputs[0].contains("job 1 timed out after "), "syslog-ng kept the context: {:?}", outputs[0]);
    assert!(!outputs[0].contains("long job"), "syslog-ng dropped the open context at the stop: {:?}", outputs[0]);
    assert_eq!(outputs[1], outputs[0], "rsng's output differs from syslog-ng's");
}

/// A version 1 file: `<program>`, bare `<pattern>`/`<url>` in rules, a comment, a CDATA section,
/// entities and quotes in attributes.
const OLD_FILE: &str = "<?xml version=\"1.0\"?>\n<!-- an old file -->\n\
<patterndb version=\"1\" pub_date=\"2010-01-01\">\n  <program name=\"old\" id=\"p1\">\n    <pattern>oldprog</pattern>\n\
    <rules>\n      <rule id=\"r1\" class=\"system\">\n        <pattern>hello @ESTRING:who: @</pattern>\n\
        <url>http://example.org/?a=1&amp;b=2</url>\n\
        <description>before <![CDATA[a <b>bold</b> & \"quoted\"]]> after</description>\n\
        <summary><![CDATA[left out]]> kept <![CDATA[<in>]]></summary>\n      </rule>\n\
      <rule id='r2' class=\"it's &quot;x&quot;\">\n        <pattern>tab\tand &lt;here&gt;</pattern>\n      </rule>\n\
    </rules>\n  </program>\n</patterndb>\n";

#[test]
fn pdbtool_merge_is_syslog_ngs() {
    if skip() {
        return;
    }
    let dir = TempDir::new("pdb-merge").expect("temp dir");
    let src = dir.path().join("rules");
    fs::create_dir_all(src.join("sub/deeper")).expect("dirs");
    fs::copy(fixture("sample.xml"), src.join("a.xml")).expect("copy");
    fs::copy(fixture("correlation.xml"), src.join("sub/b.xml")).expect("copy");
    fs::copy(fixture("parsers.xml"), src.join("sub/deeper/c.xml")).expect("copy");
    fs::copy(fixture("timeout.xml"), src.join("sub/t.pdb")).expect("copy");
    fs::write(src.join("v1.xml"), OLD_FILE).expect("write");
    let src = src.to_str().expect("utf-8 path");
    // The pub_date is the day of the merge: the same for both unless midnight passes between.
    let mask_date = |text: String| match text.find("pub_date='") {
        Some(at) => format!("{}{}", &text[..at + 10], &text[(at + 20).min(text.len())..]),
        None => text,
    };
    let cases: &[&[&str]] = &[
        &["-s"],
        &["-r", "-s"],
        &["-r"],
        &["-r", "-s", "-G", "*.xml"],
        &["-r", "-G", "*/sub/*"],
        &["--recursive", "--sort"],
    ];
    for (i, options) in cases.iter().enumerate() {
        let mut outputs = Vec::new();
        for rsng in [false, true] {
            let out = dir.path().join(format!("merged-{i}-{rsng}.xml"));
            let mut args = vec!["merge", "-D", src, "-p", out.to_str().expect("utf-8 path")];
            args.extend_from_slice(options);
            let (stdout, code) = pdbtool(rsng, &args);
            outputs.push((stdout, code, mask_date(fs::read_to_string(&out).unwrap_or_default())));
        }
        assert!(outputs[0].2.contains("<ruleset"), "{options:?}: syslog-ng merged nothing: {:?}", outputs[0]);
        assert_eq!(outputs[1], outputs[0], "pdbtool merge {options:?}");
    }
    // The old layout is brought up to date, CDATA sections left out, as syslog-ng does.
    let merged = fs::read_to_string(dir.path().join("merged-0-false.xml")).unwrap_or_default();
    assert!(merged.contains("<patterns>\n<pattern>hello @ESTRING:who: @</pattern>\n</patterns>"), "{merged}");
    assert!(merged.contains("<description>before  after</description>"), "{merged}");
    assert!(merged.contains("<summary> kept </summary>"), "{merged}");
    // Errors: no directory, a directory that is not there; nothing is written.
    for args in [vec!["merge", "-p"], vec!["merge", "-D", "/nonexistent-pdb-dir", "-p"]] {
        let mut results = Vec::new();
        for rsng in [false, true] {
            let out = dir.path().join(format!("none-{rsng}.xml"));
            let mut args = args.clone();
            args.push(out.to_str().expect("utf-8 path"));
            let mut cmd = if rsng {
                let mut c = Command::new(rsng_bin());
                c.arg("pdbtool");
                c
            } else {
                Command::new(PDBTOOL)
            };
            let run = cmd.args(&args).output().expect("run pdbtool");
            results.push((run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned(), out.exists()));
        }
        assert_eq!(results[0].0, Some(1), "{args:?}: syslog-ng {results:?}");
        assert_eq!(results[1], results[0], "{args:?}");
    }
}

#[test]
fn pdbtool_dictionary_is_syslog_ngs() {
    if skip() {
        return;
    }
    // syslog-ng's pdbtool crashes listing a program pattern with a parser and, with `-T`, prints
    // other names than the rules' own tags (or crashes): those are left out here.
    let cases: &[(&str, &[&str])] = &[
        ("sample.xml", &[]),
        ("sample.xml", &["-P", "sshd"]),
        ("sample.xml", &["--program", "su"]),
        ("correlation.xml", &[]),
        ("correlation.xml", &["-T"]),
        ("correlation.xml", &["-P", "sessiond", "--dump-tags"]),
        ("timeout.xml", &[]),
        ("timeout.xml", &["-P", "app"]),
        ("parsers.xml", &["-P", "app"]),
        ("parsers.xml", &["-P", "no-such-program"]),
        ("parsers.xml", &["-P", "other"]),
    ];
    let mut listed = 0;
    for (file, options) in cases {
        let path = fixture(file);
        let mut args = vec!["dictionary", "-p", path.to_str().expect("utf-8 path")];
        args.extend_from_slice(options);
        let want = pdbtool(false, &args);
        listed += want.0.lines().count();
        assert_eq!(pdbtool(true, &args), want, "pdbtool {args:?}");
    }
    assert!(listed > 50, "syslog-ng's pdbtool listed only {listed} names");
    // A file that does not load: exit code 1, nothing listed.
    let args = ["dictionary", "-p", "/nonexistent/patterndb.xml"];
    assert_eq!(pdbtool(true, &args), pdbtool(false, &args));
}

#[test]
fn pdbtool_dump_is_syslog_ngs() {
    if skip() {
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        ("sample.xml", &["-T"]),
        ("sample.xml", &["-P", "sshd"]),
        ("sample.xml", &["--program", "su"]),
        ("correlation.xml", &["-P", "sessiond"]),
        ("timeout.xml", &["--program-tree"]),
        ("timeout.xml", &["-P", "app"]),
        ("parsers.xml", &["-T"]),
        ("parsers.xml", &["-P", "app"]),
        ("parsers.xml", &["-P", "kernel[1]"]),
        ("parsers.xml", &["-P", "no-such-program"]),
        // Neither: a notice on stderr, nothing dumped.
        ("sample.xml", &[]),
    ];
    let mut lines = 0;
    for (file, options) in cases {
        let path = fixture(file);
        // Relative to the workspace, as a user would name it: the locations print it.
        let path = path.strip_prefix(workspace_root()).unwrap_or(&path).to_path_buf();
        let mut args = vec!["dump", "-p", path.to_str().expect("utf-8 path")];
        args.extend_from_slice(options);
        let run = |rsng: bool| {
            let mut cmd = if rsng {
                let mut c = Command::new(rsng_bin());
                c.arg("pdbtool");
                c
            } else {
                Command::new(PDBTOOL)
            };
            let out = cmd.args(&args).current_dir(workspace_root()).output().expect("run pdbtool");
            (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
        };
        let want = run(false);
        lines += want.0.lines().count();
        assert_eq!(run(true), want, "pdbtool {args:?}");
    }
    assert!(lines > 100, "syslog-ng's pdbtool dumped only {lines} lines");
}
