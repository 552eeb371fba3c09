//! Turns the filter expressions of the validated [`ir`] into compiled
//! [`rsng_core::filter::Filter`]s.
//!
//! [`compile_filters`] compiles every `filter NAME { ... };` and inline `#anon-filterN` of a
//! configuration, resolving `filter(NAME)` references (to filters defined anywhere in the file, as
//! syslog-ng resolves them at start-up) and refusing reference loops. [`compile_filter`] compiles
//! one more expression against those, for `if (...)` conditions and rewrite `condition()`s.
//!
//! Known gap: the IR does not say whether a comparison operand was a bare number (`> 100`) or a
//! quoted one (`> "100"`). syslog-ng 3.38 gives a bare number an `int64` type hint, which makes
//! the comparison type-aware (`"$PID" < 100` is false for a message without a PID, while
//! `"$PID" < "100"` is `atoi("") < 100`, true). Operands are compiled as quoted here; an IR
//! that records `int64` in `lhs_type`/`rhs_type` for bare numbers gets the exact behaviour.

use std::collections::HashMap;
use std::sync::Arc;

use rsng_core::filter::{
    code_range, Compare, CompareOp, FacilityTest, Filter, InList, MatchNode, Matcher, MatcherFlags, MatcherType,
    Netmask4, Netmask6, Node, Operand, Subject, ValueSel, ValueType,
};
use rsng_core::message::TagId;
use rsng_core::template::{compile, CompileContext, FormatOptions, TsFormat};

use crate::ir::{self, Value};

/// A filter that cannot be compiled, with the name of the filter it is in (empty for a
/// condition).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter `{filter}`: {message}")]
pub struct FilterCompileError {
    pub filter: String,
    pub message: String,
}

/// Compiled filters by name (named and `#anon-filterN`).
pub type FilterMap = HashMap<String, Arc<Filter>>;

/// Compiles every filter of `config`.
///
/// # Errors
/// The first filter that does not compile: a bad pattern or template, an unknown type hint, an
/// unreadable `in-list()` file, a `filter()` reference to an undefined filter or a reference loop.
pub fn compile_filters(config: &ir::Config) -> Result<FilterMap, FilterCompileError> {
    let mut c = FilterCompiler::new(config, FilterMap::new());
    for def in &config.filters {
        c.named(&def.name)?;
    }
    Ok(c.done)
}

/// Compiles `expr` (an `if (...)` condition or a `condition()`), resolving `filter(NAME)` in
/// `named` (the result of [`compile_filters`]).
///
/// # Errors
/// As for [`compile_filters`]; the error's filter name is empty.
pub fn compile_filter(config: &ir::Config, expr: &ir::Filter, named: &FilterMap) -> Result<Filter, FilterCompileError> {
    let mut c = FilterCompiler::new(config, named.clone());
    let root = c.node(expr).map_err(|message| FilterCompileError { filter: String::new(), message })?;
    Ok(Filter::new("", root).with_format(c.format.clone()))
}

/// Compiles filter text written inside a template (`$(if (level(err)) ...)`): `text` is read as
/// the body of a `filter { ... };` statement and compiled against `named`.
///
/// # Errors
/// A syntax error or a compile error, as text.
pub fn compile_filter_text(config: &ir::Config, text: &str, named: &FilterMap) -> Result<Filter, String> {
    let snippet = format!("@version: 3.38\nfilter __template_condition {{ {text} }};\n");
    let mut diags = crate::diagnostic::Diagnostics::default();
    let opts = crate::preprocess::PreprocessOptions::default();
    let pre = crate::preprocess::preprocess_text("<template>", None, snippet, &opts, &mut diags)
        .ok_or_else(|| format!("cannot read filter `{text}`"))?;
    let parsed = crate::syntax::parse(&pre.text).map_err(|e| e.message())?;
    let mut lowerer = crate::lower::Lowerer::new(&pre, &mut diags);
    for statement in &parsed.statements {
        lowerer.statement(statement);
    }
    // References to named filters are resolved against `named` below; the lowering's own
    // reference check does not know them, so its diagnostics are not used.
    let lowered = lowerer.finish();
    let def = lowered.filters.first().ok_or_else(|| format!("no filter expression in `{text}`"))?;
    compile_filter(config, &def.expr, named).map_err(|e| e.message)
}

struct FilterCompiler<'c> {
    defs: HashMap<&'c str, &'c ir::FilterObject>,
    done: FilterMap,
    /// Filters being compiled, for loop detection.
    visiting: Vec<String>,
    templates: CompileContext,
    format: FormatOptions,
    version4: bool,
}

impl<'c> FilterCompiler<'c> {
    fn new(config: &'c ir::Config, done: FilterMap) -> Self {
        let mut templates = CompileContext::new();
        for t in &config.template_functions {
            templates.add_user_function(&t.name);
        }
        for t in &config.templates {
            templates.add_template(&t.name);
        }
        let mut format = FormatOptions::default();
        for o in &config.options {
            match (o.name, &o.value) {
                ("ts-format", Value::Str(s)) => {
                    if let Some(f) = TsFormat::from_name(s) {
                        format.ts_format = f;
                    }
                }
                ("frac-digits", Value::Int(n)) => format.frac_digits = (*n).clamp(0, 6) as u8,
                _ => {}
            }
        }
        FilterCompiler {
            // The last definition wins, as with duplicates allowed by `allow-config-dups`.
            defs: config.filters.iter().map(|f| (f.name.as_str(), f)).collect(),
            done,
            visiting: Vec::new(),
            templates,
            format,
            version4: config.version.is_some_and(|v| v.major >= 4),
        }
    }

    /// The compiled filter `name`, compiling it (and what it references) on first use.
    fn named(&mut self, name: &str) -> Result<Arc<Filter>, FilterCompileError> {
        if let Some(f) = self.done.get(name) {
            return Ok(f.clone());
        }
        let Some(def) = self.defs.get(name).copied() else {
            let referrer = self.visiting.last().cloned().unwrap_or_default();
            return Err(FilterCompileError {
                filter: referrer,
                message: format!("Referenced filter rule not found in filter() expression; rule='{name}'"),
            });
        };
        if self.visiting.iter().any(|v| v == name) {
            return Err(FilterCompileError {
                filter: name.to_string(),
                message: format!("Loop detected in filter rule; rule='{name}' (via {})", self.visiting.join(" -> ")),
            });
        }
        self.visiting.push(name.to_string());
        let root = self.node(&def.expr);
        self.visiting.pop();
        let root = root.map_err(|message| FilterCompileError { filter: name.to_string(), message })?;
        let filter = Arc::new(Filter::new(name, root).with_format(self.format.clone()));
        self.done.insert(name.to_string(), filter.clone());
        Ok(filter)
    }

    fn node(&mut self, expr: &ir::Filter) -> Result<Node, String> {
        Ok(match expr {
            ir::Filter::And(parts) => Node::And(parts.iter().map(|p| self.node(p)).collect::<Result<_, _>>()?),
            ir::Filter::Or(parts) => Node::Or(parts.iter().map(|p| self.node(p)).collect::<Result<_, _>>()?),
            ir::Filter::Not(inner) => Node::Not(Box::new(self.node(inner)?)),
            ir::Filter::Reference { name, .. } => Node::Call(self.named(name).map_err(|e| {
                if e.filter.is_empty() || self.visiting.last() == Some(&e.filter) {
                    e.message
                } else {
                    e.to_string()
                }
            })?),
            ir::Filter::Compare(c) => self.compare(c)?,
            ir::Filter::Function { name, args, options, .. } => self.function(name, args, options)?,
        })
    }

    fn operand(&self, text: &str, hint: Option<&str>) -> Result<Operand, String> {
        let template = compile(text, &self.templates).map_err(|e| format!("Error compiling template `{text}`: {e}"))?;
        let hint = match hint {
            Some(h) => Some(ValueType::from_hint(h).map_err(|e| e.message)?),
            None => None,
        };
        Ok(Operand { template, hint })
    }

    fn compare(&self, c: &ir::Comparison) -> Result<Node, String> {
        let op = CompareOp::parse(&c.op).ok_or_else(|| format!("unknown comparison operator `{}`", c.op))?;
        let lhs = self.operand(&c.lhs, c.lhs_type.as_deref())?;
        let rhs = self.operand(&c.rhs, c.rhs_type.as_deref())?;
        Ok(Node::Compare(Box::new(Compare::new(lhs, op, rhs, self.version4))))
    }

    fn function(&mut self, name: &str, args: &[Value], options: &[ir::OptionValue]) -> Result<Node, String> {
        Ok(match name {
            "level" | "priority" | "severity" => {
                Node::Severity(code_mask(args, rsng_core::names::severity_code, "severity")? as u8)
            }
            "facility" => match args {
                [Value::Int(n)] => FacilityTest::Exact(*n as u32),
                _ => FacilityTest::Mask(code_mask(args, rsng_core::names::facility_code, "facility")?),
            }
            .into_node(),
            "program" | "host" | "message" | "source" | "match" => self.matcher(name, args, options)?,
            "netmask" => Node::Netmask(Netmask4::parse(first_str(args, name)?)),
            "netmask6" => Node::Netmask6(Netmask6::parse(first_str(args, name)?)),
            "tags" => Node::Tags(strs(args).map(TagId::intern).collect()),
            "in-list" => {
                let file = first_str(args, name)?;
                let value = option_str(options, "value")
                    .or_else(|| strs(args).nth(1))
                    .ok_or("`in-list()` needs the name of a value")?;
                let contents = std::fs::read(file)
                    .map_err(|e| format!("Error opening in-list filter list file; file='{file}', error='{e}'"))?;
                Node::InList(Box::new(InList::from_contents(ValueSel::new(value), &contents)))
            }
            "rate-limit" | "throttle" => {
                let rate = options.iter().rev().find(|o| o.name == "rate").and_then(|o| match o.value {
                    Value::Int(n) => Some(n),
                    _ => None,
                });
                let Some(rate) = rate.filter(|&n| n > 0) else {
                    return Err(
                        "rate-limit: the rate() argument is required, and must be non zero in rate-limit filters"
                            .into(),
                    );
                };
                let key = option_str(options, "template")
                    .map(|t| compile(t, &self.templates).map_err(|e| format!("Error compiling template `{t}`: {e}")))
                    .transpose()?;
                Node::RateLimit(Arc::new(rsng_core::filter::rate_limit::RateLimit::new(key, rate)))
            }
            other => return Err(format!("the `{other}()` filter is not supported by rsng yet")),
        })
    }

    fn matcher(&self, name: &str, args: &[Value], options: &[ir::OptionValue]) -> Result<Node, String> {
        let pattern = first_str(args, name)?;
        // `source()` compares the source name as a string unless told otherwise.
        let mut kind = if name == "source" { MatcherType::String } else { MatcherType::Pcre };
        if let Some(t) = option_str(options, "type") {
            kind = MatcherType::from_name(t).ok_or_else(|| format!("unknown matcher type `{t}`"))?;
        }
        let mut flags = MatcherFlags::default();
        for o in options.iter().filter(|o| o.name == "flags") {
            let list = match &o.value {
                Value::List(l) => l.as_slice(),
                v => std::slice::from_ref(v),
            };
            for f in list {
                if let Value::Str(f) = f {
                    if !flags.set(f) {
                        return Err(format!("unknown matcher flag `{f}`"));
                    }
                }
            }
        }
        let matcher = Matcher::new(pattern, kind, flags).map_err(|e| e.message)?;
        let subject = match name {
            "program" => Subject::Value(ValueSel::new("PROGRAM")),
            "host" => Subject::Value(ValueSel::new("HOST")),
            "message" => Subject::Value(ValueSel::new("MESSAGE")),
            "source" => Subject::Value(ValueSel::new("SOURCE")),
            _ => match (option_str(options, "value"), option_str(options, "template")) {
                (Some(v), _) => {
                    let v = v.strip_prefix('$').unwrap_or(v);
                    if v.starts_with('(') || v.contains('$') {
                        return Err(format!(
                            "value() reference for the match() filter cannot contain a full template string; value='{v}'"
                        ));
                    }
                    Subject::Value(ValueSel::new(v))
                }
                (None, Some(t)) => Subject::Template(
                    compile(t, &self.templates).map_err(|e| format!("Error compiling template `{t}`: {e}"))?,
                ),
                (None, None) => Subject::ProgramPidMessage,
            },
        };
        Ok(Node::Match(Box::new(MatchNode { subject, matcher })))
    }
}

trait IntoNode {
    fn into_node(self) -> Node;
}

impl IntoNode for FacilityTest {
    fn into_node(self) -> Node {
        Node::Facility(self)
    }
}

/// The bit mask of a list of names and `a .. b` ranges (`Raw("..")` between two names).
fn code_mask(args: &[Value], code: fn(&str) -> Option<u8>, what: &str) -> Result<u32, String> {
    let lookup = |v: &Value| match v {
        Value::Str(s) => code(s).ok_or_else(|| format!("unknown {what} `{s}`")),
        other => Err(format!("unexpected {what} argument {other:?}")),
    };
    let mut mask = 0u32;
    let mut i = 0;
    while i < args.len() {
        let a = lookup(&args[i])?;
        if matches!(args.get(i + 1), Some(Value::Raw(r)) if r == "..") {
            let b = lookup(args.get(i + 2).ok_or_else(|| format!("incomplete {what} range"))?)?;
            mask |= code_range(a, b);
            i += 3;
        } else {
            mask |= 1u32 << a;
            i += 1;
        }
    }
    Ok(mask)
}

fn strs(args: &[Value]) -> impl Iterator<Item = &str> {
    args.iter().filter_map(|a| match a {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    })
}

fn first_str<'a>(args: &'a [Value], name: &str) -> Result<&'a str, String> {
    strs(args).next().ok_or_else(|| format!("`{name}()` needs an argument"))
}

fn option_str<'a>(options: &'a [ir::OptionValue], name: &str) -> Option<&'a str> {
    options.iter().rev().find(|o| o.name == name).and_then(|o| match &o.value {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    // rsng-config cannot build messages (no rsng-proto or jiff here): evaluation is tested in
    // rsng-core and against syslog-ng in tests/differential_filter.rs; these tests check what
    // the IR compiles to.
    use super::*;
    use crate::source_map::FileSpan;
    use crate::{load_text, LoadOptions};

    const SPAN: FileSpan = FileSpan { file: 0, start: 0, end: 0 };

    fn load(body: &str) -> ir::Config {
        let text = format!("@version: 3.38\nsource s {{ internal(); }};\n{body}");
        load_text("test.conf", &text, &LoadOptions::default()).expect("valid configuration").config
    }

    #[test]
    fn named_filters_references_and_precedence() {
        let config = load(
            "filter f_err { level(err..emerg); };\n\
             filter f_prog { program(\"^ssh\") and filter(f_err); };\n\
             filter f_prec { not facility(mail) and level(info, debug) or program(\"cron\" type(string)); };\n\
             filter f_fwd { filter(f_later); };\nfilter f_later { facility(13); };\n\
             log { source(s); filter { host(\"h*\" type(glob)); }; };\n",
        );
        let filters = compile_filters(&config).expect("compiles");
        assert!(filters.contains_key("#anon-filter0"));
        assert!(matches!(filters["f_err"].root(), Node::Severity(0b1111)));
        assert!(matches!(filters["f_later"].root(), Node::Facility(FacilityTest::Exact(13))));
        let Node::And(parts) = filters["f_prog"].root() else { panic!("{:?}", filters["f_prog"].root()) };
        assert!(matches!(&parts[1], Node::Call(f) if f.name() == "f_err"));
        let Node::Or(parts) = filters["f_prec"].root() else { panic!("{:?}", filters["f_prec"].root()) };
        let Node::And(first) = &parts[0] else { panic!("{:?}", parts[0]) };
        assert!(matches!(&first[0], Node::Not(n) if matches!(**n, Node::Facility(FacilityTest::Mask(4)))));
        assert!(matches!(&first[1], Node::Severity(0b1100_0000)));
        assert!(matches!(&parts[1], Node::Match(m) if matches!(m.matcher, Matcher::String { .. })));
        assert!(matches!(filters["f_fwd"].root(), Node::Call(f) if f.name() == "f_later"));
        assert!(matches!(filters["#anon-filter0"].root(), Node::Match(m) if matches!(m.matcher, Matcher::Glob(_))));
    }

    #[test]
    fn matcher_subjects() {
        let config = load(
            "filter a { match(\"x\"); };\nfilter b { match(\"x\" value(\"$HOST\")); };\n\
             filter c { match(\"x\" template(\"$HOST $PID\")); };\nfilter d { source(\"s\"); };\n",
        );
        let filters = compile_filters(&config).expect("compiles");
        let subject = |n: &str| match filters[n].root() {
            Node::Match(m) => m.subject.clone(),
            other => panic!("{other:?}"),
        };
        assert!(matches!(subject("a"), Subject::ProgramPidMessage));
        assert!(matches!(subject("b"), Subject::Value(ValueSel::Builtin(_))));
        assert!(matches!(subject("c"), Subject::Template(_)));
        assert!(matches!(subject("d"), Subject::Value(_)));
        assert!(matches!(filters["d"].root(), Node::Match(m) if matches!(m.matcher, Matcher::String { .. })));
    }

    #[test]
    fn reference_errors() {
        let err = compile_filters(&load("filter a { filter(b); };\nfilter b { filter(a); };\n")).unwrap_err();
        assert!(err.message.contains("Loop detected"), "{err}");
        let err = compile_filters(&load("filter a { filter(a); };\n")).unwrap_err();
        assert!(err.message.contains("Loop detected"), "{err}");
        let err =
            compile_filters(&load("filter a { int(\"$PID\") > 1; };\nfilter b { none(\"x\") > 1; };\n")).unwrap_err();
        assert_eq!(err.filter, "b");
    }

    #[test]
    fn conditions_and_comparisons() {
        let config = load("filter f_a { \"$PROGRAM\" == \"a\"; };\nfilter f_b { int(\"$PID\") > \"100\"; };\n");
        let filters = compile_filters(&config).expect("compiles");
        assert!(matches!(filters["f_a"].root(), Node::Compare(c) if c.mode == rsng_core::filter::CompareMode::Atoi));
        assert!(
            matches!(filters["f_b"].root(), Node::Compare(c) if c.mode == rsng_core::filter::CompareMode::TypeAware)
        );
        let cond = ir::Filter::Or(vec![
            ir::Filter::Reference { name: "f_b".into(), span: SPAN },
            ir::Filter::Compare(Box::new(ir::Comparison {
                lhs: "$HOST".into(),
                lhs_type: None,
                op: "eq".into(),
                rhs: "h".into(),
                rhs_type: None,
                span: SPAN,
            })),
        ]);
        let f = compile_filter(&config, &cond, &filters).expect("compiles");
        let Node::Or(parts) = f.root() else { panic!("{:?}", f.root()) };
        assert!(matches!(&parts[0], Node::Call(c) if Arc::ptr_eq(c, &filters["f_b"])));
        // The loader reports undefined references; a condition built elsewhere gets this error.
        let bad = ir::Filter::Reference { name: "zz".into(), span: SPAN };
        let err = compile_filter(&config, &bad, &filters).unwrap_err();
        assert!(err.message.contains("rule='zz'"), "{err}");
    }
}
