// A declaration with the wrong number of parameters gets the full expected
// parameter list; the caret is on the parameter list.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_log(level: u32, message: *const u8) -> u32;
    fn proxy_done(context_id: u32) -> u32;
}

fn main() {}
