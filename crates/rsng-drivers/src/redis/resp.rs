//! The Redis protocol (RESP2) as far as `redis()` needs it: commands out as arrays of bulk
//! strings, replies read whole and told apart into errors and the rest.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// Appends `args` to `out` as one command.
pub fn write_command<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    out.push(b'*');
    crate::writer::push_u32(out, args.len() as u32);
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        crate::writer::push_u32(out, a.len() as u32);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// A reply, as far as the destination cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok,
    /// `-ERR ...`: the server refused the command.
    Error(String),
}

/// Reads one reply (nested arrays whole).
///
/// # Errors
/// The connection failed or closed, or the server sent something that is not RESP.
pub async fn read_reply<R: tokio::io::AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> std::io::Result<Reply> {
    let mut remaining = 1u64;
    let mut first_error = None;
    while remaining > 0 {
        remaining -= 1;
        line.clear();
        let n = r.read_until(b'\n', line).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "Server closed the connection"));
        }
        if line.len() < 3 || !line.ends_with(b"\r\n") {
            return Err(bad());
        }
        let body = &line[1..line.len() - 2];
        match line[0] {
            b'+' | b':' | b'_' | b',' | b'#' | b'(' => {}
            b'-' => {
                if first_error.is_none() {
                    first_error = Some(String::from_utf8_lossy(body).into_owned());
                }
            }
            b'$' => {
                let len = number(body)?;
                if len >= 0 {
                    // The bulk string and its CRLF, thrown away.
                    let mut skip = (&mut *r).take(len as u64 + 2);
                    let copied = tokio::io::copy(&mut skip, &mut tokio::io::sink()).await?;
                    if copied != len as u64 + 2 {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "Server closed the connection",
                        ));
                    }
                }
            }
            b'*' => {
                let len = number(body)?;
                if len > 0 {
                    remaining += len as u64;
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(first_error.map_or(Reply::Ok, Reply::Error))
}

fn number(text: &[u8]) -> std::io::Result<i64> {
    std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).ok_or_else(bad)
}

fn bad() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, "Protocol error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        write_command(&mut out, [&b"SET"[..], b"k", b""].into_iter());
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }

    #[tokio::test]
    async fn replies_of_every_kind() {
        let input: &[u8] = b"+OK\r\n:5\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\nx\r\n*1\r\n:1\r\n-ERR wrong\r\n";
        let mut r = BufReader::new(input);
        let mut line = Vec::new();
        for _ in 0..5 {
            assert_eq!(read_reply(&mut r, &mut line).await.unwrap(), Reply::Ok);
        }
        assert_eq!(read_reply(&mut r, &mut line).await.unwrap(), Reply::Error("ERR wrong".into()));
        assert!(read_reply(&mut r, &mut line).await.is_err());
    }
}
