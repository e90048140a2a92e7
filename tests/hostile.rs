//! Plugins that misbehave other than with bad arguments: a callback that
//! never returns, one that recurses without end, one that grows its memory
//! until refused, one that returns a value no version defines, and a start
//! function that never returns. Each is stopped with a typed, one-line
//! error within a generous bound (the precise cost of deadlines is a
//! benchmark's business, not a test's), and the same host goes on serving
//! the next request.

use std::time::{Duration, Instant};

use proxy_wasm_abi::host::{CallError, Limits, PluginError};
use proxy_wasm_abi_tests::HOSTILE_WAT;
use proxy_wasm_abi_tools::runner::{
    self, Input, OnFailure, ReferenceHost, Report, RunError, STREAM_CONTEXT, Session,
};

/// Limits small enough to test: 100 ms, 16 MiB.
const LIMITS: Limits = Limits {
    deadline: Some(Duration::from_millis(100)),
    memory_bytes: 16 << 20,
    table_elements: 1_000,
    ..Limits::NONE
};

/// How long "it ends" may take on a loaded machine: far above the 100 ms
/// deadline, far below "never".
const ENDS_WITHIN: Duration = Duration::from_secs(10);

/// A request with `n` headers.
fn request(n: usize) -> Input {
    Input {
        request_headers: (0..n)
            .map(|i| (format!("x-{i}").into_bytes(), b"1".to_vec()))
            .collect(),
        ..Input::default()
    }
}

fn started() -> Session {
    let mut session =
        Session::with_limits(HOSTILE_WAT.as_bytes(), ReferenceHost::default(), LIMITS)
            .unwrap_or_else(|e| panic!("the plugin loads: {e}"));
    session
        .start()
        .unwrap_or_else(|e| panic!("the plugin starts: {e}"));
    session
}

/// Runs a request with `n` headers on context `ctx`, expecting it to fail
/// within [`ENDS_WITHIN`]; returns the error.
fn fails(session: &mut Session, ctx: u32, n: usize) -> RunError {
    let started = Instant::now();
    let error = match session.exchange(ctx, &request(n)) {
        Ok(report) => panic!("a hostile request ran to its end:\n{report}"),
        Err(error) => error,
    };
    let took = started.elapsed();
    assert!(took < ENDS_WITHIN, "it took {took:?} to stop: {error}");
    error
}

/// The next request on the same session runs to its end.
#[track_caller]
fn serves_the_next_request(session: &mut Session, ctx: u32) {
    let report = session
        .exchange(ctx, &request(3))
        .unwrap_or_else(|e| panic!("the host cannot go on: {e}"));
    let call = format!("proxy_on_request_headers({ctx}, 3, true)");
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.call == call && s.outcome == "Continue"),
        "{report}"
    );
}

#[test]
fn a_callback_that_never_returns_is_stopped_at_its_deadline() {
    let mut session = started();
    let error = fails(&mut session, STREAM_CONTEXT, 1);
    let RunError::Callback {
        error: CallError::Deadline {
            callback, budget, ..
        },
        ..
    } = &error
    else {
        panic!("not a deadline: {error}");
    };
    assert_eq!(
        (*callback, *budget),
        ("proxy_on_request_headers", Duration::from_millis(100))
    );
    assert_eq!(
        error.to_string(),
        "proxy_on_request_headers(2, 1, true) failed: `proxy_on_request_headers` ran past its deadline of 100 ms and was stopped"
    );
    serves_the_next_request(&mut session, STREAM_CONTEXT + 1);
    // Again: the deadline is per callback, not per store.
    fails(&mut session, STREAM_CONTEXT + 2, 1);
    serves_the_next_request(&mut session, STREAM_CONTEXT + 3);
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_in_one_line() {
    let mut session = started();
    let error = fails(&mut session, STREAM_CONTEXT, 2);
    let RunError::Callback {
        error: call_error @ CallError::StackOverflow { callback, .. },
        ..
    } = &error
    else {
        panic!("not a stack overflow: {error}");
    };
    assert_eq!(*callback, "proxy_on_request_headers");
    assert_eq!(
        error.to_string(),
        "proxy_on_request_headers(2, 2, true) failed: `proxy_on_request_headers` overflowed the wasm stack"
    );
    // The backtrace is there for whoever asks for it.
    let backtrace = call_error.backtrace().expect("a backtrace");
    assert!(
        backtrace
            .frames()
            .iter()
            .any(|frame| frame.func_name() == Some("recurse")),
        "{backtrace:?}"
    );
    serves_the_next_request(&mut session, STREAM_CONTEXT + 1);
}

#[test]
fn memory_grows_only_up_to_the_cap() {
    let mut session = started();
    let report = session
        .exchange(STREAM_CONTEXT, &request(4))
        .unwrap_or_else(|e| panic!("growing until refused is allowed: {e}"));
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.call.starts_with("proxy_on_request_headers") && s.outcome == "Continue")
    );
    let size = session.plugin.memory().data_size(&session.store);
    assert!(
        size <= LIMITS.memory_bytes && size > LIMITS.memory_bytes - (1 << 20),
        "the plugin has {size} bytes"
    );
    serves_the_next_request(&mut session, STREAM_CONTEXT + 1);
}

#[test]
fn an_undefined_action_is_one_line() {
    let mut session = started();
    let error = fails(&mut session, STREAM_CONTEXT, 5);
    assert_eq!(
        error.to_string(),
        "proxy_on_request_headers(2, 5, true) failed: `proxy_on_request_headers` returned 7, which is not a valid value"
    );
    serves_the_next_request(&mut session, STREAM_CONTEXT + 1);
}

#[test]
fn a_start_function_that_never_returns_is_stopped() {
    let looping = HOSTILE_WAT.replace(
        "(func (export \"proxy_abi_version_0_2_1\"))",
        "(func (export \"proxy_abi_version_0_2_1\"))\n  (func (export \"_initialize\") (loop $l (br $l)))",
    );
    let started = Instant::now();
    let error = match Session::with_limits(looping.as_bytes(), ReferenceHost::default(), LIMITS) {
        Ok(_) => panic!("a start function that never returns was let through"),
        Err(error) => error,
    };
    assert!(started.elapsed() < ENDS_WITHIN);
    let RunError::Plugin(PluginError::Start(trap)) = &error else {
        panic!("not a start failure: {error}");
    };
    assert_eq!(
        trap.downcast_ref::<proxy_wasm_abi::wasmtime::Trap>(),
        Some(&proxy_wasm_abi::wasmtime::Trap::Interrupt)
    );
}

#[test]
fn no_limits_means_no_deadline() {
    // `Limits::NONE` on the same engine: a callback that ends is not cut
    // short by a deadline that was never set.
    let mut session = Session::with_limits(
        HOSTILE_WAT.as_bytes(),
        ReferenceHost::default(),
        Limits::NONE,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    session.start().unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(50));
    serves_the_next_request(&mut session, STREAM_CONTEXT);
}

/// A runaway first request, then two good ones, under `policy`.
fn after_a_runaway(policy: OnFailure) -> Vec<Report> {
    let mut inputs = vec![request(1), request(3), request(3)];
    for input in &mut inputs {
        input.limits = LIMITS;
        input.on_failure = policy;
        input.response_headers = vec![(b":status".to_vec(), b"200".to_vec())];
    }
    let started = Instant::now();
    let reports = runner::run_all(HOSTILE_WAT.as_bytes(), &inputs)
        .unwrap_or_else(|e| panic!("the policy goes on past the failure: {e}"));
    assert!(started.elapsed() < ENDS_WITHIN);
    reports
}

/// The steps of a report as `call -> outcome`.
fn steps(report: &Report) -> Vec<String> {
    report
        .steps
        .iter()
        .map(|s| format!("{} -> {}", s.call, s.outcome))
        .collect()
}

const STOPPED: &str = "proxy_on_request_headers(2, 1, true) -> failed: `proxy_on_request_headers` ran past its deadline of 100 ms and was stopped";

/// Fail closed, as Envoy by default: the request in progress and every
/// later one get a local 503, and the failed plugin is not called again.
#[test]
fn fail_closed_answers_503_from_the_failure_on() {
    let reports = after_a_runaway(OnFailure::FailClosed);
    let first = &reports[0];
    assert!(steps(first).contains(&STOPPED.to_string()), "{first}");
    for (report, ctx) in reports.iter().zip(STREAM_CONTEXT..) {
        let local = report.host.local_response.as_ref().expect("a local 503");
        assert_eq!(
            (local.status_code, local.details.as_str(), local.grpc_status),
            (503, "wasm_fail_stream", 14),
            "stream {ctx}"
        );
        assert_eq!(
            report.host.response_headers,
            [(b":status".to_vec(), b"503".to_vec())],
            "the 503 went downstream"
        );
        assert!(
            report
                .failure
                .as_deref()
                .is_some_and(|f| f.contains("ran past its deadline")),
            "{report}"
        );
    }
    // After the failure, no callback reaches the plugin.
    assert_eq!(
        steps(&reports[1]),
        [
            "(the plugin has failed; fail closed) -> 503 sent",
            "(local response 503 sent back through the response callbacks) -> sent",
        ]
    );
    assert!(
        reports[1]
            .to_string()
            .contains("plugin failed: proxy_on_request_headers(2, 1, true) failed")
    );
}

/// Fail open, as Envoy with `fail_open`: requests go on as if the plugin
/// were not there, the one in progress included.
#[test]
fn fail_open_lets_requests_through_without_the_plugin() {
    let reports = after_a_runaway(OnFailure::FailOpen);
    assert!(steps(&reports[0]).contains(&STOPPED.to_string()));
    for report in &reports {
        assert!(report.host.local_response.is_none(), "{report}");
        assert_eq!(
            report.host.response_headers,
            [(b":status".to_vec(), b"200".to_vec())]
        );
    }
    assert!(steps(&reports[1]).is_empty(), "{:?}", steps(&reports[1]));
}
