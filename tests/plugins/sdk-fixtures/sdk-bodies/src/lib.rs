//! Body rewriting, once the whole body has arrived.
//!
//! - Request: every `cat` in the body becomes `dog` (the whole buffer is
//!   read with `get_http_request_body` and replaced with
//!   `set_http_request_body(0, size, ..)`).
//! - Response: `<<` is inserted before the body and `>>` after it, as two
//!   zero-length replacements at offset 0 and at the end.
//! - Both sides drop `content-length` in the headers callback, since the
//!   length changes, and pause body chunks until the end of the stream.

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(BodyRoot));
}}

/// The root context: hands out one [`BodyRewrite`] per stream.
struct BodyRoot;

impl Context for BodyRoot {}

impl RootContext for BodyRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(BodyRewrite))
    }
}

/// Replaces every occurrence of `from` in `bytes` with `to`.
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// One HTTP stream.
struct BodyRewrite;

impl Context for BodyRewrite {}

impl HttpContext for BodyRewrite {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_request_header("content-length", None);
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            // Let the host buffer until the whole body is there.
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let rewritten = replace_all(&body, b"cat", b"dog");
        info!(
            "request body: {} byte(s) in, {} byte(s) out",
            body.len(),
            rewritten.len()
        );
        self.set_http_request_body(0, body_size, &rewritten);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_response_header("content-length", None);
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        self.set_http_response_body(body_size, 0, b">>");
        self.set_http_response_body(0, 0, b"<<");
        info!("response body: framed {body_size} byte(s)");
        Action::Continue
    }
}
