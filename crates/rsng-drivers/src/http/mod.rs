//! `http()`: messages to HTTP servers, as syslog-ng 3.38's `http` module sends them.
//!
//! One POST (or PUT) per message, or with `batch-lines()`/`batch-bytes()` one request per batch
//! (`body-prefix()`, the messages joined by `delimiter()`, `body-suffix()`). Headers go out in
//! curl's order: `Host`, `Authorization`, `User-Agent`, `Accept`, the per-message `X-Syslog-*`
//! headers (without batching), `headers()`, `Content-Length`, `Content-Type`. The response code
//! decides, as syslog-ng's default mapping and `response-action()` do, whether the batch is
//! delivered, retried (`retries()` times, then dropped), dropped, or kept until the server is back
//! (`time-reopen()`); several URLs are used as its load balancer uses them.
//!
//! The client is hyper's HTTP/1.1 connection over sockets rsng opens itself, so `https://` runs on
//! the same OpenSSL code as the network drivers' `tls()`.
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (templates, TLS context, warnings).
//! - [`run`]: the workers, the requests, the response codes and the load balancer.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod build;
pub mod options;
pub mod run;
pub mod stats;

pub use build::build_destination;
pub use stats::stats_name;
