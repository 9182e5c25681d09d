//! Generator throughput on the quick scenario, in memory (no file I/O), so that changes to
//! the generator's own code show up without disk noise. The 100k figure of the README comes
//! from `scripts/bench-generate.sh`, which times the real command.

use criterion::{Criterion, criterion_group, criterion_main};
use reconsim::fleet::generator::generate_into;
use reconsim::fleet::scenario::Scenario;

fn quick_in_memory(c: &mut Criterion) {
    let text = include_str!("../scenarios/quick.toml");
    let scenario = Scenario::parse(text, "quick.toml").expect("quick.toml parses");
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.bench_function("quick_in_memory", |b| {
        b.iter(|| {
            let mut conn = rusqlite::Connection::open_in_memory().expect("memory db");
            generate_into(&mut conn, &scenario, &reconsim::support::progress::Silent)
                .expect("generate")
        })
    });
    group.finish();
}

// SQLite as the binary runs it: memory statistics off, set before the first connection.
criterion_group! {
    name = benches;
    config = {
        reconsim::support::sqlite::skip_memory_statistics();
        Criterion::default()
    };
    targets = quick_in_memory
}
criterion_main!(benches);
