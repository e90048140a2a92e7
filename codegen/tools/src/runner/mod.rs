//! Runs a plugin through one request lifecycle on the generated host of the
//! ABI version it declares (0.1.0, 0.2.0 or 0.2.1) and the in-memory
//! [`ReferenceHost`], and reports what it did.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

pub mod build;
pub mod expect;
pub mod reference;
pub mod scenario;
pub mod versions;

pub use reference::{ReferenceHost, RootShutdown, TrailersPause};
pub use versions::AnyPlugin;

/// The generated wasmtime bindings of v0.2.1: the same emitter output as
/// `generated/rust/host/v0_2_1.rs`, expanded by the `host!` macro.
pub mod bindings {
    proxy_wasm_abi::host!({ version: "0.2.1" });
}

use bindings::{Action, PluginError};
pub use proxy_wasm_abi::host::Limits;
use reference::Pairs;

/// The root (plugin) context id the runner uses.
pub const ROOT_CONTEXT: u32 = 1;
/// The stream context id of the first request or connection (the next
/// ones, in [`run_all`], count up from it).
pub const STREAM_CONTEXT: u32 = 2;

/// Which lifecycle to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lifecycle {
    /// An HTTP request and its response.
    #[default]
    Http,
    /// A TCP connection: downstream then upstream data, then close.
    Tcp,
}

/// What to feed the plugin.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// HTTP or TCP.
    pub lifecycle: Lifecycle,
    /// Request headers (HTTP) in order.
    pub request_headers: Pairs,
    /// Request body (HTTP) or downstream data (TCP).
    pub request_body: Vec<u8>,
    /// Response headers (HTTP).
    pub response_headers: Pairs,
    /// Response body (HTTP) or upstream data (TCP).
    pub response_body: Vec<u8>,
    /// The VM configuration.
    pub vm_configuration: Vec<u8>,
    /// The plugin configuration.
    pub plugin_configuration: Vec<u8>,
    /// The answer given to each HTTP call the plugin makes.
    pub http_call_response: reference::HttpCallResponse,
    /// The upstreams `proxy_http_call` knows (`None`: any non-empty name).
    pub upstreams: Option<Vec<String>>,
    /// Deliver bodies and connection data in chunks of this many bytes
    /// (`None`: each in one chunk).
    pub chunk_size: Option<usize>,
    /// How much body or data the host buffers while the plugin pauses it
    /// (`None`: [`DEFAULT_BUFFER_LIMIT`]).
    pub buffer_limit: Option<usize>,
    /// Request trailers (HTTP); none when empty.
    pub request_trailers: Pairs,
    /// Response trailers (HTTP); none when empty.
    pub response_trailers: Pairs,
    /// The host's log level: what `proxy_get_log_level` answers, and below
    /// which logs are dropped (`None`: `TRACE`, everything).
    pub log_level: Option<bindings::LogLevel>,
    /// Properties the host holds, by path (`["node", "id"]`), besides those
    /// derived from the request and response headers.
    pub properties: Vec<(reference::PropertyPath, Vec<u8>)>,
    /// Each HTTP call the plugin makes fails (reset or timed out) instead
    /// of answering `http_call_response`: it gets no headers, body or
    /// trailers, as Envoy reports a failed call.
    pub http_call_fails: bool,
    /// The host's clock, in nanoseconds since the epoch (`None`: the
    /// reference host's fixed 2020-01-01T00:00:00Z). It does not advance.
    pub clock_ns: Option<u64>,
    /// How many more times the timer fires after the lifecycle, if the
    /// plugin set a tick period (it also fires once between lifecycles).
    pub ticks: u32,
    /// Items put on queues the plugin registered, by queue name, before the
    /// lifecycle (as another plugin would); delivered with
    /// `proxy_on_queue_ready`.
    pub enqueue: Vec<(String, Vec<u8>)>,
    /// Foreign functions the host offers, by name, with the bytes each
    /// answers (setup: the first input's count).
    pub foreign_functions: Vec<(String, Vec<u8>)>,
    /// Shared data the host holds when the plugin starts, by key, as other
    /// plugins of the VM would have left it (setup: the first input's);
    /// each value's compare-and-swap token is 1.
    pub shared_data: Vec<(String, Vec<u8>)>,
    /// The answer to each gRPC call or stream the plugin opens.
    pub grpc_response: reference::GrpcResponse,
    /// How long a callback may run and how much memory the plugin may
    /// have (setup: the first input's). The default is
    /// [`Limits::default`]: 1 s, 1 GiB.
    pub limits: Limits,
    /// What happens when a callback fails (setup: the first input's).
    pub on_failure: OnFailure,
}

/// What the host does when a callback of the plugin fails: traps, runs
/// past its deadline, overflows its stack or returns an invalid value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// The run ends with the error ([`RunError::Callback`]): what a test
    /// of the plugin wants.
    #[default]
    Stop,
    /// As Envoy by default (`fail_open: false`): the plugin is failed for
    /// good and its callbacks are not called again. A request in progress,
    /// and every later one, is answered with a local 503 (details
    /// `wasm_fail_stream`, gRPC status UNAVAILABLE); a response in
    /// progress, or a TCP connection, is reset.
    FailClosed,
    /// As Envoy with `fail_open: true`: the plugin is failed for good and
    /// its callbacks are not called again; streams go on as if it were not
    /// there.
    FailOpen,
}

impl OnFailure {
    /// The policy named `stop`, `fail-closed` or `fail-open`.
    pub fn named(name: &str) -> Result<OnFailure, String> {
        match name {
            "stop" => Ok(OnFailure::Stop),
            "fail-closed" => Ok(OnFailure::FailClosed),
            "fail-open" => Ok(OnFailure::FailOpen),
            _ => Err(format!(
                "failure policy `{name}` is none of stop, fail-closed, fail-open"
            )),
        }
    }
}

/// How much body or connection data the runner buffers for a plugin that
/// keeps returning `PAUSE` from a body or data callback: 1 MiB.
pub const DEFAULT_BUFFER_LIMIT: usize = 1 << 20;

/// One callback the runner made and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The callback and its arguments, e.g. `proxy_on_request_headers(2, 3, false)`.
    pub call: String,
    /// What it returned, e.g. `Pause`, `true`, or `not exported`.
    pub outcome: String,
}

/// Everything a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The ABI version the plugin ran as.
    pub abi_version: &'static str,
    /// The stream's context id.
    pub context: u32,
    /// HTTP or TCP.
    pub lifecycle: Lifecycle,
    /// The callbacks made, in order.
    pub steps: Vec<Step>,
    /// The request as it arrived (headers and body, or downstream data).
    pub request_before: (Pairs, Vec<u8>),
    /// The response as it arrived (headers and body, or upstream data).
    pub response_before: (Pairs, Vec<u8>),
    /// The request body (or downstream data) the host passed on, as the
    /// plugin left each part of it.
    pub request_forwarded: Vec<u8>,
    /// The response body (or upstream data) the host passed on.
    pub response_forwarded: Vec<u8>,
    /// The request and response trailers as they arrived.
    pub trailers_before: (Pairs, Pairs),
    /// The properties the host held before this lifecycle.
    pub properties_before: Vec<(reference::PropertyPath, Vec<u8>)>,
    /// The logs of this lifecycle.
    logs: Vec<(bindings::LogLevel, String)>,
    /// The HTTP calls the plugin made during this lifecycle.
    http_calls: Vec<reference::HttpCall>,
    /// The host calls the plugin made during this lifecycle (the first
    /// report's include the plugin's start), in order.
    pub host_calls: Vec<expect::HostCall>,
    /// The plugin's failure, one line, if it failed during this lifecycle
    /// or before (see [`OnFailure`]).
    pub failure: Option<String>,
    /// The host's state at the end, its stream fields holding this
    /// lifecycle's stream (see [`ReferenceHost::select_stream`]).
    pub host: ReferenceHost,
}

/// Why a run could not complete; each renders as one line.
#[derive(Debug)]
pub enum RunError {
    /// The bytes are not a valid wasm module.
    BadModule(String),
    /// The module cannot be set up as a plugin.
    Plugin(PluginError),
    /// A callback trapped or returned an invalid value.
    Callback {
        /// Which callback.
        call: String,
        /// What went wrong.
        error: bindings::CallError,
        /// The last host call of the callback, when it did not succeed: a
        /// status the plugin likely did not handle.
        after: Option<Box<expect::HostCall>>,
    },
    /// The plugin rejected its configuration.
    Rejected(&'static str),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::BadModule(e) => write!(f, "not a valid wasm module: {e}"),
            RunError::Plugin(e) => write!(f, "cannot load the plugin: {e}"),
            RunError::Callback { call, error, after } => {
                write!(f, "{call} failed: {error}")?;
                match after {
                    Some(host_call) => {
                        write!(f, " (after `{host_call}`: a status it may not handle)")
                    }
                    None => Ok(()),
                }
            }
            RunError::Rejected(what) => {
                write!(f, "the plugin rejected its {what} (returned false)")
            }
        }
    }
}

impl std::error::Error for RunError {}

/// How the host answers a plugin's HTTP and gRPC calls.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// The answer each HTTP call gets.
    pub http_call_response: reference::HttpCallResponse,
    /// Whether HTTP calls fail rather than answer: see
    /// [`Input::http_call_fails`].
    pub http_calls_fail: bool,
    /// The answer each gRPC call or stream gets.
    pub grpc_response: reference::GrpcResponse,
}

impl Answers {
    /// The answers `input` asks for.
    pub fn of(input: &Input) -> Answers {
        Answers {
            http_call_response: input.http_call_response.clone(),
            http_calls_fail: input.http_call_fails,
            grpc_response: input.grpc_response.clone(),
        }
    }
}

/// A loaded plugin with its store, ready to be driven.
pub struct Session {
    /// The wasmtime store, holding the reference host.
    pub store: wasmtime::Store<ReferenceHost>,
    /// The plugin instance, of the version its module declares.
    pub plugin: AnyPlugin,
    /// The callbacks made and not yet reported.
    pub steps: Vec<Step>,
    /// How many of the host's recorded HTTP calls have had their response.
    pub answered_calls: usize,
    /// How many of the host's gRPC calls and streams have had their answer.
    pub answered_grpc: usize,
    /// What the host passed on of each stream's flows, by context id, each
    /// indexed by [`Flow`].
    pub forwarded: HashMap<u32, [Vec<u8>; 4]>,
    /// How calls made from a plugin (root) context, or from a stream without
    /// answers of its own, are answered.
    pub answers: Answers,
    /// How the calls a stream made are answered, by the stream's context id.
    pub stream_answers: HashMap<u32, Answers>,
    /// How many of the host's logs and HTTP calls reports have gathered.
    gathered: (usize, usize),
    /// What happens when a callback fails.
    pub on_failure: OnFailure,
    /// The plugin's first failure, one line, once [`Session::on_failure`]
    /// let the run go on after it; its callbacks are not called again.
    pub failure: Option<String>,
    /// Whether a response paused in `proxy_on_response_headers` (or in
    /// `proxy_on_response_trailers`) waits for the plugin's calls to
    /// resume it, as a paused request does (the conformance kit's
    /// lifecycle); otherwise it goes on at once.
    pub waits_at_response_headers: bool,
    /// Advances the engine's epoch, which ends callbacks at their deadline,
    /// when the session made its engine.
    _ticker: Option<proxy_wasm_abi::host::EpochTicker>,
}

/// A body or connection data, delivered in chunks to its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The HTTP request body: `proxy_on_request_body`.
    RequestBody = 0,
    /// The HTTP response body: `proxy_on_response_body`.
    ResponseBody = 1,
    /// TCP data from downstream: `proxy_on_downstream_data`.
    DownstreamData = 2,
    /// TCP data from upstream: `proxy_on_upstream_data`.
    UpstreamData = 3,
}

impl Flow {
    fn callback(self) -> &'static str {
        match self {
            Flow::RequestBody => "proxy_on_request_body",
            Flow::ResponseBody => "proxy_on_response_body",
            Flow::DownstreamData => "proxy_on_downstream_data",
            Flow::UpstreamData => "proxy_on_upstream_data",
        }
    }

    fn stream(self) -> bindings::StreamType {
        match self {
            Flow::RequestBody => bindings::StreamType::HttpRequest,
            Flow::ResponseBody => bindings::StreamType::HttpResponse,
            Flow::DownstreamData => bindings::StreamType::Downstream,
            Flow::UpstreamData => bindings::StreamType::Upstream,
        }
    }

    fn buffer(self, host: &mut ReferenceHost) -> &mut Vec<u8> {
        match self {
            Flow::RequestBody => &mut host.request_body,
            Flow::ResponseBody => &mut host.response_body,
            Flow::DownstreamData => &mut host.downstream_data,
            Flow::UpstreamData => &mut host.upstream_data,
        }
    }
}

/// Whether a flow went through, or the stream stopped in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    /// Every chunk was passed on.
    Through,
    /// The stream went no further: paused and never resumed, answered
    /// locally, or over the buffer limit.
    Stopped,
}

impl Session {
    /// Compiles and instantiates `wasm` against a reference host, held to
    /// the default [`Limits`].
    pub fn new(wasm: &[u8], host: ReferenceHost) -> Result<Session, RunError> {
        Session::with_limits(wasm, host, Limits::default())
    }

    /// Compiles and instantiates `wasm` against a reference host, held to
    /// `limits`.
    pub fn with_limits(
        wasm: &[u8],
        host: ReferenceHost,
        limits: Limits,
    ) -> Result<Session, RunError> {
        let engine = wasmtime::Engine::new(&Limits::config())
            .map_err(|e| RunError::BadModule(first_line(&e)))?;
        let ticker = proxy_wasm_abi::host::EpochTicker::start(&engine)
            .map_err(|e| RunError::BadModule(format!("cannot start the epoch ticker: {e}")))?;
        let mut session = Session::on_engine(&engine, wasm, host, limits)?;
        session._ticker = Some(ticker);
        Ok(session)
    }

    /// Like [`Session::with_limits`], on an engine of the caller's, which
    /// several sessions may share: one made with [`Limits::config`] whose
    /// epoch an [`EpochTicker`](proxy_wasm_abi::host::EpochTicker) advances
    /// for as long as they run (else deadlines never come).
    pub fn on_engine(
        engine: &wasmtime::Engine,
        wasm: &[u8],
        host: ReferenceHost,
        limits: Limits,
    ) -> Result<Session, RunError> {
        let module =
            wasmtime::Module::new(engine, wasm).map_err(|e| RunError::BadModule(first_line(&e)))?;
        let linkers =
            versions::Linkers::new(engine).map_err(|e| RunError::BadModule(first_line(&e)))?;
        let mut store = wasmtime::Store::new(engine, host);
        limits.apply(&mut store);
        store.data_mut().plugin.trace_host_calls(true);
        let plugin =
            AnyPlugin::instantiate(&mut store, &linkers, &module).map_err(RunError::Plugin)?;
        Ok(Session {
            store,
            plugin,
            steps: Vec::new(),
            answered_calls: 0,
            answered_grpc: 0,
            forwarded: HashMap::new(),
            answers: Answers::default(),
            stream_answers: HashMap::new(),
            gathered: (0, 0),
            on_failure: OnFailure::Stop,
            failure: None,
            waits_at_response_headers: false,
            _ticker: None,
        })
    }

    /// Drops the host's records of what the plugin did, which the reports
    /// so far carry ([`ReferenceHost::forget_records`]): for a session that
    /// runs many exchanges, between two of them.
    pub fn forget_records(&mut self) {
        let host = self.store.data_mut();
        host.forget_records();
        self.answered_calls = 0;
        self.answered_grpc = host.grpc_calls.len();
        self.gathered = (0, 0);
    }

    /// The reference host, its stream fields holding stream `context`'s
    /// state: to set a stream up before a callback, or to read what the
    /// plugin left in it.
    pub fn host(&mut self, context: u32) -> &mut ReferenceHost {
        let host = self.store.data_mut();
        host.select_stream(context);
        host
    }

    /// Calls a callback of the plugin with `callback` and records it as
    /// `call`. Once the plugin has failed (see [`OnFailure`]) it is not
    /// called: `Ok(None)` comes back, as for a callback it does not export.
    pub fn call<T: fmt::Debug>(
        &mut self,
        call: String,
        callback: impl FnOnce(
            &AnyPlugin,
            &mut wasmtime::Store<ReferenceHost>,
        ) -> Result<Option<T>, bindings::CallError>,
    ) -> Result<Option<T>, RunError> {
        if self.failure.is_some() {
            return Ok(None);
        }
        let result = callback(&self.plugin, &mut self.store);
        self.record(call, result)
    }

    /// Records a callback and its outcome. A failure is a `RunError`, or,
    /// when [`Session::on_failure`] goes on, the plugin's
    /// [`Session::failure`] and `Ok(None)`.
    pub fn record<T: fmt::Debug>(
        &mut self,
        call: String,
        result: Result<Option<T>, bindings::CallError>,
    ) -> Result<Option<T>, RunError> {
        match result {
            Ok(value) => {
                let outcome = value
                    .as_ref()
                    .map_or_else(|| "not exported".to_string(), |v| format!("{v:?}"));
                self.steps.push(Step { call, outcome });
                Ok(value)
            }
            Err(error) => {
                let version = self.plugin.version();
                let names = self.plugin.callback_names();
                let after = self
                    .store
                    .data()
                    .plugin
                    .host_calls()
                    .last()
                    .map(|traced| expect::name(version, names, traced))
                    .filter(|host_call| !host_call.succeeded && host_call.status.is_some())
                    .map(Box::new);
                if self.on_failure == OnFailure::Stop {
                    return Err(RunError::Callback { call, error, after });
                }
                let outcome = format!("failed: {error}");
                let line = RunError::Callback {
                    call: call.clone(),
                    error,
                    after,
                }
                .to_string();
                self.steps.push(Step { call, outcome });
                self.failure.get_or_insert(line);
                Ok(None)
            }
        }
    }

    /// Creates the root context and runs `proxy_on_vm_start` and
    /// `proxy_on_configure`; a `false` from either is an error.
    pub fn start(&mut self) -> Result<(), RunError> {
        let (vm_size, config_size) = {
            let host = self.store.data_mut();
            host.plugin_contexts.insert(ROOT_CONTEXT);
            (
                len32(&host.vm_configuration),
                len32(&host.plugin_configuration),
            )
        };
        self.call(
            format!("proxy_on_context_create({ROOT_CONTEXT}, 0)"),
            |p, st| p.proxy_on_context_create(st, ROOT_CONTEXT, 0),
        )?;
        if self.call(
            format!("proxy_on_vm_start({ROOT_CONTEXT}, {vm_size})"),
            |p, st| p.proxy_on_vm_start(st, ROOT_CONTEXT, vm_size),
        )? == Some(false)
        {
            return Err(RunError::Rejected("VM configuration"));
        }
        if self.call(
            format!("proxy_on_configure({ROOT_CONTEXT}, {config_size})"),
            |p, st| p.proxy_on_configure(st, ROOT_CONTEXT, config_size),
        )? == Some(false)
        {
            return Err(RunError::Rejected("plugin configuration"));
        }
        Ok(())
    }

    /// The answers for calls made by `context`.
    fn answers_for(&self, context: u32) -> &Answers {
        self.stream_answers.get(&context).unwrap_or(&self.answers)
    }

    /// Fires the timer once if the plugin set a tick period, and delivers
    /// queued items, and the answers to HTTP and gRPC calls (each call's
    /// from [`Session::stream_answers`] of the context that made it, or
    /// [`Session::answers`]).
    pub fn deliver(&mut self) -> Result<(), RunError> {
        if self.store.data().tick_period_ms > 0 {
            self.call(format!("proxy_on_tick({ROOT_CONTEXT})"), |p, st| {
                p.proxy_on_tick(st, ROOT_CONTEXT)
            })?;
        }
        for queue_id in std::mem::take(&mut self.store.data_mut().queues_ready) {
            self.call(
                format!("proxy_on_queue_ready({ROOT_CONTEXT}, {queue_id})"),
                |p, st| p.proxy_on_queue_ready(st, ROOT_CONTEXT, queue_id),
            )?;
        }
        let calls: Vec<(u32, u32)> = self
            .store
            .data()
            .http_calls
            .iter()
            .skip(self.answered_calls)
            .map(|c| (c.token, c.context))
            .collect();
        for (token, context) in calls {
            self.answered_calls += 1;
            let answers = self.answers_for(context);
            let response = if answers.http_calls_fail {
                reference::HttpCallResponse::default()
            } else {
                answers.http_call_response.clone()
            };
            let (headers, body, trailers) = (
                len32(&response.headers),
                len32(&response.body),
                len32(&response.trailers),
            );
            self.store.data_mut().http_call_response = Some(response);
            let call = format!(
                "proxy_on_http_call_response({ROOT_CONTEXT}, {token}, {headers}, {body}, {trailers})"
            );
            self.call(call, |p, st| {
                p.proxy_on_http_call_response(st, ROOT_CONTEXT, token, headers, body, trailers)
            })?;
            self.store.data_mut().http_call_response = None;
        }
        self.answer_grpc()
    }

    /// Answers the gRPC calls and streams opened since the last time (see
    /// [`reference::GrpcResponse`]); a cancelled one gets nothing.
    fn answer_grpc(&mut self) -> Result<(), RunError> {
        let opened: Vec<(u32, bool, bool, u32)> = self.store.data().grpc_calls
            [self.answered_grpc..]
            .iter()
            .map(|c| (c.token, c.timeout_ms.is_some(), c.cancelled, c.context))
            .collect();
        self.answered_grpc += opened.len();
        let ctx = ROOT_CONTEXT;
        for (token, unary, cancelled, context) in opened {
            if cancelled {
                continue;
            }
            let response = self.answers_for(context).grpc_response.clone();
            if unary && response.status == 0 {
                let message = response.messages.first().cloned().unwrap_or_default();
                self.grpc_receive(token, &message)?;
                continue;
            }
            if !unary {
                let deliver = |s: &mut Session, metadata: &Pairs, initial: bool| {
                    if metadata.is_empty() {
                        return Ok(());
                    }
                    let n = len32(metadata);
                    let (head, tail) = if initial {
                        (metadata.clone(), Vec::new())
                    } else {
                        (Vec::new(), metadata.clone())
                    };
                    s.store.data_mut().grpc_delivery = Some((head, Vec::new(), tail));
                    let result = if initial {
                        let call =
                            format!("proxy_on_grpc_receive_initial_metadata({ctx}, {token}, {n})");
                        s.call(call, |p, st| {
                            p.proxy_on_grpc_receive_initial_metadata(st, ctx, token, n)
                        })
                    } else {
                        let call =
                            format!("proxy_on_grpc_receive_trailing_metadata({ctx}, {token}, {n})");
                        s.call(call, |p, st| {
                            p.proxy_on_grpc_receive_trailing_metadata(st, ctx, token, n)
                        })
                    };
                    s.store.data_mut().grpc_delivery = None;
                    result.map(|_| ())
                };
                deliver(self, &response.initial_metadata, true)?;
                for message in &response.messages {
                    self.grpc_receive(token, message)?;
                }
                deliver(self, &response.trailing_metadata, false)?;
            }
            self.store.data_mut().grpc_status =
                Some((response.status, response.status_message.clone()));
            let status = response.status;
            let result = self.call(
                format!("proxy_on_grpc_close({ctx}, {token}, {status})"),
                |p, st| p.proxy_on_grpc_close(st, ctx, token, status),
            );
            self.store.data_mut().grpc_status = None;
            result?;
        }
        Ok(())
    }

    /// One gRPC message for `token`, readable as `GRPC_CALL_MESSAGE`.
    fn grpc_receive(&mut self, token: u32, message: &[u8]) -> Result<(), RunError> {
        let ctx = ROOT_CONTEXT;
        let size = len32(message);
        self.store.data_mut().grpc_delivery = Some((Vec::new(), message.to_vec(), Vec::new()));
        let result = self.call(
            format!("proxy_on_grpc_receive({ctx}, {token}, {size})"),
            |p, st| p.proxy_on_grpc_receive(st, ctx, token, size),
        );
        self.store.data_mut().grpc_delivery = None;
        result.map(|_| ())
    }

    /// Delivers `data` on `flow` of stream `context` in chunks of
    /// `chunk_size` bytes, as a proxy does: each chunk is appended to the
    /// flow's buffer and its callback sees everything buffered so far.
    /// `CONTINUE` passes the buffer on and empties it; `PAUSE` keeps
    /// buffering, up to `limit` bytes (over it, a request gets a local 413
    /// response and any other flow is reset, as Envoy does). A flow still
    /// paused at its last chunk waits for the plugin's HTTP calls; unless
    /// one of them resumes the stream with `proxy_continue_stream`, it goes
    /// no further.
    ///
    /// With `trailers_follow`, the last chunk does not end the stream, and
    /// what the plugin holds back of it goes on with the trailers.
    pub fn flow(
        &mut self,
        flow: Flow,
        context: u32,
        data: &[u8],
        chunk_size: Option<usize>,
        limit: usize,
        trailers_follow: bool,
    ) -> Result<Passage, RunError> {
        let chunk_size = chunk_size.filter(|n| *n > 0).unwrap_or(data.len().max(1));
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(chunk_size).collect()
        };
        flow.buffer(self.host(context)).clear();
        let last = chunks.len() - 1;
        for (index, chunk) in chunks.into_iter().enumerate() {
            let end = index == last && !trailers_follow;
            let buffer = flow.buffer(self.host(context));
            buffer.extend_from_slice(chunk);
            if buffer.len() > limit {
                self.over_limit(flow, context, limit);
                return Ok(Passage::Stopped);
            }
            let size = len32(buffer);
            let call = format!("{}({context}, {size}, {end})", flow.callback());
            let action = self.call(call, |p, st| match flow {
                Flow::RequestBody => p.proxy_on_request_body(st, context, size, end),
                Flow::ResponseBody => p.proxy_on_response_body(st, context, size, end),
                Flow::DownstreamData => p.proxy_on_downstream_data(st, context, size, end),
                Flow::UpstreamData => p.proxy_on_upstream_data(st, context, size, end),
            })?;
            if self.host(context).local_response.is_some()
                || self.failed_closed(context, flow.stream())
            {
                return Ok(Passage::Stopped);
            }
            if action == Some(Action::Pause) && index != last {
                continue;
            }
            if end && !self.goes_on_after(context, action, flow.stream(), flow.callback())? {
                return Ok(Passage::Stopped);
            }
            // Passed on: the buffer empties, except at the last chunk, where
            // it stays as the plugin left it for the report (and, before
            // trailers, for the plugin to read again).
            let buffer = std::mem::take(flow.buffer(self.host(context)));
            let forwarded = self.forwarded.entry(context).or_default();
            forwarded[flow as usize].extend_from_slice(&buffer);
            if index == last {
                *flow.buffer(self.host(context)) = buffer;
            }
        }
        Ok(Passage::Through)
    }

    /// Whether `stream` of `context` goes on after a callback of it
    /// (`what`) answered `action`: a pause waits for the plugin's calls to
    /// come back, and only a `proxy_continue_stream` of the stream (or
    /// 0.1.0's `proxy_continue_request`/`_response`), with `context` the
    /// effective context, resumes it. A local response ends it.
    fn goes_on_after(
        &mut self,
        context: u32,
        action: Option<Action>,
        stream: bindings::StreamType,
        what: &str,
    ) -> Result<bool, RunError> {
        if self.failed_closed(context, stream) {
            return Ok(false);
        }
        if action == Some(Action::Pause) {
            let continued = self.host(context).continued.len();
            self.deliver()?;
            let host = self.host(context);
            let resumed = host.continued[continued..].contains(&stream);
            if !resumed && host.local_response.is_none() {
                self.steps.push(Step {
                    call: format!("({what} paused and never resumed)"),
                    outcome: "stopped".to_string(),
                });
                return Ok(false);
            }
        }
        Ok(self.host(context).local_response.is_none())
    }

    /// Sends the local response the plugin (or the host, over a buffer
    /// limit) made while the request was in progress back through the
    /// plugin's response callbacks, as Envoy does: its headers are `:status`,
    /// the given headers and, for a body, `content-length` and
    /// `content-type: text/plain` unless given. The body comes in one piece,
    /// never buffered against the limit. A second local response from those
    /// callbacks is not sent (Envoy resets the stream then); the first is the
    /// one reported. Returns the response as sent, before the plugin's
    /// changes (`None` when there is no local response).
    pub fn local_reply(&mut self, context: u32) -> Result<Option<(Pairs, Vec<u8>)>, RunError> {
        let Some(local) = self.host(context).local_response.take() else {
            return Ok(None);
        };
        let mut headers = vec![(
            b":status".to_vec(),
            local.status_code.to_string().into_bytes(),
        )];
        headers.extend(local.headers.iter().cloned());
        if !local.body.is_empty() {
            let length = local.body.len().to_string().into_bytes();
            for (name, value) in [
                (&b"content-length"[..], length),
                (b"content-type", b"text/plain".to_vec()),
            ] {
                if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    headers.push((name.to_vec(), value));
                }
            }
        }
        self.steps.push(Step {
            call: format!(
                "(local response {} sent back through the response callbacks)",
                local.status_code
            ),
            outcome: "sent".to_string(),
        });
        let n = len32(&headers);
        self.host(context).response_headers = headers.clone();
        let end = local.body.is_empty();
        let passed = self.call(
            format!("proxy_on_response_headers({context}, {n}, {end})"),
            |p, st| p.proxy_on_response_headers(st, context, n, end),
        );
        if passed.is_ok() && !end && self.host(context).local_response.is_none() {
            let body = &local.body;
            self.flow(Flow::ResponseBody, context, body, None, usize::MAX, false)?;
        }
        let sent = (headers, local.body.clone());
        self.host(context).local_response = Some(local);
        passed.map(|_| Some(sent))
    }

    /// The host calls traced since the last time, named.
    pub fn take_host_calls(&mut self) -> Vec<expect::HostCall> {
        let (version, names) = (self.plugin.version(), self.plugin.callback_names());
        self.store
            .data_mut()
            .plugin
            .take_host_calls()
            .iter()
            .map(|traced| expect::name(version, names, traced))
            .collect()
    }

    /// Whether stream `context` ends because the plugin has failed and the
    /// policy is [`OnFailure::FailClosed`]: on the request side it gets a
    /// local 503, as Envoy's (unless it has a local response already); a
    /// response or a connection is reset.
    fn failed_closed(&mut self, context: u32, stream: bindings::StreamType) -> bool {
        if self.failure.is_none() || self.on_failure != OnFailure::FailClosed {
            return false;
        }
        let host = self.host(context);
        let outcome = match stream {
            bindings::StreamType::HttpRequest if host.local_response.is_none() => {
                host.local_response = Some(reference::LocalResponse {
                    status_code: 503,
                    details: "wasm_fail_stream".to_string(),
                    body: Vec::new(),
                    headers: Vec::new(),
                    grpc_status: 14,
                });
                "503 sent"
            }
            bindings::StreamType::HttpRequest => return true,
            _ => "stream reset",
        };
        self.steps.push(Step {
            call: "(the plugin has failed; fail closed)".to_string(),
            outcome: outcome.to_string(),
        });
        true
    }

    /// The flow of `context` outgrew the buffer limit while paused.
    fn over_limit(&mut self, flow: Flow, context: u32, limit: usize) {
        let outcome = if flow == Flow::RequestBody {
            self.host(context).local_response = Some(reference::LocalResponse {
                status_code: 413,
                details: "request_payload_too_large".to_string(),
                body: b"Payload Too Large".to_vec(),
                headers: Vec::new(),
                grpc_status: u32::MAX,
            });
            "413 sent"
        } else {
            "stream reset"
        };
        self.steps.push(Step {
            call: format!("({} over the {limit}-byte buffer limit)", flow.callback()),
            outcome: outcome.to_string(),
        });
    }

    /// Ends the stream context: done (answering a pending `proxy_done`), log, delete.
    pub fn finish(&mut self, context: u32) -> Result<(), RunError> {
        if self.call(format!("proxy_on_done({context})"), |p, st| {
            p.proxy_on_done(st, context)
        })? == Some(false)
        {
            self.store.data_mut().done_pending = true;
        }
        self.call(format!("proxy_on_log({context})"), |p, st| {
            p.proxy_on_log(st, context)
        })?;
        self.call(format!("proxy_on_delete({context})"), |p, st| {
            p.proxy_on_delete(st, context)
        })?;
        Ok(())
    }
}

impl Session {
    /// Shuts the plugin down: `proxy_on_done` for the root context; if it
    /// answers `false`, the timer fires and calls are answered once more
    /// while it waits, and the root ends only if the plugin called
    /// `proxy_done` meanwhile; then `proxy_on_log` and `proxy_on_delete`
    /// (as the specification says: both run after `proxy_on_done` answered
    /// `true` or after `proxy_done`). [`ReferenceHost::root_shutdown`] can
    /// break this on purpose.
    pub fn shutdown(&mut self) -> Result<(), RunError> {
        let how = self.store.data().root_shutdown;
        if how != reference::RootShutdown::SkipDone {
            self.store.data_mut().done_pending = false;
            let done = self.call(format!("proxy_on_done({ROOT_CONTEXT})"), |p, st| {
                p.proxy_on_done(st, ROOT_CONTEXT)
            })?;
            if done == Some(false) {
                self.store.data_mut().done_pending = true;
                if how == reference::RootShutdown::WaitForDone {
                    self.deliver()?;
                    if self.store.data().done_pending {
                        self.steps.push(Step {
                            call: format!("(root context {ROOT_CONTEXT} waits for proxy_done)"),
                            outcome: "never finished".to_string(),
                        });
                        return Ok(());
                    }
                }
            }
        }
        self.call(format!("proxy_on_log({ROOT_CONTEXT})"), |p, st| {
            p.proxy_on_log(st, ROOT_CONTEXT)
        })?;
        self.call(format!("proxy_on_delete({ROOT_CONTEXT})"), |p, st| {
            p.proxy_on_delete(st, ROOT_CONTEXT)
        })?;
        Ok(())
    }
}

fn len32<T>(items: &[T]) -> u32 {
    u32::try_from(items.len()).unwrap_or(u32::MAX)
}

fn first_line(error: &wasmtime::Error) -> String {
    error.to_string().lines().next().unwrap_or("").to_string()
}

/// How [`run_scheduled`] drives several lifecycles on one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Each lifecycle from its stream's creation to its deletion before the
    /// next one starts.
    #[default]
    OneAfterAnother,
    /// All at once, in phases: every stream is created, then every request
    /// runs (headers, body, trailers; a pause waits for the plugin's calls
    /// as ever), then every response (or local reply), then every stream
    /// ends, each phase in input order. A plugin that keeps one request's
    /// state where the next request overwrites it shows it here.
    Interleaved,
}

/// Runs `wasm` through one lifecycle with `input`.
pub fn run(wasm: &[u8], input: &Input) -> Result<Report, RunError> {
    let mut reports = run_all(wasm, std::slice::from_ref(input))?;
    Ok(reports.remove(0))
}

/// Runs `wasm` through one lifecycle per input, one after the other on the
/// same plugin instance: [`run_scheduled`] with
/// [`Schedule::OneAfterAnother`].
pub fn run_all(wasm: &[u8], inputs: &[Input]) -> Result<Vec<Report>, RunError> {
    run_scheduled(wasm, inputs, Schedule::OneAfterAnother)
}

/// Runs `wasm` through one lifecycle per input on the same plugin
/// instance, each on a stream context of its own (2, 3, ...), in the order
/// `schedule` says, and reports each. The plugin's setup (configurations,
/// log level, properties, clock, foreign functions, and the answers to
/// calls made from its root context) is the first input's; a stream's own
/// calls get its input's answers. The timer fires and calls are answered
/// after the start, whenever a stream pauses, and as each stream ends.
/// A report holds what happened while its stream was being driven: the
/// first also shows the plugin's start, and a timer firing or a call's
/// answer belongs to the stream during whose phase it came.
pub fn run_scheduled(
    wasm: &[u8],
    inputs: &[Input],
    schedule: Schedule,
) -> Result<Vec<Report>, RunError> {
    run_adjusted(wasm, inputs, schedule, |_| {})
}

/// [`run`] with `adjust` applied to the reference host before the plugin
/// starts: to change its capacity, or to break it on purpose
/// (`host.plugin.enforce_access_rules(false)`).
pub fn run_with(
    wasm: &[u8],
    input: &Input,
    adjust: impl FnOnce(&mut ReferenceHost),
) -> Result<Report, RunError> {
    let inputs = std::slice::from_ref(input);
    let mut reports = run_adjusted(wasm, inputs, Schedule::OneAfterAnother, adjust)?;
    Ok(reports.remove(0))
}

/// [`run_all`] with `adjust` applied to the reference host before the
/// plugin starts, then the plugin's [`Session::shutdown`], reported with
/// the last input (the conformance kit's HTTP request then TCP
/// connection, then the shutdown); a response paused in its headers or
/// trailers waits to be resumed ([`Session::waits_at_response_headers`]).
pub fn run_all_with(
    wasm: &[u8],
    inputs: &[Input],
    adjust: impl FnOnce(&mut ReferenceHost),
) -> Result<Vec<Report>, RunError> {
    run_shut_down(wasm, inputs, Schedule::OneAfterAnother, adjust, true)
}

fn run_adjusted(
    wasm: &[u8],
    inputs: &[Input],
    schedule: Schedule,
    adjust: impl FnOnce(&mut ReferenceHost),
) -> Result<Vec<Report>, RunError> {
    run_shut_down(wasm, inputs, schedule, adjust, false)
}

fn run_shut_down(
    wasm: &[u8],
    inputs: &[Input],
    schedule: Schedule,
    adjust: impl FnOnce(&mut ReferenceHost),
    shutdown: bool,
) -> Result<Vec<Report>, RunError> {
    let Some(setup) = inputs.first() else {
        return Ok(Vec::new());
    };
    let mut host = ReferenceHost {
        vm_configuration: setup.vm_configuration.clone(),
        plugin_configuration: setup.plugin_configuration.clone(),
        log_level: setup.log_level.unwrap_or(bindings::LogLevel::Trace),
        properties: setup.properties.iter().cloned().collect(),
        foreign_functions: setup.foreign_functions.iter().cloned().collect(),
        shared_data: setup
            .shared_data
            .iter()
            .map(|(key, value)| (key.clone(), (value.clone(), 1)))
            .collect(),
        now_ns: setup.clock_ns.unwrap_or(ReferenceHost::default().now_ns),
        upstreams: setup.upstreams.clone(),
        ..ReferenceHost::default()
    };
    adjust(&mut host);
    let mut s = Session::with_limits(wasm, host, setup.limits)?;
    s.waits_at_response_headers = shutdown;
    s.answers = Answers::of(setup);
    s.on_failure = setup.on_failure;
    s.start()?;
    s.deliver()?;
    let mut exchanges: Vec<Exchange> = (STREAM_CONTEXT..)
        .zip(inputs)
        .map(|(ctx, input)| Exchange::new(ctx, input))
        .collect();
    match schedule {
        Schedule::OneAfterAnother => {
            let mut reports = Vec::new();
            let last = exchanges.len() - 1;
            for (i, mut exchange) in exchanges.into_iter().enumerate() {
                for phase in Phase::ALL {
                    s.advance(&mut exchange, phase)?;
                }
                if shutdown && i == last {
                    s.shutdown()?;
                    s.gather(&mut exchange);
                }
                reports.push(s.report(exchange));
            }
            Ok(reports)
        }
        Schedule::Interleaved => {
            for phase in Phase::ALL {
                for exchange in &mut exchanges {
                    s.advance(exchange, phase)?;
                }
            }
            if let (true, Some(exchange)) = (shutdown, exchanges.last_mut()) {
                s.shutdown()?;
                s.gather(exchange);
            }
            Ok(exchanges.into_iter().map(|e| s.report(e)).collect())
        }
    }
}

/// The parts of a lifecycle, which [`Schedule::Interleaved`] runs for all
/// streams before going on to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The input's setup (clock, queued items), the stream's creation, and
    /// a TCP connection's `proxy_on_new_connection`.
    Open,
    /// Request headers, body and trailers, or downstream data.
    Request,
    /// Response headers, body and trailers (or the local reply), or
    /// upstream data.
    Response,
    /// A connection's close, answers and ticks, and done, log, delete.
    Close,
}

impl Phase {
    const ALL: [Phase; 4] = [Phase::Open, Phase::Request, Phase::Response, Phase::Close];
}

/// One lifecycle in progress: its stream, its input, and what its report
/// has gathered so far.
struct Exchange<'a> {
    ctx: u32,
    input: &'a Input,
    /// The request went no further (paused for good, answered locally).
    stopped: bool,
    local_reply: Option<(Pairs, Vec<u8>)>,
    properties_before: Vec<(reference::PropertyPath, Vec<u8>)>,
    steps: Vec<Step>,
    host_calls: Vec<expect::HostCall>,
    logs: Vec<(bindings::LogLevel, String)>,
    http_calls: Vec<reference::HttpCall>,
}

impl<'a> Exchange<'a> {
    fn new(ctx: u32, input: &'a Input) -> Self {
        Exchange {
            ctx,
            input,
            stopped: false,
            local_reply: None,
            properties_before: Vec::new(),
            steps: Vec::new(),
            host_calls: Vec::new(),
            logs: Vec::new(),
            http_calls: Vec::new(),
        }
    }
}

impl Session {
    /// One HTTP request or TCP connection on stream context `ctx`, from
    /// its creation to its deletion, reported with the steps since the last
    /// report.
    pub fn exchange(&mut self, ctx: u32, input: &Input) -> Result<Report, RunError> {
        let mut exchange = Exchange::new(ctx, input);
        for phase in Phase::ALL {
            self.advance(&mut exchange, phase)?;
        }
        Ok(self.report(exchange))
    }

    /// Runs `phase` of `exchange`'s lifecycle and gathers what happened
    /// meanwhile into it.
    fn advance(&mut self, exchange: &mut Exchange, phase: Phase) -> Result<(), RunError> {
        let (ctx, input) = (exchange.ctx, exchange.input);
        let limit = input.buffer_limit.unwrap_or(DEFAULT_BUFFER_LIMIT);
        match (phase, input.lifecycle) {
            (Phase::Open, _) => {
                let mut properties: Vec<_> =
                    self.store.data().properties.clone().into_iter().collect();
                properties.sort();
                exchange.properties_before = properties;
                self.stream_answers.insert(ctx, Answers::of(input));
                if let Some(now) = input.clock_ns {
                    self.store.data_mut().now_ns = now;
                }
                for (queue, item) in &input.enqueue {
                    if !self.store.data_mut().enqueue(queue, item) {
                        self.steps.push(Step {
                            call: format!("(enqueue on `{queue}`)"),
                            outcome: "no such queue".to_string(),
                        });
                    }
                }
                if !input.enqueue.is_empty() {
                    self.deliver()?;
                }
                self.call(
                    format!("proxy_on_context_create({ctx}, {ROOT_CONTEXT})"),
                    |p, st| p.proxy_on_context_create(st, ctx, ROOT_CONTEXT),
                )?;
                if input.lifecycle == Lifecycle::Tcp {
                    self.call(format!("proxy_on_new_connection({ctx})"), |p, st| {
                        p.proxy_on_new_connection(st, ctx)
                    })?;
                }
            }
            (Phase::Request, Lifecycle::Http) => {
                exchange.stopped = http_request(self, input, ctx)? == Passage::Stopped;
            }
            (Phase::Response, Lifecycle::Http) => {
                if !exchange.stopped {
                    http_response(self, input, ctx)?;
                }
                exchange.local_reply = self.local_reply(ctx)?;
            }
            // The two directions of a connection pause independently.
            (Phase::Request, Lifecycle::Tcp) => {
                let data = &input.request_body;
                let chunk = input.chunk_size;
                let passage = self.flow(Flow::DownstreamData, ctx, data, chunk, limit, false)?;
                exchange.stopped = passage == Passage::Stopped && self.failure.is_some();
            }
            (Phase::Response, Lifecycle::Tcp) => {
                // A connection reset because the plugin failed carries no
                // more data.
                if !exchange.stopped {
                    let data = &input.response_body;
                    let chunk = input.chunk_size;
                    self.flow(Flow::UpstreamData, ctx, data, chunk, limit, false)?;
                }
            }
            (Phase::Close, lifecycle) => {
                if lifecycle == Lifecycle::Tcp {
                    tcp_close(self, ctx)?;
                }
                self.deliver()?;
                self.finish(ctx)?;
                for _ in 0..input.ticks {
                    self.deliver()?;
                }
            }
        }
        self.gather(exchange);
        Ok(())
    }

    /// Moves what happened since the last gathering into `exchange`.
    fn gather(&mut self, exchange: &mut Exchange) {
        exchange.steps.append(&mut self.steps);
        exchange.host_calls.extend(self.take_host_calls());
        let host = self.store.data();
        let (logs, calls) = self.gathered;
        exchange
            .logs
            .extend_from_slice(host.logs.get(logs..).unwrap_or_default());
        exchange
            .http_calls
            .extend_from_slice(host.http_calls.get(calls..).unwrap_or_default());
        self.gathered = (host.logs.len(), host.http_calls.len());
    }

    /// The report of a finished `exchange`; its stream's state leaves the
    /// host.
    fn report(&mut self, exchange: Exchange) -> Report {
        let (ctx, input) = (exchange.ctx, exchange.input);
        let mut host = self.host(ctx).clone();
        host.streams.clear();
        self.store.data_mut().drop_stream(ctx);
        self.stream_answers.remove(&ctx);
        let [request_body, response_body, downstream, upstream] =
            self.forwarded.remove(&ctx).unwrap_or_default();
        let (request_forwarded, response_forwarded) = match input.lifecycle {
            Lifecycle::Http => (request_body, response_body),
            Lifecycle::Tcp => (downstream, upstream),
        };
        Report {
            abi_version: self.plugin.version(),
            context: ctx,
            lifecycle: input.lifecycle,
            steps: exchange.steps,
            request_before: (input.request_headers.clone(), input.request_body.clone()),
            response_before: exchange
                .local_reply
                .unwrap_or_else(|| (input.response_headers.clone(), input.response_body.clone())),
            request_forwarded,
            response_forwarded,
            trailers_before: (
                input.request_trailers.clone(),
                input.response_trailers.clone(),
            ),
            properties_before: exchange.properties_before,
            failure: self.failure.clone(),
            logs: exchange.logs,
            http_calls: exchange.http_calls,
            host_calls: exchange.host_calls,
            host,
        }
    }
}

/// The request, up to where it stopped.
fn http_request(s: &mut Session, input: &Input, ctx: u32) -> Result<Passage, RunError> {
    let limit = input.buffer_limit.unwrap_or(DEFAULT_BUFFER_LIMIT);
    let request = bindings::StreamType::HttpRequest;
    let (body, trailers) = (&input.request_body, &input.request_trailers);
    s.host(ctx).request_headers = input.request_headers.clone();
    let end = body.is_empty() && trailers.is_empty();
    let n = len32(&input.request_headers);
    let action = s.call(
        format!("proxy_on_request_headers({ctx}, {n}, {end})"),
        |p, st| p.proxy_on_request_headers(st, ctx, n, end),
    )?;
    if !s.goes_on_after(ctx, action, request, "request")? {
        return Ok(Passage::Stopped);
    }
    if !body.is_empty() {
        let flow = Flow::RequestBody;
        let chunk = input.chunk_size;
        let trailers_follow = !trailers.is_empty();
        if s.flow(flow, ctx, body, chunk, limit, trailers_follow)? == Passage::Stopped
            || s.host(ctx).local_response.is_some()
        {
            return Ok(Passage::Stopped);
        }
    }
    if !trailers.is_empty() {
        s.host(ctx).request_trailers = trailers.clone();
        let n = len32(trailers);
        let action = s.call(format!("proxy_on_request_trailers({ctx}, {n})"), |p, st| {
            p.proxy_on_request_trailers(st, ctx, n)
        })?;
        let waits = s.store.data().trailers_pause == reference::TrailersPause::Waits;
        let action = action.filter(|_| waits);
        if !s.goes_on_after(ctx, action, request, "request trailers")? {
            return Ok(Passage::Stopped);
        }
    }
    Ok(Passage::Through)
}

/// The upstream's response.
fn http_response(s: &mut Session, input: &Input, ctx: u32) -> Result<(), RunError> {
    let limit = input.buffer_limit.unwrap_or(DEFAULT_BUFFER_LIMIT);
    let (body, trailers) = (&input.response_body, &input.response_trailers);
    s.host(ctx).response_headers = input.response_headers.clone();
    let end = body.is_empty() && trailers.is_empty();
    let n = len32(&input.response_headers);
    let action = s.call(
        format!("proxy_on_response_headers({ctx}, {n}, {end})"),
        |p, st| p.proxy_on_response_headers(st, ctx, n, end),
    )?;
    if s.failed_closed(ctx, bindings::StreamType::HttpResponse) {
        return Ok(());
    }
    let response = bindings::StreamType::HttpResponse;
    if s.waits_at_response_headers && !s.goes_on_after(ctx, action, response, "response headers")? {
        return Ok(());
    }
    if !body.is_empty() {
        let flow = Flow::ResponseBody;
        let chunk = input.chunk_size;
        let trailers_follow = !trailers.is_empty();
        if s.flow(flow, ctx, body, chunk, limit, trailers_follow)? == Passage::Stopped {
            return Ok(());
        }
    }
    if !trailers.is_empty() {
        s.host(ctx).response_trailers = trailers.clone();
        let n = len32(trailers);
        let action = s.call(
            format!("proxy_on_response_trailers({ctx}, {n})"),
            |p, st| p.proxy_on_response_trailers(st, ctx, n),
        )?;
        let waits = s.store.data().trailers_pause == reference::TrailersPause::Waits;
        if s.waits_at_response_headers && waits {
            s.goes_on_after(ctx, action, response, "response trailers")?;
        }
    }
    Ok(())
}

/// Both ends of a connection close.
fn tcp_close(s: &mut Session, ctx: u32) -> Result<(), RunError> {
    let remote = bindings::PeerType::Remote;
    s.call(
        format!("proxy_on_downstream_connection_close({ctx}, REMOTE)"),
        |p, st| p.proxy_on_downstream_connection_close(st, ctx, remote),
    )?;
    s.call(
        format!("proxy_on_upstream_connection_close({ctx}, REMOTE)"),
        |p, st| p.proxy_on_upstream_connection_close(st, ctx, remote),
    )?;
    Ok(())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn pairs_diff(out: &mut String, title: &str, before: &Pairs, after: &Pairs) {
    let _ = writeln!(out, "{title}:");
    for (k, v) in after {
        let mark = if before.contains(&(k.clone(), v.clone())) {
            " "
        } else {
            "+"
        };
        let _ = writeln!(out, "  {mark} {}: {}", text(k), text(v));
    }
    for (k, v) in before {
        if !after.contains(&(k.clone(), v.clone())) {
            let _ = writeln!(out, "  - {}: {}", text(k), text(v));
        }
    }
}

fn body_diff(out: &mut String, title: &str, before: &[u8], after: &[u8]) {
    if before == after {
        let _ = writeln!(out, "{title}: unchanged ({} bytes)", after.len());
    } else {
        let _ = writeln!(out, "{title}: {:?} -> {:?}", text(before), text(after));
    }
}

impl fmt::Display for Report {
    /// The actions, header and body changes, local response, calls and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        out.push_str("callbacks:\n");
        for step in &self.steps {
            let _ = writeln!(out, "  {} -> {}", step.call, step.outcome);
        }
        if let Some(failure) = &self.failure {
            let _ = writeln!(out, "plugin failed: {failure}");
        }
        let h = &self.host;
        let (before, after) = (&self.request_before, &self.response_before);
        let trailers = &self.trailers_before;
        match self.lifecycle {
            Lifecycle::Http => {
                pairs_diff(&mut out, "request headers", &before.0, &h.request_headers);
                body_diff(&mut out, "request body", &before.1, &self.request_forwarded);
                if !trailers.0.is_empty() || !h.request_trailers.is_empty() {
                    pairs_diff(
                        &mut out,
                        "request trailers",
                        &trailers.0,
                        &h.request_trailers,
                    );
                }
                pairs_diff(&mut out, "response headers", &after.0, &h.response_headers);
                body_diff(
                    &mut out,
                    "response body",
                    &after.1,
                    &self.response_forwarded,
                );
                if !trailers.1.is_empty() || !h.response_trailers.is_empty() {
                    pairs_diff(
                        &mut out,
                        "response trailers",
                        &trailers.1,
                        &h.response_trailers,
                    );
                }
            }
            Lifecycle::Tcp => {
                body_diff(
                    &mut out,
                    "downstream data",
                    &before.1,
                    &self.request_forwarded,
                );
                body_diff(
                    &mut out,
                    "upstream data",
                    &after.1,
                    &self.response_forwarded,
                );
            }
        }
        if let Some(local) = &h.local_response {
            let _ = writeln!(
                out,
                "local response: {} {:?} body {:?}",
                local.status_code,
                local.details,
                text(&local.body)
            );
            for (k, v) in &local.headers {
                let _ = writeln!(out, "  {}: {}", text(k), text(v));
            }
        }
        for call in self.http_calls() {
            let _ = writeln!(
                out,
                "http call {} to {:?} (timeout {} ms): {}",
                call.token,
                call.upstream,
                call.timeout_ms,
                call.headers
                    .iter()
                    .map(|(k, v)| format!("{}: {}", text(k), text(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if h.tick_period_ms > 0 {
            let _ = writeln!(out, "tick period: {} ms", h.tick_period_ms);
        }
        for (path, value) in self.properties_written() {
            let _ = writeln!(out, "property {} = {:?}", property_name(path), text(value));
        }
        for m in &h.metrics {
            let _ = writeln!(out, "metric {} ({:?}) = {}", m.name, m.kind, m.value);
        }
        out.push_str("logs:\n");
        for (level, message) in self.logs() {
            let _ = writeln!(out, "  [{level}] {message}");
        }
        f.write_str(out.trim_end())
    }
}

/// A property path as text, its segments joined with `.` (`node.id`).
pub fn property_name(path: &[Vec<u8>]) -> String {
    path.iter().map(|s| text(s)).collect::<Vec<_>>().join(".")
}

/// Key/value pairs as JSON: `[[name, value], ...]`, bytes as text.
fn pairs_json(pairs: &Pairs) -> serde_json::Value {
    pairs
        .iter()
        .map(|(k, v)| serde_json::json!([text(k), text(v)]))
        .collect()
}

impl Report {
    /// The logs of this lifecycle.
    pub fn logs(&self) -> &[(bindings::LogLevel, String)] {
        &self.logs
    }

    /// The HTTP calls the plugin made during this lifecycle.
    pub fn http_calls(&self) -> &[reference::HttpCall] {
        &self.http_calls
    }

    /// The properties the plugin set to a value other than the one they had,
    /// sorted by path.
    pub fn properties_written(&self) -> Vec<(&reference::PropertyPath, &Vec<u8>)> {
        let mut written: Vec<_> = self
            .host
            .properties
            .iter()
            .filter(|(path, value)| {
                !self
                    .properties_before
                    .iter()
                    .any(|(p, v)| p == *path && v == *value)
            })
            .collect();
        written.sort();
        written
    }

    /// Everything the text report shows, and the host's shared state, as
    /// JSON for tools (`proxy-wasm-abi run --format json`). Bytes are given
    /// as text, invalid UTF-8 replaced.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let h = &self.host;
        let flow = |headers_before: &Pairs,
                    headers: &Pairs,
                    body_before: &[u8],
                    body: &[u8],
                    trailers_before: &Pairs,
                    trailers: &Pairs| {
            json!({
                "headers_before": pairs_json(headers_before),
                "headers": pairs_json(headers),
                "body_before": text(body_before),
                "body": text(body),
                "trailers_before": pairs_json(trailers_before),
                "trailers": pairs_json(trailers),
            })
        };
        let (request, response) = match self.lifecycle {
            Lifecycle::Http => (
                flow(
                    &self.request_before.0,
                    &h.request_headers,
                    &self.request_before.1,
                    &self.request_forwarded,
                    &self.trailers_before.0,
                    &h.request_trailers,
                ),
                flow(
                    &self.response_before.0,
                    &h.response_headers,
                    &self.response_before.1,
                    &self.response_forwarded,
                    &self.trailers_before.1,
                    &h.response_trailers,
                ),
            ),
            Lifecycle::Tcp => (
                json!({"data_before": text(&self.request_before.1), "data": text(&self.request_forwarded)}),
                json!({"data_before": text(&self.response_before.1), "data": text(&self.response_forwarded)}),
            ),
        };
        let mut shared: Vec<_> = h.shared_data.iter().collect();
        shared.sort();
        json!({
            "abi_version": self.abi_version,
            "context": self.context,
            "failure": self.failure,
            "lifecycle": match self.lifecycle {
                Lifecycle::Http => "http",
                Lifecycle::Tcp => "tcp",
            },
            "callbacks": self
                .steps
                .iter()
                .map(|s| json!({"call": s.call, "outcome": s.outcome}))
                .collect::<Vec<_>>(),
            "request": request,
            "response": response,
            "local_response": h.local_response.as_ref().map(|l| json!({
                "status_code": l.status_code,
                "details": l.details,
                "body": text(&l.body),
                "headers": pairs_json(&l.headers),
                "grpc_status": l.grpc_status,
            })),
            "http_calls": self.http_calls().iter().map(|c| json!({
                "token": c.token,
                "context": c.context,
                "upstream": c.upstream,
                "headers": pairs_json(&c.headers),
                "body": text(&c.body),
                "trailers": pairs_json(&c.trailers),
                "timeout_ms": c.timeout_ms,
            })).collect::<Vec<_>>(),
            "continued": h.continued.iter().map(|s| s.abi_name()).collect::<Vec<_>>(),
            "closed": h.closed.iter().map(|s| s.abi_name()).collect::<Vec<_>>(),
            "host_calls": self.host_calls.iter().map(|c| json!({
                "function": c.function,
                "status": c.status,
                "callback": c.callback,
            })).collect::<Vec<_>>(),
            "tick_period_ms": h.tick_period_ms,
            "metrics": h.metrics.iter().map(|m| json!({
                "name": m.name,
                "kind": m.kind.abi_name(),
                "value": m.value,
            })).collect::<Vec<_>>(),
            "properties_written": self.properties_written().into_iter().map(|(path, value)| json!({
                "path": path.iter().map(|s| text(s)).collect::<Vec<_>>(),
                "value": text(value),
            })).collect::<Vec<_>>(),
            "shared_data": shared.into_iter().map(|(key, (value, cas))| json!({
                "key": key,
                "value": text(value),
                "cas": cas,
            })).collect::<Vec<_>>(),
            "queues": h.queues.iter().map(|q| json!({
                "vm_id": q.vm_id,
                "name": q.name,
                "items": q.items.iter().map(|i| text(i)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "logs": self.logs().iter().map(|(level, message)| json!({
                "level": level.abi_name(),
                "message": message,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The reports of a scenario as `proxy-wasm-abi run --scenario` prints them:
/// each under a `== request N ==` heading.
pub fn reports_text(reports: &[Report]) -> String {
    reports
        .iter()
        .enumerate()
        .map(|(n, report)| format!("== request {} ==\n{report}", n + 1))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The reports of a scenario as JSON: an array of [`Report::to_json`].
pub fn reports_json(reports: &[Report]) -> serde_json::Value {
    serde_json::Value::Array(reports.iter().map(Report::to_json).collect())
}
