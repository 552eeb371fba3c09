//! `file()` and `pipe()` destinations.
//!
//! The path is a template: each distinct expansion is a target with its own descriptor and
//! buffer. Messages are formatted into the target's buffer and written with one `write` per
//! `flush-lines()` messages (per batch taken from the queue at most), followed by `fsync()` when
//! asked. Formatting and writing run on tokio's blocking pool, one batch at a time.
//!
//! As in syslog-ng: missing directories are made with `create-dirs(yes)` (`dir-owner()`,
//! `dir-group()`, `dir-perm()`); every file opened gets `owner()`, `group()` and `perm()` (0600
//! unless set); a path containing `../` or `/..` is refused; a file older than
//! `overwrite-if-older()` seconds is truncated when opened; `symlink-as()` points a link at the
//! file; idle targets are closed after `time-reap()` seconds (only templated paths, unless set).
//! A target that cannot be opened, or whose write fails, keeps its messages (up to
//! `log-fifo-size()`) and is tried again after `time-reopen()` seconds; with
//! `flags(ignore-errors)` a failed write drops its messages instead. Dropped messages are counted
//! in the queue's `dropped` counter.
//!
//! Files are closed and opened again on [`request_reopen`] (what syslog-ng does on SIGUSR1,
//! `syslog-ng-ctl reopen` and reload), and after `time-reap()`. Beyond syslog-ng, a regular file
//! that was removed or renamed (rotated) is noticed within a second and opened again at its path,
//! so rotation works without a signal.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use tokio::sync::Notify;

use super::perms::{create_containing_dirs, FilePerms};
use super::program::Pending;
use super::Throttle;
use crate::internal;
use crate::writer::Writer;
use crate::{Destination, DestinationContext, Task};

/// Bumped by [`request_reopen`]; each destination compares it with the value it last acted on.
static REOPEN_GENERATION: AtomicU64 = AtomicU64::new(0);

fn reopen_notify() -> &'static Notify {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    NOTIFY.get_or_init(Notify::new)
}

/// Makes every running `file()` and `pipe()` destination close its files and open them again
/// before writing more, as syslog-ng does on SIGUSR1, `syslog-ng-ctl reopen` and reload.
pub fn request_reopen() {
    REOPEN_GENERATION.fetch_add(1, Ordering::SeqCst);
    reopen_notify().notify_waiters();
}

/// The current reopen generation (what a new destination starts from).
pub fn reopen_generation() -> u64 {
    REOPEN_GENERATION.load(Ordering::SeqCst)
}

/// Messages taken from the queue at once.
const BATCH: usize = 1024;
/// Formatted bytes written at once: a batch of long messages is written in pieces of about this
/// size, so that its buffer stays small.
const WRITE_CHUNK: usize = 64 * 1024;
/// How often a regular file's path is checked for rotation.
const ROTATION_CHECK: Duration = Duration::from_secs(1);
/// How soon a full pipe is tried again.
const BLOCKED_RETRY: Duration = Duration::from_millis(20);

/// Which driver: they differ in how the path is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Pipe,
}

/// A `file()` or `pipe()` destination.
pub struct FileDestination {
    pub kind: Kind,
    pub path: Template,
    /// The path when it has no macros.
    pub literal: Option<Vec<u8>>,
    /// Options the path is expanded with (`local-time-zone()`).
    pub path_opts: FormatOptions,
    pub writer: Writer,
    pub perms: FilePerms,
    pub create_dirs: bool,
    /// `time-reap()`: `None` keeps targets open.
    pub time_reap: Option<Duration>,
    pub time_reopen: Duration,
    /// `flush-lines()`: messages per `write` at most.
    pub flush_lines: usize,
    pub fsync: bool,
    pub overwrite_if_older: Option<Duration>,
    pub symlink_as: Option<PathBuf>,
    pub ignore_errors: bool,
    /// Messages a target keeps while it cannot be written (`log-fifo-size()`).
    pub max_pending: usize,
    pub throttle: Throttle,
    pub targets: HashMap<Vec<u8>, Target>,
    /// The [`request_reopen`] generation the open files belong to.
    pub reopen_seen: u64,
}

/// One expanded path.
pub struct Target {
    path: PathBuf,
    file: Option<File>,
    /// Device and inode of the open file.
    id: (u64, u64),
    pending: Pending,
    last_used: Instant,
    last_check: Instant,
    /// An open or write failed: not before this.
    retry_at: Option<Instant>,
    /// A pipe was full.
    blocked: bool,
    spurious: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    written: u64,
    dropped: u64,
}

impl FileDestination {
    /// Formats `batch` into the targets and writes what can be written.
    fn process(&mut self, batch: &mut Vec<LogMessage>, now: Instant) -> Counts {
        let mut counts = Counts::default();
        let (mut key, mut current_key) = (Vec::with_capacity(256), Vec::with_capacity(256));
        // Out of `self` while formatting, so that a full target can be written mid-batch.
        let mut targets = std::mem::take(&mut self.targets);
        // Messages in a row mostly go to one file: the target is looked up again only when the
        // path changes.
        let mut current: Option<&mut Target> = None;
        for msg in batch.drain(..) {
            key.clear();
            match &self.literal {
                Some(p) => key.extend_from_slice(p),
                None => {
                    let _ = self.path.format(&msg, &self.path_opts, &mut key);
                }
            }
            if current.is_none() || key != current_key {
                if !targets.contains_key(key.as_slice()) {
                    let t = Target::new(&key, now);
                    targets.insert(key.clone(), t);
                }
                current = targets.get_mut(key.as_slice());
                current_key.clone_from(&key);
            }
            let Some(target) = current.as_deref_mut() else { continue };
            target.last_used = now;
            if target.spurious {
                internal::error(format!("Spurious path, logfile not created; path='{}'", target.path.display()));
                counts.dropped += 1;
                continue;
            }
            let full = target.pending.len() >= self.max_pending;
            let large = target.pending.bytes.len() >= WRITE_CHUNK && !target.blocked;
            if (full || large) && target.retry_at.is_none() {
                // A batch larger than log-fifo-size(), or than one write's worth of bytes: write
                // what is formatted first.
                let c = self.write_target(target, now);
                counts.written += c.written;
                counts.dropped += c.dropped;
            }
            if target.pending.len() >= self.max_pending {
                counts.dropped += 1;
                continue;
            }
            if self.writer.format(&msg, &mut target.pending.bytes) {
                let end = target.pending.bytes.len();
                target.pending.ends.push_back(end);
            } else {
                counts.dropped += 1;
            }
        }
        self.targets = targets;
        let c = self.flush(now);
        counts.written += c.written;
        counts.dropped += c.dropped;
        counts
    }

    /// Writes pending messages of every target that may be tried now, and closes idle ones.
    fn flush(&mut self, now: Instant) -> Counts {
        let mut counts = Counts::default();
        let generation = reopen_generation();
        if generation != self.reopen_seen {
            self.reopen_seen = generation;
            for t in self.targets.values_mut() {
                t.file = None;
            }
        }
        let mut targets = std::mem::take(&mut self.targets);
        for target in targets.values_mut() {
            if target.pending.is_empty() || target.retry_at.is_some_and(|t| t > now) {
                continue;
            }
            target.retry_at = None;
            let c = self.write_target(target, now);
            counts.written += c.written;
            counts.dropped += c.dropped;
        }
        if let Some(ttl) = self.time_reap {
            targets.retain(|_, t| !(t.pending.is_empty() && now.duration_since(t.last_used) >= ttl));
        }
        self.targets = targets;
        counts
    }

    fn write_target(&self, target: &mut Target, now: Instant) -> Counts {
        let mut counts = Counts::default();
        if target.file.is_some() && self.kind == Kind::File && now.duration_since(target.last_check) >= ROTATION_CHECK {
            target.last_check = now;
            let current = std::fs::metadata(&target.path).ok().map(|m| (m.dev(), m.ino()));
            if current != Some(target.id) {
                target.file = None;
            }
        }
        if target.file.is_none() {
            match self.open(&target.path) {
                Ok((file, id)) => {
                    target.file = Some(file);
                    target.id = id;
                    target.last_check = now;
                }
                Err(e) => {
                    if let Some(text) = e {
                        internal::error(format!(
                            "Error opening file for writing; filename='{}', error='{}'",
                            target.path.display(),
                            text
                        ));
                    }
                    target.retry_at = Some(now + self.time_reopen);
                    return counts;
                }
            }
        }
        target.blocked = false;
        let Some(file) = target.file.as_mut() else { return counts };
        while !target.pending.is_empty() {
            let chunk = target.pending.unwritten_first(self.flush_lines);
            match file.write(chunk) {
                Ok(n) => {
                    counts.written += target.pending.advance(n);
                    if self.fsync && n > 0 {
                        let _ = file.sync_all();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    target.blocked = true;
                    break;
                }
                Err(e) => {
                    internal::error(format!(
                        "I/O error occurred while writing; fd='{}', error='{}'",
                        file.as_raw_fd(),
                        super::os_error(&e)
                    ));
                    target.file = None;
                    target.retry_at = Some(now + self.time_reopen);
                    // Otherwise writing goes on from the first byte not written.
                    if self.ignore_errors {
                        counts.dropped += target.pending.drop_first(target.pending.len());
                    }
                    break;
                }
            }
        }
        counts
    }

    /// Opens `path` for appending as the driver says. The error is `None` when it was already
    /// reported in syslog-ng's words.
    fn open(&self, path: &Path) -> Result<(File, (u64, u64)), Option<String>> {
        let io_err = |e: io::Error| Some(super::os_error(&e));
        if let Some(age) = self.overwrite_if_older {
            if let Ok(m) = std::fs::metadata(path) {
                let old =
                    m.modified().ok().and_then(|t| SystemTime::now().duration_since(t).ok()).is_some_and(|d| d > age);
                if old {
                    internal::info(format!(
                        "Destination file is older than overwrite_if_older(), overwriting; filename='{}', overwrite_if_older='{}'",
                        path.display(),
                        age.as_secs()
                    ));
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        if self.create_dirs {
            create_containing_dirs(path, &self.perms.dir).map_err(io_err)?;
        }
        let existing = std::fs::metadata(path).ok();
        let mut options = std::fs::OpenOptions::new();
        match self.kind {
            Kind::File => {
                if existing.as_ref().is_some_and(|m| m.file_type().is_fifo()) {
                    internal::error(format!(
                        "You are using the file() driver, underlying file is a FIFO, it should be used by pipe(); filename='{}'",
                        path.display()
                    ));
                    return Err(Some(super::os_error(&io::Error::from_raw_os_error(nix::libc::EINVAL))));
                }
                options
                    .append(true)
                    .create(true)
                    .mode(self.perms.file.mode.unwrap_or(0o600))
                    .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK);
            }
            Kind::Pipe => {
                match &existing {
                    None => {
                        let mode = nix::sys::stat::Mode::from_bits_truncate(
                            self.perms.file.mode.unwrap_or(0o600) as nix::libc::mode_t
                        );
                        if let Err(e) = nix::unistd::mkfifo(path, mode) {
                            internal::error(format!(
                                "Error creating named pipe, mkfifo() returned an error; file='{}', error='{}'",
                                path.display(),
                                e.desc()
                            ));
                            return Err(None);
                        }
                    }
                    Some(m) if !m.file_type().is_fifo() => {
                        internal::error(format!(
                            "You are using the pipe() driver, underlying file is not a FIFO, it should be used by file(); filename='{}'",
                            path.display()
                        ));
                        return Err(Some(super::os_error(&io::Error::from_raw_os_error(nix::libc::EINVAL))));
                    }
                    Some(_) => {}
                }
                options.read(true).write(true).custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK);
            }
        }
        let file = options.open(path).map_err(io_err)?;
        // Device files keep their permissions, as in syslog-ng.
        if !path.starts_with("/dev/") {
            if let Err(e) = self.perms.file.apply_fd(&file) {
                internal::error(format!(
                    "Error setting file ownership or permissions; filename='{}', error='{}'",
                    path.display(),
                    super::os_error(&e)
                ));
            }
        }
        let meta = file.metadata().map_err(io_err)?;
        if let Some(link) = &self.symlink_as {
            self.symlink(link, path);
        }
        Ok((file, (meta.dev(), meta.ino())))
    }

    /// `symlink-as()`: points `link` at `target`, replacing a link that points elsewhere.
    fn symlink(&self, link: &Path, target: &Path) {
        match std::fs::read_link(link) {
            Ok(current) if current == target => return,
            Ok(_) => {
                if let Err(e) = std::fs::remove_file(link) {
                    internal::error(format!(
                        "Error removing symlink; filename='{}', error='{}'",
                        link.display(),
                        super::os_error(&e)
                    ));
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                internal::error(format!("Error checking symlink; filename='{}', message='{e}'", link.display()));
                return;
            }
        }
        if self.create_dirs {
            let _ = create_containing_dirs(link, &self.perms.dir);
        }
        internal::info(format!("Creating symlink; filename='{}', target='{}'", link.display(), target.display()));
        if let Err(e) = std::os::unix::fs::symlink(target, link) {
            internal::error(format!(
                "Error creating symlink; filename='{}', target='{}', error='{}'",
                link.display(),
                target.display(),
                super::os_error(&e)
            ));
            return;
        }
        let p = self.perms.file;
        if p.uid.is_some() || p.gid.is_some() {
            let _ = std::os::unix::fs::lchown(link, p.uid, p.gid);
        }
    }

    /// When maintenance is due next: a retry, a full pipe, an idle target to close.
    fn next_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut earlier = |t: Instant| due = Some(due.map_or(t, |d| d.min(t)));
        for t in self.targets.values() {
            if !t.pending.is_empty() {
                match t.retry_at {
                    Some(at) => earlier(at),
                    None if t.blocked => earlier(Instant::now() + BLOCKED_RETRY),
                    None => {}
                }
            } else if let Some(ttl) = self.time_reap {
                earlier(t.last_used + ttl);
            }
        }
        due
    }

    fn pending(&self) -> u64 {
        self.targets.values().map(|t| t.pending.len() as u64).sum()
    }
}

impl Target {
    fn new(key: &[u8], now: Instant) -> Target {
        let path = PathBuf::from(std::ffi::OsString::from_vec(key.to_vec()));
        let text = path.as_os_str().as_encoded_bytes();
        let spurious = text.windows(3).any(|w| w == b"../" || w == b"/..");
        Target {
            path,
            file: None,
            id: (0, 0),
            pending: Pending::default(),
            last_used: now,
            last_check: now,
            retry_at: None,
            blocked: false,
            spurious,
        }
    }
}

/// Runs `job` with the destination on the blocking pool and hands it back.
async fn on_pool(
    this: Box<FileDestination>,
    mut batch: Vec<LogMessage>,
) -> Option<(Box<FileDestination>, Vec<LogMessage>, Counts)> {
    tokio::task::spawn_blocking(move || {
        let mut this = this;
        let now = Instant::now();
        let counts = if batch.is_empty() { this.flush(now) } else { this.process(&mut batch, now) };
        (this, batch, counts)
    })
    .await
    .ok()
}

impl Destination for FileDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let queue = ctx.queue;
            let mut this = self;
            let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
            let mut closed = false;
            loop {
                let due = this.next_due();
                if closed {
                    if this.pending() == 0 {
                        break;
                    }
                    let wait = due.unwrap_or_else(|| Instant::now() + BLOCKED_RETRY);
                    tokio::select! {
                        _ = tokio::time::sleep_until(wait.into()) => {}
                        _ = ctx.shutdown.cancelled() => {
                            queue.stats.dropped.fetch_add(this.pending(), Ordering::Relaxed);
                            break;
                        }
                    }
                } else {
                    this.throttle.wait().await;
                    let max = this.throttle.limit(BATCH);
                    let reopen = reopen_notify().notified();
                    tokio::select! {
                        open = queue.pop(max, &mut batch) => {
                            if !open {
                                closed = true;
                            } else {
                                queue.gather(max, &mut batch).await;
                            }
                            this.throttle.account(batch.len());
                            crate::fault::hit_in(crate::fault::Point::Writer, queue.name());
                        }
                        _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now).into()), if due.is_some() => {}
                        _ = reopen, if this.reopen_seen == reopen_generation() => {}
                    }
                }
                let Some((back, b, counts)) = on_pool(this, std::mem::take(&mut batch)).await else {
                    internal::error(format!("The destination writer stopped; destination='{}'", queue.name()));
                    return;
                };
                this = back;
                batch = b;
                queue.stats.written.fetch_add(counts.written, Ordering::Relaxed);
                if counts.dropped > 0 {
                    queue.stats.dropped.fetch_add(counts.dropped, Ordering::Relaxed);
                }
            }
        })
    }
}
