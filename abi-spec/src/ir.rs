//! The validated model of an ABI description: what every generator works from.
//!
//! An [`Abi`] holds every version at once, with [`Gate`]s on items; call
//! [`Abi::at`] to get the [`AbiVersion`] of one version, with gates applied,
//! the marker named, and deprecations resolved.

use std::fmt;
use std::str::FromStr;

use crate::diagnostic::Location;

/// An ABI version number, e.g. `0.2.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// `0` in `0.2.1`.
    pub major: u32,
    /// `2` in `0.2.1`.
    pub minor: u32,
    /// `1` in `0.2.1`.
    pub patch: u32,
}

impl Version {
    /// The version marker export of this version: `proxy_abi_version_0_2_1`.
    pub fn marker_name(self) -> String {
        format!(
            "proxy_abi_version_{}_{}_{}",
            self.major, self.minor, self.patch
        )
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = String;

    /// Parses `0.2.1`; a leading `v` is accepted (`v0.2.1`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.strip_prefix('v').unwrap_or(s);
        let parts: Vec<&str> = text.split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(format!(
                "`{s}` is not a version: expected three numbers like `0.2.1`"
            ));
        };
        let number = |p: &str| {
            p.parse::<u32>()
                .map_err(|_| format!("`{s}` is not a version: `{p}` is not a number"))
        };
        Ok(Version {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
        })
    }
}

/// The versions an item exists in: from `since` (inclusive) to `until` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Gate {
    /// First version that has the item; `None` means from the first version.
    pub since: Option<Version>,
    /// First version that no longer has it; `None` means still present.
    pub until: Option<Version>,
}

impl Gate {
    /// Whether the item exists in `version`.
    pub fn admits(&self, version: Version) -> bool {
        self.since.is_none_or(|s| s <= version) && self.until.is_none_or(|u| version < u)
    }

    /// Whether some version is admitted by both gates.
    pub fn overlaps(&self, other: &Gate) -> bool {
        let start = self.since.max(other.since);
        let end = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (start, end) {
            (Some(s), Some(e)) => s < e,
            _ => true,
        }
    }
}

/// Why a note exists: the kinds of facts the specification does not state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoteKind {
    /// What hosts or SDKs actually do where the specification is silent
    /// (e.g. status values it does not define).
    Implementation,
    /// The answer this project chose where the specification is silent.
    Clarification,
    /// Where the specification's own text is wrong, and what is right.
    Erratum,
}

impl NoteKind {
    /// The keyword used in descriptions and in generated docs.
    pub fn keyword(self) -> &'static str {
        match self {
            NoteKind::Implementation => "implementation",
            NoteKind::Clarification => "clarification",
            NoteKind::Erratum => "erratum",
        }
    }
}

/// A clearly marked statement beyond the specification's own text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    /// What kind of statement it is.
    pub kind: NoteKind,
    /// The statement, e.g. "Envoy passes the root context id here".
    pub text: String,
}

/// Everything attached to an item that is not its shape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// Documentation, one paragraph per blank-line-separated block.
    pub docs: String,
    /// Notes beyond the specification.
    pub notes: Vec<Note>,
    /// The versions the item exists in.
    pub gate: Gate,
}

/// A whole ABI: every version of it, with gates on items.
#[derive(Debug, Clone)]
pub struct Abi {
    /// The ABI's name, e.g. `proxy_wasm`.
    pub name: String,
    /// Docs and notes of the header.
    pub meta: Meta,
    /// Declared versions, oldest first.
    pub versions: Vec<Version>,
    /// Enumerations, e.g. `proxy_status_t`.
    pub enums: Vec<Enum>,
    /// Function groups, in order.
    pub sections: Vec<Section>,
    /// Every function of every version, in section order.
    pub functions: Vec<Function>,
    /// Byte layouts, e.g. the serialized map.
    pub formats: Vec<Format>,
    /// Well-known properties.
    pub properties: Vec<Property>,
    /// Docs and notes of the `properties` block as a whole.
    pub properties_meta: Meta,
    /// The access rules: where each map, buffer and restricted host function
    /// may be used.
    pub access: Vec<AccessRule>,
    /// Docs and notes of the `access` block as a whole.
    pub access_meta: Meta,
    /// For an extension: the ABI and version it adds to.
    pub extends: Option<(String, Version)>,
}

/// An enumeration passed as a wasm `i32`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    /// The C name, e.g. `proxy_status_t`.
    pub name: String,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Variants in declaration order.
    pub variants: Vec<Variant>,
    /// Where it was declared.
    pub location: Location,
}

impl Enum {
    /// The variant named `name`, if any.
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The variant with `role`, if any.
    pub fn with_role(&self, role: StatusRole) -> Option<&Variant> {
        self.variants.iter().find(|v| v.role == Some(role))
    }
}

/// A reference to an enum the description declares, e.g. `proxy_map_type_t`.
///
/// Only the validator makes one, after finding the enum, so holding one
/// means the name is declared; [`Abi::enum_def`] and [`AbiVersion::enum_def`]
/// find the enum itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumRef {
    name: String,
}

impl EnumRef {
    /// A reference to the enum `name`; the caller has checked it exists.
    pub(crate) fn new(name: impl Into<String>) -> Self {
        EnumRef { name: name.into() }
    }

    /// The enum's C name, e.g. `proxy_map_type_t`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for EnumRef {
    /// The enum's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A reference to one value of a declared enum, e.g. `proxy_status_t.BAD_ARGUMENT`:
/// a status named by `@on_invalid` or `@forbidden`, or an outcome.
///
/// Only the validator makes one, after finding the value in the enum;
/// [`Abi::variant_def`] and [`AbiVersion::variant_def`] find the value itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantRef {
    enum_ref: EnumRef,
    name: String,
}

impl VariantRef {
    /// A reference to value `name` of `enum_ref`; the caller has checked it exists.
    pub(crate) fn new(enum_ref: EnumRef, name: impl Into<String>) -> Self {
        VariantRef {
            enum_ref,
            name: name.into(),
        }
    }

    /// The enum the value belongs to.
    pub fn enum_ref(&self) -> &EnumRef {
        &self.enum_ref
    }

    /// The value's name, e.g. `BAD_ARGUMENT`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for VariantRef {
    /// The value's name alone, as descriptions and generated docs write it
    /// (`BAD_ARGUMENT`, not `proxy_status_t.BAD_ARGUMENT`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A reference to a declared callback, e.g. `proxy_on_request_headers`, as
/// `@resumes(...)` lists name them.
///
/// Only the validator makes one, after finding the callback in every version
/// the list applies to; [`Abi::callback`] and [`AbiVersion::callback`] find it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallbackRef {
    name: String,
}

impl CallbackRef {
    /// A reference to the callback `name`; the caller has checked it exists.
    pub(crate) fn new(name: impl Into<String>) -> Self {
        CallbackRef { name: name.into() }
    }

    /// The callback's wasm name, e.g. `proxy_on_request_headers`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for CallbackRef {
    /// The callback's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// What an enum value means to generated code, independent of its name
/// (`OK` in `proxy_status_t` and `SUCCESS` in `wasi_errno_t` are both
/// success), so no generator knows values by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusRole {
    /// The call succeeded.
    Success,
    /// A pointer or length refers outside guest memory.
    MemoryFault,
    /// An argument is invalid: an unknown enum value, a malformed map, bad UTF-8.
    BadArgument,
    /// The host does not implement the call.
    Unimplemented,
    /// A value the host returned does not decode (a serialized map that is
    /// malformed, text that is not UTF-8): what typed guest calls report.
    MalformedResult,
    /// A callback result that pauses the stream it ran for (`PAUSE`).
    Pause,
}

impl StatusRole {
    /// Every role with its keyword in `@role(...)`.
    pub const ALL: [(&'static str, StatusRole); 6] = [
        ("success", StatusRole::Success),
        ("memory_fault", StatusRole::MemoryFault),
        ("bad_argument", StatusRole::BadArgument),
        ("unimplemented", StatusRole::Unimplemented),
        ("malformed_result", StatusRole::MalformedResult),
        ("pause", StatusRole::Pause),
    ];

    /// The keyword, as written in `@role(...)`.
    pub fn keyword(self) -> &'static str {
        StatusRole::ALL
            .iter()
            .find(|(_, role)| *role == self)
            .map_or("", |(keyword, _)| keyword)
    }
}

/// What a callback is to generated code beyond its signature
/// (`@role(...)` on a callback), so no generator knows callbacks by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionRole {
    /// The allocator the host fills returned buffers through
    /// (`proxy_on_memory_allocate`).
    Allocator,
    /// The allocator used only when [`FunctionRole::Allocator`] is absent
    /// (libc's `malloc`); provided by the toolchain.
    LegacyAllocator,
    /// The reactor initializer the toolchain provides (`_initialize`).
    Initialize,
    /// The command entry point the toolchain provides (`_start`).
    Start,
    /// `main`, run after `_initialize`.
    Main,
    /// A host function that ends the plugin and never returns to it (WASI
    /// `proc_exit`): generated hosts end the running callback with an error
    /// carrying the code, after the `Host` is told.
    Exit,
}

impl FunctionRole {
    /// Every role with its keyword in `@role(...)`.
    pub const ALL: [(&'static str, FunctionRole); 6] = [
        ("allocator", FunctionRole::Allocator),
        ("legacy_allocator", FunctionRole::LegacyAllocator),
        ("initialize", FunctionRole::Initialize),
        ("start", FunctionRole::Start),
        ("main", FunctionRole::Main),
        ("exit", FunctionRole::Exit),
    ];

    /// The keyword, as written in `@role(...)`.
    pub fn keyword(self) -> &'static str {
        FunctionRole::ALL
            .iter()
            .find(|(_, role)| *role == self)
            .map_or("", |(keyword, _)| keyword)
    }

    /// Whether the toolchain or libc provides the callback rather than
    /// plugin code: generators describe it but do not generate it.
    pub fn is_toolchain(self) -> bool {
        matches!(
            self,
            FunctionRole::LegacyAllocator
                | FunctionRole::Initialize
                | FunctionRole::Start
                | FunctionRole::Main
        )
    }

    /// Whether the role belongs on a host function rather than a callback.
    pub fn is_host(self) -> bool {
        matches!(self, FunctionRole::Exit)
    }
}

/// One named value of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// E.g. `NOT_FOUND`.
    pub name: String,
    /// E.g. `1`.
    pub value: u32,
    /// Its meaning to generated hosts, for status enums (`@role(...)`).
    pub role: Option<StatusRole>,
    /// For a stream type: the callbacks whose pauses a continue or close of
    /// this stream ends (`@resumes(...)`).
    pub resumes: Vec<CallbackRef>,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Where it was declared.
    pub location: Location,
}

/// A group of related functions, e.g. "HTTP fields".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Short id, e.g. `http_fields`.
    pub id: String,
    /// Title, e.g. "HTTP fields".
    pub title: String,
    /// Docs, notes and gate.
    pub meta: Meta,
}

/// Which side of the boundary implements a function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Implemented by the host, imported by the plugin from `module`.
    Host {
        /// The wasm import module: `env` or `wasi_snapshot_preview1`.
        module: String,
    },
    /// Implemented and exported by the plugin, called by the host.
    Callback,
}

/// Why a function should no longer be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// First version in which it is deprecated; `None` means in every version.
    pub since: Option<Version>,
    /// The function to use instead, e.g. `wasi_snapshot_preview1.clock_time_get`.
    pub replacement: Option<String>,
}

/// A host function or plugin callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The wasm name, e.g. `proxy_log`. For the version marker this is
    /// the marker of the version the function was materialized for.
    pub name: String,
    /// Host function or callback.
    pub direction: Direction,
    /// True for the `proxy_abi_version_X_Y_Z` marker export.
    pub is_marker: bool,
    /// The id of the section it is declared in.
    pub section: String,
    /// Semantic parameters, lowered by [`crate::lower`].
    pub params: Vec<Param>,
    /// The result, if the function returns one.
    pub result: Option<Returns>,
    /// The values the result may take, each with when or why.
    pub outcomes: Vec<Outcome>,
    /// Set when the function is deprecated.
    pub deprecated: Option<Deprecation>,
    /// Whether the other side may leave it out. Host functions are required,
    /// callbacks optional, unless the description says otherwise.
    pub optional: bool,
    /// For a host function the access rules restrict: the status a call
    /// outside its permitted callbacks gets (`@forbidden(BAD_ARGUMENT)`).
    pub forbidden: Option<VariantRef>,
    /// For a host function that resumes a stream: the callbacks whose pauses
    /// a successful call ends (`@resumes(...)` on the function).
    pub resumes: Vec<CallbackRef>,
    /// What the function does to contexts, as the access rules track them
    /// (`@context(create)`, `@context(delete)`, `@context(switch)`).
    pub context_effect: Option<ContextEffect>,
    /// What a callback is beyond its signature (`@role(allocator)`).
    pub role: Option<FunctionRole>,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Where it was declared.
    pub location: Location,
}

impl Function {
    /// The import module of a host function; `None` for a callback.
    pub fn module(&self) -> Option<&str> {
        match &self.direction {
            Direction::Host { module } => Some(module),
            Direction::Callback => None,
        }
    }

    /// `proxy_log`, or `wasi_snapshot_preview1.fd_write` outside `env`.
    pub fn qualified_name(&self) -> String {
        match self.module() {
            Some(module) if module != "env" => format!("{module}.{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// True for host functions.
    pub fn is_host(&self) -> bool {
        matches!(self.direction, Direction::Host { .. })
    }
}

/// What a semantic parameter means. Its lowering to wasm is fixed per type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `u32`: an unsigned 32-bit number.
    U32,
    /// `u64`: an unsigned 64-bit number (wasm `i64`).
    U64,
    /// `i64`: a signed 64-bit number.
    I64,
    /// `usize`: a size or count (`size_t`).
    Usize,
    /// `bool`: `0` or `1` in an `i32`.
    Bool,
    /// `context`: a context id.
    Context,
    /// A named enumeration, e.g. `proxy_map_type_t`.
    Enum(EnumRef),
    /// `bytes`: a byte string (pointer and length).
    Bytes,
    /// `string`: a UTF-8 string (pointer and length).
    String,
    /// `map`: a serialized map (pointer and length).
    Map,
    /// `path`: a property path, segments separated by NUL (pointer and length).
    Path,
    /// `buffer`: guest memory the host fills (pointer and length).
    Buffer,
    /// `iovecs`: a WASI iovec array (pointer and count).
    Iovecs,
    /// `ptr("C type")`: a raw guest address whose extent the docs define.
    Ptr(String),
}

impl Type {
    /// The keyword of the type as written in descriptions.
    pub fn keyword(&self) -> &str {
        match self {
            Type::U32 => "u32",
            Type::U64 => "u64",
            Type::I64 => "i64",
            Type::Usize => "usize",
            Type::Bool => "bool",
            Type::Context => "context",
            Type::Enum(e) => e.name(),
            Type::Bytes => "bytes",
            Type::String => "string",
            Type::Map => "map",
            Type::Path => "path",
            Type::Buffer => "buffer",
            Type::Iovecs => "iovecs",
            Type::Ptr(_) => "ptr",
        }
    }

    /// Whether the type is passed as a pointer and a length.
    pub fn is_pair(&self) -> bool {
        matches!(
            self,
            Type::Bytes | Type::String | Type::Map | Type::Path | Type::Buffer | Type::Iovecs
        )
    }

    /// Whether `out` may be written before this type.
    pub fn allows_out(&self) -> bool {
        matches!(
            self,
            Type::U32
                | Type::U64
                | Type::Usize
                | Type::Enum(_)
                | Type::Bytes
                | Type::String
                | Type::Map
        )
    }
}

/// A semantic parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The semantic name, e.g. `key` (lowered to `key_data`, `key_size`).
    pub name: String,
    /// What it means.
    pub ty: Type,
    /// True when the host writes the value through a pointer the plugin passes.
    pub out: bool,
    /// Wasm-level names where the specification's naming is irregular.
    pub lowered_names: Option<Vec<String>>,
    /// True when the value carries no meaning and both sides ignore it.
    pub unused: bool,
    /// For raw pointers: how far the memory behind it extends.
    pub extent: Option<String>,
    /// The status a host returns when this argument is invalid, where it is
    /// not the result enum's `bad_argument` value (`@on_invalid(BADF)`).
    pub on_invalid: Option<VariantRef>,
    /// For a map or buffer selector: what the function does to the map or
    /// buffer it names (`@access(read)`), checked against the access rules.
    pub access: Option<AccessLevel>,
    /// For a stream selector: a successful call ends the pauses listed in
    /// the chosen variant's `@resumes(...)` (`@resumes` on the parameter).
    pub resumes: bool,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Where it was declared.
    pub location: Location,
}

/// A function's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returns {
    /// The specification's name for it, e.g. `status` or `action`.
    pub name: String,
    /// Its type: `u32`, `bool`, an enum, or `ptr`.
    pub ty: Type,
}

/// One value a result may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// A value of the result enum, `true` or `false`.
    pub value: OutcomeValue,
    /// When it is returned (host functions) or what it asks for (callbacks).
    pub text: String,
    /// Docs, notes and gate.
    pub meta: Meta,
}

/// The value an [`Outcome`] is about: a value of the function's result enum,
/// or one of the two values of a `bool` result. Only the validator makes
/// one, after checking it against the result's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OutcomeValue {
    /// A value of the result enum, e.g. `proxy_status_t.NOT_FOUND`.
    Variant(VariantRef),
    /// `true` or `false`, for a `bool` result.
    Bool(bool),
}

impl OutcomeValue {
    /// The value as the description writes it: the variant's name
    /// (`NOT_FOUND`), `true` or `false`.
    pub fn name(&self) -> &str {
        match self {
            OutcomeValue::Variant(v) => v.name(),
            OutcomeValue::Bool(true) => "true",
            OutcomeValue::Bool(false) => "false",
        }
    }

    /// The enum value, for an enum result.
    pub fn variant(&self) -> Option<&VariantRef> {
        match self {
            OutcomeValue::Variant(v) => Some(v),
            OutcomeValue::Bool(_) => None,
        }
    }
}

impl fmt::Display for OutcomeValue {
    /// The same text as [`OutcomeValue::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A byte layout, e.g. the serialized map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// E.g. `serialized_map`.
    pub name: String,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Fields in byte order.
    pub fields: Vec<FormatField>,
}

/// One part of a byte layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatField {
    /// E.g. `count`.
    pub name: String,
    /// E.g. "u32, little-endian".
    pub layout: String,
    /// Docs, notes and gate.
    pub meta: Meta,
}

/// The type of a well-known property's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// UTF-8 text.
    String,
    /// Signed 64-bit integer.
    Int,
    /// Unsigned 64-bit integer.
    Uint,
    /// Boolean.
    Bool,
    /// Raw bytes.
    Bytes,
    /// A point in time.
    Timestamp,
    /// A length of time.
    Duration,
}

impl PropertyType {
    /// Every property type with its keyword.
    pub const ALL: [(&'static str, PropertyType); 7] = [
        ("string", PropertyType::String),
        ("int", PropertyType::Int),
        ("uint", PropertyType::Uint),
        ("bool", PropertyType::Bool),
        ("bytes", PropertyType::Bytes),
        ("timestamp", PropertyType::Timestamp),
        ("duration", PropertyType::Duration),
    ];

    /// The keyword, e.g. `uint`.
    pub fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(k, _)| k)
    }
}

/// A well-known property readable with `proxy_get_property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The dotted path, e.g. `source.port`; segments are sent NUL-separated.
    pub path: String,
    /// The value's type.
    pub ty: PropertyType,
    /// Docs, notes and gate.
    pub meta: Meta,
}

/// One version of an ABI, with gates applied.
#[derive(Debug, Clone)]
pub struct AbiVersion {
    /// The ABI's name.
    pub name: String,
    /// For an extension: the ABI and version it adds to.
    pub extends: Option<(String, Version)>,
    /// The version.
    pub version: Version,
    /// The version before this one in the description, if any.
    pub previous: Option<Version>,
    /// Header docs and notes.
    pub meta: Meta,
    /// Enums present in this version, with only this version's variants.
    pub enums: Vec<Enum>,
    /// Sections that have at least one function in this version.
    pub sections: Vec<Section>,
    /// Functions present in this version, with only this version's
    /// parameters and outcomes.
    pub functions: Vec<Function>,
    /// Formats present in this version.
    pub formats: Vec<Format>,
    /// Properties present in this version.
    pub properties: Vec<Property>,
    /// Docs and notes of the `properties` block as a whole.
    pub properties_meta: Meta,
    /// Access rules present in this version, with only this version's grants.
    pub access: Vec<AccessRule>,
    /// Docs and notes of the `access` block as a whole.
    pub access_meta: Meta,
}

impl AbiVersion {
    /// The enum named `name`.
    pub fn enum_named(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The enum `r` refers to; `None` if this version does not have it
    /// (or `r` comes from another description).
    pub fn enum_def(&self, r: &EnumRef) -> Option<&Enum> {
        self.enum_named(r.name())
    }

    /// The enum value `r` refers to; `None` if this version does not have it.
    pub fn variant_def(&self, r: &VariantRef) -> Option<&Variant> {
        self.enum_def(r.enum_ref())?.variant(r.name())
    }

    /// The callback `r` refers to; `None` if this version does not have it.
    pub fn callback(&self, r: &CallbackRef) -> Option<&Function> {
        find_callback(&self.functions, r)
    }

    /// The function named `name` (qualified for non-`env` modules).
    pub fn function(&self, qualified_name: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| f.qualified_name() == qualified_name)
    }

    /// Host functions, in description order.
    pub fn host_functions(&self) -> impl Iterator<Item = &Function> {
        self.functions.iter().filter(|f| f.is_host())
    }

    /// Callbacks, in description order.
    pub fn callbacks(&self) -> impl Iterator<Item = &Function> {
        self.functions.iter().filter(|f| !f.is_host())
    }

    /// The access rule of host function `name`, if the rules restrict it.
    pub fn function_rule(&self, name: &str) -> Option<&AccessRule> {
        self.access
            .iter()
            .find(|r| matches!(&r.subject, Subject::Function(n) if n == name))
    }

    /// The access rule of value `variant` of enum `enum_name`, if any.
    pub fn variant_rule(&self, enum_name: &str, variant: &str) -> Option<&AccessRule> {
        self.access.iter().find(|r| {
            matches!(&r.subject, Subject::Variant { enum_name: e, variant: v }
                if e == enum_name && v == variant)
        })
    }
}

impl Abi {
    /// The newest declared version.
    pub fn latest(&self) -> Option<Version> {
        self.versions.last().copied()
    }

    /// The enum `r` refers to; `None` only for a reference from another
    /// description. Its variants are those of every version.
    pub fn enum_def(&self, r: &EnumRef) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == r.name())
    }

    /// The enum value `r` refers to; `None` only for a reference from
    /// another description.
    pub fn variant_def(&self, r: &VariantRef) -> Option<&Variant> {
        self.enum_def(r.enum_ref())?.variant(r.name())
    }

    /// The callback `r` refers to; `None` only for a reference from another
    /// description. A name declared more than once, in versions that do not
    /// overlap, gives the first declaration: use [`AbiVersion::callback`] for
    /// the one of a given version.
    pub fn callback(&self, r: &CallbackRef) -> Option<&Function> {
        find_callback(&self.functions, r)
    }

    /// This ABI reduced to one version: what an extension of that version builds on.
    pub fn only(&self, version: Version) -> Option<Abi> {
        let v = self.at(version)?;
        Some(Abi {
            name: v.name,
            meta: v.meta,
            versions: vec![version],
            enums: v.enums,
            sections: v.sections,
            functions: v.functions,
            formats: v.formats,
            properties: v.properties,
            properties_meta: v.properties_meta,
            access: v.access,
            access_meta: v.access_meta,
            extends: v.extends,
        })
    }

    /// Materializes one version; `None` if `version` is not declared.
    pub fn at(&self, version: Version) -> Option<AbiVersion> {
        let index = self.versions.iter().position(|v| *v == version)?;
        let previous = index.checked_sub(1).map(|i| self.versions[i]);
        let admits = |m: &Meta| m.gate.admits(version);

        let enums: Vec<Enum> = self
            .enums
            .iter()
            .filter(|e| admits(&e.meta))
            .map(|e| Enum {
                variants: e
                    .variants
                    .iter()
                    .filter(|v| admits(&v.meta))
                    .cloned()
                    .collect(),
                ..e.clone()
            })
            .collect();

        let functions: Vec<Function> = self
            .functions
            .iter()
            .filter(|f| admits(&f.meta))
            .map(|f| Function {
                name: if f.is_marker {
                    version.marker_name()
                } else {
                    f.name.clone()
                },
                params: f
                    .params
                    .iter()
                    .filter(|p| admits(&p.meta))
                    .cloned()
                    .collect(),
                outcomes: f
                    .outcomes
                    .iter()
                    .filter(|o| admits(&o.meta))
                    .cloned()
                    .collect(),
                deprecated: f
                    .deprecated
                    .clone()
                    .filter(|d| d.since.is_none_or(|s| s <= version)),
                ..f.clone()
            })
            .collect();

        let sections = self
            .sections
            .iter()
            .filter(|s| admits(&s.meta) && functions.iter().any(|f| f.section == s.id))
            .cloned()
            .collect();

        Some(AbiVersion {
            extends: self.extends.clone(),
            name: self.name.clone(),
            version,
            previous,
            meta: self.meta.clone(),
            enums,
            sections,
            functions,
            formats: self
                .formats
                .iter()
                .filter(|f| admits(&f.meta))
                .map(|f| Format {
                    fields: f
                        .fields
                        .iter()
                        .filter(|x| admits(&x.meta))
                        .cloned()
                        .collect(),
                    ..f.clone()
                })
                .collect(),
            properties: self
                .properties
                .iter()
                .filter(|p| admits(&p.meta))
                .cloned()
                .collect(),
            properties_meta: self.properties_meta.clone(),
            access: self
                .access
                .iter()
                .filter(|r| admits(&r.meta))
                .map(|r| AccessRule {
                    grants: r
                        .grants
                        .iter()
                        .filter(|g| admits(&g.meta))
                        .cloned()
                        .collect(),
                    ..r.clone()
                })
                .collect(),
            access_meta: self.access_meta.clone(),
        })
    }
}

/// The first callback among `functions` named as `r` names it.
fn find_callback<'a>(functions: &'a [Function], r: &CallbackRef) -> Option<&'a Function> {
    functions
        .iter()
        .find(|f| !f.is_host() && !f.is_marker && f.name == r.name())
}

/// The enums that host functions' parameters chosen by `pick` select with,
/// each once, in first-use order: e.g. the map and buffer selectors
/// (`|p| p.access.is_some()`) or the stream selectors (`|p| p.resumes`).
pub fn selector_enums(functions: &[Function], pick: impl Fn(&Param) -> bool) -> Vec<&EnumRef> {
    let mut enums: Vec<&EnumRef> = Vec::new();
    for f in functions.iter().filter(|f| f.is_host()) {
        for p in f.params.iter().filter(|p| pick(p)) {
            if let Type::Enum(e) = &p.ty
                && !enums.contains(&e)
            {
                enums.push(e);
            }
        }
    }
    enums
}

/// What a function does to contexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextEffect {
    /// A callback announcing a new context: its first `context` parameter
    /// is the new one, its second the parent (0 for a plugin context).
    Create,
    /// A callback after which its `context` is gone.
    Delete,
    /// A host function whose success makes its `context` parameter the
    /// effective context.
    Switch,
}

impl ContextEffect {
    /// Every effect with its keyword in `@context(...)`.
    pub const ALL: [(&'static str, ContextEffect); 3] = [
        ("create", ContextEffect::Create),
        ("delete", ContextEffect::Delete),
        ("switch", ContextEffect::Switch),
    ];

    /// The keyword, e.g. `switch`.
    pub fn keyword(self) -> &'static str {
        match self {
            ContextEffect::Create => "create",
            ContextEffect::Delete => "delete",
            ContextEffect::Switch => "switch",
        }
    }
}

/// How a host function uses a map or buffer, or a restricted host function
/// as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessLevel {
    /// Reading: sizes, pairs, values, bytes.
    Read,
    /// Adding entries, without reading or changing existing ones.
    Add,
    /// Changing: setting, replacing, removing; also grants reading and adding.
    Modify,
    /// Calling a host function the rules restrict as a whole.
    Call,
}

impl AccessLevel {
    /// Every level with its keyword in the description.
    pub const ALL: [(&'static str, AccessLevel); 4] = [
        ("read", AccessLevel::Read),
        ("add", AccessLevel::Add),
        ("modify", AccessLevel::Modify),
        ("call", AccessLevel::Call),
    ];

    /// The keyword, e.g. `modify`.
    pub fn keyword(self) -> &'static str {
        match self {
            AccessLevel::Read => "read",
            AccessLevel::Add => "add",
            AccessLevel::Modify => "modify",
            AccessLevel::Call => "call",
        }
    }

    /// Whether a grant of `self` permits a use at `needed`.
    pub fn grants(self, needed: AccessLevel) -> bool {
        match self {
            AccessLevel::Modify => matches!(
                needed,
                AccessLevel::Read | AccessLevel::Add | AccessLevel::Modify
            ),
            other => other == needed,
        }
    }
}

/// When a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// While the named callback runs.
    In(String),
    /// While the effective context's stream stays paused from the named
    /// callback: it returned `PAUSE` there and was not resumed since.
    Paused(String),
    /// In any callback, while the effective context is a stream that has not
    /// yet got past the named callback (it never returned `CONTINUE` from
    /// it, nor was resumed after pausing there).
    Before(String),
}

impl Place {
    /// The keyword of the kind of place: `in`, `paused` or `before`.
    pub fn keyword(&self) -> &'static str {
        match self {
            Place::In(_) => "in",
            Place::Paused(_) => "paused",
            Place::Before(_) => "before",
        }
    }

    /// The callback the place names.
    pub fn callback(&self) -> &str {
        match self {
            Place::In(name) | Place::Paused(name) | Place::Before(name) => name,
        }
    }
}

/// One line of an access rule: `modify in proxy_on_request_headers, paused
/// proxy_on_request_headers;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// What is permitted.
    pub level: AccessLevel,
    /// Where; any one of them suffices.
    pub places: Vec<Place>,
    /// A `bool` parameter of the running callback that must be true
    /// (`when end_of_stream`); only with [`Place::In`] places.
    pub when: Option<String>,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Where it was declared.
    pub location: Location,
}

/// What an access rule is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// One map or buffer: a variant of the enum a host function's
    /// `@access` parameter selects with, e.g. `proxy_map_type_t.HTTP_REQUEST_HEADERS`.
    Variant {
        /// The enum, e.g. `proxy_map_type_t`.
        enum_name: String,
        /// The variant, e.g. `HTTP_REQUEST_HEADERS`.
        variant: String,
    },
    /// A host function restricted as a whole, e.g. `proxy_get_status`.
    Function(String),
}

impl core::fmt::Display for Subject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Subject::Variant { enum_name, variant } => write!(f, "{enum_name}.{variant}"),
            Subject::Function(name) => f.write_str(name),
        }
    }
}

/// `for proxy_map_type_t.HTTP_REQUEST_HEADERS { ... }`: everywhere one
/// subject may be used. Outside its grants, a use gets the host function's
/// `@forbidden` status and never reaches the host implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    /// What the rule is about.
    pub subject: Subject,
    /// The grants, in order.
    pub grants: Vec<Grant>,
    /// Docs, notes and gate.
    pub meta: Meta,
    /// Where it was declared.
    pub location: Location,
}
