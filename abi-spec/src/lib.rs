//! The Proxy-Wasm ABI as data.
//!
//! A description file (`.abi`) states every function, type and rule of the
//! Proxy-Wasm ABI once, with version gates; this crate parses it, validates
//! it into an IR, and lowers it to exact wasm signatures.
//!
//! - [`diagnostic`]: locations and the errors that point at them.
//! - [`syntax`]: the span-carrying syntax tree the grammar produces.
//! - [`validate`]: checks the tree and builds the IR, collecting every error.
//! - [`ir`]: the validated model, and [`ir::Abi::at`] to materialize a version.
//! - [`lower`]: the one lowering from semantic to wasm signatures.
//! - [`load`]: the front door: [`Description`] loads the standard description
//!   or a file, and [`Abi::version`] finds a version by its text, each with
//!   one error type ([`LoadError`], [`VersionError`]).
//!
//! ```
//! let abi = proxy_wasm_abi_spec::standard();
//! let v = abi.at("0.2.1".parse().unwrap()).unwrap();
//! let log = v.function("proxy_log").unwrap();
//! let sig = proxy_wasm_abi_spec::lower::lower(log);
//! assert_eq!(sig.to_string(), "(i32, i32, i32) -> i32");
//! ```
#![deny(missing_docs)]

pub mod diagnostic;
pub mod ir;
pub mod load;
pub mod lower;
pub mod suggest;
pub mod syntax;
pub mod validate;

pub use diagnostic::{Diagnostic, Diagnostics, Location, Source};
pub use ir::{Abi, AbiVersion, Version};
pub use load::{Description, DescriptionSource, LoadError, VersionError};

/// The path the embedded standard description is reported under.
pub const STANDARD_PATH: &str = "abi-spec/proxy-wasm.abi";

/// The text of the standard Proxy-Wasm description shipped with this crate.
pub const STANDARD_TEXT: &str = include_str!("../proxy-wasm.abi");

/// Parses and validates a description. `path` is only used in messages.
///
/// A description whose header says `extends proxy_wasm 0.2.1;` adds to the
/// standard description at that version: the result holds the standard
/// items of that version and its own, and errors point into its own file.
pub fn parse(path: &str, text: &str) -> Result<Abi, Diagnostics> {
    let source = Source::new(path, text);
    let file = syntax::parse(&source).map_err(|d| Diagnostics(vec![d]))?;
    let base = match &file.header.extends {
        None => None,
        Some((name, version)) => Some(base_of(&source, name, version)?),
    };
    validate::validate(&source, &file, base.as_ref())
}

/// The standard description at the version an extension names.
fn base_of(
    source: &Source,
    name: &syntax::Spanned<String>,
    version: &syntax::Spanned<String>,
) -> Result<Abi, Diagnostics> {
    let error = |span, message: String| Diagnostics(vec![Diagnostic::new(source, span, message)]);
    let standard = parse(STANDARD_PATH, STANDARD_TEXT)?;
    if name.value != standard.name {
        return Err(error(
            name.span,
            format!(
                "unknown base ABI `{}`; descriptions can extend `{}`",
                name.value, standard.name
            ),
        ));
    }
    let parsed = standard
        .declared_version(&version.value)
        .map_err(|e| error(version.span, e.to_string()))?;
    Ok(standard
        .only(parsed)
        .expect("a declared version always materializes"))
}

/// The standard Proxy-Wasm description, parsed.
///
/// The embedded file is checked by this crate's tests, so a failure here is a
/// build of a broken checkout; the panic message carries the full report.
pub fn standard() -> Abi {
    match parse(STANDARD_PATH, STANDARD_TEXT) {
        Ok(abi) => abi,
        Err(errors) => panic!("the embedded standard description is invalid:\n{errors}"),
    }
}
