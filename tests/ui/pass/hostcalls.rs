// `#[hostcalls]` on declarations that match the spec. The functions are
// declared but never called, so the binary links on the host.
#![deny(warnings)]

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_done() -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    // The Rust name may differ from the import's name.
    #[link_name = "proxy_set_tick_period_milliseconds"]
    fn set_tick_period(period: core::primitive::u32) -> i32;
    // Deprecated functions may be declared; calls to them warn.
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    // Rust 2024 `safe` declarations are checked too.
    pub safe fn proxy_set_effective_context(context_id: u32) -> u32;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn fd_write(fd: u32, iovec: *const u8, iovec_size: usize, written: *mut usize) -> u32;
    fn clock_time_get(clock_id: u32, precision: u64, time: *mut u64) -> u32;
    fn proc_exit(code: u32) -> !;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.1.0")]
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_configuration(data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_continue_request() -> u32;
}

fn main() {}
