//! Hostile input, SIP pools: rows a real Kamailio database can hold that once
//! made a host with a call in progress look idle (an upper-case `SIP:`
//! scheme, a host name, an expired registration under a confirmed call, a
//! callee contact without user part, an unreadable dialog, NULL in a
//! nullable `locked`). Each test runs the real binary (or the real source)
//! against a real MariaDB holding Kamailio's schema, and fails without the
//! fix it pins. The rule they check: a record that cannot be read or tied to
//! exactly one host suspends every drain and destroy of the pool for the
//! pass, creation still runs, the report names the record, the pass exits 3.

mod common;

use common::*;
use scaler::pool::sip::{SipConfig, SipSource};
use scaler::pool::{DrainOutcome, GatewaySource, GatewayState, Hosts};
use scaler::provider::InstanceState;

const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";
const IDLE4: &str = "{ idle_min = 4, load_max = 0.8, max_gateways = 40 }";

/// SQL string literal.
fn q(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// Inserts a `location` row as it is, `expires` an SQL expression.
fn location(
    db: &mut Kamailio,
    username: &str,
    contact: &str,
    received: Option<&str>,
    locked: bool,
    expires: &str,
) {
    db.exec(&format!(
        "INSERT INTO location (ruid, username, contact, received, expires, callid, user_agent, locked, to_stop) \
         VALUES (UUID(), {}, {}, {}, {expires}, UUID(), 'hostile', {}, 0)",
        q(username),
        q(contact),
        received.map_or("NULL".to_string(), q),
        locked as i32
    ));
}

const LIVE: &str = "NOW() + INTERVAL 1 HOUR";
const EXPIRED: &str = "NOW() - INTERVAL 5 MINUTE";

/// Inserts a `dialog` row with this callee contact and state.
fn dialog(db: &mut Kamailio, callee_contact: &str, state: u32) {
    db.exec(&format!(
        "INSERT INTO dialog (hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq, \
         caller_contact, callee_contact, caller_sock, callee_sock, state, start_time, req_uri) \
         VALUES (1, FLOOR(RAND() * 1000000), UUID(), 'sip:caller@127.0.0.1', 'ft', 'sip:gw@127.0.0.1', 'tt', '1', '1', \
         'sip:caller@127.0.0.1:5090', {}, 'udp:127.0.0.1:5060', 'udp:127.0.0.1:5060', {state}, UNIX_TIMESTAMP(), 'sip:gw@127.0.0.1')",
        q(callee_contact)
    ));
}

fn kinds(json: &serde_json::Value) -> Vec<(String, String)> {
    json["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["instance"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn name_of(ws: &Workspace, id: &str) -> String {
    ws.cloud()
        .instances
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.name.clone())
        .expect("instance listed")
}

#[test]
fn a_locked_row_with_an_upper_case_scheme_keeps_its_host() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsupper");
    let busy = ws.add_instance("hsupper", "127.0.1.1", InstanceState::Active, 60, 4);
    let idle = ws.add_instance("hsupper", "127.0.1.2", InstanceState::Active, 60, 4);
    location(
        &mut db,
        "127.0.1.1.mediagw.0",
        "SIP:127.0.1.1.mediagw.0@127.0.1.1:5060",
        None,
        true,
        LIVE,
    );
    db.register("127.0.1.2", 0, false, false);
    let config = sip_config(&ws, &db, "hsupper", TIGHT, "");

    let json = run(&config, 0);
    assert_eq!(json["observed"]["gateways"]["busy"], 1, "{json}");
    assert_eq!(
        kinds(&json),
        [("drain".into(), idle.clone()), ("destroy".into(), idle)]
    );
    assert_eq!(ws.instance_ids("hsupper"), [busy]);
}

#[test]
fn a_host_name_ties_a_row_to_the_instance_of_that_name_and_nothing_else() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsname");
    let named = ws.add_instance("hsname", "127.0.1.1", InstanceState::Active, 60, 4);
    let idle = ws.add_instance("hsname", "127.0.1.2", InstanceState::Active, 60, 4);
    assert_ne!(idle, named);
    let name = name_of(&ws, &named).to_uppercase();
    location(
        &mut db,
        "a.mediagw.0",
        &format!("sip:a.mediagw.0@{name}:5060"),
        None,
        true,
        LIVE,
    );
    db.register("127.0.1.2", 0, false, false);
    let config = sip_config(&ws, &db, "hsname", TIGHT, "");

    // The name is one instance's: the row is that instance's busy gateway.
    let json = run(&config, 0);
    assert_eq!(json["observed"]["gateways"]["busy"], 1, "{json}");
    assert_eq!(
        kinds(&json),
        [("drain".into(), idle.clone()), ("destroy".into(), idle)]
    );
    assert_eq!(ws.instance_ids("hsname"), std::slice::from_ref(&named));

    // A name that is no instance's (never resolved, even when it would):
    // the pool is suspended, even for the instance in error.
    let error = ws.add_instance("hsname", "127.0.1.3", InstanceState::Error, 60, 4);
    let unregistered = ws.add_instance("hsname", "127.0.1.4", InstanceState::Active, 60, 4);
    location(
        &mut db,
        "b.mediagw.0",
        "sip:b.mediagw.0@localhost:5060",
        None,
        true,
        LIVE,
    );
    let json = run(&config, 3);
    let errors = errors(&json);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("location row 3 (b.mediagw.0)") && e.contains("localhost")),
        "{errors:?}"
    );
    assert!(kinds(&json).is_empty(), "{json}");
    assert_eq!(ws.instance_ids("hsname"), [named, error, unregistered]);
}

#[test]
fn an_expired_registration_under_a_confirmed_call_keeps_its_host() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsexpired");
    let refreshed_failed = ws.add_instance("hsexpired", "127.0.1.1", InstanceState::Active, 60, 4);
    let no_row_at_all = ws.add_instance("hsexpired", "127.0.1.2", InstanceState::Error, 60, 4);
    let idle = ws.add_instance("hsexpired", "127.0.1.3", InstanceState::Active, 60, 4);
    location(
        &mut db,
        "127.0.1.1.mediagw.0",
        "sip:127.0.1.1.mediagw.0@127.0.1.1:5060",
        None,
        false,
        EXPIRED,
    );
    dialog(&mut db, "sip:127.0.1.1.mediagw.0@127.0.1.1:5060", 4);
    // A callee contact without user part, on an instance without any row.
    dialog(&mut db, "sip:127.0.1.2:5060", 4);
    db.register("127.0.1.3", 0, false, false);
    let config = sip_config(&ws, &db, "hsexpired", TIGHT, "");

    let json = run(&config, 0);
    // The expired row is not counted as registered.
    assert_eq!(json["observed"]["gateways"]["registered"], 1, "{json}");
    assert_eq!(
        kinds(&json),
        [("drain".into(), idle.clone()), ("destroy".into(), idle)]
    );
    assert_eq!(
        ws.instance_ids("hsexpired"),
        [refreshed_failed, no_row_at_all]
    );
    let notes = json["notes"].to_string();
    assert!(
        notes.contains("in error but has a call in progress"),
        "{notes}"
    );
}

#[test]
fn a_callee_contact_without_user_part_makes_its_gateway_busy() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsnouser");
    let called = ws.add_instance("hsnouser", "127.0.1.1", InstanceState::Active, 60, 4);
    let ended = ws.add_instance("hsnouser", "127.0.1.2", InstanceState::Active, 60, 4);
    db.register("127.0.1.1", 0, false, false);
    db.register("127.0.1.2", 0, false, false);
    dialog(&mut db, "sip:127.0.1.1:5060", 4);
    // A terminated dialog (state 5) protects nothing.
    dialog(&mut db, "sip:127.0.1.2.mediagw.0@127.0.1.2:5060", 5);
    let config = sip_config(&ws, &db, "hsnouser", TIGHT, "");

    let json = run(&config, 0);
    assert_eq!(json["observed"]["gateways"]["busy"], 1, "{json}");
    assert_eq!(
        kinds(&json),
        [("drain".into(), ended.clone()), ("destroy".into(), ended)]
    );
    assert_eq!(ws.instance_ids("hsnouser"), [called]);
}

#[test]
fn an_unreadable_dialog_suspends_every_drain_and_destroy_but_not_creation() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsdialog");
    let a = ws.add_instance("hsdialog", "127.0.1.1", InstanceState::Active, 60, 4);
    let b = ws.add_instance("hsdialog", "127.0.1.2", InstanceState::Active, 60, 4);
    let error = ws.add_instance("hsdialog", "127.0.1.3", InstanceState::Error, 60, 4);
    let unregistered = ws.add_instance("hsdialog", "127.0.1.4", InstanceState::Active, 60, 4);
    let to_stop = ws.add_instance("hsdialog", "127.0.1.5", InstanceState::Active, 60, 4);
    db.register("127.0.1.1", 0, false, false);
    db.register("127.0.1.2", 0, false, false);
    db.register("127.0.1.5", 0, true, true);
    dialog(&mut db, "sip:127.0.1.1:5060", 4);
    dialog(&mut db, "<sip:gw@127.0.1.9:5060", 4);
    dialog(&mut db, "sip:gw@127.0.1.9:5060", 0);
    let config = sip_config(&ws, &db, "hsdialog", TIGHT, "");
    let all = [a, b, error, unregistered, to_stop];

    let json = run(&config, 3);
    let errors = errors(&json);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("dialog row 2") && e.contains("<sip:gw@127.0.1.9:5060")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("dialog row 3: state 0")),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(kinds(&json).is_empty(), "{json}");
    assert_eq!(ws.instance_ids("hsdialog"), all);
    assert!(
        json["notes"].to_string().contains("no drain or destroy"),
        "{json}"
    );

    // Creation still runs while the pool is suspended.
    let config = sip_config(&ws, &db, "hsdialog", IDLE4, "");
    let json = run(&config, 3);
    let created: Vec<_> = kinds(&json)
        .into_iter()
        .filter(|(k, _)| k == "create")
        .collect();
    assert_eq!(created.len(), kinds(&json).len(), "{json}");
    assert!(!created.is_empty(), "{json}");
    assert_eq!(ws.instance_ids("hsdialog").len(), all.len() + created.len());
}

#[test]
fn null_in_a_nullable_locked_column_is_a_schema_error_not_a_panic() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsnull");
    ws.add_instance("hsnull", "127.0.1.1", InstanceState::Error, 60, 4);
    db.exec("ALTER TABLE location MODIFY locked INT NULL DEFAULT NULL");
    db.exec(
        "INSERT INTO location (ruid, username, contact, expires, callid) \
         VALUES (UUID(), '127.0.1.2.mediagw.0', 'sip:127.0.1.2.mediagw.0@127.0.1.2', NOW() + INTERVAL 1 HOUR, UUID())",
    );
    let config = sip_config(&ws, &db, "hsnull", TIGHT, "");
    let before = std::fs::read_to_string(ws.cloud_file()).unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(69);
    let errors = errors(&run.json());
    assert!(
        errors.iter().any(|e| e.contains("location row 1")
            && e.contains("NULL in column locked")
            && e.contains("NOT NULL")),
        "{errors:?}"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(ws.cloud_file()).unwrap(), before);
}

#[test]
fn other_unexpected_values_are_doubts_never_panics() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hsodd");
    let a = ws.add_instance("hsodd", "127.0.1.1", InstanceState::Active, 60, 4);
    let error = ws.add_instance("hsodd", "127.0.1.2", InstanceState::Error, 60, 4);
    db.register("127.0.1.1", 0, false, false);
    db.exec("ALTER TABLE location MODIFY contact VARCHAR(512) NULL");
    db.exec("ALTER TABLE location MODIFY to_stop VARCHAR(8) NOT NULL DEFAULT '0'");
    // Contact NULL and received '': no host; to_stop not a number.
    db.exec(
        "INSERT INTO location (ruid, username, contact, received, expires, callid) \
         VALUES (UUID(), 'x.mediagw.0', NULL, '', NOW() + INTERVAL 1 HOUR, UUID())",
    );
    db.exec(
        "INSERT INTO location (ruid, username, contact, expires, callid, to_stop) \
         VALUES (UUID(), 'y.mediagw.0', 'sip:y.mediagw.0@127.0.1.1', NOW() + INTERVAL 1 HOUR, UUID(), 'yes')",
    );
    // Another pool's row (the LIKE matches it too) is none of ours.
    db.exec(
        "INSERT INTO location (ruid, username, contact, expires, callid, to_stop) \
         VALUES (UUID(), 'z.mediagw2.0', NULL, NOW() + INTERVAL 1 HOUR, UUID(), 'no')",
    );
    let config = sip_config(&ws, &db, "hsodd", TIGHT, "");
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(3);
    let errors = errors(&run.json());
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("location row 2 (x.mediagw.0)")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("location row 3: to_stop")),
        "{errors:?}"
    );
    assert!(kinds(&run.json()).is_empty());
    assert_eq!(ws.instance_ids("hsodd"), [a, error]);
}

/// The re-check inside the drain transaction ties calls as the observation
/// does: a dialog that starts between them and names the host's address
/// only (no user part, no alias) keeps the host, and nothing is marked.
#[test]
fn the_drain_recheck_sees_a_call_named_by_address_only() {
    let mut db = Kamailio::new("hsrecheck");
    db.register("127.0.1.1", 0, false, false);
    db.register("127.0.1.1", 1, false, false);
    let password = mysql::Opts::from_url(
        &std::env::var("SCALER_TEST_MYSQL")
            .unwrap_or_else(|_| "mysql://scaler:scaler@127.0.0.1:3306".to_string()),
    )
    .unwrap()
    .get_pass()
    .map(String::from);
    let config: SipConfig = toml::from_str(&format!("url = {:?}", db.url())).unwrap();
    let config = SipConfig { password, ..config };
    let mut source = SipSource::new(&config, "mediagw").unwrap();
    let observed = source.observe(&Hosts::default()).unwrap();
    assert_eq!(observed.gateways.len(), 2);
    assert!(
        observed
            .gateways
            .iter()
            .all(|g| g.state == GatewayState::Idle)
    );
    let host = observed.gateways[0].host;

    dialog(&mut db, "<sip:127.0.1.1:5062>", 4);
    let outcome = source.drain(host, &observed.gateways).unwrap();
    assert!(
        matches!(&outcome, DrainOutcome::Busy(why) if why.contains("127.0.1.1.mediagw.1 has a call")),
        "{outcome:?}"
    );
    assert!(
        db.rows()
            .iter()
            .all(|(_, locked, to_stop)| (*locked, *to_stop) == (0, 0))
    );

    // An unreadable dialog keeps the host too; without one it drains.
    db.exec("UPDATE dialog SET callee_contact = 'sip:' WHERE id = 1");
    let outcome = source.drain(host, &observed.gateways).unwrap();
    assert!(
        matches!(&outcome, DrainOutcome::Busy(why) if why.contains("dialog row 1")),
        "{outcome:?}"
    );
    db.exec("DELETE FROM dialog");
    assert_eq!(
        source.drain(host, &observed.gateways).unwrap(),
        DrainOutcome::Drained
    );
    assert!(
        db.rows()
            .iter()
            .all(|(_, locked, to_stop)| (*locked, *to_stop) == (1, 1))
    );
}
