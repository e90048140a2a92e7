//! Soak: many request lifecycles on one instance of a real SDK plugin, with
//! hostile plugins (a loop stopped at its deadline, unbounded recursion,
//! `memory.grow` until refused, an invalid return value) loaded, failed and
//! dropped on the same engine between them. The host's heap must stay flat:
//! nothing is kept per request or per dropped instance.
//!
//! Every allocation of this test process goes through a counting allocator,
//! so "flat" is exact: live heap bytes after a warm-up against live heap
//! bytes at the end. The default run is sized for CI; the full one is
//!
//!     SOAK_LIFECYCLES=1000000 cargo test --release -p proxy-wasm-abi-tests --test soak -- --nocapture

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proxy_wasm_abi::host::{EpochTicker, Limits};
use proxy_wasm_abi_tests::{HOSTILE_WAT, build_workspace_plugin};
use proxy_wasm_abi_tools::runner::reference::owned;
use proxy_wasm_abi_tools::runner::{Input, OnFailure, ReferenceHost, Session};

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `System.alloc`, with the caller's layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `System.alloc_zeroed`, with the caller's layout.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size() as isize);
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            grew(new_size as isize - layout.size() as isize);
        }
        new
    }
}

fn grew(by: isize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live.max(0) as usize, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// What the header plugin rewrites on both sides.
fn request() -> Input {
    Input {
        request_headers: owned(&[
            (":method", "GET"),
            (":path", "/items"),
            (":authority", "example.com"),
            ("x-debug-token", "s3cr3t"),
        ]),
        response_headers: owned(&[(":status", "200"), ("x-powered-by", "php")]),
        ..Input::default()
    }
}

/// A request with `n` headers, for the hostile plugin.
fn hostile_request(n: usize) -> Input {
    Input {
        request_headers: (0..n)
            .map(|i| (format!("x-{i}").into_bytes(), b"1".to_vec()))
            .collect(),
        ..Input::default()
    }
}

/// Loads [`HOSTILE_WAT`] on `engine`, makes it misbehave in way `n` (its
/// header count: 1 loop, 2 recursion, 4 growth, 5 return 7) and drops it.
fn hostile_visit(engine: &wasmtime::Engine, n: usize) {
    let limits = Limits {
        deadline: Some(Duration::from_millis(20)),
        memory_bytes: 8 << 20,
        ..Limits::default()
    };
    let mut session = Session::on_engine(
        engine,
        HOSTILE_WAT.as_bytes(),
        ReferenceHost::default(),
        limits,
    )
    .expect("the hostile plugin loads");
    session.on_failure = OnFailure::FailClosed;
    session.start().expect("the hostile plugin starts");
    let report = session
        .exchange(2, &hostile_request(n))
        .expect("fail-closed answers the request");
    let cause = match n {
        1 => "deadline",
        2 => "overflowed the wasm stack",
        5 => "returned 7",
        // Refused growth is no failure: the plugin sees -1 and goes on.
        _ => {
            assert_eq!(report.failure, None, "way {n}");
            return;
        }
    };
    let failure = report
        .failure
        .unwrap_or_else(|| panic!("way {n}: no failure"));
    assert!(failure.contains(cause), "way {n}: {failure}");
}

#[test]
fn the_heap_stays_flat_over_many_lifecycles_among_hostile_plugins() {
    let lifecycles: u64 = std::env::var("SOAK_LIFECYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    // A hostile visit every `every` lifecycles: at least 8 (two of each way).
    let every = (lifecycles / 8).clamp(1, 1_000);
    let wasm = std::fs::read(build_workspace_plugin("sdk-fixtures", "sdk-headers"))
        .expect("the header fixture is built");

    let engine = wasmtime::Engine::new(&Limits::config()).expect("an engine");
    let _ticker = EpochTicker::start(&engine).expect("the ticker starts");
    let mut session =
        Session::on_engine(&engine, &wasm, ReferenceHost::default(), Limits::default())
            .expect("the header plugin loads");
    session.start().expect("the header plugin starts");
    // The test host traces host calls for its reports; a host that runs for
    // long has no use for that trace beyond the report.
    session.store.data_mut().plugin.trace_host_calls(false);

    let input = request();
    let run = |session: &mut Session, i: u64| {
        // Context ids as a proxy issues them: new for every stream.
        let ctx = u32::try_from(i % u64::from(u32::MAX - 2)).expect("fits") + 2;
        let report = session.exchange(ctx, &input).expect("the lifecycle runs");
        assert!(report.failure.is_none());
        // A long-running host reads its records, then lets them go.
        if i.is_multiple_of(64) {
            session.forget_records();
        }
    };

    let warm_up = (lifecycles / 10).max(100);
    let started = Instant::now();
    for i in 0..warm_up {
        run(&mut session, i);
    }
    let hostile_ways = [1, 2, 4, 5];
    hostile_visit(&engine, 1);
    session.forget_records();
    let baseline = live();

    let mut visits = 0;
    for i in warm_up..lifecycles {
        run(&mut session, i);
        if (i - warm_up).is_multiple_of(every) {
            hostile_visit(&engine, hostile_ways[visits % 4]);
            visits += 1;
        }
    }
    session.forget_records();
    let end = live();
    let elapsed = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed);
    println!(
        "{lifecycles} lifecycles, {visits} hostile visits in {elapsed:.1?}: \
         live heap {baseline} bytes after warm-up, {end} at the end ({:+}), peak {peak}",
        end - baseline
    );
    assert!(visits >= 8, "{visits} hostile visits");
    // Flat: whatever the number of lifecycles, growth stays under what a
    // few hash-table resizes and allocator rounding take, far below one
    // byte per lifecycle of a full run.
    assert!(
        end - baseline < 64 << 10,
        "the live heap grew by {} bytes over {} lifecycles",
        end - baseline,
        lifecycles - warm_up
    );
}
