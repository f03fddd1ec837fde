//! Every target the config's `tunables` and the proposal templates name, resolved
//! against a tree before any proposal needs it: the file exists inside `allowed_paths`
//! and outside archived code, and the name resolves (a number for a tune, a product
//! for a formula, a function for a document). Each one that does not is reported with
//! the file and line of the config or template that names it.

use super::change::{archived, direction_of};
use super::edit::{self, Format};
use super::formula;
use super::locate;
use super::template::{Candidate, Templates};
use crate::config::{line_of, line_of_item, Config, ProposalType, CONFIG_PATH, DEFAULT_CONFIG};
use crate::git::Git;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeSet;

/// A configured target that does not resolve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unresolved {
    /// The config or templates file that names it, and where.
    pub file: String,
    pub line: usize,
    /// `tunables[3]`, `candidates.timeout-physics[0]`.
    pub field: String,
    /// `runtime/physics/exploration.py ExplorationConfig.timeout_s`.
    pub target: String,
    pub reason: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}: {}",
            self.file, self.line, self.field, self.target, self.reason
        )
    }
}

/// A text and the name it is shown by.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// What was checked, and what did not resolve.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub tunables: usize,
    pub template_targets: usize,
    pub unresolved: Vec<Unresolved>,
}

/// Reads a file of the tree being checked (None: absent).
pub type Read<'a> = &'a dyn Fn(&str) -> Result<Option<String>>;

/// Resolves the config's tunables and the templates' targets against the tree `read`
/// gives. `config` and `templates` name the texts for the lines reported.
pub fn check(
    read: Read,
    cfg: &Config,
    config: Named,
    templates: &Templates,
    templates_src: Named,
) -> Report {
    let mut report = Report::default();
    let allowed = cfg.allowed_matcher();
    for (i, t) in cfg.tunables.iter().enumerate() {
        report.tunables += 1;
        let problem = place(read, &allowed, &t.file)
            .and_then(|src| literal(&src, &t.file, &t.name))
            .err();
        if let Some(reason) = problem {
            report.unresolved.push(Unresolved {
                file: config.name.to_string(),
                line: tunable_line(config.text, &t.name),
                field: format!("tunables[{i}]"),
                target: format!("{} {}", t.file, t.name),
                reason,
            });
        }
    }
    // An anchored list shared by several rules is checked (and reported) once.
    let mut seen = BTreeSet::new();
    for (rule, cands) in &templates.candidates {
        for (i, c) in cands.iter().enumerate() {
            let key = (c.kind, c.target.file.clone(), c.target.name.clone());
            if !seen.insert(key) {
                continue;
            }
            report.template_targets += 1;
            if let Some(reason) = candidate(read, &allowed, cfg, c) {
                report.unresolved.push(Unresolved {
                    file: templates_src.name.to_string(),
                    line: template_line(templates_src.text, rule, c),
                    field: format!("candidates.{rule}[{i}]"),
                    target: format!("{} {}", c.target.file, c.target.name),
                    reason,
                });
            }
        }
    }
    report
}

/// A check of a repository: what was checked and against what.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub report: Report,
    /// The deploy branch and its commit (`main (2ec67fb617e1)`).
    pub tree: String,
    /// Where the templates came from.
    pub templates: String,
}

/// `check` of `cfg` (read from `config`) with the repository's templates, against its
/// deploy branch (HEAD when the branch does not exist yet).
pub fn check_against(git: &Git, cfg: &Config, config: Named) -> Result<Checked> {
    let (templates, tname, ttext) = Templates::source_for_repo(git, cfg)?;
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .or(git.ref_oid("HEAD").ok().flatten());
    let read = |path: &str| -> Result<Option<String>> {
        let Some(tip) = tip else { return Ok(None) };
        Ok(git
            .read_file(tip, path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    let report = check(
        &read,
        cfg,
        config,
        &templates,
        Named {
            name: &tname,
            text: &ttext,
        },
    );
    let tree = match tip {
        Some(t) => format!("{} ({})", cfg.deploy_branch, &t.to_string()[..12]),
        None => format!("{} (no commits)", cfg.deploy_branch),
    };
    Ok(Checked {
        report,
        tree,
        templates: tname,
    })
}

/// `check` for a repository: its config (as committed on the deploy branch, else the
/// working tree's file, else the built-in one) and templates, against its deploy branch.
pub fn check_repo(git: &Git, cfg: &Config) -> Result<Report> {
    let wt = git.root().join(CONFIG_PATH);
    let (name, text) = if let Some(t) = cfg.deploy_file(git, CONFIG_PATH)? {
        (format!("{CONFIG_PATH} (on {})", cfg.deploy_branch), t)
    } else if wt.exists() {
        (CONFIG_PATH.to_string(), std::fs::read_to_string(&wt)?)
    } else {
        ("<built-in config>".to_string(), DEFAULT_CONFIG.to_string())
    };
    let named = Named {
        name: &name,
        text: &text,
    };
    Ok(check_against(git, cfg, named)?.report)
}

/// The file's text when it is a place a proposal may change, else why not.
fn place(read: Read, allowed: &globset::GlobSet, file: &str) -> Result<String, String> {
    if archived(file) {
        return Err(format!(
            "{file} is archived code: nothing runs it, so tuning it changes nothing"
        ));
    }
    if !allowed.is_match(file) {
        return Err(format!("{file} is outside allowed_paths"));
    }
    match read(file) {
        Ok(Some(src)) => Ok(src),
        Ok(None) => Err(format!("{file} does not exist")),
        Err(e) => Err(format!("{file}: {e:#}")),
    }
}

/// A number the editors can tune at `name`, or why not.
fn literal(src: &str, file: &str, name: &str) -> Result<(), String> {
    let format =
        Format::from_path(file).ok_or_else(|| format!("{file}: no editor for this file type"))?;
    let lit = edit::find_in(format, file, src, name).map_err(|e| format!("{e:#}"))?;
    if lit.value.as_f64().is_none() {
        return Err(format!(
            "{file}:{}: `{name}` is {}, not a number",
            lit.line, lit.text
        ));
    }
    Ok(())
}

/// Why a template candidate cannot be proposed on this tree, if it cannot.
fn candidate(
    read: Read,
    allowed: &globset::GlobSet,
    cfg: &Config,
    c: &Candidate,
) -> Option<String> {
    let (file, name) = (&c.target.file, &c.target.name);
    match (c.kind, &c.formula) {
        (ProposalType::ConstantTune | ProposalType::ProtocolUpdate, _) => {
            let src = match place(read, allowed, file) {
                Ok(s) => s,
                Err(e) => return Some(e),
            };
            if let Err(e) = literal(&src, file, name) {
                return Some(e);
            }
            let only = cfg.bound(file, name).and_then(|b| b.direction);
            match only {
                Some(d) if d != direction_of(c) => Some(format!(
                    "the template moves it to {}, but tunables allow only {}",
                    direction_of(c).as_str(),
                    d.as_str()
                )),
                _ => None,
            }
        }
        (ProposalType::FormulaChange, Some(f)) => {
            let src = match place(read, allowed, file) {
                Ok(s) => s,
                Err(e) => return Some(e),
            };
            formula::link_score_exponent(file, &src, &f.factor, f.exponent)
                .err()
                .map(|e| format!("{e:#}"))
        }
        (ProposalType::SkillImprove, _) => place(read, allowed, file).err(),
        _ => {
            if !allowed.is_match("docs/improve/P-0001.md") {
                return Some(
                    "documents go to docs/improve/, which is outside allowed_paths".into(),
                );
            }
            if c.change.as_deref().is_none_or(|t| t.trim().is_empty()) {
                return Some("a document must say what to change (`change`)".into());
            }
            let src = match read(file) {
                Ok(Some(s)) => s,
                Ok(None) => return Some(format!("{file} does not exist")),
                Err(e) => return Some(format!("{file}: {e:#}")),
            };
            if file.ends_with(".py") {
                locate::definition(&src, name, file)
                    .err()
                    .map(|e| format!("{e:#}"))
            } else {
                None
            }
        }
    }
}

/// The line of the tunable called `name` (`name: X` or `name: "X"`).
fn tunable_line(text: &str, name: &str) -> usize {
    let plain = line_of_item(text, "tunables", &format!("name: {name}"));
    let quoted = line_of_item(text, "tunables", &format!("name: \"{name}\""));
    let start = line_of(text, "tunables");
    if plain != start {
        plain
    } else {
        quoted
    }
}

/// The line of the template that names `c` (file and name on one line), else the
/// rule's line.
fn template_line(text: &str, rule: &str, c: &Candidate) -> usize {
    let file = &c.target.file;
    let name = &c.target.name;
    let rule_line = line_of(text, &format!("candidates.{rule}"));
    let lines: Vec<&str> = text.lines().collect();
    let hit = |from: usize| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, l)| {
                l.contains(&format!("file: {file}"))
                    && (l.contains(&format!("name: {name}}}"))
                        || l.contains(&format!("name: {name},"))
                        || l.contains(&format!("name: \"{name}\"")))
            })
            .map(|(i, _)| i + 1)
    };
    hit(rule_line.saturating_sub(1))
        .or_else(|| hit(0))
        .unwrap_or(rule_line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    const CONFIG: &str = "allowed_paths: [\"sys/*.py\", \"docs/improve/**\"]\ntunables:\n  - {file: sys/a.py, name: A, max_step: 0.2}\n  - {file: sys/a.py, name: Conf.limit, direction: increase}\n  - {file: sys/archive/old.py, name: B}\n  - {file: sys/a.py, name: NAME}\n  - {file: other/x.py, name: X}\n";

    const TEMPLATES: &str = "candidates:\n  r1:\n    - {type: constant_tune, target: {file: sys/a.py, name: Conf.limit}, direction: decrease, step: 0.2, risk: low, complexity: 1}\n    - {type: behavior_fix, target: {file: sys/a.py, name: Conf.run}, risk: medium, complexity: 3, change: \"do it\"}\n  r2:\n    - {type: behavior_fix, target: {file: sys/a.py, name: Conf.missing}, risk: medium, complexity: 3, change: \"do it\"}\n    - {type: formula_change, target: {file: sys/a.py, name: s}, formula: {factor: sibling_divergence, exponent: 1.5}, risk: medium, complexity: 2}\n";

    #[test]
    fn unresolved_targets_are_named_with_config_and_template_lines() {
        let files = tree(&[(
            "sys/a.py",
            "A = 0.5\nNAME = 'x'\n\n\nclass Conf:\n    limit: float = 30.0\n\n    def run(self):\n        pass\n",
        )]);
        let read = |p: &str| -> Result<Option<String>> { Ok(files.get(p).cloned()) };
        let cfg = Config::parse(CONFIG, std::path::Path::new("c.yaml")).unwrap();
        let templates = Templates::parse(TEMPLATES, "t.yaml").unwrap();
        let r = check(
            &read,
            &cfg,
            Named {
                name: "c.yaml",
                text: CONFIG,
            },
            &templates,
            Named {
                name: "t.yaml",
                text: TEMPLATES,
            },
        );
        assert_eq!((r.tunables, r.template_targets), (5, 4));
        let got: Vec<String> = r.unresolved.iter().map(|u| u.to_string()).collect();
        assert_eq!(got.len(), 6, "{got:#?}");
        assert!(
            got[0].starts_with(
                "c.yaml:5: tunables[2]: sys/archive/old.py B: sys/archive/old.py is archived code"
            ),
            "{}",
            got[0]
        );
        assert!(
            got[1].starts_with(
                "c.yaml:6: tunables[3]: sys/a.py NAME: sys/a.py:2: `NAME` is 'x', not a number"
            ),
            "{}",
            got[1]
        );
        assert!(
            got[2].starts_with(
                "c.yaml:7: tunables[4]: other/x.py X: other/x.py is outside allowed_paths"
            ),
            "{}",
            got[2]
        );
        assert!(got[3].starts_with("t.yaml:3: candidates.r1[0]: sys/a.py Conf.limit: the template moves it to decrease, but tunables allow only increase"), "{}", got[3]);
        assert!(
            got[4].starts_with(
                "t.yaml:6: candidates.r2[0]: sys/a.py Conf.missing: sys/a.py: no `Conf.missing`"
            ),
            "{}",
            got[4]
        );
        assert!(got[5].starts_with("t.yaml:7: candidates.r2[1]: sys/a.py s: sys/a.py: no product has `sibling_divergence`"), "{}", got[5]);
    }
}
