//! Formatting messages for a destination, as syslog-ng's log writer does: the `template()` option,
//! else the default format of the driver family (file lines, BSD-syslog lines for `network()`,
//! RFC 5424 for `syslog()`), then `no-multi-line`, `truncate-size` and padding.

use std::sync::Arc;

use rsng_core::message::Builtin;
use rsng_core::template::{compile, CompileContext, FormatOptions, OnError, Template, TsFormat};
use rsng_core::LogMessage;

use std::sync::atomic::Ordering;

use crate::options::typed::Flags;
use crate::options::Options;
use crate::pipeline::QueueStats;
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
    /// The destination's counters, and this writer's totals of sizes written (published with
    /// plain stores).
    stats: Arc<QueueStats>,
    /// Sum, count and maximum; taken from the counters at the first message, since a writer
    /// replacing another (a restart, a reload) goes on counting where it was.
    sizes: Option<(u64, u64, u64)>,
}

fn fixed(text: &str) -> Template {
    compile(text, &CompileContext::new()).expect("built-in template compiles")
}

crate::typed_options! {
    /// The options of syslog-ng's LogWriter that every formatting destination reads (the
    /// template options are [`TemplateOptions`]).
    pub struct WriterOptions {
        driver {
            /// A template's name or text.
            pub template: String = "template";
            pub template_escape: bool = "template-escape" or (false);
            /// `no-multi-line`.
            pub flags: Flags = "flags" or (Flags::default());
            pub truncate_size: usize = "truncate-size";
            pub pad_size: usize = "pad-size" or (0);
        }
        inherited {}
        global {
            /// The default templates of file-like and network destinations (by name).
            pub file_template: String = "file-template";
            pub proto_template: String = "proto-template";
        }
    }
}

crate::typed_options! {
    /// syslog-ng's template options of a destination: how its templates write dates, and what
    /// a failed type cast does.
    pub struct TemplateOptions {
        driver {
            /// The zone dates are written in; `send-time-zone()` is its other name.
            pub time_zone: String = "time-zone";
            pub send_time_zone: String = "send-time-zone";
        }
        inherited {
            pub ts_format: String = "ts-format";
            pub frac_digits: u32 = "frac-digits" or (0);
            pub on_error: String = "on-error";
        }
        global {
            /// In `options {}`, `time-zone()` and `send-time-zone()` both set the zone dates are
            /// written in (where both are given, `send-time-zone()`).
            pub global_send_time_zone: String = "send-time-zone";
            pub global_time_zone: String = "time-zone";
        }
    }
}

impl TemplateOptions {
    /// The zone name dates are written in, if one is configured.
    pub fn send_zone(&self) -> Option<&str> {
        (self.time_zone.as_deref().or(self.send_time_zone.as_deref()))
            .or(self.global_send_time_zone.as_deref())
            .or(self.global_time_zone.as_deref())
    }

    /// The options for templates whose dates are written in `zone` (`None`: the local zone).
    pub fn with_zone(&self, zone: Option<jiff::tz::TimeZone>) -> FormatOptions {
        FormatOptions {
            ts_format: self.ts_format.as_deref().and_then(TsFormat::from_name).unwrap_or(TsFormat::Rfc3164),
            frac_digits: self.frac_digits.min(6) as u8,
            time_zone: zone,
            escape: false,
            seq_num: 0,
            on_error: self.on_error.as_deref().and_then(OnError::from_name).unwrap_or_default(),
        }
    }

    /// The options for templates whose dates are written in the send zone (syslog-ng's
    /// `LTZ_SEND`): message bodies, lines, values.
    pub fn send_format(&self) -> FormatOptions {
        self.with_zone(self.send_zone().and_then(parse_time_zone))
    }

    /// [`TemplateOptions::read`] then [`TemplateOptions::send_format`].
    pub fn send_format_of(opts: &Options<'_>) -> FormatOptions {
        TemplateOptions::read(opts).send_format()
    }

    /// The options for templates whose dates are written in `local-time-zone()` (syslog-ng's
    /// `LTZ_LOCAL`: table names, routing keys), as read from `opts`.
    pub fn local_format_of(opts: &Options<'_>) -> FormatOptions {
        let zone = LocalZoneOptions::read(opts).local_time_zone.as_deref().and_then(parse_time_zone);
        TemplateOptions::read(opts).with_zone(zone)
    }
}

crate::typed_options! {
    /// syslog-ng's `LTZ_LOCAL`: the zone of dates in file names and SQL table names.
    pub struct LocalZoneOptions {
        driver {}
        inherited {
            pub local_time_zone: String = "local-time-zone";
        }
        global {}
    }
}

impl Writer {
    /// A writer for driver `opts` with default format `format`.
    ///
    /// # Errors
    /// When the `template()` option does not compile.
    pub fn new(opts: Options<'_>, format: WireFormat, ctx: &BuildContext) -> Result<Writer, DriverError> {
        let o = WriterOptions::read(&opts);
        let mut format_options = TemplateOptions::send_format_of(&opts);
        let mut escape = o.template_escape;
        let template = match o.template.as_deref() {
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
                    WireFormat::File => o.file_template.as_deref(),
                    WireFormat::Proto => o.proto_template.as_deref(),
                    _ => None,
                };
                default.and_then(|name| {
                    let t = ctx.templates.get(name)?;
                    escape |= ctx.template_escape.get(name).copied().unwrap_or(false);
                    Some(t.clone())
                })
            }
        };
        format_options.escape = escape;
        Ok(Writer {
            format,
            template,
            opts: format_options,
            stamp: fixed("$STAMP"),
            bsd_date: fixed("$DATE"),
            iso_date: fixed("$ISODATE"),
            sdata: fixed("$SDATA"),
            no_multi_line: o.flags.contains("no-multi-line"),
            truncate_size: o.truncate_size,
            padding: o.pad_size,
            seq_num: 0,
            stats: ctx.queue_stats.clone().unwrap_or_default(),
            sizes: None,
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
                let w = &self.stats.writer;
                w.truncated_count.fetch_add(1, Ordering::Relaxed);
                w.truncated_bytes.fetch_add((out.len() - start - limit) as u64, Ordering::Relaxed);
                out.truncate(start + limit);
            }
        }
        self.count_size((out.len() - start) as u64);
        true
    }

    /// Adds a formatted message's size to the destination's `msg_size_*` counters.
    fn count_size(&mut self, len: u64) {
        let w = &self.stats.writer;
        let (sum, count, max) = self.sizes.get_or_insert_with(|| {
            (
                w.size_sum.load(Ordering::Relaxed),
                w.size_count.load(Ordering::Relaxed),
                w.size_max.load(Ordering::Relaxed),
            )
        });
        *sum += len;
        *count += 1;
        if len > *max {
            *max = len;
            w.size_max.store(len, Ordering::Relaxed);
        }
        w.size_sum.store(*sum, Ordering::Relaxed);
        w.size_count.store(*count, Ordering::Relaxed);
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
