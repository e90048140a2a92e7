//! Helpers shared by the Rust emitters: doc attributes and formatting.

use proc_macro2::TokenStream;
use proxy_wasm_abi_spec::ir::{Function, Meta};
use quote::quote;

/// `#[doc = "..."]` attributes for a block of text, one per line.
pub fn doc_lines(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// The docs of an item: its description docs, then its notes.
pub fn docs(meta: &Meta) -> TokenStream {
    let mut text = meta.docs.clone();
    for note in &meta.notes {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&format!("Note ({}): {}", note.kind.keyword(), note.text));
    }
    doc_lines(&text)
}

/// The doc text of a function: its docs, what each result value means
/// (under `heading("Statuses")` or `heading("Return values")`), and its notes.
/// Shared by the Rust and C emitters, which differ only in the heading.
pub fn function_text(f: &Function, heading: fn(&str) -> String) -> String {
    let mut text = f.meta.docs.clone();
    if !f.outcomes.is_empty() {
        let title = if f.is_host() {
            "Statuses"
        } else {
            "Return values"
        };
        text.push_str(&format!("\n\n{}", heading(title)));
        for o in &f.outcomes {
            text.push_str(&format!("\n- `{}`: {}", o.value, o.text));
        }
    }
    for note in &f.meta.notes {
        text.push_str(&format!(
            "\n\nNote ({}): {}",
            note.kind.keyword(),
            note.text
        ));
    }
    text
}

/// Docs of a function as rustdoc attributes.
pub fn function_docs(f: &Function) -> TokenStream {
    let text = function_text(f, |title| format!("# {title}\n"));
    doc_lines(text.trim_start())
}

/// Formats tokens as a Rust file with `prettyplease`, headed by a
/// "generated, do not edit" comment, with a blank line between items.
pub fn format_file(tokens: TokenStream, notice: &str) -> Result<String, String> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    Ok(format!(
        "// {notice}\n\n{}",
        space_items(&prettyplease::unparse(&file))
    ))
}

/// Whether a line starts an item (or the docs and attributes in front of one).
fn starts_item(trimmed: &str) -> bool {
    const STARTS: [&str; 12] = [
        "///",
        "#[",
        "pub ",
        "impl ",
        "impl<",
        "fn ",
        "macro_rules!",
        "unsafe extern",
        "const ",
        "mod ",
        "trait ",
        "extern crate",
    ];
    STARTS.iter().any(|s| trimmed.starts_with(s))
}

/// prettyplease drops blank lines; put one between consecutive items at the
/// same depth, so the file reads like hand-written code.
fn space_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous: Option<&str> = None;
    for line in text.lines() {
        if let Some(prev) = previous {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let prev_trimmed = prev.trim_start();
            let prev_indent = prev.len() - prev_trimmed.len();
            // A doc comment or attribute belongs to the line after it.
            let prev_is_prefix = prev_trimmed.starts_with("///") || prev_trimmed.starts_with("#[");
            let prev_ends_item = !prev_is_prefix
                && (prev_trimmed == "}"
                    || prev_trimmed == "};"
                    || (prev_trimmed.ends_with(';') && !prev_trimmed.starts_with("use "))
                    || (prev_trimmed.ends_with('}') && prev_trimmed.contains("fn ")));
            if indent == prev_indent && prev_ends_item && starts_item(trimmed) {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}
