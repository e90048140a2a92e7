#![cfg(feature = "host")]
//! The host runtime against real wasmtime instances: small WAT plugins call
//! a host function `env.f(a, b, c, d)` whose body runs inside
//! [`proxy_wasm_abi::host::shim`], so every status below is what a plugin
//! would see. Then instantiation and callback calls through
//! [`PluginCore`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use proxy_wasm_abi::AbiEnum;
use proxy_wasm_abi::host::{
    AccessLevel, After, Answer, CallError, CallbackId, Export, Grant, HasPluginState, HostCall,
    Imports, Limits, PluginCore, PluginCorePre, PluginError, PluginState, Returned, Rule, Running,
    Statuses, Version, declared_versions, decode, decode_or, to_u32,
};
use proxy_wasm_abi::serial::encode_map;
use wasmtime::{Engine, Instance, Linker, Module, Store, Trap};

static STATUSES: Statuses = Statuses {
    success: 0,
    memory_fault: 11,
    bad_argument: 2,
};

/// What `STATUSES` answers for bad contents.
const BAD_ARGUMENT: u32 = 2;

/// The status the tests name where a caller chooses its own, so that it is
/// told apart from the shim's roles.
const INVALID: u32 = 7;

proxy_wasm_abi::abi_enum! {
    /// `test_action_t` as it crosses the boundary.
    pub struct RawAction(u32);
    /// What a callback tells the host to do next.
    pub enum Action = "test_action_t" {
        /// Go on.
        CONTINUE => Continue = 0,
        /// Wait.
        PAUSE => Pause = 1,
    }
}

#[derive(Default)]
struct State {
    plugin: PluginState,
    /// What host functions saw, for the tests to look at afterwards.
    seen: Vec<String>,
}

impl HasPluginState for State {
    const TRACES_HOST_CALLS: bool = true;

    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

/// One engine for all tests: creating one is the slow part.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

fn module(wat: &str) -> Module {
    Module::new(engine(), wat).expect("the test's WAT is valid")
}

/// A linker whose `env.f(a, b, c, d)` runs `body` inside `shim`, registered
/// as generated code registers its shims.
fn linker_with(
    body: impl Fn(&mut HostCall<'_, State>, [u32; 4]) -> Result<(), Answer> + Send + Sync + 'static,
) -> Linker<State> {
    let mut linker = Linker::new(engine());
    let mut env = Imports::new(&mut linker, "env", &STATUSES);
    env.wrap4("f", move |call, a: u32, b: u32, c: u32, d: u32| {
        body(call, [a, b, c, d])
    })
    .expect("`env.f` is registered once");
    linker
}

/// A plugin whose export `call(a, b, c, d)` forwards to `env.f`, with
/// `rest` (memory, data, allocators...) spliced in.
fn forwarding(rest: &str) -> String {
    format!(
        r#"(module
            (import "env" "f" (func $f (param i32 i32 i32 i32) (result i32)))
            (func (export "call") (param i32 i32 i32 i32) (result i32)
                (call $f (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
            {rest})"#
    )
}

const MEMORY: &str = r#"(memory (export "memory") 1)"#;
const PAGE: u32 = 65536;

/// An instance made with a plain `Linker::instantiate`: host functions find
/// its memory and allocator by export name.
struct Guest {
    store: Store<State>,
    instance: Instance,
}

impl Guest {
    fn new(rest: &str, linker: &Linker<State>) -> Guest {
        let mut store = Store::new(engine(), State::default());
        let instance = linker
            .instantiate(&mut store, &module(&forwarding(rest)))
            .expect("instantiates");
        Guest { store, instance }
    }

    fn call(&mut self, args: [u32; 4]) -> wasmtime::Result<u32> {
        let call = self
            .instance
            .get_typed_func::<(u32, u32, u32, u32), u32>(&mut self.store, "call")
            .expect("`call` is exported");
        call.call(&mut self.store, args.into())
    }

    /// The status of a call that must not trap.
    fn status(&mut self, args: [u32; 4]) -> u32 {
        self.call(args).expect("no trap")
    }

    fn mem(&mut self) -> &mut [u8] {
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("`memory` is exported");
        memory.data_mut(&mut self.store)
    }

    fn u32_at(&mut self, at: u32) -> u32 {
        let at = at as usize;
        u32::from_le_bytes(self.mem()[at..at + 4].try_into().unwrap())
    }

    fn seen(&mut self) -> Vec<String> {
        std::mem::take(&mut self.store.data_mut().seen)
    }
}

/// A host error distinct from wasmtime's own, to find it in what the call
/// returned.
#[derive(Debug)]
struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

impl std::error::Error for Boom {}

#[test]
fn shim_answers_success_the_bodys_status_or_a_trap() {
    let linker = linker_with(|call, [what, ..]| {
        let running = call.state().running();
        call.data().seen.push(format!("{what} {running:?}"));
        match what {
            0 => Ok(()),
            1 => Err(Answer::Status(5)),
            _ => Err(Answer::Trap(wasmtime::Error::new(Boom))),
        }
    });
    let mut guest = Guest::new(MEMORY, &linker);
    assert_eq!(guest.status([0; 4]), 0);
    assert_eq!(guest.status([1, 0, 0, 0]), 5);
    let error = guest.call([2, 0, 0, 0]).unwrap_err();
    assert!(error.downcast_ref::<Boom>().is_some(), "{error:?}");
    // A raw export call is no callback: nothing runs as far as the rules go.
    assert_eq!(guest.seen(), ["0 None", "1 None", "2 None"]);
}

#[test]
fn a_test_host_answers_any_status_instead_of_running_the_function() {
    let linker = linker_with(|call, [what, ..]| {
        call.data().seen.push(format!("ran {what}"));
        Ok(())
    });
    let mut guest = Guest::new(MEMORY, &linker);
    guest.store.data_mut().plugin.trace_host_calls(true);
    guest.store.data_mut().plugin.answer_instead("f", Some(99));
    assert_eq!(guest.status([1, 0, 0, 0]), 99);
    assert!(guest.seen().is_empty(), "the body did not run");
    guest
        .store
        .data_mut()
        .plugin
        .answer_instead("other", Some(6));
    guest.store.data_mut().plugin.answer_instead("f", None);
    assert_eq!(guest.status([2, 0, 0, 0]), 0);
    assert_eq!(guest.seen(), ["ran 2"]);
    let statuses: Vec<_> = guest
        .store
        .data_mut()
        .plugin
        .take_host_calls()
        .iter()
        .map(|call| (call.function, call.status))
        .collect();
    assert_eq!(statuses, [("f", Some(99)), ("f", Some(0))]);
}

#[test]
fn a_plugin_without_a_memory_export_gets_the_memory_fault_status() {
    let linker = linker_with(|call, [what, ..]| match what {
        0 => call.memory().map(|_| ()),
        _ => call.return_bytes(b"value", 0, 4),
    });
    // A memory under another name is not the plugin's memory.
    let mut guest = Guest::new(r#"(memory (export "mem") 1)"#, &linker);
    assert_eq!(guest.status([0; 4]), 11);
    assert_eq!(guest.status([1, 0, 0, 0]), 11);
}

#[test]
fn out_slots_must_lie_in_memory() {
    let linker = linker_with(|call, [ptr, len, ..]| {
        let (mem, _) = call.memory()?;
        mem.out_slot(ptr, len)
    });
    let mut guest = Guest::new(MEMORY, &linker);
    assert_eq!(guest.status([PAGE - 4, 4, 0, 0]), 0);
    assert_eq!(guest.status([PAGE, 0, 0, 0]), 0);
    assert_eq!(guest.status([PAGE - 3, 4, 0, 0]), 11);
    assert_eq!(guest.status([u32::MAX, 4, 0, 0]), 11);
    assert_eq!(guest.status([4, u32::MAX, 0, 0]), 11);
}

#[test]
fn strings_answer_memory_fault_or_bad_argument() {
    let linker = linker_with(|call, [ptr, len, ..]| {
        let (mem, data) = call.memory()?;
        let text = mem.str(ptr, len)?;
        data.seen.push(text.to_owned());
        Ok(())
    });
    let mut guest = Guest::new(
        &format!(
            r#"{MEMORY}
            (data (i32.const 16) "hello")
            (data (i32.const 32) "h\c3\a9llo")
            (data (i32.const 48) "\ff")
            (data (i32.const 65533) "\e2\82\ac")"#
        ),
        &linker,
    );
    assert_eq!(guest.status([16, 5, 0, 0]), 0);
    assert_eq!(guest.status([32, 6, 0, 0]), 0);
    assert_eq!(guest.status([PAGE - 3, 3, 0, 0]), 0);
    assert_eq!(guest.status([PAGE, 0, 0, 0]), 0);
    assert_eq!(guest.seen(), ["hello", "héllo", "€", ""]);
    assert_eq!(guest.status([48, 1, 0, 0]), BAD_ARGUMENT);
    // Half of "é".
    assert_eq!(guest.status([32, 2, 0, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([PAGE - 3, 4, 0, 0]), 11);
    assert_eq!(guest.status([u32::MAX, u32::MAX, 0, 0]), 11);
    assert!(guest.seen().is_empty());
}

#[test]
fn maps_answer_memory_fault_or_bad_argument() {
    let linker = linker_with(|call, [ptr, len, ..]| {
        let (mem, data) = call.memory()?;
        for (key, value) in mem.map(ptr, len)? {
            let pair = format!(
                "{}={}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(value)
            );
            data.seen.push(pair);
        }
        Ok(())
    });
    let mut guest = Guest::new(MEMORY, &linker);
    let encoded = encode_map(&[(":path", "/"), ("x-empty", "")]);
    let len = encoded.len() as u32;
    guest.mem()[256..256 + encoded.len()].copy_from_slice(&encoded);
    assert_eq!(guest.status([256, len, 0, 0]), 0);
    assert_eq!(guest.seen(), [":path=/", "x-empty="]);
    assert_eq!(guest.status([256, 0, 0, 0]), 0, "no bytes: an empty map");
    assert_eq!(guest.status([256, len - 1, 0, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([256, len + 1, 0, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([PAGE - 2, len, 0, 0]), 11);
    assert!(guest.seen().is_empty());
}

#[test]
fn bytes_paths_and_addresses_are_checked() {
    let linker = linker_with(|call, [what, ptr, len, _]| {
        let (mut mem, data) = call.memory()?;
        match what {
            0 => data.seen.push(format!("{:?}", mem.bytes(ptr, len)?)),
            1 => mem.bytes_mut(ptr, len)?.fill(0xaa),
            2 => {
                let segments: Vec<&[u8]> = mem.path(ptr, len)?.segments().collect();
                data.seen.push(format!("{segments:?}"));
            }
            _ => mem.address(ptr)?,
        }
        Ok(())
    });
    let mut guest = Guest::new(
        &format!(r#"{MEMORY} (data (i32.const 16) "ab\00c\00")"#),
        &linker,
    );
    assert_eq!(guest.status([0, 16, 3, 0]), 0);
    assert_eq!(guest.status([0, PAGE - 1, 2, 0]), 11);
    assert_eq!(guest.status([1, PAGE - 6, 6, 0]), 0);
    assert_eq!(
        &guest.mem()[PAGE as usize - 7..],
        &[0, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]
    );
    assert_eq!(guest.status([1, PAGE - 5, 6, 0]), 11);
    assert_eq!(guest.status([2, 16, 5, 0]), 0);
    assert_eq!(guest.status([2, 16, 6, 0]), 0);
    assert_eq!(guest.status([2, PAGE, 1, 0]), 11);
    assert_eq!(
        guest.seen(),
        ["[97, 98, 0]", "[[97, 98], [99]]", "[[97, 98], [99], []]"]
    );
    // An address the host will use with a length it alone knows: it must
    // not lie past the end (the end itself passes, for an empty extent).
    assert_eq!(guest.status([3, PAGE - 1, 0, 0]), 0);
    assert_eq!(guest.status([3, PAGE, 0, 0]), 0);
    assert_eq!(guest.status([3, PAGE + 1, 0, 0]), 11);
    assert_eq!(guest.status([3, u32::MAX, 0, 0]), 11);
}

#[test]
fn out_slots_are_written_little_endian() {
    let linker = linker_with(|call, [at32, at64, ..]| {
        let (mut mem, _) = call.memory()?;
        mem.out_slot(at32, 4)?;
        mem.out_slot(at64, 8)?;
        mem.write_u32(at32, 0x0403_0201);
        mem.write_u64(at64, 0x0807_0605_0403_0201);
        // The whole memory stays reachable for raw-address host functions.
        mem.as_mut_slice()[0] = 0x5a;
        mem.guest()
            .write(1, b"!")
            .map_err(|_| Answer::Status(STATUSES.memory_fault))?;
        Ok(())
    });
    let mut guest = Guest::new(MEMORY, &linker);
    assert_eq!(guest.status([8, PAGE - 8, 0, 0]), 0);
    assert_eq!(
        &guest.mem()[..12],
        &[0x5a, b'!', 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
    );
    assert_eq!(&guest.mem()[PAGE as usize - 8..], &[1, 2, 3, 4, 5, 6, 7, 8]);
    // A slot one byte short fails before anything is written.
    guest.mem()[0] = 0;
    assert_eq!(guest.status([8, PAGE - 7, 0, 0]), 11);
    assert_eq!(guest.mem()[0], 0);
}

/// Writes a little-endian iovec table of `(ptr, len)` entries at `at`.
fn put_iovecs(mem: &mut [u8], at: usize, entries: &[(u32, u32)]) {
    for (i, (ptr, len)) in entries.iter().enumerate() {
        let entry = at + i * 8;
        mem[entry..entry + 4].copy_from_slice(&ptr.to_le_bytes());
        mem[entry + 4..entry + 8].copy_from_slice(&len.to_le_bytes());
    }
}

#[test]
fn iovecs_answer_memory_fault_or_bad_argument() {
    let linker = linker_with(|call, [ptr, count, ..]| {
        let (mem, data) = call.memory()?;
        let chunks = mem.iovecs(ptr, count)?;
        let total: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        data.seen.push(format!("{} {total}", chunks.len()));
        Ok(())
    });
    // 16 pages: a 1 MiB memory, so 4096 entries that each cover all of it
    // add up to 2^32 bytes.
    let mut guest = Guest::new(r#"(memory (export "memory") 16)"#, &linker);
    const MIB: u32 = 1 << 20;
    put_iovecs(guest.mem(), 64, &[(0, 3), (MIB - 1, 1)]);
    assert_eq!(guest.status([64, 2, 0, 0]), 0);
    put_iovecs(guest.mem(), 64, &[(0, 3), (MIB - 1, 2)]);
    assert_eq!(guest.status([64, 2, 0, 0]), 11);
    assert_eq!(
        guest.status([64, 0x2000_0000, 0, 0]),
        11,
        "count * 8 overflows"
    );
    assert_eq!(
        guest.status([MIB - 8, 2, 0, 0]),
        11,
        "table runs past the end"
    );
    // More than IOV_MAX entries are refused as `writev` refuses them, even
    // where their total would fit.
    put_iovecs(guest.mem(), 0, &[(0, MIB); 1025]);
    assert_eq!(guest.status([0, 1025, 0, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([0, 1024, 0, 0]), 0);
    assert_eq!(guest.seen(), ["2 4", "1024 1073741824"]);
}

#[test]
fn arguments_over_the_limits_are_bad_arguments_and_reach_no_host() {
    let linker = linker_with(|call, [what, ptr, len, _]| {
        let (mem, data) = call.memory()?;
        let seen = match what {
            0 => format!("{:?}", mem.bytes(ptr, len)?),
            1 => mem.str(ptr, len)?.to_owned(),
            2 => format!("{:?}", mem.path(ptr, len)?.as_bytes()),
            3 => format!("{} pairs", mem.map(ptr, len)?.len()),
            _ => format!("{} iovecs", mem.iovecs(ptr, len)?.len()),
        };
        data.seen.push(seen);
        Ok(())
    });
    let mut guest = Guest::new(MEMORY, &linker);
    Limits {
        argument_bytes: 4,
        map_bytes: 40,
        map_pairs: 2,
        ..Limits::NONE
    }
    .apply(&mut guest.store);
    guest.mem()[16..21].copy_from_slice(b"abcde");
    for what in 0..3 {
        assert_eq!(guest.status([what, 16, 4, 0]), 0, "{what}: at the limit");
        assert_eq!(guest.status([what, 16, 5, 0]), BAD_ARGUMENT, "{what}");
        // Where the memory ends first, a memory fault, whatever the length.
        assert_eq!(guest.status([what, PAGE - 2, 5, 0]), 11, "{what}");
    }
    let two = encode_map(&[("a", "1"), ("b", "2")]);
    let three = encode_map(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let long = encode_map(&[("a", "0123456789012345678901234567890123456789")]);
    for (at, map) in [(256, &two), (512, &three), (768, &long)] {
        guest.mem()[at..at + map.len()].copy_from_slice(map);
    }
    assert_eq!(guest.status([3, 256, two.len() as u32, 0]), 0);
    assert_eq!(guest.status([3, 512, three.len() as u32, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([3, 768, long.len() as u32, 0]), BAD_ARGUMENT);
    // A header claiming 2^32 - 1 pairs is refused before anything is
    // reserved for them.
    guest.mem()[1024..1028].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(guest.status([3, 1024, 12, 0]), BAD_ARGUMENT);
    // The iovecs' total counts against the argument limit.
    put_iovecs(guest.mem(), 2048, &[(16, 2), (18, 2), (20, 1)]);
    assert_eq!(guest.status([4, 2048, 2, 0]), 0);
    assert_eq!(guest.status([4, 2048, 3, 0]), BAD_ARGUMENT);
    assert_eq!(
        guest.seen(),
        [
            "[97, 98, 99, 100]",
            "abcd",
            "[97, 98, 99, 100]",
            "2 pairs",
            "2 iovecs"
        ]
    );
}

#[test]
fn enums_and_sizes_decode_to_bad_argument_or_the_status_named() {
    // `b` chooses: 0 decodes with the role, 1 with a status of its own.
    let linker = linker_with(|call, [raw, own, ..]| {
        let action: Action = if own == 0 {
            decode(raw)?
        } else {
            decode_or(raw, INVALID)?
        };
        call.data().seen.push(action.to_string());
        Ok(())
    });
    let mut guest = Guest::new(MEMORY, &linker);
    assert_eq!(guest.status([1, 0, 0, 0]), 0);
    assert_eq!(guest.status([0, 1, 0, 0]), 0);
    assert_eq!(guest.status([2, 0, 0, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([u32::MAX, 0, 0, 0]), BAD_ARGUMENT);
    assert_eq!(guest.status([2, 1, 0, 0]), INVALID);
    assert_eq!(guest.status([u32::MAX, 1, 0, 0]), INVALID);
    assert_eq!(guest.seen(), ["PAUSE", "CONTINUE"]);

    assert_eq!(to_u32(5).ok(), Some(5));
    assert_eq!(to_u32(u32::MAX as usize).ok(), Some(u32::MAX));
    assert!(matches!(
        to_u32(u32::MAX as usize + 1),
        Err(Answer::BadArgument)
    ));
    assert_eq!(Action::decode(1), Ok(Action::Pause));
}

#[test]
fn access_checks_answer_the_forbidden_status() {
    const FORBIDDEN: u32 = 9;
    static RULE: Rule = Rule::new(&[Grant {
        level: AccessLevel::Modify,
        running: CallbackId(3).bit(),
        paused: 0,
        before: 0,
        when: false,
    }]);
    let linker = linker_with(|call, [level, ..]| {
        let level = [AccessLevel::Read, AccessLevel::Call][level as usize];
        call.state().check(&RULE, level, Answer::Status(FORBIDDEN))
    });
    let mut guest = Guest::new(MEMORY, &linker);
    assert_eq!(guest.status([0; 4]), FORBIDDEN, "no callback runs");
    let saved = guest
        .store
        .data_mut()
        .plugin
        .enter(Some(Running::new(CallbackId(3), 1, false)), None);
    assert_eq!(guest.status([0; 4]), 0);
    assert_eq!(guest.status([1, 0, 0, 0]), FORBIDDEN, "Modify is not Call");
    guest.store.data_mut().plugin.leave(saved);
    guest.store.data_mut().plugin.enforce_access_rules(false);
    assert_eq!(guest.status([1, 0, 0, 0]), 0);
}

/// What `return_bytes` hands back in the tests below.
const VALUE: &[u8] = b"returned value";
const VALUE_LEN: u32 = VALUE.len() as u32;

/// A linker whose `env.f(ptr_out, size_out, what, _)` returns `VALUE`
/// (`what` 0), nothing (1), a string (2) or a map (3).
fn returning_linker() -> Linker<State> {
    linker_with(|call, [ptr_out, size_out, what, _]| match what {
        0 => call.return_bytes(VALUE, ptr_out, size_out),
        1 => call.return_bytes(b"", ptr_out, size_out),
        2 => call.return_str("ünï", ptr_out, size_out),
        _ => call.return_map(&[("k", "v")], ptr_out, size_out),
    })
}

/// A bump allocator from 1024 under `name`.
fn bump(name: &str) -> String {
    format!(
        r#"(global $next (mut i32) (i32.const 1024))
        (func (export "{name}") (param i32) (result i32)
            (global.get $next)
            (global.set $next (i32.add (global.get $next) (local.get 0))))"#
    )
}

/// An allocator under `name` that answers `body` (WAT instructions).
fn allocator(name: &str, body: &str) -> String {
    format!(r#"(func (export "{name}") (param i32) (result i32) {body})"#)
}

impl Guest {
    /// What a `return_bytes` call wrote to the slots at 0 and 4.
    fn returned(&mut self) -> Vec<u8> {
        let (ptr, len) = (self.u32_at(0), self.u32_at(4));
        self.mem()[ptr as usize..(ptr + len) as usize].to_vec()
    }
}

#[test]
fn return_bytes_prefers_proxy_on_memory_allocate_over_malloc() {
    let rest = format!(
        "{MEMORY} {} {}",
        bump("proxy_on_memory_allocate"),
        allocator("malloc", "(i32.const 4096)")
    );
    let mut guest = Guest::new(&rest, &returning_linker());
    assert_eq!(guest.status([0, 4, 0, 0]), 0);
    assert_eq!((guest.u32_at(0), guest.u32_at(4)), (1024, VALUE_LEN));
    assert_eq!(guest.returned(), VALUE);
    // A second value gets a fresh allocation.
    assert_eq!(guest.status([0, 4, 0, 0]), 0);
    assert_eq!(guest.u32_at(0), 1024 + VALUE_LEN);
    assert_eq!(guest.status([0, 4, 2, 0]), 0);
    assert_eq!(guest.returned(), "ünï".as_bytes());
    assert_eq!(guest.status([0, 4, 3, 0]), 0);
    assert_eq!(guest.returned(), encode_map(&[("k", "v")]));
}

#[test]
fn return_bytes_falls_back_to_malloc() {
    let rest = format!("{MEMORY} {}", bump("malloc"));
    let mut guest = Guest::new(&rest, &returning_linker());
    assert_eq!(guest.status([0, 4, 0, 0]), 0);
    assert_eq!((guest.u32_at(0), guest.u32_at(4)), (1024, VALUE_LEN));
    assert_eq!(guest.returned(), VALUE);
}

#[test]
fn return_bytes_without_an_allocator_is_a_memory_fault() {
    let mut guest = Guest::new(MEMORY, &returning_linker());
    guest.mem()[..8].fill(0xee);
    assert_eq!(guest.status([0, 4, 0, 0]), 11);
    assert_eq!(&guest.mem()[..8], &[0xee; 8], "slots untouched");
}

#[test]
fn return_bytes_with_a_wrongly_typed_allocator_is_a_memory_fault() {
    // The wrong type is not passed over for `malloc`.
    let rest = format!(
        r#"{MEMORY}
        (func (export "proxy_on_memory_allocate") (param i64) (result i32) (i32.const 1024))
        {}"#,
        bump("malloc")
    );
    let mut guest = Guest::new(&rest, &returning_linker());
    assert_eq!(guest.status([0, 4, 0, 0]), 11);
}

#[test]
fn return_bytes_when_the_allocator_answers_zero_is_a_memory_fault() {
    let rest = format!(
        "{MEMORY} {}",
        allocator("proxy_on_memory_allocate", "(i32.const 0)")
    );
    let mut guest = Guest::new(&rest, &returning_linker());
    assert_eq!(guest.status([0, 4, 0, 0]), 11);
    // An empty value needs no allocation, so 0 from the allocator does not
    // matter there: the slots get 0 and 0.
    guest.mem()[..8].fill(0xee);
    assert_eq!(guest.status([0, 4, 1, 0]), 0);
    assert_eq!((guest.u32_at(0), guest.u32_at(4)), (0, 0));
}

#[test]
fn return_bytes_checks_the_address_the_allocator_answers() {
    // The allocator answers whatever the test sets in the global `answer`.
    let rest = format!(
        r#"{MEMORY}
        (global $answer (export "answer") (mut i32) (i32.const 0))
        {}"#,
        allocator("proxy_on_memory_allocate", "(global.get $answer)")
    );
    let mut guest = Guest::new(&rest, &returning_linker());
    let answer = |guest: &mut Guest, ptr: u32| {
        let global = guest
            .instance
            .get_global(&mut guest.store, "answer")
            .unwrap();
        global.set(&mut guest.store, (ptr as i32).into()).unwrap();
        guest.status([0, 4, 0, 0])
    };
    assert_eq!(answer(&mut guest, PAGE - VALUE_LEN), 0, "ends at the end");
    assert_eq!(guest.returned(), VALUE);
    assert_eq!(answer(&mut guest, PAGE - VALUE_LEN + 1), 11);
    assert_eq!(answer(&mut guest, PAGE), 11);
    assert_eq!(answer(&mut guest, u32::MAX), 11);
}

#[test]
fn return_bytes_sees_memory_the_allocator_grew() {
    // The allocator grows memory by a page and answers the new page.
    let rest = format!(
        "{MEMORY} {}",
        allocator(
            "proxy_on_memory_allocate",
            "(i32.mul (memory.grow (i32.const 1)) (i32.const 65536))"
        )
    );
    let mut guest = Guest::new(&rest, &returning_linker());
    assert_eq!(guest.status([0, 4, 0, 0]), 0);
    assert_eq!(guest.u32_at(0), PAGE);
    assert_eq!(guest.mem().len(), 2 * PAGE as usize);
    assert_eq!(guest.returned(), VALUE);
}

#[test]
fn return_bytes_with_bad_out_slots_is_a_memory_fault() {
    let rest = format!("{MEMORY} {}", bump("proxy_on_memory_allocate"));
    let mut guest = Guest::new(&rest, &returning_linker());
    assert_eq!(guest.status([PAGE - 3, 4, 0, 0]), 11);
    assert_eq!(guest.status([0, PAGE - 3, 0, 0]), 11);
    assert_eq!(guest.status([0, PAGE - 3, 1, 0]), 11, "also when empty");
}

#[test]
fn an_allocator_that_traps_traps_the_plugin() {
    let rest = format!(
        "{MEMORY} {}",
        allocator("proxy_on_memory_allocate", "unreachable")
    );
    let mut guest = Guest::new(&rest, &returning_linker());
    let error = guest.call([0, 4, 0, 0]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached),
        "{error:?}"
    );
    // An empty value never calls it.
    assert_eq!(guest.status([0, 4, 1, 0]), 0);
}

// ---- Instantiation and callbacks through `PluginCore` ----

const MARKER: &str = "proxy_abi_version_0_2_1";

fn is_host_function(module: &str, name: &str) -> bool {
    module == "env" && name == "f"
}

static VERSION: Version = Version {
    marker: MARKER,
    is_host_function,
    // `RUNNING` is callback 3, `decide`'s place here.
    callback_names: &["on_start", "on_stop", "tick", "decide"],
};

/// What instantiating a forwarding plugin gives: the plugin and its `call`.
type Instantiated = Result<(PluginCore, Export<(u32, u32, u32, u32), u32>), PluginError>;

/// Instantiates a forwarding plugin (with the version marker) through
/// `PluginCore`, looking `call` up as its one callback.
fn instantiate(rest: &str, linker: &Linker<State>) -> (Store<State>, Instantiated) {
    let mut store = Store::new(engine(), State::default());
    let wat = forwarding(&format!(r#"(func (export "{MARKER}")) {rest}"#));
    let result = PluginCore::instantiate(&mut store, linker, &module(&wat), &VERSION, |lookup| {
        lookup.get("call")
    });
    (store, result)
}

/// The error of an instantiation that must fail (the callbacks it would
/// have returned are not `Debug`, so `unwrap_err` is not available).
fn refused<C>(result: Result<(PluginCore, C), PluginError>) -> PluginError {
    match result {
        Ok(_) => panic!("the plugin was instantiated"),
        Err(error) => error,
    }
}

/// Runs `call` as callback 3 for context 5.
const RUNNING: Running = Running {
    callback: CallbackId(3),
    context_id: 5,
    condition: false,
};

#[test]
fn a_module_without_the_marker_is_the_wrong_version() {
    let mut store = Store::new(engine(), State::default());
    let linker = Linker::new(engine());
    let none = module(r#"(module (memory (export "memory") 1))"#);
    let error =
        PluginCore::instantiate(&mut store, &linker, &none, &VERSION, |_| Ok(())).unwrap_err();
    assert!(
        matches!(&error, PluginError::WrongVersion { expected: MARKER, declared } if declared.is_empty())
    );
    assert_eq!(
        error.to_string(),
        "the module declares no Proxy-Wasm ABI version (no proxy_abi_version_* export); \
         expected proxy_abi_version_0_2_1"
    );

    let other = module(
        r#"(module (memory (export "memory") 1)
            (func (export "proxy_abi_version_0_1_0"))
            (global (export "proxy_abi_version_0_2_0") i32 (i32.const 0)))"#,
    );
    assert_eq!(declared_versions(&other), ["0.1.0", "0.2.0"]);
    let error =
        PluginCore::instantiate(&mut store, &linker, &other, &VERSION, |_| Ok(())).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the module declares proxy_abi_version_0_1_0, proxy_abi_version_0_2_0, \
         not proxy_abi_version_0_2_1"
    );
}

#[test]
fn a_module_must_export_its_memory_as_memory() {
    let (_, result) = instantiate(r#"(memory (export "mem") 1)"#, &returning_linker());
    let error = refused(result);
    assert!(matches!(error, PluginError::NoMemory));
    assert_eq!(error.to_string(), "the module does not export `memory`");
}

#[test]
fn a_callback_with_another_signature_is_refused() {
    let mut store = Store::new(engine(), State::default());
    let wat = format!(
        r#"(module {MEMORY} (func (export "{MARKER}"))
            (func (export "proxy_on_tick") (param i32)))"#
    );
    let result = PluginCore::instantiate(
        &mut store,
        &Linker::new(engine()),
        &module(&wat),
        &VERSION,
        |lookup| lookup.get::<(u32,), u32>("proxy_on_tick"),
    );
    let error = refused(result);
    assert!(matches!(
        error,
        PluginError::BadSignature {
            name: "proxy_on_tick",
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .starts_with("export `proxy_on_tick` has the wrong signature: "),
        "{error}"
    );
}

#[test]
fn a_missing_import_fails_instantiation() {
    let (_, result) = instantiate(MEMORY, &Linker::new(engine()));
    let error = refused(result);
    assert!(matches!(error, PluginError::Instantiate(_)));
    assert!(
        error.to_string().starts_with("instantiation failed: "),
        "{error}"
    );
}

#[test]
fn start_functions_run_in_order_outside_any_callback() {
    let linker = linker_with(|call, [which, ..]| {
        let state = call.state();
        let line = format!(
            "{which} {:?} {}",
            state.running(),
            state.effective_context()
        );
        state.switch_context(77);
        call.data().seen.push(line);
        Ok(())
    });
    let start = |n: u32| {
        format!("(i32.const {n}) (i32.const 0) (i32.const 0) (i32.const 0) (call $f) drop")
    };
    let rest = format!(
        r#"{MEMORY}
        (func (export "_initialize") {})
        (func (export "main") (param i32 i32) (result i32) {} (i32.const 0))
        (func (export "_start") {})"#,
        start(1),
        start(2),
        start(3)
    );
    let (mut store, result) = instantiate(&rest, &linker);
    result.expect("instantiates");
    // `_start` is skipped when `_initialize` is there. The start functions
    // run as one step: a context `_initialize` switches to is still the
    // effective one in `main`, but does not outlive the two.
    assert_eq!(store.data().seen, ["1 None 0", "2 None 77"]);
    assert_eq!(store.data_mut().plugin.effective_context(), 0);

    let rest = format!(r#"{MEMORY} (func (export "_start") {})"#, start(3));
    let (store, result) = instantiate(&rest, &linker);
    result.expect("instantiates");
    assert_eq!(store.data().seen, ["3 None 0"]);

    let rest = format!(r#"{MEMORY} (func (export "_start") unreachable)"#);
    let (_, result) = instantiate(&rest, &linker);
    let error = refused(result);
    assert!(matches!(error, PluginError::Start(_)));
    assert!(
        error
            .to_string()
            .starts_with("the module's start functions failed: "),
        "{error}"
    );
}

#[test]
fn a_callback_runs_as_running_and_the_state_is_restored() {
    let linker = linker_with(|call, [ptr_out, size_out, ..]| {
        let state = call.state();
        let line = format!("{:?} {}", state.running(), state.effective_context());
        state.switch_context(99);
        call.data().seen.push(line);
        // Inside a callback, through the recorded memory and allocator.
        call.return_bytes(VALUE, ptr_out, size_out)
    });
    let rest = format!("{MEMORY} {}", bump("proxy_on_memory_allocate"));
    let (mut store, result) = instantiate(&rest, &linker);
    let (core, call) = result.expect("instantiates");
    assert!(call.is_some(), "`call` is exported");
    assert_eq!(core.memory().data_size(&store), PAGE as usize);
    assert!(core.instance().get_func(&mut store, "call").is_some());
    // Only host imports and no table: the memory and allocator are recorded.
    assert!(format!("{core:?}").contains("slot: Some"), "{core:?}");

    let status = core.call::<_, _, u32>(&mut store, &call, RUNNING, After::Nothing, (0, 4, 0, 0));
    assert_eq!(status.unwrap(), Some(0));
    assert_eq!(
        store.data().seen,
        ["Some(Running { callback: CallbackId(3), context_id: 5, condition: false }) 5"]
    );
    let state = &mut store.data_mut().plugin;
    assert_eq!(state.running(), None);
    assert_eq!(
        state.effective_context(),
        0,
        "the switch ended with the callback"
    );
    let bytes = core.memory().data(&store);
    assert_eq!(&bytes[..8], &[0, 4, 0, 0, VALUE_LEN as u8, 0, 0, 0]);
    assert_eq!(&bytes[1024..1024 + VALUE.len()], VALUE);
}

#[test]
fn a_pre_checks_and_links_once_for_instances_in_many_stores() {
    let linker =
        linker_with(|call, [ptr_out, size_out, ..]| call.return_bytes(VALUE, ptr_out, size_out));
    let wat = forwarding(&format!(
        r#"(func (export "{MARKER}")) {MEMORY} {}"#,
        bump("proxy_on_memory_allocate")
    ));
    let pre = PluginCorePre::new(&linker, &module(&wat), &VERSION).expect("checks and links");
    for _ in 0..3 {
        let mut store = Store::new(engine(), State::default());
        let (core, call) = pre
            .clone()
            .instantiate(&mut store, |lookup| lookup.get("call"))
            .unwrap_or_else(|e| panic!("instantiates: {e}"));
        assert!(format!("{core:?}").contains("slot: Some"), "{core:?}");
        let status =
            core.call::<_, _, u32>(&mut store, &call, RUNNING, After::Nothing, (0, 4, 0, 0));
        assert_eq!(status.unwrap(), Some(0));
        let bytes = core.memory().data(&store);
        assert_eq!(&bytes[1024..1024 + VALUE.len()], VALUE);
    }
    // What the pre checks, it checks before any store is involved.
    let no_marker = module(&forwarding(MEMORY));
    let wrong = PluginCorePre::new(&linker, &no_marker, &VERSION).err();
    assert!(matches!(wrong, Some(PluginError::WrongVersion { .. })));
    let no_memory = module(&forwarding(&format!(
        r#"(func (export "{MARKER}")) (memory (export "mem") 1)"#
    )));
    let refused = PluginCorePre::new(&linker, &no_memory, &VERSION).err();
    assert!(matches!(refused, Some(PluginError::NoMemory)));
    let empty: Linker<State> = Linker::new(engine());
    let unlinked = PluginCorePre::new(&empty, &module(&wat), &VERSION).err();
    assert!(matches!(unlinked, Some(PluginError::Instantiate(_))));
}

#[test]
fn a_module_exporting_a_table_looks_its_memory_up_by_name() {
    let rest = format!(
        r#"{MEMORY} (table (export "table") 1 funcref) {}"#,
        bump("malloc")
    );
    let (mut store, result) = instantiate(&rest, &returning_linker());
    let (core, call) = result.expect("instantiates");
    // Others could put their functions in its table: nothing is recorded,
    // and host functions find the memory and allocator by name instead.
    assert!(format!("{core:?}").contains("slot: None"), "{core:?}");
    let status = core.call::<_, _, u32>(&mut store, &call, RUNNING, After::Nothing, (0, 4, 0, 0));
    assert_eq!(status.unwrap(), Some(0));
    assert_eq!(
        &core.memory().data(&store)[..8],
        &[0, 4, 0, 0, VALUE_LEN as u8, 0, 0, 0]
    );
}

/// A plugin whose `decide(context, value)` returns `value`.
fn deciding() -> (Store<State>, PluginCore, Export<(u32, u32), u32>) {
    let mut store = Store::new(engine(), State::default());
    let wat = format!(
        r#"(module {MEMORY} (func (export "{MARKER}"))
            (func (export "decide") (param i32 i32) (result i32)
                (if (i32.eq (local.get 1) (i32.const 99)) (then unreachable))
                (local.get 1)))"#
    );
    let (core, decide) = PluginCore::instantiate(
        &mut store,
        &Linker::new(engine()),
        &module(&wat),
        &VERSION,
        |lookup| lookup.get("decide"),
    )
    .expect("instantiates");
    assert!(decide.is_some(), "`decide` is exported");
    (store, core, decide)
}

#[test]
fn returning_the_pause_value_pauses_the_stream() {
    let (mut store, core, decide) = deciding();
    store.data_mut().plugin.created(5, 1);
    let pause = After::Pauses(RawAction::PAUSE.0);
    let value = core.call::<_, _, u32>(&mut store, &decide, RUNNING, pause, (5, 1));
    assert_eq!(value.unwrap(), Some(1));
    assert!(store.data_mut().plugin.is_paused(5, CallbackId(3)));
    assert_eq!(Action::convert(1), Some(Action::Pause));

    let value = core.call::<_, _, u32>(&mut store, &decide, RUNNING, pause, (5, 0));
    assert_eq!(value.unwrap(), Some(0));
    assert!(!store.data_mut().plugin.is_paused(5, CallbackId(3)));

    // Paused again, then the callback is not exported: it passes as if it
    // had continued.
    core.call::<_, _, u32>(&mut store, &decide, RUNNING, pause, (5, 1))
        .unwrap();
    let none: Export<(u32, u32), u32> = None;
    let value = core.call::<_, _, u32>(&mut store, &none, RUNNING, pause, (5, 1));
    assert_eq!(value.unwrap(), None);
    assert!(!store.data_mut().plugin.is_paused(5, CallbackId(3)));
}

#[test]
fn a_callback_that_is_not_exported_is_ok_none() {
    let (mut store, core, _) = deciding();
    let none: Export<(u32,), ()> = None;
    let value = core.call::<_, _, ()>(&mut store, &none, RUNNING, After::Nothing, (5,));
    assert_eq!(value.unwrap(), None);
    assert_eq!(store.data_mut().plugin.running(), None);
}

#[test]
fn deleting_callbacks_forget_the_stream_even_when_absent_or_trapping() {
    let (mut store, core, decide) = deciding();
    let paused_stream = |store: &mut Store<State>| {
        let state = &mut store.data_mut().plugin;
        state.created(5, 1);
        state.returned(CallbackId(3), 5, true);
        assert!(state.is_paused(5, CallbackId(3)));
    };
    // `Deletes` does not touch pauses: a stream no longer paused is gone.
    let is_known = |store: &mut Store<State>| store.data_mut().plugin.is_paused(5, CallbackId(3));

    paused_stream(&mut store);
    let value = core.call::<_, _, u32>(&mut store, &decide, RUNNING, After::Deletes, (5, 0));
    assert_eq!(value.unwrap(), Some(0));
    assert!(!is_known(&mut store));

    paused_stream(&mut store);
    let none: Export<(u32, u32), u32> = None;
    assert_eq!(
        core.call::<_, _, u32>(&mut store, &none, RUNNING, After::Deletes, (5, 0))
            .unwrap(),
        None
    );
    assert!(!is_known(&mut store));

    paused_stream(&mut store);
    let error = core
        .call::<_, _, u32>(&mut store, &decide, RUNNING, After::Deletes, (5, 99))
        .unwrap_err();
    assert!(matches!(error, CallError::Trap(_)));
    assert!(!is_known(&mut store));
    // A trap leaves the state as it was before the call.
    assert_eq!(store.data_mut().plugin.running(), None);
}

#[test]
fn a_trap_is_reported_and_leaves_pauses_alone() {
    let (mut store, core, decide) = deciding();
    store.data_mut().plugin.created(5, 1);
    store.data_mut().plugin.returned(CallbackId(3), 5, true);
    let pause = After::Pauses(RawAction::PAUSE.0);
    let error = core
        .call::<_, _, u32>(&mut store, &decide, RUNNING, pause, (5, 99))
        .unwrap_err();
    assert!(
        error.to_string().starts_with("the plugin trapped: "),
        "{error}"
    );
    let CallError::Trap(trap) = error else {
        panic!("not a trap: {error:?}");
    };
    assert_eq!(
        trap.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert!(store.data_mut().plugin.is_paused(5, CallbackId(3)));
    // The store stays usable.
    let value = core.call::<_, _, u32>(&mut store, &decide, RUNNING, pause, (5, 0));
    assert_eq!(value.unwrap(), Some(0));
}

#[test]
fn a_value_the_version_does_not_define_is_a_bad_return() {
    let (mut store, core, decide) = deciding();
    let value = core
        .call::<_, _, u32>(&mut store, &decide, RUNNING, After::Nothing, (5, 7))
        .unwrap();
    assert_eq!(value, Some(7));
    // The same value read as an `Action` is not one.
    let error = core
        .call::<_, _, Action>(&mut store, &decide, RUNNING, After::Nothing, (5, 7))
        .unwrap_err();
    assert!(matches!(
        error,
        CallError::BadReturn {
            callback: "decide",
            value: 7
        }
    ));
    assert_eq!(
        error.to_string(),
        "`decide` returned 7, which is not a valid value"
    );
    let value = core.call::<_, _, Action>(&mut store, &decide, RUNNING, After::Nothing, (5, 0));
    assert_eq!(value.unwrap(), Some(Action::Continue));
}

#[test]
fn a_panicking_host_function_still_restores_the_state() {
    let linker = linker_with(|call, _| {
        call.state().switch_context(42);
        panic!("a host function panicked");
    });
    let (mut store, result) = instantiate(MEMORY, &linker);
    let (core, call) = result.expect("instantiates");
    let outer = Running::new(CallbackId(1), 8, false);
    let saved = store.data_mut().plugin.enter(Some(outer), None);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        core.call::<_, _, u32>(&mut store, &call, RUNNING, After::Nothing, (0, 0, 0, 0))
    }));
    assert!(panicked.is_err());
    // Back to the callback that was running around the call.
    assert_eq!(store.data_mut().plugin.running(), Some(outer));
    assert_eq!(store.data_mut().plugin.effective_context(), 8);
    store.data_mut().plugin.leave(saved);
    assert_eq!(store.data_mut().plugin.running(), None);
}

#[test]
fn host_calls_are_traced_only_when_asked() {
    let linker = linker_with(|_, [status, ..]| match status {
        0 => Ok(()),
        u32::MAX => Err(Answer::Trap(wasmtime::Error::msg("host trap"))),
        status => Err(Answer::Status(status)),
    });
    let mut guest = Guest::new(MEMORY, &linker);
    assert_eq!(guest.status([0; 4]), 0);
    assert!(
        guest.store.data_mut().plugin.take_host_calls().is_empty(),
        "off by default"
    );

    guest.store.data_mut().plugin.trace_host_calls(true);
    assert_eq!(guest.status([0; 4]), 0);
    assert_eq!(guest.status([INVALID, 0, 0, 0]), INVALID);
    assert!(guest.call([u32::MAX, 0, 0, 0]).is_err());
    let state = &mut guest.store.data_mut().plugin;
    let seen: Vec<_> = state
        .host_calls()
        .iter()
        .map(|c| (c.function, c.status, c.running))
        .collect();
    assert_eq!(
        seen,
        [
            ("f", Some(0), None),
            ("f", Some(INVALID), None),
            ("f", None, None)
        ]
    );
    assert_eq!(state.take_host_calls().len(), 3);
    assert!(state.host_calls().is_empty(), "taken");
    state.trace_host_calls(false);
    assert_eq!(guest.status([0; 4]), 0);
    assert!(guest.store.data_mut().plugin.take_host_calls().is_empty());
}
