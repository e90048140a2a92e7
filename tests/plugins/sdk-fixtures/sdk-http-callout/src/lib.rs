//! Asks an authorization service before letting a request through.
//!
//! `on_http_request_headers` sends `GET /verify` to the upstream `auth`
//! (authority `auth.internal`, timeout 2 s) with the request's `:path` in
//! `x-original-path`, and pauses the request. When the answer comes back:
//!
//! - `:status` 200: the request gets `x-auth-user` (from the answer's
//!   `x-user` header) and `x-auth-note` (the answer's body), and resumes;
//! - anything else: the plugin answers 403 itself, with the service's status
//!   in `x-auth-status`.
//!
//! If the call cannot be dispatched the request continues untouched.

use std::time::Duration;

use log::{info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

/// The upstream (cluster) the authorization service lives behind.
const AUTH_UPSTREAM: &str = "auth";
/// How long the host should wait for the answer.
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(AuthRoot));
}}

/// The root context: hands out one [`AuthCheck`] per stream.
struct AuthRoot;

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AuthCheck { pending: None }))
    }
}

/// One HTTP stream.
struct AuthCheck {
    /// The token of the call in flight.
    pending: Option<u32>,
}

impl Context for AuthCheck {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if self.pending != Some(token_id) {
            warn!("answer for unknown call {token_id} ignored");
            return;
        }
        self.pending = None;
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_default();
        if status != "200" {
            info!("call {token_id}: status {status}, denying");
            self.send_http_response(
                403,
                vec![("x-auth-status", status.as_str())],
                Some(b"denied by the auth service\n"),
            );
            return;
        }
        let user = self
            .get_http_call_response_header("x-user")
            .unwrap_or_else(|| "(unknown)".to_string());
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let note = String::from_utf8_lossy(&body).trim().to_string();
        info!(
            "call {token_id}: allowed for {user} ({} body byte(s))",
            body.len()
        );
        self.add_http_request_header("x-auth-user", &user);
        self.add_http_request_header("x-auth-note", &note);
        self.resume_http_request();
    }
}

impl HttpContext for AuthCheck {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let dispatched = self.dispatch_http_call(
            AUTH_UPSTREAM,
            vec![
                (":method", "GET"),
                (":path", "/verify"),
                (":authority", "auth.internal"),
                ("x-original-path", &path),
            ],
            None,
            vec![],
            AUTH_TIMEOUT,
        );
        match dispatched {
            Ok(token) => {
                info!("asked {AUTH_UPSTREAM} about {path} (call {token})");
                self.pending = Some(token);
                Action::Pause
            }
            Err(status) => {
                warn!("cannot call {AUTH_UPSTREAM}: {status:?}; letting the request through");
                Action::Continue
            }
        }
    }
}
