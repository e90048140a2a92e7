//! Random host calls with random pointers, lengths, enum values and
//! payloads, in random callbacks, on the reference host with the access
//! rules on (`HostBoundary`).
#![no_main]

use std::sync::OnceLock;

use proxy_wasm_abi_tests::fuzz_targets::HostBoundary;

static HOST: OnceLock<HostBoundary> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HOST.get_or_init(HostBoundary::new).run(data);
});
