//! Supervision: a parser or filter step or a listener that panics is reported with its driver and
//! configuration location, the listener is bound again, and later messages are delivered.
//!
//! The pipeline runs in this process, so that the faults can be injected: `rsng_drivers::fault`
//! points are armed only by Rust callers (the rsng binary never arms them). Messages go through
//! real TCP connections into real files.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rsng_drivers::fault::{arm, arm_in, Point};
use rsng_tests::TempDir;

/// Fault points are process-wide: one test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Pipeline {
    runtime: tokio::runtime::Runtime,
    running: Option<rsng_runtime::Running>,
    port: u16,
}

impl Pipeline {
    fn start(dir: &Path) -> Pipeline {
        let port = rsng_tests::free_tcp_ports(1)[0];
        let text = format!(
            "@version: 3.38\noptions {{ use-dns(no); }};\n\
             source s {{ network(ip(127.0.0.1) port({port})); }};\n\
             source s_int {{ internal(); }};\n\
             parser p {{ kv-parser(); }};\n\
             filter f {{ not message(\"never-sent\"); }};\n\
             destination d {{ file(\"{dir}/out.log\" template(\"$MSG\\n\")); }};\n\
             destination d_int {{ file(\"{dir}/internal.log\" template(\"$MSG\\n\")); }};\n\
             log {{ source(s); filter(f); parser(p); destination(d); }};\n\
             log {{ source(s_int); destination(d_int); }};\n",
            dir = dir.display()
        );
        let loaded = rsng_config::load_text("supervision.conf", &text, &Default::default()).expect("config");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
        let running = runtime
            .block_on(async { rsng_runtime::start(&loaded.config, &rsng_runtime::StartOptions::default()) })
            .expect("start");
        Pipeline { runtime, running: Some(running), port }
    }

    fn restarts(&self) -> u64 {
        let running = self.running.as_ref().expect("running");
        let rows = running.stats();
        let row = rows.iter().find(|r| r.component == "src.network" && r.id == "s#0" && r.kind == "restarts");
        row.map_or(0, |r| r.value)
    }

    fn stop(mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop(Duration::from_secs(3)));
        }
    }
}

/// Sends `lines` over a new connection; `false` if it could not connect or write.
fn send(port: u16, lines: &[&str]) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let data: String = lines.iter().map(|l| format!("<13>Jan  2 03:04:05 h p: {l}\n")).collect();
    s.write_all(data.as_bytes()).is_ok()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn wait_until(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn a_failing_parser_step_drops_one_message_and_goes_on() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("supervise-step").expect("tempdir");
    let p = Pipeline::start(tmp.path());
    let out = tmp.path().join("out.log");
    arm(Point::Step, 1);
    assert!(send(p.port, &["a=0", "a=1", "a=2"]));
    assert!(wait_until(20, || read(&out).lines().count() >= 2), "messages after the failure: {}", read(&out));
    assert!(send(p.port, &["a=3"]));
    assert!(wait_until(20, || read(&out).contains("a=3")), "later message: {}", read(&out));
    let internal = tmp.path().join("internal.log");
    assert!(wait_until(20, || read(&internal).contains("A log path step failed")), "no report: {}", read(&internal));
    let report = read(&internal);
    let line = report.lines().find(|l| l.contains("A log path step failed")).expect("report");
    assert!(line.contains("step='parser p'") && line.contains("location='supervision.conf:5:"), "{line}");
    p.stop();
    assert_eq!(read(&out), "a=1\na=2\na=3\n", "only the message the step failed on is missing");
}

#[test]
fn a_failing_filter_drops_one_message_and_goes_on() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("supervise-filter").expect("tempdir");
    let p = Pipeline::start(tmp.path());
    let out = tmp.path().join("out.log");
    arm(Point::Filter, 1);
    assert!(send(p.port, &["a=0", "a=1", "a=2"]));
    assert!(wait_until(20, || read(&out).lines().count() >= 2), "messages after the failure: {}", read(&out));
    assert!(send(p.port, &["a=3"]));
    assert!(wait_until(20, || read(&out).contains("a=3")), "later message: {}", read(&out));
    let internal = tmp.path().join("internal.log");
    assert!(wait_until(20, || read(&internal).contains("A log path step failed")), "no report: {}", read(&internal));
    let report = read(&internal);
    let line = report.lines().find(|l| l.contains("A log path step failed")).expect("report");
    assert!(line.contains("step='filter f'") && line.contains("location='supervision.conf:9:18'"), "{line}");
    assert!(line.contains("injected fault") && line.contains("failures='1'"), "{line}");
    p.stop();
    assert_eq!(read(&out), "a=1\na=2\na=3\n", "only the message the filter failed on is missing");
}

#[test]
fn a_failing_listener_is_bound_again() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("supervise-listener").expect("tempdir");
    let p = Pipeline::start(tmp.path());
    let out = tmp.path().join("out.log");
    arm(Point::Listener, 1);
    // The listener fails on this connection (its message is never read).
    let _ = send(p.port, &["lost=1"]);
    // Until the listener is back, connections are refused.
    let mut attempt = 0;
    let back = wait_until(20, || {
        attempt += 1;
        send(p.port, &[&format!("try={attempt}")]) && read(&out).contains("try=")
    });
    assert!(back, "the listener did not come back: {}", read(&out));
    assert!(send(p.port, &["later=1"]));
    assert!(wait_until(20, || read(&out).contains("later=1")), "later message: {}", read(&out));
    assert_eq!(p.restarts(), 1, "restarts counted");
    let internal = tmp.path().join("internal.log");
    assert!(wait_until(20, || read(&internal).contains("A source failed and is restarted")), "{}", read(&internal));
    let report = read(&internal);
    let line = report.lines().find(|l| l.contains("A source failed")).expect("report");
    assert!(
        line.contains("source='s'")
            && line.contains("driver='network'")
            && line.contains("location='supervision.conf:3:"),
        "{line}"
    );
    p.stop();
}

#[test]
fn a_failing_writer_is_started_again_and_counts_what_it_lost() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("supervise-writer").expect("tempdir");
    let p = Pipeline::start(tmp.path());
    let out = tmp.path().join("out.log");
    // Only d's writer: the internal() destination writes at the same time.
    arm_in(Point::Writer, 1, "d#file");
    assert!(send(p.port, &["first=1"]));
    let internal = tmp.path().join("internal.log");
    assert!(
        wait_until(20, || read(&internal).contains("A destination failed and is restarted")),
        "no report: {}",
        read(&internal)
    );
    assert!(send(p.port, &["later=1"]));
    assert!(wait_until(20, || read(&out).contains("later=1")), "later message: {}", read(&out));
    let running = p.running.as_ref().expect("running");
    let rows = running.stats();
    let get = |component: &str, kind: &str| {
        rows.iter().find(|r| r.component == component && r.id == "d#0" && r.kind == kind).map_or(0, |r| r.value)
    };
    assert_eq!(get("dst.file", "restarts"), 1);
    let report = read(&internal);
    assert!(report.contains("location='supervision.conf:7:"), "{report}");
    // The batch the failed writer held is counted, not silently gone.
    let lost = report.contains("Messages the failed writer held are lost; destination='d#file', count='1'");
    assert!(lost && !read(&out).contains("first=1"), "{report}");
    p.stop();
}
