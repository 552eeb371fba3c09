//! `block CONTEXT NAME(params) { body };` definitions and their expansion at a reference.

use std::collections::HashMap;
use std::sync::Arc;

use super::backtick;
use super::buf::Buf;
use super::pragma::is_word_byte;
use super::{expansion_kind, lookup_global, normalize, Preprocessor};
use crate::diagnostic::{codes, Diagnostic};
use crate::schema::Context;
use crate::source_map::FileSpan;

/// A block definition: parameters with their raw default text (`None` = mandatory).
#[derive(Debug)]
pub struct BlockDef {
    pub context: Context,
    pub name: String,
    pub params: Vec<(String, Option<String>)>,
    pub varargs: bool,
    pub body: Buf,
    pub site: FileSpan,
}

/// One `name(value)` of a parameter list or a reference, with the raw value text.
struct Arg {
    name: String,
    value: String,
    span: (usize, usize),
}

pub fn context_by_name(name: &str) -> Option<Context> {
    Some(match normalize(name).as_str() {
        "root" => Context::Root,
        "source" => Context::Source,
        "destination" => Context::Destination,
        "parser" => Context::Parser,
        "rewrite" => Context::Rewrite,
        "filter" => Context::Filter,
        "log" => Context::Log,
        "options" => Context::Options,
        _ => return None,
    })
}

/// Splits `name(value) name2(value2) ...` (raw text) into arguments; `...` sets `varargs`.
fn parse_args(text: &str, allow_varargs: bool) -> Result<(Vec<Arg>, bool), (usize, String)> {
    let bytes = text.as_bytes();
    let mut args = Vec::new();
    let mut varargs = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'.' if allow_varargs && text[i..].starts_with("...") => {
                varargs = true;
                i += 3;
            }
            b if is_word_byte(b) => {
                let start = i;
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
                let name = text[start..i].to_string();
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                if bytes.get(i) != Some(&b'(') {
                    return Err((start, format!("expected `(` after argument name `{name}`")));
                }
                let open = i;
                let mut depth = 0usize;
                let mut quote: Option<u8> = None;
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
                    } else if b == b'"' || b == b'\'' {
                        quote = Some(b);
                    } else if b == b'(' {
                        depth += 1;
                    } else if b == b')' {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    i += 1;
                }
                if i >= bytes.len() {
                    return Err((open, "unbalanced parentheses in argument value".into()));
                }
                args.push(Arg { name, value: text[open + 1..i].to_string(), span: (start, i + 1) });
                i += 1;
            }
            _ => {
                return Err((i, "block arguments must be written as `name(value)`".into()));
            }
        }
    }
    Ok((args, varargs))
}

impl Preprocessor<'_> {
    /// Reads a block definition starting at the `block` keyword at `start` of the current line.
    pub(super) fn define_block(&mut self, start: usize) {
        let mark = self.frame().emit_mark;
        self.emit(mark, start);
        let was_emitting = self.emitting;
        let first = self.span(start, start + 1);
        self.emitting = false;
        self.raw_mode = true;
        let result = self.read_block_definition(start);
        self.raw_mode = false;
        self.emitting = was_emitting;
        let f = self.frame_mut();
        f.emit_mark = f.pos.min(f.line.text.len());
        let last = self.span(self.frame().pos.saturating_sub(1), self.frame().pos);
        if was_emitting && first.file == last.file && first.start <= last.end {
            // The grammar never sees block definitions; `--preprocess-into` shows them as written.
            let text = self.map.file(first.file).text[first.start..last.end].to_string();
            self.display_insertions.push((self.out.len(), text));
        }
        match result {
            Ok(def) => {
                let key = (def.context, normalize(&def.name));
                self.blocks.insert(key, Arc::new(def));
            }
            Err(d) => self.error(*d),
        }
        self.prev = super::Prev::Semi;
        self.item_word = None;
    }

    fn expect_more(&mut self, what: &str, start: usize) -> Result<(), Box<Diagnostic>> {
        if self.skip_blank() {
            return Ok(());
        }
        Err(Diagnostic::error(
            codes::BLOCK_DEFINITION,
            format!("unexpected end of file in block definition, expecting {what}"),
        )
        .at(self.span_or(start), "this block definition is not finished")
        .into())
    }

    fn span_or(&self, start: usize) -> FileSpan {
        let f = self.frame();
        let len = f.line.text.len();
        f.line.span(start.min(len.saturating_sub(1)), (start + 1).min(len)).unwrap_or(FileSpan {
            file: 0,
            start: 0,
            end: 0,
        })
    }

    fn read_block_definition(&mut self, start: usize) -> Result<BlockDef, Box<Diagnostic>> {
        self.expect_more("a context name", start)?;
        let (ctx_word, cs, ce) = self.take_word().ok_or_else(|| {
            let pos = self.frame().pos;
            Diagnostic::error(codes::BLOCK_DEFINITION, "expected a block context after `block`").at(
                self.span_or(pos),
                "expected one of root, source, destination, parser, rewrite, filter, log, options",
            )
        })?;
        let context = context_by_name(&ctx_word).ok_or_else(|| {
            Diagnostic::error(codes::BLOCK_DEFINITION, format!("unknown block context `{ctx_word}`"))
                .at(self.span(cs, ce), "not a block context")
                .help("valid contexts: root, source, destination, parser, rewrite, filter, log, options")
        })?;
        self.expect_more("a block name", start)?;
        let (name, ns, ne) = self.take_word().ok_or_else(|| {
            let pos = self.frame().pos;
            Diagnostic::error(codes::BLOCK_DEFINITION, "expected a block name").at(self.span_or(pos), "expected a name")
        })?;
        let name_span = self.span(ns, ne);
        self.expect_more("`(`", start)?;
        if self.peek() != Some(b'(') {
            let pos = self.frame().pos;
            return Err(Diagnostic::error(codes::BLOCK_DEFINITION, format!("expected `(` after block name `{name}`"))
                .at(self.span_or(pos), "expected `(`")
                .into());
        }
        let params_buf = self.read_balanced(b'(', b')').ok_or_else(|| {
            Diagnostic::error(codes::BLOCK_DEFINITION, "unclosed `(` in block definition")
                .at(name_span, "in this block")
        })?;
        let (args, varargs) = parse_args(&params_buf.text, true).map_err(|(at, msg)| {
            let span = params_buf.span(at, at + 1).unwrap_or(name_span);
            Diagnostic::error(codes::BLOCK_DEFINITION, msg).at(span, "in this parameter list")
        })?;
        let params = args
            .into_iter()
            .map(|a| {
                let default = if a.value.trim().is_empty() { None } else { Some(a.value) };
                (normalize(&a.name), default)
            })
            .collect();
        self.expect_more("`{`", start)?;
        if self.peek() != Some(b'{') {
            let pos = self.frame().pos;
            return Err(Diagnostic::error(codes::BLOCK_DEFINITION, "expected `{` to open the block body")
                .at(self.span_or(pos), "expected `{`")
                .into());
        }
        let body = self.read_balanced(b'{', b'}').ok_or_else(|| {
            Diagnostic::error(codes::BLOCK_DEFINITION, format!("unclosed block body of `{name}`"))
                .at(name_span, "this block's `{` is never closed")
        })?;
        let pos = self.frame().pos;
        if !self.skip_blank() || self.peek() != Some(b';') {
            let span = if self.frames.is_empty() { name_span } else { self.span_or(self.frame().pos.max(pos)) };
            return Err(Diagnostic::error(codes::SYNTAX, "expected `;` after the block definition")
                .at(span, "expected `;`")
                .into());
        }
        self.frame_mut().pos += 1;
        Ok(BlockDef { context, name, params, varargs, body, site: name_span })
    }

    /// Reads the `(args)` of a reference to `name` whose name spans `start..end` of the current
    /// line, within the expansion budget. `None` after an error.
    fn reference_args(&mut self, name: &str, start: usize, end: usize) -> Option<(Vec<Arg>, Buf, FileSpan)> {
        let site = self.span(start, end);
        let mark = self.frame().emit_mark;
        self.emit(mark, start);
        self.emitting = false;
        self.raw_mode = true;
        let _ = self.skip_blank();
        let args = self.read_balanced(b'(', b')');
        self.raw_mode = false;
        self.emitting = true;
        {
            let f = self.frame_mut();
            f.emit_mark = f.pos.min(f.line.text.len());
        }
        let Some(args_buf) = args else {
            self.error(
                Diagnostic::error(codes::BLOCK_ARGUMENT, format!("unclosed `(` in reference to `{name}()`"))
                    .at(site, "this reference"),
            );
            return None;
        };
        self.expansions += 1;
        if self.expansions > super::MAX_EXPANSIONS {
            self.error(
                Diagnostic::error(
                    codes::INCLUDE_DEPTH,
                    format!("more than {} block expansions", super::MAX_EXPANSIONS),
                )
                .at(site, "while expanding this reference")
                .help("blocks that reference other blocks several times expand exponentially"),
            );
            return None;
        }
        if self.frames.len() >= super::MAX_FRAMES {
            self.error(
                Diagnostic::error(codes::INCLUDE_DEPTH, "include file depth is too deep")
                    .at(site, "while expanding this reference")
                    .help("a block that references itself expands forever"),
            );
            return None;
        }
        match parse_args(&args_buf.text, false) {
            Ok((args, _)) => Some((args, args_buf, site)),
            Err((at, msg)) => {
                let span = args_buf.span(at, at + 1).unwrap_or(site);
                self.error(
                    Diagnostic::error(codes::BLOCK_ARGUMENT, msg)
                        .at(span, "here")
                        .help("positional block arguments are not supported; write `name(value)`"),
                );
                None
            }
        }
    }

    /// [`Self::reference_args`] as `(name, raw value)` pairs, for built-in generators.
    pub(super) fn read_reference_args(
        &mut self,
        name: &str,
        start: usize,
        end: usize,
    ) -> Option<(Vec<(String, String)>, FileSpan)> {
        let (args, _, site) = self.reference_args(name, start, end)?;
        Some((args_to_pairs(&args), site))
    }

    /// Expands a block or generator reference `name(args)` whose name spans `start..end`.
    pub(super) fn expand_reference(&mut self, ctx: Context, name: &str, start: usize, end: usize) {
        let Some((args, args_buf, site)) = self.reference_args(name, start, end) else {
            return;
        };
        let key = (ctx, normalize(name));
        if let Some(generator) = self.generators.get(&key).cloned() {
            self.run_generator(ctx, name, &generator.command, &args_to_pairs(&args), site);
            return;
        }
        let Some(def) = self.blocks.get(&key).cloned() else {
            return;
        };
        let mut values: HashMap<String, String> = HashMap::new();
        let mut varargs_text = String::new();
        for arg in &args {
            let key = normalize(&arg.name);
            if def.params.iter().any(|(p, _)| *p == key) {
                values.insert(key, arg.value.clone());
            } else if def.varargs {
                varargs_text.push_str(&format!("{}({}) ", key, arg.value));
            } else {
                let span = args_buf.span(arg.span.0, arg.span.1).unwrap_or(site);
                self.error(
                    Diagnostic::error(
                        codes::BLOCK_ARGUMENT,
                        format!("unknown argument `{}` for block `{name}()`", arg.name),
                    )
                    .at(span, "not a parameter of this block")
                    .note(def.site, "block defined here")
                    .help(param_help(&def)),
                );
                return;
            }
        }
        for (param, default) in &def.params {
            if !values.contains_key(param) {
                match default {
                    Some(d) => {
                        values.insert(param.clone(), d.clone());
                    }
                    None => {
                        self.error(
                            Diagnostic::error(
                                codes::BLOCK_ARGUMENT,
                                format!("mandatory parameter `{param}` of block `{name}()` is not given"),
                            )
                            .at(site, format!("`{param}(...)` is missing here"))
                            .note(def.site, "block defined here"),
                        );
                        return;
                    }
                }
            }
        }
        values.insert("__VARARGS__".into(), varargs_text);
        let globals = &self.globals;
        let env = self.opts.use_environment;
        let mut lookup = |n: &str| {
            values.get(n).or_else(|| values.get(&normalize(n))).cloned().or_else(|| lookup_global(globals, env, n))
        };
        let mut body = Buf::default();
        if let Err(e) = backtick::substitute(&def.body, &mut lookup, &mut body) {
            let span = def.body.span(e.at, e.at + 1).unwrap_or(def.site);
            self.error(
                Diagnostic::error(codes::BACKTICK, format!("error in backtick substitution: {}", e.message))
                    .at(span, "here"),
            );
            return;
        }
        let expansion = self.add_expansion(expansion_kind(ctx, name, false), site);
        // Markers name the block's definition, as syslog-ng's do.
        let (line, _) = self.map.line_col(def.site.file, def.site.start);
        let file_name = self.map.file(def.site.file).name.clone();
        let start_marker = format!("\n#Start Block block {} {}() at {}:{}\n", ctx.name(), def.name, file_name, line);
        let end_marker = format!("\n#End Block block {} {}() at {}:{}\n", ctx.name(), def.name, file_name, line);
        self.push_prepared(body, expansion, start_marker, end_marker, site);
    }

    /// Runs a confgen generator; its standard output becomes configuration text.
    fn run_generator(&mut self, ctx: Context, name: &str, command: &str, args: &[(String, String)], site: FileSpan) {
        let mut cmd = std::process::Command::new("/bin/sh");
        // Inherited like popen() does, so that a chroot without /dev/null still works.
        cmd.arg("-c").arg(command).stdin(std::process::Stdio::inherit());
        for (k, v) in args {
            // Passed as written, quotes included, as syslog-ng passes them.
            cmd.env(format!("confgen_{}", normalize(k)), v.trim());
        }
        let output = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                self.error(
                    Diagnostic::error(codes::GENERATOR, format!("cannot run the generator of `{name}()`"))
                        .at(site, "referenced here")
                        .help(format!("{command}: {e}")),
                );
                return;
            }
        };
        if !output.status.success() {
            self.error(
                Diagnostic::error(codes::GENERATOR, format!("the generator of `{name}()` failed ({})", output.status))
                    .at(site, "referenced here")
                    .help(format!("command: {command}")),
            );
            return;
        }
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let file = self.map.add_file(format!("{} generator {}", ctx.name(), name), None, Arc::from(text.as_str()));
        let mut body = Buf::default();
        body.push_verbatim(&text, FileSpan { file, start: 0, end: text.len() });
        let expansion = self.add_expansion(expansion_kind(ctx, name, true), site);
        let start_marker = format!("\n#Start Block {} generator {}\n", ctx.name(), name);
        let end_marker = format!("\n#End Block {} generator {}\n", ctx.name(), name);
        self.push_prepared(body, expansion, start_marker, end_marker, site);
    }
}

fn args_to_pairs(args: &[Arg]) -> Vec<(String, String)> {
    args.iter().map(|a| (a.name.clone(), a.value.clone())).collect()
}

fn param_help(def: &BlockDef) -> String {
    if def.params.is_empty() {
        return format!("block `{}()` takes no arguments", def.name);
    }
    let names: Vec<&str> = def.params.iter().map(|(p, _)| p.as_str()).collect();
    format!("parameters of `{}()`: {}", def.name, names.join(", "))
}
