//! `rsng-ctl`: the control client, for systems without syslog-ng's `syslog-ng-ctl`. It speaks the
//! same protocol on the same socket, with the same commands:
//!
//! ```text
//! rsng-ctl [-c SOCKET] stats [--reset] | query list|get [--sum] [--reset] [PATTERN]
//!          | reload | stop | reopen | verbose|debug|trace [-s on|off] | config [-p]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

const DEFAULT_SOCKET: &str = "/var/lib/syslog-ng/syslog-ng.ctl";

const USAGE: &str = "usage: rsng-ctl [-c SOCKET] COMMAND
commands:
  stats [--reset]                       counters as CSV
  query list|get [--sum] [--reset] [PATTERN]
  reload                                read the configuration again
  stop                                  stop rsng
  reopen                                reopen destination files
  verbose|debug|trace [-s on|off]       show or set internal log levels
  config [-p]                           the configuration (-p: preprocessed)";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut socket = DEFAULT_SOCKET.to_string();
    if let Some(i) = args.iter().position(|a| a == "-c" || a == "--control") {
        if i + 1 >= args.len() {
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
        socket = args.remove(i + 1);
        args.remove(i);
    }
    let Some(line) = command_line(&args) else {
        eprintln!("{USAGE}");
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
