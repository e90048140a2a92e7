//! An in-memory Proxy-Wasm v0.2.1 host: headers, bodies, properties, shared
//! data and queues, metrics, timers, logs, local responses and HTTP calls,
//! all recorded for inspection.
//!
//! Each stream (HTTP request or TCP connection) has its own headers, bodies,
//! trailers, local response and continue/close calls. The host's stream
//! fields (`request_headers`, …) hold one stream's, that of
//! [`ReferenceHost::stream_context`]; the others wait in
//! [`ReferenceHost::streams`]. While a callback runs, they follow the
//! effective context, so `proxy_set_effective_context` reaches another
//! stream and a plugin (root) context sees no stream at all; outside
//! callbacks, [`ReferenceHost::select_stream`] picks the stream to set up
//! or inspect.
//!
//! It answers exactly the statuses the specification gives (NOT_FOUND for a
//! missing key or queue, EMPTY for an empty queue, CAS_MISMATCH, ...): the
//! official Rust SDK traps on any status its wrapper does not expect.
//!
//! A plugin is untrusted, so what it makes the host keep is bounded: the
//! generated bindings refuse any one argument past the store's
//! [`Limits`](proxy_wasm_abi::host::Limits), and the host refuses to keep
//! more than its [`Capacity`] across calls. Past either, the call answers
//! BAD_ARGUMENT (the description's clarification) and nothing is kept.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::bindings::{
    BufferType, HasPluginState, Host, LogLevel, MapType, MetricType, PluginState,
};
use super::bindings::{RawLogLevel, Status, StreamType, serial};
use super::bindings::{WasiClockId, WasiErrno, WasiFdId};

/// Key/value pairs in order, as HTTP fields are.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A property path: its segments.
pub type PropertyPath = Vec<Vec<u8>>;

/// How much the reference host keeps of what plugins hand it across calls.
/// Past a capacity the call answers BAD_ARGUMENT and the host keeps nothing
/// of it. The defaults are far above what a plugin in a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Bytes of keys and values in the shared-data store.
    pub shared_data_bytes: usize,
    /// Queues registered.
    pub queues: usize,
    /// Items waiting in one queue.
    pub queue_items: usize,
    /// Metrics defined.
    pub metrics: usize,
    /// Properties the plugin set.
    pub properties: usize,
    /// Pairs of one header or trailer map the plugin adds to.
    pub map_pairs: usize,
    /// Bytes of one body or connection buffer the plugin writes to.
    pub buffer_bytes: usize,
    /// Bytes of one log message (`proxy_log` or one `fd_write`).
    pub log_message_bytes: usize,
    /// Bytes the host holds in its records of what the plugin did (logs,
    /// HTTP and gRPC calls with their messages, foreign function calls),
    /// until [`ReferenceHost::forget_records`] drops them.
    pub record_bytes: usize,
}

impl Default for Capacity {
    /// 64 MiB of shared data, bodies and buffers; 1,024 queues of 10,000
    /// items; 10,000 metrics, properties and map pairs; log messages of
    /// 1 MiB; 256 MiB of records.
    fn default() -> Self {
        Capacity {
            shared_data_bytes: 64 << 20,
            queues: 1_024,
            queue_items: 10_000,
            metrics: 10_000,
            properties: 10_000,
            map_pairs: 10_000,
            buffer_bytes: 64 << 20,
            log_message_bytes: 1 << 20,
            record_bytes: 256 << 20,
        }
    }
}

/// A local response the plugin sent with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    /// HTTP status code.
    pub status_code: u32,
    /// The details string.
    pub details: String,
    /// Response body.
    pub body: Vec<u8>,
    /// Response headers.
    pub headers: Pairs,
    /// gRPC status, or `u32::MAX` for none.
    pub grpc_status: u32,
}

/// An HTTP call the plugin dispatched with `proxy_http_call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// The call's token, passed back to `proxy_on_http_call_response`.
    pub token: u32,
    /// The upstream (cluster) name.
    pub upstream: String,
    /// Request headers, including `:method`, `:path` and `:authority`.
    pub headers: Pairs,
    /// Request body.
    pub body: Vec<u8>,
    /// Request trailers.
    pub trailers: Pairs,
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
    /// The effective context that dispatched it: the stream it was made for,
    /// or a plugin context.
    pub context: u32,
}

/// The response the host hands to `proxy_on_http_call_response`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCallResponse {
    /// Response headers, `:status` first.
    pub headers: Pairs,
    /// Response body.
    pub body: Vec<u8>,
    /// Response trailers.
    pub trailers: Pairs,
}

/// A gRPC call or stream the plugin opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcCall {
    /// The call's token, passed back to the gRPC callbacks.
    pub token: u32,
    /// The upstream (cluster) name.
    pub upstream: String,
    /// The service, e.g. `helloworld.Greeter`.
    pub service: String,
    /// The method, e.g. `SayHello`.
    pub method: String,
    /// Initial metadata sent.
    pub initial_metadata: Pairs,
    /// Messages sent: the request of a call, or each `proxy_grpc_send`.
    pub messages: Vec<Vec<u8>>,
    /// The timeout of a call in milliseconds; `None` for a stream.
    pub timeout_ms: Option<u32>,
    /// The plugin half-closed the stream (`end_of_stream` on a send).
    pub half_closed: bool,
    /// The plugin cancelled the call or stream.
    pub cancelled: bool,
    /// The plugin closed the stream.
    pub closed: bool,
    /// The effective context that opened it.
    pub context: u32,
}

/// What the host answers each gRPC call or stream with.
///
/// A call (unary) that succeeds gets its one message with
/// `proxy_on_grpc_receive`; one that fails gets `proxy_on_grpc_close` with
/// the status, as Envoy does. A stream gets the initial metadata, each
/// message, the trailing metadata, then `proxy_on_grpc_close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcResponse {
    /// Initial metadata (streams).
    pub initial_metadata: Pairs,
    /// Messages: a call's reply is the first.
    pub messages: Vec<Vec<u8>>,
    /// Trailing metadata (streams).
    pub trailing_metadata: Pairs,
    /// The gRPC status code: 0 (OK) for success.
    pub status: u32,
    /// The status message `proxy_get_status` reports with it.
    pub status_message: String,
}

impl Default for GrpcResponse {
    /// Success, with one empty message.
    fn default() -> Self {
        GrpcResponse {
            initial_metadata: Vec::new(),
            messages: vec![Vec::new()],
            trailing_metadata: Vec::new(),
            status: 0,
            status_message: String::new(),
        }
    }
}

/// A metric defined by the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// Counter, gauge or histogram.
    pub kind: MetricType,
    /// Its name.
    pub name: String,
    /// Current value (the last recorded value for histograms).
    pub value: i64,
}

/// A shared queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    /// The VM id it belongs to.
    pub vm_id: String,
    /// Its name.
    pub name: String,
    /// Items, oldest first.
    pub items: VecDeque<Vec<u8>>,
}

/// What the host holds for one stream (HTTP request or TCP connection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamState {
    /// HTTP request headers.
    pub request_headers: Pairs,
    /// HTTP request trailers.
    pub request_trailers: Pairs,
    /// HTTP response headers.
    pub response_headers: Pairs,
    /// HTTP response trailers.
    pub response_trailers: Pairs,
    /// HTTP request body (as buffered so far).
    pub request_body: Vec<u8>,
    /// HTTP response body (as buffered so far).
    pub response_body: Vec<u8>,
    /// TCP data from downstream.
    pub downstream_data: Vec<u8>,
    /// TCP data from upstream.
    pub upstream_data: Vec<u8>,
    /// The local response, if the plugin sent one.
    pub local_response: Option<LocalResponse>,
    /// `proxy_continue_stream` calls, in order.
    pub continued: Vec<StreamType>,
    /// `proxy_close_stream` calls, in order.
    pub closed: Vec<StreamType>,
}

/// The in-memory host. Fields are public so tests and the runner can set
/// up a request and inspect what the plugin did. The stream fields (request
/// headers to `closed`) are those of [`ReferenceHost::stream_context`]; see
/// the module docs.
#[derive(Debug, Clone)]
pub struct ReferenceHost {
    /// The upstreams `proxy_http_call` knows (`None`: any name but the
    /// empty one); others answer BAD_ARGUMENT, as the description says.
    pub upstreams: Option<Vec<String>>,
    /// The stream whose state the stream fields hold (0: none yet).
    pub stream_context: u32,
    /// The other streams' state, by context id.
    pub streams: HashMap<u32, StreamState>,
    /// The plugin (root) contexts `proxy_set_effective_context` accepts,
    /// besides live streams.
    pub plugin_contexts: BTreeSet<u32>,
    /// The VM id queues registered by this plugin belong to.
    pub vm_id: String,
    /// HTTP request headers.
    pub request_headers: Pairs,
    /// HTTP request trailers.
    pub request_trailers: Pairs,
    /// HTTP response headers.
    pub response_headers: Pairs,
    /// HTTP response trailers.
    pub response_trailers: Pairs,
    /// HTTP request body (as buffered so far).
    pub request_body: Vec<u8>,
    /// HTTP response body (as buffered so far).
    pub response_body: Vec<u8>,
    /// TCP data from downstream.
    pub downstream_data: Vec<u8>,
    /// TCP data from upstream.
    pub upstream_data: Vec<u8>,
    /// The HTTP call response being delivered, while it is.
    pub http_call_response: Option<HttpCallResponse>,
    /// The VM configuration, readable in `proxy_on_vm_start`.
    pub vm_configuration: Vec<u8>,
    /// The plugin configuration, readable in `proxy_on_configure`.
    pub plugin_configuration: Vec<u8>,
    /// Properties by path segments.
    pub properties: HashMap<PropertyPath, Vec<u8>>,
    /// Shared data: value and compare-and-swap token by key.
    pub shared_data: HashMap<String, (Vec<u8>, u32)>,
    /// Shared queues; a queue's id is its index plus one.
    pub queues: Vec<Queue>,
    /// Ids of queues that received an item and await `proxy_on_queue_ready`.
    pub queues_ready: Vec<u32>,
    /// Metrics; a metric's id is its index plus one.
    pub metrics: Vec<Metric>,
    /// The tick period the plugin asked for, in milliseconds (0: none).
    pub tick_period_ms: u32,
    /// Everything logged, with `proxy_log` or WASI `fd_write`.
    pub logs: Vec<(LogLevel, String)>,
    /// The host's log level, as `proxy_get_log_level` reports it.
    pub log_level: LogLevel,
    /// The local response, if the plugin sent one.
    pub local_response: Option<LocalResponse>,
    /// HTTP calls dispatched, in order.
    pub http_calls: Vec<HttpCall>,
    /// `proxy_continue_stream` calls, in order.
    pub continued: Vec<StreamType>,
    /// How many times the plugin cleared the route cache (0.1.0's
    /// `proxy_clear_route_cache`).
    pub route_cache_cleared: u32,
    /// `proxy_close_stream` calls, in order.
    pub closed: Vec<StreamType>,
    /// The context made effective by `proxy_set_effective_context`.
    pub effective_context: u32,
    /// Whether a context awaits `proxy_done` (its `proxy_on_done` said false).
    pub done_pending: bool,
    /// How [`Session::shutdown`](super::Session::shutdown) ends the root
    /// context.
    pub root_shutdown: RootShutdown,
    /// Whether a stream paused in its trailers callbacks waits for the
    /// plugin to resume it.
    pub trailers_pause: TrailersPause,
    /// What the generated bindings keep in the store: the plugin's exports
    /// and the access rules' view of the running callback and paused streams.
    pub plugin: PluginState,
    /// The time reported by the clocks, in nanoseconds since the epoch.
    pub now_ns: u64,
    /// State of the deterministic generator behind `random_get`.
    pub random_state: u64,
    /// The exit code, if the plugin called `proc_exit`.
    pub exit_code: Option<u32>,
    /// Foreign functions the host offers, by name, each answering the
    /// same bytes; any other name is NOT_FOUND.
    pub foreign_functions: HashMap<String, Vec<u8>>,
    /// Foreign function calls the plugin made: name and arguments.
    pub foreign_calls: Vec<(String, Vec<u8>)>,
    /// gRPC calls and streams the plugin opened, in order.
    pub grpc_calls: Vec<GrpcCall>,
    /// The gRPC metadata and message being delivered, while they are:
    /// readable as the `GRPC_*` maps and buffer.
    pub grpc_delivery: Option<(Pairs, Vec<u8>, Pairs)>,
    /// The gRPC status being delivered with `proxy_on_grpc_close`, which
    /// `proxy_get_status` reports.
    pub grpc_status: Option<(u32, String)>,
    /// How much the host keeps across calls.
    pub capacity: Capacity,
    /// How much it keeps now.
    pub usage: Usage,
}

/// What the reference host holds against its [`Capacity`], and the call
/// tokens it issued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    shared_data_bytes: usize,
    record_bytes: usize,
    calls_issued: u32,
}

impl Usage {
    /// Bytes held in the records (see [`Capacity::record_bytes`]).
    pub fn record_bytes(&self) -> usize {
        self.record_bytes
    }

    /// Bytes of keys and values the plugin stored in the shared data.
    pub fn shared_data_bytes(&self) -> usize {
        self.shared_data_bytes
    }
}

impl Default for ReferenceHost {
    fn default() -> Self {
        ReferenceHost {
            upstreams: None,
            stream_context: 0,
            streams: HashMap::new(),
            plugin_contexts: BTreeSet::new(),
            vm_id: String::new(),
            request_headers: Vec::new(),
            request_trailers: Vec::new(),
            response_headers: Vec::new(),
            response_trailers: Vec::new(),
            request_body: Vec::new(),
            response_body: Vec::new(),
            downstream_data: Vec::new(),
            upstream_data: Vec::new(),
            http_call_response: None,
            vm_configuration: Vec::new(),
            plugin_configuration: Vec::new(),
            properties: HashMap::new(),
            shared_data: HashMap::new(),
            queues: Vec::new(),
            queues_ready: Vec::new(),
            metrics: Vec::new(),
            tick_period_ms: 0,
            logs: Vec::new(),
            log_level: LogLevel::Trace,
            local_response: None,
            http_calls: Vec::new(),
            continued: Vec::new(),
            route_cache_cleared: 0,
            closed: Vec::new(),
            effective_context: 0,
            done_pending: false,
            root_shutdown: RootShutdown::default(),
            trailers_pause: TrailersPause::default(),
            plugin: PluginState::new(),
            // A fixed instant keeps runs reproducible: 2020-01-01T00:00:00Z.
            now_ns: 1_577_836_800_000_000_000,
            random_state: 0x853c_49e6_748f_ea9b,
            exit_code: None,
            foreign_functions: HashMap::new(),
            foreign_calls: Vec::new(),
            grpc_calls: Vec::new(),
            grpc_delivery: None,
            grpc_status: None,
            capacity: Capacity::default(),
            usage: Usage::default(),
        }
    }
}

/// Owned pairs from borrowed ones: bytes or text.
pub fn owned<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Pairs {
    pairs
        .iter()
        .map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec()))
        .collect()
}

/// HTTP field names compare without regard to ASCII case.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Exchanges the stream fields of `host` with `stream`.
fn swap_stream(host: &mut ReferenceHost, stream: &mut StreamState) {
    use std::mem::swap;
    swap(&mut host.request_headers, &mut stream.request_headers);
    swap(&mut host.request_trailers, &mut stream.request_trailers);
    swap(&mut host.response_headers, &mut stream.response_headers);
    swap(&mut host.response_trailers, &mut stream.response_trailers);
    swap(&mut host.request_body, &mut stream.request_body);
    swap(&mut host.response_body, &mut stream.response_body);
    swap(&mut host.downstream_data, &mut stream.downstream_data);
    swap(&mut host.upstream_data, &mut stream.upstream_data);
    swap(&mut host.local_response, &mut stream.local_response);
    swap(&mut host.continued, &mut stream.continued);
    swap(&mut host.closed, &mut stream.closed);
}

impl ReferenceHost {
    /// Puts stream `context_id`'s state in the stream fields (a stream not
    /// seen before starts empty), setting the current one aside.
    pub fn select_stream(&mut self, context_id: u32) {
        if context_id == self.stream_context {
            return;
        }
        let mut stream = self.streams.remove(&context_id).unwrap_or_default();
        swap_stream(self, &mut stream);
        if stream != StreamState::default() {
            self.streams.insert(self.stream_context, stream);
        }
        self.stream_context = context_id;
    }

    /// Drops stream `context_id`'s state (the current one's too).
    pub fn drop_stream(&mut self, context_id: u32) {
        if context_id == self.stream_context {
            swap_stream(self, &mut StreamState::default());
        }
        self.streams.remove(&context_id);
    }

    /// While a callback runs, the stream fields are the effective
    /// context's.
    fn follow_effective_context(&mut self) {
        if self.plugin.running().is_some() {
            self.select_stream(self.plugin.effective_context());
        }
    }

    fn map(&mut self, map_id: MapType) -> Option<&Pairs> {
        self.follow_effective_context();
        Some(match map_id {
            MapType::HttpRequestHeaders => &self.request_headers,
            MapType::HttpRequestTrailers => &self.request_trailers,
            MapType::HttpResponseHeaders => &self.response_headers,
            MapType::HttpResponseTrailers => &self.response_trailers,
            MapType::HttpCallResponseHeaders => &self.http_call_response.as_ref()?.headers,
            MapType::HttpCallResponseTrailers => &self.http_call_response.as_ref()?.trailers,
            MapType::GrpcCallInitialMetadata => &self.grpc_delivery.as_ref()?.0,
            MapType::GrpcCallTrailingMetadata => &self.grpc_delivery.as_ref()?.2,
        })
    }

    fn map_mut(&mut self, map_id: MapType) -> Option<&mut Pairs> {
        self.follow_effective_context();
        Some(match map_id {
            MapType::HttpRequestHeaders => &mut self.request_headers,
            MapType::HttpRequestTrailers => &mut self.request_trailers,
            MapType::HttpResponseHeaders => &mut self.response_headers,
            MapType::HttpResponseTrailers => &mut self.response_trailers,
            // Responses to calls and gRPC metadata are read-only.
            _ => return None,
        })
    }

    fn buffer(&mut self, buffer_id: BufferType) -> Option<&Vec<u8>> {
        self.follow_effective_context();
        Some(match buffer_id {
            BufferType::HttpRequestBody => &self.request_body,
            BufferType::HttpResponseBody => &self.response_body,
            BufferType::DownstreamData => &self.downstream_data,
            BufferType::UpstreamData => &self.upstream_data,
            BufferType::HttpCallResponseBody => &self.http_call_response.as_ref()?.body,
            BufferType::VmConfiguration => &self.vm_configuration,
            BufferType::PluginConfiguration => &self.plugin_configuration,
            BufferType::GrpcCallMessage => &self.grpc_delivery.as_ref()?.1,
            BufferType::ForeignFunctionArguments => return None,
        })
    }

    fn buffer_mut(&mut self, buffer_id: BufferType) -> Option<&mut Vec<u8>> {
        self.follow_effective_context();
        Some(match buffer_id {
            BufferType::HttpRequestBody => &mut self.request_body,
            BufferType::HttpResponseBody => &mut self.response_body,
            BufferType::DownstreamData => &mut self.downstream_data,
            BufferType::UpstreamData => &mut self.upstream_data,
            _ => return None,
        })
    }

    fn queue_mut(&mut self, queue_id: u32) -> Option<&mut Queue> {
        let index = usize::try_from(queue_id).ok()?.checked_sub(1)?;
        self.queues.get_mut(index)
    }

    fn metric_mut(&mut self, metric_id: u32) -> Option<&mut Metric> {
        let index = usize::try_from(metric_id).ok()?.checked_sub(1)?;
        self.metrics.get_mut(index)
    }

    /// The token of the next HTTP or gRPC call: one sequence for both, as a
    /// proxy's.
    fn next_call_token(&mut self) -> Result<u32, Status> {
        self.usage.calls_issued = self
            .usage
            .calls_issued
            .checked_add(1)
            .ok_or(Status::InternalFailure)?;
        Ok(self.usage.calls_issued)
    }

    /// Makes room for `bytes` more in the records, or refuses.
    fn keep(&mut self, bytes: usize) -> Result<(), Status> {
        let total = self.usage.record_bytes.saturating_add(bytes);
        if total > self.capacity.record_bytes {
            return Err(Status::BadArgument);
        }
        self.usage.record_bytes = total;
        Ok(())
    }

    /// Drops the records of what the plugin did (logs, HTTP and gRPC calls
    /// that are over, foreign function calls), for a host that runs long
    /// and has read them: they no longer count against
    /// [`Capacity::record_bytes`]. gRPC streams still open are kept.
    pub fn forget_records(&mut self) {
        self.logs.clear();
        self.http_calls.clear();
        self.foreign_calls.clear();
        self.grpc_calls
            .retain(|c| c.timeout_ms.is_none() && !c.cancelled && !c.closed);
        self.usage.record_bytes = self
            .grpc_calls
            .iter()
            .map(|c| c.messages.iter().map(Vec::len).sum::<usize>())
            .sum();
    }

    /// Records a new gRPC call or stream. Without an upstream it answers
    /// PARSE_FAILURE, the status the description gives for an unknown one;
    /// any service and method are sent, as a proxy would (the server then
    /// answers UNIMPLEMENTED).
    fn open_grpc(
        &mut self,
        upstream: &str,
        service: &str,
        method: &str,
        initial_metadata: &[(&[u8], &[u8])],
        timeout_ms: Option<u32>,
    ) -> Result<&mut GrpcCall, Status> {
        if upstream.is_empty() {
            return Err(Status::ParseFailure);
        }
        let metadata: usize = initial_metadata
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        self.keep(upstream.len() + service.len() + method.len() + metadata)?;
        let token = self.next_call_token()?;
        let context = self.plugin.effective_context();
        self.grpc_calls.push(GrpcCall {
            context,
            token,
            upstream: upstream.to_string(),
            service: service.to_string(),
            method: method.to_string(),
            initial_metadata: owned(initial_metadata),
            messages: Vec::new(),
            timeout_ms,
            half_closed: false,
            cancelled: false,
            closed: false,
        });
        Ok(self.grpc_calls.last_mut().expect("just pushed"))
    }

    /// The open stream `call_id` (not a call, not cancelled or closed).
    fn grpc_stream(&mut self, call_id: u32) -> Result<&mut GrpcCall, Status> {
        self.grpc_calls
            .iter_mut()
            .find(|c| c.token == call_id && c.timeout_ms.is_none() && !c.cancelled && !c.closed)
            .ok_or(Status::NotFound)
    }

    /// Puts `item` on the queue named `name` that the plugin registered, as
    /// another plugin or the host would; `false` when there is none. The
    /// plugin hears of it with `proxy_on_queue_ready`.
    pub fn enqueue(&mut self, name: &str, item: &[u8]) -> bool {
        let Some(index) = self.queues.iter().position(|q| q.name == name) else {
            return false;
        };
        self.queues[index].items.push_back(item.to_vec());
        let id = u32::try_from(index + 1).unwrap_or(u32::MAX);
        self.queues_ready.push(id);
        true
    }

    /// Records a log entry, unless it is below the host's log level (as a
    /// proxy drops it); refuses one past the capacities.
    fn log(&mut self, level: LogLevel, message: &str) -> Result<(), Status> {
        if message.len() > self.capacity.log_message_bytes {
            return Err(Status::BadArgument);
        }
        if RawLogLevel::from(level).0 >= RawLogLevel::from(self.log_level).0 {
            self.keep(message.len())?;
            self.logs.push((level, message.to_string()));
        }
        Ok(())
    }

    /// The request and response attributes Envoy derives from the headers,
    /// for a property nobody set: `request.path`, `request.url_path` (without
    /// the query), `request.query`, `request.host`, `request.scheme`,
    /// `request.method`, `request.referer`, `request.useragent`, `request.id`
    /// (`x-request-id`), as text; `response.code` as Envoy encodes an integer,
    /// 8 bytes little-endian.
    fn derived_property(&self, path: &[&[u8]]) -> Option<Vec<u8>> {
        let header = |pairs: &Pairs, name: &str| {
            pairs
                .iter()
                .find(|(k, _)| same_name(k, name.as_bytes()))
                .map(|(_, v)| v.clone())
        };
        let request = |name| header(&self.request_headers, name);
        match path {
            [b"request", attribute] => match *attribute {
                b"path" => request(":path"),
                b"url_path" | b"query" => {
                    let full = request(":path")?;
                    let at = full.iter().position(|&b| b == b'?');
                    Some(match (*attribute == b"url_path", at) {
                        (true, Some(at)) => full[..at].to_vec(),
                        (true, None) => full,
                        (false, Some(at)) => full[at + 1..].to_vec(),
                        (false, None) => Vec::new(),
                    })
                }
                b"host" => request(":authority"),
                b"scheme" => request(":scheme"),
                b"method" => request(":method"),
                b"referer" => request("referer"),
                b"useragent" => request("user-agent"),
                b"id" => request("x-request-id"),
                _ => None,
            },
            [b"response", b"code"] => {
                let status = header(&self.response_headers, ":status")?;
                let code: i64 = std::str::from_utf8(&status).ok()?.parse().ok()?;
                Some(code.to_le_bytes().to_vec())
            }
            _ => None,
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: reproducible, which matters more here than quality.
        self.random_state ^= self.random_state >> 12;
        self.random_state ^= self.random_state << 25;
        self.random_state ^= self.random_state >> 27;
        self.random_state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// How the plugin's shutdown ends the root context: as the specification
/// says, or wrongly on purpose (to check that the conformance kit catches
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RootShutdown {
    /// `proxy_on_done`; if it answers `false`, the timer and any answers
    /// still come until the plugin calls `proxy_done`; then `proxy_on_log`
    /// and `proxy_on_delete`.
    #[default]
    WaitForDone,
    /// `proxy_on_done`, then `proxy_on_log` and `proxy_on_delete` at once,
    /// whatever it answered.
    DeleteAtOnce,
    /// `proxy_on_log` and `proxy_on_delete` without `proxy_on_done`.
    SkipDone,
}

/// What the host does when `proxy_on_request_trailers` or
/// `proxy_on_response_trailers` answers `PAUSE`: wait, as the
/// specification says, or go on wrongly on purpose (to check that the
/// conformance kit catches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrailersPause {
    /// The stream waits for the plugin's calls (its timer, answers) to
    /// resume it; the response's trailers only where a response waits at
    /// all ([`Session::waits_at_response_headers`](super::Session::waits_at_response_headers)).
    #[default]
    Waits,
    /// The stream goes on at once, though the plugin holds it.
    GoesOn,
}

impl HasPluginState for ReferenceHost {
    const TRACES_HOST_CALLS: bool = true;

    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for ReferenceHost {
    fn proxy_done(&mut self) -> Result<(), Status> {
        if std::mem::take(&mut self.done_pending) {
            Ok(())
        } else {
            Err(Status::NotFound)
        }
    }

    fn proxy_set_effective_context(&mut self, context_id: u32) -> Result<(), Status> {
        // As Envoy: a context that does not exist (or no longer does) is
        // refused.
        if !self.plugin.is_stream(context_id) && !self.plugin_contexts.contains(&context_id) {
            return Err(Status::BadArgument);
        }
        self.effective_context = context_id;
        Ok(())
    }

    fn proxy_log(&mut self, log_level: LogLevel, message: &str) -> Result<(), Status> {
        self.log(log_level, message)
    }

    fn fd_write(&mut self, fd_id: WasiFdId, iovec: &[&[u8]]) -> Result<usize, WasiErrno> {
        let size: usize = iovec.iter().map(|chunk| chunk.len()).sum();
        if size > self.capacity.log_message_bytes {
            return Err(WasiErrno::Inval);
        }
        let text = iovec.concat();
        let level = match fd_id {
            WasiFdId::Stdout => LogLevel::Info,
            WasiFdId::Stderr => LogLevel::Error,
        };
        let message = String::from_utf8_lossy(&text);
        self.log(level, message.trim_end())
            .map_err(|_| WasiErrno::Inval)?;
        Ok(text.len())
    }

    fn proxy_get_log_level(&mut self) -> Result<LogLevel, Status> {
        Ok(self.log_level)
    }

    fn proxy_get_current_time_nanoseconds(&mut self) -> Result<u64, Status> {
        Ok(self.now_ns)
    }

    fn clock_time_get(&mut self, clock_id: WasiClockId) -> Result<u64, WasiErrno> {
        let _ = clock_id;
        Ok(self.now_ns)
    }

    fn proxy_set_tick_period_milliseconds(&mut self, tick_period: u32) -> Result<(), Status> {
        self.tick_period_ms = tick_period;
        Ok(())
    }

    fn random_get(&mut self, buffer: &mut [u8]) -> Result<(), WasiErrno> {
        for chunk in buffer.chunks_mut(8) {
            let word = self.next_random().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }

    fn environ_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno> {
        Ok((0, 0))
    }

    fn environ_get(
        &mut self,
        memory: &mut [u8],
        return_array: u32,
        return_buffer: u32,
    ) -> Result<(), WasiErrno> {
        // No variables: nothing to write.
        let _ = (memory, return_array, return_buffer);
        Ok(())
    }

    fn proxy_set_buffer_bytes(
        &mut self,
        buffer_id: BufferType,
        start: usize,
        size: usize,
        value: &[u8],
    ) -> Result<(), Status> {
        let most = self.capacity.buffer_bytes;
        let buffer = self.buffer_mut(buffer_id).ok_or(Status::NotFound)?;
        let start = start.min(buffer.len());
        let end = start.saturating_add(size).min(buffer.len());
        if buffer.len() - (end - start) + value.len() > most {
            return Err(Status::BadArgument);
        }
        buffer.splice(start..end, value.iter().copied());
        Ok(())
    }

    fn proxy_get_buffer_bytes(
        &mut self,
        buffer_id: BufferType,
        start: usize,
        max_size: usize,
    ) -> Result<Vec<u8>, Status> {
        let buffer = self.buffer(buffer_id).ok_or(Status::NotFound)?;
        if start > buffer.len() {
            return Err(Status::BadArgument);
        }
        let end = start.saturating_add(max_size).min(buffer.len());
        Ok(buffer[start..end].to_vec())
    }

    fn proxy_get_buffer_status(&mut self, buffer_id: BufferType) -> Result<usize, Status> {
        self.buffer(buffer_id).map(Vec::len).ok_or(Status::NotFound)
    }

    fn proxy_get_header_map_size(&mut self, map_id: MapType) -> Result<usize, Status> {
        let empty = Pairs::new();
        let pairs = self.map(map_id).unwrap_or(&empty);
        Ok(serial::encoded_map_size(pairs))
    }

    fn proxy_get_header_map_pairs(&mut self, map_id: MapType) -> Result<Pairs, Status> {
        // An unavailable map reads as empty: the SDK expects OK here.
        Ok(self.map(map_id).cloned().unwrap_or_default())
    }

    fn proxy_set_header_map_pairs(
        &mut self,
        map_id: MapType,
        pairs: &[(&[u8], &[u8])],
    ) -> Result<(), Status> {
        if pairs.len() > self.capacity.map_pairs {
            return Err(Status::BadArgument);
        }
        *self.map_mut(map_id).ok_or(Status::BadArgument)? = owned(pairs);
        Ok(())
    }

    fn proxy_get_header_map_value(
        &mut self,
        map_id: MapType,
        key: &str,
    ) -> Result<Vec<u8>, Status> {
        self.map(map_id)
            .and_then(|pairs| pairs.iter().find(|(k, _)| same_name(k, key.as_bytes())))
            .map(|(_, v)| v.clone())
            .ok_or(Status::NotFound)
    }

    fn proxy_add_header_map_value(
        &mut self,
        map_id: MapType,
        key: &str,
        value: &[u8],
    ) -> Result<(), Status> {
        let most = self.capacity.map_pairs;
        let pairs = self.map_mut(map_id).ok_or(Status::BadArgument)?;
        if pairs.len() >= most {
            return Err(Status::BadArgument);
        }
        pairs.push((key.as_bytes().to_vec(), value.to_vec()));
        Ok(())
    }

    fn proxy_replace_header_map_value(
        &mut self,
        map_id: MapType,
        key: &str,
        value: &[u8],
    ) -> Result<(), Status> {
        let most = self.capacity.map_pairs;
        let pairs = self.map_mut(map_id).ok_or(Status::BadArgument)?;
        match pairs.iter().position(|(k, _)| same_name(k, key.as_bytes())) {
            Some(first) => {
                pairs[first].1 = value.to_vec();
                let mut index = 0;
                pairs.retain(|(k, _)| {
                    index += 1;
                    index - 1 == first || !same_name(k, key.as_bytes())
                });
            }
            None if pairs.len() >= most => return Err(Status::BadArgument),
            None => pairs.push((key.as_bytes().to_vec(), value.to_vec())),
        }
        Ok(())
    }

    fn proxy_remove_header_map_value(&mut self, map_id: MapType, key: &str) -> Result<(), Status> {
        let pairs = self.map_mut(map_id).ok_or(Status::BadArgument)?;
        pairs.retain(|(k, _)| !same_name(k, key.as_bytes()));
        Ok(())
    }

    fn proxy_continue_stream(&mut self, stream_type: StreamType) -> Result<(), Status> {
        self.follow_effective_context();
        self.continued.push(stream_type);
        Ok(())
    }

    fn proxy_close_stream(&mut self, stream_type: StreamType) -> Result<(), Status> {
        self.follow_effective_context();
        self.closed.push(stream_type);
        Ok(())
    }

    fn proxy_get_status(&mut self) -> Result<(u32, String), Status> {
        if let Some(status) = &self.grpc_status {
            return Ok(status.clone());
        }
        let code = self
            .http_call_response
            .as_ref()
            .and_then(|r| r.headers.iter().find(|(k, _)| k == b":status"))
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        Ok((code, String::new()))
    }

    fn proxy_send_local_response(
        &mut self,
        status_code: u32,
        status_code_details: &str,
        body: &[u8],
        headers: &[(&[u8], &[u8])],
        grpc_status: u32,
    ) -> Result<(), Status> {
        self.follow_effective_context();
        self.local_response = Some(LocalResponse {
            status_code,
            details: status_code_details.to_string(),
            body: body.to_vec(),
            headers: owned(headers),
            grpc_status,
        });
        Ok(())
    }

    fn proxy_http_call(
        &mut self,
        upstream_name: &str,
        headers: &[(&[u8], &[u8])],
        body: &[u8],
        trailers: &[(&[u8], &[u8])],
        timeout: u32,
    ) -> Result<u32, Status> {
        let has = |name: &[u8]| headers.iter().any(|(k, _)| *k == name);
        let known = self
            .upstreams
            .as_ref()
            .is_none_or(|list| list.iter().any(|u| u == upstream_name));
        if upstream_name.is_empty()
            || !known
            || !(has(b":method") && has(b":path") && has(b":authority"))
        {
            return Err(Status::BadArgument);
        }
        let size = |pairs: &[(&[u8], &[u8])]| -> usize {
            pairs.iter().map(|(k, v)| k.len() + v.len()).sum()
        };
        self.keep(upstream_name.len() + size(headers) + body.len() + size(trailers))?;
        let token = self.next_call_token()?;
        self.http_calls.push(HttpCall {
            token,
            context: self.plugin.effective_context(),
            upstream: upstream_name.to_string(),
            headers: owned(headers),
            body: body.to_vec(),
            trailers: owned(trailers),
            timeout_ms: timeout,
        });
        Ok(token)
    }

    fn proxy_grpc_call(
        &mut self,
        upstream_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: &[(&[u8], &[u8])],
        message: &[u8],
        timeout: u32,
    ) -> Result<u32, Status> {
        self.keep(message.len())?;
        self.open_grpc(
            upstream_name,
            service_name,
            method_name,
            initial_metadata,
            Some(timeout),
        )
        .map(|call| {
            call.messages.push(message.to_vec());
            call.token
        })
    }

    fn proxy_grpc_stream(
        &mut self,
        upstream_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: &[(&[u8], &[u8])],
    ) -> Result<u32, Status> {
        self.open_grpc(
            upstream_name,
            service_name,
            method_name,
            initial_metadata,
            None,
        )
        .map(|call| call.token)
    }

    fn proxy_grpc_send(
        &mut self,
        call_id: u32,
        message: &[u8],
        end_of_stream: bool,
    ) -> Result<(), Status> {
        self.grpc_stream(call_id)?;
        self.keep(message.len())?;
        let call = self.grpc_stream(call_id)?;
        call.messages.push(message.to_vec());
        call.half_closed |= end_of_stream;
        Ok(())
    }

    fn proxy_grpc_cancel(&mut self, call_id: u32) -> Result<(), Status> {
        let call = self.grpc_calls.iter_mut().find(|c| c.token == call_id);
        call.ok_or(Status::NotFound)?.cancelled = true;
        Ok(())
    }

    fn proxy_grpc_close(&mut self, call_id: u32) -> Result<(), Status> {
        self.grpc_stream(call_id)?.closed = true;
        Ok(())
    }

    fn proxy_set_shared_data(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
        let (current, held) = self
            .shared_data
            .get(key)
            .map_or((0, 0), |(v, c)| (*c, key.len() + v.len()));
        if cas != 0 && cas != current {
            return Err(Status::CasMismatch);
        }
        let total = self.usage.shared_data_bytes.saturating_sub(held) + key.len() + value.len();
        if total > self.capacity.shared_data_bytes {
            return Err(Status::BadArgument);
        }
        self.usage.shared_data_bytes = total;
        self.shared_data.insert(
            key.to_string(),
            (value.to_vec(), current.wrapping_add(1).max(1)),
        );
        Ok(())
    }

    fn proxy_get_shared_data(&mut self, key: &str) -> Result<(Vec<u8>, u32), Status> {
        self.shared_data.get(key).cloned().ok_or(Status::NotFound)
    }

    fn proxy_register_shared_queue(&mut self, name: &str) -> Result<u32, Status> {
        let vm_id = self.vm_id.clone();
        let index = match self
            .queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == name)
        {
            Some(index) => index,
            None if self.queues.len() >= self.capacity.queues => {
                return Err(Status::BadArgument);
            }
            None => {
                self.queues.push(Queue {
                    vm_id,
                    name: name.to_string(),
                    items: VecDeque::new(),
                });
                self.queues.len() - 1
            }
        };
        u32::try_from(index + 1).map_err(|_| Status::InternalFailure)
    }

    fn proxy_resolve_shared_queue(&mut self, vm_id: &str, name: &str) -> Result<u32, Status> {
        let index = self
            .queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == name)
            .ok_or(Status::NotFound)?;
        u32::try_from(index + 1).map_err(|_| Status::InternalFailure)
    }

    fn proxy_enqueue_shared_queue(&mut self, queue_id: u32, value: &[u8]) -> Result<(), Status> {
        let most = self.capacity.queue_items;
        let queue = self.queue_mut(queue_id).ok_or(Status::NotFound)?;
        if queue.items.len() >= most {
            return Err(Status::BadArgument);
        }
        queue.items.push_back(value.to_vec());
        self.queues_ready.push(queue_id);
        Ok(())
    }

    fn proxy_dequeue_shared_queue(&mut self, queue_id: u32) -> Result<Vec<u8>, Status> {
        let queue = self.queue_mut(queue_id).ok_or(Status::NotFound)?;
        queue.items.pop_front().ok_or(Status::Empty)
    }

    fn proxy_define_metric(&mut self, metric_type: MetricType, name: &str) -> Result<u32, Status> {
        let index = match self.metrics.iter().position(|m| m.name == name) {
            Some(index) => index,
            None if self.metrics.len() >= self.capacity.metrics => {
                return Err(Status::BadArgument);
            }
            None => {
                self.metrics.push(Metric {
                    kind: metric_type,
                    name: name.to_string(),
                    value: 0,
                });
                self.metrics.len() - 1
            }
        };
        u32::try_from(index + 1).map_err(|_| Status::InternalFailure)
    }

    fn proxy_record_metric(&mut self, metric_id: u32, value: u64) -> Result<(), Status> {
        let metric = self.metric_mut(metric_id).ok_or(Status::NotFound)?;
        metric.value = i64::try_from(value).unwrap_or(i64::MAX);
        Ok(())
    }

    fn proxy_increment_metric(&mut self, metric_id: u32, delta: i64) -> Result<(), Status> {
        let metric = self.metric_mut(metric_id).ok_or(Status::NotFound)?;
        if metric.kind == MetricType::Counter && delta < 0 {
            return Err(Status::BadArgument);
        }
        metric.value = metric.value.saturating_add(delta);
        Ok(())
    }

    fn proxy_get_metric(&mut self, metric_id: u32) -> Result<u64, Status> {
        let metric = self.metric_mut(metric_id).ok_or(Status::NotFound)?;
        Ok(u64::try_from(metric.value).unwrap_or(0))
    }

    fn proxy_get_property(&mut self, path: serial::PropertyPath<'_>) -> Result<Vec<u8>, Status> {
        let segments: Vec<&[u8]> = path.segments().collect();
        let key: Vec<Vec<u8>> = segments.iter().map(|s| s.to_vec()).collect();
        match self.properties.get(&key) {
            Some(value) => Ok(value.clone()),
            None => {
                self.follow_effective_context();
                self.derived_property(&segments).ok_or(Status::NotFound)
            }
        }
    }

    fn proxy_set_property(
        &mut self,
        path: serial::PropertyPath<'_>,
        value: &[u8],
    ) -> Result<(), Status> {
        let key: Vec<Vec<u8>> = path.segments().map(<[u8]>::to_vec).collect();
        let most = self.capacity.properties;
        if self.properties.len() >= most && !self.properties.contains_key(&key) {
            return Err(Status::BadArgument);
        }
        self.properties.insert(key, value.to_vec());
        Ok(())
    }

    fn proxy_call_foreign_function(
        &mut self,
        name: &str,
        arguments: &[u8],
    ) -> Result<Vec<u8>, Status> {
        let answer = self
            .foreign_functions
            .get(name)
            .cloned()
            .ok_or(Status::NotFound)?;
        self.keep(name.len() + arguments.len())?;
        self.foreign_calls
            .push((name.to_string(), arguments.to_vec()));
        Ok(answer)
    }

    fn args_sizes_get(&mut self) -> Result<(usize, usize), WasiErrno> {
        // The spec asks hosts to report no arguments.
        Ok((0, 0))
    }

    fn args_get(
        &mut self,
        memory: &mut [u8],
        return_argv: u32,
        return_argv_size: u32,
    ) -> Result<(), WasiErrno> {
        let _ = (memory, return_argv, return_argv_size);
        Ok(())
    }

    fn proc_exit(&mut self, exit_code: u32) {
        self.exit_code = Some(exit_code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(path: &str) -> Pairs {
        owned(&[(":path", path)])
    }

    #[test]
    fn each_stream_keeps_its_own_state() {
        let mut host = ReferenceHost::default();
        host.select_stream(2);
        host.request_headers = headers("/a");
        host.continued.push(StreamType::HttpRequest);
        host.select_stream(3);
        assert!(host.request_headers.is_empty(), "a new stream starts empty");
        host.request_headers = headers("/b");
        host.select_stream(2);
        assert_eq!(host.request_headers, headers("/a"));
        assert_eq!(host.continued, [StreamType::HttpRequest]);
        assert_eq!(host.streams.keys().collect::<Vec<_>>(), [&3]);
        // An empty stream is not kept aside.
        host.select_stream(1);
        host.select_stream(3);
        assert_eq!(host.streams.keys().collect::<Vec<_>>(), [&2]);
        host.drop_stream(3);
        host.drop_stream(2);
        assert!(host.request_headers.is_empty() && host.streams.is_empty());
    }

    #[test]
    fn past_its_capacity_the_host_answers_bad_argument_and_keeps_nothing() {
        let mut host = ReferenceHost {
            capacity: Capacity {
                shared_data_bytes: 8,
                queues: 1,
                queue_items: 1,
                metrics: 1,
                properties: 1,
                map_pairs: 1,
                buffer_bytes: 4,
                log_message_bytes: 3,
                record_bytes: 5,
            },
            ..ReferenceHost::default()
        };
        let refused = Err(Status::BadArgument);
        let refused_id: Result<u32, Status> = Err(Status::BadArgument);
        assert_eq!(host.proxy_set_shared_data("k", b"1234567", 0), Ok(()));
        assert_eq!(host.proxy_set_shared_data("j", b"", 0), refused);
        // A smaller value under the same key fits again.
        assert_eq!(host.proxy_set_shared_data("k", b"1", 0), Ok(()));
        assert_eq!(host.proxy_set_shared_data("j", b"", 0), Ok(()));
        assert_eq!(host.shared_data.len(), 2);

        assert_eq!(host.proxy_register_shared_queue("a"), Ok(1));
        assert_eq!(host.proxy_register_shared_queue("a"), Ok(1), "known");
        assert_eq!(host.proxy_register_shared_queue("b"), refused_id);
        assert_eq!(host.proxy_enqueue_shared_queue(1, b"x"), Ok(()));
        assert_eq!(host.proxy_enqueue_shared_queue(1, b"y"), refused);
        assert_eq!(host.queues[0].items.len(), 1);

        assert_eq!(host.proxy_define_metric(MetricType::Counter, "m"), Ok(1));
        assert_eq!(
            host.proxy_define_metric(MetricType::Counter, "n"),
            refused_id
        );
        let path = serial::PropertyPath::new;
        assert_eq!(host.proxy_set_property(path(b"a"), b"1"), Ok(()));
        assert_eq!(host.proxy_set_property(path(b"a"), b"2"), Ok(()), "known");
        assert_eq!(host.proxy_set_property(path(b"b"), b"1"), refused);
        assert_eq!(host.properties.len(), 1);

        let map = MapType::HttpRequestHeaders;
        assert_eq!(host.proxy_add_header_map_value(map, "a", b"1"), Ok(()));
        assert_eq!(host.proxy_add_header_map_value(map, "b", b"1"), refused);
        assert_eq!(host.proxy_replace_header_map_value(map, "b", b"1"), refused);
        assert_eq!(host.proxy_replace_header_map_value(map, "a", b"2"), Ok(()));
        let two: [(&[u8], &[u8]); 2] = [(b"a", b"1"), (b"b", b"2")];
        assert_eq!(host.proxy_set_header_map_pairs(map, &two), refused);
        assert_eq!(host.request_headers, owned(&[("a", "2")]));

        let body = BufferType::HttpRequestBody;
        assert_eq!(host.proxy_set_buffer_bytes(body, 0, 0, b"abcd"), Ok(()));
        assert_eq!(host.proxy_set_buffer_bytes(body, 4, 0, b"e"), refused);
        // Replacing within the buffer keeps its size.
        assert_eq!(host.proxy_set_buffer_bytes(body, 0, 1, b"z"), Ok(()));
        assert_eq!(host.request_body, b"zbcd");

        assert_eq!(host.proxy_log(LogLevel::Info, "long"), refused);
        assert_eq!(
            host.fd_write(WasiFdId::Stdout, &[b"lo", b"ng"]),
            Err(WasiErrno::Inval)
        );
        assert_eq!(host.proxy_log(LogLevel::Info, "abc"), Ok(()));
        assert_eq!(
            host.proxy_log(LogLevel::Info, "abc"),
            refused,
            "records full"
        );
        assert_eq!(host.logs.len(), 1);
        host.forget_records();
        assert_eq!(host.proxy_log(LogLevel::Info, "abc"), Ok(()));
        assert_eq!(host.logs.len(), 1);
    }

    #[test]
    fn call_tokens_keep_counting_after_records_are_forgotten() {
        let mut host = ReferenceHost::default();
        let headers: [(&[u8], &[u8]); 3] = [
            (b":method", b"GET"),
            (b":path", b"/"),
            (b":authority", b"a"),
        ];
        assert_eq!(host.proxy_http_call("up", &headers, b"", &[], 1), Ok(1));
        host.forget_records();
        assert!(host.http_calls.is_empty());
        assert_eq!(host.proxy_http_call("up", &headers, b"", &[], 1), Ok(2));
    }

    #[test]
    fn only_known_contexts_become_effective() {
        let mut host = ReferenceHost::default();
        host.plugin_contexts.insert(1);
        host.plugin.created(2, 1);
        assert_eq!(host.proxy_set_effective_context(1), Ok(()));
        assert_eq!(host.proxy_set_effective_context(2), Ok(()));
        assert_eq!(
            host.proxy_set_effective_context(3),
            Err(Status::BadArgument),
            "never created"
        );
        host.plugin.forget_context(2);
        assert_eq!(
            host.proxy_set_effective_context(2),
            Err(Status::BadArgument),
            "deleted"
        );
    }
}
