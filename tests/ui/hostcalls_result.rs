// A missing result, a result where the ABI has none, and `()` as a parameter.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_done();
    fn proxy_continue_stream(stream_type: ()) -> u32;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn proc_exit(code: u32) -> u32;
}

fn main() {}
