//! Unit tests of the OpenStack provider's pure parts: credentials from keys
//! and `OS_*` variables, the token request, catalog lookup, state and
//! address mapping, pagination markers. HTTP is tested against a loopback
//! server in tests/openstack_provider.rs.

use super::keystone::{Endpoint, Service, credentials, endpoint, token_request, v3_url};
use super::*;

fn config(extra: &str) -> OpenStackConfig {
    let mut config: OpenStackConfig = toml::from_str(&format!(
        "kind = \"openstack\"\nimage = \"Debian 12\"\n{extra}"
    ))
    .expect("valid provider section");
    config
        .prepare(Path::new("/etc/scaler"), "gw")
        .expect("valid");
    config
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

const OPENRC: &[(&str, &str)] = &[
    ("OS_AUTH_URL", "https://auth.cloud.ovh.net/v3/"),
    ("OS_USERNAME", "user-abc"),
    ("OS_PASSWORD", "from-env-secret"),
    ("OS_PROJECT_NAME", "1234567890"),
    ("OS_USER_DOMAIN_NAME", "Default"),
    ("OS_PROJECT_DOMAIN_NAME", "Default"),
    ("OS_REGION_NAME", "GRA11"),
];

#[test]
fn openrc_variables_fill_every_key_left_out() {
    let creds = credentials(&config(""), &env_of(OPENRC)).unwrap();
    assert_eq!(creds.auth_url, "https://auth.cloud.ovh.net/v3");
    assert_eq!(creds.region.as_deref(), Some("GRA11"));
    assert_eq!(creds.interface, "public");
    let AuthMethod::Password {
        user,
        password,
        project,
    } = &creds.method
    else {
        panic!("password auth expected: {creds:?}");
    };
    assert_eq!(password.expose(), "from-env-secret");
    assert_eq!(
        *user,
        Named::Name {
            name: "user-abc".into(),
            domain: Domain::Name("Default".into())
        }
    );
    assert_eq!(
        *project,
        Named::Name {
            name: "1234567890".into(),
            domain: Domain::Name("Default".into())
        }
    );
    // The password never shows in Debug output.
    assert!(!format!("{creds:?}").contains("from-env-secret"));
}

#[test]
fn keys_in_the_file_win_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("app-secret");
    std::fs::write(&secret, "file-secret\n").unwrap();
    let config = config(&format!(
        "auth_url = \"http://127.0.0.1:5000\"\nregion = \"RegionOne\"\ninterface = \"internal\"\n\
         application_credential_id = \"423f19a4ac1e4f48bbb4180756e6eb6c\"\n\
         application_credential_secret_file = {:?}\n",
        secret.display().to_string()
    ));
    // OS_USERNAME / OS_PASSWORD are set, but the file chose an application credential.
    let creds = credentials(&config, &env_of(OPENRC)).unwrap();
    assert_eq!(creds.auth_url, "http://127.0.0.1:5000/v3");
    assert_eq!(creds.region.as_deref(), Some("RegionOne"));
    assert_eq!(creds.interface, "internal");
    assert_eq!(
        creds.method,
        AuthMethod::ApplicationCredential {
            id: "423f19a4ac1e4f48bbb4180756e6eb6c".into(),
            secret: Secret::new("file-secret"),
        }
    );
}

#[test]
fn application_credential_from_the_environment() {
    const ENV: &[(&str, &str)] = &[
        ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_APPLICATION_CREDENTIAL_ID", "abc"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "s3"),
    ];
    let creds = credentials(&config(""), &env_of(ENV)).unwrap();
    assert_eq!(
        creds.method,
        AuthMethod::ApplicationCredential {
            id: "abc".into(),
            secret: Secret::new("s3")
        }
    );
}

#[test]
fn missing_credentials_name_the_key_and_the_variable() {
    let none = |_: &str| None;
    let err = credentials(&config(""), &none).unwrap_err();
    assert!(
        err.message().contains("provider.auth_url") && err.message().contains("OS_AUTH_URL"),
        "{err}"
    );
    let err = credentials(&config("auth_url = \"http://127.0.0.1:1\""), &none).unwrap_err();
    assert!(err.message().contains("OS_USERNAME"), "{err}");
    let err = credentials(
        &config("auth_url = \"http://127.0.0.1:1\"\nusername = \"u\""),
        &none,
    )
    .unwrap_err();
    assert!(err.message().contains("OS_PROJECT_NAME"), "{err}");
    let err = credentials(
        &config("auth_url = \"http://127.0.0.1:1\"\nusername = \"u\"\nproject_id = \"p\""),
        &none,
    )
    .unwrap_err();
    assert!(
        err.message().contains("provider.password") && err.message().contains("OS_PASSWORD"),
        "{err}"
    );
    let err = credentials(
        &config("auth_url = \"http://127.0.0.1:1\"\nusername = \"u\"\nproject_id = \"p\"\npassword_env = \"SCALER_TEST_SURELY_UNSET\""),
        &none,
    )
    .unwrap_err();
    assert!(err.message().contains("SCALER_TEST_SURELY_UNSET"), "{err}");
    let err = credentials(
        &config("auth_url = \"http://127.0.0.1:1\"\nauth_type = \"token\""),
        &none,
    )
    .unwrap_err();
    assert!(err.message().contains("provider.auth_type"), "{err}");
    let err = credentials(
        &config("auth_url = \"http://127.0.0.1:1\"\ninterface = \"private\""),
        &none,
    )
    .unwrap_err();
    assert!(err.message().contains("provider.interface"), "{err}");
}

#[test]
fn a_clear_password_is_redacted_in_debug_output() {
    let config = config("password = \"hunter2\"");
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn token_requests_follow_the_identity_api() {
    // Identity API v3, "Password authentication with scoped authorization":
    // user by name in a domain, project scope by name in a domain.
    let body = token_request(&AuthMethod::Password {
        user: Named::Name {
            name: "admin".into(),
            domain: Domain::Name("Default".into()),
        },
        password: Secret::new("devstacker"),
        project: Named::Id("a6944d763bf64ee6a275f1263fae0352".into()),
    });
    assert_eq!(
        body,
        json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": "devstacker"}}},
            "scope": {"project": {"id": "a6944d763bf64ee6a275f1263fae0352"}}
        }})
    );
    // "Authenticating with an Application Credential" (by id): no scope.
    let body = token_request(&AuthMethod::ApplicationCredential {
        id: "423f19a4ac1e4f48bbb4180756e6eb6c".into(),
        secret: Secret::new("rEaqvJka48mpv"),
    });
    assert_eq!(
        body,
        json!({"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": "423f19a4ac1e4f48bbb4180756e6eb6c", "secret": "rEaqvJka48mpv"}
        }}})
    );
    assert_eq!(v3_url("http://h:5000"), "http://h:5000/v3");
    assert_eq!(v3_url("http://h:5000/v3/"), "http://h:5000/v3");
}

fn service(kind: &str, endpoints: &[(&str, &str, &str)]) -> Service {
    Service {
        kind: kind.into(),
        endpoints: endpoints
            .iter()
            .map(|(region, interface, url)| Endpoint {
                url: url.to_string(),
                interface: interface.to_string(),
                region_id: Some(region.to_string()),
                region: Some(region.to_string()),
            })
            .collect(),
    }
}

#[test]
fn the_catalog_gives_the_endpoint_of_the_region_and_interface() {
    let catalog = vec![
        service("identity", &[("GRA11", "public", "https://auth/v3")]),
        service(
            "compute",
            &[
                ("GRA11", "public", "https://compute.gra11/v2.1"),
                ("GRA11", "internal", "http://10.0.0.1:8774/v2.1"),
                ("SBG5", "public", "https://compute.sbg5/v2.1"),
            ],
        ),
    ];
    assert_eq!(
        endpoint(&catalog, "compute", Some("GRA11"), "public").unwrap(),
        "https://compute.gra11/v2.1"
    );
    assert_eq!(
        endpoint(&catalog, "compute", Some("GRA11"), "internal").unwrap(),
        "http://10.0.0.1:8774/v2.1"
    );
    let err = endpoint(&catalog, "compute", None, "public").unwrap_err();
    assert!(
        err.contains("GRA11, SBG5") && err.contains("provider.region"),
        "{err}"
    );
    let err = endpoint(&catalog, "compute", Some("BHS5"), "public").unwrap_err();
    assert!(
        err.contains("no \"compute\" endpoint") && err.contains("SBG5/public"),
        "{err}"
    );
    let err = endpoint(&catalog, "network", Some("GRA11"), "public").unwrap_err();
    assert!(err.contains("no \"network\" service"), "{err}");
    // One region only: no need to name it.
    let single = vec![service(
        "compute",
        &[("RegionOne", "public", "http://c/v2.1")],
    )];
    assert_eq!(
        endpoint(&single, "compute", None, "public").unwrap(),
        "http://c/v2.1"
    );
}

#[test]
fn server_states_map_to_building_active_error_or_skipped() {
    use InstanceState::*;
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<InstanceState>,
    );
    let cases: &[Case] = &[
        ("BUILD", Some("building"), Some("spawning"), Some(Building)),
        ("BUILD", None, None, Some(Building)),
        ("ACTIVE", Some("active"), None, Some(Active)),
        ("REBOOT", Some("active"), Some("rebooting"), Some(Active)),
        ("SHUTOFF", Some("stopped"), None, Some(Active)),
        ("UNKNOWN", None, None, Some(Active)),
        ("ERROR", Some("error"), None, Some(Error)),
        ("ACTIVE", Some("error"), None, Some(Error)),
        ("ERROR", None, None, Some(Error)),
        ("ACTIVE", Some("active"), Some("deleting"), None),
        ("ERROR", Some("error"), Some("deleting"), None),
        ("DELETED", Some("deleted"), None, None),
        ("SOFT_DELETED", Some("soft-delete"), None, None),
    ];
    for (status, vm, task, expected) in cases {
        assert_eq!(
            state_of(Some(status), *vm, *task),
            *expected,
            "{status} / {vm:?} / {task:?}"
        );
    }
}

fn server(addresses: serde_json::Value) -> Server {
    serde_json::from_value(json!({
        "id": "f5dc173b-6804-445a-a6d8-c705dad5b5eb",
        "name": "gw-20260101000000-0",
        "status": "ACTIVE",
        "addresses": addresses,
        "created": "2013-09-03T04:01:32Z",
        "metadata": {"scaler-pool": "gw"}
    }))
    .unwrap()
}

#[test]
fn addresses_pick_floating_then_public_network_and_prefer_ipv4() {
    // Compute API, "List Servers Detailed": addresses per network with
    // OS-EXT-IPS:type fixed or floating.
    let s = server(json!({"private": [
        {"addr": "192.168.0.3", "version": 4, "OS-EXT-IPS:type": "fixed"},
        {"addr": "203.0.113.7", "version": 4, "OS-EXT-IPS:type": "floating"}
    ]}));
    assert_eq!(
        addresses_of(&s, None).unwrap(),
        (
            Some("192.168.0.3".parse().unwrap()),
            Some("203.0.113.7".parse().unwrap())
        )
    );
    // OVHcloud: Ext-Net hands out public addresses as fixed ones, IPv6 too.
    let s = server(json!({
        "Ext-Net": [
            {"addr": "2001:db8::5", "version": 6, "OS-EXT-IPS:type": "fixed"},
            {"addr": "198.51.100.4", "version": 4, "OS-EXT-IPS:type": "fixed"}
        ],
        "backend": [{"addr": "10.1.0.9", "version": 4, "OS-EXT-IPS:type": "fixed"}]
    }));
    assert_eq!(
        addresses_of(&s, Some("Ext-Net")).unwrap(),
        (
            Some("10.1.0.9".parse().unwrap()),
            Some("198.51.100.4".parse().unwrap())
        )
    );
    // Without public_network, every fixed address is private.
    assert_eq!(
        addresses_of(&s, None).unwrap(),
        (Some("198.51.100.4".parse().unwrap()), None)
    );
    // Only a public network: the public address is the private one too.
    let s = server(json!({"Ext-Net": [{"addr": "198.51.100.4", "version": 4}]}));
    assert_eq!(
        addresses_of(&s, Some("Ext-Net")).unwrap(),
        (
            Some("198.51.100.4".parse().unwrap()),
            Some("198.51.100.4".parse().unwrap())
        )
    );
    // Building: no address yet.
    assert_eq!(
        addresses_of(&server(json!({})), None).unwrap(),
        (None, None)
    );
    let err = addresses_of(&server(json!({"n": [{"addr": "nope"}]})), None).unwrap_err();
    assert!(err.contains("invalid address \"nope\""), "{err}");
}

#[test]
fn pool_servers_carry_the_name_prefix_and_the_metadata() {
    let mut s = server(json!({}));
    let markers = OpenStackMembership::markers("gw");
    let matches = |s: &Server, pool: &str| {
        OpenStackMembership::markers(pool).matches(pool, &s.name, &|k| metadata_of(s, k))
    };
    assert_eq!(metadata_of(&s, POOL_METADATA_KEY).as_deref(), Some("gw"));
    assert!(markers.name_matches(&s.name));
    assert!(!matches(&s, "other"));
    s.metadata = None;
    assert!(!matches(&s, "gw"));
}

#[test]
fn next_links_give_the_marker() {
    assert_eq!(
        marker_of(
            "http://h/v2.1/servers/detail?limit=2&marker=f5dc173b-6804-445a-a6d8-c705dad5b5eb"
        )
        .as_deref(),
        Some("f5dc173b-6804-445a-a6d8-c705dad5b5eb")
    );
    assert_eq!(
        marker_of("http://h/flavors/detail?marker=b2%2D7&limit=1").as_deref(),
        Some("b2-7")
    );
    assert_eq!(marker_of("http://h/servers/detail?limit=2"), None);
    assert!(looks_like_id("70a599e0-31e7-49b7-b260-868f441e862b"));
    assert!(looks_like_id("70a599e031e749b7b260868f441e862b"));
    assert!(!looks_like_id("Ext-Net"));
    assert!(!looks_like_id("Debian 12"));
}

#[test]
fn bad_values_are_configuration_errors() {
    let parse = |extra: &str| {
        let mut config: OpenStackConfig =
            toml::from_str(&format!("kind = \"openstack\"\nimage = \"i\"\n{extra}")).unwrap();
        config.prepare(Path::new("/etc/scaler"), "gw")
    };
    assert!(parse("page_size = 0").unwrap_err().contains("page_size"));
    assert!(
        parse("metadata = { scaler-pool = \"x\" }")
            .unwrap_err()
            .contains("scaler-pool")
    );
    assert!(
        parse("floating_ip_description = \"\"")
            .unwrap_err()
            .contains("floating_ip_description")
    );
    assert!(
        parse("user_data_vars = { role = \"sip\" }")
            .unwrap_err()
            .contains("user_data_template is not")
    );
    let err = parse("user_data_template = \"/nonexistent/init.sh\"").unwrap_err();
    assert!(
        err.contains("provider.user_data_template") && err.contains("/nonexistent/init.sh"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.sh");
    std::fs::write(&big, "x".repeat(50_000)).unwrap();
    let err = parse(&format!(
        "user_data_template = {:?}",
        big.display().to_string()
    ))
    .unwrap_err();
    assert!(err.contains("more than the 65535"), "{err}");
    let unknown =
        toml::from_str::<OpenStackConfig>("kind = \"openstack\"\nimage = \"i\"\nflavour = []");
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `flavour`")
    );
}
