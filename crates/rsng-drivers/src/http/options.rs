//! Reading `http()`'s options into [`Settings`], with syslog-ng 3.38's defaults: one POST per
//! message to `http://localhost/`, no batching (even with a global `batch-lines()`), `\n` between
//! the messages of a batch, `retries(3)`, no timeout.

use std::collections::HashMap;
use std::time::Duration;

use rsng_config::ir::{OptionValue, Value};

use crate::options::{as_int, Options};
use crate::DriverError;

/// The URL syslog-ng sends to when `url()` is not given.
pub const DEFAULT_URL: &str = "http://localhost/";

/// What syslog-ng's response handlers (`response-action()` and the default mapping) decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Success,
    /// `LTR_ERROR`: retried `retries()` times, then dropped.
    Retry,
    Drop,
    /// `LTR_NOT_CONNECTED`: retried after `time-reopen()` until it goes through.
    Disconnect,
}

/// One target of `url()`, split as the client needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As written: how messages and stats name it.
    pub url: String,
    pub tls: bool,
    /// The host without brackets: what is connected to and what a certificate must name.
    pub host: String,
    pub port: u16,
    /// The `Host` header curl sends: the host as written, with the port when one was written.
    pub authority: String,
    /// Path and query (`/` when the URL has none).
    pub path: String,
}

impl Target {
    /// Parses an `http://` or `https://` URL.
    ///
    /// # Errors
    /// Another scheme, no host, a bad port.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else {
            return Err(format!("unsupported URL (only http:// and https:// are supported); url='{url}'"));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!("credentials in the URL are not supported, use user() and password(); url='{url}'"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']').ok_or_else(|| format!("bad IPv6 address in URL; url='{url}'"))?;
            let port = v6[close + 1..].strip_prefix(':');
            (&v6[..close], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("no host in URL; url='{url}'"));
        }
        let default_port = if tls { 443 } else { 80 };
        let port = match port {
            None | Some("") => default_port,
            Some(p) => p.parse::<u16>().map_err(|_| format!("bad port in URL; url='{url}'"))?,
        };
        let tail = tail.split('#').next().unwrap_or_default();
        let path = match tail {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        Ok(Target { url: url.to_string(), tls, host: host.to_string(), port, authority: authority.to_string(), path })
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| &s[prefix.len()..])
}

/// One `headers()` entry as curl reads it: `Name: value`; `Name:` alone removes a header curl
/// would add itself, `Name;` sends it empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    /// `None`: the header is only suppressed.
    pub value: Option<String>,
}

impl Header {
    pub fn parse(line: &str) -> Option<Header> {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim_start_matches([' ', '\t']);
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            return Some(Header { name: name.to_string(), value: (!value.is_empty()).then(|| value.to_string()) });
        }
        let name = line.trim().strip_suffix(';')?.trim();
        (!name.is_empty()).then(|| Header { name: name.to_string(), value: Some(String::new()) })
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

crate::typed_options! {
    /// What `http()` reads, with syslog-ng 3.38's defaults; its TLS options are read in the
    /// order written by [`tls_items`].
    pub struct HttpOptions {
        driver {
            /// A later `url()` replaces an earlier one; each string may hold several URLs.
            pub url: Value = "url";
            pub user: String = "user";
            pub password: String = "password";
            pub user_agent: String = "user-agent";
            /// A later `headers()` replaces an earlier one.
            pub headers: Value = "headers";
            pub method: String = "method";
            pub body_prefix: String = "body-prefix" or (String::new());
            pub body_suffix: String = "body-suffix" or (String::new());
            pub delimiter: String = "delimiter" or ("\n".to_string());
            /// The body template; the message's `$MSG` by default.
            pub body: String = "body";
            /// Seconds a request may take; 0 waits for ever.
            pub timeout: u64 = "timeout" if (|&n| n > 0);
            pub batch_bytes: usize = "batch-bytes" or (0);
            pub response_action: String = "response-action";
            pub retries: u32 = "retries" if (|&n| n > 0) or (3);
            /// `flush-lines()` is the older name of `batch-lines()`.
            pub batch_lines: usize = "batch-lines" if (|&n| n > 0);
            pub flush_lines: usize = "flush-lines" if (|&n| n > 0);
            /// Milliseconds.
            pub batch_timeout: u64 = "batch-timeout" if (|&n| n > 0);
            pub workers: usize = "workers" if (|&n| n > 0) or (1);
            /// Messages a second per worker at most.
            pub throttle: u32 = "throttle" or (0);
            /// Names the disk buffer and stats instead of the first URL.
            pub persist_name: String = "persist-name";
            /// Whether the queue is a disk buffer (one worker then).
            pub disk_buffer: Value = "disk-buffer";
        }
        inherited {
            /// Seconds to wait before sending again after a failure.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

/// The URLs of `url()`: every word of its strings, else [`DEFAULT_URL`].
pub fn urls(url: Option<&Value>) -> Vec<String> {
    let mut list = Vec::new();
    if let Some(value) = url {
        crate::options::collect_strings(value, &mut list);
    }
    let mut urls: Vec<String> =
        list.iter().flat_map(|text| text.split(' ')).filter(|u| !u.is_empty()).map(String::from).collect();
    if urls.is_empty() {
        urls.push(DEFAULT_URL.to_string());
    }
    urls
}

/// `POST` or `PUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

/// Everything of `http()` but the body template and TLS.
#[derive(Debug, Clone)]
pub struct Settings {
    pub targets: Vec<Target>,
    pub method: Method,
    pub user: Option<String>,
    pub password: Option<String>,
    pub user_agent: String,
    pub headers: Vec<Header>,
    pub body_prefix: Vec<u8>,
    pub body_suffix: Vec<u8>,
    pub delimiter: Vec<u8>,
    /// 0: no batching by lines.
    pub batch_lines: usize,
    /// 0: no batching by size.
    pub batch_bytes: usize,
    /// `batch-timeout()`; `None` flushes whenever the queue is empty.
    pub batch_timeout: Option<Duration>,
    pub workers: usize,
    /// `throttle()`: at most this many messages a second per worker (0: no limit).
    pub throttle: u32,
    /// `timeout()`: the longest a request may take; `None` (0) waits for ever.
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub time_reopen: Duration,
    pub response_actions: HashMap<u16, Action>,
}

impl Settings {
    /// Whether messages are batched (`batch-lines()` or `batch-bytes()` set): then the
    /// per-message `X-Syslog-*` headers are not sent.
    pub fn batching(&self) -> bool {
        self.batch_lines > 0 || self.batch_bytes > 0
    }

    /// The most messages one request carries.
    pub fn lines_per_request(&self) -> usize {
        // syslog-ng flushes once a batch has `batch-lines()` messages, and with only
        // `batch-bytes()` set that is after every message.
        if self.batching() {
            self.batch_lines.max(1)
        } else {
            1
        }
    }
}

/// The default User-Agent: rsng names itself where syslog-ng names itself and libcurl.
pub fn default_user_agent() -> String {
    format!("rsng {}", env!("CARGO_PKG_VERSION"))
}

/// Reads the settings (an unsupported `method()` is POST, as in syslog-ng, which warns while
/// parsing).
///
/// # Errors
/// A URL rsng cannot send to, a bad header or `response-action()`.
pub fn read(opts: &Options<'_>) -> Result<(Settings, HttpOptions), DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let o = HttpOptions::read(opts);
    let targets = urls(o.url.as_ref()).iter().map(|u| Target::parse(u).map_err(err)).collect::<Result<Vec<_>, _>>()?;
    let method = match o.method.as_deref() {
        Some(m) if m.eq_ignore_ascii_case("put") => Method::Put,
        _ => Method::Post,
    };
    let mut headers = Vec::new();
    if let Some(value) = &o.headers {
        let mut list = Vec::new();
        crate::options::collect_strings(value, &mut list);
        for line in list {
            let h = Header::parse(&line).ok_or_else(|| err(format!("invalid header in headers(); header='{line}'")))?;
            let valid_name = hyper::header::HeaderName::from_bytes(h.name.as_bytes()).is_ok();
            let valid_value = h.value.as_deref().is_none_or(|v| hyper::header::HeaderValue::from_str(v).is_ok());
            if !valid_name || !valid_value {
                return Err(err(format!("invalid header in headers(); header='{line}'")));
            }
            headers.push(h);
        }
    }
    let response_actions = match &o.response_action {
        Some(text) => parse_response_actions(text)
            .ok_or_else(|| err("invalid response-action(); expected `CODE => success|retry|drop|disconnect`".into()))?,
        None => HashMap::new(),
    };
    let settings = Settings {
        targets,
        method,
        user: o.user.clone(),
        password: o.password.clone(),
        user_agent: o.user_agent.clone().unwrap_or_else(default_user_agent),
        headers,
        body_prefix: o.body_prefix.as_bytes().to_vec(),
        body_suffix: o.body_suffix.as_bytes().to_vec(),
        delimiter: o.delimiter.as_bytes().to_vec(),
        batch_lines: o.batch_lines.or(o.flush_lines).unwrap_or(0),
        batch_bytes: o.batch_bytes,
        batch_timeout: o.batch_timeout.map(Duration::from_millis),
        workers: o.workers,
        throttle: o.throttle,
        timeout: o.timeout.map(Duration::from_secs),
        retries: o.retries,
        time_reopen: Duration::from_secs(o.time_reopen),
        response_actions,
    };
    Ok((settings, o))
}

/// `response-action(404 => drop, 500 => retry)`.
pub fn parse_response_actions(text: &str) -> Option<HashMap<u16, Action>> {
    let spaced = text.replace("=>", " => ").replace(',', " ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out = HashMap::new();
    for item in words.chunks(3) {
        let [code, "=>", action] = item else { return None };
        let code = as_int(&Value::Raw((*code).to_string())).filter(|&c| (1..=i64::from(u16::MAX)).contains(&c))?;
        let action = match action.to_ascii_lowercase().as_str() {
            "success" => Action::Success,
            "retry" => Action::Retry,
            "drop" => Action::Drop,
            "disconnect" => Action::Disconnect,
            _ => return None,
        };
        out.insert(code as u16, action);
    }
    Some(out)
}

/// The TLS options `http()` takes bare or inside `tls()`.
pub const TLS_OPTIONS: &[&str] = &[
    "ca-dir",
    "ca-file",
    "cert-file",
    "key-file",
    "cipher-suite",
    "ssl-version",
    "use-system-cert-store",
    "peer-verify",
];

/// The TLS options of `http()`: written directly in the driver or inside its `tls()`, the later
/// one winning.
pub fn tls_items<'a>(opts: &Options<'a>) -> Vec<&'a OptionValue> {
    const NAMES: &[&str] = TLS_OPTIONS;
    for name in NAMES.iter().chain(&["tls"]) {
        opts.driver.note(name);
    }
    let mut out = Vec::new();
    for o in &opts.driver.options {
        if NAMES.contains(&o.name) {
            out.push(o);
        } else if o.name == "tls" {
            if let Value::Group(items) = &o.value {
                out.extend(items.iter().filter(|i| NAMES.contains(&i.name)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("http://127.0.0.1:8080/path?q=1").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.authority.as_str(), t.path.as_str()),
            (false, "127.0.0.1", 8080, "127.0.0.1:8080", "/path?q=1")
        );
        let t = Target::parse("https://logs.example.com").unwrap();
        assert_eq!((t.tls, t.port, t.authority.as_str(), t.path.as_str()), (true, 443, "logs.example.com", "/"));
        let t = Target::parse("http://[::1]:9/x").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.authority.as_str()), ("::1", 9, "[::1]:9"));
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://h:99999/").is_err());
    }

    #[test]
    fn headers_as_curl_reads_them() {
        assert_eq!(Header::parse("X-A: 1"), Some(Header { name: "X-A".into(), value: Some("1".into()) }));
        assert_eq!(Header::parse("Accept:"), Some(Header { name: "Accept".into(), value: None }));
        assert_eq!(Header::parse("X-Empty;"), Some(Header { name: "X-Empty".into(), value: Some(String::new()) }));
        assert_eq!(Header::parse("nonsense"), None);
    }

    #[test]
    fn response_actions() {
        let m = parse_response_actions("404 => drop, 500=>retry 201 => success").unwrap();
        assert_eq!(m.get(&404), Some(&Action::Drop));
        assert_eq!(m.get(&500), Some(&Action::Retry));
        assert_eq!(m.get(&201), Some(&Action::Success));
        assert!(parse_response_actions("404 => explode").is_none());
        assert!(parse_response_actions("404 drop").is_none());
    }
}
