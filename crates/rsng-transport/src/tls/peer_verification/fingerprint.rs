//! `trusted-keys()`: certificates named by their SHA-1 fingerprint, written as syslog-ng writes
//! them (`SHA1:AA:BB:…`, upper-case hex) and compared as plain strings, as syslog-ng does.

use openssl::hash::MessageDigest;
use openssl::x509::X509Ref;

/// The SHA-1 fingerprint of `cert` as `SHA1:` followed by colon-separated upper-case hex pairs.
pub fn sha1_fingerprint(cert: &X509Ref) -> Option<String> {
    let digest = cert.digest(MessageDigest::sha1()).ok()?;
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    Some(format!("SHA1:{}", hex.join(":")))
}
