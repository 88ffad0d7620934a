//! Command-line interface: every flag and subcommand, declared with clap
//! derive.
//!
//! House rules (after xh): `long` is implicit, `short` only where written,
//! `value_name` in upper case, every flag has a one-line doc.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Read cctap, mitmproxy and browser HAR archives and mitmproxy flow files offline.
///
/// Exit codes: 0 ok; 1 found something (`diff`: the sides differ, `leaks`:
/// a credential was found); 2 error (unreadable file, bad arguments).
#[derive(Debug, Parser)]
#[command(
    name = "analyze",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 ok; 1 found something (diff: the sides differ; leaks: a credential \
                  was found); 2 error (unreadable file, bad arguments). A closed pipe exits 0."
)]
pub struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// What changed between two sessions (typically two Claude Code versions).
    ///
    /// Exit 0 when equal, 1 when different (like diff(1)), 2 on error.
    Diff(DiffArgs),
    /// Token totals and estimated cost.
    Usage(UsageArgs),
    /// Find credentials an archive should not hold; exit 1 if any.
    Leaks(LeaksArgs),
    /// One line per entry, with cost; filters narrow the list.
    Ls(LsArgs),
    /// One exchange, readable.
    Show(ShowArgs),
    /// Convert between .har, .har.zst, .har.gz and mitmproxy flow files (by the output's name),
    /// or export the calls of many archives to a Parquet warehouse (`--format parquet`).
    Export(ExportArgs),
    /// Write a copy with credentials replaced by redaction markers.
    Redact(ConvertArgs),
    /// One self-contained HTML file: overview, conversation, timeline, charts;
    /// given two archives, also their prompt/tools diff.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Archives (.har, .har.zst, .har.gz, mitmproxy flow files), directories of archives, or `-` for stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub files: FilesArgs,
    /// Only calls whose model contains this text (`opus`, `claude-haiku-4-5`).
    #[arg(long, value_name = "TEXT")]
    pub model: Option<String>,
    /// Only this HTTP status (`529`) or class (`5xx`).
    #[arg(long, value_name = "CODE")]
    pub status: Option<String>,
    /// Only calls that went wrong: not 2xx, an API error, no response, a cut-off stream.
    #[arg(long)]
    pub errors: bool,
    /// Only calls started at or after this day (`2026-11-25`, UTC) or time (RFC 3339).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only calls started before the end of this day, or before this time.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only calls of this Claude Code session (its id, or the start of it).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only the main loop (calls with tools), no side calls.
    #[arg(long)]
    pub main_only: bool,
    /// Print CSV with full values (one row per call).
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// A JSON price table extending the built-in one (as for `usage`).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LeaksArgs {
    #[command(flatten)]
    pub files: FilesArgs,
    /// Also exit 1 on warnings: a credential (even redacted) sent to a host
    /// other than the session's API host.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

/// The sections of a diff, named as its headings name them (`== tools ==`,
/// `<summary>tools</summary>`, `--stat` rows), in the order printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum DiffSection {
    /// The main loop's system blocks and message blocks (incl. 2.1.x `role: "system"` messages).
    #[value(alias = "system")]
    Prompt,
    /// The main loop's tools: added, removed, renamed (Task → Agent), descriptions, input schemas.
    Tools,
    /// The main loop's model, request parameters, betas, API and client versions.
    Params,
    /// Which side calls each side makes (role and model).
    SideCalls,
    /// The Warmup subagent call (2.0.x): its prompt, tools and parameters.
    Warmup,
    /// The git-history side call (2.0.x in a git repository).
    GitHistory,
    /// The title-generation side call.
    Title,
    /// The topic check (is this message a new topic?).
    Topic,
    /// The quota probe (user text `quota`).
    Quota,
    /// The first call of a subagent started by the Task (2.0.x) or Agent (2.1.x) tool.
    Subagent,
}

impl DiffSection {
    /// The name headings, `--only` and `--stat` use.
    pub fn name(self) -> &'static str {
        match self {
            DiffSection::Prompt => "prompt",
            DiffSection::Tools => "tools",
            DiffSection::Params => "params",
            DiffSection::SideCalls => "side-calls",
            DiffSection::Warmup => "warmup",
            DiffSection::GitHistory => "git-history",
            DiffSection::Title => "title",
            DiffSection::Topic => "topic",
            DiffSection::Quota => "quota",
            DiffSection::Subagent => "subagent",
        }
    }

    /// The sections that compare one side call each, in order.
    pub const SIDE_CALLS: [DiffSection; 6] = [
        DiffSection::Warmup,
        DiffSection::GitHistory,
        DiffSection::Title,
        DiffSection::Topic,
        DiffSection::Quota,
        DiffSection::Subagent,
    ];
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old side: an archive or a directory of archives.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new side: an archive or a directory of archives.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Output format: `text` (coloured words on a terminal), `markdown` (a
    /// summary, then one collapsed `<details>` per section, cut to
    /// --max-chars for a pull-request comment), `json`.
    #[arg(long, value_enum, default_value = "text", value_name = "FORMAT")]
    pub format: DiffFormat,
    /// Print only the summary (what changed per section), in any --format.
    #[arg(long)]
    pub stat: bool,
    /// Compare only these sections (repeatable, or comma-separated); the
    /// names are the output's headings.
    #[arg(long, value_enum, value_name = "SECTION", value_delimiter = ',')]
    pub only: Vec<DiffSection>,
    /// With --format markdown: at most this many characters (GitHub's
    /// comment limit is 65,536; the default leaves room for a line of your
    /// own). The longest sections are cut first, and the output says what
    /// was cut and the command that prints it whole. 0: no limit.
    #[arg(long, default_value_t = 65_000, value_name = "N")]
    pub max_chars: usize,
    /// Compare entry N (as numbered by `ls`) instead of the first main-loop
    /// request; `N:M` picks N on the old side and M on the new.
    #[arg(long, value_name = "N[:M]")]
    pub entry: Option<String>,
    /// Do not mask the per-run parts (directory, date, git state).
    #[arg(long)]
    pub no_mask: bool,
    /// Mask every match of this regex too (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub mask: Vec<String>,
    /// Lines of context around each change.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub context: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    Model,
    Request,
    File,
    Session,
    ClientVersion,
    Day,
    /// The API called: `messages`, `chat/completions`, `responses`.
    Api,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    #[command(flatten)]
    pub files: FilesArgs,
    /// How to group the totals.
    #[arg(long, value_enum, default_value = "model", value_name = "KEY")]
    pub by: GroupBy,
    /// A JSON price table extending (or, with `"replace": true`, replacing)
    /// the built-in one; its date and source are printed under the table.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Count and price calls answered by `record -m offline` (their tokens
    /// are estimates) in the totals too.
    #[arg(long)]
    pub include_offline: bool,
    /// Print CSV (one row per group, then a total row).
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Reconcile the archives with Claude Code's own logs in DIR (usually
    /// ~/.claude/projects): per session, calls on the wire missing from them
    /// (subagent, side call, retry), token and cost differences, and local
    /// entries with no wire counterpart; exit 1 when they disagree.
    #[arg(long, value_name = "DIR", conflicts_with = "csv")]
    pub against: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The archive.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The entry's number, as printed by `ls` (from 0).
    #[arg(value_name = "N")]
    pub entry: usize,
    /// A JSON price table extending the built-in one (as for `usage`).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The archive to read: a HAR or a mitmproxy flow file (`-` for stdin).
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write; the format comes from the name (.har, .har.zst, .har.gz;
    /// .flows, .flow, .mitm for a mitmproxy flow file; `-` is stdout, HAR).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// An archive, by the output's name (.har, .har.zst, .har.gz, .flows, …).
    #[default]
    Archive,
    /// A Hive-partitioned Parquet dataset in the directory OUT (see analyzer/README.md).
    Parquet,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub convert: ConvertArgs,
    /// With --format parquet: more archives or directories of archives.
    #[arg(value_name = "MORE")]
    pub more: Vec<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value = "archive", value_name = "FORMAT")]
    pub format: ExportFormat,
    /// With --format parquet: a JSON price table for `cost_usd` (as `usage --prices`).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// With --format parquet: also the `messages` table, one row per content
    /// block (prompt text, redacted). Without it no prompt text leaves the archive.
    #[arg(long)]
    pub with_content: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Archives or directories of archives; exactly two also get a side-by-side
    /// prompt/tools diff (the first is the old side).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write the HTML file (`-` is stdout).
    #[arg(short, long, default_value = "report.html", value_name = "OUT")]
    pub output: PathBuf,
    /// A JSON price table extending or replacing the built-in one (as for `usage`).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Count calls answered by `record -m offline` (estimated tokens) in the
    /// totals and price them (as for `usage`).
    #[arg(long)]
    pub include_offline: bool,
    /// Do not mask the per-run parts in the two-archive diff (as for `diff`).
    #[arg(long)]
    pub no_mask: bool,
    /// Mask every match of this regex too in the diff (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub mask: Vec<String>,
}
