//! `example-msg-generator()` and `example-destination()` (syslog-ng's `examples` module, Debian's
//! `syslog-ng-mod-examples`) against syslog-ng 3.38: the same configuration gives the same bytes,
//! the same counters and the same refusals.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{mask_receive_times, oracle_bin, oracle_skipped, rsng_bin, Daemon, RunningDaemon, TempDir};

const CTL: &str = "/usr/sbin/syslog-ng-ctl";

/// Whether syslog-ng can load the examples module here (`cargo xtask test` installs it).
fn have_examples() -> bool {
    let present = Path::new("/usr/lib/syslog-ng/3.38/libexamples.so").exists();
    if oracle_skipped() || !present || !Path::new(CTL).exists() {
        assert!(oracle_skipped(), "syslog-ng-mod-examples is missing: cargo xtask test installs it");
        return false;
    }
    true
}

fn wait_lines(path: &Path, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= n || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Masks the worker thread id, which differs between runs (`thread_id=<ID>`), by position.
fn mask_thread_ids(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("thread_id=").and_then(|rest| rest.split_once(' ')) {
            Some((id, rest)) if id.bytes().all(|b| b.is_ascii_digit()) => format!("thread_id=<ID> {rest}\n"),
            _ => format!("{l}\n"),
        })
        .collect()
}

/// Runs `config` (with `OUT` replaced by the output directory) until `files` have their line
/// counts; returns their sorted, masked contents and the example-destination counters.
fn run(daemon: Daemon, config: &str, files: &[(&str, usize)]) -> (Vec<String>, Vec<String>) {
    let tmp = TempDir::new(&format!("example-{}", daemon.name())).expect("tempdir");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("out dir");
    let text = config.replace("OUT", &out.display().to_string());
    let (running, _, _) = RunningDaemon::start(daemon, tmp.path(), 0, 0, |_| text.clone());
    let mut contents = Vec::new();
    for (name, n) in files {
        let got = wait_lines(&out.join(name), *n);
        let mut lines: Vec<String> = mask_thread_ids(&mask_receive_times(&got)).lines().map(String::from).collect();
        assert_eq!(lines.len(), *n, "{}: {name}: {got}", daemon.name());
        // Sources run side by side: their interleaving is not fixed.
        lines.sort();
        contents.push(lines.join("\n"));
    }
    let stats = Command::new(CTL)
        .arg("stats")
        .arg("-c")
        .arg(tmp.path().join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    let mut counters: Vec<String> = String::from_utf8_lossy(&stats.stdout)
        .lines()
        .filter(|l| l.starts_with("dst.example-destination;") || l.starts_with("source;"))
        // The output directory differs between the two runs.
        .map(|l| l.replace(&out.display().to_string(), "OUT"))
        .collect();
    counters.sort();
    assert!(running.stop(), "{} did not stop", daemon.name());
    (contents, counters)
}

const TEMPLATE: &str = "$(format-json --scope all-nv-pairs --exclude TAGS) host=$HOST from=$HOST_FROM \
                        prog=$PROGRAM pid=$PID pri=$PRI fac=$FACILITY sev=$LEVEL src=$SOURCE msg=$MSG \
                        hdr=$LEGACY_MSGHDR sd=$SDATA ip=$SOURCEIP tags=$TAGS seq=$SEQNUM \
                        stamp=$ISODATE recv=$R_ISODATE\\n";

#[test]
fn generated_messages_are_syslog_ngs() {
    if !have_examples() {
        return;
    }
    let config = format!(
        "@version: 3.38\n\
         source plain {{ example-msg-generator(num(3) freq(0.01)); }};\n\
         source custom {{ example-msg-generator(num(4) freq(0) template(\"msg of $SOURCE: ${{app}} ${{n}}\")\n\
           values(\"app\" => \"generator\" \"n\" => \"$(+ 1 2)\") program-override(\"gen\") host-override(\"h1\")\n\
           tags(\"t1\" \"t2\") persist-name(\"custom-gen\")); }};\n\
         destination all {{ file(\"OUT/all.log\" template(\"{TEMPLATE}\")); }};\n\
         destination ex {{ example-destination(filename(\"OUT/example.txt\")); }};\n\
         log {{ source(plain); source(custom); destination(all); destination(ex); }};\n"
    );
    let files = [("all.log", 7), ("example.txt", 7)];
    let (expected, expected_stats) = run(Daemon::Oracle, &config, &files);
    let (ours, our_stats) = run(Daemon::Rsng, &config, &files);
    for (i, (name, _)) in files.iter().enumerate() {
        assert_eq!(ours[i], expected[i], "{name}: rsng (left) vs syslog-ng (right)");
    }
    assert_eq!(our_stats, expected_stats, "counters");
    // $SOURCE is not set yet when the template is evaluated.
    assert!(expected[1].contains("thread_id=<ID> message=msg of : generator 3"), "{}", expected[1]);
}

#[test]
fn example_destination_options() {
    if !have_examples() {
        return;
    }
    // One option per driver, as 3.38's grammar takes it; messages without a template.
    let config = "@version: 3.38\n\
                  source s { example-msg-generator(num(2) freq(0.01) template(\"x\\0y and more\")); };\n\
                  destination d1 { example-destination(filename(\"OUT/one.txt\")); };\n\
                  destination d2 { example-destination(throttle(1000)); };\n\
                  destination d3 { example-destination(time-reopen(1)); };\n\
                  log { source(s); destination(d1); };\n";
    let files = [("one.txt", 2)];
    let (expected, _) = run(Daemon::Oracle, config, &files);
    let (ours, _) = run(Daemon::Rsng, config, &files);
    assert_eq!(ours, expected);
}

/// What syslog-ng and rsng say to `--syntax-only` on `body`: (accepted, first line).
fn verdicts(body: &str) -> [(bool, String); 2] {
    let tmp = TempDir::new("example-syntax").expect("tempdir");
    let conf = tmp.path().join("t.conf");
    fs::write(&conf, format!("@version: 3.38\n{body}\n")).expect("write");
    [oracle_bin(), rsng_bin().to_path_buf()].map(|bin| {
        let out = Command::new(bin).arg("-s").arg("-f").arg(&conf).env("NO_COLOR", "1").output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), err)
    })
}

#[test]
fn refusals_match_syslog_ng() {
    if !have_examples() {
        return;
    }
    let cases = [
        ("source s { example-msg-generator(); }; log { source(s); };", true),
        ("source s { example-msg-generator(freq(1.5) num(0) values(a => b)); }; log { source(s); };", true),
        ("source s { example-msg-generator(freq(-1)); }; log { source(s); };", false),
        ("source s { example-msg-generator(num(-2)); }; log { source(s); };", false),
        ("source s { example-msg-generator(values(\"a\")); }; log { source(s); };", false),
        ("source s { example-msg-generator(nosuch(1)); }; log { source(s); };", false),
        ("destination d { example-destination(); }; log { destination(d); };", false),
        ("destination d { example-destination(filename(\"/tmp/x\") retries(3)); }; log { destination(d); };", false),
        ("destination d { example-destination(retries(3)); }; log { destination(d); };", true),
        ("destination d { example-destination(retries(0)); }; log { destination(d); };", false),
    ];
    for (body, ok) in cases {
        let [oracle, ours] = verdicts(body);
        assert_eq!(oracle.0, ok, "syslog-ng on {body}: {}", oracle.1);
        assert_eq!(ours.0, ok, "rsng on {body}: {}", ours.1);
        if !ok {
            assert!(ours.1.contains("t.conf:2:"), "located error for {body}: {}", ours.1);
        }
    }
}
