//! Large configurations: parsed in parallel pieces, they must give the same result as a small
//! one would, including where the first error is.

use rsng_config::{load_text, LoadOptions};

fn objects(n: usize) -> String {
    let mut text = String::from("@version: 3.38\n");
    for i in 0..n {
        text.push_str(&format!(
            "source s_{i} {{ network(ip(\"127.0.0.1\") port({}) transport(\"tcp\")); }};\n\
             destination d_{i} {{ file(\"/var/log/x{i}\" template(\"$ISODATE $HOST $MSG\\n\")); }};\n\
             filter f_{i} {{ facility(local0) and level(info..emerg) or program(\"app_{i}\"); }};\n\
             log {{ source(s_{i}); filter(f_{i}); destination(d_{i}); }};\n",
            20000 + i % 40000
        ));
    }
    text
}

#[test]
fn a_large_configuration_loads_whole() {
    let loaded = load_text("large.conf", &objects(5000), &LoadOptions::default()).expect("valid");
    assert_eq!(loaded.config.sources.len(), 5000);
    assert_eq!(loaded.config.destinations.len(), 5000);
    assert_eq!(loaded.config.filters.len(), 5000);
    assert_eq!(loaded.config.log_paths.len(), 5000);
}

#[test]
fn the_first_error_of_a_large_configuration_is_found_in_reading_order() {
    let mut text = objects(4000);
    // A semantic error early, a syntax error late: the early one comes first, as syslog-ng
    // would stop there.
    text = text.replacen("level(info..emerg)", "level(nope)", 2).replacen("level(nope)", "level(info..emerg)", 1);
    let late = text.len() * 3 / 4;
    let at = late + text[late..].find("};\n").expect("statement end") + 1;
    text.insert(at, ')');
    let err = load_text("large.conf", &text, &LoadOptions::default()).expect_err("invalid");
    let first = err.reports[0].location.clone().expect("located");
    let early_line = text.lines().position(|l| l.contains("level(nope)")).expect("line") + 1;
    assert_eq!(first.line, early_line, "{}", err.reports[0].diagnostic().message);
    let syntax_line = text[..at].matches('\n').count() + 1;
    assert!(
        err.reports.iter().any(|r| r.location.as_ref().is_some_and(|l| l.line == syntax_line)),
        "the syntax error at line {syntax_line} is reported too"
    );
}
