//! End-to-end harness: a real Kamailio (`tests/kamailio/kamailio.cfg`)
//! writing `location` and `dialog` rows into a test database, SIPp gateways
//! that register and answer calls, and SIPp callers placing calls through
//! Kamailio. Every process is started in its own process group and ended by
//! that id when its guard drops (also when a test panics). A missing
//! `kamailio` or `sipp` fails the test with a hint; nothing is skipped.
//! Waits poll a condition against a deadline, never a fixed sleep.

use super::{Kamailio, mysql_base};
use mysql::prelude::Queryable;
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long any condition may take before the test fails: generous, so a
/// slow machine passes; a working one meets each condition in milliseconds
/// to seconds.
pub const DEADLINE: Duration = Duration::from_secs(60);

const POLL: Duration = Duration::from_millis(150);

/// The directory of the Kamailio configuration and the SIPp scenarios.
pub fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio")
}

fn find_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: the end-to-end suite needs Kamailio 5.6 \
                 (Debian packages kamailio, kamailio-mysql-modules) and SIPp (sip-tester); \
                 run scripts/services.sh"
            )
        })
}

/// A free UDP port on `ip` (bound then released: the caller binds it next).
pub fn free_udp_port(ip: &str) -> u16 {
    let socket = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("binding {ip}: {e}"));
    socket.local_addr().expect("a bound socket").port()
}

/// Polls `probe` until it returns `Some`, failing after [`DEADLINE`] with
/// `what` and the diagnostics.
pub fn wait_for<T>(
    what: &str,
    diagnostics: impl Fn() -> String,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if start.elapsed() > DEADLINE {
            panic!(
                "timed out after {DEADLINE:?} waiting for {what}\n{}",
                diagnostics()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// The last `lines` lines of a file, or a note that it is missing.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// A child process in its own process group, ended by that id on drop.
pub struct Process {
    name: String,
    pid: u32,
    child: RefCell<Child>,
    log: PathBuf,
    status: Cell<Option<ExitStatus>>,
}

fn signal_group(pid: u32, signal: &str) {
    // The group id is the child's pid (process_group(0)); `kill -- -PGID`
    // reaches every process it forked, and nothing else.
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Process {
    /// Starts `command` with stdout discarded and stderr in `log`.
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Process {
        let stderr = File::create(&log).expect("log file created");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Process {
            name: name.to_string(),
            pid: child.id(),
            child: RefCell::new(child),
            log,
            status: Cell::new(None),
        }
    }

    /// The exit status if the process has ended.
    pub fn exited(&self) -> Option<ExitStatus> {
        if self.status.get().is_none() {
            self.status
                .set(self.child.borrow_mut().try_wait().ok().flatten());
        }
        self.status.get()
    }

    /// Waits (up to [`DEADLINE`]) for the process to end on its own.
    pub fn wait_exit(&self, diagnostics: impl Fn() -> String) -> ExitStatus {
        wait_for(&format!("{} to exit", self.name), diagnostics, || {
            self.exited()
        })
    }

    /// Ends the process group: TERM, then KILL if it lingers.
    pub fn stop(&self) {
        if self.exited().is_none() {
            signal_group(self.pid, "TERM");
            let start = Instant::now();
            while self.exited().is_none() && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Also ends what the leader forked and left behind.
        signal_group(self.pid, "KILL");
        if self.status.get().is_none() {
            self.status.set(self.child.borrow_mut().wait().ok());
        }
    }

    /// The name and the end of the log, for failure messages.
    pub fn describe(&self) -> String {
        let state = match self.exited() {
            Some(status) => format!("exited: {status}"),
            None => "running".to_string(),
        };
        format!(
            "--- {} ({state}), {}:\n{}",
            self.name,
            self.log.display(),
            tail(&self.log, 25)
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running Kamailio on 127.0.0.1 writing into a test database.
/// Its runtime directory (logs, SIPp traces, RPC socket) is kept when the
/// test fails, and its path printed.
pub struct Proxy {
    process: Process,
    rpc: UnixDatagram,
    pub port: u16,
    sipp: PathBuf,
    next_rpc_id: Cell<u64>,
    pub dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.process.stop();
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!(
                "Kamailio's directory (logs, SIPp traces) kept: {}",
                self.dir.path().display()
            );
        }
    }
}

/// `location` as Kamailio wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationRow {
    pub username: String,
    pub contact: String,
    pub callid: String,
    pub received: Option<String>,
    pub cseq: i64,
    pub locked: i64,
    pub to_stop: i64,
    /// `expires > NOW()`.
    pub live: bool,
}

/// A `dialog` row as Kamailio wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogRow {
    pub hash_entry: u64,
    pub hash_id: u64,
    pub callee_contact: String,
    pub state: i64,
}

impl Kamailio {
    /// The URL Kamailio's `db_url` takes (with the password).
    pub fn kamailio_db_url(&self) -> String {
        let opts = mysql::Opts::from_url(&mysql_base()).expect("valid SCALER_TEST_MYSQL");
        format!(
            "mysql://{}:{}@{}:{}/{}",
            opts.get_user().unwrap_or("scaler"),
            opts.get_pass().unwrap_or(""),
            opts.get_ip_or_hostname(),
            opts.get_tcp_port(),
            self.name
        )
    }

    /// Every `location` row, by username.
    pub fn location(&mut self) -> Vec<LocationRow> {
        self.conn
            .query_map(
                "SELECT username, contact, callid, received, cseq, locked, to_stop, \
                 expires > NOW() FROM location ORDER BY username, id",
                |(username, contact, callid, received, cseq, locked, to_stop, live): (
                    String,
                    String,
                    String,
                    Option<String>,
                    i64,
                    i64,
                    i64,
                    i64,
                )| LocationRow {
                    username,
                    contact,
                    callid,
                    received,
                    cseq,
                    locked,
                    to_stop,
                    live: live != 0,
                },
            )
            .expect("location readable")
    }

    /// The `location` row of `username`.
    pub fn location_of(&mut self, username: &str) -> Option<LocationRow> {
        self.location().into_iter().find(|r| r.username == username)
    }

    /// Every `dialog` row.
    pub fn dialogs(&mut self) -> Vec<DialogRow> {
        self.conn
            .query_map(
                "SELECT hash_entry, hash_id, callee_contact, state FROM dialog ORDER BY id",
                |(hash_entry, hash_id, callee_contact, state): (u64, u64, String, i64)| DialogRow {
                    hash_entry,
                    hash_id,
                    callee_contact,
                    state,
                },
            )
            .expect("dialog readable")
    }
}

impl Proxy {
    /// Starts Kamailio on a free port of 127.0.0.1 for database `db`, with
    /// usrloc's expiry timer at `ul_timer` seconds, and waits until it answers
    /// on its RPC socket.
    pub fn start(db: &Kamailio, ul_timer: u32) -> Proxy {
        let kamailio = find_tool("kamailio");
        let sipp = find_tool("sipp");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_udp_port("127.0.0.1");
        let mut command = Command::new(&kamailio);
        command
            .arg("-f")
            .arg(scenarios().join("kamailio.cfg"))
            .args(["-DD", "-E", "-l", &format!("udp:127.0.0.1:{port}")])
            .arg("-Y")
            .arg(dir.path())
            .arg("-P")
            .arg(dir.path().join("kamailio.pid"))
            .arg("-w")
            .arg(dir.path())
            .arg("-A")
            .arg(format!("DBURL=\"{}\"", db.kamailio_db_url()))
            .arg("-A")
            .arg(format!("UL_TIMER={ul_timer}"));
        let process = Process::spawn("kamailio", command, dir.path().join("kamailio.log"));
        let client = dir.path().join("rpc-client.sock");
        let rpc = UnixDatagram::bind(&client).expect("RPC client socket");
        rpc.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("socket timeout");
        let proxy = Proxy {
            dir,
            port,
            process,
            rpc,
            sipp,
            next_rpc_id: Cell::new(1),
        };
        let started = Instant::now();
        loop {
            if let Some(status) = proxy.process.exited() {
                panic!(
                    "Kamailio exited during start-up ({status})\n{}",
                    proxy.process.describe()
                );
            }
            if proxy.rpc("core.version", serde_json::json!([])).is_ok() {
                break;
            }
            if started.elapsed() > DEADLINE {
                panic!(
                    "Kamailio did not answer on its RPC socket\n{}",
                    proxy.process.describe()
                );
            }
            std::thread::sleep(POLL);
        }
        proxy
    }

    /// Calls a Kamailio RPC method over the jsonrpcs datagram socket.
    pub fn rpc(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let id = self.next_rpc_id.get();
        self.next_rpc_id.set(id + 1);
        let request =
            serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        let server = self.dir.path().join("kamailio_rpc.sock");
        self.rpc
            .send_to(request.to_string().as_bytes(), &server)
            .map_err(|e| format!("sending {method}: {e}"))?;
        let mut buffer = vec![0u8; 65536];
        loop {
            let n = self
                .rpc
                .recv(&mut buffer)
                .map_err(|e| format!("waiting for {method}: {e}"))?;
            let reply: serde_json::Value = serde_json::from_slice(&buffer[..n])
                .map_err(|e| format!("{method}: bad reply: {e}"))?;
            if reply["id"] != id {
                continue; // a late answer to an earlier, timed-out request
            }
            return match reply.get("error") {
                Some(error) => Err(format!("{method}: {error}")),
                None => Ok(reply["result"].clone()),
            };
        }
    }

    /// Ends a call the way an operator would, through Kamailio
    /// (`dlg.end_dlg`): Kamailio sends BYE to both sides.
    pub fn end_call(&self, dialog: &DialogRow) {
        self.rpc(
            "dlg.end_dlg",
            serde_json::json!([dialog.hash_entry, dialog.hash_id]),
        )
        .unwrap_or_else(|e| panic!("ending the call: {e}"));
    }

    /// Kamailio's log tail, for failure messages.
    pub fn describe(&self) -> String {
        self.process.describe()
    }

    fn sipp(&self, name: &str, scenario: &str, ip: &str, port: u16) -> Command {
        let mut command = Command::new(&self.sipp);
        command
            .arg("-sf")
            .arg(scenarios().join(scenario))
            .args(["-i", ip, "-p", &port.to_string(), "-m", "1", "-nostdin"])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(self.dir.path().join(format!("{name}.errors")))
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(self.dir.path().join(format!("{name}.messages")));
        command
    }

    /// Starts gateway `<host>.mediagw.<n>`: SIPp on `host`, registering for
    /// `expires` seconds and refreshing every `refresh`. With `nat`, it
    /// advertises that address (Via, Contact) instead of its socket, as a
    /// gateway behind NAT does, so Kamailio's NAT handling applies.
    pub fn gateway(
        &self,
        host: &str,
        n: u32,
        nat: Option<&str>,
        expires: u32,
        refresh: Duration,
    ) -> Gateway {
        let username = format!("{host}.mediagw.{n}");
        let port = free_udp_port(host);
        let (advertised_ip, advertised_port) = match nat {
            Some(ip) => (ip.to_string(), 5060 + 2 * n as u16),
            None => (host.to_string(), port),
        };
        let mut command = self.sipp(&username, "gateway-register.xml", host, port);
        command
            .arg("-oocsf")
            .arg(scenarios().join("gateway-answer.xml"))
            .args(["-key", "gw_user", &username])
            .args(["-key", "adv_ip", &advertised_ip])
            .args(["-key", "adv_port", &advertised_port.to_string()])
            .args(["-key", "expires", &expires.to_string()])
            .args(["-d", &refresh.as_millis().to_string()])
            .arg(format!("127.0.0.1:{}", self.port));
        let log = self.dir.path().join(format!("{username}.log"));
        Gateway {
            process: Process::spawn(&username, command, log),
            errors: self.dir.path().join(format!("{username}.errors")),
            username,
            host: host.to_string(),
            port,
            advertised: format!("{advertised_ip}:{advertised_port}"),
        }
    }

    /// Places a call from 127.0.0.1 to `username` through Kamailio; the
    /// caller stays in the call until it receives a BYE.
    pub fn call(&self, username: &str) -> Call {
        let port = free_udp_port("127.0.0.1");
        let name = format!("caller-{username}");
        let mut command = self.sipp(&name, "caller.xml", "127.0.0.1", port);
        command
            .args(["-s", username])
            .arg(format!("127.0.0.1:{}", self.port));
        let log = self.dir.path().join(format!("{name}.log"));
        Call {
            process: Process::spawn(&name, command, log),
            errors: self.dir.path().join(format!("{name}.errors")),
        }
    }
}

/// A SIPp gateway (ended on drop).
pub struct Gateway {
    pub process: Process,
    pub username: String,
    pub host: String,
    /// The port SIPp sends from and receives on.
    pub port: u16,
    /// `ip:port` put in Via and Contact.
    pub advertised: String,
    errors: PathBuf,
}

impl Gateway {
    /// Ends the gateway (its VM is gone).
    pub fn stop(&self) {
        self.process.stop();
    }

    /// Its log and SIPp's error trace, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "{}\n--- {} SIPp errors:\n{}",
            self.process.describe(),
            self.username,
            tail(&self.errors, 15)
        )
    }
}

/// A SIPp caller in a call (ended on drop).
pub struct Call {
    pub process: Process,
    errors: PathBuf,
}

impl Call {
    /// Its log and SIPp's error trace, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "{}\n--- caller SIPp errors:\n{}",
            self.process.describe(),
            tail(&self.errors, 15)
        )
    }
}
