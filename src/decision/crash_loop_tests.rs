//! The crash-loop backoff through the whole decision: what counts as an
//! instance lost without registering per pool kind, when creation is
//! suspended, the trial, the doubling, and what clears it.

use super::{Input, Memory, Params, Plan, Reservations, Rule, Step, decide};
use crate::crash_loop::{CrashLoop, Suspension, suspended};
use crate::limits::Limits;
use crate::model::{Gateway, InstanceState, Slot};
use crate::model::{GatewayState, Instance};
use crate::plan::Hold;
use crate::plan::{Observation, PoolParams};
use chrono::{DateTime, TimeDelta, Utc};
use std::net::IpAddr;
use std::time::Duration;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn params() -> Params {
    Params {
        pool: PoolParams {
            cpu_per_gateway: 4,
            instance_types: [("c4".to_string(), 4)].into(),
            protected: vec![],
            register_timeout: Duration::from_secs(600),
            no_public_ip_timeout: Some(Duration::from_secs(600)),
            expects_gateways: true,
            max_vcpus: None,
            drain_timeout: Duration::from_secs(600),
        },
        rule: Rule::Gateways,
        limits: Limits::default(),
    }
}

fn replica_params() -> Params {
    let mut p = params();
    p.pool.expects_gateways = false;
    p.rule = Rule::Replicas {
        capacity: 1,
        instance_type: "c4".into(),
        vcpus: 4,
    };
    p
}

/// Wants `idle_min` gateways (SIP and media), or `min_available` 3 (replicas).
fn slot(idle_min: u32) -> Slot {
    Slot {
        idle_min,
        load_max: 1.0,
        max_gateways: 10,
        min_gateways: 0,
        sqrt_headroom: 0.0,
        min_available: Some(3),
        max_replicas: Some(10),
    }
}

/// A c4 instance `n`, created `age` minutes before [`now`].
fn instance(n: u8, state: InstanceState, age: i64) -> Instance {
    let ip: IpAddr = format!("10.0.0.{n}").parse().unwrap();
    Instance {
        id: format!("i-{n}"),
        name: format!("gw-{n}"),
        state,
        private_ip: Some(ip),
        public_ip: Some(ip),
        vcpus: 4,
        instance_type: Some("c4".into()),
        created_at: now() - minutes(age),
        adopted: false,
    }
}

fn registered_on(observation: &mut Observation, n: u8, state: GatewayState) {
    let host: IpAddr = format!("10.0.0.{n}").parse().unwrap();
    observation.gateways.push(Gateway {
        id: format!("{host}.mediagw.0"),
        host,
        state,
        in_call: false,
    });
}

fn observe(instances: Vec<Instance>) -> Observation {
    Observation {
        instances,
        ..Observation::default()
    }
}

fn decide_at(
    observation: &Observation,
    params: &Params,
    idle_min: u32,
    memory: &CrashLoop,
    now: DateTime<Utc>,
) -> Plan {
    decide(&Input {
        observation,
        params,
        slot: &slot(idle_min),
        memory: Memory {
            crash_loop: memory.clone(),
            ..Memory::default()
        },
        now,
        scale: true,
        busy_override: None,
        reservations: &Reservations::default(),
    })
}

fn creates(plan: &Plan) -> usize {
    plan.steps
        .iter()
        .filter(|s| matches!(s, Step::Create { .. }))
        .count()
}

fn destroys(plan: &Plan) -> Vec<&'static str> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::Destroy { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect()
}

/// A pool whose last `lost` instances were lost, suspended until `until`.
fn suspended_until(lost: u32, until: DateTime<Utc>, backoff: u64) -> CrashLoop {
    CrashLoop {
        lost,
        since: Some(now() - minutes(60)),
        counted: Vec::new(),
        suspension: Some(Suspension {
            since: now() - minutes(30),
            until,
            backoff_seconds: backoff,
            trial_since: None,
        }),
    }
}

#[test]
fn three_instances_lost_in_a_row_suspend_creation() {
    let p = params();
    // Two never registered and one is in error without a gateway.
    let mut obs = observe(vec![
        instance(1, InstanceState::Active, 30),
        instance(2, InstanceState::Active, 20),
    ]);
    let plan = decide_at(&obs, &p, 1, &CrashLoop::default(), now());
    assert_eq!(destroys(&plan), ["unregistered", "unregistered"]);
    assert_eq!(creates(&plan), 1, "two losses are not yet a crash loop");
    let memory = plan.memory.crash_loop.clone();
    assert_eq!((memory.lost, memory.since), (2, Some(now() - minutes(30))));
    assert!(memory.suspension.is_none());
    assert!(
        plan.notes.iter().any(|n| n.contains("suspended at 3")),
        "{:?}",
        plan.notes
    );

    obs.instances = vec![instance(3, InstanceState::Error, 5)];
    let plan = decide_at(&obs, &p, 1, &memory, now());
    assert_eq!(destroys(&plan), ["error_state"]);
    assert_eq!(creates(&plan), 0);
    let suspension = plan.memory.crash_loop.suspension.clone().unwrap();
    assert_eq!(suspension.until, now() + minutes(10));
    assert_eq!(suspension.backoff_seconds, 600);
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(
        reason.ends_with(
            ": 1 gateway(s) short, but creation is suspended after 3 instance(s) lost in a row without registering (limits.crash_loop_after)"
        ),
        "{reason}"
    );
    assert_eq!(plan.held_back, [Hold::CrashLoop]);
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains("3 instance(s) lost in a row without registering (limits.crash_loop_after 3): creation is suspended for 10m, until 2026-11-23T09:10:00Z"),
        "{notes}"
    );
    assert!(!notes.contains("max_create_per_run"), "{notes}");
    let said = suspended(&plan.memory.crash_loop, now()).unwrap();
    assert!(
        said.contains("trial instance, at 2026-11-23T09:10:00Z (backoff 10m)"),
        "{said}"
    );

    // Switched off, the same pool creates again and keeps nothing.
    let mut off = p.clone();
    off.limits.crash_loop_after = 0;
    let plan = decide_at(&obs, &off, 1, &memory, now());
    assert_eq!(creates(&plan), 1);
    assert!(plan.memory.crash_loop.is_clear());
}

#[test]
fn only_instances_that_never_registered_count_and_each_once() {
    let p = params();
    let mut obs = observe(vec![
        instance(1, InstanceState::Error, 60), // registered, then broke
        instance(2, InstanceState::Active, 60), // all its gateways to stop
        instance(3, InstanceState::Active, 60), // adopted: kept, not ours
        instance(4, InstanceState::Active, 60), // no public IP, never registered
        instance(5, InstanceState::Error, 60), // old: may have served, no proof
        instance(6, InstanceState::Error, 9),  // failed while booting
    ]);
    registered_on(&mut obs, 1, GatewayState::Idle);
    registered_on(&mut obs, 2, GatewayState::Draining);
    obs.instances[2].adopted = true;
    obs.instances[3].public_ip = None;
    let plan = decide_at(&obs, &p, 0, &CrashLoop::default(), now());
    assert_eq!(
        destroys(&plan),
        [
            "error_state",
            "to_stop",
            "no_public_ip",
            "error_state",
            "error_state"
        ]
    );
    let memory = &plan.memory.crash_loop;
    assert_eq!(memory.counted, ["i-4", "i-6"]);
    assert_eq!(memory.lost, 2);

    // Its destroy failed: listed again, it is not counted twice; once gone,
    // its id is dropped.
    let again = decide_at(
        &observe(vec![obs.instances[3].clone()]),
        &p,
        0,
        memory,
        now(),
    );
    assert_eq!(again.memory.crash_loop.lost, 2);
    let gone = decide_at(&observe(vec![]), &p, 0, memory, now());
    let gone = &gone.memory.crash_loop;
    assert_eq!((gone.lost, gone.counted.len()), (2, 0));

    // A clean-up pass counts too.
    let plan = decide(&Input {
        observation: &observe(vec![instance(5, InstanceState::Active, 60)]),
        params: &p,
        slot: &slot(0),
        memory: Memory::default(),
        now: now(),
        scale: false,
        busy_override: None,
        reservations: &Reservations::default(),
    });
    assert_eq!(plan.memory.crash_loop.lost, 1);
}

#[test]
fn an_expired_backoff_allows_one_trial_and_a_lost_trial_doubles_it() {
    let p = params();
    let memory = suspended_until(3, now() - minutes(1), 600);
    // Three gateways wanted: one trial instance only.
    let plan = decide_at(&observe(vec![]), &p, 3, &memory, now());
    assert_eq!(creates(&plan), 1);
    assert_eq!(
        plan.memory
            .crash_loop
            .suspension
            .as_ref()
            .unwrap()
            .trial_since,
        Some(now())
    );
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(
        reason.ends_with(": 1 trial instance, 2 creation(s) held back"),
        "{reason}"
    );
    assert_eq!(plan.held_back, [Hold::CrashLoop]);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("one trial instance is created"))
    );
    let trial = plan.memory.crash_loop.clone();

    // While it boots, nothing more is created.
    let booting = observe(vec![instance(7, InstanceState::Building, 0)]);
    let plan = decide_at(&booting, &p, 3, &trial, now() + minutes(1));
    assert_eq!(creates(&plan), 0);
    assert!(
        suspended(&plan.memory.crash_loop, now())
            .unwrap()
            .contains("waiting for the trial")
    );

    // It never registers: lost, the backoff doubles.
    let later_on = now() + minutes(11);
    let lost = observe(vec![instance(7, InstanceState::Active, 0)]);
    let plan = decide_at(&lost, &p, 3, &trial, later_on);
    assert_eq!((destroys(&plan), creates(&plan)), (vec!["unregistered"], 0));
    let memory = &plan.memory.crash_loop;
    let suspension = memory.suspension.as_ref().unwrap();
    assert_eq!((memory.lost, suspension.backoff_seconds), (4, 1_200));
    assert_eq!(
        (suspension.until, suspension.trial_since),
        (later_on + minutes(20), None)
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("creation is suspended for 20m"))
    );

    // A trial that never shows up (its creation failed) counts as lost
    // after twice register_timeout.
    let plan = decide_at(&observe(vec![]), &p, 3, &trial, now() + minutes(20));
    let suspension = plan.memory.crash_loop.suspension.clone().unwrap();
    assert_eq!(suspension.backoff_seconds, 1_200);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("within twice pool.register_timeout (20m)"))
    );

    // At the max, it stays there.
    let memory = suspended_until(9, now() - minutes(1), 7_200);
    let trial = decide_at(&observe(vec![]), &p, 1, &memory, now())
        .memory
        .crash_loop;
    let plan = decide_at(&lost, &p, 1, &trial, later_on);
    assert_eq!(
        plan.memory.crash_loop.suspension.unwrap().backoff_seconds,
        7_200
    );
}

#[test]
fn a_registration_since_the_losses_began_clears_it() {
    let p = params();
    let memory = suspended_until(3, now() + minutes(5), 600);
    // An old instance that still serves proves nothing about new ones.
    let mut obs = observe(vec![instance(1, InstanceState::Active, 120)]);
    registered_on(&mut obs, 1, GatewayState::Busy);
    let plan = decide_at(&obs, &p, 2, &memory, now());
    assert_eq!(creates(&plan), 0);
    assert_eq!(plan.memory.crash_loop, memory);

    // One created since then, whose gateway is only starting, neither.
    obs.instances.push(instance(2, InstanceState::Active, 5));
    registered_on(&mut obs, 2, GatewayState::Starting);
    let plan = decide_at(&obs, &p, 2, &memory, now());
    assert_eq!(plan.memory.crash_loop, memory);

    // Registered: creation resumes in this very pass.
    obs.gateways[1].state = GatewayState::Idle;
    let plan = decide_at(&obs, &p, 2, &memory, now());
    assert!(plan.memory.crash_loop.is_clear());
    assert_eq!(creates(&plan), 1);
    assert!(suspended(&plan.memory.crash_loop, now()).is_none());
    let notes = plan.notes.join("\n");
    assert!(
        notes
            .contains("gw-2 registered a gateway: creation resumes (suspended after 3 instance(s)"),
        "{notes}"
    );
    // Adopted, it would prove nothing.
    obs.instances[1].adopted = true;
    assert_eq!(
        decide_at(&obs, &p, 3, &memory, now()).memory.crash_loop,
        memory
    );
}

#[test]
fn replicas_are_lost_when_in_error_before_a_healthy_probe_and_cleared_by_one() {
    let p = replica_params();
    let mut obs = observe(vec![
        instance(1, InstanceState::Error, 3),
        instance(2, InstanceState::Error, 2),
        instance(3, InstanceState::Active, 60), // no public IP, never answered
        instance(5, InstanceState::Error, 60),  // old: it may have served
    ]);
    obs.instances[2].public_ip = None;
    let memory = CrashLoop {
        lost: 1,
        since: Some(now() - minutes(40)),
        ..CrashLoop::default()
    };
    let plan = decide_at(&obs, &p, 0, &memory, now());
    let gone = ["error_state", "error_state", "no_public_ip", "error_state"];
    assert_eq!(destroys(&plan), gone);
    assert_eq!(
        creates(&plan),
        0,
        "three replicas wanted, creation suspended"
    );
    assert_eq!(plan.memory.crash_loop.lost, 4);
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(
        reason.contains(": 3 short, but creation is suspended"),
        "{reason}"
    );
    assert_eq!(plan.held_back, [Hold::CrashLoop]);

    // A replica created since answers its probe: cleared.
    let memory = plan.memory.crash_loop.clone();
    let mut obs = observe(vec![instance(4, InstanceState::Active, 5)]);
    obs.healthy.insert("i-4".into(), 1);
    let plan = decide_at(&obs, &p, 0, &memory, now());
    assert!(plan.memory.crash_loop.is_clear());
    assert_eq!(creates(&plan), 2);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("gw-4 answered its status probe"))
    );
}
