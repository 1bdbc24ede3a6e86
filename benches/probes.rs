//! Probe benchmark: 1,000 replicas on loopback addresses 127.6.x.y, 50 of
//! which (5 %, spread evenly) accept the connection and never answer. Prints
//! how long one `probe_all` takes with the default `probe.concurrency` and
//! at several others (timeout 2 s): with hung probes giving their place up
//! after `park_after`, about one timeout whatever the concurrency.
//! Run: `cargo bench --bench probes`.

use scaler::probe::{ProbeConfig, Prober, park_after};
use scaler::provider::{Instance, InstanceState};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::time::{Duration, Instant};

const REPLICAS: usize = 1000;
const HUNG: usize = 50;
const PORT: u16 = 18_080;
const ROUNDS: usize = 3;

fn main() {
    let mut instances = Vec::new();
    for n in 0..REPLICAS {
        let ip: IpAddr = format!("127.6.{}.{}", n / 250, n % 250 + 1)
            .parse()
            .unwrap();
        let listener = TcpListener::bind((ip, PORT)).expect("bind a loopback address");
        let hung = n % (REPLICAS / HUNG) == 0;
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
        });
    }
    let base = "url = \"http://{ip}:18080/status\"\ntimeout = \"2s\"\n";
    let default: ProbeConfig = toml::from_str(base).unwrap();
    println!(
        "{REPLICAS} replicas, {HUNG} hung, timeout 2s, a probe gives its place up after {} ms; {ROUNDS} rounds each",
        park_after(default.timeout.0).as_millis()
    );
    for concurrency in [None, Some(8), Some(32), Some(64), Some(128)] {
        let text = match concurrency {
            None => base.to_string(),
            Some(c) => format!("{base}concurrency = {c}\n"),
        };
        let config: ProbeConfig = toml::from_str(&text).unwrap();
        let prober = Prober::new(&config, true).unwrap();
        let mut times = Vec::new();
        let mut ok = 0;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let results = prober.probe_all(&instances);
            times.push(start.elapsed().as_secs_f64());
            ok = results.iter().filter(|(_, r)| r.is_ok()).count();
        }
        let label = match concurrency {
            None => format!("default concurrency ({})", config.concurrency),
            Some(c) => format!("concurrency {c}"),
        };
        let shown: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
        println!(
            "{label}: {} s ({ok} answered, {} unknown)",
            shown.join(" / "),
            REPLICAS - ok
        );
    }
}
