//! The serialized map and property path formats of the Proxy-Wasm ABI.
//!
//! A serialized map is: the number of pairs (u32, little-endian); then, for
//! each pair, the key length and the value length (u32 each); then, for each
//! pair, the key bytes, a NUL, the value bytes, a NUL. An empty map may also
//! be sent as no bytes at all or as a single NUL byte.
//!
//! Decoding never panics and never allocates more than the input justifies:
//! every length is checked against the bytes actually present.
//!
//! Only `core` and `alloc` are used, so guests built `no_std` share this
//! codec with hosts.

use alloc::vec::Vec;
use core::fmt;

/// Why a byte string is not a valid serialized map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    /// The input ends before the part at `offset` that needs `needed` bytes.
    Truncated {
        /// Offset at which more bytes were needed.
        offset: usize,
        /// How many bytes that part needs.
        needed: usize,
    },
    /// A key or value is not followed by its NUL byte.
    MissingNul {
        /// Offset where the NUL was expected.
        offset: usize,
    },
    /// Bytes remain after the last pair.
    TrailingBytes {
        /// How many bytes remain.
        extra: usize,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::Truncated { offset, needed } => write!(
                f,
                "serialized map is truncated: {needed} more byte(s) needed at offset {offset}"
            ),
            MapError::MissingNul { offset } => {
                write!(
                    f,
                    "serialized map lacks the NUL byte expected at offset {offset}"
                )
            }
            MapError::TrailingBytes { extra } => {
                write!(
                    f,
                    "serialized map has {extra} unexpected byte(s) after its last pair"
                )
            }
        }
    }
}

impl core::error::Error for MapError {}

/// Serializes pairs in order. Keys and values are raw bytes.
///
/// # Panics
/// Only if a key, a value or the pair count exceeds `u32::MAX`, which the
/// wire format cannot express ([`try_encode_map`] returns `None` instead).
pub fn encode_map<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    try_encode_map(pairs).expect("length exceeds the u32 the map format allows")
}

/// Like [`encode_map`], but `None` when a key, a value or the pair count
/// exceeds `u32::MAX`, or the whole map `usize::MAX` bytes (which slices
/// that repeat one large value can claim), instead of a panic.
pub fn try_encode_map<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Option<Vec<u8>> {
    let as_u32 = |n: usize| u32::try_from(n).ok();
    let table = pairs.len().checked_mul(8)?.checked_add(4)?;
    let size = pairs.iter().try_fold(table, |size, (k, v)| {
        size.checked_add(k.as_ref().len())?
            .checked_add(v.as_ref().len())?
            .checked_add(2)
    })?;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&as_u32(pairs.len())?.to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&as_u32(k.as_ref().len())?.to_le_bytes());
        out.extend_from_slice(&as_u32(v.as_ref().len())?.to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    Some(out)
}

/// The length of [`encode_map`]'s output for `pairs`, without encoding
/// them: what `proxy_get_header_map_size` answers.
pub fn encoded_map_size<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> usize {
    let data: usize = pairs
        .iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2)
        .sum();
    4 + pairs.len() * 8 + data
}

/// A map serialized as it is filled (what a `Host` hands back to the
/// plugin through its `_into` methods): the
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

    /// The serialized map in its three parts, to be written one after
    /// another: the pair count, the sizes, the data.
    pub(crate) fn parts(&self) -> ([u8; 4], &[u8], &[u8]) {
        (self.count.to_le_bytes(), &self.sizes, &self.data)
    }

    /// The serialized map in one buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (count, sizes, data) = self.parts();
        let mut bytes = Vec::with_capacity(count.len() + sizes.len() + data.len());
        bytes.extend_from_slice(&count);
        bytes.extend_from_slice(sizes);
        bytes.extend_from_slice(data);
        bytes
    }

    /// The bytes its buffers hold on to.
    #[cfg(feature = "host")]
    pub(crate) fn capacity(&self) -> usize {
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

fn read_u32(bytes: &[u8], offset: usize) -> Result<usize, MapError> {
    let end = offset
        .checked_add(4)
        .ok_or(MapError::Truncated { offset, needed: 4 })?;
    let chunk = bytes
        .get(offset..end)
        .ok_or(MapError::Truncated { offset, needed: 4 })?;
    let mut word = [0u8; 4];
    word.copy_from_slice(chunk);
    // On 16-bit targets a u32 may not fit; treat it as more than is there.
    Ok(usize::try_from(u32::from_le_bytes(word)).unwrap_or(usize::MAX))
}

/// A decoded key and value, borrowed from the serialized bytes.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a serialized map into borrowed key/value slices, in order.
pub fn decode_map(bytes: &[u8]) -> Result<Vec<Pair<'_>>, MapError> {
    if bytes.is_empty() || bytes == [0] {
        return Ok(Vec::new());
    }
    let count = read_u32(bytes, 0)?;
    // The size table alone needs 8 bytes per pair: refuse counts the input
    // cannot hold before reserving anything.
    let table_end = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .filter(|end| *end <= bytes.len())
        .ok_or(MapError::Truncated {
            offset: 4,
            needed: count.saturating_mul(8),
        })?;
    let mut pairs = Vec::with_capacity(count);
    let mut data = table_end;
    let mut take = |len: usize| -> Result<&[u8], MapError> {
        let end = data
            .checked_add(len)
            .filter(|end| *end < bytes.len())
            .ok_or(MapError::Truncated {
                offset: data,
                needed: len.saturating_add(1),
            })?;
        if bytes[end] != 0 {
            return Err(MapError::MissingNul { offset: end });
        }
        let slice = &bytes[data..end];
        data = end + 1;
        Ok(slice)
    };
    for i in 0..count {
        let key_len = read_u32(bytes, 4 + i * 8)?;
        let value_len = read_u32(bytes, 8 + i * 8)?;
        let key = take(key_len)?;
        let value = take(value_len)?;
        pairs.push((key, value));
    }
    if data != bytes.len() {
        return Err(MapError::TrailingBytes {
            extra: bytes.len() - data,
        });
    }
    Ok(pairs)
}

/// Joins property path segments with NUL bytes: `["a", "b"]` is `a\0b`.
pub fn encode_path<S: AsRef<[u8]>>(segments: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(segment.as_ref());
    }
    out
}

/// Splits a property path into its segments; one trailing NUL is tolerated
/// (see [`PropertyPath::segments`]).
pub fn decode_path(bytes: &[u8]) -> Vec<&[u8]> {
    PropertyPath::new(bytes).segments().collect()
}

/// A property path as the plugin sent it: segments separated by NUL bytes,
/// borrowed from the plugin's memory.
///
/// What a generated host hands its `Host` for a `path` argument. Nothing is
/// split or copied up front: a host with flat keys looks up
/// [`as_bytes`](PropertyPath::as_bytes), exactly as sent (a trailing NUL
/// included); one with nested keys walks [`segments`](PropertyPath::segments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PropertyPath<'a>(&'a [u8]);

impl<'a> PropertyPath<'a> {
    /// The path in `bytes`, as a plugin serializes it.
    pub const fn new(bytes: &'a [u8]) -> Self {
        PropertyPath(bytes)
    }

    /// The bytes as the plugin sent them.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.0
    }

    /// Whether the plugin sent no bytes.
    pub const fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The segments, in order. A path ends at a single trailing NUL, which
    /// SDKs add after the last segment (`a\0b\0` is `a`, `b`); a second one
    /// makes an empty last segment (`a\0\0` is `a`, ``). No bytes are no
    /// segments.
    pub fn segments(self) -> impl Iterator<Item = &'a [u8]> + Clone + 'a {
        let trimmed = self.0.strip_suffix(&[0]).unwrap_or(self.0);
        let count = if trimmed.is_empty() { 0 } else { usize::MAX };
        trimmed.split(|b| *b == 0).take(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn a_map_out_serializes_as_encode_map_does() {
        let pairs: [(&[u8], &[u8]); 3] = [(b"a", b"1"), (b"", b""), (b"key", b"value")];
        let mut out = MapOut::new();
        out.extend(pairs);
        assert_eq!(out.len(), 3);
        assert_eq!(out.to_bytes(), encode_map(&pairs));
        assert_eq!(out.serialized_size(), Some(encoded_map_size(&pairs) as u32));
        out.clear();
        assert!(out.is_empty());
        assert_eq!(out.to_bytes(), encode_map::<&[u8], &[u8]>(&[]));
    }

    #[test]
    fn round_trips_pairs_in_order() {
        let pairs: &[(&[u8], &[u8])] = &[(b"a", b"1"), (b"b", b"22"), (b"", b""), (b"a", b"3")];
        let bytes = encode_map(pairs);
        assert_eq!(decode_map(&bytes).unwrap(), pairs.to_vec());
        assert_eq!(encoded_map_size(pairs), bytes.len());
        assert_eq!(encoded_map_size::<&[u8], &[u8]>(&[]), 4);
    }

    #[test]
    fn try_encode_map_is_encode_map_where_both_succeed() {
        let pairs = [("key", "value"), ("", "")];
        assert_eq!(try_encode_map(&pairs), Some(encode_map(&pairs)));
        assert_eq!(try_encode_map::<&str, &str>(&[]), Some(vec![0, 0, 0, 0]));
    }

    #[test]
    fn empty_map_has_three_spellings() {
        assert_eq!(decode_map(&[]).unwrap(), vec![]);
        assert_eq!(decode_map(&[0]).unwrap(), vec![]);
        assert_eq!(
            decode_map(&encode_map::<&[u8], &[u8]>(&[])).unwrap(),
            vec![]
        );
    }

    #[test]
    fn rejects_malformed_input_without_panicking() {
        let good = encode_map(&[("key", "value")]);
        for len in 0..good.len() {
            let cut = &good[..len];
            if len > 1 {
                assert!(decode_map(cut).is_err(), "prefix of {len} bytes accepted");
            }
        }
        let mut bad_nul = good.clone();
        let last = bad_nul.len() - 1;
        bad_nul[last] = b'x';
        assert_eq!(
            decode_map(&bad_nul),
            Err(MapError::MissingNul { offset: last })
        );
        let mut trailing = good.clone();
        trailing.push(7);
        assert_eq!(
            decode_map(&trailing),
            Err(MapError::TrailingBytes { extra: 1 })
        );
        let huge_count = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(matches!(
            decode_map(&huge_count),
            Err(MapError::Truncated { .. })
        ));
        let huge_len = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            decode_map(&huge_len),
            Err(MapError::Truncated { .. })
        ));
    }

    #[test]
    fn paths_are_nul_separated() {
        assert_eq!(encode_path(&["foo", "bar"]), b"foo\0bar");
        assert_eq!(decode_path(b"foo\0bar"), vec![&b"foo"[..], b"bar"]);
        assert_eq!(decode_path(b"foo\0bar\0"), vec![&b"foo"[..], b"bar"]);
        assert_eq!(decode_path(b""), Vec::<&[u8]>::new());
    }

    #[test]
    fn a_property_path_keeps_its_bytes_and_splits_on_demand() {
        let path = PropertyPath::new(b"request\0headers\0");
        assert_eq!(path.as_bytes(), b"request\0headers\0");
        let segments: Vec<&[u8]> = path.segments().collect();
        assert_eq!(segments, [&b"request"[..], b"headers"]);
        // A second trailing NUL is an empty last segment, not dropped.
        let doubled: Vec<&[u8]> = PropertyPath::new(b"a\0\0").segments().collect();
        assert_eq!(doubled, [&b"a"[..], b""]);
        // A lone NUL is one empty segment's end: no segments; so is nothing.
        assert_eq!(PropertyPath::new(b"\0").segments().count(), 0);
        assert_eq!(PropertyPath::new(b"").segments().count(), 0);
        assert!(PropertyPath::new(b"").is_empty());
        // Empty segments in the middle stay.
        let gaps: Vec<&[u8]> = PropertyPath::new(b"a\0\0b").segments().collect();
        assert_eq!(gaps, [&b"a"[..], b"", b"b"]);
    }
}
