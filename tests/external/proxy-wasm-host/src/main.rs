//! Drives the conformance kit's probes through `proxy-wasm-host` (crates.io,
//! v0.2.1 only) and prints every message they log, one per line, for
//! `proxy-wasm-abi conformance score`.
//!
//! The lifecycle is the kit's (manifest.json) minus the HTTP call's answer:
//! this adapter offers no upstream, so the cases that run in
//! `proxy_on_http_call_response` are not reached. It calls
//! `proxy_on_queue_ready` for the queue the probe registered without
//! putting an item on it (the probe does not read it).

use std::sync::{Arc, Mutex};

use proxy_wasm_host::abi::v0_2_1::types::{
    Action, BufferType, LogLevel, MapType, PeerType, Status, StreamType,
};
use proxy_wasm_host::abi::v0_2_1::{
    Access, Guest, GuestError, Host, Invocation, LogContext, LogSink, PluginConfig, Started,
    StreamKind, StreamState, VmServices,
};
use proxy_wasm_host::{Buffer, Engine, HeaderMap, Limits, Module, VecHeaderMap};

struct Collect(Arc<Mutex<Vec<String>>>);

impl LogSink for Collect {
    fn log(&self, _: LogContext<'_>, _: LogLevel, message: &[u8]) {
        let line = String::from_utf8_lossy(message).into_owned();
        self.0.lock().unwrap().push(line);
    }
}

struct Stream {
    request_headers: VecHeaderMap,
    response_headers: VecHeaderMap,
    request_body: Vec<u8>,
    response_body: Vec<u8>,
    downstream_data: Vec<u8>,
    upstream_data: Vec<u8>,
}

impl StreamState for Stream {
    fn header_map(
        &mut self,
        _: Invocation,
        _: Access,
        map: MapType,
    ) -> Result<&mut dyn HeaderMap, Status> {
        match map {
            MapType::HttpRequestHeaders => Ok(&mut self.request_headers),
            MapType::HttpResponseHeaders => Ok(&mut self.response_headers),
            _ => Err(Status::BadArgument),
        }
    }
    fn continue_stream(&mut self, _: Invocation, _: StreamType) -> Result<(), Status> {
        // The adapter's lifecycle goes on whether or not the plugin paused.
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

fn run(wasm: &[u8], l: &serde_json::Value, log: Arc<Mutex<Vec<String>>>) -> Result<(), GuestError> {
    let text = |k: &str| l[k].as_str().unwrap_or_default().as_bytes().to_vec();
    let engine = Engine::new()?;
    let module = Module::new(&engine, wasm)?;
    let host = Host::new(&engine)?;
    let services =
        VmServices::new(Arc::new(Collect(log))).with_vm_configuration(text("vm_configuration"));
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
    let (downstream_data, upstream_data) = (text("downstream_data"), text("upstream_data"));
    let (down_len, up_len) = (downstream_data.len() as u32, upstream_data.len() as u32);
    let (request_body, response_body) = (text("request_body"), text("response_body"));
    let (req_len, resp_len) = (request_body.len() as u32, response_body.len() as u32);
    let stream = Stream {
        request_headers: pairs(&l["request_headers"]),
        response_headers: pairs(&l["response_headers"]),
        request_body,
        response_body,
        downstream_data: Vec::new(),
        upstream_data: Vec::new(),
    };
    let (answer, _) = guest.with(stream, |scope| {
        // Each callback separately: one that fails does not stop the rest.
        let mut errors = Vec::new();
        if ticks && let Err(e) = scope.on_tick(root) {
            errors.push(e.to_string())
        }
        for queue in queues {
            if let Err(e) = scope.on_queue_ready(root, queue) {
                errors.push(e.to_string())
            }
        }
        let s = scope.on_context_create(Some(root))?;
        scope.expect_stream_kind(s, StreamKind::Http)?;
        let n = 4;
        match scope.on_request_headers(s, n, false) {
            // A paused request waits for the timer, as in a proxy.
            Ok(Action::Pause) if ticks => {
                if let Err(e) = scope.on_tick(root) {
                    errors.push(e.to_string())
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(e.to_string()),
        }
        if let Err(e) = scope.on_request_body(s, req_len, true) {
            errors.push(e.to_string())
        }
        if let Err(e) = scope.on_response_headers(s, 1, false) {
            errors.push(e.to_string())
        }
        if let Err(e) = scope.on_response_body(s, resp_len, true) {
            errors.push(e.to_string())
        }
        if let Err(e) = scope.on_done(s) {
            errors.push(e.to_string())
        }
        if let Err(e) = scope.on_log(s) {
            errors.push(e.to_string())
        }
        if let Err(e) = scope.on_delete(s) {
            errors.push(e.to_string())
        }
        for e in errors {
            eprintln!("callback failed: {e}");
        }
        Ok::<_, GuestError>(())
    });
    answer?;
    // The TCP connection, in a scope of its own.
    let connection = Stream {
        request_headers: VecHeaderMap::default(),
        response_headers: VecHeaderMap::default(),
        request_body: Vec::new(),
        response_body: Vec::new(),
        downstream_data,
        upstream_data,
    };
    let (answer, _) = guest.with(connection, |scope| {
        let mut errors = Vec::new();
        // The TCP connection.
        let t = scope.on_context_create(Some(root))?;
        scope.expect_stream_kind(t, StreamKind::Tcp)?;
        let results = [
            scope.on_new_connection(t).map(drop),
            scope.on_downstream_data(t, down_len, true).map(drop),
            scope.on_upstream_data(t, up_len, true).map(drop),
            scope.on_downstream_connection_close(t, PeerType::Remote),
            scope.on_upstream_connection_close(t, PeerType::Remote),
            scope.on_done(t).map(drop),
            scope.on_log(t),
            scope.on_delete(t).map(drop),
        ];
        for r in results {
            if let Err(e) = r {
                errors.push(e.to_string())
            }
        }
        for e in errors {
            eprintln!("callback failed: {e}");
        }
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
