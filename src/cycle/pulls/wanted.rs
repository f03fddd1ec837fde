//! What a proposal's pull request should show: the tool's section of its body (the
//! PR body with the validation result and the tier), its labels, whether it is still a
//! draft, and a digest of all three so it is edited only when it would change.

use crate::approve;
use crate::context::Ctx;
use crate::forge::proposal_labels;
use crate::propose::render::{self, MetricRow, TierSummary, ValidationSummary};
use crate::store::proposals::{Proposal, Status};
use crate::validate::{self, Validation};
use anyhow::Result;
use sha2::{Digest, Sha256};

/// The tool's section of a proposal's pull request body, its labels and whether it is
/// a draft.
pub struct Wanted {
    pub section: String,
    pub labels: Vec<String>,
    pub draft: bool,
}

impl Wanted {
    pub fn of(ctx: &Ctx, p: &Proposal) -> Result<Wanted> {
        let v: Option<Validation> = ctx.records.read_json(&validate::path(&p.id))?;
        let summary = v.as_ref().map(validation_summary);
        let tier = match (p.tier, &v) {
            (Some(t), Some(v)) => Some(TierSummary {
                tier: t.as_str().to_string(),
                why: approve::tier(p, v, ctx.cfg).1,
            }),
            _ => None,
        };
        Ok(Wanted {
            section: render::pr_body_with(p, summary.as_ref(), tier.as_ref()),
            labels: proposal_labels(
                p.kind.as_str(),
                p.pattern.layer.map(|l| l.as_str()),
                p.risk.as_str(),
                p.tier.map(|t| t.as_str()),
            ),
            draft: matches!(p.status, Status::Proposed | Status::Validating),
        })
    }

    /// Changes whenever what the forge should show changes.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.section.as_bytes());
        h.update([0]);
        h.update(self.labels.join("\n").as_bytes());
        h.update([self.draft as u8]);
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A validation record as the body's "Validation result" shows it.
fn validation_summary(v: &Validation) -> ValidationSummary {
    let (reason, metrics) = match &v.judgment {
        Some(j) => (
            j.reason.clone(),
            j.metrics
                .iter()
                .map(|m| MetricRow {
                    name: m.name.clone(),
                    baseline: m.control_median,
                    candidate: m.variant_median,
                    effect: m.relative_effect,
                    interval: m.ci_lo.zip(m.ci_hi),
                    samples: Some((m.n_control, m.n_variant)),
                    status: status_word(&m.status),
                })
                .collect(),
        ),
        None => (
            v.recommendation.clone(),
            v.metrics_after
                .iter()
                .map(|(name, after)| MetricRow {
                    name: name.clone(),
                    baseline: v.metrics_before.get(name).copied(),
                    candidate: Some(*after),
                    effect: v.improvement.get(name).copied(),
                    interval: None,
                    samples: None,
                    status: "measured".into(),
                })
                .collect(),
        ),
    };
    ValidationSummary {
        mode: v.mode.as_str().to_string(),
        verdict: v.status.as_str().to_string(),
        reason,
        metrics,
    }
}

pub fn status_word<T: serde::Serialize>(s: &T) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
