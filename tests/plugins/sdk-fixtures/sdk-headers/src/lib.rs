//! Header rewriting on both sides of an HTTP stream.
//!
//! Request: adds `x-request-tag: sdk`, replaces `user-agent` with
//! `sdk-headers/1`, removes `x-debug-token`.
//! Response: adds `x-response-tag: sdk`, replaces `server` with `sdk-headers`,
//! removes `x-powered-by`.
//!
//! Each side logs how many headers it saw and what it did.

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(HeaderRoot));
}}

/// The root context: hands out one [`HeaderRewrite`] per stream.
struct HeaderRoot;

impl Context for HeaderRoot {}

impl RootContext for HeaderRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(HeaderRewrite { context_id }))
    }
}

/// One HTTP stream.
struct HeaderRewrite {
    context_id: u32,
}

impl Context for HeaderRewrite {}

impl HttpContext for HeaderRewrite {
    fn on_http_request_headers(&mut self, num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_request_header("x-request-tag", "sdk");
        self.set_http_request_header("user-agent", Some("sdk-headers/1"));
        self.set_http_request_header("x-debug-token", None);
        info!(
            "stream {}: request had {num_headers} header(s); tagged, user-agent replaced, x-debug-token removed",
            self.context_id
        );
        Action::Continue
    }

    fn on_http_response_headers(&mut self, num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header("x-response-tag", "sdk");
        self.set_http_response_header("server", Some("sdk-headers"));
        self.remove_http_response_header("x-powered-by");
        info!(
            "stream {}: response had {num_headers} header(s); tagged, server replaced, x-powered-by removed",
            self.context_id
        );
        Action::Continue
    }
}
