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
use v0_2_1::{HasPluginState, Host, LogLevel, MapType, Plugin, PluginState, Status};

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
    plugin: PluginState,
}

impl HasPluginState for Recorder {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
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
    // Outside any callback the access rules refuse a header read (BAD_ARGUMENT)
    // before the host sees it; switched off, the call goes through.
    assert_eq!(call(&mut store, &plugin, "get", &[200]), 2);
    store.data_mut().plugin.enforce_access_rules(false);
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

/// A plugin that reads shared data: its allocator counts its calls and
/// starts at a per-module address, so each instance's answer is traceable.
fn sharing_plugin(heap: u32) -> String {
    format!(
        r#"
(module
  (import "env" "proxy_get_shared_data" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "key")
  (global $next (mut i32) (i32.const {heap}))
  (global $allocations (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (global.set $allocations (i32.add (global.get $allocations) (i32.const 1)))
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  (func (export "allocations") (result i32) (global.get $allocations))
  ;; The value's address and size go to 100 and 104, the CAS to 108.
  (func (export "get") (result i32)
    (call $get (i32.const 16) (i32.const 3) (i32.const 100) (i32.const 104) (i32.const 108)))
)
"#
    )
}

#[derive(Default)]
struct Shared {
    plugin: PluginState,
}

impl HasPluginState for Shared {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for Shared {
    fn proxy_get_shared_data(&mut self, key: &str) -> Result<(Vec<u8>, u32), Status> {
        Ok((format!("value of {key}").into_bytes(), 7))
    }
}

/// The memory and allocator the bindings find at instantiation serve only
/// the instance they belong to: with several instances in one store (two
/// of one module, one of another, one instantiated without `Plugin`), each
/// answer lands in the caller's own memory, from the caller's own allocator.
#[test]
fn every_instance_in_a_store_allocates_in_itself() {
    let engine = wasmtime::Engine::default();
    let first = wasmtime::Module::new(&engine, sharing_plugin(4096)).unwrap();
    let second = wasmtime::Module::new(&engine, sharing_plugin(8192)).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Shared| s).unwrap();
    let mut store = wasmtime::Store::new(&engine, Shared::default());
    let a = Plugin::instantiate(&mut store, &linker, &first)
        .unwrap()
        .instance();
    let b = linker.instantiate(&mut store, &first).unwrap();
    let c = Plugin::instantiate(&mut store, &linker, &second)
        .unwrap()
        .instance();
    let d = Plugin::instantiate(&mut store, &linker, &first)
        .unwrap()
        .instance();
    let instances = [(a, 4096), (b, 4096), (c, 8192), (d, 4096)];
    for round in 1..=2 {
        for (instance, heap) in instances {
            let get = instance
                .get_typed_func::<(), i32>(&mut store, "get")
                .unwrap();
            assert_eq!(get.call(&mut store, ()).unwrap(), 0);
            let allocations = instance
                .get_typed_func::<(), i32>(&mut store, "allocations")
                .unwrap();
            assert_eq!(allocations.call(&mut store, ()).unwrap(), round);
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let mem = memory.data(&store);
            let word = |at: usize| u32::from_le_bytes(mem[at..at + 4].try_into().unwrap()) as usize;
            let (ptr, len) = (word(100), word(104));
            assert_eq!(ptr, heap + (round as usize - 1) * len);
            assert_eq!(&mem[ptr..ptr + len], b"value of key");
            assert_eq!(word(108), 7);
        }
    }
}

/// A module that shares another instance's memory (imports it and exports
/// it again) allocates with its own allocator, never with the one cached
/// for the instance that defines the memory.
#[test]
fn a_module_sharing_a_memory_allocates_with_its_own_allocator() {
    let engine = wasmtime::Engine::default();
    let owner = wasmtime::Module::new(&engine, sharing_plugin(4096)).unwrap();
    let borrower = wasmtime::Module::new(
        &engine,
        r#"
(module
  (import "env" "proxy_get_shared_data" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "owner" "memory" (memory 1))
  (export "memory" (memory 0))
  (global $next (mut i32) (i32.const 20000))
  (global $allocations (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (global.set $allocations (i32.add (global.get $allocations) (i32.const 1)))
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  (func (export "allocations") (result i32) (global.get $allocations))
  (data (memory 0) (i32.const 48) "key")
  (func (export "get") (result i32)
    (call $get (i32.const 48) (i32.const 3) (i32.const 200) (i32.const 204) (i32.const 208)))
)
"#,
    )
    .unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Shared| s).unwrap();
    let mut store = wasmtime::Store::new(&engine, Shared::default());
    let owner = Plugin::instantiate(&mut store, &linker, &owner)
        .unwrap()
        .instance();
    linker.instance(&mut store, "owner", owner).unwrap();
    let borrower = linker.instantiate(&mut store, &borrower).unwrap();
    let get = borrower
        .get_typed_func::<(), i32>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, ()).unwrap(), 0);
    let allocations = |store: &mut wasmtime::Store<Shared>, instance: wasmtime::Instance| {
        instance
            .get_typed_func::<(), i32>(&mut *store, "allocations")
            .unwrap()
            .call(&mut *store, ())
            .unwrap()
    };
    assert_eq!(allocations(&mut store, borrower), 1);
    assert_eq!(allocations(&mut store, owner), 0);
    let memory = owner.get_memory(&mut store, "memory").unwrap();
    let mem = memory.data(&store);
    let word = |at: usize| u32::from_le_bytes(mem[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(word(200), 20000);
    assert_eq!(&mem[20000..20000 + word(204)], b"value of key");
}

/// A callback the plugin does not export still moves the stream on: with
/// no `proxy_on_response_headers`, the response headers have gone on, and a
/// local response from the response body is refused (BAD_ARGUMENT).
#[test]
fn absent_callbacks_still_move_the_stream_on() {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(
        &engine,
        r#"
(module
  (import "env" "proxy_send_local_response"
    (func $respond (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $status (mut i32) (i32.const -1))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "status") (result i32) (global.get $status))
  (func $respond_now (result i32)
    (call $respond (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const -1)))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (global.set $status (call $respond_now)) (i32.const 0))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (global.set $status (call $respond_now)) (i32.const 0))
)
"#,
    )
    .unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Local| s).unwrap();
    let mut store = wasmtime::Store::new(&engine, Local::default());
    let plugin = Plugin::instantiate(&mut store, &linker, &module).unwrap();
    let status = |store: &mut wasmtime::Store<Local>| {
        plugin
            .instance()
            .get_typed_func::<(), i32>(&mut *store, "status")
            .unwrap()
            .call(&mut *store, ())
            .unwrap()
    };
    // Neither context callback is exported; the stream exists all the same.
    assert_eq!(
        plugin.proxy_on_context_create(&mut store, 1, 0).unwrap(),
        None
    );
    assert_eq!(
        plugin.proxy_on_context_create(&mut store, 2, 1).unwrap(),
        None
    );
    assert_eq!(
        plugin
            .proxy_on_request_headers(&mut store, 2, 1, false)
            .unwrap(),
        None
    );
    plugin
        .proxy_on_request_body(&mut store, 2, 1, true)
        .unwrap();
    assert_eq!(status(&mut store), 0, "before the response headers");
    assert_eq!(store.data().responses, 1);
    assert_eq!(
        plugin
            .proxy_on_response_headers(&mut store, 2, 1, false)
            .unwrap(),
        None
    );
    plugin
        .proxy_on_response_body(&mut store, 2, 1, true)
        .unwrap();
    assert_eq!(status(&mut store), 2, "after them: BAD_ARGUMENT");
    assert_eq!(store.data().responses, 1, "refused before the host");
    // Without proxy_on_delete exported, the stream is still forgotten.
    assert_eq!(plugin.proxy_on_delete(&mut store, 2).unwrap(), None);
    assert!(
        !store
            .data_mut()
            .plugin
            .is_paused(2, v0_2_1::Callback::RequestHeaders)
    );
}

#[derive(Default)]
struct Local {
    plugin: PluginState,
    responses: usize,
}

impl HasPluginState for Local {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for Local {
    fn proxy_send_local_response(
        &mut self,
        _status_code: u32,
        _status_code_details: &str,
        _body: &[u8],
        _headers: &[(&[u8], &[u8])],
        _grpc_status: u32,
    ) -> Result<(), Status> {
        self.responses += 1;
        Ok(())
    }
}
