//! Capped inverted lists from a key (a place, a term, a complainant) to recent complaints.
//!
//! Each list holds at most `cap` complaints, newest first, and at most one per *group* (the
//! complaint's case, for place and term lists), so a busy case cannot push every other case out
//! of a place's list. Lists live in one arena of 8-byte nodes; evicted complaints are unlinked
//! lazily when a list is walked and all at once by [`Postings::sweep`], which the engine runs
//! after enough evictions — the memory held is therefore proportional to the live window.

use rustc_hash::FxHashMap;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Node {
    doc: u32,
    next: u32,
}

/// Inverted lists keyed by 64-bit hashes.
#[derive(Default)]
pub(crate) struct Postings {
    heads: FxHashMap<u64, u32>,
    nodes: Vec<Node>,
    free: Vec<u32>,
}

impl Postings {
    fn alloc(&mut self, doc: u32, next: u32) -> u32 {
        let node = Node { doc, next };
        match self.free.pop() {
            Some(index) => {
                self.nodes[index as usize] = node;
                index
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Adds `doc` at the front of `key`'s list, then keeps at most `cap` entries, one per group.
    /// `group_of` gives a live document's group, or `None` for an evicted one.
    pub(crate) fn insert(
        &mut self,
        key: u64,
        doc: u32,
        cap: usize,
        group_of: impl Fn(u32) -> Option<u32>,
    ) {
        let old_head = self.heads.get(&key).copied().unwrap_or(NIL);
        let head = self.alloc(doc, old_head);
        self.heads.insert(key, head);
        let group = group_of(doc);
        let mut kept = 1usize;
        let mut prev = head;
        let mut cursor = old_head;
        while cursor != NIL {
            let Node { doc: other, next } = self.nodes[cursor as usize];
            let other_group = group_of(other);
            let drop = other_group.is_none() || other_group == group || kept >= cap;
            if drop {
                self.nodes[prev as usize].next = next;
                self.free.push(cursor);
            } else {
                kept += 1;
                prev = cursor;
            }
            cursor = next;
        }
    }

    /// The live documents of `key`'s list, newest first.
    pub(crate) fn docs<'a>(
        &'a self,
        key: u64,
        is_live: impl Fn(u32) -> bool + 'a,
    ) -> impl Iterator<Item = u32> + 'a {
        let mut cursor = self.heads.get(&key).copied().unwrap_or(NIL);
        std::iter::from_fn(move || {
            while cursor != NIL {
                let node = self.nodes[cursor as usize];
                cursor = node.next;
                if is_live(node.doc) {
                    return Some(node.doc);
                }
            }
            None
        })
    }

    /// Unlinks every evicted document and forgets keys left empty.
    pub(crate) fn sweep(&mut self, is_live: impl Fn(u32) -> bool) {
        let Postings { heads, nodes, free } = self;
        heads.retain(|_, head| {
            let mut prev = NIL;
            let mut cursor = *head;
            while cursor != NIL {
                let Node { doc, next } = nodes[cursor as usize];
                if is_live(doc) {
                    prev = cursor;
                } else {
                    if prev == NIL {
                        *head = next;
                    } else {
                        nodes[prev as usize].next = next;
                    }
                    free.push(cursor);
                }
                cursor = next;
            }
            *head != NIL
        });
        // Trailing free nodes can be given back to the allocator.
        free.sort_unstable();
        while free
            .last()
            .is_some_and(|&last| last as usize + 1 == nodes.len())
        {
            free.pop();
            nodes.pop();
        }
        if nodes.capacity() > 2 * nodes.len() + 1024 {
            nodes.shrink_to_fit();
        }
        free.sort_unstable_by(|a, b| b.cmp(a));
    }

    /// Number of keys with a list (live or not yet swept).
    #[cfg(test)]
    pub(crate) fn key_count(&self) -> usize {
        self.heads.len()
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.heads.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(postings: &Postings, key: u64) -> Vec<u32> {
        postings.docs(key, |_| true).collect()
    }

    #[test]
    fn newest_first_capped_and_one_per_group() {
        let mut postings = Postings::default();
        // Documents 0..6; group = doc / 2, so 0 and 1 share a group, 2 and 3 another…
        for doc in 0..6 {
            postings.insert(7, doc, 10, |d| Some(d / 2));
        }
        assert_eq!(list(&postings, 7), vec![5, 3, 1]);
        for doc in 6..10 {
            postings.insert(7, doc, 3, Some);
        }
        assert_eq!(list(&postings, 7), vec![9, 8, 7]);
        assert!(list(&postings, 8).is_empty());
    }

    #[test]
    fn evicted_documents_disappear_and_nodes_are_reused() {
        let mut postings = Postings::default();
        for doc in 0..4 {
            postings.insert(doc as u64 % 2, doc, 10, Some);
        }
        let live = |d: u32| d >= 2;
        assert_eq!(postings.docs(0, live).collect::<Vec<_>>(), vec![2]);
        postings.sweep(live);
        assert_eq!(postings.key_count(), 2);
        postings.sweep(|_| false);
        assert_eq!(postings.key_count(), 0);
        postings.insert(5, 10, 10, Some);
        assert_eq!(list(&postings, 5), vec![10]);
        assert!(postings.nodes.len() <= 4);
    }
}
