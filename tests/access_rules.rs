//! The access rules of the generated wasmtime host, tested against the
//! specification's prose.
//!
//! The description's `access { ... }` block says where each map, buffer and
//! restricted host function may be used, and the generated host checks it in
//! every restricted shim (after the argument checks, before the `Host`
//! method). This suite does not read those rules back from the description or
//! from the generated grant tables, which would be circular: it carries its
//! own EXPECTATION TABLE ([`expectation`]), written from the specification's
//! prose:
//!
//! - request headers: read in `proxy_on_log`; read, add and modify in
//!   `proxy_on_request_headers` or while the stream is paused from it;
//! - request trailers: the same with `proxy_on_request_trailers`, and add only
//!   in `proxy_on_request_body` when `end_of_stream` is true;
//! - response headers and trailers: likewise with the response callbacks;
//! - gRPC initial / trailing metadata: read in
//!   `proxy_on_grpc_receive_initial_metadata` / `_trailing_metadata`; HTTP
//!   call response headers and trailers: read in `proxy_on_http_call_response`;
//! - request body, response body, downstream data, upstream data: read and
//!   modify in their callback or while paused from it; HTTP call response
//!   body, gRPC message, VM configuration, plugin configuration, foreign
//!   function arguments: read in `proxy_on_http_call_response`,
//!   `proxy_on_grpc_receive`, `proxy_on_vm_start`, `proxy_on_configure`,
//!   `proxy_on_foreign_function`;
//! - `proxy_get_status`: only in `proxy_on_http_call_response` and
//!   `proxy_on_grpc_close`; (0.1.0) `proxy_get_configuration`: only in
//!   `proxy_on_vm_start` and `proxy_on_configure`;
//! - `proxy_send_local_response`: while the effective context is a stream
//!   whose response headers have not got past `proxy_on_response_headers`
//!   (it did not return CONTINUE there, nor was it resumed from a pause there);
//! - `proxy_set_effective_context`, `proxy_continue_stream`,
//!   `proxy_close_stream` (0.1.0: `proxy_continue_request`,
//!   `proxy_continue_response`) are not restricted.
//!
//! "In X" holds while callback X runs, whatever the effective context;
//! "paused X" looks at the effective context's stream. A forbidden use gets
//! the function's forbidden status (maps: BAD_ARGUMENT; buffers, get_status,
//! get_configuration: NOT_FOUND; send_local_response: BAD_ARGUMENT) and never
//! reaches the `Host`.
//!
//! A WAT "prober" plugin exports every callback of its version; each runs a
//! small program of host calls the test sets through exported functions
//! (`set_step(index, op, selector)`, `set_action`, `set_trap`, `clear`) and
//! records each call's status (`status(index)`), so that the test host's
//! record of the methods it reached tells "reached" from "refused".
//!
//! - [`matrix_v0_2_1`] / [`matrix_v0_1_0`]: every callback (with both
//!   `end_of_stream` values where it has one) times every operation and
//!   selector, each in a fresh store (root context 1, stream context 2).
//! - [`paused_matrix_v0_2_1`] / [`paused_matrix_v0_1_0`]: stream 2 paused
//!   in (or continued from, or paused then resumed from) each pausing
//!   callback, then probed from other callbacks, with and without
//!   `proxy_set_effective_context(2)`.
//! - One `#[test]` per scenario of the rules (pauses, local responses,
//!   effective context, enforcement off, deleted contexts, traps, argument
//!   checks first, pauses per stream, 0.1.0 configuration and resumption).

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

mod v0_2_1 {
    proxy_wasm_abi_macros::host!({ version: "0.2.1" });
}

mod v0_1_0 {
    proxy_wasm_abi_macros::host!({ version: "0.1.0" });
}

// ---------------------------------------------------------------------------
// Values from the specification
// ---------------------------------------------------------------------------

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const BAD_ARGUMENT: u32 = 2;
const INVALID_MEMORY_ACCESS: u32 = 6;
/// What the prober records for a step it did not run.
const NOT_RUN: u32 = u32::MAX;

const CONTINUE: u32 = 0;
const PAUSE: u32 = 1;

const HTTP_REQUEST_HEADERS: u32 = 0;
const HTTP_REQUEST_TRAILERS: u32 = 1;
const HTTP_RESPONSE_HEADERS: u32 = 2;
const HTTP_RESPONSE_TRAILERS: u32 = 3;
const GRPC_CALL_INITIAL_METADATA: u32 = 4;
const GRPC_CALL_TRAILING_METADATA: u32 = 5;
const HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
const HTTP_CALL_RESPONSE_TRAILERS: u32 = 7;

const HTTP_REQUEST_BODY: u32 = 0;
const HTTP_RESPONSE_BODY: u32 = 1;
const DOWNSTREAM_DATA: u32 = 2;
const UPSTREAM_DATA: u32 = 3;
const HTTP_CALL_RESPONSE_BODY: u32 = 4;
const GRPC_CALL_MESSAGE: u32 = 5;
const VM_CONFIGURATION: u32 = 6;
const PLUGIN_CONFIGURATION: u32 = 7;
const FOREIGN_FUNCTION_ARGUMENTS: u32 = 8;

const HTTP_REQUEST: u32 = 0;
const HTTP_RESPONSE: u32 = 1;
const DOWNSTREAM: u32 = 2;
const UPSTREAM: u32 = 3;

/// The plugin (root) context, created with parent 0.
const ROOT: u32 = 1;
/// The stream context, created with parent [`ROOT`].
const STREAM: u32 = 2;
/// A second stream, for the scenarios that need one.
const OTHER_STREAM: u32 = 3;

// ---------------------------------------------------------------------------
// Callbacks and versions
// ---------------------------------------------------------------------------

/// A callback, as this test names it (independently of the generated
/// `Callback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cb {
    ContextCreate,
    Done,
    Log,
    Delete,
    VmStart,
    Configure,
    Tick,
    NewConnection,
    DownstreamData,
    DownstreamConnectionClose,
    UpstreamData,
    UpstreamConnectionClose,
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
    HttpCallResponse,
    GrpcReceiveInitialMetadata,
    GrpcReceive,
    GrpcReceiveTrailingMetadata,
    GrpcClose,
    QueueReady,
    ForeignFunction,
}

use Cb::*;

const ALL_CALLBACKS: [Cb; 25] = [
    ContextCreate,
    Done,
    Log,
    Delete,
    VmStart,
    Configure,
    Tick,
    NewConnection,
    DownstreamData,
    DownstreamConnectionClose,
    UpstreamData,
    UpstreamConnectionClose,
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
    HttpCallResponse,
    GrpcReceiveInitialMetadata,
    GrpcReceive,
    GrpcReceiveTrailingMetadata,
    GrpcClose,
    QueueReady,
    ForeignFunction,
];

/// The callbacks that return an action, and so can pause their stream.
const PAUSING: [Cb; 9] = [
    NewConnection,
    DownstreamData,
    UpstreamData,
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
];

/// Which context a callback runs for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Home {
    Root,
    Stream,
    Either,
}

/// What a callback returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    Nothing,
    Bool,
    Action,
}

impl Cb {
    fn name(self) -> &'static str {
        match self {
            ContextCreate => "proxy_on_context_create",
            Done => "proxy_on_done",
            Log => "proxy_on_log",
            Delete => "proxy_on_delete",
            VmStart => "proxy_on_vm_start",
            Configure => "proxy_on_configure",
            Tick => "proxy_on_tick",
            NewConnection => "proxy_on_new_connection",
            DownstreamData => "proxy_on_downstream_data",
            DownstreamConnectionClose => "proxy_on_downstream_connection_close",
            UpstreamData => "proxy_on_upstream_data",
            UpstreamConnectionClose => "proxy_on_upstream_connection_close",
            RequestHeaders => "proxy_on_request_headers",
            RequestBody => "proxy_on_request_body",
            RequestTrailers => "proxy_on_request_trailers",
            ResponseHeaders => "proxy_on_response_headers",
            ResponseBody => "proxy_on_response_body",
            ResponseTrailers => "proxy_on_response_trailers",
            HttpCallResponse => "proxy_on_http_call_response",
            GrpcReceiveInitialMetadata => "proxy_on_grpc_receive_initial_metadata",
            GrpcReceive => "proxy_on_grpc_receive",
            GrpcReceiveTrailingMetadata => "proxy_on_grpc_receive_trailing_metadata",
            GrpcClose => "proxy_on_grpc_close",
            QueueReady => "proxy_on_queue_ready",
            ForeignFunction => "proxy_on_foreign_function",
        }
    }

    fn home(self) -> Home {
        match self {
            ContextCreate | Done | Log | Delete => Home::Either,
            VmStart
            | Configure
            | Tick
            | HttpCallResponse
            | GrpcReceiveInitialMetadata
            | GrpcReceive
            | GrpcReceiveTrailingMetadata
            | GrpcClose
            | QueueReady
            | ForeignFunction => Home::Root,
            _ => Home::Stream,
        }
    }

    fn ret(self) -> Ret {
        match self {
            Done | VmStart | Configure => Ret::Bool,
            _ if PAUSING.contains(&self) => Ret::Action,
            _ => Ret::Nothing,
        }
    }

    /// The callback's parameters in `version` (all `i32` on the wire).
    fn arity(self, version: Version) -> usize {
        match self {
            Done | Log | Delete | Tick | NewConnection => 1,
            ContextCreate
            | VmStart
            | Configure
            | DownstreamConnectionClose
            | UpstreamConnectionClose
            | RequestTrailers
            | ResponseTrailers
            | QueueReady => 2,
            RequestHeaders | ResponseHeaders => match version {
                Version::V010 => 2,
                Version::V021 => 3,
            },
            DownstreamData
            | UpstreamData
            | RequestBody
            | ResponseBody
            | GrpcReceiveInitialMetadata
            | GrpcReceive
            | GrpcReceiveTrailingMetadata
            | GrpcClose
            | ForeignFunction => 3,
            HttpCallResponse => 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V010,
    V021,
}

impl Version {
    fn callbacks(self) -> Vec<Cb> {
        ALL_CALLBACKS
            .into_iter()
            .filter(|cb| self == Version::V021 || *cb != ForeignFunction)
            .collect()
    }

    /// Whether `cb` has an `end_of_stream` parameter in this version.
    fn has_eos(self, cb: Cb) -> bool {
        match cb {
            RequestBody | ResponseBody | DownstreamData | UpstreamData => true,
            RequestHeaders | ResponseHeaders => self == Version::V021,
            _ => false,
        }
    }

    fn buffers(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Version::V010 => HTTP_REQUEST_BODY..=GRPC_CALL_MESSAGE,
            Version::V021 => HTTP_REQUEST_BODY..=FOREIGN_FUNCTION_ARGUMENTS,
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Version::V010 => "proxy_abi_version_0_1_0",
            Version::V021 => "proxy_abi_version_0_2_1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V010 => "0.1.0",
            Version::V021 => "0.2.1",
        })
    }
}

// ---------------------------------------------------------------------------
// Operations the prober performs
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    GetMapSize = 1,
    GetMapPairs,
    GetMapValue,
    SetMapPairs,
    AddMapValue,
    ReplaceMapValue,
    RemoveMapValue,
    GetBufferBytes,
    GetBufferStatus,
    SetBufferBytes,
    GetStatus,
    SendLocalResponse,
    SetEffectiveContext,
    ContinueStream,
    CloseStream,
    GetConfiguration,
    ContinueRequest,
    ContinueResponse,
    /// `proxy_get_header_map_size` with its output slot outside memory.
    GetMapSizeBadOut,
    /// `proxy_set_header_map_pairs` with the pairs outside memory.
    SetMapPairsBadPtr,
    /// `proxy_set_buffer_bytes` with the value outside memory.
    SetBufferBytesBadPtr,
    /// `proxy_get_status` with its code slot outside memory.
    GetStatusBadOut,
    /// `proxy_send_local_response` with the body outside memory.
    SendLocalResponseBadBody,
}

use Op::*;

const ALL_OPS: [Op; 23] = [
    GetMapSize,
    GetMapPairs,
    GetMapValue,
    SetMapPairs,
    AddMapValue,
    ReplaceMapValue,
    RemoveMapValue,
    GetBufferBytes,
    GetBufferStatus,
    SetBufferBytes,
    GetStatus,
    SendLocalResponse,
    SetEffectiveContext,
    ContinueStream,
    CloseStream,
    GetConfiguration,
    ContinueRequest,
    ContinueResponse,
    GetMapSizeBadOut,
    SetMapPairsBadPtr,
    SetBufferBytesBadPtr,
    GetStatusBadOut,
    SendLocalResponseBadBody,
];

const MAP_OPS: [Op; 7] = [
    GetMapSize,
    GetMapPairs,
    GetMapValue,
    SetMapPairs,
    AddMapValue,
    ReplaceMapValue,
    RemoveMapValue,
];

const BUFFER_OPS: [Op; 3] = [GetBufferBytes, GetBufferStatus, SetBufferBytes];

/// How an operation uses its map or buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Read,
    Add,
    Modify,
}

// The prober's memory.
/// The program: 8 steps of (op, selector).
const PROG: u32 = 0x40;
const STEPS: u32 = 8;
/// The status of each step.
const STAT: u32 = 0xc0;
/// Output slots.
const OUT: u32 = 0x100;
const KEY: u32 = 0x200;
const KEY_BYTES: &[u8] = b"x-key";
const VALUE: u32 = 0x240;
const VALUE_BYTES: &[u8] = b"value";
const MAP: u32 = 0x280;
const DETAILS: u32 = 0x300;
const DETAILS_BYTES: &[u8] = b"denied";
const BODY: u32 = 0x340;
const BODY_BYTES: &[u8] = b"nope";
/// Where the bump allocator starts, and where it wraps around.
const HEAP: u32 = 0x1000;
const HEAP_END: u32 = 0x1_0000;
/// An address whose 4- or 16-byte range lies outside the 2 pages of memory.
const BAD: i32 = -16;

fn map_bytes() -> Vec<u8> {
    v0_2_1::serial::encode_map(&[("x-a", "1"), ("x-b", "22")])
}

impl Op {
    fn code(self) -> i32 {
        self as i32
    }

    /// The `Host` method a permitted call reaches.
    fn host_method(self) -> &'static str {
        match self {
            GetMapSize | GetMapSizeBadOut => "proxy_get_header_map_size",
            GetMapPairs => "proxy_get_header_map_pairs",
            GetMapValue => "proxy_get_header_map_value",
            SetMapPairs | SetMapPairsBadPtr => "proxy_set_header_map_pairs",
            AddMapValue => "proxy_add_header_map_value",
            ReplaceMapValue => "proxy_replace_header_map_value",
            RemoveMapValue => "proxy_remove_header_map_value",
            GetBufferBytes => "proxy_get_buffer_bytes",
            GetBufferStatus => "proxy_get_buffer_status",
            SetBufferBytes | SetBufferBytesBadPtr => "proxy_set_buffer_bytes",
            GetStatus | GetStatusBadOut => "proxy_get_status",
            SendLocalResponse | SendLocalResponseBadBody => "proxy_send_local_response",
            SetEffectiveContext => "proxy_set_effective_context",
            ContinueStream => "proxy_continue_stream",
            CloseStream => "proxy_close_stream",
            GetConfiguration => "proxy_get_configuration",
            ContinueRequest => "proxy_continue_request",
            ContinueResponse => "proxy_continue_response",
        }
    }

    fn exists_in(self, version: Version) -> bool {
        match self {
            ContinueStream | CloseStream => version == Version::V021,
            GetConfiguration | ContinueRequest | ContinueResponse => version == Version::V010,
            _ => true,
        }
    }

    /// The prober's call, with the selector in `$sel`.
    fn wat(self) -> String {
        let map_len = map_bytes().len();
        let f = self.host_method();
        let args = match self {
            GetMapSize => format!("(local.get $sel) (i32.const {OUT})"),
            GetMapPairs | GetBufferStatus => {
                format!("(local.get $sel) (i32.const {OUT}) (i32.const {})", OUT + 4)
            }
            GetMapValue => format!(
                "(local.get $sel) (i32.const {KEY}) (i32.const {}) (i32.const {OUT}) (i32.const {})",
                KEY_BYTES.len(),
                OUT + 4
            ),
            SetMapPairs => format!("(local.get $sel) (i32.const {MAP}) (i32.const {map_len})"),
            AddMapValue | ReplaceMapValue => format!(
                "(local.get $sel) (i32.const {KEY}) (i32.const {}) (i32.const {VALUE}) (i32.const {})",
                KEY_BYTES.len(),
                VALUE_BYTES.len()
            ),
            RemoveMapValue => format!(
                "(local.get $sel) (i32.const {KEY}) (i32.const {})",
                KEY_BYTES.len()
            ),
            GetBufferBytes => format!(
                "(local.get $sel) (i32.const 0) (i32.const 5) (i32.const {OUT}) (i32.const {})",
                OUT + 4
            ),
            SetBufferBytes => format!(
                "(local.get $sel) (i32.const 0) (i32.const 0) (i32.const {VALUE}) (i32.const {})",
                VALUE_BYTES.len()
            ),
            GetStatus => format!(
                "(i32.const {OUT}) (i32.const {}) (i32.const {})",
                OUT + 4,
                OUT + 8
            ),
            SendLocalResponse => format!(
                "(i32.const 403) (i32.const {DETAILS}) (i32.const {}) (i32.const {BODY}) (i32.const {}) (i32.const {MAP}) (i32.const {map_len}) (i32.const 0)",
                DETAILS_BYTES.len(),
                BODY_BYTES.len()
            ),
            SetEffectiveContext | ContinueStream | CloseStream => "(local.get $sel)".to_string(),
            GetConfiguration => format!("(i32.const {OUT}) (i32.const {})", OUT + 4),
            ContinueRequest | ContinueResponse => String::new(),
            GetMapSizeBadOut => format!("(local.get $sel) (i32.const {BAD})"),
            SetMapPairsBadPtr => format!("(local.get $sel) (i32.const {BAD}) (i32.const 16)"),
            SetBufferBytesBadPtr => format!(
                "(local.get $sel) (i32.const 0) (i32.const 0) (i32.const {BAD}) (i32.const 16)"
            ),
            GetStatusBadOut => format!(
                "(i32.const {BAD}) (i32.const {}) (i32.const {})",
                OUT + 4,
                OUT + 8
            ),
            SendLocalResponseBadBody => format!(
                "(i32.const 403) (i32.const {DETAILS}) (i32.const {}) (i32.const {BAD}) (i32.const 16) (i32.const {MAP}) (i32.const {map_len}) (i32.const 0)",
                DETAILS_BYTES.len()
            ),
        };
        format!("(call ${f} {args})")
    }
}

/// The host functions the prober imports: name, parameter count, whether it
/// returns a status. Checked against the `add_to_linker` closures of
/// `generated/rust/host/v0_2_1.rs` and `v0_1_0.rs`.
fn imports(version: Version) -> Vec<(&'static str, usize, bool)> {
    let mut imports = vec![
        ("proxy_get_header_map_size", 2, true),
        ("proxy_get_header_map_pairs", 3, true),
        ("proxy_get_header_map_value", 5, true),
        ("proxy_set_header_map_pairs", 3, true),
        ("proxy_add_header_map_value", 5, true),
        ("proxy_replace_header_map_value", 5, true),
        ("proxy_remove_header_map_value", 3, true),
        ("proxy_get_buffer_bytes", 5, true),
        ("proxy_get_buffer_status", 3, true),
        ("proxy_set_buffer_bytes", 5, true),
        ("proxy_get_status", 3, true),
        ("proxy_send_local_response", 8, true),
        ("proxy_set_effective_context", 1, true),
    ];
    match version {
        Version::V021 => imports.extend([
            ("proxy_continue_stream", 1, true),
            ("proxy_close_stream", 1, true),
        ]),
        Version::V010 => imports.extend([
            ("proxy_get_configuration", 2, true),
            ("proxy_continue_request", 0, true),
            ("proxy_continue_response", 0, true),
        ]),
    }
    imports
}

fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// The prober plugin of `version`.
fn prober_wat(version: Version) -> String {
    let mut w = String::from("(module\n");
    for (name, params, result) in imports(version) {
        let params = if params == 0 {
            String::new()
        } else {
            format!(" (param{})", " i32".repeat(params))
        };
        let result = if result { " (result i32)" } else { "" };
        writeln!(
            w,
            "  (import \"env\" \"{name}\" (func ${name}{params}{result}))"
        )
        .unwrap();
    }
    let heap_end = HEAP_END;
    writeln!(
        w,
        r#"  (memory (export "memory") 2)
  (data (i32.const {KEY}) "{key}")
  (data (i32.const {VALUE}) "{value}")
  (data (i32.const {MAP}) "{map}")
  (data (i32.const {DETAILS}) "{details}")
  (data (i32.const {BODY}) "{body}")
  (global $next (mut i32) (i32.const {HEAP}))
  (global $action (mut i32) (i32.const 0))
  (global $trap (mut i32) (i32.const 0))
  (global $runs (mut i32) (i32.const 0))
  (func (export "{marker}"))
  ;; A bump allocator that wraps around: the values it holds are never kept.
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i32)
    (if (i32.gt_u (i32.add (global.get $next) (local.get $size)) (i32.const {heap_end}))
      (then (global.set $next (i32.const {HEAP}))))
    (local.set $ptr (global.get $next))
    (global.set $next
      (i32.add (global.get $next) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $ptr))
  (func (export "set_step") (param $i i32) (param $op i32) (param $sel i32)
    (i32.store (i32.add (i32.const {PROG}) (i32.shl (local.get $i) (i32.const 3))) (local.get $op))
    (i32.store (i32.add (i32.const {prog_sel}) (i32.shl (local.get $i) (i32.const 3))) (local.get $sel)))
  (func (export "set_action") (param $a i32) (global.set $action (local.get $a)))
  (func (export "set_trap") (param $t i32) (global.set $trap (local.get $t)))
  (func (export "status") (param $i i32) (result i32)
    (i32.load (i32.add (i32.const {STAT}) (i32.shl (local.get $i) (i32.const 2)))))
  (func (export "runs") (result i32) (global.get $runs))
  (func (export "clear")
    (local $i i32)
    (global.set $runs (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const {STEPS})))
        (i32.store (i32.add (i32.const {PROG}) (i32.shl (local.get $i) (i32.const 3))) (i32.const 0))
        (i32.store (i32.add (i32.const {STAT}) (i32.shl (local.get $i) (i32.const 2))) (i32.const -1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
  ;; Runs the program: each step's status goes to its slot.
  (func $run
    (local $i i32)
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const {STEPS})))
        (i32.store (i32.add (i32.const {STAT}) (i32.shl (local.get $i) (i32.const 2)))
          (call $op
            (i32.load (i32.add (i32.const {PROG}) (i32.shl (local.get $i) (i32.const 3))))
            (i32.load (i32.add (i32.const {prog_sel}) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (global.get $trap) (then unreachable)))
  ;; The program, run outside any callback.
  (func (export "probe") (call $run))"#,
        key = wat_bytes(KEY_BYTES),
        value = wat_bytes(VALUE_BYTES),
        map = wat_bytes(&map_bytes()),
        details = wat_bytes(DETAILS_BYTES),
        body = wat_bytes(BODY_BYTES),
        marker = version.marker(),
        prog_sel = PROG + 4,
    )
    .unwrap();
    w.push_str("  (func $op (param $op i32) (param $sel i32) (result i32)\n");
    for op in ALL_OPS.into_iter().filter(|op| op.exists_in(version)) {
        writeln!(
            w,
            "    (if (i32.eq (local.get $op) (i32.const {})) (then (return {})))",
            op.code(),
            op.wat()
        )
        .unwrap();
    }
    w.push_str("    (i32.const -1))\n");
    for cb in version.callbacks() {
        let params = " i32".repeat(cb.arity(version));
        let (result, value) = match cb.ret() {
            Ret::Nothing => ("", ""),
            Ret::Bool => (" (result i32)", " (i32.const 1)"),
            Ret::Action => (" (result i32)", " (global.get $action)"),
        };
        writeln!(
            w,
            "  (func (export \"{}\") (param{params}){result} (call $run){value})",
            cb.name()
        )
        .unwrap();
    }
    w.push_str(")\n");
    w
}

// ---------------------------------------------------------------------------
// The test hosts: OK with plausible outputs, and a record of every method
// reached
// ---------------------------------------------------------------------------

macro_rules! test_host {
    ($name:ident, $abi:ident, { $($extra:tt)* }) => {
        #[derive(Default)]
        struct $name {
            calls: Vec<&'static str>,
            plugin: $abi::PluginState,
        }

        impl $abi::HasPluginState for $name {
            fn plugin_state(&mut self) -> &mut $abi::PluginState {
                &mut self.plugin
            }
        }

        impl $abi::Host for $name {
            fn proxy_set_effective_context(&mut self, _context_id: u32) -> Result<(), $abi::Status> {
                self.calls.push("proxy_set_effective_context");
                Ok(())
            }
            fn proxy_get_header_map_size(&mut self, _map_id: $abi::MapType) -> Result<usize, $abi::Status> {
                self.calls.push("proxy_get_header_map_size");
                Ok(14)
            }
            fn proxy_get_header_map_pairs(
                &mut self,
                _map_id: $abi::MapType,
            ) -> Result<$abi::Pairs, $abi::Status> {
                self.calls.push("proxy_get_header_map_pairs");
                Ok(vec![(b"x-a".to_vec(), b"1".to_vec())])
            }
            fn proxy_set_header_map_pairs(
                &mut self,
                _map_id: $abi::MapType,
                _pairs: &[(&[u8], &[u8])],
            ) -> Result<(), $abi::Status> {
                self.calls.push("proxy_set_header_map_pairs");
                Ok(())
            }
            fn proxy_get_header_map_value(
                &mut self,
                _map_id: $abi::MapType,
                _key: &str,
            ) -> Result<Vec<u8>, $abi::Status> {
                self.calls.push("proxy_get_header_map_value");
                Ok(b"1".to_vec())
            }
            fn proxy_add_header_map_value(
                &mut self,
                _map_id: $abi::MapType,
                _key: &str,
                _value: &[u8],
            ) -> Result<(), $abi::Status> {
                self.calls.push("proxy_add_header_map_value");
                Ok(())
            }
            fn proxy_replace_header_map_value(
                &mut self,
                _map_id: $abi::MapType,
                _key: &str,
                _value: &[u8],
            ) -> Result<(), $abi::Status> {
                self.calls.push("proxy_replace_header_map_value");
                Ok(())
            }
            fn proxy_remove_header_map_value(
                &mut self,
                _map_id: $abi::MapType,
                _key: &str,
            ) -> Result<(), $abi::Status> {
                self.calls.push("proxy_remove_header_map_value");
                Ok(())
            }
            fn proxy_get_buffer_bytes(
                &mut self,
                _buffer_id: $abi::BufferType,
                _start: usize,
                _max_size: usize,
            ) -> Result<Vec<u8>, $abi::Status> {
                self.calls.push("proxy_get_buffer_bytes");
                Ok(b"bytes".to_vec())
            }
            fn proxy_get_buffer_status(
                &mut self,
                _buffer_id: $abi::BufferType,
            ) -> Result<usize, $abi::Status> {
                self.calls.push("proxy_get_buffer_status");
                Ok(5)
            }
            fn proxy_set_buffer_bytes(
                &mut self,
                _buffer_id: $abi::BufferType,
                _start: usize,
                _size: usize,
                _value: &[u8],
            ) -> Result<(), $abi::Status> {
                self.calls.push("proxy_set_buffer_bytes");
                Ok(())
            }
            fn proxy_get_status(&mut self) -> Result<(u32, String), $abi::Status> {
                self.calls.push("proxy_get_status");
                Ok((200, "ok".to_string()))
            }
            fn proxy_send_local_response(
                &mut self,
                _status_code: u32,
                _status_code_details: &str,
                _body: &[u8],
                _headers: &[(&[u8], &[u8])],
                _grpc_status: u32,
            ) -> Result<(), $abi::Status> {
                self.calls.push("proxy_send_local_response");
                Ok(())
            }
            $($extra)*
        }
    };
}

test_host!(Host021, v0_2_1, {
    fn proxy_continue_stream(
        &mut self,
        _stream_type: v0_2_1::StreamType,
    ) -> Result<(), v0_2_1::Status> {
        self.calls.push("proxy_continue_stream");
        Ok(())
    }
    fn proxy_close_stream(
        &mut self,
        _stream_type: v0_2_1::StreamType,
    ) -> Result<(), v0_2_1::Status> {
        self.calls.push("proxy_close_stream");
        Ok(())
    }
});

test_host!(Host010, v0_1_0, {
    fn proxy_get_configuration(&mut self) -> Result<Vec<u8>, v0_1_0::Status> {
        self.calls.push("proxy_get_configuration");
        Ok(b"config".to_vec())
    }
    fn proxy_continue_request(&mut self) -> Result<(), v0_1_0::Status> {
        self.calls.push("proxy_continue_request");
        Ok(())
    }
    fn proxy_continue_response(&mut self) -> Result<(), v0_1_0::Status> {
        self.calls.push("proxy_continue_response");
        Ok(())
    }
});

// ---------------------------------------------------------------------------
// A plugin instance in a fresh store
// ---------------------------------------------------------------------------

struct Compiled {
    engine: wasmtime::Engine,
    v021: wasmtime::Module,
    v010: wasmtime::Module,
    linker021: wasmtime::Linker<Host021>,
    linker010: wasmtime::Linker<Host010>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        let engine = wasmtime::Engine::new(&config).expect("engine");
        let module = |version| {
            let text = prober_wat(version);
            wasmtime::Module::new(&engine, &text)
                .unwrap_or_else(|e| panic!("the {version} prober does not compile: {e:#}\n{text}"))
        };
        let v021 = module(Version::V021);
        let v010 = module(Version::V010);
        let mut linker021 = wasmtime::Linker::new(&engine);
        v0_2_1::add_to_linker(&mut linker021, |h: &mut Host021| h).expect("linker");
        let mut linker010 = wasmtime::Linker::new(&engine);
        v0_1_0::add_to_linker(&mut linker010, |h: &mut Host010| h).expect("linker");
        Compiled {
            engine,
            v021,
            v010,
            linker021,
            linker010,
        }
    })
}

enum Inner {
    V021(wasmtime::Store<Host021>, v0_2_1::Plugin),
    V010(wasmtime::Store<Host010>, v0_1_0::Plugin),
}

/// The same code for both versions' store and plugin.
macro_rules! either {
    ($inner:expr, |$store:ident, $plugin:ident| $body:expr) => {
        match $inner {
            Inner::V021($store, $plugin) => $body,
            Inner::V010($store, $plugin) => $body,
        }
    };
}

/// A callback invocation: which callback, for which context, with which
/// `end_of_stream` (ignored by callbacks without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Probe {
    cb: Cb,
    ctx: u32,
    eos: bool,
}

impl Probe {
    fn root(cb: Cb) -> Probe {
        Probe {
            cb,
            ctx: ROOT,
            eos: false,
        }
    }
    fn stream(cb: Cb) -> Probe {
        Probe {
            cb,
            ctx: STREAM,
            eos: false,
        }
    }
    fn on(cb: Cb, ctx: u32) -> Probe {
        Probe {
            cb,
            ctx,
            eos: false,
        }
    }
    fn eos(self, eos: bool) -> Probe {
        Probe { eos, ..self }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}", self.cb.name(), self.ctx)?;
        if self.cb == ContextCreate {
            write!(f, ", parent {}", if self.ctx == ROOT { 0 } else { ROOT })?;
        }
        if self.cb.ret() == Ret::Action || matches!(self.cb, RequestBody | ResponseBody) {
            write!(f, ", eos={}", self.eos)?;
        }
        f.write_str(")")
    }
}

fn called<R, E: fmt::Display>(result: Result<Option<R>, E>) -> Result<(), String> {
    match result {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("the prober does not export the callback".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

struct Sandbox {
    version: Version,
    inner: Inner,
}

impl Sandbox {
    /// A fresh store and prober instance; no context created yet.
    fn empty(version: Version) -> Sandbox {
        let c = compiled();
        let inner = match version {
            Version::V021 => {
                let mut store = wasmtime::Store::new(&c.engine, Host021::default());
                let plugin = v0_2_1::Plugin::instantiate(&mut store, &c.linker021, &c.v021)
                    .unwrap_or_else(|e| panic!("instantiate: {e}"));
                Inner::V021(store, plugin)
            }
            Version::V010 => {
                let mut store = wasmtime::Store::new(&c.engine, Host010::default());
                let plugin = v0_1_0::Plugin::instantiate(&mut store, &c.linker010, &c.v010)
                    .unwrap_or_else(|e| panic!("instantiate: {e}"));
                Inner::V010(store, plugin)
            }
        };
        let mut sandbox = Sandbox { version, inner };
        sandbox.export::<(), ()>("clear", ());
        sandbox
    }

    /// A fresh store with root context 1 and stream context 2.
    fn new(version: Version) -> Sandbox {
        let mut sandbox = Sandbox::empty(version);
        sandbox.ok(Probe::root(ContextCreate), CONTINUE, &[]);
        sandbox.ok(Probe::stream(ContextCreate), CONTINUE, &[]);
        sandbox
    }

    fn export<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
        args: P,
    ) -> R {
        either!(&mut self.inner, |store, plugin| plugin
            .instance()
            .get_typed_func::<P, R>(&mut *store, name)
            .and_then(|f| f.call(&mut *store, args))
            .unwrap_or_else(|e| panic!("prober export {name}: {e:#}")))
    }

    fn calls(&self) -> Vec<&'static str> {
        either!(&self.inner, |store, _plugin| store.data().calls.clone())
    }

    fn enforce(&mut self, on: bool) {
        either!(&mut self.inner, |store, _plugin| store
            .data_mut()
            .plugin
            .enforce_access_rules(on))
    }

    fn program(&mut self, steps: &[(Op, u32)]) {
        assert!(steps.len() <= STEPS as usize, "at most {STEPS} steps");
        self.export::<(), ()>("clear", ());
        either!(&mut self.inner, |store, _plugin| store
            .data_mut()
            .calls
            .clear());
        for (i, (op, sel)) in steps.iter().enumerate() {
            assert!(
                op.exists_in(self.version),
                "{op:?} is not in {}",
                self.version
            );
            self.export::<(i32, i32, i32), ()>("set_step", (i as i32, op.code(), *sel as i32));
        }
    }

    fn statuses(&mut self, n: usize) -> Vec<u32> {
        (0..n)
            .map(|i| self.export::<i32, i32>("status", i as i32) as u32)
            .collect()
    }

    fn invoke(&mut self, probe: Probe) -> Result<(), String> {
        let Probe { cb, ctx, eos } = probe;
        let parent = if ctx == ROOT { 0 } else { ROOT };
        match &mut self.inner {
            Inner::V021(store, p) => {
                let s = &mut *store;
                let peer = v0_2_1::PeerType::Remote;
                match cb {
                    ContextCreate => called(p.proxy_on_context_create(s, ctx, parent)),
                    Done => called(p.proxy_on_done(s, ctx)),
                    Log => called(p.proxy_on_log(s, ctx)),
                    Delete => called(p.proxy_on_delete(s, ctx)),
                    VmStart => called(p.proxy_on_vm_start(s, ctx, 6)),
                    Configure => called(p.proxy_on_configure(s, ctx, 6)),
                    Tick => called(p.proxy_on_tick(s, ctx)),
                    NewConnection => called(p.proxy_on_new_connection(s, ctx)),
                    DownstreamData => called(p.proxy_on_downstream_data(s, ctx, 5, eos)),
                    DownstreamConnectionClose => {
                        called(p.proxy_on_downstream_connection_close(s, ctx, peer))
                    }
                    UpstreamData => called(p.proxy_on_upstream_data(s, ctx, 5, eos)),
                    UpstreamConnectionClose => {
                        called(p.proxy_on_upstream_connection_close(s, ctx, peer))
                    }
                    RequestHeaders => called(p.proxy_on_request_headers(s, ctx, 2, eos)),
                    RequestBody => called(p.proxy_on_request_body(s, ctx, 5, eos)),
                    RequestTrailers => called(p.proxy_on_request_trailers(s, ctx, 1)),
                    ResponseHeaders => called(p.proxy_on_response_headers(s, ctx, 2, eos)),
                    ResponseBody => called(p.proxy_on_response_body(s, ctx, 5, eos)),
                    ResponseTrailers => called(p.proxy_on_response_trailers(s, ctx, 1)),
                    HttpCallResponse => called(p.proxy_on_http_call_response(s, ctx, 7, 2, 5, 1)),
                    GrpcReceiveInitialMetadata => {
                        called(p.proxy_on_grpc_receive_initial_metadata(s, ctx, 7, 1))
                    }
                    GrpcReceive => called(p.proxy_on_grpc_receive(s, ctx, 7, 5)),
                    GrpcReceiveTrailingMetadata => {
                        called(p.proxy_on_grpc_receive_trailing_metadata(s, ctx, 7, 1))
                    }
                    GrpcClose => called(p.proxy_on_grpc_close(s, ctx, 7, 0)),
                    QueueReady => called(p.proxy_on_queue_ready(s, ctx, 3)),
                    ForeignFunction => called(p.proxy_on_foreign_function(s, ctx, 1, 5)),
                }
            }
            Inner::V010(store, p) => {
                let s = &mut *store;
                let peer = v0_1_0::PeerType::Remote;
                match cb {
                    ContextCreate => called(p.proxy_on_context_create(s, ctx, parent)),
                    Done => called(p.proxy_on_done(s, ctx)),
                    Log => called(p.proxy_on_log(s, ctx)),
                    Delete => called(p.proxy_on_delete(s, ctx)),
                    VmStart => called(p.proxy_on_vm_start(s, ctx, 6)),
                    Configure => called(p.proxy_on_configure(s, ctx, 6)),
                    Tick => called(p.proxy_on_tick(s, ctx)),
                    NewConnection => called(p.proxy_on_new_connection(s, ctx)),
                    DownstreamData => called(p.proxy_on_downstream_data(s, ctx, 5, eos)),
                    DownstreamConnectionClose => {
                        called(p.proxy_on_downstream_connection_close(s, ctx, peer))
                    }
                    UpstreamData => called(p.proxy_on_upstream_data(s, ctx, 5, eos)),
                    UpstreamConnectionClose => {
                        called(p.proxy_on_upstream_connection_close(s, ctx, peer))
                    }
                    RequestHeaders => called(p.proxy_on_request_headers(s, ctx, 2)),
                    RequestBody => called(p.proxy_on_request_body(s, ctx, 5, eos)),
                    RequestTrailers => called(p.proxy_on_request_trailers(s, ctx, 1)),
                    ResponseHeaders => called(p.proxy_on_response_headers(s, ctx, 2)),
                    ResponseBody => called(p.proxy_on_response_body(s, ctx, 5, eos)),
                    ResponseTrailers => called(p.proxy_on_response_trailers(s, ctx, 1)),
                    HttpCallResponse => called(p.proxy_on_http_call_response(s, ctx, 7, 2, 5, 1)),
                    GrpcReceiveInitialMetadata => {
                        called(p.proxy_on_grpc_receive_initial_metadata(s, ctx, 7, 1))
                    }
                    GrpcReceive => called(p.proxy_on_grpc_receive(s, ctx, 7, 5)),
                    GrpcReceiveTrailingMetadata => {
                        called(p.proxy_on_grpc_receive_trailing_metadata(s, ctx, 7, 1))
                    }
                    GrpcClose => called(p.proxy_on_grpc_close(s, ctx, 7, 0)),
                    QueueReady => called(p.proxy_on_queue_ready(s, ctx, 3)),
                    ForeignFunction => Err("0.1.0 has no proxy_on_foreign_function".to_string()),
                }
            }
        }
    }

    /// Runs `steps` in `probe`, which returns `action` (when it returns
    /// one). The statuses of the steps, and whether the callback itself
    /// succeeded. The host calls are in [`Sandbox::calls`] until the next run.
    fn run(
        &mut self,
        probe: Probe,
        action: u32,
        steps: &[(Op, u32)],
    ) -> (Vec<u32>, Result<(), String>) {
        self.program(steps);
        self.export::<i32, ()>("set_action", action as i32);
        let outcome = self
            .invoke(probe)
            .and_then(|()| match self.export::<(), i32>("runs", ()) {
                1 => Ok(()),
                n => Err(format!("the prober ran its program {n} times")),
            });
        let statuses = self.statuses(steps.len());
        // Later callbacks (e.g. of a scenario's set-up) run nothing.
        self.export::<(), ()>("clear", ());
        (statuses, outcome)
    }

    /// [`Sandbox::run`], for a callback that must succeed.
    fn ok(&mut self, probe: Probe, action: u32, steps: &[(Op, u32)]) -> Vec<u32> {
        let (statuses, outcome) = self.run(probe, action, steps);
        if let Err(e) = outcome {
            panic!("{} {probe} failed: {e}", self.version);
        }
        statuses
    }

    /// Runs `steps` outside any callback.
    fn outside(&mut self, steps: &[(Op, u32)]) -> Vec<u32> {
        self.program(steps);
        self.export::<(), ()>("probe", ());
        let statuses = self.statuses(steps.len());
        self.export::<(), ()>("clear", ());
        statuses
    }

    fn set_trap(&mut self, trap: bool) {
        self.export::<i32, ()>("set_trap", i32::from(trap));
    }
}

// ---------------------------------------------------------------------------
// The expectation table, from the specification's prose
// ---------------------------------------------------------------------------

/// What the spec's prose says about one stream context.
#[derive(Clone, Debug, Default)]
struct StreamModel {
    /// The callbacks it is paused from.
    paused: BTreeSet<Cb>,
    /// Whether its response headers got past `proxy_on_response_headers`.
    response_headers_passed: bool,
}

/// Where a host call happens, for the expectation table.
struct Situation<'a> {
    /// The running callback; `None` outside any callback.
    running: Option<Cb>,
    /// Its `end_of_stream`.
    eos: bool,
    /// The effective context's stream; `None` when the effective context
    /// is not a stream.
    stream: Option<&'a StreamModel>,
}

impl Situation<'_> {
    fn paused(&self, cb: Cb) -> bool {
        self.stream.is_some_and(|s| s.paused.contains(&cb))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// OK, and the host method reached.
    Allowed,
    /// This status, and the host method not reached.
    Refused(u32),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Allowed => f.write_str("OK (host reached)"),
            Outcome::Refused(status) => write!(f, "{} (host not reached)", status_name(*status)),
        }
    }
}

fn status_name(status: u32) -> String {
    match status {
        OK => "OK".to_string(),
        NOT_FOUND => "NOT_FOUND".to_string(),
        BAD_ARGUMENT => "BAD_ARGUMENT".to_string(),
        INVALID_MEMORY_ACCESS => "INVALID_MEMORY_ACCESS".to_string(),
        NOT_RUN => "not run".to_string(),
        other => other.to_string(),
    }
}

/// Whether a map may be used at `level` in `s`.
fn map_permits(map: u32, level: Level, s: &Situation) -> bool {
    // Read, add and modify in the map's own callback or while paused there.
    let own = |cb: Cb| s.running == Some(cb) || s.paused(cb);
    let read_in = |cb: Cb| level == Level::Read && s.running == Some(cb);
    match map {
        HTTP_REQUEST_HEADERS => own(RequestHeaders) || read_in(Log),
        HTTP_REQUEST_TRAILERS => {
            own(RequestTrailers)
                || read_in(Log)
                || (level == Level::Add && s.running == Some(RequestBody) && s.eos)
        }
        HTTP_RESPONSE_HEADERS => own(ResponseHeaders) || read_in(Log),
        HTTP_RESPONSE_TRAILERS => {
            own(ResponseTrailers)
                || read_in(Log)
                || (level == Level::Add && s.running == Some(ResponseBody) && s.eos)
        }
        GRPC_CALL_INITIAL_METADATA => read_in(GrpcReceiveInitialMetadata),
        GRPC_CALL_TRAILING_METADATA => read_in(GrpcReceiveTrailingMetadata),
        HTTP_CALL_RESPONSE_HEADERS | HTTP_CALL_RESPONSE_TRAILERS => read_in(HttpCallResponse),
        _ => unreachable!("map {map}"),
    }
}

/// Whether a buffer may be used at `level` in `s`.
fn buffer_permits(buffer: u32, level: Level, s: &Situation) -> bool {
    let own = |cb: Cb| s.running == Some(cb) || s.paused(cb);
    let read_in = |cb: Cb| level == Level::Read && s.running == Some(cb);
    match buffer {
        HTTP_REQUEST_BODY => own(RequestBody),
        HTTP_RESPONSE_BODY => own(ResponseBody),
        DOWNSTREAM_DATA => own(DownstreamData),
        UPSTREAM_DATA => own(UpstreamData),
        HTTP_CALL_RESPONSE_BODY => read_in(HttpCallResponse),
        GRPC_CALL_MESSAGE => read_in(GrpcReceive),
        VM_CONFIGURATION => read_in(VmStart),
        PLUGIN_CONFIGURATION => read_in(Configure),
        FOREIGN_FUNCTION_ARGUMENTS => read_in(ForeignFunction),
        _ => unreachable!("buffer {buffer}"),
    }
}

/// THE EXPECTATION TABLE: what `op` with `sel` must do in `s`.
fn expectation(op: Op, sel: u32, s: &Situation) -> Outcome {
    let decide = |permitted: bool, forbidden: u32| {
        if permitted {
            Outcome::Allowed
        } else {
            Outcome::Refused(forbidden)
        }
    };
    match op {
        GetMapSize | GetMapPairs | GetMapValue => {
            decide(map_permits(sel, Level::Read, s), BAD_ARGUMENT)
        }
        AddMapValue => decide(map_permits(sel, Level::Add, s), BAD_ARGUMENT),
        SetMapPairs | ReplaceMapValue | RemoveMapValue => {
            decide(map_permits(sel, Level::Modify, s), BAD_ARGUMENT)
        }
        GetBufferBytes | GetBufferStatus => decide(buffer_permits(sel, Level::Read, s), NOT_FOUND),
        SetBufferBytes => decide(buffer_permits(sel, Level::Modify, s), NOT_FOUND),
        GetStatus => decide(
            matches!(s.running, Some(HttpCallResponse | GrpcClose)),
            NOT_FOUND,
        ),
        GetConfiguration => decide(matches!(s.running, Some(VmStart | Configure)), NOT_FOUND),
        SendLocalResponse => decide(
            s.stream.is_some_and(|st| !st.response_headers_passed),
            BAD_ARGUMENT,
        ),
        SetEffectiveContext | ContinueStream | CloseStream | ContinueRequest | ContinueResponse => {
            Outcome::Allowed
        }
        GetMapSizeBadOut
        | SetMapPairsBadPtr
        | SetBufferBytesBadPtr
        | GetStatusBadOut
        | SendLocalResponseBadBody => Outcome::Refused(INVALID_MEMORY_ACCESS),
    }
}

/// The callbacks whose pauses a successful `op(sel)` ends, from the prose of
/// `proxy_continue_stream` / `proxy_close_stream` (0.1.0:
/// `proxy_continue_request` / `proxy_continue_response`).
fn resumes(op: Op, sel: u32) -> &'static [Cb] {
    const REQUEST: &[Cb] = &[RequestHeaders, RequestBody, RequestTrailers];
    const RESPONSE: &[Cb] = &[ResponseHeaders, ResponseBody, ResponseTrailers];
    match (op, sel) {
        (ContinueStream | CloseStream, HTTP_REQUEST) | (ContinueRequest, _) => REQUEST,
        (ContinueStream | CloseStream, HTTP_RESPONSE) | (ContinueResponse, _) => RESPONSE,
        (ContinueStream | CloseStream, DOWNSTREAM) => &[NewConnection, DownstreamData],
        (ContinueStream | CloseStream, UPSTREAM) => &[UpstreamData],
        _ => unreachable!("{op:?}({sel}) resumes nothing"),
    }
}

/// The `(op, selector)` pairs of the matrices.
fn matrix_ops(version: Version) -> Vec<(Op, u32)> {
    let mut ops = Vec::new();
    for op in MAP_OPS {
        for map in HTTP_REQUEST_HEADERS..=HTTP_CALL_RESPONSE_TRAILERS {
            ops.push((op, map));
        }
    }
    for op in BUFFER_OPS {
        for buffer in version.buffers() {
            ops.push((op, buffer));
        }
    }
    ops.push((GetStatus, 0));
    ops.push((SendLocalResponse, 0));
    ops.push((SetEffectiveContext, ROOT));
    ops.push((SetEffectiveContext, STREAM));
    match version {
        Version::V021 => {
            for stream_type in HTTP_REQUEST..=UPSTREAM {
                ops.push((ContinueStream, stream_type));
                ops.push((CloseStream, stream_type));
            }
        }
        Version::V010 => {
            ops.push((GetConfiguration, 0));
            ops.push((ContinueRequest, 0));
            ops.push((ContinueResponse, 0));
        }
    }
    ops
}

fn describe(op: Op, sel: u32) -> String {
    let what = match op {
        _ if MAP_OPS.contains(&op) => format!("map {sel}"),
        _ if BUFFER_OPS.contains(&op) => format!("buffer {sel}"),
        SetEffectiveContext => format!("context {sel}"),
        ContinueStream | CloseStream => format!("stream type {sel}"),
        _ => String::new(),
    };
    format!("{}({what})", op.host_method())
}

/// Compares a call's status and the host methods reached with `expected`;
/// `before` lists the host methods the steps before it reached.
fn verdict(
    op: Op,
    expected: Outcome,
    status: u32,
    calls: &[&'static str],
    before: &[&'static str],
) -> Result<(), String> {
    let mut want_calls = before.to_vec();
    let want_status = match expected {
        Outcome::Allowed => {
            want_calls.push(op.host_method());
            OK
        }
        Outcome::Refused(status) => status,
    };
    if status == want_status && calls == want_calls {
        Ok(())
    } else {
        Err(format!(
            "expected {expected}, got {} with host calls {calls:?}",
            status_name(status)
        ))
    }
}

// ---------------------------------------------------------------------------
// The matrices
// ---------------------------------------------------------------------------

/// How stream 2 was left by a pausing callback before the probe.
#[derive(Clone, Copy, Debug)]
enum After {
    /// Nothing happened to it (the fresh-store matrix).
    Fresh,
    /// The callback returned PAUSE.
    Paused(Cb),
    /// The callback returned CONTINUE.
    Continued(Cb),
    /// The callback returned PAUSE, then a later callback switched to
    /// stream 2 and called `op(sel)` successfully.
    Resumed(Cb, Op, u32),
}

impl fmt::Display for After {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            After::Fresh => f.write_str("fresh store"),
            After::Paused(cb) => write!(f, "stream 2 paused in {}", cb.name()),
            After::Continued(cb) => write!(f, "stream 2 continued from {}", cb.name()),
            After::Resumed(cb, op, sel) => write!(
                f,
                "stream 2 paused in {} then {}",
                cb.name(),
                describe(*op, *sel)
            ),
        }
    }
}

impl After {
    /// Stream 2 as the prose describes it afterwards.
    fn model(self) -> StreamModel {
        let mut model = StreamModel::default();
        match self {
            After::Fresh => {}
            After::Paused(cb) => {
                model.paused.insert(cb);
            }
            After::Continued(cb) => model.response_headers_passed = cb == ResponseHeaders,
            After::Resumed(cb, op, sel) => {
                if resumes(op, sel).contains(&cb) {
                    model.response_headers_passed = cb == ResponseHeaders;
                } else {
                    model.paused.insert(cb);
                }
            }
        }
        model
    }
}

/// One matrix case.
#[derive(Clone, Copy, Debug)]
struct Case {
    version: Version,
    after: After,
    probe: Probe,
    /// `proxy_set_effective_context(switch)` before the operation.
    switch: Option<u32>,
    op: Op,
    sel: u32,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} | {} | {}", self.version, self.after, self.probe)?;
        if let Some(ctx) = self.switch {
            write!(f, " after proxy_set_effective_context({ctx})")?;
        }
        write!(f, " | {}", describe(self.op, self.sel))
    }
}

impl Case {
    fn expected(&self) -> Outcome {
        let model = self.after.model();
        let effective = self.switch.unwrap_or(self.probe.ctx);
        // The stream exists unless this very probe creates the root context
        // before it.
        let stream_exists = !(self.probe.cb == ContextCreate && self.probe.ctx == ROOT);
        let situation = Situation {
            running: Some(self.probe.cb),
            eos: self.probe.eos,
            stream: (effective == STREAM && stream_exists && self.probe.cb != VmStart)
                .then_some(&model),
        };
        expectation(self.op, self.sel, &situation)
    }

    fn run(&self) -> Result<(), String> {
        let mut sandbox = if self.probe.cb == ContextCreate {
            let mut sandbox = Sandbox::empty(self.version);
            if self.probe.ctx == STREAM {
                sandbox.ok(Probe::root(ContextCreate), CONTINUE, &[]);
            }
            sandbox
        } else {
            Sandbox::new(self.version)
        };
        match self.after {
            After::Fresh => {}
            After::Paused(cb) | After::Resumed(cb, ..) => {
                sandbox.ok(Probe::stream(cb), PAUSE, &[]);
            }
            After::Continued(cb) => {
                sandbox.ok(Probe::stream(cb), CONTINUE, &[]);
            }
        }
        if let After::Resumed(_, op, sel) = self.after {
            let statuses = sandbox.ok(
                Probe::root(Tick),
                CONTINUE,
                &[(SetEffectiveContext, STREAM), (op, sel)],
            );
            if statuses != [OK, OK] {
                return Err(format!("set-up: resuming returned {statuses:?}"));
            }
        }
        let mut steps = Vec::new();
        let mut before = Vec::new();
        if let Some(ctx) = self.switch {
            steps.push((SetEffectiveContext, ctx));
            before.push("proxy_set_effective_context");
        }
        steps.push((self.op, self.sel));
        let (statuses, outcome) = sandbox.run(self.probe, CONTINUE, &steps);
        outcome?;
        if self.switch.is_some() && statuses[0] != OK {
            return Err(format!(
                "proxy_set_effective_context returned {}",
                statuses[0]
            ));
        }
        verdict(
            self.op,
            self.expected(),
            statuses[steps.len() - 1],
            &sandbox.calls(),
            &before,
        )
    }
}

/// Every callback invocation of the fresh-store matrix: root callbacks on
/// context 1, stream callbacks on context 2, the lifecycle callbacks on
/// both, and both `end_of_stream` values where there is one.
fn fresh_probes(version: Version) -> Vec<Probe> {
    let mut probes = Vec::new();
    for cb in version.callbacks() {
        let contexts: &[u32] = match cb.home() {
            Home::Root => &[ROOT],
            Home::Stream => &[STREAM],
            Home::Either => &[ROOT, STREAM],
        };
        let eos: &[bool] = if version.has_eos(cb) {
            &[true, false]
        } else {
            &[false]
        };
        for &ctx in contexts {
            for &eos in eos {
                probes.push(Probe::on(cb, ctx).eos(eos));
            }
        }
    }
    probes
}

fn fresh_cases(version: Version) -> Vec<Case> {
    let mut cases = Vec::new();
    for probe in fresh_probes(version) {
        for (op, sel) in matrix_ops(version) {
            cases.push(Case {
                version,
                after: After::Fresh,
                probe,
                switch: None,
                op,
                sel,
            });
        }
    }
    cases
}

/// The probes of the paused matrix: from an HTTP call response and a tick
/// switched to stream 2, from a tick that does not switch, and from
/// stream 2's own `proxy_on_log`.
fn paused_probes() -> [(Probe, Option<u32>); 4] {
    [
        (Probe::root(HttpCallResponse), Some(STREAM)),
        (Probe::root(Tick), Some(STREAM)),
        (Probe::root(Tick), None),
        (Probe::stream(Log), None),
    ]
}

fn resumptions(version: Version) -> Vec<(Op, u32)> {
    match version {
        Version::V021 => (HTTP_REQUEST..=UPSTREAM)
            .flat_map(|t| [(ContinueStream, t), (CloseStream, t)])
            .collect(),
        Version::V010 => vec![(ContinueRequest, 0), (ContinueResponse, 0)],
    }
}

fn paused_cases(version: Version) -> Vec<Case> {
    let mut afters = Vec::new();
    for cb in PAUSING {
        afters.push(After::Paused(cb));
        afters.push(After::Continued(cb));
        for (op, sel) in resumptions(version) {
            afters.push(After::Resumed(cb, op, sel));
        }
    }
    let mut cases = Vec::new();
    for after in afters {
        for (probe, switch) in paused_probes() {
            for (op, sel) in matrix_ops(version) {
                cases.push(Case {
                    version,
                    after,
                    probe,
                    switch,
                    op,
                    sel,
                });
            }
        }
    }
    cases
}

/// Runs every case (on two threads), and fails with the list of mismatches.
fn run_matrix(name: &str, cases: &[Case], expected_count: usize) {
    let failures = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let allowed = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    if case.expected() == Outcome::Allowed {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    }
                    let result = std::panic::catch_unwind(|| case.run()).unwrap_or_else(|panic| {
                        Err(panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".to_string()))
                    });
                    if let Err(e) = result {
                        failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((i, format!("{case}: {e}")));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort();
    let allowed = allowed.into_inner();
    eprintln!(
        "{name}: {} cases ({allowed} allowed, {} refused), {} mismatches",
        cases.len(),
        cases.len() - allowed,
        failures.len()
    );
    assert_eq!(cases.len(), expected_count, "{name}: case count");
    assert!(
        failures.is_empty(),
        "{name}: {} of {} cases disagree with the spec's access rules:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|(_, f)| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn matrix_v0_2_1() {
    // 25 callbacks; context_create, done, log and delete on both contexts
    // (+4); request/response headers and body, downstream and upstream data
    // with both end_of_stream values (+6): 35 invocations.
    // Operations: 7 map functions x 8 maps, 3 buffer functions x 9 buffers,
    // get_status, send_local_response, set_effective_context x 2,
    // continue_stream and close_stream x 4 stream types: 56 + 27 + 2 + 2 + 8 = 95.
    let cases = fresh_cases(Version::V021);
    run_matrix("0.2.1 fresh-store matrix", &cases, 35 * 95);
}

#[test]
fn matrix_v0_1_0() {
    // 24 callbacks (no proxy_on_foreign_function); the 4 lifecycle
    // callbacks on both contexts (+4); bodies and connection data with both
    // end_of_stream values (+4), headers have none: 32 invocations.
    // Operations: 7 x 8 maps, 3 x 6 buffers, get_status,
    // send_local_response, get_configuration, set_effective_context x 2,
    // continue_request, continue_response: 56 + 18 + 3 + 2 + 2 = 81.
    let cases = fresh_cases(Version::V010);
    run_matrix("0.1.0 fresh-store matrix", &cases, 32 * 81);
}

#[test]
fn paused_matrix_v0_2_1() {
    // 9 pausing callbacks x (paused, continued, paused then continue_stream
    // or close_stream x 4 stream types) = 9 x 10 set-ups, x 4 probes x 95
    // operations.
    let cases = paused_cases(Version::V021);
    run_matrix("0.2.1 paused matrix", &cases, 9 * 10 * 4 * 95);
}

#[test]
fn paused_matrix_v0_1_0() {
    // 9 pausing callbacks x (paused, continued, paused then
    // continue_request, paused then continue_response) x 4 probes x 81.
    let cases = paused_cases(Version::V010);
    run_matrix("0.1.0 paused matrix", &cases, 9 * 4 * 4 * 81);
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

const SET_EFFECTIVE_CONTEXT: &str = "proxy_set_effective_context";

/// (a) Request headers paused in `proxy_on_request_headers` stay modifiable
/// from a root callback that switched to the stream, until a successful
/// `proxy_continue_stream(HTTP_REQUEST)` for that stream.
#[test]
fn paused_request_headers_stay_modifiable_until_continued() {
    let mut sb = Sandbox::new(Version::V021);
    let statuses = sb.ok(
        Probe::stream(RequestHeaders),
        PAUSE,
        &[(ReplaceMapValue, HTTP_REQUEST_HEADERS)],
    );
    assert_eq!(statuses, [OK], "modifying in proxy_on_request_headers");

    // Switched to the paused stream: read, add and modify.
    let steps: Vec<(Op, u32)> = std::iter::once((SetEffectiveContext, STREAM))
        .chain(MAP_OPS.map(|op| (op, HTTP_REQUEST_HEADERS)))
        .collect();
    let statuses = sb.ok(Probe::root(HttpCallResponse), CONTINUE, &steps);
    assert_eq!(statuses, [OK; 8], "switched to the paused stream");
    assert_eq!(sb.calls().len(), 8);
    // Not the other maps of the stream.
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (ReplaceMapValue, HTTP_RESPONSE_HEADERS),
            (ReplaceMapValue, HTTP_REQUEST_TRAILERS),
            (AddMapValue, HTTP_REQUEST_TRAILERS),
        ],
    );
    assert_eq!(statuses, [OK, BAD_ARGUMENT, BAD_ARGUMENT, BAD_ARGUMENT]);
    assert_eq!(sb.calls(), [SET_EFFECTIVE_CONTEXT]);

    // Without switching, the effective context is the root context.
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[(ReplaceMapValue, HTTP_REQUEST_HEADERS)],
    );
    assert_eq!(statuses, [BAD_ARGUMENT], "not switched");
    assert!(sb.calls().is_empty());

    // A continue of the root context, or of the response, does not resume it.
    let statuses = sb.ok(
        Probe::root(Tick),
        CONTINUE,
        &[
            (ContinueStream, HTTP_REQUEST),
            (SetEffectiveContext, STREAM),
            (ContinueStream, HTTP_RESPONSE),
            (CloseStream, DOWNSTREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
        ],
    );
    assert_eq!(statuses, [OK; 5], "other continues leave the pause");

    // A later callback switches to the stream and continues the request.
    let statuses = sb.ok(
        Probe::root(QueueReady),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (ContinueStream, HTTP_REQUEST),
        ],
    );
    assert_eq!(statuses, [OK, OK]);
    assert_eq!(sb.calls(), [SET_EFFECTIVE_CONTEXT, "proxy_continue_stream"]);

    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (GetMapValue, HTTP_REQUEST_HEADERS),
            (AddMapValue, HTTP_REQUEST_HEADERS),
        ],
    );
    assert_eq!(
        statuses,
        [OK, BAD_ARGUMENT, BAD_ARGUMENT, BAD_ARGUMENT],
        "after continue"
    );
    assert_eq!(sb.calls(), [SET_EFFECTIVE_CONTEXT]);
}

/// (a') The same end of a pause with `proxy_close_stream`, called from the
/// stream's own later callback.
#[test]
fn close_stream_ends_the_pause() {
    let mut sb = Sandbox::new(Version::V021);
    sb.ok(Probe::stream(RequestHeaders), PAUSE, &[]);
    let statuses = sb.ok(
        Probe::stream(ResponseHeaders),
        CONTINUE,
        &[
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (CloseStream, HTTP_REQUEST),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
        ],
    );
    assert_eq!(statuses, [OK, OK, BAD_ARGUMENT]);
    assert_eq!(
        sb.calls(),
        ["proxy_replace_header_map_value", "proxy_close_stream"]
    );
}

/// (b) A request body paused in `proxy_on_request_body` stays writable from
/// an HTTP call response that switched to the stream.
#[test]
fn paused_request_body_stays_writable() {
    let mut sb = Sandbox::new(Version::V021);
    let statuses = sb.ok(
        Probe::stream(RequestBody).eos(false),
        PAUSE,
        &[(GetBufferBytes, HTTP_REQUEST_BODY)],
    );
    assert_eq!(statuses, [OK]);
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (SetBufferBytes, HTTP_REQUEST_BODY),
            (GetBufferBytes, HTTP_REQUEST_BODY),
            (GetBufferStatus, HTTP_REQUEST_BODY),
            (SetBufferBytes, HTTP_RESPONSE_BODY),
            // The trailers' add grant is "in proxy_on_request_body when
            // end_of_stream", not "paused".
            (AddMapValue, HTTP_REQUEST_TRAILERS),
        ],
    );
    assert_eq!(statuses, [OK, OK, OK, OK, NOT_FOUND, BAD_ARGUMENT]);
    assert_eq!(
        sb.calls(),
        [
            SET_EFFECTIVE_CONTEXT,
            "proxy_set_buffer_bytes",
            "proxy_get_buffer_bytes",
            "proxy_get_buffer_status"
        ]
    );
    // Not switched: NOT_FOUND.
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[(SetBufferBytes, HTTP_REQUEST_BODY)],
    );
    assert_eq!(statuses, [NOT_FOUND]);
    assert!(sb.calls().is_empty());
}

/// Request trailers: add only, in `proxy_on_request_body` with
/// `end_of_stream`; the response side likewise.
#[test]
fn trailers_can_be_added_to_a_body_that_ends_the_stream() {
    let mut sb = Sandbox::new(Version::V021);
    for (body, trailers) in [
        (RequestBody, HTTP_REQUEST_TRAILERS),
        (ResponseBody, HTTP_RESPONSE_TRAILERS),
    ] {
        let steps = MAP_OPS.map(|op| (op, trailers));
        let statuses = sb.ok(Probe::stream(body).eos(true), CONTINUE, &steps);
        let expected: Vec<u32> = MAP_OPS
            .iter()
            .map(|op| if *op == AddMapValue { OK } else { BAD_ARGUMENT })
            .collect();
        assert_eq!(statuses, expected, "{} eos=true", body.name());
        assert_eq!(sb.calls(), ["proxy_add_header_map_value"]);
        let statuses = sb.ok(Probe::stream(body).eos(false), CONTINUE, &steps);
        assert_eq!(statuses, [BAD_ARGUMENT; 7], "{} eos=false", body.name());
        assert!(sb.calls().is_empty());
    }
}

/// (c) `proxy_send_local_response`: until the stream's response headers got
/// past `proxy_on_response_headers`.
#[test]
fn send_local_response_until_response_headers_pass() {
    let slr = &[(SendLocalResponse, 0)];
    let mut sb = Sandbox::new(Version::V021);
    assert_eq!(sb.ok(Probe::stream(RequestHeaders), CONTINUE, slr), [OK]);
    assert_eq!(sb.calls(), ["proxy_send_local_response"]);
    assert_eq!(sb.ok(Probe::stream(ResponseHeaders), CONTINUE, slr), [OK]);
    // The response headers returned CONTINUE: too late.
    assert_eq!(
        sb.ok(Probe::stream(ResponseBody), CONTINUE, slr),
        [BAD_ARGUMENT]
    );
    assert!(sb.calls().is_empty());
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[(SetEffectiveContext, STREAM), (SendLocalResponse, 0)],
    );
    assert_eq!(statuses, [OK, BAD_ARGUMENT]);
    assert_eq!(sb.ok(Probe::stream(Log), CONTINUE, slr), [BAD_ARGUMENT]);

    // From an HTTP call response, switched to a stream paused in
    // proxy_on_request_headers.
    let mut sb = Sandbox::new(Version::V021);
    sb.ok(Probe::stream(RequestHeaders), PAUSE, &[]);
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[(SetEffectiveContext, STREAM), (SendLocalResponse, 0)],
    );
    assert_eq!(statuses, [OK, OK]);
    assert_eq!(
        sb.calls(),
        [SET_EFFECTIVE_CONTEXT, "proxy_send_local_response"]
    );
    // Not switched: the root context is not a stream.
    assert_eq!(
        sb.ok(Probe::root(HttpCallResponse), CONTINUE, slr),
        [BAD_ARGUMENT]
    );
    assert_eq!(sb.ok(Probe::root(Tick), CONTINUE, slr), [BAD_ARGUMENT]);

    // Paused in proxy_on_response_headers: not yet past them; resumed by a
    // continue of the request: still not; resumed by a continue of the
    // response: past them.
    let mut sb = Sandbox::new(Version::V021);
    sb.ok(Probe::stream(ResponseHeaders), PAUSE, &[]);
    assert_eq!(sb.ok(Probe::stream(ResponseBody), PAUSE, slr), [OK]);
    let statuses = sb.ok(
        Probe::root(Tick),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (ContinueStream, HTTP_REQUEST),
            (SendLocalResponse, 0),
            (ContinueStream, HTTP_RESPONSE),
            (SendLocalResponse, 0),
        ],
    );
    assert_eq!(statuses, [OK, OK, OK, OK, BAD_ARGUMENT]);
    assert_eq!(
        sb.ok(Probe::stream(ResponseBody), CONTINUE, slr),
        [BAD_ARGUMENT]
    );
}

/// (d) An `in` grant holds for the whole callback, also after
/// `proxy_set_effective_context`.
#[test]
fn in_grants_hold_after_switching_context() {
    let mut sb = Sandbox::new(Version::V021);
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (GetMapValue, HTTP_CALL_RESPONSE_HEADERS),
            (GetMapPairs, HTTP_CALL_RESPONSE_TRAILERS),
            (GetBufferBytes, HTTP_CALL_RESPONSE_BODY),
            (GetStatus, 0),
        ],
    );
    assert_eq!(statuses, [OK; 5]);
    assert_eq!(
        sb.calls(),
        [
            SET_EFFECTIVE_CONTEXT,
            "proxy_get_header_map_value",
            "proxy_get_header_map_pairs",
            "proxy_get_buffer_bytes",
            "proxy_get_status"
        ]
    );
    for (cb, op, sel) in [
        (GrpcReceive, GetBufferBytes, GRPC_CALL_MESSAGE),
        (
            GrpcReceiveInitialMetadata,
            GetMapSize,
            GRPC_CALL_INITIAL_METADATA,
        ),
        (
            GrpcReceiveTrailingMetadata,
            GetMapSize,
            GRPC_CALL_TRAILING_METADATA,
        ),
        (GrpcClose, GetStatus, 0),
        (ForeignFunction, GetBufferStatus, FOREIGN_FUNCTION_ARGUMENTS),
        (Configure, GetBufferBytes, PLUGIN_CONFIGURATION),
    ] {
        let statuses = sb.ok(
            Probe::root(cb),
            CONTINUE,
            &[(SetEffectiveContext, STREAM), (op, sel)],
        );
        assert_eq!(statuses, [OK, OK], "{}: {}", cb.name(), describe(op, sel));
    }
    // A stream callback's grants are for its own stream: switched to the
    // root context they lapse, and back on its stream they hold again.
    let statuses = sb.ok(
        Probe::stream(RequestHeaders),
        CONTINUE,
        &[
            (SetEffectiveContext, ROOT),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (SendLocalResponse, 0),
            (SetEffectiveContext, STREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
        ],
    );
    // send_local_response looks at the effective context: the root one.
    assert_eq!(statuses, [OK, BAD_ARGUMENT, BAD_ARGUMENT, OK, OK]);
}

/// One stream's callback cannot reach another stream's maps by switching
/// to it: stream 3, past its request headers, keeps them closed while
/// stream 2's request headers callback runs.
#[test]
fn a_stream_callback_cannot_reach_another_stream() {
    let mut sb = Sandbox::new(Version::V021);
    sb.ok(Probe::on(ContextCreate, OTHER_STREAM), CONTINUE, &[]);
    sb.ok(Probe::on(RequestHeaders, OTHER_STREAM), CONTINUE, &[]);
    let statuses = sb.ok(
        Probe::stream(RequestHeaders),
        CONTINUE,
        &[
            (SetEffectiveContext, OTHER_STREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (SetBufferBytes, HTTP_REQUEST_BODY),
        ],
    );
    assert_eq!(statuses, [OK, BAD_ARGUMENT, NOT_FOUND]);
    assert_eq!(sb.calls(), [SET_EFFECTIVE_CONTEXT]);
}

/// (e) With enforcement off, every call reaches the host.
#[test]
fn enforcement_off_lets_everything_through() {
    let steps = [
        (ReplaceMapValue, HTTP_REQUEST_HEADERS),
        (GetMapSize, HTTP_CALL_RESPONSE_HEADERS),
        (SetBufferBytes, VM_CONFIGURATION),
        (GetBufferBytes, HTTP_REQUEST_BODY),
        (GetStatus, 0),
        (SendLocalResponse, 0),
    ];
    let mut sb = Sandbox::new(Version::V021);
    let refused = [
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
        BAD_ARGUMENT,
    ];
    assert_eq!(sb.ok(Probe::root(Tick), CONTINUE, &steps), refused);
    assert!(sb.calls().is_empty());
    sb.enforce(false);
    assert_eq!(sb.ok(Probe::root(Tick), CONTINUE, &steps), [OK; 6]);
    let reached: Vec<&str> = steps.iter().map(|(op, _)| op.host_method()).collect();
    assert_eq!(sb.calls(), reached);
    // Outside any callback too.
    assert_eq!(sb.outside(&steps), [OK; 6]);
    assert_eq!(sb.calls(), reached);
    // Back on.
    sb.enforce(true);
    assert_eq!(sb.ok(Probe::root(Tick), CONTINUE, &steps), refused);
    assert!(sb.calls().is_empty());
    assert_eq!(sb.outside(&steps), refused);

    let mut sb = Sandbox::new(Version::V010);
    sb.enforce(false);
    assert_eq!(
        sb.ok(Probe::root(Tick), CONTINUE, &[(GetConfiguration, 0)]),
        [OK]
    );
    assert_eq!(sb.calls(), ["proxy_get_configuration"]);
}

/// Outside any callback, every restricted call is refused.
#[test]
fn nothing_is_accessible_outside_callbacks() {
    let outside = Situation {
        running: None,
        eos: false,
        stream: None,
    };
    for version in [Version::V010, Version::V021] {
        for (op, sel) in matrix_ops(version) {
            // Stream 2 paused everywhere it can be, so that only the running
            // callback is missing.
            let mut sb = Sandbox::new(version);
            for cb in PAUSING {
                sb.ok(Probe::stream(cb), PAUSE, &[]);
            }
            let statuses = sb.outside(&[(op, sel)]);
            verdict(
                op,
                expectation(op, sel, &outside),
                statuses[0],
                &sb.calls(),
                &[],
            )
            .unwrap_or_else(|e| panic!("{version} outside callbacks, {}: {e}", describe(op, sel)));
        }
    }
}

/// (f) A deleted context is no longer paused, and a trapped callback neither
/// paused its stream nor left its grants behind.
#[test]
fn deleted_context_loses_its_pause() {
    let steps = &[
        (SetEffectiveContext, STREAM),
        (ReplaceMapValue, HTTP_REQUEST_HEADERS),
        (SendLocalResponse, 0),
    ];
    let mut sb = Sandbox::new(Version::V021);
    sb.ok(Probe::stream(RequestHeaders), PAUSE, &[]);
    assert_eq!(
        sb.ok(Probe::root(HttpCallResponse), CONTINUE, steps),
        [OK, OK, OK]
    );
    sb.ok(Probe::stream(Done), CONTINUE, &[]);
    sb.ok(Probe::stream(Log), CONTINUE, &[]);
    sb.ok(Probe::stream(Delete), CONTINUE, &[]);
    // The host still accepts the context id (the test host answers OK), but
    // it is no longer a stream: no pause, no local response.
    assert_eq!(
        sb.ok(Probe::root(HttpCallResponse), CONTINUE, steps),
        [OK, BAD_ARGUMENT, BAD_ARGUMENT]
    );
    assert_eq!(sb.calls(), [SET_EFFECTIVE_CONTEXT]);
    // Created again, it is a new stream: not paused, no response yet.
    sb.ok(Probe::stream(ContextCreate), CONTINUE, &[]);
    assert_eq!(
        sb.ok(Probe::root(HttpCallResponse), CONTINUE, steps),
        [OK, BAD_ARGUMENT, OK]
    );
}

#[test]
fn trapped_callback_pauses_nothing_and_leaves_no_grants() {
    let mut sb = Sandbox::new(Version::V021);
    sb.set_trap(true);
    let (statuses, outcome) = sb.run(
        Probe::stream(RequestHeaders),
        PAUSE,
        &[(ReplaceMapValue, HTTP_REQUEST_HEADERS)],
    );
    assert!(outcome.is_err(), "the callback traps");
    assert_eq!(statuses, [OK], "the call before the trap was permitted");
    sb.set_trap(false);
    // Nothing is left running, and the stream is not paused.
    assert_eq!(
        sb.outside(&[
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (SendLocalResponse, 0)
        ]),
        [BAD_ARGUMENT, BAD_ARGUMENT]
    );
    assert_eq!(
        sb.ok(
            Probe::root(HttpCallResponse),
            CONTINUE,
            &[
                (SetEffectiveContext, STREAM),
                (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            ],
        ),
        [OK, BAD_ARGUMENT]
    );
    // A trap after switching contexts leaves no switched context behind.
    sb.set_trap(true);
    let (statuses, outcome) = sb.run(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[(SetEffectiveContext, STREAM), (SendLocalResponse, 0)],
    );
    assert!(outcome.is_err());
    assert_eq!(statuses, [OK, OK]);
    sb.set_trap(false);
    assert_eq!(
        sb.outside(&[(SendLocalResponse, 0), (GetStatus, 0)]),
        [BAD_ARGUMENT, NOT_FOUND]
    );
    // A trap in proxy_on_response_headers did not get the response headers
    // past it: neither CONTINUE nor a resume.
    sb.set_trap(true);
    let (_, outcome) = sb.run(Probe::stream(ResponseHeaders), CONTINUE, &[]);
    assert!(outcome.is_err());
    sb.set_trap(false);
    assert_eq!(
        sb.ok(
            Probe::stream(ResponseBody),
            CONTINUE,
            &[(SendLocalResponse, 0)]
        ),
        [OK]
    );
}

/// (g) Argument checks come before the access rules.
#[test]
fn argument_checks_come_before_access_rules() {
    let bad_pointers = [
        (GetMapSizeBadOut, HTTP_REQUEST_HEADERS),
        (SetMapPairsBadPtr, HTTP_REQUEST_HEADERS),
        (SetBufferBytesBadPtr, HTTP_REQUEST_BODY),
        (GetStatusBadOut, 0),
        (SendLocalResponseBadBody, 0),
    ];
    let unknown_values = [
        (GetMapSize, 8),
        (SetMapPairs, 99),
        (GetBufferStatus, 9),
        (SetBufferBytes, 99),
        (ContinueStream, 4),
        (CloseStream, 99),
    ];
    let mut expected = vec![INVALID_MEMORY_ACCESS; bad_pointers.len()];
    expected.extend([BAD_ARGUMENT; 6]);
    let steps: Vec<(Op, u32)> = bad_pointers.into_iter().chain(unknown_values).collect();
    let mut sb = Sandbox::new(Version::V021);
    // Where every one of them is forbidden (an unknown buffer type gets
    // BAD_ARGUMENT, not the forbidden NOT_FOUND)...
    assert_eq!(
        sb.ok(Probe::root(Tick), CONTINUE, &steps[..8]),
        expected[..8]
    );
    assert!(sb.calls().is_empty());
    assert_eq!(
        sb.ok(Probe::root(Tick), CONTINUE, &steps[8..]),
        expected[8..]
    );
    assert!(sb.calls().is_empty());
    // ... and where their valid forms are permitted (request headers and
    // body paused, switched to the stream in an HTTP call response).
    sb.ok(Probe::stream(RequestHeaders), PAUSE, &[]);
    sb.ok(Probe::stream(RequestBody), PAUSE, &[]);
    let mut switched = vec![(SetEffectiveContext, STREAM)];
    switched.extend_from_slice(&steps[..7]);
    let mut want = vec![OK];
    want.extend_from_slice(&expected[..7]);
    assert_eq!(
        sb.ok(Probe::root(HttpCallResponse), CONTINUE, &switched),
        want
    );
    assert_eq!(sb.calls(), [SET_EFFECTIVE_CONTEXT]);
    assert_eq!(
        sb.ok(Probe::stream(RequestBody), CONTINUE, &steps[8..]),
        expected[8..]
    );
    assert!(sb.calls().is_empty());
}

/// A pause belongs to its stream: another stream switched to is not paused,
/// and resuming it does not resume the first.
#[test]
fn pauses_are_per_stream() {
    let mut sb = Sandbox::new(Version::V021);
    sb.ok(Probe::on(ContextCreate, OTHER_STREAM), CONTINUE, &[]);
    sb.ok(Probe::stream(RequestHeaders), PAUSE, &[]);
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, OTHER_STREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (ContinueStream, HTTP_REQUEST),
            (SetEffectiveContext, STREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
        ],
    );
    assert_eq!(statuses, [OK, BAD_ARGUMENT, OK, OK, OK]);
    // Stream 3's own callbacks see stream 3.
    assert_eq!(
        sb.ok(
            Probe::on(Log, OTHER_STREAM),
            CONTINUE,
            &[(ReplaceMapValue, HTTP_REQUEST_HEADERS)],
        ),
        [BAD_ARGUMENT]
    );
    assert_eq!(
        sb.ok(
            Probe::stream(Log),
            CONTINUE,
            &[(ReplaceMapValue, HTTP_REQUEST_HEADERS)],
        ),
        [OK]
    );
}

/// 0.1.0: `proxy_get_configuration` only while the VM or plugin starts;
/// `proxy_continue_request` / `proxy_continue_response` end pauses.
#[test]
fn v0_1_0_configuration_and_resumption() {
    let mut sb = Sandbox::new(Version::V010);
    let get = &[(GetConfiguration, 0)];
    assert_eq!(sb.ok(Probe::root(VmStart), CONTINUE, get), [OK]);
    assert_eq!(sb.ok(Probe::root(Configure), CONTINUE, get), [OK]);
    assert_eq!(sb.calls(), ["proxy_get_configuration"]);
    assert_eq!(sb.ok(Probe::root(Tick), CONTINUE, get), [NOT_FOUND]);
    assert_eq!(
        sb.ok(Probe::stream(RequestHeaders), CONTINUE, get),
        [NOT_FOUND]
    );
    assert!(sb.calls().is_empty());

    sb.ok(Probe::stream(RequestHeaders), PAUSE, &[]);
    sb.ok(Probe::stream(ResponseHeaders), PAUSE, &[]);
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (ReplaceMapValue, HTTP_RESPONSE_HEADERS),
            (SendLocalResponse, 0),
            (ContinueRequest, 0),
            (ReplaceMapValue, HTTP_REQUEST_HEADERS),
            (ReplaceMapValue, HTTP_RESPONSE_HEADERS),
            (ContinueResponse, 0),
        ],
    );
    assert_eq!(statuses, [OK, OK, OK, OK, OK, BAD_ARGUMENT, OK, OK]);
    let statuses = sb.ok(
        Probe::root(HttpCallResponse),
        CONTINUE,
        &[
            (SetEffectiveContext, STREAM),
            (ReplaceMapValue, HTTP_RESPONSE_HEADERS),
            (SendLocalResponse, 0),
        ],
    );
    assert_eq!(statuses, [OK, BAD_ARGUMENT, BAD_ARGUMENT]);
}

/// The prober imports exactly what each version's linker defines, and
/// exports every callback the generated `Plugin` looks up.
#[test]
fn prober_matches_the_generated_plugin() {
    for version in [Version::V010, Version::V021] {
        let mut sb = Sandbox::new(version);
        let missing: Vec<&str> = version
            .callbacks()
            .into_iter()
            .filter(|cb| {
                let probe = if cb.home() == Home::Root {
                    Probe::root(*cb)
                } else {
                    Probe::stream(*cb)
                };
                sb.run(probe, CONTINUE, &[]).1.is_err()
            })
            .map(Cb::name)
            .collect();
        assert!(missing.is_empty(), "{version}: {missing:?} not run");
    }
    let plugin = compiled();
    assert_eq!(
        v0_2_1::Plugin::declared_versions(&plugin.v021),
        ["0.2.1".to_string()]
    );
    assert_eq!(
        v0_1_0::Plugin::declared_versions(&plugin.v010),
        ["0.1.0".to_string()]
    );
}
