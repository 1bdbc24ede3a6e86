//! Human durations in the configuration (`"90s"`, `"10m"`, `"1h30m"`,
//! `"500ms"`), parsed once into `std::time::Duration`. Every duration is at
//! most [`MAX`], so adding one to an `Instant` or converting it for `chrono`
//! can never overflow.

use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// The longest duration accepted anywhere (a year): far beyond any sensible
/// timeout or delay, and far from the limits of `Instant` and `chrono`.
pub const MAX: Duration = Duration::from_secs(365 * 86_400);

/// A duration written the way people write it. Deserializes from a string such
/// as `"90s"` or `"1h30m"`, or from a whole number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"10m\" or \"1h30m\", or whole seconds")
            }
            fn visit_i64<E: serde::de::Error>(self, seconds: i64) -> Result<HumanDuration, E> {
                from_seconds(seconds).map(HumanDuration).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, seconds: u64) -> Result<HumanDuration, E> {
                match i64::try_from(seconds) {
                    Ok(seconds) => self.visit_i64(seconds),
                    Err(_) => Err(E::custom(format!(
                        "duration \"{seconds}\" is longer than the maximum of {}",
                        HumanDuration(MAX)
                    ))),
                }
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<HumanDuration, E> {
                parse(text).map(HumanDuration).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `duration` if it is at most [`MAX`]; `text` is how it was written.
fn within_max(duration: Duration, text: &str) -> Result<HumanDuration, String> {
    if duration > MAX {
        return Err(format!(
            "duration {text:?} is longer than the maximum of {}",
            HumanDuration(MAX)
        ));
    }
    Ok(HumanDuration(duration))
}

/// A whole number of seconds, as a duration of at most [`MAX`].
pub fn from_seconds(seconds: i64) -> Result<Duration, String> {
    let unsigned = u64::try_from(seconds)
        .map_err(|_| format!("invalid duration {seconds} (a duration cannot be negative)"))?;
    within_max(Duration::from_secs(unsigned), &seconds.to_string()).map(|d| d.0)
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_duration(self.0, f)
    }
}

fn format_duration(d: Duration, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return write!(f, "{ms}ms");
    }
    let mut s = d.as_secs();
    if s == 0 {
        return write!(f, "0s");
    }
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= size {
            write!(f, "{}{unit}", s / size)?;
            s %= size;
        }
    }
    Ok(())
}

/// Parses `"90s"`, `"10m"`, `"1h30m"`, `"500ms"`, `"2d"`; a bare number is
/// seconds. Longer than [`MAX`] is an error.
pub fn parse(text: &str) -> Result<Duration, String> {
    let duration = parse_unbounded(text)?;
    within_max(duration, text.trim()).map(|d| d.0)
}

fn parse_unbounded(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || {
        format!("invalid duration {text:?} (expected e.g. \"90s\", \"10m\", \"1h30m\", \"500ms\")")
    };
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" | "min" => Duration::from_secs(value.checked_mul(60).ok_or_else(bad)?),
            "h" => Duration::from_secs(value.checked_mul(3_600).ok_or_else(bad)?),
            "d" => Duration::from_secs(value.checked_mul(86_400).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_forms() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("42").unwrap(), Duration::from_secs(42));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "m",
            "10x",
            "1.5m",
            "-3s",
            "s10",
            "99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn refuses_more_than_a_year() {
        assert_eq!(parse("365d").unwrap(), MAX);
        for long in ["366d", "31536001", "8761h", "213503982334601d"] {
            let err = parse(long).unwrap_err();
            assert!(
                err.contains("longer than the maximum of 365d"),
                "{long}: {err}"
            );
        }
        for text in ["d = 18446744073709551615", "d = 9223372036854775807"] {
            let err = toml::from_str::<Wrapper>(text).unwrap_err().to_string();
            assert!(err.contains("longer than the maximum"), "{text}: {err}");
        }
        let err = toml::from_str::<Wrapper>("d = 1.5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a duration such as"), "{err}");
        assert_eq!(
            toml::from_str::<Wrapper>("d = 60").unwrap().d.0,
            Duration::from_secs(60)
        );
        assert!(from_seconds(-1).unwrap_err().contains("negative"));
        assert!(from_seconds(i64::MAX).is_err());
        assert_eq!(from_seconds(90).unwrap(), Duration::from_secs(90));
    }

    #[derive(Debug, Deserialize)]
    struct Wrapper {
        d: HumanDuration,
    }

    #[test]
    fn displays_round_trip() {
        for text in ["90s", "10m", "1h30m", "500ms", "0s", "1d2h"] {
            let d = HumanDuration(parse(text).unwrap());
            assert_eq!(parse(&d.to_string()).unwrap(), d.0, "{text}");
        }
        assert_eq!(HumanDuration(Duration::from_secs(90)).to_string(), "1m30s");
    }
}
