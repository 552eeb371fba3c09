//! The global options that belong to no driver: this host's names and the DNS cache, which every
//! driver depends on, and the daemon's own settings (statistics, `internal()`'s MARKs,
//! `$UNIQID`), which none does.

use rsng_config::ir::Value;

crate::typed_options! {
    /// This host's names and the DNS cache, read before any driver is built.
    pub struct HostGlobals {
        driver {}
        inherited {}
        global {
            pub custom_domain: String = "custom-domain";
            pub dns_cache_hosts: String = "dns-cache-hosts";
            pub dns_cache_size: i64 = "dns-cache-size";
            pub dns_cache_expire: i64 = "dns-cache-expire";
            pub dns_cache_expire_failed: i64 = "dns-cache-expire-failed";
            /// `yes`, `no` or `persist-only` (which resolves nothing).
            pub use_dns: Value = "use-dns";
            pub use_fqdn: bool = "use-fqdn" or (false);
            pub normalize_hostnames: bool = "normalize-hostnames" or (false);
        }
    }
}

impl HostGlobals {
    /// Whether `$(dns-resolve-ip)` asks DNS.
    pub fn use_dns(&self) -> bool {
        match &self.use_dns {
            None => true,
            Some(v) => super::as_str(v) != Some("persist-only") && super::as_bool(v) != Some(false),
        }
    }
}

crate::typed_options! {
    /// The daemon's own settings; read through [`super::Globals::detached`], as no driver
    /// depends on them.
    pub struct DaemonGlobals {
        driver {}
        inherited {}
        global {
            /// Which counters exist.
            pub stats_level: i64 = "stats-level" or (0);
            /// Seconds between "Log statistics" messages; `stats()` is its old name.
            pub stats_freq: i64 = "stats-freq";
            pub stats: i64 = "stats";
            pub stats_max_dynamics: i64 = "stats-max-dynamics";
            /// Seconds an idle dynamic counter is kept.
            pub stats_lifetime: i64 = "stats-lifetime" if (|&n| n > 0);
            /// Seconds between the MARKs of `internal()`; `mark()` is its old name.
            pub mark_freq: i64 = "mark-freq";
            pub mark: i64 = "mark";
            /// `$UNIQID`; `use-rcptid()` is its old name.
            pub use_uniqid: bool = "use-uniqid" or (false);
            pub use_rcptid: bool = "use-rcptid" or (false);
            /// The queue size of destinations that do not set theirs.
            pub log_fifo_size: i64 = "log-fifo-size";
        }
    }
}

impl DaemonGlobals {
    /// `stats-freq()`, else `stats()`, else 600.
    pub fn stats_seconds(&self) -> i64 {
        self.stats_freq.or(self.stats).unwrap_or(600)
    }

    /// `mark-freq()`, else `mark()`.
    pub fn mark_seconds(&self) -> Option<i64> {
        self.mark_freq.or(self.mark)
    }

    pub fn uniqid(&self) -> bool {
        self.use_uniqid || self.use_rcptid
    }
}
