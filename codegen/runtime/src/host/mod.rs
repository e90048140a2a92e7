//! What generated wasmtime host bindings call (feature `host`).
//!
//! - [`GuestMemory`], [`GuestError`]: checked reads and writes of a plugin's
//!   memory; nothing a plugin passes can make them panic.
//! - [`PluginState`], [`HasPluginState`], [`Rule`], [`Grant`], [`AccessLevel`]: what
//!   the store keeps for the access rules and each plugin instance.
//! - [`Imports`], [`shim`], [`HostCall`], [`Memory`], [`Answer`], [`Statuses`]: the
//!   plumbing of each generated linker shim.
//! - [`PluginCore`], [`PluginError`], [`CallError`]: instantiation and
//!   callback calls behind the generated `Plugin`.
//! - [`MapOut`]: a map a `Host` hands back, serialized as it is filled.
//! - [`Limits`], [`EpochTicker`]: deadlines for callbacks and caps on a
//!   plugin's memory.

mod callbacks;
mod limits;
mod memory;
mod out;
mod plugin;
mod shim;
mod state;
#[cfg(test)]
mod test_rng;

pub use crate::serial::MapOut;
pub use limits::{EPOCH_TICK, EpochTicker, Limits};
pub use memory::{GuestError, GuestMemory, utf8};
pub use plugin::{
    After, CallError, CallResult, CallbackResult, Export, LookUpCallbacks, Lookup, PluginCore,
    PluginCorePre, PluginError, PluginHandle, PluginPre, PluginStore, ProcExit, Returned, Version,
    declared_versions, role_exports,
};
pub use shim::{
    Answer, HostCall, Imports, Iovecs, Memory, Statuses, decode, decode_or, shim, to_u32,
};
pub use state::{
    AccessLevel, CallbackId, Grant, HasPluginState, PluginState, Rule, Running, Saved, Slot,
    TracedCall,
};

/// Key/value pairs in order, as a `Host` returns a map.
pub type Pairs = alloc::vec::Vec<(alloc::vec::Vec<u8>, alloc::vec::Vec<u8>)>;
