//! Answers requests under `/admin` itself, with 403, two headers and a short
//! body; every other request passes untouched.

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

/// Requests whose `:path` starts with this are refused.
const FORBIDDEN_PREFIX: &str = "/admin";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(GateRoot));
}}

/// The root context: hands out one [`Gate`] per stream.
struct GateRoot;

impl Context for GateRoot {}

impl RootContext for GateRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Gate))
    }
}

/// One HTTP stream.
struct Gate;

impl Context for Gate {}

impl HttpContext for Gate {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        if !path.starts_with(FORBIDDEN_PREFIX) {
            return Action::Continue;
        }
        info!("refusing {path}");
        let body = format!("{path} is off limits\n");
        self.send_http_response(
            403,
            vec![
                ("content-type", "text/plain"),
                ("x-refused-by", "sdk-local-response"),
            ],
            Some(body.as_bytes()),
        );
        Action::Pause
    }
}
