//! The access rules of the standard description, and of extensions.

use proxy_wasm_abi_spec::ir::{
    AbiVersion, AccessLevel, AccessRule, CallbackRef, Grant, NoteKind, Place, Subject, VariantRef,
};
use proxy_wasm_abi_spec::lower::lower;
use proxy_wasm_abi_spec::{Diagnostics, parse, standard};

fn version(v: &str) -> AbiVersion {
    standard()
        .at(v.parse().expect("a version"))
        .expect("a declared version")
}

/// A grant as the description writes it, e.g.
/// `modify in proxy_on_request_headers, paused proxy_on_request_headers`.
fn line(grant: &Grant) -> String {
    let places: Vec<String> = grant
        .places
        .iter()
        .map(|p| match p {
            Place::In(c) => c.clone(),
            Place::Paused(c) => format!("paused {c}"),
            Place::Before(c) => format!("before {c}"),
        })
        .collect();
    let in_ = match grant.places.first() {
        Some(Place::Before(_)) => "",
        _ => "in ",
    };
    let when = grant
        .when
        .as_ref()
        .map_or_else(String::new, |w| format!(" when {w}"));
    format!("{} {in_}{}{when}", grant.level.keyword(), places.join(", "))
}

/// Every rule of a version as `(subject, grants)`.
fn table(v: &AbiVersion) -> Vec<(String, Vec<String>)> {
    v.access
        .iter()
        .map(|r| (r.subject.to_string(), r.grants.iter().map(line).collect()))
        .collect()
}

fn rule<'a>(v: &'a AbiVersion, subject: &str) -> Option<&'a AccessRule> {
    v.access.iter().find(|r| r.subject.to_string() == subject)
}

fn grant_count(v: &AbiVersion) -> usize {
    v.access.iter().map(|r| r.grants.len()).sum()
}

#[test]
fn rule_and_grant_counts_per_version() {
    let counts: Vec<(usize, usize)> = ["0.1.0", "0.2.0", "0.2.1"]
        .iter()
        .map(|v| {
            let v = version(v);
            (v.access.len(), grant_count(&v))
        })
        .collect();
    assert_eq!(counts, [(17, 23), (19, 25), (19, 25)]);
}

#[test]
fn the_0_2_1_rules_in_full() {
    let s = |x: &str| x.to_string();
    let expected: Vec<(String, Vec<String>)> = vec![
        (
            s("proxy_map_type_t.HTTP_REQUEST_HEADERS"),
            vec![
                s("read in proxy_on_log"),
                s("modify in proxy_on_request_headers, paused proxy_on_request_headers"),
            ],
        ),
        (
            s("proxy_map_type_t.HTTP_REQUEST_TRAILERS"),
            vec![
                s("read in proxy_on_log"),
                s("modify in proxy_on_request_trailers, paused proxy_on_request_trailers"),
                s("add in proxy_on_request_body when end_of_stream"),
            ],
        ),
        (
            s("proxy_map_type_t.HTTP_RESPONSE_HEADERS"),
            vec![
                s("read in proxy_on_log"),
                s("modify in proxy_on_response_headers, paused proxy_on_response_headers"),
            ],
        ),
        (
            s("proxy_map_type_t.HTTP_RESPONSE_TRAILERS"),
            vec![
                s("read in proxy_on_log"),
                s("modify in proxy_on_response_trailers, paused proxy_on_response_trailers"),
                s("add in proxy_on_response_body when end_of_stream"),
            ],
        ),
        (
            s("proxy_map_type_t.GRPC_CALL_INITIAL_METADATA"),
            vec![s("read in proxy_on_grpc_receive_initial_metadata")],
        ),
        (
            s("proxy_map_type_t.GRPC_CALL_TRAILING_METADATA"),
            vec![s("read in proxy_on_grpc_receive_trailing_metadata")],
        ),
        (
            s("proxy_map_type_t.HTTP_CALL_RESPONSE_HEADERS"),
            vec![s("read in proxy_on_http_call_response")],
        ),
        (
            s("proxy_map_type_t.HTTP_CALL_RESPONSE_TRAILERS"),
            vec![s("read in proxy_on_http_call_response")],
        ),
        (
            s("proxy_buffer_type_t.HTTP_REQUEST_BODY"),
            vec![s(
                "modify in proxy_on_request_body, paused proxy_on_request_body",
            )],
        ),
        (
            s("proxy_buffer_type_t.HTTP_RESPONSE_BODY"),
            vec![s(
                "modify in proxy_on_response_body, paused proxy_on_response_body",
            )],
        ),
        (
            s("proxy_buffer_type_t.DOWNSTREAM_DATA"),
            vec![s(
                "modify in proxy_on_downstream_data, paused proxy_on_downstream_data",
            )],
        ),
        (
            s("proxy_buffer_type_t.UPSTREAM_DATA"),
            vec![s(
                "modify in proxy_on_upstream_data, paused proxy_on_upstream_data",
            )],
        ),
        (
            s("proxy_buffer_type_t.HTTP_CALL_RESPONSE_BODY"),
            vec![s("read in proxy_on_http_call_response")],
        ),
        (
            s("proxy_buffer_type_t.GRPC_CALL_MESSAGE"),
            vec![s("read in proxy_on_grpc_receive")],
        ),
        (
            s("proxy_buffer_type_t.VM_CONFIGURATION"),
            vec![s("read in proxy_on_vm_start")],
        ),
        (
            s("proxy_buffer_type_t.PLUGIN_CONFIGURATION"),
            vec![s("read in proxy_on_configure")],
        ),
        (
            s("proxy_buffer_type_t.FOREIGN_FUNCTION_ARGUMENTS"),
            vec![s("read in proxy_on_foreign_function")],
        ),
        (
            s("proxy_get_status"),
            vec![s(
                "call in proxy_on_http_call_response, proxy_on_grpc_close",
            )],
        ),
        (
            s("proxy_send_local_response"),
            vec![s("call before proxy_on_response_headers")],
        ),
    ];
    assert_eq!(table(&version("0.2.1")), expected);
    assert_eq!(table(&version("0.2.0")), expected);
}

#[test]
fn specific_grants() {
    let v = version("0.2.1");
    let trailers = rule(&v, "proxy_map_type_t.HTTP_REQUEST_TRAILERS").expect("a rule");
    let add = &trailers.grants[2];
    assert_eq!(add.level, AccessLevel::Add);
    assert_eq!(add.places, [Place::In("proxy_on_request_body".into())]);
    assert_eq!(add.when.as_deref(), Some("end_of_stream"));
    assert!(!add.meta.docs.is_empty());

    let send = rule(&v, "proxy_send_local_response").expect("a rule");
    assert_eq!(
        send.subject,
        Subject::Function("proxy_send_local_response".into())
    );
    assert_eq!(send.grants[0].level, AccessLevel::Call);
    assert_eq!(
        send.grants[0].places,
        [Place::Before("proxy_on_response_headers".into())]
    );

    let headers = rule(&v, "proxy_map_type_t.HTTP_REQUEST_HEADERS").expect("a rule");
    assert_eq!(
        headers.subject,
        Subject::Variant {
            enum_name: "proxy_map_type_t".into(),
            variant: "HTTP_REQUEST_HEADERS".into(),
        }
    );
    assert_eq!(
        headers.grants[1].places,
        [
            Place::In("proxy_on_request_headers".into()),
            Place::Paused("proxy_on_request_headers".into()),
        ]
    );
    // Locations point at the subject and the level in the description.
    assert_eq!(&*headers.location.path, "abi-spec/proxy-wasm.abi");
    assert!(headers.grants[0].location.line > headers.location.line);
}

#[test]
fn version_0_1_0_has_configuration_by_function_not_by_buffer() {
    let v = version("0.1.0");
    for buffer in [
        "VM_CONFIGURATION",
        "PLUGIN_CONFIGURATION",
        "FOREIGN_FUNCTION_ARGUMENTS",
    ] {
        assert!(rule(&v, &format!("proxy_buffer_type_t.{buffer}")).is_none());
    }
    let configuration = rule(&v, "proxy_get_configuration").expect("a 0.1.0 rule");
    assert_eq!(
        configuration.grants.iter().map(line).collect::<Vec<_>>(),
        ["call in proxy_on_vm_start, proxy_on_configure"]
    );
    assert!(rule(&version("0.2.0"), "proxy_get_configuration").is_none());
    // The other rules are the same as later.
    let later: Vec<_> = table(&version("0.2.0"))
        .into_iter()
        .filter(|(s, _)| !s.contains("CONFIGURATION") && !s.contains("FOREIGN"))
        .collect();
    let earlier: Vec<_> = table(&v)
        .into_iter()
        .filter(|(s, _)| s != "proxy_get_configuration")
        .collect();
    assert_eq!(earlier, later);
}

#[test]
fn forbidden_statuses() {
    let forbidden = |v: &AbiVersion| -> Vec<(String, String)> {
        v.functions
            .iter()
            .filter_map(|f| Some((f.name.clone(), f.forbidden.as_ref()?.name().to_string())))
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect()
    };
    let later = pairs(&[
        ("proxy_set_buffer_bytes", "NOT_FOUND"),
        ("proxy_get_buffer_bytes", "NOT_FOUND"),
        ("proxy_get_buffer_status", "NOT_FOUND"),
        ("proxy_get_header_map_size", "BAD_ARGUMENT"),
        ("proxy_get_header_map_pairs", "BAD_ARGUMENT"),
        ("proxy_set_header_map_pairs", "BAD_ARGUMENT"),
        ("proxy_get_header_map_value", "BAD_ARGUMENT"),
        ("proxy_add_header_map_value", "BAD_ARGUMENT"),
        ("proxy_replace_header_map_value", "BAD_ARGUMENT"),
        ("proxy_remove_header_map_value", "BAD_ARGUMENT"),
        ("proxy_get_status", "NOT_FOUND"),
        ("proxy_send_local_response", "BAD_ARGUMENT"),
    ]);
    assert_eq!(forbidden(&version("0.2.1")), later);
    assert_eq!(forbidden(&version("0.2.0")), later);
    let mut earlier = pairs(&[("proxy_get_configuration", "NOT_FOUND")]);
    earlier.extend(later);
    assert_eq!(forbidden(&version("0.1.0")), earlier);
}

#[test]
fn access_levels_of_map_and_buffer_functions() {
    let v = version("0.2.1");
    let levels: Vec<(String, String, AccessLevel)> = v
        .functions
        .iter()
        .flat_map(|f| {
            f.params
                .iter()
                .filter_map(|p| Some((f.name.clone(), p.name.clone(), p.access?)))
        })
        .collect();
    let expected = [
        ("proxy_set_buffer_bytes", "buffer_id", AccessLevel::Modify),
        ("proxy_get_buffer_bytes", "buffer_id", AccessLevel::Read),
        ("proxy_get_buffer_status", "buffer_id", AccessLevel::Read),
        ("proxy_get_header_map_size", "map_id", AccessLevel::Read),
        ("proxy_get_header_map_pairs", "map_id", AccessLevel::Read),
        ("proxy_set_header_map_pairs", "map_id", AccessLevel::Modify),
        ("proxy_get_header_map_value", "map_id", AccessLevel::Read),
        ("proxy_add_header_map_value", "map_id", AccessLevel::Add),
        (
            "proxy_replace_header_map_value",
            "map_id",
            AccessLevel::Modify,
        ),
        (
            "proxy_remove_header_map_value",
            "map_id",
            AccessLevel::Modify,
        ),
    ]
    .map(|(f, p, l)| (f.to_string(), p.to_string(), l));
    assert_eq!(levels, expected);
}

/// The names of `refs`, in order.
fn callback_names(refs: &[CallbackRef]) -> Vec<&str> {
    refs.iter().map(CallbackRef::name).collect()
}

#[test]
fn streams_resume_the_callbacks_they_list() {
    let v = version("0.2.1");
    let stream = v.enum_named("proxy_stream_type_t").expect("defined");
    let resumes: Vec<(&str, Vec<&str>)> = stream
        .variants
        .iter()
        .map(|x| {
            (
                x.name.as_str(),
                x.resumes.iter().map(CallbackRef::name).collect(),
            )
        })
        .collect();
    assert_eq!(
        resumes,
        [
            (
                "HTTP_REQUEST",
                vec![
                    "proxy_on_request_headers",
                    "proxy_on_request_body",
                    "proxy_on_request_trailers"
                ]
            ),
            (
                "HTTP_RESPONSE",
                vec![
                    "proxy_on_response_headers",
                    "proxy_on_response_body",
                    "proxy_on_response_trailers"
                ]
            ),
            (
                "DOWNSTREAM",
                vec!["proxy_on_new_connection", "proxy_on_downstream_data"]
            ),
            ("UPSTREAM", vec!["proxy_on_upstream_data"]),
        ]
    );
    for name in ["proxy_continue_stream", "proxy_close_stream"] {
        let f = v.function(name).expect("defined");
        assert!(f.params[0].resumes, "{name}");
        assert!(f.resumes.is_empty(), "{name}");
        assert_eq!(f.forbidden, None, "{name}");
    }

    let v = version("0.1.0");
    assert!(v.enum_named("proxy_stream_type_t").is_none());
    assert_eq!(
        callback_names(
            &v.function("proxy_continue_request")
                .expect("defined")
                .resumes
        ),
        [
            "proxy_on_request_headers",
            "proxy_on_request_body",
            "proxy_on_request_trailers"
        ]
    );
    assert_eq!(
        callback_names(
            &v.function("proxy_continue_response")
                .expect("defined")
                .resumes
        ),
        [
            "proxy_on_response_headers",
            "proxy_on_response_body",
            "proxy_on_response_trailers"
        ]
    );
    assert!(
        v.function("proxy_clear_route_cache")
            .expect("defined")
            .resumes
            .is_empty()
    );
}

#[test]
fn the_access_block_explains_the_model() {
    let v = version("0.2.1");
    assert!(v.access_meta.docs.contains("@forbidden"));
    assert!(!v.access_meta.notes.is_empty());
    assert!(
        v.access_meta
            .notes
            .iter()
            .all(|n| n.kind == NoteKind::Clarification)
    );
    let upstream = rule(&v, "proxy_buffer_type_t.UPSTREAM_DATA").expect("a rule");
    assert!(
        upstream
            .meta
            .notes
            .iter()
            .any(|n| n.kind == NoteKind::Erratum)
    );
}

#[test]
fn the_new_attributes_leave_lowered_signatures_alone() {
    let v = version("0.2.1");
    let signatures: Vec<String> = [
        "proxy_get_header_map_value",
        "proxy_add_header_map_value",
        "proxy_get_buffer_status",
        "proxy_continue_stream",
        "proxy_get_status",
        "proxy_send_local_response",
    ]
    .iter()
    .map(|name| lower(v.function(name).expect("defined")).to_string())
    .collect();
    assert_eq!(
        signatures,
        [
            "(i32, i32, i32, i32, i32) -> i32",
            "(i32, i32, i32, i32, i32) -> i32",
            "(i32, i32, i32) -> i32",
            "(i32) -> i32",
            "(i32, i32, i32) -> i32",
            "(i32, i32, i32, i32, i32, i32, i32, i32) -> i32",
        ]
    );
    let get = lower(v.function("proxy_get_header_map_value").expect("defined"));
    assert_eq!(get.params[0].name, "map_id");
    assert_eq!(get.params[0].c_type, "proxy_map_type_t");
}

// ---------------------------------------------------------------------------
// Extensions
// ---------------------------------------------------------------------------

const EXAMPLE: &str = include_str!("../examples/host-extras.abi");
const HEADER: &str = "abi mine {\n    extends proxy_wasm 0.2.1;\n}\n";

fn extension_errors(body: &str) -> Vec<String> {
    match parse("mine.abi", &format!("{HEADER}{body}")) {
        Ok(_) => Vec::new(),
        Err(Diagnostics(list)) => list
            .iter()
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect(),
    }
}

#[test]
fn an_extension_keeps_the_base_rules() {
    let abi = parse("host-extras.abi", EXAMPLE).expect("valid");
    let v = abi
        .at("0.2.1".parse().expect("a version"))
        .expect("declared");
    let base = version("0.2.1");
    assert_eq!(v.access, base.access);
    assert_eq!(v.access_meta, base.access_meta);
    assert_eq!(
        v.function("proxy_get_status")
            .expect("defined")
            .forbidden
            .as_ref()
            .map(VariantRef::name),
        Some("NOT_FOUND")
    );
}

#[test]
fn an_extension_adds_rules_for_its_own_maps() {
    let body = "enum my_map_t { EXTRA = 0 }
section extras \"Extras\" {
    @forbidden(NOT_FOUND)
    hostcall my_get_map(@access(read) map_id: my_map_t, value: out bytes) -> status: proxy_status_t;
}
/// Where the extra map is readable.
access {
    for my_map_t.EXTRA { read in proxy_on_log, proxy_on_request_headers; }
}
";
    let abi = parse("mine.abi", &format!("{HEADER}{body}")).expect("valid");
    let v = abi
        .at("0.2.1".parse().expect("a version"))
        .expect("declared");
    assert_eq!(v.access.len(), version("0.2.1").access.len() + 1);
    let extra = rule(&v, "my_map_t.EXTRA").expect("the extension's rule");
    assert_eq!(&*extra.location.path, "mine.abi");
    assert_eq!(
        extra.grants.iter().map(line).collect::<Vec<_>>(),
        ["read in proxy_on_log, proxy_on_request_headers"]
    );
    // Its own block docs replace the base's.
    assert_eq!(v.access_meta.docs, "Where the extra map is readable.");
    // A new selector of a base map needs no new rules.
    let body = "section extras \"Extras\" {
    @forbidden(BAD_ARGUMENT)
    hostcall my_has_header(@access(read) map_id: proxy_map_type_t, key: string) -> status: proxy_status_t;
}
";
    assert_eq!(extension_errors(body), Vec::<String>::new());
}

#[test]
fn extension_access_errors_point_into_the_users_file() {
    assert_eq!(
        extension_errors("access {\n    for proxy_get_status { call in proxy_on_log; }\n}\n"),
        [
            "mine.abi:5:9: access rule for `proxy_get_status` is already defined by the base description"
        ]
    );
    assert_eq!(
        extension_errors("access {\n    for proxy_log { call in proxy_on_log; }\n}\n"),
        [
            "mine.abi:5:9: `proxy_log` has no `@forbidden` status in the base description, so no rule can restrict it"
        ]
    );
    // A base enum the base never selected with: the new selector is the
    // place to report its missing rules.
    assert_eq!(
        extension_errors(
            "section extras \"Extras\" {
    @forbidden(NOT_FOUND)
    hostcall my_peer(@access(read) peer: proxy_peer_type_t) -> status: proxy_status_t;
}
access {
    for proxy_peer_type_t.LOCAL { read in proxy_on_log; }
}
"
        ),
        [
            "mine.abi:6:22: no access rule for `proxy_peer_type_t.UNKNOWN` in `0.2.1`",
            "mine.abi:6:22: no access rule for `proxy_peer_type_t.REMOTE` in `0.2.1`",
        ]
    );
    // Callbacks the extension adds can be places.
    assert_eq!(
        extension_errors(
            "enum my_map_t { EXTRA = 0 }
section extras \"Extras\" {
    @forbidden(NOT_FOUND)
    hostcall my_get_map(@access(read) map_id: my_map_t) -> status: proxy_status_t;
    callback proxy_on_extra(context_id: context);
}
access {
    for my_map_t.EXTRA { read in proxy_on_extra, proxy_on_extr; }
}
"
        ),
        ["mine.abi:11:50: unknown callback `proxy_on_extr`; did you mean `proxy_on_extra`?"]
    );
}
