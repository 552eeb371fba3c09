//! The release binary is linked with `crates/rsng/link-order.txt`: the functions that run at
//! start-up and on the usual message paths lie together at the start of its code, so that the
//! pages the kernel maps around them hold little else (docs/benchmarks.md, "Where the memory
//! goes"). Fails when the file no longer matches the code (run `cargo xtask link-order`) or when
//! the linker ignored it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

use rsng_tests::{target_dir, workspace_root};

/// The release binary, built when missing (as the shipped binary is built).
fn release_bin() -> PathBuf {
    let bin = target_dir().join("release/rsng");
    if bin.is_file() {
        bin
    } else {
        rsng_tests::build_release()
    }
}

/// Function symbols of `bin`: name → (address, size).
fn functions(bin: &PathBuf) -> HashMap<String, (u64, u64)> {
    let out = Command::new("nm")
        .args(["-S", "--defined-only"])
        .arg(bin)
        .output()
        .unwrap_or_else(|e| panic!("cannot run nm (Debian package binutils): {e}"));
    assert!(out.status.success(), "nm {} failed", bin.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [addr, size, kind, name] = f[..] else { return None };
            if !matches!(kind, "t" | "T" | "w" | "W") {
                return None;
            }
            Some((name.to_string(), (u64::from_str_radix(addr, 16).ok()?, u64::from_str_radix(size, 16).ok()?)))
        })
        .collect()
}

#[test]
fn functions_that_run_lie_together_at_the_start_of_the_code() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")) {
        // build.rs passes the file only where lld is the default linker.
        return;
    }
    let order = std::fs::read_to_string(workspace_root().join("crates/rsng/link-order.txt")).expect("link-order.txt");
    let listed: Vec<&str> = order.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(listed.len() > 500, "crates/rsng/link-order.txt lists only {} functions", listed.len());
    let bin = release_bin();
    let symbols = functions(&bin);
    let present: HashSet<&str> = listed.iter().copied().filter(|n| symbols.contains_key(*n)).collect();
    assert!(
        present.len() * 10 >= listed.len() * 9,
        "only {} of the {} functions in crates/rsng/link-order.txt are in {}: run `cargo xtask link-order`",
        present.len(),
        listed.len(),
        bin.display()
    );
    // Every listed function ends before any other function starts (aliases of a listed one
    // share its address).
    let listed_at: HashSet<u64> = present.iter().map(|n| symbols[*n].0).collect();
    let end = present.iter().map(|n| symbols[*n].0 + symbols[*n].1).max().unwrap_or(0);
    let first_other = symbols
        .iter()
        .filter(|(name, (addr, size))| !present.contains(name.as_str()) && !listed_at.contains(addr) && *size > 0)
        .min_by_key(|(_, (addr, _))| *addr)
        .expect("functions not listed");
    assert!(
        end <= first_other.1 .0,
        "{} (at {:#x}) lies among the listed functions (which end at {end:#x}): the linker did not take link-order.txt",
        first_other.0,
        first_other.1 .0
    );
    // Together they are a small part of the code: the point of the order.
    let listed_size: u64 = present.iter().map(|n| symbols[*n].1).sum();
    let all_size: u64 = symbols.values().map(|(_, s)| s).sum();
    assert!(listed_size * 4 < all_size, "listed {listed_size} bytes of {all_size}");
}
