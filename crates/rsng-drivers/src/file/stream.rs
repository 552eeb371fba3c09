//! Reading byte streams that are not followed by position: named pipes (`pipe()`), `stdin()`,
//! the kernel log (`/proc/kmsg`), character devices given to `file()`, and a program's output
//! (see [`super::program`]). Also the pieces every file-family reader shares: the read buffer,
//! the settings that turn frames into messages, and the loop that reads, cuts and posts.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use rsng_core::message::ReceiveInfo;
use rsng_core::LogMessage;
use tokio::io::unix::AsyncFd;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::lines::{MultiLine, Splitter, Step};
use crate::internal;
use crate::pipeline::SourcePort;
use crate::receive::Receiver;
use crate::{Source, SourceContext, Task};

/// Bytes asked for per read.
pub const READ_SIZE: usize = 64 * 1024;

/// A read buffer: unconsumed bytes are `data[start..end]`; consuming moves `start`, and the
/// bytes are moved to the front only when the free tail gets short.
#[derive(Debug, Default)]
pub struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    pub fn new() -> ReadBuf {
        ReadBuf { data: vec![0; READ_SIZE], start: 0, end: 0 }
    }

    pub fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Free space for a read of up to `want` bytes (compacting or growing first).
    pub fn space(&mut self, want: usize) -> &mut [u8] {
        if self.data.len() - self.end < want {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.data.len() - self.end < want {
                self.data.resize(self.end + want, 0);
            }
        }
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes of [`ReadBuf::space`] as filled.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }
}

/// How a file-family source turns frames into messages, shared by its readers.
pub struct ReadSettings {
    pub receiver: Arc<Receiver>,
    pub multi_line: MultiLine,
    pub pad_size: usize,
    /// Messages posted at once at most (`log-fetch-limit()`, `log-iw-size()`).
    pub batch: usize,
    /// `format(linux-kmsg)`: frames are kernel log records ([`super::kmsg`]).
    pub linux_kmsg: bool,
}

impl ReadSettings {
    pub fn splitter(&self) -> Splitter {
        Splitter::new(self.multi_line.clone(), self.receiver.max_msg_size, self.pad_size)
    }

    /// Turns one frame into a message and adds it to `batch` (empty lines are skipped unless
    /// `flags(empty-lines)`).
    pub fn push(&self, frame: &[u8], info: &ReceiveInfo, file_name: Option<&[u8]>, batch: &mut Vec<LogMessage>) {
        if frame.is_empty() && !self.receiver.empty_lines {
            return;
        }
        let mut msg = if self.linux_kmsg {
            super::kmsg::message(&self.receiver, frame, info)
        } else {
            self.receiver.message(frame, info)
        };
        if let Some(name) = file_name {
            msg.set_value("FILE_NAME", name);
        }
        batch.push(msg);
    }

    /// A reader's working state for these settings.
    pub fn reading(&self) -> Reading {
        Reading {
            buf: ReadBuf::new(),
            splitter: self.splitter(),
            batch: Vec::with_capacity(self.batch),
            info: self.receiver.info(None),
        }
    }

    /// Cuts every complete message out of the read buffer and posts them; returns how many
    /// bytes were used (already consumed from the buffer).
    pub fn drain(&self, r: &mut Reading, closed: bool, file_name: Option<&[u8]>, port: &mut SourcePort) -> usize {
        let pending = r.buf.pending();
        let mut pos = 0;
        while let Step::Frame { message, consumed } = r.splitter.next(&pending[pos..], closed) {
            pos += consumed;
            self.push(message, &r.info, file_name, &mut r.batch);
            if r.batch.len() >= self.batch {
                port.post(&mut r.batch);
            }
        }
        port.post(&mut r.batch);
        r.buf.consume(pos);
        pos
    }
}

/// A reader's working state: what was read and not yet used, the framing state, the batch being
/// built and the receive information of its messages.
pub struct Reading {
    pub buf: ReadBuf,
    pub splitter: Splitter,
    pub batch: Vec<LogMessage>,
    pub info: ReceiveInfo,
}

/// A stream to read from.
pub enum Input {
    /// A pollable descriptor (pipe, terminal, character device, socket), and its status flags
    /// to put back when it was not non-blocking before (standard input is shared with others).
    Fd(AsyncFd<File>, Option<nix::fcntl::OFlag>),
    /// A program's standard output.
    Child(tokio::process::ChildStdout),
    /// A descriptor that cannot be polled (a regular file as standard input): read on the
    /// blocking pool.
    Blocking(Option<File>),
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Input::Fd(fd, Some(flags)) = self {
            use std::os::fd::AsRawFd;
            let _ = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(*flags));
        }
    }
}

impl Input {
    /// Wraps an open descriptor: pollable ones are registered with tokio, others are read on the
    /// blocking pool.
    pub fn from_file(file: File) -> Input {
        use std::os::fd::AsRawFd;
        let restore = set_nonblocking(file.as_raw_fd());
        // SAFETY: a `File` owns its descriptor until it is dropped, which is when the `AsyncFd`
        // is dropped.
        match unsafe { AsyncFd::register_with_interest(file, tokio::io::Interest::READABLE) } {
            Ok(fd) => Input::Fd(fd, restore),
            Err(e) => {
                let (file, cause) = e.into_parts();
                if let Some(flags) = restore {
                    let _ = nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags));
                }
                // epoll refuses regular files; they are always readable.
                if cause.raw_os_error() == Some(nix::libc::EPERM) {
                    Input::Blocking(Some(file))
                } else {
                    Input::Blocking(None)
                }
            }
        }
    }

    /// Reads into `buf`; `Ok(0)` at the end of the stream.
    pub async fn read(&mut self, buf: &mut ReadBuf) -> io::Result<usize> {
        let n = match self {
            Input::Fd(fd, _) => loop {
                let mut guard = fd.readable().await?;
                let space = buf.space(READ_SIZE);
                match guard.try_io(|inner| inner.get_ref().read(space)) {
                    Ok(result) => break result?,
                    Err(_would_block) => continue,
                }
            },
            Input::Child(out) => out.read(buf.space(READ_SIZE)).await?,
            Input::Blocking(slot) => {
                let Some(mut file) = slot.take() else { return Ok(0) };
                let mut data = std::mem::take(buf);
                let joined = tokio::task::spawn_blocking(move || {
                    let r = file.read(data.space(READ_SIZE));
                    (file, data, r)
                })
                .await;
                match joined {
                    Ok((file, data, r)) => {
                        *slot = Some(file);
                        *buf = data;
                        let n = r?;
                        buf.filled(n);
                        return Ok(n);
                    }
                    Err(e) => return Err(io::Error::other(e.to_string())),
                }
            }
        };
        buf.filled(n);
        Ok(n)
    }
}

/// Makes `fd` non-blocking; returns its flags before when they changed.
fn set_nonblocking(fd: std::os::fd::RawFd) -> Option<nix::fcntl::OFlag> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).ok()?);
    if flags.contains(OFlag::O_NONBLOCK) {
        return None;
    }
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).ok()?;
    Some(flags)
}

/// Why [`read_stream`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    Eof,
    Shutdown,
}

/// Reads `input` until its end or shutdown, posting every message. At the end of the stream a
/// last unterminated line is a message too.
pub async fn read_stream(
    input: &mut Input,
    settings: &ReadSettings,
    port: &mut SourcePort,
    shutdown: &CancellationToken,
    file_name: Option<&[u8]>,
) -> StreamEnd {
    let mut r = settings.reading();
    loop {
        tokio::select! {
            _ = port.ready_all() => {}
            _ = shutdown.cancelled() => return StreamEnd::Shutdown,
        }
        let read = tokio::select! {
            res = input.read(&mut r.buf) => res,
            _ = shutdown.cancelled() => return StreamEnd::Shutdown,
        };
        let eof = match read {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                internal::error(format!("I/O error occurred while reading; error='{}'", super::os_error(&e)));
                true
            }
        };
        r.info.received = settings.receiver.now();
        settings.drain(&mut r, eof, file_name, port);
        if eof {
            return StreamEnd::Eof;
        }
    }
}

/// What a stream source does when its input ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtEof {
    /// Stop reading (a device that went away).
    Stop,
    /// Stop rsng, as syslog-ng does when `stdin()` ends.
    Terminate,
}

/// A source reading one stream: `pipe()`, `stdin()`, the kernel log, a character device.
pub struct StreamSource {
    pub file: Option<File>,
    pub settings: ReadSettings,
    /// `$FILE_NAME` of the messages.
    pub file_name: Option<Arc<[u8]>>,
    pub at_eof: AtEof,
}

impl Source for StreamSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            let Some(file) = self.file else {
                // optional(yes) and the file could not be opened: nothing to read.
                ctx.shutdown.cancelled().await;
                return;
            };
            let mut input = Input::from_file(file);
            if let Input::Blocking(None) = input {
                internal::error(format!(
                    "Unable to determine how to monitor this file; filename='{}'",
                    String::from_utf8_lossy(self.file_name.as_deref().unwrap_or(b"-"))
                ));
                return;
            }
            let end =
                read_stream(&mut input, &self.settings, &mut ctx.port, &ctx.shutdown, self.file_name.as_deref()).await;
            if end == StreamEnd::Eof && self.at_eof == AtEof::Terminate {
                // rsng's SIGTERM handler stops it in order. Listening here too keeps the default
                // action (exit at once) away when the input ends before rsng listens; the signal
                // is sent again until the stop begins.
                let _listening = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
                loop {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGTERM);
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                        _ = ctx.shutdown.cancelled() => return,
                    }
                }
            }
            if end == StreamEnd::Eof {
                ctx.shutdown.cancelled().await;
            }
        })
    }
}
