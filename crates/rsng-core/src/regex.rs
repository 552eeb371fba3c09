//! PCRE patterns, compiled with PCRE2 as syslog-ng compiles them, so a pattern is accepted or
//! refused exactly as there.

/// A pattern PCRE2 refuses: the message and the offset in the pattern where it stopped.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RegexError {
    pub offset: usize,
    pub message: String,
}

/// Compiles `pattern` to check it; `caseless` mirrors the `ignore-case` matcher flag.
///
/// # Errors
/// The compile error PCRE2 reports.
pub fn check_pcre(pattern: &str, caseless: bool) -> Result<(), RegexError> {
    pcre2::bytes::RegexBuilder::new().caseless(caseless).utf(false).build(pattern).map(|_| ()).map_err(|e| RegexError {
        offset: e.offset().unwrap_or(0),
        // Display prefixes "PCRE2: error compiling pattern [at offset N]: "; keep the message.
        message: {
            let text = e.to_string();
            text.split_once("pattern")
                .and_then(|(_, rest)| rest.split_once(": "))
                .map_or(text.clone(), |(_, m)| m.to_string())
        },
    })
}

#[cfg(test)]
mod tests {
    use super::check_pcre;

    #[test]
    fn accepts_and_refuses_like_pcre() {
        assert!(check_pcre(r"^(%[A-Z]+\-\d\-[0-9A-Z]+): ([^\n]+)", false).is_ok());
        assert!(check_pcre(r"(?<name>x)\k<name>", false).is_ok());
        let err = check_pcre("[unclosed", false).unwrap_err();
        assert!(err.message.contains("missing terminating ]"), "{}", err.message);
        assert_eq!(err.offset, 9);
    }
}
