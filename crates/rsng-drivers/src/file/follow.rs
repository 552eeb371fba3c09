//! Following regular files: `file()` and `wildcard-file()` sources.
//!
//! A follower reads what is in the file, then checks every `follow-freq()` seconds whether more
//! was appended (syslog-ng polls files the same way). The position after the last message handed
//! on is kept in the persist store under the file's key, with the file's inode and size; when the
//! reader starts again on the same file (same inode, not shrunk), it continues there, otherwise
//! it starts from the beginning, as syslog-ng does. A last line without its newline waits until
//! the line is complete.
//!
//! At the end of the data, a follower also looks at the path: a file that shrank is read again
//! from the start; a `file()` whose path now names another, non-empty file (rotated) switches to
//! it; a `wildcard-file()` reader stops once its file is gone (deleted or replaced; the directory
//! scan picks up a new file of the same name) and forgets its position.
//!
//! Reads and `stat` calls run on tokio's blocking pool, one read of up to [`FILE_READ_SIZE`]
//! bytes at a time, so a slow disk does not hold up a worker thread.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::perms::Perms;
use super::persist::{FilePosition, PersistStore};
use super::stream::{ReadBuf, ReadSettings};
use crate::internal;
use crate::pipeline::SourcePort;
use crate::{Source, SourceContext, Task};

/// Bytes asked for per read of a followed file.
pub const FILE_READ_SIZE: usize = 256 * 1024;

/// How often positions are written to the persist file at most while reading.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// What every follower of a source shares.
pub struct FollowSettings {
    pub read: ReadSettings,
    pub follow_freq: Duration,
    /// `multi-line-timeout()`: a pending multi-line message is sent after this long at the end
    /// of the file.
    pub multi_line_timeout: Option<Duration>,
    pub store: Arc<PersistStore>,
    /// `owner()`/`group()`/`perm()` set on the source: applied to the file when opened.
    pub perms: Perms,
}

/// Whether a follower keeps its path after the file is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// `file()`: wait for the file to come back.
    Forever,
    /// `wildcard-file()`: stop when the file is deleted or replaced.
    UntilDeleted,
}

struct OpenFile {
    file: File,
    inode: u64,
    /// The size last seen.
    size: u64,
    /// The offset up to which the file was read.
    pos: u64,
}

/// What a follower saw at the end of the data.
enum AtEnd {
    Unchanged,
    /// More data arrived meanwhile.
    Grown,
    Truncated,
    /// The path names another file of this size.
    Replaced(u64),
    Missing,
}

enum Outcome {
    Data,
    End(AtEnd),
    Error(io::Error),
}

fn read_some(open: &mut OpenFile, buf: &mut ReadBuf, path: &Path) -> Outcome {
    loop {
        match open.file.read(buf.space(FILE_READ_SIZE)) {
            Ok(0) => break,
            Ok(n) => {
                buf.filled(n);
                open.pos += n as u64;
                open.size = open.size.max(open.pos);
                return Outcome::Data;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Outcome::Error(e),
        }
    }
    let size = match open.file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return Outcome::Error(e),
    };
    open.size = size;
    if size < open.pos {
        return Outcome::End(AtEnd::Truncated);
    }
    if size > open.pos {
        return Outcome::End(AtEnd::Grown);
    }
    Outcome::End(match std::fs::metadata(path) {
        Ok(m) if m.ino() != open.inode => AtEnd::Replaced(m.len()),
        Ok(_) => AtEnd::Unchanged,
        Err(e) if e.kind() == io::ErrorKind::NotFound => AtEnd::Missing,
        Err(_) => AtEnd::Unchanged,
    })
}

/// Opens `path` and seeks to the position stored under `key` when it still applies.
fn open_at_saved(path: &Path, key: &str, store: &PersistStore, perms: &Perms) -> io::Result<OpenFile> {
    let mut file =
        std::fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if meta.file_type().is_fifo() {
        internal::error(format!(
            "You are using the file() driver, underlying file is a FIFO, it should be used by pipe(); filename='{}'",
            path.display()
        ));
        return Err(io::Error::from_raw_os_error(nix::libc::EINVAL));
    }
    if !perms.is_empty() {
        if let Err(e) = perms.apply_fd(&file) {
            internal::error(format!(
                "Error setting file ownership or permissions; filename='{}', error='{}'",
                path.display(),
                super::os_error(&e)
            ));
        }
    }
    let (inode, size) = (meta.ino(), meta.len());
    let pos = match store.position(key) {
        Some(saved) if saved.inode == inode && saved.size <= size && saved.pos <= size => saved.pos,
        Some(saved) => {
            internal::notice(format!(
                "The current log file has a mismatching size/inode information, restarting from the beginning; state='{key}', stored_inode='{}', cur_file_inode='{inode}', stored_size='{}', cur_file_size='{size}', raw_stream_pos='{}'",
                saved.inode, saved.size, saved.pos
            ));
            0
        }
        None => 0,
    };
    file.seek(SeekFrom::Start(pos))?;
    Ok(OpenFile { file, inode, size, pos })
}

/// Runs `job` on the blocking pool; `None` if it could not run to the end.
async fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(job).await.ok()
}

/// Follows one file until shutdown (or, for [`Lifetime::UntilDeleted`], until it is gone).
pub async fn follow(
    settings: Arc<FollowSettings>,
    path: PathBuf,
    key: String,
    lifetime: Lifetime,
    mut port: SourcePort,
    shutdown: CancellationToken,
) {
    let file_name: Vec<u8> = path.as_os_str().as_encoded_bytes().to_vec();
    let receiver = settings.read.receiver.clone();
    let mut r = settings.read.reading();
    let mut open: Option<OpenFile> = None;
    let mut reported_missing = false;
    let mut at_end_since: Option<Instant> = None;
    let pause = |d: Duration| {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = tokio::time::sleep(d) => true,
                _ = shutdown.cancelled() => false,
            }
        }
    };
    loop {
        let Some(mut current) = open.take() else {
            let (p, k, store, perms) = (path.clone(), key.clone(), settings.store.clone(), settings.perms);
            match blocking(move || open_at_saved(&p, &k, &store, &perms)).await {
                Some(Ok(o)) => {
                    open = Some(o);
                    r.buf.clear();
                    r.splitter.reset();
                    at_end_since = None;
                    reported_missing = false;
                }
                Some(Err(e)) => {
                    if lifetime == Lifetime::UntilDeleted && e.kind() == io::ErrorKind::NotFound {
                        settings.store.remove(&key);
                        return;
                    }
                    if !reported_missing {
                        reported_missing = true;
                        internal::info(format!(
                            "Follow-mode file source not found, deferring open; filename='{}'",
                            path.display()
                        ));
                    }
                    if !pause(settings.follow_freq).await {
                        break;
                    }
                }
                None => return,
            }
            continue;
        };
        tokio::select! {
            _ = port.ready_all() => {}
            _ = shutdown.cancelled() => { open = Some(current); break; }
        }
        let p = path.clone();
        let mut data = std::mem::take(&mut r.buf);
        let Some((current_back, data_back, outcome)) = blocking(move || {
            let outcome = read_some(&mut current, &mut data, &p);
            (current, data, outcome)
        })
        .await
        else {
            return;
        };
        current = current_back;
        r.buf = data_back;
        match outcome {
            Outcome::Data => {
                at_end_since = None;
                r.info.received = receiver.now();
                settings.read.drain(&mut r, false, Some(&file_name), &mut port);
                record(&settings.store, &key, &current, &r.buf);
                open = Some(current);
            }
            Outcome::End(at_end) => {
                if let (Some(timeout), true) = (settings.multi_line_timeout, !r.buf.pending().is_empty()) {
                    let since = *at_end_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= timeout {
                        at_end_since = None;
                        r.info.received = receiver.now();
                        let pending = r.buf.pending();
                        if let super::lines::Step::Frame { message, consumed } = r.splitter.flush(pending) {
                            settings.read.push(message, &r.info, Some(&file_name), &mut r.batch);
                            port.post(&mut r.batch);
                            r.buf.consume(consumed);
                            record(&settings.store, &key, &current, &r.buf);
                        }
                    }
                }
                match at_end {
                    AtEnd::Grown => {
                        open = Some(current);
                        continue;
                    }
                    AtEnd::Unchanged => open = Some(current),
                    AtEnd::Missing if lifetime == Lifetime::Forever => open = Some(current),
                    AtEnd::Missing | AtEnd::Replaced(_) if lifetime == Lifetime::UntilDeleted => {
                        settings.store.remove(&key);
                        save(&settings.store).await;
                        return;
                    }
                    AtEnd::Replaced(0) => open = Some(current),
                    // Reopen the path: the position no longer fits, so reading starts over.
                    AtEnd::Replaced(_) | AtEnd::Truncated | AtEnd::Missing => {}
                }
                if settings.store.save_due(SAVE_EVERY) {
                    save(&settings.store).await;
                }
                if !pause(settings.follow_freq).await {
                    break;
                }
            }
            Outcome::Error(e) => {
                internal::error(format!(
                    "I/O error occurred while reading; filename='{}', error='{}'",
                    path.display(),
                    super::os_error(&e)
                ));
                if !pause(settings.follow_freq).await {
                    break;
                }
            }
        }
    }
    if let Some(current) = &open {
        record(&settings.store, &key, current, &r.buf);
    }
    save(&settings.store).await;
}

/// Records the position after the last message handed on.
fn record(store: &PersistStore, key: &str, open: &OpenFile, buf: &ReadBuf) {
    let pos = open.pos.saturating_sub(buf.pending().len() as u64);
    store.set_position(key, FilePosition { inode: open.inode, size: open.size.max(pos), pos });
}

async fn save(store: &Arc<PersistStore>) {
    let store = store.clone();
    let _ = blocking(move || store.save()).await;
}

/// The persist key of a followed file, as syslog-ng names it.
pub fn persist_key(path: &str, persist_name: Option<&str>) -> String {
    match persist_name {
        Some(name) => format!("affile_sd.{name}.curpos"),
        None => format!("affile_sd_curpos({path})"),
    }
}

/// `file()` on a regular file.
pub struct FileSource {
    pub settings: Arc<FollowSettings>,
    pub path: PathBuf,
    pub key: String,
}

impl Source for FileSource {
    fn run(self: Box<Self>, ctx: SourceContext) -> Task {
        Box::pin(follow(self.settings, self.path, self.key, Lifetime::Forever, ctx.port, ctx.shutdown))
    }
}

/// `wildcard-file()`, and `file()` with wildcards in its path.
pub struct WildcardSource {
    pub settings: Arc<FollowSettings>,
    pub base_dir: PathBuf,
    pub pattern: String,
    pub recursive: bool,
    pub max_files: usize,
    /// The source's name, for messages.
    pub object: String,
}

impl Source for WildcardSource {
    fn run(self: Box<Self>, ctx: SourceContext) -> Task {
        Box::pin(async move {
            let this = *self;
            let mut followed: HashSet<PathBuf> = HashSet::new();
            let mut waiting: VecDeque<PathBuf> = VecDeque::new();
            let mut tasks: tokio::task::JoinSet<PathBuf> = tokio::task::JoinSet::new();
            let stop = ctx.shutdown.child_token();
            let mut reported_scan_error = false;
            let start = |path: PathBuf, tasks: &mut tokio::task::JoinSet<PathBuf>| {
                let key = persist_key(&path.to_string_lossy(), None);
                let fut = follow(
                    this.settings.clone(),
                    path.clone(),
                    key,
                    Lifetime::UntilDeleted,
                    ctx.port.clone(),
                    stop.clone(),
                );
                tasks.spawn(async move {
                    fut.await;
                    path
                });
            };
            loop {
                let (base, pattern, recursive) = (this.base_dir.clone(), this.pattern.clone(), this.recursive);
                match blocking(move || scan(&base, &pattern, recursive)).await {
                    Some(Ok(found)) => {
                        reported_scan_error = false;
                        for path in found {
                            if followed.contains(&path) || waiting.contains(&path) {
                                continue;
                            }
                            if followed.len() >= this.max_files {
                                internal::warning(format!(
                                    "Number of allowed monitorod file is reached, rejecting read file; source='{}', filename='{}', max_files='{}'",
                                    this.object,
                                    path.display(),
                                    this.max_files
                                ));
                                waiting.push_back(path);
                                continue;
                            }
                            followed.insert(path.clone());
                            start(path, &mut tasks);
                        }
                    }
                    Some(Err(e)) => {
                        if !reported_scan_error {
                            reported_scan_error = true;
                            internal::error(format!(
                                "Error opening directory for reading; dir='{}', error='{}'",
                                this.base_dir.display(),
                                super::os_error(&e)
                            ));
                        }
                    }
                    None => break,
                }
                let deadline = tokio::time::sleep(this.settings.follow_freq);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        done = tasks.join_next(), if !tasks.is_empty() => {
                            if let Some(Ok(path)) = done {
                                followed.remove(&path);
                                while followed.len() < this.max_files {
                                    let Some(next) = waiting.pop_front() else { break };
                                    followed.insert(next.clone());
                                    start(next, &mut tasks);
                                }
                            }
                        }
                        _ = ctx.shutdown.cancelled() => {
                            stop.cancel();
                            while tasks.join_next().await.is_some() {}
                            return;
                        }
                    }
                }
            }
            stop.cancel();
            while tasks.join_next().await.is_some() {}
        })
    }
}

/// The regular files under `base` whose names match `pattern`, in name order.
fn scan(base: &Path, pattern: &str, recursive: bool) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut dirs = vec![base.to_path_buf()];
    let mut first = true;
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            Err(_) => continue,
        };
        first = false;
        if let Ok(m) = std::fs::metadata(&dir) {
            // Symbolic links may loop back to a directory already listed.
            if !seen_dirs.insert((m.dev(), m.ino())) {
                continue;
            }
        }
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if meta.is_dir() {
                if recursive {
                    dirs.push(path);
                }
            } else if glob_match(pattern.as_bytes(), entry.file_name().as_encoded_bytes()) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// glib's simple patterns, as `filename-pattern()` takes them: `*` matches any run of bytes,
/// `?` one character; there is no escaping.
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                n += utf8_len(name[n]).min(name.len() - n);
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn simple_patterns() {
        assert!(glob_match(b"*.log", b"a.log"));
        assert!(glob_match(b"*.log", b".log"));
        assert!(!glob_match(b"*.log", b"a.log.1"));
        assert!(glob_match(b"a?c*", b"abcdef"));
        assert!(glob_match(b"a?c", "aéc".as_bytes()));
        assert!(!glob_match(b"a?c", b"ac"));
        assert!(glob_match(b"*", b"anything"));
        assert!(glob_match(b"*a*b", b"xaxxb"));
    }
}
