//! Real plugins on the generated host.
//!
//! The fixtures in `tests/plugins/sdk-fixtures` are small plugins written on
//! the official `proxy-wasm` SDK (0.2.5, the same lock as `sdk-plugin`), one
//! per part of the ABI: timers, headers, bodies, configuration, HTTP calls,
//! local responses, shared data and queues, metrics, and TCP. They are built
//! for `wasm32-wasip1` (`proxy_wasm_abi_tests::build_workspace_plugin`) and
//! run on the generated wasmtime bindings of the version they declare, with
//! the in-memory `ReferenceHost`, either through `runner::run` (one HTTP request or TCP
//! connection) or driven callback by callback through a `runner::Session`.
//! Each test asserts what the plugin visibly did: callbacks and their
//! results, headers, bodies, calls, shared state, metrics and logs.
//!
//! Also here: the examples that the SDK's 0.1.4 and 0.2.0 packages ship,
//! the generated guest plugin (`tests/plugins/guest-plugin`) on the
//! generated host, and the exact text `proxy-wasm-abi run` prints (the
//! `Display` of `runner::Report`).

use proxy_wasm_abi_tests::{
    SDK_EXAMPLES, SDK_RELEASES, build_plugin, build_published_examples, build_workspace_plugin,
    check_module, header_input, pairs,
};
use proxy_wasm_abi_tools::runner::bindings::{Action, LogLevel, MetricType, StreamType};
use proxy_wasm_abi_tools::runner::reference::{self, HttpCallResponse, Pairs};
use proxy_wasm_abi_tools::runner::{
    self, Input, Lifecycle, ROOT_CONTEXT, ReferenceHost, Report, RunError, STREAM_CONTEXT, Session,
};

/// The plugin workspace holding the fixtures.
const WORKSPACE: &str = "sdk-fixtures";

/// Every fixture, by package name.
const FIXTURES: [&str; 12] = [
    "sdk-hello-tick",
    "sdk-headers",
    "sdk-bodies",
    "sdk-config",
    "sdk-http-callout",
    "sdk-local-response",
    "sdk-shared-data",
    "sdk-metrics",
    "sdk-tcp-filter",
    "sdk-inputs",
    "sdk-grpc",
    "sdk-stream-state",
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The compiled fixture `name`.
fn fixture(name: &str) -> Vec<u8> {
    let path = build_workspace_plugin(WORKSPACE, name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Pairs as text, for comparisons that print readably.
fn text_pairs(list: &Pairs) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// Pairs as text, from literals.
fn expect_pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The first value of `name` in `list`, as text.
fn value_of(list: &Pairs, name: &str) -> Option<String> {
    list.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// A `GET` of `path` from `example.com`.
fn get(path: &str) -> Pairs {
    pairs(&[
        (":method", "GET"),
        (":path", path),
        (":authority", "example.com"),
    ])
}

/// A `200` response.
fn ok_response() -> Pairs {
    pairs(&[(":status", "200")])
}

/// The logged messages, without levels.
fn messages(host: &ReferenceHost) -> Vec<&str> {
    host.logs.iter().map(|(_, m)| m.as_str()).collect()
}

/// Whether `message` was logged at `level`.
fn logged(host: &ReferenceHost, level: LogLevel, message: &str) -> bool {
    host.logs.iter().any(|(l, m)| *l == level && m == message)
}

/// Panics unless `message` was logged at `level`, listing what was.
#[track_caller]
fn assert_logged(host: &ReferenceHost, level: LogLevel, message: &str) {
    assert!(
        logged(host, level, message),
        "expected [{level}] {message:?} in the logs:\n{:#?}",
        host.logs
    );
}

/// The SDK's panic hook logs the panic at CRITICAL before the module traps;
/// nothing at CRITICAL (or ERROR) means no SDK wrapper hit a status it does
/// not expect.
#[track_caller]
fn assert_no_failures(host: &ReferenceHost) {
    let bad: Vec<_> = host
        .logs
        .iter()
        .filter(|(l, _)| matches!(l, LogLevel::Critical | LogLevel::Error))
        .collect();
    assert!(bad.is_empty(), "failures logged: {bad:#?}");
    assert_eq!(host.exit_code, None, "the plugin called proc_exit");
}

/// The steps as `call -> outcome` lines.
fn steps(steps: &[runner::Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| format!("{} -> {}", s.call, s.outcome))
        .collect()
}

/// Runs `wasm` with `input`, printing the report; a run that does not
/// complete fails the test saying which fixture and why.
#[track_caller]
fn run_ok(name: &str, wasm: &[u8], input: &Input) -> Report {
    match runner::run(wasm, input) {
        Ok(report) => {
            eprintln!("--- {name} ---\n{report}");
            report
        }
        Err(error) => panic!("{name} did not run on the reference host: {error}"),
    }
}

/// A session on a fresh reference host, started (root context, VM start,
/// configuration); a failure names the fixture and shows the logs.
#[track_caller]
fn started(name: &str, wasm: &[u8], host: ReferenceHost) -> Session {
    let mut session =
        Session::new(wasm, host).unwrap_or_else(|error| panic!("{name} cannot be loaded: {error}"));
    if let Err(error) = session.start() {
        panic!(
            "{name} did not start: {error}\nlogs: {:#?}",
            session.store.data().logs
        );
    }
    session
}

/// Unwraps a step of a session, showing the logs when it failed.
#[track_caller]
fn checked<T>(session: &Session, result: Result<T, RunError>) -> T {
    result.unwrap_or_else(|error| panic!("{error}\nlogs: {:#?}", session.store.data().logs))
}

/// Drives one more HTTP stream with id `context` through `session`, headers
/// only (no bodies): create, request headers, response headers, delivery of
/// queued work and calls, done/log/delete. Returns the request and response
/// headers as the plugin left them.
fn http_stream(
    session: &mut Session,
    context: u32,
    request: &Pairs,
    response: &Pairs,
) -> Result<(Pairs, Pairs), RunError> {
    let s = session;
    let r = s
        .plugin
        .proxy_on_context_create(&mut s.store, context, ROOT_CONTEXT);
    s.record(
        format!("proxy_on_context_create({context}, {ROOT_CONTEXT})"),
        r,
    )?;
    s.host(context).request_headers = request.clone();
    let n = u32::try_from(request.len()).expect("few headers");
    let r = s
        .plugin
        .proxy_on_request_headers(&mut s.store, context, n, true);
    s.record(format!("proxy_on_request_headers({context}, {n}, true)"), r)?;
    s.host(context).response_headers = response.clone();
    let n = u32::try_from(response.len()).expect("few headers");
    let r = s
        .plugin
        .proxy_on_response_headers(&mut s.store, context, n, true);
    s.record(
        format!("proxy_on_response_headers({context}, {n}, true)"),
        r,
    )?;
    s.deliver()?;
    s.finish(context)?;
    let host = s.host(context);
    Ok((host.request_headers.clone(), host.response_headers.clone()))
}

// ---------------------------------------------------------------------------
// The fixtures as modules
// ---------------------------------------------------------------------------

/// Every fixture builds and its imports and exports agree with the description.
#[test]
fn fixtures_conform_to_the_description() {
    for name in FIXTURES {
        let report = check_module(&fixture(name));
        assert!(report.is_ok(), "{name}:\n{report}");
        assert_eq!(
            report.versions,
            ["0.2.1".parse().expect("a version")],
            "{name} declares 0.2.1"
        );
    }
}

// ---------------------------------------------------------------------------
// 1. Hello world with a tick
// ---------------------------------------------------------------------------

#[test]
fn hello_tick_logs_on_start_and_on_each_tick() {
    let wasm = fixture("sdk-hello-tick");
    let input = Input {
        request_headers: get("/"),
        response_headers: ok_response(),
        ..Input::default()
    };
    let report = run_ok("sdk-hello-tick", &wasm, &input);
    let host = &report.host;
    assert_eq!(host.tick_period_ms, 250, "set_tick_period(250 ms)");
    // The runner fires the timer once after start and once after the stream.
    let ticks: Vec<String> = steps(&report.steps)
        .into_iter()
        .filter(|s| s.starts_with("proxy_on_tick"))
        .collect();
    assert_eq!(ticks, ["proxy_on_tick(1) -> ()", "proxy_on_tick(1) -> ()"]);
    assert_eq!(
        messages(host),
        [
            "hello from sdk-hello-tick",
            // The reference host's fixed clock: 2020-01-01T00:00:00Z.
            "the host clock reads 1577836800 s since the epoch",
            "tick 1",
            "tick 2",
        ]
    );
    assert!(host.logs.iter().all(|(level, _)| *level == LogLevel::Info));
    assert_no_failures(host);

    // Driven by hand: each timer firing is one more tick, on the root context.
    let mut session = started("sdk-hello-tick", &wasm, ReferenceHost::default());
    for _ in 0..5 {
        let r = session.deliver();
        checked(&session, r);
    }
    let host = session.store.data();
    assert_eq!(
        messages(host)[2..],
        ["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"]
    );
    assert_eq!(
        session.steps.len(),
        3 + 5,
        "create, start, configure, 5 ticks"
    );
}

// ---------------------------------------------------------------------------
// 2. Header rewriting
// ---------------------------------------------------------------------------

#[test]
fn headers_are_added_replaced_and_removed_on_both_sides() {
    let wasm = fixture("sdk-headers");
    let report = run_ok("sdk-headers", &wasm, &header_input());
    let host = &report.host;
    // Replacing keeps the header's position; adding appends.
    assert_eq!(
        text_pairs(&host.request_headers),
        expect_pairs(&[
            (":method", "GET"),
            (":path", "/items"),
            (":authority", "example.com"),
            ("user-agent", "sdk-headers/1"),
            ("x-request-tag", "sdk"),
        ])
    );
    assert_eq!(
        text_pairs(&host.response_headers),
        expect_pairs(&[
            (":status", "200"),
            ("server", "sdk-headers"),
            ("content-type", "text/plain"),
            ("x-response-tag", "sdk"),
        ])
    );
    assert_eq!(
        steps(&report.steps),
        [
            "proxy_on_context_create(1, 0) -> ()",
            "proxy_on_vm_start(1, 0) -> true",
            "proxy_on_configure(1, 0) -> true",
            "proxy_on_context_create(2, 1) -> ()",
            "proxy_on_request_headers(2, 5, true) -> Continue",
            "proxy_on_response_headers(2, 4, true) -> Continue",
            "proxy_on_done(2) -> true",
            "proxy_on_log(2) -> ()",
            "proxy_on_delete(2) -> ()",
        ]
    );
    assert_logged(
        host,
        LogLevel::Info,
        "stream 2: request had 5 header(s); tagged, user-agent replaced, x-debug-token removed",
    );
    assert_logged(
        host,
        LogLevel::Info,
        "stream 2: response had 4 header(s); tagged, server replaced, x-powered-by removed",
    );
    assert_no_failures(host);
}

/// The text `proxy-wasm-abi run` prints is `Report`'s `Display`
/// (`codegen/src/main.rs`: `say!("{report}")`); this is that text for the
/// header plugin, in full.
#[test]
fn cli_report_text_for_the_header_plugin() {
    let wasm = fixture("sdk-headers");
    let report = run_ok("sdk-headers", &wasm, &header_input());
    let expected = "\
callbacks:
  proxy_on_context_create(1, 0) -> ()
  proxy_on_vm_start(1, 0) -> true
  proxy_on_configure(1, 0) -> true
  proxy_on_context_create(2, 1) -> ()
  proxy_on_request_headers(2, 5, true) -> Continue
  proxy_on_response_headers(2, 4, true) -> Continue
  proxy_on_done(2) -> true
  proxy_on_log(2) -> ()
  proxy_on_delete(2) -> ()
request headers:
    :method: GET
    :path: /items
    :authority: example.com
  + user-agent: sdk-headers/1
  + x-request-tag: sdk
  - user-agent: curl/8.5
  - x-debug-token: s3cr3t
request body: unchanged (0 bytes)
response headers:
    :status: 200
  + server: sdk-headers
    content-type: text/plain
  + x-response-tag: sdk
  - server: nginx
  - x-powered-by: php
response body: unchanged (0 bytes)
logs:
  [INFO] stream 2: request had 5 header(s); tagged, user-agent replaced, x-debug-token removed
  [INFO] stream 2: response had 4 header(s); tagged, server replaced, x-powered-by removed";
    assert_eq!(report.to_string(), expected);
}

// ---------------------------------------------------------------------------
// 3. Body rewriting
// ---------------------------------------------------------------------------

#[test]
fn bodies_are_rewritten_at_the_end_of_the_stream() {
    let wasm = fixture("sdk-bodies");
    let request_body = b"my cat likes other cats".to_vec();
    let input = Input {
        request_headers: pairs(&[
            (":method", "POST"),
            (":path", "/pets"),
            (":authority", "example.com"),
            ("content-length", "23"),
        ]),
        request_body,
        response_headers: pairs(&[(":status", "200"), ("content-length", "5")]),
        response_body: b"hello".to_vec(),
        ..Input::default()
    };
    let report = run_ok("sdk-bodies", &wasm, &input);
    let host = &report.host;
    assert_eq!(
        String::from_utf8_lossy(&host.request_body),
        "my dog likes other dogs"
    );
    assert_eq!(String::from_utf8_lossy(&host.response_body), "<<hello>>");
    assert_eq!(value_of(&host.request_headers, "content-length"), None);
    assert_eq!(value_of(&host.response_headers, "content-length"), None);
    let steps = steps(&report.steps);
    for expected in [
        "proxy_on_request_headers(2, 4, false) -> Continue",
        "proxy_on_request_body(2, 23, true) -> Continue",
        "proxy_on_response_headers(2, 2, false) -> Continue",
        "proxy_on_response_body(2, 5, true) -> Continue",
    ] {
        assert!(
            steps.iter().any(|s| s == expected),
            "{expected} in {steps:#?}"
        );
    }
    assert_logged(
        host,
        LogLevel::Info,
        "request body: 23 byte(s) in, 23 byte(s) out",
    );
    assert_logged(host, LogLevel::Info, "response body: framed 5 byte(s)");
    assert_no_failures(host);
}

/// The runner delivers a body in chunks: while the plugin returns `PAUSE`
/// the host buffers, each callback sees everything so far, and the body the
/// plugin finally rewrites is the whole one, passed on once.
#[test]
fn the_runner_buffers_chunks_while_the_plugin_pauses() {
    let wasm = fixture("sdk-bodies");
    let input = Input {
        request_headers: get("/pets"),
        request_body: b"my cat likes other cats".to_vec(),
        response_headers: pairs(&[(":status", "200")]),
        response_body: b"hello".to_vec(),
        chunk_size: Some(10),
        ..Input::default()
    };
    let report = run_ok("sdk-bodies", &wasm, &input);
    let steps = steps(&report.steps);
    let bodies: Vec<&String> = steps.iter().filter(|s| s.contains("_body(")).collect();
    assert_eq!(
        bodies,
        [
            "proxy_on_request_body(2, 10, false) -> Pause",
            "proxy_on_request_body(2, 20, false) -> Pause",
            "proxy_on_request_body(2, 23, true) -> Continue",
            "proxy_on_response_body(2, 5, true) -> Continue",
        ]
    );
    assert_eq!(report.request_forwarded, b"my dog likes other dogs");
    assert_eq!(report.response_forwarded, b"<<hello>>");
    assert_logged(
        &report.host,
        LogLevel::Info,
        "request body: 23 byte(s) in, 23 byte(s) out",
    );
}

/// Over the buffer limit while paused, a request gets a local 413 and goes
/// no further (as Envoy does); the 413 goes back through the plugin's
/// response callbacks, which frame its body. A response body is reset.
#[test]
fn the_runner_stops_a_paused_body_at_the_buffer_limit() {
    let wasm = fixture("sdk-bodies");
    let input = Input {
        request_headers: get("/pets"),
        request_body: b"my cat likes other cats".to_vec(),
        response_headers: pairs(&[(":status", "200")]),
        response_body: b"hello".to_vec(),
        chunk_size: Some(10),
        buffer_limit: Some(15),
        ..Input::default()
    };
    let report = run_ok("sdk-bodies", &wasm, &input);
    let seen = steps(&report.steps);
    assert!(
        seen.contains(
            &"(proxy_on_request_body over the 15-byte buffer limit) -> 413 sent".to_string()
        ),
        "{seen:#?}"
    );
    assert_eq!(
        seen[seen.len() - 6..seen.len() - 3],
        [
            "(local response 413 sent back through the response callbacks) -> sent",
            "proxy_on_response_headers(2, 3, false) -> Continue",
            "proxy_on_response_body(2, 17, true) -> Continue",
        ],
        "the 413 is delivered whole, not against the limit"
    );
    let local = report
        .host
        .local_response
        .as_ref()
        .expect("a local response");
    assert_eq!(local.status_code, 413);
    assert!(report.request_forwarded.is_empty());
    assert_eq!(report.response_before.1, b"Payload Too Large");
    assert_eq!(report.response_forwarded, b"<<Payload Too Large>>");
    assert_eq!(
        text_pairs(&report.host.response_headers),
        expect_pairs(&[(":status", "413"), ("content-type", "text/plain")]),
        "the plugin dropped content-length, as for any body it frames"
    );

    let response_only = Input {
        request_body: Vec::new(),
        response_body: b"a response longer than the limit".to_vec(),
        ..input
    };
    let report = run_ok("sdk-bodies", &wasm, &response_only);
    let seen = steps(&report.steps);
    assert!(
        seen.contains(
            &"(proxy_on_response_body over the 15-byte buffer limit) -> stream reset".to_string()
        ),
        "{seen:#?}"
    );
    assert!(report.host.local_response.is_none());
    assert!(report.response_forwarded.is_empty());
}

/// A body arriving in two chunks: the first is held (Pause) and left alone,
/// the whole body is rewritten once the stream ends.
#[test]
fn bodies_wait_for_the_end_of_the_stream() {
    let wasm = fixture("sdk-bodies");
    let mut s = started("sdk-bodies", &wasm, ReferenceHost::default());
    let ctx = STREAM_CONTEXT;
    let r = s
        .plugin
        .proxy_on_context_create(&mut s.store, ctx, ROOT_CONTEXT);
    let r = s.record("create".into(), r);
    checked(&s, r);
    s.host(ctx).request_headers = get("/pets");
    let r = s
        .plugin
        .proxy_on_request_headers(&mut s.store, ctx, 3, false);
    let r = s.record("request headers".into(), r);
    assert_eq!(checked(&s, r), Some(Action::Continue));

    s.host(ctx).request_body = b"one cat, ".to_vec();
    let r = s.plugin.proxy_on_request_body(&mut s.store, ctx, 9, false);
    let r = s.record("first chunk".into(), r);
    assert_eq!(checked(&s, r), Some(Action::Pause));
    assert_eq!(s.host(ctx).request_body, b"one cat, ");

    s.host(ctx).request_body.extend_from_slice(b"two cats");
    let r = s.plugin.proxy_on_request_body(&mut s.store, ctx, 17, true);
    let r = s.record("last chunk".into(), r);
    assert_eq!(checked(&s, r), Some(Action::Continue));
    assert_eq!(
        String::from_utf8_lossy(&s.host(ctx).request_body),
        "one dog, two dogs"
    );
    assert_no_failures(s.store.data());
}

// ---------------------------------------------------------------------------
// 4. Plugin configuration
// ---------------------------------------------------------------------------

#[test]
fn configuration_lines_drive_the_plugin() {
    let wasm = fixture("sdk-config");
    let config = "\
# which header to add
header = X-Env
value = staging

log-paths = yes
";
    let input = Input {
        request_headers: get("/items"),
        response_headers: ok_response(),
        plugin_configuration: config.as_bytes().to_vec(),
        ..Input::default()
    };
    let report = run_ok("sdk-config", &wasm, &input);
    let host = &report.host;
    assert_eq!(
        text_pairs(&host.response_headers),
        expect_pairs(&[(":status", "200"), ("x-env", "staging")])
    );
    assert_eq!(
        steps(&report.steps)[2],
        format!("proxy_on_configure(1, {}) -> true", config.len())
    );
    assert_eq!(
        messages(host),
        [
            "configured: add `x-env: staging` to responses, log paths: true",
            "request for /items",
        ]
    );
    assert_no_failures(host);

    // `log-paths` defaults to no.
    let quiet = Input {
        plugin_configuration: b"header=x-a\nvalue=1".to_vec(),
        ..input
    };
    let report = run_ok("sdk-config", &wasm, &quiet);
    assert_eq!(
        value_of(&report.host.response_headers, "x-a").as_deref(),
        Some("1")
    );
    assert_eq!(
        messages(&report.host),
        ["configured: add `x-a: 1` to responses, log paths: false"]
    );
}

#[test]
fn bad_configuration_is_rejected() {
    let wasm = fixture("sdk-config");
    let cases = [
        (
            "header x-env\nvalue = a",
            "line 1: `header x-env` is not `key = value`",
        ),
        (
            "header = x\nvalue = y\ncolour = blue",
            "line 3: unknown key `colour`",
        ),
        (
            "header = a\nheader = b\nvalue = c",
            "line 2: `header` given twice",
        ),
        ("= x", "line 1: missing key before `=`"),
        ("value = y", "missing required key `header`"),
        ("header = x", "missing required key `value`"),
        ("", "missing required key `header`"),
        (
            "header = x\nvalue = y\nlog-paths = maybe",
            "`log-paths` must be yes or no, not `maybe`",
        ),
    ];

    // Through `run`: the lifecycle stops at the rejection.
    let input = Input {
        request_headers: get("/"),
        plugin_configuration: cases[0].0.as_bytes().to_vec(),
        ..Input::default()
    };
    match runner::run(&wasm, &input) {
        Err(error @ RunError::Rejected("plugin configuration")) => assert_eq!(
            error.to_string(),
            "the plugin rejected its plugin configuration (returned false)"
        ),
        Err(other) => panic!("expected a rejection, got {other}"),
        Ok(report) => panic!("a bad configuration was accepted:\n{report}"),
    }

    // By hand, to see each reason: a VM that started with a bad
    // configuration (`Session::start` fails the same way `run` does), then
    // one more plugin (root) context per case in the same VM, as a host
    // does for several plugin configurations. (One compilation of the
    // module instead of one per case.)
    let host = ReferenceHost {
        plugin_configuration: cases[0].0.as_bytes().to_vec(),
        ..ReferenceHost::default()
    };
    let mut s = Session::new(&wasm, host).expect("loads");
    assert!(matches!(
        s.start(),
        Err(RunError::Rejected("plugin configuration"))
    ));
    let good = "header = x-ok\nvalue = 1";
    let all = cases.iter().copied().chain([(good, "")]);
    for (index, (config, why)) in all.enumerate() {
        let root = 10 + u32::try_from(index).expect("few cases");
        s.store.data_mut().plugin_configuration = config.as_bytes().to_vec();
        s.store.data_mut().logs.clear();
        let r = s.plugin.proxy_on_context_create(&mut s.store, root, 0);
        let r = s.record(format!("proxy_on_context_create({root}, 0)"), r);
        checked(&s, r);
        let size = u32::try_from(config.len()).expect("short");
        let r = s.plugin.proxy_on_configure(&mut s.store, root, size);
        let r = s.record(format!("proxy_on_configure({root}, {size})"), r);
        let accepted = checked(&s, r);
        let host = s.store.data();
        if config == good {
            assert_eq!(
                accepted,
                Some(true),
                "the good configuration after the bad ones"
            );
            assert_eq!(
                messages(host),
                ["configured: add `x-ok: 1` to responses, log paths: false"]
            );
        } else {
            assert_eq!(accepted, Some(false), "config {config:?}");
            assert_eq!(
                host.logs,
                [(LogLevel::Error, format!("configuration rejected: {why}"))],
                "config {config:?}"
            );
        }
    }
    assert_eq!(s.store.data().exit_code, None);
}

// ---------------------------------------------------------------------------
// 5. An HTTP callout
// ---------------------------------------------------------------------------

/// The answer of the authorization service.
fn auth_answer(status: &str) -> HttpCallResponse {
    HttpCallResponse {
        headers: pairs(&[(":status", status), ("x-user", "alice")]),
        body: b"welcome back\n".to_vec(),
        trailers: Vec::new(),
    }
}

#[test]
fn http_callout_pauses_then_resumes_with_the_answer() {
    let wasm = fixture("sdk-http-callout");
    let input = Input {
        request_headers: get("/orders"),
        response_headers: ok_response(),
        http_call_response: auth_answer("200"),
        ..Input::default()
    };
    let report = run_ok("sdk-http-callout", &wasm, &input);
    let host = &report.host;

    assert_eq!(host.http_calls.len(), 1, "one call");
    let call = &host.http_calls[0];
    assert_eq!(call.token, 1);
    assert_eq!(call.upstream, "auth");
    assert_eq!(call.timeout_ms, 2_000);
    assert!(call.body.is_empty() && call.trailers.is_empty());
    assert_eq!(
        text_pairs(&call.headers),
        expect_pairs(&[
            (":method", "GET"),
            (":path", "/verify"),
            (":authority", "auth.internal"),
            ("x-original-path", "/orders"),
        ])
    );

    let steps = steps(&report.steps);
    assert_eq!(
        steps[4..7],
        [
            "proxy_on_request_headers(2, 3, true) -> Pause",
            // Two headers, 13 body bytes, no trailers.
            "proxy_on_http_call_response(1, 1, 2, 13, 0) -> ()",
            "proxy_on_response_headers(2, 1, true) -> Continue",
        ]
    );
    // The SDK routes the answer to the stream that made the call and resumes it.
    assert_eq!(host.effective_context, STREAM_CONTEXT);
    assert_eq!(host.continued, [StreamType::HttpRequest]);
    assert_eq!(
        text_pairs(&host.request_headers)[3..],
        expect_pairs(&[("x-auth-user", "alice"), ("x-auth-note", "welcome back")])
    );
    assert!(host.local_response.is_none());
    assert_eq!(
        messages(host),
        [
            "asked auth about /orders (call 1)",
            "call 1: allowed for alice (13 body byte(s))",
        ]
    );
    assert_no_failures(host);
}

#[test]
fn http_callout_denial_becomes_a_local_response() {
    let wasm = fixture("sdk-http-callout");
    let input = Input {
        request_headers: get("/orders"),
        response_headers: ok_response(),
        http_call_response: auth_answer("401"),
        ..Input::default()
    };
    let report = run_ok("sdk-http-callout", &wasm, &input);
    let host = &report.host;
    let local = host.local_response.as_ref().expect("a local response");
    assert_eq!(local.status_code, 403);
    assert_eq!(local.body, b"denied by the auth service\n");
    assert_eq!(
        text_pairs(&local.headers),
        expect_pairs(&[("x-auth-status", "401")])
    );
    assert!(host.continued.is_empty(), "the request is not resumed");
    assert_eq!(
        text_pairs(&host.request_headers),
        text_pairs(&get("/orders"))
    );
    // The upstream response never comes; the local one passes through the
    // plugin instead.
    assert_eq!(
        text_pairs(&report.response_before.0),
        expect_pairs(&[
            (":status", "403"),
            ("x-auth-status", "401"),
            ("content-length", "27"),
            ("content-type", "text/plain"),
        ])
    );
    assert_eq!(
        steps(&report.steps)
            .iter()
            .filter(|s| s.starts_with("proxy_on_response_headers"))
            .collect::<Vec<_>>(),
        ["proxy_on_response_headers(2, 4, false) -> Continue"]
    );
    assert_logged(host, LogLevel::Info, "call 1: status 401, denying");
    assert_no_failures(host);
}

// ---------------------------------------------------------------------------
// 6. A local response
// ---------------------------------------------------------------------------

#[test]
fn forbidden_path_gets_a_local_response() {
    let wasm = fixture("sdk-local-response");
    let input = Input {
        request_headers: get("/admin/users"),
        response_headers: ok_response(),
        ..Input::default()
    };
    let report = run_ok("sdk-local-response", &wasm, &input);
    let host = &report.host;
    let local = host.local_response.as_ref().expect("a local response");
    assert_eq!(local.status_code, 403);
    assert_eq!(local.details, "", "the SDK sends no details");
    assert_eq!(local.body, b"/admin/users is off limits\n");
    assert_eq!(
        text_pairs(&local.headers),
        expect_pairs(&[
            ("content-type", "text/plain"),
            ("x-refused-by", "sdk-local-response"),
        ])
    );
    // The SDK passes -1 for "no gRPC status".
    assert_eq!(local.grpc_status, u32::MAX);
    // Envoy sends a local response back through the filter's encoder side.
    assert_eq!(
        steps(&report.steps)[4..],
        [
            "proxy_on_request_headers(2, 3, true) -> Pause",
            "(local response 403 sent back through the response callbacks) -> sent",
            "proxy_on_response_headers(2, 4, false) -> Continue",
            "proxy_on_response_body(2, 27, true) -> Continue",
            "proxy_on_done(2) -> true",
            "proxy_on_log(2) -> ()",
            "proxy_on_delete(2) -> ()",
        ]
    );
    assert_eq!(messages(host), ["refusing /admin/users"]);
    assert_no_failures(host);
}

#[test]
fn other_paths_pass_untouched() {
    let wasm = fixture("sdk-local-response");
    let input = Input {
        request_headers: get("/public/index.html"),
        response_headers: ok_response(),
        ..Input::default()
    };
    let report = run_ok("sdk-local-response", &wasm, &input);
    let host = &report.host;
    assert!(host.local_response.is_none());
    assert_eq!(
        steps(&report.steps)[4..6],
        [
            "proxy_on_request_headers(2, 3, true) -> Continue",
            "proxy_on_response_headers(2, 1, true) -> Continue",
        ]
    );
    assert_eq!(
        text_pairs(&host.request_headers),
        text_pairs(&get("/public/index.html"))
    );
    assert_eq!(
        text_pairs(&host.response_headers),
        text_pairs(&ok_response())
    );
    assert!(host.logs.is_empty(), "{:?}", host.logs);
}

// ---------------------------------------------------------------------------
// 7. Shared data and queues
// ---------------------------------------------------------------------------

#[test]
fn shared_data_cas_and_queues() {
    let wasm = fixture("sdk-shared-data");
    let input = Input {
        request_headers: get("/orders"),
        response_headers: ok_response(),
        ..Input::default()
    };
    let report = run_ok("sdk-shared-data", &wasm, &input);
    let host = &report.host;

    // Seeded with CAS 0 (token 1), incremented with token 1 (token 2); the
    // stale write with token 1 changed nothing.
    assert_eq!(
        host.shared_data.get("sdk-hits"),
        Some(&(b"1".to_vec(), 2)),
        "the counter and its CAS token"
    );
    assert_eq!(
        value_of(&host.request_headers, "x-hits").as_deref(),
        Some("1")
    );
    assert!(!host.shared_data.contains_key("sdk-missing"));

    // The queue got the path; on_queue_ready drained it to EMPTY.
    assert_eq!(host.queues.len(), 1);
    assert_eq!(host.queues[0].name, "sdk-events");
    assert!(host.queues[0].items.is_empty());
    assert!(host.queues_ready.is_empty());
    assert_eq!(
        host.shared_data
            .get("sdk-last-event")
            .map(|(v, _)| v.as_slice()),
        Some(&b"/orders"[..])
    );
    assert!(
        steps(&report.steps)
            .iter()
            .any(|s| s == "proxy_on_queue_ready(1, 1) -> ()")
    );

    assert_eq!(
        messages(host),
        [
            "registered queue sdk-events as 1",
            "unregistered queue resolves to nothing",
            "sdk-missing: not found",
            "dequeue from queue 9999: NotFound",
            "stale write of sdk-hits refused: CasMismatch",
            "enqueued /orders",
            "dequeued /orders",
            "queue 1 drained",
        ]
    );
    // NOT_FOUND, EMPTY and CAS_MISMATCH all reached the SDK as values.
    assert_no_failures(host);
}

/// Shared data given as an input is there before the plugin starts, with
/// CAS token 1, as another plugin of the VM would have left it.
#[test]
fn shared_data_given_as_input_reaches_the_plugin() {
    let wasm = fixture("sdk-shared-data");
    let input = Input {
        request_headers: get("/orders"),
        response_headers: ok_response(),
        shared_data: vec![("sdk-missing".to_string(), b"here".to_vec())],
        ..Input::default()
    };
    let report = run_ok("sdk-shared-data", &wasm, &input);
    assert_logged(
        &report.host,
        LogLevel::Warn,
        "sdk-missing unexpectedly has Some([104, 101, 114, 101]) (cas Some(1))",
    );
    assert_eq!(
        report.host.shared_data.get("sdk-missing"),
        Some(&(b"here".to_vec(), 1))
    );
}

#[test]
fn shared_counter_across_requests() {
    let wasm = fixture("sdk-shared-data");
    let mut session = started("sdk-shared-data", &wasm, ReferenceHost::default());
    let paths = ["/a", "/b", "/c"];
    for (index, path) in paths.iter().enumerate() {
        let context = 2 + u32::try_from(index).expect("small");
        let r = http_stream(&mut session, context, &get(path), &ok_response());
        let (request, _) = checked(&session, r);
        assert_eq!(
            value_of(&request, "x-hits"),
            Some((index + 1).to_string()),
            "request {path}"
        );
    }
    let host = session.store.data();
    assert_eq!(host.shared_data.get("sdk-hits"), Some(&(b"3".to_vec(), 4)));
    assert_eq!(
        host.shared_data
            .get("sdk-last-event")
            .map(|(v, _)| v.as_slice()),
        Some(&b"/c"[..])
    );
    let dequeued: Vec<&str> = messages(host)
        .into_iter()
        .filter(|m| m.starts_with("dequeued"))
        .collect();
    assert_eq!(dequeued, ["dequeued /a", "dequeued /b", "dequeued /c"]);
    assert_no_failures(host);
}

// ---------------------------------------------------------------------------
// 8. Metrics
// ---------------------------------------------------------------------------

#[test]
fn metrics_count_and_gauge_per_request() {
    let wasm = fixture("sdk-metrics");
    let mut session = started("sdk-metrics", &wasm, ReferenceHost::default());
    {
        let host = session.store.data();
        assert_eq!(host.metrics.len(), 2);
        assert_eq!(
            (host.metrics[0].name.as_str(), host.metrics[0].kind),
            ("sdk_requests_total", MetricType::Counter)
        );
        assert_eq!(
            (host.metrics[1].name.as_str(), host.metrics[1].kind),
            ("sdk_request_header_count", MetricType::Gauge)
        );
    }
    // Requests with 3, 4 and 5 headers.
    for request in 1..=3u32 {
        let mut headers = get("/metrics");
        for extra in 1..request {
            headers.push((format!("x-extra-{extra}").into_bytes(), b"1".to_vec()));
        }
        let r = http_stream(&mut session, 1 + request, &headers, &ok_response());
        let (_, response) = checked(&session, r);
        assert_eq!(
            value_of(&response, "x-request-count"),
            Some(request.to_string()),
            "the counter as read back by request {request}"
        );
    }
    let host = session.store.data();
    assert_eq!(host.metrics[0].value, 3, "counter");
    assert_eq!(
        host.metrics[1].value, 5,
        "gauge: the last request's header count"
    );
    assert_eq!(
        messages(host),
        [
            "defined sdk_requests_total as 1 and sdk_request_header_count as 2",
            "sdk_requests_total = 1, sdk_request_header_count = 3",
            "sdk_requests_total = 2, sdk_request_header_count = 4",
            "sdk_requests_total = 3, sdk_request_header_count = 5",
        ]
    );
    assert_no_failures(host);

    // One request through `run`, and how the report shows the metrics.
    let input = Input {
        request_headers: get("/"),
        response_headers: ok_response(),
        ..Input::default()
    };
    let report = run_ok("sdk-metrics", &wasm, &input);
    let text = report.to_string();
    assert!(
        text.contains("metric sdk_requests_total (Counter) = 1"),
        "{text}"
    );
    assert!(
        text.contains("metric sdk_request_header_count (Gauge) = 3"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// 9. A TCP filter
// ---------------------------------------------------------------------------

#[test]
fn tcp_filter_rewrites_both_directions() {
    let wasm = fixture("sdk-tcp-filter");
    let downstream = b"card 4111 1111, pin 1234".to_vec();
    let input = Input {
        lifecycle: Lifecycle::Tcp,
        request_body: downstream.clone(),
        response_body: b"OK".to_vec(),
        ..Input::default()
    };
    let report = run_ok("sdk-tcp-filter", &wasm, &input);
    let host = &report.host;
    assert_eq!(
        String::from_utf8_lossy(&host.downstream_data),
        "card #### ####, pin ####"
    );
    assert_eq!(
        String::from_utf8_lossy(&host.upstream_data),
        "OK [via sdk-tcp-filter]"
    );
    assert_eq!(
        steps(&report.steps)[3..],
        [
            "proxy_on_context_create(2, 1) -> ()",
            "proxy_on_new_connection(2) -> Continue",
            "proxy_on_downstream_data(2, 24, true) -> Continue",
            "proxy_on_upstream_data(2, 2, true) -> Continue",
            "proxy_on_downstream_connection_close(2, REMOTE) -> ()",
            "proxy_on_upstream_connection_close(2, REMOTE) -> ()",
            "proxy_on_done(2) -> true",
            "proxy_on_log(2) -> ()",
            "proxy_on_delete(2) -> ()",
        ]
    );
    assert_eq!(
        messages(host),
        [
            "connection 2 opened",
            "downstream: 24 byte(s), 12 digit(s) masked",
            "upstream: 2 byte(s), end of stream: true",
            "downstream closed by Remote",
            "upstream closed by Remote",
        ]
    );
    // No HTTP state was touched.
    assert!(host.request_headers.is_empty() && host.request_body.is_empty());
    assert_no_failures(host);
}

/// What `proxy-wasm-abi run --tcp` prints about the data: the downstream and
/// upstream data before and after (it once showed the untouched HTTP bodies).
#[test]
fn tcp_report_text_shows_the_rewritten_data() {
    let wasm = fixture("sdk-tcp-filter");
    let input = Input {
        lifecycle: Lifecycle::Tcp,
        request_body: b"card 4111 1111, pin 1234".to_vec(),
        response_body: b"OK".to_vec(),
        ..Input::default()
    };
    let text = run_ok("sdk-tcp-filter", &wasm, &input).to_string();
    assert!(text.contains("card #### ####, pin ####"), "{text}");
    assert!(text.contains("OK [via sdk-tcp-filter]"), "{text}");
    assert!(!text.contains("-> \"\""), "{text}");
}

// ---------------------------------------------------------------------------
// The generated guest on the generated host
// ---------------------------------------------------------------------------

#[test]
fn generated_guest_runs_on_the_generated_host() {
    let path = build_plugin("guest-plugin");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut request = get("/");
    request.push((b"user-agent".to_vec(), b"curl/8.5".to_vec()));
    let input = Input {
        request_headers: request,
        response_headers: ok_response(),
        ..Input::default()
    };
    let report = run_ok("guest-plugin", &wasm, &input);
    let host = &report.host;
    assert_eq!(
        text_pairs(&host.response_headers),
        expect_pairs(&[(":status", "200"), ("x-watched-value", "curl/8.5")])
    );
    assert_eq!(
        text_pairs(&host.request_headers),
        text_pairs(&input.request_headers)
    );
    assert_eq!(host.tick_period_ms, 5_000);
    assert_eq!(
        host.logs,
        [
            (
                LogLevel::Info,
                "guest-plugin for ABI 0.2.1 started (0 bytes of VM configuration)".to_string()
            ),
            (
                LogLevel::Info,
                "context 1 watches request header `user-agent`".to_string()
            ),
            (
                LogLevel::Debug,
                "context 1 has seen 0 request(s)".to_string()
            ),
            (
                LogLevel::Debug,
                "stream 2: 4 request header(s), `user-agent` = curl/8.5".to_string()
            ),
            (
                LogLevel::Debug,
                "context 1 has seen 1 request(s)".to_string()
            ),
        ]
    );
    assert_eq!(
        steps(&report.steps),
        [
            "proxy_on_context_create(1, 0) -> ()",
            "proxy_on_vm_start(1, 0) -> true",
            "proxy_on_configure(1, 0) -> true",
            "proxy_on_tick(1) -> ()",
            "proxy_on_context_create(2, 1) -> ()",
            "proxy_on_request_headers(2, 4, true) -> Continue",
            "proxy_on_response_headers(2, 1, true) -> Continue",
            "proxy_on_tick(1) -> ()",
            "proxy_on_done(2) -> true",
            "proxy_on_log(2) -> ()",
            "proxy_on_delete(2) -> ()",
        ]
    );

    // Configured to watch another header, which this request lacks.
    let input = Input {
        plugin_configuration: b"  X-Team \n".to_vec(),
        ..input
    };
    let report = run_ok("guest-plugin", &wasm, &input);
    assert_eq!(
        value_of(&report.host.response_headers, "x-watched-value").as_deref(),
        Some("(absent)")
    );
    assert_logged(
        &report.host,
        LogLevel::Info,
        "context 1 watches request header `x-team`",
    );
}

// ---------------------------------------------------------------------------
// 11. The examples the SDK's releases ship
// ---------------------------------------------------------------------------
//
// `proxy-wasm` 0.1.4 (the last 0.1 release, ABI 0.1.0) and 0.2.0 (the first
// 0.2 release, which declares ABI 0.2.1) each ship five example plugins in
// their crates.io package. They are built from the package as published
// (`build_published_examples`) and run on the host of the version they
// declare; each test asserts what the example's source says it does.

/// Example `name` as SDK `release` ships it.
fn example(release: &str, name: &str) -> Vec<u8> {
    let path = build_published_examples("proxy-wasm", release).join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example's input: a request with `:path` and a `200` response.
fn example_input(path: &str) -> Input {
    Input {
        request_headers: get(path),
        response_headers: ok_response(),
        ..Input::default()
    }
}

#[test]
fn examples_run_as_the_version_they_declare() {
    for (release, abi) in SDK_RELEASES {
        for name in SDK_EXAMPLES {
            let session = Session::new(&example(release, name), ReferenceHost::default())
                .unwrap_or_else(|e| panic!("{name} of {release} cannot be loaded: {e}"));
            assert_eq!(session.plugin.version(), abi, "{name} of {release}");
        }
    }
}

/// A minimal plugin for ABI `version` (`0_1_0`, `0_2_0`, `0_2_1`): on
/// request headers it adds `x-abi: <version>` and logs it. 0.1.0's header
/// callback has no end-of-stream parameter.
fn minimal_plugin(version: &str) -> String {
    let end_param = if version == "0_1_0" {
        ""
    } else {
        "(param i32)"
    };
    format!(
        r#"(module
          (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
          (import "env" "proxy_add_header_map_value"
            (func $add (param i32 i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "x-abi")
          (data (i32.const 32) "{version}")
          (func (export "proxy_abi_version_{version}"))
          (func (export "proxy_on_context_create") (param i32 i32))
          (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
          (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
          (func (export "proxy_on_request_headers") (param i32 i32) {end_param} (result i32)
            (drop (call $add (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 32) (i32.const 5)))
            (drop (call $log (i32.const 2) (i32.const 32) (i32.const 5)))
            i32.const 0))"#
    )
}

#[test]
fn a_plugin_of_every_described_version_runs() {
    for (marker, version) in [("0_1_0", "0.1.0"), ("0_2_0", "0.2.0"), ("0_2_1", "0.2.1")] {
        let wasm = minimal_plugin(marker);
        let report = run_ok(version, wasm.as_bytes(), &Input::default());
        assert_eq!(report.abi_version, version);
        assert_eq!(
            value_of(&report.host.request_headers, "x-abi").as_deref(),
            Some(marker),
            "{version}"
        );
        assert_eq!(messages(&report.host), [marker], "{version}");
    }
}

/// hello_world: a root context only. It greets on VM start, asks for a
/// 5-second tick, and on each tick logs the time and a random number.
#[test]
fn example_hello_world_greets_and_ticks() {
    for (release, _) in SDK_RELEASES {
        let name = format!("hello_world of {release}");
        let mut session = started(
            &name,
            &example(release, "hello_world"),
            ReferenceHost::default(),
        );
        for _ in 0..2 {
            let r = session.deliver();
            checked(&session, r);
        }
        let host = session.store.data();
        assert_eq!(host.tick_period_ms, 5000, "{name}");
        let logged = messages(host);
        assert_eq!(logged.len(), 3, "{name}: {logged:#?}");
        assert_eq!(logged[0], "Hello, World!", "{name}");
        for tick in &logged[1..] {
            // The reference host's clock is fixed at 2020-01-01T00:00:00Z.
            assert!(
                tick.starts_with("It's 2020-01-01 00:00:00 UTC, your lucky number is "),
                "{name}: {tick}"
            );
        }
        assert!(
            host.logs.iter().all(|(level, _)| *level == LogLevel::Info),
            "{name}"
        );
        assert_no_failures(host);
    }
}

/// http_headers: logs every request and response header and the end of the
/// stream; answers `/hello` itself, and that answer passes its own response
/// callback too.
#[test]
fn example_http_headers_logs_headers_and_answers_hello() {
    for (release, _) in SDK_RELEASES {
        let name = format!("http_headers of {release}");
        let wasm = example(release, "http_headers");
        let report = run_ok(&name, &wasm, &example_input("/x"));
        assert_eq!(
            messages(&report.host),
            [
                "#2 -> :method: GET",
                "#2 -> :path: /x",
                "#2 -> :authority: example.com",
                "#2 <- :status: 200",
                "#2 completed.",
            ],
            "{name}"
        );
        assert!(report.host.local_response.is_none(), "{name}");

        let report = run_ok(&name, &wasm, &example_input("/hello"));
        let local = report
            .host
            .local_response
            .as_ref()
            .expect("a local response");
        assert_eq!(
            (local.status_code, local.body.as_slice()),
            (200, &b"Hello, World!\n"[..])
        );
        assert_eq!(
            text_pairs(&local.headers),
            expect_pairs(&[("Hello", "World"), ("Powered-By", "proxy-wasm")]),
            "{name}"
        );
        assert!(
            report.host.continued.is_empty(),
            "{name}: the request stops"
        );
        assert_eq!(
            messages(&report.host)[3..],
            [
                "#2 <- :status: 200",
                "#2 <- Hello: World",
                "#2 <- Powered-By: proxy-wasm",
                "#2 <- content-length: 14",
                "#2 <- content-type: text/plain",
                "#2 completed.",
            ],
            "{name}"
        );
    }
}

/// http_auth_random: every request waits for a call to httpbin's
/// `/bytes/1`; an even byte lets it through, anything else gets a 403.
/// Responses, local or not, get `Powered-By: proxy-wasm`.
#[test]
fn example_http_auth_random_lets_even_bytes_through() {
    for (release, _) in SDK_RELEASES {
        let name = format!("http_auth_random of {release}");
        let wasm = example(release, "http_auth_random");
        let answer = |byte: u8| Input {
            http_call_response: HttpCallResponse {
                headers: pairs(&[(":status", "200")]),
                body: vec![byte],
                trailers: Vec::new(),
            },
            ..example_input("/x")
        };

        let report = run_ok(&name, &wasm, &answer(2));
        let host = &report.host;
        assert_eq!(host.http_calls.len(), 1, "{name}");
        let call = &host.http_calls[0];
        assert_eq!((call.upstream.as_str(), call.timeout_ms), ("httpbin", 5000));
        assert_eq!(
            text_pairs(&call.headers),
            expect_pairs(&[
                (":method", "GET"),
                (":path", "/bytes/1"),
                (":authority", "httpbin.org"),
            ]),
            "{name}"
        );
        assert_eq!(messages(host), ["Access granted."], "{name}");
        assert_eq!(host.continued, [StreamType::HttpRequest], "{name}");
        assert!(host.local_response.is_none(), "{name}");
        assert_eq!(
            value_of(&host.response_headers, "powered-by").as_deref(),
            Some("proxy-wasm")
        );

        let report = run_ok(&name, &wasm, &answer(1));
        let host = &report.host;
        assert_eq!(messages(host), ["Access forbidden."], "{name}");
        assert!(host.continued.is_empty(), "{name}");
        let local = host.local_response.as_ref().expect("a 403");
        assert_eq!(
            (local.status_code, local.body.as_slice()),
            (403, &b"Access forbidden.\n"[..])
        );
        // Set once by the 403 itself and replaced by the response callback.
        assert_eq!(
            text_pairs(&host.response_headers),
            expect_pairs(&[
                (":status", "403"),
                ("Powered-By", "proxy-wasm"),
                ("content-length", "18"),
                ("content-type", "text/plain"),
            ]),
            "{name}"
        );
    }
}

/// http_body: holds the response body until its end, then redacts it if it
/// mentions "secret"; drops `content-length`, since the length may change.
#[test]
fn example_http_body_redacts_secret_responses() {
    for (release, _) in SDK_RELEASES {
        let name = format!("http_body of {release}");
        let wasm = example(release, "http_body");
        let input = Input {
            response_headers: pairs(&[(":status", "200"), ("content-length", "24")]),
            response_body: b"this is a secret message".to_vec(),
            chunk_size: Some(10),
            ..example_input("/x")
        };
        let report = run_ok(&name, &wasm, &input);
        assert_eq!(
            report.response_forwarded, b"Original message body (24 bytes) redacted.",
            "{name}"
        );
        assert_eq!(
            text_pairs(&report.host.response_headers),
            expect_pairs(&[(":status", "200")]),
            "{name}"
        );
        let bodies: Vec<String> = steps(&report.steps)
            .into_iter()
            .filter(|s| s.starts_with("proxy_on_response_body"))
            .collect();
        assert_eq!(
            bodies,
            [
                "proxy_on_response_body(2, 10, false) -> Pause",
                "proxy_on_response_body(2, 20, false) -> Pause",
                "proxy_on_response_body(2, 24, true) -> Continue",
            ],
            "{name}"
        );

        let plain = Input {
            response_body: b"nothing to hide".to_vec(),
            ..input
        };
        let report = run_ok(&name, &wasm, &plain);
        assert_eq!(report.response_forwarded, b"nothing to hide", "{name}");
    }
}

/// http_config: adds the plugin configuration as the response header
/// `custom-header` (0.1.4 reads it with 0.1.0's `proxy_get_configuration`).
#[test]
fn example_http_config_adds_the_configured_header() {
    for (release, _) in SDK_RELEASES {
        let name = format!("http_config of {release}");
        let input = Input {
            plugin_configuration: b"from the configuration".to_vec(),
            ..example_input("/x")
        };
        let report = run_ok(&name, &example(release, "http_config"), &input);
        assert_eq!(
            text_pairs(&report.host.response_headers),
            expect_pairs(&[
                (":status", "200"),
                ("custom-header", "from the configuration")
            ]),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------
// 12. What a host provides besides headers and bodies
// ---------------------------------------------------------------------------

/// A POST with a query, a body and trailers, a response with trailers, the
/// property `node.id`, and the host at INFO.
fn inputs_input() -> Input {
    Input {
        request_headers: pairs(&[
            (":method", "POST"),
            (":path", "/a/b?x=1"),
            (":authority", "example.com"),
        ]),
        request_body: b"hi".to_vec(),
        request_trailers: pairs(&[("grpc-status", "0")]),
        response_headers: ok_response(),
        response_body: b"ok".to_vec(),
        response_trailers: pairs(&[("checksum", "abc")]),
        properties: vec![(vec![b"node".to_vec(), b"id".to_vec()], b"n1".to_vec())],
        log_level: Some(LogLevel::Info),
        ..Input::default()
    }
}

/// Request attributes follow the headers (as Envoy's do), set properties
/// are readable and the plugin's writes are reported; logs below the host's
/// level are dropped; trailers arrive after the body, and the plugin's
/// changes to them are kept.
#[test]
fn properties_log_level_and_trailers_reach_the_plugin() {
    let wasm = fixture("sdk-inputs");
    let report = run_ok("sdk-inputs", &wasm, &inputs_input());
    let host = &report.host;
    assert_eq!(
        messages(host),
        [
            "host log level: Info",
            "request POST /a/b?x=1 (url path /a/b) on example.com",
            "request trailer grpc-status: 0",
        ]
    );
    assert_eq!(
        text_pairs(&host.request_trailers),
        expect_pairs(&[("grpc-status", "0"), ("x-trailers-seen", "1")])
    );
    assert_eq!(
        text_pairs(&host.response_trailers),
        expect_pairs(&[("checksum", "abc"), ("x-response-trailers-seen", "1")])
    );
    let written: Vec<_> = report
        .properties_written()
        .into_iter()
        .map(|(path, value)| {
            let value = String::from_utf8_lossy(value).into_owned();
            (runner::property_name(path), value)
        })
        .collect();
    assert_eq!(
        written,
        [("x.seen_path".to_string(), "/a/b?x=1".to_string())]
    );
    assert_eq!(
        steps(&report.steps)[4..8],
        [
            "proxy_on_request_headers(2, 3, false) -> Continue",
            "proxy_on_request_body(2, 2, false) -> Continue",
            "proxy_on_request_trailers(2, 1) -> Continue",
            "proxy_on_response_headers(2, 1, false) -> Continue",
        ],
        "with trailers to come, the body does not end the stream"
    );

    // At DEBUG the node id gets through; without the property it is absent.
    let input = Input {
        log_level: Some(LogLevel::Debug),
        properties: Vec::new(),
        ..inputs_input()
    };
    let report = run_ok("sdk-inputs", &wasm, &input);
    assert_logged(&report.host, LogLevel::Debug, "node (none)");
}

/// A call that fails (reset or timed out) comes back with no headers and no
/// body, as Envoy reports it; the callout fixture then denies the request.
#[test]
fn a_failed_http_call_comes_back_empty() {
    let wasm = fixture("sdk-http-callout");
    let input = Input {
        http_call_fails: true,
        http_call_response: auth_answer("200"),
        ..example_input("/orders")
    };
    let report = run_ok("sdk-http-callout", &wasm, &input);
    assert!(
        steps(&report.steps)
            .contains(&"proxy_on_http_call_response(1, 1, 0, 0, 0) -> ()".to_string())
    );
    let local = report.host.local_response.as_ref().expect("denied");
    assert_eq!(local.status_code, 403);
    assert_eq!(
        text_pairs(&local.headers),
        expect_pairs(&[("x-auth-status", "")])
    );
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites
/// the file instead.
#[track_caller]
fn assert_golden(name: &str, actual: &str) {
    let path = proxy_wasm_abi_tests::workspace_root()
        .join("tests")
        .join("golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if actual != expected {
        // The first line that differs, rather than two whole files.
        let (mut want, mut got) = (expected.lines(), actual.lines());
        let mut line = 1;
        loop {
            match (want.next(), got.next()) {
                (a, b) if a == b && a.is_some() => line += 1,
                (a, b) => panic!(
                    "{} differs from what the runner prints now, first at line {line}:\n  \
                     file: {a:?}\n   now: {b:?}\nrerun with UPDATE_GOLDEN=1 if the change is intended",
                    path.display()
                ),
            }
        }
    }
}

/// What `proxy-wasm-abi run` prints, as text and as `--format json`, for the
/// inputs fixture: compared with `tests/golden/sdk-inputs.{txt,json}`.
#[test]
fn run_output_matches_the_golden_files() {
    let wasm = fixture("sdk-inputs");
    let report = run_ok("sdk-inputs", &wasm, &inputs_input());
    assert_golden("sdk-inputs.txt", &format!("{report}\n"));
    assert_golden("sdk-inputs.json", &format!("{:#}\n", report.to_json()));
    // The JSON is for tools: it names the version the plugin ran as.
    let parsed = report.to_json();
    assert_eq!(parsed["abi_version"], "0.2.1");
    assert_eq!(parsed["request"]["trailers"][1][0], "x-trailers-seen");
}

/// A scenario file with three requests on one plugin instance
/// (`tests/golden/sdk-shared-data.toml`): state shared between requests
/// carries over, each report shows its own request's logs, and the output
/// is what `proxy-wasm-abi run --scenario` prints.
#[test]
fn a_scenario_runs_its_requests_on_one_instance() {
    let dir = proxy_wasm_abi_tests::workspace_root()
        .join("tests")
        .join("golden");
    let text = std::fs::read_to_string(dir.join("sdk-shared-data.toml")).unwrap();
    let scenario = runner::scenario::parse(&text, &dir).expect("the scenario parses");
    let reports = runner::run_all(&fixture("sdk-shared-data"), &scenario.inputs)
        .unwrap_or_else(|e| panic!("sdk-shared-data: {e}"));
    assert_eq!(scenario.expectations.check(&reports), Vec::<String>::new());
    let hits: Vec<_> = reports
        .iter()
        .map(|r| value_of(&r.host.request_headers, "x-hits"))
        .collect();
    let expected = ["1", "2", "3"].map(|n| Some(n.to_string()));
    assert_eq!(hits, expected);
    // Each request on a stream context of its own, under the root context 1.
    let contexts: Vec<_> = reports
        .iter()
        .flat_map(|r| &r.steps)
        .map(|s| s.call.as_str())
        .filter(|call| call.starts_with("proxy_on_context_create") && call.ends_with(", 1)"))
        .collect();
    assert_eq!(
        contexts,
        [
            "proxy_on_context_create(2, 1)",
            "proxy_on_context_create(3, 1)",
            "proxy_on_context_create(4, 1)",
        ]
    );
    assert!(reports[1].logs().iter().all(|(_, m)| !m.contains("/first")));
    assert_golden(
        "sdk-shared-data.txt",
        &format!("{}\n", runner::reports_text(&reports)),
    );
    assert_golden(
        "sdk-shared-data.json",
        &format!("{:#}\n", runner::reports_json(&reports)),
    );
}

/// The clock, extra timer firings and queue items from outside are inputs
/// too: the hello-tick fixture logs the clock at start and counts ticks,
/// the shared-data fixture drains what another plugin put on its queue.
#[test]
fn clock_ticks_and_queue_items_are_inputs() {
    let input = Input {
        clock_ns: Some(1_700_000_000_000_000_000),
        ticks: 3,
        ..example_input("/")
    };
    let report = run_ok("sdk-hello-tick", &fixture("sdk-hello-tick"), &input);
    assert_eq!(
        messages(&report.host),
        [
            "hello from sdk-hello-tick",
            "the host clock reads 1700000000 s since the epoch",
            "tick 1",
            "tick 2",
            "tick 3",
            "tick 4",
            "tick 5",
        ],
        "once after start, once after the request, then three more"
    );

    let input = Input {
        enqueue: vec![
            ("sdk-events".to_string(), b"from outside".to_vec()),
            ("no-such-queue".to_string(), b"lost".to_vec()),
        ],
        ..example_input("/inside")
    };
    let report = run_ok("sdk-shared-data", &fixture("sdk-shared-data"), &input);
    let logged = messages(&report.host);
    let dequeued: Vec<_> = logged
        .iter()
        .filter(|m| m.starts_with("dequeued "))
        .collect();
    assert_eq!(
        dequeued,
        [&"dequeued from outside", &"dequeued /inside"],
        "the outside item comes first, before the request"
    );
    assert!(
        steps(&report.steps).contains(&"(enqueue on `no-such-queue`) -> no such queue".to_string())
    );
}

/// Foreign functions the host offers answer their bytes and are recorded;
/// any other name is NOT_FOUND.
#[test]
fn foreign_functions_answer_what_they_were_given() {
    use proxy_wasm_abi_tools::runner::bindings::{Host, Status};
    let mut host = ReferenceHost::default();
    host.foreign_functions
        .insert("compress".to_string(), b"zz".to_vec());
    assert_eq!(
        host.proxy_call_foreign_function("compress", b"aaaa"),
        Ok(b"zz".to_vec())
    );
    assert_eq!(
        host.proxy_call_foreign_function("expand", b""),
        Err(Status::NotFound)
    );
    assert_eq!(
        host.foreign_calls,
        [("compress".to_string(), b"aaaa".to_vec())]
    );
}

/// gRPC: a unary call per request (its reply resumes the request, its
/// failure answers 503 with the status `proxy_get_status` reports) and a
/// stream opened at start (metadata, messages and close delivered in order).
#[test]
fn grpc_calls_and_streams_get_their_answers() {
    let wasm = fixture("sdk-grpc");
    let reply = reference::GrpcResponse {
        initial_metadata: pairs(&[("x-feed", "1"), ("x-shard", "7")]),
        messages: vec![b"allowed".to_vec(), b"second".to_vec()],
        trailing_metadata: pairs(&[("grpc-status", "0")]),
        status: 0,
        status_message: String::new(),
    };
    let input = Input {
        grpc_response: reply.clone(),
        ..example_input("/orders")
    };
    let report = run_ok("sdk-grpc", &wasm, &input);
    let host = &report.host;
    assert_eq!(
        messages(host),
        [
            "stream 1: opened",
            "stream 1: 2 initial metadata: x-feed, x-shard",
            "stream 1: message allowed",
            "stream 1: message second",
            "stream 1: 1 trailing metadata",
            "stream 1: closed with status 0",
            "call 2: checking /orders",
            "call 2: allowed",
        ]
    );
    let (stream, call) = (&host.grpc_calls[0], &host.grpc_calls[1]);
    assert_eq!(
        (
            stream.service.as_str(),
            stream.method.as_str(),
            stream.timeout_ms
        ),
        ("feed.Feed", "Watch", None)
    );
    assert_eq!(stream.messages, [b"hello".to_vec()]);
    assert!(stream.half_closed);
    assert_eq!(
        (
            call.upstream.as_str(),
            call.service.as_str(),
            call.timeout_ms
        ),
        ("authz", "authz.Authz", Some(1000))
    );
    assert_eq!(call.messages, [b"/orders".to_vec()]);
    assert_eq!(
        text_pairs(&call.initial_metadata),
        expect_pairs(&[("x-trace", "t1")])
    );
    assert_eq!(
        value_of(&host.request_headers, "x-authz").as_deref(),
        Some("allowed")
    );
    assert_eq!(host.continued, [StreamType::HttpRequest]);

    let failing = Input {
        grpc_response: reference::GrpcResponse {
            status: 14,
            status_message: "upstream connect error".to_string(),
            ..reply
        },
        ..example_input("/orders")
    };
    let report = run_ok("sdk-grpc", &wasm, &failing);
    assert_logged(
        &report.host,
        LogLevel::Info,
        "call 2: failed with 14 (upstream connect error)",
    );
    assert_logged(
        &report.host,
        LogLevel::Info,
        "stream 1: closed with status 14",
    );
    let local = report.host.local_response.as_ref().expect("a 503");
    assert_eq!(local.status_code, 503);
    assert!(
        steps(&report.steps).contains(&"proxy_on_grpc_close(1, 2, 14) -> ()".to_string()),
        "a failed call is closed, not received"
    );
}

// ---------------------------------------------------------------------------
// 13. Streams in flight together
// ---------------------------------------------------------------------------

/// Three requests for `sdk-stream-state` configured with `config`.
fn echo_inputs(config: &str) -> Vec<Input> {
    ["/a", "/b", "/c"]
        .into_iter()
        .map(|path| Input {
            request_headers: get(path),
            response_headers: ok_response(),
            plugin_configuration: config.as_bytes().to_vec(),
            ..Input::default()
        })
        .collect()
}

/// The `x-request-path` each report's response went out with.
fn echoed(reports: &[Report]) -> Vec<Option<String>> {
    reports
        .iter()
        .map(|r| value_of(&r.host.response_headers, "x-request-path"))
        .collect()
}

/// Interleaved, every stream is created, then every request runs, then
/// every response: each stream still sees its own headers, and a plugin
/// that keeps state per stream answers each with its own path.
#[test]
fn interleaved_streams_keep_their_own_state() {
    let wasm = fixture("sdk-stream-state");
    let inputs = echo_inputs("");
    let reports = runner::run_scheduled(&wasm, &inputs, runner::Schedule::Interleaved)
        .unwrap_or_else(|e| panic!("{e}"));
    let paths = ["/a", "/b", "/c"].map(|p| Some(p.to_string()));
    assert_eq!(echoed(&reports), paths);
    for (report, context) in reports.iter().zip(STREAM_CONTEXT..) {
        assert_eq!(report.context, context);
        assert_eq!(
            value_of(&report.host.request_headers, ":path"),
            value_of(&report.request_before.0, ":path"),
            "stream {context}'s own request headers"
        );
        // Each report has its own stream's callbacks, in lifecycle order.
        let own: Vec<String> = steps(&report.steps)
            .into_iter()
            .filter(|s| s.contains(&format!("({context}")))
            .map(|s| s[..s.find('(').unwrap()].to_string())
            .collect();
        assert_eq!(
            own,
            [
                "proxy_on_context_create",
                "proxy_on_request_headers",
                "proxy_on_response_headers",
                "proxy_on_done",
                "proxy_on_log",
                "proxy_on_delete",
            ],
            "stream {context}"
        );
    }
    // The plugin saw all three requests before any response.
    let host = &reports[2].host;
    assert_eq!(
        messages(host),
        [
            "paths kept per stream",
            "stream 2 requests Some(\"/a\")",
            "stream 3 requests Some(\"/b\")",
            "stream 4 requests Some(\"/c\")",
        ]
    );
    assert!(host.streams.is_empty(), "ended streams leave the host");
    assert_no_failures(host);
}

/// A plugin that keeps a request's state where the next request overwrites
/// it passes every request run one after another, and fails interleaved:
/// the interleaved schedule exists to show this.
#[test]
fn shared_state_shows_only_when_streams_interleave() {
    let wasm = fixture("sdk-stream-state");
    let inputs = echo_inputs("shared");
    let one_by_one = runner::run_all(&wasm, &inputs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        echoed(&one_by_one),
        ["/a", "/b", "/c"].map(|p| Some(p.to_string()))
    );
    let together = runner::run_scheduled(&wasm, &inputs, runner::Schedule::Interleaved)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        echoed(&together),
        ["/c", "/c", "/c"].map(|p| Some(p.to_string())),
        "every response gets the last request's path"
    );
}

/// Two requests paused on their own HTTP calls at once: each call gets its
/// own input's answer, and the SDK's switch of the effective context makes
/// each answer reach its own stream: the first resumed with the user, the
/// second refused.
#[test]
fn interleaved_callouts_reach_their_own_streams() {
    let wasm = fixture("sdk-http-callout");
    let inputs = [
        Input {
            request_headers: get("/orders"),
            response_headers: ok_response(),
            http_call_response: auth_answer("200"),
            ..Input::default()
        },
        Input {
            request_headers: get("/admin"),
            response_headers: ok_response(),
            http_call_response: auth_answer("401"),
            ..Input::default()
        },
    ];
    let reports = runner::run_scheduled(&wasm, &inputs, runner::Schedule::Interleaved)
        .unwrap_or_else(|e| panic!("{e}"));
    let (allowed, refused) = (&reports[0], &reports[1]);

    assert_eq!(allowed.http_calls().len(), 1);
    assert_eq!(allowed.http_calls()[0].context, STREAM_CONTEXT);
    assert_eq!(allowed.host.continued, [StreamType::HttpRequest]);
    assert_eq!(
        value_of(&allowed.host.request_headers, "x-auth-user"),
        Some("alice".to_string())
    );
    assert!(allowed.host.local_response.is_none());
    assert_eq!(
        value_of(&allowed.host.response_headers, ":status"),
        Some("200".to_string())
    );

    assert_eq!(refused.http_calls().len(), 1);
    assert_eq!(refused.http_calls()[0].context, STREAM_CONTEXT + 1);
    assert!(refused.host.continued.is_empty(), "not resumed");
    assert_eq!(value_of(&refused.host.request_headers, "x-auth-user"), None);
    let local = refused.host.local_response.as_ref().expect("refused");
    assert_eq!(local.status_code, 403);
    // The local reply went back through the second stream's callbacks.
    assert_eq!(
        value_of(&refused.host.response_headers, ":status"),
        Some("403".to_string())
    );
    assert_no_failures(&refused.host);
}

/// An interleaved scenario file (`tests/golden/sdk-stream-state.toml`), as
/// `proxy-wasm-abi run --scenario` prints it: each report shows its own
/// stream, and the plugin's shared cell shows in every response.
#[test]
fn an_interleaved_scenario_prints_each_stream() {
    let dir = proxy_wasm_abi_tests::workspace_root()
        .join("tests")
        .join("golden");
    let text = std::fs::read_to_string(dir.join("sdk-stream-state.toml")).unwrap();
    let scenario = runner::scenario::parse(&text, &dir).expect("the scenario parses");
    assert_eq!(scenario.schedule, runner::Schedule::Interleaved);
    let wasm = fixture("sdk-stream-state");
    let reports = runner::run_scheduled(&wasm, &scenario.inputs, scenario.schedule)
        .unwrap_or_else(|e| panic!("sdk-stream-state: {e}"));
    assert_eq!(
        echoed(&reports),
        ["/c", "/c", "/c"].map(|p| Some(p.to_string()))
    );
    assert_golden(
        "sdk-stream-state.txt",
        &format!("{}\n", runner::reports_text(&reports)),
    );
}
