//! Rewrite rules and parsers: rsng-core and rsng-runtime's transforms change messages the way
//! syslog-ng 3.38 does.
//!
//! One syslog-ng runs in the foreground (`TZ=UTC`) with one UDP source per input family (key-value
//! pairs, JSON, CSV, regular expressions, rewrites, syslog, dates). Each case is a log path from
//! one family's source through parsers and rewrite rules into a file, with a template of fields
//! separated by `\x1f` and records ended by `\x1e\n`. Every family message is an RFC 3164 line
//! whose `$MSG` is the test input and whose `$PID` is its index. A message a parser drops leaves
//! no record.
//!
//! The test loads the same configuration with `rsng_config::load_text`, builds each parser and
//! rewrite with `rsng_runtime::transform::build`, applies them in order to `LogMessage`s built
//! from the same bytes (source `s_<family>`, sender `127.0.0.1`, received now, in UTC), formats the
//! surviving messages with the same templates, and compares the record lists byte for byte.
//!
//! Not compared:
//! - the `PID` of syslog-ng's own parse-error message (`syslog-parser()` without
//!   `drop-invalid()`), which is the daemon's process id; those cases do not print `$PID`;
//! - `regexp-parser()` with `type(string)` or `type(glob)`: syslog-ng 3.38 writes the regexp
//!   prefix into a matcher that is not a PCRE one and corrupts its heap (it crashes at start-up
//!   once a few such parsers exist), so there is nothing to compare with.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rsng_config::filter_compile::compile_filters;
use rsng_config::schema::Context;
use rsng_core::message::{LogMessage, ReceiveInfo, UnixTime};
use rsng_core::template::{compile, CompileContext, FormatOptions};
use rsng_proto::syslog::{parse, ParseOptions};
use rsng_runtime::transform::{build, Transform, TransformContext};
use rsng_tests::{oracle_skipped, RunningOracle, TempDir};

/// A family of inputs, sent to its own source.
struct Family {
    name: &'static str,
    inputs: &'static [&'static str],
}

/// A log path: the family it reads, the steps (`parser(x)` / `rewrite(x)` by object name) and
/// the fields of the output template.
struct Case {
    name: &'static str,
    family: &'static str,
    steps: &'static [&'static str],
    fields: &'static [&'static str],
}

const NV: &str = "$(format-json --scope nv-pairs --scope dot-nv-pairs)";

const FAMILIES: &[Family] = &[
    Family {
        name: "kv",
        inputs: &[
            "a=1 b=2 c=3",
            "key1=value1, key2=value2, key3=three words",
            "k=\"quoted value\" x='single' y=\"esc \\\" q\" z='it\\'s'",
            "foo = bar baz=qux",
            "a=\"open b=c",
            "x \"y\" a=\"v\"junk next=1",
            "lead word a=1 trailing words",
            "",
            "no pairs at all",
            "a= b= c",
            "unicode=\u{e9}t\u{e9} cl\u{e9}=v emoji=\u{1f600} \u{43a}\u{43b}\u{44e}\u{447}=x",
            "a=1,b=2",
            "dup=1 dup=2",
            "k=v\\ with\\tbackslash",
            "=novalue x==y",
            "a=b=c",
            "sep:semi;other:2;lone;last:x y",
            "tab\tsep=1\tother=2",
            "ctl=a\u{1}b q=\"a,b\" e=\"\"",
            "   leading=spaces   trailing=end   ",
            "msg=\"multi\\nline\" path=/var/log",
            "a~1 b~2, c~3",
        ],
    },
    Family {
        name: "json",
        inputs: &[
            r#"{"a":1,"b":"two","c":true,"d":null,"e":1.5}"#,
            r#"{"o":{"p":{"q":"deep"},"r":[1,2]},"e":{}}"#,
            r#"{"l":["a b",1,true,null,"x,y",2.5],"m":[1,{"k":"v/w"}],"z":[]}"#,
            r#"["one",2,[3],{"x":1},null,false]"#,
            "42",
            r#""just a string""#,
            r#"{"a":1"#,
            r#"{"a": }"#,
            r#"{'a':'single', "b":'mixed'}"#,
            r#"{"a":1,}"#,
            "{/* c */\"a\":1, // line\n\"b\":2}",
            r#"{"a":1} trailing garbage"#,
            r#"{"a":1} /* unterminated"#,
            r#"{"big":99999999999999999999,"neg":-99999999999999999999,"f":1e400,"g":-0.0,"h":0.0078125,"i":123456789.123456789}"#,
            r#"{"u":"\u00e9\ud83d\ude00\ud800x","n":"a\u0000b","c":"tab\tnl\n","s":"sl\/ash"}"#,
            r#"{"a":1,"a":2,"b":{"c":1},"b":{"d":2}}"#,
            r#"{"t":TRUE,"f":False,"n":NULL,"nan":NaN,"inf":-Infinity,"pinf":infinity}"#,
            "@cee: {\"k\":\"v\"}",
            "@cee:{\"k\":\"tight\"}",
            "{}",
            r#"{"a.b":{"c":1},"x":{"y.z":[{"deep":[1,[2]]}]}}"#,
            r#"{"x":1e5,"y":2e+,"z":007,"w":-0,"v":1.}"#,
            r#"{"arr":[{"s":"a\"b\\c/d\u0001"},"q"]}"#,
            r#"{"esc":"bad\'escape"}"#,
            r#"{"a":tru}"#,
            "   {\"ws\" : [ 1 , 2 ] }   ",
            r#"{"unicode":"ключ","émoji":"😀"}"#,
            r#"{"nested":{"arr":["a",{"b":null}],"empty":[]}}"#,
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        ],
    },
    Family {
        name: "csv",
        inputs: &[
            "a b c",
            "\"quoted value\" 'single q' plain",
            "x,y,z",
            "  spaced  ,  vals  , end ",
            "a,\"b,c\",d",
            "\"a\"\"b\",c,\"\"\"\"",
            "\"a\\\"b\",c,d",
            "only_one",
            "too many columns here extra",
            "",
            "a::b;c",
            "NULL,x,-",
            "1,2,rest,of,line",
            "\u{e9},\u{fc},\u{1f600}",
            "\"unterminated,x,y",
            "[bracket value],{curly},z",
            "a\tb\tc",
            "\" padded \",  x  ,y",
        ],
    },
    Family {
        name: "regexp",
        inputs: &[
            "user=alice id=42",
            "no match here",
            "",
            "ID:123 ID:456",
            "\u{e9}t\u{e9} \u{1f600} unicode",
            "USER=BOB ID=7",
            "user=carol",
            "a-b-c-d",
        ],
    },
    Family {
        name: "rewrite",
        inputs: &[
            "hello world",
            "banana",
            "",
            "The quick brown fox",
            "Jan is a prefix Jan",
            "x",
            "a,b,'c d',,\"e\"",
            "caf\u{e9} \u{1f600} aaa",
            "3",
            "local5",
            "99999",
            "spaces   between",
            "kv=1 other=2",
            "{\"json\":{\"a\":\"x\",\"b\":\"y\"}}",
        ],
    },
    Family {
        name: "syslog",
        inputs: &[
            "<14>Jan  2 03:04:05 newhost app[7]: text",
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"][x@1] entry",
            "app: no header here",
            "<13>1 2024-01-02T03:04:05Z h a - ID [broken",
            "<abc>broken pri",
            "",
            "<191>Dec 31 23:59:59 h p: last",
            "<13>2024-03-04T05:06:07+01:00 isohost isoprog: iso stamp",
            "<13>Jan  2 10:11:12 host prog[]: empty pid",
            "<13>Jan  2 10:11:12 last message repeated 3 times",
            "plain text without anything",
            "<13>1 - - - - - - nil fields",
            "<13>Jan  2 10:11:12 host prog: multi\nline\rmsg",
            "<13>1 2024-01-02T03:04:05Z h a 1 - [a x=\"q\\\"uote\" y=\"\"] sd values",
        ],
    },
    Family {
        name: "date",
        inputs: &[
            "2024-03-04T05:06:07+02:00",
            "2024-03-04T05:06:07Z",
            "2024-03-04T05:06:07",
            "garbage",
            "10/Oct/2000:13:55:36 -0700",
            "Mar  4 05:06:07",
            "1709521567",
            "12:30 PM",
            "2024-03-04 05:06:07.123456",
            "2024-03-04 05:06:07.5",
            "Tue, 05 Mar 2024 10:00:00 EST",
            "2024-060",
            "2024-03-04T05:06:07+0530",
            "",
            "2024-02-30T10:00:00Z",
            "2024-03-04T23:59:60Z",
            "45",
            "03-04",
            "2024-03-04 05:06:07.1234567",
        ],
    },
];

/// Parser and rewrite objects, shared by the cases.
const OBJECTS: &str = r##"
filter f_prog { program("prog"); };
template t_prog { template("$PROGRAM $MSG"); };

parser p_kv { kv-parser(); };
parser p_kv_prefix { kv-parser(prefix(".kv.") extract-stray-words-into(".stray")); };
parser p_kv_seps { kv-parser(value-separator(":") pair-separator(";") extract-stray-words-into("sw")); };
parser p_kv_tmpl { kv-parser(template(t_prog) prefix("t.")); };
parser p_kv_tab { kv-parser(pair-separator("\t") prefix("tab.")); };
parser p_kv_nosep { kv-parser(pair-separator("") value-separator("~")); };

parser p_json { json-parser(); };
parser p_json_prefix { json-parser(prefix(".j.") key-delimiter("/")); };
parser p_json_marker { json-parser(marker("@cee:") prefix("cee.")); };
parser p_json_extract { json-parser(extract-prefix("o.p") prefix("x.")); };
parser p_json_extract_arr { json-parser(extract-prefix("l") prefix("xa.")); };
parser p_json_extract_idx { json-parser(extract-prefix("m[1]") prefix("xi.")); };
parser p_json_extract_bad { json-parser(extract-prefix("a..b")); };

parser p_csv { csv-parser(columns(a, b, c)); };
parser p_csv_comma { csv-parser(columns("a", "b", "c") delimiters(",") flags(drop-invalid)); };
parser p_csv_double { csv-parser(columns(a, b, c) delimiters(",") flags(escape-double-char, strip-whitespace)); };
parser p_csv_backslash { csv-parser(columns(a, b, c) delimiters(",") flags(escape-backslash)); };
parser p_csv_greedy { csv-parser(columns(a, b, c) delimiters(",") flags(greedy)); };
parser p_csv_null { csv-parser(columns(a, b, c) delimiters(",") null("NULL") prefix(".csv.")); };
parser p_csv_strings { csv-parser(columns(a, b, c) delimiters(chars(";") strings("::"))); };
parser p_csv_pairs { csv-parser(columns(a, b, c) delimiters(",") quote-pairs("[]{}") drop-invalid(yes)); };
parser p_csv_dialect { csv-parser(columns(a, b, c) delimiters(",") dialect(escape-backslash)); };
parser p_csv_dialect_then_flags { csv-parser(columns(a, b, c) delimiters(",") dialect(escape-none) flags(escape-backslash)); };
parser p_csv_flags_then_dialect { csv-parser(columns(a, b, c) delimiters(",") flags(escape-backslash) dialect(escape-backslash)); };
parser p_csv_quotes_then_pairs { csv-parser(columns(a, b, c) delimiters(",") quotes("'") quote-pairs("[]")); };
parser p_csv_pairs_then_quotes { csv-parser(columns(a, b, c) delimiters(",") quote-pairs("[]") quotes("'")); };
parser p_csv_drop_order { csv-parser(columns(a, b, c) delimiters(",") flags(drop-invalid) drop-invalid(no)); };
parser p_csv_tab { csv-parser(columns(a, b, c) delimiters("\t") quotes("'")); };

parser p_re { regexp-parser(patterns("(?<word>[a-z]+)=(?<num>\\d+)?") prefix(".r.")); };
parser p_re_multi { regexp-parser(patterns("^ID:(\\d+) ID:(\\d+)$" "(?<other>\\w+)-(\\w+)" "user=(?<user>\\w+)")); };
parser p_re_icase { regexp-parser(patterns("user=(\\w+)") flags(ignore-case)); };
parser p_re_utf8 { regexp-parser(patterns("^(\\S+) (.) (\\S+)$") flags(utf8)); };
parser p_re_last { regexp-parser(patterns("(?<a>user)") patterns("(?<b>\\d+)") template("$MSG $PROGRAM") prefix("last.")); };
parser p_re_empty { regexp-parser(patterns("^(?<e>)$" "^(?<HOST>.*)$")); };
rewrite r_unset_msg { unset(value("MESSAGE")); };

rewrite r_set { set("[$MSG]"); };
rewrite r_set_value { set("$HOST-$PROGRAM" value(".x")); set("" value(".empty")); set("$PID" value("$PROGRAM")); };
rewrite r_unset { unset(value("PROGRAM")); unset(value(".nope")); unset(value("PID")); };
rewrite r_subst_global { subst("a" "X" flags(global)); };
rewrite r_subst_swap { subst("(\\w+) (\\w+)" "$2 $1"); };
rewrite r_subst_empty { subst("^$" "EMPTY" value(".unset")); subst("^$" "WAS-EMPTY"); };
rewrite r_subst_star { subst("a*" "#" flags(global)); };
rewrite r_subst_icase { subst("A" "x" flags(ignore-case, global)); };
rewrite r_subst_substring { subst("o" "0" type(string) flags(substring, global)); };
rewrite r_subst_prefix { subst("Jan" "J" type(string) flags(prefix, global)); };
rewrite r_subst_exact { subst("x" "exact" type(string)); subst("" "never" type(string) value(".nothing")); };
rewrite r_subst_named { subst("(?<first>\\w+)(?<rest>.*)" "<${first}>${rest}"); };
rewrite r_subst_program { subst("r" "R" value("PROGRAM") flags(global)); };
rewrite r_subst_store { subst("a" "[$0$1]" type(string) flags(substring, global, store-matches)); };
rewrite r_tags { set-tag("tagA"); set-tag("t-$PROGRAM"); clear-tag("tagA"); set-tag("last"); };
rewrite r_groupset { groupset("<$_>" values("PROGRAM" "PID")); };
rewrite r_groupset_json { groupset("$(uppercase $_)" values("json.*")); };
rewrite r_groupunset { groupunset(values("kv*" "other")); };
rewrite r_groupset_host { groupset("${_}!" values("HOST" "HOST_FROM" "LEGACY*")); };
rewrite r_rename { rename("PROGRAM" ".prog"); rename(".nope" ".x"); rename("MSG" ".m"); rename("PID" "PID"); };
rewrite r_pri { set-pri("42"); set-pri("1024"); set-severity("err"); set-facility("local3"); set-facility("200"); };
rewrite r_pri_dynamic { set-severity("$MSG"); set-facility("$MSG"); set-pri("$MSG"); };
rewrite r_matches { set-matches("$MSG"); };
rewrite r_unset_matches { subst("(\\w)" "$1"); unset-matches(); };
rewrite r_subst_utf8 { subst("é|." "_" flags(utf8, global)); subst("a" "" value(".none") flags(global)); };
rewrite r_subst_delete { subst("[aeiou]" "" flags(global)); };
rewrite r_set_opts { set("$STAMP|$ISODATE|$TZ" value(".d") ts-format(iso) frac-digits(3) time-zone("+02:00")); set("$STAMP" value(".g")); };
rewrite r_matches_then { subst("(\\w+)" "<$1>"); set("$0/$1/$2" value(".m")); };
rewrite r_groupset_sd { groupset("[$_]" values(".SDATA.*")); groupunset(values(".SDATA.x*")); };
rewrite r_condition { set("yes" value(".c") condition(program("prog") and message("a"))); set("ref" value(".f") condition(filter(f_prog))); set("no" value(".n") condition(message("zzz"))); };

parser p_syslog { syslog-parser(); };
parser p_syslog_proto { syslog-parser(flags(syslog-protocol)); };
parser p_syslog_drop { syslog-parser(flags(syslog-protocol) drop-invalid(yes)); };
parser p_syslog_noheader { syslog-parser(flags(no-header, dont-store-legacy-msghdr) default-priority(err) default-facility(local1)); };
parser p_syslog_noparse { syslog-parser(flags(no-parse)); };
parser p_syslog_tz { syslog-parser(time-zone("+05:00") flags(store-raw-message, no-multi-line)); };
parser p_syslog_template { syslog-parser(template("<13>Feb  3 04:05:06 tmplhost $MSG")); };

parser p_date { date-parser(); };
parser p_date_formats { date-parser(format("%d/%b/%Y:%H:%M:%S %z" "%b %d %H:%M:%S" "%s" "%I:%M %p" "%Y-%m-%d %H:%M:%S.%f" "%a, %d %b %Y %H:%M:%S %Z" "%Y-%j" "%FT%T%z")); };
parser p_date_tz { date-parser(format("%Y-%m-%dT%H:%M:%S" "%FT%T%z") time-zone("America/New_York")); };
parser p_date_template { date-parser(format("%Y-%m-%d") template("2024-$MSG")); };
parser p_date_shared { date-parser(format("%Y-%m-%d %H:%M:%S.%f" "%M")); };
"##;

const REWRITE_FIELDS: &[&str] = &["$PID", "$MSG", "$PROGRAM", "$TAGS", "$PRI", "$0", "$1", "$2", NV];
const SYSLOG_FIELDS: &[&str] = &[
    "$PRI",
    "$HOST",
    "$PROGRAM",
    "$MSGID",
    "$LEGACY_MSGHDR",
    "$MSG",
    "$S_ISODATE",
    "$TAGS",
    "$(format-json --scope sdata)",
    "$HOST_FROM",
    "$SOURCE",
    "$SOURCEIP",
];
const DATE_FIELDS: &[&str] = &["$PID", "$MSG", "$S_ISODATE", "$S_UNIXTIME", "$S_TZOFFSET"];

const CASES: &[Case] = &[
    Case { name: "kv", family: "kv", steps: &["parser(p_kv)"], fields: &["$PID", NV] },
    Case { name: "kv_prefix", family: "kv", steps: &["parser(p_kv_prefix)"], fields: &["$PID", NV] },
    Case { name: "kv_seps", family: "kv", steps: &["parser(p_kv_seps)"], fields: &["$PID", NV] },
    Case { name: "kv_tmpl", family: "kv", steps: &["parser(p_kv_tmpl)"], fields: &["$PID", NV] },
    Case { name: "kv_tab", family: "kv", steps: &["parser(p_kv_tab)"], fields: &["$PID", NV] },
    Case { name: "kv_nosep", family: "kv", steps: &["parser(p_kv_nosep)"], fields: &["$PID", NV] },
    Case { name: "json", family: "json", steps: &["parser(p_json)"], fields: &["$PID", NV] },
    Case { name: "json_prefix", family: "json", steps: &["parser(p_json_prefix)"], fields: &["$PID", NV] },
    Case { name: "json_marker", family: "json", steps: &["parser(p_json_marker)"], fields: &["$PID", NV] },
    Case { name: "json_extract", family: "json", steps: &["parser(p_json_extract)"], fields: &["$PID", NV] },
    Case { name: "json_extract_arr", family: "json", steps: &["parser(p_json_extract_arr)"], fields: &["$PID", NV] },
    Case { name: "json_extract_idx", family: "json", steps: &["parser(p_json_extract_idx)"], fields: &["$PID", NV] },
    Case { name: "json_extract_bad", family: "json", steps: &["parser(p_json_extract_bad)"], fields: &["$PID", NV] },
    Case { name: "csv", family: "csv", steps: &["parser(p_csv)"], fields: &["$PID", "${a}", "${b}", "${c}"] },
    Case {
        name: "csv_comma",
        family: "csv",
        steps: &["parser(p_csv_comma)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_double",
        family: "csv",
        steps: &["parser(p_csv_double)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_backslash",
        family: "csv",
        steps: &["parser(p_csv_backslash)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_greedy",
        family: "csv",
        steps: &["parser(p_csv_greedy)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case { name: "csv_null", family: "csv", steps: &["parser(p_csv_null)"], fields: &["$PID", NV] },
    Case {
        name: "csv_strings",
        family: "csv",
        steps: &["parser(p_csv_strings)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_pairs",
        family: "csv",
        steps: &["parser(p_csv_pairs)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_dialect",
        family: "csv",
        steps: &["parser(p_csv_dialect)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_dialect_then_flags",
        family: "csv",
        steps: &["parser(p_csv_dialect_then_flags)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_flags_then_dialect",
        family: "csv",
        steps: &["parser(p_csv_flags_then_dialect)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_quotes_then_pairs",
        family: "csv",
        steps: &["parser(p_csv_quotes_then_pairs)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_pairs_then_quotes",
        family: "csv",
        steps: &["parser(p_csv_pairs_then_quotes)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case {
        name: "csv_drop_order",
        family: "csv",
        steps: &["parser(p_csv_drop_order)"],
        fields: &["$PID", "${a}", "${b}", "${c}"],
    },
    Case { name: "csv_tab", family: "csv", steps: &["parser(p_csv_tab)"], fields: &["$PID", "${a}", "${b}", "${c}"] },
    Case { name: "re", family: "regexp", steps: &["parser(p_re)"], fields: &["$PID", "$0", "$1", "$2", "$3", NV] },
    Case {
        name: "re_multi",
        family: "regexp",
        steps: &["parser(p_re_multi)"],
        fields: &["$PID", "$0", "$1", "$2", NV],
    },
    Case { name: "re_icase", family: "regexp", steps: &["parser(p_re_icase)"], fields: &["$PID", "$1"] },
    Case { name: "re_utf8", family: "regexp", steps: &["parser(p_re_utf8)"], fields: &["$PID", "$1", "$2", "$3"] },
    Case { name: "re_last", family: "regexp", steps: &["parser(p_re_last)"], fields: &["$PID", "$0", "$1", NV] },
    Case {
        name: "re_unset_msg",
        family: "regexp",
        steps: &["rewrite(r_unset_msg)", "parser(p_re_empty)"],
        fields: &["$PID", "$0", "${e}", "$HOST", NV],
    },
    Case {
        name: "re_empty",
        family: "regexp",
        steps: &["parser(p_re_empty)"],
        fields: &["$PID", "$0", "${e}", "$HOST", NV],
    },
    Case { name: "subst_utf8", family: "rewrite", steps: &["rewrite(r_subst_utf8)"], fields: REWRITE_FIELDS },
    Case { name: "subst_delete", family: "rewrite", steps: &["rewrite(r_subst_delete)"], fields: REWRITE_FIELDS },
    Case { name: "set_opts", family: "rewrite", steps: &["rewrite(r_set_opts)"], fields: REWRITE_FIELDS },
    Case { name: "matches_then", family: "rewrite", steps: &["rewrite(r_matches_then)"], fields: REWRITE_FIELDS },
    Case { name: "set", family: "rewrite", steps: &["rewrite(r_set)"], fields: REWRITE_FIELDS },
    Case { name: "set_value", family: "rewrite", steps: &["rewrite(r_set_value)"], fields: REWRITE_FIELDS },
    Case { name: "unset", family: "rewrite", steps: &["rewrite(r_unset)"], fields: REWRITE_FIELDS },
    Case { name: "subst_global", family: "rewrite", steps: &["rewrite(r_subst_global)"], fields: REWRITE_FIELDS },
    Case { name: "subst_swap", family: "rewrite", steps: &["rewrite(r_subst_swap)"], fields: REWRITE_FIELDS },
    Case { name: "subst_empty", family: "rewrite", steps: &["rewrite(r_subst_empty)"], fields: REWRITE_FIELDS },
    Case { name: "subst_star", family: "rewrite", steps: &["rewrite(r_subst_star)"], fields: REWRITE_FIELDS },
    Case { name: "subst_icase", family: "rewrite", steps: &["rewrite(r_subst_icase)"], fields: REWRITE_FIELDS },
    Case { name: "subst_substring", family: "rewrite", steps: &["rewrite(r_subst_substring)"], fields: REWRITE_FIELDS },
    Case { name: "subst_prefix", family: "rewrite", steps: &["rewrite(r_subst_prefix)"], fields: REWRITE_FIELDS },
    Case { name: "subst_exact", family: "rewrite", steps: &["rewrite(r_subst_exact)"], fields: REWRITE_FIELDS },
    Case { name: "subst_named", family: "rewrite", steps: &["rewrite(r_subst_named)"], fields: REWRITE_FIELDS },
    Case { name: "subst_program", family: "rewrite", steps: &["rewrite(r_subst_program)"], fields: REWRITE_FIELDS },
    Case { name: "subst_store", family: "rewrite", steps: &["rewrite(r_subst_store)"], fields: REWRITE_FIELDS },
    Case { name: "tags", family: "rewrite", steps: &["rewrite(r_tags)"], fields: REWRITE_FIELDS },
    Case { name: "groupset", family: "rewrite", steps: &["rewrite(r_groupset)"], fields: REWRITE_FIELDS },
    Case {
        name: "groupset_json",
        family: "rewrite",
        steps: &["parser(p_json)", "rewrite(r_groupset_json)"],
        fields: REWRITE_FIELDS,
    },
    Case {
        name: "groupunset",
        family: "rewrite",
        steps: &["parser(p_kv)", "rewrite(r_groupunset)"],
        fields: REWRITE_FIELDS,
    },
    Case { name: "groupset_host", family: "rewrite", steps: &["rewrite(r_groupset_host)"], fields: REWRITE_FIELDS },
    Case { name: "rename", family: "rewrite", steps: &["rewrite(r_rename)"], fields: REWRITE_FIELDS },
    Case { name: "pri", family: "rewrite", steps: &["rewrite(r_pri)"], fields: REWRITE_FIELDS },
    Case { name: "pri_dynamic", family: "rewrite", steps: &["rewrite(r_pri_dynamic)"], fields: REWRITE_FIELDS },
    Case {
        name: "matches",
        family: "rewrite",
        steps: &["rewrite(r_matches)"],
        fields: &["$PID", "$1", "$2", "$3", "$4", "$5", NV],
    },
    Case { name: "unset_matches", family: "rewrite", steps: &["rewrite(r_unset_matches)"], fields: REWRITE_FIELDS },
    Case { name: "condition", family: "rewrite", steps: &["rewrite(r_condition)"], fields: REWRITE_FIELDS },
    Case { name: "syslog", family: "syslog", steps: &["parser(p_syslog)"], fields: SYSLOG_FIELDS },
    Case { name: "syslog_proto", family: "syslog", steps: &["parser(p_syslog_proto)"], fields: SYSLOG_FIELDS },
    Case { name: "syslog_drop", family: "syslog", steps: &["parser(p_syslog_drop)"], fields: SYSLOG_FIELDS },
    Case { name: "syslog_noheader", family: "syslog", steps: &["parser(p_syslog_noheader)"], fields: SYSLOG_FIELDS },
    Case { name: "syslog_noparse", family: "syslog", steps: &["parser(p_syslog_noparse)"], fields: SYSLOG_FIELDS },
    Case {
        name: "syslog_tz",
        family: "syslog",
        steps: &["parser(p_syslog_tz)"],
        fields: &["$PRI", "$MSG", "$S_ISODATE", "${RAWMSG}"],
    },
    Case { name: "syslog_template", family: "syslog", steps: &["parser(p_syslog_template)"], fields: SYSLOG_FIELDS },
    Case {
        name: "groupset_sd",
        family: "syslog",
        steps: &["parser(p_syslog_proto)", "rewrite(r_groupset_sd)"],
        fields: SYSLOG_FIELDS,
    },
    Case { name: "date", family: "date", steps: &["parser(p_date)"], fields: DATE_FIELDS },
    Case { name: "date_formats", family: "date", steps: &["parser(p_date_formats)"], fields: DATE_FIELDS },
    Case { name: "date_tz", family: "date", steps: &["parser(p_date_tz)"], fields: DATE_FIELDS },
    Case { name: "date_template", family: "date", steps: &["parser(p_date_template)"], fields: DATE_FIELDS },
    Case { name: "date_shared", family: "date", steps: &["parser(p_date_shared)"], fields: DATE_FIELDS },
];

/// The datagram of input `i` of a family: an RFC 3164 line with `$PID` = `i`.
fn datagram(i: usize, input: &str) -> Vec<u8> {
    format!("<13>Jan  2 10:11:12 host prog[{i}]: {input}").into_bytes()
}

/// `text` as the body of a double-quoted configuration string.
fn config_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn config(dir: &Path, ports: &[u16]) -> String {
    let mut conf = String::from(
        "@version: 3.38\noptions { keep-hostname(yes); use-dns(no); dns-cache(no); stats-freq(0); frac-digits(0); };\n",
    );
    for (f, port) in FAMILIES.iter().zip(ports) {
        let _ = writeln!(conf, "source s_{} {{ network(transport(\"udp\") ip(127.0.0.1) port({port})); }};", f.name);
    }
    conf.push_str(OBJECTS);
    for c in CASES {
        let fields: Vec<String> = c.fields.iter().map(|f| config_string(f)).collect();
        let _ = writeln!(
            conf,
            "destination d_{name} {{ file(\"{path}\" template(\"{t}\\x1e\\n\") frac-digits(6)); }};\n\
             log {{ source(s_{family}); {steps} destination(d_{name}); }};",
            name = c.name,
            path = dir.join(format!("{}.out", c.name)).display(),
            t = fields.join("\\x1f"),
            family = c.family,
            steps = c.steps.iter().map(|s| format!("{s}; ")).collect::<String>(),
        );
    }
    conf
}

fn read_records(path: &Path) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap_or_default();
    let mut records: Vec<Vec<u8>> = data.split(|&b| b == 0x1e).map(<[u8]>::to_vec).collect();
    records.pop();
    records.into_iter().map(|r| r.strip_prefix(b"\n").map(<[u8]>::to_vec).unwrap_or(r)).collect()
}

/// `record` with every ISO stamp within a minute of `now` (the receive time, which differs
/// between the daemons by the time the datagrams took) replaced by `<recvd>`.
fn normalize_recvd(record: &[u8], now: i64) -> Vec<u8> {
    const LEN: usize = "2024-01-02T03:04:05.000000+00:00".len();
    let mut out = Vec::with_capacity(record.len());
    let mut i = 0;
    while i < record.len() {
        if let Some(stamp) = record.get(i..i + LEN).and_then(|s| std::str::from_utf8(s).ok()) {
            if let Ok(t) = stamp.parse::<jiff::Timestamp>() {
                if (t.as_second() - now).abs() <= 60 {
                    out.extend_from_slice(b"<recvd>");
                    i += LEN;
                    continue;
                }
            }
        }
        out.push(record[i]);
        i += 1;
    }
    out
}

fn show(r: &[u8]) -> String {
    String::from_utf8_lossy(r).replace('\x1f', " | ")
}

#[test]
fn transforms_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let started = Instant::now();
    let dir = TempDir::new("transform").expect("temp dir");
    let (oracle, ports, text) = RunningOracle::start_udp(dir.path(), FAMILIES.len(), |ports| config(dir.path(), ports));
    let received = UnixTime::now(&jiff::tz::TimeZone::UTC);
    let datagrams: Vec<Vec<Vec<u8>>> =
        FAMILIES.iter().map(|f| f.inputs.iter().enumerate().map(|(i, m)| datagram(i, m)).collect()).collect();
    for (f, port) in datagrams.iter().zip(&ports) {
        oracle.send_udp(&[*port], f);
    }
    // Parsers drop messages, so the files cannot be counted; wait for them to settle.
    let total = |d: &Path| CASES.iter().map(|c| read_records(&d.join(format!("{}.out", c.name))).len()).sum::<usize>();
    let last = std::cell::Cell::new(usize::MAX);
    oracle.wait_for(10, || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = total(dir.path());
        now > 0 && last.replace(now) == now
    });
    assert!(oracle.stop(), "syslog-ng did not stop");

    // rsng: the same configuration, the same transforms.
    let loaded = rsng_config::load_text("transform.conf", &text, &rsng_config::LoadOptions::default())
        .unwrap_or_else(|e| panic!("rsng refuses the configuration: {e:?}"));
    let config = &loaded.config;
    let filters = compile_filters(config).expect("filters compile");
    let mut compile_ctx = CompileContext::new();
    for t in &config.templates {
        compile_ctx.add_template(&t.name);
    }
    let persisted = std::cell::RefCell::default();
    let globals = rsng_drivers::options::Globals::new(config);
    let tctx =
        TransformContext { config, globals: &globals, filters: &filters, compile: &compile_ctx, persisted: &persisted };
    let mut objects: HashMap<String, Vec<Box<dyn Transform>>> = HashMap::new();
    for (context, list, kind) in
        [(Context::Parser, &config.parsers, "parser"), (Context::Rewrite, &config.rewrites, "rewrite")]
    {
        for obj in list {
            let built = obj
                .drivers
                .iter()
                .map(|d| build(context, d, &tctx).unwrap_or_else(|e| panic!("{kind} {}: {}", obj.name, e.message)))
                .collect();
            objects.insert(format!("{kind}({})", obj.name), built);
        }
    }

    let parse_options = ParseOptions::default();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut out = Vec::new();
    let opts = FormatOptions { frac_digits: 6, ..FormatOptions::default() };
    for case in CASES {
        let family = FAMILIES.iter().position(|f| f.name == case.family).expect("family");
        let mut info = ReceiveInfo::new(
            &format!("s_{}", case.family),
            "127.0.0.1",
            "127.0.0.1".parse().ok(),
            jiff::tz::TimeZone::UTC,
        );
        info.received = received;
        let template = compile(&case.fields.join("\x1f"), &compile_ctx).expect("template compiles");
        let mut mine = Vec::new();
        for d in &datagrams[family] {
            let raw: Arc<[u8]> = Arc::from(&d[..]);
            let parsed = parse(&raw, &parse_options).expect("parses");
            let mut msg = LogMessage::from_parsed(raw.clone(), &parsed, &info);
            let kept = case.steps.iter().all(|s| objects[*s].iter().all(|t| t.process(&mut msg)));
            if kept {
                out.clear();
                template.format(&msg, &opts, &mut out).expect("formats");
                mine.push(out.clone());
            }
        }
        let theirs = read_records(&dir.path().join(format!("{}.out", case.name)));
        let theirs: Vec<Vec<u8>> =
            theirs.into_iter().map(|r| r.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(r)).collect();
        if theirs.is_empty() && case.name != "json_extract_bad" {
            failures.push(format!("case {}: syslog-ng wrote no records", case.name));
        }
        for i in 0..mine.len().max(theirs.len()) {
            compared += 1;
            let a = mine.get(i).map(|r| normalize_recvd(r, received.sec));
            let b = theirs.get(i).map(|r| normalize_recvd(r, received.sec));
            let (a, b) = (a.as_ref(), b.as_ref());
            if a != b {
                failures.push(format!(
                    "case {}, record {i}:\n    rsng      {}\n    syslog-ng {}",
                    case.name,
                    a.map_or("<none>".into(), |r| show(r)),
                    b.map_or("<none>".into(), |r| show(r)),
                ));
            }
        }
    }
    eprintln!(
        "differential_transform: {} cases, {compared} records compared, {} differ ({:.1?})",
        CASES.len(),
        failures.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {compared} records differ:\n{}", failures.len(), failures.join("\n"));
}
