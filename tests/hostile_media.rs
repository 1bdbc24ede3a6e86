//! Hostile input, media pools: Redis keys under the gateway prefix that once
//! were dropped silently (a key of another type, which `MGET` reads as nil)
//! or whose address names no host, so that an idle-looking host could be
//! destroyed while the key might be its. Each test runs the real binary
//! against the real redis-server on 127.0.0.1 and fails without the fix it
//! pins: such a key suspends every drain and destroy of the pool for the
//! pass, creation still runs, the report names the key, the pass exits 3.

mod common;

use common::media::{Redis, media_config};
use common::*;
use redis::Commands;
use scaler::provider::InstanceState;

const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";
const IDLE4: &str = "{ idle_min = 4, load_max = 0.8, max_gateways = 40 }";

fn kinds(json: &serde_json::Value) -> Vec<String> {
    json["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_key_of_another_type_suspends_every_drain_and_destroy_but_not_creation() {
    let ws = Workspace::new();
    let mut redis = Redis::new("hmtype");
    let idle = ws.add_instance("hmtype", "127.0.1.1", InstanceState::Active, 60, 4);
    let error = ws.add_instance("hmtype", "127.0.1.2", InstanceState::Error, 60, 4);
    let unregistered = ws.add_instance("hmtype", "127.0.1.3", InstanceState::Active, 60, 4);
    redis.register("a0", "127.0.1.1:8080", "started");
    // A gateway written as a hash (by another tool, or a future proxy).
    let hash = redis.key("h0");
    let _: () = redis
        .conn()
        .hset_multiple(&hash, &[("ip", "127.0.1.3"), ("state", "working")])
        .unwrap();
    let config = media_config(&ws, &redis, "hmtype", TIGHT, "", "");

    let json = run(&config, 3);
    let errors = errors(&json);
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&hash) && e.contains("holds a Redis hash")),
        "{errors:?}"
    );
    assert!(kinds(&json).is_empty(), "{json}");
    assert_eq!(ws.instance_ids("hmtype"), [idle, error, unregistered]);
    assert_eq!(redis.state("a0").as_deref(), Some("started"));

    // Creation still runs.
    let config = media_config(&ws, &redis, "hmtype", IDLE4, "", "");
    let json = run(&config, 3);
    let kinds = kinds(&json);
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "create"),
        "{json}"
    );
}

#[test]
fn an_address_that_names_no_instance_suspends_the_pool_and_an_instance_name_ties() {
    let ws = Workspace::new();
    let mut redis = Redis::new("hmname");
    let named = ws.add_instance("hmname", "127.0.1.1", InstanceState::Active, 60, 4);
    let idle = ws.add_instance("hmname", "127.0.1.2", InstanceState::Active, 60, 4);
    assert_ne!(idle, named);
    let name = ws
        .cloud()
        .instances
        .iter()
        .find(|i| i.id == named)
        .unwrap()
        .name
        .clone();
    redis.register("n0", &format!("{name}:8080"), "working");
    redis.register("i0", "127.0.1.2:8080", "started");
    let config = media_config(&ws, &redis, "hmname", TIGHT, "", "");

    // The instance's name ties the key to it: busy, kept; the idle one goes.
    let json = run(&config, 0);
    assert_eq!(json["observed"]["gateways"]["busy"], 1, "{json}");
    assert_eq!(kinds(&json), ["drain", "destroy"]);
    assert_eq!(ws.instance_ids("hmname"), std::slice::from_ref(&named));

    // A name that is no instance's is never resolved: nothing is destroyed.
    let error = ws.add_instance("hmname", "127.0.1.3", InstanceState::Error, 60, 4);
    redis.register("x0", "localhost:8080", "started");
    let json = run(&config, 3);
    let errors = errors(&json);
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&redis.key("x0")) && e.contains("its host is unknown")),
        "{errors:?}"
    );
    assert!(kinds(&json).is_empty(), "{json}");
    assert_eq!(ws.instance_ids("hmname"), [named, error]);
}
