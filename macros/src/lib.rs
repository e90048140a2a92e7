//! Procedural macros over the Proxy-Wasm ABI code generators.
//!
//! Each macro only forwards to `proxy_wasm_abi_codegen`, so the CLI, the
//! checked-in `generated/` files and these expansions share one emitter.
//!
//! For SDKs that keep their own hand-written bindings, three macros check
//! them against the description at compile time (`proxy_wasm_abi_codegen::checks`):
//! `#[derive(AbiEnum)]` on a fieldless enum, `#[hostcalls(version = "...")]`
//! on an `extern "C"` block of host functions, and `#[exports(version = "...")]`
//! on an `impl` block of callbacks.

use proc_macro::TokenStream;

/// Expands to the guest (plugin-side) bindings of one ABI version:
/// `mod abi { proxy_wasm_abi_macros::guest!({ version: "0.2.1" }); }`.
///
/// Options: `version` (default: the newest), `debug: "path.rs"` (also write
/// the formatted expansion there, relative to the crate's manifest),
/// `spec: "my-host.abi"` (another description, e.g. an extension), and
/// `runtime_path: "::my_sdk::rt"` (where the expansion finds the runtime
/// crate, `::proxy_wasm_abi` by default).
#[proc_macro]
pub fn guest(input: TokenStream) -> TokenStream {
    proxy_wasm_abi_codegen::options::expand_guest(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Expands to the wasmtime host bindings of one ABI version: the `Host`
/// trait, `add_to_linker` and `Plugin`. The expansion calls the runtime crate
/// `proxy-wasm-abi` (feature `host`), and names wasmtime through it.
/// Same options as [`guest!`].
#[proc_macro]
pub fn host(input: TokenStream) -> TokenStream {
    proxy_wasm_abi_codegen::options::expand_host(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Checks a fieldless enum against the spec enum named by
/// `#[abi(enum = "proxy_status_t", version = "0.2.1")]` (a variant may say
/// `#[abi(name = "NOT_FOUND")]`; `partial` accepts an enum lacking some spec
/// variants), and adds `TryFrom<u32>` (unknown values come back as the
/// error), `From<_> for u32` and `ABI_NAME`.
///
/// It also implements the runtime's `proxy_wasm_abi::mirror::Mirrors` for the
/// spec enum (and `ReprU32` when the enum is `#[repr(u32)]`), which is how
/// `#[hostcalls]` and `#[exports]` check the enum where they meet it: the
/// expansion names the `proxy_wasm_abi` crate, so depend on it (an SDK that
/// re-exports it says where with `runtime_path = "::my_sdk::rt"`, here and
/// on the attributes).
#[proc_macro_derive(AbiEnum, attributes(abi))]
pub fn derive_abi_enum(input: TokenStream) -> TokenStream {
    proxy_wasm_abi_codegen::checks::abi_enum(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Checks each declaration of an `extern "C"` block against the host
/// functions of `version`; the block is re-emitted unchanged, with
/// `#[deprecated]` on functions the description deprecates.
///
/// An SDK enum passed by value as a parameter must mirror the spec enum
/// there (`#[derive(AbiEnum)]`) and be `#[repr(u32)]`. An enum result, or a
/// pointer through which the host writes an enum, is undefined behaviour
/// when the host sends a value the enum lacks: an error, or with
/// `unsound = "warn"` a warning, so an SDK can adopt the checks first.
#[proc_macro_attribute]
pub fn hostcalls(attr: TokenStream, item: TokenStream) -> TokenStream {
    // On error the block is kept too, so its uses add no unresolved-name errors.
    let kept = proc_macro2::TokenStream::from(item.clone());
    proxy_wasm_abi_codegen::checks::hostcalls(attr.into(), item.into())
        .unwrap_or_else(|error| [error.into_compile_error(), kept].into_iter().collect())
        .into()
}

/// Checks each associated function of an inherent `impl` block against the
/// callbacks of `version`, and exports each one and the version marker.
///
/// An SDK enum may be a callback's result (the plugin makes it, checked as
/// for `#[hostcalls]` parameters); as a parameter the host passes it is
/// undefined behaviour, reported as `#[hostcalls]` reports it (`unsound`).
#[proc_macro_attribute]
pub fn exports(attr: TokenStream, item: TokenStream) -> TokenStream {
    // On error the block is kept too, so its uses add no unresolved-name errors.
    let kept = proc_macro2::TokenStream::from(item.clone());
    proxy_wasm_abi_codegen::checks::exports(attr.into(), item.into())
        .unwrap_or_else(|error| [error.into_compile_error(), kept].into_iter().collect())
        .into()
}
