//! Cost per message of rsng-core's hot paths: building a [`LogMessage`] from a parse, evaluating
//! templates (the file destination's default line, a custom one, `$(format-json)`) and filters.
//! Each iteration works on a batch of different messages (half RFC 3164, half RFC 5424 with
//! structured data) and reports throughput in messages, so criterion's "thrpt" is messages per
//! second.
//!
//! Run with `cargo bench -p rsng-core`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rsng_config::filter_compile::{compile_filter_text, FilterMap};
use rsng_core::filter::{Filter, FilterScratch};
use rsng_core::message::ReceiveInfo;
use rsng_core::template::{compile, CompileContext, FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions, ParsedMessage};

#[path = "../../rsng-proto/benches/samples/mod.rs"]
mod samples;

/// Messages per iteration.
const BATCH: usize = 64;

/// The batch's messages as one read would hold them: a shared chunk and each message's range.
struct Inputs {
    chunk: Arc<[u8]>,
    ranges: Vec<std::ops::Range<usize>>,
    info: ReceiveInfo,
    options: ParseOptions,
}

impl Inputs {
    fn new() -> Inputs {
        let mut bytes = Vec::new();
        let mut ranges = Vec::new();
        for i in 0..BATCH {
            let msg = if i % 2 == 0 { samples::rfc3164(i) } else { samples::rfc5424(i) };
            ranges.push(bytes.len()..bytes.len() + msg.len());
            bytes.extend_from_slice(&msg);
        }
        // `syslog-protocol` reads RFC 5424 and falls back to RFC 3164 for the other half.
        let options = ParseOptions::with_flags(ParseFlags { syslog_protocol: true, ..ParseFlags::default() });
        let info = ReceiveInfo::new("s_net", "10.1.2.3", "10.1.2.3".parse().ok(), jiff::tz::TimeZone::UTC);
        Inputs { chunk: Arc::from(bytes), ranges, info, options }
    }

    fn parsed(&self) -> Vec<ParsedMessage<'_>> {
        self.ranges.iter().map(|r| parse(&self.chunk[r.clone()], &self.options).expect("parses")).collect()
    }

    fn messages(&self) -> Vec<LogMessage> {
        self.parsed().iter().map(|p| LogMessage::from_parsed(self.chunk.clone(), p, &self.info)).collect()
    }
}

fn message(c: &mut Criterion) {
    let inputs = Inputs::new();
    let parsed = inputs.parsed();
    let mut group = c.benchmark_group("message");
    group.throughput(Throughput::Elements(BATCH as u64));
    // As the receive path does: every message keeps a reference to the read's shared chunk.
    group.bench_function("from_parsed", |b| {
        b.iter(|| {
            for p in &parsed {
                black_box(LogMessage::from_parsed(inputs.chunk.clone(), black_box(p), &inputs.info));
            }
        })
    });
    group.finish();
}

fn template(text: &str) -> Template {
    compile(text, &CompileContext::new()).unwrap_or_else(|e| panic!("{text:?} does not compile: {e}"))
}

fn templates(c: &mut Criterion) {
    let inputs = Inputs::new();
    let messages = inputs.messages();
    let opts = FormatOptions::default();
    // Each case with a piece of its expected output for the batch's first RFC 5424 message.
    let cases = [
        // What a file() destination writes without template() (syslog-ng's legacy file format).
        (
            "default_file",
            "${STAMP} ${HOST} ${MSGHDR}${MESSAGE}\n",
            "app-01.example.net billing[3001]: order 900001 charged",
        ),
        (
            "custom",
            "$ISODATE $HOST $(lowercase $PROGRAM)[${PID:-0}] $FACILITY.$LEVEL ${.SDATA.meta.sequenceId:--} $MSG\n",
            " billing[3001] local0.alert 1 order 900001 charged",
        ),
        ("format_json_sdata", "$(format-json --scope rfc5424 --key .SDATA.*)\n", r#""eventID":"1001""#),
    ];
    let mut group = c.benchmark_group("template");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, text, expected) in cases {
        let t = template(text);
        // One output buffer reused for every message, as a destination's writer does.
        let mut out = Vec::with_capacity(4096);
        t.format(&messages[1], &opts, &mut out).expect("formats");
        let shown = String::from_utf8_lossy(&out);
        assert!(shown.contains(expected), "{name}: {shown:?} lacks {expected:?}");
        group.bench_function(name, |b| {
            b.iter(|| {
                for m in &messages {
                    out.clear();
                    t.format(black_box(m), &opts, &mut out).expect("formats");
                    black_box(&out);
                }
            })
        });
    }
    group.finish();
}

fn filter(text: &str) -> Filter {
    let config = rsng_config::ir::Config::default();
    compile_filter_text(&config, text, &FilterMap::new()).unwrap_or_else(|e| panic!("{text:?} does not compile: {e}"))
}

fn filters(c: &mut Criterion) {
    let inputs = Inputs::new();
    let messages = inputs.messages();
    let cases = [
        ("facility_level", "facility(auth, authpriv) and level(info..emerg)"),
        ("match_regexp", r#"match("publickey for [a-z]+ from 10\\.20\\." value("MESSAGE"))"#),
        ("program", r#"program("^sshd$")"#),
        (
            "boolean",
            r#"(facility(local0) or program("billing")) and not level(debug) and message("charged to account")"#,
        ),
    ];
    let mut group = c.benchmark_group("filter");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, text) in cases {
        let f = filter(text);
        let mut scratch = FilterScratch::new();
        // Each filter must accept some and refuse some of the batch, or it measures nothing real.
        let accepted = messages.iter().filter(|m| f.eval(m, &mut scratch)).count();
        assert!(accepted > 0 && accepted < BATCH, "{name}: {accepted} of {BATCH} accepted");
        group.bench_function(name, |b| {
            b.iter(|| {
                for m in &messages {
                    black_box(f.eval(black_box(m), &mut scratch));
                }
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the numbers are indicative, and the whole suite should take a few minutes.
    Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = message, templates, filters
}
criterion_main!(benches);
