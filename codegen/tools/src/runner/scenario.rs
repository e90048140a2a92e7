//! Scenario files: a plugin's setup and a list of requests (or TCP
//! connections) in TOML, for `proxy-wasm-abi run --scenario` and for tests.
//!
//! ```toml
//! # The plugin's setup, for the whole run.
//! plugin_configuration = "x-config: yes"    # or plugin_configuration_file = "plugin.conf"
//! vm_configuration = ""                     # or vm_configuration_file
//! log_level = "info"                        # default: trace
//! properties = { "node.id" = "n1" }
//! call_response = { headers = [[":status", "200"]], body = "ok" }
//! grpc_response = { messages = ["reply"], status = 0 }   # also initial_metadata,
//!                                           # trailing_metadata, status_message
//! chunk_size = 10                           # bodies in chunks of this many bytes
//! clock_ns = 1700000000000000000            # the host clock (default 2020-01-01)
//! foreign_functions = { compress = "zz" }   # name = what it answers
//! shared_data = { "counter" = "41" }        # present before the plugin starts
//! deadline_ms = 1000                        # per callback; 0: none (default 1000)
//! memory_mb = 1024                          # the plugin's memory cap (default 1024)
//! on_failure = "stop"                       # or "fail-closed", "fail-open" (see
//!                                           # `runner::OnFailure`)
//!
//! interleaved = false                      # true: the requests in flight together
//!                                           # (see `runner::Schedule::Interleaved`)
//!
//! # One entry per request, in order, each on a stream context of its own.
//! [[request]]
//! headers = [[":method", "GET"], [":path", "/"], [":authority", "example.com"]]
//! body = ""
//! trailers = []
//! response_headers = [[":status", "200"]]
//! response_body = ""
//! response_trailers = []
//! call_fails = false                        # this request's HTTP calls fail
//! enqueue = [["events", "item"]]            # put on the plugin's queues first
//! ticks = 2                                 # timer firings after the request
//!
//! [[request]]
//! tcp = true                                # a TCP connection: body is downstream data,
//! body = "ping"                             # response_body upstream data
//!
//! # Host calls the plugin must make (see `runner::expect`).
//! strict = false                            # true: no other host calls allowed
//! in_order = false                          # true: in this order
//! [[expect]]
//! call = "proxy_http_call"
//! status = "OK"                             # optional: the answer it got
//! ```
//!
//! Every key is optional; unknown keys are errors. Omitted headers are a
//! `GET /` of `example.com` and a `200` response, as on the command line.
//! Files are read relative to the scenario file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::bindings::LogLevel;
use super::expect::{Expectations, Expected};
pub use super::reference::owned;
use super::reference::{GrpcResponse, HttpCallResponse};
use super::{Input, Lifecycle, Limits, OnFailure, Schedule};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    plugin_configuration: Option<String>,
    plugin_configuration_file: Option<String>,
    vm_configuration: Option<String>,
    vm_configuration_file: Option<String>,
    log_level: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
    call_response: Option<CallResponse>,
    #[serde(default)]
    call_fails: bool,
    grpc_response: Option<Grpc>,
    chunk_size: Option<usize>,
    buffer_limit: Option<usize>,
    clock_ns: Option<u64>,
    #[serde(default)]
    foreign_functions: BTreeMap<String, String>,
    #[serde(default)]
    shared_data: BTreeMap<String, String>,
    deadline_ms: Option<u64>,
    memory_mb: Option<usize>,
    on_failure: Option<String>,
    #[serde(default)]
    request: Vec<Request>,
    #[serde(default)]
    interleaved: bool,
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    in_order: bool,
    #[serde(default)]
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    call: String,
    status: Option<String>,
}

/// A scenario file, read: one [`Input`] per request for
/// [`super::run_scheduled`], and what to check afterwards.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The requests (or connections), in order.
    pub inputs: Vec<Input>,
    /// One after another, or interleaved.
    pub schedule: Schedule,
    /// The host calls expected of the whole run.
    pub expectations: Expectations,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CallResponse {
    headers: Option<Vec<(String, String)>>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    trailers: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Grpc {
    #[serde(default)]
    initial_metadata: Vec<(String, String)>,
    messages: Option<Vec<String>>,
    #[serde(default)]
    trailing_metadata: Vec<(String, String)>,
    #[serde(default)]
    status: u32,
    #[serde(default)]
    status_message: String,
}

impl Grpc {
    fn to_response(&self) -> GrpcResponse {
        let default = GrpcResponse::default();
        GrpcResponse {
            initial_metadata: owned(&self.initial_metadata),
            messages: self.messages.as_ref().map_or(default.messages, |m| {
                m.iter().map(|m| m.as_bytes().to_vec()).collect()
            }),
            trailing_metadata: owned(&self.trailing_metadata),
            status: self.status,
            status_message: self.status_message.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    tcp: bool,
    headers: Option<Vec<(String, String)>>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    trailers: Vec<(String, String)>,
    response_headers: Option<Vec<(String, String)>>,
    #[serde(default)]
    response_body: String,
    #[serde(default)]
    response_trailers: Vec<(String, String)>,
    call_response: Option<CallResponse>,
    call_fails: Option<bool>,
    #[serde(default)]
    enqueue: Vec<(String, String)>,
    #[serde(default)]
    ticks: u32,
}

/// The request headers when none are given: a `GET /` of `example.com`.
pub const DEFAULT_REQUEST: [(&str, &str); 3] = [
    (":method", "GET"),
    (":path", "/"),
    (":authority", "example.com"),
];

/// The response headers when none are given.
pub const DEFAULT_RESPONSE: [(&str, &str); 1] = [(":status", "200")];

/// The answer to an HTTP call when none is given: `200`, body `ok`.
pub fn default_call_response() -> HttpCallResponse {
    HttpCallResponse {
        headers: owned(&DEFAULT_RESPONSE),
        body: b"ok".to_vec(),
        trailers: Vec::new(),
    }
}

/// The log level named `name` (`info`, `WARN`, ...).
pub fn log_level(name: &str) -> Result<LogLevel, String> {
    LogLevel::ALL
        .into_iter()
        .find(|l| l.abi_name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let known: Vec<&str> = LogLevel::ALL.iter().map(|l| l.abi_name()).collect();
            format!("log level `{name}` is none of {}", known.join(", "))
        })
}

/// [`Limits::default`] with a deadline of `deadline_ms` (0: none) and a
/// memory cap of `memory_mb` MiB, where given.
pub fn limits(deadline_ms: Option<u64>, memory_mb: Option<usize>) -> Limits {
    let mut limits = Limits::default();
    if let Some(ms) = deadline_ms {
        limits.deadline = (ms > 0).then(|| Duration::from_millis(ms));
    }
    if let Some(mb) = memory_mb {
        limits.memory_bytes = mb.saturating_mul(1 << 20);
    }
    limits
}

/// A property path in dotted form, `node.id`, as its segments.
pub fn property_path(dotted: &str) -> Vec<Vec<u8>> {
    dotted.split('.').map(|s| s.as_bytes().to_vec()).collect()
}

impl CallResponse {
    fn to_response(&self) -> HttpCallResponse {
        HttpCallResponse {
            headers: self
                .headers
                .as_deref()
                .map_or_else(|| owned(&DEFAULT_RESPONSE), owned),
            body: self.body.as_bytes().to_vec(),
            trailers: owned(&self.trailers),
        }
    }
}

/// Reads the scenario in `text` (from a file in `dir`, where the files it
/// names are). Errors are one line, with the line and column for a TOML
/// error.
pub fn parse(text: &str, dir: &Path) -> Result<Scenario, String> {
    let scenario: File = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|span| line_column(text, span.start));
        let message = e.message().trim_end().to_string();
        match at {
            Some((line, column)) => format!("{line}:{column}: {message}"),
            None => message,
        }
    })?;
    let file = |inline: &Option<String>, path: &Option<String>, what: &str| match (inline, path) {
        (Some(_), Some(_)) => Err(format!("give `{what}` or `{what}_file`, not both")),
        (Some(text), None) => Ok(text.as_bytes().to_vec()),
        (None, Some(path)) => {
            let path = dir.join(path);
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        (None, None) => Ok(Vec::new()),
    };
    let plugin_configuration = file(
        &scenario.plugin_configuration,
        &scenario.plugin_configuration_file,
        "plugin_configuration",
    )?;
    let vm_configuration = file(
        &scenario.vm_configuration,
        &scenario.vm_configuration_file,
        "vm_configuration",
    )?;
    let log_level = scenario.log_level.as_deref().map(log_level).transpose()?;
    let on_failure = scenario
        .on_failure
        .as_deref()
        .map(OnFailure::named)
        .transpose()?
        .unwrap_or_default();
    let properties: Vec<_> = scenario
        .properties
        .iter()
        .map(|(path, value)| (property_path(path), value.as_bytes().to_vec()))
        .collect();
    let call_response = scenario
        .call_response
        .as_ref()
        .map_or_else(default_call_response, CallResponse::to_response);
    if scenario.request.is_empty() {
        return Err("the scenario has no [[request]]".to_string());
    }
    let expectations = Expectations {
        calls: scenario
            .expect
            .iter()
            .map(|e| Expected {
                function: e.call.clone(),
                status: e.status.clone(),
            })
            .collect(),
        in_order: scenario.in_order,
        strict: scenario.strict,
    };
    let inputs = scenario
        .request
        .iter()
        .map(|r| Input {
            lifecycle: if r.tcp {
                Lifecycle::Tcp
            } else {
                Lifecycle::Http
            },
            request_headers: r
                .headers
                .as_deref()
                .map_or_else(|| owned(&DEFAULT_REQUEST), owned),
            request_body: r.body.as_bytes().to_vec(),
            request_trailers: owned(&r.trailers),
            response_headers: r
                .response_headers
                .as_deref()
                .map_or_else(|| owned(&DEFAULT_RESPONSE), owned),
            response_body: r.response_body.as_bytes().to_vec(),
            response_trailers: owned(&r.response_trailers),
            vm_configuration: vm_configuration.clone(),
            plugin_configuration: plugin_configuration.clone(),
            http_call_response: r
                .call_response
                .as_ref()
                .map_or_else(|| call_response.clone(), CallResponse::to_response),
            http_call_fails: r.call_fails.unwrap_or(scenario.call_fails),
            upstreams: None,
            chunk_size: scenario.chunk_size,
            buffer_limit: scenario.buffer_limit,
            log_level,
            properties: properties.clone(),
            clock_ns: scenario.clock_ns,
            ticks: r.ticks,
            enqueue: r
                .enqueue
                .iter()
                .map(|(queue, item)| (queue.clone(), item.as_bytes().to_vec()))
                .collect(),
            grpc_response: scenario
                .grpc_response
                .as_ref()
                .map_or_else(GrpcResponse::default, Grpc::to_response),
            foreign_functions: scenario
                .foreign_functions
                .iter()
                .map(|(name, answer)| (name.clone(), answer.as_bytes().to_vec()))
                .collect(),
            shared_data: scenario
                .shared_data
                .iter()
                .map(|(key, value)| (key.clone(), value.as_bytes().to_vec()))
                .collect(),
            limits: limits(scenario.deadline_ms, scenario.memory_mb),
            on_failure,
        })
        .collect();
    Ok(Scenario {
        inputs,
        schedule: if scenario.interleaved {
            Schedule::Interleaved
        } else {
            Schedule::OneAfterAnother
        },
        expectations,
    })
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scenario_becomes_one_input_per_request() {
        let scenario = parse(
            r#"
            plugin_configuration = "conf"
            log_level = "warn"
            properties = { "node.id" = "n1" }
            call_response = { headers = [[":status", "503"]], body = "busy" }
            chunk_size = 4
            interleaved = true

            [[request]]
            headers = [[":path", "/a"]]
            body = "hello"
            trailers = [["t", "1"]]

            [[request]]
            tcp = true
            body = "ping"
            response_body = "pong"
            call_fails = true

            [[expect]]
            call = "proxy_log"
            "#,
            Path::new("."),
        )
        .unwrap();
        let inputs = &scenario.inputs;
        assert_eq!(inputs.len(), 2);
        assert_eq!(
            scenario.expectations.calls,
            [Expected {
                function: "proxy_log".into(),
                status: None
            }]
        );
        assert!(!scenario.expectations.strict && !scenario.expectations.in_order);
        assert_eq!(scenario.schedule, Schedule::Interleaved);
        let (first, second) = (&inputs[0], &inputs[1]);
        assert_eq!(first.lifecycle, Lifecycle::Http);
        assert_eq!(first.request_headers, owned(&[(":path", "/a")]));
        assert_eq!(first.request_trailers, owned(&[("t", "1")]));
        assert_eq!(first.response_headers, owned(&DEFAULT_RESPONSE));
        assert_eq!(first.plugin_configuration, b"conf");
        assert_eq!(first.log_level, Some(LogLevel::Warn));
        assert_eq!(
            first.properties,
            [(property_path("node.id"), b"n1".to_vec())]
        );
        assert_eq!(first.http_call_response.body, b"busy");
        assert_eq!(first.chunk_size, Some(4));
        assert!(!first.http_call_fails);
        assert_eq!(second.lifecycle, Lifecycle::Tcp);
        assert_eq!(second.request_headers, owned(&DEFAULT_REQUEST));
        assert_eq!(
            (
                second.request_body.as_slice(),
                second.response_body.as_slice()
            ),
            (&b"ping"[..], &b"pong"[..])
        );
        assert!(second.http_call_fails);
    }

    #[test]
    fn mistakes_are_one_line_with_a_position() {
        let at = |text: &str| parse(text, Path::new(".")).unwrap_err();
        assert_eq!(
            at("[[request]]\nheader = []\n"),
            "2:1: unknown field `header`, expected one of `tcp`, `headers`, `body`, `trailers`, `response_headers`, `response_body`, `response_trailers`, `call_response`, `call_fails`, `enqueue`, `ticks`"
        );
        assert_eq!(
            at("log_level = \"loud\"\n[[request]]\n"),
            "log level `loud` is none of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL"
        );
        assert_eq!(at("chunk_size = 4\n"), "the scenario has no [[request]]");
        assert_eq!(
            at("plugin_configuration = \"a\"\nplugin_configuration_file = \"b\"\n[[request]]\n"),
            "give `plugin_configuration` or `plugin_configuration_file`, not both"
        );
        assert_eq!(
            at("[[request]]\nheaders = [[\":path\"]]\n"),
            "2:12: invalid length 1, expected a tuple of size 2"
        );
    }
}
