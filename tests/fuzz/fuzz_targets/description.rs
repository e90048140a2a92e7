//! The description parser and validator on any text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    proxy_wasm_abi_tests::fuzz_targets::description(data);
});
