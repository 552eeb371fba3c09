//! Options the configuration front end accepts but nothing in rsng uses.
//!
//! syslog-ng's option tables (`rsng_config::schema`) accept every option syslog-ng 3.38 accepts,
//! so a user's configuration loads as it is. Not all of them take effect in rsng. Each driver
//! family declares what it consumes next to its build code ([`rsng_drivers::consumed`]); every
//! other option present in the configuration gets a warning at start-up, at reload and with
//! `--syntax-only`, naming the option, the driver and its place.

use rsng_config::ir::{self, OptionValue, Value};
use rsng_config::source_map::FileSpan;
use rsng_drivers::consumed::{self, Consumes};

#[cfg(test)]
mod tests;

/// An option present in the configuration that nothing in rsng uses.
#[derive(Debug, Clone)]
pub struct UnusedOption {
    /// The option: `ip-tos`, `disk-buffer.compaction`, `flags(store-raw-message)`.
    pub option: String,
    /// The driver (`tcp`), or `options` for a global option.
    pub owner: &'static str,
    pub span: FileSpan,
}

impl UnusedOption {
    /// The warning, worded as syslog-ng words its internal messages.
    pub fn message(&self, config: &ir::Config) -> String {
        let owner = if self.owner == "options" { "options".to_string() } else { format!("{}()", self.owner) };
        format!(
            "WARNING: option not implemented by rsng, ignored; option='{}', driver='{owner}', location='{}'",
            self.option,
            config.location(&self.span)
        )
    }
}

/// Every option of `config` that nothing in rsng uses, in file order. Every object is looked at,
/// used by a log path or not, so that `--syntax-only` and start-up say the same.
pub fn unused_options(config: &ir::Config) -> Vec<UnusedOption> {
    let mut out = Vec::new();
    check(&consumed::globals(), "options", &config.options, &mut out);
    for obj in config.sources.iter().chain(&config.destinations) {
        for driver in &obj.drivers {
            if let Some(consumes) = consumed::driver(obj.context, driver.name) {
                check(&consumes, driver.name, &driver.options, &mut out);
            }
        }
    }
    out.sort_by_key(|u| (u.span.file, u.span.start));
    out
}

fn check(consumes: &Consumes, owner: &'static str, options: &[OptionValue], out: &mut Vec<UnusedOption>) {
    let mut push = |option: String, span: &FileSpan| out.push(UnusedOption { option, owner, span: *span });
    for o in options {
        if !consumes.takes(o.name) {
            if !consumes.inert(o.name, &o.value) {
                push(o.name.to_string(), &o.span);
            }
            continue;
        }
        match (o.name, &o.value) {
            ("flags", value) => {
                let mut words = Vec::new();
                flag_words(value, &mut words);
                for w in words.into_iter().filter(|w| !consumes.flags.contains(&w.as_str())) {
                    push(format!("flags({w})"), &o.span);
                }
            }
            ("tls", _) => {}
            (group, Value::Group(items)) => {
                for item in items {
                    let name = format!("{group}.{}", item.name);
                    if !consumes.takes_nested(&name) && !consumes.inert(&name, &item.value) {
                        push(name, &item.span);
                    }
                }
            }
            _ => {}
        }
    }
}

fn flag_words(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| flag_words(i, out)),
        Value::Str(s) | Value::Raw(s) => {
            out.extend(s.split([',', ' ']).filter(|w| !w.is_empty()).map(|w| w.to_ascii_lowercase().replace('_', "-")))
        }
        _ => {}
    }
}
