//! Robustness of the configuration front end: whatever bytes a file holds, loading it must
//! neither panic nor hang, and a rejected configuration must say where the problem is.
//!
//! Every input is run on a watchdog: a thread that does not finish in time fails the test with
//! the input named, instead of hanging CI. Tests that currently fail are kept, marked
//! `#[ignore = "..."]` with the reason; run them with `cargo test -p rsng-config --release
//! --test robustness -- --ignored`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsng_config::diagnostic::{codes, ConfigError, Report};
use rsng_config::source_map::line_col;
use rsng_config::{load_file, load_text, LoadOptions, Loaded};

/// Options that do not depend on the machine: no include path (only rsng's own `scl.conf`
/// resolves) and no environment fallback for backticks.
fn hermetic() -> LoadOptions {
    let mut opts = LoadOptions::default();
    opts.preprocess.include_path = Vec::new();
    opts.preprocess.use_environment = false;
    opts
}

/// The default thread stack size of Rust's standard library.
const DEFAULT_STACK: usize = 2 << 20;

/// Generous: these inputs take milliseconds in release builds.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` on a thread with a `stack`-byte stack and fails if it has not finished within
/// `timeout`. A panic in `f` is returned as `Err` with its message.
fn watchdog<T: Send + 'static>(
    what: &str,
    stack: usize,
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("robustness: {what}"))
        .stack_size(stack)
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_message(&*p));
            let _ = tx.send(result);
        })
        .expect("spawn test thread");
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => panic!("{what}: did not finish within {timeout:?} (hang?)"),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Renders reports as `rsng` does, to make sure every span is one miette can draw.
fn render(reports: &[Report]) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor()).with_context_lines(1);
    let mut out = String::new();
    for report in reports {
        handler.render_report(&mut out, report).expect("rendering into a String does not fail");
        out.push('\n');
    }
    out
}

/// What is wrong with the outcome of loading `text` as `name`, if anything: a rejected
/// configuration must have an error with a location inside the file.
fn outcome_problem(name: &str, text: &str, result: &Result<Loaded, ConfigError>) -> Option<String> {
    let reports: &[Report] = match result {
        Ok(loaded) => &loaded.warnings,
        Err(err) => {
            if !err.reports.iter().any(|r| r.diagnostic().is_error() && r.location.is_some()) {
                let codes: Vec<&str> = err.reports.iter().map(|r| r.diagnostic().code).collect();
                return Some(format!("rejected without a located error (codes: {codes:?})"));
            }
            &err.reports
        }
    };
    let (last_line, _) = line_col(text, text.len());
    for report in reports {
        let Some(loc) = &report.location else { continue };
        if loc.file != name {
            continue; // an included file (rsng's own scl.conf)
        }
        if loc.line == 0 || loc.column == 0 || loc.line > last_line {
            return Some(format!("location {loc} lies outside the text ({last_line} lines)"));
        }
    }
    None
}

/// Loads `text` and renders what was found; returns the problem, if any, including a panic.
fn check_text(name: &str, text: &str) -> Option<String> {
    let opts = hermetic();
    let result = match catch_unwind(AssertUnwindSafe(|| load_text(name, text, &opts))) {
        Ok(r) => r,
        Err(p) => return Some(format!("load_text panicked: {}", panic_message(&*p))),
    };
    if let Some(problem) = outcome_problem(name, text, &result) {
        return Some(problem);
    }
    let reports = match &result {
        Ok(loaded) => &loaded.warnings,
        Err(err) => &err.reports,
    };
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| render(reports))) {
        return Some(format!("rendering the reports panicked: {}", panic_message(&*p)));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// (a) random inputs

/// xorshift64: tiny, deterministic, good enough to shuffle tokens.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Pieces of configuration text, chosen to hit the preprocessor's and the grammar's corners.
const TOKENS: &[&[u8]] = &[
    b"source s {",
    b"destination d {",
    b"filter f {",
    b"log {",
    b"options {",
    b"parser p {",
    b"rewrite r {",
    b"template t",
    b"template-function tf",
    b"application app[syslog] {",
    b"}",
    b"};",
    b"(",
    b")",
    b";",
    b"\"",
    b"'",
    b"`",
    b"[",
    b"]",
    b"@include",
    b"@include \"scl.conf\"",
    b"@define x y",
    b"@define",
    b"@version: 3.38",
    b"@version:",
    b"@module",
    b"@requires json-plugin",
    b"@",
    b"`x`",
    b"``",
    b"block source b(a(1)) { file(\"`a`\"); };",
    b"block",
    b"block source",
    b"block root r() { source rs { internal(); }; };",
    b"b(a(2))",
    b"b()",
    b"r()",
    b"internal()",
    b"file(\"/var/log/x\")",
    b"network(port(514) tls(peer-verify(yes)))",
    b"source(s)",
    b"destination(d)",
    b"filter(f)",
    b"level(err..emerg)",
    b"program(\"sshd\")",
    b"message(\"a(b\")",
    b"match(\"x\" value(\"MSG\"))",
    b"\"$(echo $MSG)\"",
    b"\"$(\"",
    b"not ",
    b" and ",
    b" or ",
    b"if",
    b"elif",
    b"else",
    b"junction",
    b"channel",
    b"flags(final)",
    b"flags(",
    b"#",
    b"# comment\n",
    b"\\",
    b"\\\n",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b",",
    b"..",
    b"...",
    b"==",
    b"=>",
    b"!=",
    b"x",
    b"0x",
    b"-1",
    b"3.38",
    b"yes",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    "ü".as_bytes(),
    "😀".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\0",
    b"\x0c",
];

fn random_input(rng: &mut XorShift) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.chance(50) {
        out.extend_from_slice(b"@version: 3.38\n");
    }
    if rng.chance(30) {
        // Raw bytes, half of them printable ASCII.
        let len = rng.below(300);
        for _ in 0..len {
            let b = if rng.chance(50) { 0x20 + rng.below(0x5f) as u8 } else { rng.next() as u8 };
            out.push(b);
        }
    } else {
        let len = 1 + rng.below(120);
        for _ in 0..len {
            out.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
            if rng.chance(40) {
                out.push(if rng.chance(80) { b' ' } else { b'\n' });
            }
        }
    }
    out
}

/// Loads raw bytes the way a file would be read (lossy UTF-8), and every so often through a
/// real file as well.
fn check_bytes(bytes: &[u8], via_file: Option<&Path>) -> Option<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    if let Some(problem) = check_text("fuzz.conf", &text) {
        return Some(problem);
    }
    if let Some(path) = via_file {
        std::fs::write(path, bytes).expect("write temporary file");
        let opts = hermetic();
        let result = match catch_unwind(AssertUnwindSafe(|| load_file(path, &opts))) {
            Ok(r) => r,
            Err(p) => return Some(format!("load_file panicked: {}", panic_message(&*p))),
        };
        let name = path.display().to_string();
        if let Some(problem) = outcome_problem(&name, &text, &result) {
            return Some(format!("load_file: {problem}"));
        }
    }
    None
}

/// Shrinks a failing input by dropping chunks while it still fails (a small delta debugger),
/// so that the failure message holds a reproducer a human can read.
fn minimize(mut input: Vec<u8>, fails: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut chunk = input.len() / 2;
    while chunk > 0 {
        let mut at = 0;
        let mut shrunk = false;
        while at < input.len() {
            let end = (at + chunk).min(input.len());
            let mut candidate = input[..at].to_vec();
            candidate.extend_from_slice(&input[end..]);
            if fails(&candidate) {
                input = candidate;
                shrunk = true;
            } else {
                at += chunk;
            }
        }
        if !shrunk {
            chunk /= 2;
        }
    }
    input
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsng-robustness-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temporary directory");
    dir
}

#[test]
fn random_inputs_neither_panic_nor_hang() {
    // `RSNG_FUZZ_INPUTS` and `RSNG_FUZZ_SEED` run a longer or different campaign locally.
    let env_number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let inputs = env_number("RSNG_FUZZ_INPUTS").map_or(3_000, |n| n as usize);
    let seed = env_number("RSNG_FUZZ_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15) | 1;
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let (progress_tx, progress_rx) = mpsc::channel::<usize>();
    let dir = temp_dir("fuzz");
    let file = dir.join("fuzz.conf");
    let worker = {
        let current = Arc::clone(&current);
        let file = file.clone();
        std::thread::Builder::new()
            .name("robustness: random inputs".into())
            .stack_size(DEFAULT_STACK)
            .spawn(move || {
                let mut rng = XorShift(seed);
                let mut failures = Vec::new();
                for i in 0..inputs {
                    let input = random_input(&mut rng);
                    *current.lock().unwrap_or_else(|e| e.into_inner()) = input.clone();
                    let via_file = (i % 25 == 0).then_some(file.as_path());
                    if let Some(problem) = check_bytes(&input, via_file) {
                        failures.push((i, input, problem));
                    }
                    let _ = progress_tx.send(i);
                }
                failures
            })
            .expect("spawn fuzz thread")
    };
    let mut done = 0;
    while done < inputs {
        match progress_rx.recv_timeout(TIMEOUT) {
            Ok(i) => done = i + 1,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let input = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!(
                    "input #{done} did not finish within {TIMEOUT:?} (hang?):\n{:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
    let failures = worker.join().expect("fuzz thread does not panic");
    let _ = std::fs::remove_dir_all(&dir);
    if failures.is_empty() {
        return;
    }
    let mut message =
        format!("{} of {inputs} inputs failed (seed {seed:#x}); minimized reproducers:\n", failures.len());
    for (i, input, problem) in failures.into_iter().take(5) {
        let kind = problem.split(':').next().unwrap_or_default().to_string();
        let small = minimize(input, |candidate| {
            check_bytes(candidate, None).is_some_and(|p| p.split(':').next() == Some(kind.as_str()))
        });
        message.push_str(&format!("#{i}: {problem}\n    input: {:?}\n", String::from_utf8_lossy(&small)));
    }
    panic!("{message}");
}

// ---------------------------------------------------------------------------------------------
// (b) deep nesting

/// Loads `text` on a thread with the default 2 MiB stack (the library runs its parser on a
/// thread of its own; everything else must not depend on a big caller stack).
fn check_on_small_stack(what: &str, text: String) -> Result<Loaded, ConfigError> {
    let name = format!("{what}.conf");
    let started = Instant::now();
    let result = watchdog(what, DEFAULT_STACK, TIMEOUT, move || {
        let result = load_text(&name, &text, &hermetic());
        let problem = outcome_problem(&name, &text, &result);
        (result, problem)
    });
    let (result, problem) = result.unwrap_or_else(|p| panic!("{what}: panicked: {p}"));
    assert!(problem.is_none(), "{what}: {}", problem.unwrap_or_default());
    eprintln!("{what}: {:?} in {:?}", result.as_ref().map(|_| ()).map_err(|e| e.to_string()), started.elapsed());
    result
}

const DEEP: usize = 100_000;

#[test]
fn deep_parentheses() {
    assert!(check_on_small_stack("parens", "(".repeat(DEEP)).is_err());
    let in_driver = format!("@version: 3.38\nsource s {{ file({}", "(".repeat(DEEP));
    assert!(check_on_small_stack("parens_in_driver", in_driver).is_err());
    let in_filter = format!("@version: 3.38\nfilter f {{ {}program(x){}; }};\n", "(".repeat(DEEP), ")".repeat(DEEP));
    assert!(check_on_small_stack("parens_in_filter", in_filter).is_err());
}

#[test]
fn deep_braces() {
    assert!(check_on_small_stack("braces", "{".repeat(DEEP)).is_err());
    let logs = format!("@version: 3.38\nlog {{ {}", "log { ".repeat(DEEP));
    assert!(check_on_small_stack("nested_logs", logs).is_err());
    let ifs = format!("@version: 3.38\nlog {{ {}", "if { ".repeat(DEEP));
    assert!(check_on_small_stack("nested_ifs", ifs).is_err());
}

#[test]
fn deep_negation() {
    let _ = check_on_small_stack("nots", "not ".repeat(DEEP));
    // An even number of `not`s before a valid filter is a valid filter.
    let valid = format!("@version: 3.38\nfilter f {{ {}program(\"x\"); }};\n", "not ".repeat(DEEP));
    let loaded = check_on_small_stack("nots_in_filter", valid).expect("valid filter");
    assert_eq!(loaded.config.filters.len(), 1);
    let unclosed = format!("@version: 3.38\nfilter f {{ {}", "not (".repeat(DEEP));
    assert!(check_on_small_stack("not_parens_in_filter", unclosed).is_err());
}

#[test]
fn deep_nesting_inside_strings_and_blocks() {
    // Nesting the preprocessor does not count: inside strings (templates, regular expressions)
    // and inside block arguments.
    let template = format!("@version: 3.38\ntemplate t {{ template(\"{}\"); }};\n", "$(echo ".repeat(DEEP));
    assert!(check_on_small_stack("template_functions", template).is_err());
    let regex = format!("@version: 3.38\nfilter f {{ message(\"{}\"); }};\n", "(".repeat(DEEP));
    assert!(check_on_small_stack("regex_groups", regex).is_err());
    let block_arg = format!(
        "@version: 3.38\nblock source b(a()) {{ file(\"/x\"); }};\nsource s {{ b(a({})); }};\n",
        "(".repeat(DEEP)
    );
    assert!(check_on_small_stack("block_argument", block_arg).is_err());
    let block_body = format!("@version: 3.38\nblock source b() {{ {} }};\nsource s {{ b(); }};\n", "{".repeat(DEEP));
    assert!(check_on_small_stack("block_body", block_body).is_err());
}

// ---------------------------------------------------------------------------------------------
// (c) recursion

fn assert_include_depth(result: &Result<Loaded, ConfigError>, what: &str) {
    let err = result.as_ref().err().unwrap_or_else(|| panic!("{what}: accepted"));
    assert!(
        err.reports.iter().any(|r| r.diagnostic().code == codes::INCLUDE_DEPTH && r.location.is_some()),
        "{what}: no located include_depth error"
    );
}

#[test]
fn self_referencing_block_ends_with_an_error() {
    let text = "@version: 3.38\nblock source b() { b(); };\nsource s { b(); };\n".to_string();
    assert_include_depth(&check_on_small_stack("self_reference", text), "self reference");
    let mutual = "@version: 3.38\nblock source a() { b(); };\nblock source b() { a(); };\nsource s { a(); };\n";
    assert_include_depth(&check_on_small_stack("mutual_reference", mutual.to_string()), "mutual reference");
    let with_args = "@version: 3.38\nblock source b(n(1)) { b(n(`n`1)); };\nsource s { b(); };\n";
    assert_include_depth(&check_on_small_stack("growing_reference", with_args.to_string()), "growing arguments");
}

#[test]
fn self_including_file_ends_with_an_error() {
    let dir = temp_dir("include");
    let path = dir.join("self.conf");
    std::fs::write(&path, format!("@version: 3.38\n@include \"{}\"\n", path.display())).expect("write");
    let result = watchdog("self include", DEFAULT_STACK, TIMEOUT, {
        let path = path.clone();
        move || load_file(&path, &hermetic())
    })
    .unwrap_or_else(|p| panic!("self include: panicked: {p}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_include_depth(&result, "self include");
}

/// The number of lines `rsng` prints for these reports.
fn rendered_lines(result: &Result<Loaded, ConfigError>) -> usize {
    let reports = match result {
        Ok(loaded) => &loaded.warnings,
        Err(err) => &err.reports,
    };
    render(reports).lines().count()
}

#[test]
fn recursion_reports_stay_short() {
    let text = "@version: 3.38\nblock source b() { b(); };\nsource s { b(); };\n".to_string();
    let block = check_on_small_stack("self_reference_output", text);
    let dir = temp_dir("include-output");
    let path = dir.join("self.conf");
    std::fs::write(&path, format!("@version: 3.38\n@include \"{}\"\n", path.display())).expect("write");
    let include = load_file(&path, &hermetic());
    let _ = std::fs::remove_dir_all(&dir);
    let (block_lines, include_lines) = (rendered_lines(&block), rendered_lines(&include));
    assert!(block_lines <= 100, "block recursion renders {block_lines} lines");
    assert!(include_lines <= 100, "include recursion renders {include_lines} lines");
}

#[test]
fn exponential_block_expansion_is_cut_short() {
    let mut text = String::from("@version: 3.38\nblock source b0() { internal(); };\n");
    for i in 1..40 {
        text.push_str(&format!("block source b{i}() {{ b{}(); b{}(); }};\n", i - 1, i - 1));
    }
    text.push_str("source s { b39(); };\n");
    let result = watchdog("exponential expansion", DEFAULT_STACK, TIMEOUT, move || {
        load_text("expo.conf", &text, &hermetic()).map(|_| ()).map_err(|e| e.to_string())
    });
    assert!(matches!(result, Ok(Err(_))), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// (d) a large valid configuration

/// `lines` lines of simple objects and log paths (four lines per group).
fn large_config(lines: usize) -> String {
    let mut text = String::from("@version: 3.38\n");
    for i in 0..lines / 4 {
        text.push_str(&format!("source s{i} {{ internal(); }};\n"));
        text.push_str(&format!("destination d{i} {{ file(\"/var/log/rsng-test/{i}.log\"); }};\n"));
        text.push_str(&format!("log {{ source(s{i}); destination(d{i}); }};\n"));
        text.push_str(&format!("# group {i}\n"));
    }
    text
}

fn check_large(lines: usize) {
    let text = large_config(lines);
    let started = Instant::now();
    let loaded = load_text("large.conf", &text, &hermetic())
        .unwrap_or_else(|e| panic!("{lines} lines rejected:\n{}", render(&e.reports)));
    eprintln!("{lines} lines loaded in {:?}", started.elapsed());
    assert!(loaded.warnings.is_empty(), "{}", render(&loaded.warnings));
    assert_eq!(loaded.config.sources.len(), lines / 4);
    assert_eq!(loaded.config.destinations.len(), lines / 4);
    assert_eq!(loaded.config.log_paths.len(), lines / 4);
}

#[test]
fn large_valid_config_loads() {
    // A correctness check, not a timing assertion: about 2 s in a release build. (Before commit
    // 9cab287 the statement-wise parser was quadratic here: 16,000 lines took 15 s.)
    check_large(200_000);
}

// ---------------------------------------------------------------------------------------------
// (e) unterminated constructs at the end of the file

/// Checks that `text` is rejected with its first error at the opener (`line`, `column`, or
/// earlier on the opener's line: the construct the opener belongs to) or at the end of the file.
fn check_unterminated(what: &str, text: &str, line: usize, column: usize) {
    let name = format!("{what}.conf");
    let result = load_text(&name, text, &hermetic());
    let err = result.err().unwrap_or_else(|| panic!("{what}: accepted"));
    let first = err
        .reports
        .iter()
        .find(|r| r.diagnostic().is_error())
        .unwrap_or_else(|| panic!("{what}: no error among the reports"));
    let loc = first.location.as_ref().unwrap_or_else(|| panic!("{what}: error without location"));
    let eof = line_col(text, text.len());
    let trimmed_eof = line_col(text, text.trim_end().len());
    let at_opener = loc.line == line && loc.column <= column;
    let at_eof = (loc.line, loc.column) == eof || (loc.line, loc.column) == trimmed_eof;
    assert!(
        at_opener || at_eof,
        "{what}: error at {loc}, expected at the opener {line}:{column} or at the end of the file {}:{}\n{}",
        eof.0,
        eof.1,
        render(&err.reports)
    );
}

#[test]
fn unterminated_constructs_are_located() {
    check_unterminated("dq_string", "@version: 3.38\nsource s { file(\"/var/log/x); };\n", 2, 17);
    check_unterminated("dq_string_no_newline", "@version: 3.38\nsource s { file(\"/var/log/x", 2, 17);
    check_unterminated("sq_string", "@version: 3.38\nsource s { file('/var/log/x); };\n", 2, 17);
    check_unterminated("brace", "@version: 3.38\nsource s { file(\"/var/log/x\");\n", 2, 10);
    check_unterminated("brace_no_newline", "@version: 3.38\nsource s {", 2, 10);
    check_unterminated("paren", "@version: 3.38\nsource s { file(\"/x\"\n", 2, 16);
    check_unterminated("log", "@version: 3.38\nsource s { internal(); };\nlog { source(s);\n", 3, 5);
    check_unterminated("filter_paren", "@version: 3.38\nfilter f { (program(x);\n", 2, 12);
    check_unterminated("block_body", "@version: 3.38\nblock source b() { internal();\n", 2, 18);
    check_unterminated("block_params", "@version: 3.38\nblock source b(a(1)\n", 2, 15);
    check_unterminated("block_reference", "@version: 3.38\nblock source b() { internal(); };\nsource s { b(;\n", 3, 13);
    check_unterminated("backtick", "@version: 3.38\nsource s { file(\"`x\"); };\n", 2, 18);
    check_unterminated("pragma_string", "@version: 3.38\n@define x \"abc\n", 2, 11);
    check_unterminated("comment_continuation", "@version: 3.38\nsource s { internal(); # };\n", 2, 10);
}

#[test]
fn end_of_file_errors_show_a_label() {
    for (what, text) in [
        ("dq_string", "@version: 3.38\nsource s { file(\"/var/log/x); };\n"),
        ("brace", "@version: 3.38\nsource s { file(\"/var/log/x\");\n"),
        ("brace_no_newline", "@version: 3.38\nsource s {"),
    ] {
        let err = load_text(what, text, &hermetic()).err().unwrap_or_else(|| panic!("{what}: accepted"));
        let rendered = render(&err.reports);
        // A label is drawn as `· ╰── text` under the snippet (`╰────` closes the box).
        let labelled = rendered.lines().any(|l| l.trim_start().starts_with('·') && l.contains("╰──"));
        assert!(labelled, "{what}: no label drawn\n{rendered}");
    }
}

// ---------------------------------------------------------------------------------------------
// rendering

#[test]
fn errors_far_right_on_a_long_line_render() {
    let text = format!("@version: 3.38\ndestination d {{ file(\"{}\" nosuch(1)); }};\n", "x".repeat(70_000));
    let err = load_text("long_line.conf", &text, &hermetic()).expect_err("unknown option");
    let rendered = catch_unwind(AssertUnwindSafe(|| render(&err.reports)));
    assert!(rendered.is_ok(), "rendering panicked: {}", rendered.err().map(|p| panic_message(&*p)).unwrap_or_default());
}

// ---------------------------------------------------------------------------------------------
// reproducers of bugs found by the random inputs and by hand

#[test]
fn backslash_cr_before_a_multibyte_character() {
    for text in ["\\\ré", "source s { internal(); };\n\\\r€\n", "''\\\r\u{fffd}"] {
        let problem = watchdog("backslash CR", DEFAULT_STACK, TIMEOUT, move || check_text("cr.conf", text));
        let problem = problem.unwrap_or_else(|p| Some(format!("panicked: {p}")));
        assert!(problem.is_none(), "{text:?}: {}", problem.unwrap_or_default());
    }
}

/// The 1-based line and column of the first occurrence of `needle` in `text`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    line_col(text, text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {text:?}")))
}

#[test]
fn template_errors_with_escapes_point_at_the_function() {
    for body in [r#"\x41\x41\x41\x41$(nosuch)"#, r#"x\"y$(nosuch)"#, r#"\t\t$(nosuch)"#] {
        let text = format!("@version: 3.38\ntemplate t {{ template(\"{body}\"); }};\n");
        let err = load_text("template.conf", &text, &hermetic()).expect_err("unknown template function");
        let report = err.reports.iter().find(|r| r.diagnostic().code == codes::TEMPLATE).expect("template error");
        let loc = report.location.as_ref().expect("located");
        assert_eq!((loc.line, loc.column), position_of(&text, "nosuch"), "{body}: error at {loc}");
    }
}
