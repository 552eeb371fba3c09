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

/// Reads the settings; the argument templates are compiled by the builder.
///
/// # Errors
/// No `command()`, or one without arguments (syslog-ng: "command option MUST be set"); a port
/// out of range.
pub fn read(opts: &Options<'_>) -> Result<(Settings, Vec<String>), DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    opts.driver.note("command");
    // A later command() replaces an earlier one.
    let mut words = Vec::new();
    if let Some(last) = opts.driver.options.iter().rev().find(|o| o.name == "command") {
        collect(&last.value, &mut words);
    }
    let mut words = words.into_iter();
    let command = words.next().unwrap_or_default();
    let arguments: Vec<String> = words.collect();
    if arguments.is_empty() {
        return Err(err("Error initializing Redis destination, command option MUST be set".into()));
    }
    let port = match opts.int("port") {
        None => DEFAULT_PORT,
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| err(format!("invalid port() for redis(); port='{p}'")))?,
    };
    let batch_lines = opts.int("batch-lines").or_else(|| opts.int("flush-lines")).filter(|&n| n > 0);
    let settings = Settings {
        host: opts.str("host").unwrap_or(DEFAULT_HOST).to_string(),
        port,
        auth: opts.str("auth").map(String::from),
        command,
        timeout: Duration::from_secs(opts.int("timeout").map_or(10, |n| n.max(0) as u64)),
        workers: opts.int("workers").filter(|&n| n > 0).map_or(1, |n| n as usize),
        batch_lines: batch_lines.map_or(0, |n| n as usize),
        batch_timeout: opts.int("batch-timeout").filter(|&n| n > 0).map(|n| Duration::from_millis(n as u64)),
        retries: opts.int("retries").filter(|&n| n > 0).map_or(3, |n| n as u32),
        time_reopen: Duration::from_secs(opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64),
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
