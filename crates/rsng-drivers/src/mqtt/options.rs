//! Reading `mqtt()`'s options into [`Settings`], with syslog-ng 3.38's defaults: address
//! `tcp://localhost:1883`, `qos(0)`, `keepalive(60)`, `retries(3)`, `time-reopen(60)`, client id
//! `syslog-ng-destination-TOPIC`. An `ssl://` address connects with TLS, set up by the `tls()`
//! block ([`tls_context`]).

use std::time::Duration;

use rsng_config::ir::{OptionValue, Value};
use rsng_transport::tls::{Side, TlsContext};

use crate::internal;
use crate::options::{as_bool, as_str, Options};
use crate::{BuildContext, DriverError};

pub const DEFAULT_ADDRESS: &str = "tcp://localhost:1883";
const DEFAULT_PORT: u16 = 1883;
/// The port of `ssl://` addresses without one (the MQTT over TLS port).
const DEFAULT_TLS_PORT: u16 = 8883;
/// `ssl-version()` values of 3.38's `mqtt()`: the lowest protocol version accepted.
const SSL_VERSIONS: &[&str] = &["default", "tlsv1_0", "tlsv1_1", "tlsv1_2"];

crate::typed_options! {
    /// What the `mqtt()` source and destination both read, with syslog-ng 3.38's defaults.
    pub struct MqttClientOptions {
        driver {
            /// The destination's topic template, or the source's topic filter.
            pub topic: String = "topic";
            pub address: String = "address" or (DEFAULT_ADDRESS.to_string());
            pub qos: i64 = "qos" or (0);
            pub client_id: String = "client-id";
            pub username: String = "username";
            pub password: String = "password";
            /// Seconds between pings.
            pub keepalive: u64 = "keepalive" if (|&n| n > 0) or (60);
            /// Taken whole by [`tls_context`].
            pub tls: Value = "tls";
            /// Names the destination's stats row instead of the address and topic.
            pub persist_name: String = "persist-name";
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// What only the `mqtt()` destination reads.
    pub struct MqttDestinationOptions {
        driver {
            /// The topic used when the `topic()` template gives an invalid name.
            pub fallback_topic: String = "fallback-topic";
            /// The payload: a template's name or text.
            pub template: String = "template";
            pub retries: u32 = "retries" if (|&n| n > 0) or (3);
        }
        inherited {
            /// Seconds to wait before connecting again after an error.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

crate::typed_options! {
    /// What only the `mqtt()` source reads (besides [`crate::receive::ReaderOptions`]).
    pub struct MqttSourceOptions {
        driver {
            /// Default no, as in 3.38: the broker keeps the subscription and what arrives while
            /// rsng is away.
            pub cleansession: bool = "cleansession" or (false);
            /// Messages in the pipeline at most, under flow control.
            pub log_iw_size: usize = "log-iw-size" if (|&n| n > 0) or (100);
        }
        inherited {}
        global {}
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `ssl://`: the connection goes over TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub qos: u8,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub keepalive: Duration,
    /// Sources: `cleansession()` (default no, as in 3.38: the broker keeps the subscription and
    /// what arrives while rsng is away). Destinations always start clean.
    pub clean_session: bool,
    pub fallback_topic: Option<String>,
    pub retries: u32,
    pub time_reopen: Duration,
}

/// Reads a destination's settings, with its typed options; the templates are compiled by the
/// builder.
///
/// # Errors
/// No `topic()`, an address that is not `SCHEME://HOST[:PORT]` or whose scheme rsng does not
/// speak, a `qos()` above 2, an empty `client-id()`.
pub fn read(opts: &Options<'_>) -> Result<(Settings, MqttClientOptions, MqttDestinationOptions), DriverError> {
    let client = MqttClientOptions::read(opts);
    let dest = MqttDestinationOptions::read(opts);
    let settings = settings(opts, &client, "destination", false, dest.fallback_topic.clone(), dest.retries)?;
    let settings = Settings { time_reopen: Duration::from_secs(dest.time_reopen), ..settings };
    Ok((settings, client, dest))
}

/// The settings of an `mqtt()` source, with the options only the source reads.
///
/// # Errors
/// As [`read`].
pub fn read_source(opts: &Options<'_>) -> Result<(Settings, MqttClientOptions, MqttSourceOptions), DriverError> {
    let client = MqttClientOptions::read(opts);
    let source = MqttSourceOptions::read(opts);
    let settings = settings(opts, &client, "source", source.cleansession, None, 3)?;
    Ok((settings, client, source))
}

/// The settings of an `mqtt()` source or destination (`role`): the client ids differ.
fn settings(
    opts: &Options<'_>,
    o: &MqttClientOptions,
    role: &str,
    clean_session: bool,
    fallback_topic: Option<String>,
    retries: u32,
) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let Some(topic) = &o.topic else {
        let what = if role == "source" { "source" } else { "destinations" };
        return Err(err(format!("mqtt: the topic() argument is required for mqtt {what}")));
    };
    let (tls, host, port) = parse_address(&o.address).map_err(err)?;
    let qos = match o.qos {
        q @ 0..=2 => q as u8,
        q => return Err(err(format!("Allowed QOS values: 0, 1, 2; qos='{q}'"))),
    };
    let client_id = match o.client_id.as_deref() {
        Some("") => return Err(err("mqtt: client_id can't be empty".into())),
        Some(id) => id.to_string(),
        None => format!("syslog-ng-{role}-{topic}"),
    };
    Ok(Settings {
        tls,
        host,
        port,
        qos,
        client_id,
        username: o.username.clone(),
        password: o.password.clone(),
        keepalive: Duration::from_secs(o.keepalive),
        clean_session: role != "source" || clean_session,
        fallback_topic,
        retries,
        time_reopen: Duration::from_secs(60),
    })
}

/// `tcp://HOST[:PORT]` or `ssl://HOST[:PORT]` into whether TLS is on, host and port. syslog-ng
/// also takes `ws://` and `wss://` (MQTT over WebSocket); rsng refuses them rather than connect
/// differently than asked.
fn parse_address(address: &str) -> Result<(bool, String, u16), String> {
    let Some((scheme, rest)) = address.split_once("://") else {
        return Err(format!("Invalid address; address='{address}', expected tcp://HOST:PORT"));
    };
    let tls = match scheme {
        "tcp" => false,
        "ssl" => true,
        "ws" | "wss" => {
            return Err(format!(
                "rsng's mqtt() does not speak MQTT over WebSocket (ws://, wss://), only tcp:// and ssl://; \
                 address='{address}'"
            ))
        }
        _ => return Err(format!("Invalid address; address='{address}', expected tcp://HOST:PORT")),
    };
    let rest = rest.trim_end_matches('/');
    // `[v6]:port`, `host:port` or a bare host.
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| format!("Invalid address; address='{address}'"))?;
        (h, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(format!("Invalid address; address='{address}', the host is missing"));
    }
    let port = match port {
        None if tls => DEFAULT_TLS_PORT,
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("Invalid address; address='{address}', bad port '{p}'"))?,
    };
    Ok((tls, host.to_string(), port))
}

/// The TLS context of an `ssl://` address, from the `tls()` block (`ca-file()`, `ca-dir()`,
/// `cert-file()`, `key-file()`, `cipher-suite()`, `ssl-version()`, `peer-verify()`,
/// `use-system-cert-store()`). As in syslog-ng, `peer-verify(yes)` (the default) checks the
/// broker's chain and its name against the address's host, and only `ca-file()`/`ca-dir()` are
/// trusted unless `use-system-cert-store(yes)`. A `tcp://` address ignores `tls()`: a warning
/// says so.
///
/// # Errors
/// An `ssl-version()` 3.38 does not know, a value the `tls()` block cannot honour, a context
/// OpenSSL refuses (unreadable key, bad cipher list).
pub fn tls_context(
    opts: &Options<'_>,
    client: &MqttClientOptions,
    tls: bool,
    ctx: &BuildContext,
) -> Result<Option<TlsContext>, DriverError> {
    let items: &[OptionValue] = match &client.tls {
        Some(Value::Group(items)) => items,
        _ => &[],
    };
    // The block's place, for the messages about it.
    let block = opts.driver.options.iter().rev().find(|o| o.name == "tls");
    let location = (ctx.locate)(block.map_or(opts.span(), |o| &o.span));
    if !tls {
        if client.tls.is_some() {
            internal::warning(format!(
                "mqtt: tls() has no effect with a tcp:// address, the connection goes without TLS; use ssl:// \
                 to encrypt it; location='{location}'"
            ));
        }
        return Ok(None);
    }
    let mut system_ca_store = false;
    let mut rest = Vec::with_capacity(items.len());
    for item in items {
        match item.name {
            "use-system-cert-store" => system_ca_store = as_bool(&item.value).unwrap_or(false),
            "ssl-version" => {
                let name = as_str(&item.value).unwrap_or_default();
                let known = name.to_ascii_lowercase();
                if !SSL_VERSIONS.contains(&known.as_str()) {
                    return Err(DriverError::new(
                        format!("mqtt: unsupported SSL version: {name}; expected one of {}", SSL_VERSIONS.join(", ")),
                        &item.span,
                    ));
                }
                if known != "default" {
                    rest.push(item.clone());
                }
            }
            _ => rest.push(item.clone()),
        }
    }
    let mut config = crate::socket::tls::read_config(&rest, location)?;
    config.system_ca_store = system_ca_store;
    let log = crate::socket::tls::log_sink();
    let context =
        TlsContext::new(&config, Side::Client, log).map_err(|e| DriverError { message: e.to_string(), span: None })?;
    Ok(Some(context))
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("tcp://localhost:1883"), Ok((false, "localhost".into(), 1883)));
        assert_eq!(parse_address("tcp://10.0.0.1"), Ok((false, "10.0.0.1".into(), 1883)));
        assert_eq!(parse_address("tcp://[::1]:2000"), Ok((false, "::1".into(), 2000)));
        assert_eq!(parse_address("ssl://broker.example"), Ok((true, "broker.example".into(), 8883)));
        assert_eq!(parse_address("ssl://127.0.0.1:8884"), Ok((true, "127.0.0.1".into(), 8884)));
        assert!(parse_address("localhost:1883").is_err());
        assert!(parse_address("tcp://host:0").is_err());
        assert!(parse_address("tcp://host:x").is_err());
        assert!(parse_address("wss://host:8883").unwrap_err().contains("WebSocket"));
        assert!(parse_address("udp://host:1").unwrap_err().contains("Invalid address"));
    }
}
