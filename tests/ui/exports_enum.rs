// Callbacks: an enum the plugin returns is sound; one the host passes in is
// undefined behaviour for a value without a variant.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
#[repr(u32)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

#[derive(AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_peer_type_t", version = "0.2.1")]
#[repr(u32)]
pub enum PeerType {
    Unknown = 0,
    Local = 1,
    Remote = 2,
}

struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Plugin {
    fn proxy_on_request_headers(_context_id: u32, _headers: usize, _end: bool) -> Action {
        Action::Continue
    }

    fn proxy_on_downstream_connection_close(_context_id: u32, _peer: PeerType) {}
}

fn main() {}
