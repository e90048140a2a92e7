//! Procedural macros over the Proxy-Wasm ABI code generators.
//!
//! Each macro only forwards to `proxy_wasm_abi_codegen`, so the CLI, the
//! checked-in `generated/` files and these expansions share one emitter.

use proc_macro::TokenStream;

/// Expands to the guest (plugin-side) bindings of one ABI version:
/// `mod abi { proxy_wasm_abi_macros::guest!({ version: "0.2.1" }); }`.
///
/// Options: `version` (default: the newest), `debug: "path.rs"` (also write
/// the formatted expansion there, relative to the crate's manifest).
#[proc_macro]
pub fn guest(input: TokenStream) -> TokenStream {
    proxy_wasm_abi_codegen::options::expand_guest(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
