//! Host-side wasmtime bindings of one ABI version, for proxies.
//!
//! The output holds only what varies per version; everything else is the
//! runtime crate's `host` module, which the output names as `rt`:
//! - the enums (the same emitter as the guest side);
//! - `Host`: one method per host function, with decoded arguments (`&[u8]`,
//!   `&str`, enums, maps as pairs) and `Result<outputs, Status>`; each default
//!   answers the status enum's `unimplemented` value;
//! - `add_to_linker(linker, get)`: registers every host function with its
//!   exact signature. Each shim lists what it checks (every guest pointer
//!   and length, every enum value, every serialized map, the access rules)
//!   through `rt::host::shim`, which answers the status the description
//!   gives for a bad one; returned buffers are allocated in the guest;
//! - the access rules' `Callback` enum and grant tables (see [`access`]);
//! - `Plugin`: the callbacks looked up once at instantiation, and one typed
//!   method per callback over `rt::host::PluginCore`.

use proc_macro2::{Ident, Literal, TokenStream};
use proxy_wasm_abi_spec::ir::{
    AbiVersion, ContextEffect, Enum, Function, FunctionRole, Param, StatusRole,
};
use proxy_wasm_abi_spec::lower::{
    LoweredParam, ParamClass, Scalar, Shape, ValueKind, WasmType, WasmValue, lower_param,
    lower_param_typed, lower_result,
};
use quote::{format_ident, quote};

use crate::access;
use crate::names::{enum_base, enum_ident, ident, raw_enum_ident, scalar_type, variant_ident};
use crate::rust::{RuntimePath, doc_lines, function_docs};

/// The type a wasmtime closure receives a wasm value as.
fn wasm_arg_type(value: &WasmValue) -> TokenStream {
    match (value.wasm, &value.kind) {
        (WasmType::I64, ValueKind::Scalar(Scalar::I64)) => quote!(i64),
        (WasmType::I64, _) => quote!(u64),
        (WasmType::I32, _) => quote!(u32),
    }
}

/// The name of the `rt::host::Statuses` constant of a status enum:
/// `proxy_status_t` -> `STATUS_ROLES`.
fn roles_const(enum_name: &str) -> Ident {
    format_ident!("{}_ROLES", enum_base(enum_name).to_ascii_uppercase())
}

/// The status values a shim answers with, from the result enum's roles.
struct Statuses {
    raw: Ident,
    rich: Ident,
    roles: Ident,
    unimplemented: TokenStream,
}

fn role_value<'a>(
    e: &'a Enum,
    role: StatusRole,
    what: &str,
) -> Result<&'a proxy_wasm_abi_spec::ir::Variant, String> {
    e.with_role(role)
        .ok_or_else(|| format!("`{}` has no @role({what}) value", e.name))
}

fn statuses(f: &Function, e: &Enum) -> Result<Statuses, String> {
    let raw = raw_enum_ident(&e.name);
    let rich = enum_ident(&e.name);
    let in_function = |error: String| format!("`{}` returns {error}", f.name);
    let unimplemented = variant_ident(
        &role_value(e, StatusRole::Unimplemented, "unimplemented")
            .map_err(in_function)?
            .name,
    );
    Ok(Statuses {
        unimplemented: quote!(#rich::#unimplemented),
        roles: roles_const(&e.name),
        raw,
        rich,
    })
}

/// For each status enum: its `rt::host::Statuses` and the conversion that
/// lets a shim answer a `Host` method's error with `?`.
fn status_items(abi: &AbiVersion) -> Result<Vec<TokenStream>, String> {
    let mut items = Vec::new();
    for e in abi
        .enums
        .iter()
        .filter(|e| e.with_role(StatusRole::Success).is_some())
    {
        let (raw, rich, roles) = (
            raw_enum_ident(&e.name),
            enum_ident(&e.name),
            roles_const(&e.name),
        );
        let value = |role, what| -> Result<Ident, String> {
            Ok(format_ident!("{}", role_value(e, role, what)?.name))
        };
        let success = value(StatusRole::Success, "success")?;
        let fault = value(StatusRole::MemoryFault, "memory_fault")?;
        let bad = value(StatusRole::BadArgument, "bad_argument")?;
        let doc = format!(
            " What the shims of functions returning `{}` answer with.",
            e.name
        );
        items.push(quote! {
            #[doc = #doc]
            const #roles: rt::host::Statuses = rt::host::Statuses {
                success: #raw::#success.0,
                memory_fault: #raw::#fault.0,
                bad_argument: #raw::#bad.0,
            };

            impl From<#rich> for rt::host::Answer {
                fn from(status: #rich) -> Self {
                    rt::host::Answer::Status(#raw::from(status).0)
                }
            }
        });
    }
    Ok(items)
}

/// The status `param` names for an invalid value (`@on_invalid`); without
/// one, the shim answers the role `bad_argument` of its status type.
fn invalid_status(param: &Param, s: &Statuses) -> Option<TokenStream> {
    param.on_invalid.as_ref().map(|status| {
        let raw = &s.raw;
        let c = format_ident!("{}", status.name());
        quote!(#raw::#c.0)
    })
}

/// The Rust type of a scalar as a `Host` method sees it: enums decoded.
fn host_scalar_type(scalar: &Scalar) -> TokenStream {
    scalar_type(scalar, enum_ident)
}

/// The Rust type a `Host` method receives for an input parameter.
fn host_input_type(class: &ParamClass) -> TokenStream {
    match class {
        ParamClass::Scalar(scalar) => host_scalar_type(scalar),
        ParamClass::RawPointer { .. } => quote!(u32),
        ParamClass::Input(Shape::Bytes) => quote!(&[u8]),
        ParamClass::Input(Shape::String) => quote!(&str),
        ParamClass::Input(Shape::Map) => quote!(&[(&[u8], &[u8])]),
        ParamClass::Input(Shape::Path) => quote!(rt::serial::PropertyPath<'_>),
        ParamClass::Input(Shape::Iovecs) => quote!(&[&[u8]]),
        ParamClass::Buffer => quote!(&mut [u8]),
        // Outputs are returned, not received.
        ParamClass::Out(_) | ParamClass::HostAllocated(_) => quote!(()),
    }
}

/// The Rust type a `Host` method returns for an output parameter.
fn host_output_type(class: &ParamClass) -> TokenStream {
    match class {
        ParamClass::Out(scalar) => host_scalar_type(scalar),
        ParamClass::HostAllocated(Shape::String) => quote!(String),
        ParamClass::HostAllocated(Shape::Map) => quote!(Pairs),
        _ => quote!(Vec<u8>),
    }
}

/// What the `Host` trait and the linker need for one host function.
struct Shim {
    method: TokenStream,
    registration: TokenStream,
    /// The import module and status type the shim registers under; `None`
    /// for a shim without a status, registered in the linker directly.
    imports: Option<(String, Ident)>,
}

/// The variable of the `rt::host::Imports` that registers a module's shims
/// answering with `roles`: the module's name, qualified by the status type
/// only where one module has shims of two status types.
fn imports_var(module: &str, roles: &Ident, modules_with_two_types: &[&str]) -> Ident {
    if modules_with_two_types.contains(&module) {
        format_ident!("{}_{}", module, roles.to_string().to_ascii_lowercase())
    } else {
        format_ident!("{}", module)
    }
}

/// The module a host function is imported from: its `@module`, else `env`.
fn import_module(f: &Function) -> &str {
    f.module().unwrap_or("env")
}

/// The closure parameters of a shim: every lowered wasm value, as its wasm type.
fn closure_params(f: &Function) -> Vec<TokenStream> {
    let mut params = Vec::new();
    for p in &f.params {
        for v in lower_param(p) {
            // An unused input is received and dropped; the `_` says so.
            let n = if p.unused && !p.out {
                format_ident!("_{}", v.name)
            } else {
                ident(&v.name)
            };
            let t = wasm_arg_type(&v);
            params.push(quote!(#n: #t));
        }
    }
    params
}

/// The enum a host function returns, if any; only enum results are supported.
fn result_enum<'a>(f: &Function, abi: &'a AbiVersion) -> Result<Option<&'a Enum>, String> {
    match f.result.as_ref().map(|r| lower_result(r).kind) {
        Some(ValueKind::Scalar(Scalar::Enum(e))) => abi
            .enum_named(&e)
            .map(Some)
            .ok_or_else(|| format!("unknown result enum `{e}` of `{}`", f.name)),
        None => Ok(None),
        Some(other) => Err(format!(
            "host function `{}` returns {other:?}; hosts support enum results only",
            f.name,
        )),
    }
}

fn shim(f: &Function, abi: &AbiVersion, modules_with_two_types: &[&str]) -> Result<Shim, String> {
    match result_enum(f, abi)? {
        Some(e) => status_shim(f, abi, e, modules_with_two_types),
        None => void_shim(f, abi),
    }
}

/// A host function with no result (WASI `proc_exit`, v0.1.0's continue
/// functions): only scalars are passed, and the host cannot report anything.
fn void_shim(f: &Function, abi: &AbiVersion) -> Result<Shim, String> {
    let name = ident(&f.name);
    let (module, wasm_name) = (import_module(f), &f.name);
    let docs = function_docs(f);
    let closure_params = closure_params(f);
    let inputs: Vec<LoweredParam> = f
        .params
        .iter()
        .filter(|p| !p.unused)
        .map(lower_param_typed)
        .collect();
    // Only scalars that cannot be invalid can go without a status.
    let plain = |l: &LoweredParam| matches!(&l.class, ParamClass::Scalar(s) if !matches!(s, Scalar::Enum(_)));
    if !inputs.iter().all(plain) {
        return Err(format!(
            "`{}` has no result to report a bad argument with",
            f.name
        ));
    }
    if access::is_restricted(f, abi) {
        return Err(format!(
            "`{}` is restricted by the access rules but has no result to refuse a call with",
            f.name
        ));
    }
    let names: Vec<_> = inputs.iter().map(|l| ident(&l.values[0].name)).collect();
    let types: Vec<_> = inputs.iter().map(|l| host_input_type(&l.class)).collect();
    let converts = inputs.iter().map(|l| {
        let n = ident(&l.values[0].name);
        match &l.class {
            ParamClass::Scalar(Scalar::Bool) => quote!(#n != 0),
            ParamClass::Scalar(Scalar::Usize) => quote!(#n as usize),
            _ => quote!(#n),
        }
    });
    let effect = access::shim_effect(f).map(|effect| {
        quote! {
            let data = caller.data_mut();
            #effect
        }
    });
    // A call that ends the plugin (`@role(exit)`) returns to it as an error
    // carrying its code, after the host is told: the plugin's code after
    // the call must not run.
    let (returns, exits) = if f.role == Some(FunctionRole::Exit) {
        let [code] = names.as_slice() else {
            return Err(format!("`{}` ends the plugin: it takes one code", f.name));
        };
        (
            quote!(-> rt::wasmtime::Result<()>),
            quote!(Err(rt::host::ProcExit::error(#code))),
        )
    } else {
        (quote!(), quote!())
    };
    Ok(Shim {
        imports: None,
        method: quote! {
            #docs
            fn #name(&mut self, #(#names: #types),*) {}
        },
        registration: quote! {
            linker.func_wrap(#module, #wasm_name, move |mut caller: rt::wasmtime::Caller<'_, T>, #(#closure_params),*| #returns {
                get(caller.data_mut()).#name(#(#converts),*);
                #effect
                #exits
            })?;
        },
    })
}

/// How one input parameter is checked and decoded in a shim, before the
/// host sees it (the closure parameter already holds scalars as received).
fn decode_input(p: &Param, lowered: &LoweredParam, s: &Statuses) -> Result<TokenStream, String> {
    let values = &lowered.values;
    let first = ident(&values[0].name);
    let second = values.get(1).map(|v| ident(&v.name));
    let var = ident(&p.name);
    let invalid = invalid_status(p, s);
    if invalid.is_some() && !matches!(lowered.class, ParamClass::Scalar(Scalar::Enum(_))) {
        return Err(format!(
            "`{}`: only an enum parameter can name its own @on_invalid status",
            p.name
        ));
    }
    Ok(match &lowered.class {
        ParamClass::Scalar(Scalar::U32 | Scalar::Context | Scalar::U64 | Scalar::I64) => quote!(),
        ParamClass::Scalar(Scalar::Usize) => quote!(let #var = #first as usize;),
        ParamClass::Scalar(Scalar::Bool) => quote!(let #var = #first != 0;),
        ParamClass::Scalar(Scalar::Enum(name)) => {
            let en = enum_ident(name);
            match invalid {
                Some(invalid) => quote!(let #var: #en = rt::host::decode_or(#first, #invalid)?;),
                None => quote!(let #var: #en = rt::host::decode(#first)?;),
            }
        }
        ParamClass::RawPointer { .. } => quote!(mem.address(#first)?;),
        ParamClass::Input(Shape::Bytes) => quote!(let #var = mem.bytes(#first, #second)?;),
        ParamClass::Input(Shape::String) => quote!(let #var = mem.str(#first, #second)?;),
        ParamClass::Input(Shape::Map) => quote!(let #var = &mem.map(#first, #second)?;),
        ParamClass::Input(Shape::Path) => quote!(let #var = mem.path(#first, #second)?;),
        ParamClass::Input(Shape::Iovecs) => quote!(let #var = &mem.iovecs(#first, #second)?;),
        ParamClass::Buffer => quote!(let #var = mem.bytes_mut(#first, #second)?;),
        ParamClass::Out(_) | ParamClass::HostAllocated(_) => quote!(),
    })
}

/// How one output is handed to the plugin: scalars are written while the
/// memory is borrowed (`Ok(true)`); buffers are allocated in the guest
/// afterwards, which may grow (move) the memory (`Ok(false)`).
fn write_output(
    f: &Function,
    lowered: &LoweredParam,
    out: &Ident,
) -> Result<(TokenStream, bool), String> {
    let values = &lowered.values;
    let first = ident(&values[0].name);
    let second = values.get(1).map(|v| ident(&v.name));
    Ok(match &lowered.class {
        ParamClass::Out(Scalar::U32) => (quote!(mem.write_u32(#first, #out);), true),
        ParamClass::Out(Scalar::U64) => (quote!(mem.write_u64(#first, #out);), true),
        ParamClass::Out(Scalar::Usize) => (
            quote!(mem.write_u32(#first, rt::host::to_u32(#out)?);),
            true,
        ),
        ParamClass::Out(Scalar::Enum(name)) => {
            let er = raw_enum_ident(name);
            (quote!(mem.write_u32(#first, #er::from(#out).0);), true)
        }
        other => match lent_buffer(other) {
            Some(Lent { give, .. }) => (quote!(call.#give(#out, #first, #second)?;), false),
            None => return Err(format!("`{}`: cannot return a {other:?}", f.name)),
        },
    })
}

/// A host function that returns a status: the shim checks every argument,
/// the access rules, calls the host and hands its outputs back.
fn status_shim(
    f: &Function,
    abi: &AbiVersion,
    e: &Enum,
    modules_with_two_types: &[&str],
) -> Result<Shim, String> {
    let s = statuses(f, e)?;
    let name = ident(&f.name);
    let (module, wasm_name) = (import_module(f), &f.name);
    let closure_params = closure_params(f);
    let lowered: Vec<LoweredParam> = f.params.iter().map(lower_param_typed).collect();
    let has_raw_pointers = lowered
        .iter()
        .any(|l| matches!(l.class, ParamClass::RawPointer { .. }));
    let needs_memory = lowered
        .iter()
        .any(|l| !matches!(l.class, ParamClass::Scalar(_)));

    let mut out_checks = Vec::new();
    let mut decodes = Vec::new();
    let mut method_params = Vec::new();
    let mut call_args = Vec::new();
    let mut outputs: Vec<(&Param, &LoweredParam)> = Vec::new();
    for (p, l) in f.params.iter().zip(&lowered) {
        if let ParamClass::Out(_) | ParamClass::HostAllocated(_) = &l.class {
            for v in &l.values {
                let n = ident(&v.name);
                let width = Literal::u32_unsuffixed(match &v.kind {
                    ValueKind::OutSlot(scalar) => scalar.width(),
                    _ => 4,
                });
                out_checks.push(quote!(mem.out_slot(#n, #width)?;));
            }
            if !p.unused {
                outputs.push((p, l));
            }
            continue;
        }
        if p.unused {
            continue;
        }
        let var = ident(&p.name);
        method_params.push((var.clone(), host_input_type(&l.class)));
        call_args.push(quote!(#var));
        decodes.push(decode_input(p, l, &s)?);
    }

    let output_names: Vec<_> = outputs
        .iter()
        .map(|(p, _)| format_ident!("out_{}", p.name))
        .collect();
    let mut scalar_writes = Vec::new();
    let mut buffer_writes = Vec::new();
    for ((_, l), out) in outputs.iter().zip(&output_names) {
        let (write, scalar) = write_output(f, l, out)?;
        if scalar {
            scalar_writes.push(write);
        } else {
            buffer_writes.push(write);
        }
    }
    // Unused outputs (e.g. `return_unused`) are zeroed so the guest never reads garbage.
    for (_, l) in f
        .params
        .iter()
        .zip(&lowered)
        .filter(|(p, _)| p.out && p.unused)
    {
        let first = ident(&l.values[0].name);
        scalar_writes.push(quote!(mem.write_u32(#first, 0);));
    }

    if has_raw_pointers {
        // Raw addresses are only useful with the memory they point into.
        method_params.insert(0, (format_ident!("memory"), quote!(&mut [u8])));
        call_args.insert(0, quote!(mem.as_mut_slice()));
    }
    let output_types: Vec<TokenStream> = outputs
        .iter()
        .map(|(_, l)| host_output_type(&l.class))
        .collect();
    let mut method = host_method(f, &s, &method_params, &output_types);
    // Host-allocated outputs are filled into buffers the shim lends (and
    // keeps from call to call) through the `_into` method.
    let sinks: Vec<(usize, Lent)> = outputs
        .iter()
        .enumerate()
        .filter_map(|(i, (_, l))| lent_buffer(&l.class).map(|lent| (i, lent)))
        .collect();
    let sink_names: Vec<&Ident> = sinks.iter().map(|(i, _)| &output_names[*i]).collect();
    let kept_names: Vec<&Ident> = (0..outputs.len())
        .filter(|i| !sinks.iter().any(|(j, _)| j == i))
        .map(|i| &output_names[i])
        .collect();
    let (takes, into_call) = if sinks.is_empty() {
        (Vec::new(), None)
    } else {
        method.extend(into_method(
            f,
            &s,
            &method_params,
            &outputs,
            &output_types,
            &sinks,
        ));
        let takes: Vec<TokenStream> = sinks
            .iter()
            .map(|(i, Lent { take, .. })| {
                let n = &output_names[*i];
                quote!(let mut #n = call.#take();)
            })
            .collect();
        let into = format_ident!("{}_into", f.name);
        (takes, Some(into))
    };

    // Bind only what the shim uses, so the generated code has no unused names.
    let writes_memory = has_raw_pointers
        || !scalar_writes.is_empty()
        || lowered.iter().any(|l| l.class == ParamClass::Buffer);
    let binding = match (needs_memory, writes_memory) {
        (true, true) => quote!(let (mut mem, data) = call.memory()?;),
        (true, false) => quote!(let (mem, data) = call.memory()?;),
        (false, _) => quote!(let data = call.data();),
    };
    let check = access::shim_check(f, abi, &s.rich)?;
    let effect = access::shim_effect(f);
    let bound: Vec<&Ident> = if into_call.is_some() {
        kept_names
    } else {
        output_names.iter().collect()
    };
    let bind_outputs = match bound.as_slice() {
        [] => quote!(),
        [one] => quote!(let #one =),
        many => quote!(let (#(#many),*) =),
    };
    let host_call = match &into_call {
        Some(into) => quote!(get(data).#into(#(#call_args,)* #(&mut #sink_names),*)?;),
        None => quote!(get(data).#name(#(#call_args),*)?;),
    };
    let wrap = format_ident!("wrap{}", closure_params.len());
    let imports = imports_var(module, &s.roles, modules_with_two_types);
    let registration = quote! {
        #imports.#wrap(#wasm_name, move |call, #(#closure_params),*| {
            #(#takes)*
            #binding
            #(#out_checks)*
            #(#decodes)*
            #check
            #bind_outputs #host_call
            #effect
            #(#scalar_writes)*
            #(#buffer_writes)*
            Ok(())
        })?;
    };
    Ok(Shim {
        method,
        registration,
        imports: Some((module.to_owned(), s.roles)),
    })
}

/// A `Host` method, whose default answers the `unimplemented` status.
fn host_method(
    f: &Function,
    s: &Statuses,
    params: &[(Ident, TokenStream)],
    output_types: &[TokenStream],
) -> TokenStream {
    let name = ident(&f.name);
    let docs = function_docs(f);
    let ok_type = match output_types {
        [] => quote!(()),
        [one] => one.clone(),
        many => quote!((#(#many),*)),
    };
    let names: Vec<Ident> = params.iter().map(|(n, _)| n.clone()).collect();
    let types = params.iter().map(|(_, t)| t);
    let (rich, unimplemented) = (&s.rich, &s.unimplemented);
    quote! {
        #docs
        fn #name(&mut self, #(#names: #types),*) -> Result<#ok_type, #rich> {
            Err(#unimplemented)
        }
    }
}

/// How an output the host allocates in the plugin travels: the buffer the
/// shim lends for it, the `_into` method's type for that buffer, and the
/// shim's call that hands it to the plugin (and keeps the buffer).
struct Lent {
    take: TokenStream,
    ty: TokenStream,
    give: TokenStream,
    /// A map: the default `_into` extends it with the owned pairs, where it
    /// replaces a byte or text buffer with the owned value.
    pairs: bool,
}

/// [`Lent`] for an output of `class`, if the host allocates it.
fn lent_buffer(class: &ParamClass) -> Option<Lent> {
    let (take, ty, give, pairs) = match class {
        ParamClass::HostAllocated(Shape::Bytes) => (
            quote!(out_bytes),
            quote!(Vec<u8>),
            quote!(return_out_bytes),
            false,
        ),
        ParamClass::HostAllocated(Shape::String) => (
            quote!(out_text),
            quote!(String),
            quote!(return_out_text),
            false,
        ),
        ParamClass::HostAllocated(Shape::Map) => (
            quote!(out_map),
            quote!(rt::host::MapOut),
            quote!(return_out_map),
            true,
        ),
        _ => return None,
    };
    Some(Lent {
        take,
        ty,
        give,
        pairs,
    })
}

/// The `_into` twin of a `Host` method with host-allocated outputs: it
/// fills buffers the shim lends instead of returning new ones. The default
/// calls the owned method, so a host implements whichever is simpler.
fn into_method(
    f: &Function,
    s: &Statuses,
    params: &[(Ident, TokenStream)],
    outputs: &[(&Param, &LoweredParam)],
    output_types: &[TokenStream],
    sinks: &[(usize, Lent)],
) -> TokenStream {
    let name = ident(&f.name);
    let into = format_ident!("{}_into", f.name);
    let names: Vec<&Ident> = params.iter().map(|(n, _)| n).collect();
    let types = params.iter().map(|(_, t)| t);
    let is_sink = |i: usize| sinks.iter().any(|(j, _)| *j == i);
    let sink_params = sinks.iter().map(|(i, Lent { ty, .. })| {
        let n = ident(&outputs[*i].0.name);
        quote!(#n: &mut #ty)
    });
    let kept_types: Vec<&TokenStream> = output_types
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_sink(*i))
        .map(|(_, t)| t)
        .collect();
    let ok_type = match kept_types.as_slice() {
        [] => quote!(()),
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let got: Vec<Ident> = outputs
        .iter()
        .map(|(p, _)| format_ident!("got_{}", p.name))
        .collect();
    let bind = match got.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let fills = sinks.iter().map(|(i, lent)| {
        let (n, g) = (ident(&outputs[*i].0.name), &got[*i]);
        if lent.pairs {
            quote!(#n.extend(#g);)
        } else {
            quote!(*#n = #g;)
        }
    });
    let kept: Vec<&Ident> = (0..got.len())
        .filter(|i| !is_sink(*i))
        .map(|i| &got[i])
        .collect();
    let result = match kept.as_slice() {
        [] => quote!(()),
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let rich = &s.rich;
    let filled: Vec<String> = sinks
        .iter()
        .map(|(i, _)| format!("`{}`", outputs[*i].0.name))
        .collect();
    let (filled, them) = match filled.as_slice() {
        [one] => (one.clone(), "it"),
        _ => (filled.join(" and "), "them"),
    };
    let owned = format!(
        " Like [`Host::{0}`], filling {filled} (empty when called) instead of returning {them}.",
        f.name
    );
    let lent = format!(
        " The shim lends the same buffer at every call, so a host that copies from its own storage allocates nothing. The default calls [`Host::{}`].",
        f.name
    );
    quote! {
        #[doc = #owned]
        #[doc = ""]
        #[doc = #lent]
        fn #into(&mut self, #(#names: #types,)* #(#sink_params),*) -> Result<#ok_type, #rich> {
            let #bind = self.#name(#(#names),*)?;
            #(#fills)*
            Ok(#result)
        }
    }
}

/// One callback's entry in `plugin_callbacks!` and its `Plugin` method.
struct CallbackParts {
    entry: TokenStream,
    method: TokenStream,
}

/// The wasm value types of a callback's parameters, the `Plugin` method's
/// parameters, and the arguments the method passes on.
fn callback_signature(f: &Function) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>) {
    let (mut wasm_types, mut api_params, mut args) = (Vec::new(), Vec::new(), Vec::new());
    for p in &f.params {
        for v in lower_param(p) {
            let n = ident(&v.name);
            wasm_types.push(wasm_arg_type(&v));
            let (ty, arg) = match &v.kind {
                ValueKind::Scalar(Scalar::Bool) => (quote!(bool), quote!(u32::from(#n))),
                ValueKind::Scalar(Scalar::Enum(e)) => {
                    let (rich, raw) = (enum_ident(e), raw_enum_ident(e));
                    (quote!(#rich), quote!(#raw::from(#n).0))
                }
                ValueKind::Scalar(Scalar::U64) => (quote!(u64), quote!(#n)),
                ValueKind::Scalar(Scalar::I64) => (quote!(i64), quote!(#n)),
                _ => (quote!(u32), quote!(#n)),
            };
            api_params.push(quote!(#n: #ty));
            args.push(arg);
        }
    }
    (wasm_types, api_params, args)
}

/// The first parameter of `f` that lowers to a context id, as its wasm name.
fn context_params(f: &Function) -> Vec<Ident> {
    f.params
        .iter()
        .map(lower_param_typed)
        .filter(|l| l.class == ParamClass::Scalar(Scalar::Context))
        .map(|l| ident(&l.values[0].name))
        .collect()
}

/// What the state tracks when the callback returns, as an `rt::host::After`.
fn after_call(f: &Function, abi: &AbiVersion) -> TokenStream {
    if f.context_effect == Some(ContextEffect::Delete) {
        return quote!(After::Deletes);
    }
    match f.result.as_ref().map(|r| lower_result(r).kind) {
        Some(ValueKind::Scalar(Scalar::Enum(e))) => {
            match abi
                .enum_named(&e)
                .and_then(|en| en.with_role(StatusRole::Pause))
            {
                Some(pause) => {
                    let raw = raw_enum_ident(&e);
                    let pause = format_ident!("{}", pause.name);
                    quote!(After::Pauses(#raw::#pause.0))
                }
                None => quote!(After::Nothing),
            }
        }
        _ => quote!(After::Nothing),
    }
}

fn callback_parts(f: &Function, abi: &AbiVersion) -> Result<CallbackParts, String> {
    let name = ident(&f.name);
    let (wasm_types, api_params, args) = callback_signature(f);
    let (result_wasm, result_api) = match f.result.as_ref().map(|r| lower_result(r).kind) {
        None => (quote!(()), quote!(())),
        Some(ValueKind::Scalar(Scalar::Bool)) => (quote!(u32), quote!(bool)),
        Some(ValueKind::Scalar(Scalar::Enum(e))) => {
            let rich = enum_ident(&e);
            (quote!(u32), quote!(#rich))
        }
        Some(other) => return Err(format!("callback `{}` returns {other:?}", f.name)),
    };
    let variant = access::callback_variant(&f.name);
    let contexts = context_params(f);
    let context = contexts.first().map_or_else(|| quote!(0), |id| quote!(#id));
    let condition = access::condition_param(abi, f).map_or_else(
        || quote!(false),
        |p| {
            let n = ident(p);
            quote!(#n)
        },
    );
    // The context exists whether or not the plugin exports the callback.
    let creates = match (f.context_effect, contexts.as_slice()) {
        (Some(ContextEffect::Create), [id, parent]) => Some(quote! {
            rt::wasmtime::AsContextMut::as_context_mut(&mut store).data_mut().plugin_state().created(#id, #parent);
        }),
        _ => None,
    };
    let store_binding = if creates.is_some() {
        quote!(mut store)
    } else {
        quote!(store)
    };
    let after = after_call(f, abi);
    let docs = function_docs(f);
    Ok(CallbackParts {
        entry: quote!(#variant => #name(#(#wasm_types),*) -> #result_wasm,),
        method: quote! {
            #docs
            pub fn #name(&self, #store_binding: impl PluginStore, #(#api_params),*) -> CallResult<#result_api> {
                #creates
                let running = Running::new(Callback::#variant, #context, #condition);
                let callback = &self.callbacks.#name;
                let after = #after;
                let args = (#(#args,)*);
                self.core.call(store, callback, running, after, args)
            }
        },
    })
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
    let parts = access::plugin_callbacks(abi)
        .map(|f| callback_parts(f, abi))
        .collect::<Result<Vec<_>, _>>()?;
    let entries = parts.iter().map(|p| &p.entry);
    let methods = parts.iter().map(|p| &p.method);
    let version = abi.version.to_string();
    let plugin_doc = doc_lines(&format!(
        "An instantiated Proxy-Wasm v{version} plugin, with its callbacks looked up once.\n\n\
         Each callback method answers `Ok(None)` when the plugin does not export the\n\
         callback (see [`CallResult`])."
    ));
    Ok(quote! {
        /// Whether [`add_to_linker`] registers a host function `name` in `module`.
        pub fn is_host_function(module: &str, name: &str) -> bool {
            match name {
                #(#host_arms)*
                _ => false,
            }
        }

        /// This version as instantiation needs it.
        const VERSION: rt::host::Version = rt::host::Version {
            marker: #marker,
            is_host_function,
            callback_names: CALLBACK_NAMES,
        };

        rt::plugin_callbacks! {
            /// A callback of this version, as the access rules name it.
            pub enum Callback;
            /// Every callback of this version, looked up once at instantiation.
            pub struct Callbacks {
                #(#entries)*
            }
        }

        #plugin_doc
        pub struct Plugin {
            core: rt::host::PluginCore,
            /// The plugin's callbacks.
            pub callbacks: Callbacks,
        }

        impl Plugin {
            /// The ABI versions a module declares through its marker exports.
            pub fn declared_versions(module: &rt::wasmtime::Module) -> Vec<String> {
                rt::host::declared_versions(module)
            }

            /// Instantiates `module`, checks it declares this version, runs
            /// `_initialize` then `main` (or `_start` when `_initialize` is absent),
            /// and looks up every callback. For many instances of one module,
            /// [`PluginPre`] does the checks and the linking once.
            pub fn instantiate<T: HasPluginState + 'static>(
                store: impl rt::wasmtime::AsContextMut<Data = T>,
                linker: &rt::wasmtime::Linker<T>,
                module: &rt::wasmtime::Module,
            ) -> Result<Plugin, PluginError> {
                PluginPre::new(linker, module)?.instantiate(store)
            }

            /// The wasmtime instance.
            pub fn instance(&self) -> rt::wasmtime::Instance {
                self.core.instance()
            }

            /// The plugin's memory.
            pub fn memory(&self) -> rt::wasmtime::Memory {
                self.core.memory()
            }

            #(#methods)*
        }

        impl rt::host::PluginHandle for Plugin {
            type Callbacks = Callbacks;
            const VERSION: &'static rt::host::Version = &VERSION;
            fn from_parts(core: rt::host::PluginCore, callbacks: Callbacks) -> Plugin {
                Plugin { core, callbacks }
            }
        }

        /// A module checked against this version and linked once, to make
        /// [`Plugin`]s from cheaply (see [`rt::host::PluginPre`]).
        pub type PluginPre<T> = rt::host::PluginPre<T, Plugin>;
    })
}

/// The host bindings of one version as tokens.
pub fn tokens(abi: &AbiVersion, runtime: &RuntimePath) -> Result<TokenStream, String> {
    let common = crate::guest::common_tokens(abi, runtime)?;
    // Which import modules hold shims of more than one status type.
    let mut types_by_module: Vec<(&str, Vec<&str>)> = Vec::new();
    for f in abi.host_functions() {
        let Some(e) = result_enum(f, abi)? else {
            continue;
        };
        let module = import_module(f);
        match types_by_module.iter_mut().find(|(m, _)| *m == module) {
            Some((_, types)) if !types.contains(&e.name.as_str()) => types.push(&e.name),
            Some(_) => {}
            None => types_by_module.push((module, vec![&e.name])),
        }
    }
    let modules_with_two_types: Vec<&str> = types_by_module
        .iter()
        .filter(|(_, types)| types.len() > 1)
        .map(|(m, _)| *m)
        .collect();

    // Registrations grouped by import module and status type, in the order
    // the description first names each group; shims without a status last.
    let mut methods = Vec::new();
    let mut groups: Vec<((String, Ident), Vec<TokenStream>)> = Vec::new();
    let mut direct = Vec::new();
    for f in abi.host_functions() {
        let shim = shim(f, abi, &modules_with_two_types)?;
        methods.push(shim.method);
        match shim.imports {
            Some(key) => match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, registrations)) => registrations.push(shim.registration),
                None => groups.push((key, vec![shim.registration])),
            },
            None => direct.push(shim.registration),
        }
    }
    let registrations = groups.into_iter().map(|((module, roles), registrations)| {
        let var = imports_var(&module, &roles, &modules_with_two_types);
        quote! {
            let mut #var = rt::host::Imports::new(linker, #module, &#roles);
            #(#registrations)*
        }
    });
    let statuses = status_items(abi)?;
    let plugin = plugin_tokens(abi)?;
    let rules = access::tokens(abi)?;
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

        pub use rt::host::{
            AccessLevel, CallError, CallResult, Export, Grant, HasPluginState, Pairs, PluginError, PluginState, PluginStore, Rule, Running,
        };
        use rt::host::After;

        #(#statuses)*

        #host_doc
        // The default bodies ignore their arguments.
        #[allow(unused_variables)]
        pub trait Host {
            #(#methods)*
        }

        /// Registers every host function of this version in `linker`, each
        /// calling the [`Host`] that `get` finds in the store's data.
        pub fn add_to_linker<T: HasPluginState + 'static, H: Host + 'static>(
            linker: &mut rt::wasmtime::Linker<T>,
            get: impl Fn(&mut T) -> &mut H + Send + Sync + Copy + 'static,
        ) -> rt::wasmtime::Result<()> {
            #(#registrations)*
            #(#direct)*
            Ok(())
        }

        #rules

        #plugin
    })
}

/// The host bindings of one version as a formatted Rust file.
pub fn file(abi: &AbiVersion, source: &str, runtime: &RuntimePath) -> Result<String, String> {
    crate::rust::format_file(tokens(abi, runtime)?, &crate::generated_notice(source))
}
