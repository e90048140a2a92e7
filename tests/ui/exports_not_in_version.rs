// A callback of a later version.
struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.1.0")]
impl Plugin {
    fn proxy_on_foreign_function(context_id: u32, function_id: u32, size: usize) {
        let _ = (context_id, function_id, size);
    }
}

fn main() {}
