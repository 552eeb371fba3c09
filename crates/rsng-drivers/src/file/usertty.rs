//! `usertty()`: each message goes to the terminals of the logged-in users of that name (`*`: of
//! every user), found in the utmp file, as `FULLDATE HOST MESSAGE` lines (at most 8191 bytes,
//! as syslog-ng's buffer holds). Without a utmp file or a matching login nothing is written.
//!
//! A terminal that cannot be opened, or whose write would block, disables the driver for
//! `time-reopen()` seconds, counted on the messages' receive times, as in syslog-ng. Terminals
//! are written on tokio's blocking pool, one batch of messages at a time.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;

use crate::internal;
use crate::{Destination, DestinationContext, Task};

/// Where logins are recorded.
pub const UTMP: &str = "/var/run/utmp";

/// syslog-ng formats into a buffer of this size (the last byte is the terminating NUL).
const LINE_MAX: usize = 8191;
/// A utmp record of glibc on Linux (`struct utmp`, 384 bytes on every architecture).
const RECORD: usize = 384;
const USER_PROCESS: i16 = 7;

/// One login: the user and the terminal device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: Vec<u8>,
    pub line: PathBuf,
}

/// The user processes of the utmp file at `path` (none when it cannot be read).
pub fn logins(path: &Path) -> Vec<Login> {
    let Ok(data) = std::fs::read(path) else { return Vec::new() };
    let field = |rec: &[u8], from: usize, len: usize| -> Vec<u8> {
        let f = &rec[from..from + len];
        f[..f.iter().position(|&c| c == 0).unwrap_or(len)].to_vec()
    };
    data.chunks_exact(RECORD)
        .filter(|rec| i16::from_ne_bytes([rec[0], rec[1]]) == USER_PROCESS)
        .map(|rec| {
            let line = field(rec, 8, 32);
            let user = field(rec, 44, 32);
            let line = String::from_utf8_lossy(&line).into_owned();
            let line = if line.starts_with('/') { PathBuf::from(line) } else { Path::new("/dev").join(line) };
            Login { user, line }
        })
        .collect()
}

pub struct UserTty {
    /// A user name, or `*` for everybody.
    pub user: String,
    pub time_reopen: i64,
    /// `${FULLDATE} ${HOST} ${MESSAGE}` in the local time zone.
    pub line: Template,
    pub opts: FormatOptions,
    pub utmp: PathBuf,
    /// Receive time (seconds) before which nothing is written.
    pub disabled_until: i64,
}

impl UserTty {
    /// Writes a batch; returns how many messages were handled.
    fn deliver(&mut self, batch: &[LogMessage]) -> u64 {
        let logins: Vec<Login> =
            logins(&self.utmp).into_iter().filter(|l| self.user == "*" || l.user == self.user.as_bytes()).collect();
        let mut text = Vec::with_capacity(256);
        for msg in batch {
            let now = msg.received().sec;
            if self.disabled_until > now || logins.is_empty() {
                continue;
            }
            text.clear();
            let _ = self.line.format(msg, &self.opts, &mut text);
            text.truncate(LINE_MAX);
            for login in &logins {
                let opened = OpenOptions::new()
                    .append(true)
                    .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
                    .open(&login.line);
                let mut tty = match opened {
                    Ok(f) => f,
                    Err(e) => {
                        internal::error(format!(
                            "Opening tty device failed, disabling usertty() for time-reopen seconds; user='{}', line='{}', time_reopen='{}', error='{}'",
                            String::from_utf8_lossy(&login.user),
                            login.line.display(),
                            self.time_reopen,
                            super::os_error(&e)
                        ));
                        self.disabled_until = now.saturating_add(self.time_reopen);
                        continue;
                    }
                };
                if let Err(e) = tty.write(&text) {
                    if e.kind() == std::io::ErrorKind::WouldBlock {
                        internal::notice(format!(
                            "Writing to the user terminal has blocked for writing, disabling for time-reopen seconds; user='{}', time_reopen='{}'",
                            self.user, self.time_reopen
                        ));
                        self.disabled_until = now.saturating_add(self.time_reopen);
                    }
                }
            }
        }
        batch.len() as u64
    }
}

impl Destination for UserTty {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let queue = ctx.queue;
            let mut this = self;
            let mut batch: Vec<LogMessage> = Vec::with_capacity(256);
            while queue.pop(256, &mut batch).await {
                let taken = std::mem::take(&mut batch);
                let joined = tokio::task::spawn_blocking(move || {
                    let n = this.deliver(&taken);
                    (this, taken, n)
                })
                .await;
                let Ok((back, mut taken, n)) = joined else { return };
                this = back;
                taken.clear();
                batch = taken;
                queue.stats.written.fetch_add(n, Ordering::Relaxed);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: i16, line: &str, user: &str) -> Vec<u8> {
        let mut rec = vec![0u8; RECORD];
        rec[..2].copy_from_slice(&kind.to_ne_bytes());
        rec[8..8 + line.len()].copy_from_slice(line.as_bytes());
        rec[44..44 + user.len()].copy_from_slice(user.as_bytes());
        rec
    }

    #[test]
    fn reads_user_processes_from_utmp() {
        let dir = std::env::temp_dir().join(format!("rsng-utmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("utmp");
        let mut data = record(USER_PROCESS, "pts/3", "alice");
        data.extend(record(8, "pts/4", "bob"));
        data.extend(record(USER_PROCESS, "/dev/tty1", "root"));
        std::fs::write(&path, &data).unwrap();
        let found = logins(&path);
        assert_eq!(
            found,
            vec![
                Login { user: b"alice".to_vec(), line: PathBuf::from("/dev/pts/3") },
                Login { user: b"root".to_vec(), line: PathBuf::from("/dev/tty1") },
            ]
        );
        assert!(logins(&dir.join("missing")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn writes_to_the_terminals_of_matching_users() {
        use rsng_core::message::ReceiveInfo;
        use rsng_core::template::{compile, CompileContext};
        use std::io::Read;

        let Ok(pty) = nix::pty::openpty(None, None) else { return };
        let Ok(line) = nix::unistd::ttyname(&pty.slave) else { return };
        let dir = std::env::temp_dir().join(format!("rsng-usertty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let utmp = dir.join("utmp");
        let mut data = record(USER_PROCESS, &line.to_string_lossy(), "alice");
        data.extend(record(USER_PROCESS, "/dev/null-not-a-tty", "bob"));
        std::fs::write(&utmp, &data).unwrap();
        let mut tty = UserTty {
            user: "alice".into(),
            time_reopen: 60,
            line: compile("${HOST} ${MESSAGE}\n", &CompileContext::new()).unwrap(),
            opts: FormatOptions::default(),
            utmp: utmp.clone(),
            disabled_until: 0,
        };
        let info = ReceiveInfo::new("s", "myhost", None, jiff::tz::TimeZone::UTC);
        let mut msg = LogMessage::new(&info);
        msg.set_value("HOST", b"myhost");
        msg.set_value("MESSAGE", b"hello terminal");
        assert_eq!(tty.deliver(std::slice::from_ref(&msg)), 1);
        let mut master = std::fs::File::from(pty.master);
        let mut buf = [0u8; 256];
        let n = master.read(&mut buf).unwrap();
        // The terminal turns the newline into CR LF.
        assert_eq!(&buf[..n], b"myhost hello terminal\r\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
