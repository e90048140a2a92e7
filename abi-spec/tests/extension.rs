//! Descriptions that extend a version of the standard one.

use proxy_wasm_abi_spec::lower::lower;
use proxy_wasm_abi_spec::{Diagnostics, parse};

const EXAMPLE: &str = include_str!("../examples/host-extras.abi");

#[test]
fn an_extension_is_the_base_version_plus_its_items() {
    let abi = parse("host-extras.abi", EXAMPLE).unwrap();
    assert_eq!(abi.name, "host_extras");
    assert_eq!(
        abi.extends,
        Some(("proxy_wasm".to_string(), "0.2.1".parse().unwrap()))
    );
    assert_eq!(abi.versions, vec!["0.2.1".parse().unwrap()]);
    let v = abi.at("0.2.1".parse().unwrap()).unwrap();
    // Every standard 0.2.1 function is there, and the additions.
    assert!(v.function("proxy_get_log_level").is_some());
    assert!(v.function("proxy_abi_version_0_2_1").is_some());
    let validate = v.function("proxy_validate_configuration").unwrap();
    assert_eq!(lower(validate).to_string(), "(i32, i32) -> i32");
    assert_eq!(&*validate.location.path, "host-extras.abi");
    let build = v.function("proxy_get_host_build").unwrap();
    let sig = lower(build);
    assert_eq!(sig.params[0].name, "return_build_data");
    assert_eq!(sig.params[0].c_type, "const char **");
    // Base items keep pointing at the standard file.
    assert_eq!(
        &*v.function("proxy_log").unwrap().location.path,
        "abi-spec/proxy-wasm.abi"
    );
}

fn errors(text: &str) -> Vec<String> {
    match parse("mine.abi", text) {
        Ok(_) => Vec::new(),
        Err(Diagnostics(list)) => list
            .iter()
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect(),
    }
}

const HEADER: &str = "abi mine {\n    extends proxy_wasm 0.2.1;\n}\n";

#[test]
fn errors_point_into_the_users_file() {
    assert_eq!(
        errors(&format!(
            "{HEADER}section s \"S\" {{\n    hostcall f(x: widget);\n}}\n"
        )),
        [
            "mine.abi:5:19: unknown type `widget`; expected u32, u64, i64, usize, bool, context, bytes, string, map, path, buffer, iovecs, ptr or an enum name"
        ]
    );
    // Redefining a standard function names both places.
    let text = format!("{HEADER}section s \"S\" {{\n    hostcall proxy_log();\n}}\n");
    let err = parse("mine.abi", &text).unwrap_err();
    assert_eq!(
        err.0[0].to_string().lines().next().unwrap(),
        "error: function `proxy_log` is defined twice"
    );
    assert_eq!(err.0[0].location.to_string(), "mine.abi:5:14");
    let (_, first) = *err.0[0].related.clone().unwrap();
    assert_eq!(&*first.path, "abi-spec/proxy-wasm.abi");
    assert_eq!(
        errors(&format!("{HEADER}enum proxy_status_t {{ OK = 0 }}\n")),
        ["mine.abi:4:6: enum `proxy_status_t` is already defined by the base description"]
    );
    assert_eq!(
        errors(&format!("{HEADER}section logging \"L\" {{}}\n")),
        ["mine.abi:4:9: section `logging` is already defined by the base description"]
    );
}

#[test]
fn the_base_must_exist() {
    assert_eq!(
        errors("abi mine {\n    extends envoy 0.2.1;\n}\n"),
        ["mine.abi:2:13: unknown base ABI `envoy`; descriptions can extend `proxy_wasm`"]
    );
    assert_eq!(
        errors("abi mine {\n    extends proxy_wasm 0.3.0;\n}\n"),
        ["mine.abi:2:24: `proxy_wasm` has no version `0.3.0` (it has `0.1.0`, `0.2.0`, `0.2.1`)"]
    );
}
