//! Checked access to a plugin's linear memory.
//!
//! A plugin is untrusted: every address and length it passes is checked
//! here, and nothing here can panic, whatever the values.

use alloc::vec::Vec;
use core::fmt;

/// Why a plugin's pointer, length or bytes could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestError {
    /// `len` bytes at `ptr` do not all lie in the memory (or their end
    /// overflows the address space).
    OutOfBounds {
        /// The address.
        ptr: u32,
        /// The length.
        len: u64,
        /// The memory's size in bytes.
        memory: usize,
    },
    /// The bytes are not UTF-8.
    NotUtf8 {
        /// Where the string starts.
        ptr: u32,
        /// Its length.
        len: u32,
    },
    /// An iovec array whose lengths add up to more than a `u32` can report.
    TooLarge {
        /// The total.
        total: u64,
    },
    /// A serialized map that does not decode.
    BadMap(crate::serial::MapError),
}

impl GuestError {
    /// Whether the error is about where the data is (an address or length
    /// outside the memory) rather than what it holds. Hosts answer the two
    /// kinds with different statuses.
    pub fn is_memory_fault(&self) -> bool {
        matches!(self, GuestError::OutOfBounds { .. })
    }
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestError::OutOfBounds { ptr, len, memory } => write!(
                f,
                "{len} byte(s) at {ptr:#x} are outside the plugin's {memory}-byte memory"
            ),
            GuestError::NotUtf8 { ptr, len } => {
                write!(f, "the {len} byte(s) at {ptr:#x} are not UTF-8")
            }
            GuestError::TooLarge { total } => {
                write!(f, "{total} bytes in all do not fit a u32")
            }
            GuestError::BadMap(error) => error.fmt(f),
        }
    }
}

impl core::error::Error for GuestError {}

/// A plugin's memory, borrowed for one host call.
///
/// Reads return slices of the memory itself; nothing is copied.
#[derive(Debug)]
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the bytes of a linear memory.
    #[inline]
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// The memory's size in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory has no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// All of the memory, for host functions that take raw addresses.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.bytes
    }

    #[cold]
    fn out_of_bounds(&self, ptr: u32, len: u32) -> GuestError {
        GuestError::OutOfBounds {
            ptr,
            len: len.into(),
            memory: self.bytes.len(),
        }
    }

    /// Checks that `len` bytes at `ptr` lie in the memory.
    #[inline]
    pub fn check(&self, ptr: u32, len: u32) -> Result<(), GuestError> {
        match (ptr as usize).checked_add(len as usize) {
            Some(end) if end <= self.bytes.len() => Ok(()),
            _ => Err(self.out_of_bounds(ptr, len)),
        }
    }

    /// `len` bytes at `ptr`.
    #[inline]
    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], GuestError> {
        let start = ptr as usize;
        start
            .checked_add(len as usize)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| self.out_of_bounds(ptr, len))
    }

    /// `len` bytes at `ptr`, to write into.
    #[inline]
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], GuestError> {
        let start = ptr as usize;
        let memory = self.bytes.len();
        start
            .checked_add(len as usize)
            .and_then(|end| self.bytes.get_mut(start..end))
            .ok_or(GuestError::OutOfBounds {
                ptr,
                len: len.into(),
                memory,
            })
    }

    /// `len` bytes at `ptr` as a string.
    #[inline]
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, GuestError> {
        utf8(self.slice(ptr, len)?).ok_or(GuestError::NotUtf8 { ptr, len })
    }

    /// A WASI iovec array: `count` (address, length) pairs at `ptr`, each
    /// checked. Their total length must fit a `u32`, which is how the
    /// number of bytes written is reported.
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<&[u8]>, GuestError> {
        let mut chunks = Vec::new();
        self.each_iovec(ptr, count, |chunk| chunks.push(chunk))?;
        Ok(chunks)
    }

    /// [`GuestMemory::iovecs`], handing each chunk to `each` instead of
    /// collecting them; on an error, some chunks may have been handed over.
    pub fn each_iovec<'s>(
        &'s self,
        ptr: u32,
        count: u32,
        mut each: impl FnMut(&'s [u8]),
    ) -> Result<(), GuestError> {
        let table_len = count.checked_mul(8).ok_or(GuestError::OutOfBounds {
            ptr,
            len: u64::from(count) * 8,
            memory: self.bytes.len(),
        })?;
        let table = self.slice(ptr, table_len)?;
        let mut total = 0u64;
        for entry in table.chunks_exact(8) {
            let word = |at: usize| {
                u32::from_le_bytes([entry[at], entry[at + 1], entry[at + 2], entry[at + 3]])
            };
            let chunk = self.slice(word(0), word(4))?;
            total += chunk.len() as u64;
            each(chunk);
        }
        if total > u64::from(u32::MAX) {
            return Err(GuestError::TooLarge { total });
        }
        Ok(())
    }

    /// A serialized map at `ptr`, decoded into borrowed pairs.
    pub fn map(&self, ptr: u32, len: u32) -> Result<Vec<crate::serial::Pair<'_>>, GuestError> {
        crate::serial::decode_map(self.slice(ptr, len)?).map_err(GuestError::BadMap)
    }

    /// A serialized property path at `ptr`, as its segments.
    pub fn path(&self, ptr: u32, len: u32) -> Result<crate::serial::PropertyPath<'_>, GuestError> {
        Ok(crate::serial::PropertyPath::new(self.slice(ptr, len)?))
    }

    /// Writes `value` at `ptr`.
    #[inline]
    pub fn write(&mut self, ptr: u32, value: &[u8]) -> Result<(), GuestError> {
        let len = u32::try_from(value.len()).map_err(|_| GuestError::OutOfBounds {
            ptr,
            len: value.len() as u64,
            memory: self.bytes.len(),
        })?;
        self.slice_mut(ptr, len)?.copy_from_slice(value);
        Ok(())
    }

    /// Writes a little-endian `u32` at `ptr`.
    #[inline]
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), GuestError> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64` at `ptr`.
    #[inline]
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), GuestError> {
        self.write(ptr, &value.to_le_bytes())
    }
}

/// `bytes` as a string, `None` when they are not UTF-8.
#[inline]
pub fn utf8(bytes: &[u8]) -> Option<&str> {
    // Keys and messages are nearly always ASCII, which `is_ascii` checks
    // several times faster than `from_utf8` on short input.
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Some(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
    core::str::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::{MapError, encode_map};
    use alloc::string::ToString;
    use alloc::vec;

    /// A small memory whose bytes are their own offsets, so a slice shows
    /// where it was taken.
    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| i as u8).collect()
    }

    fn oob(ptr: u32, len: u64, memory: usize) -> GuestError {
        GuestError::OutOfBounds { ptr, len, memory }
    }

    #[test]
    fn ranges_that_end_exactly_at_the_end_are_in() {
        let mut raw = bytes(64);
        let mut mem = GuestMemory::new(&mut raw);
        assert_eq!(mem.len(), 64);
        assert!(!mem.is_empty());
        assert_eq!(mem.check(60, 4), Ok(()));
        assert_eq!(mem.slice(60, 4), Ok(&[60u8, 61, 62, 63][..]));
        assert_eq!(mem.slice(0, 64).map(<[u8]>::len), Ok(64));
        assert_eq!(mem.slice_mut(60, 4).map(|s| s.len()), Ok(4));
        // A zero-length range at the end is empty, as Rust slicing has it:
        // hosts get `(ptr, 0)` for empty values anywhere in memory.
        assert_eq!(mem.check(64, 0), Ok(()));
        assert_eq!(mem.slice(64, 0), Ok(&[][..]));
        assert_eq!(mem.slice_mut(64, 0).map(|s| s.len()), Ok(0));
    }

    #[test]
    fn ranges_one_past_the_end_are_out() {
        let mut raw = bytes(64);
        let mut mem = GuestMemory::new(&mut raw);
        assert_eq!(mem.check(61, 4), Err(oob(61, 4, 64)));
        assert_eq!(mem.slice(61, 4), Err(oob(61, 4, 64)));
        assert_eq!(mem.slice_mut(61, 4), Err(oob(61, 4, 64)));
        assert_eq!(mem.check(0, 65), Err(oob(0, 65, 64)));
        // Zero bytes just past the end: the address itself is outside.
        assert_eq!(mem.check(65, 0), Err(oob(65, 0, 64)));
        assert_eq!(mem.slice(65, 0), Err(oob(65, 0, 64)));
        assert_eq!(mem.slice(64, 1), Err(oob(64, 1, 64)));
    }

    #[test]
    fn ranges_whose_end_overflows_are_out() {
        // ptr + len overflows a u32 here; on a 32-bit host it would also
        // overflow usize, which `checked_add` covers. Either way: an error,
        // never a wrapped-around small range.
        let mut raw = bytes(64);
        let mut mem = GuestMemory::new(&mut raw);
        let max = u64::from(u32::MAX);
        assert_eq!(mem.check(u32::MAX, u32::MAX), Err(oob(u32::MAX, max, 64)));
        assert_eq!(mem.check(1, u32::MAX), Err(oob(1, max, 64)));
        assert_eq!(mem.check(u32::MAX, 1), Err(oob(u32::MAX, 1, 64)));
        assert_eq!(mem.check(u32::MAX, 0), Err(oob(u32::MAX, 0, 64)));
        assert_eq!(mem.slice(u32::MAX, u32::MAX), Err(oob(u32::MAX, max, 64)));
        assert_eq!(mem.slice(2, u32::MAX - 1), Err(oob(2, max - 1, 64)));
        assert_eq!(mem.slice_mut(u32::MAX, 2), Err(oob(u32::MAX, 2, 64)));
        assert_eq!(mem.str(u32::MAX, u32::MAX), Err(oob(u32::MAX, max, 64)));
        assert_eq!(mem.write(u32::MAX, b"x"), Err(oob(u32::MAX, 1, 64)));
        assert_eq!(
            mem.write_u32(u32::MAX - 2, 0),
            Err(oob(u32::MAX - 2, 4, 64))
        );
    }

    #[test]
    fn an_empty_memory_has_only_the_empty_range_at_zero() {
        let mut raw: [u8; 0] = [];
        let mem = GuestMemory::new(&mut raw);
        assert!(mem.is_empty());
        assert_eq!(mem.len(), 0);
        assert_eq!(mem.slice(0, 0), Ok(&[][..]));
        assert_eq!(mem.check(0, 1), Err(oob(0, 1, 0)));
        assert_eq!(mem.check(1, 0), Err(oob(1, 0, 0)));
        assert_eq!(mem.iovecs(0, 0), Ok(vec![]));
    }

    #[test]
    fn strings_are_checked_for_bounds_then_utf8() {
        let mut raw = vec![0u8; 32];
        raw[..5].copy_from_slice(b"hello");
        raw[8..14].copy_from_slice("héllo".as_bytes());
        raw[16..19].copy_from_slice(&[b'a', 0xff, b'b']);
        raw[29..32].copy_from_slice("€".as_bytes());
        let mem = GuestMemory::new(&mut raw);
        assert_eq!(mem.str(0, 5), Ok("hello"));
        assert_eq!(mem.str(8, 6), Ok("héllo"));
        // Cutting "é" in half leaves a lone lead byte.
        assert_eq!(mem.str(8, 2), Err(GuestError::NotUtf8 { ptr: 8, len: 2 }));
        assert_eq!(mem.str(16, 3), Err(GuestError::NotUtf8 { ptr: 16, len: 3 }));
        // A multibyte character that ends exactly at the end of memory.
        assert_eq!(mem.str(29, 3), Ok("€"));
        assert_eq!(mem.str(32, 0), Ok(""));
        // Bounds come first: a range that is both outside and not UTF-8
        // is a memory fault, so the host answers the memory-fault status.
        assert_eq!(mem.str(29, 4), Err(oob(29, 4, 32)));
        assert_eq!(mem.str(16, 17), Err(oob(16, 17, 32)));
    }

    #[test]
    fn utf8_takes_the_ascii_shortcut_and_falls_back_to_a_full_check() {
        assert_eq!(utf8(b""), Some(""));
        assert_eq!(utf8(b"content-type"), Some("content-type"));
        assert_eq!(utf8("größe".as_bytes()), Some("größe"));
        assert_eq!(utf8("🦀".as_bytes()), Some("🦀"));
        assert_eq!(utf8(&[0x80]), None);
        // An overlong NUL and a UTF-16 surrogate: not ASCII, and rejected
        // by the full check the shortcut falls back to.
        assert_eq!(utf8(&[0xc0, 0x80]), None);
        assert_eq!(utf8(&[0xed, 0xa0, 0x80]), None);
        // A valid prefix does not make the whole valid.
        assert_eq!(utf8(&[b'o', b'k', 0xf0, 0x9f]), None);
    }

    /// Writes a little-endian iovec table of `(ptr, len)` entries at `at`.
    fn put_iovecs(raw: &mut [u8], at: usize, entries: &[(u32, u32)]) {
        for (i, (ptr, len)) in entries.iter().enumerate() {
            let entry = at + i * 8;
            raw[entry..entry + 4].copy_from_slice(&ptr.to_le_bytes());
            raw[entry + 4..entry + 8].copy_from_slice(&len.to_le_bytes());
        }
    }

    #[test]
    fn iovecs_check_the_table_and_each_entry() {
        let mut raw = bytes(64);
        put_iovecs(&mut raw, 40, &[(0, 3), (10, 2), (64, 0)]);
        let mem = GuestMemory::new(&mut raw);
        assert_eq!(
            mem.iovecs(40, 3),
            Ok(vec![&[0u8, 1, 2][..], &[10, 11][..], &[][..]])
        );
        assert_eq!(mem.iovecs(40, 0), Ok(vec![]));
        assert_eq!(mem.iovecs(64, 0), Ok(vec![]));
        // The table ends exactly at the end of memory: 3 entries at 40 are
        // 24 bytes, so a 4th one at 40 runs out.
        assert_eq!(mem.iovecs(40, 4), Err(oob(40, 32, 64)));
        assert_eq!(mem.iovecs(65, 0), Err(oob(65, 0, 64)));
    }

    #[test]
    fn an_iovec_entry_outside_memory_is_reported_as_itself() {
        let mut raw = bytes(64);
        put_iovecs(&mut raw, 0, &[(0, 1), (60, 5), (u32::MAX, u32::MAX)]);
        let mem = GuestMemory::new(&mut raw);
        assert_eq!(mem.iovecs(0, 2), Err(oob(60, 5, 64)));
        put_iovecs(&mut raw, 8, &[(u32::MAX, u32::MAX)]);
        let mem = GuestMemory::new(&mut raw);
        assert_eq!(
            mem.iovecs(0, 2),
            Err(oob(u32::MAX, u64::from(u32::MAX), 64))
        );
    }

    #[test]
    fn an_iovec_count_whose_table_size_overflows_is_a_memory_fault() {
        let mut raw = bytes(64);
        let mem = GuestMemory::new(&mut raw);
        // 0x2000_0000 * 8 is 2^32: one past what a u32 holds. The error
        // carries the true size, not a wrapped one.
        let error = mem.iovecs(0, 0x2000_0000).unwrap_err();
        assert_eq!(error, oob(0, 1 << 32, 64));
        assert!(error.is_memory_fault());
        assert_eq!(
            mem.iovecs(8, u32::MAX),
            Err(oob(8, u64::from(u32::MAX) * 8, 64))
        );
        // The largest count whose table size fits: an ordinary bounds error.
        assert_eq!(mem.iovecs(0, 0x1fff_ffff), Err(oob(0, 0xffff_fff8, 64)));
    }

    #[test]
    fn iovecs_totalling_more_than_a_u32_are_too_large() {
        // Every entry covers the whole 1 MiB memory (the table included), so
        // 4096 of them add up to 2^32 bytes without 4 GiB of memory.
        const MIB: u32 = 1 << 20;
        let mut raw = vec![0u8; MIB as usize];
        let mut entries = vec![(0, MIB); 4096];
        put_iovecs(&mut raw, 0, &entries);
        let mem = GuestMemory::new(&mut raw);
        let error = mem.iovecs(0, 4096).unwrap_err();
        assert_eq!(error, GuestError::TooLarge { total: 1 << 32 });
        assert!(!error.is_memory_fault());
        // One byte less is exactly u32::MAX: still reportable.
        entries[4095].1 = MIB - 1;
        put_iovecs(&mut raw, 0, &entries);
        let mem = GuestMemory::new(&mut raw);
        let chunks = mem.iovecs(0, 4096).unwrap();
        assert_eq!(chunks.len(), 4096);
        let total: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        assert_eq!(total, u64::from(u32::MAX));
    }

    #[test]
    fn maps_decode_in_place_and_bad_ones_are_not_memory_faults() {
        let encoded = encode_map(&[("k", "v"), ("key", "")]);
        let mut raw = vec![0u8; 64];
        raw[8..8 + encoded.len()].copy_from_slice(&encoded);
        let len = encoded.len() as u32;
        let mem = GuestMemory::new(&mut raw);
        assert_eq!(
            mem.map(8, len),
            Ok(vec![(&b"k"[..], &b"v"[..]), (&b"key"[..], &b""[..])])
        );
        assert_eq!(mem.map(64, 0), Ok(vec![]));
        // One byte short: the last value's NUL is missing from the range.
        let error = mem.map(8, len - 1).unwrap_err();
        assert_eq!(
            error,
            GuestError::BadMap(MapError::Truncated {
                offset: len as usize - 1,
                needed: 1
            })
        );
        assert!(!error.is_memory_fault());
        // One byte long: the zero after it is trailing.
        assert_eq!(
            mem.map(8, len + 1),
            Err(GuestError::BadMap(MapError::TrailingBytes { extra: 1 }))
        );
        assert_eq!(mem.map(60, 8), Err(oob(60, 8, 64)));
    }

    #[test]
    fn paths_split_on_nul_within_bounds() {
        let mut raw = vec![0u8; 16];
        raw[..8].copy_from_slice(b"a\0bc\0d\0\0");
        let mem = GuestMemory::new(&mut raw);
        let segments = |ptr, len| mem.path(ptr, len).map(|p| p.segments().collect::<Vec<_>>());
        assert_eq!(segments(0, 7), Ok(vec![&b"a"[..], b"bc", b"d"]));
        // Only one trailing NUL ends the path: a second makes an empty segment.
        assert_eq!(segments(0, 8), Ok(vec![&b"a"[..], b"bc", b"d", b""]));
        assert_eq!(
            mem.path(0, 8).map(|p| p.as_bytes()),
            Ok(&b"a\0bc\0d\0\0"[..])
        );
        assert_eq!(segments(16, 0), Ok(vec![]));
        assert_eq!(mem.path(10, 7), Err(oob(10, 7, 16)));
    }

    #[test]
    fn writes_land_little_endian_and_never_partly() {
        let mut raw = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut raw);
        assert_eq!(mem.write(13, b"xyz"), Ok(()));
        assert_eq!(mem.write(16, b""), Ok(()));
        assert_eq!(mem.write_u32(0, 0x0403_0201), Ok(()));
        assert_eq!(mem.write_u64(4, 0x0c0b_0a09_0807_0605), Ok(()));
        // Each of these would fit partly: nothing is written.
        assert_eq!(mem.write(14, b"abc"), Err(oob(14, 3, 16)));
        assert_eq!(mem.write_u32(13, u32::MAX), Err(oob(13, 4, 16)));
        assert_eq!(mem.write_u64(9, u64::MAX), Err(oob(9, 8, 16)));
        assert_eq!(
            mem.as_mut_slice(),
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, b'x', b'y', b'z']
        );
        // The last slots a u32 and a u64 fit in.
        assert_eq!(mem.write_u32(12, 0xdead_beef), Ok(()));
        assert_eq!(mem.write_u64(8, 1), Ok(()));
        assert_eq!(mem.slice(8, 8), Ok(&[1u8, 0, 0, 0, 0, 0, 0, 0][..]));
    }

    #[test]
    fn errors_classify_and_display() {
        let out = oob(0x10, 4, 64);
        assert!(out.is_memory_fault());
        assert_eq!(
            out.to_string(),
            "4 byte(s) at 0x10 are outside the plugin's 64-byte memory"
        );
        let not_utf8 = GuestError::NotUtf8 { ptr: 0x20, len: 3 };
        assert!(!not_utf8.is_memory_fault());
        assert_eq!(not_utf8.to_string(), "the 3 byte(s) at 0x20 are not UTF-8");
        let too_large = GuestError::TooLarge { total: 1 << 32 };
        assert!(!too_large.is_memory_fault());
        assert_eq!(
            too_large.to_string(),
            "4294967296 bytes in all do not fit a u32"
        );
        let bad_map = GuestError::BadMap(MapError::TrailingBytes { extra: 2 });
        assert!(!bad_map.is_memory_fault());
        // A map error reads as the map error itself.
        assert_eq!(
            bad_map.to_string(),
            "serialized map has 2 unexpected byte(s) after its last pair"
        );
        assert_eq!(
            oob(u32::MAX, u64::from(u32::MAX) * 8, 0).to_string(),
            "34359738360 byte(s) at 0xffffffff are outside the plugin's 0-byte memory"
        );
    }

    use super::super::test_rng::XorShift;

    #[test]
    fn slice_is_ok_exactly_when_the_range_fits() {
        const LEN: usize = 97;
        let mut raw = bytes(LEN);
        let mut mem = GuestMemory::new(&mut raw);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut fits = 0;
        for _ in 0..20_000 {
            let ptr = rng.near(LEN as u32 / 2);
            let len = rng.near(LEN as u32 / 2);
            let expected = u64::from(ptr) + u64::from(len) <= LEN as u64;
            let slice = mem.slice(ptr, len);
            assert_eq!(slice.is_ok(), expected, "slice({ptr}, {len})");
            match slice {
                Ok(slice) => {
                    fits += 1;
                    assert_eq!(slice.len(), len as usize);
                    assert_eq!(slice.first(), (len > 0).then_some(&(ptr as u8)));
                }
                Err(error) => assert_eq!(error, oob(ptr, len.into(), LEN)),
            }
            assert_eq!(mem.check(ptr, len).is_ok(), expected);
            assert_eq!(mem.slice_mut(ptr, len).is_ok(), expected);
        }
        // The generator must hit both outcomes for the test to mean much.
        assert!((1_000..19_000).contains(&fits), "{fits} of 20000 fit");
    }
}
