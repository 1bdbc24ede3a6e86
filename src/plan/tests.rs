//! Planner unit tests: the worked examples of the seed documents and the
//! edge cases of DESIGN.md "Decision".

use super::*;
use crate::model::{Gateway, GatewayState, Instance, InstanceState};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn params() -> PoolParams {
    PoolParams {
        cpu_per_gateway: 4,
        instance_types: [
            ("c4".to_string(), 4),
            ("c8".to_string(), 8),
            ("c16".to_string(), 16),
        ]
        .into(),
        protected: vec![],
        register_timeout: Duration::from_secs(600),
        no_public_ip_timeout: Some(Duration::from_secs(600)),
        expects_gateways: true,
        max_vcpus: None,
        drain_timeout: Duration::from_secs(600),
    }
}

/// The SIPMediaGW example slot at 08:00: `unlockedMin` 10, `loadMax` 0.75.
fn day_slot() -> Slot {
    Slot {
        idle_min: 10,
        load_max: 0.75,
        max_gateways: 400,
        min_gateways: 0,
        sqrt_headroom: 0.0,
        min_available: None,
        max_replicas: None,
    }
}

fn instance(n: u32, state: InstanceState, age_minutes: i64, vcpus: u32) -> Instance {
    let ip: IpAddr = format!("10.0.{}.{}", n / 250, n % 250 + 1).parse().unwrap();
    Instance {
        id: format!("i-{n}"),
        name: format!("gw-{n}"),
        state,
        private_ip: Some(ip),
        public_ip: Some(format!("54.0.{}.{}", n / 250, n % 250 + 1).parse().unwrap()),
        vcpus,
        instance_type: None,
        created_at: now() - chrono::Duration::minutes(age_minutes),
        adopted: false,
    }
}

fn gateway(host: IpAddr, n: u32, state: GatewayState) -> Gateway {
    Gateway {
        id: format!("{host}.gw.{n}"),
        host,
        state,
        in_call: state == GatewayState::Busy,
    }
}

/// A pool of active one-gateway c4 instances: `busy` busy then `idle` idle.
fn pool(busy: u32, idle: u32) -> Observation {
    let mut obs = Observation::default();
    for n in 0..busy + idle {
        let inst = instance(n, InstanceState::Active, 120, 4);
        let state = if n < busy {
            GatewayState::Busy
        } else {
            GatewayState::Idle
        };
        obs.gateways
            .push(gateway(inst.private_ip.unwrap(), 0, state));
        obs.instances.push(inst);
    }
    obs
}

fn run<'a>(obs: &'a Observation, slot: &Slot) -> (Assessment<'a>, Decision) {
    let a = assess(obs, &params(), now());
    let d = decide(&a, obs, slot, &params(), None, u32::MAX);
    (a, d)
}

#[test]
fn balanced_pool_stays() {
    let obs = pool(30, 10);
    let (a, d) = run(&obs, &day_slot());
    assert_eq!((a.gateway_counts.busy, a.gateway_counts.idle), (30, 10));
    assert_eq!((d.target, d.delta), (40, 0));
    assert!(d.creates.is_empty() && d.drains.is_empty());
    assert!(d.reason.contains("at target"), "{}", d.reason);
}

#[test]
fn low_availability_scales_up() {
    // 30 busy, 2 idle: target max(40, 40) = 40, 8 more gateways = 32 vCPUs = c16 + c16.
    let (_, d) = run(&pool(30, 2), &day_slot());
    assert_eq!((d.target, d.delta), (40, 8));
    let types: Vec<&str> = d.creates.iter().map(|c| c.instance_type.as_str()).collect();
    assert_eq!(types, ["c16", "c16"]);
    assert_eq!(d.creates.iter().map(|c| c.gateways).sum::<u32>(), 8);
}

#[test]
fn low_utilisation_drains_whole_idle_instances() {
    // 5 busy, 35 idle: target max(15, 7) = 15, 25 too many.
    let obs = pool(5, 35);
    let (a, d) = run(&obs, &day_slot());
    assert_eq!((d.target, d.delta), (15, -25));
    assert_eq!(d.drains.len(), 25);
    for &i in &d.drains {
        let view = &a.instances[i];
        assert!(
            view.gateways
                .iter()
                .all(|&g| obs.gateways[g].state == GatewayState::Idle)
        );
    }
}

#[test]
fn high_load_follows_load_max() {
    // 60 busy, 12 idle: max(70, ceil(60 / 0.75) = 80) = 80, 8 more.
    let (_, d) = run(&pool(60, 12), &day_slot());
    assert_eq!((d.target, d.delta), (80, 8));
    assert_eq!(d.creates.iter().map(|c| c.vcpus).sum::<u32>(), 32);
}

#[test]
fn simplescalevm_resource_example() {
    // Replica 1: capacity 0; 2: terminating; 3: capacity 1; 4: no answer;
    // 5: building (counts replica_capacity = 3). 0 + 1 + 3 = 4 < 6 → 1 replica.
    assert_eq!(replicas_to_create(4, 3, 6, 5, 100), 1);
    assert_eq!(replicas_to_create(6, 3, 6, 5, 100), 0);
    assert_eq!(
        replicas_to_create(0, 3, 10, 5, 6),
        1,
        "capped by max_replicas"
    );
}

#[test]
fn no_busy_gateway_keeps_idle_min() {
    let (_, d) = run(&pool(0, 0), &day_slot());
    assert_eq!((d.target, d.delta), (10, 10));
    assert_eq!(d.creates.iter().map(|c| c.gateways).sum::<u32>(), 10);
}

#[test]
fn load_max_one_and_min_max_clamps() {
    let slot = Slot {
        idle_min: 0,
        load_max: 1.0,
        max_gateways: 400,
        min_gateways: 0,
        sqrt_headroom: 0.0,
        min_available: None,
        max_replicas: None,
    };
    assert_eq!(target(7, &slot), 7);
    let capped = Slot {
        max_gateways: 12,
        ..day_slot()
    };
    assert_eq!(target(30, &capped), 12, "max_gateways reached");
    let floor = Slot {
        min_gateways: 20,
        ..day_slot()
    };
    assert_eq!(target(0, &floor), 20);
    let (_, d) = run(&pool(30, 2), &capped);
    assert_eq!(d.delta, -20);
    assert!(
        d.drains.len() == 2,
        "only the two idle instances can go: {:?}",
        d.drains
    );
}

#[test]
fn packing_uses_largest_then_smallest_cover() {
    let types: BTreeMap<String, u32> =
        [("c4".into(), 4), ("c8".into(), 8), ("c16".into(), 16)].into();
    let sizes = |v| {
        pack(v, 4, &types, u32::MAX)
            .iter()
            .map(|c| c.vcpus)
            .collect::<Vec<_>>()
    };
    assert_eq!(sizes(36), [16, 16, 4]);
    assert_eq!(sizes(24), [16, 8]);
    assert_eq!(sizes(4), [4]);
    assert_eq!(sizes(0), Vec::<u32>::new());
    // With cpu_per_gateway 3 a remainder of 6 goes on a c8 (2 gateways).
    assert_eq!(
        pack(6, 3, &types, u32::MAX)
            .iter()
            .map(|c| (c.vcpus, c.gateways))
            .collect::<Vec<_>>(),
        [(8, 2)]
    );
}

#[test]
fn no_instance_type_fits() {
    let mut p = params();
    p.instance_types = [("tiny".to_string(), 2)].into();
    let obs = pool(0, 0);
    let a = assess(&obs, &p, now());
    let d = decide(&a, &obs, &day_slot(), &p, None, u32::MAX);
    assert!(d.creates.is_empty());
    assert!(d.reason.contains("no instance type"), "{}", d.reason);
}

#[test]
fn pending_instances_prevent_double_creation() {
    // 0 busy, wants 10: 10 gateways already pending on 2 building c16 + 1 young active c8.
    let mut obs = pool(0, 0);
    obs.instances
        .push(instance(1, InstanceState::Building, 1, 16));
    obs.instances
        .push(instance(2, InstanceState::Building, 1, 16));
    obs.instances.push(instance(3, InstanceState::Active, 3, 8));
    let (a, d) = run(&obs, &day_slot());
    assert_eq!(a.gateway_counts.pending, 10);
    assert_eq!(d.delta, 0);
    // Once old, the unregistered active instance no longer counts.
    obs.instances[2].created_at = now() - chrono::Duration::minutes(30);
    let (a, _) = run(&obs, &day_slot());
    assert_eq!(a.gateway_counts.pending, 8);
}

#[test]
fn a_host_with_one_busy_gateway_is_never_drained() {
    let mut obs = Observation::default();
    let big = instance(1, InstanceState::Active, 120, 16);
    let host = big.private_ip.unwrap();
    for n in 0..4 {
        obs.gateways.push(gateway(
            host,
            n,
            if n == 2 {
                GatewayState::Busy
            } else {
                GatewayState::Idle
            },
        ));
    }
    obs.instances.push(big);
    let slot = Slot {
        idle_min: 0,
        load_max: 1.0,
        ..day_slot()
    };
    let (_, d) = run(&obs, &slot);
    assert_eq!(d.delta, -3);
    assert!(d.drains.is_empty());
    assert!(d.reason.contains("no whole idle instance"), "{}", d.reason);
}

#[test]
fn protected_and_pending_instances_are_never_drained() {
    let mut obs = pool(0, 3);
    let mut p = params();
    p.protected = vec![
        obs.instances[0].private_ip.unwrap().to_string(),
        "i-1".to_string(),
    ];
    obs.instances[2].created_at = now() - chrono::Duration::minutes(2);
    obs.instances[2].vcpus = 8; // expects 2 gateways, has 1: still pending
    let a = assess(&obs, &p, now());
    let slot = Slot {
        idle_min: 0,
        ..day_slot()
    };
    let d = decide(&a, &obs, &slot, &p, None, u32::MAX);
    assert!(d.delta < 0);
    assert!(d.drains.is_empty(), "{:?}", d.drains);
    assert_eq!(a.instance_counts.protected, 2);
}

#[test]
fn static_gateways_count_but_are_never_drained() {
    let mut obs = Observation::default();
    let host: IpAddr = "192.0.2.7".parse().unwrap();
    for n in 0..5 {
        obs.gateways.push(gateway(host, n, GatewayState::Idle));
    }
    let (a, d) = run(
        &obs,
        &Slot {
            idle_min: 1,
            ..day_slot()
        },
    );
    assert_eq!(a.static_gateways.len(), 5);
    assert_eq!(a.gateway_counts.idle, 5);
    assert_eq!(d.delta, -4);
    assert!(d.drains.is_empty());
}

#[test]
fn busy_override_is_a_what_if() {
    let obs = pool(0, 10);
    let a = assess(&obs, &params(), now());
    let d = decide(&a, &obs, &day_slot(), &params(), Some(30), u32::MAX);
    assert_eq!((d.target, d.delta), (40, 10));
}

#[test]
fn cleanup_reasons() {
    let mut obs = Observation::default();
    let mut p = params();
    let error = instance(1, InstanceState::Error, 5, 4);
    let mut no_ip = instance(2, InstanceState::Active, 20, 4);
    no_ip.public_ip = None;
    let unregistered = instance(3, InstanceState::Active, 20, 4);
    let young = instance(4, InstanceState::Active, 2, 4);
    let drained = instance(5, InstanceState::Active, 60, 4);
    let draining_with_call = instance(6, InstanceState::Active, 60, 4);
    let protected = instance(7, InstanceState::Error, 60, 4);
    let asks = instance(8, InstanceState::Active, 60, 4);
    obs.gateways.push(Gateway {
        state: GatewayState::Draining,
        in_call: false,
        ..gateway(drained.private_ip.unwrap(), 0, GatewayState::Idle)
    });
    obs.gateways.push(Gateway {
        state: GatewayState::Draining,
        in_call: true,
        ..gateway(
            draining_with_call.private_ip.unwrap(),
            0,
            GatewayState::Idle,
        )
    });
    obs.gateways
        .push(gateway(asks.private_ip.unwrap(), 0, GatewayState::Idle));
    obs.termination_requested.insert(asks.id.clone());
    p.protected = vec![protected.name.clone()];
    obs.instances = vec![
        error,
        no_ip,
        unregistered,
        young,
        drained,
        draining_with_call,
        protected,
        asks,
    ];
    let a = assess(&obs, &p, now());
    let (removals, notes, _) = cleanup(&a, &obs, &p, now());
    let got: Vec<(String, &str, bool)> = removals
        .iter()
        .map(|r| {
            (
                a.instances[r.instance].instance.id.clone(),
                r.reason.as_str(),
                r.drain_first,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("i-1".to_string(), "error_state", false),
            ("i-2".to_string(), "no_public_ip", false),
            ("i-3".to_string(), "unregistered", false),
            ("i-5".to_string(), "to_stop", false),
            ("i-8".to_string(), "termination_requested", true),
        ]
    );
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("gw-6"), "{notes:?}");
}

#[test]
fn tainted_hosts_are_neither_idle_nor_drained() {
    let mut obs = pool(0, 3);
    obs.tainted_hosts
        .insert(obs.instances[0].private_ip.unwrap());
    let (a, d) = run(
        &obs,
        &Slot {
            idle_min: 0,
            ..day_slot()
        },
    );
    assert_eq!((a.gateway_counts.registered, a.gateway_counts.idle), (3, 2));
    assert_eq!(d.drains.len(), 2);
    assert!(!d.drains.contains(&0));
}

#[test]
fn replica_pool_follows_the_in_depth_example() {
    // #1 capacity 0, #2 asks for termination (removed by clean-up), #3 capacity 1,
    // #4 no answer (old: unknown), #5 building: 0 + 1 + 3 = 4 < 6 → 1 replica.
    let instances: Vec<Instance> = vec![
        instance(1, InstanceState::Active, 60, 2),
        instance(2, InstanceState::Active, 60, 2),
        instance(3, InstanceState::Active, 60, 2),
        instance(4, InstanceState::Active, 60, 2),
        instance(5, InstanceState::Building, 1, 2),
    ];
    let healthy: HashMap<String, u32> = [("i-1".to_string(), 0), ("i-3".to_string(), 1)].into();
    let gone: HashSet<String> = ["i-2".to_string()].into();
    let slot = Slot {
        idle_min: 0,
        load_max: 1.0,
        max_gateways: 10,
        min_gateways: 0,
        sqrt_headroom: 0.0,
        min_available: Some(6),
        max_replicas: Some(10),
    };
    let (counts, d) = decide_replicas(
        &instances,
        &healthy,
        &gone,
        3,
        &slot,
        &params(),
        ("b2-7", 2),
        now(),
        u32::MAX,
    );
    assert_eq!(
        counts,
        ReplicaCounts {
            healthy: 2,
            unknown: 1,
            building: 1,
            pending: 0,
            available: 4
        }
    );
    assert_eq!(d.creates.len(), 1);
    assert_eq!((d.target, d.delta), (6, 2));
    // A young replica that does not answer yet is booting: counted, so nothing is created.
    let mut young = instances.clone();
    young[3].created_at = now() - chrono::Duration::minutes(2);
    let (counts, d) = decide_replicas(
        &young,
        &healthy,
        &gone,
        3,
        &slot,
        &params(),
        ("b2-7", 2),
        now(),
        u32::MAX,
    );
    assert_eq!((counts.pending, counts.available), (1, 7));
    assert!(d.creates.is_empty());
    // max_replicas caps the creation.
    let capped = Slot {
        max_replicas: Some(4),
        ..slot
    };
    let (_, d) = decide_replicas(
        &instances,
        &healthy,
        &gone,
        3,
        &capped,
        &params(),
        ("b2-7", 2),
        now(),
        u32::MAX,
    );
    assert!(d.creates.is_empty());
    assert!(d.reason.contains("max_replicas"), "{}", d.reason);
}

#[test]
fn scale_down_waits_for_an_uninterrupted_excess() {
    let delay = Duration::from_secs(300);
    let t = |m: i64| now() + chrono::Duration::minutes(m);
    // First pass above target: the clock starts, nothing is drained.
    assert_eq!(scale_down_gate(-3, None, t(0), delay), (false, Some(t(0))));
    assert_eq!(
        scale_down_gate(-3, Some(t(0)), t(4), delay),
        (false, Some(t(0)))
    );
    assert_eq!(
        scale_down_gate(-1, Some(t(0)), t(5), delay),
        (true, Some(t(0)))
    );
    // A pass at or under target resets the clock.
    assert_eq!(scale_down_gate(0, Some(t(0)), t(6), delay), (true, None));
    assert_eq!(scale_down_gate(2, Some(t(0)), t(6), delay), (true, None));
    // No delay: immediate; a clock in the future (skew) restarts from now.
    assert_eq!(
        scale_down_gate(-1, None, t(0), Duration::ZERO),
        (true, Some(t(0)))
    );
    assert_eq!(
        scale_down_gate(-1, Some(t(9)), t(1), delay),
        (false, Some(t(1)))
    );
}

#[test]
fn max_vcpus_caps_running_plus_building() {
    // 30 busy on 32 c4 instances (128 vCPUs): 8 more gateways wanted (32 vCPUs).
    let obs = pool(30, 2);
    let mut p = params();
    p.max_vcpus = Some(144);
    let a = assess(&obs, &p, now());
    let d = decide(&a, &obs, &day_slot(), &p, None, u32::MAX);
    assert_eq!(d.delta, 8);
    assert_eq!(
        d.creates.iter().map(|c| c.vcpus).sum::<u32>(),
        16,
        "only 16 vCPUs fit under 144"
    );
    assert!(
        d.reason
            .contains("max_vcpus (144) holds back 16 of 32 vCPUs"),
        "{}",
        d.reason
    );
    p.max_vcpus = Some(128);
    let d = decide(&a, &obs, &day_slot(), &p, None, u32::MAX);
    assert!(d.creates.is_empty());
}

/// Hosts whose gateways are all draining, with the drain times a media
/// source records: destroyed only once `drain_timeout` has passed since the
/// latest one; without a recorded time (SIP), at once.
#[test]
fn recorded_drains_wait_for_the_drain_timeout() {
    let mut obs = Observation::default();
    let old = instance(1, InstanceState::Active, 120, 8);
    let young = instance(2, InstanceState::Active, 120, 8);
    let unrecorded = instance(3, InstanceState::Active, 120, 4);
    let skewed = instance(4, InstanceState::Active, 120, 4);
    for (inst, ages) in [(&old, vec![30, 11]), (&young, vec![30, 9])] {
        for (n, minutes) in ages.into_iter().enumerate() {
            let g = gateway(inst.private_ip.unwrap(), n as u32, GatewayState::Draining);
            obs.draining_since
                .insert(g.id.clone(), now() - chrono::Duration::minutes(minutes));
            obs.gateways.push(g);
        }
    }
    obs.gateways.push(gateway(
        unrecorded.private_ip.unwrap(),
        0,
        GatewayState::Draining,
    ));
    let g = gateway(skewed.private_ip.unwrap(), 0, GatewayState::Draining);
    obs.draining_since
        .insert(g.id.clone(), now() + chrono::Duration::minutes(5));
    obs.gateways.push(g);
    obs.instances = vec![old, young, unrecorded, skewed];
    let p = params();
    let a = assess(&obs, &p, now());
    let (removals, notes, _) = cleanup(&a, &obs, &p, now());
    let got: Vec<(&str, &str)> = removals
        .iter()
        .map(|r| {
            (
                a.instances[r.instance].instance.id.as_str(),
                r.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(got, [("i-1", "to_stop"), ("i-3", "to_stop")]);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("gw-2") && notes[0].contains("drain_timeout"));
    assert!(notes[1].contains("gw-4"));
    assert_eq!(a.gateway_counts.draining, 6);
}

#[test]
fn stale_gateways_are_draining_ones_on_hosts_that_are_gone() {
    let mut obs = pool(0, 1);
    let host = |s: &str| s.parse::<IpAddr>().unwrap();
    obs.gateways
        .push(gateway(host("10.9.0.1"), 0, GatewayState::Draining));
    obs.gateways
        .push(gateway(host("10.9.0.1"), 1, GatewayState::Draining));
    obs.gateways
        .push(gateway(host("10.9.0.1"), 2, GatewayState::Busy));
    obs.gateways
        .push(gateway(host("10.9.0.2"), 0, GatewayState::Idle));
    obs.gateways
        .push(gateway(host("10.9.0.3"), 0, GatewayState::Draining));
    obs.gateways
        .push(gateway(host("10.9.0.4"), 0, GatewayState::Draining));
    obs.tainted_hosts.insert(host("10.9.0.4"));
    // A draining gateway of a pool instance is the clean-up's business.
    obs.gateways[0].state = GatewayState::Draining;
    let mut p = params();
    p.protected = vec!["10.9.0.3".into()];
    let a = assess(&obs, &p, now());
    assert_eq!(
        stale_gateways(&a, &obs, &p),
        [(host("10.9.0.1"), vec![1, 2])]
    );
}

/// Every kind of clean-up candidate, and idle instances to drain: one of
/// each reason the clean-up destroys for, plus a static draining gateway.
fn everything_removable() -> Observation {
    let mut obs = pool(0, 4);
    let error = instance(10, InstanceState::Error, 60, 4);
    let mut no_ip = instance(11, InstanceState::Active, 60, 4);
    no_ip.public_ip = None;
    let unregistered = instance(12, InstanceState::Active, 60, 4);
    let to_stop = instance(13, InstanceState::Active, 60, 4);
    let asks = instance(14, InstanceState::Active, 60, 4);
    obs.gateways.push(gateway(
        to_stop.private_ip.unwrap(),
        0,
        GatewayState::Draining,
    ));
    obs.gateways
        .push(gateway(asks.private_ip.unwrap(), 0, GatewayState::Idle));
    obs.termination_requested.insert(asks.id.clone());
    obs.gateways.push(gateway(
        "10.9.0.1".parse().unwrap(),
        0,
        GatewayState::Draining,
    ));
    obs.instances
        .extend([error, no_ip, unregistered, to_stop, asks]);
    obs
}

fn removed(obs: &Observation) -> Vec<DestroyReason> {
    let a = assess(obs, &params(), now());
    cleanup(&a, obs, &params(), now())
        .0
        .iter()
        .map(|r| r.reason)
        .collect()
}

#[test]
fn a_doubt_suspends_every_drain_and_destroy_but_not_creation() {
    let slot = Slot {
        idle_min: 0,
        ..day_slot()
    };
    let mut obs = everything_removable();
    let a = assess(&obs, &params(), now());
    // Without a doubt: every reason, the stale gateway, and drains.
    assert_eq!(
        removed(&obs),
        [
            DestroyReason::ErrorState,
            DestroyReason::NoPublicIp,
            DestroyReason::Unregistered,
            DestroyReason::ToStop,
            DestroyReason::TerminationRequested
        ]
    );
    assert_eq!(stale_gateways(&a, &obs, &params()).len(), 1);
    assert!(
        !decide(&a, &obs, &slot, &params(), None, u32::MAX)
            .drains
            .is_empty()
    );

    obs.doubts
        .push("location row 7 (x.gw.0): contact \"sip:x@gw.example\": its host is unknown".into());
    let a = assess(&obs, &params(), now());
    let (removals, notes, _) = cleanup(&a, &obs, &params(), now());
    assert!(removals.is_empty(), "{removals:?}");
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("1 record(s) cannot be read or tied to one host"),
        "{notes:?}"
    );
    assert!(stale_gateways(&a, &obs, &params()).is_empty());
    let d = decide(&a, &obs, &slot, &params(), None, u32::MAX);
    assert!(d.drains.is_empty());
    assert!(d.reason.contains("no drain or destroy"), "{}", d.reason);
    // Creation still runs.
    let mut short = pool(3, 0);
    short.doubts.push("dialog row 1: unreadable".into());
    let (_, d) = run(&short, &day_slot());
    assert!(d.delta > 0 && !d.creates.is_empty());
}

#[test]
fn a_tainted_host_is_kept_on_every_clean_up_path() {
    let mut obs = everything_removable();
    for instance in &obs.instances[4..] {
        obs.tainted_hosts
            .insert(instance.public_ip.or(instance.private_ip).unwrap());
    }
    assert_eq!(removed(&obs), []);
    let a = assess(&obs, &params(), now());
    let notes = cleanup(&a, &obs, &params(), now()).1;
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert!(
        notes.iter().all(|n| n.contains("cannot be read")),
        "{notes:?}"
    );
}

#[test]
fn a_call_no_registration_accounts_for_keeps_its_host() {
    let slot = Slot {
        idle_min: 0,
        ..day_slot()
    };
    let mut obs = everything_removable();
    for instance in &obs.instances {
        obs.busy_hosts.insert(instance.private_ip.unwrap());
    }
    obs.busy_hosts.insert("10.9.0.1".parse().unwrap());
    assert_eq!(removed(&obs), []);
    let a = assess(&obs, &params(), now());
    assert!(stale_gateways(&a, &obs, &params()).is_empty());
    assert!(
        decide(&a, &obs, &slot, &params(), None, u32::MAX)
            .drains
            .is_empty()
    );
    // Not counted: the hosts' gateways are counted as they are.
    assert_eq!(a.gateway_counts.busy, 0);
}

/// A huge `idle_min` (or `min_available`) plans no more instances than the
/// cap given by the pass; the reason says how many were wanted.
#[test]
fn creations_never_exceed_the_cap() {
    let huge = Slot {
        idle_min: u32::MAX,
        max_gateways: u32::MAX,
        ..day_slot()
    };
    let obs = pool(0, 0);
    let a = assess(&obs, &params(), now());
    let d = decide(&a, &obs, &huge, &params(), None, 10);
    assert_eq!(d.creates.len(), 10);
    assert!(d.creates.iter().all(|c| c.vcpus == 16));
    let wanted = packed_count(u32::MAX / 4 * 4, 4, &params().instance_types);
    assert_eq!(d.held_creates, wanted - 10);
    assert!(
        d.reason
            .contains(&format!("{wanted} instance(s) wanted, 10 planned")),
        "{}",
        d.reason
    );
    // Under the cap nothing is held, and a remainder still gets its instance.
    assert_eq!(pack(36, 4, &params().instance_types, 3).len(), 3);
    assert_eq!(pack(36, 4, &params().instance_types, 2).len(), 2);
    assert_eq!(packed_count(36, 4, &params().instance_types), 3);

    let replicas = Slot {
        min_available: Some(u32::MAX),
        max_replicas: Some(u32::MAX),
        ..day_slot()
    };
    let none = HashSet::new();
    let (_, d) = decide_replicas(
        &[],
        &HashMap::new(),
        &none,
        1,
        &replicas,
        &params(),
        ("c4", 4),
        now(),
        7,
    );
    assert_eq!((d.creates.len(), d.held_creates), (7, u32::MAX - 7));
    assert!(
        d.reason.contains("replica(s) wanted, 7 planned"),
        "{}",
        d.reason
    );
}

/// [`day_slot`] with a square-root staffing headroom β.
fn sqrt_slot(beta: f64) -> Slot {
    Slot {
        sqrt_headroom: beta,
        ..day_slot()
    }
}

#[test]
fn sqrt_headroom_zero_keeps_the_target() {
    // max(100 + 10, ceil(100 / 0.75)) = 134, nothing added.
    assert_eq!(target(100, &sqrt_slot(0.0)), 134);
    assert_eq!(sqrt_term(100, &sqrt_slot(0.0)), 0);
    let (_, d) = run(&pool(100, 0), &sqrt_slot(0.0));
    assert_eq!(d.target, 134);
    assert!(!d.reason.contains('√'), "{}", d.reason);
}

#[test]
fn sqrt_headroom_adds_beta_times_root_busy() {
    // 134 + ceil(1.5 × √100) = 134 + 15.
    assert_eq!(sqrt_term(100, &sqrt_slot(1.5)), 15);
    assert_eq!(target(100, &sqrt_slot(1.5)), 149);
    let (_, d) = run(&pool(100, 0), &sqrt_slot(1.5));
    assert_eq!((d.target, d.delta), (149, 49));
    assert!(
        d.reason
            .starts_with("target 149 = max(100 busy + 10 idle_min, ceil(100 / 0.75) = 134) + ceil(1.5 × √100) = 15 within 0..400"),
        "{}",
        d.reason
    );
}

#[test]
fn sqrt_headroom_adds_nothing_without_busy_gateways() {
    assert_eq!(sqrt_term(0, &sqrt_slot(1.5)), 0);
    assert_eq!(target(0, &sqrt_slot(1.5)), 10, "idle_min alone");
}

#[test]
fn sqrt_headroom_rounds_up() {
    // 0.5 × √10 = 1.58: two gateways; 1 × √2 = 1.41: two.
    assert_eq!(sqrt_term(10, &sqrt_slot(0.5)), 2);
    assert_eq!(sqrt_term(2, &sqrt_slot(1.0)), 2);
    assert_eq!(sqrt_term(1, &sqrt_slot(0.01)), 1);
    // 0.3 × √100 is 3.0000000000000004 in floating point: three, not four.
    assert_eq!(sqrt_term(100, &sqrt_slot(0.3)), 3);
    assert_eq!(sqrt_term(49, &sqrt_slot(0.7)), 5, "0.7 × 7 = 4.9");
    // The largest β on the most busy gateways there can be: no overflow.
    assert_eq!(target(u32::MAX, &sqrt_slot(10.0)), 400);
}

#[test]
fn sqrt_headroom_stays_within_the_clamps() {
    let capped = Slot {
        max_gateways: 140,
        ..sqrt_slot(1.5)
    };
    assert_eq!(target(100, &capped), 140, "max_gateways bounds the √ term");
    let floor = Slot {
        min_gateways: 200,
        ..sqrt_slot(1.5)
    };
    assert_eq!(target(100, &floor), 200);
    assert_eq!(
        target_with(100, 5, &sqrt_slot(1.5)),
        154,
        "turned-away calls on top"
    );
    assert_eq!(target_with(100, 5, &capped), 140);
}
