//! What generated wasmtime host bindings call (feature `host`).
//!
//! - [`GuestMemory`], [`GuestError`]: checked reads and writes of a plugin's
//!   memory; nothing a plugin passes can make them panic.
//! - [`PluginState`], [`HasPluginState`], [`Grant`], [`AccessLevel`]: what
//!   the store keeps for the access rules and each plugin instance.
//! - [`shim`], [`HostCall`], [`Memory`], [`Answer`], [`Statuses`]: the
//!   plumbing of each generated linker shim.
//! - [`PluginCore`], [`PluginError`], [`CallError`]: instantiation and
//!   callback calls behind the generated `Plugin`.

mod memory;
mod plugin;
mod shim;
mod state;
#[cfg(test)]
mod test_rng;

pub use memory::{GuestError, GuestMemory, utf8};
pub use plugin::{
    After, CallError, CallResult, CallbackResult, Export, ExportedCallbacks, Lookup, PluginCore,
    PluginError, PluginStore, Returned, Version, declared_versions, role_exports,
};
pub use shim::{
    Answer, HostCall, Memory, Statuses, decode, shim, to_u32, wrap0, wrap1, wrap2, wrap3, wrap4,
    wrap5, wrap6, wrap7, wrap8, wrap9, wrap10, wrap11, wrap12, wrap13, wrap14,
};
pub use state::{
    AccessLevel, CallbackId, Grant, HasPluginState, PluginState, Running, Saved, Slot,
};

/// Key/value pairs in order, as a `Host` returns a map.
pub type Pairs = alloc::vec::Vec<(alloc::vec::Vec<u8>, alloc::vec::Vec<u8>)>;
