//! Setting an `http()` destination up at start-up: its options, the `body()` template, the TLS
//! context of `https://` URLs; options rsng accepts but does not act on are named in a warning.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rsng_config::ir::Value;
use rsng_core::template::compile;
use rsng_transport::tls::{PeerVerify, Side, SslOption, TlsConfig, TlsContext};

use super::options::{self, tls_items};
use super::run::{HttpDestination, Shared};
use crate::internal;
use crate::options::{as_bool, as_str, Options};
use crate::{BuildContext, Destination, DriverError};

/// Where Debian's curl finds the system's certificate authorities when no `ca-file()` or
/// `ca-dir()` is given.
const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
const SYSTEM_CA_DIR: &str = "/etc/ssl/certs";

/// Builds an `http()` destination, the `index`th driver of `object`.
///
/// # Errors
/// A bad URL, header, `body()` template or TLS setting.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let location = (ctx.locate)(opts.span());
    let mut warnings = Vec::new();
    // Ignored options and an unsupported method() were reported with the configuration.
    let (mut settings, typed) = options::read(&opts)?;
    if settings.workers > 1 && typed.disk_buffer.is_some() {
        // One disk buffer hands out one batch at a time: more workers would acknowledge each
        // other's batches.
        warnings.push(format!(
            "http() with disk-buffer() runs one worker in rsng; workers='{}', location='{location}'",
            settings.workers
        ));
        settings.workers = 1;
    }
    if settings.targets.len() > 1 && typed.persist_name.is_none() {
        warnings.push(format!(
            "WARNING: your http() driver instance uses multiple urls without persist-name(). It is recommended that \
             you set persist-name() in this case as syslog-ng will be using the first URL in urls() to register \
             persistent data, such as the disk queue name, which might change; url='{}', location='{location}'",
            settings.targets[0].url
        ));
    }
    if settings.targets.len() > settings.workers {
        warnings.push(format!(
            "WARNING: your http() driver instance uses less workers than urls. It is recommended to increase the \
             number of workers to at least the number of servers, otherwise not all urls will be used for \
             load-balancing; urls='{}', workers='{}', location='{location}'",
            settings.targets.len(),
            settings.workers
        ));
    }
    for w in warnings {
        internal::warning(w);
    }
    let body = match typed.body.as_deref() {
        Some(text) => Some(Arc::new(
            compile(text, &ctx.compile)
                .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))?,
        )),
        None => None,
    };
    let format = crate::writer::TemplateOptions::send_format_of(&opts);
    let needs_tls = settings.targets.iter().any(|t| t.tls);
    let tls = if needs_tls {
        Some(tls_context(&opts, object, index, &location)?)
    } else {
        // curl ignores them for http:// URLs; rsng says so.
        if let Some(first) = options::tls_items(&opts).first() {
            internal::warning(format!(
                "http: {}() has no effect with http:// URLs, the requests go without TLS; location='{}'",
                first.name,
                (ctx.locate)(&first.span)
            ));
        }
        None
    };
    let id = super::stats::driver_id(object, index);
    let shared = Shared::new(settings, body, format, tls, id, location);
    Ok(Box::new(HttpDestination::new(shared)))
}

fn existing(path: &str) -> Option<PathBuf> {
    Path::new(path).exists().then(|| PathBuf::from(path))
}

/// The client TLS context of `https://` URLs: curl's settings in OpenSSL terms. `peer-verify(yes)`
/// (the default) checks the chain and the URL's host name; `ssl-version()` is the lowest version
/// offered; without `ca-file()` and `ca-dir()` the system's store is used, as curl does.
fn tls_context(opts: &Options<'_>, object: &str, index: usize, location: &str) -> Result<TlsContext, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let mut c = TlsConfig { location: location.to_string(), sni: true, ..TlsConfig::default() };
    let mut system_store = false;
    for item in tls_items(opts) {
        let v = &item.value;
        let text = as_str(v).unwrap_or_default();
        let path = (!text.is_empty()).then(|| PathBuf::from(text));
        match item.name {
            "ca-dir" => c.ca_dir = path,
            "ca-file" => c.ca_file = path,
            "cert-file" => c.cert_file = path,
            "key-file" => c.key_file = path,
            "peer-verify" => {
                let yes = as_bool(v).unwrap_or(true);
                c.peer_verify = if yes { PeerVerify::RequiredTrusted } else { PeerVerify::OptionalUntrusted };
            }
            "use-system-cert-store" => system_store = as_bool(v).unwrap_or(false),
            "cipher-suite" => {
                let raw = match v {
                    Value::Raw(s) | Value::Str(s) => s.clone(),
                    _ => String::new(),
                };
                c.cipher_suite = crate::socket::tls::parse_cipher_suite(&raw)
                    .ok_or_else(|| err(format!("invalid cipher-suite(); value='{raw}'")))?;
            }
            "ssl-version" => {
                use SslOption::*;
                c.ssl_options = match text {
                    "default" | "tlsv1" | "tlsv1_0" => vec![NoSslv2, NoSslv3],
                    "tlsv1_1" => vec![NoSslv2, NoSslv3, NoTlsv1],
                    "tlsv1_2" => vec![NoSslv2, NoSslv3, NoTlsv1, NoTlsv11],
                    "tlsv1_3" => vec![NoSslv2, NoSslv3, NoTlsv1, NoTlsv11, NoTlsv12],
                    other => {
                        return Err(err(format!(
                            "ssl-version(\"{other}\") cannot be used: OpenSSL has no SSLv2 or SSLv3"
                        )))
                    }
                };
            }
            _ => {}
        }
    }
    if system_store || (c.ca_file.is_none() && c.ca_dir.is_none()) {
        c.ca_file = c.ca_file.or_else(|| existing(SYSTEM_CA_FILE));
        c.ca_dir = c.ca_dir.or_else(|| existing(SYSTEM_CA_DIR));
    }
    let (component, id, instance) = super::stats_name(object, index, *opts);
    TlsContext::new(&c, Side::Client, crate::socket::tls::log_sink())
        .map(|t| t.with_instance(&format!("{component};{id};{instance}")))
        .map_err(|e| DriverError { message: e.to_string(), span: None })
}
