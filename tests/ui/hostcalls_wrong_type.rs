// Parameter and result types of the wrong wasm width, on each type.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_set_tick_period_milliseconds(period: u64) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> i64;
    safe fn proxy_done() -> u64;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    // WASI's precision argument is 64 bits wide.
    fn clock_time_get(clock_id: u32, precision: u32, time: *mut u64) -> u32;
}

fn main() {}
