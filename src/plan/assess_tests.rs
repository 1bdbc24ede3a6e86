//! [`assess`] against a plain statement of what it computes, on many
//! random observations: a gateway belongs to the first instance listed
//! with its host among its addresses (an IPv4 and an IPv6 address with the
//! same bits are different hosts), an active instance is still registering
//! while `age <= register_timeout`, and `pool.protected` names an
//! instance by id, name or address. `assess` runs once a simulated minute
//! in a replay, so it uses faster means to the same ends; this pins them.

use super::*;
use crate::model::{Gateway, GatewayState, Instance, InstanceState};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A small deterministic generator (the test must replay the same cases).
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Few addresses, so that instances share them; `10.0.0.k` and `::a00:k`
/// have the same bits.
fn address(draw: &mut Draw) -> IpAddr {
    let k = draw.below(4) as u8;
    match draw.below(3) {
        0 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, k)),
        1 => IpAddr::V6(Ipv6Addr::from_bits(0x0a00_0000 + u128::from(k))),
        _ => IpAddr::V4(Ipv4Addr::new(54, 0, 0, k)),
    }
}

fn instance(draw: &mut Draw, n: u64, timeout: Duration) -> Instance {
    let states = [
        InstanceState::Building,
        InstanceState::Active,
        InstanceState::Error,
    ];
    // Around the register timeout, to the nanosecond, and in the future.
    let since = chrono::TimeDelta::from_std(timeout).map_or(now(), |t| now() - t);
    let offsets = [-61_000_000_000, -1, 0, 1, 59_000_000_000, 900_000_000_000];
    let created_at = since + chrono::TimeDelta::nanoseconds(draw.pick(&offsets));
    let ip = |draw: &mut Draw| (draw.below(4) > 0).then(|| address(draw));
    Instance {
        id: format!("i-{n}"),
        name: format!("gw-{n}"),
        state: states[draw.below(3) as usize],
        private_ip: ip(draw),
        public_ip: ip(draw),
        vcpus: draw.below(17) as u32,
        instance_type: None,
        created_at,
        adopted: false,
    }
}

fn observation(draw: &mut Draw, timeout: Duration) -> Observation {
    let states = [
        GatewayState::Idle,
        GatewayState::Busy,
        GatewayState::Draining,
        GatewayState::Starting,
    ];
    let mut obs = Observation::default();
    for n in 0..draw.below(9) {
        obs.instances.push(instance(draw, n, timeout));
    }
    for n in 0..draw.below(16) {
        let host = address(draw);
        obs.gateways.push(Gateway {
            id: format!("{host}.gw.{n}"),
            host,
            state: states[draw.below(4) as usize],
            in_call: draw.below(2) == 0,
        });
    }
    obs
}

/// What `assess` says of each instance and of the other gateways.
type Views = (Vec<(Vec<usize>, bool, u32)>, Vec<usize>);

/// The plain statement: each owner looked up in a map filled in listing
/// order, each age computed.
fn reference(obs: &Observation, params: &PoolParams) -> Views {
    let mut owners: HashMap<IpAddr, usize> = HashMap::new();
    for (index, instance) in obs.instances.iter().enumerate() {
        for ip in [instance.private_ip, instance.public_ip]
            .into_iter()
            .flatten()
        {
            owners.entry(ip).or_insert(index);
        }
    }
    let mut views = vec![(Vec::new(), false, 0); obs.instances.len()];
    let mut others = Vec::new();
    for (index, gateway) in obs.gateways.iter().enumerate() {
        match owners.get(&gateway.host) {
            Some(&i) => views[i].0.push(index),
            None => others.push(index),
        }
    }
    for (view, instance) in views.iter_mut().zip(&obs.instances) {
        view.1 = params.protected.iter().any(|p| {
            *p == instance.id
                || *p == instance.name
                || p.parse::<IpAddr>().is_ok_and(|ip| instance.has_address(ip))
        });
        let starting = view
            .0
            .iter()
            .filter(|&&g| obs.gateways[g].state == GatewayState::Starting)
            .count() as u32;
        let settled = view.0.len() as u32 - starting;
        let expected = instance.vcpus / params.cpu_per_gateway;
        view.2 = match instance.state {
            InstanceState::Building => expected.max(starting),
            InstanceState::Active if age(instance, now()) <= params.register_timeout => {
                expected.saturating_sub(settled).max(starting)
            }
            InstanceState::Active => starting,
            InstanceState::Error => 0,
        };
    }
    (views, others)
}

fn params(draw: &mut Draw, timeout: Duration) -> PoolParams {
    let protected = [
        "i-1",
        "gw-2",
        "10.0.0.1",
        "::a00:2",
        "54.0.0.3",
        "not-an-address",
    ];
    PoolParams {
        cpu_per_gateway: 4,
        instance_types: BTreeMap::new(),
        protected: (0..draw.below(3))
            .map(|_| draw.pick(&protected).to_string())
            .collect(),
        register_timeout: timeout,
        no_public_ip_timeout: None,
        expects_gateways: true,
        max_vcpus: None,
        drain_timeout: Duration::from_secs(600),
    }
}

#[test]
fn assess_matches_its_plain_statement_on_random_observations() {
    let mut draw = Draw(7);
    // A timeout too long for a date subtraction takes the other path.
    let timeouts = [Duration::from_secs(600), Duration::ZERO, Duration::MAX];
    for case in 0..3000 {
        let timeout = timeouts[case % timeouts.len()];
        let params = params(&mut draw, timeout);
        let obs = observation(&mut draw, timeout);
        let assessment = assess(&obs, &params, now());
        let views: Vec<_> = assessment
            .instances
            .iter()
            .map(|v| (v.gateways.to_vec(), v.protected, v.pending))
            .collect();
        let (want, others) = reference(&obs, &params);
        assert_eq!(views, want, "case {case}: {obs:#?} {params:#?}");
        assert_eq!(assessment.static_gateways, others, "case {case}: {obs:#?}");
        let pending: u32 = want.iter().map(|v| v.2).sum::<u32>()
            + others
                .iter()
                .filter(|&&g| obs.gateways[g].state == GatewayState::Starting)
                .count() as u32;
        assert_eq!(assessment.gateway_counts.pending, pending, "case {case}");
    }
}
