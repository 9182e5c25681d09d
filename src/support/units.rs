//! Numbers for people: thousands separators, durations in µs / ms / s / min, virtual seconds
//! in s / min / h, and text wrapped at 80 columns.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// A duration in µs in human units: `850 µs`, `31.7 ms`, `2.34 s`, `3.5 min`.
pub fn human_us(us: f64) -> String {
    if us < 1e3 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.1} ms", us / 1e3)
    } else if us < 120e6 {
        format!("{:.2} s", us / 1e6)
    } else {
        format!("{:.1} min", us / 60e6)
    }
}

/// Virtual seconds in human units: `30 s`, `4.5 min`, `2.0 h`.
pub fn human_s(s: u64) -> String {
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{:.1} min", s as f64 / 60.0)
    } else {
        format!("{:.1} h", s as f64 / 3600.0)
    }
}

/// Terminal width of the text summaries.
pub const COLUMNS: usize = 80;

/// `text` wrapped at `COLUMNS`: the first line after `first`, the rest after `rest`; ends in a
/// newline.
pub fn wrap(text: &str, first: &str, rest: &str) -> String {
    let opts = textwrap::Options::new(COLUMNS)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(true);
    let mut o = textwrap::fill(text, opts);
    o.push('\n');
    o
}
