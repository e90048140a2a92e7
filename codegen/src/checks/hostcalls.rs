//! `#[hostcalls(version = "...")]`: an SDK's own `extern "C"` block of host
//! function declarations, checked against the host functions of a version.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use proxy_wasm_abi_spec::ir::{AbiVersion, Function};
use quote::quote;
use syn::{ForeignItem, ForeignItemFn, Item, LitStr};

use super::signature::{self, Emitted, Side};
use super::{Errors, closest, parse_args, skip_value, spec};

/// The import module of functions declared without `#[link(wasm_import_module)]`.
const DEFAULT_MODULE: &str = "env";

const NO_STATICS: &str = "the Proxy-Wasm ABI imports no statics; only host function declarations belong in a `#[hostcalls]` block";

const NOT_A_DECLARATION: &str =
    "only host function declarations can be checked: write each `fn` out in the block";

/// Expands `#[hostcalls(version = "...")]`: checks every declaration in the
/// block and re-emits the block unchanged, except that deprecated host
/// functions get `#[deprecated]` so calls to them warn.
pub fn hostcalls(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let args = parse_args(attr).map_err(|e| errors.add(e)).ok();
    let Item::ForeignMod(mut block) = syn::parse2::<Item>(item)? else {
        errors.at(
            Span::call_site(),
            "`#[hostcalls]` goes on an `extern \"C\" { ... }` block of host function declarations",
        );
        return errors.finish().map(|()| TokenStream::new());
    };
    if let Some(abi) = block.abi.name.as_ref().filter(|name| name.value() != "C") {
        errors.on(
            abi,
            format!("host functions are imported with the C ABI: write `extern \"C\"`, not `extern \"{}\"`", abi.value()),
        );
    }
    let Some(args) = args else {
        return errors.finish().map(|()| TokenStream::new());
    };
    let version = args.version;
    let mut emitted = Emitted::new(args.unsound, args.runtime);
    let module = import_module(&block.attrs);
    let module_name = module
        .as_ref()
        .map_or_else(|| DEFAULT_MODULE.to_string(), LitStr::value);
    if !version
        .host_functions()
        .any(|f| f.module() == Some(module_name.as_str()))
    {
        let known = known_modules(version);
        errors.at(
            module.as_ref().map_or_else(Span::call_site, LitStr::span),
            format!(
                "v{} imports no host functions from module `{module_name}`; its modules are {}",
                version.version,
                known
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
        return errors.finish().map(|()| TokenStream::new());
    }

    for item in &mut block.items {
        match item {
            ForeignItem::Fn(declaration) => {
                let function = check_declaration(
                    declaration,
                    &module_name,
                    version,
                    &mut errors,
                    &mut emitted,
                );
                let attrs = &declaration.attrs;
                if let Some(attr) = function.and_then(|f| deprecation(attrs, f, version)) {
                    declaration.attrs.push(attr);
                }
            }
            // syn keeps Rust 2024's `safe fn` declarations as raw tokens;
            // they are checked as the `fn` they declare and kept as written.
            ForeignItem::Verbatim(tokens) => match without_safe(tokens) {
                Some(declaration) => {
                    let function = check_declaration(
                        &declaration,
                        &module_name,
                        version,
                        &mut errors,
                        &mut emitted,
                    );
                    let attrs = &declaration.attrs;
                    if let Some(attr) = function.and_then(|f| deprecation(attrs, f, version)) {
                        *tokens = quote!(#attr #tokens);
                    }
                }
                None => errors.on(tokens, NOT_A_DECLARATION),
            },
            ForeignItem::Static(item) => errors.on(&item.static_token, NO_STATICS),
            other => errors.on(other, NOT_A_DECLARATION),
        }
    }
    errors.finish()?;
    let items = emitted.into_items();
    Ok(quote!(#block #(#items)*))
}

/// The `wasm_import_module` of `#[link(...)]`, if given. Malformed `link`
/// attributes are left for the compiler to report.
fn import_module(attrs: &[syn::Attribute]) -> Option<LitStr> {
    let mut module = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("link")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("wasm_import_module") {
                module = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                skip_value(&meta)
            }
        });
    }
    module
}

fn known_modules(version: &AbiVersion) -> BTreeSet<&str> {
    version
        .host_functions()
        .filter_map(Function::module)
        .collect()
}

/// Checks one declaration and returns the host function it imports.
fn check_declaration(
    declaration: &ForeignItemFn,
    module: &str,
    version: &'static AbiVersion,
    errors: &mut Errors,
    emitted: &mut Emitted,
) -> Option<&'static Function> {
    // `#[link_name = "..."]` sets the imported name when the Rust name differs.
    let link_name = declaration.attrs.iter().find_map(|attr| match &attr.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("link_name") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    });
    let ident = &declaration.sig.ident;
    let name = link_name
        .as_ref()
        .map_or_else(|| ident.to_string(), LitStr::value);
    let span = signature::name_span(ident, link_name.as_ref());
    let qualified = if module == DEFAULT_MODULE {
        name.clone()
    } else {
        format!("{module}.{name}")
    };
    let function = match version.function(&qualified) {
        Some(f) if f.is_host() => f,
        found => {
            errors.at(
                span,
                unknown_host_function(&name, &qualified, module, found, version),
            );
            return None;
        }
    };
    if let Some(variadic) = &declaration.sig.variadic {
        errors.on(variadic, format!("`{qualified}` is not variadic"));
    }
    signature::check(
        errors,
        emitted,
        &declaration.sig,
        function,
        version.version,
        Side::Import,
    );
    Some(function)
}

/// Why `name` is not a host function of `module` in `version`.
fn unknown_host_function(
    name: &str,
    qualified: &str,
    module: &str,
    found: Option<&Function>,
    version: &AbiVersion,
) -> String {
    let v = version.version;
    if found.is_some() {
        return format!(
            "`{name}` is a callback the plugin exports in v{v}, not a host function; export it from a `#[proxy_wasm_abi_macros::exports]` impl block"
        );
    }
    if let Some(other) = version.host_functions().find(|f| f.name == name) {
        let right = other.module().unwrap_or(DEFAULT_MODULE);
        let fix = if right == DEFAULT_MODULE {
            "a block without `#[link(wasm_import_module = ...)]`".to_string()
        } else {
            format!("a block with `#[link(wasm_import_module = \"{right}\")]`")
        };
        return format!(
            "`{name}` is imported from module `{right}` in v{v}, but this block imports from `{module}`; declare it in {fix}"
        );
    }
    if let Some(elsewhere) = spec().function_elsewhere(v, qualified, true) {
        return format!("`{qualified}` is not in v{v} ({elsewhere})");
    }
    // Suggest by bare name across modules, and show the module when it differs.
    let hint = closest(name, version.host_functions().map(|f| f.name.as_str()))
        .and_then(|c| version.host_functions().find(|f| f.name == c))
        .map_or_else(String::new, |f| {
            format!("; did you mean `{}`?", f.qualified_name())
        });
    format!("no host function `{qualified}` in v{v}{hint}")
}

/// A `safe fn` declaration read as the plain `fn` it declares, or `None` if
/// the tokens are something else.
fn without_safe(tokens: &TokenStream) -> Option<ForeignItemFn> {
    let mut removed = false;
    // Attributes and visibility restrictions are groups, so the first
    // top-level `safe` is the qualifier.
    let plain: TokenStream = tokens
        .clone()
        .into_iter()
        .filter(|token| match token {
            TokenTree::Ident(ident) if !removed && ident == "safe" => {
                removed = true;
                false
            }
            _ => true,
        })
        .collect();
    removed.then(|| syn::parse2(plain).ok()).flatten()
}

/// `#[deprecated]` for a deprecated host function, so the standard warning
/// reaches every call site, unless the SDK already marks the declaration.
fn deprecation(
    attrs: &[syn::Attribute],
    function: &Function,
    version: &AbiVersion,
) -> Option<syn::Attribute> {
    let deprecation = function.deprecated.as_ref()?;
    if attrs.iter().any(|a| a.path().is_ident("deprecated")) {
        return None;
    }
    let since = deprecation
        .since
        .map_or_else(String::new, |s| format!(" since {s}"));
    let instead = deprecation
        .replacement
        .as_ref()
        .map_or_else(String::new, |r| format!("; use `{r}` instead"));
    let note = format!(
        "`{}` is deprecated in Proxy-Wasm ABI v{}{since}{instead}",
        function.qualified_name(),
        version.version
    );
    Some(syn::parse_quote!(#[deprecated(note = #note)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_declarations_read_as_plain_ones() {
        let tokens: TokenStream = quote!(
            #[doc = "safe"]
            pub(crate) safe fn proxy_done() -> u32;
        );
        let declaration = without_safe(&tokens).expect("a safe fn");
        assert_eq!(declaration.sig.ident, "proxy_done");
        assert_eq!(declaration.attrs.len(), 1);
        assert!(without_safe(&quote!(safe static LEVEL: u32;)).is_none());
        assert!(
            without_safe(&quote!(
                type Opaque;
            ))
            .is_none()
        );
    }
}
