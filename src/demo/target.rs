//! Creates the demo target: a git repository shaped like the mind system (physics
//! constants with one planted fault, a protocol, a skill, a test command, a replay
//! command and the tool's config), committed once on `main` with a pinned identity
//! and date so every demo run starts from the same commit.

use crate::clock::Timestamp;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Who authored the demo's first commit.
pub const AUTHOR_NAME: &str = "Demo Maintainer";
pub const AUTHOR_EMAIL: &str = "demo@example.com";

/// The demo system's improve config before its commands are filled in: the demo's
/// tunables, not mind's (the default config is mind's).
pub const CONFIG: &str = include_str!("assets/improve_config.yaml");
/// The demo system's proposal templates and attribution rules, committed in the
/// repository where `improve` reads a repository's own (`improvement-data/templates/`).
pub const TEMPLATES: &str = include_str!("assets/proposals.yaml");
pub const RULES: &str = include_str!("assets/attribution.yaml");

/// The repository's files (path, content); the config comes from `config_text`.
pub const FILES: [(&str, &str); 10] = [
    ("README.md", include_str!("assets/README.md")),
    (".gitignore", include_str!("assets/gitignore")),
    (
        "runtime/physics/constants.py",
        include_str!("assets/constants.py"),
    ),
    (
        "runtime/physics/subentity.py",
        include_str!("assets/subentity.py"),
    ),
    (
        "protocols/explore.yaml",
        include_str!("assets/explore.yaml"),
    ),
    (
        "skills/SKILL_explore.md",
        include_str!("assets/SKILL_explore.md"),
    ),
    (
        "tests/check_constants.py",
        include_str!("assets/check_constants.py"),
    ),
    ("tools/replay.py", include_str!("assets/replay.py")),
    (crate::propose::generate::TEMPLATES_OVERRIDE, TEMPLATES),
    (crate::diagnose::attribute::RULES_OVERRIDE, RULES),
];

/// The demo's config with its test, replay and verify commands filled in by
/// replacing their `[]` values in place, so every comment is kept.
pub fn config_text() -> Result<String> {
    let test = "[python3, tests/check_constants.py]";
    let mut text = String::with_capacity(CONFIG.len() + 128);
    let mut replaced = [false; 3];
    for line in CONFIG.split_inclusive('\n') {
        let swaps = [
            ("test_command: []", format!("test_command: {test}")),
            (
                "replay_command: []",
                "replay_command: [python3, tools/replay.py]".into(),
            ),
            ("verify_command: []", format!("verify_command: {test}")),
        ];
        let mut out = line.to_string();
        for (k, (from, to)) in swaps.iter().enumerate() {
            if !replaced[k] && line.trim_start().starts_with(from) {
                out = line.replacen(from, to, 1);
                replaced[k] = true;
            }
        }
        text.push_str(&out);
    }
    if replaced.contains(&false) {
        bail!(
            "the demo config no longer has the test/replay/verify command lines the demo fills in"
        );
    }
    Ok(text)
}

/// Creates the demo repository at `dir` (which must not exist or be empty) with one
/// commit on `main` authored by the demo maintainer at `now`.
pub fn create_target(dir: &Path, now: Timestamp) -> Result<()> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} exists and is not empty", dir.display());
        }
    }
    let config = config_text()?;
    let all = FILES
        .into_iter()
        .chain([(crate::config::CONFIG_PATH, config.as_str())]);
    for (rel, content) in all {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    let date = format!("{} +0000", now.timestamp());
    git(dir, &date, &["init", "-q", "-b", "main"])?;
    // A local identity so humans (and `git revert`) can commit in the demo too.
    git(dir, &date, &["config", "user.name", AUTHOR_NAME])?;
    git(dir, &date, &["config", "user.email", AUTHOR_EMAIL])?;
    git(dir, &date, &["add", "-A"])?;
    git(
        dir,
        &date,
        &[
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "Demo mind system: physics, explore protocol and skill, tests, replay",
        ],
    )?;
    Ok(())
}

/// Runs git in `dir` isolated from the user's and the system's configuration, with
/// author and committer pinned.
fn git(dir: &Path, date: &str, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
