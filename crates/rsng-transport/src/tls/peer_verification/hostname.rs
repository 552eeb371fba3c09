//! The client's check of the server's name, as syslog-ng's `tls_verify_certificate_name` does it
//! with the CVE-2024-47619 fix that Debian's 3.38 carries: subjectAltName DNS entries match label
//! by label, case-insensitively, with at most one `*` in the left-most label and no `?`; IP
//! addresses compare as addresses and never match a wildcard; the subject's CN is used only when
//! the certificate has no DNS or IP subjectAltName.

use std::net::IpAddr;

use openssl::nid::Nid;
use openssl::x509::X509Ref;

use super::dn::glob_match;

/// Whether `host` (a name or an address) matches the certificate name `pattern`.
pub fn wildcard_match(host: &str, pattern: &str) -> bool {
    if pattern.contains('?') {
        return false;
    }
    // GLib splits an empty string into no labels at all: only empty matches empty.
    if host.is_empty() || pattern.is_empty() {
        return host.is_empty() && pattern.is_empty();
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return !pattern.contains('*') && pattern.parse::<IpAddr>().is_ok_and(|p| p == ip);
    }
    let host_labels: Vec<&str> = host.split('.').collect();
    let pattern_labels: Vec<&str> = pattern.split('.').collect();
    if host_labels.len() != pattern_labels.len() {
        return false;
    }
    for (i, (h, p)) in host_labels.iter().zip(&pattern_labels).enumerate() {
        let stars = p.matches('*').count();
        if stars > 1 || (stars == 1 && i != 0) {
            return false;
        }
        if !glob_match(&p.to_ascii_lowercase(), &h.to_ascii_lowercase()) {
            return false;
        }
    }
    true
}

/// Checks `cert` against `host`. Returns whether it matches and the certificate name that was
/// compared last (for the message, as syslog-ng reports it).
pub fn matches_host(cert: &X509Ref, host: &str) -> (bool, String) {
    let mut shown = String::new();
    let mut found = false;
    if let Some(names) = cert.subject_alt_names() {
        for name in names.iter() {
            if let Some(dns) = name.dnsname() {
                found = true;
                shown = dns.to_string();
                if dns.len() > 255 {
                    return (false, shown);
                }
                if wildcard_match(host, dns) {
                    return (true, shown);
                }
            } else if let Some(ip) = name.ipaddress() {
                let addr = match ip.len() {
                    4 => <[u8; 4]>::try_from(ip).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(ip).ok().map(IpAddr::from),
                    _ => None,
                };
                if let Some(addr) = addr {
                    found = true;
                    shown = addr.to_string();
                    if host.parse::<IpAddr>().is_ok_and(|h| h == addr) {
                        return (true, shown);
                    }
                }
            }
        }
    }
    if !found {
        if let Some(cn) = cert.subject_name().entries_by_nid(Nid::COMMONNAME).next() {
            shown = String::from_utf8_lossy(cn.data().as_slice()).into_owned();
            return (wildcard_match(host, &shown), shown);
        }
    }
    (false, shown)
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn accepted() {
        assert!(wildcard_match("test", "test"));
        assert!(wildcard_match("test", "*"));
        assert!(wildcard_match("test", "t*t"));
        assert!(wildcard_match("test", "t*"));
        assert!(wildcard_match("", ""));
        assert!(wildcard_match("test.one.two", "test.one.two"));
        assert!(wildcard_match("a.example.com", "*.example.com"));
        assert!(wildcard_match("192.0.2.0", "192.0.2.0"));
        assert!(wildcard_match("2001:0:130F::9C0:876A:130B", "2001:0000:130F:0000:0000:09C0:876A:130B"));
        assert!(wildcard_match("TeST", "TEst"));
        assert!(wildcard_match("test.three", "*T.three"));
    }

    #[test]
    fn refused() {
        assert!(!wildcard_match("test", "**"));
        assert!(!wildcard_match("test", "*es*"));
        assert!(!wildcard_match("test", "t*?"));
        assert!(!wildcard_match("", "*"));
        assert!(!wildcard_match("test", ""));
        assert!(!wildcard_match("test.two", "test.*"));
        assert!(!wildcard_match("test.one.two", "test.one"));
        assert!(!wildcard_match("a.b.example.com", "*.example.com"));
        assert!(!wildcard_match("test.two", "test.???"));
        assert!(!wildcard_match("192.0.2.0", "*.0.2.0"));
        assert!(!wildcard_match("localhost", "other.example"));
    }
}
