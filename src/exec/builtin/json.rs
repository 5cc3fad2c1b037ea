//! check-json's reader: JSON as Python's `json` module reads a file's bytes
//! (what pre-commit-hooks' check-json runs), so that precheck fails the
//! files it fails and passes the files it passes, with its words.
//!
//! What that reader accepts beyond strict JSON, and a generic parser does
//! not: `NaN`, `Infinity` and `-Infinity`; a number too big for a float
//! (it becomes infinity); a lone surrogate (`"\ud800"`); a byte-order mark,
//! and UTF-16 or UTF-32 text (told apart as Python's `detect_encoding`
//! does); any depth of nesting. What it refuses beyond strict JSON: an
//! integer of more than 4,300 digits (Python's limit on converting one) and
//! an object that names a key twice (pre-commit-hooks' own rule; keys are
//! compared as decoded, so `"a"` and `"\u0061"` are the same key).
//!
//! Depth: Python's reader recurses and gives up near a thousand levels,
//! with a traceback rather than a verdict; this one reads any depth.

use std::collections::HashSet;

/// Reads `bytes` as JSON; the error is worded as Python's.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let text = decode(bytes)?;
    Parser { s: &text }.document()
}

type Text = Vec<u32>;

/// The text of `bytes`, as `json.loads(bytes)` decodes it (with
/// `surrogatepass`: a surrogate, paired or not, is a character).
fn decode(b: &[u8]) -> Result<Text, String> {
    const UTF32_LE: &[u8] = &[0xff, 0xfe, 0, 0];
    const UTF32_BE: &[u8] = &[0, 0, 0xfe, 0xff];
    if b.starts_with(UTF32_LE) {
        return utf32(&b[4..], false, 4);
    }
    if b.starts_with(UTF32_BE) {
        return utf32(&b[4..], true, 4);
    }
    if b.starts_with(&[0xff, 0xfe]) {
        return utf16(&b[2..], false, 2);
    }
    if b.starts_with(&[0xfe, 0xff]) {
        return utf16(&b[2..], true, 2);
    }
    if b.starts_with(&[0xef, 0xbb, 0xbf]) {
        return utf8(&b[3..], "utf-8-sig", 3);
    }
    if b.len() >= 4 {
        if b[0] == 0 {
            return if b[1] != 0 {
                utf16(b, true, 0)
            } else {
                utf32(b, true, 0)
            };
        }
        if b[1] == 0 {
            return if b[2] != 0 || b[3] != 0 {
                utf16(b, false, 0)
            } else {
                utf32(b, false, 0)
            };
        }
    } else if b.len() == 2 {
        if b[0] == 0 {
            return utf16(b, true, 0);
        }
        if b[1] == 0 {
            return utf16(b, false, 0);
        }
    }
    utf8(b, "utf-8", 0)
}

/// Python's words for bytes its codec cannot decode; `at` is where they
/// are in the whole input, `n` how many.
fn undecodable(codec: &str, b: &[u8], at: usize, n: usize, why: &str) -> String {
    if n <= 1 {
        format!(
            "'{codec}' codec can't decode byte 0x{:02x} in position {at}: {why}",
            b.first().copied().unwrap_or(0)
        )
    } else {
        format!(
            "'{codec}' codec can't decode bytes in position {at}-{}: {why}",
            at + n - 1
        )
    }
}

fn utf8(b: &[u8], codec: &str, skipped: usize) -> Result<Text, String> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            out.push(u32::from(c));
            i += 1;
            continue;
        }
        // The sequence's length and the range of its second byte (a
        // surrogate's encoding, after 0xED, passes).
        let (len, second) = match c {
            0xc2..=0xdf => (2, 0x80..=0xbf),
            0xe0 => (3, 0xa0..=0xbf),
            0xe1..=0xef => (3, 0x80..=0xbf),
            0xf0 => (4, 0x90..=0xbf),
            0xf1..=0xf3 => (4, 0x80..=0xbf),
            0xf4 => (4, 0x80..=0x8f),
            _ => {
                return Err(undecodable(
                    codec,
                    &b[i..],
                    skipped + i,
                    1,
                    "invalid start byte",
                ))
            }
        };
        let mut cp = u32::from(c) & (0x7f >> len);
        for k in 1..len {
            let Some(&next) = b.get(i + k) else {
                return Err(undecodable(
                    codec,
                    &b[i..],
                    skipped + i,
                    k,
                    "unexpected end of data",
                ));
            };
            let fits = if k == 1 {
                second.contains(&next)
            } else {
                (0x80..=0xbf).contains(&next)
            };
            if !fits {
                // Python names the bytes read before the one that does not
                // fit.
                return Err(undecodable(
                    codec,
                    &b[i..],
                    skipped + i,
                    k,
                    "invalid continuation byte",
                ));
            }
            cp = (cp << 6) | u32::from(next & 0x3f);
        }
        out.push(cp);
        i += len;
    }
    Ok(out)
}

/// UTF-16 of the given byte order (Python names the codec by it, BOM or
/// not), from `skipped` bytes into the input.
fn utf16(b: &[u8], big: bool, skipped: usize) -> Result<Text, String> {
    let codec = if big { "utf-16-be" } else { "utf-16-le" };
    let units: Vec<u32> = b
        .chunks_exact(2)
        .map(|p| {
            u32::from(if big { p[0] } else { p[1] }) << 8 | u32::from(if big { p[1] } else { p[0] })
        })
        .collect();
    if b.len() % 2 == 1 {
        let at = b.len() - 1;
        return Err(undecodable(
            codec,
            &b[at..],
            skipped + at,
            1,
            "truncated data",
        ));
    }
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        match units.get(i + 1) {
            Some(&low) if (0xd800..=0xdbff).contains(&u) && (0xdc00..=0xdfff).contains(&low) => {
                out.push(0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00));
                i += 2;
            }
            _ => {
                out.push(u);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn utf32(b: &[u8], big: bool, skipped: usize) -> Result<Text, String> {
    let codec = if big { "utf-32-be" } else { "utf-32-le" };
    let mut out = Vec::with_capacity(b.len() / 4);
    for (k, q) in b.chunks(4).enumerate() {
        let at = skipped + 4 * k;
        if q.len() < 4 {
            return Err(undecodable(codec, q, at, q.len(), "truncated data"));
        }
        let cp = if big {
            u32::from_be_bytes([q[0], q[1], q[2], q[3]])
        } else {
            u32::from_le_bytes([q[0], q[1], q[2], q[3]])
        };
        if cp > 0x10ffff {
            return Err(undecodable(
                codec,
                q,
                at,
                4,
                "code point not in range(0x110000)",
            ));
        }
        out.push(cp);
    }
    Ok(out)
}

/// Python refuses to convert an integer of more digits than this.
const INT_DIGITS_MAX: usize = 4300;

/// An object or array not yet closed.
enum Open {
    Array,
    Object {
        keys: HashSet<Text>,
        /// The first key named twice: pre-commit-hooks' hook sees the pairs
        /// once the object is whole, so it is reported at the close.
        twice: Option<Text>,
    },
}

struct Parser<'s> {
    s: &'s [u32],
}

fn is(c: Option<&u32>, ch: char) -> bool {
    c == Some(&(ch as u32))
}

impl Parser<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).and_then(|&c| char::from_u32(c))
    }

    /// Past the whitespace at `i` (JSON's four: space, tab, LF, CR).
    fn ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    /// Python's `errmsg`: the message and where, as line, column, char.
    fn error(&self, what: &str, pos: usize) -> String {
        let before = &self.s[..pos.min(self.s.len())];
        let line = before.iter().filter(|&&c| c == u32::from(b'\n')).count() + 1;
        let column = match before.iter().rposition(|&c| c == u32::from(b'\n')) {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        format!("{what}: line {line} column {column} (char {pos})")
    }

    fn starts(&self, i: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, ch)| is(self.s.get(i + k), ch))
    }

    fn document(&self) -> Result<(), String> {
        let mut stack: Vec<Open> = Vec::new();
        let mut i = self.ws(0);
        'value: loop {
            // A value starts at `i`.
            match self.at(i) {
                Some('{') => {
                    i = self.ws(i + 1);
                    if self.at(i) != Some('}') {
                        let (key, next) = self.key(i)?;
                        i = next;
                        stack.push(Open::Object {
                            keys: HashSet::from([key]),
                            twice: None,
                        });
                        continue 'value;
                    }
                    i += 1;
                }
                Some('[') => {
                    i = self.ws(i + 1);
                    if self.at(i) != Some(']') {
                        stack.push(Open::Array);
                        continue 'value;
                    }
                    i += 1;
                }
                Some('"') => i = self.string(i)?.1,
                _ => i = self.scalar(i)?,
            }
            // A value ended at `i`: close what it ends.
            loop {
                let Some(open) = stack.last_mut() else {
                    break 'value;
                };
                i = self.ws(i);
                match (open, self.at(i)) {
                    (Open::Array, Some(']')) => {
                        i += 1;
                        stack.pop();
                    }
                    (Open::Object { twice, .. }, Some('}')) => {
                        if let Some(key) = twice {
                            let key: String = key
                                .iter()
                                .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                                .collect();
                            return Err(format!("Duplicate key: {key}"));
                        }
                        i += 1;
                        stack.pop();
                    }
                    (Open::Array, Some(',')) => {
                        i = self.ws(i + 1);
                        continue 'value;
                    }
                    (Open::Object { keys, twice }, Some(',')) => {
                        let (key, next) = self.key(self.ws(i + 1))?;
                        i = next;
                        if twice.is_none() && keys.contains(&key) {
                            *twice = Some(key);
                        } else {
                            keys.insert(key);
                        }
                        continue 'value;
                    }
                    _ => return Err(self.error("Expecting ',' delimiter", i)),
                }
            }
        }
        let end = self.ws(i);
        if end < self.s.len() {
            return Err(self.error("Extra data", end));
        }
        Ok(())
    }

    /// A key, its colon and the whitespace after it, from `i`; the key as
    /// decoded, and where its value starts.
    fn key(&self, i: usize) -> Result<(Text, usize), String> {
        if self.at(i) != Some('"') {
            return Err(self.error("Expecting property name enclosed in double quotes", i));
        }
        let (key, next) = self.string(i)?;
        let colon = self.ws(next);
        if self.at(colon) != Some(':') {
            return Err(self.error("Expecting ':' delimiter", colon));
        }
        Ok((key, self.ws(colon + 1)))
    }

    /// The string whose quote is at `begin`: its characters, and where it
    /// ends (past its closing quote). Python's `scanstring`, strict.
    fn string(&self, begin: usize) -> Result<(Text, usize), String> {
        let s = self.s;
        let unterminated = || self.error("Unterminated string starting at", begin);
        let mut out = Vec::new();
        let mut i = begin + 1;
        loop {
            let Some(&c) = s.get(i) else {
                return Err(unterminated());
            };
            match char::from_u32(c) {
                Some('"') => return Ok((out, i + 1)),
                Some('\\') => {}
                _ if c <= 0x1f => return Err(self.error("Invalid control character at", i)),
                _ => {
                    out.push(c);
                    i += 1;
                    continue;
                }
            }
            let Some(escape) = s.get(i + 1).map(|&e| char::from_u32(e)) else {
                return Err(unterminated());
            };
            let simple = match escape {
                Some('"') => Some('"'),
                Some('\\') => Some('\\'),
                Some('/') => Some('/'),
                Some('b') => Some('\u{8}'),
                Some('f') => Some('\u{c}'),
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                Some('t') => Some('\t'),
                Some('u') => None,
                _ => return Err(self.error("Invalid \\escape", i)),
            };
            if let Some(ch) = simple {
                out.push(ch as u32);
                i += 2;
                continue;
            }
            // `\uXXXX`, `u` at i + 1; Python wants more text after it.
            let bad = |u: usize| self.error("Invalid \\uXXXX escape", u);
            let hex = |from: usize| -> Option<u32> {
                let digits = s.get(from..from + 4)?;
                digits.iter().try_fold(0u32, |n, &d| {
                    Some(n << 4 | char::from_u32(d)?.to_digit(16)?)
                })
            };
            if i + 6 >= s.len() {
                return Err(bad(i + 1));
            }
            let mut c = hex(i + 2).ok_or_else(|| bad(i + 1))?;
            i += 6;
            if (0xd800..=0xdbff).contains(&c)
                && i + 6 < s.len()
                && is(s.get(i), '\\')
                && is(s.get(i + 1), 'u')
            {
                let low = hex(i + 2).ok_or_else(|| bad(i + 1))?;
                if (0xdc00..=0xdfff).contains(&low) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
            }
            out.push(c);
        }
    }

    /// A literal or a number at `i`; where it ends.
    fn scalar(&self, i: usize) -> Result<usize, String> {
        for word in ["null", "true", "false", "NaN", "Infinity", "-Infinity"] {
            if self.starts(i, word) {
                return Ok(i + word.len());
            }
        }
        let digit = |k: usize| self.at(k).is_some_and(|c| c.is_ascii_digit());
        let mut k = i;
        if self.at(k) == Some('-') {
            k += 1;
        }
        let first = k;
        match self.at(k) {
            Some('1'..='9') => {
                while digit(k) {
                    k += 1;
                }
            }
            Some('0') => k += 1,
            _ => return Err(self.error("Expecting value", i)),
        }
        let digits = k - first;
        let mut float = false;
        if self.at(k) == Some('.') && digit(k + 1) {
            float = true;
            k += 2;
            while digit(k) {
                k += 1;
            }
        }
        if matches!(self.at(k), Some('e' | 'E')) {
            let mut e = k + 1;
            if matches!(self.at(e), Some('+' | '-')) {
                e += 1;
            }
            if digit(e) {
                float = true;
                while digit(e) {
                    e += 1;
                }
                k = e;
            }
        }
        if !float && digits > INT_DIGITS_MAX {
            return Err(format!(
                "Exceeds the limit ({INT_DIGITS_MAX} digits) for integer string conversion: value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
            ));
        }
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    /// Each input with what Python 3.11's `json.loads(bytes)` says of it
    /// (None: it reads it), as printed by that interpreter.
    #[test]
    fn reads_as_python_reads() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"[1,]", Some("Expecting value: line 1 column 4 (char 3)")),
            (
                b"{\"a\":1,}",
                Some("Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"),
            ),
            (b"1.", Some("Extra data: line 1 column 2 (char 1)")),
            (b"1e", Some("Extra data: line 1 column 2 (char 1)")),
            (b"-", Some("Expecting value: line 1 column 1 (char 0)")),
            (b"01", Some("Extra data: line 1 column 2 (char 1)")),
            (b"\"\\ud800\"", None),
            (b"[NaN, Infinity, -Infinity]", None),
            (b"1e400", None),
            (b"\xef\xbb\xbf{}", None),
            (
                b"\xef\xbb\xbf\xef\xbb\xbf{}",
                Some("Expecting value: line 1 column 1 (char 0)"),
            ),
            (
                b"\"\\x\"",
                Some("Invalid \\escape: line 1 column 2 (char 1)"),
            ),
            (
                b"\"\\u12\"",
                Some("Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            ),
            (
                b"\"abc",
                Some("Unterminated string starting at: line 1 column 1 (char 0)"),
            ),
            (
                b"\"a\x01\"",
                Some("Invalid control character at: line 1 column 3 (char 2)"),
            ),
            (
                b"{\"a\" 1}",
                Some("Expecting ':' delimiter: line 1 column 6 (char 5)"),
            ),
            (
                b"{1:2}",
                Some("Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            ),
            (
                b"[1 2]",
                Some("Expecting ',' delimiter: line 1 column 4 (char 3)"),
            ),
            (b"", Some("Expecting value: line 1 column 1 (char 0)")),
            (b" ", Some("Expecting value: line 1 column 2 (char 1)")),
            (b"1 2", Some("Extra data: line 1 column 3 (char 2)")),
            (
                b"\xff",
                Some("'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
            ),
            (b"\"\xed\xa0\x80\"", None),
            (b"-0", None),
            (b"-01", Some("Extra data: line 1 column 3 (char 2)")),
            (b"1.5e+3", None),
            (b"1E5", None),
            (
                b"[1e]",
                Some("Expecting ',' delimiter: line 1 column 3 (char 2)"),
            ),
            (b"{\"a\":1}x", Some("Extra data: line 1 column 8 (char 7)")),
            (b"{\"a\": 1, \"\\u0061\": 2}", Some("Duplicate key: a")),
            (
                b"{\"a\": {\"b\": 1, \"b\": 2}, \"a\": 3}",
                Some("Duplicate key: b"),
            ),
            (
                b"{\"a\": 1, \"a\": 2, \"b\": }",
                Some("Expecting value: line 1 column 23 (char 22)"),
            ),
            (b"[{\"x\": 1}, {\"x\": 2}]", None),
            (b"\"\\ud83d\\ude00\"", None),
            (
                b"{\"\\ud83d\\ude00\": 1, \"\xf0\x9f\x98\x80\": 2}",
                Some("Duplicate key: \u{1f600}"),
            ),
            (
                b"[1,\n 2,\n x]",
                Some("Expecting value: line 3 column 2 (char 9)"),
            ),
            // UTF-16 with a byte-order mark, and without: `{"a": NaN}`.
            (b"\xff\xfe{\0\"\0a\0\"\0:\0N\0a\0N\0}\0", None),
            (b"{\0\"\0a\0\"\0:\0 \x001\0}\0", None),
            (b"\0[\0]", None),
            (
                b"\xff\xfe{\0\"\0",
                Some("Unterminated string starting at: line 1 column 2 (char 1)"),
            ),
            (
                b"\xff\xfe\0",
                Some("'utf-16-le' codec can't decode byte 0x00 in position 2: truncated data"),
            ),
            (
                b"\"\\ud800\\u12\"",
                Some("Invalid \\uXXXX escape: line 1 column 9 (char 8)"),
            ),
            (b"\"\\ud800\\u0041\"", None),
            (
                b"\"\\ud800\\u00\"",
                Some("Invalid \\uXXXX escape: line 1 column 9 (char 8)"),
            ),
            (
                b"\"\\u004\"",
                Some("Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            ),
            (
                b"\xe2\x82",
                Some("'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"),
            ),
            (
                b"\xe2(\xa1",
                Some(
                    "'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte",
                ),
            ),
            (
                b"\"\xc3\"",
                Some(
                    "'utf-8' codec can't decode byte 0xc3 in position 1: invalid continuation byte",
                ),
            ),
            (
                b"\"\\",
                Some("Unterminated string starting at: line 1 column 1 (char 0)"),
            ),
            (b"nul", Some("Expecting value: line 1 column 1 (char 0)")),
            (b"[-]", Some("Expecting value: line 1 column 2 (char 1)")),
            (b"[- 1]", Some("Expecting value: line 1 column 2 (char 1)")),
            (b"-Infinity", None),
            (b"-Inf", Some("Expecting value: line 1 column 1 (char 0)")),
            (
                b"{\"a\":1 \"b\":2}",
                Some("Expecting ',' delimiter: line 1 column 8 (char 7)"),
            ),
            (
                b"{\"a\":1,\"b\"}",
                Some("Expecting ':' delimiter: line 1 column 11 (char 10)"),
            ),
            (
                b"{\"a\"",
                Some("Expecting ':' delimiter: line 1 column 5 (char 4)"),
            ),
            (
                b"{",
                Some("Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            ),
            (b"[", Some("Expecting value: line 1 column 2 (char 1)")),
            (
                b"{\"a\":",
                Some("Expecting value: line 1 column 6 (char 5)"),
            ),
            (b"\"\\ud800\\udc00x\"", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                check(input).err().as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn python_refuses_an_integer_of_more_than_4300_digits() {
        let at_limit = "7".repeat(4300);
        assert_eq!(check(at_limit.as_bytes()), Ok(()));
        let over = format!("[-{}]", "7".repeat(4301));
        assert_eq!(
            check(over.as_bytes()).unwrap_err(),
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use sys.set_int_max_str_digits() to increase the limit"
        );
        let float = format!("{}.0", "7".repeat(5000));
        assert_eq!(check(float.as_bytes()), Ok(()));
    }

    #[test]
    fn any_depth_is_read() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(check(deep.as_bytes()), Ok(()));
        let open = "[{\"a\":".repeat(50_000);
        assert!(check(open.as_bytes()).is_err());
    }
}
