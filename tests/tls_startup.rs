//! TLS settings that cannot be honoured stop start-up, in rsng as in syslog-ng 3.38, with
//! syslog-ng's message and the location of the `tls()` block.

#[path = "tls_common.rs"]
mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use rsng_tests::{free_tcp_ports, oracle_bin, oracle_skipped, rsng_bin, run_with_timeout, TempDir};

/// Starts `bin` on `config` in the foreground; it must exit by itself (it fails to start).
fn start_fails(bin: &std::path::Path, dir: &std::path::Path, config: &str) -> String {
    let conf = dir.join("tls.conf");
    std::fs::write(&conf, config).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-F").arg("-f").arg(&conf);
    cmd.arg("-p").arg(dir.join("pid")).arg("-R").arg(dir.join("persist")).arg("-c").arg(dir.join("ctl"));
    cmd.arg("--no-caps").arg("-e");
    let out = run_with_timeout(cmd, dir, Duration::from_secs(10)).unwrap();
    assert!(!out.timed_out, "{} started on:\n{config}", bin.display());
    assert_ne!(out.code, Some(0), "{} accepted:\n{config}", bin.display());
    out.stderr
}

fn check(source: &str, expected: &[&str]) {
    let dir = TempDir::new("tls-startup").unwrap();
    let port = free_tcp_ports(1)[0];
    let config = format!(
        "@version: 3.38\nsource s {{ {} }};\ndestination d {{ file(\"{}/out\"); }};\nlog {{ source(s); destination(d); }};\n",
        source.replace("PORT", &port.to_string()),
        dir.path().display()
    );
    let rsng = start_fails(rsng_bin(), dir.path(), &config);
    for e in expected {
        assert!(rsng.contains(e), "rsng: missing {e:?} in:\n{rsng}");
    }
    if !oracle_skipped() {
        let ng = start_fails(&oracle_bin(), dir.path(), &config);
        assert!(ng.contains(expected[0]), "syslog-ng: missing {:?} in:\n{ng}", expected[0]);
    }
}

#[test]
fn transport_tls_needs_a_tls_block() {
    check(
        "network(ip(\"127.0.0.1\") port(PORT) transport(\"tls\"));",
        &["transport(tls) was specified, but tls() options missing"],
    );
}

#[test]
fn tls_block_needs_transport_tls() {
    let tls = format!("tls({})", identity("server"));
    check(
        &format!("network(ip(\"127.0.0.1\") port(PORT) {tls});"),
        &["tls() options specified for a transport that doesn't allow TLS encryption; transport='tcp'"],
    );
    check(
        &format!("syslog(ip(\"127.0.0.1\") port(PORT) transport(\"udp\") {tls});"),
        &["tls() options specified for a transport that doesn't allow TLS encryption; transport='udp'"],
    );
}

#[test]
fn bad_cipher_list_is_a_start_up_error() {
    check(
        &format!(
            "syslog(ip(\"127.0.0.1\") port(PORT) transport(\"tls\") tls({} cipher-suite(\"NO-SUCH-CIPHER\")));",
            identity("server")
        ),
        &["Error setting up TLS session context; tls_error='error:0A0000B9:SSL routines::no cipher match', location='", "tls.conf:2:"],
    );
}

#[test]
fn bad_curve_list_is_a_start_up_error() {
    check(
        &format!(
            "network(ip(\"127.0.0.1\") port(PORT) transport(\"tls\") tls({} ecdh-curve-list(\"nocurve\")));",
            identity("server")
        ),
        &["Error setting up TLS session context, invalid curve name in list"],
    );
}
