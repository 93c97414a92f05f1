//! The tree to a Thompson NFA over bytes: nodes that read one byte of a set, and empty
//! moves (splits, gotos, group boundaries, and the start and end assertions).
//!
//! Splits are ordered (the first target is preferred) and repetitions take regex-lite's
//! shapes, so that the first path to a match in that order is the one regex-lite reports,
//! groups included ([`crate::groups`]).

use crate::parse::Ast;
use crate::set::ByteSet;

/// One NFA node; targets are node indices.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    /// Reads one byte of the set.
    Set(ByteSet, u32),
    /// An empty move to either; the first is preferred.
    Split(u32, u32),
    Goto(u32),
    /// Records the position in a group slot (`2 * index` its start, `+ 1` its end).
    Save(u32, u32),
    /// Passes only at the start of the text.
    Start(u32),
    /// Passes only at the end of the text.
    End(u32),
    Match,
}

/// Patterns whose NFA would be larger (long counted repetitions) are left to `regex-lite`.
const MAX_NODES: usize = 10_000;

pub struct Nfa {
    pub nodes: Vec<Node>,
    pub start: u32,
    /// Group slots, group 0 (the whole match) included.
    pub slots: u32,
}

impl Nfa {
    pub fn compile(ast: &Ast) -> Option<Nfa> {
        let mut nfa = Nfa { nodes: vec![Node::Match], start: 0, slots: 2 };
        nfa.start = nfa.go(&Ast::Group(Box::new(ast.clone()), 0), 0)?;
        Some(nfa)
    }

    /// A split to `more` then `done` when greedy, the other way round when lazy.
    fn split(&mut self, greedy: bool, more: u32, done: u32) -> Option<u32> {
        self.push(if greedy { Node::Split(more, done) } else { Node::Split(done, more) })
    }

    /// `item` at least `min` times, as regex-lite builds it: `x*` is one split that loops
    /// (`(x+)?` when `x` can match nothing, for the order of its paths), `x+` is `x` then a
    /// split back, `x{n,}` is `x{n-1}x+`.
    fn at_least(&mut self, item: &Ast, min: u32, greedy: bool, next: u32) -> Option<u32> {
        let again = self.push(Node::Goto(next))?;
        let body = self.go(item, again)?;
        let split = if greedy { Node::Split(body, next) } else { Node::Split(next, body) };
        self.set(again, split);
        let mut at = match min {
            0 if can_be_empty(item) => self.split(greedy, body, next)?,
            0 => return Some(again),
            _ => body,
        };
        for _ in 1..min {
            at = self.go(item, at)?;
        }
        Some(at)
    }

    fn push(&mut self, node: Node) -> Option<u32> {
        if self.nodes.len() >= MAX_NODES {
            return None;
        }
        self.nodes.push(node);
        u32::try_from(self.nodes.len() - 1).ok()
    }

    fn set(&mut self, at: u32, node: Node) {
        if let Some(slot) = self.nodes.get_mut(at as usize) {
            *slot = node;
        }
    }

    /// The nodes for `ast`, going on to `next`; the index of the first.
    fn go(&mut self, ast: &Ast, next: u32) -> Option<u32> {
        match ast {
            Ast::Empty => Some(next),
            Ast::Set(set) => self.push(Node::Set(*set, next)),
            Ast::NonAscii => {
                // A lead byte, then continuation bytes: on valid UTF-8 they are exactly the
                // character's, and nothing after can start with one.
                let more = self.push(Node::Goto(next))?;
                let continuation = self.push(Node::Set(ByteSet::range(0x80, 0xBF), more))?;
                self.set(more, Node::Split(continuation, next));
                self.push(Node::Set(ByteSet::range(0xC0, 0xFF), more))
            }
            Ast::Concat(items) => {
                let mut at = next;
                for item in items.iter().rev() {
                    at = self.go(item, at)?;
                }
                Some(at)
            }
            Ast::Alt(items) => {
                let (last, rest) = items.split_last()?;
                let mut at = self.go(last, next)?;
                for item in rest.iter().rev() {
                    let first = self.go(item, next)?;
                    at = self.push(Node::Split(first, at))?;
                }
                Some(at)
            }
            Ast::Repeat(item, min, None, greedy) => self.at_least(item, *min, *greedy, next),
            Ast::Repeat(item, min, Some(max), greedy) => {
                // Each optional copy may end the repetition.
                let mut at = next;
                for _ in *min..*max {
                    let body = self.go(item, at)?;
                    at = self.split(*greedy, body, next)?;
                }
                for _ in 0..*min {
                    at = self.go(item, at)?;
                }
                Some(at)
            }
            Ast::Group(item, index) => {
                let slot = index.checked_mul(2)?;
                self.slots = self.slots.max(slot + 2);
                let end = self.push(Node::Save(slot + 1, next))?;
                let body = self.go(item, end)?;
                self.push(Node::Save(slot, body))
            }
            Ast::Start => self.push(Node::Start(next)),
            Ast::End => self.push(Node::End(next)),
        }
    }
}

/// Whether `ast` can match the empty text (assertions count as empty).
fn can_be_empty(ast: &Ast) -> bool {
    match ast {
        Ast::Empty | Ast::Start | Ast::End => true,
        Ast::Set(_) | Ast::NonAscii => false,
        Ast::Concat(items) => items.iter().all(can_be_empty),
        Ast::Alt(items) => items.iter().any(can_be_empty),
        Ast::Repeat(item, min, ..) => *min == 0 || can_be_empty(item),
        Ast::Group(item, _) => can_be_empty(item),
    }
}
