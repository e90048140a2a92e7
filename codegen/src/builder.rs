//! Generation from a build script, in the manner of prost-build:
//!
//! ```no_run
//! // In build.rs's main:
//! proxy_wasm_abi_codegen::builder::Builder::new()
//!     .version("0.2.1")
//!     .guest()
//!     .generate_or_exit();
//! // In src/lib.rs:
//! // mod abi { include!(concat!(env!("OUT_DIR"), "/proxy_wasm_guest.rs")); }
//! ```
//!
//! The output is the same formatted Rust as `generated/` and the macros.

use std::fmt;
use std::path::{Path, PathBuf};

use proxy_wasm_abi_spec::{Description, DescriptionSource, LoadError, VersionError};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// `proxy_wasm_guest.rs`: bindings for plugins.
    Guest,
    /// `proxy_wasm_host.rs`: wasmtime bindings for hosts.
    Host,
    /// `proxy_wasm_enums.rs`: the enums and the codec only.
    Enums,
}

impl Output {
    fn file_name(self) -> &'static str {
        match self {
            Output::Guest => "proxy_wasm_guest.rs",
            Output::Host => "proxy_wasm_host.rs",
            Output::Enums => "proxy_wasm_enums.rs",
        }
    }
}

/// Configures and runs generation into `OUT_DIR`.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    version: Option<String>,
    outputs: Vec<Output>,
    description: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    runtime: crate::rust::RuntimePath,
}

/// Why generation failed. Its `Display` is the whole report, with
/// file:line:column for errors in a description.
#[derive(Debug)]
pub enum BuildError {
    /// The description file could not be read, or has errors (rendered
    /// with file:line:column).
    Load(LoadError),
    /// The version is not one the description declares.
    Version(VersionError),
    /// No output directory: `OUT_DIR` is unset and none was given.
    NoOutDir,
    /// An emitter failed.
    Emit(String),
    /// Writing an output failed.
    Write(PathBuf, std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Load(error) => write!(f, "{error}"),
            BuildError::Version(error) => write!(f, "error: {error}"),
            BuildError::NoOutDir => {
                f.write_str("error: OUT_DIR is not set; call out_dir(...) outside a build script")
            }
            BuildError::Emit(message) => write!(f, "error: {message}"),
            BuildError::Write(path, e) => write!(f, "error: cannot write {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Load(error) => Some(error),
            BuildError::Version(error) => Some(error),
            BuildError::Write(_, error) => Some(error),
            BuildError::NoOutDir | BuildError::Emit(_) => None,
        }
    }
}

impl Builder {
    /// A builder for the newest version of the standard description, with
    /// no outputs chosen yet (guest bindings if none is chosen).
    pub fn new() -> Self {
        Self::default()
    }

    /// The ABI version to generate, e.g. `"0.2.1"`.
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_string());
        self
    }

    /// Generate guest bindings (`proxy_wasm_guest.rs`).
    pub fn guest(mut self) -> Self {
        self.outputs.push(Output::Guest);
        self
    }

    /// Generate wasmtime host bindings (`proxy_wasm_host.rs`); the crate
    /// must depend on `wasmtime`.
    pub fn host(mut self) -> Self {
        self.outputs.push(Output::Host);
        self
    }

    /// Generate only the enums and the codec (`proxy_wasm_enums.rs`).
    pub fn enums_only(mut self) -> Self {
        self.outputs.push(Output::Enums);
        self
    }

    /// Use this description file instead of the standard one (for example
    /// one that `extends proxy_wasm 0.2.1`).
    pub fn description(mut self, path: impl Into<PathBuf>) -> Self {
        self.description = Some(path.into());
        self
    }

    /// The path the generated code names the runtime crate by (default
    /// `::proxy_wasm_abi`), for an SDK that re-exports the runtime.
    pub fn runtime_path(mut self, path: impl Into<String>) -> Self {
        self.runtime = crate::rust::RuntimePath::new(path);
        self
    }

    /// Write here instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    fn load(&self) -> Result<Description, BuildError> {
        if let Some(path) = &self.description {
            // Cargo reruns the build script when the description changes.
            println!("cargo:rerun-if-changed={}", path.display());
        }
        Description::load(DescriptionSource::file_or_standard(
            self.description.as_deref(),
        ))
        .map_err(BuildError::Load)
    }

    /// Generates the chosen outputs; returns the files written.
    pub fn generate(&self) -> Result<Vec<PathBuf>, BuildError> {
        let Description { abi, name: source } = self.load()?;
        let this = abi
            .version_or_latest(self.version.as_deref())
            .map_err(BuildError::Version)?;
        let dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let outputs = if self.outputs.is_empty() {
            vec![Output::Guest]
        } else {
            self.outputs.clone()
        };
        let mut written = Vec::new();
        for output in outputs {
            let text = match output {
                Output::Guest => crate::guest::file(&this, &source, &self.runtime),
                Output::Host => crate::host::file(&this, &source, &self.runtime),
                Output::Enums => {
                    crate::guest::common_tokens(&this, &self.runtime).and_then(|tokens| {
                        crate::rust::format_file(tokens, &crate::generated_notice(&source))
                    })
                }
            }
            .map_err(BuildError::Emit)?;
            let path = dir.join(output.file_name());
            write_if_changed(&path, &text)?;
            written.push(path);
        }
        Ok(written)
    }

    /// [`generate`](Self::generate), and on failure print the report and
    /// exit the build script with status 1 (no panic, no backtrace).
    pub fn generate_or_exit(&self) -> Vec<PathBuf> {
        match self.generate() {
            Ok(written) => written,
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        }
    }
}

/// Writing only on change keeps the file's mtime, so dependents do not rebuild.
fn write_if_changed(path: &Path, text: &str) -> Result<(), BuildError> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| BuildError::Write(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pwa-builder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_each_chosen_output() {
        let dir = temp("outputs");
        let written = Builder::new()
            .version("0.2.0")
            .guest()
            .host()
            .enums_only()
            .out_dir(&dir)
            .generate()
            .unwrap();
        assert_eq!(written.len(), 3);
        let guest = std::fs::read_to_string(dir.join("proxy_wasm_guest.rs")).unwrap();
        assert!(guest.contains("pub const ABI_VERSION: &str = \"0.2.0\";"));
        assert!(guest.contains("pub trait Callbacks"));
        let enums = std::fs::read_to_string(dir.join("proxy_wasm_enums.rs")).unwrap();
        assert!(enums.contains("pub enum Status") && !enums.contains("pub trait Callbacks"));
        let host = std::fs::read_to_string(dir.join("proxy_wasm_host.rs")).unwrap();
        assert!(host.contains("pub fn add_to_linker"));
    }

    #[test]
    fn description_errors_name_file_line_column() {
        let dir = temp("bad");
        let spec = dir.join("bad.abi");
        std::fs::write(&spec, "abi mine {\n    extends proxy_wasm 0.2.1;\n}\nsection s \"S\" {\n    hostcall f(x: nope);\n}\n").unwrap();
        let error = Builder::new()
            .description(&spec)
            .out_dir(&dir)
            .generate()
            .unwrap_err();
        let report = error.to_string();
        assert!(
            report.contains(&format!("--> {}:5:19", spec.display())),
            "{report}"
        );
        assert!(report.contains("unknown type `nope`"), "{report}");
    }

    #[test]
    fn a_missing_description_names_the_path() {
        let dir = temp("missing");
        let spec = dir.join("missing.abi");
        let error = Builder::new()
            .description(&spec)
            .out_dir(&dir)
            .generate()
            .unwrap_err();
        assert!(matches!(error, BuildError::Load(_)), "{error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("error: cannot read {}: ", spec.display())),
            "{error}"
        );
    }

    #[test]
    fn unknown_versions_are_errors() {
        let error = Builder::new()
            .version("0.9.0")
            .out_dir(temp("version"))
            .generate()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: `proxy_wasm` has no version `0.9.0` (it has `0.1.0`, `0.2.0`, `0.2.1`)"
        );
        let error = Builder::new()
            .version("newest")
            .out_dir(temp("version"))
            .generate()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: `newest` is not a version: expected three numbers like `0.2.1`"
        );
    }
}
