//! What changed between two versions: functions, their wasm parameters and
//! results, their statuses, enums and enum values.

use std::fmt;

use proxy_wasm_abi_spec::ir::{AbiVersion, Function, Version};
use proxy_wasm_abi_spec::lower::{WasmValue, lower};

/// One difference between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A function exists only in the newer version.
    FunctionAdded {
        /// Qualified name.
        function: String,
        /// Its wasm signature, e.g. `(i32 return_log_level) -> i32 status`.
        signature: String,
    },
    /// A function exists only in the older version.
    FunctionRemoved {
        /// Qualified name.
        function: String,
    },
    /// A wasm parameter was added.
    ParamAdded {
        /// Qualified function name.
        function: String,
        /// `end_of_stream i32 bool`.
        param: String,
    },
    /// A wasm parameter was removed.
    ParamRemoved {
        /// Qualified function name.
        function: String,
        /// `unused i32 uint32_t`.
        param: String,
    },
    /// A wasm parameter kept its name but changed its type.
    ParamChanged {
        /// Qualified function name.
        function: String,
        /// Before.
        before: String,
        /// After.
        after: String,
    },
    /// The results changed.
    ResultChanged {
        /// Qualified function name.
        function: String,
        /// Before, e.g. `none`.
        before: String,
        /// After.
        after: String,
    },
    /// A status (or other outcome) became possible.
    StatusAdded {
        /// Qualified function name.
        function: String,
        /// E.g. `NOT_FOUND`.
        status: String,
    },
    /// A status is no longer listed.
    StatusRemoved {
        /// Qualified function name.
        function: String,
        /// E.g. `NOT_FOUND`.
        status: String,
    },
    /// A function became deprecated.
    Deprecated {
        /// Qualified function name.
        function: String,
    },
    /// An enum exists only in the newer version.
    EnumAdded {
        /// Enum name.
        name: String,
    },
    /// An enum exists only in the older version.
    EnumRemoved {
        /// Enum name.
        name: String,
    },
    /// An enum gained a value.
    ValueAdded {
        /// Enum name.
        name: String,
        /// `VM_CONFIGURATION = 6`.
        value: String,
    },
    /// An enum lost a value.
    ValueRemoved {
        /// Enum name.
        name: String,
        /// `X = 1`.
        value: String,
    },
}

impl Change {
    /// The kind of change and the item it is about, for tables.
    pub fn columns(&self) -> (&'static str, String, String) {
        match self {
            Change::FunctionAdded {
                function,
                signature,
            } => ("function added", function.clone(), signature.clone()),
            Change::FunctionRemoved { function } => {
                ("function removed", function.clone(), String::new())
            }
            Change::ParamAdded { function, param } => {
                ("parameter added", function.clone(), param.clone())
            }
            Change::ParamRemoved { function, param } => {
                ("parameter removed", function.clone(), param.clone())
            }
            Change::ParamChanged {
                function,
                before,
                after,
            } => (
                "parameter changed",
                function.clone(),
                format!("{before} → {after}"),
            ),
            Change::ResultChanged {
                function,
                before,
                after,
            } => (
                "result changed",
                function.clone(),
                format!("{before} → {after}"),
            ),
            Change::StatusAdded { function, status } => {
                ("status added", function.clone(), status.clone())
            }
            Change::StatusRemoved { function, status } => {
                ("status removed", function.clone(), status.clone())
            }
            Change::Deprecated { function } => ("deprecated", function.clone(), String::new()),
            Change::EnumAdded { name } => ("enum added", name.clone(), String::new()),
            Change::EnumRemoved { name } => ("enum removed", name.clone(), String::new()),
            Change::ValueAdded { name, value } => ("value added", name.clone(), value.clone()),
            Change::ValueRemoved { name, value } => ("value removed", name.clone(), value.clone()),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, item, details) = self.columns();
        if details.is_empty() {
            write!(f, "{kind}: {item}")
        } else {
            write!(f, "{kind}: {item}: {details}")
        }
    }
}

/// All differences from one version to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiDiff {
    /// The older version.
    pub from: Version,
    /// The newer version.
    pub to: Version,
    /// Changes in description order.
    pub changes: Vec<Change>,
}

fn value_text(v: &WasmValue) -> String {
    format!("{} {} {}", v.name, v.wasm, v.c_type)
}

fn values_text(values: &[WasmValue]) -> String {
    if values.is_empty() {
        "none".to_string()
    } else {
        values.iter().map(value_text).collect::<Vec<_>>().join(", ")
    }
}

/// The wasm signature of a function as one line: `(i32 a, i32 b) -> i32 status`.
pub fn signature_text(f: &Function) -> String {
    let sig = lower(f);
    let params: Vec<String> = sig
        .params
        .iter()
        .map(|v| format!("{} {}", v.wasm, v.name))
        .collect();
    let mut text = format!("({})", params.join(", "));
    if let Some(r) = sig.results.first() {
        text.push_str(&format!(" -> {} {}", r.wasm, r.name));
    }
    text
}

/// A function's identity across versions: the marker is one function whose
/// name changes with the version.
fn identity(f: &Function) -> String {
    if f.is_marker {
        "<marker>".to_string()
    } else {
        f.qualified_name()
    }
}

fn compare_functions(old: &Function, new: &Function, changes: &mut Vec<Change>) {
    let name = new.qualified_name();
    if old.is_marker {
        if old.name != new.name {
            changes.push(Change::FunctionRemoved {
                function: old.name.clone(),
            });
            changes.push(Change::FunctionAdded {
                function: new.name.clone(),
                signature: signature_text(new),
            });
        }
        return;
    }
    let (before, after) = (lower(old), lower(new));
    for p in &before.params {
        match after.params.iter().find(|q| q.name == p.name) {
            None => changes.push(Change::ParamRemoved {
                function: name.clone(),
                param: value_text(p),
            }),
            Some(q) if q != p => changes.push(Change::ParamChanged {
                function: name.clone(),
                before: value_text(p),
                after: value_text(q),
            }),
            Some(_) => {}
        }
    }
    for q in &after.params {
        if !before.params.iter().any(|p| p.name == q.name) {
            changes.push(Change::ParamAdded {
                function: name.clone(),
                param: value_text(q),
            });
        }
    }
    if before.results != after.results {
        changes.push(Change::ResultChanged {
            function: name.clone(),
            before: values_text(&before.results),
            after: values_text(&after.results),
        });
    }
    for o in &old.outcomes {
        if !new
            .outcomes
            .iter()
            .any(|n| n.value.name() == o.value.name())
        {
            changes.push(Change::StatusRemoved {
                function: name.clone(),
                status: o.value.name().to_string(),
            });
        }
    }
    for n in &new.outcomes {
        if !old
            .outcomes
            .iter()
            .any(|o| o.value.name() == n.value.name())
        {
            changes.push(Change::StatusAdded {
                function: name.clone(),
                status: n.value.name().to_string(),
            });
        }
    }
    if old.deprecated.is_none() && new.deprecated.is_some() {
        changes.push(Change::Deprecated { function: name });
    }
}

/// Compares two materialized versions.
pub fn diff(from: &AbiVersion, to: &AbiVersion) -> AbiDiff {
    let mut changes = Vec::new();
    for old in &from.functions {
        match to.functions.iter().find(|n| identity(n) == identity(old)) {
            Some(new) => compare_functions(old, new, &mut changes),
            None => changes.push(Change::FunctionRemoved {
                function: old.qualified_name(),
            }),
        }
    }
    for new in &to.functions {
        if !from.functions.iter().any(|o| identity(o) == identity(new)) {
            changes.push(Change::FunctionAdded {
                function: new.qualified_name(),
                signature: signature_text(new),
            });
        }
    }
    for old in &from.enums {
        let Some(new) = to.enum_named(&old.name) else {
            changes.push(Change::EnumRemoved {
                name: old.name.clone(),
            });
            continue;
        };
        for v in &old.variants {
            if !new
                .variants
                .iter()
                .any(|w| w.name == v.name && w.value == v.value)
            {
                changes.push(Change::ValueRemoved {
                    name: old.name.clone(),
                    value: format!("{} = {}", v.name, v.value),
                });
            }
        }
        for w in &new.variants {
            if !old
                .variants
                .iter()
                .any(|v| v.name == w.name && v.value == w.value)
            {
                changes.push(Change::ValueAdded {
                    name: new.name.clone(),
                    value: format!("{} = {}", w.name, w.value),
                });
            }
        }
    }
    for new in &to.enums {
        if from.enum_named(&new.name).is_none() {
            changes.push(Change::EnumAdded {
                name: new.name.clone(),
            });
            for w in &new.variants {
                changes.push(Change::ValueAdded {
                    name: new.name.clone(),
                    value: format!("{} = {}", w.name, w.value),
                });
            }
        }
    }
    AbiDiff {
        from: from.version,
        to: to.version,
        changes,
    }
}

impl fmt::Display for AbiDiff {
    /// One change per line, or a line saying there are none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Changes from {} to {}: {}",
            self.from,
            self.to,
            self.changes.len()
        )?;
        for change in &self.changes {
            writeln!(f, "  {change}")?;
        }
        Ok(())
    }
}
