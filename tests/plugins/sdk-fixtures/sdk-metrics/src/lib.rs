//! A counter and a gauge.
//!
//! `on_vm_start` defines the counter `sdk_requests_total` and the gauge
//! `sdk_request_header_count`. Each request increments the counter, records
//! its number of headers in the gauge, reads both back and adds
//! `x-request-count: <counter>` to the response.

use log::{error, info};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

/// The counter's name.
const REQUESTS: &str = "sdk_requests_total";
/// The gauge's name.
const HEADER_COUNT: &str = "sdk_request_header_count";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(MetricsRoot { ids: None }));
}}

/// The ids the host gave the two metrics.
#[derive(Clone, Copy)]
struct MetricIds {
    requests: u32,
    header_count: u32,
}

/// The root context: defines the metrics.
struct MetricsRoot {
    ids: Option<MetricIds>,
}

impl Context for MetricsRoot {}

impl RootContext for MetricsRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        let requests = hostcalls::define_metric(MetricType::Counter, REQUESTS);
        let header_count = hostcalls::define_metric(MetricType::Gauge, HEADER_COUNT);
        match (requests, header_count) {
            (Ok(requests), Ok(header_count)) => {
                info!("defined {REQUESTS} as {requests} and {HEADER_COUNT} as {header_count}");
                self.ids = Some(MetricIds {
                    requests,
                    header_count,
                });
                true
            }
            (requests, header_count) => {
                error!("cannot define metrics: {requests:?}, {header_count:?}");
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let ids = self.ids?;
        Some(Box::new(MetricsStream { ids, count: None }))
    }
}

/// One HTTP stream.
struct MetricsStream {
    ids: MetricIds,
    /// The counter as read back after this request's increment.
    count: Option<u64>,
}

impl Context for MetricsStream {}

impl HttpContext for MetricsStream {
    fn on_http_request_headers(&mut self, num_headers: usize, _end_of_stream: bool) -> Action {
        let updated = hostcalls::increment_metric(self.ids.requests, 1)
            .and_then(|()| hostcalls::record_metric(self.ids.header_count, num_headers as u64));
        if let Err(status) = updated {
            error!("cannot update metrics: {status:?}");
            return Action::Continue;
        }
        match (
            hostcalls::get_metric(self.ids.requests),
            hostcalls::get_metric(self.ids.header_count),
        ) {
            (Ok(count), Ok(headers)) => {
                info!("{REQUESTS} = {count}, {HEADER_COUNT} = {headers}");
                self.count = Some(count);
            }
            (count, headers) => error!("cannot read metrics back: {count:?}, {headers:?}"),
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(count) = self.count {
            self.add_http_response_header("x-request-count", &count.to_string());
        }
        Action::Continue
    }
}
