//! The running pipeline against syslog-ng 3.38: the same configuration and the same input, sent
//! over TCP, UDP and unix sockets, must give byte-identical destination files and forwarded
//! streams.
//!
//! Each case is a configuration template with placeholders for its ports and paths (`@TCP0@`,
//! `@UDP0@`, `@OUT@`, `@FWD0@`, `@UNIX@`), inputs, and the outputs to compare. Both daemons run
//! side by side with their own ports and output directories; the test sends the inputs to both,
//! waits until syslog-ng's output settles and rsng's equals it (or a deadline passes), stops both
//! with SIGTERM and compares every output file. Forwarded streams go to listeners in the test
//! (`@FWD0@` is a TCP port whose bytes are saved as `fwd0`).
//!
//! Where arrival order across connections is not defined (TCP and UDP inputs of one case), lines
//! are compared sorted; within one connection the order must match too. syslog-ng's own PID (in
//! the messages it makes for unparsable input) is replaced by `<PID>` on both sides.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsng_tests::{oracle_skipped, Daemon, Ports, RunningDaemon, TempDir};

/// One input: where it goes and its bytes.
enum Input {
    /// One TCP connection to port `n` carrying these bytes.
    Tcp(usize, &'static [u8]),
    /// Datagrams to UDP port `n`.
    Udp(usize, &'static [&'static [u8]]),
    /// One connection to the unix stream socket `@UNIX@`.
    UnixStream(&'static [u8]),
    /// Datagrams to the unix datagram socket `@UNIXDGRAM@`.
    UnixDgram(&'static [&'static [u8]]),
}

struct Case {
    name: &'static str,
    tcp: usize,
    udp: usize,
    /// TCP collectors for forwarded streams (`@FWD0@`...).
    fwd: usize,
    /// UDP collectors for forwarded datagrams (`@FWDU0@`...; each datagram saved followed by
    /// an `<END>` line).
    fwd_udp: usize,
    config: &'static str,
    inputs: &'static [Input],
    /// Compare lines in order (one input connection per output) instead of sorted.
    ordered: bool,
}

const HEADER: &str = "@version: 3.38\noptions { use-dns(no); dns-cache(no); stats-freq(0); };\n";

/// Messages of many shapes: RFC 3164 variants, RFC 5424 with SDATA, broken ones.
const MIXED: &[u8] = b"<13>Jan  2 03:04:05 host1 prog[123]: a plain message\n\
<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n\
<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event\n\
<11>Feb 29 00:00:00 host2 noprio\n\
no priority at all\n\
<999>Jan  1 00:00:00 host3 prog: invalid pri\n\
<14>Jan 1 1:2:3 host4 single digits\n\
<30>Mar  3 10:00:00 host5 prog:no space after colon\n\
<12>Apr  4 12:00:00 host6 tabs\there\n\
<13>May  5 05:05:05 host7 prog[pid]: weird pid\n\
<13>Jun  6 06:06:06 host8 \xc3\xa9t\xc3\xa9 utf8 \xff invalid\n\
\n\
<13>Jul  7 07:07:07 host9 trailing CR\r\n\
<13>1 2024-02-03T04:05:06.123456+02:00 h5424 app 77 MID - msg with zone\n\
<13>1 2024-02-03T04:05:06Z h5424 app - - [a@1 x=\"1\"][b@2 y=\"\\\"q\\\"\"] two SD elements\n\
<13>1 - - - - - -\n\
<13>Aug  8 08:08:08 last line without newline";

const CASES: &[Case] = &[
    Case {
        name: "default_file_format",
        tcp: 1,
        udp: 1,
        fwd: 0,
        fwd_udp: 0,
        config: "source s { network(ip(127.0.0.1) port(@TCP0@)); network(ip(127.0.0.1) port(@UDP0@) transport(\"udp\")); };\n\
                 destination d { file(\"@OUT@/messages\"); };\n\
                 destination d_kept { file(\"@OUT@/kept\" template(\"$HOST|$HOST_FROM|$PROGRAM|$PID|$MSG|$FACILITY.$LEVEL|$TAGS|$SOURCE\\n\")); };\n\
                 log { source(s); destination(d); destination(d_kept); };",
        inputs: &[Input::Tcp(0, MIXED), Input::Udp(0, &[b"<13>Jan  2 03:04:05 udphost prog: over udp", b"<7>1 2020-01-01T00:00:00Z u5424 p - - - udp 5424"])],
        ordered: false,
    },
    Case {
        name: "keep_hostname_and_flags",
        tcp: 3,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "options { keep-hostname(yes); };\n\
                 source s_plain { network(ip(127.0.0.1) port(@TCP0@) flags(no-multi-line) tags(\"t1\", \"t2\")); };\n\
                 source s_noparse { network(ip(127.0.0.1) port(@TCP1@) flags(no-parse) program-override(\"over\")); };\n\
                 source s_proto { network(ip(127.0.0.1) port(@TCP2@) flags(syslog-protocol) host-override(\"forced\") default-facility(local3)); };\n\
                 destination d1 { file(\"@OUT@/plain\" template(\"$HOST $PROGRAM [$TAGS] $MSGHDR$MSG\\n\")); };\n\
                 destination d2 { file(\"@OUT@/noparse\"); };\n\
                 destination d3 { file(\"@OUT@/proto\" template(\"$PRI $HOST $PROGRAM $PID $MSGID $SDATA $MSG\\n\")); };\n\
                 log { source(s_plain); destination(d1); };\n\
                 log { source(s_noparse); destination(d2); };\n\
                 log { source(s_proto); destination(d3); };",
        inputs: &[Input::Tcp(0, MIXED), Input::Tcp(1, MIXED), Input::Tcp(2, MIXED)],
        ordered: true,
    },
    Case {
        name: "chain_hostnames",
        tcp: 1,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "options { chain-hostnames(yes); keep-hostname(no); };\n\
                 source s { network(ip(127.0.0.1) port(@TCP0@)); };\n\
                 destination d { file(\"@OUT@/chained\" template(\"$HOST $HOST_FROM $MSG\\n\")); };\n\
                 log { source(s); destination(d); };",
        inputs: &[Input::Tcp(0, MIXED)],
        ordered: true,
    },
    Case {
        name: "log_path_semantics",
        tcp: 2,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "source s1 { network(ip(127.0.0.1) port(@TCP0@)); };\n\
                 source s2 { network(ip(127.0.0.1) port(@TCP1@)); };\n\
                 filter f_err { level(err..emerg); };\n\
                 filter f_host1 { host(\"host1\"); };\n\
                 destination d_err { file(\"@OUT@/err\"); };\n\
                 destination d_final { file(\"@OUT@/final\"); };\n\
                 destination d_after { file(\"@OUT@/after_final\"); };\n\
                 destination d_fallback { file(\"@OUT@/fallback\"); };\n\
                 destination d_catchall { file(\"@OUT@/catchall\" template(\"$SOURCE $MSG\\n\")); };\n\
                 destination d_if { file(\"@OUT@/if\" template(\"$LEVEL $MSG\\n\")); };\n\
                 destination d_elif { file(\"@OUT@/elif\" template(\"$LEVEL $MSG\\n\")); };\n\
                 destination d_else { file(\"@OUT@/else\" template(\"$LEVEL $MSG\\n\")); };\n\
                 destination d_junction { file(\"@OUT@/junction\" template(\"$PROGRAM $MSG\\n\")); };\n\
                 destination d_nested { file(\"@OUT@/nested\" template(\"$HOST $MSG\\n\")); };\n\
                 log { source(s1); filter(f_err); destination(d_err); };\n\
                 log { source(s1); filter(f_host1); destination(d_final); flags(final); };\n\
                 log { source(s1); destination(d_after); };\n\
                 log { source(s1); destination(d_fallback); flags(fallback); };\n\
                 log { destination(d_catchall); flags(catchall); };\n\
                 log { source(s2); if (level(err..emerg)) { destination(d_if); } elif (facility(user)) { destination(d_elif); } else { destination(d_else); }; };\n\
                 log { source(s2); junction { channel { filter(f_err); }; channel { filter { program(\"prog\"); }; }; }; destination(d_junction); };\n\
                 log { source(s2); log { filter(f_host1); destination(d_nested); }; log { filter { host(\"host[0-9]\" type(glob)); }; destination(d_nested); flags(final); }; log { destination(d_nested); }; };",
        inputs: &[Input::Tcp(0, MIXED), Input::Tcp(1, MIXED)],
        ordered: false,
    },
    Case {
        name: "fallback_only_unmatched",
        tcp: 1,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "source s { network(ip(127.0.0.1) port(@TCP0@)); };\n\
                 destination d_a { file(\"@OUT@/a\"); };\n\
                 destination d_fb { file(\"@OUT@/fb\"); };\n\
                 log { source(s); filter { level(err..emerg); }; destination(d_a); };\n\
                 log { source(s); destination(d_fb); flags(fallback); };",
        inputs: &[Input::Tcp(0, MIXED)],
        ordered: true,
    },
    Case {
        name: "syslog_framing",
        tcp: 2,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "source s { syslog(ip(127.0.0.1) port(@TCP0@)); };\n\
                 source s_bad { syslog(ip(127.0.0.1) port(@TCP1@)); };\n\
                 destination d { file(\"@OUT@/framed\" template(\"$PRI|$HOST|$PROGRAM|$PID|$MSGID|$SDATA|$MSG\\n\")); };\n\
                 destination d_bad { file(\"@OUT@/bad\" template(\"$PROGRAM $MSG\\n\")); };\n\
                 log { source(s); destination(d); };\n\
                 log { source(s_bad); destination(d_bad); };",
        inputs: &[
            Input::Tcp(
                0,
                b"55 <165>1 2003-10-11T22:14:15.003Z host app - - - hello\n\
                  47 <13>1 2024-01-01T00:00:00Z h p 1 m [x@1 a=\"b\"] \
                  29 <13>Jan  2 03:04:05 h p: bsd34 <13>1 2024-01-01T00:00:00Z h - - - - ",
            ),
            Input::Tcp(1, b"21 <13>1 - h p - - - ok<13>1 - h p - - - not framed\n"),
        ],
        ordered: true,
    },
    Case {
        name: "forward_network_and_syslog",
        tcp: 1,
        udp: 0,
        fwd: 3,
        fwd_udp: 2,
        config: "options { keep-hostname(yes); };\n\
                 source s { network(ip(127.0.0.1) port(@TCP0@)); };\n\
                 destination d_net { network(\"127.0.0.1\" port(@FWD0@)); };\n\
                 destination d_syslog { syslog(\"127.0.0.1\" port(@FWD1@) transport(\"tcp\")); };\n\
                 destination d_tmpl { network(\"127.0.0.1\" port(@FWD2@) template(\"$ISODATE $HOST $MSG\\n\") frac-digits(3)); };\n\
                 destination d_udp { network(\"127.0.0.1\" port(@FWDU0@) transport(\"udp\")); };\n\
                 destination d_syslog_udp { syslog(\"127.0.0.1\" port(@FWDU1@) transport(\"udp\")); };\n\
                 log { source(s); destination(d_net); destination(d_syslog); destination(d_tmpl); destination(d_udp); destination(d_syslog_udp); };",
        inputs: &[Input::Tcp(0, MIXED)],
        ordered: true,
    },
    Case {
        name: "unix_sockets",
        tcp: 0,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "options { keep-hostname(yes); };\n\
                 source s { unix-stream(\"@UNIX@\"); unix-dgram(\"@UNIXDGRAM@\"); };\n\
                 destination d { file(\"@OUT@/local\" template(\"$HOST|$PROGRAM|$PID|$MSG|$FACILITY\\n\")); };\n\
                 log { source(s); destination(d); };",
        inputs: &[
            Input::UnixStream(b"<13>Jan  2 03:04:05 lhost prog[1]: over unix-stream\n<5>kernel-ish line\n"),
            Input::UnixDgram(&[b"<13>Jan  2 03:04:05 prog[2]: dgram without host", b"<13>Jan  2 03:04:05 dhost prog: dgram"]),
        ],
        ordered: false,
    },
    Case {
        name: "templates_and_named_templates",
        tcp: 1,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "options { keep-hostname(yes); ts-format(iso); frac-digits(2); };\n\
                 template t_named { template(\"$(if (level(err..emerg)) \\\"ERR\\\" \\\"ok\\\") $STAMP $(uppercase $PROGRAM) $(length $MSG)\\n\"); };\n\
                 template t_escaped { template(\"$MSG\\n\"); template-escape(yes); };\n\
                 template-function tf_who \"${HOST}/${PROGRAM:-none}\";\n\
                 source s { network(ip(127.0.0.1) port(@TCP0@)); };\n\
                 destination d1 { file(\"@OUT@/named\" template(t_named)); };\n\
                 destination d2 { file(\"@OUT@/escaped\" template(t_escaped)); };\n\
                 destination d3 { file(\"@OUT@/json\" template(\"$(format-json --scope rfc5424 --exclude DATE)\\n\")); };\n\
                 destination d4 { file(\"@OUT@/by_$(lowercase $HOST)_$FACILITY\" template(\"$(if (\\\"$PID\\\" != \\\"\\\") $PID none) $MSG\\n\")); };\n\
                 destination d5 { file(\"@OUT@/calls\" template(\"$(tf_who) $(template t_escaped)\")); };\n\
                 log { source(s); destination(d1); destination(d2); destination(d3); destination(d4); destination(d5); };",
        inputs: &[Input::Tcp(0, MIXED)],
        ordered: true,
    },
    Case {
        name: "time_zones_and_names",
        tcp: 2,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "options { use-dns(yes); dns-cache(yes); };\n\
                 source s_ny { network(ip(127.0.0.1) port(@TCP0@) time-zone(\"America/New_York\")); };\n\
                 source s_now { network(ip(127.0.0.1) port(@TCP1@) keep-timestamp(no) keep-hostname(yes)); };\n\
                 destination d_ny { file(\"@OUT@/ny\" template(\"$ISODATE $HOST $HOST_FROM $MSG\\n\") time-zone(\"Asia/Kolkata\") frac-digits(3)); };\n\
                 destination d_full { file(\"@OUT@/full\" ts-format(full)); };\n\
                 destination d_now { file(\"@OUT@/now\" template(\"$HOST $MSG\\n\")); };\n\
                 log { source(s_ny); destination(d_ny); destination(d_full); };\n\
                 log { source(s_now); destination(d_now); };",
        inputs: &[Input::Tcp(0, MIXED), Input::Tcp(1, MIXED)],
        ordered: true,
    },
    Case {
        name: "parsers_and_rewrites",
        tcp: 1,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "options { keep-hostname(yes); };\n\
                 source s { network(ip(127.0.0.1) port(@TCP0@) flags(no-parse)); };\n\
                 parser p_kv { kv-parser(prefix(\"kv.\")); };\n\
                 parser p_json { json-parser(prefix(\"j.\")); };\n\
                 parser p_csv { csv-parser(columns(\"c1\", \"c2\", \"c3\") delimiters(\",\")); };\n\
                 rewrite r_mark { set(\"seen\" value(\"state\")); set-tag(\"marked\"); };\n\
                 rewrite r_subst { subst(\"[0-9]+\" \"N\" value(\"MESSAGE\") flags(global)); };\n\
                 rewrite r_err { set(\"error-branch\" value(\"branch\") condition(match(\"error\" value(\"MESSAGE\")))); };\n\
                 destination d_kv { file(\"@OUT@/kv\" template(\"$(format-json --scope nv-pairs --key kv.*)\\n\")); };\n\
                 destination d_json { file(\"@OUT@/json\" template(\"${j.a} ${j.b.c} ${j.list} $(format-json --key j.*)\\n\")); };\n\
                 destination d_csv { file(\"@OUT@/csv\" template(\"[$c1][$c2][$c3]\\n\")); };\n\
                 destination d_after_if { file(\"@OUT@/after_if\" template(\"${state:-none} ${branch:-none} $TAGS $MSG\\n\")); };\n\
                 log { source(s); parser(p_kv); destination(d_kv); };\n\
                 log { source(s); parser(p_json); destination(d_json); };\n\
                 log { source(s); parser(p_csv); destination(d_csv); };\n\
                 log { source(s); if (match(\"a\" value(\"MESSAGE\"))) { rewrite(r_mark); rewrite(r_subst); }; rewrite(r_err); destination(d_after_if); };",
        inputs: &[Input::Tcp(
            0,
            b"key=value other=\"quoted value\" n=42\n\
              {\"a\": 1, \"b\": {\"c\": \"deep\"}, \"list\": [1, 2, \"x\"], \"t\": true, \"z\": null}\n\
              one,two,three\n\
              one,\"two, quoted\",three,four\n\
              an error happened 123 times in 456 places\n\
              broken {json\n\
              \n\
              plain text without pairs\n",
        )],
        ordered: true,
    },
    Case {
        name: "message_size_limit",
        tcp: 1,
        udp: 0,
        fwd: 0,
        fwd_udp: 0,
        config: "source s { network(ip(127.0.0.1) port(@TCP0@) log-msg-size(64)); };\n\
                 destination d { file(\"@OUT@/cut\" template(\"[$MSG]\\n\")); };\n\
                 log { source(s); destination(d); };",
        inputs: &[Input::Tcp(
            0,
            b"<13>Jan  2 03:04:05 h p: short\n<13>Jan  2 03:04:05 h p: this message is certainly longer than sixty-four bytes in total, so it is cut\n<13>Jan  2 03:04:05 h p: after\n<13>Jan  2 03:04:05 h p: nul\x00<13>Jan  2 03:04:05 h p: after nul\r\n",
        )],
        ordered: true,
    },
];

/// A TCP listener that saves everything it receives to `path`.
struct Collector {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn start(path: PathBuf) -> Collector {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind collector");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut streams = Vec::new();
            let mut data = Vec::new();
            let mut buf = [0u8; 65536];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((s, _)) = listener.accept() {
                    s.set_nonblocking(true).expect("nonblocking");
                    streams.push(s);
                }
                let mut got = false;
                for s in &mut streams {
                    if let Ok(n) = s.read(&mut buf) {
                        if n > 0 {
                            data.extend_from_slice(&buf[..n]);
                            got = true;
                        }
                    }
                }
                if got {
                    fs::write(&path, &data).expect("save collected");
                } else {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            fs::write(&path, &data).expect("save collected");
        });
        Collector { port, stop, thread: Some(thread) }
    }

    fn start_udp(path: PathBuf) -> Collector {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp collector");
        let port = socket.local_addr().expect("addr").port();
        socket.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut data = Vec::new();
            let mut buf = [0u8; 65536];
            while !flag.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    data.extend_from_slice(&buf[..n]);
                    data.extend_from_slice(b"<END>\n");
                    fs::write(&path, &data).expect("save collected");
                }
            }
            fs::write(&path, &data).expect("save collected");
        });
        Collector { port, stop, thread: Some(thread) }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn render(case: &Case, ports: &Ports, out: &Path, fwd: &[u16], fwd_udp: &[u16]) -> String {
    let mut text = format!("{HEADER}{}\n", case.config);
    for (i, p) in ports.tcp.iter().enumerate() {
        text = text.replace(&format!("@TCP{i}@"), &p.to_string());
    }
    for (i, p) in ports.udp.iter().enumerate() {
        text = text.replace(&format!("@UDP{i}@"), &p.to_string());
    }
    for (i, p) in fwd.iter().enumerate() {
        text = text.replace(&format!("@FWD{i}@"), &p.to_string());
    }
    for (i, p) in fwd_udp.iter().enumerate() {
        text = text.replace(&format!("@FWDU{i}@"), &p.to_string());
    }
    text.replace("@UNIXDGRAM@", &out.join("dgram.sock").display().to_string())
        .replace("@UNIX@", &out.join("stream.sock").display().to_string())
        .replace("@OUT@", &out.display().to_string())
}

/// Every regular output file of a directory, by name (sockets skipped).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut map = BTreeMap::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_file() {
                let name = path.file_name().expect("name").to_string_lossy().into_owned();
                map.insert(name, fs::read(&path).unwrap_or_default());
            }
        }
    }
    map
}

fn normalize(data: &[u8], pid: &str, ordered: bool) -> Vec<String> {
    let text =
        String::from_utf8_lossy(data).replace(&format!("[{pid}]"), "[<PID>]").replace(&format!(" {pid} "), " <PID> ");
    let text = rsng_tests::mask_receive_times(&text);
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    if !ordered {
        lines.sort();
    }
    lines
}

struct Side {
    daemon: RunningDaemon,
    ports: Ports,
    out: PathBuf,
    collectors: Vec<Collector>,
}

fn start_side(daemon: Daemon, case: &Case, dir: &Path) -> Side {
    let out = dir.join(daemon.name());
    fs::create_dir_all(&out).expect("out dir");
    let mut collectors: Vec<Collector> = (0..case.fwd).map(|i| Collector::start(out.join(format!("fwd{i}")))).collect();
    let fwd_ports: Vec<u16> = collectors.iter().map(|c| c.port).collect();
    let udp_collectors: Vec<Collector> =
        (0..case.fwd_udp).map(|i| Collector::start_udp(out.join(format!("fwdu{i}")))).collect();
    let udp_ports: Vec<u16> = udp_collectors.iter().map(|c| c.port).collect();
    collectors.extend(udp_collectors);
    let (running, ports, _) = RunningDaemon::start(daemon, dir, case.udp, case.tcp, |ports| {
        render(case, ports, &out, &fwd_ports, &udp_ports)
    });
    if case.tcp + case.udp == 0 {
        // Unix sockets only: wait for them to appear.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(out.join("stream.sock").exists() || out.join("dgram.sock").exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Side { daemon: running, ports, out, collectors }
}

fn send_inputs(side: &Side, case: &Case) {
    for input in case.inputs {
        match input {
            Input::Tcp(i, data) => side.daemon.send_tcp(side.ports.tcp[*i], data),
            Input::Udp(i, msgs) => side.daemon.send_udp(&[side.ports.udp[*i]], msgs),
            Input::UnixStream(data) => {
                use std::io::Write as _;
                let mut s =
                    std::os::unix::net::UnixStream::connect(side.out.join("stream.sock")).expect("connect unix");
                s.write_all(data).expect("write unix");
            }
            Input::UnixDgram(msgs) => {
                let s = std::os::unix::net::UnixDatagram::unbound().expect("dgram");
                for m in *msgs {
                    s.send_to(m, side.out.join("dgram.sock")).expect("send dgram");
                }
            }
        }
    }
}

fn run_case(case: &Case) -> Result<usize, String> {
    let tmp = TempDir::new(&format!("pipeline-{}", case.name)).expect("tempdir");
    let oracle = start_side(Daemon::Oracle, case, tmp.path());
    let rsng = start_side(Daemon::Rsng, case, tmp.path());
    send_inputs(&oracle, case);
    send_inputs(&rsng, case);
    // Wait until syslog-ng's output has been still for a while and rsng's equals it.
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut last = outputs(&oracle.out);
    let mut still_since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = outputs(&oracle.out);
        if now != last {
            last = now;
            still_since = Instant::now();
            continue;
        }
        if still_since.elapsed() > Duration::from_millis(600) && outputs(&rsng.out) == last {
            break;
        }
    }
    let oracle_pid = oracle.daemon.pid();
    let rsng_pid = rsng.daemon.pid();
    let rsng_stderr = rsng.daemon.stderr();
    let rsng_stopped = rsng.daemon.stop();
    oracle.daemon.stop();
    oracle.collectors.into_iter().for_each(Collector::finish);
    rsng.collectors.into_iter().for_each(Collector::finish);
    if !rsng_stopped {
        return Err(format!("{}: rsng did not stop on SIGTERM", case.name));
    }
    let theirs = outputs(&oracle.out);
    let ours = outputs(&rsng.out);
    if theirs.is_empty() {
        return Err(format!("{}: syslog-ng wrote nothing (test broken?)", case.name));
    }
    let collected = (0..case.fwd).map(|i| format!("fwd{i}")).chain((0..case.fwd_udp).map(|i| format!("fwdu{i}")));
    for name in collected {
        if theirs.get(&name).is_none_or(|d| d.is_empty()) {
            return Err(format!("{}: syslog-ng forwarded nothing to {name} (test broken?)", case.name));
        }
    }
    let mut problems = Vec::new();
    let mut compared = 0;
    for (name, data) in &theirs {
        let expected = normalize(data, &oracle_pid, case.ordered);
        let got = ours.get(name).map(|d| normalize(d, &rsng_pid, case.ordered));
        compared += expected.len();
        match got {
            None => problems.push(format!("  {name}: missing in rsng's output")),
            Some(got) if got != expected => {
                let mut diff = String::new();
                for i in 0..expected.len().max(got.len()) {
                    let (e, g) = (expected.get(i), got.get(i));
                    if e != g {
                        diff.push_str(&format!("    line {i}:\n      syslog-ng: {e:?}\n      rsng:      {g:?}\n"));
                    }
                }
                problems.push(format!("  {name}: differs\n{diff}"));
            }
            _ => {}
        }
    }
    for name in ours.keys().filter(|n| !theirs.contains_key(*n)) {
        problems.push(format!("  {name}: written by rsng only"));
    }
    if problems.is_empty() {
        Ok(compared)
    } else {
        Err(format!("{}:\n{}\n  rsng stderr: {}", case.name, problems.join("\n"), rsng_stderr))
    }
}

#[test]
fn pipeline_matches_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let results = rsng_tests::parallel_map(CASES, 2, run_case);
    let mut failures = Vec::new();
    let mut lines = 0;
    for r in results {
        match r {
            Ok(n) => lines += n,
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "pipeline: {} cases, {} of them identical, {lines} output lines compared",
        CASES.len(),
        CASES.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
