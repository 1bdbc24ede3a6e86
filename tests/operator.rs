//! What an operator meets on a packaged install, through the real binary:
//! the unit runs as the package's `scaler` user with its own directories
//! (the sysusers.d and tmpfiles.d files make them), passes run as that user
//! work and refuse, with exit 78 naming the path and the fix, files another
//! user left; secrets come from systemd credentials; a bare `scaler` is a
//! usage error; a dry run says so. Tests run as root (here and in CI): the
//! `scaler` user is created on this machine from the package's own
//! sysusers.d file, as its postinst does, and passes run as it via setpriv.

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const IDLE1: &str = "{ idle_min = 1, load_max = 0.9, max_gateways = 10 }";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `Key=value` settings of a unit file, in order (comments left out).
fn settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn setting(unit: &str, key: &str) -> Option<String> {
    settings(unit)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .next_back()
}

#[test]
fn the_unit_runs_as_the_packaged_user_in_its_own_directories() {
    let unit = read("examples/scaler.service");
    assert_eq!(setting(&unit, "DynamicUser"), None, "no transient user");
    let user = setting(&unit, "User").expect("User=");
    assert_eq!(user, "scaler");
    assert_eq!(setting(&unit, "Group").as_deref(), Some("scaler"));
    assert_eq!(setting(&unit, "StateDirectory").as_deref(), Some("scaler"));
    assert_eq!(
        setting(&unit, "RuntimeDirectory").as_deref(),
        Some("scaler")
    );
    // Kept between passes: a pass by hand and the timer's lock the same file.
    assert_eq!(
        setting(&unit, "RuntimeDirectoryPreserve").as_deref(),
        Some("yes")
    );
    // The cron.d example runs its passes as the same user.
    let crontab = read("examples/crontab");
    assert!(
        crontab
            .lines()
            .any(|l| l.starts_with(&format!("* * * * * {user} /usr/bin/scaler"))),
        "{crontab}"
    );
    let writable = setting(&unit, "ReadWritePaths").unwrap_or_default();
    assert!(!writable.contains("/run/lock"), "{writable}");

    // The package makes that user and those directories.
    let sysusers = read("debian/scaler.sysusers");
    assert!(
        sysusers
            .lines()
            .any(|l| l.starts_with(&format!("u {user} "))),
        "{sysusers}"
    );
    let tmpfiles = read("debian/scaler.tmpfiles");
    for dir in ["/run/scaler", "/var/lib/scaler"] {
        assert!(
            tmpfiles
                .lines()
                .any(|l| l.starts_with(&format!("d {dir} 0750 {user} {user}"))),
            "{tmpfiles}"
        );
    }
    let manifest = read("Cargo.toml");
    for asset in [
        "usr/lib/sysusers.d/scaler.conf",
        "usr/lib/tmpfiles.d/scaler.conf",
    ] {
        assert!(manifest.contains(asset), "Cargo.toml does not ship {asset}");
    }
    assert!(manifest.contains("maintainer-scripts = \"debian/\""));
    assert!(read("debian/postinst").contains("systemd-sysusers scaler.conf"));

    // The default lock lives in the unit's RuntimeDirectory.
    let config = scaler::config::parse(
        &read("examples/quickstart.toml")
            .replace("[lock]\npath = \"/tmp/scaler-quickstart/pass.lock\"\n", ""),
        &repo("examples/quickstart.toml"),
    )
    .unwrap();
    assert_eq!(
        config.lock.path,
        Path::new("/run/scaler/scaler-quickstart.lock")
    );
}

#[test]
fn the_unit_with_a_credential_drop_in_verifies() {
    let unit = read("examples/scaler.service");
    // The drop-in its comments document.
    let credential = unit
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix("LoadCredential=")
        })
        .next()
        .expect("the unit documents a LoadCredential= drop-in");
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_scaler");
    let text = format!(
        "{}\nLoadCredential={credential}\n",
        unit.replace("/usr/bin/scaler", binary)
    );
    std::fs::write(dir.path().join("scaler.service"), text).unwrap();
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "scaler.service"])
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze runs (scripts/services.sh installs systemd)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    assert!(read("examples/sip.toml").contains(&format!(
        "password_credential = \"{}\"",
        credential.split(':').next().unwrap()
    )));
}

#[test]
fn sysusers_and_tmpfiles_make_the_user_and_its_directories_in_a_scratch_root() {
    let root = tempfile::tempdir().unwrap();
    for (file, dir) in [
        ("debian/scaler.sysusers", "usr/lib/sysusers.d"),
        ("debian/scaler.tmpfiles", "usr/lib/tmpfiles.d"),
    ] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
        std::fs::copy(repo(file), root.path().join(dir).join("scaler.conf")).unwrap();
    }
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    let root_arg = format!("--root={}", root.path().display());
    for tool in [
        vec!["systemd-sysusers", root_arg.as_str(), "scaler.conf"],
        vec![
            "systemd-tmpfiles",
            root_arg.as_str(),
            "--create",
            "scaler.conf",
        ],
    ] {
        let output = Command::new(tool[0]).args(&tool[1..]).output().unwrap();
        assert!(
            output.status.success(),
            "{tool:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let entry = passwd
        .lines()
        .find(|l| l.starts_with("scaler:"))
        .unwrap_or_else(|| panic!("no scaler user:\n{passwd}"));
    let fields: Vec<&str> = entry.split(':').collect();
    let uid: u32 = fields[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {entry}");
    assert_eq!(fields[6], "/usr/sbin/nologin", "{entry}");
    for dir in ["run/scaler", "var/lib/scaler"] {
        let meta = std::fs::metadata(root.path().join(dir)).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o750), "{dir}");
    }
}

/// The package's user on this machine, made from its sysusers.d file as the
/// postinst does (`systemd-sysusers` is idempotent): `(name, uid, gid)`.
fn scaler_user() -> &'static (String, u32, u32) {
    static USER: OnceLock<(String, u32, u32)> = OnceLock::new();
    USER.get_or_init(|| {
        let file = repo("debian/scaler.sysusers");
        let output = Command::new("systemd-sysusers")
            .arg(&file)
            .output()
            .expect("systemd-sysusers runs (tests run as root)");
        assert!(
            output.status.success(),
            "systemd-sysusers {}: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, "scaler"]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        ("scaler".to_string(), id("-u"), id("-g"))
    })
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

/// Runs `scaler` as the package's user (setpriv keeps the environment, and
/// with it the test database password).
fn scaler_as_user(args: &[&str]) -> Run {
    let (name, _, _) = scaler_user();
    let password = mysql::Opts::from_url(
        &std::env::var("SCALER_TEST_MYSQL")
            .unwrap_or_else(|_| "mysql://scaler:scaler@127.0.0.1:3306".into()),
    )
    .ok()
    .and_then(|o| o.get_pass().map(String::from))
    .unwrap_or_default();
    let output = Command::new("setpriv")
        .args(["--reuid", name, "--regid", name, "--init-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_scaler"))
        .args(args)
        .env(DB_PASSWORD_ENV, password)
        .env_remove("SCALER_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("setpriv runs");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A SIP pool workspace owned by the package's user, with metrics on.
fn user_workspace(tag: &str) -> (Workspace, Kamailio, String) {
    let (_, uid, gid) = *scaler_user();
    let ws = Workspace::new();
    let db = Kamailio::new(tag);
    let config = sip_config(&ws, &db, tag, IDLE1, "");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "[state]",
            "[metrics]\ntextfile = \"metrics/scaler.prom\"\n\n[state]",
        ),
    )
    .unwrap();
    std::fs::create_dir(ws.path("metrics")).unwrap();
    for path in [ws.dir.path().to_path_buf(), ws.path("metrics")] {
        chown(&path, uid, gid);
    }
    (ws, db, config)
}

#[test]
fn a_pass_as_the_packaged_user_owns_every_file_it_writes() {
    let (_, uid, _) = *scaler_user();
    let (ws, _db, config) = user_workspace("opuser");
    let run = scaler_as_user(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(run.actions().len(), 1, "{}", run.stdout);
    for file in [
        "pass.lock",
        "state.json",
        "cloud.json",
        "metrics/scaler.prom",
    ] {
        let meta = std::fs::metadata(ws.path(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(meta.uid(), uid, "{file} belongs to the pass's user");
    }
    let run = scaler_as_user(&["-c", &config, "--format", "json", "check"]).expect(0);
    let files = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "files")
        .cloned()
        .expect("a files line");
    assert_eq!(files["ok"], true, "{files}");
}

#[test]
fn a_lock_file_left_by_root_is_a_configuration_error_naming_it() {
    let (ws, _db, config) = user_workspace("oplock");
    // A pass run by hand as root left its lock file.
    std::fs::write(ws.path("pass.lock"), "").unwrap();
    let run = scaler_as_user(&["-c", &config, "--format", "json", "run"]).expect(78);
    let lock = ws.path("pass.lock").display().to_string();
    assert!(
        run.stderr
            .contains(&format!("lock file {lock} belongs to root")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("chown scaler: {lock}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("sudo -u scaler scaler"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["exit_code"], 78);
    // Detected before any action: nothing was created.
    assert!(!ws.cloud_file().exists(), "the pass created an instance");
    // `check` says the same on its files line.
    let run = scaler_as_user(&["-c", &config, "check"]).expect(69);
    assert!(run.stdout.contains("files      FAILED"), "{}", run.stdout);
    assert!(run.stdout.contains(&lock), "{}", run.stdout);
}

#[test]
fn a_metrics_directory_the_user_cannot_write_is_a_configuration_error() {
    let (ws, _db, config) = user_workspace("opmetrics");
    let metrics = ws.path("metrics");
    chown(&metrics, 0, 0);
    let run = scaler_as_user(&["-c", &config, "run"]).expect(78);
    let dir = metrics.display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "scaler (uid {}) cannot write in {dir}",
            scaler_user().1
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("setfacl -m u:scaler:rwx {dir}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("metrics.textfile"), "{}", run.stderr);
    assert!(!ws.cloud_file().exists(), "the pass created an instance");
}

#[test]
fn root_is_refused_the_packaged_users_directories() {
    let (ws, _db, config) = user_workspace("oproot");
    // As root (the test's user), in a directory that belongs to scaler.
    let run = scaler(&["-c", &config, "run"]).expect(78);
    assert!(
        run.stderr
            .contains(&format!("{} belongs to scaler", ws.dir.path().display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("sudo -u scaler scaler"),
        "{}",
        run.stderr
    );
    assert!(!ws.path("pass.lock").exists(), "root left a lock file");
    // What changes nothing is still allowed.
    scaler(&["-c", &config, "plan"]).expect(0);
}

#[test]
fn a_secret_comes_from_a_systemd_credential() {
    let ws = Workspace::new();
    let db = Kamailio::new("opcred");
    let config = sip_config(&ws, &db, "opcred", IDLE1, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let with_credential = text.replace(
        &format!("password_env = \"{DB_PASSWORD_ENV}\""),
        "password_credential = \"db-password\"",
    );
    assert_ne!(text, with_credential);
    std::fs::write(&config, with_credential).unwrap();
    let credentials = ws.path("credentials");
    std::fs::create_dir(&credentials).unwrap();
    let password = mysql::Opts::from_url(
        &std::env::var("SCALER_TEST_MYSQL")
            .unwrap_or_else(|_| "mysql://scaler:scaler@127.0.0.1:3306".into()),
    )
    .unwrap()
    .get_pass()
    .unwrap_or_default()
    .to_string();
    std::fs::write(credentials.join("db-password"), format!("{password}\n")).unwrap();

    let credentials_dir = credentials.to_string_lossy().into_owned();
    let env = [("CREDENTIALS_DIRECTORY", credentials_dir.as_str())];
    let run = scaler_with_env(&["-c", &config, "--format", "json", "check"], &env).expect(0);
    assert_eq!(run.json()["checks"][1]["ok"], true, "{}", run.stdout);

    // Outside a unit there are no credentials: a secret failure that says why.
    let run = scaler(&["-c", &config, "--format", "json", "check"]).expect(69);
    let sip = &run.json()["checks"][1];
    assert_eq!(sip["reason"], "secret", "{sip}");
    let detail = sip["detail"].as_str().unwrap();
    assert!(detail.contains("sip.password_credential"), "{detail}");
    assert!(
        detail.contains("CREDENTIALS_DIRECTORY is not set"),
        "{detail}"
    );
}

#[test]
fn a_bare_command_is_a_usage_error() {
    for args in [&[][..], &["config"][..], &["schedule"][..]] {
        let run = scaler(args).expect(64);
        assert!(
            run.stderr.contains("Usage: scaler"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    scaler(&["--help"]).expect(0);
    scaler(&["config", "--help"]).expect(0);
}

#[test]
fn a_dry_run_says_so_in_text_and_json() {
    let ws = Workspace::new();
    let db = Kamailio::new("opdry");
    let config = sip_config(&ws, &db, "opdry", IDLE1, "");
    let run = scaler(&["-c", &config, "--format", "json", "run", "--dry-run"]).expect(0);
    let json = run.json();
    assert_eq!(json["dry_run"], true, "{json}");
    assert_eq!(json["actions"][0]["status"], "planned");
    let run = scaler(&["-c", &config, "run", "--dry-run"]).expect(0);
    assert!(
        run.stdout.starts_with("dry run: opdry run:"),
        "{}",
        run.stdout
    );
    let run = scaler(&["-c", &config, "cleanup", "--dry-run"]).expect(0);
    assert!(
        run.stdout.starts_with("dry run: opdry cleanup:"),
        "{}",
        run.stdout
    );
    assert!(!ws.cloud_file().exists(), "a dry run created an instance");
    let json = scaler(&["-c", &config, "--format", "json", "plan"])
        .expect(0)
        .json();
    assert_eq!(json["dry_run"], true);
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(run.json()["dry_run"], false);
    let run = scaler(&["-c", &config, "run"]).expect(0);
    assert!(run.stdout.starts_with("opdry run:"), "{}", run.stdout);
}
