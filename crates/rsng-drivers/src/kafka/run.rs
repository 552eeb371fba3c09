//! The workers of a `kafka-c()` destination: each takes a batch from the destination queue, hands
//! its records to librdkafka and waits for the broker's delivery reports before taking the next,
//! so that a batch leaves the queue (and frees the sources' flow-control window) only once Kafka
//! has it. One client is shared by the workers, as in syslog-ng; a thread of its own polls it for
//! delivery reports every `poll-timeout()`.

use std::collections::VecDeque;
use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::util::IntoOpaque;
use rdkafka_sys as rdsys;
use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::options::{topic_error, Settings};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::threaded;
use crate::{Destination, DestinationContext, Task};

/// Messages a worker takes at once without `batch-lines()`.
const CHUNK: usize = 256;

/// Messages a worker hands to librdkafka before the oldest batch is confirmed. Counted in
/// messages, not batches: a worker that keeps up takes small batches (what one read of a
/// source brought), and librdkafka sends what came in during `linger.ms` as one request.
const IN_FLIGHT: usize = 2048;

/// Emptied batch vectors a worker keeps for reuse.
const SPARE_BATCHES: usize = 4;

/// How long a worker waits before trying again when librdkafka's own queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

pub type Client = BaseProducer<KafkaContext>;

/// Routes librdkafka's log lines to rsng's internal messages, as syslog-ng's log callback does.
pub struct KafkaContext;

impl ClientContext for KafkaContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let n = level as i32;
        let level = match n {
            i32::MIN..=3 => internal::Level::Error,
            4 => internal::Level::Warning,
            5 => internal::Level::Notice,
            6 => internal::Level::Info,
            _ => internal::Level::Debug,
        };
        if internal::enabled(level) {
            internal::emit(level, format!("librdkafka: {fac}({n}): {log_message}"));
        }
    }

    /// librdkafka logs the same errors through [`ClientContext::log`].
    fn error(&self, _error: KafkaError, _reason: &str) {}
}

impl ProducerContext for KafkaContext {
    type DeliveryOpaque = Arc<Tracker>;

    fn delivery(&self, result: &DeliveryResult<'_>, tracker: Arc<Tracker>) {
        tracker.report(result.as_ref().err().map(|(e, _)| e.clone()));
    }
}

/// The delivery reports still awaited for one batch, and the worst error among those received.
pub struct Tracker {
    pending: AtomicUsize,
    error: Mutex<Option<KafkaError>>,
    done: Notify,
}

impl Tracker {
    fn new(n: usize) -> Tracker {
        Tracker { pending: AtomicUsize::new(n), error: Mutex::new(None), done: Notify::new() }
    }

    fn report(&self, error: Option<KafkaError>) {
        self.settle(1, error);
    }

    /// `n` reports are in (or will never come), with `error` if they failed.
    fn settle(&self, n: usize, error: Option<KafkaError>) {
        if let Some(e) = error {
            let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
            // A permanent error outweighs one that going on later would cure.
            if slot.as_ref().is_none_or(|old| transient(old) && !transient(&e)) {
                *slot = Some(e);
            }
        }
        if n > 0 && self.pending.fetch_sub(n, Ordering::AcqRel) == n {
            self.done.notify_one();
        }
    }

    fn is_done(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    /// Returns once every report is in.
    async fn settled(&self) {
        while !self.is_done() {
            self.done.notified().await;
        }
    }

    fn take_error(&self) -> Option<KafkaError> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The deadline kept in `slot`, set to `after` from now if there is none yet: a wait that is
/// interrupted and begun again keeps its deadline.
fn deadline_in(slot: &Mutex<Option<tokio::time::Instant>>, after: Duration) -> tokio::time::Instant {
    *slot.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| tokio::time::Instant::now() + after)
}

/// Whether trying the same records again later may succeed: time-outs, a broker that is away,
/// records librdkafka purged when stopping.
fn transient(e: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    match e.rdkafka_error_code() {
        Some(
            MessageTimedOut
            | RequestTimedOut
            | OperationTimedOut
            | TimedOutQueue
            | BrokerTransportFailure
            | AllBrokersDown
            | Resolve
            | PurgeQueue
            | PurgeInflight
            | QueueFull
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | LeaderNotAvailable
            | NotLeaderForPartition
            | NetworkException
            | UnknownTopicOrPartition
            | BrokerNotAvailable
            | OutOfOrderSequenceNumber,
        ) => true,
        Some(_) => false,
        None => true,
    }
}

/// What is shared by the workers of one driver.
pub struct Shared {
    pub settings: Settings,
    pub topic: Arc<Template>,
    /// `topic()` when it is a plain name.
    pub literal_topic: Option<String>,
    pub key: Option<Arc<Template>>,
    pub message: Arc<Template>,
    pub format: FormatOptions,
    pub client: Arc<Client>,
    /// librdkafka's topic object for a plain `topic()`.
    pub topic_handle: Option<TopicHandle>,
    /// `kafka-c()`'s id (`d_kafka#0`) and its place in the configuration, for messages.
    pub driver: String,
    pub location: String,
    transactions_ready: AtomicBool,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Settings,
        topic: Arc<Template>,
        literal_topic: Option<String>,
        key: Option<Arc<Template>>,
        message: Arc<Template>,
        format: FormatOptions,
        client: Arc<Client>,
        topic_handle: Option<TopicHandle>,
        driver: String,
        location: String,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            settings,
            topic,
            literal_topic,
            key,
            message,
            format,
            client,
            topic_handle,
            driver,
            location,
            transactions_ready: AtomicBool::new(false),
        })
    }
}

/// librdkafka's object for one topic, made at start-up as syslog-ng does: librdkafka asks the
/// brokers for the topic's partitions then, not when the first message comes, and records are
/// produced to it without looking the topic up by name each time.
pub struct TopicHandle {
    topic: NonNull<rdsys::rd_kafka_topic_t>,
    /// Kept alive as long as the topic object, which belongs to it.
    _client: Arc<Client>,
}

// SAFETY: librdkafka's topic objects may be used from any thread; produce is thread-safe.
unsafe impl Send for TopicHandle {}
// SAFETY: as above.
unsafe impl Sync for TopicHandle {}

impl TopicHandle {
    /// # Errors
    /// librdkafka's reason when it refuses the topic.
    pub fn new(client: &Arc<Client>, name: &str) -> Result<TopicHandle, String> {
        let cname = CString::new(name).map_err(|_| "the topic name contains a NUL character".to_string())?;
        // SAFETY: the client pointer is valid while `client` lives; a NULL configuration takes
        // the client's default topic configuration.
        let raw =
            unsafe { rdsys::rd_kafka_topic_new(client.client().native_ptr(), cname.as_ptr(), std::ptr::null_mut()) };
        match NonNull::new(raw) {
            Some(topic) => Ok(TopicHandle { topic, _client: client.clone() }),
            None => {
                // SAFETY: reads the calling thread's last error.
                let code = RDKafkaErrorCode::from(unsafe { rdsys::rd_kafka_last_error() });
                Err(code.to_string())
            }
        }
    }

    /// Hands one record to librdkafka (which copies it), with `tracker` for its delivery report.
    fn produce(&self, value: &[u8], key: &[u8], tracker: &Arc<Tracker>) -> Result<(), RDKafkaErrorCode> {
        let opaque = tracker.clone().into_ptr();
        let (key_ptr, key_len) =
            if key.is_empty() { (std::ptr::null(), 0) } else { (key.as_ptr().cast::<c_void>(), key.len()) };
        // SAFETY: the topic object lives as long as `self`; librdkafka copies payload and key
        // (RD_KAFKA_MSG_F_COPY) and gives `opaque` back to the delivery callback, which takes
        // the Arc back as rdkafka's own `send` does.
        let rc = unsafe {
            rdsys::rd_kafka_produce(
                self.topic.as_ptr(),
                PARTITION_UNASSIGNED,
                rdsys::RD_KAFKA_MSG_F_COPY,
                value.as_ptr().cast_mut().cast::<c_void>(),
                value.len(),
                key_ptr,
                key_len,
                opaque,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        // SAFETY: librdkafka did not take the record, so the Arc handed over comes back here once.
        drop(unsafe { Arc::<Tracker>::from_ptr(opaque) });
        // SAFETY: reads the calling thread's last error.
        Err(RDKafkaErrorCode::from(unsafe { rdsys::rd_kafka_last_error() }))
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_topic_new and destroyed once, before the client it belongs to.
        unsafe { rdsys::rd_kafka_topic_destroy(self.topic.as_ptr()) };
    }
}

/// librdkafka's RD_KAFKA_PARTITION_UA: the partitioner chooses.
const PARTITION_UNASSIGNED: i32 = -1;

pub struct KafkaDestination {
    shared: Arc<Shared>,
}

impl KafkaDestination {
    pub fn new(shared: Arc<Shared>) -> KafkaDestination {
        KafkaDestination { shared }
    }
}

/// Stops the polling thread when the destination's task ends (or is aborted).
struct PollerStop(Arc<AtomicBool>);

impl Drop for PollerStop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Destination for KafkaDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let stop = Arc::new(AtomicBool::new(false));
            let _stop_poller = PollerStop(stop.clone());
            let client = self.shared.client.clone();
            let interval = self.shared.settings.poll_timeout.max(Duration::from_millis(1));
            let spawned = std::thread::Builder::new().name("kafka-poll".into()).spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    client.poll(interval);
                }
            });
            if let Err(e) = spawned {
                internal::error(format!(
                    "kafka: cannot start the thread that polls for delivery reports; error='{e}', driver='{}'",
                    self.shared.driver
                ));
                return;
            }
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

/// The outcome of one batch, in syslog-ng's terms (`LogThreadedResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Kafka refused the records: retried up to `retries()` times, then dropped.
    Error,
    /// The broker is away: kept and tried again after `time-reopen()`.
    NotConnected,
}

/// A batch handed to librdkafka whose delivery reports are not all in yet.
struct Flight {
    batch: Vec<LogMessage>,
    tracker: Arc<Tracker>,
}

/// What the worker waits for next.
enum Step {
    /// A batch was taken (`false`: the queue is closed and empty).
    Taken(bool),
    /// The oldest batch in flight has all its delivery reports.
    Settled,
    /// rsng is stopping or reloading: give back what is not confirmed.
    Stop,
}

struct Worker {
    shared: Arc<Shared>,
    index: usize,
    value: Vec<u8>,
    key: Vec<u8>,
    topic: Vec<u8>,
    format: FormatOptions,
    seq_num: u32,
    errors: u32,
    /// Once the queue is closed (a stop or a reload): until when delivery reports are awaited.
    flush_deadline: Mutex<Option<tokio::time::Instant>>,
    /// With `batch-timeout()`: when the batch being gathered goes even if not full.
    batch_deadline: Mutex<Option<tokio::time::Instant>>,
    /// Emptied batch vectors, reused.
    spare: Vec<Vec<LogMessage>>,
}

impl Worker {
    fn new(shared: Arc<Shared>, index: usize) -> Worker {
        let format = shared.format.clone();
        Worker {
            shared,
            index,
            value: Vec::with_capacity(1024),
            key: Vec::new(),
            topic: Vec::new(),
            format,
            seq_num: 0,
            errors: 0,
            flush_deadline: Mutex::new(None),
            batch_deadline: Mutex::new(None),
            spare: Vec::new(),
        }
    }

    /// Takes batches and hands them to librdkafka while earlier ones are still awaiting their
    /// delivery reports (up to [`IN_FLIGHT`] messages), so that the broker's round trip is not
    /// paid once per batch; a batch counts as written when all its reports are in, oldest first.
    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let settings = self.shared.settings.clone();
        let take = if settings.batch_lines > 0 { settings.batch_lines } else { CHUNK };
        // A transaction holds one batch; a disk buffer counts the next take as the delivery of
        // the last one.
        let pipelined = !settings.sync_send && !queue.is_persistent();
        let mut flights: VecDeque<Flight> = VecDeque::new();
        let mut in_flight = 0;
        loop {
            while flights.front().is_some_and(|f| f.tracker.is_done()) {
                if let Some(flight) = flights.pop_front() {
                    in_flight -= flight.batch.len();
                    match flight.tracker.take_error() {
                        None => self.written(flight.batch, &queue),
                        Some(e) => {
                            flights.push_front(flight);
                            in_flight = 0;
                            if !self.failed(e, &mut flights, &queue, &shutdown).await {
                                return;
                            }
                        }
                    }
                }
            }
            let step = {
                let front = flights.front().map(|f| f.tracker.clone());
                let settled = async {
                    match &front {
                        Some(t) => t.settled().await,
                        None => std::future::pending().await,
                    }
                };
                // Sized by what is taken: batches are small when the worker keeps up.
                let mut batch = self.spare.pop().unwrap_or_default();
                let room = if pipelined { in_flight < IN_FLIGHT } else { flights.is_empty() };
                let step = if room {
                    tokio::select! {
                        open = self.next_batch(&queue, &shutdown, take, &mut batch) => match open {
                            Some(open) => Step::Taken(open),
                            None => Step::Stop,
                        },
                        () = settled => Step::Settled,
                        () = self.until_flush_deadline(&queue, &shutdown), if front.is_some() => Step::Stop,
                    }
                } else {
                    tokio::select! {
                        () = settled => Step::Settled,
                        () = self.until_flush_deadline(&queue, &shutdown) => Step::Stop,
                    }
                };
                if let Step::Taken(true) = step {
                    match self.launch(batch, &shutdown).await {
                        Ok(flight) => {
                            in_flight += flight.batch.len();
                            flights.push_back(flight);
                        }
                        Err(mut batch) => {
                            // The transaction could not start or commit: tried again later.
                            queue.push_front(&mut batch);
                            self.give_back(&mut flights, &queue);
                            in_flight = 0;
                            tokio::select! {
                                _ = tokio::time::sleep(settings.time_reopen) => {}
                                _ = shutdown.cancelled() => return,
                            }
                        }
                    }
                } else if self.spare.len() < SPARE_BATCHES {
                    self.spare.push(batch);
                }
                step
            };
            match step {
                Step::Taken(true) | Step::Settled => {}
                Step::Taken(false) => {
                    // Closed and empty: what is in flight is still confirmed, until the deadline.
                    if flights.is_empty() {
                        return;
                    }
                    let all = async {
                        for f in &flights {
                            f.tracker.settled().await;
                        }
                    };
                    tokio::select! {
                        () = all => {}
                        () = self.until_flush_deadline(&queue, &shutdown) => {
                            self.give_back(&mut flights, &queue);
                            return;
                        }
                    }
                }
                Step::Stop => {
                    self.give_back(&mut flights, &queue);
                    return;
                }
            }
        }
    }

    /// Waits for the next batch (filling it up to `batch-lines()` until `batch-timeout()` when
    /// both are set) and takes it into `batch`: `Some(false)` when the queue is closed and
    /// empty, `None` when rsng is stopping.
    async fn next_batch(
        &self,
        queue: &DestinationQueue,
        shutdown: &CancellationToken,
        take: usize,
        batch: &mut Vec<LogMessage>,
    ) -> Option<bool> {
        let settings = &self.shared.settings;
        if let (true, Some(timeout)) = (settings.batch_lines > 1, settings.batch_timeout) {
            let open = tokio::select! {
                open = queue.wait_len(1) => open,
                _ = shutdown.cancelled() => return None,
            };
            if open {
                // Kept across calls: a delivery report arriving meanwhile must not restart it.
                let deadline = deadline_in(&self.batch_deadline, timeout);
                tokio::select! {
                    _ = queue.wait_len(take) => {}
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = shutdown.cancelled() => return None,
                }
            }
        }
        let open = queue.pop(take, batch).await;
        *self.batch_deadline.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Some(open)
    }

    /// Hands `batch` to librdkafka (in a transaction with `sync-send(yes)`, committed before
    /// this returns). `Err` gives the batch back when the transaction failed.
    async fn launch(
        &mut self,
        batch: Vec<LogMessage>,
        shutdown: &CancellationToken,
    ) -> Result<Flight, Vec<LogMessage>> {
        let sync_send = self.shared.settings.sync_send;
        if sync_send && !self.begin_transaction().await {
            return Err(batch);
        }
        let tracker = Arc::new(Tracker::new(batch.len()));
        for (i, msg) in batch.iter().enumerate() {
            if let Err(e) = self.produce(msg, &tracker, shutdown).await {
                // The rest never reaches librdkafka.
                tracker.settle(batch.len() - i, e);
                break;
            }
        }
        if sync_send && !self.commit_transaction().await {
            return Err(batch);
        }
        Ok(Flight { batch, tracker })
    }

    /// All of `batch` is confirmed.
    fn written(&mut self, mut batch: Vec<LogMessage>, queue: &DestinationQueue) {
        self.errors = 0;
        queue.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
        if self.spare.len() < SPARE_BATCHES {
            self.spare.push(batch);
        }
    }

    /// Puts back at the front of the queue, in their order, the batches not (or not wholly)
    /// confirmed, and counts the confirmed ones written.
    fn give_back(&mut self, flights: &mut VecDeque<Flight>, queue: &DestinationQueue) {
        let mut back = Vec::new();
        let mut unconfirmed = 0;
        for mut f in flights.drain(..) {
            if f.tracker.is_done() && f.tracker.take_error().is_none() {
                self.written(f.batch, queue);
            } else {
                unconfirmed += f.batch.len();
                back.append(&mut f.batch);
            }
        }
        if unconfirmed > 0 {
            // Still unconfirmed: whatever librdkafka delivers later may arrive twice.
            internal::notice(format!(
                "kafka: timeout while waiting for the librdkafka queue to empty, the remaining entries go back \
                 to the destination queue; outq_len='{}', driver='{}', location='{}'",
                self.shared.client.in_flight_count(),
                self.shared.driver,
                self.shared.location
            ));
            queue.push_front(&mut back);
        }
    }

    /// The oldest batch in flight came back with `error`: waits for the others' reports, counts
    /// the delivered batches written and retries (or, after `retries()`, drops) the failed ones
    /// together, as one batch is in syslog-ng. `false` when the worker must stop.
    async fn failed(
        &mut self,
        error: KafkaError,
        flights: &mut VecDeque<Flight>,
        queue: &DestinationQueue,
        shutdown: &CancellationToken,
    ) -> bool {
        let all = async {
            for f in flights.iter() {
                f.tracker.settled().await;
            }
        };
        tokio::select! {
            () = all => {}
            () = self.until_flush_deadline(queue, shutdown) => {
                if let Some(f) = flights.front_mut() {
                    // The first batch failed: not counted written by give_back.
                    f.tracker.settle(0, Some(error));
                }
                self.give_back(flights, queue);
                return false;
            }
        }
        let shared = self.shared.clone();
        let settings = &shared.settings;
        let mut worst = error;
        let mut failed = Vec::new();
        for (i, mut f) in flights.drain(..).collect::<Vec<_>>().into_iter().enumerate() {
            let e = if i == 0 { Some(worst.clone()) } else { f.tracker.take_error() };
            match e {
                None => self.written(f.batch, queue),
                Some(e) => {
                    if transient(&worst) && !transient(&e) {
                        worst = e;
                    }
                    failed.append(&mut f.batch);
                }
            }
        }
        internal::error(format!(
            "kafka: delivery report for message came back with an error; error='{worst}', driver='{}', \
             location='{}'",
            shared.driver, shared.location
        ));
        let n = failed.len();
        let outcome = if transient(&worst) { Outcome::NotConnected } else { Outcome::Error };
        if outcome == Outcome::Error && self.errors + 1 >= settings.retries {
            threaded::dropped(&shared.driver, &shared.location, self.index, self.errors + 1, n);
            self.errors = 0;
            queue.stats.discarded.fetch_add(n as u64, Ordering::Relaxed);
            return true;
        }
        if outcome == Outcome::Error {
            self.errors += 1;
            threaded::retrying(&shared.driver, &shared.location, self.index, self.errors, settings.time_reopen, n);
        } else {
            threaded::reconnecting(&shared.driver, &shared.location, self.index, settings.time_reopen, n);
        }
        queue.push_front(&mut failed);
        tokio::select! {
            _ = tokio::time::sleep(settings.time_reopen) => true,
            _ = shutdown.cancelled() => false,
        }
    }

    /// Resolves when rsng is stopping or reloading and `flush-timeout-on-shutdown()` or
    /// `flush-timeout-on-reload()` has passed since the queue closed.
    async fn until_flush_deadline(&self, queue: &DestinationQueue, shutdown: &CancellationToken) {
        queue.closed().await;
        let s = &self.shared.settings;
        let limit = if shutdown.is_cancelled() { s.flush_timeout_on_shutdown } else { s.flush_timeout_on_reload };
        let deadline = deadline_in(&self.flush_deadline, limit);
        tokio::time::sleep_until(deadline).await;
    }
    /// Formats one record and hands it to librdkafka, waiting while its queue is full.
    async fn produce(
        &mut self,
        msg: &LogMessage,
        tracker: &Arc<Tracker>,
        shutdown: &CancellationToken,
    ) -> Result<(), Option<KafkaError>> {
        let shared = self.shared.clone();
        self.seq_num = self.seq_num.wrapping_add(1).max(1);
        self.format.seq_num = msg.writer_seq_num(self.seq_num);
        self.value.clear();
        let _ = shared.message.format(msg, &self.format, &mut self.value);
        self.key.clear();
        if let Some(k) = &shared.key {
            let _ = k.format(msg, &self.format, &mut self.key);
        }
        if let Some(handle) = &shared.topic_handle {
            loop {
                match handle.produce(&self.value, &self.key, tracker) {
                    Ok(()) => return Ok(()),
                    Err(RDKafkaErrorCode::QueueFull) => tokio::select! {
                        _ = tokio::time::sleep(QUEUE_FULL_PAUSE) => {}
                        _ = shutdown.cancelled() => return Err(Some(KafkaError::Canceled)),
                    },
                    Err(code) => {
                        let e = KafkaError::MessageProduction(code);
                        internal::error(format!(
                            "kafka: failed to publish message; topic='{}', error='{e}', driver='{}', location='{}'",
                            shared.literal_topic.as_deref().unwrap_or_default(),
                            shared.driver,
                            shared.location
                        ));
                        return Err(Some(e));
                    }
                }
            }
        }
        let topic: &str = match &shared.literal_topic {
            Some(t) => t,
            None => {
                self.topic.clear();
                let _ = shared.topic.format(msg, &self.format, &mut self.topic);
                let name = std::str::from_utf8(&self.topic).unwrap_or("");
                match topic_error(name) {
                    None => name,
                    Some(e) => {
                        internal::error(format!(
                            "Error constructing topic; topic_name='{}', driver='{}', location='{}', error message='{e}'",
                            String::from_utf8_lossy(&self.topic),
                            shared.driver,
                            shared.location
                        ));
                        shared.settings.fallback_topic.as_deref().unwrap_or_default()
                    }
                }
            }
        };
        let mut record = BaseRecord::with_opaque_to(topic, tracker.clone()).payload(self.value.as_slice());
        if !self.key.is_empty() {
            record = record.key(self.key.as_slice());
        }
        loop {
            match shared.client.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::select! {
                        _ = tokio::time::sleep(QUEUE_FULL_PAUSE) => {}
                        _ = shutdown.cancelled() => return Err(Some(KafkaError::Canceled)),
                    }
                }
                Err((e, _)) => {
                    internal::error(format!(
                        "kafka: failed to publish message; topic='{topic}', error='{e}', driver='{}', location='{}'",
                        shared.driver, shared.location
                    ));
                    return Err(Some(e));
                }
            }
        }
    }

    /// Starts a transaction (initialising the client's transactions the first time); `false`
    /// when it failed.
    async fn begin_transaction(&self) -> bool {
        let shared = self.shared.clone();
        let result = tokio::task::spawn_blocking(move || {
            if !shared.transactions_ready.load(Ordering::Acquire) {
                shared
                    .client
                    .init_transactions(rdkafka::util::Timeout::Never)
                    .map_err(|e| ("init_transactions failed", e))?;
                shared.transactions_ready.store(true, Ordering::Release);
            }
            shared.client.begin_transaction().map_err(|e| ("failed to start new transaction", e))
        })
        .await;
        self.transaction_result(result)
    }

    /// Commits the transaction; `false` when it failed.
    async fn commit_transaction(&self) -> bool {
        let shared = self.shared.clone();
        let result = tokio::task::spawn_blocking(move || {
            shared
                .client
                .commit_transaction(rdkafka::util::Timeout::Never)
                .map_err(|e| ("Failed to commit transaction", e))
        })
        .await;
        self.transaction_result(result)
    }

    /// `true` when the step worked; otherwise the transaction is aborted if it must be, and the
    /// batch is tried again later, as syslog-ng does.
    fn transaction_result(
        &self,
        result: Result<Result<(), (&'static str, KafkaError)>, tokio::task::JoinError>,
    ) -> bool {
        let (what, e) = match result {
            Ok(Ok(())) => return true,
            Ok(Err(failure)) => failure,
            Err(_) => return false,
        };
        internal::error(format!(
            "kafka: {what}; error='{e}', driver='{}', location='{}'",
            self.shared.driver, self.shared.location
        ));
        if let KafkaError::Transaction(rd) = &e {
            if rd.txn_requires_abort() {
                if let Err(abort) = self.shared.client.abort_transaction(rdkafka::util::Timeout::Never) {
                    internal::error(format!(
                        "kafka: Failed to abort transaction; error='{abort}', driver='{}', location='{}'",
                        self.shared.driver, self.shared.location
                    ));
                }
            }
        }
        false
    }
}
