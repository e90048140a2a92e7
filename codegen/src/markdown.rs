//! The Markdown reference of one ABI version: an index of functions by
//! section, a page entry per function (parameters, results, statuses, notes),
//! the enums, the byte formats with a worked example, the well-known
//! properties, and the changes since the previous version.

use std::fmt::Write as _;

use proxy_wasm_abi_spec::ir::{AbiVersion, Function, Meta, Note, Param};
use proxy_wasm_abi_spec::lower::{lower_param, lower_result};
use proxy_wasm_abi_spec::serial;

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

fn function_entry(out: &mut String, f: &Function) {
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

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("`0x{b:02x}`"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The worked example of the serialized map, computed by the codec.
fn map_example(out: &mut String) {
    let pairs = [("a", "1"), ("b", "22")];
    let bytes = serial::encode_map(&pairs);
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

fn path_example(out: &mut String) {
    let bytes = serial::encode_path(&["foo", "bar"]);
    let _ = writeln!(
        out,
        "Worked example: the path `[\"foo\", \"bar\"]` is {}.\n",
        hex(&bytes)
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
            function_entry(&mut out, f);
        }
    }

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
