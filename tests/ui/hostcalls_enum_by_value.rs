// An SDK's own enums by value: their wasm type cannot be checked, and an enum
// result is undefined behaviour when the host returns an unknown value.
#[repr(u32)]
pub enum LogLevel {
    Trace = 0,
}

#[repr(u32)]
pub enum Status {
    Ok = 0,
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_log(level: LogLevel, message_data: *const u8, message_size: usize) -> Status;
}

fn main() {}
