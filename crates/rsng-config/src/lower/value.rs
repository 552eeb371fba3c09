//! Option values: numbers with syslog-ng's suffixes, yes/no, enums, flags, files and users.

use super::Lowerer;
use crate::diagnostic::codes;
use crate::ir::Value;
use crate::schema::{same_name, Kind, OptionSpec};
use crate::suggest::did_you_mean;
use crate::syntax::ast;

/// Options whose values syslog-ng 3.38 reads as 64-bit integers.
const INTEGER64_OPTIONS: &[&str] = &["disk-buf-size"];

/// Parses a number as syslog-ng's lexer does: decimal with an optional sign and a size suffix
/// (`10K` = 10000, `10Ki` = 10240, `b` decorative), `0x` hex, leading-zero octal.
pub fn parse_number(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if let Some(hex) = body.strip_prefix("0x") {
        let v = i64::from_str_radix(hex, 16).ok()?;
        return Some(if neg { -v } else { v });
    }
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (num, suffix) = body.split_at(digits);
    if suffix.is_empty() && num.len() > 1 && num.starts_with('0') && num.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        let v = i64::from_str_radix(num, 8).ok()?;
        return Some(if neg { -v } else { v });
    }
    let mut v: i64 = num.parse().ok()?;
    let mut rest = suffix.as_bytes();
    let mut power = 0u32;
    if let Some(&c) = rest.first() {
        power = match c {
            b'k' | b'K' => 1,
            b'm' | b'M' => 2,
            b'g' | b'G' => 3,
            _ => 0,
        };
        if power > 0 {
            rest = &rest[1..];
        }
    }
    let mut base: i64 = 1000;
    if let Some(b'i' | b'I') = rest.first() {
        base = 1024;
        rest = &rest[1..];
    }
    if let Some(b'b' | b'B') = rest.first() {
        rest = &rest[1..];
    }
    if !rest.is_empty() {
        return None;
    }
    v = v.checked_mul(base.checked_pow(power)?)?;
    Some(if neg { -v } else { v })
}

/// Whether syslog-ng's lexer reads `text` as a number (integer with suffix, hex, octal, float).
pub fn is_number_token(text: &str) -> bool {
    parse_number(text).is_some() || {
        let body = text.strip_prefix('-').unwrap_or(text);
        body.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    }
}

fn parse_float(text: &str) -> Option<f64> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (a, b) = body.split_once('.').unwrap_or((body, "0"));
    if a.is_empty() || !a.bytes().all(|c| c.is_ascii_digit()) || !b.bytes().all(|c| c.is_ascii_digit()) {
        return parse_number(text).map(|v| v as f64);
    }
    text.parse().ok()
}

impl Lowerer<'_> {
    /// Checks the arguments of option `call` against `spec` and returns its value.
    pub(super) fn value(&mut self, spec: &OptionSpec, call: &ast::Call) -> Option<Value> {
        let name = spec.name;
        let args = &call.args;
        if let Kind::Nested(options) = spec.kind {
            let mut calls = Vec::new();
            for arg in args {
                match arg {
                    ast::Arg::Call(c) => calls.push(c.clone()),
                    ast::Arg::Condition(expr, _) => {
                        let _ = self.filter(expr);
                    }
                    // An empty string stands for "no options" (SCL blocks pass `tls("")`).
                    ast::Arg::Text(t) if t.value.is_empty() => {}
                    other => {
                        let d = self.error_at(
                            codes::INVALID_VALUE,
                            format!("`{name}()` takes options, not values"),
                            other.span(),
                            "expected `option(...)`",
                        );
                        self.push(d);
                    }
                }
            }
            return Some(Value::Group(self.options(&calls, &[options], name)));
        }
        if let Kind::NameValuePairs = spec.kind {
            return Some(self.name_value_pairs(name, args));
        }
        if let Kind::Any = spec.kind {
            let text = args.iter().map(|a| self.pre.text[a.span()].to_string()).collect::<Vec<_>>().join(" ");
            return Some(Value::Raw(text));
        }
        if let Kind::Flags { values, fatal } = spec.kind {
            let mut out = Vec::new();
            for arg in args {
                let ast::Arg::Text(t) = arg else {
                    let d = self.error_at(
                        codes::INVALID_VALUE,
                        format!("`{name}()` takes flag names"),
                        arg.span(),
                        "not a flag",
                    );
                    self.push(d);
                    continue;
                };
                if t.value.is_empty() && t.quoted {
                    continue;
                }
                // `flags(threaded)`: the word lexes as a keyword in syslog-ng and fails there.
                if !t.quoted && crate::lower::reserved::is_main_keyword(&t.value) {
                    self.reject_reserved(t);
                    continue;
                }
                let since4 = name == "ssl-options" && self.version_at_least_4();
                let found = values.iter().find(|v| same_name(v, &t.value)).or_else(|| {
                    since4
                        .then(|| crate::schema::tls::SSL_OPTIONS_VALUES_4X.iter().find(|v| same_name(v, &t.value)))
                        .flatten()
                });
                let Some(v) = found else {
                    let help = match did_you_mean(&t.value, values.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("valid flags: {}", values.join(", ")),
                    };
                    let message = format!("unknown flag `{}` in `{name}()`", t.value);
                    let d = if fatal {
                        self.error_at(codes::UNKNOWN_FLAG, message, t.span.clone(), "not a flag here")
                    } else {
                        self.warning_at(codes::UNKNOWN_FLAG, message, t.span.clone(), "ignored")
                    };
                    self.push(d.help(help));
                    continue;
                };
                out.push(Value::Str(v.to_string()));
            }
            return Some(Value::List(out));
        }
        // Everything else takes one value, or several for `multi` options.
        let mut texts = Vec::new();
        for arg in args {
            match arg {
                ast::Arg::Text(t) => texts.push(t),
                other => {
                    let d = self.error_at(
                        codes::INVALID_VALUE,
                        format!("unexpected argument in `{name}()`"),
                        other.span(),
                        "expected a value",
                    );
                    self.push(d);
                    return None;
                }
            }
        }
        let empty_allowed = matches!(spec.kind, Kind::User | Kind::UnixGroup);
        if texts.is_empty() {
            if empty_allowed {
                return Some(Value::Str(String::new()));
            }
            let d = self.error_at(
                codes::MISSING_VALUE,
                format!("`{name}()` needs a value"),
                call.span.clone(),
                "no value given",
            );
            self.push(d);
            return None;
        }
        if texts.len() > 1 && !spec.multi && !matches!(spec.kind, Kind::StringList | Kind::Facility | Kind::Level) {
            let d = self.error_at(
                codes::INVALID_VALUE,
                format!("`{name}()` takes one value"),
                texts[1].span.clone(),
                "unexpected second value",
            );
            self.push(d);
            return None;
        }
        let mut values = Vec::new();
        for t in &texts {
            values.push(self.scalar(spec, t)?);
        }
        if values.len() == 1 && !spec.multi && !matches!(spec.kind, Kind::StringList) {
            values.pop()
        } else {
            Some(Value::List(values))
        }
    }

    fn invalid(&mut self, t: &ast::Text, message: String, help: Option<String>) -> Option<Value> {
        let mut d = self.error_at(codes::INVALID_VALUE, message, t.span.clone(), "invalid value");
        if let Some(h) = help {
            d = d.help(h);
        }
        self.push(d);
        None
    }

    /// Checks one value.
    fn scalar(&mut self, spec: &OptionSpec, t: &ast::Text) -> Option<Value> {
        let name = spec.name;
        if matches!(
            spec.kind,
            Kind::String
                | Kind::StringOrNumber
                | Kind::Path
                | Kind::Template
                | Kind::TemplateRef
                | Kind::ExistingFile
                | Kind::StringList
                | Kind::User
                | Kind::UnixGroup
                | Kind::Encoding
        ) && name != "transport"
            // syslog-ng's grammar takes the keyword itself here.
            && !(name == "inject-mode" && same_name(&t.value, "internal"))
            && self.reject_reserved(t)
        {
            return None;
        }
        match spec.kind {
            Kind::YesNo => {
                if !t.quoted {
                    match &*t.value {
                        "yes" | "on" => return Some(Value::Bool(true)),
                        "no" | "off" => return Some(Value::Bool(false)),
                        _ => {
                            if let Some(n) = parse_number(&t.value) {
                                return Some(Value::Bool(n != 0));
                            }
                        }
                    }
                }
                self.invalid(
                    t,
                    format!("`{name}()` expects yes or no, found `{}`", t.value),
                    Some("write yes, no, on, off or a number".into()),
                )
            }
            Kind::Integer { min } => {
                let n = if t.quoted { None } else { parse_number(&t.value) };
                let Some(n) = n else {
                    return self.invalid(t, format!("`{name}()` expects a number, found `{}`", t.value), None);
                };
                if n < min {
                    let msg = if min > 0 { "must be positive" } else { "cannot be negative" };
                    return self.invalid(t, format!("`{name}()` {msg}"), None);
                }
                // syslog-ng's count options are 32-bit; only sizes on disk take 64-bit values.
                if min >= 0 && n >= 1 << 31 && !INTEGER64_OPTIONS.contains(&name) {
                    return self.invalid(t, format!("`{name}()` must be smaller than 2^31"), None);
                }
                Some(Value::Int(n))
            }
            Kind::Float => match if t.quoted { None } else { parse_float(&t.value) } {
                Some(f) => Some(Value::Float(f)),
                None => self.invalid(t, format!("`{name}()` expects a number, found `{}`", t.value), None),
            },
            Kind::NonNegativeFloat => match if t.quoted { None } else { parse_float(&t.value) } {
                // syslog-ng's words, with the option named.
                Some(f) if f < 0.0 => self.invalid(t, format!("`{name}()`: It cannot be negative"), None),
                Some(f) => Some(Value::Float(f)),
                None => self.invalid(t, format!("`{name}()` expects a number, found `{}`", t.value), None),
            },
            Kind::Perm => match if t.quoted { None } else { parse_number(&t.value) } {
                Some(n) => Some(Value::Int(n)),
                None => {
                    self.invalid(t, format!("`{name}()` expects a file mode such as 0640, found `{}`", t.value), None)
                }
            },
            Kind::String | Kind::StringOrNumber | Kind::Path | Kind::StringList => {
                Some(Value::Str(t.value.to_string()))
            }
            Kind::Template => {
                self.check_template(t);
                Some(Value::Str(t.value.to_string()))
            }
            Kind::TemplateRef => {
                if !self.template_defined(&t.value) {
                    self.check_template(t);
                }
                Some(Value::Str(t.value.to_string()))
            }
            Kind::ExistingFile => {
                if !std::path::Path::new(&*t.value).exists() {
                    let d = self
                        .error_at(
                            codes::FILE_NOT_FOUND,
                            format!("file `{}` not found", t.value),
                            t.span.clone(),
                            "no such file",
                        )
                        .help(format!("`{name}()` is read while the configuration is loaded; the file must exist"));
                    self.push(d);
                    return None;
                }
                Some(Value::Str(t.value.to_string()))
            }
            Kind::Encoding => {
                if !encoding_known(&t.value) {
                    let d = self.error_at(
                        codes::INVALID_VALUE,
                        format!("unknown encoding \"{}\"", t.value),
                        t.span.clone(),
                        "iconv does not know this character set",
                    );
                    self.push(d);
                    return None;
                }
                Some(Value::Str(t.value.to_string()))
            }
            Kind::User => self.account(t, name, true),
            Kind::UnixGroup => self.account(t, name, false),
            Kind::Enum(values) => {
                match values.iter().find(|v| same_name(v, &t.value) || v.eq_ignore_ascii_case(&t.value)) {
                    Some(v) => Some(Value::Str(v.to_string())),
                    None => {
                        let help = match did_you_mean(&t.value, values.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("valid values: {}", values.join(", ")),
                        };
                        if name == "ts-format" {
                            // syslog-ng reports an invalid ts-format() and carries on with rfc3164.
                            let d = self
                                .warning_at(
                                    codes::INVALID_VALUE,
                                    format!("invalid value `{}` for `ts-format()`", t.value),
                                    t.span.clone(),
                                    "rfc3164 is used instead",
                                )
                                .help(help);
                            self.push(d);
                            return Some(Value::Str("rfc3164".into()));
                        }
                        self.invalid(t, format!("invalid value `{}` for `{name}()`", t.value), Some(help))
                    }
                }
            }
            Kind::Facility => {
                if rsng_core::names::facility_code(&t.value).is_some() || parse_number(&t.value).is_some() {
                    Some(Value::Str(t.value.to_string()))
                } else {
                    self.invalid(t, format!("unknown facility `{}`", t.value), None)
                }
            }
            Kind::Level => {
                if rsng_core::names::severity_code(&t.value).is_some() {
                    Some(Value::Str(t.value.to_string()))
                } else {
                    self.invalid(
                        t,
                        format!("unknown severity `{}`", t.value),
                        Some("valid severities: emerg, alert, crit, err, warning, notice, info, debug".into()),
                    )
                }
            }
            Kind::Nested(_) | Kind::Flags { .. } | Kind::Any | Kind::FilterExpr | Kind::NameValuePairs => {
                Some(Value::Str(t.value.to_string()))
            }
        }
    }

    /// `"name" => "template" ...`: a list of `[name, template]` lists; each template is checked
    /// as syslog-ng compiles it while parsing.
    fn name_value_pairs(&mut self, name: &str, args: &[ast::Arg]) -> Value {
        let mut pairs = Vec::new();
        let mut rest = args;
        while !rest.is_empty() {
            match rest {
                // `=>` lexes as a word when spaced out, as syslog-ng's LL_ARROW otherwise.
                [ast::Arg::Text(key), arrow, ast::Arg::Text(value), tail @ ..]
                    if matches!(arrow, ast::Arg::Arrow(_))
                        || matches!(arrow, ast::Arg::Text(t) if !t.quoted && &*t.value == "=>") =>
                {
                    self.check_template(value);
                    pairs.push(Value::List(vec![
                        Value::Str(key.value.to_string()),
                        Value::Str(value.value.to_string()),
                    ]));
                    rest = tail;
                }
                [first, ..] => {
                    let d = self
                        .error_at(
                            codes::SYNTAX,
                            format!("`{name}()` takes \"name\" => \"template\" pairs"),
                            first.span(),
                            "expected `\"name\" => \"template\"`",
                        )
                        .help("syslog-ng: syntax error, expecting LL_ARROW");
                    self.push(d);
                    break;
                }
                [] => break,
            }
        }
        Value::List(pairs)
    }

    /// A user or group name (or number); empty means "leave as is".
    fn account(&mut self, t: &ast::Text, option: &str, user: bool) -> Option<Value> {
        let v = &*t.value;
        if v.is_empty() || parse_number(v).is_some() {
            return Some(Value::Str(v.to_string()));
        }
        let exists = if user {
            nix::unistd::User::from_name(v).ok().flatten().is_some()
        } else {
            nix::unistd::Group::from_name(v).ok().flatten().is_some()
        };
        if exists {
            return Some(Value::Str(v.to_string()));
        }
        // syslog-ng reports this but still accepts the configuration; so does rsng.
        let what = if user { "user" } else { "group" };
        let d = self
            .warning_at(
                codes::UNKNOWN_USER,
                format!("unknown {what} `{v}` in `{option}()`"),
                t.span.clone(),
                format!("no such {what} on this system"),
            )
            .help(format!("create the {what}, use a numeric id, or leave `{option}()` empty"));
        self.push(d);
        Some(Value::Str(v.to_string()))
    }
}

/// Whether iconv converts from character set `name` to UTF-8 (what `encoding()` asks for).
fn encoding_known(name: &str) -> bool {
    let (Ok(to), Ok(from)) = (std::ffi::CString::new("UTF-8"), std::ffi::CString::new(name)) else { return false };
    // SAFETY: both arguments are valid C strings; a descriptor that opened is closed at once.
    unsafe {
        let cd = nix::libc::iconv_open(to.as_ptr(), from.as_ptr());
        if cd as isize == -1 {
            return false;
        }
        nix::libc::iconv_close(cd);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_follow_syslog_ng() {
        let cases = [
            ("10K", Some(10_000)),
            ("10KB", Some(10_000)),
            ("10Ki", Some(10_240)),
            ("10KiB", Some(10_240)),
            ("1M", Some(1_000_000)),
            ("10b", Some(10)),
            ("0640", Some(416)),
            ("08", Some(8)),
            ("0x1F", Some(31)),
            ("-1", Some(-1)),
            ("10abc", None),
            ("1e5", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_number(text), expected, "{text}");
        }
    }
}
