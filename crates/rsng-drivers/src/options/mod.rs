//! Reading a driver's options from the IR, falling back to the global `options {}` where syslog-ng
//! does (`keep-hostname`, `log-fifo-size`, `time-reopen`, ...).
//!
//! The IR has already checked every value against the option tables, so these getters only
//! convert; a value of an unexpected shape reads as absent.

pub mod globals;
pub mod typed;

use std::sync::{Arc, Mutex};

use rsng_config::ir::{Config, Driver, OptionValue, Value};
use rsng_config::source_map::FileSpan;

/// The global `options {}` of a configuration. Every name looked up is recorded (drivers read
/// the globals while they are built, never per message), so that a reload can tell which globals
/// a driver depends on ([`Globals::reads_since`]).
#[derive(Debug, Clone, Default)]
pub struct Globals {
    options: Vec<OptionValue>,
    /// Whether the configuration declares `@version: 4.0` or later (AxoSyslog's behaviour where
    /// it differs from 3.38's).
    pub version4: bool,
    reads: Arc<Mutex<Vec<String>>>,
}

impl Globals {
    pub fn new(config: &Config) -> Globals {
        let version4 = config.version.is_some_and(|v| v >= rsng_config::preprocess::Version { major: 4, minor: 0 });
        Globals { options: config.options.clone(), version4, reads: Arc::default() }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.get_option(name).map(|o| &o.value)
    }

    /// As [`Globals::get`], with the option's name and place.
    pub fn get_option(&self, name: &str) -> Option<&OptionValue> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).push(name.to_string());
        rsng_config::ir::note_read(None, name);
        self.options.iter().rev().find(|o| o.name == name)
    }

    /// A copy whose lookups are not counted as the drivers' dependencies (the options of the
    /// daemon itself: statistics, MARK of `internal()`, `$UNIQID`), though still noted as read.
    pub fn detached(&self) -> Globals {
        Globals { options: self.options.clone(), version4: self.version4, reads: Arc::default() }
    }

    /// The value of `name`, without recording the lookup.
    pub fn peek(&self, name: &str) -> Option<&Value> {
        self.options.iter().rev().find(|o| o.name == name).map(|o| &o.value)
    }

    /// How many lookups were recorded so far.
    pub fn read_mark(&self) -> usize {
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The names looked up since `mark`, sorted, each once.
    pub fn reads_since(&self, mark: usize) -> Vec<String> {
        let reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = reads.get(mark..).unwrap_or_default().to_vec();
        names.sort();
        names.dedup();
        names
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(as_int)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(as_bool)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(as_str)
    }
}

/// One driver's options with the globals behind them.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub driver: &'a Driver,
    pub globals: &'a Globals,
}

impl<'a> Options<'a> {
    pub fn new(driver: &'a Driver, globals: &'a Globals) -> Options<'a> {
        Options { driver, globals }
    }

    /// Where the driver is written, for run-time error messages.
    pub fn span(&self) -> &'a FileSpan {
        &self.driver.span
    }

    /// The driver's name (`network`, `file`, ...).
    pub fn name(&self) -> &'static str {
        self.driver.name
    }

    /// The first positional argument (`file("/var/log/x")`), as text.
    pub fn positional(&self) -> Option<&'a str> {
        self.driver.positional.first().and_then(as_str)
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.driver.option(name)
    }

    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(as_str)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(as_int)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(as_bool)
    }

    /// The driver's value, else the global one.
    pub fn int_or_global(&self, name: &str) -> Option<i64> {
        self.int(name).or_else(|| self.globals.int(name))
    }

    pub fn bool_or_global(&self, name: &str) -> Option<bool> {
        self.bool(name).or_else(|| self.globals.bool(name))
    }

    pub fn str_or_global(&self, name: &'a str) -> Option<&'a str> {
        self.str(name).or_else(|| self.globals.get(name).and_then(as_str))
    }

    /// Every word of a list option (`flags(a, b)`, `tags("x" "y")`), lowercased with `_` as `-`.
    pub fn words(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.driver.note(name);
        for o in self.driver.options.iter().filter(|o| o.name == name) {
            collect_words(&o.value, &mut out);
        }
        out
    }

    /// Every string of a list option, as written.
    pub fn strings(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.driver.note(name);
        for o in self.driver.options.iter().filter(|o| o.name == name) {
            collect_strings(&o.value, &mut out);
        }
        out
    }

    /// The values of every occurrence of option `name`, in order (recording the read).
    pub fn values(&self, name: &str) -> Vec<&'a OptionValue> {
        self.driver.note(name);
        self.driver.options.iter().filter(|o| o.name == name).collect()
    }

    /// The driver's values of `name`, else the global one (recording both reads).
    pub fn values_or_global(&self, name: &str) -> Vec<&'a OptionValue> {
        let own = self.values(name);
        if own.is_empty() {
            self.global_values(name)
        } else {
            own
        }
    }

    /// The global value of `name`, if given (recording the read).
    pub fn global_values(&self, name: &str) -> Vec<&'a OptionValue> {
        self.globals.get_option(name).into_iter().collect()
    }

    /// The options of a nested group (`tls(...)`), as a driver-less option list.
    pub fn group(&self, name: &str) -> Option<&'a [OptionValue]> {
        match self.get(name)? {
            Value::Group(items) => Some(items),
            _ => None,
        }
    }
}

pub fn as_str(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) | Value::Raw(s) => Some(s),
        Value::List(items) if items.len() == 1 => as_str(&items[0]),
        _ => None,
    }
}

pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Float(f) => Some(*f as i64),
        Value::Str(s) | Value::Raw(s) => parse_int(s),
        Value::List(items) if items.len() == 1 => as_int(&items[0]),
        _ => None,
    }
}

pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(n) => Some(*n != 0),
        Value::Str(s) | Value::Raw(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "on" => Some(true),
            "no" | "off" => Some(false),
            other => parse_int(other).map(|n| n != 0),
        },
        Value::List(items) if items.len() == 1 => as_bool(&items[0]),
        _ => None,
    }
}

/// An integer as syslog-ng writes them: decimal, `0x` hex, leading `0` octal, `K`/`M`/`G`
/// suffixes (`KiB`... binary, `KB` decimal).
pub fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (digits, mult) = {
        let lower = t.to_ascii_lowercase();
        let split = lower.find(|c: char| c.is_ascii_alphabetic() && c != 'x').unwrap_or(lower.len());
        let (num, suffix) = lower.split_at(split);
        let mult: i64 = match suffix {
            "" => 1,
            "k" | "kb" => 1000,
            "ki" | "kib" => 1024,
            "m" | "mb" => 1_000_000,
            "mi" | "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gi" | "gib" => 1 << 30,
            _ => return None,
        };
        (num.to_string(), mult)
    };
    let (neg, body) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits.as_str()),
    };
    let n = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if neg { -n } else { n } * mult)
}

fn collect_words(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| collect_words(i, out)),
        Value::Str(s) | Value::Raw(s) => {
            for w in s.split([',', ' ']).filter(|w| !w.is_empty()) {
                out.push(w.to_ascii_lowercase().replace('_', "-"));
            }
        }
        _ => {}
    }
}

/// Every string (and number, as text) of a value, lists flattened.
pub(crate) fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Str(s) | Value::Raw(s) => out.push(s.clone()),
        Value::Int(n) => out.push(n.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    #[test]
    fn integers_with_suffixes() {
        assert_eq!(parse_int("514"), Some(514));
        assert_eq!(parse_int("0640"), Some(0o640));
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("10K"), Some(10_000));
        assert_eq!(parse_int("1KiB"), Some(1024));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("abc"), None);
    }
}
