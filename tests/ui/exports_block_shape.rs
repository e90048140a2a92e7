// The block itself: a trait impl, a generic impl, an item that is not a
// function, and function modifiers a host cannot honour.
struct Plugin<T>(T);
struct Other;

trait Callbacks {
    fn proxy_on_tick(plugin_context_id: u32);
}

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Callbacks for Other {
    fn proxy_on_tick(plugin_context_id: u32) {
        let _ = plugin_context_id;
    }
}

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl<T> Plugin<T> {
    const LIMIT: u32 = 10;

    async fn proxy_on_log(context_id: u32) {
        let _ = context_id;
    }

    unsafe fn proxy_on_delete(context_id: u32) {
        let _ = context_id;
    }

    fn proxy_on_queue_ready<Q>(context_id: u32, queue_id: u32) {
        let _ = (context_id, queue_id);
    }
}

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
struct NotAnImpl;

fn main() {}
