//! Project tasks: `cargo xtask test` (the full CI run), `cargo xtask bench` and `cargo xtask light`.

mod bench;
mod daemon;
mod destinations_bench;
mod light;
mod link_order;
mod overload_bench;
mod pipeline_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test    install what is missing (apt, needs root or sudo: the syslog-ng 3.38 oracle,
          libssl-dev, pkg-config, openssl, util-linux, faketime, man-db, groff-base, dpkg-dev,
          binutils, logrotate, haproxy, strace), then
          build (release), check formatting, run clippy and run all tests (release)
  bench   benchmarks of rsng side by side with syslog-ng (see `cargo xtask bench --help`)
  deb     the Debian package: target/debian/rsng_<version>_<arch>.deb (see `cargo xtask deb --help`)
  light   syslog-ng 3.38's functional test suite against rsng and syslog-ng, side by side
          (see `cargo xtask light --help`)
  link-order  profile the release rsng under callgrind and write crates/rsng/link-order.txt,
          the functions the linker puts together at the start of its code (needs valgrind)";

/// The oracle the differential tests compare against.
const ORACLE: &str = "/usr/sbin/syslog-ng";
const ORACLE_PACKAGES: [&str; 2] = ["syslog-ng-core", "syslog-ng-scl"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("deb") => xtask::package::run(&args[1..]),
        Some("light") => light::run_light(&args[1..]),
        Some("link-order") => link_order::run(&args[1..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn step(title: &str) {
    println!("\n==> {title}");
}

/// Runs a command in the workspace root, echoing it; fails on a non-zero exit.
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    println!("+ {program} {}", args.join(" "));
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(workspace_root());
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let status = cmd.status().map_err(|e| format!("cannot run `{program}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Runs a command whose failure does not matter; reports whether it succeeded.
fn run_quietly(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `program` is found on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn test(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`cargo xtask test` takes no arguments, got `{arg}`"));
    }
    let cargo = cargo();

    step("1/5 syslog-ng 3.38 (test oracle)");
    ensure_oracle()?;

    step("2/5 build (release)");
    run(&cargo, &["build", "--release", "--workspace"], &[])?;

    step("3/5 formatting");
    ensure_components()?;
    run(&cargo, &["fmt", "--all", "--check"], &[])?;

    step("4/5 clippy");
    run(&cargo, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])?;

    step("5/5 tests (release)");
    let (passed, failed, result) = run_tests(&cargo);
    if result.is_ok() {
        println!("\nall checks passed");
    }
    // One closing line with the totals of every test binary, so that a reader (or a CI log
    // scraper) sees the whole run's count rather than the last binary's.
    println!("tests: {passed} passed, {failed} failed");
    result
}

/// Runs `cargo test --workspace --release`, echoing its output, and adds up the
/// "test result: ... N passed; M failed" lines.
fn run_tests(cargo: &str) -> (u64, u64, Result<(), String>) {
    use std::io::BufRead;
    let args = ["test", "--workspace", "--release"];
    println!("+ {cargo} {}", args.join(" "));
    let child =
        Command::new(cargo).args(args).current_dir(workspace_root()).stdout(std::process::Stdio::piped()).spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return (0, 0, Err(format!("cannot run `{cargo}`: {e}"))),
    };
    let (mut passed, mut failed) = (0, 0);
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count_before(rest, " passed");
                failed += count_before(rest, " failed");
            }
        }
    }
    let result = match child.wait() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{cargo} {}` failed ({status})", args.join(" "))),
        Err(e) => Err(format!("waiting for `{cargo}`: {e}")),
    };
    (passed, failed, result)
}

/// The number just before `label` in a cargo test summary such as "ok. 18 passed; 0 failed".
fn count_before(text: &str, label: &str) -> u64 {
    text.find(label)
        .and_then(|end| text[..end].rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Installs syslog-ng-core and syslog-ng-scl with apt when the oracle is missing, then makes sure
/// no syslog-ng service keeps running (it would hold ports the tests use).
fn ensure_oracle() -> Result<(), String> {
    // Besides the oracle, what the build and the tests use: OpenSSL's headers and pkg-config for
    // the openssl crate, the openssl command (TLS tests), unshare (a private /dev and /var/log),
    // haproxy (PROXY protocol tests).
    let mut packages: Vec<&str> = Vec::new();
    if !Path::new(ORACLE).is_file() {
        packages.extend_from_slice(&ORACLE_PACKAGES);
    }
    for (present, package) in [
        (Path::new("/usr/include/openssl/ssl.h").is_file(), "libssl-dev"),
        (on_path("pkg-config"), "pkg-config"),
        (on_path("openssl"), "openssl"),
        (on_path("unshare"), "util-linux"),
        // libfaketime: the date tests run both daemons at faked instants.
        (on_path("faketime"), "faketime"),
        // Manual pages (rendered by the service tests) and the Debian package build.
        (on_path("man"), "man-db"),
        (on_path("groff"), "groff-base"),
        (on_path("dpkg-deb"), "dpkg"),
        (on_path("dpkg-shlibdeps"), "dpkg-dev"),
        (on_path("strip"), "binutils"),
        // The package test rotates the default configuration's logs with the installed file.
        (on_path("logrotate"), "logrotate"),
        // HAProxy in front of rsng's proxied transports (tests/proxy_protocol.rs).
        (Path::new("/usr/sbin/haproxy").is_file(), "haproxy"),
        // Counts the disk buffer's syncs (tests/reliability.rs).
        (on_path("strace"), "strace"),
        // The http() tests compare with syslog-ng's http module.
        (Path::new("/usr/lib/syslog-ng/3.38/libhttp.so").is_file(), "syslog-ng-mod-http"),
        // The sql() tests compare with syslog-ng's afsql module (libdbi's PostgreSQL driver) and
        // start a PostgreSQL server of their own.
        (Path::new("/usr/lib/syslog-ng/3.38/libafsql.so").is_file(), "syslog-ng-mod-sql"),
        (Path::new("/usr/share/doc/libdbd-pgsql").is_dir(), "libdbd-pgsql"),
        (Path::new("/usr/lib/postgresql").is_dir(), "postgresql"),
        // tests/sql_mysql.rs: libdbi's MySQL driver for syslog-ng, and a MariaDB server.
        (Path::new("/usr/share/doc/libdbd-mysql").is_dir(), "libdbd-mysql"),
        (Path::new("/usr/sbin/mariadbd").is_file(), "mariadb-server"),
        // The amqp() tests compare with syslog-ng's afamqp module and start a RabbitMQ node.
        (Path::new("/usr/lib/syslog-ng/3.38/libafamqp.so").is_file(), "syslog-ng-mod-amqp"),
        (Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server").is_file(), "rabbitmq-server"),
        // example-msg-generator() and example-destination() for the differential tests.
        (Path::new("/usr/lib/syslog-ng/3.38/libexamples.so").is_file(), "syslog-ng-mod-examples"),
        // $(graphite-output) for the template tests.
        (Path::new("/usr/lib/syslog-ng/3.38/libgraphite.so").is_file(), "syslog-ng-mod-graphite"),
        // slogkey and slogverify for the $(slog) tests.
        (Path::new("/usr/bin/slogverify").is_file(), "syslog-ng-mod-slog"),
        // libsystemd's headers and .pc file: rsng links sd-journal (systemd-journal()).
        (Path::new("/usr/include/systemd/sd-journal.h").is_file(), "libsystemd-dev"),
        // journal-remote writes the journal files of tests/systemd_journal.rs.
        (Path::new("/lib/systemd/systemd-journal-remote").is_file(), "systemd-journal-remote"),
        // The SCL's application adapters for the app-parser() tests (tests/app_parser.rs).
        (Path::new("/usr/share/syslog-ng/include/scl/cisco/plugin.conf").is_file(), "syslog-ng-scl"),
        // ss: the socket option tests read the options of both daemons' sockets.
        (on_path("ss"), "iproute2"),
        // kafka-c() links Debian's librdkafka (headers and pkg-config file for the build).
        (Path::new("/usr/include/librdkafka/rdkafka.h").is_file(), "librdkafka-dev"),
        // The kafka-c() tests read the records back with kcat and compare with syslog-ng's module.
        (on_path("kcat"), "kcat"),
        (Path::new("/usr/lib/syslog-ng/3.38/libkafka.so").is_file(), "syslog-ng-mod-rdkafka"),
        // `cargo xtask bench destinations` runs librdkafka's mock cluster through python3.
        (Path::new("/usr/lib/python3/dist-packages/confluent_kafka").is_dir(), "python3-confluent-kafka"),
        // The redis() tests run a private redis-server and compare with syslog-ng's module.
        (on_path("redis-server"), "redis-server"),
        (Path::new("/usr/lib/syslog-ng/3.38/libredis.so").is_file(), "syslog-ng-mod-redis"),
        // The mqtt() tests run a private mosquitto and read it back with mosquitto_sub.
        (Path::new("/usr/sbin/mosquitto").is_file(), "mosquitto"),
        (on_path("mosquitto_sub"), "mosquitto-clients"),
        // The snmp() tests run a private snmptrapd and compare with syslog-ng's module.
        (Path::new("/usr/sbin/snmptrapd").is_file(), "snmptrapd"),
        (Path::new("/usr/lib/syslog-ng/3.38/libafsnmp.so").is_file(), "syslog-ng-mod-snmp"),
    ] {
        if !present {
            packages.push(package);
        }
    }
    if packages.is_empty() {
        print_oracle_version();
        return Ok(());
    }
    println!("missing; installing {}", packages.join(" "));
    if !on_path("apt-get") {
        return Err(format!("apt-get is not available; install {} by hand", packages.join(", ")));
    }
    let sudo = if is_root() {
        false
    } else if on_path("sudo") {
        true
    } else {
        return Err(format!(
            "installing {} needs root, and sudo is not available (run as root, or install the \
             packages first)",
            packages.join(" ")
        ));
    };
    let apt = |apt_args: &[&str]| -> Result<(), String> {
        let env = [("DEBIAN_FRONTEND", "noninteractive")];
        if sudo {
            let mut full = vec!["DEBIAN_FRONTEND=noninteractive", "apt-get"];
            full.extend_from_slice(apt_args);
            run("sudo", &full, &env)
        } else {
            run("apt-get", apt_args, &env)
        }
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(&packages);
    apt(&install)?;
    if !Path::new(ORACLE).is_file() {
        return Err(format!("installed {} but {ORACLE} is still missing", packages.join(" ")));
    }
    if packages.contains(&ORACLE_PACKAGES[0]) {
        stop_service(sudo);
    }
    print_oracle_version();
    Ok(())
}

/// Stops (and disables) a syslog-ng service that the package installation may have started.
fn stop_service(sudo: bool) {
    let as_root = |program: &str, args: &[&str]| -> bool {
        if sudo {
            let mut full = vec![program];
            full.extend_from_slice(args);
            run_quietly("sudo", &full)
        } else {
            run_quietly(program, args)
        }
    };
    if on_path("systemctl") && Path::new("/run/systemd/system").is_dir() {
        println!("+ systemctl disable --now syslog-ng.service");
        as_root("systemctl", &["disable", "--now", "syslog-ng.service"]);
    } else if on_path("service") {
        println!("+ service syslog-ng stop");
        as_root("service", &["syslog-ng", "stop"]);
    }
    if on_path("pgrep") && run_quietly("pgrep", &["-x", "syslog-ng"]) {
        println!("+ pkill -x syslog-ng (a syslog-ng daemon is still running)");
        as_root("pkill", &["-x", "syslog-ng"]);
    }
}

fn print_oracle_version() {
    match Command::new(ORACLE).arg("--version").output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let version = text.lines().find(|l| l.starts_with("Installer-Version")).unwrap_or("");
            println!("using {ORACLE} ({})", version.trim());
            if !version.contains("3.38") {
                println!("warning: the differential tests expect syslog-ng 3.38");
            }
        }
        Err(e) => println!("warning: cannot run {ORACLE} --version: {e}"),
    }
}

/// rustfmt and clippy come with rustup's default profile; add them if a minimal profile lacks them.
fn ensure_components() -> Result<(), String> {
    let cargo = cargo();
    let missing: Vec<&str> = [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(sub, _)| !run_quietly(&cargo, &[sub, "--version"]))
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !on_path("rustup") {
        return Err(format!("cargo components missing: {} (and rustup is not available)", missing.join(", ")));
    }
    let mut args = vec!["component", "add"];
    args.extend_from_slice(&missing);
    run("rustup", &args, &[])
}

#[cfg(test)]
mod tests {
    use super::count_before;

    #[test]
    fn counts_come_from_cargo_summaries() {
        let line = "ok. 18 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(count_before(line, " passed"), 18);
        assert_eq!(count_before(line, " failed"), 2);
        assert_eq!(count_before("FAILED. 0 passed; 1 failed;", " failed"), 1);
    }
}
