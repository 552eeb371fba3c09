//! Filter evaluation: rsng's compiled filters pass the same messages as syslog-ng 3.38.
//!
//! One syslog-ng runs in the foreground (`TZ=UTC`) with one UDP source (`s_net`,
//! `flags(syslog-protocol)`) and one file destination per filter expression, each behind
//! `log { source(s_net); filter { EXPR }; destination(dN); };`, writing `$MSG`. Every message
//! ends in a unique `#NN` token, so the lines of each file say which messages passed. The test
//! then loads the same configuration with `rsng_config::load_text`, compiles its filters with
//! `filter_compile`, builds `LogMessage`s from the same datagrams (source `s_net`, sender
//! `127.0.0.1`) and compares the set of messages each filter passes.
//!
//! Not covered, because the IR cannot tell `> 100` from `> "100"` (see `filter_compile`): a
//! bare-number operand against a non-numeric value (`"$PID" < 100` with no PID). All PIDs sent
//! here are numeric or absent, and the bare-number filters use operators where both readings
//! agree on such values.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rsng_config::filter_compile::compile_filters;
use rsng_core::filter::FilterScratch;
use rsng_core::message::{LogMessage, ReceiveInfo};
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions};
use rsng_tests::{oracle_skipped, RunningOracle, TempDir};

/// The filter expressions; `LIST` is replaced by the in-list file's path.
const FILTERS: &[&str] = &[
    "level(err..emerg)",
    "level(warning, debug)",
    "priority(notice..info)",
    "severity(crit)",
    "facility(mail, local0..local3)",
    "facility(13)",
    "facility(kern)",
    "program(\"^ssh\")",
    "program(\"SSHD\" flags(ignore-case))",
    "host('^web[0-9]+$')",
    "message(\"error\")",
    "message(\"ERROR\" flags(icase))",
    "message(\"disk\" type(string) flags(substring))",
    "program(\"cr\" type(string) flags(prefix))",
    "program(\"cron\" type(string))",
    "program(\"CRON\" type(string) flags(ignore-case))",
    "host(\"db*\" type(glob))",
    "message(\"*fail?d*\" type(glob))",
    "source(\"s_net\")",
    "source(\"s_ne\")",
    "match('^sshd\\[[0-9]+\\]: ')",
    "match('^: ')",
    "match(\"^web\" value(\"HOST\"))",
    "match('^[0-9]+$' value(\"PID\"))",
    "match('^user\\.notice$' template(\"$FACILITY.$LEVEL\"))",
    "match(\"^mail\" value(\"FACILITY\"))",
    "netmask(\"127.0.0.1/8\")",
    "netmask(\"10.0.0.0/8\")",
    "netmask(\"127.0.0.1\")",
    "netmask6(\"::1/128\")",
    "tags(\".source.s_net\")",
    "tags(\"nope\", \"other\")",
    "in-list(\"LIST\" value(\"PROGRAM\"))",
    "filter(f_err)",
    "filter(f_err) and not filter(f_cron)",
    "not program(\"sshd\") and level(info) or facility(mail)",
    "program(\"sshd\") or level(err); message(\"fail\")",
    "not (level(debug) or program(\"cron\"))",
    "\"$PROGRAM\" == \"a\"",
    "\"$PID\" > 100",
    "\"$PID\" < \"100\"",
    "\"$PID\" != \"0\"",
    "int(\"$PID\") <= 500",
    "int(\"$PID\") != \"1234\"",
    "\"$HOST\" eq \"web01\"",
    "$PROGRAM ne cron",
    "\"$LEVEL_NUM\" ge \"4\"",
    "\"$PROGRAM\" lt \"d\"",
    "\"$PROGRAM\" === \"sshd\"",
    "\"$PID\" !== int(\"5\")",
    "\"${.SDATA.ex@1.k}\" eq \"v\"",
];

/// Named filters, defined after the log paths that use them.
const NAMED: &str = "filter f_err { level(err..emerg); };\nfilter f_cron { program(\"cron\"); };\n";

fn messages() -> Vec<Vec<u8>> {
    let rows: &[&str] = &[
        "<34>Oct 11 22:14:15 web01 sshd[123]: authentication failure",
        "<38>Oct 11 22:14:16 web02 sshd[4567]: Accepted publickey",
        "<13>Oct 11 22:14:17 db1 cron[99]: job started",
        "<78>Oct 11 22:14:18 db2 cron: (root) CMD run-parts",
        "<11>Oct 11 22:14:19 web01 app[500]: ERROR disk full",
        "<15>Oct 11 22:14:20 db1 app[501]: debug details",
        "<22>Oct 11 22:14:21 mail1 postfix[1000]: connection failed",
        "<17>Oct 11 22:14:22 mail1 postfix[1001]: error queue",
        "<0>Oct 11 22:14:23 kernhost kernel: panic now",
        "<6>Oct 11 22:14:24 kernhost kernel: info",
        "<105>Oct 11 22:14:25 sec1 audit[5]: security event",
        "<108>Oct 11 22:14:26 sec1 audit[50]: notice",
        "<134>Oct 11 22:14:27 h local0prog[7]: local0 info",
        "<155>Oct 11 22:14:28 h local3prog[8]: local3 error failed",
        "<158>Oct 11 22:14:29 h local3prog: local3 info",
        "<167>Oct 11 22:14:30 h local4prog: local4 debug",
        "<191>Oct 11 22:14:31 h p: last facility",
        "<13>Oct 11 22:14:32 web10 a: the a program",
        "<13>Oct 11 22:14:33 webx b[0]: zero pid",
        "<13>Oct 11 22:14:34 h SSHD[1]: upper case",
        "<13>Oct 11 22:14:35 h crond[2]: prefix cron",
        "<13>Oct 11 22:14:36 h CRON[3]: upper cron",
        "<13>Oct 11 22:14:37 dbserver x[1234]: disk failed",
        "<13>Oct 11 22:14:38 h x[12345]: fail-d no",
        "<13>Oct 11 22:14:39 h : no program",
        "<13>Oct 11 22:14:40 h y[100]: exactly 100",
        "<13>Oct 11 22:14:41 h y[101]: over 100",
        "<13>Oct 11 22:14:42 h y[99]: under 100",
        "<14>Oct 11 22:14:43 h sshd: no pid sshd",
        "<27>Oct 11 22:14:44 h daemon[5]: daemon err",
        "<12>Oct 11 22:14:45 h sshd[9]: warning sshd",
        "<999>Oct 11 22:14:46 h big[1]: pri 999",
        "<13>Oct 11 22:14:47 h prog[77]: caf\u{e9} utf8 failed",
        "<13>1 2024-01-02T03:04:05Z web05 sshd 321 ID1 [ex@1 k=\"v\"] rfc5424 sd",
        "<11>1 2024-01-02T03:04:05Z db9 cron 42 - - rfc5424 error",
        "<165>1 2024-01-02T03:04:05Z mail2 postfix - - [ex@1 k=\"w\"] local4 notice",
        "<13>Oct 11 22:14:48 h p[5]: Error mixed case",
        "<13>Oct 11 22:14:49 h in-list[6]: not in list",
        "<86>Oct 11 22:14:50 h su[7]: authpriv info",
        "<13>Oct 11 22:14:51 127.0.0.1 sshd[8]: host is an address",
    ];
    rows.iter().enumerate().map(|(i, m)| format!("{m} #{i:02}").into_bytes()).collect()
}

fn config(dir: &Path, port: u16) -> String {
    let list = dir.join("list.txt");
    let mut conf =
        String::from("@version: 3.38\noptions { keep-hostname(yes); use-dns(no); dns-cache(no); stats-freq(0); };\n");
    let _ = writeln!(
        conf,
        "source s_net {{ network(transport(\"udp\") ip(127.0.0.1) port({port}) flags(syslog-protocol)); }};"
    );
    let _ =
        writeln!(conf, "destination d_all {{ file(\"{}\" template(\"$MSG\\n\")); }};", dir.join("all.out").display());
    let _ = writeln!(conf, "log {{ source(s_net); destination(d_all); }};");
    for (i, f) in FILTERS.iter().enumerate() {
        let expr = f.replace("LIST", &list.display().to_string());
        let _ = writeln!(
            conf,
            "destination d{i} {{ file(\"{}\" template(\"$MSG\\n\")); }};\nlog {{ source(s_net); filter {{ {expr} }}; destination(d{i}); }};",
            dir.join(format!("d{i}.out")).display()
        );
    }
    conf.push_str(NAMED);
    conf
}

/// The `#NN` ids of the messages in a destination file.
fn ids(path: &Path) -> BTreeSet<usize> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(|l| l.rsplit_once(" #").and_then(|(_, n)| n.parse().ok())).collect()
}

#[test]
fn filters_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let started = Instant::now();
    let dir = TempDir::new("filter").expect("temp dir");
    fs::write(dir.path().join("list.txt"), "sshd\ncron\n\nin-list\n").expect("write list");
    let messages = messages();
    let (oracle, ports, conf_text) = RunningOracle::start_udp(dir.path(), 1, |ports| config(dir.path(), ports[0]));
    let port = ports[0];
    oracle.send_udp(&[port], &messages);
    oracle.wait_for(10, || ids(&dir.path().join("all.out")).len() >= messages.len());
    oracle.stop();
    let all = ids(&dir.path().join("all.out"));
    assert_eq!(all.len(), messages.len(), "syslog-ng received {} of {} messages", all.len(), messages.len());

    let loaded = rsng_config::load_text("syslog-ng.conf", &conf_text, &rsng_config::LoadOptions::default())
        .unwrap_or_else(|e| panic!("rsng refuses the configuration: {e:?}"));
    let filters = compile_filters(&loaded.config).unwrap_or_else(|e| panic!("filters do not compile: {e}"));
    // The inline filter of log path N+1 (path 0 has none) is `#anon-filterN`.
    let anon: HashMap<usize, String> = (0..FILTERS.len()).map(|i| (i, format!("#anon-filter{i}"))).collect();

    let mut flags = ParseFlags::default();
    assert!(flags.apply("syslog-protocol"));
    let parse_options = ParseOptions::with_flags(flags);
    let info = ReceiveInfo::new("s_net", "127.0.0.1", "127.0.0.1".parse().ok(), jiff::tz::TimeZone::UTC);
    let parsed: Vec<LogMessage> = messages
        .iter()
        .map(|m| {
            let raw: Arc<[u8]> = Arc::from(m.as_slice());
            let p = parse(&raw, &parse_options).unwrap_or_else(|e| panic!("{:?} does not parse: {e:?}", m));
            LogMessage::from_parsed(raw.clone(), &p, &info)
        })
        .collect();

    let mut scratch = FilterScratch::new();
    let mut failures = Vec::new();
    let mut passed_total = 0;
    let mut counts = Vec::new();
    for (i, expr) in FILTERS.iter().enumerate() {
        let theirs = ids(&dir.path().join(format!("d{i}.out")));
        let filter = &filters[&anon[&i]];
        let ours: BTreeSet<usize> = (0..parsed.len()).filter(|&n| filter.eval(&parsed[n], &mut scratch)).collect();
        passed_total += theirs.len();
        counts.push(theirs.len().to_string());
        if ours != theirs {
            let show = |set: Vec<&usize>| {
                set.iter()
                    .map(|&&n| format!("\n      #{n:02} {}", String::from_utf8_lossy(&messages[n])))
                    .collect::<String>()
            };
            failures.push(format!(
                "filter {{ {expr} }}:\n    only rsng passes:{}\n    only syslog-ng passes:{}",
                show(ours.difference(&theirs).collect()),
                show(theirs.difference(&ours).collect())
            ));
        }
    }
    eprintln!("differential_filter: messages passed per filter (syslog-ng): {}", counts.join(" "));
    eprintln!(
        "differential_filter: {} filters x {} messages, syslog-ng passed {passed_total} pairs, {} filters differ ({:.1?})",
        FILTERS.len(),
        messages.len(),
        failures.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {} filters differ:\n{}", failures.len(), FILTERS.len(), failures.join("\n"));
}
