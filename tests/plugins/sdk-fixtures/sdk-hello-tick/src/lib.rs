//! Hello world with a timer.
//!
//! - `on_vm_start` greets, logs the host's clock in whole seconds since the
//!   epoch, and asks for a tick every 250 ms;
//! - `on_tick` logs a running count of ticks;
//! - HTTP streams are accepted and left alone (the runner always opens one).
//!
//! Logging goes through the `log` crate, which the SDK routes to `proxy_log`.

use std::time::{Duration, UNIX_EPOCH};

use log::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

/// How often the host should call `on_tick`.
const TICK_PERIOD: Duration = Duration::from_millis(250);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(Greeter { ticks: 0 }));
}}

/// The plugin: counts the ticks it has seen.
struct Greeter {
    ticks: u64,
}

impl Context for Greeter {}

impl RootContext for Greeter {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        info!("hello from sdk-hello-tick");
        let seconds = self
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        info!("the host clock reads {seconds} s since the epoch");
        self.set_tick_period(TICK_PERIOD);
        true
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        info!("tick {}", self.ticks);
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(PassThrough))
    }
}

/// An HTTP stream the plugin does nothing with.
struct PassThrough;

impl Context for PassThrough {}

impl HttpContext for PassThrough {}
