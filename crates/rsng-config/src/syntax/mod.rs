//! Parsing the preprocessed text with the pest grammar in `grammar/syslog-ng.pest`, and turning
//! pest's pairs into the [`ast`].

pub mod ast;

use std::borrow::Cow;

use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;

use crate::preprocess::pragma::unescape_double;
use ast::*;

#[derive(Parser)]
#[grammar = "../../../grammar/syslog-ng.pest"]
struct ConfigParser;

/// A syntax error: where, what was found, and what would have been accepted.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub span: Span,
    pub found: String,
    pub expected: Vec<String>,
}

impl SyntaxError {
    pub fn message(&self) -> String {
        format!("syntax error, unexpected {}", self.found)
    }

    pub fn expected_text(&self) -> Option<String> {
        if self.expected.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = self.expected.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        Some(match names.len() {
            1 => format!("expected {}", names[0]),
            n => format!("expected {} or {}", names[..n - 1].join(", "), names[n - 1]),
        })
    }
}

/// Parses a whole configuration text.
///
/// # Errors
/// The first syntax error.
pub fn parse(text: &str) -> Result<Config<'_>, SyntaxError> {
    let (config, error) = parse_partial(text);
    match error {
        Some(e) => Err(e),
        None => Ok(config),
    }
}

/// Parses statement by statement: returns every statement before the first syntax error, and
/// that error.
pub fn parse_partial(text: &str) -> (Config<'_>, Option<SyntaxError>) {
    let mut statements = Vec::new();
    let error = parse_each(text, |s| statements.push(s));
    (Config { statements }, error)
}

/// Parses statement by statement, handing each to `each` as soon as it is read, so a caller can
/// check and drop it before the next one is parsed; returns the first syntax error, if any.
pub fn parse_each<'a>(text: &'a str, each: impl FnMut(Statement<'a>)) -> Option<SyntaxError> {
    parse_each_at(text, 0, text.len(), each)
}

/// [`parse_each`] over `text[start..end]`, which must begin and end between statements; spans
/// stay offsets into the whole `text`.
pub fn parse_each_at<'a>(
    text: &'a str,
    start: usize,
    end: usize,
    mut each: impl FnMut(Statement<'a>),
) -> Option<SyntaxError> {
    let text = &text[..end];
    let mut pos = start;
    loop {
        pos = skip_trivia(text, pos);
        if pos >= text.len() {
            return None;
        }
        let rest = &text[pos..];
        BASE.with(|b| b.set(pos));
        match ConfigParser::parse(Rule::next_statements, rest) {
            Ok(mut pairs) => {
                let pair = pairs.next().expect("statements matched");
                let end = pair.as_span().end();
                for stmt in pair.into_inner() {
                    if stmt.as_rule() == Rule::EOI {
                        continue;
                    }
                    let stmt = statement(stmt);
                    if let Some(error) = PENDING.with(|p| p.borrow_mut().take()) {
                        return Some(error);
                    }
                    each(stmt);
                }
                if end == 0 {
                    return None;
                }
                pos += end;
            }
            Err(_) => {
                // Parse again with pest's detailed attempt tracking, which also records
                // literal tokens such as `;` (it costs time, so only on the error path).
                pest::set_error_detail(true);
                let detailed = ConfigParser::parse(Rule::next_statement, rest);
                pest::set_error_detail(false);
                let mut error = detailed.err().map(|e| convert_error(rest, e)).unwrap_or(SyntaxError {
                    span: 0..0,
                    found: "input".into(),
                    expected: Vec::new(),
                });
                error.span = error.span.start + pos..error.span.end + pos;
                if let Some(partial) = recover_statement(text, pos) {
                    each(partial);
                }
                return Some(error);
            }
        }
    }
}

/// The part of a broken object or `options` statement at `start` that parses: its header and the
/// items before the broken one.
fn recover_statement(source: &str, start: usize) -> Option<Statement<'_>> {
    BASE.with(|b| b.set(start));
    let rest = &source[start..];
    // The header first, built while BASE points at it.
    let (mut pos, object, item_rule) = if let Ok(mut head) = ConfigParser::parse(Rule::object_head, rest) {
        let head = head.next().expect("head matched");
        let end = head.as_span().end();
        let mut inner = head.into_inner();
        let kind = object_kind(inner.next()?);
        let name = text(inner.next()?);
        (start + end, Some((kind, name)), Rule::next_object_item)
    } else {
        let head = ConfigParser::parse(Rule::options_head, rest).ok()?.next().expect("head matched");
        (start + head.as_span().end(), None, Rule::next_call)
    };
    let mut items = Vec::new();
    let mut calls = Vec::new();
    loop {
        pos = skip_trivia(source, pos);
        BASE.with(|b| b.set(pos));
        let Ok(mut parsed) = ConfigParser::parse(item_rule, &source[pos..]) else { break };
        let pair = parsed.next().expect("item matched");
        let end = pair.as_span().end();
        if let Some(item) = pair.into_inner().find(|p| p.as_rule() != Rule::EOI) {
            match item.as_rule() {
                Rule::embedded_path => items.push(ObjectItem::Path(embedded_path(item))),
                _ if object.is_some() => items.push(ObjectItem::Driver(call(item))),
                _ => calls.push(call(item)),
            }
        }
        if end == 0 {
            break;
        }
        pos += end;
    }
    if object.is_some() {
        // The broken item: its driver name can still be checked.
        if let Ok(mut head) = ConfigParser::parse(Rule::item_head, &source[pos..]) {
            if let Some(word) = head.next().and_then(|h| h.into_inner().next()) {
                items.push(ObjectItem::Unfinished(Spanned { value: word.as_str(), span: span_of(&word) }));
            }
        }
    }
    // A problem inside the items is reported by the statement's own syntax error.
    PENDING.with(|p| p.borrow_mut().take());
    let span = start..pos;
    Some(match object {
        Some((kind, name)) => Statement::Object(ObjectDef { kind, name, items, span }),
        None => Statement::Options(calls, span),
    })
}

/// Skips whitespace, commas and comments (what the grammar treats as trivia).
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | 0x0c => pos += 1,
            b'#' => {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    pos
}

thread_local! {
    /// Offset of the statement being parsed in the whole text (pest sees only the rest).
    static BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// A syntax error found while building the tree of a statement (inside `condition()`).
    static PENDING: std::cell::RefCell<Option<SyntaxError>> = const { std::cell::RefCell::new(None) };
}

fn convert_error(text: &str, err: pest::error::Error<Rule>) -> SyntaxError {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| rule_name(*r)).collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut pos = pos;
    let mut expected: Vec<String> = expected.into_iter().map(str::to_string).collect();
    if let Some(attempts) = err.parse_attempts() {
        if attempts.max_position >= pos && !attempts.expected_tokens().is_empty() {
            // The detailed attempts name the literal tokens too: they replace the rule names.
            expected.clear();
            pos = attempts.max_position;
            let mut value_expected = false;
            for token in attempts.expected_tokens() {
                let mut token = token.to_string();
                // Single characters are written as ranges in the grammar (`'('..'('`).
                if let Some((a, b)) = token.split_once("..") {
                    if a == b && a.chars().count() == 1 {
                        token = a.to_string();
                    } else if a.trim().is_empty() {
                        // Whitespace.
                        continue;
                    } else if !a.is_empty() && !b.is_empty() {
                        // A character class: the start of a word.
                        value_expected = true;
                        continue;
                    }
                }
                let single_word_char =
                    token.chars().count() == 1 && token.bytes().all(crate::preprocess::pragma::is_word_byte);
                match token.as_str() {
                    "\"" | "'" => value_expected = true,
                    _ if single_word_char => value_expected = true,
                    // Whitespace, comments and rarely used constructs would only clutter the list.
                    "BUILTIN_RULE" | "#" | "," | "..." | ".." | "=>" => {}
                    t if t.trim().is_empty() => {}
                    _ => expected.push(format!("`{token}`")),
                }
            }
            if value_expected {
                expected.push("a value".to_string());
            }
        }
    }
    let (found, len) = token_at(text, pos);
    SyntaxError { span: pos..pos + len, found, expected }
}

/// Describes the token at `pos` for "unexpected ..." and returns its length.
fn token_at(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".into(), 0);
    };
    let word_len =
        rest.char_indices().find(|(_, c)| " \t\r\n#'\"(){}[]\\;,|@:`".contains(*c)).map_or(rest.len(), |(i, _)| i);
    if word_len > 0 {
        let w = &rest[..word_len];
        let w = w.trim_end_matches('.');
        let shown: String = w.chars().take(40).collect();
        return (format!("`{shown}`"), w.len().max(1));
    }
    match c {
        '"' | '\'' => ("string".into(), 1),
        _ => (format!("`{c}`"), c.len_utf8()),
    }
}

/// User-facing names of grammar rules, for "expected ..." lists.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::word | Rule::operand_word | Rule::dq_string | Rule::sq_string | Rule::item => "a value",
        Rule::object_name => "a name",
        Rule::call => "a driver or option `name(...)`",
        Rule::object_kind | Rule::ref_kind => "`source`, `destination`, `parser` or `rewrite`",
        Rule::kw_source => "`source`",
        Rule::kw_destination => "`destination`",
        Rule::kw_filter => "`filter`",
        Rule::kw_parser => "`parser`",
        Rule::kw_rewrite => "`rewrite`",
        Rule::kw_log => "`log`",
        Rule::kw_channel => "`channel`",
        Rule::kw_junction => "`junction`",
        Rule::kw_options => "`options`",
        Rule::kw_template => "`template`",
        Rule::kw_template_function => "`template-function`",
        Rule::kw_flags => "`flags(...)`",
        Rule::kw_if => "`if`",
        Rule::kw_elif => "`elif`",
        Rule::kw_else => "`else`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_not => "`not`",
        Rule::cmp_op => "a comparison operator",
        Rule::filter_seq | Rule::filter_or | Rule::filter_and | Rule::filter_not => "a filter expression",
        Rule::log_body => "a log path element",
        _ => return None,
    })
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    let base = BASE.with(|b| b.get());
    s.start() + base..s.end() + base
}

/// Decodes a `word`, `dq_string` or `sq_string` pair.
fn text<'a>(pair: Pair<'a, Rule>) -> Text<'a> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::dq_string => {
            let raw = pair.as_str();
            let inner = &raw[1..raw.len() - 1];
            let value = if inner.contains('\\') {
                Cow::Owned(unescape_double(raw).map(|(v, _)| v).unwrap_or_default())
            } else {
                Cow::Borrowed(inner)
            };
            Text { value, quoted: true, span }
        }
        Rule::sq_string => {
            let s = pair.as_str();
            Text { value: Cow::Borrowed(&s[1..s.len() - 1]), quoted: true, span }
        }
        Rule::object_name | Rule::template_value => {
            let inner = pair.into_inner().next().expect("name has content");
            text(inner)
        }
        _ => Text { value: Cow::Borrowed(pair.as_str()), quoted: false, span },
    }
}

fn statement<'a>(pair: Pair<'a, Rule>) -> Statement<'a> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::object_stmt => {
            let mut inner = pair.into_inner();
            let kind = object_kind(inner.next().expect("kind"));
            let name = text(inner.next().expect("name"));
            let items = object_body(inner.next().expect("body"));
            Statement::Object(ObjectDef { kind, name, items, span })
        }
        Rule::filter_stmt => {
            let mut inner = pair.into_inner();
            inner.next(); // keyword
            let name = text(inner.next().expect("name"));
            let expr = filter_seq(inner.next().expect("expr"));
            Statement::Filter(FilterDef { name, expr, span })
        }
        Rule::log_stmt => {
            let mut inner = pair.into_inner();
            inner.next();
            Statement::Log(log_body(inner.next().expect("body"), span))
        }
        Rule::options_stmt => {
            let calls = pair.into_inner().filter(|p| p.as_rule() == Rule::call).map(call).collect();
            Statement::Options(calls, span)
        }
        Rule::template_stmt => {
            let mut inner = pair.into_inner();
            inner.next();
            let name = text(inner.next().expect("name"));
            let body = inner.next().expect("body");
            let body = match body.as_rule() {
                Rule::template_block => {
                    TemplateBody::Block(body.into_inner().filter(|p| p.as_rule() == Rule::call).map(call).collect())
                }
                _ => {
                    let v = body.into_inner().next().expect("value");
                    TemplateBody::Simple(arg(v))
                }
            };
            Statement::Template(TemplateDef { name, body, span })
        }
        Rule::template_fn_stmt => {
            let mut inner = pair.into_inner();
            inner.next();
            let name = text(inner.next().expect("name"));
            let body = text(inner.next().expect("body"));
            Statement::TemplateFunction { name, body, span }
        }
        other => unreachable!("grammar admits no statement {other:?}"),
    }
}

fn object_kind<'a>(pair: Pair<'a, Rule>) -> ObjectKind {
    let kw = pair.into_inner().next().map(|p| p.as_rule());
    match kw {
        Some(Rule::kw_source) => ObjectKind::Source,
        Some(Rule::kw_destination) => ObjectKind::Destination,
        Some(Rule::kw_parser) => ObjectKind::Parser,
        Some(Rule::kw_rewrite) => ObjectKind::Rewrite,
        _ => ObjectKind::Filter,
    }
}

fn object_body<'a>(pair: Pair<'a, Rule>) -> Vec<ObjectItem<'a>> {
    pair.into_inner()
        .map(|p| match p.as_rule() {
            Rule::embedded_path => ObjectItem::Path(embedded_path(p)),
            _ => ObjectItem::Driver(call(p)),
        })
        .collect()
}

fn embedded_path<'a>(pair: Pair<'a, Rule>) -> LogPath<'a> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    inner.next();
    log_body(inner.next().expect("body"), span)
}

pub(crate) fn call<'a>(pair: Pair<'a, Rule>) -> Call<'a> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = inner.next().expect("call name");
    let name = Spanned { value: name.as_str(), span: span_of(&name) };
    let args = inner.next().map(|tail| tail.into_inner().map(arg).collect()).unwrap_or_default();
    Call { name, args, span }
}

fn arg<'a>(pair: Pair<'a, Rule>) -> Arg<'a> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::item => {
            let mut inner = pair.clone().into_inner();
            let word = inner.next().expect("item word");
            match inner.next() {
                None => Arg::Text(text(word)),
                Some(_) if word.as_str() == "condition" => condition(pair),
                Some(_) => Arg::Call(call(pair)),
            }
        }
        Rule::call => Arg::Call(call(pair)),
        Rule::group => Arg::Group(pair.into_inner().map(arg).collect(), span),
        Rule::dotdot => Arg::DotDot(span),
        Rule::dotdotdot => Arg::DotDotDot(span),
        Rule::arrow => Arg::Arrow(span),
        _ => Arg::Text(text(pair)),
    }
}

/// `condition(EXPR)`: the arguments, read as a generic call, are parsed again as a filter
/// expression. A failure is kept for [`parse_each`] to report after the statement.
fn condition<'a>(pair: Pair<'a, Rule>) -> Arg<'a> {
    let span = span_of(&pair);
    let text = pair.as_str();
    let open = text.find('(').map_or(0, |i| i + 1);
    let close = text.rfind(')').unwrap_or(text.len()).max(open);
    let inner = &text[open..close];
    let base = span.start + open;
    let outer = BASE.with(|b| b.replace(base));
    let parsed = ConfigParser::parse(Rule::condition_body, inner);
    let result = match parsed {
        Ok(mut pairs) => {
            let body = pairs.next().expect("condition body matched");
            let expr = body.into_inner().next().expect("filter expression");
            Arg::Condition(Box::new(filter_seq(expr)), span)
        }
        Err(_) => {
            pest::set_error_detail(true);
            let detailed = ConfigParser::parse(Rule::condition_body, inner);
            pest::set_error_detail(false);
            if let Some(mut error) = detailed.err().map(|e| convert_error(inner, e)) {
                error.span = error.span.start + base..error.span.end + base;
                pending(error);
            }
            Arg::Condition(Box::new(FilterExpr::And(Vec::new())), span)
        }
    };
    BASE.with(|b| b.set(outer));
    result
}

fn log_body<'a>(pair: Pair<'a, Rule>, span: Span) -> LogPath<'a> {
    let mut path = LogPath { items: Vec::new(), flags: Vec::new(), flags_span: None, span };
    for p in pair.into_inner() {
        let item_span = span_of(&p);
        match p.as_rule() {
            Rule::reference => {
                let mut inner = p.into_inner();
                let kind = object_kind(inner.next().expect("kind"));
                let name = text(inner.next().expect("name"));
                path.items.push(LogItem::Reference { kind, name, span: item_span });
            }
            Rule::inline_object => path.items.push(LogItem::Inline(inline_object(p))),
            Rule::conditional => path.items.push(LogItem::Conditional(conditional(p))),
            Rule::junction => {
                let forks = p.into_inner().filter(|p| p.as_rule() == Rule::embedded_path).map(embedded_path).collect();
                path.items.push(LogItem::Junction(forks, item_span));
            }
            Rule::embedded_path => path.items.push(LogItem::Fork(embedded_path(p))),
            Rule::log_flags => {
                path.flags_span = Some(item_span);
                path.flags = p.into_inner().filter(|p| p.as_rule() != Rule::kw_flags).map(text).collect();
            }
            other => unreachable!("grammar admits no log item {other:?}"),
        }
    }
    path
}

fn inline_object<'a>(pair: Pair<'a, Rule>) -> InlineObject<'a> {
    let inner = pair.into_inner().next().expect("inline object");
    let span = span_of(&inner);
    match inner.as_rule() {
        Rule::inline_filter => {
            let mut it = inner.into_inner();
            it.next();
            InlineObject::Filter(filter_seq(it.next().expect("expr")), span)
        }
        _ => {
            let mut it = inner.into_inner();
            let kind = object_kind(it.next().expect("kind"));
            let items = object_body(it.next().expect("body"));
            InlineObject::Object { kind, items, span }
        }
    }
}

fn conditional<'a>(pair: Pair<'a, Rule>) -> Conditional<'a> {
    let span = span_of(&pair);
    let mut branches = Vec::new();
    let mut otherwise = None;
    let mut cond: Option<FilterExpr> = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_if => {}
            Rule::if_cond => cond = Some(filter_seq(p.into_inner().next().expect("expr"))),
            Rule::log_body => {
                let s = span_of(&p);
                branches.push((cond.take(), log_body(p, s)));
            }
            Rule::elif_branch => {
                let mut c = None;
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::if_cond => c = Some(filter_seq(q.into_inner().next().expect("expr"))),
                        Rule::log_body => {
                            let s = span_of(&q);
                            branches.push((c.take(), log_body(q, s)));
                        }
                        _ => {}
                    }
                }
            }
            Rule::else_branch => {
                let body = p.into_inner().find(|q| q.as_rule() == Rule::log_body).expect("else body");
                let s = span_of(&body);
                otherwise = Some(log_body(body, s));
            }
            _ => {}
        }
    }
    Conditional { branches, otherwise, span }
}

fn filter_seq<'a>(pair: Pair<'a, Rule>) -> FilterExpr<'a> {
    let mut parts: Vec<FilterExpr> = pair.into_inner().map(filter_or).collect();
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        FilterExpr::And(parts)
    }
}

fn filter_or<'a>(pair: Pair<'a, Rule>) -> FilterExpr<'a> {
    let mut parts: Vec<FilterExpr> =
        pair.into_inner().filter(|p| p.as_rule() == Rule::filter_and).map(filter_and).collect();
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        FilterExpr::Or(parts)
    }
}

fn filter_and<'a>(pair: Pair<'a, Rule>) -> FilterExpr<'a> {
    let mut parts: Vec<FilterExpr> =
        pair.into_inner().filter(|p| p.as_rule() == Rule::filter_not).map(filter_not).collect();
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        FilterExpr::And(parts)
    }
}

fn filter_not<'a>(pair: Pair<'a, Rule>) -> FilterExpr<'a> {
    let mut negations = 0;
    let mut atom = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::negation => negations += 1,
            _ => atom = Some(filter_atom(p)),
        }
    }
    let mut expr = atom.expect("filter atom");
    // `not not x` is `x`: fold pairs of negations instead of nesting them.
    if negations % 2 == 1 {
        expr = FilterExpr::Not(Box::new(expr));
    }
    expr
}

fn filter_atom<'a>(pair: Pair<'a, Rule>) -> FilterExpr<'a> {
    match pair.as_rule() {
        Rule::filter_paren => filter_seq(pair.into_inner().next().expect("expr")),
        _ => filter_term(pair),
    }
}

fn filter_term<'a>(pair: Pair<'a, Rule>) -> FilterExpr<'a> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let lhs = inner.next().expect("operand");
    let Some(op) = inner.next() else {
        let first = lhs.into_inner().next().expect("operand content");
        if first.as_rule() == Rule::call {
            return FilterExpr::Call(call(first));
        }
        // A lone string or word is not a filter: syslog-ng wants an operator after it.
        let end = span.end;
        pending(SyntaxError {
            span: end..end,
            found: "the end of the expression".into(),
            expected: vec!["a comparison operator".into()],
        });
        return FilterExpr::And(Vec::new());
    };
    let op = Spanned { value: op.as_str(), span: span_of(&op) };
    let rhs = operand(inner.next().expect("rhs"));
    FilterExpr::Compare { lhs: operand(lhs), op, rhs }
}

fn pending(error: SyntaxError) {
    PENDING.with(|p| {
        p.borrow_mut().get_or_insert(error);
    });
}

fn operand<'a>(pair: Pair<'a, Rule>) -> Operand<'a> {
    let inner = pair.into_inner().next().expect("operand");
    match inner.as_rule() {
        Rule::call => {
            // A type hint: `int("$PID")` takes exactly one value.
            let c = call(inner);
            let mut args = c.args.into_iter();
            match (args.next(), args.next()) {
                (Some(Arg::Text(text)), None) => Operand { type_hint: Some(c.name), text },
                _ => {
                    pending(SyntaxError {
                        span: c.span.clone(),
                        found: format!("`{}(...)`", c.name.value),
                        expected: vec!["a value or a type hint such as `int(\"$PID\")`".into()],
                    });
                    Operand { type_hint: None, text: Text { value: Cow::Borrowed(""), quoted: true, span: c.span } }
                }
            }
        }
        _ => Operand { type_hint: None, text: text(inner) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_statements() {
        let cfg = parse(
            "source s { network(port(514) tls(peer-verify(yes))); };\n\
             filter f { level(err..emerg) and not program(\"x\") or \"$PID\" == 5; };\n\
             log { source(s); filter(f); if (facility(kern)) { destination { file(\"/x\"); }; } else { }; flags(final); };\n",
        )
        .unwrap();
        assert_eq!(cfg.statements.len(), 3);
    }

    #[test]
    fn missing_semicolon_points_at_next_token() {
        let text = "source s { internal() };\n";
        let err = parse(text).unwrap_err();
        assert_eq!(&text[err.span.clone()], "}");
    }

    #[test]
    fn at_sign_is_not_part_of_the_language() {
        assert!(parse("#version: 3.38\nlog { };\n").is_ok());
        assert!(parse("log { source(ex@1); };\n").is_err());
    }
}
