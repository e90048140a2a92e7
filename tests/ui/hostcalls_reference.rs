// References are refused: the host sees a bare address.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_get_log_level(return_level: &mut u32) -> u32;
    fn proxy_log(level: u32, message_data: &u8, message_size: usize) -> u32;
}

fn main() {}
