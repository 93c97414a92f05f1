//! A set of bytes, as four words.

/// Which of the 256 byte values are in the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    pub fn empty() -> Self {
        ByteSet([0; 4])
    }

    pub fn range(lo: u8, hi: u8) -> Self {
        let mut s = Self::empty();
        for b in lo..=hi {
            s.insert(b);
        }
        s
    }

    pub fn insert(&mut self, b: u8) {
        if let Some(w) = self.0.get_mut(usize::from(b >> 6)) {
            *w |= 1 << (b & 63);
        }
    }

    pub fn contains(&self, b: u8) -> bool {
        self.0.get(usize::from(b >> 6)).is_some_and(|w| w >> (b & 63) & 1 == 1)
    }

    pub fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// The ASCII bytes not in the set (the others stay out: a negated class's non-ASCII
    /// side is whole characters, not bytes).
    pub fn ascii_complement(&self) -> Self {
        let mut s = Self::empty();
        for b in 0..0x80u8 {
            if !self.contains(b) {
                s.insert(b);
            }
        }
        s
    }

    /// With both cases of every ASCII letter in it.
    pub fn fold_ascii_case(&self) -> Self {
        let mut s = *self;
        for b in b'a'..=b'z' {
            let upper = b.to_ascii_uppercase();
            if self.contains(b) || self.contains(upper) {
                s.insert(b);
                s.insert(upper);
            }
        }
        s
    }
}
