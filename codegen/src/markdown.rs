//! The Markdown reference of one ABI version: an index of functions by
//! section, a page entry per function (parameters, results, statuses, notes),
//! the access rules (a matrix of maps and buffers by callback, and the
//! restricted host functions), the enums, the byte formats with a worked
//! example, the well-known properties, and the changes since the previous
//! version.

use std::fmt::Write as _;

use proxy_wasm_abi_spec::ir::{
    AbiVersion, AccessLevel, AccessRule, Function, Grant, Meta, Note, Param, Place, Subject, Type,
};
use proxy_wasm_abi_spec::lower::{lower_param, lower_result};

use crate::diff::{AbiDiff, signature_text};

/// Escapes text for a table cell: pipes are escaped, line breaks become spaces.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The anchor GitHub gives a heading: lower case, punctuation other than
/// `-` and `_` dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn notes_block(out: &mut String, notes: &[Note]) {
    for note in notes {
        let _ = writeln!(out, "> **Note ({}).** {}\n", note.kind.keyword(), note.text);
    }
}

fn docs_block(out: &mut String, meta: &Meta) {
    if !meta.docs.is_empty() {
        let _ = writeln!(out, "{}\n", meta.docs);
    }
    notes_block(out, &meta.notes);
}

/// How a semantic parameter is described in the parameter table.
fn param_meaning(p: &Param) -> String {
    let mut parts = Vec::new();
    let kind = match (p.out, p.ty.keyword()) {
        (true, "bytes") => "returned bytes (host-allocated)".to_string(),
        (true, "string") => "returned string (host-allocated)".to_string(),
        (true, "map") => "returned serialized map (host-allocated)".to_string(),
        (true, ty) => format!("written by the host: `{ty}`"),
        (false, ty) => format!("`{ty}`"),
    };
    parts.push(format!("`{}`: {kind}", p.name));
    if p.unused {
        parts.push("unused".to_string());
    }
    if !p.meta.docs.is_empty() {
        parts.push(p.meta.docs.clone());
    }
    if let Some(extent) = &p.extent {
        parts.push(format!("Extent: {extent}"));
    }
    for note in &p.meta.notes {
        parts.push(format!("Note ({}): {}", note.kind.keyword(), note.text));
    }
    cell(&parts.join(". "))
}

fn function_entry(out: &mut String, abi: &AbiVersion, f: &Function) {
    let _ = writeln!(out, "#### `{}`\n", f.qualified_name());
    let side = match f.module() {
        Some(module) => format!("Host function, imported from `{module}`"),
        None => "Callback, exported by the plugin".to_string(),
    };
    let presence = if f.optional { "optional" } else { "required" };
    let _ = writeln!(out, "{side}; {presence}.\n");
    if let Some(dep) = &f.deprecated {
        match &dep.replacement {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "**Deprecated:** use [`{r}`](#{}) instead.\n",
                    anchor(r)
                );
            }
            None => out.push_str("**Deprecated.**\n\n"),
        }
    }
    docs_block(out, &f.meta);
    access_lines(out, abi, f);

    if f.params.is_empty() {
        out.push_str("Parameters: none.\n\n");
    } else {
        out.push_str("| Parameter | Wasm | C type | Meaning |\n|---|---|---|---|\n");
        for p in &f.params {
            for (i, v) in lower_param(p).iter().enumerate() {
                let meaning = if i == 0 {
                    param_meaning(p)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | `{}` | {meaning} |",
                    v.name, v.wasm, v.c_type
                );
            }
        }
        out.push('\n');
    }
    match &f.result {
        None => out.push_str("Returns: nothing.\n\n"),
        Some(r) => {
            let v = lower_result(r);
            let _ = writeln!(
                out,
                "Returns `{}`: `{}` (`{}`).\n",
                v.name, v.wasm, v.c_type
            );
        }
    }
    if !f.outcomes.is_empty() {
        let header = if f.is_host() {
            "| Status | When |"
        } else {
            "| Value | Meaning |"
        };
        let _ = writeln!(out, "{header}\n|---|---|");
        for o in &f.outcomes {
            let _ = writeln!(out, "| `{}` | {} |", o.value, cell(&o.text));
        }
        out.push('\n');
    }
}

/// The short letter of an access level in the matrix.
fn level_letter(level: AccessLevel) -> &'static str {
    match level {
        AccessLevel::Read => "R",
        AccessLevel::Add => "A",
        AccessLevel::Modify => "M",
        AccessLevel::Call => "C",
    }
}

/// `¹`, `²`, ... for footnote `n` (1-based).
fn superscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|d| match d {
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// What a selector enum selects: `proxy_map_type_t` -> `map`,
/// `proxy_buffer_type_t` -> `buffer`.
fn selected_noun(enum_name: &str) -> String {
    let base = crate::names::enum_base(enum_name);
    base.strip_suffix("_type").unwrap_or(base).replace('_', " ")
}

/// A callback name as a link to its entry.
fn callback_link(name: &str) -> String {
    format!("[`{name}`](#{})", anchor(name))
}

/// The places of a grant in words, e.g. "in `a`, `b`" or "before the stream
/// gets past `c`".
fn places_text(places: &[Place]) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for place in places {
        let kind = match place {
            Place::In(_) => "in",
            Place::Paused(_) => "while paused from",
            Place::Before(_) => "before the stream gets past",
        };
        let name = format!("`{}`", place.callback());
        match groups.last_mut() {
            Some((k, names)) if *k == kind => names.push(name),
            _ => groups.push((kind, vec![name])),
        }
    }
    groups
        .iter()
        .map(|(kind, names)| format!("{kind} {}", names.join(", ")))
        .collect::<Vec<_>>()
        .join(", or ")
}

/// A grant in words, e.g. "in `a` when `end_of_stream` is true"; the level
/// is named unless it is `call`.
fn grant_text(grant: &Grant) -> String {
    let mut text = match grant.level {
        AccessLevel::Call => String::new(),
        level => format!("`{}` ", level.keyword()),
    };
    text.push_str(&places_text(&grant.places));
    if let Some(when) = &grant.when {
        let _ = write!(text, " when `{when}` is true");
    }
    text
}

/// Where a restricted host function may be called, in words.
fn callable_text(rule: &AccessRule) -> String {
    if rule.grants.is_empty() {
        return "nowhere".to_string();
    }
    let grants: Vec<String> = rule.grants.iter().map(grant_text).collect();
    grants.join("; or ")
}

/// The "Access:", "Callable:" and "Resumes:" lines of a host function entry.
fn access_lines(out: &mut String, abi: &AbiVersion, f: &Function) {
    let otherwise = f
        .forbidden
        .as_ref()
        .map_or_else(String::new, |s| format!("; otherwise returns `{s}`"));
    for p in &f.params {
        if let (Some(level), Type::Enum(e)) = (p.access, &p.ty) {
            let _ = writeln!(
                out,
                "Access: `{}` of the {} named by `{}`; allowed where the \
                 [access rules](#access-rules) grant it{otherwise}.\n",
                level.keyword(),
                selected_noun(e.name()),
                p.name
            );
        }
    }
    if let Some(rule) = abi.function_rule(&f.name) {
        let _ = writeln!(out, "Callable: {}{otherwise}.\n", callable_text(rule));
    }
    if !f.resumes.is_empty() {
        let names: Vec<String> = f.resumes.iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(
            out,
            "Resumes: a successful call ends the pauses from {}.\n",
            names.join(", ")
        );
    }
    for p in f.params.iter().filter(|p| p.resumes) {
        let Type::Enum(e) = &p.ty else { continue };
        let per_variant: Vec<String> = abi
            .enum_def(e)
            .map(|e| e.variants.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|v| !v.resumes.is_empty())
            .map(|v| {
                let names: Vec<String> = v.resumes.iter().map(|c| format!("`{c}`")).collect();
                format!("for `{}`, those from {}", v.name, names.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "Resumes: a successful call ends the pauses of the stream `{}` selects: {}.\n",
            p.name,
            per_variant.join("; ")
        );
    }
}

/// How a matrix row relates to its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RowKind {
    In,
    Paused,
    Before,
}

fn row_of(place: &Place) -> (RowKind, &str) {
    match place {
        Place::In(c) => (RowKind::In, c),
        Place::Paused(c) => (RowKind::Paused, c),
        Place::Before(c) => (RowKind::Before, c),
    }
}

/// The matrix of map and buffer grants, its legend, and its footnotes.
fn access_matrix(out: &mut String, abi: &AbiVersion) {
    // Columns: the rules about enum variants, grouped by enum in the order
    // the enums first appear in the rules, each group in enum order.
    let mut enums: Vec<&str> = Vec::new();
    for rule in &abi.access {
        if let Subject::Variant { enum_name, .. } = &rule.subject
            && !enums.contains(&enum_name.as_str())
        {
            enums.push(enum_name);
        }
    }
    let mut columns: Vec<(&str, &str, &AccessRule)> = Vec::new();
    for e in &enums {
        let mut group: Vec<(usize, &str, &AccessRule)> = abi
            .access
            .iter()
            .filter_map(|r| match &r.subject {
                Subject::Variant { enum_name, variant } if enum_name == e => {
                    let position = abi
                        .enum_named(e)
                        .and_then(|en| en.variants.iter().position(|v| v.name == *variant))
                        .unwrap_or(usize::MAX);
                    Some((position, variant.as_str(), r))
                }
                _ => None,
            })
            .collect();
        group.sort_by_key(|(position, _, _)| *position);
        columns.extend(group.into_iter().map(|(_, v, r)| (*e, v, r)));
    }
    if columns.is_empty() {
        return;
    }
    // Rows: every place of those grants, callbacks in description order,
    // each callback's `in` row before its `paused` and `before` rows.
    let order: Vec<&str> = abi.callbacks().map(|f| f.name.as_str()).collect();
    let mut rows: Vec<(RowKind, &str)> = Vec::new();
    for (_, _, rule) in &columns {
        for place in rule.grants.iter().flat_map(|g| &g.places) {
            let row = row_of(place);
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
    }
    let position = |name: &str| order.iter().position(|c| *c == name).unwrap_or(usize::MAX);
    rows.sort_by_key(|(kind, name)| (position(name), *kind));

    let ambiguous = |variant: &str| columns.iter().filter(|(_, v, _)| *v == variant).count() > 1;
    out.push_str("| Callback |");
    for (e, v, _) in &columns {
        if ambiguous(v) {
            let _ = write!(out, " `{e}.{v}` |");
        } else {
            let _ = write!(out, " `{v}` |");
        }
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    let mut footnotes: Vec<&str> = Vec::new();
    for (kind, callback) in &rows {
        let label = match kind {
            RowKind::In => callback_link(callback),
            RowKind::Paused => format!("{} (paused)", callback_link(callback)),
            RowKind::Before => format!("before {}", callback_link(callback)),
        };
        let _ = write!(out, "| {label} |");
        for (_, _, rule) in &columns {
            let mut parts: Vec<String> = Vec::new();
            for grant in &rule.grants {
                if !grant.places.iter().any(|p| row_of(p) == (*kind, *callback)) {
                    continue;
                }
                let mut part = level_letter(grant.level).to_string();
                if let (RowKind::In, Some(when)) = (kind, &grant.when) {
                    let n = match footnotes.iter().position(|w| w == when) {
                        Some(i) => i + 1,
                        None => {
                            footnotes.push(when);
                            footnotes.len()
                        }
                    };
                    part.push_str(&superscript(n));
                }
                if !parts.contains(&part) {
                    parts.push(part);
                }
            }
            if parts.is_empty() {
                out.push_str(" |");
            } else {
                let _ = write!(out, " {} |", parts.join(", "));
            }
        }
        out.push('\n');
    }
    out.push('\n');

    // Legend.
    let groups: Vec<String> = enums
        .iter()
        .map(|e| format!("the {}s of [`{e}`](#{})", selected_noun(e), anchor(e)))
        .collect();
    let _ = writeln!(
        out,
        "- Columns: {}, each by its value's name.",
        groups.join(", then ")
    );
    let forbidden: Vec<String> = enums
        .iter()
        .filter_map(|e| {
            let mut statuses: Vec<&str> = Vec::new();
            for f in abi.host_functions() {
                let selects = f.params.iter().any(|p| {
                    p.access.is_some() && matches!(&p.ty, Type::Enum(r) if r.name() == *e)
                });
                if let (true, Some(s)) = (selects, &f.forbidden)
                    && !statuses.contains(&s.name())
                {
                    statuses.push(s.name());
                }
            }
            let statuses: Vec<String> = statuses.iter().map(|s| format!("`{s}`")).collect();
            (!statuses.is_empty())
                .then(|| format!("{} for a {}", statuses.join(" or "), selected_noun(e)))
        })
        .collect();
    let mut cells = "- `R` read; `A` add, without reading; `M` modify: read, add, change \
                     and remove. An empty cell means no access"
        .to_string();
    if !forbidden.is_empty() {
        let _ = write!(
            cells,
            ": the call never reaches the host and answers {}",
            forbidden.join(", ")
        );
    }
    let _ = writeln!(out, "{cells}.");
    out.push_str("- A callback's row holds while that callback runs.\n");
    if rows.iter().any(|(kind, _)| *kind == RowKind::Paused) {
        let resumers: Vec<String> = abi
            .host_functions()
            .filter(|f| !f.resumes.is_empty() || f.params.iter().any(|p| p.resumes))
            .map(|f| callback_link(&f.qualified_name()))
            .collect();
        let mut text = "- A *(paused)* row holds while the effective context's stream stays \
                        paused from that callback: it returned `PAUSE` there and has not been \
                        resumed since"
            .to_string();
        if !resumers.is_empty() {
            let _ = write!(text, " by a successful {}", resumers.join(" or "));
        }
        let _ = writeln!(out, "{text}.");
    }
    if rows.iter().any(|(kind, _)| *kind == RowKind::Before) {
        out.push_str(
            "- A *before* row holds in any callback while the effective context's stream \
             has not yet got past that callback.\n",
        );
    }
    for (i, when) in footnotes.iter().enumerate() {
        let _ = writeln!(
            out,
            "- {} Only while the callback's `{when}` parameter is true.",
            superscript(i + 1)
        );
    }
    out.push('\n');
}

/// The table of host functions the rules restrict as a whole.
fn restricted_functions(out: &mut String, abi: &AbiVersion) {
    let rules: Vec<(&str, &AccessRule)> = abi
        .access
        .iter()
        .filter_map(|r| match &r.subject {
            Subject::Function(name) => Some((name.as_str(), r)),
            Subject::Variant { .. } => None,
        })
        .collect();
    if rules.is_empty() {
        return;
    }
    out.push_str("### Restricted host functions\n\n");
    out.push_str("| Function | Callable | Otherwise |\n|---|---|---|\n");
    for (name, rule) in rules {
        let callable = callable_text(rule);
        let otherwise = abi
            .function(name)
            .and_then(|f| f.forbidden.as_ref())
            .map_or_else(String::new, |s| format!("`{s}`"));
        let _ = writeln!(
            out,
            "| {} | {} | {otherwise} |",
            callback_link(name),
            cell(&callable)
        );
    }
    out.push('\n');
}

/// Each rule's docs and notes, and those of its grants.
fn rule_notes(out: &mut String, abi: &AbiVersion) {
    let annotated = |m: &Meta| !m.docs.is_empty() || !m.notes.is_empty();
    let rules: Vec<&AccessRule> = abi
        .access
        .iter()
        .filter(|r| annotated(&r.meta) || r.grants.iter().any(|g| annotated(&g.meta)))
        .collect();
    if rules.is_empty() {
        return;
    }
    out.push_str("### Notes on the rules\n\n");
    for rule in rules {
        let _ = writeln!(out, "**`{}`**\n", rule.subject);
        docs_block(out, &rule.meta);
        let mut listed = false;
        for grant in rule.grants.iter().filter(|g| annotated(&g.meta)) {
            let mut parts = Vec::new();
            if !grant.meta.docs.is_empty() {
                parts.push(grant.meta.docs.clone());
            }
            for note in &grant.meta.notes {
                parts.push(format!("**Note ({}).** {}", note.kind.keyword(), note.text));
            }
            let text = match grant.level {
                AccessLevel::Call => format!("`call` {}", grant_text(grant)),
                _ => grant_text(grant),
            };
            let _ = writeln!(out, "- {text}: {}", cell(&parts.join(" ")));
            listed = true;
        }
        if listed {
            out.push('\n');
        }
    }
}

/// The "Access rules" section: the block's docs and notes, the matrix of
/// maps and buffers, the restricted host functions, and the rules' notes.
fn access_section(out: &mut String, abi: &AbiVersion) {
    if abi.access.is_empty() {
        return;
    }
    out.push_str("## Access rules\n\n");
    docs_block(out, &abi.access_meta);
    if abi
        .access
        .iter()
        .any(|r| matches!(r.subject, Subject::Variant { .. }))
    {
        out.push_str("### Maps and buffers\n\n");
        access_matrix(out, abi);
    }
    restricted_functions(out, abi);
    rule_notes(out, abi);
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("`0x{b:02x}`"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The pairs of the worked map example.
const MAP_EXAMPLE_PAIRS: [(&str, &str); 2] = [("a", "1"), ("b", "22")];

/// `MAP_EXAMPLE_PAIRS` serialized. The runtime crate's codec must agree:
/// a test encodes the pairs with it and compares (the runtime is not a
/// dependency of the generators, which its macros feature depends on).
const MAP_EXAMPLE_BYTES: [u8; 29] = [
    2, 0, 0, 0, // count
    1, 0, 0, 0, 1, 0, 0, 0, // sizes of `a` and `1`
    1, 0, 0, 0, 2, 0, 0, 0, // sizes of `b` and `22`
    b'a', 0, b'1', 0, b'b', 0, b'2', b'2', 0,
];

/// The worked example of the serialized map.
fn map_example(out: &mut String) {
    let pairs = MAP_EXAMPLE_PAIRS;
    let bytes = MAP_EXAMPLE_BYTES;
    let table_end = 4 + 8 * pairs.len();
    out.push_str(
        "Worked example: the map `{\"a\": \"1\", \"b\": \"22\"}` is these bytes \
         (computed by this project's codec):\n\n",
    );
    out.push_str("| Part | Bytes |\n|---|---|\n");
    let _ = writeln!(out, "| count (2) | {} |", hex(&bytes[..4]));
    for (i, (k, v)) in pairs.iter().enumerate() {
        let at = 4 + 8 * i;
        let _ = writeln!(
            out,
            "| sizes of `{k}` ({}) and `{v}` ({}) | {} |",
            k.len(),
            v.len(),
            hex(&bytes[at..at + 8])
        );
    }
    let _ = writeln!(
        out,
        "| data: `a` NUL `1` NUL `b` NUL `22` NUL | {} |\n",
        hex(&bytes[table_end..])
    );
}

/// The segments of the worked property path example.
const PATH_EXAMPLE_SEGMENTS: [&str; 2] = ["foo", "bar"];

/// `PATH_EXAMPLE_SEGMENTS` serialized; checked against the codec like
/// [`MAP_EXAMPLE_BYTES`].
const PATH_EXAMPLE_BYTES: [u8; 7] = *b"foo\0bar";

fn path_example(out: &mut String) {
    let segments: Vec<String> = PATH_EXAMPLE_SEGMENTS
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect();
    let _ = writeln!(
        out,
        "Worked example: the path `[{}]` is {}.\n",
        segments.join(", "),
        hex(&PATH_EXAMPLE_BYTES)
    );
}

fn changes_section(out: &mut String, changes: Option<&AbiDiff>) {
    let Some(diff) = changes else {
        out.push_str("This is the first version in the description.\n\n");
        return;
    };
    if diff.changes.is_empty() {
        let _ = writeln!(
            out,
            "No changes to functions or enums since v{}.\n",
            diff.from
        );
        return;
    }
    let _ = writeln!(out, "Changes from v{} to v{}:\n", diff.from, diff.to);
    out.push_str("| Change | Item | Details |\n|---|---|---|\n");
    for change in &diff.changes {
        let (kind, item, details) = change.columns();
        let details = if details.is_empty() {
            String::new()
        } else {
            format!("`{}`", cell(&details))
        };
        let _ = writeln!(out, "| {kind} | `{item}` | {details} |");
    }
    out.push('\n');
}

/// Renders the reference of one version. `changes` is the diff from the
/// previous version, if there is one.
pub fn render(abi: &AbiVersion, changes: Option<&AbiDiff>, source: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<!-- {} -->\n", crate::generated_notice(source));
    match &abi.extends {
        None => {
            let _ = writeln!(out, "# Proxy-Wasm ABI v{}\n", abi.version);
        }
        Some((base, version)) => {
            let _ = writeln!(
                out,
                "# `{}`: `{base}` v{version} with extensions\n",
                abi.name
            );
        }
    }
    docs_block(&mut out, &abi.meta);

    let hosts = abi.host_functions().count();
    let callbacks = abi.callbacks().count();
    let values: usize = abi.enums.iter().map(|e| e.variants.len()).sum();
    let _ = writeln!(
        out,
        "{hosts} host functions, {callbacks} callbacks, {} enums with {values} values.\n",
        abi.enums.len()
    );

    out.push_str("## Index\n\n| Section | Function | Kind | Wasm signature |\n|---|---|---|---|\n");
    for section in &abi.sections {
        for f in abi.functions.iter().filter(|f| f.section == section.id) {
            let kind = if f.is_host() { "host" } else { "callback" };
            let name = f.qualified_name();
            let _ = writeln!(
                out,
                "| {} | [`{name}`](#{}) | {kind} | `{}` |",
                section.title,
                anchor(&name),
                signature_text(f)
            );
        }
    }
    out.push('\n');

    out.push_str("## Changes\n\n");
    changes_section(&mut out, changes);

    out.push_str("## Functions\n\n");
    for section in &abi.sections {
        let _ = writeln!(out, "### {}\n", section.title);
        docs_block(&mut out, &section.meta);
        for f in abi.functions.iter().filter(|f| f.section == section.id) {
            function_entry(&mut out, abi, f);
        }
    }

    access_section(&mut out, abi);

    out.push_str("## Types\n\n");
    for e in &abi.enums {
        let _ = writeln!(out, "### `{}`\n", e.name);
        docs_block(&mut out, &e.meta);
        out.push_str("| Name | Value | Meaning |\n|---|---|---|\n");
        for v in &e.variants {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                v.name,
                v.value,
                cell(&v.meta.docs)
            );
        }
        out.push('\n');
    }

    if !abi.formats.is_empty() {
        out.push_str("## Serialization\n\nIntegers are little-endian.\n\n");
        for format in &abi.formats {
            let _ = writeln!(out, "### `{}`\n", format.name);
            docs_block(&mut out, &format.meta);
            out.push_str("| Field | Layout | Meaning |\n|---|---|---|\n");
            for field in &format.fields {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    field.name,
                    cell(&field.layout),
                    cell(&field.meta.docs)
                );
            }
            out.push('\n');
            match format.name.as_str() {
                "serialized_map" => map_example(&mut out),
                "property_path" => path_example(&mut out),
                _ => {}
            }
        }
    }

    if !abi.properties.is_empty() {
        out.push_str("## Well-known properties\n\n");
        docs_block(&mut out, &abi.properties_meta);
        out.push_str("| Path | Type | Meaning |\n|---|---|---|\n");
        for p in &abi.properties {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                p.path,
                p.ty.keyword(),
                cell(&p.meta.docs)
            );
        }
        out.push('\n');
    }
    // Exactly one trailing newline, whatever the last block was.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_match_the_runtime_codec() {
        assert_eq!(
            proxy_wasm_abi::serial::encode_map(&MAP_EXAMPLE_PAIRS),
            MAP_EXAMPLE_BYTES
        );
        assert_eq!(
            proxy_wasm_abi::serial::encode_path(&PATH_EXAMPLE_SEGMENTS),
            PATH_EXAMPLE_BYTES
        );
    }
}
