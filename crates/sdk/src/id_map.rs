//! Maps keyed by the ids a host hands out (context ids, callout tokens), looked up on every
//! callback. The host counts these ids up from 1, so the low bits of an id already spread
//! the live ones over a table: an open-addressed table indexed by `id & mask` finds an entry
//! in a load and a compare, where a general hash map spends about a hundred instructions
//! per lookup in wasm. Ids are the host's, never a client's, so nothing can aim collisions.

/// A map from host ids to `V`: linear probing, at most half full, deletion by backward shift
/// (no tombstones, so a long-lived VM does not slow down).
pub(crate) struct IdMap<V> {
    /// A power-of-two number of slots, or none before the first insert.
    slots: Vec<Option<(u32, V)>>,
    len: usize,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap::new()
    }
}

/// Slots of the first table; it doubles when half full.
const FIRST_CAPACITY: usize = 16;

impl<V> IdMap<V> {
    /// An empty map (`const`, so a thread-local map needs no lazy initialisation).
    pub(crate) const fn new() -> Self {
        IdMap { slots: Vec::new(), len: 0 }
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `id`, if any.
    fn find(&self, id: u32) -> Option<usize> {
        let mask = self.mask();
        let mut i = id as usize & mask;
        // At most half the slots are used, so an empty one ends every probe.
        loop {
            match self.slots.get(i)? {
                Some((key, _)) if *key == id => return Some(i),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }

    pub(crate) fn get(&self, id: &u32) -> Option<&V> {
        let mask = self.mask();
        let mut i = *id as usize & mask;
        loop {
            match self.slots.get(i)? {
                Some((key, value)) if key == id => return Some(value),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }

    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut V> {
        let i = self.find(*id)?;
        self.slots.get_mut(i)?.as_mut().map(|(_, v)| v)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, id: u32, value: V) -> Option<V> {
        if let Some(i) = self.find(id) {
            let slot = self.slots.get_mut(i)?;
            return slot.replace((id, value)).map(|(_, v)| v);
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(id, value);
        self.len += 1;
        None
    }

    /// The value of `id`, inserting `make()` first when there is none.
    pub(crate) fn get_or_insert_with(&mut self, id: u32, make: impl FnOnce() -> V) -> Option<&mut V> {
        if self.find(id).is_none() {
            self.insert(id, make());
        }
        self.get_mut(&id)
    }

    pub(crate) fn remove(&mut self, id: &u32) -> Option<V> {
        let mut hole = self.find(*id)?;
        let (_, value) = self.slots.get_mut(hole)?.take()?;
        self.len -= 1;
        // Backward shift: pull later entries of the probe run into the hole when their home
        // slot is at or before it, so every entry stays reachable from its home.
        let mask = self.mask();
        let mut j = (hole + 1) & mask;
        while let Some(Some((key, _))) = self.slots.get(j) {
            let home = *key as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots.swap(hole, j);
                hole = j;
            }
            j = (j + 1) & mask;
        }
        Some(value)
    }

    /// Keeps the entries for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&u32, &mut V) -> bool) {
        let doomed: Vec<u32> = self
            .slots
            .iter_mut()
            .filter_map(|slot| {
                let (id, value) = slot.as_mut()?;
                (!keep(id, value)).then_some(*id)
            })
            .collect();
        for id in doomed {
            self.remove(&id);
        }
    }

    /// Puts an entry in the first free slot of its probe run (the table has room).
    fn place(&mut self, id: u32, value: V) {
        let mask = self.mask();
        let mut i = id as usize & mask;
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.is_none() {
                *slot = Some((id, value));
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(FIRST_CAPACITY);
        let old = std::mem::replace(&mut self.slots, (0..capacity).map(|_| None).collect());
        for (id, value) in old.into_iter().flatten() {
            self.place(id, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_hash_map() {
        // A deterministic mix of inserts, replacements and removals over colliding ids.
        let mut map: IdMap<u64> = IdMap::default();
        let mut model: HashMap<u32, u64> = HashMap::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Ids that share low bits collide in the table.
            let id = ((x % 64) as u32) * if x.is_multiple_of(3) { 16 } else { 1 };
            match x % 5 {
                0..=2 => assert_eq!(map.insert(id, step), model.insert(id, step)),
                _ => assert_eq!(map.remove(&id), model.remove(&id)),
            }
            assert_eq!(map.len(), model.len());
            for (k, v) in &model {
                assert_eq!(map.get(k), Some(v), "step {step}, id {k}");
            }
        }
        map.retain(|id, _| id % 2 == 0);
        model.retain(|id, _| id % 2 == 0);
        assert_eq!(map.len(), model.len());
        for id in 0..2000 {
            assert_eq!(map.get(&id), model.get(&id));
        }
    }

    #[test]
    fn sequential_ids_grow_and_shrink() {
        let mut map: IdMap<u32> = IdMap::default();
        assert!(map.get(&1).is_none() && map.is_empty());
        for id in 1..=1000 {
            map.insert(id, id * 2);
        }
        assert_eq!(map.get(&999), Some(&1998));
        for id in 1..=990 {
            assert_eq!(map.remove(&id), Some(id * 2));
        }
        assert_eq!(map.len(), 10);
        assert_eq!(map.get(&995), Some(&1990));
        *map.get_or_insert_with(7, || 70).unwrap() += 1;
        assert_eq!(map.get(&7), Some(&71));
        assert_eq!(map.get_or_insert_with(995, || 0).copied(), Some(1990));
        assert_eq!(map.get_mut(&u32::MAX), None);
    }
}
