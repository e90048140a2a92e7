//! Reads what a host provides besides headers and bodies.
//!
//! - Request headers: logs the request attributes `request.path`,
//!   `request.url_path`, `request.host` and `request.method` (at INFO) and
//!   the property `node.id` (at DEBUG, so a host at INFO drops it), then
//!   writes the property `x.seen_path` with the path.
//! - On the root context at start: logs the host's log level.
//! - Request trailers: logs each, and adds `x-trailers-seen` with their
//!   count. Response trailers: adds `x-response-trailers-seen` likewise.

use log::{debug, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(InputsRoot));
}}

struct InputsRoot;

impl Context for InputsRoot {}

impl RootContext for InputsRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        match proxy_wasm::hostcalls::get_log_level() {
            Ok(level) => info!("host log level: {level:?}"),
            Err(status) => info!("host log level unknown: {status:?}"),
        }
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Inputs))
    }
}

struct Inputs;

impl Inputs {
    /// A property as text, or `(none)`.
    fn property_text(&self, path: &[&str]) -> String {
        self.get_property(path.to_vec())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|| "(none)".to_string())
    }
}

impl Context for Inputs {}

impl HttpContext for Inputs {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.property_text(&["request", "path"]);
        info!(
            "request {} {} (url path {}) on {}",
            self.property_text(&["request", "method"]),
            path,
            self.property_text(&["request", "url_path"]),
            self.property_text(&["request", "host"]),
        );
        debug!("node {}", self.property_text(&["node", "id"]));
        self.set_property(vec!["x", "seen_path"], Some(path.as_bytes()));
        Action::Continue
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        let trailers = self.get_http_request_trailers();
        for (name, value) in &trailers {
            info!("request trailer {name}: {value}");
        }
        let count = trailers.len().to_string();
        self.add_http_request_trailer("x-trailers-seen", &count);
        Action::Continue
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        let count = self.get_http_response_trailers().len().to_string();
        self.add_http_response_trailer("x-response-trailers-seen", &count);
        Action::Continue
    }
}
