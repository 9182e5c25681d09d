//! Handler cost (ns per host × profile evaluation), one batched window, its current rows, the
//! per-host diff of a window (the `compute` phase), and the legacy diff in both forms, on the
//! quick fleet prepared once outside the timing.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reconsim::domain::handlers::desired;
use reconsim::domain::model::Host;
use reconsim::domain::rules::Rules;
use reconsim::fleet::generator::generate_into;
use reconsim::fleet::scenario::Scenario;
use reconsim::paths::batched::{
    BatchedConfig, Catalog, load_current, load_memberships, load_profiles, load_window, tick,
    window_deltas,
};
use reconsim::paths::cursor::MemoryCursor;
use reconsim::paths::legacy::{self, LegacySql};
use std::collections::HashSet;

fn quick() -> rusqlite::Connection {
    let text = include_str!("../scenarios/quick.toml");
    let scenario = Scenario::parse(text, "quick.toml").expect("quick.toml parses");
    let mut conn = rusqlite::Connection::open_in_memory().expect("memory db");
    generate_into(&mut conn, &scenario, &reconsim::support::progress::Silent).expect("generate");
    conn
}

fn handlers(c: &mut Criterion) {
    let conn = quick();
    let rules = Rules::default();
    let catalog = Catalog::new(load_profiles(&conn).expect("catalog"), &rules);
    // Team-0 profiles against a team-0 host member of every label: every gate runs fully.
    let entries: Vec<_> = catalog
        .entries
        .iter()
        .filter(|e| e.profile.team_id == 0)
        .collect();
    let host = Host {
        id: 1,
        uuid: "H".into(),
        team_id: None,
        platform: "darwin".into(),
        label_updated_at: "2026-06-01 12:00:00".into(),
    };
    let members: HashSet<(i64, i64)> = catalog.label_ids.iter().map(|&l| (1, l)).collect();
    let member = |l: i64| members.contains(&(1, l));
    let mut group = c.benchmark_group("handlers");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("desired_per_profile", |b| {
        b.iter(|| {
            entries
                .iter()
                .filter(|e| desired(e, &host, &member, &rules).pass)
                .count()
        })
    });
    group.finish();
}

fn window(c: &mut Criterion) {
    let conn = quick();
    let cfg = BatchedConfig {
        batch_size: 500,
        rules: Rules::default(),
        variant: Default::default(),
    };
    let mut group = c.benchmark_group("batched");
    group.throughput(Throughput::Elements(500));
    group.sample_size(20);
    group.bench_function("one_window_of_500", |b| {
        b.iter(|| {
            let mut cursor = MemoryCursor::default();
            tick(&conn, &mut cursor, &cfg)
        })
    });
    group.finish();
}

/// The largest batched cost (spec §9): one window's current rows read and decoded, grouped per
/// host; throughput in rows.
fn current_rows(c: &mut Criterion) {
    let conn = quick();
    let rules = Rules::default();
    let catalog = Catalog::new(load_profiles(&conn).expect("catalog"), &rules);
    let hosts = load_window(&conn, "", 500, &rules).expect("window");
    let mut uuids: Vec<&str> = hosts.iter().map(|h| h.uuid.as_str()).collect();
    uuids.dedup();
    let rows = load_current(&conn, &uuids, &catalog)
        .expect("current")
        .len();
    let mut group = c.benchmark_group("batched");
    group.throughput(Throughput::Elements(rows as u64));
    group.sample_size(20);
    group.bench_function("current_rows_of_500_hosts", |b| {
        b.iter(|| load_current(&conn, &uuids, &catalog).expect("current rows"))
    });
    group.finish();
}

/// The per-host diff of one window (the `compute` phase): every host of a 500-host window
/// against its team's catalog and its current rows, inputs loaded outside the timing;
/// throughput in hosts.
fn per_host_diff(c: &mut Criterion) {
    let conn = quick();
    let rules = Rules::default();
    let catalog = Catalog::new(load_profiles(&conn).expect("catalog"), &rules);
    let hosts = load_window(&conn, "", 500, &rules).expect("window");
    let ids: Vec<i64> = hosts.iter().map(|h| h.id).collect();
    let members = load_memberships(&conn, &ids, &catalog.label_ids).expect("memberships");
    let mut uuids: Vec<&str> = hosts.iter().map(|h| h.uuid.as_str()).collect();
    uuids.dedup();
    let current = load_current(&conn, &uuids, &catalog).expect("current rows");
    let mut group = c.benchmark_group("batched");
    group.throughput(Throughput::Elements(hosts.len() as u64));
    group.sample_size(20);
    group.bench_function("per_host_diff_of_500_hosts", |b| {
        b.iter(|| {
            let mut deltas = Vec::new();
            window_deltas(&hosts, &catalog, &members, &current, &rules, &mut deltas);
            deltas
        })
    });
    group.finish();
}

fn legacy_diff(c: &mut Criterion) {
    // Setup (generation, ANALYZE) outside the timing; each iteration is one full legacy diff.
    let conn = quick();
    let mut group = c.benchmark_group("legacy");
    group.sample_size(10);
    for form in [LegacySql::Tuned, LegacySql::AsWritten] {
        group.bench_function(format!("diff_{form}"), |b| {
            b.iter(|| legacy::run(&conn, form).expect("legacy diff"))
        });
    }
    group.finish();
}

// SQLite as the binary runs it: memory statistics off, set before the first connection.
criterion_group! {
    name = benches;
    config = {
        reconsim::support::sqlite::skip_memory_statistics();
        Criterion::default()
    };
    targets = handlers, window, current_rows, per_host_diff, legacy_diff
}
criterion_main!(benches);
