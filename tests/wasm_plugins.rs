//! Plugins compiled to wasm and checked against the description.
//!
//! `tests/plugins/guest-plugin` is written only against the generated guest
//! bindings; `tests/plugins/sdk-plugin` does the same on the official
//! `proxy-wasm` SDK. Both are built for `wasm32-wasip1` (see
//! `proxy_wasm_abi_tests::build_plugin`) and their imports and exports are
//! compared with the description of the version they declare
//! (`proxy_wasm_abi_tests::check_module`). Hand-assembled modules show that
//! the checker catches what it should.

use std::collections::BTreeSet;

use proxy_wasm_abi_tests::{FuncSig, Kind, Problem, Report, build_plugin, check_module};

fn v0_2_1() -> proxy_wasm_abi_spec::Version {
    "0.2.1".parse().expect("a version")
}

/// Builds a plugin and checks it, printing the report.
fn built_and_checked(name: &str) -> (Vec<u8>, Report) {
    let path = build_plugin(name);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let report = check_module(&wasm);
    eprintln!("--- {name} ({} bytes) ---\n{report}", wasm.len());
    (wasm, report)
}

#[test]
fn guest_plugin_conforms_to_0_2_1() {
    let (_, report) = built_and_checked("guest-plugin");
    report.assert_ok();
    assert_eq!(report.versions, [v0_2_1()], "declares exactly 0.2.1");
    assert_eq!(
        report
            .exports
            .iter()
            .filter(|e| e.name.starts_with("proxy_abi_version_"))
            .count(),
        1
    );
    assert!(report.memory_exported);
    assert!(report.deprecated_imports.is_empty());

    // Every import and every callback export, compared one by one.
    let abi = proxy_wasm_abi_spec::standard();
    let spec = abi.at(v0_2_1()).expect("0.2.1 is declared");
    for import in &report.imports {
        let function = spec
            .function(&import.qualified_name())
            .filter(|f| f.module() == Some(import.module.as_str()))
            .unwrap_or_else(|| panic!("{import} is not a host function of 0.2.1"));
        assert_eq!(import.kind, Kind::Func(FuncSig::of(function)), "{import}");
    }
    let mut exported = BTreeSet::new();
    for callback in spec.callbacks() {
        if let Some(export) = report.export(&callback.name) {
            assert_eq!(export.kind, Kind::Func(FuncSig::of(callback)), "{export}");
            exported.insert(callback.name.as_str());
        }
    }
    // `export_callbacks!` exports the marker and every callback, except the
    // module-loading entry points and the deprecated `malloc`.
    let not_exported = ["_initialize", "main", "_start", "malloc"];
    let all_but: BTreeSet<&str> = spec
        .callbacks()
        .map(|f| f.name.as_str())
        .filter(|name| !not_exported.contains(name))
        .collect();
    assert_eq!(exported, all_but, "exported callbacks");
    assert!(
        report.undefined_exports.is_empty(),
        "exports the description does not define: {:?}",
        report.undefined_exports
    );

    // The host allocates returned buffers through this export.
    assert_eq!(
        report
            .export("proxy_on_memory_allocate")
            .map(|e| e.kind.to_string()),
        Some("func (i32) -> i32".to_string())
    );

    // Exactly the host functions the plugin uses, and no WASI function
    // beyond what the Rust runtime needs (all of it defined by the spec).
    let imports: BTreeSet<String> = report.function_imports().into_iter().collect();
    let expected: BTreeSet<String> = [
        "proxy_add_header_map_value",
        "proxy_get_buffer_bytes",
        "proxy_get_header_map_value",
        "proxy_log",
        "proxy_set_tick_period_milliseconds",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let env: BTreeSet<String> = imports
        .iter()
        .filter(|name| !name.contains('.'))
        .cloned()
        .collect();
    assert_eq!(env, expected, "env imports");
    let wasi: BTreeSet<&str> = imports
        .iter()
        .filter_map(|name| name.strip_prefix("wasi_snapshot_preview1."))
        .collect();
    let from_std: BTreeSet<&str> = WASI_FROM_STD.iter().copied().collect();
    assert_eq!(wasi, from_std, "WASI imports");
    assert_eq!(
        imports.len(),
        env.len() + wasi.len(),
        "imports from a module other than env and wasi_snapshot_preview1: {imports:?}"
    );
}

/// The WASI functions Rust's `std` on wasm32-wasip1 imports into a plugin
/// that never prints: the panic and allocation-failure paths write to stderr,
/// read the environment (`RUST_BACKTRACE`) and exit. The description defines
/// each of them (and the checker has already verified their types).
const WASI_FROM_STD: &[&str] = &["environ_get", "environ_sizes_get", "fd_write", "proc_exit"];

#[test]
fn sdk_plugin_host_functions_are_the_description() {
    let (_, report) = built_and_checked("sdk-plugin");
    eprintln!("sdk-plugin imports:");
    for import in &report.imports {
        eprintln!("  {import}");
    }
    eprintln!("sdk-plugin exports:");
    for export in &report.exports {
        eprintln!("  {export}");
    }
    for (import, replacement) in &report.deprecated_imports {
        let instead = replacement.as_deref().unwrap_or("nothing named");
        eprintln!("sdk-plugin imports deprecated {import} (instead: {instead})");
    }
    assert_eq!(report.versions.len(), 1, "one declared version");
    // The lockstep proof: every host function the real SDK imports is one the
    // description defines for that version, with the identical wasm type.
    let import_problems: Vec<&Problem> = report
        .problems
        .iter()
        .filter(|p| {
            matches!(
                p,
                Problem::UndefinedImport { .. }
                    | Problem::ImportSignature { .. }
                    | Problem::NonFunctionImport(_)
            )
        })
        .collect();
    assert!(
        import_problems.is_empty(),
        "the SDK imports what the description does not define:\n{import_problems:#?}"
    );
    assert!(
        report.function_imports().len() >= 5,
        "the SDK plugin uses at least the five host functions of the logic"
    );
    // Its callbacks and memory agree too.
    report.assert_ok();
}

#[test]
fn plugin_sizes() {
    let sizes: Vec<(&str, u64)> = ["guest-plugin", "sdk-plugin"]
        .into_iter()
        .map(|name| {
            let path = build_plugin(name);
            let size = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .len();
            (name, size)
        })
        .collect();
    eprintln!("wasm sizes (release, opt-level s, LTO, stripped):");
    for (name, size) in &sizes {
        eprintln!("  {name:<13} {size:>8} bytes");
    }
}

// ---------------------------------------------------------------------------
// The checker on hand-assembled modules
// ---------------------------------------------------------------------------

/// A tiny wasm module assembler: function imports, function exports with
/// trivial bodies, and optionally an exported memory.
#[derive(Default)]
struct Module {
    types: Vec<(Vec<u8>, Vec<u8>)>,
    imports: Vec<(String, String, u32)>,
    functions: Vec<(String, u32)>,
    memory: bool,
}

const I32: u8 = 0x7f;
const I64: u8 = 0x7e;

impl Module {
    fn type_index(&mut self, params: &[u8], results: &[u8]) -> u32 {
        let ty = (params.to_vec(), results.to_vec());
        match self.types.iter().position(|t| *t == ty) {
            Some(i) => i as u32,
            None => {
                self.types.push(ty);
                (self.types.len() - 1) as u32
            }
        }
    }

    fn import(mut self, module: &str, name: &str, params: &[u8], results: &[u8]) -> Self {
        let ty = self.type_index(params, results);
        self.imports.push((module.into(), name.into(), ty));
        self
    }

    fn export(mut self, name: &str, params: &[u8], results: &[u8]) -> Self {
        let ty = self.type_index(params, results);
        self.functions.push((name.into(), ty));
        self
    }

    fn memory(mut self) -> Self {
        self.memory = true;
        self
    }

    fn encode(&self) -> Vec<u8> {
        fn leb(mut n: u32, out: &mut Vec<u8>) {
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        fn name(s: &str, out: &mut Vec<u8>) {
            leb(s.len() as u32, out);
            out.extend_from_slice(s.as_bytes());
        }
        fn section(id: u8, count: usize, body: Vec<u8>, out: &mut Vec<u8>) {
            let mut content = Vec::new();
            leb(count as u32, &mut content);
            content.extend(body);
            out.push(id);
            leb(content.len() as u32, out);
            out.extend(content);
        }

        let mut out = b"\0asm\x01\0\0\0".to_vec();
        let mut body = Vec::new();
        for (params, results) in &self.types {
            body.push(0x60);
            leb(params.len() as u32, &mut body);
            body.extend(params);
            leb(results.len() as u32, &mut body);
            body.extend(results);
        }
        section(1, self.types.len(), body, &mut out);

        let mut body = Vec::new();
        for (module, field, ty) in &self.imports {
            name(module, &mut body);
            name(field, &mut body);
            body.push(0x00);
            leb(*ty, &mut body);
        }
        section(2, self.imports.len(), body, &mut out);

        let mut body = Vec::new();
        for (_, ty) in &self.functions {
            leb(*ty, &mut body);
        }
        section(3, self.functions.len(), body, &mut out);

        if self.memory {
            section(5, 1, vec![0x00, 0x01], &mut out);
        }

        let mut body = Vec::new();
        let first = self.imports.len() as u32;
        for (i, (export, _)) in self.functions.iter().enumerate() {
            name(export, &mut body);
            body.push(0x00);
            leb(first + i as u32, &mut body);
        }
        if self.memory {
            name("memory", &mut body);
            body.extend([0x02, 0x00]);
        }
        section(
            7,
            self.functions.len() + usize::from(self.memory),
            body,
            &mut out,
        );

        let mut body = Vec::new();
        for (_, ty) in &self.functions {
            // No locals; push a zero of the result type, if any; end.
            let mut code = vec![0x00];
            match self.types[*ty as usize].1.first() {
                Some(&I64) => code.extend([0x42, 0x00]),
                Some(_) => code.extend([0x41, 0x00]),
                None => {}
            }
            code.push(0x0b);
            leb(code.len() as u32, &mut body);
            body.extend(code);
        }
        section(10, self.functions.len(), body, &mut out);
        out
    }
}

#[test]
fn checker_accepts_a_conforming_module() {
    let wasm = Module::default()
        .import("env", "proxy_log", &[I32, I32, I32], &[I32])
        .import("env", "proxy_record_metric", &[I32, I64], &[I32])
        .import("wasi_snapshot_preview1", "fd_write", &[I32; 4], &[I32])
        .import("env", "proxy_get_current_time_nanoseconds", &[I32], &[I32])
        .export("proxy_abi_version_0_2_1", &[], &[])
        .export("proxy_on_memory_allocate", &[I32], &[I32])
        .export("proxy_on_request_headers", &[I32, I32, I32], &[I32])
        .export("my_helper", &[], &[])
        .memory()
        .encode();
    let report = check_module(&wasm);
    report.assert_ok();
    assert_eq!(report.versions, [v0_2_1()]);
    assert_eq!(
        report.function_imports(),
        [
            "proxy_get_current_time_nanoseconds",
            "proxy_log",
            "proxy_record_metric",
            "wasi_snapshot_preview1.fd_write"
        ]
    );
    let deprecated: Vec<(&str, Option<&str>)> = report
        .deprecated_imports
        .iter()
        .map(|(import, instead)| (import.name.as_str(), instead.as_deref()))
        .collect();
    assert_eq!(
        deprecated,
        [(
            "proxy_get_current_time_nanoseconds",
            Some("wasi_snapshot_preview1.clock_time_get")
        )]
    );
    let undefined: Vec<&str> = report
        .undefined_exports
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(undefined, ["my_helper"]);
}

#[test]
fn checker_reports_every_disagreement() {
    let wasm = Module::default()
        .import("env", "proxy_log", &[I32, I32, I32], &[I32])
        // Five parameters in the spec; four here.
        .import("env", "proxy_get_header_map_value", &[I32; 4], &[I32])
        // A 64-bit value passed as i32.
        .import("env", "proxy_record_metric", &[I32, I32], &[I32])
        .import("env", "proxy_no_such_function", &[], &[])
        // Removed in 0.2.0.
        .import("env", "proxy_get_configuration", &[I32, I32], &[I32])
        // A real WASI function the spec does not define.
        .import("wasi_snapshot_preview1", "fd_close", &[I32], &[I32])
        // Defined, but from another module.
        .import(
            "wasi_snapshot_preview1",
            "proxy_log",
            &[I32, I32, I32],
            &[I32],
        )
        .export("proxy_abi_version_0_2_1", &[], &[])
        // `proxy_on_tick` returns nothing.
        .export("proxy_on_tick", &[I32], &[I32])
        .encode();
    let report = check_module(&wasm);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "no memory exported as `memory`",
            "0.2.1: imports env.proxy_get_header_map_value: func (i32, i32, i32, i32) -> i32, \
             but 0.2.1 defines it as (i32, i32, i32, i32, i32) -> i32",
            "0.2.1: imports env.proxy_record_metric: func (i32, i32) -> i32, \
             but 0.2.1 defines it as (i32, i64) -> i32",
            "0.2.1: imports env.proxy_no_such_function: func (), which 0.2.1 does not define",
            "0.2.1: imports env.proxy_get_configuration: func (i32, i32) -> i32, \
             which 0.2.1 does not define",
            "0.2.1: imports wasi_snapshot_preview1.fd_close: func (i32) -> i32, \
             which 0.2.1 does not define",
            "0.2.1: imports wasi_snapshot_preview1.proxy_log: func (i32, i32, i32) -> i32, \
             which 0.2.1 does not define",
            "0.2.1: exports proxy_on_tick as (i32) -> i32, but 0.2.1 defines it as (i32)",
        ]
    );
    assert!(!report.is_ok());
}

#[test]
fn checker_wants_exactly_one_known_version_marker() {
    let module = || Module::default().memory();
    let problems = |wasm: Vec<u8>| -> Vec<Problem> { check_module(&wasm).problems };

    assert_eq!(problems(module().encode()), [Problem::NoVersionMarker]);
    assert_eq!(
        problems(
            module()
                .export("proxy_abi_version_0_3_0", &[], &[])
                .encode()
        ),
        [Problem::UnknownVersion("proxy_abi_version_0_3_0".into())]
    );
    let both = module()
        .export("proxy_abi_version_0_2_0", &[], &[])
        .export("proxy_abi_version_0_2_1", &[], &[])
        .encode();
    assert_eq!(
        problems(both),
        [Problem::SeveralVersionMarkers(vec![
            "0.2.0".parse().unwrap(),
            v0_2_1()
        ])]
    );
    // 0.1.0 had proxy_get_configuration; 0.2.1 does not.
    let old = module()
        .import("env", "proxy_get_configuration", &[I32, I32], &[I32])
        .export("proxy_abi_version_0_1_0", &[], &[])
        .encode();
    assert!(check_module(&old).is_ok());
    assert!(!check_module(b"not wasm").is_ok());
}
