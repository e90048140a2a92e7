//! `#[derive(AbiEnum)]`: an SDK's own fieldless enum, checked variant by
//! variant against a spec enum, with conversions to and from `u32`.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use proxy_wasm_abi_spec::ir::{AbiVersion, Enum, StatusRole, Variant};
use quote::{ToTokens, quote};
use syn::{Attribute, Data, DeriveInput, Expr, Fields, Ident, Lit, LitStr};

use super::{Errors, did_you_mean, normalized, resolve_version, skip_value, spec};

/// Expands `#[derive(AbiEnum)]`: checks the enum against the spec enum named
/// by `#[abi(enum = "...", version = "...")]` and generates
/// `TryFrom<u32>` (handing unknown values back as the error), `From<_> for
/// u32` and the associated const `ABI_NAME`.
pub fn abi_enum(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(s) => return Err(not_an_enum(&s.struct_token)),
        Data::Union(u) => return Err(not_an_enum(&u.union_token)),
    };
    let mut errors = Errors::default();
    let mut options = EnumOptions::default();
    let target = enum_target(&input.attrs, &input.ident, &mut options, &mut errors);
    let runtime = super::runtime_path(options.runtime.as_ref(), &mut errors);

    // The shape of each variant is checked whether or not the spec enum was
    // found, so a user sees those problems in the same build.
    let variants: Vec<RustVariant<'_>> = data
        .variants
        .iter()
        .map(|variant| {
            if !matches!(variant.fields, Fields::Unit) {
                errors.on(
                    &variant.fields,
                    format!(
                        "`{}` has fields; `AbiEnum` variants must be unit variants, since the ABI passes a bare u32",
                        variant.ident
                    ),
                );
            }
            RustVariant {
                ident: &variant.ident,
                rename: variant_rename(&variant.attrs, &mut errors),
                discriminant: variant
                    .discriminant
                    .as_ref()
                    .and_then(|(_, expr)| discriminant(&variant.ident, expr, &mut errors)),
                written: variant.discriminant.is_some(),
            }
        })
        .collect();

    if let Some((version, spec_enum)) = target {
        check_variants(
            &input.ident,
            &variants,
            version,
            spec_enum,
            options.partial,
            &mut errors,
        );
    }
    errors.finish()?;
    // No errors means every variant maps to a spec variant by its literal value.
    let Some((_, spec_enum)) = target else {
        return Ok(TokenStream::new());
    };
    let mapped: Vec<(&Ident, u32)> = variants
        .iter()
        .filter_map(|v| Some((v.ident, v.discriminant?.0)))
        .collect();
    Ok(conversions(&input, spec_enum, &mapped, &runtime))
}

fn not_an_enum(keyword: &dyn ToTokens) -> syn::Error {
    syn::Error::new_spanned(
        keyword,
        "`AbiEnum` derives only on fieldless enums: it mirrors a Proxy-Wasm enum such as proxy_status_t",
    )
}

/// One Rust variant as written.
struct RustVariant<'a> {
    ident: &'a Ident,
    /// `#[abi(name = "NOT_FOUND")]`.
    rename: Option<LitStr>,
    /// The literal discriminant and the expression it came from.
    discriminant: Option<(u32, &'a Expr)>,
    /// Whether a discriminant was written, readable or not (an unreadable
    /// one is reported where it is read).
    written: bool,
}

/// The optional keys of the enum's `#[abi(...)]`.
#[derive(Default)]
struct EnumOptions {
    /// `partial`: some spec variants may be missing.
    partial: bool,
    /// `runtime_path = "::my_sdk::rt"`: where the runtime crate is.
    runtime: Option<LitStr>,
}

/// Reads `#[abi(enum = "...", version = "...")]` and resolves both against
/// the description.
fn enum_target(
    attrs: &[Attribute],
    ident: &Ident,
    options: &mut EnumOptions,
    errors: &mut Errors,
) -> Option<(&'static AbiVersion, &'static Enum)> {
    let mut enum_name: Option<LitStr> = None;
    let mut version: Option<LitStr> = None;
    let mut last_attr = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("abi")) {
        last_attr = Some(attr);
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("partial") {
                if options.partial {
                    errors.on(&meta.path, "duplicate key `partial`");
                }
                options.partial = true;
                return Ok(());
            }
            let slot = if meta.path.is_ident("enum") {
                &mut enum_name
            } else if meta.path.is_ident("version") {
                &mut version
            } else if meta.path.is_ident("runtime_path") {
                &mut options.runtime
            } else {
                errors.on(
                    &meta.path,
                    format!(
                        "unknown key `{}` in `#[abi(...)]`; on an enum the keys are `enum`, `version`, `partial` and `runtime_path`",
                        meta.path.to_token_stream()
                    ),
                );
                return skip_value(&meta);
            };
            super::set_once(slot, &meta, errors)
        });
        if let Err(error) = parsed {
            errors.add(error);
        }
    }
    let Some(attr) = last_attr else {
        let latest = spec().versions.last()?;
        errors.at(
            ident.span(),
            format!(
                "`#[derive(AbiEnum)]` needs the spec enum and ABI version: add `#[abi(enum = \"{}\", version = \"{}\")]`",
                likely_enum(ident, latest),
                latest.version
            ),
        );
        return None;
    };
    let latest = spec().versions.last()?;
    let (example_enum, example_version) = (status_enum(latest), latest.version.to_string());
    for (key, value, example) in [
        ("enum", &enum_name, example_enum),
        ("version", &version, example_version.as_str()),
    ] {
        if value.is_none() {
            errors.on(
                attr,
                format!("missing key `{key}` in `#[abi(...)]`, e.g. `{key} = \"{example}\"`"),
            );
        }
    }
    let abi_version = match resolve_version(version.as_ref()?) {
        Ok(v) => v,
        Err(error) => {
            errors.add(error);
            return None;
        }
    };
    let name = enum_name?;
    let found = abi_version.enum_named(&name.value());
    if found.is_none() {
        errors.on(&name, unknown_enum(&name.value(), abi_version));
    }
    Some((abi_version, found?))
}

/// The spec enum a Rust enum is most likely named after (`LogLevel` for
/// `proxy_log_level_t`), for the example in a message.
fn likely_enum(ident: &Ident, version: &AbiVersion) -> String {
    let wanted = normalized(&ident.to_string());
    version
        .enums
        .iter()
        .map(|e| e.name.as_str())
        .find(|name| {
            let core = name
                .strip_prefix("proxy_")
                .or_else(|| name.strip_prefix("wasi_"))
                .unwrap_or(name);
            normalized(core.strip_suffix("_t").unwrap_or(core)) == wanted
        })
        .unwrap_or_else(|| status_enum(version))
        .to_string()
}

/// The version's status enum (the one with a success value), for examples.
fn status_enum(version: &AbiVersion) -> &str {
    version
        .enums
        .iter()
        .find(|e| e.with_role(StatusRole::Success).is_some())
        .or(version.enums.first())
        .map_or("", |e| e.name.as_str())
}

fn unknown_enum(name: &str, version: &AbiVersion) -> String {
    let v = version.version;
    if let Some(elsewhere) = spec().elsewhere(v, |av| av.enum_named(name).is_some()) {
        return format!("`{name}` is not in v{v} ({elsewhere})");
    }
    let names = version.enums.iter().map(|e| e.name.as_str());
    match did_you_mean(name, names.clone()) {
        hint if !hint.is_empty() => format!("no enum `{name}` in v{v}{hint}"),
        _ => format!(
            "no enum `{name}` in v{v}; its enums are {}",
            names.collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Reads `#[abi(name = "NOT_FOUND")]` on a variant.
fn variant_rename(attrs: &[Attribute], errors: &mut Errors) -> Option<LitStr> {
    let mut name: Option<LitStr> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("abi")) {
        let before = name.is_some();
        // Any key counts: an unknown one is already reported on its own.
        let mut saw_key = false;
        let parsed = attr.parse_nested_meta(|meta| {
            saw_key = true;
            if !meta.path.is_ident("name") {
                errors.on(
                    &meta.path,
                    format!(
                        "unknown key `{}` in `#[abi(...)]`; on a variant the only key is `name`, e.g. `name = \"NOT_FOUND\"`",
                        meta.path.to_token_stream()
                    ),
                );
                return skip_value(&meta);
            }
            super::set_once(&mut name, &meta, errors)
        });
        match parsed {
            Err(error) => errors.add(error),
            Ok(()) if !saw_key && !before => errors.on(
                attr,
                "missing key `name` in `#[abi(...)]`, e.g. `#[abi(name = \"NOT_FOUND\")]`",
            ),
            Ok(()) => {}
        }
    }
    name
}

/// The value of an explicit discriminant, which must be a `u32` literal so
/// the macro can compare it with the spec.
fn discriminant<'a>(ident: &Ident, expr: &'a Expr, errors: &mut Errors) -> Option<(u32, &'a Expr)> {
    let mut inner = expr;
    // A discriminant passed through `macro_rules!` arrives in an invisible group.
    while let Expr::Group(group) = inner {
        inner = &group.expr;
    }
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(int), ..
    }) = inner
    {
        match int.base10_parse::<u32>() {
            Ok(value) => return Some((value, expr)),
            Err(_) => {
                errors.on(
                    expr,
                    format!(
                        "the discriminant of `{ident}` does not fit in a u32, the ABI's enum width"
                    ),
                );
                return None;
            }
        }
    }
    errors.on(
        expr,
        format!("the discriminant of `{ident}` must be an integer literal, so it can be checked against the spec"),
    );
    None
}

/// `NOT_FOUND` as a Rust variant name: `NotFound`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect()
}

/// `NotFound = 1` (NOT_FOUND).
fn suggested(variant: &Variant) -> String {
    format!(
        "`{} = {}` ({})",
        camel(&variant.name),
        variant.value,
        variant.name
    )
}

fn check_variants(
    enum_ident: &Ident,
    variants: &[RustVariant<'_>],
    version: &AbiVersion,
    spec_enum: &'static Enum,
    partial: bool,
    errors: &mut Errors,
) {
    let v = version.version;
    let enum_name = &spec_enum.name;
    // First pass: which spec variant each Rust variant claims, so the second
    // pass can tell a renamed variant (its value is unclaimed) from an extra
    // one, and suggest only spec variants nobody claims.
    let claims: Vec<Option<&'static Variant>> = variants
        .iter()
        .map(|rv| match &rv.rename {
            Some(name) => spec_enum.variant(&name.value()),
            None => {
                let wanted = normalized(&rv.ident.to_string());
                spec_enum
                    .variants
                    .iter()
                    .find(|sv| normalized(&sv.name) == wanted)
            }
        })
        .collect();

    let mut claimed: HashSet<&str> = HashSet::new();
    // Spec variants an error already points the user to, so they are not
    // reported missing as well.
    let mut explained: HashSet<&str> = HashSet::new();
    for (rv, claim) in variants.iter().zip(&claims) {
        let ident = rv.ident;
        let Some(sv) = claim else {
            match &rv.rename {
                Some(name) => errors.on(
                    name,
                    unknown_variant(&name.value(), &claims, spec_enum, version, &mut explained),
                ),
                None => errors.on(
                    ident,
                    extra_variant(rv, &claims, spec_enum, version, &mut explained),
                ),
            }
            continue;
        };
        if !claimed.insert(sv.name.as_str()) {
            errors.on(
                ident,
                format!(
                    "`{ident}` maps to {} of {enum_name}, which an earlier variant already maps to",
                    sv.name
                ),
            );
            continue;
        }
        match rv.discriminant {
            None if rv.written => {}
            None => errors.on(
                ident,
                format!(
                    "`{ident}` needs an explicit discriminant: `{ident} = {}` ({} in {enum_name} v{v})",
                    sv.value, sv.name
                ),
            ),
            Some((value, expr)) if value != sv.value => errors.on(
                expr,
                format!(
                    "`{ident}` is {} = {} in {enum_name} v{v}, found {value}",
                    sv.name, sv.value
                ),
            ),
            Some(_) => {}
        }
    }

    let missing: Vec<String> = spec_enum
        .variants
        .iter()
        .filter(|sv| !claimed.contains(sv.name.as_str()) && !explained.contains(sv.name.as_str()))
        .map(suggested)
        .collect();
    if !missing.is_empty() && !partial {
        let count = if missing.len() == 1 {
            "a variant".to_string()
        } else {
            format!("{} variants", missing.len())
        };
        errors.at(
            enum_ident.span(),
            format!(
                "`{enum_ident}` is missing {count} of {enum_name} v{v}: {}; or, if the enum only ever carries values the plugin produces, mark it `#[abi(..., partial)]`",
                missing.join(", ")
            ),
        );
    }
}

/// The message for a Rust variant that maps to no spec variant.
fn extra_variant(
    rv: &RustVariant<'_>,
    claims: &[Option<&'static Variant>],
    spec_enum: &'static Enum,
    version: &AbiVersion,
    explained: &mut HashSet<&'static str>,
) -> String {
    let (ident, v, enum_name) = (rv.ident, version.version, &spec_enum.name);
    // Same value as a spec variant nobody claims: most likely a renamed variant.
    let same_value = rv.discriminant.and_then(|(value, _)| {
        spec_enum
            .variants
            .iter()
            .find(|sv| sv.value == value && !claims.iter().flatten().any(|c| c.name == sv.name))
    });
    if let Some(sv) = same_value {
        explained.insert(sv.name.as_str());
        return format!(
            "`{ident} = {}` is `{}` in {enum_name} v{v}: rename the variant to `{}` or add `#[abi(name = \"{}\")]`",
            sv.value,
            sv.name,
            camel(&sv.name),
            sv.name
        );
    }
    unknown_variant(&ident.to_string(), claims, spec_enum, version, explained)
}

/// `X` is not a variant of the enum in this version, with where it is
/// instead or the closest unclaimed spec variant.
fn unknown_variant(
    name: &str,
    claims: &[Option<&'static Variant>],
    spec_enum: &'static Enum,
    version: &AbiVersion,
    explained: &mut HashSet<&'static str>,
) -> String {
    let (v, enum_name) = (version.version, &spec_enum.name);
    let wanted = normalized(name);
    let elsewhere = spec().elsewhere(v, |av| {
        av.enum_named(enum_name)
            .is_some_and(|e| e.variants.iter().any(|sv| normalized(&sv.name) == wanted))
    });
    if let Some(elsewhere) = elsewhere {
        return format!("`{name}` is not a variant of {enum_name} in v{v} ({elsewhere})");
    }
    let unclaimed = spec_enum
        .variants
        .iter()
        .filter(|sv| !claims.iter().flatten().any(|c| c.name == sv.name))
        .map(|sv| sv.name.as_str());
    let Some(close) = super::closest(name, unclaimed).and_then(|c| spec_enum.variant(c)) else {
        return format!("`{name}` is not a variant of {enum_name} in v{v}");
    };
    explained.insert(close.name.as_str());
    let hint = format!("; did you mean {}?", suggested(close));
    format!("`{name}` is not a variant of {enum_name} in v{v}{hint}")
}

/// Whether the enum says `#[repr(u32)]`, so it may cross `extern "C"` by value.
fn is_repr_u32(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("repr"))
        .any(|attr| {
            let mut found = false;
            let _ = attr.parse_nested_meta(|meta| {
                found |= meta.path.is_ident("u32");
                // `align(4)` and the like carry a group to step over.
                skip_value(&meta)
            });
            found
        })
}

/// The generated conversions, `ABI_NAME`, and the marks the runtime's
/// `mirror` module defines: `Mirrors<spec::name>` and, for a `#[repr(u32)]`
/// enum, `ReprU32`, which `#[hostcalls]` and `#[exports]` bound on.
fn conversions(
    input: &DeriveInput,
    spec_enum: &Enum,
    mapped: &[(&Ident, u32)],
    rt: &syn::Path,
) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let idents: Vec<&Ident> = mapped.iter().map(|(i, _)| *i).collect();
    let values: Vec<u32> = mapped.iter().map(|(_, v)| *v).collect();
    let abi_name = &spec_enum.name;
    let marker = syn::Ident::new(abi_name, proc_macro2::Span::call_site());
    let doc = format!("The Proxy-Wasm enum this type mirrors: `{abi_name}`.");
    let repr = is_repr_u32(&input.attrs).then(|| {
        quote! {
            // SAFETY: a fieldless enum (checked above) declared `#[repr(u32)]`.
            unsafe impl #impl_generics #rt::mirror::ReprU32 for #ident #ty_generics #where_clause {}
        }
    });
    // Matches rather than `as` casts: no `#[repr]` is required and no value
    // can be truncated.
    quote! {
        impl #impl_generics ::core::convert::TryFrom<u32> for #ident #ty_generics #where_clause {
            type Error = u32;

            fn try_from(value: u32) -> ::core::result::Result<Self, u32> {
                match value {
                    #( #values => ::core::result::Result::Ok(#ident::#idents), )*
                    unknown => ::core::result::Result::Err(unknown),
                }
            }
        }

        impl #impl_generics ::core::convert::From<#ident #ty_generics> for u32 #where_clause {
            fn from(value: #ident #ty_generics) -> u32 {
                match value {
                    #( #ident::#idents => #values, )*
                }
            }
        }

        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc = #doc]
            pub const ABI_NAME: &'static str = #abi_name;
        }

        impl #impl_generics #rt::mirror::Mirrors<#rt::mirror::spec::#marker> for #ident #ty_generics #where_clause {}

        #repr
    }
}

#[cfg(test)]
mod tests {
    use super::camel;

    #[test]
    fn camel_case_of_spec_names() {
        assert_eq!(camel("NOT_FOUND"), "NotFound");
        assert_eq!(camel("OK"), "Ok");
        assert_eq!(camel("CAS_MISMATCH"), "CasMismatch");
        assert_eq!(camel("HTTP_REQUEST"), "HttpRequest");
    }
}
