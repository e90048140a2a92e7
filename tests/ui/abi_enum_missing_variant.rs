// Spec variants the enum lacks are named, ready to paste, on the enum's name.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_status_t", version = "0.2.1")]
enum Status {
    Ok = 0,
    NotFound = 1,
    BadArgument = 2,
    SerializationFailure = 3,
    ParseFailure = 4,
    InvalidMemoryAccess = 6,
    Empty = 7,
    InternalFailure = 10,
}

fn main() {}
