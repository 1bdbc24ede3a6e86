//! End to end with a real Kamailio 5.6 and real SIP gateways: SIPp gateways
//! register with Kamailio (usrloc db_mode 3, NAT handling as in SIPMediaGW's
//! production script), a SIPp caller holds a call through Kamailio, and the
//! real `scaler` binary observes, drains and cleans up from the rows
//! Kamailio itself wrote. Needs `kamailio`, `sipp` and MariaDB
//! (scripts/services.sh); fails with a hint when one is missing.

mod common;

use common::e2e::{Gateway, Proxy, wait_for};
use common::*;
use scaler::provider::InstanceState;
use std::time::Duration;

/// `busy + 0` gateways wanted: every idle host is surplus.
const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";

/// Registrations are refreshed well within their lifetime, as a gateway does.
const EXPIRES: u32 = 30;
const REFRESH: Duration = Duration::from_secs(5);

/// Registrations that outlive the test without a refresh: after its host is
/// destroyed, a stopped gateway cannot re-register behind the test's back.
const LONG: u32 = 600;
const NO_REFRESH: Duration = Duration::from_secs(3600);

/// `observed.gateways` as `[registered, busy, idle, draining, pending]`.
fn gateways(json: &serde_json::Value) -> [u64; 5] {
    let g = &json["observed"]["gateways"];
    ["registered", "busy", "idle", "draining", "pending"]
        .map(|k| g[k].as_u64().unwrap_or_else(|| panic!("no {k} in {json}")))
}

fn json(config: &str, command: &[&str]) -> serde_json::Value {
    let mut args = vec!["-c", config, "--format", "json"];
    args.extend_from_slice(command);
    scaler(&args).expect(0).json()
}

/// `(kind, status, reason, instance)` of each action.
fn actions(json: &serde_json::Value) -> Vec<(String, String, String, String)> {
    json["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            let field = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (
                field("kind"),
                field("status"),
                field("reason"),
                field("instance"),
            )
        })
        .collect()
}

fn action(
    kind: &str,
    status: &str,
    reason: &str,
    instance: &str,
) -> (String, String, String, String) {
    (kind.into(), status.into(), reason.into(), instance.into())
}

fn describe(proxy: &Proxy, gateways: &[&Gateway]) -> String {
    let mut text = proxy.describe();
    for gateway in gateways {
        text.push('\n');
        text.push_str(&gateway.describe());
    }
    text
}

/// Host A's rows carry the NAT source address in `received`; host B's leave it NULL.
fn assert_registered_rows(
    db: &mut Kamailio,
    (a0, host_a): (&Gateway, &str),
    (b0, host_b): (&Gateway, &str),
) {
    let row = db.location_of(&a0.username).expect("a0 registered");
    assert_eq!(
        row.contact,
        format!("sip:{}@{}", a0.username, a0.advertised)
    );
    assert_eq!(
        row.received,
        Some(format!("sip:{host_a}:{}", a0.port)),
        "NAT: received is the source address, without ;transport= for UDP"
    );
    let row = db.location_of(&b0.username).expect("b0 registered");
    assert_eq!(
        row.contact,
        format!("sip:{}@{host_b}:{}", b0.username, b0.port)
    );
    assert_eq!(row.received, None, "no NAT: Kamailio leaves received NULL");
}

/// With a call on host A, the plan keeps it and drains and destroys host B.
fn assert_only_host_b_can_go(config: &str, instance_b: &str) {
    let plan = json(config, &["plan"]);
    assert_eq!(gateways(&plan), [4, 1, 3, 0, 0], "{plan}");
    assert_eq!(plan["decision"]["target"], 1);
    assert_eq!(plan["decision"]["delta"], -3);
    // Only host B can go: host A has the call.
    assert_eq!(
        actions(&plan),
        [
            action("drain", "planned", "scale_down", instance_b),
            action("destroy", "planned", "drained", instance_b)
        ]
    );
}

/// A run drains and destroys host B, deletes its rows and leaves host A's unlocked.
fn assert_host_b_is_scaled_down(
    ws: &Workspace,
    db: &mut Kamailio,
    config: &str,
    (instance_a, instance_b): (&String, &str),
    (a0, a1): (&Gateway, &Gateway),
) {
    let run = json(config, &["run"]);
    assert_eq!(
        actions(&run),
        [
            action("drain", "done", "scale_down", instance_b),
            action("destroy", "done", "drained", instance_b)
        ],
        "{run}"
    );
    assert_eq!(ws.instance_ids("e2eflow"), std::slice::from_ref(instance_a));
    let rows = db.location();
    assert_eq!(
        rows.iter()
            .map(|r| (r.username.as_str(), r.locked, r.to_stop))
            .collect::<Vec<_>>(),
        [(a0.username.as_str(), 0, 0), (a1.username.as_str(), 0, 0)],
        "host A's gateways stay unlocked, host B's rows are gone"
    );
}

/// Once its call ended, `cleanup` destroys host A and deletes its registrations.
fn assert_host_a_is_cleaned_up(ws: &Workspace, db: &mut Kamailio, config: &str, instance_a: &str) {
    let cleanup = json(config, &["cleanup"]);
    assert_eq!(
        actions(&cleanup),
        [action("destroy", "done", "to_stop", instance_a)],
        "{cleanup}"
    );
    assert!(ws.instance_ids("e2eflow").is_empty());
    assert_eq!(db.location(), [], "host A's registrations are deleted");
    let plan = json(config, &["plan"]);
    assert_eq!(gateways(&plan), [0, 0, 0, 0, 0], "{plan}");
}

#[test]
fn registrations_calls_scale_down_and_cleanup_with_a_real_kamailio() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("e2e_flow");
    let proxy = Proxy::start(&db, 600);
    // Host A sits behind a NAT (its gateways advertise 127.0.2.10, Kamailio
    // sees 127.0.1.10); host B is reachable at the address it advertises.
    let (host_a, host_b) = ("127.0.1.10", "127.0.1.11");
    let instance_a = ws.add_instance("e2eflow", host_a, InstanceState::Active, 60, 8);
    let instance_b = ws.add_instance("e2eflow", host_b, InstanceState::Active, 60, 8);
    let a0 = proxy.gateway(host_a, 0, Some("127.0.2.10"), LONG, NO_REFRESH);
    let a1 = proxy.gateway(host_a, 1, Some("127.0.2.10"), LONG, NO_REFRESH);
    let b0 = proxy.gateway(host_b, 0, None, LONG, NO_REFRESH);
    let b1 = proxy.gateway(host_b, 1, None, LONG, NO_REFRESH);
    let diagnostics = || describe(&proxy, &[&a0, &a1, &b0, &b1]);
    let config = sip_config(&ws, &db, "e2eflow", TIGHT, "");

    // Registrations become registered and idle.
    wait_for("four live registrations", diagnostics, || {
        (db.location().iter().filter(|r| r.live).count() == 4).then_some(())
    });
    assert_registered_rows(&mut db, (&a0, host_a), (&b0, host_b));
    let plan = json(&config, &["plan"]);
    assert_eq!(gateways(&plan), [4, 0, 4, 0, 0], "{plan}");
    assert_eq!(plan["observed"]["instances"]["active"], 2);

    // A call in progress makes its gateway busy.
    let call = proxy.call(&a1.username);
    let dialog = wait_for(
        "a confirmed dialog",
        || format!("{}\n{}", diagnostics(), call.describe()),
        || db.dialogs().into_iter().find(|d| d.state == 4),
    );
    assert_eq!(
        dialog.callee_contact,
        format!(
            "sip:{}@{};alias={host_a}~{}~1",
            a1.username, a1.advertised, a1.port
        ),
        "a NATed callee's contact carries alias=IP~port~proto"
    );
    assert_only_host_b_can_go(&config, &instance_b);

    // Scale-down drains only the host whose gateways are all idle; once its
    // instance is destroyed, its registrations are deleted.
    assert_host_b_is_scaled_down(
        &ws,
        &mut db,
        &config,
        (&instance_a, &instance_b),
        (&a0, &a1),
    );
    b0.stop();
    b1.stop();
    let plan = json(&config, &["plan"]);
    assert_eq!(gateways(&plan), [2, 1, 1, 0, 0], "{plan}");
    assert_eq!(plan["decision"]["delta"], -1);
    assert!(actions(&plan).is_empty(), "host A has a call: {plan}");

    // `cleanup` waits for a draining host's call, then destroys it.
    db.exec("UPDATE location SET to_stop = 1 WHERE username LIKE '127.0.1.10.mediagw.%'");
    let cleanup = json(&config, &["cleanup"]);
    assert!(actions(&cleanup).is_empty(), "{cleanup}");
    assert!(
        cleanup["notes"].as_array().expect("notes").iter().any(|n| n
            .as_str()
            .unwrap_or_default()
            .contains("waiting for its calls")),
        "{cleanup}"
    );
    assert_eq!(
        ws.instance_ids("e2eflow"),
        std::slice::from_ref(&instance_a)
    );
    proxy.end_call(&dialog);
    wait_for("the dialog row to go after BYE", diagnostics, || {
        db.dialogs().is_empty().then_some(())
    });
    let status = call
        .process
        .wait_exit(|| format!("{}\n{}", diagnostics(), call.describe()));
    assert!(
        status.success(),
        "the caller saw a failed call\n{}",
        call.describe()
    );
    assert_host_a_is_cleaned_up(&ws, &mut db, &config, &instance_a);
}

#[test]
fn a_new_instance_on_a_reused_address_starts_clean() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("e2e_reuse");
    let proxy = Proxy::start(&db, 600);
    let (nat, direct) = ("127.0.1.30", "127.0.1.31");
    let old_nat = ws.add_instance("e2ereuse", nat, InstanceState::Active, 60, 4);
    let old_direct = ws.add_instance("e2ereuse", direct, InstanceState::Active, 60, 4);
    let first = proxy.gateway(nat, 0, Some("127.0.2.30"), LONG, NO_REFRESH);
    let other = proxy.gateway(direct, 0, None, LONG, NO_REFRESH);
    let diagnostics = || describe(&proxy, &[&first, &other]);
    wait_for("two live registrations", diagnostics, || {
        (db.location().iter().filter(|r| r.live).count() == 2).then_some(())
    });

    // What Kamailio does: a new registration of the same contact (a new
    // gateway process, so a new Call-ID) updates the row in place and keeps
    // SIPMediaGW's marks.
    db.exec("UPDATE location SET locked = 1, to_stop = 1 WHERE username LIKE '127.0.1.30.%'");
    let before = db.location_of(&first.username).expect("registered");
    first.stop();
    let second = proxy.gateway(nat, 0, Some("127.0.2.30"), LONG, NO_REFRESH);
    let diagnostics = || describe(&proxy, &[&second, &other]);
    let after = wait_for("the new Call-ID in the same row", diagnostics, || {
        db.location_of(&second.username)
            .filter(|r| r.callid != before.callid)
    });
    assert_eq!(db.location().len(), 2, "updated in place, no new row");
    assert_eq!((after.locked, after.to_stop), (1, 1), "{after:?}");
    assert_eq!(after.received, Some(format!("sip:{nat}:{}", second.port)));

    // Both hosts go (one marked to stop, one idle): their rows go with them.
    let config = sip_config(&ws, &db, "e2ereuse", TIGHT, "");
    let run = json(&config, &["run"]);
    assert_eq!(
        actions(&run),
        [
            action("destroy", "done", "to_stop", &old_nat),
            action("drain", "done", "scale_down", &old_direct),
            action("destroy", "done", "drained", &old_direct)
        ],
        "{run}"
    );
    assert_eq!(db.location(), []);
    second.stop();
    other.stop();

    // The cloud hands the same addresses to new instances: their gateways
    // start clean, neither draining nor busy.
    let new_nat = ws.add_instance("e2ereuse", nat, InstanceState::Active, 1, 4);
    let new_direct = ws.add_instance("e2ereuse", direct, InstanceState::Active, 1, 4);
    let third = proxy.gateway(nat, 0, Some("127.0.2.30"), LONG, NO_REFRESH);
    let fourth = proxy.gateway(direct, 0, None, LONG, NO_REFRESH);
    let diagnostics = || describe(&proxy, &[&third, &fourth]);
    wait_for("the new instances' registrations", diagnostics, || {
        (db.location().iter().filter(|r| r.live).count() == 2).then_some(())
    });
    assert!(
        db.location()
            .iter()
            .all(|r| (r.locked, r.to_stop) == (0, 0))
    );
    let plan = json(&config, &["plan"]);
    assert_eq!(gateways(&plan), [2, 0, 2, 0, 0], "{plan}");
    let cleanup = json(&config, &["cleanup", "--dry-run"]);
    assert!(actions(&cleanup).is_empty(), "{cleanup}");
    assert_eq!(ws.instance_ids("e2ereuse"), [new_nat, new_direct]);
}

#[test]
fn registrations_that_expire_stop_counting() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("e2e_expiry");
    // usrloc's timer runs every 10 minutes: expired rows stay in the table,
    // as they do for up to a minute with Kamailio's default timer.
    let proxy = Proxy::start(&db, 600);
    let host = "127.0.1.20";
    ws.add_instance("e2eexpiry", host, InstanceState::Active, 60, 8);
    // Gateway 0 registers once for 10 s and never refreshes (it crashed);
    // gateway 1 keeps refreshing.
    let lapsing = proxy.gateway(host, 0, Some("127.0.2.20"), 10, Duration::from_secs(3600));
    let steady = proxy.gateway(host, 1, None, EXPIRES, REFRESH);
    let diagnostics = || describe(&proxy, &[&lapsing, &steady]);
    let config = sip_config(&ws, &db, "e2eexpiry", TIGHT, "");

    wait_for("two live registrations", diagnostics, || {
        (db.location().iter().filter(|r| r.live).count() == 2).then_some(())
    });
    let plan = json(&config, &["plan"]);
    assert_eq!(gateways(&plan), [2, 0, 2, 0, 0], "{plan}");

    let plan = wait_for(
        "the lapsed registration to stop counting",
        diagnostics,
        || {
            let plan = json(&config, &["plan"]);
            (gateways(&plan)[0] == 1).then_some(plan)
        },
    );
    assert_eq!(gateways(&plan), [1, 0, 1, 0, 0], "{plan}");
    let row = db
        .location_of(&lapsing.username)
        .expect("the expired row is still there");
    assert!(!row.live, "{row:?}");
    assert!(db.location_of(&steady.username).is_some_and(|r| r.live));
}
