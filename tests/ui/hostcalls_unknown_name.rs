// Unknown names: the closest host function is suggested, across modules.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_logg(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_set_header_map_pair(map: u32, data: *const u8, size: usize) -> u32;
    fn clock_time_gte(clock_id: u32, precision: u64, time: *mut u64) -> u32;
    fn proxy_teleport() -> u32;
    #[link_name = "proxy_get_propery"]
    fn get_property(
        path: *const u8,
        size: usize,
        value: *mut *mut u8,
        value_size: *mut usize,
    ) -> u32;
}

fn main() {}
