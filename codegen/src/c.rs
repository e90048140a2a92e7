//! A C header of one ABI version, for plugins written in C (or anything that
//! links C declarations) and compiled for `wasm32`.
//!
//! The header holds:
//! - a `typedef uint32_t <enum>;` per enum with one `#define` per value,
//!   named `<ENUM WITHOUT _t, UPPER CASE>_<VARIANT>` (`PROXY_STATUS_OK`,
//!   `WASI_ERRNO_BADF`);
//! - `wasi_iovec_array_t`, the WASI iovec array type;
//! - one import prototype per host function, with `import_module` and
//!   `import_name` attributes, parameter names and C types exactly as
//!   [`lower`] gives them, and `deprecated` attributes;
//! - one prototype per callback, which the plugin defines and exports
//!   (default visibility, so `-Wl,--export-dynamic` exports the definitions).
//!
//! It needs only the freestanding headers `<stdint.h>`, `<stddef.h>` and
//! `<stdbool.h>`, so it compiles with `clang --target=wasm32 -nostdlib`.

use std::collections::BTreeSet;

use proxy_wasm_abi_spec::ir::{AbiVersion, Enum, Function, Meta, Version};
use proxy_wasm_abi_spec::lower::{WasmValue, lower};

/// The path of a version's header under `generated/`:
/// `c/proxy_wasm_v0_2_1.h`.
pub fn path(version: Version) -> String {
    format!(
        "c/proxy_wasm_v{}_{}_{}.h",
        version.major, version.minor, version.patch
    )
}

/// The C constant of an enum value: `proxy_status_t`, `OK` -> `PROXY_STATUS_OK`.
pub fn constant_name(enum_name: &str, variant: &str) -> String {
    let base = enum_name.strip_suffix("_t").unwrap_or(enum_name);
    format!(
        "{}_{}",
        base.to_ascii_uppercase(),
        variant.to_ascii_uppercase()
    )
}

/// C types with no pointer, which the header can name.
const BASE_TYPES: [&str; 8] = [
    "uint8_t",
    "uint32_t",
    "uint64_t",
    "int64_t",
    "size_t",
    "bool",
    "char",
    "wasi_iovec_array_t",
];

/// Checks that a lowered C type names only types the header declares.
fn check_type(value: &WasmValue, enums: &[&str], function: &str) -> Result<(), String> {
    let base = value
        .c_type
        .trim_end_matches(['*', ' '])
        .trim_start_matches("const ")
        .trim();
    if BASE_TYPES.contains(&base) || enums.contains(&base) {
        Ok(())
    } else {
        Err(format!(
            "no C declaration for type `{}` of `{}` in `{function}`",
            value.c_type, value.name
        ))
    }
}

/// A `/** ... */` comment, indented by `indent`. `*/` in the text is broken up.
fn comment(text: &str, indent: &str) -> String {
    let text = text.trim().replace("*/", "* /").replace("/*", "/ *");
    if text.is_empty() {
        return String::new();
    }
    if !text.contains('\n') && text.len() <= 72 {
        return format!("{indent}/** {text} */\n");
    }
    let mut out = format!("{indent}/**\n");
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str(&format!("{indent} *\n"));
        } else {
            out.push_str(&format!("{indent} * {line}\n"));
        }
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// Docs and notes of an item.
fn meta_text(meta: &Meta) -> String {
    let mut text = meta.docs.clone();
    for note in &meta.notes {
        text.push_str(&format!(
            "\n\nNote ({}): {}",
            note.kind.keyword(),
            note.text
        ));
    }
    text
}

/// The docs of a function: its docs, statuses or return values, notes, and
/// the deprecation.
fn function_text(f: &Function) -> String {
    let mut text = crate::rust::function_text(f, |title| format!("{title}:"));
    if let Some(dep) = &f.deprecated {
        match &dep.replacement {
            Some(r) => text.push_str(&format!("\n\nDeprecated: use `{r}` instead.")),
            None => text.push_str("\n\nDeprecated by the specification."),
        }
    }
    text
}

/// `uint32_t context_id, size_t headers`, or `void`. A name used twice (the
/// `unused` values of `main`) is left as a comment, since C parameters of
/// one prototype must differ; with `plain` (for a signature shown in a
/// comment) every name is written.
fn param_list(values: &[WasmValue], plain: bool) -> String {
    if values.is_empty() {
        return "void".into();
    }
    values
        .iter()
        .map(|v| {
            let repeated = !plain && values.iter().filter(|o| o.name == v.name).count() > 1;
            let sep = if v.c_type.ends_with('*') { "" } else { " " };
            if repeated {
                format!("{}{sep}/* {} */", v.c_type, v.name)
            } else {
                format!("{}{sep}{}", v.c_type, v.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `proxy_status_t proxy_log(...)`, with the `*` of a pointer result next
/// to the name.
fn declarator(
    f: &Function,
    values: &[WasmValue],
    result: Option<&WasmValue>,
    plain: bool,
) -> String {
    let result = result.map_or("void", |r| r.c_type.as_str());
    let sep = if result.ends_with('*') { "" } else { " " };
    format!("{result}{sep}{}({})", f.name, param_list(values, plain))
}

fn enum_block(e: &Enum, names: &mut BTreeSet<String>) -> Result<String, String> {
    let mut out = comment(&meta_text(&e.meta), "");
    out.push_str(&format!("typedef uint32_t {};\n", e.name));
    for v in &e.variants {
        let constant = constant_name(&e.name, &v.name);
        if !names.insert(constant.clone()) {
            return Err(format!(
                "the C constant `{constant}` of `{}.{}` is defined twice",
                e.name, v.name
            ));
        }
        out.push_str(&comment(&meta_text(&v.meta), ""));
        out.push_str(&format!("#define {constant} (({}){}u)\n", e.name, v.value));
    }
    Ok(out)
}

fn host_block(f: &Function, enums: &[&str]) -> Result<String, String> {
    let sig = lower(f);
    for v in sig.params.iter().chain(&sig.results) {
        check_type(v, enums, &f.qualified_name())?;
    }
    let module = f.module().unwrap_or("env");
    let mut out = comment(&function_text(f), "");
    let mut attributes = vec![format!(
        "import_module(\"{module}\"), import_name(\"{}\")",
        f.name
    )];
    if let Some(dep) = &f.deprecated {
        attributes.push(match &dep.replacement {
            Some(r) => format!("deprecated(\"use {r} instead\")"),
            None => "deprecated".to_string(),
        });
    }
    for attribute in attributes {
        out.push_str(&format!("__attribute__(({attribute}))\n"));
    }
    out.push_str(&format!(
        "{};\n",
        declarator(f, &sig.params, sig.results.first(), false)
    ));
    Ok(out)
}

fn callback_block(f: &Function, enums: &[&str]) -> Result<String, String> {
    let sig = lower(f);
    for v in sig.params.iter().chain(&sig.results) {
        check_type(v, enums, &f.name)?;
    }
    // C toolchains and libcs give these names a meaning of their own (`main`
    // is renamed on wasm32, `malloc` is libc's): described in a comment
    // instead of declared, so including the header never conflicts with them.
    if crate::names::is_toolchain_export(f) {
        let declaration = declarator(f, &sig.params, sig.results.first(), true);
        let mut text = function_text(f);
        text.push_str(&format!(
            "\n\nNot declared here, since C toolchains give `{}` a meaning of its own. \
             Its wasm signature is:\n\n    {declaration};",
            f.name
        ));
        return Ok(comment(&text, ""));
    }
    let mut out = comment(&function_text(f), "");
    out.push_str(&format!(
        "PROXY_WASM_CALLBACK\n{};\n",
        declarator(f, &sig.params, sig.results.first(), false)
    ));
    Ok(out)
}

/// The C header of one ABI version. `source` names the description in the
/// "do not edit" notice.
pub fn header(abi: &AbiVersion, source: &str) -> Result<String, String> {
    let version = abi.version;
    let stem = format!("V{}_{}_{}", version.major, version.minor, version.patch);
    let guard = format!("PROXY_WASM_{stem}_H");
    let enums: Vec<&str> = abi.enums.iter().map(|e| e.name.as_str()).collect();

    let mut out = format!("/* {} */\n\n", crate::generated_notice(source));
    let mut intro = format!(
        "Proxy-Wasm ABI {version}: C declarations for plugins compiled for wasm32.\n\n\
         Only freestanding headers are needed, e.g.\n\n    \
         clang --target=wasm32 -nostdlib -Wl,--no-entry -Wl,--export-dynamic -o plugin.wasm plugin.c\n\n\
         Host functions are imports (module `env`, or `wasi_snapshot_preview1` for WASI; define \
         PROXY_WASM_NO_WASI_IMPORTS to leave the WASI ones out). Callbacks are functions the plugin \
         defines and exports: with -Wl,--export-dynamic (their prototypes here have default \
         visibility, PROXY_WASM_CALLBACK), or one by one with \
         __attribute__((export_name(\"...\"))) (PROXY_WASM_EXPORT). A plugin must also define and \
         export the version marker `{}`.",
        version.marker_name()
    );
    let header_docs = meta_text(&abi.meta);
    if !header_docs.trim().is_empty() {
        intro = format!("{}\n\n{intro}", header_docs.trim());
    }
    out.push_str(&comment(&intro, ""));
    out.push_str(&format!(
        "#ifndef {guard}\n#define {guard}\n\n\
         #include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n\
         #ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
    ));
    out.push_str(&format!(
        "/** The ABI version these declarations describe. */\n\
         #define PROXY_WASM_ABI_VERSION \"{version}\"\n\n\
         /** Exports the function it is attached to under `name`. */\n\
         #define PROXY_WASM_EXPORT(name) __attribute__((export_name(name)))\n\n\
         /**\n \
         * Marks the callback prototypes below. clang gives wasm32 symbols hidden\n \
         * visibility by default, and -Wl,--export-dynamic exports only visible\n \
         * ones: default visibility on the prototype carries over to the plugin's\n \
         * definition, so every callback it defines is exported.\n \
         */\n\
         #define PROXY_WASM_CALLBACK __attribute__((visibility(\"default\")))\n\n"
    ));

    out.push_str("/* ---------------------------------------------------------------- */\n");
    out.push_str("/* Enumerations (each a uint32_t on the wire)                        */\n");
    out.push_str("/* ---------------------------------------------------------------- */\n\n");
    let mut constants = BTreeSet::new();
    for e in &abi.enums {
        out.push_str(&enum_block(e, &mut constants)?);
        out.push('\n');
    }
    out.push_str(
        "/**\n * A WASI iovec array in plugin memory: consecutive \
         `{ const uint8_t *buf; size_t buf_len; }`\n * entries (8 bytes each on wasm32).\n */\n\
         typedef const void *wasi_iovec_array_t;\n\n",
    );

    out.push_str("/* ---------------------------------------------------------------- */\n");
    out.push_str("/* Host functions (imports)                                          */\n");
    out.push_str("/* ---------------------------------------------------------------- */\n\n");
    for section in &abi.sections {
        let hosts: Vec<&Function> = abi
            .host_functions()
            .filter(|f| f.section == section.id)
            .collect();
        if hosts.is_empty() {
            continue;
        }
        out.push_str(&format!("/* {} */\n\n", section.title));
        for f in hosts {
            let wasi = f.module() != Some("env");
            if wasi {
                out.push_str("#ifndef PROXY_WASM_NO_WASI_IMPORTS\n");
            }
            out.push_str(&host_block(f, &enums)?);
            if wasi {
                out.push_str("#endif\n");
            }
            out.push('\n');
        }
    }

    out.push_str("/* ---------------------------------------------------------------- */\n");
    out.push_str("/* Callbacks: defined and exported by the plugin                    */\n");
    out.push_str("/* ---------------------------------------------------------------- */\n\n");
    for section in &abi.sections {
        let callbacks: Vec<&Function> = abi
            .callbacks()
            .filter(|f| f.section == section.id)
            .collect();
        if callbacks.is_empty() {
            continue;
        }
        out.push_str(&format!("/* {} */\n\n", section.title));
        for f in callbacks {
            out.push_str(&callback_block(f, &enums)?);
            out.push('\n');
        }
    }

    out.push_str(&format!(
        "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n"
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(constant_name("proxy_status_t", "OK"), "PROXY_STATUS_OK");
        assert_eq!(constant_name("wasi_errno_t", "BADF"), "WASI_ERRNO_BADF");
        let v: Version = "0.2.1".parse().expect("a version");
        assert_eq!(path(v), "c/proxy_wasm_v0_2_1.h");
    }

    #[test]
    fn header_declares_proxy_log() {
        let abi = proxy_wasm_abi_spec::standard();
        let v = abi
            .at("0.2.1".parse().expect("a version"))
            .expect("declared");
        let text = header(&v, "test").expect("a header");
        assert!(text.contains(
            "__attribute__((import_module(\"env\"), import_name(\"proxy_log\")))\n\
             proxy_status_t proxy_log(proxy_log_level_t log_level, const char *message_data, size_t message_size);"
        ));
        assert!(text.contains("#define PROXY_STATUS_OK ((proxy_status_t)0u)"));
    }
}
