//! Reading `redis()`'s options into [`Settings`], with syslog-ng 3.38's defaults: `127.0.0.1`,
//! port 6379, no password, a connect timeout of 10 s, no batching, `retries(3)`,
//! `time-reopen(60)`.

use std::time::Duration;

use crate::options::Options;
use crate::DriverError;

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 6379;

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub auth: Option<String>,
    /// The command's name (the first word of `command()`).
    pub command: String,
    /// `timeout()`: how long connecting may take.
    pub timeout: Duration,
    pub workers: usize,
    /// 0: no batching (each command waits for its reply).
    pub batch_lines: usize,
    pub batch_timeout: Option<Duration>,
    pub retries: u32,
    pub time_reopen: Duration,
}

crate::typed_options! {
    /// What `redis()` reads, with syslog-ng 3.38's defaults.
    pub struct RedisOptions {
        driver {
            pub host: String = "host" or (DEFAULT_HOST.to_string());
            /// Checked when read: syslog-ng refuses a port out of range.
            pub port: i64 = "port";
            pub auth: String = "auth";
            /// The command's name and argument templates; a later `command()` replaces an
            /// earlier one.
            pub command: rsng_config::ir::Value = "command";
            /// Seconds connecting may take.
            pub timeout: i64 = "timeout" or (10);
            pub workers: usize = "workers" if (|&n| n > 0) or (1);
            /// `flush-lines()` is the older name of `batch-lines()`.
            pub batch_lines: usize = "batch-lines" if (|&n| n > 0);
            pub flush_lines: usize = "flush-lines" if (|&n| n > 0);
            pub batch_timeout: u64 = "batch-timeout" if (|&n| n > 0);
            pub retries: u32 = "retries" if (|&n| n > 0) or (3);
            /// Names the stats row instead of the host and port.
            pub persist_name: String = "persist-name";
            /// Whether the queue is a disk buffer (one worker then).
            pub disk_buffer: rsng_config::ir::Value = "disk-buffer";
        }
        inherited {
            /// Seconds to wait before trying again after an error.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

/// Reads the settings; the argument templates are compiled by the builder.
///
/// # Errors
/// No `command()`, or one without arguments (syslog-ng: "command option MUST be set"); a port
/// out of range.
pub fn read(opts: &Options<'_>) -> Result<(Settings, Vec<String>), DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let o = RedisOptions::read(opts);
    let mut words = Vec::new();
    if let Some(command) = &o.command {
        collect(command, &mut words);
    }
    let mut words = words.into_iter();
    let command = words.next().unwrap_or_default();
    let arguments: Vec<String> = words.collect();
    if arguments.is_empty() {
        return Err(err("Error initializing Redis destination, command option MUST be set".into()));
    }
    let port = match o.port {
        None => DEFAULT_PORT,
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| err(format!("invalid port() for redis(); port='{p}'")))?,
    };
    let settings = Settings {
        host: o.host,
        port,
        auth: o.auth,
        command,
        timeout: Duration::from_secs(o.timeout.max(0) as u64),
        workers: o.workers,
        batch_lines: o.batch_lines.or(o.flush_lines).unwrap_or(0),
        batch_timeout: o.batch_timeout.map(Duration::from_millis),
        retries: o.retries,
        time_reopen: Duration::from_secs(o.time_reopen),
    };
    Ok((settings, arguments))
}

fn collect(v: &rsng_config::ir::Value, out: &mut Vec<String>) {
    use rsng_config::ir::Value;
    match v {
        Value::List(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Str(s) | Value::Raw(s) => out.push(s.clone()),
        Value::Int(n) => out.push(n.to_string()),
        _ => {}
    }
}
