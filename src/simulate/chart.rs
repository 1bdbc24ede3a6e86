//! The `--svg` chart of a replay, drawn with plotters' SVG backend only (no
//! fonts or bitmaps linked in: the browser renders the text). Top: calls in
//! progress (offered and served) and gateways (registered, and paid for
//! including booting ones) on the left axis, rejected attempts and missed
//! calls per minute on the right axis. Bottom: the cumulative cost.

use super::{Sample, Simulation};
use chrono::{Duration, Timelike};
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

/// Renders the chart as an SVG document.
pub fn render(simulation: &Simulation, title: &str) -> Result<String, String> {
    let samples = &simulation.samples;
    let summary = &simulation.summary;
    let last = samples.last().map_or(1, |s| s.minute.max(1));
    let minutes = 0..last;
    let top = samples
        .iter()
        .map(|s| s.offered.max(s.paid_gateways).max(s.calls))
        .max()
        .unwrap_or(0)
        .max(1);
    let per_minute = samples
        .iter()
        .map(|s| s.rejected.max(s.missed))
        .max()
        .unwrap_or(0)
        .max(5);
    let clock = |minute: &i64| {
        (simulation.from + Duration::minutes(*minute))
            .with_timezone(&simulation.timezone)
            .format("%H:%M")
            .to_string()
    };
    let hours = hour_marks(simulation, last);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let root = root
            .titled(title, (FONT, 24).into_font().color(&BLACK))
            .map_err(fail)?;
        let (upper, lower) = root.split_vertically(HEIGHT * 62 / 100);

        let caption = format!(
            "{} calls: {} served, {} missed ({} rejected attempts); peak {} gateways; ratio to lower bound {}",
            summary.calls,
            summary.served,
            summary.missed,
            summary.rejected,
            summary.peak_gateways,
            summary.ratio.map_or("n/a".into(), |r| format!("{r:.2}")),
        );
        let mut chart = ChartBuilder::on(&upper)
            .caption(caption, (FONT, 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .right_y_label_area_size(64)
            .build_cartesian_2d(
                minutes.clone().with_key_points(hours.clone()),
                0u32..top + top / 10 + 1,
            )
            .map_err(fail)?
            .set_secondary_coord(minutes.clone(), 0u32..per_minute + per_minute / 5 + 1);
        chart
            .configure_mesh()
            .x_label_formatter(&clock)
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

        let series = |pick: Pick| samples.iter().map(move |s| (s.minute, pick(s)));
        let legend = |color: RGBColor| {
            move |(x, y): (i32, i32)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
            }
        };
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
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 22, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(fail)?;

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
        let mut cost = ChartBuilder::on(&lower)
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
            .build_cartesian_2d(minutes.clone().with_key_points(hours), 0f64..cost_top)
            .map_err(fail)?
            .set_secondary_coord(minutes, 0f64..vcpu_top);
        cost.configure_mesh()
            .x_label_formatter(&clock)
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
        cost.draw_series(
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
        cost.draw_series(DashedLineSeries::new(
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
        cost.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(fail)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}
