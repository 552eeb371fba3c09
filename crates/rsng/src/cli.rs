//! The command line: syslog-ng's flags, with the same names and meanings.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// rsng: a syslog-ng compatible logging daemon.
#[derive(Debug, Parser)]
#[command(name = "rsng", disable_version_flag = true)]
pub struct Cli {
    /// Configuration file
    #[arg(short = 'f', long = "cfgfile", value_name = "FILE", default_value = "/etc/syslog-ng/syslog-ng.conf")]
    pub cfgfile: PathBuf,

    /// Check the configuration and exit: 0 when valid, 1 when not
    #[arg(short = 's', long = "syntax-only")]
    pub syntax_only: bool,

    /// Write the preprocessed configuration to FILE (`-` for standard output) and exit
    #[arg(long = "preprocess-into", value_name = "FILE")]
    pub preprocess_into: Option<PathBuf>,

    /// Do not go into the background after start-up
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,

    /// Process mode: foreground, background or safe-background
    #[arg(long = "process-mode", value_name = "MODE")]
    pub process_mode: Option<String>,

    /// PID file
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// Persist file
    #[arg(short = 'R', long = "persist-file", value_name = "FILE")]
    pub persist_file: Option<PathBuf>,

    /// Control socket
    #[arg(short = 'c', long = "control", value_name = "SOCKET")]
    pub control: Option<PathBuf>,

    /// Log internal messages to standard error
    #[arg(short = 'e', long = "stderr")]
    pub stderr: bool,

    /// Be verbose
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Enable debug messages
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,

    /// Enable trace messages
    #[arg(short = 't', long = "trace")]
    pub trace: bool,

    /// Switch to this user after start-up
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Switch to this group after start-up
    #[arg(short = 'g', long = "group", value_name = "GROUP")]
    pub group: Option<String>,

    /// Chroot to this directory
    #[arg(short = 'C', long = "chroot", value_name = "DIR")]
    pub chroot: Option<PathBuf>,

    /// Do not manage Linux capabilities
    #[arg(long = "no-caps")]
    pub no_caps: bool,

    /// Number of worker threads
    #[arg(long = "worker-threads", value_name = "N")]
    pub worker_threads: Option<usize>,

    /// Print the version and exit
    #[arg(short = 'V', long = "version")]
    pub version: bool,

    /// Write the manual page or a shell completion script to standard output and exit
    #[arg(long = "generate", value_name = "KIND", hide = true)]
    pub generate: Option<crate::generate::Generate>,

    // The rest of syslog-ng 3.38's flags; what they do is in `process.rs`.
    /// Allow core dumps (raises the core size limit, marks the process dumpable)
    #[arg(long = "enable-core")]
    pub enable_core: bool,

    /// Log debug messages during start-up only
    #[arg(short = 'r', long = "startup-debug")]
    pub startup_debug: bool,

    /// Raise the open file limit to at least N
    #[arg(long = "fd-limit", value_name = "N")]
    pub fd_limit: Option<u64>,

    /// Capability set (rsng does not manage capabilities; warns)
    #[arg(long = "caps", value_name = "CAPSPEC")]
    pub caps: Option<String>,

    /// Module directories (rsng's drivers are built in; warns)
    #[arg(long = "module-path", value_name = "PATH")]
    pub module_path: Option<String>,

    /// List the built-in plugins and exit
    #[arg(long = "module-registry")]
    pub module_registry: bool,

    /// Do not discover modules (rsng's drivers are built in, nothing is discovered)
    #[arg(long = "no-module-discovery")]
    pub no_module_discovery: bool,

    /// Does nothing, as in syslog-ng
    #[arg(short = 'S', long = "seed")]
    pub seed: bool,

    /// Interactive debugger (not supported; warns)
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,

    /// Show all help options
    #[arg(long = "help-all", action = ArgAction::Help)]
    pub help_all: Option<bool>,

    /// Process options
    #[arg(long = "help-process", action = ArgAction::Help)]
    pub help_process: Option<bool>,

    /// Log options
    #[arg(long = "help-log", action = ArgAction::Help)]
    pub help_log: Option<bool>,
}
