//! The running pipeline: builds sources, log paths and destinations from a validated
//! configuration ([`start`]) and stops them without losing what was accepted ([`Running::stop`]).
//!
//! Start-up order follows syslog-ng: every object referenced by a log path is built first
//! (binding sockets, compiling templates and filters), and only when all of them succeeded do the
//! tasks start, so a bad configuration fails before anything runs. Objects no log path uses are
//! not started, as in syslog-ng.

pub mod control;
pub mod graph;
mod hooks;
pub mod supervise;
pub mod transform;
mod uniqid;
pub mod unused;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use rsng_config::filter_compile::{compile_filter_text, compile_filters, FilterMap};
use rsng_config::ir::{self, LogElement, LogPath};
use rsng_config::schema::Context;
use rsng_config::source_map::FileSpan;
use rsng_core::template::{compile, CompileContext};
use rsng_drivers::options::globals::{DaemonGlobals, HostGlobals};
use rsng_drivers::pipeline::{QueueStats, RouteCell};
use rsng_drivers::{
    BuildContext, DestinationContext, DestinationQueue, Globals, Outlet, SourceContext, SourcePort, SourceStats,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use graph::{Graph, Resolver, SourceRoute};
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
    /// Whether its messages go through syslog-ng's LogWriter formatting (socket and file
    /// destinations), whose size, truncation and rate counters it then shows.
    formats: bool,
    /// What the driver is: a reload keeps a destination whose identity is unchanged.
    key: Identity,
    /// `dst.<driver>` and `<object>#<index>`, and how often its writer was restarted.
    restarts: (String, String, Arc<AtomicU64>),
    stop: CancellationToken,
    task: JoinHandle<()>,
    /// Cancelled once the writer has ended for good (after a reload removed or changed it), so
    /// that the writer replacing it starts only then.
    finished: CancellationToken,
}

/// One running source driver.
struct SourceSlot {
    key: Identity,
    cell: Arc<RouteCell>,
    /// `src.<driver>` and `<object>#<index>`, and how often it was restarted.
    restarts: (String, String, Arc<AtomicU64>),
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

/// `eps_last_1h`, `eps_last_24h` and `eps_since_start` of a counter at `count` made at `since`:
/// messages per second, averaged over the time it has existed (at least a second), within the
/// last hour and day once it is older (syslog-ng updates its own once a minute).
fn eps_rows(count: u64, since: u64, now: u64) -> [(&'static str, u64); 3] {
    let age = now.saturating_sub(since).max(1);
    let rate = count / age;
    [("eps_last_1h", rate), ("eps_last_24h", rate), ("eps_since_start", rate)]
}

/// A started configuration.
pub struct Running {
    /// `stats-level()`: the per-sender and file counters show from 1 on.
    stats_level: i64,
    pub sources: Vec<RunningSource>,
    pub destinations: Vec<RunningDestination>,
    slots: Vec<SourceSlot>,
    /// `discarded` counters of parser objects (`stats-level(1)` and up).
    parsers: Vec<(String, Arc<std::sync::atomic::AtomicU64>)>,
    /// `matched`/`not_matched` counters of filter objects (`stats-level(1)` and up).
    filters: Vec<(String, Arc<graph::FilterCounters>)>,
    /// The steps with state a reload hands on (`db-parser()`).
    stateful: Vec<Arc<dyn Transform>>,
    /// Lets time pass for the steps that work on time; stops when dropped.
    _ticker: Option<Ticker>,
    /// `stats-freq()`: how often the "Log statistics" message is sent (`None`: never).
    stats_freq: Option<Duration>,
    /// `stats-lifetime()`: seconds after which an idle dynamic counter goes.
    stats_lifetime: u64,
    /// Counter values at the last reset (`RESET_STATS`), by [`control::StatRow::key`]; kept
    /// across reloads.
    stats_baseline: Arc<std::sync::Mutex<HashMap<String, u64>>>,
    /// The drivers' `hook-commands()`.
    hooks: Vec<hooks::Hooks>,
    /// `-R`: where `use-uniqid()` records its counter at the stop.
    persist_file: Option<std::path::PathBuf>,
}

/// The timer of the steps that work on time ([`Transform::tick`]): about once a second each is
/// ticked and what it makes goes on along the paths after it, as through a source of its own.
struct Ticker {
    stop: CancellationToken,
}

impl Ticker {
    fn start(graph: &Arc<Graph>, steps: &[Arc<dyn Transform>], outlets: &Arc<[Outlet]>) -> Option<Ticker> {
        let mut ports: Vec<(Arc<dyn Transform>, SourcePort)> = steps
            .iter()
            .filter(|t| t.ticks())
            .map(|t| {
                let route = Arc::new(graph::StepRoute { graph: graph.clone(), step: t.clone() });
                let cell = RouteCell::new(route, outlets.clone());
                (t.clone(), SourcePort::new(cell, Arc::new(SourceStats::default())))
            })
            .collect();
        if ports.is_empty() {
            return None;
        }
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut made = Vec::new();
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.cancelled() => break,
                }
                for (step, port) in &mut ports {
                    step.tick(&mut made);
                    port.post(&mut made);
                }
            }
        });
        Some(Ticker { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
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

/// The option checks start-up runs on the drivers it builds (the destinations the log paths use,
/// then their sources), without building them: what `--syntax-only` adds to loading.
///
/// # Errors
/// The first driver option start-up would refuse, with its place.
pub fn check_options(config: &ir::Config) -> Result<(), BuildError> {
    let globals = Globals::new(config);
    let used = used_objects(config);
    let objects = config
        .destinations
        .iter()
        .filter(|o| used.starts(Context::Destination, &o.name))
        .chain(config.sources.iter().filter(|o| used.starts(Context::Source, &o.name)));
    for obj in objects {
        for driver in &obj.drivers {
            rsng_drivers::check_options(obj.context, driver, &globals)
                .map_err(|e| BuildError { message: e.message, span: e.span.or(Some(driver.span)) })?;
        }
    }
    Ok(())
}

/// The objects the log paths of `config` refer to, and whether a `catchall` path makes every
/// source used: what start-up builds.
struct UsedObjects {
    referred: HashSet<(Context, String)>,
    any_catchall: bool,
}

impl UsedObjects {
    /// Whether start-up builds the object `name` of `context`.
    fn starts(&self, context: Context, name: &str) -> bool {
        (context == Context::Source && self.any_catchall) || self.referred.contains(&(context, name.to_string()))
    }
}

fn used_objects(config: &ir::Config) -> UsedObjects {
    let mut used = HashSet::new();
    for p in &config.log_paths {
        collect_references(p, &mut used);
    }
    // The channels of a used source, parser or rewrite object use what they refer to.
    let mut done: HashSet<(Context, String)> = HashSet::new();
    loop {
        let mut found = HashSet::new();
        let kinds = [
            (Context::Source, &config.sources),
            (Context::Parser, &config.parsers),
            (Context::Rewrite, &config.rewrites),
        ];
        for (context, objects) in kinds {
            for obj in objects.iter().filter(|o| !o.forks.is_empty()) {
                let key = (context, obj.name.clone());
                if used.contains(&key) && done.insert(key) {
                    obj.forks.iter().for_each(|(_, p)| collect_references(p, &mut found));
                }
            }
        }
        let before = used.len();
        used.extend(found);
        if used.len() == before {
            break;
        }
    }
    UsedObjects { referred: used, any_catchall: config.log_paths.iter().any(|p| p.flags.catchall) }
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
    ctx.set_external_functions(Arc::new(rsng_drivers::secure_logging::SecureLogging));
    ctx
}

fn build_context(config: &ir::Config, opts: &StartOptions, filters: &FilterMap) -> Result<BuildContext, BuildError> {
    let mut compile_ctx = compile_context(config, filters);
    let globals = Globals::new(config);
    // This host's names, before any driver takes them: `custom-domain()` and `$LOGHOST`.
    let host = HostGlobals::read_globals(&globals);
    rsng_drivers::receive::set_custom_domain(host.custom_domain.as_deref());
    rsng_drivers::receive::set_dns_cache_hosts(host.dns_cache_hosts.as_deref());
    rsng_drivers::receive::set_dns_cache(host.dns_cache_size, host.dns_cache_expire, host.dns_cache_expire_failed);
    let this_host =
        rsng_drivers::receive::HostResolve { use_dns: false, use_fqdn: host.use_fqdn, normalize: false, cache: false };
    rsng_core::template::set_loghost(&this_host.local_name());
    // `$(dns-resolve-ip)` follows the global host-name options.
    compile_ctx.set_dns_defaults(rsng_core::template::DnsDefaults {
        use_dns: host.use_dns(),
        use_fqdn: host.use_fqdn,
        normalize_hostnames: host.normalize_hostnames,
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
        queue_stats: None,
    })
}

/// What decides whether a reload keeps a running driver: its definition (kind, object,
/// position, every option) and the global options it read when it was built, with their values.
/// A change to a global the driver does not read keeps it running.
struct Identity {
    base: String,
    globals: Vec<String>,
    values: String,
}

impl Identity {
    fn new(base: String, globals: Vec<String>, g: &Globals) -> Identity {
        let values = globals_values(g, &globals);
        Identity { base, globals, values }
    }

    /// Whether a driver defined as `base` under the globals `g` is this one.
    fn keeps(&self, base: &str, g: &Globals) -> bool {
        self.base == base && globals_values(g, &self.globals) == self.values
    }

    /// The object's name, for messages.
    fn object(&self) -> &str {
        self.base.split('|').nth(1).unwrap_or_default()
    }
}

/// The values of the globals `names` (without recording the lookups).
fn globals_values(g: &Globals, names: &[String]) -> String {
    let mut out = String::new();
    for name in names {
        out.push_str(name);
        match g.peek(name) {
            Some(v) => value_key(v, &mut out),
            None => out.push_str("()"),
        }
    }
    out
}

/// `common` plus what `g` recorded since `mark`, sorted, each once.
fn names_read(g: &Globals, mark: usize, common: &[String], extra: &[&str]) -> Vec<String> {
    let mut names = g.reads_since(mark);
    names.extend(common.iter().cloned());
    names.extend(extra.iter().map(|s| s.to_string()));
    names.sort();
    names.dedup();
    names
}

/// The named templates and template functions, which destinations may use by name.
fn templates_key(config: &ir::Config) -> String {
    let mut key = String::new();
    for t in &config.templates {
        key.push_str(&format!("|t:{}:{}:{}", t.name, t.escape, t.text));
    }
    for t in &config.template_functions {
        key.push_str(&format!("|f:{}:{}", t.name, t.text));
    }
    key
}

/// A configuration item's definition across reloads: its kind, object, position and every option
/// (spans left out).
fn driver_key(context: Context, object: &str, index: usize, driver: &ir::Driver) -> String {
    let mut key = format!("{}|{object}|{index}|{}|", context.name(), driver.name);
    for v in &driver.positional {
        value_key(v, &mut key);
    }
    for o in &driver.options {
        key.push_str(o.name);
        value_key(&o.value, &mut key);
    }
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

/// syslog-ng's default `qout-size()` of a non-reliable disk buffer.
const DEFAULT_QOUT_SIZE: usize = 1000;

/// The `disk-buffer(...)` of a destination driver, and how many messages it holds in memory
/// besides the file: none with `reliable(yes)`, else `qout-size()` (default 1,000) and
/// `mem-buf-length()` (default the destination's `log-fifo-size()`, `fifo`), as in syslog-ng.
/// The file is named after the destination and the driver's position, so the next run of the
/// same configuration finds it.
fn disk_options(
    object: &str,
    index: usize,
    driver: &ir::Driver,
    globals: &Globals,
    fifo: usize,
) -> Option<(rsng_drivers::disk_buffer::DiskOptions, usize)> {
    let o = rsng_drivers::disk_buffer::DiskBufferOptions::of(driver, globals)?;
    let dir = o.dir.as_deref().map_or_else(|| DEFAULT_DISK_BUFFER_DIR.into(), std::path::PathBuf::from);
    let memory =
        if o.reliable { 0 } else { o.qout_size.unwrap_or(DEFAULT_QOUT_SIZE) + o.mem_buf_length.unwrap_or(fifo) };
    let safe: String =
        object.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let disk = rsng_drivers::disk_buffer::DiskOptions::new(dir.join(format!("rsng-{safe}-{index}.rsq")), &o);
    Some((disk, memory))
}

/// Builds every object the log paths use and starts them. Must run inside a tokio runtime.
///
/// # Errors
/// The first object that cannot be set up; nothing is left running then.
pub fn start(config: &ir::Config, opts: &StartOptions) -> Result<Running, BuildError> {
    let mut kept_destinations = Vec::new();
    let mut kept_sources = Vec::new();
    let mut stats = HashMap::new();
    let hooks = hooks::of_config(config);
    hooks::start(&hooks, true)?;
    match build(config, opts, &mut kept_destinations, &mut kept_sources, &mut stats, HashMap::new()) {
        Ok(mut running) => {
            running.hooks = hooks;
            Ok(running)
        }
        Err(e) => {
            hooks::stop(&hooks, false);
            Err(e)
        }
    }
}

/// Builds `config`, reusing the running destinations and sources in `kept_*` whose key it still
/// has (they are taken out of the vectors; on an error they stay there).
fn build(
    config: &ir::Config,
    opts: &StartOptions,
    kept_destinations: &mut Vec<RunningDestination>,
    kept_sources: &mut Vec<SourceSlot>,
    source_stats: &mut HashMap<String, Arc<SourceStats>>,
    persisted: HashMap<String, transform::PersistedState>,
) -> Result<Running, BuildError> {
    let filters = compile_filters(config).map_err(|e| BuildError::plain(e.to_string()))?;
    // Shared with the supervisors, which build a failed driver again.
    let ctx = Arc::new(build_context(config, opts, &filters)?);
    // Before any source runs, so that every message of this configuration is numbered.
    uniqid::configure(&ctx.globals, opts.persist_file.as_deref());
    // Globals read for every driver (the template defaults).
    let common = ctx.globals.reads_since(0);
    let templates = templates_key(config);
    let used = used_objects(config);

    // Destinations: one queue per driver, one outlet per (driver, flow control). A destination
    // whose key is unchanged keeps its queue and writer.
    enum Dest {
        Kept(usize),
        New(
            Arc<DestinationQueue>,
            Box<dyn rsng_drivers::Destination>,
            Identity,
            ir::Driver,
            usize,
            Option<CancellationToken>,
        ),
    }
    let mut destinations: Vec<(String, Dest, Option<StatsName>)> = Vec::new();
    let mut dest_drivers: HashMap<String, Vec<usize>> = HashMap::new();
    let daemon = DaemonGlobals::read_globals(&ctx.globals.detached());
    let global_fifo = daemon.log_fifo_size;
    let stats_level = daemon.stats_level;
    for obj in &config.destinations {
        if !used.starts(Context::Destination, &obj.name) {
            continue;
        }
        for (index, driver) in obj.drivers.iter().enumerate() {
            let base = driver_key(Context::Destination, &obj.name, index, driver) + &templates;
            let stats_name = match driver.name {
                "network" | "syslog" | "tcp" | "udp" | "tcp6" | "udp6" | "unix-stream" | "unix-dgram" => {
                    rsng_drivers::socket::destination_stats_name(
                        &obj.name,
                        index,
                        rsng_drivers::Options::new(driver, &ctx.globals),
                    )
                }
                "example-destination" => Some(rsng_drivers::example::destination_stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                // syslog-ng counts file writers from stats-level(1) on.
                "file" if stats_level >= 1 => rsng_drivers::Options::new(driver, &ctx.globals)
                    .positional()
                    .map(|path| ("dst.file".to_string(), format!("{}#{index}", obj.name), path.to_string())),
                "http" => Some(rsng_drivers::http::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                "kafka-c" => Some(rsng_drivers::kafka::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                "redis" => Some(rsng_drivers::redis::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                "mqtt" => Some(rsng_drivers::mqtt::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                "snmp" => Some(rsng_drivers::snmp::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                "sql" => Some(rsng_drivers::sql::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                "amqp" => Some(rsng_drivers::amqp::stats_name(
                    &obj.name,
                    index,
                    rsng_drivers::Options::new(driver, &ctx.globals),
                )),
                _ => None,
            };
            // `keep-alive(no)`: a reload closes the connection and makes a new one, as in syslog-ng.
            let queue_options =
                rsng_drivers::pipeline::QueueOptions::read(&rsng_drivers::Options::new(driver, &ctx.globals));
            let keep_alive = queue_options.keep_alive;
            let kept = kept_destinations.iter().position(|d| keep_alive && d.key.keeps(&base, &ctx.globals));
            let mark = ctx.globals.read_mark();
            let dest = match kept {
                Some(i) => Dest::Kept(i),
                None => {
                    // A destination changed by a reload goes on counting where the old one was,
                    // as syslog-ng's counters do.
                    let id = format!("{}#{index}", obj.name);
                    let predecessor = kept_destinations
                        .iter()
                        .find(|d| d.restarts.1 == id && d.restarts.0 == format!("dst.{}", driver.name));
                    let stats: Arc<QueueStats> = predecessor.map(|d| d.queue.stats.clone()).unwrap_or_default();
                    let dctx = BuildContext { queue_stats: Some(stats.clone()), ..(*ctx).clone() };
                    let built = rsng_drivers::build_destination(&obj.name, index, driver, &dctx)?;
                    let marks = rsng_drivers::mark::writer_marks(&rsng_drivers::Options::new(driver, &ctx.globals));
                    // The queue's size may come from the globals too.
                    let names = names_read(&ctx.globals, mark, &common, &["log-fifo-size"]);
                    let fifo = queue_options.log_fifo_size.or(global_fifo.filter(|&n| n > 0));
                    let fifo = fifo.map_or(DEFAULT_LOG_FIFO_SIZE, |n| n as usize);
                    let name = format!("{}#{}", obj.name, driver.name);
                    let stats = Some(stats);
                    // The old writer finishes what it holds first: two writers side by side
                    // would mix the order of the messages.
                    let after = predecessor.map(|d| d.finished.clone());
                    let queue = match disk_options(&obj.name, index, driver, &ctx.globals, fifo) {
                        Some((disk, memory)) => {
                            let store = rsng_drivers::disk_buffer::DiskStore::open(&disk).map_err(|e| {
                                BuildError::at(
                                    format!("Error opening disk buffer; file='{}', error='{e}'", disk.path.display()),
                                    &driver.span,
                                )
                            })?;
                            DestinationQueue::with_disk(name, store, memory, stats).map_err(|e| {
                                BuildError::at(format!("Error starting disk buffer thread; error='{e}'"), &driver.span)
                            })?
                        }
                        None => DestinationQueue::new(name, fifo).with_stats(stats),
                    }
                    .with_marks(marks)
                    .with_suppress(suppress_of(driver, &ctx.globals));
                    let key = Identity::new(base, names, &ctx.globals);
                    Dest::New(Arc::new(queue), built, key, driver.clone(), index, after)
                }
            };
            dest_drivers.entry(obj.name.clone()).or_default().push(destinations.len());
            destinations.push((obj.name.clone(), dest, stats_name));
        }
    }
    let queue_of = |d: &Dest| match d {
        Dest::Kept(i) => kept_destinations[*i].queue.clone(),
        Dest::New(q, ..) => q.clone(),
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
                    o.push(Outlet { queue: queue_of(&destinations[d].1), flow_control: flow });
                    o.len() - 1
                })
            })
            .collect()
    };

    // Parsers and rewrites.
    let persisted = RefCell::new(persisted);
    let tctx = TransformContext {
        config,
        globals: &ctx.globals,
        filters: &filters,
        compile: &ctx.compile,
        persisted: &persisted,
    };
    let mut transforms: HashMap<(Context, String), Vec<Arc<dyn Transform>>> = HashMap::new();
    let mut parser_counters = Vec::new();
    for (context, objects) in [(Context::Parser, &config.parsers), (Context::Rewrite, &config.rewrites)] {
        for obj in objects.iter().filter(|o| used.starts(context, &o.name)) {
            let mut list: Vec<Arc<dyn Transform>> = Vec::new();
            for driver in &obj.drivers {
                list.push(Arc::new(supervise::Guarded {
                    inner: Arc::from(transform::build(context, driver, &tctx)?),
                    name: format!("{} {}", context.name(), obj.name),
                    location: (ctx.locate)(&driver.span),
                    failures: AtomicU64::new(0),
                }));
            }
            // From stats-level(1) on, syslog-ng counts what each parser object discards. One
            // transform per driver still: the object's channels run between them.
            if context == Context::Parser && DaemonGlobals::read_globals(&ctx.globals.detached()).stats_level >= 1 {
                let discarded = Arc::new(std::sync::atomic::AtomicU64::new(0));
                parser_counters.push((obj.name.clone(), discarded.clone()));
                list = list
                    .into_iter()
                    .map(|part| -> Arc<dyn Transform> {
                        Arc::new(transform::counted::CountedParser { part, discarded: discarded.clone() })
                    })
                    .collect();
            }
            transforms.insert((context, obj.name.clone()), list);
        }
    }

    let filter_stats = RefCell::new(Vec::new());
    let keep_filter_stats = DaemonGlobals::read_globals(&ctx.globals.detached()).stats_level >= 1;
    let resolver = Resolver {
        config,
        filters: &filters,
        outlets: &outlet_of,
        transforms: &transforms,
        filter_stats: keep_filter_stats.then_some(&filter_stats),
        expanding: RefCell::default(),
        locate: &*ctx.locate,
    };
    let graph = Arc::new(resolver.build().map_err(|e| BuildError::plain(e.0))?);
    let outlets: Arc<[Outlet]> = outlets.into_inner().into();
    let stateful: Vec<Arc<dyn Transform>> =
        transforms.values().flatten().filter(|t| t.persistent_state().is_some() || t.ticks()).cloned().collect();

    // Sources: a source whose key is unchanged keeps its listener and connections and gets the
    // new paths; others are built (bound) now.
    let mut sources = Vec::new();
    let mut pending: Vec<(String, SourcePlan)> = Vec::new();
    enum SourcePlan {
        Kept(usize, Arc<dyn rsng_drivers::Route>),
        New(Box<dyn rsng_drivers::Source>, Arc<dyn rsng_drivers::Route>, Identity, ir::Driver, usize),
    }
    // A source inside a source object's channel receives as that object (`$SOURCE`, the
    // `.source.NAME` tag), as in syslog-ng.
    let mut enclosing: HashMap<&str, &str> = HashMap::new();
    for obj in &config.sources {
        for (_, fork) in &obj.forks {
            for el in &fork.elements {
                if let LogElement::Object { context: Context::Source, name, .. } = el {
                    enclosing.insert(name, &obj.name);
                }
            }
        }
    }
    let receiving_name = |name: &str| {
        let mut name = name;
        for _ in 0..enclosing.len() {
            match enclosing.get(name) {
                Some(outer) => name = outer,
                None => break,
            }
        }
        name.to_string()
    };
    // As in syslog-ng, one journal reader at most among the sources that start.
    let mut journal_readers = 0;
    for obj in &config.sources {
        if !used.starts(Context::Source, &obj.name) {
            continue;
        }
        for driver in obj.drivers.iter().filter(|d| rsng_drivers::journal::reads_journal(d.name)) {
            journal_readers += 1;
            if journal_readers > 1 {
                return Err(BuildError::at(rsng_drivers::journal::ONLY_ONE_SOURCE, &driver.span));
            }
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
            let base = driver_key(Context::Source, &obj.name, index, driver);
            let restarts = rsng_drivers::source_restarts_at_reload(driver, &ctx.globals.detached());
            let kept = kept_sources.iter().position(|s| !restarts && s.key.keeps(&base, &ctx.globals));
            let plan = match kept {
                Some(i) => SourcePlan::Kept(i, route.clone()),
                None => {
                    let mark = ctx.globals.read_mark();
                    let built = rsng_drivers::build_source(&receiving_name(&obj.name), driver, &ctx)?;
                    let key = Identity::new(base, names_read(&ctx.globals, mark, &common, &[]), &ctx.globals);
                    SourcePlan::New(built, route.clone(), key, driver.clone(), index)
                }
            };
            pending.push((obj.name.clone(), plan));
        }
        sources.push(RunningSource { object: obj.name.clone(), stats });
    }

    // Everything is set up: take over what is kept, start the writers, then the readers.
    let mut taken_dest: Vec<Option<RunningDestination>> =
        std::mem::take(kept_destinations).into_iter().map(Some).collect();
    let mut running_destinations = Vec::new();
    for (object, dest, stats_name) in destinations {
        match dest {
            Dest::Kept(i) => {
                let mut d = taken_dest[i].take().expect("each kept destination is used once");
                d.stats_name = stats_name;
                running_destinations.push(d);
            }
            Dest::New(queue, built, key, driver, index, after) => {
                let formats = is_log_writer(driver.name);
                let stop = CancellationToken::new();
                let restarts = Arc::new(AtomicU64::new(0));
                let info = supervise::Supervised {
                    kind: "destination",
                    object: object.clone(),
                    driver: driver.name,
                    location: (ctx.locate)(&driver.span),
                    restarts: restarts.clone(),
                };
                let restarts = (format!("dst.{}", driver.name), format!("{object}#{index}"), restarts);
                let bctx = BuildContext { queue_stats: Some(queue.stats.clone()), ..(*ctx).clone() };
                let (q, shutdown, name) = (queue.clone(), stop.clone(), object.clone());
                let failed = queue.clone();
                let supervised = supervise::run(
                    info,
                    built,
                    move || rsng_drivers::build_destination(&name, index, &driver, &bctx),
                    move |d| d.run(DestinationContext { queue: q.clone(), shutdown: shutdown.clone() }),
                    // The batch the failed writer held: a disk buffer hands it out again, a
                    // memory queue has lost it (counted and reported).
                    move || failed.writer_failed(),
                    stop.clone(),
                );
                let stopped = stop.clone();
                let marks = queue.marks().map(|m| m.clone().run(queue.clone(), stop.clone()));
                let suppress = queue.suppress().map(|s| s.clone().run(queue.clone(), stop.clone()));
                let task = tokio::spawn(async move {
                    if let Some(after) = after {
                        tokio::select! {
                            _ = after.cancelled() => {}
                            _ = stopped.cancelled() => return,
                        }
                    }
                    // The writer's timers (MARKs, suppression summaries) run beside it.
                    let marks = async move {
                        if let Some(m) = marks {
                            m.await
                        }
                    };
                    let suppress = async move {
                        if let Some(s) = suppress {
                            s.await
                        }
                    };
                    tokio::join!(supervised, marks, suppress);
                });
                let finished = CancellationToken::new();
                running_destinations.push(RunningDestination {
                    object,
                    queue,
                    stats_name,
                    formats,
                    key,
                    restarts,
                    stop,
                    task,
                    finished,
                });
            }
        }
    }
    kept_destinations.extend(taken_dest.into_iter().flatten());
    let mut taken_src: Vec<Option<SourceSlot>> = std::mem::take(kept_sources).into_iter().map(Some).collect();
    let mut slots = Vec::new();
    for (object, plan) in pending {
        match plan {
            SourcePlan::Kept(i, route) => {
                let slot = taken_src[i].take().expect("each kept source is used once");
                slot.cell.replace(route, outlets.clone());
                slots.push(slot);
            }
            SourcePlan::New(built, route, key, driver, index) => {
                let cell = RouteCell::new(route, outlets.clone());
                let stats = source_stats.get(&object).cloned().unwrap_or_default();
                let stop = CancellationToken::new();
                let restarts = Arc::new(AtomicU64::new(0));
                let info = supervise::Supervised {
                    kind: "source",
                    object: object.clone(),
                    driver: driver.name,
                    location: (ctx.locate)(&driver.span),
                    restarts: restarts.clone(),
                };
                let restarts = (format!("src.{}", driver.name), format!("{object}#{index}"), restarts);
                let (c, shutdown, name, bctx) = (cell.clone(), stop.clone(), object.clone(), ctx.clone());
                let source_name: Arc<str> = Arc::from(object.as_str());
                let stats_id: Arc<str> = Arc::from(restarts.1.as_str());
                let task = tokio::spawn(supervise::run(
                    info,
                    built,
                    move || rsng_drivers::build_source(&name, &driver, &bctx),
                    move |s| {
                        s.run(SourceContext {
                            port: SourcePort::new(c.clone(), stats.clone()).with_stats_id(stats_id.clone()),
                            shutdown: shutdown.clone(),
                            source_name: source_name.clone(),
                            stats_id: stats_id.clone(),
                        })
                    },
                    || {},
                    stop.clone(),
                ));
                slots.push(SourceSlot { key, cell, restarts, stop, task });
            }
        }
    }
    kept_sources.extend(taken_src.into_iter().flatten());
    rsng_drivers::mark::set_internal_freq(
        daemon.mark_seconds().unwrap_or(rsng_drivers::mark::DEFAULT_MARK_FREQ as i64).max(0).unsigned_abs(),
    );
    rsng_drivers::msg_stats::set_level(stats_level);
    let stats_lifetime = daemon.stats_lifetime;
    rsng_drivers::msg_stats::set_limits(daemon.stats_max_dynamics, stats_lifetime);
    Ok(Running {
        stats_lifetime: stats_lifetime.map_or(rsng_drivers::msg_stats::DEFAULT_LIFETIME, |n| n.unsigned_abs()),
        stats_level,
        sources,
        destinations: running_destinations,
        slots,
        parsers: parser_counters,
        filters: filter_stats.into_inner(),
        _ticker: Ticker::start(&graph, &stateful, &outlets),
        stateful,
        stats_freq: (daemon.stats_seconds() > 0).then(|| Duration::from_secs(daemon.stats_seconds().unsigned_abs())),
        stats_baseline: Arc::default(),
        hooks: Vec::new(),
        persist_file: opts.persist_file.clone(),
    })
}

/// Whether destination driver `name` is one of syslog-ng's log writers (formatting, size,
/// truncation and suppression counters; `suppress()`), unlike the threaded destinations.
fn is_log_writer(name: &str) -> bool {
    matches!(
        name,
        "network"
            | "syslog"
            | "tcp"
            | "udp"
            | "tcp6"
            | "udp6"
            | "unix-stream"
            | "unix-dgram"
            | "file"
            | "pipe"
            | "program"
    )
}

/// The `suppress()` of a writer (else the global one), as its state; `None` for 0 and for
/// destinations that are not syslog-ng log writers.
fn suppress_of(
    driver: &ir::Driver,
    globals: &rsng_drivers::options::Globals,
) -> Option<Arc<rsng_drivers::suppress::Suppress>> {
    if !is_log_writer(driver.name) {
        return None;
    }
    let seconds =
        rsng_drivers::suppress::SuppressOptions::read(&rsng_drivers::Options::new(driver, globals)).suppress?;
    // The summaries name this host as syslog-ng's do: its fully qualified name.
    let host = rsng_drivers::receive::HostResolve { use_dns: false, use_fqdn: true, normalize: false, cache: false };
    rsng_drivers::suppress::Suppress::new(seconds, host.local_name())
}

/// How long stopped sources get to end their tasks before these are aborted.
const SOURCE_STOP_LIMIT: Duration = Duration::from_secs(1);
/// How long a destination gets after its stop was requested (at the end of the grace) before its
/// task is aborted: a writer may be inside a write that the peer never completes.
const DESTINATION_ABORT_LIMIT: Duration = Duration::from_millis(500);

/// Awaits `task` until `deadline`, then aborts it. Returns whether it ended by itself.
async fn join_or_abort(task: &mut JoinHandle<()>, deadline: tokio::time::Instant) -> bool {
    if tokio::time::timeout_at(deadline, &mut *task).await.is_ok() {
        return true;
    }
    task.abort();
    let _ = task.await;
    false
}

/// Stops destinations: closes their queues, lets them write for at most `grace`, then cancels
/// and, if they still do not end, aborts them. Disk buffers are synced; what memory queues still
/// hold is counted as dropped and reported.
async fn drain_destinations(destinations: Vec<RunningDestination>, grace: Duration) {
    for d in &destinations {
        d.queue.close();
    }
    // A disk buffer keeps what is left for the next run: no need to wait for its peer.
    let (persistent, destinations): (Vec<_>, Vec<_>) = destinations.into_iter().partition(|d| d.queue.is_persistent());
    for mut d in persistent {
        d.stop.cancel();
        join_or_abort(&mut d.task, tokio::time::Instant::now() + DESTINATION_ABORT_LIMIT).await;
        d.queue.flush();
        d.finished.cancel();
    }
    let deadline = tokio::time::Instant::now() + grace;
    let mut waiting = Vec::new();
    for mut d in destinations {
        if !join_until(&mut d.task, deadline).await {
            d.stop.cancel();
            waiting.push(d);
        } else {
            report_lost(&d);
            d.finished.cancel();
        }
    }
    let deadline = tokio::time::Instant::now() + DESTINATION_ABORT_LIMIT;
    for mut d in waiting {
        join_or_abort(&mut d.task, deadline).await;
        report_lost(&d);
        d.finished.cancel();
    }
}

/// Awaits `task` until `deadline` (leaving it running after). Returns whether it ended.
async fn join_until(task: &mut JoinHandle<()>, deadline: tokio::time::Instant) -> bool {
    tokio::time::timeout_at(deadline, &mut *task).await.is_ok()
}

/// Counts and reports what a stopped destination's memory queue could not deliver.
fn report_lost(d: &RunningDestination) {
    let lost = d.queue.abandon();
    if lost > 0 {
        rsng_drivers::internal::error(format!(
            "Destination stopped with messages it could not deliver, they are lost; destination='{}', count='{lost}'",
            d.queue.name()
        ));
    }
}

async fn stop_sources(slots: Vec<SourceSlot>) {
    for s in &slots {
        s.stop.cancel();
    }
    let deadline = tokio::time::Instant::now() + SOURCE_STOP_LIMIT;
    for mut s in slots {
        if !join_or_abort(&mut s.task, deadline).await {
            rsng_drivers::internal::error(format!(
                "A source did not stop in time and was aborted; source='{}'",
                s.key.object()
            ));
        }
    }
}

impl Running {
    /// Every counter, named as syslog-ng 3.38 names them at the configured `stats-level()`,
    /// counted from the last reset.
    pub fn stats(&self) -> Vec<control::StatRow> {
        let mut rows = self.raw_stats();
        let baseline = self.stats_baseline.lock().unwrap_or_else(|e| e.into_inner());
        if !baseline.is_empty() {
            for r in rows.iter_mut().filter(|r| r.resettable()) {
                if let Some(&base) = baseline.get(&r.key()) {
                    r.value = match r.kind.as_str() {
                        // A stamp is 0 after a reset until a message comes.
                        "stamp" if r.value <= base => 0,
                        "stamp" => r.value,
                        _ => r.value.saturating_sub(base),
                    };
                }
            }
        }
        rows
    }

    /// Sets the counters whose query name matches `pattern` (all: `*`) to 0, as
    /// `syslog-ng-ctl stats --reset` and the `query ... --reset` commands do; gauges stay.
    pub fn reset_stats(&self, pattern: &str) {
        let rows = self.raw_stats();
        let mut baseline = self.stats_baseline.lock().unwrap_or_else(|e| e.into_inner());
        for r in rows.iter().filter(|r| r.resettable() && control::glob_match(pattern, &r.query_name())) {
            baseline.insert(r.key(), r.value);
        }
    }

    /// Every counter as it stands, without resets.
    fn raw_stats(&self) -> Vec<control::StatRow> {
        use control::StatRow;
        use std::sync::atomic::Ordering::Relaxed;
        let mut rows = Vec::new();
        let mut received = 0;
        let mut internal_source = false;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        for s in &self.sources {
            let n = s.stats.processed.load(Relaxed);
            received += n;
            rows.push(StatRow::new("source", &s.object, "", "processed", n));
            for (component, instance, live) in s.stats.listeners() {
                rows.push(StatRow::new(&component, &s.object, &instance, "connections", live as u64));
            }
            for (component, id, instance, c) in s.stats.peers(self.stats_level) {
                internal_source |= component == "src.internal";
                let n = c.processed.load(Relaxed);
                rows.push(StatRow::new(&component, &id, &instance, "processed", n));
                rows.push(StatRow::new(&component, &id, &instance, "stamp", c.stamp.load(Relaxed)));
                if instance.is_empty() {
                    // A driver's own counter (`src.internal`), not a sender's.
                    continue;
                }
                for (kind, value) in eps_rows(n, c.since, now) {
                    rows.push(StatRow::new(&component, &id, &instance, kind, value));
                }
                // The reader's size counters are orphaned once its connection is gone.
                let state = if c.open.load(Relaxed) > 0 { 'a' } else { 'o' };
                let (sum, count) = (c.size_sum.load(Relaxed), c.size_count.load(Relaxed));
                for (kind, value) in
                    [("msg_size_avg", sum.checked_div(count).unwrap_or(0)), ("msg_size_max", c.size_max.load(Relaxed))]
                {
                    rows.push(StatRow::new(&component, &id, &instance, kind, value).with_state(state));
                }
            }
        }
        let mut per_object: Vec<(String, u64)> = Vec::new();
        let mut delivered = 0;
        for d in &self.destinations {
            let st = &d.queue.stats;
            let (queued_total, dropped, written) =
                (st.queued_total.load(Relaxed), st.dropped.load(Relaxed), st.written.load(Relaxed));
            let processed = queued_total + dropped;
            let dropped = dropped + st.discarded.load(Relaxed);
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
                if d.formats {
                    let w = &st.writer;
                    let since = st.since.load(Relaxed);
                    let (sum, count) = (w.size_sum.load(Relaxed), w.size_count.load(Relaxed));
                    for (kind, value) in [
                        ("truncated_count", w.truncated_count.load(Relaxed)),
                        ("truncated_bytes", w.truncated_bytes.load(Relaxed)),
                        ("msg_size_avg", sum.checked_div(count).unwrap_or(0)),
                        ("msg_size_max", w.size_max.load(Relaxed)),
                    ] {
                        rows.push(StatRow::new(component, id, instance, kind, value));
                    }
                    for (kind, value) in eps_rows(written, since, now) {
                        rows.push(StatRow::new(component, id, instance, kind, value));
                    }
                }
                if self.stats_level >= 1 {
                    rows.push(StatRow::new(component, id, instance, "memory_usage", d.queue.memory_usage()));
                }
                if let Some(s) = d.queue.suppress() {
                    rows.push(StatRow::new(component, id, instance, "suppressed", s.suppressed.load(Relaxed)));
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
        // Completed handshakes by protocol and cipher, and resumed sessions (rsng extension).
        let split = |instance: &str| {
            let mut parts = instance.splitn(3, ';');
            [(); 3].map(|_| parts.next().unwrap_or_default().to_string())
        };
        for (instance, kind, n) in rsng_transport::tls::handshakes() {
            let [component, id, inst] = split(&instance);
            rows.push(StatRow::new(&component, &id, &inst, &format!("tls_handshakes_{kind}"), n));
        }
        for (instance, n) in rsng_transport::tls::resumptions() {
            let [component, id, inst] = split(&instance);
            rows.push(StatRow::new(&component, &id, &inst, "tls_resumptions", n));
        }
        // When each certificate of each tls() block ends (rsng extension): `tls;LOCATION;ROLE:SUBJECT;a;not_after;UNIX`.
        for (location, role, subject, end) in rsng_transport::tls::certificates::certificate_expiries() {
            let instance = format!("{}:{subject}", role.name());
            rows.push(StatRow::new("tls", &location, &instance, "not_after", end.max(0) as u64));
        }
        // Restarts after failures (rsng's own counter; rows only for drivers that failed).
        let restarted = self.slots.iter().map(|s| &s.restarts).chain(self.destinations.iter().map(|d| &d.restarts));
        for (component, id, n) in restarted {
            let n = n.load(Relaxed);
            if n > 0 {
                rows.push(StatRow::new(component, id, "", "restarts", n));
            }
        }
        for (name, c) in &self.filters {
            rows.push(StatRow::new("filter", name, "", "matched", c.matched.load(Relaxed)));
            rows.push(StatRow::new("filter", name, "", "not_matched", c.not_matched.load(Relaxed)));
        }
        for (name, discarded) in &self.parsers {
            rows.push(StatRow::new("parser", name, "", "discarded", discarded.load(Relaxed)));
        }
        rows.push(StatRow::new("center", "", "received", "processed", received));
        rows.push(StatRow::new("center", "", "queued", "processed", delivered));
        // syslog-ng's own memory counters: rsng makes no message clones, payload
        // reallocations or scratch buffers of that kind, so they stay 0.
        for (id, kind) in [
            ("msg_clones", "processed"),
            ("payload_reallocs", "processed"),
            ("sdata_updates", "processed"),
            ("scratch_buffers_count", "queued"),
            ("scratch_buffers_bytes", "queued"),
        ] {
            rows.push(StatRow::new("global", id, "", kind, 0));
        }
        if self.stats_level >= 1 {
            rows.push(StatRow::new("global", "msg_allocated_bytes", "", "value", 0));
        }
        for (component, id, instance, state, kind, value) in rsng_drivers::msg_stats::rows(self.stats_level) {
            rows.push(StatRow::new(component, &id, &instance, kind, value).with_state(state));
        }
        if internal_source {
            let (queued, dropped) = rsng_drivers::internal::queue_counters();
            rows.push(StatRow::new("global", "internal_source", "", "queued", queued));
            rows.push(StatRow::new("global", "internal_source", "", "dropped", dropped));
            // The old name of `internal_source;queued`, which syslog-ng still shows.
            rows.push(StatRow::new("global", "internal_queue_length", "", "processed", queued));
        }
        rows
    }

    /// Switches to `config`. The whole new configuration is built and started (sockets bound,
    /// files opened, TLS contexts loaded) before anything of the running one stops; sources and
    /// destinations whose definition and the globals they read did not change keep running:
    /// listeners, established connections and queued messages stay. Then the drivers the new
    /// configuration does not keep stop (removed destinations first write what they hold, for at
    /// most `grace`).
    ///
    /// # Errors
    /// When the new configuration cannot be started; the running one is untouched then.
    pub async fn reload(
        &mut self,
        config: &ir::Config,
        opts: &StartOptions,
        grace: Duration,
    ) -> Result<(), BuildError> {
        let mut stats: HashMap<String, Arc<SourceStats>> =
            self.sources.iter().map(|s| (s.object.clone(), s.stats.clone())).collect();
        let mut old_destinations = std::mem::take(&mut self.destinations);
        let mut old_sources = std::mem::take(&mut self.slots);
        let persisted = self.stateful.iter().filter_map(|t| t.persistent_state()).collect();
        // As syslog-ng stops every driver of the old configuration and starts those of the new
        // one, and starts the old ones again when the new ones fail.
        let new_hooks = hooks::of_config(config);
        hooks::stop(&self.hooks, false);
        let started = hooks::start(&new_hooks, false).and_then(|()| {
            build(config, opts, &mut old_destinations, &mut old_sources, &mut stats, persisted).inspect_err(|_| {
                hooks::stop(&new_hooks, false);
            })
        });
        if started.is_err() {
            let _ = hooks::start(&self.hooks, false);
        }
        match started {
            Ok(running) => {
                let baseline = self.stats_baseline.clone();
                *self = running;
                self.stats_baseline = baseline;
                self.hooks = new_hooks;
                // What is left of the old configuration: sources first, so that nothing more
                // reaches the destinations that go.
                stop_sources(old_sources).await;
                tokio::spawn(drain_destinations(old_destinations, grace));
                Ok(())
            }
            Err(e) => {
                self.destinations = old_destinations;
                self.slots = old_sources;
                Err(e)
            }
        }
    }

    /// How often the "Log statistics" internal message is sent (`stats-freq()`; `None`: never).
    pub fn stats_freq(&self) -> Option<Duration> {
        self.stats_freq
    }

    /// How often the statistics timer runs, as syslog-ng's: every `stats-freq()` seconds, or
    /// without that message every half `stats-lifetime()` (at least a second), since it also
    /// prunes the dynamic counters.
    pub fn stats_period(&self) -> Duration {
        self.stats_freq.unwrap_or(Duration::from_secs((self.stats_lifetime / 2).max(1)))
    }

    /// The statistics timer's work besides the "Log statistics" message: prunes the dynamic
    /// counters idle for `stats-lifetime()` seconds, with syslog-ng's notice when any went.
    pub fn prune_stats(&self) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if let Some((dropped, oldest)) = rsng_drivers::msg_stats::prune(now) {
            rsng_drivers::internal::notice(format!(
                "Pruning stats-counters have finished; dropped='{dropped}', oldest-timestamp='{oldest}'"
            ));
        }
    }

    /// The "Log statistics" internal message: every counter with its value.
    pub fn log_statistics(&self) -> String {
        control::format_log_statistics(&self.stats())
    }

    /// The disk buffers, to sync when rsng exits without waiting for its writers.
    pub fn disk_buffers(&self) -> Vec<Arc<DestinationQueue>> {
        self.destinations.iter().filter(|d| d.queue.is_persistent()).map(|d| d.queue.clone()).collect()
    }

    /// Stops reading, lets the destinations write what was accepted (for at most `grace`), then
    /// stops them.
    pub async fn stop(self, grace: Duration) {
        hooks::stop(&self.hooks, true);
        // Open correlation contexts are dropped, as syslog-ng drops them.
        drop(self._ticker);
        stop_sources(self.slots).await;
        drain_destinations(self.destinations, grace).await;
        uniqid::stop(self.persist_file.as_deref());
    }
}
