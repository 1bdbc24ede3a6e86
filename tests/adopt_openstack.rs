//! Adoption by the `openstack` provider: SimpleScaleVM's replicas, found by
//! their `group = scaled` metadata, are listed as the pool's (adopted), the
//! servers scaler creates carry the filter's metadata and name, and servers
//! outside the filter (or another pool's) are never listed. Against a
//! small Keystone + Nova served by the test on 127.0.0.1 (the bodies of the
//! Identity v3 and Compute API references); the server addresses it hands
//! out (192.0.2.x, documentation range) are never contacted, and this mock
//! ignores Nova's `name` filter, as a cloud may, so the provider's own
//! check is what keeps the list to the pool.

use scaler::provider::openstack::{OpenStackConfig, OpenStackProvider};
use scaler::provider::{CreateRequest, InstanceState, Provider};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "gAAAAABmock-adopt-token";
const PASSWORD: &str = "adopt-secret-never-printed";
const IMAGE_ID: &str = "70a599e0-31e7-49b7-b260-868f441e862b";
const FLAVOR_ID: &str = "7b3fd0b5-0a0e-4d4e-a2d6-0b1b6d6b0a01";

#[derive(Default)]
struct State {
    base: String,
    servers: Vec<Value>,
    /// `(method, path?query, body)` of every request.
    received: Vec<(String, String, String)>,
}

fn start() -> Arc<Mutex<State>> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let state = Arc::new(Mutex::new(State {
        base: format!("http://{}", listener.local_addr().unwrap()),
        ..State::default()
    }));
    let shared = state.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let state = shared.clone();
            std::thread::spawn(move || serve(stream, &state));
        }
    });
    state
}

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
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, extra, answer) = {
        let mut state = state.lock().unwrap();
        state
            .received
            .push((method.clone(), target.clone(), body.clone()));
        answer(&mut state, &method, &target, &body)
    };
    let mut response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        answer.len()
    );
    response.push_str(&answer);
    let _ = (&stream).write_all(response.as_bytes());
}

/// `(status, extra header lines, body)` for one request.
fn answer(state: &mut State, method: &str, target: &str, body: &str) -> (u16, String, String) {
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("POST", "/identity/v3/auth/tokens") => {
            let request: Value = serde_json::from_str(body).unwrap_or_default();
            if request["auth"]["identity"]["password"]["user"]["password"] != PASSWORD {
                return (401, String::new(), json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}).to_string());
            }
            let compute = format!("{}/compute/v2.1", state.base);
            let token = json!({"token": {
                "methods": ["password"], "expires_at": "2099-11-07T02:58:43.578887Z",
                "project": {"domain": {"id": "default", "name": "Default"}, "id": "a6944d763bf64ee6a275f1263fae0352", "name": "admin"},
                "user": {"domain": {"id": "default", "name": "Default"}, "id": "ee4dfb6e5540447cb3741905149d9b6e", "name": "admin"},
                "catalog": [{"type": "compute", "id": "a226b3eeb5594f50bf8b6df94636ed28", "name": "nova",
                    "endpoints": [{"region_id": "RegionOne", "region": "RegionOne", "interface": "public", "url": compute, "id": "c1"}]}]
            }});
            (
                201,
                format!("X-Subject-Token: {TOKEN}\r\n"),
                token.to_string(),
            )
        }
        ("GET", "/compute/v2.1/flavors/detail") => (
            200,
            String::new(),
            json!({"flavors": [{"id": FLAVOR_ID, "name": "b2-7", "vcpus": 2, "ram": 7000, "disk": 50}]})
                .to_string(),
        ),
        ("GET", "/compute/v2.1/servers/detail") => (
            200,
            String::new(),
            json!({ "servers": state.servers }).to_string(),
        ),
        ("POST", "/compute/v2.1/servers") => {
            let request: Value = serde_json::from_str(body).unwrap_or_default();
            let id = format!("99999999-0000-4000-8000-{:012}", state.servers.len());
            let s = &request["server"];
            state.servers.push(server(
                &id,
                s["name"].as_str().unwrap_or_default(),
                s["metadata"].clone(),
                "192.0.2.99",
            ));
            (
                202,
                String::new(),
                json!({"server": {"id": id, "links": [], "adminPass": "x"}}).to_string(),
            )
        }
        ("DELETE", _) if path.starts_with("/compute/v2.1/servers/") => {
            let id = path.rsplit('/').next().unwrap_or_default().to_string();
            state.servers.retain(|s| s["id"] != id.as_str());
            (204, String::new(), String::new())
        }
        _ => (
            404,
            String::new(),
            json!({"itemNotFound": {"code": 404, "message": "not found"}}).to_string(),
        ),
    }
}

/// A server as "List Servers Detailed" shows it, active for an hour.
fn server(id: &str, name: &str, metadata: Value, address: &str) -> Value {
    let created = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    json!({
        "id": id, "name": name, "status": "ACTIVE",
        "OS-EXT-STS:vm_state": "active", "OS-EXT-STS:task_state": null,
        "addresses": {"private": [{"addr": address, "version": 4, "OS-EXT-IPS:type": "fixed"}]},
        "created": created, "updated": created,
        "flavor": {"id": FLAVOR_ID, "links": []},
        "metadata": metadata,
    })
}

fn provider(state: &Mutex<State>, membership: &str) -> Result<OpenStackProvider, String> {
    let text = format!(
        r#"kind = "openstack"
auth_url = "{}/identity/v3"
region = "RegionOne"
username = "admin"
user_domain_name = "Default"
project_name = "admin"
project_domain_name = "Default"
password = "{PASSWORD}"
image = "{IMAGE_ID}"
connect_timeout = "2s"
timeout = "5s"
{membership}
"#,
        state.lock().unwrap().base
    );
    let mut config: OpenStackConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
    config.prepare(std::path::Path::new("/"), "replicas")?;
    OpenStackProvider::with_env("replicas", config, &|_| None).map_err(|e| e.to_string())
}

const SIMPLESCALEVM: &str = r#"[membership]
metadata = { group = "scaled" }
name = "replica"
"#;

/// Two servers to adopt, then three that match the membership only in part.
fn add_candidates(cloud: &Mutex<State>) {
    {
        let mut state = cloud.lock().unwrap();
        let scaled = json!({"group": "scaled"});
        state.servers = vec![
            server(
                "11111111-0000-4000-8000-000000000001",
                "replica",
                scaled.clone(),
                "192.0.2.1",
            ),
            server(
                "11111111-0000-4000-8000-000000000002",
                "replica",
                scaled.clone(),
                "192.0.2.2",
            ),
            // SimpleScaleVM's own autoscaler: other metadata value.
            server(
                "11111111-0000-4000-8000-000000000003",
                "replica",
                json!({"group": "autoscaler"}),
                "192.0.2.3",
            ),
            // The right metadata under another name, and another pool's server.
            server(
                "11111111-0000-4000-8000-000000000004",
                "web",
                scaled.clone(),
                "192.0.2.4",
            ),
            server(
                "11111111-0000-4000-8000-000000000005",
                "replica",
                json!({"group": "scaled", "scaler-pool": "other"}),
                "192.0.2.5",
            ),
        ];
    }
}

#[test]
fn servers_with_the_metadata_pair_and_name_are_adopted() {
    let cloud = start();
    add_candidates(&cloud);
    let mut os = provider(&cloud, SIMPLESCALEVM).expect("a valid membership");
    let listed = os.list().unwrap();
    let ids: Vec<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "11111111-0000-4000-8000-000000000001",
            "11111111-0000-4000-8000-000000000002"
        ]
    );
    assert!(
        listed
            .iter()
            .all(|i| i.adopted && i.state == InstanceState::Active)
    );
    assert!(listed.iter().all(|i| i.vcpus == 2));
    let query = cloud
        .lock()
        .unwrap()
        .received
        .iter()
        .find(|(m, t, _)| m == "GET" && t.contains("servers/detail"))
        .map(|(_, t, _)| t.clone())
        .unwrap();
    assert!(query.contains("name=%5Ereplica%24"), "{query}");

    // What scaler creates carries the pair and the name, and is its own.
    let created = os
        .create(&CreateRequest {
            name: "replicas-20260101000000-0-0000abcd".into(),
            instance_type: "b2-7".into(),
            vcpus: 2,
        })
        .unwrap();
    assert_eq!(created.name, "replica");
    assert!(!created.adopted);
    let posted: Value = {
        let state = cloud.lock().unwrap();
        let (_, _, body) = state
            .received
            .iter()
            .find(|(m, t, _)| m == "POST" && t.ends_with("/servers"))
            .cloned()
            .unwrap_or_default();
        serde_json::from_str(&body).unwrap_or_default()
    };
    assert_eq!(posted["server"]["metadata"]["group"], "scaled");
    assert_eq!(posted["server"]["metadata"]["scaler-pool"], "replicas");
    let again = os.list().unwrap();
    assert_eq!(again.len(), 3);
    assert!(!again.iter().find(|i| i.id == created.id).unwrap().adopted);

    // Adopted servers are deleted like the others when the pass decides so.
    os.destroy(&listed[0]).unwrap();
    assert_eq!(os.list().unwrap().len(), 2);

    // `adopt = "all"`: every match is the pool's.
    let mut all = provider(&cloud, &format!("{SIMPLESCALEVM}adopt = \"all\"\n")).unwrap();
    assert!(all.list().unwrap().iter().all(|i| !i.adopted));
}

#[test]
fn filters_created_servers_would_not_match_are_refused() {
    let cloud = start();
    for membership in [
        "[membership]\nname_prefix = \"web-\"\n",
        "[membership]\nmetadata = { scaler-pool = \"other\" }\n",
        "[membership]\nadopt = \"all\"\n",
        "[membership]\nname = \"replica\"\nname_prefix = \"replicas-\"\n",
    ] {
        let e = provider(&cloud, membership).err().expect(membership);
        assert!(e.contains("provider.membership"), "{membership}: {e}");
    }
    let e = provider(
        &cloud,
        "metadata = { group = \"web\" }\n[membership]\nmetadata = { group = \"scaled\" }\n",
    )
    .err()
    .expect("a clash with provider.metadata");
    assert!(e.contains("would not match"), "{e}");
}
