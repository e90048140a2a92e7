//! Scoring a host's log against a kit's manifest: per case pass, deviates,
//! trapped (the probe stopped at it) or not reached; grouped by function
//! and by kind; as text, JSON or Markdown.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::Lifecycle;
use super::cases::{Case, Kind, Provenance, Stage};
use super::probe::{CASE_PREFIX, STATUS_INFIX};

/// One case as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestCase {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// The probe file that runs it.
    pub probe: String,
    /// The call the probe makes, with its numbers.
    pub call: String,
}

/// One probe file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestProbe {
    /// E.g. `memory.wasm`.
    pub file: String,
    /// How many cases it runs.
    pub cases: usize,
}

/// `manifest.json`: what a kit holds and expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The ABI version the probes declare.
    pub version: String,
    /// How a case's log line reads.
    pub log_line: String,
    /// What the host feeds the probes, and in which order it calls them.
    pub lifecycle: Lifecycle,
    /// The probe files.
    pub probes: Vec<ManifestProbe>,
    /// Every status enum's values by name, to name what a host answered.
    pub statuses: BTreeMap<String, BTreeMap<u32, String>>,
    /// The cases, in the order each probe runs them.
    pub cases: Vec<ManifestCase>,
}

/// What a host did with one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "observed")]
pub enum Outcome {
    /// It answered the expected status.
    Pass,
    /// It answered another status.
    Deviates(u32),
    /// The probe stopped at this case (the call trapped, or the host
    /// failed the plugin): the cases before it in its callback were
    /// reported, it was not.
    Trapped,
    /// No line for the case.
    NotReached,
}

impl Outcome {
    /// A deviation: another answer, or a trap.
    pub fn deviates(self) -> bool {
        matches!(self, Outcome::Deviates(_) | Outcome::Trapped)
    }
}

/// The statuses the log reports, by case id (the first line of each).
pub fn parse_log<S: AsRef<str>>(lines: &[S]) -> HashMap<String, u32> {
    let mut seen = HashMap::new();
    for line in lines {
        let line = line.as_ref();
        let Some(at) = line.find(CASE_PREFIX) else {
            continue;
        };
        let rest = &line[at + CASE_PREFIX.len()..];
        let Some((id, status)) = rest.split_once(STATUS_INFIX) else {
            continue;
        };
        let digits: String = status.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(status) = digits.parse() {
            seen.entry(id.trim().to_string()).or_insert(status);
        }
    }
    seen
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseScore {
    /// The case.
    pub case: ManifestCase,
    /// What happened.
    pub outcome: Outcome,
}

/// A scored log.
#[derive(Debug, Clone)]
pub struct Score {
    /// The ABI version.
    pub version: String,
    /// Every case, in manifest order.
    pub cases: Vec<CaseScore>,
    statuses: BTreeMap<String, BTreeMap<u32, String>>,
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Cases.
    pub cases: usize,
    /// Passed.
    pub pass: usize,
    /// Deviated (or trapped) where the expectation is the spec's text.
    pub deviates_spec: usize,
    /// Deviated (or trapped) where it is a clarification or erratum.
    pub deviates_clarification: usize,
    /// Not reached.
    pub not_reached: usize,
}

impl Counts {
    /// The counts after the case count, in report order.
    fn columns(&self) -> [usize; 5] {
        [
            self.cases,
            self.pass,
            self.deviates_spec,
            self.deviates_clarification,
            self.not_reached,
        ]
    }

    /// One text-table row.
    fn text_row(&self, label: &str, width: usize) -> String {
        let [cases, pass, spec, clar, unreached] = self.columns();
        format!("{label:<width$} {cases:>6} {pass:>6} {spec:>6} {clar:>6} {unreached:>8}")
    }

    /// One Markdown-table row.
    fn markdown_row(&self, label: &str) -> String {
        let cells: Vec<String> = self.columns().iter().map(usize::to_string).collect();
        format!("| {label} | {} |", cells.join(" | "))
    }

    fn add(&mut self, c: &CaseScore) {
        self.cases += 1;
        match c.outcome {
            Outcome::Pass => self.pass += 1,
            Outcome::NotReached => self.not_reached += 1,
            _ if c.case.case.provenance == Provenance::Spec => self.deviates_spec += 1,
            _ => self.deviates_clarification += 1,
        }
    }
}

/// Scores `lines` (a host's log messages) against `manifest`.
pub fn score<S: AsRef<str>>(manifest: &Manifest, lines: &[S]) -> Score {
    let seen = parse_log(lines);
    let mut cases: Vec<CaseScore> = manifest
        .cases
        .iter()
        .map(|c| CaseScore {
            outcome: match seen.get(&c.case.id) {
                Some(s) if *s == c.case.expected.value => Outcome::Pass,
                Some(s) => Outcome::Deviates(*s),
                None => Outcome::NotReached,
            },
            case: c.clone(),
        })
        .collect();
    // Within one run (stage) of a probe's callback the cases run in
    // order: the first one missing after a reported one is where the
    // probe stopped.
    let mut last: HashMap<(String, String, Stage), bool> = HashMap::new();
    for c in &mut cases {
        let key = (
            c.case.probe.clone(),
            c.case.case.callback.clone(),
            c.case.case.stage,
        );
        let reported_before = last.get(&key).copied().unwrap_or(false);
        if c.outcome == Outcome::NotReached && reported_before {
            c.outcome = Outcome::Trapped;
        }
        last.insert(
            key,
            c.outcome != Outcome::NotReached && c.outcome != Outcome::Trapped,
        );
    }
    Score {
        version: manifest.version.clone(),
        cases,
        statuses: manifest.statuses.clone(),
    }
}

impl Score {
    /// Counts over every case.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        self.cases.iter().for_each(|c| counts.add(c));
        counts
    }

    /// Counts per kind.
    pub fn by_kind(&self) -> BTreeMap<Kind, Counts> {
        let mut by = BTreeMap::new();
        for c in &self.cases {
            by.entry(c.case.case.kind)
                .or_insert_with(Counts::default)
                .add(c);
        }
        by
    }

    /// Counts per function.
    pub fn by_function(&self) -> BTreeMap<String, Counts> {
        let mut by = BTreeMap::new();
        for c in &self.cases {
            by.entry(c.case.case.function.clone())
                .or_insert_with(Counts::default)
                .add(c);
        }
        by
    }

    /// The cases that deviate, spec-text ones first.
    pub fn deviations(&self) -> Vec<&CaseScore> {
        let mut d: Vec<&CaseScore> = self.cases.iter().filter(|c| c.outcome.deviates()).collect();
        d.sort_by_key(|c| c.case.case.provenance);
        d
    }

    /// Whether the host fails the kit: a deviation from the spec's text,
    /// no case reached at all, or (`strict`) any deviation or unreached case.
    pub fn fails(&self, strict: bool) -> bool {
        let c = self.counts();
        c.deviates_spec > 0
            || (c.cases > 0 && c.not_reached == c.cases)
            || (strict && (c.deviates_clarification > 0 || c.not_reached > 0))
    }

    fn name(&self, e: &str, value: u32) -> String {
        match self.statuses.get(e).and_then(|m| m.get(&value)) {
            Some(name) => format!("{name} ({value})"),
            None => format!("{value}"),
        }
    }

    fn observed(&self, c: &CaseScore) -> String {
        match c.outcome {
            Outcome::Deviates(v) => self.name(&c.case.case.expected.r#enum, v),
            Outcome::Trapped => "no line: the probe stopped here".into(),
            Outcome::Pass => self.name(&c.case.case.expected.r#enum, c.case.case.expected.value),
            Outcome::NotReached => "not reached".into(),
        }
    }

    fn expected(c: &CaseScore) -> String {
        let e = &c.case.case.expected;
        format!("{} ({})", e.name, e.value)
    }

    /// The plain-text report.
    pub fn text(&self) -> String {
        let c = self.counts();
        let mut w = String::new();
        let _ = writeln!(
            w,
            "Proxy-Wasm ABI {} conformance: {} cases, {} pass, {} deviate from the spec's text, {} from clarifications, {} not reached",
            self.version, c.cases, c.pass, c.deviates_spec, c.deviates_clarification, c.not_reached
        );
        let header = |label: &str, width: usize| {
            format!(
                "\n{label:<width$} {:>6} {:>6} {:>6} {:>6} {:>8}",
                "cases", "pass", "spec", "clar.", "unreach."
            )
        };
        let _ = writeln!(w, "{}", header("kind", 22));
        for (k, n) in self.by_kind() {
            let _ = writeln!(w, "{}", n.text_row(k.keyword(), 22));
        }
        let failing: Vec<_> = self
            .by_function()
            .into_iter()
            .filter(|(_, n)| n.pass < n.cases)
            .collect();
        if !failing.is_empty() {
            let _ = writeln!(w, "{}", header("function (not all pass)", 40));
            for (f, n) in failing {
                let _ = writeln!(w, "{}", n.text_row(&f, 40));
            }
        }
        for (title, spec) in [
            ("Deviations from the spec's text", true),
            ("Deviations from clarifications and errata", false),
        ] {
            let list: Vec<_> = self
                .deviations()
                .into_iter()
                .filter(|c| (c.case.case.provenance == Provenance::Spec) == spec)
                .collect();
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(w, "\n{title} ({}):", list.len());
            for c in list {
                let _ = writeln!(
                    w,
                    "  {}: expected {}, got {} [{} in {}]",
                    c.case.case.id,
                    Self::expected(c),
                    self.observed(c),
                    c.case.call,
                    c.case.case.callback
                );
            }
        }
        let unreached: Vec<_> = self
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::NotReached)
            .collect();
        if !unreached.is_empty() {
            let mut by_callback: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for c in &unreached {
                *by_callback
                    .entry((&c.case.probe, &c.case.case.callback))
                    .or_default() += 1;
            }
            let _ = writeln!(
                w,
                "\nNot reached ({}), by probe and callback:",
                unreached.len()
            );
            for ((p, cb), n) in by_callback {
                let _ = writeln!(w, "  {p} in {cb}: {n}");
            }
        }
        w
    }

    /// The JSON report.
    pub fn json(&self) -> serde_json::Value {
        let kinds: serde_json::Map<String, serde_json::Value> = self
            .by_kind()
            .into_iter()
            .map(|(k, n)| (k.keyword().to_string(), serde_json::json!(n)))
            .collect();
        let functions: serde_json::Map<String, serde_json::Value> = self
            .by_function()
            .into_iter()
            .map(|(f, n)| (f, serde_json::json!(n)))
            .collect();
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|c| {
                let (outcome, observed) = match c.outcome {
                    Outcome::Pass => ("pass", Some(c.case.case.expected.value)),
                    Outcome::Deviates(v) => ("deviates", Some(v)),
                    Outcome::Trapped => ("trapped", None),
                    Outcome::NotReached => ("not_reached", None),
                };
                serde_json::json!({
                    "id": c.case.case.id,
                    "function": c.case.case.function,
                    "kind": c.case.case.kind.keyword(),
                    "provenance": c.case.case.provenance.keyword(),
                    "expected": c.case.case.expected.value,
                    "expected_name": c.case.case.expected.name,
                    "outcome": outcome,
                    "observed": observed,
                })
            })
            .collect();
        serde_json::json!({
            "version": self.version,
            "summary": self.counts(),
            "by_kind": kinds,
            "by_function": functions,
            "cases": cases,
        })
    }

    /// The Markdown report, for a CI page.
    pub fn markdown(&self) -> String {
        let c = self.counts();
        let mut w = String::new();
        let verdict = if self.fails(false) { "fails" } else { "passes" };
        let _ = writeln!(
            w,
            "# Proxy-Wasm ABI {} conformance: {verdict}\n",
            self.version
        );
        let _ = writeln!(
            w,
            "{} cases: **{} pass**, {} deviate from the spec's text, {} from clarifications, {} not reached.\n",
            c.cases, c.pass, c.deviates_spec, c.deviates_clarification, c.not_reached
        );
        let columns = "| cases | pass | deviate (spec) | deviate (clarification) | not reached |";
        let rule = "|---|---:|---:|---:|---:|---:|";
        let _ = writeln!(w, "| kind {columns}\n{rule}");
        for (k, n) in self.by_kind() {
            let _ = writeln!(w, "{}", n.markdown_row(k.keyword()));
        }
        let _ = writeln!(w, "\n| function {columns}\n{rule}");
        for (f, n) in self.by_function() {
            let _ = writeln!(w, "{}", n.markdown_row(&format!("`{f}`")));
        }
        let deviations = self.deviations();
        if !deviations.is_empty() {
            let _ = writeln!(w, "\n## Deviations\n");
            let _ = writeln!(w, "| case | provenance | expected | got |");
            let _ = writeln!(w, "|---|---|---|---|");
            for d in deviations {
                let _ = writeln!(
                    w,
                    "| `{}` | {} | {} | {} |",
                    d.case.case.id,
                    d.case.case.provenance.keyword(),
                    Self::expected(d),
                    self.observed(d)
                );
            }
        }
        w
    }
}
