//! Guest-side Rust bindings of one ABI version, for plugin SDKs.
//!
//! The output (in a module the user names, here `abi`) holds:
//! - `abi::ABI_VERSION`;
//! - for every enum, a `#[repr(transparent)]` newtype (`RawStatus`) that
//!   crosses the boundary, so an unknown value is never undefined behaviour,
//!   and a Rust enum (`Status`) with `TryFrom`, `Display` (and `Error` for the
//!   status type);
//! - `abi::hostcalls`: one `extern "C"` import per `env` host function, with
//!   the specification's names and parameter names;
//! - `abi::serial`: the serialized map and property path codec;
//! - `abi::Callbacks`: one associated function per callback, with defaults;
//! - `export_callbacks!(abi, MyPlugin)`: the `#[no_mangle]` exports that
//!   forward to `MyPlugin`'s `Callbacks`, plus the version marker.
//!
//! Everything is `no_std`-friendly: only `core` and `alloc` are used.

use proc_macro2::{Literal, TokenStream};
use proxy_wasm_abi_spec::ir::{AbiVersion, Enum, Function, Type};
use proxy_wasm_abi_spec::lower::{WasmValue, lower, lower_param};
use quote::{format_ident, quote};

use crate::names::{enum_ident, ident, raw_enum_ident, raw_type, variant_ident};
use crate::rust::{doc_lines, docs, function_docs};

/// The source of the map codec, emitted into the bindings so guests and
/// hosts share one implementation.
const SERIAL_SOURCE: &str = include_str!("../../abi-spec/src/serial.rs");

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
    let consts = e.variants.iter().map(|v| {
        let const_name = format_ident!("{}", v.name);
        let value = Literal::u32_unsuffixed(v.value);
        let d = docs(&v.meta);
        quote! { #d pub const #const_name: #raw = #raw(#value); }
    });
    let variants = e.variants.iter().map(|v| {
        let variant = variant_ident(&v.name);
        let value = Literal::u32_unsuffixed(v.value);
        let d = docs(&v.meta);
        quote! { #d #variant = #value, }
    });
    let from_raw = e.variants.iter().map(|v| {
        let variant = variant_ident(&v.name);
        let value = Literal::u32_unsuffixed(v.value);
        quote! { #value => Ok(#name::#variant), }
    });
    let names = e.variants.iter().map(|v| {
        let variant = variant_ident(&v.name);
        let text = &v.name;
        quote! { #name::#variant => #text, }
    });
    let all = e.variants.iter().map(|v| {
        let variant = variant_ident(&v.name);
        quote!(#name::#variant)
    });
    let count = Literal::usize_unsuffixed(e.variants.len());
    let error_impl = is_status.then(|| quote! { impl core::error::Error for #name {} });
    quote! {
        #raw_doc
        #[repr(transparent)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct #raw(pub u32);

        impl #raw {
            #(#consts)*
        }

        #enum_docs
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum #name {
            #(#variants)*
        }

        impl #name {
            /// Every value this version defines.
            pub const ALL: [#name; #count] = [#(#all),*];

            /// The name the specification uses, e.g. `NOT_FOUND`.
            pub const fn abi_name(self) -> &'static str {
                match self {
                    #(#names)*
                }
            }
        }

        impl TryFrom<#raw> for #name {
            type Error = UnknownValue;

            fn try_from(raw: #raw) -> Result<Self, UnknownValue> {
                match raw.0 {
                    #(#from_raw)*
                    value => Err(UnknownValue { type_name: #c_name, value }),
                }
            }
        }

        impl From<#name> for #raw {
            fn from(value: #name) -> Self {
                #raw(value as u32)
            }
        }

        impl core::fmt::Display for #name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.abi_name())
            }
        }

        #error_impl
    }
}

/// The Rust types of a function's lowered values, or the C type that has none.
fn raw_types(values: &[WasmValue], enums: &[&str]) -> Result<Vec<TokenStream>, String> {
    values
        .iter()
        .map(|v| {
            raw_type(&v.c_type, enums)
                .ok_or_else(|| format!("no Rust type for C type `{}` of `{}`", v.c_type, v.name))
        })
        .collect()
}

fn hostcall_tokens(f: &Function, enums: &[&str]) -> Result<TokenStream, String> {
    let sig = lower(f);
    let name = ident(&f.name);
    let param_names = sig.params.iter().map(|p| ident(&p.name));
    let param_types = raw_types(&sig.params, enums)?;
    let result = raw_types(&sig.results, enums)?
        .into_iter()
        .next()
        .map(|ty| quote!(-> #ty));
    let d = function_docs(f);
    let deprecated = f.deprecated.as_ref().map(|dep| {
        let note = match &dep.replacement {
            Some(r) => format!("use `{r}` instead"),
            None => "deprecated by the specification".to_string(),
        };
        quote!(#[deprecated(note = #note)])
    });
    Ok(quote! {
        #d
        #deprecated
        pub fn #name(#(#param_names: #param_types),*) #result;
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

fn callback_params(f: &Function, enums: &[&str]) -> Result<Vec<CallbackParam>, String> {
    let mut out = Vec::new();
    for p in &f.params {
        for v in lower_param(p) {
            let name = ident(&v.name);
            let raw = raw_type(&v.c_type, enums)
                .ok_or_else(|| format!("no Rust type for `{}` in `{}`", v.c_type, f.name))?;
            // A bool from the host arrives as an i32 that may hold any value;
            // taking it as `bool` directly would be undefined behaviour.
            let (wasm_type, rust_type, convert) = match &p.ty {
                Type::Bool => (quote!(u32), quote!(bool), quote!(#name != 0)),
                // The export lives in the user's module: name the raw enum by path.
                Type::Enum(_) => (quote!(__MODULE__::#raw), raw, quote!(#name)),
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
    Ok(out)
}

/// The method's return type, the export's return type, how to convert
/// between them, and the default body.
fn callback_result(
    f: &Function,
) -> Result<(TokenStream, TokenStream, TokenStream, TokenStream), String> {
    let Some(result) = &f.result else {
        return Ok((quote!(), quote!(), quote!(), quote!()));
    };
    match &result.ty {
        Type::Bool => Ok((
            quote!(-> bool),
            quote!(-> u32),
            quote!(as u32),
            quote!(true),
        )),
        Type::Enum(name) => {
            let rich = enum_ident(name);
            let raw = raw_enum_ident(name);
            let first = f
                .outcomes
                .first()
                .map(|o| variant_ident(&o.value))
                .ok_or_else(|| format!("`{}` lists no outcome to default to", f.name))?;
            Ok((
                quote!(-> #rich),
                quote!(-> __MODULE__::#raw),
                quote!(.into()),
                quote!(#rich::#first),
            ))
        }
        Type::Ptr(_) if f.name == "proxy_on_memory_allocate" => Ok((
            quote!(-> *mut u8),
            quote!(-> *mut u8),
            quote!(),
            quote!(allocate(memory_size)),
        )),
        other => Err(format!(
            "no default for callback `{}` returning `{}`",
            f.name,
            other.keyword()
        )),
    }
}

/// The callbacks trait, the export shims (written with the placeholders
/// `__Plugin` and `__MODULE__` for the macro's arguments), and the macro's docs.
fn callbacks_tokens(
    abi: &AbiVersion,
    enums: &[&str],
) -> Result<(TokenStream, TokenStream, TokenStream), String> {
    let mut methods = Vec::new();
    let mut exports = Vec::new();
    for f in abi.callbacks().filter(|f| !is_runtime_export(f)) {
        let name = ident(&f.name);
        let params = callback_params(f, enums)?;
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
            _ if f.name == "proxy_on_memory_allocate" => None,
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

/// The codec module, from the one codec source, without its unit tests.
fn serial_tokens() -> Result<TokenStream, String> {
    let file: syn::File =
        syn::parse_str(SERIAL_SOURCE).map_err(|e| format!("serial.rs does not parse: {e}"))?;
    let items = file.items.into_iter().filter(|item| {
        !matches!(item, syn::Item::Mod(m) if m.attrs.iter().any(|a| a.path().is_ident("cfg")))
    });
    let doc = doc_lines(
        "The serialized map and property path formats (the same codec the host side uses).",
    );
    Ok(quote! {
        #doc
        pub mod serial {
            extern crate alloc;
            use alloc::vec::Vec;
            #(#items)*
        }
    })
}

/// The guest bindings of one version as tokens (the body of a module).
pub fn tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let parts = parts(abi)?;
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

/// What guest and host bindings share: the version, the enums and the codec.
pub fn common_tokens(abi: &AbiVersion) -> Result<TokenStream, String> {
    let enums = abi
        .enums
        .iter()
        .map(|e| enum_tokens(e, e.name == "proxy_status_t"));
    let serial = serial_tokens()?;
    let version = abi.version.to_string();
    Ok(quote! {
        /// The ABI version these bindings implement.
        pub const ABI_VERSION: &str = #version;

        /// An enum value that this version of the ABI does not define.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct UnknownValue {
            /// The ABI type, e.g. `proxy_status_t`.
            pub type_name: &'static str,
            /// The value received.
            pub value: u32,
        }

        impl core::fmt::Display for UnknownValue {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} is not a value of {}", self.value, self.type_name)
            }
        }

        impl core::error::Error for UnknownValue {}

        #(#enums)*

        #serial
    })
}

fn parts(abi: &AbiVersion) -> Result<Parts, String> {
    let enum_names: Vec<&str> = abi.enums.iter().map(|e| e.name.as_str()).collect();
    let common = common_tokens(abi)?;
    let env_functions: Vec<&Function> = abi
        .host_functions()
        .filter(|f| f.module() == Some("env"))
        .collect();
    let hostcalls = env_functions
        .iter()
        .map(|f| hostcall_tokens(f, &enum_names))
        .collect::<Result<Vec<_>, _>>()?;
    let (callbacks, exports, macro_doc) = callbacks_tokens(abi, &enum_names)?;
    let version = abi.version.to_string();
    let hostcalls_doc = doc_lines(&format!(
        "Raw imports of the `env` host functions of v{version}.\n\n\
         The `wasi_snapshot_preview1` functions the ABI also uses are not declared: \
         on `wasm32-wasip1` the Rust standard library imports them."
    ));
    let main = quote! {
        extern crate alloc;

        #common

        #hostcalls_doc
        pub mod hostcalls {
            use super::*;

            #[link(wasm_import_module = "env")]
            unsafe extern "C" {
                #(#hostcalls)*
            }
        }

        /// Allocates `size` bytes for the host with the global allocator, as a
        /// `Vec<u8>` of capacity `size` that is handed over; the default
        /// `proxy_on_memory_allocate`. Take a buffer the host returned back
        /// with [`take_host_buffer`].
        pub fn allocate(size: usize) -> *mut u8 {
            // A zero-size Vec still has a non-null (dangling) pointer, so the host
            // never sees the null that means failure.
            let mut buffer = core::mem::ManuallyDrop::new(alloc::vec::Vec::<u8>::with_capacity(size));
            buffer.as_mut_ptr()
        }

        /// Takes ownership of a buffer the host returned through an `out` pointer
        /// pair (e.g. `return_value_data`, `return_value_size`). A null pointer
        /// is an empty value.
        ///
        /// # Safety
        ///
        /// `data` must be null, or have been returned by [`allocate`] (the default
        /// `proxy_on_memory_allocate`) for exactly `size` bytes, which the host
        /// filled, and not taken before.
        pub unsafe fn take_host_buffer(data: *mut u8, size: usize) -> alloc::vec::Vec<u8> {
            if data.is_null() {
                return alloc::vec::Vec::new();
            }
            // SAFETY: per the contract, `allocate(size)` made this pointer as a
            // `Vec<u8>` with capacity `size`, and the host initialized `size` bytes.
            unsafe { alloc::vec::Vec::from_raw_parts(data, size, size) }
        }

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
pub fn file(abi: &AbiVersion, source: &str) -> Result<String, String> {
    let parts = parts(abi)?;
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
