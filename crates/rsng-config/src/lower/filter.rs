//! Filter expressions: the simple filter functions, matcher options and comparisons.

use super::Lowerer;
use crate::diagnostic::codes;
use crate::ir::{self, Value};
use crate::schema::{self, same_name, Context};
use crate::suggest::did_you_mean;
use crate::syntax::ast;

/// Type hints accepted in comparisons (`int("$PID") > 5`).
const TYPE_HINTS: &[&str] = &[
    "string", "int", "int32", "int64", "double", "float", "boolean", "datetime", "list", "json", "literal", "null",
    "none",
];

/// Functions whose first argument is a regular expression followed by matcher options.
const MATCHERS: &[&str] = &["program", "host", "message", "source", "match"];

/// An operand's type: its hint, or for a bare number the type syslog-ng's lexer gives it (a bare
/// `100` is an int64 and makes the comparison type-aware; `"100"` is a string).
fn operand_type(operand: &ast::Operand) -> Option<String> {
    if let Some(hint) = &operand.type_hint {
        return Some(hint.value.to_string());
    }
    if operand.text.quoted {
        return None;
    }
    if super::value::parse_number(&operand.text.value).is_some() {
        Some("int64".to_string())
    } else if super::value::is_number_token(&operand.text.value) {
        Some("float".to_string())
    } else {
        None
    }
}

impl Lowerer<'_> {
    pub(crate) fn filter(&mut self, expr: &ast::FilterExpr) -> ir::Filter {
        match expr {
            ast::FilterExpr::And(parts) => ir::Filter::And(parts.iter().map(|p| self.filter(p)).collect()),
            ast::FilterExpr::Or(parts) => ir::Filter::Or(parts.iter().map(|p| self.filter(p)).collect()),
            ast::FilterExpr::Not(inner) => ir::Filter::Not(Box::new(self.filter(inner))),
            ast::FilterExpr::Compare { lhs, op, rhs } => {
                for operand in [lhs, rhs] {
                    if let Some(hint) = &operand.type_hint {
                        if !TYPE_HINTS.contains(&hint.value) {
                            let d = self
                                .error_at(
                                    codes::FILTER,
                                    format!("unknown type `{}` in type hint", hint.value),
                                    hint.span.clone(),
                                    "not a type",
                                )
                                .help(format!("valid types: {}", TYPE_HINTS.join(", ")));
                            self.push(d);
                        }
                    }
                    self.check_template(&operand.text);
                }
                ir::Filter::Compare(Box::new(ir::Comparison {
                    lhs: lhs.text.value.to_string(),
                    lhs_type: operand_type(lhs),
                    op: op.value.to_string(),
                    rhs: rhs.text.value.to_string(),
                    rhs_type: operand_type(rhs),
                    span: self.span(op.span.clone()),
                }))
            }
            ast::FilterExpr::Call(call) => self.filter_call(call),
        }
    }

    fn filter_call(&mut self, call: &ast::Call) -> ir::Filter {
        let span = self.span(call.span.clone());
        let name = call.name.value;
        let Some(canonical) = schema::FILTER_FUNCTIONS.iter().copied().find(|f| same_name(f, name)) else {
            let suggestion = did_you_mean(name, schema::FILTER_FUNCTIONS.iter().copied());
            let mut d = self.error_at(
                codes::FILTER,
                format!("unknown filter function `{name}()`"),
                call.name.span.clone(),
                "not a filter function",
            );
            d = d.help(match suggestion {
                Some(s) => format!("did you mean `{s}()`?"),
                None => "a filter block used here must be defined before this point".to_string(),
            });
            self.push(d);
            return ir::Filter::And(Vec::new());
        };
        let mut args = Vec::new();
        let mut options = Vec::new();
        match canonical {
            "filter" => {
                let Some(ast::Arg::Text(t)) = call.args.first() else {
                    let d = self.error_at(
                        codes::FILTER,
                        "`filter()` needs the name of a filter",
                        call.span.clone(),
                        "no name given",
                    );
                    self.push(d);
                    return ir::Filter::And(Vec::new());
                };
                let name_span = self.span(t.span.clone());
                self.note_reference(Context::Filter, t.value.to_string(), name_span, t.span.start);
                return ir::Filter::Reference { name: t.value.to_string(), span };
            }
            "level" | "priority" | "severity" | "facility" if call.args.is_empty() => {
                let d = self
                    .error_at(
                        codes::FILTER,
                        format!("`{canonical}()` needs at least one value"),
                        call.span.clone(),
                        "empty",
                    )
                    .help(if canonical == "facility" {
                        "for example `facility(kern, mail)`"
                    } else {
                        "for example `level(err..emerg)`"
                    });
                self.push(d);
            }
            "level" | "priority" | "severity" => {
                for arg in &call.args {
                    match arg {
                        ast::Arg::Text(t) if rsng_core::names::severity_code(&t.value).is_some() => {
                            args.push(Value::Str(t.value.to_ascii_lowercase()));
                        }
                        ast::Arg::DotDot(_) => args.push(Value::Raw("..".into())),
                        other => {
                            let d = self
                                .error_at(codes::FILTER, format!("invalid severity in `{name}()`"), other.span(), "not a severity name")
                                .help("severity names: emerg, alert, crit, err, warning, notice, info, debug; ranges as `err..emerg`");
                            self.push(d);
                        }
                    }
                }
            }
            "facility" => {
                for arg in &call.args {
                    match arg {
                        ast::Arg::Text(t) if rsng_core::names::facility_code(&t.value).is_some() => {
                            args.push(Value::Str(t.value.to_ascii_lowercase()));
                        }
                        ast::Arg::Text(t) if call.args.len() == 1 && super::value::parse_number(&t.value).is_some() => {
                            args.push(Value::Int(super::value::parse_number(&t.value).unwrap_or(0)));
                        }
                        ast::Arg::DotDot(_) => args.push(Value::Raw("..".into())),
                        other => {
                            let d = self.error_at(
                                codes::FILTER,
                                "invalid facility in `facility()`",
                                other.span(),
                                "not a facility name",
                            );
                            self.push(d);
                        }
                    }
                }
            }
            "in-list" => {
                for arg in &call.args {
                    match arg {
                        ast::Arg::Text(t) if args.is_empty() => {
                            if !std::path::Path::new(&*t.value).exists() {
                                let d = self.error_at(
                                    codes::FILE_NOT_FOUND,
                                    format!("file `{}` not found", t.value),
                                    t.span.clone(),
                                    "no such file",
                                );
                                self.push(d.help("`in-list()` reads its file while the configuration is loaded"));
                            }
                            args.push(Value::Str(t.value.to_string()));
                        }
                        ast::Arg::Text(t) => args.push(Value::Str(t.value.to_string())),
                        ast::Arg::Call(c) => {
                            options.extend(self.options(std::slice::from_ref(c), &[schema::IN_LIST_OPTIONS], "in-list"))
                        }
                        other => {
                            let d = self.error_at(
                                codes::FILTER,
                                "unexpected argument in `in-list()`",
                                other.span(),
                                "here",
                            );
                            self.push(d);
                        }
                    }
                }
            }
            _ => {
                let matcher = MATCHERS.contains(&canonical);
                let mut calls = Vec::new();
                for arg in &call.args {
                    match arg {
                        ast::Arg::Text(t) => {
                            self.reject_reserved(t);
                            args.push(Value::Str(t.value.to_string()))
                        }
                        ast::Arg::Call(c) => calls.push(c.clone()),
                        other => {
                            let d = self.error_at(
                                codes::FILTER,
                                format!("unexpected argument in `{canonical}()`"),
                                other.span(),
                                "here",
                            );
                            self.push(d);
                        }
                    }
                }
                if matcher || canonical == "rate-limit" || canonical == "throttle" {
                    let table = match canonical {
                        "match" => schema::MATCHER_OPTIONS,
                        "rate-limit" | "throttle" => schema::RATE_LIMIT_OPTIONS,
                        _ => schema::REGEX_FILTER_OPTIONS,
                    };
                    options = self.options(&calls, &[table], canonical);
                    self.matcher_checks(canonical, &options, call);
                    if matcher {
                        if let Some(ast::Arg::Text(pattern)) = call.args.first() {
                            self.check_regex(pattern, &options);
                        }
                    }
                } else if !calls.is_empty() {
                    options = self.options(&calls, &[schema::MATCHER_OPTIONS], canonical);
                }
                if matcher && args.is_empty() {
                    let d = self.error_at(
                        codes::FILTER,
                        format!("`{canonical}()` needs a pattern"),
                        call.span.clone(),
                        "no pattern given",
                    );
                    self.push(d);
                }
            }
        }
        ir::Filter::Function { name: canonical, args, options, span }
    }

    /// Compiles a matcher's pattern when its type is PCRE (the default), as syslog-ng does at
    /// load time.
    pub(crate) fn check_regex(&mut self, pattern: &ast::Text, options: &[ir::OptionValue]) {
        let kind = options.iter().rev().find(|o| o.name == "type").and_then(|o| match &o.value {
            Value::Str(s) => Some(s.to_ascii_lowercase()),
            _ => None,
        });
        if matches!(kind.as_deref(), Some("string" | "glob")) {
            return;
        }
        // Plain text cannot fail to compile; most patterns are plain program or host names.
        if !pattern.value.bytes().any(|b| b"\\^$.|?*+()[]{}".contains(&b)) {
            return;
        }
        let caseless = options.iter().any(|o| {
            o.name == "flags"
                && matches!(&o.value, Value::List(l) if l.iter().any(|f| matches!(f, Value::Str(s) if s == "ignore-case" || s == "icase")))
        });
        let has_flag = |flag: &str| {
            options.iter().any(|o| {
                o.name == "flags"
                    && matches!(&o.value, Value::List(l) if l.iter().any(|f| matches!(f, Value::Str(s) if s == flag)))
            })
        };
        // `flags(dupnames)` allows a name on several groups, as the parser compiles it.
        let (text, shift) = if has_flag("dupnames") {
            (std::borrow::Cow::Owned(format!("(?J){}", pattern.value)), 4)
        } else {
            (std::borrow::Cow::Borrowed(&*pattern.value), 0)
        };
        if let Err(e) = rsng_core::regex::check_pcre(&text, caseless) {
            let d = self
                .error_at(
                    codes::REGEX,
                    format!("invalid regular expression: {}", e.message),
                    pattern.span.clone(),
                    format!("at character {}", e.offset.saturating_sub(shift)),
                )
                .help("quote special characters with a backslash, or use `type(string)` for a plain text match");
            self.push(d);
        }
    }

    /// `value("$X")` and a missing `value()` in `match()` are accepted with a warning.
    fn matcher_checks(&mut self, name: &str, options: &[ir::OptionValue], call: &ast::Call) {
        if name != "match" {
            return;
        }
        if !options.iter().any(|o| o.name == "value" || o.name == "template") {
            let d = self
                .warning_at(
                    codes::FILTER,
                    "`match()` without `value()` matches the whole message header and text",
                    call.name.span.clone(),
                    "no value() given",
                )
                .help("add `value(\"MESSAGE\")` (or the name-value pair to match)");
            self.push(d);
        }
    }
}
