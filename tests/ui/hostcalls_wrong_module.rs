// Import modules: a WASI function declared in `env`, a Proxy-Wasm function
// declared in the WASI module, and a module the ABI does not have.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn fd_write(fd: u32, iovec: *const u8, iovec_size: usize, written: *mut usize) -> u32;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn proxy_done() -> u32;
}

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
#[link(wasm_import_module = "wasi_unstable")]
unsafe extern "C" {
    fn proc_exit(code: u32);
}

fn main() {}
