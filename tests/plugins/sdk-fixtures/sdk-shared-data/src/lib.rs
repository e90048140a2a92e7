//! Shared data with compare-and-swap, and a shared queue.
//!
//! - `on_vm_start` registers the queue `sdk-events`, checks that resolving
//!   a queue nobody registered gives nothing, and seeds the shared key
//!   `sdk-hits` with `0`.
//! - Each request:
//!   - reads a key nobody wrote (`sdk-missing`): NOT_FOUND must come back
//!     as "no value", not as a trap;
//!   - dequeues from a queue id nobody registered: NOT_FOUND must come back
//!     as an error, not as a trap;
//!   - reads `sdk-hits` with its CAS token, writes the incremented count
//!     with that token, then tries a second write with the same (now stale)
//!     token, which must fail with CAS_MISMATCH and leave the count alone;
//!   - adds `x-hits: <count>` to the request;
//!   - enqueues its `:path` on `sdk-events`.
//! - `on_queue_ready` drains the queue until it reports EMPTY, logging each
//!   item and storing the last one under `sdk-last-event`.

use log::{error, info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, Status};

/// The shared request counter.
const HITS: &str = "sdk-hits";
/// A key no one ever writes.
const MISSING: &str = "sdk-missing";
/// Where the last dequeued item is kept.
const LAST_EVENT: &str = "sdk-last-event";
/// The queue requests report to.
const QUEUE: &str = "sdk-events";
/// A queue id no host hands out here.
const UNKNOWN_QUEUE: u32 = 9_999;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(SharedRoot { queue: 0 }));
}}

/// The root context: owns the queue.
struct SharedRoot {
    queue: u32,
}

impl Context for SharedRoot {}

impl RootContext for SharedRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        self.queue = self.register_shared_queue(QUEUE);
        info!("registered queue {QUEUE} as {}", self.queue);
        match self.resolve_shared_queue("", "sdk-nobody-registered-this") {
            None => info!("unregistered queue resolves to nothing"),
            Some(id) => warn!("unregistered queue resolved to {id}"),
        }
        if let Err(status) = self.set_shared_data(HITS, Some(b"0"), None) {
            error!("cannot seed {HITS}: {status:?}");
            return false;
        }
        true
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        loop {
            match self.dequeue_shared_queue(queue_id) {
                Ok(Some(item)) => {
                    info!("dequeued {}", String::from_utf8_lossy(&item));
                    if let Err(status) = self.set_shared_data(LAST_EVENT, Some(&item), None) {
                        error!("cannot store {LAST_EVENT}: {status:?}");
                    }
                }
                Ok(None) => {
                    info!("queue {queue_id} drained");
                    break;
                }
                Err(status) => {
                    error!("cannot dequeue from {queue_id}: {status:?}");
                    break;
                }
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(SharedStream { queue: self.queue }))
    }
}

/// One HTTP stream.
struct SharedStream {
    queue: u32,
}

impl SharedStream {
    /// Increments the shared counter; returns the new count.
    fn count_hit(&self) -> Option<u64> {
        let (value, cas) = self.get_shared_data(HITS);
        let Some(cas) = cas else {
            error!("{HITS} has no CAS token");
            return None;
        };
        let seen: u64 = value
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let count = seen + 1;
        if let Err(status) =
            self.set_shared_data(HITS, Some(count.to_string().as_bytes()), Some(cas))
        {
            error!("write of {HITS} with a fresh token failed: {status:?}");
            return None;
        }
        match self.set_shared_data(HITS, Some(b"stale"), Some(cas)) {
            Err(Status::CasMismatch) => info!("stale write of {HITS} refused: CasMismatch"),
            Err(status) => error!("stale write of {HITS} failed oddly: {status:?}"),
            Ok(()) => error!("stale write of {HITS} was accepted"),
        }
        Some(count)
    }
}

impl Context for SharedStream {}

impl HttpContext for SharedStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match self.get_shared_data(MISSING) {
            (None, None) => info!("{MISSING}: not found"),
            (value, cas) => warn!("{MISSING} unexpectedly has {value:?} (cas {cas:?})"),
        }
        match self.dequeue_shared_queue(UNKNOWN_QUEUE) {
            Err(status) => info!("dequeue from queue {UNKNOWN_QUEUE}: {status:?}"),
            Ok(item) => warn!("queue {UNKNOWN_QUEUE} unexpectedly answered {item:?}"),
        }
        if let Some(count) = self.count_hit() {
            self.add_http_request_header("x-hits", &count.to_string());
        }
        let path = self.get_http_request_header(":path").unwrap_or_default();
        match self.enqueue_shared_queue(self.queue, Some(path.as_bytes())) {
            Ok(()) => info!("enqueued {path}"),
            Err(status) => error!("cannot enqueue {path}: {status:?}"),
        }
        Action::Continue
    }
}
