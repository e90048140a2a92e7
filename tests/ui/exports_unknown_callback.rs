// Every function of an `#[exports]` block must be a callback: a typo gets the
// closest callback, a helper is told to move, a host function and the
// version marker are on the wrong side.
struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Plugin {
    fn proxy_on_request_header(context_id: u32, headers: usize, end_of_stream: bool) -> u32 {
        let _ = (context_id, headers, end_of_stream);
        0
    }

    fn parse_config(size: usize) -> bool {
        size > 0
    }

    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32 {
        let _ = (level, message_data, message_size);
        0
    }

    fn proxy_abi_version_0_2_1() {}
}

fn main() {}
