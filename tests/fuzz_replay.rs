//! The fuzz targets of `tests/fuzz/` on stable, in the normal suite: each
//! replays its committed corpus (`tests/fuzz/corpus/<target>/`, the inputs
//! libFuzzer kept for the coverage they reach, and the findings) and a
//! fixed number of inputs made here by mutating the corpus, so that the
//! harness and its properties cannot rot between fuzzing runs. Fuzzing
//! itself: `tests/fuzz/README.md`.

use std::path::PathBuf;

use proxy_wasm_abi_tests::{Rng, fuzz_targets};

/// Generated inputs per target, on top of its corpus.
const GENERATED: usize = 300;

/// The committed corpus of `target`, sorted by name.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = proxy_wasm_abi_tests::workspace_root()
        .join("tests/fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    let inputs: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect();
    assert!(!inputs.is_empty(), "{} holds no inputs", dir.display());
    inputs
}

/// `count` inputs made from `corpus` with libFuzzer's simplest mutations:
/// flip, overwrite, insert or delete a byte, truncate, splice two inputs.
fn mutations(corpus: &[Vec<u8>], count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|_| {
            let mut input = corpus[rng.below(corpus.len())].clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(input.len() + 1);
                let byte = rng.next_u64().to_le_bytes()[0];
                match rng.below(6) {
                    0 if at < input.len() => input[at] ^= 1 << (byte % 8),
                    1 if at < input.len() => input[at] = byte,
                    2 => input.insert(at, byte),
                    3 if at < input.len() => {
                        input.remove(at);
                    }
                    4 => input.truncate(at),
                    _ => {
                        let other = &corpus[rng.below(corpus.len())];
                        let from = rng.below(other.len() + 1);
                        input.truncate(at);
                        input.extend_from_slice(&other[from..]);
                    }
                }
            }
            input
        })
        .collect()
}

fn replay(target: &str, body: impl Fn(&[u8])) {
    let corpus = corpus(target);
    for input in corpus.iter().chain(&mutations(&corpus, GENERATED)) {
        body(input);
    }
}

#[test]
fn map_codec() {
    replay("map_codec", fuzz_targets::map_codec);
}

#[test]
fn description() {
    replay("description", fuzz_targets::description);
}

#[test]
fn lint() {
    replay("lint", fuzz_targets::lint);
}

#[test]
fn host_boundary() {
    let host = fuzz_targets::HostBoundary::new();
    let made = std::cell::RefCell::new(Vec::new());
    replay("host_boundary", |input| {
        made.borrow_mut().extend(host.run(input))
    });
    // The inputs reach the host: many functions, and answers other than OK.
    let made = made.into_inner();
    let functions: std::collections::BTreeSet<_> = made.iter().map(|(f, _)| f).collect();
    let statuses: std::collections::BTreeSet<_> =
        made.iter().filter_map(|(_, s)| s.as_ref()).collect();
    assert!(made.len() > 500, "{} host calls", made.len());
    assert!(functions.len() > 20, "{functions:?}");
    assert!(statuses.len() > 3, "{statuses:?}");
}

/// Found by the `host_boundary` target: `args_get` answered `FAULT` for a
/// pointer outside memory, which its description did not list. Every host
/// function that takes a guest address answers its enum's memory-fault
/// status for a bad one (the generated shims check every address), so each
/// must list it, in every version.
#[test]
fn every_function_taking_an_address_lists_its_memory_fault() {
    use proxy_wasm_abi_spec::ir::{StatusRole, Type};
    use proxy_wasm_abi_spec::lower::{ValueKind, lower};
    let abi = proxy_wasm_abi_spec::standard();
    let mut missing = Vec::new();
    for version in &abi.versions {
        let at = abi.at(*version).expect("declared");
        for function in at.host_functions() {
            let takes_address = lower(function)
                .params
                .iter()
                .any(|v| !matches!(v.kind, ValueKind::Scalar(_) | ValueKind::Length));
            let fault = function.result.as_ref().and_then(|r| match &r.ty {
                Type::Enum(e) => at.enum_def(e)?.with_role(StatusRole::MemoryFault),
                _ => None,
            });
            if let (true, Some(fault)) = (takes_address, fault)
                && !function
                    .outcomes
                    .iter()
                    .any(|o| o.value.name() == fault.name)
            {
                missing.push(format!("{version} {}: {}", function.name, fault.name));
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new());
}

/// Found by the `host_boundary` target: `proxy_get_status` called from
/// `proxy_on_request_headers` answered NOT_FOUND, its `@forbidden` status,
/// which its description did not list. The access rules answer a call
/// outside its grants with that status, so every restricted function must
/// list it, in every version.
#[test]
fn every_restricted_function_lists_its_forbidden_status() {
    let abi = proxy_wasm_abi_spec::standard();
    let mut missing = Vec::new();
    for version in &abi.versions {
        let at = abi.at(*version).expect("declared");
        for function in at.host_functions() {
            if let Some(forbidden) = &function.forbidden
                && !function
                    .outcomes
                    .iter()
                    .any(|o| o.value.name() == forbidden.name())
            {
                missing.push(format!("{version} {}: {forbidden}", function.name));
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new());
}

/// Found by the `host_boundary` target: `proxy_grpc_stream` answered
/// BAD_ARGUMENT for a malformed initial metadata map, which its description
/// did not list. A string that is not UTF-8, a malformed map, or an unknown
/// enum value (without an `@on_invalid` status of its own) is answered with
/// the enum's bad-argument status, so every function taking one must list
/// it, in every version.
#[test]
fn every_function_taking_checked_input_lists_its_bad_argument() {
    use proxy_wasm_abi_spec::ir::{StatusRole, Type};
    use proxy_wasm_abi_spec::lower::{ParamClass, Scalar, Shape, classify};
    let abi = proxy_wasm_abi_spec::standard();
    let mut missing = Vec::new();
    for version in &abi.versions {
        let at = abi.at(*version).expect("declared");
        for function in at.host_functions() {
            let checked = function.params.iter().any(|p| {
                !p.out
                    && match classify(p) {
                        ParamClass::Input(Shape::String | Shape::Map) => true,
                        ParamClass::Scalar(Scalar::Enum(_)) => p.on_invalid.is_none(),
                        _ => false,
                    }
            });
            let bad = function.result.as_ref().and_then(|r| match &r.ty {
                Type::Enum(e) => at.enum_def(e)?.with_role(StatusRole::BadArgument),
                _ => None,
            });
            if let (true, Some(bad)) = (checked, bad)
                && !function.outcomes.iter().any(|o| o.value.name() == bad.name)
            {
                missing.push(format!("{version} {}: {}", function.name, bad.name));
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new());
}
