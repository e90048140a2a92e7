//! The syntax tree of a description file, as written: every node keeps its span.
//!
//! This layer only checks shape (what the grammar says); names, types and
//! versions are checked by `validate`, which turns this tree into the IR.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};

use crate::diagnostic::{Diagnostic, Source, Span};

// Private so that pest's generated `Rule` never reaches the public API.
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub(super) struct AbiParser;
}
use grammar::{AbiParser, Rule};

/// A value with the span it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// Doc comments and attributes written in front of an item.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The `///` lines, without the slashes and one leading space.
    pub docs: Vec<String>,
    /// The `@name(...)` attributes, in order.
    pub attrs: Vec<Attr>,
}

/// `@since(0.2.0)`, `@note(erratum, "...")`.
#[derive(Debug, Clone)]
pub struct Attr {
    /// The name without `@`.
    pub name: Spanned<String>,
    /// The arguments, empty when there are no parentheses.
    pub args: Vec<AttrArg>,
}

/// One attribute argument.
#[derive(Debug, Clone)]
pub struct AttrArg {
    /// `use` in `use = "x"`; `None` for a positional argument.
    pub name: Option<Spanned<String>>,
    /// The value.
    pub value: Spanned<AttrValue>,
}

/// The value of an attribute argument, by how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// `"text"` (unescaped).
    Str(String),
    /// `0.2.1`.
    Version(String),
    /// `12`.
    Int(String),
    /// `erratum`.
    Ident(String),
}

/// A whole description file.
#[derive(Debug, Clone)]
pub struct File {
    /// `abi name { versions ...; }`.
    pub header: Header,
    /// Everything after the header, in order.
    pub items: Vec<Item>,
}

/// The `abi` header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Docs and attributes.
    pub meta: Meta,
    /// The ABI's name.
    pub name: Spanned<String>,
    /// The declared versions, oldest first as written (empty for an extension).
    pub versions: Vec<Spanned<String>>,
    /// `extends base version;`: the ABI and version this one adds to.
    pub extends: Option<(Spanned<String>, Spanned<String>)>,
}

/// A top-level item.
#[derive(Debug, Clone)]
pub enum Item {
    /// `enum`.
    Enum(EnumDecl),
    /// `section`.
    Section(SectionDecl),
    /// `format`.
    Format(FormatDecl),
    /// `properties`.
    Properties(PropertiesDecl),
    /// `access`.
    Access(AccessDecl),
}

/// `enum name { A = 0, ... }`.
#[derive(Debug, Clone)]
pub struct EnumDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The C name, e.g. `proxy_status_t`.
    pub name: Spanned<String>,
    /// The variants as written.
    pub variants: Vec<VariantDecl>,
}

/// `NAME = 3`.
#[derive(Debug, Clone)]
pub struct VariantDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The variant name.
    pub name: Spanned<String>,
    /// The value as written (range-checked by validation).
    pub value: Spanned<String>,
}

/// `section id "Title" { ... }`.
#[derive(Debug, Clone)]
pub struct SectionDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// Short id used for anchors and file names.
    pub id: Spanned<String>,
    /// Human title.
    pub title: Spanned<String>,
    /// The functions, in order.
    pub functions: Vec<FunctionDecl>,
}

/// A function in a section.
#[derive(Debug, Clone)]
pub struct FunctionDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// What was declared.
    pub kind: FunctionKindDecl,
    /// The whole declaration (used when no finer span fits).
    pub span: Span,
}

/// A function declaration body.
#[derive(Debug, Clone)]
pub enum FunctionKindDecl {
    /// `marker;`.
    Marker,
    /// `hostcall` / `callback`.
    Func(Box<FuncDecl>),
}

/// `hostcall module.name(params) -> result: type { outcomes }`.
#[derive(Debug, Clone)]
pub struct FuncDecl {
    /// `hostcall` or `callback`.
    pub direction: Spanned<String>,
    /// The import module when written (`wasi_snapshot_preview1`).
    pub module: Option<Spanned<String>>,
    /// The function name.
    pub name: Spanned<String>,
    /// Parameters in order.
    pub params: Vec<ParamDecl>,
    /// The result, if any.
    pub result: Option<ResultDecl>,
    /// The outcomes block, if written.
    pub outcomes: Option<Vec<OutcomeDecl>>,
}

/// `name: type as (a, b)`.
#[derive(Debug, Clone)]
pub struct ParamDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The semantic name.
    pub name: Spanned<String>,
    /// The type.
    pub ty: TypeDecl,
    /// Explicit wasm-level names, when written.
    pub lowered: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `out bytes`, `u32`, `ptr("uint8_t **")`.
#[derive(Debug, Clone)]
pub struct TypeDecl {
    /// Whether `out` was written.
    pub out: bool,
    /// The type name.
    pub name: Spanned<String>,
    /// The string argument, e.g. a C type for `ptr`.
    pub arg: Option<Spanned<String>>,
    /// The whole type.
    pub span: Span,
}

/// `-> name: type`.
#[derive(Debug, Clone)]
pub struct ResultDecl {
    /// The result's name, e.g. `status`.
    pub name: Spanned<String>,
    /// Its type.
    pub ty: TypeDecl,
}

/// `VALUE: "when"`.
#[derive(Debug, Clone)]
pub struct OutcomeDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The value: an enum variant, `true` or `false`.
    pub name: Spanned<String>,
    /// When the value is returned, or what it means.
    pub text: Spanned<String>,
}

/// `format name { field: "layout", ... }`.
#[derive(Debug, Clone)]
pub struct FormatDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The format's name.
    pub name: Spanned<String>,
    /// The fields in byte order.
    pub fields: Vec<FormatFieldDecl>,
}

/// `field: "layout"`.
#[derive(Debug, Clone)]
pub struct FormatFieldDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// Field name.
    pub name: Spanned<String>,
    /// Layout text.
    pub layout: Spanned<String>,
}

/// `properties { path: type, ... }`.
#[derive(Debug, Clone)]
pub struct PropertiesDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The properties.
    pub properties: Vec<PropertyDecl>,
    /// The `properties` keyword.
    pub span: Span,
}

/// `source.port: int`.
#[derive(Debug, Clone)]
pub struct PropertyDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// Dotted path.
    pub path: Spanned<String>,
    /// Value type name.
    pub ty: Spanned<String>,
}

/// `access { for ... { ... } ... }`.
#[derive(Debug, Clone)]
pub struct AccessDecl {
    /// Docs and attributes of the block as a whole.
    pub meta: Meta,
    /// The rules, in order.
    pub rules: Vec<AccessRuleDecl>,
    /// The `access` keyword.
    pub span: Span,
}

/// `for proxy_map_type_t.HTTP_REQUEST_HEADERS { ... }`.
#[derive(Debug, Clone)]
pub struct AccessRuleDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// What the rule is about.
    pub subject: SubjectDecl,
    /// The grants, in order.
    pub grants: Vec<GrantDecl>,
}

/// `ENUM.VARIANT` or a function name, as written after `for`.
#[derive(Debug, Clone)]
pub struct SubjectDecl {
    /// `proxy_map_type_t` in `proxy_map_type_t.HTTP_REQUEST_HEADERS`; `None`
    /// for a plain name.
    pub qualifier: Option<Spanned<String>>,
    /// `HTTP_REQUEST_HEADERS`, or the function name.
    pub name: Spanned<String>,
    /// The whole subject, e.g. `proxy_map_type_t.HTTP_REQUEST_HEADERS`.
    pub text: Spanned<String>,
}

/// `modify in proxy_on_request_headers, paused proxy_on_request_headers;`.
#[derive(Debug, Clone)]
pub struct GrantDecl {
    /// Docs and attributes.
    pub meta: Meta,
    /// The level as written, e.g. `modify` (checked by validation).
    pub level: Spanned<String>,
    /// The places, in order.
    pub places: Vec<PlaceDecl>,
    /// `end_of_stream` in `when end_of_stream`.
    pub when: Option<Spanned<String>>,
}

/// How a place of a grant was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    /// A bare callback name: while it runs.
    In,
    /// `paused X`.
    Paused,
    /// `before X`.
    Before,
}

/// One place of a grant: `proxy_on_log`, `paused X`, `before X`.
#[derive(Debug, Clone)]
pub struct PlaceDecl {
    /// How it was written.
    pub kind: PlaceKind,
    /// The callback it names.
    pub callback: Spanned<String>,
    /// The whole place, keyword included.
    pub span: Span,
}

/// Parses `source` into a syntax tree, or returns the syntax error.
pub fn parse(source: &Source) -> Result<File, Diagnostic> {
    let mut pairs =
        AbiParser::parse(Rule::file, &source.text).map_err(|e| syntax_error(source, e))?;
    let file = expect(source, &mut pairs, Rule::file, 0)?;
    Conv { source }.file(file)
}

/// Turns a pest error into a diagnostic with friendly token names.
fn syntax_error(source: &Source, error: pest::error::Error<Rule>) -> Diagnostic {
    let at = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let found = describe_found(&source.text, at);
    let message = match &error.variant {
        ErrorVariant::ParsingError {
            positives,
            negatives,
        } => {
            let mut expected: Vec<&str> = positives.iter().map(|r| describe_rule(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            let unexpected: Vec<&str> = negatives.iter().map(|r| describe_rule(*r)).collect();
            match (expected.is_empty(), unexpected.is_empty()) {
                (false, _) => format!("expected {}, found {found}", or_list(&expected)),
                (true, false) => format!("unexpected {}", or_list(&unexpected)),
                (true, true) => format!("unexpected {found}"),
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let width = found_width(&source.text, at);
    Diagnostic::new(
        source,
        Span {
            start: at,
            end: at + width,
        },
        message,
    )
}

/// Joins `a`, `b`, `c` as "a, b or c".
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What stands at `at`, for "found ..." in messages.
fn describe_found(text: &str, at: usize) -> String {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        format!("`{word}`")
    } else if first == '\n' || first == '\r' {
        "end of line".to_string()
    } else {
        format!("`{}`", first.escape_debug())
    }
}

/// How many bytes the token at `at` spans, for the caret.
fn found_width(text: &str, at: usize) -> usize {
    let rest = text.get(at..).unwrap_or("");
    let word = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if word > 0 {
        word
    } else {
        rest.chars().next().map_or(1, char::len_utf8)
    }
}

/// The friendly name of a grammar rule, as shown in "expected ..." lists.
fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::WHITESPACE | Rule::COMMENT => "a comment",
        Rule::doc => "a doc comment",
        Rule::ident | Rule::ident_char | Rule::func_name => "a name",
        Rule::version => "a version like `0.2.1`",
        Rule::integer => "an integer",
        Rule::string | Rule::string_inner => "a string",
        Rule::kw_abi | Rule::header | Rule::file => "`abi`",
        Rule::kw_versions | Rule::versions => "`versions`",
        Rule::kw_extends | Rule::extends => "`extends`",
        Rule::kw_enum | Rule::enum_decl => "`enum`",
        Rule::kw_section | Rule::section => "`section`",
        Rule::kw_format | Rule::format => "`format`",
        Rule::kw_properties | Rule::properties => "`properties`",
        Rule::kw_marker | Rule::marker => "`marker`",
        Rule::direction | Rule::func | Rule::function => "`hostcall` or `callback`",
        Rule::kw_out => "`out`",
        Rule::kw_as | Rule::lowered_names => "`as`",
        Rule::attr | Rule::attr_name | Rule::meta => "an attribute",
        Rule::attr_args => "attribute arguments",
        Rule::attr_arg | Rule::attr_value => "an attribute argument",
        Rule::variant => "an enum variant",
        Rule::item => "`enum`, `section`, `format`, `properties` or `access`",
        Rule::kw_access | Rule::access => "`access`",
        Rule::kw_for | Rule::access_rule => "`for`",
        Rule::access_subject => "a map, buffer or host function name",
        Rule::kw_in => "`in`",
        Rule::kw_paused => "`paused`",
        Rule::kw_before => "`before`",
        Rule::kw_when | Rule::when_clause => "`when`",
        Rule::grant | Rule::access_level => "an access level (`read`, `add`, `modify` or `call`)",
        Rule::place => "a callback name",
        Rule::params | Rule::param => "a parameter",
        Rule::ty => "a type",
        Rule::result | Rule::arrow => "`->`",
        Rule::outcomes | Rule::lbrace => "`{`",
        Rule::outcome => "an outcome like `OK: \"...\"`",
        Rule::format_field => "a format field",
        Rule::property => "a property",
        Rule::property_path => "a property path",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::semi => "`;`",
        Rule::comma => "`,`",
        Rule::colon => "`:`",
        Rule::equals => "`=`",
    }
}

/// Punctuation rules carry no information once parsed.
fn is_punctuation(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::lbrace
            | Rule::rbrace
            | Rule::lparen
            | Rule::rparen
            | Rule::semi
            | Rule::comma
            | Rule::colon
            | Rule::equals
            | Rule::arrow
            | Rule::EOI
    )
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span {
        start: s.start(),
        end: s.end(),
    }
}

/// Takes the next pair, which the grammar guarantees to be `rule`; a mismatch
/// is a bug in this module, reported as an error rather than a panic.
fn expect<'i>(
    source: &Source,
    pairs: &mut Pairs<'i, Rule>,
    rule: Rule,
    at: usize,
) -> Result<Pair<'i, Rule>, Diagnostic> {
    match pairs.find(|p| !is_punctuation(p.as_rule())) {
        Some(pair) if pair.as_rule() == rule => Ok(pair),
        other => {
            let at = other.as_ref().map_or(at, |p| p.as_span().start());
            Err(Diagnostic::new(
                source,
                Span { start: at, end: at },
                format!(
                    "internal parser error: expected {rule:?}, got {:?}",
                    other.map(|p| p.as_rule())
                ),
            ))
        }
    }
}

/// The children of `pair` that carry information.
fn children<'i>(pair: &Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.clone()
        .into_inner()
        .filter(|p| !is_punctuation(p.as_rule()))
}

fn spanned_str(pair: &Pair<'_, Rule>) -> Spanned<String> {
    Spanned {
        value: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

/// Undoes the escapes `\"`, `\\` and `\n` that the grammar allows.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct Conv<'s> {
    source: &'s Source,
}

impl Conv<'_> {
    fn expect<'i>(
        &self,
        pairs: &mut Pairs<'i, Rule>,
        rule: Rule,
        parent: &Pair<'i, Rule>,
    ) -> Result<Pair<'i, Rule>, Diagnostic> {
        expect(self.source, pairs, rule, parent.as_span().start())
    }

    fn inner<'i>(&self, pair: &Pair<'i, Rule>) -> Pairs<'i, Rule> {
        pair.clone().into_inner()
    }

    fn file(&self, pair: Pair<'_, Rule>) -> Result<File, Diagnostic> {
        let mut inner = self.inner(&pair);
        let header = self.header(self.expect(&mut inner, Rule::header, &pair)?)?;
        let mut items = Vec::new();
        for item in children(&pair).skip(1) {
            items.push(match item.as_rule() {
                Rule::enum_decl => Item::Enum(self.enum_decl(item)?),
                Rule::section => Item::Section(self.section(item)?),
                Rule::format => Item::Format(self.format(item)?),
                Rule::properties => Item::Properties(self.properties(item)?),
                Rule::access => Item::Access(self.access(item)?),
                other => return Err(self.internal(&item, other)),
            });
        }
        Ok(File { header, items })
    }

    fn internal(&self, pair: &Pair<'_, Rule>, rule: Rule) -> Diagnostic {
        Diagnostic::new(
            self.source,
            span_of(pair),
            format!("internal parser error: unexpected {rule:?}"),
        )
    }

    fn meta(&self, pair: Pair<'_, Rule>) -> Result<Meta, Diagnostic> {
        let mut meta = Meta::default();
        for child in children(&pair) {
            match child.as_rule() {
                Rule::doc => {
                    let text = child.as_str().trim_start_matches("///");
                    let text = text.strip_prefix(' ').unwrap_or(text);
                    meta.docs.push(text.trim_end().to_string());
                }
                Rule::attr => meta.attrs.push(self.attr(child)?),
                other => return Err(self.internal(&child, other)),
            }
        }
        Ok(meta)
    }

    fn attr(&self, pair: Pair<'_, Rule>) -> Result<Attr, Diagnostic> {
        let mut inner = self.inner(&pair);
        let name_pair = self.expect(&mut inner, Rule::attr_name, &pair)?;
        let name = Spanned {
            value: name_pair.as_str().trim_start_matches('@').to_string(),
            span: span_of(&name_pair),
        };
        let mut args = Vec::new();
        if let Some(list) = inner.find(|p| p.as_rule() == Rule::attr_args) {
            for arg in children(&list) {
                args.push(self.attr_arg(arg)?);
            }
        }
        Ok(Attr { name, args })
    }

    fn attr_arg(&self, pair: Pair<'_, Rule>) -> Result<AttrArg, Diagnostic> {
        let parts: Vec<_> = children(&pair).collect();
        let (name, value) = match parts.as_slice() {
            [value] => (None, value),
            [name, value] => (Some(spanned_str(name)), value),
            _ => return Err(self.internal(&pair, Rule::attr_arg)),
        };
        let text = value.as_str();
        let value_kind = match value.as_rule() {
            Rule::string => AttrValue::Str(unescape(strip_quotes(text))),
            Rule::version => AttrValue::Version(text.to_string()),
            Rule::integer => AttrValue::Int(text.to_string()),
            Rule::ident => AttrValue::Ident(text.to_string()),
            other => return Err(self.internal(value, other)),
        };
        Ok(AttrArg {
            name,
            value: Spanned {
                value: value_kind,
                span: span_of(value),
            },
        })
    }

    fn string(&self, pair: &Pair<'_, Rule>) -> Spanned<String> {
        Spanned {
            value: unescape(strip_quotes(pair.as_str())),
            span: span_of(pair),
        }
    }

    fn header(&self, pair: Pair<'_, Rule>) -> Result<Header, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        self.expect(&mut inner, Rule::kw_abi, &pair)?;
        let name = spanned_str(&self.expect(&mut inner, Rule::ident, &pair)?);
        let body = inner
            .find(|p| !is_punctuation(p.as_rule()))
            .ok_or_else(|| self.internal(&pair, Rule::header))?;
        let (versions, extends) = match body.as_rule() {
            Rule::versions => (
                children(&body)
                    .filter(|p| p.as_rule() == Rule::version)
                    .map(|p| spanned_str(&p))
                    .collect(),
                None,
            ),
            Rule::extends => {
                let mut parts = children(&body).filter(|p| p.as_rule() != Rule::kw_extends);
                let base = parts
                    .next()
                    .ok_or_else(|| self.internal(&body, Rule::extends))?;
                let version = parts
                    .next()
                    .ok_or_else(|| self.internal(&body, Rule::extends))?;
                (
                    Vec::new(),
                    Some((spanned_str(&base), spanned_str(&version))),
                )
            }
            other => return Err(self.internal(&body, other)),
        };
        Ok(Header {
            meta,
            name,
            versions,
            extends,
        })
    }

    fn enum_decl(&self, pair: Pair<'_, Rule>) -> Result<EnumDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        self.expect(&mut inner, Rule::kw_enum, &pair)?;
        let name = spanned_str(&self.expect(&mut inner, Rule::ident, &pair)?);
        let mut variants = Vec::new();
        for v in inner.filter(|p| p.as_rule() == Rule::variant) {
            let mut vi = self.inner(&v);
            let meta = self.meta(self.expect(&mut vi, Rule::meta, &v)?)?;
            let name = spanned_str(&self.expect(&mut vi, Rule::ident, &v)?);
            let value = spanned_str(&self.expect(&mut vi, Rule::integer, &v)?);
            variants.push(VariantDecl { meta, name, value });
        }
        Ok(EnumDecl {
            meta,
            name,
            variants,
        })
    }

    fn section(&self, pair: Pair<'_, Rule>) -> Result<SectionDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        self.expect(&mut inner, Rule::kw_section, &pair)?;
        let id = spanned_str(&self.expect(&mut inner, Rule::ident, &pair)?);
        let title = self.string(&self.expect(&mut inner, Rule::string, &pair)?);
        let mut functions = Vec::new();
        for f in inner.filter(|p| p.as_rule() == Rule::function) {
            functions.push(self.function(f)?);
        }
        Ok(SectionDecl {
            meta,
            id,
            title,
            functions,
        })
    }

    fn function(&self, pair: Pair<'_, Rule>) -> Result<FunctionDecl, Diagnostic> {
        let span = span_of(&pair);
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        let body = inner
            .find(|p| !is_punctuation(p.as_rule()))
            .ok_or_else(|| self.internal(&pair, Rule::function))?;
        let kind = match body.as_rule() {
            Rule::marker => FunctionKindDecl::Marker,
            Rule::func => FunctionKindDecl::Func(Box::new(self.func(body)?)),
            other => return Err(self.internal(&body, other)),
        };
        Ok(FunctionDecl { meta, kind, span })
    }

    fn func(&self, pair: Pair<'_, Rule>) -> Result<FuncDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let direction = spanned_str(&self.expect(&mut inner, Rule::direction, &pair)?);
        let name_pair = self.expect(&mut inner, Rule::func_name, &pair)?;
        let parts: Vec<_> = name_pair
            .clone()
            .into_inner()
            .map(|p| spanned_str(&p))
            .collect();
        let (module, name) = match parts.as_slice() {
            [name] => (None, name.clone()),
            [module, name] => (Some(module.clone()), name.clone()),
            _ => return Err(self.internal(&name_pair, Rule::func_name)),
        };
        let mut params = Vec::new();
        let mut result = None;
        let mut outcomes = None;
        for child in inner.filter(|p| !is_punctuation(p.as_rule())) {
            match child.as_rule() {
                Rule::params => {
                    for p in children(&child) {
                        params.push(self.param(p)?);
                    }
                }
                Rule::result => {
                    let mut ri = self.inner(&child);
                    let name = spanned_str(&self.expect(&mut ri, Rule::ident, &child)?);
                    let ty = self.ty(self.expect(&mut ri, Rule::ty, &child)?)?;
                    result = Some(ResultDecl { name, ty });
                }
                Rule::outcomes => {
                    let mut list = Vec::new();
                    for o in children(&child) {
                        let mut oi = self.inner(&o);
                        let meta = self.meta(self.expect(&mut oi, Rule::meta, &o)?)?;
                        let name = spanned_str(&self.expect(&mut oi, Rule::ident, &o)?);
                        let text = self.string(&self.expect(&mut oi, Rule::string, &o)?);
                        list.push(OutcomeDecl { meta, name, text });
                    }
                    outcomes = Some(list);
                }
                other => return Err(self.internal(&child, other)),
            }
        }
        Ok(FuncDecl {
            direction,
            module,
            name,
            params,
            result,
            outcomes,
        })
    }

    fn param(&self, pair: Pair<'_, Rule>) -> Result<ParamDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        let name = spanned_str(&self.expect(&mut inner, Rule::ident, &pair)?);
        let ty = self.ty(self.expect(&mut inner, Rule::ty, &pair)?)?;
        let lowered = inner
            .find(|p| p.as_rule() == Rule::lowered_names)
            .map(|l| Spanned {
                span: span_of(&l),
                value: children(&l)
                    .filter(|p| p.as_rule() == Rule::ident)
                    .map(|p| spanned_str(&p))
                    .collect(),
            });
        Ok(ParamDecl {
            meta,
            name,
            ty,
            lowered,
        })
    }

    fn ty(&self, pair: Pair<'_, Rule>) -> Result<TypeDecl, Diagnostic> {
        let span = span_of(&pair);
        let mut out = false;
        let mut name = None;
        let mut arg = None;
        for child in children(&pair) {
            match child.as_rule() {
                Rule::kw_out => out = true,
                Rule::ident => name = Some(spanned_str(&child)),
                Rule::string => arg = Some(self.string(&child)),
                other => return Err(self.internal(&child, other)),
            }
        }
        let name = name.ok_or_else(|| self.internal(&pair, Rule::ty))?;
        Ok(TypeDecl {
            out,
            name,
            arg,
            span,
        })
    }

    fn format(&self, pair: Pair<'_, Rule>) -> Result<FormatDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        self.expect(&mut inner, Rule::kw_format, &pair)?;
        let name = spanned_str(&self.expect(&mut inner, Rule::ident, &pair)?);
        let mut fields = Vec::new();
        for f in inner.filter(|p| p.as_rule() == Rule::format_field) {
            let mut fi = self.inner(&f);
            let meta = self.meta(self.expect(&mut fi, Rule::meta, &f)?)?;
            let name = spanned_str(&self.expect(&mut fi, Rule::ident, &f)?);
            let layout = self.string(&self.expect(&mut fi, Rule::string, &f)?);
            fields.push(FormatFieldDecl { meta, name, layout });
        }
        Ok(FormatDecl { meta, name, fields })
    }

    fn properties(&self, pair: Pair<'_, Rule>) -> Result<PropertiesDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        let kw = self.expect(&mut inner, Rule::kw_properties, &pair)?;
        let mut properties = Vec::new();
        for p in inner.filter(|p| p.as_rule() == Rule::property) {
            let mut pi = self.inner(&p);
            let meta = self.meta(self.expect(&mut pi, Rule::meta, &p)?)?;
            let path = spanned_str(&self.expect(&mut pi, Rule::property_path, &p)?);
            let ty = spanned_str(&self.expect(&mut pi, Rule::ident, &p)?);
            properties.push(PropertyDecl { meta, path, ty });
        }
        Ok(PropertiesDecl {
            meta,
            properties,
            span: span_of(&kw),
        })
    }

    fn access(&self, pair: Pair<'_, Rule>) -> Result<AccessDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        let kw = self.expect(&mut inner, Rule::kw_access, &pair)?;
        let mut rules = Vec::new();
        for r in inner.filter(|p| p.as_rule() == Rule::access_rule) {
            rules.push(self.access_rule(r)?);
        }
        Ok(AccessDecl {
            meta,
            rules,
            span: span_of(&kw),
        })
    }

    fn access_rule(&self, pair: Pair<'_, Rule>) -> Result<AccessRuleDecl, Diagnostic> {
        let mut inner = self.inner(&pair);
        let meta = self.meta(self.expect(&mut inner, Rule::meta, &pair)?)?;
        self.expect(&mut inner, Rule::kw_for, &pair)?;
        let subject_pair = self.expect(&mut inner, Rule::access_subject, &pair)?;
        let parts: Vec<_> = children(&subject_pair).map(|p| spanned_str(&p)).collect();
        let (qualifier, name) = match parts.as_slice() {
            [name] => (None, name.clone()),
            [qualifier, name] => (Some(qualifier.clone()), name.clone()),
            _ => return Err(self.internal(&subject_pair, Rule::access_subject)),
        };
        let subject = SubjectDecl {
            qualifier,
            name,
            text: spanned_str(&subject_pair),
        };
        let mut grants = Vec::new();
        for g in inner.filter(|p| p.as_rule() == Rule::grant) {
            grants.push(self.grant(g)?);
        }
        Ok(AccessRuleDecl {
            meta,
            subject,
            grants,
        })
    }

    fn grant(&self, pair: Pair<'_, Rule>) -> Result<GrantDecl, Diagnostic> {
        let mut meta = None;
        let mut level = None;
        let mut places = Vec::new();
        let mut when = None;
        for child in children(&pair) {
            match child.as_rule() {
                Rule::meta => meta = Some(self.meta(child)?),
                Rule::access_level => level = Some(spanned_str(&child)),
                Rule::kw_in => {}
                Rule::place => places.push(self.place(child)?),
                Rule::when_clause => {
                    let mut wi = self.inner(&child);
                    self.expect(&mut wi, Rule::kw_when, &child)?;
                    when = Some(spanned_str(&self.expect(&mut wi, Rule::ident, &child)?));
                }
                other => return Err(self.internal(&child, other)),
            }
        }
        let (Some(meta), Some(level)) = (meta, level) else {
            return Err(self.internal(&pair, Rule::grant));
        };
        Ok(GrantDecl {
            meta,
            level,
            places,
            when,
        })
    }

    fn place(&self, pair: Pair<'_, Rule>) -> Result<PlaceDecl, Diagnostic> {
        let mut kind = PlaceKind::In;
        let mut callback = None;
        for child in children(&pair) {
            match child.as_rule() {
                Rule::kw_paused => kind = PlaceKind::Paused,
                Rule::kw_before => kind = PlaceKind::Before,
                Rule::ident => callback = Some(spanned_str(&child)),
                other => return Err(self.internal(&child, other)),
            }
        }
        let callback = callback.ok_or_else(|| self.internal(&pair, Rule::place))?;
        Ok(PlaceDecl {
            kind,
            callback,
            span: span_of(&pair),
        })
    }
}

fn strip_quotes(text: &str) -> &str {
    let text = text.strip_prefix('"').unwrap_or(text);
    text.strip_suffix('"').unwrap_or(text)
}
