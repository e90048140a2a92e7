//! The one way in: loading a description, and finding a version in it.
//!
//! Every front end (the command line, the build-script `Builder`, the
//! macros, the checks, the linter) loads its description with
//! [`Description`] and resolves version strings with [`Abi::version`] and
//! its siblings, so each kind of mistake is worded once: a [`LoadError`] or
//! a [`VersionError`]. Each front end only chooses how to present it.
//!
//! ```
//! use proxy_wasm_abi_spec::{Description, VersionError};
//!
//! let description = Description::standard();
//! assert_eq!(description.name, "abi-spec/proxy-wasm.abi");
//! let v = description.abi.version("0.2.1").unwrap();
//! assert!(v.function("proxy_log").is_some());
//! assert!(matches!(
//!     description.abi.version("0.9.0"),
//!     Err(VersionError::NotDeclared { .. })
//! ));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostics;
use crate::ir::{Abi, AbiVersion, Version};

/// Where a description comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DescriptionSource<'a> {
    /// The standard description embedded in this crate
    /// ([`STANDARD_TEXT`](crate::STANDARD_TEXT)), named
    /// [`STANDARD_PATH`](crate::STANDARD_PATH) in messages.
    #[default]
    Standard,
    /// A description file, named by its path in messages.
    File(&'a Path),
}

impl<'a> DescriptionSource<'a> {
    /// The file if one is given, else the standard description: the shape
    /// of a `--spec FILE` flag or a builder's optional description.
    pub fn file_or_standard(file: Option<&'a Path>) -> Self {
        file.map_or(DescriptionSource::Standard, DescriptionSource::File)
    }
}

/// A parsed and validated description, with the name its messages and
/// generated files call it by.
#[derive(Debug, Clone)]
pub struct Description {
    /// The validated model.
    pub abi: Abi,
    /// The name the description goes by in messages and generated files:
    /// [`STANDARD_PATH`](crate::STANDARD_PATH) for the standard one, else the
    /// file's name as given.
    pub name: String,
}

impl Description {
    /// Loads the description `source` names.
    pub fn load(source: DescriptionSource<'_>) -> Result<Self, LoadError> {
        match source {
            DescriptionSource::Standard => Ok(Self::standard()),
            DescriptionSource::File(path) => Self::from_file(path),
        }
    }

    /// The standard description, named
    /// [`STANDARD_PATH`](crate::STANDARD_PATH).
    ///
    /// It is checked by this crate's tests, so this does not fail (see
    /// [`standard`](crate::standard)).
    pub fn standard() -> Self {
        Description {
            abi: crate::standard(),
            name: crate::STANDARD_PATH.to_string(),
        }
    }

    /// Reads and parses a description file, named by `path` as given.
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        Self::from_file_named(path, path.display().to_string())
    }

    /// Reads and parses the description at `path`, naming it `name` in its
    /// diagnostics and generated files: e.g. the path relative to a crate,
    /// when `path` is that crate's directory joined with it.
    pub fn from_file_named(path: &Path, name: impl Into<String>) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let name = name.into();
        let abi = crate::parse(&name, &text).map_err(LoadError::Description)?;
        Ok(Description { abi, name })
    }
}

/// Why a description could not be loaded.
///
/// Its `Display` is the whole report as a terminal shows it, each problem
/// starting with `error: `; [`LoadError::message`] is the same without the
/// first `error: `, for a caller that adds its own (a compiler diagnostic).
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Read {
        /// The path that was read.
        path: PathBuf,
        /// Why it could not be.
        error: std::io::Error,
    },
    /// The description has errors, each with its file:line:column.
    Description(Diagnostics),
}

impl LoadError {
    /// The report without its leading `error: `.
    pub fn message(&self) -> String {
        let report = self.to_string();
        match report.strip_prefix("error: ") {
            Some(rest) => rest.to_string(),
            None => report,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { path, error } => {
                write!(f, "error: cannot read {}: {error}", path.display())
            }
            LoadError::Description(diagnostics) => write!(f, "{diagnostics}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Read { error, .. } => Some(error),
            LoadError::Description(diagnostics) => Some(diagnostics),
        }
    }
}

/// Why a version string does not name a version of a description. Its
/// `Display` is one line, without an `error: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// The text is not three numbers, e.g. `latest`; the message says why.
    NotAVersion(String),
    /// A version the description does not declare.
    NotDeclared {
        /// The ABI's name, e.g. `proxy_wasm`.
        abi: String,
        /// The version asked for.
        requested: Version,
        /// The versions the description declares, oldest first.
        declared: Vec<Version>,
    },
    /// The description declares no version at all.
    NoVersions {
        /// The ABI's name.
        abi: String,
    },
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionError::NotAVersion(why) => f.write_str(why),
            VersionError::NotDeclared {
                abi,
                requested,
                declared,
            } => {
                let declared: Vec<String> = declared.iter().map(|v| format!("`{v}`")).collect();
                write!(
                    f,
                    "`{abi}` has no version `{requested}` (it has {})",
                    declared.join(", ")
                )
            }
            VersionError::NoVersions { abi } => write!(f, "`{abi}` declares no version"),
        }
    }
}

impl std::error::Error for VersionError {}

impl Abi {
    /// `version` itself if the description declares it.
    pub fn check_version(&self, version: Version) -> Result<Version, VersionError> {
        if self.versions.contains(&version) {
            Ok(version)
        } else {
            Err(VersionError::NotDeclared {
                abi: self.name.clone(),
                requested: version,
                declared: self.versions.clone(),
            })
        }
    }

    /// The declared version `text` names, e.g. `"0.2.1"` (or `"v0.2.1"`).
    pub fn declared_version(&self, text: &str) -> Result<Version, VersionError> {
        let version: Version = text.parse().map_err(VersionError::NotAVersion)?;
        self.check_version(version)
    }

    /// The newest declared version.
    pub fn latest_declared(&self) -> Result<Version, VersionError> {
        self.latest().ok_or_else(|| VersionError::NoVersions {
            abi: self.name.clone(),
        })
    }

    /// The version `text` names, materialized.
    pub fn version(&self, text: &str) -> Result<AbiVersion, VersionError> {
        let version = self.declared_version(text)?;
        Ok(self.materialize(version))
    }

    /// The newest declared version, materialized.
    pub fn latest_version(&self) -> Result<AbiVersion, VersionError> {
        let version = self.latest_declared()?;
        Ok(self.materialize(version))
    }

    /// The version `text` names, or the newest when there is no text: the
    /// shape of an optional `version` option.
    pub fn version_or_latest(&self, text: Option<&str>) -> Result<AbiVersion, VersionError> {
        match text {
            Some(text) => self.version(text),
            None => self.latest_version(),
        }
    }

    fn materialize(&self, version: Version) -> AbiVersion {
        self.at(version)
            .expect("a declared version always materializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "proxy-wasm-abi-spec-load-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn the_standard_description_is_named_by_its_path() {
        let standard = Description::load(DescriptionSource::Standard).unwrap();
        assert_eq!(standard.name, crate::STANDARD_PATH);
        assert_eq!(standard.abi.name, "proxy_wasm");
        assert_eq!(
            DescriptionSource::file_or_standard(None),
            DescriptionSource::Standard
        );
    }

    #[test]
    fn a_missing_file_is_a_read_error_naming_it() {
        let path = temp_dir("missing").join("no-such-file.abi");
        let error = Description::load(DescriptionSource::File(&path)).unwrap_err();
        assert!(matches!(&error, LoadError::Read { path: p, .. } if *p == path));
        let report = error.to_string();
        assert!(
            report.starts_with(&format!("error: cannot read {}: ", path.display())),
            "{report}"
        );
        assert!(!report.contains('\n'), "{report}");
        assert_eq!(
            error.message(),
            report.strip_prefix("error: ").unwrap(),
            "{report}"
        );
    }

    #[test]
    fn description_errors_carry_file_line_column() {
        let dir = temp_dir("broken");
        let path = dir.join("mine.abi");
        std::fs::write(
            &path,
            "abi mine {\n    versions 1.0.0;\n}\nsection s \"S\" {\n    hostcall f(x: u33);\n}\n",
        )
        .unwrap();
        let error = Description::from_file(&path).unwrap_err();
        let LoadError::Description(diagnostics) = &error else {
            panic!("expected description errors: {error}");
        };
        assert_eq!(diagnostics.0.len(), 1);
        let report = error.to_string();
        assert!(report.starts_with("error: unknown type `u33`"), "{report}");
        assert!(
            report.contains(&format!("--> {}:5:19", path.display())),
            "{report}"
        );
        assert!(error.message().starts_with("unknown type `u33`"));

        // Named as the caller says: a crate-relative name, not the full path.
        let named = Description::from_file_named(&path, "mine.abi").unwrap_err();
        assert!(named.to_string().contains("--> mine.abi:5:19"), "{named}");
    }

    #[test]
    fn an_extension_file_loads_on_top_of_the_standard() {
        let dir = temp_dir("extends");
        let path = dir.join("extras.abi");
        std::fs::write(
            &path,
            "abi extras {\n    extends proxy_wasm 0.2.1;\n}\n\
             section extras \"Extras\" {\n    hostcall proxy_extra(value: u32);\n}\n",
        )
        .unwrap();
        let description =
            Description::load(DescriptionSource::file_or_standard(Some(&path))).unwrap();
        assert_eq!(description.name, path.display().to_string());
        assert_eq!(description.abi.name, "extras");
        assert_eq!(description.abi.versions, vec![v("0.2.1")]);
        let latest = description.abi.latest_version().unwrap();
        assert_eq!(latest.version, v("0.2.1"));
        assert!(latest.function("proxy_extra").is_some());
        assert!(latest.function("proxy_log").is_some());
        assert_eq!(
            description.abi.version("0.2.0").unwrap_err().to_string(),
            "`extras` has no version `0.2.0` (it has `0.2.1`)"
        );
    }

    #[test]
    fn versions_are_found_by_text() {
        let abi = crate::standard();
        assert_eq!(abi.version("0.2.0").unwrap().version, v("0.2.0"));
        assert_eq!(abi.version("v0.1.0").unwrap().version, v("0.1.0"));
        assert_eq!(abi.declared_version("0.2.1"), Ok(v("0.2.1")));
        assert_eq!(abi.check_version(v("0.2.1")), Ok(v("0.2.1")));
        assert_eq!(abi.latest_version().unwrap().version, v("0.2.1"));
        assert_eq!(abi.latest_declared(), Ok(v("0.2.1")));
        assert_eq!(
            abi.version_or_latest(None).unwrap().version,
            abi.latest().unwrap()
        );
        assert_eq!(
            abi.version_or_latest(Some("0.1.0")).unwrap().version,
            v("0.1.0")
        );
    }

    #[test]
    fn an_undeclared_version_lists_the_declared_ones() {
        let abi = crate::standard();
        let error = abi.version("0.9.0").unwrap_err();
        assert_eq!(
            error,
            VersionError::NotDeclared {
                abi: "proxy_wasm".to_string(),
                requested: v("0.9.0"),
                declared: abi.versions.clone(),
            }
        );
        assert_eq!(
            error.to_string(),
            "`proxy_wasm` has no version `0.9.0` (it has `0.1.0`, `0.2.0`, `0.2.1`)"
        );
        assert_eq!(abi.check_version(v("0.9.0")).unwrap_err(), error);
        assert_eq!(abi.version_or_latest(Some("0.9.0")).unwrap_err(), error);
    }

    #[test]
    fn text_that_is_not_a_version_says_so() {
        let abi = crate::standard();
        assert_eq!(
            abi.version("latest").unwrap_err().to_string(),
            "`latest` is not a version: expected three numbers like `0.2.1`"
        );
        assert_eq!(
            abi.declared_version("0.x.1").unwrap_err().to_string(),
            "`0.x.1` is not a version: `x` is not a number"
        );
        assert!(matches!(
            abi.version_or_latest(Some("")),
            Err(VersionError::NotAVersion(_))
        ));
    }

    #[test]
    fn a_description_without_versions_has_no_latest() {
        let mut abi = crate::standard();
        abi.versions.clear();
        let error = abi.latest_version().unwrap_err();
        assert_eq!(
            error,
            VersionError::NoVersions {
                abi: "proxy_wasm".to_string()
            }
        );
        assert_eq!(error.to_string(), "`proxy_wasm` declares no version");
        assert_eq!(abi.version_or_latest(None).unwrap_err(), error);
    }
}
