//! A Proxy-Wasm plugin for ABI 0.2.1 that depends on `proxy-wasm-abi` by
//! version only, as a user's crate would; `tests/packaged.rs` builds it
//! against the packaged crates and runs it on `../host`.
//!
//! - `proxy_on_vm_start` logs that it started;
//! - `proxy_on_context_create` logs each context it is given;
//! - `proxy_on_request_headers` adds `x-packaged: yes` to the request with
//!   `proxy_add_header_map_value` and logs what it did.

mod abi {
    proxy_wasm_abi::guest!({ version: "0.2.1" });
}

use abi::{Action, Callbacks, RawLogLevel, RawMapType, RawStatus, hostcalls};

/// The request header the plugin adds, and its value.
const HEADER: (&str, &str) = ("x-packaged", "yes");

/// Writes `message` to the host's log; a failing log call is not worth a trap.
fn log(level: RawLogLevel, message: &str) {
    // SAFETY: the pointer and length describe `message`, alive for the call.
    let _ = unsafe { hostcalls::proxy_log(level, message.as_ptr(), message.len()) };
}

/// Adds `key: value` to a header map.
fn add_header(map: RawMapType, key: &str, value: &str) -> RawStatus {
    // SAFETY: key and value describe live strings.
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

/// The plugin.
struct Packaged;

impl Callbacks for Packaged {
    fn proxy_on_vm_start(_unused: u32, _vm_configuration_size: usize) -> bool {
        log(
            RawLogLevel::INFO,
            &format!("packaged-plugin started on ABI {}", abi::ABI_VERSION),
        );
        true
    }

    fn proxy_on_context_create(context_id: u32, parent_context_id: u32) {
        let kind = if parent_context_id == 0 {
            "root"
        } else {
            "stream"
        };
        log(
            RawLogLevel::DEBUG,
            &format!("{kind} context {context_id} created (parent {parent_context_id})"),
        );
    }

    fn proxy_on_request_headers(
        stream_context_id: u32,
        num_headers: usize,
        end_of_stream: bool,
    ) -> Action {
        let (key, value) = HEADER;
        let status = add_header(RawMapType::HTTP_REQUEST_HEADERS, key, value);
        if status == RawStatus::OK {
            log(
                RawLogLevel::INFO,
                &format!(
                    "stream {stream_context_id}: {num_headers} request header(s), \
                     end_of_stream {end_of_stream}; added {key}: {value}"
                ),
            );
        } else {
            log(
                RawLogLevel::WARN,
                &format!(
                    "stream {stream_context_id}: cannot add {key}: status {}",
                    status.0
                ),
            );
        }
        Action::Continue
    }
}

abi::export_callbacks!(abi, Packaged);
