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

/// A host that implements the `_into` forms: it copies into the buffers
/// the shim lends and records what it was lent.
#[derive(Default)]
struct Lender {
    value: Vec<u8>,
    /// Each call's lent buffer: (was it empty, its capacity).
    lent: Vec<(bool, usize)>,
    refuse: bool,
    plugin: PluginState,
}

impl HasPluginState for Lender {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for Lender {
    fn proxy_get_header_map_value_into(
        &mut self,
        _map_id: MapType,
        _key: &str,
        value: &mut Vec<u8>,
    ) -> Result<(), Status> {
        self.lent.push((value.is_empty(), value.capacity()));
        value.extend_from_slice(&self.value);
        if self.refuse {
            // Written, then refused: the plugin must see only the status.
            return Err(Status::NotFound);
        }
        Ok(())
    }

    fn proxy_get_header_map_pairs_into(
        &mut self,
        _map_id: MapType,
        pairs: &mut proxy_wasm_abi::host::MapOut,
    ) -> Result<(), Status> {
        pairs.push(b"a", b"1");
        pairs.push(b"key", &self.value);
        Ok(())
    }
}

const LENDING_PLUGIN: &str = r#"
(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 32) "x-key")
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  (func (export "get") (result i32)
    (call $get (i32.const 0) (i32.const 32) (i32.const 5) (i32.const 200) (i32.const 204)))
  (func (export "pairs") (result i32)
    (call $pairs (i32.const 0) (i32.const 200) (i32.const 204)))
)
"#;

/// The value the last call wrote at 200 (address) and 204 (size).
fn returned_value(store: &wasmtime::Store<Lender>, plugin: &Plugin) -> Vec<u8> {
    let mem = plugin.memory().data(store);
    let ptr = u32::from_le_bytes(mem[200..204].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(mem[204..208].try_into().unwrap()) as usize;
    mem[ptr..ptr + len].to_vec()
}

#[test]
fn a_host_fills_lent_buffers_that_are_reused_and_capped() {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, LENDING_PLUGIN).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |h: &mut Lender| h).unwrap();
    let mut store = wasmtime::Store::new(&engine, Lender::default());
    store.data_mut().plugin.enforce_access_rules(false);
    let plugin = Plugin::instantiate(&mut store, &linker, &module).unwrap();
    let call = |store: &mut wasmtime::Store<Lender>, name: &str| {
        let func = plugin
            .instance()
            .get_typed_func::<(), i32>(&mut *store, name);
        func.unwrap().call(&mut *store, ()).unwrap()
    };

    store.data_mut().value = b"value".to_vec();
    assert_eq!(call(&mut store, "get"), 0);
    assert_eq!(returned_value(&store, &plugin), b"value");
    assert_eq!(call(&mut store, "get"), 0);
    assert_eq!(returned_value(&store, &plugin), b"value");
    let lent = &store.data().lent;
    assert_eq!(lent[0], (true, 0), "the first call lends a new buffer");
    assert!(
        lent[1].0 && lent[1].1 >= 5,
        "then the same one, emptied: {lent:?}"
    );

    // Refused after writing: the status only, and the next buffer is empty.
    store.data_mut().refuse = true;
    assert_eq!(call(&mut store, "get"), 1);
    store.data_mut().refuse = false;
    assert_eq!(call(&mut store, "get"), 0);
    assert!(
        store.data().lent[3].0,
        "a refused call's bytes do not leak into the next"
    );

    // A buffer that grew past what a store keeps is not kept.
    store.data_mut().value = vec![7; 100 << 10];
    assert_eq!(call(&mut store, "get"), 0);
    assert_eq!(returned_value(&store, &plugin).len(), 100 << 10);
    assert_eq!(call(&mut store, "get"), 0);
    assert_eq!(store.data().lent[5], (true, 0), "dropped, not kept");

    // A map is serialized as it is filled.
    store.data_mut().value = b"v".to_vec();
    assert_eq!(call(&mut store, "pairs"), 0);
    let expected: [(&[u8], &[u8]); 2] = [(b"a", b"1"), (b"key", b"v")];
    assert_eq!(
        returned_value(&store, &plugin),
        proxy_wasm_abi::serial::encode_map(&expected)
    );
}

/// A host implemented on the store's data itself: its methods read the
/// access rules' view (the running callback, the effective context) from
/// the `PluginState` beside them, instead of keeping a copy.
#[derive(Default)]
struct Witness {
    /// Per `proxy_log`: the running callback's context and the effective one.
    seen: Vec<(Option<u32>, u32)>,
    plugin: PluginState,
}

impl HasPluginState for Witness {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for Witness {
    fn proxy_log(&mut self, _level: LogLevel, _message: &str) -> Result<(), Status> {
        let running = self.plugin.running().map(|r| r.context_id);
        self.seen.push((running, self.plugin.effective_context()));
        Ok(())
    }

    fn proxy_set_effective_context(&mut self, _context_id: u32) -> Result<(), Status> {
        Ok(())
    }
}

#[test]
fn a_host_on_the_store_data_sees_the_effective_context() {
    let wat = r#"
      (module
        (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
        (import "env" "proxy_set_effective_context" (func $set (param i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hi")
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (drop (call $log (i32.const 2) (i32.const 16) (i32.const 2)))
          (drop (call $set (i32.const 3)))
          (drop (call $log (i32.const 2) (i32.const 16) (i32.const 2)))
          (i32.const 0)))"#;
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, wat).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |w: &mut Witness| w).unwrap();
    let mut store = wasmtime::Store::new(&engine, Witness::default());
    let plugin = Plugin::instantiate(&mut store, &linker, &module).unwrap();
    plugin.proxy_on_context_create(&mut store, 1, 0).unwrap();
    plugin.proxy_on_context_create(&mut store, 2, 1).unwrap();
    plugin.proxy_on_context_create(&mut store, 3, 1).unwrap();
    plugin
        .proxy_on_request_headers(&mut store, 2, 0, false)
        .unwrap();
    assert_eq!(store.data().seen, [(Some(2), 2), (Some(2), 3)]);
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
    use proxy_wasm_abi_tools::runner::{Input, run};
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
  (func $get_key (export "get") (result i32)
    (call $get (i32.const 16) (i32.const 3) (i32.const 100) (i32.const 104) (i32.const 108)))
  (func (export "proxy_on_tick") (param i32)
    (if (call $get_key) (then unreachable)))
)
"#
    )
}

#[derive(Default)]
struct Shared {
    plugin: PluginState,
    /// Makes `proxy_get_shared_data` panic, as a faulty host might.
    fail: bool,
}

impl HasPluginState for Shared {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for Shared {
    fn proxy_get_shared_data(&mut self, key: &str) -> Result<(Vec<u8>, u32), Status> {
        assert!(!self.fail, "the host failed");
        Ok((format!("value of {key}").into_bytes(), 7))
    }
}

/// Checks the answer of `round`'s shared-data read: at the `round`th
/// allocation from `heap`, in `instance`'s own memory, counted by its own
/// allocator.
fn assert_answered_in(
    store: &mut wasmtime::Store<Shared>,
    instance: wasmtime::Instance,
    heap: usize,
    round: i32,
) {
    let allocations = instance
        .get_typed_func::<(), i32>(&mut *store, "allocations")
        .unwrap();
    assert_eq!(allocations.call(&mut *store, ()).unwrap(), round);
    let memory = instance.get_memory(&mut *store, "memory").unwrap();
    let mem = memory.data(&*store);
    let word = |at: usize| u32::from_le_bytes(mem[at..at + 4].try_into().unwrap()) as usize;
    let (ptr, len) = (word(100), word(104));
    assert_eq!(ptr, heap + (round as usize - 1) * len);
    assert_eq!(&mem[ptr..ptr + len], b"value of key");
    assert_eq!(word(108), 7);
}

/// With several instances in one store (two of one module, one of another,
/// one instantiated without `Plugin`), each answer lands in the caller's
/// own memory, from the caller's own allocator: both from raw export calls
/// (which look them up) and from callbacks `Plugin` runs (which use those
/// recorded for the instance).
#[test]
fn every_instance_in_a_store_allocates_in_itself() {
    let engine = wasmtime::Engine::default();
    let first = wasmtime::Module::new(&engine, sharing_plugin(4096)).unwrap();
    let second = wasmtime::Module::new(&engine, sharing_plugin(8192)).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Shared| s).unwrap();
    let mut store = wasmtime::Store::new(&engine, Shared::default());
    let a = Plugin::instantiate(&mut store, &linker, &first).unwrap();
    let b = linker.instantiate(&mut store, &first).unwrap();
    let c = Plugin::instantiate(&mut store, &linker, &second).unwrap();
    let d = Plugin::instantiate(&mut store, &linker, &first).unwrap();
    let instances = [
        (Some(&a), a.instance(), 4096),
        (None, b, 4096),
        (Some(&c), c.instance(), 8192),
        (Some(&d), d.instance(), 4096),
    ];
    for round in 1..=4 {
        for (plugin, instance, heap) in instances {
            match plugin {
                // Rounds 1 and 3 through the raw export, 2 and 4 from a callback.
                Some(plugin) if round % 2 == 0 => {
                    plugin.proxy_on_tick(&mut store, 1).unwrap();
                }
                _ => {
                    let get = instance
                        .get_typed_func::<(), i32>(&mut store, "get")
                        .unwrap();
                    assert_eq!(get.call(&mut store, ()).unwrap(), 0);
                }
            }
            assert_answered_in(&mut store, instance, heap, round);
        }
    }
}

/// How [`a_plugin_that_can_reach_other_code_has_nothing_recorded`] lets
/// one plugin run another instance's code.
#[derive(Clone, Copy, Debug)]
enum Reach {
    /// Through an imported host function that calls it.
    Function,
    /// Through an imported table holding it.
    Table,
    /// Through a table the plugin exports, which the embedder fills.
    ExportedTable,
    /// Through a function reference in a global the plugin exports, which
    /// the embedder sets.
    ExportedGlobal,
}

/// A plugin whose imports or exports let another instance's code run in
/// its callbacks (here: the shared-data read of a second plugin) gets no
/// recorded memory: the host calls made meanwhile are the other
/// instance's, and they must land in that instance, not in the plugin
/// whose callback is running.
#[test]
fn a_plugin_that_can_reach_other_code_has_nothing_recorded() {
    for reach in [
        Reach::Function,
        Reach::Table,
        Reach::ExportedTable,
        Reach::ExportedGlobal,
    ] {
        let engine = wasmtime::Engine::default();
        let other = wasmtime::Module::new(&engine, sharing_plugin(8192)).unwrap();
        let (import, call) = match reach {
            Reach::Function => (
                r#"(import "test" "reach" (func $reach (result i32)))"#,
                "(call $reach)",
            ),
            Reach::Table => (
                r#"(import "test" "table" (table 1 funcref))"#,
                "(call_indirect (result i32) (i32.const 0))",
            ),
            Reach::ExportedTable => (
                r#"(table (export "table") 1 funcref)"#,
                "(call_indirect (result i32) (i32.const 0))",
            ),
            Reach::ExportedGlobal => (
                r#"(type $get (func (result i32)))
  (global $callee (export "callee") (mut (ref null $get)) (ref.null $get))"#,
                "(call_ref $get (global.get $callee))",
            ),
        };
        let reacher = wasmtime::Module::new(
            &engine,
            format!(
                r#"
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  {import}
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (global $allocations (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (global.set $allocations (i32.add (global.get $allocations) (i32.const 1)))
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  (func (export "allocations") (result i32) (global.get $allocations))
  (func (export "proxy_on_tick") (param i32)
    (if {call} (then unreachable)))
)
"#
            ),
        )
        .unwrap();
        let mut linker = wasmtime::Linker::new(&engine);
        v0_2_1::add_to_linker(&mut linker, |s: &mut Shared| s).unwrap();
        let mut store = wasmtime::Store::new(&engine, Shared::default());
        let other = Plugin::instantiate(&mut store, &linker, &other).unwrap();
        let other_get = other.instance().get_func(&mut store, "get").unwrap();
        match reach {
            Reach::Function => {
                linker
                    .func_wrap(
                        "test",
                        "reach",
                        move |mut caller: wasmtime::Caller<'_, Shared>| -> wasmtime::Result<i32> {
                            other_get.typed::<(), i32>(&caller)?.call(&mut caller, ())
                        },
                    )
                    .unwrap();
            }
            Reach::Table => {
                let table = wasmtime::Table::new(
                    &mut store,
                    wasmtime::TableType::new(wasmtime::RefType::FUNCREF, 1, None),
                    wasmtime::Ref::Func(Some(other_get)),
                )
                .unwrap();
                linker.define(&store, "test", "table", table).unwrap();
            }
            Reach::ExportedTable | Reach::ExportedGlobal => {}
        }
        let reacher = Plugin::instantiate(&mut store, &linker, &reacher).unwrap();
        match reach {
            Reach::ExportedTable => {
                let table = reacher.instance().get_table(&mut store, "table").unwrap();
                table
                    .set(&mut store, 0, wasmtime::Ref::Func(Some(other_get)))
                    .unwrap();
            }
            Reach::ExportedGlobal => {
                let callee = reacher.instance().get_global(&mut store, "callee").unwrap();
                callee
                    .set(&mut store, wasmtime::Val::FuncRef(Some(other_get)))
                    .unwrap();
            }
            Reach::Function | Reach::Table => {}
        }
        reacher
            .proxy_on_tick(&mut store, 1)
            .unwrap_or_else(|e| panic!("{reach:?}: {e}"));
        assert_answered_in(&mut store, other.instance(), 8192, 1);
        let allocations = reacher
            .instance()
            .get_typed_func::<(), i32>(&mut store, "allocations")
            .unwrap();
        assert_eq!(
            allocations.call(&mut store, ()).unwrap(),
            0,
            "{reach:?}: the running plugin allocated another's answer"
        );
    }
}

/// A plugin instantiated while another plugin's callback runs (here from a
/// host function that replaces `proxy_log`) runs its start section outside
/// that callback: the start section's host calls land in the new plugin's
/// memory, not in the memory recorded for the running one.
#[test]
fn a_start_section_run_from_a_callback_uses_its_own_memory() {
    let engine = wasmtime::Engine::default();
    let runner = wasmtime::Module::new(
        &engine,
        r#"
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (global $allocations (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (global.set $allocations (i32.add (global.get $allocations) (i32.const 1)))
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  (func (export "allocations") (result i32) (global.get $allocations))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 0))))
)
"#,
    )
    .unwrap();
    // `sharing_plugin`, whose start section makes the shared-data read.
    let started = sharing_plugin(8192).replace(
        "(func (export \"proxy_on_tick\")",
        "(start $read) (func $read (drop (call $get_key))) (func (export \"proxy_on_tick\")",
    );
    let started = wasmtime::Module::new(&engine, started).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Shared| s).unwrap();
    let inner = linker.clone();
    let spawned = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = spawned.clone();
    linker.allow_shadowing(true);
    linker
        .func_wrap(
            "env",
            "proxy_log",
            move |mut caller: wasmtime::Caller<'_, Shared>, _: u32, _: u32, _: u32| -> u32 {
                let plugin = Plugin::instantiate(&mut caller, &inner, &started).unwrap();
                *slot.lock().unwrap() = Some(plugin.instance());
                0
            },
        )
        .unwrap();
    let mut store = wasmtime::Store::new(&engine, Shared::default());
    let runner = Plugin::instantiate(&mut store, &linker, &runner).unwrap();
    runner.proxy_on_tick(&mut store, 1).unwrap();
    let spawned = spawned.lock().unwrap().expect("proxy_log ran");
    assert_answered_in(&mut store, spawned, 8192, 1);
    let allocations = runner
        .instance()
        .get_typed_func::<(), i32>(&mut store, "allocations")
        .unwrap();
    assert_eq!(allocations.call(&mut store, ()).unwrap(), 0);
}

/// A `Host` method that panics unwinds through the plugin's callback; a
/// host that catches the panic finds the state as it was before the
/// callback: no callback running, and no recorded memory serving the next
/// raw call, which lands in its own instance.
#[test]
fn a_host_panic_leaves_no_callback_running() {
    let engine = wasmtime::Engine::default();
    let first = wasmtime::Module::new(&engine, sharing_plugin(4096)).unwrap();
    let second = wasmtime::Module::new(&engine, sharing_plugin(8192)).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Shared| s).unwrap();
    let mut store = wasmtime::Store::new(&engine, Shared::default());
    let a = Plugin::instantiate(&mut store, &linker, &first).unwrap();
    let b = linker.instantiate(&mut store, &second).unwrap();
    store.data_mut().fail = true;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.proxy_on_tick(&mut store, 1)
    }));
    assert!(panicked.is_err(), "the host's panic reaches the caller");
    store.data_mut().fail = false;
    assert_eq!(store.data_mut().plugin.running(), None);
    assert_eq!(store.data_mut().plugin.effective_context(), 0);
    let get = b.get_typed_func::<(), i32>(&mut store, "get").unwrap();
    assert_eq!(get.call(&mut store, ()).unwrap(), 0);
    assert_answered_in(&mut store, b, 8192, 1);
    let allocations = a
        .instance()
        .get_typed_func::<(), i32>(&mut store, "allocations")
        .unwrap();
    assert_eq!(allocations.call(&mut store, ()).unwrap(), 0);
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

/// The bindings' table of stream states stays right through thousands of
/// creations, re-creations and deletions over a few hundred random context
/// ids (so entries collide, the table grows, and deletions shift entries):
/// after every step, the touched stream is paused exactly when a model
/// says so, and every 500 steps so is each of them.
#[test]
fn stream_states_survive_many_creations_and_deletions() {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(
        &engine,
        r#"
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_delete") (param i32))
  ;; Even streams pause, odd ones go on.
  (func (export "proxy_on_request_headers") (param $id i32) (param i32 i32) (result i32)
    (i32.eqz (i32.and (local.get $id) (i32.const 1))))
)
"#,
    )
    .unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    v0_2_1::add_to_linker(&mut linker, |s: &mut Local| s).unwrap();
    let mut store = wasmtime::Store::new(&engine, Local::default());
    let plugin = Plugin::instantiate(&mut store, &linker, &module).unwrap();
    const IDS: u32 = 300;
    // Streams the model knows, and whether each is paused.
    let mut model = std::collections::HashMap::<u32, bool>::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let paused = |store: &mut wasmtime::Store<Local>, id: u32| {
        store
            .data_mut()
            .plugin
            .is_paused(id, v0_2_1::Callback::RequestHeaders)
    };
    // Random ids collide in the table as often as any; consecutive ones
    // would spread too evenly to exercise its probing.
    let ids: Vec<u32> = (0..IDS)
        .map(|_| 2 + (next() % u64::from(u32::MAX - 2)) as u32)
        .collect();
    for step in 0..12_000 {
        let id = ids[(next() % u64::from(IDS)) as usize];
        match next() % 10 {
            // A stream (re)created: not paused, whatever it was.
            0..=3 => {
                plugin.proxy_on_context_create(&mut store, id, 1).unwrap();
                model.insert(id, false);
            }
            // The id reused for a plugin context: no longer a stream.
            4 => {
                plugin.proxy_on_context_create(&mut store, id, 0).unwrap();
                model.remove(&id);
            }
            5..=7 => {
                plugin
                    .proxy_on_request_headers(&mut store, id, 0, false)
                    .unwrap();
                if let Some(paused) = model.get_mut(&id) {
                    *paused = id.is_multiple_of(2);
                }
            }
            _ => {
                plugin.proxy_on_delete(&mut store, id).unwrap();
                model.remove(&id);
            }
        }
        let want = model.get(&id).copied().unwrap_or(false);
        assert_eq!(
            paused(&mut store, id),
            want,
            "stream {id} after step {step}"
        );
        if step % 500 == 0 {
            for &id in &ids {
                let want = model.get(&id).copied().unwrap_or(false);
                assert_eq!(paused(&mut store, id), want, "stream {id} at step {step}");
            }
        }
    }
    assert!(
        model.values().filter(|p| **p).count() > 10,
        "the walk left paused streams to check"
    );
}

/// The runtime names the exports it acts on (allocators, start functions)
/// once, for every version; the description says which they are through
/// `@role`. A version whose roles name other exports must fail here, not
/// link plugins with the wrong allocator.
#[test]
fn the_runtimes_role_exports_are_the_descriptions() {
    use proxy_wasm_abi::host::role_exports;
    use proxy_wasm_abi_spec::ir::FunctionRole;
    let expected = [
        (FunctionRole::Allocator, role_exports::ALLOCATOR),
        (
            FunctionRole::LegacyAllocator,
            role_exports::LEGACY_ALLOCATOR,
        ),
        (FunctionRole::Initialize, role_exports::INITIALIZE),
        (FunctionRole::Start, role_exports::START),
        (FunctionRole::Main, role_exports::MAIN),
    ];
    let standard = proxy_wasm_abi_spec::standard();
    for version in &standard.versions {
        let abi = standard
            .version(&version.to_string())
            .expect("a described version");
        for (role, name) in expected {
            let named: Vec<&str> = abi
                .functions
                .iter()
                .filter(|f| f.role == Some(role))
                .map(|f| f.name.as_str())
                .collect();
            assert_eq!(named, [name], "{role:?} in {version}");
        }
    }
}
