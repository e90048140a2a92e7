//! A Proxy-Wasm plugin for ABI 0.2.1 written only against this project's
//! generated guest bindings (`proxy_wasm_abi::guest!`).
//!
//! What it does, per plugin (root) context:
//!
//! - `proxy_on_configure` reads the plugin configuration with
//!   `proxy_get_buffer_bytes`: the name of a request header to watch
//!   (default `user-agent`), and sets a tick period of 5 seconds;
//! - `proxy_on_request_headers` reads that header with
//!   `proxy_get_header_map_value` and remembers its value for the stream;
//! - `proxy_on_response_headers` adds `x-watched-value: <value>` (or
//!   `(absent)`) to the response with `proxy_add_header_map_value`;
//! - `proxy_on_tick` logs how many requests the plugin has seen;
//! - everything worth knowing is logged with `proxy_log`.
//!
//! It avoids everything in `std` that would talk to WASI (no `println!`),
//! so the module imports only `env` host functions plus whatever the Rust
//! runtime itself needs.

mod abi {
    proxy_wasm_abi::guest!({ version: "0.2.1" });
}

use std::cell::RefCell;
use std::collections::BTreeMap;

use abi::{Action, Callbacks, RawBufferType, RawLogLevel, RawMapType, RawStatus, hostcalls};

/// The header watched when the configuration is empty.
const DEFAULT_HEADER: &[u8] = b"user-agent";
/// The response header the plugin adds.
const RESPONSE_HEADER: &[u8] = b"x-watched-value";
/// The value added when the request did not carry the watched header.
const ABSENT: &[u8] = b"(absent)";
/// How often `proxy_on_tick` runs.
const TICK_PERIOD_MS: u32 = 5_000;

/// One plugin configuration (a root context).
struct Root {
    /// The request header to watch, lowercase.
    header: Vec<u8>,
    /// Requests seen by this root's streams.
    requests: u64,
}

/// One HTTP stream.
struct Stream {
    /// The root context it belongs to.
    root: u32,
    /// The watched header's value on the request, if it had one.
    value: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    roots: BTreeMap<u32, Root>,
    streams: BTreeMap<u32, Stream>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Writes `message` to the host's log; a failing log call is not worth a trap.
fn log(level: RawLogLevel, message: &str) {
    // SAFETY: the pointer and length describe `message`, alive for the call.
    let _ = unsafe { hostcalls::proxy_log(level, message.as_ptr(), message.len()) };
}

/// The layout of every block handed to the host: `size` bytes (at least one,
/// so that the global allocator is never asked for zero), byte-aligned.
fn host_layout(size: usize) -> Option<std::alloc::Layout> {
    std::alloc::Layout::from_size_align(size.max(1), 1).ok()
}

/// Takes ownership of a buffer the host returned through an `out bytes`
/// parameter. The host allocates it by calling this plugin's
/// `proxy_on_memory_allocate(size)`, whose layout is [`host_layout`].
///
/// # Safety
///
/// `data` must be null or a block of `size` bytes the host obtained from
/// this plugin's `proxy_on_memory_allocate(size)`, not yet taken.
unsafe fn take_host_buffer(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        return Vec::new();
    }
    if size == 0 {
        if let Some(layout) = host_layout(0) {
            // SAFETY: allocated by `proxy_on_memory_allocate(0)` with this layout.
            unsafe { std::alloc::dealloc(data, layout) };
        }
        return Vec::new();
    }
    // SAFETY: `size` bytes from the global allocator with align 1 are exactly
    // the allocation of a `Vec<u8>` with capacity `size`.
    unsafe { Vec::from_raw_parts(data, size, size) }
}

/// What a host call that returns a buffer produced.
enum Fetched {
    Value(Vec<u8>),
    NotFound,
    Failed(RawStatus),
}

/// Reads `size` bytes of a host buffer (e.g. the plugin configuration).
fn buffer_bytes(buffer: RawBufferType, size: usize) -> Fetched {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: both out-pointers point at live locals.
    let status = unsafe { hostcalls::proxy_get_buffer_bytes(buffer, 0, size, &mut data, &mut len) };
    // SAFETY: on success the host allocated `len` bytes through us.
    match status {
        RawStatus::OK => Fetched::Value(unsafe { take_host_buffer(data, len) }),
        RawStatus::NOT_FOUND => Fetched::NotFound,
        other => Fetched::Failed(other),
    }
}

/// Reads one value of a header map.
fn header_value(map: RawMapType, key: &[u8]) -> Fetched {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: the key describes a live slice; the out-pointers point at live locals.
    let status = unsafe {
        hostcalls::proxy_get_header_map_value(map, key.as_ptr(), key.len(), &mut data, &mut len)
    };
    // SAFETY: on success the host allocated `len` bytes through us.
    match status {
        RawStatus::OK => Fetched::Value(unsafe { take_host_buffer(data, len) }),
        RawStatus::NOT_FOUND => Fetched::NotFound,
        other => Fetched::Failed(other),
    }
}

/// Adds one value to a header map.
fn add_header(map: RawMapType, key: &[u8], value: &[u8]) -> RawStatus {
    // SAFETY: key and value describe live slices.
    unsafe {
        hostcalls::proxy_add_header_map_value(
            map,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    }
}

/// Bytes as text for log lines.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The plugin.
struct WatchHeader;

impl Callbacks for WatchHeader {
    fn proxy_on_memory_allocate(memory_size: usize) -> *mut u8 {
        match host_layout(memory_size) {
            // SAFETY: the layout has a non-zero size.
            Some(layout) => unsafe { std::alloc::alloc(layout) },
            None => std::ptr::null_mut(),
        }
    }

    fn proxy_on_context_create(context_id: u32, parent_context_id: u32) {
        STATE.with_borrow_mut(|state| {
            if parent_context_id == 0 {
                let root = Root {
                    header: DEFAULT_HEADER.to_vec(),
                    requests: 0,
                };
                state.roots.insert(context_id, root);
            } else {
                let stream = Stream {
                    root: parent_context_id,
                    value: None,
                };
                state.streams.insert(context_id, stream);
            }
        });
    }

    fn proxy_on_vm_start(_unused: u32, vm_configuration_size: usize) -> bool {
        log(
            RawLogLevel::INFO,
            &format!(
                "guest-plugin for ABI {} started ({vm_configuration_size} bytes of VM configuration)",
                abi::ABI_VERSION
            ),
        );
        true
    }

    fn proxy_on_configure(plugin_context_id: u32, plugin_configuration_size: usize) -> bool {
        let configured = match buffer_bytes(
            RawBufferType::PLUGIN_CONFIGURATION,
            plugin_configuration_size,
        ) {
            Fetched::Value(bytes) => bytes,
            Fetched::NotFound => Vec::new(),
            Fetched::Failed(status) => {
                log(
                    RawLogLevel::ERROR,
                    &format!("cannot read the plugin configuration: status {}", status.0),
                );
                return false;
            }
        };
        let name = configured.trim_ascii().to_ascii_lowercase();
        let header = if name.is_empty() {
            DEFAULT_HEADER.to_vec()
        } else {
            name
        };
        log(
            RawLogLevel::INFO,
            &format!(
                "context {plugin_context_id} watches request header `{}`",
                text(&header)
            ),
        );
        STATE.with_borrow_mut(|state| {
            state
                .roots
                .entry(plugin_context_id)
                .or_insert(Root {
                    header: Vec::new(),
                    requests: 0,
                })
                .header = header;
        });
        // SAFETY: no pointers involved.
        let status = unsafe { hostcalls::proxy_set_tick_period_milliseconds(TICK_PERIOD_MS) };
        if status != RawStatus::OK {
            log(
                RawLogLevel::WARN,
                &format!("cannot set the tick period: status {}", status.0),
            );
        }
        true
    }

    fn proxy_on_tick(plugin_context_id: u32) {
        let requests = STATE.with_borrow(|state| {
            state
                .roots
                .get(&plugin_context_id)
                .map_or(0, |root| root.requests)
        });
        log(
            RawLogLevel::DEBUG,
            &format!("context {plugin_context_id} has seen {requests} request(s)"),
        );
    }

    fn proxy_on_request_headers(
        stream_context_id: u32,
        num_headers: usize,
        _end_of_stream: bool,
    ) -> Action {
        let header = STATE.with_borrow_mut(|state| {
            let root_id = state.streams.get(&stream_context_id)?.root;
            let root = state.roots.get_mut(&root_id)?;
            root.requests += 1;
            Some(root.header.clone())
        });
        let header = header.unwrap_or_else(|| DEFAULT_HEADER.to_vec());
        let value = match header_value(RawMapType::HTTP_REQUEST_HEADERS, &header) {
            Fetched::Value(value) => Some(value),
            Fetched::NotFound => None,
            Fetched::Failed(status) => {
                log(
                    RawLogLevel::WARN,
                    &format!("cannot read request header: status {}", status.0),
                );
                None
            }
        };
        log(
            RawLogLevel::DEBUG,
            &format!(
                "stream {stream_context_id}: {num_headers} request header(s), `{}` = {}",
                text(&header),
                value.as_deref().map_or_else(|| text(ABSENT), text)
            ),
        );
        STATE.with_borrow_mut(|state| {
            if let Some(stream) = state.streams.get_mut(&stream_context_id) {
                stream.value = value;
            }
        });
        Action::Continue
    }

    fn proxy_on_response_headers(
        stream_context_id: u32,
        _num_headers: usize,
        _end_of_stream: bool,
    ) -> Action {
        let value = STATE.with_borrow(|state| {
            state
                .streams
                .get(&stream_context_id)
                .and_then(|stream| stream.value.clone())
        });
        let value = value.as_deref().unwrap_or(ABSENT);
        let status = add_header(RawMapType::HTTP_RESPONSE_HEADERS, RESPONSE_HEADER, value);
        if status != RawStatus::OK {
            log(
                RawLogLevel::WARN,
                &format!("cannot add the response header: status {}", status.0),
            );
        }
        Action::Continue
    }

    fn proxy_on_delete(context_id: u32) {
        STATE.with_borrow_mut(|state| {
            state.streams.remove(&context_id);
            state.roots.remove(&context_id);
        });
    }
}

abi::export_callbacks!(abi, WatchHeader);
