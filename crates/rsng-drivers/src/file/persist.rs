//! File positions kept across restarts and reloads, in the persist file (`-R`).
//!
//! syslog-ng keeps a binary key-value store there; rsng keeps a text file of its own, one entry a
//! line (`KEY<TAB>VALUE`, keys escaped), under the header line [`HEADER`]. Entries are keyed as
//! syslog-ng names them (`affile_sd_curpos(/var/log/messages)`, `affile_sd.NAME.curpos` with
//! `persist-name()`). The file is rewritten whole, through a temporary file and a rename, so a
//! crash leaves either the old or the new version.
//!
//! One store exists per persist file and process: readers of every configuration generation
//! share it, so a reload continues where the previous configuration stopped even before
//! anything was written to disk.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::internal;

/// The first line of rsng's persist file.
pub const HEADER: &str = "rsng-persist 1";

/// Where a file reader stopped: the file's inode and size when the position was taken, and the
/// offset after the last message handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePosition {
    pub inode: u64,
    pub size: u64,
    pub pos: u64,
}

impl FilePosition {
    fn encode(&self) -> String {
        format!("file-position {} {} {}", self.inode, self.size, self.pos)
    }

    fn decode(text: &str) -> Option<FilePosition> {
        let mut words = text.strip_prefix("file-position ")?.split(' ');
        let mut next = || words.next().and_then(|w| w.parse::<u64>().ok());
        Some(FilePosition { inode: next()?, size: next()?, pos: next()? })
    }
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, String>,
    dirty: bool,
    last_save: Option<Instant>,
    /// A save failed and was reported; further failures are not repeated.
    failing: bool,
}

/// The persisted state of one persist file.
#[derive(Debug)]
pub struct PersistStore {
    path: Option<PathBuf>,
    state: Mutex<State>,
    /// Serialises writers of the file (they share the temporary file name).
    saving: Mutex<()>,
}

/// The store of `path` (`None`: nothing is written, positions live only as long as the process).
pub fn store(path: Option<&Path>) -> Arc<PersistStore> {
    static STORES: OnceLock<Mutex<Vec<Arc<PersistStore>>>> = OnceLock::new();
    let mut stores = lock(STORES.get_or_init(Default::default));
    if let Some(s) = stores.iter().find(|s| s.path.as_deref() == path) {
        return s.clone();
    }
    let entries = path.map(load).unwrap_or_default();
    let s = Arc::new(PersistStore {
        path: path.map(Path::to_path_buf),
        state: Mutex::new(State { entries, ..State::default() }),
        saving: Mutex::new(()),
    });
    stores.push(s.clone());
    s
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn load(path: &Path) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return entries,
        Err(e) => {
            internal::error(format!(
                "Error opening persist file, file positions are not restored; filename='{}', error='{}'",
                path.display(),
                super::os_error(&e)
            ));
            return entries;
        }
    };
    let Ok(text) = String::from_utf8(text) else {
        internal::error(format!(
            "Persistent file format error, starting with an empty state; filename='{}'",
            path.display()
        ));
        return entries;
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        internal::error(format!(
            "Persistent file format error, starting with an empty state; filename='{}'",
            path.display()
        ));
        return entries;
    }
    for line in lines {
        if let Some((key, value)) = line.split_once('\t') {
            entries.insert(unescape(key), value.to_string());
        }
    }
    entries
}

impl PersistStore {
    /// The position stored under `key`.
    pub fn position(&self, key: &str) -> Option<FilePosition> {
        lock(&self.state).entries.get(key).and_then(|v| FilePosition::decode(v))
    }

    /// Records `pos` under `key` (written by the next [`PersistStore::save`]).
    pub fn set_position(&self, key: &str, pos: FilePosition) {
        let mut state = lock(&self.state);
        let value = pos.encode();
        match state.entries.get_mut(key) {
            Some(v) if *v == value => return,
            Some(v) => *v = value,
            None => {
                state.entries.insert(key.to_string(), value);
            }
        }
        state.dirty = true;
    }

    /// The text stored under `key` (a journal cursor).
    pub fn text(&self, key: &str) -> Option<String> {
        lock(&self.state).entries.get(key).and_then(|v| v.strip_prefix("text ")).map(str::to_string)
    }

    /// Records `text` (one line) under `key` (written by the next [`PersistStore::save`]).
    pub fn set_text(&self, key: &str, text: &str) {
        let mut state = lock(&self.state);
        let value = format!("text {text}");
        if state.entries.get(key) != Some(&value) {
            state.entries.insert(key.to_string(), value);
            state.dirty = true;
        }
    }

    /// Forgets `key` (a followed file that was deleted).
    pub fn remove(&self, key: &str) {
        let mut state = lock(&self.state);
        if state.entries.remove(key).is_some() {
            state.dirty = true;
        }
    }

    /// Whether there are changes and the last save is at least `every` ago.
    pub fn save_due(&self, every: Duration) -> bool {
        let state = lock(&self.state);
        state.dirty && state.last_save.is_none_or(|t| t.elapsed() >= every)
    }

    /// Writes the store to its file if anything changed. Blocking; errors are logged once until
    /// a save succeeds again.
    pub fn save(&self) {
        let Some(path) = &self.path else {
            lock(&self.state).dirty = false;
            return;
        };
        let _saving = lock(&self.saving);
        let text = {
            let mut state = lock(&self.state);
            if !state.dirty {
                return;
            }
            state.dirty = false;
            state.last_save = Some(Instant::now());
            let mut text = String::with_capacity(64 * (state.entries.len() + 1));
            text.push_str(HEADER);
            text.push('\n');
            for (k, v) in &state.entries {
                let _ = writeln!(text, "{}\t{v}", escape(k));
            }
            text
        };
        let result = write_atomically(path, text.as_bytes());
        let mut state = lock(&self.state);
        match result {
            Ok(()) => state.failing = false,
            Err(e) => {
                // Try again at the next save.
                state.dirty = true;
                if !state.failing {
                    state.failing = true;
                    internal::error(format!(
                        "Error creating persistent state file; filename='{}', error='{}'",
                        path.display(),
                        super::os_error(&e)
                    ));
                }
            }
        }
    }
}

fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push("-");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_data()?;
    }
    std::fs::rename(&tmp, path)
}

fn escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_a_new_store_on_the_same_file() {
        let dir = std::env::temp_dir().join(format!("rsng-persist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.persist");
        let _ = std::fs::remove_file(&path);
        let s = store(Some(&path));
        let key = "affile_sd_curpos(/tmp/a\tb)";
        s.set_position(key, FilePosition { inode: 7, size: 100, pos: 42 });
        assert!(s.save_due(Duration::from_secs(1)));
        s.save();
        assert!(!s.save_due(Duration::ZERO));
        let loaded = load(&path);
        assert_eq!(
            loaded.get(key).and_then(|v| FilePosition::decode(v)),
            Some(FilePosition { inode: 7, size: 100, pos: 42 })
        );
        s.remove(key);
        s.save();
        assert!(load(&path).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn foreign_files_start_empty() {
        let dir = std::env::temp_dir().join(format!("rsng-persist-foreign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("syslog-ng.persist");
        std::fs::write(&path, b"SLP4\0\0binary").unwrap();
        assert!(load(&path).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
