//! appmodel: `application NAME[TOPIC] { filter {...}; parser {...}; };` definitions and the
//! `app-parser()` generator that turns the applications of a topic into configuration text.
//!
//! syslog-ng keeps the bodies of an application as raw text and pastes them into the text
//! `app-parser()` generates where it is referenced, so only the applications defined before the
//! reference take part, and a body is checked only once it is used. rsng does the same here, in
//! the preprocessor: the grammar sees the generated channels, never the definitions.

use std::sync::Arc;

use super::backtick;
use super::buf::Buf;
use super::{expansion_kind, lookup_global, normalize, Preprocessor};
use crate::diagnostic::{codes, Diagnostic};
use crate::schema::Context;
use crate::source_map::FileSpan;

/// One `application NAME[TOPIC] {...};` definition.
#[derive(Debug)]
pub struct Application {
    pub name: String,
    /// The topic, or `*` for the defaults of every topic's application of this name.
    pub topic: String,
    /// The raw text between the braces of `filter {...}` and `parser {...}`.
    pub filter: Option<Buf>,
    pub parser: Option<Buf>,
}

impl Preprocessor<'_> {
    /// Reads an application definition starting at the `application` keyword at `start`.
    pub(super) fn define_application(&mut self, start: usize) {
        let mark = self.frame().emit_mark;
        self.emit(mark, start);
        let was_emitting = self.emitting;
        let first = self.span(start, start + 1);
        self.emitting = false;
        // Bodies are kept as written; backticks in them are substituted when they are used.
        self.raw_mode = true;
        let result = self.read_application(start);
        self.raw_mode = false;
        self.emitting = was_emitting;
        if self.frames.is_empty() {
            if let Err(d) = result {
                self.error(*d);
            }
            return;
        }
        let f = self.frame_mut();
        f.emit_mark = f.pos.min(f.line.text.len());
        let last = self.span(self.frame().pos.saturating_sub(1), self.frame().pos);
        if was_emitting && first.file == last.file && first.start <= last.end {
            // `--preprocess-into` shows the definition as written, as syslog-ng does.
            let text = self.map.file(first.file).text[first.start..last.end].to_string();
            self.display_insertions.push((self.out.len(), text));
        }
        match result {
            // A second definition of a name and topic replaces the first and moves to the end.
            Ok(app) => {
                self.applications.retain(|a| !(a.name == app.name && a.topic == app.topic));
                self.applications.push(Arc::new(app));
            }
            Err(d) => self.error(*d),
        }
        self.prev = super::Prev::Semi;
        self.item_word = None;
    }

    fn syntax_error(&self, expected: &str) -> Box<Diagnostic> {
        let pos = self.frame().pos;
        let span = self.span_at(pos);
        Diagnostic::error(codes::SYNTAX, format!("syntax error in application definition, expecting {expected}"))
            .at(span, format!("expected {expected}"))
            .help("an application is written `application NAME[TOPIC] { filter { ... }; parser { ... }; };`")
            .into()
    }

    /// The span of the byte at `pos` of the current line (its last byte at the end of the line).
    fn span_at(&self, pos: usize) -> FileSpan {
        let len = self.frame().line.text.len();
        let start = pos.min(len.saturating_sub(1));
        self.span(start, (start + 1).min(len))
    }

    /// Skips blanks and comments; an error naming `expected` at the end of the input.
    fn more(&mut self, expected: &str, start: usize) -> Result<(), Box<Diagnostic>> {
        if self.skip_blank() {
            return Ok(());
        }
        let at = self.span_at(start);
        Err(Diagnostic::error(
            codes::SYNTAX,
            format!("unexpected end of file in application definition, expecting {expected}"),
        )
        .at(at, "this application definition is not finished")
        .into())
    }

    /// A name: a word or a quoted string (its value).
    fn take_name(&mut self) -> Option<String> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                let f = self.frame_mut();
                let rest = &f.line.text[f.pos + 1..];
                let close = rest.find(q as char)?;
                let value = rest[..close].to_string();
                f.pos += close + 2;
                Some(value)
            }
            _ => self.take_word().map(|(w, _, _)| w),
        }
    }

    fn expect_byte(&mut self, byte: u8, start: usize) -> Result<(), Box<Diagnostic>> {
        let what = format!("`{}`", byte as char);
        self.more(&what, start)?;
        if self.peek() != Some(byte) {
            return Err(self.syntax_error(&what));
        }
        self.frame_mut().pos += 1;
        Ok(())
    }

    fn read_application(&mut self, start: usize) -> Result<Application, Box<Diagnostic>> {
        self.frame_mut().pos = start + "application".len();
        self.more("an application name", start)?;
        let name = self.take_name().ok_or_else(|| self.syntax_error("an application name"))?;
        self.expect_byte(b'[', start)?;
        self.more("a topic", start)?;
        let topic = self.take_name().ok_or_else(|| self.syntax_error("a topic"))?;
        self.expect_byte(b']', start)?;
        self.expect_byte(b'{', start)?;
        let mut app = Application { name, topic, filter: None, parser: None };
        loop {
            self.more("`filter`, `parser` or `}`", start)?;
            if self.peek() == Some(b'}') {
                self.frame_mut().pos += 1;
                break;
            }
            let Some((word, ws, we)) = self.take_word() else {
                return Err(self.syntax_error("`filter`, `parser` or `}`"));
            };
            let is_filter = match normalize(&word).as_str() {
                "filter" => true,
                "parser" => false,
                _ => {
                    return Err(Diagnostic::error(
                        codes::SYNTAX,
                        format!("unknown item `{word}` in application definition"),
                    )
                    .at(self.span(ws, we), "expected `filter` or `parser`")
                    .help("an application holds `filter { ... };` and `parser { ... };`")
                    .into())
                }
            };
            self.more("`{`", start)?;
            if self.peek() != Some(b'{') {
                return Err(self.syntax_error("`{`"));
            }
            let site = self.span(ws, we);
            let body = self.read_balanced(b'{', b'}').ok_or_else(|| {
                Diagnostic::error(codes::SYNTAX, format!("unclosed `{{` of `{word}` in application definition"))
                    .at(site, "this `{` is never closed")
            })?;
            if is_filter {
                app.filter = Some(body);
            } else {
                app.parser = Some(body);
            }
            // Each item ends with at least one `;`.
            self.expect_byte(b';', start)?;
            while self.skip_blank() && self.peek() == Some(b';') {
                self.frame_mut().pos += 1;
            }
        }
        self.expect_byte(b';', start)?;
        Ok(app)
    }

    /// Expands `app-parser(args)` whose name spans `start..end` of the current line.
    pub(super) fn expand_app_parser(&mut self, start: usize, end: usize) {
        let Some((args, site)) = self.read_reference_args("app-parser", start, end) else {
            return;
        };
        // Values are taken as written, quotes included, as syslog-ng compares them.
        let arg =
            |name: &str| args.iter().rev().find(|(n, _)| normalize(n) == normalize(name)).map(|(_, v)| v.as_str());
        let Some(topic) = arg("topic") else {
            self.error(
                Diagnostic::error(codes::GENERATOR, "app-parser() requires a topic() argument")
                    .at(site, "no `topic()` here")
                    .help("name the topic of the applications to apply, e.g. `app-parser(topic(syslog))`"),
            );
            return;
        };
        let auto_parse = arg("auto-parse").is_none_or(is_yes);
        let include = arg("auto-parse-include");
        let exclude = arg("auto-parse-exclude");
        let mut text = Buf::default();
        const NONE_MATCHED: &str = "\nchannel { filter { tags('.app.doesnotexist'); }; flags(final); };";
        if auto_parse {
            text.push_substituted("\nchannel {\n    junction {\n", site);
            for app in self.applications.iter().filter(|a| a.topic == topic) {
                // syslog-ng tests the lists with a substring search for the name.
                if include.is_some_and(|list| !list.contains(app.name.as_str()))
                    || exclude.is_some_and(|list| list.contains(app.name.as_str()))
                {
                    continue;
                }
                let base = self.applications.iter().find(|b| b.name == app.name && b.topic == "*");
                let filter = app.filter.as_ref().or(base.and_then(|b| b.filter.as_ref()));
                let parser = app.parser.as_ref().or(base.and_then(|b| b.parser.as_ref()));
                let name = &app.name;
                text.push_substituted(&format!("\n#Start Application {name}\nchannel {{\n"), site);
                if let Some(body) = filter {
                    text.push_substituted("    filter { ", site);
                    text.push_slice(body, 0, body.text.len());
                    text.push_substituted(" };\n", site);
                }
                if let Some(body) = parser {
                    text.push_substituted("    parser { ", site);
                    text.push_slice(body, 0, body.text.len());
                    text.push_substituted(" };\n", site);
                }
                text.push_substituted(
                    &format!(
                        "    rewrite {{\n       set-tag('.app.{name}');\n       set('{name}' value('.app.name'));\n    \
                         }};\n    flags(final);\n}};\n\n#End Application {name}\n"
                    ),
                    site,
                );
            }
            text.push_substituted(NONE_MATCHED, site);
            text.push_substituted("    };\n}", site);
        } else {
            text.push_substituted(NONE_MATCHED, site);
        }
        // The generated text goes through backtick substitution, as syslog-ng includes it.
        let globals = &self.globals;
        let env = self.opts.use_environment;
        let mut lookup = |n: &str| lookup_global(globals, env, n);
        let mut body = Buf::default();
        if let Err(e) = backtick::substitute(&text, &mut lookup, &mut body) {
            let span = text.span(e.at, e.at + 1).unwrap_or(site);
            self.error(
                Diagnostic::error(codes::BACKTICK, format!("error in backtick substitution: {}", e.message))
                    .at(span, "here"),
            );
            return;
        }
        let expansion = self.add_expansion(expansion_kind(Context::Parser, "app-parser", true), site);
        let start_marker = "\n#Start Block parser generator app-parser\n".to_string();
        let end_marker = "\n#End Block parser generator app-parser\n".to_string();
        self.push_prepared(body, expansion, start_marker, end_marker, site);
    }
}

/// syslog-ng's yes/no test of a generator argument: `yes` (any case) or a positive number.
fn is_yes(value: &str) -> bool {
    value.eq_ignore_ascii_case("yes") || leading_int(value) > 0
}

/// The number at the start of `text`, as C's `atoi` reads it (0 when there is none).
fn leading_int(text: &str) -> i64 {
    let t = text.trim_start();
    let (sign, digits) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let n: i64 = digits.bytes().take_while(u8::is_ascii_digit).take(18).fold(0, |n, d| n * 10 + i64::from(d - b'0'));
    sign * n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_as_syslog_ng_reads_it() {
        assert!(is_yes("yes") && is_yes("YES") && is_yes("1") && is_yes("12abc"));
        assert!(!is_yes("no") && !is_yes("0") && !is_yes("-1") && !is_yes("on") && !is_yes("\"yes\""));
    }
}
