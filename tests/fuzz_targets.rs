//! The bodies of the fuzz targets in `tests/fuzz/` (libFuzzer, run with
//! `cargo +nightly fuzz`), here so that the normal test suite replays their
//! corpora and a fixed number of generated inputs on stable
//! (`tests/fuzz_replay.rs`): the harness cannot rot unnoticed. Each body
//! asserts a property beyond "no panic".

use std::collections::HashMap;
use std::sync::OnceLock;

use proxy_wasm_abi::serial;
use proxy_wasm_abi_spec::ir::{Abi, Version};
use proxy_wasm_abi_spec::lower::{self, WasmType};
use proxy_wasm_abi_tools::runner::{self, AnyPlugin, ReferenceHost, versions};

/// The description, parsed once.
fn standard() -> &'static Abi {
    static ABI: OnceLock<Abi> = OnceLock::new();
    ABI.get_or_init(proxy_wasm_abi_spec::standard)
}

/// The map codec: decoding never panics, and a map that decodes re-encodes
/// to the same bytes (the two spellings of an empty map aside). Property
/// paths: joining the split segments gives the input back, less one
/// trailing NUL.
pub fn map_codec(data: &[u8]) {
    if let Ok(pairs) = serial::decode_map(data) {
        let again = serial::encode_map(&pairs);
        if !pairs.is_empty() {
            assert_eq!(again, data, "a decoded map re-encodes to its bytes");
        }
        assert_eq!(serial::decode_map(&again).as_deref(), Ok(&pairs[..]));
    }
    let segments = serial::decode_path(data);
    let trimmed = data.strip_suffix(&[0]).unwrap_or(data);
    assert_eq!(serial::encode_path(&segments), trimmed);
}

/// The description parser and validator on any text: no panic; an error
/// points inside the text; a description that validates lowers every
/// function of every version it declares.
pub fn description(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match proxy_wasm_abi_spec::parse("fuzz.abi", text) {
        Ok(abi) => {
            for version in &abi.versions {
                let Some(at) = abi.at(*version) else {
                    continue;
                };
                for function in at.host_functions().chain(at.callbacks()) {
                    let _ = lower::lower(function);
                }
            }
        }
        Err(diagnostics) => {
            let lines = text.lines().count().max(1);
            for diagnostic in diagnostics.iter() {
                let line = diagnostic.location.line;
                assert!(
                    line >= 1 && line <= lines + 1,
                    "line {line} of a {lines}-line text: {diagnostic}"
                );
            }
        }
    }
}

/// The linter on any bytes (and, from the fuzz target, on modules
/// wasm-smith makes): no panic, and a report for every module that
/// validates.
pub fn lint(data: &[u8]) {
    let valid = wasmparser::Validator::new().validate_all(data).is_ok();
    match proxy_wasm_abi_tools::lint::lint(standard(), data, None) {
        Ok(_) => assert!(valid, "an invalid module was linted"),
        Err(proxy_wasm_abi_tools::lint::LintError::Invalid(_)) => {
            assert!(!valid, "a valid module was called invalid")
        }
        Err(_) => {}
    }
}

/// Where the host-call script lives in the fuzz plugin's memory.
const SCRIPT: u32 = 0x1_0000;
/// Where the payload (strings, maps, buffers) lives.
const PAYLOAD: u32 = 0x1000;
/// How many bytes of payload an input can fill.
const PAYLOAD_LEN: usize = 0x8000;
/// Arguments per scripted call (more than any host function takes).
const MAX_ARGS: usize = 8;
/// Bytes per scripted call: the function's index, then its arguments.
const OP_BYTES: u32 = 4 + 8 * MAX_ARGS as u32;
/// Calls per script, at most.
const MAX_OPS: usize = 16;

/// The host boundary: a plugin that, in whichever callback the input
/// picks, calls the v0.2.1 host functions the input lists with the
/// arguments it gives (pointers into or out of its memory, lengths, enum
/// values, raw numbers), on the reference host with the access rules on.
/// Asserts that the host never panics and that every status a host
/// function answers is one the description lists for it.
pub struct HostBoundary {
    engine: wasmtime::Engine,
    module: wasmtime::Module,
    linkers: versions::Linkers,
    /// Each imported host function, in table order.
    functions: Vec<String>,
    /// The statuses the description lists, by host function.
    listed: HashMap<String, Vec<String>>,
}

impl HostBoundary {
    /// Generates the fuzz plugin from the description and compiles it.
    pub fn new() -> HostBoundary {
        let abi = standard();
        let version: Version = "0.2.1".parse().expect("a version");
        let at = abi.at(version).expect("0.2.1 is described");
        let mut imports = String::new();
        let mut ops = String::new();
        let mut functions = Vec::new();
        let mut listed = HashMap::new();
        for (index, function) in at.host_functions().enumerate() {
            let module = function.module().unwrap_or("env");
            let sig = lower::lower(function);
            let types = |values: &[lower::WasmValue]| {
                values
                    .iter()
                    .map(|v| v.wasm.keyword())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            imports.push_str(&format!(
                "  (import \"{module}\" \"{}\" (func $h{index} (param {}) (result {})))\n",
                function.name,
                types(&sig.params),
                types(&sig.results),
            ));
            let args: String = sig
                .params
                .iter()
                .enumerate()
                .map(|(i, v)| match v.wasm {
                    WasmType::I32 => {
                        format!(" (i32.wrap_i64 (i64.load offset={} (local.get 0)))", 8 * i)
                    }
                    WasmType::I64 => format!(" (i64.load offset={} (local.get 0))", 8 * i),
                })
                .collect();
            let drops = "(drop) ".repeat(sig.results.len());
            ops.push_str(&format!(
                "  (func $op{index} (param i32) (call $h{index}{args}) {drops})\n"
            ));
            functions.push(function.name.clone());
            let statuses = function
                .outcomes
                .iter()
                .map(|o| o.value.name().to_string())
                .collect();
            listed.insert(function.name.clone(), statuses);
        }
        // `(result)` with nothing in it is not valid text: drop it.
        let imports = imports.replace(" (result )", "").replace(" (param )", "");
        let table: String = (0..functions.len()).map(|i| format!(" $op{i}")).collect();
        let callbacks: String = at
            .callbacks()
            .filter(|c| !c.is_marker && c.role.is_none())
            .map(|c| {
                let sig = lower::lower(c);
                let params = sig
                    .params
                    .iter()
                    .map(|v| format!(" {}", v.wasm.keyword()))
                    .collect::<String>();
                let (result, value) = match sig.results.first().map(|v| v.wasm) {
                    None => (String::new(), ""),
                    Some(WasmType::I32) => (" (result i32)".to_string(), " (i32.const 1)"),
                    Some(WasmType::I64) => (" (result i64)".to_string(), " (i64.const 0)"),
                };
                // Callbacks that answer an action answer CONTINUE (0); a
                // bool answers true (1).
                let value = if c
                    .result
                    .as_ref()
                    .is_some_and(|r| matches!(r.ty, proxy_wasm_abi_spec::ir::Type::Enum(_)))
                {
                    " (i32.const 0)"
                } else {
                    value
                };
                format!(
                    "  (func (export \"{}\") (param{params}){result} (call $run){value})\n",
                    c.name
                )
            })
            .collect();
        let wat = format!(
            r#"(module
{imports}  (memory (export "memory") 4)
  (type $op (func (param i32)))
  (table {count} funcref)
  (elem (i32.const 0){table})
  (global $heap (mut i32) (i32.const 0x20000))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $heap))
    (if (i32.gt_u (local.get 0) (i32.const 0x10000)) (then (return (i32.const 0))))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get 0) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (global.get $heap) (i32.const 0x3f000)) (then (global.set $heap (i32.const 0x20000))))
    (local.get $at))
  (func $run (local $i i32) (local $p i32) (local $n i32)
    (local.set $n (i32.load (i32.const {SCRIPT})))
    (local.set $p (i32.const {first}))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call_indirect (type $op) (i32.add (local.get $p) (i32.const 4)) (i32.load (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const {OP_BYTES})))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
{ops}{callbacks})"#,
            count = functions.len(),
            first = SCRIPT + 4,
        );
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, &wat)
            .unwrap_or_else(|e| panic!("the fuzz plugin compiles: {e:#}\n{wat}"));
        let linkers = versions::Linkers::new(&engine).expect("the linkers");
        HostBoundary {
            engine,
            module,
            linkers,
            functions,
            listed,
        }
    }

    /// One input: up to four rounds, each a callback and its script.
    /// Returns the host calls made, each with the status it got.
    pub fn run(&self, data: &[u8]) -> Vec<(String, Option<String>)> {
        let mut input = Input(data);
        let mut store = wasmtime::Store::new(&self.engine, ReferenceHost::default());
        store.data_mut().plugin.trace_host_calls(true);
        store
            .data_mut()
            .plugin_contexts
            .insert(runner::ROOT_CONTEXT);
        let plugin = AnyPlugin::instantiate(&mut store, &self.linkers, &self.module)
            .expect("the fuzz plugin instantiates");
        let (root, stream) = (runner::ROOT_CONTEXT, runner::STREAM_CONTEXT);
        let _ = plugin.proxy_on_context_create(&mut store, root, 0);
        let _ = plugin.proxy_on_context_create(&mut store, stream, root);
        store.data_mut().request_headers = runner::scenario::owned(&[(":path", "/")]);
        let memory = plugin.memory();
        for _ in 0..4 {
            if input.0.is_empty() {
                break;
            }
            // The script first: short inputs still make calls.
            let script = self.script(&mut input);
            memory
                .write(&mut store, SCRIPT as usize, &script)
                .expect("the script fits");
            let length = PAYLOAD_LEN.min(usize::from(input.byte()) * 64);
            let payload = input.take(length);
            memory
                .write(&mut store, PAYLOAD as usize, payload)
                .expect("the payload fits");
            // Whichever callback: a trap (e.g. proc_exit) is an answer too.
            let _ = match input.byte() % 8 {
                0 => plugin
                    .proxy_on_request_headers(&mut store, stream, 1, false)
                    .map(|o| o.is_some()),
                1 => plugin
                    .proxy_on_response_headers(&mut store, stream, 0, true)
                    .map(|o| o.is_some()),
                2 => plugin
                    .proxy_on_request_body(&mut store, stream, 0, true)
                    .map(|o| o.is_some()),
                3 => plugin.proxy_on_tick(&mut store, root).map(|o| o.is_some()),
                4 => plugin
                    .proxy_on_http_call_response(&mut store, root, 1, 0, 0, 0)
                    .map(|o| o.is_some()),
                5 => plugin
                    .proxy_on_vm_start(&mut store, root, 0)
                    .map(|o| o.is_some()),
                6 => plugin.proxy_on_log(&mut store, stream).map(|o| o.is_some()),
                _ => plugin
                    .proxy_on_queue_ready(&mut store, root, 1)
                    .map(|o| o.is_some()),
            };
        }
        let names = plugin.callback_names();
        let mut made = Vec::new();
        for traced in store.data_mut().plugin.take_host_calls() {
            let call = runner::expect::name("0.2.1", names, &traced);
            if let (Some(status), Some(listed)) = (&call.status, self.listed.get(&call.function))
                && !listed.is_empty()
            {
                assert!(
                    listed.contains(status),
                    "`{call}`: the description lists only {listed:?}"
                );
            }
            made.push((call.function, call.status));
        }
        made
    }

    /// A script of host calls from `input`: how many, then for each the
    /// function and its arguments.
    fn script(&self, input: &mut Input) -> Vec<u8> {
        let count = usize::from(input.byte()) % (MAX_OPS + 1);
        let mut script = Vec::with_capacity(4 + count * OP_BYTES as usize);
        script.extend_from_slice(&u32::try_from(count).expect("few").to_le_bytes());
        for _ in 0..count {
            let index = usize::from(input.byte()) % self.functions.len();
            script.extend_from_slice(&u32::try_from(index).expect("few").to_le_bytes());
            for _ in 0..MAX_ARGS {
                script.extend_from_slice(&input.argument().to_le_bytes());
            }
        }
        script
    }
}

impl Default for HostBoundary {
    fn default() -> Self {
        HostBoundary::new()
    }
}

/// The bytes of an input not yet used; past the end, zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }

    /// An argument, shaped by a leading byte so that most are meaningful: a
    /// small number (a length, an enum value, an id), a pointer into the
    /// payload, one near the end of memory or past it, or raw bits.
    fn argument(&mut self) -> u64 {
        let mode = self.byte();
        match mode % 6 {
            0 => u64::from(self.byte()),
            1 => u64::from(PAYLOAD) + u64::from(self.byte()) * 16,
            2 => u64::from(self.byte()) * 8,
            3 => 4 * 65_536 - u64::from(self.byte()),
            4 => u64::from(u32::from_le_bytes(self.word())),
            _ => {
                u64::from(u32::from_le_bytes(self.word())) << 32
                    | u64::from(u32::from_le_bytes(self.word()))
            }
        }
    }

    fn word(&mut self) -> [u8; 4] {
        [self.byte(), self.byte(), self.byte(), self.byte()]
    }
}
