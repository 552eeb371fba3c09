//! Parsers from their IR drivers: `kv-parser() json-parser() csv-parser() regexp-parser()
//! syslog-parser() date-parser() tags-parser()`, each with `template()`.

use std::sync::Arc;

use rsng_config::ir::{Driver, OptionValue, Value};
use rsng_config::syntax::{self, ast};
use rsng_core::filter::{Matcher, MatcherType};
use rsng_core::names::{facility_code, severity_code};
use rsng_core::parser::csv::{CsvDialect, CsvOptions};
use rsng_core::parser::pcre::Pcre;
use rsng_core::parser::regexp::RegexpPattern;
use rsng_core::parser::strptime::LocalZone;
use rsng_core::parser::{
    CsvParser, DateParser, JsonParser, KvParser, ParseFlags, ParseOptions, Parser, ParserKind, RegexpParser,
    SyslogParser,
};
use rsng_core::template::{compile, Template};
use rsng_drivers::options::{as_bool, as_str};

use super::rewrite::matcher;
use super::{all, format_options, global, invalid, local_zone, str_of, strings, unsupported, zone, ParserStep};
use super::{Transform, TransformContext, ZoneUse};
use crate::BuildError;

pub(super) fn build(driver: &Driver, ctx: &TransformContext<'_>) -> Result<Box<dyn Transform>, BuildError> {
    let kind = match driver.name {
        "kv-parser" => ParserKind::Kv(kv(driver)?),
        "json-parser" => ParserKind::Json(json(driver)?),
        "csv-parser" => ParserKind::Csv(csv(driver)?),
        "regexp-parser" => ParserKind::Regexp(regexp(driver)?),
        "syslog-parser" => ParserKind::Syslog(syslog(driver, ctx)?),
        "date-parser" => ParserKind::Date(date(driver)?),
        "db-parser" => return super::db_parser::build(driver, ctx),
        "tags-parser" => ParserKind::Tags(rsng_core::parser::TagsParser),
        other => {
            return Err(BuildError::at(format!("the parser `{other}()` cannot run in rsng yet"), &driver.span));
        }
    };
    let template = match driver.option("template").and_then(str_of) {
        Some(text) => Some(input_template(driver, text, ctx)?),
        None => None,
    };
    let opts = format_options(ctx.config, None, ZoneUse::Local)?;
    Ok(Box::new(ParserStep(Parser::new(kind, template, opts))))
}

/// `template()`: a template defined earlier by name, else template text.
fn input_template(driver: &Driver, text: &str, ctx: &TransformContext<'_>) -> Result<Arc<Template>, BuildError> {
    let source = ctx.config.templates.iter().rev().find(|t| t.name == text).map_or(text, |t| t.text.as_str());
    compile(source, ctx.compile)
        .map(Arc::new)
        .map_err(|e| BuildError::at(format!("error compiling the template of `{}()`: {e}", driver.name), &driver.span))
}

/// A single-character option (`value-separator()`, `key-delimiter()`).
fn single_char(driver: &Driver, o: &OptionValue, message: &str) -> Result<u8, BuildError> {
    match str_of(&o.value).map(str::as_bytes) {
        Some([c]) => Ok(*c),
        _ => Err(invalid(driver, o.name, &o.span, message)),
    }
}

fn kv(driver: &Driver) -> Result<KvParser, BuildError> {
    let prefix = driver.option("prefix").and_then(str_of).unwrap_or("");
    let mut value_sep = b'=';
    if let Some(o) = all(driver, "value-separator").last() {
        value_sep = single_char(driver, o, "kv-parser() only supports single-character values for value-separator()")?;
        if !KvParser::valid_separator(value_sep) {
            return Err(invalid(driver, o.name, &o.span, "kv-parser() unsupported character for value-separator()"));
        }
    }
    let pair_sep = driver.option("pair-separator").and_then(str_of).unwrap_or(", ");
    // `allow-pair-separator-in-value()` is accepted and does nothing in syslog-ng 3.38 either.
    let stray = driver.option("extract-stray-words-into").and_then(str_of);
    Ok(KvParser::new(prefix, value_sep, pair_sep, stray))
}

fn json(driver: &Driver) -> Result<JsonParser, BuildError> {
    let mut delimiter = b'.';
    if let Some(o) = all(driver, "key-delimiter").last() {
        delimiter = single_char(driver, o, "key-delimiter() only supports single characters")?;
    }
    Ok(JsonParser::new(
        driver.option("prefix").and_then(str_of),
        driver.option("marker").and_then(str_of),
        driver.option("extract-prefix").and_then(str_of),
        delimiter,
    ))
}

/// `delimiters("…")` or `delimiters(chars("…") strings("…" ...))`, from the option's raw text.
fn delimiters(driver: &Driver, o: &OptionValue, options: &mut CsvOptions) -> Result<(), BuildError> {
    let raw = match &o.value {
        Value::Raw(s) | Value::Str(s) => s.as_str(),
        _ => return Err(invalid(driver, o.name, &o.span, "expected a string or chars()/strings()")),
    };
    let text = format!("parser p {{ d({raw}); }};");
    let parsed = syntax::parse(&text).map_err(|e| invalid(driver, o.name, &o.span, e.message()))?;
    let args = parsed.statements.first().and_then(|s| match s {
        ast::Statement::Object(obj) => obj.items.first().and_then(|i| match i {
            ast::ObjectItem::Driver(call) => Some(call.args.clone()),
            _ => None,
        }),
        _ => None,
    });
    let Some(args) = args else { return Err(invalid(driver, o.name, &o.span, "expected a value")) };
    for arg in &args {
        match arg {
            ast::Arg::Text(t) => options.delimiters = t.value.as_bytes().to_vec(),
            ast::Arg::Call(c) if syntax_name(c) == "chars" => {
                for a in &c.args {
                    if let ast::Arg::Text(t) = a {
                        options.delimiters = t.value.as_bytes().to_vec();
                    }
                }
            }
            ast::Arg::Call(c) if syntax_name(c) == "strings" => {
                options.string_delimiters = c
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        ast::Arg::Text(t) => Some(t.value.as_bytes().to_vec()),
                        _ => None,
                    })
                    .collect();
            }
            _ => return Err(invalid(driver, o.name, &o.span, "expected a string or chars()/strings()")),
        }
    }
    Ok(())
}

fn syntax_name(c: &ast::Call<'_>) -> String {
    c.name.value.replace('_', "-")
}

fn csv(driver: &Driver) -> Result<CsvParser, BuildError> {
    let mut options = CsvOptions::default();
    let mut drop_invalid = false;
    for o in &driver.options {
        match o.name {
            "columns" => options.columns = strings(&o.value),
            "delimiters" => delimiters(driver, o, &mut options)?,
            "quotes" => options.set_quotes(str_of(&o.value).unwrap_or("").as_bytes()),
            "quote-pairs" => options.set_quote_pairs(str_of(&o.value).unwrap_or("").as_bytes()),
            "null" => options.set_null(str_of(&o.value).unwrap_or("").as_bytes()),
            // syslog-ng 3.38's grammar hands the scanner no valid dialect for `dialect()`, so
            // quoted values then have no escapes whatever the argument.
            "dialect" => options.dialect = CsvDialect::EscapeNone,
            "flags" => {
                let flags = strings(&o.value);
                let escapes: Vec<&String> = flags.iter().filter(|f| f.starts_with("escape-")).collect();
                if escapes.len() > 1 {
                    return Err(invalid(
                        driver,
                        o.name,
                        &o.span,
                        "only one escape style can be used in the flags argument",
                    ));
                }
                match escapes.first().map(|s| s.as_str()) {
                    Some("escape-backslash") => options.dialect = CsvDialect::EscapeBackslash,
                    Some("escape-double-char") => options.dialect = CsvDialect::EscapeDoubleChar,
                    Some(_) => options.dialect = CsvDialect::EscapeNone,
                    None => {}
                }
                // `flags()` replaces the scanner flags, dropping the default strip-whitespace.
                options.strip_whitespace = flags.iter().any(|f| f == "strip-whitespace");
                options.greedy = flags.iter().any(|f| f == "greedy");
                drop_invalid |= flags.iter().any(|f| f == "drop-invalid");
            }
            "drop-invalid" => drop_invalid = as_bool(&o.value).unwrap_or(false),
            _ => continue,
        }
        driver.note(o.name);
    }
    Ok(CsvParser::new(options, driver.option("prefix").and_then(str_of), drop_invalid))
}

fn regexp(driver: &Driver) -> Result<RegexpParser, BuildError> {
    let (kind, flags) = matcher(driver)?;
    // Each `patterns()` replaces the ones before.
    let texts = all(driver, "patterns").last().map(|o| strings(&o.value)).unwrap_or_default();
    let mut patterns = Vec::new();
    for text in &texts {
        let p = match kind {
            MatcherType::Pcre => RegexpPattern::Pcre(
                Pcre::new(text, &flags)
                    .map_err(|e| BuildError::at(format!("compiling the regexp failed: {e}"), &driver.span))?,
            ),
            other => RegexpPattern::Plain(
                Matcher::new(text, other, flags)
                    .map_err(|e| BuildError::at(format!("compiling the regexp failed: {e}"), &driver.span))?,
            ),
        };
        patterns.push(p);
    }
    Ok(RegexpParser::new(patterns, driver.option("prefix").and_then(str_of)))
}

fn syslog(driver: &Driver, ctx: &TransformContext<'_>) -> Result<SyslogParser, BuildError> {
    if let Some(o) = global(ctx.config, &["bad-hostname"]) {
        return Err(BuildError::at(
            format!("the global `bad-hostname()`, which `{}()` would apply, is not supported by rsng", driver.name),
            &o.span,
        ));
    }
    let mut flags = ParseFlags::default();
    let mut store_raw = false;
    let mut guess_timezone = false;
    let mut default_pri: Option<u16> = None;
    let mut time_zone = global(ctx.config, &["recv-time-zone"]).map(|o| zone(driver, o)).transpose()?;
    let mut drop_invalid = false;
    for o in &driver.options {
        match o.name {
            "flags" => {
                for f in strings(&o.value) {
                    match f.as_str() {
                        "store-raw-message" => store_raw = true,
                        "guess-timezone" => guess_timezone = true,
                        name => {
                            if !flags.apply(name) {
                                return Err(unsupported(driver, o, &format!("flag `{name}`")));
                            }
                        }
                    }
                }
            }
            "drop-invalid" => drop_invalid = as_bool(&o.value).unwrap_or(false),
            "time-zone" => time_zone = Some(zone(driver, o)?),
            "default-priority" => {
                let name = as_str(&o.value).unwrap_or("");
                let sev = severity_code(name)
                    .ok_or_else(|| invalid(driver, o.name, &o.span, format!("unknown severity `{name}`")))?;
                let base = default_pri.unwrap_or(8);
                default_pri = Some((base & !7) | u16::from(sev));
            }
            "default-facility" => {
                let name = as_str(&o.value).unwrap_or("");
                let fac = facility_code(name)
                    .map(u16::from)
                    .or_else(|| name.parse::<u16>().ok())
                    .ok_or_else(|| invalid(driver, o.name, &o.span, format!("unknown facility `{name}`")))?;
                let base = default_pri.unwrap_or(5);
                default_pri = Some((base & 7) | (fac << 3));
            }
            _ => continue,
        }
        driver.note(o.name);
    }
    let options = ParseOptions { flags, default_pri };
    Ok(SyslogParser::new(options, store_raw, guess_timezone, drop_invalid, time_zone, local_zone()))
}

fn date(driver: &Driver) -> Result<DateParser, BuildError> {
    // Each `format()` replaces the ones before.
    let formats = all(driver, "format").last().map(|o| strings(&o.value)).unwrap_or_else(|| vec!["%FT%T%z".into()]);
    let time_zone = match all(driver, "time-zone").last() {
        Some(o) => Some(zone(driver, o)?),
        None => None,
    };
    if let Some(o) = all(driver, "time-stamp").last() {
        if str_of(&o.value) == Some("recvd") {
            return Err(unsupported(driver, o, "rsng cannot change the receive time of a message"));
        }
    }
    let guess = all(driver, "flags").flat_map(|o| strings(&o.value)).any(|f| f == "guess-timezone");
    let local = local_zone();
    let now = rsng_core::message::UnixTime::now(&local).sec;
    Ok(DateParser::new(formats, time_zone, guess, LocalZone::new(local, now)))
}
