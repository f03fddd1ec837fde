//! What the records keep of a proposal's pull request (`proposals/P-0007/pr.json`):
//! where it is, what the tool last wrote to it, which event comments it posted. The
//! forge stays the truth; this only spares requests and says where to look. Never a
//! token: nothing here comes from the environment.

use serde::{Deserialize, Serialize};

/// `proposals/P-0007/pr.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PullRecord {
    /// `#12` on GitHub and Gitea, `!12` on GitLab.
    pub number: u64,
    pub url: String,
    /// `github`, `gitlab` or `gitea`.
    pub forge: String,
    /// `open`, `closed` or `merged`, as last read from the forge.
    pub state: String,
    pub opened: String,
    /// A digest of the body section, labels and draft flag last written: the body is
    /// edited again only when it would change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced: Option<String>,
    /// Keys of the event comments posted (`P-0007:deployed:D-0003`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posted: Vec<String>,
}

impl PullRecord {
    /// `#12`, or `!12` on GitLab: how people refer to it.
    pub fn reference(&self) -> String {
        let sigil = if self.forge == "gitlab" { '!' } else { '#' };
        format!("{sigil}{}", self.number)
    }
}

/// Where a proposal's pull request record lives on the records branch.
pub fn path(proposal: &str) -> String {
    format!("proposals/{proposal}/pr.json")
}
