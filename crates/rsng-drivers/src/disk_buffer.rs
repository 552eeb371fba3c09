//! `disk-buffer()`: a destination queue kept in a file, so that queued messages survive a
//! restart (and, with `reliable(yes)`, a crash).
//!
//! The file is a 16-byte header (magic, version, the offset of the first message not yet
//! delivered) followed by records (`u32` length, then [`LogMessage::encode`] bytes). New messages
//! are appended; the writer reads records from the delivered offset on. Taking the next batch
//! first records the previous batch as delivered (one 8-byte write into the header), so a crash
//! while a batch is being written sends that batch again after the restart: messages may be
//! repeated, never lost. When everything is delivered the file is cut back to its header.
//!
//! No file I/O happens on a source's task or under a lock a source takes: a source encodes its
//! batch and stages the bytes ([`DiskStore::push`]); the buffer's own thread appends what is
//! staged with one write (and, with `reliable(yes)`, one sync), and only then are the messages
//! visible to the writer and the flow-control windows they hold given back. So with
//! `reliable(yes)` and flow control, a source reads on only once what it read before is on the
//! disk. As in syslog-ng, a reliable buffer whose file has less than `mem-buf-size()` free
//! after a message is written keeps that message's window until the message is delivered, so
//! a flow-controlled source slows down before the file fills. The destination's writer reads on
//! the blocking pool ([`DiskStore::pop`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rsng_core::LogMessage;

use crate::pipeline::Window;

const MAGIC: &[u8; 4] = b"RSQ1";
const HEADER: u64 = 16;
/// How much is read from the file at a time.
const READ_CHUNK: usize = 1 << 20;
/// A record longer than this is damage, not a message.
const MAX_RECORD: u32 = 64 << 20;
/// syslog-ng's default `mem-buf-size()` of reliable buffers (10,000 messages of 16 KiB).
pub const DEFAULT_MEM_BUF_SIZE: u64 = 10_000 * 16 * 1024;

crate::typed_options! {
    /// The options of `disk-buffer()` the queue runs, read from the group as from a driver
    /// ([`DiskBufferOptions::of`]).
    pub struct DiskBufferOptions {
        driver {
            pub dir: String = "dir";
            /// Bytes of the file.
            pub disk_buf_size: u64 = "disk-buf-size" if (|&n| n > 0) or (1 << 20);
            pub reliable: bool = "reliable" or (false);
            /// Messages held in memory besides the file (non-reliable buffers only).
            pub qout_size: usize = "qout-size";
            pub mem_buf_length: usize = "mem-buf-length";
            /// Reliable buffers: below this much free space in the file, a written message keeps
            /// its flow-control window until it is delivered.
            pub mem_buf_size: u64 = "mem-buf-size";
        }
        inherited {}
        global {}
    }
}

impl DiskBufferOptions {
    /// The `disk-buffer()` group of `driver`, if it has one; each option that takes effect is
    /// recorded as read as `disk-buffer.NAME`.
    pub fn of(driver: &rsng_config::ir::Driver, globals: &crate::options::Globals) -> Option<DiskBufferOptions> {
        let rsng_config::ir::Value::Group(items) = driver.option("disk-buffer")? else { return None };
        let group = rsng_config::ir::Driver {
            name: "disk-buffer",
            positional: Vec::new(),
            options: items.clone(),
            span: driver.span,
        };
        let o = DiskBufferOptions::read(&crate::options::Options::new(&group, globals));
        // Every option is read; the memory options of one kind of buffer (`qout-size()` and
        // `mem-buf-length()` of non-reliable ones, `mem-buf-size()` of reliable ones) have no
        // effect on the other kind, as in syslog-ng.
        for name in DiskBufferOptions::DRIVER_OPTIONS {
            driver.note(&format!("disk-buffer.{name}"));
        }
        Some(o)
    }
}

/// Where and how a disk buffer is kept.
#[derive(Debug, Clone)]
pub struct DiskOptions {
    pub path: PathBuf,
    /// `disk-buf-size()`: the most bytes of messages the file holds.
    pub capacity: u64,
    /// `reliable(yes)`: sync every change to the disk.
    pub reliable: bool,
    /// `mem-buf-size()` of a reliable buffer: with less free space than this in the file after a
    /// message is written, its window is given back only once it is delivered (0: always once
    /// written).
    pub hold_below: u64,
}

impl DiskOptions {
    /// The options of a buffer at `path` from the `disk-buffer()` settings.
    pub fn new(path: PathBuf, o: &DiskBufferOptions) -> DiskOptions {
        let hold_below = if o.reliable { o.mem_buf_size.unwrap_or(DEFAULT_MEM_BUF_SIZE) } else { 0 };
        DiskOptions { path, capacity: o.disk_buf_size, reliable: o.reliable, hold_below }
    }
}

/// Offsets and counts of the file, changed by the appending thread and the writer.
#[derive(Debug)]
struct Offsets {
    /// The first record not handed out yet.
    read_off: u64,
    /// The first record not yet delivered (as recorded in the header).
    committed_off: u64,
    /// The end of the last complete record.
    write_off: u64,
    /// Records between `read_off` and `write_off`.
    queued: usize,
    /// Records between `committed_off` and `read_off` (handed out, not yet delivered).
    in_flight: usize,
}

/// What sources staged and the appending thread has not written yet.
#[derive(Default)]
struct Staging {
    bytes: Vec<u8>,
    records: usize,
    /// The windows the staged messages hold, given back once they are written (and synced),
    /// or, when the entry says so, once they are delivered ([`DiskOptions::hold_below`]).
    windows: Vec<(usize, Option<Arc<Window>>, bool)>,
    /// The thread is writing a batch it took out of here.
    writing: bool,
    /// The records of that batch (counted as queued until they are in the file's count).
    writing_records: usize,
    closed: bool,
}

/// Called by the appending thread: `Ok(n)` when `n` records became readable, `Err` when a write
/// failed and the records it held were dropped.
pub type Appended = Box<dyn Fn(Result<usize, (usize, io::Error)>) + Send + Sync>;

pub struct DiskStore {
    file: File,
    path: PathBuf,
    capacity: u64,
    reliable: bool,
    offsets: Mutex<Offsets>,
    /// Held by whoever changes the file's length or appends (the appending thread, and the writer
    /// when it cuts the file back), not by sources.
    io: Mutex<()>,
    staging: Mutex<Staging>,
    staged: Condvar,
    drained: Condvar,
    /// Bytes staged or in the file and not delivered: what `disk-buf-size()` bounds.
    used: AtomicU64,
    read_buf: Mutex<Vec<u8>>,
    hold_below: u64,
    /// Windows kept until their messages are delivered, in file order.
    held: Mutex<HeldWindows>,
}

/// The windows of written messages that are given back only on delivery. Records are counted
/// from the buffer's opening: `appended` of them are in the file, `delivered` of them were
/// delivered; each entry holds the `remaining` records before record `end`.
#[derive(Default)]
struct HeldWindows {
    appended: u64,
    delivered: u64,
    entries: VecDeque<(u64, usize, Arc<Window>)>,
}

impl HeldWindows {
    /// `n` more records were delivered: the windows of those among them that held one are given
    /// back.
    fn deliver(&mut self, n: usize) {
        self.delivered += n as u64;
        while let Some((end, remaining, window)) = self.entries.front_mut() {
            let start = *end - *remaining as u64;
            if self.delivered >= *end {
                window.release(*remaining);
                self.entries.pop_front();
            } else {
                if self.delivered > start {
                    let k = (self.delivered - start) as usize;
                    window.release(k);
                    *remaining -= k;
                }
                break;
            }
        }
    }
}

impl std::fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// A source's encoding buffer (no allocation per batch once grown).
    static ENCODE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl DiskStore {
    /// Opens (or creates) the buffer file and finds the messages left in it. Call
    /// [`DiskStore::start`] to begin appending.
    ///
    /// # Errors
    /// When the file cannot be opened or made, or is not a disk buffer.
    pub fn open(opts: &DiskOptions) -> io::Result<DiskStore> {
        if let Some(dir) = opts.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&opts.path)?;
        let len = file.metadata()?.len();
        let mut read_off = HEADER;
        if len >= HEADER {
            let mut header = [0u8; HEADER as usize];
            file.read_exact_at(&mut header, 0)?;
            if &header[..4] != MAGIC {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not an rsng disk buffer", opts.path.display()),
                ));
            }
            read_off = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")).clamp(HEADER, len);
        } else {
            let mut header = [0u8; HEADER as usize];
            header[..4].copy_from_slice(MAGIC);
            header[8..16].copy_from_slice(&HEADER.to_le_bytes());
            file.write_all_at(&header, 0)?;
            file.set_len(HEADER)?;
        }
        let (write_off, queued) = scan(&file, read_off, len.max(HEADER))?;
        Ok(DiskStore {
            file,
            path: opts.path.clone(),
            capacity: opts.capacity.max(1),
            reliable: opts.reliable,
            offsets: Mutex::new(Offsets { read_off, committed_off: read_off, write_off, queued, in_flight: 0 }),
            io: Mutex::new(()),
            staging: Mutex::new(Staging::default()),
            staged: Condvar::new(),
            drained: Condvar::new(),
            used: AtomicU64::new(write_off - read_off),
            read_buf: Mutex::new(Vec::new()),
            hold_below: if opts.reliable { opts.hold_below } else { 0 },
            held: Mutex::new(HeldWindows { appended: queued as u64, ..HeldWindows::default() }),
        })
    }

    /// Starts the thread that appends what sources stage; `appended` hears of each append.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(self: &Arc<Self>, appended: Appended) -> io::Result<()> {
        let store = self.clone();
        std::thread::Builder::new().name("rsng-disk-buffer".into()).spawn(move || store.append_loop(appended))?;
        Ok(())
    }

    fn append_loop(&self, appended: Appended) {
        let mut bytes = Vec::new();
        let mut windows = Vec::new();
        loop {
            let records = {
                let mut st = lock(&self.staging);
                st.writing = false;
                self.drained.notify_all();
                while st.records == 0 && !st.closed {
                    st = self.staged.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                if st.records == 0 {
                    return;
                }
                std::mem::swap(&mut st.bytes, &mut bytes);
                std::mem::swap(&mut st.windows, &mut windows);
                st.writing = true;
                st.writing_records = st.records;
                std::mem::take(&mut st.records)
            };
            let result = self.append(&bytes, records);
            if result.is_err() {
                self.used.fetch_sub(bytes.len() as u64, Ordering::AcqRel);
                lock(&self.staging).writing_records = 0;
            }
            bytes.clear();
            // Written (and synced, when reliable): the sources may read on, unless the file was
            // nearly full and the windows wait for delivery.
            let mut held = lock(&self.held);
            for (n, window, hold) in windows.drain(..) {
                if result.is_ok() {
                    held.appended += n as u64;
                }
                match window {
                    Some(w) if hold && result.is_ok() => {
                        let end = held.appended;
                        held.entries.push_back((end, n, w));
                    }
                    Some(w) => w.release(n),
                    None => {}
                }
            }
            drop(held);
            appended(result.map(|()| records).map_err(|e| (records, e)));
        }
    }

    /// Appends `bytes` (`records` records) at the end of the file.
    fn append(&self, bytes: &[u8], records: usize) -> io::Result<()> {
        let _io = lock(&self.io);
        let off = lock(&self.offsets).write_off;
        self.file.write_all_at(bytes, off)?;
        if self.reliable {
            self.file.sync_data()?;
        }
        // Both counts change together, so that `len` never misses these records.
        let mut st = lock(&self.staging);
        let mut o = lock(&self.offsets);
        o.write_off += bytes.len() as u64;
        o.queued += records;
        st.writing_records = 0;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Messages queued (in the file or staged) and not handed out.
    pub fn len(&self) -> usize {
        // Staging before offsets, as the appending thread takes them.
        let st = lock(&self.staging);
        let queued = lock(&self.offsets).queued;
        queued + st.records + st.writing_records
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether more messages fit.
    pub fn has_room(&self) -> bool {
        self.used.load(Ordering::Acquire) < self.capacity
    }

    /// Stages messages for the appending thread; returns how many were taken (the rest did not
    /// fit, unless `force`). `window` is charged for them until they are written (and synced).
    pub fn push(&self, batch: &[LogMessage], force: bool, window: Option<&Arc<Window>>) -> usize {
        ENCODE.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            let room = self.capacity.saturating_sub(self.used.load(Ordering::Acquire));
            let mut stored = 0;
            // How many of the batch leave at least `hold_below` free; the windows of the rest
            // wait for delivery.
            let mut released_on_write = 0;
            for msg in batch {
                let start = buf.len();
                buf.extend_from_slice(&[0; 4]);
                msg.encode(&mut buf);
                if !force && buf.len() as u64 > room {
                    buf.truncate(start);
                    break;
                }
                let n = (buf.len() - start - 4) as u32;
                buf[start..start + 4].copy_from_slice(&n.to_le_bytes());
                stored += 1;
                if room.saturating_sub(buf.len() as u64) >= self.hold_below {
                    released_on_write = stored;
                }
            }
            if stored == 0 {
                return 0;
            }
            self.used.fetch_add(buf.len() as u64, Ordering::AcqRel);
            if let Some(w) = window {
                w.take(stored);
            }
            let mut st = lock(&self.staging);
            st.bytes.extend_from_slice(&buf);
            st.records += stored;
            if released_on_write > 0 {
                st.windows.push((released_on_write, window.cloned(), false));
            }
            if stored > released_on_write {
                st.windows.push((stored - released_on_write, window.cloned(), true));
            }
            drop(st);
            self.staged.notify_one();
            stored
        })
    }

    /// Records the messages handed out so far as delivered.
    fn commit(&self) -> io::Result<()> {
        let (read_off, committed_off) = {
            let o = lock(&self.offsets);
            (o.read_off, o.committed_off)
        };
        if committed_off == read_off {
            return Ok(());
        }
        let mut cut = false;
        {
            // Everything delivered and nothing being appended: start the file over.
            let _io = lock(&self.io);
            let mut o = lock(&self.offsets);
            if o.read_off == o.write_off {
                self.file.write_all_at(&HEADER.to_le_bytes(), 8)?;
                self.file.set_len(HEADER)?;
                o.read_off = HEADER;
                o.write_off = HEADER;
                cut = true;
            }
        }
        if !cut {
            self.file.write_all_at(&read_off.to_le_bytes(), 8)?;
        }
        if self.reliable {
            self.file.sync_data()?;
        }
        let mut o = lock(&self.offsets);
        self.used.fetch_sub(read_off - committed_off, Ordering::AcqRel);
        o.committed_off = if cut { HEADER } else { read_off };
        let delivered = std::mem::take(&mut o.in_flight);
        drop(o);
        lock(&self.held).deliver(delivered);
        Ok(())
    }

    /// Records the previous batch as delivered and hands out up to `max` more messages. Blocking:
    /// run it on the blocking pool.
    ///
    /// # Errors
    /// A read or write error.
    pub fn pop(&self, max: usize, out: &mut Vec<LogMessage>) -> io::Result<usize> {
        self.commit()?;
        let (mut read_off, write_off) = {
            let o = lock(&self.offsets);
            (o.read_off, o.write_off)
        };
        let mut read_buf = lock(&self.read_buf);
        let mut taken = 0;
        while taken < max && read_off < write_off {
            let want = ((write_off - read_off) as usize).min(READ_CHUNK);
            read_buf.resize(want, 0);
            self.file.read_exact_at(&mut read_buf, read_off)?;
            let mut pos = 0;
            while taken < max && pos + 4 <= read_buf.len() {
                let n = u32::from_le_bytes(read_buf[pos..pos + 4].try_into().expect("4 bytes")) as usize;
                if pos + 4 + n > read_buf.len() {
                    if pos == 0 {
                        // One record larger than the chunk: read exactly it.
                        read_buf.resize(4 + n, 0);
                        self.file.read_exact_at(&mut read_buf, read_off)?;
                        continue;
                    }
                    break;
                }
                match LogMessage::decode(&read_buf[pos + 4..pos + 4 + n]) {
                    Some(msg) => out.push(msg),
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("damaged record in disk buffer {} at {read_off}", self.path.display()),
                        ))
                    }
                }
                pos += 4 + n;
                read_off += 4 + n as u64;
                taken += 1;
            }
        }
        let mut o = lock(&self.offsets);
        o.read_off = read_off;
        o.queued -= taken;
        o.in_flight += taken;
        Ok(taken)
    }

    /// The last batch handed out was not delivered: it will be handed out again.
    pub fn rewind(&self) {
        let mut o = lock(&self.offsets);
        o.queued += o.in_flight;
        o.in_flight = 0;
        o.read_off = o.committed_off;
    }

    /// Waits until what is staged is written, records what was handed out as delivered and
    /// syncs (on a clean stop).
    ///
    /// # Errors
    /// A write error.
    pub fn flush(&self) -> io::Result<()> {
        let mut st = lock(&self.staging);
        while st.records > 0 || st.writing {
            st = self.drained.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        drop(st);
        self.commit()?;
        self.file.sync_data()
    }

    /// Ends the appending thread once it has written what is staged.
    pub fn close(&self) {
        lock(&self.staging).closed = true;
        self.staged.notify_one();
    }
}

/// Counts the complete records after the delivered offset; a torn record at the end (a crash
/// in the middle of an append) is cut off. Returns the end of the last record and the count.
fn scan(file: &File, read_off: u64, len: u64) -> io::Result<(u64, usize)> {
    let mut off = read_off;
    let mut count = 0;
    let mut len_buf = [0u8; 4];
    while off + 4 <= len {
        file.read_exact_at(&mut len_buf, off)?;
        let n = u32::from_le_bytes(len_buf);
        if n == 0 || n > MAX_RECORD || off + 4 + u64::from(n) > len {
            break;
        }
        off += 4 + u64::from(n);
        count += 1;
    }
    if off < len {
        file.set_len(off)?;
    }
    Ok((off, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsng_core::message::ReceiveInfo;

    fn msg(text: &str) -> LogMessage {
        let info = ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC);
        let mut m = LogMessage::new(&info);
        m.set_value("MESSAGE", text.as_bytes());
        m
    }

    fn started(opts: &DiskOptions) -> Arc<DiskStore> {
        let store = Arc::new(DiskStore::open(opts).expect("open"));
        store.start(Box::new(|_| {})).expect("thread");
        store
    }

    fn texts(v: &[LogMessage]) -> Vec<String> {
        v.iter().map(|m| String::from_utf8_lossy(m.get("MESSAGE").unwrap_or_default()).into_owned()).collect()
    }

    #[test]
    fn survives_reopen_and_repeats_only_the_undelivered_batch() {
        let dir = std::env::temp_dir().join(format!("rsng-disk-test-{}", std::process::id()));
        let opts = DiskOptions { path: dir.join("q"), capacity: 1 << 20, reliable: true, hold_below: 0 };
        let _ = std::fs::remove_file(&opts.path);
        let store = started(&opts);
        let batch: Vec<LogMessage> = (0..10).map(|i| msg(&format!("m{i}"))).collect();
        assert_eq!(store.push(&batch, false, None), 10);
        store.flush().expect("written");
        let mut out = Vec::new();
        store.pop(3, &mut out).expect("pop");
        assert_eq!(texts(&out), ["m0", "m1", "m2"]);
        out.clear();
        store.pop(3, &mut out).expect("pop");
        assert_eq!(texts(&out), ["m3", "m4", "m5"]);
        store.close();
        drop(store);
        // A crash here: m0..m2 were delivered, m3..m5 were in flight.
        let store = started(&opts);
        assert_eq!(store.len(), 7);
        out.clear();
        store.pop(100, &mut out).expect("pop");
        assert_eq!(texts(&out), ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
        store.rewind();
        out.clear();
        store.pop(2, &mut out).expect("pop after rewind");
        assert_eq!(texts(&out), ["m3", "m4"]);
        out.clear();
        store.pop(100, &mut out).expect("pop");
        out.clear();
        store.pop(100, &mut out).expect("pop commits all");
        assert!(out.is_empty());
        assert_eq!(std::fs::metadata(&opts.path).expect("meta").len(), HEADER);
        store.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `mem-buf-size()`: once less than it is free in the file, a written message keeps its
    /// window until it is delivered; the ones before it give theirs back when written.
    #[test]
    fn windows_wait_for_delivery_when_the_file_is_nearly_full() {
        let dir = std::env::temp_dir().join(format!("rsng-disk-test3-{}", std::process::id()));
        let record = {
            let mut b = Vec::new();
            msg("m0").encode(&mut b);
            b.len() as u64 + 4
        };
        // Room for 10 records; after the 8th, less than 3 records' room is free.
        let opts = DiskOptions { path: dir.join("q"), capacity: 10 * record, reliable: true, hold_below: 3 * record };
        let _ = std::fs::remove_file(&opts.path);
        let store = started(&opts);
        let window = Window::new(100);
        let batch: Vec<LogMessage> = (0..10).map(|i| msg(&format!("m{i}"))).collect();
        assert_eq!(store.push(&batch, false, Some(&window)), 10);
        store.flush().expect("written");
        assert_eq!(window.available(), 100 - 3, "7 windows back once written, 3 held");
        let mut out = Vec::new();
        store.pop(8, &mut out).expect("pop");
        assert_eq!(window.available(), 97, "handed out is not delivered");
        out.clear();
        store.pop(100, &mut out).expect("pop: the first 8 are delivered");
        assert_eq!(window.available(), 98, "m7 was held and is delivered");
        out.clear();
        store.pop(100, &mut out).expect("pop: the rest are delivered");
        assert_eq!(window.available(), 100);
        store.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_record_is_cut_and_capacity_is_kept() {
        let dir = std::env::temp_dir().join(format!("rsng-disk-test2-{}", std::process::id()));
        let opts = DiskOptions { path: dir.join("q"), capacity: 200, reliable: false, hold_below: 0 };
        let _ = std::fs::remove_file(&opts.path);
        let store = started(&opts);
        let batch: Vec<LogMessage> = (0..10).map(|i| msg(&format!("message number {i}"))).collect();
        let stored = store.push(&batch, false, None);
        assert!(stored > 0 && stored < 10, "capacity not applied: {stored}");
        store.flush().expect("written");
        store.close();
        drop(store);
        let f = OpenOptions::new().append(true).open(&opts.path).expect("open raw");
        f.write_all_at(&[50, 0, 0, 0, 1, 2], std::fs::metadata(&opts.path).expect("meta").len()).expect("tear");
        let store = DiskStore::open(&opts).expect("reopen");
        assert_eq!(store.len(), stored);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
