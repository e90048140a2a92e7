// proxy_on_request_headers gained `end_of_stream` in 0.2.0.
struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Plugin {
    fn proxy_on_request_headers(context_id: u32, headers: usize) -> u32 {
        let _ = (context_id, headers);
        0
    }
}

fn main() {}
