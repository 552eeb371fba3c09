//! Running the pipeline: the tokio runtime, start-up, signals (SIGTERM/SIGINT stop, SIGHUP
//! reloads), the pid file and going to the background.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use rsng_config::{ir, LoadOptions};
use rsng_drivers::internal;
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::Cli;

/// How long stopping waits for destinations to write what they hold.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Runs `config` until a stop signal; returns the process exit code.
pub fn run(cli: &Cli, config: ir::Config) -> ExitCode {
    let level = if cli.debug || cli.trace {
        Some(internal::Level::Debug)
    } else if cli.verbose {
        Some(internal::Level::Info)
    } else if cli.stderr {
        Some(internal::Level::Notice)
    } else {
        None
    };
    internal::set_stderr_level(level.or(Some(internal::Level::Error)));
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
    let code = runtime.block_on(serve(cli, config, &mut notify_parent));
    if let Some(pipe) = notify_parent.take() {
        report_to_parent(pipe, code != 0);
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    ExitCode::from(code)
}

async fn serve(cli: &Cli, config: ir::Config, notify_parent: &mut Option<std::os::fd::OwnedFd>) -> u8 {
    let mut running = match rsng_runtime::start(&config, &start_options(cli)) {
        Ok(r) => r,
        Err(e) => {
            print_start_error(&config, &e);
            return 1;
        }
    };
    if let Some(pidfile) = &cli.pidfile {
        if let Err(e) = write_pidfile(pidfile) {
            eprintln!("rsng: error writing the pid file {}: {e}", pidfile.display());
        }
    }
    internal::notice(format!("rsng starting up; version='{}'", env!("CARGO_PKG_VERSION")));
    if let Some(pipe) = notify_parent.take() {
        report_to_parent(pipe, false);
    }
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        eprintln!("rsng: cannot install signal handlers");
        running.stop(DRAIN_GRACE).await;
        return 1;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                internal::notice("Configuration reload request received, reloading configuration");
                match rsng_config::load_file(&cli.cfgfile, &LoadOptions::default()) {
                    Ok(loaded) => {
                        running.stop(DRAIN_GRACE).await;
                        match rsng_runtime::start(&loaded.config, &start_options(cli)) {
                            Ok(r) => {
                                running = r;
                                internal::notice("Configuration reload finished");
                            }
                            Err(e) => {
                                print_start_error(&loaded.config, &e);
                                internal::error(format!("Error starting the new configuration: {e}; restarting the old one"));
                                match rsng_runtime::start(&config, &start_options(cli)) {
                                    Ok(r) => running = r,
                                    Err(e) => {
                                        print_start_error(&config, &e);
                                        return 1;
                                    }
                                }
                            }
                        }
                    }
                    Err(err) => {
                        crate::print_reports(&err.reports);
                        internal::error("Error parsing the new configuration, keeping the old one");
                    }
                }
            }
        }
    }
    internal::notice(format!("rsng shutting down; version='{}'", env!("CARGO_PKG_VERSION")));
    running.stop(DRAIN_GRACE).await;
    if let Some(pidfile) = &cli.pidfile {
        let _ = std::fs::remove_file(pidfile);
    }
    0
}

fn start_options(cli: &Cli) -> rsng_runtime::StartOptions {
    rsng_runtime::StartOptions {
        persist_file: Some(cli.persist_file.clone().unwrap_or_else(|| "/var/lib/rsng/rsng.persist".into())),
    }
}

fn print_start_error(config: &ir::Config, e: &rsng_runtime::BuildError) {
    match &e.span {
        Some(span) => eprintln!("rsng: {}; location='{}'", e.message, config.location(span)),
        None => eprintln!("rsng: {}", e.message),
    }
}

fn write_pidfile(path: &Path) -> std::io::Result<()> {
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
