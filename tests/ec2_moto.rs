//! The `ec2` provider against moto's EC2 emulator (PyPI `moto[server]`,
//! installed by scripts/services.sh), started by each test on 127.0.0.1 with
//! AMI validation on: listing by the pool tag, creation with tags and user
//! data, pagination over several pages, termination, EC2 error answers, and
//! whole `scaler run` / `cleanup` passes of the binary (SIP pool on the
//! MariaDB harness). A loopback fake serves what moto cannot: a listing that
//! fails on its second page.
//!
//! moto hands out 10.x / 54.x addresses: nothing here ever contacts them
//! (the SIP pool has no probe; only moto's own port is spoken to).

mod common;

use common::*;
use scaler::provider::ec2::{Ec2Config, Ec2Provider};
use scaler::provider::{CreateRequest, InstanceState, Provider, ProviderError};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An image moto knows (from its bundled list) once AMI validation is on.
const IMAGE: &str = "ami-1e749f67";
const FAKE_KEY: &str = "AKIDSCALERTEST";
const FAKE_SECRET: &str = "scaler/test+secret/never-printed";

/// A moto server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        let probe = Command::new("python3")
            .args(["-c", "import moto.server, flask"])
            .output();
        match probe {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "moto's server is not installed for python3: run scripts/services.sh \
                 (it installs moto[server] with pip)"
            ),
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_ENABLE_AMI_VALIDATION", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if moto
                .raw("DescribeRegions", &[])
                .contains("DescribeRegionsResponse")
            {
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto did not answer on 127.0.0.1:{port} within 60s (run scripts/services.sh)"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A query API call straight to moto (it wants a SigV4 header but does
    /// not verify it); the answer's text, or "" when nothing answers.
    fn raw(&self, action: &str, params: &[(&str, &str)]) -> String {
        let mut body = format!("Action={action}&Version=2016-11-15");
        for (k, v) in params {
            body.push_str(&format!("&{k}={v}"));
        }
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential={FAKE_KEY}/20260101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return String::new();
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_section(endpoint: &str, image: &str, extra: &str) -> String {
    format!(
        r#"[provider]
kind = "ec2"
endpoint = "{endpoint}"
region = "us-east-1"
access_key_id = "{FAKE_KEY}"
secret_access_key_env = "SCALER_TEST_EC2_SECRET"
image_id = "{image}"
connect_timeout = "2s"
timeout = "20s"
{extra}
[provider.instance_types]
"c5.xlarge" = 4
"c5.2xlarge" = 8
"#
    )
}

/// A provider for `pool` through the library API.
fn provider(pool: &str, endpoint: &str, extra: &str, dir: &Path) -> Ec2Provider {
    // The section the binary tests use, as a table of its own, with the
    // secret in clear (this process's environment is left alone).
    let text = provider_section(endpoint, IMAGE, extra)
        .replace("[provider]\n", "")
        .replace("[provider.", "[")
        .replace(
            "secret_access_key_env = \"SCALER_TEST_EC2_SECRET\"",
            &format!("secret_access_key = \"{FAKE_SECRET}\""),
        );
    let mut config: Ec2Config = toml::from_str(&text).expect("a valid [provider] section");
    config
        .prepare(dir, pool)
        .expect("a valid ec2 configuration");
    Ec2Provider::new(pool, config).expect("the provider builds")
}

fn request(name: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        instance_type: "c5.xlarge".into(),
        vcpus: 4,
    }
}

#[test]
fn lists_creates_with_tags_and_user_data_then_terminates() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("init.sh"),
        "#!/bin/sh\necho {{role}} > /etc/role\nhostname {{instance_name}} # pool {{pool}}\n",
    )
    .unwrap();
    let mut gw = provider(
        "gw",
        &moto.url(),
        "user_data_template = \"init.sh\"\n[provider.user_data_vars]\nrole = \"sip\"\n",
        dir.path(),
    );
    let mut other = provider("other", &moto.url(), "", dir.path());
    assert!(gw.list().unwrap().is_empty());

    let a = gw.create(&request("gw-20260101000000-0")).unwrap();
    let b = gw.create(&request("gw-20260101000000-1")).unwrap();
    let theirs = other.create(&request("other-20260101000000-0")).unwrap();
    assert_eq!(a.name, "gw-20260101000000-0");
    assert_eq!(a.vcpus, 4);
    assert!(a.id.starts_with("i-"), "{}", a.id);

    let listed = gw.list().unwrap();
    let mut names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["gw-20260101000000-0", "gw-20260101000000-1"]);
    for instance in &listed {
        assert_eq!(instance.state, InstanceState::Active, "moto runs at once");
        assert_eq!(instance.instance_type.as_deref(), Some("c5.xlarge"));
        assert_eq!(instance.vcpus, 4);
        assert!(instance.private_ip.is_some() && instance.public_ip.is_some());
    }
    assert!(!listed.iter().any(|i| i.id == theirs.id), "another pool's");

    // The tags and the user data as moto stored them.
    let tags = moto.raw(
        "DescribeTags",
        &[
            ("Filter.1.Name", "resource-id"),
            ("Filter.1.Value.1", &a.id),
        ],
    );
    for expected in [
        "<key>scaler-pool</key>",
        "<value>gw</value>",
        "<key>Name</key>",
        "<value>gw-20260101000000-0</value>",
    ] {
        assert!(tags.contains(expected), "{expected}: {tags}");
    }
    let attribute = moto.raw(
        "DescribeInstanceAttribute",
        &[("InstanceId", &a.id), ("Attribute", "userData")],
    );
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD
        .encode("#!/bin/sh\necho sip > /etc/role\nhostname gw-20260101000000-0 # pool gw\n");
    assert!(attribute.contains(&expected), "{attribute}");

    gw.destroy(&a).unwrap();
    let left: Vec<String> = gw.list().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(
        left,
        std::slice::from_ref(&b.id),
        "terminated instances are not listed"
    );
    // Terminating an instance that no longer exists is an error naming it.
    let err = gw
        .destroy(&scaler::provider::Instance {
            id: "i-00000000000000000".into(),
            ..b.clone()
        })
        .unwrap_err();
    assert!(
        err.message().contains("TerminateInstances") && err.message().contains("InvalidInstanceID"),
        "{err}"
    );
    assert!(matches!(err, ProviderError::Rejected(_)), "{err:?}");
    assert_eq!(other.list().unwrap().len(), 1);
}

#[test]
fn listing_follows_next_token_over_several_pages() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut gw = provider("pages", &moto.url(), "page_size = 5\n", dir.path());
    let mut created = Vec::new();
    for n in 0..12 {
        created.push(
            gw.create(&request(&format!("pages-20260101000000-{n}")))
                .unwrap()
                .id,
        );
    }
    // moto pages by reservation (one per RunInstances): 5 + 5 + 2.
    let first_page = moto.raw("DescribeInstances", &[("MaxResults", "5")]);
    assert!(first_page.contains("<nextToken>"), "moto paginates");
    let mut listed: Vec<String> = gw.list().unwrap().into_iter().map(|i| i.id).collect();
    listed.sort();
    created.sort();
    assert_eq!(listed, created);
}

#[test]
fn a_pass_creates_tagged_instances_then_cleanup_terminates_a_stopped_one() {
    let moto = Moto::start();
    let ws = Workspace::new();
    let db = Kamailio::new("ec2pass");
    let config = ws.config(&format!(
        r#"[pool]
name = "ec2pass"
kind = "sip"
cpu_per_gateway = 4

[schedule]
[schedule.default]
"00:00" = {{ idle_min = 3, load_max = 0.8, max_gateways = 10 }}

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

{provider}"#,
        sip = db.sip_section(),
        provider = provider_section(&moto.url(), IMAGE, "elastic_ip = true\n")
    ));
    let env = [("SCALER_TEST_EC2_SECRET", FAKE_SECRET)];
    let run = scaler_with_env(&["-c", &config, "--format", "json", "-vvv", "run"], &env).expect(0);
    let json = run.json();
    // 3 gateways × 4 vCPUs = 12: one c5.2xlarge and one c5.xlarge.
    assert_eq!(
        run.actions(),
        [
            ("create".into(), "done".into(), "scale_up".into()),
            ("create".into(), "done".into(), "scale_up".into())
        ]
    );
    let types: Vec<&str> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["instance_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["c5.2xlarge", "c5.xlarge"]);
    let ids: Vec<String> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["instance"].as_str().unwrap().to_string())
        .collect();
    for id in &ids {
        let tags = moto.raw(
            "DescribeTags",
            &[("Filter.1.Name", "resource-id"), ("Filter.1.Value.1", id)],
        );
        assert!(tags.contains("<value>ec2pass</value>"), "{tags}");
        assert!(tags.contains("<value>ec2pass-"), "{tags}");
    }
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.contains(FAKE_SECRET),
            "the secret leaked:\n{output}"
        );
    }
    // moto runs instances at once, so the same pass gave each an Elastic IP.
    let notes = json["notes"].to_string();
    assert_eq!(notes.matches("attached to ec2pass-").count(), 2, "{notes}");
    assert_eq!(pool_addresses(&moto, "ec2pass").len(), 2);

    // The next pass counts them (active, not yet registered) and does nothing.
    let run = scaler_with_env(&["-c", &config, "--format", "json", "run"], &env).expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["instances"]["total"], 2);
    assert_eq!(json["observed"]["gateways"]["pending"], 3);
    assert!(run.actions().is_empty(), "{}", run.stdout);

    // A stopped instance is in error: cleanup terminates it, and only it.
    moto.raw("StopInstances", &[("InstanceId.1", &ids[1])]);
    let run = scaler_with_env(&["-c", &config, "--format", "json", "cleanup"], &env).expect(0);
    assert_eq!(
        run.actions(),
        [("destroy".into(), "done".into(), "error_state".into())]
    );
    assert_eq!(run.json()["actions"][0]["instance"], ids[1].as_str());
    // Its address was released with it; the other instance keeps its own.
    let left = pool_addresses(&moto, "ec2pass");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].1.as_deref(), Some(ids[0].as_str()));
    let state = moto.raw("DescribeInstances", &[("InstanceId.1", &ids[1])]);
    assert!(
        state.contains("<name>terminated</name>") || state.contains("<name>shutting-down</name>"),
        "{state}"
    );
}

/// `(allocation id, associated instance)` of the Elastic IPs tagged with `pool`.
fn pool_addresses(moto: &Moto, pool: &str) -> Vec<(String, Option<String>)> {
    let text = moto.raw(
        "DescribeAddresses",
        &[
            ("Filter.1.Name", "tag:scaler-pool"),
            ("Filter.1.Value.1", pool),
        ],
    );
    let body = &text[text.find("<?xml").expect("an XML answer")..];
    let doc = roxmltree::Document::parse(body).expect("valid XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("allocationId"))
        .map(|n| {
            let item = n.parent().unwrap();
            let instance = item
                .children()
                .find(|c| c.has_tag_name("instanceId"))
                .and_then(|c| c.text())
                .map(String::from);
            (n.text().unwrap().to_string(), instance)
        })
        .collect()
}

/// Allocates an address tagged with `pool` by hand (a crashed pass's leftover).
fn stray_address(moto: &Moto, pool: &str) -> String {
    let text = moto.raw("AllocateAddress", &[("Domain", "vpc")]);
    let start = text.find("<allocationId>").unwrap() + "<allocationId>".len();
    let id = text[start..start + text[start..].find('<').unwrap()].to_string();
    moto.raw(
        "CreateTags",
        &[
            ("ResourceId.1", &id),
            ("Tag.1.Key", "scaler-pool"),
            ("Tag.1.Value", pool),
        ],
    );
    id
}

#[test]
fn elastic_ips_are_attached_reused_released_and_go_with_their_instance() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut gw = provider("eip", &moto.url(), "elastic_ip = true\n", dir.path());
    let mut plain = provider("eip", &moto.url(), "", dir.path());
    assert_eq!(plain.settle(), Default::default(), "off unless asked");

    let a = gw.create(&request("eip-20260101000000-0")).unwrap();
    // A pool address left by a crashed pass is used before allocating.
    let stray = stray_address(&moto, "eip");
    let settled = gw.settle();
    assert!(settled.errors.is_empty(), "{settled:?}");
    assert_eq!(settled.notes.len(), 1, "{settled:?}");
    assert!(settled.notes[0].contains("attached to eip-20260101000000-0"));
    assert_eq!(
        pool_addresses(&moto, "eip"),
        [(stray.clone(), Some(a.id.clone()))]
    );
    let listed = gw.list().unwrap();
    assert_eq!(listed.len(), 1);

    // A second instance gets a new address.
    let b = gw.create(&request("eip-20260101000000-1")).unwrap();
    let settled = gw.settle();
    assert!(settled.errors.is_empty(), "{settled:?}");
    assert_eq!(settled.notes.len(), 1, "{settled:?}");
    assert!(settled.notes[0].contains("attached to eip-20260101000000-1"));
    let addresses = pool_addresses(&moto, "eip");
    assert_eq!(addresses.len(), 2);
    let (b_address, _) = addresses
        .iter()
        .find(|(_, owner)| owner.as_deref() == Some(b.id.as_str()))
        .expect("b has an address")
        .clone();
    assert_ne!(b_address, stray);

    // A surplus pool address is released; another pool's is never touched.
    let surplus = stray_address(&moto, "eip");
    let theirs = stray_address(&moto, "other");
    let settled = gw.settle();
    assert!(settled.errors.is_empty(), "{settled:?}");
    assert_eq!(settled.notes.len(), 1, "{settled:?}");
    assert!(
        settled.notes[0].contains("released (unused)"),
        "{settled:?}"
    );
    let addresses = pool_addresses(&moto, "eip");
    assert_eq!(addresses.len(), 2);
    assert!(!addresses.iter().any(|(id, _)| *id == surplus));
    assert_eq!(pool_addresses(&moto, "other"), [(theirs, None)]);
    assert_eq!(gw.settle(), Default::default(), "nothing left to do");

    // Destroying an instance releases its address.
    gw.destroy(&a).unwrap();
    assert_eq!(
        pool_addresses(&moto, "eip"),
        [(b_address, Some(b.id.clone()))]
    );
}

#[test]
fn a_refused_creation_fails_that_action_with_exit_3() {
    let moto = Moto::start();
    let ws = Workspace::new();
    let db = Kamailio::new("ec2bad");
    let config = ws.config(&format!(
        r#"[pool]
name = "ec2bad"
kind = "sip"

[schedule]
[schedule.default]
"00:00" = {{ idle_min = 1, load_max = 0.8, max_gateways = 10 }}

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

{provider}"#,
        sip = db.sip_section(),
        provider = provider_section(&moto.url(), "ami-00000000", "")
    ));
    let run = scaler_with_env(
        &["-c", &config, "--format", "json", "run"],
        &[("SCALER_TEST_EC2_SECRET", FAKE_SECRET)],
    )
    .expect(3);
    let json = run.json();
    assert_eq!(
        run.actions(),
        [("create".into(), "failed".into(), "scale_up".into())]
    );
    let error = json["actions"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("RunInstances") && error.contains("InvalidAMIID.NotFound"),
        "{error}"
    );
    assert_eq!(json["exit_code"], 3);
}

#[test]
fn credentials_and_region_come_from_the_aws_variables() {
    let moto = Moto::start();
    let ws = Workspace::new();
    let db = Kamailio::new("ec2env");
    let config = ws.config(&format!(
        r#"[pool]
name = "ec2env"
kind = "sip"

[schedule]
[schedule.default]
"00:00" = {{ idle_min = 0, load_max = 0.8, max_gateways = 10 }}

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

[provider]
kind = "ec2"
endpoint = "{url}"
image_id = "{IMAGE}"
[provider.instance_types]
"c5.xlarge" = 4
"#,
        sip = db.sip_section(),
        url = moto.url()
    ));
    let env = [
        ("AWS_ACCESS_KEY_ID", FAKE_KEY),
        ("AWS_SECRET_ACCESS_KEY", FAKE_SECRET),
        ("AWS_SESSION_TOKEN", "scaler-test-session-token"),
        ("AWS_REGION", "us-east-1"),
    ];
    let run = scaler_with_env(&["-c", &config, "-vvv", "check"], &env).expect(0);
    assert!(
        run.stdout.contains("0 instance(s) of pool ec2env"),
        "{}",
        run.stdout
    );
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.contains(FAKE_SECRET),
            "the secret leaked:\n{output}"
        );
        assert!(
            !output.contains("scaler-test-session-token"),
            "the token leaked:\n{output}"
        );
    }
    // Without any credentials the configuration is refused (exit 78), naming what to set.
    let run = scaler_with_env(
        &["-c", &config, "run"],
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
        ],
    )
    .expect(78);
    assert!(run.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", run.stderr);
}

/// A loopback server answering each request with the next canned reply.
fn fake_cloud(replies: Vec<(u16, String)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for (status, reply) in replies {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            bodies.push(String::from_utf8(body).unwrap());
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
        }
        bodies
    });
    (url, handle)
}

#[test]
fn a_listing_whose_second_page_fails_is_an_error_not_a_partial_list() {
    let page = |token: &str| {
        format!(
            r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet><item><instancesSet><item>
<instanceId>i-1</instanceId><instanceState><name>running</name></instanceState><launchTime>2026-01-01T00:00:00Z</launchTime>
<tagSet><item><key>scaler-pool</key><value>gw</value></item></tagSet></item></instancesSet></item></reservationSet>{token}</DescribeInstancesResponse>"#
        )
    };
    let (url, server) = fake_cloud(vec![
        (200, page("<nextToken>t-2</nextToken>")),
        (
            503,
            "<Response><Errors><Error><Code>Unavailable</Code><Message>try later</Message></Error></Errors></Response>".into(),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let err = provider("gw", &url, "", dir.path()).list().unwrap_err();
    assert_eq!(
        err.message(),
        "EC2 DescribeInstances: Unavailable: try later (HTTP 503)"
    );
    assert!(matches!(err, ProviderError::Unavailable(_)), "{err:?}");
    let bodies = server.join().unwrap();
    assert!(
        bodies[0].contains("Filter.1.Name=tag%3Ascaler-pool&Filter.1.Value.1=gw"),
        "{}",
        bodies[0]
    );
    assert!(
        bodies[0].contains("Filter.2.Name=instance-state-name"),
        "{}",
        bodies[0]
    );
    assert!(bodies[1].ends_with("NextToken=t-2"), "{}", bodies[1]);

    // Nothing listening: a clear transport error, within the connect timeout.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = provider("gw", &url, "", dir.path()).list().unwrap_err();
    assert!(err.message().contains("Connection refused"), "{err}");
    assert!(matches!(err, ProviderError::Refused(_)), "{err:?}");
}

/// The `ClientToken` of a captured RunInstances request body.
fn client_token(body: &str) -> String {
    body.split('&')
        .find_map(|p| p.strip_prefix("ClientToken="))
        .expect("RunInstances carries a ClientToken")
        .to_string()
}

#[test]
fn two_creations_in_the_same_second_send_different_client_tokens() {
    // AWS takes a repeated ClientToken for a retry and starts nothing: two
    // passes in one second (same timestamp, same index) must differ.
    let pool = "p".repeat(40);
    let reply = |id: &str| {
        format!(
            r#"<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><instancesSet><item>
<instanceId>{id}</instanceId><instanceState><name>pending</name></instanceState><launchTime>2026-01-01T00:00:00Z</launchTime>
<tagSet><item><key>scaler-pool</key><value>{pool}</value></item></tagSet></item></instancesSet></RunInstancesResponse>"#
        )
    };
    let (url, server) = fake_cloud(vec![(200, reply("i-1")), (200, reply("i-2"))]);
    let dir = tempfile::tempdir().unwrap();
    let mut ec2 = provider(&pool, &url, "", dir.path());
    let at = chrono::Utc::now();
    for _ in 0..2 {
        let name = scaler::provider::instance_name(&pool, at, 0);
        ec2.create(&request(&name)).unwrap();
    }
    let tokens: Vec<String> = server
        .join()
        .unwrap()
        .iter()
        .map(|b| client_token(b))
        .collect();
    assert_ne!(tokens[0], tokens[1], "{tokens:?}");
    assert!(
        tokens.iter().all(|t| t.len() <= 64),
        "EC2's limit: {tokens:?}"
    );
}

/// The text of the first `<tag>` element of a moto answer.
fn xml_value(text: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {text}"))
        + open.len();
    text[start..start + text[start..].find('<').unwrap()].to_string()
}

/// Starts an untagged instance the way SIPMediaGW's Outscale code does (a
/// security group and a subnet, no scaler tag): `(id, private address)`.
fn foreign_instance(moto: &Moto, kind: &str, group: &str, subnet: &str) -> (String, String) {
    let text = moto.raw(
        "RunInstances",
        &[
            ("ImageId", IMAGE),
            ("InstanceType", kind),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("SecurityGroupId.1", group),
            ("SubnetId", subnet),
        ],
    );
    (
        xml_value(&text, "instanceId"),
        xml_value(&text, "privateIpAddress"),
    )
}

/// A security group for the old tool's gateways and two distinct subnets
/// of moto's default VPC: `(group, subnet, other subnet)`.
fn group_and_subnets(moto: &Moto) -> (String, String, String) {
    let group = xml_value(
        &moto.raw(
            "CreateSecurityGroup",
            &[
                ("GroupName", "sipmediagw"),
                ("GroupDescription", "gateways"),
            ],
        ),
        "groupId",
    );
    let subnets = moto.raw("DescribeSubnets", &[]);
    let subnet = xml_value(&subnets, "subnetId");
    let other_subnet = subnets
        .split("<subnetId>")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_string())
        .find(|s| *s != subnet)
        .expect("moto's default VPC has several subnets");
    assert_ne!(subnet, other_subnet);
    (group, subnet, other_subnet)
}

/// The SIP pool adopting what is in `group` and `subnet`, with Elastic IPs.
fn adopt_config(ws: &Workspace, db: &Kamailio, moto: &Moto, group: &str, subnet: &str) -> String {
    ws.config(&format!(
        r#"[pool]
name = "adopt"
kind = "sip"
cpu_per_gateway = 4
register_timeout = "0s"

[schedule]
[schedule.default]
"00:00" = {{ idle_min = 1, load_max = 0.8, max_gateways = 10 }}

[limits]
scale_down_delay = "0s"

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

{provider}"#,
        sip = db.sip_section(),
        provider = provider_section(
            &moto.url(),
            IMAGE,
            &format!(
                "elastic_ip = true\nsubnet_id = \"{subnet}\"\nsecurity_group_ids = [\"{group}\"]\n\n\
                 [provider.membership]\nsecurity_group = \"{group}\"\nsubnet = \"{subnet}\"\n"
            )
        )
    ))
}

/// `(kind, reason, instance)` of each action in a run's JSON report.
fn actions(json: &serde_json::Value) -> Vec<(String, String, String)> {
    json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["reason"].as_str().unwrap().to_string(),
                a["instance"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The pool's own creations are listed as its own; the adopted ones are
/// listed as adopted, and nothing outside the subnet filter is listed.
fn assert_own_creations_are_not_adopted(
    moto: &Moto,
    ws: &Workspace,
    group: &str,
    subnet: &str,
    elsewhere: &str,
) {
    // The pool's own creations carry the markers that list them again.
    let mut gw = provider(
        "adopt",
        &moto.url(),
        &format!(
            "subnet_id = \"{subnet}\"\nsecurity_group_ids = [\"{group}\"]\n\n\
             [provider.membership]\nsecurity_group = \"{group}\"\nsubnet = \"{subnet}\"\n"
        ),
        ws.path("").as_path(),
    );
    let created = gw.create(&request("adopt-20260101000000-0")).unwrap();
    assert!(!created.adopted);
    let listed = gw.list().unwrap();
    let mine = listed.iter().find(|i| i.id == created.id).expect("listed");
    assert!(!mine.adopted, "scaler's own instance is not adopted");
    assert!(
        listed
            .iter()
            .filter(|i| i.id != created.id)
            .all(|i| i.adopted)
    );
    assert!(!listed.iter().any(|i| i.id == elsewhere));
}

#[test]
fn instances_in_the_security_group_and_subnet_are_adopted_and_a_non_gateway_is_left_alone() {
    let moto = Moto::start();
    let ws = Workspace::new();
    let mut db = Kamailio::new("adopt");
    let (group, subnet, other_subnet) = group_and_subnets(&moto);
    // Two gateways of the old tool (one with two gateways and its own
    // untagged Elastic IP), a web server and a stopped VM in the same group
    // and subnet, and two look-alikes outside the filter.
    let (a, a_ip) = foreign_instance(&moto, "c5.2xlarge", &group, &subnet);
    let (b, b_ip) = foreign_instance(&moto, "c5.xlarge", &group, &subnet);
    let (web, _) = foreign_instance(&moto, "c5.xlarge", &group, &subnet);
    let (stopped, _) = foreign_instance(&moto, "c5.xlarge", &group, &subnet);
    let (elsewhere, _) = foreign_instance(&moto, "c5.xlarge", &group, &other_subnet);
    moto.raw("StopInstances", &[("InstanceId.1", &stopped)]);
    let own = moto.raw("AllocateAddress", &[("Domain", "vpc")]);
    let own_eip = xml_value(&own, "allocationId");
    moto.raw(
        "AssociateAddress",
        &[("AllocationId", &own_eip), ("InstanceId", &a)],
    );
    db.register(&a_ip, 0, false, false);
    db.register(&a_ip, 1, false, false);
    db.register(&b_ip, 0, false, false);
    // moto's launch times are whole seconds: let register_timeout (0s) pass.
    std::thread::sleep(Duration::from_millis(1100));

    let config = adopt_config(&ws, &db, &moto, &group, &subnet);
    let env = [("SCALER_TEST_EC2_SECRET", FAKE_SECRET)];
    // `check` says what the filter matches before the first run.
    let check = scaler_with_env(&["-c", &config, "check"], &env);
    let said = format!("{}{}", check.stdout, check.stderr);
    assert!(
        said.contains("0 created by scaler, 4 adopted (2 registered, 2 never registered)"),
        "{said}"
    );
    assert!(said.contains(&web) && said.contains(&stopped), "{said}");
    let run = scaler_with_env(&["-c", &config, "--format", "json", "run"], &env).expect(0);
    let json = run.json();
    // Adopted as capacity: the four matches, three idle gateways; the
    // target (1 idle) drains the instance with two, and it goes.
    assert_eq!(json["observed"]["instances"]["total"], 4, "{}", run.stdout);
    assert_eq!(json["observed"]["gateways"]["idle"], 3, "{}", run.stdout);
    let acted = actions(&json);
    assert!(
        acted.contains(&("destroy".into(), "drained".into(), a.clone())),
        "{}",
        run.stdout
    );
    assert!(
        acted.iter().all(|(_, _, id)| *id == a),
        "only the drained gateway is touched: {}",
        run.stdout
    );
    // The web server and the stopped VM would be unregistered / error_state:
    // never proved to be gateways, they are kept, and said so.
    let notes = json["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "({web}) is adopted and has never registered a gateway"
        )),
        "{notes}"
    );
    assert!(
        notes.contains(&format!("({stopped}) is adopted")),
        "{notes}"
    );
    for id in [&web, &stopped, &b, &elsewhere] {
        let state = moto.raw("DescribeInstances", &[("InstanceId.1", id)]);
        assert!(
            !state.contains("<name>terminated</name>")
                && !state.contains("<name>shutting-down</name>"),
            "{id} was left alone: {state}"
        );
    }
    // The adopted gateways kept their own addresses: no pool address was
    // allocated for them, and A's untagged Elastic IP is not released.
    assert!(pool_addresses(&moto, "adopt").is_empty());
    let addresses = moto.raw("DescribeAddresses", &[]);
    assert!(addresses.contains(&own_eip), "{addresses}");

    assert_own_creations_are_not_adopted(&moto, &ws, &group, &subnet, &elsewhere);
}
