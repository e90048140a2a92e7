//! Buffers a `Host` fills with a value the plugin gets back, reused from
//! call to call so that a host copying from its own storage allocates
//! nothing (the `_into` methods of the generated `Host`).

use alloc::string::String;
use alloc::vec::Vec;

/// A map a `Host` hands back to the plugin, serialized as it is filled: the
/// pair sizes and the NUL-terminated keys and values go to two buffers, so
/// no pair is allocated and the shim copies three slices into the plugin.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MapOut {
    count: u32,
    /// Each pair's key and value length, little-endian `u32`s.
    sizes: Vec<u8>,
    /// Each key and value followed by a NUL.
    data: Vec<u8>,
    /// A pair or the total did not fit the format's `u32`s.
    overflow: bool,
}

impl MapOut {
    /// An empty map.
    pub const fn new() -> Self {
        MapOut {
            count: 0,
            sizes: Vec::new(),
            data: Vec::new(),
            overflow: false,
        }
    }

    /// Appends the pair `key`: `value`.
    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        let (Ok(key_len), Ok(value_len)) = (u32::try_from(key.len()), u32::try_from(value.len()))
        else {
            self.overflow = true;
            return;
        };
        let Some(count) = self.count.checked_add(1) else {
            self.overflow = true;
            return;
        };
        self.count = count;
        self.sizes.extend_from_slice(&key_len.to_le_bytes());
        self.sizes.extend_from_slice(&value_len.to_le_bytes());
        self.data.reserve(key.len() + value.len() + 2);
        self.data.extend_from_slice(key);
        self.data.push(0);
        self.data.extend_from_slice(value);
        self.data.push(0);
    }

    /// How many pairs were pushed.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no pair was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Forgets every pair, keeping the buffers.
    pub fn clear(&mut self) {
        self.count = 0;
        self.sizes.clear();
        self.data.clear();
        self.overflow = false;
    }

    /// The size of the serialized map (what `proxy_get_header_map_size`
    /// answers); `None` when it does not fit a `u32`.
    pub fn serialized_size(&self) -> Option<u32> {
        if self.overflow {
            return None;
        }
        let total = 4usize
            .checked_add(self.sizes.len())?
            .checked_add(self.data.len())?;
        u32::try_from(total).ok()
    }

    /// The serialized map in its three parts: the pair count, the sizes and
    /// the data, to be written one after another.
    pub(crate) fn parts(&self) -> [&[u8]; 2] {
        [&self.sizes, &self.data]
    }

    /// The pair count as serialized.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// The serialized map in one buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(4 + self.sizes.len() + self.data.len());
        bytes.extend_from_slice(&self.count.to_le_bytes());
        bytes.extend_from_slice(&self.sizes);
        bytes.extend_from_slice(&self.data);
        bytes
    }

    fn capacity(&self) -> usize {
        self.sizes.capacity() + self.data.capacity()
    }
}

impl core::fmt::Debug for MapOut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MapOut")
            .field("pairs", &self.count)
            .field("bytes", &self.serialized_size())
            .finish()
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> Extend<(K, V)> for MapOut {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (key, value) in pairs {
            self.push(key.as_ref(), value.as_ref());
        }
    }
}

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

    pub(crate) fn keep_bytes(&mut self, mut bytes: Vec<u8>) {
        if bytes.capacity() <= Self::KEEP {
            bytes.clear();
            self.bytes = bytes;
        }
    }

    pub(crate) fn keep_text(&mut self, mut text: String) {
        if text.capacity() <= Self::KEEP {
            text.clear();
            self.text = text;
        }
    }

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
    fn a_map_out_serializes_as_encode_map_does() {
        let pairs: [(&[u8], &[u8]); 3] = [(b"a", b"1"), (b"", b""), (b"key", b"value")];
        let mut out = MapOut::new();
        out.extend(pairs);
        assert_eq!(out.len(), 3);
        assert_eq!(out.to_bytes(), crate::serial::encode_map(&pairs));
        assert_eq!(
            out.serialized_size(),
            Some(crate::serial::encoded_map_size(&pairs) as u32)
        );
        out.clear();
        assert!(out.is_empty());
        assert_eq!(
            out.to_bytes(),
            crate::serial::encode_map::<&[u8], &[u8]>(&[])
        );
    }

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
