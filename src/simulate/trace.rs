//! Call traces: the CSV `scaler simulate` replays, one call per line as
//! `start,end` in RFC 3339 with an offset (fields quoted or not, extra
//! columns ignored, an optional header line, blank lines and `#` comments
//! skipped). Bad lines are reported with their line number, all at once.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One call of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// When the caller dials in.
    pub start: DateTime<Utc>,
    /// When the call ends (never before `start`).
    pub end: DateTime<Utc>,
}

impl Call {
    /// The call's length.
    pub fn duration(&self) -> chrono::Duration {
        self.end - self.start
    }
}

/// How many bad lines a message lists before summing up the rest.
const LISTED_PROBLEMS: usize = 10;

/// A trace that could not be read: the file, or its bad lines.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be read.
    #[error("cannot read trace {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Some lines are not calls.
    #[error("{}", bad_lines_message(path, problems, *total))]
    BadLines {
        path: PathBuf,
        /// `(line number, what is wrong)` of the first bad lines.
        problems: Vec<(usize, String)>,
        /// How many lines are bad in all.
        total: usize,
    },
}

fn bad_lines_message(path: &Path, problems: &[(usize, String)], total: usize) -> String {
    let mut out = format!(
        "trace {}: {total} bad line(s) (expected `start,end` in RFC 3339 with offset, such as 2026-11-23T08:00:00+01:00,2026-11-23T08:45:00+01:00)",
        path.display()
    );
    for (line, problem) in problems {
        let _ = write!(out, "\n  {}:{line}: {problem}", path.display());
    }
    if total > problems.len() {
        let _ = write!(out, "\n  ... and {} more", total - problems.len());
    }
    out
}

/// Reads a trace file.
pub fn read(path: &Path) -> Result<Vec<Call>, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses trace text; `path` names the file in messages. Calls come back
/// sorted by start time.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Call>, TraceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut calls = Vec::new();
    let mut problems = Vec::new();
    let mut total = 0;
    let mut first = true;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(unquote).collect();
        // A header names its columns: its first field does not start with a digit.
        if std::mem::take(&mut first) && !fields[0].starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        match call(&fields) {
            Ok(call) => calls.push(call),
            Err(problem) => {
                total += 1;
                if problems.len() < LISTED_PROBLEMS {
                    problems.push((index + 1, problem));
                }
            }
        }
    }
    if total > 0 {
        return Err(TraceError::BadLines {
            path: path.to_path_buf(),
            problems,
            total,
        });
    }
    calls.sort_by_key(|c| (c.start, c.end));
    Ok(calls)
}

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .map_or(field, str::trim)
}

fn call(fields: &[&str]) -> Result<Call, String> {
    let [start, end, ..] = fields else {
        return Err(format!(
            "expected two fields `start,end`, found {}",
            fields.len()
        ));
    };
    let time = |name: &str, text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{name} {text:?} is not an RFC 3339 time with offset ({e})"))
    };
    let call = Call {
        start: time("start", start)?,
        end: time("end", end)?,
    };
    if call.end < call.start {
        return Err(format!("end {end} is before start {start}"));
    }
    Ok(call)
}

/// The trace as CSV text: a `start,end` header, then one call per line in
/// the local time of `timezone` (with its offset).
pub fn to_csv(calls: &[Call], timezone: Tz) -> String {
    let mut out = String::from("start,end\n");
    for call in calls {
        let local = |t: DateTime<Utc>| {
            t.with_timezone(&timezone)
                .to_rfc3339_opts(SecondsFormat::Secs, false)
        };
        let _ = writeln!(out, "{},{}", local(call.start), local(call.end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_quoted_and_bare_fields_with_or_without_header() {
        let text = "\u{feff}\"start\",\"end\"\r\n\
                    \"2026-11-23T09:00:00+01:00\",\"2026-11-23T09:30:00+01:00\"\r\n\
                    \n# a comment\n\
                    2026-11-23T07:00:00Z, 2026-11-23T07:01:00Z ,room-1\n";
        let calls = parse(text, Path::new("t.csv")).unwrap();
        assert_eq!(
            calls,
            [
                Call {
                    start: utc("2026-11-23T07:00:00Z"),
                    end: utc("2026-11-23T07:01:00Z")
                },
                Call {
                    start: utc("2026-11-23T08:00:00Z"),
                    end: utc("2026-11-23T08:30:00Z")
                },
            ]
        );
        let bare = parse("2026-11-23T07:00:00Z,2026-11-23T07:01:00Z", Path::new("t")).unwrap();
        assert_eq!(bare.len(), 1);
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        let text = "start,end\n\
                    2026-11-23T09:00:00+01:00,2026-11-23T09:30:00+01:00\n\
                    2026-11-23 09:00,2026-11-23T09:30:00+01:00\n\
                    2026-11-23T09:00:00+01:00\n\
                    2026-11-23T09:00:00+01:00,2026-11-23T08:00:00+01:00\n\
                    2026-11-23T09:00:00,2026-11-23T09:30:00Z\n";
        let err = parse(text, Path::new("day.csv")).unwrap_err();
        let TraceError::BadLines {
            problems, total, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(*total, 4);
        let lines: Vec<usize> = problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        let message = err.to_string();
        assert!(
            message.contains("day.csv:3: start \"2026-11-23 09:00\""),
            "{message}"
        );
        assert!(
            message.contains("day.csv:4: expected two fields"),
            "{message}"
        );
        assert!(message.contains("day.csv:5: end"), "{message}");
        assert!(
            message.contains("day.csv:6: start \"2026-11-23T09:00:00\""),
            "{message}"
        );
    }

    #[test]
    fn a_header_is_only_recognised_on_the_first_line() {
        let err = parse(
            "2026-11-23T07:00:00Z,2026-11-23T07:01:00Z\nstart,end\n",
            Path::new("t"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("t:2: start \"start\""), "{err}");
    }

    #[test]
    fn long_lists_are_cut() {
        let text = "x,y\n".to_string() + &"bad,line\n".repeat(25);
        let message = parse(&text, Path::new("t")).unwrap_err().to_string();
        assert!(message.contains("25 bad line(s)"));
        assert!(message.contains("t:11:"), "{message}");
        assert!(!message.contains("t:12:"), "{message}");
        assert!(message.ends_with("... and 15 more"), "{message}");
    }

    #[test]
    fn csv_round_trips_in_local_time() {
        let calls = vec![Call {
            start: utc("2026-11-23T08:00:00Z"),
            end: utc("2026-11-23T08:45:10Z"),
        }];
        let text = to_csv(&calls, chrono_tz::Europe::Paris);
        assert_eq!(
            text,
            "start,end\n2026-11-23T09:00:00+01:00,2026-11-23T09:45:10+01:00\n"
        );
        assert_eq!(parse(&text, Path::new("t")).unwrap(), calls);
    }
}
