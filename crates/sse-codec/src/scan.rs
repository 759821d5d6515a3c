//! Finding the next line end, CR or LF: the scan every line takes.

/// A searcher for CR and LF, made once per parser: on x86-64 with AVX2
/// (found at run time with `std`), memchr's AVX2 searcher itself, which
/// skips the dispatch that each call of `memchr::memchr2` goes through
/// (a fifth of the scan of a typical 100-byte line); elsewhere
/// `memchr::memchr2`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineEnds {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl LineEnds {
    pub(crate) fn new() -> LineEnds {
        LineEnds {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'),
        }
    }

    /// The position of the first CR or LF in `haystack`.
    #[inline(always)]
    pub(crate) fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = &self.avx2 {
            return two.find(haystack);
        }
        memchr::memchr2(b'\n', b'\r', haystack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_line_end_at_every_position_and_length() {
        let ends = LineEnds::new();
        for len in 0..200 {
            for at in 0..=len {
                for end in [b'\n', b'\r'] {
                    let mut haystack = alloc::vec![b'x'; len];
                    if at < len {
                        haystack[at] = end;
                        if at + 1 < len {
                            haystack[len - 1] = b'\n';
                        }
                    }
                    let expected = (at < len).then_some(at);
                    assert_eq!(ends.find(&haystack), expected, "length {len}, at {at}");
                }
            }
        }
    }
}
