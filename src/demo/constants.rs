//! Reads the demo system's current constants from its working tree: module-level
//! `NAME = number` lines and simple dict entries of its Python files, plus the
//! explore protocol's `timeout_s`. Deliberately small and read-only; the tool's own
//! editors (which must preserve bytes) live elsewhere.

use super::model::Params;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The Python files whose constants the simulator reads.
pub const CONSTANT_FILES: [&str; 2] = [
    "runtime/physics/constants.py",
    "runtime/physics/subentity.py",
];
/// The protocol whose `timeout_s` sets the timeout rate.
pub const PROTOCOL_FILE: &str = "protocols/explore.yaml";

/// Constants by name: `SIBLING_DIVERGENCE_WEIGHT`, dict entries as
/// `STATE_MULTIPLIER[SubEntityState.SEEKING]` or `LINK_FACTORS['supports']` (the
/// names config.yaml's tunables use), and `timeout_s` from the protocol.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Constants {
    pub values: BTreeMap<String, f64>,
}

impl Constants {
    /// Reads the constant files of `repo`'s working tree. A missing file is an error
    /// (the demo repository has them); a missing name falls back to the model default.
    pub fn read(repo: &Path) -> Result<Constants> {
        let mut values = BTreeMap::new();
        for rel in CONSTANT_FILES {
            let path = repo.join(rel);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading constants from {}", path.display()))?;
            values.extend(parse_python(&text));
        }
        let proto = repo.join(PROTOCOL_FILE);
        if let Ok(text) = std::fs::read_to_string(&proto) {
            if let Some(t) = parse_yaml_number(&text, "timeout_s") {
                values.insert("timeout_s".into(), t);
            }
        }
        Ok(Constants { values })
    }

    /// The value of `name`, or the default the demo repository ships with.
    pub fn get(&self, name: &str) -> f64 {
        self.values
            .get(name)
            .copied()
            .unwrap_or_else(|| default_of(name))
    }

    pub fn set(&mut self, name: &str, value: f64) {
        self.values.insert(name.to_string(), value);
    }

    /// The parameters of the causal model.
    pub fn params(&self) -> Params {
        let depth = (self.get("MAX_DEPTH") + 0.5).floor();
        Params {
            divergence_weight: self.get("SIBLING_DIVERGENCE_WEIGHT"),
            max_depth: if depth.is_finite() && depth > 0.0 {
                depth as u32
            } else {
                1
            },
            satisfaction_threshold: self.get("SATISFACTION_THRESHOLD"),
            timeout_s: self.get("timeout_s"),
        }
    }

    /// Energy multiplier of a subentity state (`SEEKING`, `RESONATING`, ...).
    pub fn state_multiplier(&self, state: &str) -> f64 {
        self.get(&format!("STATE_MULTIPLIER[SubEntityState.{state}]"))
    }
}

fn default_of(name: &str) -> f64 {
    match name {
        "SIBLING_DIVERGENCE_WEIGHT" => 0.10,
        "BACKTRACK_PENALTY" => 0.30,
        "MAX_DEPTH" => 10.0,
        "SATISFACTION_THRESHOLD" => 0.75,
        "INTENTION_WEIGHT" => 0.25,
        "timeout_s" => 30.0,
        n if n.starts_with("STATE_MULTIPLIER[") => 1.0,
        _ => 0.0,
    }
}

/// Parses module-level `NAME = number` assignments (trailing comments allowed) and the
/// `KEY: number,` entries of module-level dict literals `NAME = {` ... `}`.
pub fn parse_python(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut dict: Option<String> = None;
    for line in text.lines() {
        let code = strip_comment(line);
        if let Some(name) = &dict {
            let t = code.trim();
            if t.starts_with('}') {
                dict = None;
            } else if let Some((key, value)) = t.trim_end_matches(',').rsplit_once(':') {
                if let Ok(v) = value.trim().parse::<f64>() {
                    out.insert(format!("{name}[{}]", key.trim()), v);
                }
            }
            continue;
        }
        if code.starts_with(|c: char| c.is_whitespace()) {
            continue;
        }
        let Some((name, value)) = code.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        if value == "{" {
            dict = Some(name.to_string());
        } else if let Ok(v) = value.parse::<f64>() {
            out.insert(name.to_string(), v);
        }
    }
    out
}

/// The first `key: number` in a YAML text (any depth): enough for `timeout_s`.
fn parse_yaml_number(text: &str, key: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let t = strip_comment(l).trim().trim_start_matches("- ");
        let (k, v) = t.split_once(':')?;
        (k.trim() == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Drops a `#` comment; the demo's files have no `#` inside strings.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scalars_and_dict_entries() {
        let text = "\"\"\"Doc = 3\"\"\"\nX = 0.10  # fault\nMAX_DEPTH = 10\nD = {\n    SubEntityState.SEEKING: 0.5,\n    'supports': 0.20,  # c\n}\n    Y = 4\nZ = compute()\n";
        let v = parse_python(text);
        assert_eq!(v["X"], 0.10);
        assert_eq!(v["MAX_DEPTH"], 10.0);
        assert_eq!(v["D[SubEntityState.SEEKING]"], 0.5);
        assert_eq!(v["D['supports']"], 0.20);
        assert!(!v.contains_key("Y"), "indented lines are not module level");
        assert!(!v.contains_key("Z"));
        assert_eq!(v.len(), 4, "{v:?}");
    }

    #[test]
    fn yaml_number_and_defaults() {
        let y = "steps:\n  - name: explore\n    parameters:\n      timeout_s: 45   # s\n";
        assert_eq!(parse_yaml_number(y, "timeout_s"), Some(45.0));
        let c = Constants::default();
        assert_eq!(c.params().max_depth, 10);
        assert_eq!(c.get("SIBLING_DIVERGENCE_WEIGHT"), 0.10);
    }
}
