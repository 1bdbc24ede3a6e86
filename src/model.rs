//! The model every layer shares: the pool's instances as a provider lists
//! them, its gateways as a source observes them, and the thresholds of a
//! schedule slot. Adapters (`provider/`, `pool/`, `probe`) produce these
//! values and the planner (`plan`) decides on them, so neither depends on the
//! other. Plain data, no I/O, nothing of ours imported.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What the provider says about an instance's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Being created or booting.
    Building,
    /// Running.
    Active,
    /// In error at the provider: it will never serve.
    Error,
}

/// One instance of the pool, as listed by the provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// The provider's identifier.
    pub id: String,
    /// The instance name (`<pool>-<timestamp>-<n>` for those we create).
    pub name: String,
    /// Life-cycle state.
    pub state: InstanceState,
    /// Private address, if any.
    pub private_ip: Option<IpAddr>,
    /// Public address, if any.
    pub public_ip: Option<IpAddr>,
    /// vCPUs (0 when unknown).
    pub vcpus: u32,
    /// Instance type / flavor name, when known.
    pub instance_type: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Matched the pool's membership filter (`[provider.membership]`)
    /// without the `scaler-pool` marker scaler puts on what it creates:
    /// *adopted*. The clean-up destroys an adopted instance only once it
    /// has shown it is one of the pool's gateways (DESIGN.md "Decision" ›
    /// "Clean-up"). False for instances scaler created, and for every match
    /// when the operator set `adopt = "all"`.
    #[serde(default)]
    pub adopted: bool,
}

impl Instance {
    /// Whether `ip` is one of this instance's addresses (the private or
    /// the public one): how a gateway's host is matched to its instance.
    ///
    /// ```
    /// use scaler::model::{Instance, InstanceState};
    /// let instance = Instance {
    ///     id: "i-1".into(),
    ///     name: "gw-20261123070509-0".into(),
    ///     state: InstanceState::Active,
    ///     private_ip: Some("10.0.0.5".parse().unwrap()),
    ///     public_ip: Some("54.0.0.5".parse().unwrap()),
    ///     vcpus: 4,
    ///     instance_type: Some("c4".into()),
    ///     created_at: chrono::Utc::now(),
    ///     adopted: false,
    /// };
    /// assert!(instance.has_address("10.0.0.5".parse().unwrap()));
    /// assert!(instance.has_address("54.0.0.5".parse().unwrap()));
    /// assert!(!instance.has_address("10.0.0.6".parse().unwrap()));
    /// ```
    pub fn has_address(&self, ip: IpAddr) -> bool {
        self.private_ip == Some(ip) || self.public_ip == Some(ip)
    }
}

/// What a gateway is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayState {
    /// Registered and free to take a call.
    Idle,
    /// In a call (or reserved for one).
    Busy,
    /// Marked to stop by a drain.
    Draining,
    /// Announced but not ready yet.
    Starting,
}

/// One gateway as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gateway {
    /// The source's identifier (SIP username, Redis key).
    pub id: String,
    /// The host it runs on.
    pub host: IpAddr,
    /// Its state.
    pub state: GatewayState,
    /// Whether a call is in progress on it, whatever its state (a draining
    /// gateway can still be finishing a call).
    pub in_call: bool,
}

/// The thresholds of one time slot, validated for the pool's kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    /// Idle gateways to keep on top of the busy ones (sip/media).
    pub idle_min: u32,
    /// Highest share of busy gateways, `0 < load_max <= 1` (sip/media).
    pub load_max: f64,
    /// Upper bound of the target.
    pub max_gateways: u32,
    /// Lower bound of the target.
    pub min_gateways: u32,
    /// Square-root staffing headroom β (sip/media): `ceil(β × √busy)` more
    /// gateways on top of the busy and idle ones, `0 <= β <= 10`; 0 adds
    /// nothing (and is not serialized).
    #[serde(skip_serializing_if = "is_zero")]
    pub sqrt_headroom: f64,
    /// Replica pools: resources that must stay available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_available: Option<u32>,
    /// Replica pools: upper bound of replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<u32>,
}

/// Whether a value is 0: a `sqrt_headroom` of 0 is left out of what is
/// written, so slots without one serialize as before.
pub fn is_zero(value: &f64) -> bool {
    *value == 0.0
}
