//! A TCP filter.
//!
//! - Downstream data (client to server): every ASCII digit becomes `#`.
//! - Upstream data (server to client): ` [via sdk-tcp-filter]` is appended
//!   at the end of the stream.
//! - Each side logs its byte counts; closes are logged with the peer.

use log::info;
use proxy_wasm::traits::{Context, RootContext, StreamContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, PeerType};

/// What the filter appends to upstream data.
const TRAILER: &[u8] = b" [via sdk-tcp-filter]";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(TcpRoot));
}}

/// The root context: hands out one [`Rewriter`] per connection.
struct TcpRoot;

impl Context for TcpRoot {}

impl RootContext for TcpRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::StreamContext)
    }

    fn create_stream_context(&self, context_id: u32) -> Option<Box<dyn StreamContext>> {
        Some(Box::new(Rewriter { context_id }))
    }
}

/// One connection.
struct Rewriter {
    context_id: u32,
}

impl Context for Rewriter {}

impl StreamContext for Rewriter {
    fn on_new_connection(&mut self) -> Action {
        info!("connection {} opened", self.context_id);
        Action::Continue
    }

    fn on_downstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Action {
        let data = self.get_downstream_data(0, data_size).unwrap_or_default();
        let masked: Vec<u8> = data
            .iter()
            .map(|&b| if b.is_ascii_digit() { b'#' } else { b })
            .collect();
        let digits = data.iter().filter(|b| b.is_ascii_digit()).count();
        self.set_downstream_data(0, data_size, &masked);
        info!("downstream: {data_size} byte(s), {digits} digit(s) masked");
        Action::Continue
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Action {
        if end_of_stream {
            self.set_upstream_data(data_size, 0, TRAILER);
        }
        info!("upstream: {data_size} byte(s), end of stream: {end_of_stream}");
        Action::Continue
    }

    fn on_downstream_close(&mut self, peer_type: PeerType) {
        info!("downstream closed by {peer_type:?}");
    }

    fn on_upstream_close(&mut self, peer_type: PeerType) {
        info!("upstream closed by {peer_type:?}");
    }
}
