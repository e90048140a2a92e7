// `enum` without `version`: the error is on the attribute.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t")]
enum Action {
    Continue = 0,
    Pause = 1,
}

fn main() {}
