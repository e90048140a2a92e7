//! Rust types as wasm types, and a Rust signature against a lowered one.
//!
//! The expected side always comes from [`lower`]; nothing here re-derives
//! the lowering, it only reads the Rust syntax the user wrote.

use proc_macro2::{Span, TokenStream};
use proxy_wasm_abi_spec::ir::{Function, Version};
use proxy_wasm_abi_spec::lower::{Scalar, ValueKind, WasmType, WasmValue, lower};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ReturnType, Type};

use super::{Errors, Unsound};

/// What a Rust type in an `extern "C"` signature is at the wasm level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustWasm {
    /// One value of this wasm type.
    Value(WasmType),
    /// `()` or `!`: no value at all (a function without result).
    Nothing,
    /// `&T` or `&mut T`: refused, since the host sees a bare address and
    /// cannot uphold what a reference promises.
    Reference,
    /// Anything else, e.g. an SDK's own enum: its wasm type is not knowable
    /// from syntax.
    Unknown,
}

/// The wasm type of a Rust type as written, for `wasm32`: 32-bit integers,
/// `isize`/`usize`, `bool` and raw pointers are `i32`; 64-bit integers `i64`.
pub fn rust_wasm_type(ty: &Type) -> RustWasm {
    match ty {
        Type::Paren(inner) => rust_wasm_type(&inner.elem),
        // Types passed through `macro_rules!` arrive wrapped in invisible groups.
        Type::Group(inner) => rust_wasm_type(&inner.elem),
        Type::Ptr(_) => RustWasm::Value(WasmType::I32),
        Type::Reference(_) => RustWasm::Reference,
        Type::Tuple(tuple) if tuple.elems.is_empty() => RustWasm::Nothing,
        Type::Never(_) => RustWasm::Nothing,
        Type::Path(path) if path.qself.is_none() => {
            primitive(&path.path).map_or(RustWasm::Unknown, RustWasm::Value)
        }
        _ => RustWasm::Unknown,
    }
}

/// `u32`, or the same through `core::primitive::u32` / `std::primitive::u32`.
fn primitive(path: &syn::Path) -> Option<WasmType> {
    if path.segments.iter().any(|s| !s.arguments.is_none()) {
        return None;
    }
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let name = match segments.as_slice() {
        [name] if path.leading_colon.is_none() => name,
        [root, module, name] if (root == "core" || root == "std") && module == "primitive" => name,
        _ => return None,
    };
    match name.as_str() {
        "i32" | "u32" | "isize" | "usize" | "bool" => Some(WasmType::I32),
        "i64" | "u64" => Some(WasmType::I64),
        _ => None,
    }
}

/// How many bytes the host writes through an out-pointer, or `None` for a
/// value that is no out-pointer.
fn slot_bytes(want: &WasmValue) -> Option<usize> {
    match &want.kind {
        ValueKind::OutSlot(Scalar::U64 | Scalar::I64) => Some(8),
        ValueKind::OutSlot(_) | ValueKind::OutLength | ValueKind::OutData { .. } => Some(4),
        _ => None,
    }
}

/// The size on `wasm32` of what a raw pointer type points to, when its
/// pointee is a primitive or a pointer; `None` for anything else (an SDK
/// type, whose size the syntax does not tell).
fn pointee_bytes(ty: &Type) -> Option<usize> {
    let Type::Ptr(pointer) = bare(ty) else {
        return None;
    };
    match bare(&pointer.elem) {
        Type::Ptr(_) => Some(4),
        Type::Path(path) if path.qself.is_none() => {
            let [segment] = path.path.segments.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            match segment.ident.to_string().as_str() {
                "u8" | "i8" | "bool" => Some(1),
                "u16" | "i16" => Some(2),
                "u32" | "i32" | "usize" | "isize" | "f32" => Some(4),
                "u64" | "i64" | "f64" => Some(8),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The Rust type an SDK should declare for a wasm value, from what the
/// lowering says it is: `const char *` is `*const u8`, `size_t *` is
/// `*mut usize`, an enum `u32` (an SDK's own enum type is checked apart).
pub(super) fn suggested_rust_type(value: &WasmValue) -> String {
    let scalar = |s: &Scalar| match s {
        Scalar::U64 => "u64",
        Scalar::I64 => "i64",
        Scalar::Usize => "usize",
        Scalar::U32 | Scalar::Context | Scalar::Bool | Scalar::Enum(_) => "u32",
    };
    match &value.kind {
        ValueKind::Scalar(s) => scalar(s).to_string(),
        ValueKind::ConstAddress => "*const u8".to_string(),
        ValueKind::MutAddress => "*mut u8".to_string(),
        ValueKind::RawPointer(indirection) => {
            let mut rust = "u8".to_string();
            for _ in 0..(*indirection).max(1) {
                rust = format!("*mut {rust}");
            }
            rust
        }
        ValueKind::Length => "usize".to_string(),
        ValueKind::OutSlot(s) => format!("*mut {}", scalar(s)),
        ValueKind::OutData { text: false } => "*mut *mut u8".to_string(),
        ValueKind::OutData { text: true } => "*mut *const u8".to_string(),
        ValueKind::OutLength => "*mut usize".to_string(),
    }
}

/// Which way values cross the boundary, which decides who may produce an
/// out-of-range value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// A host function the plugin imports: the host produces the result.
    Import,
    /// A callback the plugin exports: the host produces the parameters.
    Export,
}

/// `i32 status (`proxy_status_t`)`.
fn describe(value: &WasmValue) -> String {
    format!("{} {} (`{}`)", value.wasm, value.name, value.c_type)
}

/// `i32 log_level, i32 message_data, i32 message_size`.
fn describe_list(values: &[WasmValue]) -> String {
    values
        .iter()
        .map(|v| format!("{} {}", v.wasm, v.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// A type as a user writes it (`&mut u32`, not the token string `& mut u32`).
pub(super) fn shown(ty: &Type) -> String {
    let item: syn::ItemType = syn::parse_quote!(type T = #ty;);
    let file = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: vec![syn::Item::Type(item)],
    };
    let text = prettyplease::unparse(&file);
    text.trim()
        .strip_prefix("type T = ")
        .and_then(|t| t.strip_suffix(';'))
        .map_or_else(|| ty.to_token_stream().to_string(), str::to_string)
}

/// `u32`, which is i64 / `()`, which has no wasm value / just `i64`.
fn describe_found(ty: &Type, found: RustWasm) -> String {
    let text = shown(ty);
    match found {
        RustWasm::Value(w) if text == w.keyword() => format!("`{text}`"),
        RustWasm::Value(w) => format!("`{text}`, which is {w}"),
        RustWasm::Unknown => format!("`{text}`"),
        _ => format!("`{text}`, which has no wasm value"),
    }
}

/// Where in the signature a type stands, for messages.
#[derive(Clone, Copy)]
enum Position {
    Param(usize),
    Result,
}

/// Checks `sig` against the lowering of `function` in `version`, adding an
/// error per problem: arity, each parameter's and the result's wasm type,
/// receivers, references and types whose wasm type is unknowable.
pub(super) fn check(
    errors: &mut Errors,
    out: &mut Emitted,
    sig: &syn::Signature,
    function: &Function,
    version: Version,
    side: Side,
) {
    let expected = lower(function);
    let name = function.qualified_name();
    let arity_matches = sig.inputs.len() == expected.params.len();
    if !arity_matches {
        let wanted = if expected.params.is_empty() {
            format!("takes no parameters in v{version}")
        } else {
            format!(
                "takes {} in v{version} ({})",
                plural(expected.params.len(), "parameter"),
                describe_list(&expected.params)
            )
        };
        errors.at(
            sig.paren_token.span.join(),
            format!("`{name}` {wanted}, found {}", sig.inputs.len()),
        );
    }

    for (index, input) in sig.inputs.iter().enumerate() {
        let ty = match input {
            FnArg::Receiver(receiver) => {
                let fix = match side {
                    Side::Import => "remove it",
                    Side::Export => "make it an associated function",
                };
                errors.on(
                    receiver,
                    format!(
                        "`{name}` passes only i32 and i64 values, so it cannot take `self`; {fix}"
                    ),
                );
                continue;
            }
            FnArg::Typed(typed) => &*typed.ty,
        };
        // With the wrong arity the pairing of parameters is a guess, so only
        // problems of the type itself are reported.
        let wanted = expected.params.get(index).filter(|_| arity_matches);
        // Nor is an SDK type reported then: it may well be right where the
        // pairing is known, so the arity error stands alone.
        if wanted.is_none() && rust_wasm_type(ty) == RustWasm::Unknown {
            continue;
        }
        let context = Context {
            name: &name,
            version,
            side,
            position: Position::Param(index),
        };
        check_type(errors, out, ty, wanted, &context);
    }

    let wanted = expected.results.first();
    let context = Context {
        name: &name,
        version,
        side,
        position: Position::Result,
    };
    match &sig.output {
        ReturnType::Type(_, ty) => {
            let found = rust_wasm_type(ty);
            match (found, wanted) {
                (RustWasm::Nothing, Some(want)) => errors.on(
                    ty,
                    format!(
                        "`{name}` returns {} in v{version}, found `{}`; declare it as `{}`",
                        describe(want),
                        shown(ty),
                        context.suggestion(want)
                    ),
                ),
                (RustWasm::Value(_) | RustWasm::Unknown, None) => errors.on(
                    ty,
                    format!(
                        "`{name}` returns nothing in v{version}, found {}",
                        describe_found(ty, found)
                    ),
                ),
                (RustWasm::Nothing, None) => {}
                _ => check_type(errors, out, ty, wanted, &context),
            }
        }
        ReturnType::Default => {
            if let Some(want) = wanted {
                errors.at(
                    sig.paren_token.span.close(),
                    format!(
                        "`{name}` returns {} in v{version}, found no result; add `-> {}`",
                        describe(want),
                        context.suggestion(want)
                    ),
                );
            }
        }
    }
}

/// What a type is checked for.
struct Context<'a> {
    name: &'a str,
    version: Version,
    side: Side,
    position: Position,
}

impl Context<'_> {
    /// `parameter 2 of `proxy_log`` / `the result of `proxy_log``.
    fn what(&self) -> String {
        match self.position {
            Position::Param(i) => format!("parameter {} of `{}`", i + 1, self.name),
            Position::Result => format!("the result of `{}`", self.name),
        }
    }

    /// The Rust type to declare for `want`. A `bool` the plugin produces is
    /// always 0 or 1, so it may stay `bool`; one the host produces may not be.
    fn suggestion(&self, want: &WasmValue) -> String {
        if want.kind == ValueKind::Scalar(Scalar::Bool) && !self.produced_by_host() {
            "bool".to_string()
        } else {
            suggested_rust_type(want)
        }
    }

    /// True when the host produces this value, so an unknown value can reach
    /// the plugin.
    fn produced_by_host(&self) -> bool {
        matches!(
            (self.side, self.position),
            (Side::Import, Position::Result) | (Side::Export, Position::Param(_))
        )
    }
}

fn check_type(
    errors: &mut Errors,
    out: &mut Emitted,
    ty: &Type,
    wanted: Option<&WasmValue>,
    context: &Context<'_>,
) {
    let version = context.version;
    let found = rust_wasm_type(ty);
    if let Some((spec_enum, want)) = wanted.and_then(|want| Some((enum_of(want)?, want)))
        && check_enum(errors, out, ty, spec_enum, want, context)
    {
        return;
    }
    match found {
        RustWasm::Value(w) => {
            if let Some(want) = wanted.filter(|want| want.wasm != w) {
                errors.on(
                    ty,
                    format!(
                        "{} in v{version} is {}, found {}; declare it as `{}`",
                        context.what(),
                        describe(want),
                        describe_found(ty, found),
                        context.suggestion(want)
                    ),
                );
            } else if let Some((want, found_bytes, slot_bytes)) = wanted.and_then(|want| {
                let (found, slot) = (pointee_bytes(ty)?, slot_bytes(want)?);
                (found != slot).then_some((want, found, slot))
            }) {
                errors.on(
                    ty,
                    format!(
                        "{} in v{version} is {}: the host writes {slot_bytes} bytes through it, but `{}` points to {found_bytes}; declare it as `{}`",
                        context.what(),
                        describe(want),
                        shown(ty),
                        context.suggestion(want)
                    ),
                );
            }
        }
        RustWasm::Nothing => {
            let want = wanted.map_or_else(|| "a wasm value".to_string(), describe);
            errors.on(
                ty,
                format!(
                    "{} in v{version} is {want}, found {}",
                    context.what(),
                    describe_found(ty, found)
                ),
            );
        }
        RustWasm::Reference => {
            // The expected value says what to write (a plain `usize`, or a
            // pointer); without it, the same reference as a raw pointer.
            let suggestion = match (wanted, ty) {
                (Some(want), _) => context.suggestion(want),
                (None, Type::Reference(r)) => {
                    let mutability = if r.mutability.is_some() {
                        "mut"
                    } else {
                        "const"
                    };
                    format!("*{mutability} {}", shown(&r.elem))
                }
                (None, _) => "a raw pointer".to_string(),
            };
            errors.on(
                ty,
                format!(
                    "`{}` is a reference, which the host cannot honour: it passes a bare i32; use `{suggestion}`",
                    shown(ty)
                ),
            );
        }
        RustWasm::Unknown => {
            let shown = shown(ty);
            let mut message = match wanted {
                Some(want) => format!(
                    "cannot check the wasm type of `{shown}`: {} in v{version} is {}; declare it as `{}`",
                    context.what(),
                    describe(want),
                    context.suggestion(want)
                ),
                None => format!(
                    "cannot check the wasm type of `{shown}`: only i32, u32, isize, usize, bool, i64, u64, raw pointers and `()` have a known wasm type"
                ),
            };
            if context.produced_by_host() {
                let (verb, produces) = match context.position {
                    Position::Result => ("returned", "returns"),
                    Position::Param(_) => ("received", "passes"),
                };
                message.push_str(&format!(
                    " and convert it (e.g. with `TryFrom<u32>` from `#[derive(AbiEnum)]`): an enum {verb} by value across `extern \"C\"` is undefined behaviour when the host {produces} a value the enum does not have"
                ));
            }
            errors.on(ty, message);
        }
    }
}

/// Items a check emits beside the block it checked: a trait bound per SDK
/// enum the ABI passes by value, and (with `unsound = "warn"`) one warning
/// per unsound shape.
pub(super) struct Emitted {
    unsound: Unsound,
    runtime: syn::Path,
    items: Vec<TokenStream>,
}

impl Emitted {
    pub(super) fn new(unsound: Unsound, runtime: syn::Path) -> Self {
        Emitted {
            unsound,
            runtime,
            items: Vec::new(),
        }
    }

    pub(super) fn into_items(self) -> Vec<TokenStream> {
        self.items
    }

    /// `ty` must mirror `spec_enum` and be `#[repr(u32)]`: the runtime's
    /// `mirror::passed_as` says so in a bound the compiler checks against
    /// what `#[derive(AbiEnum)]` implemented, with the error on `ty`.
    fn bound(&mut self, ty: &Type, spec_enum: &str) {
        let marker = syn::Ident::new(spec_enum, ty.span());
        let rt = &self.runtime;
        self.items.push(quote_spanned! {ty.span()=>
            const _: () = #rt::mirror::passed_as::<#rt::mirror::spec::#marker, #ty>();
        });
    }

    /// Reports a shape that is undefined behaviour: an error, or in warn mode
    /// a use of a deprecated item spanned on `ty`, which stable Rust reports
    /// as a warning without failing the build.
    fn unsound(&mut self, errors: &mut Errors, ty: &Type, message: String) {
        match self.unsound {
            Unsound::Error => errors.on(
                ty,
                format!("{message} (`unsound = \"warn\"` on the attribute reports this as a warning instead, to fix one at a time)"),
            ),
            Unsound::Warn => {
                let use_site = quote_spanned!(ty.span()=> UnsoundShape);
                self.items.push(quote! {
                    const _: () = {
                        #[deprecated(note = #message)]
                        struct UnsoundShape;
                        let _ = #use_site;
                    };
                });
            }
        }
    }
}

/// The spec enum a value carries, by value or through an out-pointer.
fn enum_of(want: &WasmValue) -> Option<&str> {
    match &want.kind {
        ValueKind::Scalar(Scalar::Enum(name)) | ValueKind::OutSlot(Scalar::Enum(name)) => {
            Some(name)
        }
        _ => None,
    }
}

/// `T` without the invisible groups and parentheses it may arrive in.
fn bare(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => bare(&inner.elem),
        Type::Group(inner) => bare(&inner.elem),
        _ => ty,
    }
}

/// Checks an SDK type standing where the ABI passes the enum `spec_enum`,
/// by value or through an out-pointer. Returns false when `ty` is not an SDK
/// type there (a primitive, or a pointer to one), so the plain wasm-type
/// check applies instead.
fn check_enum(
    errors: &mut Errors,
    out: &mut Emitted,
    ty: &Type,
    spec_enum: &str,
    want: &WasmValue,
    context: &Context<'_>,
) -> bool {
    let (name, version) = (context.name, context.version);
    let fix = |declared: &str, enum_ty: &Type| {
        format!(
            "declare {declared} and convert with `{}::try_from` (from `#[derive(AbiEnum)]`), which hands an unknown value back as an error",
            shown(enum_ty)
        )
    };
    match &want.kind {
        ValueKind::Scalar(_) => {
            if rust_wasm_type(ty) != RustWasm::Unknown {
                return false;
            }
            out.bound(ty, spec_enum);
            let shown_ty = shown(ty);
            let undefined = format!(
                "undefined behaviour when the host sends a value `{shown_ty}` has no variant for (`{spec_enum}` in v{version} may carry others, and hosts send them)"
            );
            match context.position {
                Position::Result if context.side == Side::Import => out.unsound(
                    errors,
                    ty,
                    format!(
                        "`{shown_ty}` returned by value from `{name}` is {undefined}; {}",
                        fix("`-> u32`", ty)
                    ),
                ),
                Position::Param(index) if context.side == Side::Export => out.unsound(
                    errors,
                    ty,
                    format!(
                        "`{shown_ty}` received by value as parameter {} of `{name}` is {undefined}; {}",
                        index + 1,
                        fix("it as `u32`", ty)
                    ),
                ),
                // The plugin produces the value: any variant is a valid one.
                _ => {}
            }
            true
        }
        ValueKind::OutSlot(_) => {
            let Type::Ptr(pointer) = bare(ty) else {
                return false;
            };
            if rust_wasm_type(&pointer.elem) != RustWasm::Unknown {
                return false;
            }
            let pointee = shown(&pointer.elem);
            out.unsound(
                errors,
                ty,
                format!(
                    "`{}` lets the host write any u32 into a `{pointee}` ({}, `{}`), which is undefined behaviour when the value has no variant in `{pointee}`; {}",
                    shown(ty),
                    context.what(),
                    want.c_type,
                    fix("it as `*mut u32`", &pointer.elem)
                ),
            );
            true
        }
        _ => false,
    }
}

/// The span to blame for a function's name: its `#[link_name]` literal when
/// present, else the identifier.
pub(super) fn name_span(ident: &syn::Ident, link_name: Option<&syn::LitStr>) -> Span {
    link_name.map_or_else(|| ident.span(), syn::LitStr::span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasm(ty: &str) -> RustWasm {
        rust_wasm_type(&syn::parse_str(ty).expect("a type"))
    }

    #[test]
    fn integers_pointers_and_bool_are_i32() {
        for ty in [
            "i32",
            "u32",
            "isize",
            "usize",
            "bool",
            "*const u8",
            "*mut *mut u8",
            "(u32)",
            "core::primitive::u32",
            "std::primitive::usize",
        ] {
            assert_eq!(wasm(ty), RustWasm::Value(WasmType::I32), "{ty}");
        }
    }

    #[test]
    fn sixty_four_bit_integers_are_i64() {
        for ty in ["i64", "u64", "::core::primitive::u64"] {
            assert_eq!(wasm(ty), RustWasm::Value(WasmType::I64), "{ty}");
        }
    }

    #[test]
    fn unit_and_never_have_no_value() {
        assert_eq!(wasm("()"), RustWasm::Nothing);
        assert_eq!(wasm("!"), RustWasm::Nothing);
    }

    #[test]
    fn references_are_refused() {
        assert_eq!(wasm("&u8"), RustWasm::Reference);
        assert_eq!(wasm("&'static mut [u8]"), RustWasm::Reference);
    }

    #[test]
    fn other_types_are_unknown() {
        for ty in [
            "Status",
            "u8",
            "u16",
            "i128",
            "f32",
            "Option<u32>",
            "crate::u32",
            "core::ffi::c_int",
            "(u32, u32)",
            "[u8; 4]",
        ] {
            assert_eq!(wasm(ty), RustWasm::Unknown, "{ty}");
        }
    }

    #[test]
    fn suggestions_follow_the_c_types() {
        // The C type the lowering prints beside the kind it gives, and the
        // Rust type an SDK should declare.
        let value = |wasm, c_type: &str, kind| WasmValue {
            name: "n".into(),
            wasm,
            c_type: c_type.into(),
            kind,
        };
        let level = || Scalar::Enum("proxy_log_level_t".into());
        let cases = [
            (
                WasmType::I32,
                "uint32_t",
                ValueKind::Scalar(Scalar::U32),
                "u32",
            ),
            (
                WasmType::I32,
                "proxy_status_t",
                ValueKind::Scalar(Scalar::Enum("proxy_status_t".into())),
                "u32",
            ),
            (
                WasmType::I32,
                "size_t",
                ValueKind::Scalar(Scalar::Usize),
                "usize",
            ),
            (
                WasmType::I64,
                "uint64_t",
                ValueKind::Scalar(Scalar::U64),
                "u64",
            ),
            (
                WasmType::I64,
                "int64_t",
                ValueKind::Scalar(Scalar::I64),
                "i64",
            ),
            (
                WasmType::I32,
                "const char *",
                ValueKind::ConstAddress,
                "*const u8",
            ),
            (
                WasmType::I32,
                "const uint8_t *",
                ValueKind::ConstAddress,
                "*const u8",
            ),
            (WasmType::I32, "uint8_t *", ValueKind::MutAddress, "*mut u8"),
            (
                WasmType::I32,
                "uint8_t **",
                ValueKind::OutData { text: false },
                "*mut *mut u8",
            ),
            (
                WasmType::I32,
                "uint8_t **",
                ValueKind::RawPointer(2),
                "*mut *mut u8",
            ),
            (
                WasmType::I32,
                "const char **",
                ValueKind::OutData { text: true },
                "*mut *const u8",
            ),
            (
                WasmType::I32,
                "size_t *",
                ValueKind::OutLength,
                "*mut usize",
            ),
            (
                WasmType::I32,
                "uint64_t *",
                ValueKind::OutSlot(Scalar::U64),
                "*mut u64",
            ),
            (
                WasmType::I32,
                "proxy_log_level_t *",
                ValueKind::OutSlot(level()),
                "*mut u32",
            ),
        ];
        for (wasm, c_type, kind, rust) in cases {
            assert_eq!(
                suggested_rust_type(&value(wasm, c_type, kind)),
                rust,
                "{c_type}"
            );
        }
    }

    #[test]
    fn every_lowered_value_suggests_a_type_of_the_same_wasm_type() {
        // The suggestion must itself pass the check, for every function.
        for version in &super::super::spec().versions {
            for function in &version.functions {
                let sig = lower(function);
                for value in sig.params.iter().chain(&sig.results) {
                    let rust = suggested_rust_type(value);
                    assert_eq!(
                        wasm(&rust),
                        RustWasm::Value(value.wasm),
                        "{} {}",
                        function.name,
                        value.name
                    );
                }
            }
        }
    }
}
