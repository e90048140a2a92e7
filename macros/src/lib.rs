//! Procedural macros over the Proxy-Wasm ABI code generators (arriving with the guest and host bindings).
