//! The change one template candidate makes to the deploy branch's tree: a tuned
//! literal (bounded, in the direction the config allows), a formula change with its
//! real diff (or, once its constant exists, a tune of that constant), a guidance
//! section, or a document about a named function at its line. Every error names the
//! file and line it is about.

use super::edit::{self, markdown, Format, Value};
use super::formula::{self, FormulaEdit, MAX_EXPONENT};
use super::locate;
use super::render::{code_span, escape_md};
use super::template::{Candidate, Templates};
use crate::clock::Timestamp;
use crate::config::{Config, ProposalType, TunableBound, TuneDirection};
use crate::diagnose::Pattern;
use crate::git::Git;
use crate::store::library::Library;
use crate::store::proposals::{Proposal, Target};
use crate::vocab::ValidationMode;
use anyhow::{bail, Context, Result};
use git2::Oid;
use std::collections::BTreeMap;

/// What drafting a proposal reads: the deploy branch's tree, config, templates, the
/// library and the proposals already on record.
pub struct Inputs<'a> {
    pub git: &'a Git,
    pub deploy_tip: Oid,
    pub cfg: &'a Config,
    pub templates: &'a Templates,
    pub library: &'a Library,
    pub existing: &'a [Proposal],
    pub now: Timestamp,
    pub cycle: &'a str,
}

/// A proposal document's own parts (the rest comes from the proposal).
#[derive(Debug, Clone)]
pub struct Doc {
    /// "a formula", "the system's behaviour", "the graph's content".
    pub what: &'static str,
    /// The function and line it is about, markdown.
    pub about: String,
    /// What to change, markdown.
    pub change: String,
}

/// The change a candidate makes.
#[derive(Debug, Clone)]
pub struct Made {
    pub kind: ProposalType,
    pub target: Target,
    pub summary: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub title: String,
    /// New contents by path (None: deleted).
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    /// The document a human completes, for document proposals.
    pub doc: Option<Doc>,
    /// A validation mode the change calls for (the decision replay for a formula).
    pub validation: Option<ValidationMode>,
    /// Sentences for the rationale.
    pub notes: Vec<String>,
}

/// Refuses paths outside `allowed_paths`, escaping the repository, or through symlinks.
pub fn check_path(ctx: &Inputs, path: &str) -> Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        bail!("{path:?} is not a plain path inside the repository");
    }
    if path.starts_with(".git/") || path == ".git" {
        bail!("{path:?} is inside .git");
    }
    if archived(path) {
        bail!("{path} is archived code: nothing runs it, so changing it changes nothing");
    }
    if !ctx.cfg.allowed_matcher().is_match(path) {
        bail!("{path} is outside allowed_paths");
    }
    if ctx.git.is_symlink(ctx.deploy_tip, path)? {
        bail!("{path} is (or goes through) a symbolic link");
    }
    Ok(())
}

/// Code kept for reference in an `archive` directory (mind's
/// `runtime/physics/archive/`): never a target.
pub fn archived(path: &str) -> bool {
    path.rsplit_once('/')
        .is_some_and(|(dir, _)| dir.split('/').any(|c| c == "archive"))
}

pub fn read_text(ctx: &Inputs, path: &str) -> Result<Option<String>> {
    match ctx.git.read_file(ctx.deploy_tip, path)? {
        Some(b) => Ok(Some(
            String::from_utf8(b).with_context(|| format!("{path} is not UTF-8"))?,
        )),
        None => Ok(None),
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Which way a candidate moves its number.
pub fn direction_of(cand: &Candidate) -> TuneDirection {
    if cand.direction.as_deref() == Some("decrease") {
        TuneDirection::Decrease
    } else {
        TuneDirection::Increase
    }
}

/// The new value of a tune: a relative step in the candidate's direction, within
/// `bound` (min, max, max step); integers stay integers, fractions stay in [0, 1]. None
/// when the value is at its bound.
pub fn tuned_value(cand: &Candidate, bound: Option<&TunableBound>, old: &Value) -> Option<f64> {
    let o = as_f64(old)?;
    let step = cand.step.unwrap_or(0.2).abs();
    let max_step = bound.map(|b| b.max_step).unwrap_or(0.2).abs();
    let rel = step.min(max_step);
    let up = direction_of(cand) == TuneDirection::Increase;
    let delta = if o == 0.0 { rel } else { o.abs() * rel };
    let mut new = if up { o + delta } else { o - delta };
    if let Some(b) = bound {
        if let Some(lo) = b.min {
            new = new.max(lo);
        }
        if let Some(hi) = b.max {
            new = new.min(hi);
        }
    } else if (0.0..=1.0).contains(&o) && matches!(old, Value::Float(_)) {
        new = new.clamp(0.0, 1.0);
    }
    if matches!(old, Value::Int(_)) {
        new = if up { new.floor() } else { new.ceil() };
        if new == o {
            new = if up { o + 1.0 } else { o - 1.0 };
            if let Some(b) = bound {
                if b.min.is_some_and(|lo| new < lo) || b.max.is_some_and(|hi| new > hi) {
                    return None;
                }
            }
        }
    } else {
        new = (new * 1e6).round() / 1e6;
    }
    if (new - o).abs() < 1e-12 || !new.is_finite() {
        return None;
    }
    Some(new)
}

/// The change `cand` makes for `pat`, or None when there is nothing to change (a value
/// at its bound, a section already there).
pub fn make(pat: &Pattern, cand: &Candidate, ctx: &Inputs, id: &str) -> Result<Option<Made>> {
    match (cand.kind, &cand.formula) {
        (ProposalType::ConstantTune | ProposalType::ProtocolUpdate, _) => {
            let bound = ctx.cfg.bound(&cand.target.file, &cand.target.name).cloned();
            tune(pat, cand, ctx, id, &cand.target, bound)
        }
        (ProposalType::FormulaChange, Some(_)) => formula_change(pat, cand, ctx, id),
        (ProposalType::SkillImprove, _) => skill(pat, cand, ctx, id),
        _ => document(pat, cand, ctx, id),
    }
}

/// One literal, one step.
fn tune(
    pat: &Pattern,
    cand: &Candidate,
    ctx: &Inputs,
    id: &str,
    target: &Target,
    bound: Option<TunableBound>,
) -> Result<Option<Made>> {
    let (file, name) = (&target.file, &target.name);
    check_path(ctx, file)?;
    let Some(src) = read_text(ctx, file)? else {
        bail!("{file} does not exist");
    };
    let format =
        Format::from_path(file).with_context(|| format!("{file}: no editor for this file type"))?;
    let lit = edit::find_in(format, file, &src, name)?;
    let want = direction_of(cand);
    if let Some(only) = bound.as_ref().and_then(|b| b.direction) {
        if only != want {
            bail!(
                "{file}:{}: `{name}` may only {} (tunables), the template asks to {}",
                lit.line,
                only.as_str(),
                want.as_str()
            );
        }
    }
    let Some(new) = tuned_value(cand, bound.as_ref(), &lit.value) else {
        return Ok(None);
    };
    let (new_src, _old) = edit::tune_in(format, file, &src, name, new)?;
    let new_lit = edit::find_in(format, file, &new_src, name)?;
    let mut files = BTreeMap::new();
    files.insert(file.clone(), Some(new_src.into_bytes()));
    Ok(Some(Made {
        kind: cand.kind,
        target: target.clone(),
        summary: format!("{name} in {file}: {} -> {}", lit.text, new_lit.text),
        old_value: Some(lit.text.clone()),
        new_value: Some(new_lit.text.clone()),
        title: format!(
            "{id}: {} {name} to {} ({})",
            want.as_str(),
            new_lit.text,
            pat.subject
        ),
        files,
        doc: None,
        validation: None,
        notes: cand
            .note
            .iter()
            .cloned()
            .chain([format!("The value is at {file}:{}.", lit.line)])
            .collect(),
    }))
}

/// Raises a factor of the link score to a new constant; once the constant exists, tunes
/// it (bounded by `tunables` or [1, MAX_EXPONENT]). Both are validated by the decision
/// replay.
fn formula_change(pat: &Pattern, cand: &Candidate, ctx: &Inputs, id: &str) -> Result<Option<Made>> {
    let spec = cand.formula.as_ref().context("no formula")?;
    let file = &cand.target.file;
    check_path(ctx, file)?;
    let Some(src) = read_text(ctx, file)? else {
        bail!("{file} does not exist");
    };
    match formula::link_score_exponent(file, &src, &spec.factor, spec.exponent)? {
        FormulaEdit::Added(a) => {
            let mut files = BTreeMap::new();
            files.insert(file.clone(), Some(a.text.clone().into_bytes()));
            let mut notes: Vec<String> = cand.note.iter().cloned().collect();
            notes.push(format!(
                "The factor `{}` of the product at {file}:{} becomes `{}`, with {} = {} introduced at line {}, so later cycles can tune it like any constant.",
                a.before, a.product_line, a.after, a.constant, spec.exponent, a.constant_line
            ));
            Ok(Some(Made {
                kind: ProposalType::FormulaChange,
                target: cand.key(),
                summary: format!(
                    "link score in {file}:{}: {} -> {} ({} = {})",
                    a.product_line, a.before, a.after, a.constant, spec.exponent
                ),
                old_value: None,
                new_value: Some(format!("{}", spec.exponent)),
                title: format!(
                    "{id}: formula_change — weigh {} more in the link score ({})",
                    spec.factor, pat.subject
                ),
                files,
                doc: None,
                validation: Some(ValidationMode::Shadow),
                notes,
            }))
        }
        FormulaEdit::Exists { constant, .. } => {
            let bound = ctx
                .cfg
                .bound(file, &constant)
                .cloned()
                .unwrap_or(TunableBound {
                    file: file.clone(),
                    name: constant.clone(),
                    min: Some(1.0),
                    max: Some(MAX_EXPONENT),
                    max_step: cand.step.unwrap_or(0.5).abs().max(0.01),
                    direction: None,
                });
            let tune_cand = Candidate {
                kind: ProposalType::ConstantTune,
                direction: Some("increase".into()),
                step: Some(cand.step.unwrap_or(0.5)),
                ..cand.clone()
            };
            let target = cand.key();
            let made = tune(pat, &tune_cand, ctx, id, &target, Some(bound))?;
            Ok(made.map(|mut m| {
                m.validation = Some(ValidationMode::Shadow);
                m.notes.push(format!(
                    "{constant} already weighs {} in the link score; this raises it further.",
                    spec.factor
                ));
                m
            }))
        }
    }
}

/// A guidance section in a skill, quoting the evidence; mirrored into `.claude/skills/`
/// when mind keeps the same skill there.
fn skill(pat: &Pattern, cand: &Candidate, ctx: &Inputs, id: &str) -> Result<Option<Made>> {
    let (file, name) = (&cand.target.file, &cand.target.name);
    check_path(ctx, file)?;
    let quoted: Vec<String> = pat
        .evidence
        .iter()
        .take(5)
        .map(|e| e.detail.clone())
        .filter(|d| !d.is_empty())
        .collect();
    let body = format!(
        "Agents hit `{}` repeatedly ({} times). {}\n\nBefore choosing a tool, check what the task needs and prefer the tool whose inputs you already have; on an error, read it before retrying.",
        pat.subject, pat.occurrences, pat.explanation
    );
    let mut paths = vec![file.clone()];
    if let Some(rest) = file.strip_prefix(".mind/skills/") {
        let mirror = format!(".claude/skills/{rest}");
        if read_text(ctx, &mirror)?.is_some() && check_path(ctx, &mirror).is_ok() {
            paths.push(mirror);
        }
    }
    let mut files = BTreeMap::new();
    for path in &paths {
        let src = read_text(ctx, path)?.unwrap_or_default();
        let new_src = markdown::upsert_section(&src, name, &body, &quoted);
        if new_src != src {
            files.insert(path.clone(), Some(new_src.into_bytes()));
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    Ok(Some(Made {
        kind: cand.kind,
        target: cand.target.clone(),
        summary: format!(
            "add guidance section \"{name}\" to {}",
            files.keys().cloned().collect::<Vec<_>>().join(" and ")
        ),
        old_value: None,
        new_value: None,
        title: format!("{id}: improve {file} ({})", pat.subject),
        files,
        doc: None,
        validation: None,
        notes: cand.note.iter().cloned().collect(),
    }))
}

/// Calls outside the definition are searched for in the target's directory (archived
/// code below it is not read).
const MAX_CALLS: usize = 8;

/// A document about the function the candidate names, at its line, with what to change.
fn document(pat: &Pattern, cand: &Candidate, ctx: &Inputs, id: &str) -> Result<Option<Made>> {
    let (file, name) = (&cand.target.file, &cand.target.name);
    let doc_path = format!("docs/improve/{id}.md");
    check_path(ctx, &doc_path)?;
    let Some(src) = read_text(ctx, file)? else {
        bail!("{file} does not exist: a document must point at the code it is about");
    };
    let Some(change) = cand.change.as_deref().filter(|c| !c.trim().is_empty()) else {
        bail!("the template for {file} {name} does not say what to change (`change`)");
    };
    let mut about = String::new();
    if file.ends_with(".py") {
        let d = locate::definition(&src, name, file)?;
        about.push_str(&format!(
            "{} at {}:\n\n    {}\n",
            code_span(name),
            code_span(&format!("{file}:{}", d.line)),
            d.header
        ));
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        let mut calls = vec![];
        for f in ctx.git.list_dir(ctx.deploy_tip, dir)? {
            let path = if dir.is_empty() {
                f
            } else {
                format!("{dir}/{f}")
            };
            if !path.ends_with(".py") {
                continue;
            }
            if let Some(text) = read_text(ctx, &path)? {
                calls.extend(locate::calls(&text, name, &path));
            }
        }
        if calls.is_empty() {
            about.push_str(&format!("\nNothing in {} calls it.\n", code_span(dir)));
        } else {
            about.push_str("\nCalled from:\n");
            for c in calls.iter().take(MAX_CALLS) {
                about.push_str(&format!(
                    "- {} in {}\n",
                    code_span(&format!("{}:{}", c.file, c.line)),
                    code_span(&c.within)
                ));
            }
            if calls.len() > MAX_CALLS {
                about.push_str(&format!("- … and {} more\n", calls.len() - MAX_CALLS));
            }
        }
    } else {
        about.push_str(&format!("{} in {}\n", code_span(name), code_span(file)));
    }
    let what = match cand.kind {
        ProposalType::FormulaChange => "a formula",
        ProposalType::GraphContent => "the graph's content",
        _ => "the system's behaviour",
    };
    let mut change_md = escape_md(change);
    if let Some(first) = pat.evidence.iter().find(|e| !e.detail.is_empty()) {
        change_md.push_str(&format!(
            "\n\nThe evidence this answers, first of {}: {} ({}).",
            pat.evidence.len(),
            escape_md(&first.detail),
            code_span(&if first.line > 0 {
                format!("{}:{}", first.file, first.line)
            } else {
                first.file.clone()
            })
        ));
    }
    Ok(Some(Made {
        kind: cand.kind,
        target: cand.target.clone(),
        summary: format!("proposal document {doc_path}: change {name} in {file}"),
        old_value: None,
        new_value: None,
        title: format!("{id}: {} — {name} ({})", cand.kind.as_str(), pat.subject),
        files: BTreeMap::new(),
        doc: Some(Doc {
            what,
            about,
            change: change_md,
        }),
        validation: None,
        notes: cand.note.iter().cloned().collect(),
    }))
}
