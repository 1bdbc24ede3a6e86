//! Redis helpers for the media pool tests: each test gets its own key
//! namespace on the real redis-server at 127.0.0.1:6379 (override with
//! `SCALER_TEST_REDIS`), written the way SIPMediaGW's media proxy writes it,
//! and removed again when the test ends. A missing server fails the test
//! with a hint; it never skips.

use super::Workspace;
use redis::Commands;

/// The test server's URL.
pub fn redis_url() -> String {
    std::env::var("SCALER_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_string())
}

/// A new connection to the test server (what a proxy would hold).
pub fn connect() -> redis::Connection {
    redis::Client::open(redis_url())
        .expect("valid SCALER_TEST_REDIS")
        .get_connection_with_timeout(std::time::Duration::from_secs(5))
        .unwrap_or_else(|e| {
            panic!(
                "Redis at {} is not reachable: {e} (run scripts/services.sh)",
                redis_url()
            )
        })
}

/// One test's namespace: gateway keys `<ns>gateway:<id>`, drain records in `<ns>drain`.
pub struct Redis {
    pub namespace: String,
    conn: redis::Connection,
}

impl Redis {
    /// A namespace named after the test and this process.
    pub fn new(tag: &str) -> Redis {
        let namespace = format!("scaler-test:{tag}:{}:", std::process::id());
        let mut redis = Redis {
            namespace,
            conn: connect(),
        };
        redis.clear();
        redis
    }

    /// `[media] key_prefix` of this namespace.
    pub fn key_prefix(&self) -> String {
        format!("{}gateway:", self.namespace)
    }

    /// `[media] drain_key` of this namespace.
    pub fn drain_key(&self) -> String {
        format!("{}drain", self.namespace)
    }

    /// The full key of gateway `id`.
    pub fn key(&self, id: &str) -> String {
        format!("{}{id}", self.key_prefix())
    }

    /// The `[media]` section for this namespace.
    pub fn media_section(&self, extra: &str) -> String {
        format!(
            "[media]\nurl = \"{}\"\nkey_prefix = \"{}\"\ndrain_key = \"{}\"\n{extra}\n",
            redis_url(),
            self.key_prefix(),
            self.drain_key()
        )
    }

    /// Writes gateway `id`'s value (bytes, as the proxy would).
    pub fn set(&mut self, id: &str, value: &[u8]) {
        let key = self.key(id);
        let _: () = self.conn.set(key, value).unwrap();
    }

    /// Registers gateway `id` the way the proxy's `/register` does, in `state`.
    pub fn register(&mut self, id: &str, ip: &str, state: &str) {
        let value = format!("{ip}|{state}|media|None|2026-01-01T08:00:00.000000|0|0");
        self.set(id, value.as_bytes());
    }

    /// Gateway `id`'s value, if the key exists.
    pub fn get(&mut self, id: &str) -> Option<Vec<u8>> {
        let key = self.key(id);
        self.conn.get(key).unwrap()
    }

    /// Gateway `id`'s state field.
    pub fn state(&mut self, id: &str) -> Option<String> {
        self.get(id).map(|v| {
            String::from_utf8_lossy(v.split(|b| *b == b'|').nth(1).unwrap_or_default()).into_owned()
        })
    }

    /// The drain record of gateway `id` (Unix seconds).
    pub fn drain_record(&mut self, id: &str) -> Option<i64> {
        let (hash, key) = (self.drain_key(), self.key(id));
        self.conn.hget(hash, key).unwrap()
    }

    /// Sets the drain record of gateway `id`.
    pub fn set_drain_record(&mut self, id: &str, at: chrono::DateTime<chrono::Utc>) {
        let (hash, key) = (self.drain_key(), self.key(id));
        let _: () = self.conn.hset(hash, key, at.timestamp()).unwrap();
    }

    /// Ids of the gateway keys present, sorted.
    pub fn ids(&mut self) -> Vec<String> {
        let prefix = self.key_prefix();
        let mut ids: Vec<String> = self
            .conn
            .scan_match::<_, String>(format!("{prefix}*"))
            .unwrap()
            .map(|k| k.unwrap().trim_start_matches(&prefix).to_string())
            .collect();
        ids.sort();
        ids
    }

    /// A raw command (what a proxy would do).
    pub fn conn(&mut self) -> &mut redis::Connection {
        &mut self.conn
    }

    fn clear(&mut self) {
        let keys: Vec<Vec<u8>> = self
            .conn
            .scan_match::<_, Vec<u8>>(format!("{}*", self.namespace))
            .unwrap()
            .map(|k| k.unwrap())
            .collect();
        if !keys.is_empty() {
            let _: () = self.conn.del(keys).unwrap();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A media pool configuration over a workspace and a Redis namespace.
/// `slot` is the inline table of a single `default` slot starting at 00:00.
pub fn media_config(
    ws: &Workspace,
    redis: &Redis,
    pool: &str,
    slot: &str,
    extra_pool: &str,
    extra_media: &str,
) -> String {
    ws.config(&format!(
        r#"[pool]
name = "{pool}"
kind = "media"
cpu_per_gateway = 4
register_timeout = "10m"
{extra_pool}

[schedule]
timezone = "Europe/Paris"
[schedule.default]
"00:00" = {slot}

{media}
[limits]
scale_down_delay = "0s"

[state]
path = "state.json"

[lock]
path = "pass.lock"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "127.0.1.0/24"
boot_delay = "60s"
[provider.instance_types]
"c4" = 4
"c8" = 8
"#,
        media = redis.media_section(extra_media)
    ))
}
