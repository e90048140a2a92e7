//! The generated wasmtime host: `host!` compiles for every version, expands
//! to exactly the checked-in file, and runs a plugin.

mod v0_1_0 {
    proxy_wasm_abi_macros::host!({ version: "0.1.0", debug: "../target/host-expansion/v0_1_0.rs" });
}
mod v0_2_0 {
    proxy_wasm_abi_macros::host!({ version: "0.2.0", debug: "../target/host-expansion/v0_2_0.rs" });
}
mod v0_2_1 {
    proxy_wasm_abi_macros::host!({ version: "0.2.1", debug: "../target/host-expansion/v0_2_1.rs" });
}

use proxy_wasm_abi_tests::workspace_root;
use v0_2_1::{Host, LogLevel, MapType, Plugin, Status};

#[test]
fn macro_expansion_is_the_checked_in_file() {
    for version in ["0_1_0", "0_2_0", "0_2_1"] {
        let expanded = workspace_root().join(format!("target/host-expansion/v{version}.rs"));
        let checked_in = workspace_root().join(format!("generated/rust/host/v{version}.rs"));
        let expanded = std::fs::read_to_string(&expanded).expect("host! wrote its debug file");
        let checked_in = std::fs::read_to_string(&checked_in).expect("generated file exists");
        assert!(
            expanded == checked_in,
            "host!({{ version: {version} }}) differs from generated/rust/host/v{version}.rs"
        );
    }
}

#[derive(Default)]
struct Recorder {
    logs: Vec<(LogLevel, String)>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Host for Recorder {
    fn proxy_log(&mut self, log_level: LogLevel, message: &str) -> Result<(), Status> {
        self.logs.push((log_level, message.to_string()));
        Ok(())
    }

    fn proxy_get_header_map_value(
        &mut self,
        _map_id: MapType,
        key: &str,
    ) -> Result<Vec<u8>, Status> {
        self.headers
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v.clone())
            .ok_or(Status::NotFound)
    }
}

const PLUGIN: &str = r#"
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (data (i32.const 32) "x-key")
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  ;; Logs "hello" at the level given, from the pointer and length given.
  (func (export "log") (param $level i32) (param $ptr i32) (param $len i32) (result i32)
    (call $log (local.get $level) (local.get $ptr) (local.get $len)))
  ;; Looks up "x-key"; the value's address and size go to 200 and 204.
  (func (export "get") (param $out i32) (result i32)
    (call $get (i32.const 0) (i32.const 32) (i32.const 5) (local.get $out) (i32.add (local.get $out) (i32.const 4))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (i32.const 1))
)
"#;

fn setup() -> (wasmtime::Store<Recorder>, Plugin) {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, PLUGIN).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |r: &mut Recorder| r).unwrap();
    let mut store = wasmtime::Store::new(&engine, Recorder::default());
    let plugin = Plugin::instantiate(&mut store, &linker, &module).unwrap();
    (store, plugin)
}

fn call(store: &mut wasmtime::Store<Recorder>, plugin: &Plugin, name: &str, args: &[i32]) -> i32 {
    let func = plugin.instance().get_func(&mut *store, name).unwrap();
    let mut results = [wasmtime::Val::I32(0)];
    let args: Vec<wasmtime::Val> = args.iter().map(|a| wasmtime::Val::I32(*a)).collect();
    func.call(&mut *store, &args, &mut results).unwrap();
    results[0].unwrap_i32()
}

#[test]
fn host_functions_decode_check_and_answer() {
    let (mut store, plugin) = setup();
    assert_eq!(call(&mut store, &plugin, "log", &[2, 16, 5]), 0);
    assert_eq!(
        store.data().logs,
        vec![(LogLevel::Info, "hello".to_string())]
    );
    // Unknown level: BAD_ARGUMENT (2), and the host never sees it.
    assert_eq!(call(&mut store, &plugin, "log", &[9, 16, 5]), 2);
    // Out of bounds or wrapping: INVALID_MEMORY_ACCESS (6).
    assert_eq!(call(&mut store, &plugin, "log", &[2, 65530, 100]), 6);
    assert_eq!(call(&mut store, &plugin, "log", &[2, -1, 2]), 6);
    assert_eq!(store.data().logs.len(), 1);

    // A returned buffer is allocated in the plugin and its address written back.
    store
        .data_mut()
        .headers
        .push((b"x-key".to_vec(), b"value".to_vec()));
    assert_eq!(call(&mut store, &plugin, "get", &[200]), 0);
    let mem = plugin.memory().data(&store);
    let ptr = u32::from_le_bytes(mem[200..204].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(mem[204..208].try_into().unwrap()) as usize;
    assert_eq!(&mem[ptr..ptr + len], b"value");
    // An output slot outside memory is refused before the host runs.
    assert_eq!(call(&mut store, &plugin, "get", &[65534]), 6);
}

#[test]
fn callbacks_are_typed() {
    let (mut store, plugin) = setup();
    assert_eq!(
        plugin
            .proxy_on_request_headers(&mut store, 1, 2, true)
            .unwrap(),
        Some(v0_2_1::Action::Pause)
    );
    // Not exported: the host learns it, rather than getting a made-up answer.
    assert_eq!(
        plugin
            .proxy_on_response_headers(&mut store, 1, 2, true)
            .unwrap(),
        None
    );
}

#[test]
fn other_versions_compile() {
    assert_eq!(v0_1_0::ABI_VERSION, "0.1.0");
    assert_eq!(v0_2_0::ABI_VERSION, "0.2.0");
}

#[test]
fn a_request_paused_and_never_resumed_goes_no_further() {
    use proxy_wasm_abi_codegen::runner::{Input, run};
    // wasmtime (with its `wat` feature) accepts the text format directly.
    let report = run(PLUGIN.as_bytes(), &Input::default()).unwrap();
    let calls: Vec<&str> = report.steps.iter().map(|s| s.call.as_str()).collect();
    assert!(
        calls.contains(&"(request paused and never resumed)"),
        "{report}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("proxy_on_response_headers")),
        "{report}"
    );
    // The context still ends normally.
    assert!(
        calls.iter().any(|c| c.starts_with("proxy_on_delete")),
        "{report}"
    );
}
