// proxy_stream_type_t only exists from 0.2.0 on.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_stream_type_t", version = "0.1.0")]
enum StreamType {
    HttpRequest = 0,
    HttpResponse = 1,
    Downstream = 2,
    Upstream = 3,
}

fn main() {}
