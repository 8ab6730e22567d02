//! How an [`Event`](super::Event) holds its fields and writes them: the representation
//! behind the builder, and the one encoder of the `text/event-stream` wire format.

use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::BytesMut;

/// The fields of a non-empty [`Event`](super::Event).
///
/// In this order (`repr(C)`): the lengths every setter reads first sit on their own 8-byte
/// words right after the text. In the order the compiler chose, a new event's zeroed lengths
/// were written by one wide store across a field boundary, and the first setter's reads of
/// them waited for it (store-to-load forwarding fails): a fifth of the time of building a
/// small event.
#[derive(Clone)]
#[repr(C)]
pub(super) struct Inner {
    /// The `event:`, `id:` and `data:` lines, in this order and exactly as they are sent (each
    /// one empty while its field is not set), so an event is written with one copy. Data with
    /// line breaks is written as its `data:` lines too, followed by the data as given when
    /// that cannot be rebuilt from the lines: see [`DataForm`].
    pub(super) text: Text,
    /// Lengths of the `event:` and `id:` lines in `text`; the data part is the rest.
    type_len: usize,
    id_len: usize,
    data_form: DataForm,
    pub(super) retry: Option<Duration>,
    pub(super) comments: Vec<String>,
    /// The data of [`DataForm::LfLines`], rebuilt from its lines when first read.
    data_given: OnceLock<Box<str>>,
}

/// How the data part of [`Inner::text`] holds the data.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum DataForm {
    /// One `data:` line (or nothing, when no data is set): the value is inside the line.
    #[default]
    Line,
    /// Data with line breaks: its `data:` lines, as they are sent, then the data as it was
    /// given, `given_len` bytes, which are not sent.
    Lines { given_len: u32 },
    /// Data whose line breaks are all LF, too long to be kept in place: its `data:` lines
    /// alone. The data is their values joined with LF, so it is not kept twice (copying it
    /// was a tenth of the time of 4 KiB events); reading it rebuilds it once.
    LfLines,
    /// Data with line breaks too long for [`DataForm::Lines`] (4 GiB or more): kept only as
    /// given, and split into lines each time it is written.
    Given,
}

/// The id, event type or data in [`Inner::text`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Type,
    Id,
    Data,
}

impl Field {
    const fn name(self) -> &'static str {
        match self {
            Self::Type => "event",
            Self::Id => "id",
            Self::Data => "data",
        }
    }
}

impl Default for Inner {
    #[inline]
    fn default() -> Self {
        Self {
            text: Text::default(),
            type_len: 0,
            id_len: 0,
            data_form: DataForm::Line,
            retry: None,
            comments: Vec::new(),
            data_given: OnceLock::new(),
        }
    }
}

impl Inner {
    /// Where the field's line is in `text` (empty when it is not set).
    #[inline]
    pub(super) fn range(&self, field: Field) -> Range<usize> {
        match field {
            Field::Type => 0..self.type_len,
            Field::Id => self.type_len..self.type_len + self.id_len,
            Field::Data => self.type_len + self.id_len..self.text.len(),
        }
    }

    /// The value of the field, as it was set.
    pub(super) fn get(&self, field: Field) -> Option<&str> {
        let range = self.range(field);
        if range.is_empty() {
            return None;
        }
        if field == Field::Data {
            match self.data_form {
                DataForm::Line => {}
                DataForm::Lines { given_len } => {
                    let given = range.end - given_len as usize;
                    return Some(self.text.get(given..range.end));
                }
                DataForm::Given => return Some(self.text.get(range)),
                DataForm::LfLines => {
                    let lines = self.text.get(range);
                    return Some(self.data_given.get_or_init(|| rebuild_data(lines)));
                }
            }
        }
        // `name: value\n`, or `name:\n` for an empty value.
        let start = range.start + field.name().len() + 2;
        Some(if start < range.end {
            self.text.get(start..range.end - 1)
        } else {
            ""
        })
    }

    /// Before the data changes: drops the data rebuilt from [`DataForm::LfLines`] (only that
    /// form fills it).
    #[inline(always)]
    fn forget_data_given(&mut self, field: Field) {
        if field == Field::Data && self.data_form == DataForm::LfLines {
            self.data_given.take();
        }
    }

    /// Sets the field to `value`, written as its line (`line_breaks`: data with line breaks,
    /// written as one `data:` line per line).
    #[inline(always)] // so that `field` is a constant in each setter
    pub(super) fn set(&mut self, field: Field, value: &str, line_breaks: bool) {
        let name = field.name();
        let range = self.range(field);
        self.forget_data_given(field);
        if line_breaks && field == Field::Data {
            self.data_form = self.text.set_data_lines(range.start, value);
            return;
        }
        let line_len = if value.is_empty() {
            self.text.replace(range, &[name, ":\n"])
        } else if let Some(len) = self.text.set_last_line(range.clone(), name, value) {
            len
        } else {
            self.text.replace(range, &[name, ": ", value, "\n"])
        };
        match field {
            Field::Type => self.type_len = line_len,
            Field::Id => self.id_len = line_len,
            Field::Data => self.data_form = DataForm::Line,
        }
    }

    /// Removes the field's line.
    pub(super) fn clear(&mut self, field: Field) {
        self.forget_data_given(field);
        let range = self.range(field);
        self.text.replace(range, &[]);
        match field {
            Field::Type => self.type_len = 0,
            Field::Id => self.id_len = 0,
            Field::Data => self.data_form = DataForm::Line,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.text.len() == 0 && self.retry.is_none() && self.comments.is_empty()
    }

    pub(super) fn encoded_len(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut len = self.text.len() + 1; // the lines, and the blank line that ends the event
        for comment in &self.comments {
            len += lines(comment)
                .map(|line| field_len("", line))
                .sum::<usize>();
        }
        if let Some(retry) = self.retry {
            let (digits, start) = decimal(retry.as_millis());
            len += "retry: \n".len() + digits.len() - start;
        }
        match self.data_form {
            DataForm::Line | DataForm::LfLines => {}
            DataForm::Lines { given_len } => len -= given_len as usize,
            DataForm::Given => {
                let data = self.range(Field::Data);
                len -= data.len();
                len += lines(self.text.get(data))
                    .map(|line| field_len("data", line))
                    .sum::<usize>();
            }
        }
        len
    }

    /// The bytes of `text` that are sent as they are: every line, without the data as given
    /// that [`DataForm::Lines`] keeps after them (all of `text` for [`DataForm::Given`], whose
    /// data part is not sent as it is).
    #[inline]
    fn sent_text(&self) -> &[u8] {
        let text = self.text.as_bytes();
        match self.data_form {
            DataForm::Line | DataForm::LfLines | DataForm::Given => text,
            DataForm::Lines { given_len } => text
                .get(..text.len() - given_len as usize)
                .unwrap_or_default(),
        }
    }

    /// The wire bytes as the event's own buffer, without a copy: when the event is the usual
    /// kind (no `retry`, no comment), its lines are on the heap already and they are at least
    /// `min_len` bytes long. Otherwise gives the fields back.
    ///
    /// The data as given (kept after the lines of data with line breaks) is cut off and the
    /// blank line written in its place, so no byte moves.
    pub(super) fn into_wire(mut self: Box<Self>, min_len: usize) -> Result<Vec<u8>, Box<Self>> {
        let given_len = match self.data_form {
            DataForm::Line | DataForm::LfLines => 0,
            DataForm::Lines { given_len } => given_len as usize,
            DataForm::Given => return Err(self),
        };
        let usual = self.retry.is_none() && self.comments.is_empty();
        match &mut self.text {
            // The wire bytes are the lines and the blank line.
            Text::Heap(text) if usual && text.len() - given_len + 1 >= min_len.max(2) => {
                let mut wire = std::mem::take(text).into_bytes();
                wire.truncate(wire.len() - given_len);
                wire.push(b'\n');
                Ok(wire)
            }
            _ => Err(self),
        }
    }

    /// Appends the wire bytes; false for an empty event.
    #[inline]
    pub(super) fn encode_into(&self, buf: &mut BytesMut) -> bool {
        if self.retry.is_none() && self.comments.is_empty() && self.data_form != DataForm::Given {
            // The usual event: its lines, then the blank line.
            let text = self.sent_text();
            if text.is_empty() {
                return false;
            }
            reserve(buf, text.len() + 1);
            buf.extend_from_slice(text);
            buf.extend_from_slice(b"\n");
            return true;
        }
        if self.is_empty() {
            return false;
        }
        reserve(buf, self.encoded_len());
        for comment in &self.comments {
            for line in lines(comment) {
                put_field(buf, b"", line);
            }
        }
        let data = self.range(Field::Data);
        buf.extend_from_slice(self.text.as_bytes().get(..data.start).unwrap_or_default());
        if let Some(retry) = self.retry {
            let (digits, start) = decimal(retry.as_millis());
            buf.extend_from_slice(b"retry: ");
            buf.extend_from_slice(&digits[start..]);
            buf.extend_from_slice(b"\n");
        }
        if self.data_form == DataForm::Given {
            for line in lines(self.text.get(data)) {
                put_field(buf, b"data", line);
            }
        } else {
            buf.extend_from_slice(self.sent_text().get(data.start..).unwrap_or_default());
        }
        buf.extend_from_slice(b"\n");
        true
    }
}

/// Makes room for `additional` bytes more in `buf`. A buffer that already holds events (a
/// body's batch of the events that are ready) and must grow grows to four times what it then
/// holds, not twice (as `BytesMut` would): a batch of a few large events is then copied once
/// while it is built instead of two or three times (measured on 4 KiB events: a fifth of the
/// time through the body). Callers that keep the result (the hub's frames) reserve the exact
/// size beforehand, so no slack is kept.
#[inline]
fn reserve(buf: &mut BytesMut, additional: usize) {
    if buf.capacity() - buf.len() < additional {
        let grow = if buf.is_empty() {
            additional
        } else {
            additional.max(3 * buf.len())
        };
        buf.reserve(grow);
    }
}

/// The lines of an event's id, type and data: in place while they are short, in a `String`
/// once they outgrow it. Always valid UTF-8, split only where one value ends and the next
/// begins.
#[derive(Clone)]
pub(super) enum Text {
    Inline { len: u8, bytes: [u8; Text::INLINE] },
    Heap(String),
}

impl Text {
    /// How many bytes are kept in place (so that [`Inner`] is 208 bytes on 64-bit targets).
    pub(super) const INLINE: usize = 118;

    #[inline]
    fn len(&self) -> usize {
        match self {
            Self::Inline { len, .. } => usize::from(*len),
            Self::Heap(text) => text.len(),
        }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(text) => text.as_bytes(),
        }
    }

    /// The text in `range`, which always lies on the boundaries of values.
    fn get(&self, range: Range<usize>) -> &str {
        match self {
            Self::Inline { .. } => self.as_bytes().get(range).map(utf8).unwrap_or_default(),
            Self::Heap(text) => text.get(range).unwrap_or_default(),
        }
    }

    /// The fast path of [`replace`](Text::replace) for the usual builder: writes the line
    /// `name: value\n` in place of the last line, `range`, if it fits in place; returns its
    /// length.
    #[inline]
    fn set_last_line(&mut self, range: Range<usize>, name: &str, value: &str) -> Option<usize> {
        let Self::Inline { len, bytes } = self else {
            return None;
        };
        let line_len = name.len() + 3 + value.len();
        let end = range.start + line_len;
        if range.end != usize::from(*len) || end > Self::INLINE {
            return None;
        }
        let new_len = u8::try_from(end).ok()?;
        let line = bytes.get_mut(range.start..end)?;
        let (head, rest) = line.split_at_mut(name.len() + 2);
        head[..name.len()].copy_from_slice(name.as_bytes());
        head[name.len()..].copy_from_slice(b": ");
        let (text, newline) = rest.split_at_mut(value.len());
        text.copy_from_slice(value.as_bytes());
        newline.copy_from_slice(b"\n");
        *len = new_len;
        Some(line_len)
    }

    /// Replaces everything from `start` (where the data part begins) with the `data:` lines of
    /// `value`, which has line breaks, followed by `value` as it is; says how it was stored.
    fn set_data_lines(&mut self, start: usize, value: &str) -> DataForm {
        let Ok(given_len) = u32::try_from(value.len()) else {
            self.replace(start..self.len(), &[value]);
            return DataForm::Given;
        };
        let form = DataForm::Lines { given_len };
        // Each line ending (one or two bytes) becomes `\ndata: ` and the value is kept too, so
        // the part is more than twice the value: only a short value can fit in place.
        if let Self::Inline { len, bytes } = self
            && start + 2 * value.len() + 6 <= Self::INLINE
        {
            let mut part_len = value.len();
            data_lines(value, |piece| part_len += piece.len());
            if let Ok(new_len) = u8::try_from(start + part_len)
                && usize::from(new_len) <= Self::INLINE
            {
                let mut at = start;
                let mut put = |piece: &str| {
                    bytes[at..at + piece.len()].copy_from_slice(piece.as_bytes());
                    at += piece.len();
                };
                data_lines(value, &mut put);
                put(value);
                *len = new_len;
                return form;
            }
        }
        // The lines are the value and 6 bytes per line; for lines of 48 bytes or more on
        // average this is enough, shorter ones grow the string once.
        let room = 2 * value.len() + value.len() / 8 + 16;
        let mut text = match std::mem::take(self) {
            Self::Heap(mut text) => {
                text.truncate(start);
                text.reserve(room);
                text
            }
            inline @ Self::Inline { .. } => {
                let mut text = String::with_capacity(start + room);
                text.push_str(inline.get(0..start));
                text
            }
        };
        let crs = data_lines(value, |piece| text.push_str(piece));
        let form = if crs {
            text.push_str(value);
            form
        } else {
            DataForm::LfLines
        };
        *self = Self::Heap(text);
        form
    }

    /// Replaces the bytes in `range` (the boundaries of a line) with `parts` one after the
    /// other; returns their length.
    #[inline]
    fn replace(&mut self, range: Range<usize>, parts: &[&str]) -> usize {
        let added = parts.iter().map(|part| part.len()).sum();
        match self {
            Self::Inline { len, bytes } => {
                let old_len = usize::from(*len);
                let new_len = old_len - range.len() + added;
                if new_len <= Self::INLINE
                    && let Ok(new_len) = u8::try_from(new_len)
                {
                    if range.end < old_len {
                        bytes.copy_within(range.end..old_len, range.start + added);
                    }
                    let mut at = range.start;
                    for part in parts {
                        bytes[at..at + part.len()].copy_from_slice(part.as_bytes());
                        at += part.len();
                    }
                    *len = new_len;
                    return added;
                }
                // One byte more: the blank line that ends the event, written in place when
                // the event leaves as its own buffer (`into_wire`).
                let mut text = String::with_capacity(new_len + 1);
                text.push_str(utf8(&bytes[..range.start]));
                text.extend(parts.iter().copied());
                text.push_str(utf8(&bytes[range.end..old_len]));
                *self = Self::Heap(text);
            }
            Self::Heap(text) if range.end == text.len() => {
                text.truncate(range.start);
                text.extend(parts.iter().copied());
            }
            Self::Heap(text) => text.replace_range(range, &parts.concat()),
        }
        added
    }
}

impl Default for Text {
    fn default() -> Self {
        Self::Inline {
            len: 0,
            bytes: [0; Self::INLINE],
        }
    }
}

/// Bytes cut from [`Text`] at value boundaries, which are always valid UTF-8.
fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

#[inline]
pub(super) fn has_line_break(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 16 {
        // Short values (the usual event type): a plain loop is cheaper than a search call.
        bytes.iter().any(|&b| b == b'\r' || b == b'\n')
    } else {
        memchr::memchr2(b'\r', b'\n', bytes).is_some()
    }
}

/// Splits text into lines the way an SSE client does: `\r\n`, `\r` and `\n` each end one line.
/// Always yields at least one (possibly empty) line, and a trailing line ending yields a final
/// empty line, so the client's re-joined text equals the input with line endings as `\n`.
pub(super) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr2(b'\r', b'\n', current.as_bytes()) {
            Some(at) => {
                let skip = if current.as_bytes()[at..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Calls `put` with the pieces of the `data:` lines of `text`, in order: for each line (split
/// as [`lines`] splits) `data: ` and the line, or `data:` for an empty one, then `\n`. No
/// allocation. Lines are found by one scan for LF or CR (no pass over the text beforehand to
/// learn whether it holds a CR: on large data that pass was a fifth of the encoding time, the
/// text's first read from memory); from the first CR on, the CR-aware split takes over.
/// Returns whether `text` holds a CR (then its lines do not give it back).
#[inline]
fn data_lines(text: &str, mut put: impl FnMut(&str)) -> bool {
    let mut line = |line: &str| {
        if line.is_empty() {
            put("data:\n");
        } else {
            put("data: ");
            put(line);
            put("\n");
        }
    };
    let bytes = text.as_bytes();
    let mut start = 0;
    loop {
        match bytes.get(start..).and_then(find_line_end) {
            Some(at) if bytes.get(start + at) == Some(&b'\n') => {
                line(text.get(start..start + at).unwrap_or_default());
                start += at + 1;
            }
            Some(_) => break,
            None => {
                line(text.get(start..).unwrap_or_default());
                return false;
            }
        }
    }
    // A CR ends the line at `start`: from here on CR, LF and CRLF each end a line.
    let base = start;
    // The last line ending was a CR: an LF right after it belongs to it.
    let mut after_cr = false;
    for at in memchr::memchr2_iter(b'\r', b'\n', bytes.get(base..).unwrap_or_default()) {
        let at = base + at;
        let cr = bytes[at] == b'\r';
        if after_cr && at == start && !cr {
            after_cr = false;
            start = at + 1;
            continue;
        }
        line(text.get(start..at).unwrap_or_default());
        after_cr = cr;
        start = at + 1;
    }
    line(text.get(start..).unwrap_or_default());
    true
}

/// The data of `data:` lines written by [`data_lines`] from text without CR: their values
/// joined with LF.
fn rebuild_data(lines: &str) -> Box<str> {
    let mut data = String::with_capacity(lines.len());
    for (index, line) in lines.split_terminator('\n').enumerate() {
        if index > 0 {
            data.push('\n');
        }
        data.push_str(line.strip_prefix("data: ").unwrap_or_default());
    }
    data.into_boxed_str()
}

/// The first LF or CR in `bytes`. Lines of event data are mostly short (a line of
/// pretty-printed JSON, a sentence), where a `memchr` call costs more in setup than the search:
/// a profile of 4 KiB events in 52 lines had 42% of the encoding time in `memchr`. So the
/// first blocks of 32 bytes are tested in plain code the compiler vectorises, the block that
/// holds a line ending is searched a word at a time, and `memchr2` takes over for long lines.
#[inline]
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    const SHORT_LINE_BLOCKS: usize = 4;
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let (blocks, _) = bytes.as_chunks::<BLOCK>();
    let mut offset = 0;
    for block in blocks.iter().take(SHORT_LINE_BLOCKS) {
        // One comparison per byte, which vectorises best: LF and CR are the only line
        // endings, but any byte up to CR marks the block (a tab, say: the words then find
        // nothing, and the search goes on).
        if block.iter().fold(false, |any, &byte| any | (byte <= b'\r')) {
            let (words, _) = block.as_chunks::<8>();
            for (index, word) in words.iter().enumerate() {
                let word = u64::from_le_bytes(*word);
                let lf = word ^ (ONES * u64::from(b'\n'));
                let cr = word ^ (ONES * u64::from(b'\r'));
                // The lowest marked byte of each is exact (a borrow only runs upwards).
                let found = (lf.wrapping_sub(ONES) & !lf | cr.wrapping_sub(ONES) & !cr) & HIGH;
                if found != 0 {
                    return Some(offset + index * 8 + (found.trailing_zeros() / 8) as usize);
                }
            }
        }
        offset += BLOCK;
    }
    memchr::memchr2(b'\n', b'\r', bytes.get(offset..)?).map(|at| offset + at)
}

/// The decimal digits of `n`, right-aligned in the array, and where they start.
fn decimal(mut n: u128) -> ([u8; 39], usize) {
    let mut digits = [0; 39];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return (digits, start);
        }
    }
}

/// Length of one `name: value\n` line (`name:\n` when the value is empty).
#[inline]
fn field_len(name: &str, value: impl AsRef<[u8]>) -> usize {
    let value = value.as_ref();
    if value.is_empty() {
        name.len() + 2
    } else {
        name.len() + 3 + value.len()
    }
}

#[inline]
fn put_field(buf: &mut BytesMut, name: &[u8], value: impl AsRef<[u8]>) {
    let value = value.as_ref();
    buf.extend_from_slice(name);
    if value.is_empty() {
        buf.extend_from_slice(b":\n");
    } else {
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value);
        buf.extend_from_slice(b"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_a_client() {
        let split = |s| lines(s).collect::<Vec<_>>();
        assert_eq!(split(""), [""]);
        assert_eq!(split("a"), ["a"]);
        assert_eq!(split("a\r\nb"), ["a", "b"]);
        assert_eq!(split("a\rb\nc"), ["a", "b", "c"]);
        assert_eq!(split("a\n\rb"), ["a", "", "b"]);
        assert_eq!(split("a\r\r\nb"), ["a", "", "b"]);
        assert_eq!(split("\n"), ["", ""]);
        assert_eq!(split("a\r\n"), ["a", ""]);
    }

    #[test]
    fn find_line_end_matches_a_plain_scan() {
        // Every length past the block part, an LF at every position, among bytes one bit or
        // one borrow away from it.
        for len in 0..200 {
            for at in 0..=len {
                for ending in [b'\n', b'\r'] {
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x0b, 0x09, 0x8a, 0, 0xff, 0x0e, 0x0c][i % 8])
                        .collect();
                    if at < len {
                        bytes[at] = ending;
                        if at + 1 < len {
                            bytes[at + 1] = b'\n';
                        }
                    }
                    let expected = bytes.iter().position(|&b| b == b'\n' || b == b'\r');
                    assert_eq!(find_line_end(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn data_lines_split_like_lines() {
        for text in [
            "",
            "a",
            "a\r\nb",
            "a\rb\nc",
            "a\n\rb",
            "a\r\r\nb",
            "\n",
            "a\r\n",
            "\r",
            "\r\n\r\n",
            "é\r\nü\n",
        ] {
            let mut got = String::new();
            data_lines(text, |piece| got.push_str(piece));
            let mut expected = BytesMut::new();
            for line in lines(text) {
                put_field(&mut expected, b"data", line);
            }
            assert_eq!(got.as_bytes(), &expected[..], "{text:?}");
        }
    }
}
