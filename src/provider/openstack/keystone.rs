//! Keystone v3: which credentials to use (the `[provider]` keys first, then
//! the usual `OS_*` variables of an openrc file), the token request
//! (`POST /v3/auth/tokens`, password or application credential), and the
//! service catalog of the answer, where the compute, network and image
//! endpoints are found by type, region and interface. The token and every
//! secret stay in [`Secret`]s: never logged, never in a message.

use super::OpenStackConfig;
use super::http::{Http, HttpError, Method, join};
use crate::fault::Fault;
use crate::secret::{Secret, SecretSource};
use serde::Deserialize;
use serde_json::json;

/// Looks a variable up (the process environment, or a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A user or a project: by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// By id (ids are unique across domains).
    Id(String),
    /// By name, in a domain given by id or name.
    Name { name: String, domain: Domain },
}

/// A domain, by id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    Id(String),
    Name(String),
}

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// `password`, scoped to a project.
    Password {
        user: Named,
        password: Secret,
        project: Named,
    },
    /// `application_credential` (already scoped to its project).
    ApplicationCredential { id: String, secret: Secret },
}

/// Everything needed to get a token and pick endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The identity endpoint, ending in `/v3`.
    pub auth_url: String,
    /// The region of the endpoints (`None`: the catalog must offer only one).
    pub region: Option<String>,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The method and its secrets.
    pub method: AuthMethod,
}

/// A key from the configuration, else from the first of its `OS_*`
/// variables that is set; empty counts as unset.
fn pick(env: Env<'_>, value: &Option<String>, vars: &[&str]) -> Option<String> {
    value
        .clone()
        .or_else(|| vars.iter().find_map(|v| env(v)))
        .filter(|v| !v.is_empty())
}

/// Resolves the credentials: each key from the configuration, else from its
/// `OS_*` variable. The error names the key and the variable to set.
pub fn credentials(config: &OpenStackConfig, env: Env<'_>) -> Result<Credentials, Fault> {
    let auth_url = pick(env, &config.auth_url, &["OS_AUTH_URL"]).ok_or_else(|| {
        Fault::config(
            "provider.auth_url: not set (set it, or OS_AUTH_URL, e.g. \"https://auth.cloud.ovh.net/v3\")",
        )
    })?;
    let region = pick(env, &config.region, &["OS_REGION_NAME"]);
    let interface = pick(
        env,
        &config.interface,
        &["OS_INTERFACE", "OS_ENDPOINT_TYPE"],
    )
    .map(|i| i.trim_end_matches("URL").to_ascii_lowercase())
    .unwrap_or_else(|| "public".to_string());
    if !matches!(interface.as_str(), "public" | "internal" | "admin") {
        return Err(Fault::Config(format!(
            "provider.interface: {interface:?} is not one of \"public\", \"internal\", \"admin\""
        )));
    }

    let [(_, password_source), (_, app_secret_source)] = config.secret_sources();
    let method = match auth_kind(config, env, &app_secret_source, &password_source)? {
        AuthKind::ApplicationCredential => {
            let id = pick(
                env,
                &config.application_credential_id,
                &["OS_APPLICATION_CREDENTIAL_ID"],
            )
            .ok_or_else(|| {
                Fault::config(
                    "provider.application_credential_id: not set (or OS_APPLICATION_CREDENTIAL_ID)",
                )
            })?;
            let secret = secret_or_env(
                &app_secret_source,
                "provider.application_credential_secret",
                "OS_APPLICATION_CREDENTIAL_SECRET",
                env,
            )?;
            AuthMethod::ApplicationCredential { id, secret }
        }
        AuthKind::Password => password_method(config, env, &password_source)?,
    };
    Ok(Credentials {
        auth_url: v3_url(&auth_url),
        region,
        interface,
        method,
    })
}

/// The authentication method: `auth_type` (or `OS_AUTH_TYPE`) when given,
/// else what the keys of the file imply, else the environment.
fn auth_kind(
    config: &OpenStackConfig,
    env: Env<'_>,
    app_secret_source: &SecretSource,
    password_source: &SecretSource,
) -> Result<AuthKind, Fault> {
    Ok(
        match pick(env, &config.auth_type, &["OS_AUTH_TYPE"]).as_deref() {
            Some("password" | "v3password") => AuthKind::Password,
            Some("application_credential" | "v3applicationcredential") => {
                AuthKind::ApplicationCredential
            }
            Some(other) => {
                return Err(Fault::Config(format!(
                    "provider.auth_type: {other:?} is not supported (use \"password\" or \"application_credential\")"
                )));
            }
            // Keys in the file decide; the environment only when the file says nothing.
            None if config.application_credential_id.is_some() || app_secret_source.is_given() => {
                AuthKind::ApplicationCredential
            }
            None if config.username.is_some()
                || config.user_id.is_some()
                || password_source.is_given() =>
            {
                AuthKind::Password
            }
            None if env("OS_APPLICATION_CREDENTIAL_ID").is_some() => {
                AuthKind::ApplicationCredential
            }
            None => AuthKind::Password,
        },
    )
}

/// Password authentication: the user, the project and the password.
fn password_method(
    config: &OpenStackConfig,
    env: Env<'_>,
    password_source: &SecretSource,
) -> Result<AuthMethod, Fault> {
    let user_domain = domain(
        pick(env, &config.user_domain_id, &["OS_USER_DOMAIN_ID"]),
        pick(env, &config.user_domain_name, &["OS_USER_DOMAIN_NAME"]),
    );
    let user = match (
        pick(env, &config.user_id, &["OS_USER_ID"]),
        pick(env, &config.username, &["OS_USERNAME"]),
    ) {
        (Some(id), _) => Named::Id(id),
        (None, Some(name)) => Named::Name {
            name,
            domain: user_domain,
        },
        (None, None) => {
            return Err(Fault::config(
                "provider.username: not set (set username or user_id, or OS_USERNAME; \
                 or use an application credential)",
            ));
        }
    };
    let project_domain = domain(
        pick(env, &config.project_domain_id, &["OS_PROJECT_DOMAIN_ID"]),
        pick(
            env,
            &config.project_domain_name,
            &["OS_PROJECT_DOMAIN_NAME"],
        ),
    );
    let project = match (
        pick(env, &config.project_id, &["OS_PROJECT_ID", "OS_TENANT_ID"]),
        pick(
            env,
            &config.project_name,
            &["OS_PROJECT_NAME", "OS_TENANT_NAME"],
        ),
    ) {
        (Some(id), _) => Named::Id(id),
        (None, Some(name)) => Named::Name {
            name,
            domain: project_domain,
        },
        (None, None) => {
            return Err(Fault::config(
                "provider.project_name: not set (set project_name or project_id, \
                 or OS_PROJECT_NAME / OS_PROJECT_ID)",
            ));
        }
    };
    let password = secret_or_env(password_source, "provider.password", "OS_PASSWORD", env)?;
    Ok(AuthMethod::Password {
        user,
        password,
        project,
    })
}

enum AuthKind {
    Password,
    ApplicationCredential,
}

/// A domain by id if given, else by name, else Keystone's `Default` domain.
fn domain(id: Option<String>, name: Option<String>) -> Domain {
    match (id, name) {
        (Some(id), _) => Domain::Id(id),
        (None, Some(name)) => Domain::Name(name),
        (None, None) => Domain::Name("Default".to_string()),
    }
}

fn secret_or_env(
    source: &SecretSource,
    key: &str,
    var: &str,
    env: Env<'_>,
) -> Result<Secret, Fault> {
    if let Some(secret) = source.resolve(key).map_err(Fault::Secret)? {
        return Ok(secret);
    }
    env(var).map(Secret::new).ok_or_else(|| {
        Fault::Secret(format!(
            "{key}: not set (set {key}_env, {key}_file or {key}_credential, or {var})"
        ))
    })
}

/// The identity URL ending in `/v3` (openrc files give it with or without).
pub fn v3_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        base.to_string()
    } else {
        format!("{base}/v3")
    }
}

fn named_json(named: &Named) -> serde_json::Value {
    match named {
        Named::Id(id) => json!({ "id": id }),
        Named::Name { name, domain } => json!({ "name": name, "domain": domain_json(domain) }),
    }
}

fn domain_json(domain: &Domain) -> serde_json::Value {
    match domain {
        Domain::Id(id) => json!({ "id": id }),
        Domain::Name(name) => json!({ "name": name }),
    }
}

/// The body of `POST /v3/auth/tokens` (Identity API v3, "Password
/// authentication with scoped authorization" and "Authenticating with an
/// Application Credential"). Holds secrets: never log it.
pub fn token_request(method: &AuthMethod) -> serde_json::Value {
    match method {
        AuthMethod::Password {
            user,
            password,
            project,
        } => {
            let mut user = named_json(user);
            user["password"] = json!(password.expose());
            json!({
                "auth": {
                    "identity": { "methods": ["password"], "password": { "user": user } },
                    "scope": { "project": named_json(project) }
                }
            })
        }
        AuthMethod::ApplicationCredential { id, secret } => json!({
            "auth": {
                "identity": {
                    "methods": ["application_credential"],
                    "application_credential": { "id": id, "secret": secret.expose() }
                }
            }
        }),
    }
}

/// One service of the catalog.
#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    /// `compute`, `network`, `image`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a service.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub url: String,
    pub interface: String,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInner,
}

#[derive(Deserialize)]
struct TokenInner {
    #[serde(default)]
    catalog: Vec<Service>,
}

/// A token and the catalog it came with, kept for the whole run.
#[derive(Debug, Clone)]
pub struct Session {
    /// The `X-Subject-Token` of the answer.
    pub token: Secret,
    /// The service catalog.
    pub catalog: Vec<Service>,
}

/// Asks Keystone for a token. Refusals (bad password, unknown project)
/// come back as Keystone's own message.
pub fn authenticate(http: &Http, credentials: &Credentials) -> Result<Session, HttpError> {
    let url = join(&credentials.auth_url, "auth/tokens");
    let body = token_request(&credentials.method);
    let reply = http
        .send(Method::Post, &url, None, Some(&body))
        .map_err(|e| match e {
            HttpError::Refused { status, message } => HttpError::Refused {
                status,
                message: format!("Keystone refused the credentials ({url}): {message}"),
            },
            other => other,
        })?;
    let token = reply.subject_token.clone().ok_or_else(|| {
        HttpError::Unavailable(Fault::bad_data(format!(
            "POST {url}: no X-Subject-Token in the answer"
        )))
    })?;
    let parsed: TokenBody = serde_json::from_str(&reply.body).map_err(|e| {
        HttpError::Unavailable(Fault::bad_data(format!(
            "POST {url}: unexpected token body ({e})"
        )))
    })?;
    Ok(Session {
        token,
        catalog: parsed.token.catalog,
    })
}

/// The URL of service `kind` for this region and interface. Without a
/// configured region the catalog must name only one.
pub fn endpoint(
    catalog: &[Service],
    kind: &str,
    region: Option<&str>,
    interface: &str,
) -> Result<String, String> {
    let services: Vec<&Service> = catalog.iter().filter(|s| s.kind == kind).collect();
    if services.is_empty() {
        let types: Vec<&str> = catalog.iter().map(|s| s.kind.as_str()).collect();
        return Err(format!(
            "the service catalog has no {kind:?} service (it has: {})",
            types.join(", ")
        ));
    }
    let region_of = |e: &Endpoint| e.region_id.clone().or_else(|| e.region.clone());
    let matching: Vec<&Endpoint> = services
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.interface == interface)
        .filter(|e| region.is_none_or(|r| region_of(e).as_deref() == Some(r)))
        .collect();
    let mut urls: Vec<&str> = matching.iter().map(|e| e.url.as_str()).collect();
    urls.sort_unstable();
    urls.dedup();
    match urls.as_slice() {
        [url] => Ok(url.to_string()),
        [] => {
            let offered: Vec<String> = services
                .iter()
                .flat_map(|s| s.endpoints.iter())
                .map(|e| {
                    format!(
                        "{}/{}",
                        region_of(e).unwrap_or_else(|| "-".into()),
                        e.interface
                    )
                })
                .collect();
            Err(format!(
                "no {kind:?} endpoint for region {} and interface {interface:?} (offered: {})",
                region.map_or("(any)".to_string(), |r| format!("{r:?}")),
                offered.join(", ")
            ))
        }
        _ => {
            let mut regions: Vec<String> = matching.iter().filter_map(|e| region_of(e)).collect();
            regions.sort_unstable();
            regions.dedup();
            Err(format!(
                "several {kind:?} endpoints (regions {}): set provider.region (or OS_REGION_NAME)",
                regions.join(", ")
            ))
        }
    }
}
