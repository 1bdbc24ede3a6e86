//! HTTP for the OpenStack provider: one ureq agent with a connect timeout and
//! a total timeout per request, JSON bodies, and the APIs' error bodies
//! (Nova `{"badRequest": {"message": …}}`, Keystone `{"error": {…}}`,
//! Neutron `{"NeutronError": {…}}`) turned into one clear sentence. Network
//! failures, timeouts and 5xx answers are told apart from refusals (4xx),
//! since only the former mean "the cloud is unavailable".

use crate::fault::Fault;
use crate::secret::Secret;
use std::time::Duration;

/// The most a response body may weigh (a page of 1,000 servers is ~2 MB).
const BODY_LIMIT: u64 = 32 * 1024 * 1024;

/// A request that did not get a successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// No usable answer: connection refused, DNS, timeout, TLS, a 5xx or
    /// an answer that cannot be read, classified.
    Unavailable(Fault),
    /// The service answered and refused (4xx), with its own message.
    Refused {
        /// HTTP status.
        status: u16,
        /// The message of the error body (or the status text).
        message: String,
    },
}

impl HttpError {
    /// The failure, classified: a refusal by its status (401/403 refused
    /// credentials, other 4xx a request turned down).
    pub fn into_fault(self) -> Fault {
        match self {
            HttpError::Unavailable(fault) => fault.map(|why| format!("unavailable: {why}")),
            HttpError::Refused { status, message } => {
                Fault::http_status(status, format!("HTTP {status}: {message}"))
            }
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Unavailable(why) => write!(f, "unavailable: {why}"),
            HttpError::Refused { status, message } => write!(f, "HTTP {status}: {message}"),
        }
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    /// The `X-Subject-Token` header (Keystone's token), when present.
    pub subject_token: Option<Secret>,
    /// The body (empty for 204).
    pub body: String,
}

impl Reply {
    /// The body as JSON; `what` names the request in the error.
    pub fn json(&self, what: &str) -> Result<serde_json::Value, HttpError> {
        serde_json::from_str(&self.body).map_err(|e| {
            HttpError::Unavailable(Fault::bad_data(format!(
                "{what}: the answer is not valid JSON ({e})"
            )))
        })
    }
}

/// The HTTP methods the provider uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The HTTP client of one provider.
pub struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Http {
    /// A client whose every request connects within `connect_timeout` and
    /// completes (headers and body) within `timeout`.
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(connect_timeout))
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("scaler/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent, timeout }
    }

    /// Sends one request. `token` goes in `X-Auth-Token`; `body` is sent as
    /// JSON. The URL in messages never carries a secret (tokens travel in
    /// headers only).
    pub fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&Secret>,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, HttpError> {
        let what = format!("{} {url}", method.as_str());
        log::debug!("openstack: {what}");
        let result = match (method, body) {
            (Method::Get, _) => with_headers(self.agent.get(url), token).call(),
            (Method::Delete, _) => with_headers(self.agent.delete(url), token).call(),
            (Method::Post, body) => with_headers(self.agent.post(url), token)
                .content_type("application/json")
                .send(json_text(body)),
            (Method::Put, body) => with_headers(self.agent.put(url), token)
                .content_type("application/json")
                .send(json_text(body)),
        };
        let mut response = result.map_err(|e| self.transport_error(&what, e))?;
        let status = response.status().as_u16();
        let subject_token = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::new);
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| self.transport_error(&what, e))?;
        log::trace!("openstack: {what} -> {status}");
        if (200..300).contains(&status) {
            return Ok(Reply {
                subject_token,
                body,
            });
        }
        let message = error_message(&body).unwrap_or_else(|| status_text(status).to_string());
        if status >= 500 {
            Err(HttpError::Unavailable(Fault::unavailable(format!(
                "{what}: HTTP {status}: {message}"
            ))))
        } else {
            Err(HttpError::Refused { status, message })
        }
    }

    fn transport_error(&self, what: &str, e: ureq::Error) -> HttpError {
        HttpError::Unavailable(Fault::http(&e, self.timeout).context(what))
    }
}

fn with_headers<B>(
    request: ureq::RequestBuilder<B>,
    token: Option<&Secret>,
) -> ureq::RequestBuilder<B> {
    let request = request.header("Accept", "application/json");
    match token {
        Some(token) => request.header("X-Auth-Token", token.expose()),
        None => request,
    }
}

fn json_text(body: Option<&serde_json::Value>) -> String {
    body.map_or_else(|| "{}".to_string(), |b| b.to_string())
}

/// The message of an OpenStack error body: the one top-level key (`badRequest`,
/// `itemNotFound`, `conflictingRequest`, `error`, `NeutronError`, …) holding
/// an object with a `message` (and Keystone's `title`).
pub fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    for (kind, inner) in object {
        let Some(message) = inner.get("message").and_then(|m| m.as_str()) else {
            continue;
        };
        let title = inner
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or(kind.as_str());
        return Some(format!("{title}: {}", message.trim()));
    }
    None
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "error",
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Joins a catalog endpoint and a path (`http://h/v2.1/` + `servers` →
/// `http://h/v2.1/servers`).
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nova_keystone_and_neutron_error_bodies() {
        // Nova: the fault name is the key (compute API reference, "Faults").
        assert_eq!(
            error_message(
                r#"{"badRequest": {"code": 400, "message": "Invalid flavorRef provided."}}"#
            )
            .as_deref(),
            Some("badRequest: Invalid flavorRef provided.")
        );
        assert_eq!(
            error_message(
                r#"{"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}"#
            )
            .as_deref(),
            Some("itemNotFound: Instance x could not be found.")
        );
        // Keystone: {"error": {"code", "message", "title"}}.
        assert_eq!(
            error_message(
                r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#
            )
            .as_deref(),
            Some("Unauthorized: The request you have made requires authentication.")
        );
        // Neutron: {"NeutronError": {"type", "message", "detail"}}.
        assert_eq!(
            error_message(
                r#"{"NeutronError": {"type": "FloatingIPNotFound", "message": "Floating IP f could not be found", "detail": ""}}"#
            )
            .as_deref(),
            Some("NeutronError: Floating IP f could not be found")
        );
        assert_eq!(error_message("<html>502</html>"), None);
        assert_eq!(error_message(r#"{"servers": []}"#), None);
    }

    #[test]
    fn encodes_query_values_and_joins_paths() {
        assert_eq!(encode("^gw-"), "%5Egw-");
        assert_eq!(encode("Debian 12"), "Debian%2012");
        assert_eq!(
            join("http://h:8774/v2.1/", "/servers/detail"),
            "http://h:8774/v2.1/servers/detail"
        );
        assert_eq!(
            join("http://h:9696", "v2.0/ports"),
            "http://h:9696/v2.0/ports"
        );
    }
}
