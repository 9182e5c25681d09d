//! `report.html`: one self-contained page (inline SVG and CSS, no script, no network) that shows
//! a loadtest: tick latency over virtual time per path, percentiles per phase side by side, the
//! convergence-latency CDF and the state-equivalence verdict. Pure: results in, text out.

use crate::harness::loadtest::{LoadtestResult, PathKind};
use crate::report::charts::{
    Axes, Series, Style, Unit, duration_label, esc, kaplan_meier, line_chart,
};
use std::fmt::Write;

/// What the page shows.
pub struct ReportInput<'a> {
    pub title: String,
    pub interval_s: u32,
    pub result: &'a LoadtestResult,
    pub verdict: &'a str,
    pub decided: &'a crate::report::verdict::Verdict,
    pub manifest: &'a crate::report::manifest::Manifest,
}

use crate::report::charts::path_color;

/// Phases in reading order: the tick, the reconciler's, the writer's; then the rest by name.
pub fn phase_rank(p: &str) -> (usize, String) {
    crate::paths::phase::Phase::rank(p)
}

/// The phases of a group (`reconciler`, `harness`) present in any path, in reading order.
fn phases_of(result: &LoadtestResult, group: &str) -> Vec<String> {
    let mut v: Vec<String> = result
        .runs
        .iter()
        .flat_map(|(_, r)| r.hist.keys().cloned())
        .filter(|p| crate::report::verdict::phase_group(p) == group)
        .collect();
    v.sort_by_key(|p| phase_rank(p));
    v.dedup();
    v
}

/// Horizontal bars of p50 and p99 per reconciler phase, one bar pair per path, log scale.
fn phase_bars(result: &LoadtestResult) -> String {
    use crate::support::units::human_us;
    let phases = phases_of(result, "reconciler");
    let rows: Vec<(
        &str,
        &crate::harness::loadtest::approach::RunPath,
        u64,
        Option<u64>,
    )> = phases
        .iter()
        .flat_map(|ph| {
            result.runs.iter().filter_map(move |(k, r)| {
                r.hist.get(ph).and_then(|h| {
                    let st = h.stats();
                    // p99 only where 100 samples support it.
                    Some((
                        ph.as_str(),
                        k,
                        st.p50_us?,
                        st.p99_us.filter(|_| st.count >= 100),
                    ))
                })
            })
        })
        .collect();
    let max = rows
        .iter()
        .map(|r| r.3.unwrap_or(r.2))
        .max()
        .unwrap_or(1)
        .max(10) as f64;
    let top = max.log10().ceil();
    let bar_h = 14.0;
    let h = 30.0 + rows.len() as f64 * (bar_h + 4.0) + 30.0;
    let (x0, x1) = (190.0, 540.0);
    let sx = |us: u64| x0 + (us.max(1) as f64).log10() / top * (x1 - x0);
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{h}" viewBox="0 0 760 {h}" role="img" font-family="system-ui,sans-serif"><rect width="760" height="{h}" fill="#fff"/>"##
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
        let end = sx(p99.unwrap_or(*p50));
        let label = match p99 {
            Some(p) => format!(
                "p50 {} · p99 {}",
                human_us(*p50 as f64),
                human_us(*p as f64)
            ),
            None => format!("p50 {}", human_us(*p50 as f64)),
        };
        let _ = write!(
            o,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end">{} · {}</text>"##,
            x0 - 6.0,
            y + 11.0,
            esc(ph),
            k.name()
        );
        if let Some(p) = p99 {
            let _ = write!(
                o,
                r##"<rect x="{x0}" y="{y}" width="{:.1}" height="{bar_h}" fill="{}" opacity="0.35"/>"##,
                sx(*p) - x0,
                path_color(k)
            );
        }
        let _ = write!(
            o,
            r##"<rect x="{x0}" y="{y}" width="{:.1}" height="{bar_h}" fill="{}"/><text x="{:.1}" y="{}" font-size="10">{}</text>"##,
            sx(*p50) - x0,
            path_color(k),
            end + 4.0,
            y + 11.0,
            esc(&label)
        );
    }
    let _ = write!(
        o,
        r##"<text x="380" y="{}" font-size="11" text-anchor="middle">solid: p50, light: p99 (from 100 samples), log scale</text></svg>"##,
        h - 6.0
    );
    o
}

/// A percentile table of some phases: human units, each percentile only where the sample count
/// supports it (p90 from 10 samples, p99 from 100, p99.9 from 1,000).
fn phase_table(result: &LoadtestResult, phases: &[String]) -> String {
    use crate::support::units::{human_s, human_us, thousands};
    let mut o = String::from(
        "<table><tr><th>path · phase</th><th>samples</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>",
    );
    for (k, run) in &result.runs {
        for ph in phases {
            let Some(h) = run.hist.get(ph) else { continue };
            let st = h.stats();
            let virtual_time = ph == "convergence";
            let f = |v: Option<u64>| match v {
                None => String::new(),
                Some(v) if virtual_time => human_s(v / 1_000_000),
                Some(v) => human_us(v as f64),
            };
            let need = |v: Option<u64>, n: u64| v.filter(|_| st.count >= n);
            let _ = write!(
                o,
                "<tr><td>{} · {}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                k.name(),
                esc(ph),
                if virtual_time { " (virtual time)" } else { "" },
                thousands(st.count),
                f(st.min_us),
                f(st.mean_us.map(|m| m.round() as u64)),
                f(st.p50_us),
                f(need(st.p90_us, 10)),
                f(need(st.p99_us, 100)),
                f(st.p999_us),
                f(st.max_us)
            );
        }
    }
    o.push_str("</table>");
    o
}

/// A path's convergence samples for `kaplan_meier`: converged at its latency; the others
/// censored when last seen (their end, or the path's last tick for those still open).
fn survival_samples(run: &crate::harness::loadtest::PathRun) -> Vec<(u64, bool)> {
    let last = run
        .ticks
        .iter()
        .map(|t| t.virtual_time_s)
        .max()
        .unwrap_or(0);
    run.samples
        .iter()
        .map(|s| match s.latency_s() {
            Some(l) => (l, true),
            None => (s.end_s.unwrap_or(last).saturating_sub(s.event_s), false),
        })
        .collect()
}

/// The whole page.
/// The verdict first (issue 12): the answer, a card per path, equivalence, thresholds and why
/// the run exits as it does.
fn verdict_cards(v: &crate::report::verdict::Verdict) -> String {
    use crate::support::units::{human_s, human_us, thousands};
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
            p.path.as_str(),
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
        m.seed,
        m.ticks,
        input.interval_s,
        m.batch_size,
        esc(&m.rules),
        esc(&m.legacy_sql),
        esc(&m.sqlite_version),
        esc(&m.reconsim_version),
        esc(&m.git_commit),
        esc(&m.started_utc)
    );
    if !m.approaches.is_empty() {
        let _ = write!(
            o,
            r##"<p class="note">approaches: {}</p>"##,
            esc(&m.approaches.join(" · "))
        );
    }
    if r.runs.iter().any(|(k, _)| k.kind == PathKind::Legacy) {
        o.push_str(r##"<p class="note">Each legacy tick is a diff of the whole fleet (about 20 s for fleet-100k on this machine class); the batched path covers one window per tick.</p>"##);
    }

    o.push_str("<h2>State equivalence</h2>");
    let _ = write!(o, r##"<p class="verdict">{}</p>"##, esc(input.verdict));
    // One table a compared path (in the order the run compared them): classes × its pass
    // boundaries (pairs), then one sample per class of its last boundary.
    let first = r.runs.first().map_or("legacy", |(k, _)| k.name());
    let mut compared: Vec<&str> = Vec::new();
    for e in &r.equivalence {
        if !compared.contains(&e.path.as_str()) {
            compared.push(&e.path);
        }
    }
    for path in compared {
        let rows: Vec<&crate::harness::loadtest::EqRow> =
            r.equivalence.iter().filter(|e| e.path == path).collect();
        if r.runs.len() > 2 {
            let _ = write!(o, "<h3>{} against {}</h3>", esc(path), esc(first));
        }
        let mut passes: Vec<(u32, u32, u64)> = rows
            .iter()
            .map(|e| (e.pass_start_tick, e.tick, e.virtual_time_s))
            .collect();
        passes.dedup();
        let mut classes: Vec<&str> = rows.iter().map(|e| e.class.as_str()).collect();
        // `equal` first, then the classes by name.
        classes.sort_unstable_by_key(|c| (*c != "equal", *c));
        classes.dedup();
        o.push_str("<table><tr><th>class \\ pass (ticks, virtual time)</th>");
        for (a, b, v) in &passes {
            let _ = write!(
                o,
                "<th>{a}–{b} ({})</th>",
                crate::support::units::human_s(*v)
            );
        }
        o.push_str("</tr>");
        for c in &classes {
            let _ = write!(o, "<tr><td>{}</td>", esc(c));
            for (_, b, _) in &passes {
                let n = rows
                    .iter()
                    .find(|e| e.tick == *b && e.class == *c)
                    .map_or(0, |e| e.pairs);
                let _ = write!(o, "<td>{}</td>", crate::support::units::thousands(n));
            }
            o.push_str("</tr>");
        }
        o.push_str("</table>");
        if let Some((_, last, _)) = passes.last() {
            let _ = write!(
                o,
                "<p class=\"note\">Samples at the pass ending at tick {last}:</p><table><tr><th>class</th><th>host · profile</th><th>{}</th><th>{}</th><th>explanation</th></tr>",
                esc(first),
                esc(path)
            );
            for e in rows
                .iter()
                .filter(|e| e.tick == *last && e.class != "equal")
            {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td style=\"text-align:left\">{}<br>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                    esc(&e.class),
                    esc(&e.sample_host_uuid),
                    esc(&e.sample_profile_uuid),
                    esc(&e.legacy.text()),
                    esc(&e.batched.text()),
                    esc(&e.explanation.text())
                );
            }
            o.push_str("</table>");
        }
    }

    for (kind, run) in r.runs.iter().filter(|(k, _)| k.paged()) {
        let _ = write!(o, "<h2>Cursor liveness ({kind})</h2>");
        let _ = write!(
            o,
            r##"<p class="verdict">{}</p>"##,
            esc(&crate::harness::loadtest::liveness_text(&run.findings))
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
    let interval_us = input.interval_s as f64 * 1e6;
    let mut series: Vec<Series> = Vec::new();
    for (k, run) in &r.runs {
        let ok: Vec<(f64, f64)> = run
            .ticks
            .iter()
            .filter(|t| t.outcome != crate::harness::loadtest::TickOutcome::Error)
            .map(|t| (t.virtual_time_s as f64, t.duration_us.max(1) as f64))
            .collect();
        let failed: Vec<(f64, f64)> = run
            .ticks
            .iter()
            .filter(|t| t.outcome == crate::harness::loadtest::TickOutcome::Error)
            .map(|t| (t.virtual_time_s as f64, t.duration_us.max(1) as f64))
            .collect();
        if !ok.is_empty() {
            series.push(Series::new(k.name(), path_color(k), ok, Style::Line));
        }
        if !failed.is_empty() {
            series.push(Series::new(
                format!("{} FAILED ticks ({})", k.name(), failed.len()),
                path_color(k),
                failed,
                Style::Crosses,
            ));
        }
    }
    o.push_str(&line_chart(
        &series,
        &Axes {
            x_label: "virtual time",
            y_label: "tick duration (log)",
            x_unit: Unit::Seconds,
            y_unit: Unit::Micros,
            log_y: true,
            hline: Some((interval_us, format!("cron interval {} s", input.interval_s))),
            ..Axes::default()
        },
    ));
    let _ = write!(
        o,
        r##"<p class="note">A tick is the reconciler plus the downstream writer; a cross is a failed tick, drawn at the time it took to fail. Per path: {}.</p>"##,
        r.runs
            .iter()
            .map(|(k, run)| format!(
                "{} {} ticks, {} failed, {} over the {} s interval",
                k.name(),
                run.ticks.len(),
                run.ticks
                    .iter()
                    .filter(|t| t.outcome == crate::harness::loadtest::TickOutcome::Error)
                    .count(),
                run.ticks
                    .iter()
                    .filter(|t| t.duration_us > input.interval_s as u64 * 1_000_000)
                    .count(),
                input.interval_s
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );

    o.push_str("<h2>Reconciler phases</h2>");
    o.push_str(&phase_bars(r));
    let mut measured = phases_of(r, "reconciler");
    measured.extend(phases_of(r, "virtual"));
    o.push_str(&phase_table(r, &measured));
    o.push_str(r##"<p class="note">Wall time per tick of each phase, then <code>convergence</code> in virtual time. A percentile is shown only where the samples support it (p90 from 10, p99 from 100, p99.9 from 1,000).</p>"##);
    o.push_str("<table style=\"margin-top:8px\"><tr><th>path</th><th>CPU time of its ticks</th><th>rows read</th><th>process peak RSS after its ticks</th></tr>");
    for (k, run) in &r.runs {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            k.name(),
            crate::support::units::human_us(run.cpu.as_micros() as f64),
            crate::support::units::thousands(run.ticks.iter().map(|t| t.rows_read).sum::<u64>()),
            run.peak_rss_kib.map_or("n/a".into(), |k| format!(
                "{} MiB",
                crate::support::units::thousands(k / 1024)
            ))
        );
    }
    o.push_str("</table><p class=\"note\">Peak RSS is the whole reconsim process's high-water mark (VmHWM) when the path's last tick ended: one process runs every path, so it is an upper bound on a path's memory, not the path's own.</p>");

    o.push_str("<h2>Convergence (survival curve)</h2>");
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|(k, run)| {
            let open = run
                .samples
                .iter()
                .filter(|s| s.outcome == crate::analysis::convergence::SampleOutcome::Open)
                .count();
            let share = if run.samples.is_empty() {
                0.0
            } else {
                open as f64 / run.samples.len() as f64 * 100.0
            };
            Series::new(
                format!(
                    "{}: {} changes, {share:.1} % still open at the end",
                    k.name(),
                    crate::support::units::thousands(run.samples.len() as u64)
                ),
                path_color(k),
                kaplan_meier(&survival_samples(run)),
                Style::Steps,
            )
        })
        .collect();
    o.push_str(&line_chart(
        &series,
        &Axes {
            x_label: "virtual time since the churn event",
            y_label: "share of changes not yet converged",
            x_unit: Unit::Seconds,
            y_range: Some((0.0, 1.0)),
            ..Axes::default()
        },
    ));
    o.push_str(r##"<p class="note">Kaplan–Meier estimate: a change still open at the end of the run (or failed, or superseded by a later change) counts as censored when last seen, not as converged, so a curve that stays high means changes the run did not see through. Only as far right as the run lasted.</p>"##);
    o.push_str("<table><tr><th>path</th><th>changes</th><th>converged</th><th>failed</th><th>superseded</th><th>open at end</th></tr>");
    for (k, run) in &r.runs {
        use crate::analysis::convergence::SampleOutcome as S;
        let c = |o: S| {
            crate::support::units::thousands(
                run.samples.iter().filter(|s| s.outcome == o).count() as u64
            )
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            k.name(),
            crate::support::units::thousands(run.samples.len() as u64),
            c(S::Converged),
            c(S::Failed),
            c(S::Superseded),
            c(S::Open)
        );
    }
    o.push_str("</table>");

    let harness = phases_of(r, "harness");
    if !harness.is_empty() {
        o.push_str("<h2>Harness (the simulated world, outside every tick)</h2>");
        o.push_str(&phase_table(r, &harness));
        let _ = write!(
            o,
            r##"<p class="note">What the harness spends simulating devices and churn and checking convergence; no reconciler runs in these phases. State comparisons took {} in all.</p>"##,
            crate::support::units::human_us(r.equivalence_time.as_micros() as f64)
        );
    }
    let events: Vec<String> = r
        .events
        .iter()
        .map(|(k, v)| format!("{k} {}", crate::support::units::thousands(*v)))
        .collect();
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
