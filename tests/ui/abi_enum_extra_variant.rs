// Variants with no spec counterpart: a typo, one from a later version, and
// one that is simply not there.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_buffer_type_t", version = "0.1.0")]
enum BufferType {
    HttpRequestBody = 0,
    HttpResponseBody = 1,
    DownstreamData = 2,
    UpstreamData = 3,
    HttpCallResponseBody = 4,
    GrpcCallMessage = 5,
    VmConfiguration = 6,
}

#[derive(AbiEnum)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
enum Action {
    Continue = 0,
    Paus = 2,
    Stop = 9,
}

fn main() {}
