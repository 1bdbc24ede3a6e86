//! The `command` provider: any cloud (or none) through three user commands
//! with a JSON contract, for clouds without a built-in provider and for
//! shell scripts.
//!
//! Each of `list`, `create` and `destroy` is an argv array run without a
//! shell, in the configuration file's directory, with `SCALER_POOL` (the
//! pool name) and `SCALER_ACTION` (`list`, `create` or `destroy`) added to
//! the environment. A command that outlives `timeout` is killed with its
//! whole process group and the action fails.
//!
//! The contract (README "Provider `command`"):
//! - `list`: empty stdin; prints `{"instances": [INSTANCE, ...]}`.
//! - `create`: stdin `{"pool", "name", "instance_type", "vcpus", "user_data"?}`;
//!   prints the created INSTANCE (whose `name` is the requested one).
//! - `destroy`: stdin the INSTANCE as listed; stdout ignored.
//! - INSTANCE: `{"id", "name", "state": "building"|"active"|"error",
//!   "private_ip", "public_ip", "vcpus", "created_at", "instance_type"?}`;
//!   addresses may be `null` or `""`; `vcpus` may be left out when
//!   `instance_type` is one of `provider.instance_types`; `created_at` is
//!   RFC 3339; other keys are ignored.
//! - Exit status 0 is success; anything else fails the action, reported
//!   with an excerpt of stderr. Listed instances whose name does not start
//!   with `<pool>-` are ignored (only the pool's own are ever touched).

use super::user_data::UserData;
use super::{CreateRequest, Instance, InstanceState, Provider, ProviderError, belongs_to_pool};
use crate::duration::HumanDuration;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Largest stdout read from a command.
const STDOUT_LIMIT: u64 = 16 * 1024 * 1024;

/// Characters of stderr quoted in an error.
const STDERR_EXCERPT: usize = 400;

/// `[provider]` keys for `kind = "command"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Always `"command"` here.
    pub kind: String,
    /// Lists the pool's instances.
    pub list: Vec<String>,
    /// Creates one instance.
    pub create: Vec<String>,
    /// Destroys one instance.
    pub destroy: Vec<String>,
    /// Longest time one command may run.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// User data template file (relative to the configuration file).
    #[serde(default)]
    pub user_data_template: Option<PathBuf>,
    /// Variables of the template.
    #[serde(default)]
    pub user_data_vars: BTreeMap<String, String>,
    /// Instance type name to vCPUs.
    #[serde(default)]
    pub instance_types: BTreeMap<String, u32>,
    /// The directory commands run in (set by [`CommandConfig::prepare`]).
    #[serde(skip)]
    pub dir: PathBuf,
    /// The loaded template (set by [`CommandConfig::prepare`]).
    #[serde(skip)]
    pub user_data: Option<UserData>,
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

impl CommandConfig {
    /// Checks the commands, anchors relative program paths (those with a
    /// `/`) at `base`, the configuration's directory, and loads the template.
    pub fn prepare(&mut self, base: &Path, pool: &str) -> Result<(), String> {
        for (key, argv) in [
            ("list", &mut self.list),
            ("create", &mut self.create),
            ("destroy", &mut self.destroy),
        ] {
            let Some(program) = argv.first_mut() else {
                return Err(format!(
                    "provider.{key}: give the command as an array, e.g. [\"/usr/local/bin/cloud\", \"{key}\"]"
                ));
            };
            if program.is_empty() {
                return Err(format!("provider.{key}: the program name is empty"));
            }
            if program.contains('/') && Path::new(program.as_str()).is_relative() {
                *program = base.join(program.as_str()).to_string_lossy().into_owned();
            }
        }
        if self.timeout.0.is_zero() {
            return Err("provider.timeout must be more than 0s".into());
        }
        self.dir = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base.to_path_buf()
        };
        if let Some(path) = &mut self.user_data_template {
            *path = base.join(&*path);
        }
        self.user_data = match &self.user_data_template {
            Some(path) => Some(
                UserData::load(path, pool, &self.user_data_vars)
                    .map_err(|e| format!("provider.user_data_template: {e}"))?,
            ),
            None if !self.user_data_vars.is_empty() => {
                return Err(
                    "provider.user_data_vars is set but provider.user_data_template is not".into(),
                );
            }
            None => None,
        };
        Ok(())
    }
}

/// An instance as a command prints it.
#[derive(Debug, Deserialize)]
struct WireInstance {
    id: String,
    name: String,
    state: InstanceState,
    #[serde(default)]
    private_ip: Option<String>,
    #[serde(default)]
    public_ip: Option<String>,
    #[serde(default)]
    vcpus: Option<u32>,
    created_at: DateTime<Utc>,
    #[serde(default)]
    instance_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireList {
    instances: Vec<WireInstance>,
}

/// What `create` receives on stdin.
#[derive(Debug, serde::Serialize)]
struct CreateInput<'a> {
    pool: &'a str,
    name: &'a str,
    instance_type: &'a str,
    vcpus: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_data: Option<String>,
}

/// The command provider for one pool.
pub struct CommandProvider {
    pool: String,
    config: CommandConfig,
}

impl CommandProvider {
    /// A provider for `pool`.
    pub fn new(pool: &str, config: CommandConfig) -> CommandProvider {
        CommandProvider {
            pool: pool.to_string(),
            config,
        }
    }

    fn argv(&self, action: &str) -> &[String] {
        match action {
            "list" => &self.config.list,
            "create" => &self.config.create,
            _ => &self.config.destroy,
        }
    }

    /// Runs the command of `action` with `input` on stdin and returns its stdout.
    fn run(&self, action: &str, input: Option<String>) -> Result<String, ProviderError> {
        let argv = self.argv(action);
        let what = format!("command provider: {action} ({})", argv[0]);
        let fail = |why: String| ProviderError::unavailable(format!("{what}: {why}"));
        let bad = |why: String| ProviderError::bad_data(format!("{what}: {why}"));
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(&self.config.dir)
            .env("SCALER_POOL", &self.pool)
            .env("SCALER_ACTION", action)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills what it started too.
            .process_group(0);
        log::debug!("{what}");
        let mut child = command
            .spawn()
            .map_err(|e| fail(format!("cannot run it: {e}")))?;
        if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
            // Not joined: a command that does not read its input is its own
            // business, and the write ends when the pipe closes.
            std::thread::spawn(move || {
                let _ = stdin.write_all(input.as_bytes());
            });
        }
        let output = Output::read(&mut child);
        let timeout = self.time_allowed();
        let status = wait(&mut child, timeout).map_err(|e| match e {
            ProviderError::Timeout(m) if timeout < self.config.timeout.0 => {
                ProviderError::Timeout(format!(
                    "{m}: the pass's bound (limits.deadline + {} s) was near",
                    crate::watchdog::GRACE.as_secs()
                ))
            }
            other => other,
        });
        let collected = output.collect();
        if let Ok((_, err)) = &collected {
            for line in err.lines().filter(|l| !l.trim().is_empty()) {
                log::debug!("{what}: stderr: {line}");
            }
        }
        // A command killed at its timeout says so, whatever its pipes did.
        let status = status.map_err(|e| e.context(&what))?;
        let (out, err) = collected.map_err(fail)?;
        if !status.success() {
            let how = match (
                status.code(),
                std::os::unix::process::ExitStatusExt::signal(&status),
            ) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                (None, None) => "failed".to_string(),
            };
            return Err(fail(format!("{how}{}", excerpt(&err))));
        }
        if out.len() as u64 > STDOUT_LIMIT {
            return Err(bad(format!("printed more than {STDOUT_LIMIT} bytes")));
        }
        String::from_utf8(out).map_err(|_| bad("printed output that is not UTF-8".into()))
    }

    /// `provider.timeout`, cut short by the pass's own bound (the watchdog).
    fn time_allowed(&self) -> Duration {
        crate::watchdog::time_left().map_or(self.config.timeout.0, |left| {
            left.min(self.config.timeout.0)
        })
    }

    fn instance(&self, wire: WireInstance) -> Result<Instance, String> {
        let address = |field: &str, value: Option<String>| -> Result<Option<IpAddr>, String> {
            match value.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(text) => text.parse().map(Some).map_err(|_| {
                    format!(
                        "instance {}: {field} {text:?} is not an IP address",
                        wire.id
                    )
                }),
            }
        };
        let private_ip = address("private_ip", wire.private_ip.clone())?;
        let public_ip = address("public_ip", wire.public_ip.clone())?;
        let known = wire
            .instance_type
            .as_ref()
            .and_then(|t| self.config.instance_types.get(t).copied());
        let vcpus = wire.vcpus.or(known).ok_or_else(|| {
            format!(
                "instance {}: no vcpus (and no instance_type named in provider.instance_types)",
                wire.id
            )
        })?;
        if wire.id.trim().is_empty() {
            return Err(format!("an instance named {:?} has an empty id", wire.name));
        }
        Ok(Instance {
            id: wire.id,
            name: wire.name,
            state: wire.state,
            private_ip,
            public_ip,
            vcpus,
            instance_type: wire.instance_type,
            created_at: wire.created_at,
            adopted: false,
        })
    }
}

/// A command's stdout and stderr, read on their own threads.
struct Output {
    stdout: Option<mpsc::Receiver<std::io::Result<Vec<u8>>>>,
    stderr: Option<mpsc::Receiver<String>>,
}

impl Output {
    /// Starts reading the child's pipes (stdout up to the limit and one byte
    /// more, so that a longer output is seen).
    fn read(child: &mut Child) -> Output {
        let stdout = child.stdout.take().map(|out| {
            reading(move || {
                let mut buf = Vec::new();
                let result = out.take(STDOUT_LIMIT + 1).read_to_end(&mut buf);
                result.map(|_| buf)
            })
        });
        let stderr = child.stderr.take().map(|err| {
            reading(move || {
                let mut buf = Vec::new();
                let _ = err.take(1024 * 1024).read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        });
        Output { stdout, stderr }
    }

    /// What the command printed, once it ended: a process it left behind
    /// may hold its pipes open, so this waits [`OUTPUT_GRACE`] at most.
    fn collect(self) -> Result<(Vec<u8>, String), String> {
        let until = Instant::now() + OUTPUT_GRACE;
        let left = || until.saturating_duration_since(Instant::now());
        let out = match self.stdout.map(|r| r.recv_timeout(left())) {
            None => Vec::new(),
            Some(Ok(read)) => read.map_err(|e| format!("cannot read its output: {e}"))?,
            Some(Err(_)) => {
                return Err(format!(
                    "its output stayed open {} after it ended (a process it started holds stdout)",
                    HumanDuration(OUTPUT_GRACE)
                ));
            }
        };
        let err = self
            .stderr
            .and_then(|r| r.recv_timeout(left()).ok())
            .unwrap_or_default();
        Ok((out, err))
    }
}

/// How long the output of a command that ended may still take to close.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// Runs `read` on its own thread; its result arrives on the channel.
fn reading<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(read());
    });
    receiver
}

/// Waits for the child until `timeout`, then kills its process group.
fn wait(child: &mut Child, timeout: Duration) -> Result<ExitStatus, ProviderError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child);
                let _ = child.wait();
                return Err(ProviderError::Timeout(format!(
                    "did not finish within {} and was killed",
                    HumanDuration(timeout)
                )));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(ProviderError::io(&e).context("cannot wait for it")),
        }
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (it was spawned with `process_group(0)`); no memory is
        // involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

/// `: <last lines of stderr>` or nothing.
fn excerpt(stderr: &str) -> String {
    let text = stderr.trim();
    if text.is_empty() {
        return String::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let start = chars.len().saturating_sub(STDERR_EXCERPT);
    let tail: String = chars[start..].iter().collect();
    let prefix = if start > 0 { "…" } else { "" };
    format!(": {prefix}{}", tail.replace('\n', " | "))
}

impl Provider for CommandProvider {
    fn list(&mut self) -> Result<Vec<Instance>, ProviderError> {
        let out = self.run("list", None)?;
        let wire: WireList = serde_json::from_str(&out).map_err(|e| {
            ProviderError::bad_data(format!(
                "command provider: list printed invalid JSON ({e}); expected {{\"instances\": [...]}}"
            ))
        })?;
        let mut ids = HashSet::new();
        let mut instances = Vec::new();
        for wire in wire.instances {
            if !belongs_to_pool(&self.pool, &wire.name) {
                log::debug!(
                    "command provider: ignoring {} ({}): not named {}-...",
                    wire.name,
                    wire.id,
                    self.pool
                );
                continue;
            }
            let instance = self
                .instance(wire)
                .map_err(|e| ProviderError::bad_data(format!("command provider: list: {e}")))?;
            if !ids.insert(instance.id.clone()) {
                return Err(ProviderError::bad_data(format!(
                    "command provider: list: instance id {} appears twice",
                    instance.id
                )));
            }
            instances.push(instance);
        }
        Ok(instances)
    }

    fn create(&mut self, request: &CreateRequest) -> Result<Instance, ProviderError> {
        let input = CreateInput {
            pool: &self.pool,
            name: &request.name,
            instance_type: &request.instance_type,
            vcpus: request.vcpus,
            user_data: self
                .config
                .user_data
                .as_ref()
                .map(|u| u.render(&request.name)),
        };
        let input =
            serde_json::to_string(&input).map_err(|e| ProviderError::bad_data(e.to_string()))?;
        let out = self.run("create", Some(input))?;
        let wire: WireInstance = serde_json::from_str(&out).map_err(|e| {
            ProviderError::bad_data(format!(
                "command provider: create printed invalid JSON ({e}); expected the created instance"
            ))
        })?;
        if wire.name != request.name {
            return Err(ProviderError::bad_data(format!(
                "command provider: create printed instance {} named {:?}, expected {:?}",
                wire.id, wire.name, request.name
            )));
        }
        let mut instance = self
            .instance(WireInstance {
                vcpus: wire.vcpus.or(Some(request.vcpus)),
                ..wire
            })
            .map_err(|e| ProviderError::bad_data(format!("command provider: create: {e}")))?;
        if instance.instance_type.is_none() {
            instance.instance_type = Some(request.instance_type.clone());
        }
        Ok(instance)
    }

    fn destroy(&mut self, instance: &Instance) -> Result<(), ProviderError> {
        let input =
            serde_json::to_string(instance).map_err(|e| ProviderError::bad_data(e.to_string()))?;
        self.run("destroy", Some(input)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(dir: &Path, list: &str, timeout: &str) -> CommandProvider {
        let mut config: CommandConfig = toml::from_str(&format!(
            "kind = \"command\"\nlist = [\"sh\", \"-c\", {list:?}]\ncreate = [\"cat\"]\n\
             destroy = [\"sh\", \"-c\", \"cat > destroyed.json\"]\ntimeout = \"{timeout}\"\n\
             [instance_types]\nc4 = 4\n"
        ))
        .unwrap();
        config.prepare(dir, "gw").unwrap();
        CommandProvider::new("gw", config)
    }

    #[test]
    fn lists_only_the_pool_and_fills_vcpus() {
        let dir = tempfile::tempdir().unwrap();
        let json = r#"{"instances":[
            {"id":"a","name":"gw-1-0","state":"active","private_ip":"10.0.0.1","public_ip":"","created_at":"2026-11-23T07:00:00Z","instance_type":"c4","extra":1},
            {"id":"b","name":"gw-1-1","state":"building","private_ip":null,"vcpus":8,"created_at":"2026-11-23T07:00:00+01:00"},
            {"id":"c","name":"other-1-0","state":"error","created_at":"2026-11-23T07:00:00Z"}]}"#;
        let mut p = provider(dir.path(), &format!("echo '{json}'; echo noise >&2"), "5s");
        let list = p.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].vcpus, 4);
        assert_eq!(list[0].private_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(list[0].public_ip, None);
        assert_eq!(list[1].state, InstanceState::Building);
        assert_eq!(list[1].created_at.to_rfc3339(), "2026-11-23T06:00:00+00:00");
    }

    #[test]
    fn create_and_destroy_speak_json() {
        let dir = tempfile::tempdir().unwrap();
        // `cat` echoes the request: a valid instance only once id, state and
        // created_at are added, so the error names what is missing.
        let mut p = provider(dir.path(), "true", "5s");
        let request = CreateRequest {
            name: "gw-1-0".into(),
            instance_type: "c4".into(),
            vcpus: 4,
        };
        let err = p.create(&request).unwrap_err();
        assert!(err.message().contains("missing field `id`"), "{err}");
        p.config.create = vec![
            "sh".into(),
            "-c".into(),
            "read -r input; printf '{\"id\":\"i-9\",\"state\":\"building\",\"created_at\":\"2026-11-23T07:00:00Z\",%s' \"${input#\\{}\"".into(),
        ];
        let created = p.create(&request).unwrap();
        assert_eq!(created.id, "i-9");
        assert_eq!(created.vcpus, 4);
        assert_eq!(created.instance_type.as_deref(), Some("c4"));
        p.destroy(&created).unwrap();
        let sent: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("destroyed.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(sent["id"], "i-9");
        assert_eq!(sent["name"], "gw-1-0");
    }

    #[test]
    fn failures_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let err = provider(dir.path(), "echo boom >&2; exit 3", "5s")
            .list()
            .unwrap_err();
        assert!(
            err.message().contains("exited with status 3: boom"),
            "{err}"
        );
        assert!(matches!(err, ProviderError::Unavailable(_)), "{err:?}");
        let err = provider(dir.path(), "echo '{\"instances\": [}'", "5s")
            .list()
            .unwrap_err();
        assert!(err.message().contains("invalid JSON"), "{err}");
        assert!(matches!(err, ProviderError::BadData(_)), "{err:?}");
        let err = provider(dir.path(), "echo '{\"instances\":[{\"id\":\"a\",\"name\":\"gw-1\",\"state\":\"on\",\"created_at\":\"2026-11-23T07:00:00Z\"}]}'", "5s")
            .list()
            .unwrap_err();
        assert!(err.message().contains("unknown variant `on`"), "{err}");
        let started = Instant::now();
        // The child's own child (sleep) holds stdout: the whole group must die.
        let err = provider(dir.path(), "sleep 30 & sleep 30", "300ms")
            .list()
            .unwrap_err();
        assert!(
            err.message().contains("did not finish within 300ms"),
            "{err}"
        );
        assert!(matches!(err, ProviderError::Timeout(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut missing = provider(dir.path(), "true", "5s");
        missing.config.list = vec!["/nonexistent/cloud".into()];
        assert!(
            missing
                .list()
                .unwrap_err()
                .message()
                .contains("cannot run it")
        );
    }

    #[test]
    fn configuration_checks() {
        let bad: CommandConfig =
            toml::from_str("kind = \"command\"\nlist = []\ncreate = [\"a\"]\ndestroy = [\"b\"]\n")
                .unwrap();
        let err = bad
            .clone()
            .prepare(Path::new("/etc/scaler"), "gw")
            .unwrap_err();
        assert!(err.contains("provider.list"), "{err}");
        let mut ok: CommandConfig = toml::from_str(
            "kind = \"command\"\nlist = [\"./cloud\", \"list\"]\ncreate = [\"cloud\"]\ndestroy = [\"/bin/cloud\"]\n",
        )
        .unwrap();
        ok.prepare(Path::new("/etc/scaler"), "gw").unwrap();
        assert_eq!(ok.list[0], "/etc/scaler/./cloud");
        assert_eq!(ok.create[0], "cloud");
        assert_eq!(ok.destroy[0], "/bin/cloud");
        assert!(
            toml::from_str::<CommandConfig>(
                "kind = \"command\"\nlist = [\"a\"]\ncreate = [\"a\"]\ndestroy = [\"b\"]\nshell = true\n"
            )
            .is_err()
        );
    }
}
