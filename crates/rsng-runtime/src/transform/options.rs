//! The typed options of the parsers and rewrite rules, with syslog-ng 3.38's defaults. The
//! builders in [`super::parser`], [`super::rewrite`] and [`super::db_parser`] read these structs,
//! never option names; the names live here, once.

use rsng_config::ir::Value;
use rsng_drivers::options::typed::{Flags, Last, Located};
use rsng_drivers::typed_options;

typed_options! {
    /// syslog-ng's `parser_opt`, which every parser takes.
    pub struct ParserOptions {
        driver {
            /// What the parser reads: a template's name or text (default `$MSG`).
            pub template: String = "template";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// `kv-parser()`. `allow-pair-separator-in-value()` does nothing in 3.38 either; the front
    /// end says so.
    pub struct KvParserOptions {
        driver {
            pub prefix: String = "prefix" or (String::new());
            /// A single character (default `=`).
            pub value_separator: Located<String> = "value-separator";
            pub pair_separator: String = "pair-separator" or (", ".to_string());
            pub extract_stray_words_into: String = "extract-stray-words-into";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// `json-parser()`.
    pub struct JsonParserOptions {
        driver {
            pub prefix: String = "prefix";
            pub marker: String = "marker";
            pub extract_prefix: String = "extract-prefix";
            /// A single character (default `.`).
            pub key_delimiter: Located<String> = "key-delimiter";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// `csv-parser()`. `quotes()` and `quote-pairs()` set the same thing, as do `flags()` and
    /// `drop-invalid()` for dropping and `flags()` and `dialect()` for escapes: the later one
    /// written wins.
    pub struct CsvParserOptions {
        driver {
            /// Each `columns()` replaces the ones before.
            pub columns: Last<Vec<String>> = "columns" or (Last::default());
            /// `delimiters("…")` or `delimiters(chars("…") strings("…" ...))`, as written.
            pub delimiters: Located<Value> = "delimiters";
            pub quotes: Located<String> = "quotes";
            pub quote_pairs: Located<String> = "quote-pairs";
            pub null: String = "null";
            /// Accepted by 3.38's grammar, which hands the scanner no valid dialect for it.
            pub dialect: Located<Value> = "dialect";
            /// Each `flags()` replaces the scanner flags before it.
            pub flags: Located<Last<Flags>> = "flags";
            pub prefix: String = "prefix";
            pub drop_invalid: Located<bool> = "drop-invalid";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// The matcher of `regexp-parser()` and `subst()`: `type()` (default `pcre`) and `flags()`.
    pub struct MatcherOptions {
        driver {
            pub kind: String = "type";
            pub flags: Located<Flags> = "flags";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// `regexp-parser()`, besides its [`MatcherOptions`].
    pub struct RegexpParserOptions {
        driver {
            /// Each `patterns()` replaces the ones before.
            pub patterns: Last<Vec<String>> = "patterns" or (Last::default());
            pub prefix: String = "prefix";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// `syslog-parser()`: the message-format flags and options of syslog-ng's `msg_format_option`.
    pub struct SyslogParserOptions {
        driver {
            pub flags: Located<Flags> = "flags";
            pub drop_invalid: bool = "drop-invalid" or (false);
            pub time_zone: Located<String> = "time-zone";
            pub default_priority: Located<String> = "default-priority";
            pub default_facility: Located<String> = "default-facility";
        }
        inherited {}
        global {
            /// The zone of timestamps without one, where the parser sets none.
            pub recv_time_zone: Located<String> = "recv-time-zone";
            pub bad_hostname: Located<String> = "bad-hostname";
        }
    }
}

typed_options! {
    /// `date-parser()`.
    pub struct DateParserOptions {
        driver {
            /// strptime-like formats, tried in order; each `format()` replaces the ones before.
            pub format: Last<Vec<String>> = "format";
            pub time_zone: Located<String> = "time-zone";
            pub time_stamp: Located<String> = "time-stamp";
            pub flags: Flags = "flags" or (Flags::default());
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// `db-parser()`; `template()` and `message-template()` name the same thing, the later one
    /// written wins.
    pub struct DbParserOptions {
        driver {
            pub file: String = "file";
            pub drop_unmatched: bool = "drop-unmatched" or (false);
            pub inject_mode: Located<String> = "inject-mode";
            /// Only names the parser's state across reloads, which rsng keeps per configuration
            /// anyway.
            pub persist_name: String = "persist-name";
            pub program_template: String = "program-template";
            pub message_template: Located<String> = "message-template";
            pub template: Located<String> = "template";
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// What every rewrite rule takes: the name-value pair it changes and its `condition()`.
    pub struct RewriteOptions {
        driver {
            /// Default `MESSAGE`; a leading `$` is dropped, as syslog-ng does (with a warning).
            pub value: String = "value";
            pub condition: Value = "condition";
            /// The glob patterns of `groupset()` and `groupunset()`.
            pub values: Vec<String> = "values" or (Vec::new());
        }
        inherited {}
        global {}
    }
}

typed_options! {
    /// The template options of `set()` and `set-matches()`, the driver's else the global ones;
    /// parsers and the other rules take the global ones alone ([`FormatSettings::read_globals`]).
    /// `time-zone()` and `send-time-zone()` set one thing: the later one written wins.
    pub struct FormatSettings {
        driver {
            pub time_zone: Located<String> = "time-zone";
            pub send_time_zone: Located<String> = "send-time-zone";
        }
        inherited {
            pub ts_format: String = "ts-format";
            pub frac_digits: i64 = "frac-digits";
            pub on_error: String = "on-error";
        }
        global {
            pub global_time_zone: Located<String> = "time-zone";
            pub global_send_time_zone: Located<String> = "send-time-zone";
            /// The zone of `LTZ_LOCAL` dates (parsers' templates); only the global one applies.
            pub local_time_zone: Located<String> = "local-time-zone";
        }
    }
}
