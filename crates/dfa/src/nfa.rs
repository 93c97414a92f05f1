//! The tree to a Thompson NFA over bytes: nodes that read one byte of a set, and empty
//! moves (splits, gotos, and the start and end assertions).

use crate::parse::Ast;
use crate::set::ByteSet;

/// One NFA node; targets are node indices.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    /// Reads one byte of the set.
    Set(ByteSet, u32),
    Split(u32, u32),
    Goto(u32),
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
}

impl Nfa {
    pub fn compile(ast: &Ast) -> Option<Nfa> {
        let mut nfa = Nfa { nodes: vec![Node::Match], start: 0 };
        nfa.start = nfa.go(ast, 0)?;
        Some(nfa)
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
            Ast::Repeat(item, min, max) => {
                let mut at = match max {
                    None => {
                        let again = self.push(Node::Goto(next))?;
                        let body = self.go(item, again)?;
                        self.set(again, Node::Split(body, next));
                        again
                    }
                    Some(max) => {
                        // Each optional copy may end the repetition.
                        let mut at = next;
                        for _ in *min..*max {
                            let body = self.go(item, at)?;
                            at = self.push(Node::Split(body, next))?;
                        }
                        at
                    }
                };
                for _ in 0..*min {
                    at = self.go(item, at)?;
                }
                Some(at)
            }
            Ast::Start => self.push(Node::Start(next)),
            Ast::End => self.push(Node::End(next)),
        }
    }
}
