// The macro's own arguments: missing version, unknown key, undeclared version.
mod missing {
    #[proxy_wasm_abi_macros::hostcalls]
    unsafe extern "C" {
        fn proxy_done() -> u32;
    }
}

mod unknown_key {
    #[proxy_wasm_abi_macros::hostcalls(version = "0.2.1", module = "env")]
    unsafe extern "C" {
        fn proxy_done() -> u32;
    }
}

mod undeclared {
    #[proxy_wasm_abi_macros::hostcalls(version = "0.1.1")]
    unsafe extern "C" {
        fn proxy_done() -> u32;
    }
}

fn main() {}
