//! The Linux kernel log device `/dev/kmsg` and the `linux-kmsg` format, as syslog-ng 3.38 has
//! them (its `linux-kmsg-format` module and the `/dev/kmsg` reader of `affile`).
//!
//! - Every `read()` of `/dev/kmsg` returns one record (see [`super::kmsg_record`]), which is one
//!   message.
//! - The device is read from its end: records from before rsng opened it are not read, and no
//!   position is kept in the persist file (as in syslog-ng 3.38).
//! - Each reader of `/dev/kmsg` has its own position, so reading it takes nothing away from
//!   other readers (unlike `/proc/kmsg`).
//! - When records were overwritten before they were read, `read()` fails with `EPIPE`; as
//!   syslog-ng, rsng reports the error and opens the device again, reading on from its end.
//! - `format(linux-kmsg)` turns records into messages ([`message`]) for any file-family source;
//!   `/dev/kmsg` without it is read a record at a time with the syslog parser, as in syslog-ng.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rsng_core::message::{ReceiveInfo, UnixTime};
use rsng_core::LogMessage;

use super::kmsg_record::{self, BootTime};
use super::stream::{Input, ReadBuf, ReadSettings};
use crate::internal;
use crate::receive::{own_pid, Receiver};
use crate::{Source, SourceContext, Task};

/// The kernel log device read with `format(linux-kmsg)`.
pub const DEV_KMSG: &str = "/dev/kmsg";

/// The boot time the `linux-kmsg` format adds record times to, worked out once per process
/// from `/proc/uptime`, as syslog-ng does when it loads the format.
pub fn boot_time() -> BootTime {
    static BOOT: OnceLock<BootTime> = OnceLock::new();
    *BOOT.get_or_init(|| {
        let Ok(uptime) = std::fs::read("/proc/uptime") else { return BootTime::default() };
        if uptime.is_empty() {
            return BootTime::default();
        }
        let now = jiff::Timestamp::now();
        kmsg_record::boot_time_from(&uptime, now.as_second(), i64::from(now.subsec_microsecond()))
    })
}

/// Turns one `linux-kmsg` record into a message, received as `info` says.
pub fn message(receiver: &Receiver, frame: &[u8], info: &ReceiveInfo) -> LogMessage {
    let flags = &receiver.parse.flags;
    if flags.no_parse {
        // flags(no-parse) keeps the record whole, whatever the format.
        return receiver.message(frame, info);
    }
    let mut msg = match kmsg_record::parse(frame) {
        Ok(record) => {
            let mut msg = LogMessage::new(info);
            msg.set_pri(record.pri);
            if let Some(seq) = record.seq {
                msg.set_value("MSGID", seq);
            }
            msg.set_value(".linux.timestamp", record.timestamp);
            if !flags.no_parse_date {
                let (sec, usec) = kmsg_record::absolute_time(boot_time(), record.usec);
                // The stamp is shown in the local time zone, whatever time-zone() says.
                msg.set_stamp(UnixTime::at(sec, usec, &jiff::tz::TimeZone::system()));
            }
            if flags.no_multi_line {
                let text: Vec<u8> =
                    record.message.iter().map(|&c| if matches!(c, b'\r' | b'\n' | 0) { b' ' } else { c }).collect();
                msg.set_value("MESSAGE", &text);
            } else {
                msg.set_value("MESSAGE", record.message);
            }
            for (name, value) in &record.values {
                msg.set_value(name, value);
            }
            msg
        }
        Err(problem) => {
            let mut local = info.clone();
            local.local = true;
            let mut m = LogMessage::new(&local);
            m.set_pri(rsng_proto::syslog::PARSE_ERROR_PRI);
            m.set_value("PROGRAM", b"syslog-ng");
            m.set_value("PID", own_pid().as_bytes());
            m.set_value("MESSAGE", &kmsg_record::error_text(frame, problem));
            m
        }
    };
    receiver.finish(&mut msg, info);
    msg
}

/// Opens `/dev/kmsg` (or another kernel log device read a record at a time) at its end.
pub fn open_at_end(path: &std::path::Path) -> io::Result<File> {
    let file = super::open_for_reading(path)?;
    // SAFETY: lseek on a descriptor the `File` owns.
    if unsafe { nix::libc::lseek(file.as_raw_fd(), 0, nix::libc::SEEK_END) } < 0 {
        internal::error(format!(
            "Error seeking /dev/kmsg to the end; error='{}'",
            super::os_error(&io::Error::last_os_error())
        ));
    }
    Ok(file)
}

/// Whether `/dev/kmsg` can be read here: it opens and seeks (syslog-ng 3.38's `system()` also
/// checks that it can be polled, which `/dev/kmsg` always can).
pub fn dev_kmsg_usable() -> bool {
    let Ok(file) = super::open_for_reading(std::path::Path::new(DEV_KMSG)) else { return false };
    // SAFETY: lseek on a descriptor the `File` owns.
    unsafe { nix::libc::lseek(file.as_raw_fd(), 0, nix::libc::SEEK_END) >= 0 }
}

/// A source reading a record-at-a-time kernel log device (`/dev/kmsg`).
pub struct KmsgSource {
    /// The device, opened at its end already (the first time).
    pub file: Option<File>,
    pub path: PathBuf,
    pub settings: ReadSettings,
    /// `$FILE_NAME` of the messages.
    pub file_name: Arc<[u8]>,
    /// How long to wait before opening the device again when it cannot be opened.
    pub time_reopen: Duration,
}

impl Source for KmsgSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            let this = *self;
            let mut file = this.file;
            let mut buf = ReadBuf::new();
            let mut batch = Vec::with_capacity(1);
            let mut info = this.settings.receiver.info(None);
            loop {
                let current = match file.take() {
                    Some(f) => f,
                    None => match open_at_end(&this.path) {
                        Ok(f) => f,
                        Err(e) => {
                            internal::error(format!(
                                "Error opening file for reading; filename='{}', error='{}'",
                                this.path.display(),
                                super::os_error(&e)
                            ));
                            tokio::select! {
                                _ = tokio::time::sleep(this.time_reopen) => continue,
                                _ = ctx.shutdown.cancelled() => return,
                            }
                        }
                    },
                };
                let mut input = Input::from_file(current);
                if let Input::Blocking(_) = input {
                    internal::error(format!(
                        "Unable to determine how to monitor this file; filename='{}'",
                        this.path.display()
                    ));
                    return;
                }
                loop {
                    tokio::select! {
                        _ = ctx.port.ready_all() => {}
                        _ = ctx.shutdown.cancelled() => return,
                    }
                    buf.clear();
                    let read = tokio::select! {
                        res = input.read(&mut buf) => res,
                        _ = ctx.shutdown.cancelled() => return,
                    };
                    match read {
                        Ok(0) => {
                            // The end of the device: nothing more comes (syslog-ng stops
                            // reading too).
                            ctx.shutdown.cancelled().await;
                            return;
                        }
                        Ok(_) => {
                            info.received = this.settings.receiver.now();
                            this.settings.push(buf.pending(), &info, Some(&this.file_name), &mut batch);
                            ctx.port.post(&mut batch);
                        }
                        Err(e) => {
                            // EPIPE: records were overwritten before they were read. As
                            // syslog-ng, report it and open the device again (at its end).
                            internal::error(format!(
                                "I/O error occurred while reading; fd='{}', error='{}'",
                                fd_of(&input),
                                super::os_error(&e)
                            ));
                            if e.raw_os_error() != Some(nix::libc::EPIPE) {
                                // Another error would come back at once: unlike syslog-ng, rsng
                                // waits time-reopen() before opening the device again.
                                drop(input);
                                tokio::select! {
                                    _ = tokio::time::sleep(this.time_reopen) => {}
                                    _ = ctx.shutdown.cancelled() => return,
                                }
                            }
                            break;
                        }
                    }
                }
            }
        })
    }
}

fn fd_of(input: &Input) -> i32 {
    match input {
        Input::Fd(fd, _) => fd.as_raw_fd(),
        _ => -1,
    }
}
