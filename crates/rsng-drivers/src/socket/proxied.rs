//! Connections of the `proxied-tcp`, `proxied-tls` and `proxied-tls-passthrough` transports:
//! each starts with a PROXY protocol header (v1 or v2) naming the client behind the proxy.
//!
//! As in syslog-ng 3.38, every message of the connection gets `PROXIED_SRCIP`,
//! `PROXIED_SRCPORT`, `PROXIED_DSTIP`, `PROXIED_DSTPORT` and `PROXIED_IP_VERSION`, and a header
//! without addresses (`PROXY UNKNOWN`, v2 `LOCAL`) lets the connection go on without them. Under
//! `@version: 4.x`, as in AxoSyslog, the client's address also becomes the message's sender
//! (`$SOURCEIP`, `$SOURCEPORT`, `$HOST_FROM`) and the address the client connected to its
//! destination (`$DESTIP`, `$DESTPORT`), and a header without addresses ends the connection (it
//! is the proxy's health check). A bad or missing header closes the connection with an error message.

use rsng_config::transport::Proxy;
use rsng_transport::proxy_protocol::{self, Header, Prefixed, Proxied, ReadError};
use rsng_transport::tls::TlsContext;
use tokio::io::{AsyncRead, AsyncWrite};

use super::source::{handshake, read_stream, Connection, ConnectionValues};
use crate::internal;

/// Where a listener expects the header, and what it does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyMode {
    pub at: Proxy,
    /// `@version: 4.x`: the proxied client becomes the message's sender.
    pub replace_addresses: bool,
}

/// Serves one accepted connection of a proxied listener.
pub async fn serve(stream: tokio::net::TcpStream, mode: ProxyMode, tls: Option<TlsContext>, mut conn: Connection) {
    match (mode.at, tls) {
        (Proxy::Plain, _) => {
            let mut stream = stream;
            if let Some((values, rest)) = header(&mut stream, mode, &mut conn).await {
                read_stream(Prefixed::new(rest, stream), conn, values).await;
            }
        }
        (Proxy::InsideTls, Some(tls)) => {
            let Some(mut stream) = handshake(&tls, stream, &conn).await else { return };
            let identity = stream.peer_identity();
            if let Some((mut values, rest)) = header(&mut stream, mode, &mut conn).await {
                values.add_identity(identity);
                read_stream(Prefixed::new(rest, stream), conn, values).await;
            }
        }
        (Proxy::BeforeTls, Some(tls)) => {
            let mut stream = stream;
            let Some((mut values, rest)) = header(&mut stream, mode, &mut conn).await else { return };
            let Some(stream) = handshake(&tls, Prefixed::new(rest, stream), &conn).await else { return };
            values.add_identity(stream.peer_identity());
            read_stream(stream, conn, values).await;
        }
        // The configuration check requires tls() with these transports.
        (Proxy::InsideTls | Proxy::BeforeTls, None) => {
            internal::error(format!("proxied TLS transport without a tls() block; client='{}'", conn.client))
        }
    }
}

/// Reads the header: the values for the connection's messages and the bytes read past it, or
/// `None` when the connection is to be closed (after saying why).
async fn header<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    mode: ProxyMode,
    conn: &mut Connection,
) -> Option<(ConnectionValues, Vec<u8>)> {
    let client = conn.client.clone();
    let read = tokio::select! {
        r = tokio::time::timeout(super::tls::HANDSHAKE_TIMEOUT, proxy_protocol::read_header(stream)) => r,
        _ = conn.shutdown.cancelled() => return None,
    };
    let (parsed, rest) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            let version = match &e {
                ReadError::Invalid(e) => e.version.map(|v| format!(", version='{v}'")).unwrap_or_default(),
                _ => String::new(),
            };
            // The error's text is "what is wrong; tag='value', ...": the tags join the message's.
            let text = e.to_string();
            let (reason, tags) = match text.split_once("; ") {
                Some((reason, tags)) => (reason, format!(", {tags}")),
                None => (text.as_str(), String::new()),
            };
            internal::error(format!(
                "Error parsing PROXY protocol header; client='{client}'{version}, reason='{reason}'{tags}"
            ));
            return None;
        }
        Err(_) => {
            internal::error(format!(
                "Error parsing PROXY protocol header; client='{client}', reason='no complete header within {} seconds'",
                super::tls::HANDSHAKE_TIMEOUT.as_secs()
            ));
            return None;
        }
    };
    if let Some(warning) = &parsed.warning {
        internal::warning(format!("{warning}; client='{client}'"));
    }
    let version = parsed.header.version();
    match parsed.header {
        Header::Proxied(p) => {
            internal::info(format!(
                "PROXY protocol header parsed successfully; client='{client}', version='{version}', \
                 proxied_client='{}', proxied_server='{}'",
                p.source, p.destination
            ));
            let mut values = values(&p);
            if mode.replace_addresses {
                conn.peer = Some(p.source.ip());
                conn.peer_port = p.source.port();
                conn.local = Some(p.destination);
                // 4.x's $SOURCEPORT; rsng keeps it as a name-value pair, which a 3.38
                // configuration never sees (there $SOURCEPORT names an empty value).
                values.pairs.push(("SOURCEPORT", p.source.port().to_string().into_bytes()));
            }
            Some((values, rest))
        }
        Header::Unknown { .. } if mode.replace_addresses => {
            internal::info(format!(
                "PROXY protocol header without addresses, closing the connection (a health check of the proxy); \
                 client='{client}', version='{version}'"
            ));
            None
        }
        Header::Unknown { .. } => {
            internal::info(format!(
                "PROXY protocol header parsed successfully; client='{client}', version='{version}', proxied_client='unknown'"
            ));
            Some((ConnectionValues::default(), rest))
        }
    }
}

/// syslog-ng's name-value pairs of a proxied connection.
fn values(p: &Proxied) -> ConnectionValues {
    let pairs = vec![
        ("PROXIED_SRCIP", p.source.ip().to_string().into_bytes()),
        ("PROXIED_DSTIP", p.destination.ip().to_string().into_bytes()),
        ("PROXIED_SRCPORT", p.source.port().to_string().into_bytes()),
        ("PROXIED_DSTPORT", p.destination.port().to_string().into_bytes()),
        ("PROXIED_IP_VERSION", p.ip_version().to_string().into_bytes()),
    ];
    ConnectionValues { pairs }
}
