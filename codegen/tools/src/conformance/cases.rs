//! The conformance cases of one ABI version, derived from the description.
//!
//! Nothing here knows a host function by name. Each case takes one host
//! function with arguments that are all valid but one, and expects the
//! status the description gives for that one:
//!
//! - every address a plugin passes (an input, a buffer, an output slot, the
//!   slots of host-allocated data, a raw pointer) out of bounds, and, where
//!   it has an extent, wrapping past 2^32; every length reaching past the
//!   end; every iovec entry out of bounds: the result enum's
//!   `@role(memory_fault)` status;
//! - every enum parameter with values its enum lacks (the first gap and
//!   `u32::MAX`): the parameter's `@on_invalid` status, else the result
//!   enum's `@role(bad_argument)`;
//! - every `string` parameter not UTF-8, every `map` parameter malformed in
//!   each way the serialized-map format forbids: `@role(bad_argument)`;
//! - every map or buffer selector value, and every host function the access
//!   rules restrict as a whole, called from a callback of the standard
//!   lifecycle where no grant can hold: the function's `@forbidden` status;
//!   and each read that takes only its selector, from each callback where
//!   the selector's grant surely holds: the success status;
//! - state a plugin can bring about (a missing key, name or path, an id the
//!   host never handed out, an empty queue, a stale compare-and-swap
//!   value): the status the description lists for that condition. Which
//!   calls bring the state about is the one thing named here (its recipes);
//!   a case exists only where the description lists its status.
//!
//! The results probe answers what the host must accept and checks what
//! follows: `proxy_on_done` answering `false` for a stream and, at the
//! plugin's shutdown, for the root (the root's `proxy_on_log` and
//! `proxy_on_delete` must wait for its `proxy_done`), and `PAUSE` at each
//! pause point of the lifecycle, where the `paused` grant holds until the
//! stream is resumed. The body callbacks' two chunks give both sides of
//! the `when end_of_stream` grants, and a probe of its own sends a local
//! response, the one call a `before` rule allows, from the first stream
//! callback.
//!
//! Two integration probes record which start functions the host ran, in
//! what order (`_initialize` then `main`, or `_start` alone): the
//! description's load order, a clarification.
//!
//! A case runs in a callback where the same call with all-valid arguments
//! is permitted (its *home*), so only the argument under test can make it
//! fail. Whether an expectation is the specification's text or this
//! project's reading comes from the description too ([`provenance`]).

use proxy_wasm_abi_spec::ir::{
    AbiVersion, AccessLevel, AccessRule, Function, Note, NoteKind, Place, StatusRole, Type, Variant,
};
use proxy_wasm_abi_spec::lower::{ParamClass, Scalar, Shape, ValueKind, lower_param_typed};
use serde::{Deserialize, Serialize};

/// Where an expected answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// The specification's text lists this status for this condition.
    Spec,
    /// The specification is silent; the description's
    /// `@note(clarification)` gives this answer.
    Clarification,
    /// The specification's text says otherwise and the description's
    /// `@note(erratum)` corrects it.
    Erratum,
}

impl Provenance {
    /// `spec`, `clarification` or `erratum`.
    pub fn keyword(self) -> &'static str {
        match self {
            Provenance::Spec => "spec",
            Provenance::Clarification => "clarification",
            Provenance::Erratum => "erratum",
        }
    }
}

/// What a case provokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An address whose extent ends past the memory.
    OutOfBounds,
    /// An address plus its extent wraps past 2^32.
    Wrapping,
    /// A valid address with a length reaching past the memory.
    LengthOutOfBounds,
    /// An iovec table in bounds with an entry out of bounds.
    EntryOutOfBounds,
    /// A value the parameter's enum lacks.
    UnknownEnum,
    /// A `string` argument that is not UTF-8.
    NonUtf8,
    /// A `map` argument that is not a valid serialized map.
    MalformedMap,
    /// A call from a callback where the access rules grant it nowhere.
    Forbidden,
    /// A read from a callback where the access rules surely grant it.
    Granted,
    /// A key, name or path the host does not hold.
    MissingKey,
    /// An id (metric, queue, gRPC call, context, upstream) the host never
    /// handed out.
    UnknownId,
    /// A dequeue from a queue the probe registered and never filled.
    EmptyQueue,
    /// A shared-data write with a compare-and-swap value gone stale.
    CasMismatch,
    /// A call that returns data while the plugin's allocator answers 0.
    AllocatorFailure,
    /// Which allocator the host hands returned data out of when the probe
    /// exports both `@role(allocator)` and `@role(legacy_allocator)`, or
    /// only the latter.
    AllocatorChoice,
    /// A callback answer the host must accept, and the call that follows
    /// from it (`proxy_on_done` answering `false`, then `proxy_done`, for
    /// a stream and for the root context at the plugin's shutdown;
    /// `PAUSE`, then resuming the request).
    CallbackResult,
    /// The order the host runs the module's start functions in.
    Integration,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 17] = [
        Kind::OutOfBounds,
        Kind::Wrapping,
        Kind::LengthOutOfBounds,
        Kind::EntryOutOfBounds,
        Kind::UnknownEnum,
        Kind::NonUtf8,
        Kind::MalformedMap,
        Kind::Forbidden,
        Kind::Granted,
        Kind::MissingKey,
        Kind::UnknownId,
        Kind::EmptyQueue,
        Kind::CasMismatch,
        Kind::AllocatorFailure,
        Kind::AllocatorChoice,
        Kind::CallbackResult,
        Kind::Integration,
    ];

    /// The keyword used in ids, manifests and reports.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::OutOfBounds => "out_of_bounds",
            Kind::Wrapping => "wrapping",
            Kind::LengthOutOfBounds => "length_out_of_bounds",
            Kind::EntryOutOfBounds => "entry_out_of_bounds",
            Kind::UnknownEnum => "unknown_enum",
            Kind::NonUtf8 => "non_utf8",
            Kind::MalformedMap => "malformed_map",
            Kind::Forbidden => "forbidden",
            Kind::Granted => "granted",
            Kind::MissingKey => "missing_key",
            Kind::UnknownId => "unknown_id",
            Kind::EmptyQueue => "empty_queue",
            Kind::CasMismatch => "cas_mismatch",
            Kind::AllocatorFailure => "allocator_failure",
            Kind::AllocatorChoice => "allocator_choice",
            Kind::CallbackResult => "callback_result",
            Kind::Integration => "integration",
        }
    }

    /// What a case of this kind does, in a sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::OutOfBounds => "an address whose extent ends past the memory",
            Kind::Wrapping => "an address whose extent wraps past 2^32",
            Kind::LengthOutOfBounds => "a valid address near the end with a small length past it",
            Kind::EntryOutOfBounds => "an iovec entry out of bounds",
            Kind::UnknownEnum => "an enum value the enum lacks",
            Kind::NonUtf8 => "text that is not UTF-8",
            Kind::MalformedMap => "a malformed serialized map",
            Kind::Forbidden => "a call from a callback the access rules exclude",
            Kind::Granted => "a read from a callback the access rules surely allow",
            Kind::MissingKey => "a key, name or path the host does not hold",
            Kind::UnknownId => "an id the host never handed out",
            Kind::EmptyQueue => "a dequeue from an empty queue the probe registered",
            Kind::CasMismatch => "a shared-data write with a stale compare-and-swap value",
            Kind::AllocatorFailure => "returned data while the plugin's allocator answers 0",
            Kind::AllocatorChoice => {
                "which exported allocator returned data lands in (0 the allocator's region, 1 the legacy allocator's, 2 neither)"
            }
            Kind::CallbackResult => {
                "proxy_done with and without proxy_on_done having answered false, for a stream and for the root at shutdown; a paused stream resumed"
            }
            Kind::Integration => {
                "the start functions the host runs, in order, before the first callback"
            }
        }
    }

    /// The probe plugin that runs cases of this kind: a host that traps on
    /// one kind loses only that probe's later cases.
    pub fn probe(self) -> &'static str {
        match self {
            Kind::OutOfBounds
            | Kind::Wrapping
            | Kind::LengthOutOfBounds
            | Kind::EntryOutOfBounds => "memory",
            Kind::UnknownEnum | Kind::NonUtf8 | Kind::MalformedMap => "arguments",
            Kind::Forbidden | Kind::Granted => "access",
            Kind::MissingKey | Kind::UnknownId | Kind::EmptyQueue | Kind::CasMismatch => "state",
            Kind::AllocatorFailure => ALLOCATOR_PROBE,
            Kind::AllocatorChoice => BOTH_ALLOCATORS_PROBE,
            Kind::CallbackResult => RESULTS_PROBE,
            Kind::Integration => INTEGRATION_PROBE,
        }
    }
}

/// A piece of data the probe holds in its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Data {
    /// Valid UTF-8 text.
    Text,
    /// Valid bytes.
    Bytes,
    /// A valid serialized map (an HTTP call's headers).
    Map,
    /// A valid property path.
    Path,
    /// A valid iovec table of one entry, over [`Data::Bytes`].
    Iovecs,
    /// Bytes that are not UTF-8.
    NonUtf8,
    /// An iovec table of one entry whose buffer lies past the memory.
    IovecsBadEntry,
    /// The last [`TAIL`] bytes of the memory (one valid iovec entry, over
    /// [`Data::Bytes`]): a valid address from which [`TAIL_LEN`] bytes, or
    /// [`TAIL_ENTRIES`] iovecs, reach just past the end.
    Tail,
    /// A malformed serialized map, one of [`MALFORMED_MAPS`].
    MalformedMap(usize),
    /// Text of the state cases (a key, a queue name), one of [`NAMES`].
    Named(&'static str),
}

/// The text the state cases name keys, queues and paths with; none is
/// anything a host holds unless the probe puts it there.
pub const NAMES: [&str; 7] = [
    MISSING,
    CAS_KEY,
    EMPTY_QUEUE,
    "conformance_missing",
    ":path",
    ALLOCATOR_KEY,
    READY_QUEUE,
];
/// The probe whose `proxy_on_done` answers `false` ([`DEFERS_DONE`]).
pub const RESULTS_PROBE: &str = "results";
/// The callback that answers `false` in the results probe: the host must
/// then wait for `proxy_done`.
pub const DEFERS_DONE: &str = "proxy_on_done";
/// The callback of the standard lifecycle after [`DEFERS_DONE`], where the
/// results probe calls `proxy_done`.
pub const AFTER_DONE: &str = "proxy_on_log";
/// The host function that finishes a context whose `proxy_on_done`
/// answered `false`.
pub const DONE_FUNCTION: &str = "proxy_done";
/// The probes that export start functions: `integration` exports
/// `_initialize`, `main` and `_start`, `integration_start` only `_start`.
pub const INTEGRATION_PROBE: &str = "integration";
/// See [`INTEGRATION_PROBE`].
pub const START_ONLY_PROBE: &str = "integration_start";
/// The probe whose allocator always answers 0 (failure).
pub const ALLOCATOR_PROBE: &str = "allocator";
/// The probe exporting both `@role(allocator)` and
/// `@role(legacy_allocator)`, each handing out its own region.
pub const BOTH_ALLOCATORS_PROBE: &str = "allocator_both";
/// The probe exporting only `@role(legacy_allocator)`.
pub const LEGACY_ALLOCATOR_PROBE: &str = "allocator_legacy";
/// The shared-data key the allocator cases read back.
pub const ALLOCATOR_KEY: &str = "conformance-allocator";
/// The queue the allocator cases fill and dequeue from.
pub const ALLOCATOR_QUEUE: &str = "conformance-allocator";
/// A key, name or upstream no host holds.
pub const MISSING: &str = "x-conformance-missing";
/// The shared-data key of the compare-and-swap case.
pub const CAS_KEY: &str = "conformance-cas";
/// The queue the empty-queue case registers.
pub const EMPTY_QUEUE: &str = "conformance-empty";
/// An id no host hands out first: metric, queue and gRPC ids and context
/// ids start low.
pub const UNKNOWN_ID: u32 = 0x7fff_fff0;

/// One wasm argument of a case's call, before the probe lays out its
/// memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A number, as itself.
    Value(u64),
    /// The address of a piece of data.
    DataAt(Data),
    /// The length of a piece of data (for iovecs, its entry count).
    DataLen(Data),
    /// The address of output slot `n` (8 bytes each).
    Slot(u32),
    /// The address of the probe's scratch area (for buffers the host fills
    /// and raw pointers).
    Scratch,
    /// The memory size plus this offset.
    End(i64),
    /// The `u32` an earlier call of the case wrote into output slot `n`.
    Loaded(u32),
}

/// A host call a case makes before its own call, to set up the state it
/// tests; its status is not reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupCall {
    /// The host function, qualified as [`Case::function`].
    pub function: String,
    /// Its wasm arguments.
    pub args: Vec<Arg>,
}

/// The length of a buffer argument (`random_get`).
pub const BUFFER_LEN: u32 = 16;
/// The size of [`Data::Tail`]: one iovec entry.
pub const TAIL: u32 = 8;
/// A length from [`Data::Tail`] that ends 8 bytes past the memory: far
/// below any limit a host puts on a length (so only `memory_fault` is
/// right, never the "larger than the host allows" status).
pub const TAIL_LEN: u32 = 2 * TAIL;
/// An iovec count from [`Data::Tail`] that ends one entry past the memory.
pub const TAIL_ENTRIES: u32 = 2;
/// An address near the top of the 32-bit space: with a length of
/// [`WRAP_LEN`] it wraps past 2^32.
pub const WRAP_AT: u32 = 0xffff_ff00;
/// See [`WRAP_AT`]; small enough to stay under every argument limit.
pub const WRAP_LEN: u32 = 0x200;

/// Serialized maps the format forbids: each name, and its bytes.
pub const MALFORMED_MAPS: [(&str, &[u8]); 5] = [
    // Not empty, yet shorter than the count.
    ("truncated_count", &[1, 0]),
    // A count of 2 with room for one pair's sizes.
    (
        "count_past_end",
        &[2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'a', 0, b'b', 0],
    ),
    // One pair whose key length reaches past the data.
    (
        "size_past_end",
        &[1, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, b'a', 0, b'b', 0],
    ),
    // One pair whose key is not followed by its NUL.
    (
        "missing_nul",
        &[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'a', b'x', b'b', 0],
    ),
    // One good pair followed by bytes that belong to nothing.
    (
        "trailing_bytes",
        &[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'a', 0, b'b', 0, 7, 7],
    ),
];

/// The answer a case expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// The status or errno value.
    pub value: u32,
    /// Its name, e.g. `INVALID_MEMORY_ACCESS`.
    pub name: String,
    /// Its enum, e.g. `proxy_status_t`.
    pub r#enum: String,
}

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Stable id: `function/what/kind`, e.g.
    /// `proxy_get_header_map_value/key_data/out_of_bounds`.
    pub id: String,
    /// The host function, qualified outside `env`
    /// (`wasi_snapshot_preview1.fd_write`).
    pub function: String,
    /// What the case provokes.
    pub kind: Kind,
    /// The callback the probe makes the call from.
    pub callback: String,
    /// The answer the description gives.
    pub expected: Expected,
    /// Whether that answer is the specification's text.
    pub provenance: Provenance,
    /// The description's words for it: the status's condition, or the note.
    pub basis: String,
    /// The call's wasm arguments, as the probe lays them out.
    #[serde(skip)]
    pub args: Vec<Arg>,
    /// The calls made first, in order (state cases).
    #[serde(skip)]
    pub setup: Vec<SetupCall>,
    /// The probe that runs it, when not its kind's.
    #[serde(skip)]
    pub own_probe: Option<&'static str>,
    /// Which run of its callback makes the call (left out for the first).
    #[serde(default, skip_serializing_if = "Stage::is_first")]
    pub stage: Stage,
}

/// Which run of a case's callback makes its call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The callback's first run.
    #[default]
    First,
    /// The first run of a body or data callback whose `end_of_stream` is
    /// this value: `false` for the first of the lifecycle's two chunks,
    /// `true` for the last.
    EndOfStream(bool),
    /// `proxy_on_tick` while the root context waits for `proxy_done`
    /// (its `proxy_on_done` answered `false` at the plugin's shutdown).
    RootWaiting,
    /// `proxy_on_tick` while the stream is paused at the results probe's
    /// pause point of this index ([`PAUSE_POINTS`]).
    Paused(u8),
    /// The first run of the callback for the root context (`proxy_on_log`,
    /// `proxy_on_delete` at the plugin's shutdown): the call reports how
    /// far the shutdown had got ([`ShutdownState`]).
    RootFinal,
}

impl Stage {
    /// Whether this is the callback's first run.
    pub fn is_first(&self) -> bool {
        *self == Stage::First
    }
}

/// How far the results probe's shutdown has got, as its `RootFinal`
/// cases report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownState {
    /// The root's `proxy_on_done` has not run.
    NotDone = 0,
    /// It answered `false`; the probe has not called `proxy_done` yet.
    Waiting = 1,
    /// The probe called `proxy_done` for the root.
    Finished = 2,
}

impl Case {
    /// The probe plugin that runs this case.
    pub fn probe(&self) -> &'static str {
        self.own_probe.unwrap_or_else(|| self.kind.probe())
    }
}

/// The callbacks of the standard lifecycle that cases run in, in the
/// order a case's home is chosen: the request first, where most calls are
/// permitted.
pub const HOMES: [&str; 16] = [
    "proxy_on_request_headers",
    "proxy_on_request_body",
    "proxy_on_response_headers",
    "proxy_on_response_body",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_http_call_response",
    "proxy_on_log",
    "proxy_on_done",
    "proxy_on_tick",
    "proxy_on_queue_ready",
    "proxy_on_new_connection",
    "proxy_on_downstream_data",
    "proxy_on_upstream_data",
    "proxy_on_downstream_connection_close",
    "proxy_on_upstream_connection_close",
];

/// The callbacks the access-rule matrix (granted and forbidden cases)
/// runs in: [`HOMES`], then the trailers callbacks, which only the
/// lifecycle's second HTTP stream reaches (no other case is homed there).
pub const ACCESS_CALLBACKS: [&str; 18] = [
    HOMES[0],
    HOMES[1],
    HOMES[2],
    HOMES[3],
    HOMES[4],
    HOMES[5],
    HOMES[6],
    HOMES[7],
    HOMES[8],
    HOMES[9],
    HOMES[10],
    HOMES[11],
    HOMES[12],
    HOMES[13],
    HOMES[14],
    HOMES[15],
    "proxy_on_request_trailers",
    "proxy_on_response_trailers",
];

/// The tick period the probes ask for in `proxy_on_configure`, so that
/// `proxy_on_tick` runs.
pub const TICK_PERIOD_MS: u32 = 1000;
/// The queue the probes register in `proxy_on_configure`; the host puts
/// one item on it so that `proxy_on_queue_ready` runs.
pub const READY_QUEUE: &str = "conformance-ready";
/// The host functions the probes call in `proxy_on_configure` to set up
/// the lifecycle (an HTTP call, the tick, the queue), with their
/// arguments, in order; each logs `conformance setup=<name> status=<n>`.
pub const SETUP_FUNCTIONS: [&str; 3] = [
    "proxy_http_call",
    "proxy_set_tick_period_milliseconds",
    "proxy_register_shared_queue",
];

/// The setup calls of [`SETUP_FUNCTIONS`] that `abi` has.
pub fn lifecycle_setup(abi: &AbiVersion) -> Vec<SetupCall> {
    let changes: [&[(&str, Set)]; 3] = [
        &[],
        &[("tick_period", Set::Value(TICK_PERIOD_MS))],
        &[("name", Set::Text(READY_QUEUE))],
    ];
    SETUP_FUNCTIONS
        .iter()
        .zip(changes)
        .filter_map(|(function, changes)| {
            let f = abi.host_functions().find(|f| f.name == *function)?;
            with_changes(abi, f, &[], changes)
        })
        .collect()
}

/// The callback `Before(X)` grants hold in for sure: the first stream
/// callback of the lifecycle.
const FIRST_STREAM_CALLBACK: &str = "proxy_on_request_headers";

/// Whether `note` names `status` as its answer where the specification
/// gives none ("lists no status", "names no status", "lists only").
fn disclaims(note: &Note, status: &str) -> bool {
    let names = note
        .text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word == status);
    names && (note.text.contains("no status") || note.text.contains("lists only"))
}

/// Where the description's answer `status` of `f` comes from, with the
/// words that say so. `extra` are further notes that bear on the case
/// (the status value's own, the access rules').
pub fn provenance(f: &Function, status: &Variant, extra: &[&Note]) -> (Provenance, String) {
    let notes = f.meta.notes.iter().chain(extra.iter().copied());
    let outcome = f
        .outcomes
        .iter()
        .find(|o| o.value.name() == status.name.as_str());
    for note in notes.filter(|n| disclaims(n, &status.name)) {
        match note.kind {
            NoteKind::Erratum => return (Provenance::Erratum, note.text.clone()),
            NoteKind::Clarification => return (Provenance::Clarification, note.text.clone()),
            NoteKind::Implementation => {}
        }
    }
    match outcome {
        Some(o) => (Provenance::Spec, o.text.clone()),
        None => (
            Provenance::Clarification,
            format!(
                "the description does not list {} for {}",
                status.name, f.name
            ),
        ),
    }
}

/// The result enum's value with `role`, if the function returns an enum
/// that has one.
fn with_role<'a>(abi: &'a AbiVersion, f: &Function, role: StatusRole) -> Option<&'a Variant> {
    let Type::Enum(e) = &f.result.as_ref()?.ty else {
        return None;
    };
    abi.enum_def(e)?.with_role(role)
}

fn expected(abi: &AbiVersion, v: &Variant) -> Expected {
    let owner = abi
        .enums
        .iter()
        .find(|e| e.variants.iter().any(|x| std::ptr::eq(x, v)))
        .map_or_else(String::new, |e| e.name.clone());
    Expected {
        value: v.value,
        name: v.name.clone(),
        r#enum: owner,
    }
}

/// Whether a grant for `level` holds while `callback` runs in the
/// standard lifecycle, where the probe never pauses a stream: `surely`,
/// only an `in` place without condition, or a `before` place in the first
/// stream callback; otherwise a `before` place or a `when` condition
/// counts as "may hold" (the case generator only asserts what is certain).
fn holds(rule: Option<&AccessRule>, level: AccessLevel, callback: &str, surely: bool) -> bool {
    let Some(rule) = rule else { return false };
    rule.grants
        .iter()
        .filter(|g| g.level.grants(level))
        .any(|g| {
            g.places.iter().any(|p| match p {
                Place::In(c) => c == callback && (!surely || g.when.is_none()),
                Place::Paused(_) => false,
                Place::Before(x) => !surely || (callback == FIRST_STREAM_CALLBACK && x != callback),
            })
        })
}

fn could_hold(rule: Option<&AccessRule>, level: AccessLevel, callback: &str) -> bool {
    holds(rule, level, callback, false)
}

fn surely_holds(rule: Option<&AccessRule>, level: AccessLevel, callback: &str) -> bool {
    holds(rule, level, callback, true)
}

/// The access restrictions on `f`: per selector parameter (its index) its
/// enum and level, and the function's own rule.
struct Restrictions<'a> {
    selectors: Vec<(usize, &'a str, AccessLevel)>,
    own: Option<&'a AccessRule>,
}

fn restrictions<'a>(abi: &'a AbiVersion, f: &'a Function) -> Restrictions<'a> {
    let selectors = f
        .params
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match (&p.ty, p.access) {
            (Type::Enum(e), Some(level)) => Some((i, e.name(), level)),
            _ => None,
        })
        .collect();
    Restrictions {
        selectors,
        own: abi.function_rule(&f.name),
    }
}

/// The callback to run `f`'s cases in, and the selector values that make
/// the call permitted there (by parameter index); `None` if the standard
/// lifecycle has no such callback.
fn home(abi: &AbiVersion, f: &Function) -> Option<(&'static str, Vec<(usize, u32)>)> {
    let r = restrictions(abi, f);
    'callbacks: for callback in HOMES {
        if abi.callbacks().all(|c| c.name != callback) {
            continue;
        }
        if r.own.is_some() && !surely_holds(r.own, AccessLevel::Call, callback) {
            continue;
        }
        let mut chosen = Vec::new();
        for (i, e, level) in &r.selectors {
            let en = abi.enum_named(e)?;
            let value = en
                .variants
                .iter()
                .find(|v| surely_holds(abi.variant_rule(e, &v.name), *level, callback));
            match value {
                Some(v) => chosen.push((*i, v.value)),
                None => continue 'callbacks,
            }
        }
        return Some((callback, chosen));
    }
    None
}

/// A valid value of each scalar kind, for the arguments not under test.
fn valid_scalar(abi: &AbiVersion, s: &Scalar) -> u64 {
    match s {
        Scalar::U32 => 200,
        Scalar::Usize => 8,
        Scalar::U64 | Scalar::I64 => 1,
        Scalar::Bool | Scalar::Context => 0,
        Scalar::Enum(e) => abi
            .enum_named(e)
            .and_then(|en| en.variants.first())
            .map_or(0, |v| u64::from(v.value)),
    }
}

/// The valid data for an input of `shape`.
fn valid_data(shape: Shape) -> Data {
    match shape {
        Shape::Bytes => Data::Bytes,
        Shape::String => Data::Text,
        Shape::Map => Data::Map,
        Shape::Path => Data::Path,
        Shape::Iovecs => Data::Iovecs,
    }
}

/// `f` called with valid arguments everywhere (selectors as `selected`),
/// and per semantic parameter the index of its first wasm argument.
pub fn valid_call(
    abi: &AbiVersion,
    f: &Function,
    selected: &[(usize, u32)],
) -> (Vec<Arg>, Vec<usize>) {
    let mut args = Vec::new();
    let mut at = Vec::new();
    let mut slot = 0;
    let mut next_slot = || {
        slot += 1;
        Arg::Slot(slot - 1)
    };
    for (i, p) in f.params.iter().enumerate() {
        at.push(args.len());
        match lower_param_typed(p).class {
            ParamClass::Scalar(s) => {
                let chosen = selected.iter().find(|(j, _)| *j == i).map(|(_, v)| *v);
                args.push(Arg::Value(
                    chosen.map_or_else(|| valid_scalar(abi, &s), u64::from),
                ));
            }
            ParamClass::RawPointer { .. } => args.push(Arg::Scratch),
            ParamClass::Input(shape) => {
                let d = valid_data(shape);
                args.extend([Arg::DataAt(d), Arg::DataLen(d)]);
            }
            ParamClass::Buffer => args.extend([Arg::Scratch, Arg::Value(BUFFER_LEN.into())]),
            ParamClass::Out(_) => args.push(next_slot()),
            ParamClass::HostAllocated(_) => {
                let (a, b) = (next_slot(), next_slot());
                args.extend([a, b]);
            }
        }
    }
    (args, at)
}

/// Every case of `abi`, in description order of the functions.
pub fn cases(abi: &AbiVersion) -> Vec<Case> {
    let mut out = Vec::new();
    for f in abi.host_functions().filter(|f| !f.is_marker) {
        let Some((callback, selected)) = home(abi, f) else {
            continue;
        };
        let (valid, at) = valid_call(abi, f, &selected);
        let push = |out: &mut Vec<Case>,
                    id: String,
                    kind: Kind,
                    status: &Variant,
                    extra: &[&Note],
                    args: Vec<Arg>| {
            let (provenance, basis) = provenance(f, status, extra);
            out.push(Case {
                id: format!("{}/{id}", f.name),
                function: f.qualified_name(),
                kind,
                callback: callback.to_string(),
                expected: expected(abi, status),
                provenance,
                basis,
                args,
                setup: Vec::new(),
                own_probe: None,
                stage: Stage::First,
            });
        };
        let with = |changes: &[(usize, Arg)]| {
            let mut args = valid.clone();
            for (i, a) in changes {
                args[*i] = *a;
            }
            args
        };
        let fault = with_role(abi, f, StatusRole::MemoryFault);
        let bad = with_role(abi, f, StatusRole::BadArgument);
        for (i, p) in f.params.iter().enumerate() {
            let lowered = lower_param_typed(p);
            let first = at[i];
            let names: Vec<&str> = lowered.values.iter().map(|v| v.name.as_str()).collect();
            if let Some(fault) = fault {
                for (k, value) in lowered.values.iter().enumerate() {
                    let n = first + k;
                    let name = names[k];
                    let mut case = |kind: Kind, changes: &[(usize, Arg)]| {
                        push(
                            &mut out,
                            format!("{name}/{}", kind.keyword()),
                            kind,
                            fault,
                            &[],
                            with(changes),
                        );
                    };
                    match &value.kind {
                        ValueKind::ConstAddress | ValueKind::MutAddress => {
                            case(Kind::OutOfBounds, &[(n, Arg::End(0))]);
                            case(
                                Kind::Wrapping,
                                &[
                                    (n, Arg::Value(WRAP_AT.into())),
                                    (n + 1, Arg::Value(WRAP_LEN.into())),
                                ],
                            );
                        }
                        ValueKind::Length if k > 0 => {
                            // From a valid address [`TAIL`] bytes before
                            // the end, a small length that reaches just
                            // past it: within every host's limits (a
                            // length past them may rightly answer the
                            // "too large" status instead), so only the
                            // memory fault is right.
                            let len = if lowered.class == ParamClass::Input(Shape::Iovecs) {
                                TAIL_ENTRIES
                            } else {
                                TAIL_LEN
                            };
                            case(
                                Kind::LengthOutOfBounds,
                                &[
                                    (n - 1, Arg::DataAt(Data::Tail)),
                                    (n, Arg::Value(len.into())),
                                ],
                            );
                        }
                        ValueKind::Length => {}
                        ValueKind::OutSlot(_)
                        | ValueKind::OutData { .. }
                        | ValueKind::OutLength => {
                            case(Kind::OutOfBounds, &[(n, Arg::End(-2))]);
                            case(Kind::Wrapping, &[(n, Arg::Value(0xffff_fffe))]);
                        }
                        ValueKind::RawPointer(_) => case(Kind::OutOfBounds, &[(n, Arg::End(1))]),
                        ValueKind::Scalar(_) => {}
                    }
                }
                if lowered.class == ParamClass::Input(Shape::Iovecs) {
                    let d = Data::IovecsBadEntry;
                    let kind = Kind::EntryOutOfBounds;
                    let args = with(&[(first, Arg::DataAt(d)), (first + 1, Arg::DataLen(d))]);
                    push(
                        &mut out,
                        format!("{}/{}", names[0], kind.keyword()),
                        kind,
                        fault,
                        &[],
                        args,
                    );
                }
            }
            let Some(bad) = bad else { continue };
            let bad_notes: Vec<&Note> = bad.meta.notes.iter().collect();
            match &lowered.class {
                ParamClass::Scalar(Scalar::Enum(e)) => {
                    let Some(en) = abi.enum_named(e) else {
                        continue;
                    };
                    let status = p
                        .on_invalid
                        .as_ref()
                        .and_then(|v| abi.variant_def(v))
                        .unwrap_or(bad);
                    let known: Vec<u32> = en.variants.iter().map(|v| v.value).collect();
                    let gap = (0..).find(|v| !known.contains(v)).unwrap_or(u32::MAX);
                    let mut unknown = vec![gap];
                    if gap != u32::MAX {
                        unknown.push(u32::MAX);
                    }
                    for v in unknown {
                        let kind = Kind::UnknownEnum;
                        let args = with(&[(first, Arg::Value(v.into()))]);
                        push(
                            &mut out,
                            format!("{}/unknown_{v}", names[0]),
                            kind,
                            status,
                            &[],
                            args,
                        );
                    }
                }
                ParamClass::Input(Shape::String) => {
                    let d = Data::NonUtf8;
                    let args = with(&[(first, Arg::DataAt(d)), (first + 1, Arg::DataLen(d))]);
                    let kind = Kind::NonUtf8;
                    push(
                        &mut out,
                        format!("{}/{}", names[0], kind.keyword()),
                        kind,
                        bad,
                        &bad_notes,
                        args,
                    );
                }
                ParamClass::Input(Shape::Map) => {
                    for (m, (name, _)) in MALFORMED_MAPS.iter().enumerate() {
                        let d = Data::MalformedMap(m);
                        let args = with(&[(first, Arg::DataAt(d)), (first + 1, Arg::DataLen(d))]);
                        let kind = Kind::MalformedMap;
                        push(
                            &mut out,
                            format!("{}/malformed_{name}", names[0]),
                            kind,
                            bad,
                            &bad_notes,
                            args,
                        );
                    }
                }
                _ => {}
            }
        }
        forbidden_cases(abi, f, &mut out);
        granted_cases(abi, f, &mut out);
    }
    state_cases(abi, &mut out);
    allocator_cases(abi, &mut out);
    allocator_choice_cases(abi, &mut out);
    end_of_stream_cases(abi, &mut out);
    results_cases(abi, &mut out);
    shutdown_cases(abi, &mut out);
    before_cases(abi, &mut out);
    integration_cases(abi, &mut out);
    out
}

/// The probe whose request sends a local response from its first stream
/// callback (the call ends the request, so no other probe makes it).
pub const LOCAL_RESPONSE_PROBE: &str = "local_response";
/// The callback of the standard lifecycle that surely runs after the
/// response headers went downstream: the stream's `proxy_on_log`.
const AFTER_RESPONSE: &str = "proxy_on_log";

/// Both sides of the `call before <callback>` rules
/// (`proxy_send_local_response`): the valid call from the first stream
/// callback, where the stream has not got past any callback yet, expects
/// success (in [`LOCAL_RESPONSE_PROBE`], since it ends the request); from
/// the stream's `proxy_on_log`, after the response headers returned
/// `CONTINUE`, it expects the `@forbidden` status (in the access probe:
/// the request is over, so a host that lets it through cuts nothing).
fn before_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    let has = |name: &str| abi.callbacks().any(|c| c.name == name);
    for f in abi.host_functions().filter(|f| !f.is_marker) {
        let Some(rule) = abi.function_rule(&f.name) else {
            continue;
        };
        let calls: Vec<&Place> = rule
            .grants
            .iter()
            .filter(|g| g.level.grants(AccessLevel::Call))
            .flat_map(|g| &g.places)
            .collect();
        // Only a rule made of `before` places, each a callback the
        // lifecycle passes before the stream's `proxy_on_log`.
        let before: Vec<&str> = calls
            .iter()
            .filter_map(|p| match p {
                Place::Before(x) => Some(x.as_str()),
                _ => None,
            })
            .collect();
        if before.is_empty()
            || before.len() != calls.len()
            || !has(FIRST_STREAM_CALLBACK)
            || !has(AFTER_RESPONSE)
            || before
                .iter()
                .any(|x| !HOMES.contains(x) || !has(x) || *x == AFTER_RESPONSE)
        {
            continue;
        }
        let (args, _) = valid_call(abi, f, &[]);
        let mut notes: Vec<&Note> = abi.access_meta.notes.iter().collect();
        notes.extend(rule.meta.notes.iter());
        let places = before.join(", ");
        if let Some(success) = with_role(abi, f, StatusRole::Success) {
            let (provenance, basis) = provenance(f, success, &[]);
            let kind = Kind::Granted;
            out.push(Case {
                id: format!(
                    "{}/before/in_{FIRST_STREAM_CALLBACK}/{}",
                    f.name,
                    kind.keyword()
                ),
                function: f.qualified_name(),
                kind,
                callback: FIRST_STREAM_CALLBACK.to_string(),
                expected: expected(abi, success),
                provenance,
                basis: format!(
                    "{basis} Granted before {places}: the stream's first callback runs before it."
                ),
                args: args.clone(),
                setup: Vec::new(),
                own_probe: Some(LOCAL_RESPONSE_PROBE),
                stage: Stage::First,
            });
        }
        if let Some(forbidden) = f.forbidden.as_ref().and_then(|v| abi.variant_def(v)) {
            let (provenance, basis) = provenance(f, forbidden, &notes);
            out.push(Case {
                id: format!("{}/after/in_{AFTER_RESPONSE}", f.name),
                function: f.qualified_name(),
                kind: Kind::Forbidden,
                callback: AFTER_RESPONSE.to_string(),
                expected: expected(abi, forbidden),
                provenance,
                basis: format!(
                    "{basis} Granted only before {places}; the stream's {AFTER_RESPONSE} runs after the response headers answered CONTINUE."
                ),
                args,
                setup: Vec::new(),
                own_probe: None,
                stage: Stage::First,
            });
        }
    }
}

/// The callback that fires while the root context waits for
/// `proxy_done` at the plugin's shutdown (the timer keeps running); the
/// results probe calls `proxy_done` there.
pub const ROOT_WAITS_IN: &str = "proxy_on_tick";
/// The callbacks that end the root context, after it is done.
pub const ROOT_FINAL: [&str; 2] = ["proxy_on_log", "proxy_on_delete"];

/// The plugin's shutdown, in the results probe: the root's
/// `proxy_on_done` answers `false`; while it waits, the next tick calls
/// `proxy_done`, which answers success; only then may the host run
/// `proxy_on_log` and `proxy_on_delete` for the root, which report how far
/// the shutdown had got ([`ShutdownState::Finished`] expected).
fn shutdown_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    let Some(f) = abi.host_functions().find(|f| f.name == DONE_FUNCTION) else {
        return;
    };
    let Some(on_done) = abi.callbacks().find(|c| c.name == DEFERS_DONE) else {
        return;
    };
    if abi.callbacks().all(|c| c.name != ROOT_WAITS_IN) {
        return;
    }
    let (Some(success), Some((_, made))) = (
        with_role(abi, f, StatusRole::Success),
        recipe_call(abi, &(DONE_FUNCTION, &[])),
    ) else {
        return;
    };
    let kind = Kind::CallbackResult;
    let (provenance, basis) = provenance(f, success, &[]);
    out.push(Case {
        id: format!("{}/root_after_done_false/{}", f.name, kind.keyword()),
        function: f.qualified_name(),
        kind,
        callback: ROOT_WAITS_IN.to_string(),
        expected: expected(abi, success),
        provenance,
        basis: format!(
            "{basis} Called from {ROOT_WAITS_IN} while the root context waits, its {DEFERS_DONE} having answered false at the plugin's shutdown."
        ),
        args: made.args,
        setup: Vec::new(),
        own_probe: Some(RESULTS_PROBE),
        stage: Stage::RootWaiting,
    });
    let waits = on_done
        .outcomes
        .iter()
        .find(|o| o.value.name() == "false")
        .map_or_else(String::new, |o| o.text.clone());
    for name in ROOT_FINAL {
        let Some(cb) = abi.callbacks().find(|c| c.name == name) else {
            continue;
        };
        out.push(Case {
            id: format!("{name}/root_after_proxy_done/{}", kind.keyword()),
            function: name.to_string(),
            kind,
            callback: name.to_string(),
            expected: Expected {
                value: ShutdownState::Finished as u32,
                name: format!("after {}", f.name),
                r#enum: "root shutdown (0 proxy_on_done not run, 1 waiting for proxy_done, 2 proxy_done called)".to_string(),
            },
            provenance: Provenance::Spec,
            basis: format!(
                "{} {DEFERS_DONE} answering false: {waits}. The root context runs it only after {}.",
                cb.meta.docs.trim().replace('\n', " "),
                f.name
            ),
            args: Vec::new(),
            setup: Vec::new(),
            own_probe: Some(RESULTS_PROBE),
            stage: Stage::RootFinal,
        });
    }
}

/// The load order: the integration probes' start functions each append
/// a digit (1 `_initialize`, 2 `main`, 3 `_start`) to a number the first
/// callback, `proxy_on_vm_start`, reports. With `_initialize` exported the
/// host runs it, then `main`, and not `_start` (12); with `_start` alone,
/// `_start` (3). The description states the order in a clarification.
fn integration_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    use proxy_wasm_abi_spec::ir::FunctionRole;
    let by_role = |role: FunctionRole| abi.callbacks().find(|c| c.role == Some(role));
    let (Some(init), Some(main), Some(start)) = (
        by_role(FunctionRole::Initialize),
        by_role(FunctionRole::Main),
        by_role(FunctionRole::Start),
    ) else {
        return;
    };
    if abi.callbacks().all(|c| c.name != "proxy_on_vm_start") {
        return;
    }
    let note = main
        .meta
        .notes
        .iter()
        .chain(&init.meta.notes)
        .find(|n| n.kind == NoteKind::Clarification)
        .map_or_else(|| init.meta.docs.clone(), |n| n.text.clone());
    let provenance = if main
        .meta
        .notes
        .iter()
        .chain(&init.meta.notes)
        .any(|n| n.kind == NoteKind::Clarification)
    {
        Provenance::Clarification
    } else {
        Provenance::Spec
    };
    for (id, value, name, probe) in [
        (
            "initialize_then_main",
            12,
            format!("{}, then {}, not {}", init.name, main.name, start.name),
            INTEGRATION_PROBE,
        ),
        (
            "start_alone",
            3,
            format!("{} alone", start.name),
            START_ONLY_PROBE,
        ),
    ] {
        let kind = Kind::Integration;
        out.push(Case {
            id: format!("{}/{id}/{}", init.name, kind.keyword()),
            function: init.name.clone(),
            kind,
            callback: "proxy_on_vm_start".to_string(),
            expected: Expected {
                value,
                name,
                r#enum: "load order (1 _initialize, 2 main, 3 _start)".to_string(),
            },
            provenance,
            basis: note.clone(),
            args: Vec::new(),
            setup: Vec::new(),
            own_probe: Some(probe),
            stage: Stage::First,
        });
    }
}

/// Callback results the host must accept: in the results probe,
/// `proxy_on_done` answers `false`; `proxy_done` from the first stream
/// callback, when nothing waits, answers what the description gives for
/// "not waiting", and from the callback after `proxy_on_done` the
/// success status.
fn results_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    let Some(f) = abi.host_functions().find(|f| f.name == DONE_FUNCTION) else {
        return;
    };
    if abi.callbacks().all(|c| c.name != DEFERS_DONE) {
        return;
    }
    let Some((home, made)) = recipe_call(abi, &(DONE_FUNCTION, &[])) else {
        return;
    };
    let success = with_role(abi, f, StatusRole::Success);
    // The status the description lists besides success: not waiting.
    let waiting = f.outcomes.iter().find_map(|o| {
        let v = with_status(abi, f, o.value.name())?;
        (v.role != Some(StatusRole::Success)).then_some(v)
    });
    let kind = Kind::CallbackResult;
    for (name, callback, status) in [
        ("not_waiting", home, waiting),
        ("after_done_false", AFTER_DONE, success),
    ] {
        let Some(status) = status else { continue };
        let (provenance, basis) = provenance(f, status, &[]);
        out.push(Case {
            id: format!("{}/{name}/{}", f.name, kind.keyword()),
            function: f.qualified_name(),
            kind,
            callback: callback.to_string(),
            expected: expected(abi, status),
            provenance,
            basis,
            args: made.args.clone(),
            setup: Vec::new(),
            own_probe: None,
            stage: Stage::First,
        });
    }
    pause_case(abi, out);
}

/// The callback that answers the pause value first in the results probe.
pub const PAUSES: &str = "proxy_on_request_headers";
/// The callback the results probe resumes a paused stream from, the first
/// time it runs while the stream waits.
pub const RESUMES_IN: &str = "proxy_on_tick";
/// The output slot the results probe keeps the paused stream's context id
/// in.
pub const STREAM_SLOT: u32 = 7;

/// Where the results probe pauses, in lifecycle order: the callback, and
/// whether it pauses only the call that ends the stream (a body or data
/// callback: the host buffers earlier chunks and waits only at the last);
/// the stream type that resumes it and 0.1.0's function for it; and the
/// read made while it waits, from [`RESUMES_IN`] after switching to the
/// stream: a host function whose selector picks the map or buffer the
/// `paused <callback>` grant covers.
pub struct PausePoint {
    /// The callback that answers the pause value.
    pub callback: &'static str,
    /// Whether only its call with `end_of_stream` true pauses.
    pub at_end: bool,
    /// The stream type `proxy_continue_stream` resumes it with.
    pub stream: &'static str,
    /// The function that resumes it before `proxy_continue_stream`.
    pub legacy_resume: Option<&'static str>,
    /// The call made while paused, its selector parameter and value.
    pub grant: (&'static str, &'static str, &'static str),
}

/// The results probe's pauses. Each pauses once: the trailers ones in
/// the lifecycle's second HTTP stream, the only one with trailers, whose
/// headers and bodies (which do not end it) go on.
pub const PAUSE_POINTS: [PausePoint; 8] = [
    PausePoint {
        callback: PAUSES,
        at_end: false,
        stream: "HTTP_REQUEST",
        legacy_resume: Some("proxy_continue_request"),
        grant: (
            "proxy_replace_header_map_value",
            "map_id",
            "HTTP_REQUEST_HEADERS",
        ),
    },
    PausePoint {
        callback: "proxy_on_request_body",
        at_end: true,
        stream: "HTTP_REQUEST",
        legacy_resume: Some("proxy_continue_request"),
        grant: ("proxy_get_buffer_status", "buffer_id", "HTTP_REQUEST_BODY"),
    },
    PausePoint {
        callback: "proxy_on_response_body",
        at_end: true,
        stream: "HTTP_RESPONSE",
        legacy_resume: Some("proxy_continue_response"),
        grant: ("proxy_get_buffer_status", "buffer_id", "HTTP_RESPONSE_BODY"),
    },
    PausePoint {
        callback: "proxy_on_downstream_data",
        at_end: true,
        stream: "DOWNSTREAM",
        legacy_resume: None,
        grant: ("proxy_get_buffer_status", "buffer_id", "DOWNSTREAM_DATA"),
    },
    PausePoint {
        callback: "proxy_on_upstream_data",
        at_end: true,
        stream: "UPSTREAM",
        legacy_resume: None,
        grant: ("proxy_get_buffer_status", "buffer_id", "UPSTREAM_DATA"),
    },
    // Last, so that the others keep their numbers.
    PausePoint {
        callback: "proxy_on_response_headers",
        at_end: false,
        stream: "HTTP_RESPONSE",
        legacy_resume: Some("proxy_continue_response"),
        grant: (
            "proxy_replace_header_map_value",
            "map_id",
            "HTTP_RESPONSE_HEADERS",
        ),
    },
    // In the stream with trailers, after those above.
    PausePoint {
        callback: "proxy_on_request_trailers",
        at_end: false,
        stream: "HTTP_REQUEST",
        legacy_resume: Some("proxy_continue_request"),
        grant: (
            "proxy_replace_header_map_value",
            "map_id",
            "HTTP_REQUEST_TRAILERS",
        ),
    },
    PausePoint {
        callback: "proxy_on_response_trailers",
        at_end: false,
        stream: "HTTP_RESPONSE",
        legacy_resume: Some("proxy_continue_response"),
        grant: (
            "proxy_replace_header_map_value",
            "map_id",
            "HTTP_RESPONSE_TRAILERS",
        ),
    },
];

/// The pauses the host must accept: at each of [`PAUSE_POINTS`] the
/// version can resume, the results probe's callback answers the action
/// enum's `@role(pause)` value; from the next tick the probe switches to
/// the stream's context, makes the point's read (the `paused` grant holds
/// only then, so the probe's own pause makes it certain) and resumes the
/// stream, which answers success. Their cases run at
/// [`Stage::Paused`] with the point's index.
fn pause_case(abi: &AbiVersion, out: &mut Vec<Case>) {
    if abi.callbacks().all(|c| c.name != RESUMES_IN) {
        return;
    }
    let Some(switch) = abi
        .host_functions()
        .find(|f| f.name == "proxy_set_effective_context")
    else {
        return;
    };
    let Some(setup) = with_changes(
        abi,
        switch,
        &[],
        &[("context_id", Set::Loaded(STREAM_SLOT))],
    ) else {
        return;
    };
    for (k, point) in PAUSE_POINTS.iter().enumerate() {
        let stage = Stage::Paused(k as u8);
        let pauses = abi.callbacks().find(|c| c.name == point.callback);
        if pauses
            .and_then(|c| with_role(abi, c, StatusRole::Pause))
            .is_none()
        {
            continue;
        }
        let Some((resume, args, success, f)) = resume_call(abi, point) else {
            continue;
        };
        // While paused, before the resume: the `paused` grant.
        let (name, param, value) = point.grant;
        // The same call once the stream is resumed, in the same tick.
        let mut refusal = None;
        if let Some(g) = abi.host_functions().find(|f| f.name == name) {
            let selector = g.params.iter().position(|p| p.name == param);
            let level = selector.and_then(|i| g.params[i].access);
            let en = selector.and_then(|i| match &g.params[i].ty {
                Type::Enum(e) => abi.enum_named(e.name()),
                _ => None,
            });
            let v = en.and_then(|e| e.variant(value));
            let ok = with_role(abi, g, StatusRole::Success);
            if let (Some(i), Some(level), Some(en), Some(v), Some(ok)) =
                (selector, level, en, v, ok)
                && paused_grant_holds(abi, &en.name, value, level, point.callback)
            {
                let (args, _) = valid_call(abi, g, &[(i, v.value)]);
                let (provenance, basis) = provenance(g, ok, &[]);
                let kind = Kind::Granted;
                // The first point keeps the id it had before the others.
                let id = if k == 0 {
                    format!("{}/{value}/paused/{}", g.name, kind.keyword())
                } else {
                    format!(
                        "{}/{value}/paused_in_{}/{}",
                        g.name,
                        point.callback,
                        kind.keyword()
                    )
                };
                out.push(Case {
                    id,
                    function: g.qualified_name(),
                    kind,
                    callback: RESUMES_IN.to_string(),
                    expected: expected(abi, ok),
                    provenance,
                    basis: format!(
                        "{basis} Granted while the stream is paused in {}.",
                        point.callback
                    ),
                    args: args.clone(),
                    setup: vec![setup.clone()],
                    own_probe: Some(RESULTS_PROBE),
                    stage,
                });
                let rule = abi.variant_rule(&en.name, value);
                let forbidden = g.forbidden.as_ref().and_then(|v| abi.variant_def(v));
                if let Some(forbidden) = forbidden.filter(|_| !could_hold(rule, level, RESUMES_IN))
                {
                    let mut notes: Vec<&Note> = abi.access_meta.notes.iter().collect();
                    notes.extend(rule.iter().flat_map(|r| r.meta.notes.iter()));
                    let (provenance, basis) = self::provenance(g, forbidden, &notes);
                    refusal = Some(Case {
                        id: format!(
                            "{}/{param}={value}/resumed_from_{}/in_{RESUMES_IN}",
                            g.name, point.callback
                        ),
                        function: g.qualified_name(),
                        kind: Kind::Forbidden,
                        callback: RESUMES_IN.to_string(),
                        expected: expected(abi, forbidden),
                        provenance,
                        basis: format!(
                            "{basis} Called right after the stream paused in {} was resumed: the `paused` grant no longer holds.",
                            point.callback
                        ),
                        args,
                        setup: vec![setup.clone()],
                        own_probe: Some(RESULTS_PROBE),
                        stage,
                    });
                }
            }
        }
        let (provenance, basis) = provenance(f, success, &[]);
        let kind = Kind::CallbackResult;
        let id = if k == 0 {
            format!("{resume}/after_pause/{}", kind.keyword())
        } else {
            format!(
                "{resume}/after_pause_in_{}/{}",
                point.callback,
                kind.keyword()
            )
        };
        out.push(Case {
            id,
            function: f.qualified_name(),
            kind,
            callback: RESUMES_IN.to_string(),
            expected: expected(abi, success),
            provenance,
            basis,
            args,
            setup: vec![setup.clone()],
            own_probe: Some(RESULTS_PROBE),
            stage,
        });
        out.extend(refusal);
    }
}

/// The call that resumes `point`'s stream: `proxy_continue_stream` with
/// its stream type, or the older function; its name, arguments, success
/// status and function.
fn resume_call<'a>(
    abi: &'a AbiVersion,
    point: &PausePoint,
) -> Option<(&'static str, Vec<Arg>, &'a Variant, &'a Function)> {
    let stream = abi
        .host_functions()
        .find(|f| f.name == "proxy_continue_stream");
    if let Some(f) = stream {
        let i = f.params.iter().position(|p| p.name == "stream_type")?;
        let Type::Enum(e) = &f.params[i].ty else {
            return None;
        };
        let v = abi.enum_named(e.name())?.variant(point.stream)?;
        let (args, _) = valid_call(abi, f, &[(i, v.value)]);
        return Some((
            "proxy_continue_stream",
            args,
            with_role(abi, f, StatusRole::Success)?,
            f,
        ));
    }
    let name = point.legacy_resume?;
    let f = abi.host_functions().find(|f| f.name == name)?;
    let (args, _) = valid_call(abi, f, &[]);
    Some((name, args, with_role(abi, f, StatusRole::Success)?, f))
}

/// Whether the description grants `level` on `variant` of `en` while the
/// stream is paused in `callback`.
fn paused_grant_holds(
    abi: &AbiVersion,
    en: &str,
    variant: &str,
    level: AccessLevel,
    callback: &str,
) -> bool {
    abi.variant_rule(en, variant).is_some_and(|rule| {
        rule.grants.iter().any(|g| {
            g.level.grants(level) && g.places.contains(&Place::Paused(callback.to_string()))
        })
    })
}

/// The body callbacks the standard lifecycle calls twice, the first chunk
/// with `end_of_stream` false, the second with it true.
const ENDS_STREAM: [&str; 2] = ["proxy_on_request_body", "proxy_on_response_body"];

/// The `when end_of_stream` grants: per map with an `add in <body
/// callback> when end_of_stream` grant, a `proxy_add_header_map_value` of
/// it from that callback's last chunk, expecting OK, and from its first
/// chunk (which does not end the stream), expecting the `@forbidden`
/// status.
fn end_of_stream_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    let Some(f) = abi
        .host_functions()
        .find(|f| f.name == "proxy_add_header_map_value")
    else {
        return;
    };
    let (Some(i), Some(success)) = (
        f.params.iter().position(|p| p.name == "map_id"),
        with_role(abi, f, StatusRole::Success),
    ) else {
        return;
    };
    let Some(en) = abi.enum_named("proxy_map_type_t") else {
        return;
    };
    for v in &en.variants {
        let Some(rule) = abi.variant_rule("proxy_map_type_t", &v.name) else {
            continue;
        };
        for g in &rule.grants {
            if g.when.as_deref() != Some("end_of_stream") || !g.level.grants(AccessLevel::Add) {
                continue;
            }
            for place in &g.places {
                let Place::In(callback) = place else { continue };
                if !ENDS_STREAM.contains(&callback.as_str())
                    || abi.callbacks().all(|c| &c.name != callback)
                {
                    continue;
                }
                let (args, _) = valid_call(abi, f, &[(i, v.value)]);
                let (mut provenance, basis) = provenance(f, success, &[]);
                let notes = g.meta.notes.iter().chain(&rule.meta.notes);
                if notes.into_iter().any(|n| n.kind == NoteKind::Clarification) {
                    provenance = Provenance::Clarification;
                }
                let kind = Kind::Granted;
                out.push(Case {
                    id: format!("{}/{}/end_of_stream/{}", f.name, v.name, kind.keyword()),
                    function: f.qualified_name(),
                    kind,
                    callback: callback.clone(),
                    expected: expected(abi, success),
                    provenance,
                    basis: format!(
                        "{basis} Granted in {callback} when end_of_stream; called from the chunk that ends the stream."
                    ),
                    args: args.clone(),
                    setup: Vec::new(),
                    own_probe: None,
                    stage: Stage::EndOfStream(true),
                });
                // The other side: the chunk before it, where no other
                // grant of `add` can hold.
                let other = rule.grants.iter().filter(|x| !std::ptr::eq(*x, g));
                let elsewhere = other.filter(|x| x.level.grants(AccessLevel::Add)).any(|x| {
                    x.places.iter().any(|p| match p {
                        Place::In(c) => c == callback,
                        Place::Before(_) => true,
                        Place::Paused(_) => false,
                    })
                });
                let Some(forbidden) = f.forbidden.as_ref().and_then(|v| abi.variant_def(v)) else {
                    continue;
                };
                if elsewhere {
                    continue;
                }
                let mut notes: Vec<&Note> = abi.access_meta.notes.iter().collect();
                notes.extend(rule.meta.notes.iter());
                let (refused, basis) = self::provenance(f, forbidden, &notes);
                let kind = Kind::Forbidden;
                out.push(Case {
                    id: format!(
                        "{}/{}={}/not_end_of_stream/in_{callback}",
                        f.name, f.params[i].name, v.name
                    ),
                    function: f.qualified_name(),
                    kind,
                    callback: callback.clone(),
                    expected: expected(abi, forbidden),
                    provenance: refused,
                    basis: format!(
                        "{basis} Granted in {callback} only when end_of_stream; called from a chunk that does not end the stream."
                    ),
                    args,
                    setup: Vec::new(),
                    own_probe: None,
                    stage: Stage::EndOfStream(false),
                });
            }
        }
    }
}

/// One argument of a state case, set by parameter name.
#[derive(Debug, Clone, Copy)]
enum Set {
    /// A text parameter: this text.
    Text(&'static str),
    /// A scalar parameter: this number.
    Value(u32),
    /// A scalar parameter: the `u32` in output slot `n`.
    Loaded(u32),
}

/// A call of a state case: the function and the arguments that differ
/// from a valid call.
type Call = (&'static str, &'static [(&'static str, Set)]);

/// A state case: the status the description gives for a condition a
/// plugin can bring about, and the calls that bring it about.
struct Recipe {
    kind: Kind,
    /// The id's middle part.
    name: &'static str,
    /// The calls made first (their out-slots numbered as [`valid_call`]).
    setup: &'static [Call],
    /// The call under test.
    call: Call,
    /// The status it expects; the case exists only where the description
    /// lists that status for the function.
    status: &'static str,
}

/// The state a plugin can provoke. Which call brings a condition about
/// is this table's; the status, its condition and whether that is the
/// spec's text come from the description, and a version whose
/// description lacks the function, a parameter or the status has no case.
const RECIPES: &[Recipe] = &[
    Recipe {
        kind: Kind::MissingKey,
        name: "key",
        setup: &[],
        call: ("proxy_get_header_map_value", &[("key", Set::Text(MISSING))]),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::MissingKey,
        name: "key",
        setup: &[],
        call: ("proxy_get_shared_data", &[("key", Set::Text(MISSING))]),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::MissingKey,
        name: "path",
        setup: &[],
        call: (
            "proxy_get_property",
            &[("path", Set::Text("conformance_missing"))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::MissingKey,
        name: "name",
        setup: &[],
        call: (
            "proxy_resolve_shared_queue",
            &[("name", Set::Text(MISSING))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::MissingKey,
        name: "name",
        setup: &[],
        call: (
            "proxy_call_foreign_function",
            &[("name", Set::Text(MISSING))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "upstream_name",
        setup: &[],
        call: ("proxy_http_call", &[("upstream_name", Set::Text(MISSING))]),
        status: "BAD_ARGUMENT",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "metric_id",
        setup: &[],
        call: (
            "proxy_record_metric",
            &[("metric_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "metric_id",
        setup: &[],
        call: (
            "proxy_increment_metric",
            &[("metric_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "metric_id",
        setup: &[],
        call: ("proxy_get_metric", &[("metric_id", Set::Value(UNKNOWN_ID))]),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "queue_id",
        setup: &[],
        call: (
            "proxy_enqueue_shared_queue",
            &[("queue_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "queue_id",
        setup: &[],
        call: (
            "proxy_dequeue_shared_queue",
            &[("queue_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "stream_id",
        setup: &[],
        call: ("proxy_grpc_send", &[("stream_id", Set::Value(UNKNOWN_ID))]),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "call_or_stream_id",
        setup: &[],
        call: (
            "proxy_grpc_cancel",
            &[("call_or_stream_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "call_or_stream_id",
        setup: &[],
        call: (
            "proxy_grpc_close",
            &[("call_or_stream_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "NOT_FOUND",
    },
    Recipe {
        kind: Kind::UnknownId,
        name: "context_id",
        setup: &[],
        call: (
            "proxy_set_effective_context",
            &[("context_id", Set::Value(UNKNOWN_ID))],
        ),
        status: "BAD_ARGUMENT",
    },
    Recipe {
        kind: Kind::EmptyQueue,
        name: "queue_id",
        setup: &[(
            "proxy_register_shared_queue",
            &[("name", Set::Text(EMPTY_QUEUE))],
        )],
        call: (
            "proxy_dequeue_shared_queue",
            &[("queue_id", Set::Loaded(0))],
        ),
        status: "EMPTY",
    },
    Recipe {
        kind: Kind::CasMismatch,
        name: "cas",
        setup: &[
            // Create the key, read its cas, write with it: the cas read
            // is now stale.
            (
                "proxy_set_shared_data",
                &[("key", Set::Text(CAS_KEY)), ("cas", Set::Value(0))],
            ),
            ("proxy_get_shared_data", &[("key", Set::Text(CAS_KEY))]),
            (
                "proxy_set_shared_data",
                &[("key", Set::Text(CAS_KEY)), ("cas", Set::Loaded(2))],
            ),
        ],
        call: (
            "proxy_set_shared_data",
            &[("key", Set::Text(CAS_KEY)), ("cas", Set::Loaded(2))],
        ),
        status: "CAS_MISMATCH",
    },
];

/// Calls that return data the host must place in the plugin's memory, and
/// that certainly have some in the standard lifecycle (an empty value
/// needs no allocation): with the allocator answering 0, the host cannot
/// return it.
const ALLOCATOR_RECIPES: &[(&str, &[Call], Call)] = &[
    ("pairs", &[], ("proxy_get_header_map_pairs", &[])),
    (
        "value",
        &[],
        ("proxy_get_header_map_value", &[("key", Set::Text(":path"))]),
    ),
    ("value", &[], ("proxy_get_configuration", &[])),
    (
        "value",
        &[(
            "proxy_set_shared_data",
            &[("key", Set::Text(ALLOCATOR_KEY)), ("cas", Set::Value(0))],
        )],
        (
            "proxy_get_shared_data",
            &[("key", Set::Text(ALLOCATOR_KEY))],
        ),
    ),
    (
        "value",
        &[
            (
                "proxy_register_shared_queue",
                &[("name", Set::Text(ALLOCATOR_QUEUE))],
            ),
            (
                "proxy_enqueue_shared_queue",
                &[("queue_id", Set::Loaded(0))],
            ),
        ],
        (
            "proxy_dequeue_shared_queue",
            &[("queue_id", Set::Loaded(0))],
        ),
    ),
];

/// Why the allocator cases expect the memory fault.
pub const ALLOCATOR_BASIS: &str = "The plugin's allocator answered 0 (it could not allocate) for data the host returns; the specification names no status for this. The host answers the memory-fault status, as for returned data it cannot place in the plugin's memory (proxy-wasm-cpp-host answers INVALID_MEMORY_ACCESS when it cannot copy a value into the plugin).";

/// The allocator contract: in the allocator probe, whose
/// `proxy_on_memory_allocate` always answers 0, each call that returns
/// data answers the result enum's `@role(memory_fault)` status.
fn allocator_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    for (name, setup, call) in ALLOCATOR_RECIPES {
        let Some((callback, made)) = recipe_call(abi, call) else {
            continue;
        };
        let Some(f) = abi.function(&made.function) else {
            continue;
        };
        let Some(fault) = with_role(abi, f, StatusRole::MemoryFault) else {
            continue;
        };
        let setup: Option<Vec<SetupCall>> = setup
            .iter()
            .map(|c| {
                recipe_call(abi, c)
                    .filter(|(home, _)| *home == callback)
                    .map(|(_, s)| s)
            })
            .collect();
        let Some(setup) = setup else { continue };
        let kind = Kind::AllocatorFailure;
        out.push(Case {
            id: format!("{}/{name}/{}", f.name, kind.keyword()),
            function: f.qualified_name(),
            kind,
            callback: callback.to_string(),
            expected: expected(abi, fault),
            provenance: Provenance::Clarification,
            basis: ALLOCATOR_BASIS.to_string(),
            args: made.args,
            setup,
            own_probe: None,
            stage: Stage::First,
        });
    }
}

/// The allocator preference: a probe exporting both allocators reads a
/// header value; the host must hand it out of `@role(allocator)`'s region
/// (status 0), and, in a probe exporting only `@role(legacy_allocator)`,
/// out of that one's (status 1). 2 is neither region.
fn allocator_choice_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    use proxy_wasm_abi_spec::ir::FunctionRole;
    let by_role = |role: FunctionRole| abi.callbacks().find(|c| c.role == Some(role));
    let (Some(alloc), Some(legacy)) = (
        by_role(FunctionRole::Allocator),
        by_role(FunctionRole::LegacyAllocator),
    ) else {
        return;
    };
    let call: Call = ("proxy_get_header_map_value", &[("key", Set::Text(":path"))]);
    let Some((callback, made)) = recipe_call(abi, &call) else {
        return;
    };
    if !made.args.iter().any(|a| matches!(a, Arg::Slot(_))) {
        return;
    }
    let basis = format!(
        "{} {}: {}",
        legacy.name,
        legacy.meta.docs.trim().replace('\n', " "),
        alloc
            .meta
            .notes
            .iter()
            .find(|n| n.kind == NoteKind::Clarification)
            .map_or_else(|| alloc.meta.docs.clone(), |n| n.text.clone())
    );
    let kind = Kind::AllocatorChoice;
    for (id, value, name, probe) in [
        (
            "preferred",
            0,
            format!("{}'s region, not {}'s", alloc.name, legacy.name),
            BOTH_ALLOCATORS_PROBE,
        ),
        (
            "legacy_alone",
            1,
            format!("{}'s region", legacy.name),
            LEGACY_ALLOCATOR_PROBE,
        ),
    ] {
        out.push(Case {
            id: format!("{}/{id}/{}", alloc.name, kind.keyword()),
            function: made.function.clone(),
            kind,
            callback: callback.to_string(),
            expected: Expected {
                value,
                name,
                r#enum: "allocator region (0 allocator, 1 legacy allocator, 2 neither)".to_string(),
            },
            provenance: Provenance::Clarification,
            basis: basis.clone(),
            args: made.args.clone(),
            setup: Vec::new(),
            own_probe: Some(probe),
            stage: Stage::First,
        });
    }
}

/// `function` with valid arguments but for `changes`, selectors as in its
/// home; `None` if the version lacks the function or a parameter.
fn recipe_call(abi: &AbiVersion, (function, changes): &Call) -> Option<(&'static str, SetupCall)> {
    let f = abi.host_functions().find(|f| f.name == *function)?;
    let (callback, selected) = home(abi, f)?;
    Some((callback, with_changes(abi, f, &selected, changes)?))
}

/// `f`'s valid call with `selected` selectors, but for `changes`; `None`
/// if it lacks one of the parameters.
fn with_changes(
    abi: &AbiVersion,
    f: &Function,
    selected: &[(usize, u32)],
    changes: &[(&str, Set)],
) -> Option<SetupCall> {
    let (mut args, at) = valid_call(abi, f, selected);
    for (param, set) in changes {
        let i = f.params.iter().position(|p| p.name == *param)?;
        let first = at[i];
        match (*set, lower_param_typed(&f.params[i]).class) {
            (Set::Text(t), ParamClass::Input(Shape::String | Shape::Path | Shape::Bytes)) => {
                args[first] = Arg::DataAt(Data::Named(t));
                args[first + 1] = Arg::DataLen(Data::Named(t));
            }
            (Set::Value(v), ParamClass::Scalar(_)) => args[first] = Arg::Value(v.into()),
            (Set::Loaded(n), ParamClass::Scalar(_)) => args[first] = Arg::Loaded(n),
            _ => return None,
        }
    }
    Some(SetupCall {
        function: f.qualified_name(),
        args,
    })
}

/// The state cases of `abi` ([`RECIPES`]).
fn state_cases(abi: &AbiVersion, out: &mut Vec<Case>) {
    for r in RECIPES {
        let Some((callback, call)) = recipe_call(abi, &r.call) else {
            continue;
        };
        let Some(f) = abi.function(&call.function) else {
            continue;
        };
        // The description must list the status for this function.
        if !f.outcomes.iter().any(|o| o.value.name() == r.status) {
            continue;
        }
        let Some(status) = with_status(abi, f, r.status) else {
            continue;
        };
        let setup: Option<Vec<SetupCall>> = r
            .setup
            .iter()
            .map(|c| {
                recipe_call(abi, c)
                    .filter(|(home, _)| *home == callback)
                    .map(|(_, s)| s)
            })
            .collect();
        let Some(setup) = setup else { continue };
        let (provenance, basis) = provenance(f, status, &[]);
        out.push(Case {
            id: format!("{}/{}/{}", f.name, r.name, r.kind.keyword()),
            function: f.qualified_name(),
            kind: r.kind,
            callback: callback.to_string(),
            expected: expected(abi, status),
            provenance,
            basis,
            args: call.args,
            setup,
            own_probe: None,
            stage: Stage::First,
        });
    }
}

/// The result enum's value named `name`.
fn with_status<'a>(abi: &'a AbiVersion, f: &Function, name: &str) -> Option<&'a Variant> {
    let Type::Enum(e) = &f.result.as_ref()?.ty else {
        return None;
    };
    abi.enum_def(e)?.variant(name)
}

/// The other side of the access rules, for reads that take nothing but
/// their selector and output slots (a map's size or pairs, a buffer's
/// status): per selector value and per callback of the standard lifecycle
/// where its grant surely holds, a call expecting success. A host that
/// refuses a granted read deviates.
fn granted_cases(abi: &AbiVersion, f: &Function, out: &mut Vec<Case>) {
    let r = restrictions(abi, f);
    if r.own.is_some() || r.selectors.len() != 1 {
        return;
    }
    let (i, e, level) = r.selectors[0];
    let reads_only = f.params.iter().enumerate().all(|(j, p)| {
        j == i
            || matches!(
                lower_param_typed(p).class,
                ParamClass::Out(_) | ParamClass::HostAllocated(_)
            )
    });
    let (Some(en), Some(success), true) = (
        abi.enum_named(e),
        with_role(abi, f, StatusRole::Success),
        reads_only,
    ) else {
        return;
    };
    let notes: Vec<&Note> = abi.access_meta.notes.iter().collect();
    for v in &en.variants {
        let rule = abi.variant_rule(e, &v.name);
        for callback in ACCESS_CALLBACKS {
            if abi.callbacks().all(|c| c.name != callback) || !surely_holds(rule, level, callback) {
                continue;
            }
            let (mut provenance, mut basis) = provenance(f, success, &notes);
            // A grant this project reads into the spec (a clarification
            // on the rule or on the grant that holds) makes the case one.
            let grant_notes = rule.into_iter().flat_map(|r| {
                r.meta.notes.iter().chain(
                    r.grants
                        .iter()
                        .filter(|g| g.level.grants(level))
                        .filter(|g| g.places.contains(&Place::In(callback.to_string())))
                        .flat_map(|g| g.meta.notes.iter()),
                )
            });
            for note in grant_notes {
                if note.kind == NoteKind::Clarification {
                    provenance = Provenance::Clarification;
                    basis = note.text.clone();
                }
            }
            let (args, _) = valid_call(abi, f, &[(i, v.value)]);
            let kind = Kind::Granted;
            out.push(Case {
                id: format!(
                    "{}/{}={}/in_{callback}/{}",
                    f.name,
                    f.params[i].name,
                    v.name,
                    kind.keyword()
                ),
                function: f.qualified_name(),
                kind,
                callback: callback.to_string(),
                expected: expected(abi, success),
                provenance,
                basis,
                args,
                setup: Vec::new(),
                own_probe: None,
                stage: Stage::First,
            });
        }
    }
}

/// The access-rule cases of `f`: per selector value (or the function as a
/// whole) and per callback of the standard lifecycle where no grant can
/// hold, a call expecting the `@forbidden` status.
fn forbidden_cases(abi: &AbiVersion, f: &Function, out: &mut Vec<Case>) {
    let Some(forbidden) = f.forbidden.as_ref().and_then(|v| abi.variant_def(v)) else {
        return;
    };
    let r = restrictions(abi, f);
    let callbacks: Vec<&str> = ACCESS_CALLBACKS
        .iter()
        .copied()
        .filter(|c| abi.callbacks().any(|x| x.name == *c))
        .collect();
    let access_notes: Vec<&Note> = abi.access_meta.notes.iter().collect();
    let mut push =
        |subject: String, rule: Option<&AccessRule>, callback: &str, selected: &[(usize, u32)]| {
            let mut notes = access_notes.clone();
            if let Some(rule) = rule {
                notes.extend(rule.meta.notes.iter());
            }
            let (provenance, basis) = provenance(f, forbidden, &notes);
            let (args, _) = valid_call(abi, f, selected);
            out.push(Case {
                id: format!("{}/{subject}in_{callback}", f.name),
                function: f.qualified_name(),
                kind: Kind::Forbidden,
                callback: callback.to_string(),
                expected: expected(abi, forbidden),
                provenance,
                basis,
                args,
                setup: Vec::new(),
                own_probe: None,
                stage: Stage::First,
            });
        };
    if let Some(own) = r.own {
        // Selectors, if any, at values permitted wherever the function is.
        for callback in &callbacks {
            if could_hold(Some(own), AccessLevel::Call, callback) {
                continue;
            }
            push(String::new(), Some(own), callback, &[]);
        }
    }
    if r.own.is_some() || r.selectors.len() != 1 {
        return;
    }
    let (i, e, level) = r.selectors[0];
    let Some(en) = abi.enum_named(e) else { return };
    for v in &en.variants {
        let rule = abi.variant_rule(e, &v.name);
        for callback in &callbacks {
            if could_hold(rule, level, callback) {
                continue;
            }
            let subject = format!("{}={}/", f.params[i].name, v.name);
            push(subject, rule, callback, &[(i, v.value)]);
        }
    }
}
