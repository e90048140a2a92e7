//! The access rules in the generated host: which callback is running, which
//! streams are paused, and the grant tables the shims check before a call
//! reaches the `Host` implementation.
//!
//! The runtime model (see the description's `access` block):
//! - `in X` holds while callback `X` runs; when `X` runs for a stream, only
//!   while that stream is the effective context;
//! - `paused X` holds while the effective context's stream returned `PAUSE`
//!   from `X` and no successful `@resumes` call has resumed it since;
//! - `before X` holds while the effective context is a stream that has not
//!   yet got past `X` (returned `CONTINUE` from it, or was resumed there).
//!
//! Everything comes from the description: the grants, `@forbidden`,
//! `@resumes`, and `@context(create|delete|switch)` for the functions that
//! create, delete and switch contexts. The one ABI fact known by name is the
//! `PAUSE` value of a callback's result.

use proc_macro2::TokenStream;
use proxy_wasm_abi_spec::ir::{
    AbiVersion, AccessLevel, AccessRule, ContextEffect, Function, Place, Subject, Type,
    selector_enums,
};
use quote::{format_ident, quote};

use crate::names::{camel, enum_base, enum_ident, ident, is_toolchain_export, variant_ident};
use crate::rust::doc_lines;

/// The result value of a callback that pauses its stream.
pub const PAUSE: &str = "PAUSE";

/// The callbacks the `Plugin` handle calls, in description order (not the
/// allocator, which the shims call, nor the toolchain's exports).
pub fn plugin_callbacks(abi: &AbiVersion) -> impl Iterator<Item = &Function> {
    abi.callbacks()
        .filter(|f| !f.is_marker && !is_toolchain_export(f) && f.name != "proxy_on_memory_allocate")
}

/// `proxy_on_request_headers` -> `RequestHeaders`.
pub fn callback_variant(name: &str) -> proc_macro2::Ident {
    format_ident!("{}", camel(name.strip_prefix("proxy_on_").unwrap_or(name)))
}

fn level_tokens(level: AccessLevel) -> TokenStream {
    match level {
        AccessLevel::Read => quote!(AccessLevel::Read),
        AccessLevel::Add => quote!(AccessLevel::Add),
        AccessLevel::Modify => quote!(AccessLevel::Modify),
        AccessLevel::Call => quote!(AccessLevel::Call),
    }
}

/// The grant table of one rule, as a `&'static [Grant]` expression: each
/// grant's places as three masks of callbacks.
fn grants_tokens(rule: &AccessRule) -> TokenStream {
    let grants = rule.grants.iter().map(|g| {
        let level = level_tokens(g.level);
        let mask = |keep: fn(&Place) -> bool| {
            let callbacks: Vec<String> = g
                .places
                .iter()
                .filter(|p| keep(p))
                .map(|p| p.callback().to_string())
                .collect();
            mask_tokens(&callbacks)
        };
        let running = mask(|p| matches!(p, Place::In(_)));
        let paused = mask(|p| matches!(p, Place::Paused(_)));
        let before = mask(|p| matches!(p, Place::Before(_)));
        let when = g.when.is_some();
        quote!(Grant { level: #level, running: #running, paused: #paused, before: #before, when: #when })
    });
    quote!(&[#(#grants),*])
}

/// The name of the grant lookup for an enum: `proxy_map_type_t` ->
/// `map_type_grants`.
pub fn enum_grants_fn(enum_name: &str) -> proc_macro2::Ident {
    format_ident!("{}_grants", enum_base(enum_name))
}

/// The name of a restricted host function's grant table:
/// `proxy_get_status` -> `PROXY_GET_STATUS_GRANTS`.
pub fn function_grants_const(name: &str) -> proc_macro2::Ident {
    format_ident!("{}_GRANTS", name.to_ascii_uppercase())
}

/// The name of the lookup from a stream selector to the callbacks its
/// continue or close resumes: `proxy_stream_type_t` -> `stream_type_resumes`.
pub fn resumes_fn(enum_name: &str) -> proc_macro2::Ident {
    format_ident!("{}_resumes", enum_base(enum_name))
}

/// A bit mask of callbacks, as an expression.
pub fn mask_tokens(callbacks: &[String]) -> TokenStream {
    if callbacks.is_empty() {
        return quote!(0);
    }
    let bits = callbacks.iter().map(|c| {
        let v = callback_variant(c);
        quote!(Callback::#v.bit())
    });
    quote!(#(#bits)|*)
}

/// The `bool` parameter of `callback` a `when` clause names, if any.
pub fn condition_param<'a>(abi: &AbiVersion, callback: &'a Function) -> Option<&'a str> {
    let named = abi.access.iter().flat_map(|r| &r.grants).find_map(|g| {
        let when = g.when.as_deref()?;
        g.places
            .iter()
            .any(|p| matches!(p, Place::In(c) if *c == callback.name))
            .then_some(when)
    })?;
    callback
        .params
        .iter()
        .find(|p| p.name == named && p.ty == Type::Bool)
        .map(|p| p.name.as_str())
}

/// The check a shim runs after decoding its arguments and before calling
/// the host: `None` for a function the rules do not restrict. The validator
/// guarantees the shape; a description that slipped past it is an error
/// here rather than an unchecked function.
pub fn shim_check(
    f: &Function,
    abi: &AbiVersion,
    raw_status: &proc_macro2::Ident,
) -> Result<Option<TokenStream>, String> {
    let mut checks = Vec::new();
    for p in &f.params {
        let Some(level) = p.access else { continue };
        let Type::Enum(e) = &p.ty else {
            return Err(format!(
                "`{}`: @access parameter `{}` is not an enum",
                f.name, p.name
            ));
        };
        let lookup = enum_grants_fn(e);
        let var = ident(&p.name);
        let level = level_tokens(level);
        checks.push(quote!(!state.permits(#lookup(#var), #level)));
    }
    if abi.function_rule(&f.name).is_some() {
        let table = function_grants_const(&f.name);
        checks.push(quote!(!state.permits(#table, AccessLevel::Call)));
    }
    if checks.is_empty() {
        return Ok(None);
    }
    let Some(forbidden) = &f.forbidden else {
        return Err(format!(
            "`{}` is restricted by the access rules but has no @forbidden status",
            f.name
        ));
    };
    let forbidden = format_ident!("{forbidden}");
    Ok(Some(quote! {
        let state = data.plugin_state();
        if #(#checks)||* {
            return Ok(#raw_status::#forbidden.0);
        }
    }))
}

/// Whether the access rules restrict `f`: it selects a map or buffer with
/// an `@access` parameter, or has a rule of its own.
pub fn is_restricted(f: &Function, abi: &AbiVersion) -> bool {
    f.params.iter().any(|p| p.access.is_some()) || abi.function_rule(&f.name).is_some()
}

/// What a successful call changes in the state: the effective context, or
/// the pauses a continue or close ends. `None` when nothing.
pub fn shim_effect(f: &Function) -> Option<TokenStream> {
    if f.context_effect == Some(ContextEffect::Switch) {
        let context = f.params.iter().find(|p| p.ty == Type::Context)?;
        let var = ident(&context.name);
        return Some(quote!(data.plugin_state().effective_context = #var;));
    }
    if let Some(p) = f.params.iter().find(|p| p.resumes) {
        let Type::Enum(e) = &p.ty else {
            return None;
        };
        let lookup = resumes_fn(e);
        let var = ident(&p.name);
        return Some(quote!(data.plugin_state().resumed(#lookup(#var));));
    }
    if !f.resumes.is_empty() {
        let mask = mask_tokens(&f.resumes);
        return Some(quote!(data.plugin_state().resumed(#mask);));
    }
    None
}

/// The callback enum, the rule types, the grant tables and `PluginState`.
pub fn tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let callbacks: Vec<&Function> = plugin_callbacks(abi).collect();
    if callbacks.len() > 64 {
        return Err(format!(
            "{} callbacks do not fit the 64-bit pause masks",
            callbacks.len()
        ));
    }
    let variants: Vec<_> = callbacks
        .iter()
        .map(|f| callback_variant(&f.name))
        .collect();
    let names: Vec<&str> = callbacks.iter().map(|f| f.name.as_str()).collect();
    let variant_docs = names.iter().map(|n| format!("`{n}`"));

    let lookups = selector_enums(&abi.functions, |p| p.access.is_some())
        .into_iter()
        .map(|e| enum_lookup(abi, e))
        .collect::<Result<Vec<_>, _>>()?;
    let mut resume_fns = Vec::new();
    for e in selector_enums(&abi.functions, |p| p.resumes) {
        let en = abi
            .enum_named(e)
            .ok_or_else(|| format!("unknown enum `{e}`"))?;
        let rich = enum_ident(e);
        let name = resumes_fn(e);
        let arms = en.variants.iter().map(|v| {
            let vi = variant_ident(&v.name);
            let mask = mask_tokens(&v.resumes);
            quote!(#rich::#vi => #mask,)
        });
        let doc = doc_lines(
            "The callbacks whose pauses a successful continue or close of `stream` ends, as a mask of [`Callback::bit`]s.",
        );
        resume_fns.push(quote! {
            #doc
            pub fn #name(stream: #rich) -> u64 {
                match stream {
                    #(#arms)*
                }
            }
        });
    }
    let mut consts = Vec::new();
    for rule in &abi.access {
        if let Subject::Function(name) = &rule.subject {
            let c = function_grants_const(name);
            let table = grants_tokens(rule);
            let doc = doc_lines(&format!("Where `{name}` may be called."));
            consts.push(quote! {
                #doc
                pub const #c: &[Grant] = #table;
            });
        }
    }

    Ok(quote! {
        /// A callback of this version, as the access rules name it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Callback {
            #(
                #[doc = #variant_docs]
                #variants,
            )*
        }

        impl Callback {
            /// The callback's export name.
            pub const fn abi_name(self) -> &'static str {
                match self {
                    #(Callback::#variants => #names,)*
                }
            }

            /// The callback's bit in pause masks.
            pub const fn bit(self) -> u64 {
                1 << self as u32
            }
        }

        /// How a host function uses a map or buffer; `Call` for a host
        /// function the rules restrict as a whole.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum AccessLevel {
            /// Reading sizes, pairs, values or bytes.
            Read,
            /// Adding entries, without reading or changing the others.
            Add,
            /// Setting, replacing, removing; also grants reading and adding.
            Modify,
            /// Calling a restricted host function.
            Call,
        }

        impl AccessLevel {
            /// Whether a grant of `self` permits a use at `needed`.
            pub const fn grants(self, needed: AccessLevel) -> bool {
                match self {
                    AccessLevel::Modify => !matches!(needed, AccessLevel::Call),
                    AccessLevel::Read => matches!(needed, AccessLevel::Read),
                    AccessLevel::Add => matches!(needed, AccessLevel::Add),
                    AccessLevel::Call => matches!(needed, AccessLevel::Call),
                }
            }
        }

        /// One grant of an access rule: a use at `level` is permitted while
        /// any of its places holds. Places are masks of [`Callback::bit`]s.
        #[derive(Clone, Copy, Debug)]
        pub struct Grant {
            /// What is permitted.
            pub level: AccessLevel,
            /// While one of these callbacks runs; one that runs for a stream,
            /// only while that stream is the effective context.
            pub running: u64,
            /// While the effective context's stream stays paused from one of these.
            pub paused: u64,
            /// While the effective context is a stream not yet past one of these.
            pub before: u64,
            /// Whether `running` also needs the running callback's condition
            /// (e.g. `end_of_stream`).
            pub when: bool,
        }

        #(#lookups)*

        #(#consts)*

        #(#resume_fns)*

        /// The callback now running, as the access rules see it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Running {
            /// Which callback.
            pub callback: Callback,
            /// The context it runs for.
            pub context_id: u32,
            /// Its condition argument (e.g. `end_of_stream`), `false` when it has none.
            pub condition: bool,
        }

        /// Pauses and progress of one stream context, as masks of [`Callback::bit`]s.
        #[derive(Clone, Copy, Debug, Default)]
        struct StreamState {
            paused: u64,
            passed: u64,
        }

        /// Stream states by context id: open addressing with linear probing,
        /// at most half full. Every callback looks its stream up, so this is
        /// on the hot path; the host, not the plugin, picks context ids, so
        /// a multiplicative hash is safe.
        #[derive(Clone, Default)]
        struct Streams {
            slots: Vec<Option<(u32, StreamState)>>,
            len: usize,
        }

        impl Streams {
            /// The slot where probing for `id` starts.
            fn home(&self, id: u32) -> usize {
                // Fibonacci hashing: the top bits of the product spread
                // consecutive ids. `slots.len()` is a power of two, at least 16.
                let bits = self.slots.len().trailing_zeros();
                (id.wrapping_mul(0x9e37_79b9) >> (32 - bits)) as usize
            }

            /// The slot holding `id`, if any.
            fn find(&self, id: u32) -> Option<usize> {
                if self.len == 0 {
                    return None;
                }
                let mask = self.slots.len() - 1;
                let mut at = self.home(id);
                while let Some((key, _)) = self.slots[at] {
                    if key == id {
                        return Some(at);
                    }
                    at = (at + 1) & mask;
                }
                None
            }

            fn get(&self, id: u32) -> Option<&StreamState> {
                let at = self.find(id)?;
                self.slots[at].as_ref().map(|(_, state)| state)
            }

            fn get_mut(&mut self, id: u32) -> Option<&mut StreamState> {
                let at = self.find(id)?;
                self.slots[at].as_mut().map(|(_, state)| state)
            }

            fn contains(&self, id: u32) -> bool {
                self.find(id).is_some()
            }

            /// Sets the state of `id`, adding it if new.
            fn insert(&mut self, id: u32, state: StreamState) {
                if let Some(at) = self.find(id) {
                    self.slots[at] = Some((id, state));
                    return;
                }
                if (self.len + 1) * 2 > self.slots.len() {
                    self.grow();
                }
                let mask = self.slots.len() - 1;
                let mut at = self.home(id);
                while self.slots[at].is_some() {
                    at = (at + 1) & mask;
                }
                self.slots[at] = Some((id, state));
                self.len += 1;
            }

            /// Forgets `id`, shifting later entries of its probe run back so
            /// that no lookup stops early at the hole.
            fn remove(&mut self, id: u32) {
                let Some(mut hole) = self.find(id) else {
                    return;
                };
                self.slots[hole] = None;
                self.len -= 1;
                let mask = self.slots.len() - 1;
                let mut at = (hole + 1) & mask;
                while let Some((key, _)) = self.slots[at] {
                    let home = self.home(key);
                    // The entry may fill the hole unless its home lies
                    // cyclically in (hole, at].
                    if (at.wrapping_sub(home) & mask) >= (at.wrapping_sub(hole) & mask) {
                        self.slots[hole] = self.slots[at].take();
                        hole = at;
                    }
                    at = (at + 1) & mask;
                }
            }

            fn grow(&mut self) {
                let size = (self.slots.len() * 2).max(16);
                let old = core::mem::replace(&mut self.slots, vec![None; size]);
                self.len = 0;
                for (id, state) in old.into_iter().flatten() {
                    self.insert(id, state);
                }
            }
        }

        impl core::fmt::Debug for Streams {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_map().entries(self.slots.iter().flatten().map(|(id, state)| (id, state))).finish()
            }
        }

        /// The memory and allocator of one plugin instance, found at instantiation.
        struct Exports {
            memory: wasmtime::Memory,
            allocator: Option<wasmtime::TypedFunc<u32, u32>>,
        }

        /// Tells apart the `PluginState`s of different stores, so that a
        /// `Plugin` only ever names an instance of its own store.
        static NEXT_STATE_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

        fn next_state_id() -> u64 {
            NEXT_STATE_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
        }

        /// Where a `Plugin`'s memory and allocator are kept: the
        /// [`PluginState::id`] of its store and its index there.
        #[derive(Clone, Copy, Debug)]
        struct Slot {
            state: u64,
            index: usize,
        }

        /// What `enter` saves and `leave` restores.
        #[derive(Clone, Copy)]
        struct Saved {
            running: Option<Running>,
            effective_context: u32,
            current: Option<usize>,
        }

        /// What these bindings keep in the store: what the access rules look
        /// at (the running callback, the effective context, paused streams)
        /// and the memory and allocator of each plugin instance.
        ///
        /// Keep one in the store's data and expose it through
        /// [`HasPluginState`]. Access rules are enforced by default. Streams
        /// are known by context id, so plugins that share a store must not
        /// share context ids.
        ///
        /// While a callback that [`Plugin`] called runs, the host functions
        /// use the memory and allocator recorded here for its instance,
        /// without looking them up. [`Plugin::instantiate`] records them only
        /// for a module whose imports are all host functions of these
        /// bindings (plus memories, tags and plain-valued globals) and that
        /// exports no table and no reference-valued global: no other
        /// instance's code can run during its callbacks, so every host call
        /// then comes from it. Embedder code that runs meanwhile (functions
        /// registered in place of the generated ones, epoch or call hooks)
        /// must keep that true: it must not run other instances' code in the
        /// store except through `Plugin`. Any other call (a raw export call,
        /// or one from a module with other imports, or with such exports)
        /// looks its memory and allocator up by name.
        pub struct PluginState {
            id: u64,
            enforce: bool,
            running: Option<Running>,
            effective_context: u32,
            streams: Streams,
            instances: Vec<Exports>,
            current: Option<usize>,
        }

        impl Default for PluginState {
            fn default() -> Self {
                PluginState {
                    id: next_state_id(),
                    enforce: true,
                    running: None,
                    effective_context: 0,
                    streams: Streams::default(),
                    instances: Vec::new(),
                    current: None,
                }
            }
        }

        /// A clone keeps the rules' view but not the instances' exports,
        /// which belong to one store.
        impl Clone for PluginState {
            fn clone(&self) -> Self {
                PluginState {
                    id: next_state_id(),
                    enforce: self.enforce,
                    running: self.running,
                    effective_context: self.effective_context,
                    streams: self.streams.clone(),
                    instances: Vec::new(),
                    current: None,
                }
            }
        }

        impl core::fmt::Debug for PluginState {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct("PluginState")
                    .field("enforce", &self.enforce)
                    .field("running", &self.running)
                    .field("effective_context", &self.effective_context)
                    .field("streams", &self.streams)
                    .finish_non_exhaustive()
            }
        }

        impl PluginState {
            /// A fresh state, access rules enforced.
            pub fn new() -> Self {
                Self::default()
            }

            /// Turns enforcement of the access rules on (the default) or off.
            /// Off, every call reaches the host, which then answers as it likes.
            pub fn enforce_access_rules(&mut self, enforce: bool) {
                self.enforce = enforce;
            }

            /// Whether the access rules are enforced.
            pub fn access_rules_enforced(&self) -> bool {
                self.enforce
            }

            /// The callback now running, if any.
            pub fn running(&self) -> Option<Running> {
                self.running
            }

            /// The context host functions act on: the running callback's,
            /// or the one the plugin switched to.
            pub fn effective_context(&self) -> u32 {
                self.effective_context
            }

            /// Whether stream `context_id` is paused from `callback`.
            pub fn is_paused(&self, context_id: u32, callback: Callback) -> bool {
                self.streams
                    .get(context_id)
                    .is_some_and(|s| s.paused & callback.bit() != 0)
            }

            /// Whether `grants` permit a use at `level` now (always, when
            /// the rules are not enforced).
            pub fn permits(&self, grants: &[Grant], level: AccessLevel) -> bool {
                if !self.enforce {
                    return true;
                }
                // A callback that runs for a stream grants access to that
                // stream only: switched to another context, its grants
                // lapse. One that runs for a plugin context (an HTTP call's
                // response, a tick) keeps them across a switch.
                let running = self.running.filter(|r| {
                    r.context_id == self.effective_context || !self.streams.contains(r.context_id)
                });
                let stream = || self.streams.get(self.effective_context);
                grants.iter().any(|grant| {
                    grant.level.grants(level)
                        && (running.is_some_and(|r| {
                            grant.running & r.callback.bit() != 0 && (r.condition || !grant.when)
                        }) || (grant.paused | grant.before != 0
                            && stream().is_some_and(|s| {
                                s.paused & grant.paused != 0 || !s.passed & grant.before != 0
                            })))
                })
            }

            /// Context `context_id` was created under `parent_id` (0 for a
            /// plugin context, which is not a stream).
            fn created(&mut self, context_id: u32, parent_id: u32) {
                if parent_id == 0 {
                    self.streams.remove(context_id);
                } else {
                    self.streams.insert(context_id, StreamState::default());
                }
            }

            /// Context `context_id` is gone.
            fn deleted(&mut self, context_id: u32) {
                self.streams.remove(context_id);
            }

            /// Forgets stream `context_id`, for a host that ends a stream
            /// without `proxy_on_delete` (which forgets it too).
            pub fn forget_context(&mut self, context_id: u32) {
                self.deleted(context_id);
            }

            /// A callback of the instance in `slot` starts; returns what to
            /// restore when it ends.
            fn enter(&mut self, running: Option<Running>, slot: Option<Slot>) -> Saved {
                let saved = Saved {
                    running: self.running,
                    effective_context: self.effective_context,
                    current: self.current,
                };
                self.running = running;
                self.effective_context = running.map_or(0, |r| r.context_id);
                self.current = slot.filter(|slot| slot.state == self.id).map(|slot| slot.index);
                saved
            }

            /// A callback ended.
            fn leave(&mut self, saved: Saved) {
                self.running = saved.running;
                self.effective_context = saved.effective_context;
                self.current = saved.current;
            }

            /// Records an instance's memory and allocator; the slot to enter with.
            fn record(&mut self, exports: Exports) -> Slot {
                self.instances.push(exports);
                Slot { state: self.id, index: self.instances.len() - 1 }
            }

            /// The memory of the instance whose callback runs now, if recorded.
            fn current_memory(&self) -> Option<wasmtime::Memory> {
                Some(self.instances.get(self.current?)?.memory)
            }

            /// The allocator of the instance whose callback runs now, if recorded.
            fn current_allocator(&self) -> Option<wasmtime::TypedFunc<u32, u32>> {
                self.instances.get(self.current?)?.allocator.clone()
            }

            /// `callback` returned for `context_id`, pausing it or not.
            fn returned(&mut self, callback: Callback, context_id: u32, paused: bool) {
                if let Some(stream) = self.streams.get_mut(context_id) {
                    if paused {
                        stream.paused |= callback.bit();
                    } else {
                        stream.paused &= !callback.bit();
                        stream.passed |= callback.bit();
                    }
                }
            }

            /// A continue or close succeeded: the effective context's pauses
            /// in `mask` end, and the stream is past those callbacks.
            fn resumed(&mut self, mask: u64) {
                if let Some(stream) = self.streams.get_mut(self.effective_context) {
                    stream.passed |= stream.paused & mask;
                    stream.paused &= !mask;
                }
            }
        }

        /// Store data that holds the bindings' [`PluginState`].
        pub trait HasPluginState {
            /// The state, in the store's data.
            fn plugin_state(&mut self) -> &mut PluginState;
        }
    })
}

/// `pub fn map_type_grants(value: MapType) -> &'static [Grant]`.
fn enum_lookup(abi: &AbiVersion, enum_name: &str) -> Result<TokenStream, String> {
    let en = abi
        .enum_named(enum_name)
        .ok_or_else(|| format!("unknown enum `{enum_name}`"))?;
    let rich = enum_ident(enum_name);
    let name = enum_grants_fn(enum_name);
    let mut arms = Vec::new();
    for v in &en.variants {
        let vi = variant_ident(&v.name);
        let table = abi
            .variant_rule(enum_name, &v.name)
            .map(grants_tokens)
            .unwrap_or_else(|| quote!(&[]));
        arms.push(quote!(#rich::#vi => const { #table },));
    }
    let doc = doc_lines(&format!(
        "Where each `{enum_name}` value may be used, from the description's access rules."
    ));
    Ok(quote! {
        #doc
        pub fn #name(value: #rich) -> &'static [Grant] {
            match value {
                #(#arms)*
            }
        }
    })
}
