//! A header guard: requests must carry every header the plugin
//! configuration lists (one name per line).
//!
//! - A request that lacks some gets a local `400` naming them, and the
//!   counter `guard_rejected` goes up.
//! - One that has them all gets `x-guard: passed` and goes on; its response
//!   gets `x-guard-checked` with the number of headers checked.
//!
//! The plugin is built for `wasm32-wasip1`; on the machine running the
//! tests the crate is empty (the tests load the built `.wasm`).
#![cfg(target_arch = "wasm32")]

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(GuardRoot::default()));
}}

#[derive(Default)]
struct GuardRoot {
    required: Vec<String>,
    rejected: Option<u32>,
}

impl Context for GuardRoot {}

impl RootContext for GuardRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.required = String::from_utf8_lossy(&config)
            .lines()
            .map(|line| line.trim().to_ascii_lowercase())
            .filter(|line| !line.is_empty())
            .collect();
        self.rejected =
            proxy_wasm::hostcalls::define_metric(MetricType::Counter, "guard_rejected").ok();
        info!("guarding {} header(s)", self.required.len());
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Guard {
            required: self.required.clone(),
            rejected: self.rejected,
        }))
    }
}

struct Guard {
    required: Vec<String>,
    rejected: Option<u32>,
}

impl Context for Guard {}

impl HttpContext for Guard {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let missing: Vec<&str> = self
            .required
            .iter()
            .filter(|name| self.get_http_request_header(name).is_none())
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            self.add_http_request_header("x-guard", "passed");
            return Action::Continue;
        }
        let body = format!("missing header(s): {}\n", missing.join(", "));
        info!("rejected: {}", body.trim_end());
        if let Some(metric) = self.rejected {
            let _ = proxy_wasm::hostcalls::increment_metric(metric, 1);
        }
        self.send_http_response(400, vec![], Some(body.as_bytes()));
        Action::Pause
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let checked = self.required.len().to_string();
        self.set_http_response_header("x-guard-checked", Some(&checked));
        Action::Continue
    }
}
