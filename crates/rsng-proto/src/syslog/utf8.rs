//! UTF-8 checks and `sanitize-utf8` escaping, as GLib and syslog-ng do them.

/// UTF-8 as GLib's `g_utf8_validate` sees it: a NUL byte is invalid.
pub fn is_glib_valid_utf8(s: &[u8]) -> bool {
    !s.contains(&0) && std::str::from_utf8(s).is_ok()
}

/// syslog-ng's `sanitize-utf8` escaping: invalid bytes and control
/// characters become `\xNN` (`\b \f \n \r \t` by name), `\` becomes `\\`.
pub fn sanitize_utf8(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 16);
    let mut rest = s;
    while !rest.is_empty() {
        let valid = match std::str::from_utf8(rest) {
            Ok(v) => v,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        for ch in valid.chars() {
            match ch {
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\\' => out.extend_from_slice(b"\\\\"),
                c if (c as u32) < 32 => out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes()),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        rest = &rest[valid.len()..];
        if let Some((&bad, tail)) = rest.split_first() {
            out.extend_from_slice(format!("\\x{bad:02x}").as_bytes());
            rest = tail;
        }
    }
    out
}
