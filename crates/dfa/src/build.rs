//! The NFA to a DFA by subset construction, all of it at once (config time): bytes the
//! NFA never tells apart share a class, so a row has a few dozen entries, not 256.
//!
//! A DFA state is a set of NFA nodes, kept as a bitset: canonical without sorting, and
//! found again through a small hash table (no `BTreeMap` or sort in the module: size
//! counts).

use crate::nfa::{Nfa, Node};
use crate::set::ByteSet;
use crate::{Dfa, DEAD, MATCH};

/// Patterns whose DFA has more states are left to `regex-lite`.
pub(crate) const MAX_STATES: usize = 2_000;
/// Nor may the table have more entries than this (four bytes each).
pub(crate) const MAX_ENTRIES: usize = 128 * 1024;

/// A set of NFA nodes, one bit per node, and whether it is the start of the text.
pub(crate) type Key = (Vec<u64>, bool);

pub fn build(nfa: &Nfa) -> Option<Dfa> {
    let (classes, stride) = byte_classes(nfa);
    let reps = representatives(&classes, stride);
    let words = nfa.nodes.len().div_ceil(64);
    let mut walk = Walk { nfa, seen: vec![0; nfa.nodes.len()], stamp: 0, stack: Vec::new(), words };

    // Rows hold state numbers until the end, then the offsets of their rows.
    let mut table = vec![DEAD; 2 * stride];
    table.iter_mut().skip(stride).for_each(|t| *t = MATCH);
    let mut at_end = vec![false, true];
    let mut states = States::new(2);

    let (first, matched) = walk.closure(&[nfa.start], true, false);
    if matched {
        let start = MATCH * stride as u32;
        return Some(Dfa { classes, stride, table: Vec::new(), at_end, start, replaced: Vec::new() });
    }
    let start = states.add((first, true))?;
    let mut at = usize::from(start);
    let mut seeds = Vec::new();
    while let Some((set, is_start)) = states.key(at).cloned() {
        let members: Vec<u32> = members(&set).collect();
        at_end.push(walk.closure(&members, is_start, true).1);
        for &rep in &reps {
            seeds.clear();
            seeds.extend(members.iter().filter_map(|&n| match nfa.nodes.get(n as usize) {
                Some(Node::Set(s, next)) if s.contains(rep) => Some(*next),
                _ => None,
            }));
            // Every state holds the pattern's start too: a match may begin at any byte.
            seeds.push(nfa.start);
            let (next, matched) = walk.closure(&seeds, false, false);
            let to = if matched {
                MATCH
            } else if next.iter().all(|&w| w == 0) {
                DEAD
            } else {
                u32::from(states.add((next, false))?)
            };
            table.push(to);
        }
        if table.len() > MAX_ENTRIES {
            return None;
        }
        at += 1;
    }
    let row = |state: u32| state * stride as u32;
    table.iter_mut().for_each(|t| *t = row(*t));
    let mut dfa = Dfa { classes, stride, table, at_end, start: row(u32::from(start)), replaced: Vec::new() };
    dfa.replaced = (0..dfa.at_end.len() as u32).map(|s| dfa.steps_through(row(s), "\u{FFFD}".as_bytes())).collect();
    Some(dfa)
}

/// One byte of each class, which stands for it.
pub(crate) fn representatives(classes: &[u8; 256], stride: usize) -> Vec<u8> {
    let mut reps = vec![0u8; stride];
    for (b, &c) in classes.iter().enumerate().rev() {
        if let Some(r) = reps.get_mut(usize::from(c)) {
            *r = b as u8;
        }
    }
    reps
}

/// The nodes of a bitset, in order.
pub(crate) fn members(set: &[u64]) -> impl Iterator<Item = u32> + '_ {
    set.iter().enumerate().flat_map(|(i, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let bit = w.trailing_zeros();
                w &= w - 1;
                (i * 64) as u32 + bit
            })
        })
    })
}

/// The DFA's states so far, by their key: a state's id is its place in `keys`.
pub(crate) struct States {
    keys: Vec<Key>,
    /// Ids by hash of their key.
    slots: Vec<Vec<u16>>,
}

impl States {
    /// No states but `reserved` placeholders (ids `0..reserved`), which no key finds.
    pub(crate) fn new(reserved: usize) -> Self {
        States { keys: vec![(Vec::new(), false); reserved], slots: vec![Vec::new(); 256] }
    }

    /// The key of state `id`.
    pub(crate) fn key(&self, id: usize) -> Option<&Key> {
        self.keys.get(id)
    }

    /// The id of the state `key`, added if new; `None` past [`MAX_STATES`].
    pub(crate) fn add(&mut self, key: Key) -> Option<u16> {
        let hash = key.0.iter().fold(u64::from(key.1), |h, &w| (h ^ w).wrapping_mul(0x0100_0000_01B3).rotate_left(29));
        let slot = (hash as usize) & (self.slots.len() - 1);
        let bucket = self.slots.get_mut(slot)?;
        if let Some(&id) = bucket.iter().find(|&&id| self.keys.get(usize::from(id)) == Some(&key)) {
            return Some(id);
        }
        if self.keys.len() >= MAX_STATES {
            return None;
        }
        let id = u16::try_from(self.keys.len()).ok()?;
        bucket.push(id);
        self.keys.push(key);
        Some(id)
    }
}

/// Each byte's class, and how many classes: two bytes share one when every set of the NFA
/// has both or neither.
fn byte_classes(nfa: &Nfa) -> ([u8; 256], usize) {
    let mut distinct: Vec<ByteSet> = Vec::new();
    for node in &nfa.nodes {
        if let Node::Set(s, _) = node {
            if !distinct.contains(s) {
                distinct.push(*s);
            }
        }
    }
    let mut class = [0u8; 256];
    let mut count = 1usize;
    for set in &distinct {
        // Each class splits into the bytes in `set` and those not.
        let mut renamed: Vec<Option<u8>> = vec![None; 2 * count];
        let mut next = 0usize;
        for (b, c) in class.iter_mut().enumerate() {
            let key = 2 * usize::from(*c) + usize::from(set.contains(b as u8));
            if let Some(slot) = renamed.get_mut(key) {
                let id = *slot.get_or_insert_with(|| {
                    next += 1;
                    (next - 1) as u8
                });
                *c = id;
            }
        }
        count = next;
    }
    (class, count)
}

/// Empty-move closures over the NFA, with a stamp per node instead of a cleared set.
struct Walk<'a> {
    nfa: &'a Nfa,
    seen: Vec<u32>,
    stamp: u32,
    stack: Vec<u32>,
    /// Words in a node bitset.
    words: usize,
}

impl Walk<'_> {
    /// The reading nodes (and pending end assertions) reached from `seeds` by empty moves,
    /// as a bitset, and whether `Match` is among them. `Start` passes only `at_start`,
    /// `End` only `at_end` (else it stays in the set, pending).
    fn closure(&mut self, seeds: &[u32], at_start: bool, at_end: bool) -> (Vec<u64>, bool) {
        self.stamp += 1;
        let mut out = vec![0u64; self.words];
        let mut matched = false;
        self.stack.clear();
        self.stack.extend(seeds.iter().rev());
        while let Some(n) = self.stack.pop() {
            match self.seen.get_mut(n as usize) {
                Some(s) if *s != self.stamp => *s = self.stamp,
                _ => continue,
            }
            let keep = match self.nfa.nodes.get(n as usize) {
                Some(Node::Set(..)) => true,
                Some(Node::Split(a, b)) => {
                    self.stack.push(*b);
                    self.stack.push(*a);
                    false
                }
                Some(Node::Goto(a) | Node::Save(_, a)) => {
                    self.stack.push(*a);
                    false
                }
                Some(Node::Start(a)) => {
                    if at_start {
                        self.stack.push(*a);
                    }
                    false
                }
                Some(Node::End(a)) => {
                    if at_end {
                        self.stack.push(*a);
                    }
                    !at_end
                }
                Some(Node::Match) => {
                    matched = true;
                    false
                }
                None => false,
            };
            if let (true, Some(w)) = (keep, out.get_mut(n as usize / 64)) {
                *w |= 1 << (n % 64);
            }
        }
        (out, matched)
    }
}
