//! `csv-parser()`: delimiter-separated columns, as syslog-ng 3.38's csv-scanner reads them
//! (`lib/scanner/csv-scanner/csv-scanner.c`, `modules/csvparser/csvparser.c`).
//!
//! * Each column starts with an optional opening quote (one of the `quotes`/`quote-pairs()`
//!   characters); with `strip-whitespace` (on by default) leading spaces and tabs are skipped
//!   after it and trailing ones are removed from the value. Inside quotes, `escape-backslash`
//!   takes the byte after a backslash literally and `escape-double-char` reads a doubled quote
//!   as one; a closing quote just ends the quoting, the value goes on to the next delimiter.
//! * A delimiter is one of the `strings()` delimiters (tried first, in order) or one of the
//!   `chars()`; the default is a space.
//! * With `greedy`, the last column takes the rest of the input.
//! * A value equal to `null()` becomes empty.
//! * The input ends at its first NUL byte. Columns are set as they are scanned; with
//!   `drop-invalid` the parser fails when there were fewer values than columns or input left over.

use super::nv::{c_str, PrefixedName};
use super::scratch::Scratch;
use crate::message::LogMessage;

/// How quoted values escape their quote character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvDialect {
    #[default]
    EscapeNone,
    EscapeBackslash,
    EscapeDoubleChar,
}

/// The scanner settings of a `csv-parser()`.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub columns: Vec<String>,
    /// Single-byte delimiters (`delimiters("…")`, `chars()`).
    pub delimiters: Vec<u8>,
    /// Multi-byte delimiters (`strings()`), tried before the single-byte ones.
    pub string_delimiters: Vec<Vec<u8>>,
    /// Opening quote characters and, at the same index, the closing ones.
    pub quotes_start: Vec<u8>,
    pub quotes_end: Vec<u8>,
    /// `null()`: a value equal to it becomes empty; `None` when unset or empty.
    pub null_value: Option<Vec<u8>>,
    pub dialect: CsvDialect,
    pub strip_whitespace: bool,
    pub greedy: bool,
}

impl Default for CsvOptions {
    /// syslog-ng's defaults: space delimiter, `""` and `''` quotes, `strip-whitespace`.
    fn default() -> Self {
        CsvOptions {
            columns: Vec::new(),
            delimiters: b" ".to_vec(),
            string_delimiters: Vec::new(),
            quotes_start: b"\"'".to_vec(),
            quotes_end: b"\"'".to_vec(),
            null_value: None,
            dialect: CsvDialect::EscapeNone,
            strip_whitespace: true,
            greedy: false,
        }
    }
}

impl CsvOptions {
    /// `quote-pairs("[]{}")`: opening and closing characters alternate (a trailing odd one is
    /// dropped).
    pub fn set_quote_pairs(&mut self, pairs: &[u8]) {
        self.quotes_start = pairs.chunks_exact(2).map(|p| p[0]).collect();
        self.quotes_end = pairs.chunks_exact(2).map(|p| p[1]).collect();
    }

    /// `quotes("\"'")`: each character opens and closes.
    pub fn set_quotes(&mut self, quotes: &[u8]) {
        self.quotes_start = quotes.to_vec();
        self.quotes_end = quotes.to_vec();
    }

    /// `null("…")`; an empty string means none.
    pub fn set_null(&mut self, null: &[u8]) {
        self.null_value = (!null.is_empty()).then(|| null.to_vec());
    }
}

/// `csv-parser()`.
#[derive(Debug, Clone)]
pub struct CsvParser {
    options: CsvOptions,
    prefix: Option<String>,
    drop_invalid: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Columns,
    Greedy,
    Partial,
    Finish,
}

struct Scanner<'a> {
    o: &'a CsvOptions,
    src: &'a [u8],
    pos: usize,
    state: State,
    column: usize,
    quote: u8,
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn next_column(&mut self) -> bool {
        match self.state {
            State::Initial => {
                self.state = State::Columns;
                self.column = 0;
            }
            State::Columns | State::Greedy => self.column += 1,
            State::Partial | State::Finish => return false,
        }
        if self.column < self.o.columns.len() {
            true
        } else {
            self.state = State::Finish;
            false
        }
    }

    fn skip_ws(&mut self) {
        if self.o.strip_whitespace {
            while is_ws(self.at(self.pos)) {
                self.pos += 1;
            }
        }
    }

    fn delimiter(&mut self) -> bool {
        let rest = &self.src[self.pos..];
        for d in &self.o.string_delimiters {
            if rest.starts_with(d) {
                self.pos += d.len();
                return true;
            }
        }
        if self.o.delimiters.contains(&self.at(self.pos)) {
            self.pos += 1;
            return true;
        }
        false
    }

    /// The next value into `value`; `false` when there is no next column or no input left.
    fn scan(&mut self, value: &mut Vec<u8>) -> bool {
        value.clear();
        if !self.next_column() {
            return false;
        }
        let last = self.column + 1 == self.o.columns.len();
        if last && self.o.greedy {
            self.skip_ws();
            value.extend_from_slice(&self.src[self.pos..]);
            self.pos = self.src.len();
            self.state = State::Greedy;
        } else if self.pos >= self.src.len() {
            self.state = State::Partial;
            return false;
        } else {
            match self.o.quotes_start.iter().position(|&q| q == self.at(self.pos)) {
                Some(i) => {
                    self.pos += 1;
                    self.quote = self.o.quotes_end.get(i).copied().unwrap_or(0);
                }
                None => self.quote = 0,
            }
            self.skip_ws();
            while self.pos < self.src.len() {
                let c = self.src[self.pos];
                if self.quote != 0 {
                    let next = self.at(self.pos + 1);
                    let backslash = self.o.dialect == CsvDialect::EscapeBackslash && c == b'\\' && next != 0;
                    let doubled =
                        self.o.dialect == CsvDialect::EscapeDoubleChar && c == self.quote && next == self.quote;
                    if backslash || doubled {
                        // The escaping byte is dropped, the next one taken literally.
                        self.pos += 1;
                    } else if c == self.quote {
                        self.quote = 0;
                        self.pos += 1;
                        continue;
                    }
                    value.push(self.src[self.pos]);
                    self.pos += 1;
                } else {
                    if self.delimiter() {
                        break;
                    }
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        if self.o.strip_whitespace {
            while value.last().is_some_and(|&c| is_ws(c)) {
                value.pop();
            }
        }
        if self.o.null_value.as_deref() == Some(&value[..]) {
            value.clear();
        }
        true
    }

    fn complete(&self) -> bool {
        self.pos >= self.src.len() && self.state == State::Finish
    }
}

impl CsvParser {
    pub fn new(options: CsvOptions, prefix: Option<&str>, drop_invalid: bool) -> CsvParser {
        CsvParser { options, prefix: prefix.map(str::to_string), drop_invalid }
    }

    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        let mut scanner =
            Scanner { o: &self.options, src: c_str(input), pos: 0, state: State::Initial, column: 0, quote: 0 };
        let mut value = Scratch::take();
        let mut name = PrefixedName::new(self.prefix.as_deref().unwrap_or(""));
        while scanner.scan(&mut value) {
            let column = &self.options.columns[scanner.column];
            super::nv::set(msg, name.with(column.as_bytes()), &value);
        }
        !self.drop_invalid || scanner.complete()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;

    fn run(o: CsvOptions, drop_invalid: bool, input: &str) -> (bool, Vec<(String, String)>) {
        let p = CsvParser::new(o, None, drop_invalid);
        let mut m = LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC));
        let ok = p.parse(&mut m, input.as_bytes());
        let pairs = m
            .pairs()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        (ok, pairs)
    }

    fn cols(names: &[&str]) -> CsvOptions {
        CsvOptions { columns: names.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn columns_and_quotes() {
        assert_eq!(run(cols(&["a", "b"]), true, "x y"), (true, kv(&[("a", "x"), ("b", "y")])));
        assert_eq!(run(cols(&["a", "b"]), true, "\" x \" 'y z'"), (true, kv(&[("a", "x"), ("b", "y z")])));
        assert_eq!(run(cols(&["a", "b", "c"]), true, "x y"), (false, kv(&[("a", "x"), ("b", "y")])));
        assert_eq!(run(cols(&["a"]), true, "x y"), (false, kv(&[("a", "x")])));
        assert_eq!(run(cols(&["a"]), false, "x y"), (true, kv(&[("a", "x")])));
        assert_eq!(run(cols(&["a", "b"]), true, "\"ab\"cd e"), (true, kv(&[("a", "abcd"), ("b", "e")])));
    }

    #[test]
    fn greedy_null_and_dialects() {
        let mut o = cols(&["a", "b"]);
        o.greedy = true;
        o.delimiters = b",".to_vec();
        o.strip_whitespace = false;
        assert_eq!(run(o.clone(), true, "1,2,3"), (true, kv(&[("a", "1"), ("b", "2,3")])));
        o.greedy = false;
        o.set_null(b"-");
        o.dialect = CsvDialect::EscapeDoubleChar;
        assert_eq!(run(o.clone(), true, "-,\"a\"\"b\""), (true, kv(&[("a", ""), ("b", "a\"b")])));
        o.dialect = CsvDialect::EscapeBackslash;
        assert_eq!(run(o.clone(), true, "\"a\\\"b\",c"), (true, kv(&[("a", "a\"b"), ("b", "c")])));
        o.string_delimiters = vec![b"::".to_vec()];
        assert_eq!(run(o, true, "x::y"), (true, kv(&[("a", "x"), ("b", "y")])));
    }
}
