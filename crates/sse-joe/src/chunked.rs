//! A list copied on write in chunks, for lists that a lock guards and that
//! readers take a snapshot of to walk after the lock is released: a log's
//! waiters, a replayer's history.

use std::{collections::VecDeque, mem, sync::Arc};

/// Elements per chunk.
const CHUNK: usize = 64;

/// A list whose clone is a reference count, copied on write in chunks: a
/// change while a clone is held copies the list of chunks and the chunk it
/// changes (with 10,000 elements, 157 chunk pointers and 64 elements), not
/// every element. Every chunk but the first and the last is full; the
/// first may start with removed elements (`skip`).
pub(crate) struct Chunked<T> {
    chunks: Arc<VecDeque<Arc<Vec<T>>>>,
    /// Elements removed from the front of the first chunk.
    skip: usize,
    len: usize,
}

impl<T> Clone for Chunked<T> {
    fn clone(&self) -> Chunked<T> {
        Chunked {
            chunks: Arc::clone(&self.chunks),
            skip: self.skip,
            len: self.len,
        }
    }
}

impl<T> Default for Chunked<T> {
    fn default() -> Chunked<T> {
        Chunked {
            chunks: Arc::default(),
            skip: 0,
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The element `at` from the front.
    ///
    /// # Panics
    ///
    /// Panics if `at` is not below [`len`](Chunked::len).
    pub(crate) fn get(&self, at: usize) -> &T {
        assert!(at < self.len, "index {at} past the end ({})", self.len);
        let at = at + self.skip;
        &self.chunks[at / CHUNK][at % CHUNK]
    }

    /// The elements from `start` to the end, front to back.
    pub(crate) fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let at = start.min(self.len) + self.skip;
        let first = (at / CHUNK).min(self.chunks.len());
        let offset = at % CHUNK;
        self.chunks
            .range(first..)
            .enumerate()
            .flat_map(move |(i, chunk)| chunk[if i == 0 { offset } else { 0 }..].iter())
    }

    /// Every element, front to back.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.iter_from(0)
    }
}

impl<T: Clone> Chunked<T> {
    pub(crate) fn push(&mut self, element: T) {
        let chunks = Arc::make_mut(&mut self.chunks);
        match chunks.back_mut() {
            Some(last) if last.len() < CHUNK => {
                // A clone holding the last chunk keeps it as it was: this
                // copies it, with room for the chunk's other elements.
                let last = Arc::make_mut(last);
                last.reserve_exact(CHUNK - last.len());
                last.push(element);
            }
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(element);
                chunks.push_back(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Removes the element `at`, moving the last one there, and returns it.
    ///
    /// # Panics
    ///
    /// Panics if `at` is not below [`len`](Chunked::len).
    pub(crate) fn swap_remove(&mut self, at: usize) -> T {
        assert!(at < self.len, "index {at} past the end ({})", self.len);
        let at = at + self.skip;
        let chunks = Arc::make_mut(&mut self.chunks);
        let last_chunk = chunks.back_mut().expect("a chunk holds the element");
        let last = Arc::make_mut(last_chunk)
            .pop()
            .expect("chunks are not empty");
        // The first chunk also holds the removed elements it starts with.
        let removed = if chunks.len() == 1 { self.skip } else { 0 };
        if chunks.back().is_some_and(|chunk| chunk.len() == removed) {
            chunks.pop_back();
            if chunks.is_empty() {
                self.skip = 0;
            }
        }
        self.len -= 1;
        match chunks.get_mut(at / CHUNK) {
            Some(chunk) if at % CHUNK < chunk.len() => {
                mem::replace(&mut Arc::make_mut(chunk)[at % CHUNK], last)
            }
            // `at` was the last.
            _ => last,
        }
    }
}

impl<T: Clone + Default> Chunked<T> {
    /// Removes the front element. It is dropped now unless a clone shares
    /// its chunk, which then keeps it.
    pub(crate) fn pop_front(&mut self) {
        if self.len == 0 {
            return;
        }
        let skip = self.skip;
        let chunks = Arc::make_mut(&mut self.chunks);
        let front = chunks.front_mut().expect("a chunk holds the element");
        if let Some(chunk) = Arc::get_mut(front) {
            drop(mem::take(&mut chunk[skip]));
        }
        let front_len = front.len();
        self.skip += 1;
        self.len -= 1;
        if self.skip == front_len && (front_len == CHUNK || self.len == 0) {
            chunks.pop_front();
            self.skip = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> Chunked<usize> {
        let mut list = Chunked::default();
        for i in 0..n {
            list.push(i);
        }
        list
    }

    #[test]
    fn a_clone_keeps_the_list_as_it_was() {
        let mut list = list(200);
        let held = list.clone();
        for at in [0, 70, 150, 64, 5] {
            list.swap_remove(at);
        }
        list.push(1000);
        list.pop_front();
        assert_eq!(
            held.iter().copied().collect::<Vec<_>>(),
            (0..200).collect::<Vec<_>>()
        );
        assert_eq!(held.len(), 200);
        assert_eq!(list.len(), 195);
    }

    #[test]
    fn swap_remove_moves_the_last_into_the_gap() {
        let mut list = list(130);
        assert_eq!(list.swap_remove(3), 3);
        assert_eq!(*list.get(3), 129);
        assert_eq!(list.swap_remove(128), 128, "the last but one");
        assert_eq!(list.swap_remove(list.len() - 1), 127, "the last");
        assert_eq!(list.len(), 127);
        assert_eq!(list.iter().count(), 127);
    }

    #[test]
    fn pop_front_skips_then_drops_whole_chunks() {
        let mut list = list(150);
        for _ in 0..70 {
            list.pop_front();
        }
        assert_eq!(list.len(), 80);
        assert_eq!(*list.get(0), 70);
        assert_eq!(list.chunks.len(), 2, "the first full chunk went");
        assert_eq!(
            list.iter_from(75).copied().collect::<Vec<_>>(),
            (145..150).collect::<Vec<_>>()
        );
        assert_eq!(list.iter_from(80).count(), 0);
        assert_eq!(list.iter_from(500).count(), 0);
        list.swap_remove(0);
        assert_eq!(*list.get(0), 149);
        for _ in 0..79 {
            list.pop_front();
        }
        assert_eq!((list.len(), list.iter().count()), (0, 0));
        list.push(7);
        assert_eq!(list.iter().copied().collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn pop_front_drops_an_element_no_clone_shares() {
        let element = Arc::new(());
        let mut list = Chunked::default();
        list.push(Some(Arc::clone(&element)));
        list.push(None);
        let held = list.clone();
        list.pop_front();
        assert_eq!(
            Arc::strong_count(&element),
            2,
            "the chunk the clone shares keeps it"
        );
        drop((held, list));
        let mut list = Chunked::default();
        list.push(Some(Arc::clone(&element)));
        list.push(None);
        list.pop_front();
        assert_eq!(Arc::strong_count(&element), 1, "dropped at once");
        assert_eq!(list.iter().collect::<Vec<_>>(), [&None]);
    }
}
