//! `keylog-file()`: session secrets in the NSS key log format, so that a capture can be decrypted
//! while debugging. The secrets go to that file only, never to rsng's own log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use openssl::ssl::SslContextBuilder;

use super::{LogSink, Severity};

/// Opens `path` for appending and has every session of `builder` write its secrets there.
pub fn install(builder: &mut SslContextBuilder, path: &Path, log: &LogSink) -> std::io::Result<()> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let file: Arc<Mutex<File>> = Arc::new(Mutex::new(OpenOptions::new().create(true).append(true).open(path)?));
    if !WARNED.swap(true, Ordering::Relaxed) {
        log(
            Severity::Warning,
            "WARNING: TLS keylog file has been set up, it should only be used during debugging sessions".to_string(),
        );
    }
    let sink = log.clone();
    builder.set_keylog_callback(move |_, line| {
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        let written = f.write_all(line.as_bytes()).and_then(|()| f.write_all(b"\n")).and_then(|()| f.flush());
        if let Err(e) = written {
            sink(Severity::Error, format!("Couldn't write to TLS keylogfile; error='{e}'"));
        }
    });
    Ok(())
}
