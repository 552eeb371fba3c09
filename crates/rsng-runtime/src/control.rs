//! The control socket: syslog-ng-ctl's protocol, so that the real `syslog-ng-ctl` works against
//! rsng.
//!
//! The protocol is one command line per connection (`STATS`, `QUERY GET pattern`, `RELOAD`,
//! `STOP`, `REOPEN`, `LOG VERBOSE ON`, `CONFIG GET ORIGINAL`, ...); the answer is text ending with
//! a line holding a single `.`. Answers that report an outcome start with `OK ` or `FAIL `
//! (syslog-ng-ctl exits 1 on `FAIL`). This module parses commands and formats answers; the
//! daemon's main loop executes them, since reload and stop change what runs.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot, Notify};

/// A command from the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `STATS` (CSV of all counters), or with `reset` (`RESET_STATS`) every counter but the
    /// gauges set to 0.
    Stats {
        reset: bool,
    },
    /// `STATS PROMETHEUS [WITH_LEGACY]` (syslog-ng 4.x): the counters in Prometheus' format.
    Prometheus,
    /// `QUERY LIST|GET|GET_SUM [pattern]`.
    Query {
        kind: QueryKind,
        pattern: String,
        reset: bool,
    },
    Reload,
    Stop,
    Reopen,
    /// `LOG VERBOSE|DEBUG|TRACE [ON|OFF]`.
    Log {
        which: String,
        set: Option<bool>,
    },
    /// `CONFIG GET ORIGINAL|PREPROCESSED`.
    Config {
        preprocessed: bool,
    },
    /// `PWD add KEY-FILE SECRET` and `PWD status` (`syslog-ng-ctl credentials`).
    Credentials(Credentials),
    /// Anything else: answered with `FAIL`.
    Unknown(String),
}

/// `syslog-ng-ctl credentials`: passphrases of encrypted TLS keys.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Add {
        id: String,
        secret: String,
    },
    Status,
    /// Missing arguments or an unknown subcommand: the answer.
    Invalid(String),
}

/// The secret is never printed.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Add { id, .. } => write!(f, "Add {{ id: {id:?} }}"),
            Credentials::Status => f.write_str("Status"),
            Credentials::Invalid(answer) => write!(f, "Invalid({answer:?})"),
        }
    }
}

impl Credentials {
    /// Runs the command and gives syslog-ng's answer.
    pub fn run(self) -> String {
        use rsng_transport::tls::credentials;
        match self {
            Credentials::Add { id, secret } => {
                let mut secret = secret.into_bytes();
                credentials::add(&id, &secret);
                // Not left behind in freed memory.
                secret.fill(0);
                "OK Credentials stored successfully".to_string()
            }
            Credentials::Status => {
                let mut out = String::from("OK Credential storage status follows\n");
                for (id, status) in credentials::status() {
                    out.push_str(&format!("{id}\t{}\n", status.name()));
                }
                out.pop();
                out
            }
            Credentials::Invalid(answer) => answer,
        }
    }
}

/// `PWD ...`, split as syslog-ng splits it: at most four words, so the secret may hold spaces.
fn parse_credentials(line: &str) -> Credentials {
    let words: Vec<&str> = line.splitn(4, ' ').collect();
    match words.get(1).copied() {
        Some("status") => Credentials::Status,
        Some("add") if words.len() == 4 => {
            Credentials::Add { id: words[2].to_string(), secret: words[3].trim_end_matches(['\r', '\n']).to_string() }
        }
        Some("add") => Credentials::Invalid("FAIL missing arguments to add".to_string()),
        Some(other) => Credentials::Invalid(format!("FAIL invalid subcommand {other}")),
        None => Credentials::Invalid("FAIL missing subcommand".to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    List,
    Get,
    GetSum,
}

/// Parses one command line.
pub fn parse_command(line: &str) -> Command {
    if line.starts_with("PWD") && line[3..].chars().next().is_none_or(|c| c == ' ') {
        return Command::Credentials(parse_credentials(line));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["STATS"] => Command::Stats { reset: false },
        ["STATS", "RESET"] | ["RESET_STATS"] => Command::Stats { reset: true },
        ["STATS", "PROMETHEUS", ..] => Command::Prometheus,
        ["QUERY", kind, rest @ ..] => {
            let (kind, reset) = match *kind {
                "LIST" => (QueryKind::List, false),
                "LIST_RESET" => (QueryKind::List, true),
                "GET" => (QueryKind::Get, false),
                "GET_RESET" => (QueryKind::Get, true),
                "GET_SUM" => (QueryKind::GetSum, false),
                "GET_SUM_RESET" => (QueryKind::GetSum, true),
                _ => return Command::Unknown(line.to_string()),
            };
            Command::Query { kind, pattern: rest.first().unwrap_or(&"*").to_string(), reset }
        }
        ["RELOAD"] => Command::Reload,
        ["STOP"] => Command::Stop,
        ["REOPEN"] => Command::Reopen,
        ["LOG", which] => Command::Log { which: which.to_ascii_uppercase(), set: None },
        ["LOG", which, value] => {
            let set = matches!(value.to_ascii_uppercase().as_str(), "ON" | "1");
            Command::Log { which: which.to_ascii_uppercase(), set: Some(set) }
        }
        ["CONFIG", "GET", what] => Command::Config { preprocessed: *what == "PREPROCESSED" },
        _ => Command::Unknown(line.to_string()),
    }
}

/// One counter as `syslog-ng-ctl stats` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// `source`, `destination`, `center`, `global`, `src.network`, `dst.network`, ...
    pub component: String,
    pub id: String,
    pub instance: String,
    /// `processed`, `dropped`, `queued`, `written`, `connections`, ...
    pub kind: String,
    pub value: u64,
    /// `a` (active), `d` (dynamic: made for a value met in messages) or `o` (orphaned).
    pub state: char,
}

impl StatRow {
    pub fn new(component: &str, id: &str, instance: &str, kind: &str, value: u64) -> StatRow {
        StatRow {
            component: component.into(),
            id: id.into(),
            instance: instance.into(),
            kind: kind.into(),
            value,
            state: 'a',
        }
    }

    /// The row in state `state` (`d` for dynamic counters).
    pub fn with_state(mut self, state: char) -> StatRow {
        self.state = state;
        self
    }

    /// The key a reset remembers the row by.
    pub fn key(&self) -> String {
        format!("{};{};{};{}", self.component, self.id, self.instance, self.kind)
    }

    /// Whether `syslog-ng-ctl stats --reset` sets this row to 0: everything but the gauges
    /// (`queued`, `memory_usage`), the counts of live connections, and the certificate ends.
    pub fn resettable(&self) -> bool {
        !matches!(self.kind.as_str(), "queued" | "memory_usage" | "connections" | "not_after")
    }

    /// The dotted name `QUERY` uses: `component.id.instance.kind`, empty parts left out.
    pub fn query_name(&self) -> String {
        [self.component.as_str(), &self.id, &self.instance, &self.kind]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// The `STATS` answer body.
pub fn format_stats(rows: &[StatRow]) -> String {
    let mut out = String::from("SourceName;SourceId;SourceInstance;State;Type;Number\n");
    for r in rows {
        out.push_str(&format!("{};{};{};{};{};{}\n", r.component, r.id, r.instance, r.state, r.kind, r.value));
    }
    out
}

/// The `STATS PROMETHEUS` answer body: every counter but the stamps in Prometheus' text format,
/// named as syslog-ng 4.x names the counters it has no new name for: `syslogng_` and the
/// component, the type as a suffix (`_processed`), the id and instance as labels (`id`,
/// `stat_instance`); a `global` counter takes its id into the name.
pub fn format_prometheus(rows: &[StatRow]) -> String {
    let mut out = String::new();
    for r in rows.iter().filter(|r| r.kind != "stamp") {
        out.push_str("syslogng_");
        out.push_str(&metric_name(&r.component));
        let mut labels = Vec::new();
        if r.component == "global" {
            if !r.id.is_empty() {
                out.push('_');
                out.push_str(&metric_name(&r.id));
            }
        } else {
            if !r.id.is_empty() {
                labels.push(format!("id=\"{}\"", label_value(&r.id)));
            }
            if !r.instance.is_empty() {
                labels.push(format!("stat_instance=\"{}\"", label_value(&r.instance)));
            }
        }
        if r.kind != "value" {
            out.push('_');
            out.push_str(&metric_name(&r.kind));
        }
        if !labels.is_empty() {
            out.push('{');
            out.push_str(&labels.join(","));
            out.push('}');
        }
        out.push_str(&format!(" {}\n", r.value));
    }
    out
}

/// A metric name part: letters, digits and `_`; `.` and `-` become `_`, the rest is left out.
fn metric_name(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => Some(c),
            '.' | '-' => Some('_'),
            _ => None,
        })
        .collect()
}

/// A label value with `\`, `"` and newlines escaped.
fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The periodic internal message of `stats-freq()`: every counter as a tag named after its kind,
/// `kind='component(id,instance)=value'`, as syslog-ng words it.
pub fn format_log_statistics(rows: &[StatRow]) -> String {
    let mut out = String::from("Log statistics");
    for (i, r) in rows.iter().enumerate() {
        let comma = if !r.id.is_empty() && !r.instance.is_empty() { "," } else { "" };
        out.push_str(if i == 0 { "; " } else { ", " });
        out.push_str(&format!("{}='{}({}{comma}{})={}'", r.kind, r.component, r.id, r.instance, r.value));
    }
    out
}

/// The answer to `RESET_STATS`, in syslog-ng's words.
pub const RESET_ANSWER: &str = "OK The statistics of syslog-ng have been reset to 0.";

/// The `QUERY` answer body.
pub fn format_query(rows: &[StatRow], kind: QueryKind, pattern: &str) -> String {
    let matching = rows.iter().filter(|r| glob_match(pattern, &r.query_name()));
    match kind {
        QueryKind::List => matching.map(|r| format!("{}\n", r.query_name())).collect(),
        QueryKind::Get => matching.map(|r| format!("{}={}\n", r.query_name(), r.value)).collect(),
        QueryKind::GetSum => format!("{}\n", matching.map(|r| r.value).sum::<u64>()),
    }
}

/// `*` and `?` globbing, as the query patterns use.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// A command with the channel its answer goes back on.
pub type Request = (Command, oneshot::Sender<String>);

/// Binds the control socket at `path` (replacing a stale one).
///
/// # Errors
/// When the socket cannot be made.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            // A socket someone answers on belongs to a running daemon: leave it alone.
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another daemon is listening on this control socket",
                ));
            }
            let _ = std::fs::remove_file(path);
        }
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let listener = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    Ok(listener)
}

/// Answers handed to connections and not yet written (see [`replies_written`]).
static PENDING: AtomicUsize = AtomicUsize::new(0);

fn written() -> &'static Notify {
    static WRITTEN: OnceLock<Notify> = OnceLock::new();
    WRITTEN.get_or_init(Notify::new)
}

/// Counts a command from its request until its answer is written (or the peer is gone).
struct Pending;

impl Pending {
    fn new() -> Pending {
        PENDING.fetch_add(1, Ordering::SeqCst);
        Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::SeqCst);
        written().notify_waiters();
    }
}

/// Waits, at most `limit`, until every answer given to a control connection has been written
/// to its socket. The daemon calls it before it exits, so that `syslog-ng-ctl stop` gets its
/// `OK Shutdown initiated` even when stopping takes no time.
pub async fn replies_written(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let notified = written().notified();
        if PENDING.load(Ordering::SeqCst) == 0 {
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return;
        }
    }
}

/// Accepts control connections and forwards their commands to `requests`.
pub async fn serve(listener: UnixListener, requests: mpsc::Sender<Request>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let (tx, rx) = oneshot::channel();
                let pending = Pending::new();
                if requests.send((parse_command(&line), tx)).await.is_err() {
                    return;
                }
                let Ok(mut answer) = rx.await else { return };
                if !answer.is_empty() && !answer.ends_with('\n') {
                    answer.push('\n');
                }
                answer.push_str(".\n");
                let sent = write.write_all(answer.as_bytes()).await;
                drop(pending);
                if sent.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse_command("STATS"), Command::Stats { reset: false });
        assert_eq!(parse_command("STATS PROMETHEUS WITH_LEGACY"), Command::Prometheus);
        assert_eq!(parse_command("RELOAD"), Command::Reload);
        assert_eq!(
            parse_command("QUERY GET_SUM source.*"),
            Command::Query { kind: QueryKind::GetSum, pattern: "source.*".into(), reset: false }
        );
        assert_eq!(parse_command("LOG DEBUG ON"), Command::Log { which: "DEBUG".into(), set: Some(true) });
        assert!(matches!(parse_command("BOGUS"), Command::Unknown(_)));
    }

    #[test]
    fn query_patterns() {
        let rows =
            vec![StatRow::new("source", "s", "", "processed", 2), StatRow::new("destination", "d", "", "processed", 3)];
        assert_eq!(format_query(&rows, QueryKind::GetSum, "*.processed"), "5\n");
        assert_eq!(format_query(&rows, QueryKind::Get, "source.*"), "source.s.processed=2\n");
        assert!(format_stats(&rows).contains("destination;d;;a;processed;3\n"));
    }
}
