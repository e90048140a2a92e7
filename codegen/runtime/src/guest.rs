//! What generated plugin bindings call: the default allocator the host
//! fills returned buffers through, taking those buffers back, and what the
//! typed host calls (`abi::host`) share: encoding their arguments and
//! decoding what the host returned, without a panic on any input.
//!
//! `no_std`: only `core` and `alloc`.

use core::mem::ManuallyDrop;

use crate::serial;

/// `alloc`'s, for generated code in crates that do not name `alloc`.
pub use alloc::{string::String, vec::Vec};

/// The pairs of a map the host returned, owned, in order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

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

/// The two slots a host fills with the address and the length of a value
/// it allocated in the plugin (an `out bytes`, `out string` or `out map`
/// parameter), for a typed host call: pass its [`HostBuffer::slots`] to
/// the import, then, once the host answered success, take the value with
/// one of the `into_` methods. A value the host never filled is empty, and one left untaken
/// (the call failed) is not freed: the slots may hold anything then.
#[derive(Debug)]
pub struct HostBuffer {
    data: *mut u8,
    size: usize,
}

impl Default for HostBuffer {
    fn default() -> Self {
        HostBuffer::new()
    }
}

impl HostBuffer {
    /// Empty slots: a null address and a zero length.
    pub const fn new() -> Self {
        HostBuffer {
            data: core::ptr::null_mut(),
            size: 0,
        }
    }

    /// The address slot (`uint8_t **`; cast it for `const char **`) and
    /// the length slot (`size_t *`), from one borrow so that both stay
    /// valid while the host writes them.
    pub fn slots(&mut self) -> (*mut *mut u8, *mut usize) {
        (&raw mut self.data, &raw mut self.size)
    }

    /// The bytes, taken over.
    ///
    /// # Safety
    ///
    /// As [`take_host_buffer`]: the slots are null, or hold what the
    /// plugin's allocator ([`allocate`], the default
    /// `proxy_on_memory_allocate`) returned for exactly that length, filled
    /// by the host; what a host that answered success leaves there.
    pub unsafe fn into_bytes(self) -> Vec<u8> {
        // SAFETY: the caller's contract is take_host_buffer's.
        unsafe { take_host_buffer(self.data, self.size) }
    }

    /// The text, taken over; `None` when it is not UTF-8.
    ///
    /// # Safety
    ///
    /// As [`HostBuffer::into_bytes`].
    pub unsafe fn into_string(self) -> Option<String> {
        // SAFETY: the caller's contract.
        utf8(unsafe { self.into_bytes() })
    }

    /// The pairs of a serialized map, in order, taken over; `None` when it
    /// is not a serialized map.
    ///
    /// # Safety
    ///
    /// As [`HostBuffer::into_bytes`].
    pub unsafe fn into_map(self) -> Option<Pairs> {
        // SAFETY: the caller's contract.
        owned_pairs(&unsafe { self.into_bytes() })
    }
}

/// `bytes` as text, or `None` when it is not UTF-8.
pub fn utf8(bytes: Vec<u8>) -> Option<String> {
    String::from_utf8(bytes).ok()
}

/// The pairs of a serialized map, owned, or `None` when `bytes` is not a
/// serialized map (see [`serial::decode_map`]).
pub fn owned_pairs(bytes: &[u8]) -> Option<Pairs> {
    let pairs = serial::decode_map(bytes).ok()?;
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect(),
    )
}

/// A `map` argument serialized, or `None` when it cannot be (see
/// [`serial::try_encode_map`]; never on wasm32).
pub fn map_argument<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Option<Vec<u8>> {
    serial::try_encode_map(pairs)
}

/// A `path` argument: its segments joined with NUL bytes.
pub fn path_argument<S: AsRef<[u8]>>(segments: &[S]) -> Vec<u8> {
    serial::encode_path(segments)
}

/// One entry of a WASI iovec array: the address and length of a run of
/// plugin memory (`__wasi_ciovec_t`, 8 bytes on wasm32).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Iovec {
    /// The address of the bytes.
    pub buf: *const u8,
    /// How many bytes.
    pub len: usize,
}

/// An `iovecs` argument: one [`Iovec`] per slice, in order. Pass its
/// address and its length (a count of entries).
pub fn iovecs(slices: &[&[u8]]) -> Vec<Iovec> {
    slices
        .iter()
        .map(|s| Iovec {
            buf: s.as_ptr(),
            len: s.len(),
        })
        .collect()
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

    /// Stands in for a host returning `value` through the slots.
    fn filled(value: &[u8]) -> HostBuffer {
        let mut buffer = HostBuffer::new();
        let data = allocate(value.len());
        // SAFETY: `allocate` made room for `value.len()` bytes.
        unsafe { core::ptr::copy_nonoverlapping(value.as_ptr(), data, value.len()) };
        let (data_slot, size_slot) = buffer.slots();
        // SAFETY: the slots are this buffer's fields.
        unsafe {
            data_slot.write(data);
            size_slot.write(value.len());
        }
        buffer
    }

    #[test]
    fn host_buffers_decode_or_refuse_without_panicking() {
        // SAFETY (each take below): made by `filled`, taken once.
        assert_eq!(unsafe { filled(b"abc").into_bytes() }, b"abc");
        assert_eq!(
            unsafe { filled(b"text").into_string() }.as_deref(),
            Some("text")
        );
        assert_eq!(unsafe { filled(&[0xff, 0xfe]).into_string() }, None);
        let map = serial::encode_map(&[("k", "v"), ("a", "")]);
        assert_eq!(
            unsafe { filled(&map).into_map() },
            Some(alloc::vec![
                (b"k".to_vec(), b"v".to_vec()),
                (b"a".to_vec(), Vec::new())
            ])
        );
        for bad in [&map[..map.len() - 1], &[7, 0, 0, 0][..], &[1, 2, 3][..]] {
            assert_eq!(unsafe { filled(bad).into_map() }, None, "{bad:?}");
        }
        // Slots the host never filled are an empty value.
        assert!(unsafe { HostBuffer::new().into_bytes() }.is_empty());
        assert_eq!(
            unsafe { HostBuffer::default().into_string() }.as_deref(),
            Some("")
        );
        assert_eq!(unsafe { HostBuffer::new().into_map() }, Some(Vec::new()));
    }

    #[test]
    fn arguments_are_encoded_as_the_codec_does() {
        let pairs = [("a", "1"), ("b", "22")];
        assert_eq!(map_argument(&pairs), Some(serial::encode_map(&pairs)));
        assert_eq!(path_argument(&["x", "y"]), b"x\0y");
        let (one, two): (&[u8], &[u8]) = (b"ab", b"");
        let entries = iovecs(&[one, two]);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].buf, entries[0].len), (one.as_ptr(), 2));
        assert_eq!(entries[1].len, 0);
        assert_eq!(utf8(b"ok".to_vec()).as_deref(), Some("ok"));
        assert_eq!(owned_pairs(&[0]), Some(Vec::new()));
    }
}
