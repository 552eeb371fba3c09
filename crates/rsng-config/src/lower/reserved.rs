//! Keyword reservation: syslog-ng's lexer turns a word that names a keyword of any active
//! keyword table into that keyword, so it cannot stand as an unquoted string
//! (`program(internal)`, `source yes {}`, `ip(port)` inside `network()`).

use super::Lowerer;
use crate::diagnostic::codes;
use crate::schema::{same_name, Kind, OptionSpec};
use crate::syntax::ast;

/// The keywords of syslog-ng 3.38's main table, reserved in every context.
const MAIN_KEYWORDS: &[&str] = &[
    "source",
    "filter",
    "parser",
    "rewrite",
    "destination",
    "log",
    "junction",
    "channel",
    "options",
    "include",
    "block",
    "if",
    "else",
    "elif",
    "internal",
    "value_pairs",
    "exclude",
    "pair",
    "key",
    "scope",
    "rekey",
    "shift",
    "shift_levels",
    "add_prefix",
    "replace",
    "replace_prefix",
    "cast",
    "flags",
    "pad_size",
    "truncate_size",
    "mark_freq",
    "mark",
    "mark_mode",
    "stats_freq",
    "stats_lifetime",
    "stats_level",
    "stats",
    "stats_max_dynamics",
    "min_iw_size_per_reader",
    "flush_lines",
    "flush_timeout",
    "suppress",
    "sync_freq",
    "sync",
    "long_hostnames",
    "chain_hostnames",
    "normalize_hostnames",
    "keep_hostname",
    "check_hostname",
    "bad_hostname",
    "custom_domain",
    "keep_timestamp",
    "encoding",
    "ts_format",
    "frac_digits",
    "time_zone",
    "recv_time_zone",
    "send_time_zone",
    "local_time_zone",
    "format",
    "use_time_recvd",
    "use_fqdn",
    "use_dns",
    "time_reopen",
    "time_reap",
    "time_sleep",
    "file_template",
    "proto_template",
    "default_level",
    "default_priority",
    "default_severity",
    "default_facility",
    "threaded",
    "use_rcptid",
    "use_uniqid",
    "log_fifo_size",
    "log_fetch_limit",
    "log_iw_size",
    "log_msg_size",
    "trim_large_messages",
    "log_prefix",
    "program_override",
    "host_override",
    "throttle",
    "create_dirs",
    "optional",
    "owner",
    "group",
    "perm",
    "dir_owner",
    "dir_group",
    "dir_perm",
    "template",
    "template_escape",
    "template_function",
    "on_error",
    "persist_only",
    "dns_cache_hosts",
    "dns_cache",
    "dns_cache_size",
    "dns_cache_expire",
    "dns_cache_expire_failed",
    "pass_unix_credentials",
    "persist_name",
    "retries",
    "workers",
    "batch_lines",
    "batch_timeout",
    "read_old_records",
    "use_syslogng_pid",
    "fetch_no_data_delay",
    "type",
    "tags",
    "yes",
    "on",
    "no",
    "off",
    "condition",
    "value",
];

/// Whether `word` is a keyword of syslog-ng's main table.
pub fn is_main_keyword(word: &str) -> bool {
    MAIN_KEYWORDS.iter().any(|k| same_name(k, word))
}

/// Whether `word` is a keyword of the main table or of the driver whose options are `driver`.
pub fn is_reserved(word: &str, driver: &[&'static [OptionSpec]]) -> bool {
    if MAIN_KEYWORDS.iter().any(|k| same_name(k, word)) {
        return true;
    }
    driver.iter().flat_map(|set| set.iter()).any(|o| {
        same_name(o.name, word)
            || o.aliases.iter().any(|a| same_name(a, word))
            || matches!(o.kind, Kind::Nested(inner) if inner.iter().any(|i| same_name(i.name, word)))
    })
}

impl Lowerer<'_> {
    /// Reports an unquoted reserved word used as a string; returns whether it was one.
    pub(crate) fn reject_reserved(&mut self, text: &ast::Text) -> bool {
        if text.quoted || !is_reserved(&text.value, self.keywords) {
            return false;
        }
        let d = self
            .error_at(
                codes::SYNTAX,
                format!("syntax error, unexpected keyword `{}`", text.value),
                text.span.clone(),
                "a keyword cannot stand as a plain word here",
            )
            .help(format!("quote it: \"{}\"", text.value));
        self.push(d);
        true
    }
}
