//! The workers of a `redis()` destination: each keeps one connection, takes messages from the
//! destination queue and sends their commands, one at a time or, with `batch-lines()`, a batch
//! pipelined, as syslog-ng's `redis` worker does.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::options::Settings;
use super::resp::{read_reply, write_command, Reply};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::threaded;
use crate::{Destination, DestinationContext, Task};

/// Messages a worker takes at once without `batch-lines()` from a memory queue: their commands
/// go out together, each judged by its own reply.
const CHUNK: usize = 64;

pub struct Shared {
    pub settings: Settings,
    /// The templates of the command's arguments.
    pub arguments: Vec<Template>,
    pub format: FormatOptions,
    /// `d_redis#0`, as syslog-ng's messages name the driver.
    pub driver: String,
    pub location: String,
}

pub struct RedisDestination {
    pub shared: Arc<Shared>,
}

impl Destination for RedisDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let mut tasks = Vec::new();
            for index in 0..self.shared.settings.workers {
                let worker = Worker::new(self.shared.clone(), index);
                tasks.push(tokio::spawn(worker.run(ctx.queue.clone(), ctx.shutdown.clone())));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    }
}

/// Why a message failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// An error reply: retried up to `retries()` times, then dropped.
    Error,
    /// The connection failed: kept and tried again after `time-reopen()`.
    NotConnected,
}

struct Connection {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

struct Worker {
    shared: Arc<Shared>,
    index: usize,
    conn: Option<Connection>,
    /// The commands going out next.
    out: Vec<u8>,
    /// One formatted argument after the other, and where each ends.
    args: Vec<u8>,
    ends: Vec<usize>,
    line: Vec<u8>,
    format: FormatOptions,
    seq_num: u32,
    errors: u32,
    /// The commands of the last pipelined chunk the server refused: index and error.
    refused: Vec<(usize, String)>,
}

impl Worker {
    fn new(shared: Arc<Shared>, index: usize) -> Worker {
        let format = shared.format.clone();
        Worker {
            shared,
            index,
            conn: None,
            out: Vec::with_capacity(16 * 1024),
            args: Vec::with_capacity(1024),
            ends: Vec::new(),
            line: Vec::new(),
            format,
            seq_num: 0,
            errors: 0,
            refused: Vec::new(),
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let settings = self.shared.settings.clone();
        let batching = settings.batch_lines > 0;
        // A disk buffer takes the next take as the receipt of the last: one take is one delivery.
        let take = if batching {
            settings.batch_lines
        } else if queue.is_persistent() {
            1
        } else {
            CHUNK
        };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        // syslog-ng connects when the worker starts, not at the first message.
        if let Err(outcome) = self.ensure_connected().await {
            debug_assert_eq!(outcome, Outcome::NotConnected);
        }
        loop {
            if let (true, Some(timeout)) = (settings.batch_lines > 1, settings.batch_timeout) {
                let open = tokio::select! {
                    open = queue.wait_len(1) => open,
                    _ = shutdown.cancelled() => return,
                };
                if open {
                    tokio::select! {
                        _ = queue.wait_len(take) => {}
                        _ = tokio::time::sleep(timeout) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
            if !queue.pop(take, &mut batch).await {
                return;
            }
            if !batching {
                if !self.send_each(&mut batch, &queue, &shutdown).await {
                    return;
                }
                continue;
            }
            // A batch: only a lost connection fails it, and then it waits for time-reopen() whole.
            let delivered = tokio::select! {
                d = self.deliver(&batch) => d,
                _ = shutdown.cancelled() => {
                    queue.push_front(&mut batch);
                    return;
                }
            };
            if delivered {
                self.errors = 0;
                queue.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                continue;
            }
            threaded::reconnecting(
                &self.shared.driver,
                &self.shared.location,
                self.index,
                settings.time_reopen,
                batch.len(),
            );
            self.conn = None;
            queue.push_front(&mut batch);
            tokio::select! {
                _ = tokio::time::sleep(settings.time_reopen) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Without `batch-lines()`: sends the command of each message of `batch`, all at once, and
    /// reads the replies; each message is written or not by its own reply. A refused message
    /// (or the first one left unanswered by a broken connection) is handled as syslog-ng handles
    /// its one command in flight: retried after `time-reopen()`, dropped after `retries()`; the
    /// others refused or unanswered go back to the queue with it, in their order. Those the
    /// server took behind it count as written: they had gone out already. `false` when the
    /// worker must stop.
    async fn send_each(
        &mut self,
        batch: &mut Vec<LogMessage>,
        queue: &DestinationQueue,
        shutdown: &CancellationToken,
    ) -> bool {
        let settings = self.shared.settings.clone();
        let sent = tokio::select! {
            s = async {
                match self.ensure_connected().await {
                    Ok(()) => Some(self.deliver_each(batch).await),
                    Err(_) => None,
                }
            } => s,
            _ = shutdown.cancelled() => {
                // Replies unknown: all of it goes back (the server may get some twice).
                queue.push_front(batch);
                return false;
            }
        };
        let (answered, lost) = match sent {
            Some(Ok(())) => (batch.len(), None),
            Some(Err((answered, e))) => (answered, Some(e)),
            None => {
                // Not connected (logged by ensure_connected): all of it waits for time-reopen().
                threaded::reconnecting(&self.shared.driver, &self.shared.location, self.index, settings.time_reopen, 1);
                queue.push_front(batch);
                return tokio::select! {
                    _ = tokio::time::sleep(settings.time_reopen) => true,
                    _ = shutdown.cancelled() => false,
                };
            }
        };
        let first_refused = self.refused.first().map(|(i, _)| *i);
        let Some(first_failed) = first_refused.or(lost.as_ref().map(|_| answered)) else {
            self.errors = 0;
            queue.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
            return true;
        };
        if first_failed > 0 {
            // A message before it got through.
            self.errors = 0;
        }
        let written = answered - self.refused.len();
        queue.stats.written.fetch_add(written as u64, Ordering::Relaxed);
        let (outcome, error) = match (first_refused, lost) {
            (Some(_), _) => (Outcome::Error, std::mem::take(&mut self.refused[0].1)),
            (None, Some(e)) => (Outcome::NotConnected, e.to_string()),
            (None, None) => unreachable!("a failure was found above"),
        };
        internal::error(format!(
            "REDIS server error, suspending; driver='{}', command='{}', error='{error}', time_reopen='{}'",
            self.shared.driver,
            self.command_text(),
            settings.time_reopen.as_secs()
        ));
        // The refused and the unanswered, in order.
        let mut failed = Vec::with_capacity(self.refused.len() + batch.len() - answered);
        let mut next_refused = 0;
        for (i, msg) in batch.drain(..).enumerate() {
            if self.refused.get(next_refused).is_some_and(|(r, _)| *r == i) {
                next_refused += 1;
                failed.push(msg);
            } else if i >= answered {
                failed.push(msg);
            }
        }
        if outcome == Outcome::Error && self.errors + 1 >= settings.retries {
            threaded::dropped(&self.shared.driver, &self.shared.location, self.index, self.errors + 1, 1);
            self.errors = 0;
            queue.stats.discarded.fetch_add(1, Ordering::Relaxed);
            failed.remove(0);
            queue.push_front(&mut failed);
            return true;
        }
        if outcome == Outcome::Error {
            self.errors += 1;
            threaded::retrying(
                &self.shared.driver,
                &self.shared.location,
                self.index,
                self.errors,
                settings.time_reopen,
                1,
            );
        } else {
            threaded::reconnecting(&self.shared.driver, &self.shared.location, self.index, settings.time_reopen, 1);
        }
        self.conn = None;
        queue.push_front(&mut failed);
        tokio::select! {
            _ = tokio::time::sleep(settings.time_reopen) => true,
            _ = shutdown.cancelled() => false,
        }
    }

    /// Sends the commands of `msgs` at once and reads a reply for each, noting the refused ones
    /// in `self.refused`. `Err` holds how many were answered when the connection failed.
    async fn deliver_each(&mut self, msgs: &[LogMessage]) -> Result<(), (usize, std::io::Error)> {
        self.refused.clear();
        self.out.clear();
        for msg in msgs {
            self.format_command(msg);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err((0, std::io::Error::new(std::io::ErrorKind::NotConnected, "not connected")));
        };
        conn.writer.write_all(&self.out).await.map_err(|e| (0, e))?;
        for i in 0..msgs.len() {
            match read_reply(&mut conn.reader, &mut self.line).await {
                Ok(Reply::Ok) => {}
                Ok(Reply::Error(e)) => self.refused.push((i, e)),
                Err(e) => return Err((i, e)),
            }
        }
        Ok(())
    }

    /// With `batch-lines()`: sends the commands of `msgs` (pipelined) and reads their replies;
    /// only a broken connection fails the batch (`false`), as in syslog-ng.
    async fn deliver(&mut self, msgs: &[LogMessage]) -> bool {
        if self.ensure_connected().await.is_err() {
            return false;
        }
        self.out.clear();
        for msg in msgs {
            self.format_command(msg);
        }
        let Some(conn) = self.conn.as_mut() else { return false };
        let result = async {
            conn.writer.write_all(&self.out).await?;
            // Error replies are read and ignored in a batch, as in syslog-ng.
            for _ in 0..msgs.len() {
                read_reply(&mut conn.reader, &mut self.line).await?;
            }
            Ok::<_, std::io::Error>(())
        }
        .await;
        match result {
            Ok(()) => true,
            Err(e) => {
                internal::error(format!(
                    "REDIS server error, suspending; driver='{}', command='{}', error='{e}', time_reopen='{}'",
                    self.shared.driver,
                    self.command_text(),
                    self.shared.settings.time_reopen.as_secs()
                ));
                false
            }
        }
    }

    async fn ensure_connected(&mut self) -> Result<(), Outcome> {
        if self.conn.is_none() {
            match self.connect().await {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    internal::error(format!(
                        "REDIS server error during connection; driver='{}', error='{e}', time_reopen='{}'",
                        self.shared.driver,
                        self.shared.settings.time_reopen.as_secs()
                    ));
                    return Err(Outcome::NotConnected);
                }
            }
        }
        Ok(())
    }

    /// The last command formatted, as syslog-ng's messages show it: `CMD "arg" "arg"`.
    fn command_text(&self) -> String {
        let mut text = self.shared.settings.command.clone();
        let mut from = 0;
        for &end in &self.ends {
            text.push_str(" \"");
            for c in String::from_utf8_lossy(&self.args[from..end]).chars() {
                if c == '"' || c == '\\' {
                    text.push('\\');
                }
                text.push(c);
            }
            text.push('"');
            from = end;
        }
        text
    }

    fn format_command(&mut self, msg: &LogMessage) {
        self.seq_num = self.seq_num.wrapping_add(1).max(1);
        self.format.seq_num = msg.writer_seq_num(self.seq_num);
        self.args.clear();
        self.ends.clear();
        for t in &self.shared.arguments {
            let _ = t.format(msg, &self.format, &mut self.args);
            self.ends.push(self.args.len());
        }
        let args = &self.args;
        let mut from = 0;
        let pieces = std::iter::once(self.shared.settings.command.as_bytes()).chain(self.ends.iter().map(|&end| {
            let piece = &args[from..end];
            from = end;
            piece
        }));
        write_command(&mut self.out, ExactLen(pieces, self.ends.len() + 1));
    }

    /// Connects, authenticates (`auth()`) and checks the connection with `PING`, as syslog-ng
    /// does on every (re)connection.
    async fn connect(&mut self) -> std::io::Result<Connection> {
        let s = &self.shared.settings;
        let connecting = TcpStream::connect((s.host.as_str(), s.port));
        let stream = match tokio::time::timeout(s.timeout.max(std::time::Duration::from_millis(1)), connecting).await {
            Ok(r) => r?,
            Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "Connection timed out")),
        };
        let _ = stream.set_nodelay(true);
        let (read, writer) = stream.into_split();
        let mut conn = Connection { reader: BufReader::new(read), writer };
        if let Some(password) = &s.auth {
            self.out.clear();
            write_command(&mut self.out, [&b"AUTH"[..], password.as_bytes()].into_iter());
            conn.writer.write_all(&self.out).await?;
            if let Reply::Error(e) = read_reply(&mut conn.reader, &mut self.line).await? {
                internal::error(format!("REDIS: failed to authenticate; driver='{}', error='{e}'", self.shared.driver));
                return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, e));
            }
        }
        self.out.clear();
        write_command(&mut self.out, [&b"ping"[..]].into_iter());
        conn.writer.write_all(&self.out).await?;
        if let Reply::Error(e) = read_reply(&mut conn.reader, &mut self.line).await? {
            internal::error(format!("REDIS: failed to connect; driver='{}', error='{e}'", self.shared.driver));
            return Err(std::io::Error::other(e));
        }
        Ok(conn)
    }
}

/// An iterator whose length is known ahead (a chain of a `once` and a `map` is not
/// `ExactSizeIterator`).
struct ExactLen<I>(I, usize);

impl<I: Iterator> Iterator for ExactLen<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.1, Some(self.1))
    }
}

impl<I: Iterator> ExactSizeIterator for ExactLen<I> {}
