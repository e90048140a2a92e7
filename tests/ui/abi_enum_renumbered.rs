// A discriminant that differs from the spec's value: the error is on the value.
use proxy_wasm_abi_macros::AbiEnum;

#[derive(AbiEnum)]
#[abi(enum = "proxy_log_level_t", version = "0.2.1")]
enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 5,
    Critical = 6,
}

fn main() {}
