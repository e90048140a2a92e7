//! The guest bindings as a plugin SDK sees them: `guest!` compiles for every
//! version, expands to exactly the checked-in file, and its enums, codec and
//! export shims behave.

mod v0_1_0 {
    proxy_wasm_abi_macros::guest!({ version: "0.1.0", debug: "../target/guest-expansion/v0_1_0.rs" });
}
mod v0_2_0 {
    proxy_wasm_abi_macros::guest!({ version: "0.2.0", debug: "../target/guest-expansion/v0_2_0.rs" });
}
mod v0_2_1 {
    proxy_wasm_abi_macros::guest!({ version: "0.2.1", debug: "../target/guest-expansion/v0_2_1.rs" });
}

use proxy_wasm_abi_tests::workspace_root;
use v0_2_1::{Action, RawAction, RawStatus, Status, UnknownValue};

#[test]
fn macro_expansion_is_the_checked_in_file() {
    for version in ["0_1_0", "0_2_0", "0_2_1"] {
        let expanded = workspace_root().join(format!("target/guest-expansion/v{version}.rs"));
        let checked_in = workspace_root().join(format!("generated/rust/guest/v{version}.rs"));
        let expanded = std::fs::read_to_string(&expanded).expect("guest! wrote its debug file");
        let checked_in = std::fs::read_to_string(&checked_in).expect("generated file exists");
        assert!(
            expanded == checked_in,
            "guest!({{ version: {version} }}) differs from generated/rust/guest/v{version}.rs"
        );
    }
}

#[test]
fn versions_are_named() {
    assert_eq!(v0_1_0::ABI_VERSION, "0.1.0");
    assert_eq!(v0_2_0::ABI_VERSION, "0.2.0");
    assert_eq!(v0_2_1::ABI_VERSION, "0.2.1");
}

#[test]
fn unknown_enum_values_are_errors_not_undefined_behaviour() {
    assert_eq!(
        Status::try_from(RawStatus(6)),
        Ok(Status::InvalidMemoryAccess)
    );
    assert_eq!(
        Status::try_from(RawStatus::UNIMPLEMENTED),
        Ok(Status::Unimplemented)
    );
    // 5, 9 and 11 are used by real hosts but not defined by the spec.
    let unknown = Status::try_from(RawStatus(5)).unwrap_err();
    assert_eq!(
        unknown,
        UnknownValue {
            type_name: "proxy_status_t",
            value: 5
        }
    );
    assert_eq!(unknown.to_string(), "5 is not a value of proxy_status_t");
    assert_eq!(RawStatus::from(Status::NotFound), RawStatus(1));
    assert_eq!(Status::NotFound.to_string(), "NOT_FOUND");
    let as_error: &dyn std::error::Error = &Status::BadArgument;
    assert_eq!(as_error.to_string(), "BAD_ARGUMENT");
    assert_eq!(Status::ALL.len(), 10);
}

#[test]
fn enums_follow_the_version() {
    // Buffer types 6..8 and the stream type enum arrived in 0.2.0.
    assert_eq!(v0_1_0::BufferType::ALL.len(), 6);
    assert_eq!(v0_2_0::BufferType::ALL.len(), 9);
    assert!(v0_1_0::BufferType::try_from(v0_1_0::RawBufferType(6)).is_err());
    assert_eq!(
        v0_2_1::StreamType::try_from(v0_2_1::RawStreamType(3)),
        Ok(v0_2_1::StreamType::Upstream)
    );
}

#[test]
fn codec_is_in_the_bindings() {
    let bytes = v0_2_1::serial::encode_map(&[("a", "1"), ("b", "22")]);
    assert_eq!(
        bytes,
        [
            2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'1', 0, b'b', 0,
            b'2', b'2', 0
        ]
    );
    let pairs = v0_2_1::serial::decode_map(&bytes).unwrap();
    assert_eq!(pairs, vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"22"[..])]);
    assert!(v0_2_1::serial::decode_map(&bytes[..10]).is_err());
}

/// A plugin that pauses requests with more than 3 headers and records calls.
struct Plugin;

static SEEN_END_OF_STREAM: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

impl v0_2_1::Callbacks for Plugin {
    fn proxy_on_request_headers(
        _context_id: u32,
        num_headers: usize,
        end_of_stream: bool,
    ) -> Action {
        SEEN_END_OF_STREAM.store(end_of_stream, std::sync::atomic::Ordering::SeqCst);
        if num_headers > 3 {
            Action::Pause
        } else {
            Action::Continue
        }
    }
}

mod exports {
    crate::v0_2_1::export_callbacks!(crate::v0_2_1, crate::Plugin);
}

#[test]
fn exports_forward_to_the_callbacks_with_safe_conversions() {
    // The host may pass any i32 as a bool; 7 must read as true, not be UB.
    assert_eq!(exports::proxy_on_request_headers(1, 5, 7), RawAction::PAUSE);
    assert!(SEEN_END_OF_STREAM.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        exports::proxy_on_request_headers(1, 2, 0),
        RawAction::CONTINUE
    );
    assert!(!SEEN_END_OF_STREAM.load(std::sync::atomic::Ordering::SeqCst));
    // Defaults: continue, succeed, finish.
    assert_eq!(
        exports::proxy_on_response_headers(1, 2, 1),
        RawAction::CONTINUE
    );
    assert_eq!(exports::proxy_on_vm_start(1, 0), 1);
    assert_eq!(exports::proxy_on_configure(1, 0), 1);
    assert_eq!(exports::proxy_on_done(1), 1);
    // The default allocator never returns null, even for zero bytes.
    assert!(!exports::proxy_on_memory_allocate(0).is_null());
    assert!(!exports::proxy_on_memory_allocate(64).is_null());
    exports::proxy_abi_version_0_2_1();
}

#[test]
fn host_buffers_are_taken_back_with_their_allocation() {
    let ptr = v0_2_1::allocate(5);
    // SAFETY: `allocate(5)` returned 5 writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(b"hello".as_ptr(), ptr, 5) };
    // SAFETY: the pointer came from `allocate(5)` and 5 bytes were written.
    let taken = unsafe { v0_2_1::take_host_buffer(ptr, 5) };
    assert_eq!(taken, b"hello");
    // SAFETY: null is the empty value.
    assert!(unsafe { v0_2_1::take_host_buffer(std::ptr::null_mut(), 0) }.is_empty());
}

/// The typed host calls (`abi::host`): one function per host function of
/// each version, named without `proxy_`, `unsafe` exactly where a raw
/// pointer's extent is only text (`environ_get`, `args_get`).
#[test]
fn every_host_function_has_one_typed_function() {
    use proxy_wasm_abi_spec::ir::Type;
    let abi = proxy_wasm_abi_spec::standard();
    for version in ["0.1.0", "0.2.0", "0.2.1"] {
        let at = abi
            .at(version.parse().expect("a version"))
            .expect("declared");
        let file = workspace_root().join(format!(
            "generated/rust/guest/v{}.rs",
            version.replace('.', "_")
        ));
        let text = std::fs::read_to_string(&file).expect("generated file exists");
        let module = text
            .split("\npub mod host {\n")
            .nth(1)
            .and_then(|rest| rest.split("\n}\n").next())
            .expect("a `host` module");
        let typed: Vec<(bool, &str)> = module
            .lines()
            .filter_map(|line| {
                let line = line.strip_prefix("    pub ")?;
                let (is_unsafe, rest) = match line.strip_prefix("unsafe fn ") {
                    Some(rest) => (true, rest),
                    None => (false, line.strip_prefix("fn ")?),
                };
                let name = rest.split(['(', '<']).next()?;
                Some((is_unsafe, name))
            })
            .collect();
        let expected: Vec<(bool, &str)> = at
            .host_functions()
            .map(|f| {
                let raw = f.params.iter().any(|p| matches!(p.ty, Type::Ptr(_)));
                (raw, f.name.strip_prefix("proxy_").unwrap_or(&f.name))
            })
            .collect();
        assert_eq!(typed, expected, "v{version}");
        let unsafe_ones: Vec<_> = typed.iter().filter(|(u, _)| *u).map(|(_, n)| *n).collect();
        assert_eq!(unsafe_ones, ["environ_get", "args_get"], "v{version}");
    }
}
