// Functions of other versions: added later, or removed earlier.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.0")]
unsafe extern "C" {
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_configuration(data: *mut *mut u8, size: *mut usize) -> u32;
}

fn main() {}
