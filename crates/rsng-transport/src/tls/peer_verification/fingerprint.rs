//! `trusted-keys()` and `trusted-fingerprints()`: certificates named by a fingerprint, written as
//! syslog-ng writes them (`SHA1:AA:BB:…`, the digest's name, then upper-case hex pairs). syslog-ng
//! 3.38 computes SHA-1 only; 4.x takes any digest OpenSSL knows (`SHA256:…`, `SHA512:…`).

use openssl::hash::MessageDigest;
use openssl::x509::X509Ref;

/// `cert`'s digest with `md`, as `NAME:AA:BB:…`.
fn formatted(cert: &X509Ref, md: MessageDigest, name: &str) -> Option<String> {
    let digest = cert.digest(md).ok()?;
    let mut out = String::with_capacity(name.len() + digest.len() * 3);
    out.push_str(name);
    for b in digest.iter() {
        out.push_str(&format!(":{b:02X}"));
    }
    Some(out)
}

/// The SHA-1 fingerprint of `cert` as `SHA1:` followed by colon-separated upper-case hex pairs.
pub fn sha1_fingerprint(cert: &X509Ref) -> Option<String> {
    formatted(cert, MessageDigest::sha1(), "SHA1")
}

/// The digest an entry names (`SHA256:…` names SHA-256); `None` when it names none OpenSSL
/// knows, or starts with a hex pair instead of a name.
pub fn entry_digest(entry: &str) -> Option<MessageDigest> {
    let (name, _) = entry.split_once(':')?;
    if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    MessageDigest::from_name(name)
}

/// Whether `cert` is the certificate `entry` names, with the entry's digest.
pub fn matches_entry(cert: &X509Ref, entry: &str) -> bool {
    let (Some(md), Some((name, _))) = (entry_digest(entry), entry.split_once(':')) else { return false };
    formatted(cert, md, &name.to_ascii_uppercase()).is_some_and(|fp| fp.eq_ignore_ascii_case(entry.trim()))
}
