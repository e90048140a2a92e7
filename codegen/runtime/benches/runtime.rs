//! The runtime's hot paths, each beside a baseline measured in the same run:
//! the ratios printed at the end say what the runtime costs over the
//! simplest code doing the same amount of work, which stays comparable
//! across machines where absolute times do not.
//!
//! `cargo bench -p proxy-wasm-abi --features host --bench runtime`
//! (append `-- --test` to only check that every benchmark runs).

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::Criterion;
use proxy_wasm_abi::host::{
    AccessLevel, CallbackId, Grant, GuestMemory, PluginState, Rule, Running,
};
use proxy_wasm_abi::serial::{decode_map, encode_map};

/// The ratios reported: a label, the benchmark and its baseline.
const RATIOS: &[(&str, &str, &str)] = &[
    (
        "decode_map, 10 pairs / copy of the same bytes",
        "map/decode_map_10",
        "map/copy_encoded_10",
    ),
    (
        "encode_map, 10 pairs / copy of the same bytes",
        "map/encode_map_10",
        "map/copy_encoded_10",
    ),
    (
        "GuestMemory::str, 10 ASCII bytes / core::str::from_utf8",
        "str/guest_str_ascii_10",
        "str/from_utf8_ascii_10",
    ),
    (
        "GuestMemory::str, 10 non-ASCII bytes / core::str::from_utf8",
        "str/guest_str_utf8_10",
        "str/from_utf8_utf8_10",
    ),
    (
        "permits, 3 grants, `before` matches / rules not enforced",
        "permits/enforced_3_grants",
        "permits/not_enforced",
    ),
    (
        "PluginState stream lifecycle, 100 ids / BTreeMap",
        "streams/plugin_state_100",
        "streams/btreemap_100",
    ),
    (
        "PluginState stream lifecycle, 100 ids / std HashMap",
        "streams/plugin_state_100",
        "streams/hashmap_100",
    ),
];

fn map(c: &mut Criterion) {
    let pairs: Vec<(String, String)> = (0..10)
        .map(|i| (format!("x-header-{i}"), format!("value-{i}")))
        .collect();
    let encoded = encode_map(&pairs);
    let mut group = c.benchmark_group("map");
    group.bench_function("decode_map_10", |b| {
        b.iter(|| decode_map(black_box(&encoded)).expect("valid"))
    });
    group.bench_function("encode_map_10", |b| {
        b.iter(|| encode_map(black_box(&pairs)))
    });
    // Both codecs allocate one Vec: the baseline allocates one of the same
    // size and copies the bytes into it.
    group.bench_function("copy_encoded_10", |b| {
        b.iter(|| black_box(encoded.as_slice()).to_vec())
    });
    group.finish();
}

fn str(c: &mut Criterion) {
    const ASCII: &str = "user-agent";
    const UTF8: &str = "größe:ab";
    assert_eq!((ASCII.len(), UTF8.len()), (10, 10));
    let mut bytes = vec![0u8; 64];
    bytes[..10].copy_from_slice(ASCII.as_bytes());
    bytes[32..42].copy_from_slice(UTF8.as_bytes());
    let mem = GuestMemory::new(&mut bytes);
    let mut group = c.benchmark_group("str");
    group.bench_function("guest_str_ascii_10", |b| {
        b.iter(|| {
            mem.str(black_box(0), black_box(10))
                .expect("in bounds")
                .len()
        })
    });
    group.bench_function("from_utf8_ascii_10", |b| {
        b.iter(|| {
            core::str::from_utf8(black_box(ASCII.as_bytes()))
                .expect("UTF-8")
                .len()
        })
    });
    group.bench_function("guest_str_utf8_10", |b| {
        b.iter(|| {
            mem.str(black_box(32), black_box(10))
                .expect("in bounds")
                .len()
        })
    });
    group.bench_function("from_utf8_utf8_10", |b| {
        b.iter(|| {
            core::str::from_utf8(black_box(UTF8.as_bytes()))
                .expect("UTF-8")
                .len()
        })
    });
    group.finish();
}

fn permits(c: &mut Criterion) {
    // A stream callback runs; only the last grant (`before` a callback the
    // stream has not passed) matches, so every grant is looked at and the
    // stream table is consulted once.
    let grants = [
        Grant {
            level: AccessLevel::Read,
            running: CallbackId(0).bit(),
            paused: 0,
            before: 0,
            when: false,
        },
        Grant {
            level: AccessLevel::Call,
            running: CallbackId(2).bit(),
            paused: 0,
            before: 0,
            when: false,
        },
        Grant {
            level: AccessLevel::Modify,
            running: 0,
            paused: CallbackId(5).bit(),
            before: CallbackId(4).bit(),
            when: false,
        },
    ];
    let rule = Rule::new(&grants);
    let mut state = PluginState::new();
    for id in 1..=50 {
        state.created(id, 1000);
    }
    state.enter(Some(Running::new(CallbackId(2), 7, false)), None);
    assert!(state.permits(&rule, AccessLevel::Read));
    let mut open = state.clone();
    open.enforce_access_rules(false);
    let mut group = c.benchmark_group("permits");
    group.bench_function("enforced_3_grants", |b| {
        b.iter(|| state.permits(black_box(&rule), black_box(AccessLevel::Read)))
    });
    group.bench_function("not_enforced", |b| {
        b.iter(|| open.permits(black_box(&rule), black_box(AccessLevel::Read)))
    });
    group.finish();
}

/// What `PluginState` tracks per stream, for the baselines.
#[derive(Default)]
struct Stream {
    paused: u64,
    passed: u64,
}

fn streams(c: &mut Criterion) {
    // Each stream is created, pauses in one callback, continues from
    // another, and is deleted: the calls every stream makes.
    const IDS: std::ops::RangeInclusive<u32> = 1..=100;
    let (pause, go) = (CallbackId(3), CallbackId(4));
    let mut group = c.benchmark_group("streams");
    let mut state = PluginState::new();
    group.bench_function("plugin_state_100", |b| {
        b.iter(|| {
            for id in IDS {
                state.created(black_box(id), 1000);
            }
            for id in IDS {
                state.returned(pause, black_box(id), true);
            }
            for id in IDS {
                state.returned(go, black_box(id), false);
            }
            for id in IDS {
                state.forget_context(black_box(id));
            }
        })
    });
    assert!(!state.is_paused(1, pause), "every stream is forgotten");
    let mut tree = BTreeMap::<u32, Stream>::new();
    group.bench_function("btreemap_100", |b| {
        b.iter(|| {
            for id in IDS {
                tree.insert(black_box(id), Stream::default());
            }
            for id in IDS {
                if let Some(s) = tree.get_mut(&black_box(id)) {
                    s.paused |= pause.bit();
                }
            }
            for id in IDS {
                if let Some(s) = tree.get_mut(&black_box(id)) {
                    s.paused &= !go.bit();
                    s.passed |= go.bit();
                }
            }
            for id in IDS {
                tree.remove(&black_box(id));
            }
        })
    });
    let mut hash = HashMap::<u32, Stream>::new();
    group.bench_function("hashmap_100", |b| {
        b.iter(|| {
            for id in IDS {
                hash.insert(black_box(id), Stream::default());
            }
            for id in IDS {
                if let Some(s) = hash.get_mut(&black_box(id)) {
                    s.paused |= pause.bit();
                }
            }
            for id in IDS {
                if let Some(s) = hash.get_mut(&black_box(id)) {
                    s.paused &= !go.bit();
                    s.passed |= go.bit();
                }
            }
            for id in IDS {
                hash.remove(&black_box(id));
            }
        })
    });
    group.finish();
}

/// Where criterion writes its estimates: the same choice it makes, with
/// the executable's own target directory (`target/release/deps/..`) in
/// place of asking `cargo metadata`.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .nth(3)
                .map(|target| target.join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The mean time in ns criterion estimated for `id` in this run (`None`
/// when it did not measure it, e.g. with `--test`, or measured it before
/// `since`). serde_json is no dependency here: the number is found by hand
/// in `{"mean":{"confidence_interval":{..},"point_estimate":N,..},..}`.
fn mean_ns(home: &Path, id: &str, since: SystemTime) -> Option<f64> {
    let path = home.join(id).join("new").join("estimates.json");
    let written = std::fs::metadata(&path).ok()?.modified().ok()?;
    if written < since {
        return None;
    }
    let json = std::fs::read_to_string(path).ok()?;
    let mean = &json[json.find("\"mean\"")?..];
    let value = &mean[mean.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let value = value.trim_start().strip_prefix(':')?.trim_start();
    let end = value.find([',', '}']).unwrap_or(value.len());
    value[..end].trim().parse().ok()
}

fn print_ratios(home: &Path, since: SystemTime) {
    println!("\nRatios (mean time / mean time of the baseline, this run):");
    for (label, id, baseline) in RATIOS {
        match (mean_ns(home, id, since), mean_ns(home, baseline, since)) {
            (Some(time), Some(base)) if base > 0.0 => println!(
                "  {label}: {:.2}x ({time:.1} ns / {base:.1} ns)",
                time / base
            ),
            _ => println!("  {label}: not measured in this run"),
        }
    }
}

fn main() {
    // Estimates written before this moment belong to an earlier run.
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();
    map(&mut c);
    str(&mut c);
    permits(&mut c);
    streams(&mut c);
    c.final_summary();
    print_ratios(&criterion_home(), started);
}
