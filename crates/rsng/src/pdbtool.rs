//! `rsng pdbtool match|test|merge|dictionary|dump`: syslog-ng 3.38's `pdbtool` on patterndb files, with the same
//! output and exit codes.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use rsng_core::message::{LogMessage, ReceiveInfo, UnixTime, ValueName};
use rsng_core::parser::patterndb::{load, PatternDb, RuleSet};
use rsng_core::template::{compile, CompileContext, FormatOptions, Template};

const USAGE: &str = "Usage: rsng pdbtool match -p FILE [-P PROGRAM] -M MESSAGE [-T TEMPLATE]\n       \
                     rsng pdbtool test [-v] [-r RULE_ID] FILE...\n       \
                     rsng pdbtool merge -D DIR [-p FILE] [-r] [-G GLOB] [-s]\n       \
                     rsng pdbtool dictionary [-p FILE] [-P PROGRAM] [-T]\n       \
                     rsng pdbtool dump [-p FILE] -P PROGRAM | -T";

/// Runs `pdbtool` with `args` (after `pdbtool`).
pub fn run(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("match") => match_cmd(&args[1..]),
        Some("test") => test_cmd(&args[1..]),
        Some("merge") => merge_cmd(&args[1..]),
        Some("dictionary") => dictionary_cmd(&args[1..]),
        Some("dump") => dump_cmd(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(1)
        }
    }
}

fn compile_context() -> CompileContext {
    let mut ctx = CompileContext::new();
    let config = Arc::new(rsng_config::ir::Config::default());
    let named = Arc::new(rsng_config::filter_compile::FilterMap::default());
    ctx.set_filter_compiler(Arc::new(move |text: &str| {
        rsng_config::filter_compile::compile_filter_text(&config, text, &named)
    }));
    ctx
}

/// Takes the value of option `short`/`long` from `args` (`-p x`, `--pdb=x`, `--pdb x`).
fn take_opt(args: &mut Vec<String>, short: &str, long: &str) -> Option<String> {
    let mut value = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if (a == short || a == long) && i + 1 < args.len() {
            value = Some(args.remove(i + 1));
            args.remove(i);
        } else if let Some(v) = a.strip_prefix(&format!("{long}=")) {
            value = Some(v.to_string());
            args.remove(i);
        } else {
            i += 1;
        }
    }
    value
}

fn take_flag(args: &mut Vec<String>, short: &str, long: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != short && a != long);
    args.len() != before
}

fn empty_message() -> LogMessage {
    let info = ReceiveInfo::new("", "", None, jiff::tz::TimeZone::UTC);
    let mut msg = LogMessage::new(&info);
    // Not a message of any source.
    msg.clear_tag(info.source_tag);
    msg.set_stamp(UnixTime { sec: 0, usec: 0, gmtoff: 0 });
    msg
}

fn load_set(path: &str) -> Option<RuleSet> {
    match load::load_file(path, &compile_context()) {
        Ok(set) => {
            for w in &set.warnings {
                eprintln!("{w}");
            }
            Some(set)
        }
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

/// syslog-ng's `g_strcompress`: C escapes in `-T`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(o @ '0'..='7') => {
                let mut n = o.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(n).unwrap_or('?'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Prints `msg` as `pdbtool match` does: every value in the order syslog-ng registered its
/// name, then the tags.
fn print_values(msg: &LogMessage, order: &mut Vec<String>, out: &mut Vec<u8>, ret: &mut u8) {
    let mut builtins = Vec::new();
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in msg.values() {
        match name {
            ValueName::Builtin(n) => {
                if matches!(n, "HOST_FROM" | "SOURCE") && value.is_empty() {
                    continue;
                }
                builtins.push((n.to_string(), value.to_vec()));
            }
            ValueName::Sdata { id, param } => {
                let mut n = format!(".SDATA.{}", String::from_utf8_lossy(id));
                if !param.is_empty() {
                    n.push('.');
                    n.push_str(&String::from_utf8_lossy(param));
                }
                pairs.push((n, value.to_vec()));
            }
            ValueName::Pair(n) => pairs.push((String::from_utf8_lossy(n).into_owned(), value.to_vec())),
        }
    }
    for (n, _) in &pairs {
        if !order.contains(n) && n.parse::<u8>().is_err() {
            order.push(n.clone());
        }
    }
    // Match groups are registered before anything else.
    let rank = |n: &str| match n.parse::<u8>() {
        Ok(g) => (0usize, usize::from(g)),
        Err(_) => (1, order.iter().position(|o| o == n).unwrap_or(usize::MAX)),
    };
    pairs.sort_by_key(|(n, _)| rank(n));
    for (n, v) in builtins.iter().chain(pairs.iter()) {
        out.extend_from_slice(n.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
        if n == ".classifier.rule_id" {
            *ret = 0;
        }
        if n == ".classifier.class" && v == b"unknown" {
            *ret = 1;
        }
    }
    out.extend_from_slice(b"TAGS=");
    msg.tags().format(out);
    out.extend_from_slice(b"\n\n");
}

fn match_cmd(args: &[String]) -> ExitCode {
    let mut args = args.to_vec();
    let pdb = take_opt(&mut args, "-p", "--pdb").unwrap_or_else(|| "/var/lib/syslog-ng/patterndb.xml".into());
    let program = take_opt(&mut args, "-P", "--program");
    let message = take_opt(&mut args, "-M", "--message");
    let template = take_opt(&mut args, "-T", "--template");
    let Some(message) = message else {
        eprintln!("Either -M or -f is required to specify which message to match");
        return ExitCode::SUCCESS;
    };
    let template: Option<Template> = match template {
        Some(t) => match compile(&unescape(&t), &compile_context()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("Error compiling template: {t}, error: {e}");
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let Some(set) = load_set(&pdb) else { return ExitCode::SUCCESS };
    let mut order = set.name_order.clone();
    let opts = FormatOptions::default();
    let db = PatternDb::new(set, opts.clone());
    let mut msg = empty_message();
    msg.set_value("MESSAGE", message.as_bytes());
    if let Some(p) = program.as_deref().filter(|p| !p.is_empty()) {
        msg.set_value("PROGRAM", p.as_bytes());
    }
    let prg = msg.get("PROGRAM").unwrap_or(b"").to_vec();
    let mut emitted = Vec::new();
    let matched_before = db.rule_set().is_empty;
    db.process(&mut msg, &prg, message.as_bytes(), &mut emitted);
    let mut all = Vec::new();
    if !matched_before {
        all.push(msg);
    }
    all.append(&mut emitted);
    db.expire_all(&mut all);
    let mut ret = 0u8;
    let mut out = Vec::new();
    for m in &all {
        match &template {
            Some(t) => {
                let _ = t.format(m, &opts, &mut out);
            }
            None => print_values(m, &mut order, &mut out, &mut ret),
        }
    }
    let _ = std::io::stdout().write_all(&out);
    ExitCode::from(ret)
}

fn test_cmd(args: &[String]) -> ExitCode {
    let mut args = args.to_vec();
    let verbose = take_flag(&mut args, "-v", "--verbose");
    let rule_id = take_opt(&mut args, "-r", "--rule-id");
    let (mut failed_load, mut failed_match, mut not_found) = (false, false, true);
    let mut out = String::new();
    for path in args.iter().filter(|a| !a.starts_with('-')) {
        if std::fs::metadata(path).is_err() {
            eprintln!("{path}: Unable to access the patterndb file");
            failed_load = true;
            continue;
        }
        let Some(set) = load_set(path) else {
            failed_load = true;
            continue;
        };
        let db = PatternDb::new(set, FormatOptions::default());
        let set = db.rule_set();
        // syslog-ng collects the examples into a list by prepending: last first.
        for ex in set.examples.iter().rev() {
            let rule = &set.rules[ex.rule];
            let message = Some(ex.message.as_str()).filter(|m| !m.is_empty());
            match (ex.program.as_deref(), message) {
                (Some(program), Some(message)) => {
                    if let Some(id) = &rule_id {
                        if *id != rule.id {
                            continue;
                        }
                        not_found = false;
                    }
                    let mut msg = empty_message();
                    msg.set_value("MESSAGE", message.as_bytes());
                    if !program.is_empty() {
                        msg.set_value("PROGRAM", program.as_bytes());
                    }
                    out.push_str(&format!("Testing message: program='{program}' message='{message}'\n"));
                    let conflicts = set.all_matching(program.as_bytes(), message.as_bytes());
                    if conflicts.len() > 1 {
                        out.push_str(" Rule conflict! Multiple rules match this message, list of IDs follow\n");
                        for id in conflicts {
                            out.push_str(&format!("  {id}\n"));
                        }
                    }
                    db.process(&mut msg, program.as_bytes(), message.as_bytes(), &mut Vec::new());
                    let mut check = |name: &str, expected: &str| {
                        let value = String::from_utf8_lossy(msg.get(name).unwrap_or(b"")).into_owned();
                        if value != expected {
                            out.push_str(&format!(
                                " Wrong match name='{name}', value='{value}', expected='{expected}'\n"
                            ));
                            false
                        } else {
                            if verbose {
                                out.push_str(&format!(
                                    " Match name='{name}', value='{value}', expected='{expected}'\n"
                                ));
                            }
                            true
                        }
                    };
                    if !check(".classifier.rule_id", &rule.id) {
                        failed_match = true;
                    }
                    for (name, value) in &ex.values {
                        if !check(name, value) {
                            failed_match = true;
                        }
                    }
                }
                (None, Some(message)) => {
                    out.push_str(&format!("NOT Testing message as program is unset: message='{message}'\n"));
                }
                (Some(program), None) => {
                    out.push_str(&format!("NOT Testing message as message is unset: program='{program}'\n"));
                }
                (None, None) => {}
            }
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    if failed_load {
        return ExitCode::from(1);
    }
    if failed_match {
        return ExitCode::from(2);
    }
    if not_found && rule_id.is_some() {
        println!("Could not find the specified ID, or the defined rule doesn't have an example message.");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

/// `merge`: the files of `-D DIR` (`-r` with its subdirectories, `-G` those whose path matches,
/// `-s` sorted) in one patterndb file `-p FILE`.
fn merge_cmd(args: &[String]) -> ExitCode {
    use rsng_core::parser::patterndb::merge;
    let mut args = args.to_vec();
    let pdb = take_opt(&mut args, "-p", "--pdb").unwrap_or_else(|| "/var/lib/syslog-ng/patterndb.xml".into());
    let dir = take_opt(&mut args, "-D", "--directory");
    let glob = take_opt(&mut args, "-G", "--glob");
    let recursive = take_flag(&mut args, "-r", "--recursive");
    let sort = take_flag(&mut args, "-s", "--sort");
    let Some(dir) = dir else {
        eprintln!("No directory is specified to merge from");
        return ExitCode::from(1);
    };
    let today = jiff::Zoned::now().date();
    let mut merged = merge::header(today.year(), today.month(), today.day());
    let mut files = match merge::list_files(&dir, recursive, glob.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error getting filenames: {e}");
            return ExitCode::from(1);
        }
    };
    if sort {
        merge::sort_files(&mut files);
    }
    // As syslog-ng: a file that cannot be read or parsed ends the merge, and what came before it
    // is still written.
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("Error reading pattern database file; filename='{file}', error='{e}'");
                break;
            }
        };
        if let Err(e) = merge::merge_text(&text, &mut merged) {
            eprintln!("Error parsing pattern database file; filename='{file}', error='{e}'");
            break;
        }
    }
    merged.push_str(merge::FOOTER);
    if let Err(e) = write_atomically(&pdb, merged.as_bytes()) {
        eprintln!("Error storing patterndb; filename='{pdb}', errror='{e}'");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Writes `path` through a temporary file beside it, as `g_file_set_contents` does.
fn write_atomically(path: &str, data: &[u8]) -> std::io::Result<()> {
    let tmp = format!("{path}.{}.tmp", std::process::id());
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `dictionary`: the names the patterns' parsers and the rules' values set (`-T`: the rules'
/// tags instead), in the order of the trees (`-P`: of that program's rules only), once per
/// pattern, as syslog-ng's `pdbtool dictionary` lists them.
fn dictionary_cmd(args: &[String]) -> ExitCode {
    let mut args = args.to_vec();
    let pdb = take_opt(&mut args, "-p", "--pdb").unwrap_or_else(|| "/var/lib/syslog-ng/patterndb.xml".into());
    let program = take_opt(&mut args, "-P", "--program");
    let tags = take_flag(&mut args, "-T", "--dump-tags");
    let Some(set) = load_set(&pdb) else { return ExitCode::from(1) };
    let mut out = Vec::new();
    let rules_of = |node: &rsng_core::parser::patterndb::radix::Node, out: &mut Vec<u8>| {
        node.walk(&mut |n| {
            if let (Some(name), false) = (n.parser_name(), tags) {
                let _ = writeln!(out, "{name}");
            }
            let Some(rule) = n.value.and_then(|r| set.rules.get(r)) else { return };
            if tags {
                for tag in rule.msg.tags.iter().filter_map(|t| t.name()) {
                    let _ = writeln!(out, "{tag}");
                }
            } else {
                for (name, _) in &rule.msg.values {
                    let _ = writeln!(out, "{name}");
                }
            }
        });
    };
    match program {
        Some(p) => {
            if let Some(found) = set.programs.find(p.as_bytes(), &mut Vec::new()) {
                if let Some(prog) = set.program_list.get(found) {
                    rules_of(&prog.rules, &mut out);
                }
            }
        }
        None => set.programs.walk(&mut |n| {
            if let (Some(name), false) = (n.parser_name(), tags) {
                let _ = writeln!(out, "{name}");
            }
            if let Some(prog) = n.value.and_then(|p| set.program_list.get(p)) {
                rules_of(&prog.rules, &mut out);
            }
        }),
    }
    let _ = std::io::stdout().write_all(&out);
    ExitCode::SUCCESS
}

/// `dump`: the radix tree of `-P PROGRAM`'s rules, or with `-T` the tree of program patterns,
/// one node a line, as syslog-ng's `pdbtool dump` prints them.
fn dump_cmd(args: &[String]) -> ExitCode {
    let mut args = args.to_vec();
    let pdb = take_opt(&mut args, "-p", "--pdb").unwrap_or_else(|| "/var/lib/syslog-ng/patterndb.xml".into());
    let program = take_opt(&mut args, "-P", "--program");
    let program_tree = take_flag(&mut args, "-T", "--program-tree");
    let Some(set) = load_set(&pdb) else { return ExitCode::from(1) };
    let mut out = Vec::new();
    let mut print = |node: &rsng_core::parser::patterndb::radix::Node, programs: bool| {
        node.walk_levels(0, &mut |n, level| {
            let _ = write!(out, "[{level}]\t{}{}", "  ".repeat(level), n.dump_text());
            match n.value {
                Some(_) if programs => {
                    let _ = write!(out, "RULES");
                }
                Some(r) => {
                    let _ = write!(out, "rule_id='{}'", set.rules.get(r).map_or("", |r| r.id.as_str()));
                }
                None => {}
            }
            let _ = writeln!(out);
        });
    };
    if program_tree {
        print(&set.programs, true);
    } else if let Some(p) = program {
        if let Some(prog) = set.programs.find(p.as_bytes(), &mut Vec::new()).and_then(|i| set.program_list.get(i)) {
            print(&prog.rules, false);
        }
    } else {
        eprintln!("Neither --program-tree nor --program was specified, doing nothing");
    }
    let _ = std::io::stdout().write_all(&out);
    ExitCode::SUCCESS
}
