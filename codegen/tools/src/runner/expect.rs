//! The host calls a plugin made, named as the specification names them, and
//! expectations about them.
//!
//! The reference host traces every call of a host function that answers a
//! status ([`proxy_wasm_abi::host::PluginState::trace_host_calls`]). A test
//! (or a scenario's `[[expect]]` entries) can then say which calls it
//! expects and with what answer, in order or not; strict expectations also
//! fail on any call they do not list, and on any status other than success
//! that no expectation names: a status the test did not foresee is one the
//! plugin may not handle. (A plugin that traps right after such a status
//! fails the run itself, with the call named: see `RunError::Callback`.)

use std::fmt;
use std::sync::OnceLock;

use proxy_wasm_abi::host::TracedCall;
use proxy_wasm_abi_spec::ir::{AbiVersion, StatusRole, Type};

use super::Report;

/// One host call, named: `proxy_http_call -> OK in proxy_on_request_headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    /// The host function.
    pub function: String,
    /// The status it answered, by the specification's name (`NOT_FOUND`), or
    /// the number when the version does not name it; `None` when the call
    /// trapped.
    pub status: Option<String>,
    /// The callback it was made from, if any.
    pub callback: Option<String>,
    /// Whether the status is the one that means success (`OK`, WASI's
    /// `SUCCESS`).
    pub succeeded: bool,
}

impl fmt::Display for HostCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {}",
            self.function,
            self.status.as_deref().unwrap_or("trap")
        )?;
        if let Some(callback) = &self.callback {
            write!(f, " in {callback}")?;
        }
        Ok(())
    }
}

/// The standard description at `version`, built once per version rather
/// than for every call named.
fn described(version: &str) -> Option<&'static AbiVersion> {
    static VERSIONS: OnceLock<Vec<(String, AbiVersion)>> = OnceLock::new();
    VERSIONS
        .get_or_init(|| {
            let abi = proxy_wasm_abi_spec::standard();
            abi.versions
                .iter()
                .filter_map(|v| Some((v.to_string(), abi.at(*v)?)))
                .collect()
        })
        .iter()
        .find(|(v, _)| v == version)
        .map(|(_, abi)| abi)
}

/// Names a traced call of a plugin of ABI `version`, whose callbacks are
/// `callback_names` (indexed by callback id).
pub fn name(version: &str, callback_names: &[&str], call: &TracedCall) -> HostCall {
    let statuses = described(version).and_then(|abi| {
        let f = abi.host_functions().find(|f| f.name == call.function)?;
        let Type::Enum(e) = &f.result.as_ref()?.ty else {
            return None;
        };
        abi.enum_def(e)
    });
    let status = call.status.map(|value| {
        statuses
            .as_ref()
            .and_then(|e| e.variants.iter().find(|v| v.value == value))
            .map_or_else(|| value.to_string(), |v| v.name.clone())
    });
    let success = statuses
        .as_ref()
        .and_then(|e| e.with_role(StatusRole::Success))
        .map(|v| v.value);
    let succeeded = call.status.is_some() && call.status == success;
    let callback = call.running.map(|running| {
        callback_names
            .get(usize::from(running.callback.0))
            .map_or_else(
                || format!("callback {}", running.callback.0),
                |n| n.to_string(),
            )
    });
    HostCall {
        function: call.function.to_string(),
        status,
        callback,
        succeeded,
    }
}

/// A host call a test expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The host function, e.g. `proxy_http_call`.
    pub function: String,
    /// The status it must have answered (`OK`), or any when `None`.
    pub status: Option<String>,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Some(status) => write!(f, "{} -> {status}", self.function),
            None => f.write_str(&self.function),
        }
    }
}

impl Expected {
    fn matches(&self, call: &HostCall) -> bool {
        call.function == self.function
            && self
                .status
                .as_ref()
                .is_none_or(|s| call.status.as_deref() == Some(s.as_str()))
    }
}

/// What a test expects of the host calls of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Calls that must happen; each entry is met by a distinct call.
    pub calls: Vec<Expected>,
    /// The calls must happen in this order (others may come between them,
    /// unless `strict`).
    pub in_order: bool,
    /// Every call the plugin makes must be one of `calls` (by function; a
    /// function listed once may be called any number of times), and every
    /// call that did not succeed must be listed with its status.
    pub strict: bool,
}

impl Expectations {
    /// Whether there is anything to check.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && !self.strict
    }

    /// Checks the host calls of `reports`, in order; each failure is one
    /// line. Empty when every expectation held.
    pub fn check(&self, reports: &[Report]) -> Vec<String> {
        let calls: Vec<&HostCall> = reports.iter().flat_map(|r| &r.host_calls).collect();
        let mut failures = Vec::new();
        if self.in_order {
            let mut next = 0;
            for expected in &self.calls {
                match calls[next..].iter().position(|c| expected.matches(c)) {
                    Some(at) => next += at + 1,
                    None => failures.push(format!(
                        "expected `{expected}`{}, but the plugin made no such call",
                        if next > 0 {
                            " after the calls before it"
                        } else {
                            ""
                        }
                    )),
                }
            }
        } else {
            let mut used = vec![false; calls.len()];
            for expected in &self.calls {
                let found = (0..calls.len()).find(|&i| !used[i] && expected.matches(calls[i]));
                match found {
                    Some(i) => used[i] = true,
                    None => failures.push(format!(
                        "expected `{expected}`, but the plugin made no such call"
                    )),
                }
            }
        }
        if self.strict {
            for call in &calls {
                if !self.calls.iter().any(|e| e.function == call.function) {
                    failures.push(format!("unexpected host call `{call}`"));
                } else if !call.succeeded
                    && call.status.is_some()
                    && !self
                        .calls
                        .iter()
                        .any(|e| e.status.is_some() && e.matches(call))
                {
                    failures.push(format!(
                        "unexpected status in `{call}`: no expectation names it, so the plugin may not handle it"
                    ));
                }
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(function: &str, status: &str) -> HostCall {
        HostCall {
            function: function.to_string(),
            status: Some(status.to_string()),
            callback: None,
            succeeded: status == "OK",
        }
    }

    fn expected(function: &str, status: Option<&str>) -> Expected {
        Expected {
            function: function.to_string(),
            status: status.map(str::to_string),
        }
    }

    fn check(expectations: &Expectations, calls: Vec<HostCall>) -> Vec<String> {
        let report = Report {
            abi_version: "0.2.1",
            context: super::super::STREAM_CONTEXT,
            lifecycle: super::super::Lifecycle::Http,
            steps: Vec::new(),
            request_before: Default::default(),
            response_before: Default::default(),
            request_forwarded: Vec::new(),
            response_forwarded: Vec::new(),
            trailers_before: Default::default(),
            properties_before: Vec::new(),
            logs: Vec::new(),
            http_calls: Vec::new(),
            failure: None,
            host_calls: calls,
            host: Default::default(),
        };
        expectations.check(&[report])
    }

    #[test]
    fn calls_are_matched_by_function_and_status() {
        let calls = vec![
            call("proxy_log", "OK"),
            call("proxy_get_header_map_value", "NOT_FOUND"),
            call("proxy_http_call", "OK"),
        ];
        let loose = Expectations {
            calls: vec![
                expected("proxy_http_call", Some("OK")),
                expected("proxy_get_header_map_value", None),
            ],
            ..Expectations::default()
        };
        assert!(check(&loose, calls.clone()).is_empty());

        let ordered = Expectations {
            in_order: true,
            ..loose.clone()
        };
        assert_eq!(
            check(&ordered, calls.clone()),
            [
                "expected `proxy_get_header_map_value` after the calls before it, but the plugin made no such call"
            ]
        );

        let wrong_status = Expectations {
            calls: vec![expected("proxy_get_header_map_value", Some("OK"))],
            ..Expectations::default()
        };
        assert_eq!(
            check(&wrong_status, calls.clone()),
            ["expected `proxy_get_header_map_value -> OK`, but the plugin made no such call"]
        );

        let strict = Expectations {
            strict: true,
            ..loose
        };
        assert_eq!(
            check(&strict, calls.clone()),
            [
                "unexpected host call `proxy_log -> OK`",
                "unexpected status in `proxy_get_header_map_value -> NOT_FOUND`: no expectation names it, so the plugin may not handle it",
            ]
        );
        // Strict, a failed call is expected only with its status.
        let foreseen = Expectations {
            calls: vec![
                expected("proxy_log", None),
                expected("proxy_http_call", None),
                expected("proxy_get_header_map_value", Some("NOT_FOUND")),
            ],
            strict: true,
            ..Expectations::default()
        };
        assert!(check(&foreseen, calls.clone()).is_empty());
    }

    #[test]
    fn each_expected_call_needs_a_call_of_its_own() {
        let twice = Expectations {
            calls: vec![expected("proxy_log", None), expected("proxy_log", None)],
            ..Expectations::default()
        };
        assert_eq!(
            check(&twice, vec![call("proxy_log", "OK")]),
            ["expected `proxy_log`, but the plugin made no such call"]
        );
        assert!(
            check(
                &twice,
                vec![call("proxy_log", "OK"), call("proxy_log", "OK")]
            )
            .is_empty()
        );
    }

    #[test]
    fn statuses_and_callbacks_are_named_by_the_version() {
        use proxy_wasm_abi::host::{CallbackId, Running};
        let traced = TracedCall {
            function: "proxy_get_header_map_value",
            running: Some(Running::new(CallbackId(1), 2, false)),
            status: Some(1),
        };
        let named = name("0.2.1", &["proxy_on_a", "proxy_on_b"], &traced);
        assert_eq!(
            named.to_string(),
            "proxy_get_header_map_value -> NOT_FOUND in proxy_on_b"
        );
        assert!(!named.succeeded);
        let ok = TracedCall {
            status: Some(0),
            ..traced
        };
        assert!(name("0.2.1", &[], &ok).succeeded);
        let wasi = TracedCall {
            function: "fd_write",
            running: None,
            status: Some(8),
        };
        assert_eq!(name("0.2.1", &[], &wasi).to_string(), "fd_write -> BADF");
        let trapped = TracedCall {
            status: None,
            ..wasi
        };
        assert_eq!(name("0.2.1", &[], &trapped).to_string(), "fd_write -> trap");
    }
}
