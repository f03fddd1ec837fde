//! Notifications for humans: appended to `notifications.jsonl` on the records branch
//! and, if configured, passed to the notify command as one JSON object on stdin (argv
//! from config only; no shell, no log text in its arguments). Each names the proposal
//! it is about, its branch, its title and its pull request, so a chat message can link
//! straight to the review.

use crate::clock::fmt_ts;
use crate::context::Ctx;
use crate::forge::record::{self as pull, PullRecord};
use crate::records::{Records, Tx};
use crate::store::proposals;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "notifications.jsonl";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    pub ts: String,
    /// approval_needed | escalated | deployed | rolled_back | rollback_failed | alert | conflict
    pub kind: String,
    pub subject: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The proposal the subject is (or belongs to), with its branch and title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The proposal's pull request, once one is open on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
}

/// What a notification says about the proposal behind `subject` (a proposal, or a
/// deployment of one); empty when there is none on record.
#[derive(Default)]
struct About {
    proposal: Option<String>,
    branch: Option<String>,
    title: Option<String>,
    pr_url: Option<String>,
}

/// The deployment record's one field a notification needs (read without the deploy
/// layer's type, which sits above this one).
#[derive(Deserialize)]
struct DeploymentOf {
    proposal: String,
}

fn about(records: &Records, subject: &str) -> About {
    let id = if subject.starts_with("D-") {
        records
            .read_yaml::<DeploymentOf>(&format!("deployments/{subject}.yaml"))
            .ok()
            .flatten()
            .map(|d| d.proposal)
    } else {
        Some(subject.to_string())
    };
    let Some(p) = id.and_then(|id| proposals::load(records, &id).ok().flatten()) else {
        return About::default();
    };
    let pr = records
        .read_json::<PullRecord>(&pull::path(&p.id))
        .ok()
        .flatten();
    About {
        proposal: Some(p.id),
        branch: Some(p.branch),
        title: Some(p.title),
        pr_url: pr.map(|r| r.url),
    }
}

/// Queues a notification about `subject` (a proposal or deployment id) in `tx` and
/// runs the notify hook; the command a human runs to look closer is `improve show
/// SUBJECT`. A failing hook is noted in the notification outbox, never fatal.
pub fn send(tx: &mut Tx, ctx: &Ctx, kind: &str, subject: &str, message: String) {
    let (cfg, now) = (ctx.cfg, ctx.now);
    let about = about(&ctx.records, subject);
    let n = Notification {
        ts: fmt_ts(now),
        kind: kind.to_string(),
        subject: subject.to_string(),
        message,
        command: Some(format!("improve show {subject}")),
        proposal: about.proposal,
        branch: about.branch,
        title: about.title,
        pr_url: about.pr_url,
    };
    let mut line = serde_json::to_vec(&n).unwrap_or_default();
    line.push(b'\n');
    tx.append(PATH, &line);
    if !cfg.approval.notify_command.is_empty() {
        let dir = cfg.repo_root.clone().unwrap_or_else(std::env::temp_dir);
        let r = crate::command::run_limited(
            &cfg.approval.notify_command,
            &dir,
            &[],
            Some(&line),
            ctx.limits(std::time::Duration::from_secs(30)),
        );
        let why = match r {
            Ok(rec) if rec.ok() => None,
            Ok(rec) if rec.outcome() == crate::command::Outcome::DeadlineReached => Some(
                "the notify command was stopped (or not started) at the end of the cycle's time budget",
            ),
            _ => Some("the notify command failed"),
        };
        if let Some(why) = why {
            let note = Notification {
                ts: fmt_ts(now),
                kind: "alert".into(),
                subject: subject.to_string(),
                message: format!("{why}; this notification is only in notifications.jsonl"),
                command: None,
                ..n.clone()
            };
            let mut l = serde_json::to_vec(&note).unwrap_or_default();
            l.push(b'\n');
            tx.append(PATH, &l);
        }
    }
}
