//! The generated wasmtime host against a hand-written floor.
//!
//! Run with `cargo bench -p proxy-wasm-abi-tests --bench host`.
//!
//! Two hosts keep the same [`State`] (headers and bodies in `Vec`s, the log
//! lines, the tick period) and run the same plugins on the same engine:
//!
//! - **generated**: `host!({ version: "0.2.1" })` (the checked-in
//!   `generated/rust/host/v0_2_1.rs`) with a minimal [`Host`] impl on
//!   [`State`], driven through the generated `Plugin`;
//! - **floor**: a minimal wasmtime host written here with `Linker::func_wrap`
//!   for every import the plugin has. It does the same memory copies (read
//!   the key from guest memory, look it up, allocate with the plugin's
//!   `proxy_on_memory_allocate`, copy, write pointer and size) with only the
//!   bounds checks memory safety needs, and caches the memory and the
//!   allocator instead of looking them up by name.
//! - **fair floor**: the same hand-written host doing the generated host's
//!   checks as a person would write them ([`fair`]: access rules as a bit
//!   table, with the state they need (the running callback's context and
//!   end-of-stream flag, the effective context, which streams are paused
//!   in or past which callback), enums range-tested, text UTF-8-checked,
//!   argument limits, out-pointers first, each callback checked for
//!   presence before it is called and its returned action decoded, as
//!   proxy-wasm-cpp-host does). Generated / fair floor is what generation costs;
//!   fair / bare floor is what the checks cost. (The bare floor pays a
//!   branch per check for sharing the code: about 20 instructions a call.)
//!
//! Three comparisons, each generated vs floor:
//!
//! 1. `lifecycle`: one HTTP request through `tests/plugins/sdk-plugin` (the
//!    official `proxy-wasm` SDK; it reads a request header, logs, and adds a
//!    response header): context create, request headers, request body,
//!    response headers, response body, done, log, delete.
//! 2. `instantiate`: with the module compiled and the linker built once: a
//!    new store, instantiate, `_initialize`, root context create, vm start
//!    and configure; once with `Plugin::instantiate`, once from a
//!    `PluginPre` made once (the module checked and linked once). The fair
//!    floor checks the module's version marker and memory and looks up
//!    every callback the plugin exports, as the generated `Plugin` does
//!    and proxy-wasm-cpp-host does (`WasmBase::getFunctions`); the bare
//!    floor looks up only the callbacks the lifecycle calls.
//! 3. `host_call`: a stream callback of a WAT plugin that calls
//!    `proxy_get_header_map_value` once, for a present key and for a missing
//!    one, and a callback that calls nothing (the bare round trip). The
//!    instruction counts also run these on the generated hosts of 0.1.0 and
//!    0.2.0 (`host!` of those versions, the same `State`), each against the
//!    fair floor running that version's plugin.
//!
//! The instruction counts add two rows with [`OTHER_STREAMS`] other
//! streams open (a proxy worker's plugin instance serves many concurrent
//! requests): the bare callback and the lifecycle. The fair floor keeps
//! its streams in a `Vec` it scans, the cheapest structure for one stream;
//! the generated host keeps a hash table. These rows show what each costs
//! when the stream is not alone.
//!
//! One more ratio measures the cost of holding a plugin to
//! [`Limits::default`] (a deadline per callback on epoch interruption, and
//! a memory cap): the lifecycle on an engine with epoch interruption and
//! the limits applied, against the same lifecycle without.
//!
//! The crates.io `proxy-wasm-host` crate is not compared (see [`PEER_SKIPPED`]).
//!
//! After criterion has run, `main` measures each comparison once more with
//! generated and floor alternating in short batches (see [`paired`]) and
//! prints the median ratio generated / floor, next to the ratio of
//! criterion's means. The target is a ratio within 5% of the floor; it is
//! reported, not asserted: timings are not tests.
//!
//! Last, where valgrind is installed, the bench runs itself once more under
//! callgrind and prints the instructions per operation of each side (see
//! [`count_instructions`]): those move by a few instructions between runs on
//! a loaded machine, where the times above move by tens of percent.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode};
use proxy_wasm_abi::host::{EpochTicker, Limits};
use wasmtime::{Caller, Engine, Instance, Linker, Memory, Module, Store, TypedFunc};

/// The generated host bindings of v0.2.1, expanded here by the macro. The
/// bench uses only part of them.
#[allow(dead_code)]
mod generated {
    proxy_wasm_abi_macros::host!({ version: "0.2.1" });
}

use generated::{
    Action, BufferType, HasPluginState, Host, LogLevel, MapType, Plugin, PluginPre, PluginState,
    Status, WasiErrno, WasiFdId,
};

/// Why the crates.io peer is not in the comparison.
const PEER_SKIPPED: &str = "proxy-wasm-host (crates.io): skipped; its releases 0.1.0 and 0.2.0 \
     declare rust-version 1.96 (`cargo info proxy-wasm-host`) and do not build on this \
     workspace's pinned Rust 1.95, so it is not a dependency";

/// The plugin of the lifecycle and instantiation benchmarks.
const PLUGIN: &str = "sdk-plugin";

/// The root (plugin) context id.
const ROOT_CONTEXT: u32 = 1;

/// The request header the plugin watches (its plugin configuration).
const WATCHED: &[u8] = b"user-agent";

/// The target: generated within 5% of the floor.
const TARGET_RATIO: f64 = 1.05;

// Raw statuses, as the floor writes them.
const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const BAD_ARGUMENT: u32 = 2;
const INVALID_MEMORY_ACCESS: u32 = 6;
const WASI_SUCCESS: u32 = 0;
const WASI_BADF: u32 = 8;
const WASI_FAULT: u32 = 21;
const WASI_INVAL: u32 = 28;
/// `proxy_action_t` CONTINUE.
const CONTINUE: u32 = 0;
/// `proxy_action_t` PAUSE.
const PAUSE: u32 = 1;

// Map and buffer ids the floor serves.
const REQUEST_HEADERS: u32 = 0;
const RESPONSE_HEADERS: u32 = 2;
const REQUEST_BODY: u32 = 0;
const RESPONSE_BODY: u32 = 1;
const VM_CONFIGURATION: u32 = 6;
const PLUGIN_CONFIGURATION: u32 = 7;

// ---------------------------------------------------------------------------
// The state both hosts keep
// ---------------------------------------------------------------------------

/// Header pairs in order.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// One request and response, and what the plugin did with them. Both hosts
/// keep exactly this.
struct State {
    request_headers: Pairs,
    response_headers: Pairs,
    request_body: Vec<u8>,
    response_body: Vec<u8>,
    vm_configuration: Vec<u8>,
    plugin_configuration: Vec<u8>,
    /// Log lines: level and message.
    logs: Vec<(u32, Vec<u8>)>,
    tick_period_ms: u32,
    /// How many response headers the upstream sent; the rest the plugin added.
    upstream_response_headers: usize,
    /// The generated bindings' state (the floor keeps its own cache).
    plugin: PluginState,
}

impl HasPluginState for State {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

fn pairs(list: &[(&str, &str)]) -> Pairs {
    list.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

impl State {
    /// A typical request and response: 8 request headers (the watched one
    /// fifth), 4 response headers, 1 KiB bodies.
    fn new() -> State {
        let request_headers = pairs(&[
            (":method", "POST"),
            (":path", "/api/v1/items?page=2"),
            (":authority", "example.com"),
            (":scheme", "https"),
            ("user-agent", "bench-client/1.0 (proxy-wasm-abi)"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ]);
        let response_headers = pairs(&[
            (":status", "200"),
            ("content-type", "application/json"),
            ("content-length", "1024"),
            ("server", "upstream"),
        ]);
        State {
            upstream_response_headers: response_headers.len(),
            plugin: PluginState::new(),
            request_headers,
            response_headers,
            request_body: vec![b'q'; 1024],
            response_body: vec![b'r'; 1024],
            vm_configuration: Vec::new(),
            plugin_configuration: WATCHED.to_vec(),
            logs: Vec::new(),
            tick_period_ms: 0,
        }
    }

    /// Back to the state before a request: the plugin's response headers and
    /// the log lines go.
    fn reset(&mut self) {
        self.response_headers
            .truncate(self.upstream_response_headers);
        self.logs.clear();
    }

    fn map(&self, map_id: u32) -> Option<&Pairs> {
        match map_id {
            REQUEST_HEADERS => Some(&self.request_headers),
            RESPONSE_HEADERS => Some(&self.response_headers),
            _ => None,
        }
    }

    /// The value of `key` in map `map_id`, as the generated hosts' `_into`
    /// methods copy it.
    fn header(&self, map_id: u32, key: &str) -> Option<&[u8]> {
        let map = self.map(map_id)?;
        let (_, value) = map.iter().find(|(k, _)| k.as_slice() == key.as_bytes())?;
        Some(value)
    }

    fn map_mut(&mut self, map_id: u32) -> Option<&mut Pairs> {
        match map_id {
            REQUEST_HEADERS => Some(&mut self.request_headers),
            RESPONSE_HEADERS => Some(&mut self.response_headers),
            _ => None,
        }
    }

    fn buffer(&self, buffer_id: u32) -> Option<&[u8]> {
        match buffer_id {
            REQUEST_BODY => Some(&self.request_body),
            RESPONSE_BODY => Some(&self.response_body),
            VM_CONFIGURATION => Some(&self.vm_configuration),
            PLUGIN_CONFIGURATION => Some(&self.plugin_configuration),
            _ => None,
        }
    }

    /// The range `start..start + max_size` of `buffer`, clamped to it.
    fn range(buffer: &[u8], start: usize, max_size: usize) -> (usize, usize) {
        let start = start.min(buffer.len());
        (start, start.saturating_add(max_size).min(buffer.len()))
    }

    fn value(&self, value: Value) -> Option<&[u8]> {
        match value {
            Value::Header { map_id, index } => {
                self.map(map_id)?.get(index).map(|(_, v)| v.as_slice())
            }
            Value::Buffer {
                buffer_id,
                start,
                end,
            } => self.buffer(buffer_id)?.get(start..end),
        }
    }

    fn sizes(&self) -> Sizes {
        let len = |n: usize| u32::try_from(n).expect("small");
        Sizes {
            request_headers: len(self.request_headers.len()),
            request_body: len(self.request_body.len()),
            response_headers: len(self.response_headers.len()),
            response_body: len(self.response_body.len()),
            vm_configuration: len(self.vm_configuration.len()),
            plugin_configuration: len(self.plugin_configuration.len()),
        }
    }
}

/// The sizes the callbacks are given, taken once before measuring.
#[derive(Clone, Copy)]
struct Sizes {
    request_headers: u32,
    request_body: u32,
    response_headers: u32,
    response_body: u32,
    vm_configuration: u32,
    plugin_configuration: u32,
}

/// Where a value the floor returns lives in [`State`], so it can be found
/// again after the plugin's allocator ran.
#[derive(Clone, Copy)]
enum Value {
    Header {
        map_id: u32,
        index: usize,
    },
    Buffer {
        buffer_id: u32,
        start: usize,
        end: usize,
    },
}

// ---------------------------------------------------------------------------
// The generated host: a minimal `Host` on `State`
// ---------------------------------------------------------------------------

impl Host for State {
    fn proxy_log(&mut self, log_level: LogLevel, message: &str) -> Result<(), Status> {
        self.logs
            .push((log_level as u32, message.as_bytes().to_vec()));
        Ok(())
    }

    fn fd_write(&mut self, _fd_id: WasiFdId, iovec: &[&[u8]]) -> Result<usize, WasiErrno> {
        Ok(iovec.iter().map(|chunk| chunk.len()).sum())
    }

    fn environ_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno> {
        Ok((0, 0))
    }

    fn environ_get(
        &mut self,
        _memory: &mut [u8],
        _array: u32,
        _buffer: u32,
    ) -> Result<(), WasiErrno> {
        Ok(())
    }

    fn proxy_set_tick_period_milliseconds(&mut self, tick_period: u32) -> Result<(), Status> {
        self.tick_period_ms = tick_period;
        Ok(())
    }

    // The `_into` forms: values are copied from the state into the buffer
    // the shim lends, as a host that cares about allocation writes them.
    fn proxy_get_buffer_bytes_into(
        &mut self,
        buffer_id: BufferType,
        start: usize,
        max_size: usize,
        value: &mut Vec<u8>,
    ) -> Result<(), Status> {
        let buffer = self.buffer(buffer_id as u32).ok_or(Status::NotFound)?;
        let (start, end) = State::range(buffer, start, max_size);
        value.extend_from_slice(&buffer[start..end]);
        Ok(())
    }

    fn proxy_get_header_map_value_into(
        &mut self,
        map_id: MapType,
        key: &str,
        value: &mut Vec<u8>,
    ) -> Result<(), Status> {
        let found = self.header(map_id as u32, key).ok_or(Status::NotFound)?;
        value.extend_from_slice(found);
        Ok(())
    }

    fn proxy_add_header_map_value(
        &mut self,
        map_id: MapType,
        key: &str,
        value: &[u8],
    ) -> Result<(), Status> {
        let map = self.map_mut(map_id as u32).ok_or(Status::NotFound)?;
        map.push((key.as_bytes().to_vec(), value.to_vec()));
        Ok(())
    }
}

fn generated_linker(engine: &Engine) -> Linker<State> {
    let mut linker = Linker::new(engine);
    generated::add_to_linker(&mut linker, |state: &mut State| state).expect("add_to_linker");
    linker
}

/// A new store, the plugin instantiated and started: `_initialize`, root
/// context, vm start, configure.
fn generated_start(
    engine: &Engine,
    linker: &Linker<State>,
    module: &Module,
    state: State,
) -> (Store<State>, Plugin) {
    generated_start_with(engine, linker, module, state, None)
}

/// [`generated_start`], the store held to `limits` when given.
fn generated_start_with(
    engine: &Engine,
    linker: &Linker<State>,
    module: &Module,
    state: State,
    limits: Option<Limits>,
) -> (Store<State>, Plugin) {
    let sizes = state.sizes();
    let mut store = Store::new(engine, state);
    if let Some(limits) = limits {
        limits.apply(&mut store);
    }
    let plugin = Plugin::instantiate(&mut store, linker, module).expect("instantiate");
    started(store, plugin, sizes)
}

/// A new store, the plugin instantiated from `pre` and started.
fn pre_start(engine: &Engine, pre: &PluginPre<State>, state: State) -> (Store<State>, Plugin) {
    let sizes = state.sizes();
    let mut store = Store::new(engine, state);
    let plugin = pre.instantiate(&mut store).expect("instantiate");
    started(store, plugin, sizes)
}

/// Root context create, vm start and configure.
fn started(mut store: Store<State>, plugin: Plugin, sizes: Sizes) -> (Store<State>, Plugin) {
    plugin
        .proxy_on_context_create(&mut store, ROOT_CONTEXT, 0)
        .expect("root context");
    let started = plugin.proxy_on_vm_start(&mut store, ROOT_CONTEXT, sizes.vm_configuration);
    assert_eq!(started.expect("vm start"), Some(true));
    let configured =
        plugin.proxy_on_configure(&mut store, ROOT_CONTEXT, sizes.plugin_configuration);
    assert_eq!(configured.expect("configure"), Some(true));
    (store, plugin)
}

/// One HTTP request on stream context `id`.
fn generated_request(store: &mut Store<State>, plugin: &Plugin, sizes: Sizes, id: u32) {
    store.data_mut().reset();
    plugin
        .proxy_on_context_create(&mut *store, id, ROOT_CONTEXT)
        .expect("stream context");
    let r = plugin.proxy_on_request_headers(&mut *store, id, sizes.request_headers, false);
    assert!(
        r.is_ok_and(|a| a == Some(Action::Continue)),
        "request headers"
    );
    let r = plugin.proxy_on_request_body(&mut *store, id, sizes.request_body, true);
    assert!(r.is_ok_and(|a| a == Some(Action::Continue)), "request body");
    let r = plugin.proxy_on_response_headers(&mut *store, id, sizes.response_headers, false);
    assert!(
        r.is_ok_and(|a| a == Some(Action::Continue)),
        "response headers"
    );
    let r = plugin.proxy_on_response_body(&mut *store, id, sizes.response_body, true);
    assert!(
        r.is_ok_and(|a| a == Some(Action::Continue)),
        "response body"
    );
    let r = plugin.proxy_on_done(&mut *store, id);
    assert!(r.is_ok_and(|done| done == Some(true)), "done");
    plugin.proxy_on_log(&mut *store, id).expect("log");
    plugin.proxy_on_delete(&mut *store, id).expect("delete");
}

// ---------------------------------------------------------------------------
// The floor: a hand-written minimal wasmtime host
// ---------------------------------------------------------------------------

/// The floor's store data: the same [`State`], plus the plugin's memory and
/// allocator, found once.
struct Floor {
    state: State,
    memory: Option<Memory>,
    allocate: Option<TypedFunc<u32, u32>>,
    /// The fair floor: the generated host's checks, written by hand (see
    /// [`fair`]); the bare floor does only what memory safety needs.
    checked: bool,
    /// The running callback, for the fair floor's access rules.
    callback: usize,
    /// The fair floor's view of the streams, as the access rules need it
    /// (the generated host keeps the same): the running callback's context
    /// and end-of-stream flag, the effective context, and per stream the
    /// callbacks it is paused in and those it has passed.
    context: u32,
    end_of_stream: bool,
    effective: u32,
    streams: Vec<FloorStream>,
}

/// A stream as the fair floor's access rules see it: bits of the
/// [`fair`] callback indices.
#[derive(Clone, Copy)]
struct FloorStream {
    id: u32,
    paused: u16,
    passed: u16,
}

impl Floor {
    fn new(state: State) -> Floor {
        Floor {
            state,
            memory: None,
            allocate: None,
            checked: false,
            callback: fair::OTHER,
            context: 0,
            end_of_stream: false,
            effective: 0,
            streams: Vec::new(),
        }
    }

    fn fair(state: State) -> Floor {
        Floor {
            checked: true,
            ..Floor::new(state)
        }
    }
}

/// What the fair floor checks on top of the bare floor, as a hand-written
/// host would: every check the generated host makes on the calls the
/// benchmarks use, done the cheapest way a person would write it (a bit
/// table for the access rules, range tests for enums, `str::from_utf8`).
///
/// - access rules: which callback is running (set around each callback
///   call) and a table of what each may read or add;
/// - callbacks: one the plugin does not export answers as if it continued,
///   and a returned action is decoded, an undefined one failing the call
///   ([`call_or`], [`FloorAction::decode`]);
/// - enum arguments decoded (map, buffer, log level, fd), an unknown one
///   answering BAD_ARGUMENT (BADF for the fd);
/// - text arguments (keys, log messages) checked as UTF-8;
/// - argument sizes against [`Limits`]' argument limit, iovec counts
///   against its cap;
/// - out-pointers checked before anything runs.
mod fair {
    pub const ROOT: usize = 0;
    pub const REQUEST_HEADERS: usize = 1;
    pub const REQUEST_BODY: usize = 2;
    pub const RESPONSE_HEADERS: usize = 3;
    pub const RESPONSE_BODY: usize = 4;
    pub const DONE_OR_LOG: usize = 5;
    pub const OTHER: usize = 6;

    pub const READ_REQUEST_HEADERS: u16 = 1 << 0;
    pub const ADD_REQUEST_HEADERS: u16 = 1 << 1;
    pub const READ_RESPONSE_HEADERS: u16 = 1 << 2;
    pub const ADD_RESPONSE_HEADERS: u16 = 1 << 3;
    pub const READ_REQUEST_BODY: u16 = 1 << 4;
    pub const READ_RESPONSE_BODY: u16 = 1 << 5;
    pub const READ_CONFIGURATION: u16 = 1 << 6;
    pub const SET_TICK: u16 = 1 << 7;

    /// What each callback may do, indexed by the constants above.
    const RULES: [u16; 7] = [
        READ_CONFIGURATION | SET_TICK,
        READ_REQUEST_HEADERS | ADD_REQUEST_HEADERS,
        READ_REQUEST_HEADERS | READ_REQUEST_BODY,
        READ_REQUEST_HEADERS | READ_RESPONSE_HEADERS | ADD_RESPONSE_HEADERS,
        READ_REQUEST_HEADERS | READ_RESPONSE_HEADERS | READ_RESPONSE_BODY,
        READ_REQUEST_HEADERS | READ_RESPONSE_HEADERS,
        0,
    ];

    pub fn permits(callback: usize, what: u16) -> bool {
        RULES.get(callback).is_some_and(|rules| rules & what != 0)
    }

    /// The access bit for reading (or adding to) a map, if the map is one.
    pub fn map_access(map_id: u32, add: bool) -> Option<u16> {
        Some(match (map_id, add) {
            (0, false) => READ_REQUEST_HEADERS,
            (0, true) => ADD_REQUEST_HEADERS,
            (2, false) => READ_RESPONSE_HEADERS,
            (2, true) => ADD_RESPONSE_HEADERS,
            // Trailers and the other maps: known, never granted here.
            (1 | 3..=7, _) => 0,
            _ => return None,
        })
    }

    /// The access bit for reading a buffer, if the buffer is one.
    pub fn buffer_access(buffer_id: u32) -> Option<u16> {
        Some(match buffer_id {
            0 => READ_REQUEST_BODY,
            1 => READ_RESPONSE_BODY,
            6 | 7 => READ_CONFIGURATION,
            2..=5 | 8 => 0,
            _ => return None,
        })
    }

    /// The argument limit of `Limits::default()`.
    pub const ARGUMENT_BYTES: u32 = 64 << 20;
    /// The iovec cap of the generated host.
    pub const IOVECS_MAX: u32 = 1024;
}

impl Floor {
    /// Whether the fair floor's rules permit `what` now: the running
    /// callback's own grants, else a grant of a paused stream (modifying
    /// the headers of a stream paused in that headers callback).
    fn permits(&self, what: u16) -> bool {
        if self.context == self.effective && fair::permits(self.callback, what) {
            return true;
        }
        let Some(stream) = self.streams.iter().find(|s| s.id == self.effective) else {
            return false;
        };
        (what & fair::ADD_REQUEST_HEADERS != 0 && stream.paused & 1 << fair::REQUEST_HEADERS != 0)
            || (what & fair::ADD_RESPONSE_HEADERS != 0
                && stream.paused & 1 << fair::RESPONSE_HEADERS != 0)
    }

    /// A stream context was created (`parent` 0: a plugin context).
    fn created(&mut self, id: u32, parent: u32) {
        if self.checked && parent != 0 {
            self.streams.push(FloorStream {
                id,
                paused: 0,
                passed: 0,
            });
        }
    }

    /// A context was deleted.
    fn deleted(&mut self, id: u32) {
        self.streams.retain(|s| s.id != id);
    }
}

/// Calls a floor callback with the fair floor's record of which one runs,
/// for which context, and whether it ends the stream.
fn in_callback<R>(
    store: &mut Store<Floor>,
    callback: usize,
    call: impl FnOnce(&mut Store<Floor>) -> R,
) -> R {
    in_stream_callback(store, callback, ROOT_CONTEXT, false, call)
}

/// [`in_callback`] for a callback of stream `context`.
fn in_stream_callback<R>(
    store: &mut Store<Floor>,
    callback: usize,
    context: u32,
    end_of_stream: bool,
    call: impl FnOnce(&mut Store<Floor>) -> R,
) -> R {
    if !store.data().checked {
        return call(store);
    }
    let floor = store.data_mut();
    let saved = (
        floor.callback,
        floor.context,
        floor.end_of_stream,
        floor.effective,
    );
    (
        floor.callback,
        floor.context,
        floor.end_of_stream,
        floor.effective,
    ) = (callback, context, end_of_stream, context);
    let result = call(store);
    let floor = store.data_mut();
    (
        floor.callback,
        floor.context,
        floor.end_of_stream,
        floor.effective,
    ) = saved;
    result
}

/// `proxy_action_t` as the floor acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FloorAction {
    Continue,
    Pause,
}

impl FloorAction {
    /// Whether a callback's call succeeded and it continued.
    fn continued(result: wasmtime::Result<FloorAction>) -> bool {
        result.is_ok_and(|a| a == FloorAction::Continue)
    }

    /// The fair floor decodes what the plugin returned, an undefined value
    /// failing the call, as the generated `Plugin` does (and as
    /// proxy-wasm-cpp-host range-checks it in
    /// `convertVmCallResultToFilterHeadersStatus`); the bare floor casts.
    fn decode(raw: u32, checked: bool) -> wasmtime::Result<FloorAction> {
        match raw {
            CONTINUE => Ok(FloorAction::Continue),
            PAUSE => Ok(FloorAction::Pause),
            _ if !checked => Ok(FloorAction::Continue),
            other => Err(undefined_action(other)),
        }
    }
}

#[cold]
fn undefined_action(raw: u32) -> wasmtime::Error {
    wasmtime::Error::msg(format!("the plugin returned {raw}, not an action"))
}

/// Calls `func`, or answers `absent` when the plugin does not export it: a
/// plugin need not export every callback, and proxy-wasm-cpp-host checks
/// each before calling it (`if (!wasm_->on_request_body_) return Continue`),
/// as the generated `Plugin` does.
fn call_or<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    func: Option<&TypedFunc<P, R>>,
    store: &mut Store<Floor>,
    params: P,
    absent: R,
) -> wasmtime::Result<R> {
    match func {
        Some(func) => func.call(store, params),
        None => Ok(absent),
    }
}

/// A stream callback that may pause its stream, its action decoded: the
/// fair floor records whether it paused, for the paused grants.
fn pausing_callback(
    store: &mut Store<Floor>,
    callback: usize,
    context: u32,
    end_of_stream: bool,
    call: impl FnOnce(&mut Store<Floor>) -> wasmtime::Result<u32>,
) -> wasmtime::Result<FloorAction> {
    let raw = in_stream_callback(store, callback, context, end_of_stream, call);
    let floor = store.data_mut();
    let result = raw.and_then(|raw| FloorAction::decode(raw, floor.checked));
    if floor.checked
        && let Ok(action) = result
        && let Some(stream) = floor.streams.iter_mut().find(|s| s.id == context)
    {
        let bit = 1 << callback;
        if action == FloorAction::Pause {
            stream.paused |= bit;
        } else {
            stream.paused &= !bit;
            stream.passed |= bit;
        }
    }
    result
}

/// The plugin's memory: cached, or looked up once (host calls made before
/// the floor cached it, e.g. from `_initialize`).
fn floor_memory(caller: &mut Caller<'_, Floor>) -> Option<Memory> {
    if let Some(memory) = caller.data().memory {
        return Some(memory);
    }
    let memory = caller.get_export("memory")?.into_memory()?;
    caller.data_mut().memory = Some(memory);
    Some(memory)
}

/// The plugin's `proxy_on_memory_allocate`: cached (taken out for the call,
/// which needs the store, rather than cloned; [`floor_allocate`] puts it
/// back), or looked up once.
fn floor_allocator(caller: &mut Caller<'_, Floor>) -> Option<TypedFunc<u32, u32>> {
    if let Some(allocate) = caller.data_mut().allocate.take() {
        return Some(allocate);
    }
    let func = caller.get_export("proxy_on_memory_allocate")?.into_func()?;
    func.typed::<u32, u32>(&*caller).ok()
}

/// Allocates `len` bytes with the plugin's allocator; `None` when it has
/// none.
fn floor_allocate(caller: &mut Caller<'_, Floor>, len: u32) -> Option<wasmtime::Result<u32>> {
    let allocate = floor_allocator(caller)?;
    let ptr = allocate.call(&mut *caller, len);
    caller.data_mut().allocate = Some(allocate);
    Some(ptr)
}

/// `len` bytes at `ptr`, if in bounds.
fn slice(mem: &[u8], ptr: u32, len: u32) -> Option<&[u8]> {
    let start = ptr as usize;
    mem.get(start..start.checked_add(len as usize)?)
}

fn slice_mut(mem: &mut [u8], ptr: u32, len: u32) -> Option<&mut [u8]> {
    let start = ptr as usize;
    mem.get_mut(start..start.checked_add(len as usize)?)
}

/// Writes a little-endian `u32` at `ptr`; `false` when out of bounds.
fn put_u32(mem: &mut [u8], ptr: u32, value: u32) -> bool {
    match slice_mut(mem, ptr, 4) {
        Some(target) => {
            target.copy_from_slice(&value.to_le_bytes());
            true
        }
        None => false,
    }
}

/// Copies `value` (`len` bytes) into a fresh plugin allocation and writes its
/// address and size to `ptr_out` and `size_out`.
fn floor_return(
    caller: &mut Caller<'_, Floor>,
    memory: Memory,
    value: Value,
    len: u32,
    ptr_out: u32,
    size_out: u32,
) -> wasmtime::Result<u32> {
    let ptr = if len == 0 {
        0
    } else {
        let Some(ptr) = floor_allocate(caller, len) else {
            return Ok(INVALID_MEMORY_ACCESS);
        };
        let ptr = ptr?;
        if ptr == 0 {
            return Ok(INVALID_MEMORY_ACCESS);
        }
        ptr
    };
    // After the allocator ran: memory may have grown, and (the plugin being
    // untrusted) the value is found again rather than assumed.
    let (mem, floor) = memory.data_and_store_mut(&mut *caller);
    let Some(bytes) = floor.state.value(value).filter(|v| v.len() == len as usize) else {
        return Ok(INVALID_MEMORY_ACCESS);
    };
    if len > 0 {
        let Some(target) = slice_mut(mem, ptr, len) else {
            return Ok(INVALID_MEMORY_ACCESS);
        };
        target.copy_from_slice(bytes);
    }
    if !put_u32(mem, ptr_out, ptr) || !put_u32(mem, size_out, len) {
        return Ok(INVALID_MEMORY_ACCESS);
    }
    Ok(OK)
}

/// Registers `proxy_*` stubs answering OK for the imports a request does not use.
macro_rules! stubs {
    ($linker:ident; $($name:literal ($($arg:ident),*);)*) => {
        $(
            $linker.func_wrap(
                "env",
                $name,
                |_: Caller<'_, Floor>, $($arg: u32),*| -> u32 {
                    $(let _ = $arg;)*
                    OK
                },
            )?;
        )*
    };
}

fn floor_linker(engine: &Engine) -> Linker<Floor> {
    build_floor_linker(engine).expect("floor linker")
}

fn build_floor_linker(engine: &Engine) -> wasmtime::Result<Linker<Floor>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut caller: Caller<'_, Floor>, level: u32, ptr: u32, len: u32| -> u32 {
            let Some(memory) = floor_memory(&mut caller) else {
                return INVALID_MEMORY_ACCESS;
            };
            let (mem, floor) = memory.data_and_store_mut(&mut caller);
            let Some(message) = slice(mem, ptr, len) else {
                return INVALID_MEMORY_ACCESS;
            };
            if floor.checked
                && (level > 5
                    || len > fair::ARGUMENT_BYTES
                    || std::str::from_utf8(message).is_err())
            {
                return BAD_ARGUMENT;
            }
            floor.state.logs.push((level, message.to_vec()));
            OK
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut caller: Caller<'_, Floor>, period: u32| -> u32 {
            let floor = caller.data_mut();
            if floor.checked && !floor.permits(fair::SET_TICK) {
                return BAD_ARGUMENT;
            }
            floor.state.tick_period_ms = period;
            OK
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut caller: Caller<'_, Floor>,
         buffer_id: u32,
         start: u32,
         max_size: u32,
         ptr_out: u32,
         size_out: u32|
         -> wasmtime::Result<u32> {
            let Some(memory) = floor_memory(&mut caller) else {
                return Ok(INVALID_MEMORY_ACCESS);
            };
            let (mem, floor) = memory.data_and_store_mut(&mut caller);
            if floor.checked {
                if slice(mem, ptr_out, 4).is_none() || slice(mem, size_out, 4).is_none() {
                    return Ok(INVALID_MEMORY_ACCESS);
                }
                let Some(access) = fair::buffer_access(buffer_id) else {
                    return Ok(BAD_ARGUMENT);
                };
                if !floor.permits(access) {
                    return Ok(NOT_FOUND);
                }
            }
            let Some(buffer) = floor.state.buffer(buffer_id) else {
                return Ok(NOT_FOUND);
            };
            let (start, end) = State::range(buffer, start as usize, max_size as usize);
            let value = Value::Buffer {
                buffer_id,
                start,
                end,
            };
            floor_return(
                &mut caller,
                memory,
                value,
                (end - start) as u32,
                ptr_out,
                size_out,
            )
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut caller: Caller<'_, Floor>,
         map_id: u32,
         key_ptr: u32,
         key_len: u32,
         ptr_out: u32,
         size_out: u32|
         -> wasmtime::Result<u32> {
            let Some(memory) = floor_memory(&mut caller) else {
                return Ok(INVALID_MEMORY_ACCESS);
            };
            let (mem, floor) = memory.data_and_store_mut(&mut caller);
            if floor.checked
                && (slice(mem, ptr_out, 4).is_none() || slice(mem, size_out, 4).is_none())
            {
                return Ok(INVALID_MEMORY_ACCESS);
            }
            let Some(key) = slice(mem, key_ptr, key_len) else {
                return Ok(INVALID_MEMORY_ACCESS);
            };
            if floor.checked {
                let Some(access) = fair::map_access(map_id, false) else {
                    return Ok(BAD_ARGUMENT);
                };
                if key_len > fair::ARGUMENT_BYTES
                    || std::str::from_utf8(key).is_err()
                    || !floor.permits(access)
                {
                    return Ok(BAD_ARGUMENT);
                }
            }
            let Some(map) = floor.state.map(map_id) else {
                return Ok(NOT_FOUND);
            };
            let Some(index) = map.iter().position(|(k, _)| k.as_slice() == key) else {
                return Ok(NOT_FOUND);
            };
            let len = map[index].1.len() as u32;
            let value = Value::Header { map_id, index };
            floor_return(&mut caller, memory, value, len, ptr_out, size_out)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut caller: Caller<'_, Floor>,
         map_id: u32,
         key_ptr: u32,
         key_len: u32,
         value_ptr: u32,
         value_len: u32|
         -> u32 {
            let Some(memory) = floor_memory(&mut caller) else {
                return INVALID_MEMORY_ACCESS;
            };
            let (mem, floor) = memory.data_and_store_mut(&mut caller);
            let (Some(key), Some(value)) = (
                slice(mem, key_ptr, key_len),
                slice(mem, value_ptr, value_len),
            ) else {
                return INVALID_MEMORY_ACCESS;
            };
            if floor.checked {
                let Some(access) = fair::map_access(map_id, true) else {
                    return BAD_ARGUMENT;
                };
                if key_len > fair::ARGUMENT_BYTES
                    || value_len > fair::ARGUMENT_BYTES
                    || std::str::from_utf8(key).is_err()
                    || !floor.permits(access)
                {
                    return BAD_ARGUMENT;
                }
            }
            let Some(map) = floor.state.map_mut(map_id) else {
                return NOT_FOUND;
            };
            map.push((key.to_vec(), value.to_vec()));
            OK
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "fd_write",
        |mut caller: Caller<'_, Floor>, fd: u32, iovec: u32, count: u32, written_out: u32| -> u32 {
            let Some(memory) = floor_memory(&mut caller) else {
                return WASI_FAULT;
            };
            let (mem, floor) = memory.data_and_store_mut(&mut caller);
            if floor.checked {
                if fd != 1 && fd != 2 {
                    return WASI_BADF;
                }
                if count > fair::IOVECS_MAX {
                    return WASI_INVAL;
                }
            }
            let checked = floor.checked;
            let mut written = 0u32;
            for i in 0..count {
                let Some(entry) = i
                    .checked_mul(8)
                    .and_then(|offset| iovec.checked_add(offset))
                    .and_then(|at| slice(mem, at, 8))
                else {
                    return WASI_FAULT;
                };
                let len = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
                if checked {
                    let start = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
                    if slice(mem, start, len).is_none() {
                        return WASI_FAULT;
                    }
                    match written.checked_add(len) {
                        Some(total) if total <= fair::ARGUMENT_BYTES => written = total,
                        _ => return WASI_INVAL,
                    }
                } else {
                    written = written.wrapping_add(len);
                }
            }
            if put_u32(mem, written_out, written) {
                WASI_SUCCESS
            } else {
                WASI_FAULT
            }
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "environ_sizes_get",
        |mut caller: Caller<'_, Floor>, count_out: u32, size_out: u32| -> u32 {
            let Some(memory) = floor_memory(&mut caller) else {
                return WASI_FAULT;
            };
            let mem = memory.data_mut(&mut caller);
            if put_u32(mem, count_out, 0) && put_u32(mem, size_out, 0) {
                WASI_SUCCESS
            } else {
                WASI_FAULT
            }
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "environ_get",
        |_: Caller<'_, Floor>, _array: u32, _buffer: u32| -> u32 { WASI_SUCCESS },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "proc_exit",
        |_: Caller<'_, Floor>, _code: u32| {},
    )?;
    stubs! { linker;
        "proxy_done" ();
        "proxy_set_effective_context" (a);
        "proxy_close_stream" (a);
        "proxy_continue_stream" (a);
        "proxy_send_local_response" (a, b, c, d, e, f, g, h);
        "proxy_get_property" (a, b, c, d);
        "proxy_set_property" (a, b, c, d);
        "proxy_get_status" (a, b, c);
        "proxy_get_shared_data" (a, b, c, d, e);
        "proxy_set_shared_data" (a, b, c, d, e);
        "proxy_get_current_time_nanoseconds" (a);
        "proxy_http_call" (a, b, c, d, e, f, g, h, i, j);
        "proxy_grpc_call" (a, b, c, d, e, f, g, h, i, j, k, l);
        "proxy_grpc_stream" (a, b, c, d, e, f, g, h, i);
        "proxy_grpc_send" (a, b, c, d);
        "proxy_grpc_cancel" (a);
        "proxy_grpc_close" (a);
        "proxy_register_shared_queue" (a, b, c);
        "proxy_resolve_shared_queue" (a, b, c, d, e);
        "proxy_enqueue_shared_queue" (a, b, c);
        "proxy_dequeue_shared_queue" (a, b, c);
        "proxy_call_foreign_function" (a, b, c, d, e, f);
        "proxy_get_header_map_pairs" (a, b, c);
        "proxy_set_header_map_pairs" (a, b, c);
        "proxy_replace_header_map_value" (a, b, c, d, e);
        "proxy_remove_header_map_value" (a, b, c);
        "proxy_set_buffer_bytes" (a, b, c, d, e);
    }
    Ok(linker)
}

/// The callbacks the floor drives, looked up once.
struct FloorPlugin {
    on_context_create: Option<TypedFunc<(u32, u32), ()>>,
    on_request_headers: Option<TypedFunc<(u32, u32, u32), u32>>,
    on_request_body: Option<TypedFunc<(u32, u32, u32), u32>>,
    on_response_headers: Option<TypedFunc<(u32, u32, u32), u32>>,
    on_response_body: Option<TypedFunc<(u32, u32, u32), u32>>,
    on_done: Option<TypedFunc<u32, u32>>,
    on_log: Option<TypedFunc<u32, ()>>,
    on_delete: Option<TypedFunc<u32, ()>>,
}

/// Instantiates `module` on the floor and caches its memory and allocator.
fn floor_instantiate(
    store: &mut Store<Floor>,
    linker: &Linker<Floor>,
    module: &Module,
) -> Instance {
    let instance = linker
        .instantiate(&mut *store, module)
        .expect("instantiate");
    let memory = instance.get_memory(&mut *store, "memory").expect("memory");
    let allocate = instance
        .get_typed_func::<u32, u32>(&mut *store, "proxy_on_memory_allocate")
        .ok();
    let floor = store.data_mut();
    floor.memory = Some(memory);
    floor.allocate = allocate;
    instance
}

/// Every callback of the version the plugin exports, with its signature
/// checked: what a host that can call any of them looks up per instance
/// (proxy-wasm-cpp-host's `WasmBase::getFunctions` does), and what the
/// generated `Plugin` looks up. The fair floor pays it; the lifecycle then
/// uses its own typed handles.
fn floor_every_callback(store: &mut Store<Floor>, instance: Instance) -> Vec<wasmtime::Func> {
    let mut found = Vec::new();
    for name in generated::CALLBACK_NAMES {
        let Some(func) = instance.get_func(&mut *store, name) else {
            continue;
        };
        let ty = func.ty(&*store);
        let scalar =
            |t: &wasmtime::ValType| matches!(t, wasmtime::ValType::I32 | wasmtime::ValType::I64);
        assert!(
            ty.params().all(|t| scalar(&t))
                && ty.results().len() <= 1
                && ty.results().all(|t| scalar(&t)),
            "{name} has a wrong signature"
        );
        found.push(func);
    }
    found
}

/// A new store, the plugin instantiated and started: `_initialize`, root
/// context, vm start, configure.
fn floor_start(
    engine: &Engine,
    linker: &Linker<Floor>,
    module: &Module,
    floor: Floor,
) -> (Store<Floor>, FloorPlugin) {
    let sizes = floor.state.sizes();
    let checked = floor.checked;
    if checked {
        // What the generated host checks of a module before instantiating.
        assert!(module.get_export("proxy_abi_version_0_2_1").is_some());
        assert!(matches!(
            module.get_export("memory"),
            Some(wasmtime::ExternType::Memory(_))
        ));
    }
    let mut store = Store::new(engine, floor);
    let instance = floor_instantiate(&mut store, linker, module);
    if checked {
        black_box(floor_every_callback(&mut store, instance));
    }
    let typed = |store: &mut Store<Floor>, name: &str| {
        instance
            .get_func(&mut *store, name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    if let Some(init) = instance.get_func(&mut store, "_initialize") {
        init.typed::<(), ()>(&store)
            .expect("_initialize")
            .call(&mut store, ())
            .expect("init");
    } else if let Some(start) = instance.get_func(&mut store, "_start") {
        start
            .typed::<(), ()>(&store)
            .expect("_start")
            .call(&mut store, ())
            .expect("start");
    }
    let on_vm_start: TypedFunc<(u32, u32), u32> = typed(&mut store, "proxy_on_vm_start")
        .typed(&store)
        .expect("type");
    let on_configure: TypedFunc<(u32, u32), u32> = typed(&mut store, "proxy_on_configure")
        .typed(&store)
        .expect("type");
    // Those the lifecycle calls may be absent; one of the wrong type is not.
    fn optional<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        store: &mut Store<Floor>,
        instance: Instance,
        name: &str,
    ) -> Option<TypedFunc<P, R>> {
        let func = instance.get_func(&mut *store, name)?;
        Some(func.typed(&*store).expect("type"))
    }
    let plugin = FloorPlugin {
        on_context_create: optional(&mut store, instance, "proxy_on_context_create"),
        on_request_headers: optional(&mut store, instance, "proxy_on_request_headers"),
        on_request_body: optional(&mut store, instance, "proxy_on_request_body"),
        on_response_headers: optional(&mut store, instance, "proxy_on_response_headers"),
        on_response_body: optional(&mut store, instance, "proxy_on_response_body"),
        on_done: optional(&mut store, instance, "proxy_on_done"),
        on_log: optional(&mut store, instance, "proxy_on_log"),
        on_delete: optional(&mut store, instance, "proxy_on_delete"),
    };
    in_callback(&mut store, fair::OTHER, |store| {
        call_or(
            plugin.on_context_create.as_ref(),
            store,
            (ROOT_CONTEXT, 0),
            (),
        )
    })
    .expect("root context");
    let started = in_callback(&mut store, fair::ROOT, |store| {
        on_vm_start.call(store, (ROOT_CONTEXT, sizes.vm_configuration))
    });
    assert_eq!(started.expect("vm start"), 1);
    let configured = in_callback(&mut store, fair::ROOT, |store| {
        on_configure.call(store, (ROOT_CONTEXT, sizes.plugin_configuration))
    });
    assert_eq!(configured.expect("configure"), 1);
    (store, plugin)
}

/// One HTTP request on stream context `id`.
fn floor_request(store: &mut Store<Floor>, plugin: &FloorPlugin, sizes: Sizes, id: u32) {
    store.data_mut().state.reset();
    store.data_mut().created(id, ROOT_CONTEXT);
    // Every callback runs under the rules, these two with no grants.
    in_stream_callback(store, fair::OTHER, id, false, |store| {
        call_or(
            plugin.on_context_create.as_ref(),
            store,
            (id, ROOT_CONTEXT),
            (),
        )
    })
    .expect("stream context");
    let r = pausing_callback(store, fair::REQUEST_HEADERS, id, false, |store| {
        let args = (id, sizes.request_headers, 0);
        call_or(plugin.on_request_headers.as_ref(), store, args, CONTINUE)
    });
    assert!(FloorAction::continued(r), "request headers");
    let r = pausing_callback(store, fair::REQUEST_BODY, id, true, |store| {
        let args = (id, sizes.request_body, 1);
        call_or(plugin.on_request_body.as_ref(), store, args, CONTINUE)
    });
    assert!(FloorAction::continued(r), "request body");
    let r = pausing_callback(store, fair::RESPONSE_HEADERS, id, false, |store| {
        let args = (id, sizes.response_headers, 0);
        call_or(plugin.on_response_headers.as_ref(), store, args, CONTINUE)
    });
    assert!(FloorAction::continued(r), "response headers");
    let r = pausing_callback(store, fair::RESPONSE_BODY, id, true, |store| {
        let args = (id, sizes.response_body, 1);
        call_or(plugin.on_response_body.as_ref(), store, args, CONTINUE)
    });
    assert!(FloorAction::continued(r), "response body");
    let r = in_stream_callback(store, fair::DONE_OR_LOG, id, false, |store| {
        call_or(plugin.on_done.as_ref(), store, id, 1)
    });
    assert!(r.is_ok_and(|done| done != 0), "done");
    in_stream_callback(store, fair::DONE_OR_LOG, id, false, |store| {
        call_or(plugin.on_log.as_ref(), store, id, ())
    })
    .expect("log");
    in_stream_callback(store, fair::OTHER, id, false, |store| {
        call_or(plugin.on_delete.as_ref(), store, id, ())
    })
    .expect("delete");
    store.data_mut().deleted(id);
}

// ---------------------------------------------------------------------------
// The single host call
// ---------------------------------------------------------------------------

/// A plugin of two callbacks that each make one host call, and one that
/// makes none. `proxy_on_request_headers` reads `user-agent` from the request
/// headers (present); `proxy_on_response_headers` looks up `x-not-there` in
/// the response headers (missing). Each traps on any other status, so a host
/// that answered wrongly could not be measured. `proxy_on_request_body` is the
/// bare callback round trip. The allocator hands out one fixed scratch area,
/// so no call leaks.
const HOST_CALL_WAT: &str = r#"
(module
  (import "env" "proxy_get_header_map_value"
    (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "user-agent")
  (data (i32.const 32) "x-not-there")
  (func (export "MARKER"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096))
      (else (i32.const 0))))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") HEADERS (result i32)
    (if (call $get (i32.const 0) (i32.const 16) (i32.const 10) (i32.const 64) (i32.const 68))
      (then unreachable))
    (i32.const 0))
  (func (export "proxy_on_response_headers") HEADERS (result i32)
    (if (i32.ne
          (call $get (i32.const 2) (i32.const 32) (i32.const 11) (i32.const 64) (i32.const 68))
          (i32.const 1))
      (then unreachable))
    (i32.const 0))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (i32.const 0))
)
"#;

/// [`HOST_CALL_WAT`] for `version`: its marker, and the headers callbacks'
/// parameters (0.1.0's have no `end_of_stream`).
fn host_call_wat(version: &str) -> String {
    let headers = if version == "0.1.0" {
        "(param i32 i32)"
    } else {
        "(param i32 i32 i32)"
    };
    HOST_CALL_WAT
        .replace(
            "MARKER",
            &format!("proxy_abi_version_{}", version.replace('.', "_")),
        )
        .replace("HEADERS", headers)
}

/// The stream context the host-call callbacks run for.
const HOST_CALL_STREAM: u32 = 2;

/// How many other streams the `crowded` and `busy` counts open before the
/// measured one: a proxy worker's one plugin instance serves its concurrent
/// requests, so a callback's stream is one among many. The fair floor keeps
/// streams in a `Vec` it scans (cheapest for one stream), the generated host
/// in a hash table; this shows what each costs when the stream is not alone.
const OTHER_STREAMS: u32 = 100;

/// [`HOST_CALL_WAT`] on the generated host, its stream created.
struct GeneratedCalls {
    store: Store<State>,
    plugin: Plugin,
}

impl GeneratedCalls {
    fn new(setup: &Setup) -> GeneratedCalls {
        let mut store = Store::new(&setup.engine, State::new());
        let plugin = Plugin::instantiate(&mut store, &setup.generated, &setup.host_call)
            .expect("instantiate the WAT");
        plugin
            .proxy_on_context_create(&mut store, HOST_CALL_STREAM, ROOT_CONTEXT)
            .expect("stream context");
        let mut this = GeneratedCalls { store, plugin };
        this.present();
        this.missing();
        this.bare();
        this
    }

    fn present(&mut self) {
        let r = (self.plugin).proxy_on_request_headers(&mut self.store, HOST_CALL_STREAM, 0, false);
        assert!(r.is_ok_and(|a| a == Some(Action::Continue)), "present key");
    }

    fn missing(&mut self) {
        let r =
            (self.plugin).proxy_on_response_headers(&mut self.store, HOST_CALL_STREAM, 0, false);
        assert!(r.is_ok_and(|a| a == Some(Action::Continue)), "missing key");
    }

    /// Opens [`OTHER_STREAMS`] streams before the measured one.
    fn open_other_streams(&mut self) {
        let state = self.store.data_mut().plugin_state();
        state.forget_context(HOST_CALL_STREAM);
        for id in other_streams() {
            state.created(id, ROOT_CONTEXT);
        }
        state.created(HOST_CALL_STREAM, ROOT_CONTEXT);
    }

    fn bare(&mut self) {
        let r = (self.plugin).proxy_on_request_body(&mut self.store, HOST_CALL_STREAM, 0, false);
        assert!(
            r.is_ok_and(|a| a == Some(Action::Continue)),
            "bare callback"
        );
    }
}

/// [`HOST_CALL_WAT`] on the floor.
struct FloorCalls {
    store: Store<Floor>,
    present: Option<TypedFunc<(u32, u32, u32), u32>>,
    missing: Option<TypedFunc<(u32, u32, u32), u32>>,
    bare: Option<TypedFunc<(u32, u32, u32), u32>>,
}

impl FloorCalls {
    fn new(setup: &Setup, floor: Floor) -> FloorCalls {
        FloorCalls::on(setup, &setup.host_call, floor)
    }

    /// `module` (a [`host_call_wat`] of 0.2.x) on the floor.
    fn on(setup: &Setup, module: &Module, floor: Floor) -> FloorCalls {
        let (store, [present, missing, bare]) = floor_host_calls(setup, module, floor);
        let typed = |func: wasmtime::Func| func.typed(&store).expect("type");
        let mut this = FloorCalls {
            present: Some(typed(present)),
            missing: Some(typed(missing)),
            bare: Some(typed(bare)),
            store,
        };
        this.present();
        this.missing();
        this.bare();
        this
    }

    fn present(&mut self) {
        floor_callback(
            self.present.as_ref(),
            &mut self.store,
            fair::REQUEST_HEADERS,
        );
    }

    fn missing(&mut self) {
        floor_callback(
            self.missing.as_ref(),
            &mut self.store,
            fair::RESPONSE_HEADERS,
        );
    }

    fn bare(&mut self) {
        floor_callback(self.bare.as_ref(), &mut self.store, fair::REQUEST_BODY);
    }

    /// Opens [`OTHER_STREAMS`] streams before the measured one, which then
    /// comes last in the floor's list.
    fn open_other_streams(&mut self) {
        let floor = self.store.data_mut();
        floor.deleted(HOST_CALL_STREAM);
        for id in other_streams() {
            floor.created(id, ROOT_CONTEXT);
        }
        floor.created(HOST_CALL_STREAM, ROOT_CONTEXT);
    }
}

/// `module` instantiated on the floor with the stream the calls run for
/// created (as the generated side creates it), and its three callbacks.
fn floor_host_calls(
    setup: &Setup,
    module: &Module,
    floor: Floor,
) -> (Store<Floor>, [wasmtime::Func; 3]) {
    let mut store = Store::new(&setup.engine, floor);
    let instance = floor_instantiate(&mut store, &setup.floor, module);
    let funcs = [
        "proxy_on_request_headers",
        "proxy_on_response_headers",
        "proxy_on_request_body",
    ]
    .map(|name| {
        instance
            .get_func(&mut store, name)
            .unwrap_or_else(|| panic!("no {name}"))
    });
    store.data_mut().created(HOST_CALL_STREAM, ROOT_CONTEXT);
    (store, funcs)
}

/// Calls a stream callback of [`HOST_CALL_WAT`] on the floor.
fn floor_callback(
    func: Option<&TypedFunc<(u32, u32, u32), u32>>,
    store: &mut Store<Floor>,
    callback: usize,
) {
    let r = pausing_callback(store, callback, HOST_CALL_STREAM, false, |store| {
        call_or(func, store, (HOST_CALL_STREAM, 0, 0), CONTINUE)
    });
    assert!(FloorAction::continued(r), "floor callback");
}

/// [`FloorCalls`] for 0.1.0's plugin, whose headers callbacks take no
/// `end_of_stream`.
struct FloorCallsV010 {
    store: Store<Floor>,
    present: Option<TypedFunc<(u32, u32), u32>>,
    missing: Option<TypedFunc<(u32, u32), u32>>,
    bare: Option<TypedFunc<(u32, u32, u32), u32>>,
}

impl FloorCallsV010 {
    fn new(setup: &Setup, floor: Floor) -> FloorCallsV010 {
        let module = Module::new(&setup.engine, host_call_wat("0.1.0")).expect("compile");
        let (store, [present, missing, bare]) = floor_host_calls(setup, &module, floor);
        let mut this = FloorCallsV010 {
            present: Some(present.typed(&store).expect("type")),
            missing: Some(missing.typed(&store).expect("type")),
            bare: Some(bare.typed(&store).expect("type")),
            store,
        };
        this.present();
        this.missing();
        this.bare();
        this
    }

    fn headers(&mut self, present: bool) {
        let (func, callback) = if present {
            (&self.present, fair::REQUEST_HEADERS)
        } else {
            (&self.missing, fair::RESPONSE_HEADERS)
        };
        let r = pausing_callback(
            &mut self.store,
            callback,
            HOST_CALL_STREAM,
            false,
            |store| call_or(func.as_ref(), store, (HOST_CALL_STREAM, 0), CONTINUE),
        );
        assert!(FloorAction::continued(r), "floor callback");
    }

    fn present(&mut self) {
        self.headers(true);
    }

    fn missing(&mut self) {
        self.headers(false);
    }

    fn bare(&mut self) {
        floor_callback(self.bare.as_ref(), &mut self.store, fair::REQUEST_BODY);
    }
}

/// The host calls on the generated hosts of the other described versions,
/// with the same [`State`] and the same `_into` method.
macro_rules! other_version {
    ($module:ident, $calls:ident, $version:literal, ($($headers:tt)*)) => {
        #[allow(dead_code)]
        mod $module {
            proxy_wasm_abi_macros::host!({ version: $version });

            impl Host for super::State {
                fn proxy_get_header_map_value_into(
                    &mut self,
                    map_id: MapType,
                    key: &str,
                    value: &mut Vec<u8>,
                ) -> Result<(), Status> {
                    let found = self.header(map_id as u32, key).ok_or(Status::NotFound)?;
                    value.extend_from_slice(found);
                    Ok(())
                }
            }
        }

        #[doc = concat!("[`host_call_wat`] of ", $version, " on its generated host.")]
        struct $calls {
            store: Store<State>,
            plugin: $module::Plugin,
        }

        impl $calls {
            fn new(setup: &Setup) -> $calls {
                let mut linker = Linker::new(&setup.engine);
                $module::add_to_linker(&mut linker, |state: &mut State| state).expect("link");
                let module = Module::new(&setup.engine, host_call_wat($version)).expect("compile");
                let mut store = Store::new(&setup.engine, State::new());
                let plugin = $module::Plugin::instantiate(&mut store, &linker, &module)
                    .expect("instantiate the WAT");
                plugin
                    .proxy_on_context_create(&mut store, HOST_CALL_STREAM, ROOT_CONTEXT)
                    .expect("stream context");
                let mut this = $calls { store, plugin };
                this.present();
                this.missing();
                this.bare();
                this
            }

            fn present(&mut self) {
                let r = (self.plugin).proxy_on_request_headers(
                    &mut self.store, HOST_CALL_STREAM, 0 $($headers)*);
                assert!(r.is_ok_and(|a| a == Some($module::Action::Continue)), "present key");
            }

            fn missing(&mut self) {
                let r = (self.plugin).proxy_on_response_headers(
                    &mut self.store, HOST_CALL_STREAM, 0 $($headers)*);
                assert!(r.is_ok_and(|a| a == Some($module::Action::Continue)), "missing key");
            }

            fn bare(&mut self) {
                let r = (self.plugin).proxy_on_request_body(&mut self.store, HOST_CALL_STREAM, 0, false);
                assert!(r.is_ok_and(|a| a == Some($module::Action::Continue)), "bare callback");
            }
        }
    };
}

other_version!(generated_v0_1_0, CallsV010, "0.1.0", ());
other_version!(generated_v0_2_0, CallsV020, "0.2.0", (, false));

/// Runs `op` (`present`, `missing` or `none`) `n` times on `side` of the
/// host calls of an earlier `version`: its generated host, or the fair
/// floor running the same version's plugin.
fn repeat_version(setup: &Setup, op: &str, version: &str, side: &str, n: u32) {
    macro_rules! run {
        ($calls:expr) => {{
            let mut calls = $calls;
            match op {
                "present" => (0..n).for_each(|_| calls.present()),
                "missing" => (0..n).for_each(|_| calls.missing()),
                "none" => (0..n).for_each(|_| calls.bare()),
                _ => panic!("unknown operation {op}"),
            }
        }};
    }
    let module = |version| Module::new(&setup.engine, host_call_wat(version)).expect("compile");
    match (version, side) {
        ("0.1.0", "generated") => run!(CallsV010::new(setup)),
        ("0.2.0", "generated") => run!(CallsV020::new(setup)),
        ("0.1.0", "fair") => run!(FloorCallsV010::new(setup, Floor::fair(State::new()))),
        ("0.2.0", "fair") => run!(FloorCalls::on(
            setup,
            &module("0.2.0"),
            Floor::fair(State::new())
        )),
        _ => panic!("no host calls of {version} on {side}"),
    }
}

// ---------------------------------------------------------------------------
// The benchmarks
// ---------------------------------------------------------------------------

/// The compiled plugin, its engine and both linkers.
struct Setup {
    engine: Engine,
    plugin: Module,
    /// `plugin` checked and linked once.
    pre: PluginPre<State>,
    host_call: Module,
    generated: Linker<State>,
    floor: Linker<Floor>,
    limited: Limited,
}

/// The plugin on an engine with epoch interruption (code that checks the
/// epoch at loop heads and function entries), its linker, and the ticker
/// that advances the epoch: what deadlines cost.
struct Limited {
    engine: Engine,
    plugin: Module,
    linker: Linker<State>,
    _ticker: EpochTicker,
}

impl Limited {
    /// A started plugin held to [`Limits::default`].
    fn start(&self) -> (Store<State>, Plugin) {
        generated_start_with(
            &self.engine,
            &self.linker,
            &self.plugin,
            State::new(),
            Some(Limits::default()),
        )
    }
}

impl Setup {
    fn new() -> Setup {
        let wasm = proxy_wasm_abi_tests::build_plugin(PLUGIN);
        let engine = Engine::default();
        let plugin = Module::from_file(&engine, &wasm).expect("compile the plugin");
        let host_call = Module::new(&engine, host_call_wat("0.2.1")).expect("compile the WAT");
        let limited_engine = Engine::new(&Limits::config()).expect("an engine with epochs");
        let limited = Limited {
            plugin: Module::from_file(&limited_engine, &wasm).expect("compile the plugin"),
            linker: generated_linker(&limited_engine),
            _ticker: EpochTicker::start(&limited_engine).expect("the epoch ticker"),
            engine: limited_engine,
        };
        let generated = generated_linker(&engine);
        let pre = PluginPre::new(&generated, &plugin).expect("check and link the plugin");
        Setup {
            generated,
            pre,
            floor: floor_linker(&engine),
            engine,
            plugin,
            host_call,
            limited,
        }
    }
}

/// Runs the same requests on both hosts and checks they end in the same
/// state, with the header the plugin adds; a benchmark of hosts that
/// disagree would compare nothing.
fn check_equivalent(setup: &Setup) {
    let sizes = State::new().sizes();
    let (mut generated, plugin) =
        generated_start(&setup.engine, &setup.generated, &setup.plugin, State::new());
    let floors = [Floor::new(State::new()), Floor::fair(State::new())];
    let mut floors: Vec<_> = floors
        .into_iter()
        .map(|floor| floor_start(&setup.engine, &setup.floor, &setup.plugin, floor))
        .collect();
    for (floor, _) in &floors {
        assert_eq!(generated.data().logs, floor.data().state.logs, "start logs");
    }
    for id in 2..5 {
        generated_request(&mut generated, &plugin, sizes, id);
        for (floor, floor_plugin) in &mut floors {
            floor_request(floor, floor_plugin, sizes, id);
            let (g, f) = (generated.data(), &floor.data().state);
            assert_eq!(g.response_headers, f.response_headers, "response headers");
            assert_eq!(g.request_headers, f.request_headers, "request headers");
            assert_eq!(g.logs, f.logs, "logs");
            assert_eq!(g.tick_period_ms, f.tick_period_ms, "tick period");
        }
        let added = generated
            .data()
            .response_headers
            .last()
            .expect("a response header");
        assert_eq!(added.0, b"x-watched-value");
        assert_eq!(added.1, b"bench-client/1.0 (proxy-wasm-abi)");
    }
}

fn bench_lifecycle(c: &mut Criterion, setup: &Setup) {
    let sizes = State::new().sizes();
    let mut group = c.benchmark_group("lifecycle");

    let (mut store, plugin) =
        generated_start(&setup.engine, &setup.generated, &setup.plugin, State::new());
    let mut id = ROOT_CONTEXT;
    group.bench_function("generated", |b| {
        b.iter(|| {
            id = next_stream(id);
            generated_request(&mut store, &plugin, sizes, black_box(id));
        })
    });

    // The same, with the access rules switched off: their cost is the ratio
    // of the two generated runs.
    let mut unchecked = State::new();
    unchecked.plugin.enforce_access_rules(false);
    let (mut store, plugin) =
        generated_start(&setup.engine, &setup.generated, &setup.plugin, unchecked);
    let mut id = ROOT_CONTEXT;
    group.bench_function("generated-rules-off", |b| {
        b.iter(|| {
            id = next_stream(id);
            generated_request(&mut store, &plugin, sizes, black_box(id));
        })
    });

    let (mut store, plugin) = setup.limited.start();
    let mut id = ROOT_CONTEXT;
    group.bench_function("generated-limits", |b| {
        b.iter(|| {
            id = next_stream(id);
            generated_request(&mut store, &plugin, sizes, black_box(id));
        })
    });

    for (name, floor) in [
        ("floor", Floor::new(State::new())),
        ("fair-floor", Floor::fair(State::new())),
    ] {
        let (mut store, plugin) = floor_start(&setup.engine, &setup.floor, &setup.plugin, floor);
        let mut id = ROOT_CONTEXT;
        group.bench_function(name, |b| {
            b.iter(|| {
                id = next_stream(id);
                floor_request(&mut store, &plugin, sizes, black_box(id));
            })
        });
    }
    group.finish();
}

/// The ids of [`OTHER_STREAMS`] streams that stay open while the `crowded`
/// callback or the `busy` lifecycle runs, apart from the ids requests take.
fn other_streams() -> impl Iterator<Item = u32> {
    (0..OTHER_STREAMS).map(|i| 0xf000_0000 + i)
}

/// The next stream context id, never the root's.
fn next_stream(id: u32) -> u32 {
    match id.wrapping_add(1) {
        0 | ROOT_CONTEXT => ROOT_CONTEXT + 1,
        next => next,
    }
}

fn bench_instantiate(c: &mut Criterion, setup: &Setup) {
    let mut group = c.benchmark_group("instantiate");
    // Each iteration is a whole instantiation: flat sampling keeps the run
    // inside its measurement time.
    group.sampling_mode(SamplingMode::Flat).sample_size(30);
    group.bench_function("generated", |b| {
        b.iter_batched(
            State::new,
            |state| generated_start(&setup.engine, &setup.generated, &setup.plugin, state),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("generated-pre", |b| {
        b.iter_batched(
            State::new,
            |state| pre_start(&setup.engine, &setup.pre, state),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("floor", |b| {
        b.iter_batched(
            State::new,
            |state| {
                floor_start(
                    &setup.engine,
                    &setup.floor,
                    &setup.plugin,
                    Floor::fair(state),
                )
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn bench_host_call(c: &mut Criterion, setup: &Setup) {
    let mut generated = GeneratedCalls::new(setup);
    let mut floor = FloorCalls::new(setup, Floor::new(State::new()));
    let mut fair = FloorCalls::new(setup, Floor::fair(State::new()));
    let mut group = c.benchmark_group("host_call");
    group.bench_function(BenchmarkId::new("generated", "present"), |b| {
        b.iter(|| generated.present())
    });
    group.bench_function(BenchmarkId::new("floor", "present"), |b| {
        b.iter(|| floor.present())
    });
    group.bench_function(BenchmarkId::new("generated", "missing"), |b| {
        b.iter(|| generated.missing())
    });
    group.bench_function(BenchmarkId::new("floor", "missing"), |b| {
        b.iter(|| floor.missing())
    });
    group.bench_function(BenchmarkId::new("generated", "none"), |b| {
        b.iter(|| generated.bare())
    });
    group.bench_function(BenchmarkId::new("floor", "none"), |b| {
        b.iter(|| floor.bare())
    });
    for (which, f) in [
        ("present", FloorCalls::present as fn(&mut FloorCalls)),
        ("missing", FloorCalls::missing),
        ("none", FloorCalls::bare),
    ] {
        group.bench_function(BenchmarkId::new("fair-floor", which), |b| {
            b.iter(|| f(&mut fair))
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// The ratio table
// ---------------------------------------------------------------------------

/// Where criterion writes its results, found as criterion finds it:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the
/// workspace's `target/criterion`.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| proxy_wasm_abi_tests::workspace_root().join("target"));
    target.join("criterion")
}

/// The mean (ns) of benchmark `id` measured in this run, or why there is none.
fn mean_ns(dir: &Path, id: &str, since: SystemTime) -> Result<f64, String> {
    let path = dir.join(id).join("new").join("estimates.json");
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(|_| format!("no {}", path.display()))?;
    if fresh < since {
        return Err("not measured in this run".to_string());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    mean_point_estimate(&text).ok_or_else(|| format!("no mean in {}", path.display()))
}

/// `mean.point_estimate` of a criterion `estimates.json`. Its `mean` object
/// holds a `confidence_interval` (bounds only) and then the `point_estimate`,
/// so the first `point_estimate` after `"mean"` is the mean's.
fn mean_point_estimate(json: &str) -> Option<f64> {
    let mean = &json[json.find("\"mean\"")?..];
    let after = &mean[mean.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let number = after.trim_start().strip_prefix(':')?.trim_start();
    let end = number
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(number.len());
    number[..end].parse().ok()
}

fn show_ns(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.3} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.3} µs", ns / 1_000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Runs `a` and `b` in alternating batches of `batch` iterations, `rounds`
/// times, and returns the median time per iteration of each and the median
/// of the per-round ratios a / b. On a shared machine the load drifts over
/// seconds, far more than criterion's intervals show; alternating puts both
/// sides under the same load, so their ratio holds still where their
/// separately measured means do not.
fn paired(rounds: usize, batch: u32, mut a: impl FnMut(), mut b: impl FnMut()) -> Paired {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(batch)
    };
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first, so neither always follows the other.
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ta.push(x);
        tb.push(y);
        ratios.push(x / y);
    }
    Paired {
        a: median(&mut ta),
        b: median(&mut tb),
        ratio: median(&mut ratios),
    }
}

/// What [`paired`] measured: median ns per iteration of each side, and the
/// median ratio.
struct Paired {
    a: f64,
    b: f64,
    ratio: f64,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One row of the ratio table: the paired measurement and, when criterion
/// measured both sides in this run, the ratio of its means.
struct Row {
    label: &'static str,
    paired: Paired,
    criterion: Result<f64, String>,
}

impl Row {
    fn new(label: &'static str, paired: Paired, ids: [&str; 2], since: SystemTime) -> Row {
        let dir = criterion_dir();
        let criterion = match (mean_ns(&dir, ids[0], since), mean_ns(&dir, ids[1], since)) {
            (Ok(a), Ok(b)) => Ok(a / b),
            (a, b) => Err(a.err().or(b.err()).unwrap_or_default()),
        };
        Row {
            label,
            paired,
            criterion,
        }
    }
}

/// Measures each comparison again, generated and floor alternating, and
/// prints the ratios.
fn print_ratios(setup: &Setup, since: SystemTime) {
    let sizes = State::new().sizes();
    let mut rows = Vec::new();

    let lifecycle = |state: State| {
        let (mut store, plugin) =
            generated_start(&setup.engine, &setup.generated, &setup.plugin, state);
        let mut id = ROOT_CONTEXT;
        move || {
            id = next_stream(id);
            generated_request(&mut store, &plugin, sizes, black_box(id));
        }
    };
    let floor_lifecycle = |floor: Floor| {
        let (mut store, plugin) = floor_start(&setup.engine, &setup.floor, &setup.plugin, floor);
        let mut id = ROOT_CONTEXT;
        move || {
            id = next_stream(id);
            floor_request(&mut store, &plugin, sizes, black_box(id));
        }
    };
    rows.push(Row::new(
        "lifecycle (sdk-plugin request)",
        paired(
            101,
            2000,
            lifecycle(State::new()),
            floor_lifecycle(Floor::fair(State::new())),
        ),
        ["lifecycle/generated", "lifecycle/fair-floor"],
        since,
    ));
    let rules_off = || {
        let mut state = State::new();
        state.plugin.enforce_access_rules(false);
        state
    };
    rows.push(Row::new(
        "lifecycle, access rules off",
        paired(
            101,
            2000,
            lifecycle(rules_off()),
            floor_lifecycle(Floor::new(State::new())),
        ),
        ["lifecycle/generated-rules-off", "lifecycle/floor"],
        since,
    ));
    let floor_started = || {
        black_box(floor_start(
            &setup.engine,
            &setup.floor,
            &setup.plugin,
            Floor::fair(State::new()),
        ));
    };
    let generated_started = || {
        black_box(generated_start(
            &setup.engine,
            &setup.generated,
            &setup.plugin,
            State::new(),
        ));
    };
    let pre_started = || {
        black_box(pre_start(&setup.engine, &setup.pre, State::new()));
    };
    rows.push(Row::new(
        "instantiate + start",
        paired(61, 4, generated_started, floor_started),
        ["instantiate/generated", "instantiate/floor"],
        since,
    ));
    rows.push(Row::new(
        "instantiate + start, PluginPre",
        paired(61, 4, pre_started, floor_started),
        ["instantiate/generated-pre", "instantiate/floor"],
        since,
    ));
    let (mut generated, mut floor) = (
        GeneratedCalls::new(setup),
        FloorCalls::new(setup, Floor::fair(State::new())),
    );
    for (label, which, g, f) in [
        (
            "host call, present key",
            "present",
            GeneratedCalls::present as fn(&mut GeneratedCalls),
            FloorCalls::present as fn(&mut FloorCalls),
        ),
        (
            "host call, missing key",
            "missing",
            GeneratedCalls::missing,
            FloorCalls::missing,
        ),
        (
            "callback, no host call",
            "none",
            GeneratedCalls::bare,
            FloorCalls::bare,
        ),
    ] {
        let measured = paired(101, 5000, || g(&mut generated), || f(&mut floor));
        let ids = [
            format!("host_call/generated/{which}"),
            format!("host_call/fair-floor/{which}"),
        ];
        rows.push(Row::new(label, measured, [&ids[0], &ids[1]], since));
    }

    println!();
    println!(
        "generated host / hand-written floor (the fair floor: the same checks and lookups), target: ratio <= {TARGET_RATIO:.2}"
    );
    println!(
        "measured alternately in this run (median of {} rounds); `criterion` is the ratio of criterion's means",
        101
    );
    println!(
        "{:<32} {:>12} {:>12} {:>8} {:>10} {:>10}  target",
        "benchmark", "generated", "floor", "ratio", "vs floor", "criterion"
    );
    for row in &rows {
        let Paired { a, b, ratio } = row.paired;
        let verdict = if ratio <= TARGET_RATIO {
            "met"
        } else {
            "MISSED"
        };
        let criterion = match &row.criterion {
            Ok(r) => format!("{r:.3}"),
            Err(_) => "-".to_string(),
        };
        println!(
            "{:<32} {:>12} {:>12} {ratio:>8.3} {:>+9.1}% {criterion:>10}  {verdict}",
            row.label,
            show_ns(a),
            show_ns(b),
            (ratio - 1.0) * 100.0
        );
    }

    // What the checks cost, written by hand: the fair floor against the bare one.
    let safety = paired(
        101,
        2000,
        floor_lifecycle(Floor::fair(State::new())),
        floor_lifecycle(Floor::new(State::new())),
    );
    println!(
        "checks (hand-written): lifecycle on the fair floor {} / bare floor {} = {:.3} ({:+.1}%)",
        show_ns(safety.a),
        show_ns(safety.b),
        safety.ratio,
        (safety.ratio - 1.0) * 100.0
    );
    let rules = paired(101, 2000, lifecycle(State::new()), lifecycle(rules_off()));
    println!(
        "access rules: lifecycle enforced {} / switched off {} = {:.3} ({:+.1}%)",
        show_ns(rules.a),
        show_ns(rules.b),
        rules.ratio,
        (rules.ratio - 1.0) * 100.0
    );
    // Limits are a choice of the host, not generated-code overhead: their
    // cost is the generated lifecycle with them against without.
    let limited = || {
        let (mut store, plugin) = setup.limited.start();
        let mut id = ROOT_CONTEXT;
        move || {
            id = next_stream(id);
            generated_request(&mut store, &plugin, sizes, black_box(id));
        }
    };
    let limits = paired(101, 2000, limited(), lifecycle(State::new()));
    println!(
        "limits (deadline, memory cap): lifecycle with {} / without {} = {:.3} ({:+.1}%)",
        show_ns(limits.a),
        show_ns(limits.b),
        limits.ratio,
        (limits.ratio - 1.0) * 100.0
    );
    println!("{PEER_SKIPPED}");
}

/// Runs one operation `n` times on one side and nothing else, for an
/// instruction counter: `HOST_BENCH_REPEAT=missing:generated:1000` under
/// `valgrind --tool=callgrind` (sides: `generated`, `floor`, and for the
/// lifecycle `limits`, held to [`Limits::default`]). Two runs with different `n` give the
/// instructions of one operation as the difference over the difference in `n`,
/// free of set-up and of the machine's load.
fn repeat(setup: &Setup, spec: &str) {
    let mut parts = spec.split(':');
    let (Some(op), Some(side), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("HOST_BENCH_REPEAT is op:side:n, e.g. missing:generated:1000");
    };
    let n: u32 = n.parse().expect("HOST_BENCH_REPEAT: n is a number");
    if let Some((op, version)) = op.split_once('@') {
        return repeat_version(setup, op, version, side, n);
    }
    let sizes = State::new().sizes();
    match (op, side) {
        ("lifecycle" | "busy", "generated") => {
            let (mut store, plugin) =
                generated_start(&setup.engine, &setup.generated, &setup.plugin, State::new());
            if op == "busy" {
                for id in other_streams() {
                    store.data_mut().plugin_state().created(id, ROOT_CONTEXT);
                }
            }
            let mut id = ROOT_CONTEXT;
            for _ in 0..n {
                id = next_stream(id);
                generated_request(&mut store, &plugin, sizes, id);
            }
        }
        ("lifecycle", "limits") => {
            let (mut store, plugin) = setup.limited.start();
            let mut id = ROOT_CONTEXT;
            for _ in 0..n {
                id = next_stream(id);
                generated_request(&mut store, &plugin, sizes, id);
            }
        }
        ("lifecycle" | "busy", "floor" | "fair") => {
            let floor = if side == "fair" {
                Floor::fair(State::new())
            } else {
                Floor::new(State::new())
            };
            let (mut store, plugin) =
                floor_start(&setup.engine, &setup.floor, &setup.plugin, floor);
            if op == "busy" {
                for id in other_streams() {
                    store.data_mut().created(id, ROOT_CONTEXT);
                }
            }
            let mut id = ROOT_CONTEXT;
            for _ in 0..n {
                id = next_stream(id);
                floor_request(&mut store, &plugin, sizes, id);
            }
        }
        ("instantiate", "generated") => (0..n).for_each(|_| {
            black_box(generated_start(
                &setup.engine,
                &setup.generated,
                &setup.plugin,
                State::new(),
            ));
        }),
        ("instantiate", "pre") => (0..n).for_each(|_| {
            black_box(pre_start(&setup.engine, &setup.pre, State::new()));
        }),
        ("instantiate", "floor") => (0..n).for_each(|_| {
            black_box(floor_start(
                &setup.engine,
                &setup.floor,
                &setup.plugin,
                Floor::new(State::new()),
            ));
        }),
        ("instantiate", "fair") => (0..n).for_each(|_| {
            black_box(floor_start(
                &setup.engine,
                &setup.floor,
                &setup.plugin,
                Floor::fair(State::new()),
            ));
        }),
        (_, "generated") => {
            let mut calls = GeneratedCalls::new(setup);
            if op == "crowded" {
                calls.open_other_streams();
            }
            let f = match op {
                "present" => GeneratedCalls::present,
                "missing" => GeneratedCalls::missing,
                "none" | "crowded" => GeneratedCalls::bare,
                _ => panic!("unknown operation {op}"),
            };
            (0..n).for_each(|_| f(&mut calls));
        }
        (_, "floor" | "fair") => {
            let floor = if side == "fair" {
                Floor::fair(State::new())
            } else {
                Floor::new(State::new())
            };
            let mut calls = FloorCalls::new(setup, floor);
            if op == "crowded" {
                calls.open_other_streams();
            }
            let f = match op {
                "present" => FloorCalls::present,
                "missing" => FloorCalls::missing,
                "none" | "crowded" => FloorCalls::bare,
                _ => panic!("unknown operation {op}"),
            };
            (0..n).for_each(|_| f(&mut calls));
        }
        _ => panic!("unknown side {side}: generated, floor or fair"),
    }
}

/// Defines, per operation and side, two functions that run it a small and a
/// large number of times. Each is its own symbol, so callgrind's inclusive
/// count of it is that many operations plus the set-up they share, and the
/// difference of the two over the difference in runs is one operation.
macro_rules! counted {
    ($($small:ident, $large:ident => $op:literal : $side:literal, $n1:literal, $n2:literal;)*) => {
        $(
            #[inline(never)]
            fn $small(setup: &Setup) {
                repeat(setup, concat!($op, ":", $side, ":", $n1));
            }

            #[inline(never)]
            fn $large(setup: &Setup) {
                repeat(setup, concat!($op, ":", $side, ":", $n2));
            }
        )*

        /// Every counted operation: `op:side`, the two symbols and run counts.
        const COUNTED: &[(&str, &str, &str, u32, u32)] = &[
            $((concat!($op, ":", $side), stringify!($small), stringify!($large), $n1, $n2),)*
        ];

        /// Runs every counted function once (what callgrind watches).
        fn run_counted(setup: &Setup) {
            $($small(setup); $large(setup);)*
        }
    };
}

counted! {
    count_lifecycle_generated_small, count_lifecycle_generated_large => "lifecycle":"generated", 100, 600;
    count_lifecycle_floor_small, count_lifecycle_floor_large => "lifecycle":"floor", 100, 600;
    count_lifecycle_limits_small, count_lifecycle_limits_large => "lifecycle":"limits", 100, 600;
    count_instantiate_generated_small, count_instantiate_generated_large => "instantiate":"generated", 5, 25;
    count_instantiate_pre_small, count_instantiate_pre_large => "instantiate":"pre", 5, 25;
    count_instantiate_floor_small, count_instantiate_floor_large => "instantiate":"floor", 5, 25;
    count_instantiate_fair_small, count_instantiate_fair_large => "instantiate":"fair", 5, 25;
    count_present_generated_small, count_present_generated_large => "present":"generated", 1000, 6000;
    count_present_floor_small, count_present_floor_large => "present":"floor", 1000, 6000;
    count_missing_generated_small, count_missing_generated_large => "missing":"generated", 1000, 6000;
    count_missing_floor_small, count_missing_floor_large => "missing":"floor", 1000, 6000;
    count_none_generated_small, count_none_generated_large => "none":"generated", 1000, 6000;
    count_none_floor_small, count_none_floor_large => "none":"floor", 1000, 6000;
    count_lifecycle_fair_small, count_lifecycle_fair_large => "lifecycle":"fair", 100, 600;
    count_present_fair_small, count_present_fair_large => "present":"fair", 1000, 6000;
    count_missing_fair_small, count_missing_fair_large => "missing":"fair", 1000, 6000;
    count_none_fair_small, count_none_fair_large => "none":"fair", 1000, 6000;
    count_crowded_generated_small, count_crowded_generated_large => "crowded":"generated", 1000, 6000;
    count_busy_generated_small, count_busy_generated_large => "busy":"generated", 100, 600;
    count_busy_fair_small, count_busy_fair_large => "busy":"fair", 100, 600;
    count_crowded_fair_small, count_crowded_fair_large => "crowded":"fair", 1000, 6000;
    count_present_010_generated_small, count_present_010_generated_large => "present@0.1.0":"generated", 1000, 6000;
    count_present_010_fair_small, count_present_010_fair_large => "present@0.1.0":"fair", 1000, 6000;
    count_missing_010_generated_small, count_missing_010_generated_large => "missing@0.1.0":"generated", 1000, 6000;
    count_missing_010_fair_small, count_missing_010_fair_large => "missing@0.1.0":"fair", 1000, 6000;
    count_none_010_generated_small, count_none_010_generated_large => "none@0.1.0":"generated", 1000, 6000;
    count_none_010_fair_small, count_none_010_fair_large => "none@0.1.0":"fair", 1000, 6000;
    count_present_020_generated_small, count_present_020_generated_large => "present@0.2.0":"generated", 1000, 6000;
    count_present_020_fair_small, count_present_020_fair_large => "present@0.2.0":"fair", 1000, 6000;
    count_missing_020_generated_small, count_missing_020_generated_large => "missing@0.2.0":"generated", 1000, 6000;
    count_missing_020_fair_small, count_missing_020_fair_large => "missing@0.2.0":"fair", 1000, 6000;
    count_none_020_generated_small, count_none_020_generated_large => "none@0.2.0":"generated", 1000, 6000;
    count_none_020_fair_small, count_none_020_fair_large => "none@0.2.0":"fair", 1000, 6000;
}

/// Instructions per operation, counted by running this bench once more
/// under `valgrind --tool=callgrind` (with `HOST_BENCH_COUNT` set) and
/// reading the inclusive counts of the [`counted!`] functions with
/// `callgrind_annotate`. Instruction counts barely move with the machine's
/// load, so they show a change of a few percent that wall time hides.
fn count_instructions() -> Result<Vec<(&'static str, f64)>, String> {
    let valgrind = Command::new("valgrind").arg("--version").output();
    if !valgrind.is_ok_and(|o| o.status.success()) {
        return Err(
            "valgrind not found; install it (`apt-get install valgrind`) to count instructions"
                .into(),
        );
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::env::temp_dir().join(format!("host-bench-{}.callgrind", std::process::id()));
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .env("HOST_BENCH_COUNT", "1")
        .status()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    if !status.success() {
        return Err(format!("valgrind --tool=callgrind failed: {status}"));
    }
    let annotated = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run callgrind_annotate: {e}"))?;
    let _ = std::fs::remove_file(&out);
    let text = String::from_utf8_lossy(&annotated.stdout);
    // Lines read `1,234,567 (12.34%)  ???:host::count_x_small [...]`.
    let inclusive = |symbol: &str| -> Result<f64, String> {
        text.lines()
            .find(|line| {
                line.split_whitespace()
                    .any(|word| word.rsplit("::").next() == Some(symbol))
            })
            .and_then(|line| line.split_whitespace().next())
            .and_then(|count| count.replace(',', "").parse::<f64>().ok())
            .ok_or_else(|| format!("callgrind_annotate lists no `{symbol}`"))
    };
    COUNTED
        .iter()
        .map(|(name, small, large, n1, n2)| {
            let per_op = (inclusive(large)? - inclusive(small)?) / f64::from(n2 - n1);
            Ok((*name, per_op))
        })
        .collect()
}

/// Prints the instruction table: generated against floor per operation,
/// and the other generated variants against the generated default.
fn print_instructions(counts: &[(&str, f64)]) {
    let of = |name: &str| counts.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
    println!();
    println!(
        "instructions per operation (callgrind, this build): generated / fair floor (the same checks by hand), and fair / bare floor (what the checks cost)"
    );
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>8} {:>9}",
        "operation", "generated", "fair", "bare", "gen/fair", "fair/bare"
    );
    for (label, op, fair) in [
        ("lifecycle (sdk-plugin request)", "lifecycle", "fair"),
        ("host call, present key", "present", "fair"),
        ("host call, missing key", "missing", "fair"),
        ("callback, no host call", "none", "fair"),
        ("callback, 100 other streams open", "crowded", "fair"),
        ("lifecycle, 100 other streams open", "busy", "fair"),
        ("host call, present key (0.2.0)", "present@0.2.0", "fair"),
        ("host call, missing key (0.2.0)", "missing@0.2.0", "fair"),
        ("callback, no host call (0.2.0)", "none@0.2.0", "fair"),
        ("host call, present key (0.1.0)", "present@0.1.0", "fair"),
        ("host call, missing key (0.1.0)", "missing@0.1.0", "fair"),
        ("callback, no host call (0.1.0)", "none@0.1.0", "fair"),
        ("instantiate + start", "instantiate", "fair"),
    ] {
        let (Some(g), Some(f)) = (of(&format!("{op}:generated")), of(&format!("{op}:{fair}")))
        else {
            continue;
        };
        // The earlier versions are measured against the fair floor only.
        let (bare, checks) = match of(&format!("{op}:floor")) {
            Some(b) => (format!("{b:.0}"), format!("{:.3}", f / b)),
            None => (String::new(), String::new()),
        };
        println!(
            "{label:<32} {g:>10.0} {f:>10.0} {bare:>10} {:>8.3} {checks:>9}",
            g / f
        );
    }
    for (label, generated, floor) in [
        (
            "lifecycle, limits applied",
            "lifecycle:limits",
            "lifecycle:fair",
        ),
        (
            "instantiate + start, PluginPre",
            "instantiate:pre",
            "instantiate:fair",
        ),
    ] {
        if let (Some(g), Some(f)) = (of(generated), of(floor)) {
            println!("{label:<32} {g:>10.0} {f:>10.0} {:>10} {:>8.3}", "", g / f);
        }
    }
}

fn main() {
    let since = SystemTime::now();
    let setup = Setup::new();
    if let Ok(spec) = std::env::var("HOST_BENCH_REPEAT") {
        repeat(&setup, &spec);
        return;
    }
    if std::env::var_os("HOST_BENCH_COUNT").is_some() {
        run_counted(&setup);
        return;
    }
    check_equivalent(&setup);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_lifecycle(&mut c, &setup);
    bench_instantiate(&mut c, &setup);
    bench_host_call(&mut c, &setup);
    c.final_summary();
    print_ratios(&setup, since);
    match count_instructions() {
        Ok(counts) => print_instructions(&counts),
        Err(why) => println!("instruction counts skipped: {why}"),
    }
}
