// A deprecated host function gets `#[deprecated]`, so calling it warns (here
// denied, to show the note), also when it is declared `safe`.
#![deny(deprecated)]
// The two declarations of one import differ in `safe` on purpose.
#![allow(clashing_extern_declarations)]

#[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
unsafe extern "C" {
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
}

mod safe {
    #[proxy_wasm_abi_macros::hostcalls(version = "0.2.1")]
    unsafe extern "C" {
        pub safe fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    }
}

fn main() {
    let mut now = 0u64;
    if std::env::args().count() > 99 {
        unsafe { proxy_get_current_time_nanoseconds(&mut now) };
        safe::proxy_get_current_time_nanoseconds(&mut now);
    }
}
