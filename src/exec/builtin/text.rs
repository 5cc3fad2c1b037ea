//! The text fixers: trailing-whitespace, end-of-file-fixer and
//! mixed-line-ending, byte for byte as pre-commit-hooks changes a file
//! (lines end at LF; a lone CR is whitespace to strip, not an ending).

use super::{rewrite, Target, Verdict};
use crate::builtins::{Builtin, LineFix};

/// Python's `bytes.rstrip()` with no argument: ASCII whitespace.
const WHITESPACE: &[u8] = b" \t\n\r\x0b\x0c";

fn rstrip<'a>(line: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let end = line
        .iter()
        .rposition(|c| !chars.contains(c))
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// Python's `os.path.splitext(name.lower())[1]`: the extension of the last
/// component, with its dot; none for a name that only starts with dots.
fn extension(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let body = name.trim_start_matches('.');
    match body.rfind('.') {
        Some(i) => body[i..].to_string(),
        None => String::new(),
    }
}

pub fn trailing_whitespace(b: &Builtin, t: &Target, bytes: &[u8]) -> Verdict {
    let markdown = b.all_markdown || b.markdown_exts.contains(&extension(t.shown));
    let chars = b.chars.as_deref().unwrap_or(WHITESPACE);
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&c| c == b'\n') {
        let (body, eol): (&[u8], &[u8]) = if let Some(b) = line.strip_suffix(b"\r\n") {
            (b, b"\r\n")
        } else if let Some(b) = line.strip_suffix(b"\n") {
            (b, b"\n")
        } else {
            (line, b"")
        };
        let blank = !body.is_empty() && body.iter().all(|c| WHITESPACE.contains(c));
        if markdown && !blank && body.ends_with(b"  ") {
            out.extend_from_slice(rstrip(&body[..body.len() - 2], chars));
            out.extend_from_slice(b"  ");
        } else {
            out.extend_from_slice(rstrip(body, chars));
        }
        out.extend_from_slice(eol);
    }
    if out[..] == bytes[..] {
        return Verdict::default();
    }
    rewrite(t, &out, format!("Fixing {}", t.shown.display()))
}

pub fn end_of_file(t: &Target, bytes: &[u8]) -> Verdict {
    let is_eol = |c: &u8| *c == b'\n' || *c == b'\r';
    let Some(&last) = bytes.last() else {
        return Verdict::default();
    };
    let fixed = if !is_eol(&last) {
        let mut v = bytes.to_vec();
        v.push(b'\n');
        v
    } else {
        let body = bytes.len() - bytes.iter().rev().take_while(|c| is_eol(c)).count();
        if body == 0 {
            // Nothing but line breaks: empty.
            Vec::new()
        } else {
            // Keep one line break of what follows the last text.
            let rest = &bytes[body..];
            let keep = [&b"\n"[..], b"\r\n", b"\r"]
                .into_iter()
                .find(|seq| rest.starts_with(seq))
                .map_or(0, <[u8]>::len);
            bytes[..body + keep].to_vec()
        }
    };
    if fixed[..] == bytes[..] {
        return Verdict::default();
    }
    rewrite(t, &fixed, format!("Fixing {}", t.shown.display()))
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at LF, CR or CRLF.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&bytes[start..=i]);
                start = i + 1;
            }
            b'\r' => {
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                out.push(&bytes[start..=end]);
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

pub fn mixed_line_ending(b: &Builtin, t: &Target, bytes: &[u8]) -> Verdict {
    let lines = lines(bytes);
    // Counts of CR, CRLF, LF endings (in pre-commit-hooks' order).
    let endings: [&[u8]; 3] = [b"\r", b"\r\n", b"\n"];
    let mut counts = [0usize; 3];
    for line in &lines {
        if let Some(k) = endings.iter().position(|e| line.ends_with(e)) {
            counts[k] += 1;
        }
    }
    let mixed = counts.iter().filter(|&&n| n > 0).count() > 1;
    let name = t.shown.display();
    let target = match b.line_fix {
        LineFix::No => {
            return if mixed {
                Verdict::fail(format!("{name}: mixed line endings"))
            } else {
                Verdict::default()
            }
        }
        LineFix::Auto if !mixed => return Verdict::default(),
        LineFix::Auto => {
            // The most common; on a tie the later of CR, CRLF, LF.
            let mut best = 2;
            let mut most = 0;
            for (k, &n) in counts.iter().enumerate() {
                if n >= most {
                    best = k;
                    most = n;
                }
            }
            best
        }
        LineFix::Cr => 0,
        LineFix::CrLf => 1,
        LineFix::Lf => 2,
    };
    let others: usize = (0..3).filter(|&k| k != target).map(|k| counts[k]).sum();
    if b.line_fix != LineFix::Auto && others == 0 {
        return Verdict::default();
    }
    let mut out = Vec::with_capacity(bytes.len() + lines.len());
    for line in &lines {
        out.extend_from_slice(super::without_ending(line));
        out.extend_from_slice(endings[target]);
    }
    rewrite(t, &out, format!("{name}: fixed mixed line endings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_python_splitlines_does() {
        assert_eq!(
            lines(b"a\r\nb\rc\nd"),
            vec![&b"a\r\n"[..], b"b\r", b"c\n", b"d"]
        );
        assert_eq!(lines(b"\r\r\n"), vec![&b"\r"[..], b"\r\n"]);
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn extensions_as_splitext_gives_them() {
        use std::path::Path;
        assert_eq!(extension(Path::new("a/README.MD")), ".md");
        assert_eq!(extension(Path::new(".md")), "");
        assert_eq!(extension(Path::new("a.b.markdown")), ".markdown");
    }
}
