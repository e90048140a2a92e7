// An out-pointer to a smaller slot than the host writes: the host would
// write past it. Pointer-sized and same-sized pointees pass.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_get_current_time_nanoseconds(return_time: *mut u32) -> u32;
    fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32;
    fn proxy_get_buffer_status(buffer_type: u32, length: *mut u8, flags: *mut bool) -> u32;
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
}

fn main() {}
