// Discriminants must be u32 literals the macro can read.
use proxy_wasm_abi_macros::AbiEnum;

const PAUSE: isize = 1;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
enum Action {
    Continue = 0,
    Pause = PAUSE,
}

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
#[repr(i64)]
enum Action2 {
    Continue = 0,
    Pause = 0x1_0000_0001,
}

fn main() {}
