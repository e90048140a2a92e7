//! The options of the function-like macros: `{ version: "0.2.1", debug: "out.rs" }`.
//!
//! Unknown and duplicate options are errors spanned on the option's name.

use proc_macro2::{Span, TokenStream};
use proxy_wasm_abi_spec::{Abi, AbiVersion, Description};

use crate::rust::RuntimePath;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token, braced};

/// One `key: "value"` pair.
struct OptionPair {
    key: Ident,
    value: LitStr,
}

impl Parse for OptionPair {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let value: LitStr = input.parse()?;
        Ok(OptionPair { key, value })
    }
}

/// `{ ... }` around the pairs.
struct Braced(Punctuated<OptionPair, Token![,]>);

impl Parse for Braced {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        braced!(content in input);
        Ok(Braced(
            content.parse_terminated(OptionPair::parse, Token![,])?,
        ))
    }
}

/// The options given to a macro, each with the span of its value.
#[derive(Debug, Default)]
pub struct MacroOptions {
    /// `version: "0.2.1"`; the newest version when absent.
    pub version: Option<LitStr>,
    /// `debug: "path.rs"`: also write the formatted expansion there
    /// (relative to the invoking crate's manifest directory).
    pub debug: Option<LitStr>,
    /// `spec: "my-host.abi"`: a description to use instead of the standard
    /// one, e.g. one that extends it (relative to the manifest directory).
    pub spec: Option<LitStr>,
    /// `runtime_path: "::my_sdk::rt"`: the path the expansion names the
    /// runtime crate by (default `::proxy_wasm_abi`).
    pub runtime_path: Option<LitStr>,
}

impl MacroOptions {
    /// Parses `{ key: "value", ... }`, accepting only `allowed` keys.
    pub fn parse(tokens: TokenStream, allowed: &[&str]) -> syn::Result<Self> {
        let pairs = if tokens.is_empty() {
            Punctuated::new()
        } else {
            syn::parse2::<Braced>(tokens)?.0
        };
        let mut options = MacroOptions::default();
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        for pair in pairs {
            let key = pair.key.to_string();
            let slot = match key.as_str() {
                "version" if allowed.contains(&"version") => &mut options.version,
                "debug" if allowed.contains(&"debug") => &mut options.debug,
                "spec" if allowed.contains(&"spec") => &mut options.spec,
                "runtime_path" if allowed.contains(&"runtime_path") => &mut options.runtime_path,
                _ => {
                    push(syn::Error::new(
                        pair.key.span(),
                        format!(
                            "unknown option `{key}`; expected one of: {}",
                            allowed.join(", ")
                        ),
                    ));
                    continue;
                }
            };
            if slot.is_some() {
                push(syn::Error::new(
                    pair.key.span(),
                    format!("option `{key}` is given twice"),
                ));
            } else {
                *slot = Some(pair.value);
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(options),
        }
    }

    /// The version asked for (the newest when absent), materialized; an
    /// error on the literal if the description does not declare it.
    pub fn version_of(&self, abi: &Abi) -> syn::Result<AbiVersion> {
        let span = self
            .version
            .as_ref()
            .map_or_else(Span::call_site, LitStr::span);
        let text = self.version.as_ref().map(LitStr::value);
        abi.version_or_latest(text.as_deref())
            .map_err(|e| syn::Error::new(span, e))
    }

    /// The description to generate from: the standard one, or the `spec`
    /// file (named by the literal's text in messages and generated files).
    /// Errors in that file are reported on the `spec` literal with their
    /// file:line:column.
    pub fn description(&self) -> syn::Result<Description> {
        let Some(lit) = &self.spec else {
            return Ok(Description::standard());
        };
        let path = manifest_dir().join(lit.value());
        Description::from_file_named(&path, lit.value())
            .map_err(|e| syn::Error::new(lit.span(), e.message()))
    }

    /// Tokens that make cargo rebuild the caller when the `spec` file changes.
    pub fn rebuild_trigger(&self) -> TokenStream {
        let Some(lit) = &self.spec else {
            return TokenStream::new();
        };
        let path = manifest_dir().join(lit.value()).display().to_string();
        quote::quote!(
            const _: &[u8] = include_bytes!(#path);
        )
    }

    /// Writes `text` to the `debug` path, if one was given.
    pub fn write_debug(&self, text: &str) -> syn::Result<()> {
        let Some(lit) = &self.debug else {
            return Ok(());
        };
        let path = manifest_dir().join(lit.value());
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)
        };
        write().map_err(|e| {
            syn::Error::new(lit.span(), format!("cannot write {}: {e}", path.display()))
        })
    }
}

/// The directory of the crate invoking the macro.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| ".".into(), std::path::PathBuf::from)
}

type Emitter = fn(&AbiVersion, &RuntimePath) -> Result<TokenStream, String>;
type FileEmitter = fn(&AbiVersion, &str, &RuntimePath) -> Result<String, String>;

/// Shared by the function-like macros: options, version, tokens, debug file.
fn expand(input: TokenStream, tokens: Emitter, file: FileEmitter) -> syn::Result<TokenStream> {
    let options = MacroOptions::parse(input, &["version", "debug", "spec", "runtime_path"])?;
    let Description { abi, name: source } = options.description()?;
    let version = options.version_of(&abi)?;
    let runtime = match &options.runtime_path {
        Some(lit) => {
            let runtime = RuntimePath::new(lit.value());
            runtime
                .tokens()
                .map_err(|message| syn::Error::new(lit.span(), message))?;
            runtime
        }
        None => RuntimePath::default(),
    };
    let expansion =
        tokens(&version, &runtime).map_err(|e| syn::Error::new(Span::call_site(), e))?;
    if options.debug.is_some() {
        let text =
            file(&version, &source, &runtime).map_err(|e| syn::Error::new(Span::call_site(), e))?;
        options.write_debug(&text)?;
    }
    let trigger = options.rebuild_trigger();
    Ok(quote::quote!(#expansion #trigger))
}

/// Expands `guest!({ version: "...", debug: "..." })`.
pub fn expand_guest(input: TokenStream) -> syn::Result<TokenStream> {
    expand(input, crate::guest::tokens, crate::guest::file)
}

/// Expands `host!({ version: "...", debug: "..." })`.
pub fn expand_host(input: TokenStream) -> syn::Result<TokenStream> {
    expand(input, crate::host::tokens, crate::host::file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(tokens: TokenStream) -> MacroOptions {
        MacroOptions::parse(tokens, &["version", "spec"]).expect("valid options")
    }

    #[test]
    fn the_version_is_the_one_asked_for_or_the_newest() {
        let abi = proxy_wasm_abi_spec::standard();
        let newest = options(TokenStream::new()).version_of(&abi).unwrap();
        assert_eq!(Some(newest.version), abi.latest());
        let asked = options(quote::quote!({ version: "0.2.0" }))
            .version_of(&abi)
            .unwrap();
        assert_eq!(asked.version.to_string(), "0.2.0");
        let undeclared = options(quote::quote!({ version: "0.3.0" }))
            .version_of(&abi)
            .unwrap_err();
        assert_eq!(
            undeclared.to_string(),
            "`proxy_wasm` has no version `0.3.0` (it has `0.1.0`, `0.2.0`, `0.2.1`)"
        );
    }

    #[test]
    fn spec_errors_are_the_loaders_report_without_its_prefix() {
        let dir = std::env::temp_dir().join(format!("pwa-options-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = dir.join("bad.abi");
        std::fs::write(
            &spec,
            "abi mine {\n    versions 1.0.0;\n}\nsection s \"S\" {\n    hostcall f(x: u33);\n}\n",
        )
        .unwrap();
        // An absolute `spec` stays as given when joined to the manifest dir.
        let literal = spec.display().to_string();
        let error = options(quote::quote!({ spec: #literal }))
            .description()
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("unknown type `u33`"), "{error}");
        assert!(error.contains(&format!("--> {literal}:5:19")), "{error}");

        let missing = dir.join("missing.abi").display().to_string();
        let error = options(quote::quote!({ spec: #missing }))
            .description()
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("cannot read {missing}: ")),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
