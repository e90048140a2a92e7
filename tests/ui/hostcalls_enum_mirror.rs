// An SDK enum by value where the ABI passes another enum, an enum that
// mirrors nothing, and one without `#[repr(u32)]`.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_stream_type_t", version = "0.2.1")]
#[repr(u32)]
pub enum StreamType {
    HttpRequest = 0,
    HttpResponse = 1,
    Downstream = 2,
    Upstream = 3,
}

#[repr(u32)]
pub enum BufferType {
    HttpRequestBody = 0,
}

#[derive(AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_metric_type_t", version = "0.2.1")]
pub enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_get_header_map_size(map_type: StreamType, return_size: *mut usize) -> u32;
    fn proxy_get_buffer_status(buffer_type: BufferType, length: *mut usize, flags: *mut u32) -> u32;
    fn proxy_define_metric(
        metric_type: MetricType,
        name_data: *const u8,
        name_size: usize,
        return_metric_id: *mut u32,
    ) -> u32;
}

fn main() {}
