//! A conformance kit for Proxy-Wasm hosts, generated from the description.
//!
//! For one ABI version, [`kit`] derives the [`cases`] (bad pointers and
//! lengths, unknown enum values, non-UTF-8 text, malformed maps, calls the
//! access rules forbid, missing keys, unknown ids, an empty queue, a stale
//! compare-and-swap value, a failing allocator, `proxy_on_done` answering
//! `false` for a stream and for the root at the plugin's shutdown, a
//! paused stream read and resumed, a body chunk that does not end the
//! stream),
//! writes [`probe`] plugins that make each case's
//! call and log its status, and a [`score::Manifest`] of what the
//! description expects. Any host loads the probes, drives them through the
//! standard [`Lifecycle`] and hands back its log; [`score::score`] says,
//! per case, pass, deviates or not reached.
//!
//! A Rust host runs the kit in its own tests through [`ConformanceHost`]:
//!
//! ```no_run
//! use proxy_wasm_abi_tools::conformance::{self, Lifecycle};
//!
//! let kit = conformance::kit(&"0.2.1".parse().unwrap()).unwrap();
//! let score = conformance::run_on(&kit, &mut |wasm: &[u8], lifecycle: &Lifecycle| {
//!     // Load `wasm` in the host, call its callbacks in the order
//!     // `lifecycle.steps` lists with `lifecycle`'s data, and return every
//!     // message it passed to `proxy_log`.
//!     Ok::<Vec<String>, String>(Vec::new())
//! })
//! .unwrap();
//! assert!(!score.fails(false), "{}", score.text());
//! ```

pub mod cases;
pub mod probe;
pub mod score;

use std::collections::BTreeMap;
use std::path::Path;

use proxy_wasm_abi_spec::ir::Version;
use serde::{Deserialize, Serialize};

use crate::runner::{self, ReferenceHost};
use cases::Kind;
use score::{Manifest, ManifestCase, ManifestProbe, Score};

/// What the host feeds a probe and the order it calls the probe's
/// callbacks in: one plugin start, one HTTP call answered, a tick, a
/// queue delivery, one HTTP request and its response, one TCP connection
/// (bodies and data in two chunks each), a second HTTP stream whose
/// request and response end with trailers, the plugin's shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The root (plugin) context id.
    pub root_context: u32,
    /// The HTTP stream's context id.
    pub stream_context: u32,
    /// The VM configuration (readable in `proxy_on_vm_start`).
    pub vm_configuration: String,
    /// The plugin configuration (readable in `proxy_on_configure`).
    pub plugin_configuration: String,
    /// The request headers.
    pub request_headers: Vec<(String, String)>,
    /// The request body, in chunks of `chunk_size` bytes: only the last
    /// ends the request.
    pub request_body: String,
    /// The response headers.
    pub response_headers: Vec<(String, String)>,
    /// The response body, in chunks of `chunk_size` bytes: only the last
    /// ends the response.
    pub response_body: String,
    /// How many bytes of a body or of connection data each chunk carries
    /// (the last one may carry fewer): every body and data of the
    /// lifecycle comes in two chunks. 0 (in a manifest written before
    /// there were chunks): each in one.
    #[serde(default)]
    pub chunk_size: usize,
    /// The answer to the probe's HTTP call (made in `proxy_on_configure`
    /// to the upstream `conformance`): its headers.
    pub http_call_response_headers: Vec<(String, String)>,
    /// And its body.
    pub http_call_response_body: String,
    /// The tick period the probe sets in `proxy_on_configure`.
    pub tick_period_ms: u32,
    /// The queue the probe registers in `proxy_on_configure` (in its own
    /// VM), on which the host puts `queue_item` before the HTTP request.
    pub queue_name: String,
    /// The item.
    pub queue_item: String,
    /// The TCP connection's context id.
    pub tcp_context: u32,
    /// The connection's downstream data, in chunks as the bodies.
    pub downstream_data: String,
    /// Its upstream data, in chunks as the bodies.
    pub upstream_data: String,
    /// The second HTTP stream's context id (after the connection): the
    /// same request and response, with trailers. 0 (in a manifest
    /// written before it): no such stream.
    #[serde(default)]
    pub trailers_context: u32,
    /// Its request trailers, after the request body, whose chunks then
    /// all have `end_of_stream` false.
    #[serde(default)]
    pub request_trailers: Vec<(String, String)>,
    /// Its response trailers, likewise after the response body.
    #[serde(default)]
    pub response_trailers: Vec<(String, String)>,
    /// The callbacks, in order, as the host calls them.
    pub steps: Vec<String>,
}

/// The lifecycle's chunk size: each body and each direction's data (16 to
/// 25 bytes) comes in two chunks.
pub const CHUNK_SIZE: usize = 16;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Default for Lifecycle {
    /// The standard lifecycle.
    fn default() -> Self {
        Lifecycle {
            root_context: runner::ROOT_CONTEXT,
            stream_context: runner::STREAM_CONTEXT,
            vm_configuration: "conformance-vm".into(),
            plugin_configuration: "conformance-plugin".into(),
            request_headers: pairs(&[
                (":method", "GET"),
                (":path", "/"),
                (":authority", "conformance"),
                ("x-conformance", "1"),
            ]),
            request_body: "conformance-request-body".into(),
            response_headers: pairs(&[(":status", "200")]),
            response_body: "conformance-response-body".into(),
            chunk_size: CHUNK_SIZE,
            http_call_response_headers: pairs(&[(":status", "200")]),
            http_call_response_body: "ok".into(),
            tick_period_ms: cases::TICK_PERIOD_MS,
            queue_name: cases::READY_QUEUE.into(),
            queue_item: "conformance-item".into(),
            tcp_context: runner::STREAM_CONTEXT + 1,
            downstream_data: "conformance-downstream".into(),
            upstream_data: "conformance-upstream".into(),
            trailers_context: runner::STREAM_CONTEXT + 2,
            request_trailers: pairs(&[("x-conformance-trailer", "request")]),
            response_trailers: pairs(&[("x-conformance-trailer", "response")]),
            steps: [
                "proxy_on_context_create(root, 0)",
                "proxy_on_vm_start(root, size of vm_configuration)",
                "proxy_on_configure(root, size of plugin_configuration)",
                "proxy_on_tick(root): the tick period set in proxy_on_configure",
                "proxy_on_http_call_response(root, call id, headers, body size, 0): the answer to the call made in proxy_on_configure",
                "(the host puts queue_item on queue_name) proxy_on_queue_ready(root, queue id)",
                "proxy_on_context_create(stream, root)",
                "proxy_on_request_headers(stream, headers, false)",
                "proxy_on_request_body(stream, chunk_size, false), proxy_on_request_body(stream, body size, true)",
                "proxy_on_response_headers(stream, headers, false)",
                "proxy_on_response_body(stream, chunk_size, false), proxy_on_response_body(stream, body size, true)",
                "proxy_on_done(stream), proxy_on_log(stream), proxy_on_delete(stream)",
                "proxy_on_context_create(tcp, root), proxy_on_new_connection(tcp)",
                "proxy_on_downstream_data(tcp, chunk_size, false), proxy_on_downstream_data(tcp, data size, true)",
                "proxy_on_upstream_data(tcp, chunk_size, false), proxy_on_upstream_data(tcp, data size, true)",
                "proxy_on_downstream_connection_close(tcp, REMOTE), proxy_on_upstream_connection_close(tcp, REMOTE)",
                "proxy_on_done(tcp), proxy_on_log(tcp), proxy_on_delete(tcp)",
                "proxy_on_context_create(trailers, root)",
                "proxy_on_request_headers(trailers, headers, false)",
                "proxy_on_request_body(trailers, chunk_size, false), proxy_on_request_body(trailers, body size, false)",
                "proxy_on_request_trailers(trailers, request trailers)",
                "proxy_on_response_headers(trailers, headers, false)",
                "proxy_on_response_body(trailers, chunk_size, false), proxy_on_response_body(trailers, body size, false)",
                "proxy_on_response_trailers(trailers, response trailers)",
                "proxy_on_done(trailers), proxy_on_log(trailers), proxy_on_delete(trailers)",
                "(the plugin shuts down) proxy_on_done(root): if it answers false, the timer keeps firing, proxy_on_tick(root), until the plugin calls proxy_done",
                "proxy_on_log(root), proxy_on_delete(root), only once proxy_on_done(root) answered true or the plugin called proxy_done",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Lifecycle {
    /// The runner's inputs for this lifecycle: the HTTP request (with the
    /// queue item), then the TCP connection, then (when it has a context)
    /// the HTTP stream with trailers.
    pub fn inputs(&self) -> Vec<runner::Input> {
        let mut http = self.input();
        http.enqueue = vec![(
            self.queue_name.clone(),
            self.queue_item.clone().into_bytes(),
        )];
        let tcp = runner::Input {
            lifecycle: runner::Lifecycle::Tcp,
            request_body: self.downstream_data.clone().into_bytes(),
            response_body: self.upstream_data.clone().into_bytes(),
            ..http.clone()
        };
        let tcp = runner::Input {
            enqueue: Vec::new(),
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            ..tcp
        };
        let mut inputs = vec![http, tcp];
        if self.trailers_context != 0 {
            let owned = |list: &[(String, String)]| runner::reference::owned(list);
            inputs.push(runner::Input {
                request_trailers: owned(&self.request_trailers),
                response_trailers: owned(&self.response_trailers),
                ..self.input()
            });
        }
        inputs
    }

    /// The runner's input for this lifecycle's HTTP request alone.
    pub fn input(&self) -> runner::Input {
        let owned = |list: &[(String, String)]| runner::reference::owned(list);
        runner::Input {
            request_headers: owned(&self.request_headers),
            request_body: self.request_body.clone().into_bytes(),
            response_headers: owned(&self.response_headers),
            response_body: self.response_body.clone().into_bytes(),
            vm_configuration: self.vm_configuration.clone().into_bytes(),
            plugin_configuration: self.plugin_configuration.clone().into_bytes(),
            http_call_response: runner::reference::HttpCallResponse {
                headers: owned(&self.http_call_response_headers),
                body: self.http_call_response_body.clone().into_bytes(),
                trailers: Vec::new(),
            },
            // A host that fails a callback loses only that probe's later
            // cases; the score says which.
            on_failure: runner::OnFailure::FailOpen,
            chunk_size: Some(self.chunk_size),
            // The one upstream the probes call; any other is unknown.
            upstreams: Some(vec![String::from_utf8_lossy(probe::TEXT).into_owned()]),
            ..Default::default()
        }
    }
}

/// A kit: the compiled probes and the manifest.
#[derive(Debug, Clone)]
pub struct Kit {
    /// File name and module of each probe.
    pub probes: Vec<(String, Vec<u8>)>,
    /// The WAT source of each probe, by file name.
    pub sources: BTreeMap<String, String>,
    /// The cases and what they expect.
    pub manifest: Manifest,
}

/// The kit of `version` of the standard description.
pub fn kit(version: &Version) -> Result<Kit, String> {
    let abi = proxy_wasm_abi_spec::standard();
    let v = abi
        .at(*version)
        .ok_or_else(|| format!("version {version} is not described"))?;
    let all = cases::cases(&v);
    let (layout, sources) = probe::sources(&v, &all);
    let mut probes = Vec::new();
    let mut wat = BTreeMap::new();
    let mut files = Vec::new();
    for source in &sources {
        let file = format!("{}.wasm", source.name);
        probes.push((file.clone(), source.compile()?));
        wat.insert(file.clone(), source.wat.clone());
        files.push(ManifestProbe {
            file,
            cases: source.cases.len(),
        });
    }
    let mut ordered = Vec::new();
    for source in &sources {
        for case in all.iter().filter(|c| c.probe() == source.name) {
            ordered.push(ManifestCase {
                call: probe::call_text(&v, case, &layout),
                case: case.clone(),
                probe: format!("{}.wasm", source.name),
            });
        }
    }
    let statuses = v
        .enums
        .iter()
        .filter(|e| e.variants.iter().any(|x| x.role.is_some()))
        .map(|e| {
            let names = e
                .variants
                .iter()
                .map(|x| (x.value, x.name.clone()))
                .collect();
            (e.name.clone(), names)
        })
        .collect();
    Ok(Kit {
        probes,
        sources: wat,
        manifest: Manifest {
            version: version.to_string(),
            log_line: format!(
                "{}<id>{}<status as a decimal number>",
                probe::CASE_PREFIX,
                probe::STATUS_INFIX
            ),
            lifecycle: Lifecycle::default(),
            probes: files,
            statuses,
            cases: ordered,
        },
    })
}

impl Kit {
    /// Case counts per kind.
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        let mut counts = BTreeMap::new();
        for c in &self.manifest.cases {
            *counts.entry(c.case.kind).or_default() += 1;
        }
        counts
    }

    /// Writes the probes, their WAT, `manifest.json` and `README.md` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (file, wasm) in &self.probes {
            std::fs::write(dir.join(file), wasm)?;
        }
        for (file, wat) in &self.sources {
            std::fs::write(dir.join(file.replace(".wasm", ".wat")), wat)?;
        }
        let manifest =
            serde_json::to_string_pretty(&self.manifest).expect("a manifest always serializes");
        std::fs::write(dir.join("manifest.json"), manifest + "\n")?;
        std::fs::write(dir.join("README.md"), self.readme())
    }

    /// The README telling a host author how to run the kit.
    pub fn readme(&self) -> String {
        let m = &self.manifest;
        let l = &m.lifecycle;
        let list = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(k, v)| format!("`{k}: {v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let probes: String = m
            .probes
            .iter()
            .map(|p| format!("- `{}`: {} cases\n", p.file, p.cases))
            .collect();
        let counts: String = self
            .counts()
            .iter()
            .map(|(k, n)| format!("- `{}`: {n}, {}\n", k.keyword(), k.meaning()))
            .collect();
        let steps: String = l
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. `{s}`\n", i + 1))
            .collect();
        format!(
            r#"# Proxy-Wasm ABI {version} conformance kit

Generated by `proxy-wasm-abi conformance write` from the ABI description
(`abi-spec/proxy-wasm.abi`). Each probe plugin makes calls, each with one
bad argument, in a state the probe set up first, or from a callback the
access rules exclude, and logs what your host answered; `manifest.json`
says what the description expects (each case's `call` lists the calls
made, setup calls first). Score the log with
`proxy-wasm-abi conformance score --manifest manifest.json --log host.log`.

## Probes

{probes}
Case counts per kind:

{counts}
Each probe declares ABI {version} (it exports `proxy_abi_version_{marker}`),
exports `memory` and `proxy_on_memory_allocate`, and every callback of the
version. It imports only the host functions its cases call, `proxy_log`
and those of its setup calls. Load each probe in a fresh plugin instance (the
`.wat` next to it is its source). Some probes differ on purpose:

- `allocator.wasm`: its `proxy_on_memory_allocate` always answers 0, so
  no host function can return data to it.
- `allocator_both.wasm` exports `proxy_on_memory_allocate` and `malloc`,
  each handing out its own region, `allocator_legacy.wasm` only `malloc`:
  `proxy_on_request_headers` reads a header value and logs the region it
  landed in (0 `proxy_on_memory_allocate`'s, 1 `malloc`'s, 2 neither).
  Use `malloc` only when `proxy_on_memory_allocate` is absent.
- `results.wasm`: its `proxy_on_done` answers `false`; for a stream it
  calls `proxy_done` in the next callback, `proxy_on_log` (call it as the
  lifecycle lists, without waiting for `proxy_done`). For the root
  context, at the plugin's shutdown, it calls `proxy_done` from the next
  `proxy_on_tick`: keep the timer firing while the root waits, and run the
  root's `proxy_on_log` and `proxy_on_delete` only after that call; each
  logs how far the shutdown had got (0 `proxy_on_done` had not run, 1
  waiting for `proxy_done`, 2 `proxy_done` called). Its
  `proxy_on_request_headers` answers `PAUSE`, and so do its
  `proxy_on_response_headers`, its body and data callbacks at the
  chunk that ends the stream (the connection's only from 0.2.0) and its
  trailers callbacks, each the first time only (the second HTTP stream
  goes on through its headers): while
  the stream waits, call `proxy_on_tick` (as
  your timer would); the probe switches to the stream's context there,
  reads the map or buffer the `paused` grant covers, resumes the stream
  (`proxy_continue_stream` with `HTTP_REQUEST`, `HTTP_RESPONSE`,
  `DOWNSTREAM` or `UPSTREAM`, or `proxy_continue_request` and
  `proxy_continue_response` before 0.2.0) and reads it again, which the
  resumed stream no longer grants; then the lifecycle goes on.
- `local_response.wasm`: its `proxy_on_request_headers` sends a local
  response (`proxy_send_local_response`), which ends the request: pass
  the response on through the response callbacks as for any local
  response, then go on with the lifecycle.
- `integration.wasm` exports `_initialize`, `main` and `_start`,
  `integration_start.wasm` only `_start`: load them as any plugin; each
  start function records that it ran, and `proxy_on_vm_start` logs the
  order as a number (1 `_initialize`, 2 `main`, 3 `_start`: `12` means
  `_initialize` then `main`).

## Lifecycle

Drive each probe through this lifecycle, root context {root}, stream
context {stream}:

{steps}
- VM configuration: `{vm}`; plugin configuration: `{plugin}`.
- Request headers: {req}; request body: `{req_body}`.
- Response headers: {resp}; response body: `{resp_body}`.
- The probe makes one HTTP call in `proxy_on_configure`, to the upstream
  `conformance`; answer it (headers {call}, body `{call_body}`) before the
  request starts. Know no other upstream: a call to
  `x-conformance-missing` must be refused.
- In `proxy_on_configure` it also sets a tick period of {tick} ms (fire
  `proxy_on_tick` once before the request; more ticks later do no harm)
  and registers the queue `{queue}` in its own VM: put the item
  `{item}` on it, as another plugin would, so that `proxy_on_queue_ready`
  runs before the request.
- It logs each of those calls' status as
  `conformance setup=<function> status=<n>`.
- Each body, and each direction of the connection's data, comes in
  chunks of {chunk} bytes: two chunks, only the last with `end_of_stream`
  true.
- TCP connection, context {tcp}: downstream data `{down}`, upstream data
  `{up}`; then both sides close.
- Then a second HTTP stream, context {trailers}, the only one with
  trailers: the same headers and bodies, but no body chunk ends its
  request or response (`end_of_stream` false on both chunks); request
  trailers {req_trailers} come after the request body, response trailers
  {resp_trailers} after the response body. The probes make their
  access-rule calls from its `proxy_on_request_trailers` and
  `proxy_on_response_trailers` (its other callbacks run no cases: theirs
  ran in the first stream), and `results.wasm` pauses in both: wait
  there for a tick, as at its other pauses.
- Then shut the plugin down: `proxy_on_done` for the root context, and
  `proxy_on_log` and `proxy_on_delete` for it once it is done.

A callback runs its cases the first time it is called (`proxy_on_done`,
`proxy_on_log` and `proxy_on_delete`: for a stream); a case with a
`stage` in the manifest runs at another call: `end_of_stream` the first
call of its body or data callback with that `end_of_stream`,
`paused` a tick while the stream waits at the results probe's pause
point of that number (0 the request headers, then the request body, the
response body, the downstream data, the upstream data, 5 the response
headers, 6 the request trailers, 7 the response trailers), `root_waiting` a
tick while the root waits for `proxy_done`, `root_final`
the callback's first call for the root context. A case whose call traps,
or a callback your host fails, stops that probe's callback there (that
call's cases); the score reports the case where it stopped and the cases
after it as not reached.

## Not covered

Access-rule cases whose answer depends on a condition are generated only
where the probe's own lifecycle makes the answer certain: the `paused`
grants where `results.wasm` pauses (the request and response headers,
from `proxy_on_tick` before it resumes, the request body, the response
body and the connection's data in each direction, at their last chunk,
and the request and response trailers of the second HTTP stream; and,
in the same tick, the same call refused once the stream is resumed), both
sides of `call before proxy_on_response_headers`
(`proxy_send_local_response` from `proxy_on_request_headers` in
`local_response.wasm`, and from the stream's `proxy_on_log`, after the
response headers went on, in `access.wasm`), and both sides of the `when
end_of_stream` grants (`add` of the request or response trailers in
`proxy_on_request_body` or `proxy_on_response_body`: refused in the first
chunk, allowed in the last, which ends the stream). No access rule of
the description is skipped for its condition. The unconditional ones are
probed in every callback of the lifecycle, the trailers callbacks of the
second HTTP stream included: `granted` reads where a grant surely holds,
`forbidden` calls where none can.

## Logs

Let the `INFO` level through. Every case logs one line through `proxy_log`:

    {line}

Collect every message (a prefix your logger adds is fine), one per line,
into a file and score it. The score lists, per case, pass, deviates or not
reached, grouped by function and by kind (`--format text|json|markdown`).
It exits 1 on a deviation from the specification's text; deviations from
this project's clarifications and errata (each case's `provenance` in the
manifest, with its `basis`) are reported apart and fail only with
`--strict`.
"#,
            version = m.version,
            marker = m.version.replace('.', "_"),
            root = l.root_context,
            stream = l.stream_context,
            vm = l.vm_configuration,
            plugin = l.plugin_configuration,
            req = list(&l.request_headers),
            req_body = l.request_body,
            resp = list(&l.response_headers),
            resp_body = l.response_body,
            call = list(&l.http_call_response_headers),
            call_body = l.http_call_response_body,
            line = m.log_line,
            tick = l.tick_period_ms,
            queue = l.queue_name,
            item = l.queue_item,
            tcp = l.tcp_context,
            trailers = l.trailers_context,
            req_trailers = list(&l.request_trailers),
            resp_trailers = list(&l.response_trailers),
            chunk = l.chunk_size,
            down = l.downstream_data,
            up = l.upstream_data,
        )
    }
}

/// What a host needs to run the kit: load one probe, drive it through
/// the [`Lifecycle`] (its HTTP stream, its TCP connection and its second
/// HTTP stream, whose request and response end with trailers; a stream
/// the results probe pauses, in headers, at the last body or data chunk
/// or in trailers, waits for a tick that resumes it; then the plugin's
/// shutdown: the root context's
/// `proxy_on_done`, ticks while it waits for `proxy_done`, then its
/// `proxy_on_log` and `proxy_on_delete`) and return every message it
/// logged, in order.
///
/// Any `FnMut(&[u8], &Lifecycle) -> Result<Vec<String>, E>` is one.
pub trait ConformanceHost {
    /// Loads `wasm`, runs `lifecycle`, returns the log messages. An error
    /// means the probe could not run at all (it is reported, and its cases
    /// are not reached); a callback the host fails is not an error.
    fn run_probe(&mut self, wasm: &[u8], lifecycle: &Lifecycle) -> Result<Vec<String>, String>;
}

impl<F, E> ConformanceHost for F
where
    F: FnMut(&[u8], &Lifecycle) -> Result<Vec<String>, E>,
    E: std::fmt::Display,
{
    fn run_probe(&mut self, wasm: &[u8], lifecycle: &Lifecycle) -> Result<Vec<String>, String> {
        self(wasm, lifecycle).map_err(|e| e.to_string())
    }
}

/// Runs every probe of `kit` on `host` and scores the logs together. A
/// probe the host cannot run leaves its cases not reached; the error is
/// returned only when no probe ran.
pub fn run_on(kit: &Kit, host: &mut impl ConformanceHost) -> Result<Score, String> {
    let (lines, errors) = collect(kit, host);
    if lines.is_empty() && !errors.is_empty() {
        return Err(errors.join("; "));
    }
    Ok(score::score(&kit.manifest, &lines))
}

/// Every probe's log lines, and the errors of those that did not run.
pub fn collect(kit: &Kit, host: &mut impl ConformanceHost) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (file, wasm) in &kit.probes {
        match host.run_probe(wasm, &kit.manifest.lifecycle) {
            Ok(mut l) => lines.append(&mut l),
            Err(e) => errors.push(format!("{file}: {e}")),
        }
    }
    (lines, errors)
}

/// The reference host as a [`ConformanceHost`], with `adjust` applied to
/// its state before each probe starts (to break it on purpose, say).
pub struct Reference<A: FnMut(&mut ReferenceHost) = fn(&mut ReferenceHost)> {
    /// Applied to each fresh host.
    pub adjust: A,
}

impl Default for Reference {
    fn default() -> Self {
        Reference { adjust: |_| {} }
    }
}

impl<A: FnMut(&mut ReferenceHost)> ConformanceHost for Reference<A> {
    fn run_probe(&mut self, wasm: &[u8], lifecycle: &Lifecycle) -> Result<Vec<String>, String> {
        let reports = runner::run_all_with(wasm, &lifecycle.inputs(), &mut self.adjust)
            .map_err(|e| e.to_string())?;
        Ok(reports
            .iter()
            .flat_map(|r| r.logs().iter().map(|(_, m)| m.clone()))
            .collect())
    }
}
