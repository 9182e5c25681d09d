//! The side-by-side page of a two-backend loadtest (issue 6): the run folder holds one complete
//! run per backend (`sqlite/`, `mysql/`); this reads their `summary.csv` and `manifest.json`
//! and writes `backends.csv` and `report.html` (self-contained: inline CSS and SVG, no script)
//! with every path × phase of both, and the ratio of the server's latency to SQLite's.

use crate::html::esc;
use crate::report::write_atomic;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The backends, in column order: (folder, label).
pub const BACKENDS: [(&str, &str); 2] = [("sqlite", "SQLite"), ("mysql", "MySQL server")];

/// (path, phase) → the summary row's values by column name.
type Rows = BTreeMap<(String, String), BTreeMap<String, String>>;

fn read_summary(file: &Path) -> anyhow::Result<Rows> {
    let mut r = csv::Reader::from_path(file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let head: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let mut out = Rows::new();
    for rec in r.records() {
        let rec = rec?;
        let m: BTreeMap<String, String> = head
            .iter()
            .cloned()
            .zip(rec.iter().map(str::to_string))
            .collect();
        let key = (
            m.get("path").cloned().unwrap_or_default(),
            m.get("phase").cloned().unwrap_or_default(),
        );
        out.insert(key, m);
    }
    Ok(out)
}

fn num(m: Option<&BTreeMap<String, String>>, col: &str) -> Option<f64> {
    m?.get(col)?.parse().ok()
}

/// Phases in reading order: the tick, its phases, then the harness's.
fn phase_rank(p: &str) -> usize {
    const ORDER: [&str; 16] = [
        "tick",
        "desired",
        "install",
        "remove",
        "cursor_read",
        "window",
        "catalog",
        "memberships",
        "current_rows",
        "compute",
        "cursor_write",
        "write",
        "replicate",
        "devices",
        "churn",
        "convergence",
    ];
    ORDER.iter().position(|x| *x == p).unwrap_or(ORDER.len())
}

/// Writes `backends.csv` and `report.html` into `out`; returns a text table for stdout.
pub fn write(out: &Path, title: &str) -> anyhow::Result<String> {
    let runs: Vec<Rows> = BACKENDS
        .iter()
        .map(|(dir, _)| read_summary(&out.join(dir).join("summary.csv")))
        .collect::<anyhow::Result<_>>()?;
    let manifests: Vec<serde_json::Value> = BACKENDS
        .iter()
        .map(|(dir, _)| {
            std::fs::read_to_string(out.join(dir).join("manifest.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default()
        })
        .collect();
    let mut keys: Vec<(String, String)> = runs.iter().flat_map(|r| r.keys().cloned()).collect();
    keys.sort_by_key(|(path, phase)| (path.clone(), phase_rank(phase), phase.clone()));
    keys.dedup();

    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "path",
        "phase",
        "clock",
        "sqlite_count",
        "sqlite_p50_us",
        "sqlite_p99_us",
        "sqlite_max_us",
        "mysql_count",
        "mysql_p50_us",
        "mysql_p99_us",
        "mysql_max_us",
        "p50_ratio",
    ])?;
    let mut text = format!(
        "{:<8} {:<18} {:>12} {:>12} {:>8}\n",
        "path", "phase", "sqlite p50", "mysql p50", "ratio"
    );
    let mut table = String::new();
    for (path, phase) in &keys {
        let (a, b) = (
            runs[0].get(&(path.clone(), phase.clone())),
            runs[1].get(&(path.clone(), phase.clone())),
        );
        let get = |m: Option<&BTreeMap<String, String>>, c: &str| {
            m.and_then(|m| m.get(c)).cloned().unwrap_or_default()
        };
        let ratio = match (num(a, "p50_us"), num(b, "p50_us")) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x),
            _ => None,
        };
        let ratio_s = ratio.map_or(String::new(), |r| format!("{r:.2}"));
        let clock = get(a.or(b), "clock");
        csv.write_record([
            path.as_str(),
            phase.as_str(),
            &clock,
            &get(a, "count"),
            &get(a, "p50_us"),
            &get(a, "p99_us"),
            &get(a, "max_us"),
            &get(b, "count"),
            &get(b, "p50_us"),
            &get(b, "p99_us"),
            &get(b, "max_us"),
            &ratio_s,
        ])?;
        let ms = |m, c| num(m, c).map_or("—".to_string(), |v| format!("{:.1}", v / 1e3));
        let unit = if clock == "virtual" { "s" } else { "ms" };
        let show = |m, c| {
            if clock == "virtual" {
                num(m, c).map_or("—".to_string(), |v| format!("{:.0}", v / 1e6))
            } else {
                ms(m, c)
            }
        };
        writeln!(
            text,
            "{path:<8} {phase:<18} {:>12} {:>12} {:>8}",
            format!("{} {unit}", show(a, "p50_us")),
            format!("{} {unit}", show(b, "p50_us")),
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
            "<tr><td>{}</td><td>{}</td><td>{unit}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{ratio_s}</td><td>{bar}</td></tr>",
            esc(path),
            esc(phase),
            show(a, "p50_us"),
            show(a, "p99_us"),
            show(a, "max_us"),
            show(b, "p50_us"),
            show(b, "p99_us"),
            show(b, "max_us"),
        )?;
    }
    let bytes = csv.into_inner().map_err(|e| e.into_error())?;
    write_atomic(&out.join("backends.csv"), &bytes)?;

    let fact = |i: usize, k: &str| -> String {
        match &manifests[i][k] {
            serde_json::Value::Null => "—".to_string(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) if n.is_f64() => {
                format!("{:.1}", n.as_f64().unwrap_or_default())
            }
            v => v.to_string(),
        }
    };
    let mut html = String::new();
    write!(
        html,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <title>{t}</title><style>\
         body{{font:14px system-ui,sans-serif;margin:24px;color:#222}}\
         table{{border-collapse:collapse}}td,th{{padding:3px 8px;border-bottom:1px solid #ddd}}\
         th{{text-align:left;background:#f4f4f4}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}\
         .note{{color:#555;max-width:900px}}</style></head><body>\
         <h1>{t}</h1>",
        t = esc(&format!("reconsim loadtest on two backends — {title}"))
    )?;
    write!(
        html,
        "<table><tr><th></th><th>SQLite</th><th>MySQL server</th></tr>\
         <tr><td>engine</td><td>SQLite {}</td><td>{} ({})</td></tr>\
         <tr><td>equivalence</td><td>{}</td><td>{}</td></tr>\
         <tr><td>wall time (s)</td><td class=n>{}</td><td class=n>{}</td></tr>\
         <tr><td>own report</td><td><a href=\"sqlite/report.html\">sqlite/report.html</a></td>\
         <td><a href=\"mysql/report.html\">mysql/report.html</a></td></tr></table>",
        esc(&fact(0, "sqlite_version")),
        esc(&fact(1, "server_version")),
        esc(&fact(1, "backend")),
        esc(&fact(0, "equivalence_verdict")),
        esc(&fact(1, "equivalence_verdict")),
        esc(&fact(0, "wall_s")),
        esc(&fact(1, "wall_s")),
    )?;
    write!(
        html,
        "<h2>Latency per path × phase</h2><p class=note>Same scenario, seed and fleet on both. \
         On the server, the reconcilers' queries run there (legacy: <code>desired</code>, \
         <code>install</code>, <code>remove</code>; batched: <code>window</code> … \
         <code>current_rows</code>); the writer, devices and churn write SQLite, replicated to \
         the server before each tick (<code>replicate</code>, harness time outside the tick). \
         Wall-clock phases in ms; <code>convergence</code> in virtual seconds. Ratio = server \
         p50 / SQLite p50 (bar: log scale, 1× at the line, red = the server slower).</p>\
         <table><tr><th>path</th><th>phase</th><th>unit</th><th>SQLite p50</th><th>p99</th>\
         <th>max</th><th>server p50</th><th>p99</th><th>max</th><th>ratio</th><th></th></tr>\
         {table}</table></body></html>"
    )?;
    write_atomic(&out.join("report.html"), html.as_bytes())?;
    Ok(text)
}
