// `unsound` takes "warn" or "error".
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", unsound = "allow")]
unsafe extern "C" {
    fn proxy_done() -> u32;
}

fn main() {}
