//! Every file in `examples/` is valid: each `*.toml` (subdirectories too) passes
//! `scaler check --offline` (with an empty environment: offline validation
//! never reads secrets, so the `*_env` variables the examples name need not
//! be set), the crontab and systemd lines parse as scaler command lines, and
//! the systemd units pass `systemd-analyze verify`.

use clap::Parser;
use scaler::cli::Cli;
use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Files under `examples/` (recursively) with this extension, sorted.
fn example_files(extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![examples()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("examples/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_toml_example_passes_offline_check() {
    let files = example_files("toml");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in ["sip.toml", "quickstart.toml"] {
        assert!(
            names.iter().any(|n| n == required),
            "examples/{required} is missing"
        );
    }
    let mut failures = Vec::new();
    for file in &files {
        let output = Command::new(env!("CARGO_BIN_EXE_scaler"))
            .args(["check", "--offline", "-c"])
            .arg(file)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("the scaler binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.code() != Some(0) || !stdout.starts_with("config") {
            failures.push(format!(
                "{}: exit {:?}\n{stdout}{}",
                file.display(),
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The scaler arguments of a command line that runs `/usr/bin/scaler`.
fn scaler_args(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    // The program's path first: in a cron.d line, `scaler` is also the user field.
    let start = words
        .iter()
        .position(|w| w.ends_with("/scaler"))
        .or_else(|| words.iter().position(|w| *w == "scaler"))
        .unwrap_or_else(|| panic!("no scaler command in {line:?}"));
    words[start..].iter().map(|w| w.to_string()).collect()
}

#[test]
fn crontab_and_unit_command_lines_parse() {
    let crontab = std::fs::read_to_string(examples().join("crontab")).expect("examples/crontab");
    let mut lines: Vec<String> = crontab
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter(|l| l.starts_with('*'))
        .map(String::from)
        .collect();
    assert!(!lines.is_empty(), "examples/crontab has no schedule line");
    let service = std::fs::read_to_string(examples().join("scaler.service"))
        .expect("examples/scaler.service");
    lines.extend(
        service
            .lines()
            .filter_map(|l| l.strip_prefix("ExecStart="))
            .map(String::from),
    );
    for line in lines {
        let args = scaler_args(&line);
        let cli =
            Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{line:?} does not parse: {e}"));
        assert!(cli.quiet, "{line:?}: cron and timers should run with -q");
    }
}

#[test]
fn systemd_units_verify() {
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_scaler");
    for unit in ["scaler.service", "scaler.timer"] {
        let text = std::fs::read_to_string(examples().join(unit)).unwrap();
        // Verify against the binary just built, wherever it is.
        std::fs::write(
            dir.path().join(unit),
            text.replace("/usr/bin/scaler", binary),
        )
        .unwrap();
    }
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "scaler.service", "scaler.timer"])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze: {e} (install the systemd package: scripts/services.sh does)")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: exit {:?}\n{stderr}",
        output.status.code()
    );
}
