//! A Proxy-Wasm plugin for ABI 0.2.1 written only on the typed host calls
//! of this project's generated guest bindings (`abi::host`): no `unsafe`
//! but for `environ_get` and `args_get`, whose extents only the
//! description's text gives, and no raw import.
//!
//! It calls every host function of v0.2.1 at least once and logs, for
//! each, one line: `<function>: ok <value>` or `<function>: status=<n>`,
//! so a test sees what the plugin got back, including statuses the
//! official SDK would panic on (it does not trap on any).
//!
//! - `proxy_on_configure`: configuration, clocks, randomness, environment,
//!   arguments, `fd_write`, metrics, shared data, queues, properties, a
//!   foreign function, gRPC calls and streams, contexts, `proxy_done`;
//! - `proxy_on_request_headers`: every header map function, an HTTP call,
//!   resuming the request;
//! - `proxy_on_request_body`: the body buffer;
//! - `proxy_on_response_headers`: a local response;
//! - `proxy_on_http_call_response`: the call's status, headers and body;
//! - `proxy_on_log`: closing the stream;
//! - `proxy_on_tick`: the metric, shared data and tick period once more
//!   (where a test host answers statuses of its choosing); on the second
//!   tick, if the VM has a configuration, `proc_exit(7)`, which ends the
//!   plugin.

mod abi {
    proxy_wasm_abi::guest!({ version: "0.2.1" });
}

use std::cell::Cell;
use std::fmt::Debug;

use abi::{
    Action, BufferType, Callbacks, LogLevel, MapType, MetricType, RawStatus, StreamType,
    WasiClockId, WasiFdId, host,
};

thread_local! {
    /// The counter defined in `proxy_on_configure`.
    static METRIC: Cell<u32> = const { Cell::new(0) };
    /// Whether the local response was sent (once).
    static REPLIED: Cell<bool> = const { Cell::new(false) };
    /// How many ticks there were.
    static TICKS: Cell<u32> = const { Cell::new(0) };
    /// Whether the second tick calls `proc_exit(7)`: when the VM has a
    /// configuration.
    static EXIT_ON_SECOND_TICK: Cell<bool> = const { Cell::new(false) };
}

/// Logs `message` at INFO; a failure to log is ignored (there is nowhere
/// else to say it).
fn say(message: &str) {
    let _ = host::log(LogLevel::Info, message);
}

/// Logs what a typed call answered: `name: ok <value>` or
/// `name: status=<n>`. Statuses of any type print as their number.
fn report<T: Debug, S: Raw>(name: &str, result: Result<T, S>) -> Option<T> {
    match result {
        Ok(value) => {
            say(&format!("{name}: ok {value:?}"));
            Some(value)
        }
        Err(status) => {
            say(&format!("{name}: status={}", status.raw()));
            None
        }
    }
}

/// A status type's number.
trait Raw {
    fn raw(&self) -> u32;
}

impl Raw for RawStatus {
    fn raw(&self) -> u32 {
        self.0
    }
}

impl Raw for abi::RawWasiErrno {
    fn raw(&self) -> u32 {
        self.0
    }
}

/// Text of bytes, for the logs.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Pairs as `k=v` text, for the logs.
fn pairs(list: &[(Vec<u8>, Vec<u8>)]) -> String {
    list.iter()
        .map(|(k, v)| format!("{}={}", text(k), text(v)))
        .collect::<Vec<_>>()
        .join(",")
}

struct Plugin;

impl Callbacks for Plugin {
    fn proxy_on_vm_start(_unused: u32, vm_configuration_size: usize) -> bool {
        say(&format!("vm_start: {vm_configuration_size} bytes"));
        // Any VM configuration asks for proc_exit on the second tick.
        EXIT_ON_SECOND_TICK.set(vm_configuration_size > 0);
        true
    }

    fn proxy_on_configure(plugin_context_id: u32, size: usize) -> bool {
        let buffer = BufferType::PluginConfiguration;
        report("get_buffer_status", host::get_buffer_status(buffer));
        if let Some(config) = report("get_buffer_bytes", host::get_buffer_bytes(buffer, 0, size)) {
            say(&format!("configuration: {}", text(&config)));
        }
        report(
            "set_tick_period_milliseconds",
            host::set_tick_period_milliseconds(1000),
        );
        report("get_log_level", host::get_log_level().map(|level| level.0));
        #[allow(deprecated)]
        let now = host::get_current_time_nanoseconds();
        report("get_current_time_nanoseconds", now);
        report(
            "clock_time_get",
            host::clock_time_get(WasiClockId::Realtime),
        );
        let mut random = [0u8; 12];
        report("random_get", host::random_get(&mut random));
        if let Some((count, size)) = report("environ_sizes_get", host::environ_sizes_get()) {
            let mut array = vec![std::ptr::null_mut::<u8>(); count];
            let mut bytes = vec![0u8; size];
            // SAFETY: room for the `count` pointers and `size` bytes the
            // host just reported.
            let written = unsafe { host::environ_get(array.as_mut_ptr(), bytes.as_mut_ptr()) };
            report("environ_get", written);
        }
        if let Some((count, size)) = report("args_sizes_get", host::args_sizes_get()) {
            let mut array = vec![std::ptr::null_mut::<u8>(); count];
            let mut bytes = vec![0u8; size];
            // SAFETY: as for `environ_get`.
            let written = unsafe { host::args_get(array.as_mut_ptr(), bytes.as_mut_ptr()) };
            report("args_get", written);
        }
        report(
            "fd_write",
            host::fd_write(WasiFdId::Stdout, &[b"typed ", b"fd_write\n"]),
        );

        let counter = report(
            "define_metric",
            host::define_metric(MetricType::Counter, "typed_calls"),
        );
        let counter = counter.unwrap_or_default();
        METRIC.set(counter);
        report("increment_metric", host::increment_metric(counter, 3));
        report("get_metric", host::get_metric(counter));
        let gauge = report(
            "define_metric",
            host::define_metric(MetricType::Gauge, "typed_gauge"),
        );
        report(
            "record_metric",
            host::record_metric(gauge.unwrap_or_default(), 42),
        );

        report("set_shared_data", host::set_shared_data("typed", b"one", 0));
        if let Some((value, cas)) = report("get_shared_data", host::get_shared_data("typed")) {
            say(&format!("shared: {} cas {cas}", text(&value)));
        }
        let queue = report(
            "register_shared_queue",
            host::register_shared_queue("typed_queue"),
        );
        report(
            "resolve_shared_queue",
            host::resolve_shared_queue("", "typed_queue"),
        );
        let queue = queue.unwrap_or_default();
        report(
            "enqueue_shared_queue",
            host::enqueue_shared_queue(queue, b"item"),
        );
        if let Some(item) = report("dequeue_shared_queue", host::dequeue_shared_queue(queue)) {
            say(&format!("dequeued: {}", text(&item)));
        }
        report("dequeue_shared_queue", host::dequeue_shared_queue(queue));

        report(
            "set_property",
            host::set_property(&["typed", "key"], b"value"),
        );
        if let Some(value) = report("get_property", host::get_property(&["typed", "key"])) {
            say(&format!("property: {}", text(&value)));
        }
        if let Some(answer) = report(
            "call_foreign_function",
            host::call_foreign_function("echo", b"ping"),
        ) {
            say(&format!("foreign: {}", text(&answer)));
        }
        report(
            "call_foreign_function",
            host::call_foreign_function("missing", b""),
        );

        let metadata = [("x-typed", "1")];
        let call = host::grpc_call(
            "grpc_upstream",
            "svc.Typed",
            "Call",
            &metadata,
            b"hello",
            1000,
        );
        if let Some(call) = report("grpc_call", call) {
            report("grpc_cancel", host::grpc_cancel(call));
        }
        let stream = host::grpc_stream("grpc_upstream", "svc.Typed", "Stream", &metadata);
        if let Some(stream) = report("grpc_stream", stream) {
            report("grpc_send", host::grpc_send(stream, b"message", false));
            report("grpc_close", host::grpc_close(stream));
        }

        report(
            "set_effective_context",
            host::set_effective_context(plugin_context_id),
        );
        report("set_effective_context", host::set_effective_context(999));
        report("done", host::done());
        true
    }

    fn proxy_on_request_headers(_context: u32, num_headers: usize, _end: bool) -> Action {
        let map = MapType::HttpRequestHeaders;
        say(&format!("request_headers: {num_headers} header(s)"));
        report("get_header_map_size", host::get_header_map_size(map));
        if let Some(all) = report("get_header_map_pairs", host::get_header_map_pairs(map)) {
            say(&format!("request: {}", pairs(&all)));
        }
        if let Some(path) = report(
            "get_header_map_value",
            host::get_header_map_value(map, ":path"),
        ) {
            say(&format!("path: {}", text(&path)));
        }
        report(
            "get_header_map_value",
            host::get_header_map_value(map, "x-absent"),
        );
        report(
            "add_header_map_value",
            host::add_header_map_value(map, "x-typed", b"added"),
        );
        report(
            "replace_header_map_value",
            host::replace_header_map_value(map, "user-agent", b"typed/1"),
        );
        report(
            "remove_header_map_value",
            host::remove_header_map_value(map, "x-remove-me"),
        );
        if let Some(mut all) = report("get_header_map_pairs", host::get_header_map_pairs(map)) {
            all.push((b"x-rewritten".to_vec(), b"yes".to_vec()));
            report(
                "set_header_map_pairs",
                host::set_header_map_pairs(map, &all),
            );
        }
        let headers = [
            (":method", "GET"),
            (":path", "/typed"),
            (":authority", "callout"),
        ];
        let no_trailers: [(&str, &str); 0] = [];
        report(
            "http_call",
            host::http_call("callout", &headers, b"ask", &no_trailers, 500),
        );
        report(
            "continue_stream",
            host::continue_stream(StreamType::HttpRequest),
        );
        Action::Continue
    }

    fn proxy_on_request_body(_context: u32, body_size: usize, _end: bool) -> Action {
        let buffer = BufferType::HttpRequestBody;
        report(
            "set_buffer_bytes",
            host::set_buffer_bytes(buffer, 0, 0, b"typed:"),
        );
        if let Some(body) = report(
            "get_buffer_bytes",
            host::get_buffer_bytes(buffer, 0, body_size + 6),
        ) {
            say(&format!("body: {}", text(&body)));
        }
        Action::Continue
    }

    fn proxy_on_response_headers(_context: u32, _num_headers: usize, _end: bool) -> Action {
        if REPLIED.replace(true) {
            return Action::Continue;
        }
        let headers = [("x-typed-reply", "1")];
        report(
            "send_local_response",
            host::send_local_response(403, "typed_denied", b"denied by typed", &headers, 0),
        );
        Action::Pause
    }

    fn proxy_on_http_call_response(
        _context: u32,
        call_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        say(&format!("http_call_response: call {call_id}"));
        report("get_status", host::get_status());
        let map = MapType::HttpCallResponseHeaders;
        if let Some(all) = report("get_header_map_pairs", host::get_header_map_pairs(map)) {
            say(&format!("call response: {}", pairs(&all)));
        }
        let buffer = BufferType::HttpCallResponseBody;
        if let Some(body) = report(
            "get_buffer_bytes",
            host::get_buffer_bytes(buffer, 0, body_size),
        ) {
            say(&format!("call body: {}", text(&body)));
        }
    }

    fn proxy_on_log(_context: u32) {
        report("close_stream", host::close_stream(StreamType::HttpResponse));
    }

    fn proxy_on_tick(_plugin_context_id: u32) {
        TICKS.set(TICKS.get() + 1);
        if EXIT_ON_SECOND_TICK.get() && TICKS.get() == 2 {
            host::proc_exit(7);
            // A host that returns from proc_exit lets this run.
            say("after proc_exit");
            return;
        }
        say("tick");
        report("get_metric", host::get_metric(METRIC.get()));
        report("get_shared_data", host::get_shared_data("typed"));
        report(
            "set_tick_period_milliseconds",
            host::set_tick_period_milliseconds(1000),
        );
    }
}

abi::export_callbacks!(abi, Plugin);
