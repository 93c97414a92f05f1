//! Host wall time per request through each plugin (accepted request), with criterion.

use criterion::{criterion_group, criterion_main, Criterion};
use higress_bench::scenarios;

fn requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("request");
    for scenario in scenarios() {
        let plugin = scenario.load();
        let vm = scenario.vm(&plugin);
        group.bench_function(scenario.plugin, |b| b.iter(|| scenario.accept(&vm)));
    }
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
