//! One pull request per proposal on the forge, kept in step with the records, the way
//! Renovate keeps its own: opened once the branch is on the remote (a draft while
//! validation runs), its section of the body and its labels brought up to date when
//! validation or the tier changes, a comment (once per event key) when it is deployed,
//! judged or rolled back, closed with a comment when the proposal is rejected, fails
//! or is closed. What happened on the forge is read back: a pull request a human
//! closed closes the proposal; "merged" is only a hint, since adoption is decided by
//! the git side. A forge that is down is noted and retried by the next cycle.

mod events;
mod wanted;

use crate::context::Ctx;
use crate::deploy;
use crate::forge::record::{self as pull, PullRecord};
use crate::forge::{Forge, ForgeError, PrSpec, PrState, PrStatus};
use crate::records::Tx;
use crate::store::proposals::{self, Proposal, Status};
use anyhow::Result;
use events::{events, Act, Event};
use serde_json::json;
use wanted::Wanted;

/// A forge for this cycle. After the first error that says "later" (rate limited, a
/// 5xx, a timeout) or "not with this token", it makes no more requests this cycle: one
/// note, never a retry storm; every call is idempotent, so the next cycle resumes.
pub struct Session {
    forge: Forge,
    halted: bool,
    pub notes: Vec<String>,
}

/// The forge of the config, if one is configured. A missing token or an unusable
/// section is a note: the cycle goes on without the forge.
pub fn connect(ctx: &Ctx) -> Result<Option<Session>, String> {
    let Some(cfg) = &ctx.cfg.forge else {
        return Ok(None);
    };
    match Forge::from_env(cfg) {
        Ok(forge) => Ok(Some(Session {
            forge,
            halted: false,
            notes: vec![],
        })),
        Err(e) => Err(format!(
            "forge: {}; pull requests are not kept this cycle",
            e.to_string().trim_start_matches("forge: ")
        )),
    }
}

impl Session {
    /// Runs one forge call for `subject`; None when it failed (and said so).
    fn call<T>(
        &mut self,
        subject: &str,
        f: impl FnOnce(&Forge) -> crate::forge::Result<T>,
    ) -> Option<T> {
        if self.halted {
            return None;
        }
        match f(&self.forge) {
            Ok(v) => Some(v),
            Err(e) => {
                let stop = e.is_transient()
                    || matches!(
                        &e,
                        ForgeError::Rejected {
                            status: 401 | 403,
                            ..
                        }
                    );
                if stop {
                    self.halted = true;
                    self.notes.push(format!(
                        "forge: {e}; no more requests this cycle, the next cycle retries"
                    ));
                } else {
                    self.notes.push(format!("forge: {subject}: {e}"));
                }
                None
            }
        }
    }

    fn kind(&self) -> &'static str {
        self.forge.kind().as_str()
    }
}

/// Before VALIDATE: opens the pull request of each open proposal whose branch is on
/// the remote (`on_remote`), and reads back the state of those already open: closed on
/// the forge by a human closes the proposal; merged is noted until the git side shows
/// it. One records commit for all of it.
pub fn open_and_read(
    ctx: &mut Ctx,
    s: &mut Session,
    on_remote: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let mut lines = vec![];
    let mut tx = ctx.tx();
    let ts = ctx.ts();
    for mut p in proposals::load_all(&ctx.records)? {
        if !p.status.is_open() {
            continue;
        }
        let (rec, st) = match ctx.records.read_json::<PullRecord>(&pull::path(&p.id))? {
            None if !on_remote(&p.branch) => continue,
            None => match open(ctx, s, &p, &mut tx, &mut lines)? {
                Some(opened) => opened,
                None => continue,
            },
            Some(mut rec) if rec.state == PrState::Open.as_str() => {
                let Some(st) = s.call(&p.id, |f| f.state(rec.number)) else {
                    continue;
                };
                if st.state.as_str() != rec.state {
                    rec.state = st.state.as_str().to_string();
                    tx.audit(
                        "forge",
                        "pr state",
                        &p.id,
                        json!({"number": rec.number, "state": rec.state, "merge_commit": st.merge_sha}),
                    );
                    tx.put_json(&pull::path(&p.id), &rec)?;
                }
                (rec, st)
            }
            Some(_) => continue,
        };
        match seen(ctx, &p, &rec, &st)? {
            Seen::Nothing => {}
            Seen::Note(n) => s.notes.push(n),
            Seen::ClosedByHuman => {
                p.status = Status::Closed;
                p.push_event(
                    &ts,
                    format!(
                        "closed: its pull request {} was closed on the forge without a merge",
                        rec.reference()
                    ),
                    None,
                );
                proposals::put(&mut tx, &p)?;
                tx.audit(
                    "forge",
                    "pr closed by a human",
                    &p.id,
                    json!({"number": rec.number, "url": rec.url}),
                );
                lines.push(format!(
                    "{}: its pull request {} was closed on the forge; the proposal is closed",
                    p.id,
                    rec.reference()
                ));
            }
        }
    }
    if !tx.is_empty() {
        ctx.commit(tx, "forge: pull requests opened and read")?;
    }
    Ok(lines)
}

/// Opens `p`'s pull request (or finds the one its branch already has) and records it
/// in `tx`; its record and state, or None when the forge did not answer.
fn open(
    ctx: &Ctx,
    s: &mut Session,
    p: &Proposal,
    tx: &mut Tx,
    lines: &mut Vec<String>,
) -> Result<Option<(PullRecord, PrStatus)>> {
    let want = Wanted::of(ctx, p)?;
    let spec = PrSpec {
        head: &p.branch,
        base: &ctx.cfg.deploy_branch,
        title: &p.title,
        body: &want.section,
        labels: &want.labels,
        draft: want.draft,
    };
    let Some(got) = s.call(&p.id, |f| f.ensure_pr(&spec)) else {
        return Ok(None);
    };
    s.notes
        .extend(got.notes.iter().map(|n| format!("forge: {}: {n}", p.id)));
    let rec = PullRecord {
        number: got.pr.number,
        url: got.pr.url.clone(),
        forge: s.kind().to_string(),
        state: got.pr.state.as_str().to_string(),
        opened: ctx.ts(),
        // A pull request found again (a human's, or one a cycle opened and died before
        // recording) gets its section written in `update`.
        synced: got.created.then(|| want.digest()),
        posted: vec![],
    };
    let what = if got.created { "opened" } else { "found" };
    lines.push(format!(
        "{}: pull request {} {what}: {}",
        p.id,
        rec.reference(),
        rec.url
    ));
    tx.audit(
        "forge",
        &format!("pr {what}"),
        &p.id,
        json!({"number": rec.number, "url": rec.url, "branch": p.branch, "title": p.title, "forge": rec.forge}),
    );
    tx.put_json(&pull::path(&p.id), &rec)?;
    let st = PrStatus {
        state: got.pr.state,
        merge_sha: got.pr.merge_sha,
        head_sha: got.pr.head_sha,
        draft: got.pr.draft,
    };
    Ok(Some((rec, st)))
}

/// What the forge's state of an open proposal's pull request means here.
enum Seen {
    Nothing,
    Note(String),
    /// Closed on the forge, and not merged by any method the git side can see.
    ClosedByHuman,
}

fn seen(ctx: &Ctx, p: &Proposal, rec: &PullRecord, st: &PrStatus) -> Result<Seen> {
    let short = |sha: &str| sha[..sha.len().min(12)].to_string();
    Ok(match st.state {
        PrState::Open => {
            let here = ctx.git.ref_oid(&p.branch)?.map(|o| o.to_string());
            match &st.head_sha {
                Some(head) if here.as_deref() != Some(head.as_str()) => Seen::Note(format!(
                    "forge: {}: {} has commits not fetched here yet (head {}); they are validated once fetched",
                    p.id,
                    rec.reference(),
                    short(head)
                )),
                _ => Seen::Nothing,
            }
        }
        // "Merged" is a hint: the git side decides adoption, once the change is here.
        _ if deploy::adopt::landing(ctx, p)?.is_some() => Seen::Nothing,
        PrState::Merged => Seen::Note(format!(
            "forge: {}: {} is merged on the forge{}, but the change is not on {} here yet; it is adopted once fetched",
            p.id,
            rec.reference(),
            st.merge_sha
                .as_deref()
                .map(|m| format!(" (commit {})", short(m)))
                .unwrap_or_default(),
            ctx.cfg.deploy_branch
        )),
        PrState::Closed => Seen::ClosedByHuman,
    })
}

/// After DEPLOY: each proposal's pull request shows where it stands. Its section of the
/// body and its labels follow validation and the tier (a draft until validation ends);
/// deploys, judgments and rollbacks are commented with their numbers; a proposal that
/// ended without a merge has its pull request closed with a comment.
pub fn update(ctx: &mut Ctx, s: &mut Session) -> Result<Vec<String>> {
    let mut lines = vec![];
    let mut tx = ctx.tx();
    for p in proposals::load_all(&ctx.records)? {
        let Some(mut rec) = ctx.records.read_json::<PullRecord>(&pull::path(&p.id))? else {
            continue;
        };
        let before = rec.clone();
        let open = rec.state == PrState::Open.as_str();
        if open {
            let want = Wanted::of(ctx, &p)?;
            let digest = want.digest();
            if rec.synced.as_deref() != Some(digest.as_str()) {
                let n = rec.number;
                let done = s.call(&p.id, |f| f.update_body(n, &want.section)).is_some()
                    && s.call(&p.id, |f| f.set_labels(n, &want.labels)).is_some()
                    && (want.draft || s.call(&p.id, |f| f.mark_ready(n)).is_some());
                if done {
                    rec.synced = Some(digest);
                }
            }
        }
        let deployment = match &p.deployment {
            Some(id) => deploy::load(&ctx.records, id)?,
            None => None,
        };
        for Event { key, text, act } in events(ctx, &p, deployment.as_ref()) {
            let open = rec.state == PrState::Open.as_str();
            if rec.posted.contains(&key) || (act == Act::Close && !open) {
                continue;
            }
            let n = rec.number;
            if act == Act::Comment || !open {
                if s.call(&p.id, |f| f.comment(n, &key, &text)).is_none() {
                    break;
                }
            } else {
                // Comments (once for the key) and closes; a comment posted by a cycle
                // that died before closing is found and not repeated.
                if s.call(&p.id, |f| f.close_with_comment(n, &key, &text))
                    .is_none()
                {
                    break;
                }
                rec.state = PrState::Closed.as_str().to_string();
                lines.push(format!("{}: pull request {} closed", p.id, rec.reference()));
            }
            rec.posted.push(key);
        }
        if rec != before {
            let posted: Vec<&String> = rec.posted.iter().skip(before.posted.len()).collect();
            tx.audit(
                "forge",
                "pr updated",
                &p.id,
                json!({"number": rec.number, "url": rec.url, "state": rec.state,
                       "body": rec.synced != before.synced, "comments": posted}),
            );
            tx.put_json(&pull::path(&p.id), &rec)?;
        }
    }
    if !tx.is_empty() {
        ctx.commit(tx, "forge: pull requests updated")?;
    }
    Ok(lines)
}
