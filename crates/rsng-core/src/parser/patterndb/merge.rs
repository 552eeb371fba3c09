//! `pdbtool merge`: the rulesets of many patterndb files in one file, as syslog-ng 3.38's
//! `pdbtool merge` writes it (`modules/dbparser/pdbtool/pdbtool.c`).
//!
//! Each file's elements are written again inside one `<patterndb version='4'>`: the files' own
//! `<patterndb>` tags are left out, attributes are written `name='value'`, comments and
//! processing instructions and CDATA sections are dropped, text and attribute values are escaped as GLib's
//! `g_markup_escape_text` does, and the old (version 1) layout is brought up to date:
//! `<program>` becomes `<ruleset>`, and a rule's bare `<pattern>`/`<url>` get a
//! `<patterns>`/`<urls>` around each.

use std::path::Path;

use roxmltree::{Document, Node, NodeType};

/// The start of a merged file (the date is the day of the merge).
pub fn header(year: i16, month: i8, day: i8) -> String {
    format!("<?xml version='1.0' encoding='UTF-8'?>\n<patterndb version='4' pub_date='{year:04}-{month:02}-{day:02}'>")
}

/// The end of a merged file.
pub const FOOTER: &str = "</patterndb>\n";

/// Appends the elements of patterndb XML `text` to `out`.
///
/// # Errors
/// When `text` is not well-formed XML (`out` is left as it was).
pub fn merge_text(text: &str, out: &mut String) -> Result<(), String> {
    let text = without_cdata(text);
    let doc = Document::parse(&text).map_err(|e| format!("{}:{}: {e}", e.pos().row, e.pos().col))?;
    let root = doc.root_element();
    let mut state = State { out: String::new(), version: 0, in_rule: false };
    if root.tag_name().name() == "patterndb" {
        state.version = root.attribute("version").map_or(0, leading_number);
        state.children(root);
    } else {
        state.element(root);
    }
    out.push_str(&state.out);
    Ok(())
}

struct State {
    out: String,
    version: i64,
    in_rule: bool,
}

impl State {
    fn children(&mut self, node: Node<'_, '_>) {
        for child in node.children() {
            match child.node_type() {
                NodeType::Element => self.element(child),
                NodeType::Text => escape_into(child.text().unwrap_or(""), &mut self.out),
                _ => {}
            }
        }
    }

    fn element(&mut self, node: Node<'_, '_>) {
        let name = node.tag_name().name();
        if name == "rule" {
            self.in_rule = true;
        }
        // A version 1 rule's pattern or URL, each in a list of its own.
        let wrapper = match name {
            "pattern" if self.version == 1 && self.in_rule => Some("patterns"),
            "url" if self.version == 1 && self.in_rule => Some("urls"),
            _ => None,
        };
        let written = if name == "program" { "ruleset" } else { name };
        if let Some(w) = wrapper {
            self.out.push_str(&format!("<{w}>\n"));
        }
        self.out.push('<');
        self.out.push_str(written);
        for a in node.attributes() {
            self.out.push(' ');
            escape_into(a.name(), &mut self.out);
            self.out.push_str("='");
            escape_into(a.value(), &mut self.out);
            self.out.push('\'');
        }
        self.out.push('>');
        self.children(node);
        if name == "rule" {
            self.in_rule = false;
        }
        let wrapper = match name {
            "pattern" if self.version == 1 && self.in_rule => Some("patterns"),
            "url" if self.version == 1 && self.in_rule => Some("urls"),
            _ => None,
        };
        self.out.push_str("</");
        self.out.push_str(written);
        self.out.push('>');
        if let Some(w) = wrapper {
            self.out.push_str(&format!("\n</{w}>"));
        }
    }
}

/// `text` without its CDATA sections: GLib's parser hands them to a callback pdbtool does not
/// set, so their text is left out.
fn without_cdata(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("<![CDATA[") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("<![CDATA[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        rest = tail.find("]]>").map_or("", |end| &tail[end + 3..]);
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// C's `strtol(s, NULL, 10)` for the small numbers a version is.
fn leading_number(s: &str) -> i64 {
    let s = s.trim_start();
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse::<i64>().map_or(0, |n| sign * n)
}

/// GLib's `g_markup_escape_text`: the five XML specials as entities, control characters (but
/// tab, newline and carriage return) as character references.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\u{1}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' => {
                out.push_str(&format!("&#x{:x};", c as u32));
            }
            _ => out.push(c),
        }
    }
}

/// The files of `dir` to merge, as syslog-ng lists them: in directory order, regular files
/// (symbolic links followed) whose full path matches `glob`, and with `recursive` those of
/// subdirectories in their place.
///
/// # Errors
/// A directory that cannot be read, with GLib's words.
pub fn list_files(dir: &str, recursive: bool, glob: Option<&str>) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("Error opening directory “{dir}”: {}", os_text(&e)))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let full = if dir.ends_with('/') {
            format!("{dir}{}", name.to_string_lossy())
        } else {
            format!("{dir}/{}", name.to_string_lossy())
        };
        let meta = std::fs::metadata(Path::new(&full));
        if recursive && meta.as_ref().is_ok_and(|m| m.is_dir()) {
            files.extend(list_files(&full, recursive, glob)?);
        } else if meta.is_ok_and(|m| m.is_file()) && glob.is_none_or(|g| glob_matches(g, &full)) {
            files.push(full);
        }
    }
    Ok(files)
}

/// GLib's `g_pattern_match_simple`: `*` is any run of characters (`/` too), `?` any one.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                back = Some((p, t));
                p += 1;
            }
            Some('?') => {
                p += 1;
                t += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match back {
                Some((bp, bt)) => {
                    p = bp + 1;
                    t = bt + 1;
                    back = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// `--sort`: files nearer the top first, then by name (byte order).
pub fn sort_files(files: &mut [String]) {
    files.sort_by(|a, b| {
        let depth = |s: &str| s.bytes().filter(|&c| c == b'/').count();
        depth(a).cmp(&depth(b)).then_with(|| a.as_bytes().cmp(b.as_bytes()))
    });
}

/// The system's text for an I/O error, without Rust's `(os error N)`.
fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_glib() {
        assert!(glob_matches("*.xml", "/a/b/c.xml"));
        assert!(!glob_matches("*.xml", "/a/b/c.xmlx"));
        assert!(glob_matches("/a/?/*", "/a/b/c"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("?", ""));
    }

    #[test]
    fn version_1_patterns_get_their_list() {
        let mut out = String::new();
        merge_text(
            "<patterndb version='1'><program name='p'><rule id='r'><pattern>a &amp; b</pattern></rule></program></patterndb>",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            "<ruleset name='p'><rule id='r'><patterns>\n<pattern>a &amp; b</pattern>\n</patterns></rule></ruleset>"
        );
    }
}
