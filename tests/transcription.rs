//! Checks the description against an independent, hand-made transcription of
//! the specification (`spec_table/v*.txt`): every lowered signature, every
//! host function's status list, every enum value, for every version.
//!
//! The tables were written from the spec text by someone who did not look at
//! the description, so a mistake would have to be made twice, the same way,
//! to go unnoticed.
//!
//! Where the text is wrong and the description follows the implementations
//! instead, the table keeps the text's record and adds the corrected one
//! after it as `erratum <record>`. The description must then match the
//! correction and carry an `@note(erratum, ...)` on that function, so that
//! every departure from the text is both written down and explained.

use std::collections::BTreeMap;

use proxy_wasm_abi_spec::ir::{AbiVersion, NoteKind};
use proxy_wasm_abi_spec::lower::{WasmValue, lower};
use proxy_wasm_abi_tests::workspace_root;

/// Records keyed by what they describe, e.g. `fn env proxy_log`.
type Records = BTreeMap<String, String>;

/// Collapses runs of spaces so that formatting differences do not matter.
fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text's records, the corrections of its errata, and the records
/// where the description adds what the text leaves open.
struct Table {
    text: Records,
    errata: Records,
    clarified: Records,
}

fn parse_table(text: &str) -> Table {
    let mut table = Table {
        text: Records::new(),
        errata: Records::new(),
        clarified: Records::new(),
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = normalize(line);
        let (records, line) = if let Some(corrected) = line.strip_prefix("erratum ") {
            (&mut table.errata, corrected.to_owned())
        } else if let Some(clarified) = line.strip_prefix("clarified ") {
            (&mut table.clarified, clarified.to_owned())
        } else {
            (&mut table.text, line)
        };
        let words: Vec<&str> = line.split(' ').collect();
        let key = match words.as_slice() {
            ["statuses", module, name, ..] => format!("statuses {module} {name}"),
            ["enum", name, ..] => format!("enum {name}"),
            [direction, module, rest, ..] => {
                let name = rest.split('(').next().unwrap_or(rest);
                format!("fn {direction} {module} {name}")
            }
            _ => panic!("unreadable table line: {line}"),
        };
        assert!(
            records.insert(key.clone(), line.clone()).is_none(),
            "table has two records for {key}"
        );
    }
    table
}

/// The function a record key names: `fn host env proxy_log` and
/// `statuses env proxy_log` both name `proxy_log`.
fn function_of(key: &str) -> Option<&str> {
    match key.split(' ').collect::<Vec<_>>().as_slice() {
        ["fn", _, _, name] | ["statuses", _, name] => Some(name),
        _ => None,
    }
}

fn values(list: &[WasmValue]) -> String {
    list.iter()
        .map(|v| format!("{} {} {}", v.name, v.wasm, v.c_type))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(abi: &AbiVersion) -> Records {
    let mut records = Records::new();
    for f in &abi.functions {
        let (direction, module) = match f.module() {
            Some(m) => ("host", m),
            None => ("callback", "-"),
        };
        let sig = lower(f);
        records.insert(
            format!("fn {direction} {module} {}", f.name),
            normalize(&format!(
                "{direction} {module} {}({}) -> ({})",
                f.name,
                values(&sig.params),
                values(&sig.results)
            )),
        );
        if f.is_host() && !f.outcomes.is_empty() {
            let statuses: Vec<&str> = f.outcomes.iter().map(|o| o.value.name()).collect();
            records.insert(
                format!("statuses {module} {}", f.name),
                format!("statuses {module} {} {}", f.name, statuses.join(" ")),
            );
        }
    }
    for e in &abi.enums {
        let variants: Vec<String> = e
            .variants
            .iter()
            .map(|v| format!("{}={}", v.name, v.value))
            .collect();
        records.insert(
            format!("enum {}", e.name),
            format!("enum {} {}", e.name, variants.join(" ")),
        );
    }
    records
}

fn compare(version: &str) -> Vec<String> {
    let path = workspace_root().join(format!("tests/spec_table/v{version}.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let table = parse_table(&text);
    let abi = proxy_wasm_abi_spec::standard();
    let abi = abi
        .at(version.parse().unwrap())
        .expect("version is declared");
    let actual = describe(&abi);

    let mut problems = Vec::new();
    let mut expected = table.text.clone();
    // An erratum corrects the text, a clarification adds to it; either
    // needs its function to say so in a note of that kind.
    for (records, kind, word) in [
        (&table.errata, NoteKind::Erratum, "erratum"),
        (&table.clarified, NoteKind::Clarification, "clarification"),
    ] {
        for (key, changed) in records {
            if table.text.get(key) == Some(changed) {
                problems.push(format!("{word} repeats the text: {changed}"));
            }
            let noted = function_of(key)
                .and_then(|name| abi.functions.iter().find(|f| f.name == name))
                .is_some_and(|f| f.meta.notes.iter().any(|n| n.kind == kind));
            if !noted {
                problems.push(format!(
                    "{word} without an @note({word}, ...) on its function: {changed}"
                ));
            }
            expected.insert(key.clone(), changed.clone());
        }
    }
    for (key, want) in &expected {
        match actual.get(key) {
            None => problems.push(format!("missing from the description: {want}")),
            Some(got) if got != want => problems.push(format!(
                "differs:\n    spec:        {want}\n    description: {got}"
            )),
            Some(_) => {}
        }
    }
    for (key, got) in &actual {
        if !expected.contains_key(key) {
            problems.push(format!("not in the spec: {got}"));
        }
    }
    problems
}

fn check(version: &str) {
    let problems = compare(version);
    assert!(
        problems.is_empty(),
        "v{version}: the description disagrees with the transcribed spec in {} place(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn v0_1_0_matches_the_spec() {
    check("0.1.0");
}

#[test]
fn v0_2_0_matches_the_spec() {
    check("0.2.0");
}

#[test]
fn v0_2_1_matches_the_spec() {
    check("0.2.1");
}

#[test]
fn every_declared_version_has_a_table() {
    let abi = proxy_wasm_abi_spec::standard();
    for version in &abi.versions {
        let path = workspace_root().join(format!("tests/spec_table/v{version}.txt"));
        assert!(
            path.exists(),
            "no transcription table for v{version} at {}",
            path.display()
        );
    }
}
