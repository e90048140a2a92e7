//! The materialized ABI of one version as JSON: every function lowered to its
//! wasm signature, with statuses, enums, formats, properties and access rules.
//!
//! Access data on functions, parameters and enum values (`forbidden`,
//! `access`, `resumes`, `context`) is present only where the description
//! sets it.

use proxy_wasm_abi_spec::ir::{
    AbiVersion, AccessRule, CallbackRef, Function, Grant, Meta, Note, Param, Subject, Variant,
};
use proxy_wasm_abi_spec::lower::{WasmValue, lower};
use serde_json::{Value, json};

fn wasm_values(values: &[WasmValue]) -> Value {
    values
        .iter()
        .map(|v| json!({"name": v.name, "wasm": v.wasm.keyword(), "c_type": v.c_type}))
        .collect()
}

fn notes(notes: &[Note]) -> Value {
    notes
        .iter()
        .map(|n| json!({"kind": n.kind.keyword(), "text": n.text}))
        .collect()
}

fn docs(meta: &Meta) -> Value {
    if meta.docs.is_empty() {
        Value::Null
    } else {
        Value::String(meta.docs.clone())
    }
}

/// Adds `key: value` to a JSON object built with `json!`.
fn insert(object: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = object {
        map.insert(key.to_string(), value);
    }
}

fn semantic_param(p: &Param) -> Value {
    let mut value = json!({
        "name": p.name,
        "type": p.ty.keyword(),
        "out": p.out,
        "unused": p.unused,
    });
    if let Some(level) = p.access {
        insert(&mut value, "access", json!(level.keyword()));
    }
    if p.resumes {
        insert(&mut value, "resumes", json!(true));
    }
    value
}

/// The names a `@resumes(...)` list gives, in order.
fn callback_names(callbacks: &[CallbackRef]) -> Vec<&str> {
    callbacks.iter().map(CallbackRef::name).collect()
}

fn variant(v: &Variant) -> Value {
    let mut value = json!({"name": v.name, "value": v.value, "docs": docs(&v.meta)});
    if !v.resumes.is_empty() {
        insert(&mut value, "resumes", json!(callback_names(&v.resumes)));
    }
    if let Some(role) = v.role {
        insert(&mut value, "role", json!(role.keyword()));
    }
    value
}

fn grant(g: &Grant) -> Value {
    let places: Vec<Value> = g
        .places
        .iter()
        .map(|p| json!({"kind": p.keyword(), "callback": p.callback()}))
        .collect();
    json!({
        "level": g.level.keyword(),
        "places": places,
        "when": g.when,
        "docs": docs(&g.meta),
        "notes": notes(&g.meta.notes),
    })
}

fn access_rule(r: &AccessRule) -> Value {
    let subject = match &r.subject {
        Subject::Variant { enum_name, variant } => json!({"enum": enum_name, "variant": variant}),
        Subject::Function(name) => json!({"function": name}),
    };
    json!({
        "subject": subject,
        "grants": r.grants.iter().map(grant).collect::<Vec<_>>(),
        "docs": docs(&r.meta),
        "notes": notes(&r.meta.notes),
    })
}

fn function(f: &Function) -> Value {
    let sig = lower(f);
    let statuses: Vec<&str> = if f.is_host() {
        f.outcomes.iter().map(|o| o.value.name()).collect()
    } else {
        Vec::new()
    };
    let mut value = json!({
        "name": f.name,
        "module": f.module(),
        "kind": if f.is_host() { "host" } else { "callback" },
        "section": f.section,
        "params": wasm_values(&sig.params),
        "results": wasm_values(&sig.results),
        "statuses": statuses,
        "outcomes": f.outcomes.iter().map(|o| json!({"value": o.value.name(), "when": o.text})).collect::<Vec<_>>(),
        "semantic_params": f.params.iter().map(semantic_param).collect::<Vec<_>>(),
        "deprecated": f.deprecated.is_some(),
        "replacement": f.deprecated.as_ref().and_then(|d| d.replacement.clone()),
        "optional": f.optional,
        "docs": docs(&f.meta),
        "notes": notes(&f.meta.notes),
    });
    if let Some(status) = &f.forbidden {
        insert(&mut value, "forbidden", json!(status.name()));
    }
    if !f.resumes.is_empty() {
        insert(&mut value, "resumes", json!(callback_names(&f.resumes)));
    }
    if let Some(effect) = f.context_effect {
        insert(&mut value, "context", json!(effect.keyword()));
    }
    if let Some(role) = f.role {
        insert(&mut value, "role", json!(role.keyword()));
    }
    value
}

/// The JSON document for one version.
pub fn document(abi: &AbiVersion, source: &str) -> Value {
    json!({
        "_generated": crate::generated_notice(source),
        "abi": abi.name.replace('_', "-"),
        "version": abi.version.to_string(),
        "functions": abi.functions.iter().map(function).collect::<Vec<_>>(),
        "enums": abi.enums.iter().map(|e| json!({
            "name": e.name,
            "variants": e.variants.iter().map(variant).collect::<Vec<_>>(),
            "docs": docs(&e.meta),
            "notes": notes(&e.meta.notes),
        })).collect::<Vec<_>>(),
        "formats": abi.formats.iter().map(|f| json!({
            "name": f.name,
            "fields": f.fields.iter().map(|x| json!({"name": x.name, "layout": x.layout, "docs": docs(&x.meta)})).collect::<Vec<_>>(),
            "docs": docs(&f.meta),
            "notes": notes(&f.meta.notes),
        })).collect::<Vec<_>>(),
        "properties": abi.properties.iter().map(|p| json!({
            "path": p.path,
            "type": p.ty.keyword(),
            "docs": docs(&p.meta),
        })).collect::<Vec<_>>(),
        "access": abi.access.iter().map(access_rule).collect::<Vec<_>>(),
    })
}

/// The JSON document as pretty-printed text with a final newline.
pub fn render(abi: &AbiVersion, source: &str) -> String {
    let mut text = serde_json::to_string_pretty(&document(abi, source))
        .expect("a serde_json::Value always serializes");
    text.push('\n');
    text
}
