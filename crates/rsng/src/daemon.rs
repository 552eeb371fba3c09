//! Running the pipeline: the tokio runtime, start-up, signals (SIGTERM/SIGINT stop, SIGHUP
//! reloads), the pid file and going to the background.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use rsng_config::{ir, LoadOptions};
use rsng_drivers::internal;
use tokio::signal::unix::{signal, SignalKind};

use rsng_runtime::control::{self, Command};

use crate::cli::Cli;
use crate::service_notify;

/// syslog-ng's control socket, so that `syslog-ng-ctl` without `-c` reaches rsng.
const DEFAULT_CONTROL_SOCKET: &str = "/var/lib/syslog-ng/syslog-ng.ctl";
/// syslog-ng's pid file, which init scripts read.
const DEFAULT_PIDFILE: &str = "/var/lib/syslog-ng/syslog-ng.pid";

/// How long a reload lets removed destinations write what they hold.
const DRAIN_GRACE: Duration = Duration::from_secs(10);
/// How long stopping lets destinations write what they hold; what is left then is counted and
/// reported as lost (disk buffers keep theirs), so a stop always ends.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long the daemon keeps running after the shutdown notice: syslog-ng's 100 ms.
const EXIT_DELAY: Duration = Duration::from_millis(100);

/// Runs `config` until a stop signal; returns the process exit code.
pub fn run(cli: &Cli, config: ir::Config) -> ExitCode {
    let level = if cli.debug || cli.trace {
        Some(internal::Level::Debug)
    } else if cli.verbose {
        Some(internal::Level::Info)
    } else {
        None
    };
    crate::process::set_stderr(cli.stderr);
    // `--startup-debug`: debug messages until start-up is over, then the levels asked for.
    let startup_level = if cli.startup_debug { Some(internal::Level::Debug) } else { level };
    crate::process::apply_level(startup_level);
    for warning in crate::process::apply(cli) {
        eprintln!("rsng: {warning}");
    }
    let background = !cli.foreground && cli.process_mode.as_deref() != Some("foreground");
    let mut notify_parent = None;
    if background {
        match daemonize() {
            Ok(Some(pipe)) => notify_parent = Some(pipe),
            Ok(None) => unreachable!("the parent exits in daemonize"),
            Err(e) => {
                eprintln!("rsng: cannot go to the background: {e}");
                return ExitCode::from(1);
            }
        }
    }
    service_notify::init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.worker_threads.filter(|&n| n > 0) {
        builder.worker_threads(n);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rsng: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(serve(cli, config, &mut notify_parent, level));
    if let Some(pipe) = notify_parent.take() {
        report_to_parent(pipe, code != 0);
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    ExitCode::from(code)
}

async fn serve(
    cli: &Cli,
    mut config: ir::Config,
    notify_parent: &mut Option<std::os::fd::OwnedFd>,
    level: Option<internal::Level>,
) -> u8 {
    // Installed before anything listens: a SIGHUP or SIGTERM sent as soon as the ports answer
    // must be acted on once start-up is over, neither lost nor fatal.
    let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) else {
        eprintln!("rsng: cannot install signal handlers");
        return 1;
    };
    let mut running = match rsng_runtime::start(&config, &start_options(cli)) {
        Ok(r) => r,
        Err(e) => {
            print_start_error(&config, &e);
            return 1;
        }
    };
    let (control_tx, mut control_rx) = tokio::sync::mpsc::channel::<control::Request>(16);
    let control_path = cli.control.clone().unwrap_or_else(|| DEFAULT_CONTROL_SOCKET.into());
    let control_bound = match control::bind(&control_path) {
        Ok(listener) => {
            tokio::spawn(control::serve(listener, control_tx));
            true
        }
        Err(e) => {
            internal::warning(format!(
                "Error opening control socket, bind() failed; socket='{}', error='{e}'",
                control_path.display()
            ));
            false
        }
    };
    let pidfile = cli.pidfile.clone().unwrap_or_else(|| DEFAULT_PIDFILE.into());
    if let Err(e) = write_pidfile(&pidfile) {
        internal::warning(format!("Error creating pid file; file='{}', error='{e}'", pidfile.display()));
    }
    if let Err(e) = drop_privileges(cli) {
        eprintln!("rsng: {e}");
        running.stop(STOP_GRACE).await;
        return 1;
    }
    internal::notice(format!("syslog-ng starting up; version='{}'", env!("CARGO_PKG_VERSION")));
    if cli.startup_debug {
        crate::process::apply_level(level);
    }
    if let Some(pipe) = notify_parent.take() {
        report_to_parent(pipe, false);
    }
    let mut watchdog = service_notify::watchdog();
    // The statistics timer (`stats-freq()`, else half `stats-lifetime()`): the next "Log
    // statistics" message and pruning; a reload starts the period again.
    let mut stats_period = running.stats_period();
    let mut next_stats = tokio::time::Instant::now() + stats_period;
    loop {
        service_notify::ready(&running);
        let stats_due = tokio::time::sleep_until(next_stats);
        tokio::select! {
            _ = watchdog.tick() => service_notify::ping(),
            _ = stats_due => {
                if running.stats_freq().is_some() {
                    // Sent at info level whatever the verbosity, as syslog-ng sends it.
                    internal::info_always(running.log_statistics());
                }
                running.prune_stats();
                next_stats = tokio::time::Instant::now() + stats_period;
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => rsng_drivers::file::request_reopen(),
            _ = hup.recv() => {
                let _ = reload(cli, &mut config, &mut running, true).await;
                stats_period = running.stats_period();
                next_stats = tokio::time::Instant::now() + stats_period;
            }
            Some((command, reply)) = control_rx.recv() => {
                let mut stop = false;
                let answer = match command {
                    Command::Stats { reset: false } => control::format_stats(&running.stats()),
                    Command::Stats { reset: true } => {
                        running.reset_stats("*");
                        control::RESET_ANSWER.to_string()
                    }
                    Command::Prometheus => control::format_prometheus(&running.stats()),
                    Command::Query { kind, pattern, reset } => {
                        let answer = control::format_query(&running.stats(), kind, &pattern);
                        if reset {
                            running.reset_stats(&pattern);
                        }
                        answer
                    }
                    Command::Reload => match reload(cli, &mut config, &mut running, false).await {
                        Ok(()) => {
                            stats_period = running.stats_period();
                            next_stats = tokio::time::Instant::now() + stats_period;
                            "OK Config reload successful".to_string()
                        }
                        Err(reason) => format!("FAIL {reason}"),
                    },
                    Command::Stop => {
                        stop = true;
                        "OK Shutdown initiated".to_string()
                    }
                    Command::Reopen => {
                        rsng_drivers::file::request_reopen();
                        "OK Re-open of log destination files initiated".to_string()
                    }
                    Command::Log { which, set } => log_level(&which, set),
                    Command::Config { preprocessed } => config_text(cli, preprocessed),
                    Command::Credentials(c) => c.run(),
                    Command::Unknown(line) => format!("FAIL Unknown command; command='{line}'"),
                };
                let _ = reply.send(answer);
                if stop {
                    break;
                }
            }
        }
    }
    service_notify::stopping();
    internal::notice(format!("syslog-ng shutting down; version='{}'", env!("CARGO_PKG_VERSION")));
    let disk_buffers = running.disk_buffers();
    // Like syslog-ng, everything keeps running for a moment after the shutdown notice, so a
    // client that connects just then (a restart script's loggen, a reconnecting relay) is still
    // read rather than refused.
    let second_signal = tokio::select! {
        _ = tokio::time::sleep(EXIT_DELAY) => false,
        _ = async { tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} } } => true,
    };
    let second_signal = second_signal
        || tokio::select! {
            _ = running.stop(STOP_GRACE) => false,
            _ = async { tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} } } => true,
        };
    if second_signal {
        // A second stop signal: exit now, with the disk buffers synced.
        internal::error("Second stop signal received, exiting without waiting for the destinations");
        disk_buffers.iter().for_each(|q| q.flush());
    }
    // `syslog-ng-ctl stop` hears its `OK` before the process goes.
    control::replies_written(Duration::from_secs(1)).await;
    let _ = std::fs::remove_file(&pidfile);
    if control_bound {
        let _ = std::fs::remove_file(&control_path);
    }
    0
}

/// Reads the configuration again and switches to it. `Err`: `syslog-ng-ctl reload`'s answer when
/// the new configuration could not be used; the old one keeps running untouched. The messages are
/// syslog-ng's, in its order; a file that does not parse is logged only for SIGHUP
/// (`syslog-ng-ctl reload` gets the reason in its reply instead).
async fn reload(
    cli: &Cli,
    config: &mut ir::Config,
    running: &mut rsng_runtime::Running,
    by_signal: bool,
) -> Result<(), &'static str> {
    service_notify::reloading();
    let loaded = match rsng_config::load_file(&cli.cfgfile, &LoadOptions::default()) {
        Ok(loaded) => loaded,
        Err(err) => {
            crate::print_reports(&err.reports);
            if by_signal {
                internal::error("Error reloading configuration; reason='Syntax error parsing configuration file'");
            }
            return Err("Syntax error parsing configuration file, previous config remained intact");
        }
    };
    // As at start-up: what the option checks refuse is not also warned about as ignored.
    if let Err(e) = rsng_runtime::check_options(&loaded.config) {
        return Err(reload_refused(&loaded.config, &e));
    }
    crate::print_unused_options(&loaded.config);
    // Destination files are opened again on reload, as syslog-ng does.
    rsng_drivers::file::request_reopen();
    match running.reload(&loaded.config, &start_options(cli), DRAIN_GRACE).await {
        Ok(()) => {
            *config = loaded.config;
            internal::info("New configuration initialized;");
            internal::notice("Configuration reload request received, reloading configuration;");
            internal::notice("Configuration reload finished;");
            Ok(())
        }
        Err(e) => Err(reload_refused(&loaded.config, &e)),
    }
}

/// Reports a configuration that could not be started at a reload; the answer for
/// `syslog-ng-ctl reload`.
fn reload_refused(config: &ir::Config, e: &rsng_runtime::BuildError) -> &'static str {
    print_start_error(config, e);
    // syslog-ng's words; nothing needs reverting here, as the old configuration never stopped
    // (print_start_error gave the reason and its location).
    internal::error("Error initializing new configuration, reverting to old config;");
    internal::notice("Configuration reload finished;");
    "Config reload failed, reverted to previous config"
}

fn log_level(which: &str, set: Option<bool>) -> String {
    use std::sync::atomic::{AtomicBool, Ordering};
    static VERBOSE: AtomicBool = AtomicBool::new(false);
    static DEBUG: AtomicBool = AtomicBool::new(false);
    static TRACE: AtomicBool = AtomicBool::new(false);
    let flag = match which {
        "VERBOSE" => &VERBOSE,
        "DEBUG" => &DEBUG,
        "TRACE" => &TRACE,
        other => return format!("FAIL Invalid arguments received; command='LOG {other}'"),
    };
    if let Some(on) = set {
        flag.store(on, Ordering::Relaxed);
        let level = if DEBUG.load(Ordering::Relaxed) || TRACE.load(Ordering::Relaxed) {
            Some(internal::Level::Debug)
        } else if VERBOSE.load(Ordering::Relaxed) {
            Some(internal::Level::Info)
        } else {
            None
        };
        crate::process::apply_level(level);
    }
    format!("OK {which}={}", u8::from(flag.load(Ordering::Relaxed)))
}

fn config_text(cli: &Cli, preprocessed: bool) -> String {
    if preprocessed {
        rsng_config::preprocess_file(&cli.cfgfile, &LoadOptions::default()).0
    } else {
        std::fs::read_to_string(&cli.cfgfile).unwrap_or_else(|e| format!("FAIL Error reading the configuration: {e}"))
    }
}

fn start_options(cli: &Cli) -> rsng_runtime::StartOptions {
    rsng_runtime::StartOptions {
        // rsng's own format, beside syslog-ng's file rather than over it.
        persist_file: Some(cli.persist_file.clone().unwrap_or_else(|| "/var/lib/syslog-ng/rsng.persist".into())),
    }
}

pub(crate) fn print_start_error(config: &ir::Config, e: &rsng_runtime::BuildError) {
    match &e.span {
        Some(span) => eprintln!("rsng: {}; location='{}'", e.message, config.location(span)),
        None => eprintln!("rsng: {}", e.message),
    }
}

/// `-C DIR`, `-g GROUP`, `-u USER`, in that order, once the sockets are bound (so privileged
/// ports work) and the pid file and control socket exist.
fn drop_privileges(cli: &Cli) -> Result<(), String> {
    use nix::unistd::{chdir, chroot, setgid, setgroups, setuid, Gid, Group, Uid, User};
    let user = match cli.user.as_deref().filter(|u| !u.is_empty()) {
        Some(name) => Some(match name.parse::<u32>() {
            Ok(uid) => (Uid::from_raw(uid), None),
            Err(_) => {
                let u = User::from_name(name).ok().flatten().ok_or_else(|| format!("unknown user `{name}` (-u)"))?;
                (u.uid, Some(u.gid))
            }
        }),
        None => None,
    };
    let group = match cli.group.as_deref().filter(|g| !g.is_empty()) {
        Some(name) => Some(match name.parse::<u32>() {
            Ok(gid) => Gid::from_raw(gid),
            Err(_) => Group::from_name(name).ok().flatten().ok_or_else(|| format!("unknown group `{name}` (-g)"))?.gid,
        }),
        None => None,
    };
    if let Some(dir) = &cli.chroot {
        chroot(dir.as_path()).map_err(|e| format!("cannot chroot to {}: {e}", dir.display()))?;
        chdir("/").map_err(|e| format!("cannot enter the chroot: {e}"))?;
    }
    // The user's primary group unless -g says otherwise.
    if let Some(gid) = group.or(user.and_then(|(_, g)| g)) {
        setgroups(&[gid]).map_err(|e| format!("cannot set supplementary groups: {e}"))?;
        setgid(gid).map_err(|e| format!("cannot switch to group {gid}: {e}"))?;
    }
    if let Some((uid, _)) = user {
        setuid(uid).map_err(|e| format!("cannot switch to user {uid}: {e}"))?;
    }
    Ok(())
}

fn write_pidfile(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("pid.tmp");
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(tmp, path)
}

/// Forks; the parent waits until the child reports its start-up and exits with its verdict.
/// Returns the write end of the report pipe in the child.
fn daemonize() -> nix::Result<Option<std::os::fd::OwnedFd>> {
    use nix::unistd::{fork, pipe, setsid, ForkResult};
    let (read, write) = pipe()?;
    // SAFETY: no threads exist yet (the runtime is built after this).
    match unsafe { fork() }? {
        ForkResult::Parent { .. } => {
            drop(write);
            let mut byte = [1u8];
            let mut file = std::fs::File::from(read);
            let ok = std::io::Read::read_exact(&mut file, &mut byte).is_ok() && byte[0] == 0;
            std::process::exit(if ok { 0 } else { 1 });
        }
        ForkResult::Child => {
            drop(read);
            setsid()?;
            if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                use std::os::fd::AsRawFd;
                let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
                let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
            }
            Ok(Some(write))
        }
    }
}

fn report_to_parent(pipe: std::os::fd::OwnedFd, failed: bool) {
    let mut file = std::fs::File::from(pipe);
    let _ = std::io::Write::write_all(&mut file, &[u8::from(failed)]);
}
