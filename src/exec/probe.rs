//! Readiness probes of services: an HTTP GET that answers below 500, a TCP
//! port that accepts a connection, or a line of the service's log that
//! matches a regular expression. A probe only looks, once per call, and
//! says how the service became ready; when to look again and what to do
//! about the answer is the supervisor's (or the `up` command's).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Ready, Url};

/// How long one connection attempt may take.
const CONNECT: Duration = Duration::from_millis(500);
/// How long an HTTP server may take to send its status line.
const ANSWER: Duration = Duration::from_secs(2);
/// Most of an answer read after its status line.
const BODY_MAX: usize = 1 << 20;
/// Longest log line kept when it is quoted as the reason.
const QUOTE_MAX: usize = 80;

/// Looks for one service's readiness, again and again.
pub struct Prober {
    ready: Ready,
    log: PathBuf,
    regex: Option<regex::Regex>,
    /// How far the log has been read.
    offset: u64,
    /// The start of a line not ended yet.
    carry: Vec<u8>,
}

impl Prober {
    /// A prober of `ready` whose log (for `ready_log`) is at `log`.
    pub fn new(ready: &Ready, log: &Path) -> Prober {
        let regex = match ready {
            // Validated with checks.toml.
            Ready::Log(re) => regex::Regex::new(re).ok(),
            _ => None,
        };
        Prober {
            ready: ready.clone(),
            log: log.to_path_buf(),
            regex,
            offset: 0,
            carry: Vec::new(),
        }
    }

    /// One look: how it became ready, or None while it is not.
    pub fn probe(&mut self) -> Option<String> {
        match &self.ready {
            Ready::Started => Some("started".into()),
            Ready::Url(_) | Ready::Port(_) => answers(&self.ready),
            Ready::Log(_) => self.log_line(),
        }
    }

    /// How long to wait before the next look.
    pub fn interval(&self) -> Duration {
        match self.ready {
            Ready::Log(_) => Duration::from_millis(20),
            _ => Duration::from_millis(100),
        }
    }

    fn log_line(&mut self) -> Option<String> {
        use std::io::Seek;
        let regex = self.regex.as_ref()?;
        let mut file = std::fs::File::open(&self.log).ok()?;
        file.seek(std::io::SeekFrom::Start(self.offset)).ok()?;
        let mut new = Vec::new();
        file.read_to_end(&mut new).ok()?;
        self.offset += new.len() as u64;
        self.carry.extend_from_slice(&new);
        // Whole lines are looked at once; a line still being written is
        // looked at too (a prompt may never end its line), and again once
        // it grows.
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        let found = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .find(|l| regex.is_match(l))
            .map(|l| {
                let l = l.trim();
                let quoted: String = l.chars().take(QUOTE_MAX).collect();
                let cut = if quoted.len() < l.len() { "…" } else { "" };
                format!("its log printed `{quoted}{cut}`")
            });
        if let Some(end) = self.carry.iter().rposition(|&b| b == b'\n') {
            self.carry.drain(..=end);
        }
        found
    }
}

/// Why a service failed that was not ready in `timeout`.
pub fn not_ready(ready: &Ready, timeout: Duration) -> String {
    format!(
        "was not ready after {} (waiting for {})",
        crate::units::format_duration(timeout),
        ready.describe()
    )
}

/// Why a service failed that ended (`exit`, in words) before it was ready.
pub fn ended_before_ready(ready: &Ready, exit: &str) -> String {
    format!(
        "exited before it was ready ({exit}; waiting for {})",
        ready.describe()
    )
}

/// Whether something answers the URL or port probe of `ready` now (how),
/// whoever started it. A log probe is no one's but a service precheck
/// started: None.
pub fn answers(ready: &Ready) -> Option<String> {
    match ready {
        Ready::Url(url) => http_status(url)
            .filter(|&status| status < 500)
            .map(|status| format!("{} answered {status}", url.text)),
        Ready::Port(port) => {
            let local: [SocketAddr; 2] = [
                ([127, 0, 0, 1], *port).into(),
                (std::net::Ipv6Addr::LOCALHOST, *port).into(),
            ];
            local
                .iter()
                .any(|a| TcpStream::connect_timeout(a, CONNECT).is_ok())
                .then(|| format!("port {port} accepted a connection"))
        }
        Ready::Log(_) | Ready::Started => None,
    }
}

/// The status an HTTP server at `url` answers a GET with, if one answers.
fn http_status(url: &Url) -> Option<u16> {
    let addrs = (url.host.as_str(), url.port).to_socket_addrs().ok()?;
    let mut stream = addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, CONNECT).ok())?;
    stream.set_read_timeout(Some(ANSWER)).ok()?;
    stream.set_write_timeout(Some(ANSWER)).ok()?;
    let host = if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: precheck\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path
    );
    stream.write_all(request.as_bytes()).ok()?;
    // The status line is all that is read: `HTTP/1.1 200 OK`.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while head.len() < 64 && !head.ends_with(b"\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    // The rest is read (and dropped) to its end, so that closing does not
    // reset a connection the server is still writing to (which a server
    // would log as an error of its own).
    let mut rest = [0u8; 8192];
    let mut left = BODY_MAX;
    while left > 0 {
        match stream.read(&mut rest) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_is_found_across_reads_and_quoted() {
        let dir = std::env::temp_dir().join(format!("precheck-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        std::fs::write(&log, "starting\nLocal: http://127.0.0.1:51").unwrap();
        let mut p = Prober::new(&Ready::Log("Local:.*5173".into()), &log);
        assert_eq!(p.probe(), None);
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b"73/\n").unwrap();
        assert_eq!(
            p.probe().as_deref(),
            Some("its log printed `Local: http://127.0.0.1:5173/`")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nothing_answers_on_a_closed_port() {
        // Bound and dropped: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(answers(&Ready::Port(port)), None);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(answers(&Ready::Port(port)).is_some());
        drop(listener);
    }
}
