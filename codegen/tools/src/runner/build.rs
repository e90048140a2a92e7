//! Building a plugin crate for the runner, from a test: what a plugin
//! author's `cargo test` needs to run the plugin it is testing.
//!
//! ```no_run
//! use std::path::Path;
//! use proxy_wasm_abi_tools::runner::{self, build};
//!
//! let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
//! // Not the target dir `cargo test` holds locked while the tests run.
//! let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugin");
//! let wasm = build::plugin(&manifest, &target_dir, &[]).unwrap();
//! let report = runner::run(&std::fs::read(wasm).unwrap(), &runner::Input::default());
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The target plugins are compiled for.
pub const TARGET: &str = "wasm32-wasip1";

/// Makes sure the active toolchain can build for [`TARGET`]: installs it
/// with `rustup target add` when `rustup` does not list it (a toolchain
/// without rustup whose sysroot has it is accepted). Run from `dir`, so that
/// a `rust-toolchain.toml` there applies. Checked once per process; the
/// error is one line saying how to install it by hand.
pub fn ensure_target(dir: &Path) -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| install_target(dir))
        .clone()
        .map_err(|why| {
            format!(
                "the {TARGET} target is missing and could not be installed ({why}); \
                 install it with `rustup target add {TARGET}` (run in {}) and rerun",
                dir.display()
            )
        })
}

fn install_target(dir: &Path) -> Result<(), String> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .output();
    if let Ok(listed) = &listed
        && listed.status.success()
        && String::from_utf8_lossy(&listed.stdout)
            .lines()
            .any(|line| line.trim() == TARGET)
    {
        return Ok(());
    }
    if listed.is_err() && target_in_sysroot(dir) {
        return Ok(());
    }
    eprintln!("installing the {TARGET} target with rustup");
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(dir)
        .output();
    match added {
        Ok(added) if added.status.success() => Ok(()),
        Ok(added) => Err(String::from_utf8_lossy(&added.stderr)
            .trim()
            .replace('\n', "; ")),
        Err(error) => Err(format!("cannot run rustup: {error}")),
    }
}

/// Whether the active `rustc`'s sysroot holds the target's standard library.
fn target_in_sysroot(dir: &Path) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| {
            let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Path::new(&sysroot)
                .join("lib/rustlib")
                .join(TARGET)
                .join("lib")
                .is_dir()
        })
        .unwrap_or(false)
}

/// `cargo build --release --target wasm32-wasip1` of the crate (or
/// workspace) at `manifest`, into `target_dir`, with `extra` arguments
/// (`--locked`, `-p name`, `--workspace`, ...), and the directory its
/// `.wasm` files land in. The target is installed first ([`ensure_target`]).
/// `RUSTFLAGS` meant for the outer build (coverage, say) are not passed on.
/// A failure is cargo's stderr.
pub fn cargo_build(manifest: &Path, target_dir: &Path, extra: &[&str]) -> Result<PathBuf, String> {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    ensure_target(dir)?;
    // The cargo running the tests, so that the plugin is built by the same toolchain.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--release", "--target", TARGET])
        .args(extra)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .map_err(|error| format!("cannot run {}: {error}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build of {} failed ({}):\n{}",
            manifest.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join(TARGET).join("release"))
}

/// Builds the plugin crate at `manifest` (a `cdylib`) for the runner and
/// returns its `.wasm`: [`cargo_build`] of that one package, named by the
/// manifest's `[package] name`.
pub fn plugin(manifest: &Path, target_dir: &Path, extra: &[&str]) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let name = package_name(&text)
        .ok_or_else(|| format!("{} has no [package] name", manifest.display()))?;
    let mut args = vec!["-p", name.as_str()];
    args.extend_from_slice(extra);
    let wasm =
        cargo_build(manifest, target_dir, &args)?.join(format!("{}.wasm", name.replace('-', "_")));
    if wasm.is_file() {
        Ok(wasm)
    } else {
        Err(format!(
            "{name} built but {} does not exist; is it a cdylib?",
            wasm.display()
        ))
    }
}

/// The `name` of the `[package]` table of a manifest.
fn package_name(manifest: &str) -> Option<String> {
    let value: toml::Table = manifest.parse().ok()?;
    Some(value.get("package")?.get("name")?.as_str()?.to_string())
}
