//! What generated plugin bindings call: the default allocator the host
//! fills returned buffers through, and taking those buffers back.
//!
//! `no_std`: only `core` and `alloc`.

use alloc::vec::Vec;
use core::mem::ManuallyDrop;

/// Allocates `size` bytes for the host with the global allocator, as a
/// `Vec<u8>` of capacity `size` that is handed over; the default
/// `proxy_on_memory_allocate`. Take a buffer the host returned back with
/// [`take_host_buffer`].
pub fn allocate(size: usize) -> *mut u8 {
    // A zero-size Vec still has a non-null (dangling) pointer, so the host
    // never sees the null that means failure.
    let mut buffer = ManuallyDrop::new(Vec::<u8>::with_capacity(size));
    buffer.as_mut_ptr()
}

/// Takes ownership of a buffer the host returned through an `out` pointer
/// pair (e.g. `return_value_data`, `return_value_size`). A null pointer is
/// an empty value.
///
/// # Safety
///
/// `data` must be null, or have been returned by [`allocate`] (the default
/// `proxy_on_memory_allocate`) for exactly `size` bytes, which the host
/// filled, and not taken before.
pub unsafe fn take_host_buffer(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract, `allocate(size)` made this pointer as a
    // `Vec<u8>` with capacity `size`, and the host initialized `size` bytes.
    unsafe { Vec::from_raw_parts(data, size, size) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_round_trips_through_the_host() {
        for size in [0, 1, 17, 4096] {
            let data = allocate(size);
            assert!(!data.is_null(), "a {size}-byte allocation is never null");
            // Stand in for the host filling the buffer.
            for i in 0..size {
                // SAFETY: `allocate(size)` has capacity for `size` bytes.
                unsafe { data.add(i).write(i as u8) };
            }
            // SAFETY: made by `allocate(size)`, filled, taken once.
            let taken = unsafe { take_host_buffer(data, size) };
            assert_eq!(taken.len(), size);
            assert!(taken.iter().enumerate().all(|(i, b)| *b == i as u8));
        }
    }

    #[test]
    fn a_null_buffer_is_empty() {
        // SAFETY: null is always allowed.
        assert!(unsafe { take_host_buffer(core::ptr::null_mut(), 12) }.is_empty());
    }
}
