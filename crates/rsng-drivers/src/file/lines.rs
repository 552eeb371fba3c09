//! How the file family cuts a byte stream into messages, as syslog-ng's text, multi-line and
//! padded-record readers do.
//!
//! * Lines end at `\n` or at a NUL byte; trailing `\r`, `\n` and NUL bytes are removed.
//! * A line that does not fit into `log-msg-size()` bytes is cut there; the rest is the next
//!   message.
//! * `multi-line-mode(indented)`: lines that start with a space or a tab continue the message
//!   before them. A message is complete when the next complete line does not continue it.
//! * `multi-line-mode(prefix-garbage)` / `regexp`: a line matching `multi-line-prefix()` starts
//!   a new message; a line where `multi-line-garbage()` matches ends the message right before
//!   the match (the rest of that line is dropped).
//! * `multi-line-mode(prefix-suffix)`: as above, but the message ends right after the match of
//!   `multi-line-suffix()`.
//! * `pad-size(N)`: fixed records of `N` bytes; the message is the record up to its first `\n`
//!   or NUL.

use pcre2::bytes::{Regex, RegexBuilder};

/// How lines are joined into messages.
#[derive(Debug, Clone)]
pub enum MultiLine {
    None,
    Indented,
    /// Prefix starts a message; the garbage match ends it (excluded).
    PrefixGarbage {
        prefix: Option<Regex>,
        garbage: Option<Regex>,
    },
    /// Prefix starts a message; the suffix match ends it (included).
    PrefixSuffix {
        prefix: Option<Regex>,
        suffix: Option<Regex>,
    },
}

/// Compiles a `multi-line-prefix()`/`multi-line-garbage()` pattern as syslog-ng does (PCRE,
/// bytes, no UTF mode).
///
/// # Errors
/// The PCRE compile error, worded as syslog-ng words it.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new().utf(false).jit_if_available(true).build(pattern).map_err(|e| {
        format!(
            "Error while compiling multi-line regexp as a PCRE expression, error={e}, error_at={}",
            e.offset().unwrap_or(0)
        )
    })
}

/// One step of [`Splitter::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A message (line ends removed) and how many input bytes it used up.
    Frame { message: &'a [u8], consumed: usize },
    /// No complete message in the input yet.
    NeedMore,
}

/// The reader's framing state: which line ends were already accepted into the message being
/// built.
#[derive(Debug, Clone)]
pub struct Splitter {
    mode: MultiLine,
    max_msg_size: usize,
    pad_size: usize,
    /// Offset of the line end of the last line accepted into the pending message.
    accepted_eol: Option<usize>,
}

/// What the multi-line rules decide for the line ending at an end of line.
enum Verdict {
    /// The message is `input[..len]`; `consumed` bytes are used up.
    Extract { len: usize, consumed: usize },
    /// The line belongs to the message; look at the next one.
    Wait,
}

impl Splitter {
    /// A splitter for `log-msg-size()` `max_msg_size` (at least 1).
    pub fn new(mode: MultiLine, max_msg_size: usize, pad_size: usize) -> Splitter {
        Splitter { mode, max_msg_size: max_msg_size.max(1), pad_size, accepted_eol: None }
    }

    /// Whether lines are joined (a partial message may be pending at the end of the input).
    pub fn is_multi_line(&self) -> bool {
        !matches!(self.mode, MultiLine::None)
    }

    /// The next message at the start of `input`. `closed`: no more input will come (a pipe or
    /// a program's output at EOF), so a last unterminated line is a message too.
    pub fn next<'a>(&mut self, input: &'a [u8], closed: bool) -> Step<'a> {
        if self.pad_size > 0 {
            return self.next_record(input, closed);
        }
        let window = &input[..input.len().min(self.max_msg_size)];
        loop {
            let from = self.accepted_eol.map_or(0, |e| e + 1);
            let Some(eol) = find_eom(&window[from.min(window.len())..]).map(|i| i + from) else {
                if window.len() >= self.max_msg_size || (closed && !window.is_empty()) {
                    return self.whole(window);
                }
                return Step::NeedMore;
            };
            match self.verdict(window, eol) {
                Verdict::Extract { len, consumed } => {
                    self.accepted_eol = None;
                    return Step::Frame { message: strip_line_end(&window[..len]), consumed };
                }
                Verdict::Wait => self.accepted_eol = Some(eol),
            }
        }
    }

    /// Everything pending as one message (`multi-line-timeout()` elapsed, or the input ended).
    /// The bytes are passed on as they are, line ends included.
    pub fn flush<'a>(&mut self, input: &'a [u8]) -> Step<'a> {
        self.accepted_eol = None;
        if input.is_empty() {
            return Step::NeedMore;
        }
        let n = input.len().min(self.max_msg_size);
        Step::Frame { message: &input[..n], consumed: n }
    }

    /// Forgets a partly accepted message (the input was reset to another file or position).
    pub fn reset(&mut self) {
        self.accepted_eol = None;
    }

    fn whole<'a>(&mut self, window: &'a [u8]) -> Step<'a> {
        self.accepted_eol = None;
        Step::Frame { message: strip_line_end(window), consumed: window.len() }
    }

    fn next_record<'a>(&mut self, input: &'a [u8], closed: bool) -> Step<'a> {
        let n = self.pad_size;
        if input.len() < n {
            if closed && !input.is_empty() {
                let end = find_eom(input).unwrap_or(input.len());
                return Step::Frame { message: &input[..end], consumed: input.len() };
            }
            return Step::NeedMore;
        }
        let record = &input[..n];
        let end = find_eom(record).unwrap_or(n);
        Step::Frame { message: &record[..end], consumed: n }
    }

    fn verdict(&self, input: &[u8], eol: usize) -> Verdict {
        let start = self.accepted_eol.map_or(0, |e| e + 1);
        let line = &input[start..eol];
        let initial = self.accepted_eol.is_none();
        match &self.mode {
            MultiLine::None => Verdict::Extract { len: eol, consumed: eol + 1 },
            MultiLine::Indented => {
                // The first line always waits for the next one; an empty next line is taken in.
                match (self.accepted_eol, line.first()) {
                    (Some(prev), Some(&c)) if c != b' ' && c != b'\t' => {
                        Verdict::Extract { len: prev, consumed: prev + 1 }
                    }
                    _ => Verdict::Wait,
                }
            }
            MultiLine::PrefixGarbage { prefix, garbage } => {
                let end = garbage.as_ref().and_then(|re| match_range(re, line)).map(|(s, _)| s);
                regexp_verdict(prefix.as_ref(), end, line, start, eol, initial, self.accepted_eol)
            }
            MultiLine::PrefixSuffix { prefix, suffix } => {
                let end = suffix.as_ref().and_then(|re| match_range(re, line)).map(|(_, e)| e);
                regexp_verdict(prefix.as_ref(), end, line, start, eol, initial, self.accepted_eol)
            }
        }
    }
}

fn regexp_verdict(
    prefix: Option<&Regex>,
    end_in_line: Option<usize>,
    line: &[u8],
    start: usize,
    eol: usize,
    initial: bool,
    accepted_eol: Option<usize>,
) -> Verdict {
    if let Some(end) = end_in_line {
        return Verdict::Extract { len: start + end, consumed: eol + 1 };
    }
    if !initial && prefix.is_some_and(|re| re.is_match(line).unwrap_or(false)) {
        let prev = accepted_eol.unwrap_or(0);
        return Verdict::Extract { len: prev, consumed: prev + 1 };
    }
    Verdict::Wait
}

fn match_range(re: &Regex, line: &[u8]) -> Option<(usize, usize)> {
    re.find(line).ok().flatten().map(|m| (m.start(), m.end()))
}

/// The first end of message: `\n` or NUL.
fn find_eom(s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b'\n' || c == 0)
}

/// Removes trailing `\r`, `\n` and NUL bytes.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n' | 0) {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &mut Splitter, input: &[u8], closed: bool) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Step::Frame { message, consumed } = s.next(&input[pos..], closed) {
            out.push(String::from_utf8_lossy(message).into_owned());
            pos += consumed;
        }
        (out, pos)
    }

    #[test]
    fn lines_end_at_newline_or_nul() {
        let mut s = Splitter::new(MultiLine::None, 100, 0);
        let (msgs, used) = split(&mut s, b"a\0b\r\nc\n\npartial", false);
        assert_eq!(msgs, ["a", "b", "c", ""]);
        assert_eq!(used, 8);
        let (msgs, _) = split(&mut s, b"partial", true);
        assert_eq!(msgs, ["partial"]);
    }

    #[test]
    fn long_lines_are_cut_at_log_msg_size() {
        let mut s = Splitter::new(MultiLine::None, 4, 0);
        let (msgs, used) = split(&mut s, b"abcdefg\nxy\n", false);
        assert_eq!(msgs, ["abcd", "efg", "xy"]);
        assert_eq!(used, 11);
    }

    #[test]
    fn indented_lines_continue_a_message() {
        let mut s = Splitter::new(MultiLine::Indented, 1000, 0);
        let (msgs, used) = split(&mut s, b"first\n  more\n\tand more\nsecond\n third\n", false);
        assert_eq!(msgs, ["first\n  more\n\tand more"]);
        assert_eq!(used, 23);
        // The second message waits for a line that does not continue it.
        let (msgs, _) = split(&mut s, b"second\n third\nx", false);
        assert!(msgs.is_empty());
        let (msgs, used) = split(&mut s, b"second\n third\nx\n", false);
        assert_eq!(msgs, ["second\n third"]);
        assert_eq!(used, 14);
    }

    #[test]
    fn prefix_garbage_and_prefix_suffix() {
        let prefix = compile_pattern("^START").ok();
        let garbage = compile_pattern("GARBAGE").ok();
        let mut s = Splitter::new(MultiLine::PrefixGarbage { prefix: prefix.clone(), garbage }, 1000, 0);
        let (msgs, _) = split(&mut s, b"START one\ncont\nSTART two\nend GARBAGE x\nSTART three\n", false);
        assert_eq!(msgs, ["START one\ncont", "START two\nend "]);
        let suffix = compile_pattern("END").ok();
        let mut s = Splitter::new(MultiLine::PrefixSuffix { prefix, suffix }, 1000, 0);
        let (msgs, _) = split(&mut s, b"START a\nb END rest\nSTART c\n", false);
        assert_eq!(msgs, ["START a\nb END"]);
    }

    #[test]
    fn padded_records() {
        let mut s = Splitter::new(MultiLine::None, 1000, 8);
        let (msgs, used) = split(&mut s, b"abc\0\0\0\0\0defghijkxy", false);
        assert_eq!(msgs, ["abc", "defghijk"]);
        assert_eq!(used, 16);
    }

    #[test]
    fn flush_returns_everything_pending() {
        let mut s = Splitter::new(MultiLine::Indented, 1000, 0);
        let (msgs, _) = split(&mut s, b"a\n b\n", false);
        assert!(msgs.is_empty());
        assert_eq!(s.flush(b"a\n b\n"), Step::Frame { message: b"a\n b\n", consumed: 5 });
    }
}
