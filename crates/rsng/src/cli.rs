//! The command line: syslog-ng's flags, with the same names and meanings.

use std::path::PathBuf;

use clap::Parser;

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
}
