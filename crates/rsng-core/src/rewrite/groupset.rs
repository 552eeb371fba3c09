//! `groupset("template" values("glob" ...))` and `groupunset(values(...))`.
//!
//! As in syslog-ng 3.38 (`lib/rewrite/rewrite-groupset.c` over `value_pairs_foreach`):
//! * The names are selected with value-pairs globs and no scope: every name-value pair that is
//!   set (built-in values such as `HOST` and `HOST_FROM`, `.SDATA.*`, match groups and user
//!   pairs) whose name matches one of the globs, plus every built-in macro (`DATE`, `FACILITY`,
//!   `R_ISODATE`, ...) whose name matches and whose expansion is not empty.
//! * All of them are collected first, then changed in name order (byte order).
//! * `groupset` formats its template for each with `$_` (also `$CONTEXT_ID`) standing for the
//!   current value, and sets the name to the result; a macro name becomes a name-value pair of
//!   that name. `groupunset` unsets each.
//!
//! rsng's templates have no context value, so the template is compiled with `$_` turned into a
//! reference to a name-value pair that holds the current value while the template is formatted
//! (and is visible to `$(format-json)` in that template only).

use std::cell::Cell;
use std::sync::Arc;

use crate::filter::Glob;
use crate::message::LogMessage;
use crate::parser::nv;
use crate::parser::scratch::Scratch;
use crate::template::{
    compile, macro_table, CompileContext, Elem, FormatOptions, FuncArg, Template, TemplateError, ValueKind,
};

/// The name-value pair that carries the current value to the template while it is formatted.
const CURRENT_VALUE: &str = "\u{1}groupset-value";

/// `template` with references to the current value (`$_`, `${_}`, `$CONTEXT_ID`, with or
/// without a `:-default`) turned into references to [`CURRENT_VALUE`]; `None` when there are
/// none.
fn substitute_current_value(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    let mut i = 0;
    let mut copied = 0;
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let Some(close) = text[i + 2..].find('}') else { break };
                let inner = &text[i + 2..i + 2 + close];
                let (name, rest) = match inner.find(":-") {
                    Some(p) => inner.split_at(p),
                    None => (inner, ""),
                };
                if name == "_" || name == "CONTEXT_ID" {
                    out.push_str(&text[copied..i]);
                    out.push_str("${");
                    out.push_str(CURRENT_VALUE);
                    out.push_str(rest);
                    out.push('}');
                    copied = i + 2 + close + 1;
                    changed = true;
                }
                i += 2 + close + 1;
            }
            Some(&c) if is_name(c) => {
                let end = b[i + 1..].iter().position(|&c| !is_name(c)).map_or(b.len(), |p| i + 1 + p);
                let name = &text[i + 1..end];
                if name == "_" || name == "CONTEXT_ID" {
                    out.push_str(&text[copied..i]);
                    out.push_str("${");
                    out.push_str(CURRENT_VALUE);
                    out.push('}');
                    copied = end;
                    changed = true;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    changed.then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Whether `t` still refers to the current value as a macro (a form the substitution missed).
fn refers_to_context(elems: &[Elem]) -> bool {
    elems.iter().any(|e| match e {
        Elem::Value(v) => v.kind == ValueKind::Builtin && (v.name == "_" || v.name == "CONTEXT_ID"),
        Elem::Func(call) => call.args.iter().any(|a| match a {
            FuncArg::Template(t) | FuncArg::Pair { value: t, .. } => refers_to_context(t.elems()),
            _ => false,
        }),
        Elem::Literal(_) => false,
    })
}

/// `groupset()` (with a template) or `groupunset()` (without).
#[derive(Debug)]
pub struct GroupSet {
    globs: Vec<Glob>,
    template: Option<Arc<Template>>,
    /// Whether the template reads the current value.
    uses_value: bool,
    /// Macros selected by the globs, with the template that expands each.
    macros: Vec<(String, Template)>,
    opts: FormatOptions,
}

impl GroupSet {
    /// A rule for the names matching `patterns`; `template` is the text of `groupset()`'s
    /// template, `None` for `groupunset()`. `opts` are the global template options.
    ///
    /// # Errors
    /// The template does not compile.
    pub fn new(
        patterns: &[String],
        template: Option<&str>,
        ctx: &CompileContext,
        opts: FormatOptions,
    ) -> Result<GroupSet, TemplateError> {
        let globs: Vec<Glob> = patterns.iter().map(|p| Glob::new(p)).collect();
        let (template, uses_value) = match template {
            None => (None, false),
            Some(text) => match substitute_current_value(text) {
                Some(subst) => match compile(&subst, ctx) {
                    Ok(t) => (Some(Arc::new(t)), true),
                    // Report errors against the text as written.
                    Err(_) => (Some(Arc::new(compile(text, ctx)?)), false),
                },
                None => {
                    let t = compile(text, ctx)?;
                    let uses = refers_to_context(t.elems());
                    (Some(Arc::new(t)), uses)
                }
            },
        };
        let mut macros = Vec::new();
        for name in macro_table() {
            if globs.iter().any(|g| g.is_match(name.as_bytes())) {
                let t = compile(&format!("${{{name}}}"), &CompileContext::new())?;
                macros.push((name.to_string(), t));
            }
        }
        Ok(GroupSet { globs, template, uses_value, macros, opts })
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        // Names and values are copied out first: the message changes while they are applied.
        let mut text = Scratch::take();
        // (name start, name end = value start, value end) in `text`.
        let mut found = FOUND.with(|f| f.take());
        found.clear();
        for (name, value) in msg.values() {
            let start = text.len();
            name.write(&mut text);
            let name_end = text.len();
            if self.globs.iter().any(|g| g.is_match(&text[start..name_end])) {
                text.extend_from_slice(value);
                found.push((start, name_end, text.len()));
            } else {
                text.truncate(start);
            }
        }
        for (name, template) in &self.macros {
            let start = text.len();
            text.extend_from_slice(name.as_bytes());
            let name_end = text.len();
            let _ = template.format(msg, &self.opts, &mut text);
            if text.len() == name_end {
                text.truncate(start);
            } else {
                found.push((start, name_end, text.len()));
            }
        }
        // In name order; of equal names the one found last counts.
        found.sort_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        let mut out = Scratch::take();
        let mut i = 0;
        while i < found.len() {
            let (s, n, e) = found[i];
            if found.get(i + 1).is_some_and(|next| text[next.0..next.1] == text[s..n]) {
                i += 1;
                continue;
            }
            i += 1;
            let name = String::from_utf8_lossy(&text[s..n]);
            match &self.template {
                None => nv::unset(msg, &name),
                Some(t) => {
                    out.clear();
                    if self.uses_value {
                        msg.set_value(CURRENT_VALUE, &text[n..e]);
                    }
                    let _ = t.format(msg, &self.opts, &mut out);
                    if self.uses_value {
                        msg.unset_value(CURRENT_VALUE);
                    }
                    nv::set(msg, &name, &out);
                }
            }
        }
        FOUND.with(|f| f.replace(found));
    }
}

thread_local! {
    static FOUND: Cell<Vec<(usize, usize, usize)>> = const { Cell::new(Vec::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_value_references() {
        let r = |t: &str| substitute_current_value(t);
        assert_eq!(r("$_").as_deref(), Some("${\u{1}groupset-value}"));
        assert_eq!(r("x${_:-none}y").as_deref(), Some("x${\u{1}groupset-value:-none}y"));
        assert_eq!(r("$(uppercase $_)").as_deref(), Some("$(uppercase ${\u{1}groupset-value})"));
        assert_eq!(r("$CONTEXT_ID.").as_deref(), Some("${\u{1}groupset-value}."));
        assert_eq!(r("$$_ $_x ${HOST}"), None);
    }

    #[test]
    fn macros_selected_by_glob() {
        let g =
            GroupSet::new(&["R_ISO*".into(), "FACILITY".into()], Some("x"), &CompileContext::new(), Default::default())
                .expect("builds");
        let names: Vec<&str> = g.macros.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["FACILITY", "R_ISODATE", "R_ISOWEEK"]);
    }
}
