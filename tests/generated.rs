//! The generated files are up to date: `man/scaler.1` and `completions/*`
//! are exactly what the code renders now (else: run `scripts/generate.sh`
//! and commit), README's and `--help`'s exit status tables are the one of
//! `exit.rs`, and
//! README's key table (the man page's source) matches the parser in both
//! directions: every documented key is accepted, every accepted key is
//! documented. The parser's own list of accepted keys is read from its
//! "unknown field" errors, so a key added to a section without documentation
//! fails here.

use scaler::exit::Exit;
use scaler::generate;
use scaler::keys;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const HINT: &str = "run scripts/generate.sh and commit the result";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The first line where two texts differ, for the failure message.
fn first_difference(committed: &str, generated: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut generated_lines = generated.lines();
    for n in 1.. {
        match (committed_lines.next(), generated_lines.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "line {n}:\n  committed: {}\n  generated: {}",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                );
            }
        }
    }
    "only line endings differ".into()
}

#[test]
fn man_page_and_completions_are_up_to_date() {
    let mut stale = Vec::new();
    for (relative, generated) in generate::files() {
        let path = repo().join(&relative);
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == generated => {}
            Ok(committed) => stale.push(format!(
                "{} is stale, {}",
                relative.display(),
                first_difference(&committed, &generated)
            )),
            Err(e) => stale.push(format!("{} is missing: {e}", relative.display())),
        }
    }
    assert!(stale.is_empty(), "{}\n=> {HINT}", stale.join("\n"));
}

#[test]
fn readme_exit_status_table_is_the_code_table() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    for exit in Exit::ALL {
        let row = format!("| {} | {} |", exit.code(), exit.meaning());
        assert!(
            readme.lines().any(|l| l.trim() == row),
            "README.md lacks the exit status row {row:?} (src/exit.rs is the reference)"
        );
    }
}

#[test]
fn help_exit_status_table_is_the_code_table() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scaler"))
        .arg("--help")
        .output()
        .expect("scaler --help runs");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("UTF-8 help");
    let (_, table) = help
        .split_once("Exit status:")
        .expect("--help shows the exit status table");
    // One row per status; clap wraps long meanings onto indented lines.
    let mut rows: Vec<(u8, String)> = Vec::new();
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let first = line.split_whitespace().next().unwrap_or_default();
        match first.parse::<u8>() {
            Ok(code) => rows.push((code, line[first.len()..].trim().to_string())),
            Err(_) => {
                let (_, meaning) = rows.last_mut().expect("a row before a wrapped line");
                meaning.push(' ');
                meaning.push_str(line);
            }
        }
    }
    let code: Vec<(u8, String)> = Exit::ALL
        .into_iter()
        .map(|e| (e.code(), e.meaning().to_string()))
        .collect();
    assert_eq!(
        rows, code,
        "--help's exit status table is not src/exit.rs's"
    );
}

/// A valid configuration to inject unknown keys into.
const BASE: &str = r#"[pool]
name = "keys"
kind = "sip"

[schedule]
[schedule.default]
"00:00" = { idle_min = 1, load_max = 0.5, max_gateways = 4 }

[sip]
url = "mysql://scaler@127.0.0.1:3306/kamailio"

[provider]
kind = "local"
[provider.instance_types]
"c4" = 4
"#;

const PROBE: &str = "zz_undocumented_probe";

/// The backquoted names after "expected" in a serde "unknown field" error.
fn expected_names(error: &str) -> Option<BTreeSet<String>> {
    let at = error.find(&format!("unknown field `{PROBE}`"))?;
    let rest = &error[at..];
    let rest = &rest[rest.find("expected")?..];
    let rest = rest.lines().next().unwrap_or(rest);
    Some(
        rest.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect(),
    )
}

fn parse_error(text: &str) -> String {
    match scaler::config::parse(text, Path::new("/etc/scaler/keys.toml")) {
        Ok(_) => panic!("{PROBE} was accepted in:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The keys the parser accepts in `[section]` (with `extra` lines first).
fn accepted(section: &str, extra: &str) -> BTreeSet<String> {
    let header = format!("[{section}]\n");
    let injected = format!("{header}{extra}{PROBE} = 1\n");
    let text = if BASE.contains(&header) {
        BASE.replacen(&header, &injected, 1)
    } else {
        format!("{BASE}\n{injected}")
    };
    // `[provider]` is followed by its kind in BASE; replace that instead.
    let text = if section == "provider" {
        BASE.replacen("[provider]\nkind = \"local\"\n", &injected, 1)
    } else {
        text
    };
    let error = parse_error(&text);
    expected_names(&error).unwrap_or_else(|| {
        panic!("cannot list the keys of [{section}] from the parser's error: {error}")
    })
}

/// The provider kinds the parser knows, from its error on an unknown kind.
fn provider_kinds() -> Vec<String> {
    let error = parse_error(&BASE.replacen("kind = \"local\"", &format!("kind = \"{PROBE}\""), 1));
    let rest = &error[error
        .find("expected")
        .unwrap_or_else(|| panic!("no provider list in: {error}"))..];
    rest.split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

#[test]
fn key_table_matches_the_parser() {
    // Documented: section -> first-level key names.
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in keys::keys() {
        for name in &key.names {
            let (section, rest) = name.split_once('.').expect("section.key");
            let first = rest.split('.').next().unwrap_or(rest);
            documented
                .entry(section.to_string())
                .or_default()
                .insert(first.to_string());
        }
    }
    let mut undocumented = Vec::new();
    let mut unaccepted = Vec::new();

    let root_error = parse_error(&format!("{PROBE} = 1\n{BASE}"));
    let sections = expected_names(&root_error)
        .unwrap_or_else(|| panic!("cannot list the sections from: {root_error}"));
    for section in &sections {
        if !documented.contains_key(section) {
            undocumented.push(format!("[{section}]"));
        }
    }
    for section in documented.keys() {
        if !sections.contains(section) {
            unaccepted.push(format!("[{section}]"));
        }
    }

    for section in sections.iter().filter(|s| documented.contains_key(*s)) {
        let doc = &documented[section];
        // `[schedule]` takes any timeline name (weekdays, `default`, names
        // that `[schedule.dates]` uses), so the parser has no key list to
        // compare: check the fixed keys are documented.
        if section == "schedule" {
            for name in ["timezone", "dates", "default"] {
                if !doc.contains(name) {
                    undocumented.push(format!("schedule.{name}"));
                }
            }
            continue;
        }
        let accepted: BTreeSet<String> = if section == "provider" {
            let mut all = BTreeSet::new();
            for kind in provider_kinds() {
                all.extend(accepted("provider", &format!("kind = \"{kind}\"\n")));
            }
            all
        } else {
            accepted(section, "")
        };
        for name in &accepted {
            let is_weekday = section == "schedule"
                && doc.contains("<weekday>")
                && name != "default"
                && name != "timezone";
            if !doc.contains(name) && !is_weekday {
                undocumented.push(format!("{section}.{name}"));
            }
        }
        for name in doc {
            if !name.starts_with('<') && !accepted.contains(name) {
                unaccepted.push(format!("{section}.{name}"));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "accepted by the parser but not documented in README.md's key table: {}\n=> add rows for them \
         between README's keys markers, then {HINT}",
        undocumented.join(", ")
    );
    assert!(
        unaccepted.is_empty(),
        "documented in README.md's key table but refused by the parser: {}",
        unaccepted.join(", ")
    );
}

#[test]
fn slot_fields_are_documented_with_the_schedule() {
    let error =
        parse_error(&BASE.replacen("idle_min = 1", &format!("{PROBE} = 1, idle_min = 1"), 1));
    let fields = expected_names(&error)
        .unwrap_or_else(|| panic!("cannot list the slot fields from: {error}"));
    let schedule = keys::keys()
        .into_iter()
        .find(|k| k.names.iter().any(|n| n == "schedule.default"))
        .expect("README documents schedule.default");
    for field in fields {
        assert!(
            schedule.meaning.contains(&field),
            "slot field {field} is not in README's schedule.default row\n=> {HINT}"
        );
    }
}

#[test]
fn the_binary_generates_the_same_files() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_scaler"))
            .args(args)
            .output()
            .expect("the scaler binary runs");
        assert!(output.status.success(), "scaler {args:?}: {output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    assert_eq!(run(&["generate", "man"]), generate::man_page());
    assert_eq!(
        run(&["generate", "completions", "fish"]),
        generate::completions(clap_complete::Shell::Fish)
    );
    let dir = tempfile::tempdir().unwrap();
    run(&["generate", "all", &dir.path().to_string_lossy()]);
    for (relative, text) in generate::files() {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(relative)).unwrap(),
            text
        );
    }
    // `generate` stays out of what it documents.
    for (_, text) in generate::files() {
        assert!(!text.contains("scaler generate") && !text.contains("scaler__subcmd__generate"));
    }
}
