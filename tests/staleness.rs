//! Fails when a checked-in file under generated/ differs from what the
//! generator produces now (the rust-analyzer pattern): regenerate in memory,
//! compare, and print the command that fixes it.

use proxy_wasm_abi_codegen::{REGENERATE_COMMAND, files};
use proxy_wasm_abi_spec::STANDARD_PATH;
use proxy_wasm_abi_tests::workspace_root;

#[test]
fn generated_files_are_current() {
    let abi = proxy_wasm_abi_spec::standard();
    let expected = files::outputs(&abi, STANDARD_PATH);
    let dir = workspace_root().join("generated");
    let stale = files::check(&expected, &dir).expect("generated/ is readable");
    assert!(
        stale.is_empty(),
        "generated/ is stale:\n  {}\nRun `{REGENERATE_COMMAND}` and commit the result.",
        stale
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn every_generated_file_says_how_to_regenerate_it() {
    let abi = proxy_wasm_abi_spec::standard();
    for file in files::outputs(&abi, STANDARD_PATH) {
        let head: String = file.contents.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(
            head.contains(REGENERATE_COMMAND) && head.contains("Do not edit by hand"),
            "{} does not start with the generated-file notice",
            file.path.display()
        );
    }
}

/// The runtime's `mirror::spec` markers are written by hand (the SDK checks
/// name them from any crate), so they are checked here against the enums of
/// every version of the description, both ways.
#[test]
fn the_runtime_has_a_mirror_marker_per_described_enum() {
    let abi = proxy_wasm_abi_spec::standard();
    let mut described: Vec<String> = abi
        .versions
        .iter()
        .filter_map(|v| abi.at(*v))
        .flat_map(|v| v.enums.into_iter().map(|e| e.name))
        .collect();
    described.sort();
    described.dedup();
    let mut markers: Vec<&str> = proxy_wasm_abi::mirror::SPEC_ENUMS.to_vec();
    markers.sort_unstable();
    assert_eq!(
        markers, described,
        "codegen/runtime/src/mirror.rs lists other enums than the description"
    );
}
