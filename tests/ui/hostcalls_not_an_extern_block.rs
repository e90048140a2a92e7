// The attribute only goes on `extern "C"` blocks.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
fn proxy_done() -> u32 {
    0
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "system" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    static PROXY_LEVEL: u32;
}

fn main() {}
