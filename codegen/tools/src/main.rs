//! `proxy-wasm-abi`: generates, checks and compares the Proxy-Wasm ABI outputs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use proxy_wasm_abi_codegen::{REGENERATE_COMMAND, diff, files, json, markdown};
use proxy_wasm_abi_spec::{Description, DescriptionSource, VersionError};
use proxy_wasm_abi_tools::lint;

#[cfg(feature = "run")]
mod conformance_cli;

/// Like `println!`, but a closed stdout (`| head`) ends output quietly
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "proxy-wasm-abi",
    version,
    about = "Generate code and docs from the Proxy-Wasm ABI description"
)]
struct Cli {
    /// A description file to use instead of the embedded standard one.
    #[arg(long, global = true, value_name = "FILE")]
    spec: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write every output under generated/ (JSON and Markdown per version).
    Generate {
        /// Output directory; defaults to generated/ at the workspace root.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Exit non-zero if any file under generated/ is out of date.
    Check {
        /// Directory to check; defaults to generated/ at the workspace root.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// List what changed between two versions.
    Diff {
        /// The older version, e.g. 0.1.0.
        from: String,
        /// The newer version, e.g. 0.2.0.
        to: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Print one version as JSON or Markdown.
    Dump {
        /// The version; defaults to the newest.
        #[arg(long)]
        version: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DumpFormat::Json)]
        format: DumpFormat,
    },
    /// Count functions, callbacks, enums and values per version.
    Summary,
    /// Check a compiled plugin's imports and exports against the description:
    /// exit 0 clean (warnings and notes allowed), 1 on errors, 2 if unreadable.
    Lint {
        /// The plugin (.wasm).
        plugin: PathBuf,
        /// The version to check against; defaults to the one the plugin
        /// declares, else the newest it can run under, else the newest.
        #[arg(long)]
        version: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run one request (or TCP connection) through a plugin of any described
    /// ABI version on the reference host, and print its actions, changes,
    /// calls and logs. Exits 1 when the plugin fails (traps, returns an
    /// invalid value, rejects its configuration), 2 when it cannot be loaded.
    #[cfg(feature = "run")]
    Run(Box<RunArgs>),
    /// The conformance kit for hosts: write it, run it on the reference
    /// host, score a host's log.
    #[cfg(feature = "run")]
    #[command(subcommand)]
    Conformance(conformance_cli::ConformanceCommand),
    /// `run` in a build without wasmtime: says which command has it.
    #[cfg(not(feature = "run"))]
    #[command(name = "run", hide = true)]
    RunUnavailable {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        _args: Vec<String>,
    },
    /// `conformance` in a build without wasmtime: says which command has it.
    #[cfg(not(feature = "run"))]
    #[command(name = "conformance", hide = true)]
    ConformanceUnavailable {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        _args: Vec<String>,
    },
}

#[cfg(feature = "run")]
#[derive(clap::Args)]
struct RunArgs {
    /// The plugin (.wasm).
    plugin: PathBuf,
    /// A request header, `name:value`; repeatable. Default: a GET of `/`.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// The request body (HTTP) or downstream data (TCP).
    #[arg(long, default_value = "")]
    body: String,
    /// A response header, `name:value`; repeatable. Default: `:status: 200`.
    #[arg(long = "response-header", value_name = "NAME:VALUE")]
    response_headers: Vec<String>,
    /// The response body (HTTP) or upstream data (TCP).
    #[arg(long, default_value = "")]
    response_body: String,
    /// A file holding the plugin configuration.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A file holding the VM configuration.
    #[arg(long, value_name = "FILE")]
    vm_config: Option<PathBuf>,
    /// Drive a TCP connection instead of an HTTP request.
    #[arg(long)]
    tcp: bool,
    /// Deliver bodies (or connection data) in chunks of this many bytes.
    #[arg(long, value_name = "BYTES")]
    chunk_size: Option<usize>,
    /// How many bytes to buffer while the plugin pauses a body (default 1 MiB).
    #[arg(long, value_name = "BYTES")]
    buffer_limit: Option<usize>,
    /// A request trailer, `name:value`; repeatable.
    #[arg(long = "trailer", value_name = "NAME:VALUE")]
    trailers: Vec<String>,
    /// A response trailer, `name:value`; repeatable.
    #[arg(long = "response-trailer", value_name = "NAME:VALUE")]
    response_trailers: Vec<String>,
    /// A property the host holds, `path=value` with the path's segments
    /// joined by `.` (`node.id=n1`); repeatable. The request attributes
    /// (`request.path`, `request.host`, ...) follow the headers unless set.
    #[arg(long = "property", value_name = "PATH=VALUE")]
    properties: Vec<String>,
    /// The host's log level: logs below it are dropped (default: trace).
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// A header of the response to each HTTP call the plugin makes,
    /// `name:value`; repeatable. Default: `:status: 200`.
    #[arg(long = "call-response-header", value_name = "NAME:VALUE")]
    call_response_headers: Vec<String>,
    /// The body of the response to each HTTP call.
    #[arg(long, default_value = "ok")]
    call_response_body: String,
    /// The plugin's HTTP calls fail (reset or timeout): no headers, no body.
    #[arg(long)]
    call_fails: bool,
    /// The host clock, in nanoseconds since the epoch (default:
    /// 2020-01-01T00:00:00Z); it does not advance.
    #[arg(long, value_name = "NS")]
    clock_ns: Option<u64>,
    /// Fire the timer this many more times after the request (if the plugin
    /// set a tick period).
    #[arg(long, default_value_t = 0)]
    ticks: u32,
    /// Put an item on a queue the plugin registered, `queue=item`, before
    /// the request; repeatable.
    #[arg(long = "enqueue", value_name = "QUEUE=ITEM")]
    enqueue: Vec<String>,
    /// Offer a foreign function, `name=answer`; repeatable.
    #[arg(long = "foreign-function", value_name = "NAME=ANSWER")]
    foreign_functions: Vec<String>,
    /// Shared data present before the plugin starts, `key=value`;
    /// repeatable.
    #[arg(long = "shared-data", value_name = "KEY=VALUE")]
    shared_data: Vec<String>,
    /// A message of the answer to each gRPC call or stream; repeatable
    /// (default: one empty message).
    #[arg(long = "grpc-message", value_name = "MESSAGE")]
    grpc_messages: Vec<String>,
    /// The gRPC status each call or stream ends with (default 0, OK); a call
    /// with another status fails.
    #[arg(long, default_value_t = 0)]
    grpc_status: u32,
    /// How long one callback may run before it is stopped, in milliseconds;
    /// 0 for no limit (default 1000).
    #[arg(long, value_name = "MS")]
    deadline_ms: Option<u64>,
    /// The most memory the plugin may have, in MiB (default 1024); a
    /// `memory.grow` past it fails.
    #[arg(long, value_name = "MIB")]
    memory_mb: Option<usize>,
    /// When a callback fails: `stop` the run (default), or go on as Envoy
    /// does, `fail-closed` (503 / reset) or `fail-open` (as if the plugin
    /// were not there). Either way the exit status is 1.
    #[arg(long, value_name = "POLICY")]
    on_failure: Option<String>,
    /// With a failed callback, print the plugin's wasm backtrace too.
    #[arg(short, long)]
    verbose: bool,
    /// How to print what happened.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// A scenario file (TOML): the plugin's setup and any number of requests,
    /// run on one plugin instance, one after the other or (`interleaved =
    /// true`) in flight together. It replaces the flags that describe a
    /// request.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = [
            "headers", "body", "response_headers", "response_body", "config", "vm_config",
            "tcp", "chunk_size", "buffer_limit", "trailers", "response_trailers",
            "properties", "log_level", "call_response_headers", "call_response_body",
            "call_fails", "clock_ns", "ticks", "enqueue", "foreign_functions", "grpc_messages",
            "shared_data",
            "grpc_status", "deadline_ms", "memory_mb", "on_failure",
        ]
    )]
    scenario: Option<PathBuf>,
}

/// `name:value`, where a leading `:` belongs to the name (`:path:/`).
#[cfg(feature = "run")]
fn header(text: &str) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    let split = if let Some(rest) = text.strip_prefix(':') {
        rest.find(':').map(|i| i + 1)
    } else {
        text.find(':')
    };
    let Some(at) = split else {
        return Err(Failure(format!(
            "error: header `{text}` is not `name:value`"
        )));
    };
    let (name, value) = (&text.as_bytes()[..at], text[at + 1..].trim_start());
    Ok((name.to_vec(), value.as_bytes().to_vec()))
}

#[cfg(feature = "run")]
fn run_plugin(args: RunArgs) -> Result<ExitCode, Failure> {
    use proxy_wasm_abi_tools::runner::{self, scenario};
    let read = |path: &Path| {
        std::fs::read(path)
            .map_err(|e| Failure(format!("error: cannot read {}: {e}", path.display())))
    };
    let wasm = read(&args.plugin)?;
    let (inputs, schedule, expectations) = match &args.scenario {
        Some(path) => {
            let text = String::from_utf8(read(path)?)
                .map_err(|_| Failure(format!("error: {} is not UTF-8 text", path.display())))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let scenario = scenario::parse(&text, dir).map_err(|e| {
                // `file:line:column: message` when the error has a position.
                let gap = if e.starts_with(|c: char| c.is_ascii_digit()) {
                    ""
                } else {
                    " "
                };
                Failure(format!("error: {}:{gap}{e}", path.display()))
            })?;
            (scenario.inputs, scenario.schedule, scenario.expectations)
        }
        None => {
            let input = input_from_flags(&args, read)?;
            (vec![input], Default::default(), Default::default())
        }
    };
    let reports = match runner::run_scheduled(&wasm, &inputs, schedule) {
        Ok(reports) => reports,
        // The plugin ran and failed: a finding about the plugin, not an
        // error of this command.
        Err(e @ (runner::RunError::Callback { .. } | runner::RunError::Rejected(_))) => {
            eprintln!("error: {}: {e}", args.plugin.display());
            if let runner::RunError::Callback { error, .. } = &e
                && args.verbose
                && let Some(backtrace) = error.backtrace()
            {
                eprintln!("{backtrace}");
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(Failure(format!("error: {}: {e}", args.plugin.display()))),
    };
    match (args.format, args.scenario.is_some()) {
        (OutputFormat::Text, false) => say!("{}", reports[0]),
        (OutputFormat::Json, false) => say!("{:#}", reports[0].to_json()),
        (OutputFormat::Text, true) => say!("{}", runner::reports_text(&reports)),
        (OutputFormat::Json, true) => say!("{:#}", runner::reports_json(&reports)),
    }
    let failures = expectations.check(&reports);
    for failure in &failures {
        eprintln!("expectation failed: {failure}");
    }
    // The run went on past the plugin's failure, as asked; it still failed.
    let failed = reports.iter().find_map(|r| r.failure.as_ref());
    if let Some(failure) = failed {
        eprintln!("error: {}: {failure}", args.plugin.display());
    }
    Ok(if failures.is_empty() && failed.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The one lifecycle the command-line flags describe.
#[cfg(feature = "run")]
fn input_from_flags(
    args: &RunArgs,
    read: impl Fn(&Path) -> Result<Vec<u8>, Failure>,
) -> Result<proxy_wasm_abi_tools::runner::Input, Failure> {
    use proxy_wasm_abi_tools::runner::{self, scenario};
    let pairs =
        |list: &[String], default: &[(&str, &str)]| -> Result<runner::reference::Pairs, Failure> {
            if list.is_empty() {
                Ok(scenario::owned(default))
            } else {
                list.iter().map(|h| header(h)).collect()
            }
        };
    // `key=value`, or a one-line error naming the option and the form.
    let split = |text: &String, option: &str, form: &str| -> Result<(String, Vec<u8>), Failure> {
        text.split_once('=')
            .map(|(key, value)| (key.to_string(), value.as_bytes().to_vec()))
            .ok_or_else(|| Failure(format!("error: {option} `{text}` is not `{form}`")))
    };
    let property = |text: &String| -> Result<_, Failure> {
        let (path, value) = split(text, "property", "path=value")?;
        Ok((scenario::property_path(&path), value))
    };
    let named = |list: &[String], option: &str, form: &str| -> Result<Vec<_>, Failure> {
        list.iter().map(|text| split(text, option, form)).collect()
    };
    let file = |path: &Option<PathBuf>| -> Result<Vec<u8>, Failure> {
        Ok(path.as_deref().map(&read).transpose()?.unwrap_or_default())
    };
    Ok(runner::Input {
        lifecycle: if args.tcp {
            runner::Lifecycle::Tcp
        } else {
            runner::Lifecycle::Http
        },
        request_headers: pairs(&args.headers, &scenario::DEFAULT_REQUEST)?,
        request_body: args.body.clone().into_bytes(),
        response_headers: pairs(&args.response_headers, &scenario::DEFAULT_RESPONSE)?,
        response_body: args.response_body.clone().into_bytes(),
        plugin_configuration: file(&args.config)?,
        vm_configuration: file(&args.vm_config)?,
        http_call_response: runner::reference::HttpCallResponse {
            headers: pairs(&args.call_response_headers, &scenario::DEFAULT_RESPONSE)?,
            body: args.call_response_body.clone().into_bytes(),
            trailers: Vec::new(),
        },
        upstreams: None,
        chunk_size: args.chunk_size,
        buffer_limit: args.buffer_limit,
        request_trailers: pairs(&args.trailers, &[])?,
        response_trailers: pairs(&args.response_trailers, &[])?,
        properties: args
            .properties
            .iter()
            .map(property)
            .collect::<Result<_, _>>()?,
        log_level: args
            .log_level
            .as_deref()
            .map(scenario::log_level)
            .transpose()
            .map_err(|e| Failure(format!("error: {e}")))?,
        http_call_fails: args.call_fails,
        clock_ns: args.clock_ns,
        ticks: args.ticks,
        enqueue: named(&args.enqueue, "enqueue", "queue=item")?,
        foreign_functions: named(&args.foreign_functions, "foreign function", "name=answer")?,
        shared_data: named(&args.shared_data, "shared data", "key=value")?,
        grpc_response: runner::reference::GrpcResponse {
            messages: if args.grpc_messages.is_empty() {
                vec![Vec::new()]
            } else {
                args.grpc_messages
                    .iter()
                    .map(|m| m.as_bytes().to_vec())
                    .collect()
            },
            status: args.grpc_status,
            ..Default::default()
        },
        limits: scenario::limits(args.deadline_ms, args.memory_mb),
        on_failure: args
            .on_failure
            .as_deref()
            .map(runner::OnFailure::named)
            .transpose()
            .map_err(|e| Failure(format!("error: {e}")))?
            .unwrap_or_default(),
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum DumpFormat {
    Json,
    Md,
}

/// An error that ends the command: printed on stderr, exit status 2.
struct Failure(String);

/// Like `print!`, with the same tolerance of a closed stdout.
fn emit(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

impl From<VersionError> for Failure {
    fn from(error: VersionError) -> Self {
        Failure(format!("error: {error}"))
    }
}

fn load(spec: Option<&Path>) -> Result<Description, Failure> {
    Description::load(DescriptionSource::file_or_standard(spec)).map_err(|e| Failure(e.to_string()))
}

/// generated/ next to the nearest ancestor of the current directory that has
/// one, so the command works from anywhere in the workspace.
fn default_out_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|dir| dir.join("generated").is_dir() && dir.join("Cargo.toml").is_file())
        .map_or_else(|| cwd.join("generated"), |dir| dir.join("generated"))
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    #[cfg(feature = "run")]
    if let Command::Run(args) = cli.command {
        return run_plugin(*args);
    }
    #[cfg(feature = "run")]
    if let Command::Conformance(command) = cli.command {
        return conformance_cli::run(command).map_err(Failure);
    }
    // `cargo abi` builds without wasmtime, so that generating stays light;
    // its sibling aliases build with it.
    #[cfg(not(feature = "run"))]
    if let Command::RunUnavailable { .. } | Command::ConformanceUnavailable { .. } = &cli.command {
        let which = match cli.command {
            Command::RunUnavailable { .. } => "run",
            _ => "conformance",
        };
        return Err(Failure(format!(
            "error: `{which}` needs wasmtime, which this build leaves out: use `cargo abi-{which} ...` (or build with `--features run`)"
        )));
    }
    let Description { abi, name: source } = load(cli.spec.as_deref())?;
    match cli.command {
        Command::Generate { out } => {
            let dir = out.unwrap_or_else(default_out_dir);
            let expected = files::outputs(&abi, &source);
            let changed = files::write(&expected, &dir)
                .map_err(|e| Failure(format!("error: cannot write {}: {e}", dir.display())))?;
            for path in &changed {
                say!("updated {}", dir.join(path).display());
            }
            say!(
                "{} files in {} ({} updated)",
                expected.len(),
                dir.display(),
                changed.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { out } => {
            let dir = out.unwrap_or_else(default_out_dir);
            let expected = files::outputs(&abi, &source);
            let stale = files::check(&expected, &dir)
                .map_err(|e| Failure(format!("error: cannot read {}: {e}", dir.display())))?;
            if stale.is_empty() {
                say!(
                    "{} files in {} are up to date",
                    expected.len(),
                    dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            for s in &stale {
                eprintln!("{s}");
            }
            eprintln!(
                "generated files are stale; run `{REGENERATE_COMMAND}` and commit the result"
            );
            Ok(ExitCode::from(1))
        }
        Command::Diff { from, to, format } => {
            let (a, b) = (abi.version(&from)?, abi.version(&to)?);
            let d = diff::diff(&a, &b);
            match format {
                OutputFormat::Text => emit(&d.to_string()),
                OutputFormat::Json => {
                    let changes: Vec<serde_json::Value> = d
                        .changes
                        .iter()
                        .map(|c| {
                            let (kind, item, details) = c.columns();
                            serde_json::json!({"change": kind, "item": item, "details": details})
                        })
                        .collect();
                    let doc = serde_json::json!({"from": d.from.to_string(), "to": d.to.to_string(), "changes": changes});
                    say!(
                        "{}",
                        serde_json::to_string_pretty(&doc)
                            .expect("a serde_json::Value always serializes")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dump { version, format } => {
            let this = abi.version_or_latest(version.as_deref())?;
            match format {
                DumpFormat::Json => emit(&json::render(&this, &source)),
                DumpFormat::Md => {
                    let previous = this.previous.and_then(|p| abi.at(p));
                    let changes = previous.map(|p| diff::diff(&p, &this));
                    emit(&markdown::render(&this, changes.as_ref(), &source));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint {
            plugin,
            version,
            format,
        } => {
            let version = version.map(|v| abi.declared_version(&v)).transpose()?;
            let wasm = std::fs::read(&plugin)
                .map_err(|e| Failure(format!("error: cannot read {}: {e}", plugin.display())))?;
            let report = lint::lint(&abi, &wasm, version)
                .map_err(|e| Failure(format!("error: {}: {e}", plugin.display())))?;
            match format {
                OutputFormat::Text => emit(&report.to_string()),
                OutputFormat::Json => emit(&report.render_json()),
            }
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        #[cfg(feature = "run")]
        Command::Run(_) => unreachable!("handled before the description is loaded"),
        #[cfg(feature = "run")]
        Command::Conformance(_) => unreachable!("handled before the description is loaded"),
        #[cfg(not(feature = "run"))]
        Command::RunUnavailable { .. } | Command::ConformanceUnavailable { .. } => {
            unreachable!("handled before the description is loaded")
        }
        Command::Summary => {
            say!("version  host functions  callbacks  enums  enum values");
            for version in &abi.versions {
                let Some(v) = abi.at(*version) else { continue };
                let values: usize = v.enums.iter().map(|e| e.variants.len()).sum();
                say!(
                    "{:<8} {:>14} {:>10} {:>6} {:>12}",
                    version.to_string(),
                    v.host_functions().count(),
                    v.callbacks().count(),
                    v.enums.len(),
                    values
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}
