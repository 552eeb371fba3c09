//! Link options that keep the daemon's resident memory small (docs/benchmarks.md, "Where the
//! memory goes").

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link-order.txt");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    // Relative relocations packed (DT_RELR, glibc 2.36): the loader reads a few KiB of them at
    // start-up instead of about 700 KiB. GNU ld (2.38+) and lld both take the option.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // The functions that run, together at the start of the code (`cargo xtask link-order`), so
    // that the pages the kernel maps around them hold little else. Only lld takes the option,
    // the default linker of x86_64-unknown-linux-gnu; names are those of release builds.
    if var("CARGO_CFG_TARGET_ARCH") == "x86_64" && var("PROFILE") == "release" {
        let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("link-order.txt");
        if order.is_file() {
            println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}
