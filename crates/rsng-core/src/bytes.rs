//! Byte-string helpers shared by templates, filters and parsers.

/// C string semantics: `v` up to its first NUL, as syslog-ng's C functions see a value.
pub fn c_str(v: &[u8]) -> &[u8] {
    match v.iter().position(|&b| b == 0) {
        Some(n) => &v[..n],
        None => v,
    }
}
