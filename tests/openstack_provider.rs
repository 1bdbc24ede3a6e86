//! The `openstack` provider, in two parts.
//!
//! **Against real services** (tests `real_*`): the Keystone, Nova (fake
//! virt driver), Glance and Neutron that `scripts/openstack.sh start` runs
//! on 127.0.0.1 (the test command starts it; tests/common/openstack.rs
//! reads its state file and gives each test its own Keystone project and
//! member user, so parallel tests don't share servers or quotas):
//! - `real_password_auth_create_and_list_across_pages_with_the_metadata_filter`:
//!   password auth, creation with flavor, image (by name through Glance),
//!   key pair, metadata and user data (read back as admin), building →
//!   active, listing across pages (`limit`/`marker`, five servers, pages
//!   of two) keeping only `<pool>-` names with the pool's metadata;
//! - `real_application_credential_auth_reads_flavors_and_lists`: an
//!   application credential created through Keystone, then a wrong secret;
//! - `real_catalog_lookup_by_region_and_interface`: the harness points
//!   RegionTwo and the `admin` interface at the closed port 127.0.0.1:9, so
//!   the error names the endpoint chosen; no region with two is an error;
//! - `real_states_error_from_a_flavor_larger_than_the_host_and_deletion`:
//!   a flavor larger than the fake host ends in `error`, deletion, and a
//!   404 on deleting what is gone counts as done.
//!
//! **Against a loopback mock** (every other test), only for what the real
//! stack cannot produce: 5xx answers, hung answers (timeouts), garbage,
//! refused creations with a chosen message, servers with fixed and floating
//! addresses on named networks (the harness's Neutron has no agents and no
//! networks, so real servers get no address), and floating IPs (kept on
//! the mock: that Neutron, given its router plugin, associates a floating
//! IP with an unbound port, but without an agent no mechanism driver binds
//! a port, so Nova puts every fake-driver server asking for a network in
//! `ERROR` with `PortBindingFailed` and no server has a port). The mock is a small
//! OpenStack cloud served by the test itself on 127.0.0.1 (std's
//! TcpListener, one thread per connection): Keystone v3, Nova, Neutron and
//! Glance answer with the bodies their API references document. The server
//! addresses it hands out (192.0.2.x, 198.51.100.x, 203.0.113.x:
//! documentation ranges) are never contacted; every request of these tests
//! goes to 127.0.0.1.
//!
//! References cited below:
//! - Identity API v3, "Password authentication with scoped authorization"
//!   and "Authenticating with an Application Credential": POST
//!   /v3/auth/tokens, 201, token in `X-Subject-Token`, catalog in the body
//!   (keystone api-ref samples auth-password-project-scoped-response.json,
//!   auth-application-credential-response.json); errors as
//!   `{"error": {"code", "message", "title"}}`.
//! - Compute API, "List Servers Detailed" (GET /servers/detail, with
//!   `OS-EXT-STS:vm_state`, `OS-EXT-STS:task_state`, `addresses` entries with
//!   `OS-EXT-IPS:type`, `servers_links` rel `next` when a page is full;
//!   `limit` and `marker` query parameters, "Paginated collections"),
//!   "List Flavors With Details" (GET /flavors/detail), "Create Server"
//!   (POST /servers, 202 with `id`, `links`, `adminPass`), "Delete Server"
//!   (DELETE /servers/{id}, 204), faults as `{"badRequest": {"code",
//!   "message"}}`, `{"itemNotFound": …}`, `{"computeFault": …}`.
//! - Networking API v2.0, "List networks", "List floating IPs", "Update
//!   floating IP" (PUT /v2.0/floatingips/{id} with `port_id`, null to
//!   disassociate), "List ports" (`device_id` filter).
//! - Image API v2, "List images" (`name` filter).

mod common;

use common::*;
use scaler::provider::openstack::{OpenStackConfig, OpenStackProvider};
use scaler::provider::{CreateRequest, InstanceState, Provider, ProviderError};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const TOKEN: &str = "gAAAAABmock-token-never-printed";
const PASSWORD: &str = "os-secret-never-printed";
const PASSWORD_ENV: &str = "SCALER_TEST_OS_PASSWORD";
const EXT_NET: &str = "6f70656e-7374-6163-6b20-657874657274";
const PRIVATE_NET: &str = "0c8c5b0e-4b5a-4c4e-9e8d-1a2b3c4d5e6f";
const IMAGE_ID: &str = "70a599e0-31e7-49b7-b260-868f441e862b";

/// One request the mock received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    query: String,
    token: Option<String>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON request body")
    }
}

/// How the mock answers `GET /servers/detail`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Listing {
    Normal,
    Fail500,
    Hang(Duration),
}

/// The mock cloud's state.
struct State {
    base: String,
    servers: Vec<Value>,
    flavors: Vec<Value>,
    floating_ips: Vec<Value>,
    ports: Vec<Value>,
    received: Vec<Received>,
    listing: Listing,
    refuse_create: bool,
    created: u32,
}

/// A small OpenStack cloud on 127.0.0.1.
struct Cloud {
    base: String,
    state: Arc<Mutex<State>>,
}

impl Cloud {
    fn start() -> Cloud {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            base: base.clone(),
            servers: Vec::new(),
            flavors: flavors(),
            floating_ips: Vec::new(),
            ports: Vec::new(),
            received: Vec::new(),
            listing: Listing::Normal,
            refuse_create: false,
            created: 0,
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Cloud { base, state }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base)
    }

    fn add_server(&self, server: Value) {
        self.state().servers.push(server);
    }

    fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// Requests other than authentication and reads.
    fn changes(&self) -> Vec<(String, String)> {
        self.received()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.path.ends_with("/auth/tokens"))
            .map(|r| (r.method, r.path))
            .collect()
    }

    fn server_ids(&self) -> Vec<String> {
        self.state()
            .servers
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// OVHcloud-like flavors ("List Flavors With Details").
fn flavors() -> Vec<Value> {
    [
        ("906e8259-0340-4856-95b5-4ea2d26fe377", "b2-7", 2, 7000),
        ("a2e4a6d4-8a1b-4d46-8b64-8c3cb8a1a3b3", "b2-15", 4, 15000),
        ("b9a5c7f5-2b7e-4c25-9e1c-5b0d9a1f7e21", "b2-30", 8, 30000),
    ]
    .iter()
    .map(|(id, name, vcpus, ram)| {
        json!({
            "id": id, "name": name, "vcpus": vcpus, "ram": ram, "disk": 50,
            "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false,
            "os-flavor-access:is_public": true, "rxtx_factor": 1.0, "swap": "",
            "links": [{"href": format!("http://openstack.example.com/flavors/{id}"), "rel": "self"}]
        })
    })
    .collect()
}

fn flavor_id(name: &str) -> String {
    flavors()
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["id"].as_str().unwrap().to_string())
        .unwrap()
}

/// A server as "List Servers Detailed" shows it (microversion 2.1).
#[allow(clippy::too_many_arguments)]
fn server(
    id: &str,
    name: &str,
    pool: Option<&str>,
    status: &str,
    vm_state: &str,
    task_state: Option<&str>,
    addresses: Value,
    flavor: &str,
    minutes_ago: i64,
) -> Value {
    let created = (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut metadata = json!({"My Server Name": "Apache1"});
    if let Some(pool) = pool {
        metadata["scaler-pool"] = json!(pool);
    }
    json!({
        "id": id, "name": name, "status": status,
        "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:power_state": 1,
        "accessIPv4": "", "accessIPv6": "",
        "addresses": addresses,
        "created": created, "updated": created,
        "flavor": {"id": flavor_id(flavor), "links": [{"href": "http://openstack.example.com/flavors/x", "rel": "bookmark"}]},
        "hostId": "bcf92836fc9ed4203a75cb0337afc7f917d2be504164b995c2334b25",
        "image": {"id": IMAGE_ID, "links": []},
        "key_name": "scaler",
        "links": [{"href": format!("http://openstack.example.com/v2.1/servers/{id}"), "rel": "self"}],
        "metadata": metadata,
        "progress": 0,
        "tenant_id": "6f70656e737461636b20342065766572",
        "user_id": "fake"
    })
}

fn decode64(text: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("valid base64");
    String::from_utf8(bytes).expect("UTF-8 user data")
}

fn fixed(addr: &str) -> Value {
    json!({"addr": addr, "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "aa:bb:cc:dd:ee:ff"})
}

fn floating(addr: &str) -> Value {
    json!({"addr": addr, "version": 4, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": "aa:bb:cc:dd:ee:ff"})
}

/// Reads one HTTP/1.1 request and answers it (then closes the connection).
fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().expect("a stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut length = 0;
    let mut token = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "x-auth-token" => token = Some(value),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let request = Received {
        method,
        path,
        query,
        token,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (delay, status, headers, body) = {
        let mut state = state.lock().unwrap();
        state.received.push(request.clone());
        answer(&mut state, &request)
    };
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let mut stream = stream;
    let mut response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&body);
    let _ = stream.write_all(response.as_bytes());
}

type Answer = (Option<Duration>, u16, Vec<(String, String)>, String);

fn reply(status: u16, body: Value) -> Answer {
    (None, status, Vec::new(), body.to_string())
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A page of `items` after `marker`, with a `next` link when the page is
/// full (Nova includes one whenever it returned `limit` items).
fn page(state: &State, request: &Received, items: &[Value], key: &str) -> Answer {
    let limit: usize = query_param(&request.query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(1000);
    let start = match query_param(&request.query, "marker") {
        None => 0,
        Some(marker) => match items.iter().position(|s| s["id"] == marker.as_str()) {
            Some(i) => i + 1,
            None => {
                return reply(
                    400,
                    json!({"badRequest": {"code": 400, "message": format!("marker [{marker}] not found")}}),
                );
            }
        },
    };
    let chunk: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let mut body = json!({ key: chunk });
    if chunk.len() == limit {
        let last = chunk.last().unwrap()["id"].as_str().unwrap().to_string();
        let mut query: Vec<String> = request
            .query
            .split('&')
            .filter(|p| !p.starts_with("marker="))
            .map(str::to_string)
            .collect();
        query.push(format!("marker={last}"));
        body[format!("{key}_links")] = json!([{
            "href": format!("{}{}?{}", state.base, request.path, query.join("&")),
            "rel": "next"
        }]);
    }
    reply(200, body)
}

fn unauthorized() -> Answer {
    reply(
        401,
        json!({"error": {"code": 401, "title": "Unauthorized",
            "message": "The request you have made requires authentication."}}),
    )
}

fn catalog(base: &str) -> Value {
    let endpoints = |region: &str, url: String| {
        json!([
            {"region_id": region, "url": url, "region": region, "interface": "public", "id": format!("{region}-public")},
            {"region_id": region, "url": "http://127.0.0.1:9/internal-never-used", "region": region, "interface": "internal", "id": format!("{region}-internal")}
        ])
    };
    let mut compute = endpoints("RegionOne", format!("{base}/compute/v2.1"));
    compute.as_array_mut().unwrap().extend(
        endpoints("RegionTwo", format!("{base}/other-region/v2.1"))
            .as_array()
            .unwrap()
            .clone(),
    );
    json!([
        {"type": "identity", "id": "050726f278654128aba89757ae25950c", "name": "keystone",
         "endpoints": endpoints("RegionOne", format!("{base}/identity"))},
        {"type": "compute", "id": "a226b3eeb5594f50bf8b6df94636ed28", "name": "nova", "endpoints": compute},
        {"type": "network", "id": "67b993549db94296a853d635b48db3c9", "name": "neutron",
         "endpoints": endpoints("RegionOne", format!("{base}/network/"))},
        {"type": "image", "id": "d512f8860c0f45cf99b1c3cef86cfd97", "name": "glance",
         "endpoints": endpoints("RegionOne", format!("{base}/image"))}
    ])
}

fn answer(state: &mut State, request: &Received) -> Answer {
    let method = request.method.as_str();
    let path = request.path.as_str();
    if path == "/identity/v3/auth/tokens" && method == "POST" {
        return issue_token(state, request);
    }
    if request.token.as_deref() != Some(TOKEN) {
        return unauthorized();
    }
    match (method, path) {
        ("GET", "/compute/v2.1/flavors/detail") => {
            let flavors = state.flavors.clone();
            page(state, request, &flavors, "flavors")
        }
        ("GET", "/compute/v2.1/servers/detail") => list_servers(state, request),
        ("POST", "/compute/v2.1/servers") => create_server(state, request),
        ("DELETE", p) if p.starts_with("/compute/v2.1/servers/") => {
            let id = p.trim_start_matches("/compute/v2.1/servers/");
            let before = state.servers.len();
            state.servers.retain(|s| s["id"] != id);
            if state.servers.len() == before {
                return not_found(&format!("Instance {id}"));
            }
            (None, 204, Vec::new(), String::new())
        }
        ("GET", "/network/v2.0/networks") => {
            let name = query_param(&request.query, "name").unwrap_or_default();
            let networks: Vec<Value> = [("Ext-Net", EXT_NET), ("private", PRIVATE_NET)]
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(n, id)| json!({"id": id, "name": n, "status": "ACTIVE", "admin_state_up": true, "shared": true}))
                .collect();
            reply(200, json!({ "networks": networks }))
        }
        ("GET", "/network/v2.0/floatingips") => {
            let description = query_param(&request.query, "description").unwrap_or_default();
            let list: Vec<Value> = state
                .floating_ips
                .iter()
                .filter(|f| f["description"] == description.as_str())
                .cloned()
                .collect();
            reply(200, json!({ "floatingips": list }))
        }
        ("GET", "/network/v2.0/ports") => {
            let device = query_param(&request.query, "device_id").unwrap_or_default();
            let list: Vec<Value> = state
                .ports
                .iter()
                .filter(|p| p["device_id"] == device.as_str())
                .cloned()
                .collect();
            reply(200, json!({ "ports": list }))
        }
        ("PUT", p) if p.starts_with("/network/v2.0/floatingips/") => {
            let id = p.trim_start_matches("/network/v2.0/floatingips/");
            update_floating_ip(state, request, id)
        }
        ("GET", "/image/v2/images") => list_images(request),
        _ => not_found(&format!("{method} {path}")),
    }
}

/// Nova's 404 fault for `what`.
fn not_found(what: &str) -> Answer {
    reply(
        404,
        json!({"itemNotFound": {"code": 404, "message": format!("{what} could not be found.")}}),
    )
}

/// Keystone's `POST /v3/auth/tokens`: a token for the right password only.
fn issue_token(state: &State, request: &Received) -> Answer {
    let body = request.json();
    let identity = &body["auth"]["identity"];
    let ok = match identity["methods"][0].as_str() {
        Some("password") => identity["password"]["user"]["password"] == PASSWORD,
        _ => false,
    };
    if !ok {
        return unauthorized();
    }
    let token = json!({"token": {
        "methods": identity["methods"], "expires_at": "2099-11-07T02:58:43.578887Z",
        "issued_at": "2026-11-07T01:58:43.578887Z", "audit_ids": ["3T2dc1CGQxyJsHdDu1xkcw"],
        "project": {"domain": {"id": "default", "name": "Default"}, "id": "a6944d763bf64ee6a275f1263fae0352", "name": "admin"},
        "user": {"domain": {"id": "default", "name": "Default"}, "id": "ee4dfb6e5540447cb3741905149d9b6e", "name": "admin"},
        "roles": [{"id": "51cc68287d524c759f47c811e6463340", "name": "member"}],
        "is_domain": false,
        "catalog": catalog(&state.base)
    }});
    (
        None,
        201,
        vec![("X-Subject-Token".into(), TOKEN.into())],
        token.to_string(),
    )
}

/// Nova's `GET /servers/detail`, as `state.listing` says.
fn list_servers(state: &State, request: &Received) -> Answer {
    match state.listing {
        Listing::Fail500 => reply(
            500,
            json!({"computeFault": {"code": 500, "message": "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible."}}),
        ),
        Listing::Hang(delay) => (
            Some(delay),
            200,
            Vec::new(),
            json!({"servers": []}).to_string(),
        ),
        Listing::Normal => {
            // `name` is a regular expression; the tests only use `^prefix`.
            let name = query_param(&request.query, "name").unwrap_or_default();
            let prefix = name.trim_start_matches('^').to_string();
            let servers: Vec<Value> = state
                .servers
                .iter()
                .filter(|s| s["name"].as_str().unwrap().starts_with(&prefix))
                .cloned()
                .collect();
            page(state, request, &servers, "servers")
        }
    }
}

/// Nova's `POST /servers`: a building server, or the refusal when set.
fn create_server(state: &mut State, request: &Received) -> Answer {
    if state.refuse_create {
        return reply(
            400,
            json!({"badRequest": {"code": 400, "message": "Flavor's disk is too small for requested image."}}),
        );
    }
    state.created += 1;
    let id = format!("00000000-0000-4000-8000-{:012}", state.created);
    let body = request.json();
    let requested = &body["server"];
    let flavor = state
        .flavors
        .iter()
        .find(|f| f["id"] == requested["flavorRef"])
        .map(|f| f["name"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "b2-7".into());
    let mut created = server(
        &id,
        requested["name"].as_str().unwrap(),
        None,
        "BUILD",
        "building",
        Some("scheduling"),
        json!({}),
        &flavor,
        0,
    );
    created["metadata"] = requested["metadata"].clone();
    state.servers.push(created);
    reply(
        202,
        json!({"server": {
            "id": id, "adminPass": "6NpUwoz2QDRN", "OS-DCF:diskConfig": "AUTO",
            "links": [{"href": format!("http://openstack.example.com/v2.1/servers/{id}"), "rel": "self"}],
            "security_groups": [{"name": "default"}]
        }}),
    )
}

/// Neutron's `PUT /v2.0/floatingips/{id}`, shown in the servers' addresses.
fn update_floating_ip(state: &mut State, request: &Received, id: &str) -> Answer {
    let port_id = request.json()["floatingip"]["port_id"].clone();
    let Some(index) = state.floating_ips.iter().position(|f| f["id"] == id) else {
        return reply(
            404,
            json!({"NeutronError": {"type": "FloatingIPNotFound", "message": format!("Floating IP {id} could not be found"), "detail": ""}}),
        );
    };
    let address = state.floating_ips[index]["floating_ip_address"].clone();
    // Nova shows the association in the server's addresses.
    for server in &mut state.servers {
        // (`get_mut`: indexing a missing key would insert a null.)
        let list = server
            .get_mut("addresses")
            .and_then(|a| a.get_mut("private"));
        if let Some(list) = list.and_then(|l| l.as_array_mut()) {
            list.retain(|a| a["addr"] != address);
        }
    }
    if let Some(port) = port_id.as_str() {
        let device = state
            .ports
            .iter()
            .find(|p| p["id"] == port)
            .map(|p| p["device_id"].clone());
        if let Some(server) = state
            .servers
            .iter_mut()
            .find(|s| Some(&s["id"]) == device.as_ref())
        {
            server["addresses"]["private"]
                .as_array_mut()
                .unwrap()
                .push(floating(address.as_str().unwrap()));
        }
    }
    state.floating_ips[index]["port_id"] = port_id;
    let updated = state.floating_ips[index].clone();
    reply(200, json!({ "floatingip": updated }))
}

/// Glance's `GET /v2/images`: only "Debian 12" exists.
fn list_images(request: &Received) -> Answer {
    let name = query_param(&request.query, "name").unwrap_or_default();
    let images: Vec<Value> = if name == "Debian 12" {
        vec![
            json!({"id": IMAGE_ID, "name": "Debian 12", "status": "active", "visibility": "public"}),
        ]
    } else {
        Vec::new()
    };
    reply(
        200,
        json!({ "images": images, "first": "/v2/images", "schema": "/v2/schemas/images" }),
    )
}

/// A provider section for `cloud`, password authentication.
fn provider_section(cloud: &Cloud, extra: &str) -> String {
    format!(
        r#"[provider]
kind = "openstack"
auth_url = "{auth}"
region = "RegionOne"
interface = "public"
username = "admin"
user_domain_name = "Default"
project_name = "admin"
project_domain_name = "Default"
password_env = "{PASSWORD_ENV}"
image = "Debian 12"
networks = ["Ext-Net"]
public_network = "Ext-Net"
key_name = "scaler"
security_groups = ["default", "sip"]
metadata = {{ role = "sip" }}
connect_timeout = "2s"
timeout = "2s"
{extra}
"#,
        auth = cloud.auth_url()
    )
}

/// A provider built in-process (no environment variables involved).
fn provider(cloud: &Cloud, pool: &str, extra: &str) -> OpenStackProvider {
    let text = provider_section(cloud, extra)
        .replace("[provider]\n", "")
        .replace(
            &format!("password_env = \"{PASSWORD_ENV}\""),
            &format!("password = \"{PASSWORD}\""),
        );
    let mut config: OpenStackConfig = toml::from_str(&text).expect("valid provider section");
    config
        .prepare(std::path::Path::new("/"), pool)
        .expect("valid provider section");
    OpenStackProvider::with_env(pool, config, &|_| None).expect("credentials")
}

/// Five servers of pool `gw` (one being deleted), one of another pool and
/// one with the right name but without the pool's metadata.
fn populate(cloud: &Cloud) {
    let ext = |a: &str| json!({"Ext-Net": [fixed(a)]});
    cloud.add_server(server(
        "11111111-0000-4000-8000-000000000001",
        "gw-20260101000000-0",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        ext("198.51.100.1"),
        "b2-15",
        60,
    ));
    cloud.add_server(server(
        "11111111-0000-4000-8000-000000000002",
        "gw-20260101000000-1",
        Some("gw"),
        "BUILD",
        "building",
        Some("spawning"),
        json!({}),
        "b2-30",
        1,
    ));
    cloud.add_server(server(
        "11111111-0000-4000-8000-000000000003",
        "gw-20260101000000-2",
        Some("gw"),
        "ERROR",
        "error",
        None,
        json!({}),
        "b2-15",
        30,
    ));
    cloud.add_server(server(
        "22222222-0000-4000-8000-000000000001",
        "other-20260101000000-0",
        Some("other"),
        "ERROR",
        "error",
        None,
        json!({}),
        "b2-15",
        30,
    ));
    cloud.add_server(server(
        "11111111-0000-4000-8000-000000000004",
        "gw-20260101000000-3",
        Some("gw"),
        "ACTIVE",
        "active",
        Some("deleting"),
        ext("198.51.100.4"),
        "b2-15",
        90,
    ));
    cloud.add_server(server(
        "11111111-0000-4000-8000-000000000005",
        "gw-manual",
        None,
        "ERROR",
        "error",
        None,
        json!({}),
        "b2-15",
        30,
    ));
    cloud.add_server(server(
        "11111111-0000-4000-8000-000000000006",
        "gw-20260101000000-4",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        json!({"private": [fixed("192.0.2.6"), floating("203.0.113.6")]}),
        "b2-7",
        45,
    ));
}

/// Checks the listing of `populate`'s pool: names, states, addresses, vCPUs, flavors.
fn assert_populated_listing(list: &[scaler::provider::Instance]) {
    // (name, state, private, public, vCPUs, flavor)
    type Row = (
        String,
        InstanceState,
        Option<String>,
        Option<String>,
        u32,
        Option<String>,
    );
    let summary: Vec<Row> = list
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.state,
                i.private_ip.map(|ip| ip.to_string()),
                i.public_ip.map(|ip| ip.to_string()),
                i.vcpus,
                i.instance_type.clone(),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        summary,
        [
            (
                "gw-20260101000000-0".into(),
                InstanceState::Active,
                s("198.51.100.1"),
                s("198.51.100.1"),
                4,
                s("b2-15")
            ),
            (
                "gw-20260101000000-1".into(),
                InstanceState::Building,
                None,
                None,
                8,
                s("b2-30")
            ),
            (
                "gw-20260101000000-2".into(),
                InstanceState::Error,
                None,
                None,
                4,
                s("b2-15")
            ),
            (
                "gw-20260101000000-4".into(),
                InstanceState::Active,
                s("192.0.2.6"),
                s("203.0.113.6"),
                2,
                s("b2-7")
            ),
        ]
    );
}

/// Checks one token for the run (password and scope as the reference
/// shows), then every request with the token on RegionOne's endpoints.
fn assert_one_token_then_region_one(received: &[Received]) {
    // One token for the run, the password in the request as the reference shows.
    let auth: Vec<&Received> = received
        .iter()
        .filter(|r| r.path.ends_with("/auth/tokens"))
        .collect();
    assert_eq!(auth.len(), 1);
    assert_eq!(
        auth[0].json()["auth"]["identity"]["password"]["user"],
        json!({"name": "admin", "domain": {"name": "Default"}, "password": PASSWORD})
    );
    assert_eq!(
        auth[0].json()["auth"]["scope"],
        json!({"project": {"name": "admin", "domain": {"name": "Default"}}})
    );
    // Every other request carries the token and goes to RegionOne's public endpoints.
    assert!(
        received
            .iter()
            .filter(|r| !r.path.ends_with("/auth/tokens"))
            .all(|r| r.token.as_deref() == Some(TOKEN))
    );
    assert!(
        received
            .iter()
            .all(|r| !r.path.starts_with("/other-region"))
    );
}

#[test]
fn password_auth_catalog_and_pagination_over_several_pages() {
    let cloud = Cloud::start();
    populate(&cloud);
    let mut p = provider(&cloud, "gw", "page_size = 2");
    let list = p.list().expect("listing");
    assert_populated_listing(&list);
    let received = cloud.received();
    assert_one_token_then_region_one(&received);
    // Six matching names, two per page: three full pages, then an empty one.
    let pages: Vec<String> = received
        .iter()
        .filter(|r| r.path == "/compute/v2.1/servers/detail")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert_eq!(pages[0], "name=%5Egw-&limit=2");
    assert!(
        pages[1].ends_with("&marker=11111111-0000-4000-8000-000000000002"),
        "{pages:?}"
    );
    assert!(
        pages[2].ends_with("&marker=11111111-0000-4000-8000-000000000004"),
        "{pages:?}"
    );
    assert!(
        pages[3].ends_with("&marker=11111111-0000-4000-8000-000000000006"),
        "{pages:?}"
    );
    // Flavors: one paginated read for the run (three flavors, two per page).
    let flavor_pages = received
        .iter()
        .filter(|r| r.path.ends_with("/flavors/detail"))
        .count();
    assert_eq!(flavor_pages, 2);
    p.list().unwrap();
    assert_eq!(
        cloud
            .received()
            .iter()
            .filter(|r| r.path.ends_with("/auth/tokens") || r.path.ends_with("/flavors/detail"))
            .count(),
        3,
        "the token and the flavors are kept for the run"
    );
    assert_eq!(p.provider_instance_types().unwrap(), Default::default());
}

/// A wrong password: Keystone's 401 message, never the password.
fn assert_wrong_password_is_refused(cloud: &Cloud) {
    let text = provider_section(cloud, "")
        .replace("[provider]\n", "")
        .replace(
            &format!("password_env = \"{PASSWORD_ENV}\""),
            "password = \"wrong-password\"",
        );
    let config: OpenStackConfig = toml::from_str(&text).unwrap();
    let mut wrong = OpenStackProvider::with_env("gw", config, &|_| None).unwrap();
    let err = wrong.list().unwrap_err();
    assert!(matches!(err, ProviderError::Auth(_)), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("Keystone refused the credentials")
            && err.contains("Unauthorized: The request you have made requires authentication."),
        "{err}"
    );
    assert!(!err.contains("wrong-password"), "{err}");
}

#[test]
fn refused_credentials_and_ambiguous_regions_are_clear_errors() {
    let cloud = Cloud::start();
    let mut p = provider(&cloud, "gw", "");
    assert_wrong_password_is_refused(&cloud);
    // No region while the catalog offers two.
    let text = provider_section(&cloud, "")
        .replace("[provider]\n", "")
        .replace("region = \"RegionOne\"\n", "")
        .replace(
            &format!("password_env = \"{PASSWORD_ENV}\""),
            &format!("password = \"{PASSWORD}\""),
        );
    let config: OpenStackConfig = toml::from_str(&text).unwrap();
    let mut ambiguous = OpenStackProvider::with_env("gw", config, &|_| None).unwrap();
    let err = ambiguous.list().unwrap_err();
    assert!(matches!(err, ProviderError::Config(_)), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("RegionOne, RegionTwo") && err.contains("provider.region"),
        "{err}"
    );
    // The good one still works.
    assert!(p.list().unwrap().is_empty());
}

/// Checks the `POST /servers` body: rendered user data, flavor, image, networks, metadata.
fn assert_create_request(cloud: &Cloud) {
    let post = cloud
        .received()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/compute/v2.1/servers")
        .unwrap();
    // user_data: the template rendered for this server, base64-encoded.
    let mut body = post.json();
    let user_data = body["server"]
        .as_object_mut()
        .unwrap()
        .remove("user_data")
        .expect("user_data is sent");
    assert_eq!(
        decode64(user_data.as_str().unwrap()),
        "#!/bin/sh\necho sip > /etc/role\nhostname gw-20260101000000-0\n"
    );
    assert_eq!(
        body,
        json!({"server": {
            "name": "gw-20260101000000-0",
            "flavorRef": flavor_id("b2-15"),
            "imageRef": IMAGE_ID,
            "networks": [{"uuid": EXT_NET}],
            "key_name": "scaler",
            "security_groups": [{"name": "default"}, {"name": "sip"}],
            "availability_zone": "nova",
            "metadata": {"role": "sip", "scaler-pool": "gw"}
        }})
    );
}

#[test]
fn create_sends_name_flavor_image_networks_metadata_and_delete_removes() {
    let cloud = Cloud::start();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("init.sh");
    std::fs::write(
        &template,
        "#!/bin/sh\necho {{role}} > /etc/role\nhostname {{instance_name}}\n",
    )
    .unwrap();
    let extra = format!(
        "availability_zone = \"nova\"\nuser_data_template = {:?}\nuser_data_vars = {{ role = \"sip\" }}",
        template.display().to_string()
    );
    let mut p = provider(&cloud, "gw", &extra);
    let created = p
        .create(&CreateRequest {
            name: "gw-20260101000000-0".into(),
            instance_type: "b2-15".into(),
            vcpus: 4,
        })
        .expect("created");
    assert_eq!(created.state, InstanceState::Building);
    assert_eq!(created.id, "00000000-0000-4000-8000-000000000001");
    assert_create_request(&cloud);
    // The new server is found by the next listing.
    let listed = p.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].state, listed[0].vcpus),
        (InstanceState::Building, 4)
    );
    p.destroy(&listed[0]).expect("deleted");
    assert!(cloud.server_ids().is_empty());
    // Deleting it again: Nova's 404 means it is already gone.
    p.destroy(&listed[0]).expect("already gone is done");
    assert_eq!(
        cloud.changes(),
        [
            ("POST".into(), "/compute/v2.1/servers".into()),
            (
                "DELETE".into(),
                format!("/compute/v2.1/servers/{}", created.id)
            ),
            (
                "DELETE".into(),
                format!("/compute/v2.1/servers/{}", created.id)
            ),
        ]
    );
    // Names outside the pool are refused before any request.
    let err = p
        .create(&CreateRequest {
            name: "other-1-0".into(),
            instance_type: "b2-15".into(),
            vcpus: 4,
        })
        .unwrap_err();
    assert!(err.message().contains("outside pool gw"), "{err}");
    assert!(matches!(err, ProviderError::Rejected(_)), "{err:?}");
}

/// Four servers (one holding 203.0.113.10, one building), their ports and
/// three floating IPs (two of the pool's description, one free).
fn populate_floating(cloud: &Cloud) {
    let private = |a: &str| json!({"private": [fixed(a)]});
    let mut with_fip = private("192.0.2.1");
    with_fip["private"]
        .as_array_mut()
        .unwrap()
        .push(floating("203.0.113.10"));
    cloud.add_server(server(
        "33333333-0000-4000-8000-000000000001",
        "gw-20260101000000-0",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        with_fip,
        "b2-15",
        60,
    ));
    cloud.add_server(server(
        "33333333-0000-4000-8000-000000000002",
        "gw-20260101000000-1",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        private("192.0.2.2"),
        "b2-15",
        50,
    ));
    cloud.add_server(server(
        "33333333-0000-4000-8000-000000000003",
        "gw-20260101000000-2",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        private("192.0.2.3"),
        "b2-15",
        40,
    ));
    cloud.add_server(server(
        "33333333-0000-4000-8000-000000000004",
        "gw-20260101000000-3",
        Some("gw"),
        "BUILD",
        "building",
        Some("spawning"),
        json!({}),
        "b2-15",
        1,
    ));
    {
        let mut state = cloud.state();
        for (n, ip) in [(1, "192.0.2.1"), (2, "192.0.2.2"), (3, "192.0.2.3")] {
            state.ports.push(json!({
                "id": format!("port-{n}"), "device_id": format!("33333333-0000-4000-8000-00000000000{n}"),
                "network_id": PRIVATE_NET, "fixed_ips": [{"subnet_id": "a0304c3a", "ip_address": ip}]
            }));
        }
        let fip = |id: &str, ip: &str, port: Option<&str>, description: &str| {
            json!({"id": id, "floating_ip_address": ip, "port_id": port, "description": description,
                   "floating_network_id": EXT_NET, "status": "ACTIVE", "router_id": null, "fixed_ip_address": null})
        };
        state.floating_ips = vec![
            fip("fip-10", "203.0.113.10", Some("port-1"), "gw-pool"),
            fip("fip-11", "203.0.113.11", None, "gw-pool"),
            fip("fip-12", "203.0.113.12", None, "someone-else"),
        ];
    }
}

#[test]
fn floating_ips_move_from_destroyed_servers_and_free_ones_are_attached() {
    let cloud = Cloud::start();
    populate_floating(&cloud);
    let mut p = provider(&cloud, "gw", "floating_ip_description = \"gw-pool\"");
    let list = p.list().unwrap();
    assert_eq!(list[0].public_ip, Some("203.0.113.10".parse().unwrap()));
    // Destroying the server holding 203.0.113.10 moves it to the oldest
    // active server without one (gw-…-1), then deletes the server.
    p.destroy(&list[0]).unwrap();
    // The free pool address goes to the next one; the building server and
    // the address of another description are left alone.
    let settled = p.settle();
    assert_eq!(
        settled.notes,
        [
            "floating IP 203.0.113.10 moved from gw-20260101000000-0 to gw-20260101000000-1",
            "floating IP 203.0.113.11 attached to gw-20260101000000-2",
        ]
    );
    assert!(settled.errors.is_empty(), "{settled:?}");
    assert_eq!(
        cloud.changes(),
        [
            ("PUT".into(), "/network/v2.0/floatingips/fip-10".into()),
            ("PUT".into(), "/network/v2.0/floatingips/fip-10".into()),
            (
                "DELETE".into(),
                "/compute/v2.1/servers/33333333-0000-4000-8000-000000000001".into()
            ),
            ("PUT".into(), "/network/v2.0/floatingips/fip-11".into()),
        ]
    );
    let puts: Vec<Value> = cloud
        .received()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.json())
        .collect();
    assert_eq!(
        puts,
        [
            json!({"floatingip": {"port_id": null}}),
            json!({"floatingip": {"port_id": "port-2"}}),
            json!({"floatingip": {"port_id": "port-3"}}),
        ]
    );
    // The next run sees every active server with its public address.
    let mut next = provider(&cloud, "gw", "floating_ip_description = \"gw-pool\"");
    let publics: Vec<Option<String>> = next
        .list()
        .unwrap()
        .iter()
        .map(|i| i.public_ip.map(|ip| ip.to_string()))
        .collect();
    assert_eq!(
        publics,
        [
            Some("203.0.113.10".into()),
            Some("203.0.113.11".into()),
            None
        ]
    );
    assert!(
        next.settle().notes.is_empty(),
        "no free address left for the building server"
    );
}

// ---- Whole passes of the binary: a SIP pool (MariaDB) on the mock cloud ----

/// A SIP pool configuration over `db` and `cloud`.
fn pass_config(
    ws: &Workspace,
    db: &Kamailio,
    cloud: &Cloud,
    slot: &str,
    provider_extra: &str,
) -> String {
    ws.config(&format!(
        r#"[pool]
name = "gw"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4
register_timeout = "10m"

[schedule]
[schedule.default]
"00:00" = {slot}

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

{provider}"#,
        sip = db.sip_section(),
        provider = provider_section(cloud, provider_extra),
    ))
}

fn run_scaler(config: &str, args: &[&str]) -> Run {
    let mut all = vec!["-c", config, "--format", "json", "-vv"];
    all.extend_from_slice(args);
    // NO_PROXY: a proxy set in the caller's environment must not see this traffic.
    let run = scaler_with_env(
        &all,
        &[
            (PASSWORD_ENV, PASSWORD),
            ("NO_PROXY", "127.0.0.1"),
            ("no_proxy", "127.0.0.1"),
        ],
    );
    for secret in [PASSWORD, TOKEN] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

const IDLE1: &str = "{ idle_min = 1, load_max = 1.0, max_gateways = 10 }";

#[test]
fn cleanup_destroys_the_server_in_error_only() {
    let cloud = Cloud::start();
    populate(&cloud);
    let ws = Workspace::new();
    let mut db = Kamailio::new("os_clean");
    // The active servers serve: their gateways are registered.
    db.register("198.51.100.1", 0, false, false);
    db.register("203.0.113.6", 0, false, false);
    let config = pass_config(&ws, &db, &cloud, IDLE1, "flavors = [\"b2-7\", \"b2-15\"]");
    let run = run_scaler(&config, &["cleanup"]).expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["instances"]["total"], 4, "{json}");
    assert_eq!(json["observed"]["instances"]["error"], 1);
    assert_eq!(json["observed"]["instances"]["building"], 1);
    assert_eq!(
        run.actions(),
        [("destroy".into(), "done".into(), "error_state".into())]
    );
    assert_eq!(
        json["actions"][0]["instance"],
        "11111111-0000-4000-8000-000000000003"
    );
    assert_eq!(json["actions"][0]["instance_type"], "b2-15");
    assert_eq!(
        cloud.changes(),
        [(
            "DELETE".into(),
            "/compute/v2.1/servers/11111111-0000-4000-8000-000000000003".into()
        )]
    );
    // Another pool's server in error and the untagged one are untouched.
    let ids = cloud.server_ids();
    assert!(ids.contains(&"22222222-0000-4000-8000-000000000001".to_string()));
    assert!(ids.contains(&"11111111-0000-4000-8000-000000000005".to_string()));
}

#[test]
fn run_attaches_free_floating_ips_and_plan_does_not() {
    let cloud = Cloud::start();
    let private = |a: &str| json!({"private": [fixed(a)]});
    cloud.add_server(server(
        "44444444-0000-4000-8000-000000000001",
        "gw-20260101000000-0",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        private("192.0.2.1"),
        "b2-15",
        5,
    ));
    cloud.add_server(server(
        "44444444-0000-4000-8000-000000000002",
        "gw-20260101000000-1",
        Some("gw"),
        "ACTIVE",
        "active",
        None,
        private("192.0.2.2"),
        "b2-15",
        4,
    ));
    {
        let mut state = cloud.state();
        // Only the first server has a port: attaching to the second fails.
        state.ports.push(json!({"id": "port-1", "device_id": "44444444-0000-4000-8000-000000000001",
            "network_id": PRIVATE_NET, "fixed_ips": [{"subnet_id": "a0304c3a", "ip_address": "192.0.2.1"}]}));
        for (id, ip) in [("fip-20", "203.0.113.20"), ("fip-21", "203.0.113.21")] {
            state
                .floating_ips
                .push(json!({"id": id, "floating_ip_address": ip, "port_id": null,
                "description": "gw-pool", "floating_network_id": EXT_NET, "status": "DOWN"}));
        }
    }
    let ws = Workspace::new();
    let mut db = Kamailio::new("os_fip");
    db.register("192.0.2.1", 0, false, false);
    db.register("192.0.2.2", 0, false, false);
    let slot = "{ idle_min = 0, load_max = 1.0, max_gateways = 2, min_gateways = 2 }";
    let config = pass_config(
        &ws,
        &db,
        &cloud,
        slot,
        "instance_types = { b2-15 = 4 }\nfloating_ip_description = \"gw-pool\"",
    );
    let run = run_scaler(&config, &["plan"]).expect(0);
    assert!(
        run.json()["notes"].as_array().is_none_or(|n| n.is_empty()),
        "{}",
        run.stdout
    );
    let run = run_scaler(&config, &["run", "--dry-run"]).expect(0);
    assert!(run.actions().is_empty());
    assert!(
        cloud.changes().is_empty(),
        "plan and dry runs change nothing"
    );
    // A real run attaches one address and reports the failure of the other.
    let run = run_scaler(&config, &["run"]).expect(3);
    let json = run.json();
    assert!(run.actions().is_empty(), "{json}");
    assert_eq!(
        json["notes"],
        json!(["floating IP 203.0.113.20 attached to gw-20260101000000-0"])
    );
    let errors = json["errors"].to_string();
    assert!(
        errors.contains("floating IP 203.0.113.21 for gw-20260101000000-1")
            && errors.contains("has no port"),
        "{errors}"
    );
    assert_eq!(
        cloud.changes(),
        [("PUT".into(), "/network/v2.0/floatingips/fip-20".into())]
    );
}

#[test]
fn a_pass_creates_with_the_flavor_read_from_nova() {
    let cloud = Cloud::start();
    let ws = Workspace::new();
    let db = Kamailio::new("os_create");
    // A template next to the configuration, named relative to it.
    std::fs::write(
        ws.path("gateway-init.sh"),
        "ROLE={{role}} SIP={{sip_server}} NAME={{instance_name}} POOL={{pool}}\n",
    )
    .unwrap();
    let config = pass_config(
        &ws,
        &db,
        &cloud,
        IDLE1,
        "flavors = [\"b2-7\", \"b2-15\"]\nuser_data_template = \"gateway-init.sh\"\n\
         user_data_vars = { role = \"sip\", sip_server = \"sip.example.org\" }",
    );
    let run = run_scaler(&config, &["run"]).expect(0);
    let json = run.json();
    assert_eq!(
        run.actions(),
        [("create".into(), "done".into(), "scale_up".into())]
    );
    // cpu_per_gateway = 4: b2-7 (2 vCPUs) cannot hold a gateway, b2-15 (4) can.
    assert_eq!(json["actions"][0]["instance_type"], "b2-15");
    assert_eq!(json["actions"][0]["vcpus"], 4);
    assert_eq!(
        json["actions"][0]["instance"],
        "00000000-0000-4000-8000-000000000001"
    );
    let post = cloud
        .received()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/servers"))
        .unwrap();
    let server = &post.json()["server"];
    assert!(
        server["name"].as_str().unwrap().starts_with("gw-"),
        "{server}"
    );
    assert_eq!(server["flavorRef"], flavor_id("b2-15").as_str());
    assert_eq!(server["metadata"]["scaler-pool"], "gw");
    let name = server["name"].as_str().unwrap();
    assert_eq!(
        decode64(server["user_data"].as_str().unwrap()),
        format!("ROLE=sip SIP=sip.example.org NAME={name} POOL=gw\n")
    );
    // The next minute it is pending: no second creation.
    let run = run_scaler(&config, &["run"]).expect(0);
    assert_eq!(run.json()["observed"]["gateways"]["pending"], 1);
    assert!(run.actions().is_empty());
    assert_eq!(cloud.server_ids().len(), 1);
    // check lists the flavors it read.
    let run = scaler_with_env(&["-c", &config, "check"], &[(PASSWORD_ENV, PASSWORD)]).expect(0);
    assert!(run.stdout.contains("b2-15 = 4 vCPUs"), "{}", run.stdout);
}

#[test]
fn a_refused_creation_exits_3_with_novas_message() {
    let cloud = Cloud::start();
    cloud.state().refuse_create = true;
    let ws = Workspace::new();
    let db = Kamailio::new("os_refuse");
    let config = pass_config(&ws, &db, &cloud, IDLE1, "flavors = [\"b2-15\"]");
    let run = run_scaler(&config, &["run"]).expect(3);
    let json = run.json();
    assert_eq!(
        run.actions(),
        [("create".into(), "failed".into(), "scale_up".into())]
    );
    let error = json["actions"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 400")
            && error.contains("badRequest: Flavor's disk is too small for requested image."),
        "{error}"
    );
    assert_eq!(json["exit_code"], 3);
}

#[test]
fn a_listing_error_or_timeout_exits_69_and_changes_nothing() {
    for listing in [Listing::Fail500, Listing::Hang(Duration::from_secs(5))] {
        let cloud = Cloud::start();
        populate(&cloud);
        cloud.state().listing = listing;
        let ws = Workspace::new();
        let db = Kamailio::new("os_down");
        let config = pass_config(&ws, &db, &cloud, IDLE1, "instance_types = { b2-15 = 4 }");
        for command in ["run", "cleanup"] {
            let run = run_scaler(&config, &[command]).expect(69);
            let json = run.json();
            let error = json["errors"][0].as_str().unwrap();
            match listing {
                Listing::Fail500 => assert!(
                    error.contains("HTTP 500")
                        && error.contains("computeFault: Unexpected API Error"),
                    "{error}"
                ),
                _ => assert!(error.contains("no answer within 2s"), "{error}"),
            }
            assert!(run.actions().is_empty());
        }
        assert!(cloud.changes().is_empty(), "{:?}", cloud.changes());
        assert_eq!(cloud.server_ids().len(), 7);
    }
}

#[test]
fn missing_credentials_and_unknown_flavors_are_configuration_errors() {
    let cloud = Cloud::start();
    let ws = Workspace::new();
    let db = Kamailio::new("os_config");
    let config = pass_config(&ws, &db, &cloud, IDLE1, "flavors = [\"b2-15\"]");
    // The password variable is not set.
    let run = scaler_with_env(&["-c", &config, "plan"], &[]).expect(78);
    assert!(run.stderr.contains(PASSWORD_ENV), "{}", run.stderr);
    // A flavor Nova does not have.
    let config = pass_config(&ws, &db, &cloud, IDLE1, "flavors = [\"b3-8\"]");
    let run = run_scaler(&config, &["plan"]).expect(78);
    assert!(
        run.stderr.contains("no flavor named \"b3-8\""),
        "{}",
        run.stderr
    );
    // Neither instance types nor flavors.
    let config = pass_config(&ws, &db, &cloud, IDLE1, "");
    let run = run_scaler(&config, &["plan"]).expect(78);
    assert!(
        run.stderr.contains("at least one instance type"),
        "{}",
        run.stderr
    );
    // An unknown key names itself.
    let config = pass_config(&ws, &db, &cloud, IDLE1, "flavour = [\"b2-15\"]");
    let run = run_scaler(&config, &["plan"]).expect(78);
    assert!(run.stderr.contains("flavour"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// Against the real services of scripts/openstack.sh (one Keystone project per
// test; see tests/common/openstack.rs).

use common::openstack::Project;

/// A provider section for `project`'s member user (password auth).
fn real_section(project: &Project, extra: &str) -> String {
    let stack = &project.stack;
    let region = if extra.contains("region") {
        String::new()
    } else {
        format!("region = \"{}\"", stack.var("SCALER_OS_REGION"))
    };
    format!(
        r#"kind = "openstack"
auth_url = "{auth}"
username = "{user}"
user_domain_name = "Default"
project_name = "{project}"
project_domain_name = "Default"
image = "{image}"
flavors = ["{tiny}", "{huge}"]
connect_timeout = "5s"
timeout = "90s"
{region}
{extra}
"#,
        auth = stack.auth_url(),
        user = project.user,
        project = project.name,
        image = stack.var("SCALER_OS_IMAGE"),
        tiny = stack.var("SCALER_OS_FLAVOR"),
        huge = stack.var("SCALER_OS_FLAVOR_HUGE"),
    )
}

fn real_provider(project: &Project, pool: &str, extra: &str, secret: &str) -> OpenStackProvider {
    let mut config: OpenStackConfig =
        toml::from_str(&real_section(project, extra)).expect("valid provider section");
    config
        .prepare(std::path::Path::new("/"), pool)
        .expect("valid provider section");
    let secret = secret.to_string();
    OpenStackProvider::with_env(pool, config, &move |k| {
        (k == "OS_PASSWORD").then(|| secret.clone())
    })
    .expect("credentials")
}

fn request(name: &str, flavor: &str) -> CreateRequest {
    CreateRequest {
        name: name.to_string(),
        instance_type: flavor.to_string(),
        vcpus: 1,
    }
}

/// Checks what Nova stored for server `id` (admin view): flavor, image,
/// key pair, metadata and the rendered user data.
fn assert_stored_as_requested(project: &Project, id: &str, flavor_id: &str, image: &str) {
    // What Nova stored: flavor, image, key pair, metadata, user data (admin view).
    let stack = &project.stack;
    let admin = stack.admin_token();
    let (status, body) = stack.call(
        "GET",
        &format!("{}/servers/{}", stack.nova(), id),
        &admin,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let server = &body["server"];
    assert_eq!(server["key_name"], "scaler-key");
    assert_eq!(server["flavor"]["id"], json!(flavor_id));
    assert_eq!(server["image"]["id"], json!(image));
    assert_eq!(server["metadata"]["scaler-pool"], "gw");
    assert_eq!(server["metadata"]["role"], "sip");
    let name = server["name"].as_str().unwrap();
    let user_data = server["OS-EXT-SRV-ATTR:user_data"]
        .as_str()
        .expect("user data stored");
    assert_eq!(
        decode64(user_data),
        format!("#cloud-config\nhostname: {name}\n")
    );
}

#[test]
fn real_password_auth_create_and_list_across_pages_with_the_metadata_filter() {
    let project = Project::new("pages");
    let stack = &project.stack;
    let token = project.token();
    let tiny = stack.var("SCALER_OS_FLAVOR");
    // A key pair of the project's user (Nova generates it at microversion 2.3).
    let (status, body) = stack.call(
        "POST",
        &format!("{}/os-keypairs", stack.nova()),
        &token,
        Some(json!({"keypair": {"name": "scaler-key"}})),
    );
    assert_eq!(status, 201, "{body}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("user-data"),
        "#cloud-config\nhostname: {{instance_name}}\n",
    )
    .unwrap();
    let extra = format!(
        "key_name = \"scaler-key\"\nmetadata = {{ role = \"sip\" }}\npage_size = 2\nuser_data_template = \"{}\"",
        dir.path().join("user-data").display()
    );
    let mut gw = real_provider(&project, "gw", &extra, &project.password);
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(
            gw.create(&request(&format!("gw-real-{i}"), &tiny))
                .expect("created"),
        );
    }
    // Not the pool's: a `gw-` name without the metadata, and another pool.
    let image = gw_image_id(&project);
    let flavor_id = real_flavor_id(&project, &tiny);
    for (name, meta) in [
        ("gw-untagged", json!({})),
        ("other-0", json!({"scaler-pool": "other"})),
    ] {
        let (status, body) = stack.call(
            "POST",
            &format!("{}/servers", stack.nova()),
            &token,
            Some(json!({"server": {"name": name, "imageRef": image, "flavorRef": flavor_id, "metadata": meta}})),
        );
        assert_eq!(status, 202, "{body}");
    }
    // Five servers, pages of two: building, then active with the fake driver.
    project.wait_servers("all five active", |s| {
        s.len() == 5 && s.iter().all(|s| s["status"] == "ACTIVE")
    });
    let listed = gw.list().expect("listing");
    let mut names: Vec<_> = listed.iter().map(|i| i.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["gw-real-0", "gw-real-1", "gw-real-2"]);
    assert!(
        listed.iter().all(|i| i.state == InstanceState::Active),
        "{listed:?}"
    );
    let mut ids: Vec<_> = listed.iter().map(|i| i.id.clone()).collect();
    let mut want: Vec<_> = created.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    want.sort();
    assert_eq!(ids, want);
    assert_stored_as_requested(&project, &want[0], &flavor_id, &image);
}

fn gw_image_id(project: &Project) -> String {
    let stack = &project.stack;
    let token = project.token();
    let (_, body) = stack.call(
        "GET",
        &format!(
            "{}/images?name={}",
            stack.var("SCALER_OS_GLANCE_URL"),
            stack.var("SCALER_OS_IMAGE")
        ),
        &token,
        None,
    );
    body["images"][0]["id"]
        .as_str()
        .expect("the harness's image")
        .to_string()
}

fn real_flavor_id(project: &Project, name: &str) -> String {
    let stack = &project.stack;
    let (_, body) = stack.call(
        "GET",
        &format!("{}/flavors", stack.nova()),
        &project.token(),
        None,
    );
    body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["id"].as_str().unwrap().to_string())
        .expect("the harness's flavor")
}

#[test]
fn real_application_credential_auth_reads_flavors_and_lists() {
    let project = Project::new("appcred");
    let stack = &project.stack;
    let (status, body) = stack.call(
        "POST",
        &format!(
            "{}/users/{}/application_credentials",
            stack.auth_url(),
            project.user_id
        ),
        &project.token(),
        Some(json!({"application_credential": {"name": "scaler", "secret": "app-cred-secret-42"}})),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["application_credential"]["id"].as_str().unwrap();
    let section = real_section(&project, "")
        .lines()
        .filter(|l| {
            !l.starts_with("username")
                && !l.contains("domain_name")
                && !l.starts_with("project_name")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!(
        "{section}\nauth_type = \"application_credential\"\napplication_credential_id = \"{id}\"\n"
    );
    let mut config: OpenStackConfig = toml::from_str(&text).expect("valid provider section");
    config.prepare(std::path::Path::new("/"), "gw").unwrap();
    let mut gw = OpenStackProvider::with_env("gw", config, &|k| {
        (k == "OS_APPLICATION_CREDENTIAL_SECRET").then(|| "app-cred-secret-42".into())
    })
    .expect("credentials");
    let flavors = gw
        .provider_instance_types()
        .expect("flavors through the credential");
    assert_eq!(
        flavors.get(&stack.var("SCALER_OS_FLAVOR")),
        Some(&1),
        "{flavors:?}"
    );
    assert!(gw.list().expect("listing").is_empty());
    // A wrong secret is refused by Keystone, named as such.
    let mut config: OpenStackConfig = toml::from_str(&text).unwrap();
    config.prepare(std::path::Path::new("/"), "gw").unwrap();
    let mut wrong = OpenStackProvider::with_env("gw", config, &|k| {
        (k == "OS_APPLICATION_CREDENTIAL_SECRET").then(|| "wrong".into())
    })
    .unwrap();
    let fault = wrong.list().unwrap_err();
    assert!(matches!(fault, scaler::fault::Fault::Auth(_)), "{fault:?}");
    assert!(fault.message().contains("Keystone refused"), "{fault:?}");
}

#[test]
fn real_catalog_lookup_by_region_and_interface() {
    let project = Project::new("catalog");
    // RegionOne, internal: the services' own URLs.
    let mut internal = real_provider(
        &project,
        "gw",
        "region = \"RegionOne\"\ninterface = \"internal\"",
        &project.password,
    );
    assert!(internal.list().expect("internal endpoints").is_empty());
    // The harness points RegionTwo and the admin interface at 127.0.0.1:9.
    let mut two = real_provider(&project, "gw", "region = \"RegionTwo\"", &project.password);
    let fault = two.list().unwrap_err();
    assert!(
        matches!(fault, scaler::fault::Fault::Refused(_)),
        "{fault:?}"
    );
    assert!(
        fault.message().contains("127.0.0.1:9/region-two/compute"),
        "{fault:?}"
    );
    let mut admin = real_provider(
        &project,
        "gw",
        "region = \"RegionOne\"\ninterface = \"admin\"",
        &project.password,
    );
    let error = admin.list().unwrap_err().message().to_string();
    assert!(
        error.contains("127.0.0.1:9/admin-interface/compute"),
        "{error}"
    );
    // Two regions offer compute: no region given is an error naming both.
    let mut any = real_provider(&project, "gw", "# region: none", &project.password);
    let error = any.list().unwrap_err().message().to_string();
    assert!(error.contains("RegionOne, RegionTwo"), "{error}");
    let mut nowhere = real_provider(&project, "gw", "region = \"Nowhere\"", &project.password);
    let error = nowhere.list().unwrap_err().message().to_string();
    assert!(error.contains("Nowhere"), "{error}");
}

#[test]
fn real_states_error_from_a_flavor_larger_than_the_host_and_deletion() {
    let project = Project::new("states");
    let huge = project.stack.var("SCALER_OS_FLAVOR_HUGE");
    let tiny = project.stack.var("SCALER_OS_FLAVOR");
    let mut gw = real_provider(&project, "gw", "", &project.password);
    let big = gw
        .create(&request("gw-huge", &huge))
        .expect("Nova accepts, the scheduler refuses");
    let small = gw.create(&request("gw-small", &tiny)).expect("created");
    assert_eq!(big.state, InstanceState::Building);
    project.wait_servers("one error, one active", |s| {
        s.len() == 2
            && s.iter()
                .all(|s| s["status"] == "ERROR" || s["status"] == "ACTIVE")
    });
    let listed = gw.list().unwrap();
    let state = |id: &str| listed.iter().find(|i| i.id == id).map(|i| i.state);
    assert_eq!(state(&big.id), Some(InstanceState::Error), "{listed:?}");
    assert_eq!(state(&small.id), Some(InstanceState::Active), "{listed:?}");
    // Deletion, then deletion of what is already gone (Nova answers 404).
    gw.destroy(&listed.iter().find(|i| i.id == small.id).unwrap().clone())
        .expect("deleted");
    project.wait_servers("the deleted server gone", |s| {
        s.iter().all(|s| s["id"] != json!(small.id))
    });
    let (status, _) = project.stack.call(
        "DELETE",
        &format!("{}/servers/{}", project.stack.nova(), small.id),
        &project.token(),
        None,
    );
    assert_eq!(status, 404, "Nova's answer to deleting a deleted server");
    let mut again = real_provider(&project, "gw", "", &project.password);
    again.destroy(&small).expect("a 404 on deletion means done");
    let names: Vec<_> = again.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["gw-huge"]);
}
