//! The plugin linter (`proxy_wasm_abi_tools::lint`) on real plugins: the
//! official Rust SDK plugins (proxy-wasm 0.2.0 and 0.2.5) and fixtures, and this
//! project's guest plugin, all lint clean for 0.2.1; the examples that the
//! SDK's 0.1.4 and 0.2.0 packages ship lint clean for the version each
//! declares.

use proxy_wasm_abi_spec::Version;
use proxy_wasm_abi_tests::{
    SDK_EXAMPLES, SDK_RELEASES, build_plugin, build_published_examples, build_workspace_plugin,
};
use proxy_wasm_abi_tools::lint::{Code, LintReport, Severity, lint};

const FIXTURES: [&str; 12] = [
    "sdk-hello-tick",
    "sdk-headers",
    "sdk-bodies",
    "sdk-config",
    "sdk-http-callout",
    "sdk-local-response",
    "sdk-shared-data",
    "sdk-metrics",
    "sdk-tcp-filter",
    "sdk-inputs",
    "sdk-grpc",
    "sdk-stream-state",
];

fn v021() -> Version {
    "0.2.1".parse().expect("a version")
}

fn lint_file(path: &std::path::Path) -> LintReport {
    let wasm = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lint(&proxy_wasm_abi_spec::standard(), &wasm, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Clean for 0.2.1: declared, runnable, checked, no errors; any warning is
/// only the deprecated clock import the SDK keeps for older hosts.
fn assert_clean_021(name: &str, report: &LintReport) {
    assert_clean_for(v021(), name, report);
}

/// Clean for `version`, as [`assert_clean_021`] is for 0.2.1.
fn assert_clean_for(version: Version, name: &str, report: &LintReport) {
    assert!(report.is_clean(), "{name}:\n{report}");
    assert_eq!(report.declared, vec![version], "{name}:\n{report}");
    assert_eq!(report.checked, version, "{name}:\n{report}");
    assert!(report.runnable().contains(&version), "{name}:\n{report}");
    for warning in report.of(Severity::Warning) {
        assert_eq!(warning.code, Code::DeprecatedImport, "{name}:\n{report}");
        assert_eq!(
            warning.item.as_deref(),
            Some("env.proxy_get_current_time_nanoseconds"),
            "{name}:\n{report}"
        );
    }
}

#[test]
fn sdk_plugin_lints_clean() {
    let report = lint_file(&build_plugin("sdk-plugin"));
    eprintln!("sdk-plugin:\n{report}");
    assert_clean_021("sdk-plugin", &report);
}

#[test]
fn sdk_fixtures_lint_clean() {
    for name in FIXTURES {
        let report = lint_file(&build_workspace_plugin("sdk-fixtures", name));
        assert_clean_021(name, &report);
    }
}

#[test]
fn guest_plugin_lints_clean() {
    let report = lint_file(&build_plugin("guest-plugin"));
    assert_clean_021("guest-plugin", &report);
    assert!(report.findings.is_empty(), "guest-plugin:\n{report}");
}

#[test]
fn the_oldest_0_2_sdk_release_lints_clean() {
    // proxy-wasm 0.2.0 from crates.io (its own workspace: cargo locks one 0.2.x
    // per workspace); it declares ABI 0.2.1 like the current release.
    let path = build_plugin("sdk-plugin-0-2-0");
    let report = lint_file(&path);
    assert_clean_021("sdk-plugin-0-2-0 (proxy-wasm 0.2.0)", &report);
}

#[test]
fn the_examples_sdk_releases_ship_lint_clean_for_their_version() {
    // 0.1.4 is the last release for ABI 0.1.0: four of its five examples
    // import proxy_continue_request and friends with the status result the
    // text of 0.1.0 leaves out (see the erratum in the description).
    for (release, abi) in SDK_RELEASES {
        let dir = build_published_examples("proxy-wasm", release);
        for name in SDK_EXAMPLES {
            let report = lint_file(&dir.join(format!("{name}.wasm")));
            let version: Version = abi.parse().expect("a version");
            assert_clean_for(version, &format!("{name} of proxy-wasm {release}"), &report);
        }
    }
}
