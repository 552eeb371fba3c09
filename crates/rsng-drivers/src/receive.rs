//! What every source does with received bytes: parse them per the source's flags, then set
//! `$HOST`/`$HOST_FROM` (keep-hostname, chain-hostnames, use-dns, use-fqdn), tags,
//! `host-override()` and `program-override()`, in the order of syslog-ng's `log_source_queue`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use rsng_core::message::{ReceiveInfo, TagId, UnixTime};
use rsng_core::names::{facility_code, severity_code};
use rsng_core::LogMessage;
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions};

use rsng_config::ir::Value;

use crate::options::typed::Flags;
use crate::options::{as_bool, as_str, Options};

/// How a source turns bytes into messages. Built once per source driver, shared by its
/// connections.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub parse: ParseOptions,
    pub keep_hostname: bool,
    pub chain_hostnames: bool,
    pub resolve: HostResolve,
    pub tags: Vec<TagId>,
    pub host_override: Option<Arc<str>>,
    pub program_override: Option<Arc<str>>,
    pub time_zone: jiff::tz::TimeZone,
    /// Whether `time-zone()` (or the global `recv-time-zone()`) was given.
    pub zone_configured: bool,
    /// `log-msg-size()`: longer messages are cut (framing) to this many bytes.
    pub max_msg_size: usize,
    /// The source object's name.
    pub source: Arc<str>,
    pub source_tag: TagId,
    /// Whether messages are local (unix sockets, files, internal): `chain-hostnames` then
    /// prefixes the source name, and `$SEQNUM` counts locally.
    pub local: bool,
    /// `flags(empty-lines)`: keep empty lines instead of skipping them.
    pub empty_lines: bool,
    /// `pass-unix-credentials()` (default yes): unix datagram senders' pid/uid/gid become
    /// `.unix.pid`, `.unix.uid`, `.unix.gid`.
    pub unix_credentials: bool,
    /// `system()`: `$PID` is the sender's pid from the kernel, as syslog-ng's `system()` sets it.
    pub pid_from_credentials: bool,
    /// `keep-timestamp()`: with `no`, the message's stamp becomes its receive time (the header's
    /// date is still parsed and removed from the message, as in syslog-ng).
    pub keep_timestamp: bool,
    /// IP protocol number and local port of the listener (`$PROTO`, `$DESTPORT`), for sockets.
    pub destination: Option<(u8, u16)>,
    /// The global `bad-hostname()`: an RFC 3164 host name that matches it is not taken as the
    /// host name but read as the program, as syslog-ng's legacy header parser does.
    pub bad_hostname: Option<Arc<pcre2::bytes::Regex>>,
    /// [`Receiver::parse`] without host names, to read a header again whose host name was bad.
    pub parse_without_host: ParseOptions,
    /// `flags(store-raw-message)`: the frame as received becomes `$RAWMSG`.
    pub store_raw_message: bool,
    /// `use-syslogng-pid(yes)`: `$PID` is rsng's own.
    pub use_syslogng_pid: bool,
    /// `encoding()` of a socket source: the character set its input is converted from.
    pub encoding: Option<Arc<str>>,
    /// `flags(guess-timezone)`: a header stamp within a day of the receive time that is off by
    /// whole quarter hours gets that difference as its zone.
    pub guess_timezone: bool,
    /// `flags(ignore-aux-data)`: what the transport tells about the sender (its address and
    /// port, the local address, unix credentials, the TLS peer's names) is not used; the message
    /// is taken as a local one's.
    pub ignore_aux_data: bool,
    /// `format(linux-kmsg)` of a socket source: each frame is a kernel log record
    /// ([`crate::file::kmsg::message`]).
    pub linux_kmsg: bool,
}

/// `use-dns()`, `use-fqdn()`, `normalize-hostnames()`, `dns-cache()`.
#[derive(Debug, Clone)]
pub struct HostResolve {
    pub use_dns: bool,
    pub use_fqdn: bool,
    pub normalize: bool,
    pub cache: bool,
}

crate::typed_options! {
    /// The options of syslog-ng's LogSource and LogReader that every source reads.
    pub struct ReaderOptions {
        driver {
            /// Parser flags ([`ParseFlags::apply`]), `empty-lines`, `store-raw-message`,
            /// `guess-timezone`.
            pub flags: Flags = "flags" or (Flags::default());
            pub default_facility: String = "default-facility";
            pub default_priority: String = "default-priority";
            /// The zone of stamps read without one; else the global `recv-time-zone()`.
            pub time_zone: String = "time-zone";
            pub tags: Vec<String> = "tags" or (Vec::new());
            pub chain_hostnames: bool = "chain-hostnames";
            /// The obsolete spelling of `chain-hostnames()`.
            pub long_hostnames: bool = "long-hostnames";
            pub host_override: Arc<str> = "host-override";
            pub program_override: Arc<str> = "program-override";
            /// The obsolete spelling of `program-override()`.
            pub log_prefix: Arc<str> = "log-prefix";
            /// `$PID` becomes the daemon's own, whatever the message said (as syslog-ng does for
            /// every source).
            pub use_syslogng_pid: bool = "use-syslogng-pid" or (false);
        }
        inherited {
            pub check_hostname: bool = "check-hostname" or (false);
            pub keep_hostname: bool = "keep-hostname" or (false);
            /// `yes`, `no` or `persist-only` (which resolves nothing either).
            pub use_dns: Value = "use-dns";
            pub use_fqdn: bool = "use-fqdn" or (false);
            pub normalize_hostnames: bool = "normalize-hostnames" or (false);
            pub dns_cache: bool = "dns-cache" or (true);
            /// `log-msg-size()`: longer messages are cut to this many bytes.
            pub log_msg_size: usize = "log-msg-size" if (|&n| n > 0) or (65536);
            pub pass_unix_credentials: bool = "pass-unix-credentials" or (true);
            pub keep_timestamp: bool = "keep-timestamp" or (true);
        }
        global {
            pub recv_time_zone: String = "recv-time-zone";
            pub bad_hostname: String = "bad-hostname";
            pub global_chain_hostnames: bool = "chain-hostnames";
            /// The obsolete spelling of the global `chain-hostnames()`.
            pub global_long_hostnames: bool = "long-hostnames";
        }
    }
}

impl ReaderOptions {
    fn use_dns(&self) -> bool {
        match &self.use_dns {
            None => true,
            Some(v) => {
                !matches!(as_str(v), Some("no" | "off" | "0" | "persist-only" | "persist_only"))
                    && as_bool(v) != Some(false)
            }
        }
    }
}

impl Receiver {
    /// The receiving options of a source driver; `defaults` are the parser flags the driver
    /// family implies (e.g. `syslog-protocol` for `syslog()`).
    pub fn new(source: &str, opts: Options<'_>, defaults: ParseFlags, local: bool) -> Receiver {
        Receiver::from_options(source, ReaderOptions::read(&opts), defaults, local)
    }

    /// [`Receiver::new`] from options already read.
    pub fn from_options(source: &str, o: ReaderOptions, defaults: ParseFlags, local: bool) -> Receiver {
        let mut flags = defaults;
        flags.local = local;
        for word in o.flags.iter() {
            flags.apply(word);
        }
        if o.check_hostname {
            flags.check_hostname = true;
        }
        let default_pri = match (o.default_facility.as_deref(), o.default_priority.as_deref()) {
            (None, None) => None,
            (fac, sev) => {
                let base = if flags.kernel { 0 } else { 8 };
                let fac = fac.and_then(facility_code).map(|f| f * 8).unwrap_or(base);
                let sev = sev.and_then(severity_code).unwrap_or(5);
                Some((fac + sev) as u16)
            }
        };
        let configured_zone =
            o.time_zone.as_deref().or(o.recv_time_zone.as_deref()).and_then(crate::writer::parse_time_zone);
        let zone_configured = configured_zone.is_some();
        let time_zone = configured_zone.unwrap_or_else(jiff::tz::TimeZone::system);
        let tags = o.tags.iter().map(|t| TagId::intern(t)).collect();
        let bad_hostname = o.bad_hostname.as_deref().and_then(|pattern| {
            // syslog-ng compiles it as an extended POSIX regexp; PCRE reads those alike.
            match pcre2::bytes::RegexBuilder::new().build(pattern) {
                Ok(re) => Some(Arc::new(re)),
                Err(e) => {
                    crate::internal::error(format!(
                        "Error compiling bad-hostname() regexp, host names are not checked; pattern='{pattern}', error='{e}'"
                    ));
                    None
                }
            }
        });
        let mut without_host = flags;
        without_host.expect_hostname = false;
        Receiver {
            parse: ParseOptions { flags, default_pri },
            keep_hostname: o.keep_hostname,
            // `long-hostnames()` and `log-prefix()` are the obsolete spellings of
            // `chain-hostnames()` and `program-override()`; the driver's setting wins.
            chain_hostnames: (o.chain_hostnames.or(o.long_hostnames))
                .or(o.global_chain_hostnames.or(o.global_long_hostnames))
                .unwrap_or(false),
            resolve: HostResolve {
                use_dns: o.use_dns(),
                use_fqdn: o.use_fqdn,
                normalize: o.normalize_hostnames,
                cache: o.dns_cache,
            },
            tags,
            host_override: o.host_override,
            program_override: o.program_override.or(o.log_prefix),
            time_zone,
            zone_configured,
            max_msg_size: o.log_msg_size,
            source: Arc::from(source),
            source_tag: TagId::intern(&format!(".source.{source}")),
            local,
            empty_lines: o.flags.contains("empty-lines"),
            unix_credentials: o.pass_unix_credentials,
            pid_from_credentials: false,
            keep_timestamp: o.keep_timestamp,
            destination: None,
            bad_hostname,
            parse_without_host: ParseOptions { flags: without_host, default_pri },
            store_raw_message: o.flags.contains("store-raw-message"),
            encoding: None,
            guess_timezone: o.flags.contains("guess-timezone"),
            ignore_aux_data: o.flags.contains("ignore-aux-data"),
            linux_kmsg: false,
            use_syslogng_pid: o.use_syslogng_pid,
        }
    }

    /// A converter of this source's input to UTF-8, when it has an `encoding()`.
    pub fn decoder(&self) -> Option<crate::charset::Decoder> {
        self.encoding.as_deref().and_then(crate::charset::Decoder::new)
    }

    /// The current time as a receive time: shown in the process's own zone, as syslog-ng stamps
    /// reception; a source's `time-zone()` only applies to stamps read without a zone.
    pub fn now(&self) -> UnixTime {
        UnixTime::now(rsng_core::message::local_zone())
    }

    /// Stamps `info` with the current time. Once a second the sender's name is looked up again
    /// (through the DNS cache when on), so that a name changes when `dns-cache-expire()` says,
    /// also for a sender that keeps its connection.
    pub fn refresh(&self, info: &mut ReceiveInfo) {
        let now = self.now();
        if now.sec != info.received.sec && self.resolve.use_dns {
            if let Some(ip) = info.source_ip {
                info.host_from = self.resolve.name_of(ip);
            }
        }
        info.received = now;
    }

    /// Receive information for a sender (`None`: a local peer).
    pub fn info(&self, peer: Option<IpAddr>) -> ReceiveInfo {
        let peer = peer.filter(|_| !self.ignore_aux_data);
        let host_from = match peer {
            Some(ip) => self.resolve.name_of(ip),
            None => self.resolve.local_name(),
        };
        ReceiveInfo {
            source: self.source.clone(),
            source_tag: self.source_tag,
            host_from,
            source_ip: peer,
            source_port: 0,
            dest: None,
            received: self.now(),
            time_zone: self.time_zone.clone(),
            zone_configured: self.zone_configured,
            local: self.local,
            // Only messages from IP peers have them; 0 otherwise, as in syslog-ng.
            destination: if peer.is_some() { self.destination.unwrap_or((0, 0)) } else { (0, 0) },
        }
    }

    /// Parses one frame into a message, received as `info` says (its time is refreshed by the
    /// caller per batch).
    pub fn message(&self, frame: &[u8], info: &ReceiveInfo) -> LogMessage {
        let raw: Arc<[u8]> = Arc::from(frame);
        self.message_in(&raw, &raw, info)
    }

    /// Like [`Receiver::message`] for a frame inside `chunk` (one read's bytes, shared by all the
    /// messages cut from it): the message keeps the chunk instead of a copy of its own bytes,
    /// which saves an allocation and a copy per message.
    pub fn message_in(&self, chunk: &Arc<[u8]>, frame: &[u8], info: &ReceiveInfo) -> LogMessage {
        // flags(no-parse) keeps a record whole, whatever the format.
        if self.linux_kmsg && !self.parse.flags.no_parse {
            return crate::file::kmsg::message(self, frame, info);
        }
        let mut msg = match parse(frame, &self.parse) {
            Ok(parsed) if self.bad_host(&parsed) => match parse(frame, &self.parse_without_host) {
                Ok(parsed) => self.message_of(chunk, &parsed, info),
                Err(_) => self.message_of(chunk, &parsed, info),
            },
            Ok(parsed) => self.message_of(chunk, &parsed, info),
            Err(err) => {
                // syslog-ng replaces unparsable input by its own (local) message about it.
                let mut local = info.clone();
                local.local = true;
                let mut m = LogMessage::new(&local);
                m.set_pri(rsng_proto::syslog::PARSE_ERROR_PRI);
                m.set_value("PROGRAM", b"syslog-ng");
                m.set_value("PID", own_pid().as_bytes());
                m.set_value("MESSAGE", &err.error_text(frame, &self.parse.flags));
                m
            }
        };
        if self.store_raw_message {
            msg.set_value("RAWMSG", frame);
        }
        self.finish(&mut msg, info);
        msg
    }

    fn message_of(
        &self,
        chunk: &Arc<[u8]>,
        parsed: &rsng_proto::syslog::ParsedMessage<'_>,
        info: &ReceiveInfo,
    ) -> LogMessage {
        let mut msg = LogMessage::from_parsed(chunk.clone(), parsed, info);
        if self.guess_timezone && matches!(parsed.stamp, rsng_proto::syslog::Stamp::Parsed(_)) {
            let mut stamp = msg.stamp();
            rsng_core::parser::date::guess_zone(&mut stamp, msg.received().sec);
            msg.set_stamp(stamp);
        }
        msg
    }

    /// Whether `parsed` has an RFC 3164 host name that `bad-hostname()` refuses.
    fn bad_host(&self, parsed: &rsng_proto::syslog::ParsedMessage<'_>) -> bool {
        match (&self.bad_hostname, parsed.host) {
            (Some(re), Some(host)) => {
                parsed.syntax == rsng_proto::syslog::Syntax::Rfc3164 && re.is_match(host).unwrap_or(false)
            }
            _ => false,
        }
    }

    /// The steps after parsing: host names, tags, overrides.
    pub fn finish(&self, msg: &mut LogMessage, info: &ReceiveInfo) {
        if !self.keep_timestamp {
            msg.set_stamp(msg.received());
        }
        let host_empty = msg.builtin(rsng_core::message::Builtin::Host).is_empty();
        if !self.keep_hostname || host_empty {
            if self.chain_hostnames {
                let resolved = &*info.host_from;
                let host = if self.local {
                    format!("{}@{resolved}", self.source)
                } else if host_empty {
                    format!("{resolved}/{resolved}")
                } else {
                    let orig = String::from_utf8_lossy(msg.builtin(rsng_core::message::Builtin::Host)).into_owned();
                    format!("{orig}/{resolved}")
                };
                let mut host = host.into_bytes();
                host.truncate(255);
                msg.set_value("HOST", &host);
                msg.set_host_chained();
            } else {
                msg.use_sender_as_host();
            }
        }
        for &tag in &self.tags {
            msg.set_tag(tag);
        }
        if let Some(host) = &self.host_override {
            msg.set_value("HOST", host.as_bytes());
        }
        if let Some(program) = &self.program_override {
            msg.set_value("PROGRAM", program.as_bytes());
        }
        if self.use_syslogng_pid {
            msg.set_value("PID", own_pid().as_bytes());
        }
    }
}

impl HostResolve {
    /// `$HOST_FROM` of a remote sender.
    pub fn name_of(&self, ip: IpAddr) -> Arc<str> {
        let resolved = if !self.use_dns {
            None
        } else if let Some(name) = self.cache.then(|| hosts_file_name(ip)).flatten() {
            // `dns-cache-hosts()` entries are permanent entries of the cache.
            Some(name)
        } else if self.cache {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            // The guard must be gone before the lookup, which can take long.
            let hit = dns_cache().lock().unwrap_or_else(|e| e.into_inner()).get(ip, now);
            match hit {
                Some(hit) => hit,
                None => {
                    let name = reverse_lookup(ip);
                    dns_cache().lock().unwrap_or_else(|e| e.into_inner()).store(ip, name.clone(), now);
                    name
                }
            }
        } else {
            reverse_lookup(ip)
        };
        let name: Arc<str> = match resolved {
            // Only real names are shortened, never addresses.
            Some(name) if !self.use_fqdn => Arc::from(name.split('.').next().unwrap_or(&name)),
            Some(name) => name,
            None => Arc::from(ip.to_string()),
        };
        self.normalized(name)
    }

    /// `$HOST_FROM` of a local sender: this host's name.
    pub fn local_name(&self) -> Arc<str> {
        static NAME: OnceLock<String> = OnceLock::new();
        let full = NAME.get_or_init(|| {
            nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".into())
        });
        let short = full.split('.').next().unwrap_or(full);
        let domain = CUSTOM_DOMAIN.read().unwrap_or_else(|e| e.into_inner()).clone();
        let name: Arc<str> = match (self.use_fqdn, domain) {
            // `custom-domain()` replaces the domain of this host's full name, as in syslog-ng.
            (true, Some(domain)) => Arc::from(format!("{short}.{domain}")),
            (true, None) => Arc::from(full.as_str()),
            (false, _) => Arc::from(short),
        };
        self.normalized(name)
    }

    fn normalized(&self, name: Arc<str>) -> Arc<str> {
        if self.normalize {
            Arc::from(name.to_lowercase())
        } else {
            name
        }
    }
}

/// The DNS cache of `dns-cache(yes)`, as syslog-ng 3.38 keeps it: each answer is used for
/// `dns-cache-expire()` seconds and each failure for `dns-cache-expire-failed()` (defaults: an
/// hour, a minute); once it holds `dns-cache-size()` names (default 1,007), it keeps those
/// (answering anew when one is too old) and does not store new ones.
#[derive(Debug)]
pub struct DnsCache {
    size: usize,
    expire: u64,
    expire_failed: u64,
    /// Each address's name (`None`: the lookup failed) and when it was looked up.
    names: HashMap<IpAddr, (Option<Arc<str>>, u64)>,
}

impl Default for DnsCache {
    fn default() -> DnsCache {
        DnsCache::new(1007, 3600, 60)
    }
}

impl DnsCache {
    pub fn new(size: usize, expire: u64, expire_failed: u64) -> DnsCache {
        DnsCache { size, expire, expire_failed, names: HashMap::new() }
    }

    /// The cached answer for `ip` at `now` (Unix seconds), unless it is too old.
    pub fn get(&self, ip: IpAddr, now: u64) -> Option<Option<Arc<str>>> {
        let (name, at) = self.names.get(&ip)?;
        let keep = if name.is_some() { self.expire } else { self.expire_failed };
        (now.saturating_sub(*at) <= keep).then(|| name.clone())
    }

    pub fn store(&mut self, ip: IpAddr, name: Option<Arc<str>>, now: u64) {
        if self.names.len() < self.size || self.names.contains_key(&ip) {
            self.names.insert(ip, (name, now));
        }
    }
}

fn dns_cache() -> &'static Mutex<DnsCache> {
    static CACHE: OnceLock<Mutex<DnsCache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// Sets the global `dns-cache-size()`, `dns-cache-expire()` and `dns-cache-expire-failed()`
/// (`None`: syslog-ng's defaults), emptying the cache, at each start and reload.
pub fn set_dns_cache(size: Option<i64>, expire: Option<i64>, expire_failed: Option<i64>) {
    let positive = |v: Option<i64>, default: u64| v.filter(|&n| n > 0).map_or(default, |n| n as u64);
    *dns_cache().lock().unwrap_or_else(|e| e.into_inner()) =
        DnsCache::new(positive(size, 1007) as usize, positive(expire, 3600), positive(expire_failed, 60));
}

/// `dns-cache-hosts()`: a file in /etc/hosts' format whose names the DNS cache answers with.
/// Read again when it changes (checked at most once a second), as syslog-ng does.
#[derive(Default)]
struct HostsFile {
    path: Option<std::path::PathBuf>,
    modified: Option<std::time::SystemTime>,
    checked: u64,
    names: HashMap<IpAddr, Arc<str>>,
}

fn hosts_file() -> &'static Mutex<HostsFile> {
    static HOSTS: OnceLock<Mutex<HostsFile>> = OnceLock::new();
    HOSTS.get_or_init(Mutex::default)
}

/// Sets the `dns-cache-hosts()` file (`None`: none), at each start and reload.
pub fn set_dns_cache_hosts(path: Option<&str>) {
    let mut hosts = hosts_file().lock().unwrap_or_else(|e| e.into_inner());
    *hosts = HostsFile { path: path.filter(|p| !p.is_empty()).map(Into::into), ..HostsFile::default() };
}

/// The name `dns-cache-hosts()` gives `ip`, if any.
fn hosts_file_name(ip: IpAddr) -> Option<Arc<str>> {
    let mut hosts = hosts_file().lock().unwrap_or_else(|e| e.into_inner());
    let path = hosts.path.clone()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if hosts.checked != now {
        hosts.checked = now;
        match std::fs::metadata(&path).and_then(|m| m.modified()) {
            Ok(modified) if hosts.modified != Some(modified) => {
                hosts.modified = Some(modified);
                hosts.names = match std::fs::read_to_string(&path) {
                    Ok(text) => parse_hosts(&text),
                    Err(e) => {
                        crate::internal::error(format!(
                            "Error loading dns cache hosts file; filename='{}', error='{}'",
                            path.display(),
                            crate::file::os_error(&e)
                        ));
                        HashMap::new()
                    }
                };
            }
            Ok(_) => {}
            Err(_) => {
                hosts.modified = None;
                hosts.names.clear();
            }
        }
    }
    hosts.names.get(&ip).cloned()
}

/// `ADDRESS NAME [ALIASES]` lines; `#` starts a comment line; a later line for an address wins.
fn parse_hosts(text: &str) -> HashMap<IpAddr, Arc<str>> {
    let mut names = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
        if let (Some(ip), Some(name)) = (fields.next().and_then(|a| a.parse::<IpAddr>().ok()), fields.next()) {
            names.insert(ip, Arc::from(name));
        }
    }
    names
}

/// The global `custom-domain()`, set at each start and reload ([`set_custom_domain`]).
static CUSTOM_DOMAIN: std::sync::RwLock<Option<Arc<str>>> = std::sync::RwLock::new(None);

/// Sets the domain this host's full name takes (`custom-domain()`; `None`: its own).
pub fn set_custom_domain(domain: Option<&str>) {
    *CUSTOM_DOMAIN.write().unwrap_or_else(|e| e.into_inner()) = domain.filter(|d| !d.is_empty()).map(Arc::from);
}

/// rsng's process id as text (syslog-ng puts its own PID on the messages it makes).
pub fn own_pid() -> &'static str {
    static PID: OnceLock<String> = OnceLock::new();
    PID.get_or_init(|| std::process::id().to_string())
}

fn reverse_lookup(ip: IpAddr) -> Option<Arc<str>> {
    let name = dns_lookup::lookup_addr(&ip).ok()?;
    // getnameinfo without NI_NAMEREQD returns the address itself when there is no name.
    if name.parse::<IpAddr>().is_ok() {
        return None;
    }
    Some(Arc::from(name))
}

#[cfg(test)]
mod tests {
    use super::parse_hosts;

    #[test]
    fn dns_cache_expires_answers_and_failures_and_keeps_its_size() {
        let mut cache = super::DnsCache::new(2, 10, 3);
        let ip = |n: u8| std::net::IpAddr::from([127, 0, 0, n]);
        cache.store(ip(1), Some("one".into()), 100);
        cache.store(ip(2), None, 100);
        assert_eq!(cache.get(ip(1), 110), Some(Some("one".into())));
        assert_eq!(cache.get(ip(1), 111), None, "an answer is kept dns-cache-expire() seconds");
        assert_eq!(cache.get(ip(2), 103), Some(None));
        assert_eq!(cache.get(ip(2), 104), None, "a failure is kept dns-cache-expire-failed() seconds");
        cache.store(ip(1), Some("uno".into()), 105);
        assert_eq!(cache.get(ip(1), 105), Some(Some("uno".into())), "an old answer is replaced");
        cache.store(ip(3), Some("three".into()), 105);
        assert_eq!(cache.get(ip(3), 105), None, "a full cache takes no new name");
    }

    #[test]
    fn hosts_lines_give_their_first_name() {
        let names = parse_hosts("# comment\n10.0.0.1 a.example b\n\n::1\tsix\nbad line\n10.0.0.1 again\n");
        assert_eq!(names.get(&"10.0.0.1".parse().unwrap()).map(|n| &**n), Some("again"));
        assert_eq!(names.get(&"::1".parse().unwrap()).map(|n| &**n), Some("six"));
        assert_eq!(names.len(), 2);
    }
}
