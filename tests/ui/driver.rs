//! Compile-time checks of the proc-macros (trybuild): every error each macro
//! can give, as `tests/ui/<macro>_*.rs` with the expected `.stderr`, and
//! passing uses that also run the generated code, as `tests/ui/pass/*.rs`.
//!
//! Regenerate the `.stderr` files after changing a message with
//! `TRYBUILD=overwrite cargo test -p proxy-wasm-abi-ui-tests`, then read each
//! one: the message and the caret are what a user gets.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    for family in ["abi_enum", "hostcalls", "exports", "options"] {
        cases.compile_fail(format!("{family}_*.rs"));
    }
}
