//! The worker of an `amqp()` destination: it takes messages from the destination queue and
//! publishes them, as syslog-ng's threaded destination and its `afamqp` module do, waiting for
//! the broker's confirmation of each chunk before counting it as written. With TLS, lapin runs
//! over a stream rsng connects itself through its OpenSSL context ([`TlsRuntime`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo, SASLMechanism};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_transport::tls::TlsContext;
use tokio_util::sync::CancellationToken;

use super::options::{AuthMethod, Settings};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::{Destination, DestinationContext, Task};

/// Messages taken from an in-memory queue at once: published back to back, then confirmed.
const CHUNK: usize = 64;

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

struct Worker {
    shared: Arc<Shared>,
    connection: Option<(Connection, Channel)>,
    format: FormatOptions,
    key_format: FormatOptions,
    key: Vec<u8>,
    body: Vec<u8>,
    json: Vec<u8>,
    seq_num: u32,
    errors: u32,
}

impl Worker {
    fn new(shared: Arc<Shared>) -> Worker {
        let format = shared.format.clone();
        let key_format = shared.key_format.clone();
        Worker {
            shared,
            connection: None,
            format,
            key_format,
            key: Vec::with_capacity(256),
            body: Vec::with_capacity(4096),
            json: Vec::with_capacity(4096),
            seq_num: 0,
            errors: 0,
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let time_reopen = self.shared.settings.time_reopen;
        let retries = self.shared.settings.retries;
        // A disk buffer counts one take as one delivery: take one message at a time there.
        let take = if queue.is_persistent() { 1 } else { CHUNK };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        loop {
            if !queue.pop(take, &mut batch).await {
                self.close().await;
                return;
            }
            while !batch.is_empty() {
                let connected =
                    self.connection.as_ref().is_some_and(|(c, ch)| c.status().connected() && ch.status().connected());
                if !connected && !self.connect().await {
                    queue.push_front(&mut batch);
                    if !suspend(time_reopen, &shutdown).await {
                        return;
                    }
                    break;
                }
                let outcome = tokio::select! {
                    o = self.publish(&batch) => Some(o),
                    _ = shutdown.cancelled() => None,
                };
                let Some(confirmed) = outcome else {
                    queue.push_front(&mut batch);
                    return;
                };
                if confirmed > 0 {
                    self.errors = 0;
                    queue.stats.written.fetch_add(confirmed as u64, Ordering::Relaxed);
                    batch.drain(..confirmed);
                    continue;
                }
                self.errors += 1;
                self.connection = None;
                if self.errors >= retries {
                    internal::error(format!(
                        "Multiple failures while sending message(s) to destination, message(s) dropped; driver='{}', \
                         location='{}', worker_index='0', retries='{}', batch_size='1'",
                        self.shared.driver, self.shared.location, self.errors
                    ));
                    self.errors = 0;
                    queue.stats.discarded.fetch_add(1, Ordering::Relaxed);
                    batch.remove(0);
                    continue;
                }
                internal::error(format!(
                    "Error occurred while trying to send a message, trying again; driver='{}', location='{}', \
                     worker_index='0', retries='{}', time_reopen='{}', batch_size='1'",
                    self.shared.driver,
                    self.shared.location,
                    self.errors,
                    time_reopen.as_secs()
                ));
                queue.push_front(&mut batch);
                if !suspend(time_reopen, &shutdown).await {
                    return;
                }
                break;
            }
            batch.clear();
        }
    }

    async fn connect(&mut self) -> bool {
        let s = &self.shared.settings;
        let uri = AMQPUri {
            scheme: AMQPScheme::AMQP,
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo { username: s.username.clone(), password: s.password.clone() },
                host: s.host.clone(),
                port: s.port,
            },
            vhost: s.vhost.clone(),
            query: AMQPQueryString {
                frame_max: Some(s.frame_size),
                channel_max: Some(s.max_channel),
                heartbeat: Some(s.heartbeat),
                connection_timeout: Some(30_000),
                // EXTERNAL: the broker takes the identity from the TLS client certificate.
                auth_mechanism: (s.auth_method == AuthMethod::External).then_some(SASLMechanism::External),
            },
        };
        let connected = match &self.shared.tls {
            None => Connection::connect_uri(uri, ConnectionProperties::default()).await,
            Some(tls) => connect_tls(uri, tls.clone()).await,
        };
        let connection = match connected {
            Ok(c) => c,
            Err(e) => {
                internal::error(format!(
                    "Error connecting to AMQP server; driver='{}', error='{e}', time_reopen='{}'",
                    self.shared.driver,
                    s.time_reopen.as_secs()
                ));
                return false;
            }
        };
        let channel = match connection.create_channel().await {
            Ok(c) => c,
            Err(e) => {
                self.failed("Error during AMQP channel open", &e);
                let _ = connection.close(200, "".into()).await;
                return false;
            }
        };
        if s.exchange_declare {
            let kind = match s.exchange_type.as_str() {
                "direct" => ExchangeKind::Direct,
                "fanout" => ExchangeKind::Fanout,
                "headers" => ExchangeKind::Headers,
                "topic" => ExchangeKind::Topic,
                other => ExchangeKind::Custom(other.to_string()),
            };
            let declared = channel
                .exchange_declare(
                    s.exchange.as_str().into(),
                    kind,
                    ExchangeDeclareOptions::default(),
                    FieldTable::default(),
                )
                .await;
            if let Err(e) = declared {
                self.failed("Error during AMQP exchange declaration", &e);
                let _ = connection.close(200, "".into()).await;
                return false;
            }
        }
        if let Err(e) = channel.confirm_select(ConfirmSelectOptions::default()).await {
            self.failed("Error during AMQP channel open", &e);
            let _ = connection.close(200, "".into()).await;
            return false;
        }
        self.connection = Some((connection, channel));
        true
    }

    fn failed(&self, context: &str, e: &lapin::Error) {
        internal::error(format!(
            "{context}; driver='{}', error='{e}', time_reopen='{}'",
            self.shared.driver,
            self.shared.settings.time_reopen.as_secs()
        ));
    }

    async fn close(&mut self) {
        if let Some((connection, _)) = self.connection.take() {
            let _ = connection.close(200, "".into()).await;
        }
    }

    /// Publishes `batch` back to back and waits for the broker's confirmations: how many from
    /// the front were confirmed.
    async fn publish(&mut self, batch: &[LogMessage]) -> usize {
        let shared = self.shared.clone();
        let s = &shared.settings;
        let Some((_, channel)) = &self.connection else { return 0 };
        let channel = channel.clone();
        let mut confirms = Vec::with_capacity(batch.len());
        for msg in batch {
            self.seq_num = self.seq_num.wrapping_add(1).max(1);
            self.format.seq_num = msg.writer_seq_num(self.seq_num);
            self.key_format.seq_num = self.format.seq_num;
            self.key.clear();
            let _ = shared.routing_key.format(msg, &self.key_format, &mut self.key);
            self.body.clear();
            if let Some(body) = &shared.body {
                let _ = body.format(msg, &self.format, &mut self.body);
            }
            self.json.clear();
            let _ = shared.headers.format(msg, &self.format, &mut self.json);
            let headers = headers_of(&self.json);
            // librabbitmq takes C strings: each ends at the first NUL.
            let properties = BasicProperties::default()
                .with_content_type("text/plain".into())
                .with_delivery_mode(s.delivery_mode)
                .with_headers(headers);
            let key = String::from_utf8_lossy(until_nul(&self.key));
            let published = channel
                .basic_publish(
                    s.exchange.as_str().into(),
                    ShortString::from(key.as_ref()),
                    BasicPublishOptions::default(),
                    until_nul(&self.body),
                    properties,
                )
                .await;
            match published {
                Ok(confirm) => confirms.push(confirm),
                Err(e) => {
                    internal::error(format!(
                        "Network error while inserting into AMQP server; driver='{}', error='{e}', time_reopen='{}'",
                        shared.driver,
                        s.time_reopen.as_secs()
                    ));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        for confirm in confirms {
            match confirm.await {
                Ok(c) if c.is_ack() => confirmed += 1,
                Ok(_) => {
                    internal::error(format!(
                        "The AMQP server refused a message; driver='{}', time_reopen='{}'",
                        shared.driver,
                        s.time_reopen.as_secs()
                    ));
                    break;
                }
                Err(e) => {
                    internal::error(format!(
                        "Network error while inserting into AMQP server; driver='{}', error='{e}', time_reopen='{}'",
                        shared.driver,
                        s.time_reopen.as_secs()
                    ));
                    break;
                }
            }
        }
        confirmed
    }
}

/// Connects over TLS through `tls`: lapin runs on [`TlsRuntime`], whose streams are rsng's.
async fn connect_tls(uri: AMQPUri, tls: TlsContext) -> lapin::Result<Connection> {
    let runtime = async_rs::Runtime::new(TlsRuntime(async_rs::Tokio::current()));
    let connect = async move |uri: AMQPUri, _: async_rs::Runtime<TlsRuntime>| -> lapin::Result<_> {
        let host = uri.authority.host.as_str();
        let timeout = Duration::from_millis(uri.query.connection_timeout.unwrap_or(30_000));
        let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, uri.authority.port)))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "Connection timed out"))??;
        let _ = tcp.set_nodelay(true);
        // The broker's certificate is checked against host() as written.
        let stream = match tokio::time::timeout(tls.handshake_timeout(), tls.connect(tcp, host)).await {
            Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out").into()),
            Ok(Err(e)) => return Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e.to_string()).into()),
            Ok(Ok(stream)) => stream,
        };
        let io: Box<dyn BrokerIo> = Box::new(stream);
        Ok(lapin::tcp::AsyncTcpStream::Plain(async_compat::Compat::new(io)))
    };
    Connection::connector(uri, runtime, connect, ConnectionProperties::default()).await
}

/// A stream lapin can run over: plain TCP or TLS, as tokio streams.
pub trait BrokerIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> BrokerIo for T {}

/// lapin's tokio runtime with rsng's streams: lapin takes the stream of a connection as its
/// runtime's TCP stream type, so that a TLS stream made by rsng's OpenSSL context can carry it.
#[derive(Debug, Clone)]
pub struct TlsRuntime(async_rs::Tokio);

impl async_rs::traits::RuntimeKit for TlsRuntime {}

impl async_rs::traits::Executor for TlsRuntime {
    type Task<T: Send + 'static> = <async_rs::Tokio as async_rs::traits::Executor>::Task<T>;

    fn block_on<T, F: std::future::Future<Output = T>>(&self, f: F) -> T {
        self.0.block_on(f)
    }

    fn spawn<T: Send + 'static, F: std::future::Future<Output = T> + Send + 'static>(
        &self,
        f: F,
    ) -> async_rs::util::Task<Self::Task<T>> {
        self.0.spawn(f)
    }

    fn spawn_blocking<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
        &self,
        f: F,
    ) -> async_rs::util::Task<Self::Task<T>> {
        self.0.spawn_blocking(f)
    }
}

impl async_rs::traits::Reactor for TlsRuntime {
    type TcpStream = async_compat::Compat<Box<dyn BrokerIo>>;
    type Sleep = <async_rs::Tokio as async_rs::traits::Reactor>::Sleep;

    fn register<H>(
        &self,
        socket: H,
    ) -> std::io::Result<impl futures_io::AsyncRead + futures_io::AsyncWrite + Send + Unpin + 'static>
    where
        H: std::io::Read + std::io::Write + std::os::fd::AsFd + std::os::fd::AsRawFd + Send + 'static,
    {
        self.0.register(socket)
    }

    fn sleep(&self, dur: Duration) -> Self::Sleep {
        self.0.sleep(dur)
    }

    fn interval(&self, dur: Duration) -> impl futures_util::Stream<Item = std::time::Instant> + Send + 'static {
        self.0.interval(dur)
    }

    /// Plain TCP; the TLS connections are made by [`connect_tls`].
    // Not an `async fn`: the future must be `'static`, without a borrow of `self`.
    #[allow(clippy::manual_async_fn)]
    fn tcp_connect_addr(
        &self,
        addr: std::net::SocketAddr,
    ) -> impl std::future::Future<Output = std::io::Result<Self::TcpStream>> + Send + 'static {
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let io: Box<dyn BrokerIo> = Box::new(tcp);
            Ok(async_compat::Compat::new(io))
        }
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The string headers of a flat JSON object (`$(format-flat-json)`): every value as its text.
fn headers_of(json: &[u8]) -> FieldTable {
    let mut table = FieldTable::default();
    let text = String::from_utf8_lossy(json);
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    p.skip_ws();
    if !p.eat(b'{') {
        return table;
    }
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let Some(key) = p.string() else { break };
        p.skip_ws();
        if !p.eat(b':') {
            break;
        }
        p.skip_ws();
        let value = if p.peek() == Some(b'"') { p.string() } else { p.bare() };
        let Some(value) = value else { break };
        // librabbitmq takes C strings.
        let value = value.split('\0').next().unwrap_or_default();
        table.insert(ShortString::from(key.as_str()), AMQPValue::LongString(LongString::from(value)));
        p.skip_ws();
        if !p.eat(b',') {
            break;
        }
    }
    table
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

    /// A number, `true`, `false` or `null` as written.
    fn bare(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
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
        let t = headers_of(br#"{"HOST":"h","PID":42,".SDATA.a.b":"x\"y\u00e9","ok":true}"#);
        let get = |k: &str| match t.inner().get(k) {
            Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(get("HOST"), "h");
        assert_eq!(get("PID"), "42");
        assert_eq!(get(".SDATA.a.b"), "x\"y\u{e9}");
        assert_eq!(get("ok"), "true");
    }
}
