//! The `openstack` provider (OVHcloud, Infomaniak, any OpenStack cloud):
//! Keystone v3 authentication (password or application credential, one
//! token per run), Nova for servers and flavors, Neutron for network names
//! and the optional pool of floating IPs, Glance for an image given by name.
//!
//! **Which servers are the pool's**: by default those whose name starts with
//! `<pool>-` *and* whose metadata has `scaler-pool = <pool>`; both are set
//! in the one creation request, so a crashed run's servers are found again.
//! `[provider.membership]` replaces that filter with a metadata pair and/or
//! an exact name or name prefix ([`super::membership`]): new servers get
//! the filter's metadata (and the exact name), and a match without
//! `scaler-pool = <pool>` is *adopted* ([`Instance::adopted`]). The listing
//! asks Nova for the name as a regular expression (the only server-side
//! filter a project member may use; every server when the filter has no
//! name) and checks the rest itself. It reads every page
//! (`limit` + `marker`, following `servers_links`) and fails rather than
//! return part of the list.
//!
//! **States**: a server whose task is `deleting` or which is (soft-)deleted
//! is skipped; `vm_state` `error` (or status `ERROR`) is *error*;
//! `building` (or `BUILD`) is *building*; anything else (active, stopped,
//! rebooting, …) is *active*: it either serves, or is cleaned up by
//! `register_timeout` like any active instance that never registers.
//!
//! **Addresses**: the public address is the first floating address
//! (`OS-EXT-IPS:type = floating`), else the first fixed address on the
//! network named by `public_network` (OVHcloud's `Ext-Net` gives public
//! addresses directly). The private address is the first fixed address on
//! any other network, else the public one. IPv4 is preferred over IPv6 in
//! each case; networks are read in name order.
//!
//! **Floating IPs** (`floating_ip_description`): the floating IPs whose
//! description is that string are the pool's. Before a server is deleted,
//! its pool address moves to an active pool server that has no public
//! address; after the pass's actions (never in `plan` or a dry run), free
//! pool addresses are attached to active servers without one, oldest first.

mod http;
mod keystone;
mod neutron;

use super::membership::{self, OpenStackMembership};
use super::user_data::UserData;
use super::{CreateRequest, Instance, InstanceState, Provider, ProviderError, belongs_to_pool};
use crate::duration::HumanDuration;
use crate::secret::Secret;
use crate::secret::SecretSource;
use base64::Engine;
use chrono::{DateTime, Utc};
use http::{Http, HttpError, Method, encode, join};
use keystone::Session;
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use keystone::{AuthMethod, Credentials, Domain, Named};

/// The metadata key holding the pool name on every server we create.
pub const POOL_METADATA_KEY: &str = "scaler-pool";

/// Nova's limit on `user_data`, base64-encoded ("Create Server").
const USER_DATA_LIMIT: usize = 65_535;

fn base64_len(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4
}

/// A secret written in clear in the file (discouraged): kept as a
/// [`Secret`] from the moment it is read, so `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct InlineSecret(pub String);

impl From<String> for InlineSecret {
    fn from(value: String) -> Self {
        InlineSecret(value)
    }
}

impl std::fmt::Debug for InlineSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[provider]` keys for `kind = "openstack"`. Every credential key left
/// out is read from its `OS_*` variable (see README).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenStackConfig {
    /// Always `"openstack"` here.
    pub kind: String,
    /// Keystone URL (`OS_AUTH_URL`), with or without `/v3`.
    pub auth_url: Option<String>,
    /// Region of the endpoints (`OS_REGION_NAME`).
    pub region: Option<String>,
    /// Endpoint interface (`OS_INTERFACE`): `public` (default), `internal`, `admin`.
    pub interface: Option<String>,
    /// `password` or `application_credential` (`OS_AUTH_TYPE`); inferred when absent.
    pub auth_type: Option<String>,
    /// User name (`OS_USERNAME`).
    pub username: Option<String>,
    /// User id (`OS_USER_ID`).
    pub user_id: Option<String>,
    /// Domain of the user, by name (`OS_USER_DOMAIN_NAME`; default `Default`).
    pub user_domain_name: Option<String>,
    /// Domain of the user, by id (`OS_USER_DOMAIN_ID`).
    pub user_domain_id: Option<String>,
    /// Project name (`OS_PROJECT_NAME`).
    pub project_name: Option<String>,
    /// Project id (`OS_PROJECT_ID`).
    pub project_id: Option<String>,
    /// Domain of the project, by name (`OS_PROJECT_DOMAIN_NAME`; default `Default`).
    pub project_domain_name: Option<String>,
    /// Domain of the project, by id (`OS_PROJECT_DOMAIN_ID`).
    pub project_domain_id: Option<String>,
    /// Password in clear (discouraged; `OS_PASSWORD` otherwise).
    pub password: Option<InlineSecret>,
    /// Variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// systemd credential holding the password.
    pub password_credential: Option<String>,
    /// Application credential id (`OS_APPLICATION_CREDENTIAL_ID`).
    pub application_credential_id: Option<String>,
    /// Application credential secret in clear (discouraged).
    pub application_credential_secret: Option<InlineSecret>,
    /// Variable holding the application credential secret.
    pub application_credential_secret_env: Option<String>,
    /// File holding the application credential secret.
    pub application_credential_secret_file: Option<PathBuf>,
    /// systemd credential holding the application credential secret.
    pub application_credential_secret_credential: Option<String>,
    /// Image of new servers, by id or name.
    pub image: String,
    /// Flavors whose vCPUs are read from Nova at run time.
    #[serde(default)]
    pub flavors: Vec<String>,
    /// Flavor name to vCPUs, when given here (no lookup needed to plan).
    #[serde(default)]
    pub instance_types: BTreeMap<String, u32>,
    /// Networks of new servers, by id or name (none: the cloud's default).
    #[serde(default)]
    pub networks: Vec<String>,
    /// The network whose fixed addresses are public (e.g. `Ext-Net`).
    pub public_network: Option<String>,
    /// Key pair of new servers.
    pub key_name: Option<String>,
    /// Security groups of new servers (by name).
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Availability zone of new servers.
    pub availability_zone: Option<String>,
    /// Extra metadata of new servers (`scaler-pool` is always set).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// User data template file (relative to the configuration file).
    #[serde(default)]
    pub user_data_template: Option<PathBuf>,
    /// Variables of the template.
    #[serde(default)]
    pub user_data_vars: BTreeMap<String, String>,
    /// The loaded template (set by [`OpenStackConfig::prepare`]).
    #[serde(skip)]
    pub user_data: Option<UserData>,
    /// Manage the floating IPs with this description (off when absent).
    pub floating_ip_description: Option<String>,
    /// TCP connect timeout of each request.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Total time allowed for each request, body included.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Servers per page when listing (Nova caps it, 1000 by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Which servers are the pool's (default: the `<pool>-` name prefix and
    /// `scaler-pool` metadata).
    #[serde(default)]
    pub membership: Option<OpenStackMembership>,
}

fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

fn default_page_size() -> u32 {
    500
}

impl OpenStackConfig {
    /// The pool's membership filter: `[provider.membership]`, else the
    /// `<pool>-` name prefix and `scaler-pool = <pool>` metadata.
    pub fn membership_of(&self, pool: &str) -> OpenStackMembership {
        self.membership
            .clone()
            .unwrap_or_else(|| OpenStackMembership::markers(pool))
    }
}

impl OpenStackConfig {
    /// The password and application credential secret sources, by base key
    /// name: what Keystone authentication reads, and the loader checks for
    /// one form each.
    pub fn secret_sources(&self) -> [(&'static str, SecretSource); 2] {
        [
            (
                "password",
                SecretSource::new(
                    self.password.clone().map(|s| s.0),
                    self.password_env.clone(),
                    self.password_file.clone(),
                )
                .with_credential(self.password_credential.clone()),
            ),
            (
                "application_credential_secret",
                SecretSource::new(
                    self.application_credential_secret.clone().map(|s| s.0),
                    self.application_credential_secret_env.clone(),
                    self.application_credential_secret_file.clone(),
                )
                .with_credential(self.application_credential_secret_credential.clone()),
            ),
        ]
    }

    /// Checks what serde cannot, anchors relative paths at `base` (the
    /// configuration's directory) and loads the user data template of pool
    /// `pool`. Errors name the key.
    pub fn prepare(&mut self, base: &Path, pool: &str) -> Result<(), String> {
        for path in [
            &mut self.password_file,
            &mut self.application_credential_secret_file,
            &mut self.user_data_template,
        ]
        .into_iter()
        .flatten()
        {
            *path = base.join(&*path);
        }
        if self.image.trim().is_empty() {
            return Err("provider.image must name an image (id or name)".into());
        }
        if !(1..=1000).contains(&self.page_size) {
            return Err(format!(
                "provider.page_size: {} is not between 1 and 1000",
                self.page_size
            ));
        }
        if self.metadata.contains_key(POOL_METADATA_KEY) {
            return Err(format!(
                "provider.metadata.{POOL_METADATA_KEY}: this key is set by scaler to the pool name"
            ));
        }
        if let Some(membership) = &self.membership {
            membership.validate(pool, &self.metadata)?;
        }
        if let Some(name) = self.flavors.iter().find(|f| f.trim().is_empty()) {
            return Err(format!("provider.flavors: invalid flavor name {name:?}"));
        }
        if self
            .floating_ip_description
            .as_deref()
            .is_some_and(|d| d.trim().is_empty())
        {
            return Err(
                "provider.floating_ip_description must not be empty (leave it out to disable)"
                    .into(),
            );
        }
        self.user_data = match &self.user_data_template {
            Some(path) => {
                let data = UserData::load(path, pool, &self.user_data_vars)
                    .map_err(|e| format!("provider.user_data_template: {e}"))?;
                // The longest name a pass gives: <pool>-YYYYmmddHHMMSS-999.
                let longest = format!("{pool}-20000101000000-999");
                let size = base64_len(data.render(&longest).len());
                if size > USER_DATA_LIMIT {
                    return Err(format!(
                        "provider.user_data_template: {} is {size} bytes in base64, \
                         more than the {USER_DATA_LIMIT} Nova accepts",
                        path.display()
                    ));
                }
                Some(data)
            }
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

/// A flavor as Nova lists it ("List Flavors With Details").
#[derive(Debug, Clone, Deserialize)]
struct Flavor {
    id: String,
    name: String,
    vcpus: u32,
}

/// A server as Nova lists it ("List Servers Detailed"); only what we use.
#[derive(Debug, Clone, Deserialize)]
struct Server {
    id: String,
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(rename = "OS-EXT-STS:vm_state", default)]
    vm_state: Option<String>,
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    task_state: Option<String>,
    #[serde(default)]
    addresses: Option<BTreeMap<String, Vec<Address>>>,
    #[serde(default)]
    flavor: Option<ServerFlavor>,
    #[serde(default)]
    metadata: Option<HashMap<String, serde_json::Value>>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Address {
    addr: String,
    #[serde(default)]
    version: Option<u8>,
    #[serde(rename = "OS-EXT-IPS:type", default)]
    kind: Option<String>,
}

/// `flavor` of a server: `{id, links}` before microversion 2.47, the
/// flavor itself (`original_name`, `vcpus`, …) since.
#[derive(Debug, Clone, Deserialize)]
struct ServerFlavor {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    original_name: Option<String>,
    #[serde(default)]
    vcpus: Option<u32>,
}

/// The life-cycle state of a server, `None` when it is going away.
fn state_of(
    status: Option<&str>,
    vm_state: Option<&str>,
    task_state: Option<&str>,
) -> Option<InstanceState> {
    let status = status.unwrap_or_default().to_ascii_uppercase();
    let vm_state = vm_state.unwrap_or_default().to_ascii_lowercase();
    let deleting = task_state.is_some_and(|t| t.eq_ignore_ascii_case("deleting"))
        || matches!(
            vm_state.as_str(),
            "deleted" | "soft-delete" | "soft_deleted"
        )
        || matches!(status.as_str(), "DELETED" | "SOFT_DELETED");
    if deleting {
        None
    } else if vm_state == "error" || status == "ERROR" {
        Some(InstanceState::Error)
    } else if vm_state == "building" || status == "BUILD" {
        Some(InstanceState::Building)
    } else {
        Some(InstanceState::Active)
    }
}

/// `(private, public)` addresses by the rule in the module documentation.
fn addresses_of(
    server: &Server,
    public_network: Option<&str>,
) -> Result<(Option<IpAddr>, Option<IpAddr>), String> {
    let mut private = Vec::new();
    let mut public = Vec::new();
    for (network, list) in server.addresses.iter().flatten() {
        for address in list {
            let ip: IpAddr = address.addr.parse().map_err(|_| {
                format!(
                    "server {} ({}): invalid address {:?} on network {network:?}",
                    server.name, server.id, address.addr
                )
            })?;
            if address.version.is_some_and(|v| v != 4 && v != 6) {
                continue;
            }
            let floating = address.kind.as_deref() == Some("floating");
            if floating {
                public.push((0, ip));
            } else if public_network == Some(network.as_str()) {
                public.push((1, ip));
            } else {
                private.push((0, ip));
            }
        }
    }
    // Floating before fixed-on-public-network, IPv4 before IPv6, else in order.
    let best = |mut list: Vec<(u8, IpAddr)>| {
        list.sort_by_key(|(rank, ip)| (*rank, ip.is_ipv6()));
        list.first().map(|(_, ip)| *ip)
    };
    let public = best(public);
    Ok((best(private).or(public), public))
}

fn parse_created(server: &Server) -> Result<DateTime<Utc>, String> {
    let text = server
        .created
        .as_deref()
        .ok_or_else(|| format!("server {} ({}): no creation time", server.name, server.id))?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "server {} ({}): invalid creation time {text:?}: {e}",
                server.name, server.id
            )
        })
}

/// A server's metadata value for `key`, when it is a string.
fn metadata_of(server: &Server, key: &str) -> Option<String> {
    server
        .metadata
        .as_ref()
        .and_then(|m| m.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Whether `text` looks like an OpenStack id (a UUID, with or without dashes).
fn looks_like_id(text: &str) -> bool {
    let hex = text.chars().filter(|c| *c != '-').count();
    (hex == 32)
        && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && (text.len() == 32 || text.len() == 36)
}

/// The `marker` query parameter of a `next` link.
fn marker_of(href: &str) -> Option<String> {
    let query = href.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "marker").then(|| decode(value))
    })
}

fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The most pages one listing may take before it is treated as a loop.
const MAX_PAGES: usize = 10_000;

/// The OpenStack provider of one pool. Holds the token, the flavors and the
/// resolved ids for the run.
pub struct OpenStackProvider {
    pool: String,
    config: OpenStackConfig,
    membership: OpenStackMembership,
    credentials: Credentials,
    http: Http,
    session: Option<Session>,
    flavors: Option<Vec<Flavor>>,
    network_ids: Option<Vec<String>>,
    image_id: Option<String>,
    /// The last listing, for floating IP decisions.
    listed: Vec<Instance>,
    /// Servers deleted during this run.
    destroyed: HashSet<String>,
    /// Servers that received a floating IP during this run.
    given: HashSet<String>,
    /// What floating IP management did or failed to do, for the report.
    settled: super::Settled,
}

impl OpenStackProvider {
    /// The `server` object of a creation request: flavor, image, networks,
    /// the pool's and the membership filter's metadata, and the optional
    /// settings.
    fn server_body(
        &mut self,
        request: &CreateRequest,
        name: &str,
    ) -> Result<serde_json::Value, ProviderError> {
        let flavor = self.flavor_ref(&request.instance_type)?;
        let image = self.image_id()?;
        let networks = self.network_ids()?;
        let mut metadata: BTreeMap<String, String> = self.config.metadata.clone();
        // The membership filter's metadata, so the server is listed again.
        metadata.extend(self.membership.metadata.clone());
        metadata.insert(POOL_METADATA_KEY.to_string(), self.pool.clone());
        let mut server = json!({
            "name": name,
            "flavorRef": flavor,
            "imageRef": image,
            "metadata": metadata,
        });
        if !networks.is_empty() {
            server["networks"] = json!(
                networks
                    .iter()
                    .map(|id| json!({ "uuid": id }))
                    .collect::<Vec<_>>()
            );
        }
        if let Some(key) = &self.config.key_name {
            server["key_name"] = json!(key);
        }
        if !self.config.security_groups.is_empty() {
            server["security_groups"] = json!(
                self.config
                    .security_groups
                    .iter()
                    .map(|name| json!({ "name": name }))
                    .collect::<Vec<_>>()
            );
        }
        if let Some(zone) = &self.config.availability_zone {
            server["availability_zone"] = json!(zone);
        }
        if let Some(user_data) = &self.config.user_data {
            let text = user_data.render(&request.name);
            server["user_data"] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
        Ok(server)
    }

    /// A provider for `pool`; credentials come from the configuration and
    /// the process environment (`OS_*`).
    pub fn new(pool: &str, config: OpenStackConfig) -> Result<OpenStackProvider, ProviderError> {
        OpenStackProvider::with_env(pool, config, &|name| std::env::var(name).ok())
    }

    /// The same with another source of `OS_*` variables.
    pub fn with_env(
        pool: &str,
        config: OpenStackConfig,
        env: keystone::Env<'_>,
    ) -> Result<OpenStackProvider, ProviderError> {
        let credentials = keystone::credentials(&config, env)?;
        let http = Http::new(config.connect_timeout.0, config.timeout.0);
        Ok(OpenStackProvider {
            pool: pool.to_string(),
            membership: config.membership_of(pool),
            config,
            credentials,
            http,
            session: None,
            flavors: None,
            network_ids: None,
            image_id: None,
            listed: Vec::new(),
            destroyed: HashSet::new(),
            given: HashSet::new(),
            settled: super::Settled::default(),
        })
    }

    /// The resolved credentials (secrets stay redacted in `Debug`).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn session(&mut self) -> Result<&Session, ProviderError> {
        if self.session.is_none() {
            let session = keystone::authenticate(&self.http, &self.credentials)
                .map_err(|e| fail("authentication", e))?;
            log::info!(
                "openstack: authenticated at {} ({} catalog services)",
                self.credentials.auth_url,
                session.catalog.len()
            );
            self.session = Some(session);
        }
        self.session
            .as_ref()
            .ok_or_else(|| ProviderError::unavailable("openstack: no session"))
    }

    /// The token and the endpoint of service `kind` (`compute`, `network`, `image`).
    fn endpoint(&mut self, kind: &str) -> Result<(Secret, String), ProviderError> {
        let region = self.credentials.region.clone();
        let interface = self.credentials.interface.clone();
        let session = self.session()?;
        let url = keystone::endpoint(&session.catalog, kind, region.as_deref(), &interface)
            .map_err(|e| ProviderError::config(format!("openstack: {e}")))?;
        Ok((session.token.clone(), url))
    }

    /// Every item of a paginated Nova collection (`servers`, `flavors`).
    fn get_all(
        &mut self,
        path_and_query: &str,
        collection: &str,
    ) -> Result<Vec<serde_json::Value>, ProviderError> {
        let (token, compute) = self.endpoint("compute")?;
        let links_key = format!("{collection}_links");
        let separator = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let first = format!(
            "{}{separator}limit={}",
            join(&compute, path_and_query),
            self.config.page_size
        );
        let mut items = Vec::new();
        let mut url = first.clone();
        let mut markers = HashSet::new();
        for _ in 0..MAX_PAGES {
            let reply = self
                .http
                .send(Method::Get, &url, Some(&token), None)
                .map_err(|e| fail(&format!("listing {collection}"), e))?;
            let body = reply
                .json(&format!("GET {url}"))
                .map_err(|e| fail(&format!("listing {collection}"), e))?;
            let page = body
                .get(collection)
                .and_then(|v| v.as_array())
                .ok_or_else(|| {
                    ProviderError::bad_data(format!(
                        "openstack: listing {collection}: the answer of GET {url} has no {collection:?} list"
                    ))
                })?;
            let last_id = page
                .last()
                .and_then(|s| s.get("id"))
                .and_then(|id| id.as_str())
                .map(str::to_string);
            items.extend(page.iter().cloned());
            let next = body
                .get(&links_key)
                .and_then(|l| l.as_array())
                .and_then(|links| {
                    links
                        .iter()
                        .find(|l| l.get("rel").and_then(|r| r.as_str()) == Some("next"))
                })
                .and_then(|l| l.get("href"))
                .and_then(|h| h.as_str());
            let Some(next) = next else {
                return Ok(items);
            };
            // Follow the marker on our own endpoint rather than the link's
            // host, which proxies often rewrite wrongly.
            let marker = marker_of(next).or(last_id).ok_or_else(|| {
                ProviderError::bad_data(format!(
                    "openstack: listing {collection}: a next page without a marker"
                ))
            })?;
            if !markers.insert(marker.clone()) {
                return Err(ProviderError::bad_data(format!(
                    "openstack: listing {collection}: the pages repeat (marker {marker})"
                )));
            }
            url = format!("{first}&marker={}", encode(&marker));
        }
        Err(ProviderError::bad_data(format!(
            "openstack: listing {collection}: more than {MAX_PAGES} pages"
        )))
    }

    /// All flavors, read once per run.
    fn flavors(&mut self) -> Result<&[Flavor], ProviderError> {
        if self.flavors.is_none() {
            let raw = self.get_all("flavors/detail", "flavors")?;
            let flavors = raw
                .into_iter()
                .map(|v| {
                    serde_json::from_value::<Flavor>(v).map_err(|e| {
                        ProviderError::bad_data(format!(
                            "openstack: unexpected flavor in the list: {e}"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            log::debug!("openstack: {} flavors", flavors.len());
            self.flavors = Some(flavors);
        }
        Ok(self.flavors.as_deref().unwrap_or_default())
    }

    fn instance_of(&self, server: &Server) -> Result<Option<Instance>, String> {
        let metadata = |key: &str| metadata_of(server, key);
        if !self.membership.matches(&self.pool, &server.name, &metadata) {
            return Ok(None);
        }
        let Some(state) = state_of(
            server.status.as_deref(),
            server.vm_state.as_deref(),
            server.task_state.as_deref(),
        ) else {
            log::debug!("openstack: {} is being deleted: skipped", server.name);
            return Ok(None);
        };
        let (private_ip, public_ip) = addresses_of(server, self.config.public_network.as_deref())?;
        let known = server.flavor.as_ref().and_then(|f| {
            let id = f.id.as_deref()?;
            self.flavors.iter().flatten().find(|k| k.id == id)
        });
        let vcpus = server
            .flavor
            .as_ref()
            .and_then(|f| f.vcpus)
            .or(known.map(|k| k.vcpus))
            .unwrap_or(0);
        let instance_type = server
            .flavor
            .as_ref()
            .and_then(|f| f.original_name.clone())
            .or(known.map(|k| k.name.clone()));
        Ok(Some(Instance {
            id: server.id.clone(),
            name: server.name.clone(),
            state,
            private_ip,
            public_ip,
            vcpus,
            instance_type,
            created_at: parse_created(server)?,
            adopted: membership::adopted(
                metadata(POOL_METADATA_KEY).as_deref(),
                &self.pool,
                self.membership.adopt,
            ),
        }))
    }

    /// The id of the flavor named (or identified by) `name`.
    fn flavor_ref(&mut self, name: &str) -> Result<String, ProviderError> {
        let flavors = self.flavors()?;
        Ok(flavors
            .iter()
            .find(|f| f.name == name)
            .or_else(|| flavors.iter().find(|f| f.id == name))
            .map_or_else(|| name.to_string(), |f| f.id.clone()))
    }

    /// The ids of the configured networks (names looked up once per run).
    fn network_ids(&mut self) -> Result<Vec<String>, ProviderError> {
        if let Some(ids) = &self.network_ids {
            return Ok(ids.clone());
        }
        let mut ids = Vec::new();
        for network in self.config.networks.clone() {
            if looks_like_id(&network) {
                ids.push(network);
                continue;
            }
            let (token, base) = self.endpoint("network")?;
            let found = neutron::network_ids(&self.http, &token, &base, &network)
                .map_err(|e| fail(&format!("looking up network {network:?}"), e))?;
            match found.as_slice() {
                [id] => ids.push(id.clone()),
                [] => {
                    return Err(ProviderError::config(format!(
                        "openstack: provider.networks: no network named {network:?}"
                    )));
                }
                _ => {
                    return Err(ProviderError::config(format!(
                        "openstack: provider.networks: several networks are named {network:?}: give its id"
                    )));
                }
            }
        }
        self.network_ids = Some(ids.clone());
        Ok(ids)
    }

    /// The id of the configured image (a name is looked up in Glance once).
    fn image_id(&mut self) -> Result<String, ProviderError> {
        if let Some(id) = &self.image_id {
            return Ok(id.clone());
        }
        let image = self.config.image.clone();
        let id = if looks_like_id(&image) {
            image
        } else {
            let (token, base) = self.endpoint("image")?;
            let base = if base.trim_end_matches('/').ends_with("/v2") {
                base
            } else {
                join(&base, "v2")
            };
            let url = join(&base, &format!("images?name={}", encode(&image)));
            let reply = self
                .http
                .send(Method::Get, &url, Some(&token), None)
                .map_err(|e| fail(&format!("looking up image {image:?}"), e))?;
            let body = reply
                .json(&format!("GET {url}"))
                .map_err(|e| fail(&format!("looking up image {image:?}"), e))?;
            let ids: Vec<String> = body
                .get("images")
                .and_then(|i| i.as_array())
                .into_iter()
                .flatten()
                .filter(|i| {
                    i.get("status")
                        .and_then(|s| s.as_str())
                        .is_none_or(|s| s == "active")
                })
                .filter_map(|i| i.get("id").and_then(|id| id.as_str()).map(str::to_string))
                .collect();
            match ids.as_slice() {
                [id] => id.clone(),
                [] => {
                    return Err(ProviderError::config(format!(
                        "openstack: provider.image: no active image named {image:?}"
                    )));
                }
                _ => {
                    return Err(ProviderError::config(format!(
                        "openstack: provider.image: several images are named {image:?}: give its id"
                    )));
                }
            }
        };
        self.image_id = Some(id.clone());
        Ok(id)
    }

    /// Moves the pool floating IP of `instance` (about to be deleted) to an
    /// active pool server without a public address. Failures are recorded
    /// for the report; the deletion goes on (the address is freed with the
    /// server and attached again by [`Provider::settle`]).
    fn hand_over_floating_ip(&mut self, instance: &Instance) {
        let (Some(description), Some(address)) = (
            self.config.floating_ip_description.clone(),
            instance.public_ip,
        ) else {
            return;
        };
        let result = (|| -> Result<Option<String>, ProviderError> {
            let (token, base) = self.endpoint("network")?;
            let pool_ips = neutron::floating_ips(&self.http, &token, &base, &description)
                .map_err(|e| fail("listing floating IPs", e))?;
            let Some(fip) = pool_ips
                .into_iter()
                .find(|f| f.floating_ip_address == address && f.port_id.is_some())
            else {
                return Ok(None);
            };
            let Some(target) = self
                .lacking_public_ip(&[instance.id.as_str()])
                .into_iter()
                .next()
            else {
                return Ok(None);
            };
            let port = neutron::port_of(&self.http, &token, &base, &target.id, target.private_ip)
                .map_err(|e| fail(&format!("finding the port of {}", target.name), e))?
                .ok_or_else(|| ProviderError::bad_data(format!("{} has no port", target.name)))?;
            neutron::set_port(&self.http, &token, &base, &fip.id, None)
                .map_err(|e| fail(&format!("detaching floating IP {address}"), e))?;
            neutron::set_port(&self.http, &token, &base, &fip.id, Some(&port))
                .map_err(|e| fail(&format!("attaching floating IP {address}"), e))?;
            self.given.insert(target.id.clone());
            Ok(Some(format!(
                "floating IP {address} moved from {} to {}",
                instance.name, target.name
            )))
        })();
        match result {
            Ok(Some(note)) => {
                log::info!("openstack: {note}");
                self.settled.notes.push(note);
            }
            Ok(None) => {}
            Err(e) => {
                log::warn!("openstack: {e}");
                self.settled
                    .errors
                    .push(format!("floating IP {address} of {}: {e}", instance.name));
            }
        }
    }

    /// Active listed servers without a public address that neither go away
    /// nor already received an address this run, oldest first.
    fn lacking_public_ip(&self, except: &[&str]) -> Vec<Instance> {
        let mut out: Vec<Instance> = self
            .listed
            .iter()
            .filter(|i| i.state == InstanceState::Active && i.public_ip.is_none())
            .filter(|i| !self.destroyed.contains(&i.id) && !self.given.contains(&i.id))
            .filter(|i| !except.contains(&i.id.as_str()))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// Attaches free pool floating IPs to active servers lacking a public address.
    fn attach_free_floating_ips(&mut self) -> Result<(), ProviderError> {
        let Some(description) = self.config.floating_ip_description.clone() else {
            return Ok(());
        };
        let targets = self.lacking_public_ip(&[]);
        if targets.is_empty() {
            return Ok(());
        }
        let (token, base) = self.endpoint("network")?;
        let free: Vec<neutron::FloatingIp> =
            neutron::floating_ips(&self.http, &token, &base, &description)
                .map_err(|e| fail("listing floating IPs", e))?
                .into_iter()
                .filter(|f| f.port_id.is_none())
                .collect();
        if free.len() < targets.len() {
            log::info!(
                "openstack: {} server(s) lack a public address, {} free floating IP(s)",
                targets.len(),
                free.len()
            );
        }
        for (fip, target) in free.iter().zip(targets.iter()) {
            let attached =
                neutron::port_of(&self.http, &token, &base, &target.id, target.private_ip)
                    .map_err(|e| fail(&format!("finding the port of {}", target.name), e))
                    .and_then(|port| {
                        let port = port.ok_or_else(|| {
                            ProviderError::bad_data(format!("{} has no port yet", target.name))
                        })?;
                        neutron::set_port(&self.http, &token, &base, &fip.id, Some(&port))
                            .map_err(|e| fail("attaching a floating IP", e))
                    });
            match attached {
                Ok(()) => {
                    self.given.insert(target.id.clone());
                    let note = format!(
                        "floating IP {} attached to {}",
                        fip.floating_ip_address, target.name
                    );
                    log::info!("openstack: {note}");
                    self.settled.notes.push(note);
                }
                Err(e) => self.settled.errors.push(format!(
                    "floating IP {} for {}: {e}",
                    fip.floating_ip_address, target.name
                )),
            }
        }
        Ok(())
    }
}

/// A provider error for a failed step.
fn fail(step: &str, e: HttpError) -> ProviderError {
    e.into_fault().context(format!("openstack: {step}"))
}

impl Provider for OpenStackProvider {
    fn list(&mut self) -> Result<Vec<Instance>, ProviderError> {
        // Flavors first: a server's vCPUs come from its flavor.
        self.flavors()?;
        let query = match self.membership.name_query() {
            Some(name) => format!("servers/detail?name={}", encode(&name)),
            None => "servers/detail".to_string(),
        };
        let raw = self.get_all(&query, "servers")?;
        let mut instances = Vec::new();
        for value in raw {
            let server: Server = serde_json::from_value(value).map_err(|e| {
                ProviderError::bad_data(format!("openstack: unexpected server in the list: {e}"))
            })?;
            if let Some(instance) = self
                .instance_of(&server)
                .map_err(|e| ProviderError::bad_data(format!("openstack: {e}")))?
            {
                instances.push(instance);
            }
        }
        self.listed = instances.clone();
        Ok(instances)
    }

    fn create(&mut self, request: &CreateRequest) -> Result<Instance, ProviderError> {
        if !belongs_to_pool(&self.pool, &request.name) {
            return Err(ProviderError::rejected(format!(
                "openstack: refusing to create {:?} outside pool {}",
                request.name, self.pool
            )));
        }
        let name = self.membership.creation_name(&request.name).to_string();
        let server = self.server_body(request, &name)?;
        let (token, compute) = self.endpoint("compute")?;
        let url = join(&compute, "servers");
        let reply = self
            .http
            .send(
                Method::Post,
                &url,
                Some(&token),
                Some(&json!({ "server": server })),
            )
            .map_err(|e| fail(&format!("creating {}", request.name), e))?;
        let body = reply
            .json(&format!("POST {url}"))
            .map_err(|e| fail(&format!("creating {}", request.name), e))?;
        let id = body
            .get("server")
            .and_then(|s| s.get("id"))
            .and_then(|id| id.as_str())
            .ok_or_else(|| {
                ProviderError::bad_data(format!(
                    "openstack: creating {}: the answer has no server id",
                    request.name
                ))
            })?;
        Ok(Instance {
            id: id.to_string(),
            name,
            state: InstanceState::Building,
            private_ip: None,
            public_ip: None,
            vcpus: request.vcpus,
            instance_type: Some(request.instance_type.clone()),
            created_at: Utc::now(),
            adopted: false,
        })
    }

    fn destroy(&mut self, instance: &Instance) -> Result<(), ProviderError> {
        if !self.membership.name_matches(&instance.name) {
            return Err(ProviderError::rejected(format!(
                "openstack: refusing to delete {} ({}): not in pool {}",
                instance.name, instance.id, self.pool
            )));
        }
        self.hand_over_floating_ip(instance);
        let (token, compute) = self.endpoint("compute")?;
        let url = join(&compute, &format!("servers/{}", encode(&instance.id)));
        match self.http.send(Method::Delete, &url, Some(&token), None) {
            Ok(_) => {}
            // Already gone (deleted by someone else since the listing): done.
            Err(HttpError::Refused { status: 404, .. }) => {
                log::info!("openstack: {} was already deleted", instance.name);
            }
            Err(e) => return Err(fail(&format!("deleting {}", instance.name), e)),
        }
        self.destroyed.insert(instance.id.clone());
        Ok(())
    }

    fn provider_instance_types(&mut self) -> Result<BTreeMap<String, u32>, ProviderError> {
        if self.config.flavors.is_empty() {
            return Ok(BTreeMap::new());
        }
        let wanted = self.config.flavors.clone();
        let flavors = self.flavors()?;
        Ok(wanted
            .iter()
            .filter_map(|name| {
                flavors
                    .iter()
                    .find(|f| &f.name == name)
                    .map(|f| (name.clone(), f.vcpus))
            })
            .collect())
    }

    fn settle(&mut self) -> super::Settled {
        if let Err(e) = self.attach_free_floating_ips() {
            self.settled.errors.push(e.to_string());
        }
        std::mem::take(&mut self.settled)
    }
}

#[cfg(test)]
mod tests;
