//! Reading `mqtt()`'s options into [`Settings`], with syslog-ng 3.38's defaults: address
//! `tcp://localhost:1883`, `qos(0)`, `keepalive(60)`, `retries(3)`, `time-reopen(60)`, client id
//! `syslog-ng-destination-TOPIC`.

use std::time::Duration;

use crate::options::Options;
use crate::DriverError;

pub const DEFAULT_ADDRESS: &str = "tcp://localhost:1883";
const DEFAULT_PORT: u16 = 1883;

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub qos: u8,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub keepalive: Duration,
    pub fallback_topic: Option<String>,
    pub retries: u32,
    pub time_reopen: Duration,
}

/// Reads the settings; the templates are compiled by the builder.
///
/// # Errors
/// No `topic()`, an address that is not `SCHEME://HOST[:PORT]` or whose scheme rsng does not
/// speak, a `qos()` above 2, an empty `client-id()`.
pub fn read(opts: &Options<'_>) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let Some(topic) = opts.str("topic") else {
        return Err(err("mqtt: the topic() argument is required for mqtt destinations".into()));
    };
    let address = opts.str("address").unwrap_or(DEFAULT_ADDRESS);
    let (host, port) = parse_address(address).map_err(err)?;
    let qos = match opts.int("qos").unwrap_or(0) {
        q @ 0..=2 => q as u8,
        q => return Err(err(format!("Allowed QOS values: 0, 1, 2; qos='{q}'"))),
    };
    let client_id = match opts.str("client-id") {
        Some("") => return Err(err("mqtt: client_id can't be empty".into())),
        Some(id) => id.to_string(),
        None => format!("syslog-ng-destination-{topic}"),
    };
    Ok(Settings {
        host,
        port,
        qos,
        client_id,
        username: opts.str("username").map(String::from),
        password: opts.str("password").map(String::from),
        keepalive: Duration::from_secs(opts.int("keepalive").filter(|&n| n > 0).unwrap_or(60) as u64),
        fallback_topic: opts.str("fallback-topic").map(String::from),
        retries: opts.int("retries").filter(|&n| n > 0).map_or(3, |n| n as u32),
        time_reopen: Duration::from_secs(opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64),
    })
}

/// `tcp://HOST[:PORT]` into host and port. syslog-ng also takes `ssl://`, `ws://` and `wss://`;
/// rsng refuses them rather than connect differently than asked.
fn parse_address(address: &str) -> Result<(String, u16), String> {
    let Some((scheme, rest)) = address.split_once("://") else {
        return Err(format!("Invalid address; address='{address}', expected tcp://HOST:PORT"));
    };
    match scheme {
        "tcp" => {}
        "ssl" | "ws" | "wss" => {
            return Err(format!(
                "rsng's mqtt() speaks MQTT over plain TCP only (tcp://), not {scheme}://; address='{address}'"
            ))
        }
        _ => return Err(format!("Invalid address; address='{address}', expected tcp://HOST:PORT")),
    }
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
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("Invalid address; address='{address}', bad port '{p}'"))?,
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("tcp://localhost:1883"), Ok(("localhost".into(), 1883)));
        assert_eq!(parse_address("tcp://10.0.0.1"), Ok(("10.0.0.1".into(), 1883)));
        assert_eq!(parse_address("tcp://[::1]:2000"), Ok(("::1".into(), 2000)));
        assert!(parse_address("localhost:1883").is_err());
        assert!(parse_address("tcp://host:0").is_err());
        assert!(parse_address("tcp://host:x").is_err());
        assert!(parse_address("ssl://host:8883").unwrap_err().contains("plain TCP only"));
        assert!(parse_address("udp://host:1").unwrap_err().contains("Invalid address"));
    }
}
