// An SDK that re-exports the runtime crate points the checks at it with
// `runtime_path`, on the derive and on the attributes alike.
#![deny(warnings)]

mod my_sdk {
    pub use proxy_wasm_abi as rt;
}

#[derive(proxy_wasm_abi_macros::AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_metric_type_t", version = "0.2.1", runtime_path = "crate::my_sdk::rt")]
#[repr(u32)]
pub enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", runtime_path = "crate::my_sdk::rt")]
unsafe extern "C" {
    fn proxy_define_metric(
        metric_type: MetricType,
        name_data: *const u8,
        name_size: usize,
        return_metric_id: *mut u32,
    ) -> u32;
}

fn main() {
    assert_eq!(u32::from(MetricType::Histogram), 2);
}
