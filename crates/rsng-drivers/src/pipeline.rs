//! The drivers' side of the pipeline: what a source posts received messages into, and the queue a
//! destination takes them from.
//!
//! A source task owns a [`SourcePort`]. It parses a batch of messages, hands the batch to
//! [`SourcePort::post`], which runs the compiled log paths ([`Route`]) on each message and then
//! moves the messages each destination got into that destination's [`DestinationQueue`] — one
//! lock per destination per batch, none per message. Before reading more, the source awaits
//! [`SourcePort::ready`]: it returns at once unless a flow-controlled destination behind the source
//! is full, which is how a slow destination slows its sources instead of losing messages.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rsng_core::LogMessage;
use tokio::sync::Notify;

use crate::disk_buffer::DiskStore;

fn same_window(a: &Option<Arc<Window>>, b: &Option<Arc<Window>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl Drop for QueueState {
    /// Messages that will never be written still free their sources' windows.
    fn drop(&mut self) {
        self.release_in_flight();
        let n = self.items.len();
        self.release_front(n);
    }
}

impl Drop for DestinationQueue {
    /// A disk buffer's thread writes what is staged and ends.
    fn drop(&mut self) {
        if let Some(disk) = &self.disk {
            disk.close();
        }
    }
}

/// The compiled log paths behind one source: decides which destinations get a message.
pub trait Route: Send + Sync {
    /// Runs the log paths on `msg`, adding it (or its rewritten copies) to `out`.
    fn route(&self, msg: LogMessage, out: &mut Outbox);
}

crate::typed_options! {
    /// What the runtime reads of every destination for its queue (`disk-buffer()` is
    /// [`crate::disk_buffer::DiskBufferOptions`]).
    pub struct QueueOptions {
        driver {
            /// Messages the memory queue holds at most; else the global one.
            pub log_fifo_size: i64 = "log-fifo-size" if (|&n| n > 0);
            /// Whether a reload that keeps the destination keeps its connection and queue.
            pub keep_alive: bool = "keep-alive" or (true);
        }
        inherited {}
        global {}
    }
}

/// The messages one batch sends to each destination, indexed like [`SourcePort`]'s outlets.
#[derive(Debug, Default)]
pub struct Outbox {
    pending: Vec<Vec<LogMessage>>,
}

impl Outbox {
    /// Queues `msg` for outlet `outlet`.
    pub fn send(&mut self, outlet: usize, msg: LogMessage) {
        if self.pending.len() <= outlet {
            self.pending.resize_with(outlet + 1, Vec::new);
        }
        self.pending[outlet].push(msg);
    }
}

/// A destination queue as seen from the sources: the queue and whether the log path that leads
/// to it has `flags(flow-control)`.
#[derive(Debug, Clone)]
pub struct Outlet {
    pub queue: Arc<DestinationQueue>,
    pub flow_control: bool,
}

/// Counters of one source, shared by its connections.
#[derive(Debug, Default)]
pub struct SourceStats {
    /// Messages received (`processed` in `syslog-ng-ctl stats`).
    pub processed: AtomicU64,
    /// Unix time of the last message (`stamp`); 0: none yet.
    pub stamp: AtomicU64,
    /// Stream listeners: stats component (`src.network`), instance
    /// (`afsocket_sd.(stream,AF_INET(0.0.0.0:514))`) and live connections.
    listeners: Mutex<Vec<(String, String, Arc<AtomicUsize>)>>,
    /// Messages per sender: component, driver id, instance (`tcp,10.0.0.1`). Kept after the
    /// connection closes, as syslog-ng keeps them.
    peers: Mutex<Vec<PeerCounter>>,
}

/// Component, driver id, instance, counter of one sender's (or driver's) messages, and the
/// `stats-level()` from which syslog-ng shows it.
type PeerCounter = (String, String, String, Arc<Counted>, i64);

/// A count of messages and when the last one came (syslog-ng's `processed` and `stamp`), with
/// the sizes of the frames (`msg_size_avg`, `msg_size_max`) and the connections counting into
/// it (the size rows are orphaned while there is none, as syslog-ng's reader unregisters them).
#[derive(Debug)]
pub struct Counted {
    pub processed: AtomicU64,
    /// Unix time of the last message; 0: none yet.
    pub stamp: AtomicU64,
    /// Unix time the counter was made, for the per-second rates.
    pub since: u64,
    pub size_sum: AtomicU64,
    pub size_count: AtomicU64,
    pub size_max: AtomicU64,
    /// Connections counting into this counter now.
    pub open: AtomicUsize,
}

impl Default for Counted {
    fn default() -> Counted {
        Counted {
            processed: AtomicU64::new(0),
            stamp: AtomicU64::new(0),
            since: unix_now(),
            size_sum: AtomicU64::new(0),
            size_count: AtomicU64::new(0),
            size_max: AtomicU64::new(0),
            open: AtomicUsize::new(0),
        }
    }
}

impl Counted {
    fn add(&self, n: usize, now: u64) {
        self.processed.fetch_add(n as u64, Ordering::Relaxed);
        self.stamp.store(now, Ordering::Relaxed);
    }

    fn add_sizes(&self, sizes: &mut Sizes) {
        if sizes.count > 0 {
            self.size_sum.fetch_add(sizes.sum, Ordering::Relaxed);
            self.size_count.fetch_add(sizes.count, Ordering::Relaxed);
            self.size_max.fetch_max(sizes.max, Ordering::Relaxed);
            *sizes = Sizes::default();
        }
    }
}

/// Frame sizes seen since the last post.
#[derive(Debug, Default, Clone, Copy)]
struct Sizes {
    sum: u64,
    count: u64,
    max: u64,
}

/// The current Unix time in seconds, for stamps (once per batch).
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl SourceStats {
    /// Lists a listener's live-connection count under `component;OBJECT;instance`.
    pub fn register_listener(&self, component: String, instance: String, live: &Arc<AtomicUsize>) {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner()).push((component, instance, live.clone()));
    }

    /// Removes a listener registered with [`SourceStats::register_listener`].
    pub fn unregister_listener(&self, live: &Arc<AtomicUsize>) {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, _, l)| !Arc::ptr_eq(l, live));
    }

    /// The counter of messages from one sender (made on its first connection).
    pub fn peer_counter(&self, component: &str, id: &str, instance: &str) -> Arc<Counted> {
        self.counter_from_level(1, component, id, instance)
    }

    /// A driver's own counter, shown at every `stats-level()` (`src.internal;s#0;;a;processed`).
    pub fn driver_counter(&self, component: &str, id: &str) -> Arc<Counted> {
        self.counter_from_level(0, component, id, "")
    }

    fn counter_from_level(&self, level: i64, component: &str, id: &str, instance: &str) -> Arc<Counted> {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((.., n, _)) = peers.iter().find(|(c, i, inst, ..)| c == component && i == id && inst == instance) {
            return n.clone();
        }
        let n = Arc::new(Counted::default());
        peers.push((component.to_string(), id.to_string(), instance.to_string(), n.clone(), level));
        n
    }

    /// `(component, id, instance, messages)` of each sender.
    /// The counters shown at `stats-level(level)`: component, id, instance and counter.
    pub fn peers(&self, level: i64) -> Vec<(String, String, String, Arc<Counted>)> {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers
            .iter()
            .filter(|p| p.4 <= level)
            .map(|(c, i, inst, n, _)| (c.clone(), i.clone(), inst.clone(), n.clone()))
            .collect()
    }

    /// `(component, instance, connections)` of each listener.
    pub fn listeners(&self) -> Vec<(String, String, usize)> {
        let list = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().map(|(c, i, l)| (c.clone(), i.clone(), l.load(Ordering::Relaxed))).collect()
    }
}

/// The log paths and destination queues behind one source, replaceable while connections run: a
/// reload that keeps the source swaps in the new configuration's paths, and every connection picks
/// them up at its next batch.
/// The paths and queues a [`RouteCell`] holds.
type Routing = (Arc<dyn Route>, Arc<[Outlet]>);

pub struct RouteCell {
    current: RwLock<Routing>,
    generation: AtomicU64,
}

impl RouteCell {
    pub fn new(route: Arc<dyn Route>, outlets: Arc<[Outlet]>) -> Arc<RouteCell> {
        Arc::new(RouteCell { current: RwLock::new((route, outlets)), generation: AtomicU64::new(0) })
    }

    /// Installs new log paths; connections switch at their next batch.
    /// Switches the sources to `route` and `outlets`. Returns once no post is on its way into
    /// the old outlets (every post holds the read side while it routes and queues), so that a
    /// replaced destination's queue, closed after this, takes nothing more.
    pub fn replace(&self, route: Arc<dyn Route>, outlets: Arc<[Outlet]>) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = (route, outlets);
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn load(&self) -> (u64, Arc<dyn Route>, Arc<[Outlet]>) {
        let generation = self.generation.load(Ordering::Acquire);
        let cur = self.current.read().unwrap_or_else(|e| e.into_inner());
        (generation, cur.0.clone(), cur.1.clone())
    }
}

/// A source connection's flow-control window (`log-iw-size()`): how many of its messages may
/// wait in flow-controlled destination queues. Posting takes from it, the destination's writer
/// taking the messages out of the queue gives back; at zero the connection stops reading.
#[derive(Debug)]
pub struct Window {
    available: AtomicIsize,
    opened: Notify,
}

impl Window {
    pub fn new(size: usize) -> Arc<Window> {
        Arc::new(Window { available: AtomicIsize::new(size.max(1) as isize), opened: Notify::new() })
    }

    pub(crate) fn take(&self, n: usize) {
        self.available.fetch_sub(n as isize, Ordering::AcqRel);
    }

    pub(crate) fn release(&self, n: usize) {
        let before = self.available.fetch_add(n as isize, Ordering::AcqRel);
        if before <= 0 && before + n as isize > 0 {
            self.opened.notify_waiters();
        }
    }

    /// The messages the window still admits (negative: over by one batch).
    pub fn available(&self) -> isize {
        self.available.load(Ordering::Acquire)
    }

    async fn wait_open(&self) {
        loop {
            let opened = self.opened.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            if self.available() > 0 {
                return;
            }
            opened.await;
        }
    }
}

/// Where a source connection posts what it receives. Each connection task owns one; cloning it
/// (one clone per accepted connection) gives the clone a window of its own.
pub struct SourcePort {
    cell: Arc<RouteCell>,
    generation: u64,
    route: Arc<dyn Route>,
    outlets: Arc<[Outlet]>,
    outbox: Outbox,
    stats: Arc<SourceStats>,
    window_size: usize,
    window: Option<Arc<Window>>,
    /// Whether a full queue without flow control makes this source wait for its writer (see
    /// [`SourcePort::set_pacing`]).
    pace: bool,
    /// Messages are left in `outbox` that full queues did not take yet.
    backlog: bool,
    /// The sender's counter, for a connection.
    peer: Option<Arc<Counted>>,
    /// Frame sizes not yet added to `peer`.
    sizes: Sizes,
    /// The source driver's id (`s#0`), for the per-message counters of `stats-level(3)`.
    stats_id: Option<Arc<str>>,
}

impl Clone for SourcePort {
    fn clone(&self) -> Self {
        let mut port = SourcePort::new(self.cell.clone(), self.stats.clone());
        port.stats_id = self.stats_id.clone();
        port.set_window_size(self.window_size);
        port.pace = self.pace;
        port
    }
}

impl Drop for SourcePort {
    /// What full queues had not taken yet is queued beyond their size rather than lost.
    fn drop(&mut self) {
        self.force_backlog();
        if let Some(peer) = &self.peer {
            peer.add_sizes(&mut self.sizes);
            peer.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl SourcePort {
    pub fn new(cell: Arc<RouteCell>, stats: Arc<SourceStats>) -> SourcePort {
        let (generation, route, outlets) = cell.load();
        SourcePort {
            cell,
            generation,
            route,
            outlets,
            outbox: Outbox::default(),
            stats,
            window_size: 0,
            window: None,
            pace: false,
            backlog: false,
            peer: None,
            sizes: Sizes::default(),
            stats_id: None,
        }
    }

    /// Names the source driver (`s#0`) for the per-message counters.
    pub fn with_stats_id(mut self, id: Arc<str>) -> SourcePort {
        self.stats_id = Some(id);
        self
    }

    /// Counts what this port receives in `counter` too (one sender's messages).
    pub fn count_peer(&mut self, counter: Arc<Counted>) {
        counter.open.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.peer.replace(counter) {
            old.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Notes the size of a frame received (for the sender's `msg_size_*` rows).
    pub fn note_size(&mut self, len: usize) {
        let len = len as u64;
        self.sizes.sum += len;
        self.sizes.count += 1;
        self.sizes.max = self.sizes.max.max(len);
    }

    /// Makes a full queue without flow control hold this source back while its writer is
    /// draining it: the messages that do not fit wait in the port, and [`SourcePort::ready`]
    /// waits for room before the next read. Only a queue whose writer makes no progress for
    /// [`STALL_LIMIT`] drops them. For stream sources, whose peer waits through TCP without
    /// losing anything; readers at full speed would otherwise take the CPU from the writers and
    /// drop far more than the writers could have written.
    pub fn set_pacing(&mut self, on: bool) {
        self.pace = on;
    }

    /// Gives this port (and each clone) a flow-control window of `size` messages (0: none; a
    /// full flow-controlled queue then stops the source instead).
    pub fn set_window_size(&mut self, size: usize) {
        self.window_size = size;
        self.window = (size > 0).then(|| Window::new(size));
    }

    /// This port's window, if it has one.
    pub fn window(&self) -> Option<&Arc<Window>> {
        self.window.as_ref()
    }

    /// How many more messages may be posted before the window is full, as syslog-ng's reader
    /// stops at its window (`None`: no window, or no flow-controlled destination behind it). A
    /// message counts once for each flow-controlled destination; at least one when the window
    /// is open, so that a reader whose `ready()` returned always moves on.
    pub fn budget(&self) -> Option<usize> {
        let window = self.window.as_ref()?;
        let flow = self.outlets.iter().filter(|o| o.flow_control).count();
        if flow == 0 {
            return None;
        }
        let available = usize::try_from(window.available()).unwrap_or(0);
        Some((available / flow).max(usize::from(available > 0)))
    }

    /// The source's counters.
    pub fn stats(&self) -> &Arc<SourceStats> {
        &self.stats
    }

    /// Picks up new log paths after a reload (one atomic load per batch otherwise).
    /// Routes every message of `batch` (leaving it empty) and queues the results.
    pub fn post(&mut self, batch: &mut Vec<LogMessage>) {
        if batch.is_empty() {
            return;
        }
        // Held until the batch is queued: a reload's `replace` waits for it (once per batch).
        let cell = self.cell.clone();
        let current = cell.current.read().unwrap_or_else(|e| e.into_inner());
        let generation = cell.generation.load(Ordering::Acquire);
        if generation != self.generation {
            // The backlog belongs to the old outlets.
            self.force_backlog();
            self.generation = generation;
            self.route = current.0.clone();
            self.outlets = current.1.clone();
        }
        let now = unix_now();
        self.stats.processed.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.stats.stamp.store(now, Ordering::Relaxed);
        // A source's messages are all local or all remote.
        if batch[0].is_local() {
            crate::mark::postpone_internal();
        }
        if let Some(peer) = &self.peer {
            peer.add(batch.len(), now);
            peer.add_sizes(&mut self.sizes);
        }
        if crate::msg_stats::active() {
            if let Some(id) = &self.stats_id {
                crate::msg_stats::count(id, batch);
            }
        }
        for msg in batch.drain(..) {
            self.route.route(msg, &mut self.outbox);
        }
        for (outlet, pending) in self.outlets.iter().zip(self.outbox.pending.iter_mut()) {
            if !pending.is_empty() {
                let window = if outlet.flow_control { self.window.as_ref() } else { None };
                let keep = self.pace && !outlet.flow_control;
                outlet.queue.push_inner(pending, outlet.flow_control, window, keep);
                self.backlog |= !pending.is_empty();
            }
        }
    }

    /// Queues the backlog even beyond the queues' sizes (at most one read's worth).
    fn force_backlog(&mut self) {
        if !self.backlog {
            return;
        }
        self.backlog = false;
        for (outlet, pending) in self.outlets.iter().zip(self.outbox.pending.iter_mut()) {
            if !pending.is_empty() {
                outlet.queue.push_inner(pending, true, None, false);
            }
        }
    }

    /// Waits until the queues have taken the backlog, or drops it into a queue whose writer
    /// makes no progress.
    async fn drain_backlog(&mut self) {
        for (outlet, pending) in self.outlets.iter().zip(self.outbox.pending.iter_mut()) {
            while !pending.is_empty() {
                let room = tokio::time::timeout(STALL_LIMIT, outlet.queue.wait_for_room()).await.is_ok();
                if !room {
                    outlet.queue.stalled.store(true, Ordering::Relaxed);
                }
                outlet.queue.push_inner(pending, false, None, room);
            }
        }
        self.backlog = false;
    }

    /// Routes one message.
    pub fn post_one(&mut self, msg: LogMessage) {
        let mut batch = vec![msg];
        self.post(&mut batch);
    }

    /// Waits until every destination behind this source has room, flow-controlled or not. For
    /// sources that can wait without losing anything (files, pipes): they read no faster than the
    /// destinations write, instead of overflowing queues that would drop.
    pub async fn ready_all(&self) {
        for outlet in self.outlets.iter() {
            outlet.queue.wait_for_room().await;
        }
    }

    /// Waits until every flow-controlled destination behind this source has room (as of the
    /// last batch; a reload takes effect at the next one), and, when pacing, until full queues
    /// have taken what they could not take yet.
    pub async fn ready(&mut self) {
        if self.backlog {
            self.drain_backlog().await;
        }
        if self.pace {
            for outlet in self.outlets.iter().filter(|o| !o.flow_control) {
                outlet.queue.pace(READ_AHEAD).await;
            }
        }
        if let Some(window) = &self.window {
            if self.outlets.iter().any(|o| o.flow_control) {
                window.wait_open().await;
                for outlet in self.outlets.iter().filter(|o| o.flow_control) {
                    outlet.queue.pace(READ_AHEAD).await;
                }
            }
            return;
        }
        for outlet in self.outlets.iter().filter(|o| o.flow_control) {
            outlet.queue.wait_for_room().await;
        }
    }
}

/// Counters of one destination queue.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Messages put into the queue.
    pub queued_total: AtomicU64,
    /// Messages dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Messages the destination has written (`processed`/`written`).
    pub written: AtomicU64,
    /// Dropped messages not reported in an internal message yet.
    unreported: AtomicU64,
    /// When drops were last reported (milliseconds since [`epoch`]).
    reported_at: AtomicU64,
    /// Messages the destination took and then gave up on (a server that refused them): counted
    /// as `dropped` too, but they were queued, so not again as `processed`.
    pub discarded: AtomicU64,
    /// What the destination's formatter wrote.
    pub writer: WriterStats,
    /// Unix time the counters were made, for the per-second rates.
    pub since: AtomicU64,
}

/// The sizes of formatted messages (`msg_size_avg`, `msg_size_max`) and what `truncate-size()`
/// cut (`truncated_count`, `truncated_bytes`). One writer updates them: plain stores of its
/// own totals, no read-modify-write per message.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub size_sum: AtomicU64,
    pub size_count: AtomicU64,
    pub size_max: AtomicU64,
    pub truncated_count: AtomicU64,
    pub truncated_bytes: AtomicU64,
}

/// How long a source waits for a writer that makes no room in its full queue before the queue
/// counts as stalled: then the messages that do not fit are dropped at once (without flow
/// control), until the writer takes a batch again.
pub const STALL_LIMIT: std::time::Duration = std::time::Duration::from_millis(200);

/// How far readers read ahead of a memory queue's writer while it takes batches: past this
/// many queued messages they wait for it, even where their windows would allow more. The windows stay the bound syslog-ng gives them; within them, messages wait in the
/// senders' socket buffers rather than in rsng's memory (a queued message costs about 700
/// bytes), and the writer still finds most of a batch ready (1,024 for `file()`). 512 made its
/// batches smaller and cost about a fifth more CPU per message; 1,024 held about 0.8 MiB more at
/// the same rate (docs/benchmarks.md).
pub const READ_AHEAD: usize = 768;

/// Drops are reported at most this often per destination.
const DROP_REPORT_INTERVAL_MS: u64 = 1000;

/// Milliseconds since the first call, for rate limits.
fn epoch_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_millis() as u64
}

#[derive(Debug, Default)]
struct QueueState {
    items: VecDeque<LogMessage>,
    /// Whose window each run of `items` was taken from (run lengths in queue order).
    runs: VecDeque<(usize, Option<Arc<Window>>)>,
    /// The windows of the batch the writer took last: given back when the writer comes for the
    /// next one (it has written this one then), or put back with it by `push_front`.
    in_flight: Vec<(usize, Option<Arc<Window>>)>,
    closed: bool,
}

impl QueueState {
    fn release_in_flight(&mut self) {
        for (n, window) in self.in_flight.drain(..) {
            if let Some(w) = window {
                w.release(n);
            }
        }
    }

    /// `n` messages left the front of `items` for the writer: their windows go in flight.
    fn take_front(&mut self, mut n: usize) {
        while n > 0 {
            let Some((count, window)) = self.runs.front_mut() else { return };
            let m = (*count).min(n);
            self.in_flight.push((m, window.clone()));
            *count -= m;
            n -= m;
            if *count == 0 {
                self.runs.pop_front();
            }
        }
    }

    /// `n` messages left the front of `items` for good: give their windows back.
    fn release_front(&mut self, mut n: usize) {
        while n > 0 {
            let Some((count, window)) = self.runs.front_mut() else { return };
            let m = (*count).min(n);
            if let Some(w) = window {
                w.release(m);
            }
            *count -= m;
            n -= m;
            if *count == 0 {
                self.runs.pop_front();
            }
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// A destination's bounded queue (`log-fifo-size()`).
///
/// Without flow control a full queue drops what does not fit and counts it; with flow control
/// messages are always taken (a source only posts after [`SourcePort::ready`], so the queue grows
/// by at most one batch per source beyond its capacity).
#[derive(Debug)]
pub struct DestinationQueue {
    name: String,
    capacity: usize,
    state: Mutex<QueueState>,
    readable: Arc<Notify>,
    writable: Arc<Notify>,
    /// With `disk-buffer()`, the queue is this file instead of memory.
    disk: Option<Arc<DiskStore>>,
    /// Woken by [`DestinationQueue::close`].
    closing: Notify,
    /// The writer made no room for [`STALL_LIMIT`]: sources drop what does not fit without
    /// waiting. Cleared when the writer takes a batch.
    stalled: std::sync::atomic::AtomicBool,
    /// The writer took nothing for [`STALL_LIMIT`] while paced sources waited: they stop
    /// pacing until it takes a batch again.
    unpaced: std::sync::atomic::AtomicBool,
    /// Batches the writer took, for [`DestinationQueue::pace`] to tell a busy writer from an
    /// idle one.
    takes: AtomicU64,
    pub stats: Arc<QueueStats>,
    /// A writer's `mark-mode()` state (`None` for drivers that are not writers, and writers in
    /// the `internal` mode).
    marks: Option<Arc<crate::mark::WriterMarks>>,
    /// A writer's `suppress()` state.
    suppress: Option<Arc<crate::suppress::Suppress>>,
}

impl DestinationQueue {
    pub fn new(name: impl Into<String>, capacity: usize) -> DestinationQueue {
        DestinationQueue {
            name: name.into(),
            capacity: capacity.max(1),
            state: Mutex::new(QueueState::default()),
            readable: Arc::new(Notify::new()),
            writable: Arc::new(Notify::new()),
            disk: None,
            closing: Notify::new(),
            stalled: std::sync::atomic::AtomicBool::new(false),
            unpaced: std::sync::atomic::AtomicBool::new(false),
            takes: AtomicU64::new(0),
            stats: Arc::default(),
            marks: None,
            suppress: None,
        }
    }

    /// The queue of a writer with this `mark-mode()` state.
    pub fn with_marks(mut self, marks: Option<Arc<crate::mark::WriterMarks>>) -> DestinationQueue {
        self.marks = marks;
        self
    }

    pub fn with_suppress(mut self, suppress: Option<Arc<crate::suppress::Suppress>>) -> DestinationQueue {
        self.suppress = suppress;
        self
    }

    /// The writer's `suppress()` state, whose timer runs beside the writer.
    pub fn suppress(&self) -> Option<&Arc<crate::suppress::Suppress>> {
        self.suppress.as_ref()
    }

    /// The writer's `mark-mode()` state, whose timer runs beside the writer.
    pub fn marks(&self) -> Option<&Arc<crate::mark::WriterMarks>> {
        self.marks.as_ref()
    }

    /// A queue kept in a disk buffer (`disk-buffer()`); what an earlier run left in it is
    /// delivered first. Starts the buffer's appending thread.
    ///
    /// # Errors
    /// When the thread cannot be started.
    /// `memory` messages more are held in memory behind the file once it is full (a
    /// non-reliable buffer's `qout-size()` and `mem-buf-length()`); they are written into the
    /// file when the queue closes, so the next run has them too.
    pub fn with_disk(
        name: impl Into<String>,
        store: DiskStore,
        memory: usize,
        stats: Option<Arc<QueueStats>>,
    ) -> std::io::Result<DestinationQueue> {
        let mut q = DestinationQueue::new(name, 1).with_stats(stats);
        q.capacity = memory;
        let store = Arc::new(store);
        let (readable, stats, path) = (q.readable.clone(), q.stats.clone(), store.path().to_path_buf());
        store.start(Box::new(move |appended| match appended {
            Ok(_) => readable.notify_one(),
            Err((n, e)) => {
                stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                crate::internal::error(format!(
                    "Error writing disk buffer, dropping messages; file='{}', error='{e}', count='{n}'",
                    path.display()
                ));
            }
        }))?;
        q.disk = Some(store);
        Ok(q)
    }

    /// Counts into `stats` (those of the destination this one replaces) instead of its own.
    pub fn with_stats(mut self, stats: Option<Arc<QueueStats>>) -> DestinationQueue {
        if let Some(stats) = stats {
            self.stats = stats;
        }
        let _ = self.stats.since.compare_exchange(0, unix_now(), Ordering::Relaxed, Ordering::Relaxed);
        self
    }

    /// Whether the queue outlives the process (a disk buffer).
    pub fn is_persistent(&self) -> bool {
        self.disk.is_some()
    }

    /// Records what the writer took as delivered and syncs a disk buffer, after writing what is
    /// staged (on a stop).
    pub fn flush(&self) {
        if let Some(disk) = &self.disk {
            if let Err(e) = disk.flush() {
                crate::internal::error(format!(
                    "Error syncing disk buffer; file='{}', error='{e}'",
                    disk.path().display()
                ));
            }
        }
    }

    /// The destination's name, for logs and stats.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding the lock cannot leave the deque inconsistent: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves `batch` into the queue (leaving it empty).
    pub fn push(&self, batch: &mut Vec<LogMessage>, flow_control: bool) {
        self.push_windowed(batch, flow_control, None);
    }

    /// Moves `batch` into the queue, charging `window` for each message queued.
    pub fn push_windowed(&self, batch: &mut Vec<LogMessage>, flow_control: bool, window: Option<&Arc<Window>>) {
        self.push_inner(batch, flow_control, window, false);
    }

    /// As [`DestinationQueue::push_windowed`]; with `keep`, what does not fit into a full queue
    /// without flow control stays in `batch` (unless the queue is stalled) instead of dropping.
    fn push_inner(&self, batch: &mut Vec<LogMessage>, flow_control: bool, window: Option<&Arc<Window>>, keep: bool) {
        if let Some(marks) = &self.marks {
            marks.accept(batch);
        }
        if let Some(suppress) = &self.suppress {
            suppress.accept(batch);
        }
        self.enqueue(batch, flow_control, window, keep);
    }

    /// Queues a message the writer made itself (a MARK), past the `mark-mode()` rules.
    pub fn push_own(&self, batch: &mut Vec<LogMessage>) {
        self.enqueue(batch, false, None, false);
    }

    fn enqueue(&self, batch: &mut Vec<LogMessage>, flow_control: bool, window: Option<&Arc<Window>>, keep: bool) {
        let keep = keep && !self.stalled.load(Ordering::Relaxed);
        let mut dropped = 0u64;
        let mut queued = 0u64;
        if let Some(disk) = &self.disk {
            // Staged for the buffer's thread, which makes them readable once written; the window
            // comes back then (with reliable(yes), once synced). While messages wait in memory
            // behind a full file, new ones join them, to keep the order.
            let behind = !flow_control && !self.lock().items.is_empty();
            let stored = if behind { 0 } else { disk.push(batch, flow_control, window.filter(|_| flow_control)) };
            queued = stored as u64;
            batch.drain(..stored);
        }
        let into_memory = {
            let mut state = self.lock();
            let before = queued;
            let fits = if flow_control { batch.len() } else { self.capacity.saturating_sub(state.items.len()) };
            let n = fits.min(batch.len());
            state.items.extend(batch.drain(..n));
            queued += n as u64;
            if !keep {
                dropped += batch.len() as u64;
                batch.clear();
            }
            let n = (queued - before) as usize;
            if n > 0 {
                let window = window.cloned();
                if let Some(w) = &window {
                    w.take(n);
                }
                match state.runs.back_mut() {
                    Some((count, last)) if same_window(last, &window) => *count += n,
                    _ => state.runs.push_back((n, window)),
                }
            }
            n
        };
        self.stats.queued_total.fetch_add(queued, Ordering::Relaxed);
        if dropped > 0 {
            self.count_dropped(dropped);
        }
        // A disk buffer's thread wakes the writer for what it wrote to the file.
        if into_memory > 0 {
            self.readable.notify_one();
        }
    }

    /// Counts `n` dropped messages and reports drops in an internal warning, at most once per
    /// [`DROP_REPORT_INTERVAL_MS`].
    fn count_dropped(&self, n: u64) {
        self.stats.dropped.fetch_add(n, Ordering::Relaxed);
        self.stats.unreported.fetch_add(n, Ordering::Relaxed);
        let now = epoch_ms();
        let last = self.stats.reported_at.load(Ordering::Relaxed);
        // 0: nothing reported yet, the first drop is told at once.
        if (last == 0 || now.saturating_sub(last) >= DROP_REPORT_INTERVAL_MS)
            && self.stats.reported_at.compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.report_drops();
        }
    }

    /// Reports the drops not reported yet (also at stop, so that the last ones are told too).
    pub fn report_drops(&self) {
        let n = self.stats.unreported.swap(0, Ordering::Relaxed);
        if n > 0 {
            crate::internal::warning(format!(
                "Destination queue full, dropping messages; destination='{}', count='{n}', log_fifo_size='{}'",
                self.name, self.capacity
            ));
        }
    }

    /// Puts messages back at the front (a write failed; they go out first after reconnecting).
    pub fn push_front(&self, batch: &mut Vec<LogMessage>) {
        if let Some(disk) = &self.disk {
            // The file still holds them: hand the last batch out again.
            disk.rewind();
            batch.clear();
            return;
        }
        let mut state = self.lock();
        let n = batch.len();
        for msg in batch.drain(..).rev() {
            state.items.push_front(msg);
        }
        if n > 0 {
            // The batch comes back with the windows it holds.
            if state.in_flight.iter().map(|(c, _)| c).sum::<usize>() == n {
                let runs = std::mem::take(&mut state.in_flight);
                for run in runs.into_iter().rev() {
                    state.runs.push_front(run);
                }
            } else {
                state.release_in_flight();
                state.runs.push_front((n, None));
            }
        }
    }

    /// The number of queued messages.
    /// About how many bytes the messages waiting in memory hold (`memory_usage`); a disk
    /// buffer keeps its messages on disk.
    pub fn memory_usage(&self) -> u64 {
        self.lock().items.iter().map(|m| m.size_estimate() as u64).sum()
    }

    pub fn len(&self) -> usize {
        match &self.disk {
            Some(disk) => disk.len() + self.lock().items.len(),
            None => self.lock().len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until a memory queue holds fewer than `limit` messages (a disk buffer: at once).
    /// Fewer than `limit` messages are queued, or the queue is closed.
    fn below(&self, limit: usize) -> bool {
        let state = self.lock();
        state.items.len() < limit || state.closed
    }

    async fn wait_below(&self, limit: usize) {
        loop {
            let notified = self.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.below(limit) {
                return;
            }
            notified.await;
        }
    }

    /// Holds a source back while `limit` or more messages are queued and the writer is taking
    /// them: the rest waits in the sender's socket buffer rather than in memory (up to the
    /// window with flow control, `log-fifo-size()` without). When the writer takes nothing for
    /// [`STALL_LIMIT`] (its destination is away), sources fill the queue as syslog-ng's do, up
    /// to their windows, or to `log-fifo-size()` and then dropping, until it takes a batch
    /// again.
    async fn pace(&self, limit: usize) {
        if self.disk.is_some() {
            return;
        }
        loop {
            if self.unpaced.load(Ordering::Relaxed) || self.below(limit) {
                return;
            }
            let takes = self.takes.load(Ordering::Relaxed);
            if tokio::time::timeout(STALL_LIMIT, self.wait_below(limit)).await.is_ok() {
                return;
            }
            // Other sources may have taken the room each time: only a writer that took nothing
            // meanwhile unpaces them.
            if self.takes.load(Ordering::Relaxed) == takes {
                self.unpaced.store(true, Ordering::Relaxed);
                return;
            }
        }
    }

    async fn wait_for_room(&self) {
        loop {
            let notified = self.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.lock();
                let room = match &self.disk {
                    Some(disk) => (disk.has_room() && state.items.is_empty()) || state.items.len() < self.capacity,
                    None => state.items.len() < self.capacity,
                };
                if room || state.closed {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Waits until at least `n` messages are queued; `false` once the queue is closed. A writer
    /// that batches by count fills its batch here before taking it, so that one take stays one
    /// delivery (as a disk buffer counts them).
    pub async fn wait_len(&self, n: usize) -> bool {
        loop {
            let notified = self.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.closed {
                    return false;
                }
                // A disk buffer holds its messages outside the state (kept from before a restart
                // too).
                let queued = match &self.disk {
                    Some(disk) => disk.len(),
                    None => state.len(),
                };
                if queued >= n {
                    return true;
                }
                // The writer waits for more, so it is done with what it took last: give those
                // windows back now, or a source whose window that batch filled would wait for
                // the writer while the writer waits for the source.
                state.release_in_flight();
            }
            notified.await;
        }
    }

    /// Takes up to `max` messages into `out`, waiting for at least one. Returns `false` once the
    /// queue is closed and empty.
    pub async fn pop(&self, max: usize, out: &mut Vec<LogMessage>) -> bool {
        if let Some(disk) = &self.disk {
            return self.pop_disk(disk, max, out).await;
        }
        loop {
            let notified = self.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(open) = self.try_pop(max, out) {
                return open;
            }
            notified.await;
        }
    }

    /// Takes up to `max` messages without waiting: `Some(true)` when it took some, `Some(false)`
    /// when closed and empty, `None` when empty and open.
    pub fn try_pop(&self, max: usize, out: &mut Vec<LogMessage>) -> Option<bool> {
        let mut state = self.lock();
        // The writer is back for more: what it took last is written.
        state.release_in_flight();
        if state.items.is_empty() {
            return if state.closed { Some(false) } else { None };
        }
        let n = max.min(state.items.len());
        out.extend(state.items.drain(..n));
        state.take_front(n);
        let more = !state.items.is_empty();
        drop(state);
        self.stalled.store(false, Ordering::Relaxed);
        self.unpaced.store(false, Ordering::Relaxed);
        self.takes.fetch_add(1, Ordering::Relaxed);
        self.writable.notify_waiters();
        if more {
            // A push wakes one writer; with several (http() workers) the next one takes the rest.
            self.readable.notify_one();
        }
        Some(true)
    }

    /// Whether [`DestinationQueue::close`] was called: a writer that cannot deliver (its peer is
    /// away) may stop at once instead of retrying, since rsng is stopping.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Returns once the queue is closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.closing.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Gives up what a memory queue still holds (its writer has stopped for good): the queued
    /// messages and the batch the writer took without coming back for the next one. Counts
    /// them as dropped and returns how many there were. A disk buffer keeps its messages.
    pub fn abandon(&self) -> u64 {
        if self.disk.is_some() {
            return 0;
        }
        let mut state = self.lock();
        let lost = state.items.len() + state.in_flight.iter().map(|(n, _)| n).sum::<usize>();
        state.release_in_flight();
        let n = state.items.len();
        state.items.clear();
        state.release_front(n);
        drop(state);
        self.stats.dropped.fetch_add(lost as u64, Ordering::Relaxed);
        self.report_drops();
        lost as u64
    }

    /// After a pop that emptied a full queue smaller than the writer's batch: lets the sources
    /// that wait for room refill it and takes what they put, a few rounds, so that the writer's
    /// cost per batch (a hand-off to the blocking pool, a write) is spread over more messages.
    pub async fn gather(&self, max: usize, out: &mut Vec<LogMessage>) {
        const ROUNDS: usize = 8;
        if out.len() < self.capacity {
            return;
        }
        for _ in 0..ROUNDS {
            if out.len() >= max {
                return;
            }
            tokio::task::yield_now().await;
            if self.disk.is_some() {
                return;
            }
            let mut state = self.lock();
            if state.items.is_empty() {
                return;
            }
            // What the writer took already stays in flight: it is not written yet.
            let n = (max - out.len()).min(state.items.len());
            out.extend(state.items.drain(..n));
            state.take_front(n);
            drop(state);
            self.writable.notify_waiters();
        }
    }

    /// [`DestinationQueue::pop`] of a disk buffer: the file is read on the blocking pool.
    async fn pop_disk(&self, disk: &Arc<DiskStore>, max: usize, out: &mut Vec<LogMessage>) -> bool {
        loop {
            let notified = self.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let closed = self.is_closed();
            let store = disk.clone();
            let mut batch = std::mem::take(out);
            let read = tokio::task::spawn_blocking(move || {
                let r = store.pop(max, &mut batch);
                (r, batch)
            })
            .await;
            let taken = match read {
                Ok((r, batch)) => {
                    *out = batch;
                    r.unwrap_or_else(|e| {
                        crate::internal::error(format!(
                            "Error reading disk buffer; file='{}', error='{e}'",
                            disk.path().display()
                        ));
                        0
                    })
                }
                Err(_) => 0,
            };
            if taken > 0 {
                self.writable.notify_waiters();
                return true;
            }
            // The file is done: what waits in memory behind it is next.
            if disk.is_empty() {
                if let Some(open) = self.try_pop(max, out) {
                    return open;
                }
            }
            // Closed, and nothing staged is left to be written.
            if closed && disk.is_empty() {
                return false;
            }
            if closed {
                // What is staged becomes readable soon.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
            notified.await;
        }
    }

    /// The writer failed (panicked) holding the batch it took last. A disk buffer still has it
    /// and hands it out again; in memory it is gone: counted as dropped and reported.
    pub fn writer_failed(&self) {
        if let Some(disk) = &self.disk {
            disk.rewind();
            return;
        }
        let mut state = self.lock();
        let lost = state.in_flight.iter().map(|(n, _)| n).sum::<usize>() as u64;
        state.release_in_flight();
        drop(state);
        if lost > 0 {
            self.stats.dropped.fetch_add(lost, Ordering::Relaxed);
            crate::internal::error(format!(
                "Messages the failed writer held are lost; destination='{}', count='{lost}'",
                self.name
            ));
        }
    }

    /// No more messages will come: the writer drains what is queued and stops.
    pub fn close(&self) {
        if let Some(disk) = &self.disk {
            // What waits in memory behind the file goes into it for the next run.
            let mut state = self.lock();
            let n = state.items.len();
            if n > 0 {
                let batch: Vec<LogMessage> = state.items.drain(..).collect();
                state.release_front(n);
                drop(state);
                disk.push(&batch, true, None);
            }
        }
        self.lock().closed = true;
        self.readable.notify_one();
        self.writable.notify_waiters();
        self.closing.notify_waiters();
    }
}
