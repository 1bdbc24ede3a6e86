//! The `ec2` provider: the EC2 query API (AWS, Outscale FCU and other
//! compatible clouds), signed with Signature V4 ([`super::sigv4`]).
//!
//! - **Selection**: the pool's instances carry the tag `scaler-pool = <pool>`
//!   (set at creation, with `Name = <pool>-<timestamp>-<n>-<random>`), or
//!   match `[provider.membership]` (tags, security group, subnet: see
//!   [`super::membership`]; the filter's tags are set at creation too).
//!   `DescribeInstances` filters on those and on the live states, and the
//!   answer is checked again here, so a cloud that ignores a filter still
//!   shows only the pool. A match without the `scaler-pool` tag is
//!   *adopted* ([`Instance::adopted`]). Listing follows `NextToken` to the last page; a
//!   failed page fails the whole listing (never a partial list).
//! - **States**: `pending` → building, `running` → active, `stopping` and
//!   `stopped` → error (a stopped gateway serves nobody: clean-up terminates
//!   it unless it is protected), `shutting-down` and `terminated` are
//!   skipped. Any other state fails the listing rather than guess.
//! - **Creation**: `RunInstances` with `MinCount = MaxCount = 1`, the type,
//!   image, subnet, security groups, key pair, base64 user data (from the
//!   template, see [`super::user_data`]), the tags, and the instance name
//!   (unique per creation, see [`super::instance_name`]; its last 64
//!   characters when longer) as `ClientToken`: a retried request cannot start
//!   a second instance, and a new creation is never taken for a retry.
//! - **Destruction**: `TerminateInstances`.
//! - **Elastic IPs** (`elastic_ip = true`, as SIPMediaGW's Outscale code
//!   did): after each pass ([`Provider::settle`]) every running pool
//!   instance without one gets an address tagged `scaler-pool = <pool>`: a
//!   free one of the pool if any, else `AllocateAddress` (then `CreateTags`),
//!   then `AssociateAddress`; pool addresses left unassociated are released.
//!   An instance without the `scaler-pool` tag that has a public address
//!   keeps it: only addresses tagged with the pool are attached or released.
//!   Destruction disassociates and releases the instance's pool addresses
//!   before terminating it. Association waits for `running` (clouds refuse
//!   it for a pending instance), so a new instance gets its address at the
//!   end of the pass that sees it running, usually the next one.
//! - **Errors**: an `<Errors><Error><Code>…<Message>…` answer becomes a
//!   [`ProviderError`] naming the action, the code and the message.
//!
//! Every request has a connect timeout and a total timeout. Credentials
//! come from `*_env` / `*_file` keys or from the usual variables and are only
//! ever used to sign; they never appear in a log, a message or a report.

use super::membership::{self, Ec2Creation, Ec2Membership};
use super::sigv4::{self, Credentials, Scope};
use super::user_data::UserData;
use super::{CreateRequest, Instance, InstanceState, Provider, ProviderError};
use crate::duration::HumanDuration;
use crate::secret::{Secret, SecretSource};
use base64::Engine;
use chrono::{DateTime, Utc};
use roxmltree::{Document, Node};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The tag whose value is the pool name.
pub const POOL_TAG: &str = "scaler-pool";

/// EC2 limits user data to 16 KiB before base64.
const USER_DATA_LIMIT: usize = 16 * 1024;

/// Largest answer read (a page of 1,000 instances is a few MiB).
const BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// Pages followed before giving up on a cloud that never stops paginating.
const MAX_PAGES: usize = 10_000;

/// States asked for in `DescribeInstances`.
const LISTED_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

/// `[provider]` keys for `kind = "ec2"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Config {
    /// Always `"ec2"` here.
    pub kind: String,
    /// Region; else `AWS_REGION`, `AWS_DEFAULT_REGION`, `OSC_REGION`.
    #[serde(default)]
    pub region: Option<String>,
    /// `"aws"` (default: `https://ec2.<region>.amazonaws.com`), `"outscale"`
    /// (`https://fcu.<region>.outscale.com`) or a URL.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Access key id, in clear (it is not the secret part).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Variable holding the access key id.
    #[serde(default)]
    pub access_key_id_env: Option<String>,
    /// File holding the access key id.
    #[serde(default)]
    pub access_key_id_file: Option<PathBuf>,
    /// systemd credential holding the access key id.
    #[serde(default)]
    pub access_key_id_credential: Option<String>,
    /// Secret access key in clear (discouraged).
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Variable holding the secret access key.
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// File holding the secret access key.
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// systemd credential holding the secret access key.
    #[serde(default)]
    pub secret_access_key_credential: Option<String>,
    /// Session token in clear (discouraged).
    #[serde(default)]
    pub session_token: Option<String>,
    /// Variable holding a session token.
    #[serde(default)]
    pub session_token_env: Option<String>,
    /// File holding a session token.
    #[serde(default)]
    pub session_token_file: Option<PathBuf>,
    /// systemd credential holding a session token.
    #[serde(default)]
    pub session_token_credential: Option<String>,
    /// The image (AMI / OMI) created instances boot.
    pub image_id: String,
    /// Subnet to create instances in.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Security groups (ids) of created instances.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Key pair name.
    #[serde(default)]
    pub key_name: Option<String>,
    /// User data template file (relative to the configuration file).
    #[serde(default)]
    pub user_data_template: Option<PathBuf>,
    /// Variables of the template.
    #[serde(default)]
    pub user_data_vars: BTreeMap<String, String>,
    /// More tags on created instances (besides `scaler-pool` and `Name`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `MaxResults` of each `DescribeInstances` page (5 to 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Time to establish a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Time for a whole request (connection, request and answer).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// The query API `Version` parameter.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Manage an Elastic IP per instance.
    #[serde(default)]
    pub elastic_ip: bool,
    /// Which instances are the pool's (default: the `scaler-pool` tag).
    #[serde(default)]
    pub membership: Option<Ec2Membership>,
    /// Instance type name to vCPUs.
    #[serde(default)]
    pub instance_types: BTreeMap<String, u32>,
    /// The loaded template (set by [`Ec2Config::prepare`]).
    #[serde(skip)]
    pub user_data: Option<UserData>,
}

fn default_page_size() -> u32 {
    500
}
fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}
fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}
fn default_api_version() -> String {
    "2016-11-15".to_string()
}

impl Ec2Config {
    /// Checks the values, anchors relative paths at `base` (the
    /// configuration's directory) and loads the user data template.
    pub fn prepare(&mut self, base: &Path, pool: &str) -> Result<(), String> {
        for path in [
            &mut self.access_key_id_file,
            &mut self.secret_access_key_file,
            &mut self.session_token_file,
            &mut self.user_data_template,
        ]
        .into_iter()
        .flatten()
        {
            *path = base.join(&*path);
        }
        if self.image_id.trim().is_empty() {
            return Err("provider.image_id must name an image".into());
        }
        if !(5..=1000).contains(&self.page_size) {
            return Err(format!(
                "provider.page_size: {} is not between 5 and 1000",
                self.page_size
            ));
        }
        for reserved in [POOL_TAG, "Name"] {
            if self.tags.contains_key(reserved) {
                return Err(format!(
                    "provider.tags.{reserved}: this tag is set by scaler"
                ));
            }
        }
        self.check_membership(pool)?;
        if let Some(endpoint) = &self.endpoint
            && !matches!(endpoint.as_str(), "aws" | "outscale")
        {
            Endpoint::parse(endpoint).map_err(|e| format!("provider.endpoint: {e}"))?;
        }
        if let Some(region) = &self.region {
            check_region(region).map_err(|e| format!("provider.region: {e}"))?;
        }
        if self.timeout.0.is_zero() || self.connect_timeout.0.is_zero() {
            return Err(
                "provider.timeout and provider.connect_timeout must be more than 0s".into(),
            );
        }
        self.user_data = match &self.user_data_template {
            Some(path) => {
                let data = UserData::load(path, pool, &self.user_data_vars)
                    .map_err(|e| format!("provider.user_data_template: {e}"))?;
                // The longest name a pass can give: pool-YYYYmmddHHMMSS-999.
                let longest = format!("{pool}-20000101000000-999");
                let size = data.render(&longest).len();
                if size > USER_DATA_LIMIT {
                    return Err(format!(
                        "provider.user_data_template: {} renders to {size} bytes, \
                         more than the {USER_DATA_LIMIT} bytes EC2 accepts",
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

impl Ec2Config {
    /// The pool's membership filter: `[provider.membership]`, else the
    /// `scaler-pool` tag.
    pub fn membership_of(&self, pool: &str) -> Ec2Membership {
        self.membership
            .clone()
            .unwrap_or_else(|| Ec2Membership::markers(pool))
    }

    /// Refuses a membership filter that created instances would not match.
    fn check_membership(&self, pool: &str) -> Result<(), String> {
        let Some(membership) = &self.membership else {
            return Ok(());
        };
        membership.validate(
            pool,
            &Ec2Creation {
                tags: &self.tags,
                security_group_ids: &self.security_group_ids,
                subnet_id: self.subnet_id.as_deref(),
            },
        )
    }
}

fn check_region(region: &str) -> Result<(), String> {
    let ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid region {region:?}"))
    }
}

/// Where requests go: the URL, and the `Host` header and path that are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL requests are posted to.
    pub url: String,
    /// `host[:port]` as written in the URL.
    pub host: String,
    /// The path (`/` when the URL has none).
    pub path: String,
}

impl Endpoint {
    /// Parses an `http://` or `https://` URL without query or credentials.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
        if rest.contains(['?', '#', '@', ' ']) {
            return Err(format!(
                "{url:?}: use a plain URL (no query, fragment, credentials or spaces)"
            ));
        }
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        let url = if rest.contains('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        Ok(Endpoint {
            url,
            host: host.to_string(),
            path: path.to_string(),
        })
    }

    /// The endpoint for a configuration value and a region.
    fn resolve(endpoint: Option<&str>, region: &str) -> Result<Endpoint, String> {
        match endpoint {
            None | Some("aws") => Endpoint::parse(&format!("https://ec2.{region}.amazonaws.com/")),
            Some("outscale") => Endpoint::parse(&format!("https://fcu.{region}.outscale.com/")),
            Some(url) => Endpoint::parse(url),
        }
    }
}

/// The EC2 provider for one pool.
pub struct Ec2Provider {
    pool: String,
    config: Ec2Config,
    membership: Ec2Membership,
    /// Listed instances without the `scaler-pool` tag: their addresses are
    /// never replaced by a pool address.
    unmarked: HashSet<String>,
    region: String,
    endpoint: Endpoint,
    credentials: Credentials,
    agent: ureq::Agent,
}

/// Reads an environment variable, `None` when unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The `ClientToken` of a creation: EC2 takes at most 64 ASCII characters,
/// so a longer name gives its last 64, the end that makes it unique.
fn client_token(name: &str) -> &str {
    let start = name.char_indices().rev().nth(63).map_or(0, |(i, _)| i);
    &name[start..]
}

impl Ec2Provider {
    /// A provider for `pool`: resolves the region, the endpoint and the
    /// credentials (configuration keys first, then `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, then Outscale's
    /// `OSC_ACCESS_KEY` / `OSC_SECRET_KEY`). Errors name keys and variables,
    /// never values.
    pub fn new(pool: &str, config: Ec2Config) -> Result<Ec2Provider, ProviderError> {
        let region = match &config.region {
            Some(region) => region.clone(),
            None => {
                let region = ["AWS_REGION", "AWS_DEFAULT_REGION", "OSC_REGION"]
                    .into_iter()
                    .find_map(env)
                    .ok_or_else(|| {
                        ProviderError::config(
                            "provider.region is not set (nor AWS_REGION, AWS_DEFAULT_REGION or OSC_REGION)",
                        )
                    })?;
                check_region(&region).map_err(|e| {
                    ProviderError::config(format!("region from the environment: {e}"))
                })?;
                region
            }
        };
        let endpoint = Endpoint::resolve(config.endpoint.as_deref(), &region)
            .map_err(|e| ProviderError::config(format!("provider.endpoint: {e}")))?;
        // Every credential error names a key or a variable holding a secret.
        let credentials = credentials(&config).map_err(ProviderError::Secret)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout.0))
            .timeout_global(Some(config.timeout.0))
            .http_status_as_error(false)
            // A redirect would carry a signature made for another URL.
            .max_redirects(0)
            .user_agent(concat!("scaler/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Ec2Provider {
            pool: pool.to_string(),
            membership: config.membership_of(pool),
            unmarked: HashSet::new(),
            config,
            region,
            endpoint,
            credentials,
            agent,
        })
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint.url
    }

    /// Sends one signed query API call and returns the answer's text when it
    /// is a success.
    fn call(&self, action: &str, params: &[(String, String)]) -> Result<String, ProviderError> {
        let mut all = vec![
            ("Action".to_string(), action.to_string()),
            ("Version".to_string(), self.config.api_version.clone()),
        ];
        all.extend_from_slice(params);
        let body = sigv4::form_body(&all);
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = vec![
            ("Content-Type".to_string(), content_type.to_string()),
            ("Host".to_string(), self.endpoint.host.clone()),
        ];
        let scope = Scope {
            region: &self.region,
            service: "ec2",
            time: Utc::now(),
        };
        let signed = sigv4::sign(
            &self.credentials,
            &scope,
            &sigv4::Request {
                method: "POST",
                path: &self.endpoint.path,
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
            },
        );
        let what = format!("EC2 {action} at {}", self.endpoint.url);
        log::debug!("{what}");
        let mut request = self
            .agent
            .post(&self.endpoint.url)
            .header("Host", &self.endpoint.host)
            .header("Content-Type", content_type);
        for (name, value) in &signed {
            request = request.header(*name, value);
        }
        let mut response = request
            .send(body.as_bytes())
            .map_err(|e| transport_error(&e, &self.config).context(&what))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| transport_error(&e, &self.config).context(&what))?;
        log::trace!("{what} -> HTTP {status}");
        if (200..300).contains(&status) {
            // Some compatible clouds answer errors with a success status.
            if let Some(error) = error_of(&text) {
                let message = format!("EC2 {action}: {error}");
                return Err(refusal(code_of(&text).as_deref(), 400, message));
            }
            return Ok(text);
        }
        let detail = error_of(&text).unwrap_or_else(|| {
            let excerpt: String = text.trim().chars().take(200).collect();
            if excerpt.is_empty() {
                "no error details".to_string()
            } else {
                excerpt
            }
        });
        let message = format!("EC2 {action}: {detail} (HTTP {status})");
        Err(refusal(code_of(&text).as_deref(), status, message))
    }

    fn vcpus_of(&self, instance_type: Option<&str>, item: Node<'_, '_>) -> u32 {
        if let Some(vcpus) = instance_type.and_then(|t| self.config.instance_types.get(t)) {
            return *vcpus;
        }
        let cpu = child(item, "cpuOptions");
        let count = |name| {
            cpu.and_then(|c| text_of(c, name))
                .and_then(|t| t.parse::<u32>().ok())
        };
        match (count("coreCount"), count("threadsPerCore")) {
            (Some(cores), Some(threads)) => cores.saturating_mul(threads),
            (Some(cores), None) => cores,
            _ => 0,
        }
    }

    /// An instance of a `DescribeInstances` or `RunInstances` answer:
    /// `None` when it is not the pool's or is going away.
    fn instance(&self, item: Node<'_, '_>) -> Result<Option<Instance>, String> {
        let id = text_of(item, "instanceId").ok_or("an instance without instanceId")?;
        let tags = tags_of(item);
        if !self.is_member(item, &tags) {
            return Ok(None);
        }
        let state_name = child(item, "instanceState")
            .and_then(|s| text_of(s, "name"))
            .ok_or_else(|| format!("instance {id} has no instanceState"))?;
        let state = match state_name {
            "pending" => InstanceState::Building,
            "running" => InstanceState::Active,
            "stopping" | "stopped" => InstanceState::Error,
            "shutting-down" | "terminated" => return Ok(None),
            other => return Err(format!("instance {id} is in an unknown state {other:?}")),
        };
        let launch = text_of(item, "launchTime")
            .ok_or_else(|| format!("instance {id} has no launchTime"))?;
        let created_at = DateTime::parse_from_rfc3339(launch)
            .map_err(|e| format!("instance {id}: launchTime {launch:?}: {e}"))?
            .with_timezone(&Utc);
        let address = |name: &str| -> Result<Option<IpAddr>, String> {
            text_of(item, name)
                .map(|t| {
                    t.parse::<IpAddr>()
                        .map_err(|_| format!("instance {id}: {name} {t:?} is not an IP address"))
                })
                .transpose()
        };
        let instance_type = text_of(item, "instanceType").map(str::to_string);
        Ok(Some(Instance {
            id: id.to_string(),
            name: tags.get("Name").cloned().unwrap_or_else(|| id.to_string()),
            state,
            private_ip: address("privateIpAddress")?,
            public_ip: address("ipAddress")?,
            vcpus: self.vcpus_of(instance_type.as_deref(), item),
            instance_type,
            created_at,
            adopted: membership::adopted(
                tags.get(POOL_TAG).map(String::as_str),
                &self.pool,
                self.membership.adopt,
            ),
        }))
    }

    /// Whether a listed instance matches the membership filter.
    fn is_member(&self, item: Node<'_, '_>, tags: &BTreeMap<String, String>) -> bool {
        let groups: Vec<String> = items(item, "groupSet")
            .filter_map(|g| text_of(g, "groupId"))
            .map(str::to_string)
            .collect();
        self.membership
            .matches(&self.pool, tags, &groups, text_of(item, "subnetId"))
    }

    fn describe_params(&self, token: Option<&str>) -> Vec<(String, String)> {
        let mut params = Vec::new();
        let mut filters = self.membership.filters();
        filters.push(("instance-state-name".to_string(), String::new()));
        for (n, (name, value)) in filters.into_iter().enumerate() {
            params.push((format!("Filter.{}.Name", n + 1), name));
            if value.is_empty() {
                for (v, state) in LISTED_STATES.iter().enumerate() {
                    params.push((
                        format!("Filter.{}.Value.{}", n + 1, v + 1),
                        state.to_string(),
                    ));
                }
            } else {
                params.push((format!("Filter.{}.Value.1", n + 1), value));
            }
        }
        params.push(("MaxResults".to_string(), self.config.page_size.to_string()));
        if let Some(token) = token {
            params.push(("NextToken".to_string(), token.to_string()));
        }
        params
    }

    fn run_params(&self, request: &CreateRequest) -> Vec<(String, String)> {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut params = vec![
            p("ImageId", &self.config.image_id),
            p("InstanceType", &request.instance_type),
            p("MinCount", "1"),
            p("MaxCount", "1"),
            p("ClientToken", client_token(&request.name)),
        ];
        if let Some(subnet) = &self.config.subnet_id {
            params.push(p("SubnetId", subnet));
        }
        for (n, group) in self.config.security_group_ids.iter().enumerate() {
            params.push(p(&format!("SecurityGroupId.{}", n + 1), group));
        }
        if let Some(key) = &self.config.key_name {
            params.push(p("KeyName", key));
        }
        if let Some(user_data) = &self.config.user_data {
            let text = user_data.render(&request.name);
            params.push(p(
                "UserData",
                &base64::engine::general_purpose::STANDARD.encode(text),
            ));
        }
        params.push(p("TagSpecification.1.ResourceType", "instance"));
        let mut tags = vec![
            (POOL_TAG, self.pool.as_str()),
            ("Name", request.name.as_str()),
        ];
        tags.extend(
            self.config
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        // The membership filter's tags, so the instance is listed again.
        for (key, value) in self.membership.creation_tags() {
            if !self.config.tags.contains_key(key) {
                tags.push((key, value));
            }
        }
        for (n, (key, value)) in tags.into_iter().enumerate() {
            params.push(p(&format!("TagSpecification.1.Tag.{}.Key", n + 1), key));
            params.push(p(&format!("TagSpecification.1.Tag.{}.Value", n + 1), value));
        }
        params
    }
}

/// One Elastic IP of the pool, from `DescribeAddresses`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    allocation_id: String,
    public_ip: String,
    association_id: Option<String>,
    instance_id: Option<String>,
}

impl Ec2Provider {
    /// The pool's Elastic IPs (tagged `scaler-pool = <pool>`), optionally
    /// only those associated with `instance_id`.
    fn addresses(&self, instance_id: Option<&str>) -> Result<Vec<Address>, ProviderError> {
        let mut params = vec![
            ("Filter.1.Name".to_string(), format!("tag:{POOL_TAG}")),
            ("Filter.1.Value.1".to_string(), self.pool.clone()),
        ];
        if let Some(id) = instance_id {
            params.push(("Filter.2.Name".to_string(), "instance-id".to_string()));
            params.push(("Filter.2.Value.1".to_string(), id.to_string()));
        }
        let text = self.call("DescribeAddresses", &params)?;
        let doc = parse("DescribeAddresses", &text)?;
        let mut addresses = Vec::new();
        for item in items(doc.root_element(), "addressesSet") {
            // Checked again here: a cloud that ignores a filter shows no one else's.
            if tags_of(item).get(POOL_TAG) != Some(&self.pool) {
                continue;
            }
            let Some(allocation_id) = text_of(item, "allocationId") else {
                return Err(ProviderError::bad_data(
                    "EC2 DescribeAddresses: an address without allocationId",
                ));
            };
            let address = Address {
                allocation_id: allocation_id.to_string(),
                public_ip: text_of(item, "publicIp").unwrap_or("?").to_string(),
                association_id: text_of(item, "associationId").map(str::to_string),
                instance_id: text_of(item, "instanceId").map(str::to_string),
            };
            if instance_id.is_none_or(|id| address.instance_id.as_deref() == Some(id)) {
                addresses.push(address);
            }
        }
        Ok(addresses)
    }

    /// A new pool address: `AllocateAddress`, then the pool tag (released
    /// again when it cannot be tagged, so it never leaks untracked).
    fn allocate(&self) -> Result<Address, ProviderError> {
        let text = self.call(
            "AllocateAddress",
            &[("Domain".to_string(), "vpc".to_string())],
        )?;
        let doc = parse("AllocateAddress", &text)?;
        let root = doc.root_element();
        let allocation_id = text_of(root, "allocationId")
            .ok_or_else(|| {
                ProviderError::bad_data("EC2 AllocateAddress: no allocationId in the answer")
            })?
            .to_string();
        let tagged = self.call(
            "CreateTags",
            &[
                ("ResourceId.1".to_string(), allocation_id.clone()),
                ("Tag.1.Key".to_string(), POOL_TAG.to_string()),
                ("Tag.1.Value".to_string(), self.pool.clone()),
            ],
        );
        if let Err(e) = tagged {
            let _ = self.release(&allocation_id);
            return Err(e);
        }
        Ok(Address {
            allocation_id,
            public_ip: text_of(root, "publicIp").unwrap_or("?").to_string(),
            association_id: None,
            instance_id: None,
        })
    }

    fn release(&self, allocation_id: &str) -> Result<(), ProviderError> {
        self.call(
            "ReleaseAddress",
            &[("AllocationId".to_string(), allocation_id.to_string())],
        )
        .map(|_| ())
    }

    /// Disassociates and releases the pool addresses of an instance being destroyed.
    fn release_addresses_of(&self, instance: &Instance) -> Result<Vec<String>, ProviderError> {
        let mut released = Vec::new();
        for address in self.addresses(Some(&instance.id))? {
            if let Some(association) = &address.association_id {
                self.call(
                    "DisassociateAddress",
                    &[("AssociationId".to_string(), association.clone())],
                )?;
            }
            self.release(&address.allocation_id)?;
            released.push(address.public_ip);
        }
        Ok(released)
    }

    /// Gives every running pool instance an address and releases the
    /// unused ones.
    fn settle_addresses(&mut self, settled: &mut super::Settled) -> Result<(), ProviderError> {
        let instances = self.list()?;
        let addresses = self.addresses(None)?;
        let pool_ids: HashSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        let bound: HashSet<&str> = addresses
            .iter()
            .filter_map(|a| a.instance_id.as_deref())
            .filter(|id| pool_ids.contains(id))
            .collect();
        // Only unassociated addresses are free: one associated with an
        // instance outside the pool is left where it is.
        let mut free: Vec<Address> = addresses
            .iter()
            .filter(|a| a.association_id.is_none() && a.instance_id.is_none())
            .cloned()
            .collect();
        // An instance scaler did not tag keeps the address it has (its
        // own Elastic IP is not the pool's to replace or release).
        let needy = instances.iter().filter(|i| {
            i.state == InstanceState::Active
                && !bound.contains(i.id.as_str())
                && !(self.unmarked.contains(&i.id) && i.public_ip.is_some())
        });
        for instance in needy {
            let address = match free.pop() {
                Some(address) => address,
                None => self.allocate()?,
            };
            let associated = self.call(
                "AssociateAddress",
                &[
                    ("AllocationId".to_string(), address.allocation_id.clone()),
                    ("InstanceId".to_string(), instance.id.clone()),
                ],
            );
            match associated {
                Ok(_) => settled.notes.push(format!(
                    "elastic IP {} attached to {} ({})",
                    address.public_ip, instance.name, instance.id
                )),
                Err(e) => {
                    // Still tagged and free: the next pass uses it.
                    settled
                        .errors
                        .push(format!("elastic IP for {}: {e}", instance.name));
                }
            }
        }
        for address in free {
            match self.release(&address.allocation_id) {
                Ok(()) => settled.notes.push(format!(
                    "elastic IP {} released (unused)",
                    address.public_ip
                )),
                Err(e) => settled
                    .errors
                    .push(format!("elastic IP {}: {e}", address.public_ip)),
            }
        }
        Ok(())
    }
}

impl Ec2Config {
    /// The access key id, secret key and session token sources, by base key
    /// name: what `credentials` reads, and the loader checks for one form each.
    pub fn secret_sources(&self) -> [(&'static str, SecretSource); 3] {
        [
            (
                "access_key_id",
                SecretSource::new(
                    self.access_key_id.clone(),
                    self.access_key_id_env.clone(),
                    self.access_key_id_file.clone(),
                )
                .with_credential(self.access_key_id_credential.clone()),
            ),
            (
                "secret_access_key",
                SecretSource::new(
                    self.secret_access_key.clone(),
                    self.secret_access_key_env.clone(),
                    self.secret_access_key_file.clone(),
                )
                .with_credential(self.secret_access_key_credential.clone()),
            ),
            (
                "session_token",
                SecretSource::new(
                    self.session_token.clone(),
                    self.session_token_env.clone(),
                    self.session_token_file.clone(),
                )
                .with_credential(self.session_token_credential.clone()),
            ),
        ]
    }
}

fn credentials(config: &Ec2Config) -> Result<Credentials, String> {
    let [(_, key_source), (_, secret_source), (_, token_source)] = config.secret_sources();
    let configured_token = token_source.resolve("provider.session_token")?;
    if key_source.is_given() || secret_source.is_given() {
        let key = key_source.resolve("provider.access_key_id")?.ok_or(
            "provider.access_key_id (or _env, _file, _credential) is required with provider.secret_access_key",
        )?;
        let secret = secret_source.resolve("provider.secret_access_key")?.ok_or(
            "provider.secret_access_key (or _env, _file, _credential) is required with provider.access_key_id",
        )?;
        return Ok(Credentials {
            access_key_id: key.expose().trim().to_string(),
            secret_access_key: secret,
            session_token: configured_token,
        });
    }
    if let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Credentials {
            access_key_id: key,
            secret_access_key: Secret::new(secret),
            session_token: configured_token.or_else(|| env("AWS_SESSION_TOKEN").map(Secret::new)),
        });
    }
    if let (Some(key), Some(secret)) = (env("OSC_ACCESS_KEY"), env("OSC_SECRET_KEY")) {
        return Ok(Credentials {
            access_key_id: key,
            secret_access_key: Secret::new(secret),
            session_token: configured_token,
        });
    }
    Err(
        "no EC2 credentials: set provider.access_key_id_env and provider.secret_access_key_env \
         (or the _file forms), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            .into(),
    )
}

fn transport_error(e: &ureq::Error, config: &Ec2Config) -> ProviderError {
    match e {
        ureq::Error::Timeout(_) => {
            ProviderError::Timeout(format!("no answer within {}", config.timeout))
        }
        other => ProviderError::http(other, config.timeout.0),
    }
}

/// An EC2 error answer, by its error code (the API's documented codes) and
/// HTTP status: refused credentials, a missing IAM permission, or the
/// status's kind.
fn refusal(code: Option<&str>, status: u16, message: String) -> ProviderError {
    match code {
        Some(
            "AuthFailure"
            | "SignatureDoesNotMatch"
            | "InvalidClientTokenId"
            | "MissingAuthenticationToken"
            | "ExpiredToken"
            | "RequestExpired",
        ) => ProviderError::Auth(message),
        Some("UnauthorizedOperation" | "AccessDenied" | "Blocked") => {
            ProviderError::Privilege(message)
        }
        Some("RequestLimitExceeded" | "Unavailable" | "InternalError") => {
            ProviderError::Unavailable(message)
        }
        _ => ProviderError::http_status(status, message),
    }
}

/// The code of the first error of an EC2 error document.
fn code_of(text: &str) -> Option<String> {
    let doc = Document::parse(text).ok()?;
    let root = doc.root_element();
    let errors = if root.tag_name().name() == "Errors" {
        root
    } else {
        child(root, "Errors")?
    };
    let error = errors.children().find(|n| n.tag_name().name() == "Error")?;
    text_of(error, "Code").map(str::to_string)
}

/// Parses an answer, naming the action when it is not XML.
fn parse<'a>(action: &str, text: &'a str) -> Result<Document<'a>, ProviderError> {
    Document::parse(text).map_err(|e| {
        ProviderError::bad_data(format!("EC2 {action}: the answer is not valid XML: {e}"))
    })
}

/// `Code: Message` of an EC2 error document (`<Response><Errors><Error>`),
/// or `None` when the text is not one.
pub fn error_of(text: &str) -> Option<String> {
    let doc = Document::parse(text).ok()?;
    let root = doc.root_element();
    let errors = if root.tag_name().name() == "Errors" {
        root
    } else {
        child(root, "Errors")?
    };
    let messages: Vec<String> = errors
        .children()
        .filter(|n| n.tag_name().name() == "Error")
        .map(|error| {
            let code = text_of(error, "Code").unwrap_or("UnknownError");
            match text_of(error, "Message") {
                Some(message) => format!("{code}: {message}"),
                None => code.to_string(),
            }
        })
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// The first child element named `name` (namespaces ignored).
fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// The trimmed, non-empty text of the child element `name`.
fn text_of<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name)
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The `<item>` children of the child element `set`.
fn items<'a, 'input>(node: Node<'a, 'input>, set: &str) -> impl Iterator<Item = Node<'a, 'input>> {
    child(node, set)
        .into_iter()
        .flat_map(|s| s.children())
        .filter(|n| n.is_element() && n.tag_name().name() == "item")
}

fn tags_of(item: Node<'_, '_>) -> BTreeMap<String, String> {
    items(item, "tagSet")
        .filter_map(|tag| {
            let key = child(tag, "key")?.text()?.to_string();
            let value = child(tag, "value")
                .and_then(|v| v.text())
                .unwrap_or_default()
                .to_string();
            Some((key, value))
        })
        .collect()
}

impl Provider for Ec2Provider {
    fn list(&mut self) -> Result<Vec<Instance>, ProviderError> {
        let mut instances = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut seen_tokens = HashSet::new();
        let mut token: Option<String> = None;
        self.unmarked.clear();
        for page in 1.. {
            if page > MAX_PAGES {
                return Err(ProviderError::bad_data(format!(
                    "EC2 DescribeInstances: still paginating after {MAX_PAGES} pages"
                )));
            }
            let text = self.call("DescribeInstances", &self.describe_params(token.as_deref()))?;
            let doc = parse("DescribeInstances", &text)?;
            let root = doc.root_element();
            if root.tag_name().name() != "DescribeInstancesResponse" {
                return Err(ProviderError::bad_data(format!(
                    "EC2 DescribeInstances: unexpected answer <{}>",
                    root.tag_name().name()
                )));
            }
            for reservation in items(root, "reservationSet") {
                for item in items(reservation, "instancesSet") {
                    let instance = self.instance(item).map_err(|e| {
                        ProviderError::bad_data(format!("EC2 DescribeInstances: {e}"))
                    })?;
                    if let Some(instance) = instance
                        && seen_ids.insert(instance.id.clone())
                    {
                        if tags_of(item).get(POOL_TAG) != Some(&self.pool) {
                            self.unmarked.insert(instance.id.clone());
                        }
                        instances.push(instance);
                    }
                }
            }
            match text_of(root, "nextToken") {
                None => break,
                Some(next) => {
                    if !seen_tokens.insert(next.to_string()) {
                        return Err(ProviderError::bad_data(
                            "EC2 DescribeInstances: the cloud returned the same NextToken twice",
                        ));
                    }
                    token = Some(next.to_string());
                }
            }
        }
        log::debug!("EC2: {} instance(s) of pool {}", instances.len(), self.pool);
        Ok(instances)
    }

    fn create(&mut self, request: &CreateRequest) -> Result<Instance, ProviderError> {
        let text = self.call("RunInstances", &self.run_params(request))?;
        let doc = parse("RunInstances", &text)?;
        let item = items(doc.root_element(), "instancesSet")
            .next()
            .ok_or_else(|| {
                ProviderError::bad_data("EC2 RunInstances: the answer holds no instance")
            })?;
        let id = text_of(item, "instanceId").unwrap_or("?").to_string();
        // Tags may be missing from the answer even though they were applied.
        let instance = self
            .instance(item)
            .map_err(|e| ProviderError::bad_data(format!("EC2 RunInstances: {e}")))?;
        let mut instance = match instance {
            Some(instance) => instance,
            None => {
                // Re-read it without the tag check: the answer did not list tags.
                let state = child(item, "instanceState")
                    .and_then(|s| text_of(s, "name"))
                    .unwrap_or("pending");
                if matches!(state, "shutting-down" | "terminated") {
                    return Err(ProviderError::bad_data(format!(
                        "EC2 RunInstances: instance {id} is already {state}"
                    )));
                }
                Instance {
                    id: id.clone(),
                    name: request.name.clone(),
                    state: InstanceState::Building,
                    private_ip: text_of(item, "privateIpAddress").and_then(|t| t.parse().ok()),
                    public_ip: text_of(item, "ipAddress").and_then(|t| t.parse().ok()),
                    vcpus: request.vcpus,
                    instance_type: Some(request.instance_type.clone()),
                    created_at: Utc::now(),
                    adopted: false,
                }
            }
        };
        instance.name = request.name.clone();
        instance.vcpus = request.vcpus;
        // Tagged in this very request, whatever the answer shows.
        instance.adopted = false;
        Ok(instance)
    }

    fn destroy(&mut self, instance: &Instance) -> Result<(), ProviderError> {
        if self.config.elastic_ip {
            // Best effort: an address left behind is unassociated once the
            // instance is gone, and the next settle releases it.
            match self.release_addresses_of(instance) {
                Ok(released) => {
                    for ip in released {
                        log::info!("released elastic IP {ip} of {}", instance.name);
                    }
                }
                Err(e) => log::warn!("elastic IP of {}: {e}", instance.name),
            }
        }
        let text = self.call(
            "TerminateInstances",
            &[("InstanceId.1".to_string(), instance.id.clone())],
        )?;
        let doc = parse("TerminateInstances", &text)?;
        let terminated = items(doc.root_element(), "instancesSet")
            .any(|item| text_of(item, "instanceId") == Some(instance.id.as_str()));
        if !terminated {
            return Err(ProviderError::bad_data(format!(
                "EC2 TerminateInstances: the answer does not list {}",
                instance.id
            )));
        }
        Ok(())
    }

    fn settle(&mut self) -> super::Settled {
        let mut settled = super::Settled::default();
        if self.config.elastic_ip
            && let Err(e) = self.settle_addresses(&mut settled)
        {
            settled.errors.push(format!("elastic IPs: {e}"));
        }
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Ec2Config {
        toml::from_str(&format!(
            "kind = \"ec2\"\nregion = \"eu-west-2\"\nimage_id = \"ami-1\"\n\
             access_key_id = \"AKID\"\nsecret_access_key = \"SECRET\"\n{extra}"
        ))
        .unwrap()
    }

    fn provider(extra: &str) -> Ec2Provider {
        let mut config = config(extra);
        config.prepare(Path::new("."), "gw").unwrap();
        Ec2Provider::new("gw", config).unwrap()
    }

    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1234567890abcdef0</reservationId>
      <instancesSet>
        <item>
          <instanceId>i-1</instanceId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <instanceType>c5.xlarge</instanceType>
          <launchTime>2026-11-23T07:05:09.000Z</launchTime>
          <privateIpAddress>10.0.0.5</privateIpAddress>
          <ipAddress>54.1.2.3</ipAddress>
          <networkInterfaceSet><item><privateIpAddress>10.9.9.9</privateIpAddress></item></networkInterfaceSet>
          <tagSet>
            <item><key>scaler-pool</key><value>gw</value></item>
            <item><key>Name</key><value>gw-20261123070509-0</value></item>
          </tagSet>
        </item>
        <item>
          <instanceId>i-2</instanceId>
          <instanceState><code>0</code><name>pending</name></instanceState>
          <instanceType>m9.huge</instanceType>
          <launchTime>2026-11-23T07:06:00Z</launchTime>
          <cpuOptions><coreCount>4</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions>
          <tagSet><item><key>scaler-pool</key><value>gw</value></item></tagSet>
        </item>
        <item>
          <instanceId>i-3</instanceId>
          <instanceState><code>80</code><name>stopped</name></instanceState>
          <launchTime>2026-11-23T07:06:00Z</launchTime>
          <tagSet><item><key>scaler-pool</key><value>gw</value></item></tagSet>
        </item>
        <item>
          <instanceId>i-4</instanceId>
          <instanceState><code>48</code><name>terminated</name></instanceState>
          <launchTime>2026-11-23T07:06:00Z</launchTime>
          <tagSet><item><key>scaler-pool</key><value>gw</value></item></tagSet>
        </item>
        <item>
          <instanceId>i-5</instanceId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <launchTime>2026-11-23T07:06:00Z</launchTime>
          <tagSet><item><key>scaler-pool</key><value>gwx</value></item></tagSet>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
</DescribeInstancesResponse>"#;

    fn parsed(p: &Ec2Provider, text: &str) -> Result<Vec<Instance>, String> {
        let doc = Document::parse(text).unwrap();
        let mut out = Vec::new();
        for reservation in items(doc.root_element(), "reservationSet") {
            for item in items(reservation, "instancesSet") {
                out.extend(p.instance(item)?);
            }
        }
        Ok(out)
    }

    #[test]
    fn maps_states_tags_addresses_and_vcpus() {
        let p = provider("[instance_types]\n\"c5.xlarge\" = 4\n");
        let list = parsed(&p, PAGE).unwrap();
        let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["i-1", "i-2", "i-3"], "terminated and foreign skipped");
        assert_eq!(list[0].state, InstanceState::Active);
        assert_eq!(list[0].name, "gw-20261123070509-0");
        assert_eq!(list[0].private_ip, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(list[0].public_ip, Some("54.1.2.3".parse().unwrap()));
        assert_eq!(list[0].vcpus, 4, "from instance_types");
        assert_eq!(list[1].state, InstanceState::Building);
        assert_eq!(list[1].vcpus, 8, "from cpuOptions");
        assert_eq!(list[1].name, "i-2", "no Name tag: the id");
        assert_eq!(list[2].state, InstanceState::Error);
        assert_eq!(list[2].vcpus, 0);
    }

    #[test]
    fn bad_instance_data_is_an_error_not_a_panic() {
        let p = provider("");
        for (from, to, expected) in [
            (
                "<name>running</name>",
                "<name>hibernating</name>",
                "unknown state",
            ),
            ("2026-11-23T07:05:09.000Z", "yesterday", "launchTime"),
            (
                "<ipAddress>54.1.2.3",
                "<ipAddress>54.1.2",
                "not an IP address",
            ),
            ("<instanceId>i-1</instanceId>", "", "without instanceId"),
        ] {
            let err = parsed(&p, &PAGE.replacen(from, to, 1)).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn reads_ec2_error_documents() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>The image id '[ami-x]' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        assert_eq!(
            error_of(text).unwrap(),
            "InvalidAMIID.NotFound: The image id '[ami-x]' does not exist"
        );
        assert_eq!(
            error_of("<Errors><Error><Code>X</Code></Error></Errors>").unwrap(),
            "X"
        );
        assert_eq!(error_of(PAGE), None);
        assert_eq!(error_of("not xml"), None);
    }

    #[test]
    fn run_parameters_carry_everything_asked() {
        let p = provider(
            "subnet_id = \"subnet-1\"\nsecurity_group_ids = [\"sg-1\", \"sg-2\"]\n\
             key_name = \"ops\"\n[tags]\ncost = \"voice\"\n",
        );
        let params = p.run_params(&CreateRequest {
            name: "gw-20261123070509-1".into(),
            instance_type: "c5.xlarge".into(),
            vcpus: 4,
        });
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("ImageId"), Some("ami-1"));
        assert_eq!(get("InstanceType"), Some("c5.xlarge"));
        assert_eq!((get("MinCount"), get("MaxCount")), (Some("1"), Some("1")));
        assert_eq!(get("SubnetId"), Some("subnet-1"));
        assert_eq!(get("SecurityGroupId.2"), Some("sg-2"));
        assert_eq!(get("KeyName"), Some("ops"));
        assert_eq!(get("ClientToken"), Some("gw-20261123070509-1"));
        let long = format!("{}-20261123070509-12-0123abcd", "p".repeat(40));
        assert_eq!(client_token(&long).len(), 64);
        assert!(long.ends_with(client_token(&long)));
        assert_eq!(get("UserData"), None);
        assert_eq!(get("TagSpecification.1.ResourceType"), Some("instance"));
        assert_eq!(get("TagSpecification.1.Tag.1.Key"), Some("scaler-pool"));
        assert_eq!(get("TagSpecification.1.Tag.1.Value"), Some("gw"));
        assert_eq!(
            get("TagSpecification.1.Tag.2.Value"),
            Some("gw-20261123070509-1")
        );
        assert_eq!(get("TagSpecification.1.Tag.3.Key"), Some("cost"));
    }

    #[test]
    fn user_data_is_rendered_per_instance_and_base64_encoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("init.sh"),
            "#!/bin/sh\n{{role}} {{instance_name}}\n",
        )
        .unwrap();
        let mut config =
            config("user_data_template = \"init.sh\"\n[user_data_vars]\nrole = \"sip\"\n");
        config.prepare(dir.path(), "gw").unwrap();
        let p = Ec2Provider::new("gw", config).unwrap();
        let params = p.run_params(&CreateRequest {
            name: "gw-1-0".into(),
            instance_type: "t".into(),
            vcpus: 1,
        });
        let encoded = &params.iter().find(|(k, _)| k == "UserData").unwrap().1;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "#!/bin/sh\nsip gw-1-0\n"
        );

        let mut missing = config_with_template(dir.path(), "{{nope}}");
        let err = missing.prepare(dir.path(), "gw").unwrap_err();
        assert!(err.contains("{{nope}} is not defined"), "{err}");
        let mut huge = config_with_template(dir.path(), &"x".repeat(USER_DATA_LIMIT + 1));
        assert!(
            huge.prepare(dir.path(), "gw")
                .unwrap_err()
                .contains("bytes")
        );
    }

    fn config_with_template(dir: &Path, text: &str) -> Ec2Config {
        std::fs::write(dir.join("t.sh"), text).unwrap();
        config("user_data_template = \"t.sh\"\n")
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::resolve(None, "us-east-1").unwrap().url,
            "https://ec2.us-east-1.amazonaws.com/"
        );
        let outscale = Endpoint::resolve(Some("outscale"), "eu-west-2").unwrap();
        assert_eq!(outscale.url, "https://fcu.eu-west-2.outscale.com/");
        assert_eq!(outscale.host, "fcu.eu-west-2.outscale.com");
        let local = Endpoint::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (local.url.as_str(), local.host.as_str(), local.path.as_str()),
            ("http://127.0.0.1:5000/", "127.0.0.1:5000", "/")
        );
        assert_eq!(Endpoint::parse("https://h/api/").unwrap().path, "/api/");
        for bad in ["ftp://h", "https://", "https://u:p@h/", "https://h/?a=1"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configuration_checks() {
        for (extra, expected) in [
            ("page_size = 2\n", "page_size"),
            ("[tags]\nName = \"x\"\n", "provider.tags.Name"),
            ("endpoint = \"fcu.example\"\n", "provider.endpoint"),
            ("[user_data_vars]\na = \"b\"\n", "user_data_template is not"),
        ] {
            let err = config(extra).prepare(Path::new("."), "gw").unwrap_err();
            assert!(err.contains(expected), "{extra}: {err}");
        }
        let half: Ec2Config = toml::from_str(
            "kind = \"ec2\"\nregion = \"r\"\nimage_id = \"a\"\naccess_key_id = \"AKID\"\n",
        )
        .unwrap();
        let err = Ec2Provider::new("gw", half).err().unwrap();
        assert!(err.message().contains("secret_access_key"), "{err}");
        let unset: Ec2Config = toml::from_str(
            "kind = \"ec2\"\nregion = \"r\"\nimage_id = \"a\"\n\
             access_key_id_env = \"SCALER_TEST_SURELY_UNSET_KEY\"\nsecret_access_key = \"s\"\n",
        )
        .unwrap();
        let err = Ec2Provider::new("gw", unset).err().unwrap();
        assert!(
            err.message().contains("SCALER_TEST_SURELY_UNSET_KEY"),
            "{err}"
        );
        assert!(
            toml::from_str::<Ec2Config>("kind = \"ec2\"\nimage_id = \"a\"\nimage = \"b\"\n")
                .is_err()
        );
    }
}
