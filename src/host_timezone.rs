//! The host's timezone as an IANA name, for `config import`: SIPMediaGW ran
//! its schedule in the host's local time, so the converted `[schedule]`
//! takes the same zone. Looked up as the C library does, in order: the `TZ`
//! variable, `/etc/timezone` (Debian), then the zone file `/etc/localtime`
//! links to under a `zoneinfo` directory. Each source that says nothing
//! usable is skipped with a reason.

use chrono_tz::Tz;
use std::path::Path;

/// What the lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTimezone {
    /// The zone and where it came from (`TZ`, `/etc/timezone`,
    /// `/etc/localtime`), or `None` when no source named one.
    pub zone: Option<(Tz, String)>,
    /// Sources that were present but unusable, with the reason.
    pub skipped: Vec<String>,
}

/// A zone name as `TZ` or a link target may give it: `:Europe/Paris`, or a
/// path under a `zoneinfo` directory (`/usr/share/zoneinfo/posix/Europe/Paris`).
fn zone_name(text: &str) -> &str {
    let text = text.trim().trim_start_matches(':');
    let name = text.rsplit_once("zoneinfo/").map_or(text, |(_, name)| name);
    name.strip_prefix("posix/")
        .or_else(|| name.strip_prefix("right/"))
        .unwrap_or(name)
}

fn parse(text: &str, source: &str) -> Result<Tz, String> {
    let name = zone_name(text);
    name.parse::<Tz>()
        .map_err(|_| format!("{source} {text:?} is not an IANA timezone name"))
}

/// Looks the timezone up from `tz` (the `TZ` variable, if set) and the
/// files under `root` (`/` for the host).
pub fn detect(tz: Option<&str>, root: &Path) -> HostTimezone {
    let mut skipped = Vec::new();
    let mut found = |outcome: Result<Tz, String>, source: &str| match outcome {
        Ok(zone) => Some((zone, source.to_string())),
        Err(reason) => {
            skipped.push(reason);
            None
        }
    };
    let mut zone = None;
    if let Some(tz) = tz.filter(|t| !t.trim().is_empty()) {
        zone = found(parse(tz, "TZ"), "TZ");
    }
    if zone.is_none()
        && let Ok(text) = std::fs::read_to_string(root.join("etc/timezone"))
    {
        let line = text.lines().map(str::trim).find(|l| !l.is_empty());
        let outcome = line.map_or_else(
            || Err("/etc/timezone is empty".to_string()),
            |line| parse(line, "/etc/timezone"),
        );
        zone = found(outcome, "/etc/timezone");
    }
    let localtime = root.join("etc/localtime");
    if zone.is_none() && localtime.symlink_metadata().is_ok() {
        let outcome = match std::fs::read_link(&localtime) {
            Ok(target) => parse(&target.to_string_lossy(), "/etc/localtime ->"),
            Err(_) => Err("/etc/localtime is not a link: its zone has no name".to_string()),
        };
        zone = found(outcome, "/etc/localtime");
    }
    HostTimezone { zone, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(timezone: Option<&str>, localtime: Option<&str>) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        if let Some(text) = timezone {
            std::fs::write(root.path().join("etc/timezone"), text).unwrap();
        }
        if let Some(target) = localtime {
            std::os::unix::fs::symlink(target, root.path().join("etc/localtime")).unwrap();
        }
        root
    }

    fn zone(found: &HostTimezone) -> Option<(String, &str)> {
        found
            .zone
            .as_ref()
            .map(|(tz, source)| (tz.name().to_string(), source.as_str()))
    }

    #[test]
    fn tz_comes_first() {
        let root = root_with(Some("Europe/Paris\n"), None);
        let found = detect(Some(":America/New_York"), root.path());
        assert_eq!(zone(&found), Some(("America/New_York".into(), "TZ")));
        let found = detect(Some("/usr/share/zoneinfo/Asia/Tokyo"), root.path());
        assert_eq!(zone(&found), Some(("Asia/Tokyo".into(), "TZ")));
    }

    #[test]
    fn then_etc_timezone_then_the_localtime_link() {
        let root = root_with(
            Some("\nEurope/Paris\n"),
            Some("/usr/share/zoneinfo/Asia/Tokyo"),
        );
        let found = detect(None, root.path());
        assert_eq!(zone(&found), Some(("Europe/Paris".into(), "/etc/timezone")));
        let root = root_with(None, Some("../usr/share/zoneinfo/posix/Europe/Berlin"));
        let found = detect(Some(""), root.path());
        assert_eq!(
            zone(&found),
            Some(("Europe/Berlin".into(), "/etc/localtime"))
        );
    }

    #[test]
    fn unusable_sources_are_skipped_with_a_reason() {
        let root = root_with(
            Some("Mars/Olympus"),
            Some("/usr/share/zoneinfo/Europe/Rome"),
        );
        let found = detect(Some("CET-1CEST"), root.path());
        assert_eq!(zone(&found), Some(("Europe/Rome".into(), "/etc/localtime")));
        assert_eq!(found.skipped.len(), 2, "{:?}", found.skipped);
        assert!(found.skipped[0].contains("CET-1CEST"));
        assert!(found.skipped[1].contains("Mars/Olympus"));
        let empty = root_with(None, None);
        assert_eq!(detect(None, empty.path()).zone, None);
        std::fs::write(empty.path().join("etc/localtime"), "TZif").unwrap();
        let copied = detect(None, empty.path());
        assert_eq!(copied.zone, None);
        assert!(
            copied.skipped[0].contains("not a link"),
            "{:?}",
            copied.skipped
        );
    }
}
