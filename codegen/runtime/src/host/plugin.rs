//! Instantiating a plugin and calling its callbacks: what every version's
//! generated `Plugin` handle does around its typed callback methods.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;
use wasmtime::{AsContext, AsContextMut};

use super::state::{CallbackId, Exports, HasPluginState, Running, Slot};
use crate::AbiEnum;

/// Why a plugin could not be set up.
#[derive(Debug)]
pub enum PluginError {
    /// The module does not export the version marker of the bindings.
    WrongVersion {
        /// The marker the bindings look for, e.g. `proxy_abi_version_0_2_1`.
        expected: &'static str,
        /// The `proxy_abi_version_*` markers the module does export.
        declared: Vec<String>,
    },
    /// The module does not export its memory.
    NoMemory,
    /// A callback is exported with a signature this version does not give it.
    BadSignature {
        /// The export's name.
        name: &'static str,
        /// What wasmtime reported.
        error: wasmtime::Error,
    },
    /// Instantiating the module failed (e.g. an import is missing).
    Instantiate(wasmtime::Error),
    /// `_initialize`, `main` or `_start` trapped.
    Start(wasmtime::Error),
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::WrongVersion { expected, declared } if declared.is_empty() => write!(
                f,
                "the module declares no Proxy-Wasm ABI version (no proxy_abi_version_* export); expected {expected}"
            ),
            PluginError::WrongVersion { expected, declared } => {
                write!(
                    f,
                    "the module declares {}, not {expected}",
                    declared.join(", ")
                )
            }
            PluginError::NoMemory => f.write_str("the module does not export `memory`"),
            PluginError::BadSignature { name, error } => {
                write!(f, "export `{name}` has the wrong signature: {error}")
            }
            PluginError::Instantiate(error) => write!(f, "instantiation failed: {error}"),
            PluginError::Start(error) => {
                write!(f, "the module's start functions failed: {error}")
            }
        }
    }
}

impl core::error::Error for PluginError {}

/// Why a callback call failed. The store stays usable afterwards: other
/// contexts, or a new instance, can be called; an instance whose callback
/// was stopped half-way may hold inconsistent state of its own, which the
/// host may prefer to drop.
#[derive(Debug)]
pub enum CallError {
    /// The plugin trapped (or the host function it called failed). The
    /// error carries the wasm backtrace, which the one-line `Display`
    /// leaves out (see [`CallError::backtrace`]).
    Trap(wasmtime::Error),
    /// The plugin returned a value this version does not define.
    BadReturn {
        /// The callback.
        callback: &'static str,
        /// The value returned.
        value: u32,
    },
    /// The callback ran past the deadline of the store's
    /// [`Limits`](super::Limits) and was stopped.
    Deadline {
        /// The callback.
        callback: &'static str,
        /// The deadline it ran past.
        budget: Duration,
        /// The error, with the wasm backtrace where it was stopped.
        error: wasmtime::Error,
    },
    /// The callback overflowed the wasm stack: unbounded recursion, as a
    /// rule.
    StackOverflow {
        /// The callback.
        callback: &'static str,
        /// The error, with the wasm backtrace.
        error: wasmtime::Error,
    },
}

impl CallError {
    /// The wasm backtrace of a trap, a deadline or a stack overflow, when
    /// wasmtime recorded one (`Config::wasm_backtrace`, on by default).
    pub fn backtrace(&self) -> Option<&wasmtime::WasmBacktrace> {
        match self {
            CallError::Trap(error)
            | CallError::Deadline { error, .. }
            | CallError::StackOverflow { error, .. } => error.downcast_ref(),
            CallError::BadReturn { .. } => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Trap(error) => match error.downcast_ref::<wasmtime::Trap>() {
                Some(trap) => write!(f, "the plugin trapped: {trap}"),
                // A host function's error, or `proc_exit`: its own words,
                // without the backtrace wasmtime adds as context.
                None => {
                    let cause = alloc::format!("{}", error.root_cause());
                    let line = cause.lines().next().unwrap_or_default();
                    write!(f, "the plugin trapped: {line}")
                }
            },
            CallError::BadReturn { callback, value } => {
                write!(
                    f,
                    "`{callback}` returned {value}, which is not a valid value"
                )
            }
            CallError::Deadline {
                callback, budget, ..
            } => write!(
                f,
                "`{callback}` ran past its deadline of {} ms and was stopped",
                budget.as_millis()
            ),
            CallError::StackOverflow { callback, .. } => {
                write!(f, "`{callback}` overflowed the wasm stack")
            }
        }
    }
}

impl core::error::Error for CallError {}

/// What identifies one ABI version's bindings to [`PluginCore::instantiate`].
#[derive(Clone, Copy, Debug)]
pub struct Version {
    /// The marker export, e.g. `proxy_abi_version_0_2_1`.
    pub marker: &'static str,
    /// Whether the bindings' `add_to_linker` registers `name` in `module`.
    pub is_host_function: fn(module: &str, name: &str) -> bool,
    /// The callbacks' export names, indexed by [`CallbackId`]: what a
    /// [`CallError::BadReturn`] names.
    pub callback_names: &'static [&'static str],
}

/// The ABI versions a module declares through its marker exports, e.g.
/// `["0.2.1"]`.
pub fn declared_versions(module: &wasmtime::Module) -> Vec<String> {
    module
        .exports()
        .filter_map(|e| {
            e.name()
                .strip_prefix("proxy_abi_version_")
                .map(|v| v.replace('_', "."))
        })
        .collect()
}

/// Finds a plugin's exports at instantiation.
pub struct Lookup<'a, T: 'static> {
    instance: wasmtime::Instance,
    store: wasmtime::StoreContextMut<'a, T>,
    /// How many callbacks [`Lookup::get`] found.
    found: usize,
}

impl<T: 'static> Lookup<'_, T> {
    /// The callback export `name` as a typed function, absent when it is
    /// not exported; an error when its signature is not `P -> R`.
    ///
    /// Ask for each callback once, and never for a [`role_exports`] name or
    /// the version marker: what is found counts towards the plugin's
    /// exports when instantiation checks that it exports nothing else.
    pub fn get<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &'static str,
    ) -> Result<Export<P, R>, PluginError> {
        let Some(func) = self.func(name) else {
            return Ok(None);
        };
        self.found += 1;
        typed(func, &self.store, name).map(Some)
    }

    fn func(&mut self, name: &str) -> Option<wasmtime::Func> {
        self.instance.get_func(&mut self.store, name)
    }
}

/// Export `name`, `func`, as a typed function.
fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    func: wasmtime::Func,
    store: impl AsContext,
    name: &'static str,
) -> Result<wasmtime::TypedFunc<P, R>, PluginError> {
    func.typed(&store)
        .map_err(|error| PluginError::BadSignature { name, error })
}

/// Whether every import of `module` is a host function of the bindings, a
/// memory, a tag, or a global of a plain value type: nothing through which
/// its code could reach another instance's.
fn imports_only_host_functions(module: &wasmtime::Module, version: &Version) -> bool {
    module.imports().all(|import| {
        // Instantiation succeeded, so an import of one of these names is the
        // function `add_to_linker` registered; its type need not be built.
        (version.is_host_function)(import.module(), import.name())
            || match import.ty() {
                wasmtime::ExternType::Memory(_) | wasmtime::ExternType::Tag(_) => true,
                wasmtime::ExternType::Global(global) => !global.content().is_ref(),
                _ => false,
            }
    })
}

/// Whether `instance` exports no table and no global that holds references:
/// nothing through which others (the embedder, or instances linked to its
/// exports) could put their functions where its code calls them.
///
/// `functions` of its exports are known to be functions (the callbacks and
/// start functions found): when they and the memory are all there is,
/// nothing else need be looked at.
fn exports_no_entry(
    module: &wasmtime::Module,
    instance: wasmtime::Instance,
    mut store: impl AsContextMut,
    functions: usize,
) -> bool {
    if module.exports().len() == functions + 1 {
        return true;
    }
    let mut globals = Vec::new();
    for export in instance.exports(&mut store) {
        match export.into_extern() {
            wasmtime::Extern::Table(_) => return false,
            wasmtime::Extern::Global(global) => globals.push(global),
            _ => {}
        }
    }
    globals
        .iter()
        .all(|global| !global.ty(&store).content().is_ref())
}

/// Runs `call` as `running` of the instance in `slot` (see
/// [`PluginState`](super::PluginState)), then restores the state as it was,
/// also when `call` panics (a `Host` method may): a host that catches the
/// panic goes on with the state as it was, not with a callback that no
/// longer runs.
#[inline(always)]
fn entered<S, T, R>(
    mut store: S,
    running: Option<Running>,
    slot: Option<Slot>,
    call: impl FnOnce(&mut S) -> R,
) -> R
where
    S: AsContextMut<Data = T>,
    T: HasPluginState + 'static,
{
    let mut context = store.as_context_mut();
    let state = context.data_mut().plugin_state();
    let saved = state.enter(running, slot);
    if let Some(ticks) = state.deadline_ticks {
        context.set_epoch_deadline(ticks);
    }
    let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| call(&mut store)));
    store
        .as_context_mut()
        .data_mut()
        .plugin_state()
        .leave(saved);
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The exports the description gives a `@role` the runtime acts on. They
/// are the same in every described version; a test in `tests/` checks them
/// against the description's roles.
pub mod role_exports {
    /// `@role(allocator)`, tried first.
    pub const ALLOCATOR: &str = "proxy_on_memory_allocate";
    /// `@role(legacy_allocator)`, only when the allocator is absent.
    pub const LEGACY_ALLOCATOR: &str = "malloc";
    /// `@role(initialize)`: a reactor's constructor.
    pub const INITIALIZE: &str = "_initialize";
    /// `@role(start)`: a command's entry, run when `INITIALIZE` is absent.
    pub const START: &str = "_start";
    /// `@role(main)`: run after `INITIALIZE`.
    pub const MAIN: &str = "main";
}

/// The start functions a module exports.
struct StartFunctions {
    initialize: Option<wasmtime::Func>,
    start: Option<wasmtime::Func>,
    main: Option<wasmtime::Func>,
}

impl StartFunctions {
    fn lookup<T>(lookup: &mut Lookup<'_, T>) -> StartFunctions {
        StartFunctions {
            initialize: lookup.func(role_exports::INITIALIZE),
            start: lookup.func(role_exports::START),
            main: lookup.func(role_exports::MAIN),
        }
    }

    /// Runs `_initialize` then `main`, or `_start` when `_initialize` is absent.
    fn run(&self, mut store: impl AsContextMut) -> Result<(), PluginError> {
        if let Some(initialize) = self.initialize {
            typed::<(), ()>(initialize, &store, role_exports::INITIALIZE)?
                .call(&mut store, ())
                .map_err(PluginError::Start)?;
            if let Some(main) = self.main {
                typed::<(u32, u32), u32>(main, &store, role_exports::MAIN)?
                    .call(&mut store, (0, 0))
                    .map_err(PluginError::Start)?;
            }
        } else if let Some(start) = self.start {
            typed::<(), ()>(start, &store, role_exports::START)?
                .call(&mut store, ())
                .map_err(PluginError::Start)?;
        }
        Ok(())
    }
}

/// What the state tracks when a callback returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Nothing,
    /// The context is gone (`@context(delete)`), also when the callback is
    /// not exported or traps.
    Deletes,
    /// The callback pauses its stream when it returns this value; a
    /// callback the plugin does not export passes as if it had not paused.
    Pauses(u32),
}

/// What a generated callback method returns: the callback's converted
/// result, `None` when the plugin does not export it, or why the call failed.
pub type CallResult<V> = Result<Option<V>, CallError>;

/// A store (or store context) a plugin's callbacks can be called with: its
/// data holds the [`PluginState`](super::PluginState).
pub trait PluginStore: AsContextMut<Data: HasPluginState + 'static> {}

impl<S: AsContextMut<Data: HasPluginState + 'static>> PluginStore for S {}

/// A callback as looked up at instantiation: `None` when the plugin does
/// not export it.
pub type Export<P, R> = Option<wasmtime::TypedFunc<P, R>>;

/// A callback's wasm result: `()` or an `i32`.
pub trait CallbackResult: wasmtime::WasmResults + Copy {
    /// Whether the value is `pause` (see [`After::Pauses`]).
    fn is(self, pause: u32) -> bool;

    /// The value as a number, for [`CallError::BadReturn`].
    fn value(self) -> u32;
}

impl CallbackResult for () {
    #[inline]
    fn is(self, _pause: u32) -> bool {
        false
    }

    fn value(self) -> u32 {
        0
    }
}

impl CallbackResult for u32 {
    #[inline]
    fn is(self, pause: u32) -> bool {
        self == pause
    }

    fn value(self) -> u32 {
        self
    }
}

/// What a callback's method returns, from the callback's wasm result:
/// nothing, a `bool`, a number, or a value of an enum of the description.
pub trait Returned: Sized {
    /// The wasm result.
    type Raw: CallbackResult;

    /// The value `raw` stands for; `None` when it stands for none (a value
    /// the version does not define).
    fn convert(raw: Self::Raw) -> Option<Self>;
}

impl Returned for () {
    type Raw = ();

    #[inline]
    fn convert((): ()) -> Option<()> {
        Some(())
    }
}

impl Returned for bool {
    type Raw = u32;

    #[inline]
    fn convert(raw: u32) -> Option<bool> {
        Some(raw != 0)
    }
}

impl Returned for u32 {
    type Raw = u32;

    #[inline]
    fn convert(raw: u32) -> Option<u32> {
        Some(raw)
    }
}

impl<E: AbiEnum> Returned for E {
    type Raw = u32;

    #[inline]
    fn convert(raw: u32) -> Option<E> {
        E::from_raw(raw)
    }
}

/// An instantiated plugin, whatever its version: its instance, memory and
/// where [`PluginState`](super::PluginState) keeps them. The generated
/// `Plugin` holds one beside its typed callbacks.
#[derive(Clone, Copy, Debug)]
pub struct PluginCore {
    instance: wasmtime::Instance,
    memory: wasmtime::Memory,
    slot: Option<Slot>,
    version: &'static Version,
}

impl PluginCore {
    /// Instantiates `module`, checks it declares `version`, runs
    /// `_initialize` then `main` (or `_start` when `_initialize` is absent),
    /// and looks the callbacks up with `callbacks`.
    pub fn instantiate<T: HasPluginState + 'static, C>(
        mut store: impl AsContextMut<Data = T>,
        linker: &wasmtime::Linker<T>,
        module: &wasmtime::Module,
        version: &'static Version,
        callbacks: impl FnOnce(&mut Lookup<'_, T>) -> Result<C, PluginError>,
    ) -> Result<(PluginCore, C), PluginError> {
        if module.get_export(version.marker).is_none() {
            return Err(PluginError::WrongVersion {
                expected: version.marker,
                declared: declared_versions(module)
                    .into_iter()
                    .map(|v| alloc::format!("proxy_abi_version_{}", v.replace('.', "_")))
                    .collect(),
            });
        }
        // A start section runs inside `instantiate`, outside any callback:
        // its host calls must not take the memory of a plugin whose callback
        // called this.
        let instance = entered(&mut store, None, None, |store| {
            linker.instantiate(store, module)
        })
        .map_err(PluginError::Instantiate)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(PluginError::NoMemory)?;
        let mut lookup = Lookup {
            instance,
            store: store.as_context_mut(),
            found: 0,
        };
        let callbacks = callbacks(&mut lookup)?;
        let start = StartFunctions::lookup(&mut lookup);
        // `malloc` only when `proxy_on_memory_allocate` is absent.
        let allocate = lookup.func(role_exports::ALLOCATOR);
        let malloc = lookup.func(role_exports::LEGACY_ALLOCATOR);
        let marker = lookup.func(version.marker);
        // Distinct names all: each found export counts once.
        let functions = lookup.found
            + [
                start.initialize,
                start.start,
                start.main,
                allocate,
                malloc,
                marker,
            ]
            .iter()
            .flatten()
            .count();
        // Recorded only for a module that cannot reach other instances' code
        // (see `PluginState`).
        let slot = if imports_only_host_functions(module, version)
            && exports_no_entry(module, instance, &mut store, functions)
        {
            let allocator = allocate
                .or(malloc)
                .and_then(|func| func.typed::<u32, u32>(&store).ok());
            Some(
                store
                    .as_context_mut()
                    .data_mut()
                    .plugin_state()
                    .record(Exports { memory, allocator }),
            )
        } else {
            None
        };
        // The start functions run outside any callback: a context they
        // switch to does not outlive them.
        entered(&mut store, None, slot, |store| start.run(store))?;
        Ok((
            PluginCore {
                instance,
                memory,
                slot,
                version,
            },
            callbacks,
        ))
    }

    /// The wasmtime instance.
    #[inline]
    pub fn instance(&self) -> wasmtime::Instance {
        self.instance
    }

    /// The plugin's memory.
    #[inline]
    pub fn memory(&self) -> wasmtime::Memory {
        self.memory
    }

    /// Calls `callback` as `running`, tracks in the state what its return
    /// means (`after`) and converts what it returned. `Ok(None)` when the
    /// plugin does not export it.
    // Always inlined: each generated method passes a constant `after`, which
    // then folds away, leaving only the tracking that callback needs.
    #[inline(always)]
    pub fn call<T, P, V>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        callback: &Export<P, V::Raw>,
        running: Running,
        after: After,
        params: P,
    ) -> Result<Option<V>, CallError>
    where
        T: HasPluginState + 'static,
        P: wasmtime::WasmParams,
        V: Returned,
    {
        let context_id = running.context_id;
        let Some(func) = callback else {
            let mut context = store.as_context_mut();
            let state = context.data_mut().plugin_state();
            match after {
                After::Nothing => {}
                After::Deletes => state.forget_context(context_id),
                After::Pauses(_) => state.returned(running.callback, context_id, false),
            }
            return Ok(None);
        };
        let called = entered(&mut store, Some(running), self.slot, |store| {
            func.call(store, params)
        });
        if after == After::Deletes {
            store
                .as_context_mut()
                .data_mut()
                .plugin_state()
                .forget_context(context_id);
        }
        let raw = called.map_err(|error| self.failed(&mut store, running.callback, error))?;
        if let After::Pauses(pause) = after {
            store.as_context_mut().data_mut().plugin_state().returned(
                running.callback,
                context_id,
                raw.is(pause),
            );
        }
        match V::convert(raw) {
            Some(value) => Ok(Some(value)),
            None => Err(self.bad_return(running.callback, raw.value())),
        }
    }

    /// The name of `callback` in this version.
    fn callback_name(&self, callback: CallbackId) -> &'static str {
        let names = self.version.callback_names;
        names
            .get(usize::from(callback.0))
            .copied()
            .unwrap_or("a callback")
    }

    /// `callback` returned `value`, which its type does not define.
    #[cold]
    fn bad_return(&self, callback: CallbackId, value: u32) -> CallError {
        CallError::BadReturn {
            callback: self.callback_name(callback),
            value,
        }
    }

    /// `callback` failed with `error`: a deadline, a stack overflow, or
    /// another trap.
    #[cold]
    fn failed<T: HasPluginState + 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        callback: CallbackId,
        error: wasmtime::Error,
    ) -> CallError {
        let callback = self.callback_name(callback);
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => {
                let mut context = store.as_context_mut();
                let limits = context.data_mut().plugin_state().limits;
                CallError::Deadline {
                    callback,
                    budget: limits.deadline.unwrap_or_default(),
                    error,
                }
            }
            Some(wasmtime::Trap::StackOverflow) => CallError::StackOverflow { callback, error },
            _ => CallError::Trap(error),
        }
    }
}
