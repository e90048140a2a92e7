//! The published crates, used as a user would use them.
//!
//! `cargo package` makes the `.crate` files of the five published crates,
//! which are unpacked; then two crates outside the workspace that name
//! `proxy-wasm-abi` by version only are built against them:
//!
//! - `tests/plugins/packaged/plugin`: a `cdylib` on the guest bindings
//!   (`guest!`), built in release for `wasm32-wasip1`;
//! - `tests/plugins/packaged/host`: a binary on the wasmtime host bindings
//!   (`host!`), which runs the plugin and prints what it did.
//!
//! Their manifests hold no `[patch]`: a user copying them gets a working
//! file. The test points cargo at the unpacked crates on the command line,
//! one `--config 'patch.crates-io.<name>.path="..."'` per crate, and builds
//! with `--locked` against their checked-in `Cargo.lock`s (which were made
//! with that patch).
//!
//! Directories, all under `target/`:
//!
//! - `packaged-test/package/`: what `cargo package` writes;
//! - `packaged-test/unpacked/`: the unpacked crates, each next to a copy of
//!   the `.crate` it came from, so that an unchanged crate is not unpacked
//!   again (and cargo does not rebuild it);
//! - `packaged-build/`: `CARGO_TARGET_DIR` of both builds, kept between runs
//!   so that wasmtime compiles once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use proxy_wasm_abi_tests::{PLUGIN_TARGET, check_module, ensure_plugin_target, workspace_root};

/// The published crates, as `cargo package -p` names them.
const PUBLISHED: [&str; 5] = [
    "proxy-wasm-abi-spec",
    "proxy-wasm-abi-codegen",
    "proxy-wasm-abi-macros",
    "proxy-wasm-abi",
    "proxy-wasm-abi-tools",
];

/// The published crates the user crates depend on (directly or through
/// `proxy-wasm-abi`); each is patched to its unpacked directory.
const PATCHED: [&str; 4] = [
    "proxy-wasm-abi",
    "proxy-wasm-abi-macros",
    "proxy-wasm-abi-codegen",
    "proxy-wasm-abi-spec",
];

/// The version every published crate has.
const VERSION: &str = "0.1.0";

/// What the host prints for the plugin: every log line, the header it
/// added, and the action `proxy_on_request_headers` answered.
const EXPECTED_OUTPUT: &str = "\
log Info: packaged-plugin started on ABI 0.2.1
log Debug: root context 1 created (parent 0)
log Debug: stream context 2 created (parent 1)
log Info: stream 2: 3 request header(s), end_of_stream true; added x-packaged: yes
header HttpRequestHeaders: x-packaged: yes
proxy_on_request_headers: Continue
";

/// `target/packaged-test`: the package output and the unpacked crates.
fn package_dir() -> PathBuf {
    workspace_root().join("target").join("packaged-test")
}

/// `target/packaged-build`: the target directory of both user crates.
fn build_dir() -> PathBuf {
    workspace_root().join("target").join("packaged-build")
}

/// `tests/plugins/packaged/<name>`.
fn user_crate(name: &str) -> PathBuf {
    workspace_root()
        .join("tests")
        .join("plugins")
        .join("packaged")
        .join(name)
}

/// The cargo running these tests, so that everything is built by the same toolchain.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `command`, panicking with its stderr (and `hint`, if any) unless it succeeds.
fn run(command: &mut Command, what: &str, hint: impl Fn(&str) -> String) -> Output {
    eprintln!("{what}");
    let started = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: cannot run {command:?}: {error}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stderr}{}",
        output.status,
        hint(&stderr)
    );
    eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    output
}

/// For [`run`]: nothing to add to a failure.
fn no_hint(_stderr: &str) -> String {
    String::new()
}

/// Packages the published crates and unpacks them (once per process);
/// returns the directory holding `<name>-<version>/` for each.
fn unpacked() -> &'static Path {
    static UNPACKED: OnceLock<PathBuf> = OnceLock::new();
    UNPACKED.get_or_init(package_and_unpack)
}

fn package_and_unpack() -> PathBuf {
    let root = workspace_root();
    let mut command = Command::new(cargo());
    command.args(["package", "--no-verify", "--allow-dirty"]);
    for name in PUBLISHED {
        command.args(["-p", name]);
    }
    command
        .arg("--target-dir")
        .arg(package_dir())
        .current_dir(&root);
    run(&mut command, "packaging the published crates", no_hint);

    let unpacked = package_dir().join("unpacked");
    std::fs::create_dir_all(&unpacked)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", unpacked.display()));
    for name in PUBLISHED {
        let file = package_dir()
            .join("package")
            .join(format!("{name}-{VERSION}.crate"));
        unpack(&file, &unpacked);
    }
    unpacked
}

/// Unpacks the `.crate` `file` into `into`, unless the copy of it kept
/// there from the last unpacking is identical.
///
/// Files in a `.crate` carry a fixed modification time (2006), older than
/// any build: unpacked as they are, a changed crate would look unchanged to
/// cargo, which compares source and build times. So a changed crate is
/// unpacked afresh with `tar -m` (files dated now), and an unchanged one is
/// left alone so that nothing is rebuilt.
fn unpack(file: &Path, into: &Path) {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let stem = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_else(|| panic!("{}: no file name", file.display()));
    let dir = into.join(stem);
    let copy = into.join(format!("{stem}.crate"));
    if dir.is_dir() && std::fs::read(&copy).is_ok_and(|kept| kept == bytes) {
        return;
    }
    // The copy goes first and comes back last, so that an interrupted
    // unpacking is redone next time.
    let _ = std::fs::remove_file(&copy);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
    }
    let mut tar = Command::new("tar");
    tar.args(["-x", "-z", "-m", "-f"])
        .arg(file)
        .arg("-C")
        .arg(into);
    run(&mut tar, &format!("unpacking {stem}.crate"), no_hint);
    assert!(
        dir.join("Cargo.toml").is_file(),
        "{} did not unpack to {}",
        file.display(),
        dir.display()
    );
    std::fs::write(&copy, &bytes).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
}

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One `--config` value per patched crate, pointing crates.io's at its
/// unpacked directory.
fn patch_configs(unpacked: &Path) -> Vec<String> {
    PATCHED
        .iter()
        .map(|name| {
            let dir = unpacked.join(format!("{name}-{VERSION}"));
            let dir = dir
                .to_str()
                .unwrap_or_else(|| panic!("{} is not UTF-8", dir.display()));
            format!("patch.crates-io.{name}.path={}", toml_string(dir))
        })
        .collect()
}

/// Builds the user crate `tests/plugins/packaged/<name>` with `extra` cargo
/// arguments, the patch, `--locked`, into [`build_dir`].
fn build_user_crate(name: &str, extra: &[&str]) {
    let dir = user_crate(name);
    let manifest = dir.join("Cargo.toml");
    let configs = patch_configs(unpacked());
    let mut command = Command::new(cargo());
    command
        .args(["build", "--locked"])
        .args(extra)
        .arg("--manifest-path")
        .arg(&manifest);
    for config in &configs {
        command.arg("--config").arg(config);
    }
    command
        // From the crate's directory, so the workspace's rust-toolchain.toml applies.
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", build_dir())
        // Flags meant for the outer build must not leak into these builds.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    let refresh = |stderr: &str| {
        if !stderr.contains("--locked") {
            return String::new();
        }
        let configs: Vec<String> = configs
            .iter()
            .map(|config| format!(" \\\n    --config '{config}'"))
            .collect();
        format!(
            "\nhint: tests/plugins/packaged/{name}/Cargo.lock is out of date; refresh it \
             (from the workspace root, after this test has unpacked the crates) with\n  \
             cargo fetch --manifest-path tests/plugins/packaged/{name}/Cargo.toml{}\n\
             and commit it",
            configs.concat()
        )
    };
    let output = run(
        &mut command,
        &format!("building tests/plugins/packaged/{name} against the packaged crates"),
        refresh,
    );
    // A patch cargo did not use means the build took a crate from elsewhere.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("was not used in the crate graph"),
        "a patch to a packaged crate was not used building {name}:\n{stderr}"
    );
}

/// Every dependency a `Cargo.toml` gives by path, and every `[patch]` or
/// `[replace]` table, as `line N: text`. A line scanner, enough for the
/// manifests cargo writes into packages and the two user crates'.
fn path_dependencies(manifest: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_dependencies = false;
    for (number, raw) in manifest.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').trim();
            let parts: Vec<&str> = header.split('.').map(str::trim).collect();
            if matches!(parts.first(), Some(&("patch" | "replace"))) {
                found.push(format!("line {}: {raw}", number + 1));
            }
            in_dependencies = parts.iter().any(|part| part.ends_with("dependencies"));
            continue;
        }
        if in_dependencies && has_path_key(line) {
            found.push(format!("line {}: {raw}", number + 1));
        }
    }
    found
}

/// Whether `line` sets a key `path` (`path = `, `{ path = `, `x.path = `).
fn has_path_key(line: &str) -> bool {
    line.match_indices("path").any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + "path".len()..].trim_start();
        matches!(before, None | Some(' ' | '\t' | '{' | ',' | '.')) && after.starts_with('=')
    })
}

#[test]
fn the_path_scanner_finds_path_dependencies() {
    let manifest = r#"
[lib]
path = "src/lib.rs"

[dependencies]
a = { version = "1", path = "../a" }
b = "1"
c.path = "../c"
d = { version = "1", features = ["xpath"] }

[dependencies.e]
version = "1"
path = "../e"

[target.'cfg(unix)'.dev-dependencies]
f = {path="../f"}

[patch.crates-io]
g = { version = "1" }
"#;
    let found = path_dependencies(manifest);
    assert_eq!(found.len(), 5, "{found:#?}");
    for expected in ["../a", "../c", "../e", "../f", "[patch.crates-io]"] {
        assert!(
            found.iter().any(|line| line.contains(expected)),
            "{expected} not found: {found:#?}"
        );
    }
}

#[test]
fn user_crates_name_the_published_crates_by_version_only() {
    for name in ["plugin", "host"] {
        let manifest = user_crate(name).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let found = path_dependencies(&text);
        assert!(
            found.is_empty(),
            "{} must name the published crates as a user would, by version, \
             with no [patch] (the test passes it on the command line):\n{}",
            manifest.display(),
            found.join("\n")
        );
        assert!(
            text.contains(&format!("proxy-wasm-abi = {{ version = \"{VERSION}\"")),
            "{} does not depend on proxy-wasm-abi {VERSION} by version",
            manifest.display()
        );
    }
}

#[test]
fn packaged_crates_have_no_path_dependencies() {
    let unpacked = unpacked();
    for name in PUBLISHED {
        let manifest = unpacked
            .join(format!("{name}-{VERSION}"))
            .join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let found = path_dependencies(&text);
        assert!(
            found.is_empty(),
            "the packaged {name} has path dependencies or patches:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn a_plugin_on_the_packaged_crates_runs_on_a_host_on_them() {
    ensure_plugin_target();
    build_user_crate("plugin", &["--release", "--target", PLUGIN_TARGET]);
    build_user_crate("host", &[]);

    let wasm = build_dir()
        .join(PLUGIN_TARGET)
        .join("release")
        .join("packaged_plugin.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    check_module(&bytes).assert_ok();

    let host = build_dir()
        .join("debug")
        .join(format!("packaged-host{}", std::env::consts::EXE_SUFFIX));
    let output = run(
        Command::new(&host).arg(&wasm),
        "running the packaged plugin on the packaged host",
        no_hint,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout, EXPECTED_OUTPUT, "what the host recorded");
}
