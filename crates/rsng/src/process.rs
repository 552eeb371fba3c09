//! syslog-ng's process flags beyond the basic ones: `--enable-core`, `--fd-limit`, and the flags
//! that have no meaning for a program without loadable modules or capability handling, which
//! warn instead of passing silently.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use rsng_drivers::internal::{self, Level};

use crate::cli::Cli;

/// Applies the process limits the flags ask for; returns the warnings to print at start-up
/// (flags accepted for compatibility that do nothing here).
pub fn apply(cli: &Cli) -> Vec<String> {
    let mut warnings = Vec::new();
    if cli.enable_core {
        if let Err(e) = enable_core() {
            warnings.push(format!("Error enabling core dumps (--enable-core); error='{}'", e.desc()));
        }
    }
    if let Some(wanted) = cli.fd_limit {
        if let Err(e) = raise_fd_limit(wanted) {
            warnings.push(format!("Error setting file number limit; limit='{wanted}'; error='{}'", e.desc()));
        }
    }
    if let Some(caps) = &cli.caps {
        warnings.push(format!("rsng does not manage Linux capabilities, --caps is ignored; caps='{caps}'"));
    }
    if let Some(path) = &cli.module_path {
        warnings.push(format!("rsng has its drivers built in, --module-path is ignored; path='{path}'"));
    }
    if cli.interactive {
        warnings.push("rsng has no interactive debugger, --interactive is ignored".to_string());
    }
    warnings
}

/// As syslog-ng's `--enable-core`: no limit on core size, and dumpable even after a change of
/// user (which otherwise clears the flag).
fn enable_core() -> nix::Result<()> {
    use nix::sys::resource::{setrlimit, Resource, RLIM_INFINITY};
    setrlimit(Resource::RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY)?;
    nix::sys::prctl::set_dumpable(true)
}

/// Raises the soft limit on open files to at least `wanted` (and the hard limit if allowed);
/// never lowers it.
fn raise_fd_limit(wanted: u64) -> nix::Result<()> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= wanted {
        return Ok(());
    }
    setrlimit(Resource::RLIMIT_NOFILE, wanted, hard.max(wanted))
}

/// `--module-registry`: syslog-ng lists its modules and their plugins; rsng's are built in.
pub fn print_module_registry() {
    use rsng_config::schema::DRIVERS;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Module: rsng");
    let _ = writeln!(out, "Description:\n  The drivers built into rsng {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "Plugins:");
    for d in DRIVERS {
        let _ = writeln!(out, "  {:<12} {}", d.context.name(), d.name);
    }
}

/// `-e`: whether internal messages go to stderr (and then only there).
static STDERR: AtomicBool = AtomicBool::new(false);

pub fn set_stderr(on: bool) {
    STDERR.store(on, Ordering::Relaxed);
}

/// Internal messages up to `level` (notices without `-v`/`-d`) are kept; with `-e` they go to
/// stderr instead of `internal()`, as syslog-ng 3.38 does (`-v` and `-d` no longer imply `-e`
/// there). Without `-e`, errors are printed to stderr too.
pub fn apply_level(level: Option<Level>) {
    let kept = level.map_or(Level::Notice, |l| l.max(Level::Notice));
    let stderr = STDERR.load(Ordering::Relaxed);
    internal::set_stderr_level(Some(if stderr { kept } else { Level::Error }));
    internal::set_kept_level(kept);
    internal::set_stderr_only(stderr);
}
