// An undeclared version lists the declared ones; a malformed one says why.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.3.0")]
enum Action {
    Continue = 0,
    Pause = 1,
}

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "latest")]
enum Action2 {
    Continue = 0,
    Pause = 1,
}

fn main() {}
