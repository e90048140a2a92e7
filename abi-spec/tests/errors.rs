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
        [
            "5:1: expected `access`, `enum`, `format`, `properties`, `section` or end of file, found `oops`"
        ]
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
            "6:5: unknown attribute `@sometimes`; known attributes are @since, @until, @note, @deprecated, @optional, @required, @unused, @extent, @on_invalid, @role, @access, @resumes, @forbidden and @context"
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
        [
            "5:16: a role is `success`, `memory_fault`, `bad_argument`, `unimplemented`, `malformed_result` or `pause`"
        ]
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
        [
            "6:11: a function's role is `allocator`, `legacy_allocator`, `initialize`, `start` or `main` on a callback, `exit` on a host function"
        ]
    );
}

#[test]
fn callback_roles_are_checked() {
    assert_eq!(
        errors(&section(
            "    @role(allocator) callback alloc(n: usize) -> p: ptr(\"uint8_t *\");"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&section(
            "    @role(heap) callback alloc(n: usize) -> p: ptr(\"uint8_t *\");"
        )),
        [
            "6:11: a function's role is `allocator`, `legacy_allocator`, `initialize`, `start` or `main` on a callback, `exit` on a host function"
        ]
    );
    // A value's role is not a callback's, and the reverse.
    assert_eq!(
        errors(&section("    @role(success) callback go();")),
        [
            "6:11: a function's role is `allocator`, `legacy_allocator`, `initialize`, `start` or `main` on a callback, `exit` on a host function"
        ]
    );
    // `exit` belongs to host functions, the others to callbacks.
    assert_eq!(
        errors(&section("    @role(exit) hostcall quit(code: u32);")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&section("    @role(exit) callback quit(code: u32);")),
        [
            "6:5: `exit` is no role of a callback; its roles are `allocator`, `legacy_allocator`, `initialize`, `start` or `main`"
        ]
    );
    assert_eq!(
        errors(&section("    @role(main) hostcall quit(code: u32);")),
        ["6:5: `main` is no role of a host function; its roles are `exit`"]
    );
    assert_eq!(
        errors("enum e { @role(allocator) A = 0 }"),
        [
            "5:16: a role is `success`, `memory_fault`, `bad_argument`, `unimplemented`, `malformed_result` or `pause`"
        ]
    );
}

#[test]
fn named_values_exist_wherever_they_are_named() {
    // Line 5: a status value from 0.2.0; the section's function is on line 7.
    let gated = |functions: &str| {
        errors(&format!(
            "enum result_t {{ @role(success) OK = 0, @since(0.2.0) GONE = 1 }}\n{}",
            section(functions)
        ))
    };
    assert_eq!(
        gated("    hostcall f() -> status: result_t { OK: \"a\", GONE: \"b\" }"),
        ["7:49: `result_t.GONE` does not exist in `0.1.0`, where `f` lists it"]
    );
    assert_eq!(
        gated("    hostcall f(@on_invalid(GONE) x: u32) -> status: result_t;"),
        ["7:28: `result_t.GONE` does not exist in `0.1.0`, where parameter `x` of `f` exists"]
    );
    // Fine where the outcome, the parameter or the function is gated alike.
    assert_eq!(
        gated("    hostcall f() -> status: result_t { OK: \"a\", @since(0.2.0) GONE: \"b\" }"),
        Vec::<String>::new()
    );
    assert_eq!(
        gated("    hostcall f(@since(0.2.0) @on_invalid(GONE) x: u32) -> status: result_t;"),
        Vec::<String>::new()
    );
    assert_eq!(
        gated(
            "    @since(0.2.0) hostcall f(@on_invalid(GONE) x: u32) -> status: result_t { GONE: \"b\" }"
        ),
        Vec::<String>::new()
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

#[test]
fn the_standard_descriptions_references_resolve_in_every_version() {
    use proxy_wasm_abi_spec::ir::Type;
    let abi = proxy_wasm_abi_spec::standard();
    for version in &abi.versions {
        let v = abi.at(*version).expect("declared");
        for f in &v.functions {
            let types = f
                .params
                .iter()
                .map(|p| &p.ty)
                .chain(f.result.as_ref().map(|r| &r.ty));
            for ty in types {
                if let Type::Enum(e) = ty {
                    assert!(v.enum_def(e).is_some(), "{version} {}: {e}", f.name);
                    assert!(abi.enum_def(e).is_some(), "{e}");
                }
            }
            let statuses = f.params.iter().filter_map(|p| p.on_invalid.as_ref());
            let outcomes = f.outcomes.iter().filter_map(|o| o.value.variant());
            for status in statuses.chain(&f.forbidden).chain(outcomes) {
                let found = v.variant_def(status).expect("the value exists");
                assert_eq!(found.name, status.name(), "{version} {}", f.name);
                assert!(abi.variant_def(status).is_some(), "{status}");
            }
            for callback in &f.resumes {
                assert!(
                    v.callback(callback).is_some(),
                    "{version} {}: {callback}",
                    f.name
                );
                assert!(abi.callback(callback).is_some(), "{callback}");
            }
        }
        for e in &v.enums {
            for callback in e.variants.iter().flat_map(|x| &x.resumes) {
                assert!(
                    v.callback(callback).is_some(),
                    "{version} {}: {callback}",
                    e.name
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Access rules
// ---------------------------------------------------------------------------

/// Lines 5 to 12: a map enum with a variant from 0.2.0, a status enum with a
/// success value, a host function selecting maps with `@access`, a host
/// function restricted as a whole, and two callbacks (one from 0.2.0).
const ACCESS_FIXTURE: &str = "enum map_type_t { HEADERS = 0, @since(0.2.0) TRAILERS = 1 }
enum result_t { @role(success) OK = 0, DENIED = 1 }
section s \"S\" {
    @forbidden(DENIED) hostcall get_map(@access(read) map_id: map_type_t) -> status: result_t;
    @forbidden(DENIED) hostcall send_response() -> status: result_t;
    callback on_headers(n: u32, end_of_stream: bool, count: u32);
    @since(0.2.0) callback on_trailers(end_of_stream: bool);
}
";

/// Rules valid for `ACCESS_FIXTURE`, on lines 14 to 16 (the block opens on 13).
const ACCESS_RULES: &str = "    for map_type_t.HEADERS { read in on_headers; }
    @since(0.2.0) for map_type_t.TRAILERS { read in on_trailers; }
    for send_response { call before on_headers; }";

/// The errors of `ACCESS_FIXTURE` with `fixture_edit` applied, followed by
/// an access block of `ACCESS_RULES` with `rules_edit` applied.
fn access_errors(fixture_edit: (&str, &str), rules_edit: (&str, &str)) -> Vec<String> {
    let fixture = ACCESS_FIXTURE.replace(fixture_edit.0, fixture_edit.1);
    let rules = ACCESS_RULES.replace(rules_edit.0, rules_edit.1);
    assert!(
        fixture_edit.0.is_empty() || fixture != ACCESS_FIXTURE,
        "the fixture edit changes nothing"
    );
    assert!(
        rules_edit.0.is_empty() || rules != ACCESS_RULES,
        "the rules edit changes nothing"
    );
    errors(&format!("{fixture}access {{\n{rules}\n}}\n"))
}

/// The errors of the fixture with one edit to its access rules.
fn rules_errors(from: &str, to: &str) -> Vec<String> {
    access_errors(("", ""), (from, to))
}

/// The errors of the fixture with one edit before its access block.
fn fixture_errors(from: &str, to: &str) -> Vec<String> {
    access_errors((from, to), ("", ""))
}

#[test]
fn the_access_fixture_is_valid() {
    assert_eq!(rules_errors("", ""), Vec::<String>::new());
}

#[test]
fn access_syntax_errors_name_the_expected_tokens() {
    // `in` may only be left out before a `before` place.
    assert_eq!(
        rules_errors("read in on_headers", "read on_headers"),
        ["14:35: expected `before` or `in`, found `on_headers`"]
    );
    assert_eq!(
        rules_errors("read in on_headers", "read in;"),
        ["14:37: expected a callback name, found `;`"]
    );
    assert_eq!(
        rules_errors("read in on_headers", "read in on_headers on_trailers"),
        ["14:49: expected `,`, `;` or `when`, found `on_trailers`"]
    );
    assert_eq!(
        rules_errors("for send_response", "send_response"),
        ["16:5: expected `for` or `}`, found `send_response`"]
    );
}

#[test]
fn access_rule_subjects_must_resolve() {
    assert_eq!(
        rules_errors("for map_type_t.HEADERS", "for map_typ_t.HEADERS"),
        [
            // The rule that did not resolve leaves its map uncovered.
            "5:19: no access rule for `map_type_t.HEADERS` in `0.1.0` and `0.2.0`",
            "14:9: unknown enum `map_typ_t`; did you mean `map_type_t`?",
        ]
    );
    assert_eq!(
        rules_errors("for map_type_t.HEADERS", "for result_t.HEADERS")[1],
        "14:9: `result_t` is not selected by any `@access` parameter, so it has no access rules"
    );
    assert_eq!(
        rules_errors("for map_type_t.HEADERS", "for map_type_t.HEADER")[1],
        "14:20: `map_type_t` has no variant `HEADER`; did you mean `HEADERS`?"
    );
    assert_eq!(
        rules_errors("for send_response", "for send_respons"),
        [
            "9:5: `@forbidden` on `send_response`, which the access rules do not restrict: it has no `@access` parameter and no access rule",
            "16:9: unknown host function `send_respons`; did you mean `send_response`?",
        ]
    );
    assert_eq!(
        rules_errors("for send_response {", "for on_headers {"),
        [
            "9:5: `@forbidden` on `send_response`, which the access rules do not restrict: it has no `@access` parameter and no access rule",
            "16:9: `on_headers` is a callback; access rules restrict host functions, maps and buffers",
        ]
    );
    // The subject must exist wherever the rule applies.
    assert_eq!(
        rules_errors(
            "@since(0.2.0) for map_type_t.TRAILERS { read in on_trailers; }",
            "for map_type_t.TRAILERS { read in on_headers; }"
        ),
        ["15:9: `map_type_t.TRAILERS` does not exist in `0.1.0`, where this rule applies"]
    );
    assert_eq!(
        access_errors(
            (
                "hostcall send_response",
                "@until(0.2.0) hostcall send_response"
            ),
            ("", "")
        ),
        ["16:9: host function `send_response` does not exist in `0.2.0`, where this rule applies"]
    );
}

#[test]
fn access_levels_fit_the_subject() {
    assert_eq!(
        rules_errors("call before", "read before"),
        [
            "16:25: `read` is for maps and buffers; a rule for host function `send_response` grants `call`"
        ]
    );
    assert_eq!(
        rules_errors("read in on_headers", "call in on_headers"),
        [
            "14:30: `call` is for host functions; a rule for `map_type_t.HEADERS` grants `read`, `add` or `modify`"
        ]
    );
    assert_eq!(
        rules_errors("read in on_headers", "raed in on_headers"),
        ["14:30: unknown access level `raed`; did you mean `read`?"]
    );
    assert_eq!(
        rules_errors("read in on_headers", "write in on_headers"),
        ["14:30: unknown access level `write`; a grant is `read`, `add`, `modify` or `call`"]
    );
}

#[test]
fn access_places_are_callbacks_of_every_version_the_grant_covers() {
    assert_eq!(
        rules_errors("read in on_headers", "read in on_header"),
        ["14:38: unknown callback `on_header`; did you mean `on_headers`?"]
    );
    assert_eq!(
        rules_errors("read in on_headers", "read in get_map"),
        ["14:38: `get_map` is a host function; only a callback can be named here"]
    );
    assert_eq!(
        rules_errors(
            "read in on_headers",
            "read in on_headers, paused on_trailers"
        ),
        ["14:57: callback `on_trailers` does not exist in `0.1.0`, where this grant applies"]
    );
    // A gate on the grant narrows the versions it must hold in.
    assert_eq!(
        rules_errors(
            "read in on_headers;",
            "read in on_headers; @since(0.2.0) read in on_trailers;"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn access_when_names_a_bool_parameter_of_each_in_callback() {
    assert_eq!(
        rules_errors(
            "read in on_headers",
            "read in on_headers when end_of_stream"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        rules_errors(
            "read in on_headers",
            "read in on_headers, paused on_headers when end_of_stream"
        ),
        ["14:73: `when` applies only to `in` places, not to `paused on_headers`"]
    );
    assert_eq!(
        rules_errors("read in on_headers", "read in on_headers when eos"),
        ["14:54: `on_headers` has no `bool` parameter `eos`"]
    );
    assert_eq!(
        rules_errors("read in on_headers", "read in on_headers when count"),
        ["14:54: `on_headers` has no `bool` parameter `count`"]
    );
    assert_eq!(
        access_errors(
            (
                "end_of_stream: bool, count",
                "@since(0.2.0) end_of_stream: bool, count"
            ),
            (
                "read in on_headers",
                "read in on_headers when end_of_stream"
            )
        ),
        [
            "14:54: `on_headers` has no `bool` parameter `end_of_stream` in `0.1.0`, where this grant applies"
        ]
    );
}

#[test]
fn restricted_host_functions_carry_a_forbidden_status() {
    assert_eq!(
        fixture_errors("@forbidden(DENIED) hostcall get_map", "hostcall get_map"),
        [
            "8:14: `get_map` has an `@access` parameter, so it needs `@forbidden(STATUS)`: the status a call outside its grants gets"
        ]
    );
    assert_eq!(
        fixture_errors(
            "@forbidden(DENIED) hostcall send_response",
            "hostcall send_response"
        ),
        [
            "9:14: `send_response` has an access rule, so it needs `@forbidden(STATUS)`: the status a call outside its grants gets"
        ]
    );
    assert_eq!(
        fixture_errors(
            "    callback on_headers",
            "    @forbidden(DENIED) hostcall free() -> status: result_t;\n    callback on_headers"
        ),
        [
            "10:5: `@forbidden` on `free`, which the access rules do not restrict: it has no `@access` parameter and no access rule"
        ]
    );
    assert_eq!(
        fixture_errors(
            "@forbidden(DENIED) hostcall send",
            "@forbidden(NOPE) hostcall send"
        ),
        ["9:16: `NOPE` is not a value of `send_response`'s result"]
    );
    assert_eq!(
        fixture_errors(
            "@forbidden(DENIED) hostcall send",
            "@forbidden(OK) hostcall send"
        ),
        ["9:16: `OK` is the success value of `send_response`'s result; a forbidden call must fail"]
    );
    assert_eq!(
        fixture_errors(
            "callback on_headers",
            "@forbidden(DENIED) callback on_headers"
        ),
        ["10:5: `@forbidden` applies to host functions; `on_headers` is a callback"]
    );
    // The status exists wherever the function does.
    assert_eq!(
        fixture_errors("DENIED = 1", "@since(0.2.0) DENIED = 1"),
        [
            "8:16: `result_t.DENIED` does not exist in `0.1.0`, where `get_map` exists",
            "9:16: `result_t.DENIED` does not exist in `0.1.0`, where `send_response` exists"
        ]
    );
}

#[test]
fn every_selectable_map_has_a_rule_in_every_version() {
    assert_eq!(
        rules_errors(
            "    @since(0.2.0) for map_type_t.TRAILERS { read in on_trailers; }\n",
            ""
        ),
        ["5:46: no access rule for `map_type_t.TRAILERS` in `0.2.0`"]
    );
    assert_eq!(
        errors(ACCESS_FIXTURE),
        [
            "5:19: no access rule for `map_type_t.HEADERS` in `0.1.0` and `0.2.0`",
            "5:46: no access rule for `map_type_t.TRAILERS` in `0.2.0`",
            "9:5: `@forbidden` on `send_response`, which the access rules do not restrict: it has no `@access` parameter and no access rule",
        ]
    );
}

#[test]
fn duplicate_access_rules_and_blocks_name_both_places() {
    let text = format!(
        "{HEADER}{ACCESS_FIXTURE}access {{\n{}\n}}\n",
        ACCESS_RULES.replace(
            "    for send_response",
            "    @until(0.2.0) for map_type_t.HEADERS { read in on_headers; }\n    for send_response"
        )
    );
    let err = parse("t.abi", &text).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(
        err.0[0].message,
        "access rule for `map_type_t.HEADERS` is defined twice"
    );
    assert_eq!((err.0[0].location.line, err.0[0].location.column), (16, 23));
    let (label, first) = *err.0[0].related.clone().unwrap();
    assert_eq!(
        (label.as_str(), first.line, first.column),
        ("first defined", 14, 9)
    );
    // Rules for one subject in versions that do not overlap are fine.
    assert_eq!(
        rules_errors(
            "    for map_type_t.HEADERS { read in on_headers; }",
            "    @until(0.2.0) for map_type_t.HEADERS { read in on_headers; }\n    @since(0.2.0) for map_type_t.HEADERS { read in on_trailers; }"
        ),
        Vec::<String>::new()
    );

    let text = format!("{HEADER}{ACCESS_FIXTURE}access {{\n{ACCESS_RULES}\n}}\naccess {{}}\n");
    let err = parse("t.abi", &text).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].message, "`access` is defined twice");
    assert_eq!((err.0[0].location.line, err.0[0].location.column), (18, 1));
    let (label, first) = *err.0[0].related.clone().unwrap();
    assert_eq!(
        (label.as_str(), first.line, first.column),
        ("first defined", 13, 1)
    );
}

#[test]
fn access_and_resumes_parameters_are_enum_selectors_of_host_functions() {
    assert_eq!(
        fixture_errors("@access(read) map_id", "@access(call) map_id"),
        [
            "8:49: `@access` takes what the function does to the map or buffer: `read`, `add` or `modify`"
        ]
    );
    assert_eq!(
        fixture_errors(
            "@access(read) map_id: map_type_t",
            "@access(read) map_id: u32"
        )[0],
        "8:41: `@access` needs an enum parameter, but `map_id` is a `u32`"
    );
    assert_eq!(
        fixture_errors(
            "callback on_headers(n: u32",
            "callback on_headers(@access(read) n: map_type_t"
        ),
        ["10:25: `@access` applies to host function parameters; `on_headers` is a callback"]
    );
    assert_eq!(
        fixture_errors(
            "map_id: map_type_t)",
            "map_id: map_type_t, @access(add) other: map_type_t)"
        ),
        [
            "8:75: `get_map` already selects its map or buffer with `map_id`; only one parameter may carry `@access`"
        ]
    );
    assert_eq!(
        fixture_errors(
            "hostcall send_response()",
            "hostcall send_response(@resumes s: u32)"
        ),
        ["9:47: `@resumes` needs an enum parameter, but `s` is a `u32`"]
    );
    assert_eq!(
        fixture_errors(
            "callback on_headers(n: u32",
            "callback on_headers(@resumes n: map_type_t"
        ),
        ["10:25: `@resumes` applies to host function parameters; `on_headers` is a callback"]
    );
}

#[test]
fn resumes_lists_name_callbacks() {
    // A `@resumes` parameter needs an enum whose variants list callbacks.
    assert_eq!(
        fixture_errors(
            "hostcall send_response()",
            "hostcall send_response(@resumes s: map_type_t)"
        ),
        [
            "9:47: `@resumes` on `s` needs variants of `map_type_t` that list the callbacks they resume with `@resumes(...)`; none does"
        ]
    );
    assert_eq!(
        fixture_errors(
            "hostcall send_response()",
            "hostcall send_response(@resumes s: map_type_t)"
        )
        .len(),
        1
    );
    assert_eq!(
        fixture_errors("{ HEADERS = 0,", "{ @resumes(on_headers) HEADERS = 0,"),
        Vec::<String>::new()
    );
    assert_eq!(
        fixture_errors(
            "{ HEADERS = 0,",
            "{ @resumes(on_headers, on_trailers, nope) HEADERS = 0,"
        ),
        [
            "5:40: callback `on_trailers` does not exist in `0.1.0`, where `map_type_t.HEADERS` exists",
            "5:53: unknown callback `nope`",
        ]
    );
    assert_eq!(
        fixture_errors(
            "hostcall send_response()",
            "@resumes(on_headrs, get_map) hostcall send_response()"
        ),
        [
            "9:33: unknown callback `on_headrs`; did you mean `on_headers`?",
            "9:44: `get_map` is a host function; only a callback can be named here",
        ]
    );
    assert_eq!(
        fixture_errors(
            "callback on_headers(n",
            "@resumes(on_trailers) callback on_headers(n"
        ),
        ["10:14: `@resumes` applies to host functions; `on_headers` is a callback"]
    );
    assert_eq!(
        fixture_errors("{ HEADERS = 0,", "{ @resumes HEADERS = 0,"),
        [
            "5:19: `@resumes` lists the callbacks whose pauses it ends, e.g. `@resumes(proxy_on_request_headers)`"
        ]
    );
}

#[test]
fn context_effects_fit_their_functions() {
    assert_eq!(
        errors(&section(
            "    @context(create) callback on_create(id: context, parent: context);\n    \
             @context(delete) callback on_delete(id: context);\n    \
             @context(switch) hostcall switch(id: context) -> status: proxy_status_t;"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&section(
            "    @context(create) callback on_create(id: context);"
        )),
        [
            "6:5: `@context` here needs a callback with two `context` parameters (the new one, then its parent); `on_create` is not"
        ]
    );
    assert_eq!(
        errors(&section(
            "    @context(delete) hostcall gone(id: context) -> status: proxy_status_t;"
        )),
        ["6:5: `@context` here needs a callback with a `context` parameter; `gone` is not"]
    );
    assert_eq!(
        errors(&section(
            "    @context(switch) hostcall switch(id: u32) -> status: proxy_status_t;"
        )),
        [
            "6:5: `@context` here needs a host function with one `context` parameter and a status result; `switch` is not"
        ]
    );
    assert_eq!(
        errors(&section(
            "    @context(rename) callback on_create(id: context, parent: context);"
        )),
        ["6:14: `@context` takes `create`, `delete` or `switch`"]
    );
    assert_eq!(
        errors(&section(
            "    hostcall f(@context(switch) id: context) -> status: proxy_status_t;"
        )),
        ["6:16: `@context` is not allowed here"]
    );
}
