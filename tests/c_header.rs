//! The generated C headers (`generated/c/`): a C plugin built against the
//! 0.2.1 header with clang for wasm32, without libc, imports and exports
//! exactly what the description defines; every version's header compiles
//! cleanly on its own.
//!
//! Needs `clang` and `wasm-ld`. When either is missing and `apt-get` is
//! there (Debian, as root), the tests install `clang` and `lld` themselves,
//! once, as they install the wasm32 target with rustup; otherwise they fail
//! with one line saying what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use proxy_wasm_abi_codegen::c;
use proxy_wasm_abi_spec::Version;
use proxy_wasm_abi_tests::{check_module, workspace_root};

const INSTALL: &str =
    "clang and wasm-ld are needed for the C header tests: run `apt-get install -y clang lld`";

/// Flags every compilation uses: wasm32, no libc, warnings are errors.
const FLAGS: [&str; 5] = [
    "--target=wasm32",
    "-nostdlib",
    "-Wall",
    "-Wextra",
    "-Werror",
];

/// An executable named `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Extra clang flags that make it find the wasm linker: none when `wasm-ld`
/// is on `PATH`, `-fuse-ld=<path>` for a versioned `wasm-ld-N` only.
/// Panics with the install command when there is no clang or no wasm-ld.
fn linker_flags() -> Vec<String> {
    require_clang();
    if on_path("wasm-ld").is_some() {
        return Vec::new();
    }
    match versioned_wasm_ld() {
        Some(linker) => vec![format!("-fuse-ld={}", linker.display())],
        None => panic!("wasm-ld not found: {INSTALL}"),
    }
}

/// Whether both tools the tests need are on `PATH` (any `wasm-ld-N` counts).
fn toolchain_present() -> bool {
    on_path("clang").is_some() && (on_path("wasm-ld").is_some() || versioned_wasm_ld().is_some())
}

/// Installs clang and lld with apt-get when they are missing, once per test
/// binary; a failed install leaves the missing tool to be reported.
fn install_toolchain() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        if toolchain_present() || on_path("apt-get").is_none() {
            return;
        }
        eprintln!("installing clang and lld with apt-get for the C header tests");
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|status| status.success())
        };
        if !(apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "clang", "lld"])) {
            eprintln!("apt-get could not install clang and lld");
        }
    });
}

/// A versioned `wasm-ld-N` on `PATH`, as some Debian releases ship it.
fn versioned_wasm_ld() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).find_map(|dir| {
            std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_prefix("wasm-ld-")
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                    .then(|| entry.path())
            })
        })
    })
}

/// Panics with the install command when there is no clang.
fn require_clang() {
    install_toolchain();
    if on_path("clang").is_none() {
        panic!("clang not found: {INSTALL}");
    }
}

/// Runs clang with `args`, panicking with its output when it fails.
fn clang(args: &[String]) {
    let output = Command::new("clang")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run clang ({e}): {INSTALL}"));
    assert!(
        output.status.success(),
        "clang {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn scratch_dir() -> PathBuf {
    let dir = workspace_root().join("target").join("c-header");
    std::fs::create_dir_all(&dir).expect("target/c-header is writable");
    dir
}

fn header_dir() -> PathBuf {
    workspace_root().join("generated").join("c")
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn c_plugin_matches_the_description() {
    let mut args: Vec<String> = FLAGS.iter().map(ToString::to_string).collect();
    args.extend(linker_flags());
    let wasm = scratch_dir().join("c-plugin.wasm");
    let source = workspace_root().join("tests/plugins/c-plugin/plugin.c");
    args.extend([
        "-O2".into(),
        "-Wl,--no-entry".into(),
        "-Wl,--export-dynamic".into(),
        "-I".into(),
        text(&header_dir()),
        "-o".into(),
        text(&wasm),
        text(&source),
    ]);
    clang(&args);

    let bytes = std::fs::read(&wasm).expect("clang wrote the module");
    let report = check_module(&bytes);
    report.assert_ok();
    let v021: Version = "0.2.1".parse().expect("a version");
    assert_eq!(report.versions, vec![v021], "{report}");
    assert_eq!(
        report.function_imports(),
        ["proxy_add_header_map_value", "proxy_log"],
        "{report}"
    );
    assert!(report.imports.iter().all(|i| i.module == "env"), "{report}");
    let exports = report.function_exports();
    for name in [
        "proxy_abi_version_0_2_1",
        "proxy_on_memory_allocate",
        "proxy_on_request_headers",
    ] {
        assert!(
            exports.iter().any(|e| e == name),
            "{name} is not exported:\n{report}"
        );
    }
    assert!(
        report
            .undefined_exports
            .iter()
            .all(|e| !matches!(e.kind, proxy_wasm_abi_tests::Kind::Func(_))),
        "functions exported that the description does not define:\n{report}"
    );

    // And the project's own linter, as a C SDK author would run it.
    let abi = proxy_wasm_abi_spec::standard();
    let lint = proxy_wasm_abi_tools::lint::lint(&abi, &bytes, None).expect("the module is wasm");
    assert!(
        lint.is_clean(),
        "the linter finds problems in the C plugin:\n{lint}"
    );
    assert_eq!(lint.checked, v021, "{lint}");
    assert!(lint.runnable().contains(&v021), "{lint}");
}

#[test]
fn every_header_compiles_on_its_own() {
    let base: Vec<String> = FLAGS.iter().map(ToString::to_string).collect();
    require_clang();
    let abi = proxy_wasm_abi_spec::standard();
    assert!(!abi.versions.is_empty());
    for &version in &abi.versions {
        let header = workspace_root().join("generated").join(c::path(version));
        assert!(
            header.is_file(),
            "{} is missing; run `cargo abi generate`",
            header.display()
        );
        let unit = scratch_dir().join(format!("v{version}.c"));
        std::fs::write(
            &unit,
            format!(
                "#include \"{}\"\nproxy_status_t check(void);\nproxy_status_t check(void) {{ return PROXY_STATUS_OK; }}\n",
                header.display()
            ),
        )
        .expect("target/c-header is writable");
        for extra in [None, Some("-DPROXY_WASM_NO_WASI_IMPORTS")] {
            let mut args = base.clone();
            args.push("-fsyntax-only".into());
            args.extend(extra.map(String::from));
            args.push(text(&unit));
            clang(&args);
        }
    }
}
