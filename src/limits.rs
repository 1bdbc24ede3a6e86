//! Brakes on a pass: how many instances one pass may create or destroy, how
//! long the target must stay below the pool's size before a scale-down, and
//! the pass deadline. Each brake that holds an action back says so in the
//! report; none of them is a failure. Out-of-range values are refused at
//! load, naming the key and its line.

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

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_create_per_run: None,
            max_destroy_per_run: None,
            scale_down_delay: default_scale_down_delay(),
            deadline: default_deadline(),
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
}
