// A variant whose value belongs to an unclaimed spec variant was renamed:
// the error names the spec variant, which is not reported missing as well.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
enum Action {
    Continue = 0,
    Hold = 1,
}

fn main() {}
