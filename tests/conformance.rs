//! The conformance kit (`proxy_wasm_abi_tools::conformance`): every case
//! passes on the reference host for every described version; a host
//! broken on purpose is caught, naming the case; and a wasmtime host this
//! project did not generate runs the kit through the adapter.

use proxy_wasm_abi_tools::conformance::score::{Outcome, Score};
use proxy_wasm_abi_tools::conformance::{
    self, ConformanceHost as _, Kit, Lifecycle, Reference,
    cases::{Kind, Provenance, ShutdownState, Stage},
};
use proxy_wasm_abi_tools::runner::ReferenceHost;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use wasmtime::{Caller, Engine, Extern, Linker, Module, Store, Val, ValType};

/// The kit of `version`, built once for all the tests (building one takes
/// a good part of a second in a debug build).
fn kit(version: &str) -> Kit {
    static KITS: OnceLock<Mutex<HashMap<String, Kit>>> = OnceLock::new();
    let mut kits = KITS
        .get_or_init(Default::default)
        .lock()
        .expect("no test panicked here");
    let kit = kits.entry(version.to_string()).or_insert_with(|| {
        conformance::kit(&version.parse().expect("a version")).expect("the kit builds")
    });
    kit.clone()
}

#[test]
fn every_case_passes_on_the_reference_host() {
    for version in ["0.1.0", "0.2.0", "0.2.1"] {
        let kit = kit(version);
        let counts: Vec<String> = kit
            .counts()
            .iter()
            .map(|(k, n)| format!("{} {n}", k.keyword()))
            .collect();
        println!(
            "{version}: {} cases ({})",
            kit.manifest.cases.len(),
            counts.join(", ")
        );
        let score = conformance::run_on(&kit, &mut Reference::default()).expect("the probes run");
        let c = score.counts();
        assert_eq!(c.pass, c.cases, "{version}:\n{}", score.text());
        assert!(!score.fails(true));
        assert!(c.cases > 900, "{version}: only {} cases", c.cases);
        use conformance::cases::Kind;
        for kind in [
            Kind::MissingKey,
            Kind::UnknownId,
            Kind::EmptyQueue,
            Kind::CasMismatch,
            Kind::AllocatorFailure,
            Kind::CallbackResult,
            Kind::Granted,
            Kind::Integration,
        ] {
            assert!(kit.counts().contains_key(&kind), "{version}: no {kind:?}");
        }
    }
}

/// The score of `kit` on the reference host answering every call of
/// `function` with `status` instead of running it.
fn answered(kit: &Kit, function: &'static str, status: u32) -> Score {
    let mut host = Reference {
        adjust: move |h: &mut ReferenceHost| h.plugin.answer_instead(function, Some(status)),
    };
    conformance::run_on(kit, &mut host).expect("the probes run")
}

/// The ids of the cases `score` finds deviating, in the manifest's order.
fn deviating_ids(score: &Score) -> Vec<&str> {
    score
        .deviations()
        .iter()
        .map(|c| c.case.case.id.as_str())
        .collect()
}

/// The reference host's lines, with `edit` applied to each.
fn reference_log(kit: &Kit, edit: impl Fn(String) -> String) -> Score {
    let mut host = |wasm: &[u8], lifecycle: &Lifecycle| {
        let lines = Reference::default().run_probe(wasm, lifecycle)?;
        Ok::<_, String>(lines.into_iter().map(&edit).collect())
    };
    conformance::run_on(kit, &mut host).expect("the probes run")
}

#[test]
fn a_wrong_status_for_a_bad_pointer_is_caught() {
    let kit = kit("0.2.1");
    let id = "proxy_get_header_map_value/key_data/out_of_bounds";
    let case = kit
        .manifest
        .cases
        .iter()
        .find(|c| c.case.id == id)
        .expect("the case exists");
    assert_eq!(case.case.expected.name, "INVALID_MEMORY_ACCESS");
    assert_eq!(case.case.provenance, Provenance::Spec);
    // A host answering BAD_ARGUMENT for that pointer.
    let line = format!("conformance case={id} status=6");
    let score = reference_log(&kit, |l| {
        if l == line {
            format!("conformance case={id} status=2")
        } else {
            l
        }
    });
    let deviations = deviating_ids(&score);
    assert_eq!(deviations, [id]);
    assert!(score.fails(false));
    let text = score.text();
    assert!(
        text.contains(&format!(
            "{id}: expected INVALID_MEMORY_ACCESS (6), got BAD_ARGUMENT (2)"
        )),
        "{text}"
    );
    assert!(score.markdown().contains(id));
    assert!(score.json().to_string().contains("\"deviates\""));
}

#[test]
fn a_dropped_access_rule_is_caught() {
    let kit = kit("0.2.1");
    let mut host = Reference {
        adjust: |h: &mut ReferenceHost| h.plugin.enforce_access_rules(false),
    };
    let score = conformance::run_on(&kit, &mut host).expect("the probes run");
    let deviations = score.deviations();
    assert!(!deviations.is_empty(), "{}", score.text());
    assert!(
        deviations
            .iter()
            .all(|c| c.case.case.kind == conformance::cases::Kind::Forbidden),
        "{}",
        score.text()
    );
    // Also in the tick, the queue delivery, the TCP connection and the
    // trailers callbacks of the second HTTP stream.
    for callback in [
        "proxy_on_tick",
        "proxy_on_queue_ready",
        "proxy_on_new_connection",
        "proxy_on_downstream_data",
        "proxy_on_upstream_data",
        "proxy_on_downstream_connection_close",
        "proxy_on_request_trailers",
        "proxy_on_response_trailers",
    ] {
        assert!(
            deviations.iter().any(|c| c.case.case.callback == callback),
            "{callback}: {}",
            score.text()
        );
    }
    // proxy_get_status outside a call's response: a clarification.
    let status = "proxy_get_status/in_proxy_on_request_headers";
    assert!(
        deviations.iter().any(|c| c.case.case.id == status),
        "{}",
        score.text()
    );
    assert!(score.fails(true));
    // A buffer outside its grants answers NOT_FOUND in the spec's text.
    assert!(score.counts().deviates_spec > 0, "{}", score.text());
    assert!(score.fails(false));
}

/// A host written by hand on wasmtime: `proxy_log` collects messages,
/// every other import answers 0 (`OK`). Its lifecycle calls the probe's
/// callbacks in the standard order with zero arguments but the context ids.
fn sloppy_host(wasm: &[u8], lifecycle: &Lifecycle) -> Result<Vec<String>, wasmtime::Error> {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm)?;
    let mut store = Store::new(&engine, Vec::<String>::new());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut caller: Caller<'_, Vec<String>>, _level: i32, ptr: i32, len: i32| -> i32 {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return 6;
            };
            let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
            let text = memory
                .data(&caller)
                .get(ptr..ptr + len)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            match text {
                Some(text) => {
                    caller.data_mut().push(text);
                    0
                }
                None => 6,
            }
        },
    )?;
    linker.define_unknown_imports_as_default_values(&mut store, &module)?;
    let instance = linker.instantiate(&mut store, &module)?;
    // Context ids after `@` (root 1, stream 2, connection 3, the stream
    // with trailers 4).
    let order = [
        "proxy_on_context_create@1,0",
        "proxy_on_vm_start@1",
        "proxy_on_configure@1",
        "proxy_on_tick@1",
        "proxy_on_http_call_response@1",
        "proxy_on_queue_ready@1",
        "proxy_on_context_create@2,1",
        "proxy_on_request_headers@2",
        // Its timer fires while the results probe's request waits (and
        // after each last chunk, where it waits again).
        "proxy_on_tick@1",
        "proxy_on_request_body@2",
        "proxy_on_request_body@2 end",
        "proxy_on_tick@1",
        "proxy_on_response_headers@2",
        "proxy_on_tick@1",
        "proxy_on_response_body@2",
        "proxy_on_response_body@2 end",
        "proxy_on_tick@1",
        "proxy_on_done@2",
        "proxy_on_log@2",
        "proxy_on_delete@2",
        "proxy_on_context_create@3,1",
        "proxy_on_new_connection@3",
        "proxy_on_downstream_data@3",
        "proxy_on_downstream_data@3 end",
        "proxy_on_tick@1",
        "proxy_on_upstream_data@3",
        "proxy_on_upstream_data@3 end",
        "proxy_on_tick@1",
        "proxy_on_downstream_connection_close@3",
        "proxy_on_upstream_connection_close@3",
        "proxy_on_done@3",
        "proxy_on_log@3",
        "proxy_on_delete@3",
        // The stream with trailers: no chunk ends it; the results probe
        // waits in each trailers callback.
        "proxy_on_context_create@4,1",
        "proxy_on_request_headers@4",
        "proxy_on_request_body@4",
        "proxy_on_request_body@4",
        "proxy_on_request_trailers@4",
        "proxy_on_tick@1",
        "proxy_on_response_headers@4",
        "proxy_on_response_body@4",
        "proxy_on_response_body@4",
        "proxy_on_response_trailers@4",
        "proxy_on_tick@1",
        "proxy_on_done@4",
        "proxy_on_log@4",
        "proxy_on_delete@4",
        // The plugin's shutdown: the timer fires while the root waits.
        "proxy_on_done@1",
        "proxy_on_tick@1",
        "proxy_on_log@1",
        "proxy_on_delete@1",
    ];
    assert!(!lifecycle.steps.is_empty());
    call_with_zeros(&mut store, &instance, &order)?;
    Ok(std::mem::take(store.data_mut()))
}

/// Calls each of `names` the instance exports, with every argument 0, as a
/// host that knows nothing of the callbacks' meaning would, but for the
/// first ones given after `@` (`"proxy_on_context_create@2,1"`: the
/// context ids); `"<name> end"` calls it with its last argument
/// (`end_of_stream`) 1.
fn call_with_zeros<T>(
    store: &mut Store<T>,
    instance: &wasmtime::Instance,
    names: &[&str],
) -> wasmtime::Result<()> {
    let zero = |t: ValType| match t {
        ValType::I64 => Val::I64(0),
        _ => Val::I32(0),
    };
    for name in names {
        let (name, end) = match name.strip_suffix(" end") {
            Some(name) => (name, true),
            None => (*name, false),
        };
        let (name, first) = name.split_once('@').unwrap_or((name, ""));
        let first: Vec<i32> = first.split(',').filter_map(|n| n.parse().ok()).collect();
        let Some(func) = instance.get_func(&mut *store, name) else {
            continue;
        };
        let ty = func.ty(&*store);
        let mut params: Vec<Val> = ty.params().map(zero).collect();
        if let (true, Some(last)) = (end, params.last_mut()) {
            *last = Val::I32(1);
        }
        for (param, id) in params.iter_mut().zip(first) {
            *param = Val::I32(id);
        }
        let mut results: Vec<Val> = ty.results().map(zero).collect();
        func.call(&mut *store, &params, &mut results)?;
    }
    Ok(())
}

#[test]
fn a_hand_written_wasmtime_host_runs_the_kit_through_the_adapter() {
    let kit = kit("0.2.1");
    let score = conformance::run_on(&kit, &mut sloppy_host).expect("the probes run");
    let c = score.counts();
    // Every case ran, and each answered OK where the description expects
    // an error: all deviate (but those expecting OK), and the spec's ones
    // fail the kit.
    assert_eq!(c.not_reached, 0, "{}", score.text());
    // (Its own `proxy_log` checks the message's bounds, as it should.)
    let log = "proxy_log";
    for c in &score.cases {
        let (outcome, function) = (c.outcome, c.case.case.function.as_str());
        assert!(
            outcome == Outcome::Deviates(0)
                || function == log
                || c.case.case.expected.value == 0
                // It places no data: the returned pointer is in neither region.
                || (c.case.case.kind == Kind::AllocatorChoice && outcome == Outcome::Deviates(2))
                // It shuts the plugin down in order: the root's log and
                // delete come after the tick that called `proxy_done`.
                || (c.case.case.stage == Stage::RootFinal && outcome == Outcome::Pass),
            "{}: {outcome:?}",
            c.case.case.id
        );
    }
    let spec = kit
        .manifest
        .cases
        .iter()
        .filter(|c| c.case.provenance == Provenance::Spec)
        .count();
    let logged = score
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Pass)
        .count();
    assert!(c.deviates_spec + logged >= spec);
    assert!(score.fails(false));
}

#[test]
fn the_score_reads_a_log_file_with_prefixes_and_noise() {
    let kit = kit("0.1.0");
    let first = &kit.manifest.cases[0].case;
    let log = format!(
        "[info] wasm: conformance setup=proxy_http_call status=0\nnoise\n[info] wasm: conformance case={} status={}\n",
        first.id, first.expected.value
    );
    let lines: Vec<&str> = log.lines().collect();
    let score = conformance::score::score(&kit.manifest, &lines);
    assert_eq!(score.cases[0].outcome, Outcome::Pass);
    assert_eq!(score.counts().pass, 1);
    // The cases after it in the same callback of the same probe: the
    // probe stopped there.
    let next = score.cases[1..]
        .iter()
        .position(|c| {
            c.case.probe == score.cases[0].case.probe && c.case.case.callback == first.callback
        })
        .expect("a second case in that callback")
        + 1;
    assert_eq!(
        score.cases[next].outcome,
        Outcome::Trapped,
        "{}",
        score.text()
    );
    assert!(
        score.cases[next + 1..]
            .iter()
            .all(|c| c.outcome == Outcome::NotReached)
    );
    // The manifest round-trips through JSON.
    let json = serde_json::to_string(&kit.manifest).expect("serializes");
    let back: conformance::score::Manifest = serde_json::from_str(&json).expect("parses");
    assert_eq!(back.cases.len(), kit.manifest.cases.len());
}

/// A length case must leave the memory fault as the only right answer: a
/// valid address, and a length that ends just past the memory, far below
/// any host's "larger than the host allows" limit (`fd_write`'s `INVAL`,
/// `random_get`'s).
#[test]
fn length_cases_reach_just_past_the_end() {
    use conformance::cases::{self, Kind};
    let abi = proxy_wasm_abi_spec::standard();
    for version in ["0.1.0", "0.2.0", "0.2.1"] {
        let v = abi
            .at(version.parse().expect("a version"))
            .expect("described");
        let all = cases::cases(&v);
        let (layout, _) = conformance::probe::sources(&v, &all);
        let lengths: Vec<_> = all
            .iter()
            .filter(|c| c.kind == Kind::LengthOutOfBounds)
            .collect();
        assert!(lengths.len() > 30, "{version}");
        for c in &lengths {
            let fault = if c.expected.r#enum.starts_with("wasi") {
                "FAULT"
            } else {
                "INVALID_MEMORY_ACCESS"
            };
            assert_eq!(c.expected.name, fault, "{}", c.id);
            let at = c
                .args
                .iter()
                .position(|a| *a == cases::Arg::DataAt(cases::Data::Tail));
            let at = at.unwrap_or_else(|| panic!("{}: not from the tail", c.id));
            let (address, len) = (layout.resolve(c.args[at]), layout.resolve(c.args[at + 1]));
            let bytes = if c.id.starts_with("fd_write/") {
                8 * len
            } else {
                len
            };
            let end = u64::from(layout.memory_size);
            assert!(
                address < end && address + bytes > end && address + bytes <= end + 8,
                "{}",
                c.id
            );
        }
        for id in ["fd_write/iovec_size", "random_get/buffer_size"] {
            assert!(
                lengths
                    .iter()
                    .any(|c| c.id == format!("{id}/length_out_of_bounds")),
                "{version}: {id}"
            );
        }
    }
}

/// The kit with only the probe `file` and its cases.
fn only(kit: &Kit, file: &str) -> Kit {
    let mut kit = kit.clone();
    kit.probes.retain(|(f, _)| f == file);
    kit.manifest.cases.retain(|c| c.probe == file);
    kit.manifest.probes.retain(|p| p.file == file);
    kit
}

#[test]
fn state_allocator_and_result_cases_catch_a_wrong_answer() {
    use conformance::cases::Kind;
    let full = kit("0.2.1");
    let mut kit = only(&full, "state.wasm");
    let allocator = only(&full, "allocator.wasm");
    for more in [&allocator, &only(&full, "results.wasm")] {
        kit.probes.extend(more.probes.iter().cloned());
        kit.manifest
            .cases
            .extend(more.manifest.cases.iter().cloned());
        kit.manifest
            .probes
            .extend(more.manifest.probes.iter().cloned());
    }
    for c in &allocator.manifest.cases {
        // The allocator's failure: a clarification, the memory fault.
        assert_eq!(c.case.kind, Kind::AllocatorFailure);
        assert_eq!(c.case.provenance, Provenance::Clarification);
        assert_eq!(c.case.expected.name, "INVALID_MEMORY_ACCESS");
    }
    assert!(allocator.manifest.cases.len() >= 4);
    for c in kit
        .manifest
        .cases
        .iter()
        .filter(|c| c.probe == "state.wasm")
    {
        // Every expectation is a status the description lists for the
        // function, with its condition as the basis.
        assert_eq!(c.case.provenance, Provenance::Spec, "{}", c.case.id);
        assert!(!c.case.basis.is_empty(), "{}", c.case.id);
    }
    let mutations: [(Kind, &'static str, u32, &str); 7] = [
        // A host that cannot resume the request the plugin paused.
        (
            Kind::CallbackResult,
            "proxy_continue_stream",
            12,
            "proxy_continue_stream/after_pause/callback_result",
        ),
        // A host that did not take `false` from proxy_on_done as "wait".
        (
            Kind::CallbackResult,
            "proxy_done",
            1,
            "proxy_done/after_done_false/callback_result",
        ),
        // A host that answers OK (and no data) when the allocator fails.
        (
            Kind::AllocatorFailure,
            "proxy_get_header_map_pairs",
            0,
            "proxy_get_header_map_pairs/pairs/allocator_failure",
        ),
        (
            Kind::MissingKey,
            "proxy_get_shared_data",
            0,
            "proxy_get_shared_data/key/missing_key",
        ),
        (
            Kind::UnknownId,
            "proxy_get_metric",
            0,
            "proxy_get_metric/metric_id/unknown_id",
        ),
        (
            Kind::EmptyQueue,
            "proxy_dequeue_shared_queue",
            0,
            "proxy_dequeue_shared_queue/queue_id/empty_queue",
        ),
        (
            Kind::CasMismatch,
            "proxy_set_shared_data",
            0,
            "proxy_set_shared_data/cas/cas_mismatch",
        ),
    ];
    for (kind, function, answer, id) in mutations {
        let case = kit.manifest.cases.iter().find(|c| c.case.id == id);
        assert_eq!(case.map(|c| c.case.kind), Some(kind), "{id}");
        // A host that answers `answer` (OK where the state says
        // otherwise; NOT_FOUND where it should be waiting).
        let score = answered(&kit, function, answer);
        let deviations = deviating_ids(&score);
        assert!(deviations.contains(&id), "{function}: {deviations:?}");
        // A clarification's deviation fails only a strict score.
        assert!(score.fails(true), "{function}");
        assert_eq!(score.fails(false), kind != Kind::AllocatorFailure);
        assert!(
            score.text().contains(&format!("{id}: expected ")),
            "{}",
            score.text()
        );
    }
}

#[test]
fn the_kit_readme_names_every_kind_probe_and_lifecycle_step() {
    let kit = kit("0.2.1");
    let readme = kit.readme();
    for (kind, _) in kit.counts() {
        assert!(
            readme.contains(&format!("`{}`", kind.keyword())),
            "{kind:?}"
        );
    }
    for p in &kit.manifest.probes {
        assert!(readme.contains(&format!("`{}`", p.file)), "{}", p.file);
    }
    for text in [
        "proxy_on_tick",
        "proxy_on_queue_ready",
        "proxy_on_new_connection",
        "proxy_on_downstream_data",
        "conformance-ready",
        "conformance setup=<function>",
    ] {
        assert!(readme.contains(text), "{text}");
    }
}

/// The length cases stay within every limit, so a host answering the
/// "larger than the host allows" status for them deviates, by name.
#[test]
fn a_too_large_answer_to_a_length_just_past_the_end_is_caught() {
    let kit = only(&kit("0.2.1"), "memory.wasm");
    let inval = kit.manifest.statuses["wasi_errno_t"]
        .iter()
        .find(|(_, name)| *name == "INVAL")
        .map(|(value, _)| *value)
        .expect("INVAL is described");
    for (function, id) in [
        ("random_get", "random_get/buffer_size/length_out_of_bounds"),
        ("fd_write", "fd_write/iovec_size/length_out_of_bounds"),
    ] {
        let score = answered(&kit, function, inval);
        assert!(
            score
                .text()
                .contains(&format!("{id}: expected FAULT (21), got INVAL ({inval})")),
            "{}",
            score.text()
        );
        assert!(score.fails(false));
    }
}

/// A host stricter than the access rules: it refuses a buffer's status
/// where the rules grant reading it (the TCP connection's data in
/// `proxy_on_downstream_data`, among others).
#[test]
fn a_granted_read_refused_is_caught() {
    use conformance::cases::Kind;
    let kit = only(&kit("0.2.1"), "access.wasm");
    let score = answered(&kit, "proxy_get_buffer_status", 1);
    let id =
        "proxy_get_buffer_status/buffer_id=DOWNSTREAM_DATA/in_proxy_on_downstream_data/granted";
    let case = score
        .cases
        .iter()
        .find(|c| c.case.case.id == id)
        .expect("the case");
    assert_eq!(case.case.case.kind, Kind::Granted);
    assert!(
        score
            .text()
            .contains(&format!("{id}: expected OK (0), got NOT_FOUND (1)")),
        "{}",
        score.text()
    );
    assert!(score.fails(false));
}

/// A host that runs `_start` where `_initialize` and `main` are exported
/// (or runs all three) is caught, naming the case.
#[test]
fn a_wrong_load_order_is_caught() {
    let kit = kit("0.2.1");
    let id = "_initialize/initialize_then_main/integration";
    let case = kit.manifest.cases.iter().find(|c| c.case.id == id);
    let case = case.expect("the case");
    assert_eq!(case.case.expected.value, 12);
    assert_eq!(case.probe, "integration.wasm");
    assert!(
        kit.manifest
            .cases
            .iter()
            .any(|c| c.probe == "integration_start.wasm" && c.case.expected.value == 3)
    );
    let line = format!("conformance case={id} status=12");
    let score = reference_log(&kit, |l| {
        if l == line {
            format!("conformance case={id} status=123")
        } else {
            l
        }
    });
    let deviations = deviating_ids(&score);
    assert_eq!(deviations, [id]);
    assert!(score.text().contains(id), "{}", score.text());
}

/// A wasmtime host that returns a header value through the allocator it
/// picks: `proxy_on_memory_allocate` first, as the description says, or,
/// with `prefer_legacy`, `malloc` first (the fallback reversed).
fn allocating_host(
    prefer_legacy: bool,
) -> impl FnMut(&[u8], &Lifecycle) -> Result<Vec<String>, wasmtime::Error> {
    move |wasm: &[u8], _lifecycle: &Lifecycle| {
        let engine = Engine::default();
        let module = Module::new(&engine, wasm)?;
        let mut store = Store::new(&engine, Vec::<String>::new());
        let mut linker = Linker::new(&engine);
        let memory = |caller: &mut Caller<'_, Vec<String>>| match caller.get_export("memory") {
            Some(Extern::Memory(m)) => Some(m),
            _ => None,
        };
        linker.func_wrap(
            "env",
            "proxy_log",
            move |mut caller: Caller<'_, Vec<String>>, _level: i32, ptr: i32, len: i32| -> i32 {
                let Some(m) = memory(&mut caller) else {
                    return 6;
                };
                let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
                let Some(bytes) = m.data(&caller).get(ptr..ptr + len) else {
                    return 6;
                };
                let text = String::from_utf8_lossy(bytes).into_owned();
                caller.data_mut().push(text);
                0
            },
        )?;
        linker.func_wrap(
            "env",
            "proxy_get_header_map_value",
            move |mut caller: Caller<'_, Vec<String>>,
                  _map: i32,
                  _key: i32,
                  _key_len: i32,
                  out_data: i32,
                  out_len: i32|
                  -> i32 {
                let value = b"/conformance";
                let names = if prefer_legacy {
                    ["malloc", "proxy_on_memory_allocate"]
                } else {
                    ["proxy_on_memory_allocate", "malloc"]
                };
                let Some(alloc) = names.iter().find_map(|n| caller.get_export(n)) else {
                    return 6;
                };
                let Some(alloc) = alloc.into_func() else {
                    return 6;
                };
                let Ok(alloc) = alloc.typed::<i32, i32>(&caller) else {
                    return 6;
                };
                let Ok(at) = alloc.call(&mut caller, value.len() as i32) else {
                    return 6;
                };
                let Some(m) = memory(&mut caller) else {
                    return 6;
                };
                let writes = [
                    (at, &value[..]),
                    (out_data, &at.to_le_bytes()[..]),
                    (out_len, &(value.len() as i32).to_le_bytes()[..]),
                ];
                for (to, bytes) in writes {
                    if m.write(&mut caller, to as u32 as usize, bytes).is_err() {
                        return 6;
                    }
                }
                0
            },
        )?;
        linker.define_unknown_imports_as_default_values(&mut store, &module)?;
        let instance = linker.instantiate(&mut store, &module)?;
        call_with_zeros(
            &mut store,
            &instance,
            &[
                "proxy_on_context_create",
                "proxy_on_context_create",
                "proxy_on_request_headers",
            ],
        )?;
        Ok(std::mem::take(store.data_mut()))
    }
}

/// A host that calls `malloc` where the probe exports both allocators
/// (the fallback reversed) is caught, naming the case; the same host
/// preferring `proxy_on_memory_allocate` passes both allocator-choice
/// cases.
#[test]
fn an_allocator_fallback_reversed_is_caught() {
    let full = kit("0.2.1");
    let both = "proxy_on_memory_allocate/preferred/allocator_choice";
    let legacy = "proxy_on_memory_allocate/legacy_alone/allocator_choice";
    for (id, file, value) in [
        (both, "allocator_both.wasm", 0),
        (legacy, "allocator_legacy.wasm", 1),
    ] {
        let case = full.manifest.cases.iter().find(|c| c.case.id == id);
        let case = case.expect("the case");
        assert_eq!(
            (case.probe.as_str(), case.case.expected.value),
            (file, value)
        );
    }
    let mut kit = full.clone();
    kit.probes
        .retain(|(f, _)| f == "allocator_both.wasm" || f == "allocator_legacy.wasm");
    kit.manifest
        .cases
        .retain(|c| c.case.kind == Kind::AllocatorChoice);
    kit.manifest
        .probes
        .retain(|p| p.file.starts_with("allocator_"));
    let good = conformance::run_on(&kit, &mut allocating_host(false)).expect("the probes run");
    assert!(good.deviations().is_empty(), "{}", good.text());
    assert_eq!(good.counts().not_reached, 0, "{}", good.text());
    let reversed = conformance::run_on(&kit, &mut allocating_host(true)).expect("the probes run");
    let deviations: Vec<(&str, Outcome)> = reversed
        .deviations()
        .iter()
        .map(|c| (c.case.case.id.as_str(), c.outcome))
        .collect();
    assert_eq!(deviations, [(both, Outcome::Deviates(1))]);
    assert!(reversed.text().contains(both), "{}", reversed.text());
}

/// A host that drops the grant a paused stream holds (`modify ... paused
/// proxy_on_request_headers`) answers a status other than OK for the
/// modify call made while the request waits: caught, naming the case.
#[test]
fn a_dropped_paused_grant_is_caught() {
    let kit = kit("0.2.1");
    let id = "proxy_replace_header_map_value/HTTP_REQUEST_HEADERS/paused/granted";
    let case = kit.manifest.cases.iter().find(|c| c.case.id == id);
    let case = case.expect("the case");
    assert_eq!(case.probe, "results.wasm");
    assert_eq!(case.case.callback, "proxy_on_tick");
    let line = format!("conformance case={id} status=0");
    let score = reference_log(&kit, |l| {
        if l == line {
            format!("conformance case={id} status=10")
        } else {
            l
        }
    });
    let deviations = deviating_ids(&score);
    assert_eq!(deviations, [id]);
}

/// The plugin's shutdown: the results probe's root `proxy_on_done`
/// answers `false`, the next tick calls `proxy_done`, and only then do
/// `proxy_on_log` and `proxy_on_delete` run for the root. A host that
/// ends the root without waiting, or without asking, is caught, naming
/// the cases.
#[test]
fn a_root_ended_without_waiting_for_proxy_done_is_caught() {
    use proxy_wasm_abi_tools::runner::RootShutdown;
    for version in ["0.1.0", "0.2.1"] {
        let kit = only(&kit(version), "results.wasm");
        let ids = [
            "proxy_done/root_after_done_false/callback_result",
            "proxy_on_log/root_after_proxy_done/callback_result",
            "proxy_on_delete/root_after_proxy_done/callback_result",
        ];
        for id in ids {
            let case = kit.manifest.cases.iter().find(|c| c.case.id == id);
            let case = case.unwrap_or_else(|| panic!("{version}: {id}"));
            assert_eq!(case.case.provenance, Provenance::Spec, "{id}");
        }
        let score = conformance::run_on(&kit, &mut Reference::default()).expect("runs");
        for id in ids {
            let c = score.cases.iter().find(|c| c.case.case.id == id);
            assert_eq!(c.map(|c| c.outcome), Some(Outcome::Pass), "{version}: {id}");
        }
        for (how, seen) in [
            (RootShutdown::DeleteAtOnce, ShutdownState::Waiting),
            (RootShutdown::SkipDone, ShutdownState::NotDone),
        ] {
            let mut host = Reference {
                adjust: move |h: &mut ReferenceHost| h.root_shutdown = how,
            };
            let score = conformance::run_on(&kit, &mut host).expect("runs");
            let deviations: Vec<(&str, Outcome)> = score
                .deviations()
                .iter()
                .map(|c| (c.case.case.id.as_str(), c.outcome))
                .collect();
            let seen = Outcome::Deviates(seen as u32);
            assert_eq!(deviations, [(ids[1], seen), (ids[2], seen)], "{how:?}");
            // With the root gone, no tick calls `proxy_done`.
            let done = score.cases.iter().find(|c| c.case.case.id == ids[0]);
            assert_eq!(done.map(|c| c.outcome), Some(Outcome::NotReached));
            assert!(score.fails(false), "{how:?}");
            assert!(score.text().contains(ids[2]), "{}", score.text());
        }
    }
}

/// The `when end_of_stream` grants, both sides: the body's first chunk
/// (not the end) refuses adding trailers, its last allows it. A host that
/// lets the add through everywhere is caught on the first chunk; a host
/// that sends each body in one chunk reaches the refusals only in the
/// stream with trailers (without it, they are not reached, never
/// deviating).
#[test]
fn end_of_stream_refusals_are_probed_on_the_first_chunk() {
    let kit = only(&kit("0.2.1"), "access.wasm");
    let refusals: Vec<&str> = kit
        .manifest
        .cases
        .iter()
        .filter(|c| c.case.stage == Stage::EndOfStream(false))
        .map(|c| c.case.id.as_str())
        .collect();
    assert_eq!(
        refusals,
        [
            "proxy_add_header_map_value/map_id=HTTP_REQUEST_TRAILERS/not_end_of_stream/in_proxy_on_request_body",
            "proxy_add_header_map_value/map_id=HTTP_RESPONSE_TRAILERS/not_end_of_stream/in_proxy_on_response_body",
        ]
    );
    let lifecycle = &kit.manifest.lifecycle;
    for body in [&lifecycle.request_body, &lifecycle.response_body] {
        assert!(body.len() > lifecycle.chunk_size && body.len() <= 2 * lifecycle.chunk_size);
    }
    let score = answered(&kit, "proxy_add_header_map_value", 0);
    let deviations = deviating_ids(&score);
    for id in &refusals {
        assert!(deviations.contains(id), "{id}: {deviations:?}");
    }
    // The map functions' status outside a grant is a clarification.
    for c in kit
        .manifest
        .cases
        .iter()
        .filter(|c| refusals.contains(&c.case.id.as_str()))
    {
        assert_eq!(
            c.case.provenance,
            Provenance::Clarification,
            "{}",
            c.case.id
        );
    }
    assert!(score.fails(true));
    // One chunk that ends the stream: the first-chunk cases are reached
    // only in the stream with trailers, whose chunks never end it.
    let mut whole = kit.clone();
    whole.manifest.lifecycle.chunk_size = 1 << 10;
    let score = conformance::run_on(&whole, &mut Reference::default()).expect("runs");
    assert_eq!(
        score.counts().pass,
        score.counts().cases,
        "{}",
        score.text()
    );
    // Without that stream (a manifest older than it), they are not
    // reached, nor the cases of the trailers callbacks; the rest passes.
    whole.manifest.lifecycle.trailers_context = 0;
    let score = conformance::run_on(&whole, &mut Reference::default()).expect("runs");
    for c in &score.cases {
        let trailers = c.case.case.callback.ends_with("_trailers");
        let expected = if trailers || refusals.contains(&c.case.case.id.as_str()) {
            Outcome::NotReached
        } else {
            Outcome::Pass
        };
        assert_eq!(c.outcome, expected, "{}", c.case.case.id);
    }
}

/// The results probe pauses in the response headers, at the last chunk
/// of each body and each direction of the connection's data, and in the
/// trailers too, reads the map or buffer the `paused`
/// grant covers from the next tick, resumes the stream and reads it again:
/// every such case passes on the reference host, and a host that refuses
/// the read while the stream waits, or allows it once resumed, is caught
/// on each of them.
#[test]
fn paused_grants_of_response_headers_bodies_and_data_are_probed() {
    for (version, points) in [
        (
            "0.1.0",
            &[
                "proxy_on_request_body",
                "proxy_on_response_body",
                "proxy_on_response_headers",
                "proxy_on_request_trailers",
                "proxy_on_response_trailers",
            ][..],
        ),
        (
            "0.2.1",
            &[
                "proxy_on_request_body",
                "proxy_on_response_body",
                "proxy_on_downstream_data",
                "proxy_on_upstream_data",
                "proxy_on_response_headers",
                "proxy_on_request_trailers",
                "proxy_on_response_trailers",
            ][..],
        ),
    ] {
        let kit = only(&kit(version), "results.wasm");
        let grants: Vec<&str> = kit
            .manifest
            .cases
            .iter()
            .filter(|c| c.case.kind == Kind::Granted && c.case.id.contains("/paused_in_"))
            .map(|c| c.case.id.as_str())
            .collect();
        assert_eq!(grants.len(), points.len(), "{version}: {grants:?}");
        for point in points {
            let resumed = kit.manifest.cases.iter().any(|c| {
                c.case.kind == Kind::CallbackResult
                    && c.case.id.contains(&format!("/after_pause_in_{point}/"))
            });
            assert!(resumed, "{version}: {point}");
        }
        let score = conformance::run_on(&kit, &mut Reference::default()).expect("runs");
        assert_eq!(
            score.counts().pass,
            score.counts().cases,
            "{}",
            score.text()
        );
        // NOT_FOUND: the buffer is not available, as outside its grants.
        let score = answered(&kit, "proxy_get_buffer_status", 1);
        let deviations = deviating_ids(&score);
        let buffers: Vec<&str> = grants
            .iter()
            .copied()
            .filter(|id| id.starts_with("proxy_get_buffer_status/"))
            .collect();
        assert_eq!(deviations, buffers, "{version}");
        assert!(score.fails(false));
        // Once resumed, in the same tick, the same read is refused: a
        // host that still grants it (answers OK) is caught there.
        let refusals: Vec<&str> = kit
            .manifest
            .cases
            .iter()
            .filter(|c| c.case.kind == Kind::Forbidden && c.case.id.contains("/resumed_from_"))
            .map(|c| c.case.id.as_str())
            .collect();
        // The request headers' read too, for the first pause.
        assert_eq!(refusals.len(), points.len() + 1, "{version}: {refusals:?}");
        let score = answered(&kit, "proxy_get_buffer_status", 0);
        let deviations = deviating_ids(&score);
        let buffers: Vec<&str> = refusals
            .iter()
            .copied()
            .filter(|id| id.starts_with("proxy_get_buffer_status/"))
            .collect();
        assert_eq!(deviations, buffers, "{version}");
        // NOT_FOUND for a buffer not available is the spec's text.
        assert!(score.fails(false));
    }
}

/// The trailers' `paused` grants, in every version (0.1.0 has the
/// trailers callbacks too): in the lifecycle's second HTTP stream, the
/// only one with trailers, the results probe pauses in
/// `proxy_on_request_trailers` and `proxy_on_response_trailers`, replaces
/// a trailer from the next tick, resumes the stream and tries again. All
/// pass on the reference host. A host that goes on past paused trailers
/// without waiting is caught on each paused grant, naming it; one that
/// lets any map be replaced anywhere is caught on the refusals after the
/// resume.
#[test]
fn paused_grants_of_the_trailers_are_probed() {
    use proxy_wasm_abi_tools::runner::TrailersPause;
    for version in ["0.1.0", "0.2.0", "0.2.1"] {
        let kit = only(&kit(version), "results.wasm");
        let (request, response) = match version {
            "0.1.0" => ("proxy_continue_request", "proxy_continue_response"),
            _ => ("proxy_continue_stream", "proxy_continue_stream"),
        };
        let ids = |side: &str, resume: &str| {
            let map = format!("HTTP_{}_TRAILERS", side.to_uppercase());
            let point = format!("proxy_on_{side}_trailers");
            [
                format!("proxy_replace_header_map_value/{map}/paused_in_{point}/granted"),
                format!("{resume}/after_pause_in_{point}/callback_result"),
                format!(
                    "proxy_replace_header_map_value/map_id={map}/resumed_from_{point}/in_proxy_on_tick"
                ),
            ]
        };
        let [request_grant, request_resume, request_refusal] = ids("request", request);
        let [response_grant, response_resume, response_refusal] = ids("response", response);
        for id in [
            &request_grant,
            &request_resume,
            &request_refusal,
            &response_grant,
            &response_resume,
            &response_refusal,
        ] {
            let case = kit.manifest.cases.iter().find(|c| &c.case.id == id);
            let case = case.unwrap_or_else(|| panic!("{version}: no {id}"));
            assert_eq!(case.probe, "results.wasm");
            assert_eq!(case.case.callback, "proxy_on_tick");
        }
        let score = conformance::run_on(&kit, &mut Reference::default()).expect("runs");
        assert_eq!(
            score.counts().pass,
            score.counts().cases,
            "{}",
            score.text()
        );
        // A host that goes on past paused request trailers: no tick comes
        // while they wait, so their three cases are not reached (the
        // response's trailers pause the stream again, and the shutdown's
        // ticks still find it paused there).
        let mut host = Reference {
            adjust: |h: &mut ReferenceHost| h.trailers_pause = TrailersPause::GoesOn,
        };
        let score = conformance::run_on(&kit, &mut host).expect("runs");
        let missed: Vec<&str> = score
            .cases
            .iter()
            .filter(|c| c.outcome != Outcome::Pass)
            .map(|c| c.case.case.id.as_str())
            .collect();
        assert_eq!(
            missed,
            [&request_grant, &request_resume, &request_refusal],
            "{version}"
        );
        assert!(
            score
                .cases
                .iter()
                .all(|c| c.outcome != Outcome::NotReached || c.case.case.stage == Stage::Paused(6)),
            "{version}"
        );
        assert!(score.fails(true));
        // A host that refuses the trailers' paused grant (here its log
        // says BAD_ARGUMENT) is caught on those two cases alone.
        let refused = reference_log(&kit, |l| {
            let granted = [&request_grant, &response_grant]
                .iter()
                .any(|id| l == format!("conformance case={id} status=0"));
            if granted {
                l.replace("status=0", "status=2")
            } else {
                l
            }
        });
        assert_eq!(
            deviating_ids(&refused),
            [&request_grant, &response_grant],
            "{version}"
        );
        // A host that lets any map be replaced anywhere (answers OK) is
        // caught on every refusal once resumed, the trailers' included.
        let score = answered(&kit, "proxy_replace_header_map_value", 0);
        let deviations = deviating_ids(&score);
        let headers: Vec<String> = ["request", "response"]
            .map(|side| {
                format!(
                    "proxy_replace_header_map_value/map_id=HTTP_{}_HEADERS/resumed_from_proxy_on_{side}_headers/in_proxy_on_tick",
                    side.to_uppercase()
                )
            })
            .to_vec();
        assert_eq!(
            deviations,
            [
                &headers[0],
                &headers[1],
                &request_refusal,
                &response_refusal
            ],
            "{version}"
        );
        // BAD_ARGUMENT for a map outside its grants is a clarification.
        assert!(!score.fails(false) && score.fails(true));
    }
}

/// `proxy_send_local_response` may be called only before the response
/// headers went on: from `proxy_on_request_headers` in a probe of its own
/// (the call ends the request) it answers OK, from the stream's
/// `proxy_on_log` the forbidden status. A host that refuses it everywhere
/// and one that allows it everywhere are each caught on their side.
#[test]
fn a_local_response_is_allowed_before_the_response_headers_only() {
    let full = kit("0.2.1");
    let allowed = "proxy_send_local_response/before/in_proxy_on_request_headers/granted";
    let refused = "proxy_send_local_response/after/in_proxy_on_log";
    let find = |id: &str| {
        let c = full.manifest.cases.iter().find(|c| c.case.id == id);
        c.unwrap_or_else(|| panic!("{id}")).clone()
    };
    let (a, r) = (find(allowed), find(refused));
    assert_eq!(a.probe, "local_response.wasm");
    assert_eq!(
        (a.case.kind, a.case.provenance),
        (Kind::Granted, Provenance::Spec)
    );
    assert_eq!(r.probe, "access.wasm");
    assert_eq!(r.case.kind, Kind::Forbidden);
    assert_eq!(r.case.provenance, Provenance::Clarification);
    let mut kit = only(&full, "local_response.wasm");
    let access = only(&full, "access.wasm");
    kit.probes.extend(access.probes.iter().cloned());
    kit.manifest
        .cases
        .extend(access.manifest.cases.iter().cloned());
    kit.manifest
        .probes
        .extend(access.manifest.probes.iter().cloned());
    let score = conformance::run_on(&kit, &mut Reference::default()).expect("runs");
    assert_eq!(
        score.counts().pass,
        score.counts().cases,
        "{}",
        score.text()
    );
    for (answer, caught) in [(0, refused), (2, allowed)] {
        let score = answered(&kit, "proxy_send_local_response", answer);
        let deviations = deviating_ids(&score);
        assert!(deviations.contains(&caught), "{answer}: {deviations:?}");
        // Refusing it where the spec's text allows it fails the kit.
        assert_eq!(score.fails(false), caught == allowed, "{answer}");
        assert!(score.fails(true));
    }
}

/// A host that takes any upstream name (it knows no list of them) answers
/// OK to the HTTP call to `x-conformance-missing`: caught, naming the case.
#[test]
fn an_unknown_upstream_taken_is_caught() {
    let kit = only(&kit("0.2.1"), "state.wasm");
    let id = "proxy_http_call/upstream_name/unknown_id";
    let case = kit.manifest.cases.iter().find(|c| c.case.id == id);
    assert_eq!(
        case.map(|c| c.case.expected.name.as_str()),
        Some("BAD_ARGUMENT")
    );
    let mut host = Reference {
        adjust: |h: &mut ReferenceHost| h.upstreams = None,
    };
    let score = conformance::run_on(&kit, &mut host).expect("runs");
    let deviations: Vec<(&str, Outcome)> = score
        .deviations()
        .iter()
        .map(|c| (c.case.case.id.as_str(), c.outcome))
        .collect();
    assert_eq!(deviations, [(id, Outcome::Deviates(0))]);
    assert!(score.fails(false));
}
