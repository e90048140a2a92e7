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
//! `@resumes`, `@context(create|delete|switch)` for the functions that
//! create, delete and switch contexts, and `@role(pause)` for the result
//! value that pauses a stream. No ABI name is known here.

use proc_macro2::TokenStream;
use proxy_wasm_abi_spec::ir::{
    AbiVersion, AccessLevel, AccessRule, CallbackRef, ContextEffect, Function, Place, Subject,
    selector_enums,
};
use proxy_wasm_abi_spec::lower::{ParamClass, Scalar, classify};
use quote::{format_ident, quote};

use crate::names::{camel, enum_base, enum_ident, ident, variant_ident};
use crate::rust::doc_lines;

/// The callbacks the `Plugin` handle calls, in description order (not the
/// allocator, which the shims call, nor the toolchain's exports).
pub fn plugin_callbacks(abi: &AbiVersion) -> impl Iterator<Item = &Function> {
    abi.callbacks().filter(|f| !f.is_marker && f.role.is_none())
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

/// One rule, as a `Rule` expression to evaluate in a `const`: each grant
/// built from its level with only the places it has, so the table reads as
/// the rule does.
fn grants_tokens(rule: &AccessRule) -> TokenStream {
    let grants = rule.grants.iter().map(|g| {
        let level = level_tokens(g.level);
        let mut grant = quote!(Grant::new(#level));
        for (method, keep) in [
            (
                "running",
                (|p| matches!(p, Place::In(_))) as fn(&Place) -> bool,
            ),
            ("paused", |p| matches!(p, Place::Paused(_))),
            ("before", |p| matches!(p, Place::Before(_))),
        ] {
            let mut names = g
                .places
                .iter()
                .filter(|p| keep(p))
                .map(Place::callback)
                .peekable();
            if names.peek().is_some() {
                let method = format_ident!("{method}");
                let mask = mask_tokens(names);
                grant = quote!(#grant.#method(#mask));
            }
        }
        if g.when.is_some() {
            grant = quote!(#grant.when_condition());
        }
        grant
    });
    quote!(Rule::new(&[#(#grants),*]))
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

/// A bit mask of the callbacks named, as an expression (`0` for none).
pub fn mask_tokens<'a>(callbacks: impl IntoIterator<Item = &'a str>) -> TokenStream {
    let bits: Vec<TokenStream> = callbacks
        .into_iter()
        .map(|c| {
            let v = callback_variant(c);
            quote!(Callback::#v.bit())
        })
        .collect();
    if bits.is_empty() {
        return quote!(0);
    }
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
        .find(|p| p.name == named && classify(p) == ParamClass::Scalar(Scalar::Bool))
        .map(|p| p.name.as_str())
}

/// The check a shim runs after decoding its arguments and before calling
/// the host: `None` for a function the rules do not restrict. The validator
/// guarantees the shape; a description that slipped past it is an error
/// here rather than an unchecked function.
pub fn shim_check(
    f: &Function,
    abi: &AbiVersion,
    status: &proc_macro2::Ident,
) -> Result<Option<TokenStream>, String> {
    let mut checks = Vec::new();
    for p in &f.params {
        let Some(level) = p.access else { continue };
        let ParamClass::Scalar(Scalar::Enum(e)) = classify(p) else {
            return Err(format!(
                "`{}`: @access parameter `{}` is not an enum",
                f.name, p.name
            ));
        };
        let lookup = enum_grants_fn(&e);
        let var = ident(&p.name);
        let level = level_tokens(level);
        checks.push((quote!(#lookup(#var)), level));
    }
    if abi.function_rule(&f.name).is_some() {
        let table = function_grants_const(&f.name);
        checks.push((quote!(#table), quote!(AccessLevel::Call)));
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
    let forbidden = crate::names::variant_ident(forbidden.name());
    let checks = checks.iter().map(|(grants, level)| {
        quote! {
            let grants = #grants;
            data.plugin_state().check(grants, #level, #status::#forbidden)?;
        }
    });
    Ok(Some(quote!(#(#checks)*)))
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
        let context = f
            .params
            .iter()
            .find(|p| classify(p) == ParamClass::Scalar(Scalar::Context))?;
        let var = ident(&context.name);
        return Some(quote!(data.plugin_state().switch_context(#var);));
    }
    if let Some(p) = f.params.iter().find(|p| p.resumes) {
        let ParamClass::Scalar(Scalar::Enum(e)) = classify(p) else {
            return None;
        };
        let lookup = resumes_fn(&e);
        let var = ident(&p.name);
        return Some(quote!(data.plugin_state().resumed(#lookup(#var));));
    }
    if !f.resumes.is_empty() {
        let mask = mask_tokens(f.resumes.iter().map(CallbackRef::name));
        return Some(quote!(data.plugin_state().resumed(#mask);));
    }
    None
}

/// The grant tables and what the shims consult to resume pauses. The
/// `Callback` enum they name is the host emitter's.
pub fn tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let callbacks = plugin_callbacks(abi).count();
    if callbacks > 64 {
        return Err(format!(
            "{callbacks} callbacks do not fit the 64-bit pause masks"
        ));
    }

    let lookups = selector_enums(&abi.functions, |p| p.access.is_some())
        .into_iter()
        .map(|e| enum_lookup(abi, e.name()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut resume_fns = Vec::new();
    for e in selector_enums(&abi.functions, |p| p.resumes) {
        let en = abi
            .enum_def(e)
            .ok_or_else(|| format!("unknown enum `{e}`"))?;
        let rich = enum_ident(e.name());
        let name = resumes_fn(e.name());
        let arms = en.variants.iter().map(|v| {
            let vi = variant_ident(&v.name);
            let mask = mask_tokens(v.resumes.iter().map(CallbackRef::name));
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
                pub const #c: &Rule<'static> = &#table;
            });
        }
    }

    Ok(quote! {
        #(#lookups)*

        #(#consts)*

        #(#resume_fns)*

    })
}

/// `pub fn map_type_grants(value: MapType) -> &'static Rule<'static>`.
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
            .unwrap_or_else(|| quote!(Rule::new(&[])));
        // A `const` item, not an inline `const` block: only an item's
        // initializer lends its temporaries (the grants array) `'static`.
        arms.push(quote!(#rich::#vi => {
            const RULE: &Rule<'static> = &#table;
            RULE
        }));
    }
    let doc = doc_lines(&format!(
        "Where each `{enum_name}` value may be used, from the description's access rules."
    ));
    Ok(quote! {
        #doc
        pub fn #name(value: #rich) -> &'static Rule<'static> {
            match value {
                #(#arms)*
            }
        }
    })
}
