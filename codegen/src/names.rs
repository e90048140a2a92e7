//! Every mapping from ABI names to Rust names, in one place.

use proc_macro2::{Ident, Span, TokenStream};
use proxy_wasm_abi_spec::lower::{Scalar, ValueKind};
use quote::{format_ident, quote};

/// `NOT_FOUND` -> `NotFound`, `proxy_log_level` -> `ProxyLogLevel`.
pub fn camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// An ABI enum's name without its `proxy_` prefix and `_t` suffix:
/// `proxy_map_type_t` -> `map_type`, `wasi_errno_t` -> `wasi_errno`.
pub fn enum_base(c_name: &str) -> &str {
    let base = c_name.strip_suffix("_t").unwrap_or(c_name);
    base.strip_prefix("proxy_").unwrap_or(base)
}

/// The Rust name of an ABI enum: `proxy_status_t` -> `Status`,
/// `wasi_errno_t` -> `WasiErrno`.
pub fn enum_name(c_name: &str) -> String {
    camel(enum_base(c_name))
}

/// The Rust enum type of an ABI enum.
pub fn enum_ident(c_name: &str) -> Ident {
    format_ident!("{}", enum_name(c_name))
}

/// The `#[repr(transparent)]` newtype that carries an ABI enum across the
/// boundary: `proxy_status_t` -> `RawStatus`.
pub fn raw_enum_ident(c_name: &str) -> Ident {
    format_ident!("Raw{}", enum_name(c_name))
}

/// A Rust enum variant: `NOT_FOUND` -> `NotFound`.
pub fn variant_ident(abi_name: &str) -> Ident {
    format_ident!("{}", camel(abi_name))
}

/// An identifier for an ABI name, escaping Rust keywords.
pub fn ident(name: &str) -> Ident {
    syn::parse_str::<Ident>(name).unwrap_or_else(|_| Ident::new_raw(name, Span::call_site()))
}

/// Exports the toolchain or libc provide rather than plugin code
/// (`_initialize`, `main`, `_start`, and the legacy `malloc`): emitters
/// describe them but do not generate them.
pub fn is_toolchain_export(f: &proxy_wasm_abi_spec::ir::Function) -> bool {
    f.role.is_some_and(|role| role.is_toolchain())
}

/// The Rust type of a scalar, with `enum_type` naming an enum's type: its
/// raw newtype at the boundary ([`raw_enum_ident`]), its Rust enum in a
/// `Host` method ([`enum_ident`]).
pub fn scalar_type(scalar: &Scalar, enum_type: fn(&str) -> Ident) -> TokenStream {
    match scalar {
        Scalar::U32 | Scalar::Context => quote!(u32),
        Scalar::U64 => quote!(u64),
        Scalar::I64 => quote!(i64),
        Scalar::Usize => quote!(usize),
        Scalar::Bool => quote!(bool),
        Scalar::Enum(name) => {
            let ty = enum_type(name);
            quote!(#ty)
        }
    }
}

/// The Rust type of one lowered wasm value, as an `extern "C"` import or
/// export declares it. Enums are carried by their raw newtype, so any value
/// the host sends is representable.
pub fn raw_type(kind: &ValueKind) -> TokenStream {
    let scalar = |s: &Scalar| scalar_type(s, raw_enum_ident);
    match kind {
        ValueKind::Scalar(s) => scalar(s),
        ValueKind::ConstAddress => quote!(*const u8),
        ValueKind::MutAddress => quote!(*mut u8),
        ValueKind::RawPointer(indirection) => {
            let mut ty = quote!(u8);
            for _ in 0..(*indirection).max(1) {
                ty = quote!(*mut #ty);
            }
            ty
        }
        ValueKind::Length => quote!(usize),
        ValueKind::OutSlot(s) => {
            let pointee = scalar(s);
            quote!(*mut #pointee)
        }
        ValueKind::OutData { text: false } => quote!(*mut *mut u8),
        ValueKind::OutData { text: true } => quote!(*mut *const u8),
        ValueKind::OutLength => quote!(*mut usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("NOT_FOUND"), "NotFound");
        assert_eq!(camel("HTTP_REQUEST_BODY"), "HttpRequestBody");
        assert_eq!(enum_name("proxy_status_t"), "Status");
        assert_eq!(enum_name("proxy_log_level_t"), "LogLevel");
        assert_eq!(enum_name("wasi_errno_t"), "WasiErrno");
        assert_eq!(raw_enum_ident("proxy_action_t").to_string(), "RawAction");
        assert_eq!(ident("type").to_string(), "r#type");
    }

    #[test]
    fn raw_types() {
        let ty = |kind: ValueKind| raw_type(&kind).to_string();
        assert_eq!(ty(ValueKind::OutData { text: false }), "* mut * mut u8");
        assert_eq!(ty(ValueKind::RawPointer(2)), "* mut * mut u8");
        let level = || Scalar::Enum("proxy_log_level_t".into());
        assert_eq!(ty(ValueKind::OutSlot(level())), "* mut RawLogLevel");
        assert_eq!(ty(ValueKind::Scalar(level())), "RawLogLevel");
        assert_eq!(ty(ValueKind::ConstAddress), "* const u8");
    }
}
