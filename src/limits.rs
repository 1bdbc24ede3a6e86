//! Brakes on a pass: how many instances one pass may create or destroy, how
//! long the target must stay below the pool's size before a scale-down, the
//! pass deadline, and when creation is suspended after instances were lost
//! without registering (the crash-loop backoff). Each brake that holds an
//! action back says so in the report; none of them is a failure (a
//! suspended creation exits 3). Out-of-range values are refused at load,
//! naming the key and its line.

use crate::duration::HumanDuration;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// The most instances one pass may be allowed to create or destroy.
pub const MAX_PER_RUN: u32 = 10_000;

/// The range of `limits.deadline`: a pass that may start actions for more
/// than an hour is not a pass any more.
pub const DEADLINE_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(3_600));

/// `[limits]` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Instances one pass may create (default: 100, or 20% of the pool when larger).
    #[serde(default, deserialize_with = "per_run")]
    pub max_create_per_run: Option<u32>,
    /// Instances one pass may destroy (default: 50, or 20% of the pool when larger).
    #[serde(default, deserialize_with = "per_run")]
    pub max_destroy_per_run: Option<u32>,
    /// Scale down only once the target has stayed below the pool's size this long.
    #[serde(default = "default_scale_down_delay")]
    pub scale_down_delay: HumanDuration,
    /// The pass stops starting new actions after this long.
    #[serde(default = "default_deadline", deserialize_with = "deadline")]
    pub deadline: HumanDuration,
    /// Instances lost in a row without registering before creation is
    /// suspended (0: never suspended).
    #[serde(
        default = "default_crash_loop_after",
        deserialize_with = "crash_loop_after"
    )]
    pub crash_loop_after: u32,
    /// The first suspension of creation; it doubles after each trial
    /// instance that is lost too.
    #[serde(default = "default_crash_loop_backoff", deserialize_with = "backoff")]
    pub crash_loop_backoff: HumanDuration,
    /// The longest suspension.
    #[serde(
        default = "default_crash_loop_backoff_max",
        deserialize_with = "backoff"
    )]
    pub crash_loop_backoff_max: HumanDuration,
}

/// The most lost instances `limits.crash_loop_after` may wait for.
pub const MAX_CRASH_LOOP_AFTER: u32 = 1_000;

/// The range of `limits.crash_loop_backoff` and `crash_loop_backoff_max`:
/// at least a minute (a pass interval), at most a week.
pub const BACKOFF_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(7 * 86_400));

/// `0..=MAX_CRASH_LOOP_AFTER` instances.
fn crash_loop_after<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(deserializer)?;
    match u32::try_from(n) {
        Ok(n) if n <= MAX_CRASH_LOOP_AFTER => Ok(n),
        _ => Err(serde::de::Error::custom(format!(
            "expected a number of instances from 0 (never suspend) to {MAX_CRASH_LOOP_AFTER}, got {n}"
        ))),
    }
}

/// A duration within [`BACKOFF_RANGE`].
fn backoff<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HumanDuration, D::Error> {
    let backoff = HumanDuration::deserialize(deserializer)?;
    let (min, max) = BACKOFF_RANGE;
    if backoff.0 < min || backoff.0 > max {
        return Err(serde::de::Error::custom(format!(
            "expected a duration from {} to {}, got {backoff}",
            HumanDuration(min),
            HumanDuration(max)
        )));
    }
    Ok(backoff)
}

/// `0..=MAX_PER_RUN` instances.
fn per_run<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let n = i64::deserialize(deserializer)?;
    match u32::try_from(n) {
        Ok(n) if n <= MAX_PER_RUN => Ok(Some(n)),
        _ => Err(serde::de::Error::custom(format!(
            "expected a number of instances from 0 to {MAX_PER_RUN}, got {n}"
        ))),
    }
}

/// A duration within [`DEADLINE_RANGE`].
fn deadline<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HumanDuration, D::Error> {
    let deadline = HumanDuration::deserialize(deserializer)?;
    let (min, max) = DEADLINE_RANGE;
    if deadline.0 < min || deadline.0 > max {
        return Err(serde::de::Error::custom(format!(
            "limits.deadline must be from {} to {}, got {deadline}",
            HumanDuration(min),
            HumanDuration(max)
        )));
    }
    Ok(deadline)
}

/// Five minutes: on the shipped working-day trace this cuts instance churn by
/// about a fifth for about 1% more vCPU-hours and no more missed calls
/// (README, "Simulation").
fn default_scale_down_delay() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}

fn default_deadline() -> HumanDuration {
    HumanDuration(Duration::from_secs(50))
}

/// Three: one instance lost is a bad boot, three in a row are an image (or
/// a network) that does not work.
fn default_crash_loop_after() -> u32 {
    3
}

/// Ten minutes, doubling up to two hours: a broken image then costs about a
/// dozen instances a day instead of one every `register_timeout`.
fn default_crash_loop_backoff() -> HumanDuration {
    HumanDuration(Duration::from_secs(600))
}

fn default_crash_loop_backoff_max() -> HumanDuration {
    HumanDuration(Duration::from_secs(7_200))
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_create_per_run: None,
            max_destroy_per_run: None,
            scale_down_delay: default_scale_down_delay(),
            deadline: default_deadline(),
            crash_loop_after: default_crash_loop_after(),
            crash_loop_backoff: default_crash_loop_backoff(),
            crash_loop_backoff_max: default_crash_loop_backoff_max(),
        }
    }
}

/// The default creation cap's floor. On bursty generated working days
/// (seeds 1-5, `scripts/brake-eval.sh`: bursts of 100 to 300 people joining
/// within a minute, pools of up to 1,000 gateways) caps of 30 and 50 missed
/// calls an unbraked pool served, 70 was the smallest that missed none, and
/// this is one step above it; figures on seeds 101-105 in README ("Brakes").
pub const CREATE_FLOOR: u32 = 100;

/// The default destruction cap's floor: the smallest cap tried that held no
/// destruction back on the same days (10 and 20 held some back, without
/// missing more calls).
pub const DESTROY_FLOOR: u32 = 50;

/// A default cap: `floor` instances, or 20% of the pool when that is larger.
pub fn default_cap(floor: u32, instances: u32) -> u32 {
    floor.max(instances.div_ceil(5))
}

impl Limits {
    /// Creations allowed this pass for a pool of `instances`.
    pub fn create_budget(&self, instances: u32) -> u32 {
        self.max_create_per_run
            .unwrap_or_else(|| default_cap(CREATE_FLOOR, instances))
    }

    /// Destructions allowed this pass for a pool of `instances`.
    pub fn destroy_budget(&self, instances: u32) -> u32 {
        self.max_destroy_per_run
            .unwrap_or_else(|| default_cap(DESTROY_FLOOR, instances))
    }

    /// The checks between keys (each key's own range is checked when read).
    pub fn validate(&self) -> Result<(), String> {
        if self.crash_loop_backoff_max < self.crash_loop_backoff {
            return Err(format!(
                "limits.crash_loop_backoff_max ({}) must be at least limits.crash_loop_backoff ({})",
                self.crash_loop_backoff_max, self.crash_loop_backoff
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_caps_scale_with_the_pool() {
        let defaults = Limits::default();
        assert_eq!(defaults.create_budget(0), 100);
        assert_eq!(defaults.create_budget(500), 100);
        assert_eq!(defaults.create_budget(501), 101);
        assert_eq!(defaults.create_budget(1000), 200);
        assert_eq!(defaults.destroy_budget(0), 50);
        assert_eq!(defaults.destroy_budget(251), 51);
        let explicit = Limits {
            max_create_per_run: Some(3),
            ..Limits::default()
        };
        assert_eq!(explicit.create_budget(1000), 3);
        assert_eq!(explicit.destroy_budget(1000), 200);
    }

    #[test]
    fn parses_with_defaults() {
        let l: Limits =
            toml::from_str("max_destroy_per_run = 2\nscale_down_delay = \"5m\"").unwrap();
        assert_eq!(l.max_destroy_per_run, Some(2));
        assert_eq!(l.scale_down_delay.0, Duration::from_secs(300));
        assert_eq!(l.deadline.0, Duration::from_secs(50));
        assert!(toml::from_str::<Limits>("max_destroy = 2").is_err());
    }

    #[test]
    fn refuses_values_out_of_range() {
        for (text, expected) in [
            (
                "deadline = \"0s\"",
                "limits.deadline must be from 1s to 1h, got 0s",
            ),
            (
                "deadline = \"61m\"",
                "limits.deadline must be from 1s to 1h, got 1h1m",
            ),
            ("deadline = \"99999999999d\"", "longer than the maximum"),
            ("max_create_per_run = 10001", "from 0 to 10000, got 10001"),
            ("max_destroy_per_run = -1", "from 0 to 10000, got -1"),
        ] {
            let err = toml::from_str::<Limits>(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let l: Limits = toml::from_str("deadline = \"1h\"\nmax_create_per_run = 0").unwrap();
        assert_eq!(l.deadline.0, Duration::from_secs(3_600));
        assert_eq!(l.create_budget(5), 0);
    }

    #[test]
    fn crash_loop_keys_default_and_are_range_checked() {
        let l = Limits::default();
        assert_eq!(l.crash_loop_after, 3);
        assert_eq!(l.crash_loop_backoff.0, Duration::from_secs(600));
        assert_eq!(l.crash_loop_backoff_max.0, Duration::from_secs(7_200));
        for (text, expected) in [
            (
                "crash_loop_after = 1001",
                "from 0 (never suspend) to 1000, got 1001",
            ),
            ("crash_loop_after = -1", "got -1"),
            ("crash_loop_backoff = \"30s\"", "from 1m to 7d, got 30s"),
            ("crash_loop_backoff_max = \"8d\"", "from 1m to 7d, got 8d"),
        ] {
            let err = toml::from_str::<Limits>(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let l: Limits =
            toml::from_str("crash_loop_after = 0\ncrash_loop_backoff = \"3h\"").unwrap();
        assert_eq!(l.crash_loop_after, 0);
        let err = l.validate().unwrap_err();
        assert!(
            err.starts_with("limits.crash_loop_backoff_max (2h) must be at least"),
            "{err}"
        );
        let l: Limits =
            toml::from_str("crash_loop_backoff = \"3h\"\ncrash_loop_backoff_max = \"3h\"").unwrap();
        assert_eq!(l.validate(), Ok(()));
    }
}
