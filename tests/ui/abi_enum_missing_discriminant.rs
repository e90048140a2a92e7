// Implicit discriminants are refused: the value must be visible and checked.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
enum Action {
    Continue,
    Pause,
}

fn main() {}
