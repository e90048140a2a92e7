//! Tools on top of the generated Proxy-Wasm bindings; they are not part of
//! the generation pipeline (`proxy_wasm_abi_codegen`), they use it.
//!
//! - [`lint`]: a compiled plugin's imports and exports against the description.
//! - `runner` (feature `run`): a reference in-memory host on the generated
//!   wasmtime bindings, and a request lifecycle driver.
//! - `conformance` (feature `run`): a conformance kit for any host, from
//!   the description: probe plugins, their expected answers, a scorer.
//!
//! The `proxy-wasm-abi` binary of this crate is the command line: `generate`,
//! `check`, `summary`, `diff`, `dump`, `lint` and (feature `run`) `run` and `conformance`.

#[cfg(feature = "run")]
pub mod conformance;
pub mod lint;
#[cfg(feature = "run")]
pub mod runner;
