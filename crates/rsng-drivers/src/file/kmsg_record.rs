//! The records of the Linux kernel log device `/dev/kmsg`, as syslog-ng 3.38's `linux-kmsg`
//! format reads them. This module uses only `std`, so that tests can include it on its own.
//!
//! A record, as one `read()` returns it:
//!
//! ```text
//! 6,802,65338577,-;ATL1E 0000:02:00.0: eth0: NIC Link is Up <100 Mbps Full Duplex>
//!  SUBSYSTEM=pci
//!  DEVICE=+pci:0000:02:00.0
//! ```
//!
//! The header is the priority, the sequence number, the time since boot in microseconds and
//! fields syslog-ng skips (the flags), up to `;`; the message runs to the first newline (the
//! kernel writes unprintable bytes as `\xNN`, which stays as it is); each further line is a
//! `KEY=VALUE` pair of the device dictionary, indented.
//!
//! What syslog-ng 3.38 makes of a record:
//!
//! - `$PRI` is the priority (kept to 16 bits);
//! - `$MSGID` is the sequence number (3.38 sets no `.linux.seqnum`); a sequence number with
//!   another character than a digit is not stored, and the header is read on from the
//!   character after that one;
//! - `.linux.timestamp` is the time since boot as written, and the message's time is the boot
//!   time plus it ([`absolute_time`]);
//! - each dictionary pair is `.linux.KEY`, except `DEVICE`, which is split: `b8:0` gives
//!   `.linux.DEVICE.type` `block`, `.linux.DEVICE.major` and `.linux.DEVICE.minor`; `c` the same
//!   with `char`; `n2` gives `netdev` and `.linux.DEVICE.index`; `+pci:0000:02:00.0` gives the
//!   type `pci` and `.linux.DEVICE.name`; anything else the type `<unknown>` and the whole
//!   value as the name.
//!
//! Trailing newlines and NUL bytes are not part of the record. A record that does not follow
//! this shape is refused with the position of the problem ([`parse`]).

/// A parsed record; the slices point into the read data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The priority, kept to 16 bits as syslog-ng does.
    pub pri: u16,
    /// The sequence number as written (`None` when it had a character other than a digit).
    pub seq: Option<&'a [u8]>,
    /// The time since boot as written (`.linux.timestamp`).
    pub timestamp: &'a [u8],
    /// The same in microseconds (wrapping, as syslog-ng's 64-bit sum).
    pub usec: u64,
    /// The message text.
    pub message: &'a [u8],
    /// Name-value pairs of the device dictionary, with their final names (`.linux.SUBSYSTEM`,
    /// `.linux.DEVICE.type`, …), in the order they are set.
    pub values: Vec<(String, &'a [u8])>,
}

/// The boot time: seconds and microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootTime {
    pub sec: i64,
    pub usec: i64,
}

/// Parses one record; `Err` holds the position of the problem (syslog-ng's message about it
/// shows `>@<` before the byte before that position).
pub fn parse(data: &[u8]) -> Result<Record<'_>, usize> {
    let mut len = data.len();
    while len > 0 && matches!(data[len - 1], b'\n' | 0) {
        len -= 1;
    }
    // syslog-ng looks at the byte after the record's end too: the first of the trailing bytes
    // just cut off, which the kernel always writes as a newline. Past the data, a newline is
    // assumed (a record without its newline, from a line-based reader).
    let at = |i: usize| data.get(i).copied().unwrap_or(b'\n');
    let mut pos = 0;

    // The priority.
    let mut pri: i32 = 0;
    while pos < len && at(pos) != b',' {
        let c = at(pos);
        if !c.is_ascii_digit() {
            return Err(pos);
        }
        pri = pri.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
        pos += 1;
    }
    if pos == len || at(pos) != b',' {
        return Err(pos);
    }
    pos += 1;

    // The sequence number.
    let start = pos;
    let mut seq = None;
    let mut digits_only = true;
    while pos < len && at(pos) != b',' {
        if !at(pos).is_ascii_digit() {
            digits_only = false;
            break;
        }
        pos += 1;
    }
    if digits_only {
        if pos == len || at(pos) != b',' {
            return Err(pos);
        }
        seq = Some(&data[start..pos]);
    }
    pos += 1;

    // The time since boot.
    let start = pos;
    let mut usec: u64 = 0;
    while pos < len && at(pos) != b',' && at(pos) != b';' {
        let c = at(pos);
        if !c.is_ascii_digit() {
            return Err(pos);
        }
        usec = usec.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        pos += 1;
    }
    if pos == len || (at(pos) != b',' && at(pos) != b';') {
        return Err(pos);
    }
    let timestamp = &data[start.min(pos)..pos];

    // Further header fields are skipped.
    while pos < len && at(pos) != b';' {
        pos += 1;
    }
    if pos == len || at(pos) != b';' {
        return Err(pos);
    }
    pos += 1;

    // The message, to the first newline.
    let start = pos;
    while pos < len && at(pos) != b'\n' {
        pos += 1;
    }
    if at(pos) != b'\n' {
        return Err(pos);
    }
    let message = &data[start.min(pos)..pos];
    let mut record = Record { pri: pri as u16, seq, timestamp, usec, message, values: Vec::new() };
    if pos + 1 >= len {
        return Ok(record);
    }

    // The dictionary, a pair a line.
    loop {
        pos += 1;
        while pos < len && matches!(at(pos), b' ' | b'\t') {
            pos += 1;
        }
        if pos >= len {
            return Err(pos);
        }
        let name_start = pos;
        while pos < len && at(pos) != b'=' {
            pos += 1;
        }
        if pos == len {
            return Err(pos);
        }
        let name = &data[name_start..pos];
        pos += 1;
        let value_start = pos;
        while pos < len && at(pos) != b'\n' {
            pos += 1;
        }
        if at(pos) != b'\n' {
            return Err(pos);
        }
        let value = &data[value_start.min(pos)..pos];
        if name == b"DEVICE" {
            device(value, &mut record.values);
        } else {
            record.values.push((format!(".linux.{}", String::from_utf8_lossy(name)), value));
        }
        if pos >= len {
            return Ok(record);
        }
    }
}

/// Splits a `DEVICE` value.
fn device<'a>(value: &'a [u8], out: &mut Vec<(String, &'a [u8])>) {
    // Before and after the first `:` (nothing after when there is none; syslog-ng then reads
    // past the value, up to a NUL byte, which rsng does not copy).
    let split = |v: &'a [u8]| -> (&'a [u8], &'a [u8]) {
        match v.iter().position(|&c| c == b':') {
            Some(i) => (&v[..i], &v[i + 1..]),
            None => (v, &v[v.len()..]),
        }
    };
    let rest = value.get(1..).unwrap_or_default();
    match value.first() {
        Some(b'b' | b'c') => {
            let kind: &'static [u8] = if value[0] == b'b' { b"block" } else { b"char" };
            let (major, minor) = split(rest);
            out.push((".linux.DEVICE.type".into(), kind));
            out.push((".linux.DEVICE.major".into(), major));
            out.push((".linux.DEVICE.minor".into(), minor));
        }
        Some(b'n') => {
            out.push((".linux.DEVICE.type".into(), b"netdev"));
            out.push((".linux.DEVICE.index".into(), rest));
        }
        Some(b'+') => {
            let (subsystem, name) = split(rest);
            out.push((".linux.DEVICE.type".into(), subsystem));
            out.push((".linux.DEVICE.name".into(), name));
        }
        _ => {
            out.push((".linux.DEVICE.type".into(), b"<unknown>"));
            out.push((".linux.DEVICE.name".into(), value));
        }
    }
}

/// The boot time as syslog-ng 3.38 works it out from `/proc/uptime` (`uptime`) and the time
/// now: now minus the uptime, where the digits after the uptime's point are taken as
/// microseconds (so `123.45` is 123 seconds and 45 µs: syslog-ng's boot time is late by up to
/// a second). Text it cannot read gives the epoch.
pub fn boot_time_from(uptime: &[u8], now_sec: i64, now_usec: i64) -> BootTime {
    let mut pos = 0;
    let mut sec: i64 = 0;
    while pos < uptime.len() && uptime[pos] != b'.' {
        let c = uptime[pos];
        if !c.is_ascii_digit() {
            return BootTime::default();
        }
        sec = sec.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
        pos += 1;
    }
    pos += 1;
    let mut usec: i64 = 0;
    while pos < uptime.len() && uptime[pos] != b' ' {
        let c = uptime[pos];
        if !c.is_ascii_digit() {
            return BootTime::default();
        }
        usec = usec.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
        pos += 1;
    }
    // As unsigned 64-bit arithmetic, the way syslog-ng takes the difference.
    let diff =
        (now_sec.wrapping_sub(sec) as u64).wrapping_mul(1_000_000).wrapping_add(now_usec.wrapping_sub(usec) as u64);
    BootTime { sec: (diff / 1_000_000) as i64, usec: (diff % 1_000_000) as i64 }
}

/// The time of a record `usec` microseconds after boot: seconds and microseconds since the
/// epoch.
pub fn absolute_time(boot: BootTime, usec: u64) -> (i64, u32) {
    let t = (boot.sec as u64)
        .wrapping_add(usec / 1_000_000)
        .wrapping_mul(1_000_000)
        .wrapping_add(boot.usec as u64)
        .wrapping_add(usec % 1_000_000);
    ((t / 1_000_000) as i64, (t % 1_000_000) as u32)
}

/// The text of syslog-ng's message about a record it could not parse, `problem` being the
/// position [`parse`] returned.
pub fn error_text(data: &[u8], problem: usize) -> Vec<u8> {
    let mut len = data.len();
    while len > 0 && matches!(data[len - 1], b'\n' | 0) {
        len -= 1;
    }
    let data = &data[..len];
    let mut text = b"Error processing log message: ".to_vec();
    if problem > 0 {
        let cut = (problem - 1).min(data.len());
        text.extend_from_slice(&data[..cut]);
        text.extend_from_slice(b">@<");
        text.extend_from_slice(&data[cut..]);
    } else {
        text.extend_from_slice(data);
    }
    text
}
