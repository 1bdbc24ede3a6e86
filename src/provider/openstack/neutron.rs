//! Neutron (networking API v2.0) calls of the OpenStack provider: network
//! names to ids for server creation, and the pool's floating IPs (those
//! whose `description` is the configured one): list them, find a server's
//! port, associate or disassociate an address.

use super::http::{Http, HttpError, Method, encode, join};
use crate::fault::Fault;
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::json;
use std::net::IpAddr;

/// The URL of a v2.0 resource under a network endpoint (catalog entries
/// usually stop before `/v2.0`; some include it).
pub fn url(base: &str, path: &str) -> String {
    if base.trim_end_matches('/').ends_with("/v2.0") {
        join(base, path)
    } else {
        join(base, &format!("v2.0/{path}"))
    }
}

/// One floating IP (networking API, "Floating IPs (floatingips)").
#[derive(Debug, Clone, Deserialize)]
pub struct FloatingIp {
    pub id: String,
    pub floating_ip_address: IpAddr,
    #[serde(default)]
    pub port_id: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
struct FloatingIps {
    floatingips: Vec<FloatingIp>,
}

/// The floating IPs whose description is exactly `description`.
pub fn floating_ips(
    http: &Http,
    token: &Secret,
    base: &str,
    description: &str,
) -> Result<Vec<FloatingIp>, HttpError> {
    let url = url(
        base,
        &format!("floatingips?description={}", encode(description)),
    );
    let reply = http.send(Method::Get, &url, Some(token), None)?;
    let list: FloatingIps = serde_json::from_str(&reply.body).map_err(|e| {
        HttpError::Unavailable(Fault::bad_data(format!(
            "GET {url}: unexpected answer ({e})"
        )))
    })?;
    // The filter is applied again here: a cloud that ignores it must not
    // hand us addresses that are not the pool's.
    Ok(list
        .floatingips
        .into_iter()
        .filter(|f| f.description == description)
        .collect())
}

#[derive(Deserialize)]
struct Ports {
    ports: Vec<Port>,
}

#[derive(Deserialize)]
struct Port {
    id: String,
    #[serde(default)]
    fixed_ips: Vec<FixedIp>,
}

#[derive(Deserialize)]
struct FixedIp {
    ip_address: IpAddr,
}

/// The port of server `device_id` to attach a floating IP to: the one
/// holding `address` (its private address) if any, else its first port.
pub fn port_of(
    http: &Http,
    token: &Secret,
    base: &str,
    device_id: &str,
    address: Option<IpAddr>,
) -> Result<Option<String>, HttpError> {
    let url = url(base, &format!("ports?device_id={}", encode(device_id)));
    let reply = http.send(Method::Get, &url, Some(token), None)?;
    let ports: Ports = serde_json::from_str(&reply.body).map_err(|e| {
        HttpError::Unavailable(Fault::bad_data(format!(
            "GET {url}: unexpected answer ({e})"
        )))
    })?;
    let holding = ports
        .ports
        .iter()
        .find(|p| address.is_some_and(|a| p.fixed_ips.iter().any(|f| f.ip_address == a)));
    Ok(holding.or(ports.ports.first()).map(|p| p.id.clone()))
}

/// Associates floating IP `id` with `port` (`None`: disassociates it).
pub fn set_port(
    http: &Http,
    token: &Secret,
    base: &str,
    id: &str,
    port: Option<&str>,
) -> Result<(), HttpError> {
    let url = url(base, &format!("floatingips/{}", encode(id)));
    let body = json!({ "floatingip": { "port_id": port } });
    http.send(Method::Put, &url, Some(token), Some(&body))
        .map(|_| ())
}

#[derive(Deserialize)]
struct Networks {
    networks: Vec<Network>,
}

#[derive(Deserialize)]
struct Network {
    id: String,
}

/// The ids of the networks named `name` visible to the project.
pub fn network_ids(
    http: &Http,
    token: &Secret,
    base: &str,
    name: &str,
) -> Result<Vec<String>, HttpError> {
    let url = url(base, &format!("networks?name={}", encode(name)));
    let reply = http.send(Method::Get, &url, Some(token), None)?;
    let list: Networks = serde_json::from_str(&reply.body).map_err(|e| {
        HttpError::Unavailable(Fault::bad_data(format!(
            "GET {url}: unexpected answer ({e})"
        )))
    })?;
    Ok(list.networks.into_iter().map(|n| n.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_v2_urls_with_or_without_the_version_in_the_catalog() {
        assert_eq!(
            url("https://network.example/", "floatingips"),
            "https://network.example/v2.0/floatingips"
        );
        assert_eq!(
            url("http://h:9696/v2.0", "ports?device_id=x"),
            "http://h:9696/v2.0/ports?device_id=x"
        );
    }
}
