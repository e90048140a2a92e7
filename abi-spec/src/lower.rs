//! The one lowering from semantic signatures to wasm signatures.
//!
//! Every generator (JSON, Markdown, Rust, C, the linter) takes parameter
//! names, wasm types and C types from here; none re-derives them.

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
        Type::Enum(name) => (WasmType::I32, name.clone()),
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
    names
        .into_iter()
        .zip(c_types(param))
        .enumerate()
        .map(|(i, (name, c_type))| WasmValue {
            name,
            wasm: wasm_of(i),
            c_type,
        })
        .collect()
}

/// Lowers a result.
pub fn lower_result(result: &Returns) -> WasmValue {
    let (wasm, c_type) = scalar(&result.ty);
    WasmValue {
        name: result.name.clone(),
        wasm,
        c_type,
    }
}

/// Lowers a whole function to the signature the specification lists.
pub fn lower(function: &Function) -> Signature {
    Signature {
        params: function.params.iter().flat_map(lower_param).collect(),
        results: function.result.iter().map(lower_result).collect(),
    }
}
