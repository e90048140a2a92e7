//! Generates guest bindings for the example extension of v0.2.1.

fn main() {
    proxy_wasm_abi_codegen::builder::Builder::new()
        .description("../../abi-spec/examples/host-extras.abi")
        .version("0.2.1")
        .guest()
        .enums_only()
        .generate_or_exit();
}
