//! Every mapping from ABI names to Rust names, in one place.

use proc_macro2::{Ident, Span, TokenStream};
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
    matches!(
        f.name.as_str(),
        "_initialize" | "main" | "_start" | "malloc"
    )
}

/// The Rust type of one lowered wasm value, from its C type as the lowering
/// gives it. `enum_names` are the ABI enums in scope (carried by their raw
/// newtype, so any value the host sends is representable).
pub fn raw_type(c_type: &str, enum_names: &[&str]) -> Option<TokenStream> {
    let pointee = c_type.strip_suffix(" *");
    Some(match c_type {
        "uint32_t" => quote!(u32),
        "uint64_t" => quote!(u64),
        "int64_t" => quote!(i64),
        "size_t" => quote!(usize),
        "bool" => quote!(bool),
        "const char *" | "const uint8_t *" | "wasi_iovec_array_t" => quote!(*const u8),
        "uint8_t *" => quote!(*mut u8),
        "uint8_t **" => quote!(*mut *mut u8),
        "const char **" => quote!(*mut *const u8),
        "size_t *" => quote!(*mut usize),
        "uint32_t *" => quote!(*mut u32),
        "uint64_t *" => quote!(*mut u64),
        name if enum_names.contains(&name) => {
            let raw = raw_enum_ident(name);
            quote!(#raw)
        }
        _ => match pointee {
            Some(name) if enum_names.contains(&name) => {
                let raw = raw_enum_ident(name);
                quote!(*mut #raw)
            }
            _ => return None,
        },
    })
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
        let enums = ["proxy_log_level_t"];
        let ty = |c: &str| raw_type(c, &enums).map(|t| t.to_string());
        assert_eq!(ty("uint8_t **").as_deref(), Some("* mut * mut u8"));
        assert_eq!(
            ty("proxy_log_level_t *").as_deref(),
            Some("* mut RawLogLevel")
        );
        assert_eq!(ty("proxy_log_level_t").as_deref(), Some("RawLogLevel"));
        assert_eq!(ty("float"), None);
    }
}
