//! The plumbing of the generated linker shims: finding the calling plugin's
//! memory, turning a bad argument into the status the description gives,
//! and copying returned values into a fresh guest allocation.
//!
//! A generated shim reads as the list of what it checks:
//!
//! ```ignore
//! rt::host::shim(caller, "proxy_get_property", &STATUS, |call| {
//!     let (mut mem, data) = call.memory()?;
//!     mem.out_slot(return_value_data, 4)?;
//!     let key = mem.str(key_data, key_size)?;
//!     let value = get(data).proxy_get_property(key)?;
//!     call.return_bytes(&value, return_value_data, return_value_size)
//! })
//! ```

use super::limits::{ArgumentLimits, IOVECS_MAX};
use super::memory::{GuestError, GuestMemory, utf8};
use super::plugin::role_exports;
use super::state::{AccessLevel, HasPluginState, PluginState, Rule};
use crate::AbiEnum;
use crate::serial::MapOut;
use crate::serial::Pair;
use alloc::vec::Vec;

/// The values of a status type a shim answers with, from the description's
/// `@role`s: `proxy_status_t` and `wasi_errno_t` each have one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statuses {
    /// The call succeeded.
    pub success: u32,
    /// A pointer or length lies outside the plugin's memory.
    pub memory_fault: u32,
    /// An argument is not valid (unless the parameter names another status).
    pub bad_argument: u32,
}

/// How a shim ends early: with a status for the plugin, or a trap (only the
/// plugin's own allocator, called from the shim, can trap).
///
/// The two common refusals name a role rather than a value, so that a shim
/// need not spell its status type out: [`shim`] answers them with the
/// function's [`Statuses`].
#[derive(Debug)]
pub enum Answer {
    /// The status the host function returns to the plugin.
    Status(u32),
    /// A pointer or length lies outside the plugin's memory: the function's
    /// `memory_fault` status.
    MemoryFault,
    /// An argument is not valid: the function's `bad_argument` status.
    BadArgument,
    /// The plugin trapped in a function the shim called.
    Trap(wasmtime::Error),
}

impl From<wasmtime::Error> for Answer {
    fn from(error: wasmtime::Error) -> Self {
        Answer::Trap(error)
    }
}

/// Runs a shim's `body` for a call from `caller`: `Ok(())` answers
/// `statuses.success`, an [`Answer::Status`] that status, a role its value
/// in `statuses`, and an [`Answer::Trap`] traps the plugin.
///
/// `function` names the host function for the trace of
/// [`PluginState::trace_host_calls`].
#[inline]
pub fn shim<T: HasPluginState + 'static>(
    caller: wasmtime::Caller<'_, T>,
    function: &'static str,
    statuses: &'static Statuses,
    body: impl FnOnce(&mut HostCall<'_, T>) -> Result<(), Answer>,
) -> wasmtime::Result<u32> {
    let mut call = HostCall {
        caller,
        memory: None,
    };
    if T::TRACES_HOST_CALLS {
        let state = call.caller.data_mut().plugin_state();
        if let Some(status) = state.answer_for(function) {
            state.traced(function, Some(status));
            return Ok(status);
        }
    }
    let answer = match body(&mut call) {
        Ok(()) => Ok(statuses.success),
        Err(Answer::Status(status)) => Ok(status),
        Err(Answer::MemoryFault) => Ok(statuses.memory_fault),
        Err(Answer::BadArgument) => Ok(statuses.bad_argument),
        Err(Answer::Trap(error)) => Err(error),
    };
    if T::TRACES_HOST_CALLS {
        let status = answer.as_ref().ok().copied();
        call.caller
            .data_mut()
            .plugin_state()
            .traced(function, status);
    }
    answer
}

/// One call of a host function by a plugin, inside [`shim`].
pub struct HostCall<'a, T: 'static> {
    caller: wasmtime::Caller<'a, T>,
    /// The memory once found, and whether it is the recorded memory of the
    /// instance whose callback runs (then its allocator is recorded too).
    memory: Option<(wasmtime::Memory, bool)>,
}

impl<'a, T: HasPluginState + 'static> HostCall<'a, T> {
    /// The store's data, for a host function that reads no memory.
    #[inline]
    pub fn data(&mut self) -> &mut T {
        self.caller.data_mut()
    }

    /// The plugin state in the store's data.
    #[inline]
    pub fn state(&mut self) -> &mut PluginState {
        self.caller.data_mut().plugin_state()
    }

    /// The calling plugin's exported memory: the recorded one of the
    /// instance whose callback runs now (see [`PluginState`]), else the
    /// caller's `memory` export.
    #[inline]
    fn find_memory(&mut self) -> Result<(wasmtime::Memory, bool), Answer> {
        if let Some(found) = self.memory {
            return Ok(found);
        }
        let found = match self.caller.data_mut().plugin_state().current_memory() {
            Some(memory) => (memory, true),
            None => self.export_memory()?,
        };
        self.memory = Some(found);
        Ok(found)
    }

    /// The caller's `memory` export, for a call [`PluginState`] recorded no
    /// memory for: kept out of line so that the recorded case inlines into
    /// every shim.
    #[inline(never)]
    fn export_memory(&mut self) -> Result<(wasmtime::Memory, bool), Answer> {
        match self.caller.get_export("memory") {
            Some(wasmtime::Extern::Memory(memory)) => Ok((memory, false)),
            _ => Err(Answer::MemoryFault),
        }
    }

    /// The plugin's memory, checked, and the store's data beside it.
    #[inline]
    pub fn memory(&mut self) -> Result<(Memory<'_>, &mut T), Answer> {
        let (memory, _) = self.find_memory()?;
        let limits = self.caller.data_mut().plugin_state().limits.arguments();
        let (bytes, data) = memory.data_and_store_mut(&mut self.caller);
        Ok((
            Memory {
                inner: GuestMemory::new(bytes),
                limits,
            },
            data,
        ))
    }

    /// Copies `value` into a fresh allocation of the plugin and writes its
    /// address and length to `ptr_out` and `size_out` (0 and 0 for an empty
    /// value). A memory fault when the plugin could not allocate or
    /// answered an address outside its memory.
    #[inline]
    pub fn return_bytes(
        &mut self,
        value: &[u8],
        ptr_out: u32,
        size_out: u32,
    ) -> Result<(), Answer> {
        self.return_parts([value], ptr_out, size_out)
    }

    /// [`HostCall::return_bytes`] of `parts` one after another.
    fn return_parts<const N: usize>(
        &mut self,
        parts: [&[u8]; N],
        ptr_out: u32,
        size_out: u32,
    ) -> Result<(), Answer> {
        let (memory, current) = self.find_memory()?;
        let total = parts.iter().map(|part| part.len()).sum::<usize>();
        let Ok(size) = u32::try_from(total) else {
            return Err(Answer::MemoryFault);
        };
        if size == 0 {
            // Nothing to copy: no allocation, so an allocator that answers 0
            // for a 0-byte request is not mistaken for a failure.
            let mut mem = GuestMemory::new(memory.data_mut(&mut self.caller));
            return write_pair(&mut mem, ptr_out, 0, size_out, 0).map_err(|_| Answer::MemoryFault);
        }
        let Some(ptr) = self.allocate(current, size)? else {
            return Err(Answer::MemoryFault);
        };
        let mut mem = GuestMemory::new(memory.data_mut(&mut self.caller));
        let Ok(mut target) = mem.slice_mut(ptr, size) else {
            return Err(Answer::MemoryFault);
        };
        for part in parts {
            let (head, rest) = target.split_at_mut(part.len());
            head.copy_from_slice(part);
            target = rest;
        }
        // The allocator may have grown memory, but never shrinks it: the
        // output slots checked before the call are still in bounds.
        write_pair(&mut mem, ptr_out, ptr, size_out, size).map_err(|_| Answer::MemoryFault)
    }

    /// Like [`HostCall::return_bytes`], for a string.
    #[inline]
    pub fn return_str(&mut self, value: &str, ptr_out: u32, size_out: u32) -> Result<(), Answer> {
        self.return_bytes(value.as_bytes(), ptr_out, size_out)
    }

    /// An empty buffer, kept from an earlier call, for a `Host` `_into`
    /// method to fill; hand it back with [`HostCall::return_out_bytes`].
    #[inline]
    pub fn out_bytes(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.state().scratch.bytes)
    }

    /// Like [`HostCall::out_bytes`], for a string.
    #[inline]
    pub fn out_text(&mut self) -> alloc::string::String {
        core::mem::take(&mut self.state().scratch.text)
    }

    /// Like [`HostCall::out_bytes`], for a map.
    #[inline]
    pub fn out_map(&mut self) -> MapOut {
        core::mem::take(&mut self.state().scratch.map)
    }

    /// [`HostCall::return_bytes`] of a buffer from [`HostCall::out_bytes`],
    /// which is then kept for the next call.
    #[inline]
    pub fn return_out_bytes(
        &mut self,
        value: Vec<u8>,
        ptr_out: u32,
        size_out: u32,
    ) -> Result<(), Answer> {
        let returned = self.return_parts([&value], ptr_out, size_out);
        self.state().scratch.keep_bytes(value);
        returned
    }

    /// [`HostCall::return_out_bytes`] for a string.
    #[inline]
    pub fn return_out_text(
        &mut self,
        value: alloc::string::String,
        ptr_out: u32,
        size_out: u32,
    ) -> Result<(), Answer> {
        let returned = self.return_parts([value.as_bytes()], ptr_out, size_out);
        self.state().scratch.keep_text(value);
        returned
    }

    /// [`HostCall::return_out_bytes`] for a map, serialized; a memory fault
    /// when it is too large for the format.
    #[inline]
    pub fn return_out_map(
        &mut self,
        map: MapOut,
        ptr_out: u32,
        size_out: u32,
    ) -> Result<(), Answer> {
        let returned = match map.serialized_size() {
            Some(_) => {
                let (count, sizes, data) = map.parts();
                self.return_parts([&count, sizes, data], ptr_out, size_out)
            }
            None => Err(Answer::MemoryFault),
        };
        self.state().scratch.keep_map(map);
        returned
    }

    /// Like [`HostCall::return_bytes`], for a map, serialized.
    pub fn return_map<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        pairs: &[(K, V)],
        ptr_out: u32,
        size_out: u32,
    ) -> Result<(), Answer> {
        self.return_bytes(&crate::serial::encode_map(pairs), ptr_out, size_out)
    }

    /// Allocates `size` bytes in the plugin with `proxy_on_memory_allocate`,
    /// or `malloc` only when the former is absent. `None` when neither is
    /// exported or the allocator answers 0.
    fn allocate(&mut self, current: bool, size: u32) -> Result<Option<u32>, Answer> {
        let recorded = if current {
            self.typed_current_allocator()
        } else {
            None
        };
        let (allocator, kept_for) = match recorded {
            Some((instance, allocator)) => (allocator, Some(instance)),
            None => {
                let found = [role_exports::ALLOCATOR, role_exports::LEGACY_ALLOCATOR]
                    .into_iter()
                    .find_map(|name| match self.caller.get_export(name) {
                        Some(wasmtime::Extern::Func(f)) => Some(f),
                        _ => None,
                    });
                let Some(found) = found else {
                    return Ok(None);
                };
                let Ok(allocator) = found.typed::<u32, u32>(&self.caller) else {
                    return Ok(None);
                };
                (allocator, None)
            }
        };
        let ptr = allocator.call(&mut self.caller, size);
        if let Some(instance) = kept_for {
            let state = self.caller.data_mut().plugin_state();
            state.keep_typed_allocator(instance, allocator);
        }
        let ptr = ptr?;
        Ok((ptr != 0).then_some(ptr))
    }

    /// The recorded allocator of the instance whose callback runs, and that
    /// instance, typed once per instance: typing looks the type up in the
    /// engine's registry, which every returned value would pay otherwise.
    /// Taken out of the state for the call; [`HostCall::allocate`] keeps it
    /// again after.
    fn typed_current_allocator(&mut self) -> Option<(u64, wasmtime::TypedFunc<u32, u32>)> {
        let state = self.caller.data_mut().plugin_state();
        let (instance, func) = state.current_allocator()?;
        if let Some(typed) = state.take_typed_allocator(instance) {
            return Some((instance, typed));
        }
        // Checked to be `(u32) -> u32` at instantiation.
        let typed = func.typed::<u32, u32>(&self.caller).ok()?;
        Some((instance, typed))
    }
}

#[inline]
fn write_pair(
    mem: &mut GuestMemory<'_>,
    ptr_out: u32,
    ptr: u32,
    size_out: u32,
    size: u32,
) -> Result<(), GuestError> {
    mem.write_u32(ptr_out, ptr)?;
    mem.write_u32(size_out, size)
}

/// The plugin's memory inside a shim: [`GuestMemory`] whose errors are the
/// answers of the shim. A bad address answers [`Answer::MemoryFault`]; bad
/// contents (text that is not UTF-8, a malformed map) and arguments over
/// the store's [`Limits`](super::Limits) answer [`Answer::BadArgument`].
pub struct Memory<'m> {
    inner: GuestMemory<'m>,
    limits: ArgumentLimits,
}

/// `size` against `limit`: past it, a bad argument.
#[inline]
fn within(size: u32, limit: u32) -> Result<(), Answer> {
    if size <= limit {
        Ok(())
    } else {
        Err(Answer::BadArgument)
    }
}

#[inline]
fn answer(error: GuestError) -> Answer {
    if error.is_memory_fault() {
        Answer::MemoryFault
    } else {
        Answer::BadArgument
    }
}

impl<'m> Memory<'m> {
    /// The checked memory itself.
    pub fn guest(&mut self) -> &mut GuestMemory<'m> {
        &mut self.inner
    }

    /// Checks that an output slot of `len` bytes at `ptr` lies in memory,
    /// before the host does any work.
    #[inline]
    pub fn out_slot(&self, ptr: u32, len: u32) -> Result<(), Answer> {
        self.inner.check(ptr, len).map_err(answer)
    }

    /// A raw address whose extent only the host knows: it must lie in the
    /// memory or at its end (where an empty extent would start).
    #[inline]
    pub fn address(&self, ptr: u32) -> Result<(), Answer> {
        if ptr as usize > self.inner.len() {
            return Err(Answer::MemoryFault);
        }
        Ok(())
    }

    /// `len` bytes at `ptr`, an argument: a bad argument when longer than
    /// the argument limit (checked after the address, so that a bad address
    /// is a memory fault whatever its length).
    #[inline]
    pub fn bytes(&self, ptr: u32, len: u32) -> Result<&[u8], Answer> {
        let bytes = self.inner.slice(ptr, len).map_err(answer)?;
        within(len, self.limits.bytes)?;
        Ok(bytes)
    }

    /// `len` bytes at `ptr`, to fill.
    #[inline]
    pub fn bytes_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Answer> {
        self.inner.slice_mut(ptr, len).map_err(answer)
    }

    /// `len` bytes at `ptr` as a string; a bad argument when they are not
    /// UTF-8.
    #[inline]
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, Answer> {
        let bytes = self.bytes(ptr, len)?;
        utf8(bytes).ok_or(Answer::BadArgument)
    }

    /// A serialized map; a bad argument when it does not decode, or when
    /// its size or the pair count in its header is over the limits (then
    /// nothing is decoded).
    #[inline]
    pub fn map(&self, ptr: u32, len: u32) -> Result<Vec<Pair<'_>>, Answer> {
        let bytes = self.inner.slice(ptr, len).map_err(answer)?;
        within(len, self.limits.map_bytes)?;
        if let Some(count) = bytes.first_chunk::<4>() {
            within(u32::from_le_bytes(*count), self.limits.map_pairs)?;
        }
        crate::serial::decode_map(bytes).map_err(|_| Answer::BadArgument)
    }

    /// A serialized property path.
    #[inline]
    pub fn path(&self, ptr: u32, len: u32) -> Result<crate::serial::PropertyPath<'_>, Answer> {
        Ok(crate::serial::PropertyPath::new(self.bytes(ptr, len)?))
    }

    /// A WASI iovec array; a bad argument when there are more than
    /// [`IOVECS_MAX`] or their total is over the argument limit (or does
    /// not fit a `u32`). Up to [`Iovecs::INLINE`] chunks are held without
    /// allocating.
    #[inline]
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Iovecs<'_>, Answer> {
        // The table's address first: a bad one is a memory fault, whatever
        // the count.
        self.inner
            .check(ptr, count.saturating_mul(8))
            .map_err(answer)?;
        within(count, IOVECS_MAX)?;
        let mut chunks = Iovecs {
            inline: [&[]; Iovecs::INLINE],
            len: 0,
            heap: Vec::new(),
        };
        if count as usize > Iovecs::INLINE {
            chunks.heap.reserve_exact(count as usize);
        }
        let mut total = 0u32;
        self.inner
            .each_iovec(ptr, count, |chunk| {
                // The total fits a u32 when this returns Ok: `each_iovec`
                // checks it.
                total = total.wrapping_add(chunk.len() as u32);
                chunks.push(chunk);
            })
            .map_err(answer)?;
        within(total, self.limits.bytes)?;
        Ok(chunks)
    }

    /// Writes a `u32` to an output slot checked with [`Memory::out_slot`].
    #[inline]
    pub fn write_u32(&mut self, ptr: u32, value: u32) {
        // Checked before the host ran, and memory never shrinks.
        let _ = self.inner.write_u32(ptr, value);
    }

    /// Writes a `u64` to an output slot checked with [`Memory::out_slot`].
    #[inline]
    pub fn write_u64(&mut self, ptr: u32, value: u64) {
        let _ = self.inner.write_u64(ptr, value);
    }

    /// All of the memory, for host functions that take raw addresses.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.inner.as_mut_slice()
    }
}

/// The chunks of a WASI iovec array, as a `Host` sees them (`&[&[u8]]`,
/// through `Deref`): held inline up to [`Iovecs::INLINE`], so the usual
/// write of a line or two allocates nothing.
pub struct Iovecs<'m> {
    inline: [&'m [u8]; Iovecs::INLINE],
    len: usize,
    heap: Vec<&'m [u8]>,
}

impl<'m> Iovecs<'m> {
    /// How many chunks are held without allocating.
    pub const INLINE: usize = 8;

    fn push(&mut self, chunk: &'m [u8]) {
        if self.heap.capacity() == 0 && self.len < Self::INLINE {
            self.inline[self.len] = chunk;
        } else {
            self.heap.push(chunk);
        }
        self.len += 1;
    }
}

impl<'m> core::ops::Deref for Iovecs<'m> {
    type Target = [&'m [u8]];

    fn deref(&self) -> &Self::Target {
        if self.heap.capacity() == 0 {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

/// The enum value `raw`; a bad argument when the version does not define it.
#[inline]
pub fn decode<E: AbiEnum>(raw: u32) -> Result<E, Answer> {
    E::from_raw(raw).ok_or(Answer::BadArgument)
}

/// The enum value `raw`; `invalid` when the version does not define it, for
/// a parameter whose description names its own status (`@on_invalid`).
#[inline]
pub fn decode_or<E: AbiEnum>(raw: u32, invalid: u32) -> Result<E, Answer> {
    E::from_raw(raw).ok_or(Answer::Status(invalid))
}

/// A `usize` output as the `u32` the plugin reads; a bad argument when it
/// does not fit.
#[inline]
pub fn to_u32(value: usize) -> Result<u32, Answer> {
    u32::try_from(value).map_err(|_| Answer::BadArgument)
}

impl PluginState {
    /// Refuses with `forbidden` a use at `level` that `rule` does not permit now.
    #[inline]
    pub fn check(
        &self,
        rule: &Rule<'_>,
        level: AccessLevel,
        forbidden: impl Into<Answer>,
    ) -> Result<(), Answer> {
        if self.permits(rule, level) {
            Ok(())
        } else {
            Err(forbidden.into())
        }
    }
}

/// The host functions of one import module whose shims answer with the same
/// [`Statuses`], being registered in a linker.
pub struct Imports<'l, T: 'static> {
    linker: &'l mut wasmtime::Linker<T>,
    module: &'static str,
    statuses: &'static Statuses,
}

impl<'l, T: HasPluginState + 'static> Imports<'l, T> {
    /// Registers functions of import module `module` in `linker`.
    pub fn new(
        linker: &'l mut wasmtime::Linker<T>,
        module: &'static str,
        statuses: &'static Statuses,
    ) -> Self {
        Imports {
            linker,
            module,
            statuses,
        }
    }
}

/// Defines `Imports::wrapN`: registers a host function of N wasm parameters
/// whose body runs inside [`shim`]. One method per arity, so the body's
/// closure gets its signature from the bound and generated code need not
/// spell the closure and caller types out.
macro_rules! wraps {
    ($($wrap:ident[$n:literal]($($arg:ident: $ty:ident),*);)*) => {
        impl<T: HasPluginState + 'static> Imports<'_, T> {$(
            #[doc = concat!(
                "Registers host function `name` of this module, of ",
                $n,
                " wasm parameters; `body` answers each call inside [`shim`].",
            )]
            pub fn $wrap<$($ty),*>(
                &mut self,
                name: &'static str,
                body: impl Fn(&mut HostCall<'_, T>, $($ty),*) -> Result<(), Answer>
                    + Send
                    + Sync
                    + 'static,
            ) -> wasmtime::Result<()>
            where
                $($ty: wasmtime::WasmTy,)*
            {
                let statuses = self.statuses;
                self.linker.func_wrap(
                    self.module,
                    name,
                    move |caller: wasmtime::Caller<'_, T>, $($arg: $ty),*| {
                        shim(caller, name, statuses, |call| body(call, $($arg),*))
                    },
                )?;
                Ok(())
            }
        )*}
    };
}

wraps! {
    wrap0[0]();
    wrap1[1](a: A);
    wrap2[2](a: A, b: B);
    wrap3[3](a: A, b: B, c: C);
    wrap4[4](a: A, b: B, c: C, d: D);
    wrap5[5](a: A, b: B, c: C, d: D, e: E);
    wrap6[6](a: A, b: B, c: C, d: D, e: E, f: F);
    wrap7[7](a: A, b: B, c: C, d: D, e: E, f: F, g: G);
    wrap8[8](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H);
    wrap9[9](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I);
    wrap10[10](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J);
    wrap11[11](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K);
    wrap12[12](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K, l: L);
    wrap13[13](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K, l: L, m: M);
    wrap14[14](a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K, l: L, m: M, n: N);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Limits;
    use alloc::vec;

    /// `chunks` of 3 bytes each at 0, 3, 6, ... and their iovec table at
    /// 512; the iovecs as the shim reads them.
    fn read_iovecs(raw: &mut [u8], chunks: u32, limits: Limits) -> Result<Vec<Vec<u8>>, Answer> {
        for i in 0..chunks {
            let entry = 512 + 8 * i as usize;
            raw[entry..entry + 4].copy_from_slice(&(3 * i).to_le_bytes());
            raw[entry + 4..entry + 8].copy_from_slice(&3u32.to_le_bytes());
        }
        let memory = Memory {
            inner: GuestMemory::new(raw),
            limits: limits.arguments(),
        };
        let iovecs = memory.iovecs(512, chunks)?;
        Ok(iovecs.iter().map(|chunk| chunk.to_vec()).collect())
    }

    #[test]
    fn iovecs_read_the_same_inline_and_on_the_heap() {
        let mut raw: Vec<u8> = (0..=255).cycle().take(4096).collect();
        for count in [0, 1, Iovecs::INLINE as u32, Iovecs::INLINE as u32 + 1, 100] {
            let chunks = read_iovecs(&mut raw, count, Limits::default()).expect("in bounds");
            assert_eq!(chunks.len(), count as usize);
            for (i, chunk) in chunks.iter().enumerate() {
                assert_eq!(chunk, &raw[3 * i..3 * i + 3], "chunk {i} of {count}");
            }
        }
    }

    #[test]
    fn iovecs_past_the_limits_are_bad_arguments() {
        let mut raw = vec![0u8; 4096];
        let tight = Limits {
            argument_bytes: 8,
            ..Limits::default()
        };
        assert!(matches!(
            read_iovecs(&mut raw, 3, tight),
            Err(Answer::BadArgument)
        ));
        assert!(matches!(
            read_iovecs(&mut raw, 2, tight),
            Ok(chunks) if chunks.len() == 2
        ));
        // More than IOVECS_MAX, with the whole table in memory.
        let mut large = vec![0u8; 16 << 10];
        let memory = Memory {
            inner: GuestMemory::new(&mut large),
            limits: Limits::default().arguments(),
        };
        assert!(matches!(
            memory.iovecs(0, IOVECS_MAX + 1),
            Err(Answer::BadArgument)
        ));
        // A table past the end is a memory fault, whatever the count.
        assert!(matches!(
            memory.iovecs((16 << 10) - 8, 2),
            Err(Answer::MemoryFault)
        ));
    }
}
