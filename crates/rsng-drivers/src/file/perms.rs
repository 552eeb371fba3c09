//! `owner()`, `group()`, `perm()` and their `dir-` counterparts, resolved once when the driver is
//! built and applied to every file (through its descriptor) and directory the driver creates or
//! opens, as syslog-ng's file opener does.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use nix::sys::stat::{fchmod, Mode};
use nix::unistd::{fchown, Gid, Uid};

use rsng_config::ir::Value;

use super::options::{GlobalPermOptions, PermOptions};
use crate::options::Options;
use crate::DriverError;

/// What to set on a file or directory; `None` leaves it as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Perms {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
}

/// The permissions of files and of the directories made for them.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilePerms {
    pub file: Perms,
    pub dir: Perms,
}

/// syslog-ng's global defaults: `perm(0600)`, `dir-perm(0700)`, owners unchanged.
const DEFAULT_PERM: u32 = 0o600;
const DEFAULT_DIR_PERM: u32 = 0o700;

impl FilePerms {
    /// The driver's settings. `inherit`: fall back on the global options and syslog-ng's
    /// defaults (destinations, `pipe()`); otherwise only what the driver sets is changed (file
    /// sources).
    ///
    /// # Errors
    /// An unknown user or group.
    pub fn from_options(opts: &Options<'_>, inherit: bool) -> Result<FilePerms, DriverError> {
        let own = PermOptions::read(opts);
        let global = if inherit { GlobalPermOptions::read(opts) } else { GlobalPermOptions::none() };
        // The driver's value, else (when inheriting) the global one.
        let pick = |own: &Option<Value>, global: &Option<Value>| own.clone().or_else(|| global.clone());
        let user = |name: &str, value: Option<Value>| -> Result<Option<u32>, DriverError> {
            match value.as_ref().and_then(crate::options::as_str) {
                None | Some("") => Ok(None),
                Some(u) => lookup_user(u).map(Some).map_err(|e| opt_error(opts, name, e)),
            }
        };
        let group = |name: &str, value: Option<Value>| -> Result<Option<u32>, DriverError> {
            match value.as_ref().and_then(crate::options::as_str) {
                None | Some("") => Ok(None),
                Some(g) => lookup_group(g).map(Some).map_err(|e| opt_error(opts, name, e)),
            }
        };
        let mode = |value: Option<Value>, default: u32| -> Option<u32> {
            match value.as_ref().and_then(crate::options::as_int) {
                Some(n) if n >= 0 => Some((n & 0o7777) as u32),
                Some(_) => None,
                None if inherit => Some(default),
                None => None,
            }
        };
        Ok(FilePerms {
            file: Perms {
                uid: user("owner", pick(&own.owner, &global.owner))?,
                gid: group("group", pick(&own.group, &global.group))?,
                mode: mode(pick(&own.perm, &global.perm), DEFAULT_PERM),
            },
            dir: Perms {
                uid: user("dir-owner", pick(&own.dir_owner, &global.dir_owner))?,
                gid: group("dir-group", pick(&own.dir_group, &global.dir_group))?,
                mode: mode(pick(&own.dir_perm, &global.dir_perm), DEFAULT_DIR_PERM),
            },
        })
    }
}

impl GlobalPermOptions {
    /// No global permissions (file sources do not inherit them).
    fn none() -> GlobalPermOptions {
        GlobalPermOptions { owner: None, group: None, perm: None, dir_owner: None, dir_group: None, dir_perm: None }
    }
}

fn opt_error(opts: &Options<'_>, name: &str, what: String) -> DriverError {
    let span = opts.driver.options.iter().rev().find(|o| o.name == name).map_or(opts.span(), |o| &o.span);
    DriverError::new(what, span)
}

pub(crate) fn lookup_user(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        _ => Err(format!("Error resolving user; user='{name}'")),
    }
}

pub(crate) fn lookup_group(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(format!("Error resolving group; group='{name}'")),
    }
}

impl Perms {
    pub fn is_empty(&self) -> bool {
        *self == Perms::default()
    }

    /// Sets ownership and mode of an open file.
    ///
    /// # Errors
    /// The `fchown`/`fchmod` error.
    pub fn apply_fd(&self, file: &File) -> io::Result<()> {
        if self.uid.is_some() || self.gid.is_some() {
            fchown(file.as_raw_fd(), self.uid.map(Uid::from_raw), self.gid.map(Gid::from_raw))
                .map_err(io::Error::from)?;
        }
        if let Some(mode) = self.mode {
            fchmod(file.as_raw_fd(), Mode::from_bits_truncate(mode as nix::libc::mode_t)).map_err(io::Error::from)?;
        }
        Ok(())
    }

    /// Sets ownership and mode of a path (a directory just made).
    ///
    /// # Errors
    /// The `chown`/`chmod` error.
    pub fn apply_path(&self, path: &Path) -> io::Result<()> {
        if self.uid.is_some() || self.gid.is_some() {
            std::os::unix::fs::chown(path, self.uid, self.gid)?;
        }
        if let Some(mode) = self.mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }
}

/// Makes the missing directories above `path` with the `dir-` settings (`create-dirs(yes)`).
///
/// # Errors
/// When a directory cannot be made.
pub fn create_containing_dirs(path: &Path, dir: &Perms) -> io::Result<()> {
    let Some(parent) = path.parent() else { return Ok(()) };
    let mut missing = Vec::new();
    let mut d = parent;
    while !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err() {
        missing.push(d);
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(dir.mode.unwrap_or(DEFAULT_DIR_PERM)).create(d) {
            Ok(()) => {
                // mkdir's mode is masked by the umask; set it exactly, as syslog-ng does.
                dir.apply_path(d)?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
