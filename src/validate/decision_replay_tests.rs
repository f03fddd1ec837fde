use super::*;
use crate::validate::judge::{MetricStatus, Verdict};
use serde_json::json;
use std::io::Write;

/// A candidate: (link, semantic, polarity, permanence_factor, self_novelty,
/// sibling_divergence, verdict).
type C<'a> = (&'a str, f64, f64, f64, f64, f64, &'a str);

/// A step line in the logger's current shape: factors flat on each candidate.
fn step(n: u64, cands: &[C]) -> String {
    let list: Vec<Value> = cands
        .iter()
        .map(|&(link, sem, pol, perm, nov, div, verdict)| {
            json!({
                "link_id": link, "target_id": format!("n_{link}"), "target_type": "narrative",
                "score": sem * pol * perm * nov * div,
                "semantic": sem, "polarity": pol, "permanence_factor": perm,
                "self_novelty": nov, "sibling_divergence": div, "verdict": verdict,
            })
        })
        .collect();
    let selected = cands.iter().find(|c| c.6 == "SELECTED").map(|c| c.0);
    json!({
        "header": {"timestamp": "2026-01-05T10:00:00.000Z", "exploration_id": "exp_a",
                   "subentity_id": "se_1", "step_number": n, "level": "STEP"},
        "state": {"before": "SEEKING", "after": "SEEKING", "depth": n, "satisfaction": 0.1},
        "decision": {"type": "traverse", "candidates": list,
                     "selected": selected.map(|l| json!({"link_id": l, "reason": "top score"}))},
    })
    .to_string()
}

/// The older shape: factors under `components`, no verdicts, `selected.link_id` only.
fn old_step(n: u64, cands: &[C]) -> String {
    let list: Vec<Value> = cands
        .iter()
        .map(|&(link, sem, pol, perm, nov, div, _)| {
            json!({"link_id": link, "score": 0.0, "components": {
                "semantic": sem, "polarity": pol, "permanence_factor": perm,
                "self_novelty": nov, "sibling_divergence": div}})
        })
        .collect();
    let selected = cands.iter().find(|c| c.6 == "SELECTED").map(|c| c.0);
    json!({"header": {"step_number": n}, "decision": {"type": "traverse",
        "candidates": list, "selected": {"link_id": selected}}})
    .to_string()
}

fn write(dir: &Path, name: &str, lines: &[String], trailing_newline: bool) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let mut text = lines.join("\n");
    if trailing_newline {
        text.push('\n');
    }
    f.write_all(text.as_bytes()).unwrap();
    path
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn assert_samples(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(close(*g, *w), "{got:?} vs {want:?}");
    }
}

/// Four replayable decisions, two skipped, two malformed lines, computed by hand for
/// the candidate formula "sibling_divergence squared" (other factors 1.0 unless given):
///
/// - D1 (a:2): A sem .9 div .5 -> base .45, cand .9 × .25 = .225; B sem .5 div .8 ->
///   base .40, cand .5 × .64 = .32. Baseline A (= logged), candidate B: changed.
/// - D2 (a:3): A sem .6 div .9 -> .54 / .486; B sem .7 div .7 -> .49 / .343. Both A.
/// - D3 (a:5): A .8 × .5 × .9 × 1 × .6 = .216 / .36 × .36 = .1296; B .4 × 1 × .8 × .9 ×
///   .95 = .2736 / .288 × .9025 = .25992. Both B (= logged).
/// - D4 (b:1, old shape): A sem .7 div .4 -> .28 / .112; B sem .3 div 1 -> .30 / .30;
///   C sem .5 div .7 -> .35 / .245. Baseline C, candidate B: changed; the log says A,
///   which the baseline does not reproduce.
/// - b:2: one of two candidates lacks sibling_divergence: skipped. b:3: no candidates.
///
/// So: 6 decisions, 4 replayed, 2 skipped, 2 changed, logged selection reproduced in
/// 3 of 4; selected divergence baseline [.5 .9 .95 .7] (mean .7625), candidate
/// [.8 .9 .95 1] (mean .9125); selected semantic baseline [.9 .6 .4 .5] (mean .6),
/// candidate [.5 .6 .4 .3] (mean .45).
#[test]
fn hand_computed_replay() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "traversal_exp_a.jsonl",
        &[
            r#"{"event":"EXPLORATION_START","exploration_id":"exp_a","timestamp":"2026-01-05T10:00:00.000Z"}"#.into(),
            step(1, &[("A", 0.9, 1.0, 1.0, 1.0, 0.5, "SELECTED"), ("B", 0.5, 1.0, 1.0, 1.0, 0.8, "REJECTED")]),
            step(2, &[("A", 0.6, 1.0, 1.0, 1.0, 0.9, "SELECTED"), ("B", 0.7, 1.0, 1.0, 1.0, 0.7, "REJECTED")]),
            "this line is not JSON".into(),
            step(3, &[("A", 0.8, 0.5, 0.9, 1.0, 0.6, "REJECTED"), ("B", 0.4, 1.0, 0.8, 0.9, 0.95, "SELECTED")]),
            r#"{"header":{"step_number":4},"state":{"before":"SEEKING","after":"RESONATING"}}"#.into(),
        ],
        true,
    );
    let incomplete = json!({"header": {"step_number": 6}, "decision": {"candidates": [
        {"link_id": "A", "semantic": 0.5, "polarity": 1.0, "permanence_factor": 1.0,
         "self_novelty": 1.0, "sibling_divergence": 0.5, "verdict": "SELECTED"},
        {"link_id": "B", "semantic": 0.9, "polarity": 1.0, "permanence_factor": 1.0,
         "self_novelty": 1.0, "verdict": "REJECTED"}]}});
    let b = write(
        dir.path(),
        "traversal_exp_b.jsonl",
        &[
            old_step(
                5,
                &[
                    ("A", 0.7, 1.0, 1.0, 1.0, 0.4, "SELECTED"),
                    ("B", 0.3, 1.0, 1.0, 1.0, 1.0, ""),
                    ("C", 0.5, 1.0, 1.0, 1.0, 0.7, ""),
                ],
            ),
            incomplete.to_string(),
            r#"{"header":{"step_number":7},"decision":{"type":"dead_end","candidates":[],"selected":null}}"#.into(),
            // The exploration is still running: its last line is partial.
            r#"{"header":{"step_number":8},"decision":{"candidates":[{"link_id":"A","sem"#.into(),
        ],
        false,
    );
    let params = JudgeParams {
        min_samples: 4,
        ..JudgeParams::default()
    };
    let r = replay_decisions(
        &[&a, &b],
        &Formula::with_exponent("sibling_divergence", 2.0),
        &default_specs(),
        &params,
    )
    .unwrap();
    assert_eq!(r.basis, "an estimate from logs");
    assert!(r.summary.starts_with("An estimate from logs: 4 of 6 logged decisions re-ranked from 2 files (2 skipped, 2 malformed lines)"), "{}", r.summary);
    assert_eq!((r.files, r.lines), (2, 10));
    assert_eq!((r.decisions, r.replayed, r.skipped), (6, 4, 2));
    assert_eq!(r.selections_changed, 2);
    assert_eq!((r.logged_checked, r.logged_reproduced), (4, 3));
    assert_eq!(r.logged_reproduction, Some(0.75));
    assert_eq!(r.logs_consistent, Some(false));
    assert!(
        r.summary
            .contains("reproduces 3 of 4 logged selections (75% < 90%"),
        "{}",
        r.summary
    );
    assert_eq!(r.incomplete_candidates, 0);
    // The old shape logs score 0.0 on its three candidates: not the product.
    assert_eq!((r.logged_scores, r.logged_score_mismatches), (9, 3));
    assert!(
        r.summary
            .contains("; 3 of 9 logged scores are not the product of their factors"),
        "{}",
        r.summary
    );
    let (fa, fb) = (a.display().to_string(), b.display().to_string());
    assert_eq!(
        r.changed_examples,
        vec![
            Change {
                file: fa.clone(),
                line: 2,
                baseline_link: "A".into(),
                candidate_link: "B".into()
            },
            Change {
                file: fb.clone(),
                line: 1,
                baseline_link: "C".into(),
                candidate_link: "B".into()
            },
        ]
    );
    assert_eq!(
        r.skipped_by_reason,
        BTreeMap::from([
            ("fewer than two complete candidates".to_string(), 1),
            ("no candidates".to_string(), 1),
        ])
    );
    assert_eq!(
        r.skipped_examples,
        vec![
            Skipped {
                file: fb.clone(),
                line: 2,
                reason: "1 of 2 candidates have all five factors (#2 lacks sibling_divergence)"
                    .into()
            },
            Skipped {
                file: fb.clone(),
                line: 3,
                reason: "no candidates".into()
            },
        ]
    );
    assert_eq!(r.malformed, 2);
    assert_eq!(
        r.malformed_examples
            .iter()
            .map(|s| (s.file.as_str(), s.line))
            .collect::<Vec<_>>(),
        vec![(fa.as_str(), 4), (fb.as_str(), 4)]
    );
    assert_samples(&r.baseline["sibling_divergence"], &[0.5, 0.9, 0.95, 0.7]);
    assert_samples(&r.candidate["sibling_divergence"], &[0.8, 0.9, 0.95, 1.0]);
    assert_samples(&r.baseline["semantic"], &[0.9, 0.6, 0.4, 0.5]);
    assert_samples(&r.candidate["semantic"], &[0.5, 0.6, 0.4, 0.3]);
    assert!(
        r.summary
            .contains("mean sibling_divergence of the selected link 0.7625 -> 0.9125"),
        "{}",
        r.summary
    );
    assert!(
        r.summary
            .contains("mean semantic of the selected link 0.6000 -> 0.4500"),
        "{}",
        r.summary
    );
    assert_eq!(
        r.candidate_formula,
        "semantic × polarity × permanence_factor × self_novelty × sibling_divergence^2"
    );
    // The judge saw exactly these samples.
    let div = &r.judgment.metrics[0];
    assert_eq!(
        (div.name.as_str(), div.n_control, div.n_variant),
        ("sibling_divergence", 4, 4)
    );
    assert!(close(div.control_mean.unwrap(), 0.7625) && close(div.variant_mean.unwrap(), 0.9125));
    let sem = &r.judgment.metrics[1];
    assert!(close(sem.control_mean.unwrap(), 0.6) && close(sem.variant_mean.unwrap(), 0.45));
    // The record round-trips.
    let back: DecisionReplayReport =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back.baseline, r.baseline);
    assert_eq!(back.basis, BASIS);
}

#[test]
fn weights_make_a_weighted_sum() {
    // D1 of the hand case with weights semantic 1, divergence 2, the rest 0:
    // A .9 + 2 × .5 = 1.9, B .5 + 2 × .8 = 2.1 -> B. D2: A .6 + 1.8 = 2.4, B .7 + 1.4 =
    // 2.1 -> A.
    let weights = BTreeMap::from(
        [
            ("semantic", 1.0),
            ("polarity", 0.0),
            ("permanence_factor", 0.0),
            ("self_novelty", 0.0),
            ("sibling_divergence", 2.0),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let f = Formula {
        exponents: BTreeMap::new(),
        weights: Some(weights),
    };
    assert!(close(f.score(&[0.9, 1.0, 1.0, 1.0, 0.5]), 1.9));
    let text = [
        step(
            1,
            &[
                ("A", 0.9, 1.0, 1.0, 1.0, 0.5, "SELECTED"),
                ("B", 0.5, 1.0, 1.0, 1.0, 0.8, "REJECTED"),
            ],
        ),
        step(
            2,
            &[
                ("A", 0.6, 1.0, 1.0, 1.0, 0.9, "SELECTED"),
                ("B", 0.7, 1.0, 1.0, 1.0, 0.7, "REJECTED"),
            ],
        ),
    ]
    .join("\n");
    let mut r = Replayer::new(f).unwrap();
    r.read("mem.jsonl", text.as_bytes()).unwrap();
    let r = r.finish(&default_specs(), &JudgeParams::default());
    assert_eq!((r.replayed, r.selections_changed), (2, 1));
    assert_samples(&r.candidate["sibling_divergence"], &[0.8, 0.9]);
    assert_eq!(
        r.candidate_formula,
        "1·semantic + 0·polarity + 0·permanence_factor + 0·self_novelty + 2·sibling_divergence"
    );
    // Too few samples for the judge: not judged, said so.
    assert_eq!(r.judgment.verdict, Verdict::Inconclusive);
}

#[test]
fn formulas_are_checked() {
    assert!(Formula::with_exponent("divergence", 2.0)
        .check()
        .unwrap_err()
        .to_string()
        .contains("unknown factor `divergence`"));
    for bad in [0.0, -1.0, f64::NAN] {
        assert!(
            Formula::with_exponent("self_novelty", bad).check().is_err(),
            "{bad}"
        );
    }
    let w = Formula {
        exponents: BTreeMap::new(),
        weights: Some(BTreeMap::from([("semantic".to_string(), f64::INFINITY)])),
    };
    assert!(w.check().is_err());
    assert!(replay_decisions(
        &["/nonexistent/traversal_x.jsonl"],
        &Formula::baseline(),
        &default_specs(),
        &JudgeParams::default()
    )
    .unwrap_err()
    .to_string()
    .contains("/nonexistent/traversal_x.jsonl"));
    // The baseline is the plain product; a power keeps a factor's sign.
    let f = [0.5, -1.0, 0.8, 1.0, 0.25];
    assert!(close(Formula::baseline().score(&f), -0.1));
    assert!(close(
        Formula::with_exponent("polarity", 3.0).score(&f),
        -0.1
    ));
    assert!(close(
        Formula::with_exponent("sibling_divergence", 0.5).score(&f),
        -0.2
    ));
}

/// Many decisions, each a choice between a link close to the intention but near a
/// sibling (X) and one a little less close but far from siblings (Y): the product picks
/// X, the squared divergence picks Y.
fn tradeoff(n: usize, y_semantic: f64, y_divergence: f64) -> String {
    (0..n)
        .map(|i| {
            let j = i as f64 * 0.001;
            step(
                i as u64,
                &[
                    ("X", 0.9 - j, 1.0, 1.0, 1.0, 0.5 + j, "SELECTED"),
                    (
                        "Y",
                        y_semantic - j,
                        1.0,
                        1.0,
                        1.0,
                        y_divergence + j,
                        "REJECTED",
                    ),
                ],
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_judge_weighs_divergence_gained_against_semantic_lost() {
    // Y at semantic 0.55: X .45 vs Y .44 (base X); squared .225 vs .352 (Y). Divergence
    // rises from ~.5 to ~.8 but semantic falls from ~.9 to ~.55: critical failure.
    let mut r = Replayer::new(Formula::with_exponent("sibling_divergence", 2.0)).unwrap();
    r.read("t.jsonl", tradeoff(30, 0.55, 0.8).as_bytes())
        .unwrap();
    let r = r.finish(&default_specs(), &JudgeParams::default());
    assert_eq!(
        (r.replayed, r.selections_changed, r.logged_reproduced),
        (30, 30, 30)
    );
    assert_eq!(r.logs_consistent, Some(true));
    let div = &r.judgment.metrics[0];
    assert!(
        div.improved && div.status == MetricStatus::Pass,
        "{}",
        div.reason
    );
    let sem = &r.judgment.metrics[1];
    assert_eq!(sem.status, MetricStatus::Fail, "{}", sem.reason);
    assert_eq!(r.judgment.verdict, Verdict::Failed, "{}", r.judgment.reason);
    assert!(r.summary.ends_with(&format!(". {}", r.judgment.reason)));

    // Y at semantic 0.86, divergence 0.52: X .45 vs Y .4472 (base X); squared .225 vs
    // .2325 (Y). Semantic 4.4% lower is within the allowed 10%; divergence is higher.
    let mut r = Replayer::new(Formula::with_exponent("sibling_divergence", 2.0)).unwrap();
    r.read("t.jsonl", tradeoff(30, 0.86, 0.52).as_bytes())
        .unwrap();
    let r = r.finish(&default_specs(), &JudgeParams::default());
    assert_eq!(r.selections_changed, 30);
    let (div, sem) = (&r.judgment.metrics[0], &r.judgment.metrics[1]);
    assert!(div.improved, "{}", div.reason);
    assert_eq!(sem.status, MetricStatus::Pass, "{}", sem.reason);
    assert_eq!(r.judgment.verdict, Verdict::Passed, "{}", r.judgment.reason);

    // Logs the product does not explain (the log picked X where the product picks Y)
    // are flagged: here nothing changes, and the estimate says it cannot vouch for it.
    let mut r = Replayer::new(Formula::with_exponent("sibling_divergence", 2.0)).unwrap();
    r.read("t.jsonl", tradeoff(30, 0.88, 0.8).as_bytes())
        .unwrap();
    let r = r.finish(&default_specs(), &JudgeParams::default());
    assert_eq!((r.selections_changed, r.logged_reproduced), (0, 0));
    assert_eq!(r.logs_consistent, Some(false));
    assert!(
        r.summary.contains("treat the estimate with care"),
        "{}",
        r.summary
    );
}

#[test]
fn a_proposal_declares_the_exponent_it_introduces_or_tunes() {
    let (b, c) = declared_by("SIBLING_DIVERGENCE_EXPONENT", None, Some("1.5")).unwrap();
    assert_eq!(b, Formula::with_exponent("sibling_divergence", 1.0));
    assert_eq!(c, Formula::with_exponent("sibling_divergence", 1.5));
    let (b, c) = declared_by("SELF_NOVELTY_EXPONENT", Some("1.5"), Some("2.0")).unwrap();
    assert_eq!(b, Formula::with_exponent("self_novelty", 1.5));
    assert_eq!(c, Formula::with_exponent("self_novelty", 2.0));
    assert!(declared_by("INTENTION_WEIGHT", Some("0.25"), Some("0.3")).is_none());
    assert!(declared_by("DIVERGENCE_EXPONENT", None, Some("2")).is_none());
    assert!(declared_by("SIBLING_DIVERGENCE_EXPONENT", None, None).is_none());
}

/// Logs scored with divergence^1.5 (an exponent already deployed), replayed against
/// divergence^2. By hand, per decision (other factors 1.0):
/// - D1: A sem .95 div .5 -> ^1.5 .3359, ^2 .2375; B sem .5 div .9 -> .4269, .405.
///   Logged B (as ^1.5 ranks), ^2 keeps B; the plain product picks A (.475 > .45), so
///   it does not reproduce the log.
/// - D2: A sem .8 div .6 -> .3718, .288; B sem .6 div .8 -> .4293, .384. Logged B, kept.
/// - D3: A sem .9 div .7 -> .5271, .441; B sem .5 div 1 -> .5, .5. Logged A, ^2 picks B.
///
/// So 3 replayed, 1 changed, the ^1.5 baseline reproduces 3 of 3 (the plain product: 2
/// of 3), selected divergence .9 .8 .7 -> .9 .8 1.0.
#[test]
fn the_baseline_can_be_a_formula_already_deployed() {
    let lines = [
        step(
            1,
            &[
                ("A", 0.95, 1.0, 1.0, 1.0, 0.5, "REJECTED"),
                ("B", 0.5, 1.0, 1.0, 1.0, 0.9, "SELECTED"),
            ],
        ),
        step(
            2,
            &[
                ("A", 0.8, 1.0, 1.0, 1.0, 0.6, "REJECTED"),
                ("B", 0.6, 1.0, 1.0, 1.0, 0.8, "SELECTED"),
            ],
        ),
        step(
            3,
            &[
                ("A", 0.9, 1.0, 1.0, 1.0, 0.7, "SELECTED"),
                ("B", 0.5, 1.0, 1.0, 1.0, 1.0, "REJECTED"),
            ],
        ),
    ]
    .join("\n");
    let deployed = Formula::with_exponent("sibling_divergence", 1.5);
    let next = Formula::with_exponent("sibling_divergence", 2.0);
    let mut r = Replayer::new(next.clone()).unwrap().from(deployed).unwrap();
    r.read("mem.jsonl", lines.as_bytes()).unwrap();
    let r = r.finish(&default_specs(), &JudgeParams::default());
    assert_eq!((r.replayed, r.selections_changed), (3, 1));
    assert_eq!((r.logged_reproduced, r.logged_checked), (3, 3));
    assert_eq!(
        r.baseline_formula,
        "semantic × polarity × permanence_factor × self_novelty × sibling_divergence^1.5"
    );
    assert_samples(&r.baseline["sibling_divergence"], &[0.9, 0.8, 0.7]);
    assert_samples(&r.candidate["sibling_divergence"], &[0.9, 0.8, 1.0]);
    // The plain product as baseline does not reproduce D1.
    let mut plain = Replayer::new(next).unwrap();
    plain.read("mem.jsonl", lines.as_bytes()).unwrap();
    let plain = plain.finish(&default_specs(), &JudgeParams::default());
    assert_eq!((plain.logged_reproduced, plain.logged_checked), (2, 3));
}
