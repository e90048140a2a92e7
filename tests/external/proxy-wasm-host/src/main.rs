//! Drives the conformance kit's probes through `proxy-wasm-host` (crates.io,
//! v0.2.1 only) and prints every message they log, one per line, for
//! `proxy-wasm-abi conformance score`.
//!
//! The lifecycle is the kit's (manifest.json): it knows the upstream
//! `conformance` (any other is refused as unknown) and answers the probe's
//! HTTP call, serves empty trailers (the manifest's in its second HTTP
//! stream, which has them), sends bodies and data in the kit's chunks,
//! waits for a tick at a pause, and shuts the plugin down at the end. It calls
//! `proxy_on_queue_ready` for the queue the probe registered without
//! putting an item on it (the probe does not read it).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use proxy_wasm_host::abi::v0_2_1::types::{
    Action, BufferType, LogLevel, MapType, PeerType, Status, StreamType,
};
use proxy_wasm_host::abi::v0_2_1::{
    Access, CallScope, Callback, CalloutId, Callouts, ContextId, Guest, GuestError, Host, HttpCall,
    HttpCallRefusal, HttpCallResponse, Invocation, LocalResponse, LogContext, LogSink,
    PluginConfig, Started, StreamKind, StreamState, VmServices,
};
use proxy_wasm_host::{Buffer, Engine, HeaderMap, Limits, Module, VecHeaderMap};

struct Collect(Arc<Mutex<Vec<String>>>);

impl LogSink for Collect {
    fn log(&self, _: LogContext<'_>, _: LogLevel, message: &[u8]) {
        let line = String::from_utf8_lossy(message).into_owned();
        self.0.lock().unwrap().push(line);
    }
}

/// The one upstream the kit's probes call.
const UPSTREAM: &[u8] = b"conformance";

/// Takes calls to [`UPSTREAM`] and keeps their ids to answer them.
#[derive(Default)]
struct Outbox(Mutex<Vec<CalloutId>>);

impl Callouts for Outbox {
    fn http_call(
        &self,
        _: Invocation,
        callout: CalloutId,
        request: HttpCall<'_>,
    ) -> Result<(), HttpCallRefusal> {
        if request.upstream.as_ref() != UPSTREAM {
            return Err(HttpCallRefusal::UnknownUpstream);
        }
        self.0.lock().unwrap().push(callout);
        Ok(())
    }
}

struct Stream {
    request_headers: VecHeaderMap,
    response_headers: VecHeaderMap,
    request_trailers: VecHeaderMap,
    response_trailers: VecHeaderMap,
    /// Whether the body chunk being delivered ends the stream.
    end_of_stream: bool,
    /// Whether the response headers went on (a local response is then
    /// too late).
    response_started: bool,
    /// The trailers callback the stream is paused in, until the plugin
    /// resumes it.
    paused_trailers: Option<Callback>,
    request_body: Vec<u8>,
    response_body: Vec<u8>,
    downstream_data: Vec<u8>,
    upstream_data: Vec<u8>,
}

impl StreamState for Stream {
    fn header_map(
        &mut self,
        call: Invocation,
        access: Access,
        map: MapType,
    ) -> Result<&mut dyn HeaderMap, Status> {
        // The trailers only where the description grants them: read in
        // proxy_on_log, added in the body chunk that ends the stream,
        // changed in their own callback and while it holds the stream
        // paused. The headers, as before, everywhere.
        let paused = self.paused_trailers;
        let trailers = |body: Callback, own: Callback| match call.callback {
            Some(Callback::Log) => access == Access::Read,
            Some(c) if c == own => true,
            Some(c) => (c == body && self.end_of_stream) || paused == Some(own),
            None => paused == Some(own),
        };
        match map {
            MapType::HttpRequestHeaders => Ok(&mut self.request_headers),
            MapType::HttpResponseHeaders => Ok(&mut self.response_headers),
            MapType::HttpRequestTrailers
                if trailers(Callback::RequestBody, Callback::RequestTrailers) =>
            {
                Ok(&mut self.request_trailers)
            }
            MapType::HttpResponseTrailers
                if trailers(Callback::ResponseBody, Callback::ResponseTrailers) =>
            {
                Ok(&mut self.response_trailers)
            }
            _ => Err(Status::BadArgument),
        }
    }
    fn send_local_response(&mut self, _: Invocation, _: LocalResponse<'_>) -> Result<(), Status> {
        // Taken (and not sent: the lifecycle goes on as it would) until
        // the response headers went on, as the description says.
        if self.response_started {
            return Err(Status::BadArgument);
        }
        Ok(())
    }
    fn continue_stream(&mut self, _: Invocation, stream: StreamType) -> Result<(), Status> {
        // The adapter's lifecycle goes on whether or not the plugin paused;
        // a pause in the trailers (and their grant) ends here.
        let own = match stream {
            StreamType::HttpRequest => Some(Callback::RequestTrailers),
            StreamType::HttpResponse => Some(Callback::ResponseTrailers),
            _ => None,
        };
        if own.is_some() && self.paused_trailers == own {
            self.paused_trailers = None;
        }
        Ok(())
    }
    fn buffer(
        &mut self,
        _: Invocation,
        _: Access,
        buffer: BufferType,
    ) -> Result<&mut dyn Buffer, Status> {
        match buffer {
            BufferType::HttpRequestBody => Ok(&mut self.request_body),
            BufferType::HttpResponseBody => Ok(&mut self.response_body),
            BufferType::DownstreamData => Ok(&mut self.downstream_data),
            BufferType::UpstreamData => Ok(&mut self.upstream_data),
            _ => Err(Status::NotFound),
        }
    }
}

fn pairs(value: &serde_json::Value) -> VecHeaderMap {
    let list = value.as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|p| {
            let s = |i: usize| p[i].as_str().unwrap_or_default().as_bytes().to_vec();
            (s(0), s(1))
        })
        .collect()
}

/// A body or data of `len` bytes in chunks of `chunk`: each chunk's
/// buffered size and whether it ends the stream.
fn chunks(len: u32, chunk: u32) -> Vec<(u32, bool)> {
    let chunk = chunk.max(1);
    let mut out = Vec::new();
    let mut size = 0;
    loop {
        size = (size + chunk).min(len);
        out.push((size, size == len));
        if size == len {
            return out;
        }
    }
}

/// Keeps the errors of callbacks that failed; the lifecycle goes on.
struct Errors(Vec<String>);

impl Errors {
    fn keep<T>(&mut self, r: Result<T, GuestError>) -> Option<T> {
        r.map_err(|e| self.0.push(e.to_string())).ok()
    }
    fn print(self) {
        for e in self.0 {
            eprintln!("callback failed: {e}");
        }
    }
}

/// Sends a body or data in chunks through `callback`; a pause at the last
/// chunk waits for the timer, as in a proxy.
fn flow(
    scope: &mut CallScope<'_, Stream>,
    errors: &mut Errors,
    root: ContextId,
    ticks: bool,
    sizes: &[(u32, bool)],
    mut callback: impl FnMut(&mut CallScope<'_, Stream>, u32, bool) -> Result<Action, GuestError>,
) {
    for &(size, end) in sizes {
        scope.stream_mut().end_of_stream = end;
        let action = errors.keep(callback(scope, size, end));
        scope.stream_mut().end_of_stream = false;
        if end && action == Some(Action::Pause) && ticks {
            errors.keep(scope.on_tick(root));
        }
    }
}

fn run(wasm: &[u8], l: &serde_json::Value, log: Arc<Mutex<Vec<String>>>) -> Result<(), GuestError> {
    let text = |k: &str| l[k].as_str().unwrap_or_default().as_bytes().to_vec();
    let chunk = l["chunk_size"].as_u64().unwrap_or(u64::from(u32::MAX)) as u32;
    let engine = Engine::new()?;
    let module = Module::new(&engine, wasm)?;
    let host = Host::new(&engine)?;
    let outbox = Arc::new(Outbox::default());
    let services = VmServices::new(Arc::new(Collect(log)))
        .with_vm_configuration(text("vm_configuration"))
        .with_callouts(outbox.clone());
    let mut guest = Guest::new(&host, &module, services, &Limits::default())?;
    let Started::Serving(root) =
        guest.start(PluginConfig::new().with_configuration(text("plugin_configuration")))?
    else {
        return Ok(());
    };
    let changes = guest.take_changes();
    let ticks = changes.tick_periods.get(&root).is_some_and(Option::is_some);
    let queue_name = text("queue_name");
    let queues: Vec<_> = changes
        .queues
        .iter()
        .filter(|q| q.root == root && q.name == queue_name)
        .map(|q| q.queue)
        .collect();
    let calls: Vec<CalloutId> = std::mem::take(&mut *outbox.0.lock().unwrap());
    let list = l["http_call_response_headers"].as_array().cloned();
    let call_headers: Vec<(Cow<'static, [u8]>, Cow<'static, [u8]>)> = list
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let s = |i: usize| Cow::Owned(p[i].as_str().unwrap_or_default().as_bytes().to_vec());
            (s(0), s(1))
        })
        .collect();
    let call_body = text("http_call_response_body");
    let (downstream_data, upstream_data) = (text("downstream_data"), text("upstream_data"));
    let (down, up) = (
        chunks(downstream_data.len() as u32, chunk),
        chunks(upstream_data.len() as u32, chunk),
    );
    let (request_body, response_body) = (text("request_body"), text("response_body"));
    let (req, resp) = (
        chunks(request_body.len() as u32, chunk),
        chunks(response_body.len() as u32, chunk),
    );
    let stream = Stream {
        request_headers: pairs(&l["request_headers"]),
        response_headers: pairs(&l["response_headers"]),
        request_trailers: VecHeaderMap::default(),
        response_trailers: VecHeaderMap::default(),
        end_of_stream: false,
        response_started: false,
        paused_trailers: None,
        request_body,
        response_body,
        downstream_data: Vec::new(),
        upstream_data: Vec::new(),
    };
    let (answer, _) = guest.with(stream, |scope| {
        // Each callback separately: one that fails does not stop the rest.
        let mut errors = Errors(Vec::new());
        if ticks {
            errors.keep(scope.on_tick(root));
        }
        for call in calls {
            let response =
                HttpCallResponse::received(call_headers.clone()).with_body(call_body.clone());
            errors.keep(scope.on_http_call_response(root, call, response));
        }
        for queue in queues {
            errors.keep(scope.on_queue_ready(root, queue));
        }
        let s = scope.on_context_create(Some(root))?;
        scope.expect_stream_kind(s, StreamKind::Http)?;
        let n = pairs(&l["request_headers"]).len() as u32;
        // A paused request waits for the timer, as in a proxy.
        if errors.keep(scope.on_request_headers(s, n, false)) == Some(Action::Pause) && ticks {
            errors.keep(scope.on_tick(root));
        }
        flow(scope, &mut errors, root, ticks, &req, |scope, size, end| {
            scope.on_request_body(s, size, end)
        });
        let n = pairs(&l["response_headers"]).len() as u32;
        // A paused response waits for the timer too.
        if errors.keep(scope.on_response_headers(s, n, false)) == Some(Action::Pause) && ticks {
            errors.keep(scope.on_tick(root));
        }
        scope.stream_mut().response_started = true;
        flow(
            scope,
            &mut errors,
            root,
            ticks,
            &resp,
            |scope, size, end| scope.on_response_body(s, size, end),
        );
        errors.keep(scope.on_done(s));
        errors.keep(scope.on_log(s));
        errors.keep(scope.on_delete(s));
        errors.print();
        Ok::<_, GuestError>(())
    });
    answer?;
    // The TCP connection, in a scope of its own.
    let connection = Stream {
        request_headers: VecHeaderMap::default(),
        response_headers: VecHeaderMap::default(),
        request_trailers: VecHeaderMap::default(),
        response_trailers: VecHeaderMap::default(),
        end_of_stream: false,
        response_started: false,
        paused_trailers: None,
        request_body: Vec::new(),
        response_body: Vec::new(),
        downstream_data,
        upstream_data,
    };
    let (answer, _) = guest.with(connection, |scope| {
        let mut errors = Errors(Vec::new());
        let t = scope.on_context_create(Some(root))?;
        scope.expect_stream_kind(t, StreamKind::Tcp)?;
        errors.keep(scope.on_new_connection(t));
        flow(
            scope,
            &mut errors,
            root,
            ticks,
            &down,
            |scope, size, end| scope.on_downstream_data(t, size, end),
        );
        flow(scope, &mut errors, root, ticks, &up, |scope, size, end| {
            scope.on_upstream_data(t, size, end)
        });
        errors.keep(scope.on_downstream_connection_close(t, PeerType::Remote));
        errors.keep(scope.on_upstream_connection_close(t, PeerType::Remote));
        errors.keep(scope.on_done(t));
        errors.keep(scope.on_log(t));
        errors.keep(scope.on_delete(t));
        errors.print();
        Ok::<_, GuestError>(())
    });
    answer?;
    // The second HTTP stream, whose request and response end with
    // trailers (no chunk ends them), then the plugin's shutdown.
    let with_trailers = l["trailers_context"].as_u64().unwrap_or(0) != 0;
    let (request_body, response_body) = (text("request_body"), text("response_body"));
    let not_ending = |sizes: Vec<(u32, bool)>| -> Vec<(u32, bool)> {
        sizes.into_iter().map(|(size, _)| (size, false)).collect()
    };
    let (req, resp) = (
        not_ending(chunks(request_body.len() as u32, chunk)),
        not_ending(chunks(response_body.len() as u32, chunk)),
    );
    let stream = Stream {
        request_headers: pairs(&l["request_headers"]),
        response_headers: pairs(&l["response_headers"]),
        request_trailers: pairs(&l["request_trailers"]),
        response_trailers: pairs(&l["response_trailers"]),
        end_of_stream: false,
        response_started: false,
        paused_trailers: None,
        request_body,
        response_body,
        downstream_data: Vec::new(),
        upstream_data: Vec::new(),
    };
    let (answer, _) = guest.with(stream, |scope| {
        let mut errors = Errors(Vec::new());
        if with_trailers {
            let s = scope.on_context_create(Some(root))?;
            scope.expect_stream_kind(s, StreamKind::Http)?;
            let n = pairs(&l["request_headers"]).len() as u32;
            if errors.keep(scope.on_request_headers(s, n, false)) == Some(Action::Pause) && ticks {
                errors.keep(scope.on_tick(root));
            }
            flow(scope, &mut errors, root, ticks, &req, |scope, size, end| {
                scope.on_request_body(s, size, end)
            });
            // A pause in the trailers waits for the timer, which may
            // resume it.
            let n = pairs(&l["request_trailers"]).len() as u32;
            if errors.keep(scope.on_request_trailers(s, n)) == Some(Action::Pause) {
                scope.stream_mut().paused_trailers = Some(Callback::RequestTrailers);
                if ticks {
                    errors.keep(scope.on_tick(root));
                }
            }
            let n = pairs(&l["response_headers"]).len() as u32;
            if errors.keep(scope.on_response_headers(s, n, false)) == Some(Action::Pause) && ticks {
                errors.keep(scope.on_tick(root));
            }
            scope.stream_mut().response_started = true;
            flow(
                scope,
                &mut errors,
                root,
                ticks,
                &resp,
                |scope, size, end| scope.on_response_body(s, size, end),
            );
            let n = pairs(&l["response_trailers"]).len() as u32;
            if errors.keep(scope.on_response_trailers(s, n)) == Some(Action::Pause) {
                scope.stream_mut().paused_trailers = Some(Callback::ResponseTrailers);
                if ticks {
                    errors.keep(scope.on_tick(root));
                }
            }
            errors.keep(scope.on_done(s));
            errors.keep(scope.on_log(s));
            errors.keep(scope.on_delete(s));
        }
        // The plugin's shutdown: the timer keeps firing while the root
        // waits for `proxy_done`; its log and delete come after.
        if errors.keep(scope.on_done(root)) == Some(false) && ticks {
            errors.keep(scope.on_tick(root));
        }
        errors.keep(scope.on_log(root));
        errors.keep(scope.on_delete(root));
        errors.print();
        Ok::<_, GuestError>(())
    });
    answer
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("the kit's directory"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest.json"))
            .expect("JSON");
    for probe in manifest["probes"].as_array().expect("probes") {
        let file = probe["file"].as_str().expect("a file");
        let wasm = std::fs::read(dir.join(file)).expect("the probe");
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Err(e) = run(&wasm, &manifest["lifecycle"], log.clone()) {
            eprintln!("{file}: {e}");
        }
        for line in log.lock().unwrap().iter() {
            println!("{line}");
        }
    }
}
