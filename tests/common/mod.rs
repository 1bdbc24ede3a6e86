//! Shared test harness: runs the real `scaler` binary, writes configurations
//! into temporary directories, and prepares real services on 127.0.0.1
//! (a MariaDB database with Kamailio's own schema). A missing service fails
//! the test with a hint; it never skips.
#![allow(dead_code)]

pub mod http;

use mysql::prelude::Queryable;
use scaler::provider::InstanceState;
use scaler::provider::local::{CloudState, StoredInstance, read_state, write_state};
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod e2e;
pub mod media;
pub mod openstack;

/// The password the test account uses, passed to `scaler` through this variable.
pub const DB_PASSWORD_ENV: &str = "SCALER_TEST_DB_PASSWORD";

fn mysql_base() -> String {
    std::env::var("SCALER_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://scaler:scaler@127.0.0.1:3306".to_string())
}

/// The outcome of one `scaler` invocation.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON report on stdout.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit status, showing the output when it differs.
    pub fn expect(self, status: i32) -> Run {
        assert_eq!(
            self.status, status,
            "unexpected exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// `actions` of the JSON report as `(kind, status, reason)`.
    pub fn actions(&self) -> Vec<(String, String, String)> {
        let json = self.json();
        json["actions"]
            .as_array()
            .expect("actions is an array")
            .iter()
            .map(|a| {
                (
                    a["kind"].as_str().unwrap_or_default().to_string(),
                    a["status"].as_str().unwrap_or_default().to_string(),
                    a["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// Runs `scaler` with `args` (the test password in its environment).
pub fn scaler(args: &[&str]) -> Run {
    scaler_with_env(args, &[])
}

/// Runs `scaler` with extra environment variables.
pub fn scaler_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let password = mysql::Opts::from_url(&mysql_base())
        .ok()
        .and_then(|o| o.get_pass().map(String::from))
        .unwrap_or_default();
    let mut command = Command::new(env!("CARGO_BIN_EXE_scaler"));
    command
        .args(args)
        .env(DB_PASSWORD_ENV, password)
        .env_remove("SCALER_CONFIG")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("the scaler binary runs");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A temporary directory holding a configuration, a local cloud and a lock.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `scaler.toml` and returns its path as a string.
    pub fn config(&self, text: &str) -> String {
        let path = self.path("scaler.toml");
        std::fs::write(&path, text).expect("config written");
        path.to_string_lossy().into_owned()
    }

    /// The local cloud's state file.
    pub fn cloud_file(&self) -> PathBuf {
        self.path("cloud.json")
    }

    pub fn cloud(&self) -> CloudState {
        read_state(&self.cloud_file()).expect("cloud state readable")
    }

    /// Adds an instance to the local cloud directly (as if created earlier).
    pub fn add_instance(
        &self,
        pool: &str,
        ip: &str,
        state: InstanceState,
        age_minutes: i64,
        vcpus: u32,
    ) -> String {
        let mut cloud = self.cloud();
        let id = format!("local-{}", cloud.next_id);
        cloud.next_id += 1;
        let addr = ip.parse().expect("an IP");
        cloud.instances.push(StoredInstance {
            id: id.clone(),
            name: format!("{pool}-20260101000000-{}", cloud.next_id),
            pool: pool.to_string(),
            state,
            private_ip: Some(addr),
            public_ip: Some(addr),
            vcpus,
            instance_type: Some(format!("c{vcpus}")),
            created_at: chrono::Utc::now() - chrono::Duration::minutes(age_minutes),
        });
        write_state(&self.cloud_file(), &cloud).expect("cloud state written");
        id
    }

    /// Ids of the instances of `pool` in the local cloud.
    pub fn instance_ids(&self, pool: &str) -> Vec<String> {
        self.cloud()
            .instances
            .iter()
            .filter(|i| i.pool == pool)
            .map(|i| i.id.clone())
            .collect()
    }
}

/// A throw-away MariaDB database with Kamailio's schema (from the Debian
/// package `kamailio-mysql-modules`) plus SIPMediaGW's two columns.
pub struct Kamailio {
    pub name: String,
    conn: mysql::Conn,
}

/// Kamailio's schema files loaded into every test database.
pub const SCHEMA_FILES: [&str; 3] = [
    "/usr/share/kamailio/mysql/standard-create.sql",
    "/usr/share/kamailio/mysql/usrloc-create.sql",
    "/usr/share/kamailio/mysql/dialog-create.sql",
];

/// Executes each statement of a schema file.
pub fn load_sql(conn: &mut mysql::Conn, path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (run scripts/services.sh: it installs kamailio-mysql-modules)")
    });
    for statement in text.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        conn.query_drop(statement)
            .unwrap_or_else(|e| panic!("{path}: {e}\n{statement}"));
    }
}

impl Kamailio {
    /// Creates database `scaler_<tag>_<pid>` with the schema.
    pub fn new(tag: &str) -> Kamailio {
        let name = format!("scaler_{tag}_{}", std::process::id());
        let mut conn = mysql::Conn::new(
            mysql::Opts::from_url(&mysql_base()).expect("valid SCALER_TEST_MYSQL"),
        )
        .unwrap_or_else(|e| {
            panic!(
                "MariaDB at {} is not reachable: {e} (run scripts/services.sh)",
                mysql_base()
            )
        });
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .unwrap();
        conn.query_drop(format!("CREATE DATABASE `{name}`"))
            .unwrap();
        conn.query_drop(format!("USE `{name}`")).unwrap();
        for file in SCHEMA_FILES {
            load_sql(&mut conn, file);
        }
        conn.query_drop("ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0")
            .unwrap();
        Kamailio { name, conn }
    }

    /// The URL for the configuration (password comes from `password_env`).
    pub fn url(&self) -> String {
        let base = mysql_base();
        let opts = mysql::Opts::from_url(&base).unwrap();
        format!(
            "mysql://{}@{}:{}/{}",
            opts.get_user().unwrap_or("scaler"),
            opts.get_ip_or_hostname(),
            opts.get_tcp_port(),
            self.name
        )
    }

    /// The `[sip]` section for this database.
    pub fn sip_section(&self) -> String {
        format!(
            "[sip]\nurl = \"{}\"\npassword_env = \"{DB_PASSWORD_ENV}\"\n",
            self.url()
        )
    }

    /// Registers gateway `<host>.mediagw.<n>` the way Kamailio 5.6 writes it.
    pub fn register(&mut self, host: &str, n: u32, locked: bool, to_stop: bool) -> String {
        let username = format!("{host}.mediagw.{n}");
        let port = 5060 + 2 * n;
        self.conn
            .exec_drop(
                "INSERT INTO location (ruid, username, contact, received, expires, callid, user_agent, locked, to_stop) \
                 VALUES (?, ?, ?, ?, NOW() + INTERVAL 1 HOUR, ?, 'SIPMediaGW', ?, ?)",
                (
                    format!("uloc-{username}"),
                    &username,
                    format!("sip:{username}@{host}:{port}"),
                    format!("sip:{host}:{port}"),
                    format!("call-{username}"),
                    locked as i32,
                    to_stop as i32,
                ),
            )
            .unwrap();
        username
    }

    /// Puts gateway `username` on `host:port` in a confirmed call (a `dialog` row).
    pub fn call(&mut self, username: &str, host: &str, port: u32) {
        self.conn
            .exec_drop(
                "INSERT INTO dialog (hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq, \
                 caller_contact, callee_contact, caller_sock, callee_sock, state, start_time, req_uri) \
                 VALUES (1, FLOOR(RAND() * 1000000), UUID(), 'sip:caller@127.0.0.1', 'ft', ?, 'tt', '1', '1', \
                 'sip:caller@127.0.0.1:5090', ?, 'udp:127.0.0.1:5060', 'udp:127.0.0.1:5060', 4, UNIX_TIMESTAMP(), ?)",
                (
                    format!("sip:{username}@127.0.0.1"),
                    format!("sip:{username}@{host}:{port};alias={host}~{port}~1"),
                    format!("sip:{username}@127.0.0.1"),
                ),
            )
            .unwrap();
    }

    /// `(username, locked, to_stop)` of every location row, sorted.
    pub fn rows(&mut self) -> Vec<(String, i32, i32)> {
        self.conn
            .query("SELECT username, locked, to_stop FROM location ORDER BY username")
            .unwrap()
    }

    /// Loads one more schema file (e.g. Kamailio's `acc-create.sql`).
    pub fn load(&mut self, path: &str) {
        load_sql(&mut self.conn, path);
    }

    /// Runs a statement.
    pub fn exec(&mut self, sql: &str) {
        self.conn.query_drop(sql).unwrap();
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

/// A MariaDB account of this test with only `grants` on the test database
/// (`DB` in a grant names it), password `restricted`, dropped at the end (the
/// test account may create users: scripts/services.sh).
pub struct Account {
    pub name: String,
    admin: mysql::Conn,
}

impl Account {
    pub fn new(db: &Kamailio, tag: &str, grants: &[&str]) -> Account {
        let mut admin = mysql::Conn::new(mysql::Opts::from_url(&mysql_base()).unwrap()).unwrap();
        let name = format!("scaler_{tag}_{}", std::process::id());
        for host in ["127.0.0.1", "localhost"] {
            let account = format!("'{name}'@'{host}'");
            admin
                .query_drop(format!("DROP USER IF EXISTS {account}"))
                .unwrap();
            admin
                .query_drop(format!("CREATE USER {account} IDENTIFIED BY 'restricted'"))
                .unwrap_or_else(|e| panic!("{e} (run scripts/services.sh: it grants CREATE USER)"));
            for grant in grants {
                let grant = grant.replace("DB", &format!("`{}`", db.name));
                admin
                    .query_drop(format!("GRANT {grant} TO {account}"))
                    .unwrap_or_else(|e| panic!("GRANT {grant}: {e} (run scripts/services.sh)"));
            }
        }
        Account { name, admin }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        for host in ["127.0.0.1", "localhost"] {
            let _ = self
                .admin
                .query_drop(format!("DROP USER IF EXISTS '{}'@'{host}'", self.name));
        }
    }
}

/// A SIP pool configuration over a workspace and a database. `slot` is the
/// inline table of a single `default` slot starting at 00:00.
pub fn sip_config(
    ws: &Workspace,
    db: &Kamailio,
    pool: &str,
    slot: &str,
    extra_pool: &str,
) -> String {
    ws.config(&format!(
        r#"[pool]
name = "{pool}"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4
register_timeout = "10m"
{extra_pool}

[schedule]
timezone = "Europe/Paris"
[schedule.default]
"00:00" = {slot}

{sip}
[limits]
scale_down_delay = "0s"

[state]
path = "state.json"

[lock]
path = "pass.lock"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "127.0.1.0/24"
boot_delay = "60s"
[provider.instance_types]
"c4" = 4
"c8" = 8
"#,
        sip = db.sip_section()
    ))
}

/// Rewrites the configuration at `config` to read the database password
/// from a file of the workspace instead of `DB_PASSWORD_ENV`, so that this
/// process (not only the binary it runs) can load it and observe.
pub fn password_from_file(ws: &Workspace, config: &str) -> String {
    let password = mysql::Opts::from_url(&mysql_base())
        .ok()
        .and_then(|o| o.get_pass().map(String::from))
        .unwrap_or_default();
    std::fs::write(ws.path("db-password"), password).unwrap();
    let text = std::fs::read_to_string(config).unwrap().replace(
        &format!("password_env = \"{DB_PASSWORD_ENV}\""),
        &format!("password_file = {:?}", ws.path("db-password")),
    );
    ws.config(&text)
}

/// Whether a path exists (helper for readability).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// `scaler -c CONFIG --format json run`, expecting `status`: its report.
pub fn run(config: &str, status: i32) -> serde_json::Value {
    scaler(&["-c", config, "--format", "json", "run"])
        .expect(status)
        .json()
}

/// The `errors` of a JSON report.
pub fn errors(json: &serde_json::Value) -> Vec<String> {
    json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}
