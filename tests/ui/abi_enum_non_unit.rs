// Variants with fields cannot stand for a bare u32; structs are refused too.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_peer_type_t", version = "0.2.1")]
#[repr(u32)]
enum PeerType {
    Unknown = 0,
    Local(u32) = 1,
    Remote { code: u32 } = 2,
}

#[derive(AbiEnum)]
struct Status(u32);

fn main() {}
