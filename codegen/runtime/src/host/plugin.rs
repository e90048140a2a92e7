//! Instantiating a plugin and calling its callbacks: what every version's
//! generated `Plugin` handle does around its typed callback methods.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;
use wasmtime::{AsContext, AsContextMut};

use super::state::{CallbackId, Exports, HasPluginState, Running, Slot, next_instance_id};
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
    /// The plugin ended itself with WASI `proc_exit` during the callback.
    Exit {
        /// The callback.
        callback: &'static str,
        /// The code it passed.
        code: u32,
    },
}

/// The error a generated `proc_exit` shim ends the running callback with,
/// after the `Host` was told: the plugin asked never to be returned to.
/// [`PluginCore`] reports it as [`CallError::Exit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcExit {
    /// The code the plugin passed.
    pub code: u32,
}

impl fmt::Display for ProcExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the plugin called proc_exit({})", self.code)
    }
}

impl core::error::Error for ProcExit {}

impl ProcExit {
    /// The error that ends a callback for `proc_exit(code)`.
    pub fn error(code: u32) -> wasmtime::Error {
        wasmtime::Error::new(ProcExit { code })
    }
}

impl CallError {
    /// The wasm backtrace of a trap, a deadline or a stack overflow, when
    /// wasmtime recorded one (`Config::wasm_backtrace`, on by default).
    pub fn backtrace(&self) -> Option<&wasmtime::WasmBacktrace> {
        match self {
            CallError::Trap(error)
            | CallError::Deadline { error, .. }
            | CallError::StackOverflow { error, .. } => error.downcast_ref(),
            CallError::BadReturn { .. } | CallError::Exit { .. } => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Trap(error) => match error.downcast_ref::<wasmtime::Trap>() {
                Some(trap) => write!(f, "the plugin trapped: {trap}"),
                // A host function's error: its own words,
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
            CallError::Exit { callback, code } => {
                write!(
                    f,
                    "the plugin ended itself with proc_exit({code}) in `{callback}`"
                )
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
}

impl<T: 'static> Lookup<'_, T> {
    /// The callback export `name` as a typed function, absent when it is
    /// not exported; an error when its signature is not `P -> R`.
    pub fn get<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &'static str,
    ) -> Result<Export<P, R>, PluginError> {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return Ok(None);
        };
        typed(func, &self.store, name).map(Some)
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

/// Whether `module` exports no table and no global that holds references:
/// nothing through which others (the embedder, or instances linked to its
/// exports) could put their functions where its code calls them.
fn exports_no_entry(module: &wasmtime::Module) -> bool {
    module.exports().all(|export| match export.ty() {
        wasmtime::ExternType::Table(_) => false,
        wasmtime::ExternType::Global(global) => !global.content().is_ref(),
        _ => true,
    })
}

/// Export `name` of `module` when it is a function of type `(i32) -> i32`.
fn allocator_export(module: &wasmtime::Module, name: &str) -> Option<wasmtime::ModuleExport> {
    let wasmtime::ExternType::Func(ty) = module.get_export(name)? else {
        return None;
    };
    let is_i32 = |t: wasmtime::ValType| matches!(t, wasmtime::ValType::I32);
    let one_each = ty.params().len() == 1 && ty.results().len() == 1;
    if !(one_each && ty.params().chain(ty.results()).all(is_i32)) {
        return None;
    }
    module.get_export_index(name)
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
    slot: Option<&Slot>,
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

/// Where a module's start functions are, found once.
#[derive(Clone, Copy)]
struct StartExports {
    initialize: Option<wasmtime::ModuleExport>,
    start: Option<wasmtime::ModuleExport>,
    main: Option<wasmtime::ModuleExport>,
}

impl StartExports {
    fn of(module: &wasmtime::Module) -> StartExports {
        let function = |name| match module.get_export(name) {
            Some(wasmtime::ExternType::Func(_)) => module.get_export_index(name),
            _ => None,
        };
        StartExports {
            initialize: function(role_exports::INITIALIZE),
            start: function(role_exports::START),
            main: function(role_exports::MAIN),
        }
    }

    fn of_instance(
        &self,
        instance: wasmtime::Instance,
        mut store: impl AsContextMut,
    ) -> StartFunctions {
        let mut func = |at: Option<wasmtime::ModuleExport>| {
            instance
                .get_module_export(&mut store, &at?)
                .and_then(wasmtime::Extern::into_func)
        };
        StartFunctions {
            initialize: func(self.initialize),
            start: func(self.start),
            main: func(self.main),
        }
    }
}

impl StartFunctions {
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

/// A module checked against a version and linked once, to make plugin
/// instances from: what [`PluginCore::instantiate`] finds out about the
/// module (its version, imports, memory, start functions, allocator, and
/// whether it can reach other instances' code) is found here, so that each
/// instance costs wasmtime's own instantiation plus one lookup per callback.
pub struct PluginCorePre<T: 'static> {
    pre: wasmtime::InstancePre<T>,
    version: &'static Version,
    memory: wasmtime::ModuleExport,
    start: StartExports,
    /// `proxy_on_memory_allocate`, or `malloc` when it is absent; only when
    /// instances get a slot.
    allocator: Option<wasmtime::ModuleExport>,
    /// Whether instances get a [`Slot`] (see
    /// [`PluginState`](super::PluginState)).
    slotted: bool,
}

impl<T: 'static> Clone for PluginCorePre<T> {
    fn clone(&self) -> Self {
        PluginCorePre {
            pre: self.pre.clone(),
            version: self.version,
            memory: self.memory,
            start: self.start,
            allocator: self.allocator,
            slotted: self.slotted,
        }
    }
}

impl<T: HasPluginState + 'static> PluginCorePre<T> {
    /// Checks that `module` declares `version` and exports its memory as
    /// `memory`, and links it with `linker`'s definitions.
    pub fn new(
        linker: &wasmtime::Linker<T>,
        module: &wasmtime::Module,
        version: &'static Version,
    ) -> Result<PluginCorePre<T>, PluginError> {
        if module.get_export(version.marker).is_none() {
            return Err(PluginError::WrongVersion {
                expected: version.marker,
                declared: declared_versions(module)
                    .into_iter()
                    .map(|v| alloc::format!("proxy_abi_version_{}", v.replace('.', "_")))
                    .collect(),
            });
        }
        let pre = linker
            .instantiate_pre(module)
            .map_err(PluginError::Instantiate)?;
        let memory = match module.get_export("memory") {
            Some(wasmtime::ExternType::Memory(_)) => module.get_export_index("memory"),
            _ => None,
        }
        .ok_or(PluginError::NoMemory)?;
        // A slot only for a module that cannot reach other instances' code
        // (see `PluginState`).
        let slotted = imports_only_host_functions(module, version) && exports_no_entry(module);
        // `malloc` only when `proxy_on_memory_allocate` is absent; a wrongly
        // typed allocator is none, as when looked up by name.
        let allocator = match module.get_export(role_exports::ALLOCATOR) {
            Some(_) => allocator_export(module, role_exports::ALLOCATOR),
            None => allocator_export(module, role_exports::LEGACY_ALLOCATOR),
        };
        Ok(PluginCorePre {
            pre,
            version,
            memory,
            start: StartExports::of(module),
            allocator: allocator.filter(|_| slotted),
            slotted,
        })
    }

    /// The module.
    pub fn module(&self) -> &wasmtime::Module {
        self.pre.module()
    }

    /// Instantiates the module in `store`, runs its start functions and
    /// looks the callbacks up with `callbacks`.
    pub fn instantiate<C>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        callbacks: impl FnOnce(&mut Lookup<'_, T>) -> Result<C, PluginError>,
    ) -> Result<(PluginCore, C), PluginError> {
        // A start section runs inside `instantiate`, outside any callback:
        // its host calls must not take the memory of a plugin whose callback
        // called this.
        let instance = entered(&mut store, None, None, |store| self.pre.instantiate(store))
            .map_err(PluginError::Instantiate)?;
        let Some(wasmtime::Extern::Memory(memory)) =
            instance.get_module_export(&mut store, &self.memory)
        else {
            return Err(PluginError::NoMemory);
        };
        let mut lookup = Lookup {
            instance,
            store: store.as_context_mut(),
        };
        let callbacks = callbacks(&mut lookup)?;
        let start = self.start.of_instance(instance, &mut store);
        let slot = if self.slotted {
            let allocator = self
                .allocator
                .and_then(|at| instance.get_module_export(&mut store, &at))
                .and_then(wasmtime::Extern::into_func);
            let exports = Exports {
                memory,
                allocator,
                instance: next_instance_id(),
            };
            let mut context = store.as_context_mut();
            Some(context.data_mut().plugin_state().slot(exports))
        } else {
            None
        };
        // The start functions run outside any callback: a context they
        // switch to does not outlive them.
        entered(&mut store, None, slot.as_ref(), |store| start.run(store))?;
        Ok((
            PluginCore {
                instance,
                memory,
                slot,
                version: self.version,
            },
            callbacks,
        ))
    }
}

/// A version's callbacks, as [`plugin_callbacks!`](crate::plugin_callbacks)
/// defines them.
pub trait LookUpCallbacks: Sized {
    /// Looks every callback up in an instance being created.
    fn look_up<T>(lookup: &mut Lookup<'_, T>) -> Result<Self, PluginError>;
}

/// A version's generated `Plugin`: a [`PluginCore`] and the callbacks it
/// looked up. What [`PluginPre`] needs to make one.
pub trait PluginHandle: Sized {
    /// The version's callbacks, looked up once per instance.
    type Callbacks: LookUpCallbacks;
    /// The version the plugin's module must declare.
    const VERSION: &'static Version;
    /// The plugin made of `core` and its `callbacks`.
    fn from_parts(core: PluginCore, callbacks: Self::Callbacks) -> Self;
}

/// A module checked against the version of plugin type `P` and linked
/// once, to make `P`s from: each instance then costs wasmtime's own
/// instantiation, its start functions and the callbacks' lookup. Generated
/// bindings name it `PluginPre<T>`.
pub struct PluginPre<T: 'static, P> {
    core: PluginCorePre<T>,
    plugin: core::marker::PhantomData<fn() -> P>,
}

impl<T: 'static, P> Clone for PluginPre<T, P> {
    fn clone(&self) -> Self {
        PluginPre {
            core: self.core.clone(),
            plugin: core::marker::PhantomData,
        }
    }
}

impl<T: HasPluginState + 'static, P: PluginHandle> PluginPre<T, P> {
    /// Checks that `module` declares the plugin's version and exports its
    /// memory, and links it with `linker`'s definitions.
    pub fn new(
        linker: &wasmtime::Linker<T>,
        module: &wasmtime::Module,
    ) -> Result<PluginPre<T, P>, PluginError> {
        Ok(PluginPre {
            core: PluginCorePre::new(linker, module, P::VERSION)?,
            plugin: core::marker::PhantomData,
        })
    }

    /// The module.
    pub fn module(&self) -> &wasmtime::Module {
        self.core.module()
    }

    /// Instantiates the module in `store`, runs `_initialize` then `main`
    /// (or `_start`), and looks up every callback.
    pub fn instantiate(&self, store: impl AsContextMut<Data = T>) -> Result<P, PluginError> {
        let (core, callbacks) = self.core.instantiate(store, P::Callbacks::look_up)?;
        Ok(P::from_parts(core, callbacks))
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
    /// and looks the callbacks up with `callbacks`. To make many instances
    /// of one module, check and link it once with [`PluginCorePre::new`].
    pub fn instantiate<T: HasPluginState + 'static, C>(
        store: impl AsContextMut<Data = T>,
        linker: &wasmtime::Linker<T>,
        module: &wasmtime::Module,
        version: &'static Version,
        callbacks: impl FnOnce(&mut Lookup<'_, T>) -> Result<C, PluginError>,
    ) -> Result<(PluginCore, C), PluginError> {
        PluginCorePre::new(linker, module, version)?.instantiate(store, callbacks)
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
        let called = entered(&mut store, Some(running), self.slot.as_ref(), |store| {
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
        if let Some(exit) = error.downcast_ref::<ProcExit>() {
            return CallError::Exit {
                callback,
                code: exit.code,
            };
        }
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
