//! Host-side wasmtime bindings of one ABI version, for proxies.
//!
//! The output holds:
//! - the enums and the map codec (the same emitters as the guest side);
//! - `Host`: one method per host function, with decoded arguments (`&[u8]`,
//!   `&str`, enums, maps as pairs) and `Result<outputs, Status>`; each default
//!   answers the status enum's `unimplemented` value;
//! - `add_to_linker(linker, get)`: registers every host function with its
//!   exact signature. Each shim checks every guest pointer and length, every
//!   enum value and every serialized map before the host sees them, and
//!   answers the status the description gives for a bad one; returned buffers
//!   are allocated in the guest through `proxy_on_memory_allocate` (or
//!   `malloc` when it is absent);
//! - `Plugin`: instantiation with version detection and the integration
//!   exports run in order, every callback looked up once, and typed calls.

use proc_macro2::{Literal, TokenStream};
use proxy_wasm_abi_spec::ir::{AbiVersion, ContextEffect, Enum, Function, Param, StatusRole, Type};
use proxy_wasm_abi_spec::lower::{WasmType, lower_param};
use quote::{format_ident, quote};

use crate::names::{enum_ident, ident, raw_enum_ident, variant_ident};
use crate::rust::{doc_lines, function_docs};
use crate::{access, guest};

fn wasm_arg_type(wasm: WasmType, ty: &Type) -> TokenStream {
    match (wasm, ty) {
        (WasmType::I64, Type::I64) => quote!(i64),
        (WasmType::I64, _) => quote!(u64),
        (WasmType::I32, _) => quote!(u32),
    }
}

/// The status values a shim answers with, from the result enum's roles.
struct Statuses {
    raw: proc_macro2::Ident,
    rich: proc_macro2::Ident,
    success: TokenStream,
    memory_fault: TokenStream,
    bad_argument: TokenStream,
    unimplemented: TokenStream,
}

fn statuses(f: &Function, e: &Enum) -> Result<Statuses, String> {
    let raw = raw_enum_ident(&e.name);
    let rich = enum_ident(&e.name);
    let pick = |role: StatusRole, what: &str| {
        e.with_role(role)
            .map(|v| format_ident!("{}", v.name))
            .ok_or_else(|| {
                format!(
                    "`{}` returns `{}`, which has no @role({what}) value",
                    f.name, e.name
                )
            })
    };
    let konst = |c: proc_macro2::Ident| quote!(#raw::#c.0);
    Ok(Statuses {
        success: konst(pick(StatusRole::Success, "success")?),
        memory_fault: konst(pick(StatusRole::MemoryFault, "memory_fault")?),
        bad_argument: konst(pick(StatusRole::BadArgument, "bad_argument")?),
        unimplemented: {
            let v = variant_ident(&pick(StatusRole::Unimplemented, "unimplemented")?.to_string());
            quote!(#rich::#v)
        },
        raw,
        rich,
    })
}

/// The status for an invalid value of `param`.
fn invalid_status(param: &Param, s: &Statuses) -> TokenStream {
    match &param.on_invalid {
        Some(name) => {
            let raw = &s.raw;
            let c = format_ident!("{name}");
            quote!(#raw::#c.0)
        }
        None => s.bad_argument.clone(),
    }
}

/// The Rust type a `Host` method receives for an input parameter.
fn host_input_type(p: &Param) -> TokenStream {
    match &p.ty {
        Type::U32 | Type::Context | Type::Ptr(_) => quote!(u32),
        Type::U64 => quote!(u64),
        Type::I64 => quote!(i64),
        Type::Usize => quote!(usize),
        Type::Bool => quote!(bool),
        Type::Enum(name) => {
            let rich = enum_ident(name);
            quote!(#rich)
        }
        Type::Bytes => quote!(&[u8]),
        Type::String => quote!(&str),
        Type::Map => quote!(&[(&[u8], &[u8])]),
        Type::Path | Type::Iovecs => quote!(&[&[u8]]),
        Type::Buffer => quote!(&mut [u8]),
    }
}

/// The Rust type a `Host` method returns for an `out` parameter.
fn host_output_type(p: &Param) -> TokenStream {
    match &p.ty {
        Type::U32 => quote!(u32),
        Type::U64 => quote!(u64),
        Type::Usize => quote!(usize),
        Type::Enum(name) => {
            let rich = enum_ident(name);
            quote!(#rich)
        }
        Type::String => quote!(String),
        Type::Map => quote!(Pairs),
        _ => quote!(Vec<u8>),
    }
}

/// What the `Host` trait and the linker need for one host function.
struct Shim {
    method: TokenStream,
    registration: TokenStream,
}

/// The module a host function is imported from: its `@module`, else `env`.
fn import_module(f: &Function) -> &str {
    f.module().unwrap_or("env")
}

fn shim(f: &Function, abi: &AbiVersion) -> Result<Shim, String> {
    let enums = &abi.enums;
    let name = ident(&f.name);
    let module = import_module(f);
    let wasm_name = &f.name;
    let docs = function_docs(f);
    let result_enum = match f.result.as_ref().map(|r| &r.ty) {
        Some(Type::Enum(e)) => Some(
            enums
                .iter()
                .find(|x| &x.name == e)
                .ok_or_else(|| format!("unknown result enum `{e}` of `{}`", f.name))?,
        ),
        None => None,
        Some(other) => {
            return Err(format!(
                "host function `{}` returns `{}`; hosts support enum results only",
                f.name,
                other.keyword()
            ));
        }
    };

    // Closure parameters: every lowered wasm value, as its wasm type.
    let mut closure_params = Vec::new();
    for p in &f.params {
        for v in lower_param(p) {
            // An unused input is received and dropped; the `_` says so.
            let n = if p.unused && !p.out {
                format_ident!("_{}", v.name)
            } else {
                ident(&v.name)
            };
            let t = wasm_arg_type(v.wasm, &p.ty);
            closure_params.push(quote!(#n: #t));
        }
    }

    let Some(e) = result_enum else {
        // No result (WASI `proc_exit`, v0.1.0's continue functions): only
        // scalars are passed, and the host cannot report anything.
        let inputs: Vec<&Param> = f.params.iter().filter(|p| !p.unused).collect();
        if inputs
            .iter()
            .any(|p| p.out || p.ty.is_pair() || matches!(p.ty, Type::Enum(_) | Type::Ptr(_)))
        {
            return Err(format!(
                "`{}` has no result to report a bad argument with",
                f.name
            ));
        }
        let names: Vec<_> = inputs
            .iter()
            .map(|p| ident(&lower_param(p)[0].name))
            .collect();
        let types: Vec<_> = inputs.iter().map(|p| host_input_type(p)).collect();
        let converts = inputs.iter().map(|p| {
            let n = ident(&lower_param(p)[0].name);
            match p.ty {
                Type::Bool => quote!(#n != 0),
                Type::Usize => quote!(#n as usize),
                _ => quote!(#n),
            }
        });
        if access::is_restricted(f, abi) {
            return Err(format!(
                "`{}` is restricted by the access rules but has no result to refuse a call with",
                f.name
            ));
        }
        let unused = names_ignored(&names);
        let effect = access::shim_effect(f).map(|effect| {
            quote! {
                let data = caller.data_mut();
                #effect
            }
        });
        return Ok(Shim {
            method: quote! {
                #docs
                fn #name(&mut self, #(#names: #types),*) {
                    #unused
                }
            },
            registration: quote! {
                linker.func_wrap(#module, #wasm_name, move |mut caller: wasmtime::Caller<'_, T>, #(#closure_params),*| {
                    get(caller.data_mut()).#name(#(#converts),*);
                    #effect
                })?;
            },
        });
    };

    let s = statuses(f, e)?;
    let (raw, rich) = (&s.raw, &s.rich);
    let (success, memory_fault) = (&s.success, &s.memory_fault);
    let unimplemented = &s.unimplemented;
    let has_raw_pointers = f.params.iter().any(|p| matches!(p.ty, Type::Ptr(_)));
    let needs_memory = has_raw_pointers || f.params.iter().any(|p| p.out || p.ty.is_pair());

    let mut out_checks = Vec::new();
    let mut decodes = Vec::new();
    let mut method_params = Vec::new();
    let mut call_args = Vec::new();
    let mut outputs: Vec<&Param> = Vec::new();
    for p in &f.params {
        let values = lower_param(p);
        let first = ident(&values[0].name);
        if p.out {
            for v in &values {
                let n = ident(&v.name);
                let width = Literal::u32_unsuffixed(match (&p.ty, values.len()) {
                    (Type::U64, 1) => 8,
                    _ => 4,
                });
                out_checks.push(quote! {
                    if !guest::fits(memory_len, #n, #width) {
                        return Ok(#memory_fault);
                    }
                });
            }
            if !p.unused {
                outputs.push(p);
            }
            continue;
        }
        if p.unused {
            continue;
        }
        let var = ident(&p.name);
        let invalid = invalid_status(p, &s);
        let ty = host_input_type(p);
        method_params.push(quote!(#var: #ty));
        call_args.push(var.clone());
        let second = values.get(1).map(|v| ident(&v.name));
        decodes.push(match &p.ty {
            // Passed as received: the closure parameter already has this name.
            Type::U32 | Type::Context | Type::U64 | Type::I64 => quote!(),
            // A raw address, whose extent only the host knows: it must at
            // least point into the memory the host is handed with it.
            Type::Ptr(_) => quote! {
                if #first as usize > mem.len() {
                    return Ok(#memory_fault);
                }
            },
            Type::Usize => quote!(let #var = #first as usize;),
            Type::Bool => quote!(let #var = #first != 0;),
            Type::Enum(name) => {
                let (er, en) = (raw_enum_ident(name), enum_ident(name));
                quote! {
                    let Ok(#var) = #en::try_from(#er(#first)) else {
                        return Ok(#invalid);
                    };
                }
            }
            Type::Bytes => quote! {
                let Some(#var) = guest::bytes(mem, #first, #second) else {
                    return Ok(#memory_fault);
                };
            },
            Type::String => quote! {
                let Some(#var) = guest::bytes(mem, #first, #second) else {
                    return Ok(#memory_fault);
                };
                let Some(#var) = guest::utf8(#var) else {
                    return Ok(#invalid);
                };
            },
            Type::Map => quote! {
                let Some(#var) = guest::bytes(mem, #first, #second) else {
                    return Ok(#memory_fault);
                };
                let Ok(#var) = serial::decode_map(#var) else {
                    return Ok(#invalid);
                };
                let #var = #var.as_slice();
            },
            Type::Path => quote! {
                let Some(#var) = guest::bytes(mem, #first, #second) else {
                    return Ok(#memory_fault);
                };
                let #var = serial::decode_path(#var);
                let #var = #var.as_slice();
            },
            Type::Iovecs => quote! {
                let Some(#var) = guest::iovecs(mem, #first, #second) else {
                    return Ok(#memory_fault);
                };
                // The byte count goes back as a u32; a total that cannot is refused.
                if #var.iter().map(|chunk| chunk.len() as u64).sum::<u64>() > u64::from(u32::MAX) {
                    return Ok(#invalid);
                }
                let #var = #var.as_slice();
            },
            Type::Buffer => quote! {
                let Some(#var) = guest::bytes_mut(mem, #first, #second) else {
                    return Ok(#memory_fault);
                };
            },
        });
    }

    // Outputs: scalars are written while the memory is borrowed; buffers are
    // allocated in the guest afterwards, which may grow (move) the memory.
    let output_types: Vec<TokenStream> = outputs.iter().map(|p| host_output_type(p)).collect();
    let ok_type = match output_types.as_slice() {
        [] => quote!(()),
        [one] => one.clone(),
        many => quote!((#(#many),*)),
    };
    let output_names: Vec<_> = outputs
        .iter()
        .map(|p| format_ident!("out_{}", p.name))
        .collect();
    let ok_pattern = match output_names.as_slice() {
        [] => quote!(()),
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let mut scalar_writes = Vec::new();
    let mut buffer_writes = Vec::new();
    for (p, out) in outputs.iter().zip(&output_names) {
        let values = lower_param(p);
        let first = ident(&values[0].name);
        match &p.ty {
            Type::U32 => {
                scalar_writes.push(quote!(guest::write(mem, #first, &#out.to_le_bytes());))
            }
            Type::Usize => {
                let bad = &s.bad_argument;
                scalar_writes.push(quote! {
                    let Ok(#out) = u32::try_from(#out) else {
                        return Ok(#bad);
                    };
                    guest::write(mem, #first, &#out.to_le_bytes());
                })
            }
            Type::U64 => {
                scalar_writes.push(quote!(guest::write(mem, #first, &#out.to_le_bytes());))
            }
            Type::Enum(name) => {
                let er = raw_enum_ident(name);
                scalar_writes
                    .push(quote!(guest::write(mem, #first, &#er::from(#out).0.to_le_bytes());))
            }
            Type::Bytes | Type::String | Type::Map => {
                let second = ident(&values[1].name);
                let bytes = match &p.ty {
                    Type::Map => quote!(&serial::encode_map(&#out)),
                    Type::String => quote!(#out.as_bytes()),
                    _ => quote!(&#out),
                };
                buffer_writes.push(quote! {
                    if !guest::return_bytes(&mut caller, memory, current, #bytes, #first, #second)? {
                        return Ok(#memory_fault);
                    }
                });
            }
            other => {
                return Err(format!(
                    "`{}`: cannot return a `{}`",
                    f.name,
                    other.keyword()
                ));
            }
        }
    }
    // Unused outputs (e.g. `return_unused`) are zeroed so the guest never reads garbage.
    for p in f.params.iter().filter(|p| p.out && p.unused) {
        let first = ident(&lower_param(p)[0].name);
        scalar_writes.push(quote!(guest::write(mem, #first, &0u32.to_le_bytes());));
    }

    let mut ignored = call_args.clone();
    if has_raw_pointers {
        // Raw addresses are only useful with the memory they point into.
        method_params.insert(0, quote!(memory: &mut [u8]));
        ignored.insert(0, format_ident!("memory"));
        call_args.insert(0, format_ident!("mem"));
    }
    let unused = names_ignored(&ignored);
    let method = quote! {
        #docs
        fn #name(&mut self, #(#method_params),*) -> Result<#ok_type, #rich> {
            #unused
            Err(#unimplemented)
        }
    };

    // Bind only what the shim uses, so the generated code has no unused names.
    let uses_mem = has_raw_pointers
        || !scalar_writes.is_empty()
        || !out_checks.is_empty()
        || f.params
            .iter()
            .any(|p| !p.out && !p.unused && p.ty.is_pair());
    // Output slots are checked on the borrowed memory: one store access.
    let length_check = (!out_checks.is_empty()).then(|| {
        quote! {
            let memory_len = mem.len();
            #(#out_checks)*
        }
    });
    let borrow = if uses_mem {
        quote! {
            let (mem, data) = memory.data_and_store_mut(&mut caller);
            #length_check
        }
    } else {
        quote!(let data = caller.data_mut();)
    };
    // `current`: the memory is the recorded one of the instance whose
    // callback runs, so its allocator is recorded too.
    let current = if buffer_writes.is_empty() {
        quote!(_)
    } else {
        quote!(current)
    };
    let memory_setup = needs_memory.then(|| {
        quote! {
            let Some((memory, #current)) = guest::memory(&mut caller) else {
                return Ok(#memory_fault);
            };
        }
    });
    let data_binding = if needs_memory {
        borrow
    } else {
        quote!(let data = caller.data_mut();)
    };
    let check = access::shim_check(f, abi, raw)?;
    let effect = access::shim_effect(f);
    let after_call = if scalar_writes.is_empty() && buffer_writes.is_empty() {
        quote! {
            if let Err(status) = result {
                return Ok(#raw::from(status).0);
            }
            #effect
        }
    } else {
        quote! {
            let #ok_pattern = match result {
                Ok(outputs) => outputs,
                Err(status) => return Ok(#raw::from(status).0),
            };
            #effect
            #(#scalar_writes)*
            #(#buffer_writes)*
        }
    };
    let registration = quote! {
        linker.func_wrap(#module, #wasm_name, move |mut caller: wasmtime::Caller<'_, T>, #(#closure_params),*| -> wasmtime::Result<u32> {
            #memory_setup
            #data_binding
            #(#decodes)*
            #check
            let result = get(data).#name(#(#call_args),*);
            #after_call
            Ok(#success)
        })?;
    };
    Ok(Shim {
        method,
        registration,
    })
}

/// `let _ = (a, b);` for default bodies that ignore their arguments.
fn names_ignored(names: &[proc_macro2::Ident]) -> Option<TokenStream> {
    match names {
        [] => None,
        [one] => Some(quote!(let _ = #one;)),
        many => Some(quote!(let _ = (#(#many),*);)),
    }
}

/// Helpers the shims use to reach guest memory without ever panicking.
fn guest_module() -> TokenStream {
    quote! {
        /// Checked access to the plugin's memory. A plugin is untrusted: every
        /// address and length is checked, and nothing here can panic.
        mod guest {
            use super::HasPluginState;

            /// The calling plugin's exported linear memory, and whether it is
            /// the recorded memory of the instance whose callback runs now
            /// (see [`PluginState`](super::PluginState)): then its allocator
            /// is recorded too. Otherwise the memory is looked up by name.
            pub(super) fn memory<T: HasPluginState>(caller: &mut wasmtime::Caller<'_, T>) -> Option<(wasmtime::Memory, bool)> {
                if let Some(memory) = caller.data_mut().plugin_state().current_memory() {
                    return Some((memory, true));
                }
                match caller.get_export("memory") {
                    Some(wasmtime::Extern::Memory(memory)) => Some((memory, false)),
                    _ => None,
                }
            }

            /// Whether `len` bytes at `ptr` lie inside a memory of `memory_len` bytes.
            pub(super) fn fits(memory_len: usize, ptr: u32, len: u32) -> bool {
                (ptr as usize)
                    .checked_add(len as usize)
                    .is_some_and(|end| end <= memory_len)
            }

            /// `len` bytes at `ptr`, or `None` when they are not all in bounds.
            pub(super) fn bytes(mem: &[u8], ptr: u32, len: u32) -> Option<&[u8]> {
                let start = ptr as usize;
                mem.get(start..start.checked_add(len as usize)?)
            }

            /// Like [`bytes`], mutable.
            pub(super) fn bytes_mut(mem: &mut [u8], ptr: u32, len: u32) -> Option<&mut [u8]> {
                let start = ptr as usize;
                mem.get_mut(start..start.checked_add(len as usize)?)
            }

            /// `bytes` as a string, `None` when they are not UTF-8.
            pub(super) fn utf8(bytes: &[u8]) -> Option<&str> {
                // Keys and messages are nearly always ASCII, which `is_ascii`
                // checks several times faster than `from_utf8` on short input.
                if bytes.is_ascii() {
                    // SAFETY: ASCII bytes are valid UTF-8.
                    return Some(unsafe { core::str::from_utf8_unchecked(bytes) });
                }
                core::str::from_utf8(bytes).ok()
            }

            /// A WASI iovec array: `count` (pointer, length) pairs at `ptr`.
            pub(super) fn iovecs(mem: &[u8], ptr: u32, count: u32) -> Option<Vec<&[u8]>> {
                let table = bytes(mem, ptr, count.checked_mul(8)?)?;
                table
                    .chunks_exact(8)
                    .map(|entry| {
                        let word = |at: usize| u32::from_le_bytes([entry[at], entry[at + 1], entry[at + 2], entry[at + 3]]);
                        bytes(mem, word(0), word(4))
                    })
                    .collect()
            }

            /// Writes `value` at `ptr`; the caller checked the range with [`fits`].
            pub(super) fn write(mem: &mut [u8], ptr: u32, value: &[u8]) {
                if let Some(target) = bytes_mut(mem, ptr, value.len() as u32) {
                    target.copy_from_slice(value);
                }
            }

            /// Allocates `size` bytes in the plugin with `proxy_on_memory_allocate`,
            /// or `malloc` only when the former is absent. `None` when neither is
            /// exported or the allocator answers 0. `current`: the caller is the
            /// instance whose callback runs now, and its allocator is recorded.
            pub(super) fn allocate<T: HasPluginState + 'static>(
                caller: &mut wasmtime::Caller<'_, T>,
                current: bool,
                size: u32,
            ) -> wasmtime::Result<Option<u32>> {
                let recorded = if current {
                    caller.data_mut().plugin_state().current_allocator()
                } else {
                    None
                };
                let allocator = match recorded {
                    Some(allocator) => allocator,
                    None => {
                        let found = ["proxy_on_memory_allocate", "malloc"].into_iter().find_map(|name| match caller.get_export(name) {
                            Some(wasmtime::Extern::Func(f)) => Some(f),
                            _ => None,
                        });
                        let Some(found) = found else {
                            return Ok(None);
                        };
                        let Ok(allocator) = found.typed::<u32, u32>(&*caller) else {
                            return Ok(None);
                        };
                        allocator
                    }
                };
                let ptr = allocator.call(&mut *caller, size)?;
                Ok((ptr != 0).then_some(ptr))
            }

            /// Copies `value` into a fresh guest allocation and writes its address
            /// and length to `ptr_out` and `size_out` (0 and 0 for an empty value).
            /// `false` when the plugin could not allocate, or answered with an
            /// address outside its memory.
            pub(super) fn return_bytes<T: HasPluginState + 'static>(
                caller: &mut wasmtime::Caller<'_, T>,
                memory: wasmtime::Memory,
                current: bool,
                value: &[u8],
                ptr_out: u32,
                size_out: u32,
            ) -> wasmtime::Result<bool> {
                let Ok(size) = u32::try_from(value.len()) else {
                    return Ok(false);
                };
                if size == 0 {
                    // Nothing to copy: no allocation, so an allocator that answers
                    // 0 for a 0-byte request is not mistaken for a failure.
                    let mem = memory.data_mut(&mut *caller);
                    write(mem, ptr_out, &0u32.to_le_bytes());
                    write(mem, size_out, &0u32.to_le_bytes());
                    return Ok(true);
                }
                let Some(ptr) = allocate(caller, current, size)? else {
                    return Ok(false);
                };
                let mem = memory.data_mut(&mut *caller);
                let Some(target) = bytes_mut(mem, ptr, size) else {
                    return Ok(false);
                };
                target.copy_from_slice(value);
                // The allocator may have grown memory, but never shrinks it: the
                // output slots checked before the call are still in bounds.
                write(mem, ptr_out, &ptr.to_le_bytes());
                write(mem, size_out, &size.to_le_bytes());
                Ok(true)
            }
        }
    }
}

/// The plugin handle: instantiation and typed callbacks.
fn plugin_tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let marker = abi.version.marker_name();
    // `is_host_function`: one arm per import module, its names as patterns.
    let mut by_module: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for f in abi.host_functions() {
        by_module.entry(import_module(f)).or_default().push(&f.name);
    }
    let host_arms = by_module
        .iter()
        .map(|(module, names)| quote!(#(#names)|* => module == #module,));
    let mut fields = Vec::new();
    let mut callback_names = Vec::new();
    let mut lookups = Vec::new();
    let mut methods = Vec::new();
    for f in access::plugin_callbacks(abi) {
        let name = ident(&f.name);
        let wasm_name = &f.name;
        let mut wasm_types = Vec::new();
        let mut api_params = Vec::new();
        let mut args = Vec::new();
        for p in &f.params {
            for v in lower_param(p) {
                let n = ident(&v.name);
                wasm_types.push(wasm_arg_type(v.wasm, &p.ty));
                let (ty, arg) = match &p.ty {
                    Type::Bool => (quote!(bool), quote!(u32::from(#n))),
                    Type::Enum(e) => {
                        let (rich, raw) = (enum_ident(e), raw_enum_ident(e));
                        (quote!(#rich), quote!(#raw::from(#n).0))
                    }
                    Type::U64 => (quote!(u64), quote!(#n)),
                    Type::I64 => (quote!(i64), quote!(#n)),
                    _ => (quote!(u32), quote!(#n)),
                };
                api_params.push(quote!(#n: #ty));
                args.push(arg);
            }
        }
        let (result_wasm, result_api, convert) = match f.result.as_ref().map(|r| &r.ty) {
            None => (quote!(()), quote!(()), quote!(Ok(Some(())))),
            Some(Type::Bool) => (quote!(u32), quote!(bool), quote!(Ok(Some(value != 0)))),
            Some(Type::Enum(e)) => {
                let (rich, raw) = (enum_ident(e), raw_enum_ident(e));
                (
                    quote!(u32),
                    quote!(#rich),
                    quote! {
                        #rich::try_from(#raw(value))
                            .map(Some)
                            .map_err(|_| CallError::BadReturn { callback: #wasm_name, value })
                    },
                )
            }
            Some(other) => {
                return Err(format!(
                    "callback `{}` returns `{}`",
                    f.name,
                    other.keyword()
                ));
            }
        };
        // What the access rules track around the call.
        let variant = access::callback_variant(&f.name);
        let context = f.params.iter().find(|p| p.ty == Type::Context).map_or_else(
            || quote!(0),
            |p| {
                let n = ident(&lower_param(p)[0].name);
                quote!(#n)
            },
        );
        // Field shorthand where the parameter is itself named `context_id`.
        let context_field = if context.to_string() == "context_id" {
            quote!(context_id)
        } else {
            quote!(context_id: #context)
        };
        let condition = access::condition_param(abi, f).map_or_else(
            || quote!(false),
            |p| {
                let n = ident(p);
                quote!(#n)
            },
        );
        let created = (f.context_effect == Some(ContextEffect::Create)).then(|| {
            let contexts: Vec<_> = f
                .params
                .iter()
                .filter(|p| p.ty == Type::Context)
                .map(|p| ident(&lower_param(p)[0].name))
                .collect();
            match contexts.as_slice() {
                [id, parent] => quote!(state.created(#id, #parent);),
                _ => quote!(),
            }
        });
        let deleted = (f.context_effect == Some(ContextEffect::Delete))
            .then(|| quote!(state.deleted(#context);));
        let pauses = match f.result.as_ref().map(|r| &r.ty) {
            Some(Type::Enum(e))
                if abi
                    .enum_named(e)
                    .is_some_and(|en| en.variant(access::PAUSE).is_some()) =>
            {
                let raw = raw_enum_ident(e);
                let pause = format_ident!("{}", access::PAUSE);
                Some(quote!(state.returned(Callback::#variant, #context, value == #raw::#pause.0);))
            }
            _ => None,
        };
        // A callback the plugin does not export still happens to the stream:
        // the host goes on as if it had returned CONTINUE.
        let passes = pauses
            .is_some()
            .then(|| quote!(state.returned(Callback::#variant, #context, false);));
        // The context exists whether or not the plugin exports the callback.
        let creating = created.as_ref().map(|created| {
            quote! {
                let mut context = store.as_context_mut();
                let state = context.data_mut().plugin_state();
                #created
            }
        });
        let absent = (deleted.is_some() || passes.is_some()).then(|| {
            quote! {
                let mut context = store.as_context_mut();
                let state = context.data_mut().plugin_state();
                #passes
                #deleted
            }
        });
        // The state again, for what the call's end changes in it.
        let state_after = (deleted.is_some() || pauses.is_some()).then(|| {
            quote! {
                let mut context = store.as_context_mut();
                let state = context.data_mut().plugin_state();
            }
        });
        let call = quote! {
            let running = Running { callback: Callback::#variant, #context_field, condition: #condition };
            let called = entered(&mut store, Some(running), self.slot, |store| func.call(store, (#(#args,)*)));
            #state_after
            #deleted
        };
        let call = if f.result.is_some() {
            quote! {
                #call
                let value = called.map_err(CallError::Trap)?;
                #pauses
            }
        } else {
            quote! {
                #call
                called.map_err(CallError::Trap)?;
            }
        };
        let docs = function_docs(f);
        let tuple = quote!((#(#wasm_types,)*));
        let field_doc = format!("`{wasm_name}`, if the plugin exports it.");
        fields.push(quote! {
            #[doc = #field_doc]
            pub #name: Export<#tuple, #result_wasm>,
        });
        lookups.push(quote! {
            #name: lookup(instance, &mut store, #wasm_name)?,
        });
        callback_names.push(name.clone());
        methods.push(quote! {
            #docs
            ///
            /// Returns `Ok(None)` when the plugin does not export this callback.
            pub fn #name<T: HasPluginState + 'static>(&self, mut store: impl wasmtime::AsContextMut<Data = T>, #(#api_params),*) -> Result<Option<#result_api>, CallError> {
                #creating
                let Some(func) = &self.callbacks.#name else {
                    #absent
                    return Ok(None);
                };
                #call
                #convert
            }
        });
    }
    let no_marker = format!(
        "the module declares no Proxy-Wasm ABI version (no proxy_abi_version_* export); expected {marker}"
    );
    let other_marker = format!("the module declares {{}}, not {marker}");
    let version = abi.version.to_string();
    let plugin_doc = doc_lines(&format!(
        "An instantiated Proxy-Wasm v{version} plugin, with its callbacks looked up once."
    ));
    Ok(quote! {
        /// Why a plugin could not be set up.
        #[derive(Debug)]
        pub enum PluginError {
            /// The module does not export the version marker of this ABI version.
            WrongVersion {
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

        impl core::fmt::Display for PluginError {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    PluginError::WrongVersion { declared } if declared.is_empty() => f.write_str(#no_marker),
                    PluginError::WrongVersion { declared } => write!(f, #other_marker, declared.join(", ")),
                    PluginError::NoMemory => f.write_str("the module does not export `memory`"),
                    PluginError::BadSignature { name, error } => write!(f, "export `{name}` has the wrong signature: {error}"),
                    PluginError::Instantiate(error) => write!(f, "instantiation failed: {error}"),
                    PluginError::Start(error) => write!(f, "the module's start functions failed: {error}"),
                }
            }
        }

        impl core::error::Error for PluginError {}

        /// Why a callback call failed. The store stays usable afterwards.
        #[derive(Debug)]
        pub enum CallError {
            /// The plugin trapped (or the host function it called failed).
            Trap(wasmtime::Error),
            /// The plugin returned a value this version does not define.
            BadReturn {
                /// The callback.
                callback: &'static str,
                /// The value returned.
                value: u32,
            },
        }

        impl core::fmt::Display for CallError {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    CallError::Trap(error) => write!(f, "the plugin trapped: {error}"),
                    CallError::BadReturn { callback, value } => write!(f, "`{callback}` returned {value}, which is not a valid value"),
                }
            }
        }

        impl core::error::Error for CallError {}

        /// The export `name` as a typed function, `None` when it is not exported.
        fn lookup<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
            instance: wasmtime::Instance,
            mut store: impl wasmtime::AsContextMut,
            name: &'static str,
        ) -> Result<Option<wasmtime::TypedFunc<P, R>>, PluginError> {
            instance
                .get_func(&mut store, name)
                .map(|func| typed(func, &store, name))
                .transpose()
        }

        /// Export `name`, `func`, as a typed function.
        fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
            func: wasmtime::Func,
            store: impl wasmtime::AsContext,
            name: &'static str,
        ) -> Result<wasmtime::TypedFunc<P, R>, PluginError> {
            func.typed(&store).map_err(|error| PluginError::BadSignature { name, error })
        }

        /// Whether [`add_to_linker`] registers a host function `name` in `module`.
        pub fn is_host_function(module: &str, name: &str) -> bool {
            match name {
                #(#host_arms)*
                _ => false,
            }
        }

        /// Whether every import of `module` is a host function of these
        /// bindings, a memory, a tag, or a global of a plain value type:
        /// nothing through which its code could reach another instance's.
        fn imports_only_host_functions(module: &wasmtime::Module) -> bool {
            module.imports().all(|import| {
                // Instantiation succeeded, so an import of one of these
                // names is the function `add_to_linker` registered; its
                // type need not be built.
                is_host_function(import.module(), import.name())
                    || match import.ty() {
                        wasmtime::ExternType::Memory(_) | wasmtime::ExternType::Tag(_) => true,
                        wasmtime::ExternType::Global(global) => !global.content().is_ref(),
                        _ => false,
                    }
            })
        }

        /// Whether `instance` exports no table and no global that holds
        /// references: nothing through which others (the embedder, or
        /// instances linked to its exports) could put their functions
        /// where its code calls them.
        ///
        /// `functions` of its exports are known to be functions (the
        /// callbacks and start functions found): when they and the memory
        /// are all there is, nothing else need be looked at.
        fn exports_no_entry(
            module: &wasmtime::Module,
            instance: wasmtime::Instance,
            mut store: impl wasmtime::AsContextMut,
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
            globals.iter().all(|global| !global.ty(&store).content().is_ref())
        }

        /// Runs `call` as `running` of the instance in `slot` (see
        /// [`PluginState`]), then restores the state as it was, also when
        /// `call` panics (a `Host` method may): a host that catches the
        /// panic goes on with the state as it was, not with a callback that
        /// no longer runs.
        fn entered<S, T, R>(
            mut store: S,
            running: Option<Running>,
            slot: Option<Slot>,
            call: impl FnOnce(&mut S) -> R,
        ) -> R
        where
            S: wasmtime::AsContextMut<Data = T>,
            T: HasPluginState + 'static,
        {
            let saved = store.as_context_mut().data_mut().plugin_state().enter(running, slot);
            let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| call(&mut store)));
            store.as_context_mut().data_mut().plugin_state().leave(saved);
            result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }

        /// The start functions a module exports, looked up once.
        struct StartFunctions {
            initialize: Option<wasmtime::Func>,
            start: Option<wasmtime::Func>,
            main: Option<wasmtime::Func>,
        }

        impl StartFunctions {
            fn lookup(instance: wasmtime::Instance, mut store: impl wasmtime::AsContextMut) -> StartFunctions {
                StartFunctions {
                    initialize: instance.get_func(&mut store, "_initialize"),
                    start: instance.get_func(&mut store, "_start"),
                    main: instance.get_func(&mut store, "main"),
                }
            }

            /// How many of them the module exports.
            fn exported(&self) -> usize {
                [self.initialize, self.start, self.main].iter().flatten().count()
            }

            /// Runs `_initialize` then `main`, or `_start` when `_initialize` is absent.
            fn run(&self, mut store: impl wasmtime::AsContextMut) -> Result<(), PluginError> {
                if let Some(initialize) = self.initialize {
                    typed::<(), ()>(initialize, &store, "_initialize")?
                        .call(&mut store, ())
                        .map_err(PluginError::Start)?;
                    if let Some(main) = self.main {
                        typed::<(u32, u32), u32>(main, &store, "main")?
                            .call(&mut store, (0, 0))
                            .map_err(PluginError::Start)?;
                    }
                } else if let Some(start) = self.start {
                    typed::<(), ()>(start, &store, "_start")?
                        .call(&mut store, ())
                        .map_err(PluginError::Start)?;
                }
                Ok(())
            }
        }

        /// A callback as looked up at instantiation: `None` when not exported.
        pub type Export<P, R> = Option<wasmtime::TypedFunc<P, R>>;

        /// Every callback of this version, looked up once at instantiation.
        pub struct Callbacks {
            #(#fields)*
        }

        impl Callbacks {
            /// How many of the callbacks the plugin exports.
            fn exported(&self) -> usize {
                #(usize::from(self.#callback_names.is_some()))+*
            }
        }

        #plugin_doc
        pub struct Plugin {
            instance: wasmtime::Instance,
            memory: wasmtime::Memory,
            slot: Option<Slot>,
            /// The plugin's callbacks.
            pub callbacks: Callbacks,
        }

        impl Plugin {
            /// The ABI versions a module declares through its marker exports.
            pub fn declared_versions(module: &wasmtime::Module) -> Vec<String> {
                module
                    .exports()
                    .filter_map(|e| e.name().strip_prefix("proxy_abi_version_").map(|v| v.replace('_', ".")))
                    .collect()
            }

            /// Instantiates `module`, checks it declares this version, runs
            /// `_initialize` then `main` (or `_start` when `_initialize` is absent),
            /// and looks up every callback.
            pub fn instantiate<T: HasPluginState + 'static>(
                mut store: impl wasmtime::AsContextMut<Data = T>,
                linker: &wasmtime::Linker<T>,
                module: &wasmtime::Module,
            ) -> Result<Plugin, PluginError> {
                if module.get_export(#marker).is_none() {
                    return Err(PluginError::WrongVersion {
                        declared: Self::declared_versions(module)
                            .into_iter()
                            .map(|v| format!("proxy_abi_version_{}", v.replace('.', "_")))
                            .collect(),
                    });
                }
                // A start section runs inside `instantiate`, outside any
                // callback: its host calls must not take the memory of a
                // plugin whose callback called this.
                let instance = entered(&mut store, None, None, |store| linker.instantiate(store, module))
                    .map_err(PluginError::Instantiate)?;
                let memory = instance.get_memory(&mut store, "memory").ok_or(PluginError::NoMemory)?;
                let callbacks = Callbacks {
                    #(#lookups)*
                };
                let start = StartFunctions::lookup(instance, &mut store);
                // `malloc` only when `proxy_on_memory_allocate` is absent.
                let allocate = instance.get_func(&mut store, "proxy_on_memory_allocate");
                let malloc = instance.get_func(&mut store, "malloc");
                let marker = instance.get_func(&mut store, #marker);
                let functions = callbacks.exported()
                    + start.exported()
                    + [allocate, malloc, marker].iter().flatten().count();
                // Recorded only for a module that cannot reach other
                // instances' code (see `PluginState`).
                let slot = if imports_only_host_functions(module) && exports_no_entry(module, instance, &mut store, functions) {
                    let allocator = allocate
                        .or(malloc)
                        .and_then(|func| func.typed::<u32, u32>(&store).ok());
                    Some(store.as_context_mut().data_mut().plugin_state().record(Exports { memory, allocator }))
                } else {
                    None
                };
                // The start functions run outside any callback: a context
                // they switch to does not outlive them.
                entered(&mut store, None, slot, |store| start.run(store))?;
                Ok(Plugin { instance, memory, slot, callbacks })
            }

            /// The wasmtime instance.
            pub fn instance(&self) -> wasmtime::Instance {
                self.instance
            }

            /// The plugin's memory.
            pub fn memory(&self) -> wasmtime::Memory {
                self.memory
            }

            #(#methods)*
        }
    })
}

/// The host bindings of one version as tokens.
pub fn tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let common = guest::common_tokens(abi)?;
    let mut methods = Vec::new();
    let mut registrations = Vec::new();
    for f in abi.host_functions() {
        let shim = shim(f, abi)?;
        methods.push(shim.method);
        registrations.push(shim.registration);
    }
    let memory = guest_module();
    let plugin = plugin_tokens(abi)?;
    let state = access::tokens(abi)?;
    let version = abi.version.to_string();
    let host_doc = doc_lines(&format!(
        "The host functions of Proxy-Wasm ABI v{version}, one method each.\n\n\
         Arguments arrive decoded and checked: pointers and lengths are in bounds, \
         enum values are known, maps are well formed. A method returns its outputs, \
         or the status to report; returned buffers are copied into the plugin for \
         you. Every default answers the `unimplemented` status, so a host implements \
         only what it supports."
    ));
    Ok(quote! {
        #common

        /// Key/value pairs in order, as a `Host` returns a map.
        pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

        #host_doc
        pub trait Host {
            #(#methods)*
        }

        /// Registers every host function of this version in `linker`, each
        /// calling the [`Host`] that `get` finds in the store's data.
        pub fn add_to_linker<T: HasPluginState + 'static, H: Host + 'static>(
            linker: &mut wasmtime::Linker<T>,
            get: impl Fn(&mut T) -> &mut H + Send + Sync + Copy + 'static,
        ) -> wasmtime::Result<()> {
            #(#registrations)*
            Ok(())
        }

        #state

        #memory

        #plugin
    })
}

/// The host bindings of one version as a formatted Rust file.
pub fn file(abi: &AbiVersion, source: &str) -> Result<String, String> {
    crate::rust::format_file(tokens(abi)?, &crate::generated_notice(source))
}
