//! The plugin linter: a compiled plugin's imports and exports against the
//! description.
//!
//! [`lint`] reads a module with `wasmparser` and reports
//!
//! - the ABI versions it declares (its `proxy_abi_version_X_Y_Z` exports) and
//!   the versions it can run under, judged from its imports and exports alone
//!   (every function import defined with the identical wasm signature, every
//!   exported callback with the right one);
//! - against one chosen version (the requested one; else the one declared;
//!   else the newest it can run under; else the newest), every finding:
//!   undefined imports with the closest defined name, signature mismatches,
//!   missing required exports (`memory`, an allocator) as errors; deprecated
//!   usage as warnings; exports the description does not define as notes.
//!
//! Signatures come from [`proxy_wasm_abi_spec::lower::lower`], never re-derived.

use std::fmt;

use proxy_wasm_abi_spec::ir::Function;
use proxy_wasm_abi_spec::lower::lower;
use proxy_wasm_abi_spec::{Abi, AbiVersion, Version, VersionError};

/// The allocator export hosts call first.
pub const ALLOCATOR: &str = "proxy_on_memory_allocate";
/// The older allocator name, used only when [`ALLOCATOR`] is absent.
pub const LEGACY_ALLOCATOR: &str = "malloc";

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The plugin does not conform: exit status 1.
    Error,
    /// Works, but relies on something deprecated.
    Warning,
    /// Information only, e.g. an implementation-specific export.
    Note,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn keyword(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// What kind of finding it is; the `code` in both renderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// No `proxy_abi_version_X_Y_Z` export.
    NoMarker,
    /// More than one version marker.
    SeveralMarkers,
    /// A marker naming a version the description does not declare.
    UnknownMarker,
    /// The checked version is not the one the marker declares.
    MarkerMismatch,
    /// A function import the checked version does not define.
    UndefinedImport,
    /// A host function imported with the wrong wasm type.
    ImportSignature,
    /// An import that is not a function.
    NonFunctionImport,
    /// A callback exported with the wrong wasm type, or not as a function.
    ExportSignature,
    /// No memory exported as `memory`.
    MissingMemory,
    /// Neither `proxy_on_memory_allocate` nor `malloc` exported.
    MissingAllocator,
    /// A callback the description marks required is not exported.
    MissingExport,
    /// `malloc` is the only allocator.
    MallocOnly,
    /// A deprecated host function is imported.
    DeprecatedImport,
    /// A deprecated callback is exported.
    DeprecatedExport,
    /// An export the description does not define.
    UnknownExport,
}

impl Code {
    /// The kebab-case name, e.g. `undefined-import`.
    pub fn name(self) -> &'static str {
        match self {
            Code::NoMarker => "no-marker",
            Code::SeveralMarkers => "several-markers",
            Code::UnknownMarker => "unknown-marker",
            Code::MarkerMismatch => "marker-mismatch",
            Code::UndefinedImport => "undefined-import",
            Code::ImportSignature => "import-signature",
            Code::NonFunctionImport => "non-function-import",
            Code::ExportSignature => "export-signature",
            Code::MissingMemory => "missing-memory",
            Code::MissingAllocator => "missing-allocator",
            Code::MissingExport => "missing-export",
            Code::MallocOnly => "malloc-only",
            Code::DeprecatedImport => "deprecated-import",
            Code::DeprecatedExport => "deprecated-export",
            Code::UnknownExport => "unknown-export",
        }
    }
}

/// One thing the linter found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error, warning or note.
    pub severity: Severity,
    /// What kind of finding.
    pub code: Code,
    /// The import or export concerned (`env.proxy_log`, `memory`), if any.
    pub item: Option<String>,
    /// One line for people.
    pub message: String,
    /// The description's wasm type, for signature findings.
    pub expected: Option<String>,
    /// The module's wasm type, for signature findings.
    pub found: Option<String>,
    /// The closest name the checked version defines, for undefined imports.
    pub suggestion: Option<String>,
}

impl Finding {
    fn new(severity: Severity, code: Code, item: Option<String>, message: String) -> Finding {
        Finding {
            severity,
            code,
            item,
            message,
            expected: None,
            found: None,
            suggestion: None,
        }
    }
}

/// Whether the plugin fits one version of the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFit {
    /// The version.
    pub version: Version,
    /// Whether the plugin exports this version's marker.
    pub declared: bool,
    /// Why it cannot run under this version; empty when it can.
    pub blockers: Vec<String>,
}

impl VersionFit {
    /// Whether every import and exported callback matches this version.
    pub fn runnable(&self) -> bool {
        self.blockers.is_empty()
    }
}

/// What [`lint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintReport {
    /// Versions the module declares with a marker that the description has.
    pub declared: Vec<Version>,
    /// One entry per version of the description, oldest first.
    pub fits: Vec<VersionFit>,
    /// The version the findings are judged against.
    pub checked: Version,
    /// Findings: errors, then warnings, then notes.
    pub findings: Vec<Finding>,
    /// Number of imports and exports read.
    pub imports: usize,
    /// Number of exports read.
    pub exports: usize,
}

impl LintReport {
    /// Versions the plugin can run under, oldest first.
    pub fn runnable(&self) -> Vec<Version> {
        self.fits
            .iter()
            .filter(|f| f.runnable())
            .map(|f| f.version)
            .collect()
    }

    /// Findings of one severity.
    pub fn of(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }

    /// Findings with `code`.
    pub fn with_code(&self, code: Code) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.code == code).collect()
    }

    /// Whether there are no errors (warnings and notes allowed).
    pub fn is_clean(&self) -> bool {
        self.of(Severity::Error).next().is_none()
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let list = |versions: &[Version]| -> Vec<String> {
            versions.iter().map(Version::to_string).collect()
        };
        let count = |s| self.of(s).count();
        serde_json::json!({
            "declared": list(&self.declared),
            "runnable": list(&self.runnable()),
            "checked": self.checked.to_string(),
            "versions": self.fits.iter().map(|f| serde_json::json!({
                "version": f.version.to_string(),
                "declared": f.declared,
                "runnable": f.runnable(),
                "blockers": f.blockers,
            })).collect::<Vec<_>>(),
            "imports": self.imports,
            "exports": self.exports,
            "clean": self.is_clean(),
            "errors": count(Severity::Error),
            "warnings": count(Severity::Warning),
            "notes": count(Severity::Note),
            "findings": self.findings.iter().map(|f| serde_json::json!({
                "severity": f.severity.keyword(),
                "code": f.code.name(),
                "item": f.item,
                "message": f.message,
                "expected": f.expected,
                "found": f.found,
                "suggestion": f.suggestion,
            })).collect::<Vec<_>>(),
        })
    }

    /// The report as pretty JSON text, ending in a newline.
    pub fn render_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.to_json())
            .expect("a serde_json::Value always serializes");
        text.push('\n');
        text
    }
}

impl fmt::Display for LintReport {
    /// The text rendering: versions, then one line per finding, then counts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |versions: &[Version]| {
            if versions.is_empty() {
                "none".to_string()
            } else {
                versions
                    .iter()
                    .map(Version::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        writeln!(f, "declared versions: {}", list(&self.declared))?;
        writeln!(f, "runs under: {}", list(&self.runnable()))?;
        for fit in &self.fits {
            let declared = if fit.declared { " (declared)" } else { "" };
            match fit.blockers.as_slice() {
                [] => writeln!(f, "  {}{declared}: ok", fit.version)?,
                [first, rest @ ..] => {
                    let more = if rest.is_empty() {
                        String::new()
                    } else {
                        format!(" (and {} more)", rest.len())
                    };
                    writeln!(f, "  {}{declared}: cannot run: {first}{more}", fit.version)?
                }
            }
        }
        writeln!(
            f,
            "checked against {} ({} imports, {} exports)",
            self.checked, self.imports, self.exports
        )?;
        for finding in &self.findings {
            writeln!(
                f,
                "{}[{}]: {}",
                finding.severity.keyword(),
                finding.code.name(),
                finding.message
            )?;
        }
        let count = |s| self.of(s).count();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        writeln!(
            f,
            "{}, {}, {}",
            plural(count(Severity::Error), "error"),
            plural(count(Severity::Warning), "warning"),
            plural(count(Severity::Note), "note")
        )
    }
}

/// Why a plugin could not be linted at all (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LintError {
    /// The input is not a valid WebAssembly module.
    Invalid(String),
    /// The requested version is not in the description, or the
    /// description declares none.
    Version(VersionError),
}

impl fmt::Display for LintError {
    /// Always one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LintError::Invalid(why) => write!(
                f,
                "not a valid WebAssembly module: {}",
                why.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
            LintError::Version(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for LintError {}

/// A wasm function type in the notation of
/// [`proxy_wasm_abi_spec::lower::Signature`]'s `Display`: `(i32, i32) -> i32`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FuncSig {
    /// Parameter types.
    pub params: Vec<String>,
    /// Result types.
    pub results: Vec<String>,
}

impl FuncSig {
    /// The wasm type the description lowers `function` to.
    pub fn of(function: &Function) -> FuncSig {
        let signature = lower(function);
        let keywords = |values: &[proxy_wasm_abi_spec::lower::WasmValue]| {
            values
                .iter()
                .map(|v| v.wasm.keyword().to_string())
                .collect()
        };
        FuncSig {
            params: keywords(&signature.params),
            results: keywords(&signature.results),
        }
    }

    fn from_wasm(ty: &wasmparser::FuncType) -> FuncSig {
        let names = |types: &[wasmparser::ValType]| types.iter().map(|t| t.to_string()).collect();
        FuncSig {
            params: names(ty.params()),
            results: names(ty.results()),
        }
    }
}

impl fmt::Display for FuncSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({})", self.params.join(", "))?;
        if !self.results.is_empty() {
            write!(f, " -> {}", self.results.join(", "))?;
        }
        Ok(())
    }
}

/// What an import or export is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A function, with its type.
    Func(FuncSig),
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Func(sig) => write!(f, "func {sig}"),
            Kind::Memory => f.write_str("memory"),
            Kind::Table => f.write_str("table"),
            Kind::Global => f.write_str("global"),
            Kind::Tag => f.write_str("tag"),
        }
    }
}

/// One import of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The import module, e.g. `env`.
    pub module: String,
    /// The name, e.g. `proxy_log`.
    pub name: String,
    /// What is imported.
    pub kind: Kind,
}

impl Import {
    /// `proxy_log`, or `wasi_snapshot_preview1.fd_write` outside `env`, as
    /// [`Function::qualified_name`] spells it.
    pub fn qualified_name(&self) -> String {
        if self.module == "env" {
            self.name.clone()
        } else {
            format!("{}.{}", self.module, self.name)
        }
    }
}

impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}: {}", self.module, self.name, self.kind)
    }
}

/// One export of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The export name.
    pub name: String,
    /// What is exported.
    pub kind: Kind,
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.kind)
    }
}

/// Lints a compiled plugin against `abi`; see the module docs. `version`
/// overrides the version the findings are judged against.
pub fn lint(abi: &Abi, wasm: &[u8], version: Option<Version>) -> Result<LintReport, LintError> {
    wasmparser::Validator::new()
        .validate_all(wasm)
        .map_err(|e| LintError::Invalid(e.message().to_string() + &offset(&e)))?;
    let (imports, exports) = read_module(wasm).map_err(|e| LintError::Invalid(e.to_string()))?;
    if let Some(requested) = version {
        abi.check_version(requested).map_err(LintError::Version)?;
    }
    let newest = abi.latest_declared().map_err(LintError::Version)?;

    let mut findings = Vec::new();
    let mut declared = Vec::new();
    for export in &exports {
        let Some(suffix) = export.name.strip_prefix("proxy_abi_version_") else {
            continue;
        };
        match abi.declared_version(&suffix.replace('_', ".")) {
            Ok(v) => declared.push(v),
            Err(_) => findings.push(Finding::new(
                Severity::Error,
                Code::UnknownMarker,
                Some(export.name.clone()),
                format!(
                    "exports `{}`, which names a version the description does not declare",
                    export.name
                ),
            )),
        }
    }
    declared.sort();
    declared.dedup();

    let versions: Vec<AbiVersion> = abi.versions.iter().filter_map(|v| abi.at(*v)).collect();
    let fits: Vec<VersionFit> = versions
        .iter()
        .map(|at| VersionFit {
            version: at.version,
            declared: declared.contains(&at.version),
            blockers: blockers(at, &imports, &exports),
        })
        .collect();

    let checked = version.unwrap_or_else(|| match declared.as_slice() {
        [one] => *one,
        _ => fits
            .iter()
            .rev()
            .find(|f| f.runnable())
            .map_or(newest, |f| f.version),
    });
    let at = versions
        .iter()
        .find(|v| v.version == checked)
        .expect("the checked version is declared by the description");

    let list = |vs: &[Version]| {
        vs.iter()
            .map(Version::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match declared.len() {
        0 if findings.is_empty() => findings.push(Finding::new(
            Severity::Error,
            Code::NoMarker,
            None,
            format!(
                "no version marker exported (expected `{}`); hosts cannot tell which ABI it targets",
                checked.marker_name()
            ),
        )),
        0 | 1 => {}
        _ => findings.push(Finding::new(
            Severity::Error,
            Code::SeveralMarkers,
            None,
            format!(
                "exports several version markers ({}); export exactly one",
                list(&declared)
            ),
        )),
    }
    if declared.len() == 1 && declared[0] != checked {
        findings.push(Finding::new(
            Severity::Warning,
            Code::MarkerMismatch,
            Some(declared[0].marker_name()),
            format!(
                "declares {} but is checked against {checked}; hosts will load it as {}",
                declared[0], declared[0]
            ),
        ));
    }

    check_imports(abi, at, &imports, &mut findings);
    check_exports(at, &exports, &mut findings);

    findings.sort_by_key(|f| f.severity);
    Ok(LintReport {
        declared,
        fits,
        checked,
        findings,
        imports: imports.len(),
        exports: exports.len(),
    })
}

fn offset(error: &wasmparser::BinaryReaderError) -> String {
    format!(" (at offset {:#x})", error.offset())
}

/// Why the module cannot run under `at`: undefined or mistyped imports,
/// mistyped callbacks.
fn blockers(at: &AbiVersion, imports: &[Import], exports: &[Export]) -> Vec<String> {
    let mut out = Vec::new();
    for import in imports {
        let Kind::Func(found) = &import.kind else {
            out.push(format!(
                "imports {}.{} (not a function)",
                import.module, import.name
            ));
            continue;
        };
        match host_function(at, import) {
            None => out.push(format!("{}.{} is not defined", import.module, import.name)),
            Some(function) if FuncSig::of(function) != *found => out.push(format!(
                "{}.{} has type {found}, not {}",
                import.module,
                import.name,
                FuncSig::of(function)
            )),
            Some(_) => {}
        }
    }
    for callback in at.callbacks().filter(|c| !c.is_marker) {
        let Some(export) = exports.iter().find(|e| e.name == callback.name) else {
            continue;
        };
        let expected = FuncSig::of(callback);
        match &export.kind {
            Kind::Func(found) if *found == expected => {}
            kind => out.push(format!(
                "exports {} as {kind}, not func {expected}",
                export.name
            )),
        }
    }
    out
}

/// The host function of `at` an import names, if any.
fn host_function<'a>(at: &'a AbiVersion, import: &Import) -> Option<&'a Function> {
    at.host_functions()
        .find(|f| f.module() == Some(import.module.as_str()) && f.name == import.name)
}

fn check_imports(abi: &Abi, at: &AbiVersion, imports: &[Import], findings: &mut Vec<Finding>) {
    let version = at.version;
    for import in imports {
        let item = format!("{}.{}", import.module, import.name);
        let Kind::Func(found) = &import.kind else {
            findings.push(Finding::new(
                Severity::Error,
                Code::NonFunctionImport,
                Some(item.clone()),
                format!(
                    "imports {item} as a {}; the ABI defines no such import",
                    import.kind
                ),
            ));
            continue;
        };
        match host_function(at, import) {
            None => {
                let qualified = import.qualified_name();
                let suggestion = closest(
                    &qualified,
                    at.host_functions().map(Function::qualified_name),
                );
                let elsewhere: Vec<String> = abi
                    .versions
                    .iter()
                    .filter(|v| **v != version)
                    .filter(|v| {
                        abi.at(**v)
                            .is_some_and(|other| host_function(&other, import).is_some())
                    })
                    .map(Version::to_string)
                    .collect();
                let mut message = format!("imports {item}, which {version} does not define");
                if !elsewhere.is_empty() {
                    message += &format!(" (it is defined in {})", elsewhere.join(", "));
                }
                if let Some(name) = &suggestion {
                    message += &format!("; closest defined name: `{name}`");
                }
                let mut finding =
                    Finding::new(Severity::Error, Code::UndefinedImport, Some(item), message);
                finding.found = Some(found.to_string());
                finding.suggestion = suggestion;
                findings.push(finding);
            }
            Some(function) => {
                let expected = FuncSig::of(function);
                if expected != *found {
                    let mut finding = Finding::new(
                        Severity::Error,
                        Code::ImportSignature,
                        Some(item.clone()),
                        format!(
                            "imports {item} with type {found}, but {version} defines it as {expected}"
                        ),
                    );
                    finding.expected = Some(expected.to_string());
                    finding.found = Some(found.to_string());
                    findings.push(finding);
                }
                if let Some(deprecation) = &function.deprecated {
                    let instead = deprecation
                        .replacement
                        .as_ref()
                        .map_or(String::new(), |r| format!("; use {r} instead"));
                    findings.push(Finding::new(
                        Severity::Warning,
                        Code::DeprecatedImport,
                        Some(item.clone()),
                        format!("imports {item}, which is deprecated in {version}{instead}"),
                    ));
                }
            }
        }
    }
}

fn check_exports(at: &AbiVersion, exports: &[Export], findings: &mut Vec<Finding>) {
    let version = at.version;
    let export = |name: &str| exports.iter().find(|e| e.name == name);

    if !export("memory").is_some_and(|e| e.kind == Kind::Memory) {
        findings.push(Finding::new(
            Severity::Error,
            Code::MissingMemory,
            Some("memory".into()),
            "no memory exported as `memory`; the host cannot read or write the plugin's memory"
                .into(),
        ));
    }
    match (
        export(ALLOCATOR).is_some(),
        export(LEGACY_ALLOCATOR).is_some(),
    ) {
        (true, _) => {}
        (false, true) => findings.push(Finding::new(
            Severity::Warning,
            Code::MallocOnly,
            Some(LEGACY_ALLOCATOR.into()),
            format!(
                "`{LEGACY_ALLOCATOR}` is the only allocator exported; it is deprecated, export `{ALLOCATOR}`"
            ),
        )),
        (false, false) => findings.push(Finding::new(
            Severity::Error,
            Code::MissingAllocator,
            Some(ALLOCATOR.into()),
            format!(
                "no allocator exported: the host needs `{ALLOCATOR}` (or the deprecated `{LEGACY_ALLOCATOR}`) to return data"
            ),
        )),
    }

    for callback in at.callbacks().filter(|c| !c.is_marker) {
        let Some(found) = export(&callback.name) else {
            if !callback.optional {
                findings.push(Finding::new(
                    Severity::Error,
                    Code::MissingExport,
                    Some(callback.name.clone()),
                    format!("{version} requires the export `{}`", callback.name),
                ));
            }
            continue;
        };
        let expected = FuncSig::of(callback);
        let wrong = match &found.kind {
            Kind::Func(sig) if *sig == expected => None,
            Kind::Func(sig) => Some(sig.to_string()),
            other => Some(other.to_string()),
        };
        if let Some(found_text) = wrong {
            let mut finding = Finding::new(
                Severity::Error,
                Code::ExportSignature,
                Some(callback.name.clone()),
                format!(
                    "exports {} as {found_text}, but {version} defines it as {expected}",
                    callback.name
                ),
            );
            finding.expected = Some(expected.to_string());
            finding.found = Some(found_text);
            findings.push(finding);
        }
        if callback.deprecated.is_some() && callback.name != LEGACY_ALLOCATOR {
            let instead = callback
                .deprecated
                .as_ref()
                .and_then(|d| d.replacement.as_ref())
                .map_or(String::new(), |r| format!("; export {r} instead"));
            findings.push(Finding::new(
                Severity::Warning,
                Code::DeprecatedExport,
                Some(callback.name.clone()),
                format!(
                    "exports {}, which is deprecated in {version}{instead}",
                    callback.name
                ),
            ));
        }
    }

    for e in exports {
        let defined = e.name == "memory"
            || e.name.starts_with("proxy_abi_version_")
            || at.callbacks().any(|c| c.name == e.name);
        if !defined {
            findings.push(Finding::new(
                Severity::Note,
                Code::UnknownExport,
                Some(e.name.clone()),
                format!(
                    "exports `{}` ({}), which {version} does not define; implementation-specific",
                    e.name, e.kind
                ),
            ));
        }
    }
}

/// The candidate nearest to `name` by edit distance.
fn closest(name: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    candidates.min_by_key(|c| {
        (
            proxy_wasm_abi_spec::suggest::edit_distance(name, c),
            c.clone(),
        )
    })
}

/// The imports and exports of a module, with function types resolved.
pub fn read_module(wasm: &[u8]) -> wasmparser::Result<(Vec<Import>, Vec<Export>)> {
    use wasmparser::{CompositeInnerType, ExternalKind, Payload, TypeRef};

    let mut types: Vec<Option<FuncSig>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new();
    let mut imports = Vec::new();
    let mut raw_exports = Vec::new();
    let sig_of_type = |types: &[Option<FuncSig>], index: u32| {
        types
            .get(index as usize)
            .cloned()
            .flatten()
            .unwrap_or_default()
    };

    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(func) => Some(FuncSig::from_wasm(func)),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let kind = match import.ty {
                        TypeRef::Func(index) | TypeRef::FuncExact(index) => {
                            functions.push(index);
                            Kind::Func(sig_of_type(&types, index))
                        }
                        TypeRef::Memory(_) => Kind::Memory,
                        TypeRef::Table(_) => Kind::Table,
                        TypeRef::Global(_) => Kind::Global,
                        TypeRef::Tag(_) => Kind::Tag,
                    };
                    imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for index in reader {
                    functions.push(index?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    raw_exports.push((export.name.to_string(), export.kind, export.index));
                }
            }
            _ => {}
        }
    }

    let exports = raw_exports
        .into_iter()
        .map(|(name, kind, index)| {
            let kind = match kind {
                ExternalKind::Func | ExternalKind::FuncExact => {
                    let ty = functions.get(index as usize).copied().unwrap_or(u32::MAX);
                    Kind::Func(sig_of_type(&types, ty))
                }
                ExternalKind::Memory => Kind::Memory,
                ExternalKind::Table => Kind::Table,
                ExternalKind::Global => Kind::Global,
                ExternalKind::Tag => Kind::Tag,
            };
            Export { name, kind }
        })
        .collect();
    Ok((imports, exports))
}

#[cfg(test)]
mod tests {
    use proxy_wasm_abi_spec::suggest::edit_distance as distance;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("proxy_lgo", "proxy_log"), 2);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
