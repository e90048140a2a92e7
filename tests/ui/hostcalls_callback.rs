// A callback declared as an import is on the wrong side of the boundary.
#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_on_tick(plugin_context_id: u32);
}

fn main() {}
