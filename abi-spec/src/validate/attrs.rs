//! Reads the attributes in front of an item into slots, after cxx's
//! `syntax/attrs.rs`: the item offers a slot for each attribute it accepts,
//! and any other attribute is reported where it is written.

use std::collections::HashMap;

use super::Validator;
use crate::diagnostic::{Diagnostic, Span};
use crate::ir::*;
use crate::syntax::{self, AttrValue, Spanned};

/// Attributes an item may carry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Allowed {
    /// `@since`, `@until`, `@note`.
    Gated,
    /// Gated plus `@deprecated`, `@optional`, `@required`, `@forbidden`,
    /// `@context`, `@resumes(...)`: a host function or the marker.
    Function,
    /// Function plus `@role`: a callback.
    Callback,
    /// Gated plus `@unused`, `@extent`, `@on_invalid`, `@access`, `@resumes`.
    Param,
    /// Gated plus `@role`, `@resumes(...)`.
    Variant,
    /// Only `@note`: the header.
    NotesOnly,
}

/// Attributes of one item, after checking.
#[derive(Default)]
pub(super) struct Attrs {
    pub(super) meta: Meta,
    pub(super) deprecated: Option<Deprecation>,
    pub(super) deprecated_use: Option<Spanned<String>>,
    pub(super) optional: Option<bool>,
    pub(super) unused: bool,
    pub(super) extent: Option<String>,
    pub(super) role: Option<StatusRole>,
    /// `@role(...)` on a function, with the attribute's span.
    pub(super) function_role: Option<(FunctionRole, Span)>,
    pub(super) on_invalid: Option<Spanned<String>>,
    /// `@access(level)` on a parameter, with the attribute's span.
    pub(super) access: Option<(AccessLevel, Span)>,
    /// `@resumes` on a parameter (it takes no list), with its span.
    pub(super) resumes_flag: Option<Span>,
    /// `@resumes(a, b)` on a variant or function: the callbacks as written.
    pub(super) resumes: Vec<Spanned<String>>,
    /// `@forbidden(STATUS)`: the status, and the attribute's span.
    pub(super) forbidden: Option<(Spanned<String>, Span)>,
    /// `@context(effect)`, with the attribute's span.
    pub(super) context: Option<(ContextEffect, Span)>,
}

/// Where each attribute goes: `None` for one the item does not accept.
#[derive(Default)]
struct Slots<'a> {
    /// `@note`.
    notes: Option<&'a mut Vec<Note>>,
    /// `@since` and `@until`.
    gate: Option<&'a mut Gate>,
    /// `@deprecated`, and its `use = "..."` as written.
    deprecated: Option<(&'a mut Option<Deprecation>, &'a mut Option<Spanned<String>>)>,
    /// `@optional` and `@required`.
    optional: Option<&'a mut Option<bool>>,
    /// `@unused`.
    unused: Option<&'a mut bool>,
    /// `@extent`.
    extent: Option<&'a mut Option<String>>,
    /// `@role` on a variant.
    role: Option<&'a mut Option<StatusRole>>,
    /// `@role` on a function.
    function_role: Option<&'a mut Option<(FunctionRole, Span)>>,
    /// `@on_invalid`.
    on_invalid: Option<&'a mut Option<Spanned<String>>>,
    /// `@access`.
    access: Option<&'a mut Option<(AccessLevel, Span)>>,
    /// `@resumes` without a list (a parameter).
    resumes_flag: Option<&'a mut Option<Span>>,
    /// `@resumes(...)` with a list (a variant or function).
    resumes: Option<&'a mut Vec<Spanned<String>>>,
    /// `@forbidden`.
    forbidden: Option<&'a mut Option<(Spanned<String>, Span)>>,
    /// `@context`.
    context: Option<&'a mut Option<(ContextEffect, Span)>>,
}

impl Attrs {
    /// The slots `allowed` opens, each pointing into `self`.
    fn slots(&mut self, allowed: Allowed) -> Slots<'_> {
        let mut slots = Slots {
            notes: Some(&mut self.meta.notes),
            ..Slots::default()
        };
        if allowed == Allowed::NotesOnly {
            return slots;
        }
        slots.gate = Some(&mut self.meta.gate);
        match allowed {
            Allowed::NotesOnly | Allowed::Gated => {}
            Allowed::Function | Allowed::Callback => {
                slots.deprecated = Some((&mut self.deprecated, &mut self.deprecated_use));
                slots.optional = Some(&mut self.optional);
                slots.forbidden = Some(&mut self.forbidden);
                slots.context = Some(&mut self.context);
                slots.resumes = Some(&mut self.resumes);
                // Which roles fit which functions is checked where the
                // direction is known.
                slots.function_role = Some(&mut self.function_role);
            }
            Allowed::Param => {
                slots.unused = Some(&mut self.unused);
                slots.extent = Some(&mut self.extent);
                slots.on_invalid = Some(&mut self.on_invalid);
                slots.access = Some(&mut self.access);
                slots.resumes_flag = Some(&mut self.resumes_flag);
            }
            Allowed::Variant => {
                slots.role = Some(&mut self.role);
                slots.resumes = Some(&mut self.resumes);
            }
        }
        slots
    }
}

impl Slots<'_> {
    /// Whether the item has a slot for `@name`; `None` for an unknown name.
    fn accepts(&self, name: &str) -> Option<bool> {
        Some(match name {
            "note" => self.notes.is_some(),
            "since" | "until" => self.gate.is_some(),
            "deprecated" => self.deprecated.is_some(),
            "optional" | "required" => self.optional.is_some(),
            "unused" => self.unused.is_some(),
            "extent" => self.extent.is_some(),
            "on_invalid" => self.on_invalid.is_some(),
            "access" => self.access.is_some(),
            "role" => self.role.is_some() || self.function_role.is_some(),
            "forbidden" => self.forbidden.is_some(),
            "context" => self.context.is_some(),
            "resumes" => self.resumes_flag.is_some() || self.resumes.is_some(),
            _ => return None,
        })
    }
}

/// Stores `value` in `slot` when the item has that slot.
fn put<T>(slot: &mut Option<&mut T>, value: T) {
    if let Some(slot) = slot {
        **slot = value;
    }
}

impl Validator<'_> {
    /// Checks the docs and attributes `meta` of an item that accepts `allowed`.
    pub(super) fn attrs(&mut self, meta: &syntax::Meta, allowed: Allowed) -> Attrs {
        let mut out = Attrs {
            meta: Meta {
                docs: meta.docs.join("\n").trim().to_string(),
                ..Meta::default()
            },
            ..Attrs::default()
        };
        self.read_attrs(meta, out.slots(allowed));
        out
    }

    /// Fills `slots` from the attributes in order, reporting the rest.
    fn read_attrs(&mut self, meta: &syntax::Meta, mut slots: Slots<'_>) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut since_span = None;
        for attr in &meta.attrs {
            if self.admit(attr, &slots, &mut seen) {
                self.fill(attr, &mut slots, &mut since_span);
            }
        }
        if let (Some(gate), Some(span)) = (slots.gate, since_span) {
            self.check_range(*gate, span);
        }
    }

    /// Whether `attr` is known, has a slot here, and (but for `@note`) is
    /// not a repeat; reports it otherwise.
    fn admit(
        &mut self,
        attr: &syntax::Attr,
        slots: &Slots<'_>,
        seen: &mut HashMap<String, Span>,
    ) -> bool {
        let name = attr.name.value.as_str();
        match slots.accepts(name) {
            None => {
                self.error(
                    attr.name.span,
                    format!(
                        "unknown attribute `@{name}`; known attributes are @since, @until, @note, \
                         @deprecated, @optional, @required, @unused, @extent, @on_invalid, @role, \
                         @access, @resumes, @forbidden and @context"
                    ),
                );
                false
            }
            Some(false) => {
                self.error(attr.name.span, format!("`@{name}` is not allowed here"));
                false
            }
            Some(true) => name == "note" || self.first_given(&attr.name, seen),
        }
    }

    /// Whether `@name` is the first of its name on the item; reports a repeat.
    fn first_given(&mut self, name: &Spanned<String>, seen: &mut HashMap<String, Span>) -> bool {
        if let Some(first) = seen.get(&name.value) {
            let related = self.location(*first);
            self.errors.push(
                Diagnostic::new(
                    self.source,
                    name.span,
                    format!("`@{}` is given twice", name.value),
                )
                .with_related("first given", related),
            );
            return false;
        }
        seen.insert(name.value.clone(), name.span);
        true
    }

    /// Reads one admitted attribute into its slot; `since_span` records where
    /// `@since` was read, for [`Self::check_range`].
    fn fill(&mut self, attr: &syntax::Attr, slots: &mut Slots<'_>, since_span: &mut Option<Span>) {
        let span = attr.name.span;
        match attr.name.value.as_str() {
            "note" => {
                if let (Some(notes), Some(note)) = (&mut slots.notes, self.read_note(attr)) {
                    notes.push(note);
                }
            }
            "since" | "until" => {
                if let Some(gate) = &mut slots.gate {
                    self.fill_gate(attr, gate, since_span);
                }
            }
            "deprecated" => {
                let (deprecation, replacement) = self.read_deprecated(attr);
                if let Some((deprecated, deprecated_use)) = &mut slots.deprecated {
                    **deprecated = Some(deprecation);
                    **deprecated_use = replacement;
                }
            }
            "optional" | "required" => {
                if let Some(optional) = &mut slots.optional {
                    self.fill_optional(attr, optional);
                }
            }
            "unused" => {
                self.no_args(attr);
                put(&mut slots.unused, true);
            }
            "role" if slots.function_role.is_some() => {
                if let Some(role) = self.read_function_role(attr) {
                    put(&mut slots.function_role, Some((role, span)));
                }
            }
            "role" => {
                if let Some(role) = self.read_role(attr) {
                    put(&mut slots.role, Some(role));
                }
            }
            "on_invalid" => {
                if let Some(status) = self.read_status(attr) {
                    put(&mut slots.on_invalid, Some(status));
                }
            }
            "extent" => {
                if let Some(extent) = self.read_extent(attr) {
                    put(&mut slots.extent, Some(extent));
                }
            }
            "access" => {
                if let Some(level) = self.read_access(attr) {
                    put(&mut slots.access, Some((level, span)));
                }
            }
            "forbidden" => {
                if let Some(status) = self.read_status(attr) {
                    put(&mut slots.forbidden, Some((status, span)));
                }
            }
            "context" => {
                if let Some(effect) = self.read_context(attr) {
                    put(&mut slots.context, Some((effect, span)));
                }
            }
            "resumes" if slots.resumes_flag.is_some() => {
                self.check_resumes_flag(attr);
                put(&mut slots.resumes_flag, Some(span));
            }
            "resumes" => {
                let names = self.read_resumes(attr);
                put(&mut slots.resumes, names);
            }
            _ => {}
        }
    }

    /// `@since(V)` or `@until(V)`: a declared version, into `gate`.
    fn fill_gate(&mut self, attr: &syntax::Attr, gate: &mut Gate, since_span: &mut Option<Span>) {
        let Some(arg) = self.single_positional(attr) else {
            return;
        };
        let version = self.declared_version(&arg.value);
        if attr.name.value == "since" {
            gate.since = version;
            *since_span = Some(attr.name.span);
        } else {
            gate.until = version;
        }
    }

    /// `@optional` or `@required`, which exclude each other.
    fn fill_optional(&mut self, attr: &syntax::Attr, optional: &mut Option<bool>) {
        self.no_args(attr);
        if optional.is_some() {
            self.error(
                attr.name.span,
                "`@optional` and `@required` contradict each other",
            );
        }
        *optional = Some(attr.name.value == "optional");
    }

    /// `@since` must come before `@until`.
    fn check_range(&mut self, gate: Gate, since_span: Span) {
        if let Gate {
            since: Some(s),
            until: Some(u),
        } = gate
            && s >= u
        {
            self.error(
                since_span,
                format!("empty version range: since `{s}` is not before until `{u}`"),
            );
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

    /// The one positional argument `attr` takes.
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

    /// `attr` is written without arguments.
    fn no_args(&mut self, attr: &syntax::Attr) {
        if !attr.args.is_empty() {
            self.error(
                attr.name.span,
                format!("`@{}` takes no arguments", attr.name.value),
            );
        }
    }

    /// `@note(kind, "text")`, with a known kind.
    fn read_note(&mut self, attr: &syntax::Attr) -> Option<Note> {
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

    /// `@deprecated(since = V, use = "f")`, both optional; also returns the
    /// `use` name as written.
    fn read_deprecated(&mut self, attr: &syntax::Attr) -> (Deprecation, Option<Spanned<String>>) {
        let mut dep = Deprecation {
            since: None,
            replacement: None,
        };
        let mut written_use = None;
        for arg in &attr.args {
            match arg.name.as_ref().map(|n| n.value.as_str()) {
                Some("since") => dep.since = self.declared_version(&arg.value),
                Some("use") => match &arg.value.value {
                    AttrValue::Str(s) => {
                        dep.replacement = Some(s.clone());
                        written_use = Some(Spanned {
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
        (dep, written_use)
    }

    /// `@role(r)`, with a known role.
    fn read_role(&mut self, attr: &syntax::Attr) -> Option<StatusRole> {
        let arg = self.single_positional(attr)?;
        let found = match &arg.value.value {
            AttrValue::Ident(k) => StatusRole::ALL.iter().find(|(key, _)| key == k),
            _ => None,
        };
        if found.is_none() {
            self.error(
                arg.value.span,
                "a role is `success`, `memory_fault`, `bad_argument`, `unimplemented`, `malformed_result` or `pause`",
            );
        }
        found.map(|(_, role)| *role)
    }

    /// `@role(r)` on a function, with a known role.
    fn read_function_role(&mut self, attr: &syntax::Attr) -> Option<FunctionRole> {
        let arg = self.single_positional(attr)?;
        let found = match &arg.value.value {
            AttrValue::Ident(k) => FunctionRole::ALL.iter().find(|(key, _)| key == k),
            _ => None,
        };
        if found.is_none() {
            self.error(
                arg.value.span,
                "a function's role is `allocator`, `legacy_allocator`, `initialize`, `start` or `main` on a callback, `exit` on a host function",
            );
        }
        found.map(|(_, role)| *role)
    }

    /// `@on_invalid(S)` or `@forbidden(S)`: a status value name, resolved
    /// against the result later.
    fn read_status(&mut self, attr: &syntax::Attr) -> Option<Spanned<String>> {
        let arg = self.single_positional(attr)?;
        match &arg.value.value {
            AttrValue::Ident(v) => Some(Spanned {
                value: v.clone(),
                span: arg.value.span,
            }),
            _ => {
                self.error(
                    arg.value.span,
                    format!("`@{}` takes a status value name", attr.name.value),
                );
                None
            }
        }
    }

    /// `@extent("...")`: how far a `ptr` extends, in words.
    fn read_extent(&mut self, attr: &syntax::Attr) -> Option<String> {
        let arg = self.single_positional(attr)?;
        match &arg.value.value {
            AttrValue::Str(s) => Some(s.clone()),
            _ => {
                self.error(arg.value.span, "`@extent` takes a description in quotes");
                None
            }
        }
    }

    /// `@access(level)`: `read`, `add` or `modify`.
    fn read_access(&mut self, attr: &syntax::Attr) -> Option<AccessLevel> {
        let arg = self.single_positional(attr)?;
        let found = match &arg.value.value {
            AttrValue::Ident(k) => AccessLevel::ALL
                .iter()
                .find(|(key, level)| key == k && *level != AccessLevel::Call),
            _ => None,
        };
        if let Some((_, level)) = found {
            return Some(*level);
        }
        self.error(
            arg.value.span,
            "`@access` takes what the function does to the map or buffer: \
             `read`, `add` or `modify`",
        );
        // The description is rejected either way; a stand-in level keeps the
        // parameter a selector, so its rules and `@forbidden` are not
        // reported too.
        Some(AccessLevel::Read)
    }

    /// `@context(effect)`, with a known effect.
    fn read_context(&mut self, attr: &syntax::Attr) -> Option<ContextEffect> {
        let arg = self.single_positional(attr)?;
        let effect = match &arg.value.value {
            AttrValue::Ident(v) => ContextEffect::ALL
                .iter()
                .find(|(k, _)| k == v)
                .map(|(_, e)| *e),
            _ => None,
        };
        if effect.is_none() {
            self.error(
                arg.value.span,
                "`@context` takes `create`, `delete` or `switch`",
            );
        }
        effect
    }

    /// `@resumes` on a parameter takes no list.
    fn check_resumes_flag(&mut self, attr: &syntax::Attr) {
        if !attr.args.is_empty() {
            self.error(
                attr.name.span,
                "`@resumes` on a parameter takes no arguments: the callbacks are \
                 listed on its enum's variants",
            );
        }
    }

    /// `@resumes(a, b)`: a non-empty list of callback names.
    fn read_resumes(&mut self, attr: &syntax::Attr) -> Vec<Spanned<String>> {
        let mut names = Vec::new();
        for arg in &attr.args {
            match (&arg.name, &arg.value.value) {
                (None, AttrValue::Ident(n)) => names.push(Spanned {
                    value: n.clone(),
                    span: arg.value.span,
                }),
                _ => self.error(arg.value.span, "`@resumes` takes callback names"),
            }
        }
        if attr.args.is_empty() {
            self.error(
                attr.name.span,
                "`@resumes` lists the callbacks whose pauses it ends, e.g. \
                 `@resumes(proxy_on_request_headers)`",
            );
        }
        names
    }
}
