//! SVG charts for the report pages: line, step and cross series on linear or log axes with
//! human units, a legend inside the plot, reference lines and whiskers; the Kaplan–Meier
//! estimate the convergence chart draws; escaping for HTML and SVG text. Pure: data in, text out.

use std::fmt::Write;

/// Escapes text for HTML and SVG content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Straight segments, a dot on each point.
    Line,
    /// Steps (a survival curve or CDF): horizontal, then vertical.
    Steps,
    /// Crosses only (failed ticks).
    Crosses,
}

/// A series of (x, y) points with a name and colour.
pub struct Series {
    pub name: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    /// Vertical whiskers (x, low, high): the spread of repeated runs.
    pub whiskers: Vec<(f64, f64, f64)>,
}

impl Series {
    pub fn new(
        name: impl Into<String>,
        color: &str,
        points: Vec<(f64, f64)>,
        style: Style,
    ) -> Series {
        Series {
            name: name.into(),
            color: color.into(),
            points,
            style,
            whiskers: Vec::new(),
        }
    }
}

/// What an axis's values are, for its tick labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Plain,
    /// Wall time in µs: labels in µs / ms / s.
    Micros,
    /// Virtual seconds: labels in s, or min past ten minutes.
    Seconds,
}

/// Axis options of a line chart.
pub struct Axes<'a> {
    pub title: Option<&'a str>,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_unit: Unit,
    pub y_unit: Unit,
    pub log_x: bool,
    pub log_y: bool,
    /// A dashed horizontal reference line (y, label), e.g. the cron interval.
    pub hline: Option<(f64, String)>,
    /// Fixed y range (linear axes), e.g. 0..1 for a share.
    pub y_range: Option<(f64, f64)>,
}

impl Default for Axes<'_> {
    fn default() -> Self {
        Axes {
            title: None,
            x_label: "",
            y_label: "",
            x_unit: Unit::Plain,
            y_unit: Unit::Plain,
            log_x: false,
            log_y: false,
            hline: None,
            y_range: None,
        }
    }
}

const W: f64 = 760.0;
const H: f64 = 320.0;
const ML: f64 = 72.0;
const MR: f64 = 20.0;
const MB: f64 = 45.0;
/// Width of a character of 12 px sans-serif text, generously (legend boxes must hold it).
const CHAR_W: f64 = 7.2;
/// Width of a character of the 11 px tick labels, generously.
const TICK_CHAR_W: f64 = 6.6;

/// Top-left corner of a `size` legend box inside `plot` (x0, y0, x1, y1): of the four corners
/// (top right, top left, bottom right, bottom left, in that order of preference), the one whose
/// box the drawn polylines (screen coordinates) cross least, sampled along each segment.
fn legend_corner(
    lines: &[Vec<(f64, f64)>],
    size: (f64, f64),
    plot: (f64, f64, f64, f64),
) -> (f64, f64) {
    let (lw, lh) = size;
    let (px0, py0, px1, py1) = plot;
    let corners = [
        (px1 - lw - 6.0, py0 + 6.0),
        (px0 + 6.0, py0 + 6.0),
        (px1 - lw - 6.0, py1 - lh - 6.0),
        (px0 + 6.0, py1 - lh - 6.0),
    ];
    let hits = |&(bx, by): &(f64, f64)| -> usize {
        let inside = |(x, y): (f64, f64)| {
            (bx - 4.0..=bx + lw + 4.0).contains(&x) && (by - 4.0..=by + lh + 4.0).contains(&y)
        };
        lines
            .iter()
            .map(|l| {
                let points = l.iter().filter(|&&p| inside(p)).count();
                let segments: usize = l
                    .windows(2)
                    .map(|w| {
                        (1..16)
                            .map(|i| {
                                let t = i as f64 / 16.0;
                                (
                                    w[0].0 + (w[1].0 - w[0].0) * t,
                                    w[0].1 + (w[1].1 - w[0].1) * t,
                                )
                            })
                            .filter(|&p| inside(p))
                            .count()
                    })
                    .sum();
                points + segments
            })
            .sum()
    };
    // min_by_key keeps the first of equal minima: the order of preference.
    corners
        .iter()
        .copied()
        .min_by_key(hits)
        .unwrap_or(corners[0])
}

fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let mut v = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 {
        v.push(t);
        t += step;
    }
    v
}

fn fmt_num(x: f64) -> String {
    if x.abs() >= 1000.0 && x == x.trunc() {
        crate::support::units::thousands(x as u64)
    } else if x.abs() >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        // 0.1, 0.05, 0.001: no trailing zeros.
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Tick positions and labels of an axis over [lo, hi] (log10 space when `log`).
fn axis_ticks(lo: f64, hi: f64, log: bool, unit: Unit) -> Vec<(f64, String)> {
    if log {
        return (lo as i64..=hi as i64)
            .map(|e| {
                let v = 10f64.powi(e as i32);
                let label = match unit {
                    Unit::Micros if e >= 0 => duration_label(e),
                    Unit::Seconds => crate::support::units::human_s(v as u64),
                    _ => fmt_num(v),
                };
                (v, label)
            })
            .collect();
    }
    match unit {
        Unit::Seconds if hi > 600.0 => nice_ticks(lo / 60.0, hi / 60.0)
            .into_iter()
            .map(|m| (m * 60.0, format!("{} min", fmt_num(m))))
            .collect(),
        Unit::Seconds => nice_ticks(lo, hi)
            .into_iter()
            .map(|t| (t, format!("{} s", fmt_num(t))))
            .collect(),
        Unit::Micros => nice_ticks(lo, hi)
            .into_iter()
            .map(|t| (t, crate::support::units::human_us(t)))
            .collect(),
        Unit::Plain => nice_ticks(lo, hi)
            .into_iter()
            .map(|t| (t, fmt_num(t)))
            .collect(),
    }
}

/// Shortens a label to `n` characters.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// An SVG line chart: white background, sans-serif text, the legend inside the plot area.
pub fn line_chart(series: &[Series], axes: &Axes<'_>) -> String {
    let mt = if axes.title.is_some() { 34.0 } else { 12.0 };
    let lx = |x: f64| if axes.log_x { x.max(1e-3).log10() } else { x };
    let ly = |y: f64| if axes.log_y { y.max(1e-3).log10() } else { y };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let ys = series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.whiskers.iter().flat_map(|w| [w.1, w.2]))
        })
        .chain(axes.hline.as_ref().map(|h| h.0));
    for y in ys {
        y0 = y0.min(ly(y));
        y1 = y1.max(ly(y));
    }
    for &(x, _) in series.iter().flat_map(|s| s.points.iter()) {
        x0 = x0.min(lx(x));
        x1 = x1.max(lx(x));
    }
    if x0 > x1 {
        return "<p>(no data)</p>".into();
    }
    if let Some((a, b)) = axes.y_range {
        (y0, y1) = (a, b);
    } else if axes.log_y {
        y0 = y0.floor();
        y1 = y1.ceil().max(y0 + 1.0);
    } else {
        y0 = y0.min(0.0);
        if y1 <= y0 {
            y1 = y0 + 1.0;
        }
        // Headroom for the legend.
        y1 += (y1 - y0) * 0.15;
    }
    if axes.log_x {
        x0 = x0.floor();
        x1 = x1.ceil();
    } else {
        x0 = x0.min(0.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let (pw, ph) = (W - ML - MR, H - mt - MB);
    let sx = |x: f64| ML + (lx(x) - x0) / (x1 - x0) * pw;
    let sy = |y: f64| H - MB - (ly(y) - y0) / (y1 - y0) * ph;
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" font-family="system-ui,sans-serif"><rect width="{W}" height="{H}" fill="#fff"/>"##
    );
    if let Some(t) = axes.title {
        let _ = write!(
            o,
            r##"<text x="{}" y="20" font-size="14" font-weight="600" text-anchor="middle">{}</text>"##,
            W / 2.0,
            esc(&clip(t, 90))
        );
    }
    let _ = write!(
        o,
        r##"<rect x="{ML}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>"##
    );
    let xticks = axis_ticks(x0, x1, axes.log_x, axes.x_unit);
    for (t, label) in xticks {
        let x = sx(t);
        if !(ML - 0.5..=W - MR + 0.5).contains(&x) {
            continue;
        }
        // A label that would run past the right edge ends at its tick instead.
        let half = label.chars().count() as f64 * TICK_CHAR_W / 2.0;
        let anchor = if x + half > W - 2.0 { "end" } else { "middle" };
        let _ = write!(
            o,
            r##"<line x1="{x:.1}" y1="{mt}" x2="{x:.1}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" font-size="11" text-anchor="{anchor}">{}</text>"##,
            H - MB,
            H - MB + 15.0,
            esc(&label)
        );
    }
    for (t, label) in axis_ticks(y0, y1, axes.log_y, axes.y_unit) {
        let y = sy(t);
        if !(mt - 0.5..=H - MB + 0.5).contains(&y) {
            continue;
        }
        let _ = write!(
            o,
            r##"<line x1="{ML}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            W - MR,
            ML - 5.0,
            y + 4.0,
            esc(&label)
        );
    }
    let _ = write!(
        o,
        r##"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text><text x="14" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>"##,
        ML + pw / 2.0,
        H - 8.0,
        esc(axes.x_label),
        mt + ph / 2.0,
        mt + ph / 2.0,
        esc(axes.y_label)
    );
    if let Some((y, label)) = &axes.hline {
        let py = sy(*y);
        let _ = write!(
            o,
            r##"<line x1="{ML}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#555" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="11" fill="#555">{}</text>"##,
            W - MR,
            ML + 6.0,
            py - 4.0,
            esc(label)
        );
    }
    for s in series {
        for &(x, lo, hi) in &s.whiskers {
            let (px, a, b) = (sx(x), sy(lo), sy(hi));
            let _ = write!(
                o,
                r##"<path d="M{px:.1},{a:.1} V{b:.1} M{:.1},{a:.1} H{:.1} M{:.1},{b:.1} H{:.1}" stroke="{c}" fill="none"/>"##,
                px - 4.0,
                px + 4.0,
                px - 4.0,
                px + 4.0,
                c = s.color
            );
        }
        if s.style == Style::Crosses {
            for &(x, y) in &s.points {
                let (px, py) = (sx(x), sy(y));
                let _ = write!(
                    o,
                    r##"<path d="M{:.1},{:.1} l9,9 m0,-9 l-9,9" stroke="{}" stroke-width="2.2" fill="none"/>"##,
                    px - 4.5,
                    py - 4.5,
                    s.color
                );
            }
            continue;
        }
        let mut d = String::new();
        let mut last: Option<(f64, f64)> = None;
        for &(x, y) in &s.points {
            let (px, py) = (sx(x), sy(y));
            match last {
                None => {
                    let _ = write!(d, "M{px:.1},{py:.1}");
                }
                Some((_, ly)) if s.style == Style::Steps => {
                    let _ = write!(d, " L{px:.1},{ly:.1} L{px:.1},{py:.1}");
                }
                Some(_) => {
                    let _ = write!(d, " L{px:.1},{py:.1}");
                }
            }
            last = Some((px, py));
        }
        let _ = write!(
            o,
            r##"<path d="{d}" fill="none" stroke="{}" stroke-width="1.8"/>"##,
            s.color
        );
        if s.style == Style::Line && (s.points.len() <= 80) {
            for &(x, y) in &s.points {
                let _ = write!(
                    o,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="2.8" fill="{}"/>"##,
                    sx(x),
                    sy(y),
                    s.color
                );
            }
        }
    }
    // The legend: inside the plot area, on a white box, in the corner the drawing crosses
    // least (top right when several are equally clear).
    let names: Vec<String> = series.iter().map(|s| clip(&s.name, 60)).collect();
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as f64;
    let (lw, lh) = (longest * CHAR_W + 40.0, names.len() as f64 * 18.0 + 8.0);
    let drawn: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().map(|&(x, y)| (sx(x), sy(y))).collect())
        .collect();
    let (lx0, ly0) = legend_corner(&drawn, (lw, lh), (ML, mt, W - MR, H - MB));
    if !names.is_empty() {
        let _ = write!(
            o,
            r##"<rect x="{lx0:.1}" y="{ly0:.1}" width="{lw:.1}" height="{lh:.1}" fill="#fff" fill-opacity="0.9" stroke="#ccc"/>"##
        );
    }
    for (i, (s, name)) in series.iter().zip(&names).enumerate() {
        let y = ly0 + 13.0 + i as f64 * 18.0;
        let mark = if s.style == Style::Crosses {
            format!(
                r##"<path d="M{:.1},{:.1} l8,8 m0,-8 l-8,8" stroke="{}" stroke-width="2.2"/>"##,
                lx0 + 14.0,
                y - 4.0,
                s.color
            )
        } else {
            format!(
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="3"/>"##,
                lx0 + 8.0,
                lx0 + 28.0,
                s.color
            )
        };
        let _ = write!(
            o,
            r##"{mark}<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"##,
            lx0 + 34.0,
            y + 4.0,
            esc(name)
        );
    }
    o.push_str("</svg>");
    o
}

/// `10^e` µs as a short duration: 1 µs … 100 µs, 1 ms … 100 ms, 1 s, 10 s, …
pub fn duration_label(e: i64) -> String {
    let unit = ["µs", "ms", "s"];
    let k = (e / 3).min(2);
    format!("{} {}", 10i64.pow((e - 3 * k) as u32), unit[k as usize])
}

/// The Kaplan–Meier estimate of the share of changes not yet converged against virtual
/// seconds since the event: `samples` are (seconds observed, converged?) — an open, failed or
/// superseded change is censored at the time it was last seen. Starts at (0, 1).
pub fn kaplan_meier(samples: &[(u64, bool)]) -> Vec<(f64, f64)> {
    let mut v = samples.to_vec();
    // At a tie, events before censorings (the usual convention).
    v.sort_by_key(|&(t, event)| (t, !event));
    let mut at_risk = v.len() as f64;
    let mut s = 1.0;
    let mut out = vec![(0.0, 1.0)];
    let mut i = 0;
    while i < v.len() {
        let t = v[i].0;
        let (mut events, mut gone) = (0.0, 0.0);
        while i < v.len() && v[i].0 == t {
            if v[i].1 {
                events += 1.0;
            }
            gone += 1.0;
            i += 1;
        }
        if events > 0.0 {
            s *= 1.0 - events / at_risk;
            out.push((t as f64, s));
        }
        at_risk -= gone;
    }
    // On to the last change observed, so a curve nothing converged on still shows.
    if let Some(&(t, _)) = v.last()
        && out.last().is_some_and(|p| p.0 < t as f64)
    {
        out.push((t as f64, s));
    }
    out
}

/// A run path's colour: its kind's, or for a second, third … path of a kind one of a palette
/// of its own.
pub fn path_color(path: &crate::harness::loadtest::approach::RunPath) -> &'static str {
    const MORE: [&str; 4] = ["#7d3c98", "#b9770e", "#17a589", "#566573"];
    let nth = path
        .name
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse::<usize>().ok())
        .unwrap_or(1);
    if nth <= 1 {
        color(path.kind)
    } else {
        MORE[(nth + path.kind as usize) % MORE.len()]
    }
}

/// Each path's colour in every chart and table.
pub fn color(path: crate::harness::loadtest::PathKind) -> &'static str {
    use crate::harness::loadtest::PathKind;
    match path {
        PathKind::Legacy => "#c0392b",
        PathKind::Batched => "#2471a3",
        PathKind::Drain => "#1e8449",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn line_chart_draws_every_series_and_its_legend() {
        let s = |name: &str| {
            Series::new(
                name,
                "#000",
                vec![(0.0, 1.0), (30.0, 100.0), (60.0, 10.0)],
                Style::Line,
            )
        };
        let svg = line_chart(
            &[s("legacy"), s("batched")],
            &Axes {
                x_label: "x",
                y_label: "y",
                log_y: true,
                hline: Some((50.0, "interval".into())),
                ..Axes::default()
            },
        );
        assert_eq!(svg.matches("<path ").count(), 2);
        assert!(svg.contains("stroke-dasharray") && svg.contains(">interval<"));
        assert!(svg.contains(">legacy<") && svg.contains(">batched<"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn the_legend_goes_to_the_corner_the_lines_leave_clear() {
        let plot = (72.0, 34.0, 740.0, 275.0);
        let size = (200.0, 60.0);
        // Nothing drawn: top right, as before.
        assert_eq!(legend_corner(&[], size, plot), (534.0, 40.0));
        // A line rising from bottom left to top right (a sweep's full-pass time) crosses the top
        // right box: the legend moves to the top left, which it leaves clear.
        let rising = vec![(72.0, 275.0), (740.0, 34.0)];
        assert_eq!(legend_corner(&[rising], size, plot), (78.0, 40.0));
        // A falling line (a survival curve) keeps the top right free.
        let falling = vec![(72.0, 34.0), (740.0, 275.0)];
        assert_eq!(legend_corner(&[falling], size, plot), (534.0, 40.0));
    }

    #[test]
    fn an_x_label_at_the_right_edge_ends_at_its_tick() {
        let svg = line_chart(
            &[Series::new(
                "batched",
                "#000",
                vec![(10_000.0, 1.0), (1_000_000.0, 90.0)],
                Style::Line,
            )],
            &Axes {
                log_x: true,
                log_y: true,
                ..Axes::default()
            },
        );
        assert!(
            svg.contains(r#"text-anchor="end">1,000,000<"#),
            "the last label is clipped otherwise: {svg}"
        );
        assert!(svg.contains(r#"text-anchor="middle">100,000<"#), "{svg}");
    }

    #[test]
    fn kaplan_meier_keeps_censored_changes_at_risk() {
        // Four changes: converged at 30 s and 60 s, two still open after 90 s.
        let km = kaplan_meier(&[(30, true), (60, true), (90, false), (90, false)]);
        assert_eq!(km, vec![(0.0, 1.0), (30.0, 0.75), (60.0, 0.5), (90.0, 0.5)]);
        // A change censored at 10 s leaves the risk set before the first event.
        let km = kaplan_meier(&[(10, false), (30, true), (30, true), (60, false)]);
        assert_eq!(km[1].0, 30.0);
        let last = km.last().unwrap();
        assert!(
            last.0 == 60.0 && (last.1 - 1.0 / 3.0).abs() < 1e-12,
            "{km:?}"
        );
        // Nothing converged: flat at 1 to the last observation.
        assert_eq!(kaplan_meier(&[(40, false)]), vec![(0.0, 1.0), (40.0, 1.0)]);
        assert!((km[1].1 - 1.0 / 3.0).abs() < 1e-12, "{km:?}");
        // Counting only converged changes would say everything converged by 60 s.
        assert_eq!(kaplan_meier(&[]), vec![(0.0, 1.0)]);
    }

    #[test]
    fn failed_ticks_are_crosses_in_the_legend_too() {
        let svg = line_chart(
            &[Series::new(
                "b FAILED ticks (2)",
                "#f00",
                vec![(30.0, 300.0), (60.0, 300.0)],
                Style::Crosses,
            )],
            &Axes {
                log_y: true,
                y_unit: Unit::Micros,
                ..Axes::default()
            },
        );
        assert_eq!(svg.matches("l9,9").count(), 2);
        assert_eq!(svg.matches("l8,8").count(), 1);
        assert!(!svg.contains("<circle"));
    }

    #[test]
    fn duration_labels_switch_units() {
        let v: Vec<String> = (0..8).map(duration_label).collect();
        assert_eq!(
            v,
            [
                "1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s", "10 s"
            ]
        );
    }

    #[test]
    fn nice_ticks_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 100.0),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
    }
}
