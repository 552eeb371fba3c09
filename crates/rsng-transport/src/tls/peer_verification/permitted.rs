//! `permitted-peers()` (rsng extension, like rsyslog's PermittedPeer): after the chain has been
//! verified, the peer's certificate must name one of the permitted hosts. The names compared are
//! its DNS subjectAltNames, or its subject's CN when it has no DNS subjectAltName. Patterns follow
//! RFC 6125: case-insensitive, and `*` stands for exactly one whole left-most label.

use openssl::nid::Nid;
use openssl::x509::X509Ref;

/// Why a `permitted-peers()` pattern can never match, or `None` when it is usable.
pub fn pattern_problem(pattern: &str) -> Option<&'static str> {
    let p = pattern.strip_suffix('.').unwrap_or(pattern);
    if p.is_empty() {
        return Some("the pattern is empty");
    }
    let mut labels = p.split('.');
    let first = labels.next().unwrap_or_default();
    let rest: Vec<&str> = labels.collect();
    if first.contains('*') && first != "*" {
        return Some("'*' must be a whole label (like *.example.com)");
    }
    if rest.iter().any(|l| l.contains('*')) {
        return Some("'*' is allowed in the left-most label only");
    }
    if first == "*" && rest.len() < 2 {
        return Some("a wildcard needs at least two labels after it (like *.example.com)");
    }
    if rest.iter().any(|l| l.is_empty()) || first.is_empty() {
        return Some("the pattern has an empty label");
    }
    None
}

/// Whether the certificate name `name` matches the `permitted-peers()` pattern `pattern`.
pub fn permitted_peer_match(name: &str, pattern: &str) -> bool {
    if pattern_problem(pattern).is_some() {
        return false;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    // A wildcard in the certificate's own name is not expanded: only the configuration's is.
    if name.is_empty() || name.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            name.split_once('.').is_some_and(|(first, rest)| !first.is_empty() && rest.eq_ignore_ascii_case(suffix))
        }
        None => name.eq_ignore_ascii_case(pattern),
    }
}

/// The names of `cert` that `permitted-peers()` compares: its DNS subjectAltNames, else its
/// subject's CN. The flag tells which.
pub fn peer_names(cert: &X509Ref) -> (Vec<String>, bool) {
    let sans: Vec<String> = cert
        .subject_alt_names()
        .map(|names| names.iter().filter_map(|n| n.dnsname().map(String::from)).collect())
        .unwrap_or_default();
    if !sans.is_empty() {
        return (sans, true);
    }
    let cn = cert
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
        .collect();
    (cn, false)
}

/// Whether any of `names` matches any of `patterns`.
pub fn permitted(names: &[String], patterns: &[String]) -> bool {
    names.iter().any(|n| patterns.iter().any(|p| permitted_peer_match(n, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_match_case_insensitively() {
        assert!(permitted_peer_match("logs.example.com", "logs.example.com"));
        assert!(permitted_peer_match("LOGS.Example.COM", "logs.example.com"));
        assert!(permitted_peer_match("logs.example.com.", "logs.example.com"));
        assert!(!permitted_peer_match("logs2.example.com", "logs.example.com"));
        assert!(!permitted_peer_match("logs.example.com.evil.net", "logs.example.com"));
        assert!(!permitted_peer_match("", "logs.example.com"));
    }

    #[test]
    fn a_wildcard_is_one_whole_left_most_label() {
        assert!(permitted_peer_match("a.web.example.com", "*.web.example.com"));
        assert!(permitted_peer_match("A-1.WEB.example.com", "*.web.example.com"));
        assert!(!permitted_peer_match("web.example.com", "*.web.example.com"));
        assert!(!permitted_peer_match("a.b.web.example.com", "*.web.example.com"));
        assert!(!permitted_peer_match(".web.example.com", "*.web.example.com"));
        assert!(!permitted_peer_match("a.web.example.org", "*.web.example.com"));
        // The certificate's wildcard is not a pattern.
        assert!(!permitted_peer_match("*.web.example.com", "*.web.example.com"));
    }

    #[test]
    fn unusable_patterns_are_named_and_never_match() {
        for bad in ["", "*", "*.com", "a*.example.com", "logs.*.com", "**.example.com", "a..b"] {
            assert!(pattern_problem(bad).is_some(), "{bad}");
            assert!(!permitted_peer_match("a.example.com", bad), "{bad}");
        }
        assert_eq!(pattern_problem("*.example.com"), None);
        assert_eq!(pattern_problem("localhost"), None);
    }

    #[test]
    fn any_name_against_any_pattern() {
        let names = vec!["a.example.net".to_string(), "b.web.example.com".to_string()];
        assert!(permitted(&names, &["x.example.org".into(), "*.web.example.com".into()]));
        assert!(!permitted(&names, &["x.example.org".into()]));
        assert!(!permitted(&[], &["*.web.example.com".into()]));
    }
}
