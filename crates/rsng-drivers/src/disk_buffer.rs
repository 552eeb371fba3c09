//! `disk-buffer()`: a destination queue kept in a file, so that queued messages survive a
//! restart (and, with `reliable(yes)`, a crash).
//!
//! The file is a 16-byte header (magic, version, the offset of the first message not yet
//! delivered) followed by records (`u32` length, then [`LogMessage::encode`] bytes). New messages
//! are appended; the writer reads records from the delivered offset on. Taking the next batch
//! first records the previous batch as delivered (one 8-byte write into the header), so a crash
//! while a batch is being written sends that batch again after the restart: messages may be
//! repeated, never lost. With `reliable(yes)` every appended batch and every header update is
//! synced to the disk before the call returns. When everything is delivered the file is cut
//! back to its header.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rsng_core::LogMessage;

const MAGIC: &[u8; 4] = b"RSQ1";
const HEADER: u64 = 16;
/// How much is read from the file at a time.
const READ_CHUNK: usize = 1 << 20;
/// A record longer than this is damage, not a message.
const MAX_RECORD: u32 = 64 << 20;

/// Where and how a disk buffer is kept.
#[derive(Debug, Clone)]
pub struct DiskOptions {
    pub path: PathBuf,
    /// `disk-buf-size()`: the most bytes of messages the file holds.
    pub capacity: u64,
    /// `reliable(yes)`: sync every change to the disk.
    pub reliable: bool,
}

#[derive(Debug)]
pub struct DiskStore {
    file: File,
    path: PathBuf,
    capacity: u64,
    reliable: bool,
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
    encode_buf: Vec<u8>,
    read_buf: Vec<u8>,
}

impl DiskStore {
    /// Opens (or creates) the buffer file and finds the messages left in it.
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
        let mut store = DiskStore {
            file,
            path: opts.path.clone(),
            capacity: opts.capacity.max(1),
            reliable: opts.reliable,
            read_off,
            committed_off: read_off,
            write_off: read_off,
            queued: 0,
            in_flight: 0,
            encode_buf: Vec::new(),
            read_buf: Vec::new(),
        };
        store.scan(len.max(HEADER))?;
        Ok(store)
    }

    /// Counts the complete records after the delivered offset; a torn record at the end (a crash
    /// in the middle of an append) is cut off.
    fn scan(&mut self, len: u64) -> io::Result<()> {
        let mut off = self.read_off;
        let mut count = 0;
        let mut len_buf = [0u8; 4];
        while off + 4 <= len {
            self.file.read_exact_at(&mut len_buf, off)?;
            let n = u32::from_le_bytes(len_buf);
            if n == 0 || n > MAX_RECORD || off + 4 + u64::from(n) > len {
                break;
            }
            off += 4 + u64::from(n);
            count += 1;
        }
        if off < len {
            self.file.set_len(off)?;
        }
        self.write_off = off;
        self.queued = count;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Messages queued and not handed out.
    pub fn len(&self) -> usize {
        self.queued
    }

    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Whether more messages fit.
    pub fn has_room(&self) -> bool {
        self.write_off - self.committed_off < self.capacity
    }

    /// Appends messages; returns how many were stored (the rest did not fit, unless `force`).
    ///
    /// # Errors
    /// A write error; nothing is counted as stored then.
    pub fn push(&mut self, batch: &[LogMessage], force: bool) -> io::Result<usize> {
        self.encode_buf.clear();
        let mut stored = 0;
        let used = self.write_off - self.committed_off;
        for msg in batch {
            let start = self.encode_buf.len();
            self.encode_buf.extend_from_slice(&[0; 4]);
            msg.encode(&mut self.encode_buf);
            let n = (self.encode_buf.len() - start - 4) as u32;
            if !force && used + self.encode_buf.len() as u64 > self.capacity {
                self.encode_buf.truncate(start);
                break;
            }
            self.encode_buf[start..start + 4].copy_from_slice(&n.to_le_bytes());
            stored += 1;
        }
        if stored == 0 {
            return Ok(0);
        }
        self.file.write_all_at(&self.encode_buf, self.write_off)?;
        if self.reliable {
            self.file.sync_data()?;
        }
        self.write_off += self.encode_buf.len() as u64;
        self.queued += stored;
        Ok(stored)
    }

    /// Records the messages handed out so far as delivered.
    fn commit(&mut self) -> io::Result<()> {
        if self.committed_off == self.read_off {
            return Ok(());
        }
        if self.read_off == self.write_off {
            // Everything delivered: start the file over.
            self.file.write_all_at(&HEADER.to_le_bytes(), 8)?;
            self.file.set_len(HEADER)?;
            self.read_off = HEADER;
            self.write_off = HEADER;
        } else {
            self.file.write_all_at(&self.read_off.to_le_bytes(), 8)?;
        }
        if self.reliable {
            self.file.sync_data()?;
        }
        self.committed_off = self.read_off;
        self.in_flight = 0;
        Ok(())
    }

    /// Records the previous batch as delivered and hands out up to `max` more messages.
    ///
    /// # Errors
    /// A read or write error.
    pub fn pop(&mut self, max: usize, out: &mut Vec<LogMessage>) -> io::Result<usize> {
        self.commit()?;
        let mut taken = 0;
        while taken < max && self.read_off < self.write_off {
            let want = ((self.write_off - self.read_off) as usize).min(READ_CHUNK);
            self.read_buf.resize(want, 0);
            self.file.read_exact_at(&mut self.read_buf, self.read_off)?;
            let mut pos = 0;
            while taken < max && pos + 4 <= self.read_buf.len() {
                let n = u32::from_le_bytes(self.read_buf[pos..pos + 4].try_into().expect("4 bytes")) as usize;
                if pos + 4 + n > self.read_buf.len() {
                    if pos == 0 {
                        // One record larger than the chunk: read exactly it.
                        self.read_buf.resize(4 + n, 0);
                        self.file.read_exact_at(&mut self.read_buf, self.read_off)?;
                        continue;
                    }
                    break;
                }
                match LogMessage::decode(&self.read_buf[pos + 4..pos + 4 + n]) {
                    Some(msg) => out.push(msg),
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("damaged record in disk buffer {} at {}", self.path.display(), self.read_off),
                        ))
                    }
                }
                pos += 4 + n;
                self.read_off += 4 + n as u64;
                self.queued -= 1;
                self.in_flight += 1;
                taken += 1;
            }
        }
        Ok(taken)
    }

    /// The last batch handed out was not delivered: it will be handed out again.
    pub fn rewind(&mut self) {
        self.queued += self.in_flight;
        self.in_flight = 0;
        self.read_off = self.committed_off;
    }

    /// Records what was handed out as delivered (on a clean stop).
    ///
    /// # Errors
    /// A write error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.commit()?;
        self.file.sync_data()
    }
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

    fn texts(v: &[LogMessage]) -> Vec<String> {
        v.iter().map(|m| String::from_utf8_lossy(m.get("MESSAGE").unwrap_or_default()).into_owned()).collect()
    }

    #[test]
    fn survives_reopen_and_repeats_only_the_undelivered_batch() {
        let dir = std::env::temp_dir().join(format!("rsng-disk-test-{}", std::process::id()));
        let opts = DiskOptions { path: dir.join("q"), capacity: 1 << 20, reliable: true };
        let _ = std::fs::remove_file(&opts.path);
        let mut store = DiskStore::open(&opts).expect("open");
        let batch: Vec<LogMessage> = (0..10).map(|i| msg(&format!("m{i}"))).collect();
        assert_eq!(store.push(&batch, false).expect("push"), 10);
        let mut out = Vec::new();
        store.pop(3, &mut out).expect("pop");
        assert_eq!(texts(&out), ["m0", "m1", "m2"]);
        out.clear();
        store.pop(3, &mut out).expect("pop");
        assert_eq!(texts(&out), ["m3", "m4", "m5"]);
        drop(store);
        // A crash here: m0..m2 were delivered, m3..m5 were in flight.
        let mut store = DiskStore::open(&opts).expect("reopen");
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
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_record_is_cut_and_capacity_is_kept() {
        let dir = std::env::temp_dir().join(format!("rsng-disk-test2-{}", std::process::id()));
        let opts = DiskOptions { path: dir.join("q"), capacity: 200, reliable: false };
        let _ = std::fs::remove_file(&opts.path);
        let mut store = DiskStore::open(&opts).expect("open");
        let batch: Vec<LogMessage> = (0..10).map(|i| msg(&format!("message number {i}"))).collect();
        let stored = store.push(&batch, false).expect("push");
        assert!(stored > 0 && stored < 10, "capacity not applied: {stored}");
        drop(store);
        let f = OpenOptions::new().append(true).open(&opts.path).expect("open raw");
        f.write_all_at(&[50, 0, 0, 0, 1, 2], std::fs::metadata(&opts.path).expect("meta").len()).expect("tear");
        let store = DiskStore::open(&opts).expect("reopen");
        assert_eq!(store.len(), stored);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
