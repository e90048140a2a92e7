// `#[derive(AbiEnum)]` without `#[abi(...)]`: the error is on the enum's name.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
enum Action {
    Continue = 0,
    Pause = 1,
}

fn main() {}
