//! The whole decision of a pass: what the brakes and the scale-down delay
//! hold back, and that the verdict's reason says what will be done.

use super::*;
use crate::model::{GatewayState, InstanceState};
use std::time::Duration;

pub(super) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn params(limits: Limits) -> Params {
    Params {
        pool: PoolParams {
            cpu_per_gateway: 4,
            instance_types: [("c4".to_string(), 4), ("c8".to_string(), 8)].into(),
            protected: vec![],
            register_timeout: Duration::from_secs(600),
            no_public_ip_timeout: None,
            expects_gateways: true,
            max_vcpus: None,
            drain_timeout: Duration::from_secs(600),
        },
        rule: Rule::Gateways,
        limits,
    }
}

pub(super) fn limits(create: u32, destroy: u32, delay_s: u64) -> Limits {
    Limits {
        max_create_per_run: Some(create),
        max_destroy_per_run: Some(destroy),
        scale_down_delay: crate::duration::HumanDuration(Duration::from_secs(delay_s)),
        ..Limits::default()
    }
}

pub(super) fn slot(idle_min: u32) -> Slot {
    Slot {
        idle_min,
        load_max: 1.0,
        max_gateways: 400,
        min_gateways: 0,
        sqrt_headroom: 0.0,
        min_available: None,
        max_replicas: None,
    }
}

/// `busy` then `idle` active c4 instances of one gateway each, and
/// `broken` instances in error.
pub(super) fn pool(busy: u32, idle: u32, broken: u32) -> Observation {
    let mut obs = Observation::default();
    for n in 0..busy + idle + broken {
        let ip: IpAddr = format!("10.0.0.{}", n + 1).parse().unwrap();
        let state = if n < busy + idle {
            InstanceState::Active
        } else {
            InstanceState::Error
        };
        obs.instances.push(Instance {
            id: format!("i-{n}"),
            name: format!("gw-{n}"),
            state,
            private_ip: Some(ip),
            public_ip: None,
            vcpus: 4,
            instance_type: Some("c4".into()),
            created_at: now() - chrono::Duration::hours(2),
            adopted: false,
        });
        if n < busy + idle {
            let busy = n < busy;
            obs.gateways.push(Gateway {
                id: format!("{ip}.gw.0"),
                host: ip,
                state: if busy {
                    GatewayState::Busy
                } else {
                    GatewayState::Idle
                },
                in_call: busy,
            });
        }
    }
    obs
}

pub(super) fn run(obs: &Observation, params: &Params, slot: &Slot, memory: Memory) -> Plan {
    decide(&Input {
        reservations: &Reservations::default(),
        observation: obs,
        params,
        slot,
        memory,
        now: now(),
        scale: true,
        busy_override: None,
    })
}

pub(super) fn kinds(plan: &Plan) -> Vec<(&'static str, String)> {
    plan.steps
        .iter()
        .map(|s| match s {
            Step::Create { create, .. } => ("create", create.instance_type.clone()),
            Step::Destroy { reason, .. } => ("destroy", reason.as_str().to_string()),
            Step::ForgetStale { host, .. } => ("forget", host.to_string()),
        })
        .collect()
}

#[test]
fn the_create_brake_holds_back_creations_and_the_reason_says_so() {
    let p = params(limits(2, 10, 0));
    let plan = run(&pool(4, 0, 0), &p, &slot(20), Memory::default());
    // 20 more gateways: 80 vCPUs, ten c8; two are created.
    assert_eq!(kinds(&plan), vec![("create", "c8".into()); 2]);
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(reason.contains("scale up by 20 gateway(s)"), "{reason}");
    assert!(
        reason.ends_with(
            "; 10 instance(s) wanted, 2 planned (limits.max_create_per_run: the next pass continues)"
        ),
        "{reason}"
    );
    assert!(
        plan.notes.contains(
            &"limits.max_create_per_run (2) held back 8 creation(s); the next pass continues"
                .to_string()
        ),
        "{:?}",
        plan.notes
    );
}

#[test]
fn the_destroy_brake_is_shared_by_the_clean_up_and_the_scale_down() {
    // Two broken instances and four idle ones too many; three destructions allowed.
    let p = params(limits(10, 3, 0));
    let plan = run(&pool(1, 5, 2), &p, &slot(1), Memory::default());
    assert_eq!(
        kinds(&plan),
        vec![
            ("destroy", "error_state".into()),
            ("destroy", "error_state".into()),
            ("destroy", "drained".into()),
        ]
    );
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(
        reason.ends_with(
            ": scale down, draining 1 gateway(s) on 1 whole idle instance(s); limits.max_destroy_per_run (3) holds back 3 more instance(s)"
        ),
        "{reason}"
    );
    assert!(!reason.contains("draining 4"), "{reason}");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("max_destroy_per_run (3) held back 3"))
    );

    // A clean-up that uses the whole budget leaves no drain, and the reason says so.
    let p = params(limits(10, 2, 0));
    let plan = run(&pool(1, 5, 2), &p, &slot(1), Memory::default());
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(
        reason.ends_with(
            ": 4 gateway(s) too many, but limits.max_destroy_per_run (2) holds back all 4 drain(s) this pass"
        ),
        "{reason}"
    );
}

#[test]
fn a_held_scale_down_never_reads_as_draining() {
    let p = params(limits(10, 10, 300));
    let plan = run(&pool(1, 3, 0), &p, &slot(1), Memory::default());
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.memory.above_target_since, Some(now()));
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(!reason.contains("draining"), "{reason}");
    assert!(
        reason.ends_with(
            ": 2 gateway(s) too many, but limits.scale_down_delay (5m) holds back the scale-down: above target since 2026-11-23T09:00:00Z"
        ),
        "{reason}"
    );
    assert!(plan.notes[0].starts_with("limits.scale_down_delay (5m) holds back"));

    // Five minutes of uninterrupted excess later, it drains.
    let since = Memory {
        above_target_since: Some(now() - chrono::Duration::minutes(5)),
        ..Memory::default()
    };
    let plan = run(&pool(1, 3, 0), &p, &slot(1), since);
    assert_eq!(kinds(&plan), vec![("destroy", "drained".into()); 2]);
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(
        reason.ends_with(": scale down, draining 2 gateway(s) on 2 whole idle instance(s)"),
        "{reason}"
    );
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
}

#[test]
fn a_clean_up_pass_decides_no_scaling() {
    let p = params(limits(10, 10, 0));
    let plan = decide(&Input {
        reservations: &Reservations::default(),
        observation: &pool(0, 3, 1),
        params: &p,
        slot: &slot(1),
        memory: Memory::default(),
        now: now(),
        scale: false,
        busy_override: None,
    });
    assert_eq!(kinds(&plan), vec![("destroy", "error_state".into())]);
    assert!(plan.verdict.is_none());
    assert_eq!(plan.gateways.idle, 3);
}

#[test]
fn replica_creations_are_braked_too() {
    let mut p = params(limits(1, 10, 0));
    p.pool.expects_gateways = false;
    p.rule = Rule::Replicas {
        capacity: 10,
        instance_type: "c4".into(),
        vcpus: 4,
    };
    let mut s = slot(0);
    s.min_available = Some(30);
    s.max_replicas = Some(10);
    let plan = run(&Observation::default(), &p, &s, Memory::default());
    assert_eq!(kinds(&plan), vec![("create", "c4".into())]);
    let reason = &plan.verdict.as_ref().unwrap().reason;
    assert!(reason.contains("create 3 replica(s)"), "{reason}");
    assert!(
        reason.contains("3 replica(s) wanted, 1 planned (limits.max_create_per_run"),
        "{reason}"
    );
    assert_eq!(plan.replicas.unwrap().available, 0);
}

#[test]
fn adopted_instances_are_destroyed_only_once_they_proved_to_be_gateways() {
    // An idle gateway, then two instances in error and one asking for
    // termination, none with a gateway; the last three adopted too.
    let mut p = params(limits(10, 10, 0));
    p.pool.no_public_ip_timeout = Some(Duration::from_secs(600));
    let mut obs = pool(0, 1, 2);
    obs.instances[0].public_ip = Some("54.0.0.1".parse().unwrap());
    obs.termination_requested.insert("i-2".into());
    let mut lone = obs.instances[0].clone();
    lone.id = "i-9".into();
    lone.name = "web".into();
    lone.private_ip = Some("10.0.9.9".parse().unwrap());
    obs.instances.push(lone);
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
    // Created by scaler: i-1 and i-2 in error, web unregistered, all go.
    assert_eq!(
        kinds(&plan),
        [
            ("destroy", "error_state".to_string()),
            ("destroy", "error_state".to_string()),
            ("destroy", "unregistered".to_string())
        ]
    );
    for instance in &mut obs.instances {
        instance.adopted = true;
    }
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
    // Adopted: only i-2, whose probe asked for termination, has proved it
    // is the pool's; the others are kept, and the notes say why.
    assert_eq!(kinds(&plan), [("destroy", "error_state".to_string())]);
    assert!(
        matches!(&plan.steps[0], Step::Destroy { instance, .. } if instance.id == "i-2"),
        "{:?}",
        plan.steps
    );
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains(
            "gw-1 (i-1) is adopted and has never registered a gateway: kept (would be error_state)"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("web (i-9) is adopted") && notes.contains("would be unregistered"),
        "{notes}"
    );

    // An adopted gateway whose gateways were all told to stop goes like ours.
    let mut drained = pool(0, 1, 0);
    drained.instances[0].adopted = true;
    drained.gateways[0].state = GatewayState::Draining;
    let plan = run(&drained, &p, &slot(0), Memory::default());
    assert_eq!(kinds(&plan), [("destroy", "to_stop".to_string())]);
}
