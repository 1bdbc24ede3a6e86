//! `scaler check` against real failures on 127.0.0.1: each dependency on its
//! own line, failures classified (refused, timeout, auth, schema, secret),
//! exit 0 only when every line is ok; `--offline` connects to nothing.

mod common;

use common::*;
use std::net::TcpListener;

const SLOT: &str = "{ idle_min = 1, load_max = 0.8, max_gateways = 4 }";

/// `(name, ok, reason)` of each check line of a JSON report.
fn lines(run: &Run) -> Vec<(String, bool, Option<String>)> {
    run.json()["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_string(),
                l["ok"].as_bool().unwrap_or_default(),
                l["reason"].as_str().map(String::from),
            )
        })
        .collect()
}

fn sip_line(run: &Run) -> (bool, Option<String>) {
    let (_, ok, reason) = lines(run)
        .into_iter()
        .find(|(name, _, _)| name == "sip")
        .expect("a sip line");
    (ok, reason)
}

#[test]
fn all_ok_exits_0_with_one_line_per_dependency() {
    let ws = Workspace::new();
    let db = Kamailio::new("checkok");
    let config = sip_config(&ws, &db, "checkok", SLOT, "");
    let run = scaler(&["-c", &config, "--format", "json", "check"]).expect(0);
    let names: Vec<String> = lines(&run).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["config", "sip", "provider", "files"]);
    let text = scaler(&["-c", &config, "check"]).expect(0);
    assert_eq!(text.stdout.lines().count(), 4, "{}", text.stdout);
    assert!(
        text.stdout.lines().all(|l| l.contains(" ok ")),
        "{}",
        text.stdout
    );
}

#[test]
fn failures_are_classified() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("checkfail");
    let config = sip_config(&ws, &db, "checkfail", SLOT, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let with = |replaced: String| {
        std::fs::write(&config, replaced).unwrap();
        scaler(&["-c", &config, "--format", "json", "check"])
    };

    // Nothing listens on port 1.
    let run = with(text.replace(":3306/", ":1/")).expect(69);
    assert_eq!(sip_line(&run), (false, Some("refused".into())));

    // A server that accepts and never answers: the handshake times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let run = with(text.replace(":3306/", &format!(":{port}/")).replace(
        "[sip]\n",
        "[sip]\nconnect_timeout = \"1s\"\nquery_timeout = \"1s\"\n",
    ))
    .expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("timeout".into())),
        "{}",
        run.stdout
    );
    drop(silent);

    // A wrong password.
    std::fs::write(&config, &text).unwrap();
    let run = scaler_with_env(
        &["-c", &config, "--format", "json", "check"],
        &[(DB_PASSWORD_ENV, "certainly-wrong")],
    )
    .expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("auth".into())),
        "{}",
        run.stdout
    );

    // The variable holding the password is not set.
    let run = with(text.replace(DB_PASSWORD_ENV, "SCALER_TEST_UNSET_PASSWORD")).expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("secret".into())),
        "{}",
        run.stdout
    );

    // SIPMediaGW's columns are missing: both are named.
    db.exec("ALTER TABLE location DROP COLUMN locked, DROP COLUMN to_stop");
    let run = with(text.clone()).expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("schema".into())),
        "{}",
        run.stdout
    );
    let detail = run.json()["checks"][1]["detail"].to_string();
    assert!(
        detail.contains("locked") && detail.contains("to_stop"),
        "{detail}"
    );
    let plain = scaler(&["-c", &config, "check"]).expect(69);
    assert!(plain.stdout.contains("FAILED (schema)"), "{}", plain.stdout);

    // Offline: the configuration only, whatever the database.
    let run = scaler(&["-c", &config, "--format", "json", "check", "--offline"]).expect(0);
    assert_eq!(lines(&run), [("config".to_string(), true, None)]);
}

/// `check` connects with an account that may read but not drain or forget:
/// the sip line fails with reason `privilege`, naming what is missing.
#[test]
fn accounts_that_cannot_drain_are_refused() {
    let ws = Workspace::new();
    let db = Kamailio::new("checkpriv");
    let config = sip_config(&ws, &db, "checkpriv", SLOT, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "ro",
            &["SELECT ON DB.location", "SELECT ON DB.dialog"],
            "cannot drain",
        ),
        (
            "nodel",
            &["SELECT, UPDATE ON DB.location", "SELECT ON DB.dialog"],
            "cannot forget",
        ),
        (
            "nodlg",
            &["SELECT, UPDATE, DELETE ON DB.location"],
            "reading dialog",
        ),
    ];
    for (tag, grants, expected) in cases {
        let account = Account::new(&db, tag, grants);
        std::fs::write(
            &config,
            text.replace("scaler@", &format!("{}@", account.name)),
        )
        .unwrap();
        let run = scaler_with_env(
            &["-c", &config, "--format", "json", "check"],
            &[(DB_PASSWORD_ENV, "restricted")],
        )
        .expect(69);
        assert_eq!(
            sip_line(&run),
            (false, Some("privilege".into())),
            "{tag}: {}",
            run.stdout
        );
        let detail = run.json()["checks"][1]["detail"].to_string();
        assert!(detail.contains(expected), "{tag}: {detail}");
    }
    // Every privilege the pass needs: ok.
    let account = Account::new(
        &db,
        "full",
        &[
            "SELECT, UPDATE, DELETE ON DB.location",
            "SELECT ON DB.dialog",
        ],
    );
    std::fs::write(
        &config,
        text.replace("scaler@", &format!("{}@", account.name)),
    )
    .unwrap();
    let run = scaler_with_env(
        &["-c", &config, "--format", "json", "check"],
        &[(DB_PASSWORD_ENV, "restricted")],
    )
    .expect(0);
    assert_eq!(sip_line(&run), (true, None), "{}", run.stdout);
}

/// A Redis ACL user that may read and load scripts but not write: the media
/// line fails with reason `privilege`.
#[test]
fn redis_users_that_cannot_drain_are_refused() {
    use common::media::{Redis, media_config};
    let ws = Workspace::new();
    let mut redis = Redis::new("checkacl");
    let user = format!("scaler-acl-{}", std::process::id());
    let keys = format!("~{}*", redis.namespace);
    let setuser = |rules: &[&str]| {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER")
            .arg(&user)
            .arg("reset")
            .arg("on")
            .arg(">restricted")
            .arg(&keys);
        for rule in rules {
            cmd.arg(*rule);
        }
        cmd
    };
    let _: () = setuser(&[
        "+@read",
        "+scan",
        "+script|load",
        "+evalsha",
        "+eval",
        "+ping",
    ])
    .query(redis.conn())
    .unwrap();
    let config = media_config(&ws, &redis, "checkacl", SLOT, "", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("redis://127.0.0.1", &format!("redis://{user}@127.0.0.1"))
        .replace("[media]\n", "[media]\npassword = \"restricted\"\n");
    std::fs::write(&config, &text).unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "check"]).expect(69);
    let media = run.json()["checks"][1].clone();
    assert_eq!(media["name"], "media", "{}", run.stdout);
    assert_eq!(media["reason"], "privilege", "{}", run.stdout);
    assert!(
        media["detail"]
            .to_string()
            .contains("cannot drain or forget"),
        "{media}"
    );
    // With the write commands the scripts run: ok.
    let _: () = setuser(&["+@read", "+@write", "+@scripting", "+ping"])
        .query(redis.conn())
        .unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "check"]).expect(0);
    assert_eq!(run.json()["checks"][1]["ok"], true, "{}", run.stdout);
    let _: () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query(redis.conn())
        .unwrap();
}

/// The media line's reason is the kind of the Redis client's failure:
/// nothing listening, a server that never answers, a user Redis refuses.
#[test]
fn media_failures_are_classified() {
    use common::media::{Redis, media_config, redis_url};
    let ws = Workspace::new();
    let redis = Redis::new("checkkinds");
    let config = media_config(&ws, &redis, "checkkinds", SLOT, "", "");
    let text = std::fs::read_to_string(&config).unwrap();
    let url = redis_url();
    let (_, rest) = url.split_once("127.0.0.1:").expect("a loopback Redis URL");
    let (port, _) = rest.split_once('/').expect("a URL with a database");
    let address = format!("127.0.0.1:{port}");
    let media_line = |replaced: String| {
        std::fs::write(&config, replaced).unwrap();
        let run = scaler(&["-c", &config, "--format", "json", "check"]).expect(69);
        let media = run.json()["checks"][1].clone();
        assert_eq!(media["name"], "media", "{}", run.stdout);
        assert_eq!(media["ok"], false, "{}", run.stdout);
        (
            media["reason"].as_str().unwrap_or_default().to_string(),
            media,
        )
    };

    // Nothing listens on port 1.
    let (reason, media) = media_line(text.replace(&address, "127.0.0.1:1"));
    assert_eq!(reason, "refused", "{media}");

    // A server that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (reason, media) = media_line(
        text.replace(&address, &format!("127.0.0.1:{port}"))
            .replace(
                "[media]\n",
                "[media]\nconnect_timeout = \"1s\"\ncommand_timeout = \"1s\"\n",
            ),
    );
    assert_eq!(reason, "timeout", "{media}");
    drop(silent);

    // A user Redis does not know.
    let (reason, media) = media_line(
        text.replace(
            "redis://127.0.0.1",
            &format!("redis://scaler-nobody-{}@127.0.0.1", std::process::id()),
        )
        .replace("[media]\n", "[media]\npassword = \"certainly-wrong\"\n"),
    );
    assert_eq!(reason, "auth", "{media}");
    // Sentences, not the client's debug form.
    assert!(!media["detail"].to_string().contains("{"), "{media}");
}

/// What `run` refuses, `check` refuses too, with the same exit status (78)
/// and the key's line, online and offline.
#[test]
fn check_refuses_what_run_refuses() {
    let ws = Workspace::new();
    let db = Kamailio::new("checksame");
    let config = sip_config(&ws, &db, "checksame", SLOT, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let cases = [
        (
            text.replace("url = \"mysql://", "url = \""),
            "sip.url: invalid MySQL URL",
        ),
        (
            text.replace("[sip]\n", "[sip]\npassword = \"x\"\n"),
            "sip.password: give only one of password, password_env, password_file and password_credential",
        ),
    ];
    for (bad, expected) in cases {
        std::fs::write(&config, bad).unwrap();
        for args in [
            &["-c", &config, "run"][..],
            &["-c", &config, "check"],
            &["-c", &config, "check", "--offline"],
        ] {
            let run = scaler(args).expect(78);
            assert!(
                run.stderr.contains(expected) && run.stderr.contains("line "),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
}

/// A metrics textfile that is a directory cannot be replaced by a file.
#[test]
fn a_metrics_path_that_is_a_directory_fails() {
    let ws = Workspace::new();
    let db = Kamailio::new("checkdir");
    let config = sip_config(&ws, &db, "checkdir", SLOT, "");
    std::fs::create_dir(ws.path("metrics.prom")).unwrap();
    let flag = ws.path("metrics.prom").to_string_lossy().into_owned();
    let run = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "--metrics-file",
        &flag,
        "check",
    ])
    .expect(69);
    let metrics = lines(&run)
        .into_iter()
        .find(|(name, _, _)| name == "metrics")
        .expect("a metrics line");
    assert!(!metrics.1, "{}", run.stdout);
    assert!(run.stdout.contains("is a directory"), "{}", run.stdout);
}
