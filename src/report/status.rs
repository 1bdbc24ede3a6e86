//! The shape of `scaler status` in the report: one row per pool instance
//! (the `instances` array of the JSON) and its text rendering, an aligned
//! table with a header row followed by a one-line summary. The `status`
//! command fills the rows in; the report owns their shape.

use super::{ActionKind, Report};
use crate::model::InstanceState;
use crate::plan::GatewayCounts;
use serde::Serialize;
use std::fmt::Write as _;

/// What the next pass would do to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NextAction {
    /// Nothing: the instance stays as it is.
    Keep,
    /// Drain its gateways, then destroy it once they are all marked.
    Drain,
    /// Destroy it.
    Destroy,
}

/// `next` of an instance row: the action and why (the report's action
/// reasons: `scale_down` or `termination_requested` for a drain, the
/// destroy reasons for a destroy, `protected` for an instance kept because
/// it is protected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Next {
    pub action: NextAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Next {
    /// The text column: `keep`, `keep: protected`, `drain: scale_down`,
    /// `destroy: unregistered`.
    pub fn to_text(&self) -> String {
        let action = match self.action {
            NextAction::Keep => "keep",
            NextAction::Drain => "drain",
            NextAction::Destroy => "destroy",
        };
        match &self.reason {
            Some(reason) => format!("{action}: {reason}"),
            None => action.to_string(),
        }
    }
}

/// One entry of `instances`.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// 0 when the provider does not say.
    pub vcpus: u32,
    pub state: InstanceState,
    /// RFC 3339.
    pub created_at: String,
    pub age_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// Sip and media pools: its gateways, counted as `observed.gateways`
    /// is (`pending`: gateways expected from it that have not registered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateways: Option<GatewayCounts>,
    /// Replica pools: the capacity its status probe reported (absent when
    /// it gave none: building, no answer, or asking for termination).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Replica pools: `replica_capacity` minus the reported capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<u32>,
    pub protected: bool,
    pub next: Next,
}

/// An age for people: seconds up to 2 minutes, minutes up to 3 hours,
/// hours up to 2 days, then days.
pub fn human_age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Columns padded to their widest cell, two spaces apart; the last one is
/// not padded (no trailing spaces).
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let cells = rows.iter().filter_map(|r| r.get(c));
            cells.map(|cell| cell.chars().count()).max().unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn or_dash(value: Option<&String>) -> String {
    value.cloned().unwrap_or_else(|| "-".to_string())
}

impl InstanceRow {
    /// The row's cells, in the header's order; `replicas` shows capacity
    /// and use instead of gateways.
    fn cells(&self, replicas: bool) -> Vec<String> {
        let load = if replicas {
            match (self.capacity, self.used) {
                (Some(capacity), Some(used)) => format!("{capacity}/{used}"),
                (Some(capacity), None) => format!("{capacity}/-"),
                _ => "-".to_string(),
            }
        } else {
            let g = self.gateways.unwrap_or_default();
            format!("{}/{}/{}", g.registered, g.busy, g.draining)
        };
        let state = match self.state {
            InstanceState::Building => "building",
            InstanceState::Active => "active",
            InstanceState::Error => "error",
        };
        vec![
            self.id.clone(),
            self.name.clone(),
            or_dash(self.instance_type.as_ref()),
            if self.vcpus > 0 {
                self.vcpus.to_string()
            } else {
                "-".to_string()
            },
            state.to_string(),
            human_age(self.age_seconds),
            or_dash(self.private_ip.as_ref()),
            or_dash(self.public_ip.as_ref()),
            load,
            if self.protected { "yes" } else { "no" }.to_string(),
            self.next.to_text(),
        ]
    }
}

/// The header row of the table.
fn header(replicas: bool) -> Vec<String> {
    let load = if replicas {
        "CAPACITY/USED"
    } else {
        "REG/BUSY/DRAIN"
    };
    [
        "ID",
        "NAME",
        "TYPE",
        "VCPUS",
        "STATE",
        "AGE",
        "PRIVATE",
        "PUBLIC",
        load,
        "PROTECTED",
        "NEXT",
    ]
    .map(String::from)
    .to_vec()
}

impl Report {
    /// `status`'s text: the table, the summary line, then the decision,
    /// errors and notes as a pass prints them.
    pub(super) fn status_text(&self, rows: &[InstanceRow]) -> String {
        let replicas = self.pool.as_ref().is_some_and(|p| p.kind == "replicas");
        let mut lines = vec![header(replicas)];
        lines.extend(rows.iter().map(|r| r.cells(replicas)));
        let mut out = table(&lines);
        out.push_str(&self.status_summary());
        out.push('\n');
        self.push_tail(&mut out, false);
        out
    }

    /// The one-line summary: the pool's counts, the target and slot, and
    /// what the next pass would do.
    fn status_summary(&self) -> String {
        let pool = self.pool.as_ref().map_or("scaler", |p| p.name.as_str());
        let mut line = format!("{pool} status:");
        if let Some(o) = &self.observed {
            let i = o.instances;
            let _ = write!(
                line,
                " {} instance(s) ({} building, {} active, {} error, {} protected);",
                i.total, i.building, i.active, i.error, i.protected
            );
            match &o.replicas {
                Some(r) => {
                    let _ = write!(
                        line,
                        " {} available ({} healthy, {} unknown, {} building, {} booting);",
                        r.available, r.healthy, r.unknown, r.building, r.pending
                    );
                }
                None => {
                    let g = o.gateways;
                    let _ = write!(
                        line,
                        " gateways {} registered, {} busy, {} idle, {} draining, {} pending;",
                        g.registered, g.busy, g.idle, g.draining, g.pending
                    );
                }
            }
        }
        if let Some(d) = &self.decision {
            let _ = write!(line, " target {} ({:+});", d.target, d.delta);
        }
        let count = |kind: ActionKind| self.actions.iter().filter(|a| a.kind == kind).count();
        let (create, drain, destroy) = (
            count(ActionKind::Create),
            count(ActionKind::Drain),
            count(ActionKind::Destroy),
        );
        if self.actions.is_empty() {
            line.push_str(" next pass: no change");
        } else {
            let _ = write!(
                line,
                " next pass: create {create}, drain {drain}, destroy {destroy}"
            );
        }
        line.push_str(&self.held_back_text());
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, public_ip: Option<&str>, next: Next) -> InstanceRow {
        InstanceRow {
            id: format!("id-{name}"),
            name: name.to_string(),
            instance_type: Some("c8".into()),
            vcpus: 8,
            state: InstanceState::Active,
            created_at: "2026-01-01T00:00:00Z".into(),
            age_seconds: 3 * 86_400 + 5,
            private_ip: Some("10.0.0.1".into()),
            public_ip: public_ip.map(String::from),
            gateways: Some(GatewayCounts {
                registered: 2,
                busy: 1,
                ..GatewayCounts::default()
            }),
            capacity: None,
            used: None,
            protected: false,
            next,
        }
    }

    #[test]
    fn ages_read_like_people_say_them() {
        let cases = [
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (48 * 3600 - 1, "47h"),
            (48 * 3600, "2d"),
            (400 * 86_400, "400d"),
        ];
        for (seconds, text) in cases {
            assert_eq!(human_age(seconds), text, "{seconds}");
        }
    }

    #[test]
    fn the_table_aligns_every_column_and_dashes_what_is_absent() {
        let keep = Next {
            action: NextAction::Keep,
            reason: None,
        };
        let destroy = Next {
            action: NextAction::Destroy,
            reason: Some("unregistered".into()),
        };
        let mut report = Report::new("status");
        let rows = [
            row("gw-a", Some("54.0.0.1"), destroy),
            row("gw-long-name", None, keep),
        ];
        let text = report.status_text(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID "), "{text}");
        let at = |line: &str, word: &str| line.find(word).unwrap_or_else(|| panic!("{word}"));
        for column in ["PUBLIC", "REG/BUSY/DRAIN", "NEXT"] {
            let start = at(lines[0], column);
            assert!(lines[1..3].iter().all(|l| l.len() > start), "{text}");
        }
        let public = at(lines[0], "PUBLIC");
        assert_eq!(&lines[1][public..public + 8], "54.0.0.1", "{text}");
        assert_eq!(&lines[2][public..public + 2], "- ", "{text}");
        let next = at(lines[0], "NEXT");
        assert_eq!(&lines[1][next..], "destroy: unregistered", "{text}");
        assert_eq!(&lines[2][next..], "keep", "{text}");
        assert_eq!(&lines[1][at(lines[0], "REG")..][..5], "2/1/0", "{text}");
        assert!(lines[1].contains("  3d  "), "{text}");
        assert!(text.lines().all(|l| l == l.trim_end()), "{text}");
        assert_eq!(lines[3], "scaler status: next pass: no change", "{text}");
        report.held_back = vec![crate::plan::Hold::ScaleDownDelay];
        let text = report.status_text(&rows);
        assert_eq!(
            text.lines().nth(3),
            Some("scaler status: next pass: no change, held back by limits.scale_down_delay"),
            "{text}"
        );
        report.held_back.clear();
        report.pool = Some(super::super::PoolInfo {
            name: "rep".into(),
            kind: "replicas".into(),
        });
        assert!(report.status_text(&rows).contains("CAPACITY/USED"));
    }
}
