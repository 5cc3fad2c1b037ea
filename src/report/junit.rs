//! The `--format junit` document: one test case per check, as CI systems
//! display test reports.

use std::time::Duration;

use crate::outcome::Status;
use crate::report::{status_text, Summary};

/// Text as XML 1.0 character data or attribute value: escaped, and without
/// the control characters XML cannot hold.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The `--format junit` document: one test case per check.
pub fn junit(summary: &Summary) -> String {
    let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
    let failures = summary
        .entries
        .iter()
        .filter(|e| e.status.is_failure())
        .count();
    let skipped = summary
        .entries
        .iter()
        .filter(|e| {
            e.status.skipped() || matches!(e.status, Status::NotStarted | Status::Interrupted)
        })
        .count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"precheck\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{t}\">\n",
        n = summary.entries.len(),
        t = secs(summary.duration)
    ));
    x.push_str(&format!(
        "  <testsuite name=\"precheck\" id=\"{id}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{t}\">\n",
        id = xml(&summary.run_id),
        n = summary.entries.len(),
        t = secs(summary.duration)
    ));
    for e in &summary.entries {
        x.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"precheck\" time=\"{}\"",
            xml(&e.name),
            secs(e.duration)
        ));
        let text = status_text(e);
        if e.status.is_failure() {
            let mut body = String::new();
            if let Some(d) = &e.detail {
                body.push_str(d);
                body.push('\n');
            }
            body.push_str(&crate::report::strip_escapes(&e.tail.text));
            if let Some(log) = &e.log {
                body.push_str(&format!("\n(full log: {})", log.display()));
            }
            x.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&text),
                e.status.key(),
                xml(&body)
            ));
        } else if e.status.passed() {
            x.push_str("/>\n");
        } else {
            x.push_str(&format!(
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                xml(&text)
            ));
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
