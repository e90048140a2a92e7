//! Every error the parser and validator give: position and wording.

use proxy_wasm_abi_spec::{Diagnostics, parse};

const HEADER: &str = "abi proxy_wasm {\n    versions 0.1.0, 0.2.0;\n}\nenum proxy_status_t { OK = 0, NOT_FOUND = 1 }\n";

/// Parses `HEADER` + `body` and returns every error as `line:col: message`.
fn errors(body: &str) -> Vec<String> {
    let text = format!("{HEADER}{body}");
    match parse("t.abi", &text) {
        Ok(_) => Vec::new(),
        Err(Diagnostics(list)) => list
            .iter()
            .map(|d| format!("{}:{}: {}", d.location.line, d.location.column, d.message))
            .collect(),
    }
}

fn section(functions: &str) -> String {
    format!("section s \"S\" {{\n{functions}\n}}\n")
}

#[test]
fn syntax_errors_name_the_expected_tokens() {
    assert_eq!(
        errors("section s \"S\" {\n    hostcall f(a: u32 b: u32);\n}\n"),
        ["6:23: expected `(`, `)`, `,` or `as`, found `b`"]
    );
    assert_eq!(
        errors("section s \"S\" {\n    hostcall f()\n}\n"),
        ["7:1: expected `->`, `;` or `{`, found `}`"]
    );
    assert_eq!(
        errors("enum e { A = }"),
        ["5:14: expected an integer, found `}`"]
    );
    assert_eq!(
        errors("oops"),
        ["5:1: expected `enum`, `format`, `properties`, `section` or end of file, found `oops`"]
    );
    let truncated = parse("t.abi", "abi x {").unwrap_err();
    assert_eq!(
        truncated.0[0].message,
        "expected `extends` or `versions`, found end of file"
    );
}

#[test]
fn rendered_errors_show_the_line_and_a_caret() {
    let text = format!("{HEADER}{}", section("    hostcall f(a: u33);"));
    let rendered = parse("t.abi", &text).unwrap_err().to_string();
    assert_eq!(
        rendered,
        "error: unknown type `u33`; expected u32, u64, i64, usize, bool, context, bytes, string, map, path, \
         buffer, iovecs, ptr or an enum name\n --> t.abi:6:19\n  |\n6 |     hostcall f(a: u33);\n  |                   ^^^"
    );
}

#[test]
fn unknown_types_and_statuses() {
    assert_eq!(
        errors(&section("    hostcall f(x: widget);")),
        [
            "6:19: unknown type `widget`; expected u32, u64, i64, usize, bool, context, bytes, string, map, path, buffer, iovecs, ptr or an enum name"
        ]
    );
    assert_eq!(
        errors(&section(
            "    hostcall f() -> status: proxy_status_t { OK: \"a\", GONE: \"b\" }"
        )),
        ["6:55: `GONE` is not a value of `proxy_status_t`"]
    );
    assert_eq!(
        errors(&section("    callback f() -> ok: bool { yes: \"a\" }")),
        ["6:32: `yes` is not a bool: expected `true` or `false`"]
    );
    assert_eq!(
        errors(&section("    hostcall f() { OK: \"a\" }")),
        ["6:20: outcomes are listed but the function has no result"]
    );
}

#[test]
fn duplicates_name_both_places() {
    let text = format!(
        "{HEADER}{}",
        section("    hostcall f();\n    hostcall f();")
    );
    let err = parse("t.abi", &text).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].message, "function `f` is defined twice");
    assert_eq!((err.0[0].location.line, err.0[0].location.column), (7, 14));
    let (label, first) = *err.0[0].related.clone().unwrap();
    assert_eq!(
        (label.as_str(), first.line, first.column),
        ("first defined", 6, 14)
    );

    assert_eq!(
        errors("enum proxy_status_t { X = 0 }"),
        ["5:6: enum `proxy_status_t` is defined twice"]
    );
    assert_eq!(
        errors("enum e { A = 0, A = 1 }"),
        ["5:17: variant `A` is defined twice"]
    );
    assert_eq!(
        errors("enum e { A = 0, B = 0 }"),
        ["5:21: value 0 is already used in `e`"]
    );
    // The same name in versions that do not overlap is a redefinition, not a clash.
    assert_eq!(
        errors(&section(
            "    @until(0.2.0) hostcall f();\n    @since(0.2.0) hostcall f(a: u32);"
        )),
        Vec::<String>::new()
    );
}

#[test]
fn version_ranges_are_checked() {
    assert_eq!(
        errors(&section("    @since(0.3.0) hostcall f();")),
        ["6:12: version `0.3.0` is not declared in the header (declared: `0.1.0`, `0.2.0`)"]
    );
    assert_eq!(
        errors(&section("    @since(0.2.0) @until(0.1.0) hostcall f();")),
        ["6:5: empty version range: since `0.2.0` is not before until `0.1.0`"]
    );
    assert_eq!(
        errors(&section("    @since(0.2.0) @since(0.2.0) hostcall f();")),
        ["6:19: `@since` is given twice"]
    );
    let unordered = parse("t.abi", "abi x { versions 0.2.0, 0.1.0; }").unwrap_err();
    assert_eq!(
        unordered.0[0].message,
        "versions must be listed oldest first, but `0.1.0` follows a newer one"
    );
}

#[test]
fn pointers_need_their_length() {
    assert_eq!(
        errors(&section("    hostcall f(p: ptr(\"uint8_t *\"));")),
        [
            "6:16: pointer `p` has no length: pass a pointer type with its length (bytes, string, map, buffer) or say how far it extends with @extent(\"...\")"
        ]
    );
    assert_eq!(
        errors(&section("    hostcall f(b: bytes as (b_data));")),
        [
            "6:25: `b` is a pointer and a length, but `as` names only the pointer: name its length too"
        ]
    );
    assert_eq!(
        errors(&section("    hostcall f(p: ptr);")),
        ["6:19: `ptr` needs its C type: `ptr(\"uint8_t *\")`"]
    );
}

#[test]
fn lowering_name_clashes_are_caught() {
    // `key: bytes` lowers to key_data/key_size, which clashes with `key_size: usize`.
    assert_eq!(
        errors(&section("    hostcall f(key: bytes, key_size: usize);")),
        ["6:28: in `f`, lowering gives two parameters the name `key_size`"]
    );
    // The spec's own `main(unused, unused)` is allowed when both are marked unused.
    assert_eq!(
        errors(&section(
            "    callback main(@unused unused: u32, @unused unused: u32);"
        )),
        Vec::<String>::new()
    );
}

#[test]
fn attributes_are_checked() {
    assert_eq!(
        errors(&section("    @sometimes hostcall f();")),
        [
            "6:5: unknown attribute `@sometimes`; known attributes are @since, @until, @note, @deprecated, @optional, @required, @unused, @extent, @on_invalid and @role"
        ]
    );
    assert_eq!(
        errors(&section("    hostcall f(@deprecated a: u32);")),
        ["6:16: `@deprecated` is not allowed here"]
    );
    assert_eq!(
        errors(&section("    @note(rumour, \"x\") hostcall f();")),
        ["6:11: a note's kind is `implementation`, `clarification` or `erratum`"]
    );
    assert_eq!(
        errors(&section("    @deprecated(use = \"g\") hostcall f();")),
        ["6:37: `f` is deprecated in favour of `g`, which is not defined"]
    );
    assert_eq!(
        errors(&section("    callback m.f();")),
        ["6:14: a callback is exported by the plugin and has no import module"]
    );
    assert_eq!(
        errors(&section("    hostcall f(x: out bool);")),
        ["6:19: `out bool` is not a type: the host cannot write a `bool` back"]
    );
}

#[test]
fn status_roles_and_invalid_argument_statuses_are_checked() {
    assert_eq!(
        errors("enum e { @role(success) A = 0, @role(success) B = 1 }"),
        ["5:47: `e` has two values with the same @role"]
    );
    assert_eq!(
        errors("enum e { @role(winning) A = 0 }"),
        ["5:16: a role is `success`, `memory_fault`, `bad_argument` or `unimplemented`"]
    );
    assert_eq!(
        errors(&section(
            "    hostcall f(@on_invalid(NOPE) x: u32) -> status: proxy_status_t;"
        )),
        ["6:28: `NOPE` is not a value of `f`'s result"]
    );
    assert_eq!(
        errors(&section(
            "    hostcall f(@on_invalid(NOT_FOUND) x: u32) -> status: proxy_status_t;"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&section("    @role(success) hostcall f();")),
        ["6:5: `@role` is not allowed here"]
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let body = section(
        "    hostcall f(x: nope);\n    hostcall g(y: nada);\n    @since(9.9.9) hostcall h();",
    );
    assert_eq!(errors(&body).len(), 3);
}

#[test]
fn the_standard_description_is_valid() {
    let abi = proxy_wasm_abi_spec::standard();
    assert_eq!(abi.name, "proxy_wasm");
    assert!(abi.versions.len() >= 3);
}
