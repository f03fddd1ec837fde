//! DEPLOY, MONITOR, ROLLBACK: deployments as ordinary commits with backup and deploy
//! tags and trailers (`deployer`), verified and completed after their commit
//! (`complete`), also after an interruption (`recover`), a
//! human's merge of a proposal adopted as a deployment (`adopt`), watched after
//! deploy (`monitor`) and reverted with `git revert` on degradation (`rollback`); at
//! the end of the watch, whether the fix worked (`effect`).

pub mod adopt;
mod complete;
pub mod deployer;
pub mod effect;
pub mod monitor;
pub mod outcome;
pub mod recover;
pub mod rollback;

use crate::observe::samples::Samples;
use crate::records::{parse_yaml, Records, Tx};
use crate::validate::judge::{MetricResult, MetricStatus};
use crate::vocab::{Approver, Tier};
use anyhow::Result;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    /// Intent recorded; the commit may or may not exist yet (crash recovery).
    Deploying,
    Monitoring,
    Stable,
    RolledBack,
    RollbackFailed,
    /// Verification failed; the backup was restored.
    Failed,
}

impl DeployStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployStatus::Deploying => "deploying",
            DeployStatus::Monitoring => "monitoring",
            DeployStatus::Stable => "stable",
            DeployStatus::RolledBack => "rolled_back",
            DeployStatus::RollbackFailed => "rollback_failed",
            DeployStatus::Failed => "failed",
        }
    }
    pub fn is_live(self) -> bool {
        matches!(self, DeployStatus::Deploying | DeployStatus::Monitoring)
    }
}

/// `deployments/D-0003.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub proposal: String,
    pub status: DeployStatus,
    /// The tier the tool deployed it in; none when a human merged the proposal and
    /// the tool only adopted the merge.
    #[serde(with = "tier_or_human")]
    pub tier: Option<Tier>,
    pub approved_by: Approver,
    pub branch: String,
    pub backup_tag: String,
    pub backup_commit: String,
    pub deploy_tag: String,
    pub deploy_commit: String,
    pub deployed_at: String,
    /// Guarded metric samples before the deploy (the baseline the monitor compares with).
    pub baseline: Samples,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub degraded_in_a_row: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_tag: Option<String>,
    /// The monitor decided to roll back and git refused (a foreign lock, a human
    /// mid-operation): the next cycle reverts for this reason before judging anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_due: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Whether the fix worked: `effect.verdict` is effective, ineffective or unknown
    /// once the monitor window is over (gathered while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<effect::Effect>,
}

impl Deployment {
    /// The tool made the deploy commit (not a human's merge it adopted).
    pub fn by_tool(&self) -> bool {
        self.tier.is_some()
    }
    /// Deployed without a human (the AUTO or NOTIFY tier).
    pub fn deployed_alone(&self) -> bool {
        self.tier.is_some_and(Tier::deploys_alone)
    }
    /// The tier as records and messages spell it (`human` for an adopted merge).
    pub fn tier_name(&self) -> &'static str {
        self.tier.map(Tier::as_str).unwrap_or("human")
    }
}

/// `tier: human` marks an adopted merge; any other value must be a tier.
mod tier_or_human {
    use crate::vocab::Tier;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Tier>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.map(Tier::as_str).unwrap_or("human"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tier>, D::Error> {
        let s = String::deserialize(d)?;
        if s == "human" {
            return Ok(None);
        }
        s.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

/// One check of a deployment: the verification command after the deploy commit, or
/// one cycle's monitor judgment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Check {
    Verify(VerifyCheck),
    Monitor(MonitorCheck),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCheck {
    /// The command's argv.
    pub verify: Vec<String>,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub output: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorCheck {
    pub ts: String,
    pub cycle: String,
    /// Metrics that degraded beyond the threshold in this check.
    pub degraded: Vec<String>,
    pub severe: bool,
    pub metrics: Vec<MetricCheck>,
    /// Not counted against the deployment: a newer one was reverted in this window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deferred: bool,
}

/// One guarded metric in one monitor check: baseline against the window since the
/// deploy, the change and its interval, and the verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricCheck {
    pub name: String,
    pub status: MetricStatus,
    pub relative_effect: Option<f64>,
    pub p: Option<f64>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
}

impl MetricCheck {
    pub fn of(m: &MetricResult) -> MetricCheck {
        MetricCheck {
            name: m.name.clone(),
            status: m.status.clone(),
            relative_effect: m.relative_effect,
            p: m.p,
            reason: m.reason.clone(),
            baseline: m.control_median,
            current: m.variant_median,
            interval: m.ci_lo.zip(m.ci_hi),
        }
    }
}

impl Check {
    pub fn monitor(&self) -> Option<&MonitorCheck> {
        match self {
            Check::Monitor(m) => Some(m),
            Check::Verify(_) => None,
        }
    }
}

pub fn path(id: &str) -> String {
    format!("deployments/{id}.yaml")
}

pub fn load(records: &Records, id: &str) -> Result<Option<Deployment>> {
    records.read_yaml(&path(id))
}

pub fn load_all(records: &Records) -> Result<Vec<Deployment>> {
    each_record(records, |path, b| Ok(Some(parse_yaml(path, b)?)))
}

/// `read(path, bytes)` over every deployment record: the one walk `load_all`,
/// `load_live` and `load_closed` share, each deciding how much of a record to parse.
fn each_record<T>(
    records: &Records,
    mut read: impl FnMut(&str, &[u8]) -> Result<Option<T>>,
) -> Result<Vec<T>> {
    records.read_each("deployments", |name| {
        let path = format!("deployments/{name}");
        match records.read(&path)? {
            Some(b) => read(&path, &b),
            None => Ok(None),
        }
    })
}

/// The deployments still being deployed or watched (`is_live`), for what every cycle
/// does (recover, monitor, the one-deploy-at-a-time check). A closed deployment keeps
/// its monitoring evidence (tens of KB of samples each) and is never parsed here: its
/// top-level `status:` line says it is closed. A record whose status line cannot be
/// read that way is parsed, so nothing live is missed.
pub fn load_live(records: &Records) -> Result<Vec<Deployment>> {
    each_record(records, |path, b| {
        if stated_status(b).is_some_and(|s| !s.is_live()) {
            return Ok(None);
        }
        Ok(Some(parse_yaml::<Deployment>(path, b)?).filter(|d| d.status.is_live()))
    })
}

/// A closed deployment as the learning loop counts it: which, how it ended, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub id: String,
    pub status: DeployStatus,
    pub deployed_at: String,
}

/// The closed deployments, read from their top-level lines only (a closed record keeps
/// tens of KB of monitoring evidence that this count does not need); a record whose
/// lines cannot be read that way is parsed whole.
pub fn load_closed(records: &Records) -> Result<Vec<Closed>> {
    each_record(records, |path, b| {
        let stated = (
            stated_status(b),
            stated(b, b"id:"),
            stated(b, b"deployed_at:"),
        );
        let c = match stated {
            (Some(status), Some(id), Some(at)) => Closed {
                id: id.to_string(),
                status,
                deployed_at: at.to_string(),
            },
            _ => {
                let d = parse_yaml::<Deployment>(path, b)?;
                Closed {
                    id: d.id,
                    status: d.status,
                    deployed_at: d.deployed_at,
                }
            }
        };
        Ok((!c.status.is_live()).then_some(c))
    })
}

/// The status a deployment's YAML states on its top-level `status:` line, without
/// parsing the rest.
fn stated_status(yaml: &[u8]) -> Option<DeployStatus> {
    serde_yaml::from_str(stated(yaml, b"status:")?).ok()
}

/// The plain scalar on the top-level line starting with `key` (a line at column 0:
/// nested keys and block text are indented), unquoted; `None` for anything else (a
/// comment, an escape, a multi-line value), which the caller parses properly.
fn stated<'a>(yaml: &'a [u8], key: &[u8]) -> Option<&'a str> {
    let line = yaml
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(key))?;
    let value = std::str::from_utf8(line).ok()?.trim();
    let inner = ['"', '\'']
        .iter()
        .find_map(|&q| value.strip_prefix(q)?.strip_suffix(q))
        .unwrap_or(value);
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_:.+".contains(c);
    (!inner.is_empty() && inner.chars().all(plain)).then_some(inner)
}

pub fn put(tx: &mut Tx, d: &Deployment) -> Result<()> {
    tx.put_yaml(&path(&d.id), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_deployments_are_counted_from_their_top_level_lines() {
        use crate::health::tests::deployment;
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        let git = crate::git::Git::open(dir.path()).unwrap();
        let mut records = Records::open(&git, "improve/records").unwrap();
        let mut tx = records.tx();
        let stable = deployment("D-0001", "P-0001", DeployStatus::Stable);
        let rolled = deployment("D-0002", "P-0002", DeployStatus::RolledBack);
        let live = deployment("D-0003", "P-0003", DeployStatus::Monitoring);
        for d in [&stable, &rolled, &live] {
            put(&mut tx, d).unwrap();
        }
        // A record whose top-level lines are not plain (a quoted-and-commented id)
        // is parsed whole instead: same answer.
        tx.put(
            "deployments/D-0004.yaml",
            serde_yaml::to_string(&deployment("D-0004", "P-0004", DeployStatus::Stable))
                .unwrap()
                .replace("id: D-0004", "id: \"D-0004\" # adopted")
                .into_bytes(),
        );
        tx.audit("deploy", "planted", "D-0001", serde_json::json!({}));
        let now = crate::clock::parse_ts("2026-02-01T12:00:00Z").unwrap();
        tx.commit(&mut records, "C-000001", now, "test").unwrap();
        let closed = load_closed(&records).unwrap();
        let got: Vec<_> = closed
            .iter()
            .map(|c| (c.id.as_str(), c.status, c.deployed_at.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("D-0001", DeployStatus::Stable, stable.deployed_at.as_str()),
                (
                    "D-0002",
                    DeployStatus::RolledBack,
                    rolled.deployed_at.as_str()
                ),
                ("D-0004", DeployStatus::Stable, stable.deployed_at.as_str()),
            ]
        );
        let full: Vec<_> = load_all(&records)
            .unwrap()
            .into_iter()
            .filter(|d| !d.status.is_live())
            .map(|d| (d.id, d.status))
            .collect();
        let lean: Vec<_> = closed.into_iter().map(|c| (c.id, c.status)).collect();
        assert_eq!(full, lean, "the same as parsing every record");
    }

    #[test]
    fn a_status_line_is_read_without_the_rest_and_only_at_the_top_level() {
        let yaml =
            b"id: D-0001\nproposal: P-0001\nstatus: stable\nchecks:\n  - status: monitoring\n";
        assert_eq!(stated_status(yaml), Some(DeployStatus::Stable));
        let nested_only = b"id: D-0001\nchecks:\n  - status: stable\nstatus: 'monitoring'\n";
        assert_eq!(stated_status(nested_only), Some(DeployStatus::Monitoring));
        assert_eq!(stated_status(b"id: D-0001\nstatus: sideways\n"), None);
        assert_eq!(stated_status(b"id: D-0001\n"), None);
    }

    #[test]
    fn checks_read_both_shapes_and_refuse_others() {
        let v: Check = serde_json::from_str(
            r#"{"verify":["true"],"exit_code":0,"timed_out":false,"output":""}"#,
        )
        .unwrap();
        assert!(v.monitor().is_none());
        let m: Check = serde_json::from_str(
            r#"{"ts":"t","cycle":"C-000001","degraded":[],"severe":false,"metrics":[{"name":"m","status":"pass","relative_effect":0.1,"p":0.5,"reason":"ok"}],"deferred":true}"#,
        )
        .unwrap();
        assert!(m.monitor().unwrap().deferred);
        assert!(serde_json::from_str::<Check>(
            r#"{"ts":"t","cycle":"C","degraded":[],"severe":"yes","metrics":[]}"#
        )
        .is_err());
    }

    #[test]
    fn an_adopted_merge_is_spelled_human_and_an_unknown_tier_is_refused() {
        #[derive(Serialize, Deserialize)]
        struct T {
            #[serde(with = "tier_or_human")]
            tier: Option<Tier>,
        }
        let t: T = serde_yaml::from_str("tier: human\n").unwrap();
        assert_eq!(t.tier, None);
        assert_eq!(serde_yaml::to_string(&t).unwrap(), "tier: human\n");
        let t: T = serde_yaml::from_str("tier: notify\n").unwrap();
        assert_eq!(t.tier, Some(Tier::Notify));
        assert!(serde_yaml::from_str::<T>("tier: sometimes\n").is_err());
    }
}
