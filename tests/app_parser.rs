//! `app-parser()`, `application` definitions and the application adapters of syslog-ng's SCL
//! (Debian's `syslog-ng-scl`: `cisco-parser()`, `checkpoint-parser()`, `panos-parser()`,
//! `mariadb-audit-parser()`, ...) against syslog-ng 3.38: the same configuration and input give
//! the same output bytes.
//!
//! Each test runs one daemon at a time on a configuration with one TCP source (`no-parse`: the
//! raw line is `$MSG`) feeding several log paths, each into its own file. Every input goes
//! through every path, so each parser also meets the messages it must refuse. A last line,
//! `END-OF-INPUT`, goes to a file of its own by a first, final path; once it is there the daemon
//! is stopped (which flushes every file) and the files are compared. Receive times are masked by
//! position (`mask_receive_times`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{mask_receive_times, oracle_bin, oracle_skipped, rsng_bin, Daemon, RunningDaemon, TempDir};

/// The SCL as Debian ships it; both daemons read it through `@include "scl.conf"`.
const SCL_CISCO: &str = "/usr/share/syslog-ng/include/scl/cisco/plugin.conf";

/// Whether the comparison can run here (`cargo xtask test` installs syslog-ng-scl).
fn have_scl() -> bool {
    if oracle_skipped() {
        return false;
    }
    assert!(Path::new(SCL_CISCO).is_file(), "syslog-ng-scl is missing: cargo xtask test installs it");
    true
}

/// What each output line shows: the application, the fields the adapters set, every name-value
/// pair (with the dotted ones), the tags and the message.
const FIELDS: &str = "app=${.app.name} pri=$PRI host=$HOST prog=$PROGRAM pid=$PID date=$S_ISODATE \
                      nv=$(format-json --scope nv-pairs --scope dot-nv-pairs --exclude MESSAGE) tags=$TAGS msg=$MSG\\n";

/// Runs `body` (with `PORT` and `OUT` replaced) under `daemon`, sends `inputs` as lines over one
/// TCP connection, and returns every output file by name, receive times masked.
fn run(daemon: Daemon, scl: bool, body: &str, inputs: &[&str]) -> BTreeMap<String, String> {
    let tmp = TempDir::new(&format!("app-parser-{}", daemon.name())).expect("tempdir");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("out dir");
    let out_text = out.display().to_string();
    let include = if scl { "@include \"scl.conf\"\n" } else { "" };
    let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 1, |p| {
        format!(
            "@version: 3.38\n{include}\
             source s {{ network(ip(127.0.0.1) port({port}) transport(tcp) flags(no-parse)); }};\n\
             destination done {{ file(\"OUT/done.log\"); }};\n\
             log {{ source(s); filter {{ message(\"END-OF-INPUT\" type(string)); }}; destination(done); flags(final); }};\n\
             {body}\n",
            port = p.tcp[0]
        )
        .replace("OUT", &out_text)
    });
    let mut data = String::new();
    for line in inputs.iter().chain(&["END-OF-INPUT"]) {
        data.push_str(line);
        data.push('\n');
    }
    running.send_tcp(ports.tcp[0], data.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(out.join("done.log")).is_ok_and(|t| t.contains("END-OF-INPUT")) {
        assert!(Instant::now() < deadline, "{}: no END-OF-INPUT: {}", daemon.name(), running.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(running.stop(), "{} did not stop", daemon.name());
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(&out).expect("read out dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "done.log" {
            let text = fs::read_to_string(entry.path()).expect("read output");
            files.insert(name, mask_receive_times(&text));
        }
    }
    files
}

/// Runs both daemons and compares every file; returns syslog-ng's files for further checks.
fn compare(scl: bool, body: &str, inputs: &[&str]) -> BTreeMap<String, String> {
    let expected = run(Daemon::Oracle, scl, body, inputs);
    let ours = run(Daemon::Rsng, scl, body, inputs);
    assert_eq!(ours.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "files written");
    for (name, text) in &expected {
        let got = &ours[name];
        if got != text {
            let diff: Vec<String> = got
                .lines()
                .zip(text.lines())
                .filter(|(a, b)| a != b)
                .take(3)
                .map(|(a, b)| format!("rsng:      {a}\nsyslog-ng: {b}"))
                .collect();
            panic!(
                "{name}: rsng wrote {} lines, syslog-ng {}; first differences:\n{}",
                got.lines().count(),
                text.lines().count(),
                diff.join("\n")
            );
        }
    }
    expected
}

/// Messages in syslog format (parsed with `syslog-parser(flags(syslog-protocol))`).
const SYSLOG_INPUTS: &[&str] = &[
    // iptables: facility kern, program kernel, `PROTO=`.
    "<4>1 2026-03-05T15:10:34+02:00 gw kernel - - - IN=eth0 OUT= MAC=00:11 SRC=10.0.0.1 DST=10.0.0.2 LEN=60 PROTO=TCP SPT=5 DPT=22 SYN",
    // junos: structured data of Juniper's enterprise number.
    "<14>1 2026-04-12T14:29:06.576Z fw1 RT_FLOW - RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.129 reason=\"idle Timeout\" source-address=\"10.1.1.1\" nat-source-port=\"1024\"] session closed idle Timeout",
    // sudo, with and without a command (the latter is refused).
    "<85>Apr 18 12:33:50 web1 sudo[2517]:   alice : TTY=pts/1 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u",
    "<85>Apr 18 12:34:00 web1 sudo[2518]: pam_unix(sudo:session): session opened for user root",
    // JSON behind the CIM and CEE markers.
    "<13>1 2026-01-02T03:04:05Z h1 app 1 - - @cim: {\"user\":\"bob\",\"net\":{\"port\":443}}",
    "<13>1 2026-01-02T03:04:06Z h1 app 2 - - @cee: {\"action\":\"login\",\"ok\":true}",
    // PAN-OS: SYSTEM (and with extra fields), CONFIG (both layouts), TRAFFIC, THREAT, an unknown type.
    "<12>Apr 14 16:48:54 pa.example.net 1,2026/04/14 16:48:54,0123456789,SYSTEM,auth,0,2026/04/14 16:48:54,,auth-fail,,0,0,general,medium,failed authentication for user 'x',1718,0x0,0,0,0,0,,pa-1",
    "<12>Apr 14 16:48:55 pa.example.net 1,2026/04/14 16:48:55,0123456789,SYSTEM,auth,0,2026/04/14 16:48:55,,auth-fail,,0,0,general,medium,failed,1719,0x0,0,0,0,0,,pa-1,extra,more",
    "<14>Apr 14 16:54:18 pa.example.net 1,2026/04/14 16:54:18,0123456789,CONFIG,0,0,2026/04/14 16:54:18,10.0.10.55,,set,admin,Web,Succeeded,deviceconfig system,127,0x0,0,0,0,0,,pa-1",
    "<14>Apr 14 16:54:19 pa.example.net 1,2026/04/14 16:54:19,0123456789,CONFIG,0,0,2026/04/14 16:54:19,10.0.10.55,,set,admin,Web,Succeeded,deviceconfig system,old,new,128,0x0,0,0,0,0,,pa-1",
    "<14>Apr 14 17:00:00 pa.example.net 1,2026/04/14 17:00:00,0123456789,TRAFFIC,end,2049,2026/04/14 17:00:00,10.0.0.5,8.8.8.8,1.2.3.4,8.8.8.8,allow-dns,,,dns,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2026/04/14 17:00:00,3344,1,51000,53,40000,53,0x400000,udp,allow,180,80,100,2,2026/04/14 16:59:59,0,any,0,555,0x0,10.0.0.0-10.255.255.255,United States,0,1,1,aged-out,0,0,0,0,,pa-1,from-policy",
    "<14>Apr 14 17:00:01 pa.example.net 1,2026/04/14 17:00:01,0123456789,THREAT,url,2049,2026/04/14 17:00:01,10.0.0.5,93.184.216.34,1.2.3.4,93.184.216.34,web,alice,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2026/04/14 17:00:01,3345,1,52000,80,41000,80,0x40b000,tcp,alert,\"example.com/\",(9999),news,informational,client-to-server,556,0x0,10.0.0.0-10.255.255.255,United States,0,text/html,0,,,1,,,,,,,,0,0,0,0,0,pa-1",
    "<14>Apr 14 17:00:02 pa.example.net 1,2026/04/14 17:00:02,0123456789,GLOBALPROTECT,x,y,2026/04/14 17:00:02,a,b,c",
    // MariaDB's server_audit plugin through syslog.
    "<190>Apr 13 14:43:13 db1 mysql-server_auditing: node-1 dbhost,user1,172.18.0.1,32,394,QUERY,shop,'SELECT * FROM t WHERE a=\\'x\\'',0",
    "<190>Apr 13 14:43:14 db1 mysql-server_auditing: docker dbhost,root,172.18.0.3,13,0,CONNECT,,,0",
    "<190>Apr 13 14:43:15 db1 mysql-server_auditing: too,few,fields",
    // Nothing knows this one.
    "<13>Apr 18 12:33:50 h2 foo[1]: hello world",
];

/// Messages as devices send them, for the `syslog-raw` topic and the raw adapters.
const RAW_INPUTS: &[&str] = &[
    // Cisco IOS: sequence number, host, `*` and `.` marked stamps, years, AM/PM, a hyphenated
    // facility, no host, no stamp, an ISO stamp (Firepower).
    "<189>29: router1: *Apr 29 13:58:40.411: %SYS-5-CONFIG_I: Configured from console by vty0",
    "<190>31: router1: .Nov 19 13:58:46: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
    "<187>12: router2: Apr 29 2026 13:58:40.123: %SEC-6-IPACCESSLOGP: list 101 denied tcp 10.0.0.1(123) -> 10.0.0.2(22), 1 packet",
    "<189>33: router2: Apr 29 01:58:40 PM: %SYS-5-CONFIG_I: Configured from console",
    "<190>32: router3: *Apr  9 13:58:46.411: %SYSMGR-STANDBY-3-SHUTDOWN_START: The System Manager has started the shutdown procedure.",
    "<189>35: *Apr 29 14:00:16.059: %SYS-5-CONFIG_I: Configured from console by console",
    "<190>123030: host-b: %SYS-5-LOGGINGHOST_STARTSTOP: Logging to host 192.0.2.1 stopped - CLI initiated",
    "<166>2026-02-16T15:31:53Z fw-a : %FTD-6-305012: Teardown dynamic TCP translation from in:10.44.60.80/59877 to out:6.7.8.9/59877 duration 0:01:01",
    "<189>7: %BAD: no triplet here",
    // Netskope (JSON after the priority).
    "<134>{\"count\": 1, \"user\": \"u@example.com\", \"_insertion_epoch_timestamp\": 1547421943, \"type\": \"admin_audit_logs\", \"category\": null}",
    // Websense (BSD stamp with a zone, key-value pairs).
    "<159>Dec 19 10:48:57 EST 10.203.28.21 vendor=Websense product=Security action=permitted severity=1 user=- src_host=10.64.134.74 dst_port=443",
    // Check Point: syslog format with an ISO stamp, with a space in the stamp, and splunk format.
    "<134>1 2026-03-21T17:25:25 MDS-72 CheckPoint 13752 - [action:\"Update\"; flags:\"150784\"; ifdir:\"inbound\"; origin:\"192.168.32.91\"; product:\"Identity Awareness\"; src:\"192.168.32.69\";]",
    "<134>1 2026-03-21 17:25:26 MDS-72 CheckPoint 13753 - [action:\"Accept\"; rule_name:\"3G Pool\"; service:\"80\"; ]",
    "<134>1 2026-11-27T02:58:25Z cplog01 CheckPoint 22103 - [action:\"Drop\"; proto:\"6\"; s_port:\"64442\"; ]",
    "time=1557767758|hostname=r80test|product=Firewall|layer_name=Network|action=Accept|originsicname=cn\\=cp_mgmt,o\\=r80test|src=192.168.96.27|",
    // FortiGate.
    "<189>date=2026-01-15 time=12:58:59 devname=\"FORTI_1\" devid=\"FG100D\" logid=\"0001000014\" type=\"traffic\" subtype=\"local\" srcip=91.234.154.139 action=\"deny\"",
    "<189>date=2026-01-15 time=12:59:00 devid=\"FG100D\" type=\"traffic\"",
    // Nothing knows these.
    "<13>plain text without any vendor",
    "just some text",
];

#[test]
fn app_parser_topics_and_adapters_are_syslog_ngs() {
    if !have_scl() {
        return;
    }
    let inputs: Vec<&str> = SYSLOG_INPUTS.iter().chain(RAW_INPUTS).copied().collect();
    let mut body = String::new();
    // The two topics of the SCL, as syslog-ng's `default-network-drivers()` uses them.
    body.push_str(&format!(
        "destination d_syslog {{ file(\"OUT/syslog.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); parser {{ syslog-parser(flags(syslog-protocol)); }}; parser {{ app-parser(topic(syslog)); }}; destination(d_syslog); }};\n\
         destination d_raw {{ file(\"OUT/raw.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); parser {{ app-parser(topic(syslog-raw)); }}; destination(d_raw); }};\n"
    ));
    // Each adapter on its own, on every input: what it accepts and what it refuses.
    for adapter in
        ["cisco-parser()", "checkpoint-parser()", "fortigate-parser()", "websense-parser()", "netskope-parser()"]
    {
        let name = adapter.trim_end_matches("()");
        body.push_str(&format!(
            "destination d_{name} {{ file(\"OUT/{name}.log\" template(\"{FIELDS}\")); }};\n\
             log {{ source(s); parser {{ {adapter}; }}; destination(d_{name}); }};\n"
        ));
    }
    for adapter in [
        "panos-parser()",
        "sudo-parser()",
        "iptables-parser()",
        "mariadb-audit-parser()",
        "mariadb-audit-parser(prefix('m.') template('$MSG'))",
        "cisco-parser(prefix('c.'))",
    ] {
        let name: String = adapter.chars().filter(char::is_ascii_alphanumeric).collect();
        body.push_str(&format!(
            "destination d_{name} {{ file(\"OUT/{name}.log\" template(\"{FIELDS}\")); }};\n\
             log {{ source(s); parser {{ syslog-parser(flags(syslog-protocol) drop-invalid(yes)); {adapter}; }}; destination(d_{name}); }};\n"
        ));
    }
    let expected = compare(true, &body, &inputs);
    // The comparison means something only if the adapters did their work.
    let check = |file: &str, needle: &str| {
        assert!(expected[file].contains(needle), "{file} lacks `{needle}`:\n{}", expected[file]);
    };
    for app in ["iptables", "junos", "sudo", "cim", "cee", "panos"] {
        check("syslog.log", &format!("app={app} "));
    }
    for app in ["cisco", "netskope", "websense", "checkpoint", "fortigate"] {
        check("raw.log", &format!("app={app} "));
    }
    check("cisco-parser.log", "\"_cisco\":{\"severity\":\"3\"");
    check("panosparser.log", "prog=paloalto_panos");
    check("mariadbauditparser.log", "\"serverhost\":\"dbhost\"");
    assert_eq!(expected["raw.log"].lines().count(), 15, "{}", expected["raw.log"]);
}

#[test]
fn application_definitions_select_as_syslog_ngs() {
    if oracle_skipped() {
        return;
    }
    // Applications of the user: a topic default (`[*]`), a redefinition (which moves the
    // application to the end), one without a filter, one whose parser refuses, one defined
    // after the `app-parser()` that cannot see it.
    let apps = "\
        application alpha[t1] { filter { message(\"alpha\" type(string) flags(substring)); }; parser { kv-parser(prefix(\".alpha.\")); }; };\n\
        application beta[t1] { filter { message(\"beta\" type(string) flags(substring)); }; };\n\
        application gamma[t1] { };\n\
        application gamma[*] { filter { message(\"gamma\" type(string) flags(substring)); }; parser { csv-parser(columns(\"g1\", \"g2\") delimiters(\" \")); }; };\n\
        application picky[t1] { filter { message(\"alpha\" type(string) flags(substring)); }; parser { regexp-parser(patterns(\"^never$\")); }; };\n\
        application beta[t1] { filter { message(\"beta2\" type(string) flags(substring)); }; };\n\
        application other[t2] { parser { kv-parser(prefix(\".o.\")); }; };\n";
    let paths = [
        ("all", "app-parser(topic(t1))"),
        ("quoted", "app-parser(topic(\"t1\"))"),
        ("excluded", "app-parser(topic(t1) auto-parse-exclude(\"alpha,gam\"))"),
        ("included", "app-parser(topic(t1) auto-parse-include(\"betagamma\"))"),
        ("off", "app-parser(topic(t1) auto-parse(no))"),
        ("on", "app-parser(topic(t1) auto-parse(1))"),
        ("t2", "app-parser(topic(t2))"),
        ("chained", "app-parser(topic(t2)); app-parser(topic(t1))"),
    ];
    let mut body = String::from(apps);
    for (name, parser) in paths {
        body.push_str(&format!(
            "destination d_{name} {{ file(\"OUT/{name}.log\" template(\"{FIELDS}\")); }};\n\
             log {{ source(s); parser {{ {parser}; }}; destination(d_{name}); }};\n"
        ));
    }
    body.push_str(
        "application late[t1] { };\n\
         destination d_late { file(\"OUT/late.log\" template(\"${.app.name} $MSG\\n\")); };\n\
         log { source(s); parser { app-parser(topic(t1)); }; destination(d_late); };\n",
    );
    let inputs = ["alpha a=1 b=2", "beta only", "beta2 x=y", "gamma one two", "gamma", "x=1 nothing", "zzz"];
    let expected = compare(false, &body, &inputs);
    assert!(expected["all.log"].contains("app=alpha "), "{}", expected["all.log"]);
    assert!(expected["late.log"].contains("late zzz"), "{}", expected["late.log"]);
    assert!(!expected.contains_key("quoted.log") && !expected.contains_key("off.log"), "{expected:?}");
}

#[test]
fn channels_inside_parser_and_rewrite_objects_run_in_order() {
    if oracle_skipped() {
        return;
    }
    // Drivers and channels in sequence, conditions inside, a named object used twice, a channel
    // whose filter drops; a rewrite object whose channels form a junction (one copy each, a
    // final one ending it).
    let body = format!(
        "parser p_seq {{\n\
           kv-parser(prefix(\"a.\"));\n\
           channel {{\n\
             if (\"${{a.k}}\" eq \"1\") {{ rewrite {{ set(\"one\" value(\"b.branch\")); }}; }}\n\
             elif {{ parser {{ regexp-parser(prefix(\"b.\") patterns(\"k=(?<num>[0-9]+)\")); }}; }}\n\
             else {{ rewrite {{ set(\"other\" value(\"b.branch\")); }}; }};\n\
           }};\n\
           csv-parser(columns(\"c.first\") delimiters(\" \") flags(greedy));\n\
           channel {{ filter {{ not message(\"drop\" type(string) flags(substring)); }}; }};\n\
         }};\n\
         rewrite r_seq {{ set(\"r1\" value(\"r.one\")); set-tag(\"rt\");\n\
           channel {{ rewrite {{ set(\"$r.one-2\" value(\"r.two\")); }}; }};\n\
           channel {{ filter {{ message(\"22\"); }}; rewrite {{ set(\"second\" value(\"r.two\")); }}; flags(final); }};\n\
           channel {{ rewrite {{ set(\"third\" value(\"r.two\")); }}; }};\n\
         }};\n\
         destination d_seq {{ file(\"OUT/seq.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); parser(p_seq); rewrite(r_seq); destination(d_seq); }};\n\
         destination d_twice {{ file(\"OUT/twice.log\" template(\"{FIELDS}\")); }};\n\
         log {{ source(s); parser(p_seq); parser(p_seq); destination(d_twice); }};\n"
    );
    let inputs = ["k=1 x=y", "k=22", "k=abc", "k=1 please drop", "no pairs here"];
    let expected = compare(false, &body, &inputs);
    assert!(expected["seq.log"].contains("\"branch\":\"one\""), "{}", expected["seq.log"]);
    assert!(expected["seq.log"].contains("\"num\":\"22\""), "{}", expected["seq.log"]);
    assert!(!expected["seq.log"].contains("please drop"), "{}", expected["seq.log"]);
}

/// The text `app-parser()` generates, as `--preprocess-into` shows it.
fn generated(binary: &Path, config: &Path, dir: &Path) -> String {
    let into = dir.join(format!("pp-{}.conf", binary.file_name().unwrap_or_default().to_string_lossy()));
    let status = Command::new(binary)
        .arg("-s")
        .arg("-f")
        .arg(config)
        .arg(format!("--preprocess-into={}", into.display()))
        .status()
        .expect("run");
    assert!(status.success(), "{} refused {}", binary.display(), config.display());
    let text = fs::read_to_string(&into).expect("preprocessed output");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("#Start Block parser generator app-parser") {
        let end = rest[start..].find("#End Block parser generator app-parser").expect("end marker") + start;
        out.push_str(&rest[start..end]);
        rest = &rest[end + 1..];
    }
    out
}

#[test]
fn generated_text_is_syslog_ngs() {
    if !have_scl() {
        return;
    }
    let tmp = TempDir::new("app-parser-generated").expect("tempdir");
    let config = tmp.path().join("t.conf");
    fs::write(
        &config,
        "@version: 3.38\n@include \"scl.conf\"\n\
         @define my-prefix \"\\\".mine.\\\"\"\n\
         application mine[syslog] { filter { program(\"mine\"); }; parser { kv-parser(prefix(`my-prefix`)); }; };\n\
         source s { network(port(0)); };\n\
         destination d { file(\"/dev/null\"); };\n\
         log { source(s); parser { app-parser(topic(syslog)); }; destination(d); };\n\
         log { source(s); parser { app-parser(topic(syslog-raw) auto-parse-exclude(cisco)); }; destination(d); };\n\
         log { source(s); parser { app-parser(topic(syslog) auto-parse(no)); }; destination(d); };\n",
    )
    .expect("write");
    let expected = generated(&oracle_bin(), &config, tmp.path());
    let ours = generated(rsng_bin(), &config, tmp.path());
    assert!(expected.contains("#Start Application mine") && expected.contains("prefix(\".mine.\")"), "{expected}");
    assert_eq!(ours, expected);
}

#[test]
fn app_parser_errors_are_reported() {
    if oracle_skipped() {
        return;
    }
    let tmp = TempDir::new("app-parser-errors").expect("tempdir");
    for (body, what) in [
        ("log { source(s); parser { app-parser(auto-parse(yes)); }; };", "topic"),
        ("application broken[t] { rewrite { }; };", "application"),
        ("application broken[t] { filter { message(\"x\"); } };", "application"),
    ] {
        let config = tmp.path().join("t.conf");
        fs::write(&config, format!("@version: 3.38\nsource s {{ network(port(0)); }};\n{body}\n")).expect("write");
        for binary in [oracle_bin(), rsng_bin().to_path_buf()] {
            let out =
                Command::new(&binary).arg("-s").arg("-f").arg(&config).env("NO_COLOR", "1").output().expect("run");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{} accepted `{body}`", binary.display());
            assert!(err.contains(":3:"), "{} did not name line 3 for `{body}`: {err}", binary.display());
            if binary == rsng_bin() {
                assert!(err.contains(what), "rsng's error for `{body}` does not say `{what}`: {err}");
            }
        }
    }
}

/// `default-network-drivers()` as Debian's SCL writes it: sources inside channels of the source
/// object, `app-parser()` of both topics, `syslog-parser()` and `ewmm-parser()` between them.
#[test]
fn default_network_drivers_of_the_scl_are_syslog_ngs() {
    if !have_scl() {
        return;
    }
    let run_one = |daemon: Daemon| -> String {
        let tmp = TempDir::new(&format!("app-parser-dnd-{}", daemon.name())).expect("tempdir");
        let dir = tmp.path().display().to_string();
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rsng-test"])
            .arg("-keyout")
            .arg(tmp.path().join("key.pem"))
            .arg("-out")
            .arg(tmp.path().join("cert.pem"))
            .output()
            .expect("openssl");
        assert!(made.status.success(), "openssl: {}", String::from_utf8_lossy(&made.stderr));
        let (running, ports, _) = RunningDaemon::start(daemon, tmp.path(), 0, 3, |p| {
            format!(
                "@version: 3.38\n@include \"scl.conf\"\n\
                 source s_net {{ default-network-drivers(udp-port({raw}) tcp-port({raw}) rfc5424-tcp-port({rfc}) \
                   rfc5424-tls-port({tls}) tls(key-file(\"{dir}/key.pem\") cert-file(\"{dir}/cert.pem\"))); }};\n\
                 destination d_all {{ file(\"{dir}/all.log\" template(\"$SOURCE {FIELDS}\")); }};\n\
                 destination d_done {{ file(\"{dir}/done.log\"); }};\n\
                 log {{ source(s_net); filter {{ message(\"END-OF-INPUT\" type(string) flags(substring)); }}; destination(d_done); flags(final); }};\n\
                 log {{ source(s_net); destination(d_all); }};\n",
                raw = p.tcp[0],
                rfc = p.tcp[1],
                tls = p.tcp[2],
            )
        });
        let mut raw = String::new();
        for line in SYSLOG_INPUTS.iter().chain(RAW_INPUTS) {
            raw.push_str(line);
            raw.push('\n');
        }
        // What another syslog-ng's ewmm() destination sends: ewmm-parser() restores its tags.
        raw.push_str("<13>1 2026-01-01T00:00:00Z h1 @syslog-ng - - - {\"MESSAGE\":\"relayed\",\"._TAGS\":\"t1,\\\"t 2\\\"\",\"x\":\"1\"}\n");
        running.send_tcp(ports.tcp[0], raw.as_bytes());
        let rfc = "<165>1 2026-10-11T22:14:15.003Z host9 evntslog 77 ID47 [ex@32473 iut=\"3\"] framed message";
        running.send_tcp(ports.tcp[1], format!("{} {rfc}", rfc.len()).as_bytes());
        // After the others: the two connections are read side by side.
        std::thread::sleep(Duration::from_millis(300));
        running.send_tcp(ports.tcp[0], b"<13>Jan  1 00:00:00 h end: END-OF-INPUT\n");
        let done = tmp.path().join("done.log");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !fs::read_to_string(&done).is_ok_and(|t| t.contains("END-OF-INPUT")) {
            assert!(Instant::now() < deadline, "{}: no END-OF-INPUT: {}", daemon.name(), running.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(running.stop(), "{} did not stop", daemon.name());
        let text = mask_receive_times(&fs::read_to_string(tmp.path().join("all.log")).unwrap_or_default());
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        lines.join("\n")
    };
    let expected = run_one(Daemon::Oracle);
    let ours = run_one(Daemon::Rsng);
    for app in ["sudo", "cisco", "checkpoint"] {
        assert!(expected.contains(&format!("app={app} ")), "no {app}:\n{expected}");
    }
    assert!(expected.contains("framed message") && expected.starts_with("s_net "), "{expected}");
    assert!(expected.contains("msg=relayed") && expected.contains("t 2"), "{expected}");
    let differing: Vec<String> = ours
        .lines()
        .zip(expected.lines())
        .filter(|(a, b)| a != b)
        .take(3)
        .map(|(a, b)| format!("rsng:      {a}\nsyslog-ng: {b}"))
        .collect();
    assert!(ours == expected, "first differences:\n{}", differing.join("\n"));
}
