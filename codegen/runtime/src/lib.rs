//! The Proxy-Wasm ABI, generated from one machine-readable description.
//!
//! This crate is what a plugin SDK or a proxy depends on. It holds the parts
//! of the bindings that are the same for every ABI version, compiled and
//! tested once, and re-exports the macros that generate the rest (enums,
//! imports, the `Host` trait, the linker shims, the plugin handle) from the
//! description:
//!
//! - [`serial`]: the serialized map and property path codec.
//! - [`AbiEnum`], [`UnknownValue`], [`abi_enum!`]: how ABI enums cross the boundary.
//! - [`mirror`]: what `#[derive(AbiEnum)]` records about an SDK's own enum,
//!   so `#[hostcalls]` and `#[exports]` can check where it is passed.
//! - `guest` (feature `guest`, `no_std` + `alloc`): the default allocator,
//!   taking buffers the host returned, and what the typed host calls
//!   (`abi::host`) share: encoding arguments, decoding results.
//! - `host` (feature `host`, wasmtime): checked guest memory, the state the
//!   access rules need, the shims' plumbing, instantiation and callback calls.
//! - `guest!`, `host!`, `#[derive(AbiEnum)]`, `#[hostcalls]`, `#[exports]`
//!   (feature `macros`, on by default).
//!
//! Generated code names this crate by path (`::proxy_wasm_abi` unless the
//! generator is given another `runtime_path`).
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "host")]
extern crate std;

mod enums;
pub mod mirror;
pub mod serial;

#[cfg(feature = "guest")]
pub mod guest;
#[cfg(feature = "host")]
pub mod host;

pub use enums::{AbiEnum, UnknownValue};

/// The wasmtime the `host` feature is built on, which generated host code
/// names: a host that uses it needs no wasmtime dependency of its own, so
/// the two cannot disagree.
#[cfg(feature = "host")]
pub use wasmtime;

#[cfg(feature = "macros")]
pub use proxy_wasm_abi_macros::{AbiEnum, exports, guest, host, hostcalls};
