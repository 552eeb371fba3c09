//! `hook-commands()`: shell commands a driver runs as syslog-ng's hook-commands plugin runs them.
//! `startup()` and `setup()` when the driver starts (`startup()` only when the daemon starts, not
//! on a reload), `teardown()` and `shutdown()` when it stops (`shutdown()` only when the daemon
//! stops). syslog-ng starts and stops every driver on a reload; so do the hooks here, even where
//! rsng keeps the driver itself running. A failing `startup()` or `setup()` (exit status not 0)
//! stops the start or the reload, as in syslog-ng.

use std::process::Command;

use rsng_config::ir::{self, Value};

use crate::BuildError;

/// The hook commands of one driver.
#[derive(Debug, Clone)]
pub struct Hooks {
    /// `OBJECT#INDEX`, syslog-ng's driver id.
    driver: String,
    location: String,
    startup: Option<String>,
    setup: Option<String>,
    teardown: Option<String>,
    shutdown: Option<String>,
}

/// The hooks of every driver of `config` that has some: sources, then destinations.
pub fn of_config(config: &ir::Config) -> Vec<Hooks> {
    let mut out = Vec::new();
    for obj in config.sources.iter().chain(&config.destinations) {
        for (index, driver) in obj.drivers.iter().enumerate() {
            let Some(Value::Group(items)) = driver.option("hook-commands") else { continue };
            let command = |name: &str| {
                driver.note(&format!("hook-commands.{name}"));
                items
                    .iter()
                    .rev()
                    .find(|o| o.name == name)
                    .and_then(|o| rsng_drivers::options::as_str(&o.value))
                    .map(String::from)
            };
            out.push(Hooks {
                driver: format!("{}#{index}", obj.name),
                location: config.location(&driver.span),
                startup: command("startup"),
                setup: command("setup"),
                teardown: command("teardown"),
                shutdown: command("shutdown"),
            });
        }
    }
    out
}

impl Hooks {
    /// Runs hook `hook` (`cmd`) with `sh -c`, as `system()` does; the failure message when its
    /// exit status is not 0.
    fn run(&self, hook: &str, cmd: &Option<String>) -> Result<(), String> {
        let Some(cmd) = cmd else { return Ok(()) };
        rsng_drivers::internal::emit(
            rsng_drivers::internal::Level::Debug,
            format!(
                "About to execute a hook command; driver='{}', location='{}', hook='{hook}', command='{cmd}'",
                self.driver, self.location
            ),
        );
        use std::os::unix::process::ExitStatusExt;
        // system()'s answer: the wait status (exit code times 256), or 127 when no shell ran.
        let rc = match Command::new("/bin/sh").arg("-c").arg(cmd).status() {
            Ok(status) => status.into_raw(),
            Err(_) => 127 << 8,
        };
        if rc == 0 {
            return Ok(());
        }
        let text = format!(
            "Hook command returned with failure, aborting initialization; driver='{}', location='{}', hook='{hook}', \
             command='{cmd}', rc='{rc}'",
            self.driver, self.location
        );
        Err(text)
    }
}

/// Runs `startup()` (when `starting`, the daemon's own start) and `setup()` of each driver in
/// turn; stops at the first failure.
pub fn start(hooks: &[Hooks], starting: bool) -> Result<(), BuildError> {
    for h in hooks {
        let ran = if starting { h.run("startup", &h.startup) } else { Ok(()) };
        // The message names the location itself, in syslog-ng's words.
        ran.and_then(|()| h.run("setup", &h.setup)).map_err(BuildError::plain)?;
    }
    Ok(())
}

/// Runs `teardown()` and, when `stopping` (the daemon's own stop), `shutdown()` of each driver;
/// a failure is reported and the rest run anyway, as in syslog-ng.
pub fn stop(hooks: &[Hooks], stopping: bool) {
    for h in hooks {
        let report = |r: Result<(), String>| {
            if let Err(text) = r {
                rsng_drivers::internal::error(text);
            }
        };
        report(h.run("teardown", &h.teardown));
        if stopping {
            report(h.run("shutdown", &h.shutdown));
        }
    }
}
