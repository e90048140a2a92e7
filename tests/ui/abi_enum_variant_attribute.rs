// `#[abi(...)]` on a variant: a name the spec enum lacks, an unknown key,
// a duplicate key and an empty list.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_status_t", version = "0.2.1")]
enum Status {
    #[abi(name = "OKAY")]
    Success = 0,
    #[abi(rename = "NOT_FOUND")]
    NotFound = 1,
    #[abi(name = "BAD_ARGUMENT", name = "BAD_ARGUMENT")]
    BadArgument = 2,
    #[abi()]
    SerializationFailure = 3,
    ParseFailure = 4,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    InternalFailure = 10,
    Unimplemented = 12,
}

fn main() {}
