//! Generates mind-format traversal logs for the benchmark: one file per exploration
//! with event lines (old and new layouts), step lines with scored candidates (flat
//! and nested `components`), and occasional anomalies. Deterministic per seed.
//!
//! usage: gen_traversal OUT_DIR SIZE_MB [--first N] [--seed S]
//! Writes OUT_DIR/logs/traversal/traversal_exp_<N>.jsonl starting at exploration N
//! (default 0) until SIZE_MB megabytes were written; prints the next free N.

use std::fmt::Write as _;
use std::io::Write;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn n(&mut self, k: u64) -> u64 {
        self.next() % k
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.n(xs.len() as u64) as usize]
    }
}

const STATES: &[&str] = &[
    "SEEKING",
    "BRANCHING",
    "ABSORBING",
    "RESONATING",
    "REFLECTING",
];
const NODE_TYPES: &[&str] = &["moment", "narrative", "space", "thing", "actor"];
const DECISIONS: &[&str] = &[
    "traverse", "traverse", "traverse", "resonate", "branch", "dead_end",
];
const ANOMALIES: &[(&str, &str)] = &[
    ("LOW_SIBLING_DIVERGENCE", "warn"),
    ("BACKTRACK", "info"),
    ("SATISFACTION_PLATEAU", "warn"),
    ("DEEP_EXPLORATION", "info"),
    ("HIGH_CRITICALITY_NO_FINDINGS", "warn"),
];
const REASONS: &[(&str, u64)] = &[
    ("satisfaction_reached", 60),
    ("timeout", 20),
    ("max_depth", 10),
    ("no_links", 7),
    ("error", 3),
];

fn ts(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).expect("valid time");
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn exploration(r: &mut Rng, n: u64, out: &mut String) {
    let id = format!("exp_{n:07}");
    let mut t: i64 = 1_767_571_200_000 + n as i64 * 1500; // 2026-01-05T00:00:00Z
    let old = r.n(10) < 3;
    let nested_components = r.n(2) == 0;
    let actor = format!("actor_{}", r.n(40));
    if old {
        let _ = writeln!(
            out,
            r#"{{"event":"EXPLORATION_START","exploration_id":"{id}","actor_id":"{actor}","timestamp":"{}","root_subentity_id":"se_{n}_0","intention_embedding_hash":null,"origin_moment":"moment_{}","intention":"find what connects the harbour to the storm"}}"#,
            ts(t),
            r.n(999)
        );
    } else {
        let _ = writeln!(
            out,
            r#"{{"event":"EXPLORATION_START","exploration_id":"{id}","actor_id":"{actor}","timestamp":"{}","root_subentity_id":"se_{n}_0","intention_embedding_hash":"h{}","exploration_context":{{"query":"what links the harbour to the storm","intention":"summarize the causes","intention_type":"{}","origin_moment":"moment_{}","actor_task":"TASK_research"}}}}"#,
            ts(t),
            r.next() % 100000,
            r.pick(&["SUMMARIZE", "VERIFY", "EXPLORE", "CONTRADICT"]),
            r.n(999)
        );
    }
    let steps = 20 + r.n(60);
    let pool = 8 + r.n(40);
    let mut sat: f64 = r.f() * 0.2;
    let mut found = 0u64;
    let mut pos = r.n(pool);
    for s in 1..=steps {
        t += 20 + r.n(200) as i64;
        if r.n(12) == 0 {
            let _ = writeln!(
                out,
                r#"{{"event":"BRANCH","exploration_id":"{id}","parent_id":"se_{n}_0","position":"n_{pos}","timestamp":"{}","children":[{{"id":"se_{n}_{s}a","target_link":"l_{}","target_node":"n_{}","initial_score":{:.3}}},{{"id":"se_{n}_{s}b","target_link":"l_{}","target_node":"n_{}","initial_score":{:.3}}}]}}"#,
                ts(t),
                r.n(9999),
                r.n(pool),
                r.f(),
                r.n(9999),
                r.n(pool),
                r.f()
            );
        }
        let before = r.pick(STATES);
        let after = r.pick(STATES);
        let ntype = r.pick(NODE_TYPES);
        sat = (sat + r.f() * 0.03).min(1.0);
        if r.n(6) == 0 {
            found += 1;
        }
        let mut line = String::with_capacity(2048);
        let _ = write!(
            line,
            r#"{{"header":{{"timestamp":"{}","exploration_id":"{id}","subentity_id":"se_{n}_0","actor_id":"{actor}","tick":{},"step_number":{s},"level":"STEP"}},"state":{{"before":"{before}","after":"{after}","transition_reason":"highest scoring link above threshold","position":{{"node_id":"n_{pos}","node_type":"{ntype}","node_name":"The harbour at dawn {pos}"}},"depth":{},"satisfaction":{sat:.4},"criticality":{:.3}}},"decision":{{"type":"{}","candidates":["#,
            ts(t),
            1000 + s,
            s.min(12),
            r.f(),
            r.pick(DECISIONS)
        );
        let k = 3 + r.n(4);
        for c in 0..k {
            let (score, sem, pol, perm, nov, sd) = (
                r.f(),
                r.f(),
                r.f(),
                r.f(),
                r.f(),
                if r.n(10) == 0 { 0.0 } else { r.f() },
            );
            let verdict = if c == 0 {
                "SELECTED"
            } else if r.n(8) == 0 {
                "TIED"
            } else {
                "REJECTED"
            };
            if c > 0 {
                line.push(',');
            }
            if nested_components {
                let _ = write!(
                    line,
                    r#"{{"link_id":"l_{}","target_id":"n_{}","target_type":"{}","score":{score:.4},"components":{{"semantic":{sem:.4},"polarity":{pol:.4},"permanence_factor":{perm:.4},"self_novelty":{nov:.4},"sibling_divergence":{sd:.4}}},"verdict":"{verdict}","why_not":{}}}"#,
                    r.n(99999),
                    r.n(pool),
                    r.pick(NODE_TYPES),
                    if c == 0 {
                        "null".to_string()
                    } else {
                        "\"lower score than the selected link\"".to_string()
                    }
                );
            } else {
                let _ = write!(
                    line,
                    r#"{{"link_id":"l_{}","target_id":"n_{}","target_type":"{}","score":{score:.4},"semantic":{sem:.4},"polarity":{pol:.4},"permanence_factor":{perm:.4},"self_novelty":{nov:.4},"sibling_divergence":{sd:.4},"verdict":"{verdict}","why_not":{}}}"#,
                    r.n(99999),
                    r.n(pool),
                    r.pick(NODE_TYPES),
                    if c == 0 {
                        "null".to_string()
                    } else {
                        "\"lower score than the selected link\"".to_string()
                    }
                );
            }
        }
        let to = r.n(pool);
        let _ = write!(
            line,
            r#"],"selected":{{"link_id":"l_{}","reason":"highest score"}},"explanation":"Chose the link whose target best matches the intention","confidence":{:.3}}},"movement":{{"from":{{"node_id":"n_{pos}","node_type":"{ntype}"}},"to":{{"node_id":"n_{to}","node_type":"{}"}},"via":{{"link_id":"l_{}","polarity":{:.3},"permanence":{:.3},"energy_before":{:.3},"energy_after":{:.3}}}}},"findings":{{"found_narratives":["#,
            r.n(99999),
            r.f(),
            r.pick(NODE_TYPES),
            r.n(99999),
            r.f(),
            r.f(),
            r.f(),
            r.f()
        );
        for i in 0..found {
            if i > 0 {
                line.push(',');
            }
            let _ = write!(line, r#""nar_{n}_{i}""#);
        }
        let _ = write!(
            line,
            r#"],"found_count":{found},"new_this_step":0,"alignment_this_step":{:.3}}},"tree":{{"parent_id":null,"sibling_ids":["se_{n}_1"],"children_ids":[],"active_siblings":1}},"emotions":{{"joy_sadness":{:.3},"trust_disgust":{:.3},"fear_anger":{:.3},"surprise_anticipation":{:.3}}}"#,
            r.f(),
            r.f() - 0.5,
            r.f() - 0.5,
            r.f() - 0.5,
            r.f() - 0.5
        );
        if r.n(15) == 0 {
            let (ty, sev) = ANOMALIES[r.n(ANOMALIES.len() as u64) as usize];
            let _ = write!(
                line,
                r#","anomalies":[{{"type":"{ty}","severity":"{sev}","detail":"step {s} at n_{pos}","suggested_action":"review link scoring"}}]"#
            );
        }
        line.push_str("}\n");
        out.push_str(&line);
        pos = to;
        if r.n(20) == 0 {
            let _ = writeln!(
                out,
                r#"{{"event":"ENERGY_INJECTION","exploration_id":"{id}","subentity_id":"se_{n}_0","timestamp":"{}","energy_injection":{{"target_node":"n_{pos}","amount":{:.3},"reason":"{}","energy_before":0.5,"energy_after":0.7}}}}"#,
                ts(t),
                r.f(),
                r.pick(&["narrative_resonance", "crystallization", "traversal"])
            );
        }
    }
    let mut roll = r.n(100);
    let mut reason = "satisfaction_reached";
    for (name, w) in REASONS {
        if roll < *w {
            reason = name;
            break;
        }
        roll -= w;
    }
    t += 50;
    let dur = t - (1_767_571_200_000 + n as i64 * 1500);
    let mut narr = String::new();
    for i in 0..found {
        if i > 0 {
            narr.push(',');
        }
        let _ = write!(narr, r#""nar_{n}_{i}":{:.3}"#, r.f());
    }
    if old {
        let _ = writeln!(
            out,
            r#"{{"event":"EXPLORATION_END","exploration_id":"{id}","timestamp":"{}","total_subentities":2,"nodes_visited":["n_1","n_2"],"found_narratives":{{{narr}}},"crystallized":null,"duration_ms":{dur},"total_steps":{steps},"links_traversed":{steps},"satisfaction":{sat:.4}}}"#,
            ts(t)
        );
    } else {
        let err = if reason == "error" {
            r#","error_message":"graph query failed""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"{{"event":"EXPLORATION_END","exploration_id":"{id}","timestamp":"{}","total_subentities":2,"nodes_visited":["n_1","n_2"],"found_narratives":{{{narr}}},"crystallized":null,"termination":{{"reason":"{reason}","final_satisfaction":{sat:.4},"final_criticality":{:.3},"steps_taken":{steps},"duration_ms":{dur}{err}}}}}"#,
            ts(t),
            r.f()
        );
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: gen_traversal OUT_DIR SIZE_MB [--first N] [--seed S]");
    let mb: f64 = args.next().and_then(|s| s.parse().ok()).expect("SIZE_MB");
    let (mut first, mut seed) = (0u64, 42u64);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|s| s.parse().ok()).expect("a number");
        match a.as_str() {
            "--first" => first = v,
            "--seed" => seed = v,
            _ => panic!("unknown argument {a}"),
        }
    }
    let out_dir = std::path::Path::new(&dir).join("logs/traversal");
    std::fs::create_dir_all(&out_dir)?;
    let target = (mb * 1024.0 * 1024.0) as u64;
    let mut written = 0u64;
    let mut n = first;
    let mut buf = String::with_capacity(1 << 20);
    while written < target {
        let mut r = Rng(seed.wrapping_mul(0x9e3779b97f4a7c15)
            ^ (n + 1).wrapping_mul(0xd1b54a32d192ed03)
            | 1);
        buf.clear();
        exploration(&mut r, n, &mut buf);
        let mut f = std::fs::File::create(out_dir.join(format!("traversal_exp_{n:07}.jsonl")))?;
        f.write_all(buf.as_bytes())?;
        written += buf.len() as u64;
        n += 1;
    }
    println!("{n}");
    Ok(())
}
