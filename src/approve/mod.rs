//! APPROVE: the four tiers (DESIGN §7). AUTO deploys alone, NOTIFY deploys then tells,
//! APPROVE and REQUIRE wait for a human (REQUIRE also for anything a config change
//! could not widen). Config can never widen AUTO beyond low-risk constant tunes (V4):
//! the loader refuses such a config, and `tier` checks again at run time. What the
//! decision does to a proposal — approved, waiting, escalated, approved or rejected by
//! a human — is in `decide`.

mod decide;

pub use decide::{approve, conclude, escalate_if_due, reject};

use crate::config::{Config, ProposalType, Risk, CONFIG_PATH};
use crate::store::proposals::Proposal;
use crate::validate::{Outcome, Validation};
use crate::vocab::Tier;

/// Whether `p` touches the tool's own config (a meta-change).
pub fn is_meta(p: &Proposal) -> bool {
    p.target.file == CONFIG_PATH || p.target.file.starts_with("improvement-data/templates/")
}

/// Decides the tier of a validated proposal, and why.
pub fn tier(p: &Proposal, v: &Validation, cfg: &Config) -> (Tier, String) {
    if matches!(p.risk, Risk::High | Risk::Critical) {
        return (Tier::Require, format!("{} risk", p.risk.as_str()));
    }
    if cfg.approval.require_tier_types.contains(&p.kind)
        || matches!(
            p.kind,
            ProposalType::FormulaChange | ProposalType::BehaviorFix
        )
    {
        return (
            Tier::Require,
            format!("{} always needs a human", p.kind.as_str()),
        );
    }
    if is_meta(p) {
        return (
            Tier::Require,
            "a change to improve's own configuration".into(),
        );
    }
    if v.status == Outcome::Inconclusive {
        return (Tier::Require, "validation was inconclusive".into());
    }
    if !p.conflicts.is_empty() {
        return (
            Tier::Require,
            format!("conflicts with {}", p.conflicts.join(", ")),
        );
    }
    let passed = v.status == Outcome::Passed;
    // V4: AUTO is for low-risk constant tunes only, whatever the config says.
    let auto_ok = p.kind == ProposalType::ConstantTune
        && cfg.approval.auto_tier_types.contains(&p.kind)
        && p.risk == Risk::Low
        && cfg.approval.auto_tier_max_risk == Risk::Low;
    if auto_ok && passed && v.target_improved {
        return (
            Tier::Auto,
            format!(
                "low-risk constant tune, validation PASSED and {} improved",
                p.target_metric.name
            ),
        );
    }
    if p.risk == Risk::Low && passed {
        return (Tier::Notify, "low risk and validation PASSED".into());
    }
    (Tier::Approve, "needs a human's review".into())
}
