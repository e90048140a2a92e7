// A declaration with the wrong number of parameters gets the full expected
// parameter list; the caret is on the parameter list. An SDK enum among the
// parameters adds nothing: where parameters pair with nothing it is not
// judged. An SDK type as a result where the ABI has none is.
#[repr(u32)]
pub enum LogLevel {
    Trace = 0,
}

pub enum Status {
    Ok = 0,
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_log(level: u32, message: *const u8) -> u32;
    fn proxy_done(context_id: u32) -> u32;
    fn proxy_set_tick_period_milliseconds(level: LogLevel, period: u32) -> u32;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn proc_exit(code: u32) -> Status;
}

fn main() {}
