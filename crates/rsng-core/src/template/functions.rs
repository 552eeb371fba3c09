//! The template functions built into syslog-ng 3.38 (modules basicfuncs,
//! json, cryptofuncs and getent) and how each one treats its arguments.

macro_rules! builtins {
    ($($variant:ident => $name:literal => $shape:ident,)*) => {
        /// A template function built into syslog-ng 3.38.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BuiltinFunction {
            $(
                #[doc = concat!("`$(", $name, ")`")]
                $variant,
            )*
        }

        impl BuiltinFunction {
            /// Every built-in function, in syslog-ng's registration order.
            pub const ALL: &'static [BuiltinFunction] = &[$(BuiltinFunction::$variant,)*];

            /// The canonical name (hyphenated, e.g. `format-json`).
            pub fn name(self) -> &'static str {
                match self {
                    $(BuiltinFunction::$variant => $name,)*
                }
            }

            pub(super) fn shape(self) -> Shape {
                match self {
                    $(BuiltinFunction::$variant => Shape::$shape,)*
                }
            }
        }
    };
}

builtins! {
    Grep => "grep" => Grep,
    If => "if" => If,
    Or => "or" => Simple,
    ContextLookup => "context-lookup" => Grep,
    ContextLength => "context-length" => Ignored,
    ContextValues => "context-values" => Simple,
    Echo => "echo" => Simple,
    Length => "length" => Simple,
    Substr => "substr" => Simple,
    Strip => "strip" => Simple,
    Sanitize => "sanitize" => Sanitize,
    Lowercase => "lowercase" => Simple,
    Uppercase => "uppercase" => Simple,
    ReplaceDelimiter => "replace-delimiter" => Simple,
    Padding => "padding" => Padding,
    Binary => "binary" => Binary,
    Implode => "implode" => Simple,
    Explode => "explode" => Simple,
    Values => "values" => ValuePairs,
    Names => "names" => ValuePairs,
    Dirname => "dirname" => Simple,
    Basename => "basename" => Simple,
    ListConcat => "list-concat" => Simple,
    ListHead => "list-head" => Simple,
    ListNth => "list-nth" => Simple,
    ListTail => "list-tail" => Simple,
    ListSlice => "list-slice" => Simple,
    ListCount => "list-count" => Simple,
    ListAppend => "list-append" => Simple,
    ListSearch => "list-search" => ListSearch,
    Plus => "+" => Simple,
    Minus => "-" => Simple,
    Multiply => "*" => Simple,
    Divide => "/" => Simple,
    Modulo => "%" => Simple,
    Sum => "sum" => ExactlyOne,
    Min => "min" => ExactlyOne,
    Max => "max" => ExactlyOne,
    Average => "average" => ExactlyOne,
    Round => "round" => Simple,
    Ceil => "ceil" => Simple,
    Floor => "floor" => Simple,
    Ipv4ToInt => "ipv4-to-int" => Simple,
    IndentMultiLine => "indent-multi-line" => Simple,
    DnsResolveIp => "dns-resolve-ip" => DnsResolveIp,
    Env => "env" => Simple,
    Template => "template" => Template,
    UrlEncode => "url-encode" => Simple,
    UrlDecode => "url-decode" => Simple,
    Base64Encode => "base64-encode" => Simple,
    Iterate => "iterate" => Iterate,
    Map => "map" => Map,
    Filter => "filter" => Filter,
    FormatJson => "format-json" => FormatJson,
    FormatFlatJson => "format-flat-json" => FormatJson,
    FormatWelf => "format-welf" => FormatJson,
    FormatCefExtension => "format-cef-extension" => FormatJson,
    GraphiteOutput => "graphite-output" => Graphite,
    Uuid => "uuid" => Simple,
    Hash => "hash" => Hash,
    Sha1 => "sha1" => Hash,
    Sha256 => "sha256" => Hash,
    Sha512 => "sha512" => Hash,
    Md4 => "md4" => Hash,
    Md5 => "md5" => Hash,
    Getent => "getent" => Simple,
    Slog => "slog" => Slog,
}

impl BuiltinFunction {
    /// Looks a function up the way syslog-ng finds plugins:
    /// case-sensitively, with `-` and `_` interchangeable position by
    /// position (`format_json` = `format-json`; even `_` = `-`).
    pub fn lookup(name: &str) -> Option<BuiltinFunction> {
        BuiltinFunction::ALL.iter().copied().find(|f| plugin_name_eq(f.name(), name))
    }
}

/// syslog-ng's plugin name comparison (`_find_plugin_in_list`).
fn plugin_name_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
}

/// How a function's `prepare` in syslog-ng 3.38 treats its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `tf_simple_func_prepare`: every argument is a template.
    Simple,
    /// `sum`, `min`, `max`, `average`: exactly one template.
    ExactlyOne,
    /// `context-length`: arguments ignored (not compiled).
    Ignored,
    /// `grep`, `context-lookup`: `[-m N] FILTER TEMPLATE...`.
    Grep,
    /// `if`: `FILTER THEN ELSE`.
    If,
    /// `filter`: `FILTER LIST`.
    Filter,
    /// `map`: `TEMPLATE LIST`.
    Map,
    /// `iterate`: `TEMPLATE INITIAL` (initial value not a template).
    Iterate,
    /// `sanitize`: options, then templates.
    Sanitize,
    /// `padding`: `TEMPLATE WIDTH [PATTERN]`, only the first compiled.
    Padding,
    /// `binary`: one or more numbers (compiled as templates, like 3.38).
    Binary,
    /// `list-search`: options, `PATTERN LIST`, all templates.
    ListSearch,
    /// `hash` and the digest aliases: `[--length N] TEMPLATE...`.
    Hash,
    /// `dns-resolve-ip`: options, at most one template.
    DnsResolveIp,
    /// `values`, `names`: value-pairs command line.
    ValuePairs,
    /// `format-json`, `format-flat-json`: value-pairs plus JSON options.
    FormatJson,
    /// `slog`: `--key-file FILE --mac-file FILE TEMPLATE...` (module secure-logging).
    Slog,
    /// `graphite-output`: `--timestamp TEMPLATE`, then value-pairs.
    Graphite,
    /// `template`: `NAME` bound statically, or dynamically if it has `$`.
    Template,
}

/// One GLib option of a function.
#[derive(Debug)]
pub(super) struct OptSpec {
    pub long: &'static str,
    pub short: Option<u8>,
    pub takes_value: bool,
}

const fn opt(long: &'static str, short: u8, takes_value: bool) -> OptSpec {
    OptSpec { long, short: if short == 0 { None } else { Some(short) }, takes_value }
}

pub(super) const GREP_OPTS: &[OptSpec] = &[opt("max-count", b'm', true)];

pub(super) const SANITIZE_OPTS: &[OptSpec] = &[
    opt("ctrl-chars", b'c', false),
    opt("no-ctrl-chars", b'C', false),
    opt("invalid-chars", b'i', true),
    opt("replacement", b'r', true),
];

pub(super) const LIST_SEARCH_OPTS: &[OptSpec] = &[opt("mode", 0, true), opt("start-index", 0, true)];

/// Modes accepted by `$(list-search --mode ...)`.
pub(super) const LIST_SEARCH_MODES: &[&str] = &["literal", "prefix", "substring", "glob", "pcre"];

pub(super) const HASH_OPTS: &[OptSpec] = &[opt("length", b'l', true)];

pub(super) const DNS_RESOLVE_OPTS: &[OptSpec] = &[
    opt("use-fqdn", b'f', true),
    opt("use-dns", b'd', true),
    opt("dns-cache", b'c', true),
    opt("normalize-hostnames", b'n', true),
];

pub(super) const VALUE_PAIRS_OPTS: &[OptSpec] = &[
    opt("scope", b's', true),
    opt("exclude", b'x', true),
    opt("key", b'k', true),
    opt("rekey", b'r', true),
    opt("pair", b'p', true),
    opt("shift", b'S', true),
    opt("shift-levels", 0, true),
    opt("add-prefix", b'A', true),
    opt("replace-prefix", b'R', true),
    opt("replace", 0, true),
    opt("subkeys", 0, true),
    opt("omit-empty-values", 0, false),
    opt("cast", 0, false),
    opt("no-cast", 0, false),
    opt("auto-cast", 0, false),
];

pub(super) const SLOG_OPTS: &[OptSpec] = &[opt("key-file", b'k', true), opt("mac-file", b'm', true)];

pub(super) const GRAPHITE_OPTS: &[OptSpec] = &[opt("timestamp", b't', true)];

pub(super) const FORMAT_JSON_OPTS: &[OptSpec] = &[opt("leave-initial-dot", 0, false), opt("key-delimiter", 0, true)];

/// Type hints accepted in value-pairs values (`a=int($PID)`).
pub(super) const TYPE_HINTS: &[&str] =
    &["string", "json", "literal", "boolean", "int32", "int", "int64", "double", "float", "datetime", "list", "null"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_list_is_complete() {
        let names = "grep if or context-lookup context-length context-values echo \
            length substr strip sanitize lowercase uppercase replace-delimiter padding \
            binary implode explode values names dirname basename list-concat list-head \
            list-nth list-tail list-slice list-count list-append list-search + - * / % sum \
            min max average round ceil floor ipv4-to-int indent-multi-line dns-resolve-ip \
            env template url-encode url-decode base64-encode iterate map filter \
            format-json format-flat-json format-welf format-cef-extension graphite-output uuid hash sha1 sha256 sha512 md4 md5 getent slog";
        let listed: Vec<&str> = names.split_whitespace().collect();
        assert_eq!(listed.len(), BuiltinFunction::ALL.len());
        for name in listed {
            let f = BuiltinFunction::lookup(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(f.name(), name);
        }
    }

    #[test]
    fn lookup_rules() {
        use BuiltinFunction::*;
        assert_eq!(BuiltinFunction::lookup("format_json"), Some(FormatJson));
        assert_eq!(BuiltinFunction::lookup("format-flat_json"), Some(FormatFlatJson));
        assert_eq!(BuiltinFunction::lookup("list_concat"), Some(ListConcat));
        assert_eq!(BuiltinFunction::lookup("_"), Some(Minus));
        assert_eq!(BuiltinFunction::lookup("FORMAT-JSON"), None);
        assert_eq!(BuiltinFunction::lookup("Echo"), None);
        assert_eq!(BuiltinFunction::lookup("base64-decode"), None);
        assert_eq!(BuiltinFunction::lookup(""), None);
        assert_eq!(BuiltinFunction::lookup("echo "), None);
        assert_eq!(BuiltinFunction::lookup("slug"), None);
    }
}
