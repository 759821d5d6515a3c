//! A bounded cache, shared by every request of a hub, of compiled
//! selectors and of template match results.

use super::{Selector, selects};
use std::{
    collections::HashMap,
    fmt,
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    mem,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

/// Independent locks per cache: callers on different shards never wait for
/// each other, and a lock is held for one hash map lookup or insertion.
const SHARDS: usize = 16;

/// Compiled selectors and template match results, bounded and shared.
///
/// Subscribers repeat the same selectors, and every update is matched
/// against every subscriber's: the cache hands out one compiled
/// [`Selector`] per selector string, and remembers whether a template
/// matched a topic, so that the many subscribers of one template pay for
/// one regular expression search per topic.
///
/// Cheap to clone: clones share one cache. Safe to use from any number of
/// tasks at once; a call holds one of 16 locks for a lookup or an insertion,
/// never while compiling or matching, and never across an `.await`.
///
/// # Bounds
///
/// At most [`selector_capacity`](SelectorCache::selector_capacity) compiled
/// templates (default [`DEFAULT_SELECTORS`](SelectorCache::DEFAULT_SELECTORS),
/// 1,000) and [`result_capacity`](SelectorCache::result_capacity) match
/// results (default [`DEFAULT_RESULTS`](SelectorCache::DEFAULT_RESULTS),
/// 100,000) are kept. When full, an entry is evicted by the clock (second
/// chance) policy: one read since the clock's hand last passed it is kept
/// once more, so entries in use stay and one-off entries leave first. Only
/// templates are cached: `*` and exact selectors cost nothing to build or
/// match. A capacity of 0 disables that half of the cache.
///
/// What an entry holds: a compiled template, what
/// [`Selector::heap_bytes`] counts (about 38 KiB for
/// `https://example.com/books/{id}`, its program and a thread's matching
/// state at its bound; 123 KiB at the compiled-size bound of
/// [`Selector::new`]); a match result, a copy of its topic (the template's
/// string is shared): about 150 bytes for a 30-byte topic.
///
/// # Examples
///
/// ```
/// use sse_hub::selector::SelectorCache;
/// use std::sync::Arc;
///
/// let cache = SelectorCache::new();
/// let a = cache.selector("https://example.com/books/{id}");
/// let b = cache.selector("https://example.com/books/{id}");
/// assert!(Arc::ptr_eq(&a, &b));
///
/// assert!(cache.matches(&a, "https://example.com/books/1"));
/// assert!(cache.matches_any(&[a, b], &["https://example.com/books/2"]));
/// ```
#[derive(Clone)]
pub struct SelectorCache {
    inner: Arc<Inner>,
}

struct Inner {
    hasher: RandomState,
    selectors: Shards<Arc<Selector>>,
    results: Shards<Outcome>,
    every: Arc<Selector>,
}

/// A remembered match: the key is kept whole, beside its hash, so that two
/// keys with one hash are never confused.
struct Outcome {
    selector: Arc<str>,
    topic: Box<str>,
    matched: bool,
}

impl SelectorCache {
    /// The number of compiled templates a cache from
    /// [`new`](SelectorCache::new) keeps.
    pub const DEFAULT_SELECTORS: usize = 1_000;

    /// The number of template match results a cache from
    /// [`new`](SelectorCache::new) keeps.
    pub const DEFAULT_RESULTS: usize = 100_000;

    /// The longest topic whose match results are remembered: 1 KiB, far
    /// above the IRIs topics are, so that publishers' topics of up to a
    /// request body's size cannot make the results hold gigabytes. A
    /// longer topic costs a match for each subscriber whose template asks
    /// (each remembers the last topics it matched, so a run of updates to
    /// one topic costs one).
    pub const MAX_CACHED_TOPIC: usize = 1024;

    /// A cache with the default bounds.
    pub fn new() -> SelectorCache {
        SelectorCache::with_capacity(
            SelectorCache::DEFAULT_SELECTORS,
            SelectorCache::DEFAULT_RESULTS,
        )
    }

    /// A cache keeping at most `selectors` compiled templates and `results`
    /// match results; 0 disables either.
    pub fn with_capacity(selectors: usize, results: usize) -> SelectorCache {
        SelectorCache {
            inner: Arc::new(Inner {
                hasher: RandomState::new(),
                selectors: Shards::new(selectors),
                results: Shards::new(results),
                every: Arc::new(Selector::new("*")),
            }),
        }
    }

    /// The compiled selector for `selector`: the cached one when this
    /// template was asked for before and is still kept, else a new one
    /// (kept when it is a template). Never fails, as [`Selector::new`].
    pub fn selector(&self, selector: &str) -> Arc<Selector> {
        if selector == "*" {
            return Arc::clone(&self.inner.every);
        }
        if !selector.contains('{') {
            // Not a template (see `Template::compile`): nothing to compile.
            return Arc::new(Selector::new(selector));
        }
        let inner = &*self.inner;
        let hash = inner.hasher.hash_one(selector);
        let is_key = |cached: &Arc<Selector>| cached.as_str() == selector;
        if let Some(cached) = inner.selectors.lock(hash).get(hash, is_key) {
            return Arc::clone(cached);
        }
        let compiled = Arc::new(Selector::new(selector));
        if !compiled.is_template() {
            return compiled;
        }
        let mut shard = inner.selectors.lock(hash);
        // Another caller may have compiled it meanwhile: share theirs.
        if let Some(cached) = shard.get(hash, is_key) {
            return Arc::clone(cached);
        }
        let evicted = shard.insert(hash, Arc::clone(&compiled));
        drop(shard);
        // A compiled template may be large: freed after the lock is released.
        drop(evicted);
        compiled
    }

    /// Whether `topic` matches `selector`, as [`Selector::matches`], with a
    /// template's answer remembered for the next caller.
    /// A topic longer than [`MAX_CACHED_TOPIC`](SelectorCache::MAX_CACHED_TOPIC)
    /// bytes is matched without being remembered, so that the results held
    /// stay within their count times that length.
    pub fn matches(&self, selector: &Selector, topic: &str) -> bool {
        if !selector.is_template()
            || selector.as_str() == topic
            || topic.len() > SelectorCache::MAX_CACHED_TOPIC
        {
            return selector.matches(topic);
        }
        let inner = &*self.inner;
        let hash = inner.hasher.hash_one((selector.as_str(), topic));
        let is_key =
            |outcome: &Outcome| *outcome.selector == *selector.as_str() && *outcome.topic == *topic;
        if let Some(outcome) = inner.results.lock(hash).get(hash, is_key) {
            return outcome.matched;
        }
        let matched = selector.matches(topic);
        let outcome = Outcome {
            selector: Arc::clone(selector.shared_str()),
            topic: Box::from(topic),
            matched,
        };
        let evicted = inner.results.lock(hash).insert(hash, outcome);
        drop(evicted);
        matched
    }

    /// [`matches_any`](super::matches_any) through this cache: whether any
    /// of `topics` matches any of `selectors`.
    pub fn matches_any<S, T>(&self, selectors: &[S], topics: &[T]) -> bool
    where
        S: AsRef<Selector>,
        T: AsRef<str>,
    {
        let matches = |selector: &Selector, topic: &str| self.matches(selector, topic);
        topics
            .iter()
            .any(|topic| selects(selectors, topic.as_ref(), matches))
    }

    /// [`matches_every`](super::matches_every) through this cache: whether
    /// each of `topics` matches at least one of `selectors`.
    pub fn matches_every<S, T>(&self, selectors: &[S], topics: &[T]) -> bool
    where
        S: AsRef<Selector>,
        T: AsRef<str>,
    {
        let matches = |selector: &Selector, topic: &str| self.matches(selector, topic);
        topics
            .iter()
            .all(|topic| selects(selectors, topic.as_ref(), matches))
    }

    /// The most compiled templates kept.
    pub fn selector_capacity(&self) -> usize {
        self.inner.selectors.capacity
    }

    /// The most match results kept.
    pub fn result_capacity(&self) -> usize {
        self.inner.results.capacity
    }

    /// How many compiled templates are kept now.
    pub fn cached_selectors(&self) -> usize {
        self.inner.selectors.len()
    }

    /// How many match results are kept now.
    pub fn cached_results(&self) -> usize {
        self.inner.results.len()
    }
}

impl Default for SelectorCache {
    fn default() -> SelectorCache {
        SelectorCache::new()
    }
}

impl fmt::Debug for SelectorCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectorCache")
            .field("selector_capacity", &self.selector_capacity())
            .field("result_capacity", &self.result_capacity())
            .finish_non_exhaustive()
    }
}

/// A bounded map split into [`SHARDS`] clocks, keyed by a hash computed by
/// the caller.
struct Shards<V> {
    shards: Box<[Mutex<Clock<V>>]>,
    capacity: usize,
}

impl<V> Shards<V> {
    /// Shards whose capacities add up to `capacity` exactly.
    fn new(capacity: usize) -> Shards<V> {
        let shards = (0..SHARDS)
            .map(|i| {
                Mutex::new(Clock::new(
                    capacity / SHARDS + usize::from(i < capacity % SHARDS),
                ))
            })
            .collect();
        Shards { shards, capacity }
    }

    /// The shard of `hash`, chosen by its high bits (the shard's map uses
    /// the low ones), locked.
    fn lock(&self, hash: u64) -> MutexGuard<'_, Clock<V>> {
        let i = ((u128::from(hash) * SHARDS as u128) >> 64) as usize;
        // Nothing panics while a shard is locked, so a poisoned lock guards
        // consistent data all the same.
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

/// A map of at most `capacity` entries evicting by the clock policy: a ring
/// of slots, each with a flag set when it is read; the hand clears set
/// flags as it passes and evicts the first slot whose flag is clear.
struct Clock<V> {
    capacity: usize,
    index: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    slots: Vec<Slot<V>>,
    hand: usize,
}

struct Slot<V> {
    hash: u64,
    value: V,
    referenced: bool,
}

impl<V> Clock<V> {
    fn new(capacity: usize) -> Clock<V> {
        Clock {
            capacity,
            index: HashMap::default(),
            slots: Vec::new(),
            hand: 0,
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    /// The value under `hash`, when `is_key` says it is the one asked for.
    fn get(&mut self, hash: u64, is_key: impl FnOnce(&V) -> bool) -> Option<&V> {
        let &i = self.index.get(&hash)?;
        let slot = &mut self.slots[i];
        if !is_key(&slot.value) {
            return None;
        }
        slot.referenced = true;
        Some(&slot.value)
    }

    /// Keeps `value` under `hash`; returns the value it displaced (an
    /// evicted one, one under the same hash, or `value` itself at capacity
    /// 0) for the caller to drop once the lock is released.
    fn insert(&mut self, hash: u64, value: V) -> Option<V> {
        if self.capacity == 0 {
            return Some(value);
        }
        if let Some(&i) = self.index.get(&hash) {
            // A different key with the same 64-bit hash: the newer one
            // takes the slot, the older one is asked for again if needed.
            return Some(mem::replace(&mut self.slots[i].value, value));
        }
        // New entries start unreferenced, so that a burst of one-off keys
        // (each update's new topic) evicts itself rather than the keys in use.
        let slot = Slot {
            hash,
            value,
            referenced: false,
        };
        if self.slots.len() < self.capacity {
            self.index.insert(hash, self.slots.len());
            self.slots.push(slot);
            return None;
        }
        // Terminates within one turn: the hand clears every flag it passes.
        while mem::take(&mut self.slots[self.hand].referenced) {
            self.hand = (self.hand + 1) % self.capacity;
        }
        let i = self.hand;
        self.hand = (i + 1) % self.capacity;
        let old = mem::replace(&mut self.slots[i], slot);
        self.index.remove(&old.hash);
        self.index.insert(hash, i);
        Some(old.value)
    }
}

/// The hasher of a clock's index, whose keys are already hashes from the
/// cache's randomly keyed [`RandomState`]: it only spreads them, so that
/// the bits that chose the shard do not crowd the map's.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        // Odd, so a bijection; its high bits depend on all of the key's.
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c3_cache_shares_one_compiled_template() {
        let cache = SelectorCache::new();
        let a = cache.selector("https://example.com/books/{id}");
        let b = cache.clone().selector("https://example.com/books/{id}");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.is_template());
        assert_eq!(cache.cached_selectors(), 1);
        assert!(!Arc::ptr_eq(
            &a,
            &cache.selector("https://example.com/books/{isbn}")
        ));
        assert_eq!(cache.cached_selectors(), 2);
    }

    #[test]
    fn c2_cache_keeps_only_templates() {
        let cache = SelectorCache::new();
        assert!(Arc::ptr_eq(&cache.selector("*"), &cache.selector("*")));
        assert!(cache.selector("*").is_every());
        let exact = cache.selector("https://example.com/books/1");
        assert!(!exact.is_template());
        assert!(exact.matches("https://example.com/books/1"));
        let invalid = cache.selector("https://example.com/books/{id");
        assert!(!invalid.is_template());
        assert!(invalid.matches("https://example.com/books/{id"));
        assert_eq!(cache.cached_selectors(), 0);

        assert!(cache.matches(&exact, "https://example.com/books/1"));
        assert!(cache.matches(&invalid, "https://example.com/books/{id"));
        assert!(!cache.matches(&invalid, "https://example.com/books/1"));
        assert_eq!(cache.cached_results(), 0);
    }

    #[test]
    fn c3_cached_results_agree_with_matching() {
        let cache = SelectorCache::new();
        let selectors = [
            "https://example.com/books/{id}",
            "https://example.com/{+path}",
            "/search{?q,page}",
            "/api{/segments*}",
        ]
        .map(|selector| cache.selector(selector));
        let topics = [
            "https://example.com/books/1",
            "https://example.com/books/1/reviews",
            "/search?q=a&page=2",
            "/search?q=a&page=2&x=3",
            "/api/a/b/c",
            "/api/a b",
            "https://example.com/books/{id}",
        ];
        for round in 0..2 {
            for selector in &selectors {
                for topic in topics {
                    assert_eq!(
                        cache.matches(selector, topic),
                        selector.matches(topic),
                        "round {round}: {selector:?} on {topic:?}"
                    );
                }
            }
        }
        // A template matching its own string (the first, its last topic)
        // is answered without the cache.
        assert_eq!(cache.cached_results(), selectors.len() * topics.len() - 1);
    }

    #[test]
    fn c6_cached_update_matching() {
        let cache = SelectorCache::new();
        let selectors = [
            cache.selector("https://example.com/authors/7"),
            cache.selector("https://example.com/books/{id}"),
        ];
        assert!(cache.matches_any(
            &selectors,
            &[
                "https://example.com/reviews/3",
                "https://example.com/books/9"
            ]
        ));
        assert!(!cache.matches_any(&selectors, &["https://example.com/reviews/3"]));
        assert!(cache.matches_every(
            &selectors,
            &[
                "https://example.com/authors/7",
                "https://example.com/books/9"
            ]
        ));
        assert!(!cache.matches_every(
            &selectors,
            &[
                "https://example.com/authors/8",
                "https://example.com/books/9"
            ]
        ));
    }

    #[test]
    fn c3_cache_is_bounded() {
        let cache = SelectorCache::with_capacity(40, 100);
        assert_eq!(
            (cache.selector_capacity(), cache.result_capacity()),
            (40, 100)
        );
        let template = cache.selector("/books/{id}");
        for i in 0..2_000 {
            let selector = cache.selector(&format!("/shelf/{i}/{{id}}"));
            assert!(selector.matches(&format!("/shelf/{i}/7")));
            assert!(cache.matches(&template, &format!("/books/{i}")));
            assert!(!cache.matches(&template, &format!("/books/{i}/reviews")));
        }
        // Full, every shard at its share of the capacity.
        assert_eq!(cache.cached_selectors(), 40);
        assert_eq!(cache.cached_results(), 100);
    }

    #[test]
    fn c3_a_long_topic_is_matched_without_being_remembered() {
        let cache = SelectorCache::new();
        let selector = cache.selector("/books/{id}");
        let long = format!("/books/{}", "1".repeat(SelectorCache::MAX_CACHED_TOPIC));
        assert!(cache.matches(&selector, &long));
        assert!(!cache.matches(&selector, &format!("{long}/x")));
        assert_eq!(cache.cached_results(), 0);
        assert!(cache.matches(&selector, "/books/1"));
        assert_eq!(cache.cached_results(), 1);
    }

    #[test]
    fn c3_cache_of_capacity_zero_keeps_nothing() {
        let cache = SelectorCache::with_capacity(0, 0);
        let a = cache.selector("/books/{id}");
        let b = cache.selector("/books/{id}");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(cache.matches(&a, "/books/1"));
        assert!(!cache.matches(&a, "/books/1/2"));
        assert_eq!((cache.cached_selectors(), cache.cached_results()), (0, 0));
    }

    #[test]
    fn shard_capacities_add_up_to_the_bound() {
        for capacity in [0, 1, 15, 16, 17, 100, 10_000] {
            let shards = Shards::<()>::new(capacity);
            let total: usize = shards
                .shards
                .iter()
                .map(|shard| shard.lock().unwrap().capacity)
                .sum();
            assert_eq!(total, capacity);
        }
    }

    #[test]
    fn clock_gives_a_read_entry_a_second_chance() {
        let mut clock = Clock::new(3);
        for key in 1..=3 {
            assert!(clock.insert(key, key).is_none());
        }
        assert_eq!(clock.get(1, |_| true), Some(&1));
        // The hand passes 1 (read: kept, flag cleared) and evicts 2.
        assert_eq!(clock.insert(4, 4), Some(2));
        assert_eq!(clock.get(2, |_| true), None);
        // Then 3, never read.
        assert_eq!(clock.insert(5, 5), Some(3));
        // Then 1, whose second chance is spent.
        assert_eq!(clock.insert(6, 6), Some(1));
        assert_eq!(clock.len(), 3);
        for key in [4, 5, 6] {
            assert_eq!(clock.get(key, |_| true), Some(&key));
        }
    }

    #[test]
    fn clock_never_confuses_two_keys_of_one_hash() {
        let mut clock = Clock::new(2);
        assert!(clock.insert(7, "first").is_none());
        assert_eq!(clock.get(7, |value| *value == "second"), None);
        assert_eq!(clock.insert(7, "second"), Some("first"));
        assert_eq!(clock.get(7, |value| *value == "second"), Some(&"second"));
        assert_eq!(clock.len(), 1);
    }

    #[test]
    fn cache_is_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<SelectorCache>();
        assert_send_sync::<Arc<Selector>>();

        let cache = SelectorCache::new();
        let compiled: Vec<Arc<Selector>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let cache = cache.clone();
                    scope.spawn(move || {
                        let selector = cache.selector("/rooms/{room}/messages{?since}");
                        for i in 0..200 {
                            assert!(
                                cache.matches(&selector, &format!("/rooms/{i}/messages?since={i}"))
                            );
                            assert!(!cache.matches(&selector, &format!("/rooms/{i}")));
                        }
                        selector
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap())
                .collect()
        });
        assert!(
            compiled
                .iter()
                .all(|selector| Arc::ptr_eq(selector, &compiled[0]))
        );
        assert_eq!(cache.cached_selectors(), 1);
        assert_eq!(cache.cached_results(), 400);
    }
}
