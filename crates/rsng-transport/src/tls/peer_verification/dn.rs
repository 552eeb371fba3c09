//! Distinguished names as syslog-ng prints them, and `trusted-dn()` pattern matching.

pub use crate::tls::ffi::format_dn;

/// GLib's `g_pattern_match_simple`: `*` matches any run of characters (also none), `?` exactly
/// one; every other character matches itself. There is no escaping.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point: linear in practice, no recursion.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("CN=client1, OU=Logging, O=Test", "CN=client1, OU=Logging, O=Test"));
        assert!(glob_match("*, O=Test", "CN=client1, OU=Logging, O=Test"));
        assert!(glob_match("CN=client?, *", "CN=client1, OU=Logging, O=Test"));
        assert!(!glob_match("CN=client2, *", "CN=client1, OU=Logging, O=Test"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(!glob_match("", "x"));
        assert!(glob_match("?é", "xé"));
    }
}
