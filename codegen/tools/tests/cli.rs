//! The `proxy-wasm-abi` binary: exit codes and the messages people see.

use std::path::PathBuf;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proxy-wasm-abi"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("proxy-wasm-abi-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn generate_then_check_then_detect_staleness() {
    let dir = temp_dir("gen");
    let out = dir.to_str().unwrap();
    let generated = cli(&["generate", "--out", out]);
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    assert!(dir.join("json/v0.2.1.json").exists());
    assert!(dir.join("markdown/v0.1.0.md").exists());

    let clean = cli(&["check", "--out", out]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));

    std::fs::write(dir.join("markdown/v0.2.0.md"), "edited by hand\n").unwrap();
    std::fs::write(dir.join("leftover.txt"), "old\n").unwrap();
    std::fs::remove_file(dir.join("json/v0.1.0.json")).unwrap();
    let stale = cli(&["check", "--out", out]);
    assert_eq!(stale.status.code(), Some(1));
    let err = text(&stale.stderr);
    assert!(err.contains("out of date: markdown/v0.2.0.md"), "{err}");
    assert!(err.contains("missing: json/v0.1.0.json"), "{err}");
    assert!(err.contains("no longer generated: leftover.txt"), "{err}");
    assert!(err.contains("run `cargo abi generate`"), "{err}");

    let regenerated = cli(&["generate", "--out", out]);
    assert!(regenerated.status.success());
    assert!(!dir.join("leftover.txt").exists());
    assert_eq!(cli(&["check", "--out", out]).status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_prints_changes() {
    let out = cli(&["diff", "0.2.0", "0.2.1"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "Changes from 0.2.0 to 0.2.1: 3\n  function removed: proxy_abi_version_0_2_0\n  \
         function added: proxy_abi_version_0_2_1: ()\n  \
         function added: proxy_get_log_level: (i32 return_log_level) -> i32 status\n"
    );
    let json = cli(&["diff", "0.1.0", "0.2.0", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["changes"].as_array().unwrap().len(), 20);
}

#[test]
fn unknown_version_is_one_clear_line() {
    let undeclared =
        "error: `proxy_wasm` has no version `0.9.9` (it has `0.1.0`, `0.2.0`, `0.2.1`)\n";
    let out = cli(&["diff", "0.2.0", "0.9.9"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), undeclared);
    // The same words wherever a version is asked for.
    let dump = cli(&["dump", "--version", "0.9.9"]);
    assert_eq!(dump.status.code(), Some(2));
    assert_eq!(text(&dump.stderr), undeclared);
    let lint = cli(&["lint", "plugin.wasm", "--version", "0.9.9"]);
    assert_eq!(lint.status.code(), Some(2));
    assert_eq!(text(&lint.stderr), undeclared);
    let bad = cli(&["dump", "--version", "two"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        text(&bad.stderr),
        "error: `two` is not a version: expected three numbers like `0.2.1`\n"
    );
}

#[test]
fn dump_prints_json_and_markdown() {
    let json = cli(&["dump", "--version", "0.1.0", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["version"], "0.1.0");
    let md = cli(&["dump", "--format", "md"]);
    assert!(text(&md.stdout).contains("# Proxy-Wasm ABI v0.2.1"));
    assert!(text(&md.stdout).contains("Changes from v0.2.0 to v0.2.1"));
}

#[test]
fn a_broken_custom_description_reports_file_line_column() {
    let dir = temp_dir("spec");
    let spec = dir.join("mine.abi");
    std::fs::write(
        &spec,
        "abi mine {\n    versions 1.0.0;\n}\nsection s \"S\" {\n    hostcall f(x: u33);\n}\n",
    )
    .unwrap();
    let out = cli(&["--spec", spec.to_str().unwrap(), "summary"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("--> {}:5:19", spec.display())),
        "{err}"
    );
    assert!(err.contains("unknown type `u33`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_custom_description_is_one_clear_line() {
    let spec = temp_dir("missing-spec").join("missing.abi");
    let out = cli(&["--spec", spec.to_str().unwrap(), "summary"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("error: cannot read {}: ", spec.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn summary_counts_each_version() {
    let out = cli(&["summary"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("0.1.0                48         30     10           47"),
        "{table}"
    );
    assert!(
        table.contains("0.2.1                47         31     11           54"),
        "{table}"
    );
}

/// `run`: a plugin that ran exits 0, one that failed 1, one that cannot be
/// loaded 2; `--format json` prints JSON.
#[cfg(feature = "run")]
mod run {
    use super::{cli, temp_dir, text};

    /// A v0.2.1 plugin whose `proxy_on_vm_start` answers `accept`.
    fn plugin(accept: bool) -> Vec<u8> {
        let accept = u32::from(accept);
        wat::parse_str(format!(
            r#"(module
                (memory (export "memory") 1)
                (func (export "proxy_abi_version_0_2_1"))
                (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
                (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const {accept})))"#
        ))
        .expect("valid WAT")
    }

    fn write(name: &str, bytes: &[u8]) -> String {
        let path = temp_dir(name).join("plugin.wasm");
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    }

    #[test]
    fn exit_codes_say_whether_the_plugin_ran() {
        let ran = cli(&["run", &write("accept", &plugin(true)), "--format", "json"]);
        assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
        let json: serde_json::Value =
            serde_json::from_slice(&ran.stdout).expect("--format json prints JSON");
        assert_eq!(json["abi_version"], "0.2.1");
        assert_eq!(json["callbacks"][1]["call"], "proxy_on_vm_start(1, 0)");
        assert_eq!(json["callbacks"][1]["outcome"], "true");

        let rejected = cli(&["run", &write("reject", &plugin(false))]);
        assert_eq!(rejected.status.code(), Some(1));
        assert!(
            text(&rejected.stderr).contains("the plugin rejected its VM configuration"),
            "{}",
            text(&rejected.stderr)
        );

        let broken = cli(&["run", &write("broken", b"not wasm")]);
        assert_eq!(broken.status.code(), Some(2));
        assert!(text(&broken.stderr).contains("not a valid wasm module"));
    }

    /// A v0.2.1 plugin whose `proxy_on_vm_start` asks for the property
    /// `missing` (answered NOT_FOUND) and then traps, as SDKs do on a status
    /// they do not expect.
    fn trips_on_not_found() -> Vec<u8> {
        wat::parse_str(
            r#"(module
                (import "env" "proxy_get_property"
                    (func $get (param i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (data (i32.const 16) "missing")
                (func (export "proxy_abi_version_0_2_1"))
                (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
                (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
                    (if (call $get (i32.const 16) (i32.const 7) (i32.const 64) (i32.const 68))
                        (then unreachable))
                    (i32.const 1)))"#,
        )
        .expect("valid WAT")
    }

    #[test]
    fn a_trap_after_a_failed_host_call_names_the_call() {
        let out = cli(&["run", &write("trips", &trips_on_not_found())]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(
                "proxy_on_vm_start(1, 0) failed: the plugin trapped"
            ) && stderr.contains(
                "(after `proxy_get_property -> NOT_FOUND in proxy_on_vm_start`: a status it may not handle)"
            ),
            "{stderr}"
        );
    }

    #[test]
    fn unmet_expectations_exit_1() {
        let dir = temp_dir("expect");
        let wasm = dir.join("plugin.wasm");
        std::fs::write(&wasm, plugin(true)).unwrap();
        let scenario = dir.join("scenario.toml");
        std::fs::write(
            &scenario,
            "strict = true\n[[request]]\n[[expect]]\ncall = \"proxy_http_call\"\n",
        )
        .unwrap();
        let out = cli(&[
            "run",
            wasm.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr).trim(),
            "expectation failed: expected `proxy_http_call`, but the plugin made no such call"
        );
        assert!(text(&out.stdout).starts_with("== request 1 ==\n"));
    }

    /// A v0.2.1 plugin whose `proxy_on_request_headers` never returns.
    fn runaway() -> Vec<u8> {
        wat::parse_str(
            r#"(module
                (memory (export "memory") 1)
                (func (export "proxy_abi_version_0_2_1"))
                (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
                    (loop $forever (br $forever))
                    (i32.const 0)))"#,
        )
        .expect("valid WAT")
    }

    #[test]
    fn a_runaway_callback_is_stopped_and_failed_closed_on_request() {
        let path = write("runaway", &runaway());
        let stopped = cli(&["run", &path, "--deadline-ms", "100"]);
        assert_eq!(stopped.status.code(), Some(1));
        assert_eq!(
            text(&stopped.stderr).trim(),
            format!(
                "error: {path}: proxy_on_request_headers(2, 3, true) failed: `proxy_on_request_headers` ran past its deadline of 100 ms and was stopped"
            )
        );
        // Going on as Envoy does: the report shows the local 503, and the
        // exit status still says the plugin failed.
        let closed = cli(&[
            "run",
            &path,
            "--deadline-ms",
            "100",
            "--on-failure",
            "fail-closed",
        ]);
        assert_eq!(closed.status.code(), Some(1));
        let report = text(&closed.stdout);
        assert!(
            report.contains("local response: 503 \"wasm_fail_stream\""),
            "{report}"
        );
        assert!(report.contains("plugin failed: "), "{report}");
        // The backtrace only on request.
        let verbose = cli(&["run", &path, "--deadline-ms", "100", "-v"]);
        let lines = text(&verbose.stderr);
        assert!(
            lines.lines().count() > 1 && lines.contains("wasm backtrace"),
            "{lines}"
        );
        let policy = cli(&["run", &path, "--on-failure", "retry"]);
        assert_eq!(policy.status.code(), Some(2));
        assert_eq!(
            text(&policy.stderr).trim(),
            "error: failure policy `retry` is none of stop, fail-closed, fail-open"
        );
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        let path = write("inputs", &plugin(true));
        let level = cli(&["run", &path, "--log-level", "loud"]);
        assert_eq!(level.status.code(), Some(2));
        assert_eq!(
            text(&level.stderr).trim(),
            "error: log level `loud` is none of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL"
        );
        let property = cli(&["run", &path, "--property", "node.id"]);
        assert_eq!(property.status.code(), Some(2));
        assert_eq!(
            text(&property.stderr).trim(),
            "error: property `node.id` is not `path=value`"
        );
    }
}
