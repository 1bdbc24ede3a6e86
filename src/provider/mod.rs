//! Cloud providers: the I/O boundary that lists, creates and destroys the
//! pool's instances. Each backend implements [`Provider`]; everything above it
//! works on [`Instance`] values and never sees a provider's own JSON.

pub mod command;
pub mod ec2;
pub mod local;
pub mod membership;
pub mod openstack;
pub mod sigv4;
pub mod user_data;

pub use crate::model::{Instance, InstanceState};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A request to create one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    /// Name to give it.
    pub name: String,
    /// Instance type / flavor.
    pub instance_type: String,
    /// Its vCPUs, from the configuration.
    pub vcpus: u32,
}

/// A failed provider call, classified by kind (see [`Fault`]): the pass
/// tells an unavailable cloud from one that answered and refused.
pub type ProviderError = crate::fault::Fault;

/// A cloud provider holding the pool's instances.
pub trait Provider {
    /// All instances of the pool (and only those). Fails rather than return
    /// an incomplete list.
    fn list(&mut self) -> Result<Vec<Instance>, ProviderError>;
    /// Creates one instance and returns it as the provider reports it.
    fn create(&mut self, request: &CreateRequest) -> Result<Instance, ProviderError>;
    /// Destroys one instance.
    fn destroy(&mut self, instance: &Instance) -> Result<(), ProviderError>;
    /// Instance types whose vCPUs only the provider knows (OpenStack
    /// `flavors`), read once per run and added to the configured ones.
    fn provider_instance_types(&mut self) -> Result<BTreeMap<String, u32>, ProviderError> {
        Ok(BTreeMap::new())
    }
    /// Housekeeping after a pass's actions, never called by `plan` or a dry
    /// run (OpenStack: attach the pool's free floating IPs).
    fn settle(&mut self) -> Settled {
        Settled::default()
    }
}

/// What [`Provider::settle`] (and provider-side work around actions) did:
/// one line per change for the report's notes, one per failure.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Changes made.
    pub notes: Vec<String>,
    /// Failures (the pass then exits 3).
    pub errors: Vec<String>,
}

/// The name of the `n`th instance created by a pass that started at `at`:
/// `<pool>-<YYYYmmddHHMMSS>-<n>-<8 hex digits>`. The random suffix makes
/// every creation's name unique (two passes in one second, a pass that died
/// and its successor), so providers may send it as an idempotency key
/// (`ec2`'s `ClientToken`): a retry of one request reuses it, a new
/// creation never does.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use scaler::provider::{belongs_to_pool, instance_name};
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 7, 5, 9).unwrap();
/// let name = instance_name("gw", at, 2);
/// assert!(name.starts_with("gw-20261123070509-2-"));
/// assert_ne!(name, instance_name("gw", at, 2), "unique per creation");
/// assert!(belongs_to_pool("gw", &name));
/// assert!(!belongs_to_pool("g", &name));
/// ```
pub fn instance_name(pool: &str, at: DateTime<Utc>, n: usize) -> String {
    format!("{pool}-{}-{n}-{:08x}", at.format("%Y%m%d%H%M%S"), nonce())
}

/// 32 random bits: std's hasher keys come from the operating system's
/// random source, and each `RandomState` gets new ones.
fn nonce() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let bits = hasher.finish();
    (bits ^ (bits >> 32)) as u32
}

/// Whether an instance name belongs to the pool (`<pool>-` prefix).
pub fn belongs_to_pool(pool: &str, name: &str) -> bool {
    name.strip_prefix(pool)
        .is_some_and(|rest| rest.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_membership_is_by_exact_prefix() {
        assert!(belongs_to_pool("gw", "gw-20261123-0"));
        assert!(!belongs_to_pool("gw", "gwx-20261123-0"));
        assert!(!belongs_to_pool("gw", "other-gw-1"));
        let at = DateTime::parse_from_rfc3339("2026-11-23T07:05:09Z")
            .unwrap()
            .with_timezone(&Utc);
        let name = instance_name("gw", at, 2);
        assert!(name.starts_with("gw-20261123070509-2-"), "{name}");
        assert_eq!(name.len(), "gw-20261123070509-2-".len() + 8, "{name}");
        assert!(belongs_to_pool("gw", &name));
    }

    #[test]
    fn names_are_unique_per_creation_even_within_one_second() {
        let at = Utc::now();
        let names: std::collections::HashSet<String> =
            (0..200).map(|_| instance_name("gw", at, 0)).collect();
        assert_eq!(
            names.len(),
            200,
            "the same pass second and index, new names"
        );
    }
}
