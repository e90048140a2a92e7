// Callback types: an enum parameter the host may pass any value for, a
// result of the wrong width, a missing result, a reference and `self`.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum PeerType {
    Unknown = 0,
}

struct Plugin;

#[proxy_wasm_abi_macros::exports(version = "0.2.1")]
impl Plugin {
    fn proxy_on_downstream_connection_close(context_id: u32, peer: PeerType) {
        let _ = (context_id, peer);
    }

    fn proxy_on_done(context_id: u32) -> u64 {
        u64::from(context_id)
    }

    fn proxy_on_configure(context_id: u32, size: usize) {
        let _ = (context_id, size);
    }

    fn proxy_on_memory_allocate(size: &usize) -> *mut u8 {
        let _ = size;
        std::ptr::null_mut()
    }

    fn proxy_on_tick(&self) {}
}

fn main() {}
