//! The running pipeline: builds sources, log paths and destinations from a validated
//! configuration ([`start`]) and stops them without losing what was accepted ([`Running::stop`]).
//!
//! Start-up order follows syslog-ng: every object referenced by a log path is built first
//! (binding sockets, compiling templates and filters), and only when all of them succeeded do the
//! tasks start, so a bad configuration fails before anything runs. Objects no log path uses are
//! not started, as in syslog-ng.

pub mod control;
pub mod graph;
pub mod transform;
pub mod unused;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rsng_config::filter_compile::{compile_filter_text, compile_filters, FilterMap};
use rsng_config::ir::{self, LogElement, LogPath};
use rsng_config::schema::Context;
use rsng_config::source_map::FileSpan;
use rsng_core::template::{compile, CompileContext};
use rsng_drivers::pipeline::RouteCell;
use rsng_drivers::{
    BuildContext, DestinationContext, DestinationQueue, Globals, Outlet, SourceContext, SourcePort, SourceStats,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use graph::{Resolver, SourceRoute};
use transform::{Transform, TransformContext};

/// syslog-ng's default `log-fifo-size()`.
pub const DEFAULT_LOG_FIFO_SIZE: usize = 10_000;

/// Why the configuration could not be started.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    pub message: String,
    pub span: Option<FileSpan>,
}

impl BuildError {
    pub fn at(message: impl Into<String>, span: &FileSpan) -> BuildError {
        BuildError { message: message.into(), span: Some(*span) }
    }

    fn plain(message: impl Into<String>) -> BuildError {
        BuildError { message: message.into(), span: None }
    }
}

impl From<rsng_drivers::DriverError> for BuildError {
    fn from(e: rsng_drivers::DriverError) -> Self {
        BuildError { message: e.message, span: e.span }
    }
}

/// One running destination driver.
pub struct RunningDestination {
    pub object: String,
    pub queue: Arc<DestinationQueue>,
    /// The per-driver counters' names (`dst.network`, `dn#0`, `tcp,host:514`), for drivers
    /// syslog-ng counts at the default stats level.
    pub stats_name: Option<StatsName>,
    /// What the driver is: a reload keeps a destination whose key is unchanged.
    key: String,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// One running source driver.
struct SourceSlot {
    key: String,
    cell: Arc<RouteCell>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// One source object's counters.
pub struct RunningSource {
    pub object: String,
    pub stats: Arc<SourceStats>,
}

/// The names of a destination driver's counters: component, id, instance.
type StatsName = (String, String, String);

/// A started configuration.
pub struct Running {
    pub sources: Vec<RunningSource>,
    pub destinations: Vec<RunningDestination>,
    slots: Vec<SourceSlot>,
}

/// Names referenced from log paths, by context.
fn collect_references(path: &LogPath, out: &mut HashSet<(Context, String)>) {
    for el in &path.elements {
        match el {
            LogElement::Object { context, name, .. } => {
                out.insert((*context, name.clone()));
            }
            LogElement::Fork(p) => collect_references(p, out),
            LogElement::Junction(ps) => ps.iter().for_each(|p| collect_references(p, out)),
            LogElement::Conditional { branches, otherwise } => {
                branches.iter().for_each(|(_, p)| collect_references(p, out));
                if let Some(p) = otherwise {
                    collect_references(p, out);
                }
            }
        }
    }
}

/// The objects the log paths of `config` refer to, and whether a `catchall` path makes every
/// source used.
fn used_objects(config: &ir::Config) -> (HashSet<(Context, String)>, bool) {
    let mut used = HashSet::new();
    for p in &config.log_paths {
        collect_references(p, &mut used);
    }
    (used, config.log_paths.iter().any(|p| p.flags.catchall))
}

/// The keys of the source drivers `config` would run.
fn planned_source_keys(config: &ir::Config) -> HashSet<String> {
    let globals = globals_key(config);
    let (used, any_catchall) = used_objects(config);
    let mut keys = HashSet::new();
    for obj in &config.sources {
        if any_catchall || used.contains(&(Context::Source, obj.name.clone())) {
            for (index, driver) in obj.drivers.iter().enumerate() {
                keys.insert(driver_key(Context::Source, &obj.name, index, driver, &globals));
            }
        }
    }
    keys
}

/// Settings of a start that come from the command line rather than the configuration.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// `-R`: the persist file.
    pub persist_file: Option<std::path::PathBuf>,
}

/// The template compile context of `config`, able to compile the filters of `$(if)` and
/// `$(grep)`.
fn compile_context(config: &ir::Config, filters: &FilterMap) -> CompileContext {
    // The hook outlives this call: it keeps its own copy of what filter compilation reads.
    let owned = Arc::new(ir::Config {
        version: config.version,
        options: config.options.clone(),
        filters: config.filters.clone(),
        templates: config.templates.clone(),
        template_functions: config.template_functions.clone(),
        ..Default::default()
    });
    let named = Arc::new(filters.clone());
    let mut ctx = CompileContext::new();
    ctx.set_filter_compiler(Arc::new(move |text: &str| compile_filter_text(&owned, text, &named)));
    ctx
}

fn build_context(config: &ir::Config, opts: &StartOptions, filters: &FilterMap) -> Result<BuildContext, BuildError> {
    let mut compile_ctx = compile_context(config, filters);
    let globals = Globals::new(config);
    // `$(dns-resolve-ip)` follows the global host-name options.
    compile_ctx.set_dns_defaults(rsng_core::template::DnsDefaults {
        use_dns: globals.str("use-dns") != Some("persist-only") && globals.bool("use-dns").unwrap_or(true),
        use_fqdn: globals.bool("use-fqdn").unwrap_or(false),
        normalize_hostnames: globals.bool("normalize-hostnames").unwrap_or(false),
    });
    // Definitions are registered in order, each after it is compiled, as syslog-ng reads them:
    // the checks of the configuration front end already refused uses before definitions.
    for t in &config.template_functions {
        let body = compile(&t.text, &compile_ctx)
            .map_err(|e| BuildError::at(format!("error compiling template function `{}`: {e}", t.name), &t.span))?;
        compile_ctx.add_user_function_body(&t.name, Arc::new(body));
    }
    let mut templates = HashMap::new();
    let mut template_escape = HashMap::new();
    for t in &config.templates {
        let compiled = Arc::new(
            compile(&t.text, &compile_ctx)
                .map_err(|e| BuildError::at(format!("error compiling template `{}`: {e}", t.name), &t.span))?,
        );
        compile_ctx.add_compiled_template(&t.name, compiled.clone(), t.escape);
        templates.insert(t.name.clone(), compiled);
        template_escape.insert(t.name.clone(), t.escape);
    }
    Ok(BuildContext {
        globals,
        templates,
        template_escape,
        compile: compile_ctx,
        persist_file: opts.persist_file.clone(),
        locate: rsng_drivers::locator(config),
    })
}

/// A configuration item's identity across reloads: its kind, object, position and every option
/// (spans left out), plus the global options, which drivers read too.
fn driver_key(context: Context, object: &str, index: usize, driver: &ir::Driver, globals: &str) -> String {
    let mut key = format!("{}|{object}|{index}|{}|", context.name(), driver.name);
    for v in &driver.positional {
        value_key(v, &mut key);
    }
    for o in &driver.options {
        key.push_str(o.name);
        value_key(&o.value, &mut key);
    }
    key.push('|');
    key.push_str(globals);
    key
}

fn value_key(v: &ir::Value, out: &mut String) {
    use std::fmt::Write as _;
    match v {
        ir::Value::Bool(b) => out.push_str(if *b { "(y)" } else { "(n)" }),
        ir::Value::Int(n) => {
            let _ = write!(out, "({n})");
        }
        ir::Value::Float(f) => {
            let _ = write!(out, "({f})");
        }
        ir::Value::Str(t) | ir::Value::Raw(t) => {
            let _ = write!(out, "({}:{t})", t.len());
        }
        ir::Value::List(items) => {
            out.push('[');
            items.iter().for_each(|i| value_key(i, out));
            out.push(']');
        }
        ir::Value::Group(items) => {
            out.push('{');
            for o in items {
                out.push_str(o.name);
                value_key(&o.value, out);
            }
            out.push('}');
        }
        // Filters in options (rewrite conditions) do not decide a driver's identity.
        ir::Value::Filter(_) => out.push_str("(filter)"),
    }
}

/// syslog-ng's default directory for disk buffers.
const DEFAULT_DISK_BUFFER_DIR: &str = "/var/lib/syslog-ng";

/// The `disk-buffer(...)` of a destination driver. The file is named after the destination and
/// the driver's position, so the next run of the same configuration finds it.
fn disk_options(object: &str, index: usize, driver: &ir::Driver) -> Option<rsng_drivers::disk_buffer::DiskOptions> {
    let ir::Value::Group(items) = driver.option("disk-buffer")? else { return None };
    let get = |name: &str| {
        driver.note(&format!("disk-buffer.{name}"));
        items.iter().rev().find(|o| o.name == name).map(|o| &o.value)
    };
    let dir = get("dir")
        .and_then(rsng_drivers::options::as_str)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| DEFAULT_DISK_BUFFER_DIR.into());
    let capacity = get("disk-buf-size").and_then(rsng_drivers::options::as_int).filter(|&n| n > 0).unwrap_or(1 << 20);
    let reliable = get("reliable").and_then(rsng_drivers::options::as_bool).unwrap_or(false);
    let safe: String =
        object.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    Some(rsng_drivers::disk_buffer::DiskOptions {
        path: dir.join(format!("rsng-{safe}-{index}.rsq")),
        capacity: capacity as u64,
        reliable,
    })
}

fn globals_key(config: &ir::Config) -> String {
    let mut key = String::new();
    for o in &config.options {
        key.push_str(o.name);
        value_key(&o.value, &mut key);
    }
    key
}

/// Builds every object the log paths use and starts them. Must run inside a tokio runtime.
///
/// # Errors
/// The first object that cannot be set up; nothing is left running then.
pub fn start(config: &ir::Config, opts: &StartOptions) -> Result<Running, BuildError> {
    let mut kept_destinations = Vec::new();
    let mut kept_sources = Vec::new();
    let mut stats = HashMap::new();
    build(config, opts, &mut kept_destinations, &mut kept_sources, &mut stats)
}

/// Builds `config`, reusing the running destinations and sources in `kept_*` whose key it still
/// has (they are taken out of the vectors; on an error they stay there).
fn build(
    config: &ir::Config,
    opts: &StartOptions,
    kept_destinations: &mut Vec<RunningDestination>,
    kept_sources: &mut Vec<SourceSlot>,
    source_stats: &mut HashMap<String, Arc<SourceStats>>,
) -> Result<Running, BuildError> {
    let filters = compile_filters(config).map_err(|e| BuildError::plain(e.to_string()))?;
    let ctx = build_context(config, opts, &filters)?;
    let globals = globals_key(config);
    let (used, any_catchall) = used_objects(config);

    // Destinations: one queue per driver, one outlet per (driver, flow control). A destination
    // whose key is unchanged keeps its queue and writer.
    enum Dest {
        Kept(usize),
        New(Arc<DestinationQueue>, Box<dyn rsng_drivers::Destination>),
    }
    let mut destinations: Vec<(String, String, Dest, Option<StatsName>)> = Vec::new();
    let mut dest_drivers: HashMap<String, Vec<usize>> = HashMap::new();
    let global_fifo = ctx.globals.int("log-fifo-size");
    for obj in &config.destinations {
        if !used.contains(&(Context::Destination, obj.name.clone())) {
            continue;
        }
        for (index, driver) in obj.drivers.iter().enumerate() {
            let key = driver_key(Context::Destination, &obj.name, index, driver, &globals);
            let stats_name = match driver.name {
                "network" | "syslog" | "tcp" | "udp" | "tcp6" | "udp6" => rsng_drivers::socket::destination_stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                ),
                _ => None,
            };
            let dest = match kept_destinations.iter().position(|d| d.key == key) {
                Some(i) => Dest::Kept(i),
                None => {
                    let built = rsng_drivers::build_destination(&obj.name, driver, &ctx)?;
                    let fifo = driver.option("log-fifo-size").and_then(rsng_drivers::options::as_int).or(global_fifo);
                    let fifo = fifo.filter(|&n| n > 0).map_or(DEFAULT_LOG_FIFO_SIZE, |n| n as usize);
                    let name = format!("{}#{}", obj.name, driver.name);
                    let queue = match disk_options(&obj.name, index, driver) {
                        Some(disk) => {
                            let store = rsng_drivers::disk_buffer::DiskStore::open(&disk).map_err(|e| {
                                BuildError::at(
                                    format!("Error opening disk buffer; file='{}', error='{e}'", disk.path.display()),
                                    &driver.span,
                                )
                            })?;
                            DestinationQueue::with_disk(name, store)
                        }
                        None => DestinationQueue::new(name, fifo),
                    };
                    Dest::New(Arc::new(queue), built)
                }
            };
            dest_drivers.entry(obj.name.clone()).or_default().push(destinations.len());
            destinations.push((obj.name.clone(), key, dest, stats_name));
        }
    }
    let queue_of = |d: &Dest| match d {
        Dest::Kept(i) => kept_destinations[*i].queue.clone(),
        Dest::New(q, _) => q.clone(),
    };
    let outlets: RefCell<Vec<Outlet>> = RefCell::new(Vec::new());
    let outlet_index: RefCell<HashMap<(usize, bool), usize>> = RefCell::new(HashMap::new());
    let outlet_of = |name: &str, flow: bool| -> Vec<usize> {
        let Some(drivers) = dest_drivers.get(name) else { return Vec::new() };
        drivers
            .iter()
            .map(|&d| {
                *outlet_index.borrow_mut().entry((d, flow)).or_insert_with(|| {
                    let mut o = outlets.borrow_mut();
                    o.push(Outlet { queue: queue_of(&destinations[d].2), flow_control: flow });
                    o.len() - 1
                })
            })
            .collect()
    };

    // Parsers and rewrites.
    let tctx = TransformContext { config, filters: &filters, compile: &ctx.compile };
    let mut transforms: HashMap<(Context, String), Vec<Arc<dyn Transform>>> = HashMap::new();
    for (context, objects) in [(Context::Parser, &config.parsers), (Context::Rewrite, &config.rewrites)] {
        for obj in objects.iter().filter(|o| used.contains(&(context, o.name.clone()))) {
            let mut list: Vec<Arc<dyn Transform>> = Vec::new();
            for driver in &obj.drivers {
                list.push(Arc::from(transform::build(context, driver, &tctx)?));
            }
            transforms.insert((context, obj.name.clone()), list);
        }
    }

    let resolver = Resolver { config, filters: &filters, outlets: &outlet_of, transforms: &transforms };
    let graph = Arc::new(resolver.build().map_err(|e| BuildError::plain(e.0))?);
    let outlets: Arc<[Outlet]> = outlets.into_inner().into();

    // Sources: a source whose key is unchanged keeps its listener and connections and gets the
    // new paths; others are built (bound) now.
    let mut sources = Vec::new();
    let mut pending: Vec<(String, String, SourcePlan)> = Vec::new();
    enum SourcePlan {
        Kept(usize, Arc<dyn rsng_drivers::Route>),
        New(Box<dyn rsng_drivers::Source>, Arc<dyn rsng_drivers::Route>),
    }
    for obj in &config.sources {
        if !any_catchall && !used.contains(&(Context::Source, obj.name.clone())) {
            continue;
        }
        let paths: Vec<usize> = graph
            .top
            .iter()
            .enumerate()
            .filter(|(_, p)| p.catchall || p.sources.iter().any(|s| s == &obj.name))
            .map(|(i, _)| i)
            .collect();
        let route: Arc<dyn rsng_drivers::Route> = Arc::new(SourceRoute { graph: graph.clone(), paths });
        let stats = source_stats.entry(obj.name.clone()).or_default().clone();
        for (index, driver) in obj.drivers.iter().enumerate() {
            let key = driver_key(Context::Source, &obj.name, index, driver, &globals);
            let plan = match kept_sources.iter().position(|s| s.key == key) {
                Some(i) => SourcePlan::Kept(i, route.clone()),
                None => SourcePlan::New(rsng_drivers::build_source(&obj.name, driver, &ctx)?, route.clone()),
            };
            pending.push((obj.name.clone(), key, plan));
        }
        sources.push(RunningSource { object: obj.name.clone(), stats });
    }

    // Everything is set up: take over what is kept, start the writers, then the readers.
    let mut taken_dest: Vec<Option<RunningDestination>> =
        std::mem::take(kept_destinations).into_iter().map(Some).collect();
    let mut running_destinations = Vec::new();
    for (object, key, dest, stats_name) in destinations {
        match dest {
            Dest::Kept(i) => {
                let mut d = taken_dest[i].take().expect("each kept destination is used once");
                d.stats_name = stats_name;
                running_destinations.push(d);
            }
            Dest::New(queue, built) => {
                let stop = CancellationToken::new();
                let task = tokio::spawn(built.run(DestinationContext { queue: queue.clone(), shutdown: stop.clone() }));
                running_destinations.push(RunningDestination { object, queue, stats_name, key, stop, task });
            }
        }
    }
    kept_destinations.extend(taken_dest.into_iter().flatten());
    let mut taken_src: Vec<Option<SourceSlot>> = std::mem::take(kept_sources).into_iter().map(Some).collect();
    let mut slots = Vec::new();
    for (object, key, plan) in pending {
        match plan {
            SourcePlan::Kept(i, route) => {
                let slot = taken_src[i].take().expect("each kept source is used once");
                slot.cell.replace(route, outlets.clone());
                slots.push(slot);
            }
            SourcePlan::New(built, route) => {
                let cell = RouteCell::new(route, outlets.clone());
                let stats = source_stats.get(&object).cloned().unwrap_or_default();
                let stop = CancellationToken::new();
                let port = SourcePort::new(cell.clone(), stats);
                let task = tokio::spawn(built.run(SourceContext {
                    port,
                    shutdown: stop.clone(),
                    source_name: Arc::from(object.as_str()),
                }));
                slots.push(SourceSlot { key, cell, stop, task });
            }
        }
    }
    kept_sources.extend(taken_src.into_iter().flatten());
    Ok(Running { sources, destinations: running_destinations, slots })
}

/// Stops destinations: closes their queues, lets them write for at most `grace`, then cancels.
async fn drain_destinations(destinations: Vec<RunningDestination>, grace: Duration) {
    for d in &destinations {
        d.queue.close();
    }
    // A disk buffer keeps what is left for the next run: no need to wait for its peer.
    let (persistent, destinations): (Vec<_>, Vec<_>) = destinations.into_iter().partition(|d| d.queue.is_persistent());
    for d in persistent {
        d.stop.cancel();
        let _ = d.task.await;
        d.queue.flush();
    }
    let stops: Vec<CancellationToken> = destinations.iter().map(|d| d.stop.clone()).collect();
    let tasks: Vec<JoinHandle<()>> = destinations.into_iter().map(|d| d.task).collect();
    let mut waiter = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    if tokio::time::timeout(grace, &mut waiter).await.is_err() {
        // Destinations that cannot deliver (a peer that is away) give up now.
        stops.iter().for_each(CancellationToken::cancel);
        let _ = waiter.await;
    }
}

async fn stop_sources(slots: Vec<SourceSlot>) {
    for s in &slots {
        s.stop.cancel();
    }
    for s in slots {
        let _ = s.task.await;
    }
}

impl Running {
    /// Every counter, named as syslog-ng 3.38 names them at the default stats level.
    pub fn stats(&self) -> Vec<control::StatRow> {
        use control::StatRow;
        use std::sync::atomic::Ordering::Relaxed;
        let mut rows = Vec::new();
        let mut received = 0;
        for s in &self.sources {
            let n = s.stats.processed.load(Relaxed);
            received += n;
            rows.push(StatRow::new("source", &s.object, "", "processed", n));
            for (component, instance, live) in s.stats.listeners() {
                rows.push(StatRow::new(&component, &s.object, &instance, "connections", live as u64));
            }
        }
        let mut per_object: Vec<(String, u64)> = Vec::new();
        let mut delivered = 0;
        for d in &self.destinations {
            let st = &d.queue.stats;
            let (queued_total, dropped, written) =
                (st.queued_total.load(Relaxed), st.dropped.load(Relaxed), st.written.load(Relaxed));
            let processed = queued_total + dropped;
            delivered += processed;
            match per_object.iter_mut().find(|(o, _)| *o == d.object) {
                Some((_, n)) => *n = (*n).max(processed),
                None => per_object.push((d.object.clone(), processed)),
            }
            if let Some((component, id, instance)) = &d.stats_name {
                let queued = d.queue.len() as u64;
                for (kind, value) in
                    [("processed", processed), ("dropped", dropped), ("queued", queued), ("written", written)]
                {
                    rows.push(StatRow::new(component, id, instance, kind, value));
                }
            }
        }
        for (object, n) in per_object {
            rows.push(StatRow::new("destination", &object, "", "processed", n));
        }
        // Refused and failed TLS handshakes, by listener or peer and reason.
        for (instance, reason, n) in rsng_transport::tls::handshake_failures() {
            let mut parts = instance.splitn(3, ';');
            let (component, id, inst) =
                (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            rows.push(StatRow::new(component, id, inst, &format!("tls_handshake_failed_{reason}"), n));
        }
        rows.push(StatRow::new("center", "", "received", "processed", received));
        rows.push(StatRow::new("center", "", "queued", "processed", delivered));
        rows
    }

    /// Switches to `config`. Sources and destinations whose definition (and the global options)
    /// did not change keep running: listeners, connections and queued messages stay. The others
    /// are stopped (removed destinations first write what they hold) or started.
    ///
    /// # Errors
    /// When the new configuration cannot be started; everything has been stopped then, and the
    /// caller starts a configuration again.
    pub async fn reload(
        self,
        config: &ir::Config,
        opts: &StartOptions,
        grace: Duration,
    ) -> Result<Running, BuildError> {
        let Running { sources, destinations, slots } = self;
        let mut stats: HashMap<String, Arc<SourceStats>> = sources.into_iter().map(|s| (s.object, s.stats)).collect();
        // Sources that go away are stopped first: a new source may bind their address.
        let new_keys = planned_source_keys(config);
        let (mut kept_sources, removed): (Vec<SourceSlot>, Vec<SourceSlot>) =
            slots.into_iter().partition(|s| new_keys.contains(&s.key));
        stop_sources(removed).await;
        let mut kept_destinations = destinations;
        let result = build(config, opts, &mut kept_destinations, &mut kept_sources, &mut stats);
        match result {
            Ok(running) => {
                tokio::spawn(drain_destinations(kept_destinations, grace));
                Ok(running)
            }
            Err(e) => {
                stop_sources(kept_sources).await;
                drain_destinations(kept_destinations, grace).await;
                Err(e)
            }
        }
    }

    /// Stops reading, lets the destinations write what was accepted (for at most `grace`), then
    /// stops them.
    pub async fn stop(self, grace: Duration) {
        stop_sources(self.slots).await;
        drain_destinations(self.destinations, grace).await;
    }
}
