//! Console benches (DESIGN §10): drawing the queue costs the same for 100,000 tickets as for
//! 100 (only visible rows are laid out), the fuzzy `/` filter over 100,000 tickets stays under
//! 50 ms, and a full frame of the main screen. Run: `cargo bench --bench tui`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use desk::tui::filter::{self, Query};
use desk::tui::fixtures;
use desk::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::hint::black_box;

fn queue_render(c: &mut Criterion) {
    let theme = Theme::dark();
    let mut group = c.benchmark_group("queue_render_160x45");
    for n in [100usize, 100_000] {
        let mut app = fixtures::app(n);
        app.size = (160, 45);
        let area = Rect::new(0, 0, 158, 41);
        group.bench_with_input(BenchmarkId::from_parameter(n), &app, |b, app| {
            let mut buf = Buffer::empty(area);
            b.iter(|| {
                desk::tui::view::render_queue_rows(area, &mut buf, black_box(app), &theme);
            })
        });
    }
    group.finish();

    // The whole frame (tabs, queue, status bar), as the runtime draws it.
    let mut group = c.benchmark_group("frame_160x45");
    for n in [100usize, 100_000] {
        let mut app = fixtures::app(n);
        app.size = (160, 45);
        let mut term =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 45)).expect("test backend");
        group.bench_with_input(BenchmarkId::from_parameter(n), &app, |b, app| {
            b.iter(|| {
                term.draw(|f| desk::tui::view::draw(f, black_box(app), &theme)).expect("draw");
            })
        });
    }
    group.finish();
}

fn fuzzy_filter(c: &mut Criterion) {
    use criterion::BatchSize;
    let tickets = fixtures::tickets(100_000);
    let name = |_: desk::model::AgentId| None;
    // Preparing the per-ticket entries happens when tickets arrive, not per keystroke; it is
    // measured on its own here.
    let mut group = c.benchmark_group("filter_index_100k");
    group.sample_size(10);
    group.bench_function("sync_from_empty", |b| {
        b.iter_batched_ref(filter::Index::new, |index| index.sync(black_box(&tickets)), BatchSize::LargeInput)
    });
    let mut ready = filter::Index::new();
    ready.sync(&tickets);
    group.bench_function("sync_unchanged", |b| b.iter(|| ready.sync(black_box(&tickets))));
    group.finish();

    // A full pass: the query is new (no earlier answer to narrow).
    let mut group = c.benchmark_group("filter_100k");
    group.sample_size(20);
    for q in ["refund card", "rfnd", "status:open,new priority:urgent login"] {
        let query = Query::parse(q).expect("query");
        group.bench_with_input(BenchmarkId::from_parameter(q), &query, |b, query| {
            b.iter_batched_ref(
                || ready.clone(),
                |index| index.apply(black_box(query), &tickets, None, &name),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    // One keystroke while typing: the previous answer is narrowed.
    let mut group = c.benchmark_group("filter_keystroke_100k");
    group.sample_size(20);
    for (before, after) in [
        ("refund car", "refund card"),
        ("r", "rf"),
        ("status:open,new priority:urgent logi", "status:open,new priority:urgent login"),
    ] {
        let (before, after) = (Query::parse(before).expect("query"), Query::parse(after).expect("query"));
        let mut typed = ready.clone();
        typed.apply(&before, &tickets, None, &name);
        group.bench_with_input(BenchmarkId::from_parameter(&after.text), &after, |b, query| {
            b.iter_batched_ref(
                || typed.clone(),
                |index| index.apply(black_box(query), &tickets, None, &name),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Start-up to the first painted queue on the embedded workspace with 10,000 tickets: start
/// the server over an existing SQLite file, connect, load me and the views, load the first
/// page of the first non-empty view, draw. (Seeding happens once, before measuring.)
fn startup(c: &mut Criterion) {
    use desk::client::{ApiClient, ClientOptions, Drafts, Outbox};
    use desk::server::{ServeOptions, spawn};
    use desk::tui::app::{App, Msg, update};
    use std::collections::VecDeque;
    use std::time::{Duration, Instant};

    const TOKEN: &str = "bench-token-0123456789abcdef";
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let options = |demo| {
        let mut o = ServeOptions::new(db.clone());
        o.bind = "127.0.0.1:0".parse().expect("addr");
        o.demo = demo;
        o.bootstrap_token = Some(TOKEN.into());
        o.rate_limit_per_sec = 0;
        o
    };
    // Seeded on first use, so running only the other benches (`cargo bench --bench tui --
    // filter`, or one under callgrind with `--test`) does not pay for 10,000 inserts.
    let seeded = std::cell::Cell::new(false);
    let theme = Theme::dark();
    let data = dir.path().join("data");
    let mut group = c.benchmark_group("startup_first_paint");
    group.sample_size(10);
    group.bench_function("10k_tickets", |b| {
        if !seeded.replace(true) {
            rt.block_on(async {
                let seeded = spawn(options(Some(10_000))).await.expect("seed 10,000 tickets");
                seeded.shutdown().await;
            });
        }
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(async {
                    let started = Instant::now();
                    let server = spawn(options(None)).await.expect("server");
                    let client = ApiClient::new(&server.url(), Some(TOKEN.into()), ClientOptions::default())
                        .expect("client");
                    let (outbox, drafts) = (Outbox::open(&data), Drafts::open(&data));
                    let mut app = App::new(client.server_now(), jiff::tz::TimeZone::UTC, Default::default());
                    update(&mut app, Msg::Resize(160, 45));
                    let mut queue: VecDeque<_> = app.start().into();
                    // Until the first page of tickets is in: that is the first painted queue.
                    while let Some(fx) = queue.pop_front() {
                        if let Some(msg) = desk::tui::runtime::perform(&client, &outbox, &drafts, fx).await {
                            let first_page = matches!(msg, Msg::Tickets { first: true, .. });
                            let more = update(&mut app, msg);
                            if first_page {
                                break;
                            }
                            queue.extend(more.into_iter().filter(|f| {
                                !matches!(f, desk::tui::app::Effect::LoadTickets { after: Some(_), .. })
                            }));
                        }
                    }
                    let mut term =
                        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 45)).expect("term");
                    term.draw(|f| desk::tui::view::draw(f, &app, &theme)).expect("draw");
                    assert!(
                        !app.visible.is_empty(),
                        "the first view shows tickets; views {:?}; toasts {:?}",
                        app.views.iter().map(|v| (&v.name, v.count)).collect::<Vec<_>>(),
                        app.toasts
                    );
                    total += started.elapsed();
                    server.shutdown().await;
                });
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, queue_render, fuzzy_filter, startup);
criterion_main!(benches);
