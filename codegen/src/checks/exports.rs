//! `#[exports(version = "...")]`: an inherent `impl` block whose associated
//! functions are the plugin's callbacks, checked against the callbacks of a
//! version and exported under their wasm names.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use proxy_wasm_abi_spec::ir::{AbiVersion, Function};
use proxy_wasm_abi_spec::lower::lower;
use quote::{ToTokens, format_ident, quote};
use syn::{FnArg, ImplItem, ImplItemFn, Item, ItemImpl};

use super::signature::{self, Emitted, Side};
use super::{Errors, closest, parse_args, spec};

/// Expands `#[exports(version = "...")]`: checks every function of the block
/// and emits, next to the unchanged block, a `#[unsafe(no_mangle)] extern
/// "C"` function per callback forwarding to it, and the version marker.
pub fn exports(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let args = parse_args(attr).map_err(|e| errors.add(e)).ok();
    let Item::Impl(block) = syn::parse2::<Item>(item)? else {
        errors.at(
            Span::call_site(),
            "`#[exports]` goes on an inherent `impl Dispatcher { ... }` block of callbacks",
        );
        return errors.finish().map(|()| TokenStream::new());
    };
    if let Some((_, path, _)) = &block.trait_ {
        errors.on(
            path,
            "`#[exports]` goes on an inherent `impl` block: callbacks are associated functions of a type, not trait methods",
        );
    }
    if !block.generics.params.is_empty() {
        errors.on(
            &block.generics,
            "an `#[exports]` block cannot be generic: each exported function must call one concrete type",
        );
    }
    let Some(args) = args else {
        return errors.finish().map(|()| TokenStream::new());
    };
    let version = args.version;
    let mut emitted = Emitted::new(args.unsound, args.runtime);

    let mut wrappers = Vec::new();
    for item in &block.items {
        let ImplItem::Fn(method) = item else {
            errors.on(
                item,
                "only callbacks belong in an `#[exports]` block; move this item to another `impl` block",
            );
            continue;
        };
        if let Some(function) = check_method(method, version, &mut errors, &mut emitted) {
            wrappers.push(wrapper(&block, method, function));
        }
    }
    errors.finish()?;
    let checks = emitted.into_items();

    let marker = format_ident!("{}", version.version.marker_name());
    // The exports live in an unnamed const so their Rust names cannot clash
    // with the SDK's own items; `no_mangle` exports them all the same.
    Ok(quote! {
        #block

        const _: () = {
            #(#wrappers)*

            #[unsafe(no_mangle)]
            pub extern "C" fn #marker() {}
        };

        #(#checks)*
    })
}

/// Checks one method and returns the callback it implements.
fn check_method(
    method: &ImplItemFn,
    version: &'static AbiVersion,
    errors: &mut Errors,
    emitted: &mut Emitted,
) -> Option<&'static Function> {
    let sig = &method.sig;
    let name = sig.ident.to_string();
    let v = version.version;
    let marker = v.marker_name();
    if name.starts_with("proxy_abi_version_") {
        errors.on(
            &sig.ident,
            format!(
                "`#[exports]` emits the version marker `{marker}` itself; remove this function"
            ),
        );
        return None;
    }
    let function = match version.function(&name) {
        Some(f) if !f.is_host() => f,
        found => {
            errors.on(&sig.ident, unknown_callback(&name, found, version));
            return None;
        }
    };
    if let Some(token) = &sig.asyncness {
        errors.on(
            token,
            format!("`{name}` cannot be `async`: the host calls it and waits for its result"),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.on(
            token,
            format!("`{name}` cannot be `unsafe`: the host calls it with whatever values it has, so it must be safe to call"),
        );
    }
    if !sig.generics.params.is_empty() {
        errors.on(
            &sig.generics,
            format!("`{name}` cannot be generic: it is exported as one wasm function"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.on(variadic, format!("`{name}` is not variadic"));
    }
    signature::check(errors, emitted, sig, function, v, Side::Export);
    Some(function)
}

/// Why `name` is not a callback of `version`.
fn unknown_callback(name: &str, found: Option<&Function>, version: &AbiVersion) -> String {
    let v = version.version;
    if found.is_some() {
        return format!(
            "`{name}` is a host function the plugin imports in v{v}, not a callback; declare it in a `#[proxy_wasm_abi_macros::hostcalls]` extern block"
        );
    }
    if let Some(elsewhere) = spec().function_elsewhere(v, name, false) {
        return format!("`{name}` is not a callback in v{v} ({elsewhere})");
    }
    let callbacks = version
        .callbacks()
        .filter(|f| !f.is_marker)
        .map(|f| f.name.as_str());
    if let Some(close) = closest(name, callbacks) {
        return format!("no callback `{name}` in v{v}; did you mean `{close}`?");
    }
    format!(
        "`{name}` is not a callback of v{v}: every function in an `#[exports]` block is exported to the host, so move helpers to another `impl` block"
    )
}

/// `#[unsafe(no_mangle)] pub extern "C" fn name(params) -> ret { <Self>::name(params) }`,
/// with parameters named as the specification names them.
fn wrapper(block: &ItemImpl, method: &ImplItemFn, function: &Function) -> TokenStream {
    let sig = &method.sig;
    let ident = &sig.ident;
    let self_ty = &block.self_ty;
    let lowered = lower(function);
    let mut taken = HashSet::new();
    let (names, types): (Vec<_>, Vec<_>) = sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(index, input)| match input {
            FnArg::Typed(typed) => Some((index, &typed.ty)),
            FnArg::Receiver(_) => None,
        })
        .map(|(index, ty)| {
            // The spec's names document the export; positional names stand in
            // where a spec name repeats (`main`'s two `unused`) or is not an
            // identifier.
            let spec_name = lowered.params.get(index).map(|p| p.name.as_str());
            let name = spec_name
                .filter(|n| syn::parse_str::<syn::Ident>(n).is_ok() && taken.insert(n.to_string()))
                .map_or_else(|| format_ident!("arg{}", index), |n| format_ident!("{}", n));
            (name, ty.to_token_stream())
        })
        .unzip();
    let output = &sig.output;
    // A method compiled out by `#[cfg]` takes its export with it.
    let cfgs = method.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote! {
        #(#cfgs)*
        #[unsafe(no_mangle)]
        pub extern "C" fn #ident(#(#names: #types),*) #output {
            <#self_ty>::#ident(#(#names),*)
        }
    }
}
