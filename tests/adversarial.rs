//! Adversarial tests of the generated v0.2.1 wasmtime host
//! (`proxy_wasm_abi_macros::host!({ version: "0.2.1" })`, checked in as
//! `generated/rust/host/v0_2_1.rs`).
//!
//! A plugin is untrusted, so the host boundary is a security boundary. Every
//! case below is a small WAT module that calls one of the 47 `env` and
//! `wasi_snapshot_preview1` host functions with a bad (or borderline) input,
//! and asserts:
//!
//! - the exact status or errno the description (`abi-spec/proxy-wasm.abi`)
//!   prescribes: its `@role(memory_fault)` status for pointers, its
//!   `@role(bad_argument)` status (or the parameter's `@on_invalid`) for
//!   unknown enum values, malformed maps and non-UTF-8 strings;
//! - how many times the test [`Host`] was reached (0 for a rejected input);
//! - that the host survived: a later good call on the same store and
//!   instance succeeds and reaches the host exactly once.
//!
//! The cases form one table ([`all_cases`]) driven by one loop
//! ([`adversarial_inputs_are_rejected_and_the_host_survives`]) that runs each
//! in a fresh store, collects every failure and reports them all at the end.
//!
//! # Bugs this suite found in the generated host (fixed in the generator)
//!
//! 1. Raw pointers (`environ_get`'s `return_array`/`return_buffer`,
//!    `args_get`'s `return_argv`/`return_argv_size`) reached the `Host`
//!    unchecked, as bare addresses it had no memory to check against. Now an
//!    address past the end of memory gets the memory-fault status (`FAULT`)
//!    before the `Host` runs, and the `Host` receives the memory with them.
//! 2. `fd_write`'s byte count was narrowed with `as u32`: aliasing iovecs can
//!    total more than `u32::MAX`. Now such a call gets the bad-argument errno
//!    (`INVAL`) before the `Host` runs, and every `usize` output is checked.
//!
//! Everything else holds: 47 functions, every pointer and length checked
//! (including wrapping and zero-length edges), every enum, malformed maps,
//! non-UTF-8 strings, misbehaving allocators (a trap comes back as a trap of
//! the calling export, and the store stays usable).

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use proxy_wasm_abi::serial::PropertyPath;

mod v0_2_1 {
    proxy_wasm_abi_macros::host!({ version: "0.2.1" });
}

use v0_2_1::{
    BufferType, HasPluginState, Host, LogLevel, MapType, MetricType, Plugin, PluginState, Status,
    StreamType, WasiClockId, WasiErrno, WasiFdId, serial,
};

// ---------------------------------------------------------------------------
// Statuses, as the description's roles give them
// ---------------------------------------------------------------------------

const OK: u32 = 0;
/// `proxy_status_t` `@role(bad_argument)`.
const BAD_ARGUMENT: u32 = 2;
/// `proxy_status_t` `@role(memory_fault)`.
const INVALID_MEMORY_ACCESS: u32 = 6;
/// `wasi_errno_t` `@on_invalid(BADF)` on `fd_write`'s `fd_id`.
const BADF: u32 = 8;
/// `wasi_errno_t` `@role(memory_fault)`.
const FAULT: u32 = 21;
/// `wasi_errno_t` `@role(bad_argument)`.
const INVAL: u32 = 28;
/// `wasi_errno_t` `@on_invalid(NOTSUP)` on `clock_time_get`'s `clock_id`.
const NOTSUP: u32 = 58;

// ---------------------------------------------------------------------------
// The plugin's memory layout
// ---------------------------------------------------------------------------

/// One wasm page: the size of every test module's memory unless a case says
/// otherwise.
const M: u32 = 65536;
/// "ok", logged by the follow-up good call.
const OK_AT: u32 = 0x100;
/// A valid `string` argument.
const STR_AT: u32 = 0x200;
const STR: &[u8] = b"x-key";
/// A valid `bytes` argument.
const BYTES_AT: u32 = 0x240;
const BYTES: &[u8] = b"body!";
/// A valid serialized map argument.
const MAP_AT: u32 = 0x280;
/// A valid property path argument (`a`, `b`).
const PATH_AT: u32 = 0x300;
const PATH: &[u8] = b"a\0b";
/// A valid WASI iovec table: one entry pointing at `BYTES`.
const IOV_AT: u32 = 0x340;
/// A valid `random_get` buffer.
const BUF_AT: u32 = 0x380;
const BUF_LEN: u32 = 16;
/// A valid raw pointer (environ_get / args_get).
const RAW_AT: u32 = 0x3c0;
/// Output slots, 16 bytes apart, pre-filled with 0xEE so that every write
/// (even of a zero) is visible.
const OUT_AT: u32 = 0x400;
const OUT_FILL: u8 = 0xee;
/// Where cases put their own data (malformed maps, strings, iovecs).
const SCRATCH: u32 = 0x800;
/// Where the bump allocator starts.
const HEAP: u32 = 0x8000;

fn base_map() -> Vec<u8> {
    serial::encode_map(&[("a", "1"), ("bb", "22")])
}

// ---------------------------------------------------------------------------
// The test host: plausible successful answers, and a record of every call
// ---------------------------------------------------------------------------

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Returned by every host function that returns a buffer (unless a case
/// overrides it with [`TestHost::value`]).
const VALUE: &[u8] = b"value";
const STATUS_MESSAGE: &str = "status-msg";
const HOST_PAIRS: [(&str, &str); 2] = [("k1", "v1"), ("key2", "")];
const TIME: u64 = 0x0102_0304_0506_0708;
const METRIC_VALUE: u64 = 0xfedc_ba98_7654_3210;

#[derive(Default)]
struct TestHost {
    /// Every `Host` method reached, in order.
    calls: Vec<&'static str>,
    strings: Vec<String>,
    bytes: Vec<Vec<u8>>,
    maps: Vec<Pairs>,
    paths: Vec<Vec<Vec<u8>>>,
    /// The entry lengths of each `fd_write`.
    iovecs: Vec<Vec<usize>>,
    flags: Vec<bool>,
    numbers: Vec<u64>,
    /// Overrides [`VALUE`].
    value: Option<Vec<u8>>,
    plugin: PluginState,
}

impl HasPluginState for TestHost {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl TestHost {
    fn hit(&mut self, name: &'static str) {
        self.calls.push(name);
    }
    fn value(&self) -> Vec<u8> {
        self.value.clone().unwrap_or_else(|| VALUE.to_vec())
    }
    fn map(&mut self, pairs: &[(&[u8], &[u8])]) {
        self.maps.push(
            pairs
                .iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect(),
        );
    }
    fn string(&mut self, s: &str) {
        self.strings.push(s.to_string());
    }
    fn written(&self) -> u64 {
        self.iovecs
            .last()
            .map_or(0, |iov| iov.iter().map(|n| *n as u64).sum())
    }
}

fn host_pairs() -> Pairs {
    HOST_PAIRS
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

impl Host for TestHost {
    fn proxy_done(&mut self) -> Result<(), Status> {
        self.hit("proxy_done");
        Ok(())
    }
    fn proxy_set_effective_context(&mut self, context_id: u32) -> Result<(), Status> {
        self.hit("proxy_set_effective_context");
        self.numbers.push(context_id.into());
        Ok(())
    }
    fn proxy_log(&mut self, _log_level: LogLevel, message: &str) -> Result<(), Status> {
        self.hit("proxy_log");
        self.string(message);
        Ok(())
    }
    fn fd_write(&mut self, _fd_id: WasiFdId, iovec: &[&[u8]]) -> Result<usize, WasiErrno> {
        self.hit("fd_write");
        self.iovecs.push(iovec.iter().map(|s| s.len()).collect());
        Ok(iovec.iter().map(|s| s.len()).sum())
    }
    fn proxy_get_log_level(&mut self) -> Result<LogLevel, Status> {
        self.hit("proxy_get_log_level");
        Ok(LogLevel::Info)
    }
    fn proxy_get_current_time_nanoseconds(&mut self) -> Result<u64, Status> {
        self.hit("proxy_get_current_time_nanoseconds");
        Ok(TIME)
    }
    fn clock_time_get(&mut self, _clock_id: WasiClockId) -> Result<u64, WasiErrno> {
        self.hit("clock_time_get");
        Ok(TIME)
    }
    fn proxy_set_tick_period_milliseconds(&mut self, tick_period: u32) -> Result<(), Status> {
        self.hit("proxy_set_tick_period_milliseconds");
        self.numbers.push(tick_period.into());
        Ok(())
    }
    fn random_get(&mut self, buffer: &mut [u8]) -> Result<(), WasiErrno> {
        self.hit("random_get");
        buffer.fill(0xaa);
        Ok(())
    }
    fn environ_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno> {
        self.hit("environ_sizes_get");
        Ok((0, 0))
    }
    fn environ_get(
        &mut self,
        _memory: &mut [u8],
        _return_array: u32,
        _return_buffer: u32,
    ) -> Result<(), WasiErrno> {
        self.hit("environ_get");
        Ok(())
    }
    fn proxy_set_buffer_bytes(
        &mut self,
        _buffer_id: BufferType,
        _start: usize,
        _size: usize,
        value: &[u8],
    ) -> Result<(), Status> {
        self.hit("proxy_set_buffer_bytes");
        self.bytes.push(value.to_vec());
        Ok(())
    }
    fn proxy_get_buffer_bytes(
        &mut self,
        _buffer_id: BufferType,
        _start: usize,
        _max_size: usize,
    ) -> Result<Vec<u8>, Status> {
        self.hit("proxy_get_buffer_bytes");
        Ok(self.value())
    }
    fn proxy_get_buffer_status(&mut self, _buffer_id: BufferType) -> Result<usize, Status> {
        self.hit("proxy_get_buffer_status");
        Ok(self.value().len())
    }
    fn proxy_get_header_map_size(&mut self, _map_id: MapType) -> Result<usize, Status> {
        self.hit("proxy_get_header_map_size");
        Ok(serial::encode_map(&HOST_PAIRS).len())
    }
    fn proxy_get_header_map_pairs(&mut self, _map_id: MapType) -> Result<Pairs, Status> {
        self.hit("proxy_get_header_map_pairs");
        Ok(host_pairs())
    }
    fn proxy_set_header_map_pairs(
        &mut self,
        _map_id: MapType,
        pairs: &[(&[u8], &[u8])],
    ) -> Result<(), Status> {
        self.hit("proxy_set_header_map_pairs");
        self.map(pairs);
        Ok(())
    }
    fn proxy_get_header_map_value(
        &mut self,
        _map_id: MapType,
        key: &str,
    ) -> Result<Vec<u8>, Status> {
        self.hit("proxy_get_header_map_value");
        self.string(key);
        Ok(self.value())
    }
    fn proxy_add_header_map_value(
        &mut self,
        _map_id: MapType,
        key: &str,
        value: &[u8],
    ) -> Result<(), Status> {
        self.hit("proxy_add_header_map_value");
        self.string(key);
        self.bytes.push(value.to_vec());
        Ok(())
    }
    fn proxy_replace_header_map_value(
        &mut self,
        _map_id: MapType,
        key: &str,
        value: &[u8],
    ) -> Result<(), Status> {
        self.hit("proxy_replace_header_map_value");
        self.string(key);
        self.bytes.push(value.to_vec());
        Ok(())
    }
    fn proxy_remove_header_map_value(&mut self, _map_id: MapType, key: &str) -> Result<(), Status> {
        self.hit("proxy_remove_header_map_value");
        self.string(key);
        Ok(())
    }
    fn proxy_continue_stream(&mut self, _stream_type: StreamType) -> Result<(), Status> {
        self.hit("proxy_continue_stream");
        Ok(())
    }
    fn proxy_close_stream(&mut self, _stream_type: StreamType) -> Result<(), Status> {
        self.hit("proxy_close_stream");
        Ok(())
    }
    fn proxy_get_status(&mut self) -> Result<(u32, String), Status> {
        self.hit("proxy_get_status");
        Ok((200, STATUS_MESSAGE.to_string()))
    }
    fn proxy_send_local_response(
        &mut self,
        _status_code: u32,
        status_code_details: &str,
        body: &[u8],
        headers: &[(&[u8], &[u8])],
        _grpc_status: u32,
    ) -> Result<(), Status> {
        self.hit("proxy_send_local_response");
        self.string(status_code_details);
        self.bytes.push(body.to_vec());
        self.map(headers);
        Ok(())
    }
    fn proxy_http_call(
        &mut self,
        upstream_name: &str,
        headers: &[(&[u8], &[u8])],
        body: &[u8],
        trailers: &[(&[u8], &[u8])],
        _timeout: u32,
    ) -> Result<u32, Status> {
        self.hit("proxy_http_call");
        self.string(upstream_name);
        self.map(headers);
        self.bytes.push(body.to_vec());
        self.map(trailers);
        Ok(7)
    }
    fn proxy_grpc_call(
        &mut self,
        upstream_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: &[(&[u8], &[u8])],
        message: &[u8],
        _timeout: u32,
    ) -> Result<u32, Status> {
        self.hit("proxy_grpc_call");
        self.string(upstream_name);
        self.string(service_name);
        self.string(method_name);
        self.map(initial_metadata);
        self.bytes.push(message.to_vec());
        Ok(8)
    }
    fn proxy_grpc_stream(
        &mut self,
        upstream_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: &[(&[u8], &[u8])],
    ) -> Result<u32, Status> {
        self.hit("proxy_grpc_stream");
        self.string(upstream_name);
        self.string(service_name);
        self.string(method_name);
        self.map(initial_metadata);
        Ok(9)
    }
    fn proxy_grpc_send(
        &mut self,
        _stream_id: u32,
        message: &[u8],
        end_stream: bool,
    ) -> Result<(), Status> {
        self.hit("proxy_grpc_send");
        self.bytes.push(message.to_vec());
        self.flags.push(end_stream);
        Ok(())
    }
    fn proxy_grpc_cancel(&mut self, call_or_stream_id: u32) -> Result<(), Status> {
        self.hit("proxy_grpc_cancel");
        self.numbers.push(call_or_stream_id.into());
        Ok(())
    }
    fn proxy_grpc_close(&mut self, call_or_stream_id: u32) -> Result<(), Status> {
        self.hit("proxy_grpc_close");
        self.numbers.push(call_or_stream_id.into());
        Ok(())
    }
    fn proxy_set_shared_data(&mut self, key: &str, value: &[u8], _cas: u32) -> Result<(), Status> {
        self.hit("proxy_set_shared_data");
        self.string(key);
        self.bytes.push(value.to_vec());
        Ok(())
    }
    fn proxy_get_shared_data(&mut self, key: &str) -> Result<(Vec<u8>, u32), Status> {
        self.hit("proxy_get_shared_data");
        self.string(key);
        Ok((self.value(), 42))
    }
    fn proxy_register_shared_queue(&mut self, name: &str) -> Result<u32, Status> {
        self.hit("proxy_register_shared_queue");
        self.string(name);
        Ok(3)
    }
    fn proxy_resolve_shared_queue(&mut self, vm_id: &str, name: &str) -> Result<u32, Status> {
        self.hit("proxy_resolve_shared_queue");
        self.string(vm_id);
        self.string(name);
        Ok(4)
    }
    fn proxy_enqueue_shared_queue(&mut self, _queue_id: u32, value: &[u8]) -> Result<(), Status> {
        self.hit("proxy_enqueue_shared_queue");
        self.bytes.push(value.to_vec());
        Ok(())
    }
    fn proxy_dequeue_shared_queue(&mut self, _queue_id: u32) -> Result<Vec<u8>, Status> {
        self.hit("proxy_dequeue_shared_queue");
        Ok(self.value())
    }
    fn proxy_define_metric(&mut self, _metric_type: MetricType, name: &str) -> Result<u32, Status> {
        self.hit("proxy_define_metric");
        self.string(name);
        Ok(5)
    }
    fn proxy_record_metric(&mut self, _metric_id: u32, value: u64) -> Result<(), Status> {
        self.hit("proxy_record_metric");
        self.numbers.push(value);
        Ok(())
    }
    fn proxy_increment_metric(&mut self, _metric_id: u32, delta: i64) -> Result<(), Status> {
        self.hit("proxy_increment_metric");
        self.numbers.push(delta as u64);
        Ok(())
    }
    fn proxy_get_metric(&mut self, _metric_id: u32) -> Result<u64, Status> {
        self.hit("proxy_get_metric");
        Ok(METRIC_VALUE)
    }
    fn proxy_get_property(&mut self, path: PropertyPath<'_>) -> Result<Vec<u8>, Status> {
        self.hit("proxy_get_property");
        self.paths
            .push(path.segments().map(<[u8]>::to_vec).collect());
        Ok(self.value())
    }
    fn proxy_set_property(&mut self, path: PropertyPath<'_>, value: &[u8]) -> Result<(), Status> {
        self.hit("proxy_set_property");
        self.paths
            .push(path.segments().map(<[u8]>::to_vec).collect());
        self.bytes.push(value.to_vec());
        Ok(())
    }
    fn proxy_call_foreign_function(
        &mut self,
        name: &str,
        arguments: &[u8],
    ) -> Result<Vec<u8>, Status> {
        self.hit("proxy_call_foreign_function");
        self.string(name);
        self.bytes.push(arguments.to_vec());
        Ok(self.value())
    }
    fn args_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno> {
        self.hit("args_sizes_get");
        Ok((0, 0))
    }
    fn args_get(
        &mut self,
        _memory: &mut [u8],
        _return_argv: u32,
        _return_argv_size: u32,
    ) -> Result<(), WasiErrno> {
        self.hit("args_get");
        Ok(())
    }
    fn proc_exit(&mut self, exit_code: u32) {
        self.hit("proc_exit");
        self.numbers.push(exit_code.into());
    }
}

// ---------------------------------------------------------------------------
// The 47 host functions, as parameter lists the case builder understands
// ---------------------------------------------------------------------------

/// What a slice parameter (pointer and length) holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `string`: UTF-8.
    Str,
    /// `bytes`.
    Bytes,
    /// `map`: a serialized map.
    Map,
    /// `path`: a property path.
    Path,
    /// `buffer`: plugin memory the host fills (random_get).
    Buf,
    /// `iovecs`: a WASI iovec table; the length is a count of 8-byte entries.
    Iov,
}

/// One ABI parameter of a host function.
#[derive(Clone, Copy, Debug)]
enum P {
    /// An enum: the values it accepts (`min..=max`), some it does not, and
    /// its `@on_invalid` status if any.
    Enum {
        min: u32,
        max: u32,
        bad: &'static [u32],
        on_invalid: Option<u32>,
    },
    /// A plain 32-bit value (any value is acceptable).
    U32(u32),
    /// A plain 64-bit value (any value is acceptable).
    U64(u64),
    /// A pointer and length the host reads (or fills, for `Buf`).
    In(Kind),
    /// A pointer to a 4-byte output slot.
    Out4,
    /// A pointer to an 8-byte output slot.
    Out8,
    /// Two pointers to 4-byte slots receiving an allocated buffer's address
    /// and size.
    OutBuf,
    /// A raw pointer with an `@extent`; `checked` when the description gives
    /// the function a memory-fault status for it.
    Raw { checked: bool },
}

/// What a successful call must have written to an output parameter.
#[derive(Clone, Copy, Debug)]
enum Out {
    U32(u32),
    U64(u64),
    /// [`TestHost::value`] (an `out bytes` parameter).
    Value,
    /// [`HOST_PAIRS`], serialized.
    Pairs,
    /// [`STATUS_MESSAGE`].
    Message,
    /// The byte count of the last `fd_write`.
    Written,
}

struct F {
    name: &'static str,
    wasi: bool,
    params: &'static [(&'static str, P)],
    /// One entry per `Out4`, `Out8` or `OutBuf` parameter, in order.
    outs: &'static [Out],
    /// `false` for `proc_exit`, which never returns to the plugin.
    returns: bool,
}

impl F {
    fn module(&self) -> &'static str {
        if self.wasi {
            "wasi_snapshot_preview1"
        } else {
            "env"
        }
    }
    fn memory_fault(&self) -> u32 {
        if self.wasi {
            FAULT
        } else {
            INVALID_MEMORY_ACCESS
        }
    }
    fn bad_argument(&self) -> u32 {
        if self.wasi { INVAL } else { BAD_ARGUMENT }
    }
    fn import(&self) -> String {
        let mut params = String::new();
        for (_, p) in self.params {
            params.push_str(match p {
                P::U64(_) => " i64",
                P::In(_) | P::OutBuf => " i32 i32",
                _ => " i32",
            });
        }
        let result = if self.returns { " (result i32)" } else { "" };
        format!(
            "(import \"{}\" \"{}\" (func ${} (param{params}){result}))",
            self.module(),
            self.name,
            self.name
        )
    }
}

const LOG_LEVEL: P = P::Enum {
    min: 0,
    max: 5,
    bad: &[6, 0xffff_ffff],
    on_invalid: None,
};
const FD: P = P::Enum {
    min: 1,
    max: 2,
    bad: &[0, 3, 0xffff_ffff],
    on_invalid: Some(BADF),
};
const CLOCK: P = P::Enum {
    min: 0,
    max: 1,
    bad: &[2, 0xffff_ffff],
    on_invalid: Some(NOTSUP),
};
const BUFFER: P = P::Enum {
    min: 0,
    max: 8,
    bad: &[9, 0xffff_ffff],
    on_invalid: None,
};
const MAP_ID: P = P::Enum {
    min: 0,
    max: 7,
    bad: &[8, 0xffff_ffff],
    on_invalid: None,
};
const STREAM: P = P::Enum {
    min: 0,
    max: 3,
    bad: &[4, 0xffff_ffff],
    on_invalid: None,
};
const METRIC: P = P::Enum {
    min: 0,
    max: 2,
    bad: &[3, 0xffff_ffff],
    on_invalid: None,
};
const STR_P: P = P::In(Kind::Str);
const BYTES_P: P = P::In(Kind::Bytes);
const MAP_P: P = P::In(Kind::Map);
const PATH_P: P = P::In(Kind::Path);

macro_rules! f {
    ($name:literal, [$($p:literal: $t:expr),* $(,)?], [$($o:expr),* $(,)?]) => {
        F { name: $name, wasi: false, params: &[$(($p, $t)),*], outs: &[$($o),*], returns: true }
    };
    (wasi $name:literal, [$($p:literal: $t:expr),* $(,)?], [$($o:expr),* $(,)?]) => {
        F { name: $name, wasi: true, params: &[$(($p, $t)),*], outs: &[$($o),*], returns: true }
    };
}

static FUNCTIONS: &[F] = &[
    f!("proxy_done", [], []),
    f!("proxy_set_effective_context", ["context_id": P::U32(1)], []),
    f!("proxy_log", ["log_level": LOG_LEVEL, "message": STR_P], []),
    f!(wasi "fd_write", ["fd_id": FD, "iovec": P::In(Kind::Iov), "return_written_bytes": P::Out4], [Out::Written]),
    f!("proxy_get_log_level", ["return_log_level": P::Out4], [Out::U32(2)]),
    f!("proxy_get_current_time_nanoseconds", ["return_time": P::Out8], [Out::U64(TIME)]),
    f!(wasi "clock_time_get", ["clock_id": CLOCK, "precision": P::U64(1000), "return_time": P::Out8], [Out::U64(TIME)]),
    f!("proxy_set_tick_period_milliseconds", ["tick_period": P::U32(100)], []),
    f!(wasi "random_get", ["buffer": P::In(Kind::Buf)], []),
    f!(wasi "environ_sizes_get", ["return_num_elements": P::Out4, "return_buffer_size": P::Out4], [Out::U32(0), Out::U32(0)]),
    f!(wasi "environ_get", ["return_array": P::Raw { checked: true }, "return_buffer": P::Raw { checked: true }], []),
    f!("proxy_set_buffer_bytes", ["buffer_id": BUFFER, "start": P::U32(0), "size": P::U32(0), "value": BYTES_P], []),
    f!("proxy_get_buffer_bytes", ["buffer_id": BUFFER, "start": P::U32(0), "max_size": P::U32(100), "return_value": P::OutBuf], [Out::Value]),
    f!("proxy_get_buffer_status", ["buffer_id": BUFFER, "return_buffer_size": P::Out4, "return_unused": P::Out4], [Out::U32(VALUE.len() as u32), Out::U32(0)]),
    f!("proxy_get_header_map_size", ["map_id": MAP_ID, "return_serialized_pairs_size": P::Out4], [Out::U32(4 + 16 + 6 + 6)]),
    f!("proxy_get_header_map_pairs", ["map_id": MAP_ID, "return_serialized_pairs": P::OutBuf], [Out::Pairs]),
    f!("proxy_set_header_map_pairs", ["map_id": MAP_ID, "serialized_pairs": MAP_P], []),
    f!("proxy_get_header_map_value", ["map_id": MAP_ID, "key": STR_P, "return_value": P::OutBuf], [Out::Value]),
    f!("proxy_add_header_map_value", ["map_id": MAP_ID, "key": STR_P, "value": BYTES_P], []),
    f!("proxy_replace_header_map_value", ["map_id": MAP_ID, "key": STR_P, "value": BYTES_P], []),
    f!("proxy_remove_header_map_value", ["map_id": MAP_ID, "key": STR_P], []),
    f!("proxy_continue_stream", ["stream_type": STREAM], []),
    f!("proxy_close_stream", ["stream_type": STREAM], []),
    f!("proxy_get_status", ["return_status_code": P::Out4, "return_status_message": P::OutBuf], [Out::U32(200), Out::Message]),
    f!("proxy_send_local_response", ["status_code": P::U32(403), "status_code_details": STR_P, "body": BYTES_P, "headers": MAP_P, "grpc_status": P::U32(0xffff_ffff)], []),
    f!("proxy_http_call", ["upstream_name": STR_P, "headers": MAP_P, "body": BYTES_P, "trailers": MAP_P, "timeout": P::U32(1000), "return_call_id": P::Out4], [Out::U32(7)]),
    f!("proxy_grpc_call", ["upstream_name": STR_P, "service_name": STR_P, "method_name": STR_P, "initial_metadata": MAP_P, "message": BYTES_P, "timeout": P::U32(1000), "return_call_id": P::Out4], [Out::U32(8)]),
    f!("proxy_grpc_stream", ["upstream_name": STR_P, "service_name": STR_P, "method_name": STR_P, "initial_metadata": MAP_P, "return_stream_id": P::Out4], [Out::U32(9)]),
    f!("proxy_grpc_send", ["stream_id": P::U32(1), "message": BYTES_P, "end_stream": P::U32(1)], []),
    f!("proxy_grpc_cancel", ["call_or_stream_id": P::U32(1)], []),
    f!("proxy_grpc_close", ["call_or_stream_id": P::U32(1)], []),
    f!("proxy_set_shared_data", ["key": STR_P, "value": BYTES_P, "cas": P::U32(0)], []),
    f!("proxy_get_shared_data", ["key": STR_P, "return_value": P::OutBuf, "return_cas": P::Out4], [Out::Value, Out::U32(42)]),
    f!("proxy_register_shared_queue", ["name": STR_P, "return_queue_id": P::Out4], [Out::U32(3)]),
    f!("proxy_resolve_shared_queue", ["vm_id": STR_P, "name": STR_P, "return_queue_id": P::Out4], [Out::U32(4)]),
    f!("proxy_enqueue_shared_queue", ["queue_id": P::U32(1), "value": BYTES_P], []),
    f!("proxy_dequeue_shared_queue", ["queue_id": P::U32(1), "return_value": P::OutBuf], [Out::Value]),
    f!("proxy_define_metric", ["metric_type": METRIC, "name": STR_P, "return_metric_id": P::Out4], [Out::U32(5)]),
    f!("proxy_record_metric", ["metric_id": P::U32(1), "value": P::U64(10)], []),
    f!("proxy_increment_metric", ["metric_id": P::U32(1), "delta": P::U64(1)], []),
    f!("proxy_get_metric", ["metric_id": P::U32(1), "return_value": P::Out8], [Out::U64(METRIC_VALUE)]),
    f!("proxy_get_property", ["path": PATH_P, "return_value": P::OutBuf], [Out::Value]),
    f!("proxy_set_property", ["path": PATH_P, "value": BYTES_P], []),
    f!("proxy_call_foreign_function", ["name": STR_P, "arguments": BYTES_P, "return_results": P::OutBuf], [Out::Value]),
    f!(wasi "args_sizes_get", ["return_argc": P::Out4, "return_argv_buffer_size": P::Out4], [Out::U32(0), Out::U32(0)]),
    f!(wasi "args_get", ["return_argv": P::Raw { checked: true }, "return_argv_size": P::Raw { checked: true }], []),
    F {
        name: "proc_exit",
        wasi: true,
        params: &[("exit_code", P::U32(0))],
        outs: &[],
        returns: false,
    },
];

fn function(name: &str) -> &'static F {
    FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no host function {name} in the table"))
}

// ---------------------------------------------------------------------------
// Calls: the wasm arguments of one call, and which parameter owns which
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    I32(u32),
    I64(u64),
}

impl Arg {
    /// The exported mutable global that carries this argument.
    fn global(self, i: usize) -> String {
        let ty = match self {
            Arg::I32(_) => "i32",
            Arg::I64(_) => "i64",
        };
        format!("(global $a{i} (export \"a{i}\") (mut {ty}) ({ty}.const 0))")
    }
    fn val(self) -> wasmtime::Val {
        match self {
            Arg::I32(v) => wasmtime::Val::I32(v as i32),
            Arg::I64(v) => wasmtime::Val::I64(v as i64),
        }
    }
    fn u32(self) -> u32 {
        match self {
            Arg::I32(v) => v,
            Arg::I64(v) => v as u32,
        }
    }
}

/// A call of `f`: its wasm arguments and, per ABI parameter, the index of its
/// first wasm argument.
#[derive(Clone)]
struct Call {
    f: &'static F,
    args: Vec<Arg>,
    at: Vec<usize>,
}

impl Call {
    /// `f` with valid arguments everywhere.
    fn valid(f: &'static F) -> Call {
        let mut args = Vec::new();
        let mut at = Vec::new();
        let mut slot = 0;
        let mut next_slot = || {
            let s = OUT_AT + 16 * slot;
            slot += 1;
            Arg::I32(s)
        };
        for (_, p) in f.params {
            at.push(args.len());
            match *p {
                // INFO for proxy_log, otherwise 1 (a known value of every enum).
                P::Enum { min, max, .. } => args.push(Arg::I32(if f.name == "proxy_log" {
                    2
                } else {
                    1u32.clamp(min, max)
                })),
                P::U32(v) => args.push(Arg::I32(v)),
                P::U64(v) => args.push(Arg::I64(v)),
                P::In(kind) => {
                    let (ptr, len) = match kind {
                        Kind::Str => (STR_AT, STR.len() as u32),
                        Kind::Bytes => (BYTES_AT, BYTES.len() as u32),
                        Kind::Map => (MAP_AT, base_map().len() as u32),
                        Kind::Path => (PATH_AT, PATH.len() as u32),
                        Kind::Buf => (BUF_AT, BUF_LEN),
                        Kind::Iov => (IOV_AT, 1),
                    };
                    args.push(Arg::I32(ptr));
                    args.push(Arg::I32(len));
                }
                P::Out4 | P::Out8 => args.push(next_slot()),
                P::OutBuf => {
                    args.push(next_slot());
                    args.push(next_slot());
                }
                P::Raw { .. } => args.push(Arg::I32(RAW_AT)),
            }
        }
        Call { f, args, at }
    }

    fn by_name(name: &str) -> Call {
        Call::valid(function(name))
    }

    /// Sets wasm argument `offset` of parameter `param`.
    fn set(mut self, param: usize, offset: usize, value: Arg) -> Call {
        self.args[self.at[param] + offset] = value;
        self
    }

    /// Points slice parameter `param` at `ptr`, `len`.
    fn slice(self, param: usize, ptr: u32, len: u32) -> Call {
        self.set(param, 0, Arg::I32(ptr))
            .set(param, 1, Arg::I32(len))
    }

    /// The parameter named `name`.
    fn param(&self, name: &str) -> usize {
        self.f
            .params
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{} has no parameter {name}", self.f.name))
    }

    /// The call, its arguments read from the globals `$a0`, `$a1`, ... so
    /// that cases differing only in arguments share one compiled module.
    fn wat(&self) -> String {
        let args: Vec<String> = (0..self.args.len())
            .map(|i| format!("(global.get $a{i})"))
            .collect();
        let call = format!("(call ${} {})", self.f.name, args.join(" "));
        if self.f.returns {
            call
        } else {
            format!("{call} (i32.const 0)")
        }
    }

    /// Checks what a successful call wrote to its output slots.
    fn check_outputs(&self, host: &TestHost, mem: &[u8]) -> Result<(), String> {
        let mut outs = self.f.outs.iter();
        for (i, (name, p)) in self.f.params.iter().enumerate() {
            let arg = self.args[self.at[i]].u32();
            match p {
                P::Out4 | P::Out8 => {
                    let got = match p {
                        P::Out4 => read_u32(mem, arg).map(u64::from),
                        _ => read_u64(mem, arg),
                    }
                    .ok_or(format!("{name}: slot {arg:#x} not readable"))?;
                    let want = match outs.next() {
                        Some(Out::U32(v)) => u64::from(*v),
                        Some(Out::U64(v)) => *v,
                        Some(Out::Written) => host.written(),
                        other => return Err(format!("{name}: table gives {other:?}")),
                    };
                    if got != want {
                        return Err(format!("{name}: wrote {got:#x}, expected {want:#x}"));
                    }
                }
                P::OutBuf => {
                    let size_slot = self.args[self.at[i] + 1].u32();
                    let want = match outs.next() {
                        Some(Out::Value) => host.value(),
                        Some(Out::Pairs) => serial::encode_map(&HOST_PAIRS),
                        Some(Out::Message) => STATUS_MESSAGE.as_bytes().to_vec(),
                        other => return Err(format!("{name}: table gives {other:?}")),
                    };
                    let (Some(ptr), Some(len)) = (read_u32(mem, arg), read_u32(mem, size_slot))
                    else {
                        return Err(format!(
                            "{name}: slots {arg:#x}/{size_slot:#x} not readable"
                        ));
                    };
                    let got = mem.get(ptr as usize..ptr as usize + len as usize);
                    if got != Some(want.as_slice()) {
                        return Err(format!(
                            "{name}: returned ({ptr:#x}, {len}) holding {:?}, expected {:?}",
                            got.map(String::from_utf8_lossy),
                            String::from_utf8_lossy(&want)
                        ));
                    }
                }
                _ => {}
            }
        }
        if self.f.name == "random_get" {
            let (ptr, len) = (self.args[0].u32() as usize, self.args[1].u32() as usize);
            if mem[ptr..ptr + len].iter().any(|b| *b != 0xaa) {
                return Err("random_get: buffer not filled".into());
            }
        }
        Ok(())
    }
}

fn read_u32(mem: &[u8], at: u32) -> Option<u32> {
    let at = at as usize;
    Some(u32::from_le_bytes(
        mem.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn read_u64(mem: &[u8], at: u32) -> Option<u64> {
    let at = at as usize;
    Some(u64::from_le_bytes(
        mem.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

// ---------------------------------------------------------------------------
// Modules: one small template
// ---------------------------------------------------------------------------

/// How the plugin allocates the buffers the host returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alloc {
    /// `proxy_on_memory_allocate`, a bump allocator from [`HEAP`].
    Bump,
    /// `proxy_on_memory_allocate` returns this address whatever the size.
    Fixed(u32),
    /// `proxy_on_memory_allocate` returns `memory_size - size + delta`: 0 is
    /// exactly at the end, 1 straddles it.
    AtEnd(u32),
    /// `proxy_on_memory_allocate` traps.
    Trap,
    /// Neither `proxy_on_memory_allocate` nor `malloc`.
    Absent,
    /// Only `malloc`, a bump allocator.
    MallocOnly,
    /// Only `malloc`, returning 0.
    MallocOnlyZero,
    /// Only `malloc`, with a wrong signature.
    MallocWrongSignature,
    /// `proxy_on_memory_allocate` with a wrong signature `(i64) -> i64`.
    WrongSignature,
    /// `proxy_on_memory_allocate` with a wrong signature `(i32)` (no result).
    WrongSignatureNoResult,
    /// `proxy_on_memory_allocate` with a wrong signature, and a good
    /// `malloc`: the spec uses `malloc` only when the former is absent.
    WrongSignatureAndMalloc,
    /// Both: a good `proxy_on_memory_allocate`, a trapping `malloc`.
    BothMallocTraps,
    /// Both: `proxy_on_memory_allocate` returns 0, `malloc` is good.
    BothFirstFails,
    /// `proxy_on_memory_allocate` grows memory and returns the new pages.
    Grow,
    /// `proxy_on_memory_allocate` first calls `proxy_log` (re-entering the
    /// host), then bumps.
    Reentrant,
    /// `proxy_on_memory_allocate` calls the case's `run` again, forever.
    Recursive,
    /// `proxy_on_memory_allocate` is a global, not a function; `malloc` is good.
    NotAFunction,
    /// `proxy_on_memory_allocate` answers 0 for a zero-size request (as C's
    /// `malloc(0)` may), bumps otherwise.
    ZeroForEmpty,
}

const BUMP: &str = "(local.set $p (global.get $next)) \
    (global.set $next (i32.add (global.get $next) (local.get $size))) (local.get $p)";

impl Alloc {
    fn wat(self) -> String {
        let alloc = |name: &str, body: &str| {
            format!(
                "(func (export \"{name}\") (param $size i32) (result i32) (local $p i32) {body})"
            )
        };
        let poma = "proxy_on_memory_allocate";
        match self {
            Alloc::Bump => alloc(poma, BUMP),
            Alloc::Fixed(p) => alloc(poma, &format!("(i32.const {})", p as i32)),
            Alloc::AtEnd(delta) => alloc(
                poma,
                &format!(
                    "(i32.add (i32.sub (i32.mul (memory.size) (i32.const 65536)) (local.get $size)) (i32.const {delta}))"
                ),
            ),
            Alloc::Trap => alloc(poma, "unreachable"),
            Alloc::Absent => String::new(),
            Alloc::MallocOnly => alloc("malloc", BUMP),
            Alloc::MallocOnlyZero => alloc("malloc", "(i32.const 0)"),
            Alloc::MallocWrongSignature => {
                "(func (export \"malloc\") (param i32 i32) (result i32) (i32.const 0x9000))".into()
            }
            Alloc::WrongSignature => {
                format!("(func (export \"{poma}\") (param i64) (result i64) (i64.const 0x9000))")
            }
            Alloc::WrongSignatureNoResult => {
                format!("(func (export \"{poma}\") (param i32))")
            }
            Alloc::WrongSignatureAndMalloc => format!(
                "(func (export \"{poma}\") (param i64) (result i64) (i64.const 0x9000)) {}",
                alloc("malloc", BUMP)
            ),
            Alloc::BothMallocTraps => {
                format!("{} {}", alloc(poma, BUMP), alloc("malloc", "unreachable"))
            }
            Alloc::BothFirstFails => {
                format!("{} {}", alloc(poma, "(i32.const 0)"), alloc("malloc", BUMP))
            }
            Alloc::Grow => alloc(
                poma,
                "(i32.mul (memory.grow (i32.add (i32.shr_u (local.get $size) (i32.const 16)) (i32.const 1))) (i32.const 65536))",
            ),
            Alloc::Reentrant => alloc(
                poma,
                &format!(
                    "(drop (call $proxy_log (i32.const 2) (i32.const {OK_AT}) (i32.const 2))) {BUMP}"
                ),
            ),
            Alloc::Recursive => alloc(poma, &format!("(drop (call $run)) {BUMP}")),
            Alloc::ZeroForEmpty => alloc(
                poma,
                &format!("(if (i32.eqz (local.get $size)) (then (return (i32.const 0)))) {BUMP}"),
            ),
            Alloc::NotAFunction => format!(
                "(global (export \"{poma}\") i32 (i32.const 0x9000)) {}",
                alloc("malloc", BUMP)
            ),
        }
    }
}

/// A module built from the template: the imports it needs, one memory, the
/// standard data, the allocator, a `run` export making the call under test
/// and a `good` export making a valid call afterwards.
#[derive(Clone)]
struct Wat {
    imports: Vec<&'static F>,
    /// Memory size in pages.
    pages: u32,
    /// Whether the memory is exported as `memory` (otherwise as `mem`).
    export_memory: bool,
    alloc: Alloc,
    /// Declarations of the globals carrying the call's arguments.
    globals: String,
    /// Instructions leaving the status on the stack.
    run: String,
    /// The follow-up good call, leaving 0 on the stack.
    good: String,
    /// The `Host` method the good call reaches.
    good_reaches: &'static str,
}

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

impl Wat {
    fn new(call: &Call) -> Wat {
        Wat {
            imports: vec![call.f],
            pages: 1,
            export_memory: true,
            alloc: Alloc::Bump,
            globals: call
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| a.global(i))
                .collect::<Vec<_>>()
                .join(" "),
            run: call.wat(),
            good: format!("(call $proxy_log (i32.const 2) (i32.const {OK_AT}) (i32.const 2))"),
            good_reaches: "proxy_log",
        }
    }

    fn text(&self) -> String {
        let mut imports = self.imports.clone();
        imports.push(function("proxy_log"));
        if self.good_reaches == "proxy_done" {
            imports.push(function("proxy_done"));
        }
        let mut seen = Vec::new();
        let mut out = String::from("(module\n");
        for f in imports {
            if !seen.contains(&f.name) {
                seen.push(f.name);
                out.push_str(&format!("  {}\n", f.import()));
            }
        }
        if self.export_memory {
            out.push_str(&format!("  (memory (export \"memory\") {})\n", self.pages));
        } else {
            out.push_str(&format!("  (memory (export \"mem\") {})\n", self.pages));
        }
        if self.pages > 0 {
            let iov: Vec<u8> = [BYTES_AT, BYTES.len() as u32]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            let standard: [(u32, Vec<u8>); 7] = [
                (OK_AT, b"ok".to_vec()),
                (STR_AT, STR.to_vec()),
                (BYTES_AT, BYTES.to_vec()),
                (MAP_AT, base_map()),
                (PATH_AT, PATH.to_vec()),
                (IOV_AT, iov),
                (OUT_AT, vec![OUT_FILL; 0x200]),
            ];
            for (at, bytes) in &standard {
                out.push_str(&format!(
                    "  (data (i32.const {at}) \"{}\")\n",
                    escape(bytes)
                ));
            }
        }
        out.push_str(&format!("  (global $next (mut i32) (i32.const {HEAP}))\n"));
        out.push_str(&format!("  {}\n", self.globals));
        out.push_str("  (func (export \"proxy_abi_version_0_2_1\"))\n");
        out.push_str(&format!("  {}\n", self.alloc.wat()));
        out.push_str(&format!(
            "  (func $run (export \"run\") (result i32) {})\n",
            self.run
        ));
        out.push_str(&format!(
            "  (func (export \"good\") (result i32) {})\n",
            self.good
        ));
        // The same call from a callback, which `Plugin` enters: its host
        // calls take the instance's recorded memory and allocator instead of
        // looking them up. The status is left in `result`.
        out.push_str("  (global $result (export \"result\") (mut i32) (i32.const -1))\n");
        out.push_str(
            "  (func (export \"proxy_on_tick\") (param i32) (global.set $result (call $run)))\n",
        );
        out.push_str(")\n");
        out
    }
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// `run` returns this status or errno.
    Status(u32),
    /// `run` returns either status: two arguments are bad and the
    /// description does not order its checks.
    Either(u32, u32),
    /// `run` traps (a trap in the allocator comes back as a trap of the
    /// calling function).
    Trap,
}

type Check = Box<dyn Fn(&TestHost, &[u8]) -> Result<(), String> + Send + Sync>;

struct Case {
    name: String,
    wat: Wat,
    /// The call's arguments, set in the globals before `run`.
    args: Vec<Arg>,
    /// Bytes written into the plugin's memory before `run`.
    data: Vec<(u32, Vec<u8>)>,
    /// Instantiate through [`Plugin::instantiate`] (otherwise directly with
    /// the linker, for modules `Plugin` refuses, e.g. without `memory`).
    plugin: bool,
    /// Overrides what the host returns for `out bytes`.
    value: Option<Vec<u8>>,
    expect: Expect,
    /// How many times the `Host` is reached by `run`; `None` when it cannot
    /// be known (unbounded recursion).
    calls: Option<usize>,
    check: Option<Check>,
}

impl Case {
    fn new(name: impl Into<String>, call: &Call, expect: Expect, calls: usize) -> Case {
        let mut case = Case {
            name: name.into(),
            wat: Wat::new(call),
            args: call.args.clone(),
            data: Vec::new(),
            plugin: true,
            value: None,
            expect,
            calls: Some(calls),
            check: None,
        };
        if expect == Expect::Status(OK) {
            let call = call.clone();
            case.check = Some(Box::new(move |host, mem| call.check_outputs(host, mem)));
        }
        case
    }

    /// A case expecting a rejection: `status`, and the host never reached.
    fn rejected(name: impl Into<String>, call: &Call, status: u32) -> Case {
        Case::new(name, call, Expect::Status(status), 0)
    }

    /// A case expecting success: OK, the host reached once, outputs written.
    /// For `proc_exit`, success is the host told once and the call never
    /// returning: the callback ends with the exit error.
    fn accepted(name: impl Into<String>, call: &Call) -> Case {
        if !call.f.returns {
            return Case::new(name, call, Expect::Trap, 1);
        }
        Case::new(name, call, Expect::Status(OK), 1)
    }

    fn data(mut self, at: u32, bytes: &[u8]) -> Case {
        self.data.push((at, bytes.to_vec()));
        self
    }

    fn alloc(mut self, alloc: Alloc) -> Case {
        self.wat.alloc = alloc;
        self
    }

    fn check(
        mut self,
        check: impl Fn(&TestHost, &[u8]) -> Result<(), String> + Send + Sync + 'static,
    ) -> Case {
        let previous = self.check.take();
        self.check = Some(Box::new(move |host, mem| {
            if let Some(previous) = &previous {
                previous(host, mem)?;
            }
            check(host, mem)
        }));
        self
    }

    fn no_check(mut self) -> Case {
        self.check = None;
        self
    }
}

/// Every case: generated per parameter from the function table, plus
/// hand-written ones for maps, UTF-8, allocators, WASI and memory shapes.
fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    parameter_cases(&mut cases);
    map_cases(&mut cases);
    utf8_cases(&mut cases);
    allocator_cases(&mut cases);
    wasi_cases(&mut cases);
    memory_shape_cases(&mut cases);
    cases
}

/// For every function: a valid call, then each parameter in turn made bad
/// (or borderline) while the others stay valid.
fn parameter_cases(cases: &mut Vec<Case>) {
    for f in FUNCTIONS {
        let valid = Call::valid(f);
        let fault = f.memory_fault();
        cases.push(Case::accepted(format!("{}: valid call", f.name), &valid));
        for (i, (pname, p)) in f.params.iter().enumerate() {
            let name = |what: &str| format!("{}: {pname} {what}", f.name);
            match *p {
                P::Enum {
                    min,
                    max,
                    bad,
                    on_invalid,
                } => {
                    for &v in bad {
                        let status = on_invalid.unwrap_or(f.bad_argument());
                        let call = valid.clone().set(i, 0, Arg::I32(v));
                        cases.push(Case::rejected(
                            name(&format!("= {v:#x} (unknown)")),
                            &call,
                            status,
                        ));
                    }
                    for v in [min, max] {
                        let call = valid.clone().set(i, 0, Arg::I32(v));
                        cases.push(Case::accepted(name(&format!("= {v} (known)")), &call));
                    }
                }
                P::U32(_) => {
                    let call = valid.clone().set(i, 0, Arg::I32(u32::MAX));
                    cases.push(Case::accepted(name("= 0xFFFFFFFF (passed through)"), &call));
                }
                P::U64(_) => {
                    for v in [u64::MAX, 1 << 63] {
                        let call = valid.clone().set(i, 0, Arg::I64(v));
                        cases.push(Case::accepted(
                            name(&format!("= {v:#x} (passed through)")),
                            &call,
                        ));
                    }
                }
                P::In(kind) => {
                    let base = valid.args[valid.at[i]].u32();
                    // A straddling slice: one unit (byte or iovec entry) that
                    // starts inside memory and ends outside.
                    let (straddle_ptr, straddle_len, wrap_len) = if kind == Kind::Iov {
                        (M - 4, 1, 1)
                    } else {
                        (M - 1, 2, 2)
                    };
                    let bad = [
                        ("ptr = memory_size, len 1", M, 1),
                        ("straddles the end of memory", straddle_ptr, straddle_len),
                        ("ptr = 0xFFFFFFFF (ptr+len wraps u32)", u32::MAX, wrap_len),
                        ("ptr = 0x80000000", 0x8000_0000, 1),
                        ("len = 0xFFFFFFFF (ptr+len wraps u32)", base, u32::MAX),
                        ("len = 0x7FFFFFFF (huge)", base, 0x7fff_ffff),
                        ("zero-length past the end (ptr = memory_size + 1)", M + 1, 0),
                        ("zero-length at ptr = 0xFFFFFFFF", u32::MAX, 0),
                    ];
                    for (what, ptr, len) in bad {
                        let call = valid.clone().slice(i, ptr, len);
                        cases.push(Case::rejected(name(what), &call, fault));
                    }
                    let call = valid.clone().slice(i, M, 0);
                    cases.push(Case::accepted(
                        name("zero-length at ptr = memory_size (in bounds)"),
                        &call,
                    ));
                    let call = valid.clone().slice(i, 0, 0);
                    cases.push(Case::accepted(name("zero-length at ptr = 0"), &call));
                }
                P::Out4 | P::Out8 | P::OutBuf => {
                    let width = if matches!(p, P::Out8) { 8 } else { 4 };
                    let slots: &[(usize, &str)] = if matches!(p, P::OutBuf) {
                        &[(0, "_data"), (1, "_size")]
                    } else {
                        &[(0, "")]
                    };
                    for &(offset, suffix) in slots {
                        let slot_name = |what: &str| format!("{}: {pname}{suffix} {what}", f.name);
                        let bad = [
                            ("= memory_size".to_string(), M),
                            (
                                format!("= memory_size - {} (straddles)", width / 2),
                                M - width / 2,
                            ),
                            ("= memory_size - 1 (straddles)".to_string(), M - 1),
                            ("= 0xFFFFFFFF".to_string(), u32::MAX),
                            (
                                format!(
                                    "= {:#x} (ptr+{width} wraps u32)",
                                    0u32.wrapping_sub(width / 2)
                                ),
                                0u32.wrapping_sub(width / 2),
                            ),
                        ];
                        for (what, ptr) in bad {
                            let call = valid.clone().set(i, offset, Arg::I32(ptr));
                            cases.push(Case::rejected(slot_name(&what), &call, fault));
                        }
                        let call = valid.clone().set(i, offset, Arg::I32(M - width));
                        cases.push(Case::accepted(
                            slot_name(&format!("= memory_size - {width} (fits exactly)")),
                            &call,
                        ));
                    }
                }
                P::Raw { checked } => {
                    for (what, ptr) in [("= memory_size + 1", M + 1), ("= 0xFFFFFFFF", u32::MAX)] {
                        let call = valid.clone().set(i, 0, Arg::I32(ptr));
                        if checked {
                            cases.push(Case::rejected(name(what), &call, fault));
                        } else {
                            // args_get: the description prescribes only SUCCESS
                            // (args_sizes_get reports zero sizes, nothing is written).
                            cases.push(Case::accepted(
                                name(&format!("{what} (only SUCCESS prescribed)")),
                                &call,
                            ));
                        }
                    }
                    let call = valid.clone().set(i, 0, Arg::I32(M));
                    cases.push(Case::accepted(
                        name("= memory_size (zero-length extent, in bounds)"),
                        &call,
                    ));
                }
            }
        }
    }
}

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn pairs(list: &[(&[u8], &[u8])]) -> Pairs {
    list.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

/// Malformed serialized maps: each must be refused with BAD_ARGUMENT before
/// the host sees it.
fn malformed_maps() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("one non-zero byte", vec![1]),
        ("truncated count (2 bytes)", vec![0, 0]),
        ("truncated count (3 bytes)", vec![1, 0, 0]),
        ("count 1, no size table", le(&[1])),
        ("count 1, half a size table", le(&[1, 1])),
        ("count 1, sizes but no data", le(&[1, 1, 1])),
        (
            "count 2, data for one pair",
            cat(&[&le(&[2, 1, 1, 1, 1]), b"a\0b\0"]),
        ),
        (
            "count 0xFFFFFFFF",
            cat(&[&le(&[u32::MAX, 1, 1]), b"a\0b\0"]),
        ),
        (
            "count 0x20000000 (count*8 wraps u32 to 0)",
            cat(&[&le(&[0x2000_0000]), b"a\0b\0"]),
        ),
        (
            "count 0x1FFFFFFF (count*8+4 wraps u32 to 0xFFFFFFFC)",
            cat(&[&le(&[0x1fff_ffff, 1, 1]), b"a\0b\0"]),
        ),
        (
            "key length 0xFFFFFFFF",
            cat(&[&le(&[1, u32::MAX, 1]), b"a\0b\0"]),
        ),
        (
            "key and value lengths 0xFFFFFFFF (sum wraps)",
            cat(&[&le(&[1, u32::MAX, u32::MAX]), b"a\0b\0"]),
        ),
        (
            "key length 0xFFFFFFFE (len+1 wraps u32)",
            cat(&[&le(&[1, 0xffff_fffe, 0]), b"a\0\0"]),
        ),
        (
            "value length past the end",
            cat(&[&le(&[1, 1, 100]), b"a\0b\0"]),
        ),
        ("missing NUL after key", cat(&[&le(&[1, 1, 1]), b"aXb\0"])),
        ("missing NUL after value", cat(&[&le(&[1, 1, 1]), b"a\0bX"])),
        (
            "missing final NUL (data ends with the value)",
            cat(&[&le(&[1, 1, 1]), b"a\0b"]),
        ),
        (
            "key length counts its NUL",
            cat(&[&le(&[1, 2, 1]), b"a\0b\0"]),
        ),
        (
            "second pair missing its NUL",
            cat(&[&le(&[2, 1, 1, 1, 1]), b"a\0b\0c\0dX"]),
        ),
        (
            "trailing byte after the last pair",
            cat(&[&le(&[1, 1, 1]), b"a\0b\0Z"]),
        ),
        (
            "trailing NUL after the last pair",
            cat(&[&le(&[1, 1, 1]), b"a\0b\0\0"]),
        ),
        ("count 0 followed by a byte", cat(&[&le(&[0]), &[0]])),
        ("count 0 followed by garbage", cat(&[&le(&[0]), b"junk"])),
    ]
}

/// Valid serialized maps and what the host must receive.
fn valid_maps() -> Vec<(&'static str, Vec<u8>, Pairs)> {
    let many: Vec<(String, String)> = (0..100)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    vec![
        ("empty: zero bytes", vec![], vec![]),
        ("empty: one 0x00 byte", vec![0], vec![]),
        ("empty: count 0 (four 0x00 bytes)", le(&[0]), vec![]),
        (
            "{a: 1, bb: 22}",
            base_map(),
            pairs(&[(b"a", b"1"), (b"bb", b"22")]),
        ),
        (
            "empty value",
            serial::encode_map(&[("k", "")]),
            pairs(&[(b"k", b"")]),
        ),
        (
            "empty key and value",
            serial::encode_map(&[("", "")]),
            pairs(&[(b"", b"")]),
        ),
        (
            "value with an embedded NUL",
            cat(&[&le(&[1, 1, 3]), b"k\0a\0b\0"]),
            pairs(&[(b"k", b"a\0b")]),
        ),
        (
            "non-UTF-8 bytes (maps carry raw bytes)",
            cat(&[&le(&[1, 1, 1]), b"\xff\0\xfe\0"]),
            pairs(&[(b"\xff", b"\xfe")]),
        ),
        (
            "duplicate keys, in order",
            serial::encode_map(&[("k", "1"), ("k", "2")]),
            pairs(&[(b"k", b"1"), (b"k", b"2")]),
        ),
        (
            "100 pairs",
            serial::encode_map(&many),
            many.iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        ),
    ]
}

fn map_cases(cases: &mut Vec<Case>) {
    let map_params = [
        ("proxy_set_header_map_pairs", "serialized_pairs", 0),
        ("proxy_send_local_response", "headers", 0),
        ("proxy_http_call", "headers", 0),
        ("proxy_http_call", "trailers", 1),
        ("proxy_grpc_call", "initial_metadata", 0),
        ("proxy_grpc_stream", "initial_metadata", 0),
    ];
    for (fname, pname, nth_map) in map_params {
        let valid = Call::by_name(fname);
        let i = valid.param(pname);
        for (what, bytes) in malformed_maps() {
            let call = valid.clone().slice(i, SCRATCH, bytes.len() as u32);
            cases.push(
                Case::rejected(
                    format!("{fname}: {pname} malformed: {what}"),
                    &call,
                    BAD_ARGUMENT,
                )
                .data(SCRATCH, &bytes),
            );
        }
        for (what, bytes, want) in valid_maps() {
            // Every form for the first map function; the empty forms for the others.
            if fname != "proxy_set_header_map_pairs" && !what.starts_with("empty:") {
                continue;
            }
            let call = valid.clone().slice(i, SCRATCH, bytes.len() as u32);
            let case = Case::accepted(format!("{fname}: {pname} valid: {what}"), &call)
                .data(SCRATCH, &bytes)
                .check(move |host, _| match host.maps.get(nth_map) {
                    Some(got) if *got == want => Ok(()),
                    got => Err(format!("map delivered as {got:?}, expected {want:?}")),
                });
            cases.push(case);
        }
    }
}

/// A property path case: name, bytes, the segments the host must receive.
type PathCase = (&'static str, &'static [u8], &'static [&'static [u8]]);

fn utf8_cases(cases: &mut Vec<Case>) {
    let invalid: [(&str, &[u8]); 8] = [
        ("0xFF byte", b"\xff"),
        ("lone continuation byte", b"ab\x80"),
        ("overlong NUL (C0 80)", b"\xc0\x80"),
        ("overlong '/' (E0 80 AF)", b"\xe0\x80\xaf"),
        ("UTF-16 surrogate (ED A0 80)", b"\xed\xa0\x80"),
        ("truncated 3-byte sequence", b"x\xe2\x82"),
        (
            "code point above U+10FFFF (F4 90 80 80)",
            b"\xf4\x90\x80\x80",
        ),
        ("5-byte form (F8 88 80 80 80)", b"\xf8\x88\x80\x80\x80"),
    ];
    // Every kind of invalid UTF-8 on proxy_log.
    let log = Call::by_name("proxy_log");
    for (what, bytes) in invalid {
        let call = log.clone().slice(1, SCRATCH, bytes.len() as u32);
        cases.push(
            Case::rejected(
                format!("proxy_log: message invalid UTF-8: {what}"),
                &call,
                BAD_ARGUMENT,
            )
            .data(SCRATCH, bytes),
        );
    }
    let valid: [(&str, &[u8]); 3] = [
        ("multi-byte UTF-8", "h\u{e9}llo \u{1f600}".as_bytes()),
        ("embedded NUL", b"a\0b"),
        ("U+10FFFF", "\u{10ffff}".as_bytes()),
    ];
    for (what, bytes) in valid {
        let call = log.clone().slice(1, SCRATCH, bytes.len() as u32);
        let want = String::from_utf8(bytes.to_vec()).expect("valid UTF-8");
        cases.push(
            Case::accepted(format!("proxy_log: message valid: {what}"), &call)
                .data(SCRATCH, bytes)
                .check(move |host, _| match host.strings.first() {
                    Some(got) if *got == want => Ok(()),
                    got => Err(format!("message delivered as {got:?}, expected {want:?}")),
                }),
        );
    }
    // Every other `string` parameter: one malformed sequence each, placed
    // after a valid prefix so a check of the first byte alone would miss it.
    for f in FUNCTIONS {
        for (i, (pname, p)) in f.params.iter().enumerate() {
            if !matches!(p, P::In(Kind::Str)) || f.name == "proxy_log" {
                continue;
            }
            for (what, bytes) in [
                ("0xFF after a valid prefix", &b"x-key\xff"[..]),
                ("surrogate", &b"\xed\xb2\x80"[..]),
            ] {
                let call = Call::valid(f).slice(i, SCRATCH, bytes.len() as u32);
                cases.push(
                    Case::rejected(
                        format!("{}: {pname} invalid UTF-8: {what}", f.name),
                        &call,
                        BAD_ARGUMENT,
                    )
                    .data(SCRATCH, bytes),
                );
            }
        }
    }
    // `bytes` and `path` parameters carry raw bytes: not UTF-8 is fine.
    for (fname, pname) in [
        ("proxy_set_property", "path"),
        ("proxy_set_property", "value"),
        ("proxy_enqueue_shared_queue", "value"),
    ] {
        let valid = Call::by_name(fname);
        let i = valid.param(pname);
        let call = valid.clone().slice(i, SCRATCH, 2);
        cases.push(
            Case::accepted(format!("{fname}: {pname} non-UTF-8 bytes accepted"), &call)
                .data(SCRATCH, b"\xff\xfe"),
        );
    }
    // Paths are delivered split at NULs, one trailing NUL tolerated.
    let paths: [PathCase; 4] = [
        ("trailing NUL tolerated", b"a\0b\0", &[b"a", b"b"]),
        ("empty path", b"", &[]),
        ("lone NUL", b"\0", &[]),
        ("empty middle segment", b"a\0\0b", &[b"a", b"", b"b"]),
    ];
    for (what, bytes, want) in paths {
        let call = Call::by_name("proxy_get_property").slice(0, SCRATCH, bytes.len() as u32);
        let want: Vec<Vec<u8>> = want.iter().map(|s| s.to_vec()).collect();
        cases.push(
            Case::accepted(format!("proxy_get_property: path {what}"), &call)
                .data(SCRATCH, bytes)
                .check(move |host, _| match host.paths.first() {
                    Some(got) if *got == want => Ok(()),
                    got => Err(format!("path delivered as {got:?}, expected {want:?}")),
                }),
        );
    }
}

/// Functions that return buffers, against misbehaving allocators.
fn allocator_cases(cases: &mut Vec<Case>) {
    let returning = [
        "proxy_get_header_map_value",
        "proxy_get_buffer_bytes",
        "proxy_get_property",
        "proxy_get_header_map_pairs",
        "proxy_dequeue_shared_queue",
        "proxy_get_status",
        "proxy_get_shared_data",
        "proxy_call_foreign_function",
    ];
    let ima = Expect::Status(INVALID_MEMORY_ACCESS);
    let ok = Expect::Status(OK);
    let trap = Expect::Trap;
    let variants: [(&str, Alloc, Expect); 17] = [
        ("allocator returns 0", Alloc::Fixed(0), ima),
        ("allocator returns memory_size", Alloc::Fixed(M), ima),
        (
            "allocator returns 0xFFFFFFFF (ptr+len wraps u32)",
            Alloc::Fixed(u32::MAX),
            ima,
        ),
        (
            "allocator returns 0xFFFFFFFE (ptr+len wraps u32)",
            Alloc::Fixed(0xffff_fffe),
            ima,
        ),
        (
            "allocator returns a block straddling the end",
            Alloc::AtEnd(1),
            ima,
        ),
        (
            "allocator returns a block ending exactly at the end",
            Alloc::AtEnd(0),
            ok,
        ),
        ("allocator traps", Alloc::Trap, trap),
        ("no allocator exported", Alloc::Absent, ima),
        ("only malloc exported (used)", Alloc::MallocOnly, ok),
        (
            "only malloc exported, returns 0",
            Alloc::MallocOnlyZero,
            ima,
        ),
        (
            "only malloc exported, wrong signature",
            Alloc::MallocWrongSignature,
            ima,
        ),
        (
            "proxy_on_memory_allocate wrong signature (i64) -> i64",
            Alloc::WrongSignature,
            ima,
        ),
        (
            "proxy_on_memory_allocate wrong signature (i32) -> ()",
            Alloc::WrongSignatureNoResult,
            ima,
        ),
        (
            "proxy_on_memory_allocate wrong signature, malloc good (malloc not used)",
            Alloc::WrongSignatureAndMalloc,
            ima,
        ),
        (
            "both exported, malloc traps (proxy_on_memory_allocate used)",
            Alloc::BothMallocTraps,
            ok,
        ),
        (
            "both exported, proxy_on_memory_allocate returns 0 (no fallback)",
            Alloc::BothFirstFails,
            ima,
        ),
        (
            "allocator grows memory and returns the new page",
            Alloc::Grow,
            ok,
        ),
    ];
    for fname in returning {
        let call = Call::by_name(fname);
        for (what, alloc, expect) in variants {
            let case = Case::new(format!("{fname}: {what}"), &call, expect, 1).alloc(alloc);
            cases.push(case);
        }
        // The allocator re-enters the host: allowed, both calls reach it.
        cases.push(
            Case::new(
                format!("{fname}: allocator calls proxy_log (re-entry)"),
                &call,
                Expect::Status(OK),
                2,
            )
            .alloc(Alloc::Reentrant),
        );
    }
    let call = Call::by_name("proxy_get_header_map_value");
    // The allocator re-enters the same host function forever: a stack
    // overflow trap, and the host survives.
    let mut case = Case::new(
        "proxy_get_header_map_value: allocator recurses into the host forever",
        &call,
        Expect::Trap,
        0,
    )
    .alloc(Alloc::Recursive);
    case.calls = None;
    cases.push(case);
    // A non-function export named proxy_on_memory_allocate: the function is absent.
    cases.push(
        Case::accepted(
            "proxy_get_header_map_value: proxy_on_memory_allocate is a global, malloc used",
            &call,
        )
        .alloc(Alloc::NotAFunction),
    );
    // A value larger than the plugin's memory: the allocator's block cannot hold it.
    let mut case = Case::new(
        "proxy_get_buffer_bytes: 100000-byte value, bump allocator overruns memory",
        &Call::by_name("proxy_get_buffer_bytes"),
        ima,
        1,
    );
    case.value = Some(vec![b'x'; 100_000]);
    cases.push(case);
    let mut case = Case::new(
        "proxy_get_buffer_bytes: 100000-byte value, growing allocator",
        &Call::by_name("proxy_get_buffer_bytes"),
        ok,
        1,
    )
    .alloc(Alloc::Grow);
    case.value = Some(vec![b'x'; 100_000]);
    cases.push(case);
    // An empty value: the generated host documents that it writes 0 and 0
    // without allocating (as proxy-wasm-cpp-host does), so the allocator's
    // behaviour does not matter, even when it would fail or trap.
    let empty_variants = [
        ("working allocator", Alloc::Bump),
        ("allocator answers 0 for size 0", Alloc::ZeroForEmpty),
        ("allocator traps", Alloc::Trap),
        ("no allocator exported", Alloc::Absent),
    ];
    for fname in [
        "proxy_get_buffer_bytes",
        "proxy_dequeue_shared_queue",
        "proxy_get_property",
        "proxy_get_header_map_value",
    ] {
        for (what, alloc) in empty_variants {
            let mut case = Case::accepted(
                format!("{fname}: empty value returned as (0, 0), {what}"),
                &Call::by_name(fname),
            )
            .alloc(alloc)
            .check(|_, mem| {
                match (read_u32(mem, OUT_AT), read_u32(mem, OUT_AT + 16)) {
                    (Some(0), Some(0)) => Ok(()),
                    other => Err(format!("slots hold {other:?}, expected (0, 0)")),
                }
            });
            case.value = Some(Vec::new());
            cases.push(case);
        }
    }
    // Out-slot overlaps: the size slot is the data slot; the last write wins,
    // and the host survives.
    let call = Call::by_name("proxy_get_header_map_value").set(2, 1, Arg::I32(OUT_AT));
    cases.push(
        Case::new(
            "proxy_get_header_map_value: data and size slots are the same address",
            &call,
            ok,
            1,
        )
        .no_check()
        .check(|_, mem| match read_u32(mem, OUT_AT) {
            Some(5) => Ok(()),
            other => Err(format!("slot holds {other:?}, expected the size 5")),
        }),
    );
}

/// WASI iovec entries: (pointer, length).
type Iovecs = Vec<(u32, u32)>;

fn wasi_cases(cases: &mut Vec<Case>) {
    let fd_write = Call::by_name("fd_write");
    let table = |entries: &[(u32, u32)]| -> Vec<u8> {
        entries
            .iter()
            .flat_map(|(p, l)| [p.to_le_bytes(), l.to_le_bytes()])
            .flatten()
            .collect()
    };
    let bad_tables: [(&str, Iovecs); 7] = [
        ("entry points at memory_size", vec![(M, 1)]),
        ("entry straddles the end", vec![(M - 2, 4)]),
        ("entry ptr 0xFFFFFFFF (wraps)", vec![(u32::MAX, 2)]),
        ("entry len 0xFFFFFFFF (wraps)", vec![(BYTES_AT, u32::MAX)]),
        ("entry len 0x7FFFFFFF", vec![(BYTES_AT, 0x7fff_ffff)]),
        ("entry zero-length past the end", vec![(M + 1, 0)]),
        (
            "good entry then a bad one (no partial write)",
            vec![(BYTES_AT, 5), (M, 1)],
        ),
    ];
    for (what, entries) in bad_tables {
        let bytes = table(&entries);
        let call = fd_write.clone().slice(1, SCRATCH, entries.len() as u32);
        cases.push(
            Case::rejected(format!("fd_write: iovec {what}"), &call, FAULT).data(SCRATCH, &bytes),
        );
    }
    for (what, count) in [
        ("count 0x20000000 (count*8 wraps u32 to 0)", 0x2000_0000),
        ("count 0x1FFFFFFF (count*8 = 0xFFFFFFF8)", 0x1fff_ffff),
        ("count 0x2001 (table runs past the end)", 0x2001),
    ] {
        let call = fd_write.clone().slice(1, SCRATCH, count);
        cases.push(Case::rejected(
            format!("fd_write: iovec {what}"),
            &call,
            FAULT,
        ));
    }
    let good_tables: [(&str, Iovecs, u32); 4] = [
        ("entry zero-length at memory_size", vec![(M, 0)], 0),
        ("entry ending exactly at memory_size", vec![(M - 3, 3)], 3),
        (
            "three entries",
            vec![(BYTES_AT, 5), (STR_AT, 5), (OK_AT, 2)],
            12,
        ),
        (
            "1000 entries covering all memory (no copy blow-up)",
            vec![(0, M); 1000],
            1000 * M,
        ),
    ];
    for (what, entries, total) in good_tables {
        let bytes = table(&entries);
        let call = fd_write.clone().slice(1, SCRATCH, entries.len() as u32);
        let n = entries.len();
        cases.push(
            Case::accepted(format!("fd_write: iovec {what}"), &call)
                .data(SCRATCH, &bytes)
                .check(move |host, _| match host.iovecs.first() {
                    Some(iov) if iov.len() == n && host.written() == u64::from(total) => Ok(()),
                    other => Err(format!(
                        "host got {:?} entries, {} bytes",
                        other.map(Vec::len),
                        host.written()
                    )),
                }),
        );
    }
    // Iovec entries may alias, so their total can exceed what the 32-bit
    // `written_bytes` can hold (here 4000 entries of 17 pages each, about
    // 4.46e9 bytes). Like POSIX writev, that is an invalid argument (INVAL),
    // refused before the `Host` runs.
    let pages = 17;
    let entries = vec![(0, pages * M); 4000];
    let call = fd_write.clone().slice(1, SCRATCH, entries.len() as u32);
    let mut case = Case::rejected(
        "fd_write: iovec total exceeds u32::MAX (refused before the host)",
        &call,
        INVAL,
    )
    .data(SCRATCH, &table(&entries));
    case.wat.pages = pages;
    cases.push(case);
    // Two bad arguments: either rejection, never the host.
    let call = fd_write
        .clone()
        .set(0, 0, Arg::I32(0))
        .set(2, 0, Arg::I32(u32::MAX));
    cases.push(Case::new(
        "fd_write: bad fd and bad out pointer",
        &call,
        Expect::Either(BADF, FAULT),
        0,
    ));
    // random_get: the whole memory, and more.
    let random = Call::by_name("random_get");
    cases.push(Case::accepted(
        "random_get: everything from SCRATCH to the end",
        &random.clone().slice(0, SCRATCH, M - SCRATCH),
    ));
    cases.push(Case::rejected(
        "random_get: everything from SCRATCH to the end plus one byte",
        &random.clone().slice(0, SCRATCH, M - SCRATCH + 1),
        FAULT,
    ));
    // clock_time_get: a valid clock with each bad out pointer, precision ignored.
    let clock = Call::by_name("clock_time_get");
    let call = clock.clone().set(0, 0, Arg::I32(2)).set(2, 0, Arg::I32(M));
    cases.push(Case::new(
        "clock_time_get: unknown clock and bad out pointer",
        &call,
        Expect::Either(NOTSUP, FAULT),
        0,
    ));
    cases.push(Case::accepted(
        "clock_time_get: REALTIME, precision u64::MAX",
        &clock
            .clone()
            .set(0, 0, Arg::I32(0))
            .set(1, 0, Arg::I64(u64::MAX)),
    ));
    // proc_exit ends the callback, after the host has the code; the store
    // stays usable (the harness makes a good call after every case).
    let exit = Call::by_name("proc_exit").set(0, 0, Arg::I32(1));
    cases.push(
        Case::accepted("proc_exit: exit code 1, host survives", &exit).check(|host, _| {
            if host.numbers == [1] {
                Ok(())
            } else {
                Err(format!("exit code delivered as {:?}", host.numbers))
            }
        }),
    );
    // bool parameters: any non-zero value is true.
    let send = Call::by_name("proxy_grpc_send");
    for (v, want) in [(0, false), (1, true), (2, true)] {
        let call = send.clone().set(2, 0, Arg::I32(v));
        cases.push(
            Case::accepted(format!("proxy_grpc_send: end_stream = {v}"), &call).check(
                move |host, _| {
                    if host.flags == [want] {
                        Ok(())
                    } else {
                        Err(format!("end_stream delivered as {:?}", host.flags))
                    }
                },
            ),
        );
    }
}

/// Memories of unusual shapes: none exported, zero pages, grown at run time.
fn memory_shape_cases(cases: &mut Vec<Case>) {
    // No `memory` export: the host cannot check anything, so every function
    // that touches memory refuses with its memory-fault status. Plugin refuses
    // such modules, so these are instantiated with the linker directly.
    for fname in [
        "proxy_log",
        "fd_write",
        "random_get",
        "proxy_get_header_map_value",
        "proxy_get_log_level",
        "clock_time_get",
        "proxy_set_header_map_pairs",
    ] {
        let call = Call::by_name(fname);
        let mut case = Case::rejected(
            format!("{fname}: memory not exported as `memory`"),
            &call,
            call.f.memory_fault(),
        );
        case.wat.export_memory = false;
        case.wat.good = "(call $proxy_done)".into();
        case.wat.good_reaches = "proxy_done";
        case.plugin = false;
        cases.push(case);
    }
    // Zero pages: only zero-length slices at address 0 are in bounds.
    let zero = |name: &str, call: &Call, expect: u32, calls: usize| {
        let mut case = Case::new(name, call, Expect::Status(expect), calls).no_check();
        case.wat.pages = 0;
        case.wat.good = "(call $proxy_done)".into();
        case.wat.good_reaches = "proxy_done";
        case
    };
    let log = Call::by_name("proxy_log");
    cases.push(zero(
        "proxy_log: zero-page memory, empty message at 0",
        &log.clone().slice(1, 0, 0),
        OK,
        1,
    ));
    cases.push(zero(
        "proxy_log: zero-page memory, 1 byte at 0",
        &log.clone().slice(1, 0, 1),
        INVALID_MEMORY_ACCESS,
        0,
    ));
    cases.push(zero(
        "proxy_log: zero-page memory, empty message at 1",
        &log.clone().slice(1, 1, 0),
        INVALID_MEMORY_ACCESS,
        0,
    ));
    let level = Call::by_name("proxy_get_log_level").set(0, 0, Arg::I32(0));
    cases.push(zero(
        "proxy_get_log_level: zero-page memory, slot at 0",
        &level,
        INVALID_MEMORY_ACCESS,
        0,
    ));
    let set = Call::by_name("proxy_set_header_map_pairs").slice(1, 0, 0);
    cases.push(zero(
        "proxy_set_header_map_pairs: zero-page memory, empty map at 0",
        &set,
        OK,
        1,
    ));
    // Memory grown by the plugin before the call: the host sees the new size.
    let grow = "(drop (memory.grow (i32.const 1)))";
    let mut case = Case::accepted(
        "proxy_log: message in a page grown just before the call",
        &log.clone().slice(1, M, 2),
    );
    case.wat.run = format!(
        "{grow} (i32.store16 (i32.const {M}) (i32.const 0x6b6f)) {}",
        case.wat.run
    );
    cases.push(case.check(|host, _| {
        if host.strings == ["ok"] {
            Ok(())
        } else {
            Err(format!("got {:?}", host.strings))
        }
    }));
    let call = Call::by_name("proxy_get_current_time_nanoseconds").set(0, 0, Arg::I32(2 * M - 8));
    let mut case = Case::accepted(
        "proxy_get_current_time_nanoseconds: out slot in a grown page",
        &call,
    );
    case.wat.run = format!("{grow} {}", case.wat.run);
    cases.push(case);
    let call = Call::by_name("proxy_get_current_time_nanoseconds").set(0, 0, Arg::I32(2 * M - 4));
    let mut case = Case::rejected(
        "proxy_get_current_time_nanoseconds: out slot straddling a grown page's end",
        &call,
        INVALID_MEMORY_ACCESS,
    );
    case.wat.run = format!("{grow} {}", case.wat.run);
    cases.push(case);
}

// ---------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------

/// Compiled modules by text: cases that differ only in arguments and data
/// share one.
type ModuleCache = Mutex<HashMap<String, wasmtime::Module>>;

fn compile(
    engine: &wasmtime::Engine,
    cache: &ModuleCache,
    text: String,
) -> Result<wasmtime::Module, String> {
    if let Some(module) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&text) {
        return Ok(module.clone());
    }
    let module = wasmtime::Module::new(engine, &text)
        .map_err(|e| format!("module does not compile: {e:#}\n{text}"))?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(text, module.clone());
    Ok(module)
}

/// How a case makes its call.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// The host calls the `run` export directly, outside any callback: the
    /// bindings look the memory and allocator up by name.
    Export,
    /// `Plugin::proxy_on_tick` runs it: the bindings use the memory and
    /// allocator recorded for the instance.
    Callback,
}

/// The context id the callback entry runs `proxy_on_tick` for.
const ROOT_CONTEXT: u32 = 1;

fn run_case(
    engine: &wasmtime::Engine,
    cache: &ModuleCache,
    case: &Case,
    entry: Entry,
) -> Result<(), String> {
    let module = compile(engine, cache, case.wat.text())?;
    let mut linker = wasmtime::Linker::new(engine);
    v0_2_1::add_to_linker(&mut linker, |host: &mut TestHost| host)
        .map_err(|e| format!("add_to_linker: {e:#}"))?;
    // These cases call host functions outside any callback to test argument
    // checks; the access rules have their own suite (tests/access_rules.rs).
    let mut plugin = PluginState::new();
    plugin.enforce_access_rules(false);
    let mut store = wasmtime::Store::new(
        engine,
        TestHost {
            value: case.value.clone(),
            plugin,
            ..TestHost::default()
        },
    );
    let plugin = if case.plugin {
        Some(
            Plugin::instantiate(&mut store, &linker, &module)
                .map_err(|e| format!("instantiate: {e}"))?,
        )
    } else {
        None
    };
    let instance = match &plugin {
        Some(plugin) => plugin.instance(),
        None => linker
            .instantiate(&mut store, &module)
            .map_err(|e| format!("instantiate: {e:#}"))?,
    };
    if !store.data().calls.is_empty() {
        return Err(format!(
            "host reached while instantiating: {:?}",
            store.data().calls
        ));
    }
    let memory = instance
        .get_memory(&mut store, "memory")
        .or_else(|| instance.get_memory(&mut store, "mem"));
    for (at, bytes) in &case.data {
        memory
            .ok_or("no memory for the case's data")?
            .write(&mut store, *at as usize, bytes)
            .map_err(|e| format!("case data at {at:#x}: {e}"))?;
    }
    for (i, arg) in case.args.iter().enumerate() {
        instance
            .get_global(&mut store, &format!("a{i}"))
            .ok_or(format!("no global a{i}"))?
            .set(&mut store, arg.val())
            .map_err(|e| format!("global a{i}: {e:#}"))?;
    }
    let outcome = match (entry, &plugin) {
        (Entry::Export, _) => {
            let run = instance
                .get_typed_func::<(), u32>(&mut store, "run")
                .map_err(|e| format!("run: {e:#}"))?;
            run.call(&mut store, ())
        }
        (Entry::Callback, Some(plugin)) => match plugin.proxy_on_tick(&mut store, ROOT_CONTEXT) {
            Ok(Some(())) => {
                let result = instance
                    .get_global(&mut store, "result")
                    .ok_or("no global `result`")?;
                Ok(result.get(&mut store).unwrap_i32() as u32)
            }
            Ok(None) => return Err("no proxy_on_tick".to_string()),
            Err(e) => Err(wasmtime::Error::msg(e.to_string())),
        },
        (Entry::Callback, None) => return Err("a callback needs `Plugin`".to_string()),
    };
    let mut problems = Vec::new();
    match (&outcome, case.expect) {
        (Ok(got), Expect::Status(want)) if *got == want => {}
        (Ok(got), Expect::Either(a, b)) if *got == a || *got == b => {}
        (Ok(got), expect) => problems.push(format!("returned {got}, expected {expect:?}")),
        (Err(_), Expect::Trap) => {}
        (Err(e), expect) => problems.push(format!("trapped ({e:#}), expected {expect:?}")),
    }
    let reached = store.data().calls.len();
    if let Some(calls) = case.calls
        && reached != calls
    {
        problems.push(format!(
            "host reached {reached} time(s) {:?}, expected {calls}",
            store.data().calls
        ));
    }
    if outcome.is_ok()
        && let Some(check) = &case.check
    {
        let mem = memory.map(|m| m.data(&store).to_vec()).unwrap_or_default();
        if let Err(e) = check(store.data(), &mem) {
            problems.push(e);
        }
    }
    // The host survived: a later good call on the same store and instance
    // succeeds and reaches the host exactly once.
    match instance
        .get_typed_func::<(), u32>(&mut store, "good")
        .map_err(|e| format!("{e:#}"))
        .and_then(|good| good.call(&mut store, ()).map_err(|e| format!("{e:#}")))
    {
        Ok(0) => {
            let calls = &store.data().calls[reached..];
            if calls != [case.wat.good_reaches] {
                problems.push(format!("follow-up good call reached the host as {calls:?}"));
            }
        }
        Ok(status) => problems.push(format!("follow-up good call returned {status}")),
        Err(e) => problems.push(format!("follow-up good call failed: {e}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn adversarial_inputs_are_rejected_and_the_host_survives() {
    let cases = all_cases();
    let mut names = BTreeMap::new();
    for case in &cases {
        *names.entry(case.name.as_str()).or_insert(0) += 1;
    }
    let duplicates: Vec<_> = names
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(name, _)| *name)
        .collect();
    assert!(
        duplicates.is_empty(),
        "duplicate case names: {duplicates:?}"
    );
    // Every host function of v0.2.1 is exercised.
    for f in FUNCTIONS {
        assert!(
            cases
                .iter()
                .any(|c| c.name.starts_with(&format!("{}: ", f.name))),
            "{} has no case",
            f.name
        );
    }
    assert_eq!(FUNCTIONS.len(), 47);

    // Unoptimized code: the modules are tiny and compiling them dominates.
    let mut config = wasmtime::Config::new();
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let cache = ModuleCache::default();
    // Every case from a raw export; those `Plugin` instantiates also from a
    // callback, so both ways to the memory and allocator meet every input.
    let runs: Vec<(usize, Entry)> = cases
        .iter()
        .enumerate()
        .flat_map(|(i, case)| {
            let callback = case.plugin.then_some((i, Entry::Callback));
            std::iter::once((i, Entry::Export)).chain(callback)
        })
        .collect();
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
                        *next += 1;
                        *next - 1
                    };
                    let Some(&(case_index, entry)) = runs.get(i) else {
                        break;
                    };
                    let case = &cases[case_index];
                    let result =
                        catch_unwind(AssertUnwindSafe(|| run_case(&engine, &cache, case, entry)))
                            .unwrap_or_else(|panic| {
                                let message = panic
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default();
                                Err(format!("PANICKED: {message}"))
                            });
                    if let Err(e) = result {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push((
                            i,
                            format!("{} (from {entry:?})", case.name),
                            e,
                        ));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort();
    eprintln!(
        "adversarial: {} cases over {} host functions, {} runs ({} from a raw export, {} from a callback), {} passed, {} failed",
        cases.len(),
        FUNCTIONS.len(),
        runs.len(),
        cases.len(),
        runs.len() - cases.len(),
        runs.len() - failures.len(),
        failures.len()
    );
    for (_, name, error) in &failures {
        eprintln!("FAILED {name}: {error}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} adversarial runs failed (listed above)",
        failures.len(),
        runs.len()
    );
}
