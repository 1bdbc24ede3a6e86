//! Probe benchmark: 1,000 replicas on loopback addresses, 50 of which (5 %)
//! accept the connection and never answer. Prints how long one `probe_all`
//! takes with the default `probe.concurrency` and at a few others (timeout
//! 2 s), in two layouts of the hung replicas: evenly spread (every 20th, the
//! layout `park_after` was chosen on) and a seeded random draw held apart
//! for the published figures. Hung probes give their place up after
//! `park_after`, so probing takes about one timeout whatever the concurrency.
//! Run: `cargo bench --bench probes`.

use scaler::probe::{ProbeConfig, Prober, park_after};
use scaler::provider::{Instance, InstanceState};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::time::{Duration, Instant};

const REPLICAS: usize = 1000;
const HUNG: usize = 50;
const PORT: u16 = 18_080;
const ROUNDS: usize = 3;
/// Seed of the held-apart layout (not the one defaults were chosen on).
const HELD_APART_SEED: u64 = 0x5ca1e;

/// `HUNG` distinct indices drawn with a 64-bit LCG from `seed`.
fn random_hung(seed: u64) -> HashSet<usize> {
    let mut state = seed;
    let mut hung = HashSet::new();
    while hung.len() < HUNG {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        hung.insert((state >> 33) as usize % REPLICAS);
    }
    hung
}

/// Starts one status server per replica on `127.<net>.x.y` and returns the instances.
fn replicas(net: u8, hung: &HashSet<usize>) -> Vec<Instance> {
    let mut instances = Vec::new();
    for n in 0..REPLICAS {
        let ip: IpAddr = format!("127.{net}.{}.{}", n / 250, n % 250 + 1)
            .parse()
            .unwrap();
        let listener = TcpListener::bind((ip, PORT)).expect("bind a loopback address");
        let hung = hung.contains(&n);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                if hung {
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(600));
                        drop(stream);
                    });
                    continue;
                }
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                let body = r#"{"termination": false, "capacity": 2}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        instances.push(Instance {
            id: format!("r-{n}"),
            name: format!("bench-{n}"),
            state: InstanceState::Active,
            private_ip: Some(ip),
            public_ip: Some(ip),
            vcpus: 2,
            instance_type: None,
            created_at: chrono::Utc::now(),
            adopted: false,
        });
    }
    instances
}

fn main() {
    let spread: HashSet<usize> = (0..REPLICAS).step_by(REPLICAS / HUNG).collect();
    let layouts = [
        ("evenly spread (tuning layout)", replicas(6, &spread)),
        (
            "random, held-apart seed",
            replicas(7, &random_hung(HELD_APART_SEED)),
        ),
    ];
    let base = format!("url = \"http://{{ip}}:{PORT}/status\"\ntimeout = \"2s\"\n");
    let default: ProbeConfig = toml::from_str(&base).unwrap();
    println!(
        "{REPLICAS} replicas, {HUNG} hung, timeout 2s, a probe gives its place up after {} ms; {ROUNDS} rounds each",
        park_after(default.timeout.0).as_millis()
    );
    for (layout, instances) in &layouts {
        for concurrency in [None, Some(8), Some(128)] {
            let text = match concurrency {
                None => base.clone(),
                Some(c) => format!("{base}concurrency = {c}\n"),
            };
            let config: ProbeConfig = toml::from_str(&text).unwrap();
            let prober = Prober::new(&config, true).unwrap();
            let mut times = Vec::new();
            let mut ok = 0;
            for _ in 0..ROUNDS {
                let start = Instant::now();
                let results = prober.probe_all(instances);
                times.push(format!("{:.2}", start.elapsed().as_secs_f64()));
                ok = results.iter().filter(|(_, r)| r.is_ok()).count();
            }
            let label = match concurrency {
                None => format!("default concurrency ({})", config.concurrency),
                Some(c) => format!("concurrency {c}"),
            };
            println!(
                "{layout}, {label}: {} s ({ok} answered, {} unknown)",
                times.join(" / "),
                REPLICAS - ok
            );
        }
    }
}
