//! `encoding()` of socket sources: what a peer sends is converted from that character set to
//! UTF-8 with the system's iconv before it is cut into messages, as syslog-ng's buffered
//! readers (text streams and datagrams) do. A byte iconv cannot read is skipped with
//! syslog-ng's notice; a character cut at the end of a read waits for the next read.

use std::ffi::CString;

use nix::errno::Errno;
use nix::libc;

/// One connection's converter (iconv keeps state between calls for stateful character sets).
pub struct Decoder {
    cd: libc::iconv_t,
    /// The name as configured, for messages.
    name: String,
    /// The start of a character cut at the end of the last read.
    leftover: Vec<u8>,
    /// The leftover and the new bytes, converted together.
    joined: Vec<u8>,
}

// SAFETY: an iconv descriptor may move between threads; a Decoder is used by one task at a time
// (`&mut self`).
unsafe impl Send for Decoder {}

impl Decoder {
    /// A converter from `name` to UTF-8; `None` when iconv does not know `name` (the
    /// configuration front end refuses such a name first).
    pub fn new(name: &str) -> Option<Decoder> {
        let (to, from) = (CString::new("UTF-8").ok()?, CString::new(name).ok()?);
        // SAFETY: both arguments are valid C strings.
        let cd = unsafe { libc::iconv_open(to.as_ptr(), from.as_ptr()) };
        if cd as isize == -1 {
            return None;
        }
        Some(Decoder { cd, name: name.to_string(), leftover: Vec::new(), joined: Vec::new() })
    }

    /// Converts the bytes of a stream read, appending UTF-8 to `out`. An incomplete character at
    /// the end is kept for the next call.
    pub fn stream(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.leftover.is_empty() {
            let rest = self.convert(input, out);
            self.leftover.extend_from_slice(&input[input.len() - rest..]);
        } else {
            let mut joined = std::mem::take(&mut self.joined);
            joined.clear();
            joined.append(&mut self.leftover);
            joined.extend_from_slice(input);
            let rest = self.convert(&joined, out);
            self.leftover.extend_from_slice(&joined[joined.len() - rest..]);
            self.joined = joined;
        }
    }

    /// Whether bytes of a cut character wait for a read that did not come (the end of the
    /// stream); they are dropped with syslog-ng's error.
    pub fn end_of_stream(&mut self) -> bool {
        let cut = !self.leftover.is_empty();
        if cut {
            crate::internal::error(
                "EOF read on a channel with leftovers from previous character conversion, dropping input",
            );
            self.leftover.clear();
        }
        cut
    }

    /// Converts one datagram whole into `out` (cleared first). A datagram that ends inside a
    /// character is refused with syslog-ng's error: `false`.
    pub fn datagram(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        let rest = self.convert(input, out);
        if rest > 0 {
            crate::internal::error(format!(
                "Byte sequence too short, cannot convert an individual frame in its entirety; encoding='{}', \
                 avail_in='{rest}'",
                self.name
            ));
            return false;
        }
        true
    }

    /// Converts as much of `input` as forms whole characters, appending to `out`; returns how
    /// many bytes at the end are an incomplete character.
    fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut inp = input.as_ptr() as *mut libc::c_char;
        let mut in_left = input.len();
        while in_left > 0 {
            // UTF-8 takes at most 4 bytes a character (6 for what some iconvs still write).
            out.reserve(in_left * 4 + 16);
            let room = out.capacity() - out.len();
            let mut out_left = room;
            // SAFETY: the spare capacity of `out` is `room` bytes long.
            let mut outp = unsafe { out.as_mut_ptr().add(out.len()) } as *mut libc::c_char;
            // SAFETY: `inp`/`in_left` and `outp`/`out_left` describe valid buffers; iconv
            // advances them by what it converted.
            let done = unsafe { libc::iconv(self.cd, &mut inp, &mut in_left, &mut outp, &mut out_left) };
            // SAFETY: iconv wrote `room - out_left` bytes into the spare capacity.
            unsafe { out.set_len(out.len() + room - out_left) };
            if done != usize::MAX {
                break;
            }
            match Errno::last() {
                Errno::E2BIG => {}
                Errno::EINVAL => return in_left,
                Errno::EILSEQ => {
                    // SAFETY: `in_left > 0`, so `inp` points at a byte of `input`.
                    let byte = unsafe { *(inp as *const u8) };
                    crate::internal::notice(format!(
                        "Invalid byte sequence, skipping character; encoding='{}', char='0x{byte:02x}'",
                        self.name
                    ));
                    // SAFETY: skipping that one byte stays within `input`.
                    inp = unsafe { inp.add(1) };
                    in_left -= 1;
                }
                e => {
                    crate::internal::error(format!(
                        "Unknown error while converting input; error='{}', encoding='{}'",
                        e.desc(),
                        self.name
                    ));
                    return 0;
                }
            }
        }
        0
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `cd` was opened by `iconv_open` and is closed once.
        unsafe { libc::iconv_close(self.cd) };
    }
}

#[cfg(test)]
mod tests {
    use super::Decoder;

    #[test]
    fn latin2_to_utf8_across_reads() {
        let mut d = Decoder::new("ISO-8859-2").expect("glibc knows ISO-8859-2");
        let mut out = Vec::new();
        d.stream(b"caf\xe9 \xb1\n", &mut out);
        assert_eq!(out, "café ą\n".as_bytes());
    }

    #[test]
    fn a_character_cut_between_reads_waits_for_the_rest() {
        let mut d = Decoder::new("UTF-16LE").expect("glibc knows UTF-16LE");
        let mut out = Vec::new();
        d.stream(b"a\x00b", &mut out);
        assert_eq!(out, b"a");
        d.stream(b"\x00\n\x00", &mut out);
        assert_eq!(out, b"ab\n");
        assert!(!d.end_of_stream());
    }

    #[test]
    fn unreadable_bytes_are_skipped_and_cut_datagrams_refused() {
        let mut d = Decoder::new("ASCII").expect("glibc knows ASCII");
        let mut out = Vec::new();
        d.stream(b"ascii \xe9x\n", &mut out);
        assert_eq!(out, b"ascii x\n");
        let mut d = Decoder::new("UTF-16LE").expect("glibc knows UTF-16LE");
        assert!(!d.datagram(b"a\x00b", &mut out));
        assert!(d.datagram(b"a\x00", &mut out));
        assert_eq!(out, b"a");
        assert!(Decoder::new("NO-SUCH-CHARSET").is_none());
    }
}
