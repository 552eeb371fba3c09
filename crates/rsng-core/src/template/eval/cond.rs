//! The template functions that test a filter or walk the correlation
//! context (`modules/basicfuncs/cond-funcs.c`, `context-funcs.c`): `if`,
//! `grep`, `context-lookup`, `context-values` and `context-length`; and
//! those that run a filter or template per list element with `$_` set to
//! it (`tf-filter.c`, `tf-map.c`, `tf-iterate.c`): `filter`, `map` and
//! `iterate`.
//!
//! A template is evaluated here for one message, so the context is that
//! message alone: `grep` yields its values when it passes the filter (so
//! `--max-count` makes no difference), `context-length` is 1.
//!
//! Their template arguments are formatted straight into the output (or, for
//! the list functions, into a pooled buffer first), and the filters use a
//! per-thread pool of [`FilterScratch`]es, so nothing is allocated per
//! message once the pools are warm.

use std::cell::RefCell;

use super::list::scan_next;
use super::{c_str, eval_elems, give_back, take_scratch, with_context, FormatError, FormatOptions};
use crate::filter::FilterScratch;
use crate::message::LogMessage;
use crate::strrepr::encode_append;
use crate::template::{BuiltinFunction, FuncArg, FuncCall, Template};

thread_local! {
    static FILTER_POOL: RefCell<Vec<FilterScratch>> = const { RefCell::new(Vec::new()) };
}

/// Whether `msg` passes the call's filter argument; `Unsupported` when it
/// was compiled without a filter compiler.
pub(super) fn passes(f: BuiltinFunction, call: &FuncCall, msg: &LogMessage) -> Result<bool, FormatError> {
    let compiled = call.args.iter().find_map(|a| match a {
        FuncArg::Filter(expr) => Some(expr.compiled.as_deref()),
        _ => None,
    });
    let Some(Some(filter)) = compiled else { return Err(FormatError::Unsupported(f.name().to_owned())) };
    // Filters may contain templates that call `$(if)` again, so the scratch
    // is taken out of the pool rather than borrowed from it.
    let mut scratch = FILTER_POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    let result = filter.eval(msg, &mut scratch);
    FILTER_POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < 16 {
            p.push(scratch);
        }
    });
    Ok(result)
}

fn templates(call: &FuncCall) -> impl Iterator<Item = &Template> {
    call.args.iter().filter_map(|a| match a {
        FuncArg::Template(t) => Some(t),
        _ => None,
    })
}

/// Appends each template's value as a list element.
fn list_of_values(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let mut scratch = take_scratch();
    let mut result = Ok(());
    for (i, t) in templates(call).enumerate() {
        scratch.buf.clear();
        result = eval_elems(&t.elems, msg, opts, false, &mut scratch.buf);
        if result.is_err() {
            break;
        }
        if i > 0 {
            out.push(b',');
        }
        encode_append(out, &scratch.buf, b",");
    }
    give_back(scratch);
    result
}

pub(super) fn call(
    f: BuiltinFunction,
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    use BuiltinFunction::*;
    match f {
        If => {
            let branch = if passes(f, call, msg)? { 0 } else { 1 };
            match templates(call).nth(branch) {
                Some(t) => eval_elems(&t.elems, msg, opts, false, out),
                None => Ok(()),
            }
        }
        Grep => {
            if !passes(f, call, msg)? {
                return Ok(());
            }
            for (i, t) in templates(call).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                eval_elems(&t.elems, msg, opts, false, out)?;
            }
            Ok(())
        }
        ContextLookup => {
            if !passes(f, call, msg)? {
                return Ok(());
            }
            list_of_values(call, msg, opts, out)
        }
        ContextValues => list_of_values(call, msg, opts, out),
        ContextLength => {
            out.extend_from_slice(super::context_length().to_string().as_bytes());
            Ok(())
        }
        _ => Err(FormatError::Unsupported(f.name().to_owned())),
    }
}

/// `$(filter EXPR LIST)`: the elements for which the filter passes with
/// `$_` set to the element, appended as they are (not re-encoded).
pub(super) fn filter(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let Some(list) = templates(call).next() else { return Ok(()) };
    let mut scratch = take_scratch();
    let mut item = take_scratch();
    let mut result = eval_elems(&list.elems, msg, opts, false, &mut scratch.buf);
    if result.is_ok() {
        let start = out.len();
        let mut rest = c_str(&scratch.buf);
        while let Some(next) = scan_next(rest, &mut item.buf) {
            rest = next;
            match with_context(&item.buf, || passes(BuiltinFunction::Filter, call, msg)) {
                Ok(true) => {
                    if out.len() > start && out.last() != Some(&b',') {
                        out.push(b',');
                    }
                    out.extend_from_slice(c_str(&item.buf));
                }
                Ok(false) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
    }
    give_back(item);
    give_back(scratch);
    result
}

/// `$(map TEMPLATE LIST)`: the template's value for each element (as `$_`),
/// as a list.
pub(super) fn map(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let mut args = templates(call);
    let (Some(body), Some(list)) = (args.next(), args.next()) else { return Ok(()) };
    let mut scratch = take_scratch();
    let mut item = take_scratch();
    let mut value = take_scratch();
    let mut result = eval_elems(&list.elems, msg, opts, false, &mut scratch.buf);
    if result.is_ok() {
        let start = out.len();
        let mut rest = c_str(&scratch.buf);
        while let Some(next) = scan_next(rest, &mut item.buf) {
            rest = next;
            if out.len() > start && out.last() != Some(&b',') {
                out.push(b',');
            }
            value.buf.clear();
            result = with_context(&item.buf, || eval_elems(&body.elems, msg, opts, false, &mut value.buf));
            if result.is_err() {
                break;
            }
            encode_append(out, c_str(&value.buf), b",");
        }
    }
    give_back(value);
    give_back(item);
    give_back(scratch);
    result
}

/// `$(iterate TEMPLATE INITIAL)`: the current value, which then becomes the
/// template's value with `$_` set to it (3.38 formats it with default
/// template options).
pub(super) fn iterate(call: &FuncCall, msg: &LogMessage, out: &mut Vec<u8>) -> Result<(), FormatError> {
    let body = templates(call).next();
    let state = call.args.iter().find_map(|a| match a {
        FuncArg::State(s) => Some(s),
        _ => None,
    });
    let (Some(body), Some(state)) = (body, state) else { return Ok(()) };
    let mut current = state.0.lock().unwrap_or_else(|e| e.into_inner());
    out.extend_from_slice(c_str(&current));
    let mut next = take_scratch();
    let opts = FormatOptions::default();
    let result = with_context(&current, || eval_elems(&body.elems, msg, &opts, false, &mut next.buf));
    if result.is_ok() {
        std::mem::swap(&mut *current, &mut next.buf);
    }
    drop(current);
    give_back(next);
    result
}
