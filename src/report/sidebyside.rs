//! The side-by-side page of a two-backend loadtest (issue 6): the run folder holds one complete
//! run per backend (`sqlite/`, `mysql/`); this reads their `summary.json` and `manifest.json`
//! and writes `backends.csv` and `report.html` (self-contained: inline CSS and SVG, no script)
//! with every path × phase of both, and the ratio of the server's latency to SQLite's.

use crate::report::charts::esc;
use crate::report::csv::write_atomic;
use crate::report::manifest::Manifest;
use crate::report::verdict::{PhaseStats, Summary};
use crate::support::units::{human_s, human_us, thousands};
use std::fmt::Write as _;
use std::path::Path;

/// The backends, in column order: (folder, label).
pub const BACKENDS: [(&str, &str); 2] = [("sqlite", "SQLite"), ("mysql", "MySQL server")];

/// Phases in reading order: reconciler phases (as the report page orders them), then virtual
/// time, then the harness's.
fn phase_rank(p: &PhaseStats) -> (u8, (usize, String)) {
    (
        crate::report::verdict::group_rank(&p.group),
        crate::report::html::phase_rank(&p.phase),
    )
}

/// What writing the side-by-side report can fail on.
#[derive(Debug, thiserror::Error)]
pub enum SideBySideError {
    #[error("{file}: {detail}")]
    Summary { file: String, detail: String },
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Fmt(#[from] std::fmt::Error),
}

/// The header of `backends.csv` (long: one row per backend × path × phase; µs, `convergence`
/// in virtual µs; a percentile blank where its samples do not support it).
pub const HEADER: [&str; 12] = [
    "backend", "path", "phase", "group", "count", "min_us", "p50_us", "p90_us", "p95_us", "p99_us",
    "p999_us", "max_us",
];

/// `backends.csv` bytes.
pub fn backends_csv(runs: &[(&str, &Summary)]) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    let o = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (backend, s) in runs {
        let mut phases: Vec<&PhaseStats> = s.phases.iter().collect();
        phases.sort_by_key(|p| (crate::report::verdict::path_rank(&p.path), phase_rank(p)));
        for p in phases {
            let st = &p.stats;
            w.write_record([
                backend.to_string(),
                p.path.as_str().to_string(),
                p.phase.clone(),
                p.group.clone(),
                st.count.to_string(),
                o(st.min_us),
                o(st.p50_us),
                o(st.p90_us),
                o(st.p95_us),
                o(st.p99_us),
                o(st.p999_us),
                o(st.max_us),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Writes `backends.csv` and `report.html` into `out` from each backend's `summary.json`;
/// returns a text table for stdout (80 columns).
pub fn write(out: &Path, title: &str) -> Result<String, SideBySideError> {
    let mut runs = Vec::new();
    for (dir, _) in BACKENDS {
        let file = out.join(dir).join("summary.json");
        let s = Summary::read(&file).map_err(|e| SideBySideError::Summary {
            file: file.display().to_string(),
            detail: e,
        })?;
        runs.push(s);
    }
    // A missing or unreadable manifest shows its facts as "—".
    let manifests: Vec<Option<Manifest>> = BACKENDS
        .iter()
        .map(|(dir, _)| Manifest::read(&out.join(dir).join("manifest.json")).ok())
        .collect();
    let named: Vec<(&str, &Summary)> = BACKENDS.iter().map(|b| b.0).zip(&runs).collect();
    write_atomic(&out.join("backends.csv"), &backends_csv(&named)?)?;

    // (path, phase) in reading order over both runs.
    let mut keys: Vec<&PhaseStats> = runs.iter().flat_map(|r| r.phases.iter()).collect();
    keys.sort_by_key(|p| (crate::report::verdict::path_rank(&p.path), phase_rank(p)));
    keys.dedup_by(|a, b| a.path == b.path && a.phase == b.phase);
    let find = |i: usize, k: &PhaseStats| {
        runs[i]
            .phases
            .iter()
            .find(|p| p.path == k.path && p.phase == k.phase)
            .map(|p| &p.stats)
    };
    let mut text = format!(
        "{:<8} {:<16} {:>12} {:>12} {:>8}\n",
        "path", "phase", "sqlite p50", "mysql p50", "ratio"
    );
    let mut table = String::new();
    for k in &keys {
        let (a, b) = (find(0, k), find(1, k));
        let virtual_time = k.group == "virtual";
        let show = |v: Option<u64>| match v {
            None => "—".to_string(),
            Some(v) if virtual_time => human_s(v / 1_000_000),
            Some(v) => human_us(v as f64),
        };
        let p =
            |s: Option<&crate::support::histogram::Stats>,
             f: fn(&crate::support::histogram::Stats) -> Option<u64>| { s.and_then(f) };
        let ratio = match (p(a, |s| s.p50_us), p(b, |s| s.p50_us)) {
            (Some(x), Some(y)) if x > 0 => Some(y as f64 / x as f64),
            _ => None,
        };
        let ratio_s = ratio.map_or(String::new(), |r| format!("{r:.2}×"));
        writeln!(
            text,
            "{:<8} {:<16} {:>12} {:>12} {:>8}",
            k.path.as_str(),
            k.phase,
            show(p(a, |s| s.p50_us)),
            show(p(b, |s| s.p50_us)),
            ratio_s
        )?;
        let bar = ratio.map_or(String::new(), |r| {
            // log2 scale around 1×: 0.25× … 16×, centred.
            let x = (r.log2().clamp(-2.0, 4.0) + 2.0) / 6.0 * 160.0;
            let mid = 2.0 / 6.0 * 160.0;
            let (from, w, col) = if x >= mid {
                (mid, x - mid, "#c0392b")
            } else {
                (x, mid - x, "#2471a3")
            };
            format!(
                "<svg width=\"170\" height=\"14\" role=\"img\"><title>{r:.2}×</title>\
                 <rect x=\"{from:.1}\" y=\"2\" width=\"{:.1}\" height=\"10\" fill=\"{col}\"/>\
                 <line x1=\"{mid:.1}\" x2=\"{mid:.1}\" y1=\"0\" y2=\"14\" stroke=\"#333\"/></svg>",
                w.max(1.0)
            )
        });
        writeln!(
            table,
            "<tr><td>{}</td><td>{}{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{ratio_s}</td><td>{bar}</td></tr>",
            k.path.as_str(),
            esc(&k.phase),
            match k.group.as_str() {
                "harness" => " <small>(harness)</small>",
                "virtual" => " <small>(virtual time)</small>",
                _ => "",
            },
            show(p(a, |s| s.p50_us)),
            show(p(a, |s| s.p99_us.filter(|_| s.count >= 100))),
            show(p(a, |s| s.max_us)),
            show(p(b, |s| s.p50_us)),
            show(p(b, |s| s.p99_us.filter(|_| s.count >= 100))),
            show(p(b, |s| s.max_us)),
        )?;
    }

    let fact = |i: usize, f: fn(&Manifest) -> Option<String>| -> String {
        manifests[i]
            .as_ref()
            .and_then(f)
            .unwrap_or_else(|| "—".to_string())
    };
    let mut html = String::new();
    write!(
        html,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <title>{t}</title><style>\
         body{{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}}\
         table{{border-collapse:collapse}}td,th{{padding:3px 8px;border-bottom:1px solid #ddd}}\
         th{{text-align:left;background:#f4f4f4}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}\
         .note{{color:#555;max-width:900px}}.cards{{display:flex;flex-wrap:wrap;gap:12px}}\
         .card{{border:1px solid #ccc;border-radius:6px;padding:8px 12px;max-width:460px}}\
         .ok{{color:#1a7f37}}.bad{{color:#b42318;font-weight:600}}</style></head><body>\
         <h1>{t}</h1>",
        t = esc(&format!("reconsim loadtest on two backends — {title}"))
    )?;
    html.push_str("<section id=\"verdict\"><h2>Verdict per backend</h2><div class=\"cards\">");
    for (i, (_, label)) in BACKENDS.iter().enumerate() {
        let v = &runs[i].verdict;
        let status = if v.exit_code == 0 {
            "<span class=ok>passes (exit 0)</span>".to_string()
        } else {
            format!("<span class=bad>fails (exit {})</span>", v.exit_code)
        };
        write!(
            html,
            "<div class=\"card\"><b>{label}</b>: {status}<br>{}<br>equivalence: <b>{}</b>{}</div>",
            esc(&v.answer),
            esc(v.equivalence.word()),
            v.failures
                .iter()
                .map(|f| format!("<br><span class=bad>{}</span>", esc(f)))
                .collect::<String>()
        )?;
    }
    html.push_str("</div></section>");
    write!(
        html,
        "<table><tr><th></th><th>SQLite</th><th>MySQL server</th></tr>\
         <tr><td>engine</td><td>SQLite {}</td><td>{} ({})</td></tr>\
         <tr><td>wall time</td><td class=n>{} s</td><td class=n>{} s</td></tr>\
         <tr><td>changes still open at the end</td><td class=n>{}</td><td class=n>{}</td></tr>\
         <tr><td>own report</td><td><a href=\"sqlite/report.html\">sqlite/report.html</a></td>\
         <td><a href=\"mysql/report.html\">mysql/report.html</a></td></tr></table>",
        esc(&fact(0, |m| Some(m.sqlite_version.clone()))),
        esc(&fact(1, |m| m.server_version.clone())),
        esc(&fact(1, |m| Some(m.backend.clone()))),
        esc(&fact(0, |m| Some(format!("{:.1}", m.wall_s)))),
        esc(&fact(1, |m| Some(format!("{:.1}", m.wall_s)))),
        open_text(&runs[0]),
        open_text(&runs[1]),
    )?;
    write!(
        html,
        "<h2>Latency per path × phase</h2><p class=note>Same scenario, seed and fleet on both. \
         On the server, the reconcilers' queries run there (legacy: <code>desired</code>, \
         <code>install</code>, <code>remove</code>; batched: <code>window</code> … \
         <code>current_rows</code>); the writer, devices and churn write SQLite, replicated to \
         the server before each tick (<code>replicate</code>, harness time outside the tick). \
         <code>convergence</code> in virtual time; p99 from 100 samples. Ratio = server \
         p50 / SQLite p50 (bar: log scale, 1× at the line, red = the server slower).</p>\
         <table><tr><th>path</th><th>phase</th><th>SQLite p50</th><th>p99</th>\
         <th>max</th><th>server p50</th><th>p99</th><th>max</th><th>ratio</th><th></th></tr>\
         {table}</table></body></html>"
    )?;
    write_atomic(&out.join("report.html"), html.as_bytes())?;
    Ok(text)
}

fn open_text(s: &Summary) -> String {
    s.verdict
        .paths
        .iter()
        .map(|p| {
            format!(
                "{} {:.1} % ({})",
                p.path.as_str(),
                p.convergence.open_share * 100.0,
                thousands(p.convergence.open)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
