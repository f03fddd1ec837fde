//! `improvement-data/config.yaml`: what the tool watches, how it judges, and what it
//! may do alone. Loaded from the deploy branch (reviewed like code). Every error names
//! the file, the line and the field; a config that would widen the AUTO tier, disable
//! the audit log or remove the monitor is refused (V4, DESIGN §7).

use crate::error::Error;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The default config `improve init` installs, embedded at compile time.
pub const DEFAULT_CONFIG: &str = include_str!("../improvement-data/config.yaml");
/// Where the config lives in the target repository.
pub const CONFIG_PATH: &str = "improvement-data/config.yaml";
/// Where the active canary/A/B experiments live in the target repository.
pub const EXPERIMENTS_PATH: &str = "improvement-data/experiments.yaml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "d::version")]
    pub version: u32,
    #[serde(default = "d::deploy_branch")]
    pub deploy_branch: String,
    #[serde(default = "d::records_branch")]
    pub records_branch: String,
    #[serde(default)]
    pub cycle: CycleCfg,
    #[serde(default)]
    pub triggers: TriggerCfg,
    #[serde(default)]
    pub observation: ObservationCfg,
    #[serde(default)]
    pub sources: SourcesCfg,
    /// Health metric thresholds for the threshold_breach trigger.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// Guarded metrics: judged by canary, A/B and the post-deploy monitor.
    #[serde(default)]
    pub metrics: Vec<MetricCfg>,
    #[serde(default)]
    pub anomalies: AnomalyCfg,
    /// Bounds for tunable constants; a tune never crosses them.
    #[serde(default)]
    pub tunables: Vec<TunableBound>,
    #[serde(default)]
    pub validation: ValidationCfg,
    #[serde(default)]
    pub deployment: DeploymentCfg,
    #[serde(default)]
    pub approval: ApprovalCfg,
    #[serde(default)]
    pub learning: LearningCfg,
    #[serde(default)]
    pub meta: MetaCfg,
    #[serde(default)]
    pub audit: AuditCfg,
    #[serde(default)]
    pub retention: RetentionCfg,
    /// Globs of the paths a proposal may touch (relative to the repository root).
    #[serde(default = "d::allowed_paths")]
    pub allowed_paths: Vec<String>,
    /// The forge that hosts the repository's pull requests (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge: Option<crate::forge::ForgeConfig>,
    /// The target repository's root (not part of the file): hooks run there.
    #[serde(skip)]
    pub repo_root: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CycleCfg {
    /// Wall-clock budget of one cycle; phases after it are deferred to the next cycle.
    pub time_budget: String,
    pub max_new_proposals: usize,
    pub max_open_proposals: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerCfg {
    pub pattern_threshold: u64,
    pub drift_threshold: f64,
    pub correlation_threshold: f64,
    /// Fewest history points before drift or correlation is judged.
    pub min_history: usize,
    pub significance: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObservationCfg {
    pub window_default: String,
    pub window_max: String,
    pub overhead_limit: f64,
    /// Lines stamped later than now + this are skipped and counted (clock skew).
    pub future_tolerance: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesCfg {
    pub traversal: Vec<String>,
    pub agent_traces: Vec<String>,
    pub health: Vec<String>,
    pub graph_events: Vec<String>,
    pub jsonl: Vec<GenericSource>,
}

/// A JSONL source of any other system, described without code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericSource {
    pub name: String,
    pub glob: String,
    /// JSON pointer to the timestamp, e.g. `/ts`.
    pub timestamp: String,
    #[serde(default)]
    pub metrics: Vec<GenericMetric>,
    /// JSON pointer naming an anomaly type, if the system reports them.
    #[serde(default)]
    pub anomaly: Option<String>,
    /// JSON pointer naming the experiment variant of the line.
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericMetric {
    pub name: String,
    pub pointer: String,
    #[serde(default)]
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Higher,
    Lower,
}

impl Direction {
    /// +1 when higher is better, -1 when lower is better.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Higher => 1.0,
            Direction::Lower => -1.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub metric: String,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricCfg {
    pub name: String,
    #[serde(default)]
    pub direction: Direction,
    /// A failing critical metric fails the whole judgment.
    #[serde(default)]
    pub critical: bool,
    /// Relative shift tolerated in the bad direction before the metric fails.
    #[serde(default = "d::allowed_effect")]
    pub allowed_effect: f64,
    /// A metric that must have data: "nodata" counts as a failure.
    #[serde(default)]
    pub required: bool,
    /// The healthy level (the doctor's threshold); a value on the healthy side of it
    /// is not a problem to fix.
    #[serde(default)]
    pub healthy: Option<f64>,
    /// The doctor's error level: past it the metric is an error, not a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyCfg {
    /// Weight of one occurrence by severity; info-level noise weighs little.
    pub severity_weight: std::collections::BTreeMap<String, f64>,
    /// A recurring anomaly is a problem only when its weighted rate per step exceeds this.
    pub min_weighted_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunableBound {
    pub file: String,
    pub name: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Largest relative change of one tune (0.2 = 20%).
    #[serde(default = "d::max_step")]
    pub max_step: f64,
    /// The only way a tune may move it (a timeout only goes up); either when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<TuneDirection>,
}

/// Which way a tune moves a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TuneDirection {
    Increase,
    Decrease,
}

impl TuneDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            TuneDirection::Increase => "increase",
            TuneDirection::Decrease => "decrease",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationCfg {
    /// argv of the unit test command, run in a temporary worktree (no shell).
    pub test_command: Vec<String>,
    pub test_timeout: String,
    /// argv of the replay command for shadow mode; prints a JSON object of metrics.
    pub replay_command: Vec<String>,
    pub shadow_duration: String,
    pub canary_duration: String,
    pub canary_percentage: u32,
    pub ab_duration: String,
    pub ab_percentage: u32,
    pub significance_threshold: f64,
    /// Fewest samples per group before a metric is judged.
    pub min_samples: usize,
    /// Share of judged metrics that must pass for PASSED.
    pub pass_score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentCfg {
    pub monitor_duration: String,
    pub degradation_threshold: f64,
    pub rollback_timeout: String,
    /// argv run after a deploy commit; a non-zero exit restores the backup.
    pub verify_command: Vec<String>,
    /// Consecutive degraded checks before a rollback (a severe one acts at once).
    pub consecutive_checks: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalCfg {
    pub auto_tier_max_risk: Risk,
    pub auto_tier_types: Vec<ProposalType>,
    pub require_tier_types: Vec<ProposalType>,
    pub approval_timeout: String,
    /// argv of a command that receives each notification as one JSON object on stdin.
    pub notify_command: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearningCfg {
    pub similarity_threshold: f64,
    pub min_fixes_for_confidence: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetaCfg {
    pub max_cycles_per_day: u32,
    pub require_tier: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditCfg {
    pub enabled: bool,
}

/// What the tool keeps and for how long (README, "What grows and how to bound it").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionCfg {
    /// A closed proposal's branch is deleted this long after it closed (its commit is
    /// kept by the tag `improve/archive/P-NNNN`).
    pub proposal_branches: String,
    /// `health` warns when the system's logs pass this size (`10GB`, `512MB`; `0`:
    /// never). The tool never deletes them.
    pub logs_warn_size: String,
}

impl Default for RetentionCfg {
    fn default() -> Self {
        RetentionCfg {
            proposal_branches: "30d".into(),
            logs_warn_size: "10GB".into(),
        }
    }
}

impl RetentionCfg {
    /// `logs_warn_size` in bytes (validated at load).
    pub fn logs_warn_bytes(&self) -> u64 {
        parse_size(&self.logs_warn_size).unwrap_or(0)
    }

    /// The first field that does not parse, with why.
    fn problem(&self) -> Option<(&'static str, String)> {
        if let Err(e) = crate::clock::parse_duration(&self.proposal_branches) {
            return Some(("retention.proposal_branches", e.to_string()));
        }
        parse_size(&self.logs_warn_size)
            .err()
            .map(|e| ("retention.logs_warn_size", e))
    }
}

/// A size: a number with an optional unit K, M, G or T (powers of 1024, `B`/`iB` may
/// follow): `10GB`, `512MiB`, `0`.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("size {s:?}: expected a number then K, M, G or T"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let scale = match unit {
        "" => 1u64,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        other => {
            return Err(format!(
                "size {s:?}: unknown unit {other:?} (use K, M, G or T)"
            ))
        }
    };
    if !n.is_finite() || n < 0.0 {
        return Err(format!("size {s:?} must be a finite, non-negative amount"));
    }
    Ok((n * scale as f64) as u64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    /// The weight used in ranking: `(impact x confidence) / (risk x complexity)`.
    pub fn weight(self) -> f64 {
        match self {
            Risk::Low => 1.0,
            Risk::Medium => 2.0,
            Risk::High => 4.0,
            Risk::Critical => 8.0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalType {
    ConstantTune,
    FormulaChange,
    BehaviorFix,
    ProtocolUpdate,
    SkillImprove,
    GraphContent,
}

impl ProposalType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalType::ConstantTune => "constant_tune",
            ProposalType::FormulaChange => "formula_change",
            ProposalType::BehaviorFix => "behavior_fix",
            ProposalType::ProtocolUpdate => "protocol_update",
            ProposalType::SkillImprove => "skill_improve",
            ProposalType::GraphContent => "graph_content",
        }
    }
}

mod d {
    pub fn version() -> u32 {
        1
    }
    pub fn deploy_branch() -> String {
        "main".into()
    }
    pub fn records_branch() -> String {
        "improve/records".into()
    }
    pub fn allowed_paths() -> Vec<String> {
        vec!["improvement-data/**".into()]
    }
    pub fn allowed_effect() -> f64 {
        0.10
    }
    pub fn max_step() -> f64 {
        0.2
    }
}

impl Default for CycleCfg {
    fn default() -> Self {
        CycleCfg {
            time_budget: "10m".into(),
            max_new_proposals: 2,
            max_open_proposals: 10,
        }
    }
}

impl Default for TriggerCfg {
    fn default() -> Self {
        TriggerCfg {
            pattern_threshold: 3,
            drift_threshold: 0.05,
            correlation_threshold: 0.7,
            min_history: 6,
            significance: 0.95,
        }
    }
}

impl Default for ObservationCfg {
    fn default() -> Self {
        ObservationCfg {
            window_default: "24h".into(),
            window_max: "7d".into(),
            overhead_limit: 0.05,
            future_tolerance: "5m".into(),
        }
    }
}

impl Default for AnomalyCfg {
    fn default() -> Self {
        let severity_weight = [
            ("info", 0.1),
            ("warn", 1.0),
            ("warning", 1.0),
            ("error", 3.0),
            ("critical", 5.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        AnomalyCfg {
            severity_weight,
            min_weighted_rate: 0.05,
        }
    }
}

impl Default for ValidationCfg {
    fn default() -> Self {
        ValidationCfg {
            test_command: vec![],
            test_timeout: "10m".into(),
            replay_command: vec![],
            shadow_duration: "1h".into(),
            canary_duration: "4h".into(),
            canary_percentage: 10,
            ab_duration: "24h".into(),
            ab_percentage: 50,
            significance_threshold: 0.95,
            min_samples: 20,
            pass_score: 1.0,
        }
    }
}

impl Default for DeploymentCfg {
    fn default() -> Self {
        DeploymentCfg {
            monitor_duration: "24h".into(),
            degradation_threshold: 0.10,
            rollback_timeout: "5m".into(),
            verify_command: vec![],
            consecutive_checks: 2,
        }
    }
}

impl Default for ApprovalCfg {
    fn default() -> Self {
        ApprovalCfg {
            auto_tier_max_risk: Risk::Low,
            auto_tier_types: vec![ProposalType::ConstantTune],
            require_tier_types: vec![ProposalType::FormulaChange, ProposalType::BehaviorFix],
            approval_timeout: "7d".into(),
            notify_command: vec![],
        }
    }
}

impl Default for LearningCfg {
    fn default() -> Self {
        LearningCfg {
            similarity_threshold: 0.8,
            min_fixes_for_confidence: 3,
        }
    }
}

impl Default for MetaCfg {
    fn default() -> Self {
        MetaCfg {
            max_cycles_per_day: 1,
            require_tier: true,
        }
    }
}

impl Default for AuditCfg {
    fn default() -> Self {
        AuditCfg { enabled: true }
    }
}

impl Config {
    /// The built-in defaults (the embedded `improvement-data/config.yaml`).
    pub fn builtin() -> Config {
        Config::parse(DEFAULT_CONFIG, Path::new("<built-in config>"))
            .expect("the embedded default config is valid")
    }

    /// Parses and validates config text; `file` is only used to name errors.
    pub fn parse(text: &str, file: &Path) -> Result<Config> {
        let cfg: Config = serde_yaml::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(1);
            let msg = e.to_string();
            let field = field_of_serde_message(&msg);
            Error::Config {
                file: file.to_path_buf(),
                line,
                field,
                message: strip_location(&msg),
            }
        })?;
        cfg.validate(text, file)?;
        Ok(cfg)
    }

    /// The config of the repository `git` opens: as committed on HEAD's branch (then on
    /// `main`), because a config is reviewed like code before it takes effect; before
    /// it is committed, the working tree's file; before `improve init`, the built-in
    /// one. `repo_root` is set, so hooks run in the repository.
    pub fn for_repo(git: &crate::git::Git) -> Result<Config> {
        let mut cfg = Config::committed(git)?;
        cfg.repo_root = Some(git.root());
        Ok(cfg)
    }

    /// The committed config file the cycle reads, with the branch it is on: HEAD's
    /// branch, then `main` (the deploy branch is named in the config itself).
    pub fn committed_text(git: &crate::git::Git) -> Result<Option<(String, String)>> {
        let mut branches = vec![];
        if let Some(b) = git.head_branch() {
            branches.push(b);
        }
        branches.push("main".to_string());
        for b in branches {
            if let Some(tip) = git.ref_oid(&b)? {
                if let Some(bytes) = git.read_file(tip, CONFIG_PATH)? {
                    return Ok(Some((b, String::from_utf8_lossy(&bytes).into_owned())));
                }
            }
        }
        Ok(None)
    }

    fn committed(git: &crate::git::Git) -> Result<Config> {
        if let Some((b, text)) = Config::committed_text(git)? {
            let label = std::path::PathBuf::from(format!("{CONFIG_PATH} (on {b})"));
            return Config::parse(&text, &label);
        }
        let wt = git.root().join(CONFIG_PATH);
        if wt.exists() {
            return Config::load(&wt);
        }
        Ok(Config::builtin())
    }

    /// A file as committed on the deploy branch (the repository's own rules and
    /// templates are reviewed like code, as the config is); None when absent.
    pub fn deploy_file(&self, git: &crate::git::Git, path: &str) -> Result<Option<String>> {
        let Some(tip) = git.ref_oid(&self.deploy_branch)? else {
            return Ok(None);
        };
        Ok(git
            .read_file(tip, path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Loads the config file from disk.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            file: path.to_path_buf(),
            line: 0,
            field: "-".into(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Semantic checks serde cannot express. The safety rules come first: they are
    /// what stops a config change from quietly giving the tool more power.
    fn validate(&self, text: &str, file: &Path) -> Result<()> {
        let err = |field: &str, message: String| -> anyhow::Error {
            Error::Config {
                file: file.to_path_buf(),
                line: line_of(text, field),
                field: field.to_string(),
                message,
            }
            .into()
        };
        // V4: AUTO never reaches beyond low-risk constant tunes.
        if self.approval.auto_tier_max_risk != Risk::Low {
            return Err(err(
                "approval.auto_tier_max_risk",
                format!(
                    "the AUTO tier cannot be widened beyond low risk (got {}); V4",
                    self.approval.auto_tier_max_risk.as_str()
                ),
            ));
        }
        if let Some(t) = self
            .approval
            .auto_tier_types
            .iter()
            .find(|t| **t != ProposalType::ConstantTune)
        {
            return Err(err(
                "approval.auto_tier_types",
                format!(
                    "the AUTO tier admits constant_tune only (got {}); V4",
                    t.as_str()
                ),
            ));
        }
        for needed in [ProposalType::FormulaChange, ProposalType::BehaviorFix] {
            if !self.approval.require_tier_types.contains(&needed) {
                return Err(err(
                    "approval.require_tier_types",
                    format!("{} must stay in the REQUIRE tier; V4", needed.as_str()),
                ));
            }
        }
        if !self.audit.enabled {
            return Err(err(
                "audit.enabled",
                "the audit log cannot be disabled; V2".into(),
            ));
        }
        if !self.meta.require_tier {
            return Err(err(
                "meta.require_tier",
                "meta-changes always require a human; V10".into(),
            ));
        }
        if self.meta.max_cycles_per_day > 1 {
            return Err(err(
                "meta.max_cycles_per_day",
                "meta-improvement runs at most once a day; V10".into(),
            ));
        }
        let monitor = crate::clock::parse_duration(&self.deployment.monitor_duration)
            .map_err(|e| err("deployment.monitor_duration", e.to_string()))?;
        if monitor <= chrono::Duration::zero() {
            return Err(err(
                "deployment.monitor_duration",
                "the post-deploy monitor cannot be removed; V9".into(),
            ));
        }
        if !(self.deployment.degradation_threshold > 0.0
            && self.deployment.degradation_threshold < 1.0)
        {
            return Err(err(
                "deployment.degradation_threshold",
                "must be between 0 and 1 (exclusive); V9".into(),
            ));
        }
        for (field, value) in [
            ("cycle.time_budget", &self.cycle.time_budget),
            (
                "observation.window_default",
                &self.observation.window_default,
            ),
            ("observation.window_max", &self.observation.window_max),
            (
                "observation.future_tolerance",
                &self.observation.future_tolerance,
            ),
            ("validation.test_timeout", &self.validation.test_timeout),
            (
                "validation.shadow_duration",
                &self.validation.shadow_duration,
            ),
            (
                "validation.canary_duration",
                &self.validation.canary_duration,
            ),
            ("validation.ab_duration", &self.validation.ab_duration),
            (
                "deployment.rollback_timeout",
                &self.deployment.rollback_timeout,
            ),
            ("approval.approval_timeout", &self.approval.approval_timeout),
        ] {
            crate::clock::parse_duration(value).map_err(|e| err(field, e.to_string()))?;
        }
        for (field, v) in [
            ("triggers.drift_threshold", self.triggers.drift_threshold),
            (
                "triggers.correlation_threshold",
                self.triggers.correlation_threshold,
            ),
            ("triggers.significance", self.triggers.significance),
            (
                "validation.significance_threshold",
                self.validation.significance_threshold,
            ),
            ("validation.pass_score", self.validation.pass_score),
            (
                "learning.similarity_threshold",
                self.learning.similarity_threshold,
            ),
            (
                "observation.overhead_limit",
                self.observation.overhead_limit,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(err(field, format!("must be between 0 and 1, got {v}")));
            }
        }
        if let Some((field, message)) = self.retention.problem() {
            return Err(err(field, message));
        }
        for (i, t) in self.tunables.iter().enumerate() {
            let field = format!("tunables[{i}]");
            let bad = match (t.min, t.max) {
                (Some(lo), Some(hi)) if lo > hi => Some(format!("min {lo} is above max {hi}")),
                _ if !(t.max_step.is_finite() && t.max_step > 0.0) => {
                    Some(format!("max_step must be above 0, got {}", t.max_step))
                }
                _ => None,
            };
            if let Some(message) = bad {
                return Err(Error::Config {
                    file: file.to_path_buf(),
                    line: line_of_item(text, "tunables", &t.name),
                    field,
                    message: format!("{} in {}: {message}", t.name, t.file),
                }
                .into());
            }
        }
        for p in &self.allowed_paths {
            if p.starts_with('/') || p.split('/').any(|c| c == "..") {
                return Err(err(
                    "allowed_paths",
                    format!("{p:?} leaves the repository; use paths relative to its root"),
                ));
            }
            globset::Glob::new(p).map_err(|e| err("allowed_paths", e.to_string()))?;
        }
        for g in self
            .sources
            .traversal
            .iter()
            .chain(&self.sources.agent_traces)
            .chain(&self.sources.health)
            .chain(&self.sources.graph_events)
            .chain(self.sources.jsonl.iter().map(|s| &s.glob))
        {
            globset::Glob::new(g).map_err(|e| err("sources", e.to_string()))?;
        }
        if let Some(forge) = &self.forge {
            forge
                .check()
                .map_err(|p| err(&format!("forge.{}", p.field), p.message))?;
        }
        Ok(())
    }

    /// Parsed duration accessors (validated at load, so they cannot fail later).
    pub fn dur(&self, s: &str) -> chrono::Duration {
        crate::clock::parse_duration(s).unwrap_or_else(|_| chrono::Duration::zero())
    }

    /// The configuration of a guarded metric, if it is guarded.
    pub fn metric(&self, name: &str) -> Option<&MetricCfg> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The configured bounds of a tunable, if any.
    pub fn bound(&self, file: &str, name: &str) -> Option<&TunableBound> {
        self.tunables
            .iter()
            .find(|t| t.file == file && t.name == name)
    }

    /// A matcher for `allowed_paths`.
    pub fn allowed_matcher(&self) -> globset::GlobSet {
        let mut b = globset::GlobSetBuilder::new();
        for p in &self.allowed_paths {
            if let Ok(g) = globset::GlobBuilder::new(p).literal_separator(true).build() {
                b.add(g);
            }
        }
        b.build().unwrap_or_else(|_| globset::GlobSet::empty())
    }
}

/// Finds the line of a dotted field (`approval.auto_tier_types`) in YAML text, by
/// walking the keys in order; falls back to the last key found, then line 1.
pub fn line_of(text: &str, dotted: &str) -> usize {
    let mut from = 0usize;
    let mut found = 1usize;
    let lines: Vec<&str> = text.lines().collect();
    for key in dotted.split('.') {
        let needle = format!("{key}:");
        match lines.iter().enumerate().skip(from).find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&needle) && !l.trim_start().starts_with('#')
        }) {
            Some((i, _)) => {
                found = i + 1;
                from = i + 1;
            }
            None => break,
        }
    }
    found
}

/// The line of the item of the top-level list `section` that mentions `needle` (a
/// tunable's name, a glob), by text: `line_of` the section when no item does.
pub fn line_of_item(text: &str, section: &str, needle: &str) -> usize {
    let start = line_of(text, section);
    text.lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| l.is_empty() || l.starts_with([' ', '-', '#']))
        .find(|(_, l)| l.contains(needle) && !l.trim_start().starts_with('#'))
        .map_or(start, |(i, _)| i + 1)
}

fn field_of_serde_message(msg: &str) -> String {
    // serde_yaml says e.g. "approval: unknown field `foo`, expected ..." or
    // "unknown field `foo`"; take the dotted path before the first ": " if present.
    if let Some(start) = msg.find('`') {
        if let Some(end) = msg[start + 1..].find('`') {
            let name = &msg[start + 1..start + 1 + end];
            let prefix = msg.split(": ").next().unwrap_or("");
            if !prefix.is_empty() && !prefix.contains(' ') && prefix != msg {
                return format!("{prefix}.{name}");
            }
            return name.to_string();
        }
    }
    msg.split(": ").next().unwrap_or("config").to_string()
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_config_is_valid() {
        let c = Config::builtin();
        assert_eq!(c.triggers.pattern_threshold, 3);
        assert!(!c.sources.traversal.is_empty());
    }

    #[test]
    fn widening_auto_names_file_and_line() {
        let text = "version: 1\napproval:\n  auto_tier_max_risk: low\n  auto_tier_types: [constant_tune, formula_change]\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("c.yaml:4: approval.auto_tier_types"), "{s}");
    }

    #[test]
    fn unknown_field_names_line() {
        let text = "version: 1\ncycle:\n  time_budgett: 5m\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("c.yaml:3:"), "{s}");
        assert!(s.contains("time_budgett"), "{s}");
    }

    #[test]
    fn audit_cannot_be_disabled() {
        let text = "audit:\n  enabled: false\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().starts_with("c.yaml:2: audit.enabled"), "{e}");
    }

    #[test]
    fn retention_sizes_and_durations_are_checked() {
        let c = Config::builtin();
        assert_eq!(c.retention.logs_warn_bytes(), 10 << 30);
        assert_eq!(c.dur(&c.retention.proposal_branches).num_days(), 30);
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("0"), Ok(0));
        let text = "version: 1\nretention:\n  logs_warn_size: 10 parsecs\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.yaml:3: retention.logs_warn_size"),
            "{e}"
        );
        let text = "retention:\n  proposal_branches: forever\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.yaml:2: retention.proposal_branches"),
            "{e}"
        );
    }

    #[test]
    fn a_tunable_with_crossed_bounds_is_named_by_line() {
        let text = "tunables:\n  - {file: a.py, name: A, min: 0.1, max: 0.9}\n  - {file: a.py, name: B, min: 2, max: 1}\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.yaml:3: tunables[1]: B in a.py: min 2 is above max 1"),
            "{e}"
        );
        let text = "tunables:\n  - {file: a.py, name: T, direction: upward}\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().starts_with("c.yaml:2:"), "{e}");
    }

    #[test]
    fn monitor_cannot_be_removed() {
        let text = "deployment:\n  monitor_duration: 0h\n";
        let e = Config::parse(text, Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().contains("deployment.monitor_duration"), "{e}");
    }
}
