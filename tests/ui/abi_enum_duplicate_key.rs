// A key given twice, also across two `#[abi]` attributes.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
#[abi(version = "0.2.0")]
enum Action {
    Continue = 0,
    Pause = 1,
}

fn main() {}
