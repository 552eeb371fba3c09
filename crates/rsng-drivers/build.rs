//! Links libsystemd (the sd-journal API of the `systemd-journal()` source) where pkg-config finds
//! it: Debian's `libsystemd-dev`.

fn main() {
    // sd_journal_open_namespace() appeared in systemd 245.
    if let Err(e) = pkg_config::Config::new().atleast_version("245").probe("libsystemd") {
        panic!("libsystemd (>= 245) not found through pkg-config; install libsystemd-dev: {e}");
    }
}
