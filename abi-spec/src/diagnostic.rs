//! Locations in a description file, and the errors that point at them.

use std::fmt;
use std::sync::Arc;

/// A source file: its path as given by the caller and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path shown in messages, e.g. `abi-spec/proxy-wasm.abi`.
    pub path: String,
    /// The full text of the file.
    pub text: String,
    /// Byte offset of the start of each line, so positions are found by
    /// binary search instead of rescanning the text for every location.
    line_starts: Vec<usize>,
}

impl Source {
    /// A source with its line index built.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The 1-based line and column (in characters, as editors count) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset);
        let line_index = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line_index + 1, column)
    }

    /// The text of the 1-based line `line`, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        self.text[*start..end].trim_end_matches('\r')
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A byte range in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Where an item of the description was written: `proxy-wasm.abi:120:5`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file path as given to the parser.
    pub path: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

/// One problem found in a description, with the place it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, e.g. "unknown type `u33`".
    pub message: String,
    /// Where it is.
    pub location: Location,
    /// How many characters the caret underline covers (at least 1).
    pub width: usize,
    /// The source line at `location`, kept so the report can be rendered later.
    pub line_text: String,
    /// A second place that explains the first, e.g. "first defined here".
    /// Boxed: most diagnostics have none, and it keeps `Result`s small.
    pub related: Option<Box<(String, Location)>>,
}

impl Diagnostic {
    /// An error at `span` of `source`.
    pub fn new(source: &Source, span: Span, message: impl Into<String>) -> Self {
        let (line, column) = source.line_col(span.start);
        let line_text = source.line_text(line).to_string();
        let rest = line_text.chars().count().saturating_sub(column - 1);
        let spanned = source
            .text
            .get(span.start..span.end.max(span.start))
            .map_or(1, |s| s.split('\n').next().unwrap_or("").chars().count());
        Diagnostic {
            message: message.into(),
            location: Location {
                path: Arc::from(source.path.as_str()),
                line,
                column,
            },
            width: spanned.clamp(1, rest.max(1)),
            line_text,
            related: None,
        }
    }

    /// Adds a second location with its own label.
    pub fn with_related(mut self, label: impl Into<String>, location: Location) -> Self {
        self.related = Some(Box::new((label.into(), location)));
        self
    }
}

impl fmt::Display for Diagnostic {
    /// Renders `error: message`, the `--> file:line:col` pointer, the source
    /// line and a caret under the offending text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = self.location.line.to_string().len();
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "{:gutter$}--> {}", "", self.location)?;
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.location.line, self.line_text)?;
        let indent: String = self
            .line_text
            .chars()
            .take(self.location.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{:gutter$} | {indent}{}", "", "^".repeat(self.width))?;
        if let Some((label, location)) = self.related.as_deref() {
            write!(f, "\n{:gutter$} = note: {label} at {location}", "")?;
        }
        Ok(())
    }
}

/// Every problem found in one parse: parsing and validation collect them all
/// rather than stopping at the first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Records one more problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded problems, in source order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n\nerror: {} problems found", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
