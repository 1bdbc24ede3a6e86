//! The `--svg` chart of a replay, drawn with plotters' SVG backend only (no
//! fonts or bitmaps linked in: the browser renders the text). Top: calls in
//! progress (offered and served) and gateways (registered, and paid for
//! including booting ones) and the slot's `max_gateways` (dashed) on the
//! left axis, rejected attempts and missed calls per minute on the right
//! axis. Bottom: the cumulative cost.

use super::{Sample, Simulation};
use chrono::{Duration, Timelike};
use plotters::chart::DualCoordChartContext;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64, RangedCoordu32};
use plotters::prelude::*;

/// Which figure of a sample a series draws.
type Pick = fn(&Sample) -> u32;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 900;
const FONT: &str = "sans-serif";

// Okabe–Ito colours (colour-blind friendly), and a dark red for missed calls.
const OFFERED: RGBColor = RGBColor(153, 153, 153);
const SERVED: RGBColor = RGBColor(0, 0, 0);
const GATEWAYS: RGBColor = RGBColor(0, 114, 178);
const PAID: RGBColor = RGBColor(86, 180, 233);
const REJECTED: RGBColor = RGBColor(230, 159, 0);
const MISSED: RGBColor = RGBColor(190, 0, 40);
const COST: RGBColor = RGBColor(0, 158, 115);
const CAP: RGBColor = RGBColor(204, 121, 167);

/// Minutes since `from` that fall on a whole local hour: every hour, or
/// every 2, 3, 4, 6 or 12 hours on long runs (at most about 25 labels).
fn hour_marks(simulation: &Simulation, last: i64) -> Vec<i64> {
    let step = [1, 2, 3, 4, 6, 12, 24]
        .into_iter()
        .find(|step| last / 60 / step <= 24)
        .unwrap_or(24);
    (0..=last)
        .filter(|&minute| {
            let local =
                (simulation.from + Duration::minutes(minute)).with_timezone(&simulation.timezone);
            local.minute() == 0 && i64::from(local.hour()) % step == 0
        })
        .collect()
}

/// Axis numbers: whole above 100, two decimals below.
fn amount(value: &f64) -> String {
    if *value == 0.0 {
        "0".to_string()
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The upper chart: minutes (with hour marks), gateways on the left axis
/// and rejections per minute on the right.
type Upper<'a, 'b> = DualCoordChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<WithKeyPoints<RangedCoordi64>, RangedCoordu32>,
    Cartesian2d<RangedCoordi64, RangedCoordu32>,
>;

/// The lower chart: minutes (with hour marks), cost on the left axis and
/// vCPU-hours on the right.
type Lower<'a, 'b> = DualCoordChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<WithKeyPoints<RangedCoordi64>, RangedCoordf64>,
    Cartesian2d<RangedCoordi64, RangedCoordf64>,
>;

/// The top of the left axis: the largest figure drawn, and `max_gateways`
/// too unless it is more than twice that (a budget bound far above the load
/// would flatten everything else; it is then drawn where it fits).
fn left_top(simulation: &Simulation) -> u32 {
    let top = simulation
        .samples
        .iter()
        .map(|s| s.offered.max(s.paid_gateways).max(s.calls))
        .max()
        .unwrap_or(0)
        .max(1);
    let cap = simulation.max_gateways.iter().copied().max().unwrap_or(0);
    if cap <= top.saturating_mul(2) {
        top.max(cap)
    } else {
        top
    }
}

/// Renders the chart as an SVG document.
pub fn render(simulation: &Simulation, title: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let root = root
            .titled(title, (FONT, 24).into_font().color(&BLACK))
            .map_err(fail)?;
        let (upper, lower) = root.split_vertically(HEIGHT * 62 / 100);
        draw_service(simulation, &upper)?;
        draw_cost(simulation, &lower)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

fn last_minute(simulation: &Simulation) -> i64 {
    simulation.samples.last().map_or(1, |s| s.minute.max(1))
}

fn clock(simulation: &Simulation) -> impl Fn(&i64) -> String + '_ {
    move |minute: &i64| {
        (simulation.from + Duration::minutes(*minute))
            .with_timezone(&simulation.timezone)
            .format("%H:%M")
            .to_string()
    }
}

fn legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
}

/// Calls, gateways, `max_gateways` and rejections over time.
fn draw_service(
    simulation: &Simulation,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
) -> Result<(), String> {
    let samples = &simulation.samples;
    let summary = &simulation.summary;
    let last = last_minute(simulation);
    let top = left_top(simulation);
    let per_minute = samples
        .iter()
        .map(|s| s.rejected.max(s.missed))
        .max()
        .unwrap_or(0)
        .max(5);
    let caption = format!(
        "{} calls: {} served, {} missed ({:.2} %), {} rejected attempts ({:.2} %); peak {} gateways; ratio to lower bound {}",
        summary.calls,
        summary.served,
        summary.missed,
        100.0 * summary.missed_share,
        summary.rejected,
        100.0 * summary.rejected_share,
        summary.peak_gateways,
        summary.ratio.map_or("n/a".into(), |r| format!("{r:.2}")),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .right_y_label_area_size(64)
        .build_cartesian_2d(
            (0..last).with_key_points(hour_marks(simulation, last)),
            0u32..top + top / 10 + 1,
        )
        .map_err(fail)?
        .set_secondary_coord(0..last, 0u32..per_minute + per_minute / 5 + 1);
    chart
        .configure_mesh()
        .x_label_formatter(&clock(simulation))
        .y_desc("calls, gateways")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(fail)?;
    chart
        .configure_secondary_axes()
        .y_desc("rejected attempts, missed calls per minute")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(fail)?;
    draw_cap(simulation, &mut chart, top + top / 10)?;
    draw_lines(samples, &mut chart)?;
    draw_spikes(samples, &mut chart)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(fail)
}

/// The slot's `max_gateways` as a dashed step line, in the runs of minutes
/// where it fits under `axis_top` (the legend says when it does not).
fn draw_cap(
    simulation: &Simulation,
    chart: &mut Upper<'_, '_>,
    axis_top: u32,
) -> Result<(), String> {
    let caps = &simulation.max_gateways;
    let mut runs: Vec<Vec<(i64, u32)>> = Vec::new();
    for (sample, &cap) in simulation.samples.iter().zip(caps) {
        let fits = cap <= axis_top;
        match runs.last_mut() {
            Some(run) if fits && run.last().is_some_and(|p| p.0 + 1 == sample.minute) => {
                if run.last().is_some_and(|p| p.1 != cap) {
                    run.push((sample.minute, run.last().map_or(cap, |p| p.1)));
                }
                run.push((sample.minute, cap));
            }
            _ if fits => runs.push(vec![(sample.minute, cap)]),
            _ => {}
        }
    }
    let highest = caps.iter().copied().max().unwrap_or(0);
    let label = if highest > axis_top {
        format!("max_gateways of the slot (up to {highest}: above the axis where not drawn)")
    } else {
        "max_gateways of the slot".to_string()
    };
    let style = CAP.stroke_width(2);
    let mut first = true;
    for run in runs {
        let series = chart
            .draw_series(DashedLineSeries::new(run, 10, 6, style))
            .map_err(fail)?;
        if std::mem::take(&mut first) {
            series.label(label.clone()).legend(move |(x, y)| {
                plotters::element::DashedPathElement::new(vec![(x, y), (x + 22, y)], 6, 4, style)
            });
        }
    }
    Ok(())
}

/// Gateways (paid, registered) and calls (offered, in progress).
fn draw_lines(samples: &[Sample], chart: &mut Upper<'_, '_>) -> Result<(), String> {
    let series = |pick: Pick| samples.iter().map(move |s| (s.minute, pick(s)));
    let lines: [(&str, RGBColor, u32, Pick); 4] = [
        ("gateways paid (booting included)", PAID, 2, |s| {
            s.paid_gateways
        }),
        ("gateways registered", GATEWAYS, 2, |s| s.gateways),
        ("calls offered (trace)", OFFERED, 3, |s| s.offered),
        ("calls in progress", SERVED, 1, |s| s.calls),
    ];
    for (label, color, width, pick) in lines {
        chart
            .draw_series(LineSeries::new(series(pick), color.stroke_width(width)))
            .map_err(fail)?
            .label(label)
            .legend(legend(color));
    }
    Ok(())
}

/// Rejected attempts and missed calls per minute, on the right axis.
fn draw_spikes(samples: &[Sample], chart: &mut Upper<'_, '_>) -> Result<(), String> {
    let spikes: [(&str, RGBColor, Pick); 2] = [
        ("rejected attempts / min (right axis)", REJECTED, |s| {
            s.rejected
        }),
        ("missed calls / min (right axis)", MISSED, |s| s.missed),
    ];
    for (label, color, pick) in spikes {
        // One 2-pixel vertical bar per minute with rejections: visible even
        // when rare, and when a minute is narrower than a pixel.
        chart
            .draw_secondary_series(samples.iter().filter(|s| pick(s) > 0).map(|s| {
                PathElement::new(
                    vec![(s.minute, 0), (s.minute, pick(s))],
                    color.stroke_width(2),
                )
            }))
            .map_err(fail)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 22, y + 5)], color.filled()));
    }
    Ok(())
}

/// The cumulative cost against the lower bound.
fn draw_cost(
    simulation: &Simulation,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
) -> Result<(), String> {
    let samples = &simulation.samples;
    let summary = &simulation.summary;
    let last = last_minute(simulation);
    let price = summary.vcpu_hour_price;
    let cost_top = samples
        .iter()
        .map(|s| s.cost.max(s.lower_bound_cost))
        .fold(0.0, f64::max);
    let cost_top = if cost_top > 0.0 { cost_top * 1.08 } else { 1.0 };
    let vcpu_top = if price > 0.0 {
        cost_top / price
    } else {
        summary.vcpu_hours.max(1.0) * 1.08
    };
    let mut cost = ChartBuilder::on(area)
        .caption(
            format!(
                "cumulative cost: {:.2} = {:.1} vCPU-hours at {price} per vCPU-hour (lower bound {:.1} vCPU-hours)",
                summary.cost, summary.vcpu_hours, summary.lower_bound_vcpu_hours
            ),
            (FONT, 17),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .right_y_label_area_size(64)
        .build_cartesian_2d(
            (0..last).with_key_points(hour_marks(simulation, last)),
            0f64..cost_top,
        )
        .map_err(fail)?
        .set_secondary_coord(0..last, 0f64..vcpu_top);
    cost.configure_mesh()
        .x_label_formatter(&clock(simulation))
        .y_label_formatter(&amount)
        .y_desc("cost")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(fail)?;
    cost.configure_secondary_axes()
        .y_label_formatter(&amount)
        .y_desc("vCPU-hours")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(fail)?;
    draw_cost_series(samples, &mut cost)?;
    cost.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(fail)
}

/// The cumulative cost (area) and the lower bound (dashed).
fn draw_cost_series(samples: &[Sample], chart: &mut Lower<'_, '_>) -> Result<(), String> {
    chart
        .draw_series(
            AreaSeries::new(
                samples.iter().map(|s| (s.minute, s.cost)),
                0.0,
                COST.mix(0.25),
            )
            .border_style(COST.stroke_width(2)),
        )
        .map_err(fail)?
        .label("cost")
        .legend(legend(COST));
    chart
        .draw_series(DashedLineSeries::new(
            samples.iter().map(|s| (s.minute, s.lower_bound_cost)),
            8,
            5,
            SERVED.stroke_width(1),
        ))
        .map_err(fail)?
        .label("lower bound: calls offered × cpu_per_gateway, without delay")
        .legend(move |(x, y)| {
            plotters::element::DashedPathElement::new(
                vec![(x, y), (x + 22, y)],
                5,
                3,
                SERVED.stroke_width(1),
            )
        });
    Ok(())
}
