//! rsng(8): the command-line definition (`cli.rs`) plus the sections that are not options.

use clap::CommandFactory as _;

use crate::generate::Section;

/// The command line as the manual page and the completions show it.
pub fn command() -> clap::Command {
    crate::cli::Cli::command().about("a syslog-ng compatible logging daemon").long_about(
        "rsng reads a syslog-ng configuration file (the language of syslog-ng 3.38) and runs it: it \
         receives log messages from its sources, filters, parses and rewrites them, and writes them \
         to its destinations, as syslog-ng does with the same file.\n\n\
         Started without -F it goes to the background once every source listens. Its control \
         socket speaks syslog-ng-ctl's protocol, so syslog-ng-ctl and rsng-ctl both control it.",
    )
}

pub fn sections() -> Vec<Section> {
    let item = |term: &str, text: &str| (term.to_string(), text.to_string());
    vec![
        Section {
            title: "SIGNALS",
            items: vec![
                item(
                    "SIGHUP",
                    "Read the configuration again and switch to it. Sources and destinations whose definition did not change keep running; a configuration that is not valid is refused and the running one stays.",
                ),
                item("SIGTERM, SIGINT", "Stop: sources stop reading, destinations write what was accepted (for at most 10 seconds), then rsng exits."),
                item("SIGUSR1", "Reopen destination files (after log rotation)."),
            ],
        },
        Section {
            title: "ENVIRONMENT",
            items: vec![
                item(
                    "NOTIFY_SOCKET",
                    "The service manager's notification socket (a path, or @name for an abstract address). rsng reports READY=1 once every source listens, RELOADING=1 and READY=1 around a reload, STOPPING=1 when stopping, and STATUS= lines. Not passed on to programs rsng starts.",
                ),
                item(
                    "WATCHDOG_USEC, WATCHDOG_PID",
                    "With NOTIFY_SOCKET: send WATCHDOG=1 every half WATCHDOG_USEC microseconds, unless WATCHDOG_PID names another process.",
                ),
                item("RSNG_DIAGNOSTIC_FORMAT", "short: configuration errors one per line (file:line:column: severity: message)."),
                item("NO_COLOR", "Configuration errors without colours."),
            ],
        },
        Section {
            title: "FILES",
            items: vec![
                item("/etc/syslog-ng/syslog-ng.conf", "the default configuration file (-f)"),
                item("/var/lib/syslog-ng/syslog-ng.ctl", "the default control socket (-c)"),
                item("/var/lib/syslog-ng/syslog-ng.pid", "the default pid file (-p)"),
                item("/var/lib/syslog-ng/rsng.persist", "the default persist file (-R)"),
                item(
                    "/etc/rsng/rsng.conf, /run/rsng/rsng.ctl, /run/rsng/rsng.pid, /var/lib/rsng/rsng.persist",
                    "the files of the packaged rsng.service, apart from syslog-ng's",
                ),
            ],
        },
        Section {
            title: "EXIT STATUS",
            items: vec![
                item("0", "stopped normally; with --syntax-only: the configuration is valid"),
                item("1", "the command line or the configuration is not valid, or start-up failed"),
            ],
        },
        Section {
            title: "SEE ALSO",
            items: vec![item("", "rsng-ctl(8), syslog-ng(8), syslog-ng.conf(5), systemd.service(5), sd_notify(3)")],
        },
    ]
}
