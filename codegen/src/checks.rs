//! Compile-time checks of an SDK's own hand-written bindings against the
//! description, behind the `proxy-wasm-abi-macros` proc-macros.
//!
//! Each entry point takes the macro's tokens and returns the expansion, or
//! every problem found at once as one combined [`syn::Error`] whose parts are
//! spanned on the offending tokens:
//!
//! - [`abi_enum`]: `#[derive(AbiEnum)]` on an SDK's own fieldless enum.
//! - [`hostcalls`]: `#[hostcalls(version = "...")]` on an `extern "C"` block.
//! - [`exports`]: `#[exports(version = "...")]` on an inherent `impl` block of
//!   callbacks.
//!
//! The checks are syntactic: `u32` is taken to mean the primitive, and
//! `usize`/`isize` to be 32 bits wide as on `wasm32`.

mod abi_enum;
mod exports;
mod hostcalls;
mod signature;

use std::fmt::Display;
use std::sync::OnceLock;

use proc_macro2::{Span, TokenStream};
use proxy_wasm_abi_spec::ir::{Abi, AbiVersion, Version};
use quote::ToTokens;
use syn::LitStr;

pub use abi_enum::abi_enum;
pub use exports::exports;
pub use hostcalls::hostcalls;
pub use signature::{RustWasm, rust_wasm_type};

/// The standard description with every version materialized once per
/// compiler process, since every macro invocation consults it.
struct Spec {
    abi: Abi,
    versions: Vec<AbiVersion>,
}

impl Spec {
    fn at(&self, version: Version) -> Option<&AbiVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The declared versions, for messages: `0.1.0, 0.2.0, 0.2.1`.
    fn declared(&self) -> String {
        list(self.abi.versions.iter(), ", ")
    }

    /// Where else an item exists when it is missing from `version`, e.g.
    /// `added in 0.2.1` or `removed in 0.2.0`; `None` if it exists nowhere.
    fn elsewhere(&self, version: Version, present: impl Fn(&AbiVersion) -> bool) -> Option<String> {
        let found: Vec<Version> = self
            .versions
            .iter()
            .filter(|v| present(v))
            .map(|v| v.version)
            .collect();
        let (first, last) = (*found.first()?, *found.last()?);
        if first > version {
            Some(format!("added in {first}"))
        } else if last < version {
            // The first declared version after the last one that has it.
            let removed = self.abi.versions.iter().find(|v| **v > last).copied();
            Some(removed.map_or_else(
                || format!("only in {}", list(found.iter(), ", ")),
                |r| format!("removed in {r}"),
            ))
        } else {
            Some(format!("only in {}", list(found.iter(), ", ")))
        }
    }

    /// Where else a function missing from `version` exists on the same side
    /// (host function or callback), as [`Spec::elsewhere`] says it.
    fn function_elsewhere(&self, version: Version, qualified: &str, host: bool) -> Option<String> {
        self.elsewhere(version, |v| {
            v.function(qualified).is_some_and(|f| f.is_host() == host)
        })
    }
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let abi = proxy_wasm_abi_spec::standard();
        let versions = abi.versions.iter().filter_map(|v| abi.at(*v)).collect();
        Spec { abi, versions }
    })
}

/// Collects errors so a user sees every problem in one build.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// An error at one token.
    fn at(&mut self, span: Span, message: impl Display) {
        self.add(syn::Error::new(span, message));
    }

    /// An error covering everything `tokens` spans, e.g. a whole type.
    fn on(&mut self, tokens: &dyn ToTokens, message: impl Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// `a, b, c` from anything displayable.
fn list<T: Display>(items: impl IntoIterator<Item = T>, separator: &str) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

/// Parses a `version = "0.2.1"` value and resolves it against the
/// description; errors are on the literal.
fn resolve_version(literal: &LitStr) -> syn::Result<&'static AbiVersion> {
    let spec = spec();
    let version = spec
        .abi
        .declared_version(&literal.value())
        .map_err(|e| syn::Error::new(literal.span(), e))?;
    Ok(spec
        .at(version)
        .expect("every declared version is materialized"))
}

/// What `#[hostcalls]` and `#[exports]` do with a shape that is undefined
/// behaviour as soon as the host sends a value the SDK's enum has no variant
/// for (an enum result, an enum out-pointer, an enum callback parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Unsound {
    /// Fail the build (the default).
    #[default]
    Error,
    /// Report each one as a warning, so an SDK can adopt the checks first
    /// and fix these one by one; every other check still fails the build.
    Warn,
}

/// Arguments of `#[hostcalls(...)]` and `#[exports(...)]`.
struct Args {
    version: &'static AbiVersion,
    unsound: Unsound,
    /// Where the expansion finds the runtime crate's `mirror` module.
    runtime: syn::Path,
}

/// The runtime crate's path from a `runtime_path = "::my_sdk::rt"` literal
/// (for an SDK that re-exports the crate), or `::proxy_wasm_abi`.
fn runtime_path(literal: Option<&LitStr>, errors: &mut Errors) -> syn::Path {
    let default = || syn::parse_quote!(::proxy_wasm_abi);
    let Some(literal) = literal else {
        return default();
    };
    literal.parse::<syn::Path>().unwrap_or_else(|e| {
        errors.on(
            literal,
            format!("`runtime_path` must be a Rust path such as `::my_sdk::abi_runtime`: {e}"),
        );
        default()
    })
}

/// Parses `version = "0.2.1"` and the optional `unsound = "warn"` and
/// `runtime_path = "..."`.
fn parse_args(attr: TokenStream) -> syn::Result<Args> {
    let mut errors = Errors::default();
    let mut version: Option<LitStr> = None;
    let mut unsound: Option<LitStr> = None;
    let mut runtime: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        let slot = if meta.path.is_ident("version") {
            &mut version
        } else if meta.path.is_ident("unsound") {
            &mut unsound
        } else if meta.path.is_ident("runtime_path") {
            &mut runtime
        } else {
            errors.on(
                &meta.path,
                format!(
                    "unknown key `{}`; the keys are `version`, e.g. `version = \"0.2.1\"`, `unsound = \"warn\"` and `runtime_path`",
                    meta.path.to_token_stream()
                ),
            );
            return skip_value(&meta);
        };
        set_once(slot, &meta, &mut errors)
    });
    syn::parse::Parser::parse2(parser, attr)?;
    let unsound = match unsound.as_ref().map(LitStr::value).as_deref() {
        None | Some("error") => Unsound::Error,
        Some("warn") => Unsound::Warn,
        Some(other) => {
            errors.on(
                &unsound,
                format!("`unsound = \"{other}\"` is not a mode: write `\"warn\"` to report undefined behaviour as warnings, or `\"error\"` (the default)"),
            );
            Unsound::Error
        }
    };
    let runtime = runtime_path(runtime.as_ref(), &mut errors);
    let resolved = match &version {
        Some(literal) => resolve_version(literal).map_err(|e| errors.add(e)).ok(),
        None => {
            errors.at(
                Span::call_site(),
                format!("missing `version = \"...\"`: one of {}", spec().declared()),
            );
            None
        }
    };
    errors.finish()?;
    // No errors means the version was given and resolved.
    let version =
        resolved.ok_or_else(|| syn::Error::new(Span::call_site(), "missing `version`"))?;
    Ok(Args {
        version,
        unsound,
        runtime,
    })
}

/// Reads a key's string value into `slot`, or reports the key as given
/// twice (keeping the first value).
fn set_once(
    slot: &mut Option<LitStr>,
    meta: &syn::meta::ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    let value: LitStr = meta.value()?.parse()?;
    if slot.is_some() {
        errors.on(
            &meta.path,
            format!("duplicate key `{}`", meta.path.to_token_stream()),
        );
    } else {
        *slot = Some(value);
    }
    Ok(())
}

/// Consumes the value of a key the caller does not know, so parsing goes on
/// and later keys are still checked.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

pub use proxy_wasm_abi_spec::suggest::{closest, edit_distance, normalized};

/// `; did you mean `x`?` or nothing.
fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates).map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("proxy_log", "proxy_log"), 0);
        assert_eq!(edit_distance("proxy_logg", "proxy_log"), 1);
        assert_eq!(edit_distance("proxy_lgo", "proxy_log"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_ignores_case_and_underscores() {
        let enums = ["proxy_status_t", "proxy_log_level_t", "proxy_action_t"];
        assert_eq!(closest("proxy_status", enums), Some("proxy_status_t"));
        assert_eq!(closest("ProxyStatusT", enums), Some("proxy_status_t"));
        assert_eq!(
            closest("proxy_log_levl_t", enums),
            Some("proxy_log_level_t")
        );
        assert_eq!(closest("NotFund", ["NOT_FOUND", "OK"]), Some("NOT_FOUND"));
        assert_eq!(closest("OKAY", ["NOT_FOUND", "OK"]), Some("OK"));
    }

    #[test]
    fn closest_rejects_distant_names() {
        assert_eq!(closest("helper", ["proxy_on_tick", "proxy_on_log"]), None);
        assert_eq!(closest("x", ["OK", "EMPTY"]), None);
        assert_eq!(closest("Stop", ["CONTINUE", "PAUSE"]), None);
        assert_eq!(closest("anything", []), None);
    }

    #[test]
    fn closest_prefers_the_nearest_candidate() {
        let callbacks = ["proxy_on_request_headers", "proxy_on_response_headers"];
        assert_eq!(
            closest("proxy_on_request_header", callbacks),
            Some("proxy_on_request_headers")
        );
        assert_eq!(
            closest("proxy_on_respons_headers", callbacks),
            Some("proxy_on_response_headers")
        );
    }

    #[test]
    fn elsewhere_says_when_a_function_was_added_or_removed() {
        let spec = spec();
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(
            spec.function_elsewhere(v("0.2.0"), "proxy_get_log_level", true),
            Some("added in 0.2.1".to_string())
        );
        assert_eq!(
            spec.function_elsewhere(v("0.2.1"), "proxy_get_configuration", true),
            Some("removed in 0.2.0".to_string())
        );
        assert_eq!(
            spec.function_elsewhere(v("0.2.1"), "proxy_nothing", true),
            None
        );
        // A host function is not "elsewhere" for a callback lookup.
        assert_eq!(
            spec.function_elsewhere(v("0.2.0"), "proxy_get_log_level", false),
            None
        );
    }
}
