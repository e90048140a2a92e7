//! The header guard on the test host: built for wasm32-wasip1 by the test
//! itself, then driven with requests, as a plugin author tests a plugin.

use std::path::Path;
use std::sync::OnceLock;

use proxy_wasm_abi_tools::runner::expect::{Expectations, Expected};
use proxy_wasm_abi_tools::runner::reference::Pairs;
use proxy_wasm_abi_tools::runner::{self, Input, build};

/// The plugin, built once per test run.
fn plugin() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        // Not `target/` itself: `cargo test` holds it locked while tests run.
        let target_dir = dir.join("../../target/plugins");
        let wasm = build::plugin(&dir.join("Cargo.toml"), &target_dir, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::read(wasm).expect("the plugin was built")
    })
}

fn pairs(list: &[(&str, &str)]) -> Pairs {
    runner::scenario::owned(list)
}

fn header<'a>(list: &'a Pairs, name: &str) -> Option<&'a [u8]> {
    list.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
}

/// Guarding `x-tenant` and `authorization`.
fn guarded(request: &[(&str, &str)]) -> Input {
    Input {
        plugin_configuration: b"x-tenant\nAuthorization\n".to_vec(),
        request_headers: pairs(request),
        response_headers: pairs(&[(":status", "200")]),
        ..Input::default()
    }
}

#[test]
fn a_complete_request_passes_and_is_marked() {
    let input = guarded(&[(":path", "/"), ("x-tenant", "a"), ("authorization", "t")]);
    let report = runner::run(plugin(), &input).unwrap_or_else(|e| panic!("{e}"));
    let host = &report.host;
    assert_eq!(
        header(&host.request_headers, "x-guard"),
        Some(&b"passed"[..])
    );
    assert_eq!(
        header(&host.response_headers, "x-guard-checked"),
        Some(&b"2"[..])
    );
    assert!(host.local_response.is_none());
    assert_eq!(host.logs.len(), 1, "{:?}", host.logs);
}

#[test]
fn a_request_missing_headers_gets_a_400_naming_them() {
    let report = runner::run(plugin(), &guarded(&[(":path", "/"), ("x-tenant", "a")]))
        .unwrap_or_else(|e| panic!("{e}"));
    let host = &report.host;
    let local = host.local_response.as_ref().expect("rejected");
    assert_eq!(local.status_code, 400);
    assert_eq!(local.body, b"missing header(s): authorization\n");
    // The 400 goes back through the plugin's response callback too.
    assert_eq!(
        header(&host.response_headers, "x-guard-checked"),
        Some(&b"2"[..])
    );
    assert_eq!(host.metrics[0].name, "guard_rejected");
    assert_eq!(host.metrics[0].value, 1);
    let expected = Expectations {
        calls: vec![
            Expected {
                function: "proxy_define_metric".into(),
                status: Some("OK".into()),
            },
            Expected {
                function: "proxy_send_local_response".into(),
                status: Some("OK".into()),
            },
        ],
        in_order: true,
        strict: false,
    };
    assert_eq!(
        expected.check(std::slice::from_ref(&report)),
        Vec::<String>::new()
    );
}

#[test]
fn each_request_is_judged_on_its_own() {
    let inputs = [
        guarded(&[(":path", "/1")]),
        guarded(&[(":path", "/2"), ("x-tenant", "a"), ("authorization", "t")]),
        guarded(&[(":path", "/3"), ("authorization", "t")]),
    ];
    let reports = runner::run_all(plugin(), &inputs).unwrap_or_else(|e| panic!("{e}"));
    let statuses: Vec<Option<u32>> = reports
        .iter()
        .map(|r| r.host.local_response.as_ref().map(|l| l.status_code))
        .collect();
    assert_eq!(statuses, [Some(400), None, Some(400)]);
    assert_eq!(reports[2].host.metrics[0].value, 2);
    let last = reports[2].host.local_response.as_ref().unwrap();
    assert_eq!(last.body, b"missing header(s): x-tenant\n");
}
