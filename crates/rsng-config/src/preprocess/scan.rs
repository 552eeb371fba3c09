//! Token-level scanning of the current line: strings, comments, nesting, and spotting the
//! places where a `block` definition or a block reference stands.

use super::buf::Buf;
use super::pragma::is_word_byte;
use super::{normalize, CtxEntry, Preprocessor, Prev, MAX_NESTING};
use crate::diagnostic::{codes, Diagnostic};
use crate::schema::{self, Context};

impl Preprocessor<'_> {
    /// Scans one token of the current line.
    pub(super) fn step(&mut self) {
        let (byte, next) = {
            let f = self.frame();
            let bytes = f.line.text.as_bytes();
            (bytes[f.pos], bytes.get(f.pos + 1).copied())
        };
        if let Some(q) = self.in_string {
            self.scan_string(q);
            return;
        }
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | 0x0c => self.frame_mut().pos += 1,
            b'#' => {
                let f = self.frame_mut();
                f.pos = f.line.text.len();
            }
            b'"' | b'\'' => {
                self.in_string = Some(byte);
                let pos = self.frame().pos;
                self.string_opener = Some(self.span(pos, pos + 1));
                self.frame_mut().pos += 1;
                self.scan_string(byte);
            }
            b'\\' if next == Some(b'\n') || next == Some(b'\r') => {
                // Line continuation outside strings: both characters vanish.
                let pos = self.frame().pos;
                let mark = self.frame().emit_mark;
                self.emit(mark, pos);
                let bytes = self.frame().line.text.as_bytes();
                let skip = if next == Some(b'\r') && bytes.get(pos + 2) == Some(&b'\n') { 3 } else { 2 };
                let f = self.frame_mut();
                f.pos = (pos + skip).min(f.line.text.len());
                f.emit_mark = f.pos;
            }
            b'{' => {
                let ctx = self.brace_context();
                self.ctx.push(CtxEntry { ctx, parens: 0 });
                self.frame_mut().pos += 1;
                self.prev = Prev::Open;
                self.item_word = None;
                self.check_nesting();
            }
            b'}' => {
                if self.ctx.len() > 1 {
                    self.ctx.pop();
                }
                self.frame_mut().pos += 1;
                self.prev = Prev::Close;
                self.item_word = None;
            }
            b'(' => {
                if let Some(top) = self.ctx.last_mut() {
                    top.parens += 1;
                }
                self.frame_mut().pos += 1;
                self.prev = Prev::ParenOpen;
                self.check_nesting();
            }
            b')' => {
                if let Some(top) = self.ctx.last_mut() {
                    top.parens = top.parens.saturating_sub(1);
                }
                self.frame_mut().pos += 1;
                self.prev = Prev::ParenClose;
            }
            b';' => {
                if self.emitting && self.ctx.len() == 1 && self.ctx[0].parens == 0 {
                    // Lines are emitted lazily: this `;` lands at the end of the output plus
                    // what of its line is still to be emitted.
                    let f = self.frame();
                    self.statement_ends.push(self.out.len() + (f.pos + 1 - f.emit_mark));
                }
                self.frame_mut().pos += 1;
                self.prev = Prev::Semi;
                self.item_word = None;
            }
            b if is_word_byte(b) => self.word(),
            _ => {
                let f = self.frame_mut();
                f.pos += f.line.text[f.pos..].chars().next().map_or(1, char::len_utf8);
                self.prev = Prev::Other;
            }
        }
    }

    fn check_nesting(&mut self) {
        let depth = self.ctx.len() + self.ctx.last().map_or(0, |c| c.parens);
        if depth > MAX_NESTING {
            let pos = self.frame().pos;
            let span = self.span(pos.saturating_sub(1), pos);
            self.error(
                Diagnostic::error(codes::NESTING, format!("nesting deeper than {MAX_NESTING} levels"))
                    .at(span, "too deep"),
            );
        }
    }

    fn scan_string(&mut self, quote: u8) {
        let f = self.frame_mut();
        let bytes = f.line.text.as_bytes();
        let mut i = f.pos;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b if b == quote => {
                    f.pos = i + 1;
                    self.in_string = None;
                    self.prev = Prev::Word;
                    return;
                }
                _ => i += 1,
            }
        }
        f.pos = bytes.len();
    }

    /// Reads a word (with single dots between runs, like `127.0.0.1`) and acts on it.
    fn word(&mut self) {
        let (start, end, word) = {
            let f = self.frame();
            let bytes = f.line.text.as_bytes();
            let start = f.pos;
            let mut i = start;
            loop {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                if i + 1 < bytes.len() && bytes[i] == b'.' && is_word_byte(bytes[i + 1]) {
                    i += 1;
                    continue;
                }
                break;
            }
            (start, i, f.line.text[start..i].to_string())
        };
        self.frame_mut().pos = end;
        let statement_start = matches!(self.prev, Prev::Start | Prev::Semi | Prev::Open | Prev::Close);
        let top = self.ctx.last().cloned().unwrap_or(CtxEntry { ctx: None, parens: 0 });
        if statement_start && top.parens == 0 && top.ctx == Some(Context::Root) && word == "block" {
            self.define_block(start);
            return;
        }
        if statement_start && top.parens == 0 && top.ctx == Some(Context::Root) && word == "application" {
            self.define_application(start);
            return;
        }
        // appmodel's generator: built in, and it wins over a block of the same name.
        if statement_start
            && top.parens == 0
            && top.ctx == Some(Context::Parser)
            && normalize(&word) == "app_parser"
            && self.followed_by_paren()
        {
            self.expand_app_parser(start, end);
            return;
        }
        if let Some(ctx) = top.ctx {
            let candidate = match ctx {
                Context::Filter => {
                    matches!(self.prev, Prev::Start | Prev::Semi | Prev::Open | Prev::ParenOpen)
                        || (self.prev == Prev::Word && self.last_was_operator)
                }
                _ => statement_start && top.parens == 0,
            };
            if candidate && self.followed_by_paren() && !is_builtin(ctx, &word) {
                let key = (ctx, normalize(&word));
                if self.generators.contains_key(&key) || self.blocks.contains_key(&key) {
                    self.expand_reference(ctx, &word, start, end);
                    return;
                }
            }
        }
        if statement_start {
            self.item_word = Some(normalize(&word));
        }
        self.last_was_operator = matches!(word.as_str(), "and" | "or" | "not");
        self.prev = Prev::Word;
    }

    fn followed_by_paren(&self) -> bool {
        let f = self.frame();
        f.line.text[f.pos..].trim_start_matches([' ', '\t', ',']).starts_with('(')
    }

    /// Decides what statement context a `{` opens.
    fn brace_context(&self) -> Option<Context> {
        let current = self.ctx.last().and_then(|c| c.ctx);
        let item = self.item_word.as_deref().unwrap_or("");
        let object = match item {
            "source" => Some(Context::Source),
            "destination" => Some(Context::Destination),
            "filter" => Some(Context::Filter),
            "parser" => Some(Context::Parser),
            "rewrite" => Some(Context::Rewrite),
            _ => None,
        };
        match current {
            Some(Context::Root) => match item {
                "log" => Some(Context::Log),
                "options" => Some(Context::Options),
                _ => object,
            },
            Some(Context::Log) => object.or(Some(Context::Log)),
            Some(Context::Source | Context::Destination | Context::Parser | Context::Rewrite)
                if matches!(item, "log" | "channel") =>
            {
                Some(Context::Log)
            }
            _ => None,
        }
    }

    /// Skips whitespace, commas, comments and line ends (fetching lines as needed); returns false
    /// at the end of the frame.
    pub(super) fn skip_blank(&mut self) -> bool {
        loop {
            let at_end = {
                let f = self.frame();
                f.pos >= f.line.text.len()
            };
            if at_end {
                if !self.next_line() {
                    return false;
                }
                continue;
            }
            let f = self.frame_mut();
            match f.line.text.as_bytes()[f.pos] {
                b' ' | b'\t' | b'\r' | b'\n' | b',' | 0x0c => f.pos += 1,
                b'#' => f.pos = f.line.text.len(),
                _ => return true,
            }
        }
    }

    /// Reads a word at the current position (after [`Self::skip_blank`]).
    pub(super) fn take_word(&mut self) -> Option<(String, usize, usize)> {
        let f = self.frame_mut();
        let bytes = f.line.text.as_bytes();
        let start = f.pos;
        let mut i = start;
        while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
            i += 1;
        }
        if i == start {
            return None;
        }
        f.pos = i;
        Some((f.line.text[start..i].to_string(), start, i))
    }

    /// The byte at the current position, if any.
    pub(super) fn peek(&self) -> Option<u8> {
        let f = self.frame();
        f.line.text.as_bytes().get(f.pos).copied()
    }

    /// Reads the text between an opening delimiter at the current position and its balanced
    /// closer, across lines, honouring strings and comments. The result keeps its provenance.
    pub(super) fn read_balanced(&mut self, open: u8, close: u8) -> Option<Buf> {
        debug_assert_eq!(self.peek(), Some(open));
        self.frame_mut().pos += 1;
        let mut out = Buf::default();
        let mut depth = 1usize;
        let mut quote: Option<u8> = None;
        loop {
            let (len, pos) = {
                let f = self.frame();
                (f.line.text.len(), f.pos)
            };
            if pos >= len {
                if !self.next_line() {
                    return None;
                }
                continue;
            }
            let f = self.frames.last_mut().expect("a frame is active");
            let bytes = f.line.text.as_bytes();
            let mut i = f.pos;
            let mut done = false;
            while i < bytes.len() {
                let b = bytes[i];
                if let Some(q) = quote {
                    if b == b'\\' && q == b'"' {
                        i += 2;
                        continue;
                    }
                    if b == q {
                        quote = None;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' | b'\'' => quote = Some(b),
                    b'#' => {
                        i = bytes.len();
                        continue;
                    }
                    b if b == open => depth += 1,
                    b if b == close => {
                        depth -= 1;
                        if depth == 0 {
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            let end = i.min(bytes.len());
            out.push_slice(&f.line, f.pos, end);
            if done {
                f.pos = end + 1;
                return Some(out);
            }
            f.pos = bytes.len();
        }
    }
}

/// Built-in drivers win over blocks of the same name, as in syslog-ng.
fn is_builtin(ctx: Context, name: &str) -> bool {
    match ctx {
        Context::Source | Context::Destination | Context::Parser | Context::Rewrite => {
            schema::builtin_driver(ctx, name)
        }
        Context::Filter => schema::FILTER_FUNCTIONS.iter().any(|f| schema::same_name(f, name)),
        Context::Log => matches!(
            name,
            "source"
                | "destination"
                | "filter"
                | "parser"
                | "rewrite"
                | "log"
                | "channel"
                | "junction"
                | "flags"
                | "if"
                | "elif"
                | "else"
        ),
        Context::Options | Context::Root => false,
    }
}
