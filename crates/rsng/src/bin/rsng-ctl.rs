//! `rsng-ctl`: the control client, for systems without syslog-ng's `syslog-ng-ctl`. It speaks the
//! same protocol on the same socket, with the same commands:
//!
//! ```text
//! rsng-ctl [-c SOCKET] stats [--reset] [--format csv|prometheus] | query list|get [--sum] [--reset] [PATTERN]
//!          | reload | stop | reopen | verbose|debug|trace [-s on|off] | config [-p]
//! ```

#[path = "../generate.rs"]
mod generate;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command, ValueEnum as _};

const DEFAULT_SOCKET: &str = "/var/lib/syslog-ng/syslog-ng.ctl";

/// The command line as the manual page, the completions and the usage text describe it. The
/// parsing itself is `command_line` below (lenient, as it always was); the tests check that the
/// two accept the same commands.
fn command() -> Command {
    let flag = |long: &'static str, short: Option<char>, help: &'static str| {
        Arg::new(long).long(long).short(short).action(ArgAction::SetTrue).help(help)
    };
    let level = |name: &'static str, what: &'static str| {
        Command::new(name)
            .about(format!("show or set {what}"))
            .arg(Arg::new("set").short('s').long("set").value_parser(["on", "off"]).help("turn them on or off"))
    };
    Command::new("rsng-ctl")
        .about("control a running rsng")
        .long_about(
            "rsng-ctl sends one command to a running rsng (or syslog-ng) over its control socket \
             and prints the answer. It speaks the protocol of syslog-ng-ctl, with the same commands.",
        )
        .disable_version_flag(true)
        .subcommand_required(true)
        .arg(
            Arg::new("control")
                .short('c')
                .long("control")
                .value_name("SOCKET")
                .default_value(DEFAULT_SOCKET)
                .global(true)
                .help("The daemon's control socket (rsng -c)"),
        )
        .subcommand(
            Command::new("stats")
                .about("counters as CSV, or in Prometheus' text format")
                .arg(flag("reset", Some('r'), "set the counters to zero (gauges excepted)"))
                .arg(
                    Arg::new("format")
                        .long("format")
                        .value_name("FORMAT")
                        .value_parser(["csv", "prometheus"])
                        .help("csv (syslog-ng-ctl's, the default) or prometheus"),
                ),
        )
        .subcommand(
            Command::new("query")
                .about("counters by name")
                .arg(
                    Arg::new("kind")
                        .value_parser(["list", "get"])
                        .help("names only (list, the default) or names and values (get)"),
                )
                .arg(flag("sum", None, "get: one number, the sum of the matching counters"))
                .arg(flag("reset", None, "set the matching counters to zero after reading them"))
                .arg(Arg::new("pattern").value_name("PATTERN").help("a glob over counter names (default *)")),
        )
        .subcommand(Command::new("reload").about("read the configuration again"))
        .subcommand(Command::new("stop").about("stop rsng"))
        .subcommand(Command::new("reopen").about("reopen destination files"))
        .subcommand(level("verbose", "verbose internal messages"))
        .subcommand(level("debug", "debug internal messages"))
        .subcommand(level("trace", "trace internal messages"))
        .subcommand(Command::new("config").about("the configuration").arg(flag(
            "preprocessed",
            Some('p'),
            "as preprocessed (includes and blocks expanded)",
        )))
}

/// The usage text, from the same definition as the manual page.
fn usage() -> String {
    let cmd = command();
    let lines: Vec<(String, String)> = cmd
        .get_subcommands()
        .map(|sub| (generate::synopsis(sub), sub.get_about().map(ToString::to_string).unwrap_or_default()))
        .collect();
    let width = lines.iter().map(|(s, _)| s.len()).max().unwrap_or(0) + 2;
    let mut text = String::from("usage: rsng-ctl [-c SOCKET] COMMAND\ncommands:");
    for (synopsis, about) in lines {
        text.push_str(&format!("\n  {synopsis:<width$}{about}"));
    }
    text
}

fn manual_sections() -> Vec<generate::Section> {
    let item = |term: &str, text: &str| (term.to_string(), text.to_string());
    vec![
        generate::Section {
            title: "EXIT STATUS",
            items: vec![
                item("0", "the daemon carried out the command"),
                item(
                    "1",
                    "the command line is not understood, the control socket cannot be reached, or the daemon refused the command (its reason goes to standard error)",
                ),
            ],
        },
        generate::Section {
            title: "FILES",
            items: vec![
                item(DEFAULT_SOCKET, "the default control socket, syslog-ng's"),
                item("/run/rsng/rsng.ctl", "the control socket of the packaged rsng.service"),
            ],
        },
        generate::Section {
            title: "SEE ALSO",
            items: vec![item("", "rsng(8), syslog-ng-ctl(8), logrotate(8)")],
        },
    ]
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--generate") {
        return match args.get(1).and_then(|kind| generate::Generate::from_str(kind, false).ok()) {
            Some(kind) => generate::run(kind, command(), true, &manual_sections()),
            None => {
                eprintln!("usage: rsng-ctl --generate man|complete-bash|complete-zsh|complete-fish");
                ExitCode::from(1)
            }
        };
    }
    let mut socket = DEFAULT_SOCKET.to_string();
    if let Some(i) = args.iter().position(|a| a == "-c" || a == "--control") {
        if i + 1 >= args.len() {
            eprintln!("{}", usage());
            return ExitCode::from(1);
        }
        socket = args.remove(i + 1);
        args.remove(i);
    }
    let Some(line) = command_line(&args) else {
        eprintln!("{}", usage());
        return ExitCode::from(1);
    };
    let mut stream = match UnixStream::connect(&socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error connecting control socket, socket='{socket}', error='{e}'");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = stream.write_all(format!("{line}\n").as_bytes()) {
        eprintln!("Error sending command: {e}");
        return ExitCode::from(1);
    }
    let mut answer = Vec::new();
    for l in BufReader::new(stream).lines() {
        let Ok(l) = l else { break };
        if l == "." {
            break;
        }
        answer.push(l);
    }
    let text = answer.join("\n");
    if let Some(rest) = text.strip_prefix("FAIL ") {
        eprintln!("{rest}");
        return ExitCode::from(1);
    }
    println!("{}", text.strip_prefix("OK ").unwrap_or(&text));
    ExitCode::SUCCESS
}

/// The protocol line for a command line.
fn command_line(args: &[String]) -> Option<String> {
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).filter(|a| !a.starts_with('-')).collect();
    Some(match args.first()?.as_str() {
        "stats" if has("--reset") || has("-r") => "RESET_STATS".into(),
        "stats"
            if has("--format=prometheus") || args.windows(2).any(|w| w[0] == "--format" && w[1] == "prometheus") =>
        {
            "STATS PROMETHEUS".into()
        }
        "stats" => "STATS".into(),
        "query" => {
            let (kind, pattern) = (rest.first().copied().unwrap_or("list"), rest.get(1).copied().unwrap_or("*"));
            let kind = match (kind, has("--sum"), has("--reset")) {
                ("list", _, false) => "LIST",
                ("list", _, true) => "LIST_RESET",
                ("get", false, false) => "GET",
                ("get", false, true) => "GET_RESET",
                ("get", true, false) => "GET_SUM",
                ("get", true, true) => "GET_SUM_RESET",
                _ => return None,
            };
            format!("QUERY {kind} {pattern}")
        }
        "reload" => "RELOAD".into(),
        "stop" => "STOP".into(),
        "reopen" => "REOPEN".into(),
        level @ ("verbose" | "debug" | "trace") => {
            let upper = level.to_ascii_uppercase();
            match args.iter().position(|a| a == "-s" || a == "--set") {
                Some(i) => format!("LOG {upper} {}", args.get(i + 1)?.to_ascii_uppercase()),
                None => format!("LOG {upper}"),
            }
        }
        "config" if has("-p") || has("--preprocessed") => "CONFIG GET PREPROCESSED".into(),
        "config" => "CONFIG GET ORIGINAL".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    /// Every command line the definition describes, with each of its arguments in turn.
    fn described() -> Vec<String> {
        let mut lines = Vec::new();
        for sub in command().get_subcommands() {
            let name = sub.get_name();
            lines.push(name.to_string());
            // A positional argument comes after the ones before it.
            let mut positionals: Vec<String> = Vec::new();
            for arg in sub.get_arguments() {
                let value = arg.get_possible_values().first().map(|v| v.get_name().to_string());
                let value = value.unwrap_or_else(|| "center.*".to_string());
                let shown = match (arg.is_positional(), arg.get_action().takes_values()) {
                    (true, _) => {
                        positionals.push(value);
                        positionals.join(" ")
                    }
                    (false, takes) => {
                        let flag = arg
                            .get_long()
                            .map_or_else(|| format!("-{}", arg.get_short().unwrap()), |l| format!("--{l}"));
                        if takes {
                            format!("{flag} {value}")
                        } else {
                            flag
                        }
                    }
                };
                lines.push(format!("{name} {shown}"));
                if let Some(short) = arg.get_short() {
                    if !arg.is_positional() && !arg.get_action().takes_values() {
                        lines.push(format!("{name} -{short}"));
                    }
                }
            }
        }
        lines
    }

    #[test]
    fn the_definition_and_the_parser_accept_the_same_commands() {
        let lines = described();
        assert!(lines.len() > 15, "{lines:?}");
        for line in lines.iter().map(String::as_str).chain(["query get --sum --reset d*", "stats -c /x.ctl"]) {
            assert!(command_line(&words(line)).is_some(), "the parser refuses `{line}`, which the manual describes");
            let mut argv = vec!["rsng-ctl".to_string()];
            argv.extend(words(line));
            assert!(command().try_get_matches_from(&argv).is_ok(), "the definition refuses `{line}`");
        }
        for line in ["", "restart", "query count", "verbose -s"] {
            assert!(command_line(&words(line)).is_none(), "the parser accepts `{line}`");
            let mut argv = vec!["rsng-ctl".to_string()];
            argv.extend(words(line));
            assert!(command().try_get_matches_from(&argv).is_err(), "the definition accepts `{line}`");
        }
    }

    #[test]
    fn commands_become_protocol_lines() {
        for (line, wire) in [
            ("stats", "STATS"),
            ("stats --reset", "RESET_STATS"),
            ("stats --format prometheus", "STATS PROMETHEUS"),
            ("stats --format=prometheus", "STATS PROMETHEUS"),
            ("query get --sum d*", "QUERY GET_SUM d*"),
            ("query", "QUERY LIST *"),
            ("verbose -s on", "LOG VERBOSE ON"),
            ("config -p", "CONFIG GET PREPROCESSED"),
        ] {
            assert_eq!(command_line(&words(line)).as_deref(), Some(wire), "{line}");
        }
    }

    #[test]
    fn usage_lists_every_command() {
        let text = usage();
        assert!(text.starts_with("usage: rsng-ctl [-c SOCKET] COMMAND\ncommands:\n"), "{text}");
        for sub in command().get_subcommands() {
            assert!(text.lines().any(|l| l.trim_start().starts_with(sub.get_name())), "{text}");
        }
        assert!(text.contains("query [list|get] [--sum] [--reset] [PATTERN]"), "{text}");
    }
}
