//! Unit tests of the join: rows in the forms Kamailio writes them, and the
//! hostile ones that once made a host with a call look idle.

use super::*;
use crate::model::{Instance, InstanceState};

fn row(
    id: u64,
    username: &str,
    contact: &str,
    received: Option<&str>,
    locked: bool,
    to_stop: bool,
) -> Row {
    Row {
        id,
        username: username.into(),
        contact: contact.into(),
        received: received.map(String::from),
        locked,
        to_stop,
        live: true,
    }
}

fn expired(mut row: Row) -> Row {
    row.live = false;
    row
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn instance(name: &str, address: &str) -> Instance {
    Instance {
        id: format!("id-{name}"),
        name: name.into(),
        state: InstanceState::Active,
        private_ip: Some(ip(address)),
        public_ip: None,
        vcpus: 4,
        instance_type: None,
        created_at: chrono::Utc::now(),
        adopted: false,
    }
}

fn dialogs(contacts: &[&str]) -> Vec<Dialog> {
    contacts
        .iter()
        .enumerate()
        .map(|(i, c)| Ok((format!("dialog row {}", i + 1), c.to_string())))
        .collect()
}

fn states(obs: &GatewayObservation) -> Vec<(String, GatewayState)> {
    obs.gateways
        .iter()
        .map(|g| (format!("{} on {}", g.id, g.host), g.state))
        .collect()
}

fn join(rows: Vec<Row>, calls: &[&str], instances: &[Instance]) -> GatewayObservation {
    gateways_from(rows, &dialogs(calls), "mediagw", &Hosts::new(instances)).0
}

#[test]
fn host_from_received_else_contact_and_busy_by_username_or_alias() {
    let rows = vec![
        row(
            1,
            "127.0.1.10.mediagw.0",
            "sip:127.0.1.10.mediagw.0@127.0.2.10:5060",
            Some("sip:127.0.1.10:5270"),
            false,
            false,
        ),
        row(
            2,
            "127.0.1.10.mediagw.1",
            "sip:127.0.1.10.mediagw.1@127.0.2.10:5062",
            Some("sip:127.0.1.10:5272"),
            false,
            false,
        ),
        row(
            3,
            "127.0.1.11.mediagw.0",
            "sip:127.0.1.11.mediagw.0@127.0.1.11:5060",
            None,
            false,
            false,
        ),
        row(
            4,
            "127.0.1.12.mediagw.0",
            "sip:127.0.1.12.mediagw.0@127.0.1.12:5060",
            None,
            true,
            false,
        ),
        row(
            5,
            "127.0.1.13.mediagw.0",
            "sip:127.0.1.13.mediagw.0@127.0.1.13:5060",
            None,
            true,
            true,
        ),
        row(7, "someone-else", "sip:x@127.0.1.14", None, false, false),
    ];
    let calls = [
        "sip:whoever@127.0.2.10:5062;alias=127.0.1.10~5272~1",
        "sip:127.0.1.11.mediagw.0@127.0.1.11:5060",
    ];
    let (obs, ids, _) = gateways_from(rows, &dialogs(&calls), "mediagw", &Hosts::default());
    assert_eq!(
        states(&obs),
        [
            (
                "127.0.1.10.mediagw.0 on 127.0.1.10".into(),
                GatewayState::Idle
            ),
            (
                "127.0.1.10.mediagw.1 on 127.0.1.10".into(),
                GatewayState::Busy
            ),
            (
                "127.0.1.11.mediagw.0 on 127.0.1.11".into(),
                GatewayState::Busy
            ),
            (
                "127.0.1.12.mediagw.0 on 127.0.1.12".into(),
                GatewayState::Busy
            ),
            (
                "127.0.1.13.mediagw.0 on 127.0.1.13".into(),
                GatewayState::Draining
            ),
        ]
    );
    assert!(obs.errors.is_empty(), "{:?}", obs.errors);
    assert!(obs.doubts.is_empty());
    assert_eq!(ids["127.0.1.10.mediagw.0"], vec![1]);
}

/// Rows in exactly the form a real Kamailio 5.6.3 wrote them in the
/// end-to-end suite (tests/e2e_kamailio.rs; source ports change from run
/// to run): SIPp gateways on 127.0.1.10 behind a NAT (advertising
/// 127.0.2.10), on 127.0.1.11 and 127.0.1.12 without one.
#[test]
fn reads_what_kamailio_5_6_3_writes() {
    let rows = vec![
        row(
            1,
            "127.0.1.10.mediagw.0",
            "sip:127.0.1.10.mediagw.0@127.0.2.10:5060",
            Some("sip:127.0.1.10:45839"),
            false,
            false,
        ),
        row(
            2,
            "127.0.1.10.mediagw.1",
            "sip:127.0.1.10.mediagw.1@127.0.2.10:5062",
            Some("sip:127.0.1.10:45841"),
            false,
            false,
        ),
        row(
            3,
            "127.0.1.11.mediagw.0",
            "sip:127.0.1.11.mediagw.0@127.0.1.11:41003",
            None,
            false,
            false,
        ),
        row(
            4,
            "127.0.1.12.mediagw.0",
            "sip:127.0.1.12.mediagw.0@127.0.1.12:5270",
            None,
            false,
            false,
        ),
    ];
    // A confirmed call to a NATed gateway, and one to a gateway without NAT.
    let calls = [
        "sip:127.0.1.10.mediagw.1@127.0.2.10:5062;alias=127.0.1.10~45841~1",
        "sip:127.0.1.12.mediagw.0@127.0.1.12:5270",
    ];
    let (obs, _, directory) = gateways_from(rows, &dialogs(&calls), "mediagw", &Hosts::default());
    assert_eq!(
        states(&obs),
        [
            (
                "127.0.1.10.mediagw.0 on 127.0.1.10".into(),
                GatewayState::Idle
            ),
            (
                "127.0.1.10.mediagw.1 on 127.0.1.10".into(),
                GatewayState::Busy
            ),
            (
                "127.0.1.11.mediagw.0 on 127.0.1.11".into(),
                GatewayState::Idle
            ),
            (
                "127.0.1.12.mediagw.0 on 127.0.1.12".into(),
                GatewayState::Busy
            ),
        ]
    );
    assert!(obs.errors.is_empty());
    // The NATed call is found by its alias alone too (a gateway whose
    // Contact user is not its registered username).
    let tied = directory
        .tie("sip:anonymous@127.0.2.99:5062;alias=127.0.1.10~45841~1")
        .unwrap();
    assert!(tied.usernames.contains("127.0.1.10.mediagw.1"));
    assert_eq!(tied.hosts, [ip("127.0.1.10")].into());
}

#[test]
fn an_upper_case_scheme_is_a_sip_uri() {
    let rows = vec![row(
        1,
        "gw.mediagw.0",
        "SIP:gw.mediagw.0@10.0.0.1:5060",
        None,
        true,
        false,
    )];
    let obs = join(rows, &[], &[]);
    assert_eq!(
        states(&obs),
        [("gw.mediagw.0 on 10.0.0.1".into(), GatewayState::Busy)]
    );
    assert!(obs.doubts.is_empty());
}

#[test]
fn a_host_name_ties_to_the_instance_of_that_name_or_is_a_doubt() {
    let instances = [
        instance("mediagw-1", "10.0.0.1"),
        instance("twin", "10.0.0.2"),
        instance("TWIN", "10.0.0.3"),
    ];
    let rows = vec![
        row(
            1,
            "a.mediagw.0",
            "sip:a.mediagw.0@MediaGW-1:5060",
            None,
            true,
            false,
        ),
        row(
            2,
            "b.mediagw.0",
            "sip:b.mediagw.0@gw.example.com",
            None,
            false,
            false,
        ),
        row(3, "c.mediagw.0", "sip:c.mediagw.0@twin", None, false, false),
    ];
    let obs = join(rows, &[], &instances);
    assert_eq!(
        states(&obs),
        [("a.mediagw.0 on 10.0.0.1".into(), GatewayState::Busy)]
    );
    assert_eq!(obs.doubts.len(), 2, "{:?}", obs.doubts);
    assert!(
        obs.doubts[0].contains("location row 2 (b.mediagw.0)")
            && obs.doubts[0].contains("gw.example.com")
    );
    assert!(
        obs.doubts[1].contains("location row 3") && obs.doubts[1].contains("several instances")
    );
    assert_eq!(obs.errors, obs.doubts);
}

#[test]
fn unreadable_registrations_are_doubts() {
    let rows = vec![
        row(1, "a.mediagw.0", "garbage", None, false, false),
        row(
            2,
            "b.mediagw.0",
            "sip:b.mediagw.0@10.0.0.2",
            Some("sip:10.0.0.2:notaport"),
            false,
            false,
        ),
        row(3, "c.mediagw.0", "", None, false, false),
        // A username on two hosts cannot be tied to one.
        row(
            4,
            "d.mediagw.0",
            "sip:d.mediagw.0@10.0.0.4",
            None,
            false,
            false,
        ),
        row(
            5,
            "d.mediagw.0",
            "sip:d.mediagw.0@10.0.0.5",
            None,
            false,
            false,
        ),
        // Received blank: the contact gives the host.
        row(
            6,
            "e.mediagw.0",
            "sip:e.mediagw.0@10.0.0.6",
            Some("  "),
            false,
            false,
        ),
    ];
    let obs = join(rows, &[], &[]);
    assert_eq!(
        states(&obs),
        [("e.mediagw.0 on 10.0.0.6".into(), GatewayState::Idle)]
    );
    let doubts = obs.doubts.join("\n");
    for expected in [
        "location row 1 (a.mediagw.0)",
        "location row 2 (b.mediagw.0): received",
        "location row 3",
        "d.mediagw.0 is registered from several hosts (10.0.0.4, 10.0.0.5)",
    ] {
        assert!(doubts.contains(expected), "{expected} in\n{doubts}");
    }
    assert_eq!(obs.doubts.len(), 4);
}

#[test]
fn a_call_on_a_gateway_whose_registration_expired_protects_its_host() {
    let rows = vec![
        expired(row(
            1,
            "10.0.0.1.mediagw.0",
            "sip:10.0.0.1.mediagw.0@10.0.0.1:5060",
            None,
            false,
            false,
        )),
        row(
            2,
            "10.0.0.1.mediagw.1",
            "sip:10.0.0.1.mediagw.1@10.0.0.1:5062",
            None,
            false,
            false,
        ),
    ];
    let obs = join(rows, &["sip:10.0.0.1.mediagw.0@10.0.0.1:5060"], &[]);
    // The expired row is not counted; its host has a call.
    assert_eq!(
        states(&obs),
        [("10.0.0.1.mediagw.1 on 10.0.0.1".into(), GatewayState::Idle)]
    );
    assert_eq!(obs.busy_hosts, [ip("10.0.0.1")]);
    assert!(obs.doubts.is_empty());
}

#[test]
fn a_callee_contact_without_user_is_tied_by_its_address() {
    let rows = vec![
        row(
            1,
            "a.mediagw.0",
            "sip:a.mediagw.0@127.0.1.1:5060",
            None,
            false,
            false,
        ),
        row(
            2,
            "b.mediagw.0",
            "sip:b.mediagw.0@127.0.2.10:5062",
            Some("sip:127.0.1.2:40000"),
            false,
            false,
        ),
    ];
    let instances = [
        instance("one", "127.0.1.1"),
        instance("two", "127.0.1.2"),
        instance("three", "127.0.1.3"),
    ];
    // By the contact address; by the advertised address; on an instance
    // without any registration; a call elsewhere.
    let calls = [
        "sip:127.0.1.1:5060",
        "<sip:127.0.2.10:5062>",
        "sip:127.0.1.3",
        "sip:bob@192.0.2.7:5060",
    ];
    let obs = join(rows, &calls, &instances);
    assert_eq!(
        states(&obs),
        [
            ("a.mediagw.0 on 127.0.1.1".into(), GatewayState::Busy),
            ("b.mediagw.0 on 127.0.1.2".into(), GatewayState::Busy),
        ]
    );
    assert_eq!(
        obs.busy_hosts,
        [ip("127.0.1.1"), ip("127.0.1.2"), ip("127.0.1.3")]
    );
    assert!(obs.doubts.is_empty(), "{:?}", obs.doubts);
}

#[test]
fn calls_that_cannot_be_tied_to_one_host_are_doubts() {
    let rows = vec![
        row(
            1,
            "a.mediagw.0",
            "sip:a.mediagw.0@127.0.2.10:5060",
            Some("sip:127.0.1.1:40000"),
            false,
            false,
        ),
        row(
            2,
            "b.mediagw.0",
            "sip:b.mediagw.0@127.0.2.10:5062",
            Some("sip:127.0.1.2:40000"),
            false,
            false,
        ),
        expired(row(3, "c.mediagw.0", "junk", None, false, false)),
    ];
    let instances = [instance("gw-one", "127.0.1.1")];
    let mut calls = dialogs(&[
        "garbage",
        "sip:127.0.2.10:5999",
        "sip:someone@gw.example.com",
        "sip:c.mediagw.0@192.0.2.1",
        "sip:u@127.0.2.10:5060;alias=bad",
        // Tied: by instance name, by user despite a foreign host name.
        "sip:gw-one:5060",
        "sip:b.mediagw.0@gw.example.com",
    ]);
    calls.push(Err(
        "dialog row 99: state 0 is not one of Kamailio's (1 to 5)".into(),
    ));
    let (obs, _, _) = gateways_from(rows, &calls, "mediagw", &Hosts::new(&instances));
    let doubts = obs.doubts.join("\n");
    for expected in [
        "dialog row 1: callee_contact \"garbage\"",
        "dialog row 2: callee_contact \"sip:127.0.2.10:5999\": 127.0.2.10:5999 may be on any of the hosts 127.0.1.1, 127.0.1.2",
        "dialog row 3: callee_contact \"sip:someone@gw.example.com\"",
        "dialog row 4: callee_contact \"sip:c.mediagw.0@192.0.2.1\": names gateway c.mediagw.0",
        "dialog row 5",
        "dialog row 99: state 0",
    ] {
        assert!(doubts.contains(expected), "{expected} in\n{doubts}");
    }
    assert_eq!(obs.doubts.len(), 6, "{doubts}");
    assert_eq!(obs.busy_hosts, [ip("127.0.1.1"), ip("127.0.1.2")]);
}
