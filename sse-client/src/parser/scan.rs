//! The byte scans under the parser: where the next line ending is, and whether a tiny chunk
//! holds one, a word (or a block of words) at a time.
//!
//! Plain code the compiler vectorises, no `unsafe`: the words are read with `from_le_bytes`
//! and the block tests are folds over fixed-size arrays.

use memchr::memchr2;

/// The first CR or LF.
///
/// Most lines of an event stream are short (`id: 42`, `event: token`, the blank line) or of
/// moderate length (a line of JSON), and tiny chunks bring only a few bytes: for those, the
/// setup of `memchr2` costs more than the scan. So the first `BLOCKS` blocks of 32 bytes are
/// tested in plain code that the compiler turns into vector instructions (any byte below
/// 0x0E?), the block that passes is searched a word at a time, and `memchr2` takes over for
/// longer lines. Less than a block is searched a word at a time.
#[inline(always)]
pub(super) fn find_line_ending<const BLOCKS: usize>(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    let mut rest = bytes;
    for _ in 0..BLOCKS {
        let Some(block) = rest.first_chunk::<BLOCK>() else {
            break;
        };
        // Text rarely holds control characters: the test passes for few blocks but the one
        // with the line ending.
        if block.iter().fold(false, |any, &byte| any | (byte < 0x0E)) {
            let (words, _) = block.as_chunks::<8>();
            if let Some(at) = find_in_words(words) {
                return Some(offset + at);
            }
        }
        offset += BLOCK;
        rest = &rest[BLOCK..];
    }
    if rest.len() >= BLOCK {
        return memchr2(b'\n', b'\r', rest).map(|at| offset + at);
    }
    let (words, _) = rest.as_chunks::<8>();
    if let Some(at) = find_in_words(words) {
        return Some(offset + at);
    }
    find_in_short(bytes)
}

/// Bytes tested at once by [`find_line_ending`].
const BLOCK: usize = 32;

/// The first CR or LF in `words`, a word at a time.
#[inline(always)]
fn find_in_words(words: &[[u8; 8]]) -> Option<usize> {
    for (index, word) in words.iter().enumerate() {
        let found = line_ending_mask(u64::from_le_bytes(*word));
        if found != 0 {
            return Some(index * 8 + first_marked_byte(found));
        }
    }
    None
}

/// The longest chunk [`EventParser::next_item`](super::EventParser::next_item) appends to the line under way without
/// entering the line machinery.
pub(super) const TINY: usize = 16;

/// Whether `bytes` (at most [`TINY`] of them) holds a byte below 0x0E: every line ending does,
/// text almost never does otherwise. One test per word where a line-ending search needs two.
#[inline(always)]
pub(super) fn has_control_byte(bytes: &[u8]) -> bool {
    // Exact for "any byte below 0x0E" (a borrow only carries out of a byte that is one).
    let below =
        |word: u64, ones: u64, high: u64| word.wrapping_sub(ones * 0x0E) & !word & high != 0;
    // Two overlapping halves cover anything from one half to two.
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return below(u64::from_le_bytes(*head), ONES, HIGH)
            | below(u64::from_le_bytes(*tail), ONES, HIGH);
    }
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        let (ones, high) = (ONES >> 32, HIGH >> 32);
        return below(u64::from(u32::from_le_bytes(*head)), ones, high)
            | below(u64::from(u32::from_le_bytes(*tail)), ones, high);
    }
    bytes.iter().any(|&byte| byte < 0x0E)
}

/// [`find_line_ending`] for the last bytes of `bytes`, fewer than 8 of them, when no byte
/// before them is a line ending.
#[inline(always)]
fn find_in_short(bytes: &[u8]) -> Option<usize> {
    let len = bytes.len();
    if len >= 8 {
        // The last 8 bytes overlap bytes already checked, which hold no line ending: the
        // first one found in them is the first one of `bytes`.
        let word = bytes.last_chunk::<8>()?;
        let found = line_ending_mask(u64::from_le_bytes(*word));
        return (found != 0).then(|| len - 8 + first_marked_byte(found));
    }
    // The whole input is shorter than a word (tiny chunks): two overlapping halves.
    if len >= 4 {
        let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) else {
            return None;
        };
        let found = line_ending_mask(u64::from(u32::from_le_bytes(*head)));
        if found != 0 {
            return Some(first_marked_byte(found));
        }
        let found = line_ending_mask(u64::from(u32::from_le_bytes(*tail)));
        // The upper half of the widened word is zero bytes, never a line ending.
        return (found != 0).then(|| len - 4 + first_marked_byte(found));
    }
    bytes.iter().position(|&b| b == b'\n' || b == b'\r')
}

/// A word with every byte 0x01, and one with every byte 0x80: the word-at-a-time tests.
const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The high bit of every byte of `word` that is CR or LF; bits above the lowest one set can
/// be false positives (a borrow carries into the next byte), the lowest one is exact.
#[inline]
fn line_ending_mask(word: u64) -> u64 {
    let lf = word ^ (ONES * u64::from(b'\n'));
    let cr = word ^ (ONES * u64::from(b'\r'));
    (lf.wrapping_sub(ONES) & !lf | cr.wrapping_sub(ONES) & !cr) & HIGH
}

/// The index of the byte holding the lowest bit set in a non-zero `mask`.
#[inline]
fn first_marked_byte(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ending_search_matches_a_plain_scan() {
        // Every length up to past the word-at-a-time part, a CR or LF at every position,
        // and bytes that differ from CR/LF by one bit or one borrow around it.
        for len in 0..160 {
            for at in 0..=len {
                for ending in [b'\n', b'\r'] {
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x0b, 0x0c, 0x0e, 0x8a, 0x8d, 0, 0xff][i % 8])
                        .collect();
                    if at < len {
                        bytes[at] = ending;
                        if at + 1 < len {
                            bytes[at + 1] = b'\n';
                        }
                    }
                    let expected = bytes.iter().position(|&b| b == b'\n' || b == b'\r');
                    assert_eq!(find_line_ending::<0>(&bytes), expected, "{bytes:?}");
                    assert_eq!(find_line_ending::<1>(&bytes), expected, "{bytes:?}");
                    assert_eq!(find_line_ending::<4>(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn control_byte_test_matches_a_plain_scan() {
        // Every tiny length, every byte value at every position, among bytes at or just above
        // the threshold (where a borrow would show).
        for len in 0..=TINY {
            for at in 0..len {
                for value in 0..=u8::MAX {
                    let mut bytes: Vec<u8> =
                        (0..len).map(|i| [b'a', 0x0e, 0x8e, 0xff][i % 4]).collect();
                    bytes[at] = value;
                    assert_eq!(has_control_byte(&bytes), value < 0x0e, "{bytes:?}");
                }
            }
            assert!(!has_control_byte(&vec![0x0e; len]));
        }
    }
}
