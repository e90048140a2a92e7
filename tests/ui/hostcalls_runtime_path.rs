// `runtime_path` must be a Rust path.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", runtime_path = "my sdk")]
unsafe extern "C" {
    fn proxy_done() -> u32;
}

#[derive(proxy_wasm_abi_macros::AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1", runtime_path = "::")]
enum Action {
    Continue = 0,
    Pause = 1,
}

fn main() {}
