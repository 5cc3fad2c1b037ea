//! The built-ins that parse: check-yaml, check-toml and check-json, failing
//! where pre-commit-hooks' parsers fail (a YAML tag no safe loader knows,
//! more than one YAML document unless allowed; JSON is read as Python
//! reads it, in `json`).

use serde::Deserialize;

use super::{Target, Verdict};
use crate::builtins::Builtin;

/// The tags a YAML safe loader constructs (`!!str` and so on); any other
/// (`!Ref`, `!!python/name:…`) it cannot.
const SAFE_TAGS: &[&str] = &[
    "binary",
    "bool",
    "float",
    "int",
    "map",
    "merge",
    "null",
    "omap",
    "pairs",
    "seq",
    "set",
    "str",
    "timestamp",
    "value",
];

fn unsafe_tag(v: &serde_yaml_ng::Value) -> Option<String> {
    use serde_yaml_ng::Value;
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let standard = tag
                .strip_prefix("!!")
                .or_else(|| tag.strip_prefix("tag:yaml.org,2002:"))
                .is_some_and(|name| SAFE_TAGS.contains(&name));
            if standard {
                unsafe_tag(&t.value)
            } else {
                Some(tag)
            }
        }
        Value::Sequence(items) => items.iter().find_map(unsafe_tag),
        Value::Mapping(m) => m
            .iter()
            .find_map(|(k, v)| unsafe_tag(k).or_else(|| unsafe_tag(v))),
        _ => None,
    }
}

/// The bytes as text; not UTF-8 fails the file (pre-commit-hooks reads
/// these files as UTF-8).
fn utf8<'b>(t: &Target, bytes: &'b [u8]) -> Result<&'b str, Verdict> {
    std::str::from_utf8(bytes)
        .map_err(|e| Verdict::fail(format!("{}: not UTF-8: {e}", t.shown.display())))
}

pub fn yaml(b: &Builtin, t: &Target, bytes: &[u8]) -> Verdict {
    let name = t.shown.display();
    let text = match utf8(t, bytes) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let mut docs = 0;
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        docs += 1;
        let value = match serde_yaml_ng::Value::deserialize(doc) {
            Ok(v) => v,
            Err(e) => return Verdict::fail(format!("{name}: {e}")),
        };
        if b.unsafe_syntax {
            continue;
        }
        if let Some(tag) = unsafe_tag(&value) {
            return Verdict::fail(format!(
                "{name}: could not determine a constructor for the tag '{tag}'\nhint: for YAML with custom tags (CloudFormation, GitLab CI), use builtin:check-yaml --unsafe"
            ));
        }
        if docs > 1 && !b.multi {
            return Verdict::fail(format!(
                "{name}: expected a single document in the stream, but found another document\nhint: allow several with builtin:check-yaml --allow-multiple-documents"
            ));
        }
    }
    Verdict::default()
}

pub fn toml(t: &Target, bytes: &[u8]) -> Verdict {
    let name = t.shown.display();
    let text = match utf8(t, bytes) {
        Ok(s) => s,
        Err(v) => return v,
    };
    match toml::from_str::<toml::Table>(text) {
        Ok(_) => Verdict::default(),
        Err(e) => Verdict::fail(format!("{name}: {}", e.to_string().trim_end())),
    }
}

pub fn json(t: &Target, bytes: &[u8]) -> Verdict {
    match super::json::check(bytes) {
        Ok(()) => Verdict::default(),
        Err(e) => Verdict::fail(format!(
            "{}: Failed to json decode ({e})",
            t.shown.display()
        )),
    }
}
