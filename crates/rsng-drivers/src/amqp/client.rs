//! A small AMQP 0-9-1 client that publishes with publisher confirms: what `amqp()` needs of the
//! protocol, on one tokio stream (plain TCP or TLS), inside the worker's task.
//!
//! [`Client::open`] logs in; [`Client::open_channel`], [`Client::declare_exchange`] and
//! [`Client::confirm_select`] prepare channel 1. [`Client::publish`] only appends a message's
//! frames to the output buffer and returns its delivery tag; [`Client::next_event`] writes what
//! is buffered, reads the server's confirmations and keeps the heartbeats, and is cancel-safe,
//! so that a worker may `select!` on it while it waits for its queue.
//!
//! Short strings (the exchange, routing keys, header names) hold at most 255 bytes: longer ones
//! are cut there (at a UTF-8 character boundary), so that a frame is never malformed.
//! Nothing the server sends can make the client panic: what does not parse is an [`Error`].

use std::borrow::Cow;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

const PROTOCOL_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";
const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;
/// Type, channel and size before a frame's payload, the end marker after it.
const FRAME_OVERHEAD: usize = 8;
const HEARTBEAT: [u8; 8] = [FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END];
/// The smallest frame size the protocol allows.
const FRAME_MIN_SIZE: u32 = 4096;
const SHORT_MAX: usize = 255;
/// The channel messages are published on.
const CHANNEL: u16 = 1;
const CONTENT_TYPE: &[u8] = b"text/plain";
/// Property flags of a publish: content-type, headers and delivery-mode.
const PROPERTY_FLAGS: u16 = 1 << 15 | 1 << 13 | 1 << 12;
/// How long [`Client::close`] waits for the server, and a closed connection for its CloseOk to
/// go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Class and method of a method frame.
type MethodId = (u16, u16);
const CONNECTION_START: MethodId = (10, 10);
const CONNECTION_START_OK: MethodId = (10, 11);
const CONNECTION_TUNE: MethodId = (10, 30);
const CONNECTION_TUNE_OK: MethodId = (10, 31);
const CONNECTION_OPEN: MethodId = (10, 40);
const CONNECTION_OPEN_OK: MethodId = (10, 41);
const CONNECTION_CLOSE: MethodId = (10, 50);
const CONNECTION_CLOSE_OK: MethodId = (10, 51);
const CONNECTION_BLOCKED: MethodId = (10, 60);
const CONNECTION_UNBLOCKED: MethodId = (10, 61);
const CHANNEL_OPEN: MethodId = (20, 10);
const CHANNEL_OPEN_OK: MethodId = (20, 11);
const CHANNEL_FLOW: MethodId = (20, 20);
const CHANNEL_FLOW_OK: MethodId = (20, 21);
const CHANNEL_CLOSE: MethodId = (20, 40);
const CHANNEL_CLOSE_OK: MethodId = (20, 41);
const EXCHANGE_DECLARE: MethodId = (40, 10);
const EXCHANGE_DECLARE_OK: MethodId = (40, 11);
const BASIC_PUBLISH: MethodId = (60, 40);
const BASIC_RETURN: MethodId = (60, 50);
const BASIC_ACK: MethodId = (60, 80);
const BASIC_NACK: MethodId = (60, 120);
const CONFIRM_SELECT: MethodId = (85, 10);
const CONFIRM_SELECT_OK: MethodId = (85, 11);

/// What went wrong with a connection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("connection closed by the server")]
    Closed,
    /// Connection.Close or Channel.Close from the server.
    #[error("{text} (the server closed the {scope}, reply code {code})")]
    ClosedByServer { scope: &'static str, code: u16, text: String },
    #[error("no heartbeat from the server in {0} seconds")]
    HeartbeatTimeout(u64),
    #[error("no answer from the server in {0} seconds")]
    TimedOut(u64),
    #[error("the server does not offer {wanted} authentication (it offers '{offered}')")]
    Mechanism { wanted: &'static str, offered: String },
    #[error("the message's properties take {size} bytes, more than the frame size of {frame_max} allows")]
    TooLarge { size: usize, frame_max: u32 },
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// How the client logs in.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    Plain {
        username: &'a str,
        password: &'a str,
    },
    /// The server takes the identity from the TLS client certificate; the response is empty.
    External,
}

/// What [`Client::open`] asks of the server.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub vhost: &'a str,
    pub auth: Auth<'a>,
    /// 0: no limit of ours.
    pub channel_max: u16,
    /// At least 4096 (smaller values are raised to it).
    pub frame_max: u32,
    /// Seconds; 0: no heartbeats.
    pub heartbeat: u16,
}

/// The server's confirmation of messages published after [`Client::confirm_select`]: of the
/// one with delivery tag `tag`, or with `multiple` of every one up to it; `ack` false: refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirm {
    pub tag: u64,
    pub multiple: bool,
    pub ack: bool,
}

/// A connection to an AMQP 0-9-1 server over `S`, publishing on channel 1.
pub struct Client<S> {
    stream: S,
    /// Frames to send; the first `sent` bytes are written already.
    out: Vec<u8>,
    sent: usize,
    /// Written, but the stream not flushed since.
    unflushed: bool,
    input: Input,
    frame_max: u32,
    /// The delivery tag of the next message published.
    next_tag: u64,
    heartbeat: Option<Heartbeat>,
    /// The server closed the channel or the connection: the error every call returns now.
    closed_by_server: Option<ServerClose>,
}

/// Connection.Close or Channel.Close as the server sent it.
#[derive(Debug, Clone)]
struct ServerClose {
    connection: bool,
    code: u16,
    text: String,
}

impl ServerClose {
    fn error(&self) -> Error {
        let scope = if self.connection { "connection" } else { "channel" };
        Error::ClosedByServer { scope, code: self.code, text: self.text.clone() }
    }
}

/// Heartbeats as negotiated: one goes out after `interval / 2` without writing, and a server
/// silent for two intervals is gone.
struct Heartbeat {
    interval: Duration,
    last_write: Instant,
    last_read: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Client<S> {
    fn new(stream: S, frame_max: u32) -> Client<S> {
        Client {
            stream,
            out: Vec::with_capacity(64 * 1024),
            sent: 0,
            unflushed: false,
            input: Input::new(),
            frame_max,
            next_tag: 1,
            heartbeat: None,
            closed_by_server: None,
        }
    }

    /// Logs in over `stream` and opens the connection to `login.vhost`: protocol header,
    /// Start/StartOk, Tune/TuneOk, Open/OpenOk. Not bounded in time: the caller bounds it.
    ///
    /// # Errors
    /// I/O errors, a server that refuses the login or the vhost (its reply text), a server that
    /// does not speak AMQP 0-9-1 or does not offer the mechanism asked for.
    pub async fn open(stream: S, login: &Login<'_>) -> Result<Client<S>, Error> {
        let ours = login.frame_max.max(FRAME_MIN_SIZE);
        let mut client = Client::new(stream, ours);
        client.out.extend_from_slice(PROTOCOL_HEADER);
        client.flush().await?;
        let mechanisms = match client.next_method().await? {
            (0, Incoming::Start { mechanisms }) => mechanisms,
            (_, other) => return Err(unexpected(CONNECTION_START, &other)),
        };
        let wanted = match login.auth {
            Auth::Plain { .. } => "PLAIN",
            Auth::External => "EXTERNAL",
        };
        if !mechanisms.split(|&b| b == b' ').any(|m| m == wanted.as_bytes()) {
            let offered = String::from_utf8_lossy(&mechanisms).into_owned();
            return Err(Error::Mechanism { wanted, offered });
        }
        client.method(0, CONNECTION_START_OK, |o| {
            let table = begin_table(o);
            put_string_field(o, b"product", b"rsng");
            put_string_field(o, b"version", env!("CARGO_PKG_VERSION").as_bytes());
            put_string_field(o, b"platform", b"Rust");
            // Without it, RabbitMQ closes the socket on a refused login instead of saying why.
            put_short(o, b"capabilities");
            o.push(b'F');
            let capabilities = begin_table(o);
            put_short(o, b"authentication_failure_close");
            o.extend_from_slice(&[b't', 1]);
            end_table(o, capabilities);
            end_table(o, table);
            put_short(o, wanted.as_bytes());
            match login.auth {
                Auth::Plain { username, password } => {
                    put_u32(o, (2 + username.len() + password.len()) as u32);
                    o.push(0);
                    o.extend_from_slice(username.as_bytes());
                    o.push(0);
                    o.extend_from_slice(password.as_bytes());
                }
                Auth::External => put_u32(o, 0),
            }
            put_short(o, b"en_US");
        });
        client.flush().await?;
        let (channel_max, frame_max, heartbeat) = match client.next_method().await? {
            (0, Incoming::Tune { channel_max, frame_max, heartbeat }) => (channel_max, frame_max, heartbeat),
            (_, other) => return Err(unexpected(CONNECTION_TUNE, &other)),
        };
        let channel_max = negotiate(u32::from(login.channel_max), u32::from(channel_max)) as u16;
        let frame_max = negotiate(ours, frame_max);
        if frame_max < FRAME_MIN_SIZE {
            return Err(Error::Protocol(format!("the server's frame size {frame_max} is below the minimum of 4096")));
        }
        let heartbeat = match (login.heartbeat, heartbeat) {
            (0, _) => 0,
            (ours, 0) => ours,
            (ours, theirs) => ours.min(theirs),
        };
        client.method(0, CONNECTION_TUNE_OK, |o| {
            put_u16(o, channel_max);
            put_u32(o, frame_max);
            put_u16(o, heartbeat);
        });
        client.frame_max = frame_max;
        if heartbeat > 0 {
            client.heartbeat = Some(Heartbeat::new(Duration::from_secs(u64::from(heartbeat))));
        }
        client.method(0, CONNECTION_OPEN, |o| {
            put_short(o, login.vhost.as_bytes());
            put_short(o, b"");
            o.push(0);
        });
        client.call(0, CONNECTION_OPEN_OK).await?;
        Ok(client)
    }

    /// Opens channel 1.
    ///
    /// # Errors
    /// As [`Client::next_event`]; a Channel.Close is the server's refusal.
    pub async fn open_channel(&mut self) -> Result<(), Error> {
        self.method(CHANNEL, CHANNEL_OPEN, |o| put_short(o, b""));
        self.call(CHANNEL, CHANNEL_OPEN_OK).await
    }

    /// Declares `exchange` of type `kind`: not passive, not durable, not auto-deleted, not
    /// internal, without arguments.
    ///
    /// # Errors
    /// As [`Client::open_channel`].
    pub async fn declare_exchange(&mut self, exchange: &str, kind: &str) -> Result<(), Error> {
        self.method(CHANNEL, EXCHANGE_DECLARE, |o| {
            put_u16(o, 0);
            put_short(o, exchange.as_bytes());
            put_short(o, kind.as_bytes());
            o.push(0);
            put_u32(o, 0);
        });
        self.call(CHANNEL, EXCHANGE_DECLARE_OK).await
    }

    /// Asks the server to confirm each message published from now on; delivery tags start at 1.
    ///
    /// # Errors
    /// As [`Client::open_channel`].
    pub async fn confirm_select(&mut self) -> Result<(), Error> {
        self.method(CHANNEL, CONFIRM_SELECT, |o| o.push(0));
        self.call(CHANNEL, CONFIRM_SELECT_OK).await?;
        self.next_tag = 1;
        Ok(())
    }

    /// Appends one message to the output: Basic.Publish to `exchange` with `routing_key`
    /// (neither mandatory nor immediate), content type `text/plain`, `headers` as a table of
    /// long strings, `delivery_mode`, and `body` in frames of the negotiated size. Nothing is
    /// written yet ([`Client::next_event`] or [`Client::flush`] write it). Returns the
    /// message's delivery tag.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the properties do not fit in one frame; nothing is appended then.
    pub fn publish<'h>(
        &mut self,
        exchange: &[u8],
        routing_key: &[u8],
        body: &[u8],
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
        delivery_mode: u8,
    ) -> Result<u64, Error> {
        let start = self.out.len();
        self.method(CHANNEL, BASIC_PUBLISH, |o| {
            put_u16(o, 0);
            put_short(o, exchange);
            put_short(o, routing_key);
            o.push(0);
        });
        let max_payload = self.frame_max as usize - FRAME_OVERHEAD;
        let o = &mut self.out;
        let frame = begin_frame(o, FRAME_HEADER, CHANNEL);
        put_u16(o, BASIC_PUBLISH.0);
        put_u16(o, 0);
        put_u64(o, body.len() as u64);
        put_u16(o, PROPERTY_FLAGS);
        put_short(o, CONTENT_TYPE);
        let table = begin_table(o);
        for (name, value) in headers {
            put_string_field(o, name, value);
        }
        end_table(o, table);
        o.push(delivery_mode);
        let size = end_frame(o, frame);
        if size > max_payload {
            o.truncate(start);
            return Err(Error::TooLarge { size, frame_max: self.frame_max });
        }
        for chunk in body.chunks(max_payload) {
            let frame = begin_frame(o, FRAME_BODY, CHANNEL);
            o.extend_from_slice(chunk);
            end_frame(o, frame);
        }
        let tag = self.next_tag;
        self.next_tag += 1;
        Ok(tag)
    }

    /// Writes the output buffer out. Cancel-safe: what a cancelled call did not write is written
    /// by the next one.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_write(cx)).await
    }

    /// Writes what is buffered, sends heartbeats, and waits for the server's next confirmation.
    /// Basic.Return and heartbeats are taken and ignored. Cancel-safe: a cancelled call loses
    /// nothing, so a worker may `select!` on it while it waits for messages, which keeps an idle
    /// connection's heartbeats going.
    ///
    /// # Errors
    /// I/O errors, EOF, a server silent for two heartbeat intervals, Connection.Close or
    /// Channel.Close from the server (answered with CloseOk), a method that has no place here,
    /// a confirmation of a delivery tag not published.
    pub async fn next_event(&mut self) -> Result<Confirm, Error> {
        loop {
            let (tag, multiple, ack) = match self.next_method().await? {
                (CHANNEL, Incoming::Ack { tag, multiple }) => (tag, multiple, true),
                (CHANNEL, Incoming::Nack { tag, multiple }) => (tag, multiple, false),
                (_, Incoming::Other(BASIC_RETURN | CONNECTION_BLOCKED | CONNECTION_UNBLOCKED)) => continue,
                (channel, other) => {
                    return Err(Error::Protocol(format!("unexpected {} on channel {channel}", other.name())))
                }
            };
            let published = self.next_tag - 1;
            // Tag 0 with `multiple`: every message published so far.
            let tag = if tag == 0 && multiple { published } else { tag };
            if tag == 0 || tag > published {
                return Err(Error::Protocol(format!("confirmation of delivery tag {tag}, which was not published")));
            }
            return Ok(Confirm { tag, multiple, ack });
        }
    }

    /// Closes the connection (Connection.Close, reply 200) and waits briefly for CloseOk. Errors
    /// are ignored. What is buffered and not written yet is not sent.
    pub async fn close(mut self) {
        match &self.closed_by_server {
            Some(close) if close.connection => return,
            // The connection outlives a closed channel: it is closed as usual.
            Some(_) => self.closed_by_server = None,
            None => {}
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            // A frame begun must be finished; without one, what waits is dropped.
            if self.sent == 0 {
                self.out.clear();
            }
            self.method(0, CONNECTION_CLOSE, |o| {
                put_u16(o, 200);
                put_short(o, b"");
                put_u16(o, 0);
                put_u16(o, 0);
            });
            self.flush().await?;
            while !matches!(self.next_method().await?, (0, Incoming::Other(CONNECTION_CLOSE_OK))) {}
            self.stream.shutdown().await?;
            Ok::<(), Error>(())
        })
        .await;
    }

    /// Sends the buffered requests and waits for the reply `id` on `channel`.
    async fn call(&mut self, channel: u16, id: MethodId) -> Result<(), Error> {
        self.flush().await?;
        match self.next_method().await? {
            (c, Incoming::Other(reply)) if c == channel && reply == id => Ok(()),
            (_, other) => Err(unexpected(id, &other)),
        }
    }

    /// The next method from the server, writing the output meanwhile. Heartbeats and content
    /// frames are skipped, Channel.Flow is answered, Connection.Close and Channel.Close are
    /// answered and become the error of this and every later call.
    async fn next_method(&mut self) -> Result<(u16, Incoming), Error> {
        loop {
            if let Some(close) = &self.closed_by_server {
                let error = close.error();
                let _ = tokio::time::timeout(CLOSE_WAIT, self.flush()).await;
                return Err(error);
            }
            let Some(frame) = self.take_frame()? else {
                poll_fn(|cx| self.poll_io(cx)).await?;
                continue;
            };
            let (channel, method) = match frame {
                Frame::Heartbeat | Frame::Content => continue,
                Frame::Method(channel, method) => (channel, method),
            };
            match method {
                Incoming::Close { code, text } => {
                    self.method(0, CONNECTION_CLOSE_OK, |_| {});
                    self.closed_by_server = Some(ServerClose { connection: true, code, text });
                }
                Incoming::ChannelClose { code, text } => {
                    self.method(channel, CHANNEL_CLOSE_OK, |_| {});
                    self.closed_by_server = Some(ServerClose { connection: false, code, text });
                }
                Incoming::Flow { active } => self.method(channel, CHANNEL_FLOW_OK, |o| o.push(u8::from(active))),
                method => return Ok((channel, method)),
            }
        }
    }

    /// Appends a method frame on `channel` whose arguments `args` writes.
    fn method(&mut self, channel: u16, id: MethodId, args: impl FnOnce(&mut Vec<u8>)) {
        let frame = begin_frame(&mut self.out, FRAME_METHOD, channel);
        put_u16(&mut self.out, id.0);
        put_u16(&mut self.out, id.1);
        args(&mut self.out);
        end_frame(&mut self.out, frame);
    }

    /// The next complete frame in the input, consumed.
    fn take_frame(&mut self) -> Result<Option<Frame>, Error> {
        let data = self.input.data();
        if data.starts_with(b"AMQP") {
            return Err(Error::Protocol("the server does not speak AMQP 0-9-1".to_string()));
        }
        let mut r = Reader(data);
        let (Some(kind), Some(channel), Some(size)) = (r.u8(), r.u16(), r.u32()) else {
            return Ok(None);
        };
        let max_payload = self.frame_max as usize - FRAME_OVERHEAD;
        let size = size as usize;
        if size > max_payload {
            return Err(Error::Protocol(format!(
                "a frame of {size} bytes, more than the frame size of {} allows",
                self.frame_max
            )));
        }
        let (Some(payload), Some(end)) = (r.bytes(size), r.u8()) else {
            return Ok(None);
        };
        if end != FRAME_END {
            return Err(Error::Protocol(format!("a frame that ends with {end:#04x} instead of 0xce")));
        }
        let frame = match kind {
            FRAME_METHOD => Frame::Method(channel, decode_method(payload)?),
            FRAME_HEADER | FRAME_BODY => Frame::Content,
            FRAME_HEARTBEAT => Frame::Heartbeat,
            other => return Err(Error::Protocol(format!("a frame of unknown type {other}"))),
        };
        self.input.consume(size + FRAME_OVERHEAD);
        Ok(Some(frame))
    }

    /// Sends due heartbeats, writes what it can, and reads: ready once something was read.
    fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_heartbeat(cx)?;
        if let Poll::Ready(Err(e)) = self.poll_write(cx) {
            return Poll::Ready(Err(e));
        }
        let n = ready!(self.input.poll_read(&mut self.stream, cx))?;
        if n == 0 {
            return Poll::Ready(Err(Error::Closed));
        }
        if let Some(hb) = &mut self.heartbeat {
            hb.last_read = Instant::now();
        }
        Poll::Ready(Ok(()))
    }

    /// Writes the output buffer until it is all written (ready) or the stream is full (pending).
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.sent < self.out.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.out[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
            }
            self.sent += n;
            self.unflushed = true;
            if let Some(hb) = &mut self.heartbeat {
                hb.last_write = Instant::now();
            }
        }
        self.out.clear();
        self.sent = 0;
        if self.unflushed {
            ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// With heartbeats: queues one when nothing was written for half the interval, fails after
    /// two intervals of silence from the server, and arms the timer for what is due next.
    fn poll_heartbeat(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        let Some(hb) = &mut self.heartbeat else { return Ok(()) };
        let now = Instant::now();
        let silent_until = hb.last_read + hb.interval * 2;
        if now >= silent_until {
            return Err(Error::HeartbeatTimeout(hb.interval.as_secs() * 2));
        }
        let mut writing = self.sent < self.out.len();
        let send_at = hb.last_write + hb.interval / 2;
        if !writing && now >= send_at {
            self.out.extend_from_slice(&HEARTBEAT);
            writing = true;
        }
        // The timer is only moved once it has fired, so it must never be later than what is
        // due: the deadlines move later as bytes come and go, and while writing the next
        // heartbeat is due half an interval after the write ends at the earliest.
        let send_at = if writing { now + hb.interval / 2 } else { send_at };
        let next = silent_until.min(send_at);
        if hb.timer.deadline() <= now {
            hb.timer.as_mut().reset(next);
        }
        let _ = hb.timer.as_mut().poll(cx);
        Ok(())
    }
}

impl Heartbeat {
    fn new(interval: Duration) -> Heartbeat {
        let now = Instant::now();
        Heartbeat {
            interval,
            last_write: now,
            last_read: now,
            timer: Box::pin(tokio::time::sleep_until(now + interval / 2)),
        }
    }
}

/// The smaller of two limits where 0 is none.
fn negotiate(ours: u32, theirs: u32) -> u32 {
    match (ours, theirs) {
        (0, n) | (n, 0) => n,
        (a, b) => a.min(b),
    }
}

fn unexpected(wanted: MethodId, got: &Incoming) -> Error {
    Error::Protocol(format!("expected {}, got {}", method_name(wanted), got.name()))
}

/// Received bytes not consumed yet: `buf[start..end]`.
struct Input {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Input {
    fn new() -> Input {
        Input { buf: vec![0; 16 * 1024], start: 0, end: 0 }
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads what the stream has into the free space, making room first (a frame larger than
    /// the buffer grows it; frames are bounded by the frame size).
    fn poll_read<S: AsyncRead + Unpin>(&mut self, stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let mut read = ReadBuf::new(&mut self.buf[self.end..]);
        ready!(Pin::new(stream).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        self.end += n;
        Poll::Ready(Ok(n))
    }
}

/// A frame from the server, as far as a publisher cares.
#[derive(Debug, PartialEq)]
enum Frame {
    Method(u16, Incoming),
    Heartbeat,
    /// A content header or body: only a Basic.Return has content for a publisher, and it is
    /// ignored.
    Content,
}

/// A method from the server with the arguments the client uses.
#[derive(Debug, PartialEq)]
enum Incoming {
    Start {
        mechanisms: Vec<u8>,
    },
    Tune {
        channel_max: u16,
        frame_max: u32,
        heartbeat: u16,
    },
    Close {
        code: u16,
        text: String,
    },
    ChannelClose {
        code: u16,
        text: String,
    },
    Flow {
        active: bool,
    },
    Ack {
        tag: u64,
        multiple: bool,
    },
    Nack {
        tag: u64,
        multiple: bool,
    },
    /// A method whose arguments do not matter (the `...Ok` replies, Basic.Return, ...).
    Other(MethodId),
}

impl Incoming {
    fn name(&self) -> Cow<'static, str> {
        method_name(match self {
            Incoming::Start { .. } => CONNECTION_START,
            Incoming::Tune { .. } => CONNECTION_TUNE,
            Incoming::Close { .. } => CONNECTION_CLOSE,
            Incoming::ChannelClose { .. } => CHANNEL_CLOSE,
            Incoming::Flow { .. } => CHANNEL_FLOW,
            Incoming::Ack { .. } => BASIC_ACK,
            Incoming::Nack { .. } => BASIC_NACK,
            Incoming::Other(id) => *id,
        })
    }
}

fn method_name(id: MethodId) -> Cow<'static, str> {
    let name = match id {
        CONNECTION_START => "Connection.Start",
        CONNECTION_TUNE => "Connection.Tune",
        CONNECTION_OPEN_OK => "Connection.OpenOk",
        CONNECTION_CLOSE => "Connection.Close",
        CONNECTION_CLOSE_OK => "Connection.CloseOk",
        CHANNEL_OPEN_OK => "Channel.OpenOk",
        CHANNEL_FLOW => "Channel.Flow",
        CHANNEL_CLOSE => "Channel.Close",
        EXCHANGE_DECLARE_OK => "Exchange.DeclareOk",
        BASIC_ACK => "Basic.Ack",
        BASIC_NACK => "Basic.Nack",
        CONFIRM_SELECT_OK => "Confirm.SelectOk",
        (class, method) => return Cow::Owned(format!("method {class}.{method}")),
    };
    Cow::Borrowed(name)
}

fn decode_method(payload: &[u8]) -> Result<Incoming, Error> {
    let mut r = Reader(payload);
    let (Some(class), Some(method)) = (r.u16(), r.u16()) else {
        return Err(Error::Protocol("a method frame too short for its class and method".to_string()));
    };
    let id = (class, method);
    decode_arguments(id, &mut r).ok_or_else(|| Error::Protocol(format!("{} with arguments cut short", method_name(id))))
}

/// The arguments of method `id` that the client uses; `None` when they are cut short.
fn decode_arguments(id: MethodId, r: &mut Reader<'_>) -> Option<Incoming> {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Some(match id {
        CONNECTION_START => {
            let _version = (r.u8()?, r.u8()?);
            let _server_properties = r.long()?;
            let mechanisms = r.long()?.to_vec();
            let _locales = r.long()?;
            Incoming::Start { mechanisms }
        }
        CONNECTION_TUNE => Incoming::Tune { channel_max: r.u16()?, frame_max: r.u32()?, heartbeat: r.u16()? },
        CONNECTION_CLOSE | CHANNEL_CLOSE => {
            let code = r.u16()?;
            let text = text(r.short()?);
            let _cause = (r.u16()?, r.u16()?);
            if id == CONNECTION_CLOSE {
                Incoming::Close { code, text }
            } else {
                Incoming::ChannelClose { code, text }
            }
        }
        CHANNEL_FLOW => Incoming::Flow { active: r.u8()? & 1 != 0 },
        BASIC_ACK => Incoming::Ack { tag: r.u64()?, multiple: r.u8()? & 1 != 0 },
        BASIC_NACK => Incoming::Nack { tag: r.u64()?, multiple: r.u8()? & 1 != 0 },
        other => Incoming::Other(other),
    })
}

/// Reads big-endian fields off the front of a slice; `None` when it is too short.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.array().map(u8::from_be_bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }

    fn short(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }

    /// A long string, or a field table taken whole.
    fn long(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.bytes(usize::try_from(n).ok()?)
    }
}

/// Starts a frame: returns where its size goes, for [`end_frame`].
fn begin_frame(o: &mut Vec<u8>, kind: u8, channel: u16) -> usize {
    o.push(kind);
    put_u16(o, channel);
    let at = o.len();
    put_u32(o, 0);
    at
}

/// Ends the frame [`begin_frame`] started at `at`: its size and end marker. Returns the size.
fn end_frame(o: &mut Vec<u8>, at: usize) -> usize {
    let size = o.len() - at - 4;
    o[at..at + 4].copy_from_slice(&(size as u32).to_be_bytes());
    o.push(FRAME_END);
    size
}

/// Starts a field table: returns where its size goes, for [`end_table`].
fn begin_table(o: &mut Vec<u8>) -> usize {
    let at = o.len();
    put_u32(o, 0);
    at
}

fn end_table(o: &mut [u8], at: usize) {
    let size = (o.len() - at - 4) as u32;
    o[at..at + 4].copy_from_slice(&size.to_be_bytes());
}

/// A table entry whose value is a long string (`S`).
fn put_string_field(o: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    put_short(o, name);
    o.push(b'S');
    put_u32(o, value.len() as u32);
    o.extend_from_slice(value);
}

fn put_u16(o: &mut Vec<u8>, v: u16) {
    o.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_be_bytes());
}

fn put_u64(o: &mut Vec<u8>, v: u64) {
    o.extend_from_slice(&v.to_be_bytes());
}

/// A short string, cut to 255 bytes.
fn put_short(o: &mut Vec<u8>, s: &[u8]) {
    let s = short(s);
    o.push(s.len() as u8);
    o.extend_from_slice(s);
}

/// `s` cut to the 255 bytes a short string holds, without splitting a UTF-8 character.
fn short(s: &[u8]) -> &[u8] {
    if s.len() <= SHORT_MAX {
        return s;
    }
    let mut end = SHORT_MAX;
    // Continuation bytes are 0b10xxxxxx; a character has at most three of them.
    while end > SHORT_MAX - 3 && s.get(end).is_some_and(|&b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, DuplexStream};

    fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![kind];
        f.extend_from_slice(&channel.to_be_bytes());
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f.push(FRAME_END);
        f
    }

    fn method_frame(channel: u16, id: MethodId, args: &[u8]) -> Vec<u8> {
        let mut payload = Vec::new();
        payload.extend_from_slice(&id.0.to_be_bytes());
        payload.extend_from_slice(&id.1.to_be_bytes());
        payload.extend_from_slice(args);
        frame(FRAME_METHOD, channel, &payload)
    }

    fn start_args(mechanisms: &[u8]) -> Vec<u8> {
        let mut a = vec![0, 9];
        let properties = b"\x07productS\x00\x00\x00\x08RabbitMQ";
        a.extend_from_slice(&(properties.len() as u32).to_be_bytes());
        a.extend_from_slice(properties);
        a.extend_from_slice(&(mechanisms.len() as u32).to_be_bytes());
        a.extend_from_slice(mechanisms);
        a.extend_from_slice(b"\x00\x00\x00\x05en_US");
        a
    }

    fn close_args(code: u16, text: &[u8]) -> Vec<u8> {
        let mut a = code.to_be_bytes().to_vec();
        a.push(text.len() as u8);
        a.extend_from_slice(text);
        a.extend_from_slice(&[0, 0, 0, 0]);
        a
    }

    /// A client over one end of a duplex pipe, with `input` already received.
    fn client_with_input(input: &[u8]) -> Client<DuplexStream> {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut client = Client::new(ours, 131_072);
        client.input.buf[..input.len()].copy_from_slice(input);
        client.input.end = input.len();
        client
    }

    #[test]
    fn a_frame_round_trip() {
        let mut out = Vec::new();
        let at = begin_frame(&mut out, FRAME_METHOD, CHANNEL);
        put_u16(&mut out, BASIC_ACK.0);
        put_u16(&mut out, BASIC_ACK.1);
        put_u64(&mut out, 42);
        out.push(1);
        end_frame(&mut out, at);
        assert_eq!(out, method_frame(1, BASIC_ACK, &[0, 0, 0, 0, 0, 0, 0, 42, 1]));
        out.extend_from_slice(&HEARTBEAT);
        let mut client = client_with_input(&out);
        assert_eq!(client.take_frame().unwrap(), Some(Frame::Method(1, Incoming::Ack { tag: 42, multiple: true })));
        assert_eq!(client.take_frame().unwrap(), Some(Frame::Heartbeat));
        assert_eq!(client.take_frame().unwrap(), None);
    }

    #[test]
    fn a_frame_in_pieces_waits_for_the_rest() {
        let whole = method_frame(0, CONNECTION_TUNE, &[0, 0, 0, 2, 0, 0, 0, 60]);
        let mut client = client_with_input(&whole[..5]);
        assert_eq!(client.take_frame().unwrap(), None);
        let mut client = client_with_input(&whole[..whole.len() - 1]);
        assert_eq!(client.take_frame().unwrap(), None);
        let mut client = client_with_input(&whole);
        let tune = Incoming::Tune { channel_max: 0, frame_max: 0x0002_0000, heartbeat: 60 };
        assert_eq!(client.take_frame().unwrap(), Some(Frame::Method(0, tune)));
    }

    #[test]
    fn the_bytes_of_a_publish() {
        let mut client = client_with_input(b"");
        let headers = [(&b"a"[..], &b"b"[..])];
        let tag = client.publish(b"ex", b"rk", b"hi", headers, 2).unwrap();
        assert_eq!(tag, 1);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            // Basic.Publish: ticket, exchange, routing key, no flags.
            1, 0, 1, 0, 0, 0, 13, 0, 60, 0, 40, 0, 0, 2, b'e', b'x', 2, b'r', b'k', 0, 0xCE,
            // Content header: class, weight, body size, flags, content type, headers, delivery mode.
            2, 0, 1, 0, 0, 0, 38, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xB0, 0x00,
            10, b't', b'e', b'x', b't', b'/', b'p', b'l', b'a', b'i', b'n',
            0, 0, 0, 8, 1, b'a', b'S', 0, 0, 0, 1, b'b',
            2, 0xCE,
            // Body.
            3, 0, 1, 0, 0, 0, 2, b'h', b'i', 0xCE,
        ];
        assert_eq!(client.out, expected);
        assert_eq!(client.publish(b"ex", b"rk", b"", [], 1).unwrap(), 2);
    }

    #[test]
    fn a_body_is_split_at_the_frame_size() {
        let mut client = client_with_input(b"");
        client.frame_max = 4096;
        let body = vec![b'x'; 5000];
        client.publish(b"", b"", &body, [], 1).unwrap();
        let mut input = client_with_input(b"");
        input.input.buf = client.out.clone();
        input.input.end = client.out.len();
        input.frame_max = 4096;
        let mut kinds = Vec::new();
        while input.input.data().len() > 7 {
            let size = u32::from_be_bytes(input.input.data()[3..7].try_into().unwrap()) as usize;
            kinds.push((input.input.data()[0], size));
            input.take_frame().unwrap();
        }
        assert_eq!(kinds[2..], [(FRAME_BODY, 4088), (FRAME_BODY, 912)]);
    }

    #[test]
    fn long_short_strings_are_cut() {
        let mut client = client_with_input(b"");
        let key = "é".repeat(200);
        client.publish(b"", key.as_bytes(), b"", [], 1).unwrap();
        // Frame header, class and method, ticket, empty exchange: then the routing key.
        let length = client.out[7 + 4 + 2 + 1];
        assert_eq!(length, 254);
        assert!(std::str::from_utf8(&client.out[15..15 + 254]).is_ok());
        assert_eq!(short(&[b'a'; 300]).len(), 255);
    }

    #[test]
    fn properties_larger_than_a_frame_are_refused() {
        let mut client = client_with_input(b"");
        client.frame_max = 4096;
        let value = vec![b'v'; 5000];
        let e = client.publish(b"", b"", b"", [(&b"big"[..], &value[..])], 1).unwrap_err();
        assert!(matches!(e, Error::TooLarge { frame_max: 4096, .. }), "{e}");
        assert!(client.out.is_empty());
        assert_eq!(client.publish(b"", b"", b"", [], 1).unwrap(), 1);
    }

    #[test]
    fn a_start_frame() {
        let start = method_frame(0, CONNECTION_START, &start_args(b"AMQPLAIN PLAIN"));
        let mut client = client_with_input(&start);
        let expected = Incoming::Start { mechanisms: b"AMQPLAIN PLAIN".to_vec() };
        assert_eq!(client.take_frame().unwrap(), Some(Frame::Method(0, expected)));
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut bad_end = method_frame(0, CONNECTION_TUNE, &[0, 0, 0, 2, 0, 0, 0, 60]);
        *bad_end.last_mut().unwrap() = 0;
        let too_big = [1, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF];
        let unknown = frame(9, 0, b"");
        // A Start whose table claims more than the frame holds.
        let mut args = start_args(b"PLAIN");
        args[2..6].copy_from_slice(&1000u32.to_be_bytes());
        let cut = method_frame(0, CONNECTION_START, &args);
        let short_method = frame(FRAME_METHOD, 0, &[0, 10]);
        let short_ack = method_frame(1, BASIC_ACK, &[0, 0, 1]);
        for input in [&bad_end[..], &too_big, &unknown, &cut, &short_method, &short_ack, b"AMQP\x00\x00\x09\x01"] {
            let mut client = client_with_input(input);
            assert!(matches!(client.take_frame(), Err(Error::Protocol(_))), "{input:?}");
        }
    }

    /// Reads one frame from the client's side of the pipe.
    async fn read_frame(s: &mut DuplexStream) -> (u8, u16, Vec<u8>) {
        let mut head = [0u8; 7];
        s.read_exact(&mut head).await.unwrap();
        let size = u32::from_be_bytes(head[3..7].try_into().unwrap()) as usize;
        let mut payload = vec![0; size + 1];
        s.read_exact(&mut payload).await.unwrap();
        assert_eq!(payload.pop(), Some(FRAME_END));
        (head[0], u16::from_be_bytes([head[1], head[2]]), payload)
    }

    async fn read_method(s: &mut DuplexStream) -> (u16, MethodId, Vec<u8>) {
        let (kind, channel, payload) = read_frame(s).await;
        assert_eq!(kind, FRAME_METHOD);
        let id = (u16::from_be_bytes([payload[0], payload[1]]), u16::from_be_bytes([payload[2], payload[3]]));
        (channel, id, payload[4..].to_vec())
    }

    const LOGIN: Login<'static> = Login {
        vhost: "/",
        auth: Auth::Plain { username: "guest", password: "secret" },
        channel_max: 2047,
        frame_max: 131_072,
        heartbeat: 0,
    };

    /// The server's side of the handshake up to OpenOk.
    async fn serve_login(s: &mut DuplexStream) {
        let mut header = [0u8; 8];
        s.read_exact(&mut header).await.unwrap();
        assert_eq!(&header, PROTOCOL_HEADER);
        s.write_all(&method_frame(0, CONNECTION_START, &start_args(b"PLAIN AMQPLAIN"))).await.unwrap();
        let (_, id, args) = read_method(s).await;
        assert_eq!(id, CONNECTION_START_OK);
        let tail = b"\x05PLAIN\x00\x00\x00\x0d\x00guest\x00secret\x05en_US";
        assert!(args.ends_with(tail), "{args:?}");
        // channel-max none, frame-max 1 MiB, heartbeat 60 s.
        s.write_all(&method_frame(0, CONNECTION_TUNE, &[0, 0, 0, 0x10, 0, 0, 0, 60])).await.unwrap();
        let (_, id, args) = read_method(s).await;
        assert_eq!((id, args), (CONNECTION_TUNE_OK, vec![0x07, 0xFF, 0, 2, 0, 0, 0, 0]));
        let (_, id, args) = read_method(s).await;
        assert_eq!((id, args), (CONNECTION_OPEN, b"\x01/\x00\x00".to_vec()));
        s.write_all(&method_frame(0, CONNECTION_OPEN_OK, b"\x00")).await.unwrap();
    }

    #[tokio::test]
    async fn handshake_publish_and_confirms_with_a_scripted_server() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let s = &mut theirs;
            serve_login(s).await;
            let (channel, id, _) = read_method(s).await;
            assert_eq!((channel, id), (1, CHANNEL_OPEN));
            s.write_all(&method_frame(1, CHANNEL_OPEN_OK, b"\x00\x00\x00\x00")).await.unwrap();
            let (_, id, args) = read_method(s).await;
            assert_eq!((id, args), (EXCHANGE_DECLARE, b"\x00\x00\x04logs\x05topic\x00\x00\x00\x00\x00".to_vec()));
            s.write_all(&method_frame(1, EXCHANGE_DECLARE_OK, b"")).await.unwrap();
            let (_, id, _) = read_method(s).await;
            assert_eq!(id, CONFIRM_SELECT);
            s.write_all(&method_frame(1, CONFIRM_SELECT_OK, b"")).await.unwrap();
            for _ in 0..3 {
                let (_, id, _) = read_method(s).await;
                assert_eq!(id, BASIC_PUBLISH);
                assert_eq!(read_frame(s).await.0, FRAME_HEADER);
                assert_eq!(read_frame(s).await.0, FRAME_BODY);
            }
            s.write_all(&HEARTBEAT).await.unwrap();
            s.write_all(&method_frame(1, BASIC_ACK, &[0, 0, 0, 0, 0, 0, 0, 2, 1])).await.unwrap();
            s.write_all(&method_frame(1, BASIC_NACK, &[0, 0, 0, 0, 0, 0, 0, 3, 0])).await.unwrap();
            s.write_all(&method_frame(1, BASIC_ACK, &[0, 0, 0, 0, 0, 0, 0, 9, 0])).await.unwrap();
            let (_, id, _) = read_method(s).await;
            assert_eq!(id, CONNECTION_CLOSE);
            s.write_all(&method_frame(0, CONNECTION_CLOSE_OK, b"")).await.unwrap();
        });
        let mut client = Client::open(ours, &LOGIN).await.unwrap();
        client.open_channel().await.unwrap();
        client.declare_exchange("logs", "topic").await.unwrap();
        client.confirm_select().await.unwrap();
        for n in 1..=3 {
            assert_eq!(client.publish(b"logs", b"k", b"body", [], 2).unwrap(), n);
        }
        assert_eq!(client.next_event().await.unwrap(), Confirm { tag: 2, multiple: true, ack: true });
        assert_eq!(client.next_event().await.unwrap(), Confirm { tag: 3, multiple: false, ack: false });
        assert!(matches!(client.next_event().await, Err(Error::Protocol(_))));
        client.close().await;
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_login_carries_the_servers_reply() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let s = &mut theirs;
            let mut header = [0u8; 8];
            s.read_exact(&mut header).await.unwrap();
            s.write_all(&method_frame(0, CONNECTION_START, &start_args(b"PLAIN"))).await.unwrap();
            read_method(s).await;
            let text = b"ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN";
            s.write_all(&method_frame(0, CONNECTION_CLOSE, &close_args(403, text))).await.unwrap();
            let (_, id, _) = read_method(s).await;
            assert_eq!(id, CONNECTION_CLOSE_OK);
        });
        let e = Client::open(ours, &LOGIN).await.err().unwrap();
        assert!(e.to_string().starts_with("ACCESS_REFUSED - Login was refused"), "{e}");
        assert!(e.to_string().contains("403"), "{e}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_channel_close_is_answered_and_is_an_error() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let s = &mut theirs;
            serve_login(s).await;
            read_method(s).await;
            s.write_all(&method_frame(1, CHANNEL_OPEN_OK, b"\x00\x00\x00\x00")).await.unwrap();
            read_method(s).await;
            let text = b"NOT_FOUND - no exchange 'x' in vhost '/'";
            s.write_all(&method_frame(1, CHANNEL_CLOSE, &close_args(404, text))).await.unwrap();
            let (channel, id, _) = read_method(s).await;
            assert_eq!((channel, id), (1, CHANNEL_CLOSE_OK));
            // The connection is still open, and closed as usual.
            let (channel, id, _) = read_method(s).await;
            assert_eq!((channel, id), (0, CONNECTION_CLOSE));
            s.write_all(&method_frame(0, CONNECTION_CLOSE_OK, b"")).await.unwrap();
        });
        let mut client = Client::open(ours, &LOGIN).await.unwrap();
        client.open_channel().await.unwrap();
        let e = client.declare_exchange("x", "fanout").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "NOT_FOUND - no exchange 'x' in vhost '/' (the server closed the channel, reply code 404)"
        );
        client.close().await;
        server.await.unwrap();
    }

    #[tokio::test]
    async fn heartbeats_go_out_when_idle_and_a_silent_server_is_gone() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let s = &mut theirs;
            let mut header = [0u8; 8];
            s.read_exact(&mut header).await.unwrap();
            s.write_all(&method_frame(0, CONNECTION_START, &start_args(b"PLAIN"))).await.unwrap();
            read_method(s).await;
            // Heartbeats every second.
            s.write_all(&method_frame(0, CONNECTION_TUNE, &[0, 0, 0, 0x10, 0, 0, 0, 1])).await.unwrap();
            read_method(s).await;
            read_method(s).await;
            s.write_all(&method_frame(0, CONNECTION_OPEN_OK, b"\x00")).await.unwrap();
            // Silent from here: the client's heartbeats arrive every half second.
            let before = Instant::now();
            assert_eq!(read_frame(s).await.0, FRAME_HEARTBEAT);
            assert_eq!(read_frame(s).await.0, FRAME_HEARTBEAT);
            let elapsed = before.elapsed();
            assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(1500), "{elapsed:?}");
            theirs
        });
        let login = Login { heartbeat: 30, ..LOGIN };
        let mut client = Client::open(ours, &login).await.unwrap();
        let started = Instant::now();
        let e = client.next_event().await.unwrap_err();
        assert!(matches!(e, Error::HeartbeatTimeout(2)), "{e}");
        assert!(started.elapsed() >= Duration::from_millis(1900), "{:?}", started.elapsed());
        let _keep_open = tokio::time::timeout(Duration::from_secs(5), server).await.expect("two heartbeats").unwrap();
    }
}
