//! `scaler status` through the real binary: a SIP pool on a seeded MariaDB
//! and the `local` provider (an idle host the next pass drains, a busy one,
//! a draining one, a protected one, one never registered that it destroys,
//! a building one without a public address), in text and JSON; the same
//! decision as `plan`; no lock taken and nothing changed; exit statuses as
//! `plan`; a media pool on Redis; a replica pool probed over loopback HTTP.

mod common;

use common::http::{Answer, free_port, serve, status};
use common::media::{Redis, media_config};
use common::*;
use scaler::provider::InstanceState;
use scaler::provider::local::{read_state, write_state};
use std::collections::HashMap;

const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";

/// The seeded SIP pool's instance ids.
struct Ids {
    idle: String,
    busy: String,
    draining: String,
    protected: String,
    unregistered: String,
    building: String,
}

/// Removes an instance's public address in the local cloud.
fn without_public_ip(ws: &Workspace, id: &str) {
    let mut cloud = read_state(&ws.cloud_file()).unwrap();
    for instance in cloud.instances.iter_mut().filter(|i| i.id == id) {
        instance.public_ip = None;
    }
    write_state(&ws.cloud_file(), &cloud).unwrap();
}

/// Busy 1 → target 1; 5 registered + 2 pending: the idle host is drained,
/// the never-registered one destroyed, every other one kept.
fn seeded(ws: &Workspace, db: &mut Kamailio, pool: &str) -> (String, Ids) {
    let three_days = 3 * 24 * 60;
    let ids = Ids {
        idle: ws.add_instance(pool, "127.0.31.1", InstanceState::Active, three_days, 8),
        busy: ws.add_instance(pool, "127.0.31.2", InstanceState::Active, 60, 8),
        draining: ws.add_instance(pool, "127.0.31.3", InstanceState::Active, 60, 4),
        protected: ws.add_instance(pool, "127.0.31.4", InstanceState::Active, 60, 4),
        unregistered: ws.add_instance(pool, "127.0.31.5", InstanceState::Active, 30, 4),
        building: ws.add_instance(pool, "127.0.31.6", InstanceState::Building, 0, 8),
    };
    without_public_ip(ws, &ids.building);
    db.register("127.0.31.1", 0, false, false);
    db.register("127.0.31.1", 1, false, false);
    let caller = db.register("127.0.31.2", 0, false, false);
    db.call(&caller, "127.0.31.2", 5060);
    db.register("127.0.31.2", 1, false, false);
    let finishing = db.register("127.0.31.3", 0, true, true);
    db.call(&finishing, "127.0.31.3", 5060);
    db.register("127.0.31.4", 0, false, false);
    let protected = "protected = [\"127.0.31.4\"]";
    (sip_config(ws, db, pool, TIGHT, protected), ids)
}

/// The text table's rows by ID, each cell under its header (cells are
/// cut at the header's column starts, so a misaligned row reads wrong).
fn table(stdout: &str) -> (Vec<String>, HashMap<String, HashMap<String, String>>) {
    let mut lines = stdout.lines();
    let header = lines.next().expect("a header row");
    let names: Vec<&str> = header.split_whitespace().collect();
    let starts: Vec<usize> = names.iter().map(|n| header.find(n).unwrap()).collect();
    let mut rows = HashMap::new();
    let mut rest = Vec::new();
    for line in lines {
        if !line.starts_with("local-") {
            rest.push(line.to_string());
            continue;
        }
        let cell = |i: usize| {
            let end = starts.get(i + 1).copied().unwrap_or(line.len());
            line[starts[i]..end.min(line.len())].trim().to_string()
        };
        let row: HashMap<String, String> = (0..names.len())
            .map(|i| (names[i].to_string(), cell(i)))
            .collect();
        rows.insert(row["ID"].clone(), row);
    }
    (rest, rows)
}

#[test]
fn text_has_one_aligned_row_per_instance_and_a_summary() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("status_text");
    let (config, ids) = seeded(&ws, &mut db, "st");
    let run = scaler(&["-c", &config, "status"]).expect(0);
    let header = run.stdout.lines().next().unwrap().to_string();
    let columns: Vec<&str> = header.split_whitespace().collect();
    let expected = "ID NAME TYPE VCPUS STATE AGE PRIVATE PUBLIC REG/BUSY/DRAIN PROTECTED NEXT";
    assert_eq!(columns.join(" "), expected, "{}", run.stdout);
    let (rest, rows) = table(&run.stdout);
    assert_eq!(rows.len(), 6, "{}", run.stdout);
    let cells = |id: &str, columns: &[&str]| -> Vec<String> {
        columns.iter().map(|c| rows[id][*c].clone()).collect()
    };
    let all = [
        "TYPE",
        "VCPUS",
        "STATE",
        "AGE",
        "PRIVATE",
        "PUBLIC",
        "REG/BUSY/DRAIN",
        "PROTECTED",
        "NEXT",
    ];
    let idle = cells(&ids.idle, &all);
    let idle_expected = "c8 8 active 3d 127.0.31.1 127.0.31.1 2/0/0 no drain: scale_down";
    assert_eq!(idle.join(" "), idle_expected, "{}", run.stdout);
    let load = ["REG/BUSY/DRAIN", "PROTECTED", "NEXT"];
    let expect = [
        (&ids.busy, "2/1/0 no keep"),
        (&ids.draining, "0/0/1 no keep"),
        (&ids.protected, "1/0/0 yes keep: protected"),
        (&ids.unregistered, "0/0/0 no destroy: unregistered"),
        (&ids.building, "0/0/0 no keep"),
    ];
    for (id, want) in expect {
        assert_eq!(cells(id, &load).join(" "), want, "{id}:\n{}", run.stdout);
    }
    let building = cells(&ids.building, &["STATE", "PRIVATE", "PUBLIC"]);
    assert_eq!(
        building.join(" "),
        "building 127.0.31.6 -",
        "{}",
        run.stdout
    );
    assert!(rows[&ids.unregistered]["AGE"].ends_with('m'));
    assert!(rows[&ids.idle]["NAME"].starts_with("st-"));
    let summary = &rest[0];
    assert!(
        summary
            .starts_with("st status: 6 instance(s) (1 building, 5 active, 0 error, 1 protected);"),
        "{summary}"
    );
    assert!(
        summary.contains("gateways 5 registered, 1 busy, 4 idle, 1 draining, 2 pending;")
            && summary.ends_with(
                "target 1 (-6); next pass: create 0, drain 1, destroy 2, held back by call_in_progress"
            ),
        "{summary}"
    );
}

/// A row of the JSON `instances` array, by id.
fn instance<'a>(json: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    let instances = json["instances"].as_array().expect("an instances array");
    instances
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {json}"))
}

#[test]
fn json_has_an_instances_array_and_the_decision_of_plan() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("status_json");
    let (config, ids) = seeded(&ws, &mut db, "sj");
    let json = scaler(&["-c", &config, "--format", "json", "status"])
        .expect(0)
        .json();
    assert_eq!(json["command"], "status");
    assert_eq!(
        (&json["dry_run"], &json["exit_code"]),
        (&true.into(), &0.into())
    );
    let names: Vec<&str> = json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!((names.len(), &names), (6, &sorted));

    let idle = instance(&json, &ids.idle);
    assert_eq!(
        idle["next"],
        serde_json::json!({"action": "drain", "reason": "scale_down"})
    );
    let gateways =
        serde_json::json!({"registered": 2, "busy": 0, "idle": 2, "draining": 0, "pending": 0});
    assert_eq!(idle["gateways"], gateways);
    assert_eq!(
        (&idle["instance_type"], &idle["vcpus"]),
        (&"c8".into(), &8.into())
    );
    assert_eq!(idle["private_ip"], "127.0.31.1");
    assert!(
        idle["age_seconds"].as_u64().unwrap() >= 3 * 86_400,
        "{idle}"
    );
    let created = chrono::DateTime::parse_from_rfc3339(idle["created_at"].as_str().unwrap());
    assert!(created.is_ok(), "{idle}");
    assert!(idle.get("capacity").is_none(), "{idle}");

    let draining = instance(&json, &ids.draining);
    assert_eq!(draining["gateways"]["draining"], 1);
    assert_eq!(draining["next"], serde_json::json!({"action": "keep"}));
    let protected = instance(&json, &ids.protected);
    assert_eq!(protected["protected"], true);
    assert_eq!(
        protected["next"],
        serde_json::json!({"action": "keep", "reason": "protected"})
    );
    let unregistered = instance(&json, &ids.unregistered);
    let destroy = serde_json::json!({"action": "destroy", "reason": "unregistered"});
    assert_eq!(unregistered["next"], destroy);
    let building = instance(&json, &ids.building);
    assert_eq!(
        (&building["state"], &building["gateways"]["pending"]),
        (&"building".into(), &2.into())
    );
    assert!(building.get("public_ip").is_none(), "{building}");
    assert_eq!(instance(&json, &ids.busy)["gateways"]["busy"], 1);

    // The one decision: what `plan` plans is what the rows say.
    let plan = scaler(&["-c", &config, "--format", "json", "plan"])
        .expect(0)
        .json();
    assert_eq!(json["actions"], plan["actions"]);
    assert_eq!(json["decision"], plan["decision"]);
    assert_eq!(json["observed"], plan["observed"]);
    assert!(plan.get("instances").is_none(), "{plan}");
}

#[test]
fn status_takes_no_lock_and_changes_nothing() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("status_lock");
    let (config, ids) = seeded(&ws, &mut db, "sl");
    let loaded = scaler::config::load(std::path::Path::new(&config)).unwrap();
    let held = scaler::lock::acquire(&loaded.lock).expect("the pass lock");
    let rows_before = db.rows();
    let cloud_before = ws.instance_ids("sl");

    // A pass is running (it holds the lock): `status` neither waits nor refuses.
    scaler(&["-c", &config, "run"]).expect(75);
    let json = scaler(&["-c", &config, "--format", "json", "status"])
        .expect(0)
        .json();
    assert_eq!(json["instances"].as_array().unwrap().len(), 6);
    assert_eq!(instance(&json, &ids.idle)["next"]["action"], "drain");
    drop(held);

    // Nothing was drained, destroyed, forgotten or written.
    assert_eq!(ws.instance_ids("sl"), cloud_before);
    assert_eq!(db.rows(), rows_before);
    assert!(!ws.path("state.json").exists(), "no state file written");
    // The next real pass does what status said.
    let run = run(&config, 0);
    let done: Vec<(String, String)> = run["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().into(),
                a["instance"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        done.contains(&("drain".into(), ids.idle.clone())),
        "{done:?}"
    );
    assert!(
        done.contains(&("destroy".into(), ids.unregistered.clone())),
        "{done:?}"
    );
}

#[test]
fn an_unreachable_database_exits_as_plan_does_with_no_instances() {
    let ws = Workspace::new();
    let db = Kamailio::new("status_down");
    let config = sip_config(&ws, &db, "sd", TIGHT, "");
    let port = free_port("127.0.0.1");
    let text = std::fs::read_to_string(&config).unwrap();
    let down = format!("mysql://scaler@127.0.0.1:{port}/{}", db.name);
    ws.config(&text.replace(&db.url(), &down));
    ws.add_instance("sd", "127.0.33.1", InstanceState::Active, 60, 4);
    let plan = scaler(&["-c", &config, "--format", "json", "plan"]);
    let status = scaler(&["-c", &config, "--format", "json", "status"]).expect(plan.status);
    assert_eq!(status.status, 69);
    let json = status.json();
    assert!(json.get("instances").is_none(), "{json}");
    assert!(!errors(&json).is_empty(), "{json}");
    let text = scaler(&["-c", &config, "status"]).expect(69);
    assert!(text.stdout.contains("error: "), "{}", text.stdout);
    assert!(!text.stdout.contains("REG/BUSY/DRAIN"), "{}", text.stdout);
}

#[test]
fn a_media_pool_shows_its_busy_and_draining_gateways() {
    let ws = Workspace::new();
    let mut redis = Redis::new("status_media");
    let serving = ws.add_instance("sm", "127.0.34.1", InstanceState::Active, 60, 8);
    let stopping = ws.add_instance("sm", "127.0.34.2", InstanceState::Active, 60, 4);
    redis.register("a", "127.0.34.1", "working");
    redis.register("b", "127.0.34.1", "started");
    redis.register("c", "127.0.34.2", "stopping");
    redis.set_drain_record("c", chrono::Utc::now());
    let slot = "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }";
    let config = media_config(&ws, &redis, "sm", slot, "drain_timeout = \"10m\"", "");
    let run = scaler(&["-c", &config, "status"]).expect(0);
    let (_, rows) = table(&run.stdout);
    assert_eq!(rows[&serving]["REG/BUSY/DRAIN"], "2/1/0", "{}", run.stdout);
    assert_eq!(rows[&stopping]["REG/BUSY/DRAIN"], "0/0/1", "{}", run.stdout);
    assert_eq!(rows[&stopping]["NEXT"], "keep", "{}", run.stdout);
    let json = scaler(&["-c", &config, "--format", "json", "status"])
        .expect(0)
        .json();
    assert_eq!(instance(&json, &serving)["gateways"]["busy"], 1);
}

fn replicas_config(ws: &Workspace, port: u16) -> String {
    ws.config(&format!(
        r#"[pool]
name = "sr"
kind = "replicas"
register_timeout = "5m"

[schedule.default]
"00:00" = {{ min_available = 6, max_replicas = 10 }}

[replicas]
replica_capacity = 3

[probe]
url = "http://{{ip}}:{port}/status"
timeout = "1s"

[lock]
path = "pass.lock"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "127.0.35.0/24"
[provider.instance_types]
"b2-7" = 2
"#
    ))
}

#[test]
fn a_replica_pool_shows_capacity_and_use_instead_of_gateways() {
    let ws = Workspace::new();
    let port = free_port("127.0.35.1");
    serve("127.0.35.1", port, status(false, 0));
    serve("127.0.35.2", port, status(true, 2));
    serve("127.0.35.3", port, status(false, 1));
    serve("127.0.35.4", port, Answer::Status(503));
    let ids: Vec<String> = (1..=4)
        .map(|n| ws.add_instance("sr", &format!("127.0.35.{n}"), InstanceState::Active, 60, 2))
        .collect();
    let building = ws.add_instance("sr", "127.0.35.5", InstanceState::Building, 0, 2);
    let config = replicas_config(&ws, port);
    // 0 + 1 + 3 (building) = 4 available of 6: one more replica; #2 asks to go.
    let run = scaler(&["-c", &config, "status"]).expect(0);
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.contains(" CAPACITY/USED ") && !header.contains("REG/"),
        "{header}"
    );
    let (rest, rows) = table(&run.stdout);
    let column = |id: &String| {
        let row = &rows[id];
        format!("{} | {}", row["CAPACITY/USED"], row["NEXT"])
    };
    assert_eq!(column(&ids[0]), "0/3 | keep");
    assert_eq!(column(&ids[1]), "- | destroy: termination_requested");
    assert_eq!(column(&ids[2]), "1/2 | keep");
    assert_eq!(column(&ids[3]), "- | keep", "no answer is not dead");
    assert_eq!(column(&building), "- | keep");
    assert!(
        rest[0].contains("4 available (2 healthy, 1 unknown, 1 building, 0 booting); target 6 (+2); next pass: create 1, drain 0, destroy 1"),
        "{rest:?}"
    );
    // A failed probe is a warning: the instance is unknown, the exit status 0.
    assert!(
        rest.iter().any(|l| l.contains("warning: probe")),
        "{rest:?}"
    );
    assert!(!rest.iter().any(|l| l.contains("error:")), "{rest:?}");
    let json = scaler(&["-c", &config, "--format", "json", "status"])
        .expect(0)
        .json();
    let third = instance(&json, &ids[2]);
    assert_eq!((&third["capacity"], &third["used"]), (&1.into(), &2.into()));
    assert!(third.get("gateways").is_none(), "{third}");
    assert!(instance(&json, &ids[3]).get("capacity").is_none());
}
