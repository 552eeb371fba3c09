//! The drivers of syslog-ng's `examples` module (Debian's `syslog-ng-mod-examples`), which test
//! set-ups use as a message source and a plain sink: `example-msg-generator()` and
//! `example-destination()`.

mod destination;
mod generator;

use rsng_core::template::{compile, FormatOptions};

use crate::options::{as_str, Options};
use crate::receive::Receiver;
use crate::{BuildContext, Destination, DriverError, Source};

pub use destination::ExampleDestination;
pub use generator::MsgGenerator;

/// `example-destination()` writes here when `filename()` is not given (as syslog-ng does).
pub const DEFAULT_FILENAME: &str = "/tmp/example-destination-output.txt";

/// syslog-ng's default `freq()`: one message a second.
const DEFAULT_FREQ_MS: u64 = 1000;

/// Builds `example-msg-generator()`: templates are compiled here, so a bad one stops start-up
/// with its location.
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let compile_at = |text: &str, option: &str| {
        compile(text, &ctx.compile)
            .map_err(|e| DriverError::new(format!("error compiling the {option} template `{text}`: {e}"), opts.span()))
    };
    let template = opts.str("template").map(|t| compile_at(t, "template()")).transpose()?;
    let mut values = Vec::new();
    if let Some(rsng_config::ir::Value::List(pairs)) = opts.get("values") {
        for pair in pairs {
            let rsng_config::ir::Value::List(kv) = pair else { continue };
            let (Some(name), Some(text)) = (kv.first().and_then(as_str), kv.get(1).and_then(as_str)) else { continue };
            values.push((name.to_string(), compile_at(text, "values()")?));
        }
    }
    // As syslog-ng: seconds to whole milliseconds.
    let freq_ms = match opts.get("freq") {
        Some(rsng_config::ir::Value::Float(f)) => (f * 1000.0) as u64,
        Some(rsng_config::ir::Value::Int(n)) => (*n).max(0) as u64 * 1000,
        _ => DEFAULT_FREQ_MS,
    };
    Ok(Box::new(MsgGenerator {
        // Not a local message (no LF_LOCAL in syslog-ng): writers take the sequence id from SDATA.
        receiver: Receiver::new(object, opts, Default::default(), false),
        freq: std::time::Duration::from_millis(freq_ms),
        num: opts.int("num").unwrap_or(0).max(0) as u64,
        template,
        values,
        format: FormatOptions::default(),
    }))
}

/// Builds `example-destination()`.
pub fn build_destination(opts: Options<'_>) -> Result<Box<dyn Destination>, DriverError> {
    let path = opts.str("filename").filter(|f| !f.is_empty()).unwrap_or(DEFAULT_FILENAME);
    let rate = opts.int("throttle").filter(|&n| n > 0).map_or(0, |n| n.min(i64::from(u32::MAX)) as u32);
    Ok(Box::new(ExampleDestination {
        path: path.into(),
        time_reopen: std::time::Duration::from_secs(
            opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64
        ),
        throttle: crate::file::Throttle::new(rate),
    }))
}

/// The per-driver counters syslog-ng keeps for it: `dst.example-destination;OBJECT#N;
/// example-destination,FILENAME`.
pub fn destination_stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let path = opts.str("filename").filter(|f| !f.is_empty()).unwrap_or(DEFAULT_FILENAME);
    ("dst.example-destination".into(), format!("{object}#{index}"), format!("example-destination,{path}"))
}
