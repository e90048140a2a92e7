//! Helpers shared by the Rust emitters: doc attributes and formatting.

use proc_macro2::TokenStream;
use proxy_wasm_abi_spec::ir::{Function, Meta};
use quote::{ToTokens, quote};

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
///
/// prettyplease leaves macro bodies as one run of tokens; the runtime's
/// `abi_enum!` and `plugin_callbacks!` invocations, whose grammar is known,
/// are laid out here instead.
pub fn format_file(tokens: TokenStream, notice: &str) -> Result<String, String> {
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    let mut enums = Vec::new();
    for item in &mut file.items {
        if let syn::Item::Macro(m) = item
            && m.mac
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "abi_enum" || s.ident == "plugin_callbacks")
        {
            let placeholder = quote::format_ident!("__ABI_ENUM_{}", enums.len());
            enums.push(enum_invocation_text(&m.mac)?);
            *item = syn::parse_quote!(const #placeholder: () = (););
        }
    }
    let mut text = space_items(&prettyplease::unparse(&file));
    for (i, rendered) in enums.iter().enumerate() {
        let placeholder = format!("const __ABI_ENUM_{i}: () = ();\n");
        text = text.replacen(&placeholder, rendered, 1);
    }
    Ok(format!("// {notice}\n\n{text}"))
}

/// An `abi_enum!` or `plugin_callbacks!` invocation laid out like
/// hand-written code: attributes as doc comments, one entry per line.
fn enum_invocation_text(mac: &syn::Macro) -> Result<String, String> {
    use proc_macro2::TokenTree;
    let path = mac.path.to_token_stream().to_string().replace(' ', "");
    let mut out = format!("{path}! {{\n");
    let mut line = String::new();
    let depth = 1;
    let flush = |out: &mut String, line: &mut String, depth: usize| {
        if !line.is_empty() {
            out.push_str(&"    ".repeat(depth));
            out.push_str(line.trim_end());
            out.push('\n');
            line.clear();
        }
    };
    let mut tokens = mac.tokens.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let Some(TokenTree::Group(attr)) = tokens.next() else {
                    return Err("`#` without an attribute in a macro invocation".to_string());
                };
                let doc: Option<syn::LitStr> = syn::parse2::<syn::MetaNameValue>(attr.stream())
                    .ok()
                    .filter(|m| m.path.is_ident("doc"))
                    .and_then(|m| match m.value {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => Some(s),
                        _ => None,
                    });
                flush(&mut out, &mut line, depth);
                match doc {
                    Some(doc) => line.push_str(&format!("///{}", doc.value())),
                    None => line.push_str(&format!("#[{}]", attr.stream())),
                }
                flush(&mut out, &mut line, depth);
            }
            TokenTree::Punct(p) if matches!(p.as_char(), ';' | ',') => {
                line.truncate(line.trim_end().len());
                line.push(p.as_char());
                flush(&mut out, &mut line, depth);
            }
            TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                line.push('{');
                flush(&mut out, &mut line, depth);
                let inner = syn::Macro {
                    path: mac.path.clone(),
                    bang_token: mac.bang_token,
                    delimiter: mac.delimiter.clone(),
                    tokens: g.stream(),
                };
                let body = enum_invocation_text(&inner)?;
                // The nested call renders its own wrapper; keep its lines.
                for inner_line in body.lines().skip(1).take_while(|l| *l != "}") {
                    out.push_str(&"    ".repeat(depth));
                    out.push_str(inner_line);
                    out.push('\n');
                }
                line.push('}');
                flush(&mut out, &mut line, depth);
            }
            TokenTree::Group(_) => {
                // `RawStatus(u32)`: a parenthesized group follows its name.
                if line.ends_with(' ')
                    && line
                        .trim_end()
                        .ends_with(|c: char| c.is_alphanumeric() || c == '_')
                {
                    line.truncate(line.trim_end().len());
                }
                line.push_str(&inline_text(&token));
                line.push(' ');
            }
            TokenTree::Punct(p) => {
                line.push(p.as_char());
                if p.spacing() == proc_macro2::Spacing::Alone {
                    line.push(' ');
                }
            }
            other => {
                line.push_str(&other.to_string());
                line.push(' ');
            }
        }
    }
    flush(&mut out, &mut line, depth);
    out.push_str("}\n");
    Ok(out)
}

/// A token tree on one line, spaced as rustfmt would: `(u32, u32)`, `()`.
fn inline_text(token: &proc_macro2::TokenTree) -> String {
    use proc_macro2::{Delimiter, TokenTree};
    match token {
        TokenTree::Group(g) => {
            let (open, close) = match g.delimiter() {
                Delimiter::Parenthesis => ("(", ")"),
                Delimiter::Bracket => ("[", "]"),
                Delimiter::Brace => ("{ ", " }"),
                Delimiter::None => ("", ""),
            };
            let mut inner = String::new();
            for t in g.stream() {
                match &t {
                    TokenTree::Punct(p) if p.as_char() == ',' => inner.push_str(", "),
                    TokenTree::Punct(p) if p.spacing() == proc_macro2::Spacing::Joint => {
                        inner.push(p.as_char())
                    }
                    TokenTree::Punct(p) => {
                        inner.push(p.as_char());
                        inner.push(' ');
                    }
                    other => {
                        if inner.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                            inner.push(' ');
                        }
                        inner.push_str(&inline_text(other));
                    }
                }
            }
            format!("{open}{}{close}", inner.trim_end())
        }
        other => other.to_string(),
    }
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

/// The path generated Rust code names the runtime crate by, as wit-bindgen's
/// `runtime_path`: `::proxy_wasm_abi` unless a generator is told otherwise
/// (for example a crate that re-exports the runtime under another name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimePath(String);

impl RuntimePath {
    /// The published runtime crate.
    pub const DEFAULT: &str = "::proxy_wasm_abi";

    /// A path such as `::my_sdk::abi_runtime`; checked when code is generated.
    pub fn new(path: impl Into<String>) -> Self {
        RuntimePath(path.into())
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as tokens; an error when it is not a Rust path.
    pub fn tokens(&self) -> Result<TokenStream, String> {
        syn::parse_str::<syn::Path>(&self.0)
            .map(|path| quote!(#path))
            .map_err(|e| format!("runtime path `{}` is not a Rust path: {e}", self.0))
    }
}

impl Default for RuntimePath {
    fn default() -> Self {
        RuntimePath::new(Self::DEFAULT)
    }
}
