//! `report.html`: one self-contained page (inline SVG and CSS, no script, no network) that shows
//! a loadtest: tick latency over virtual time per path, percentiles per phase side by side, the
//! convergence-latency CDF and the state-equivalence verdict. Pure: results in, text out.

use crate::loadtest::{LoadtestResult, PathKind};
use std::fmt::Write;

/// What the page shows.
pub struct ReportInput<'a> {
    pub title: String,
    pub interval_s: u32,
    pub result: &'a LoadtestResult,
    pub verdict: &'a str,
    pub decided: &'a crate::verdict::Verdict,
    pub manifest: &'a serde_json::Value,
}

/// Escapes text for HTML content and attributes.
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

fn color(path: PathKind) -> &'static str {
    match path {
        PathKind::Legacy => "#c0392b",
        PathKind::Batched => "#2471a3",
    }
}

/// A series of (x, y) points with a name and colour.
pub struct Series {
    pub name: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    /// Draw as steps (a CDF) rather than straight segments.
    pub steps: bool,
}

/// Axis options of a line chart.
pub struct Axes<'a> {
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub log_x: bool,
    pub log_y: bool,
}

const W: f64 = 760.0;
const H: f64 = 300.0;
const ML: f64 = 70.0;
const MR: f64 = 150.0;
const MT: f64 = 15.0;
const MB: f64 = 45.0;

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
    if x.abs() >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// An SVG line chart.
pub fn line_chart(series: &[Series], axes: &Axes<'_>) -> String {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let lx = |x: f64| if axes.log_x { x.max(1e-3).log10() } else { x };
    for &(x, y) in pts {
        let x = lx(x);
        x0 = x0.min(x);
        x1 = x1.max(x);
        let y = if axes.log_y { y.max(1e-3).log10() } else { y };
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return "<p>(no data)</p>".into();
    }
    if axes.log_y {
        y0 = y0.floor();
        y1 = y1.ceil().max(y0 + 1.0);
    } else {
        y0 = y0.min(0.0);
        if y1 <= y0 {
            y1 = y0 + 1.0;
        }
    }
    if axes.log_x {
        x0 = x0.floor();
        x1 = x1.ceil();
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let sx = |x: f64| ML + (lx(x) - x0) / (x1 - x0) * (W - ML - MR);
    let sy = |y: f64| {
        let y = if axes.log_y { y.max(1e-3).log10() } else { y };
        H - MB - (y - y0) / (y1 - y0) * (H - MT - MB)
    };
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">"##
    );
    let _ = write!(
        o,
        r##"<rect x="{ML}" y="{MT}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        W - ML - MR,
        H - MT - MB
    );
    let xticks: Vec<f64> = if axes.log_x {
        (x0 as i64..=x1 as i64)
            .map(|e| 10f64.powi(e as i32))
            .collect()
    } else {
        nice_ticks(x0, x1)
    };
    for t in xticks {
        let x = sx(t);
        let _ = write!(
            o,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" font-size="11" text-anchor="middle">{}</text>"##,
            MT,
            H - MB,
            H - MB + 15.0,
            fmt_num(t)
        );
    }
    let yticks: Vec<(f64, String)> = if axes.log_y {
        (y0 as i64..=y1 as i64)
            .map(|e| (10f64.powi(e as i32), fmt_num(10f64.powi(e as i32))))
            .collect()
    } else {
        nice_ticks(y0, y1)
            .into_iter()
            .map(|t| (t, fmt_num(t)))
            .collect()
    };
    for (t, label) in yticks {
        let y = sy(t);
        let _ = write!(
            o,
            r##"<line x1="{ML}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{label}</text>"##,
            W - MR,
            ML - 5.0,
            y + 4.0
        );
    }
    let _ = write!(
        o,
        r##"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text><text x="14" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>"##,
        ML + (W - ML - MR) / 2.0,
        H - 8.0,
        esc(axes.x_label),
        MT + (H - MT - MB) / 2.0,
        MT + (H - MT - MB) / 2.0,
        esc(axes.y_label)
    );
    for (i, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut last: Option<(f64, f64)> = None;
        for &(x, y) in &s.points {
            let (px, py) = (sx(x), sy(y));
            match last {
                None => {
                    let _ = write!(d, "M{px:.1},{py:.1}");
                }
                Some((_, ly)) if s.steps => {
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
        if s.points.len() == 1 {
            let (px, py) = (sx(s.points[0].0), sy(s.points[0].1));
            let _ = write!(
                o,
                r##"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="{}"/>"##,
                s.color
            );
        }
        let ly = MT + 14.0 + i as f64 * 18.0;
        let _ = write!(
            o,
            r##"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{}" stroke-width="3"/><text x="{}" y="{}" font-size="12">{}</text>"##,
            W - MR + 10.0,
            W - MR + 30.0,
            s.color,
            W - MR + 35.0,
            ly + 4.0,
            esc(&s.name)
        );
    }
    o.push_str("</svg>");
    o
}

/// `10^e` µs as a short duration: 1 µs … 100 µs, 1 ms … 100 ms, 1 s, 10 s, …
fn duration_label(e: i64) -> String {
    let unit = ["µs", "ms", "s"];
    let k = (e / 3).min(2);
    format!("{} {}", 10i64.pow((e - 3 * k) as u32), unit[k as usize])
}

/// Horizontal bars of p50 and p99 per phase, one bar pair per path, on a log scale (µs).
fn phase_bars(result: &LoadtestResult) -> String {
    let mut phases: Vec<&str> = result
        .runs
        .iter()
        .flat_map(|(_, r)| r.hist.keys().map(String::as_str))
        .filter(|p| *p != "convergence")
        .collect();
    phases.sort_unstable();
    phases.dedup();
    let rows: Vec<(&str, PathKind, u64, u64)> = phases
        .iter()
        .flat_map(|ph| {
            result.runs.iter().filter_map(move |(k, r)| {
                r.hist.get(*ph).map(|h| {
                    let row = h.row();
                    (*ph, *k, row.p50_us, row.p99_us)
                })
            })
        })
        .collect();
    let max = rows.iter().map(|r| r.3).max().unwrap_or(1).max(10) as f64;
    let top = max.log10().ceil();
    let bar_h = 14.0;
    let h = 30.0 + rows.len() as f64 * (bar_h + 4.0) + 30.0;
    let (x0, x1) = (200.0, 560.0);
    let sx = |us: u64| x0 + (us.max(1) as f64).log10() / top * (x1 - x0);
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{h}" viewBox="0 0 760 {h}" role="img">"##
    );
    for e in 0..=top as i64 {
        let x = x0 + e as f64 / top * (x1 - x0);
        let _ = write!(
            o,
            r##"<line x1="{x:.1}" y1="20" x2="{x:.1}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="14" font-size="10" text-anchor="middle">{}</text>"##,
            h - 25.0,
            duration_label(e)
        );
    }
    for (i, (ph, k, p50, p99)) in rows.iter().enumerate() {
        let y = 24.0 + i as f64 * (bar_h + 4.0);
        let _ = write!(
            o,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end">{} · {}</text><rect x="{x0}" y="{y}" width="{:.1}" height="{bar_h}" fill="{}" opacity="0.35"/><rect x="{x0}" y="{y}" width="{:.1}" height="{bar_h}" fill="{}"/><text x="{:.1}" y="{}" font-size="10">p50 {} · p99 {}</text>"##,
            x0 - 6.0,
            y + 11.0,
            esc(ph),
            k.name(),
            sx(*p99) - x0,
            color(*k),
            sx(*p50) - x0,
            color(*k),
            sx(*p99) + 4.0,
            y + 11.0,
            p50,
            p99
        );
    }
    let _ = write!(
        o,
        r##"<text x="380" y="{}" font-size="11" text-anchor="middle">solid: p50, light: p99 (µs, log scale)</text></svg>"##,
        h - 6.0
    );
    o
}

/// The whole page.
/// The verdict first (issue 12): the answer, a card per path, equivalence, thresholds and why
/// the run exits as it does.
fn verdict_cards(v: &crate::verdict::Verdict) -> String {
    use crate::verdict::{human_s, human_us, thousands};
    let mut o = String::new();
    let status = if v.exit_code == 0 {
        r#"<span class="ok">passes (exit 0)</span>"#.to_string()
    } else {
        format!(r#"<span class="bad">fails (exit {})</span>"#, v.exit_code)
    };
    let _ = write!(
        o,
        r#"<section id="verdict"><h2>Verdict: {status}</h2><p class="answer">{}</p><div class="cards">"#,
        esc(&v.answer)
    );
    for p in &v.paths {
        let t = |x: Option<u64>| x.map_or("–".into(), |u| human_us(u as f64));
        let c = |x: Option<u64>| x.map_or("–".into(), human_s);
        let failed = if p.failed_ticks > 0 {
            format!(
                r#"<span class="bad">{} of {}</span>{}"#,
                p.failed_ticks,
                p.ticks,
                p.first_error.as_ref().map_or(String::new(), |e| format!(
                    r#"<br><span class="note">first at tick {}: {}</span>"#,
                    e.tick,
                    esc(&e.error)
                ))
            )
        } else {
            format!("0 of {}", p.ticks)
        };
        let findings = if p.findings.is_empty() {
            "none".to_string()
        } else {
            format!(
                r#"<span class="bad">{}</span>"#,
                esc(&p
                    .findings
                    .iter()
                    .map(|(k, n)| format!("{k} ×{n}"))
                    .collect::<Vec<_>>()
                    .join(", "))
            )
        };
        let _ = write!(
            o,
            r#"<div class="card"><h3>{}</h3>tick p50 {} · p99 {} · max {}<br>cron interval {} s: {} overrun(s)<br>failed ticks: {}<br>convergence p50 {} · p95 {} · max {}<br>still open at the end: {:.1} % ({} of {} changes)<br>liveness findings: {}</div>"#,
            p.path.name(),
            t(p.tick.p50_us),
            t(p.tick.p99_us),
            t(p.tick.max_us),
            v.interval_s,
            p.overruns,
            failed,
            c(p.convergence.p50_s),
            c(p.convergence.p95_s),
            c(p.convergence.max_s),
            p.convergence.open_share * 100.0,
            thousands(p.convergence.open),
            thousands(p.convergence.samples),
            findings
        );
    }
    let (word, text) = (v.equivalence.word(), v.equivalence.text());
    let detail = match text.strip_prefix(word) {
        Some(rest) => rest.trim_start_matches([':', ' ']).to_string(),
        None => text.clone(),
    };
    let _ = write!(
        o,
        r#"</div><p>State equivalence: <b>{}</b>{}</p>"#,
        esc(word),
        if detail.is_empty() {
            String::new()
        } else {
            format!(" — {}", esc(&detail))
        }
    );
    if !v.thresholds.is_empty() {
        o.push_str("<table><tr><th>threshold</th><th>result</th><th>measured</th></tr>");
        for t in &v.thresholds {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td class="{}">{}</td><td>{}</td></tr>"#,
                esc(&t.check),
                if t.passed { "ok" } else { "bad" },
                if t.passed { "pass" } else { "FAIL" },
                esc(&t.measured)
            );
        }
        o.push_str("</table>");
    }
    for f in &v.failures {
        let _ = write!(o, r#"<p class="bad">{}</p>"#, esc(f));
    }
    o.push_str("</section>");
    o
}

pub fn loadtest_report(input: &ReportInput<'_>) -> String {
    let r = input.result;
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;max-width:980px;color:#222}}
h1{{font-size:20px}}h2{{font-size:16px;margin-top:28px}}
table{{border-collapse:collapse;font-size:12px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}
th{{background:#f4f4f4}}td:first-child,th:first-child{{text-align:left}}.verdict{{font-size:15px;font-weight:600}}
.note{{color:#555;font-size:12px}}.cards{{display:flex;flex-wrap:wrap;gap:12px}}
.card{{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:260px;font-size:13px}}
.card h3{{margin:0 0 6px;font-size:14px}}.ok{{color:#1a7f37}}.bad{{color:#b42318;font-weight:600}}
.answer{{font-size:15px;margin:8px 0 12px}}</style></head><body><h1>{t}</h1>"##,
        t = esc(&input.title)
    );
    o.push_str(&verdict_cards(input.decided));
    let m = input.manifest;
    let _ = write!(
        o,
        r##"<p class="note">seed {} · {} ticks of {} s (virtual) · batch size {} · rules {} · legacy SQL {} · SQLite {} · reconsim {} ({}) · started {}</p>"##,
        m["seed"],
        m["ticks"],
        input.interval_s,
        m["batch_size"],
        esc(m["rules"].as_str().unwrap_or("")),
        esc(m["legacy_sql"].as_str().unwrap_or("")),
        esc(m["sqlite_version"].as_str().unwrap_or("")),
        esc(m["reconsim_version"].as_str().unwrap_or("")),
        esc(m["git_commit"].as_str().unwrap_or("")),
        esc(m["started_utc"].as_str().unwrap_or(""))
    );
    if r.runs.iter().any(|(k, _)| *k == PathKind::Legacy) {
        o.push_str(r##"<p class="note">Each legacy tick is a diff of the whole fleet (about 28–40 s at 100k hosts, spec §9); the batched path covers one window per tick.</p>"##);
    }

    o.push_str("<h2>State equivalence</h2>");
    let _ = write!(o, r##"<p class="verdict">{}</p>"##, esc(input.verdict));
    if !r.equivalence.is_empty() {
        // Classes × pass boundaries (pairs), then one sample per class of the last boundary.
        let mut passes: Vec<(u32, u32, u64)> = r
            .equivalence
            .iter()
            .map(|e| (e.pass_start_tick, e.tick, e.virtual_time_s))
            .collect();
        passes.dedup();
        let mut classes: Vec<&str> = r.equivalence.iter().map(|e| e.class.as_str()).collect();
        // `equal` first, then the classes by name.
        classes.sort_unstable_by_key(|c| (*c != "equal", *c));
        classes.dedup();
        o.push_str("<table><tr><th>class \\ pass (ticks, virtual s)</th>");
        for (a, b, v) in &passes {
            let _ = write!(o, "<th>{a}–{b} ({v} s)</th>");
        }
        o.push_str("</tr>");
        for c in &classes {
            let _ = write!(o, "<tr><td>{}</td>", esc(c));
            for (_, b, _) in &passes {
                let n = r
                    .equivalence
                    .iter()
                    .find(|e| e.tick == *b && e.class == *c)
                    .map_or(0, |e| e.pairs);
                let _ = write!(o, "<td>{n}</td>");
            }
            o.push_str("</tr>");
        }
        o.push_str("</table>");
        if let Some((_, last, _)) = passes.last() {
            let _ = write!(
                o,
                "<p class=\"note\">Samples at the pass ending at tick {last}:</p><table><tr><th>class</th><th>host · profile</th><th>legacy</th><th>batched</th><th>explanation</th></tr>"
            );
            for e in r
                .equivalence
                .iter()
                .filter(|e| e.tick == *last && e.class != "equal")
            {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td style=\"text-align:left\">{}<br>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                    esc(&e.class),
                    esc(&e.sample_host_uuid),
                    esc(&e.sample_profile_uuid),
                    esc(&e.legacy_state),
                    esc(&e.batched_state),
                    esc(&e.explanation)
                );
            }
            o.push_str("</table>");
        }
    }

    if let Some((_, run)) = r.runs.iter().find(|(k, _)| *k == PathKind::Batched) {
        o.push_str("<h2>Cursor liveness (batched)</h2>");
        let _ = write!(
            o,
            r##"<p class="verdict">{}</p>"##,
            esc(&crate::loadtest::liveness_text(&run.findings))
        );
        if !run.findings.is_empty() {
            o.push_str("<table><tr><th>tick</th><th>finding</th><th>count</th><th>detail</th><th>sample</th></tr>");
            for f in &run.findings {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
                    f.tick,
                    f.kind,
                    f.count,
                    esc(&f.detail),
                    esc(&f.sample)
                );
            }
            o.push_str("</table>");
        }
    }

    o.push_str("<h2>Tick latency over virtual time</h2>");
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|(k, run)| Series {
            name: k.name().into(),
            color: color(*k).into(),
            points: run
                .ticks
                .iter()
                .map(|t| (t.virtual_time_s as f64, t.duration_us as f64 / 1000.0))
                .collect(),
            steps: false,
        })
        .collect();
    o.push_str(&line_chart(
        &series,
        &Axes {
            x_label: "virtual time (s)",
            y_label: "tick duration (ms, log)",
            log_x: false,
            log_y: true,
        },
    ));
    let _ = write!(
        o,
        r##"<p class="note">A tick is the reconciler plus the downstream writer. Overruns (ticks longer than the {} s interval): {}.</p>"##,
        input.interval_s,
        r.runs
            .iter()
            .map(|(k, run)| format!(
                "{} {}",
                k.name(),
                run.ticks
                    .iter()
                    .filter(|t| t.duration_us > input.interval_s as u64 * 1_000_000)
                    .count()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    o.push_str("<h2>Percentiles per phase</h2>");
    o.push_str(&phase_bars(r));
    o.push_str("<table><tr><th>path · phase</th><th>count</th><th>mean µs</th><th>p50 µs</th><th>p90 µs</th><th>p99 µs</th><th>p99.9 µs</th><th>max µs</th></tr>");
    for (k, run) in &r.runs {
        for (ph, h) in &run.hist {
            let row = h.row();
            let _ = write!(
                o,
                "<tr><td>{} · {}{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                k.name(),
                esc(ph),
                if ph == "convergence" {
                    " (virtual)"
                } else {
                    ""
                },
                row.count,
                row.mean_us,
                row.p50_us,
                row.p90_us,
                row.p99_us,
                row.p999_us,
                row.max_us
            );
        }
    }
    o.push_str("</table>");
    o.push_str("<table style=\"margin-top:8px\"><tr><th>path</th><th>CPU s (ticks)</th><th>peak RSS MiB (ticks)</th><th>rows read</th></tr>");
    for (k, run) in &r.runs {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            k.name(),
            run.cpu.as_secs_f64(),
            run.peak_rss_kib
                .map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
            run.ticks.iter().map(|t| t.rows_read).sum::<u64>()
        );
    }
    o.push_str("</table>");

    o.push_str("<h2>Convergence latency (CDF)</h2>");
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|(k, run)| {
            let mut lat: Vec<u64> = run.samples.iter().filter_map(|s| s.latency_s()).collect();
            lat.sort_unstable();
            let n = lat.len().max(1) as f64;
            Series {
                name: format!("{} ({} pairs)", k.name(), lat.len()),
                color: color(*k).into(),
                points: lat
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| (l as f64, (i + 1) as f64 / n))
                    .collect(),
                steps: true,
            }
        })
        .collect();
    o.push_str(&line_chart(
        &series,
        &Axes {
            x_label: "virtual seconds from the churn event to the device's state",
            y_label: "share of converged pairs",
            log_x: false,
            log_y: false,
        },
    ));
    o.push_str("<table><tr><th>path</th><th>samples</th><th>converged</th><th>failed</th><th>superseded</th><th>open at end</th></tr>");
    for (k, run) in &r.runs {
        let c = |o: &str| run.samples.iter().filter(|s| s.outcome == o).count();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            k.name(),
            run.samples.len(),
            c("converged"),
            c("failed"),
            c("superseded"),
            c("open")
        );
    }
    o.push_str("</table>");
    let events: Vec<String> = r.events.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = write!(
        o,
        r##"<p class="note">Churn applied: {}. Convergence: for each (host, profile) pair whose desired state a churn event changed, the virtual time until its row reached that state (a device answer included).</p></body></html>"##,
        esc(&if events.is_empty() {
            "none".into()
        } else {
            events.join(", ")
        })
    );
    o
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
        let s = |name: &str| Series {
            name: name.into(),
            color: "#000".into(),
            points: vec![(0.0, 1.0), (30.0, 100.0), (60.0, 10.0)],
            steps: false,
        };
        let svg = line_chart(
            &[s("legacy"), s("batched")],
            &Axes {
                x_label: "x",
                y_label: "y",
                log_x: false,
                log_y: true,
            },
        );
        assert_eq!(svg.matches("<path ").count(), 2);
        assert!(svg.contains(">legacy<") && svg.contains(">batched<"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
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
