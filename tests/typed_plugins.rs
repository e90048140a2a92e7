//! Plugins on the typed host calls of the generated guest bindings
//! (`abi::host`), run on the generated host with the in-memory
//! `ReferenceHost`.
//!
//! - `tests/plugins/typed-plugin` calls every host function of v0.2.1 and
//!   logs what each answered; a test host then answers statuses the
//!   official SDK panics on (6, 12 and 99, which no version defines), and
//!   the plugin gets them as values.
//! - `tests/plugins/typed-headers` is `sdk-fixtures/sdk-headers` written on
//!   the typed layer: it does the same to the same request, and its module
//!   is no larger than the SDK's.

use std::collections::BTreeSet;

use proxy_wasm_abi_tests::{build_plugin, build_workspace_plugin, header_input, pairs};
use proxy_wasm_abi_tools::runner::bindings::{CallError, LogLevel};
use proxy_wasm_abi_tools::runner::reference::{HttpCallResponse, Pairs};
use proxy_wasm_abi_tools::runner::{
    self, Input, ROOT_CONTEXT, ReferenceHost, Report, RunError, Session,
};

/// The compiled plugin `name` under `tests/plugins`.
fn plugin(name: &str) -> Vec<u8> {
    let path = build_plugin(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The logged messages, without levels.
fn messages(host: &ReferenceHost) -> Vec<&str> {
    host.logs.iter().map(|(_, m)| m.as_str()).collect()
}

/// Panics unless every line of `expected` was logged, listing what was.
#[track_caller]
fn assert_logged(host: &ReferenceHost, expected: &[&str]) {
    let logged = messages(host);
    let missing: Vec<_> = expected.iter().filter(|m| !logged.contains(m)).collect();
    assert!(
        missing.is_empty(),
        "not logged: {missing:#?}\nlogged: {logged:#?}"
    );
}

/// The request the exhaustive plugin gets.
fn exhaustive_input() -> Input {
    Input {
        request_headers: pairs(&[
            (":method", "POST"),
            (":path", "/typed"),
            (":authority", "example.com"),
            ("user-agent", "curl/8.5"),
            ("x-remove-me", "1"),
        ]),
        request_body: b"payload".to_vec(),
        response_headers: pairs(&[(":status", "200"), ("server", "upstream")]),
        plugin_configuration: b"typed config".to_vec(),
        http_call_response: HttpCallResponse {
            headers: pairs(&[(":status", "201"), ("x-callout", "yes")]),
            body: b"callout body".to_vec(),
            trailers: Vec::new(),
        },
        foreign_functions: vec![("echo".to_string(), b"pong".to_vec())],
        ..Input::default()
    }
}

#[test]
fn a_typed_plugin_calls_every_host_function() {
    let wasm = plugin("typed-plugin");
    let report: Report = runner::run(&wasm, &exhaustive_input())
        .unwrap_or_else(|error| panic!("typed-plugin did not run: {error}"));
    let host = &report.host;

    // Every host function of v0.2.1 was called but proc_exit, which ends
    // the plugin: only a plugin with a VM configuration calls it, on its
    // second tick (see `statuses_the_sdk_panics_on_are_values`).
    let abi = proxy_wasm_abi_spec::standard();
    let v021 = abi
        .at("0.2.1".parse().expect("a version"))
        .expect("declared");
    let called: BTreeSet<&str> = report
        .host_calls
        .iter()
        .map(|call| call.function.as_str())
        .collect();
    let missing: Vec<&str> = v021
        .host_functions()
        .map(|f| f.name.as_str())
        .filter(|name| !called.contains(name) && *name != "proc_exit")
        .collect();
    assert!(missing.is_empty(), "never called: {missing:?}");
    assert_eq!(v021.host_functions().count(), 47);
    assert_eq!(host.exit_code, None);

    // What it read back, decoded by the typed layer.
    assert_logged(
        host,
        &[
            "get_buffer_status: ok (12, 0)",
            "configuration: typed config",
            "get_log_level: ok 0",
            "get_current_time_nanoseconds: ok 1577836800000000000",
            "clock_time_get: ok 1577836800000000000",
            "environ_sizes_get: ok (0, 0)",
            "environ_get: ok ()",
            "args_get: ok ()",
            "typed fd_write",
            "fd_write: ok 15",
            "get_metric: ok 3",
            "shared: one cas 1",
            "resolve_shared_queue: ok 1",
            "dequeued: item",
            // EMPTY and NOT_FOUND are values too.
            "dequeue_shared_queue: status=7",
            "property: value",
            "foreign: pong",
            "call_foreign_function: status=1",
            "grpc_send: ok ()",
            "set_effective_context: status=2",
            "done: status=1",
            "request_headers: 5 header(s)",
            "request: :method=POST,:path=/typed,:authority=example.com,user-agent=curl/8.5,x-remove-me=1",
            "path: /typed",
            "get_header_map_value: status=1",
            "body: typed:payload",
            "send_local_response: ok ()",
            "get_status: ok (201, \"\")",
            "call response: :status=201,x-callout=yes",
            "call body: callout body",
            "close_stream: ok ()",
        ],
    );
    // What it changed, through map, bytes and path arguments.
    let text = |list: &Pairs| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        text(&host.request_headers),
        text(&pairs(&[
            (":method", "POST"),
            (":path", "/typed"),
            (":authority", "example.com"),
            ("user-agent", "typed/1"),
            ("x-typed", "added"),
            ("x-rewritten", "yes"),
        ]))
    );
    assert_eq!(report.request_forwarded, b"typed:payload");
    let reply = host.local_response.as_ref().expect("a local response");
    assert_eq!(
        (reply.status_code, reply.body.as_slice()),
        (403, &b"denied by typed"[..])
    );
    assert_eq!(host.foreign_calls, [("echo".to_string(), b"ping".to_vec())]);
    let call = &report.http_calls()[0];
    assert_eq!(call.body, b"ask");
    assert_eq!(
        host.properties
            .get(&vec![b"typed".to_vec(), b"key".to_vec()]),
        Some(&b"value".to_vec())
    );
    // No status made it trap, and none was logged as a failure.
    assert!(report.failure.is_none(), "{:?}", report.failure);
    assert!(
        !host
            .logs
            .iter()
            .any(|(level, _)| matches!(level, LogLevel::Error | LogLevel::Critical)),
        "{:#?}",
        host.logs
    );
}

/// Statuses the official SDK panics on (`panic!("unexpected status")`,
/// a trap): INVALID_MEMORY_ACCESS (6), UNIMPLEMENTED (12) and 99, which no
/// version defines. The test host answers them instead of running the
/// functions; the plugin logs each as a value and its callback returns.
#[test]
fn statuses_the_sdk_panics_on_are_values() {
    let wasm = plugin("typed-plugin");
    let host = ReferenceHost {
        plugin_configuration: b"typed config".to_vec(),
        // Asks the plugin to call proc_exit on its second tick.
        vm_configuration: b"exit".to_vec(),
        ..ReferenceHost::default()
    };
    let mut session = Session::new(&wasm, host).expect("typed-plugin loads");
    session.start().expect("typed-plugin starts");
    session.take_host_calls();
    let plugin = &mut session.store.data_mut().plugin;
    plugin.answer_instead("proxy_get_metric", Some(99));
    plugin.answer_instead("proxy_get_shared_data", Some(6));
    plugin.answer_instead("proxy_set_tick_period_milliseconds", Some(12));
    let ticked = session.call(format!("proxy_on_tick({ROOT_CONTEXT})"), |p, store| {
        p.proxy_on_tick(store, ROOT_CONTEXT)
    });
    assert!(
        matches!(ticked, Ok(Some(()))),
        "the tick trapped: {ticked:?}"
    );
    let answered: Vec<(String, Option<String>)> = session
        .take_host_calls()
        .into_iter()
        .filter(|call| call.function != "proxy_log")
        .map(|call| (call.function, call.status))
        .collect();
    let expect = |f: &str, s: &str| (f.to_string(), Some(s.to_string()));
    assert_eq!(
        answered,
        [
            expect("proxy_get_metric", "99"),
            expect("proxy_get_shared_data", "INVALID_MEMORY_ACCESS"),
            expect("proxy_set_tick_period_milliseconds", "UNIMPLEMENTED"),
        ]
    );
    let host = session.store.data();
    assert_logged(
        host,
        &[
            "get_metric: status=99",
            "get_shared_data: status=6",
            "set_tick_period_milliseconds: status=12",
        ],
    );

    // The second tick calls proc_exit(7): the host gets the code and the
    // callback ends there, so nothing after the call runs.
    let exited = session.call(format!("proxy_on_tick({ROOT_CONTEXT})"), |p, store| {
        p.proxy_on_tick(store, ROOT_CONTEXT)
    });
    assert!(
        matches!(
            &exited,
            Err(RunError::Callback {
                error: CallError::Exit {
                    callback: "proxy_on_tick",
                    code: 7
                },
                ..
            })
        ),
        "the second tick did not end the plugin: {exited:?}"
    );
    let host = session.store.data();
    assert_eq!(host.exit_code, Some(7));
    assert!(
        !host.logs.iter().any(|(_, line)| line == "after proc_exit"),
        "the plugin ran on after proc_exit"
    );
}

/// The module size of `sdk-fixtures/sdk-headers` (official SDK 0.2.5) and
/// of `typed-headers` (the same logic on the typed layer), both release
/// builds for wasm32-wasip1 with the same profile; the typed one must be
/// no larger. Both also do the same to the same request.
#[test]
fn the_typed_layer_is_no_larger_than_the_sdk() {
    let typed_path = build_plugin("typed-headers");
    let sdk_path = build_workspace_plugin("sdk-fixtures", "sdk-headers");
    let size = |path: &std::path::Path| std::fs::metadata(path).expect("built").len();
    let (typed, sdk) = (size(&typed_path), size(&sdk_path));
    println!("sdk-headers on the proxy-wasm 0.2.5 SDK: {sdk} bytes");
    println!("typed-headers on abi::host:              {typed} bytes");
    assert!(
        typed <= sdk,
        "the typed plugin ({typed} bytes) is larger than the SDK's ({sdk} bytes)"
    );

    // The input the SDK's header fixture runs with in tests/sdk_plugins.rs.
    let input = header_input();
    let run = |path: &std::path::Path| {
        let wasm = std::fs::read(path).expect("built");
        runner::run(&wasm, &input).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (typed, sdk) = (run(&typed_path), run(&sdk_path));
    assert_eq!(typed.host.request_headers, sdk.host.request_headers);
    assert_eq!(typed.host.response_headers, sdk.host.response_headers);
    assert_eq!(typed.steps, sdk.steps);
    assert_eq!(messages(&typed.host), messages(&sdk.host));
    assert_logged(
        &typed.host,
        &["stream 2: request had 5 header(s); tagged, user-agent replaced, x-debug-token removed"],
    );
}
