//! The reservation rule inside the one decision: the floor it puts under
//! the target while bookings are in force, the busy count at opening it
//! keeps, overlapping bookings, and the caps that cut a booking.

use super::*;
use crate::model::{GatewayState, InstanceState};
use crate::reservations::Origin;
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn params(max_vcpus: Option<u32>) -> Params {
    Params {
        pool: PoolParams {
            cpu_per_gateway: 4,
            instance_types: [("c4".to_string(), 4)].into(),
            protected: vec![],
            register_timeout: Duration::from_secs(600),
            no_public_ip_timeout: None,
            expects_gateways: true,
            max_vcpus,
            drain_timeout: Duration::from_secs(600),
        },
        rule: Rule::Gateways,
        limits: Limits::default(),
    }
}

fn slot(idle_min: u32, max_gateways: u32) -> Slot {
    Slot {
        idle_min,
        load_max: 1.0,
        max_gateways,
        min_gateways: 0,
        sqrt_headroom: 0.0,
        min_available: None,
        max_replicas: None,
    }
}

/// `busy` busy and `idle` idle c4 instances of one gateway each.
fn pool(busy: u32, idle: u32) -> Observation {
    let mut obs = Observation::default();
    for n in 0..busy + idle {
        let ip: IpAddr = format!("10.0.1.{}", n + 1).parse().unwrap();
        obs.instances.push(Instance {
            id: format!("i-{n}"),
            name: format!("gw-{n}"),
            state: InstanceState::Active,
            private_ip: Some(ip),
            public_ip: None,
            vcpus: 4,
            instance_type: Some("c4".into()),
            created_at: at("2026-11-23T08:00:00Z"),
            adopted: false,
        });
        obs.gateways.push(Gateway {
            id: format!("{ip}.gw.0"),
            host: ip,
            state: if n < busy {
                GatewayState::Busy
            } else {
                GatewayState::Idle
            },
            in_call: n < busy,
        });
    }
    obs
}

fn booking(name: &str, gateways: u32) -> Booking {
    Booking {
        name: name.into(),
        origin: Origin::Cli,
        start: at("2026-11-23T14:00:00Z"),
        end: at("2026-11-23T16:00:00Z"),
        gateways,
        note: None,
    }
}

fn decide_with(obs: &Observation, params: &Params, slot: &Slot, r: &Reservations) -> Plan {
    decide(&Input {
        observation: obs,
        params,
        slot,
        memory: Memory::default(),
        now: at("2026-11-23T13:56:00Z"),
        scale: true,
        busy_override: None,
        reservations: r,
    })
}

#[test]
fn a_window_raises_the_target_from_the_busy_count_at_opening() {
    let p = params(None);
    let r = Reservations {
        in_force: vec![booking("course", 40)],
        busy_at_open: BTreeMap::new(),
    };
    // 3 busy, 2 idle; idle_min 2: without the booking the target is 5.
    let plan = decide_with(&pool(3, 2), &p, &slot(2, 100), &Reservations::default());
    assert_eq!(plan.verdict.unwrap().target, 5);
    // The window opens now, on 3 busy: 3 + 2 + 40.
    let plan = decide_with(&pool(3, 2), &p, &slot(2, 100), &r);
    assert_eq!(plan.verdict.as_ref().unwrap().target, 45);
    assert_eq!(
        plan.busy_at_open,
        BTreeMap::from([("cli:course".into(), 3)])
    );
    let creates = plan
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Create { .. }))
        .count();
    assert_eq!(creates, 40);
    assert!(
        plan.notes.iter().any(|n| n.contains("course (40)")
            && n.contains("3 busy at opening + 2 idle_min + 40 booked = 45")),
        "{:?}",
        plan.notes
    );
    // Later, 30 of the course's calls are up: the floor stays on the count
    // at opening (not 33 + 2 + 40), so the booked gateways are not counted twice.
    let r = Reservations {
        busy_at_open: plan.busy_at_open.clone(),
        ..r
    };
    let plan = decide_with(&pool(33, 12), &p, &slot(2, 100), &r);
    assert_eq!(plan.verdict.unwrap().target, 45);
}

#[test]
fn overlapping_bookings_add_up_from_the_earliest_opening() {
    let p = params(None);
    let r = Reservations {
        in_force: vec![booking("a", 10), booking("b", 5)],
        busy_at_open: BTreeMap::from([("cli:a".into(), 4)]),
    };
    // a opened on 4 busy; b opens now (on 9): the floor is 4 + 1 + 15.
    let plan = decide_with(&pool(9, 0), &p, &slot(1, 100), &r);
    assert_eq!(plan.verdict.unwrap().target, 20);
    assert_eq!(
        plan.busy_at_open,
        BTreeMap::from([("cli:a".into(), 4), ("cli:b".into(), 9)])
    );
}

#[test]
fn caps_cut_a_booking_and_say_so() {
    let r = Reservations {
        in_force: vec![booking("course", 40)],
        busy_at_open: BTreeMap::new(),
    };
    let plan = decide_with(&pool(0, 0), &params(None), &slot(2, 30), &r);
    assert_eq!(plan.verdict.unwrap().target, 30);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("max_gateways (30) cuts the reservations: 30 of 42")),
        "{:?}",
        plan.notes
    );
    // 80 vCPUs hold 20 gateways of 4 vCPUs.
    let plan = decide_with(&pool(0, 0), &params(Some(80)), &slot(2, 100), &r);
    assert_eq!(plan.verdict.unwrap().target, 20);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("pool.max_vcpus (80) cuts the reservations: room for 20 of 42")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn without_bookings_in_force_the_normal_rule_applies_and_windows_close() {
    let r = Reservations {
        in_force: vec![],
        busy_at_open: BTreeMap::from([("cli:course".into(), 3)]),
    };
    let plan = decide_with(&pool(3, 42), &params(None), &slot(2, 100), &r);
    let verdict = plan.verdict.unwrap();
    assert_eq!(verdict.target, 5);
    assert!(
        verdict.reason.contains("40 gateway(s) too many"),
        "{}",
        verdict.reason
    );
    assert!(plan.busy_at_open.is_empty());
}
