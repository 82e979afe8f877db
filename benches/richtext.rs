//! Block Kit JSON bytes -> TipTap -> Markdown throughput, in bytes of input JSON per second
//! (DESIGN §10: at least 150 MB/s on one core). JSON parsing is included.
//!
//! The corpus is tests/fixtures/blockkit (Slack's documented examples and the edge cases),
//! re-serialised compactly as Slack sends it, so indentation does not inflate the figure.
//!
//! Two measurements of the same work: wall time (criterion's default) and the benchmark
//! thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`). On a shared, loaded machine wall time
//! mostly measures how often the scheduler ran us; CPU time is the one-core figure the budget
//! speaks of.
//!
//! Every measured pass is the whole path a Slack payload takes: the JSON *bytes* (UTF-8
//! validation included) -> typed parse -> TipTap [`Doc`] -> Markdown `String`, once for the
//! whole corpus (the budgeted figure) and once per payload (to see which shapes are slow).
//!
//! Run: `cargo bench --bench richtext` (filter as usual: `-- richtext_cpu/corpus`).
//!
//! Instruction counts (load-independent): set `DESK_RICHTEXT_PASSES=N` and the binary skips
//! criterion and converts the corpus N times inside `passes()`, for example
//! `DESK_RICHTEXT_PASSES=200 valgrind --tool=callgrind --toggle-collect='*passes*' <bench binary>`
//! then divide the `Ir` total by the bytes it prints.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group};
use desk::richtext::{self, MentionKind};
use std::hint::black_box;
use std::time::Duration;

/// (file stem, compact JSON bytes), sorted by name.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/blockkit");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/blockkit")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable fixture");
            let value: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
            let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
            (name, value.to_string().into_bytes())
        })
        .collect()
}

/// The measured path for one payload: bytes -> Doc -> Markdown. Returns the Markdown length
/// so the work cannot be optimised away.
#[inline(always)]
fn convert(json: &[u8]) -> usize {
    let doc = richtext::from_blockkit_bytes(black_box(json), &resolver).expect("corpus converts");
    black_box(richtext::to_markdown(&doc)).len()
}

/// `n` passes over the corpus, outside criterion, for callgrind (see the module comment).
#[inline(never)]
fn passes(corpus: &[(String, Vec<u8>)], n: usize) -> usize {
    let mut out = 0;
    for _ in 0..n {
        for (_, json) in corpus {
            out += convert(json);
        }
    }
    out
}

/// A resolver like the server's: a small table lookup.
fn resolver(kind: MentionKind, id: &str) -> Option<String> {
    match (kind, id) {
        (MentionKind::User, "U0123ABC456") => Some("dwight".into()),
        (MentionKind::Channel, "C0123ABC456") => Some("sales".into()),
        _ => None,
    }
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Criterion measurement: CPU time of the benchmark thread.
struct CpuTime;

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e3, "µs cpu")
        } else if typical < 1e9 {
            (1e6, "ms cpu")
        } else {
            (1e9, "s cpu")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(&self, _typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        match throughput {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => {
                // bytes per CPU second, in MB/s (10^6, as the budget states it)
                values.iter_mut().for_each(|v| *v = *b as f64 / (*v / 1e9) / 1e6);
                "MB/s (cpu)"
            }
            Throughput::Elements(e) | Throughput::ElementsAndBytes { elements: e, .. } => {
                values.iter_mut().for_each(|v| *v = *e as f64 / (*v / 1e9));
                "elem/s (cpu)"
            }
            Throughput::Bits(b) => {
                values.iter_mut().for_each(|v| *v = *b as f64 / (*v / 1e9));
                "bit/s (cpu)"
            }
        }
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

fn bench_cpu(c: &mut Criterion<CpuTime>) {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(|(_, j)| j.len()).sum();
    let mut group = c.benchmark_group("richtext_cpu");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("corpus/blockkit_bytes_to_tiptap_to_markdown", |b| b.iter(|| passes(&corpus, 1)));
    // The parts, for finding where the time goes, and a reference point for the machine.
    group.bench_function("corpus/blockkit_bytes_to_tiptap", |b| {
        b.iter(|| {
            for (_, json) in &corpus {
                black_box(
                    richtext::from_blockkit_bytes(black_box(json), &resolver).expect("corpus converts"),
                );
            }
        })
    });
    let docs: Vec<_> =
        corpus.iter().map(|(_, j)| richtext::from_blockkit_bytes(j, &resolver).expect("converts")).collect();
    group.bench_function("corpus/tiptap_to_markdown", |b| {
        b.iter(|| {
            for doc in &docs {
                black_box(richtext::to_markdown(black_box(doc)));
            }
        })
    });
    group.bench_function("corpus/reference_serde_json_value_parse", |b| {
        b.iter(|| {
            for (_, json) in &corpus {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(json)).expect("JSON"));
            }
        })
    });
    group.finish();

    // Per payload: short runs (49 of them), each with its own byte count.
    let mut group = c.benchmark_group("richtext_cpu_payload");
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for (name, json) in &corpus {
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(name.as_str(), |b| b.iter(|| convert(json)));
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(|(_, j)| j.len()).sum();
    let mut group = c.benchmark_group("richtext");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("corpus/blockkit_bytes_to_tiptap_to_markdown", |b| b.iter(|| passes(&corpus, 1)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench_cpu
}

fn main() {
    if let Ok(n) = std::env::var("DESK_RICHTEXT_PASSES") {
        let n: usize = n.parse().expect("DESK_RICHTEXT_PASSES is a number of passes");
        let corpus = corpus();
        let bytes: usize = corpus.iter().map(|(_, j)| j.len()).sum();
        let out = passes(&corpus, n);
        println!("{n} passes x {bytes} bytes = {} bytes of input JSON ({out} bytes of Markdown)", n * bytes);
        return;
    }
    benches();
    cpu();
    Criterion::default().configure_from_args().final_summary();
}
