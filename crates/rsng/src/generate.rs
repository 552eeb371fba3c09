//! `--generate KIND` (hidden): a manual page or a shell completion script, written to standard
//! output from the binary's own command-line definition, so that neither can drift from it.
//! Shared by `rsng` and `rsng-ctl`; each passes its definition and its extra sections.

use std::io::Write;
use std::process::ExitCode;

use roff::{bold, roman, Roff};

/// What `--generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Generate {
    /// The manual page (roff, section 8)
    Man,
    /// bash completions
    CompleteBash,
    /// zsh completions
    CompleteZsh,
    /// fish completions
    CompleteFish,
}

/// A manual page section: its title, then (term, text) paragraphs; an empty term makes a
/// plain paragraph.
pub struct Section {
    pub title: &'static str,
    pub items: Vec<(String, String)>,
}

/// Writes `kind` for `cmd` to standard output. `commands` renders a COMMANDS section for a
/// program whose subcommands are words of one command line rather than pages of their own.
pub fn run(kind: Generate, mut cmd: clap::Command, commands: bool, extra: &[Section]) -> ExitCode {
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    let shell = match kind {
        Generate::Man => None,
        Generate::CompleteBash => Some(clap_complete::Shell::Bash),
        Generate::CompleteZsh => Some(clap_complete::Shell::Zsh),
        Generate::CompleteFish => Some(clap_complete::Shell::Fish),
    };
    let written = match shell {
        Some(shell) => {
            clap_complete::generate(shell, &mut cmd, name, &mut out);
            Ok(())
        }
        None => man(&cmd, commands, extra, &mut out),
    };
    match written.and_then(|()| std::io::stdout().lock().write_all(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: cannot write the output: {e}", cmd.get_name());
            ExitCode::from(1)
        }
    }
}

fn man(cmd: &clap::Command, commands: bool, extra: &[Section], out: &mut Vec<u8>) -> std::io::Result<()> {
    // No date: the page is the same whenever it is built (reproducible packages).
    let page = clap_mangen::Man::new(cmd.clone()).section("8").source(format!("rsng {}", env!("CARGO_PKG_VERSION")));
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    let mut roff = Roff::new();
    if commands {
        roff.control("SH", ["COMMANDS"]);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            roff.control("TP", []).text([bold(synopsis(sub))]);
            roff.text([roman(sub.get_about().map(ToString::to_string).unwrap_or_default())]);
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set() && a.get_help().is_some()) {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                roff.control("br", []).text([roman(format!("{}: {help}", arg_synopsis(arg)))]);
            }
        }
    }
    for section in extra {
        roff.control("SH", [section.title]);
        for (term, text) in &section.items {
            if term.is_empty() {
                roff.control("PP", []);
            } else {
                roff.control("TP", []).text([bold(term.as_str())]);
            }
            roff.text([roman(text.as_str())]);
        }
    }
    roff.to_writer(out)
}

/// A subcommand as it is typed: `query [list|get] [--sum] [--reset] [PATTERN]`.
pub fn synopsis(sub: &clap::Command) -> String {
    let mut text = sub.get_name().to_string();
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        text.push(' ');
        if arg.is_required_set() {
            text.push_str(&arg_synopsis(arg));
        } else {
            text.push_str(&format!("[{}]", arg_synopsis(arg)));
        }
    }
    text
}

/// One argument: `--reset`, `-s on|off`, `list|get` or `PATTERN`.
fn arg_synopsis(arg: &clap::Arg) -> String {
    let values: Vec<String> = arg.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
    let value = if values.is_empty() {
        arg.get_value_names()
            .and_then(|n| n.first())
            .map_or_else(|| arg.get_id().to_string().to_uppercase(), ToString::to_string)
    } else {
        values.join("|")
    };
    let takes_value = arg.get_action().takes_values();
    match (arg.get_short(), arg.get_long(), arg.is_positional()) {
        (_, _, true) => value,
        (Some(short), _, false) if takes_value => format!("-{short} {value}"),
        (_, Some(long), false) if takes_value => format!("--{long} {value}"),
        (_, Some(long), false) => format!("--{long}"),
        (Some(short), None, false) => format!("-{short}"),
        (None, None, false) => value,
    }
}
