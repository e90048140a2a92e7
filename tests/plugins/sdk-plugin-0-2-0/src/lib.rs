//! The logic of `guest-plugin`, written on the official `proxy-wasm` SDK, so
//! that the test can compare what a real SDK imports and exports with the
//! description (and the two modules' sizes).
//!
//! Per plugin (root) context: `on_configure` reads the plugin configuration
//! (the name of a request header to watch, default `user-agent`) and sets a
//! tick period of 5 seconds; each HTTP stream reads that request header and
//! adds `x-watched-value: <value>` (or `(absent)`) to the response; `on_tick`
//! logs how many requests were seen. Logging goes straight to `proxy_log`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

/// The header watched when the configuration is empty.
const DEFAULT_HEADER: &str = "user-agent";
/// The response header the plugin adds.
const RESPONSE_HEADER: &str = "x-watched-value";
/// The value added when the request did not carry the watched header.
const ABSENT: &[u8] = b"(absent)";
/// How often `on_tick` runs.
const TICK_PERIOD: Duration = Duration::from_millis(5_000);

/// Writes `message` to the host's log; a failing log call is not worth a trap.
fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|context_id| Box::new(WatchRoot::new(context_id)));
}}

/// One plugin configuration.
struct WatchRoot {
    context_id: u32,
    /// The request header to watch, lowercase.
    header: Rc<str>,
    /// Requests seen by this root's streams.
    requests: Rc<Cell<u64>>,
}

impl WatchRoot {
    fn new(context_id: u32) -> Self {
        WatchRoot {
            context_id,
            header: DEFAULT_HEADER.into(),
            requests: Rc::new(Cell::new(0)),
        }
    }
}

impl Context for WatchRoot {}

impl RootContext for WatchRoot {
    fn on_vm_start(&mut self, vm_configuration_size: usize) -> bool {
        log(
            LogLevel::Info,
            &format!("sdk-plugin started ({vm_configuration_size} bytes of VM configuration)"),
        );
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let configured = self.get_plugin_configuration().unwrap_or_default();
        let name = String::from_utf8_lossy(configured.trim_ascii()).to_ascii_lowercase();
        self.header = if name.is_empty() {
            DEFAULT_HEADER.into()
        } else {
            name.into()
        };
        log(
            LogLevel::Info,
            &format!(
                "context {} watches request header `{}`",
                self.context_id, self.header
            ),
        );
        self.set_tick_period(TICK_PERIOD);
        true
    }

    fn on_tick(&mut self) {
        log(
            LogLevel::Debug,
            &format!(
                "context {} has seen {} request(s)",
                self.context_id,
                self.requests.get()
            ),
        );
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(WatchStream {
            context_id,
            header: Rc::clone(&self.header),
            requests: Rc::clone(&self.requests),
            value: None,
        }))
    }
}

/// One HTTP stream.
struct WatchStream {
    context_id: u32,
    header: Rc<str>,
    requests: Rc<Cell<u64>>,
    /// The watched header's value on the request, if it had one.
    value: Option<Vec<u8>>,
}

impl Context for WatchStream {}

impl HttpContext for WatchStream {
    fn on_http_request_headers(&mut self, num_headers: usize, _end_of_stream: bool) -> Action {
        self.requests.set(self.requests.get() + 1);
        self.value = self.get_http_request_header_bytes(&self.header);
        let shown = self
            .value
            .as_deref()
            .map_or_else(|| String::from_utf8_lossy(ABSENT), String::from_utf8_lossy);
        log(
            LogLevel::Debug,
            &format!(
                "stream {}: {num_headers} request header(s), `{}` = {shown}",
                self.context_id, self.header
            ),
        );
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let value = self.value.as_deref().unwrap_or(ABSENT);
        self.add_http_response_header_bytes(RESPONSE_HEADER, value);
        Action::Continue
    }
}
