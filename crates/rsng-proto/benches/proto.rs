//! Cost per message of rsng-proto's hot paths: cutting a 64 KiB read into
//! messages (newline and octet-counted framing) and parsing RFC 3164 and
//! RFC 5424 messages. Every bench reports throughput in messages, so
//! criterion's "thrpt" is messages per second.
//!
//! Run with `cargo bench -p rsng-proto`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rsng_proto::framing::{Decoded, OctetCountedSplitter, TextSplitter};
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions};
use samples::{rfc3164, rfc5424};

mod samples;

/// One read of a stream source (syslog-ng's default `log-iw-size`-sized reads are of this order).
const READ_SIZE: usize = 64 * 1024;
/// Messages parsed per iteration: enough variety that branch prediction does not learn one message.
const PARSE_BATCH: usize = 64;

/// A 64 KiB read holding whole newline-terminated messages, and their number.
fn newline_read() -> (Vec<u8>, usize) {
    let mut buf = Vec::with_capacity(READ_SIZE);
    let mut n = 0;
    loop {
        let msg = rfc3164(n);
        if buf.len() + msg.len() + 1 > READ_SIZE {
            return (buf, n);
        }
        buf.extend_from_slice(&msg);
        buf.push(b'\n');
        n += 1;
    }
}

/// A 64 KiB read holding whole RFC 6587 octet-counted frames, and their number.
fn octet_counted_read() -> (Vec<u8>, usize) {
    let mut buf = Vec::with_capacity(READ_SIZE);
    let mut n = 0;
    loop {
        let msg = rfc5424(n);
        let header = format!("{} ", msg.len());
        if buf.len() + header.len() + msg.len() > READ_SIZE {
            return (buf, n);
        }
        buf.extend_from_slice(header.as_bytes());
        buf.extend_from_slice(&msg);
        n += 1;
    }
}

/// Splits `buf` the way a stream reader does: decode, drop `consumed` bytes, repeat until the
/// splitter needs more. Returns the number of messages (checked against the expected count).
fn split_all(buf: &[u8], mut decode: impl FnMut(&[u8]) -> Decoded<'_>) -> usize {
    let mut pos = 0;
    let mut count = 0;
    loop {
        match decode(&buf[pos..]) {
            Decoded::Frame { message, consumed } => {
                black_box(message);
                pos += consumed;
                count += 1;
            }
            Decoded::Skip { consumed } => pos += consumed,
            Decoded::NeedMore => return count,
        }
    }
}

fn framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("framing");
    let (text, n_text) = newline_read();
    group.throughput(Throughput::Elements(n_text as u64));
    group.bench_function("newline_64k", |b| {
        b.iter_batched(
            || TextSplitter::new(65536),
            |mut s| {
                let n = split_all(black_box(&text), |rest| s.decode(rest, false).expect("valid framing"));
                assert_eq!(n, n_text);
            },
            BatchSize::SmallInput,
        )
    });
    let (framed, n_framed) = octet_counted_read();
    group.throughput(Throughput::Elements(n_framed as u64));
    group.bench_function("octet_counted_64k", |b| {
        b.iter_batched(
            || OctetCountedSplitter::new(65536, false),
            |mut s| {
                let n = split_all(black_box(&framed), |rest| s.decode(rest, false).expect("valid framing"));
                assert_eq!(n, n_framed);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(PARSE_BATCH as u64));

    let bsd: Vec<Vec<u8>> = (0..PARSE_BATCH).map(rfc3164).collect();
    let bsd_opts = ParseOptions::default();
    group.bench_function("rfc3164", |b| {
        b.iter(|| {
            for m in &bsd {
                black_box(parse(black_box(m), &bsd_opts).expect("parses"));
            }
        })
    });

    let ietf: Vec<Vec<u8>> = (0..PARSE_BATCH).map(rfc5424).collect();
    let ietf_opts = ParseOptions::with_flags(ParseFlags { syslog_protocol: true, ..ParseFlags::default() });
    group.bench_function("rfc5424", |b| {
        b.iter(|| {
            for m in &ietf {
                black_box(parse(black_box(m), &ietf_opts).expect("parses"));
            }
        })
    });
    // Parsing and then reading every structured-data parameter, as building a message does.
    group.bench_function("rfc5424_sd_params", |b| {
        b.iter(|| {
            for m in &ietf {
                let parsed = parse(black_box(m), &ietf_opts).expect("parses");
                for element in parsed.sd_elements() {
                    for param in element.params() {
                        black_box((element.id, param.name, param.value()));
                    }
                }
            }
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the numbers are indicative, and the whole suite should take a few minutes.
    Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = framing, parsing
}
criterion_main!(benches);
