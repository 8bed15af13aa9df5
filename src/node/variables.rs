//! Symmetric variables: named arrays of 64-bit words that every PE holds a copy of, at
//! the same place, as SHMEM's symmetric heap does.
//!
//! A program declares them once ([`VarLayout`], shared by all PEs); each PE keeps its
//! own words ([`Variables`]). Other PEs reach them only through the adapter (atomics,
//! and reductions over the tree network), so the store is the one place node code reads
//! and writes them, by variable id and word index:
//!
//! ```
//! use std::sync::Arc;
//! use torsim::node::variables::{VarLayout, Variables};
//! let mut layout = VarLayout::default();
//! let counter = layout.add("counter", 1).unwrap();
//! let v = layout.add("v", 4).unwrap();
//! let mut vars = Variables::new(Arc::new(layout), vec![0, 1, 2, 3, 4]);
//! assert_eq!(vars.words(v), &[1, 2, 3, 4]);
//! vars.words_mut(v)[2] += 10;
//! assert_eq!(vars.get(v, 2), Some(13));
//! assert_eq!(vars.set(counter, 0, 7), Some(0));
//! ```

use std::ops::Range;
use std::sync::Arc;

/// A variable's id: its index in declaration order.
pub type VarId = u16;

/// The most words a program's variables may hold per PE (2^24 words, 128 MiB), so a
/// program cannot ask for more memory per PE than a machine has by mistake.
pub const MAX_VARIABLE_WORDS: usize = 1 << 24;

/// The names and sizes of a program's symmetric variables, the same on every PE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarLayout {
    names: Vec<String>,
    /// Word offset of each variable in a PE's store; one more entry: the total.
    offsets: Vec<usize>,
}

impl VarLayout {
    /// Declares variable `name` of `words` 64-bit words; returns its id. A name may be
    /// declared once.
    pub fn add(&mut self, name: &str, words: usize) -> Result<VarId, String> {
        if self.id(name).is_some() {
            return Err(format!("variable `{name}` is declared twice"));
        }
        if words == 0 {
            return Err(format!(
                "variable `{name}` has 0 words; expected at least 1"
            ));
        }
        if self.names.len() >= VarId::MAX as usize {
            return Err(format!("more than {} variables", VarId::MAX));
        }
        let start = self.total_words();
        if words > MAX_VARIABLE_WORDS - start {
            return Err(format!(
                "variable `{name}`: more than {MAX_VARIABLE_WORDS} words of variables per PE"
            ));
        }
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.names.push(name.to_string());
        self.offsets.push(start + words);
        Ok((self.names.len() - 1) as VarId)
    }

    /// The id of variable `name`.
    pub fn id(&self, name: &str) -> Option<VarId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| i as VarId)
    }

    /// The name of variable `id`.
    pub fn name(&self, id: VarId) -> &str {
        &self.names[id as usize]
    }

    /// Variables declared.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Words of variable `id`.
    pub fn words(&self, id: VarId) -> usize {
        let r = self.range(id);
        r.end - r.start
    }

    /// Words of all variables together: one PE's store.
    pub fn total_words(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Where variable `id` sits in a PE's store.
    pub fn range(&self, id: VarId) -> Range<usize> {
        self.offsets[id as usize]..self.offsets[id as usize + 1]
    }
}

/// One PE's copy of the symmetric variables.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    layout: Arc<VarLayout>,
    words: Vec<u64>,
}

impl Variables {
    /// The store of `layout` holding `init` (missing words are 0, extra ones dropped).
    pub fn new(layout: Arc<VarLayout>, mut init: Vec<u64>) -> Variables {
        init.resize(layout.total_words(), 0);
        Variables {
            layout,
            words: init,
        }
    }

    pub fn layout(&self) -> &VarLayout {
        &self.layout
    }

    /// Word `word` of variable `var`; `None` if either does not exist.
    pub fn get(&self, var: VarId, word: u64) -> Option<u64> {
        self.index(var, word).map(|i| self.words[i])
    }

    /// Writes word `word` of variable `var`; returns its old value (`None`, and no
    /// write, if it does not exist).
    pub fn set(&mut self, var: VarId, word: u64, value: u64) -> Option<u64> {
        let i = self.index(var, word)?;
        Some(std::mem::replace(&mut self.words[i], value))
    }

    /// All words of variable `var` (a reduction reads and writes them together).
    pub fn words(&self, var: VarId) -> &[u64] {
        &self.words[self.layout.range(var)]
    }

    /// All words of variable `var`, to write.
    pub fn words_mut(&mut self, var: VarId) -> &mut [u64] {
        let r = self.layout.range(var);
        &mut self.words[r]
    }

    /// Every word of every variable, in declaration order.
    pub fn all(&self) -> &[u64] {
        &self.words
    }

    fn index(&self, var: VarId, word: u64) -> Option<usize> {
        if var as usize >= self.layout.len() {
            return None;
        }
        let r = self.layout.range(var);
        let w = usize::try_from(word).ok()?;
        (w < r.end - r.start).then_some(r.start + w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_store() {
        let mut l = VarLayout::default();
        assert_eq!(l.total_words(), 0);
        let a = l.add("a", 1).unwrap();
        let b = l.add("b", 3).unwrap();
        assert!(l.add("a", 2).unwrap_err().contains("twice"));
        assert!(l.add("z", 0).is_err());
        assert_eq!((l.words(a), l.words(b), l.total_words()), (1, 3, 4));
        assert_eq!(l.id("b"), Some(1));
        let mut v = Variables::new(Arc::new(l), vec![9]);
        assert_eq!(v.all(), &[9, 0, 0, 0]);
        assert_eq!(v.set(b, 2, 5), Some(0));
        assert_eq!(v.get(b, 2), Some(5));
        assert_eq!(v.get(b, 3), None);
        assert_eq!(v.set(b, 3, 1), None);
        assert_eq!(v.get(2, 0), None);
        assert_eq!(v.words(b), &[0, 0, 5]);
    }
}
