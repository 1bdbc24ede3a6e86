//! Call traces: the CSV `scaler simulate` replays, one call per line as
//! `start,end` in RFC 3339 with an offset (fields quoted or not, extra
//! columns ignored, an optional header line, blank lines and `#` comments
//! skipped). Records from real systems are tolerated the way they come: a
//! call whose end precedes its start by at most [`CLOCK_SKEW`] (two clocks)
//! reads as zero-length, a line repeated verbatim counts once, and with
//! `skip_bad_lines` up to 1 % of unparsable lines are left out. Each of
//! these is counted and named in the notes; anything else is a bad line,
//! reported with its line number, all at once.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One call of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// When the caller dials in.
    pub start: DateTime<Utc>,
    /// When the call ends: never before `start` in a trace read from a file
    /// (a skewed line reads as zero-length); a generated day has a few up to
    /// 2 s before, as records from two clocks do, which its CSV keeps.
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

/// The largest amount by which a call's end may precede its start (records
/// written from two clocks); such a call reads as zero-length.
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The share of a file's lines that `skip_bad_lines` may leave out.
pub const SKIPPABLE_PERCENT: usize = 1;

/// How tolerant reading is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Leave out unparsable lines when they are at most
    /// [`SKIPPABLE_PERCENT`] % of the lines (else the trace is refused).
    pub skip_bad_lines: bool,
}

/// Lines of one kind: how many, and the first few with what to say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    /// How many lines in all.
    pub total: usize,
    /// `(line number, detail)` of the first [`LISTED_PROBLEMS`].
    pub first: Vec<(usize, String)>,
}

impl Lines {
    fn push(&mut self, line: usize, detail: String) {
        self.total += 1;
        if self.first.len() < LISTED_PROBLEMS {
            self.first.push((line, detail));
        }
    }

    /// `"3:…, 7:…"` of the listed lines, and how many more there are.
    fn summary(&self) -> String {
        let mut out = self
            .first
            .iter()
            .map(|(line, detail)| format!("line {line} ({detail})"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.total > self.first.len() {
            let _ = write!(out, " and {} more", self.total - self.first.len());
        }
        out
    }
}

/// A trace as read: its calls and what was tolerated on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The calls, sorted by start time.
    pub calls: Vec<Call>,
    /// Lines whose end precedes their start by at most [`CLOCK_SKEW`],
    /// read as zero-length calls (which the simulation drops).
    pub skewed: Lines,
    /// Lines that repeat an earlier line (counted once).
    pub duplicates: Lines,
    /// Unparsable lines left out by `skip_bad_lines`.
    pub skipped: Lines,
}

impl Trace {
    /// One sentence per kind of tolerated line, naming the first lines.
    pub fn notes(&self, path: &Path) -> Vec<String> {
        let path = path.display();
        let mut notes = Vec::new();
        if self.skewed.total > 0 {
            notes.push(format!(
                "trace {path}: {} call(s) end up to {} s before they start (two clocks), read as zero-length and dropped: {}",
                self.skewed.total,
                CLOCK_SKEW.num_seconds(),
                self.skewed.summary()
            ));
        }
        if self.duplicates.total > 0 {
            notes.push(format!(
                "trace {path}: {} duplicate line(s), each counted once: {}",
                self.duplicates.total,
                self.duplicates.summary()
            ));
        }
        if self.skipped.total > 0 {
            notes.push(format!(
                "trace {path}: {} bad line(s) skipped (--skip-bad-lines): {}",
                self.skipped.total,
                self.skipped.summary()
            ));
        }
        notes
    }
}

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
    #[error("{}", bad_lines_message(path, problems, *total, *lines, *skipping))]
    BadLines {
        path: PathBuf,
        /// `(line number, what is wrong)` of the first bad lines.
        problems: Vec<(usize, String)>,
        /// How many lines are bad in all.
        total: usize,
        /// How many lines the file has (blank lines, comments and the
        /// header aside).
        lines: usize,
        /// Whether `skip_bad_lines` was asked for (and there were too many).
        skipping: bool,
    },
}

fn bad_lines_message(
    path: &Path,
    problems: &[(usize, String)],
    total: usize,
    lines: usize,
    skipping: bool,
) -> String {
    let mut out = format!(
        "trace {}: {total} bad line(s) of {lines} (expected `start,end` in RFC 3339 with offset, such as 2026-11-23T08:00:00+01:00,2026-11-23T08:45:00+01:00)",
        path.display()
    );
    if skipping {
        let _ = write!(
            out,
            "; --skip-bad-lines leaves out at most {SKIPPABLE_PERCENT} % of the lines ({})",
            lines * SKIPPABLE_PERCENT / 100
        );
    }
    for (line, problem) in problems {
        let _ = write!(out, "\n  {}:{line}: {problem}", path.display());
    }
    if total > problems.len() {
        let _ = write!(out, "\n  ... and {} more", total - problems.len());
    }
    out
}

/// Reads a trace file, strictly about unparsable lines (skewed and
/// duplicate lines are tolerated).
pub fn read(path: &Path) -> Result<Vec<Call>, TraceError> {
    read_with(path, ReadOptions::default()).map(|trace| trace.calls)
}

/// Reads a trace file with `options`, keeping what was tolerated.
pub fn read_with(path: &Path, options: ReadOptions) -> Result<Trace, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_with(&text, path, options)
}

/// Parses trace text; `path` names the file in messages. Calls come back
/// sorted by start time.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Call>, TraceError> {
    parse_with(text, path, ReadOptions::default()).map(|trace| trace.calls)
}

/// Parses trace text with `options`; `path` names the file in messages.
pub fn parse_with(text: &str, path: &Path, options: ReadOptions) -> Result<Trace, TraceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut trace = Trace::default();
    let mut bad = Lines::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut lines = 0;
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
        lines += 1;
        let number = index + 1;
        match call(&fields) {
            Err(problem) => bad.push(number, problem),
            Ok((call, skew)) => {
                if let Some(&earlier) = seen.get(&fields.join(",")) {
                    trace
                        .duplicates
                        .push(number, format!("repeats line {earlier}"));
                    continue;
                }
                seen.insert(fields.join(","), number);
                if let Some(skew) = skew {
                    let seconds = skew.num_milliseconds() as f64 / 1000.0;
                    trace
                        .skewed
                        .push(number, format!("end {seconds} s before start"));
                }
                trace.calls.push(call);
            }
        }
    }
    let tolerated = options.skip_bad_lines && bad.total * 100 <= lines * SKIPPABLE_PERCENT;
    if bad.total > 0 && !tolerated {
        return Err(TraceError::BadLines {
            path: path.to_path_buf(),
            problems: bad.first,
            total: bad.total,
            lines,
            skipping: options.skip_bad_lines,
        });
    }
    trace.skipped = bad;
    trace.calls.sort_by_key(|c| (c.start, c.end));
    Ok(trace)
}

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .map_or(field, str::trim)
}

/// The call of a line, and by how many seconds its end preceded its start
/// when it did (within [`CLOCK_SKEW`]).
fn call(fields: &[&str]) -> Result<(Call, Option<chrono::TimeDelta>), String> {
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
    if call.end >= call.start {
        return Ok((call, None));
    }
    let skew = call.start - call.end;
    if skew > CLOCK_SKEW {
        return Err(format!(
            "end {end} is before start {start} by more than the {} s of clock skew tolerated",
            CLOCK_SKEW.num_seconds()
        ));
    }
    let zero = Call {
        start: call.start,
        end: call.start,
    };
    Ok((zero, Some(skew)))
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
    fn skewed_lines_read_as_zero_length_and_duplicates_count_once() {
        let text = "start,end,callid\n\
                    2026-11-23T09:00:02+01:00,2026-11-23T09:00:00+01:00,a\n\
                    2026-11-23T09:00:00+01:00,2026-11-23T09:30:00+01:00,b\n\
                    \"2026-11-23T09:00:00+01:00\", 2026-11-23T09:30:00+01:00,\"b\"\n\
                    2026-11-23T09:00:00+01:00,2026-11-23T09:30:00+01:00,c\n\
                    2026-11-23T10:01:00Z,2026-11-23T10:00:00Z,d\n";
        let trace = parse_with(text, Path::new("t.csv"), ReadOptions::default()).unwrap();
        let lengths: Vec<_> = trace
            .calls
            .iter()
            .map(|c| c.duration().num_seconds())
            .collect();
        assert_eq!(lengths, [1800, 1800, 0, 0]);
        assert_eq!(trace.skewed.total, 2);
        assert_eq!(
            trace.skewed.first[0],
            (2, "end 2 s before start".to_string())
        );
        assert_eq!(trace.duplicates.total, 1);
        assert_eq!(trace.duplicates.first[0], (4, "repeats line 3".to_string()));
        let notes = trace.notes(Path::new("t.csv")).join("\n");
        assert!(
            notes.contains("2 call(s) end up to 60 s before they start"),
            "{notes}"
        );
        assert!(
            notes.contains("1 duplicate line(s), each counted once: line 4 (repeats line 3)"),
            "{notes}"
        );
        // More than a minute early is no clock skew: a bad line.
        let late = "2026-11-23T10:01:01Z,2026-11-23T10:00:00Z\n";
        let message = parse(late, Path::new("t")).unwrap_err().to_string();
        assert!(
            message.contains("t:1: end") && message.contains("clock skew"),
            "{message}"
        );
    }

    #[test]
    fn skipping_bad_lines_stops_at_one_percent() {
        let good = "2026-11-23T07:00:00Z,2026-11-23T07:30:00Z\n";
        let mut text = String::new();
        for minute in 0..196 {
            text += &format!(
                "2026-11-23T07:{:02}:{:02}Z,2026-11-23T09:00:00Z\n",
                minute / 60,
                minute % 60
            );
        }
        text += "garbage\n";
        text += good;
        text += "2026-11-23 07:00,later\n";
        // 2 bad lines of 199: more than 1 %.
        let skip = ReadOptions {
            skip_bad_lines: true,
        };
        let err = parse_with(&text, Path::new("t"), skip).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("2 bad line(s) of 199"), "{message}");
        assert!(
            message.contains("at most 1 % of the lines (1)"),
            "{message}"
        );
        assert!(message.contains("t:197: expected two fields"), "{message}");
        // One more good line: 2 of 200 is within 1 %.
        text += "2026-11-23T08:00:00Z,2026-11-23T08:30:00Z\n";
        let trace = parse_with(&text, Path::new("t"), skip).unwrap();
        assert_eq!(trace.calls.len(), 198);
        assert_eq!(trace.skipped.total, 2);
        assert_eq!(trace.skipped.first[0].0, 197);
        assert!(trace.notes(Path::new("t"))[0].contains("2 bad line(s) skipped"));
        // Without the option the same text is refused.
        assert!(parse(&text, Path::new("t")).is_err());
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
