//! The `tls()` block of the socket drivers: reading it from the configuration into a
//! [`TlsConfig`] and building the [`TlsContext`] at start-up, with rsng's internal log as the
//! place its messages go.

use std::path::PathBuf;
use std::sync::Arc;

use rsng_config::ir::{OptionValue, Value};
use rsng_transport::tls::{
    ssl_version_from_name, CipherSuite, LogSink, PeerVerify, Severity, Side, SslOption, TlsConfig, TlsContext,
};

use crate::internal::{self, Level};
use crate::options::{as_bool, as_int, as_str, Options};
use crate::{BuildContext, DriverError};

/// How long a TLS 1.3 destination waits after its handshake for the server to refuse its
/// certificate, before sending messages (see [`rsng_transport::tls::TlsStream::await_verdict`]).
pub const VERDICT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a PROXY protocol header may take before the connection is dropped (the TLS
/// handshake's limit is the block's `handshake-timeout()`).
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// TLS messages go to rsng's internal log, at syslog-ng's levels.
pub fn log_sink() -> LogSink {
    Arc::new(|severity, text| {
        let level = match severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
            Severity::Notice => Level::Notice,
            Severity::Info => Level::Info,
            Severity::Debug => Level::Debug,
        };
        internal::emit(level, text);
    })
}

/// Builds the TLS context of a driver with a `tls()` block (`None` without one).
///
/// # Errors
/// A value rsng cannot honour, or a context OpenSSL refuses (unreadable key, bad cipher list).
pub fn context(opts: &Options<'_>, side: Side, ctx: &BuildContext) -> Result<Option<TlsContext>, DriverError> {
    let Some(option) = opts.driver.options.iter().rev().find(|o| o.name == "tls") else { return Ok(None) };
    let location = (ctx.locate)(&option.span);
    let Value::Group(items) = &option.value else {
        return Err(unplaced(format!("invalid tls() block; location='{location}'")));
    };
    let mut config = read_config(items, location)?;
    // 4.x reads fingerprints of any digest; 3.38 configurations keep SHA-1 only.
    config.any_digest = opts.globals.version4;
    for entry in config.trusted_keys.iter().chain(&config.trusted_fingerprints) {
        if config.any_digest && rsng_transport::tls::peer_verification::entry_digest(entry).is_none() {
            internal::warning(format!(
                "Unknown digest algorithm specified in trusted-keys()/trusted-fingerprints() entry, it matches no \
                 certificate; entry='{entry}', location='{}'",
                config.location
            ));
        }
    }
    TlsContext::new(&config, side, log_sink()).map(Some).map_err(|e| unplaced(e.to_string()))
}

/// The name a source's handshake failures are counted under: the first three fields of a
/// `syslog-ng-ctl stats` row, `src.network;s_tls;afsocket_sd.(stream,AF_INET(0.0.0.0:6514))`.
pub fn source_instance(driver: &str, object: &str, addr: &std::net::SocketAddr) -> String {
    format!("src.{driver};{object};afsocket_sd.(stream,{})", super::source::af_name(addr))
}

/// The name a destination's handshake failures are counted under:
/// `dst.syslog;d_tls;afsocket_dd.(stream,logs.example.com:6514)`.
pub fn destination_instance(driver: &str, object: &str, host: &str, port: u16) -> String {
    format!("dst.{driver};{object};afsocket_dd.(stream,{host}:{port})")
}

/// A start-up error whose text already carries `location=`.
fn unplaced(message: String) -> DriverError {
    DriverError { message, span: None }
}

fn path(v: &Value) -> Option<PathBuf> {
    as_str(v).filter(|s| !s.is_empty()).map(PathBuf::from)
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Str(s) | Value::Raw(s) => out.push(s.clone()),
        Value::Int(n) => out.push(n.to_string()),
        _ => {}
    }
}

/// Reads the options of a `tls()` block. `location` is where the block stands.
///
/// # Errors
/// A value rsng cannot honour (each is an error, never ignored).
pub fn read_config(items: &[OptionValue], location: String) -> Result<TlsConfig, DriverError> {
    let mut c = TlsConfig { location: location.clone(), ..TlsConfig::default() };
    let bad = |option: &str, value: &str| {
        unplaced(format!("invalid value in tls(); option='{option}', value='{value}', location='{location}'"))
    };
    for item in items {
        let v = &item.value;
        let text = || as_str(v).map(String::from).unwrap_or_else(|| format!("{v:?}"));
        match item.name {
            "peer-verify" => {
                let name = match v {
                    Value::Int(n) => n.to_string(),
                    Value::Bool(b) => (if *b { "yes" } else { "no" }).to_string(),
                    _ => text(),
                };
                c.peer_verify = PeerVerify::from_name(&name).ok_or_else(|| bad(item.name, &name))?;
            }
            "key-file" => c.key_file = path(v),
            "cert-file" => c.cert_file = path(v),
            "ca-file" => c.ca_file = path(v),
            "ca-dir" => c.ca_dir = path(v),
            "crl-dir" => c.crl_dir = path(v),
            "dhparam-file" => c.dhparam_file = path(v),
            "pkcs12-file" => c.pkcs12_file = path(v),
            "keylog-file" => c.keylog_file = path(v),
            "trusted-keys" => strings(v, &mut c.trusted_keys),
            "trusted-fingerprints" => strings(v, &mut c.trusted_fingerprints),
            "extended-key-usage-verify" => {
                c.extended_key_usage_verify = yes(v).ok_or_else(|| bad(item.name, &text()))?
            }
            "ssl-version" => {
                let name = text();
                c.min_version = Some(ssl_version_from_name(&name).ok_or_else(|| bad(item.name, &name))?);
            }
            "trusted-dn" => strings(v, &mut c.trusted_dn),
            "cipher-suite" => {
                let raw = text();
                c.cipher_suite = parse_cipher_suite(&raw).ok_or_else(|| bad(item.name, &raw))?;
            }
            "sigalgs" => c.sigalgs = as_str(v).map(String::from),
            "client-sigalgs" => c.client_sigalgs = as_str(v).map(String::from),
            "ecdh-curve-list" | "curve-list" => c.ecdh_curve_list = as_str(v).map(String::from),
            "ssl-options" => {
                let mut words = Vec::new();
                strings(v, &mut words);
                let mut list = Vec::new();
                for w in words.iter().flat_map(|w| w.split([' ', ','])).filter(|w| !w.is_empty()) {
                    list.push(SslOption::from_name(w).ok_or_else(|| bad(item.name, w))?);
                }
                c.ssl_options = list;
            }
            "allow-compress" => c.allow_compress = yes(v).ok_or_else(|| bad(item.name, &text()))?,
            "sni" => c.sni = yes(v).ok_or_else(|| bad(item.name, &text()))?,
            "ocsp-stapling-verify" => c.ocsp_stapling_verify = yes(v).ok_or_else(|| bad(item.name, &text()))?,
            // rsng extensions.
            "expiry-warning-days" => {
                let n = as_int(v).filter(|n| (0..=u32::MAX as i64).contains(n));
                c.expiry_warning_days = n.ok_or_else(|| bad(item.name, &text()))? as u32;
            }
            "handshake-timeout" => {
                let n = as_int(v).filter(|&n| n > 0);
                c.handshake_timeout = std::time::Duration::from_secs(n.ok_or_else(|| bad(item.name, &text()))? as u64);
            }
            "permitted-peers" => strings(v, &mut c.permitted_peers),
            "openssl-conf-cmds" => {
                let raw = text();
                c.openssl_conf_cmds = parse_conf_cmds(&raw).ok_or_else(|| bad(item.name, &raw))?;
            }
            other => {
                return Err(unplaced(format!(
                    "tls() option not supported by rsng; option='{other}', location='{location}'"
                )))
            }
        }
    }
    Ok(c)
}

fn yes(v: &Value) -> Option<bool> {
    as_bool(v).or_else(|| as_int(v).map(|n| n != 0))
}

/// One token of a raw option argument.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Arrow,
}

/// Splits the arguments of `cipher-suite()` or `openssl-conf-cmds()` as syslog-ng's lexer would:
/// strings in double quotes (with backslash escapes) or single quotes (literal), bare words,
/// parentheses and `=>`; commas are whitespace.
fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() || c == ',' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            other => s.push(other),
                        },
                        other => s.push(other),
                    }
                }
                out.push(Token::Str(s));
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => s.push(other),
                    }
                }
                out.push(Token::Str(s));
            }
            '=' if chars.clone().nth(1) == Some('>') => {
                chars.next();
                chars.next();
                out.push(Token::Arrow);
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace()
                        || matches!(c, ',' | '(' | ')' | '"' | '\'')
                        || (c == '=' && chars.clone().nth(1) == Some('>'))
                    {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    Some(out)
}

/// `cipher-suite("list")` (TLS 1.2 and older only) or
/// `cipher-suite(tls12-and-older("list") tls13("suites"))`.
pub fn parse_cipher_suite(text: &str) -> Option<CipherSuite> {
    let toks = tokens(text)?;
    let value = |t: &Token| match t {
        Token::Str(s) | Token::Word(s) => Some(s.clone()),
        _ => None,
    };
    match toks.as_slice() {
        [single] => Some(CipherSuite { tls12_and_older: Some(value(single)?), tls13: None }),
        _ => {
            let mut suite = CipherSuite::default();
            let mut rest = toks.as_slice();
            while !rest.is_empty() {
                let [Token::Word(name), Token::Open, arg, Token::Close, tail @ ..] = rest else { return None };
                let arg = value(arg)?;
                match name.to_ascii_lowercase().replace('_', "-").as_str() {
                    "tls12-and-older" => suite.tls12_and_older = Some(arg),
                    "tls13" => suite.tls13 = Some(arg),
                    _ => return None,
                }
                rest = tail;
            }
            Some(suite)
        }
    }
}

/// `openssl-conf-cmds("Key" => "Value", ...)`.
pub fn parse_conf_cmds(text: &str) -> Option<Vec<(String, String)>> {
    let toks = tokens(text)?;
    let mut out = Vec::new();
    let mut rest = toks.as_slice();
    while !rest.is_empty() {
        let [Token::Str(k) | Token::Word(k), Token::Arrow, Token::Str(v) | Token::Word(v), tail @ ..] = rest else {
            return None;
        };
        out.push((k.clone(), v.clone()));
        rest = tail;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_suite_forms() {
        let plain = parse_cipher_suite("\"ECDHE-RSA-AES128-GCM-SHA256:!aNULL\"").unwrap();
        assert_eq!(plain.tls12_and_older.as_deref(), Some("ECDHE-RSA-AES128-GCM-SHA256:!aNULL"));
        assert_eq!(plain.tls13, None);
        let both = parse_cipher_suite("tls12-and-older(\"AES128-SHA\") tls13(\"TLS_AES_128_GCM_SHA256\")").unwrap();
        assert_eq!(both.tls12_and_older.as_deref(), Some("AES128-SHA"));
        assert_eq!(both.tls13.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        let only13 = parse_cipher_suite("tls13('TLS_AES_256_GCM_SHA384')").unwrap();
        assert_eq!((only13.tls12_and_older, only13.tls13.as_deref()), (None, Some("TLS_AES_256_GCM_SHA384")));
        assert!(parse_cipher_suite("tls14(\"x\")").is_none());
        assert!(parse_cipher_suite("\"unterminated").is_none());
    }

    #[test]
    fn failure_counter_names() {
        let addr: std::net::SocketAddr = "0.0.0.0:6514".parse().unwrap();
        assert_eq!(
            source_instance("network", "s_tls", &addr),
            "src.network;s_tls;afsocket_sd.(stream,AF_INET(0.0.0.0:6514))"
        );
        assert_eq!(
            destination_instance("syslog", "d_tls", "logs.example.com", 6514),
            "dst.syslog;d_tls;afsocket_dd.(stream,logs.example.com:6514)"
        );
    }

    #[test]
    fn conf_cmds() {
        let cmds = parse_conf_cmds("\"MinProtocol\" => \"TLSv1.2\", \"Options\" => \"-SessionTicket\"").unwrap();
        assert_eq!(cmds, vec![("MinProtocol".into(), "TLSv1.2".into()), ("Options".into(), "-SessionTicket".into())]);
        assert!(parse_conf_cmds("\"MinProtocol\"").is_none());
    }
}
