//! A plugin driven by its configuration.
//!
//! The plugin configuration is plain text, one `key = value` per line; blank
//! lines and lines starting with `#` are skipped. Keys:
//!
//! - `header` (required): the name of a response header to add;
//! - `value` (required): its value;
//! - `log-paths` (optional, `yes` or `no`, default `no`): log each request's
//!   `:path`.
//!
//! Anything else (a line without `=`, an unknown or repeated key, a missing
//! required key, a bad `log-paths`) makes `on_configure` log why at error
//! level and return `false`, so the host rejects the configuration.

use std::rc::Rc;

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(ConfiguredRoot { settings: None }));
}}

/// What a valid configuration says.
#[derive(Debug)]
struct Settings {
    header: String,
    value: String,
    log_paths: bool,
}

/// Parses the configuration text; the error names the offending line.
fn parse(text: &str) -> Result<Settings, String> {
    let mut header = None;
    let mut value = None;
    let mut log_paths = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, val)) = line.split_once('=') else {
            return Err(format!("line {number}: `{line}` is not `key = value`"));
        };
        let (key, val) = (key.trim(), val.trim());
        let slot = match key {
            "header" => &mut header,
            "value" => &mut value,
            "log-paths" => &mut log_paths,
            "" => return Err(format!("line {number}: missing key before `=`")),
            other => return Err(format!("line {number}: unknown key `{other}`")),
        };
        if slot.replace(val.to_string()).is_some() {
            return Err(format!("line {number}: `{key}` given twice"));
        }
    }
    let header = header
        .filter(|h| !h.is_empty())
        .ok_or("missing required key `header`")?
        .to_ascii_lowercase();
    let value = value.ok_or("missing required key `value`")?;
    let log_paths = match log_paths.as_deref() {
        None | Some("no") => false,
        Some("yes") => true,
        Some(other) => return Err(format!("`log-paths` must be yes or no, not `{other}`")),
    };
    Ok(Settings {
        header,
        value,
        log_paths,
    })
}

/// The root context: holds the settings once `on_configure` accepted them.
struct ConfiguredRoot {
    settings: Option<Rc<Settings>>,
}

impl Context for ConfiguredRoot {}

impl RootContext for ConfiguredRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let Ok(text) = String::from_utf8(bytes) else {
            error!("configuration rejected: not UTF-8");
            return false;
        };
        match parse(&text) {
            Ok(settings) => {
                info!(
                    "configured: add `{}: {}` to responses, log paths: {}",
                    settings.header, settings.value, settings.log_paths
                );
                self.settings = Some(Rc::new(settings));
                true
            }
            Err(why) => {
                error!("configuration rejected: {why}");
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let settings = self.settings.clone()?;
        Some(Box::new(ConfiguredStream { settings }))
    }
}

/// One HTTP stream, acting on the settings.
struct ConfiguredStream {
    settings: Rc<Settings>,
}

impl Context for ConfiguredStream {}

impl HttpContext for ConfiguredStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.settings.log_paths {
            let path = self.get_http_request_header(":path").unwrap_or_default();
            info!("request for {path}");
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header(&self.settings.header, &self.settings.value);
        Action::Continue
    }
}
