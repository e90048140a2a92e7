//! gRPC, both ways a plugin uses it.
//!
//! - A unary call per request: `authz.Authz/Check` on upstream `authz`
//!   (timeout 1 s) with the `:path` as the message and `x-trace: t1` as
//!   initial metadata; the request waits. A reply adds `x-authz: <reply>`
//!   and resumes the request; a failure logs the gRPC status and its
//!   message and answers 503.
//! - A stream from the root context at start: `feed.Feed/Watch` on `feed`,
//!   sending `hello` and half-closing. Initial metadata, each message,
//!   trailing metadata and the close are logged.

use std::time::Duration;

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(GrpcRoot));
}}

struct GrpcRoot;

impl Context for GrpcRoot {
    fn on_grpc_stream_initial_metadata(&mut self, token_id: u32, num_elements: u32) {
        let names: Vec<String> = self
            .get_grpc_stream_initial_metadata()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        info!("stream {token_id}: {num_elements} initial metadata: {}", names.join(", "));
    }

    fn on_grpc_stream_message(&mut self, token_id: u32, message_size: usize) {
        let message = self.get_grpc_stream_message(0, message_size).unwrap_or_default();
        info!("stream {token_id}: message {}", String::from_utf8_lossy(&message));
    }

    fn on_grpc_stream_trailing_metadata(&mut self, token_id: u32, num_elements: u32) {
        info!("stream {token_id}: {num_elements} trailing metadata");
    }

    fn on_grpc_stream_close(&mut self, token_id: u32, status_code: u32) {
        info!("stream {token_id}: closed with status {status_code}");
    }
}

impl RootContext for GrpcRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        match self.open_grpc_stream("feed", "feed.Feed", "Watch", vec![]) {
            Ok(token) => {
                self.send_grpc_stream_message(token, Some(b"hello"), true);
                info!("stream {token}: opened");
            }
            Err(status) => info!("stream not opened: {status:?}"),
        }
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Authz))
    }
}

struct Authz;

impl Context for Authz {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        if status_code != 0 {
            let (code, message) = self.get_grpc_status();
            info!(
                "call {token_id}: failed with {code} ({})",
                message.unwrap_or_default()
            );
            self.send_http_response(503, vec![], Some(b"authz unavailable\n"));
            return;
        }
        let reply = self
            .get_grpc_call_response_body(0, response_size)
            .unwrap_or_default();
        let reply = String::from_utf8_lossy(&reply).into_owned();
        info!("call {token_id}: {reply}");
        self.add_http_request_header("x-authz", &reply);
        self.resume_http_request();
    }
}

impl HttpContext for Authz {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let sent = self.dispatch_grpc_call(
            "authz",
            "authz.Authz",
            "Check",
            vec![("x-trace", b"t1")],
            Some(path.as_bytes()),
            Duration::from_secs(1),
        );
        match sent {
            Ok(token) => {
                info!("call {token}: checking {path}");
                Action::Pause
            }
            Err(status) => {
                info!("call not sent: {status:?}");
                Action::Continue
            }
        }
    }
}
