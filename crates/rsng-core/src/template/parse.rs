//! The template compiler: a port of syslog-ng 3.38's
//! `lib/template/compiler.c` plus the argument handling of each built-in
//! function's `prepare` callback.
//!
//! The scanner works on bytes; all syntax characters are ASCII, so text is
//! only ever split at character boundaries. Function arguments are copied
//! into buffers (quotes and escaping backslashes removed) together with a
//! map from each byte to its offset in the original text, so that errors
//! found while compiling an argument report an offset in the text given to
//! [`compile`].

use std::cell::Cell;
use std::sync::Arc;

use super::eval::{binary_octet, glib_option_int, parse_int, IntOptionError};
use super::functions::{
    BuiltinFunction, OptSpec, Shape, DNS_RESOLVE_OPTS, FORMAT_JSON_OPTS, GRAPHITE_OPTS, GREP_OPTS, HASH_OPTS,
    LIST_SEARCH_MODES, LIST_SEARCH_OPTS, SANITIZE_OPTS, SLOG_OPTS, TYPE_HINTS, VALUE_PAIRS_OPTS,
};
use super::{
    is_builtin_macro, ArgText, CompileContext, Elem, FilterArg, FuncArg, FuncCall, Function, InvokeRef, IterateState,
    Template, TemplateError, ValueKind, ValueRef, MAX_FUNCTION_ARGS, MAX_NESTING_DEPTH,
};

const IMBALANCED: &str = "invalid template function reference, missing function name or imbalanced '('";

thread_local! {
    /// The nesting depth of the template whose filter argument is being
    /// compiled by the filter compiler hook, so that templates inside that
    /// filter count towards [`MAX_NESTING_DEPTH`] too.
    static BASE_DEPTH: Cell<usize> = const { Cell::new(0) };
}

pub(super) fn compile(text: &str, ctx: &CompileContext) -> Result<Template, TemplateError> {
    Compiler { ctx }.template(Src::top(text.as_bytes()), BASE_DEPTH.get())
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError::new(offset, message))
}

/// Text being compiled, with the way back to offsets in the original.
#[derive(Clone, Copy)]
struct Src<'a> {
    b: &'a [u8],
    /// `map[i]` is the original offset of `b[i]`; `map[b.len()]` is where
    /// this text ends. `None`: `b` is a plain slice of the original starting
    /// at `base`.
    map: Option<&'a [usize]>,
    base: usize,
}

impl<'a> Src<'a> {
    fn top(b: &'a [u8]) -> Self {
        Src { b, map: None, base: 0 }
    }

    fn len(&self) -> usize {
        self.b.len()
    }

    /// Original offset of position `i` (`0..=len`).
    fn off(&self, i: usize) -> usize {
        match self.map {
            None => self.base + i.min(self.b.len()),
            Some(m) => m.get(i).or(m.last()).copied().unwrap_or(self.base),
        }
    }

    /// The part `a..e` (clamped to the text).
    fn range(&self, a: usize, e: usize) -> Src<'a> {
        let e = e.min(self.b.len());
        let a = a.min(e);
        match self.map {
            None => Src { b: &self.b[a..e], map: None, base: self.base + a },
            Some(m) => Src { b: &self.b[a..e], map: m.get(a..=e), base: self.off(a) },
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(self.b).into_owned()
    }
}

/// One function argument after quote and backslash processing.
struct ArgBuf {
    text: Vec<u8>,
    /// Original offsets, one per byte of `text` plus the end.
    map: Vec<usize>,
    /// Original offset where the argument started (an opening quote
    /// included).
    start: usize,
}

impl ArgBuf {
    fn new(start: usize) -> Self {
        ArgBuf { text: Vec::new(), map: Vec::new(), start }
    }

    fn push(&mut self, byte: u8, offset: usize) {
        self.text.push(byte);
        self.map.push(offset);
    }

    fn push_range(&mut self, src: &Src<'_>, a: usize, e: usize) {
        let part = src.range(a, e);
        self.text.extend_from_slice(part.b);
        self.map.extend((0..part.len()).map(|i| part.off(i)));
    }

    fn finish(mut self, end: usize) -> Self {
        self.map.push(end);
        self
    }

    fn src(&self) -> Src<'_> {
        Src { b: &self.text, map: Some(&self.map), base: self.start }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }

    fn arg_text(&self) -> ArgText {
        ArgText { text: self.text(), offset: self.start }
    }
}

/// g_ascii_isspace
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn find(b: &[u8], from: usize, what: u8) -> Option<usize> {
    b.get(from..)?.iter().position(|&c| c == what).map(|p| from + p)
}

/// `@N` after a braced reference or function call: the parsed `N` and the
/// position after it. `@@` consumes one `@` (the other stays literal); `@`
/// followed by anything else stays literal (syslog-ng warns).
fn parse_context_ref(b: &[u8], i: usize) -> (Option<u32>, usize) {
    if b.get(i) != Some(&b'@') {
        return (None, i);
    }
    match b.get(i + 1) {
        Some(c) if c.is_ascii_digit() => {
            let mut n: u32 = 0;
            let mut j = i + 1;
            while let Some(&d) = b.get(j).filter(|d| d.is_ascii_digit()) {
                n = n.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                j += 1;
            }
            (Some(n), j)
        }
        Some(b'@') => (None, i + 1),
        _ => (None, i),
    }
}

fn value_ref(name: &[u8], default: Option<&[u8]>, context_ref: Option<u32>) -> ValueRef {
    let name = String::from_utf8_lossy(name).into_owned();
    let kind = if is_builtin_macro(&name) {
        ValueKind::Builtin
    } else if let Some(n) = match_group(&name) {
        ValueKind::MatchGroup(n)
    } else {
        ValueKind::Pair
    };
    ValueRef { name, kind, default: default.map(|d| String::from_utf8_lossy(d).into_owned()), context_ref }
}

/// `0`..`255` written canonically (syslog-ng registers exactly these).
fn match_group(name: &str) -> Option<u8> {
    if name.is_empty() || name.len() > 3 || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    if !name.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// A parsed GLib-style option or a positional argument.
enum Item<'a> {
    Opt {
        spec: &'static OptSpec,
        /// The value and the offset to report for it.
        value: Option<(Src<'a>, usize)>,
    },
    Pos(&'a ArgBuf),
}

fn option_arg(spec: &'static OptSpec, value: Option<(Src<'_>, usize)>) -> FuncArg {
    FuncArg::Option { name: spec.long, value: value.map(|(src, offset)| ArgText { text: src.text(), offset }) }
}

/// Splits arguments into options and positionals like
/// `g_option_context_parse` does for the given option tables.
fn parse_options<'a>(args: &'a [ArgBuf], tables: &[&'static [OptSpec]]) -> Result<Vec<Item<'a>>, TemplateError> {
    let find_long = |name: &[u8]| tables.iter().flat_map(|t| t.iter()).find(|o| o.long.as_bytes() == name);
    let find_short = |c: u8| tables.iter().flat_map(|t| t.iter()).find(|o| o.short == Some(c));
    let help = |a: &ArgBuf| {
        err(
            a.start,
            format!("option {} is not supported in template functions (syslog-ng prints usage and exits)", a.text()),
        )
    };

    let mut out = Vec::with_capacity(args.len());
    let mut k = 0;
    let mut only_positional = false;
    while let Some(a) = args.get(k) {
        k += 1;
        let t = a.text.as_slice();
        if only_positional || t.len() < 2 || t[0] != b'-' {
            out.push(Item::Pos(a));
            continue;
        }
        if t == b"--" {
            only_positional = true;
            continue;
        }
        if t[1] == b'-' {
            let body = &t[2..];
            let (name, inline) = match body.iter().position(|&c| c == b'=') {
                Some(p) => (&body[..p], Some(2 + p + 1)),
                None => (body, None),
            };
            if name == b"help" || name.starts_with(b"help-") {
                return help(a);
            }
            let Some(spec) = find_long(name) else {
                return err(a.start, format!("unknown option {}", a.text()));
            };
            let value = if !spec.takes_value {
                None
            } else if let Some(from) = inline {
                let v = a.src().range(from, t.len());
                Some((v, v.off(0)))
            } else if let Some(next) = args.get(k) {
                k += 1;
                Some((next.src(), next.start))
            } else {
                return err(a.start, format!("missing argument for --{}", spec.long));
            };
            out.push(Item::Opt { spec, value });
        } else {
            let cluster = &t[1..];
            if cluster.iter().any(|&c| (c == b'h' || c == b'?') && find_short(c).is_none()) {
                return help(a);
            }
            if cluster.iter().any(|&c| find_short(c).is_none()) {
                return err(a.start, format!("unknown option {}", a.text()));
            }
            // GLib lets only one option of a cluster take a value
            if let Some(&second) = cluster.iter().filter(|&&c| find_short(c).is_some_and(|o| o.takes_value)).nth(1) {
                return err(a.start, format!("error parsing option -{}", char::from(second)));
            }
            for &c in cluster {
                let Some(spec) = find_short(c) else { continue };
                let value = if !spec.takes_value {
                    None
                } else if let Some(next) = args.get(k) {
                    k += 1;
                    Some((next.src(), next.start))
                } else {
                    return err(a.start, format!("missing argument for -{}", char::from(c)));
                };
                out.push(Item::Opt { spec, value });
            }
        }
    }
    Ok(out)
}

fn positional_count(items: &[Item<'_>]) -> usize {
    items.iter().filter(|i| matches!(i, Item::Pos(_))).count()
}

/// `_split_type_and_template`: `TYPE(template)` → (`TYPE`, template part).
fn split_type_hint<'a>(v: Src<'a>) -> (Option<Src<'a>>, Src<'a>) {
    let b = v.b;
    let mut sp = 0;
    while sp < b.len() && is_name_char(b[sp]) {
        sp += 1;
    }
    while sp < b.len() && matches!(b[sp], b' ' | b'\t') {
        sp += 1;
    }
    let starts_ok = b.first().is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_');
    if b.get(sp) != Some(&b'(') || !starts_ok || b.last() != Some(&b')') || b.len() - 1 <= sp {
        return (None, v);
    }
    // the type is everything before '(' (trailing blanks included, which
    // then fail the type lookup, as in syslog-ng)
    (Some(v.range(0, sp)), v.range(sp + 1, b.len() - 1))
}

/// A function argument classified by [`plan_args`], before the templates
/// among them are compiled.
enum Planned<'a> {
    Template(Src<'a>),
    /// value-pairs `key=value`: type hint (unchecked) and template part
    Pair {
        key: String,
        hint: Option<Src<'a>>,
        value: Src<'a>,
    },
    /// A filter expression of function `function`.
    Filter {
        function: String,
        arg: ArgText,
    },
    Done(FuncArg),
}

fn planned_item<'a>(item: &Item<'a>) -> Planned<'a> {
    match item {
        Item::Pos(a) => Planned::Template(a.src()),
        Item::Opt { spec, value } => Planned::Done(option_arg(spec, *value)),
    }
}

fn planned_items<'a>(items: &[Item<'a>]) -> Vec<Planned<'a>> {
    items.iter().map(planned_item).collect()
}

fn all_templates(rest: &[ArgBuf]) -> Vec<Planned<'_>> {
    rest.iter().map(|a| Planned::Template(a.src())).collect()
}

fn raw(a: &ArgBuf) -> Planned<'_> {
    Planned::Done(FuncArg::Raw(a.arg_text()))
}

fn filter<'a>(name: &str, a: &ArgBuf) -> Planned<'a> {
    Planned::Filter { function: name.to_owned(), arg: a.arg_text() }
}

/// A value-pairs `key=value` argument.
fn plan_pair(v: Src<'_>, offset: usize) -> Result<Planned<'_>, TemplateError> {
    let Some(eq) = v.b.iter().position(|&c| c == b'=') else {
        return err(offset, "error parsing value-pairs: expected an equal sign in key=value pair");
    };
    let (hint, value) = split_type_hint(v.range(eq + 1, v.len()));
    Ok(Planned::Pair { key: v.range(0, eq).text(), hint, value })
}

fn plan_value_pairs<'a>(items: &[Item<'a>]) -> Result<Vec<Planned<'a>>, TemplateError> {
    items
        .iter()
        .map(|item| match item {
            Item::Opt { spec, value: Some((v, offset)) } if spec.long == "pair" => plan_pair(*v, *offset),
            Item::Pos(a) if a.text.contains(&b'=') => plan_pair(a.src(), a.start),
            Item::Pos(a) => Ok(raw(a)),
            Item::Opt { spec, value } => Ok(Planned::Done(option_arg(spec, *value))),
        })
        .collect()
}

/// Classifies the arguments of built-in `f` (written as `name`, called at
/// offset `at`) like its syslog-ng `prepare` does, checking arity and
/// options. Nothing is compiled here, so that this large function is off
/// the stack while nested templates are compiled.
fn plan_args<'a>(
    ctx: &CompileContext,
    f: BuiltinFunction,
    name: &str,
    rest: &'a [ArgBuf],
    at: usize,
) -> Result<Vec<Planned<'a>>, TemplateError> {
    match f.shape() {
        Shape::Simple => Ok(all_templates(rest)),
        Shape::ExactlyOne => {
            if rest.len() != 1 {
                return err(at, format!("$({name}) requires only one argument"));
            }
            Ok(all_templates(rest))
        }
        Shape::Ignored => Ok(rest.iter().map(raw).collect()),
        Shape::Grep => {
            let items = parse_options(rest, &[GREP_OPTS])?;
            if positional_count(&items) < 2 {
                return err(at, format!("$({name}) requires at least two arguments"));
            }
            let mut seen_filter = false;
            Ok(items
                .iter()
                .map(|item| match item {
                    Item::Pos(a) if !seen_filter => {
                        seen_filter = true;
                        filter(name, a)
                    }
                    _ => planned_item(item),
                })
                .collect())
        }
        Shape::If => match rest {
            [cond, then, otherwise] => {
                Ok(vec![filter(name, cond), Planned::Template(then.src()), Planned::Template(otherwise.src())])
            }
            _ => err(at, "$(if) requires three arguments"),
        },
        Shape::Filter => match rest {
            [cond, list] => Ok(vec![filter(name, cond), Planned::Template(list.src())]),
            _ => err(at, "wrong number of arguments. Example: $(filter expr list)."),
        },
        Shape::Map => match rest {
            [_, _] => Ok(all_templates(rest)),
            _ => err(at, "wrong number of arguments. Example: $(map template list)."),
        },
        Shape::Iterate => {
            let items = parse_options(rest, &[])?;
            match items.as_slice() {
                [Item::Pos(tmpl), Item::Pos(initial)] => Ok(vec![
                    Planned::Template(tmpl.src()),
                    raw(initial),
                    Planned::Done(FuncArg::State(IterateState::new(&initial.text()))),
                ]),
                _ => err(at, "wrong number of arguments. Example: $(iterate template initial-value)."),
            }
        }
        Shape::Sanitize => Ok(planned_items(&parse_options(rest, &[SANITIZE_OPTS])?)),
        Shape::Padding => match rest {
            [input, others @ ..] if !others.is_empty() => {
                if parse_int(&others[0].text, 10).is_none() {
                    return err(at, "Padding template function requires a number as second argument!");
                }
                let mut out = vec![Planned::Template(input.src())];
                out.extend(others.iter().map(raw));
                Ok(out)
            }
            _ => err(at, "$(padding) Not enough arguments, usage $(padding <input> <width> [padding string])"),
        },
        Shape::Binary => {
            if rest.is_empty() {
                return err(at, "$(binary) Incorrect parameters, usage $(binary <number> <number> ...)");
            }
            // syslog-ng turns the numbers into bytes once, here.
            for a in rest {
                let problem = match binary_octet(&a.text) {
                    Some(Ok(_)) => continue,
                    Some(Err(n)) => format!("only supports 8 bit values as characters, {n} is above 255"),
                    None => {
                        let base = match a.text.as_slice() {
                            [b'0', b'x', ..] => "hex",
                            [b'0', ..] => "oct",
                            _ => "dec",
                        };
                        format!(
                            "requires list of dec/hex/oct numbers as arguments, unable to parse {} as a {base} number",
                            a.text()
                        )
                    }
                };
                return err(at, format!("$(binary) template function {problem}"));
            }
            Ok(all_templates(rest))
        }
        Shape::ListSearch => {
            let items = parse_options(rest, &[LIST_SEARCH_OPTS])?;
            // GLib checks `--start-index` values while parsing, before the mode
            for item in &items {
                let Item::Opt { spec, value: Some((v, offset)) } = item else { continue };
                if spec.long != "start-index" {
                    continue;
                }
                let v = v.text();
                match glib_option_int(&v) {
                    Ok(_) => {}
                    Err(IntOptionError::Invalid) => {
                        return err(
                            *offset,
                            format!("Cannot parse integer value \u{201c}{v}\u{201d} for --start-index"),
                        )
                    }
                    Err(IntOptionError::OutOfRange) => {
                        return err(
                            *offset,
                            format!("Integer value \u{201c}{v}\u{201d} for --start-index out of range"),
                        )
                    }
                }
            }
            let mode = items.iter().rev().find_map(|item| match item {
                Item::Opt { spec, value: Some(v) } if spec.long == "mode" => Some(*v),
                _ => None,
            });
            if let Some((mode, offset)) = mode {
                let mode = mode.text();
                if !LIST_SEARCH_MODES.contains(&mode.as_str()) {
                    return err(
                        offset,
                        format!(
                            "$(list-search) Invalid list-search mode: {mode}. Valid modes are: literal, prefix, substring, glob, pcre"
                        ),
                    );
                }
            }
            match positional_count(&items) {
                0 => err(at, "$(list-search) Pattern is missing. Usage: $(list-search [options] <pattern> ${list})"),
                1 => err(at, "$(list-search) List is missing. Usage: $(list-search [options] <pattern> ${list})"),
                _ => {
                    // The pattern is matched as written (3.38 compiles it as a
                    // template too, but never uses the expansion).
                    let pattern = items.iter().find_map(|i| match i {
                        Item::Pos(a) => Some(a.arg_text()),
                        _ => None,
                    });
                    let is_pcre = mode.is_some_and(|(m, _)| m.text() == "pcre");
                    if let (true, Some(p)) = (is_pcre, &pattern) {
                        if !super::eval::list_search_pcre_compiles(&p.text) {
                            return err(at, format!("$(list-search) Failed to prepare pattern: {}", p.text));
                        }
                    }
                    let mut plan = planned_items(&items);
                    plan.extend(pattern.map(|p| Planned::Done(FuncArg::Raw(p))));
                    Ok(plan)
                }
            }
        }
        Shape::Hash => {
            let items = parse_options(rest, &[HASH_OPTS])?;
            if positional_count(&items) < 1 {
                return err(at, "$(hash) parsing failed, invalid number of arguments");
            }
            // syslog-ng 3.38 built with OpenSSL 3 (as Debian's is) refuses MD4.
            if f == BuiltinFunction::Md4 {
                return err(at, "MD4 hash function is not available starting with OpenSSL 3.0.");
            }
            Ok(planned_items(&items))
        }
        Shape::DnsResolveIp => {
            let items = parse_options(rest, &[DNS_RESOLVE_OPTS])?;
            if positional_count(&items) > 1 {
                return err(at, "dns-resolve-ip: too many arguments provided. usage: $(dns-resolve-ip [OPTIONS] IP)");
            }
            // the global `options {}` come first, so the call's own win
            let defaults = ctx.dns_defaults().into_iter().flat_map(|d| {
                let yesno = |b: bool| Some(ArgText { text: if b { "yes" } else { "no" }.to_owned(), offset: at });
                [
                    Planned::Done(FuncArg::Option { name: "use-dns", value: yesno(d.use_dns) }),
                    Planned::Done(FuncArg::Option { name: "use-fqdn", value: yesno(d.use_fqdn) }),
                    Planned::Done(FuncArg::Option { name: "normalize-hostnames", value: yesno(d.normalize_hostnames) }),
                ]
            });
            Ok(defaults.chain(planned_items(&items)).collect())
        }
        Shape::ValuePairs => plan_value_pairs(&parse_options(rest, &[VALUE_PAIRS_OPTS])?),
        Shape::FormatJson => plan_value_pairs(&parse_options(rest, &[VALUE_PAIRS_OPTS, FORMAT_JSON_OPTS])?),
        Shape::Slog => {
            let items = parse_options(rest, &[SLOG_OPTS])?;
            if positional_count(&items) < 1 {
                return err(
                    at,
                    "[SLOG] ERROR: Template parsing failed. Invalid number of arguments. Usage: $(slog --key-file FILE --mac-file FILE $RAWMSG)\\n",
                );
            }
            let option = |long: &str| {
                items.iter().rev().find_map(|item| match item {
                    Item::Opt { spec, value: Some((v, _)) } if spec.long == long => Some(v.text()),
                    _ => None,
                })
            };
            let Some(key_file) = option("key-file") else {
                return err(at, "[SLOG] ERROR: Template parsing failed. Invalid or missing key file");
            };
            // 3.38 checks the key file while it reads the options, so a configuration check
            // refuses a missing one too (the only file this module looks at).
            if !std::path::Path::new(&key_file).is_file() {
                return err(at, format!("Invalid path or non existing regular file: {key_file}"));
            }
            let Some(mac_file) = option("mac-file") else {
                return err(at, "[SLOG] ERROR: Template parsing failed. Invalid or missing MAC file");
            };
            let mut planned = Vec::with_capacity(items.len());
            if let Some(external) = ctx.external_functions() {
                let options = [("key-file", key_file.as_str()), ("mac-file", mac_file.as_str())];
                let prepared = external.prepare(f, &options).map_err(|message| TemplateError::new(at, message))?;
                planned.push(Planned::Done(FuncArg::External(super::ExternalRef(prepared))));
            }
            planned.extend(items.iter().filter(|i| matches!(i, Item::Pos(_))).map(planned_item));
            Ok(planned)
        }
        Shape::Graphite => {
            let items = parse_options(rest, &[VALUE_PAIRS_OPTS, GRAPHITE_OPTS])?;
            // `--timestamp` is a template of its own; 3.38 takes it out before the value-pairs
            // options are read, and the last one given wins.
            let timestamp = items.iter().rev().find_map(|item| match item {
                Item::Opt { spec, value: Some((v, _)) } if spec.long == "timestamp" => Some(Planned::Template(*v)),
                _ => None,
            });
            let pairs: Vec<Item<'_>> = items
                .into_iter()
                .filter(|item| !matches!(item, Item::Opt { spec, .. } if spec.long == "timestamp"))
                .collect();
            Ok(timestamp.into_iter().chain(plan_value_pairs(&pairs)?).collect())
        }
        Shape::Template => {
            let Some(first) = rest.first() else {
                return err(at, "$(template) requires one argument, that specifies the template name to be invoked");
            };
            let invoked = first.text();
            if ctx.has_template(&invoked) {
                // statically bound: the other arguments are unused
                let invoke = Planned::Done(FuncArg::Invoke(InvokeRef::new(Some(invoked), false, ctx)));
                Ok(std::iter::once(invoke).chain(rest.iter().map(raw)).collect())
            } else if invoked.contains('$') {
                let invoke = Planned::Done(FuncArg::Invoke(InvokeRef::new(None, false, ctx)));
                Ok(std::iter::once(invoke).chain(all_templates(rest)).collect())
            } else {
                err(first.start, format!("$(template) Unknown template function or template \"{invoked}\""))
            }
        }
    }
}

/// Resolves the function of a call (`args` non-empty) and plans its
/// arguments; the call is at `dollar` in `src`.
fn plan_call<'a>(
    ctx: &CompileContext,
    src: Src<'_>,
    dollar: usize,
    args: &'a [ArgBuf],
    depth: usize,
) -> Result<(Function, String, Vec<Planned<'a>>), TemplateError> {
    let Some((name_arg, rest)) = args.split_first() else {
        return err(src.off(dollar), IMBALANCED);
    };
    let at = src.off(dollar);
    let name = name_arg.text();
    if rest.len() > MAX_FUNCTION_ARGS {
        return err(
            at,
            format!(
                "too many arguments ({}) to template function \"{name}\", maximum number of arguments is {MAX_FUNCTION_ARGS}",
                rest.len()
            ),
        );
    }
    let function = if let Some(user) = ctx.user_function(&name) {
        Function::User(user.to_owned())
    } else if let Some(builtin) = BuiltinFunction::lookup(&name) {
        Function::Builtin(builtin)
    } else {
        return err(name_arg.start, format!("unknown template function \"{name}\""));
    };
    if depth >= MAX_NESTING_DEPTH {
        return err(at, format!("template functions nested too deeply (more than {MAX_NESTING_DEPTH} levels)"));
    }
    let plan = match &function {
        Function::User(user) => {
            if !rest.is_empty() {
                return err(at, format!("user defined template function $({user}) cannot have arguments"));
            }
            vec![Planned::Done(FuncArg::Invoke(InvokeRef::new(Some(user.clone()), true, ctx)))]
        }
        Function::Builtin(f) => plan_args(ctx, *f, &name, rest, at)?,
    };
    Ok((function, name, plan))
}

fn check_type_hint(hint: Src<'_>) -> Result<String, TemplateError> {
    let text = hint.text();
    if TYPE_HINTS.contains(&text.as_str()) {
        Ok(text)
    } else {
        err(hint.off(0), format!("unknown type specified in type hinting: {text}"))
    }
}

struct Compiler<'c> {
    ctx: &'c CompileContext,
}

impl Compiler<'_> {
    /// Compiles `src`, which is nested inside `depth` function calls.
    ///
    /// This, [`Compiler::function`] and [`Compiler::realize`] are the only
    /// frames on the stack per nesting level; keep them small.
    fn template(&self, src: Src<'_>, depth: usize) -> Result<Template, TemplateError> {
        let b = src.b;
        let mut elems: Vec<Elem> = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        let flush = |lit: &mut Vec<u8>, elems: &mut Vec<Elem>| {
            if !lit.is_empty() {
                elems.push(Elem::Literal(String::from_utf8_lossy(lit).into_owned()));
                lit.clear();
            }
        };

        let mut i = 0;
        while i < b.len() {
            let dollar = find(b, i, b'$').unwrap_or(b.len());
            lit.extend_from_slice(&b[i..dollar]);
            i = dollar;
            if i >= b.len() {
                break;
            }
            match b.get(i + 1).copied() {
                Some(b'{') => {
                    let start = i + 2;
                    let Some(close) = find(b, start, b'}') else {
                        return err(src.off(b.len()), "invalid macro, '}' is missing");
                    };
                    let inner = &b[start..close];
                    let (name, default) = match inner.iter().position(|&c| c == b':') {
                        None => (inner, None),
                        Some(colon) => match inner.get(colon + 1) {
                            Some(b'-') => (&inner[..colon], Some(&inner[colon + 2..])),
                            _ => return err(src.off(start + colon + 1), "unknown substitution function"),
                        },
                    };
                    let (context_ref, next) = parse_context_ref(b, close + 1);
                    i = next;
                    flush(&mut lit, &mut elems);
                    elems.push(Elem::Value(value_ref(name, default, context_ref)));
                }
                Some(b'(') => {
                    let (call, next) = self.function(src, i, depth)?;
                    i = next;
                    match call {
                        Some(call) => {
                            flush(&mut lit, &mut elems);
                            elems.push(Elem::Func(call));
                        }
                        // syslog-ng drops the text collected before an
                        // empty `$()`: "a$()b" renders as "b".
                        None => lit.clear(),
                    }
                }
                Some(c) if is_name_char(c) => {
                    let start = i + 1;
                    let mut end = start;
                    while end < b.len() && is_name_char(b[end]) {
                        end += 1;
                    }
                    flush(&mut lit, &mut elems);
                    elems.push(Elem::Value(value_ref(&b[start..end], None, None)));
                    i = end;
                }
                Some(b'*') => {
                    flush(&mut lit, &mut elems);
                    elems.push(Elem::Value(ValueRef {
                        name: "*".to_owned(),
                        kind: ValueKind::MatchAll,
                        default: None,
                        context_ref: None,
                    }));
                    i += 2;
                }
                Some(b'$') => {
                    lit.push(b'$');
                    i += 2;
                }
                // `$` before any other char, or at the end, is literal
                _ => {
                    lit.push(b'$');
                    i += 1;
                }
            }
        }
        flush(&mut lit, &mut elems);
        Ok(Template { elems })
    }

    /// `$(` at `dollar`: parses the call and returns it (`None` for an
    /// empty `$()`) with the position after it.
    fn function(
        &self,
        src: Src<'_>,
        dollar: usize,
        depth: usize,
    ) -> Result<(Option<Box<FuncCall>>, usize), TemplateError> {
        let (args, close) = split_args(src, dollar + 1)?;
        let (context_ref, next) = parse_context_ref(src.b, close + 1);
        if args.is_empty() {
            return Ok((None, next));
        }
        let (function, name, plan) = plan_call(self.ctx, src, dollar, &args, depth)?;
        let mut compiled = Vec::with_capacity(plan.len());
        for planned in plan {
            compiled.push(self.realize(planned, depth + 1)?);
        }
        Ok((Some(Box::new(FuncCall { function, name, args: compiled, context_ref })), next))
    }

    /// Compiles the templates of a planned argument at `depth`.
    fn realize(&self, planned: Planned<'_>, depth: usize) -> Result<FuncArg, TemplateError> {
        Ok(match planned {
            Planned::Template(src) => FuncArg::Template(self.template(src, depth)?),
            Planned::Pair { key, hint, value } => {
                let value = self.template(value, depth)?;
                let type_hint = match hint {
                    Some(hint) => Some(check_type_hint(hint)?),
                    None => None,
                };
                FuncArg::Pair { key, type_hint, value }
            }
            Planned::Filter { function, arg } => FuncArg::Filter(compile_filter(self.ctx, &function, arg, depth)?),
            Planned::Done(arg) => arg,
        })
    }
}

/// Splits the argument list of `$(` whose `(` is at `open`
/// (`log_template_compiler_process_arg_list`). Returns the arguments and
/// the position of the closing `)`.
fn split_args(src: Src<'_>, open: usize) -> Result<(Vec<ArgBuf>, usize), TemplateError> {
    let b = src.b;
    let mut c = open + 1;
    while c < b.len() && is_space(b[c]) {
        c += 1;
    }
    let mut args = Vec::new();
    let mut cur = ArgBuf::new(src.off(c));
    let mut has_value = false;
    let mut parens = 1usize;
    loop {
        let Some(&ch) = b.get(c) else {
            return err(src.off(b.len()), IMBALANCED);
        };
        match ch {
            b'\\' => {
                c += 1;
                let Some(&escaped) = b.get(c) else {
                    return err(src.off(b.len()), IMBALANCED);
                };
                cur.push(escaped, src.off(c));
                c += 1;
                has_value = true;
            }
            b'"' | b'\'' => {
                let Some(end) = find(b, c + 1, ch) else {
                    return err(src.off(c), IMBALANCED);
                };
                if parens == 1 {
                    cur.push_range(&src, c + 1, end);
                } else {
                    cur.push_range(&src, c, end + 1);
                }
                c = end + 1;
                has_value = true;
            }
            b')' if parens == 1 => break,
            _ if parens == 1 && is_space(ch) => {
                let next = ArgBuf::new(0);
                args.push(std::mem::replace(&mut cur, next).finish(src.off(c)));
                has_value = false;
                while c < b.len() && is_space(b[c]) {
                    c += 1;
                }
                cur.start = src.off(c);
            }
            _ => {
                match ch {
                    b'(' => parens += 1,
                    b')' => parens -= 1,
                    _ => {}
                }
                cur.push(ch, src.off(c));
                c += 1;
                has_value = true;
            }
        }
    }
    if has_value {
        args.push(cur.finish(src.off(c)));
    }
    Ok((args, c))
}

/// Compiles a filter argument with the context's hook, if it has one.
fn compile_filter(
    ctx: &CompileContext,
    function: &str,
    arg: ArgText,
    depth: usize,
) -> Result<FilterArg, TemplateError> {
    let compiled = match ctx.filter_compiler() {
        None => None,
        Some(hook) => {
            let outer = BASE_DEPTH.replace(depth);
            let result = hook(&arg.text);
            BASE_DEPTH.set(outer);
            match result {
                Ok(f) => Some(Arc::new(f)),
                Err(e) => {
                    return err(arg.offset, format!("$({function}) Error parsing conditional filter expression: {e}"))
                }
            }
        }
    };
    Ok(FilterArg { text: arg.text, offset: arg.offset, compiled })
}
