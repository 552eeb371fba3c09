//! The workers of an `http()` destination: each takes batches from the destination queue, sends
//! them as requests, and decides by the response code what becomes of them, as syslog-ng's
//! threaded destination and its `http` module do.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use rsng_core::message::Builtin;
use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_transport::tls::TlsContext;
use tokio::io::{AsyncRead, AsyncWrite};

use super::options::{Action, Method, Settings, Target};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::threaded;
use crate::{Destination, DestinationContext, Task};

/// Messages a worker takes from an in-memory queue at once without batching (each still goes
/// in a request of its own).
const CHUNK: usize = 64;

/// What is shared by the workers of one driver.
pub struct Shared {
    settings: Settings,
    body: Option<Arc<Template>>,
    format: FormatOptions,
    tls: Option<TlsContext>,
    /// `d_http#0`, as syslog-ng's messages name the driver.
    driver: String,
    location: String,
    balancer: Mutex<Balancer>,
}

impl Shared {
    pub fn new(
        settings: Settings,
        body: Option<Arc<Template>>,
        format: FormatOptions,
        tls: Option<TlsContext>,
        driver: String,
        location: String,
    ) -> Arc<Shared> {
        let balancer = Mutex::new(Balancer::new(settings.targets.len(), settings.time_reopen));
        Arc::new(Shared { settings, body, format, tls, driver, location, balancer })
    }

    fn balancer(&self) -> std::sync::MutexGuard<'_, Balancer> {
        self.balancer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct HttpDestination {
    shared: Arc<Shared>,
}

impl HttpDestination {
    pub fn new(shared: Arc<Shared>) -> HttpDestination {
        HttpDestination { shared }
    }
}

impl Destination for HttpDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let workers = self.shared.settings.workers;
            let mut tasks = Vec::with_capacity(workers);
            for index in 0..workers {
                let client = self.shared.balancer().add_client();
                let worker = Worker::new(self.shared.clone(), index, client);
                tasks.push(tokio::spawn(worker.run(ctx.queue.clone(), ctx.shutdown.clone())));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    }
}

/// The outcome of one request, in syslog-ng's terms (`LogThreadedResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    /// `LTR_ERROR`: retried up to `retries()` times.
    Error,
    Drop,
    /// `LTR_NOT_CONNECTED`: kept and retried after `time-reopen()`.
    NotConnected,
}

impl From<Action> for Outcome {
    fn from(a: Action) -> Outcome {
        match a {
            Action::Success => Outcome::Success,
            Action::Retry => Outcome::Error,
            Action::Drop => Outcome::Drop,
            Action::Disconnect => Outcome::NotConnected,
        }
    }
}

/// syslog-ng's default mapping of response codes (`default_map_http_status_to_worker_status`):
/// the outcome, and the message it logs with its level (`None`: nothing logged).
fn default_outcome(code: u16) -> (Outcome, Option<(internal::Level, &'static str)>) {
    use internal::Level::{Error, Notice};
    match code / 100 {
        1 => {
            let text = "Server returned with a 1XX (continuation) status code, which was not handled by curl. ";
            let o = if matches!(code, 102 | 103) { Outcome::Error } else { Outcome::NotConnected };
            (o, Some((Error, text)))
        }
        2 => (Outcome::Success, None),
        3 => {
            let text = "Server returned with a 3XX (redirect) status code. Either accept-redirect() is set to no, or \
                        this status code is unknown.";
            let o = if code == 304 { Outcome::Error } else { Outcome::NotConnected };
            (o, Some((Notice, text)))
        }
        4 => {
            let text = "Server returned with a 4XX (client errors) status code, which means we are not authorized or \
                        the URL is not found.";
            let o = match code {
                428 => Outcome::Error,
                410 | 416 | 422 | 424 | 425 | 451 => Outcome::Drop,
                _ => Outcome::NotConnected,
            };
            (o, Some((Notice, text)))
        }
        5 => {
            let text = "Server returned with a 5XX (server errors) status code, which indicates server failure.";
            let o = match code {
                508 => Outcome::Drop,
                504 => Outcome::Error,
                _ => Outcome::NotConnected,
            };
            (o, Some((Notice, text)))
        }
        _ => (Outcome::Error, Some((Error, "Unknown HTTP response code"))),
    }
}

/// The load balancer over the URLs of `url()`, as syslog-ng's `http-loadbalancer.c` spreads its
/// workers ("clients"): each worker stays on a target while it works; a failing target leaves the
/// rotation, and after `time-reopen()` the one that failed longest ago is tried again.
#[derive(Debug)]
struct Balancer {
    targets: Vec<TargetState>,
    clients: usize,
    failed: usize,
    recovery_timeout: Duration,
    last_recovery_attempt: Option<Instant>,
    /// The target of each client.
    client_target: Vec<Option<usize>>,
}

#[derive(Debug, Clone)]
struct TargetState {
    failed: bool,
    clients: usize,
    max_clients: usize,
    last_failure: Option<Instant>,
}

impl Balancer {
    fn new(targets: usize, recovery_timeout: Duration) -> Balancer {
        Balancer {
            targets: vec![TargetState { failed: false, clients: 0, max_clients: 0, last_failure: None }; targets],
            clients: 0,
            failed: 0,
            recovery_timeout,
            last_recovery_attempt: None,
            client_target: Vec::new(),
        }
    }

    fn add_client(&mut self) -> usize {
        self.clients += 1;
        self.client_target.push(None);
        self.recalculate();
        self.client_target.len() - 1
    }

    /// Spreads the clients evenly over the working targets.
    fn recalculate(&mut self) {
        let working = self.targets.len() - self.failed;
        if working == 0 {
            return;
        }
        let per = self.clients / working;
        let mut remainder = self.clients % working;
        for t in self.targets.iter_mut().filter(|t| !t.failed) {
            t.max_clients = per;
            if remainder > 0 {
                t.max_clients += 1;
                remainder -= 1;
            }
        }
    }

    fn least_recently_failed(&self) -> usize {
        let mut best: Option<(usize, Instant)> = None;
        for (i, t) in self.targets.iter().enumerate().filter(|(_, t)| t.failed) {
            let at = t.last_failure.unwrap_or_else(Instant::now);
            if best.is_none_or(|(_, b)| b > at) {
                best = Some((i, at));
            }
        }
        best.map_or(0, |(i, _)| i)
    }

    fn recover(&mut self) -> usize {
        self.last_recovery_attempt = Some(Instant::now());
        self.least_recently_failed()
    }

    fn locate(&mut self, client: usize) -> usize {
        let n = self.targets.len();
        let start = self.client_target[client].map_or(0, |t| (t + 1) % n);
        for i in 0..n {
            let idx = (start + i) % n;
            let t = &self.targets[idx];
            if !t.failed && t.clients < t.max_clients {
                return idx;
            }
        }
        self.recover()
    }

    /// The target `client` sends its next request to.
    fn choose(&mut self, client: usize) -> usize {
        let current = self.client_target[client];
        let mut next = None;
        if self.failed > 0 {
            let now = Instant::now();
            let last = *self.last_recovery_attempt.get_or_insert(now);
            if now.duration_since(last) >= self.recovery_timeout {
                next = Some(self.recover());
            }
        }
        if next.is_none() {
            let misbalanced = match current {
                None => true,
                Some(t) => self.targets[t].failed || self.targets[t].clients > self.targets[t].max_clients,
            };
            if misbalanced {
                next = Some(self.locate(client));
            }
        }
        if let Some(new) = next {
            if current != Some(new) {
                if let Some(old) = current {
                    self.targets[old].clients -= 1;
                }
                self.targets[new].clients += 1;
                self.client_target[client] = Some(new);
            }
        }
        self.client_target[client].unwrap_or(0)
    }

    fn set_failed(&mut self, target: usize) {
        let t = &mut self.targets[target];
        if !t.failed {
            t.failed = true;
            self.failed += 1;
            self.recalculate();
        }
        self.targets[target].last_failure = Some(Instant::now());
    }

    fn set_successful(&mut self, target: usize) {
        if self.targets[target].failed {
            self.targets[target].failed = false;
            self.failed -= 1;
            self.recalculate();
        }
    }
}

/// `throttle()` as syslog-ng's queues apply it: a bucket of `rate` tokens, refilled at `rate` a
/// second, one token per message (so up to `rate` messages go at once after a pause).
struct TokenBucket {
    rate: u32,
    tokens: f64,
    filled_at: tokio::time::Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> TokenBucket {
        TokenBucket { rate, tokens: f64::from(rate), filled_at: tokio::time::Instant::now() }
    }

    fn refill(&mut self) {
        let now = tokio::time::Instant::now();
        let rate = f64::from(self.rate);
        self.tokens = (self.tokens + now.duration_since(self.filled_at).as_secs_f64() * rate).min(rate);
        self.filled_at = now;
    }

    /// How many of `max` messages may go now, waiting for the first token if there is none.
    async fn take(&mut self, max: usize) -> usize {
        if self.rate == 0 {
            return max;
        }
        self.refill();
        if self.tokens < 1.0 {
            let wait = (1.0 - self.tokens) / f64::from(self.rate);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.refill();
        }
        (self.tokens as usize).clamp(1, max.max(1))
    }

    /// `n` messages went (counted from now: the take may have waited for messages).
    fn spend(&mut self, n: usize) {
        if self.rate > 0 {
            self.refill();
            self.tokens -= n as f64;
        }
    }
}

/// A byte stream both ways (TCP or TLS).
trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// Why a request got no response, in curl's words (`curl_easy_strerror`).
struct Failure(&'static str);

struct Worker {
    shared: Arc<Shared>,
    index: usize,
    client: usize,
    /// The open connection and the target it goes to.
    conn: Option<(usize, SendRequest<Full<Bytes>>)>,
    body: Vec<u8>,
    format: FormatOptions,
    seq_num: u32,
    /// `LTR_ERROR`s in a row (reset by a delivery or a drop).
    errors: u32,
}

impl Worker {
    fn new(shared: Arc<Shared>, index: usize, client: usize) -> Worker {
        let format = shared.format.clone();
        Worker { shared, index, client, conn: None, body: Vec::with_capacity(32 * 1024), format, seq_num: 0, errors: 0 }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: tokio_util::sync::CancellationToken) {
        let settings = &self.shared.settings.clone();
        let per_request = settings.lines_per_request();
        // A disk buffer hands out one batch at a time and takes the next take as the receipt, and
        // several workers share the queue request by request: take exactly what one request
        // carries.
        let exact = settings.batching() || queue.is_persistent() || settings.workers > 1;
        let take = if exact { per_request } else { CHUNK };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        // syslog-ng throttles each worker's queue.
        let mut throttle = TokenBucket::new(settings.throttle);
        loop {
            if let (true, Some(timeout)) = (per_request > 1, settings.batch_timeout) {
                // Fill the batch before taking it: up to batch-lines(), waiting at most
                // batch-timeout() after the first message.
                let open = tokio::select! {
                    open = queue.wait_len(1) => open,
                    _ = shutdown.cancelled() => return,
                };
                if open {
                    tokio::select! {
                        _ = queue.wait_len(per_request) => {}
                        _ = tokio::time::sleep(timeout) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
            let allowed = tokio::select! {
                n = throttle.take(take) => n,
                _ = shutdown.cancelled() => return,
            };
            if !queue.pop(allowed, &mut batch).await {
                return;
            }
            throttle.spend(batch.len());
            let mut start = 0;
            while start < batch.len() {
                let end = self.format_request(&batch[start..], per_request) + start;
                let single = (!settings.batching()).then(|| &batch[start]);
                // rsng stopping gives up a request that hangs; the batch goes back, so that a disk
                // buffer keeps it for the next run.
                let outcome = tokio::select! {
                    o = self.flush(single, end - start) => Some(o),
                    _ = shutdown.cancelled() => None,
                };
                let Some(outcome) = outcome else {
                    let mut rest = batch.split_off(start);
                    queue.push_front(&mut rest);
                    return;
                };
                match outcome {
                    Outcome::Success => {
                        self.errors = 0;
                        queue.stats.written.fetch_add((end - start) as u64, Ordering::Relaxed);
                        start = end;
                    }
                    Outcome::Drop => {
                        self.errors = 0;
                        internal::error(format!(
                            "Message(s) dropped while sending message to destination; driver='{}', \
                             worker_index='{}', time_reopen='{}', batch_size='{}'",
                            self.shared.driver,
                            self.index,
                            settings.time_reopen.as_secs(),
                            end - start
                        ));
                        queue.stats.discarded.fetch_add((end - start) as u64, Ordering::Relaxed);
                        start = end;
                        self.conn = None;
                        if !self.suspend(settings.time_reopen, &shutdown).await {
                            return;
                        }
                    }
                    Outcome::Error if self.errors + 1 >= settings.retries => {
                        self.errors += 1;
                        threaded::dropped(
                            &self.shared.driver,
                            &self.shared.location,
                            self.index,
                            self.errors,
                            end - start,
                        );
                        self.errors = 0;
                        queue.stats.discarded.fetch_add((end - start) as u64, Ordering::Relaxed);
                        start = end;
                    }
                    Outcome::Error | Outcome::NotConnected => {
                        if outcome == Outcome::Error {
                            self.errors += 1;
                            threaded::retrying(
                                &self.shared.driver,
                                &self.shared.location,
                                self.index,
                                self.errors,
                                settings.time_reopen,
                                end - start,
                            );
                        } else {
                            threaded::reconnecting(
                                &self.shared.driver,
                                &self.shared.location,
                                self.index,
                                settings.time_reopen,
                                end - start,
                            );
                        }
                        self.conn = None;
                        // What was not delivered goes back first in line.
                        let mut rest = batch.split_off(start);
                        batch.clear();
                        queue.push_front(&mut rest);
                        if !self.suspend(settings.time_reopen, &shutdown).await {
                            return;
                        }
                    }
                }
            }
            batch.clear();
        }
    }

    /// Waits `time-reopen()`; `false` when rsng stops meanwhile.
    async fn suspend(&self, time: Duration, shutdown: &tokio_util::sync::CancellationToken) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(time) => true,
            _ = shutdown.cancelled() => false,
        }
    }

    /// Formats the body of the next request from the front of `msgs`: up to `max` messages, ending
    /// early once it reaches `batch-bytes()`. Returns how many it holds.
    fn format_request(&mut self, msgs: &[LogMessage], max: usize) -> usize {
        let s = &self.shared.settings;
        self.body.clear();
        self.body.extend_from_slice(&s.body_prefix);
        let mut n = 0;
        for msg in msgs.iter().take(max) {
            if n > 0 {
                self.body.extend_from_slice(&s.delimiter);
            }
            match &self.shared.body {
                Some(t) => {
                    self.seq_num = self.seq_num.wrapping_add(1).max(1);
                    self.format.seq_num = msg.writer_seq_num(self.seq_num);
                    let _ = t.format(msg, &self.format, &mut self.body);
                }
                None => self.body.extend_from_slice(msg.builtin(Builtin::Message)),
            }
            n += 1;
            if s.batch_bytes > 0 && self.body.len() + s.body_suffix.len() >= s.batch_bytes {
                break;
            }
        }
        self.body.extend_from_slice(&s.body_suffix);
        n
    }

    /// Sends the formatted body, trying the other targets once each when one fails (syslog-ng's
    /// `_flush`).
    async fn flush(&mut self, single: Option<&LogMessage>, count: usize) -> Outcome {
        let shared = self.shared.clone();
        let mut attempts = shared.settings.targets.len();
        let mut target = shared.balancer().choose(self.client);
        let mut outcome = Outcome::NotConnected;
        let body = Bytes::copy_from_slice(&self.body);
        while attempts > 0 {
            attempts -= 1;
            outcome = self.flush_on_target(target, &body, single, count).await;
            if outcome == Outcome::Success {
                shared.balancer().set_successful(target);
                break;
            }
            let mut lb = shared.balancer();
            lb.set_failed(target);
            let alternative = lb.choose(self.client);
            drop(lb);
            if alternative == target {
                break;
            }
            target = alternative;
        }
        outcome
    }

    async fn flush_on_target(
        &mut self,
        target: usize,
        body: &Bytes,
        single: Option<&LogMessage>,
        count: usize,
    ) -> Outcome {
        let shared = self.shared.clone();
        let t = &shared.settings.targets[target];
        let request = async {
            let reused = matches!(&self.conn, Some((at, s)) if *at == target && !s.is_closed());
            match self.exchange(target, body, single, reused).await {
                // A kept-alive connection the server had closed meanwhile: curl opens a new one.
                Err(_) if reused => {
                    self.conn = None;
                    self.exchange(target, body, single, false).await
                }
                other => other,
            }
        };
        let result = match shared.settings.timeout {
            Some(limit) => tokio::time::timeout(limit, request).await.unwrap_or(Err(Failure("Timeout was reached"))),
            None => request.await,
        };
        let code = match result {
            Ok(code) => code,
            Err(Failure(error)) => {
                self.conn = None;
                internal::error(format!(
                    "curl: error sending HTTP request; url='{}', error='{error}', worker_index='{}', driver='{}', \
                     location='{}'",
                    t.url, self.index, shared.driver, shared.location
                ));
                return Outcome::NotConnected;
            }
        };
        // Formatted only when kept: this runs once per request.
        if internal::enabled(internal::Level::Debug) {
            internal::emit(
                internal::Level::Debug,
                format!(
                    "curl: HTTP response received; url='{}', status_code='{code}', body_size='{}', batch_size='{count}', \
                     redirected='0', worker_index='{}', driver='{}', location='{}'",
                    t.url,
                    body.len(),
                    self.index,
                    shared.driver,
                    shared.location
                ),
            );
        }
        if let Some(action) = shared.settings.response_actions.get(&code) {
            let (level, name) = match action {
                Action::Success => (internal::Level::Debug, "success"),
                Action::Retry => (internal::Level::Notice, "retry"),
                Action::Drop => (internal::Level::Notice, "drop"),
                Action::Disconnect => (internal::Level::Notice, "disconnect"),
            };
            internal::emit(
                level,
                format!(
                    "http: handled by response_action; action='{name}', url='{}', status_code='{code}', \
                     driver='{}', location='{}'",
                    t.url, shared.driver, shared.location
                ),
            );
            return (*action).into();
        }
        let (outcome, message) = default_outcome(code);
        if let Some((level, text)) = message {
            internal::emit(
                level,
                format!(
                    "{text}; url='{}', status_code='{code}', driver='{}', location='{}'",
                    t.url, shared.driver, shared.location
                ),
            );
        }
        outcome
    }

    /// One request and its response code, on the open connection or a new one.
    async fn exchange(
        &mut self,
        target: usize,
        body: &Bytes,
        single: Option<&LogMessage>,
        reuse: bool,
    ) -> Result<u16, Failure> {
        let shared = self.shared.clone();
        let t = &shared.settings.targets[target];
        if !reuse {
            self.conn = Some((target, self.connect(t).await?));
        }
        let Some((_, sender)) = self.conn.as_mut() else { return Err(Failure("Couldn't connect to server")) };
        sender.ready().await.map_err(|_| Failure("Failure when receiving data from the peer"))?;
        let request = build_request(&shared.settings, t, body.clone(), single)?;
        let response = sender.send_request(request).await.map_err(|e| {
            if e.is_incomplete_message() {
                Failure("Server returned nothing (no headers, no data)")
            } else {
                Failure("Failure when receiving data from the peer")
            }
        })?;
        let code = response.status().as_u16();
        // The response body is read and thrown away, so that the connection can be used again.
        response.into_body().collect().await.map_err(|_| Failure("Failure when receiving data from the peer"))?;
        Ok(code)
    }

    async fn connect(&self, t: &Target) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let mut addrs = tokio::net::lookup_host((t.host.as_str(), t.port))
            .await
            .map_err(|_| Failure("Couldn't resolve host name"))?
            .peekable();
        if addrs.peek().is_none() {
            return Err(Failure("Couldn't resolve host name"));
        }
        let mut stream = None;
        for addr in addrs {
            if let Ok(s) = tokio::net::TcpStream::connect(addr).await {
                stream = Some(s);
                break;
            }
        }
        let stream = stream.ok_or(Failure("Couldn't connect to server"))?;
        let _ = stream.set_nodelay(true);
        let io: Box<dyn Duplex> = if t.tls {
            let Some(tls) = &self.shared.tls else { return Err(Failure("SSL connect error")) };
            let handshake = tokio::time::timeout(tls.handshake_timeout(), tls.connect(stream, &t.host)).await;
            let mut s = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    internal::error(e.to_string());
                    use rsng_transport::tls::FailureReason as R;
                    let verification = matches!(
                        e.reason,
                        R::UnknownCa | R::Expired | R::NotYetValid | R::Revoked | R::HostnameMismatch
                    );
                    return Err(Failure(if verification {
                        "SSL peer certificate or SSH remote key was not OK"
                    } else {
                        "SSL connect error"
                    }));
                }
                Err(_) => return Err(Failure("Timeout was reached")),
            };
            if let Err(e) = s.await_verdict(crate::socket::tls::VERDICT_WAIT).await {
                internal::error(e.to_string());
                return Err(Failure("SSL connect error"));
            }
            Box::new(s)
        } else {
            Box::new(stream)
        };
        let (sender, conn) = http1::Builder::new()
            .title_case_headers(true)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|_| Failure("Couldn't connect to server"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// Basic credentials, `user:password` in base64.
fn basic_auth(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let mut out = String::from("Basic ");
    for chunk in input.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request with curl's headers in curl's order; `headers()` replace curl's own of the same
/// name (a `Host` in its place, the others at their own place).
fn build_request(
    s: &Settings,
    t: &Target,
    body: Bytes,
    single: Option<&LogMessage>,
) -> Result<hyper::Request<Full<Bytes>>, Failure> {
    let custom = |name: &str| s.headers.iter().find(|h| h.is(name));
    let mut h = HeaderMap::with_capacity(8 + s.headers.len());
    let put = |h: &mut HeaderMap, name: &str, value: &[u8]| {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
            h.append(n, v);
        }
    };
    match custom("Host") {
        Some(c) => {
            if let Some(v) = &c.value {
                put(&mut h, "Host", v.as_bytes());
            }
        }
        None => put(&mut h, "Host", t.authority.as_bytes()),
    }
    if let (Some(user), None) = (&s.user, custom("Authorization")) {
        put(&mut h, "Authorization", basic_auth(user, s.password.as_deref().unwrap_or("")).as_bytes());
    }
    if custom("User-Agent").is_none() {
        put(&mut h, "User-Agent", s.user_agent.as_bytes());
    }
    if custom("Accept").is_none() {
        put(&mut h, "Accept", b"*/*");
    }
    if let Some(msg) = single {
        let pri = msg.pri();
        let facility = rsng_core::names::facility_name((pri >> 3) as u8).unwrap_or("");
        let level = rsng_core::names::severity_name((pri & 7) as u8).unwrap_or("");
        put(&mut h, "X-Syslog-Host", msg.builtin(Builtin::Host));
        put(&mut h, "X-Syslog-Program", msg.builtin(Builtin::Program));
        put(&mut h, "X-Syslog-Facility", facility.as_bytes());
        put(&mut h, "X-Syslog-Level", level.as_bytes());
    }
    for c in &s.headers {
        if c.is("Host") || c.is("Content-Length") || c.is("Expect") {
            continue;
        }
        if let Some(v) = &c.value {
            put(&mut h, &c.name, v.as_bytes());
        }
    }
    let mut len = Vec::with_capacity(10);
    crate::writer::push_u32(&mut len, u32::try_from(body.len()).unwrap_or(u32::MAX));
    put(&mut h, "Content-Length", &len);
    if custom("Content-Type").is_none() {
        put(&mut h, "Content-Type", b"application/x-www-form-urlencoded");
    }
    let method = match s.method {
        Method::Post => hyper::Method::POST,
        Method::Put => hyper::Method::PUT,
    };
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(t.path.as_str())
        .body(Full::new(body))
        .map_err(|_| Failure("URL using bad/illegal format or missing URL"))?;
    *request.headers_mut() = h;
    Ok(request)
}

/// Response codes with an action of their own in `response-action()`, for tests.
#[cfg(test)]
fn outcomes(actions: &std::collections::HashMap<u16, Action>, code: u16) -> Outcome {
    actions.get(&code).map_or_else(|| default_outcome(code).0, |a| (*a).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mapping_of_response_codes() {
        let none = std::collections::HashMap::new();
        for (code, expected) in [
            (200, Outcome::Success),
            (204, Outcome::Success),
            (100, Outcome::NotConnected),
            (102, Outcome::Error),
            (301, Outcome::NotConnected),
            (304, Outcome::Error),
            (400, Outcome::NotConnected),
            (404, Outcome::NotConnected),
            (410, Outcome::Drop),
            (428, Outcome::Error),
            (451, Outcome::Drop),
            (500, Outcome::NotConnected),
            (504, Outcome::Error),
            (508, Outcome::Drop),
            (600, Outcome::Error),
        ] {
            assert_eq!(outcomes(&none, code), expected, "code {code}");
        }
        let custom = std::collections::HashMap::from([(404, Action::Drop), (200, Action::Retry)]);
        assert_eq!(outcomes(&custom, 404), Outcome::Drop);
        assert_eq!(outcomes(&custom, 200), Outcome::Error);
    }

    #[test]
    fn basic_credentials() {
        assert_eq!(basic_auth("u", "p"), "Basic dTpw");
        assert_eq!(basic_auth("user", "secret!"), "Basic dXNlcjpzZWNyZXQh");
        assert_eq!(basic_auth("ab", ""), "Basic YWI6");
    }

    #[test]
    fn balancer_fails_over_and_recovers() {
        let mut lb = Balancer::new(3, Duration::from_secs(3600));
        let a = lb.add_client();
        let b = lb.add_client();
        let (ta, tb) = (lb.choose(a), lb.choose(b));
        assert_ne!(ta, tb, "two workers go to two URLs");
        lb.set_failed(ta);
        let moved = lb.choose(a);
        assert!(moved != ta && !lb.targets[moved].failed);
        lb.set_successful(ta);
        assert_eq!(lb.failed, 0);
        let mut single = Balancer::new(2, Duration::ZERO);
        let c = single.add_client();
        assert_eq!(single.choose(c), 0);
        single.set_failed(0);
        assert_eq!(single.choose(c), 0, "after time-reopen() the failed URL is tried again");
    }
}
