//! Probe plugins: WAT modules, written from the description and the cases,
//! that make each case's call from its home callback and log one line per
//! case through `proxy_log`:
//!
//! ```text
//! conformance case=<id> status=<decimal status or errno>
//! ```
//!
//! Every probe of a version has the same memory layout (so a case's
//! arguments are the same numbers whichever probe runs it), exports the
//! version's marker, `memory`, `proxy_on_memory_allocate` and every plugin
//! callback of the version (each answering "go on": `true`, `CONTINUE`),
//! and, in `proxy_on_configure`, makes one HTTP call so that
//! `proxy_on_http_call_response` runs, sets a tick period so that
//! `proxy_on_tick` runs and registers a queue so that
//! `proxy_on_queue_ready` runs; it logs each status as
//! `conformance setup=<function> status=<n>`. The `allocator` probe's
//! `proxy_on_memory_allocate` always answers 0, for the allocator cases;
//! the `results` probe's `proxy_on_done` answers `false`, and its request
//! and response headers, bodies, data and trailers callbacks pause, each
//! once (the body and data ones at the chunk that ends the stream, the
//! trailers ones in the stream that has trailers); the `local_response` probe sends a local
//! response from `proxy_on_request_headers`. A case runs at its
//! [`Stage`]: the callback's first run, or a later one the probe guards
//! for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proxy_wasm_abi_spec::ir::{AbiVersion, Function, FunctionRole, StatusRole, Type};
use proxy_wasm_abi_spec::lower::{WasmType, lower};

use super::cases::{
    ALLOCATOR_PROBE, Arg, BOTH_ALLOCATORS_PROBE, Case, DEFERS_DONE, Data, INTEGRATION_PROBE, Kind,
    LEGACY_ALLOCATOR_PROBE, MALFORMED_MAPS, NAMES, PAUSE_POINTS, RESULTS_PROBE, SETUP_FUNCTIONS,
    START_ONLY_PROBE, STREAM_SLOT, ShutdownState, Stage, TAIL, lifecycle_setup,
};

/// The line prefix every case line starts with.
pub const CASE_PREFIX: &str = "conformance case=";
/// What follows a case's id on its line.
pub const STATUS_INFIX: &str = " status=";
/// The function the probes log with.
pub const LOG_FUNCTION: &str = "proxy_log";
/// The callback that makes the setup calls (an HTTP call, so that the
/// HTTP call response callback runs; a tick period; a queue).
pub const SETUP_CALLBACK: &str = "proxy_on_configure";

const PAGE: u32 = 65536;
/// Where a log line is built.
const LINE_AT: u32 = 0x100;
/// The end of the buffer the status's digits are written into, backwards.
const DIGITS_END: u32 = 0x410;
/// Output slots, 8 bytes each.
const SLOTS_AT: u32 = 0x420;
const SLOTS: u32 = 8;
/// Buffers the host fills, and raw pointers.
const SCRATCH_AT: u32 = 0x480;
/// Data, then the case lines' prefixes.
const DATA_AT: u32 = 0x500;
/// The size of the last page, where `proxy_on_memory_allocate` hands out
/// its region (all of it but [`Data::Tail`]) again and again: the probes
/// never read what the host returns.
const HEAP_SIZE: u32 = PAGE;
/// Where, in the heap, the allocator-choice probes' legacy allocator
/// hands out its region.
const HALF_HEAP: u32 = HEAP_SIZE / 2;

/// Valid text arguments (a key, a name, an upstream).
pub const TEXT: &[u8] = b"conformance";
/// Valid bytes arguments.
pub const BYTES: &[u8] = b"conformance-bytes";
/// A valid property path.
pub const PATH: &[u8] = b"plugin_name";
/// Text that is not UTF-8.
pub const NON_UTF8: &[u8] = b"bad\xff\xfetext";
/// The pairs of the valid map argument: enough for an HTTP call.
pub const MAP: [(&str, &str); 3] = [
    (":method", "GET"),
    (":path", "/conformance"),
    (":authority", "conformance"),
];

/// A probe's memory: where each piece of data lives, and its size.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The memory size in bytes (fixed: the probe never grows it).
    pub memory_size: u32,
    /// Address and bytes of each piece of data.
    pub data: BTreeMap<Data, (u32, Vec<u8>)>,
    /// Where the case lines' prefixes start.
    pub text_at: u32,
    /// Where `proxy_on_memory_allocate` allocates.
    pub heap_at: u32,
}

fn align(n: u32, to: u32) -> u32 {
    n.div_ceil(to) * to
}

impl Layout {
    /// The layout for probes whose line prefixes take `text_bytes` at most.
    pub fn new(text_bytes: u32) -> Layout {
        let mut items: Vec<(Data, Vec<u8>)> = vec![
            (Data::Text, TEXT.to_vec()),
            (Data::Bytes, BYTES.to_vec()),
            (Data::Map, proxy_wasm_abi::serial::encode_map(&MAP)),
            (Data::Path, PATH.to_vec()),
            (Data::NonUtf8, NON_UTF8.to_vec()),
            (Data::Iovecs, vec![0; 8]),
            (Data::IovecsBadEntry, vec![0; 8]),
        ];
        for (i, (_, bytes)) in MALFORMED_MAPS.iter().enumerate() {
            items.push((Data::MalformedMap(i), bytes.to_vec()));
        }
        for name in NAMES {
            items.push((Data::Named(name), name.as_bytes().to_vec()));
        }
        let mut at = DATA_AT;
        let mut data = BTreeMap::new();
        for (d, bytes) in items {
            let len = bytes.len() as u32;
            data.insert(d, (at, bytes));
            at = align(at + len, 8);
        }
        let text_at = at;
        let heap_at = align(text_at + text_bytes, PAGE);
        let memory_size = heap_at + HEAP_SIZE;
        // The iovec tables, now that the addresses are known.
        let entry = |ptr: u32, len: u32| [ptr.to_le_bytes(), len.to_le_bytes()].concat();
        let (bytes_at, bytes) = &data[&Data::Bytes];
        let good = entry(*bytes_at, bytes.len() as u32);
        debug_assert_eq!(good.len() as u32, TAIL);
        let bad = entry(memory_size, 4);
        data.get_mut(&Data::Iovecs).expect("laid out").1 = good.clone();
        data.get_mut(&Data::IovecsBadEntry).expect("laid out").1 = bad;
        data.insert(Data::Tail, (memory_size - TAIL, good));
        Layout {
            memory_size,
            data,
            text_at,
            heap_at,
        }
    }

    /// The address of output slot `n`.
    pub fn slot(&self, n: u32) -> u32 {
        SLOTS_AT + 8 * n.min(SLOTS - 1)
    }

    /// The number an argument stands for (for [`Arg::Loaded`], the
    /// address it is loaded from).
    pub fn resolve(&self, arg: Arg) -> u64 {
        match arg {
            Arg::Loaded(n) => self.slot(n).into(),
            Arg::Value(v) => v,
            Arg::DataAt(d) => self.data[&d].0.into(),
            Arg::DataLen(Data::Iovecs | Data::IovecsBadEntry) => 1,
            Arg::DataLen(d) => self.data[&d].1.len() as u64,
            Arg::Slot(n) => self.slot(n).into(),
            Arg::Scratch => SCRATCH_AT.into(),
            Arg::End(offset) => (i64::from(self.memory_size) + offset) as u64,
        }
    }
}

/// The callbacks that end a context, the root's as well as a stream's.
const ENDS_CONTEXT: [&str; 3] = [DEFERS_DONE, "proxy_on_log", "proxy_on_delete"];

/// One probe's source, before compilation.
#[derive(Debug, Clone)]
pub struct ProbeSource {
    /// `memory`, `arguments` or `access`.
    pub name: String,
    /// The WAT text.
    pub wat: String,
    /// The ids of the cases it runs.
    pub cases: Vec<String>,
}

impl ProbeSource {
    /// The compiled module.
    pub fn compile(&self) -> Result<Vec<u8>, String> {
        wat::parse_str(&self.wat).map_err(|e| format!("probe `{}`: {e}", self.name))
    }
}

/// `"..."` with every byte that is not plainly printable escaped.
fn wat_string(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for b in bytes {
        if b.is_ascii_alphanumeric() || b" _-=/.:".contains(b) {
            s.push(*b as char);
        } else {
            let _ = write!(s, "\\{b:02x}");
        }
    }
    s.push('"');
    s
}

fn keyword(t: WasmType) -> &'static str {
    t.keyword()
}

/// `(i32.const n)` or `(i64.const n)`, signed as WAT reads it.
fn constant(t: WasmType, v: u64) -> String {
    match t {
        WasmType::I32 => format!("(i32.const {})", v as u32 as i32),
        WasmType::I64 => format!("(i64.const {})", v as i64),
    }
}

/// ` (param i32 i32) (result i32)`: `f`'s wasm type, empty parts left out.
fn func_type(f: &Function) -> String {
    let sig = lower(f);
    let list = |word: &str, types: Vec<WasmType>| {
        if types.is_empty() {
            return String::new();
        }
        let types: Vec<&str> = types.into_iter().map(keyword).collect();
        format!(" ({word} {})", types.join(" "))
    };
    let params = list("param", sig.params.iter().map(|p| p.wasm).collect());
    let results = list("result", sig.results.iter().map(|r| r.wasm).collect());
    format!("{params}{results}")
}

fn import(f: &Function) -> String {
    let module = f.module().unwrap_or("env");
    format!(
        "  (import \"{module}\" \"{}\" (func ${}{}))\n",
        f.name,
        f.name,
        func_type(f)
    )
}

/// The value a callback of the standard lifecycle answers: `true`, or the
/// result enum's value that does not pause, or 0.
fn go_on(abi: &AbiVersion, f: &Function) -> Option<String> {
    let result = f.result.as_ref()?;
    let value = match &result.ty {
        Type::Bool => 1,
        Type::Enum(e) => abi
            .enum_def(e)
            .and_then(|en| {
                en.variants
                    .iter()
                    .find(|v| v.role != Some(StatusRole::Pause))
            })
            .map_or(0, |v| v.value),
        _ => 0,
    };
    let t = lower(f).results.first().map_or(WasmType::I32, |r| r.wasm);
    Some(constant(t, value.into()))
}

/// The WAT expression of one argument.
fn arg_expr(t: WasmType, layout: &Layout, arg: Arg) -> String {
    match (arg, t) {
        (Arg::Loaded(n), WasmType::I32) => format!("(i32.load (i32.const {}))", layout.slot(n)),
        (Arg::Loaded(n), WasmType::I64) => format!("(i64.load32_u (i32.const {}))", layout.slot(n)),
        _ => constant(t, layout.resolve(arg)),
    }
}

/// The call expression of `f` with `args`.
fn call_expr(f: &Function, layout: &Layout, args: &[Arg]) -> String {
    let sig = lower(f);
    let values: Vec<String> = sig
        .params
        .iter()
        .zip(args)
        .map(|(p, a)| arg_expr(p.wasm, layout, *a))
        .collect();
    format!("(call ${} {})", f.name, values.join(" "))
}

/// The value a callback answers to pause, if its result enum has one.
fn pause_value(abi: &AbiVersion, f: &Function) -> Option<String> {
    let Type::Enum(e) = &f.result.as_ref()?.ty else {
        return None;
    };
    let v = abi.enum_def(e)?.with_role(StatusRole::Pause)?;
    let t = lower(f).results.first().map_or(WasmType::I32, |r| r.wasm);
    Some(constant(t, v.value.into()))
}

/// The call of `f` with `args`, its status reported under `prefix`
/// (laid out at `at`).
fn call_line(f: &Function, layout: &Layout, args: &[Arg], at: u32, len: usize) -> String {
    format!(
        "    (call $report (i32.const {at}) (i32.const {len}) {})\n",
        call_expr(f, layout, args)
    )
}

/// A setup call: made, its status dropped.
fn setup_line(f: &Function, layout: &Layout, args: &[Arg]) -> String {
    let call = call_expr(f, layout, args);
    if lower(f).results.is_empty() {
        format!("    {call}\n")
    } else {
        format!("    (drop {call})\n")
    }
}

/// The call as a host author reads it: `proxy_log(2, 0x500, 11)`.
/// State cases list their setup calls first: `a(..); b(..)`, and an
/// argument read from an earlier call's output slot reads `*0x430`.
pub fn call_text(abi: &AbiVersion, case: &Case, layout: &Layout) -> String {
    let text = |function: &str, args: &[Arg]| {
        let Some(f) = abi.function(function) else {
            return String::new();
        };
        let sig = lower(f);
        let values: Vec<String> = sig
            .params
            .iter()
            .zip(args)
            .map(|(p, a)| {
                let v = layout.resolve(*a);
                match a {
                    Arg::Loaded(_) => format!("*{v:#x}"),
                    Arg::Value(_) if v < 0x1000 => v.to_string(),
                    _ if p.wasm == WasmType::I64 => v.to_string(),
                    _ => format!("{v:#x}"),
                }
            })
            .collect();
        format!("{}({})", f.name, values.join(", "))
    };
    let mut calls: Vec<String> = case
        .setup
        .iter()
        .map(|c| text(&c.function, &c.args))
        .collect();
    calls.push(text(&case.function, &case.args));
    calls.join("; ")
}

/// The line prefix of a case.
pub fn case_prefix(id: &str) -> String {
    format!("{CASE_PREFIX}{id}{STATUS_INFIX}")
}

/// The prefix of the setup call's line.
pub fn setup_prefix(function: &str) -> String {
    format!("conformance setup={function}{STATUS_INFIX}")
}

/// The probes of `abi` for `cases` (each case in the probe its kind names),
/// all with one layout.
pub fn sources(abi: &AbiVersion, cases: &[Case]) -> (Layout, Vec<ProbeSource>) {
    let mut groups: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in cases {
        groups.entry(case.probe()).or_default().push(case);
    }
    let text_bytes = groups
        .values()
        .map(|g| {
            g.iter()
                .map(|c| case_prefix(&c.id).len() as u32)
                .sum::<u32>()
        })
        .max()
        .unwrap_or(0)
        + SETUP_FUNCTIONS
            .iter()
            .map(|f| setup_prefix(f).len() as u32)
            .sum::<u32>()
        + 64;
    let layout = Layout::new(text_bytes);
    let probes = groups
        .into_iter()
        .map(|(name, group)| probe(abi, &layout, name, &group))
        .collect();
    (layout, probes)
}

fn probe(abi: &AbiVersion, layout: &Layout, name: &str, cases: &[&Case]) -> ProbeSource {
    let mut texts: Vec<u8> = Vec::new();
    let mut text = |s: &str| {
        let at = layout.text_at + texts.len() as u32;
        texts.extend_from_slice(s.as_bytes());
        (at, s.len())
    };
    // The calls, per callback and stage, in case order.
    let mut bodies: BTreeMap<(String, Stage), String> = BTreeMap::new();
    let mut imports: Vec<&str> = vec![LOG_FUNCTION];
    if abi.callbacks().any(|c| c.name == SETUP_CALLBACK) {
        for call in lifecycle_setup(abi) {
            let Some(f) = abi.function(&call.function) else {
                continue;
            };
            let (at, len) = text(&setup_prefix(&f.name));
            bodies
                .entry((SETUP_CALLBACK.to_string(), Stage::First))
                .or_default()
                .push_str(&call_line(f, layout, &call.args, at, len));
            imports.push(&f.name);
        }
    }
    for case in cases {
        if case.kind == Kind::Integration {
            // The load order the start functions recorded.
            let (at, len) = text(&case_prefix(&case.id));
            let _ = writeln!(
                bodies
                    .entry((case.callback.clone(), case.stage))
                    .or_default(),
                "    (call $report (i32.const {at}) (i32.const {len}) (global.get $order))"
            );
            continue;
        }
        if case.stage == Stage::RootFinal {
            // How far the root's shutdown had got.
            let (at, len) = text(&case_prefix(&case.id));
            let _ = writeln!(
                bodies
                    .entry((case.callback.clone(), case.stage))
                    .or_default(),
                "    (call $report (i32.const {at}) (i32.const {len}) (global.get $shutdown))"
            );
            continue;
        }
        let Some(f) = abi.function(&case.function) else {
            continue;
        };
        if case.kind == Kind::AllocatorChoice {
            // The call's status is dropped; the line reports the region
            // the returned pointer (its first output slot) lies in.
            let (at, len) = text(&case_prefix(&case.id));
            let slot = case
                .args
                .iter()
                .find_map(|a| match a {
                    Arg::Slot(n) => Some(layout.slot(*n)),
                    _ => None,
                })
                .unwrap_or(SCRATCH_AT);
            let body = bodies
                .entry((case.callback.clone(), case.stage))
                .or_default();
            let _ = writeln!(body, "    (i32.store (i32.const {slot}) (i32.const 0))");
            body.push_str(&setup_line(f, layout, &case.args));
            let _ = writeln!(
                body,
                "    (call $report (i32.const {at}) (i32.const {len}) (select (i32.const 0) (select (i32.const 1) (i32.const 2) (i32.eq (i32.load (i32.const {slot})) (i32.const {legacy}))) (i32.eq (i32.load (i32.const {slot})) (i32.const {heap}))))",
                legacy = layout.heap_at + HALF_HEAP,
                heap = layout.heap_at,
            );
            if !imports.contains(&f.name.as_str()) {
                imports.push(&f.name);
            }
            continue;
        }
        let (at, len) = text(&case_prefix(&case.id));
        let body = bodies
            .entry((case.callback.clone(), case.stage))
            .or_default();
        for c in &case.setup {
            let Some(g) = abi.function(&c.function) else {
                continue;
            };
            body.push_str(&setup_line(g, layout, &c.args));
            if !imports.contains(&g.name.as_str()) {
                imports.push(&g.name);
            }
        }
        body.push_str(&call_line(f, layout, &case.args, at, len));
        if case.stage == Stage::RootWaiting {
            let _ = writeln!(
                body,
                "    (global.set $shutdown (i32.const {}))",
                ShutdownState::Finished as u32
            );
        }
        if !imports.contains(&f.name.as_str()) {
            imports.push(&f.name);
        }
    }

    let mut w = String::from("(module\n");
    // Imports first, in description order.
    for f in abi.host_functions() {
        if imports.contains(&f.name.as_str()) {
            w.push_str(&import(f));
        }
    }
    let pages = layout.memory_size / PAGE;
    let _ = writeln!(w, "  (memory (export \"memory\") {pages} {pages})");
    for (at, bytes) in layout.data.values() {
        let _ = writeln!(w, "  (data (i32.const {at}) {})", wat_string(bytes));
    }
    let _ = writeln!(
        w,
        "  (data (i32.const {}) {})",
        layout.text_at,
        wat_string(&texts)
    );
    let _ = writeln!(w, "  (func (export \"{}\"))", abi.version.marker_name());
    // The integration probes' start functions append their digit to the
    // load order: 1 `_initialize`, 2 `main`, 3 `_start`.
    let _ = writeln!(w, "  (global $order (mut i32) (i32.const 0))");
    // The root context's id, and how far its shutdown has got.
    let _ = writeln!(w, "  (global $root (mut i32) (i32.const 0))");
    let _ = writeln!(w, "  (global $shutdown (mut i32) (i32.const 0))");
    // The results probe's pause point the stream waits at (1 the first),
    // 0 when none.
    let _ = writeln!(w, "  (global $paused (mut i32) (i32.const 0))");
    // Whether the running callback pauses its stream.
    let _ = writeln!(w, "  (global $pausing (mut i32) (i32.const 0))");
    let starts: &[(FunctionRole, u32)] = match name {
        INTEGRATION_PROBE => &[
            (FunctionRole::Initialize, 1),
            (FunctionRole::Main, 2),
            (FunctionRole::Start, 3),
        ],
        START_ONLY_PROBE => &[(FunctionRole::Start, 3)],
        _ => &[],
    };
    for (role, digit) in starts {
        let Some(f) = abi.callbacks().find(|c| c.role == Some(*role)) else {
            continue;
        };
        let answer = go_on(abi, f).map(|v| format!(" {v}")).unwrap_or_default();
        let _ = writeln!(
            w,
            "  (func (export \"{}\"){}\n    (global.set $order (i32.add (i32.mul (global.get $order) (i32.const 10)) (i32.const {digit}))){answer})",
            f.name,
            func_type(f)
        );
    }
    let legacy = abi
        .callbacks()
        .find(|c| c.role == Some(FunctionRole::LegacyAllocator));
    if let (Some(legacy), BOTH_ALLOCATORS_PROBE | LEGACY_ALLOCATOR_PROBE) = (legacy, name) {
        // The allocator-choice probes: the legacy allocator hands out the
        // heap's second half, the allocator (if exported) its first.
        let limit = HALF_HEAP - TAIL;
        let _ = writeln!(
            w,
            "  (func (export \"{}\") (param i32) (result i32)\n    (select (i32.const {}) (i32.const 0) (i32.le_u (local.get 0) (i32.const {limit}))))",
            legacy.name,
            layout.heap_at + HALF_HEAP,
        );
    }
    let allocator = abi
        .callbacks()
        .find(|c| c.role == Some(FunctionRole::Allocator))
        .filter(|_| name != LEGACY_ALLOCATOR_PROBE);
    if let Some(alloc) = allocator {
        // The allocator probe's allocator always fails.
        let limit = if name == ALLOCATOR_PROBE {
            0
        } else if name == BOTH_ALLOCATORS_PROBE {
            HALF_HEAP - TAIL
        } else {
            HEAP_SIZE - TAIL
        };
        let _ = writeln!(
            w,
            "  (func (export \"{}\") (param i32) (result i32)\n    (select (i32.const {}) (i32.const 0) (i32.le_u (local.get 0) (i32.const {limit}))))",
            alloc.name, layout.heap_at,
        );
    }
    let level = abi
        .function(LOG_FUNCTION)
        .and_then(|f| match &f.params.first()?.ty {
            Type::Enum(e) => abi.enum_def(e),
            _ => None,
        })
        .and_then(|e| e.variant("INFO").or(e.variants.last()))
        .map_or(2, |v| v.value);
    let _ = write!(
        w,
        r#"  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $dst))
  (func $report (param $prefix i32) (param $len i32) (param $status i32)
    (local $p i32) (local $d i32)
    (local.set $p (call $copy (i32.const {LINE_AT}) (local.get $prefix) (local.get $len)))
    (local.set $d (i32.const {DIGITS_END}))
    (loop $digit
      (local.set $d (i32.sub (local.get $d) (i32.const 1)))
      (i32.store8 (local.get $d) (i32.add (i32.const 48) (i32.rem_u (local.get $status) (i32.const 10))))
      (local.set $status (i32.div_u (local.get $status) (i32.const 10)))
      (br_if $digit (local.get $status)))
    (local.set $p (call $copy (local.get $p) (local.get $d) (i32.sub (i32.const {DIGITS_END}) (local.get $d))))
    (drop (call ${LOG_FUNCTION} (i32.const {level}) (i32.const {LINE_AT}) (i32.sub (local.get $p) (i32.const {LINE_AT})))))
"#
    );
    // Every plugin callback: the first run makes its calls.
    for (k, cb) in abi
        .callbacks()
        .filter(|c| !c.is_marker && c.role.is_none())
        .enumerate()
    {
        let signature = func_type(cb);
        let results = name == RESULTS_PROBE;
        let mut body = String::new();
        // The root context is the one created without a parent; the
        // results probe's `proxy_on_done` for it starts the wait.
        if cb.name == "proxy_on_context_create" {
            body.push_str(
                "    (if (i32.eqz (local.get 1)) (then (global.set $root (local.get 0))))\n",
            );
        }
        if results && cb.name == DEFERS_DONE {
            let _ = writeln!(
                body,
                "    (if (i32.eq (local.get 0) (global.get $root)) (then (global.set $shutdown (i32.const {}))))",
                ShutdownState::Waiting as u32
            );
        }
        let end_of_stream = cb.params.iter().position(|p| p.name == "end_of_stream");
        let stages = bodies
            .range((cb.name.clone(), Stage::First)..)
            .take_while(|((c, _), _)| *c == cb.name);
        for (i, ((_, stage), calls)) in stages.enumerate() {
            let once = format!("$ran{k}_{i}");
            let guard = match (stage, end_of_stream) {
                // The results probe resumes a paused stream from the
                // first tick while it waits.
                (Stage::Paused(point), _) => {
                    let _ = write!(
                        body,
                        "    (if (i32.eq (global.get $paused) (i32.const {})) (then\n    (global.set $paused (i32.const 0))\n{calls}    ))\n",
                        u32::from(*point) + 1
                    );
                    continue;
                }
                (Stage::RootWaiting, _) => {
                    let _ = write!(
                        body,
                        "    (if (i32.eq (global.get $shutdown) (i32.const {})) (then\n{calls}    ))\n",
                        ShutdownState::Waiting as u32
                    );
                    continue;
                }
                (Stage::EndOfStream(true), Some(p)) => {
                    format!("(i32.ne (local.get {p}) (i32.const 0))")
                }
                (Stage::EndOfStream(false), Some(p)) => format!("(i32.eqz (local.get {p}))"),
                (Stage::RootFinal, _) => "(i32.eq (local.get 0) (global.get $root))".to_string(),
                // The callbacks that end a stream end the root too: a
                // stream's cases run for a stream.
                (Stage::First, _) if ENDS_CONTEXT.contains(&cb.name.as_str()) => {
                    "(i32.ne (local.get 0) (global.get $root))".to_string()
                }
                _ => "(i32.const 1)".to_string(),
            };
            let _ = writeln!(w, "  (global {once} (mut i32) (i32.const 0))");
            let _ = write!(
                body,
                "    (if (i32.and (i32.eqz (global.get {once})) {guard}) (then\n    (global.set {once} (i32.const 1))\n{calls}    ))\n"
            );
        }
        // The results probe pauses where a case resumes the stream.
        let point = PAUSE_POINTS.iter().enumerate().find(|(k, p)| {
            p.callback == cb.name
                && cases
                    .iter()
                    .any(|c| c.stage == Stage::Paused(*k as u8) && c.kind == Kind::CallbackResult)
        });
        let pause = pause_value(abi, cb).filter(|_| results).zip(point);
        let answer = if results && cb.name == DEFERS_DONE {
            Some("(i32.const 0)".to_string())
        } else if let Some((pause, (k, point))) = pause {
            // Only the call that ends the stream pauses a body or data
            // callback, and each point pauses once (a later stream goes
            // on there); the context is kept for the tick.
            let once = format!("$pause{k}");
            let _ = writeln!(w, "  (global {once} (mut i32) (i32.const 0))");
            let remember = format!(
                "(i32.store (i32.const {}) (local.get 0)) (global.set $paused (i32.const {})) (global.set {once} (i32.const 1))",
                layout.slot(STREAM_SLOT),
                k + 1
            );
            let end = end_of_stream.filter(|_| point.at_end);
            let go = go_on(abi, cb).unwrap_or_default();
            let now = match end {
                Some(p) => format!("(i32.and (i32.eqz (global.get {once})) (local.get {p}))"),
                None => format!("(i32.eqz (global.get {once}))"),
            };
            let _ = writeln!(body, "    (global.set $pausing {now})");
            let _ = writeln!(body, "    (if (global.get $pausing) (then {remember}))");
            Some(format!("(select {pause} {go} (global.get $pausing))"))
        } else {
            go_on(abi, cb)
        };
        let answer = answer.map(|v| format!("    {v}\n")).unwrap_or_default();
        let _ = write!(
            w,
            "  (func (export \"{}\"){signature}\n{body}{answer}  )\n",
            cb.name
        );
    }
    w.push_str(")\n");
    ProbeSource {
        name: name.to_string(),
        wat: w,
        cases: cases.iter().map(|c| c.id.clone()).collect(),
    }
}
