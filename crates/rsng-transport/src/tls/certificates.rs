//! Every certificate a `tls()` block has loaded or met (its own, its CAs, its peers), with the
//! end of its validity, for `syslog-ng-ctl stats` (rsng extension): expiry is watched before it
//! bites, from the same place as every other counter.
//!
//! Rows are kept per `tls()` block (its location) and replaced when the block is loaded again.
//! A peer certificate that ends within the block's `expiry-warning-days()` is logged once per
//! peer certificate.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::x509::X509Ref;

use super::{LogSink, Severity};

/// Peer certificates remembered per `tls()` block; later ones are neither listed nor warned
/// about, so that many clients cannot grow the table without bound.
pub const MAX_PEERS: usize = 1000;

/// Whose certificate a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The block's own certificate (`cert-file()`, `pkcs12-file()`).
    Own,
    /// A certificate of `ca-file()`.
    Ca,
    /// A peer's leaf certificate, seen in a completed handshake.
    Peer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Own => "own",
            Role::Ca => "ca",
            Role::Peer => "peer",
        }
    }
}

/// (location, role, subject) → not-after as a Unix time.
type Table = BTreeMap<(String, Role, String), i64>;

fn table() -> MutexGuard<'static, Table> {
    static TABLE: Mutex<Table> = Mutex::new(BTreeMap::new());
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The end of `t`'s validity as a Unix time.
pub(crate) fn unix_time(t: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

fn subject(cert: &X509Ref) -> String {
    // `;` separates the fields of a stats row.
    super::peer_verification::format_dn(cert.subject_name()).replace(';', ",")
}

/// Replaces the own and CA rows of the block at `location` (its peers stay: they are still
/// connected or will be met again).
pub(crate) fn loaded(location: &str, own: Option<&X509Ref>, cas: &[&X509Ref]) {
    let mut t = table();
    t.retain(|(loc, role, _), _| loc != location || *role == Role::Peer);
    for (role, cert) in own.into_iter().map(|c| (Role::Own, c)).chain(cas.iter().map(|c| (Role::Ca, *c))) {
        if let Some(end) = unix_time(cert.not_after()) {
            t.insert((location.to_string(), role, subject(cert)), end);
        }
    }
}

/// Records a peer's certificate; the first time it is seen, warns when it ends within
/// `warning_days`.
pub(crate) fn peer_seen(location: &str, cert: &X509Ref, warning_days: u32, log: &LogSink) {
    let Some(end) = unix_time(cert.not_after()) else { return };
    let key = (location.to_string(), Role::Peer, subject(cert));
    {
        let mut t = table();
        if t.get(&key) == Some(&end) {
            return;
        }
        let peers = t.keys().filter(|(loc, role, _)| loc == location && *role == Role::Peer).count();
        if peers >= MAX_PEERS && !t.contains_key(&key) {
            return;
        }
        t.insert(key.clone(), end);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let days_left = (end - now).div_euclid(86_400);
    if warning_days > 0 && days_left < i64::from(warning_days) {
        log(
            Severity::Warning,
            format!(
                "Peer certificate expires soon; subject='{}', not_after='{}', days_left='{days_left}', location='{location}'",
                key.2,
                cert.not_after()
            ),
        );
    }
}

/// Every row: (location, role, subject, not-after as a Unix time).
pub fn certificate_expiries() -> Vec<(String, Role, String, i64)> {
    table().iter().map(|((loc, role, subject), end)| (loc.clone(), *role, subject.clone(), *end)).collect()
}
