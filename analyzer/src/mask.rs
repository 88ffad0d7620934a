//! Masks for the parts of Claude Code's prompt that change from run to run
//! (working directory, date, git state, platform, the 2.1.x billing
//! fingerprint), so two runs of one version diff empty. They apply to system
//! blocks and to every message block alike.
//!
//! Where the rules come from: running the real CLI twice in different
//! directories, on different days and machines, and diffing what it sent.
//! Per run, 2.0.x's system prompt carries an environment block (`Working
//! directory:`, `Is directory a git repo:`, `Platform:`, `OS Version:`,
//! `Today's date:`) and, inside a git repository, a `gitStatus` tail
//! (`Current branch:`, `Main branch …:`, `Status:` with `git status --short`
//! lines, `Recent commits:` with `<7-hex> <subject>` lines). 2.1.x moves the
//! environment into a `role: "system"` message (`Primary working directory:`,
//! `Is a git repository:`, `Today's date is …`), names a per-project memory
//! directory, and adds a billing block whose `cc_version=X.Y.Z.<3 hex>`
//! suffix is a per-prompt fingerprint. Lines that depend on the model (`You
//! are powered by the model named …`, the knowledge cutoff) are not masked:
//! they change only with the model, which a diff should show.

use regex::Regex;

/// Built-in rules: (pattern, replacement). Replacements keep the label and
/// swap the value for a placeholder.
const CLAUDE_CODE: &[(&str, &str)] = &[
    // 2.0.x environment lines.
    (r"(Working directory: ).*", "${1}<CWD>"),
    (r"(Is directory a git repo: ).*", "${1}<YES|NO>"),
    (r"(Platform: ).*", "${1}<PLATFORM>"),
    (r"(OS Version: ).*", "${1}<OS_VERSION>"),
    (r"(Today's date: ).*", "${1}<DATE>"),
    (r"(Current branch: ).*", "${1}<BRANCH>"),
    (
        r"(Main branch \(you will usually use this for PRs\): ).*",
        "${1}<BRANCH>",
    ),
    // 2.1.x environment message and billing block.
    (r"(Primary working directory: ).*", "${1}<CWD>"),
    (r"(Is a git repository: ).*", "${1}<true|false>"),
    (r"(Today's date is )\d{4}-\d{2}-\d{2}", "${1}<DATE>"),
    (
        r"(persistent file-based memory at `)[^`]*(`)",
        "${1}<MEMORY_DIR>${2}",
    ),
    (
        r"(cc_version=\d+\.\d+\.\d+)\.[0-9a-f]{3}\b",
        "${1}.<PROMPT_FP>",
    ),
    // Git state, both generations; the commit mask stops at the commit
    // lines because 2.1.x has a fixed trailer after them.
    (
        r"(?s)(\nStatus:\n)(.*?)(\n\nRecent commits:)",
        "${1}<GIT_STATUS>${3}",
    ),
    (
        r"(\nRecent commits:)(?:\n[0-9a-f]{7,40} [^\n]*)+",
        "${1}\n<RECENT_COMMITS>",
    ),
];

/// Lines that name the working directory, to mask its absolute path
/// wherever else it appears (tool results, file paths).
const CWD_LINES: &[&str] = &["Working directory: ", "Primary working directory: "];

#[derive(Debug)]
struct Rule {
    re: Regex,
    with: String,
}

/// An ordered set of masks.
#[derive(Debug, Default)]
pub struct Masks {
    rules: Vec<Rule>,
    /// Whether to replace the working directory's path everywhere.
    cwd: bool,
}

impl Masks {
    /// Claude Code's per-run parts (2.0.x and 2.1.x).
    pub fn claude_code() -> Masks {
        let rules = CLAUDE_CODE
            .iter()
            .filter_map(|(p, with)| {
                Regex::new(p).ok().map(|re| Rule {
                    re,
                    with: (*with).to_owned(),
                })
            })
            .collect();
        Masks { rules, cwd: true }
    }

    /// No masking (`--no-mask`); user rules may still be added.
    pub fn none() -> Masks {
        Masks::default()
    }

    /// A user rule (`--mask REGEX`): every match becomes `<MASKED>`.
    pub fn add(&mut self, pattern: &str) -> Result<(), regex::Error> {
        self.rules.push(Rule {
            re: Regex::new(pattern)?,
            with: "<MASKED>".into(),
        });
        Ok(())
    }

    /// Finds the working directory named in any of these texts.
    pub fn working_directory<'a>(
        &self,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Option<String> {
        if !self.cwd {
            return None;
        }
        texts.into_iter().find_map(|t| {
            CWD_LINES.iter().find_map(|label| {
                let start = t.find(label)? + label.len();
                let path = t[start..].lines().next()?.trim();
                (path.len() > 1).then(|| path.to_owned())
            })
        })
    }

    /// The text with every rule applied; `cwd`'s path becomes `<CWD>`.
    pub fn apply(&self, text: &str, cwd: Option<&str>) -> String {
        let mut out = match cwd {
            Some(dir) => text.replace(dir, "<CWD>"),
            None => text.to_owned(),
        };
        for rule in &self.rules {
            if let std::borrow::Cow::Owned(s) = rule.re.replace_all(&out, rule.with.as_str()) {
                out = s;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT_2_0: &str = "Here is useful information about the environment you are running in:
<env>
Working directory: /tmp/run-a
Is directory a git repo: Yes
Platform: linux
OS Version: Linux 6.8.0-45-generic
Today's date: 2026-11-24
</env>
gitStatus: This is the git status at the start of the conversation.
Current branch: main

Main branch (you will usually use this for PRs): main

Status:
M src/a.rs
?? notes.txt

Recent commits:
abc1234 first
def5678 second";

    #[test]
    fn two_runs_of_2_0_mask_to_the_same_text() {
        let other = PROMPT_2_0
            .replace("/tmp/run-a", "/home/u/project")
            .replace("Yes", "No")
            .replace("6.8.0-45", "6.1.0-1")
            .replace("2026-11-24", "2026-11-25")
            .replace("Current branch: main", "Current branch: feature/x")
            .replace("M src/a.rs\n?? notes.txt", "(clean)")
            .replace("abc1234 first\ndef5678 second", "0123abc only one");
        let m = Masks::claude_code();
        assert_eq!(m.apply(PROMPT_2_0, None), m.apply(&other, None));
        let masked = m.apply(PROMPT_2_0, None);
        assert!(masked.contains("Working directory: <CWD>\n"), "{masked}");
        assert!(
            masked.ends_with("Recent commits:\n<RECENT_COMMITS>"),
            "{masked}"
        );
        assert!(
            masked.contains("Status:\n<GIT_STATUS>\n\nRecent commits:"),
            "{masked}"
        );
    }

    #[test]
    fn the_2_1_git_mask_stops_at_the_commit_lines_and_keeps_the_trailer() {
        let a = "x-anthropic-billing-header: cc_version=2.1.332.a1f; cc_entrypoint=sdk-cli;";
        let b = "x-anthropic-billing-header: cc_version=2.1.332.07c; cc_entrypoint=sdk-cli;";
        let m = Masks::claude_code();
        assert_eq!(m.apply(a, None), m.apply(b, None));
        assert!(m.apply(a, None).contains("cc_version=2.1.332.<PROMPT_FP>;"));
        let env = "Primary working directory: /w/a\nIs a git repository: true\nToday's date is 2026-11-24.\n\
                   Status:\nM x\n\nRecent commits:\n1234567 a\n89abcde b\n\nThe fixed trailer stays.";
        let masked = m.apply(env, None);
        assert_eq!(
            masked,
            "Primary working directory: <CWD>\nIs a git repository: <true|false>\nToday's date is <DATE>.\n\
             Status:\n<GIT_STATUS>\n\nRecent commits:\n<RECENT_COMMITS>\n\nThe fixed trailer stays."
        );
    }

    #[test]
    fn the_working_directory_is_masked_everywhere_and_user_masks_add() {
        let mut m = Masks::claude_code();
        let cwd = m.working_directory(["no", "Primary working directory: /w/proj\nx"]);
        assert_eq!(cwd.as_deref(), Some("/w/proj"));
        assert_eq!(
            m.apply("cat /w/proj/a.rs", cwd.as_deref()),
            "cat <CWD>/a.rs"
        );
        m.add(r"req_[0-9]+").unwrap();
        assert_eq!(m.apply("id req_123", None), "id <MASKED>");
        assert!(m.add("(").is_err());
        let none = Masks::none();
        assert_eq!(none.apply(PROMPT_2_0, None), PROMPT_2_0);
        assert_eq!(none.working_directory([PROMPT_2_0]), None);
    }
}
