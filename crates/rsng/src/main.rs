//! The `rsng` binary: command line, diagnostics rendering and exit codes. Everything else lives
//! in the library crates.

mod cli;
mod daemon;
mod generate;
mod manual;
mod pdbtool;
mod process;
mod service_notify;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser as _;
use rsng_config::diagnostic::Report;
use rsng_config::LoadOptions;

use cli::Cli;

fn main() -> ExitCode {
    // `rsng pdbtool ...`: syslog-ng's patterndb tool, before the daemon's command line.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("pdbtool") {
        return pdbtool::run(&args[1..]);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // As syslog-ng: help is a success, a bad command line exits with 1.
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    if let Some(kind) = cli.generate {
        return generate::run(kind, manual::command(), false, &manual::sections());
    }
    if cli.version {
        println!("rsng {}", env!("CARGO_PKG_VERSION"));
        println!("Config version: 3.38");
        println!("Include-Path: /etc/syslog-ng:/usr/share/syslog-ng/include");
        return ExitCode::SUCCESS;
    }
    if cli.module_registry {
        process::print_module_registry();
        return ExitCode::SUCCESS;
    }
    let opts = LoadOptions::default();
    if let Some(target) = &cli.preprocess_into {
        return preprocess_into(&cli, target, &opts);
    }
    match rsng_config::load_file(&cli.cfgfile, &opts) {
        Ok(loaded) => {
            print_reports(&loaded.warnings);
            // What start-up refuses in a driver's options before it touches the system, checked
            // first so that `--syntax-only` gives start-up's verdict and a refused option is not
            // also warned about as ignored.
            if let Err(e) = rsng_runtime::check_options(&loaded.config) {
                daemon::print_start_error(&loaded.config, &e);
                return ExitCode::from(1);
            }
            print_unused_options(&loaded.config);
            if cli.syntax_only {
                return ExitCode::SUCCESS;
            }
            daemon::run(&cli, loaded.config)
        }
        Err(err) => {
            print_reports(&err.reports);
            ExitCode::from(1)
        }
    }
}

fn preprocess_into(cli: &Cli, target: &std::path::Path, opts: &LoadOptions) -> ExitCode {
    let (mut text, result) = rsng_config::preprocess_file(&cli.cfgfile, opts);
    // syslog-ng expands system() in the preprocessed text; rsng names what it reads here.
    let uses_system = result.is_ok()
        && rsng_config::load_file(&cli.cfgfile, opts)
            .is_ok_and(|loaded| loaded.config.sources.iter().flat_map(|o| &o.drivers).any(|d| d.name == "system"));
    if uses_system {
        text.push_str(&format!("\n# system() on this host: {}\n", rsng_drivers::system_source_expansion()));
    }
    let written = if target.as_os_str() == "-" {
        std::io::stdout().write_all(text.as_bytes())
    } else {
        std::fs::write(target, text.as_bytes())
    };
    if let Err(e) = written {
        eprintln!("rsng: cannot write the preprocessed configuration to {}: {e}", target.display());
        return ExitCode::from(1);
    }
    match result {
        Ok(warnings) => {
            print_reports(&warnings);
            ExitCode::SUCCESS
        }
        Err(err) => {
            print_reports(&err.reports);
            ExitCode::from(1)
        }
    }
}

/// Warns on standard error about every option of `config` that rsng accepts but does not run;
/// start-up, reload and `--syntax-only` all call this.
pub(crate) fn print_unused_options(config: &rsng_config::ir::Config) {
    for unused in rsng_runtime::unused::unused_options(config) {
        eprintln!("{}", unused.message(config));
    }
}

/// Prints diagnostics to standard error: miette's graphical form, or one line each with
/// `RSNG_DIAGNOSTIC_FORMAT=short` (for scripts and editors).
pub(crate) fn print_reports(reports: &[Report]) {
    let short = std::env::var("RSNG_DIAGNOSTIC_FORMAT").is_ok_and(|v| v == "short");
    let mut stderr = std::io::stderr().lock();
    let color = std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    for report in reports {
        if short {
            let severity = if report.diagnostic().is_error() { "error" } else { "warning" };
            let location = report.location.as_ref().map_or_else(String::new, |l| format!("{l}: "));
            let _ = writeln!(stderr, "{location}{severity}: {}", report.diagnostic().message);
        } else {
            let mut out = String::new();
            if handler.render_report(&mut out, report).is_ok() {
                let _ = writeln!(stderr, "{out}");
            }
        }
    }
}
