//! The `local` provider: a JSON state file acting as a cloud, for the quick
//! start, tests and demonstrations. Created instances get addresses from
//! `address_range` (loopback by default, so anything that contacts them stays
//! on this machine) and turn active `boot_delay` after creation: the first
//! listing after that records `active` in the file, as a cloud would. Every change
//! is a locked read-modify-write followed by an atomic rename, so concurrent
//! processes never lose an instance; a lock another process holds for more
//! than [`LOCK_WAIT`] (or past the pass's bound) fails the call.

use super::{CreateRequest, Instance, InstanceState, Provider, ProviderError, belongs_to_pool};
use crate::duration::HumanDuration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[provider]` keys for `kind = "local"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// Always `"local"` here (the default: a `[provider]` without `kind`).
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The state file.
    #[serde(default = "default_state_file")]
    pub state_file: PathBuf,
    /// Addresses handed out (IPv4 CIDR).
    #[serde(default = "default_range")]
    pub address_range: Ipv4Net,
    /// Time from creation to `active`.
    #[serde(default = "default_boot_delay")]
    pub boot_delay: HumanDuration,
    /// Instance type name to vCPUs.
    #[serde(default)]
    pub instance_types: std::collections::BTreeMap<String, u32>,
}

fn default_kind() -> String {
    "local".to_string()
}

fn default_state_file() -> PathBuf {
    PathBuf::from("/var/lib/scaler/local-cloud.json")
}

fn default_range() -> Ipv4Net {
    Ipv4Net {
        base: Ipv4Addr::new(127, 0, 1, 0),
        prefix: 24,
    }
}

fn default_boot_delay() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

/// An IPv4 network such as `127.0.1.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Ipv4Net {
    base: Ipv4Addr,
    prefix: u8,
}

impl TryFrom<String> for Ipv4Net {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("invalid IPv4 network {text:?} (expected e.g. \"127.0.1.0/24\")");
        let (addr, prefix) = text.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        Ok(Ipv4Net {
            base: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }
}

impl Ipv4Net {
    /// Usable host addresses, in order (network and broadcast skipped when the
    /// network has them).
    fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let start = u32::from(self.base);
        let size: u64 = 1u64 << (32 - self.prefix);
        let (first, last) = if size > 2 {
            (1, size - 2)
        } else {
            (0, size - 1)
        };
        (first..=last).map(move |offset| Ipv4Addr::from(start.wrapping_add(offset as u32)))
    }
}

/// One instance as stored in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredInstance {
    /// Identifier (`local-<n>`).
    pub id: String,
    /// Name.
    pub name: String,
    /// The pool tag.
    pub pool: String,
    /// Stored state; `building` turns `active` once `boot_delay` has passed.
    pub state: InstanceState,
    /// Private address.
    pub private_ip: Option<IpAddr>,
    /// Public address.
    pub public_ip: Option<IpAddr>,
    /// vCPUs.
    pub vcpus: u32,
    /// Instance type.
    pub instance_type: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// The whole state file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CloudState {
    /// Next identifier number.
    #[serde(default)]
    pub next_id: u64,
    /// All instances, of every pool.
    #[serde(default)]
    pub instances: Vec<StoredInstance>,
}

/// The local provider for one pool.
pub struct LocalProvider {
    pool: String,
    config: LocalConfig,
    now: fn() -> DateTime<Utc>,
    /// How long to wait for the state file's lock ([`LOCK_WAIT`]).
    lock_wait: Duration,
}

impl LocalProvider {
    /// A provider for `pool` over the configured state file.
    pub fn new(pool: &str, config: LocalConfig) -> LocalProvider {
        LocalProvider {
            pool: pool.to_string(),
            config,
            now: Utc::now,
            lock_wait: LOCK_WAIT,
        }
    }

    fn boot_delay(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.boot_delay.0).unwrap_or(chrono::Duration::MAX)
    }

    fn view(&self, stored: &StoredInstance, now: DateTime<Utc>) -> Instance {
        let state = match stored.state {
            InstanceState::Building if now - stored.created_at >= self.boot_delay() => {
                InstanceState::Active
            }
            other => other,
        };
        Instance {
            id: stored.id.clone(),
            name: stored.name.clone(),
            state,
            private_ip: stored.private_ip,
            public_ip: stored.public_ip,
            vcpus: stored.vcpus,
            instance_type: stored.instance_type.clone(),
            created_at: stored.created_at,
            adopted: false,
        }
    }

    /// Turns this pool's instances whose boot delay has passed `active` in
    /// `state`; whether any changed (the file then needs writing).
    fn record_booted(&self, state: &mut CloudState, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        for stored in state.instances.iter_mut().filter(|s| self.mine(s)) {
            let booted = self.view(stored, now).state;
            if booted != stored.state {
                stored.state = booted;
                changed = true;
            }
        }
        changed
    }

    fn mine(&self, stored: &StoredInstance) -> bool {
        stored.pool == self.pool && belongs_to_pool(&self.pool, &stored.name)
    }

    /// Runs `change` on the state under an exclusive lock and saves it.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut CloudState) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let _lock = self.lock()?;
        let mut state = read_state(&self.config.state_file)?;
        let out = change(&mut state)?;
        write_state(&self.config.state_file, &state)?;
        Ok(out)
    }

    fn lock(&self) -> Result<File, ProviderError> {
        let path = lock_path(&self.config.state_file);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ProviderError::io(&e).context(format!("cannot create {}", dir.display()))
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                ProviderError::io(&e).context(format!("cannot open {}", path.display()))
            })?;
        let wait =
            crate::watchdog::time_left().map_or(self.lock_wait, |left| left.min(self.lock_wait));
        lock_within(&file, wait).map_err(|e| match e {
            None => ProviderError::Timeout(format!(
                "local cloud: another process has held {} for more than {:.1} s: gave up (the next pass retries)",
                path.display(),
                wait.as_secs_f64()
            )),
            Some(e) => ProviderError::io(&e).context(format!("cannot lock {}", path.display())),
        })?;
        Ok(file)
    }
}

/// How long a call waits for the state file's lock held by another process.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Takes an exclusive lock on `file`, retrying until `wait` has passed:
/// `Err(None)` when another holder kept it that long.
fn lock_within(file: &File, wait: Duration) -> Result<(), Option<std::io::Error>> {
    let until = std::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::Error(e)) => return Err(Some(e)),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() >= until => {
                return Err(None);
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

fn lock_path(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Reads a state file; a missing file is an empty cloud.
pub fn read_state(path: &Path) -> Result<CloudState, ProviderError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            ProviderError::bad_data(format!(
                "local cloud state {} is not valid: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CloudState::default()),
        Err(e) => Err(ProviderError::io(&e).context(format!("cannot read {}", path.display()))),
    }
}

/// Writes a state file atomically (temporary file, fsync, rename).
pub fn write_state(path: &Path, state: &CloudState) -> Result<(), ProviderError> {
    let fail = |e: std::io::Error| {
        ProviderError::io(&e).context(format!("cannot write {}", path.display()))
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let text =
        serde_json::to_string_pretty(state).map_err(|e| ProviderError::bad_data(e.to_string()))?;
    let mut file = File::create(&tmp).map_err(fail)?;
    // Root (say, a `plan` by hand recording a boot) keeps the file its owner's.
    if let Ok(old) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()));
    }
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.write_all(b"\n").map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

impl Provider for LocalProvider {
    fn list(&mut self) -> Result<Vec<Instance>, ProviderError> {
        let _lock = self.lock()?;
        let mut state = read_state(&self.config.state_file)?;
        let now = (self.now)();
        if self.record_booted(&mut state, now) {
            write_state(&self.config.state_file, &state)?;
        }
        Ok(state
            .instances
            .iter()
            .filter(|s| self.mine(s))
            .map(|s| self.view(s, now))
            .collect())
    }

    fn create(&mut self, request: &CreateRequest) -> Result<Instance, ProviderError> {
        let now = (self.now)();
        let range = self.config.address_range;
        let stored = self.update(|state| {
            let used: std::collections::HashSet<IpAddr> = state
                .instances
                .iter()
                .filter_map(|i| i.private_ip)
                .collect();
            let ip = range
                .hosts()
                .map(IpAddr::V4)
                .find(|ip| !used.contains(ip))
                .ok_or_else(|| {
                    ProviderError::rejected("local cloud: address_range is exhausted")
                })?;
            let stored = StoredInstance {
                id: format!("local-{}", state.next_id),
                name: request.name.clone(),
                pool: self.pool.clone(),
                state: InstanceState::Building,
                private_ip: Some(ip),
                public_ip: Some(ip),
                vcpus: request.vcpus,
                instance_type: Some(request.instance_type.clone()),
                created_at: now,
            };
            state.next_id += 1;
            state.instances.push(stored.clone());
            Ok(stored)
        })?;
        Ok(self.view(&stored, now))
    }

    fn destroy(&mut self, instance: &Instance) -> Result<(), ProviderError> {
        self.update(|state| {
            let before = state.instances.len();
            state
                .instances
                .retain(|s| !(s.id == instance.id && s.pool == self.pool));
            if state.instances.len() == before {
                return Err(ProviderError::rejected(format!(
                    "local cloud: no instance {}",
                    instance.id
                )));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(dir: &Path, pool: &str) -> LocalProvider {
        let config = LocalConfig {
            kind: "local".into(),
            state_file: dir.join("cloud.json"),
            address_range: Ipv4Net::try_from("127.0.1.0/30".to_string()).unwrap(),
            boot_delay: HumanDuration(Duration::from_secs(60)),
            instance_types: Default::default(),
        };
        LocalProvider::new(pool, config)
    }

    fn request(name: &str) -> CreateRequest {
        CreateRequest {
            name: name.into(),
            instance_type: "c4".into(),
            vcpus: 4,
        }
    }

    #[test]
    fn creates_boots_lists_and_destroys() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = provider(dir.path(), "gw");
        let a = p.create(&request("gw-1-0")).unwrap();
        assert_eq!(a.state, InstanceState::Building);
        assert_eq!(a.private_ip, Some("127.0.1.1".parse().unwrap()));
        let b = p.create(&request("gw-1-1")).unwrap();
        assert_eq!(b.private_ip, Some("127.0.1.2".parse().unwrap()));
        // A /30 has two host addresses: the third creation fails clearly.
        let err = p.create(&request("gw-1-2")).unwrap_err();
        assert!(err.message().contains("exhausted"), "{err}");
        p.now = || Utc::now() + chrono::Duration::seconds(61);
        assert!(
            p.list()
                .unwrap()
                .iter()
                .all(|i| i.state == InstanceState::Active)
        );
        p.destroy(&a).unwrap();
        assert_eq!(
            p.list().unwrap(),
            vec![
                p.view(
                    &read_state(&dir.path().join("cloud.json"))
                        .unwrap()
                        .instances[0],
                    (p.now)()
                )
            ]
        );
        assert!(p.destroy(&a).is_err());
    }

    #[test]
    fn the_state_file_records_active_once_booted() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = provider(dir.path(), "gw");
        p.create(&request("gw-1-0")).unwrap();
        let stored = |dir: &Path| read_state(&dir.join("cloud.json")).unwrap().instances;
        p.list().unwrap();
        assert_eq!(stored(dir.path())[0].state, InstanceState::Building);
        p.now = || Utc::now() + chrono::Duration::seconds(61);
        assert_eq!(p.list().unwrap()[0].state, InstanceState::Active);
        assert_eq!(stored(dir.path())[0].state, InstanceState::Active);
        // Another pool's instances are left as they are.
        let mut other = provider(dir.path(), "other");
        other.create(&request("other-1-0")).unwrap();
        p.list().unwrap();
        let other_state = stored(dir.path())
            .into_iter()
            .find(|s| s.pool == "other")
            .unwrap()
            .state;
        assert_eq!(other_state, InstanceState::Building);
    }

    #[test]
    fn other_pools_are_invisible_and_untouchable() {
        let dir = tempfile::tempdir().unwrap();
        let mut mine = provider(dir.path(), "gw");
        let mut other = provider(dir.path(), "other");
        let theirs = other.create(&request("other-1-0")).unwrap();
        assert!(mine.list().unwrap().is_empty());
        assert!(mine.destroy(&theirs).is_err());
        assert_eq!(other.list().unwrap().len(), 1);
    }

    #[test]
    fn a_lock_held_elsewhere_fails_the_call_after_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = provider(dir.path(), "gw");
        p.lock_wait = Duration::from_millis(50);
        p.create(&request("gw-1-0")).unwrap();
        let held = File::open(lock_path(&dir.path().join("cloud.json"))).unwrap();
        held.lock().unwrap();
        let err = p.list().unwrap_err();
        assert!(err.message().contains("another process has held"), "{err}");
        assert!(p.create(&request("gw-1-1")).is_err());
        drop(held);
        assert_eq!(p.list().unwrap().len(), 1);
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cloud.json"), "{not json").unwrap();
        let err = provider(dir.path(), "gw").list().unwrap_err();
        assert!(err.message().contains("not valid"), "{err}");
    }
}
