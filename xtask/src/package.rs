//! `cargo xtask deb`: the Debian package of rsng, staged from the release binaries and the
//! files in `packaging/debian/`, built with `dpkg-deb`.
//!
//! The manual pages and completions are made by the staged binaries themselves
//! (`--generate`), so they describe exactly the command lines that are packaged.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What goes into a package build.
#[derive(Debug, Clone)]
pub struct DebOptions {
    /// The directory holding the `rsng` and `rsng-ctl` binaries to package.
    pub binaries: PathBuf,
    /// Where the staging tree and the `.deb` are written.
    pub out_dir: PathBuf,
}

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Cargo's target directory for this workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

pub const USAGE: &str = "\
usage: cargo xtask deb [--no-build] [--out DIR]

Builds rsng (release) and packs target/debian/rsng_<version>_<arch>.deb.
  --no-build  package the binaries already in target/release
  --out DIR   write the package (and its staging tree) to DIR";

/// `cargo xtask deb [--no-build] [--out DIR]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut build = true;
    let mut out_dir = target_dir().join("debian");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-build" => build = false,
            "--out" => out_dir = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        println!("+ {cargo} build --release -p rsng");
        let status = Command::new(&cargo)
            .args(["build", "--release", "-p", "rsng"])
            .current_dir(workspace_root())
            .status()
            .map_err(|e| format!("cannot run `{cargo}`: {e}"))?;
        if !status.success() {
            return Err(format!("`{cargo} build --release -p rsng` failed ({status})"));
        }
    }
    let deb = build_deb(&DebOptions { binaries: target_dir().join("release"), out_dir })?;
    println!("built {}", deb.display());
    Ok(())
}

/// Stages the package tree and builds the `.deb`; returns its path.
///
/// # Errors
/// A missing binary or tool (with the Debian package that has it), or a failed step.
pub fn build_deb(opts: &DebOptions) -> Result<PathBuf, String> {
    for (tool, package) in
        [("dpkg-deb", "dpkg"), ("dpkg-shlibdeps", "dpkg-dev"), ("strip", "binutils"), ("gzip", "gzip")]
    {
        if !on_path(tool) {
            return Err(format!("`{tool}` is missing: install the Debian package {package}"));
        }
    }
    let files = workspace_root().join("packaging/debian");
    let version = env!("CARGO_PKG_VERSION");
    let arch = output("dpkg", &["--print-architecture"], None)?.trim().to_string();
    let name = format!("rsng_{version}_{arch}");
    let root = opts.out_dir.join(&name);
    if root.exists() {
        fs::remove_dir_all(&root).map_err(|e| format!("cannot clear {}: {e}", root.display()))?;
    }

    // The binaries, without debugging information (the release profile keeps line tables).
    for bin in ["rsng", "rsng-ctl"] {
        let from = opts.binaries.join(bin);
        if !from.is_file() {
            return Err(format!("{} is missing: build it first (cargo build --release -p rsng)", from.display()));
        }
        let to = root.join("usr/sbin").join(bin);
        copy(&from, &to, 0o755)?;
        exec("strip", &["--strip-debug", "--remove-section=.comment", path_str(&to)?], None)?;
    }

    // Manual pages and completions, from the staged binaries.
    for bin in ["rsng", "rsng-ctl"] {
        let exe = root.join("usr/sbin").join(bin);
        let page = root.join(format!("usr/share/man/man8/{bin}.8"));
        write(&page, &output(path_str(&exe)?, &["--generate", "man"], None)?, 0o644)?;
        // -n: no file name or time stamp inside, as Debian's own tools compress.
        exec("gzip", &["-9nf", path_str(&page)?], None)?;
        for (kind, path) in [
            ("complete-bash", format!("usr/share/bash-completion/completions/{bin}")),
            ("complete-zsh", format!("usr/share/zsh/vendor-completions/_{bin}")),
            ("complete-fish", format!("usr/share/fish/vendor_completions.d/{bin}.fish")),
        ] {
            write(&root.join(path), &output(path_str(&exe)?, &["--generate", kind], None)?, 0o644)?;
        }
    }

    copy(&files.join("rsng.service"), &root.join("usr/lib/systemd/system/rsng.service"), 0o644)?;
    copy(&files.join("rsng.conf"), &root.join("etc/rsng/rsng.conf"), 0o644)?;
    create_dir(&root.join("etc/rsng/conf.d"))?;
    copy(&files.join("logrotate"), &root.join("etc/logrotate.d/rsng"), 0o644)?;
    copy(&files.join("copyright"), &root.join("usr/share/doc/rsng/copyright"), 0o644)?;

    // Control files.
    let control_dir = root.join("DEBIAN");
    for script in ["postinst", "prerm", "postrm"] {
        copy(&files.join(script), &control_dir.join(script), 0o755)?;
    }
    copy(&files.join("conffiles"), &control_dir.join("conffiles"), 0o644)?;
    let template = fs::read_to_string(files.join("control")).map_err(|e| format!("packaging/debian/control: {e}"))?;
    let control = template
        .replace("@VERSION@", version)
        .replace("@ARCH@", &arch)
        .replace("@INSTALLED_SIZE@", &installed_size_kib(&root)?.to_string())
        .replace("@DEPENDS@", &shared_library_depends(&root, &opts.out_dir)?);
    write(&control_dir.join("control"), &control, 0o644)?;
    write(&control_dir.join("md5sums"), &md5sums(&root)?, 0o644)?;

    set_dir_modes(&root)?;
    let deb = opts.out_dir.join(format!("{name}.deb"));
    exec("dpkg-deb", &["--root-owner-group", "--build", path_str(&root)?, path_str(&deb)?], None)?;
    Ok(deb)
}

/// `Depends:` for the libraries the binaries link (libc, libssl, …), as dpkg-shlibdeps finds
/// them.
fn shared_library_depends(root: &Path, out_dir: &Path) -> Result<String, String> {
    // dpkg-shlibdeps wants to run in a source tree: a debian/control of two short stanzas is enough.
    let tree = out_dir.join("shlibdeps");
    write(&tree.join("debian/control"), "Source: rsng\n\nPackage: rsng\nArchitecture: any\n", 0o644)?;
    let mut args = vec!["-O".to_string()];
    for bin in ["rsng", "rsng-ctl"] {
        args.push(format!("-e{}", root.join("usr/sbin").join(bin).display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = output("dpkg-shlibdeps", &args, Some(&tree))?;
    let depends = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .ok_or_else(|| format!("dpkg-shlibdeps printed no shlibs:Depends line: {out}"))?;
    Ok(depends.trim().to_string())
}

/// The size of the installed files in KiB, as `Installed-Size:` counts it.
fn installed_size_kib(root: &Path) -> Result<u64, String> {
    let mut bytes = 0;
    for file in files_under(root)? {
        bytes += fs::metadata(&file).map_err(|e| format!("{}: {e}", file.display()))?.len();
    }
    Ok(bytes.div_ceil(1024))
}

/// `DEBIAN/md5sums`: a checksum per file outside `/etc` (conffiles have their own).
fn md5sums(root: &Path) -> Result<String, String> {
    let mut relative: Vec<String> = Vec::new();
    for file in files_under(root)? {
        let rel = file.strip_prefix(root).map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        if !rel.starts_with("etc/") {
            relative.push(rel);
        }
    }
    relative.sort();
    let mut args = vec!["--"];
    args.extend(relative.iter().map(String::as_str));
    output("md5sum", &args, Some(root))
}

/// Regular files under `root`, outside `DEBIAN/`.
fn files_under(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                if path != root.join("DEBIAN") {
                    dirs.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

fn create_dir(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Every directory of the tree 0755, whatever the umask was.
fn set_dir_modes(root: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = to.parent() {
        create_dir(dir)?;
    }
    fs::copy(from, to).map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", to.display()))
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str().ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// Runs `program`; fails with its standard error when it fails.
fn exec(program: &str, args: &[&str], dir: Option<&Path>) -> Result<(), String> {
    output(program, args, dir).map(|_| ())
}

/// Runs `program` and returns its standard output.
fn output(program: &str, args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().map_err(|e| format!("cannot run `{program}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("`{program}` printed no UTF-8: {e}"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
