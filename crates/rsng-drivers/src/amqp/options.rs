//! Reading `amqp()`'s options into [`Settings`], with syslog-ng 3.38's defaults: broker
//! `127.0.0.1:5672`, vhost `/`, exchange `syslog` of type `fanout` (not declared), persistent
//! messages, PLAIN authentication (which needs `username()` and `password()`), `retries(3)`.
//! TLS is on when `ca-file()` is set ([`tls_context`]).

use std::time::Duration;

use std::path::PathBuf;

use rsng_config::ir::{OptionValue, Value};
use rsng_transport::tls::{PeerVerify, Side, TlsConfig, TlsContext};

use crate::internal;
use crate::options::{as_bool, as_str, Options};
use crate::{BuildContext, DriverError};

/// The TLS options of `amqp()`, accepted both in the driver and inside its `tls()`, read in the
/// order written by [`tls_context`].
pub const TLS_OPTIONS: &[&str] = &["ca-file", "cert-file", "key-file", "peer-verify"];

/// SASL mechanisms of `auth-method()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Plain,
    External,
}

crate::typed_options! {
    /// What `amqp()` reads besides its TLS options, with syslog-ng 3.38's defaults.
    pub struct AmqpOptions {
        driver {
            pub host: String = "host" or ("127.0.0.1".to_string());
            pub port: i64 = "port" or (5672);
            pub vhost: String = "vhost" or ("/".to_string());
            pub exchange: String = "exchange" or ("syslog".to_string());
            pub exchange_type: String = "exchange-type" or ("fanout".to_string());
            pub exchange_declare: bool = "exchange-declare" or (false);
            pub persistent: bool = "persistent" or (true);
            pub auth_method: String = "auth-method";
            pub username: String = "username";
            pub password: String = "password";
            /// librabbitmq's AMQP_DEFAULT_MAX_CHANNELS and AMQP_DEFAULT_FRAME_SIZE.
            pub max_channel: i64 = "max-channel" or (2047);
            pub frame_size: i64 = "frame-size" or (131_072);
            /// Seconds; 0: none.
            pub heartbeat: i64 = "heartbeat" or (0);
            pub retries: u32 = "retries" if (|&n| n > 0) or (3);
            /// Templates.
            pub routing_key: String = "routing-key" or (String::new());
            pub body: String = "body";
            /// The headers sent with each message.
            pub value_pairs: Value = "value-pairs";
            /// Names the stats row instead of the broker and exchange.
            pub persist_name: String = "persist-name";
            /// Taken whole by [`tls_context`].
            pub tls: Value = "tls";
        }
        inherited {
            /// Seconds to wait before connecting again after a failure.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

impl AmqpOptions {
    fn external(&self) -> bool {
        self.auth_method.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("external"))
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub vhost: String,
    pub exchange: String,
    pub exchange_type: String,
    pub exchange_declare: bool,
    /// AMQP delivery mode: 2 persistent, 1 not.
    pub delivery_mode: u8,
    pub auth_method: AuthMethod,
    pub username: String,
    pub password: String,
    pub max_channel: u16,
    pub frame_size: u32,
    /// Heartbeat offered in seconds; 0: none.
    pub heartbeat: u16,
    pub retries: u32,
    pub time_reopen: Duration,
}

/// Reads the settings.
///
/// # Errors
/// PLAIN authentication without `username()` or `password()`.
pub fn read(opts: &Options<'_>, o: &AmqpOptions, driver: &str) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let auth_method = if o.external() { AuthMethod::External } else { AuthMethod::Plain };
    if auth_method == AuthMethod::Plain && (o.username.is_none() || o.password.is_none()) {
        return Err(err(format!(
            "Error initializing AMQP destination: username and password MUST be set!; driver='{driver}'"
        )));
    }
    let clamp16 = |n: i64| n.clamp(0, i64::from(u16::MAX)) as u16;
    Ok(Settings {
        host: o.host.clone(),
        port: clamp16(o.port),
        vhost: o.vhost.clone(),
        exchange: o.exchange.clone(),
        exchange_type: o.exchange_type.clone(),
        exchange_declare: o.exchange_declare,
        delivery_mode: if o.persistent { 2 } else { 1 },
        auth_method,
        username: o.username.clone().unwrap_or_default(),
        password: o.password.clone().unwrap_or_default(),
        max_channel: clamp16(o.max_channel),
        frame_size: o.frame_size.clamp(4096, i64::from(u32::MAX)) as u32,
        heartbeat: clamp16(o.heartbeat),
        retries: o.retries,
        time_reopen: Duration::from_secs(o.time_reopen),
    })
}

/// The TLS context of an `amqp()` with `ca-file()` (`None` without: the connection goes in
/// clear text, as in syslog-ng). `cert-file()` and `key-file()` together give the client
/// certificate; `peer-verify(yes)` (the default) checks the broker's chain against `ca-file()`
/// and its name against `host()`, `peer-verify(no)` checks nothing. Options that have no effect
/// (TLS options without `ca-file()`, a certificate without its key) are warned about.
///
/// # Errors
/// A context OpenSSL refuses (unreadable key, a key that does not match the certificate).
pub fn tls_context(opts: &Options<'_>, o: &AmqpOptions, ctx: &BuildContext) -> Result<Option<TlsContext>, DriverError> {
    for name in TLS_OPTIONS {
        opts.driver.note(name);
    }
    // The last one wins, bare or inside tls(), in the order written.
    let mut chosen: Vec<&OptionValue> = Vec::new();
    for option in &opts.driver.options {
        match (&option.value, option.name) {
            (Value::Group(items), "tls") => chosen.extend(items.iter().filter(|i| TLS_OPTIONS.contains(&i.name))),
            (_, name) if TLS_OPTIONS.contains(&name) => chosen.push(option),
            _ => {}
        }
    }
    let last = |name: &str| chosen.iter().rev().find(|o| o.name == name).copied();
    let path = |name: &str| last(name).and_then(|o| as_str(&o.value)).filter(|p| !p.is_empty()).map(PathBuf::from);
    let location = |o: &OptionValue| (ctx.locate)(&o.span);
    let external = o.external();
    let Some(ca_file) = path("ca-file") else {
        if external {
            internal::warning(format!(
                "amqp: auth-method(external) without ca-file(): the connection goes without TLS, and the broker has \
                 no client certificate to authenticate; location='{}'",
                (ctx.locate)(opts.span())
            ));
        }
        if let Some(first) = chosen.first() {
            internal::warning(format!(
                "amqp: {}() has no effect without ca-file(), the connection goes without TLS; location='{}'",
                first.name,
                location(first)
            ));
        }
        return Ok(None);
    };
    let (cert_file, key_file) = (path("cert-file"), path("key-file"));
    if cert_file.is_some() != key_file.is_some() {
        let given = last(if cert_file.is_some() { "cert-file" } else { "key-file" }).map(location).unwrap_or_default();
        internal::warning(format!(
            "amqp: cert-file() and key-file() take effect together, the client sends no certificate; location='{given}'"
        ));
    }
    let verify = last("peer-verify").and_then(|o| as_bool(&o.value)).unwrap_or(true);
    let both = cert_file.is_some() && key_file.is_some();
    let config = TlsConfig {
        ca_file: Some(ca_file),
        cert_file: cert_file.filter(|_| both),
        key_file: key_file.filter(|_| both),
        peer_verify: if verify { PeerVerify::RequiredTrusted } else { PeerVerify::OptionalUntrusted },
        location: last("ca-file").map(location).unwrap_or_default(),
        ..TlsConfig::default()
    };
    let ca_file = config.ca_file.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
    let context = TlsContext::new(&config, Side::Client, crate::socket::tls::log_sink())
        .map_err(|e| DriverError { message: format!("{e}; ca-file='{ca_file}'"), span: None })?;
    Ok(Some(context))
}

/// The `value-pairs()` options rsng's `amqp()` sends headers by.
pub const VALUE_PAIRS_OPTIONS: &[&str] = &["scope", "key", "exclude", "pair"];

/// The arguments of `$(format-flat-json ...)` that select what `value-pairs()` selects; `None`
/// when it uses what rsng cannot express that way (`rekey()`).
pub fn value_pairs_arguments(group: Option<&[OptionValue]>) -> Result<String, String> {
    let Some(items) = group else {
        return Ok("--scope selected-macros --scope nv-pairs --scope sdata".to_string());
    };
    let mut out = String::new();
    for item in items {
        let text = match &item.value {
            Value::Raw(s) | Value::Str(s) => s.clone(),
            other => as_str(other).unwrap_or_default().to_string(),
        };
        let words = words(&text)?;
        match item.name {
            "scope" | "key" | "exclude" => {
                for w in words {
                    out.push_str(&format!(" --{} {}", item.name, quoted(&w)));
                }
            }
            "pair" => {
                let [name, value] = words.as_slice() else {
                    return Err(format!("pair() takes a name and a template; found '{text}'"));
                };
                out.push_str(&format!(" --pair {}", quoted(&format!("{name}={value}"))));
            }
            other => return Err(format!("value-pairs({other}()) is not supported by rsng's amqp() yet")),
        }
    }
    Ok(out.trim_start().to_string())
}

/// The words and quoted strings of an option's source text (`"a" b, 'c'`; `name => value`).
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let separators = [' ', '\t', '\n', '\r', ','];
    let mut rest = text.trim_start_matches(separators);
    while !rest.is_empty() {
        if rest.starts_with("=>") || rest.starts_with(':') {
            rest = rest.trim_start_matches("=>").trim_start_matches(':').trim_start_matches(separators);
            continue;
        }
        let used = if rest.starts_with('"') {
            let (v, used) = rsng_config::preprocess::pragma::unescape_double(rest)
                .ok_or_else(|| format!("unterminated string: {rest}"))?;
            out.push(v);
            used
        } else if let Some(inner) = rest.strip_prefix('\'') {
            let end = inner.find('\'').ok_or_else(|| format!("unterminated string: {rest}"))?;
            out.push(inner[..end].to_string());
            end + 2
        } else {
            let end = rest.find([' ', '\t', '\n', '\r', ',']).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            end
        };
        rest = rest[used..].trim_start_matches(separators);
    }
    Ok(out)
}

/// `text` as one double-quoted template function argument.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_value_pairs_options() {
        assert_eq!(words(r#""a" b, 'c d'"#).unwrap(), ["a", "b", "c d"]);
        assert_eq!(words(r#""name" => "$HOST""#).unwrap(), ["name", "$HOST"]);
        assert!(words("\"open").is_err());
    }
}
