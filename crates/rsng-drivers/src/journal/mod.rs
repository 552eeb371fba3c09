//! `systemd-journal()`: the systemd journal, read through libsystemd's sd-journal API as syslog-ng
//! 3.38's `sdjournal` module reads it.
//!
//! Every field of an entry becomes a name-value pair under `prefix()` (`.journald.` by default),
//! cut to `max-field-size()` bytes; `MESSAGE`, `_HOSTNAME` and `_PID` also set `$MESSAGE`, `$HOST`
//! and `$PID`, `PRIORITY` and `SYSLOG_FACILITY` the priority (else `default-level()` and
//! `default-facility()`: local0.notice), and `SYSLOG_IDENTIFIER` (else `_COMM`) `$PROGRAM`. The
//! entry's wall-clock time is the message's time, shown in `time-zone()`.
//!
//! The cursor of the last entry handed on is kept in the persist file under syslog-ng's key
//! (`systemd-journal`, or `systemd_journal(NAMESPACE)` with `namespace()`), so a restart or a
//! reload continues after it; without one, reading starts at the oldest entry, or with
//! `read-old-records(no)` after the newest.
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (opening the journal once to report errors with the config location).
//! - [`run`]: the reading thread.
//! - [`ffi`]: the binding of sd-journal.

pub mod build;
pub mod ffi;
pub mod options;
pub mod run;

pub use build::build_source;

/// Whether systemd is the running init system, as syslog-ng decides it for `system()`: the
/// directory `/run/systemd/system` exists.
pub fn systemd_is_running() -> bool {
    std::fs::symlink_metadata("/run/systemd/system").is_ok_and(|m| m.is_dir())
}

/// Whether source driver `name` reads the journal (`system()` does where systemd runs).
pub fn reads_journal(name: &str) -> bool {
    name == "systemd-journal" || (name == "system" && systemd_is_running())
}

/// syslog-ng's words when a configuration starts a second journal reader.
pub const ONLY_ONE_SOURCE: &str = "The configuration must not contain more than one systemd-journal() source";
