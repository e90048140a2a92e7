//! Checks a syntax tree and turns it into the IR, collecting every error.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, Source, Span};
use crate::ir::*;
use crate::lower;
use crate::syntax::{self, AttrValue, Spanned};

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

/// Attributes an item may carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// `@since`, `@until`, `@note`.
    Gated,
    /// Gated plus `@deprecated`, `@optional`, `@required`.
    Function,
    /// Gated plus `@unused`, `@extent`, `@on_invalid`.
    Param,
    /// Gated plus `@role`.
    Variant,
    /// Only `@note`: the header.
    NotesOnly,
}

/// Attributes of one item, after checking.
#[derive(Default)]
struct Attrs {
    meta: Meta,
    deprecated: Option<Deprecation>,
    deprecated_use: Option<Spanned<String>>,
    optional: Option<bool>,
    unused: bool,
    extent: Option<String>,
    role: Option<StatusRole>,
    on_invalid: Option<Spanned<String>>,
}

struct Validator<'s> {
    source: &'s Source,
    path: Arc<str>,
    errors: Diagnostics,
    versions: Vec<Version>,
    base: Option<&'s Abi>,
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
        for (section, decl) in &function_decls {
            if let Some(f) = self.function(section, decl, &all_enums) {
                functions.push(f);
            }
        }
        let own_count = functions.len();
        let mut all_functions = self.base.map(|b| b.functions.clone()).unwrap_or_default();
        all_functions.extend(functions);
        self.check_function_names(&all_functions);
        let own = &all_functions[all_functions.len() - own_count..];
        self.check_replacements(own, &all_functions);

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
            access: Vec::new(),
            access_meta: Meta::default(),
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

    /// Resolves a version argument that must be one of the declared versions.
    fn declared_version(&mut self, value: &Spanned<AttrValue>) -> Option<Version> {
        let AttrValue::Version(text) = &value.value else {
            self.error(value.span, "expected a version like `0.2.1`");
            return None;
        };
        match text.parse::<Version>() {
            Ok(v) if self.versions.contains(&v) => Some(v),
            Ok(v) => {
                let declared: Vec<String> =
                    self.versions.iter().map(|v| format!("`{v}`")).collect();
                self.error(
                    value.span,
                    format!(
                        "version `{v}` is not declared in the header (declared: {})",
                        declared.join(", ")
                    ),
                );
                None
            }
            Err(message) => {
                self.error(value.span, message);
                None
            }
        }
    }

    fn attrs(&mut self, meta: &syntax::Meta, allowed: Allowed) -> Attrs {
        let mut out = Attrs {
            meta: Meta {
                docs: meta.docs.join("\n").trim().to_string(),
                ..Meta::default()
            },
            ..Attrs::default()
        };
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut since_span = None;
        for attr in &meta.attrs {
            let name = attr.name.value.as_str();
            let permitted = match name {
                "note" => true,
                "since" | "until" => allowed != Allowed::NotesOnly,
                "deprecated" | "optional" | "required" => allowed == Allowed::Function,
                "unused" | "extent" | "on_invalid" => allowed == Allowed::Param,
                "role" => allowed == Allowed::Variant,
                _ => {
                    self.error(
                        attr.name.span,
                        format!(
                            "unknown attribute `@{name}`; known attributes are @since, @until, @note, \
                             @deprecated, @optional, @required, @unused, @extent, @on_invalid and @role"
                        ),
                    );
                    continue;
                }
            };
            if !permitted {
                self.error(attr.name.span, format!("`@{name}` is not allowed here"));
                continue;
            }
            if name != "note" {
                if let Some(first) = seen.get(name) {
                    let related = self.location(*first);
                    self.errors.push(
                        Diagnostic::new(
                            self.source,
                            attr.name.span,
                            format!("`@{name}` is given twice"),
                        )
                        .with_related("first given", related),
                    );
                    continue;
                }
                seen.insert(name.to_string(), attr.name.span);
            }
            match name {
                "since" | "until" => {
                    let Some(arg) = self.single_positional(attr) else {
                        continue;
                    };
                    let version = self.declared_version(&arg.value);
                    if name == "since" {
                        out.meta.gate.since = version;
                        since_span = Some(attr.name.span);
                    } else {
                        out.meta.gate.until = version;
                    }
                }
                "note" => {
                    if let Some(note) = self.note(attr) {
                        out.meta.notes.push(note);
                    }
                }
                "deprecated" => {
                    let mut dep = Deprecation {
                        since: None,
                        replacement: None,
                    };
                    for arg in &attr.args {
                        match arg.name.as_ref().map(|n| n.value.as_str()) {
                            Some("since") => dep.since = self.declared_version(&arg.value),
                            Some("use") => match &arg.value.value {
                                AttrValue::Str(s) => {
                                    dep.replacement = Some(s.clone());
                                    out.deprecated_use = Some(Spanned {
                                        value: s.clone(),
                                        span: arg.value.span,
                                    });
                                }
                                _ => self.error(arg.value.span, "`use` takes a function name in quotes"),
                            },
                            _ => self.error(
                                arg.value.span,
                                "`@deprecated` takes `since = <version>` and `use = \"<function>\"`",
                            ),
                        }
                    }
                    out.deprecated = Some(dep);
                }
                "optional" | "required" => {
                    self.no_args(attr);
                    if out.optional.is_some() {
                        self.error(
                            attr.name.span,
                            "`@optional` and `@required` contradict each other",
                        );
                    }
                    out.optional = Some(name == "optional");
                }
                "unused" => {
                    self.no_args(attr);
                    out.unused = true;
                }
                "role" => {
                    let Some(arg) = self.single_positional(attr) else {
                        continue;
                    };
                    let found = match &arg.value.value {
                        AttrValue::Ident(k) => StatusRole::ALL.iter().find(|(key, _)| key == k),
                        _ => None,
                    };
                    match found {
                        Some((_, role)) => out.role = Some(*role),
                        None => self.error(
                            arg.value.span,
                            "a role is `success`, `memory_fault`, `bad_argument` or `unimplemented`",
                        ),
                    }
                }
                "on_invalid" => {
                    if let Some(arg) = self.single_positional(attr) {
                        match &arg.value.value {
                            AttrValue::Ident(v) => {
                                out.on_invalid = Some(Spanned {
                                    value: v.clone(),
                                    span: arg.value.span,
                                })
                            }
                            _ => self
                                .error(arg.value.span, "`@on_invalid` takes a status value name"),
                        }
                    }
                }
                "extent" => {
                    if let Some(arg) = self.single_positional(attr) {
                        match &arg.value.value {
                            AttrValue::Str(s) => out.extent = Some(s.clone()),
                            _ => self
                                .error(arg.value.span, "`@extent` takes a description in quotes"),
                        }
                    }
                }
                _ => {}
            }
        }
        if let (
            Gate {
                since: Some(s),
                until: Some(u),
            },
            Some(span),
        ) = (out.meta.gate, since_span)
            && s >= u
        {
            self.error(
                span,
                format!("empty version range: since `{s}` is not before until `{u}`"),
            );
        }
        out
    }

    fn single_positional<'a>(&mut self, attr: &'a syntax::Attr) -> Option<&'a syntax::AttrArg> {
        match attr.args.as_slice() {
            [arg] if arg.name.is_none() => Some(arg),
            _ => {
                self.error(
                    attr.name.span,
                    format!("`@{}` takes exactly one argument", attr.name.value),
                );
                None
            }
        }
    }

    fn no_args(&mut self, attr: &syntax::Attr) {
        if !attr.args.is_empty() {
            self.error(
                attr.name.span,
                format!("`@{}` takes no arguments", attr.name.value),
            );
        }
    }

    fn note(&mut self, attr: &syntax::Attr) -> Option<Note> {
        let [kind, text] = attr.args.as_slice() else {
            self.error(
                attr.name.span,
                "`@note` takes a kind and a text: `@note(implementation, \"...\")`",
            );
            return None;
        };
        let kind = match &kind.value.value {
            AttrValue::Ident(k) if k == "implementation" => NoteKind::Implementation,
            AttrValue::Ident(k) if k == "clarification" => NoteKind::Clarification,
            AttrValue::Ident(k) if k == "erratum" => NoteKind::Erratum,
            _ => {
                self.error(
                    kind.value.span,
                    "a note's kind is `implementation`, `clarification` or `erratum`",
                );
                return None;
            }
        };
        let AttrValue::Str(text) = &text.value.value else {
            self.error(text.value.span, "a note's text must be in quotes");
            return None;
        };
        Some(Note {
            kind,
            text: text.clone(),
        })
    }

    fn enum_decl(&mut self, decl: &syntax::EnumDecl) -> (Spanned<String>, Enum) {
        let attrs = self.attrs(&decl.meta, Allowed::Gated);
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
            variants.push((
                v.name.clone(),
                Variant {
                    name: v.name.value.clone(),
                    value,
                    role: vattrs.role,
                    resumes: Vec::new(),
                    meta: vattrs.meta,
                    location: self.location(v.name.span),
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
            other if enums.iter().any(|e| e.name == other) => Type::Enum(other.to_string()),
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

    fn function(
        &mut self,
        section: &str,
        decl: &syntax::FunctionDecl,
        enums: &[Enum],
    ) -> Option<Function> {
        let attrs = self.attrs(&decl.meta, Allowed::Function);
        let func = match &decl.kind {
            syntax::FunctionKindDecl::Marker => {
                return Some(Function {
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
                    meta: attrs.meta,
                    location: self.location(decl.span),
                });
            }
            syntax::FunctionKindDecl::Func(func) => func,
        };
        let is_host = func.direction.value == "hostcall";
        let direction = if is_host {
            Direction::Host {
                module: func
                    .module
                    .as_ref()
                    .map_or_else(|| "env".to_string(), |m| m.value.clone()),
            }
        } else {
            if let Some(module) = &func.module {
                self.error(
                    module.span,
                    "a callback is exported by the plugin and has no import module",
                );
            }
            Direction::Callback
        };

        let mut params = Vec::new();
        let mut on_invalid_checks: Vec<Spanned<String>> = Vec::new();
        for p in &func.params {
            let pattrs = self.attrs(&p.meta, Allowed::Param);
            let Some(ty) = self.resolve_type(&p.ty, enums) else {
                continue;
            };
            if let Some(status) = &pattrs.on_invalid {
                on_invalid_checks.push(status.clone());
            }
            let mut param = Param {
                name: p.name.value.clone(),
                ty,
                out: p.ty.out,
                lowered_names: None,
                unused: pattrs.unused,
                extent: pattrs.extent,
                on_invalid: pattrs.on_invalid.map(|s| s.value),
                access: None,
                resumes: false,
                meta: pattrs.meta,
                location: self.location(p.name.span),
            };
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
            if let Some(names) = &p.lowered {
                let slots = lower::slot_count(&param);
                if names.value.len() != slots {
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
                } else {
                    param.lowered_names =
                        Some(names.value.iter().map(|n| n.value.clone()).collect());
                }
            }
            params.push((p.name.span, param));
        }
        self.check_lowered_names(&func.name.value, &params);

        let result = func.result.as_ref().and_then(|r| {
            let ty = self.resolve_type(&r.ty, enums)?;
            if r.ty.out || !matches!(ty, Type::U32 | Type::Bool | Type::Enum(_) | Type::Ptr(_)) {
                self.error(r.ty.span, "a result is `u32`, `bool`, an enum or a `ptr`");
            }
            Some(Returns {
                name: r.name.value.clone(),
                ty,
            })
        });

        for status in on_invalid_checks {
            let known = match result.as_ref().map(|r| &r.ty) {
                Some(Type::Enum(e)) => enums
                    .iter()
                    .find(|x| &x.name == e)
                    .is_some_and(|x| x.variant(&status.value).is_some()),
                _ => false,
            };
            if !known {
                self.error(
                    status.span,
                    format!(
                        "`{}` is not a value of `{}`'s result",
                        status.value, func.name.value
                    ),
                );
            }
        }

        let mut outcomes = Vec::new();
        if let Some(list) = &func.outcomes {
            let mut seen: Vec<(String, Gate, Span)> = Vec::new();
            for o in list {
                let oattrs = self.attrs(&o.meta, Allowed::Gated);
                match result.as_ref().map(|r| &r.ty) {
                    Some(Type::Enum(enum_name)) => {
                        let known = enums
                            .iter()
                            .find(|e| &e.name == enum_name)
                            .is_some_and(|e| e.variant(&o.name.value).is_some());
                        if !known {
                            self.error(
                                o.name.span,
                                format!("`{}` is not a value of `{enum_name}`", o.name.value),
                            );
                        }
                    }
                    Some(Type::Bool) => {
                        if o.name.value != "true" && o.name.value != "false" {
                            self.error(
                                o.name.span,
                                format!(
                                    "`{}` is not a bool: expected `true` or `false`",
                                    o.name.value
                                ),
                            );
                        }
                    }
                    Some(_) => {
                        self.error(
                            o.name.span,
                            "outcomes can only be listed for enum and bool results",
                        );
                    }
                    None => {
                        self.error(
                            o.name.span,
                            "outcomes are listed but the function has no result",
                        );
                    }
                }
                if let Some((_, _, first)) = seen
                    .iter()
                    .find(|(n, g, _)| *n == o.name.value && g.overlaps(&oattrs.meta.gate))
                {
                    let first = *first;
                    self.duplicate("outcome", &o.name, first);
                }
                seen.push((o.name.value.clone(), oattrs.meta.gate, o.name.span));
                outcomes.push(Outcome {
                    value: o.name.value.clone(),
                    text: o.text.value.clone(),
                    meta: oattrs.meta,
                });
            }
        }

        Some(Function {
            name: func.name.value.clone(),
            optional: attrs.optional.unwrap_or(!is_host),
            direction,
            is_marker: false,
            section: section.to_string(),
            params: params.into_iter().map(|(_, p)| p).collect(),
            result,
            outcomes,
            deprecated: attrs.deprecated,
            forbidden: None,
            resumes: Vec::new(),
            meta: attrs.meta,
            location: self.location(func.name.span),
        })
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
