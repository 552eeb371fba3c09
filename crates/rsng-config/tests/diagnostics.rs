//! Diagnostic fixtures: every code in `rsng_config::diagnostic::codes` has a configuration in
//! `tests/diagnostics/<code>.conf` that raises it, and `<code>.expected` holds the report as
//! users see it (miette's graphical handler, no colour, one context line), so a change to a
//! message, a label, a span or a help line shows up as a diff in review.
//!
//! Regenerate the expected files after an intended change with
//! `RSNG_BLESS=1 cargo test -p rsng-config --test diagnostics`, then read the diff.
//!
//! The meta-test [`every_code_has_a_fixture`] reads `src/diagnostic.rs` itself, so a new code
//! without a fixture fails the build.

use std::path::{Path, PathBuf};

use rsng_config::diagnostic::{codes, Report};
use rsng_config::{load_file, load_text, LoadOptions};

const PREFIX: &str = "rsng::config::";

/// Codes that no configuration can raise today because no stage of the front end emits them.
/// Their fixture holds the configuration that should raise them and `.expected` records what is
/// reported instead; the test checks the code is still absent, so that this list is updated (and
/// the fixture re-blessed) as soon as the code is used.
const NOT_TRIGGERABLE: &[(&str, &str)] = &[];

/// Codes whose diagnostic belongs to no place in a file.
const WITHOUT_LOCATION: &[(&str, &str)] = &[
    (codes::CONFIG_FILE, "the configuration file itself cannot be read, so there is no text to point into"),
    (codes::VERSION_MISSING, "raised without a span today (see the fixture); arguably it should point at line 1"),
];

/// Declares the fixture tests, one `#[test]` per code, and `CODES`, which mirrors
/// `diagnostic::codes` (checked against the source by [`every_code_has_a_fixture`]).
macro_rules! fixtures {
    ($($name:ident => $code:expr,)*) => {
        const CODES: &[&str] = &[$($code),*];
        $(
            #[test]
            fn $name() {
                assert_eq!(suffix($code), stringify!($name), "test name must match the code");
                check_fixture($code);
            }
        )*
    };
}

fixtures! {
    syntax => codes::SYNTAX,
    lexical => codes::LEXICAL,
    pragma => codes::PRAGMA,
    version => codes::VERSION,
    version_missing => codes::VERSION_MISSING,
    include => codes::INCLUDE,
    include_depth => codes::INCLUDE_DEPTH,
    backtick => codes::BACKTICK,
    define => codes::DEFINE,
    module => codes::MODULE,
    requires => codes::REQUIRES,
    block_definition => codes::BLOCK_DEFINITION,
    block_argument => codes::BLOCK_ARGUMENT,
    generator => codes::GENERATOR,
    nesting => codes::NESTING,
    unknown_driver => codes::UNKNOWN_DRIVER,
    unsupported_driver => codes::UNSUPPORTED_DRIVER,
    unknown_option => codes::UNKNOWN_OPTION,
    obsolete_option => codes::OBSOLETE_OPTION,
    ignored_option => codes::IGNORED_OPTION,
    invalid_value => codes::INVALID_VALUE,
    missing_value => codes::MISSING_VALUE,
    file_not_found => codes::FILE_NOT_FOUND,
    unknown_user => codes::UNKNOWN_USER,
    duplicate_object => codes::DUPLICATE_OBJECT,
    undefined_reference => codes::UNDEFINED_REFERENCE,
    wrong_kind => codes::WRONG_KIND,
    template => codes::TEMPLATE,
    filter => codes::FILTER,
    regex => codes::REGEX,
    unknown_flag => codes::UNKNOWN_FLAG,
    config_file => codes::CONFIG_FILE,
}

fn suffix(code: &str) -> &str {
    code.strip_prefix(PREFIX).unwrap_or_else(|| panic!("code `{code}` does not start with `{PREFIX}`"))
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("diagnostics")
}

/// Renders reports the way `rsng` does without colour.
fn render(reports: &[Report]) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor()).with_context_lines(1);
    let mut out = String::new();
    for report in reports {
        let mut one = String::new();
        handler.render_report(&mut one, report).expect("rendering into a String does not fail");
        out.push_str(&one);
        out.push('\n');
    }
    out
}

/// Loads the fixture of `suffix` and returns the reports: errors and warnings of a rejected
/// configuration, or the warnings of an accepted one.
fn load_fixture(suffix: &str) -> Vec<Report> {
    let opts = LoadOptions::default();
    let result = match suffix {
        // An unreadable configuration file: `load_file` on a path that does not exist. The path
        // is relative and printed as given, so the expected output does not depend on where the
        // repository lives.
        "config_file" => load_file(Path::new("rsng-fixture-missing/config_file.conf"), &opts),
        _ => {
            let name = format!("{suffix}.conf");
            let path = fixture_dir().join(&name);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            load_text(&name, &text, &opts)
        }
    };
    match result {
        Ok(loaded) => loaded.warnings,
        Err(err) => err.reports,
    }
}

fn check_fixture(code: &'static str) {
    let suffix = suffix(code);
    let reports = load_fixture(suffix);
    let rendered = render(&reports);

    let expected_path = fixture_dir().join(format!("{suffix}.expected"));
    if std::env::var_os("RSNG_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&expected_path, &rendered).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    } else {
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!("{}: {e}\nrun `RSNG_BLESS=1 cargo test -p rsng-config --test diagnostics`", expected_path.display())
        });
        if rendered != expected {
            panic!(
                "rendered diagnostics of {suffix}.conf differ from {suffix}.expected\n\
                 --- expected\n{expected}\n--- rendered\n{rendered}\n\
                 if the change is intended, run `RSNG_BLESS=1 cargo test -p rsng-config --test diagnostics`"
            );
        }
    }

    let raised: Vec<&Report> = reports.iter().filter(|r| r.diagnostic().code == code).collect();
    if let Some((_, reason)) = NOT_TRIGGERABLE.iter().find(|(c, _)| *c == code) {
        assert!(
            raised.is_empty(),
            "{code} is listed in NOT_TRIGGERABLE ({reason}) but {suffix}.conf now raises it: \
             remove it from the list and re-bless {suffix}.expected"
        );
        return;
    }
    assert!(!raised.is_empty(), "{suffix}.conf does not raise {code}; it raised:\n{rendered}");
    let first = raised[0];
    let diag = first.diagnostic();
    assert!(!diag.message.is_empty(), "{code}: empty message");
    if WITHOUT_LOCATION.iter().any(|(c, _)| *c == code) {
        return;
    }
    let location = first.location.as_ref().unwrap_or_else(|| panic!("{code}: no location\n{rendered}"));
    assert_eq!(location.file, format!("{suffix}.conf"), "{code}: located in another file");
    assert!(!diag.label.is_empty(), "{code}: the primary span has no label\n{rendered}");
    // miette draws a label as `· ╰── text` under the snippet; an empty span at the end of the
    // file, for one, is shown without it.
    assert!(
        rendered.lines().any(|l| l.trim_start().starts_with('·') && l.contains("╰──")),
        "{code}: no label is drawn\n{rendered}"
    );
    assert!(
        rendered.contains(&format!("[{suffix}.conf:{}:{}]", location.line, location.column)),
        "{code}: the header does not show file:line:col\n{rendered}"
    );
}

/// The `pub const NAME: &str = "rsng::config::..."` lines of `src/diagnostic.rs`.
fn codes_in_source() -> Vec<String> {
    let source = include_str!("../src/diagnostic.rs");
    let mut found = Vec::new();
    for line in source.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("pub const ") else { continue };
        let Some((_, value)) = rest.split_once(": &str = \"") else { continue };
        let Some(value) = value.strip_suffix("\";") else { continue };
        if value.starts_with(PREFIX) {
            found.push(value.to_string());
        }
    }
    found
}

#[test]
fn every_code_has_a_fixture() {
    let in_source = codes_in_source();
    assert!(in_source.len() >= 30, "parsing src/diagnostic.rs found only {in_source:?}");
    // While blessing, the fixture tests running alongside are still writing `.expected` files.
    let blessing = std::env::var_os("RSNG_BLESS").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for code in &in_source {
        if !CODES.contains(&code.as_str()) {
            problems.push(format!("{code}: missing from CODES / fixtures! in tests/diagnostics.rs"));
        }
        let suffix = suffix(code);
        for ext in ["conf", "expected"] {
            if ext == "expected" && blessing {
                continue;
            }
            if !fixture_dir().join(format!("{suffix}.{ext}")).is_file() {
                problems.push(format!("{code}: no tests/diagnostics/{suffix}.{ext}"));
            }
        }
    }
    for code in CODES {
        if !in_source.iter().any(|c| c == code) {
            problems.push(format!("{code}: in CODES but not declared in src/diagnostic.rs"));
        }
    }
    for (code, _) in NOT_TRIGGERABLE.iter().chain(WITHOUT_LOCATION) {
        if !CODES.contains(code) {
            problems.push(format!("{code}: listed as an exception but not a code"));
        }
    }
    // No stray fixtures: every file in the directory belongs to a code.
    for entry in std::fs::read_dir(fixture_dir()).expect("fixture directory") {
        let name = entry.expect("directory entry").file_name().to_string_lossy().into_owned();
        let stem = name.strip_suffix(".conf").or_else(|| name.strip_suffix(".expected"));
        if !stem.is_some_and(|s| CODES.iter().any(|c| suffix(c) == s)) {
            problems.push(format!("tests/diagnostics/{name}: belongs to no diagnostic code"));
        }
    }
    assert!(problems.is_empty(), "diagnostic fixtures are incomplete:\n{}", problems.join("\n"));
}

#[test]
fn codes_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for code in CODES {
        assert!(seen.insert(*code), "{code} declared twice");
    }
}
