//! Every environment variable precheck reads or sets, named once (its own
//! `PRECHECK_*` and the few of others it honours). A leaf.
//! (The debug build's fault-injection variables live with `fault`.)

/// Names checks to skip, comma-separated.
pub const SKIP: &str = "PRECHECK_SKIP";

/// Set (to anything) for a pre-commit hook that runs on the work tree as it
/// is, without setting unstaged changes aside.
pub const NO_STASH: &str = "PRECHECK_NO_STASH";

/// Set in a background run's environment: the id its parent gave it.
pub const RUN_ID: &str = "PRECHECK_RUN_ID";

/// Set in every child's environment: which precheck started it, as
/// `PID-STARTTIME`.
pub const OWNER: &str = "PRECHECK_OWNER";
/// Set in a service started by `precheck up` (and inherited by all it
/// starts): which service of which `up`, so `down` finds its whole tree.
pub const SERVICE: &str = "PRECHECK_SERVICE";

/// Holds the commit message file for `{msg}`.
pub const MSG_FILE: &str = "PRECHECK_MSG_FILE";

/// Set by the shell hook shim: the folder it lives in (where `HOOK.legacy`
/// is). The exec shim's folder comes as its path instead.
pub const HOOKS_DIR: &str = "PRECHECK_HOOKS_DIR";

/// Others' variables precheck reads, named here too.
/// `CI` set (and not `false`): no live view, plain progress lines.
pub const CI: &str = "CI";
/// `TERM=dumb`: no live view.
pub const TERM: &str = "TERM";
/// `GITHUB_ACTIONS=true`: failures as workflow annotations and folded groups.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// `NO_COLOR` set and not empty: no colour, whatever `CLICOLOR_FORCE` says.
pub const NO_COLOR: &str = "NO_COLOR";
/// Where programs are looked up (checks' own `env` may set it).
pub const PATH: &str = "PATH";
/// The index git uses, when not the git dir's (set by git for a hook
/// during `git commit -a` or `git commit PATHS`).
pub const GIT_INDEX_FILE: &str = "GIT_INDEX_FILE";
/// The working directory as the shell keeps it: precheck sets it for a
/// check it starts without sh, as sh would export it.
pub const PWD: &str = "PWD";
