//! The worker of an `amqp()` destination: it takes messages from the destination queue and
//! publishes them through [`Client`], as syslog-ng's threaded destination and its `afamqp`
//! module do, counting a message as written once the broker has confirmed it. From an
//! in-memory queue it publishes the next chunk while the broker confirms the last one.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_transport::tls::TlsContext;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{self, Auth, Client, Confirm, Login};
use super::options::{AuthMethod, Settings};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::threaded;
use crate::{Destination, DestinationContext, Task};

/// Messages taken from an in-memory queue at once: published back to back.
const CHUNK: usize = 256;
/// Messages of an in-memory queue published and not confirmed yet, at most: the next chunk goes
/// out while the broker confirms the last.
const PIPELINE: usize = 2 * CHUNK;
/// Connecting and setting the channel up, at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Once the queue is closed and empty, how long the broker has to confirm what it was sent.
const DRAIN_WAIT: Duration = Duration::from_secs(3);

/// What the worker needs of the driver.
pub struct Shared {
    pub settings: Settings,
    /// The TLS context when `ca-file()` is set.
    pub tls: Option<TlsContext>,
    pub routing_key: Arc<Template>,
    pub body: Option<Arc<Template>>,
    /// `$(format-flat-json ...)` of `value-pairs()`: the headers.
    pub headers: Arc<Template>,
    pub key_format: FormatOptions,
    pub format: FormatOptions,
    /// `d_amqp#0`, as syslog-ng's messages name the driver.
    pub driver: String,
    pub location: String,
}

pub struct AmqpDestination {
    shared: Arc<Shared>,
}

impl AmqpDestination {
    pub fn new(shared: Arc<Shared>) -> AmqpDestination {
        AmqpDestination { shared }
    }
}

impl Destination for AmqpDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(Worker::new(self.shared).run(ctx.queue, ctx.shutdown))
    }
}

/// The stream to the broker: plain TCP or TLS.
trait BrokerStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> BrokerStream for T {}

type Connection = Client<Box<dyn BrokerStream>>;

/// A message published and not yet confirmed, or confirmed while one before it is not.
struct Unconfirmed {
    msg: LogMessage,
    acked: bool,
}

/// Why the published messages did not all arrive.
enum Failure {
    /// The broker refused the message at this index of `unconfirmed`.
    Refused(usize),
    Network(client::Error),
}

/// What the worker's wait ended with.
enum Step {
    Stop,
    Event(Result<Confirm, client::Error>),
    /// `false`: the queue is closed and empty.
    Taken(bool),
}

struct Worker {
    shared: Arc<Shared>,
    client: Option<Connection>,
    format: FormatOptions,
    key_format: FormatOptions,
    key: Vec<u8>,
    body: Vec<u8>,
    json: Vec<u8>,
    headers: Headers,
    /// In the order published; the front's delivery tag is `first_tag`, the others follow it.
    unconfirmed: VecDeque<Unconfirmed>,
    first_tag: u64,
    seq_num: u32,
    /// Failures in a row without the broker confirming the oldest message sent.
    errors: u32,
}

impl Worker {
    fn new(shared: Arc<Shared>) -> Worker {
        let format = shared.format.clone();
        let key_format = shared.key_format.clone();
        Worker {
            shared,
            client: None,
            format,
            key_format,
            key: Vec::with_capacity(256),
            body: Vec::with_capacity(4096),
            json: Vec::with_capacity(4096),
            headers: Headers::default(),
            unconfirmed: VecDeque::with_capacity(PIPELINE),
            first_tag: 0,
            seq_num: 0,
            errors: 0,
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let time_reopen = self.shared.settings.time_reopen;
        // A disk buffer counts one take as one delivery, and the next take as the delivery of
        // the one before: one message at a time there, confirmed before the next take.
        let (take, limit) = if queue.is_persistent() { (1, 1) } else { (CHUNK, PIPELINE) };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        loop {
            let room = limit.saturating_sub(self.unconfirmed.len()).min(take);
            // The connection is served first (its output written, confirmations read,
            // heartbeats kept), also while the queue is empty.
            let step = tokio::select! {
                biased;
                _ = shutdown.cancelled() => Step::Stop,
                event = next_event(self.client.as_mut()) => Step::Event(event),
                open = queue.pop(room, &mut batch), if room > 0 => Step::Taken(open),
            };
            match step {
                Step::Stop => {
                    self.stop(&queue).await;
                    return;
                }
                Step::Event(Ok(confirm)) => {
                    if let Some(refused) = self.confirmed(confirm, &queue) {
                        if !self.failed(Failure::Refused(refused), &queue, &shutdown).await {
                            return;
                        }
                    }
                }
                Step::Event(Err(e)) => {
                    // Lost while idle: nothing to send again; the next message reconnects.
                    if self.unconfirmed.is_empty() {
                        self.client = None;
                    } else if !self.failed(Failure::Network(e), &queue, &shutdown).await {
                        return;
                    }
                }
                Step::Taken(false) => {
                    self.drain(&queue, &shutdown).await;
                    return;
                }
                Step::Taken(true) => {
                    if self.client.is_none() {
                        let connected = tokio::select! {
                            c = self.connect() => Some(c),
                            _ = shutdown.cancelled() => None,
                        };
                        match connected {
                            Some(true) => {}
                            Some(false) => {
                                queue.push_front(&mut batch);
                                if !suspend(time_reopen, &shutdown).await {
                                    return;
                                }
                                continue;
                            }
                            None => {
                                queue.push_front(&mut batch);
                                return;
                            }
                        }
                    }
                    self.publish(&mut batch, &queue);
                }
            }
        }
    }

    /// Connects, logs in, opens channel 1, declares the exchange when asked and turns publisher
    /// confirms on; says what failed.
    async fn connect(&mut self) -> bool {
        let shared = self.shared.clone();
        let s = &shared.settings;
        let login = Login {
            vhost: &s.vhost,
            auth: match s.auth_method {
                AuthMethod::Plain => Auth::Plain { username: &s.username, password: &s.password },
                AuthMethod::External => Auth::External,
            },
            channel_max: s.max_channel,
            frame_max: s.frame_size,
            heartbeat: s.heartbeat,
        };
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let timed_out = || client::Error::TimedOut(CONNECT_TIMEOUT.as_secs());
        let opened = tokio::time::timeout_at(deadline, async {
            let stream = open_stream(&shared).await?;
            Client::open(stream, &login).await
        })
        .await;
        let mut client = match opened.unwrap_or_else(|_| Err(timed_out())) {
            Ok(client) => client,
            Err(e) => {
                self.log_failure("Error connecting to AMQP server", &e);
                return false;
            }
        };
        let opened = tokio::time::timeout_at(deadline, client.open_channel()).await;
        if let Err(e) = opened.unwrap_or_else(|_| Err(timed_out())) {
            self.log_failure("Error during AMQP channel open", &e);
            client.close().await;
            return false;
        }
        if s.exchange_declare {
            let declared =
                tokio::time::timeout_at(deadline, client.declare_exchange(&s.exchange, &s.exchange_type)).await;
            if let Err(e) = declared.unwrap_or_else(|_| Err(timed_out())) {
                self.log_failure("Error during AMQP exchange declaration", &e);
                client.close().await;
                return false;
            }
        }
        let selected = tokio::time::timeout_at(deadline, client.confirm_select()).await;
        if let Err(e) = selected.unwrap_or_else(|_| Err(timed_out())) {
            self.log_failure("Error during AMQP channel open", &e);
            client.close().await;
            return false;
        }
        self.client = Some(client);
        true
    }

    fn log_failure(&self, context: &str, e: &client::Error) {
        internal::error(format!(
            "{context}; driver='{}', error='{e}', time_reopen='{}'",
            self.shared.driver,
            self.shared.settings.time_reopen.as_secs()
        ));
    }

    fn log_refused(&self) {
        internal::error(format!(
            "The AMQP server refused a message; driver='{}', time_reopen='{}'",
            self.shared.driver,
            self.shared.settings.time_reopen.as_secs()
        ));
    }

    /// Publishes `batch` (leaving it empty): its messages join `unconfirmed`.
    fn publish(&mut self, batch: &mut Vec<LogMessage>, queue: &DestinationQueue) {
        let shared = &*self.shared;
        let s = &shared.settings;
        let Some(client) = self.client.as_mut() else {
            queue.push_front(batch);
            return;
        };
        for msg in batch.drain(..) {
            self.seq_num = self.seq_num.wrapping_add(1).max(1);
            self.format.seq_num = msg.writer_seq_num(self.seq_num);
            self.key_format.seq_num = self.format.seq_num;
            self.key.clear();
            let _ = shared.routing_key.format(&msg, &self.key_format, &mut self.key);
            self.body.clear();
            if let Some(body) = &shared.body {
                let _ = body.format(&msg, &self.format, &mut self.body);
            }
            self.json.clear();
            let _ = shared.headers.format(&msg, &self.format, &mut self.json);
            self.headers.parse(&self.json);
            // librabbitmq takes C strings: each ends at the first NUL. Routing keys go out as
            // UTF-8 (borrowed unless they are not).
            let key = String::from_utf8_lossy(until_nul(&self.key));
            let published = client.publish(
                s.exchange.as_bytes(),
                key.as_bytes(),
                until_nul(&self.body),
                self.headers.iter(),
                s.delivery_mode,
            );
            match published {
                Ok(tag) => {
                    if self.unconfirmed.is_empty() {
                        self.first_tag = tag;
                    }
                    self.unconfirmed.push_back(Unconfirmed { msg, acked: false });
                }
                // It never fits: retrying cannot help.
                Err(e) => {
                    internal::error(format!(
                        "Message dropped, it does not fit in an AMQP frame; driver='{}', error='{e}'",
                        shared.driver
                    ));
                    queue.stats.discarded.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Counts what `confirm` acknowledges as written. For a refusal, the index in `unconfirmed`
    /// of the first message refused.
    fn confirmed(&mut self, confirm: Confirm, queue: &DestinationQueue) -> Option<usize> {
        let last = usize::try_from(confirm.tag.checked_sub(self.first_tag)?).ok()?;
        if last >= self.unconfirmed.len() {
            return None;
        }
        let first = if confirm.multiple { 0 } else { last };
        if !confirm.ack {
            return (first..=last).find(|&i| self.unconfirmed.get(i).is_some_and(|u| !u.acked));
        }
        let mut acked = 0;
        for u in self.unconfirmed.range_mut(first..=last).filter(|u| !u.acked) {
            u.acked = true;
            acked += 1;
        }
        queue.stats.written.fetch_add(acked, Ordering::Relaxed);
        let mut done = 0;
        while self.unconfirmed.front().is_some_and(|u| u.acked) {
            self.unconfirmed.pop_front();
            done += 1;
        }
        if done > 0 {
            self.first_tag += done;
            self.errors = 0;
        }
        None
    }

    /// After a refused message or a broken connection: the connection goes, and what was not
    /// confirmed goes back to the front of the queue, to be sent again after `time-reopen()`;
    /// after `retries()` failures in a row the failing message is dropped instead, and the
    /// rest is sent again at once. `false` when rsng stops meanwhile.
    async fn failed(&mut self, failure: Failure, queue: &DestinationQueue, shutdown: &CancellationToken) -> bool {
        let s = &self.shared.settings;
        let (time_reopen, retries) = (s.time_reopen, s.retries);
        let failing = match failure {
            Failure::Refused(index) => {
                self.log_refused();
                index
            }
            Failure::Network(e) => {
                self.log_failure("Network error while inserting into AMQP server", &e);
                self.unconfirmed.iter().position(|u| !u.acked).unwrap_or(0)
            }
        };
        if let Some(client) = self.client.take() {
            client.close().await;
        }
        self.errors += 1;
        let mut failed = None;
        let mut back = Vec::with_capacity(self.unconfirmed.len());
        for (i, u) in self.unconfirmed.drain(..).enumerate() {
            if i == failing {
                failed = Some(back.len());
            }
            if !u.acked {
                back.push(u.msg);
            }
        }
        if self.errors >= retries {
            threaded::dropped(&self.shared.driver, &self.shared.location, 0, self.errors, 1);
            self.errors = 0;
            if let Some(i) = failed {
                back.remove(i);
                queue.stats.discarded.fetch_add(1, Ordering::Relaxed);
            }
            // A disk buffer hands its last take out again on a push: only with something left.
            if !back.is_empty() {
                queue.push_front(&mut back);
            }
            return true;
        }
        threaded::retrying(&self.shared.driver, &self.shared.location, 0, self.errors, time_reopen, 1);
        if !back.is_empty() {
            queue.push_front(&mut back);
        }
        suspend(time_reopen, shutdown).await
    }

    /// The queue is closed and empty: gives the broker a little time to confirm what it was
    /// sent, then stops.
    async fn drain(&mut self, queue: &DestinationQueue, shutdown: &CancellationToken) {
        let deadline = Instant::now() + DRAIN_WAIT;
        while !self.unconfirmed.is_empty() {
            let event = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(deadline) => break,
                event = next_event(self.client.as_mut()) => event,
            };
            match event {
                Ok(confirm) => {
                    if self.confirmed(confirm, queue).is_some() {
                        self.log_refused();
                        break;
                    }
                }
                Err(e) => {
                    self.log_failure("Network error while inserting into AMQP server", &e);
                    break;
                }
            }
        }
        self.stop(queue).await;
    }

    /// Puts what is not confirmed back at the front of the queue and closes the connection.
    async fn stop(&mut self, queue: &DestinationQueue) {
        let mut back: Vec<LogMessage> = self.unconfirmed.drain(..).filter(|u| !u.acked).map(|u| u.msg).collect();
        if !back.is_empty() {
            queue.push_front(&mut back);
        }
        if let Some(client) = self.client.take() {
            client.close().await;
        }
    }
}

/// The next confirmation on `client`; never, without a connection.
async fn next_event(client: Option<&mut Connection>) -> Result<Confirm, client::Error> {
    match client {
        Some(client) => client.next_event().await,
        None => std::future::pending().await,
    }
}

/// Connects to the broker, through TLS when `ca-file()` is set.
async fn open_stream(shared: &Shared) -> Result<Box<dyn BrokerStream>, client::Error> {
    let s = &shared.settings;
    let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.port)).await?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = &shared.tls else { return Ok(Box::new(tcp)) };
    // The broker's certificate is checked against host() as written.
    match tokio::time::timeout(tls.handshake_timeout(), tls.connect(tcp, &s.host)).await {
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out").into()),
        Ok(Err(e)) => Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e.to_string()).into()),
        Ok(Ok(stream)) => Ok(Box::new(stream)),
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The string headers of one message, from a flat JSON object (`$(format-flat-json)`): every
/// value as its text. Names and values are unescaped into one buffer, reused for each message.
#[derive(Default)]
struct Headers {
    text: Vec<u8>,
    /// Name and value of each header in `text`.
    spans: Vec<(Range<usize>, Range<usize>)>,
}

impl Headers {
    /// Reads the pairs of `json`, up to the first thing that does not parse.
    fn parse(&mut self, json: &[u8]) {
        self.text.clear();
        self.spans.clear();
        // Only ever a copy for text that is not UTF-8, which rsng's JSON never is.
        let json = String::from_utf8_lossy(json);
        let mut p = Parser { s: json.as_bytes(), i: 0 };
        p.skip_ws();
        if !p.eat(b'{') {
            return;
        }
        loop {
            p.skip_ws();
            if p.eat(b'}') {
                break;
            }
            let name_start = self.text.len();
            if p.string(&mut self.text).is_none() {
                break;
            }
            let name = name_start..self.text.len();
            p.skip_ws();
            if !p.eat(b':') {
                break;
            }
            p.skip_ws();
            let value_start = self.text.len();
            let value = if p.peek() == Some(b'"') { p.string(&mut self.text) } else { p.bare(&mut self.text) };
            if value.is_none() {
                break;
            }
            // librabbitmq takes C strings.
            let value_end = value_start + until_nul(&self.text[value_start..]).len();
            self.spans.push((name, value_start..value_end));
            p.skip_ws();
            if !p.eat(b',') {
                break;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.spans.iter().map(|(name, value)| (&self.text[name.clone()], &self.text[value.clone()]))
    }
}

/// Just enough JSON for the flat objects rsng's own `$(format-flat-json)` writes.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    /// A number, `true`, `false` or `null` as written, appended to `out`.
    fn bare(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
        out.extend_from_slice(self.s.get(start..self.i)?);
        (self.i > start).then_some(())
    }

    /// A string, unescaped and appended to `out`.
    fn string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'"' => return Some(()),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            let mut code = u32::from_str_radix(hex, 16).ok()?;
                            // A surrogate pair.
                            if (0xD800..0xDC00).contains(&code) && self.s.get(self.i..self.i + 2) == Some(b"\\u") {
                                let low = std::str::from_utf8(self.s.get(self.i + 2..self.i + 6)?).ok()?;
                                let low = u32::from_str_radix(low, 16).ok()?;
                                self.i += 6;
                                code = 0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            let c = char::from_u32(code).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

/// Waits `time`; `false` when rsng stops meanwhile.
async fn suspend(time: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(time) => true,
        _ = shutdown.cancelled() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_from_flat_json() {
        let mut headers = Headers::default();
        headers.parse(br#"{"HOST":"h","PID":42,".SDATA.a.b":"x\"y\u00e9","ok":true,"nul":"a\u0000b"}"#);
        let got: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        let expected = [("HOST", "h"), ("PID", "42"), (".SDATA.a.b", "x\"y\u{e9}"), ("ok", "true"), ("nul", "a")];
        assert_eq!(got, expected.map(|(k, v)| (k.to_string(), v.to_string())));
        // What parses before a fault is kept; the buffer is reused.
        headers.parse(br#"{"a":"1","b":}"#);
        assert_eq!(headers.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"1"[..])]);
    }
}
