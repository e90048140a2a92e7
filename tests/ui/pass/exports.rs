// `#[exports]` on callbacks that match the spec. The generated exports are
// called at run time through their wasm names, as a host would.
#![deny(warnings)]

use std::sync::atomic::{AtomicU32, Ordering};

static TICKS: AtomicU32 = AtomicU32::new(0);

struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Plugin {
    fn proxy_on_vm_start(_root_context_id: u32, configuration_size: usize) -> bool {
        configuration_size < 100
    }

    fn proxy_on_tick(plugin_context_id: u32) {
        TICKS.fetch_add(plugin_context_id, Ordering::SeqCst);
    }

    fn proxy_on_request_headers(context_id: u32, headers: usize, end_of_stream: bool) -> u32 {
        u32::from(context_id == 7 && headers > 2 && !end_of_stream)
    }

    pub fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
        Box::leak(vec![0u8; size].into_boxed_slice()).as_mut_ptr()
    }

    // Compiled out, and its export with it.
    #[cfg(any())]
    fn proxy_on_log(context_id: u32) {
        let _ = context_id;
    }
}

// The SDK's own items may reuse the callback names: the exports do not clash.
#[allow(dead_code)]
fn proxy_on_tick() {}

unsafe extern "C" {
    #[link_name = "proxy_on_vm_start"]
    fn host_vm_start(root_context_id: u32, configuration_size: usize) -> bool;
    #[link_name = "proxy_on_tick"]
    fn host_tick(plugin_context_id: u32);
    #[link_name = "proxy_on_request_headers"]
    fn host_request_headers(context_id: u32, headers: usize, end_of_stream: bool) -> u32;
    #[link_name = "proxy_on_memory_allocate"]
    fn host_allocate(size: usize) -> *mut u8;
    fn proxy_abi_version_0_2_1();
}

fn main() {
    unsafe {
        assert!(host_vm_start(1, 10));
        assert!(!host_vm_start(1, 1000));
        host_tick(2);
        host_tick(3);
        assert_eq!(host_request_headers(7, 3, false), 1);
        assert_eq!(host_request_headers(7, 3, true), 0);
        assert!(!host_allocate(16).is_null());
        proxy_abi_version_0_2_1();
    }
    assert_eq!(TICKS.load(Ordering::SeqCst), 5);
}
