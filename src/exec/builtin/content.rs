//! The built-ins that read what files say: check-merge-conflict,
//! detect-private-key, and pygrep (pre-commit's `language: pygrep`).

use super::{Target, Verdict};
use crate::builtins::Builtin;

/// Lines that start with these are conflict markers (a bare `=======` only
/// when alone on its line).
const CONFLICT_MARKERS: &[&[u8]] = &[
    b"<<<<<<< ",
    b"======= ",
    b"=======\r\n",
    b"=======\n",
    b">>>>>>> ",
];

pub fn merge_conflict(t: &Target, bytes: &[u8]) -> Verdict {
    let mut v = Verdict::default();
    for (i, line) in bytes.split_inclusive(|&c| c == b'\n').enumerate() {
        for marker in CONFLICT_MARKERS {
            if line.starts_with(marker) {
                let shown = String::from_utf8_lossy(marker.trim_ascii());
                v.out.extend_from_slice(
                    format!(
                        "{}:{}: Merge conflict string '{shown}' found\n",
                        t.shown.display(),
                        i + 1
                    )
                    .as_bytes(),
                );
                v.failed = true;
            }
        }
    }
    v
}

/// What marks a private key.
const KEY_MARKERS: &[&[u8]] = &[
    b"BEGIN RSA PRIVATE KEY",
    b"BEGIN DSA PRIVATE KEY",
    b"BEGIN EC PRIVATE KEY",
    b"BEGIN OPENSSH PRIVATE KEY",
    b"BEGIN PRIVATE KEY",
    b"PuTTY-User-Key-File-2",
    b"BEGIN SSH2 ENCRYPTED PRIVATE KEY",
    b"BEGIN PGP PRIVATE KEY BLOCK",
    b"BEGIN ENCRYPTED PRIVATE KEY",
    b"BEGIN OpenVPN Static key V1",
];

pub fn private_key(t: &Target, bytes: &[u8]) -> Verdict {
    // One search for all of them.
    static MARKERS: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let markers = MARKERS.get_or_init(|| {
        let alternatives: Vec<String> = KEY_MARKERS
            .iter()
            .map(|m| regex::escape(&String::from_utf8_lossy(m)))
            .collect();
        regex::bytes::Regex::new(&alternatives.join("|")).expect("escaped literals")
    });
    let found = markers.is_match(bytes);
    if found {
        Verdict::fail(format!("Private key found: {}", t.shown.display()))
    } else {
        Verdict::default()
    }
}

/// pygrep: a match is a problem (or, with `--negate`, a file without one).
pub struct Grep {
    re: regex::bytes::Regex,
    multiline: bool,
    negate: bool,
}

impl Grep {
    pub fn new(b: &Builtin) -> Result<Grep, String> {
        let pattern = b.regex.as_deref().unwrap_or_default();
        Ok(Grep {
            re: crate::builtins::pygrep_regex(pattern, b.ignore_case, b.multiline)?,
            multiline: b.multiline,
            negate: b.negate,
        })
    }

    /// A line as Python's `search` sees it with its LF: `$` also matches
    /// before that LF.
    fn line_matches(&self, line: &[u8]) -> bool {
        self.re.is_match(line)
            || line
                .strip_suffix(b"\n")
                .is_some_and(|body| self.re.is_match(body))
    }

    pub fn file(&self, t: &Target, bytes: &[u8]) -> Verdict {
        let name = t.shown.display();
        let lines = || bytes.split_inclusive(|&c| c == b'\n');
        if self.negate {
            let found = if self.multiline {
                self.re.is_match(bytes)
            } else {
                lines().any(|l| self.line_matches(l))
            };
            return if found {
                Verdict::default()
            } else {
                Verdict::fail(name.to_string())
            };
        }
        let mut v = Verdict::default();
        if self.multiline {
            if let Some(m) = self.re.find(bytes) {
                let line_no = bytes[..m.start()].iter().filter(|&&c| c == b'\n').count();
                // The first line whole, then the rest of the match.
                let mut matched: Vec<&[u8]> = m.as_bytes().split(|&c| c == b'\n').collect();
                matched[0] = bytes
                    .split(|&c| c == b'\n')
                    .nth(line_no)
                    .unwrap_or_default();
                v.out
                    .extend_from_slice(format!("{name}:{}:", line_no + 1).as_bytes());
                v.out.extend_from_slice(&matched.join(&b'\n'));
                v.out.push(b'\n');
                v.failed = true;
            }
            return v;
        }
        for (i, line) in lines().enumerate() {
            if self.line_matches(line) {
                v.out
                    .extend_from_slice(format!("{name}:{}:", i + 1).as_bytes());
                v.out.extend_from_slice(super::without_ending(line));
                v.out.push(b'\n');
                v.failed = true;
            }
        }
        v
    }
}
