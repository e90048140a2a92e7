//! The linter on valid modules wasm-smith makes, importing from the ABI's
//! functions (right and wrong signatures), and on raw bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::Unstructured;

/// A module whose imports wasm-smith may pick from: ABI host functions,
/// some with the signature a version gives them and some with another, so
/// that generated modules reach the linter's signature checks.
fn available_imports() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        wat::parse_str(
            r#"(module
                (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
                (import "env" "proxy_log" (func (param i32 i32) (result i32)))
                (import "env" "proxy_get_header_map_value" (func (param i32 i32 i32 i32 i32) (result i32)))
                (import "env" "proxy_continue_request" (func (result i32)))
                (import "env" "proxy_continue_request" (func))
                (import "env" "proxy_http_call" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
                (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                (import "env" "proxy_no_such_function" (func)))"#,
        )
        .expect("valid WAT")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if u.arbitrary::<bool>().unwrap_or(false) {
        proxy_wasm_abi_tests::fuzz_targets::lint(u.take_rest());
        return;
    }
    let Ok(mut config) = u.arbitrary::<wasm_smith::Config>() else {
        return;
    };
    config.available_imports = Some(available_imports().to_vec());
    config.max_imports = config.max_imports.min(12);
    config.max_exports = config.max_exports.min(12);
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
        return;
    };
    proxy_wasm_abi_tests::fuzz_targets::lint(&module.to_bytes());
});
