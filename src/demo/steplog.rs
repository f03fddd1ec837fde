//! The step line of the mind traversal format as typed, borrowing structs. Step lines
//! are most of what the simulator writes; serializing them straight from structs
//! (fields in the format's order) avoids building a JSON map per line.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct StepLine<'a> {
    pub header: Header<'a>,
    pub state: State<'a>,
    pub decision: Decision<'a>,
    pub movement: Movement<'a>,
    pub findings: Findings<'a>,
    pub tree: Tree<'a>,
    pub emotions: Emotions,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<Anomaly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Header<'a> {
    pub timestamp: &'a str,
    pub exploration_id: &'a str,
    pub subentity_id: &'a str,
    pub actor_id: &'a str,
    pub tick: usize,
    pub step_number: usize,
    pub level: &'static str,
}

#[derive(Serialize)]
pub struct State<'a> {
    pub before: &'a str,
    pub after: &'a str,
    pub transition_reason: &'a str,
    pub position: Position<'a>,
    pub depth: u32,
    pub satisfaction: f64,
    pub criticality: f64,
}

#[derive(Serialize)]
pub struct Position<'a> {
    pub node_id: &'a str,
    pub node_type: &'a str,
    pub node_name: String,
}

#[derive(Serialize)]
pub struct Decision<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub candidates: Vec<Candidate>,
    pub selected: Selected<'a>,
    pub explanation: String,
    pub confidence: f64,
}

#[derive(Serialize)]
pub struct Candidate {
    pub link_id: String,
    pub target_id: String,
    pub target_type: &'static str,
    pub score: f64,
    pub semantic: f64,
    pub polarity: f64,
    pub permanence_factor: f64,
    pub self_novelty: f64,
    pub sibling_divergence: f64,
    pub verdict: &'static str,
    pub why_not: Option<&'static str>,
}

#[derive(Serialize)]
pub struct Selected<'a> {
    pub link_id: &'a str,
    pub reason: &'static str,
}

#[derive(Serialize)]
pub struct Movement<'a> {
    pub from: Node<'a>,
    pub to: Node<'a>,
    pub via: Via<'a>,
}

#[derive(Serialize)]
pub struct Node<'a> {
    pub node_id: &'a str,
    pub node_type: &'a str,
}

#[derive(Serialize)]
pub struct Via<'a> {
    pub link_id: &'a str,
    pub polarity: &'static str,
    pub permanence: f64,
    pub energy_before: f64,
    pub energy_after: f64,
}

#[derive(Serialize)]
pub struct Findings<'a> {
    pub found_narratives: &'a BTreeMap<String, f64>,
    pub found_count: usize,
    pub new_this_step: Vec<&'a str>,
    pub alignment_this_step: f64,
}

#[derive(Serialize)]
pub struct Tree<'a> {
    pub parent_id: Option<&'a str>,
    pub sibling_ids: [&'a str; 0],
    pub children_ids: &'a [String],
    pub active_siblings: usize,
}

#[derive(Serialize)]
pub struct Emotions {
    pub joy_sadness: f64,
    pub trust_disgust: f64,
    pub fear_anger: f64,
    pub surprise_anticipation: f64,
}

#[derive(Serialize)]
pub struct Anomaly {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub severity: &'static str,
    pub detail: String,
    pub suggested_action: &'static str,
}
