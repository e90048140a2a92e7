//! A deterministic generator for the runtime's property tests, so a
//! failure reproduces from its seed.

/// xorshift64.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A u32 that is mostly near `around` but sometimes anywhere, so both
    /// the boundary and the overflow cases come up often.
    pub(crate) fn near(&mut self, around: u32) -> u32 {
        let r = self.next();
        match r % 4 {
            0 => (r >> 32) as u32,
            1 => u32::MAX - (r >> 40) as u32 % 8,
            _ => around.wrapping_add((r >> 32) as u32 % 16).wrapping_sub(8),
        }
    }
}
