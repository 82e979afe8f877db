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
    let tickets = fixtures::tickets(100_000);
    let name = |_: desk::model::AgentId| None;
    let mut group = c.benchmark_group("filter_100k");
    group.sample_size(20);
    for q in ["refund card", "rfnd", "status:open,new priority:urgent login"] {
        let query = Query::parse(q).expect("query");
        group.bench_with_input(BenchmarkId::from_parameter(q), &query, |b, query| {
            b.iter(|| filter::apply(black_box(query), &tickets, None, &name))
        });
    }
    group.finish();
}

criterion_group!(benches, queue_render, fuzzy_filter);
criterion_main!(benches);
