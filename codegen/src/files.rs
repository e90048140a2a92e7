//! The files under `generated/`: what they should contain, writing them, and
//! checking that the checked-in copies are current.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use proxy_wasm_abi_spec::ir::Abi;

use crate::rust::RuntimePath;
use crate::{c, diff, guest, host, json, markdown};

/// One generated file, with its path relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// E.g. `json/v0.2.1.json`.
    pub path: PathBuf,
    /// Full contents.
    pub contents: String,
}

/// Every file the generator produces for `abi`. `source` names the
/// description in the "do not edit" notices.
pub fn outputs(abi: &Abi, source: &str) -> Vec<GeneratedFile> {
    let mut files = Vec::new();
    let mut index = format!(
        "<!-- {} -->\n\n# Generated files\n\nEverything in this directory is produced from `{source}`; \
         `cargo test` fails when a file here is out of date.\n\n| Version | JSON | Markdown | Rust guest bindings | Rust host bindings (wasmtime) | C header |\n|---|---|---|---|---|---|\n",
        crate::generated_notice(source)
    );
    let mut previous = None;
    for version in &abi.versions {
        let Some(this) = abi.at(*version) else {
            continue;
        };
        let changes = previous.as_ref().map(|p| diff::diff(p, &this));
        let json_path = format!("json/v{version}.json");
        let md_path = format!("markdown/v{version}.md");
        let stem = format!("v{}", version.to_string().replace('.', "_"));
        let guest_path = format!("rust/guest/{stem}.rs");
        let host_path = format!("rust/host/{stem}.rs");
        let c_path = c::path(*version);
        index.push_str(&format!(
            "| {version} | [{json_path}]({json_path}) | [{md_path}]({md_path}) | \
             [{guest_path}]({guest_path}) | [{host_path}]({host_path}) | [{c_path}]({c_path}) |\n"
        ));
        // A version whose bindings cannot be emitted is reported in the file
        // itself, so `check` names it instead of the generator panicking.
        let or_error = |result: Result<String, String>| {
            result.unwrap_or_else(|e| {
                format!(
                    "// {}\ncompile_error!(\"{}\");\n",
                    crate::generated_notice(source),
                    e.escape_default()
                )
            })
        };
        files.push(GeneratedFile {
            path: guest_path.into(),
            contents: or_error(guest::file(&this, source, &RuntimePath::default())),
        });
        files.push(GeneratedFile {
            path: host_path.into(),
            contents: or_error(host::file(&this, source, &RuntimePath::default())),
        });
        files.push(GeneratedFile {
            path: c_path.into(),
            contents: c::header(&this, source).unwrap_or_else(|e| {
                format!(
                    "/* {} */\n#error \"{}\"\n",
                    crate::generated_notice(source),
                    e.escape_default()
                )
            }),
        });
        files.push(GeneratedFile {
            path: json_path.into(),
            contents: json::render(&this, source),
        });
        files.push(GeneratedFile {
            path: md_path.into(),
            contents: markdown::render(&this, changes.as_ref(), source),
        });
        previous = Some(this);
    }
    files.push(GeneratedFile {
        path: "README.md".into(),
        contents: index,
    });
    files
}

/// Why a checked-in generated file does not match the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The generator produces it but it is not on disk.
    Missing(PathBuf),
    /// It is on disk with different contents.
    Differs(PathBuf),
    /// It is on disk but the generator no longer produces it.
    Extra(PathBuf),
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::Missing(p) => write!(f, "missing: {}", p.display()),
            Stale::Differs(p) => write!(f, "out of date: {}", p.display()),
            Stale::Extra(p) => write!(f, "no longer generated: {}", p.display()),
        }
    }
}

/// Line endings are normalized so a checkout with CRLF is not "stale".
fn normalized(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Every file below `dir`, relative to it, sorted.
fn files_below(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Compares `dir` with what the generator produces; empty means current.
pub fn check(expected: &[GeneratedFile], dir: &Path) -> io::Result<Vec<Stale>> {
    let mut stale = Vec::new();
    for file in expected {
        match fs::read_to_string(dir.join(&file.path)) {
            Ok(on_disk) if normalized(&on_disk) == normalized(&file.contents) => {}
            Ok(_) => stale.push(Stale::Differs(file.path.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                stale.push(Stale::Missing(file.path.clone()))
            }
            Err(e) => return Err(e),
        }
    }
    for path in files_below(dir)? {
        if !expected.iter().any(|f| f.path == path) {
            stale.push(Stale::Extra(path));
        }
    }
    Ok(stale)
}

/// Writes every file into `dir` and removes files the generator no longer
/// produces. Returns the paths whose contents changed.
pub fn write(expected: &[GeneratedFile], dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    for stale in check(expected, dir)? {
        match stale {
            Stale::Missing(path) | Stale::Differs(path) => {
                let target = dir.join(&path);
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                let contents = expected
                    .iter()
                    .find(|f| f.path == path)
                    .map_or("", |f| f.contents.as_str());
                fs::write(&target, contents)?;
                changed.push(path);
            }
            Stale::Extra(path) => {
                fs::remove_file(dir.join(&path))?;
                changed.push(path);
            }
        }
    }
    Ok(changed)
}
