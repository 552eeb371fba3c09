//! The workers of a `kafka-c()` destination: each takes a batch from the destination queue, hands
//! its records to librdkafka and waits for the broker's delivery reports before taking the next,
//! so that a batch leaves the queue (and frees the sources' flow-control window) only once Kafka
//! has it. One client is shared by the workers, as in syslog-ng; a thread of its own polls it for
//! delivery reports every `poll-timeout()`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::options::{topic_error, Settings};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::{Destination, DestinationContext, Task};

/// Messages a worker takes at once without `batch-lines()`: one round of produce and delivery
/// reports.
const CHUNK: usize = 256;

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

    async fn wait(&self) -> Option<KafkaError> {
        while self.pending.load(Ordering::Acquire) > 0 {
            self.done.notified().await;
        }
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
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
        client: Client,
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
            client: Arc::new(client),
            driver,
            location,
            transactions_ready: AtomicBool::new(false),
        })
    }
}

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
    Success,
    /// Kafka refused the records: retried up to `retries()` times, then dropped.
    Error,
    /// The broker is away: kept and tried again after `time-reopen()`.
    NotConnected,
    /// rsng is stopping and the records were not confirmed in time.
    Stopped,
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
    flush_deadline: Option<tokio::time::Instant>,
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
            flush_deadline: None,
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let settings = self.shared.settings.clone();
        let take = if settings.batch_lines > 0 { settings.batch_lines } else { CHUNK };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
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
            let n = batch.len() as u64;
            match self.send(&batch, &queue, &shutdown).await {
                Outcome::Success => {
                    self.errors = 0;
                    queue.stats.written.fetch_add(n, Ordering::Relaxed);
                    batch.clear();
                }
                Outcome::Stopped => {
                    queue.push_front(&mut batch);
                    return;
                }
                Outcome::Error if self.errors + 1 >= settings.retries => {
                    internal::error(format!(
                        "Multiple failures while sending message(s) to destination, message(s) dropped; \
                         driver='{}', location='{}', worker_index='{}', retries='{}', batch_size='{n}'",
                        self.shared.driver,
                        self.shared.location,
                        self.index,
                        self.errors + 1
                    ));
                    self.errors = 0;
                    queue.stats.discarded.fetch_add(n, Ordering::Relaxed);
                    batch.clear();
                }
                outcome => {
                    if outcome == Outcome::Error {
                        self.errors += 1;
                        internal::error(format!(
                            "Error occurred while trying to send a message, trying again; driver='{}', \
                             location='{}', worker_index='{}', retries='{}', time_reopen='{}', batch_size='{n}'",
                            self.shared.driver,
                            self.shared.location,
                            self.index,
                            self.errors,
                            settings.time_reopen.as_secs()
                        ));
                    } else {
                        internal::info_always(format!(
                            "Server disconnected while preparing messages for sending, trying again; \
                             driver='{}', location='{}', worker_index='{}', time_reopen='{}', batch_size='{n}'",
                            self.shared.driver,
                            self.shared.location,
                            self.index,
                            settings.time_reopen.as_secs()
                        ));
                    }
                    queue.push_front(&mut batch);
                    batch.clear();
                    tokio::select! {
                        _ = tokio::time::sleep(settings.time_reopen) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Produces the batch (in a transaction with `sync-send(yes)`) and waits for its delivery
    /// reports.
    async fn send(&mut self, batch: &[LogMessage], queue: &DestinationQueue, shutdown: &CancellationToken) -> Outcome {
        let shared = self.shared.clone();
        if shared.settings.sync_send {
            if let Some(outcome) = self.begin_transaction().await {
                return outcome;
            }
        }
        let tracker = Arc::new(Tracker::new(batch.len()));
        for (i, msg) in batch.iter().enumerate() {
            if let Err(e) = self.produce(msg, &tracker, shutdown).await {
                // The rest never reaches librdkafka.
                tracker.settle(batch.len() - i, e);
                break;
            }
        }
        if shared.settings.sync_send {
            if let Some(outcome) = self.commit_transaction().await {
                return outcome;
            }
        }
        let error = tokio::select! {
            e = tracker.wait() => e,
            outcome = self.until_flush_deadline(queue, shutdown) => {
                // Still unconfirmed: whatever librdkafka delivers later may arrive twice.
                internal::notice(format!(
                    "kafka: timeout while waiting for the librdkafka queue to empty, the remaining entries go back \
                     to the destination queue; outq_len='{}', driver='{}', location='{}'",
                    shared.client.in_flight_count(),
                    shared.driver,
                    shared.location
                ));
                return outcome;
            }
        };
        match error {
            None => Outcome::Success,
            Some(e) => {
                let transient = transient(&e);
                internal::error(format!(
                    "kafka: delivery report for message came back with an error; error='{e}', driver='{}', \
                     location='{}'",
                    shared.driver, shared.location
                ));
                if transient {
                    Outcome::NotConnected
                } else {
                    Outcome::Error
                }
            }
        }
    }

    /// Resolves when rsng is stopping or reloading and `flush-timeout-on-shutdown()` or
    /// `flush-timeout-on-reload()` has passed since the queue closed.
    async fn until_flush_deadline(&mut self, queue: &DestinationQueue, shutdown: &CancellationToken) -> Outcome {
        queue.closed().await;
        let s = &self.shared.settings;
        let limit = if shutdown.is_cancelled() { s.flush_timeout_on_shutdown } else { s.flush_timeout_on_reload };
        let deadline = *self.flush_deadline.get_or_insert_with(|| tokio::time::Instant::now() + limit);
        tokio::time::sleep_until(deadline).await;
        Outcome::Stopped
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

    /// Starts a transaction (initialising the client's transactions the first time).
    async fn begin_transaction(&self) -> Option<Outcome> {
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

    async fn commit_transaction(&self) -> Option<Outcome> {
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

    /// `None` when the step worked; otherwise the transaction is aborted if it must be, and the
    /// batch is tried again later, as syslog-ng does.
    fn transaction_result(
        &self,
        result: Result<Result<(), (&'static str, KafkaError)>, tokio::task::JoinError>,
    ) -> Option<Outcome> {
        let (what, e) = match result {
            Ok(Ok(())) => return None,
            Ok(Err(failure)) => failure,
            Err(_) => return Some(Outcome::NotConnected),
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
        Some(Outcome::NotConnected)
    }
}
