//! A wasmtime host for Proxy-Wasm ABI 0.2.1 that depends on `proxy-wasm-abi`
//! by version only, as a user's crate would; `tests/packaged.rs` builds it
//! against the packaged crates and runs `../plugin` on it.
//!
//! `packaged-host <plugin.wasm>` instantiates the plugin, runs
//! `proxy_on_vm_start`, creates root context 1 and stream context 2, runs
//! `proxy_on_request_headers` on the stream, and prints one line per thing
//! the plugin did:
//!
//! ```text
//! log <level>: <message>
//! header <map>: <key>: <value>
//! proxy_on_request_headers: <action>
//! ```
//!
//! It exits 0 when every step succeeded, 1 with a message otherwise.

mod abi {
    proxy_wasm_abi::host!({ version: "0.2.1" });
}

use std::error::Error;
use std::process::ExitCode;

use abi::{Action, HasPluginState, Host, LogLevel, MapType, Plugin, PluginState, Status};

/// The root (plugin) context the host creates.
const ROOT_CONTEXT: u32 = 1;
/// The stream context the host creates under it.
const STREAM_CONTEXT: u32 = 2;
/// How many request headers the host claims the stream has.
const REQUEST_HEADERS: u32 = 3;

/// What the plugin did, recorded by the host functions it called.
#[derive(Default)]
struct Recorder {
    logs: Vec<(LogLevel, String)>,
    added_headers: Vec<(MapType, String, Vec<u8>)>,
    plugin: PluginState,
}

impl HasPluginState for Recorder {
    fn plugin_state(&mut self) -> &mut PluginState {
        &mut self.plugin
    }
}

impl Host for Recorder {
    fn proxy_log(&mut self, log_level: LogLevel, message: &str) -> Result<(), Status> {
        self.logs.push((log_level, message.to_string()));
        Ok(())
    }

    fn proxy_add_header_map_value(
        &mut self,
        map_id: MapType,
        key: &str,
        value: &[u8],
    ) -> Result<(), Status> {
        self.added_headers
            .push((map_id, key.to_string(), value.to_vec()));
        Ok(())
    }
}

/// Runs the plugin at `path` and returns the recorder and the action
/// `proxy_on_request_headers` answered.
fn run(path: &str) -> Result<(Recorder, Action), Box<dyn Error>> {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::from_file(&engine, path)?;
    let mut linker = wasmtime::Linker::new(&engine);
    abi::add_to_linker(&mut linker, |recorder: &mut Recorder| recorder)?;
    let mut store = wasmtime::Store::new(&engine, Recorder::default());
    let plugin = Plugin::instantiate(&mut store, &linker, &module)?;

    match plugin.proxy_on_vm_start(&mut store, 0, 0)? {
        Some(true) => {}
        Some(false) => return Err("proxy_on_vm_start rejected the VM".into()),
        None => return Err("the plugin does not export proxy_on_vm_start".into()),
    }
    plugin
        .proxy_on_context_create(&mut store, ROOT_CONTEXT, 0)?
        .ok_or("the plugin does not export proxy_on_context_create")?;
    plugin
        .proxy_on_context_create(&mut store, STREAM_CONTEXT, ROOT_CONTEXT)?
        .ok_or("the plugin does not export proxy_on_context_create")?;
    let action = plugin
        .proxy_on_request_headers(&mut store, STREAM_CONTEXT, REQUEST_HEADERS, true)?
        .ok_or("the plugin does not export proxy_on_request_headers")?;
    Ok((store.into_data(), action))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: packaged-host <plugin.wasm>");
        return ExitCode::FAILURE;
    };
    match run(&path) {
        Ok((recorder, action)) => {
            for (level, message) in &recorder.logs {
                println!("log {level:?}: {message}");
            }
            for (map, key, value) in &recorder.added_headers {
                println!("header {map:?}: {key}: {}", String::from_utf8_lossy(value));
            }
            println!("proxy_on_request_headers: {action:?}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("packaged-host: {path}: {error}");
            ExitCode::FAILURE
        }
    }
}
