//! VALIDATE -> APPROVE -> DEPLOY -> MONITOR for what is on record: every live
//! deployment is checked (a human's revert recognised), every open proposal moves as
//! far as this cycle allows (a human's merge or new commits recognised). Each step
//! lands as its own records commit, so an interruption loses at most the step.

use crate::approve::{self, Tier};
use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::Config;
use crate::deploy::{self, deployer, monitor, rollback, DeployStatus, Deployment};
use crate::git::Git;
use crate::learn::library;
use crate::notify;
use crate::observe::Observation;
use crate::propose::proposal::{self as prop, Proposal, Status};
use crate::records::Records;
use crate::validate::judge::{self, JudgeParams, MetricSpec, Verdict};
use crate::validate::{self, experiment, replay, Outcome, Validation};
use anyhow::{Context, Result};
use git2::Oid;
use serde_json::json;
use std::collections::BTreeMap;

/// Advances every open proposal and live deployment. Returns one line per event.
/// MONITOR: finishes interrupted deploys, then checks every live deployment (a
/// human's revert recognised). Runs before PROPOSE, so a cycle that reverts a deploy
/// proposes from the reverted state, not from the change it just undid.
pub fn monitor_all(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    cycle: &str,
    now: Timestamp,
    obs: &Observation,
) -> Result<Vec<String>> {
    let mut lines = deployer::recover(git, records, cfg, cycle, now)?;
    // Newest first: when several deploys are watched and the metrics fall, the newest
    // is the suspect; once it is reverted the older ones are judged again next cycle,
    // on data the reverted change no longer touches.
    let mut live: Vec<Deployment> = deploy::load_deployments(records)?
        .into_iter()
        .filter(|d| d.status == DeployStatus::Monitoring)
        .collect();
    live.sort_by(|a, b| b.deployed_at.cmp(&a.deployed_at).then(b.id.cmp(&a.id)));
    let mut reverted_newer = false;
    for mut d in live {
        // A cycle redone after an interruption does not judge the same window twice.
        if d.checks
            .last()
            .and_then(|c| c.get("cycle"))
            .and_then(|c| c.as_str())
            == Some(cycle)
        {
            continue;
        }
        if let Some(l) = rollback::detect_human_revert(git, records, cfg, &mut d, cycle, now)? {
            lines.push(l);
            reverted_newer = true;
            continue;
        }
        match monitor::check(git, records, cfg, &mut d, obs, cycle, now, reverted_newer) {
            Ok(Some(l)) => {
                reverted_newer |=
                    d.status != DeployStatus::Monitoring && d.status != DeployStatus::Stable;
                lines.push(l)
            }
            Ok(None) => {}
            Err(e) => {
                lines.push(format!("{}: not checked this cycle: {e:#}", d.id));
                records.refresh()?;
            }
        }
    }
    Ok(lines)
}

/// VALIDATE -> APPROVE -> DEPLOY for every open proposal. `before` holds the samples
/// of the previous window: the baseline of a merge a human made since then.
pub fn advance(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    cycle: &str,
    now: Timestamp,
    obs: &Observation,
    before: &BTreeMap<String, Vec<f64>>,
    audit_ok: bool,
) -> Result<Vec<String>> {
    let mut lines = vec![];
    for mut p in crate::cycle::load_proposals(records)? {
        if !p.status.is_open() {
            continue;
        }
        // A proposal moves as far as this cycle allows: validated, approved by its
        // tier and deployed in one cycle when nothing needs to wait.
        for _ in 0..3 {
            let status_before = p.status;
            // One proposal's trouble (a dirty tree, a hook that fails) is reported
            // and retried next cycle; it never stops the others.
            match step(git, records, cfg, &mut p, cycle, now, obs, before, audit_ok) {
                Ok(Some(l)) => lines.push(l),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("{}: {e:#}", p.id);
                    lines.push(format!("{}: not advanced this cycle: {e:#}", p.id));
                    records.refresh()?;
                    break;
                }
            }
            if p.status == status_before || !p.status.is_open() {
                break;
            }
        }
    }
    Ok(lines)
}

fn save(
    records: &mut Records,
    p: &Proposal,
    cycle: &str,
    now: Timestamp,
    phase: &str,
    action: &str,
    detail: serde_json::Value,
    v: Option<&Validation>,
    note: Option<(&Config, &str, String)>,
) -> Result<()> {
    let mut tx = records.tx();
    tx.put_yaml(&prop::yaml_path(&p.id), p)?;
    if let Some(v) = v {
        tx.put_json(&validate::path(&p.id), v)?;
    }
    if let Some((cfg, kind, msg)) = note {
        notify::send(
            &mut tx,
            cfg,
            now,
            kind,
            &p.id,
            msg,
            Some(format!("improve show {}", p.id)),
        );
    }
    tx.audit(phase, action, &p.id, detail);
    tx.commit(records, cycle, now, &format!("{}: {action}", p.id))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn step(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    cycle: &str,
    now: Timestamp,
    obs: &Observation,
    before: &BTreeMap<String, Vec<f64>>,
    audit_ok: bool,
) -> Result<Option<String>> {
    let ts = fmt_ts(now);
    let deploy_tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    // A human merged the proposal branch: approval and deployment at once.
    if let Some(branch_tip) = git.ref_oid(&p.branch)? {
        let base = Oid::from_str(&p.base_commit).ok();
        if Some(branch_tip) != base && git.is_ancestor(branch_tip, deploy_tip)? {
            return merged_by_human(git, records, cfg, p, branch_tip, cycle, now, obs, before)
                .map(Some);
        }
        // New commits by a human on the branch: a modification, re-validated.
        if branch_tip.to_string() != p.branch_commit && !p.branch_commit.is_empty() {
            let author = git.author(branch_tip)?;
            p.branch_commit = branch_tip.to_string();
            p.status = Status::Proposed;
            p.approved_by = None;
            p.push_event(
                &ts,
                "the branch has new commits: re-validating",
                Some(&author),
            );
            save(
                records,
                p,
                cycle,
                now,
                "validate",
                "modified",
                json!({"commit": p.branch_commit, "by": author}),
                None,
                None,
            )?;
        }
    }
    match p.status {
        Status::Proposed => validate_now(git, records, cfg, p, cycle, now).map(Some),
        Status::Validating => judge_experiment(git, records, cfg, p, cycle, now, obs),
        Status::AwaitingApproval => escalate_if_due(records, cfg, p, cycle, now),
        Status::Approved => deploy_now(git, records, cfg, p, cycle, now, obs, audit_ok),
        _ => Ok(None),
    }
}

fn new_validation(p: &Proposal, mode: &str, now: Timestamp) -> Validation {
    Validation {
        proposal: p.id.clone(),
        mode: mode.to_string(),
        status: Outcome::Running,
        started: fmt_ts(now),
        finished: None,
        commit: p.branch_commit.clone(),
        runs: vec![],
        metrics_before: Default::default(),
        metrics_after: Default::default(),
        improvement: Default::default(),
        target_improved: false,
        judgment: None,
        recommendation: String::new(),
        extended: false,
    }
}

fn validate_now(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    cycle: &str,
    now: Timestamp,
) -> Result<String> {
    let commit = Oid::from_str(&p.branch_commit).context("proposal has no branch commit")?;
    let base = git.parents(commit)?.first().copied().unwrap_or(commit);
    let mode = if p.change.document_only && p.branch_commit_is_document() {
        "manual"
    } else {
        p.validation_plan.mode.as_str()
    }
    .to_string();
    let mode = mode.as_str();
    let mut v = new_validation(p, mode, now);
    match mode {
        "unit_test" | "shadow" => {
            let mut ran = false;
            let mut failed = false;
            if mode == "unit_test" {
                if let Some(r) = replay::unit_test(git, cfg, commit)? {
                    ran = true;
                    failed |= !r.ok();
                    v.runs.push(r);
                }
            }
            // The replay measures the effect (shadow's purpose, and the measured
            // improvement the AUTO tier needs for a unit-tested constant tune).
            if !failed {
                if let Some(s) = replay::shadow(git, cfg, base, commit)? {
                    ran = true;
                    failed |= !s.baseline.ok() || !s.candidate.ok();
                    v.runs.push(s.baseline);
                    v.runs.push(s.candidate);
                    for (m, after) in &s.after {
                        if let Some(before) = s.before.get(m) {
                            let higher = cfg
                                .metric(m)
                                .map(|c| c.direction == crate::config::Direction::Higher)
                                .unwrap_or(true);
                            let imp = replay::improvement(*before, *after, higher);
                            v.improvement.insert(m.clone(), imp);
                            if let Some(c) = cfg.metric(m) {
                                if imp < -c.allowed_effect {
                                    failed = true;
                                }
                            }
                        }
                    }
                    v.target_improved = v
                        .improvement
                        .get(&p.target_metric.name)
                        .is_some_and(|i| *i > 0.0);
                    v.metrics_before = s.before;
                    v.metrics_after = s.after;
                }
            }
            v.status = if !ran {
                Outcome::Manual
            } else if failed {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
        }
        "canary" | "ab_test" if !experiment::overrides(p).is_empty() => {
            let st = experiment::start(git, cfg, p, mode, now)?;
            p.status = Status::Validating;
            p.push_event(
                &fmt_ts(now),
                format!(
                    "{mode} started at {}% until {}",
                    if mode == "canary" {
                        cfg.validation.canary_percentage
                    } else {
                        cfg.validation.ab_percentage
                    },
                    st.ends
                ),
                None,
            );
            let mut tx = records.tx();
            tx.put_json(&experiment::state_path(&p.id), &st)?;
            tx.put_json(&validate::path(&p.id), &v)?;
            tx.put_yaml(&prop::yaml_path(&p.id), p)?;
            tx.audit(
                "validate",
                "experiment_started",
                &p.id,
                json!({"mode": mode, "ends": st.ends}),
            );
            tx.commit(records, cycle, now, &format!("{}: {mode} started", p.id))?;
            return Ok(format!("{}: {mode} started (until {})", p.id, st.ends));
        }
        _ => v.status = Outcome::Manual,
    }
    v.finished = Some(fmt_ts(now));
    conclude(records, cfg, p, v, cycle, now)
}

impl Proposal {
    /// A document-only proposal whose branch still holds only the document.
    fn branch_commit_is_document(&self) -> bool {
        self.history.iter().all(|e| !e.what.contains("new commits"))
    }
}

/// Records a finished validation and lets the tier decide.
fn conclude(
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    mut v: Validation,
    cycle: &str,
    now: Timestamp,
) -> Result<String> {
    let ts = fmt_ts(now);
    if v.status == Outcome::Failed {
        v.recommendation = "do not deploy: validation failed".into();
        p.status = Status::Failed;
        p.push_event(&ts, format!("validation ({}) FAILED", v.mode), None);
        let mut lib = crate::cycle::load_library(records)?;
        lib.record_fix(
            &p.pattern.signature,
            library::Fix::of(p, library::Outcome::Failed, &ts),
        );
        let mut tx = records.tx();
        tx.put_json(library::PATH, &lib)?;
        tx.put_yaml(&prop::yaml_path(&p.id), p)?;
        tx.put_json(&validate::path(&p.id), &v)?;
        tx.audit(
            "validate",
            "failed",
            &p.id,
            json!({"mode": v.mode, "runs": v.runs.len(), "improvement": v.improvement}),
        );
        tx.commit(records, cycle, now, &format!("{}: validation failed", p.id))?;
        return Ok(format!(
            "{}: validation ({}) FAILED; not deployed",
            p.id, v.mode
        ));
    }
    let (tier, why) = approve::tier(p, &v, cfg);
    p.tier = Some(tier.as_str().to_string());
    let line;
    let note;
    if tier.deploys_alone() {
        v.recommendation = format!("deploy ({} tier: {why})", tier.as_str());
        p.status = Status::Approved;
        p.approved_by = Some(format!("improve ({} tier)", tier.as_str()));
        p.push_event(
            &ts,
            format!(
                "validation {}; {} tier: {why}",
                v.status.as_str(),
                tier.as_str()
            ),
            None,
        );
        line = format!(
            "{}: validation {}; {} tier ({why}): deploys next",
            p.id,
            v.status.as_str(),
            tier.as_str()
        );
        note = None;
    } else {
        v.recommendation = format!("a human decides ({} tier: {why})", tier.as_str());
        p.status = Status::AwaitingApproval;
        p.awaiting_since = Some(ts.clone());
        p.push_event(
            &ts,
            format!(
                "validation {}; {} tier: {why}; waiting for a human",
                v.status.as_str(),
                tier.as_str()
            ),
            None,
        );
        line = format!(
            "{}: validation {}; waiting for a human ({} tier: {why})",
            p.id,
            v.status.as_str(),
            tier.as_str()
        );
        note = Some((
            cfg,
            "approval_needed",
            format!("{} needs a human ({} tier: {why}): {}. Merge {} or run improve approve {} --by NAME", p.id, tier.as_str(), p.change.summary, p.branch, p.id),
        ));
    }
    let detail = json!({"mode": v.mode, "status": v.status.as_str(), "tier": tier.as_str(), "why": why, "improvement": v.improvement});
    save(
        records,
        p,
        cycle,
        now,
        "approve",
        "tiered",
        detail,
        Some(&v),
        note,
    )?;
    Ok(line)
}

#[allow(clippy::too_many_arguments)]
fn judge_experiment(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    cycle: &str,
    now: Timestamp,
    obs: &Observation,
) -> Result<Option<String>> {
    let mut st: experiment::ExperimentState = records
        .read_json(&experiment::state_path(&p.id))?
        .context("experiment state missing")?;
    experiment::accumulate(&mut st, obs, &p.id);
    let mut v: Validation = records
        .read_json(&validate::path(&p.id))?
        .unwrap_or_else(|| new_validation(p, &st.mode, now));
    if !experiment::due(&st, now) {
        let mut tx = records.tx();
        tx.put_json(&experiment::state_path(&p.id), &st)?;
        let n = st.variant.values().map(Vec::len).max().unwrap_or(0);
        tx.audit("validate", "samples", &p.id, json!({"variant_samples": n}));
        tx.commit(
            records,
            cycle,
            now,
            &format!("{}: experiment samples", p.id),
        )?;
        return Ok(None);
    }
    let specs: Vec<MetricSpec> = cfg.metrics.iter().map(MetricSpec::from_config).collect();
    let params = JudgeParams {
        confidence: cfg.validation.significance_threshold,
        min_samples: cfg.validation.min_samples,
        pass_score: cfg.validation.pass_score,
    };
    let j = judge::judge(&st.control, &st.variant, &specs, &params);
    for m in &j.metrics {
        if let (Some(c), Some(var)) = (m.control_median, m.variant_median) {
            v.metrics_before.insert(m.name.clone(), c);
            v.metrics_after.insert(m.name.clone(), var);
        }
        if let Some(e) = m.relative_effect {
            v.improvement.insert(m.name.clone(), e);
        }
    }
    v.target_improved = j
        .metrics
        .iter()
        .any(|m| m.name == p.target_metric.name && m.improved);
    let verdict = j.verdict.clone();
    v.judgment = Some(j);
    v.extended = st.extended;
    if verdict == Verdict::Inconclusive && !st.extended {
        experiment::extend(&mut st);
        v.extended = true;
        p.push_event(
            &fmt_ts(now),
            format!("{} INCONCLUSIVE: extended once, until {}", st.mode, st.ends),
            None,
        );
        let mut tx = records.tx();
        tx.put_json(&experiment::state_path(&p.id), &st)?;
        tx.put_json(&validate::path(&p.id), &v)?;
        tx.put_yaml(&prop::yaml_path(&p.id), p)?;
        tx.audit("validate", "extended", &p.id, json!({"ends": st.ends}));
        tx.commit(
            records,
            cycle,
            now,
            &format!("{}: experiment extended", p.id),
        )?;
        return Ok(Some(format!(
            "{}: {} inconclusive, extended once until {}",
            p.id, st.mode, st.ends
        )));
    }
    experiment::stop(git, cfg, &p.id, now)?;
    v.status = match verdict {
        Verdict::Passed => Outcome::Passed,
        Verdict::Failed => Outcome::Failed,
        Verdict::Inconclusive => Outcome::Inconclusive,
    };
    v.finished = Some(fmt_ts(now));
    let mut tx = records.tx();
    tx.put_json(&experiment::state_path(&p.id), &st)?;
    tx.audit(
        "validate",
        "judged",
        &p.id,
        json!({"verdict": v.status.as_str()}),
    );
    tx.commit(records, cycle, now, &format!("{}: experiment judged", p.id))?;
    conclude(records, cfg, p, v, cycle, now).map(Some)
}

fn escalate_if_due(
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    cycle: &str,
    now: Timestamp,
) -> Result<Option<String>> {
    let timeout = cfg.dur(&cfg.approval.approval_timeout);
    let since = p
        .escalated_at
        .as_deref()
        .or(p.awaiting_since.as_deref())
        .and_then(|s| parse_ts(s).ok());
    let Some(since) = since else { return Ok(None) };
    if now - since < timeout {
        return Ok(None);
    }
    let ts = fmt_ts(now);
    p.escalated_at = Some(ts.clone());
    p.push_event(
        &ts,
        format!(
            "waited past the approval timeout ({}): escalated, never auto-approved",
            cfg.approval.approval_timeout
        ),
        None,
    );
    let msg = format!(
        "{} has waited for a human for over {}: {}",
        p.id, cfg.approval.approval_timeout, p.change.summary
    );
    save(
        records,
        p,
        cycle,
        now,
        "approve",
        "escalated",
        json!({"timeout": cfg.approval.approval_timeout}),
        None,
        Some((cfg, "escalated", msg)),
    )?;
    Ok(Some(format!(
        "{}: escalated after waiting past {}",
        p.id, cfg.approval.approval_timeout
    )))
}

#[allow(clippy::too_many_arguments)]
fn deploy_now(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    cycle: &str,
    now: Timestamp,
    obs: &Observation,
    audit_ok: bool,
) -> Result<Option<String>> {
    let tier = match deployer::preflight(git, cfg, records, p, audit_ok) {
        Ok(t) => t,
        Err(e) => {
            let mut tx = records.tx();
            tx.audit(
                "deploy",
                "refused",
                &p.id,
                json!({"reason": format!("{e:#}")}),
            );
            tx.commit(records, cycle, now, &format!("{}: deploy refused", p.id))?;
            return Ok(Some(format!("{}: deploy refused: {e:#}", p.id)));
        }
    };
    let tier = if p
        .approved_by
        .as_deref()
        .is_some_and(|b| !b.starts_with("improve"))
    {
        p.tier.as_deref().map(tier_of).unwrap_or(tier)
    } else {
        tier
    };
    let baseline = capped(monitor::window_samples(obs));
    let d = deployer::deploy(git, records, cfg, p, tier, cycle, now, baseline)?;
    Ok(Some(match d.status {
        DeployStatus::Monitoring => format!(
            "{}: deployed {} as commit {} (tag {}); monitored for {}",
            d.id,
            p.id,
            &d.deploy_commit[..12],
            d.deploy_tag,
            cfg.deployment.monitor_duration
        ),
        _ => format!(
            "{}: deploy of {} {}: {}",
            d.id,
            p.id,
            d.status.as_str(),
            d.reason.clone().unwrap_or_default()
        ),
    }))
}

fn tier_of(s: &str) -> Tier {
    match s {
        "auto" => Tier::Auto,
        "notify" => Tier::Notify,
        "require" => Tier::Require,
        _ => Tier::Approve,
    }
}

pub fn capped(mut m: BTreeMap<String, Vec<f64>>) -> BTreeMap<String, Vec<f64>> {
    for v in m.values_mut() {
        if v.len() > experiment::MAX_SAMPLES {
            let cut = v.len() - experiment::MAX_SAMPLES;
            v.drain(..cut);
        }
    }
    m
}

#[allow(clippy::too_many_arguments)]
fn merged_by_human(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    branch_tip: Oid,
    cycle: &str,
    now: Timestamp,
    obs: &Observation,
    before: &BTreeMap<String, Vec<f64>>,
) -> Result<String> {
    let deploy_tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let base = Oid::from_str(&p.base_commit).ok();
    // The first commit on the deploy branch that contains the proposal: the merge.
    let landed = git
        .first_parent_between(base, deploy_tip)?
        .into_iter()
        .find(|c| git.is_ancestor(branch_tip, *c).unwrap_or(false))
        .unwrap_or(branch_tip);
    let parent = git.parents(landed)?.first().copied().unwrap_or(landed);
    let by = git.author(landed)?;
    let ts = fmt_ts(now);
    let id = records.next_id("deployments", "D-", 4)?;
    let d = Deployment {
        id: id.clone(),
        proposal: p.id.clone(),
        status: DeployStatus::Monitoring,
        tier: "human".into(),
        approved_by: by.clone(),
        branch: cfg.deploy_branch.clone(),
        backup_tag: format!("improve/backup/{id}"),
        backup_commit: parent.to_string(),
        deploy_tag: format!("improve/deploy/{id}"),
        deploy_commit: landed.to_string(),
        deployed_at: ts.clone(),
        // This window may already hold logs written after the merge: the baseline is
        // the window before it, when there is one.
        baseline: if before.is_empty() {
            capped(monitor::window_samples(obs))
        } else {
            capped(before.clone())
        },
        checks: vec![],
        degraded_in_a_row: 0,
        rollback_commit: None,
        rollback_tag: None,
        reason: Some(format!("merged by {by}")),
        ended_at: None,
    };
    git.tag(&d.backup_tag, parent)?;
    git.tag(&d.deploy_tag, landed)?;
    p.status = Status::Deployed;
    p.approved_by = Some(by.clone());
    p.deployment = Some(id.clone());
    p.push_event(
        &ts,
        format!(
            "merged into {} by {by}: approved and deployed as {id}",
            cfg.deploy_branch
        ),
        Some(&by),
    );
    deployer::finish(
        records,
        cfg,
        p,
        &d,
        cycle,
        now,
        "deployed",
        Some(library::Outcome::Deployed),
    )?;
    Ok(format!(
        "{}: {} merged by {by}; recorded as deployment {id} and monitored",
        p.id, p.branch
    ))
}
