//! `proxy-wasm-abi conformance`: write the kit, run it on the reference
//! host, score a host's log.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use proxy_wasm_abi_spec::ir::Version;
use proxy_wasm_abi_tools::conformance::{self, Reference, score};

#[derive(Subcommand)]
pub enum ConformanceCommand {
    /// Write the probe plugins, manifest.json and README.md of a version.
    Write {
        /// The ABI version, e.g. 0.2.1.
        #[arg(long)]
        version: String,
        /// The directory to write into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run the kit on the built-in reference host and print the score.
    Run {
        /// The ABI version; every described version when absent.
        #[arg(long)]
        version: Option<String>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Fail on deviations from clarifications and unreached cases too.
        #[arg(long)]
        strict: bool,
    },
    /// Score a host's log against a kit's manifest: exit 1 on a deviation
    /// from the spec's text (with --strict, on any deviation or unreached
    /// case), 2 when the files cannot be read.
    Score {
        /// The kit's manifest.json.
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        /// The host's log: the probes' messages, one per line.
        #[arg(long, value_name = "FILE")]
        log: PathBuf,
        /// Report format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Fail on deviations from clarifications and unreached cases too.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

fn print(score: &score::Score, format: ReportFormat) {
    use std::io::Write as _;
    let text = match format {
        ReportFormat::Text => score.text(),
        ReportFormat::Json => format!("{:#}\n", score.json()),
        ReportFormat::Markdown => score.markdown(),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn version(text: &str) -> Result<Version, String> {
    text.parse().map_err(|e| format!("error: {e}"))
}

fn verdict(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one conformance subcommand; an `Err` is printed, exit status 2.
pub fn run(command: ConformanceCommand) -> Result<ExitCode, String> {
    match command {
        ConformanceCommand::Write { version: v, out } => {
            let kit = conformance::kit(&version(&v)?).map_err(|e| format!("error: {e}"))?;
            kit.write(&out)
                .map_err(|e| format!("error: cannot write {}: {e}", out.display()))?;
            println!(
                "{} probes, {} cases for ABI {v} in {}",
                kit.probes.len(),
                kit.manifest.cases.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ConformanceCommand::Run {
            version: v,
            format,
            strict,
        } => {
            let versions = match v {
                Some(v) => vec![version(&v)?],
                None => proxy_wasm_abi_spec::standard().versions,
            };
            let mut failed = false;
            for v in versions {
                let kit = conformance::kit(&v).map_err(|e| format!("error: {e}"))?;
                let score = conformance::run_on(&kit, &mut Reference::default())
                    .map_err(|e| format!("error: {e}"))?;
                print(&score, format);
                failed |= score.fails(strict);
            }
            Ok(verdict(failed))
        }
        ConformanceCommand::Score {
            manifest,
            log,
            format,
            strict,
        } => {
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path)
                    .map_err(|e| format!("error: cannot read {}: {e}", path.display()))
            };
            let manifest: score::Manifest = serde_json::from_str(&read(&manifest)?)
                .map_err(|e| format!("error: {}: not a kit manifest: {e}", manifest.display()))?;
            let text = read(&log)?;
            let lines: Vec<&str> = text.lines().collect();
            let score = score::score(&manifest, &lines);
            print(&score, format);
            Ok(verdict(score.fails(strict)))
        }
    }
}
