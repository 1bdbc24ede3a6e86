//! The figures of `scaler simulate` as the report carries them: a replay's
//! [`Summary`] or what `--generate-trace` wrote, flattened into the report's
//! top-level fields, and their text rendering. The simulator fills them in;
//! the report owns their shape.

use serde::Serialize;
use std::fmt::Write as _;

/// The figures of one replay (the stable JSON fields of DESIGN.md "Simulator" and a few more).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The trace file, when replayed from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// First planner run (RFC 3339).
    pub from: String,
    /// End of the simulated time (RFC 3339).
    pub to: String,
    /// Timezone of the schedule (and of the chart's clock).
    pub timezone: String,
    /// Seed of the boot jitter.
    pub seed: u64,
    /// Fixed boot delay, as a duration (`"60s"`).
    pub boot_delay: String,
    /// Random extra boot delay bound.
    pub boot_jitter: String,
    /// Price of one vCPU-hour.
    pub vcpu_hour_price: f64,
    /// Calls replayed (starting in the window, one minute or longer).
    pub calls: u64,
    /// Calls in the window shorter than one minute, not replayed.
    pub dropped: u64,
    /// Lines of the whole trace whose end preceded their start by at most
    /// 60 s, read as zero-length calls (so dropped when in the window).
    pub skewed_lines: u64,
    /// Lines of the whole trace that repeat an earlier line (counted once).
    pub duplicate_lines: u64,
    /// Unparsable lines left out (`--skip-bad-lines`).
    pub skipped_lines: u64,
    /// Calls that got a gateway, at their first attempt or a retry.
    pub served: u64,
    /// Attempts that found no idle gateway (a missed call counts three).
    pub rejected: u64,
    /// Calls rejected at their first attempt and both retries.
    pub missed: u64,
    /// `missed / calls` (0 without calls).
    pub missed_share: f64,
    /// `rejected / calls`: rejected attempts per call replayed (0 without calls).
    pub rejected_share: f64,
    /// Most calls of the trace in progress at once (as offered, zero delay).
    pub peak_calls: u64,
    /// Most gateways on pool instances at once (booting ones included).
    pub peak_gateways: u64,
    /// Gateways × hours paid for (creation to destruction).
    pub gateway_hours: f64,
    /// vCPUs × hours paid for (creation to destruction).
    pub vcpu_hours: f64,
    /// Σ concurrent calls × `cpu_per_gateway`, in vCPU-hours: what a pool
    /// that grew and shrank with each call, instantly, would pay.
    pub lower_bound_vcpu_hours: f64,
    /// `vcpu_hours / lower_bound_vcpu_hours` (null without calls).
    pub ratio: Option<f64>,
    /// `vcpu_hours × vcpu_hour_price`.
    pub cost: f64,
    /// Instances created.
    pub created: u64,
    /// Instances destroyed (drained, or cleaned up).
    pub destroyed: u64,
    /// The chart written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svg: Option<String>,
    /// What makes the figures misleading (more than 1 % of calls missed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of `scaler simulate`, flattened into the report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// A replay.
    Replay(Box<Summary>),
    /// `--generate-trace`: a synthetic trace was written.
    Generated(Generated),
}

/// What `--generate-trace` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    /// The file written.
    pub generated_trace: String,
    /// Its local date.
    pub date: String,
    /// Its timezone.
    pub timezone: String,
    /// Calls in it.
    pub calls: u64,
    /// The seed.
    pub seed: u64,
}

impl Outcome {
    /// The text rendering.
    pub fn to_text(&self) -> String {
        match self {
            Outcome::Replay(summary) => summary.to_text(),
            Outcome::Generated(g) => format!(
                "wrote {} calls on {} ({}, seed {}) to {}\n",
                g.calls, g.date, g.timezone, g.seed, g.generated_trace
            ),
        }
    }
}

/// Above this share of calls missed, the cost figures describe a pool that
/// turned demand away: the report warns.
pub const MISSED_WARNING_SHARE: f64 = 0.01;

/// `part / whole`, rounded to six decimals (0 when `whole` is 0).
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 1e6).round() / 1e6
    }
}

/// The warning a replay deserves, if any.
pub fn missed_warning(missed: u64, calls: u64) -> Option<String> {
    let missed_share = share(missed, calls);
    (missed_share > MISSED_WARNING_SHARE).then(|| {
        format!(
            "{:.2} % of calls were missed (more than {:.0} %): the pool turned demand away, so its vCPU-hours and ratio are not comparable with a schedule that serves the calls",
            100.0 * missed_share,
            100.0 * MISSED_WARNING_SHARE
        )
    })
}

impl Summary {
    /// A few lines for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "simulated {} to {} ({}), boot {} + up to {}, seed {}",
            self.from, self.to, self.timezone, self.boot_delay, self.boot_jitter, self.seed
        );
        let _ = writeln!(
            out,
            "  calls     {} replayed ({} under a minute dropped); peak {} at once",
            self.calls, self.dropped, self.peak_calls
        );
        let _ = writeln!(
            out,
            "  service   {} served, {} missed ({:.2} % of calls), {} rejected attempts ({:.2} % of calls)",
            self.served,
            self.missed,
            100.0 * self.missed_share,
            self.rejected,
            100.0 * self.rejected_share
        );
        let _ = writeln!(
            out,
            "  capacity  peak {} gateways, {:.1} gateway-hours, {:.1} vCPU-hours; {} instances created, {} destroyed",
            self.peak_gateways, self.gateway_hours, self.vcpu_hours, self.created, self.destroyed
        );
        let ratio = self
            .ratio
            .map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}"));
        let _ = writeln!(
            out,
            "  cost      {:.2} ({} per vCPU-hour); lower bound {:.1} vCPU-hours, ratio {ratio}",
            self.cost, self.vcpu_hour_price, self.lower_bound_vcpu_hours
        );
        if let Some(svg) = &self.svg {
            let _ = writeln!(out, "  chart     {svg}");
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "  warning   {warning}");
        }
        out
    }
}
