//! Parsers from their IR drivers: `kv-parser() json-parser() csv-parser() regexp-parser()
//! syslog-parser() date-parser() tags-parser()`, each with `template()`.

use std::sync::Arc;

use rsng_config::ir::{Driver, Value};
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
use rsng_drivers::options::typed::{later, Located};

use super::options::{
    CsvParserOptions, DateParserOptions, JsonParserOptions, KvParserOptions, ParserOptions, RegexpParserOptions,
    SyslogParserOptions,
};
use super::rewrite::matcher;
use super::{global_format_options, invalid, local_zone, unsupported, zone, ParserStep};
use super::{Transform, TransformContext};
use crate::BuildError;

pub(super) fn build(driver: &Driver, ctx: &TransformContext<'_>) -> Result<Box<dyn Transform>, BuildError> {
    let kind = match driver.name {
        "kv-parser" => ParserKind::Kv(kv(driver, ctx)?),
        "json-parser" => ParserKind::Json(json(driver, ctx)?),
        "csv-parser" => ParserKind::Csv(csv(driver, ctx)?),
        "regexp-parser" => ParserKind::Regexp(regexp(driver, ctx)?),
        "syslog-parser" => ParserKind::Syslog(syslog(driver, ctx)?),
        "date-parser" => ParserKind::Date(date(driver, ctx)?),
        "db-parser" => return super::db_parser::build(driver, ctx),
        "tags-parser" => ParserKind::Tags(rsng_core::parser::TagsParser),
        other => {
            return Err(BuildError::at(format!("the parser `{other}()` cannot run in rsng yet"), &driver.span));
        }
    };
    let template = match ParserOptions::read(&ctx.options(driver)).template {
        Some(text) => Some(input_template(driver, &text, ctx)?),
        None => None,
    };
    let opts = global_format_options(ctx)?;
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
fn single_char(driver: &Driver, o: &Located<String>, message: &str) -> Result<u8, BuildError> {
    match o.value.as_bytes() {
        [c] => Ok(*c),
        _ => Err(invalid(driver, o.name, &o.span, message)),
    }
}

fn kv(driver: &Driver, ctx: &TransformContext<'_>) -> Result<KvParser, BuildError> {
    let o = KvParserOptions::read(&ctx.options(driver));
    let mut value_sep = b'=';
    if let Some(sep) = &o.value_separator {
        value_sep =
            single_char(driver, sep, "kv-parser() only supports single-character values for value-separator()")?;
        if !KvParser::valid_separator(value_sep) {
            return Err(invalid(
                driver,
                sep.name,
                &sep.span,
                "kv-parser() unsupported character for value-separator()",
            ));
        }
    }
    Ok(KvParser::new(&o.prefix, value_sep, &o.pair_separator, o.extract_stray_words_into.as_deref()))
}

fn json(driver: &Driver, ctx: &TransformContext<'_>) -> Result<JsonParser, BuildError> {
    let o = JsonParserOptions::read(&ctx.options(driver));
    let mut delimiter = b'.';
    if let Some(d) = &o.key_delimiter {
        delimiter = single_char(driver, d, "key-delimiter() only supports single characters")?;
    }
    Ok(JsonParser::new(o.prefix.as_deref(), o.marker.as_deref(), o.extract_prefix.as_deref(), delimiter))
}

/// `delimiters("…")` or `delimiters(chars("…") strings("…" ...))`, from the option's raw text.
fn delimiters(driver: &Driver, o: &Located<Value>, options: &mut CsvOptions) -> Result<(), BuildError> {
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

fn csv(driver: &Driver, ctx: &TransformContext<'_>) -> Result<CsvParser, BuildError> {
    let o = CsvParserOptions::read(&ctx.options(driver));
    let mut options = CsvOptions { columns: o.columns.0, ..CsvOptions::default() };
    if let Some(d) = &o.delimiters {
        delimiters(driver, d, &mut options)?;
    }
    match later(o.quotes.as_ref(), o.quote_pairs.as_ref()) {
        Some(q) if q.name == "quotes" => options.set_quotes(q.value.as_bytes()),
        Some(q) => options.set_quote_pairs(q.value.as_bytes()),
        None => {}
    }
    if let Some(null) = &o.null {
        options.set_null(null.as_bytes());
    }
    let mut drop_invalid = false;
    if let Some(flags) = &o.flags {
        let escapes: Vec<&str> = flags.value.0.iter().filter(|f| f.starts_with("escape-")).collect();
        if escapes.len() > 1 {
            return Err(invalid(
                driver,
                flags.name,
                &flags.span,
                "only one escape style can be used in the flags argument",
            ));
        }
        match escapes.first().copied() {
            Some("escape-backslash") => options.dialect = CsvDialect::EscapeBackslash,
            Some("escape-double-char") => options.dialect = CsvDialect::EscapeDoubleChar,
            Some(_) => options.dialect = CsvDialect::EscapeNone,
            None => {}
        }
        // `flags()` replaces the scanner flags, dropping the default strip-whitespace.
        options.strip_whitespace = flags.value.0.contains("strip-whitespace");
        options.greedy = flags.value.0.contains("greedy");
        drop_invalid = flags.value.0.contains("drop-invalid");
    }
    // syslog-ng 3.38's grammar hands the scanner no valid dialect for `dialect()`, so quoted
    // values then have no escapes whatever the argument, unless a later `flags()` sets one.
    if let Some(dialect) = &o.dialect {
        if o.flags.as_ref().is_none_or(|f| dialect.after(f)) {
            options.dialect = CsvDialect::EscapeNone;
        }
    }
    // `flags(drop-invalid)` only sets dropping; `drop-invalid()` sets or clears it, so whichever
    // is written later decides.
    if let Some(d) = &o.drop_invalid {
        if o.flags.as_ref().is_none_or(|f| d.after(f)) {
            drop_invalid = d.value;
        } else {
            drop_invalid |= d.value;
        }
    }
    Ok(CsvParser::new(options, o.prefix.as_deref(), drop_invalid))
}

fn regexp(driver: &Driver, ctx: &TransformContext<'_>) -> Result<RegexpParser, BuildError> {
    let (kind, flags) = matcher(driver, ctx)?;
    let o = RegexpParserOptions::read(&ctx.options(driver));
    let mut patterns = Vec::new();
    for text in &o.patterns.0 {
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
    Ok(RegexpParser::new(patterns, o.prefix.as_deref()))
}

fn syslog(driver: &Driver, ctx: &TransformContext<'_>) -> Result<SyslogParser, BuildError> {
    let o = SyslogParserOptions::read(&ctx.options(driver));
    if let Some(bad) = &o.bad_hostname {
        return Err(BuildError::at(
            format!("the global `bad-hostname()`, which `{}()` would apply, is not supported by rsng", driver.name),
            &bad.span,
        ));
    }
    let mut flags = ParseFlags::default();
    let mut store_raw = false;
    let mut guess_timezone = false;
    if let Some(words) = &o.flags {
        for name in words.value.iter() {
            match name {
                "store-raw-message" => store_raw = true,
                "guess-timezone" => guess_timezone = true,
                name => {
                    if !flags.apply(name) {
                        return Err(unsupported(driver, words, &format!("flag `{name}`")));
                    }
                }
            }
        }
    }
    let time_zone = match o.time_zone.as_ref().or(o.recv_time_zone.as_ref()) {
        Some(z) => Some(zone(driver, z)?),
        None => None,
    };
    // The severity and the facility are set apart, over user.notice.
    let mut default_pri: Option<u16> = None;
    if let Some(p) = &o.default_priority {
        let sev = severity_code(&p.value)
            .ok_or_else(|| invalid(driver, p.name, &p.span, format!("unknown severity `{}`", p.value)))?;
        default_pri = Some(8 | u16::from(sev));
    }
    if let Some(f) = &o.default_facility {
        let fac = facility_code(&f.value)
            .map(u16::from)
            .or_else(|| f.value.parse::<u16>().ok())
            .ok_or_else(|| invalid(driver, f.name, &f.span, format!("unknown facility `{}`", f.value)))?;
        default_pri = Some((default_pri.unwrap_or(5) & 7) | (fac << 3));
    }
    let options = ParseOptions { flags, default_pri };
    Ok(SyslogParser::new(options, store_raw, guess_timezone, o.drop_invalid, time_zone, local_zone()))
}

fn date(driver: &Driver, ctx: &TransformContext<'_>) -> Result<DateParser, BuildError> {
    let o = DateParserOptions::read(&ctx.options(driver));
    let formats = o.format.map(|f| f.0).unwrap_or_else(|| vec!["%FT%T%z".into()]);
    let time_zone = match &o.time_zone {
        Some(z) => Some(zone(driver, z)?),
        None => None,
    };
    if let Some(stamp) = &o.time_stamp {
        if stamp.value == "recvd" {
            return Err(unsupported(driver, stamp, "rsng cannot change the receive time of a message"));
        }
    }
    let local = local_zone();
    let now = rsng_core::message::UnixTime::now(&local).sec;
    Ok(DateParser::new(formats, time_zone, o.flags.contains("guess-timezone"), LocalZone::new(local, now)))
}
