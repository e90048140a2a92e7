//! Guest-side Rust bindings of one ABI version, for plugin SDKs.
//!
//! The output (in a module the user names, here `abi`) holds:
//! - `abi::ABI_VERSION`;
//! - for every enum, an invocation of the runtime's `abi_enum!`: a
//!   `#[repr(transparent)]` newtype (`RawStatus`) that crosses the boundary,
//!   so an unknown value is never undefined behaviour, and a Rust enum
//!   (`Status`) with `TryFrom`, `Display`, `AbiEnum` (and `Error` for status
//!   types);
//! - `abi::hostcalls`: one `extern "C"` import per `env` host function, with
//!   the specification's names and parameter names;
//! - `abi::host`: the typed host calls, one safe function per host function
//!   of the version (every import module, WASI included), named without the
//!   `proxy_` prefix: `host::get_header_map_value(MapType::HttpRequestHeaders,
//!   ":path") -> Result<Vec<u8>, RawStatus>`. Each is made from the one
//!   lowering ([`ParamClass`] per parameter): `string` is `&str`, `bytes`
//!   `&[u8]`, `map` a slice of `AsRef<[u8]>` pairs, `path` a slice of
//!   segments, `iovecs` `&[&[u8]]`, a buffer `&mut [u8]`, an enum its Rust
//!   enum; out-values come back in the `Ok` (enums as their raw newtype,
//!   host-allocated data as `Vec<u8>`, `String` or pairs), and the error is
//!   the raw status type, so every value a host may send is one. Decoding
//!   never panics: text that is not UTF-8 and maps that do not decode are
//!   the `@role(malformed_result)` status. Only what varies per function is
//!   generated; the encoding, the host-allocated slots and the decoding are
//!   the runtime's (`rt::guest`). Functions with raw pointers whose extent
//!   only the description's text gives (`environ_get`, `args_get`) are
//!   `unsafe fn`, their `# Safety` section made from `@extent`. The imports
//!   of modules other than `env` are declared privately inside `host`;
//! - `abi::serial`, `abi::allocate`, `abi::take_host_buffer`: re-exported
//!   from the runtime crate (see [`RuntimePath`]);
//! - `abi::Callbacks`: one associated function per callback, with defaults;
//! - `export_callbacks!(abi, MyPlugin)`: the `#[no_mangle]` exports that
//!   forward to `MyPlugin`'s `Callbacks`, plus the version marker.
//!
//! Everything is `no_std`-friendly: only `core`, `alloc` and the runtime's
//! `guest` feature are used.

use proc_macro2::{Literal, TokenStream};
use proxy_wasm_abi_spec::ir::{AbiVersion, Enum, Function, FunctionRole, StatusRole, Type};
use proxy_wasm_abi_spec::lower::{
    ParamClass, Scalar, Shape, ValueKind, WasmValue, lower, lower_param, lower_param_typed,
    lower_result,
};
use quote::{format_ident, quote};

use crate::names::{enum_ident, ident, raw_enum_ident, raw_type, scalar_type, variant_ident};
use crate::rust::{RuntimePath, doc_lines, docs, function_docs};

/// Callbacks the toolchain or the runtime provide, which SDKs do not implement.
fn is_runtime_export(f: &Function) -> bool {
    f.is_marker || crate::names::is_toolchain_export(f)
}

fn enum_tokens(e: &Enum, is_status: bool) -> TokenStream {
    let c_name = &e.name;
    let name = enum_ident(c_name);
    let raw = raw_enum_ident(c_name);
    let enum_docs = docs(&e.meta);
    let raw_doc = doc_lines(&format!(
        "`{c_name}` as it crosses the boundary: any `u32` is representable, so a value \
         this version does not define is not undefined behaviour. Convert with \
         [`{name}::try_from`]."
    ));
    let variants = e.variants.iter().map(|v| {
        let const_name = format_ident!("{}", v.name);
        let variant = variant_ident(&v.name);
        let value = Literal::u32_unsuffixed(v.value);
        let d = docs(&v.meta);
        quote! { #d #const_name => #variant = #value, }
    });
    let error = is_status.then(|| quote!(impl Error;));
    quote! {
        rt::abi_enum! {
            #raw_doc
            pub struct #raw(u32);
            #enum_docs
            pub enum #name = #c_name {
                #(#variants)*
            }
            #error
        }
    }
}

/// The Rust types of a function's lowered values, or the C type that has none.
fn raw_types(values: &[WasmValue]) -> Vec<TokenStream> {
    values.iter().map(|v| raw_type(&v.kind)).collect()
}

fn hostcall_tokens(f: &Function) -> TokenStream {
    let sig = lower(f);
    let name = ident(&f.name);
    let param_names = sig.params.iter().map(|p| ident(&p.name));
    let param_types = raw_types(&sig.params);
    let result = raw_types(&sig.results)
        .into_iter()
        .next()
        .map(|ty| quote!(-> #ty));
    let d = function_docs(f);
    let deprecated = deprecated_attr(f);
    quote! {
        #d
        #deprecated
        pub fn #name(#(#param_names: #param_types),*) #result;
    }
}

/// The typed function's name: the host function's without its `proxy_`
/// prefix (`proxy_get_header_map_value` -> `get_header_map_value`; WASI
/// names such as `fd_write` stay as they are).
fn typed_name(f: &Function) -> &str {
    f.name.strip_prefix("proxy_").unwrap_or(&f.name)
}

/// The value of the status enum `result` that has `role`, as a path to
/// its constant on the raw newtype (`RawStatus::OK`).
fn role_const(abi: &AbiVersion, f: &Function, role: StatusRole) -> Result<TokenStream, String> {
    let result = f
        .result
        .as_ref()
        .ok_or_else(|| format!("`{}` returns nothing to report a failure with", f.name))?;
    let Type::Enum(r) = &result.ty else {
        return Err(format!("`{}` does not return a status enum", f.name));
    };
    let e = abi
        .enum_def(r)
        .ok_or_else(|| format!("`{}` is not defined", r.name()))?;
    let variant = e.with_role(role).ok_or_else(|| {
        format!(
            "`{}` has no `@role({})` value, which typed `{}` needs",
            e.name,
            role.keyword(),
            f.name
        )
    })?;
    let raw = raw_enum_ident(&e.name);
    let value = format_ident!("{}", variant.name);
    Ok(quote!(#raw::#value))
}

/// One typed host function: the safe wrapper of one import, taking and
/// returning Rust types (see the `host` module's docs for the conventions).
fn typed_tokens(abi: &AbiVersion, f: &Function) -> Result<TokenStream, String> {
    let name = ident(typed_name(f));
    let raw_name = ident(&f.name);
    let callee = match f.module() {
        Some("env") => quote!(hostcalls::#raw_name),
        Some(module) => {
            let module = ident(module);
            quote!(#module::#raw_name)
        }
        None => return Err(format!("`{}` is not a host function", f.name)),
    };
    // Statements before the call, the call's arguments, the values taken
    // after it (in parameter order), the function's parameters, generics
    // and `# Safety` lines.
    let mut before = Vec::new();
    let mut args = Vec::new();
    let mut outs: Vec<(TokenStream, TokenStream, TokenStream)> = Vec::new();
    let mut params = Vec::new();
    let mut generics = Vec::new();
    let mut safety = Vec::new();
    let maps = f
        .params
        .iter()
        .filter(|p| !p.out && p.ty == Type::Map)
        .count();
    let mut map_index = 0;
    for p in &f.params {
        let lowered = lower_param_typed(p);
        let n = ident(&p.name);
        match &lowered.class {
            ParamClass::Scalar(_) if p.unused => {
                args.push(quote!(Default::default()));
            }
            ParamClass::Scalar(Scalar::Enum(e)) => {
                let ty = enum_ident(e);
                params.push(quote!(#n: #ty));
                args.push(quote!(#n.into()));
            }
            ParamClass::Scalar(scalar) => {
                let ty = scalar_type(scalar, raw_enum_ident);
                params.push(quote!(#n: #ty));
                args.push(quote!(#n));
            }
            ParamClass::RawPointer { .. } => {
                for v in &lowered.values {
                    let (vn, ty) = (ident(&v.name), raw_type(&v.kind));
                    params.push(quote!(#vn: #ty));
                    args.push(quote!(#vn));
                    let extent = p.extent.as_deref().unwrap_or("as the description says");
                    safety.push(format!("- `{}`: {extent}", v.name));
                }
            }
            ParamClass::Input(shape) => {
                match shape {
                    Shape::Bytes => params.push(quote!(#n: &[u8])),
                    Shape::String => params.push(quote!(#n: &str)),
                    Shape::Map => {
                        map_index += 1;
                        let suffix = if maps > 1 {
                            map_index.to_string()
                        } else {
                            String::new()
                        };
                        let (k, v) = (format_ident!("K{suffix}"), format_ident!("V{suffix}"));
                        generics.push(quote!(#k: AsRef<[u8]>));
                        generics.push(quote!(#v: AsRef<[u8]>));
                        params.push(quote!(#n: &[(#k, #v)]));
                        let refused = role_const(abi, f, StatusRole::BadArgument)?;
                        before.push(quote! {
                            let Some(#n) = rt::guest::map_argument(#n) else {
                                return Err(#refused);
                            };
                        });
                    }
                    Shape::Path => {
                        generics.push(quote!(P: AsRef<[u8]>));
                        params.push(quote!(#n: &[P]));
                        before.push(quote!(let #n = rt::guest::path_argument(#n);));
                    }
                    Shape::Iovecs => {
                        params.push(quote!(#n: &[&[u8]]));
                        before.push(quote!(let #n = rt::guest::iovecs(#n);));
                    }
                }
                let address = if *shape == Shape::Iovecs {
                    quote!(#n.as_ptr().cast())
                } else {
                    quote!(#n.as_ptr())
                };
                args.push(address);
                args.push(quote!(#n.len()));
            }
            ParamClass::Buffer => {
                params.push(quote!(#n: &mut [u8]));
                args.push(quote!(#n.as_mut_ptr()));
                args.push(quote!(#n.len()));
            }
            ParamClass::Out(scalar) => {
                let ty = scalar_type(scalar, raw_enum_ident);
                before.push(quote!(let mut #n: #ty = Default::default();));
                args.push(quote!(&mut #n));
                outs.push((ty, quote!(), quote!(#n)));
            }
            ParamClass::HostAllocated(shape) => {
                let [data, size] = [0, 1].map(|i| ident(&lowered.values[i].name));
                before.push(quote! {
                    let mut #n = rt::guest::HostBuffer::new();
                    let (#data, #size) = #n.slots();
                });
                args.push(if *shape == Shape::String {
                    quote!(#data.cast())
                } else {
                    quote!(#data)
                });
                args.push(quote!(#size));
                let (ty, take) = match shape {
                    Shape::String => {
                        let malformed = role_const(abi, f, StatusRole::MalformedResult)?;
                        (
                            quote!(rt::guest::String),
                            quote! {
                                let Some(#n) = (unsafe { #n.into_string() }) else {
                                    return Err(#malformed);
                                };
                            },
                        )
                    }
                    Shape::Map => {
                        let malformed = role_const(abi, f, StatusRole::MalformedResult)?;
                        (
                            quote!(rt::guest::Pairs),
                            quote! {
                                let Some(#n) = (unsafe { #n.into_map() }) else {
                                    return Err(#malformed);
                                };
                            },
                        )
                    }
                    _ => (
                        quote!(rt::guest::Vec<u8>),
                        quote!(let #n = unsafe { #n.into_bytes() };),
                    ),
                };
                outs.push((ty, take, quote!(#n)));
            }
        }
    }
    let allow_deprecated = f.deprecated.as_ref().map(|_| quote!(#[allow(deprecated)]));
    let call = quote!(#allow_deprecated);
    let (out_types, takes, values): (Vec<_>, Vec<_>, Vec<_>) = outs.into_iter().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut a, mut b, mut c), (ty, take, value)| {
            a.push(ty);
            b.push(take);
            c.push(value);
            (a, b, c)
        },
    );
    let (ok_type, ok_value) = match out_types.as_slice() {
        [] => (quote!(()), quote!(())),
        [one] => (one.clone(), values[0].clone()),
        _ => (quote!((#(#out_types),*)), quote!((#(#values),*))),
    };
    let (ret, body) = match &f.result {
        None if out_types.is_empty() => (
            quote!(),
            quote! {
                #(#before)*
                #call
                unsafe { #callee(#(#args),*) }
            },
        ),
        None => return Err(format!("`{}` returns values but no status", f.name)),
        Some(result) => {
            let ValueKind::Scalar(Scalar::Enum(status_enum)) = lower_result(result).kind else {
                return Err(format!("`{}` does not return a status enum", f.name));
            };
            let raw = raw_enum_ident(&status_enum);
            let success = role_const(abi, f, StatusRole::Success)?;
            let status = ident(&result.name);
            (
                quote!(-> Result<#ok_type, #raw>),
                quote! {
                    #(#before)*
                    #call
                    let #status = unsafe { #callee(#(#args),*) };
                    if #status != #success {
                        return Err(#status);
                    }
                    #(#takes)*
                    Ok(#ok_value)
                },
            )
        }
    };
    let mut d = function_docs(f);
    let unsafety = if safety.is_empty() {
        None
    } else {
        let text = format!(
            "\n# Safety\n\nThe host writes through these pointers, whose extent only the \
             description's text gives:\n{}",
            safety.join("\n")
        );
        d.extend(doc_lines(&text));
        Some(quote!(unsafe))
    };
    let deprecated = deprecated_attr(f);
    let generics = (!generics.is_empty()).then(|| quote!(<#(#generics),*>));
    Ok(quote! {
        #d
        #deprecated
        pub #unsafety fn #name #generics(#(#params),*) #ret {
            #body
        }
    })
}

/// `#[deprecated]` for a function the description deprecates.
fn deprecated_attr(f: &Function) -> Option<TokenStream> {
    f.deprecated.as_ref().map(|dep| {
        let note = match &dep.replacement {
            Some(r) => format!("use `{r}` instead"),
            None => "deprecated by the specification".to_string(),
        };
        quote!(#[deprecated(note = #note)])
    })
}

/// The `host` module: one typed function per host function of the
/// version, and the raw imports of the modules other than `env`, which
/// `hostcalls` does not declare.
fn host_module_tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut functions = Vec::new();
    let mut other_modules: Vec<(String, Vec<TokenStream>)> = Vec::new();
    for f in abi.host_functions() {
        if !seen.insert(typed_name(f).to_string()) {
            return Err(format!(
                "two host functions are both typed as `{}`",
                typed_name(f)
            ));
        }
        functions.push(typed_tokens(abi, f)?);
        match f.module() {
            Some("env") | None => {}
            Some(module) => {
                let import = hostcall_tokens(f);
                match other_modules.iter_mut().find(|(m, _)| m == module) {
                    Some((_, imports)) => imports.push(import),
                    None => other_modules.push((module.to_string(), vec![import])),
                }
            }
        }
    }
    let imports = other_modules.iter().map(|(module, imports)| {
        let m = ident(module);
        let doc = doc_lines(&format!("Raw imports of the `{module}` host functions."));
        quote! {
            #doc
            mod #m {
                use super::*;

                #[link(wasm_import_module = #module)]
                unsafe extern "C" {
                    #(#imports)*
                }
            }
        }
    });
    let version = abi.version.to_string();
    let doc = doc_lines(&format!(
        "Typed host calls of v{version}: one safe function per host function, \
         named without the `proxy_` prefix (`host::get_header_map_value` calls \
         `proxy_get_header_map_value`; WASI functions keep their names).\n\n\
         - Arguments are Rust values: `&str` for `string`, `&[u8]` for `bytes`, a \
         slice of pairs of anything that is `AsRef<[u8]>` for `map` (serialized \
         here), a slice of segments for `path`, `&[&[u8]]` for `iovecs`, `&mut \
         [u8]` for a buffer the host fills, the Rust enum (`MapType`) for an enum. \
         Parameters the description marks unused are left out.\n\
         - The result is `Result<T, RawStatus>` (`RawWasiErrno` for WASI): any \
         value but success is the error, whatever the host sends, including \
         values no version defines; match the raw type's constants \
         (`Err(RawStatus::NOT_FOUND)`) or convert with `Status::try_from`.\n\
         - `T` holds the values the host writes back, in parameter order: scalars \
         as themselves, enums as their raw type (a host may write any `u32`), \
         `Vec<u8>`, `String` and `Vec<(Vec<u8>, Vec<u8>)>` for host-allocated \
         bytes, text and maps. Text that is not UTF-8 and maps that do not decode \
         are the status the description gives `@role(malformed_result)` \
         (`SERIALIZATION_FAILURE`); a map argument too large to serialize is its \
         `@role(bad_argument)` value.\n\
         - Nothing here panics. Values the host allocates are taken back as \
         [`take_host_buffer`] does, so `proxy_on_memory_allocate` must be the \
         default one ([`allocate`], which `export_callbacks!` exports).\n\
         - Functions whose pointers only the description's text bounds \
         (`environ_get`, `args_get`) cannot be made safe: they are `unsafe fn`, \
         with the extents under `# Safety`."
    ));
    Ok(quote! {
        #doc
        pub mod host {
            use super::*;

            #(#imports)*

            #(#functions)*
        }
    })
}

/// How a callback's parameter reaches the `Callbacks` method: the wasm value
/// type the export receives, and the expression the method gets.
struct CallbackParam {
    name: proc_macro2::Ident,
    wasm_type: TokenStream,
    rust_type: TokenStream,
    convert: TokenStream,
}

fn callback_params(f: &Function) -> Vec<CallbackParam> {
    let mut out = Vec::new();
    for p in &f.params {
        for v in lower_param(p) {
            let name = ident(&v.name);
            let raw = raw_type(&v.kind);
            // A bool from the host arrives as an i32 that may hold any value;
            // taking it as `bool` directly would be undefined behaviour.
            let (wasm_type, rust_type, convert) = match &v.kind {
                ValueKind::Scalar(Scalar::Bool) => (quote!(u32), quote!(bool), quote!(#name != 0)),
                // The export lives in the user's module: name the raw enum by path.
                ValueKind::Scalar(Scalar::Enum(_)) => {
                    (quote!(__MODULE__::#raw), raw, quote!(#name))
                }
                _ => (raw.clone(), raw, quote!(#name)),
            };
            out.push(CallbackParam {
                name,
                wasm_type,
                rust_type,
                convert,
            });
        }
    }
    out
}

/// The method's return type, the export's return type, how to convert
/// between them, and the default body.
fn callback_result(
    f: &Function,
) -> Result<(TokenStream, TokenStream, TokenStream, TokenStream), String> {
    let Some(result) = &f.result else {
        return Ok((quote!(), quote!(), quote!(), quote!()));
    };
    match lower_result(result).kind {
        ValueKind::Scalar(Scalar::Bool) => Ok((
            quote!(-> bool),
            quote!(-> u32),
            quote!(as u32),
            quote!(true),
        )),
        ValueKind::Scalar(Scalar::Enum(name)) => {
            let rich = enum_ident(&name);
            let raw = raw_enum_ident(&name);
            let first = f
                .outcomes
                .first()
                .map(|o| variant_ident(o.value.name()))
                .ok_or_else(|| format!("`{}` lists no outcome to default to", f.name))?;
            Ok((
                quote!(-> #rich),
                quote!(-> __MODULE__::#raw),
                quote!(.into()),
                quote!(#rich::#first),
            ))
        }
        ValueKind::RawPointer(_) if f.role == Some(FunctionRole::Allocator) => Ok((
            quote!(-> *mut u8),
            quote!(-> *mut u8),
            quote!(),
            quote!(allocate(memory_size)),
        )),
        other => Err(format!(
            "no default for callback `{}` returning {other:?}",
            f.name
        )),
    }
}

/// The callbacks trait, the export shims (written with the placeholders
/// `__Plugin` and `__MODULE__` for the macro's arguments), and the macro's docs.
fn callbacks_tokens(abi: &AbiVersion) -> Result<(TokenStream, TokenStream, TokenStream), String> {
    let mut methods = Vec::new();
    let mut exports = Vec::new();
    for f in abi.callbacks().filter(|f| !is_runtime_export(f)) {
        let name = ident(&f.name);
        let params = callback_params(f);
        let (method_ret, export_ret, convert_ret, default) = callback_result(f)?;
        let method_params = params.iter().map(|p| {
            let (n, t) = (&p.name, &p.rust_type);
            quote!(#n: #t)
        });
        let export_params = params.iter().map(|p| {
            let (n, t) = (&p.name, &p.wasm_type);
            quote!(#n: #t)
        });
        let args = params.iter().map(|p| &p.convert);
        let names: Vec<_> = params.iter().map(|p| &p.name).collect();
        // Default bodies ignore their arguments; say so without `_` names,
        // which would show in the trait's docs.
        let unused = match names.as_slice() {
            _ if f.role == Some(FunctionRole::Allocator) => None,
            [] => None,
            [one] => Some(quote!(let _ = #one;)),
            many => Some(quote!(let _ = (#(#many),*);)),
        };
        let d = function_docs(f);
        methods.push(quote! {
            #d
            fn #name(#(#method_params),*) #method_ret {
                #unused
                #default
            }
        });
        exports.push(quote! {
            #[unsafe(no_mangle)]
            pub extern "C" fn #name(#(#export_params),*) #export_ret {
                <__Plugin as __MODULE__::Callbacks>::#name(#(#args),*) #convert_ret
            }
        });
    }
    let version = abi.version.to_string();
    let trait_doc = doc_lines(&format!(
        "The callbacks of Proxy-Wasm ABI v{version}, one associated function each.\n\n\
         Implement the ones a plugin needs; the defaults do what a host expects \
         from a plugin that does not care (continue, succeed, allocate). \
         Then export them with [`export_callbacks!`]."
    ));
    let callbacks = quote! {
        #trait_doc
        pub trait Callbacks {
            #(#methods)*
        }
    };
    let marker = format_ident!("{}", abi.version.marker_name());
    let macro_doc = doc_lines(&format!(
        "Exports every callback of v{version} from the plugin, forwarding to a type's \
         [`Callbacks`], plus the version marker `{marker}`.\n\n\
         Use it once per plugin, naming the module these bindings are in and the type: \
         `export_callbacks!(abi, MyPlugin);`."
    ));
    let marker_export = quote! {
        #[unsafe(no_mangle)]
        pub extern "C" fn #marker() {}
    };
    Ok((callbacks, quote!(#marker_export #(#exports)*), macro_doc))
}

/// `macro_rules! export_callbacks` around `body`.
fn export_macro(doc: &TokenStream, body: TokenStream) -> TokenStream {
    quote! {
        #doc
        // Opt-in: an SDK with its own dispatcher never invokes it.
        #[allow(unused_macros)]
        macro_rules! export_callbacks {
            ($($module:ident)::+, $ty:ty) => {
                #body
            };
        }
        #[allow(unused_imports)]
        pub(crate) use export_callbacks;
    }
}

/// Replaces the placeholders with the macro's arguments: `__MODULE__` with
/// `$($module)::+` and `__Plugin` with `$ty`.
fn substitute_placeholders(tokens: TokenStream) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    let mut out = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Ident(i) if i == "__MODULE__" => {
                out.extend(quote!($($module)::+));
            }
            TokenTree::Ident(i) if i == "__Plugin" => {
                out.extend(quote!($ty));
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), substitute_placeholders(g.stream()));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The guest bindings of one version as tokens (the body of a module).
pub fn tokens(abi: &AbiVersion, runtime: &RuntimePath) -> Result<TokenStream, String> {
    let parts = parts(abi, runtime)?;
    let body = substitute_placeholders(parts.exports);
    let export = export_macro(&parts.macro_doc, body);
    let main = parts.main;
    Ok(quote!(#main #export))
}

/// The bindings in two pieces, so the file can format the export shims as
/// ordinary Rust instead of a token soup inside `macro_rules!`.
struct Parts {
    main: TokenStream,
    exports: TokenStream,
    macro_doc: TokenStream,
}

/// What guest and host bindings share: the runtime path, the version, the
/// enums and the codec.
pub fn common_tokens(abi: &AbiVersion, runtime: &RuntimePath) -> Result<TokenStream, String> {
    let enums = abi
        .enums
        .iter()
        .map(|e| enum_tokens(e, e.with_role(StatusRole::Success).is_some()));
    let version = abi.version.to_string();
    let path = runtime.tokens()?;
    Ok(quote! {
        /// The runtime crate these bindings call: what does not vary between versions.
        #[allow(unused_imports)]
        use #path as rt;

        pub use rt::{UnknownValue, serial};

        /// The ABI version these bindings implement.
        pub const ABI_VERSION: &str = #version;

        #(#enums)*
    })
}

fn parts(abi: &AbiVersion, runtime: &RuntimePath) -> Result<Parts, String> {
    let common = common_tokens(abi, runtime)?;
    let env_functions: Vec<&Function> = abi
        .host_functions()
        .filter(|f| f.module() == Some("env"))
        .collect();
    let hostcalls = env_functions.iter().map(|f| hostcall_tokens(f));
    let (callbacks, exports, macro_doc) = callbacks_tokens(abi)?;
    let host = host_module_tokens(abi)?;
    let version = abi.version.to_string();
    let hostcalls_doc = doc_lines(&format!(
        "Raw imports of the `env` host functions of v{version}.\n\n\
         The `wasi_snapshot_preview1` functions the ABI also uses are not declared: \
         on `wasm32-wasip1` the Rust standard library imports them."
    ));
    let main = quote! {
        #common

        #hostcalls_doc
        pub mod hostcalls {
            use super::*;

            #[link(wasm_import_module = "env")]
            unsafe extern "C" {
                #(#hostcalls)*
            }
        }

        pub use rt::guest::{allocate, take_host_buffer};

        #host

        #callbacks
    };
    Ok(Parts {
        main,
        exports,
        macro_doc,
    })
}

/// Stands in for the macro body while the rest of the file is formatted.
const BODY_PLACEHOLDER: &str = "__EXPORT_CALLBACKS_BODY__";

/// The guest bindings of one version as a formatted Rust file. It holds the
/// same items as [`tokens`]; only the macro body is formatted separately.
pub fn file(abi: &AbiVersion, source: &str, runtime: &RuntimePath) -> Result<String, String> {
    let parts = parts(abi, runtime)?;
    let placeholder = format_ident!("{BODY_PLACEHOLDER}");
    let export = export_macro(&parts.macro_doc, quote!(#placeholder));
    let main = parts.main;
    let text = crate::rust::format_file(quote!(#main #export), &crate::generated_notice(source))?;
    let body = crate::rust::format_file(parts.exports, "")?;
    let body = body
        .lines()
        .skip_while(|line| line.starts_with("//") || line.is_empty())
        .map(|line| {
            let line = line
                .replace("__MODULE__", "$($module)::+")
                .replace("__Plugin", "$ty");
            if line.is_empty() {
                line
            } else {
                format!("        {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let indented_placeholder = format!("        {BODY_PLACEHOLDER}");
    if !text.contains(&indented_placeholder) {
        return Err("the export macro body could not be placed".to_string());
    }
    Ok(text.replace(&indented_placeholder, &body))
}
