//! The mind traversal format (formats/traversal.md): event and step lines, old and new
//! layouts, reduced per exploration to the metrics the system's own doctor computes
//! (efficiency, satisfaction velocity, sibling divergence, semantic quality, backtrack
//! rate) so the tool's findings and the doctor's agree.

use super::agg::{hash_parts, Agg};
use super::json::{self, JErr, Schema, Slot, Span};
use super::reader::Flow;
use super::window::{Limits, LineErr, When, TOO_FAR_AHEAD};
use super::Evidence;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hasher (FxHash): the keys are node hashes and exploration ids of
/// the file being read, and the log paths of the repository, not attacker-chosen map
/// keys worth SipHash's cost per line.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);
impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}
pub(crate) type FxBuild = BuildHasherDefault<Fx>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum C {
    Top,
    Header,
    State,
    Position,
    Decision,
    Candidate,
    Components,
    Movement,
    From,
    To,
    Findings,
    Anomaly,
    Termination,
    Energy,
    /// `branching_event` / `merge_event`: newer producers nest event details.
    Nested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum F {
    Event,
    Variant,
    Ts,
    ExpId,
    Before,
    After,
    Sat,
    PosNode,
    PosType,
    DecType,
    CSd,
    CSem,
    CVerdict,
    MvFrom,
    MvTo,
    FoundCount,
    FoundNarr,
    AType,
    ASev,
    ADetail,
    TReason,
    TSat,
    TSteps,
    TDur,
    EndFound,
    DurTop,
    StepsTop,
    SatTop,
    EAmount,
    EReason,
    Children,
    NTs,
    NExpId,
}

#[derive(Debug, Default, Clone, Copy)]
struct Anom {
    ty: Option<Span>,
    sev: Option<Span>,
    detail: Option<Span>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Cand {
    sd: Option<f64>,
    sem: Option<f64>,
    selected: bool,
}

/// The fields of one line that the metrics need (reset per line, reused).
#[derive(Debug, Default)]
pub struct TLine {
    header: bool,
    event: Option<Span>,
    variant: Option<Span>,
    ts: Option<Span>,
    exp_id: Option<Span>,
    before: Option<Span>,
    after: Option<Span>,
    sat: Option<f64>,
    pos_node: Option<Span>,
    pos_type: Option<Span>,
    dec_type: Option<Span>,
    sd_sum: f64,
    sd_n: u64,
    sem_sum: f64,
    sem_n: u64,
    cand: Cand,
    mv_from: Option<Span>,
    mv_to: Option<Span>,
    found_count: Option<f64>,
    found_narr: Option<f64>,
    anoms: Vec<Anom>,
    anom: Anom,
    t_reason: Option<Span>,
    t_sat: Option<f64>,
    t_steps: Option<f64>,
    t_dur: Option<f64>,
    end_found: Option<f64>,
    dur_top: Option<f64>,
    steps_top: Option<f64>,
    sat_top: Option<f64>,
    e_amount: Option<f64>,
    e_reason: Option<Span>,
    children: Option<f64>,
    n_ts: Option<Span>,
    n_exp: Option<Span>,
}

impl TLine {
    fn reset(&mut self) {
        let anoms = std::mem::take(&mut self.anoms);
        *self = TLine::default();
        self.anoms = anoms;
        self.anoms.clear();
    }
}

impl Schema for TLine {
    type Ctx = C;
    type Field = F;

    #[inline]
    fn key(&mut self, ctx: C, k: &[u8]) -> Slot<C, F> {
        use Slot::*;
        match ctx {
            C::Top => match k {
                b"header" => Obj(C::Header),
                b"state" => Obj(C::State),
                b"decision" => Obj(C::Decision),
                b"movement" => Obj(C::Movement),
                b"findings" => Obj(C::Findings),
                b"anomalies" => ArrOf(C::Anomaly),
                b"event" => Str(F::Event),
                b"variant" => Str(F::Variant),
                b"timestamp" => Str(F::Ts),
                b"exploration_id" => Str(F::ExpId),
                b"termination" => Obj(C::Termination),
                b"found_narratives" => Count(F::EndFound),
                b"duration_ms" => Num(F::DurTop),
                b"total_steps" => Num(F::StepsTop),
                b"satisfaction" => Num(F::SatTop),
                b"energy_injection" => Obj(C::Energy),
                b"children" => Count(F::Children),
                b"branching_event" | b"merge_event" => Obj(C::Nested),
                _ => Skip,
            },
            C::Header => match k {
                b"timestamp" => Str(F::Ts),
                b"exploration_id" => Str(F::ExpId),
                _ => Skip,
            },
            C::State => match k {
                b"before" => Str(F::Before),
                b"after" => Str(F::After),
                b"satisfaction" => Num(F::Sat),
                b"position" => Obj(C::Position),
                _ => Skip,
            },
            C::Position => match k {
                b"node_id" => Str(F::PosNode),
                b"node_type" => Str(F::PosType),
                _ => Skip,
            },
            C::Decision => match k {
                b"type" => Str(F::DecType),
                b"candidates" => ArrOf(C::Candidate),
                _ => Skip,
            },
            C::Candidate | C::Components => match k {
                b"sibling_divergence" => Num(F::CSd),
                b"semantic" => Num(F::CSem),
                b"verdict" if ctx == C::Candidate => Str(F::CVerdict),
                b"components" if ctx == C::Candidate => Obj(C::Components),
                _ => Skip,
            },
            C::Movement => match k {
                b"from" => Obj(C::From),
                b"to" => Obj(C::To),
                _ => Skip,
            },
            C::From => match k {
                b"node_id" => Str(F::MvFrom),
                _ => Skip,
            },
            C::To => match k {
                b"node_id" => Str(F::MvTo),
                _ => Skip,
            },
            C::Findings => match k {
                b"found_count" => Num(F::FoundCount),
                b"found_narratives" => Count(F::FoundNarr),
                _ => Skip,
            },
            C::Anomaly => match k {
                b"type" => Str(F::AType),
                b"severity" => Str(F::ASev),
                b"detail" => Str(F::ADetail),
                _ => Skip,
            },
            C::Termination => match k {
                b"reason" => Str(F::TReason),
                b"final_satisfaction" => Num(F::TSat),
                b"steps_taken" => Num(F::TSteps),
                b"duration_ms" => Num(F::TDur),
                _ => Skip,
            },
            C::Energy => match k {
                b"amount" => Num(F::EAmount),
                b"reason" => Str(F::EReason),
                _ => Skip,
            },
            C::Nested => match k {
                b"timestamp" => Str(F::NTs),
                b"exploration_id" => Str(F::NExpId),
                b"children" => Count(F::Children),
                _ => Skip,
            },
        }
    }

    fn name(&self, f: F) -> &'static str {
        match f {
            F::Event => "event",
            F::Variant => "variant",
            F::Ts => "timestamp",
            F::ExpId => "exploration_id",
            F::Before => "state.before",
            F::After => "state.after",
            F::Sat => "state.satisfaction",
            F::PosNode => "state.position.node_id",
            F::PosType => "state.position.node_type",
            F::DecType => "decision.type",
            F::CSd => "candidate sibling_divergence",
            F::CSem => "candidate semantic",
            F::CVerdict => "candidate verdict",
            F::MvFrom => "movement.from.node_id",
            F::MvTo => "movement.to.node_id",
            F::FoundCount => "findings.found_count",
            F::FoundNarr => "findings.found_narratives",
            F::AType => "anomaly type",
            F::ASev => "anomaly severity",
            F::ADetail => "anomaly detail",
            F::TReason => "termination.reason",
            F::TSat => "termination.final_satisfaction",
            F::TSteps => "termination.steps_taken",
            F::TDur => "termination.duration_ms",
            F::EndFound => "found_narratives",
            F::DurTop => "duration_ms",
            F::StepsTop => "total_steps",
            F::SatTop => "satisfaction",
            F::EAmount => "energy_injection.amount",
            F::EReason => "energy_injection.reason",
            F::Children => "children",
            F::NTs => "timestamp",
            F::NExpId => "exploration_id",
        }
    }

    #[inline]
    fn str(&mut self, f: F, s: Span, raw: &[u8]) {
        let slot = match f {
            F::Event => &mut self.event,
            F::Variant => &mut self.variant,
            F::Ts => &mut self.ts,
            F::ExpId => &mut self.exp_id,
            F::Before => &mut self.before,
            F::After => &mut self.after,
            F::PosNode => &mut self.pos_node,
            F::PosType => &mut self.pos_type,
            F::DecType => &mut self.dec_type,
            F::CVerdict => {
                self.cand.selected = raw == b"SELECTED";
                return;
            }
            F::MvFrom => &mut self.mv_from,
            F::MvTo => &mut self.mv_to,
            F::AType => &mut self.anom.ty,
            F::ASev => &mut self.anom.sev,
            F::ADetail => &mut self.anom.detail,
            F::TReason => &mut self.t_reason,
            F::EReason => &mut self.e_reason,
            F::NTs => &mut self.n_ts,
            F::NExpId => &mut self.n_exp,
            _ => return,
        };
        *slot = Some(s);
    }

    #[inline]
    fn num(&mut self, f: F, v: f64) {
        let slot = match f {
            F::Sat => &mut self.sat,
            F::CSd => &mut self.cand.sd,
            F::CSem => &mut self.cand.sem,
            F::FoundCount => &mut self.found_count,
            F::FoundNarr => &mut self.found_narr,
            F::TSat => &mut self.t_sat,
            F::TSteps => &mut self.t_steps,
            F::TDur => &mut self.t_dur,
            F::EndFound => &mut self.end_found,
            F::DurTop => &mut self.dur_top,
            F::StepsTop => &mut self.steps_top,
            F::SatTop => &mut self.sat_top,
            F::EAmount => &mut self.e_amount,
            F::Children => &mut self.children,
            _ => return,
        };
        *slot = Some(v);
    }

    fn begin(&mut self, ctx: C) {
        match ctx {
            C::Header => self.header = true,
            C::Candidate => self.cand = Cand::default(),
            C::Anomaly => self.anom = Anom::default(),
            _ => {}
        }
    }

    fn end(&mut self, ctx: C) {
        match ctx {
            C::Candidate => {
                if let Some(sd) = self.cand.sd.filter(|v| *v > 0.0) {
                    self.sd_sum += sd;
                    self.sd_n += 1;
                }
                if let (true, Some(sem)) = (self.cand.selected, self.cand.sem) {
                    self.sem_sum += sem;
                    self.sem_n += 1;
                }
            }
            C::Anomaly => self.anoms.push(self.anom),
            _ => {}
        }
    }
}

/// One exploration's running state within one read of one file.
#[derive(Debug, Default)]
struct Exp {
    id: String,
    variant: Option<String>,
    step_lines: u64,
    first_sat: Option<f64>,
    last_sat: Option<f64>,
    last_found: Option<f64>,
    sd: (f64, u64),
    sem: (f64, u64),
    backtracks: u64,
    visited: HashSet<u64, FxBuild>,
    anomalies: u64,
    anomaly_types: Vec<String>,
    ended: bool,
    reason: Option<String>,
    final_sat: Option<f64>,
    steps_taken: Option<f64>,
    duration: Option<f64>,
    end_found: Option<f64>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    last_line: u64,
}

/// Decodes the traversal lines of one file and folds them into an `Agg`.
pub struct Traversal<'f> {
    file: &'f str,
    limits: Limits,
    line: TLine,
    exps: HashMap<Vec<u8>, Exp, FxBuild>,
    /// The last line decoded was a valid EXPLORATION_END (in the window or not).
    ended: bool,
}

fn node_hash(b: &[u8]) -> u64 {
    hash_parts(&[b], 0)
}

impl<'f> Traversal<'f> {
    pub fn new(file: &'f str, limits: Limits) -> Self {
        Traversal {
            file,
            limits,
            line: TLine::default(),
            exps: HashMap::default(),
            ended: false,
        }
    }

    /// Decodes one UTF-8-valid line; `Flow::Hold` leaves it (and the rest of the file)
    /// for a later cycle, with nothing of it counted.
    pub fn line(&mut self, agg: &mut Agg, n: u64, b: &[u8]) -> Flow {
        self.line.reset();
        self.ended = false;
        if let Err(e) = json::scan(b, C::Top, &mut self.line) {
            agg.skip(self.file, n, e.to_string());
            return Flow::Go;
        }
        let ends = self
            .line
            .event
            .is_some_and(|e| e.raw(b) == b"EXPLORATION_END");
        match self.apply(agg, n, b) {
            Ok(()) => {}
            Err(LineErr::Hold) => return Flow::Hold,
            Err(LineErr::Skip(e)) => agg.skip(self.file, n, e),
        }
        self.ended = ends;
        Flow::Go
    }

    fn apply(&mut self, agg: &mut Agg, n: u64, b: &[u8]) -> Result<(), LineErr> {
        let l = &self.line;
        if l.event.is_none() && !l.header {
            // Valid JSON of another shape (e.g. traversal_index.jsonl summaries).
            agg.count("lines_ignored", 1);
            return Ok(());
        }
        let ts_span = l.ts.or(l.n_ts).ok_or("missing timestamp")?;
        let ts = ts_span.text(b);
        let ms = match self.limits.judge(&ts) {
            When::In(ms) => ms,
            When::Late(ms) => {
                agg.count("late_lines", 1);
                ms
            }
            When::Before => {
                agg.count("outside_window", 1);
                return Ok(());
            }
            When::Hold => return Err(LineErr::Hold),
            When::Future => return Err(TOO_FAR_AHEAD.into()),
            When::Invalid => return Err(format!("invalid timestamp {ts:?}").into()),
        };
        agg.count("lines_used", 1);
        agg.seen_ts(ms, &ts);
        let id_span = l.exp_id.or(l.n_exp);
        let id_raw = id_span.map(|s| s.raw(b)).unwrap_or(b"");
        let exp = match self.exps.get_mut(id_raw) {
            Some(e) => e,
            None => {
                let id = id_span.map(|s| s.text(b).into_owned()).unwrap_or_default();
                self.exps.entry(id_raw.to_vec()).or_insert(Exp {
                    id,
                    ..Exp::default()
                })
            }
        };
        exp.first_ms = Some(exp.first_ms.map_or(ms, |f| f.min(ms)));
        exp.last_ms = Some(exp.last_ms.map_or(ms, |f| f.max(ms)));
        exp.last_line = n;
        if exp.variant.is_none() {
            if let Some(v) = l.variant {
                exp.variant = Some(v.text(b).into_owned());
            }
        }
        if let Some(ev) = l.event {
            let name = ev.text(b);
            agg.count(&format!("event:{name}"), 1);
            match &*name {
                "BRANCH" => agg.count("branch_children", l.children.unwrap_or(0.0) as u64),
                "ENERGY_INJECTION" => {
                    if let Some(a) = l.e_amount {
                        agg.mean("energy_amount", a);
                    }
                    if let Some(r) = l.e_reason {
                        agg.count(&format!("energy_injection:{}", r.text(b)), 1);
                    }
                }
                "EXPLORATION_END" => {
                    exp.ended = true;
                    exp.reason = l.t_reason.map(|r| r.text(b).into_owned());
                    exp.final_sat = l.t_sat.or(l.sat_top);
                    exp.steps_taken = l.t_steps.or(l.steps_top);
                    exp.duration = l.t_dur.or(l.dur_top);
                    exp.end_found = l.end_found;
                    let key = id_raw.to_vec();
                    if let Some(e) = self.exps.remove(&key) {
                        finalize(self.file, e, agg);
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        // A step line.
        exp.step_lines += 1;
        if let Some(s) = l.sat {
            exp.first_sat.get_or_insert(s);
            exp.last_sat = Some(s);
        }
        if let Some(f) = l.found_count.or(l.found_narr) {
            exp.last_found = Some(f);
        }
        exp.sd.0 += l.sd_sum;
        exp.sd.1 += l.sd_n;
        exp.sem.0 += l.sem_sum;
        exp.sem.1 += l.sem_n;
        if let Some(to) = l.mv_to {
            let h = node_hash(to.raw(b));
            if exp.visited.contains(&h) {
                exp.backtracks += 1;
            }
            exp.visited.insert(h);
        }
        for s in [l.mv_from, l.pos_node].into_iter().flatten() {
            exp.visited.insert(node_hash(s.raw(b)));
        }
        if !l.anoms.is_empty() {
            let mut ctx = Vec::with_capacity(3);
            if let Some(s) = l.before.or(l.after) {
                ctx.push(format!("state:{}", s.text(b)));
            }
            if let Some(s) = l.pos_type {
                ctx.push(format!("node_type:{}", s.text(b)));
            }
            if let Some(s) = l.dec_type {
                ctx.push(format!("decision:{}", s.text(b)));
            }
            for a in &l.anoms {
                let ty = a.ty.map(|s| s.text(b)).unwrap_or("UNKNOWN".into());
                let sev = a.sev.map(|s| s.text(b)).unwrap_or_default();
                exp.anomalies += 1;
                if !exp.anomaly_types.iter().any(|t| *t == *ty) {
                    exp.anomaly_types.push(ty.to_string());
                }
                let ev = Evidence {
                    file: self.file.to_string(),
                    line: n,
                    ts: Some(ts.to_string()),
                    value: None,
                    detail: a.detail.map(|s| s.text(b).into_owned()).unwrap_or_default(),
                };
                agg.anomaly(&ty, &sev, ev, &ctx);
            }
        }
        Ok(())
    }

    /// Whether the last line decoded ended the exploration.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// End of the bytes read: explorations still open are finalized with what was seen.
    pub fn finish(&mut self, agg: &mut Agg) {
        let mut open: Vec<Exp> = self.exps.drain().map(|(_, e)| e).collect();
        open.sort_by(|a, b| a.id.cmp(&b.id));
        for e in open {
            finalize(self.file, e, agg);
        }
    }
}

/// Per-exploration metrics (formats/traversal.md, "Exploration health metrics").
pub fn exploration_metrics(e: &ExpView) -> Vec<(&'static str, f64)> {
    let mut m = Vec::with_capacity(12);
    let steps = e.step_lines as f64;
    if e.step_lines > 0 {
        m.push(("efficiency", e.last_found.unwrap_or(0.0) / steps));
        if let (Some(a), Some(z)) = (e.first_sat, e.last_sat) {
            m.push(("satisfaction_velocity", (z - a) / steps));
        }
        m.push(("backtrack_rate", e.backtracks as f64 / steps));
        m.push(("anomaly_rate", e.anomalies as f64 / steps));
    } else if let (Some(f), Some(s)) = (e.end_found, e.steps_taken.filter(|s| *s > 0.0)) {
        m.push(("efficiency", f / s));
    }
    if let Some(s) = e.final_sat.or(e.last_sat) {
        m.push(("satisfaction", s));
    }
    if e.sd.1 > 0 {
        m.push(("sibling_divergence", e.sd.0 / e.sd.1 as f64));
    }
    if e.sem.1 > 0 {
        m.push(("semantic_quality", e.sem.0 / e.sem.1 as f64));
    }
    if let Some(r) = e.reason {
        m.push(("timeout_rate", (r == "timeout") as u8 as f64));
        m.push(("error_rate", (r == "error") as u8 as f64));
    }
    let duration = e.duration.or(match (e.ended, e.first_ms, e.last_ms) {
        (true, Some(a), Some(z)) => Some((z - a) as f64),
        _ => None,
    });
    if let Some(d) = duration {
        m.push(("duration_ms", d));
    }
    let n = if e.step_lines > 0 {
        Some(steps)
    } else {
        e.steps_taken
    };
    if let Some(n) = n {
        m.push(("steps", n));
    }
    m
}

/// The inputs of `exploration_metrics`, so tests can state an exploration by hand.
#[derive(Debug, Default, Clone)]
pub struct ExpView<'a> {
    pub step_lines: u64,
    pub first_sat: Option<f64>,
    pub last_sat: Option<f64>,
    pub last_found: Option<f64>,
    pub sd: (f64, u64),
    pub sem: (f64, u64),
    pub backtracks: u64,
    pub anomalies: u64,
    pub ended: bool,
    pub reason: Option<&'a str>,
    pub final_sat: Option<f64>,
    pub steps_taken: Option<f64>,
    pub duration: Option<f64>,
    pub end_found: Option<f64>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

fn finalize(file: &str, e: Exp, agg: &mut Agg) {
    if e.step_lines == 0 && !e.ended {
        // Only a start (or branch/merge) line so far: nothing to measure yet.
        agg.count("explorations_unmeasured", 1);
        return;
    }
    agg.count("explorations", 1);
    agg.count("step_lines", e.step_lines);
    agg.count("anomalies", e.anomalies);
    if let Some(r) = &e.reason {
        agg.count(&format!("termination:{r}"), 1);
    }
    for t in &e.anomaly_types {
        if let Some(st) = agg.anomalies.get_mut(t) {
            st.explorations += 1;
        }
    }
    let view = ExpView {
        step_lines: e.step_lines,
        first_sat: e.first_sat,
        last_sat: e.last_sat,
        last_found: e.last_found,
        sd: e.sd,
        sem: e.sem,
        backtracks: e.backtracks,
        anomalies: e.anomalies,
        ended: e.ended,
        reason: e.reason.as_deref(),
        final_sat: e.final_sat,
        steps_taken: e.steps_taken,
        duration: e.duration,
        end_found: e.end_found,
        first_ms: e.first_ms,
        last_ms: e.last_ms,
    };
    let variant = e.variant.as_deref().unwrap_or("control");
    for (name, v) in exploration_metrics(&view) {
        if name != "anomaly_rate" {
            agg.mean(name, v);
        }
        let key = hash_parts(
            &[file.as_bytes(), e.id.as_bytes(), name.as_bytes()],
            e.last_line,
        );
        agg.sample(variant, name, key, v);
    }
}

/// Decodes one line without a file context (fuzzing): never panics.
pub fn fuzz_line(b: &[u8]) -> Result<(), JErr> {
    let mut l = TLine::default();
    json::scan(b, C::Top, &mut l)
}
