//! The serialized map and property path codec (`proxy_wasm_abi::serial`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    proxy_wasm_abi_tests::fuzz_targets::map_codec(data);
});
