//! Drivers and their options, checked against the option tables.

use super::Lowerer;
use crate::diagnostic::codes;
use crate::ir;
use crate::schema::{self, Context, OptionSpec, Positional, Status};
use crate::suggest::did_you_mean;
use crate::syntax::ast;

impl Lowerer<'_> {
    /// Checks only the name of a driver whose arguments did not parse.
    pub(super) fn check_driver_name(&mut self, context: Context, name: &ast::Spanned<&str>) {
        if schema::find_driver(context, name.value).is_none() {
            let call = ast::Call { name: name.clone(), args: Vec::new(), span: name.span.clone() };
            let _ = self.driver(context, &call);
        }
    }

    /// Lowers one driver of a source, destination, parser or rewrite object.
    pub(super) fn driver(&mut self, context: Context, call: &ast::Call) -> Option<ir::Driver> {
        let name = &call.name.value;
        let Some(spec) = schema::find_driver(context, name) else {
            let d = if schema::unimplemented_driver(context, name) {
                self.error_at(
                    codes::UNSUPPORTED_DRIVER,
                    format!("the syslog-ng {} driver `{name}()` is not implemented by rsng", context.name()),
                    call.name.span.clone(),
                    "not available in rsng",
                )
                .help("see docs/compatibility.md for the drivers rsng runs")
                // Drivers that syslog-ng 3.38 itself lacks are a parse error there too.
                .ordered(u8::from(schema::builtin_driver(context, name)), call.name.span.start)
            } else {
                let candidates = schema::DRIVERS.iter().filter(|d| d.context == context).map(|d| d.name);
                let suggestion = did_you_mean(name, candidates);
                let d = self.error_at(
                    codes::UNKNOWN_DRIVER,
                    format!("unknown {} driver `{name}()`", context.name()),
                    call.name.span.clone(),
                    format!("not a {} driver", context.name()),
                );
                match suggestion {
                    Some(s) => d.help(format!("did you mean `{s}()`?")),
                    None => {
                        let names: Vec<&str> =
                            schema::DRIVERS.iter().filter(|d| d.context == context).map(|d| d.name).collect();
                        d.help(format!(
                            "{} drivers: {} (a block used here must be defined before this point)",
                            context.name(),
                            names.join(", ")
                        ))
                    }
                }
            };
            self.push(d);
            return None;
        };
        let span = self.span(call.span.clone());
        let outer_keywords = std::mem::replace(&mut self.keywords, spec.options);
        let driver = self.driver_body(spec, call, span);
        self.keywords = outer_keywords;
        Some(driver)
    }

    fn driver_body(
        &mut self,
        spec: &'static schema::DriverSpec,
        call: &ast::Call,
        span: crate::source_map::FileSpan,
    ) -> ir::Driver {
        let max_positional = match spec.positional {
            Positional::None => 0,
            // `subst("pattern" "replacement")`, `rename("old" "new")`.
            _ if matches!(spec.name, "subst" | "rename") => 2,
            _ => 1,
        };
        let mut positional = Vec::new();
        let mut option_args = Vec::new();
        // `condition(...)` is lowered as a filter expression; it joins the options at the end.
        let mut conditions = Vec::new();
        for arg in &call.args {
            match arg {
                ast::Arg::Text(t) if option_args.is_empty() && positional.len() < max_positional => {
                    self.reject_reserved(t);
                    positional.push(ir::Value::Str(t.value.to_string()));
                }
                ast::Arg::Call(c) => option_args.push(c.clone()),
                ast::Arg::Condition(expr, span) => {
                    if schema::find_option(spec.options, "condition").is_some() {
                        let filter = self.filter(expr);
                        conditions.push(ir::OptionValue {
                            name: "condition",
                            value: ir::Value::Filter(Box::new(filter)),
                            span: self.span(span.clone()),
                        });
                    } else {
                        let d = self.error_at(
                            codes::UNKNOWN_OPTION,
                            format!("`{}()` has no option `condition()`", spec.name),
                            span.clone(),
                            "not an option here",
                        );
                        self.push(d);
                    }
                }
                other => {
                    let d = self
                        .error_at(
                            codes::SYNTAX,
                            format!("unexpected value in `{}()`", spec.name),
                            other.span(),
                            "expected an option `name(...)`",
                        )
                        .help(match spec.positional {
                            Positional::None => format!("`{}()` takes only options", spec.name),
                            Positional::Required(what) | Positional::Optional(what) => {
                                format!("`{}()` takes one {what} before its options", spec.name)
                            }
                        });
                    self.push(d);
                }
            }
        }
        if let Positional::Required(what) = spec.positional {
            if positional.is_empty() {
                let d = self
                    .error_at(
                        codes::MISSING_VALUE,
                        format!("`{}()` needs a {what}", spec.name),
                        call.span.clone(),
                        format!("no {what} given"),
                    )
                    .help(format!("write `{}(\"...\")`", spec.name));
                self.push(d);
            }
        }
        // syslog-ng 3.38's grammar for it takes exactly one option (`example_destination_option`).
        if spec.name == "example-destination" && option_args.len() != 1 {
            let d = self
                .error_at(
                    codes::SYNTAX,
                    "`example-destination()` takes exactly one option in syslog-ng 3.38".to_string(),
                    call.span.clone(),
                    format!("{} options given", option_args.len()),
                )
                .help("for example `example-destination(filename(\"/var/log/out.txt\"))`");
            self.push(d);
        }
        let mut options = self.options(&option_args, spec.options, spec.name);
        self.check_patterns(Some(call), &option_args, &options);
        self.check_transport(spec, call, &option_args, &options);
        if spec.name == "http" {
            self.check_http(&option_args);
        }
        if spec.name == "snmp" {
            if let Err(refusal) = schema::snmp::check(&options) {
                let at = refusal.option.and_then(|(name, nth)| {
                    option_args.iter().filter(|o| o.name.value.replace('_', "-") == name).nth(nth)
                });
                let range = at.map_or_else(|| call.span.clone(), |o| o.span.clone());
                let d = self.error_at(codes::INVALID_VALUE, refusal.message, range, "refused");
                self.push(d);
            }
        }
        options.extend(conditions);
        ir::Driver { name: spec.name, positional, options, span }
    }

    /// Compiles the regular expressions syslog-ng compiles while loading: the pattern of
    /// `subst()`, `regexp-parser(patterns())`, multi-line prefixes and `bad-hostname()`.
    pub(super) fn check_patterns(
        &mut self,
        driver: Option<&ast::Call>,
        option_args: &[ast::Call],
        options: &[ir::OptionValue],
    ) {
        if let Some(call) = driver.filter(|c| schema::same_name(c.name.value, "subst")) {
            if let Some(ast::Arg::Text(pattern)) = call.args.first() {
                self.check_regex(pattern, options);
            }
        }
        for option in option_args {
            let name = option.name.value.replace('_', "-");
            if matches!(name.as_str(), "patterns" | "multi-line-prefix" | "multi-line-garbage" | "bad-hostname") {
                // regexp-parser's patterns are compiled with its `flags()` and `type()`.
                let flags = if name == "patterns" { options } else { &[] };
                for arg in &option.args {
                    if let ast::Arg::Text(pattern) = arg {
                        self.check_regex(pattern, flags);
                    }
                }
            }
        }
    }

    /// What syslog-ng 3.38's http module says while parsing (an unsupported `method()`).
    fn check_http(&mut self, option_args: &[ast::Call]) {
        for option in option_args {
            let name = option.name.value.replace('_', "-");
            if name == "method" {
                if let Some(ast::Arg::Text(t)) = option.args.first() {
                    if !t.value.eq_ignore_ascii_case("post") && !t.value.eq_ignore_ascii_case("put") {
                        let d = self.warning_at(
                            codes::INVALID_VALUE,
                            format!(
                                "Unsupported method is set(Only POST and PUT are supported), default method POST \
                                 will be used; method='{}'",
                                t.value
                            ),
                            t.span.clone(),
                            "sent as POST",
                        );
                        self.push(d);
                    }
                }
            }
        }
    }

    /// Checks a list of `name(args)` options against option sets.
    pub(super) fn options(
        &mut self,
        calls: &[ast::Call],
        sets: &[&'static [OptionSpec]],
        owner: &str,
    ) -> Vec<ir::OptionValue> {
        let mut out = Vec::new();
        for call in calls {
            let name = &call.name.value;
            let Some(spec) = schema::find_option(sets, name) else {
                if owner == "system" {
                    // syslog-ng's system() passes unknown arguments on and accepts them.
                    let d = self.warning_at(
                        codes::UNKNOWN_OPTION,
                        format!("option `{name}()` is ignored by `system()`"),
                        call.name.span.clone(),
                        "ignored",
                    );
                    self.push(d);
                    continue;
                }
                let candidates = sets.iter().flat_map(|s| s.iter()).map(|o| o.name);
                let suggestion = did_you_mean(name, candidates);
                let (message, label) = if owner == "options" {
                    (format!("unknown global option `{name}()`"), "not a global option".to_string())
                } else {
                    (format!("unknown option `{name}()` for `{owner}()`"), format!("not an option of `{owner}()`"))
                };
                let mut d = self.error_at(codes::UNKNOWN_OPTION, message, call.name.span.clone(), label);
                if let Some(s) = suggestion {
                    d = d.help(format!("did you mean `{s}()`?"));
                }
                self.push(d);
                continue;
            };
            match spec.status {
                Status::Current => {}
                Status::Obsolete(why) => {
                    let d = self
                        .warning_at(
                            codes::OBSOLETE_OPTION,
                            format!("option `{name}()` is obsolete"),
                            call.name.span.clone(),
                            "obsolete",
                        )
                        .help(why);
                    self.push(d);
                }
                Status::Ignored(why) => {
                    let d = self
                        .warning_at(
                            codes::IGNORED_OPTION,
                            format!("option `{name}()` of `{owner}()` is accepted but ignored by rsng"),
                            call.name.span.clone(),
                            "ignored",
                        )
                        .help(why);
                    self.push(d);
                }
                Status::Since4(_) if self.version_at_least_4() => {}
                Status::Rejected(why) | Status::Since4(why) => {
                    let d = self
                        .error_at(
                            codes::UNKNOWN_OPTION,
                            format!("option `{name}()` is not supported"),
                            call.name.span.clone(),
                            "not accepted",
                        )
                        .help(why);
                    self.push(d);
                    continue;
                }
            }
            if let Some(value) = self.value(spec, call) {
                let span = self.span(call.span.clone());
                out.push(ir::OptionValue { name: spec.name, value, span });
            }
        }
        out
    }
}
