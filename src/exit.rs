//! Every exit status precheck uses, named once. Scripts and hooks rely on
//! these; `main` turns the one a command returns into the process's status.

/// How precheck ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: every check that ran passed (or nothing needed to run).
    Passed,
    /// 1: at least one check failed, timed out or was killed for memory, or
    /// a fixer left changes to review.
    Failed,
    /// 2: bad usage, a bad checks.toml, or an environment precheck cannot
    /// work in.
    Usage,
    /// 124: `precheck wait --timeout` ran out before the runs ended (as
    /// timeout(1)).
    WaitTimeout,
    /// 128 + the signal: interrupted by SIGHUP (129), SIGINT (130, Ctrl-C)
    /// or SIGTERM (143).
    Signal(i32),
    /// A legacy hook's own failing status, passed on as it was.
    Legacy(u8),
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::WaitTimeout => 124,
            Exit::Signal(s) => 128 + s,
            Exit::Legacy(c) => c as i32,
        }
    }

    /// The exit status for a run stopped by `signal` (SIGINT unless it was
    /// SIGHUP or SIGTERM).
    pub fn for_signal(signal: i32) -> Exit {
        match signal {
            libc::SIGHUP | libc::SIGTERM => Exit::Signal(signal),
            _ => Exit::Signal(libc::SIGINT),
        }
    }

    pub fn interrupted(self) -> bool {
        matches!(self, Exit::Signal(_))
    }

    /// The worse of two verdicts: an interruption, else the higher status.
    pub fn worst(self, other: Exit) -> Exit {
        match (self.interrupted(), other.interrupted()) {
            (true, _) => self,
            (_, true) => other,
            _ if other.code() > self.code() => other,
            _ => self,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code() as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(Exit::Passed.code(), 0);
        assert_eq!(Exit::Failed.code(), 1);
        assert_eq!(Exit::Usage.code(), 2);
        assert_eq!(Exit::WaitTimeout.code(), 124);
        assert_eq!(Exit::for_signal(libc::SIGHUP).code(), 129);
        assert_eq!(Exit::for_signal(libc::SIGINT).code(), 130);
        assert_eq!(Exit::for_signal(libc::SIGTERM).code(), 143);
        assert_eq!(Exit::for_signal(libc::SIGQUIT).code(), 130);
    }

    #[test]
    fn an_interruption_is_worse_than_any_failure() {
        let int = Exit::for_signal(libc::SIGINT);
        assert_eq!(Exit::Failed.worst(int), int);
        assert_eq!(int.worst(Exit::Failed), int);
        assert_eq!(Exit::Passed.worst(Exit::Failed), Exit::Failed);
        assert_eq!(Exit::Failed.worst(Exit::Passed), Exit::Failed);
    }
}
