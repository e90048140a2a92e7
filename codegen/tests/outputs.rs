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
        serde_json::json!({"name": "INVALID_MEMORY_ACCESS", "value": 6, "docs": status["variants"][5]["docs"]})
    );
}
