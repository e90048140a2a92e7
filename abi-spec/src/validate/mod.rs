//! Checks a syntax tree and turns it into the IR, collecting every error.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, Source, Span};
use crate::ir::*;
use crate::lower;
use crate::syntax::{self, Spanned};

mod attrs;

use attrs::{Allowed, Attrs};

/// Validates `file` (parsed from `source`) into an [`Abi`]. `base` is the
/// ABI an extension adds to (one version of it), when the file says `extends`.
pub fn validate(
    source: &Source,
    file: &syntax::File,
    base: Option<&Abi>,
) -> Result<Abi, Diagnostics> {
    let mut v = Validator {
        source,
        path: Arc::from(source.path.as_str()),
        errors: Diagnostics::default(),
        versions: Vec::new(),
        base,
        callback_lists: Vec::new(),
        access_attrs: Vec::new(),
    };
    let abi = v.file(file);
    if v.errors.is_empty() {
        Ok(abi)
    } else {
        v.errors
            .0
            .sort_by_key(|d| (d.location.line, d.location.column));
        Err(v.errors)
    }
}

/// Callback names written in an attribute, checked once every function is
/// known: each must be a callback present wherever the item carrying it is.
struct CallbackList {
    /// Where the variant or function carrying the list is declared: its
    /// `location`, which the checked list is stored back into.
    owner: Location,
    /// The names as written.
    names: Vec<Spanned<String>>,
    /// The item's gates; the list applies where all of them admit.
    gates: Vec<Gate>,
    /// How the versions are named in messages: "where `X` exists".
    context: String,
}

/// An `@on_invalid` status as written, with the index of its parameter
/// among those `params` returns: checked once the result is known.
type OnInvalid = (usize, Spanned<String>);

/// What `function` knows about a function's attributes that the whole-file
/// checks need.
#[derive(Default)]
struct FunctionSpans {
    /// The `@forbidden` attribute, when written.
    forbidden: Option<Span>,
}

/// The function `function` is checking, for the checks of its parts.
struct FuncCx<'a> {
    /// Its declaration.
    func: &'a syntax::FuncDecl,
    /// Whether it is a host function rather than a callback.
    is_host: bool,
    /// Its gate: the values it names must exist wherever it does.
    gate: Gate,
    /// Every enum of the ABI.
    enums: &'a [Enum],
}

impl<'a> FuncCx<'a> {
    /// The enum a result of type `ty` is, if any.
    fn result_enum(&self, ty: Option<&Type>) -> Option<&'a Enum> {
        match ty {
            Some(Type::Enum(r)) => self.enums.iter().find(|e| e.name == r.name()),
            _ => None,
        }
    }
}

struct Validator<'s> {
    source: &'s Source,
    path: Arc<str>,
    errors: Diagnostics,
    versions: Vec<Version>,
    base: Option<&'s Abi>,
    /// `@resumes(...)` lists of this file's variants and functions.
    callback_lists: Vec<CallbackList>,
    /// `@access` attributes of this file's parameters: the enum they select
    /// with and the attribute's span.
    access_attrs: Vec<(String, Span)>,
}

impl Validator<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(self.source, span, message));
    }

    fn location(&self, span: Span) -> Location {
        let (line, column) = self.source.line_col(span.start);
        Location {
            path: self.path.clone(),
            line,
            column,
        }
    }

    /// Reports a second definition of something already defined at `first`.
    fn duplicate(&mut self, what: &str, name: &Spanned<String>, first: Span) {
        let related = self.location(first);
        self.errors.push(
            Diagnostic::new(
                self.source,
                name.span,
                format!("{what} `{}` is defined twice", name.value),
            )
            .with_related("first defined", related),
        );
    }

    fn file(&mut self, file: &syntax::File) -> Abi {
        self.versions = match self.base {
            Some(base) => base.versions.clone(),
            None => self.header_versions(&file.header.versions),
        };
        let header = self.attrs(&file.header.meta, Allowed::NotesOnly);

        let mut enums = Vec::new();
        let mut sections = Vec::new();
        let mut function_decls = Vec::new();
        let mut formats = Vec::new();
        let mut properties = Vec::new();
        let mut properties_meta = Meta::default();
        let mut properties_seen: Option<Span> = None;
        let mut access_decl: Option<&syntax::AccessDecl> = None;
        let mut access_meta = Meta::default();
        for item in &file.items {
            match item {
                syntax::Item::Enum(e) => enums.push(self.enum_decl(e)),
                syntax::Item::Section(s) => {
                    let attrs = self.attrs(&s.meta, Allowed::Gated);
                    sections.push((
                        s.id.clone(),
                        Section {
                            id: s.id.value.clone(),
                            title: s.title.value.clone(),
                            meta: attrs.meta,
                        },
                    ));
                    for f in &s.functions {
                        function_decls.push((s.id.value.clone(), f));
                    }
                }
                syntax::Item::Format(f) => formats.push(self.format(f)),
                syntax::Item::Properties(p) => {
                    if let Some(first) = properties_seen {
                        let related = self.location(first);
                        self.errors.push(
                            Diagnostic::new(self.source, p.span, "`properties` is defined twice")
                                .with_related("first defined", related),
                        );
                    }
                    properties_seen = Some(p.span);
                    properties_meta = self.attrs(&p.meta, Allowed::NotesOnly).meta;
                    properties.extend(self.properties(p));
                }
                syntax::Item::Access(a) => {
                    if let Some(first) = access_decl {
                        let related = self.location(first.span);
                        self.errors.push(
                            Diagnostic::new(self.source, a.span, "`access` is defined twice")
                                .with_related("first defined", related),
                        );
                        continue;
                    }
                    access_decl = Some(a);
                    access_meta = self.attrs(&a.meta, Allowed::NotesOnly).meta;
                }
            }
        }

        self.unique(
            "enum",
            enums.iter().map(|(n, _): &(Spanned<String>, Enum)| n),
        );
        self.unique("section", sections.iter().map(|(n, _)| n));
        self.unique(
            "format",
            formats.iter().map(|(n, _): &(Spanned<String>, Format)| n),
        );
        if let Some(base) = self.base {
            // An extension may add to the base, never redefine what it has.
            for (name, _) in &enums {
                if let Some(e) = base.enums.iter().find(|e| e.name == name.value) {
                    self.redefined("enum", name, e.location.clone());
                }
            }
            for (id, _) in &sections {
                if base.sections.iter().any(|s| s.id == id.value) {
                    self.error(
                        id.span,
                        format!(
                            "section `{}` is already defined by the base description",
                            id.value
                        ),
                    );
                }
            }
        }
        let mut all_enums = self.base.map(|b| b.enums.clone()).unwrap_or_default();
        all_enums.extend(enums.into_iter().map(|(_, e)| e));

        let mut functions = Vec::new();
        let mut function_spans = Vec::new();
        for (section, decl) in &function_decls {
            if let Some((f, spans)) = self.function(section, decl, &all_enums) {
                functions.push(f);
                function_spans.push(spans);
            }
        }
        let own_count = functions.len();
        let mut all_functions = self.base.map(|b| b.functions.clone()).unwrap_or_default();
        let base_functions = all_functions.len();
        all_functions.extend(functions);
        self.check_function_names(&all_functions);
        let own = &all_functions[all_functions.len() - own_count..];
        self.check_replacements(own, &all_functions);
        let resolved = self.check_callback_lists(&all_functions);
        let own_enums = self.base.map_or(0, |b| b.enums.len());
        Self::store_callback_lists(
            resolved,
            &mut all_enums[own_enums..],
            &mut all_functions[base_functions..],
        );

        let own_rules = match access_decl {
            Some(decl) => self.access_rules(decl, &all_enums, &all_functions),
            None => Vec::new(),
        };
        let all_access = self.check_access(
            own_rules,
            access_decl.map(|a| a.span),
            &all_enums,
            &all_functions,
            &function_spans,
        );
        let access_meta = match self.base {
            Some(b) if access_meta == Meta::default() => b.access_meta.clone(),
            _ => access_meta,
        };

        let mut all_sections = self.base.map(|b| b.sections.clone()).unwrap_or_default();
        all_sections.extend(sections.into_iter().map(|(_, s)| s));
        let mut all_formats = self.base.map(|b| b.formats.clone()).unwrap_or_default();
        all_formats.extend(formats.into_iter().map(|(_, f)| f));
        let mut all_properties = self.base.map(|b| b.properties.clone()).unwrap_or_default();
        all_properties.extend(properties);
        let properties_meta = match self.base {
            Some(b) if properties_meta == Meta::default() => b.properties_meta.clone(),
            _ => properties_meta,
        };
        let extends = self
            .base
            .and_then(|b| Some((b.name.clone(), *b.versions.first()?)));
        Abi {
            name: file.header.name.value.clone(),
            meta: header.meta,
            versions: self.versions.clone(),
            enums: all_enums,
            sections: all_sections,
            functions: all_functions,
            formats: all_formats,
            properties: all_properties,
            properties_meta,
            access: all_access,
            access_meta,
            extends,
        }
    }

    /// Reports a name the base description already defines.
    fn redefined(&mut self, what: &str, name: &Spanned<String>, base: Location) {
        self.errors.push(
            Diagnostic::new(
                self.source,
                name.span,
                format!(
                    "{what} `{}` is already defined by the base description",
                    name.value
                ),
            )
            .with_related("defined", base),
        );
    }

    fn header_versions(&mut self, declared: &[Spanned<String>]) -> Vec<Version> {
        let mut versions: Vec<Version> = Vec::new();
        for v in declared {
            match v.value.parse::<Version>() {
                Ok(version) => {
                    if versions.contains(&version) {
                        self.error(v.span, format!("version `{version}` is declared twice"));
                    } else if versions.last().is_some_and(|last| *last > version) {
                        self.error(
                            v.span,
                            format!("versions must be listed oldest first, but `{version}` follows a newer one"),
                        );
                    } else {
                        versions.push(version);
                    }
                }
                Err(message) => self.error(v.span, message),
            }
        }
        versions
    }

    /// Reports names that occur more than once.
    fn unique<'a>(&mut self, what: &str, names: impl Iterator<Item = &'a Spanned<String>>) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut dups = Vec::new();
        for name in names {
            if let Some(first) = seen.get(name.value.as_str()) {
                dups.push((name.clone(), *first));
            } else {
                seen.insert(&name.value, name.span);
            }
        }
        for (name, first) in dups {
            self.duplicate(what, &name, first);
        }
    }

    fn enum_decl(&mut self, decl: &syntax::EnumDecl) -> (Spanned<String>, Enum) {
        let attrs = self.attrs(&decl.meta, Allowed::Gated);
        let enum_gate = attrs.meta.gate;
        let mut variants = Vec::new();
        let mut by_value: Vec<(u32, Gate, Span)> = Vec::new();
        let mut roles: Vec<(StatusRole, Span)> = Vec::new();
        for v in &decl.variants {
            let vattrs = self.attrs(&v.meta, Allowed::Variant);
            if let Some(role) = vattrs.role {
                if let Some((_, first)) = roles.iter().find(|(r, _)| *r == role) {
                    let related = self.location(*first);
                    self.errors.push(
                        Diagnostic::new(
                            self.source,
                            v.name.span,
                            format!("`{}` has two values with the same @role", decl.name.value),
                        )
                        .with_related("the other one is", related),
                    );
                }
                roles.push((role, v.name.span));
            }
            let value = match v.value.value.parse::<u32>() {
                Ok(value) => value,
                Err(_) => {
                    self.error(
                        v.value.span,
                        format!("enum value `{}` does not fit in a u32", v.value.value),
                    );
                    continue;
                }
            };
            if let Some((_, _, first)) = by_value
                .iter()
                .find(|(val, gate, _)| *val == value && gate.overlaps(&vattrs.meta.gate))
            {
                let related = self.location(*first);
                self.errors.push(
                    Diagnostic::new(
                        self.source,
                        v.value.span,
                        format!("value {value} is already used in `{}`", decl.name.value),
                    )
                    .with_related("first used", related),
                );
            }
            by_value.push((value, vattrs.meta.gate, v.value.span));
            let location = self.location(v.name.span);
            if !vattrs.resumes.is_empty() {
                self.callback_lists.push(CallbackList {
                    owner: location.clone(),
                    names: vattrs.resumes,
                    gates: vec![enum_gate, vattrs.meta.gate],
                    context: format!("where `{}.{}` exists", decl.name.value, v.name.value),
                });
            }
            variants.push((
                v.name.clone(),
                Variant {
                    name: v.name.value.clone(),
                    value,
                    role: vattrs.role,
                    // Filled in once the list is checked against every callback.
                    resumes: Vec::new(),
                    meta: vattrs.meta,
                    location,
                },
            ));
        }
        self.unique("variant", variants.iter().map(|(n, _)| n));
        (
            decl.name.clone(),
            Enum {
                name: decl.name.value.clone(),
                meta: attrs.meta,
                variants: variants.into_iter().map(|(_, v)| v).collect(),
                location: self.location(decl.name.span),
            },
        )
    }

    fn resolve_type(&mut self, ty: &syntax::TypeDecl, enums: &[Enum]) -> Option<Type> {
        let name = ty.name.value.as_str();
        let resolved = match name {
            "u32" => Type::U32,
            "u64" => Type::U64,
            "i64" => Type::I64,
            "usize" => Type::Usize,
            "bool" => Type::Bool,
            "context" => Type::Context,
            "bytes" => Type::Bytes,
            "string" => Type::String,
            "map" => Type::Map,
            "path" => Type::Path,
            "buffer" => Type::Buffer,
            "iovecs" => Type::Iovecs,
            "ptr" => match &ty.arg {
                Some(c_type) => Type::Ptr(c_type.value.clone()),
                None => {
                    self.error(ty.name.span, "`ptr` needs its C type: `ptr(\"uint8_t *\")`");
                    return None;
                }
            },
            other if enums.iter().any(|e| e.name == other) => Type::Enum(EnumRef::new(other)),
            other => {
                self.error(
                    ty.name.span,
                    format!(
                        "unknown type `{other}`; expected u32, u64, i64, usize, bool, context, bytes, \
                         string, map, path, buffer, iovecs, ptr or an enum name"
                    ),
                );
                return None;
            }
        };
        if let (Some(arg), false) = (&ty.arg, matches!(resolved, Type::Ptr(_))) {
            self.error(arg.span, format!("`{name}` takes no argument"));
        }
        if ty.out && !resolved.allows_out() {
            self.error(
                ty.span,
                format!("`out {name}` is not a type: the host cannot write a `{name}` back"),
            );
        }
        Some(resolved)
    }

    /// Checks one function or marker and builds it.
    fn function(
        &mut self,
        section: &str,
        decl: &syntax::FunctionDecl,
        enums: &[Enum],
    ) -> Option<(Function, FunctionSpans)> {
        // Callbacks and host functions take different roles (checked below).
        let allowed = match &decl.kind {
            syntax::FunctionKindDecl::Func(func) if func.direction.value != "hostcall" => {
                Allowed::Callback
            }
            _ => Allowed::Function,
        };
        let attrs = self.attrs(&decl.meta, allowed);
        let func = match &decl.kind {
            syntax::FunctionKindDecl::Marker => {
                let marker = self.marker(section, decl, attrs);
                return Some((marker, FunctionSpans::default()));
            }
            syntax::FunctionKindDecl::Func(func) => func,
        };
        let cx = FuncCx {
            func,
            is_host: func.direction.value == "hostcall",
            gate: attrs.meta.gate,
            enums,
        };
        let direction = self.direction(&cx);
        let (mut params, on_invalid) = self.params(&cx);
        self.check_lowered_names(&func.name.value, &params);
        let result = self.result(&cx);
        let result_ty = result.as_ref().map(|r| &r.ty);
        self.check_on_invalid(&cx, on_invalid, result_ty, &mut params);
        let context_effect = self.context_effect(&cx, attrs.context, &params, result_ty);
        let forbidden = self.forbidden(&cx, attrs.forbidden.as_ref(), result_ty);
        let location = self.location(func.name.span);
        self.function_resumes(&cx, attrs.resumes, &location);
        let outcomes = self.outcomes(&cx, result_ty);
        let role = match attrs.function_role {
            Some((role, span)) if role.is_host() != cx.is_host => {
                let (what, roles) = if cx.is_host {
                    ("a host function", "`exit`")
                } else {
                    (
                        "a callback",
                        "`allocator`, `legacy_allocator`, `initialize`, `start` or `main`",
                    )
                };
                self.error(
                    span,
                    format!(
                        "`{}` is no role of {what}; its roles are {roles}",
                        role.keyword()
                    ),
                );
                None
            }
            found => found.map(|(role, _)| role),
        };

        let spans = FunctionSpans {
            forbidden: attrs.forbidden.as_ref().map(|(_, span)| *span),
        };
        let function = Function {
            name: func.name.value.clone(),
            optional: attrs.optional.unwrap_or(!cx.is_host),
            direction,
            is_marker: false,
            section: section.to_string(),
            params: params.into_iter().map(|(_, p)| p).collect(),
            result,
            outcomes,
            deprecated: attrs.deprecated,
            forbidden,
            // Filled in once the list is checked against every callback.
            resumes: Vec::new(),
            context_effect,
            role,
            meta: attrs.meta,
            location,
        };
        Some((function, spans))
    }

    /// `marker;`: the version export, which takes no `@forbidden`,
    /// `@resumes` or `@role`.
    fn marker(&mut self, section: &str, decl: &syntax::FunctionDecl, attrs: Attrs) -> Function {
        if let Some((_, span)) = &attrs.forbidden {
            self.error(*span, "`@forbidden` is not allowed on `marker`");
        }
        if let Some(first) = attrs.resumes.first() {
            self.error(first.span, "`@resumes` is not allowed on `marker`");
        }
        if let Some((_, span)) = &attrs.function_role {
            self.error(*span, "`@role` is not allowed on `marker`");
        }
        Function {
            name: "proxy_abi_version".to_string(),
            direction: Direction::Callback,
            is_marker: true,
            section: section.to_string(),
            params: Vec::new(),
            result: None,
            outcomes: Vec::new(),
            deprecated: attrs.deprecated,
            optional: attrs.optional.unwrap_or(true),
            forbidden: None,
            resumes: Vec::new(),
            context_effect: None,
            role: None,
            meta: attrs.meta,
            location: self.location(decl.span),
        }
    }

    /// The import module of a host function; a callback may not name one.
    fn direction(&mut self, cx: &FuncCx<'_>) -> Direction {
        if cx.is_host {
            return Direction::Host {
                module: cx
                    .func
                    .module
                    .as_ref()
                    .map_or_else(|| "env".to_string(), |m| m.value.clone()),
            };
        }
        if let Some(module) = &cx.func.module {
            self.error(
                module.span,
                "a callback is exported by the plugin and has no import module",
            );
        }
        Direction::Callback
    }

    /// Checks every parameter; returns those whose type resolves, with the
    /// `@on_invalid` statuses to check against the result, each with the
    /// index of its parameter among those returned.
    fn params(&mut self, cx: &FuncCx<'_>) -> (Vec<(Span, Param)>, Vec<OnInvalid>) {
        let mut params = Vec::new();
        let mut on_invalid = Vec::new();
        let mut access_param = None;
        for p in &cx.func.params {
            if let Some((param, status)) = self.param(cx, p, &mut access_param) {
                on_invalid.extend(status.map(|s| (params.len(), s)));
                params.push((p.name.span, param));
            }
        }
        (params, on_invalid)
    }

    /// One parameter: its attributes, type, pointer extent and `as` names.
    /// `access_param` is the parameter that carries `@access` so far.
    fn param<'a>(
        &mut self,
        cx: &FuncCx<'_>,
        p: &'a syntax::ParamDecl,
        access_param: &mut Option<&'a Spanned<String>>,
    ) -> Option<(Param, Option<Spanned<String>>)> {
        let pattrs = self.attrs(&p.meta, Allowed::Param);
        let ty = self.resolve_type(&p.ty, cx.enums)?;
        let access = pattrs
            .access
            .and_then(|access| self.param_access(cx, p, &ty, access, access_param));
        let resumes = pattrs
            .resumes_flag
            .is_some_and(|span| self.param_resumes(cx, p, &ty, span));
        let mut param = Param {
            name: p.name.value.clone(),
            ty,
            out: p.ty.out,
            lowered_names: None,
            unused: pattrs.unused,
            extent: pattrs.extent,
            // Set by `check_on_invalid` once the result is known.
            on_invalid: None,
            access,
            resumes,
            meta: pattrs.meta,
            location: self.location(p.name.span),
        };
        self.check_extent(p, &param);
        param.lowered_names = self.lowered_names(p, &param);
        Some((param, pattrs.on_invalid))
    }

    /// `@access` on at most one parameter, an enum selector of a host
    /// function; returns the level the parameter keeps.
    fn param_access<'a>(
        &mut self,
        cx: &FuncCx<'_>,
        p: &'a syntax::ParamDecl,
        ty: &Type,
        (level, span): (AccessLevel, Span),
        access_param: &mut Option<&'a Spanned<String>>,
    ) -> Option<AccessLevel> {
        if let Some(first) = access_param {
            self.error(
                span,
                format!(
                    "`{}` already selects its map or buffer with `{}`; \
                     only one parameter may carry `@access`",
                    cx.func.name.value, first.value
                ),
            );
            return None;
        }
        *access_param = Some(&p.name);
        let enum_name = self.selector(span, "@access", cx.is_host, &cx.func.name, p, ty);
        if let Some(enum_name) = enum_name {
            self.access_attrs.push((enum_name, span));
        } else if !cx.is_host {
            return None;
        }
        // A host function's non-enum selector is already an error; it
        // stays marked so that its `@forbidden` is not reported too.
        Some(level)
    }

    /// `@resumes` on a parameter: an enum selector of a host function whose
    /// variants list callbacks. Returns whether the parameter keeps it.
    fn param_resumes(
        &mut self,
        cx: &FuncCx<'_>,
        p: &syntax::ParamDecl,
        ty: &Type,
        span: Span,
    ) -> bool {
        let Some(enum_name) = self.selector(span, "@resumes", cx.is_host, &cx.func.name, p, ty)
        else {
            return false;
        };
        let listed = cx
            .enums
            .iter()
            .find(|e| e.name == enum_name)
            .is_some_and(|e| e.variants.iter().any(|v| self.lists_callbacks(v)));
        if !listed {
            self.error(
                span,
                format!(
                    "`@resumes` on `{}` needs variants of `{enum_name}` that list the \
                     callbacks they resume with `@resumes(...)`; none does",
                    p.name.value
                ),
            );
        }
        true
    }

    /// A `ptr` parameter says how far it extends.
    fn check_extent(&mut self, p: &syntax::ParamDecl, param: &Param) {
        if matches!(param.ty, Type::Ptr(_)) && param.extent.is_none() {
            self.error(
                p.name.span,
                format!(
                    "pointer `{}` has no length: pass a pointer type with its length \
                     (bytes, string, map, buffer) or say how far it extends with @extent(\"...\")",
                    p.name.value
                ),
            );
        }
    }

    /// The `as (...)` names, one per wasm value the parameter lowers to.
    fn lowered_names(&mut self, p: &syntax::ParamDecl, param: &Param) -> Option<Vec<String>> {
        let names = p.lowered.as_ref()?;
        let slots = lower::slot_count(param);
        if names.value.len() == slots {
            return Some(names.value.iter().map(|n| n.value.clone()).collect());
        }
        let message = if slots == 2 && names.value.len() == 1 {
            format!(
                "`{}` is a pointer and a length, but `as` names only the pointer: \
                 name its length too",
                p.name.value
            )
        } else {
            format!(
                "`{}` lowers to {slots} wasm value(s), but `as` gives {} name(s)",
                p.name.value,
                names.value.len()
            )
        };
        self.error(names.span, message);
        None
    }

    /// The result: a `u32`, `bool`, enum or `ptr`, never `out`.
    fn result(&mut self, cx: &FuncCx<'_>) -> Option<Returns> {
        let r = cx.func.result.as_ref()?;
        let ty = self.resolve_type(&r.ty, cx.enums)?;
        if r.ty.out || !matches!(ty, Type::U32 | Type::Bool | Type::Enum(_) | Type::Ptr(_)) {
            self.error(r.ty.span, "a result is `u32`, `bool`, an enum or a `ptr`");
        }
        Some(Returns {
            name: r.name.value.clone(),
            ty,
        })
    }

    /// Each `@on_invalid` status is a value of the function's enum result,
    /// present wherever its parameter is; the parameter at `index` in
    /// `params` gets the status once it checks out.
    fn check_on_invalid(
        &mut self,
        cx: &FuncCx<'_>,
        statuses: Vec<OnInvalid>,
        result_ty: Option<&Type>,
        params: &mut [(Span, Param)],
    ) {
        for (index, status) in statuses {
            let result_enum = cx.result_enum(result_ty);
            let Some((e, v)) = result_enum.and_then(|e| Some((e, e.variant(&status.value)?)))
            else {
                self.error(
                    status.span,
                    format!(
                        "`{}` is not a value of `{}`'s result",
                        status.value, cx.func.name.value
                    ),
                );
                continue;
            };
            let param = &mut params[index].1;
            let context = format!(
                "where parameter `{}` of `{}` exists",
                param.name, cx.func.name.value
            );
            if self.value_exists(status.span, e, v, &[cx.gate, param.meta.gate], &context) {
                param.on_invalid = Some(VariantRef::new(EnumRef::new(&e.name), &v.name));
            }
        }
    }

    /// `@context(effect)` fits the function: its side, its `context`
    /// parameters and its result.
    fn context_effect(
        &mut self,
        cx: &FuncCx<'_>,
        context: Option<(ContextEffect, Span)>,
        params: &[(Span, Param)],
        result_ty: Option<&Type>,
    ) -> Option<ContextEffect> {
        let (effect, span) = context?;
        let contexts = params.iter().filter(|(_, p)| p.ty == Type::Context).count();
        let (wanted, shape) = match effect {
            ContextEffect::Create => (
                !cx.is_host && contexts == 2,
                "a callback with two `context` parameters (the new one, then its parent)",
            ),
            ContextEffect::Delete => (
                !cx.is_host && contexts >= 1,
                "a callback with a `context` parameter",
            ),
            ContextEffect::Switch => (
                cx.is_host && contexts == 1 && matches!(result_ty, Some(Type::Enum(_))),
                "a host function with one `context` parameter and a status result",
            ),
        };
        if wanted {
            return Some(effect);
        }
        self.error(
            span,
            format!(
                "`@context` here needs {shape}; `{}` is not",
                cx.func.name.value
            ),
        );
        None
    }

    /// `@forbidden(STATUS)`: on a host function, a failing value of its result.
    fn forbidden(
        &mut self,
        cx: &FuncCx<'_>,
        forbidden: Option<&(Spanned<String>, Span)>,
        result_ty: Option<&Type>,
    ) -> Option<VariantRef> {
        let (status, span) = forbidden?;
        let name = &cx.func.name.value;
        if !cx.is_host {
            self.error(
                *span,
                format!("`@forbidden` applies to host functions; `{name}` is a callback"),
            );
            return None;
        }
        let result_enum = cx.result_enum(result_ty);
        match result_enum.and_then(|e| Some((e, e.variant(&status.value)?))) {
            None => {
                self.error(
                    status.span,
                    format!("`{}` is not a value of `{name}`'s result", status.value),
                );
                None
            }
            Some((_, v)) if v.role == Some(StatusRole::Success) => {
                self.error(
                    status.span,
                    format!(
                        "`{}` is the success value of `{name}`'s result; a forbidden call \
                         must fail",
                        status.value
                    ),
                );
                None
            }
            Some((e, v)) => {
                let context = format!("where `{name}` exists");
                self.value_exists(status.span, e, v, &[cx.gate], &context)
                    .then(|| VariantRef::new(EnumRef::new(&e.name), &v.name))
            }
        }
    }

    /// `@resumes(...)` on a function: only on a host function, whose list is
    /// checked once every function is known and then stored in the function
    /// declared at `owner`.
    fn function_resumes(&mut self, cx: &FuncCx<'_>, names: Vec<Spanned<String>>, owner: &Location) {
        let Some(first) = names.first() else {
            return;
        };
        if cx.is_host {
            self.callback_lists.push(CallbackList {
                owner: owner.clone(),
                names,
                gates: vec![cx.gate],
                context: format!("where `{}` exists", cx.func.name.value),
            });
        } else {
            self.error(
                first.span,
                format!(
                    "`@resumes` applies to host functions; `{}` is a callback",
                    cx.func.name.value
                ),
            );
        }
    }

    /// The outcomes block: values of the result, none listed twice in a version.
    fn outcomes(&mut self, cx: &FuncCx<'_>, result_ty: Option<&Type>) -> Vec<Outcome> {
        let Some(list) = &cx.func.outcomes else {
            return Vec::new();
        };
        let mut outcomes = Vec::new();
        let mut seen: Vec<(String, Gate, Span)> = Vec::new();
        for o in list {
            let oattrs = self.attrs(&o.meta, Allowed::Gated);
            let value = self.outcome_value(cx, o, result_ty, oattrs.meta.gate);
            if let Some((_, _, first)) = seen
                .iter()
                .find(|(n, g, _)| *n == o.name.value && g.overlaps(&oattrs.meta.gate))
            {
                let first = *first;
                self.duplicate("outcome", &o.name, first);
            }
            seen.push((o.name.value.clone(), oattrs.meta.gate, o.name.span));
            if let Some(value) = value {
                outcomes.push(Outcome {
                    value,
                    text: o.text.value.clone(),
                    meta: oattrs.meta,
                });
            }
        }
        outcomes
    }

    /// An outcome is a value of the result: a variant of its enum, present
    /// wherever the outcome applies (`gate` and the function's), or `true`
    /// or `false`. Returns the value once it checks out.
    fn outcome_value(
        &mut self,
        cx: &FuncCx<'_>,
        o: &syntax::OutcomeDecl,
        result_ty: Option<&Type>,
        gate: Gate,
    ) -> Option<OutcomeValue> {
        match result_ty {
            Some(Type::Enum(enum_name)) => {
                let found = cx
                    .enums
                    .iter()
                    .find(|e| e.name == enum_name.name())
                    .and_then(|e| Some((e, e.variant(&o.name.value)?)));
                let Some((e, v)) = found else {
                    self.error(
                        o.name.span,
                        format!("`{}` is not a value of `{enum_name}`", o.name.value),
                    );
                    return None;
                };
                let context = format!("where `{}` lists it", cx.func.name.value);
                self.value_exists(o.name.span, e, v, &[cx.gate, gate], &context)
                    .then(|| OutcomeValue::Variant(VariantRef::new(enum_name.clone(), &v.name)))
            }
            Some(Type::Bool) => match o.name.value.as_str() {
                "true" => Some(OutcomeValue::Bool(true)),
                "false" => Some(OutcomeValue::Bool(false)),
                _ => {
                    self.error(
                        o.name.span,
                        format!(
                            "`{}` is not a bool: expected `true` or `false`",
                            o.name.value
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                self.error(
                    o.name.span,
                    "outcomes can only be listed for enum and bool results",
                );
                None
            }
            None => {
                self.error(
                    o.name.span,
                    "outcomes are listed but the function has no result",
                );
                None
            }
        }
    }

    /// Value `v` of enum `e`, named at `span`, must exist in every declared
    /// version all of `gates` admit: wherever the item naming it exists
    /// (`context` says which, e.g. "where `f` exists"). Reports the versions
    /// it is missing from; returns whether there are none.
    fn value_exists(
        &mut self,
        span: Span,
        e: &Enum,
        v: &Variant,
        gates: &[Gate],
        context: &str,
    ) -> bool {
        let missing: Vec<Version> = self
            .admitted(gates)
            .into_iter()
            .filter(|version| !(e.meta.gate.admits(*version) && v.meta.gate.admits(*version)))
            .collect();
        if missing.is_empty() {
            return true;
        }
        self.error(
            span,
            format!(
                "`{}.{}` does not exist in {}, {context}",
                e.name,
                v.name,
                version_list(&missing)
            ),
        );
        false
    }

    /// Checks that a parameter carrying `attr` (`@access` or `@resumes`)
    /// selects with an enum and belongs to a host function; returns the enum.
    fn selector(
        &mut self,
        span: Span,
        attr: &str,
        is_host: bool,
        function: &Spanned<String>,
        param: &syntax::ParamDecl,
        ty: &Type,
    ) -> Option<String> {
        if !is_host {
            self.error(
                span,
                format!(
                    "`{attr}` applies to host function parameters; `{}` is a callback",
                    function.value
                ),
            );
            return None;
        }
        match ty {
            Type::Enum(e) => Some(e.name().to_string()),
            other => {
                self.error(
                    span,
                    format!(
                        "`{attr}` needs an enum parameter, but `{}` is a `{}`",
                        param.name.value,
                        other.keyword()
                    ),
                );
                None
            }
        }
    }

    /// Two wasm parameters of one function may not share a name, unless both
    /// are placeholders the specification itself names alike (`unused`).
    fn check_lowered_names(&mut self, function: &str, params: &[(Span, Param)]) {
        let mut seen: Vec<(String, Gate, Span, bool)> = Vec::new();
        for (span, param) in params {
            let names = param
                .lowered_names
                .clone()
                .unwrap_or_else(|| lower::default_names(param));
            for name in names {
                let clash = seen.iter().find(|(n, gate, _, unused)| {
                    *n == name && gate.overlaps(&param.meta.gate) && !(*unused && param.unused)
                });
                if let Some((_, _, first, _)) = clash {
                    let related = self.location(*first);
                    self.errors.push(
                        Diagnostic::new(
                            self.source,
                            *span,
                            format!(
                                "in `{function}`, lowering gives two parameters the name `{name}`"
                            ),
                        )
                        .with_related("the other one is declared", related),
                    );
                }
                seen.push((name, param.meta.gate, *span, param.unused));
            }
        }
    }

    /// Two functions may share a name only if no version has both.
    fn check_function_names(&mut self, functions: &[Function]) {
        for (i, f) in functions.iter().enumerate() {
            if f.is_marker {
                continue;
            }
            // Base functions were checked with the base; only this file's count.
            if *f.location.path != *self.path {
                continue;
            }
            if let Some(first) = functions[..i].iter().find(|g| {
                g.qualified_name() == f.qualified_name() && g.meta.gate.overlaps(&f.meta.gate)
            }) {
                let related = first.location.clone();
                self.errors.push(Diagnostic {
                    related: Some(Box::new(("first defined".to_string(), related))),
                    ..self.diagnostic_at(
                        &f.location,
                        &f.name,
                        format!("function `{}` is defined twice", f.qualified_name()),
                    )
                });
            }
        }
        let markers: Vec<&Function> = functions.iter().filter(|f| f.is_marker).collect();
        if let [first, second, ..] = markers.as_slice() {
            let related = first.location.clone();
            self.errors.push(Diagnostic {
                related: Some(Box::new(("first defined".to_string(), related))),
                ..self.diagnostic_at(&second.location, "marker", "`marker` is declared twice")
            });
        }
    }

    /// A deprecation's replacement must be a function of the description.
    fn check_replacements(&mut self, checked: &[Function], functions: &[Function]) {
        for f in checked {
            if let Some(Deprecation {
                replacement: Some(name),
                ..
            }) = &f.deprecated
                && !functions.iter().any(|g| g.qualified_name() == *name)
            {
                let message = format!(
                    "`{}` is deprecated in favour of `{name}`, which is not defined",
                    f.name
                );
                let d = self.diagnostic_at(&f.location, &f.name, message);
                self.errors.push(d);
            }
        }
    }

    /// A diagnostic at an IR location, underlining `text` there.
    fn diagnostic_at(
        &self,
        location: &Location,
        text: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let line_text = self.source.line_text(location.line).to_string();
        Diagnostic {
            message: message.into(),
            location: location.clone(),
            width: text.chars().count().max(1),
            line_text,
            related: None,
        }
    }

    fn format(&mut self, decl: &syntax::FormatDecl) -> (Spanned<String>, Format) {
        let attrs = self.attrs(&decl.meta, Allowed::Gated);
        let mut fields = Vec::new();
        for f in &decl.fields {
            let fattrs = self.attrs(&f.meta, Allowed::Gated);
            fields.push((
                f.name.clone(),
                FormatField {
                    name: f.name.value.clone(),
                    layout: f.layout.value.clone(),
                    meta: fattrs.meta,
                },
            ));
        }
        self.unique("format field", fields.iter().map(|(n, _)| n));
        (
            decl.name.clone(),
            Format {
                name: decl.name.value.clone(),
                meta: attrs.meta,
                fields: fields.into_iter().map(|(_, f)| f).collect(),
            },
        )
    }

    fn properties(&mut self, decl: &syntax::PropertiesDecl) -> Vec<Property> {
        let mut out = Vec::new();
        for p in &decl.properties {
            let attrs = self.attrs(&p.meta, Allowed::Gated);
            let Some((_, ty)) = PropertyType::ALL.iter().find(|(k, _)| *k == p.ty.value) else {
                let known: Vec<&str> = PropertyType::ALL.iter().map(|(k, _)| *k).collect();
                self.error(
                    p.ty.span,
                    format!(
                        "unknown property type `{}`; expected one of {}",
                        p.ty.value,
                        known.join(", ")
                    ),
                );
                continue;
            };
            out.push((
                p.path.clone(),
                Property {
                    path: p.path.value.clone(),
                    ty: *ty,
                    meta: attrs.meta,
                },
            ));
        }
        self.unique("property", out.iter().map(|(n, _)| n));
        out.into_iter().map(|(_, p)| p).collect()
    }
}

/// The access block: rules, their grants, and the checks that tie them to
/// the `@access`, `@forbidden` and `@resumes` attributes.
impl Validator<'_> {
    /// The declared versions every gate in `gates` admits.
    fn admitted(&self, gates: &[Gate]) -> Vec<Version> {
        self.versions
            .iter()
            .copied()
            .filter(|v| gates.iter().all(|g| g.admits(*v)))
            .collect()
    }

    /// Whether `v` lists the callbacks it resumes: checked already (a base
    /// enum's), or waiting in this file's lists.
    fn lists_callbacks(&self, v: &Variant) -> bool {
        !v.resumes.is_empty() || self.callback_lists.iter().any(|l| l.owner == v.location)
    }

    /// Every `@resumes(...)` list of this file names callbacks. Returns each
    /// list whose every name checks out, as references, with its owner.
    fn check_callback_lists(
        &mut self,
        functions: &[Function],
    ) -> Vec<(Location, Vec<CallbackRef>)> {
        let mut resolved = Vec::new();
        for list in std::mem::take(&mut self.callback_lists) {
            let versions = self.admitted(&list.gates);
            let mut refs = Vec::new();
            for name in &list.names {
                if self.check_callback(name, functions, &versions, &list.context) {
                    refs.push(CallbackRef::new(&name.value));
                }
            }
            if refs.len() == list.names.len() {
                resolved.push((list.owner, refs));
            }
        }
        resolved
    }

    /// Stores each checked `@resumes(...)` list in the variant or function
    /// declared at its owner's location, among this file's `enums` and
    /// `functions`.
    fn store_callback_lists(
        lists: Vec<(Location, Vec<CallbackRef>)>,
        enums: &mut [Enum],
        functions: &mut [Function],
    ) {
        for (owner, refs) in lists {
            let variant = enums
                .iter_mut()
                .flat_map(|e| e.variants.iter_mut())
                .find(|v| v.location == owner);
            if let Some(v) = variant {
                v.resumes = refs;
            } else if let Some(f) = functions.iter_mut().find(|f| f.location == owner) {
                f.resumes = refs;
            }
        }
    }

    /// `name` must be a callback present in every one of `versions`.
    /// Returns whether it is (nothing was reported).
    fn check_callback(
        &mut self,
        name: &Spanned<String>,
        functions: &[Function],
        versions: &[Version],
        context: &str,
    ) -> bool {
        let named: Vec<&Function> = functions
            .iter()
            .filter(|f| !f.is_marker && f.qualified_name() == name.value)
            .collect();
        if named.is_empty() {
            let callbacks = functions
                .iter()
                .filter(|f| !f.is_host() && !f.is_marker)
                .map(|f| f.name.as_str());
            let hint = did_you_mean(&name.value, callbacks);
            self.error(
                name.span,
                format!("unknown callback `{}`{hint}", name.value),
            );
            return false;
        }
        if named.iter().all(|f| f.is_host()) {
            self.error(
                name.span,
                format!(
                    "`{}` is a host function; only a callback can be named here",
                    name.value
                ),
            );
            return false;
        }
        let missing: Vec<Version> = versions
            .iter()
            .copied()
            .filter(|v| !named.iter().any(|f| !f.is_host() && f.meta.gate.admits(*v)))
            .collect();
        if missing.is_empty() {
            return true;
        }
        self.error(
            name.span,
            format!(
                "callback `{}` does not exist in {}, {context}",
                name.value,
                version_list(&missing)
            ),
        );
        false
    }

    /// The enums some host function parameter selects with under `@access`.
    fn access_enums(functions: &[Function]) -> Vec<&EnumRef> {
        selector_enums(functions, |p| p.access.is_some())
    }

    /// Checks this file's `access` block and turns it into rules.
    fn access_rules(
        &mut self,
        decl: &syntax::AccessDecl,
        enums: &[Enum],
        functions: &[Function],
    ) -> Vec<(Spanned<String>, AccessRule)> {
        let mut rules = Vec::new();
        for rule in &decl.rules {
            if let Some(r) = self.access_rule(rule, enums, functions) {
                rules.push((rule.subject.text.clone(), r));
            }
        }
        rules
    }

    fn access_rule(
        &mut self,
        decl: &syntax::AccessRuleDecl,
        enums: &[Enum],
        functions: &[Function],
    ) -> Option<AccessRule> {
        let attrs = self.attrs(&decl.meta, Allowed::Gated);
        let rule_versions = self.admitted(&[attrs.meta.gate]);
        let subject = self.subject(&decl.subject, enums, functions, &rule_versions);
        let mut grants = Vec::new();
        for g in &decl.grants {
            let gattrs = self.attrs(&g.meta, Allowed::Gated);
            let versions = self.admitted(&[attrs.meta.gate, gattrs.meta.gate]);
            let level = self.grant_level(&g.level, subject.as_ref());
            for place in &g.places {
                self.check_callback(
                    &place.callback,
                    functions,
                    &versions,
                    "where this grant applies",
                );
            }
            if let Some(when) = &g.when {
                self.check_when(when, &g.places, functions, &versions);
            }
            let places = g
                .places
                .iter()
                .map(|p| {
                    let name = p.callback.value.clone();
                    match p.kind {
                        syntax::PlaceKind::In => Place::In(name),
                        syntax::PlaceKind::Paused => Place::Paused(name),
                        syntax::PlaceKind::Before => Place::Before(name),
                    }
                })
                .collect();
            if let Some(level) = level {
                grants.push(Grant {
                    level,
                    places,
                    when: g.when.as_ref().map(|w| w.value.clone()),
                    meta: gattrs.meta,
                    location: self.location(g.level.span),
                });
            }
        }
        Some(AccessRule {
            subject: subject?,
            grants,
            meta: attrs.meta,
            location: self.location(decl.subject.text.span),
        })
    }

    /// Resolves `for E.V` or `for f`, which must exist wherever the rule applies.
    fn subject(
        &mut self,
        decl: &syntax::SubjectDecl,
        enums: &[Enum],
        functions: &[Function],
        versions: &[Version],
    ) -> Option<Subject> {
        let text = &decl.text;
        if let Some(qualifier) = &decl.qualifier
            && let Some(e) = enums.iter().find(|e| e.name == qualifier.value)
        {
            if !Self::access_enums(functions)
                .iter()
                .any(|r| r.name() == e.name)
            {
                self.error(
                    qualifier.span,
                    format!(
                        "`{}` is not selected by any `@access` parameter, so it has no access rules",
                        e.name
                    ),
                );
                return None;
            }
            let Some(variant) = e.variant(&decl.name.value) else {
                let hint =
                    did_you_mean(&decl.name.value, e.variants.iter().map(|v| v.name.as_str()));
                self.error(
                    decl.name.span,
                    format!("`{}` has no variant `{}`{hint}", e.name, decl.name.value),
                );
                return None;
            };
            let missing: Vec<Version> = versions
                .iter()
                .copied()
                .filter(|v| !(e.meta.gate.admits(*v) && variant.meta.gate.admits(*v)))
                .collect();
            if !missing.is_empty() {
                self.error(
                    text.span,
                    format!(
                        "`{}` does not exist in {}, where this rule applies",
                        text.value,
                        version_list(&missing)
                    ),
                );
            }
            return Some(Subject::Variant {
                enum_name: e.name.clone(),
                variant: variant.name.clone(),
            });
        }
        let named: Vec<&Function> = functions
            .iter()
            .filter(|f| !f.is_marker && f.qualified_name() == text.value)
            .collect();
        if named.is_empty() {
            let message = match &decl.qualifier {
                Some(qualifier) => {
                    let access_enums = Self::access_enums(functions);
                    let hint = or_else(
                        did_you_mean(&qualifier.value, access_enums.iter().map(|r| r.name())),
                        "; a rule is for `ENUM.VARIANT` or a host function",
                    );
                    self.error(
                        qualifier.span,
                        format!("unknown enum `{}`{hint}", qualifier.value),
                    );
                    return None;
                }
                None => {
                    let hosts = functions
                        .iter()
                        .filter(|f| f.is_host())
                        .map(|f| f.name.as_str());
                    let hint = did_you_mean(&text.value, hosts);
                    format!("unknown host function `{}`{hint}", text.value)
                }
            };
            self.error(text.span, message);
            return None;
        }
        if named.iter().all(|f| !f.is_host()) {
            self.error(
                text.span,
                format!(
                    "`{}` is a callback; access rules restrict host functions, maps and buffers",
                    text.value
                ),
            );
            return None;
        }
        let missing: Vec<Version> = versions
            .iter()
            .copied()
            .filter(|v| !named.iter().any(|f| f.is_host() && f.meta.gate.admits(*v)))
            .collect();
        if !missing.is_empty() {
            self.error(
                text.span,
                format!(
                    "host function `{}` does not exist in {}, where this rule applies",
                    text.value,
                    version_list(&missing)
                ),
            );
        }
        Some(Subject::Function(text.value.clone()))
    }

    /// The level of a grant: a known keyword that fits the subject.
    fn grant_level(
        &mut self,
        written: &Spanned<String>,
        subject: Option<&Subject>,
    ) -> Option<AccessLevel> {
        let Some((_, level)) = AccessLevel::ALL.iter().find(|(k, _)| *k == written.value) else {
            let hint = or_else(
                did_you_mean(&written.value, AccessLevel::ALL.iter().map(|(k, _)| *k)),
                "; a grant is `read`, `add`, `modify` or `call`",
            );
            self.error(
                written.span,
                format!("unknown access level `{}`{hint}", written.value),
            );
            return None;
        };
        match (subject, level) {
            (Some(Subject::Function(name)), l) if *l != AccessLevel::Call => {
                self.error(
                    written.span,
                    format!(
                        "`{}` is for maps and buffers; a rule for host function `{name}` grants `call`",
                        written.value
                    ),
                );
                None
            }
            (Some(subject @ Subject::Variant { .. }), AccessLevel::Call) => {
                self.error(
                    written.span,
                    format!(
                        "`call` is for host functions; a rule for `{subject}` grants `read`, `add` or `modify`"
                    ),
                );
                None
            }
            _ => Some(*level),
        }
    }

    /// `when X`: only with `in` places, and `X` a `bool` parameter of each of
    /// their callbacks wherever the grant applies.
    fn check_when(
        &mut self,
        when: &Spanned<String>,
        places: &[syntax::PlaceDecl],
        functions: &[Function],
        versions: &[Version],
    ) {
        if let Some(place) = places.iter().find(|p| p.kind != syntax::PlaceKind::In) {
            let written = self
                .source
                .text
                .get(place.span.start..place.span.end)
                .unwrap_or(&place.callback.value)
                .to_string();
            self.error(
                when.span,
                format!("`when` applies only to `in` places, not to `{written}`"),
            );
            return;
        }
        for place in places {
            let callbacks: Vec<&Function> = functions
                .iter()
                .filter(|f| !f.is_host() && !f.is_marker && f.name == place.callback.value)
                .collect();
            if callbacks.is_empty() {
                continue; // reported as an unknown place
            }
            let has_flag = |v: Version| {
                callbacks.iter().filter(|f| f.meta.gate.admits(v)).any(|f| {
                    f.params.iter().any(|p| {
                        p.name == when.value && p.ty == Type::Bool && p.meta.gate.admits(v)
                    })
                })
            };
            let present: Vec<Version> = versions
                .iter()
                .copied()
                .filter(|v| callbacks.iter().any(|f| f.meta.gate.admits(*v)))
                .collect();
            let missing: Vec<Version> = present.iter().copied().filter(|v| !has_flag(*v)).collect();
            if missing.is_empty() {
                continue;
            }
            let message = if missing.len() == present.len() {
                format!(
                    "`{}` has no `bool` parameter `{}`",
                    place.callback.value, when.value
                )
            } else {
                format!(
                    "`{}` has no `bool` parameter `{}` in {}, where this grant applies",
                    place.callback.value,
                    when.value,
                    version_list(&missing)
                )
            };
            self.error(when.span, message);
        }
    }

    /// The checks that need every rule: duplicates, completeness, and the
    /// `@forbidden` statuses of restricted host functions. Returns the rules
    /// of the whole ABI: the base's, then this file's.
    fn check_access(
        &mut self,
        own: Vec<(Spanned<String>, AccessRule)>,
        block: Option<Span>,
        enums: &[Enum],
        functions: &[Function],
        function_spans: &[FunctionSpans],
    ) -> Vec<AccessRule> {
        let base_rules: Vec<AccessRule> = self.base.map(|b| b.access.clone()).unwrap_or_default();

        // At most one rule per subject in any version.
        for (i, (text, rule)) in own.iter().enumerate() {
            let same = |other: &AccessRule| {
                other.subject == rule.subject && other.meta.gate.overlaps(&rule.meta.gate)
            };
            if let Some(b) = base_rules.iter().find(|b| same(b)) {
                self.redefined("access rule for", text, b.location.clone());
            } else if let Some((first, _)) = own[..i].iter().find(|(_, r)| same(r)) {
                self.duplicate("access rule for", text, first.span);
            }
        }
        let mut all: Vec<AccessRule> = base_rules;
        all.extend(own.iter().map(|(_, r)| r.clone()));

        self.check_completeness(&all, block, enums, functions);

        // Restricted host functions carry @forbidden; others do not.
        let own_functions = &functions[functions.len() - function_spans.len()..];
        for (f, spans) in own_functions.iter().zip(function_spans) {
            if !f.is_host() {
                continue;
            }
            let name = f.qualified_name();
            let has_access = f.params.iter().any(|p| p.access.is_some());
            let has_rule = all
                .iter()
                .any(|r| r.subject == Subject::Function(name.clone()));
            let restricted = has_access || has_rule;
            match (restricted, f.forbidden.is_some(), spans.forbidden) {
                (true, false, None) => {
                    let why = if has_access {
                        "has an `@access` parameter"
                    } else {
                        "has an access rule"
                    };
                    let d = self.diagnostic_at(
                        &f.location,
                        &f.name,
                        format!(
                            "`{name}` {why}, so it needs `@forbidden(STATUS)`: \
                             the status a call outside its grants gets"
                        ),
                    );
                    self.errors.push(d);
                }
                (false, _, Some(span)) => self.error(
                    span,
                    format!(
                        "`@forbidden` on `{name}`, which the access rules do not restrict: \
                         it has no `@access` parameter and no access rule"
                    ),
                ),
                _ => {}
            }
        }
        // This file's rules may restrict a base function only if it has a status.
        for (text, rule) in &own {
            let Subject::Function(name) = &rule.subject else {
                continue;
            };
            let base_function = functions
                .iter()
                .filter(|f| *f.location.path != *self.path)
                .find(|f| f.qualified_name() == *name);
            if let Some(f) = base_function
                && f.forbidden.is_none()
            {
                self.error(
                    text.span,
                    format!(
                        "`{name}` has no `@forbidden` status in the base description, \
                         so no rule can restrict it"
                    ),
                );
            }
        }
        all
    }

    /// Every map or buffer an `@access` parameter can select has a rule in
    /// every version it exists in.
    fn check_completeness(
        &mut self,
        rules: &[AccessRule],
        block: Option<Span>,
        enums: &[Enum],
        functions: &[Function],
    ) {
        let mut missing: Vec<(&Enum, &Variant, Vec<Version>)> = Vec::new();
        for version in self.versions.clone() {
            let mut selected: Vec<&str> = Vec::new();
            for f in functions
                .iter()
                .filter(|f| f.is_host() && f.meta.gate.admits(version))
            {
                for p in &f.params {
                    if let (Some(_), Type::Enum(e)) = (p.access, &p.ty)
                        && p.meta.gate.admits(version)
                        && !selected.contains(&e.name())
                    {
                        selected.push(e.name());
                    }
                }
            }
            for e in enums
                .iter()
                .filter(|e| selected.contains(&e.name.as_str()) && e.meta.gate.admits(version))
            {
                for v in e.variants.iter().filter(|v| v.meta.gate.admits(version)) {
                    let subject = Subject::Variant {
                        enum_name: e.name.clone(),
                        variant: v.name.clone(),
                    };
                    let covered = rules
                        .iter()
                        .any(|r| r.subject == subject && r.meta.gate.admits(version));
                    if covered {
                        continue;
                    }
                    match missing
                        .iter_mut()
                        .find(|(me, mv, _)| me.name == e.name && mv.name == v.name)
                    {
                        Some((_, _, versions)) => versions.push(version),
                        None => missing.push((e, v, vec![version])),
                    }
                }
            }
        }
        for (e, v, versions) in missing {
            let message = format!(
                "no access rule for `{}.{}` in {}",
                e.name,
                v.name,
                version_list(&versions)
            );
            if *v.location.path == *self.path {
                let d = self.diagnostic_at(&v.location, &v.name, message);
                self.errors.push(d);
                continue;
            }
            // A base enum this file selects with: point at the selection.
            let span = self
                .access_attrs
                .iter()
                .find(|(name, _)| *name == e.name)
                .map(|(_, span)| *span)
                .or(block)
                .unwrap_or_default();
            self.error(span, message);
        }
    }
}

/// `0.1.0`, `0.1.0` and `0.2.0`, or `0.1.0`, `0.2.0` and `0.2.1`.
fn version_list(versions: &[Version]) -> String {
    let quoted: Vec<String> = versions.iter().map(|v| format!("`{v}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `hint`, or `otherwise` when there is none.
fn or_else(hint: String, otherwise: &str) -> String {
    if hint.is_empty() {
        otherwise.to_string()
    } else {
        hint
    }
}

/// `; did you mean `x`?` when a candidate is close enough to be a likely
/// typo ([`crate::suggest::closest`]), or nothing.
fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::suggest::closest(name, candidates)
        .map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}
