//! Shared helpers for the cross-crate tests.
//!
//! - [`workspace_root`]: where the workspace lives.
//! - [`build_plugin`]: builds a plugin crate under `tests/plugins/` for
//!   `wasm32-wasip1` and returns its `.wasm`.
//! - [`check_module`]: reads a compiled module's imports and exports and
//!   checks them against the ABI description of the version it declares.
//! - [`fuzz_targets`]: the bodies of the fuzz targets in `tests/fuzz/`.
//! - [`HOSTILE_WAT`]: a plugin that loops, recurses, grows or returns
//!   nonsense on request.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use proxy_wasm_abi_spec::{Abi, Version};

pub mod fuzz_targets;

/// A v0.2.1 plugin whose `proxy_on_request_headers` misbehaves by the
/// number of request headers: 1 loops forever, 2 recurses without end, 4
/// grows its memory a MiB at a time until refused, 5 returns 7 (no
/// `proxy_action_t`); any other count continues. `tests/hostile.rs` and
/// `tests/soak.rs` run it.
pub const HOSTILE_WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func $recurse (param i32) (result i32)
    (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $end i32) (result i32)
    (if (i32.eq (local.get $n) (i32.const 1))
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $n) (i32.const 2))
      (then (return (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $n) (i32.const 4))
      (then (loop $grow
        (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))))
    (if (i32.eq (local.get $n) (i32.const 5))
      (then (return (i32.const 7))))
    i32.const 0)
)
"#;

/// A small deterministic generator (xorshift64*), so that a test's random
/// inputs, and its failures, reproduce.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n.max(1)).unwrap_or(u64::MAX)).unwrap_or(0)
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

// ---------------------------------------------------------------------------
// Building plugins
// ---------------------------------------------------------------------------

/// The target plugins are compiled for.
pub const PLUGIN_TARGET: &str = build::TARGET;

use proxy_wasm_abi_tools::runner::build;

/// Where plugins are built: a target directory of its own, so that a plugin
/// build never waits for the lock the outer `cargo test` holds on `target/`.
pub fn plugin_target_dir() -> PathBuf {
    workspace_root().join("target").join("plugins")
}

/// Builds the plugin crate `tests/plugins/<name>` in release mode for
/// `wasm32-wasip1` and returns the path of its `.wasm`.
///
/// - The target is installed first if `rustup target list --installed` does
///   not list it (`rustup target add wasm32-wasip1`); if that fails the call
///   panics with one line saying how to install it. (Without rustup, a
///   toolchain whose sysroot has the target is accepted as is.)
/// - The build is `cargo build --release --locked --target wasm32-wasip1
///   --manifest-path tests/plugins/<name>/Cargo.toml --target-dir
///   target/plugins`, run from the plugin's directory so that the workspace's
///   `rust-toolchain.toml` applies. Each plugin is its own workspace with a
///   committed `Cargo.lock`, hence `--locked`. `RUSTFLAGS` meant for the host
///   build (coverage instrumentation, say) are not passed on. A failed build
///   panics with cargo's stderr.
/// - Every plugin is built at most once per test process: concurrent callers
///   for the same plugin wait for the one build, and later callers get the
///   path straight away. (Cargo itself makes a rebuild with nothing changed
///   cheap, so separate test processes may each call it.)
///
/// Conventions for a plugin crate: its directory name is its package name, it
/// is a `cdylib`, and its `Cargo.toml` has an empty `[workspace]` table (the
/// main workspace excludes `tests/plugins`).
pub fn build_plugin(name: &str) -> PathBuf {
    static BUILDS: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let slot = {
        let mut builds = BUILDS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(builds.entry(name.to_string()).or_default())
    };
    // A build that panics leaves the slot empty: the next caller retries and
    // reports the failure again instead of seeing a poisoned lock.
    slot.get_or_init(|| run_plugin_build(name)).clone()
}

/// Installs the plugin target once per process, or panics saying how to
/// (what [`build_plugin`] does first; public for tests that run cargo on a
/// plugin themselves).
pub fn ensure_plugin_target() {
    if let Err(why) = build::ensure_target(&workspace_root()) {
        panic!("{why}");
    }
}

/// Runs the cargo build of one plugin; see [`build_plugin`].
fn run_plugin_build(name: &str) -> PathBuf {
    let wasm = cargo_build_plugins(name, false).join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        wasm.is_file(),
        "plugin `{name}` built but {} does not exist; is it a cdylib named `{name}`?",
        wasm.display()
    );
    wasm
}

/// Builds `tests/plugins/<dir_name>` (one crate, or with `whole_workspace`
/// every member) for wasm32-wasip1 in release, locked, into the plugin target
/// dir, and returns the directory holding the .wasm files. Panics with
/// cargo's output (and how to refresh a stale lock file) on failure.
fn cargo_build_plugins(dir_name: &str, whole_workspace: bool) -> PathBuf {
    let dir = workspace_root()
        .join("tests")
        .join("plugins")
        .join(dir_name);
    let manifest = dir.join("Cargo.toml");
    assert!(
        manifest.is_file(),
        "no plugin crate or workspace `{dir_name}`: {} does not exist",
        manifest.display()
    );
    eprintln!("building plugin `{dir_name}` for {PLUGIN_TARGET}");
    let started = std::time::Instant::now();
    let mut extra = vec!["--locked"];
    if whole_workspace {
        extra.push("--workspace");
    }
    let built =
        build::cargo_build(&manifest, &plugin_target_dir(), &extra).unwrap_or_else(|error| {
            let hint = if error.contains("--locked") {
                format!(
                    "\nhint: the Cargo.lock is out of date; refresh it with \
                 `cargo fetch --manifest-path tests/plugins/{dir_name}/Cargo.toml` and commit it"
                )
            } else {
                String::new()
            };
            panic!("building plugin `{dir_name}` failed: {error}{hint}")
        });
    eprintln!(
        "built plugin `{dir_name}` in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    built
}

// ---------------------------------------------------------------------------
// Checking modules against the description
// ---------------------------------------------------------------------------

// The module reader and its types are the linter's: one reading of wasm
// for the CLI and the tests.
use proxy_wasm_abi_tools::lint::read_module;
pub use proxy_wasm_abi_tools::lint::{Export, FuncSig, Import, Kind};

/// A way a module disagrees with the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The module is not valid WebAssembly.
    Invalid(String),
    /// No `proxy_abi_version_X_Y_Z` export, so no version to check against.
    NoVersionMarker,
    /// More than one version marker; a host picks one, so a module must
    /// export exactly the marker of the version it was built for.
    SeveralVersionMarkers(Vec<Version>),
    /// A version marker names a version the description does not declare.
    UnknownVersion(String),
    /// A function import the description does not define for `version`.
    UndefinedImport {
        /// The version checked against.
        version: Version,
        /// The import.
        import: Import,
    },
    /// A host function imported with a type other than the description's.
    ImportSignature {
        /// The version checked against.
        version: Version,
        /// The import, with the module's type.
        import: Import,
        /// The description's type.
        expected: FuncSig,
    },
    /// An import that is not a function: the ABI defines none.
    NonFunctionImport(Import),
    /// A callback exported with a type other than the description's.
    CallbackSignature {
        /// The version checked against.
        version: Version,
        /// The export name.
        name: String,
        /// The module's type.
        found: FuncSig,
        /// The description's type.
        expected: FuncSig,
    },
    /// A callback name exported as something other than a function.
    CallbackNotFunction(Export),
    /// No exported memory named `memory`: the host cannot read or write the
    /// plugin's memory.
    MemoryNotExported,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Invalid(why) => write!(f, "the module is not valid wasm: {why}"),
            Problem::NoVersionMarker => f.write_str("no proxy_abi_version_X_Y_Z export"),
            Problem::SeveralVersionMarkers(versions) => {
                let list: Vec<String> = versions.iter().map(Version::to_string).collect();
                write!(
                    f,
                    "several version markers ({}); export exactly one",
                    list.join(", ")
                )
            }
            Problem::UnknownVersion(marker) => {
                write!(
                    f,
                    "`{marker}` names a version the description does not declare"
                )
            }
            Problem::UndefinedImport { version, import } => {
                write!(
                    f,
                    "{version}: imports {import}, which {version} does not define"
                )
            }
            Problem::ImportSignature {
                version,
                import,
                expected,
            } => write!(
                f,
                "{version}: imports {import}, but {version} defines it as {expected}"
            ),
            Problem::NonFunctionImport(import) => {
                write!(f, "imports {import}; the ABI defines no such import")
            }
            Problem::CallbackSignature {
                version,
                name,
                found,
                expected,
            } => write!(
                f,
                "{version}: exports {name} as {found}, but {version} defines it as {expected}"
            ),
            Problem::CallbackNotFunction(export) => {
                write!(
                    f,
                    "exports {export}, but the ABI defines a function of that name"
                )
            }
            Problem::MemoryNotExported => f.write_str("no memory exported as `memory`"),
        }
    }
}

/// What [`check_module`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every import, in module order.
    pub imports: Vec<Import>,
    /// Every export, in module order.
    pub exports: Vec<Export>,
    /// The versions declared by `proxy_abi_version_X_Y_Z` exports that the
    /// description knows, oldest first. Everything was checked against each.
    pub versions: Vec<Version>,
    /// Whether a memory is exported as `memory`.
    pub memory_exported: bool,
    /// Exports the description does not define for any declared version
    /// (neither a callback, a version marker nor `memory`). Not errors: a
    /// host never calls them.
    pub undefined_exports: Vec<Export>,
    /// Imports of host functions the description deprecates at a declared
    /// version, each with its replacement if it names one. Not errors.
    pub deprecated_imports: Vec<(Import, Option<String>)>,
    /// Disagreements with the description; empty when the module conforms.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the module conforms to the description.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Panics listing every problem, unless there are none.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(
            self.is_ok(),
            "the module disagrees with the description:\n{self}"
        );
    }

    /// The function imports, as qualified names (`proxy_log`,
    /// `wasi_snapshot_preview1.fd_write`), sorted.
    pub fn function_imports(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .imports
            .iter()
            .filter(|i| matches!(i.kind, Kind::Func(_)))
            .map(Import::qualified_name)
            .collect();
        names.sort();
        names
    }

    /// The function exports, sorted.
    pub fn function_exports(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .exports
            .iter()
            .filter(|e| matches!(e.kind, Kind::Func(_)))
            .map(|e| e.name.clone())
            .collect();
        names.sort();
        names
    }

    /// The export named `name`, if any.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }
}

impl fmt::Display for Report {
    /// A multi-line summary: versions, imports, exports, problems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<String> = self.versions.iter().map(Version::to_string).collect();
        writeln!(f, "declared versions: {}", versions.join(", "))?;
        writeln!(f, "imports ({}):", self.imports.len())?;
        for import in &self.imports {
            let deprecated = self.deprecated_imports.iter().find(|(i, _)| i == import);
            match deprecated {
                Some((_, Some(replacement))) => {
                    writeln!(f, "  {import}  (deprecated: use {replacement})")?
                }
                Some((_, None)) => writeln!(f, "  {import}  (deprecated)")?,
                None => writeln!(f, "  {import}")?,
            }
        }
        writeln!(f, "exports ({}):", self.exports.len())?;
        for export in &self.exports {
            let note = if self.undefined_exports.contains(export) {
                "  (not defined by the description)"
            } else {
                ""
            };
            writeln!(f, "  {export}{note}")?;
        }
        if self.problems.is_empty() {
            writeln!(f, "problems: none")
        } else {
            writeln!(f, "problems ({}):", self.problems.len())?;
            for problem in &self.problems {
                writeln!(f, "  {problem}")?;
            }
            Ok(())
        }
    }
}

/// Checks a compiled plugin against the standard description; see
/// [`check_module_against`].
pub fn check_module(wasm: &[u8]) -> Report {
    check_module_against(&proxy_wasm_abi_spec::standard(), wasm)
}

/// Reads a compiled plugin's imports and exports and checks them against
/// `abi` at every version the module declares with a
/// `proxy_abi_version_X_Y_Z` export:
///
/// - every function import must be a host function of that version, from
///   the same module, with the identical wasm type (from
///   [`proxy_wasm_abi_spec::lower::lower`]); non-function imports are errors;
/// - every export named like a callback of that version must be a function
///   of the identical type (callbacks are optional, so a missing one is fine);
/// - a memory must be exported as `memory`;
/// - exactly one version marker is expected.
///
/// Exports the description does not define are listed in
/// [`Report::undefined_exports`], not counted as problems.
pub fn check_module_against(abi: &Abi, wasm: &[u8]) -> Report {
    let mut report = Report::default();
    if let Err(error) = wasmparser::Validator::new().validate_all(wasm) {
        report.problems.push(Problem::Invalid(error.to_string()));
    }
    match read_module(wasm) {
        Ok((imports, exports)) => {
            report.imports = imports;
            report.exports = exports;
        }
        Err(error) => {
            report.problems.push(Problem::Invalid(error.to_string()));
            return report;
        }
    }

    report.memory_exported = report
        .exports
        .iter()
        .any(|e| e.name == "memory" && e.kind == Kind::Memory);
    if !report.memory_exported {
        report.problems.push(Problem::MemoryNotExported);
    }

    for export in &report.exports {
        let Some(suffix) = export.name.strip_prefix("proxy_abi_version_") else {
            continue;
        };
        let declared = suffix
            .replace('_', ".")
            .parse::<Version>()
            .ok()
            .filter(|v| abi.versions.contains(v));
        match declared {
            Some(version) => report.versions.push(version),
            None => report
                .problems
                .push(Problem::UnknownVersion(export.name.clone())),
        }
    }
    report.versions.sort();
    report.versions.dedup();
    match report.versions.len() {
        0 if !report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::UnknownVersion(_))) =>
        {
            report.problems.push(Problem::NoVersionMarker);
        }
        0 | 1 => {}
        _ => report
            .problems
            .push(Problem::SeveralVersionMarkers(report.versions.clone())),
    }

    for import in &report.imports {
        if !matches!(import.kind, Kind::Func(_)) {
            report
                .problems
                .push(Problem::NonFunctionImport(import.clone()));
        }
    }

    // Names every declared version defines as an export, to find the rest.
    let mut defined_exports = vec!["memory".to_string()];
    for &version in &report.versions {
        let Some(at) = abi.at(version) else { continue };
        let hosts: BTreeMap<(&str, &str), &proxy_wasm_abi_spec::ir::Function> = at
            .host_functions()
            .filter_map(|f| Some(((f.module()?, f.name.as_str()), f)))
            .collect();
        for import in &report.imports {
            let Kind::Func(found) = &import.kind else {
                continue;
            };
            match hosts.get(&(import.module.as_str(), import.name.as_str())) {
                None => report.problems.push(Problem::UndefinedImport {
                    version,
                    import: import.clone(),
                }),
                Some(function) => {
                    if let Some(deprecation) = &function.deprecated {
                        let entry = (import.clone(), deprecation.replacement.clone());
                        if !report.deprecated_imports.contains(&entry) {
                            report.deprecated_imports.push(entry);
                        }
                    }
                    let expected = FuncSig::of(function);
                    if *found != expected {
                        report.problems.push(Problem::ImportSignature {
                            version,
                            import: import.clone(),
                            expected,
                        });
                    }
                }
            }
        }
        for callback in at.callbacks() {
            defined_exports.push(callback.name.clone());
            let Some(export) = report.export(&callback.name) else {
                continue;
            };
            let expected = FuncSig::of(callback);
            match &export.kind {
                Kind::Func(found) if *found == expected => {}
                Kind::Func(found) => report.problems.push(Problem::CallbackSignature {
                    version,
                    name: export.name.clone(),
                    found: found.clone(),
                    expected,
                }),
                _ => report
                    .problems
                    .push(Problem::CallbackNotFunction(export.clone())),
            }
        }
    }
    report.undefined_exports = report
        .exports
        .iter()
        .filter(|e| !defined_exports.contains(&e.name))
        .filter(|e| !e.name.starts_with("proxy_abi_version_"))
        .cloned()
        .collect();
    report
}

// ---------------------------------------------------------------------------
// Building plugin workspaces
// ---------------------------------------------------------------------------

/// Builds every member of the plugin workspace `tests/plugins/<workspace>`
/// and returns the `.wasm` of its member package `crate_name`.
///
/// The same conventions as [`build_plugin`] apply (release, `--locked`,
/// `wasm32-wasip1`, `target/plugins`, host `RUSTFLAGS` dropped, the target
/// installed first), except that the manifest is a workspace of several
/// `cdylib` members sharing one `Cargo.lock`: the whole workspace is built in
/// one cargo invocation (`--workspace`), so shared dependencies such as the
/// SDK compile once, and at most once per test process whichever member is
/// asked for first.
pub fn build_workspace_plugin(workspace: &str, crate_name: &str) -> PathBuf {
    static BUILDS: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let slot = {
        let mut builds = BUILDS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(builds.entry(workspace.to_string()).or_default())
    };
    let out_dir = slot.get_or_init(|| run_workspace_build(workspace)).clone();
    let wasm = out_dir.join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(
        wasm.is_file(),
        "workspace `{workspace}` built but {} does not exist; is `{crate_name}` a cdylib member of it?",
        wasm.display()
    );
    wasm
}

/// Runs the cargo build of a plugin workspace and returns the directory
/// holding its `.wasm` files; see [`build_workspace_plugin`].
fn run_workspace_build(workspace: &str) -> PathBuf {
    cargo_build_plugins(workspace, true)
}

/// Releases of the official SDK (`proxy-wasm` on crates.io) whose shipped
/// examples the tests build, each with the ABI version its plugins declare:
/// the last release for ABI 0.1.0 and the first of the 0.2 line.
pub const SDK_RELEASES: [(&str, &str); 2] = [("0.1.4", "0.1.0"), ("0.2.0", "0.2.1")];

/// The examples both of those releases ship.
pub const SDK_EXAMPLES: [&str; 5] = [
    "hello_world",
    "http_headers",
    "http_auth_random",
    "http_body",
    "http_config",
];

/// Builds the example plugins that the crates.io package `package` at exactly
/// `version` ships (for `proxy-wasm`, its `examples/`), as their authors
/// published them, and returns the directory holding their `.wasm` files
/// (`<example>.wasm`).
///
/// - The package is resolved and downloaded through `cargo metadata` on a
///   throwaway crate that depends on `package = "=version"`, then its
///   sources are copied to `target/published/<package>-<version>`, so the
///   registry's copy is never built in.
/// - The copy gets an empty `[workspace]` table (it sits inside this
///   workspace's directory) and nothing else; it is built with its own
///   `Cargo.lock`, `--locked`, with `cargo build --release --examples
///   --target wasm32-wasip1` into a target dir of its own, so that two
///   releases' examples of the same name do not overwrite each other.
/// - Like [`build_plugin`]: the target is installed first, host `RUSTFLAGS`
///   are dropped, a failure panics with cargo's output, and each package is
///   built at most once per test process.
pub fn build_published_examples(package: &str, version: &str) -> PathBuf {
    static BUILDS: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let key = format!("{package}-{version}");
    let slot = {
        let mut builds = BUILDS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(builds.entry(key).or_default())
    };
    slot.get_or_init(|| run_published_build(package, version))
        .clone()
}

fn run_published_build(package: &str, version: &str) -> PathBuf {
    ensure_plugin_target();
    let root = workspace_root()
        .join("target")
        .join("published")
        .join(format!("{package}-{version}"));
    let sources = published_sources(package, version, &root.join("fetch"));
    let copy = root.join("package");
    if copy.exists() {
        std::fs::remove_dir_all(&copy)
            .unwrap_or_else(|e| panic!("cannot remove {}: {e}", copy.display()));
    }
    copy_dir(&sources, &copy);
    let manifest = copy.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    text.push_str("\n[workspace]\n");
    write_file(&manifest, &text);

    let target_dir = plugin_target_dir().join(format!("published-{package}-{version}"));
    eprintln!("building the examples of {package} {version} for {PLUGIN_TARGET}");
    build::cargo_build(&manifest, &target_dir, &["--locked", "--examples"])
        .unwrap_or_else(|error| panic!("building the examples of {package} {version}: {error}"))
        .join("examples")
}

/// The unpacked sources of `package` `version` from crates.io, found by
/// `cargo metadata` on a crate at `dir` that depends on exactly it (cargo
/// downloads the package into its registry cache if it is not there yet).
/// The directory is cargo's own copy: copy it before changing or building
/// anything in it.
pub fn published_sources(package: &str, version: &str, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("src"))
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    write_file(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\n{package} = \"={version}\"\n\n[workspace]\n"
        ),
    );
    write_file(&dir.join("src").join("lib.rs"), "");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", Path::new(&cargo).display()));
    assert!(
        output.status.success(),
        "cannot fetch {package} {version} from crates.io ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == package && p["version"] == version)
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| panic!("cargo metadata does not list {package} {version}"));
    Path::new(manifest)
        .parent()
        .expect("a manifest is in a directory")
        .to_path_buf()
}

fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_dir(&source, &target);
        } else {
            std::fs::copy(&source, &target)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", source.display()));
        }
    }
}

// ---------------------------------------------------------------------------
// Inputs the plugin tests share
// ---------------------------------------------------------------------------

/// Owned header pairs from text.
pub fn pairs(list: &[(&str, &str)]) -> proxy_wasm_abi_tools::runner::reference::Pairs {
    list.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// The request and response the header-filter plugins are run with (the
/// `sdk-headers` fixture and its typed-layer twin `typed-headers`).
pub fn header_input() -> proxy_wasm_abi_tools::runner::Input {
    proxy_wasm_abi_tools::runner::Input {
        request_headers: pairs(&[
            (":method", "GET"),
            (":path", "/items"),
            (":authority", "example.com"),
            ("user-agent", "curl/8.5"),
            ("x-debug-token", "s3cr3t"),
        ]),
        response_headers: pairs(&[
            (":status", "200"),
            ("server", "nginx"),
            ("x-powered-by", "php"),
            ("content-type", "text/plain"),
        ]),
        ..proxy_wasm_abi_tools::runner::Input::default()
    }
}
