//! Report: results for people and CI — CSV outputs (`csv`), the verdict and `summary.json`
//! (`verdict`), `manifest.json` (`manifest`), the report page (`html`), its SVG charts
//! (`charts`) and the sweep chart (`sweep_chart`), run comparison (`regression`), the
//! two-backend page (`sidebyside`) and run identity (`identity`).
//!
//! May import: every layer below (`support` … `harness`). The CLI (`cli`, `cmd`) sits above
//! all of them and is the only place the argument parser and the progress bars appear.

pub mod charts;
pub mod csv;
pub mod html;
pub mod identity;
pub mod manifest;
pub mod regression;
pub mod sidebyside;
pub mod sweep_chart;
pub mod verdict;
