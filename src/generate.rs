//! Generated documentation: the man page and the shell completions, rendered
//! from the clap definition in `cli.rs`, the exit status table in `exit.rs`
//! and README's key table (`keys.rs`). `scaler generate all DIR` (what
//! `scripts/generate.sh` runs) writes them where the repository keeps them;
//! `tests/generated.rs` fails when the committed files differ from what this
//! module renders. `generate` is parsed apart from [`Cli`], so the pages and
//! scripts it writes never mention it.

use crate::cli::Cli;
use crate::exit::Exit;
use crate::keys;
use clap::CommandFactory;
use clap::{Parser, Subcommand};
use clap_complete::Shell;
use roff::{Inline, Roff, bold, italic, roman};
use std::path::{Path, PathBuf};

/// `scaler generate ...`: undocumented, for packaging and `scripts/generate.sh`.
#[derive(Debug, Parser)]
#[command(
    name = "scaler generate",
    about = "Write the man page or shell completions (packaging; scripts/generate.sh)"
)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: Generated,
}

/// Runs `scaler generate ...` when that is the command line (`None` otherwise).
pub fn intercept() -> Option<Exit> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "generate" {
        return None;
    }
    match GenerateArgs::try_parse_from(std::env::args_os().skip(1)) {
        Ok(parsed) => Some(run(&parsed)),
        Err(e) => {
            let _ = e.print();
            Some(if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            })
        }
    }
}

/// What `generate` writes.
#[derive(Debug, Subcommand)]
pub enum Generated {
    /// The man page (roff) on stdout
    Man,
    /// The completion script for SHELL on stdout
    Completions {
        /// bash, zsh, fish, elvish or powershell
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Everything under DIR (the repository root): man/scaler.1 and completions/
    All {
        /// The repository root
        dir: PathBuf,
    },
}

/// Runs `scaler generate ...`.
pub fn run(args: &GenerateArgs) -> Exit {
    use std::io::Write;
    let text = match &args.what {
        Generated::Man => man_page(),
        Generated::Completions { shell } => completions(*shell),
        Generated::All { dir } => {
            return match write_all(dir) {
                Ok(paths) => {
                    for path in paths {
                        eprintln!("scaler: wrote {}", path.display());
                    }
                    Exit::Ok
                }
                Err(e) => {
                    eprintln!("scaler: generate: {e}");
                    Exit::Internal
                }
            };
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Exit::Ok
}

/// Where each shell's completion script lives in the repository.
pub const COMPLETIONS: [(Shell, &str); 5] = [
    (Shell::Bash, "completions/scaler.bash"),
    (Shell::Zsh, "completions/scaler.zsh"),
    (Shell::Fish, "completions/scaler.fish"),
    (Shell::Elvish, "completions/scaler.elvish"),
    (Shell::PowerShell, "completions/_scaler.ps1"),
];

/// Where the man page lives in the repository.
pub const MAN_PAGE: &str = "man/scaler.1";

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "scaler", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Every generated file: (path relative to the repository, contents).
pub fn files() -> Vec<(PathBuf, String)> {
    let mut files = vec![(PathBuf::from(MAN_PAGE), man_page())];
    for (shell, path) in COMPLETIONS {
        files.push((PathBuf::from(path), completions(shell)));
    }
    files
}

/// Writes every generated file under `dir` (the repository root); returns
/// the paths written.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (relative, text) in files() {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// `code` spans of Markdown-ish text as bold, the rest roman.
fn inline(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| if i % 2 == 1 { bold(part) } else { roman(part) })
        .collect()
}

/// The man page (roff).
pub fn man_page() -> String {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone()).manual("User Commands");
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    let mut page = String::from_utf8_lossy(&out).into_owned();
    page.push_str(&commands_section(&command));
    page.push_str(&exit_status_section());
    page.push_str(&configuration_section());
    page.push_str(&static_sections());
    // Each rendered part repeats roff's apostrophe preamble: keep the first.
    let preamble = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    match page.find(preamble) {
        Some(first) => {
            let rest = page[first + preamble.len()..].replace(preamble, "");
            format!("{}{rest}", &page[..first + preamble.len()])
        }
        None => page,
    }
}

/// COMMANDS: every visible command (and sub-command) with its own flags.
fn commands_section(root: &clap::Command) -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    let mut stack: Vec<(String, &clap::Command)> = root
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| (format!("scaler {}", c.get_name()), c))
        .collect();
    stack.reverse();
    while let Some((path, command)) = stack.pop() {
        let args: Vec<&clap::Arg> = command
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| a.get_id() != "help")
            .collect();
        let mut synopsis = vec![bold(path.clone())];
        for arg in &args {
            synopsis.push(roman(" "));
            if arg.is_required_set() {
                synopsis.extend(arg_synopsis(arg));
            } else {
                synopsis.push(roman("["));
                synopsis.extend(arg_synopsis(arg));
                synopsis.push(roman("]"));
            }
        }
        let subs: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .collect();
        if !subs.is_empty() {
            synopsis.push(roman(" "));
            synopsis.push(italic("COMMAND"));
        }
        roff.control("SS", []);
        roff.text(synopsis);
        if let Some(about) = command.get_long_about().or_else(|| command.get_about()) {
            roff.control("PP", []);
            roff.text(inline(&about.to_string()));
        }
        for arg in args {
            roff.control("TP", []);
            roff.text(arg_synopsis(arg));
            let help = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            let mut body = inline(&help);
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            if !values.is_empty() && arg.get_action().takes_values() {
                body.push(roman(format!(" (one of: {})", values.join(", "))));
            }
            roff.text(body);
        }
        for sub in subs.into_iter().rev() {
            stack.push((format!("{path} {}", sub.get_name()), sub));
        }
    }
    roff.to_roff()
}

/// `--flag`, `--flag VALUE`, `-s, --flag` or `ARG` in roff inlines.
fn arg_synopsis(arg: &clap::Arg) -> Vec<Inline> {
    let value = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    if arg.is_positional() {
        return vec![italic(value)];
    }
    let mut out = Vec::new();
    if let Some(short) = arg.get_short() {
        out.push(bold(format!("-{short}")));
        if arg.get_long().is_some() {
            out.push(roman(", "));
        }
    }
    if let Some(long) = arg.get_long() {
        out.push(bold(format!("--{long}")));
    }
    if arg.get_action().takes_values() {
        out.push(roman(" "));
        out.push(italic(value));
    }
    out
}

fn exit_status_section() -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "The numbers are a stable interface for cron, systemd and alerting rules.",
    )]);
    for exit in Exit::ALL {
        roff.control("TP", []);
        roff.text([bold(exit.code().to_string())]);
        roff.text(inline(exit.meaning()));
    }
    roff.to_roff()
}

fn configuration_section() -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["CONFIGURATION"]);
    roff.text(inline(
        "One TOML file describes one pool. Unknown keys and bad values are errors that name the key, \
         the file and the line (exit 78). Durations are written `\"90s\"`, `\"10m\"`, `\"1h30m\"`. \
         Relative paths are relative to the file. Every password also has a `*_env` form (the name \
         of an environment variable) and a `*_file` form (a path); secrets are never printed. \
         The keys:",
    ));
    for key in keys::keys() {
        roff.control("TP", []);
        let mut head = Vec::new();
        for (i, name) in key.names.iter().enumerate() {
            if i > 0 {
                head.push(roman(", "));
            }
            head.push(bold(name.as_str()));
        }
        if !key.default.is_empty() {
            head.push(roman(" (default: "));
            head.extend(inline(&key.default));
            head.push(roman(")"));
        }
        roff.text(head);
        roff.text(inline(&key.meaning));
    }
    roff.control("PP", []);
    roff.text(inline(
        "Annotated examples are installed in /usr/share/doc/scaler/examples/ (the repository's \
         `examples/`).",
    ));
    roff.to_roff()
}

/// The man page's FILES: (term, text).
const FILES: &[(&str, &str)] = &[
    (
        "`/etc/scaler/scaler.toml`",
        "the configuration read by default (`--config`, `SCALER_CONFIG`).",
    ),
    (
        "`/run/scaler/scaler-<pool>.lock`",
        "the pass lock (`lock.path`), held with flock(2) for the whole pass; a second pass exits 75. \
             It and the state file must belong to the user running the pass (the package's \
             `scaler`: run passes by hand as `sudo -u scaler scaler ...`), and the metrics \
             directory must be writable by it; else exit 78.",
    ),
    (
        "`/var/lib/scaler/<pool>.state.json`",
        "the pool's state (`state.path`, with a `schema_version`): the scale-down clock, the \
             pending forgets of destroyed hosts' registrations and the metric counters; read by every \
             pass, rewritten atomically by `run` and `cleanup`.",
    ),
    (
        "`metrics.textfile` or `--metrics-file`",
        "node_exporter textfile metrics, rewritten atomically (temporary file, then rename) after \
             each `run` and `cleanup`.",
    ),
    (
        "`<metrics file stem>-every.prom`",
        "beside the metrics file, with `run --every`: passes by exit status and skipped ticks \
             (`scaler_every_*`), rewritten after each pass.",
    ),
    (
        "`/var/lib/scaler/local-cloud.json`",
        "the `local` provider's state file (`provider.state_file`).",
    ),
    (
        "files named by `*_file` keys",
        "secrets such as `sip.password_file`, read when connecting.",
    ),
    (
        "`$CREDENTIALS_DIRECTORY/<name>`",
        "secrets named by `*_credential` keys: systemd credentials of the unit \
             (`LoadCredential=<name>:/path`), read when connecting.",
    ),
];

/// The man page's ENVIRONMENT: (term, text).
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "`SCALER_CONFIG`",
        "the configuration file when `--config` is not given.",
    ),
    (
        "`RUST_LOG`",
        "log filter for stderr (overrides `-v`/`-q`), e.g. `scaler=debug`.",
    ),
    (
        "variables named by `*_env` keys",
        "secrets such as `sip.password_env = \"KAMAILIO_DB_PASSWORD\"`; read when connecting, \
             never by `check --offline`.",
    ),
    (
        "`TERM`",
        "with stderr a terminal and `TERM` set (not `dumb`), `simulate` draws a bar of the simulated \
             minutes there and `schedule suggest` a spinner counting the days replayed, both erased \
             before the report; `-q`, `TERM=dumb` or a stderr that is not a terminal draw nothing.",
    ),
    (
        "`CREDENTIALS_DIRECTORY`",
        "set by systemd for a unit with `LoadCredential=`: where `*_credential` secrets are read.",
    ),
];

/// The man page's EXAMPLES: (command, what it does).
const EXAMPLES: &[(&str, &str)] = &[
    (
        "`scaler check --offline`",
        "validate /etc/scaler/scaler.toml without connecting to anything.",
    ),
    (
        "`scaler check`",
        "try the database, Redis and the provider, one line each.",
    ),
    (
        "`scaler plan --at 08:00 --busy 30`",
        "what would happen at 08:00 today with 30 busy gateways (the report's `what_if`; \
             `observed` stays what was observed).",
    ),
    (
        "`scaler -v plan`",
        "the same with each step on stderr and its time: listing, observation, probes, \
             decision, each action. When a rule holds back what the decision wants \
             (`limits.scale_down_delay`, a brake, `pool.max_vcpus`, no whole idle instance, a \
             call in progress, `limits.deadline`), the report's first line ends `held back by` \
             the rule and the JSON lists it in `held_back`.",
    ),
    (
        "`scaler status`",
        "the pool's instances, one line each, with their gateways and what the next pass would \
             do to each; `--format json` for scripts.",
    ),
    (
        "`* * * * * scaler -q run`",
        "the crontab line: one pass a minute, mail only when something changed or failed.",
    ),
    (
        "`scaler run --every 1m`",
        "stay running (a container's command): a pass at each minute boundary, never two at \
             once; SIGTERM exits 0 after the pass in flight.",
    ),
    (
        "`systemctl enable --now scaler.timer`",
        "the same with the packaged systemd timer.",
    ),
    (
        "`sudo -u scaler scaler plan`",
        "a command by hand, as the user the packaged timer runs passes as.",
    ),
    (
        "`scaler config import scaler.json -o scaler.toml`",
        "convert a SIPMediaGW scaler configuration.",
    ),
    (
        "`scaler --metrics-file /var/lib/prometheus/node-exporter/scaler.prom run`",
        "one pass, then metrics for node_exporter's textfile collector.",
    ),
];

/// FILES, ENVIRONMENT, EXAMPLES, SEE ALSO.
fn static_sections() -> String {
    let mut roff = Roff::new();
    for (title, items) in [
        ("FILES", FILES),
        ("ENVIRONMENT", ENVIRONMENT),
        ("EXAMPLES", EXAMPLES),
    ] {
        roff.control("SH", [title]);
        for (term, text) in items {
            roff.control("TP", []);
            roff.text(inline(term));
            roff.text(inline(text));
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "crontab(5), systemd.timer(5), flock(2); README.md in /usr/share/doc/scaler/.",
    )]);
    roff.to_roff()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_documents_commands_exit_statuses_and_keys() {
        let page = man_page();
        for needle in [
            ".SH COMMANDS",
            ".SH \"EXIT STATUS\"",
            ".SH CONFIGURATION",
            ".SH FILES",
            ".SH ENVIRONMENT",
            ".SH EXAMPLES",
            "scaler plan",
            "detailed\\-exitcode",
            "pool.name",
        ] {
            assert!(page.contains(needle), "the man page lacks {needle:?}");
        }
        for exit in Exit::ALL {
            assert!(page.contains(&format!("\\fB{}\\fR", exit.code())));
        }
        assert!(
            !page.contains("scaler generate"),
            "hidden commands stay out"
        );
    }

    #[test]
    fn completions_name_the_commands() {
        for (shell, _) in COMPLETIONS {
            let script = completions(shell);
            assert!(script.contains("plan"), "{shell}");
        }
    }
}
