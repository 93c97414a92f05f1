//! Where a pattern matches and what its groups hold, exactly as regex-lite reports them
//! (leftmost-first), in two passes over the text: a table load per byte backwards, then a
//! few steps per byte forwards, where regex-lite's PikeVM spends thousands.
//!
//! The backward pass runs a DFA whose state at a position is the set of the NFA's reading
//! nodes from which the rest of the text can reach a match ("viable" nodes). The forward
//! pass follows one path: from each node it takes the first move, in the NFA's order of
//! preference, that lands on a viable node (or on the match). That is the first matching
//! path in that order, the one backtracking finds and the PikeVM reports; no step is ever
//! undone, so a 60 KiB path costs a few hundred thousand instructions.

use crate::build::{representatives, States, MAX_ENTRIES};
use crate::nfa::{Nfa, Node};

/// The node of an [`Entry`] that is the match.
const MATCHED: u32 = u32::MAX;
/// No entry (in [`Finder::step`] and [`Finder::start_step`]).
const NONE: u32 = u32::MAX;
/// In [`Finder::back`]: a match can start at a position in that state (inside the text).
const STARTS: u16 = 1 << 15;
/// In [`Finder::step`]: the low bits are an entry's index (its move saves slots, or is the
/// match); without it, they are the next reading node itself (the usual case).
const ENTRY: u32 = 1 << 31;
/// Closures holding more entries and saves than this are left to regex-lite.
const MAX_CLOSURE_ENTRIES: usize = 64 * 1024;
/// Nor may the step table have more entries than this (four bytes each).
const MAX_STEPS: usize = 64 * 1024;

/// A node a closure reaches (a reading node by its index in [`Finder::reading`], or
/// [`MATCHED`]) and the group slots set on the way (a range of [`Finder::saves`]; all at
/// the closure's position).
#[derive(Debug, Clone, Copy)]
struct Entry {
    node: u32,
    saves: (u32, u32),
}

/// The two passes' tables, built with the pattern's DFA.
#[derive(Debug, Clone)]
pub struct Finder {
    /// The NFA, for the closures at the text's ends (once per match, not per byte).
    nodes: Vec<Node>,
    /// By NFA node: its reading index, or [`NONE`].
    dense: Vec<u32>,
    /// How many reading nodes.
    reading: usize,
    start: u32,
    slots: usize,
    classes: [u8; 256],
    stride: usize,
    /// The backward DFA: `back[state * stride + class]` is the state a byte earlier, with
    /// [`STARTS`] when a match can start there. State 0 is the end of the text; every other
    /// state is a position inside it.
    back: Vec<u16>,
    /// Each state's viable reading nodes, a bitset of `words` words.
    viable: Vec<u64>,
    words: usize,
    /// The forward pass's only table: `step[state * reading + node]`, the move taken after
    /// reading node `node` read its byte and the position's state is `state`: the next
    /// reading node, or [`ENTRY`] and the index of an entry that saves slots or is the match.
    step: Vec<u32>,
    /// By state: the entry a match starts with at a position inside the text, if any.
    start_step: Vec<u32>,
    entries: Vec<Entry>,
    saves: Vec<u32>,
}

/// The tables disagree with the text (not expected): the caller asks regex-lite instead.
#[derive(Debug)]
pub struct Broken;

impl Finder {
    /// The tables for `nfa`, whose bytes fall in `classes` (the forward DFA's); `None` when
    /// they would be too large.
    pub fn new(nfa: &Nfa, classes: [u8; 256], stride: usize) -> Option<Finder> {
        let nodes = nfa.nodes.clone();
        let mut dense = vec![NONE; nodes.len()];
        let mut reading = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            if let Node::Set(set, next) = node {
                *dense.get_mut(n)? = reading.len() as u32;
                reading.push((*set, *next));
            }
        }
        // Closures: the start's inside the text, and after each reading node, inside the
        // text and at its end.
        let (mut entries, mut saves) = (Vec::new(), Vec::new());
        let mut walk = Walk::new(nodes.len());
        let mut closure = |from: u32, at_end: bool| {
            let begin = entries.len() as u32;
            walk.closure(&nodes, from, false, at_end, &mut entries, &mut saves);
            (begin, entries.len() as u32)
        };
        let start_list = closure(nfa.start, false);
        let inside: Vec<(u32, u32)> = reading.iter().map(|(_, next)| closure(*next, false)).collect();
        let at_end: Vec<(u32, u32)> = reading.iter().map(|(_, next)| closure(*next, true)).collect();
        if entries.len() + saves.len() > MAX_CLOSURE_ENTRIES {
            return None;
        }
        for e in &mut entries {
            if e.node != MATCHED {
                e.node = *dense.get(e.node as usize)?;
            }
        }
        let mut finder = Finder {
            words: reading.len().div_ceil(64),
            reading: reading.len(),
            nodes,
            dense,
            start: nfa.start,
            slots: nfa.slots as usize,
            classes,
            stride,
            back: Vec::new(),
            viable: Vec::new(),
            step: Vec::new(),
            start_step: Vec::new(),
            entries,
            saves,
        };
        let states = finder.backward(&reading, &inside, &at_end)?;
        if states.checked_mul(finder.reading)? > MAX_STEPS {
            return None;
        }
        for state in 0..states as u16 {
            for (inside, at_end) in inside.iter().zip(&at_end) {
                let list = if state == 0 { *at_end } else { *inside };
                let taken = finder.first(list, state).map_or(NONE, |at| match finder.entries.get(at as usize) {
                    Some(e) if e.node != MATCHED && e.saves.0 == e.saves.1 => e.node,
                    _ => ENTRY | at,
                });
                finder.step.push(taken);
            }
            let starts = if state == 0 { NONE } else { finder.first(start_list, state).unwrap_or(NONE) };
            finder.start_step.push(starts);
        }
        // Every move into a state where a match can start says so itself: the backward pass
        // reads no other table.
        let Finder { back, start_step, .. } = &mut finder;
        for next in back.iter_mut() {
            if start_step.get(usize::from(*next)).is_some_and(|&s| s != NONE) {
                *next |= STARTS;
            }
        }
        Some(finder)
    }

    /// Builds the backward DFA, and returns how many states it has: from the set viable
    /// at a position, the set viable a byte earlier holds each reading node that takes the
    /// byte and goes on to the match or to a node of the set (at the end of the text: to
    /// the match, `$` passing).
    fn backward(
        &mut self,
        reading: &[(crate::set::ByteSet, u32)],
        inside: &[(u32, u32)],
        at_end: &[(u32, u32)],
    ) -> Option<usize> {
        // Per reading node: the reading nodes after it, whether the match is after it
        // inside the text, and whether at its end.
        let mut after = Vec::new();
        for (list, end) in inside.iter().zip(at_end) {
            let mut set = vec![0u64; self.words];
            let list = self.entries.get(list.0 as usize..list.1 as usize)?;
            for e in list.iter().filter(|e| e.node != MATCHED) {
                *set.get_mut(e.node as usize / 64)? |= 1 << (e.node % 64);
            }
            let matched = |l: &[Entry]| l.iter().any(|e| e.node == MATCHED);
            let end = self.entries.get(end.0 as usize..end.1 as usize)?;
            after.push((set, matched(list), matched(end)));
        }
        let reps = representatives(&self.classes, self.stride);
        let mut states = States::new(0);
        states.add((vec![0; self.words], true))?;
        let mut at = 0;
        while let Some((set, is_end)) = states.key(at).cloned() {
            self.viable.extend_from_slice(&set);
            for &rep in &reps {
                let mut earlier = vec![0u64; self.words];
                for (n, ((bytes, _), (next, inside, end))) in reading.iter().zip(&after).enumerate() {
                    let goes_on = if is_end { *end } else { *inside || next.iter().zip(&set).any(|(a, s)| a & s != 0) };
                    if goes_on && bytes.contains(rep) {
                        *earlier.get_mut(n / 64)? |= 1 << (n % 64);
                    }
                }
                self.back.push(states.add((earlier, false))?);
            }
            if self.back.len() > MAX_ENTRIES {
                return None;
            }
            at += 1;
        }
        Some(at)
    }

    /// Whether reading node `node` is viable in `state`.
    fn is_viable(&self, state: u16, node: u32) -> bool {
        let word = usize::from(state) * self.words + node as usize / 64;
        self.viable.get(word).is_some_and(|w| w >> (node % 64) & 1 == 1)
    }

    /// The index of the first entry of `list` that is the match or viable in `state`.
    fn first(&self, list: (u32, u32), state: u16) -> Option<u32> {
        (list.0..list.1)
            .find(|&i| self.entries.get(i as usize).is_some_and(|e| e.node == MATCHED || self.is_viable(state, e.node)))
    }

    fn saved(&self, e: &Entry) -> &[u32] {
        self.saves.get(e.saves.0 as usize..e.saves.1 as usize).unwrap_or_default()
    }

    /// Every match in `text` and its groups, as regex-lite's `captures_iter` yields them (an
    /// empty match right where the previous one ended is skipped, the search going on a
    /// character later): [`Finder::width`] slots per match, one after another.
    pub fn find_all(&self, text: &str) -> Result<Vec<Option<usize>>, Broken> {
        let bytes = text.as_bytes();
        let (states, leftmost) = self.backward_pass(bytes)?;
        let mut found = Vec::new();
        let bounds =
            |found: &[Option<usize>], at: usize| Some((found.get(at).copied()??, found.get(at + 1).copied()??));
        let (mut at, mut last_end) = (0, None);
        loop {
            let base = found.len();
            if !self.search(bytes, &states, at, leftmost, &mut found)? {
                break;
            }
            let (start, end) = bounds(&found, base).ok_or(Broken)?;
            if start >= end && Some(end) == last_end {
                found.truncate(base);
                at += text.get(at..).and_then(|t| t.chars().next()).map_or(1, char::len_utf8);
                if !self.search(bytes, &states, at, leftmost, &mut found)? {
                    break;
                }
            }
            let (_, end) = bounds(&found, base).ok_or(Broken)?;
            at = end;
            last_end = Some(end);
        }
        Ok(found)
    }

    /// The backward DFA's state at each position of `bytes` (and 0 past the end), and the
    /// leftmost position inside the text where a match can start (the length when none):
    /// the search for the first match starts there.
    fn backward_pass(&self, bytes: &[u8]) -> Result<(Vec<u16>, usize), Broken> {
        let len = bytes.len();
        let mut states = vec![0u16; len + 1];
        let step = |state: u16, b: u8| {
            let class = usize::from(self.classes.get(usize::from(b)).copied().unwrap_or(0));
            self.back.get(usize::from(state & !STARTS) * self.stride + class).copied().ok_or(Broken)
        };
        let (mut state, mut leftmost) = (0u16, len);
        let (mut eights, mut slots) =
            (bytes.rchunks_exact(8), states.get_mut(..len).ok_or(Broken)?.rchunks_exact_mut(8));
        let mut at = len;
        for (eight, slots) in (&mut eights).zip(&mut slots) {
            at -= 8;
            // Written out, last byte first: at opt-level `s` a loop of eight keeps its
            // counter and pointer arithmetic.
            if let (Ok(&[a, b, c, d, e, f, g, h]), Ok([o0, o1, o2, o3, o4, o5, o6, o7])) =
                (<&[u8; 8]>::try_from(eight), <&mut [u16; 8]>::try_from(slots))
            {
                let n7 = step(state, h)?;
                *o7 = n7 & !STARTS;
                let n6 = step(n7, g)?;
                *o6 = n6 & !STARTS;
                let n5 = step(n6, f)?;
                *o5 = n5 & !STARTS;
                let n4 = step(n5, e)?;
                *o4 = n4 & !STARTS;
                let n3 = step(n4, d)?;
                *o3 = n3 & !STARTS;
                let n2 = step(n3, c)?;
                *o2 = n2 & !STARTS;
                let n1 = step(n2, b)?;
                *o1 = n1 & !STARTS;
                let n0 = step(n1, a)?;
                *o0 = n0 & !STARTS;
                if (n0 | n1 | n2 | n3 | n4 | n5 | n6 | n7) & STARTS != 0 {
                    let flagged = [n0, n1, n2, n3, n4, n5, n6, n7];
                    leftmost = at + flagged.iter().position(|n| n & STARTS != 0).unwrap_or(0);
                }
                state = n0;
            }
        }
        for (j, (slot, &b)) in slots.into_remainder().iter_mut().zip(eights.remainder()).enumerate().rev() {
            state = step(state, b)?;
            if state & STARTS != 0 {
                leftmost = j;
            }
            *slot = state & !STARTS;
        }
        Ok((states, leftmost))
    }

    /// Slots per match.
    pub fn width(&self) -> usize {
        self.slots
    }

    /// The leftmost match starting at `from` or after (no match starts inside the text
    /// before `leftmost`): whether there is one, its slots appended to `out`.
    fn search(
        &self,
        text: &[u8],
        states: &[u16],
        from: usize,
        leftmost: usize,
        out: &mut Vec<Option<usize>>,
    ) -> Result<bool, Broken> {
        let len = text.len();
        if from == 0 {
            if let Some((node, saves)) = self.at_ends(self.start, true, len == 0, *states.first().ok_or(Broken)?) {
                return self.walk(states, 0, node, &saves, out).map(|()| true);
            }
        }
        for i in from.max(leftmost).max(1)..len {
            // Matches start between characters, as regex-lite's do.
            if text.get(i).is_some_and(|&b| (0x80..0xC0).contains(&b)) {
                continue;
            }
            let state = states.get(i).copied().ok_or(Broken)?;
            if let Some(e) = self.start_step.get(usize::from(state)).and_then(|&e| self.entries.get(e as usize)) {
                return self.walk(states, i, e.node, self.saved(e), out).map(|()| true);
            }
        }
        if from <= len && len > 0 {
            if let Some((node, saves)) = self.at_ends(self.start, false, true, 0) {
                return self.walk(states, len, node, &saves, out).map(|()| true);
            }
        }
        Ok(false)
    }

    /// The first entry of `from`'s closure at the start or the end of the text that is the
    /// match or viable in `state` (nothing is viable at the end), with its saves.
    fn at_ends(&self, from: u32, at_start: bool, at_end: bool, state: u16) -> Option<(u32, Vec<u32>)> {
        let (mut entries, mut saves) = (Vec::new(), Vec::new());
        Walk::new(self.nodes.len()).closure(&self.nodes, from, at_start, at_end, &mut entries, &mut saves);
        let dense = |n: u32| if n == MATCHED { Some(MATCHED) } else { self.dense.get(n as usize).copied() };
        let (node, e) = entries
            .iter()
            .filter_map(|e| Some((dense(e.node)?, e)))
            .find(|&(n, _)| n == MATCHED || (!at_end && self.is_viable(state, n)))?;
        Some((node, saves.get(e.saves.0 as usize..e.saves.1 as usize)?.to_vec()))
    }

    /// Follows the path from the match's start `i`, where the closure reached `node` after
    /// saving `saves`, to the match (one table load per byte), appending its slots to `out`.
    fn walk(
        &self,
        states: &[u16],
        i: usize,
        mut node: u32,
        saves: &[u32],
        out: &mut Vec<Option<usize>>,
    ) -> Result<(), Broken> {
        let base = out.len();
        out.resize(base + self.slots, None);
        let slots = out.get_mut(base..).ok_or(Broken)?;
        let save = |slots: &mut [Option<usize>], at: usize, which: &[u32]| {
            for &slot in which {
                if let Some(s) = slots.get_mut(slot as usize) {
                    *s = Some(at);
                }
            }
        };
        save(slots, i, saves);
        let mut j = i;
        while node != MATCHED {
            j += 1;
            let state = usize::from(*states.get(j).ok_or(Broken)?);
            let taken = *self.step.get(state * self.reading + node as usize).ok_or(Broken)?;
            if taken & ENTRY == 0 {
                node = taken;
                continue;
            }
            let e = self.entries.get((taken & !ENTRY) as usize).ok_or(Broken)?;
            save(slots, j, self.saved(e));
            node = e.node;
        }
        Ok(())
    }
}

/// Closures in the NFA's order of preference, with a stamp per node instead of a cleared
/// set.
struct Walk {
    seen: Vec<u32>,
    stamp: u32,
    /// Nodes to visit, each with the length of the path's saves when it was pushed.
    stack: Vec<(u32, usize)>,
    path: Vec<u32>,
}

impl Walk {
    fn new(nodes: usize) -> Walk {
        Walk { seen: vec![0; nodes], stamp: 0, stack: Vec::new(), path: Vec::new() }
    }

    /// Appends to `entries` the reading nodes and the match that empty moves from `from`
    /// reach, first path first, each with the slots saved on that path (to `saves`); a
    /// node reached again is not followed again (as the PikeVM does). Nothing after the
    /// match is kept: it would never be taken.
    fn closure(
        &mut self,
        nodes: &[Node],
        from: u32,
        at_start: bool,
        at_end: bool,
        entries: &mut Vec<Entry>,
        saves: &mut Vec<u32>,
    ) {
        self.stamp += 1;
        self.stack.clear();
        self.path.clear();
        self.stack.push((from, 0));
        while let Some((n, depth)) = self.stack.pop() {
            self.path.truncate(depth);
            match self.seen.get_mut(n as usize) {
                Some(s) if *s != self.stamp => *s = self.stamp,
                _ => continue,
            }
            let here = self.path.len();
            let reached = match nodes.get(n as usize) {
                Some(Node::Set(..)) => n,
                Some(Node::Match) => MATCHED,
                Some(Node::Split(a, b)) => {
                    self.stack.push((*b, here));
                    self.stack.push((*a, here));
                    continue;
                }
                Some(Node::Goto(a)) => {
                    self.stack.push((*a, here));
                    continue;
                }
                Some(Node::Save(slot, a)) => {
                    self.path.push(*slot);
                    self.stack.push((*a, here + 1));
                    continue;
                }
                Some(Node::Start(a)) => {
                    if at_start {
                        self.stack.push((*a, here));
                    }
                    continue;
                }
                Some(Node::End(a)) => {
                    if at_end {
                        self.stack.push((*a, here));
                    }
                    continue;
                }
                None => continue,
            };
            let begin = saves.len() as u32;
            saves.extend_from_slice(&self.path);
            entries.push(Entry { node: reached, saves: (begin, saves.len() as u32) });
            if reached == MATCHED {
                return;
            }
        }
    }
}
