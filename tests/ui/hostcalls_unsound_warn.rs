// `unsound = "warn"`: the unsound shapes are warnings (here denied, to show
// their text), while a wrong signature still fails the build.
#![deny(deprecated)]

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
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", unsound = "warn")]
unsafe extern "C" {
    fn proxy_log(level: LogLevel, message_data: *const u8, message_size: usize) -> Status;
    fn proxy_get_log_level(return_level: *mut LogLevel) -> Status;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", unsound = "warn")]
unsafe extern "C" {
    fn proxy_set_tick_period_milliseconds(period: u64) -> Status;
}

fn main() {}
