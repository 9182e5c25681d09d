//! Renders a page in headless Chromium and checks its layout from the DOM: every SVG `<text>`
//! inside its SVG's box, no table wider than the page, and the verdict section present.
//!
//! The pages are script-free; the check injects one script into a copy of the page, which
//! writes what it found into a `<pre id="layout-check">` that `--dump-dom` prints. Gated on a
//! `chromium` binary: without one the check is skipped (one line on stderr), unless
//! `RECONSIM_REQUIRE_BROWSER` is set (CI installs Chromium and sets it).

use std::path::Path;
use std::process::Command;

const CHECK: &str = r#"<script>
(() => {
  const problems = [];
  let texts = 0;
  const svgs = document.querySelectorAll('svg');
  for (const svg of svgs) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      texts += 1;
      const r = t.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        problems.push('text outside its svg: "' + t.textContent + '" [' +
          [r.left, r.right, r.top, r.bottom].map(Math.round) + '] in [' +
          [box.left, box.right, box.top, box.bottom].map(Math.round) + ']');
      }
    }
  }
  const width = document.documentElement.clientWidth;
  for (const table of document.querySelectorAll('table')) {
    const r = table.getBoundingClientRect();
    if (r.right > width + 1) problems.push('table overflows the page: ' + Math.round(r.right) + ' > ' + width);
  }
  if (document.documentElement.scrollWidth > width + 1) problems.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
  if (!document.querySelector('#verdict')) problems.push('no verdict section');
  const pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify({svgs: svgs.length, texts, problems});
  document.body.appendChild(pre);
})();
</script>"#;

/// What the check found.
#[derive(Debug, serde::Deserialize)]
pub struct Layout {
    pub svgs: usize,
    pub texts: usize,
    pub problems: Vec<String>,
}

/// The Chromium binary, if any.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Renders `page` at `width` CSS pixels and returns what the check found; None when there is
/// no browser and none is required.
pub fn check(page: &Path, width: u32) -> Option<Layout> {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var_os("RECONSIM_REQUIRE_BROWSER").is_none(),
            "RECONSIM_REQUIRE_BROWSER is set but no chromium binary is installed"
        );
        eprintln!("skipping the browser check: no chromium binary");
        return None;
    };
    let html = std::fs::read_to_string(page).expect("page");
    assert!(
        !html.contains("<script"),
        "the page itself must be script-free"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("page.html");
    let body_end = html.rfind("</body>").unwrap_or(html.len());
    std::fs::write(
        &copy,
        format!("{}{CHECK}{}", &html[..body_end], &html[body_end..]),
    )
    .expect("write copy");
    let profile = dir.path().join("profile");
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--window-size={width},2000"),
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
        ])
        .arg(format!("file://{}", copy.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find(r#"<pre id="layout-check">"#).unwrap_or_else(|| {
        panic!(
            "no check result in the DOM; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let json = &dom[start + r#"<pre id="layout-check">"#.len()..];
    let json = &json[..json.find("</pre>").expect("end of the result")];
    let json = json
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    Some(serde_json::from_str(&json).expect("check result JSON"))
}

/// Asserts the page renders clean: at least `min_svgs` charts, no text outside its chart, no
/// table wider than `width`, a verdict section. Skips (one stderr line) without a browser,
/// unless one is required.
pub fn assert_clean(page: &Path, width: u32, min_svgs: usize) {
    let Some(layout) = check(page, width) else {
        return;
    };
    assert!(
        layout.problems.is_empty(),
        "{}: {:#?}",
        page.display(),
        layout.problems
    );
    assert!(
        layout.svgs >= min_svgs && (min_svgs == 0 || layout.texts > 0),
        "{}: {layout:?}",
        page.display()
    );
}
