//! The worker of an `mqtt()` destination: it keeps one connection to the broker, takes messages
//! from the destination queue and publishes them. With QoS 1 and 2 a chunk goes out pipelined
//! and each message counts as written when the broker has acknowledged it; the rest go back to
//! the queue when the connection fails. When idle it pings the broker every `keepalive()`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_transport::tls::TlsContext;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::options::Settings;
use super::packet;
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::threaded;
use crate::{Destination, DestinationContext, Task};

/// Messages published at once from a memory queue (a disk buffer gives one at a time: one take
/// is one delivery there).
const CHUNK: usize = 64;
/// How long the broker may take to acknowledge (syslog-ng waits 10 s for each publication).
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Shared {
    pub settings: Settings,
    /// The TLS context of an `ssl://` address.
    pub tls: Option<TlsContext>,
    pub topic: Template,
    /// The topic when it is not templated.
    pub literal_topic: Option<Vec<u8>>,
    pub payload: Arc<Template>,
    pub format: FormatOptions,
    /// `d_mqtt#0`, as syslog-ng's messages name the driver.
    pub driver: String,
    pub location: String,
}

pub struct MqttDestination {
    pub shared: Arc<Shared>,
}

impl Destination for MqttDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            // 3.38's mqtt() has no workers(): one connection, as there.
            Worker::new(self.shared).run(ctx.queue, ctx.shutdown).await;
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    /// No acknowledgement in time: retried up to `retries()` times, then dropped.
    Error,
    /// The connection failed: kept and tried again after `time-reopen()`.
    NotConnected,
}

/// The broker connection: plain TCP or TLS.
pub trait BrokerIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> BrokerIo for T {}

/// A connection after CONNACK. Reads and writes take turns in the one worker, so the stream
/// is not split: writes pass through the read buffer.
pub struct Connection {
    pub stream: BufReader<Box<dyn BrokerIo>>,
    pub last_sent: Instant,
}

struct Worker {
    shared: Arc<Shared>,
    conn: Option<Connection>,
    out: Vec<u8>,
    topic: Vec<u8>,
    payload: Vec<u8>,
    body: Vec<u8>,
    /// Per message of the chunk in flight: its packet id, and whether it is done (acknowledged,
    /// or dropped as unpublishable).
    ids: Vec<u16>,
    done: Vec<bool>,
    next_id: u16,
    format: FormatOptions,
    seq_num: u32,
    errors: u32,
}

impl Worker {
    fn new(shared: Arc<Shared>) -> Worker {
        let format = shared.format.clone();
        Worker {
            shared,
            conn: None,
            out: Vec::with_capacity(16 * 1024),
            topic: Vec::new(),
            payload: Vec::with_capacity(1024),
            body: Vec::new(),
            ids: Vec::with_capacity(CHUNK),
            done: Vec::with_capacity(CHUNK),
            next_id: 0,
            format,
            seq_num: 0,
            errors: 0,
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let settings = self.shared.settings.clone();
        let take = if queue.is_persistent() { 1 } else { CHUNK };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        // syslog-ng connects when the worker starts, not at the first message.
        let _ = self.ensure_connected().await;
        loop {
            // Idle: keep the connection alive.
            loop {
                tokio::select! {
                    _ = queue.wait_len(1) => break,
                    _ = tokio::time::sleep(settings.keepalive) => self.ping().await,
                    _ = shutdown.cancelled() => return self.disconnect().await,
                }
            }
            if !queue.pop(take, &mut batch).await {
                return self.disconnect().await;
            }
            while !batch.is_empty() {
                let outcome = tokio::select! {
                    o = self.deliver(&batch) => Some(o),
                    _ = shutdown.cancelled() => None,
                };
                // What is done leaves the batch; the rest is tried again or put back.
                let (written, dropped) = self.retire(&mut batch);
                queue.stats.written.fetch_add(written, Ordering::Relaxed);
                queue.stats.discarded.fetch_add(dropped, Ordering::Relaxed);
                match outcome {
                    None => {
                        queue.push_front(&mut batch);
                        return self.disconnect().await;
                    }
                    Some(Outcome::Success) => self.errors = 0,
                    Some(Outcome::Error) if self.errors + 1 >= settings.retries => {
                        threaded::dropped(&self.shared.driver, &self.shared.location, 0, self.errors + 1, batch.len());
                        self.errors = 0;
                        queue.stats.discarded.fetch_add(batch.len() as u64, Ordering::Relaxed);
                        batch.clear();
                        self.conn = None;
                    }
                    Some(outcome) => {
                        if outcome == Outcome::Error {
                            self.errors += 1;
                            threaded::retrying(
                                &self.shared.driver,
                                &self.shared.location,
                                0,
                                self.errors,
                                settings.time_reopen,
                                batch.len(),
                            );
                        } else {
                            threaded::reconnecting(
                                &self.shared.driver,
                                &self.shared.location,
                                0,
                                settings.time_reopen,
                                batch.len(),
                            );
                        }
                        self.conn = None;
                        queue.push_front(&mut batch);
                        tokio::select! {
                            _ = tokio::time::sleep(settings.time_reopen) => {}
                            _ = shutdown.cancelled() => return,
                        }
                    }
                }
            }
        }
    }

    /// Removes the messages marked done from `batch`: `(acknowledged, dropped)` counts.
    fn retire(&mut self, batch: &mut Vec<LogMessage>) -> (u64, u64) {
        // The marks cover the whole batch once it was formatted; before that nothing is done.
        let (mut written, mut dropped) = (0, 0);
        if self.done.len() == batch.len() {
            for (&id, &done) in self.ids.iter().zip(&self.done) {
                match (done, id) {
                    (false, _) => {}
                    (true, 0) => dropped += 1,
                    (true, _) => written += 1,
                }
            }
            let mut flags = self.done.iter();
            batch.retain(|_| !flags.next().copied().unwrap_or(false));
        }
        self.ids.clear();
        self.done.clear();
        (written, dropped)
    }

    /// Publishes `msgs` and waits for their acknowledgements, marking each one done as it
    /// completes.
    async fn deliver(&mut self, msgs: &[LogMessage]) -> Outcome {
        if self.ensure_connected().await.is_err() {
            return Outcome::NotConnected;
        }
        let qos = self.shared.settings.qos;
        self.out.clear();
        self.ids.clear();
        self.done.clear();
        for msg in msgs {
            let id = if qos > 0 { self.next_packet_id() } else { 1 };
            match self.format_publish(msg, id) {
                Ok(()) => {
                    self.ids.push(id);
                    // QoS 0 is done once written.
                    self.done.push(false);
                }
                Err(e) => {
                    internal::error(format!(
                        "An unrecoverable error occurred during publish, dropping message.; error code='{e}', \
                         location='{}'",
                        self.shared.location
                    ));
                    // Id 0 marks a drop (real packet ids start at 1).
                    self.ids.push(0);
                    self.done.push(true);
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else { return Outcome::NotConnected };
        if let Err(e) = conn.stream.write_all(&self.out).await {
            return self.failed("Disconnected during publish!", &e);
        }
        conn.last_sent = Instant::now();
        if qos == 0 {
            self.done.iter_mut().for_each(|d| *d = true);
            return Outcome::Success;
        }
        let mut pending = self.done.iter().filter(|&&d| !d).count();
        while pending > 0 {
            let Some(conn) = self.conn.as_mut() else { return Outcome::NotConnected };
            let kind = match tokio::time::timeout(ACK_TIMEOUT, packet::read(&mut conn.stream, &mut self.body)).await {
                Err(_) => {
                    internal::error(format!(
                        "Error while waiting the response!; error code='timeout', location='{}'",
                        self.shared.location
                    ));
                    return Outcome::Error;
                }
                Ok(Err(e)) => return self.failed("Disconnected while waiting the response!", &e),
                Ok(Ok(kind)) => kind,
            };
            let Some(id) = packet::ack_id(&self.body) else { continue };
            let completes = match kind {
                packet::PUBACK if qos == 1 => true,
                packet::PUBCOMP if qos == 2 => true,
                packet::PUBREC if qos == 2 => {
                    self.out.clear();
                    packet::pubrel(&mut self.out, id);
                    if let Err(e) = conn.stream.write_all(&self.out).await {
                        return self.failed("Disconnected while waiting the response!", &e);
                    }
                    false
                }
                _ => false,
            };
            if completes {
                if let Some(i) = self.ids.iter().zip(&self.done).position(|(&m, &d)| m == id && !d) {
                    self.done[i] = true;
                    pending -= 1;
                }
            }
        }
        Outcome::Success
    }

    fn failed(&mut self, what: &str, e: &std::io::Error) -> Outcome {
        internal::error(format!("{what}; error='{e}', location='{}'", self.shared.location));
        self.conn = None;
        Outcome::NotConnected
    }

    fn next_packet_id(&mut self) -> u16 {
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        self.next_id
    }

    /// Appends the PUBLISH of `msg` to the output.
    fn format_publish(&mut self, msg: &LogMessage, id: u16) -> Result<(), &'static str> {
        let shared = &self.shared;
        self.seq_num = self.seq_num.wrapping_add(1).max(1);
        self.format.seq_num = msg.writer_seq_num(self.seq_num);
        self.payload.clear();
        let _ = shared.payload.format(msg, &self.format, &mut self.payload);
        let topic: &[u8] = match &shared.literal_topic {
            Some(t) => t,
            None => {
                self.topic.clear();
                let _ = shared.topic.format(msg, &self.format, &mut self.topic);
                if self.topic.is_empty() {
                    internal::error(format!(
                        "Error constructing topic; topic_name='', driver='{}', location='{}', error message='mqtt \
                         dest: topic name is illegal, it can't be empty'",
                        shared.driver, shared.location
                    ));
                    shared.settings.fallback_topic.as_deref().unwrap_or_default().as_bytes()
                } else {
                    &self.topic
                }
            }
        };
        if std::str::from_utf8(topic).is_err() {
            return Err("MQTTCLIENT_BAD_UTF8_STRING");
        }
        packet::publish(&mut self.out, topic, &self.payload, shared.settings.qos, id)
    }

    async fn ensure_connected(&mut self) -> Result<(), ()> {
        if self.conn.is_some() {
            return Ok(());
        }
        match self.connect().await {
            Ok(c) => {
                self.conn = Some(c);
                Ok(())
            }
            Err(e) => {
                internal::error(format!(
                    "Error connecting mqtt client; error_code='{e}', client_id='{}', location='{}'",
                    self.shared.settings.client_id, self.shared.location
                ));
                Err(())
            }
        }
    }

    /// Connects and waits for the broker's CONNACK.
    async fn connect(&mut self) -> std::io::Result<Connection> {
        let s = &self.shared.settings;
        let keepalive = u16::try_from(s.keepalive.as_secs()).unwrap_or(u16::MAX);
        self.out.clear();
        packet::connect(&mut self.out, &s.client_id, s.username.as_deref(), s.password.as_deref(), keepalive, true);
        connect(s, self.shared.tls.as_ref(), &self.out, &mut self.body).await
    }

    /// A PINGREQ when nothing went out for `keepalive()`; a broker that does not answer loses
    /// the connection (the next message reconnects).
    async fn ping(&mut self) {
        let keepalive = self.shared.settings.keepalive;
        let Some(conn) = self.conn.as_mut() else {
            let _ = self.ensure_connected().await;
            return;
        };
        if conn.last_sent.elapsed() < keepalive / 2 {
            return;
        }
        let alive = async {
            conn.stream.write_all(&packet::PINGREQ).await?;
            conn.last_sent = Instant::now();
            loop {
                if packet::read(&mut conn.stream, &mut self.body).await? == packet::PINGRESP {
                    return Ok::<_, std::io::Error>(());
                }
            }
        };
        if !matches!(tokio::time::timeout(keepalive, alive).await, Ok(Ok(()))) {
            self.conn = None;
        }
    }

    async fn disconnect(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.stream.write_all(&packet::DISCONNECT).await;
            let _ = conn.stream.shutdown().await;
        }
    }
}

/// Opens a connection to the broker of `settings` (with TLS when `tls` is given), sends
/// `connect_packet` and waits for a CONNACK accepting it. `body` is scratch space.
///
/// # Errors
/// Connecting, the TLS handshake or CONNACK failed, or the broker refused the client.
pub async fn connect(
    settings: &Settings,
    tls: Option<&TlsContext>,
    connect_packet: &[u8],
    body: &mut Vec<u8>,
) -> std::io::Result<Connection> {
    let timed_out = |what: &str| std::io::Error::new(std::io::ErrorKind::TimedOut, what.to_string());
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((settings.host.as_str(), settings.port)))
        .await
        .map_err(|_| timed_out("Connection timed out"))??;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn BrokerIo> = match tls {
        None => Box::new(tcp),
        Some(tls) => {
            // The broker's certificate is checked against the host as written in the address.
            let handshake = tokio::time::timeout(tls.handshake_timeout(), tls.connect(tcp, &settings.host)).await;
            match handshake {
                Err(_) => return Err(timed_out("TLS handshake timed out")),
                Ok(Err(e)) => return Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e.to_string())),
                Ok(Ok(stream)) => Box::new(stream),
            }
        }
    };
    let mut stream = BufReader::new(io);
    stream.write_all(connect_packet).await?;
    stream.flush().await?;
    let kind = tokio::time::timeout(CONNECT_TIMEOUT, packet::read(&mut stream, body))
        .await
        .map_err(|_| timed_out("no CONNACK from the broker"))??;
    match (kind, body.get(1)) {
        (packet::CONNACK, Some(0)) => Ok(Connection { stream, last_sent: Instant::now() }),
        (packet::CONNACK, Some(&code)) => {
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, packet::connack_error(code)))
        }
        _ => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the broker did not answer with CONNACK")),
    }
}
