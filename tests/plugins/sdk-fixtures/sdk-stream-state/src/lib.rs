//! Echoes each request's `:path` on its response as `x-request-path`.
//!
//! Where the path is kept depends on the plugin configuration:
//!
//! - anything but `shared`: in the stream's own context, as it should be;
//! - `shared`: in one cell that the root context hands to every stream. One
//!   request at a time, nothing shows; with requests in flight together,
//!   each response gets the path of the last request that arrived. This is
//!   the mistake the runner's interleaved schedule exists to catch.

use std::cell::RefCell;
use std::rc::Rc;

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(EchoRoot { shared: None }));
}}

/// Where a request's path is kept.
type PathCell = Rc<RefCell<Option<String>>>;

/// The root context: reads the configuration, hands out streams.
struct EchoRoot {
    /// The one cell every stream uses, when configured `shared`.
    shared: Option<PathCell>,
}

impl Context for EchoRoot {}

impl RootContext for EchoRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        if config == b"shared" {
            self.shared = Some(PathCell::default());
        }
        info!("paths kept {}", if self.shared.is_some() { "in one cell" } else { "per stream" });
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let path = self.shared.clone().unwrap_or_default();
        Some(Box::new(Echo { context_id, path }))
    }
}

/// One HTTP stream.
struct Echo {
    context_id: u32,
    path: PathCell,
}

impl Context for Echo {}

impl HttpContext for Echo {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path");
        info!("stream {} requests {path:?}", self.context_id);
        *self.path.borrow_mut() = path;
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self.path.borrow().clone().unwrap_or_default();
        self.set_http_response_header("x-request-path", Some(&path));
        Action::Continue
    }
}
