//! `rate-limit(template(...) rate(N))`: at most N messages a second per key (the template's
//! expansion; one key without a template), as syslog-ng 3.38's token buckets count them: a key
//! starts with N tokens, each message takes one, and whole tokens come back at N a second, up
//! to N. Messages without a token do not match.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::message::LogMessage;
use crate::template::{FormatOptions, Template};

#[derive(Debug)]
pub struct RateLimit {
    key: Option<Template>,
    rate: i64,
    /// The buckets are shared by every thread that routes through this filter, as in syslog-ng
    /// (one lock per evaluation: the limit is global by definition).
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: i64,
    last_fill: Instant,
}

impl RateLimit {
    /// `rate` must be positive (the caller checks it, with syslog-ng's message).
    pub fn new(key: Option<Template>, rate: i64) -> RateLimit {
        RateLimit { key, rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Whether `msg` is within the limit of its key (takes a token if so).
    pub fn admit(&self, msg: &LogMessage, scratch: &mut Vec<u8>, format: &FormatOptions) -> bool {
        scratch.clear();
        if let Some(t) = &self.key {
            let _ = t.format(msg, format, scratch);
        }
        // syslog-ng keys its table by C string: the key ends at a NUL.
        let key = crate::bytes::c_str(scratch);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = match buckets.get_mut(key) {
            Some(b) => b,
            None => buckets.entry(key.to_vec()).or_insert(Bucket { tokens: self.rate, last_fill: now }),
        };
        let micros = now.saturating_duration_since(bucket.last_fill).as_micros() as i64;
        let new_tokens = micros.saturating_mul(self.rate) / 1_000_000;
        if new_tokens > 0 {
            bucket.tokens = self.rate.min(bucket.tokens.saturating_add(new_tokens));
            bucket.last_fill = now;
        }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1;
            true
        } else {
            false
        }
    }
}
