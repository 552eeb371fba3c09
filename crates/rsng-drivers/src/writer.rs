//! Formatting messages for a destination, as syslog-ng's log writer does: the `template()` option,
//! else the default format of the driver family (file lines, BSD-syslog lines for `network()`,
//! RFC 5424 for `syslog()`), then `no-multi-line`, `truncate-size` and padding.

use std::sync::Arc;

use rsng_core::message::Builtin;
use rsng_core::template::{compile, CompileContext, FormatOptions, OnError, Template, TsFormat};
use rsng_core::LogMessage;

use crate::options::Options;
use crate::{BuildContext, DriverError};

/// The default format of a destination without `template()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `file()`, `pipe()`, `program()`: `STAMP HOST MSGHDR MESSAGE`.
    File,
    /// `network()`, `tcp()`, `udp()`, `unix-*()`: `<PRI>BSDDATE HOST MSGHDR MESSAGE`.
    Proto,
    /// `syslog()`: RFC 5424; `template()` replaces only the message part.
    Syslog,
}

/// Formats messages for one destination; keeps its sequence counter and scratch templates.
pub struct Writer {
    format: WireFormat,
    template: Option<Arc<Template>>,
    opts: FormatOptions,
    stamp: Template,
    bsd_date: Template,
    iso_date: Template,
    sdata: Template,
    no_multi_line: bool,
    truncate_size: Option<usize>,
    padding: usize,
    seq_num: u32,
}

fn fixed(text: &str) -> Template {
    compile(text, &CompileContext::new()).expect("built-in template compiles")
}

impl Writer {
    /// A writer for driver `opts` with default format `format`.
    ///
    /// # Errors
    /// When the `template()` option does not compile.
    pub fn new(opts: Options<'_>, format: WireFormat, ctx: &BuildContext) -> Result<Writer, DriverError> {
        let mut escape = opts.bool("template-escape").unwrap_or(false);
        let template = match opts.str("template") {
            Some(name) if ctx.templates.contains_key(name) => {
                escape |= ctx.template_escape.get(name).copied().unwrap_or(false);
                Some(ctx.templates[name].clone())
            }
            Some(text) => Some(Arc::new(
                compile(text, &ctx.compile)
                    .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))?,
            )),
            // The global `file-template()` and `proto-template()` name the default templates of
            // file-like and network destinations.
            None => {
                let default = match format {
                    WireFormat::File => opts.globals.str("file-template"),
                    WireFormat::Proto => opts.globals.str("proto-template"),
                    _ => None,
                };
                default.and_then(|name| {
                    let t = ctx.templates.get(name)?;
                    escape |= ctx.template_escape.get(name).copied().unwrap_or(false);
                    Some(t.clone())
                })
            }
        };
        let ts_format = opts.str_or_global("ts-format").and_then(TsFormat::from_name).unwrap_or(TsFormat::Rfc3164);
        let frac_digits = opts.int_or_global("frac-digits").unwrap_or(0).clamp(0, 6) as u8;
        // `send-time-zone()` is another name of a destination's `time-zone()` in syslog-ng.
        let zone_name =
            opts.str("time-zone").or_else(|| opts.str("send-time-zone")).or_else(|| opts.globals.str("send-time-zone"));
        let time_zone = zone_name.and_then(parse_time_zone);
        let on_error = opts.str_or_global("on-error").and_then(OnError::from_name).unwrap_or_default();
        let flags = opts.words("flags");
        let truncate_size =
            opts.int("truncate-size").filter(|&n| n >= 0).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        Ok(Writer {
            format,
            template,
            opts: FormatOptions { ts_format, frac_digits, time_zone, escape, seq_num: 0, on_error },
            stamp: fixed("$STAMP"),
            bsd_date: fixed("$DATE"),
            iso_date: fixed("$ISODATE"),
            sdata: fixed("$SDATA"),
            no_multi_line: flags.iter().any(|f| f == "no-multi-line"),
            truncate_size,
            padding: opts.int("pad-size").unwrap_or(0).max(0) as usize,
            seq_num: 0,
        })
    }

    /// Appends the formatted message to `out`. A template that cannot be evaluated drops the
    /// message (returns `false`), as syslog-ng drops a message whose `format-json` fails.
    pub fn format(&mut self, msg: &LogMessage, out: &mut Vec<u8>) -> bool {
        self.seq_num = self.seq_num.wrapping_add(1).max(1);
        self.opts.seq_num = msg.writer_seq_num(self.seq_num);
        let start = out.len();
        let ok = match self.format {
            WireFormat::Syslog => self.format_syslog(msg, out),
            _ => match &self.template {
                Some(t) => t.format(msg, &self.opts, out).is_ok(),
                None => {
                    self.format_legacy(msg, out);
                    true
                }
            },
        };
        if !ok {
            out.truncate(start);
            return false;
        }
        if self.no_multi_line && out.len() > start + 1 {
            let end = out.len() - 1;
            for c in &mut out[start..end] {
                if matches!(*c, b'\r' | b'\n' | 0) {
                    *c = b' ';
                }
            }
        }
        if let Some(limit) = self.truncate_size {
            if out.len() - start > limit {
                out.truncate(start + limit);
            }
        }
        true
    }

    fn pad(&self, out: &mut Vec<u8>, start: usize) {
        if self.padding == 0 {
            return;
        }
        let len = out.len() - start;
        if self.padding < len {
            out.truncate(start + self.padding);
        } else {
            // syslog-ng fills from the position of the final newline on with NULs.
            out.truncate(out.len() - 1);
            out.resize(start + self.padding, 0);
        }
    }

    fn format_legacy(&self, msg: &LogMessage, out: &mut Vec<u8>) {
        let start = out.len();
        let stamp = if self.format == WireFormat::File { &self.stamp } else { &self.bsd_date };
        if self.format == WireFormat::Proto {
            out.push(b'<');
            push_u32(out, u32::from(msg.pri()));
            out.push(b'>');
        }
        let _ = stamp.format(msg, &self.opts, out);
        out.push(b' ');
        out.extend_from_slice(msg.builtin(Builtin::Host));
        out.push(b' ');
        let hdr = msg.builtin(Builtin::LegacyMsgHdr);
        if !hdr.is_empty() {
            out.extend_from_slice(hdr);
        } else {
            let program = msg.builtin(Builtin::Program);
            if !program.is_empty() {
                out.extend_from_slice(program);
                let pid = msg.builtin(Builtin::Pid);
                if !pid.is_empty() {
                    out.push(b'[');
                    out.extend_from_slice(pid);
                    out.push(b']');
                }
                out.extend_from_slice(b": ");
            }
        }
        out.extend_from_slice(msg.builtin(Builtin::Message));
        out.push(b'\n');
        self.pad(out, start);
    }

    fn format_syslog(&self, msg: &LogMessage, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.push(b'<');
        push_u32(out, u32::from(msg.pri()));
        out.extend_from_slice(b">1 ");
        let _ = self.iso_date.format(msg, &self.opts, out);
        out.push(b' ');
        for which in [Builtin::Host, Builtin::Program, Builtin::Pid, Builtin::MsgId] {
            let value = msg.builtin(which);
            if value.is_empty() {
                out.push(b'-');
            } else {
                // Only up to the first space: the header fields cannot hold one.
                let end = value.iter().position(|&c| c == b' ' || c == 0).unwrap_or(value.len());
                out.extend_from_slice(&value[..end]);
            }
            out.push(b' ');
        }
        let before = out.len();
        let _ = self.sdata.format(msg, &self.opts, out);
        if out.len() == before {
            out.push(b'-');
        }
        out.push(b' ');
        match &self.template {
            Some(t) => {
                if msg.is_utf8() {
                    out.extend_from_slice(b"\xEF\xBB\xBF");
                }
                if t.format(msg, &self.opts, out).is_err() {
                    return false;
                }
            }
            None => {
                let text = msg.builtin(Builtin::Message);
                if !text.is_empty() {
                    if msg.is_utf8() {
                        out.extend_from_slice(b"\xEF\xBB\xBF");
                    }
                    out.extend_from_slice(text);
                }
            }
        }
        out.push(b'\n');
        self.pad(out, start);
        true
    }
}

/// Appends `n` in decimal without allocating.
pub(crate) fn push_u32(out: &mut Vec<u8>, n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A `time-zone()` value: `+05:30`, `-08:00` or a tz database name.
pub fn parse_time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    let b = name.as_bytes();
    if matches!(b.first(), Some(b'+' | b'-')) {
        let sign = if b[0] == b'-' { -1 } else { 1 };
        let rest = &name[1..];
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let secs = sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60);
        return jiff::tz::Offset::from_seconds(secs).ok().map(jiff::tz::TimeZone::fixed);
    }
    jiff::tz::TimeZone::get(name).ok()
}
