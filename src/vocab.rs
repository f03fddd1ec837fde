//! The typed words that records, config and commands share: approval tiers, who
//! approved, validation modes, trigger kinds and urgencies. Each is spelled in records
//! exactly as `as_str` says, and a record with any other spelling fails to load (with
//! its file and line) instead of quietly becoming a default.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Implements `as_str`, `Display` and `FromStr` from one table of spellings, the same
/// ones serde uses, so a name means the same thing on the command line and in a record.
macro_rules! spelled {
    ($ty:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $s),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<$ty, String> {
                match s {
                    $($s => Ok($ty::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{s}` (one of: {})",
                        stringify!($ty),
                        [$($s),+].join(", ")
                    )),
                }
            }
        }
    };
}

/// The approval tiers (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Auto,
    Notify,
    Approve,
    Require,
}

spelled!(Tier { Auto => "auto", Notify => "notify", Approve => "approve", Require => "require" });

impl Tier {
    /// Tiers that deploy without a human.
    pub fn deploys_alone(self) -> bool {
        matches!(self, Tier::Auto | Tier::Notify)
    }
}

/// Who approved a proposal: the tool by its tier, or a named human. Decided by how
/// the approval came about, never by the spelling of a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Approver {
    Tool { tier: Tier },
    Human { name: String },
}

impl Approver {
    pub fn human(name: impl Into<String>) -> Approver {
        Approver::Human { name: name.into() }
    }
    pub fn is_human(&self) -> bool {
        matches!(self, Approver::Human { .. })
    }
}

impl fmt::Display for Approver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Approver::Tool { tier } => write!(f, "improve ({tier} tier)"),
            Approver::Human { name } => f.write_str(name),
        }
    }
}

/// How a proposal is validated (DESIGN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationMode {
    UnitTest,
    Shadow,
    Canary,
    AbTest,
    Manual,
}

spelled!(ValidationMode {
    UnitTest => "unit_test",
    Shadow => "shadow",
    Canary => "canary",
    AbTest => "ab_test",
    Manual => "manual",
});

impl ValidationMode {
    /// Modes that run as an experiment across cycles.
    pub fn is_experiment(self) -> bool {
        matches!(self, ValidationMode::Canary | ValidationMode::AbTest)
    }
}

/// Why a cycle ran (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    ThresholdBreach,
    PatternDetected,
    Periodic,
    HumanRequest,
    MetaCheck,
}

spelled!(TriggerKind {
    ThresholdBreach => "threshold_breach",
    PatternDetected => "pattern_detected",
    Periodic => "periodic",
    HumanRequest => "human_request",
    MetaCheck => "meta_check",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
    Critical,
}

spelled!(Urgency { Low => "low", Medium => "medium", High => "high", Critical => "critical" });

impl Urgency {
    /// Urgency of a breach by value/threshold (DESIGN §3): >2.0 critical, >1.5 high.
    pub fn of_ratio(ratio: f64) -> Urgency {
        if ratio > 2.0 {
            Urgency::Critical
        } else if ratio > 1.5 {
            Urgency::High
        } else {
            Urgency::Medium
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_through_serde_and_from_str() {
        for t in Tier::ALL {
            let y = serde_yaml::to_string(t).unwrap();
            assert_eq!(y.trim(), t.as_str());
            assert_eq!(t.as_str().parse::<Tier>().unwrap(), *t);
        }
        for m in ValidationMode::ALL {
            let j = serde_json::to_string(m).unwrap();
            assert_eq!(j, format!("\"{}\"", m.as_str()));
        }
        for k in TriggerKind::ALL {
            assert_eq!(k.as_str().parse::<TriggerKind>().unwrap(), *k);
        }
        for u in Urgency::ALL {
            assert_eq!(u.as_str().parse::<Urgency>().unwrap(), *u);
        }
    }

    #[test]
    fn unknown_spellings_are_errors_not_defaults() {
        assert!(serde_yaml::from_str::<Tier>("autoo").is_err());
        assert!("Auto".parse::<Tier>().unwrap_err().contains("one of: auto"));
        assert!(serde_json::from_str::<Urgency>("\"urgent\"").is_err());
    }

    #[test]
    fn a_human_named_like_the_tool_is_still_a_human() {
        let a: Approver = serde_yaml::from_str("kind: human\nname: improvement-team\n").unwrap();
        assert!(a.is_human());
        assert_eq!(a.to_string(), "improvement-team");
        let t = Approver::Tool { tier: Tier::Auto };
        assert!(!t.is_human());
        assert_eq!(t.to_string(), "improve (auto tier)");
        let back: Approver = serde_yaml::from_str(&serde_yaml::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert!(serde_yaml::from_str::<Approver>("kind: robot\nname: x\n").is_err());
    }

    #[test]
    fn urgency_by_ratio() {
        assert_eq!(Urgency::of_ratio(2.5), Urgency::Critical);
        assert_eq!(Urgency::of_ratio(1.6), Urgency::High);
        assert_eq!(Urgency::of_ratio(1.1), Urgency::Medium);
        assert!(Urgency::Critical > Urgency::Low);
    }
}
