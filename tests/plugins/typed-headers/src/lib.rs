//! `sdk-fixtures/sdk-headers` written on the typed host calls of this
//! project's generated guest bindings (`abi::host`) instead of the official
//! `proxy-wasm` SDK: the same logic, built with the same release profile,
//! so that the two modules' sizes compare the two layers.
//!
//! Request: adds `x-request-tag: sdk`, replaces `user-agent` with
//! `sdk-headers/1`, removes `x-debug-token`.
//! Response: adds `x-response-tag: sdk`, replaces `server` with `sdk-headers`,
//! removes `x-powered-by`.
//!
//! Each side logs how many headers it saw and what it did. As the SDK
//! plugin does, it keeps one record per stream, made when the root context
//! creates it and dropped when it is deleted; a failed host call is
//! ignored where the SDK would panic.

mod abi {
    proxy_wasm_abi::guest!({ version: "0.2.1" });
}

use std::cell::RefCell;
use std::collections::BTreeMap;

use abi::{Action, Callbacks, LogLevel, MapType, host};

/// One HTTP stream.
struct HeaderRewrite {
    context_id: u32,
}

thread_local! {
    /// The streams, by context id.
    static STREAMS: RefCell<BTreeMap<u32, HeaderRewrite>> = const { RefCell::new(BTreeMap::new()) };
}

/// The stream `context_id`'s id as it was recorded, if it was.
fn stream_id(context_id: u32) -> Option<u32> {
    STREAMS.with_borrow(|streams| streams.get(&context_id).map(|s| s.context_id))
}

/// Tags, replaces and removes one header each in `map`, then logs it.
fn rewrite(
    map: MapType,
    (tag, replaced, replacement, removed): (&str, &str, &[u8], &str),
    message: impl FnOnce() -> String,
) {
    let _ = host::add_header_map_value(map, tag, b"sdk");
    let _ = host::replace_header_map_value(map, replaced, replacement);
    let _ = host::remove_header_map_value(map, removed);
    let _ = host::log(LogLevel::Info, &message());
}

struct Plugin;

impl Callbacks for Plugin {
    fn proxy_on_context_create(context_id: u32, parent_context_id: u32) {
        // The root context (no parent) hands out one record per stream.
        if parent_context_id != 0 {
            STREAMS.with_borrow_mut(|streams| {
                streams.insert(context_id, HeaderRewrite { context_id })
            });
        }
    }

    fn proxy_on_request_headers(context: u32, num_headers: usize, _end: bool) -> Action {
        if let Some(id) = stream_id(context) {
            rewrite(
                MapType::HttpRequestHeaders,
                (
                    "x-request-tag",
                    "user-agent",
                    b"sdk-headers/1",
                    "x-debug-token",
                ),
                || {
                    format!(
                        "stream {id}: request had {num_headers} header(s); tagged, user-agent replaced, x-debug-token removed"
                    )
                },
            );
        }
        Action::Continue
    }

    fn proxy_on_response_headers(context: u32, num_headers: usize, _end: bool) -> Action {
        if let Some(id) = stream_id(context) {
            rewrite(
                MapType::HttpResponseHeaders,
                ("x-response-tag", "server", b"sdk-headers", "x-powered-by"),
                || {
                    format!(
                        "stream {id}: response had {num_headers} header(s); tagged, server replaced, x-powered-by removed"
                    )
                },
            );
        }
        Action::Continue
    }

    fn proxy_on_delete(context_id: u32) {
        STREAMS.with_borrow_mut(|streams| streams.remove(&context_id));
    }
}

abi::export_callbacks!(abi, Plugin);
