//! `file()` destination: the path is a template (one file per distinct expansion, kept open and
//! closed after `time-reap()` idle seconds), directories are made with `create-dirs(yes)`, new
//! files get `owner()`/`group()`/`perm()`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rsng_core::template::{compile, FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_transport::FileOwnership;

use crate::internal;
use crate::options::Options;
use crate::writer::{WireFormat, Writer};
use crate::{BuildContext, Destination, DestinationContext, DriverError, Task};

const BATCH: usize = 1024;

pub struct FileDestination {
    path: Template,
    writer: Writer,
    create_dirs: bool,
    file_own: FileOwnership,
    dir_own: FileOwnership,
    time_reap: Duration,
}

pub fn build(_object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Destination>, DriverError> {
    let text = opts.positional().unwrap_or_default();
    let path = compile(text, &ctx.compile)
        .map_err(|e| DriverError::new(format!("error compiling the file name template `{text}`: {e}"), opts.span()))?;
    let perm = |name: &str, dflt: Option<u32>| match opts.int(name).or_else(|| opts.globals.int(name)) {
        Some(p) if p >= 0 => Some(p as u32),
        Some(_) => None,
        None => dflt,
    };
    let owner = |name: &str| opts.str(name).or_else(|| opts.globals.str(name)).map(String::from);
    Ok(Box::new(FileDestination {
        path,
        writer: Writer::new(opts, WireFormat::File, ctx)?,
        create_dirs: opts.bool_or_global("create-dirs").unwrap_or(false),
        file_own: FileOwnership { owner: owner("owner"), group: owner("group"), perm: perm("perm", Some(0o600)) },
        dir_own: FileOwnership {
            owner: owner("dir-owner"),
            group: owner("dir-group"),
            perm: perm("dir-perm", Some(0o700)),
        },
        time_reap: Duration::from_secs(opts.int_or_global("time-reap").filter(|&n| n > 0).unwrap_or(60) as u64),
    }))
}

struct OpenFile {
    file: File,
    buf: Vec<u8>,
    last_used: Instant,
}

impl FileDestination {
    fn open(&self, path: &Path) -> std::io::Result<File> {
        let open = || OpenOptions::new().append(true).create(true).mode(self.file_own.perm.unwrap_or(0o600)).open(path);
        let file = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.create_dirs => {
                if let Some(dir) = path.parent() {
                    self.make_dirs(dir)?;
                }
                open()?
            }
            other => other?,
        };
        if let Err(e) = rsng_transport::apply_ownership(path, &self.file_own) {
            internal::error(format!("Error setting file ownership; file='{}', error='{e}'", path.display()));
        }
        Ok(file)
    }

    fn make_dirs(&self, dir: &Path) -> std::io::Result<()> {
        let mut missing = Vec::new();
        let mut d = dir;
        while !d.as_os_str().is_empty() && !d.exists() {
            missing.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        for d in missing.iter().rev() {
            match std::fs::DirBuilder::new().mode(self.dir_own.perm.unwrap_or(0o700)).create(d) {
                Ok(()) => {
                    let _ = rsng_transport::apply_ownership(d, &self.dir_own);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Destination for FileDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let mut this = *self;
            let queue = ctx.queue;
            let mut files: HashMap<PathBuf, OpenFile> = HashMap::new();
            let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
            let mut path_buf = Vec::with_capacity(256);
            let path_opts = FormatOptions::default();
            let literal = this.path.as_literal().map(PathBuf::from);
            let mut reap = tokio::time::interval(this.time_reap.max(Duration::from_secs(1)));
            loop {
                let open = tokio::select! {
                    open = queue.pop(BATCH, &mut batch) => open,
                    _ = reap.tick() => {
                        let ttl = this.time_reap;
                        files.retain(|_, f| f.last_used.elapsed() < ttl);
                        continue;
                    }
                };
                if !open {
                    break;
                }
                let now = Instant::now();
                let mut written = 0u64;
                for msg in batch.drain(..) {
                    let path = match &literal {
                        Some(p) => p.clone(),
                        None => {
                            path_buf.clear();
                            let _ = this.path.format(&msg, &path_opts, &mut path_buf);
                            PathBuf::from(String::from_utf8_lossy(&path_buf).into_owned())
                        }
                    };
                    if !files.contains_key(&path) {
                        match this.open(&path) {
                            Ok(file) => {
                                files.insert(path.clone(), OpenFile { file, buf: Vec::new(), last_used: now });
                            }
                            Err(e) => {
                                internal::error(format!(
                                    "Error opening file for writing; filename='{}', error='{e}'",
                                    path.display()
                                ));
                                continue;
                            }
                        }
                    }
                    let f = files.get_mut(&path).expect("opened above");
                    f.last_used = now;
                    if this.writer.format(&msg, &mut f.buf) {
                        written += 1;
                    }
                }
                for (path, f) in files.iter_mut() {
                    if !f.buf.is_empty() {
                        if let Err(e) = f.file.write_all(&f.buf) {
                            internal::error(format!(
                                "I/O error occurred while writing; file='{}', error='{e}'",
                                path.display()
                            ));
                        }
                        f.buf.clear();
                    }
                }
                queue.stats.written.fetch_add(written, Ordering::Relaxed);
            }
        })
    }
}
