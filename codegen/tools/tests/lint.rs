//! The plugin linter: one hand-made module in WAT per finding, and the
//! `proxy-wasm-abi lint` command's exit codes and outputs.

use std::path::PathBuf;
use std::process::{Command, Output};

use proxy_wasm_abi_spec::Version;
use proxy_wasm_abi_tools::lint::{Code, LintError, LintReport, Severity, lint};

fn v(text: &str) -> Version {
    text.parse().expect("a version")
}

/// A module around `body`: `body` holds imports first, then anything else.
fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {body})")).expect("valid WAT")
}

/// The imports, memory, marker and allocator of a well-formed 0.2.1 plugin,
/// with `extra` added.
const CLEAN: &str = r#"
    (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0)
"#;

fn lint_wat(body: &str) -> LintReport {
    lint(&proxy_wasm_abi_spec::standard(), &module(body), None).expect("lints")
}

fn codes(report: &LintReport) -> Vec<(Severity, Code)> {
    report
        .findings
        .iter()
        .map(|f| (f.severity, f.code))
        .collect()
}

#[test]
fn clean_module_has_no_findings() {
    let report = lint_wat(CLEAN);
    assert!(report.findings.is_empty(), "{report}");
    assert!(report.is_clean());
    assert_eq!(report.declared, vec![v("0.2.1")]);
    assert_eq!(report.checked, v("0.2.1"));
    assert_eq!(report.runnable(), vec![v("0.2.0"), v("0.2.1")]);
}

#[test]
fn undefined_import_names_the_closest_defined_one() {
    let report = lint_wat(&format!(
        r#"(import "env" "proxy_lgo" (func (param i32 i32 i32) (result i32))) {CLEAN}"#
    ));
    let found = report.with_code(Code::UndefinedImport);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].item.as_deref(), Some("env.proxy_lgo"));
    assert_eq!(found[0].suggestion.as_deref(), Some("proxy_log"));
    assert!(
        found[0]
            .message
            .contains("closest defined name: `proxy_log`")
    );
    assert!(!report.is_clean());
    assert!(report.runnable().is_empty());
}

#[test]
fn wrong_import_signature_shows_expected_and_found() {
    let report = lint_wat(&CLEAN.replace(
        "(func (param i32 i32 i32) (result i32)))",
        "(func (param i32 i32) (result i32)))",
    ));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::ImportSignature)],
        "{report}"
    );
    let f = &report.findings[0];
    assert_eq!(f.expected.as_deref(), Some("(i32, i32, i32) -> i32"));
    assert_eq!(f.found.as_deref(), Some("(i32, i32) -> i32"));
    assert!(f.message.contains("env.proxy_log"), "{}", f.message);
}

#[test]
fn wrong_export_signature_shows_expected_and_found() {
    let report = lint_wat(&CLEAN.replace(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32)"#,
        r#"(func (export "proxy_on_request_headers") (param i32 i32)"#,
    ));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::ExportSignature)],
        "{report}"
    );
    let f = &report.findings[0];
    assert_eq!(f.item.as_deref(), Some("proxy_on_request_headers"));
    assert_eq!(f.expected.as_deref(), Some("(i32, i32, i32) -> i32"));
    assert_eq!(f.found.as_deref(), Some("(i32, i32) -> i32"));
    // The 0.1.0 shape: runnable there only, by its imports and exports.
    assert_eq!(report.runnable(), vec![v("0.1.0")]);
}

#[test]
fn missing_memory_is_an_error() {
    let report = lint_wat(&CLEAN.replace(r#"(memory (export "memory") 1)"#, "(memory 1)"));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::MissingMemory)],
        "{report}"
    );
}

#[test]
fn missing_allocator_is_an_error() {
    let report = lint_wat(&CLEAN.replace(
        r#"(func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)"#,
        "",
    ));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::MissingAllocator)],
        "{report}"
    );
}

#[test]
fn malloc_as_the_only_allocator_is_a_warning() {
    let report = lint_wat(&CLEAN.replace("proxy_on_memory_allocate", "malloc"));
    assert_eq!(
        codes(&report),
        vec![(Severity::Warning, Code::MallocOnly)],
        "{report}"
    );
    assert!(report.is_clean());
    // Both allocators: nothing to say.
    let both = lint_wat(&format!(
        r#"{CLEAN} (func (export "malloc") (param i32) (result i32) i32.const 0)"#
    ));
    assert!(both.findings.is_empty(), "{both}");
}

#[test]
fn deprecated_import_is_a_warning() {
    let report = lint_wat(&format!(
        r#"(import "env" "proxy_get_current_time_nanoseconds" (func (param i32) (result i32))) {CLEAN}"#
    ));
    assert_eq!(
        codes(&report),
        vec![(Severity::Warning, Code::DeprecatedImport)],
        "{report}"
    );
    assert!(
        report.findings[0]
            .message
            .contains("wasi_snapshot_preview1.clock_time_get")
    );
    assert!(report.is_clean());
}

#[test]
fn unknown_export_is_a_note() {
    let report = lint_wat(&format!(
        r#"{CLEAN} (func (export "my_sdk_helper")) (global (export "__heap_base") i32 (i32.const 0))"#
    ));
    assert_eq!(
        codes(&report),
        vec![
            (Severity::Note, Code::UnknownExport),
            (Severity::Note, Code::UnknownExport)
        ],
        "{report}"
    );
    assert!(report.is_clean());
    assert!(
        report.findings[0]
            .message
            .contains("implementation-specific")
    );
}

#[test]
fn no_marker_is_an_error_and_the_newest_runnable_version_is_checked() {
    let report = lint_wat(&CLEAN.replace(r#"(func (export "proxy_abi_version_0_2_1"))"#, ""));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::NoMarker)],
        "{report}"
    );
    assert!(report.declared.is_empty());
    assert_eq!(report.checked, v("0.2.1"));
}

#[test]
fn two_markers_are_an_error() {
    let report = lint_wat(&format!(
        r#"{CLEAN} (func (export "proxy_abi_version_0_2_0"))"#
    ));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::SeveralMarkers)],
        "{report}"
    );
    assert_eq!(report.declared, vec![v("0.2.0"), v("0.2.1")]);
    assert_eq!(report.checked, v("0.2.1"));
}

#[test]
fn unknown_marker_is_an_error() {
    let report = lint_wat(&CLEAN.replace("proxy_abi_version_0_2_1", "proxy_abi_version_9_9_9"));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::UnknownMarker)],
        "{report}"
    );
}

#[test]
fn a_0_2_0_plugin_importing_proxy_get_log_level() {
    let body = format!(
        r#"(import "env" "proxy_get_log_level" (func (param i32) (result i32))) {}"#,
        CLEAN.replace("proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0")
    );
    let report = lint_wat(&body);
    assert_eq!(report.declared, vec![v("0.2.0")]);
    assert_eq!(report.checked, v("0.2.0"));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::UndefinedImport)],
        "{report}"
    );
    let f = &report.findings[0];
    assert_eq!(f.item.as_deref(), Some("env.proxy_get_log_level"));
    assert!(f.message.contains("defined in 0.2.1"), "{}", f.message);
    assert!(f.suggestion.is_some());
    assert_eq!(report.runnable(), vec![v("0.2.1")]);

    // Checked against 0.2.1 on request: the import is fine, the marker is not.
    let at_021 = lint(
        &proxy_wasm_abi_spec::standard(),
        &module(&body),
        Some(v("0.2.1")),
    )
    .expect("lints");
    assert_eq!(
        codes(&at_021),
        vec![(Severity::Warning, Code::MarkerMismatch)],
        "{at_021}"
    );
}

#[test]
fn non_function_import_is_an_error() {
    let report = lint_wat(&format!(
        r#"(import "env" "table" (table 1 funcref)) {CLEAN}"#
    ));
    assert_eq!(
        codes(&report),
        vec![(Severity::Error, Code::NonFunctionImport)],
        "{report}"
    );
}

#[test]
fn bad_input_and_bad_versions_are_lint_errors() {
    let abi = proxy_wasm_abi_spec::standard();
    let error = lint(&abi, b"not wasm at all", None).unwrap_err();
    assert!(matches!(error, LintError::Invalid(_)));
    assert!(!error.to_string().contains('\n'));
    let error = lint(&abi, &module(CLEAN), Some(v("7.0.0"))).unwrap_err();
    assert!(matches!(error, LintError::Version(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "`proxy_wasm` has no version `7.0.0` (it has `0.1.0`, `0.2.0`, `0.2.1`)"
    );
}

#[test]
fn json_rendering_parses() {
    let report = lint_wat(&format!(
        r#"(import "env" "proxy_lgo" (func (param i32 i32 i32) (result i32))) {CLEAN}"#
    ));
    let doc: serde_json::Value = serde_json::from_str(&report.render_json()).expect("JSON");
    assert_eq!(doc["checked"], "0.2.1");
    assert_eq!(doc["declared"], serde_json::json!(["0.2.1"]));
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["clean"], false);
    assert_eq!(doc["findings"][0]["code"], "undefined-import");
    assert_eq!(doc["findings"][0]["suggestion"], "proxy_log");
    assert_eq!(doc["versions"].as_array().map(Vec::len), Some(3));
}

// ---------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proxy-wasm-abi"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("proxy-wasm-abi-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn cli_exit_codes() {
    let clean = write_temp("clean.wasm", &module(CLEAN));
    let out = cli(&["lint", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("declared versions: 0.2.1"), "{stdout}");
    assert!(stdout.contains("0 errors, 0 warnings, 0 notes"), "{stdout}");

    let warned = write_temp(
        "malloc.wasm",
        &module(&CLEAN.replace("proxy_on_memory_allocate", "malloc")),
    );
    let out = cli(&["lint", warned.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("warning[malloc-only]"));

    let broken = write_temp(
        "broken.wasm",
        &module(&CLEAN.replace(r#"(memory (export "memory") 1)"#, "(memory 1)")),
    );
    let out = cli(&["lint", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("error[missing-memory]"));

    let json = cli(&["lint", broken.to_str().unwrap(), "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(doc["findings"][0]["code"], "missing-memory");

    let at_020 = cli(&["lint", clean.to_str().unwrap(), "--version", "0.2.0"]);
    assert_eq!(at_020.status.code(), Some(0));
    assert!(text(&at_020.stdout).contains("checked against 0.2.0"));
    assert!(text(&at_020.stdout).contains("warning[marker-mismatch]"));
}

#[test]
fn cli_unreadable_input_is_one_line_and_exit_2() {
    let bogus = write_temp("bogus.wasm", b"this is not a wasm module\n");
    let out = cli(&["lint", bogus.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("bogus.wasm"), "{err}");
    assert!(err.contains("not a valid WebAssembly module"), "{err}");
    assert!(out.stdout.is_empty());

    let missing = cli(&["lint", "/nonexistent/plugin.wasm"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(text(&missing.stderr).lines().count(), 1);

    let clean = write_temp("clean2.wasm", &module(CLEAN));
    let bad_version = cli(&["lint", clean.to_str().unwrap(), "--version", "5.0.0"]);
    assert_eq!(bad_version.status.code(), Some(2));
    assert_eq!(text(&bad_version.stderr).lines().count(), 1);
}

#[test]
fn cli_lints_against_an_extension_with_spec() {
    let spec =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../abi-spec/examples/host-extras.abi");
    let body = format!(
        r#"(import "env" "proxy_get_host_build" (func (param i32 i32) (result i32))) {CLEAN}
           (func (export "proxy_validate_configuration") (param i32 i32) (result i32) i32.const 1)"#
    );
    let plugin = write_temp("extras.wasm", &module(&body));

    let standard = cli(&["lint", plugin.to_str().unwrap()]);
    assert_eq!(standard.status.code(), Some(1));
    let stdout = text(&standard.stdout);
    assert!(stdout.contains("error[undefined-import]"), "{stdout}");
    assert!(stdout.contains("note[unknown-export]"), "{stdout}");

    let extended = cli(&[
        "--spec",
        spec.to_str().unwrap(),
        "lint",
        plugin.to_str().unwrap(),
    ]);
    let stdout = text(&extended.stdout);
    assert_eq!(
        extended.status.code(),
        Some(0),
        "{stdout}{}",
        text(&extended.stderr)
    );
    assert!(stdout.contains("0 errors, 0 warnings, 0 notes"), "{stdout}");
}
