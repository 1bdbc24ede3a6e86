//! Every rule that holds back what the decision wants is named in
//! `held_back`, and the reason never tells of an action no step carries
//! out; `plan --busy N` leaves the observation as observed.

use super::tests::{kinds, limits, now, params, pool, run, slot};
use super::*;
use crate::model::GatewayState;
use std::time::Duration;

fn reason(plan: &Plan) -> &str {
    &plan.verdict.as_ref().unwrap().reason
}

/// The plan has no step, names exactly `holds`, and its reason ends with
/// `ending`.
fn held_only(plan: &Plan, holds: &[Hold], ending: &str) {
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, holds);
    assert!(reason(plan).ends_with(ending), "{}", reason(plan));
}

#[test]
fn a_decision_nothing_holds_back_names_no_rule() {
    let p = params(limits(10, 10, 0));
    // At target, a scale-up, a scale-down that drains.
    for obs in [pool(1, 1, 0), pool(3, 0, 0), pool(1, 3, 0)] {
        let plan = run(&obs, &p, &slot(1), Memory::default());
        assert!(!plan.steps.is_empty() || plan.verdict.as_ref().unwrap().delta == 0);
        assert!(plan.held_back.is_empty(), "{:?}", plan.held_back);
    }
}

#[test]
fn the_scale_down_delay_is_named() {
    let p = params(limits(10, 10, 300));
    let plan = run(&pool(1, 3, 0), &p, &slot(1), Memory::default());
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::ScaleDownDelay]);
    assert!(!reason(&plan).contains("draining"), "{}", reason(&plan));
}

#[test]
fn no_whole_idle_instance_is_named() {
    // Two hosts, each with a busy and an idle gateway: two too many, but no
    // host is wholly idle.
    let mut obs = pool(2, 0, 0);
    for n in 0..2 {
        let host = obs.instances[n].private_ip.unwrap();
        obs.gateways.push(Gateway {
            id: format!("{host}.gw.1"),
            host,
            state: GatewayState::Idle,
            in_call: false,
        });
    }
    let plan = run(
        &obs,
        &params(limits(10, 10, 0)),
        &slot(0),
        Memory::default(),
    );
    held_only(
        &plan,
        &[Hold::NoWholeIdleInstance],
        ": 2 gateway(s) too many, but no whole idle instance fits",
    );
}

#[test]
fn a_create_brake_that_allows_nothing_says_no_scale_up() {
    // Two more gateways: one c8, and no creation allowed.
    let plan = run(
        &pool(4, 0, 0),
        &params(limits(0, 10, 0)),
        &slot(2),
        Memory::default(),
    );
    held_only(
        &plan,
        &[Hold::MaxCreatePerRun],
        ": 2 gateway(s) short, but limits.max_create_per_run (0) holds back all 1 creation(s) this pass",
    );
    // A brake that lets some through still scales up, and is named.
    let plan = run(
        &pool(4, 0, 0),
        &params(limits(1, 10, 0)),
        &slot(20),
        Memory::default(),
    );
    assert_eq!(kinds(&plan), [("create", "c8".to_string())]);
    assert_eq!(plan.held_back, [Hold::MaxCreatePerRun]);
    assert!(
        reason(&plan).contains("scale up by 20"),
        "{}",
        reason(&plan)
    );
}

#[test]
fn the_destroy_brake_is_named_for_the_clean_up_and_the_scale_down() {
    let plan = run(
        &pool(1, 3, 0),
        &params(limits(10, 0, 0)),
        &slot(1),
        Memory::default(),
    );
    held_only(
        &plan,
        &[Hold::MaxDestroyPerRun],
        ": 2 gateway(s) too many, but limits.max_destroy_per_run (0) holds back all 2 drain(s) this pass",
    );
    // An instance in error the brake keeps, the pool at target.
    let plan = run(
        &pool(1, 1, 1),
        &params(limits(10, 0, 0)),
        &slot(1),
        Memory::default(),
    );
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::MaxDestroyPerRun]);
}

#[test]
fn a_budget_with_no_room_is_named_and_creates_nothing() {
    let mut p = params(limits(10, 10, 0));
    p.pool.max_vcpus = Some(16);
    let plan = run(&pool(4, 0, 0), &p, &slot(2), Memory::default());
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::MaxVcpus]);
    assert!(
        reason(&plan)
            .ends_with(": 2 gateway(s) short, but pool.max_vcpus (16) holds back 8 of 8 vCPUs"),
        "{}",
        reason(&plan)
    );
}

fn replicas(max_replicas: u32, create: u32) -> (Params, Slot) {
    let mut p = params(limits(create, 10, 0));
    p.pool.expects_gateways = false;
    p.rule = Rule::Replicas {
        capacity: 10,
        instance_type: "c4".into(),
        vcpus: 4,
    };
    let mut s = slot(0);
    s.min_available = Some(30);
    s.max_replicas = Some(max_replicas);
    (p, s)
}

#[test]
fn max_replicas_and_the_create_brake_are_named_for_replicas() {
    let (p, s) = replicas(1, 10);
    let plan = run(&Observation::default(), &p, &s, Memory::default());
    assert_eq!(kinds(&plan), [("create", "c4".to_string())]);
    assert_eq!(plan.held_back, [Hold::MaxReplicas]);
    assert!(
        reason(&plan).ends_with(
            ": 30 short, create 1 of 3 replica(s): max_replicas (1) holds back the rest"
        ),
        "{}",
        reason(&plan)
    );
    let (p, s) = replicas(0, 10);
    let plan = run(&Observation::default(), &p, &s, Memory::default());
    assert!(plan.steps.is_empty());
    assert_eq!(plan.held_back, [Hold::MaxReplicas]);
    // No creation allowed: the reason creates nothing.
    let (p, s) = replicas(10, 0);
    let plan = run(&Observation::default(), &p, &s, Memory::default());
    assert!(plan.steps.is_empty());
    assert_eq!(plan.held_back, [Hold::MaxCreatePerRun]);
    assert!(
        reason(&plan).ends_with(
            ": 30 short, but limits.max_create_per_run (0) holds back all 3 creation(s) this pass"
        ),
        "{}",
        reason(&plan)
    );
}

#[test]
fn a_draining_host_waiting_for_its_calls_or_its_drain_timeout_is_named() {
    let mut obs = pool(0, 1, 0);
    obs.gateways[0].state = GatewayState::Draining;
    obs.gateways[0].in_call = true;
    let p = params(limits(10, 10, 0));
    let plan = run(&obs, &p, &slot(0), Memory::default());
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::CallInProgress]);
    assert!(
        plan.notes[0].ends_with("is draining: waiting for its calls to end"),
        "{:?}",
        plan.notes
    );

    obs.gateways[0].in_call = false;
    let marked = now() - chrono::Duration::minutes(1);
    obs.draining_since
        .insert(obs.gateways[0].id.clone(), marked);
    let plan = run(&obs, &p, &slot(0), Memory::default());
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::DrainTimeout]);

    // Once the drain timeout has passed, it goes and nothing is held back.
    let mut p = p;
    p.pool.drain_timeout = Duration::from_secs(30);
    let plan = run(&obs, &p, &slot(0), Memory::default());
    assert_eq!(kinds(&plan), [("destroy", "to_stop".to_string())]);
    assert!(plan.held_back.is_empty(), "{:?}", plan.held_back);
}

#[test]
fn a_doubt_is_named_for_the_clean_up_and_the_scale_down() {
    let p = params(limits(10, 10, 0));
    let mut obs = pool(0, 3, 1);
    obs.doubts.push("dialog row 1: unreadable".into());
    let plan = run(&obs, &p, &slot(1), Memory::default());
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::UnreadableRecord]);
    // The clean-up alone: the instance in error would go.
    let plan = decide(&Input {
        reservations: &Reservations::default(),
        observation: &obs,
        params: &p,
        slot: &slot(1),
        memory: Memory::default(),
        now: now(),
        scale: false,
        busy_override: None,
    });
    assert_eq!(plan.held_back, [Hold::UnreadableRecord]);
    // A doubt that holds nothing back is not named.
    let mut at_target = pool(1, 1, 0);
    at_target.doubts.push("dialog row 1: unreadable".into());
    let plan = run(&at_target, &p, &slot(1), Memory::default());
    assert!(plan.held_back.is_empty(), "{:?}", plan.held_back);
}

#[test]
fn an_unproven_adoption_is_named() {
    let mut obs = pool(1, 1, 1);
    obs.instances[2].adopted = true;
    let plan = run(
        &obs,
        &params(limits(10, 10, 0)),
        &slot(1),
        Memory::default(),
    );
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.held_back, [Hold::UnprovenAdoption]);
}

#[test]
fn a_what_if_leaves_the_observation_as_observed() {
    let p = params(limits(10, 10, 0));
    let obs = pool(1, 1, 0);
    let what_if = |busy| {
        decide(&Input {
            reservations: &Reservations::default(),
            observation: &obs,
            params: &p,
            slot: &slot(1),
            memory: Memory::default(),
            now: now(),
            scale: true,
            busy_override: busy,
        })
    };
    let plan = what_if(Some(5));
    assert_eq!((plan.gateways.busy, plan.gateways.registered), (1, 2));
    assert_eq!(
        plan.what_if,
        Some(WhatIf {
            busy: 5,
            registered: 5
        })
    );
    let verdict = plan.verdict.unwrap();
    assert_eq!((verdict.target, verdict.delta), (6, 1));
    assert!(what_if(None).what_if.is_none());
}

#[test]
fn a_verdict_cut_short_says_what_it_wanted_and_why_not() {
    let plan = run(
        &pool(1, 3, 0),
        &params(limits(10, 10, 0)),
        &slot(1),
        Memory::default(),
    );
    let decided = plan.verdict.unwrap();
    assert!(decided.reason.contains("draining 2"), "{}", decided.reason);
    let mut none = decided.clone();
    none.cut_short(true, "limits.deadline was reached");
    assert_eq!(
        none.reason,
        format!(
            "{}: 2 gateway(s) too many, but limits.deadline was reached",
            decided.basis
        )
    );
    let mut some = decided.clone();
    some.cut_short(false, "1 of 2 drain(s) found a call in progress");
    assert_eq!(
        some.reason,
        format!(
            "{}; but 1 of 2 drain(s) found a call in progress",
            decided.reason
        )
    );
}
