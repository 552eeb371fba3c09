//! A thin binding of libsystemd's sd-journal API: the dozen calls the source makes, and a
//! [`Journal`] handle that closes itself.
//!
//! sd-journal objects are thread-agnostic but must stay on one thread for their whole life, so
//! [`Journal`] is neither `Send` nor `Sync`: the source opens and reads it on one dedicated thread.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;

#[repr(C)]
struct SdJournal {
    _private: [u8; 0],
}

/// `sd_id128_t`: 16 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct SdId128 {
    bytes: [u8; 16],
}

/// `SD_JOURNAL_LOCAL_ONLY`: only journal files of this machine.
pub const LOCAL_ONLY: c_int = 1;
/// `SD_JOURNAL_ALL_NAMESPACES`.
pub const ALL_NAMESPACES: c_int = 1 << 5;
/// `SD_JOURNAL_INCLUDE_DEFAULT_NAMESPACE`.
pub const INCLUDE_DEFAULT_NAMESPACE: c_int = 1 << 6;

// Linked by build.rs, as pkg-config names libsystemd.
extern "C" {
    fn sd_journal_open_namespace(ret: *mut *mut SdJournal, namespace: *const c_char, flags: c_int) -> c_int;
    fn sd_journal_close(j: *mut SdJournal);
    fn sd_journal_seek_head(j: *mut SdJournal) -> c_int;
    fn sd_journal_seek_tail(j: *mut SdJournal) -> c_int;
    fn sd_journal_next(j: *mut SdJournal) -> c_int;
    fn sd_journal_get_cursor(j: *mut SdJournal, cursor: *mut *mut c_char) -> c_int;
    fn sd_journal_seek_cursor(j: *mut SdJournal, cursor: *const c_char) -> c_int;
    fn sd_journal_test_cursor(j: *mut SdJournal, cursor: *const c_char) -> c_int;
    fn sd_journal_restart_data(j: *mut SdJournal);
    fn sd_journal_enumerate_data(j: *mut SdJournal, data: *mut *const c_void, length: *mut usize) -> c_int;
    fn sd_journal_get_realtime_usec(j: *mut SdJournal, usec: *mut u64) -> c_int;
    fn sd_journal_wait(j: *mut SdJournal, timeout_usec: u64) -> c_int;
    fn sd_journal_add_match(j: *mut SdJournal, data: *const c_void, size: usize) -> c_int;
    fn sd_journal_add_disjunction(j: *mut SdJournal) -> c_int;
    fn sd_id128_get_boot(ret: *mut SdId128) -> c_int;
    fn free(p: *mut c_void);
}

/// A negative errno return as an error.
fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::from_raw_os_error(-rc))
    } else {
        Ok(rc)
    }
}

/// An open journal.
pub struct Journal {
    handle: *mut SdJournal,
}

impl Journal {
    /// `sd_journal_open_namespace()`: `namespace` `None` with [`ALL_NAMESPACES`] reads every
    /// namespace.
    pub fn open(namespace: Option<&str>, flags: c_int) -> io::Result<Journal> {
        let ns =
            namespace.map(|n| CString::new(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))).transpose()?;
        let mut handle = std::ptr::null_mut();
        // SAFETY: `handle` is a valid out-pointer; `ns` outlives the call.
        check(unsafe {
            sd_journal_open_namespace(&mut handle, ns.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()), flags)
        })?;
        Ok(Journal { handle })
    }

    pub fn seek_head(&mut self) -> io::Result<()> {
        // SAFETY: `handle` is open for as long as `self` lives.
        check(unsafe { sd_journal_seek_head(self.handle) }).map(drop)
    }

    pub fn seek_tail(&mut self) -> io::Result<()> {
        // SAFETY: as above.
        check(unsafe { sd_journal_seek_tail(self.handle) }).map(drop)
    }

    /// Moves to the next entry; `false` at the end.
    pub fn step(&mut self) -> io::Result<bool> {
        // SAFETY: as above.
        check(unsafe { sd_journal_next(self.handle) }).map(|n| n > 0)
    }

    /// The cursor of the current entry.
    pub fn cursor(&mut self) -> io::Result<String> {
        let mut text: *mut c_char = std::ptr::null_mut();
        // SAFETY: `text` is a valid out-pointer; on success it is a malloc()ed C string we own.
        check(unsafe { sd_journal_get_cursor(self.handle, &mut text) })?;
        // SAFETY: non-null and NUL-terminated on success; freed once, after copying.
        let cursor = unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned();
        unsafe { free(text.cast()) };
        Ok(cursor)
    }

    pub fn seek_cursor(&mut self, cursor: &str) -> io::Result<()> {
        let c = CString::new(cursor).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` outlives the call.
        check(unsafe { sd_journal_seek_cursor(self.handle, c.as_ptr()) }).map(drop)
    }

    /// Whether the current entry is the one `cursor` names.
    pub fn test_cursor(&mut self, cursor: &str) -> io::Result<bool> {
        let c = CString::new(cursor).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` outlives the call.
        check(unsafe { sd_journal_test_cursor(self.handle, c.as_ptr()) }).map(|n| n > 0)
    }

    /// Calls `f` with each `FIELD=value` of the current entry, in the journal's order.
    pub fn for_each_field(&mut self, mut f: impl FnMut(&[u8])) {
        // SAFETY: as above; each data pointer is valid until the next enumerate call.
        unsafe { sd_journal_restart_data(self.handle) };
        loop {
            let mut data: *const c_void = std::ptr::null();
            let mut len = 0usize;
            // SAFETY: valid out-pointers.
            if unsafe { sd_journal_enumerate_data(self.handle, &mut data, &mut len) } <= 0 {
                break;
            }
            // SAFETY: sd-journal hands out `len` readable bytes at `data`.
            f(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) });
        }
    }

    /// The wall-clock time of the current entry, in microseconds since the epoch.
    pub fn realtime_usec(&mut self) -> io::Result<u64> {
        let mut usec = 0u64;
        // SAFETY: valid out-pointer.
        check(unsafe { sd_journal_get_realtime_usec(self.handle, &mut usec) })?;
        Ok(usec)
    }

    /// Waits at most `timeout` for the journal to change.
    pub fn wait(&mut self, timeout: std::time::Duration) -> io::Result<()> {
        // SAFETY: as above.
        check(unsafe { sd_journal_wait(self.handle, timeout.as_micros() as u64) }).map(drop)
    }

    /// Adds a `FIELD=value` match (matches of one field are alternatives, of different fields
    /// all must hold).
    pub fn add_match(&mut self, field_value: &[u8]) -> io::Result<()> {
        // SAFETY: the bytes are read during the call only.
        check(unsafe { sd_journal_add_match(self.handle, field_value.as_ptr().cast(), field_value.len()) }).map(drop)
    }

    /// Starts a new group of matches, OR-ed with the previous ones.
    pub fn add_disjunction(&mut self) -> io::Result<()> {
        // SAFETY: as above.
        check(unsafe { sd_journal_add_disjunction(self.handle) }).map(drop)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // SAFETY: opened by `open`, closed once.
        unsafe { sd_journal_close(self.handle) };
    }
}

/// The current boot's id, as the journal writes `_BOOT_ID` (32 lowercase hex digits).
pub fn boot_id() -> io::Result<String> {
    let mut id = SdId128 { bytes: [0; 16] };
    // SAFETY: valid out-pointer.
    check(unsafe { sd_id128_get_boot(&mut id) })?;
    Ok(id.bytes.iter().map(|b| format!("{b:02x}")).collect())
}
