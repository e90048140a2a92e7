//! The emitters' output on the standard description: the version diffs are
//! exactly the specification's changes, the worked serialization example has
//! the right bytes, and the JSON has the documented shape.

use proxy_wasm_abi_codegen::{diff, json, markdown};
use proxy_wasm_abi_spec::{AbiVersion, STANDARD_PATH};

fn version(v: &str) -> AbiVersion {
    proxy_wasm_abi_spec::standard()
        .at(v.parse().unwrap())
        .unwrap()
}

fn changes(from: &str, to: &str) -> Vec<String> {
    let mut lines: Vec<String> = diff::diff(&version(from), &version(to))
        .changes
        .iter()
        .map(ToString::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn diff_0_1_0_to_0_2_0_lists_the_specs_changes() {
    let mut expected = vec![
        "function removed: proxy_abi_version_0_1_0",
        "function added: proxy_abi_version_0_2_0: ()",
        "function removed: proxy_get_configuration",
        "function removed: proxy_continue_request",
        "function removed: proxy_continue_response",
        "function removed: proxy_clear_route_cache",
        "function added: proxy_continue_stream: (i32 stream_type) -> i32 status",
        "function added: proxy_close_stream: (i32 stream_type) -> i32 status",
        "function added: proxy_on_foreign_function: (i32 plugin_context_id, i32 function_id, i32 arguments_size)",
        "parameter added: proxy_on_request_headers: end_of_stream i32 bool",
        "parameter added: proxy_on_response_headers: end_of_stream i32 bool",
        "status added: proxy_get_header_map_value: NOT_FOUND",
        "value added: proxy_buffer_type_t: VM_CONFIGURATION = 6",
        "value added: proxy_buffer_type_t: PLUGIN_CONFIGURATION = 7",
        "value added: proxy_buffer_type_t: FOREIGN_FUNCTION_ARGUMENTS = 8",
        "enum added: proxy_stream_type_t",
        "value added: proxy_stream_type_t: HTTP_REQUEST = 0",
        "value added: proxy_stream_type_t: HTTP_RESPONSE = 1",
        "value added: proxy_stream_type_t: DOWNSTREAM = 2",
        "value added: proxy_stream_type_t: UPSTREAM = 3",
    ];
    expected.sort();
    assert_eq!(changes("0.1.0", "0.2.0"), expected);
}

#[test]
fn diff_0_2_0_to_0_2_1_lists_the_specs_changes() {
    let mut expected = vec![
        "function removed: proxy_abi_version_0_2_0",
        "function added: proxy_abi_version_0_2_1: ()",
        "function added: proxy_get_log_level: (i32 return_log_level) -> i32 status",
    ];
    expected.sort();
    assert_eq!(changes("0.2.0", "0.2.1"), expected);
}

#[test]
fn diff_of_a_version_with_itself_is_empty() {
    assert!(changes("0.2.1", "0.2.1").is_empty());
}

#[test]
fn markdown_worked_example_has_the_right_bytes() {
    // {"a": "1", "b": "22"}: count 2; sizes (1,1) and (1,2) as u32 LE;
    // then a NUL 1 NUL b NUL 2 2 NUL. The spec's own example prints 0x49 and
    // 0x50 for '1' and '2' (decimal ASCII codes written as hex).
    let md = markdown::render(&version("0.2.1"), None, STANDARD_PATH);
    for row in [
        "| count (2) | `0x02` `0x00` `0x00` `0x00` |",
        "| sizes of `a` (1) and `1` (1) | `0x01` `0x00` `0x00` `0x00` `0x01` `0x00` `0x00` `0x00` |",
        "| sizes of `b` (1) and `22` (2) | `0x01` `0x00` `0x00` `0x00` `0x02` `0x00` `0x00` `0x00` |",
        "`0x61` `0x00` `0x31` `0x00` `0x62` `0x00` `0x32` `0x32` `0x00` |",
    ] {
        assert!(md.contains(row), "missing worked example row: {row}");
    }
    assert!(md.contains(
        "the path `[\"foo\", \"bar\"]` is `0x66` `0x6f` `0x6f` `0x00` `0x62` `0x61` `0x72`"
    ));
}

#[test]
fn markdown_has_index_changes_types_and_notes() {
    let v = version("0.2.1");
    let previous = version("0.2.0");
    let d = diff::diff(&previous, &v);
    let md = markdown::render(&v, Some(&d), STANDARD_PATH);
    assert!(md.contains("| Logging | [`proxy_log`](#proxy_log) | host | `(i32 log_level, i32 message_data, i32 message_size) -> i32 status` |"));
    assert!(md.contains(
        "| function added | `proxy_get_log_level` | `(i32 return_log_level) -> i32 status` |"
    ));
    assert!(md.contains("### `proxy_status_t`"));
    assert!(md.contains("| `UNIMPLEMENTED` | 12 |"));
    assert!(md.contains("> **Note (erratum).**"));
    assert!(md.contains("**Deprecated:** use [`wasi_snapshot_preview1.clock_time_get`](#wasi_snapshot_preview1clock_time_get) instead."));
    assert!(md.contains("#### `wasi_snapshot_preview1.clock_time_get`"));
}

#[test]
fn json_has_the_documented_shape() {
    let doc = json::document(&version("0.2.1"), STANDARD_PATH);
    assert_eq!(doc["abi"], "proxy-wasm");
    assert_eq!(doc["version"], "0.2.1");
    let functions = doc["functions"].as_array().unwrap();
    let log = functions.iter().find(|f| f["name"] == "proxy_log").unwrap();
    assert_eq!(log["module"], "env");
    assert_eq!(log["kind"], "host");
    assert_eq!(log["deprecated"], false);
    assert_eq!(
        log["params"],
        serde_json::json!([
            {"name": "log_level", "wasm": "i32", "c_type": "proxy_log_level_t"},
            {"name": "message_data", "wasm": "i32", "c_type": "const char *"},
            {"name": "message_size", "wasm": "i32", "c_type": "size_t"},
        ])
    );
    assert_eq!(
        log["results"],
        serde_json::json!([{"name": "status", "wasm": "i32", "c_type": "proxy_status_t"}])
    );
    assert_eq!(
        log["statuses"],
        serde_json::json!(["OK", "BAD_ARGUMENT", "INVALID_MEMORY_ACCESS"])
    );
    let on_tick = functions
        .iter()
        .find(|f| f["name"] == "proxy_on_tick")
        .unwrap();
    assert_eq!(on_tick["module"], serde_json::Value::Null);
    assert_eq!(on_tick["kind"], "callback");
    let time = functions
        .iter()
        .find(|f| f["name"] == "proxy_get_current_time_nanoseconds")
        .unwrap();
    assert_eq!(time["deprecated"], true);
    let status = doc["enums"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "proxy_status_t")
        .unwrap();
    assert_eq!(
        status["variants"][5],
        serde_json::json!({"name": "INVALID_MEMORY_ACCESS", "value": 6, "docs": status["variants"][5]["docs"], "role": "memory_fault"})
    );
}

/// The cells of the access matrix row labelled `label`, keyed by column
/// header (non-empty cells only).
fn matrix_row(md: &str, label: &str) -> Vec<(String, String)> {
    let section = md
        .split("### Maps and buffers")
        .nth(1)
        .expect("an access matrix");
    let mut lines = section.lines().skip_while(|l| !l.starts_with('|'));
    let header: Vec<&str> = lines
        .next()
        .expect("a header row")
        .split('|')
        .map(str::trim)
        .collect();
    let row = lines
        .take_while(|l| l.starts_with('|'))
        .find(|l| l.split('|').nth(1).map(str::trim) == Some(label))
        .unwrap_or_else(|| panic!("no matrix row {label}"));
    row.split('|')
        .map(str::trim)
        .zip(header)
        .skip(2)
        .filter(|(cell, _)| !cell.is_empty())
        .map(|(cell, column)| (column.to_string(), cell.to_string()))
        .collect()
}

fn cells(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(c, v)| (c.to_string(), v.to_string()))
        .collect()
}

#[test]
fn markdown_access_matrix_shows_grants_by_callback() {
    let md = markdown::render(&version("0.2.1"), None, STANDARD_PATH);
    let access = md.find("## Access rules").expect("an access rules section");
    assert!(
        md.find("## Functions").unwrap() < access && access < md.find("## Types").unwrap(),
        "access rules sit between the functions and the types"
    );
    let body = "[`proxy_on_request_body`](#proxy_on_request_body)";
    assert_eq!(
        matrix_row(&md, body),
        cells(&[
            ("`HTTP_REQUEST_TRAILERS`", "A¹"),
            ("`HTTP_REQUEST_BODY`", "M")
        ])
    );
    assert_eq!(
        matrix_row(&md, &format!("{body} (paused)")),
        cells(&[("`HTTP_REQUEST_BODY`", "M")])
    );
    assert_eq!(
        matrix_row(&md, "[`proxy_on_log`](#proxy_on_log)"),
        cells(&[
            ("`HTTP_REQUEST_HEADERS`", "R"),
            ("`HTTP_REQUEST_TRAILERS`", "R"),
            ("`HTTP_RESPONSE_HEADERS`", "R"),
            ("`HTTP_RESPONSE_TRAILERS`", "R"),
        ])
    );
    assert_eq!(
        matrix_row(&md, "[`proxy_on_vm_start`](#proxy_on_vm_start)"),
        cells(&[("`VM_CONFIGURATION`", "R")])
    );
    assert!(md.contains("- ¹ Only while the callback's `end_of_stream` parameter is true."));
    // Maps first, then buffers, each in enum order.
    assert!(md.contains(
        "| Callback | `HTTP_REQUEST_HEADERS` | `HTTP_REQUEST_TRAILERS` | `HTTP_RESPONSE_HEADERS` |"
    ));
    assert!(md.contains(
        "| `GRPC_CALL_MESSAGE` | `VM_CONFIGURATION` | `PLUGIN_CONFIGURATION` | `FOREIGN_FUNCTION_ARGUMENTS` |\n"
    ));
    assert!(md.contains(
        "| [`proxy_get_status`](#proxy_get_status) | in `proxy_on_http_call_response`, `proxy_on_grpc_close` | `NOT_FOUND` |"
    ));
    assert!(md.contains(
        "| [`proxy_send_local_response`](#proxy_send_local_response) | before the stream gets past `proxy_on_response_headers` | `BAD_ARGUMENT` |"
    ));
    assert!(!md.contains("[`proxy_get_configuration`](#proxy_get_configuration) |"));
    assert!(md.contains(
        "- `add` in `proxy_on_request_body` when `end_of_stream` is true: Only for a request that ends with its body, so has no trailers yet."
    ));

    let old = markdown::render(&version("0.1.0"), None, STANDARD_PATH);
    let header = old
        .split("### Maps and buffers\n\n")
        .nth(1)
        .and_then(|s| s.lines().next())
        .expect("a matrix header");
    assert!(header.ends_with("| `HTTP_CALL_RESPONSE_BODY` | `GRPC_CALL_MESSAGE` |"));
    assert!(!header.contains("VM_CONFIGURATION"));
    assert!(old.contains(
        "| [`proxy_get_configuration`](#proxy_get_configuration) | in `proxy_on_vm_start`, `proxy_on_configure` | `NOT_FOUND` |"
    ));
    assert!(old.contains("successful [`proxy_continue_request`](#proxy_continue_request) or [`proxy_continue_response`](#proxy_continue_response)."));
}

/// The text of one function's entry in the Markdown reference.
fn entry<'a>(md: &'a str, name: &str) -> &'a str {
    let start = md
        .find(&format!("#### `{name}`\n"))
        .unwrap_or_else(|| panic!("no entry for {name}"));
    let rest = &md[start + 5..];
    let end = rest.find("\n#### ").map_or(rest.len(), |e| e);
    &rest[..end]
}

#[test]
fn markdown_function_entries_state_their_access() {
    let md = markdown::render(&version("0.2.1"), None, STANDARD_PATH);
    assert!(entry(&md, "proxy_get_status").contains(
        "\nCallable: in `proxy_on_http_call_response`, `proxy_on_grpc_close`; otherwise returns `NOT_FOUND`.\n"
    ));
    assert!(entry(&md, "proxy_send_local_response").contains(
        "\nCallable: before the stream gets past `proxy_on_response_headers`; otherwise returns `BAD_ARGUMENT`.\n"
    ));
    assert!(entry(&md, "proxy_add_header_map_value").contains(
        "\nAccess: `add` of the map named by `map_id`; allowed where the [access rules](#access-rules) grant it; otherwise returns `BAD_ARGUMENT`.\n"
    ));
    assert!(entry(&md, "proxy_get_buffer_bytes").contains(
        "\nAccess: `read` of the buffer named by `buffer_id`; allowed where the [access rules](#access-rules) grant it; otherwise returns `NOT_FOUND`.\n"
    ));
    assert!(entry(&md, "proxy_continue_stream").contains(
        "\nResumes: a successful call ends the pauses of the stream `stream_type` selects: for `HTTP_REQUEST`, those from `proxy_on_request_headers`, `proxy_on_request_body`, `proxy_on_request_trailers`; for `HTTP_RESPONSE`, those from "
    ));
    for unrestricted in [
        "proxy_log",
        "proxy_on_request_headers",
        "proxy_set_effective_context",
    ] {
        let text = entry(&md, unrestricted);
        assert!(
            !text.contains("\nAccess:")
                && !text.contains("\nCallable:")
                && !text.contains("\nResumes:"),
            "{unrestricted} has no access lines"
        );
    }

    let old = markdown::render(&version("0.1.0"), None, STANDARD_PATH);
    assert!(entry(&old, "proxy_continue_request").contains(
        "\nResumes: a successful call ends the pauses from `proxy_on_request_headers`, `proxy_on_request_body`, `proxy_on_request_trailers`.\n"
    ));
}

#[test]
fn json_has_the_access_rules() {
    for (v, rules) in [("0.1.0", 17), ("0.2.0", 19), ("0.2.1", 19)] {
        let doc = json::document(&version(v), STANDARD_PATH);
        let access = doc["access"].as_array().unwrap();
        assert_eq!(access.len(), rules, "rules in {v}");
        let functions = access
            .iter()
            .filter(|r| r["subject"].get("function").is_some())
            .count();
        assert_eq!(functions, if v == "0.1.0" { 3 } else { 2 }, "in {v}");
    }

    let doc = json::document(&version("0.2.1"), STANDARD_PATH);
    let access = doc["access"].as_array().unwrap();
    let trailers = access
        .iter()
        .find(|r| r["subject"]["variant"] == "HTTP_REQUEST_TRAILERS")
        .unwrap();
    assert_eq!(trailers["subject"]["enum"], "proxy_map_type_t");
    assert_eq!(
        trailers["grants"][1],
        serde_json::json!({
            "level": "modify",
            "places": [
                {"kind": "in", "callback": "proxy_on_request_trailers"},
                {"kind": "paused", "callback": "proxy_on_request_trailers"},
            ],
            "when": null,
            "docs": null,
            "notes": [],
        })
    );
    assert_eq!(trailers["grants"][2]["level"], "add");
    assert_eq!(trailers["grants"][2]["when"], "end_of_stream");
    assert_eq!(trailers["grants"][0]["notes"][0]["kind"], "clarification");
    let send = access
        .iter()
        .find(|r| r["subject"] == serde_json::json!({"function": "proxy_send_local_response"}))
        .unwrap();
    assert_eq!(
        send["grants"][0]["places"],
        serde_json::json!([{"kind": "before", "callback": "proxy_on_response_headers"}])
    );

    let functions = doc["functions"].as_array().unwrap();
    let named = |name: &str| functions.iter().find(|f| f["name"] == name).unwrap();
    assert_eq!(named("proxy_get_status")["forbidden"], "NOT_FOUND");
    assert_eq!(
        named("proxy_get_header_map_value")["forbidden"],
        "BAD_ARGUMENT"
    );
    assert_eq!(
        named("proxy_get_header_map_value")["semantic_params"][0]["access"],
        "read"
    );
    assert_eq!(
        named("proxy_continue_stream")["semantic_params"][0]["resumes"],
        true
    );
    // Only where set: unrestricted functions and plain parameters have no such keys.
    let log = named("proxy_log");
    assert!(log.get("forbidden").is_none() && log.get("resumes").is_none());
    let level = &log["semantic_params"][0];
    assert!(level.get("access").is_none() && level.get("resumes").is_none());
    let stream = doc["enums"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "proxy_stream_type_t")
        .unwrap();
    assert_eq!(
        stream["variants"][3]["resumes"],
        serde_json::json!(["proxy_on_upstream_data"])
    );

    let old = json::document(&version("0.1.0"), STANDARD_PATH);
    let continue_request = old["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "proxy_continue_request")
        .unwrap();
    assert_eq!(
        continue_request["resumes"],
        serde_json::json!([
            "proxy_on_request_headers",
            "proxy_on_request_body",
            "proxy_on_request_trailers"
        ])
    );
}
