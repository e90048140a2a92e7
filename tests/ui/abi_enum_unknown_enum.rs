// A misspelt spec enum name gets the closest name; an unrelated one the list.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_status", version = "0.2.1")]
enum Status {
    Ok = 0,
}

#[derive(AbiEnum)]
#[abi(enum = "http_method", version = "0.2.1")]
enum Method {
    Get = 0,
}

fn main() {}
