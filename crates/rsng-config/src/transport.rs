//! What `transport()` means for each IP driver, decided in one place for `--syntax-only` and for
//! start-up, so that a configuration the check accepts is never refused when rsng starts.
//!
//! Follows the transport mappers of syslog-ng 3.38 (`modules/afsocket/transport-mapper-inet.c`)
//! and, under `@version: 4.x`, AxoSyslog's, which differ for `syslog()` with the proxied
//! transports (RFC 6587 framing instead of lines) and add `syslog(transport(proxied-tls))`.

/// How a stream is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One message per line.
    Text,
    /// RFC 6587 octet counting.
    OctetCounted,
    /// Either of the two, decided per connection from its first byte (`transport(auto)`).
    Auto,
}

/// Where a PROXY protocol header is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// `proxied-tcp`: at the start of the plain TCP stream.
    Plain,
    /// `proxied-tls`: at the start of the data inside TLS (a proxy that speaks TLS itself).
    InsideTls,
    /// `proxied-tls-passthrough`: in clear text before the TLS handshake (HAProxy `send-proxy`
    /// in TCP mode, AWS NLB).
    BeforeTls,
}

/// The resolved transport of an IP driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpTransport {
    /// UDP (`None` framing) or TCP.
    pub datagram: bool,
    pub tls: bool,
    /// `None` for datagrams.
    pub framing: Option<Framing>,
    pub proxy: Option<Proxy>,
    /// The listening or destination port when none is given.
    pub default_port: u16,
}

/// Decides the transport of IP driver `driver` (`network`, `syslog`, `tcp`, `tcp6`, `udp`,
/// `udp6`) from its `transport()` (as written) and whether it has a `tls()` block.
///
/// # Errors
/// A transport the driver does not have, or one that needs or refuses `tls()`, with syslog-ng's
/// wording where it has one.
pub fn resolve(
    driver: &str,
    source: bool,
    transport: Option<&str>,
    has_tls: bool,
    version4: bool,
) -> Result<IpTransport, String> {
    let name = match driver {
        "tcp" | "tcp6" => "tcp".to_string(),
        "udp" | "udp6" => "udp".to_string(),
        _ => transport.unwrap_or("tcp").to_ascii_lowercase(),
    };
    let syslog = driver == "syslog";
    let octets = Some(Framing::OctetCounted);
    let text = Some(Framing::Text);
    // syslog() frames proxied streams as RFC 6587 only in 4.x; 3.38 reads lines there.
    let proxied_framing = if syslog && version4 { octets } else { text };
    let stream = |framing, tls, proxy, port| IpTransport { datagram: false, tls, framing, proxy, default_port: port };
    // (transport, whether TLS is required, whether tls() is allowed)
    let (t, required, allowed) = match (name.as_str(), syslog) {
        ("udp", _) => {
            let port = 514;
            (IpTransport { datagram: true, tls: false, framing: None, proxy: None, default_port: port }, false, false)
        }
        ("tcp", true) => (stream(octets, false, None, 601), false, false),
        ("tcp", false) => (stream(text, false, None, 514), false, driver != "network"),
        ("tls", true) => (stream(octets, true, None, 6514), true, true),
        ("tls", false) => (stream(text, true, None, 514), true, true),
        ("framed", _) => (stream(octets, false, None, 514), false, true),
        ("text" | "text-with-nuls", _) => (stream(text, false, None, 514), false, true),
        ("auto", _) => (stream(Some(Framing::Auto), false, None, if syslog { 601 } else { 514 }), false, true),
        ("proxied-tcp" | "proxied-tls" | "proxied-tls-passthrough", _) if !source => {
            return Err(format!(
                "transport(\"{name}\") is only for sources: there is no proxied transport to send with"
            ))
        }
        ("proxied-tcp", _) => {
            (stream(proxied_framing, false, Some(Proxy::Plain), port_4x(syslog, version4)), false, false)
        }
        ("proxied-tls", true) if !version4 => {
            return Err(
                "transport(\"proxied-tls\") is not a transport of syslog() in syslog-ng 3.38 (use network(), or \
                 `@version: 4.0` or later)"
                    .to_string(),
            )
        }
        ("proxied-tls", _) => {
            (stream(proxied_framing, true, Some(Proxy::InsideTls), port_4x(syslog, version4)), true, true)
        }
        ("proxied-tls-passthrough", _) => {
            (stream(proxied_framing, true, Some(Proxy::BeforeTls), port_4x(syslog, version4)), true, true)
        }
        (other, _) => return Err(format!("unknown transport(\"{other}\") for `{driver}()`")),
    };
    if required && !has_tls {
        return Err(format!("transport({name}) was specified, but tls() options missing"));
    }
    if has_tls && !allowed {
        return Err(format!(
            "tls() options specified for a transport that doesn't allow TLS encryption; transport='{name}'"
        ));
    }
    // tcp(), tcp6() and the framing transports turn TLS on with a tls() block.
    Ok(IpTransport { tls: t.tls || has_tls, ..t })
}

/// The name AxoSyslog gives a source's transport in `$TRANSPORT` (`rfc6587`, `bsdsyslog+tcp`,
/// `rfc5425+proxied-tls`, ...).
pub fn transport_name(driver: &str, transport: Option<&str>, has_tls: bool) -> String {
    let written = transport.unwrap_or("tcp");
    let lower = written.to_ascii_lowercase();
    match driver {
        "tcp" | "tcp6" if has_tls => "bsdsyslog+tls".to_string(),
        "tcp" | "tcp6" => "bsdsyslog+tcp".to_string(),
        "udp" | "udp6" => "bsdsyslog+udp".to_string(),
        "syslog" => match lower.as_str() {
            "udp" => "rfc5426".to_string(),
            "tcp" => "rfc6587".to_string(),
            "tls" => "rfc5425".to_string(),
            "proxied-tcp" => "rfc6587+proxied-tcp".to_string(),
            "proxied-tls" | "proxied-tls-passthrough" => format!("rfc5425+{lower}"),
            _ => format!("rfc5424+{written}"),
        },
        _ => match lower.as_str() {
            "udp" | "tcp" | "tls" | "proxied-tcp" | "proxied-tls" | "proxied-tls-passthrough" => {
                format!("bsdsyslog+{lower}")
            }
            _ => format!("bsdsyslog+{written}"),
        },
    }
}

/// The default port of a proxied `syslog()` stream: 514 in 3.38 (its catch-all), 601 in 4.x.
fn port_4x(syslog: bool, version4: bool) -> u16 {
    if syslog && version4 {
        601
    } else {
        514
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_transports() {
        let t = resolve("network", true, Some("proxied-tcp"), false, false).unwrap();
        assert_eq!((t.tls, t.framing, t.proxy, t.default_port), (false, Some(Framing::Text), Some(Proxy::Plain), 514));
        let t = resolve("syslog", true, Some("PROXIED-TCP"), false, false).unwrap();
        assert_eq!(t.framing, Some(Framing::Text));
        let t = resolve("syslog", true, Some("proxied-tcp"), false, true).unwrap();
        assert_eq!((t.framing, t.default_port), (Some(Framing::OctetCounted), 601));
        let t = resolve("network", true, Some("proxied-tls"), true, false).unwrap();
        assert_eq!((t.tls, t.proxy), (true, Some(Proxy::InsideTls)));
        let t = resolve("network", true, Some("proxied-tls-passthrough"), true, false).unwrap();
        assert_eq!((t.tls, t.proxy), (true, Some(Proxy::BeforeTls)));
        assert!(resolve("syslog", true, Some("proxied-tls"), true, false).unwrap_err().contains("3.38"));
        assert!(resolve("syslog", true, Some("proxied-tls"), true, true).is_ok());
        assert!(resolve("network", true, Some("proxied-tls"), false, false)
            .unwrap_err()
            .contains("tls() options missing"));
        assert!(resolve("network", true, Some("proxied-tls-passthrough"), false, false).is_err());
        assert!(resolve("network", true, Some("proxied-tcp"), true, false).unwrap_err().contains("doesn't allow TLS"));
        assert!(resolve("network", false, Some("proxied-tcp"), false, false).unwrap_err().contains("only for sources"));
    }

    #[test]
    fn plain_transports() {
        assert!(resolve("udp", true, None, false, false).unwrap().datagram);
        assert!(resolve("tcp", true, None, true, false).unwrap().tls);
        assert!(resolve("network", true, Some("tcp"), true, false).is_err());
        assert!(resolve("syslog", true, Some("tls"), false, false).is_err());
        assert_eq!(resolve("syslog", true, None, false, false).unwrap().default_port, 601);
        assert!(resolve("network", true, Some("framed"), true, false).unwrap().tls);
        assert!(resolve("network", true, Some("nope"), false, false).unwrap_err().starts_with("unknown transport"));
    }
}
