//! No input, however malformed, makes the parser or the validator panic.
//!
//! Inputs are the real description cut at every character boundary, and
//! copies of it with random bytes overwritten, inserted or deleted.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use proxy_wasm_abi_spec::{STANDARD_PATH, STANDARD_TEXT, parse};
use proxy_wasm_abi_tests::Rng;

/// Parses `text`, turning a panic into an error that names the input.
fn survives(label: &str, text: &str) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| {
        let _ = parse(STANDARD_PATH, text);
    }))
    .map_err(|_| format!("parser panicked on {label}"))
}

/// Runs `check` on `0..count` split across the machine's cores.
fn in_parallel(count: usize, check: impl Fn(usize) -> Result<(), String> + Sync) -> Vec<String> {
    let workers = thread::available_parallelism().map_or(2, |n| n.get());
    let check = &check;
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    (w..count)
                        .step_by(workers)
                        .filter_map(|i| check(i).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec!["worker died".into()]))
            .collect()
    })
}

#[test]
fn every_prefix_is_handled() {
    let boundaries: Vec<usize> = STANDARD_TEXT
        .char_indices()
        .map(|(i, _)| i)
        .chain([STANDARD_TEXT.len()])
        .collect();
    let failures = in_parallel(boundaries.len(), |i| {
        let end = boundaries[i];
        survives(&format!("the first {end} bytes"), &STANDARD_TEXT[..end])
    });
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures[0]
    );
    // The whole file is valid; a strict prefix that ends inside an item is not.
    assert!(parse(STANDARD_PATH, STANDARD_TEXT).is_ok());
}

#[test]
fn random_byte_edits_are_handled() {
    const CASES: usize = 3000;
    let alphabet: &[u8] = b"{}()[];:,.=@/\"\\-> \n\tazAZ09_\x00\xff";
    let failures = in_parallel(CASES, |case| {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (case as u64 + 1));
        let mut bytes = STANDARD_TEXT.as_bytes().to_vec();
        let edits = 1 + rng.below(8);
        for _ in 0..edits {
            let at = rng.below(bytes.len().max(1));
            let byte = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        survives(&format!("random edit case {case}"), &text)
    });
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures[0]
    );
}
