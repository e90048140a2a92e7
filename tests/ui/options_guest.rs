// Options of the function-like macros: each mistake is an error spanned on it.
mod unknown {
    proxy_wasm_abi_macros::guest!({ version: "0.2.1", flavour: "mild" });
}
mod twice {
    proxy_wasm_abi_macros::guest!({ version: "0.2.1", version: "0.2.0" });
}
mod undescribed {
    proxy_wasm_abi_macros::guest!({ version: "0.3.0" });
}
mod malformed {
    proxy_wasm_abi_macros::host!({ version: "latest" });
}
mod not_braced {
    proxy_wasm_abi_macros::guest!(version = "0.2.1");
}
mod missing_spec {
    proxy_wasm_abi_macros::guest!({ spec: "no-such-file.abi" });
}

fn main() {}
