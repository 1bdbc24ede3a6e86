//! HTTP status probes (what SimpleScaleVM calls the Status Service): each
//! active instance answers a JSON object with a `termination` boolean (it may
//! be destroyed) and a `capacity` integer (resources it has free). Probes run
//! concurrently, each with connect and total timeouts and a body limit; at
//! most `concurrency` wait for a first answer at once, and one that does not
//! answer soon gives its place up while it runs to its timeout, so hung or
//! hostile endpoints cost about one timeout in all and never stall the pass.

use crate::duration::HumanDuration;
use crate::fault::Fault;
use crate::model::{Instance, InstanceState};
use crate::secret::{Secret, SecretSource};
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Largest status body read; a longer one is an error.
pub const MAX_BODY: u64 = 64 * 1024;

/// `[probe]` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// URL template: `{ip}` is the private address, `{public_ip}` the public one.
    pub url: String,
    /// JSON key of the free resources.
    #[serde(default = "default_capacity_key")]
    pub capacity_key: String,
    /// JSON key of the termination flag.
    #[serde(default = "default_termination_key")]
    pub termination_key: String,
    /// Connect and total timeout of one probe.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Probes in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Bearer token in clear (discouraged).
    pub token: Option<String>,
    /// Environment variable holding the bearer token.
    pub token_env: Option<String>,
    /// File holding the bearer token.
    pub token_file: Option<std::path::PathBuf>,
    /// systemd credential holding the bearer token.
    pub token_credential: Option<String>,
    /// Verify TLS certificates (https URLs).
    #[serde(default = "default_true")]
    pub tls_verify: bool,
}

fn default_capacity_key() -> String {
    "capacity".into()
}
fn default_termination_key() -> String {
    "termination".into()
}
fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(2))
}
fn default_concurrency() -> usize {
    32
}
fn default_true() -> bool {
    true
}

impl ProbeConfig {
    /// Checks what serde cannot: the template and the bounds.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(format!(
                "probe.url must start with http:// or https://, got {:?}",
                self.url
            ));
        }
        if !self.url.contains("{ip}") && !self.url.contains("{public_ip}") {
            return Err("probe.url must contain {ip} or {public_ip}".into());
        }
        if self.concurrency == 0 || self.concurrency > 1024 {
            return Err(format!(
                "probe.concurrency must be between 1 and 1024, got {}",
                self.concurrency
            ));
        }
        if self.timeout.0.is_zero() {
            return Err("probe.timeout must be greater than 0".into());
        }
        Ok(())
    }

    /// Where the token comes from.
    pub fn token_source(&self) -> SecretSource {
        SecretSource::new(
            self.token.clone(),
            self.token_env.clone(),
            self.token_file.clone(),
        )
        .with_credential(self.token_credential.clone())
    }
}

/// What a replica said about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// It may be destroyed.
    pub termination: bool,
    /// Free resources (absent for gateway pools whose probe does not report it).
    pub capacity: Option<u32>,
}

/// The answer of one instance: its status, or why it is unknown.
pub type ProbeResult = Result<Status, Fault>;

/// Probes instances over HTTP.
pub struct Prober {
    config: ProbeConfig,
    token: Option<Secret>,
    agent: ureq::Agent,
    capacity_required: bool,
}

impl Prober {
    /// A prober; `capacity_required` for replica pools. Resolves the token now.
    pub fn new(config: &ProbeConfig, capacity_required: bool) -> Result<Prober, Fault> {
        config.validate().map_err(Fault::Config)?;
        let token = config
            .token_source()
            .resolve("probe.token")
            .map_err(Fault::Secret)?;
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(!config.tls_verify)
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout.0))
            .timeout_connect(Some(config.timeout.0))
            .max_redirects(5)
            .http_status_as_error(false)
            .proxy(None)
            .tls_config(tls)
            .user_agent(concat!("scaler/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Prober {
            config: config.clone(),
            token,
            agent,
            capacity_required,
        })
    }

    /// The URL of one instance, or why it has none.
    pub fn url_for(&self, instance: &Instance) -> Result<String, Fault> {
        let mut url = self.config.url.clone();
        if url.contains("{ip}") {
            let ip = instance
                .private_ip
                .ok_or_else(|| Fault::bad_data("no private IP for {ip}"))?;
            url = url.replace("{ip}", &host_literal(ip));
        }
        if url.contains("{public_ip}") {
            let ip = instance
                .public_ip
                .ok_or_else(|| Fault::bad_data("no public IP for {public_ip}"))?;
            url = url.replace("{public_ip}", &host_literal(ip));
        }
        Ok(url)
    }

    /// Probes every active instance concurrently; returns `(instance id,
    /// result)` in the order given. Building and error instances are skipped.
    /// At most `concurrency` probes wait for a first answer at once; one
    /// unanswered after [`park_after`] no longer holds its place (it runs on
    /// to its own timeout), so hung endpoints do not queue the others behind
    /// them: with a few hung, probing takes about one timeout.
    pub fn probe_all(&self, instances: &[Instance]) -> Vec<(String, ProbeResult)> {
        let targets: Vec<(String, Result<String, Fault>)> = instances
            .iter()
            .filter(|i| i.state == InstanceState::Active)
            .map(|i| (i.id.clone(), self.url_for(i)))
            .collect();
        let _call =
            crate::watchdog::doing(format!("status probes of {} instance(s)", targets.len()));
        let results: Mutex<Vec<Option<ProbeResult>>> = Mutex::new(vec![None; targets.len()]);
        let places = Places::new(self.config.concurrency, park_after(self.config.timeout.0));
        std::thread::scope(|scope| {
            for (index, (_, url)) in targets.iter().enumerate() {
                let place = places.take();
                let (results, places) = (&results, &places);
                let held = Arc::clone(&place);
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                    let result = match url {
                        Ok(url) => self.probe(url),
                        Err(e) => Err(e.clone()),
                    };
                    if let Ok(mut slots) = results.lock() {
                        slots[index] = Some(result);
                    }
                    places.give_back(&held);
                });
                if let Err(e) = spawned {
                    if let Ok(mut slots) = results.lock() {
                        slots[index] = Some(Err(Fault::unavailable(format!(
                            "cannot start a probe thread: {e}"
                        ))));
                    }
                    places.give_back(&place);
                }
            }
        });
        let results = results.into_inner().unwrap_or_default();
        targets
            .into_iter()
            .zip(results)
            .map(|((id, _), result)| {
                (
                    id,
                    result.unwrap_or_else(|| Err(Fault::unavailable("probe did not run"))),
                )
            })
            .collect()
    }

    /// Probes one URL.
    pub fn probe(&self, url: &str) -> ProbeResult {
        let mut request = self.agent.get(url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {}", token.expose()));
        }
        let mut response = request.call().map_err(|e| self.transport(url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let status = status.as_u16();
            return Err(Fault::http_status(
                status,
                format!("{}: HTTP {status}", redact(url)),
            ));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.transport(url, &e))?;
        parse_status(
            &body,
            &self.config.capacity_key,
            &self.config.termination_key,
            self.capacity_required,
        )
        .map_err(|e| e.context(redact(url)))
    }

    /// A request that got no answer, worded for the report.
    fn transport(&self, url: &str, e: &ureq::Error) -> Fault {
        let fault = match e {
            ureq::Error::Timeout(_) => Fault::Timeout("no answer within the timeout".into()),
            ureq::Error::BodyExceedsLimit(_) => {
                Fault::bad_data(format!("answer larger than {} KiB", MAX_BODY / 1024))
            }
            other => Fault::http(other, self.config.timeout.0),
        };
        fault.context(redact(url))
    }
}

/// Most probe threads alive at once, parked ones included.
pub const MAX_IN_FLIGHT: usize = 1024;

/// How long a probe may wait for its answer before it stops holding one of
/// the `concurrency` places: an eighth of the timeout, at most 100 ms (a
/// status endpoint on the pool's network answers in milliseconds; a slower
/// one only costs a thread, never a result). While it holds its place a hung
/// probe slows the others, so the shorter the better.
pub fn park_after(timeout: Duration) -> Duration {
    (timeout / 8).min(Duration::from_millis(100))
}

/// The places of the probes in flight: taken by the dispatcher, given back
/// by a probe that ends, or reclaimed from one that waits longer than
/// `park_after` (it keeps running without a place).
struct Places {
    concurrency: usize,
    park_after: Duration,
    state: Mutex<PlacesState>,
    changed: Condvar,
}

#[derive(Default)]
struct PlacesState {
    /// Places held.
    held: usize,
    /// Probe threads alive.
    alive: usize,
    /// When each place-holding probe started, and whether it still holds one.
    holders: Vec<(Instant, Arc<AtomicBool>)>,
}

impl Places {
    fn new(concurrency: usize, park_after: Duration) -> Places {
        Places {
            concurrency: concurrency.max(1),
            park_after,
            state: Mutex::new(PlacesState::default()),
            changed: Condvar::new(),
        }
    }

    /// Waits for a free place (parking probes that waited too long) and
    /// takes it; the flag says whether the probe still holds it.
    fn take(&self) -> Arc<AtomicBool> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            let park_after = self.park_after;
            let mut parked = 0;
            state.holders.retain(|(since, holds)| {
                if now.duration_since(*since) >= park_after && holds.swap(false, Ordering::AcqRel) {
                    parked += 1;
                }
                holds.load(Ordering::Acquire)
            });
            state.held -= parked;
            if state.held < self.concurrency && state.alive < MAX_IN_FLIGHT {
                let holds = Arc::new(AtomicBool::new(true));
                state.held += 1;
                state.alive += 1;
                state.holders.push((now, Arc::clone(&holds)));
                return holds;
            }
            let next_park = state
                .holders
                .iter()
                .map(|(since, _)| (*since + park_after).saturating_duration_since(now))
                .min()
                .unwrap_or(park_after);
            let wait = next_park.max(Duration::from_millis(1));
            state = match self.changed.wait_timeout(state, wait) {
                Ok((state, _)) => state,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// A probe ended: its place (if it still held one) and its thread are free.
    fn give_back(&self, holds: &AtomicBool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if holds.swap(false, Ordering::AcqRel) {
            state.held -= 1;
        }
        state.alive -= 1;
        self.changed.notify_one();
    }
}

fn host_literal(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

/// A URL without user information, for messages.
fn redact(url: &str) -> String {
    crate::pool::sip::redacted_url(url)
}

/// Parses a status body: a JSON object with a boolean termination key and,
/// when required (replica pools) or present, a non-negative integer capacity.
pub fn parse_status(
    body: &[u8],
    capacity_key: &str,
    termination_key: &str,
    capacity_required: bool,
) -> ProbeResult {
    read_status(body, capacity_key, termination_key, capacity_required).map_err(Fault::BadData)
}

fn read_status(
    body: &[u8],
    capacity_key: &str,
    termination_key: &str,
    capacity_required: bool,
) -> Result<Status, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("answer is not JSON ({e})"))?;
    let object = value.as_object().ok_or("answer is not a JSON object")?;
    let termination = match object.get(termination_key) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(other) => return Err(format!("`{termination_key}` is not a boolean: {other}")),
        None => return Err(format!("answer has no `{termination_key}`")),
    };
    let capacity = match object.get(capacity_key) {
        Some(v) => {
            let n = v
                .as_i64()
                .ok_or_else(|| format!("`{capacity_key}` is not an integer: {v}"))?;
            if n < 0 {
                return Err(format!("`{capacity_key}` is negative: {n}"));
            }
            Some(u32::try_from(n).map_err(|_| format!("`{capacity_key}` is too large: {n}"))?)
        }
        None if capacity_required => return Err(format!("answer has no `{capacity_key}`")),
        None => None,
    };
    Ok(Status {
        termination,
        capacity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> ProbeResult {
        parse_status(body.as_bytes(), "capacity", "termination", true)
    }

    #[test]
    fn accepts_the_documented_answer() {
        assert_eq!(
            parse(r#"{"termination": false, "capacity": 3}"#),
            Ok(Status {
                termination: false,
                capacity: Some(3)
            })
        );
        assert_eq!(
            parse_status(
                br#"{"termination": true}"#,
                "capacity",
                "termination",
                false
            ),
            Ok(Status {
                termination: true,
                capacity: None
            })
        );
    }

    #[test]
    fn explains_bad_answers() {
        let cases = [
            ("<html>", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"capacity": 1}"#, "no `termination`"),
            (r#"{"termination": "yes", "capacity": 1}"#, "not a boolean"),
            (r#"{"termination": false}"#, "no `capacity`"),
            (r#"{"termination": false, "capacity": -1}"#, "negative"),
            (
                r#"{"termination": false, "capacity": 1.5}"#,
                "not an integer",
            ),
            (
                r#"{"termination": false, "capacity": 99999999999}"#,
                "too large",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(body).unwrap_err();
            assert!(err.message().contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn validates_the_template() {
        let config: ProbeConfig = toml::from_str("url = \"http://{ip}:8080/status\"").unwrap();
        config.validate().unwrap();
        let bad: ProbeConfig = toml::from_str("url = \"http://10.0.0.1/\"").unwrap();
        assert!(bad.validate().unwrap_err().contains("{ip}"));
        let bad: ProbeConfig = toml::from_str("url = \"ftp://{ip}/\"").unwrap();
        assert!(bad.validate().is_err());
    }
}
