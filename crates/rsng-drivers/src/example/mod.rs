//! The drivers of syslog-ng's `examples` module (Debian's `syslog-ng-mod-examples`), which test
//! set-ups use as a message source and a plain sink: `example-msg-generator()` and
//! `example-destination()`.

mod destination;
mod generator;

use rsng_config::ir::Value;
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

crate::typed_options! {
    /// What `example-msg-generator()` reads besides [`crate::receive::ReaderOptions`].
    pub struct GeneratorOptions {
        driver {
            /// The message's text; `-- Generated message. --` when not given.
            pub template: String = "template";
            /// `NAME => TEMPLATE` pairs set on each message.
            pub values: Value = "values";
            /// Seconds between messages, fractions allowed.
            pub freq: Value = "freq";
            /// Messages to make; 0: no limit.
            pub num: i64 = "num" or (0);
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// What `example-destination()` reads.
    pub struct ExampleDestinationOptions {
        driver {
            pub filename: String = "filename" if (|f: &String| !f.is_empty()) or (DEFAULT_FILENAME.to_string());
            /// Messages a second at most; 0: no limit.
            pub throttle: i64 = "throttle" if (|&n| n > 0) or (0);
        }
        inherited {
            /// Seconds before opening the file again after an error.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

/// Builds `example-msg-generator()`: templates are compiled here, so a bad one stops start-up
/// with its location.
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let compile_at = |text: &str, option: &str| {
        compile(text, &ctx.compile)
            .map_err(|e| DriverError::new(format!("error compiling the {option} template `{text}`: {e}"), opts.span()))
    };
    let o = GeneratorOptions::read(&opts);
    let template = o.template.as_deref().map(|t| compile_at(t, "template()")).transpose()?;
    let mut values = Vec::new();
    if let Some(Value::List(pairs)) = &o.values {
        for pair in pairs {
            let Value::List(kv) = pair else { continue };
            let (Some(name), Some(text)) = (kv.first().and_then(as_str), kv.get(1).and_then(as_str)) else { continue };
            values.push((name.to_string(), compile_at(text, "values()")?));
        }
    }
    // As syslog-ng: seconds to whole milliseconds.
    let freq_ms = match o.freq {
        Some(Value::Float(f)) => (f * 1000.0) as u64,
        Some(Value::Int(n)) => n.max(0) as u64 * 1000,
        _ => DEFAULT_FREQ_MS,
    };
    Ok(Box::new(MsgGenerator {
        // Not a local message (no LF_LOCAL in syslog-ng): writers take the sequence id from SDATA.
        receiver: Receiver::new(object, opts, Default::default(), false),
        freq: std::time::Duration::from_millis(freq_ms),
        num: o.num.max(0) as u64,
        template,
        values,
        format: FormatOptions::default(),
    }))
}

/// Builds `example-destination()`.
pub fn build_destination(opts: Options<'_>) -> Result<Box<dyn Destination>, DriverError> {
    let o = ExampleDestinationOptions::read(&opts);
    Ok(Box::new(ExampleDestination {
        path: o.filename.into(),
        time_reopen: std::time::Duration::from_secs(o.time_reopen),
        throttle: crate::file::Throttle::new(o.throttle.min(i64::from(u32::MAX)) as u32),
    }))
}

/// The per-driver counters syslog-ng keeps for it: `dst.example-destination;OBJECT#N;
/// example-destination,FILENAME`.
pub fn destination_stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let path = ExampleDestinationOptions::read(&opts).filename;
    ("dst.example-destination".into(), format!("{object}#{index}"), format!("example-destination,{path}"))
}
