// An SDK's own enums by value. As parameters they are sound (the plugin
// makes the value) and pass, once `#[derive(AbiEnum)]` says what they mirror;
// as a result, or behind an out-pointer the host writes, they are undefined
// behaviour when the host sends a value without a variant.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_log_level_t", version = "0.2.1")]
#[repr(u32)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

#[derive(AbiEnum, Clone, Copy)]
#[abi(enum = "proxy_status_t", version = "0.2.1", partial)]
#[repr(u32)]
pub enum Status {
    Ok = 0,
    NotFound = 1,
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_log(level: LogLevel, message_data: *const u8, message_size: usize) -> Status;
    fn proxy_get_log_level(return_level: *mut LogLevel) -> u32;
}

fn main() {}
