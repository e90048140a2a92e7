//! Buffers a `Host` fills with a value the plugin gets back, reused from
//! call to call so that a host copying from its own storage allocates
//! nothing (the `_into` methods of the generated `Host`).

use crate::serial::MapOut;
use alloc::string::String;
use alloc::vec::Vec;

/// The buffers a store keeps between host calls. A buffer that grew past
/// [`Scratch::KEEP`] is dropped rather than kept, so one large value does
/// not hold memory for the store's lifetime.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) text: String,
    pub(crate) map: MapOut,
}

impl Scratch {
    /// The most a buffer keeps between calls.
    pub(crate) const KEEP: usize = 64 << 10;

    #[inline]
    pub(crate) fn keep_bytes(&mut self, mut bytes: Vec<u8>) {
        if bytes.capacity() <= Self::KEEP {
            bytes.clear();
            self.bytes = bytes;
        }
    }

    #[inline]
    pub(crate) fn keep_text(&mut self, mut text: String) {
        if text.capacity() <= Self::KEEP {
            text.clear();
            self.text = text;
        }
    }

    #[inline]
    pub(crate) fn keep_map(&mut self, mut map: MapOut) {
        if map.capacity() <= Self::KEEP {
            map.clear();
            self.map = map;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_drops_buffers_that_grew_large() {
        let mut scratch = Scratch::default();
        scratch.keep_bytes(Vec::with_capacity(Scratch::KEEP + 1));
        assert_eq!(scratch.bytes.capacity(), 0);
        let mut small = Vec::with_capacity(100);
        small.extend_from_slice(b"left over");
        scratch.keep_bytes(small);
        assert!(scratch.bytes.capacity() >= 100);
        assert!(scratch.bytes.is_empty(), "kept buffers come back empty");
    }
}
