// An SDK's own enums where the ABI passes enums: as parameters of host
// functions and as callback results they pass (the plugin makes the value);
// with `unsound = "warn"` the unsound shapes build, reported as warnings.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[abi(enum = "proxy_map_type_t", version = "0.2.1")]
#[repr(u32)]
pub enum MapType {
    HttpRequestHeaders = 0,
    HttpRequestTrailers = 1,
    HttpResponseHeaders = 2,
    HttpResponseTrailers = 3,
    #[abi(name = "GRPC_CALL_INITIAL_METADATA")]
    GrpcReceiveInitialMetadata = 4,
    #[abi(name = "GRPC_CALL_TRAILING_METADATA")]
    GrpcReceiveTrailingMetadata = 5,
    HttpCallResponseHeaders = 6,
    HttpCallResponseTrailers = 7,
}

/// Only some statuses: enough for values the plugin produces.
#[derive(AbiEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[abi(enum = "proxy_status_t", version = "0.2.1", partial)]
#[repr(u32)]
pub enum Status {
    Ok = 0,
    NotFound = 1,
}

#[derive(AbiEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[abi(enum = "proxy_action_t", version = "0.2.1")]
#[repr(u32)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_get_header_map_size(map_type: MapType, return_size: *mut usize) -> u32;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", unsound = "warn")]
unsafe extern "C" {
    fn proxy_remove_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
    ) -> Status;
}

struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Plugin {
    fn proxy_on_request_headers(_context_id: u32, headers: usize, _end: bool) -> Action {
        if headers > 0 { Action::Continue } else { Action::Pause }
    }
}

fn main() {
    use proxy_wasm_abi::mirror::{Mirrors, ReprU32, spec};
    fn mirrors<E: proxy_wasm_abi::mirror::SpecEnum, T: Mirrors<E> + ReprU32>() {}
    mirrors::<spec::proxy_map_type_t, MapType>();
    mirrors::<spec::proxy_status_t, Status>();
    assert_eq!(MapType::try_from(5), Ok(MapType::GrpcReceiveTrailingMetadata));
    assert_eq!(Status::try_from(6), Err(6));
    assert_eq!(proxy_on_request_headers(1, 2, false), Action::Continue as u32);
}

unsafe extern "C" {
    safe fn proxy_on_request_headers(context_id: u32, headers: usize, end: bool) -> u32;
}
