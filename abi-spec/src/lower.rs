//! The one lowering from semantic signatures to wasm signatures.
//!
//! Every generator (JSON, Markdown, Rust, C, the linter, the checks) takes
//! parameter names, wasm types, C types and what each value is from here;
//! none re-derives them. Per semantic parameter, [`lower_param_typed`] gives
//! a [`ParamClass`] (how the parameter crosses the boundary); per wasm value,
//! [`WasmValue::kind`] says what the value is (a scalar, an address, a
//! length, an output slot), so emitters match on types, not C-type text.

use std::fmt;

use crate::ir::{Function, Param, Returns, Type};

/// A wasm value type used by the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
}

impl WasmType {
    /// `i32` or `i64`.
    pub fn keyword(self) -> &'static str {
        match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
        }
    }
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A value passed as itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `i64`.
    I64,
    /// `usize` (`size_t`, 32 bits on wasm32).
    Usize,
    /// `bool`: any `i32`, non-zero is true.
    Bool,
    /// A context id (`u32`).
    Context,
    /// A value of the named enum, e.g. `proxy_map_type_t`.
    Enum(String),
}

impl Scalar {
    /// The scalar a semantic type denotes, if it is one.
    pub fn of(ty: &Type) -> Option<Scalar> {
        Some(match ty {
            Type::U32 => Scalar::U32,
            Type::U64 => Scalar::U64,
            Type::I64 => Scalar::I64,
            Type::Usize => Scalar::Usize,
            Type::Bool => Scalar::Bool,
            Type::Context => Scalar::Context,
            Type::Enum(e) => Scalar::Enum(e.name().to_string()),
            _ => return None,
        })
    }

    /// Its wasm type.
    pub fn wasm(&self) -> WasmType {
        match self {
            Scalar::U64 | Scalar::I64 => WasmType::I64,
            _ => WasmType::I32,
        }
    }

    /// How many bytes it takes in guest memory (an output slot's width).
    pub fn width(&self) -> u32 {
        match self {
            Scalar::U64 | Scalar::I64 => 8,
            _ => 4,
        }
    }
}

/// What a run of plugin memory holds, for parameters passed as an address
/// and a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Bytes.
    Bytes,
    /// UTF-8 text.
    String,
    /// A serialized map.
    Map,
    /// A property path: segments separated by NUL.
    Path,
    /// A WASI iovec array (the length is a count of entries).
    Iovecs,
}

/// How one semantic parameter crosses the boundary: the one place that
/// pairs addresses with lengths and tells inputs from outputs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParamClass {
    /// One value, passed as itself.
    Scalar(Scalar),
    /// A raw guest address whose extent only the docs define (`ptr("...")`),
    /// with its number of indirections (`uint8_t **` has 2).
    RawPointer {
        /// How many `*` the C type has.
        indirection: u8,
    },
    /// An address and a length of plugin memory the host reads.
    Input(Shape),
    /// An address and a length of plugin memory the host writes into.
    Buffer,
    /// The address of a slot the host writes one scalar into.
    Out(Scalar),
    /// Addresses of two slots the host fills with the address and length of
    /// data it allocated in the plugin (`out bytes`, `out string`, `out map`).
    HostAllocated(Shape),
}

/// What one wasm value is, so no emitter reads it off the C type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A scalar passed as itself.
    Scalar(Scalar),
    /// The address of memory the host only reads.
    ConstAddress,
    /// The address of memory the host writes (a buffer).
    MutAddress,
    /// A raw address with this many indirections.
    RawPointer(u8),
    /// The length (or iovec count) of the memory at the address before it.
    Length,
    /// The address of a slot the host writes a scalar into.
    OutSlot(Scalar),
    /// The address of the slot that receives the address of host-allocated
    /// data; `text` when the data is a string (`const char **`).
    OutData {
        /// Whether the data is text.
        text: bool,
    },
    /// The address of the slot that receives that data's length.
    OutLength,
}

/// One wasm-level parameter or result, as the specification lists it:
/// `i32 (const char *) key_data`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WasmValue {
    /// E.g. `key_data`.
    pub name: String,
    /// E.g. `i32`.
    pub wasm: WasmType,
    /// E.g. `const char *`.
    pub c_type: String,
    /// What the value is, e.g. [`ValueKind::ConstAddress`].
    pub kind: ValueKind,
}

/// A semantic parameter lowered: its class and its wasm values in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoweredParam {
    /// How it crosses the boundary.
    pub class: ParamClass,
    /// Its wasm values: one, or an address and a length.
    pub values: Vec<WasmValue>,
}

/// A function's wasm signature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// Parameters in order.
    pub params: Vec<WasmValue>,
    /// Results (zero or one).
    pub results: Vec<WasmValue>,
}

impl fmt::Display for Signature {
    /// `(i32, i32) -> i32`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |values: &[WasmValue]| {
            values
                .iter()
                .map(|v| v.wasm.keyword())
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(f, "({})", list(&self.params))?;
        if !self.results.is_empty() {
            write!(f, " -> {}", list(&self.results))?;
        }
        Ok(())
    }
}

/// The wasm type and C type of a scalar semantic type.
fn scalar(ty: &Type) -> (WasmType, String) {
    match ty {
        Type::U32 | Type::Context => (WasmType::I32, "uint32_t".into()),
        Type::U64 => (WasmType::I64, "uint64_t".into()),
        Type::I64 => (WasmType::I64, "int64_t".into()),
        Type::Usize => (WasmType::I32, "size_t".into()),
        Type::Bool => (WasmType::I32, "bool".into()),
        Type::Enum(e) => (WasmType::I32, e.name().to_string()),
        Type::Ptr(c_type) => (WasmType::I32, c_type.clone()),
        // Pairs are handled by `lower_param`; as a single value they are a pointer.
        Type::Bytes | Type::Map | Type::Path | Type::Buffer => (WasmType::I32, "uint8_t *".into()),
        Type::String => (WasmType::I32, "const char *".into()),
        Type::Iovecs => (WasmType::I32, "wasi_iovec_array_t".into()),
    }
}

/// The default wasm-level names of a parameter, before any explicit override.
pub fn default_names(param: &Param) -> Vec<String> {
    let n = &param.name;
    let prefix = if param.out { "return_" } else { "" };
    match (&param.ty, param.out) {
        (Type::Map, _) => vec![
            format!("{prefix}serialized_{n}_data"),
            format!("{prefix}serialized_{n}_size"),
        ],
        (Type::Iovecs, _) => vec![n.clone(), format!("{n}_size")],
        (ty, _) if ty.is_pair() => vec![format!("{prefix}{n}_data"), format!("{prefix}{n}_size")],
        _ => vec![format!("{prefix}{n}")],
    }
}

/// The C types of each wasm-level value of a parameter.
fn c_types(param: &Param) -> Vec<String> {
    let pair = |data: &str, size: &str| vec![data.to_string(), size.to_string()];
    match (&param.ty, param.out) {
        (Type::Bytes | Type::Map, true) => pair("uint8_t **", "size_t *"),
        (Type::String, true) => pair("const char **", "size_t *"),
        (Type::Bytes | Type::Map | Type::Path, false) => pair("const uint8_t *", "size_t"),
        (Type::String, false) => pair("const char *", "size_t"),
        (Type::Buffer, _) => pair("uint8_t *", "size_t"),
        (Type::Iovecs, _) => pair("wasi_iovec_array_t", "size_t"),
        (ty, true) => vec![format!("{} *", scalar(ty).1)],
        (ty, false) => vec![scalar(ty).1],
    }
}

/// How many wasm values a parameter lowers to (1, or 2 for pointer + length).
pub fn slot_count(param: &Param) -> usize {
    default_names(param).len()
}

/// How many `*` a raw pointer's C type has (`uint8_t **` has 2).
fn indirection(c_type: &str) -> u8 {
    c_type.matches('*').count().try_into().unwrap_or(u8::MAX)
}

/// How `param` crosses the boundary.
pub fn classify(param: &Param) -> ParamClass {
    let shape = |ty: &Type| match ty {
        Type::String => Shape::String,
        Type::Map => Shape::Map,
        Type::Path => Shape::Path,
        Type::Iovecs => Shape::Iovecs,
        _ => Shape::Bytes,
    };
    match (&param.ty, param.out) {
        (Type::Ptr(c_type), _) => ParamClass::RawPointer {
            indirection: indirection(c_type),
        },
        (Type::Buffer, _) => ParamClass::Buffer,
        (ty, true) if ty.is_pair() => ParamClass::HostAllocated(shape(ty)),
        (ty, false) if ty.is_pair() => ParamClass::Input(shape(ty)),
        (ty, out) => {
            // Every remaining type is a scalar (the match on `Type` in
            // `Scalar::of` covers them all).
            let scalar = Scalar::of(ty).unwrap_or(Scalar::U32);
            if out {
                ParamClass::Out(scalar)
            } else {
                ParamClass::Scalar(scalar)
            }
        }
    }
}

/// The kinds of the wasm values of a parameter of class `class`.
fn value_kinds(class: &ParamClass) -> Vec<ValueKind> {
    match class {
        ParamClass::Scalar(s) => vec![ValueKind::Scalar(s.clone())],
        ParamClass::RawPointer { indirection } => vec![ValueKind::RawPointer(*indirection)],
        ParamClass::Input(_) => vec![ValueKind::ConstAddress, ValueKind::Length],
        ParamClass::Buffer => vec![ValueKind::MutAddress, ValueKind::Length],
        ParamClass::Out(s) => vec![ValueKind::OutSlot(s.clone())],
        ParamClass::HostAllocated(shape) => vec![
            ValueKind::OutData {
                text: *shape == Shape::String,
            },
            ValueKind::OutLength,
        ],
    }
}

/// Lowers one semantic parameter to its class and wasm values.
pub fn lower_param_typed(param: &Param) -> LoweredParam {
    LoweredParam {
        class: classify(param),
        values: lower_param(param),
    }
}

/// Lowers one semantic parameter to its wasm values.
pub fn lower_param(param: &Param) -> Vec<WasmValue> {
    let names = param
        .lowered_names
        .clone()
        .unwrap_or_else(|| default_names(param));
    let wasm_of = |i: usize| {
        // Only scalars passed by value can be 64-bit; pointers and lengths are i32.
        if i == 0 && !param.out && !param.ty.is_pair() {
            scalar(&param.ty).0
        } else {
            WasmType::I32
        }
    };
    let kinds = value_kinds(&classify(param));
    names
        .into_iter()
        .zip(c_types(param))
        .zip(kinds)
        .enumerate()
        .map(|(i, ((name, c_type), kind))| WasmValue {
            name,
            wasm: wasm_of(i),
            c_type,
            kind,
        })
        .collect()
}

/// Lowers a result.
pub fn lower_result(result: &Returns) -> WasmValue {
    let (wasm, c_type) = scalar(&result.ty);
    let kind = match &result.ty {
        Type::Ptr(c_type) => ValueKind::RawPointer(indirection(c_type)),
        ty => ValueKind::Scalar(Scalar::of(ty).unwrap_or(Scalar::U32)),
    };
    WasmValue {
        name: result.name.clone(),
        wasm,
        c_type,
        kind,
    }
}

/// Lowers a whole function to the signature the specification lists.
pub fn lower(function: &Function) -> Signature {
    Signature {
        params: function.params.iter().flat_map(lower_param).collect(),
        results: function.result.iter().map(lower_result).collect(),
    }
}
