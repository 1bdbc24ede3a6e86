//! Probe benchmark: 1,000 replicas on loopback addresses 127.6.x.y, 50 of
//! which accept the connection and never answer. Prints how long one
//! `probe_all` takes at several concurrencies (timeout 2 s).
//! Run: `cargo bench --bench probes`.

use scaler::probe::{ProbeConfig, Prober};
use scaler::provider::{Instance, InstanceState};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::time::{Duration, Instant};

const REPLICAS: usize = 1000;
const HUNG: usize = 50;
const PORT: u16 = 18_080;

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
    for concurrency in [32, 64, 128] {
        let config: ProbeConfig = toml::from_str(&format!(
            "url = \"http://{{ip}}:{PORT}/status\"\ntimeout = \"2s\"\nconcurrency = {concurrency}"
        ))
        .unwrap();
        let prober = Prober::new(&config, true).unwrap();
        let start = Instant::now();
        let results = prober.probe_all(&instances);
        let elapsed = start.elapsed();
        let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
        println!(
            "{REPLICAS} replicas, {HUNG} hung, timeout 2s, concurrency {concurrency}: {:.2} s ({ok} answered, {} unknown)",
            elapsed.as_secs_f64(),
            results.len() - ok
        );
    }
}
