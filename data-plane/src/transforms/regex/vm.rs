//! Compiles the parsed pattern to a small instruction program and runs it
//! with a bounded backtracker: alternatives are tried in Java's priority
//! order (so captures equal `java.util.regex`'s), and each
//! (instruction, position) pair is explored at most once, which keeps the
//! cost linear in pattern × input instead of exponential.

use super::class::Class;
use super::parse::Node;
use super::Error;

/// Guards memory: the visited set is program length × input length bits.
const MAX_PROGRAM: usize = 20_000;

#[derive(Debug, Clone)]
pub(super) enum Inst {
    Char(char),
    Class(Class),
    Any,
    AnyAll,
    /// Try the first target, then the second.
    Split(usize, usize),
    Jmp(usize),
    Save(usize),
    Start,
    End,
    EndAbsolute,
    WordBoundary(bool),
    Match,
}

pub(super) fn compile(node: &Node) -> Result<Vec<Inst>, Error> {
    let mut c = Compiler { prog: Vec::new() };
    c.emit_node(node)?;
    c.push(Inst::Match)?;
    Ok(c.prog)
}

struct Compiler {
    prog: Vec<Inst>,
}

impl Compiler {
    fn push(&mut self, inst: Inst) -> Result<usize, Error> {
        if self.prog.len() >= MAX_PROGRAM {
            return Err(Error("pattern is too large".into()));
        }
        self.prog.push(inst);
        Ok(self.prog.len() - 1)
    }

    fn pc(&self) -> usize {
        self.prog.len()
    }

    fn patch_split(&mut self, at: usize, first: usize, second: usize) {
        self.prog[at] = Inst::Split(first, second);
    }

    fn emit_node(&mut self, node: &Node) -> Result<(), Error> {
        match node {
            Node::Empty => {}
            Node::Char(c) => {
                self.push(Inst::Char(*c))?;
            }
            Node::Class(class) => {
                self.push(Inst::Class(class.clone()))?;
            }
            Node::Any => {
                self.push(Inst::Any)?;
            }
            Node::AnyAll => {
                self.push(Inst::AnyAll)?;
            }
            Node::Start => {
                self.push(Inst::Start)?;
            }
            Node::End => {
                self.push(Inst::End)?;
            }
            Node::EndAbsolute => {
                self.push(Inst::EndAbsolute)?;
            }
            Node::WordBoundary(b) => {
                self.push(Inst::WordBoundary(*b))?;
            }
            Node::Group(inner, capture) => {
                if let Some(n) = capture {
                    self.push(Inst::Save(2 * n))?;
                }
                self.emit_node(inner)?;
                if let Some(n) = capture {
                    self.push(Inst::Save(2 * n + 1))?;
                }
            }
            Node::Concat(items) => {
                for item in items {
                    self.emit_node(item)?;
                }
            }
            Node::Alt(branches) => self.emit_alt(branches)?,
            Node::Repeat {
                node,
                min,
                max,
                greedy,
            } => self.emit_repeat(node, *min, *max, *greedy)?,
        }
        Ok(())
    }

    fn emit_alt(&mut self, branches: &[Node]) -> Result<(), Error> {
        let mut jumps_to_end = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            if i + 1 == branches.len() {
                self.emit_node(branch)?;
            } else {
                let split = self.push(Inst::Split(0, 0))?;
                self.emit_node(branch)?;
                jumps_to_end.push(self.push(Inst::Jmp(0))?);
                let next = self.pc();
                self.patch_split(split, split + 1, next);
            }
        }
        let end = self.pc();
        for j in jumps_to_end {
            self.prog[j] = Inst::Jmp(end);
        }
        Ok(())
    }

    fn emit_repeat(
        &mut self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    ) -> Result<(), Error> {
        for _ in 0..min {
            self.emit_node(node)?;
        }
        match max {
            None => {
                // L: split(body, exit); body; jmp L
                let split = self.push(Inst::Split(0, 0))?;
                self.emit_node(node)?;
                self.push(Inst::Jmp(split))?;
                let exit = self.pc();
                self.order_split(split, split + 1, exit, greedy);
            }
            Some(max) => {
                // Each optional copy may bail out to the common exit.
                let mut splits = Vec::new();
                for _ in min..max {
                    splits.push(self.push(Inst::Split(0, 0))?);
                    self.emit_node(node)?;
                }
                let exit = self.pc();
                for split in splits {
                    self.order_split(split, split + 1, exit, greedy);
                }
            }
        }
        Ok(())
    }

    fn order_split(&mut self, at: usize, body: usize, exit: usize, greedy: bool) {
        if greedy {
            self.patch_split(at, body, exit);
        } else {
            self.patch_split(at, exit, body);
        }
    }
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Java's non-multiline `$`: end of input, or before a final line terminator
/// (`\r\n` counting as one).
fn at_end(text: &[char], pos: usize) -> bool {
    let n = text.len();
    pos == n
        || (pos + 1 == n && is_line_terminator(text[pos]))
        || (pos + 2 == n && text[pos] == '\r' && text[pos + 1] == '\n')
}

enum Job {
    Explore(usize, usize),
    Restore(usize, Option<usize>),
}

/// Runs an anchored match of the whole `text` (Java's `Matcher.matches`).
/// Returns the capture slots (`2 * group`, `2 * group + 1`) on success.
pub(super) fn full_match(prog: &[Inst], slots: usize, text: &[char]) -> Option<Vec<Option<usize>>> {
    let n = text.len();
    let width = n + 1;
    let mut visited = vec![0u64; (prog.len() * width).div_ceil(64)];
    let mut caps: Vec<Option<usize>> = vec![None; slots];
    let mut stack = vec![Job::Explore(0, 0)];
    while let Some(job) = stack.pop() {
        let (mut pc, mut pos) = match job {
            Job::Restore(slot, old) => {
                caps[slot] = old;
                continue;
            }
            Job::Explore(pc, pos) => (pc, pos),
        };
        loop {
            let bit = pc * width + pos;
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            if visited[word] & mask != 0 {
                break;
            }
            visited[word] |= mask;
            let next_char = text.get(pos).copied();
            match &prog[pc] {
                Inst::Char(c) => match next_char {
                    Some(t) if t == *c => (pc, pos) = (pc + 1, pos + 1),
                    _ => break,
                },
                Inst::Class(class) => match next_char {
                    Some(t) if class.matches(t) => (pc, pos) = (pc + 1, pos + 1),
                    _ => break,
                },
                Inst::Any => match next_char {
                    Some(t) if !is_line_terminator(t) => (pc, pos) = (pc + 1, pos + 1),
                    _ => break,
                },
                Inst::AnyAll => match next_char {
                    Some(_) => (pc, pos) = (pc + 1, pos + 1),
                    None => break,
                },
                Inst::Split(first, second) => {
                    stack.push(Job::Explore(*second, pos));
                    pc = *first;
                }
                Inst::Jmp(target) => pc = *target,
                Inst::Save(slot) => {
                    stack.push(Job::Restore(*slot, caps[*slot]));
                    caps[*slot] = Some(pos);
                    pc += 1;
                }
                Inst::Start if pos == 0 => pc += 1,
                Inst::End if at_end(text, pos) => pc += 1,
                Inst::EndAbsolute if pos == n => pc += 1,
                Inst::WordBoundary(want) => {
                    let before = pos > 0 && is_word(text[pos - 1]);
                    let after = next_char.is_some_and(is_word);
                    if (before != after) == *want {
                        pc += 1;
                    } else {
                        break;
                    }
                }
                Inst::Match if pos == n => {
                    caps[0] = Some(0);
                    caps[1] = Some(n);
                    return Some(caps);
                }
                Inst::Start | Inst::End | Inst::EndAbsolute | Inst::Match => break,
            }
        }
    }
    None
}
