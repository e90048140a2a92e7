// An unknown key is reported on the key, and the known ones are still used.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1", repr = "u32")]
enum Action {
    Continue = 0,
    Pause = 1,
}

fn main() {}
