//! Every described ABI version on the one reference host.
//!
//! [`ReferenceHost`] is written against v0.2.1. The older versions differ in
//! a handful of functions and otherwise only in having their own (equal
//! valued) enum types, so their `Host` traits are implemented here by
//! forwarding to the v0.2.1 methods, converting enums by value. What only
//! an older version has is mapped to its v0.2.1 successor, as the
//! specification's changelog does:
//!
//! - 0.1.0 `proxy_continue_request` / `proxy_continue_response`: the
//!   `HTTP_REQUEST` / `HTTP_RESPONSE` stream of `proxy_continue_stream`;
//! - 0.1.0 `proxy_get_configuration`: the `VM_CONFIGURATION` buffer in
//!   `proxy_on_vm_start`, the `PLUGIN_CONFIGURATION` buffer elsewhere;
//! - 0.1.0 `proxy_clear_route_cache`: recorded, answered `OK` as Envoy does.
//!
//! [`AnyPlugin`] is a plugin of whichever version its module declares, with
//! v0.2.1's callback signatures.

use super::bindings as v21;
use super::reference::ReferenceHost;
use proxy_wasm_abi::host::{CallResult, PluginError};

/// The generated bindings of v0.1.0.
pub mod v0_1_0 {
    proxy_wasm_abi::host!({ version: "0.1.0" });
}

/// The generated bindings of v0.2.0.
pub mod v0_2_0 {
    proxy_wasm_abi::host!({ version: "0.2.0" });
}

/// A value of one version's type as another version's.
trait Convert<T> {
    fn convert(self) -> T;
}

impl<T> Convert<T> for T {
    fn convert(self) -> T {
        self
    }
}

/// Both directions between an older version's enum and v0.2.1's, by value.
/// Every value of an older version exists in v0.2.1; the values the host
/// hands back (statuses, levels) exist in every version.
macro_rules! convert_enums {
    ($v:ident: $($name:ident($raw:ident)),* $(,)?) => {$(
        impl Convert<v21::$name> for $v::$name {
            fn convert(self) -> v21::$name {
                v21::$name::try_from(v21::$raw($v::$raw::from(self).0))
                    .expect("v0.2.1 has every value of the older versions")
            }
        }

        impl Convert<$v::$name> for v21::$name {
            fn convert(self) -> $v::$name {
                $v::$name::try_from($v::$raw(v21::$raw::from(self).0))
                    .expect("the reference host answers values every version has")
            }
        }
    )*};
}

macro_rules! convert_common_enums {
    ($v:ident) => {
        convert_enums!($v:
            LogLevel(RawLogLevel),
            Status(RawStatus),
            Action(RawAction),
            BufferType(RawBufferType),
            MapType(RawMapType),
            PeerType(RawPeerType),
            MetricType(RawMetricType),
            WasiErrno(RawWasiErrno),
            WasiFdId(RawWasiFdId),
            WasiClockId(RawWasiClockId),
        );
    };
}

convert_common_enums!(v0_1_0);
convert_common_enums!(v0_2_0);
convert_enums!(v0_2_0: StreamType(RawStreamType));

/// Implements an older version's `Host` for [`ReferenceHost`]: the
/// `$extra` methods as written, every listed method by forwarding to the
/// v0.2.1 method of the same name.
macro_rules! forward_host {
    (
        mod $module:ident for $v:ident { $($extra:tt)* }
        $(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)*
    ) => {
        mod $module {
            #[allow(unused_imports)]
            use super::{Convert, ReferenceHost, v21};
            use super::$v::*;

            impl Host for ReferenceHost {
                $($extra)*

                $(
                    fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                        <ReferenceHost as v21::Host>::$name(self $(, $arg.convert())*)
                            .map(Convert::convert)
                            .map_err(Convert::convert)
                    }
                )*

                fn proc_exit(&mut self, exit_code: u32) {
                    <ReferenceHost as v21::Host>::proc_exit(self, exit_code)
                }
            }
        }
    };
}

/// Feeds the host functions that 0.1.0, 0.2.0 and 0.2.1 share, with the
/// same shape, to `forward_host!`.
macro_rules! with_shared_host_functions {
    ($($head:tt)*) => {
        forward_host! {
            $($head)*
            fn proxy_done(&mut self) -> Result<(), Status>;
            fn proxy_set_effective_context(&mut self, context_id: u32) -> Result<(), Status>;
            fn proxy_log(&mut self, log_level: LogLevel, message: &str) -> Result<(), Status>;
            fn fd_write(&mut self, fd_id: WasiFdId, iovec: &[&[u8]]) -> Result<usize, WasiErrno>;
            fn proxy_get_current_time_nanoseconds(&mut self) -> Result<u64, Status>;
            fn clock_time_get(&mut self, clock_id: WasiClockId) -> Result<u64, WasiErrno>;
            fn proxy_set_tick_period_milliseconds(&mut self, tick_period: u32) -> Result<(), Status>;
            fn random_get(&mut self, buffer: &mut [u8]) -> Result<(), WasiErrno>;
            fn environ_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno>;
            fn environ_get(&mut self, memory: &mut [u8], return_array: u32, return_buffer: u32) -> Result<(), WasiErrno>;
            fn proxy_set_buffer_bytes(&mut self, buffer_id: BufferType, start: usize, size: usize, value: &[u8]) -> Result<(), Status>;
            fn proxy_get_buffer_bytes(&mut self, buffer_id: BufferType, start: usize, max_size: usize) -> Result<Vec<u8>, Status>;
            fn proxy_get_buffer_status(&mut self, buffer_id: BufferType) -> Result<usize, Status>;
            fn proxy_get_header_map_size(&mut self, map_id: MapType) -> Result<usize, Status>;
            fn proxy_get_header_map_pairs(&mut self, map_id: MapType) -> Result<Pairs, Status>;
            fn proxy_set_header_map_pairs(&mut self, map_id: MapType, pairs: &[(&[u8], &[u8])]) -> Result<(), Status>;
            fn proxy_get_header_map_value(&mut self, map_id: MapType, key: &str) -> Result<Vec<u8>, Status>;
            fn proxy_add_header_map_value(&mut self, map_id: MapType, key: &str, value: &[u8]) -> Result<(), Status>;
            fn proxy_replace_header_map_value(&mut self, map_id: MapType, key: &str, value: &[u8]) -> Result<(), Status>;
            fn proxy_remove_header_map_value(&mut self, map_id: MapType, key: &str) -> Result<(), Status>;
            fn proxy_get_status(&mut self) -> Result<(u32, String), Status>;
            fn proxy_send_local_response(&mut self, status_code: u32, status_code_details: &str, body: &[u8], headers: &[(&[u8], &[u8])], grpc_status: u32) -> Result<(), Status>;
            fn proxy_http_call(&mut self, upstream_name: &str, headers: &[(&[u8], &[u8])], body: &[u8], trailers: &[(&[u8], &[u8])], timeout: u32) -> Result<u32, Status>;
            fn proxy_grpc_call(&mut self, upstream_name: &str, service_name: &str, method_name: &str, initial_metadata: &[(&[u8], &[u8])], message: &[u8], timeout: u32) -> Result<u32, Status>;
            fn proxy_grpc_stream(&mut self, upstream_name: &str, service_name: &str, method_name: &str, initial_metadata: &[(&[u8], &[u8])]) -> Result<u32, Status>;
            fn proxy_grpc_send(&mut self, call_id: u32, message: &[u8], end_of_stream: bool) -> Result<(), Status>;
            fn proxy_grpc_cancel(&mut self, call_id: u32) -> Result<(), Status>;
            fn proxy_grpc_close(&mut self, call_id: u32) -> Result<(), Status>;
            fn proxy_set_shared_data(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), Status>;
            fn proxy_get_shared_data(&mut self, key: &str) -> Result<(Vec<u8>, u32), Status>;
            fn proxy_register_shared_queue(&mut self, name: &str) -> Result<u32, Status>;
            fn proxy_resolve_shared_queue(&mut self, vm_id: &str, name: &str) -> Result<u32, Status>;
            fn proxy_enqueue_shared_queue(&mut self, queue_id: u32, value: &[u8]) -> Result<(), Status>;
            fn proxy_dequeue_shared_queue(&mut self, queue_id: u32) -> Result<Vec<u8>, Status>;
            fn proxy_define_metric(&mut self, metric_type: MetricType, name: &str) -> Result<u32, Status>;
            fn proxy_record_metric(&mut self, metric_id: u32, value: u64) -> Result<(), Status>;
            fn proxy_increment_metric(&mut self, metric_id: u32, delta: i64) -> Result<(), Status>;
            fn proxy_get_metric(&mut self, metric_id: u32) -> Result<u64, Status>;
            fn proxy_get_property(&mut self, path: proxy_wasm_abi::serial::PropertyPath<'_>) -> Result<Vec<u8>, Status>;
            fn proxy_set_property(&mut self, path: proxy_wasm_abi::serial::PropertyPath<'_>, value: &[u8]) -> Result<(), Status>;
            fn proxy_call_foreign_function(&mut self, function_name: &str, arguments: &[u8]) -> Result<Vec<u8>, Status>;
            fn args_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno>;
            fn args_get(&mut self, memory: &mut [u8], return_array: u32, return_buffer: u32) -> Result<(), WasiErrno>;
        }
    };
}

with_shared_host_functions! {
    mod host_v0_2_0 for v0_2_0 {
        fn proxy_continue_stream(&mut self, stream_type: StreamType) -> Result<(), Status> {
            <ReferenceHost as v21::Host>::proxy_continue_stream(self, stream_type.convert())
                .map_err(Convert::convert)
        }

        fn proxy_close_stream(&mut self, stream_type: StreamType) -> Result<(), Status> {
            <ReferenceHost as v21::Host>::proxy_close_stream(self, stream_type.convert())
                .map_err(Convert::convert)
        }
    }
}

with_shared_host_functions! {
    mod host_v0_1_0 for v0_1_0 {
        fn proxy_get_configuration(&mut self) -> Result<Vec<u8>, Status> {
            let in_vm_start = self.plugin_state().running().is_some_and(|running| {
                running.callback == proxy_wasm_abi::host::CallbackId::from(Callback::VmStart)
            });
            Ok(if in_vm_start {
                self.vm_configuration.clone()
            } else {
                self.plugin_configuration.clone()
            })
        }

        fn proxy_continue_request(&mut self) -> Result<(), Status> {
            let request = v21::StreamType::HttpRequest;
            <ReferenceHost as v21::Host>::proxy_continue_stream(self, request)
                .map_err(Convert::convert)
        }

        fn proxy_continue_response(&mut self) -> Result<(), Status> {
            let response = v21::StreamType::HttpResponse;
            <ReferenceHost as v21::Host>::proxy_continue_stream(self, response)
                .map_err(Convert::convert)
        }

        fn proxy_clear_route_cache(&mut self) -> Result<(), Status> {
            self.route_cache_cleared += 1;
            Ok(())
        }
    }
}

/// A plugin of any described version, called with v0.2.1's signatures.
pub enum AnyPlugin {
    /// A plugin declaring ABI 0.1.0.
    V0_1_0(v0_1_0::Plugin),
    /// A plugin declaring ABI 0.2.0.
    V0_2_0(v0_2_0::Plugin),
    /// A plugin declaring ABI 0.2.1.
    V0_2_1(v21::Plugin),
}

/// The ABI versions [`AnyPlugin`] runs, newest first: the one a module
/// declaring several is run as.
pub const VERSIONS: [&str; 3] = ["0.2.1", "0.2.0", "0.1.0"];

/// A linker with every version's host functions, all calling the store's
/// [`ReferenceHost`]. Versions share most names, so each version gets a
/// linker of its own.
pub struct Linkers {
    v0_1_0: wasmtime::Linker<ReferenceHost>,
    v0_2_0: wasmtime::Linker<ReferenceHost>,
    v0_2_1: wasmtime::Linker<ReferenceHost>,
}

impl Linkers {
    /// Registers each version's host functions in its own linker.
    pub fn new(engine: &wasmtime::Engine) -> wasmtime::Result<Linkers> {
        let mut v0_1_0 = wasmtime::Linker::new(engine);
        v0_1_0::add_to_linker(&mut v0_1_0, |host: &mut ReferenceHost| host)?;
        let mut v0_2_0 = wasmtime::Linker::new(engine);
        v0_2_0::add_to_linker(&mut v0_2_0, |host: &mut ReferenceHost| host)?;
        let mut v0_2_1 = wasmtime::Linker::new(engine);
        v21::add_to_linker(&mut v0_2_1, |host: &mut ReferenceHost| host)?;
        Ok(Linkers {
            v0_1_0,
            v0_2_0,
            v0_2_1,
        })
    }
}

/// A callback outcome as v0.2.1's type.
fn up<T: Convert<U>, U>(result: CallResult<T>) -> CallResult<U> {
    result.map(|value| value.map(Convert::convert))
}

/// Calls callback `$name` on whichever version `$plugin` is; `$older` is
/// the argument list for the older versions where it differs.
macro_rules! dispatch {
    ($plugin:expr, $store:expr, $name:ident($($arg:expr),*)) => {
        dispatch!($plugin, $store, $name($($arg),*), ($($arg),*))
    };
    ($plugin:expr, $store:expr, $name:ident($($arg:expr),*), ($($older:expr),*)) => {
        match $plugin {
            AnyPlugin::V0_1_0(p) => up(p.$name($store, $($older.convert()),*)),
            AnyPlugin::V0_2_0(p) => up(p.$name($store, $($arg.convert()),*)),
            AnyPlugin::V0_2_1(p) => p.$name($store, $($arg),*),
        }
    };
}

type Store<'a> = &'a mut wasmtime::Store<ReferenceHost>;

/// Defines `AnyPlugin`'s callback methods: each calls the callback of the
/// same name on the plugin's version, converting enums both ways; `older`
/// lists the arguments for the older versions where they differ.
macro_rules! any_plugin_callbacks {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $(, older($($old:ident),*))?;)*) => {
        impl AnyPlugin {$(
            #[doc = concat!("Calls `", stringify!($name), "`.")]
            pub fn $name(&self, store: Store<'_>, $($arg: $ty),*) -> CallResult<$ret> {
                dispatch!(self, store, $name($($arg),*) $(, ($($old),*))?)
            }
        )*}
    };
}

any_plugin_callbacks! {
    fn proxy_on_context_create(id: u32, parent: u32) -> ();
    fn proxy_on_done(id: u32) -> bool;
    fn proxy_on_log(id: u32) -> ();
    fn proxy_on_delete(id: u32) -> ();
    fn proxy_on_vm_start(id: u32, size: u32) -> bool;
    fn proxy_on_configure(id: u32, size: u32) -> bool;
    fn proxy_on_tick(id: u32) -> ();
    fn proxy_on_new_connection(id: u32) -> v21::Action;
    fn proxy_on_downstream_data(id: u32, size: u32, end: bool) -> v21::Action;
    fn proxy_on_downstream_connection_close(id: u32, peer: v21::PeerType) -> ();
    fn proxy_on_upstream_data(id: u32, size: u32, end: bool) -> v21::Action;
    fn proxy_on_upstream_connection_close(id: u32, peer: v21::PeerType) -> ();
    // 0.1.0's header callbacks have no `end_of_stream` argument.
    fn proxy_on_request_headers(id: u32, count: u32, end: bool) -> v21::Action, older(id, count);
    fn proxy_on_request_body(id: u32, size: u32, end: bool) -> v21::Action;
    fn proxy_on_request_trailers(id: u32, count: u32) -> v21::Action;
    fn proxy_on_response_headers(id: u32, count: u32, end: bool) -> v21::Action, older(id, count);
    fn proxy_on_response_body(id: u32, size: u32, end: bool) -> v21::Action;
    fn proxy_on_response_trailers(id: u32, count: u32) -> v21::Action;
    fn proxy_on_http_call_response(id: u32, token: u32, headers: u32, body: u32, trailers: u32) -> ();
    fn proxy_on_queue_ready(id: u32, queue: u32) -> ();
    fn proxy_on_grpc_receive_initial_metadata(id: u32, token: u32, count: u32) -> ();
    fn proxy_on_grpc_receive(id: u32, token: u32, size: u32) -> ();
    fn proxy_on_grpc_receive_trailing_metadata(id: u32, token: u32, count: u32) -> ();
    fn proxy_on_grpc_close(id: u32, token: u32, status: u32) -> ();
}

impl AnyPlugin {
    /// Instantiates `module` as the newest version it declares.
    pub fn instantiate(
        store: Store<'_>,
        linkers: &Linkers,
        module: &wasmtime::Module,
    ) -> Result<AnyPlugin, PluginError> {
        let declared = v21::Plugin::declared_versions(module);
        let version = VERSIONS
            .iter()
            .find(|v| declared.iter().any(|d| d == *v))
            .copied();
        Ok(match version {
            Some("0.1.0") => {
                AnyPlugin::V0_1_0(v0_1_0::Plugin::instantiate(store, &linkers.v0_1_0, module)?)
            }
            Some("0.2.0") => {
                AnyPlugin::V0_2_0(v0_2_0::Plugin::instantiate(store, &linkers.v0_2_0, module)?)
            }
            // 0.2.1, or none this host runs: v0.2.1's error says which.
            _ => AnyPlugin::V0_2_1(v21::Plugin::instantiate(store, &linkers.v0_2_1, module)?),
        })
    }

    /// The export names of the callbacks of the plugin's version, indexed
    /// by callback id.
    pub fn callback_names(&self) -> &'static [&'static str] {
        match self {
            AnyPlugin::V0_1_0(_) => v0_1_0::CALLBACK_NAMES,
            AnyPlugin::V0_2_0(_) => v0_2_0::CALLBACK_NAMES,
            AnyPlugin::V0_2_1(_) => v21::CALLBACK_NAMES,
        }
    }

    /// The plugin's memory.
    pub fn memory(&self) -> wasmtime::Memory {
        match self {
            AnyPlugin::V0_1_0(p) => p.memory(),
            AnyPlugin::V0_2_0(p) => p.memory(),
            AnyPlugin::V0_2_1(p) => p.memory(),
        }
    }

    /// The ABI version the plugin runs as.
    pub fn version(&self) -> &'static str {
        match self {
            AnyPlugin::V0_1_0(_) => "0.1.0",
            AnyPlugin::V0_2_0(_) => "0.2.0",
            AnyPlugin::V0_2_1(_) => "0.2.1",
        }
    }

    /// `proxy_on_foreign_function`: `Ok(None)` before 0.2.1, which has none.
    pub fn proxy_on_foreign_function(
        &self,
        store: Store<'_>,
        id: u32,
        function: u32,
        size: u32,
    ) -> CallResult<()> {
        match self {
            AnyPlugin::V0_2_1(p) => p.proxy_on_foreign_function(store, id, function, size),
            _ => Ok(None),
        }
    }
}
