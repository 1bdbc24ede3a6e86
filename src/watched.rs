//! The provider and the gateway source as the watchdog sees them: every call
//! tells it which peer the pass waits for (the report names it if the pass
//! is stopped at its bound), and every call that may change something counts
//! as an action started (the stopped pass then exits 3, not 69). Each method
//! forwards to the wrapped backend and does nothing else: a method added to
//! either trait with a default body must be forwarded here too, or the
//! wrapped backend's own version is never called.

use crate::config::ProviderConfig;
use crate::pool::{
    DrainOutcome, Gateway, GatewayObservation, GatewaySource, Hosts, SourceError, SourceRecord,
};
use crate::provider::{CreateRequest, Instance, Provider, ProviderError, Settled};
use crate::watchdog::{action_started, doing};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// How the report names a provider.
pub fn provider_label(config: &ProviderConfig) -> String {
    match config {
        ProviderConfig::Local(local) => {
            format!("provider local ({})", local.state_file.display())
        }
        ProviderConfig::OpenStack(_) => "provider openstack".to_string(),
        ProviderConfig::Ec2(_) => "provider ec2".to_string(),
        ProviderConfig::Command(_) => "provider command".to_string(),
    }
}

/// A provider whose calls the watchdog sees.
pub struct WatchedProvider {
    inner: Box<dyn Provider>,
    label: String,
}

impl WatchedProvider {
    /// Wraps `inner`, named `label` in the watchdog's report.
    pub fn new(inner: Box<dyn Provider>, label: String) -> WatchedProvider {
        WatchedProvider { inner, label }
    }
}

impl Provider for WatchedProvider {
    fn list(&mut self) -> Result<Vec<Instance>, ProviderError> {
        let _call = doing(format!("{}: listing instances", self.label));
        self.inner.list()
    }

    fn create(&mut self, request: &CreateRequest) -> Result<Instance, ProviderError> {
        action_started(&format!("create {}", request.name));
        let _call = doing(format!("{}: creating {}", self.label, request.name));
        self.inner.create(request)
    }

    fn destroy(&mut self, instance: &Instance) -> Result<(), ProviderError> {
        action_started(&format!("destroy {}", instance.name));
        let _call = doing(format!("{}: destroying {}", self.label, instance.name));
        self.inner.destroy(instance)
    }

    fn provider_instance_types(&mut self) -> Result<BTreeMap<String, u32>, ProviderError> {
        let _call = doing(format!("{}: reading instance types", self.label));
        self.inner.provider_instance_types()
    }

    fn settle(&mut self) -> Settled {
        action_started("provider housekeeping");
        let _call = doing(format!("{}: housekeeping after the actions", self.label));
        self.inner.settle()
    }
}

/// A gateway source whose calls the watchdog sees.
pub struct WatchedSource {
    inner: Box<dyn GatewaySource>,
    label: String,
}

impl WatchedSource {
    /// Wraps `inner`, named by its own description.
    pub fn new(inner: Box<dyn GatewaySource>) -> WatchedSource {
        let label = inner.describe();
        WatchedSource { inner, label }
    }
}

impl GatewaySource for WatchedSource {
    fn observe(&mut self, hosts: &Hosts) -> Result<GatewayObservation, SourceError> {
        let _call = doing(format!("{}: observing gateways", self.label));
        self.inner.observe(hosts)
    }

    fn drain(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<DrainOutcome, SourceError> {
        action_started(&format!("drain {host}"));
        let _call = doing(format!("{}: draining {host}", self.label));
        self.inner.drain(host, gateways)
    }

    fn forget(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        action_started(&format!("forget the gateways of {host}"));
        let _call = doing(format!("{}: forgetting the gateways of {host}", self.label));
        self.inner.forget(host, gateways)
    }

    fn forget_stale(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        action_started(&format!("forget the stale gateways of {host}"));
        let _call = doing(format!(
            "{}: forgetting stale gateways of {host}",
            self.label
        ));
        self.inner.forget_stale(host, gateways)
    }

    fn records(&self, gateways: &[Gateway]) -> Vec<SourceRecord> {
        self.inner.records(gateways)
    }

    fn forget_records(
        &mut self,
        host: IpAddr,
        records: &[SourceRecord],
    ) -> Result<u64, SourceError> {
        action_started(&format!("forget the registrations of destroyed {host}"));
        let _call = doing(format!(
            "{}: forgetting the registrations of destroyed {host}",
            self.label
        ));
        self.inner.forget_records(host, records)
    }

    fn hide_records(&mut self, records: &[SourceRecord]) {
        self.inner.hide_records(records)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
