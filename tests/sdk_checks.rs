//! The official Rust SDK under the project's checks.
//!
//! `proxy-wasm` 0.2.5 (crates.io), the SDK most Rust plugins are written
//! on, declares its host functions by hand in 37 `extern "C"` blocks
//! (`src/hostcalls.rs`) and mirrors the spec's enums by hand
//! (`src/types.rs`). The checking macros exist so that an SDK like it can
//! keep its own code and have it checked; this test adopts them in the real
//! crate, as its author would, and holds the macros to what they promise:
//!
//! - cargo downloads the package (`published_sources`; nothing of the SDK
//!   is committed) and the test copies it under `target/sdk-checks/<stage>`;
//! - a syn transform annotates the copy (parse, add attributes, print with
//!   prettyplease): `#[derive(proxy_wasm_abi::AbiEnum)]` and
//!   `#[abi(enum = "...", version = "0.2.1")]` on the eight enums that mirror
//!   a spec enum ([`MIRRORS`]; `Status` lacks INVALID_MEMORY_ACCESS and
//!   UNIMPLEMENTED, so it is `partial`; `ContextType` and `GrpcStatusCode`
//!   mirror none), and `#[proxy_wasm_abi::hostcalls(version = "0.2.1",
//!   unsound = "warn")]` on every extern block;
//! - the copy depends on `codegen/runtime` by path and is built with
//!   `cargo build --lib --release --target wasm32-wasip1
//!   --message-format=json`, whose diagnostics the test reads.
//!
//! Three stages, one test each:
//!
//! 1. As published, in migration mode: the build succeeds and the macros
//!    warn (lint `deprecated`) exactly about the unsound shapes, once each,
//!    on the offending type: the 37 `-> Status` results (a host may send a
//!    status the enum has no variant for) and the one enum out-pointer
//!    (`proxy_get_log_level(return_level: *mut LogLevel)`). The enum
//!    parameters are sound (the plugin produces them) and pass.
//! 2. Patched to sound shapes: every declaration's `-> Status` becomes
//!    `-> u32` and `*mut LogLevel` becomes `*mut u32`, and each call site
//!    converts with the derived `TryFrom` (an unknown status becomes
//!    `InternalFailure`). The build has no finding. The fixture plugins of
//!    `tests/plugins/sdk-fixtures`, rebuilt on the patched crate through
//!    `[patch.crates-io]`, then behave on the generated host exactly as the
//!    same fixtures on the crate as published: same report text and JSON,
//!    same host calls, same host state.
//! 3. Broken on purpose (from the patched copy): `proxy_log` loses its last
//!    parameter and `proxy_set_tick_period_milliseconds` takes a `u64`. The
//!    build fails with the check's messages at those declarations' lines in
//!    `src/hostcalls.rs`.
//!
//! Every stage also sees one `deprecated` warning that is no finding: the
//! SDK's call of `proxy_get_current_time_nanoseconds`, which v0.2.1
//! deprecates and `#[hostcalls]` marks `#[deprecated]`.
//!
//! Cost (2 cores): about a minute cold, 15 s warm, most of it compiling the
//! fixture modules on wasmtime. Every build shares one target dir
//! (`target/plugins/sdk-checks`), one lock seed (the fixtures' lock,
//! completed from the workspace's and the SDK's, so nothing is resolved
//! afresh) and the fixtures' release profile and resolver, so the macros
//! compile once for all stages and the fixture workspace. A file of a copy
//! is rewritten only when its text changes, so a warm run recompiles
//! nothing (cargo replays the cached warnings of stage 1).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use proxy_wasm_abi_tests::{
    PLUGIN_TARGET, build_workspace_plugin, ensure_plugin_target, pairs, plugin_target_dir,
    published_sources, workspace_root,
};
use proxy_wasm_abi_tools::runner::reference::HttpCallResponse;
use proxy_wasm_abi_tools::runner::{self, Input, Lifecycle, Report, build};
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, FnArg, ForeignItem, ForeignItemFn, Item, ReturnType, Type, parse_quote};

/// The SDK package and release.
const SDK: &str = "proxy-wasm";
const SDK_VERSION: &str = "0.2.5";

/// The ABI version the SDK's 0.2 line declares.
const ABI_VERSION: &str = "0.2.1";

/// How many `extern "C"` blocks `src/hostcalls.rs` has, one declaration each.
const EXTERN_BLOCKS: usize = 37;

/// An SDK enum that mirrors a spec enum.
struct Mirror {
    /// The SDK's name.
    rust: &'static str,
    /// The spec enum.
    spec: &'static str,
    /// Whether the SDK leaves out spec variants (`#[abi(..., partial)]`).
    partial: bool,
    /// SDK variants named otherwise than the spec's, with the spec's name.
    renames: &'static [(&'static str, &'static str)],
}

const fn mirror(rust: &'static str, spec: &'static str) -> Mirror {
    Mirror {
        rust,
        spec,
        partial: false,
        renames: &[],
    }
}

/// The SDK's enums that mirror a spec enum. (`ContextType` and
/// `GrpcStatusCode` mirror none.)
const MIRRORS: [Mirror; 8] = [
    mirror("LogLevel", "proxy_log_level_t"),
    mirror("Action", "proxy_action_t"),
    // No INVALID_MEMORY_ACCESS (6) or UNIMPLEMENTED (12).
    Mirror {
        partial: true,
        ..mirror("Status", "proxy_status_t")
    },
    mirror("StreamType", "proxy_stream_type_t"),
    Mirror {
        renames: &[
            ("GrpcReceiveBuffer", "GRPC_CALL_MESSAGE"),
            ("CallData", "FOREIGN_FUNCTION_ARGUMENTS"),
        ],
        ..mirror("BufferType", "proxy_buffer_type_t")
    },
    Mirror {
        renames: &[
            ("GrpcReceiveInitialMetadata", "GRPC_CALL_INITIAL_METADATA"),
            ("GrpcReceiveTrailingMetadata", "GRPC_CALL_TRAILING_METADATA"),
        ],
        ..mirror("MapType", "proxy_map_type_t")
    },
    mirror("PeerType", "proxy_peer_type_t"),
    mirror("MetricType", "proxy_metric_type_t"),
];

/// The phrases of the two findings `unsound = "warn"` reports.
const RESULT_FINDING: &str = "returned by value";
const OUT_POINTER_FINDING: &str = "lets the host write";

/// `#[hostcalls]` marks a host function the spec deprecates `#[deprecated]`,
/// so the SDK's one call of `proxy_get_current_time_nanoseconds` (which
/// v0.2.1 replaces by WASI's `clock_time_get`) warns in every stage.
const DEPRECATED_CALL: &str = "is deprecated in Proxy-Wasm ABI v0.2.1";

// ---------------------------------------------------------------------------
// The stages
// ---------------------------------------------------------------------------

/// Stage 1: the crate as published, annotated, in migration mode.
#[test]
fn published_sdk_builds_and_warns_about_exactly_its_unsound_shapes() {
    let copy = prepare(Stage::Published);
    let build = copy.build();
    assert!(build.success, "the annotated SDK does not build:\n{build}");
    assert_eq!(build.errors().count(), 0, "{build}");

    let results: Vec<&Diagnostic> = build.containing(RESULT_FINDING).collect();
    let out_pointers: Vec<&Diagnostic> = build.containing(OUT_POINTER_FINDING).collect();
    eprintln!(
        "sdk_checks, as published: {} finding(s) `{RESULT_FINDING}`, {} finding(s) `{OUT_POINTER_FINDING}`, {} diagnostic(s) in all, built in {:.1} s",
        results.len(),
        out_pointers.len(),
        build.diagnostics.len(),
        build.seconds
    );

    // Where the findings must be: on each declaration's `Status` result,
    // and on the `*mut LogLevel` parameter.
    let status_results = copy.places(|line| line.find(") -> Status;").map(|at| at + 5), "Status");
    assert_eq!(
        status_results.len(),
        EXTERN_BLOCKS,
        "one `-> Status` a declaration"
    );
    let log_level_out = copy.places(
        |line| line.find("return_level: *mut LogLevel").map(|at| at + 14),
        "*mut LogLevel",
    );
    assert_eq!(log_level_out.len(), 1);

    for (found, expected, what) in [
        (&results, &status_results, "enum results"),
        (&out_pointers, &log_level_out, "enum out-pointers"),
    ] {
        for finding in found.iter() {
            assert_eq!(finding.level, "warning", "{finding}");
            assert_eq!(finding.code.as_deref(), Some("deprecated"), "{finding}");
            assert!(
                finding.file.ends_with("src/hostcalls.rs"),
                "a finding outside src/hostcalls.rs: {finding}"
            );
        }
        let at: BTreeSet<Place> = found.iter().map(|d| d.place()).collect();
        assert_eq!(
            at.len(),
            found.len(),
            "{what}: more than one finding at a place"
        );
        // Each span starts on the offending type and covers no more of it.
        assert_eq!(
            at.iter().map(|p| (p.line, p.column)).collect::<Vec<_>>(),
            expected
                .iter()
                .map(|p| (p.line, p.column))
                .collect::<Vec<_>>(),
            "{what}: findings where the unsound shapes are not, or shapes without a finding"
        );
        for (finding, place) in at.iter().zip(expected.iter()) {
            assert!(
                !finding.text.is_empty() && place.text.starts_with(&finding.text),
                "{what}: the span covers `{}`, not the type `{}`",
                finding.text,
                place.text
            );
        }
    }
    assert_eq!(results.len(), EXTERN_BLOCKS);
    assert_eq!(out_pointers.len(), 1);

    // Nothing else but the deprecated call: the enum parameters passed by
    // value (MapType x6, StreamType x2, BufferType x2, MetricType, LogLevel)
    // are sound.
    copy.assert_one_deprecated_call(&build);
    let others = build.others(&[RESULT_FINDING, OUT_POINTER_FINDING, DEPRECATED_CALL]);
    assert!(
        others.is_empty(),
        "diagnostics besides the findings:\n{}",
        others.join("\n")
    );
}

/// Stage 2: patched to sound shapes: no finding, and the fixtures built on it
/// behave as on the crate as published.
#[test]
fn patched_sdk_builds_clean_and_its_fixtures_run_unchanged() {
    let copy = prepare(Stage::Patched);
    let build = copy.build();
    assert!(build.success, "the patched SDK does not build:\n{build}");
    eprintln!(
        "sdk_checks, patched: {} diagnostic(s), built in {:.1} s",
        build.diagnostics.len(),
        build.seconds
    );
    copy.assert_one_deprecated_call(&build);
    let findings = build.others(&[DEPRECATED_CALL]);
    assert!(
        findings.is_empty(),
        "the sound shapes still draw diagnostics:\n{}",
        findings.join("\n")
    );

    let started = Instant::now();
    let patched = fixtures_on(&copy.dir);
    eprintln!(
        "sdk_checks: fixtures on the patched SDK built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for case in fixture_cases() {
        let original = read(&build_workspace_plugin("sdk-fixtures", case.fixture));
        let rebuilt = read(&patched.join(format!("{}.wasm", case.fixture.replace('-', "_"))));
        let report = same_behaviour(case.fixture, &case.input, &original, &rebuilt);
        let text = report.to_string();
        assert!(
            text.contains(case.shows),
            "{}: expected {:?} in the report:\n{text}",
            case.fixture,
            case.shows
        );
        assert_eq!(report.failure, None, "{}", case.fixture);
    }
    eprintln!(
        "sdk_checks: fixtures compared in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Stage 3: two declarations broken on purpose: the build fails with each
/// check's message at the declaration's line.
#[test]
fn broken_declarations_fail_the_build_at_their_lines() {
    let copy = prepare(Stage::Broken);
    let build = copy.build();
    assert!(!build.success, "a broken SDK built:\n{build}");
    eprintln!(
        "sdk_checks, broken: {} error(s), failed in {:.1} s",
        build.errors().count(),
        build.seconds
    );
    let log_line = copy.line_of("fn proxy_log(");
    let tick_line = copy.line_of("fn proxy_set_tick_period_milliseconds(");
    let expected: [(usize, &str, &str); 2] = [
        (
            log_line,
            "`proxy_log` takes 3 parameters in v0.2.1 (",
            ", found 2",
        ),
        (
            tick_line,
            "parameter 1 of `proxy_set_tick_period_milliseconds` in v0.2.1 is i32",
            "found `u64`, which is i64; declare it as `u32`",
        ),
    ];
    for (line, starts, ends) in expected {
        let error = build
            .errors()
            .find(|d| d.message.starts_with(starts))
            .unwrap_or_else(|| panic!("no error `{starts}...`:\n{build}"));
        assert!(error.message.ends_with(ends), "{error}");
        assert!(error.file.ends_with("src/hostcalls.rs"), "{error}");
        assert_eq!(error.line, line, "{error}");
        let location = format!("src/hostcalls.rs:{line}:");
        assert!(
            error.rendered.contains(&location),
            "the rendered error does not point at {location}:\n{}",
            error.rendered
        );
    }
}

// ---------------------------------------------------------------------------
// The copies
// ---------------------------------------------------------------------------

/// Which copy of the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Published,
    Patched,
    Broken,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Published => "published",
            Stage::Patched => "patched",
            Stage::Broken => "broken",
        }
    }
}

/// Where the copies live.
fn work_dir() -> PathBuf {
    workspace_root().join("target").join("sdk-checks")
}

/// The target dir every build of this test shares.
fn target_dir() -> PathBuf {
    plugin_target_dir().join("sdk-checks")
}

/// The SDK's sources as cargo unpacked them, fetched once per process.
fn sdk_sources() -> &'static Path {
    static SOURCES: OnceLock<PathBuf> = OnceLock::new();
    SOURCES.get_or_init(|| published_sources(SDK, SDK_VERSION, &work_dir().join("fetch")))
}

/// A prepared copy of the SDK.
struct SdkCopy {
    dir: PathBuf,
    /// The text of its `src/hostcalls.rs`, as written.
    hostcalls: String,
}

/// Copies the SDK to `target/sdk-checks/<stage>` with the stage's changes.
fn prepare(stage: Stage) -> SdkCopy {
    let sources = sdk_sources();
    let mut files = read_tree(sources);
    let manifest = text(&files, "Cargo.toml");
    // Cargo names a root package's artifacts after its name, version and
    // path in its workspace, which the three copies share: build metadata
    // in the version keeps them apart in the shared target dir.
    let version = format!("\nversion = \"{SDK_VERSION}\"\n");
    assert_eq!(manifest.matches(&version).count(), 1, "{manifest}");
    let staged = format!("\nversion = \"{SDK_VERSION}+{}\"\n", stage.name());
    let manifest = manifest.replacen(&version, &staged, 1);
    let runtime = workspace_root().join("codegen").join("runtime");
    // The fixtures' resolver (an edition-2018 root would get resolver 1,
    // whose feature unification builds the macros' dependencies apart from
    // the fixtures').
    let manifest = format!(
        "{manifest}\n[dependencies.proxy-wasm-abi]\npath = {:?}\n\n[workspace]\nresolver = \"3\"\n",
        runtime.display().to_string()
    );
    files.insert("Cargo.toml".into(), manifest.into_bytes());
    files.insert("Cargo.lock".into(), seed_lock().into_bytes());

    let mut types = parse(&text(&files, "src/types.rs"));
    annotate_enums(&mut types);
    files.insert(
        "src/types.rs".into(),
        prettyplease::unparse(&types).into_bytes(),
    );

    let mut hostcalls = parse(&text(&files, "src/hostcalls.rs"));
    annotate_blocks(&mut hostcalls);
    if stage != Stage::Published {
        patch_sound(&mut hostcalls);
    }
    if stage == Stage::Broken {
        break_two(&mut hostcalls);
    }
    let hostcalls = prettyplease::unparse(&hostcalls);
    files.insert("src/hostcalls.rs".into(), hostcalls.clone().into_bytes());

    let dir = work_dir().join(stage.name());
    write_tree(&dir, &files);
    SdkCopy { dir, hostcalls }
}

impl SdkCopy {
    /// `cargo build --lib` of the copy for the plugin target, with its
    /// diagnostics.
    fn build(&self) -> Build {
        cargo_build_json(&self.dir.join("Cargo.toml"))
    }

    /// The 1-based line of `src/hostcalls.rs` holding `needle`, which must
    /// stand on exactly one line.
    fn line_of(&self, needle: &str) -> usize {
        let lines: Vec<usize> = self
            .hostcalls
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .map(|(n, _)| n + 1)
            .collect();
        assert_eq!(lines.len(), 1, "`{needle}` on lines {lines:?}");
        lines[0]
    }

    /// Asserts that the one call of the deprecated host function warns,
    /// once, at the called name.
    fn assert_one_deprecated_call(&self, build: &Build) {
        let name = "proxy_get_current_time_nanoseconds";
        let call = self.places(|line| line.find(&format!("{name}(&mut ")), name);
        let found: Vec<Place> = build
            .containing(DEPRECATED_CALL)
            .map(Diagnostic::place)
            .collect();
        assert_eq!(found, call, "the warning for the deprecated `{name}`");
    }

    /// Every place of `src/hostcalls.rs` where `find` finds `text` on a
    /// line (`find` answers the 0-based byte offset of the text).
    fn places(&self, find: impl Fn(&str) -> Option<usize>, text: &str) -> Vec<Place> {
        self.hostcalls
            .lines()
            .enumerate()
            .filter_map(|(n, line)| {
                let at = find(line)?;
                assert!(line[at..].starts_with(text), "{line}");
                Some(Place {
                    line: n + 1,
                    column: line[..at].chars().count() + 1,
                    text: text.to_string(),
                })
            })
            .collect()
    }
}

/// A file, line and column, and the text there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    line: usize,
    column: usize,
    text: String,
}

fn parse(source: &str) -> syn::File {
    syn::parse_file(source).unwrap_or_else(|e| panic!("the SDK source does not parse: {e}"))
}

/// `#[derive(AbiEnum)]` and `#[abi(...)]` on each enum of [`MIRRORS`].
fn annotate_enums(file: &mut syn::File) {
    let mut done = BTreeSet::new();
    for item in &mut file.items {
        let Item::Enum(item) = item else { continue };
        let Some(mirror) = MIRRORS.iter().find(|m| item.ident == m.rust) else {
            continue;
        };
        let (name, spec) = (mirror.rust, mirror.spec);
        item.attrs
            .push(parse_quote!(#[derive(proxy_wasm_abi::AbiEnum)]));
        item.attrs.push(if mirror.partial {
            parse_quote!(#[abi(enum = #spec, version = #ABI_VERSION, partial)])
        } else {
            parse_quote!(#[abi(enum = #spec, version = #ABI_VERSION)])
        });
        for (variant, spec_name) in mirror.renames {
            let found = item.variants.iter_mut().find(|v| v.ident == variant);
            let found = found.unwrap_or_else(|| panic!("no variant {name}::{variant}"));
            found.attrs.push(parse_quote!(#[abi(name = #spec_name)]));
        }
        done.insert(name);
    }
    assert_eq!(done.len(), MIRRORS.len(), "annotated only {done:?}");
}

/// `#[hostcalls(...)]` in migration mode on every extern block.
fn annotate_blocks(file: &mut syn::File) {
    let mut blocks = 0;
    for item in &mut file.items {
        if let Item::ForeignMod(block) = item {
            block.attrs.push(parse_quote!(
                #[proxy_wasm_abi::hostcalls(version = #ABI_VERSION, unsound = "warn")]
            ));
            blocks += 1;
        }
    }
    assert_eq!(blocks, EXTERN_BLOCKS, "extern blocks in src/hostcalls.rs");
}

/// The declarations of the extern blocks.
fn declarations(file: &mut syn::File) -> impl Iterator<Item = &mut ForeignItemFn> {
    file.items
        .iter_mut()
        .filter_map(|item| match item {
            Item::ForeignMod(block) => Some(block.items.iter_mut()),
            _ => None,
        })
        .flatten()
        .filter_map(|item| match item {
            ForeignItem::Fn(declaration) => Some(declaration),
            _ => None,
        })
}

/// Whether `ty` is the bare path `name`.
fn is_named(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident(name))
}

/// Declares the unsound shapes as `u32` and converts at the call sites.
fn patch_sound(file: &mut syn::File) {
    let mut status_results = BTreeSet::new();
    let mut out_pointers = 0;
    for declaration in declarations(file) {
        if matches!(&declaration.sig.output, ReturnType::Type(_, ty) if is_named(ty, "Status")) {
            declaration.sig.output = parse_quote!(-> u32);
            status_results.insert(declaration.sig.ident.to_string());
        }
        for input in &mut declaration.sig.inputs {
            let FnArg::Typed(typed) = input else { continue };
            if matches!(&*typed.ty, Type::Ptr(p) if p.mutability.is_some() && is_named(&p.elem, "LogLevel"))
            {
                *typed.ty = parse_quote!(*mut u32);
                out_pointers += 1;
            }
        }
    }
    assert_eq!(status_results.len(), EXTERN_BLOCKS);
    assert_eq!(out_pointers, 1);

    // The one caller of the out-pointer: read a u32, convert it.
    let published: syn::ItemFn = parse_quote! {
        pub fn get_log_level() -> Result<LogLevel, Status> {
            let mut return_level: LogLevel = LogLevel::Trace;
            unsafe {
                match proxy_get_log_level(&mut return_level) {
                    Status::Ok => Ok(return_level),
                    status => panic!("unexpected status: {}", status as u32),
                }
            }
        }
    };
    let patched: syn::ItemFn = parse_quote! {
        pub fn get_log_level() -> Result<LogLevel, Status> {
            let mut return_level: u32 = LogLevel::Trace as u32;
            unsafe {
                match proxy_get_log_level(&mut return_level) {
                    Status::Ok => <LogLevel as ::std::convert::TryFrom<u32>>::try_from(return_level)
                        .map_err(|_| Status::InternalFailure),
                    status => panic!("unexpected status: {}", status as u32),
                }
            }
        }
    };
    let caller = file.items.iter_mut().find_map(|item| match item {
        Item::Fn(f) if f.sig.ident == "get_log_level" => Some(f),
        _ => None,
    });
    let caller = caller.expect("src/hostcalls.rs defines get_log_level");
    assert_eq!(
        quote::quote!(#caller).to_string(),
        quote::quote!(#published).to_string(),
        "get_log_level is not as published; the patch needs a look"
    );
    *caller = patched;

    let mut wrap = WrapCalls {
        callees: &status_results,
        wrapped: BTreeSet::new(),
    };
    wrap.visit_file_mut(file);
    assert_eq!(
        &wrap.wrapped, &status_results,
        "every declaration is called somewhere"
    );
}

/// Wraps each call of a declaration now returning `u32` in the conversion
/// back to `Status`.
struct WrapCalls<'a> {
    callees: &'a BTreeSet<String>,
    wrapped: BTreeSet<String>,
}

impl VisitMut for WrapCalls<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        visit_mut::visit_expr_mut(self, expr);
        let Expr::Call(call) = expr else { return };
        let Expr::Path(callee) = &*call.func else {
            return;
        };
        let Some(name) = callee.path.get_ident().map(ToString::to_string) else {
            return;
        };
        if callee.qself.is_some() || !self.callees.contains(&name) {
            return;
        }
        let call = call.clone();
        *expr = parse_quote!(
            <Status as ::std::convert::TryFrom<u32>>::try_from(#call)
                .unwrap_or(Status::InternalFailure)
        );
        self.wrapped.insert(name);
    }
}

/// A wrong arity (`proxy_log` without its last parameter) and a wrong
/// parameter type (`proxy_set_tick_period_milliseconds(period: u64)`).
fn break_two(file: &mut syn::File) {
    let mut broken = 0;
    for declaration in declarations(file) {
        let inputs = &mut declaration.sig.inputs;
        if declaration.sig.ident == "proxy_log" {
            let kept = inputs.len() - 1;
            *inputs = inputs
                .iter()
                .take(kept)
                .cloned()
                .collect::<Punctuated<_, _>>();
            broken += 1;
        } else if declaration.sig.ident == "proxy_set_tick_period_milliseconds" {
            let Some(FnArg::Typed(period)) = inputs.first_mut() else {
                panic!("proxy_set_tick_period_milliseconds takes no typed parameter");
            };
            *period.ty = parse_quote!(u64);
            broken += 1;
        }
    }
    assert_eq!(broken, 2);
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// Every file below `dir`, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .expect("below the root")
                    .to_path_buf();
                files.insert(relative, read(&path));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Writes the files below `dir`, each only if its content changed, so cargo
/// sees unchanged sources as fresh.
fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    for (relative, bytes) in files {
        let path = dir.join(relative);
        if std::fs::read(&path).is_ok_and(|old| old == *bytes) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn text(files: &BTreeMap<PathBuf, Vec<u8>>, relative: &str) -> String {
    let bytes = files
        .get(Path::new(relative))
        .unwrap_or_else(|| panic!("the package has no {relative}"));
    String::from_utf8(bytes.clone()).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The lock every build here starts from: the fixtures' lock (the SDK's
/// dependencies as the fixtures pin them), completed with the packages it
/// lacks from the workspace's lock (the macros' dependencies) and from the
/// SDK's own (its optional `mockalloc`), so nothing is resolved afresh, no
/// registry index is needed and every build agrees on the versions. Cargo
/// drops what a build does not use.
fn seed_lock() -> String {
    let fixtures = workspace_root()
        .join("tests")
        .join("plugins")
        .join("sdk-fixtures")
        .join("Cargo.lock");
    let fixtures = String::from_utf8(read(&fixtures)).expect("a text lock");
    let workspace = String::from_utf8(read(&workspace_root().join("Cargo.lock"))).expect("text");
    let sdk = String::from_utf8(read(&sdk_sources().join("Cargo.lock"))).expect("a text lock");
    // A package is its `name`, `version` and `source` lines.
    let key = |block: &str| -> String {
        block
            .lines()
            .filter(|l| {
                ["name = ", "version = ", "source = "]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    const PACKAGE: &str = "[[package]]";
    let mut seen: HashSet<String> = fixtures.split(PACKAGE).skip(1).map(key).collect();
    let mut lock = fixtures.trim_end().to_string();
    for block in [workspace, sdk]
        .iter()
        .flat_map(|l| l.split(PACKAGE).skip(1))
    {
        if seen.insert(key(block)) {
            lock.push_str("\n\n");
            lock.push_str(PACKAGE);
            lock.push_str(block.trim_end());
        }
    }
    lock.push('\n');
    lock
}

// ---------------------------------------------------------------------------
// Building and reading diagnostics
// ---------------------------------------------------------------------------

/// A build and what the compiler said about the SDK crate.
struct Build {
    success: bool,
    diagnostics: Vec<Diagnostic>,
    stderr: String,
    seconds: f64,
}

impl Build {
    fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == "error")
    }

    /// The diagnostics that contain none of `phrases`.
    fn others(&self, phrases: &[&str]) -> Vec<String> {
        self.diagnostics
            .iter()
            .filter(|d| !phrases.iter().any(|p| d.message.contains(p)))
            .map(Diagnostic::to_string)
            .collect()
    }

    fn containing<'a>(&'a self, phrase: &'a str) -> impl Iterator<Item = &'a Diagnostic> {
        self.diagnostics
            .iter()
            .filter(move |d| d.message.contains(phrase))
    }
}

impl std::fmt::Display for Build {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for diagnostic in &self.diagnostics {
            writeln!(f, "{}", diagnostic.rendered)?;
        }
        write!(f, "cargo's stderr:\n{}", self.stderr)
    }
}

/// One compiler message about the SDK crate, at its primary span.
struct Diagnostic {
    level: String,
    code: Option<String>,
    message: String,
    file: String,
    line: usize,
    column: usize,
    /// The source text under the primary span (its first line).
    text: String,
    rendered: String,
}

impl Diagnostic {
    fn place(&self) -> Place {
        Place {
            line: self.line,
            column: self.column,
            text: self.text.clone(),
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.level, self.message
        )
    }
}

/// `cargo build --lib --release --target wasm32-wasip1
/// --message-format=json` of `manifest` into [`target_dir`], with the host's
/// `RUSTFLAGS` dropped (as `runner::build::cargo_build` does) and the
/// fixtures' release profile (so the macros' build is shared with theirs).
fn cargo_build_json(manifest: &Path) -> Build {
    ensure_plugin_target();
    let dir = manifest.parent().expect("a manifest is in a directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = Command::new(&cargo)
        .args(["build", "--lib", "--release", "--target", PLUGIN_TARGET])
        .args(["--message-format=json", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir())
        .args(["--config", "profile.release.opt-level=\"s\""])
        .args(["--config", "profile.release.strip=true"])
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", Path::new(&cargo).display()));
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let diagnostics = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-message")
        .filter(|m| m["manifest_path"].as_str().map(Path::new) == Some(manifest))
        .filter_map(|m| diagnostic(&m["message"]))
        .collect();
    Build {
        success: output.status.success(),
        diagnostics,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        seconds,
    }
}

/// A diagnostic from rustc's JSON, unless it is only a summary (`3 warnings
/// emitted`, which has no span).
fn diagnostic(message: &serde_json::Value) -> Option<Diagnostic> {
    let spans = message["spans"].as_array()?;
    let span = spans.iter().find(|s| s["is_primary"] == true)?;
    let number = |key: &str| {
        span[key]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
    };
    let text = span["text"]
        .get(0)
        .map(|t| {
            let line = t["text"].as_str().unwrap_or("");
            let from = t["highlight_start"].as_u64().unwrap_or(1).saturating_sub(1);
            let to = t["highlight_end"].as_u64().unwrap_or(1).saturating_sub(1);
            let from = usize::try_from(from).unwrap_or(0);
            let to = usize::try_from(to).unwrap_or(0);
            line.chars()
                .skip(from)
                .take(to.saturating_sub(from))
                .collect()
        })
        .unwrap_or_default();
    let string = |value: &serde_json::Value| value.as_str().unwrap_or("").to_string();
    Some(Diagnostic {
        level: string(&message["level"]),
        code: message["code"]["code"].as_str().map(str::to_string),
        message: string(&message["message"]),
        file: string(&span["file_name"]),
        line: number("line_start"),
        column: number("column_start"),
        text,
        rendered: string(&message["rendered"]),
    })
}

// ---------------------------------------------------------------------------
// The fixtures on the patched SDK
// ---------------------------------------------------------------------------

/// Copies `tests/plugins/sdk-fixtures` to `target/sdk-checks/fixtures`
/// with `proxy-wasm` patched to the copy at `sdk`, builds every member for
/// the plugin target (release, the fixtures' profile; not `--locked`, since
/// the patch changes the lock) and returns the directory of the `.wasm`
/// files.
fn fixtures_on(sdk: &Path) -> PathBuf {
    let from = workspace_root()
        .join("tests")
        .join("plugins")
        .join("sdk-fixtures");
    let mut files = read_tree(&from);
    let manifest = text(&files, "Cargo.toml");
    let manifest = format!(
        "{manifest}\n[patch.crates-io]\nproxy-wasm = {{ path = {:?} }}\n",
        sdk.display().to_string()
    );
    files.insert("Cargo.toml".into(), manifest.into_bytes());
    files.insert("Cargo.lock".into(), seed_lock().into_bytes());
    let dir = work_dir().join("fixtures");
    write_tree(&dir, &files);
    let manifest = dir.join("Cargo.toml");
    let built = build::cargo_build(&manifest, &target_dir(), &["--workspace"])
        .unwrap_or_else(|error| panic!("the fixtures do not build on the patched SDK: {error}"));
    // The lock cargo wrote: `proxy-wasm` is the patched copy (a path
    // package, no `source`), not the registry's.
    let lock = String::from_utf8(read(&dir.join("Cargo.lock"))).expect("a text lock");
    let sdk_entry = lock
        .split("[[package]]")
        .find(|block| block.contains("\nname = \"proxy-wasm\"\n"))
        .expect("the fixtures' lock lists proxy-wasm");
    assert!(
        !sdk_entry.contains("source = "),
        "the fixtures were built on the registry's proxy-wasm:{sdk_entry}"
    );
    built
}

/// A fixture, the input it runs with, and a line its report must show (so a
/// comparison of two runs that did nothing cannot pass).
struct FixtureCase {
    fixture: &'static str,
    input: Input,
    shows: &'static str,
}

/// An HTTP request for `path` answered 200, with `more` request headers.
fn http(path: &str, more: &[(&str, &str)]) -> Input {
    let mut request_headers = pairs(&[
        (":method", "GET"),
        (":path", path),
        (":authority", "example.com"),
    ]);
    request_headers.extend(pairs(more));
    Input {
        request_headers,
        response_headers: pairs(&[(":status", "200")]),
        ..Input::default()
    }
}

/// The authorization service's answer for the callout fixture.
fn auth(status: &str) -> HttpCallResponse {
    HttpCallResponse {
        headers: pairs(&[(":status", status), ("x-user", "bob")]),
        body: b"ok\n".to_vec(),
        trailers: Vec::new(),
    }
}

/// The fixtures compared, one or more inputs each: statuses other than OK
/// (NOT_FOUND, CAS_MISMATCH, EMPTY), the log level read through the patched
/// out-pointer, calls, bodies, metrics and TCP.
fn fixture_cases() -> Vec<FixtureCase> {
    let case = |fixture, input, shows| FixtureCase {
        fixture,
        input,
        shows,
    };
    vec![
        case("sdk-hello-tick", http("/", &[]), "[INFO] tick 2"),
        case(
            "sdk-headers",
            Input {
                response_headers: pairs(&[(":status", "200"), ("server", "envoy")]),
                ..http("/h", &[("user-agent", "test"), ("x-debug-token", "t")])
            },
            "+ x-request-tag: sdk",
        ),
        case(
            "sdk-bodies",
            Input {
                request_body: b"a cat".to_vec(),
                response_body: b"hi".to_vec(),
                chunk_size: Some(3),
                ..http("/b", &[])
            },
            "request body: 5 byte(s) in, 5 byte(s) out",
        ),
        case(
            "sdk-config",
            Input {
                plugin_configuration: b"header = x-stage\nvalue = b".to_vec(),
                ..http("/c", &[])
            },
            "+ x-stage: b",
        ),
        case(
            "sdk-http-callout",
            Input {
                http_call_response: auth("200"),
                ..http("/o", &[])
            },
            "+ x-auth-user: bob",
        ),
        case(
            "sdk-http-callout",
            Input {
                http_call_response: auth("401"),
                ..http("/o", &[])
            },
            "call 1: status 401, denying",
        ),
        case(
            "sdk-local-response",
            http("/admin/x", &[]),
            "refusing /admin/x",
        ),
        case(
            "sdk-shared-data",
            http("/s", &[]),
            "stale write of sdk-hits refused: CasMismatch",
        ),
        case(
            "sdk-metrics",
            http("/m", &[]),
            "metric sdk_requests_total (Counter) = 1",
        ),
        case(
            "sdk-inputs",
            Input {
                log_level: Some(runner::bindings::LogLevel::Debug),
                ..http("/i", &[])
            },
            "host log level: Debug",
        ),
        case(
            "sdk-tcp-filter",
            Input {
                lifecycle: Lifecycle::Tcp,
                request_body: b"pin 1234".to_vec(),
                response_body: b"ok".to_vec(),
                ..Input::default()
            },
            "pin ####",
        ),
    ]
}

/// Runs `input` on both builds of `fixture` and asserts the runs agree in
/// everything the runner records; returns the patched build's report.
fn same_behaviour(fixture: &str, input: &Input, original: &[u8], patched: &[u8]) -> Report {
    let run = |wasm: &[u8], which: &str| {
        runner::run(wasm, input)
            .unwrap_or_else(|error| panic!("{fixture} on the {which} SDK did not run: {error}"))
    };
    // The two runs (each compiles its module) side by side.
    let (before, after) = std::thread::scope(|s| {
        let before = s.spawn(|| run(original, "published"));
        let after = run(patched, "patched");
        (
            before
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            after,
        )
    });
    assert_eq!(
        after.to_string(),
        before.to_string(),
        "{fixture}: the report"
    );
    assert_eq!(
        after.to_json(),
        before.to_json(),
        "{fixture}: the JSON report"
    );
    assert_eq!(
        after.host_calls, before.host_calls,
        "{fixture}: the host calls"
    );
    assert_eq!(state(&after), state(&before), "{fixture}: the host's state");
    after
}

/// What the plugin left in the host besides the stream: shared data (in
/// key order), queues, metrics, calls, logs and local response.
fn state(report: &Report) -> String {
    let host = &report.host;
    let mut shared: Vec<_> = host.shared_data.iter().collect();
    shared.sort();
    let mut properties: Vec<_> = host.properties.iter().collect();
    properties.sort();
    format!(
        "{shared:?}\n{properties:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        host.queues,
        host.metrics,
        host.http_calls,
        host.grpc_calls,
        host.foreign_calls,
        host.continued,
        host.local_response,
        host.logs
    )
}
