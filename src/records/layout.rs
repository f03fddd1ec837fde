//! Where records live on the branch, laid out for git: a commit rewrites every tree on
//! the path to what it changes, so no tree on that path may grow with the history.
//! Records made once per cycle (`cycles/`, `learning/`) and the sealed cursor segments
//! are sharded by number: a hundred to a leaf, ten leaves to a directory, ten of those
//! to a shard of ten thousand (`cycles/00/0/0/C-000042.json`, `cycles/00/8/7/C-008760.json`),
//! so the trees a commit rewrites hold at most a hundred entries and only the top one,
//! a name per ten thousand records, grows. Dated logs (audit, metrics) are a file a day
//! in a directory a month (`audit::files`). Records written flat by earlier versions
//! still load, and `upgrade` moves them into their shards once (a tree change: their
//! blobs stay).

use super::{Records, Tx};
use crate::audit;
use anyhow::Result;

/// Record directories sharded by id, with their records' extension.
pub const SHARDED: &[(&str, &str)] = &[("cycles", ".json"), ("learning", ".json")];

/// The number in a record's id or name (`C-000042` -> 42, `000123.keys` -> 123).
pub fn number(name: &str) -> Option<u64> {
    let stem = name.split('.').next()?;
    let digits = stem.rsplit('-').next()?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The leaf directory of record number `n` under `dir`: `dir/NN/N/N`.
pub fn shard_dir(dir: &str, n: u64) -> String {
    format!(
        "{dir}/{:02}/{}/{}",
        n / 10_000,
        (n / 1_000) % 10,
        (n / 100) % 10
    )
}

/// Where record `name` (`C-000042.json`, `000123.keys`) lives under a sharded `dir`.
pub fn shard_path(dir: &str, name: &str) -> String {
    format!("{}/{name}", shard_dir(dir, number(name).unwrap_or(0)))
}

/// A shard directory's name: digits only.
fn is_shard(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

impl Records<'_> {
    /// The shard directory names directly under `dir`, highest first.
    fn shards_desc(&self, dir: &str) -> Result<Vec<String>> {
        let mut v: Vec<String> = self
            .list(dir)?
            .into_iter()
            .filter(|n| is_shard(n))
            .collect();
        v.sort_by_key(|n| std::cmp::Reverse(n.parse::<u64>().unwrap_or(0)));
        Ok(v)
    }

    /// Every record file under the sharded `dir` (sharded or, from an earlier version,
    /// flat) as (name, path), in the order of their numbers. Lists the shards' trees;
    /// reads no record.
    pub fn sharded_files(&self, dir: &str) -> Result<Vec<(String, String)>> {
        let mut out = vec![];
        for top in self.list(dir)? {
            if !is_shard(&top) {
                out.push((top.clone(), format!("{dir}/{top}")));
                continue;
            }
            for mid in self.list(&format!("{dir}/{top}"))? {
                for low in self.list(&format!("{dir}/{top}/{mid}"))? {
                    let leaf = format!("{dir}/{top}/{mid}/{low}");
                    for name in self.list(&leaf)? {
                        out.push((name.clone(), format!("{leaf}/{name}")));
                    }
                }
            }
        }
        out.sort_by_key(|(n, _)| (number(n), n.clone()));
        Ok(out)
    }

    /// The ids of the records under the sharded `dir` (names without `ext`), in order.
    pub fn ids(&self, dir: &str, ext: &str) -> Result<Vec<String>> {
        Ok(self
            .sharded_files(dir)?
            .into_iter()
            .filter_map(|(n, _)| n.strip_suffix(ext).map(str::to_string))
            .collect())
    }

    /// The path of record `id` under the sharded `dir`: where it is sharded, else where
    /// an earlier version wrote it (flat); None when it is in neither.
    pub fn find(&self, dir: &str, id: &str, ext: &str) -> Result<Option<String>> {
        let name = format!("{id}{ext}");
        let Some(tip) = self.tip else { return Ok(None) };
        for path in [shard_path(dir, &name), format!("{dir}/{name}")] {
            if self.git.blob_id(tip, &path)?.is_some() {
                return Ok(Some(path));
            }
        }
        Ok(None)
    }

    /// The highest number among the names with `prefix` in `dir`: flat names at its top
    /// (all of them, for a directory of an earlier version or one not sharded, like
    /// `proposals/`), then the highest shards, a few tree reads whatever the history.
    pub fn last_number(&self, dir: &str, prefix: &str) -> Result<Option<u64>> {
        let flat = self
            .list(dir)?
            .iter()
            .filter_map(|n| n.strip_prefix(prefix))
            .filter_map(number)
            .max();
        // Highest shard first at each level; the first leaf with a record holds the
        // highest (a shard only holds numbers above those of the shards before it).
        let mut stack: Vec<(String, usize)> = self
            .shards_desc(dir)?
            .into_iter()
            .rev()
            .map(|t| (format!("{dir}/{t}"), 1))
            .collect();
        while let Some((d, depth)) = stack.pop() {
            if depth < 3 {
                let subs = self.shards_desc(&d)?.into_iter().rev();
                stack.extend(subs.map(|s| (format!("{d}/{s}"), depth + 1)));
                continue;
            }
            let max = self
                .list(&d)?
                .iter()
                .filter_map(|n| n.strip_prefix(prefix))
                .filter_map(number)
                .max();
            if max.is_some() {
                return Ok(max.max(flat));
            }
        }
        Ok(flat)
    }
}

/// Moves what an earlier version wrote flat into its shard: the records of `SHARDED`
/// and the sealed cursor segments, and builds the audit chain's deployment index when
/// there is none. Returns how many records moved. A tree change: every blob is reused,
/// no record changes, and the audit chain's files stay where they are.
pub fn upgrade(records: &Records, tx: &mut Tx) -> Result<usize> {
    let mut moved = 0;
    let dirs = SHARDED
        .iter()
        .map(|(d, ext)| (*d, Some(*ext)))
        .chain([(crate::observe::SEALED_DIR, None)]);
    for (dir, ext) in dirs {
        for name in records.list(dir)? {
            let is_record = match ext {
                Some(ext) => name.ends_with(ext),
                None => name.contains('.'),
            };
            if is_shard(&name) || !is_record || number(&name).is_none() {
                continue;
            }
            let flat = format!("{dir}/{name}");
            if let Some(bytes) = records.read(&flat)? {
                tx.put(&shard_path(dir, &name), bytes);
                tx.delete(&flat);
                moved += 1;
            }
        }
    }
    if records.exists() && matches!(audit::Index::load(records.git, records.tip), Ok(None)) {
        let index = audit::Index::build(records.git, records.tip)?;
        tx.put_json_rows(audit::INDEX, &index)?;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_hold_a_hundred_records_and_trees_of_at_most_a_hundred_entries() {
        let p = |dir, name| shard_path(dir, name);
        assert_eq!(p("cycles", "C-000042.json"), "cycles/00/0/0/C-000042.json");
        assert_eq!(p("cycles", "C-123456.json"), "cycles/12/3/4/C-123456.json");
        assert_eq!(
            p("learning", "C-008760.json"),
            "learning/00/8/7/C-008760.json"
        );
        assert_eq!(
            p("observe/sealed", "000123.keys"),
            "observe/sealed/00/0/1/000123.keys"
        );
        // Past a million the id grows a digit and still has its own place.
        assert_eq!(
            p("cycles", "C-1000000.json"),
            "cycles/100/0/0/C-1000000.json"
        );
        assert_eq!(number("C-000042"), Some(42));
        assert_eq!(number("P-0007"), Some(7));
        assert_eq!(number("000123.recs"), Some(123));
        assert_eq!(number("README.md"), None);
        assert!(is_shard("00") && !is_shard("C-000001.json") && !is_shard(""));
    }

    #[test]
    fn the_next_id_comes_from_the_highest_shard_or_the_flat_records() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        let git = crate::git::Git::open(dir.path()).unwrap();
        let records_at = |paths: &[&str]| {
            let files = paths
                .iter()
                .map(|p| (p.to_string(), Some(b"{}\n".to_vec())))
                .collect();
            let now = crate::clock::parse_ts("2026-01-01T00:00:00Z").unwrap();
            let tip = git.commit_changes(None, &files, "records", now).unwrap();
            Records {
                git: &git,
                branch: "improve/records".into(),
                tip: Some(tip),
            }
        };
        let r = records_at(&[
            "cycles/C-000007.json",
            "cycles/README.md",
            "cycles/00/0/0/C-000042.json",
            "cycles/00/1/2/C-001250.json",
            "cycles/00/1/2/C-001234.json",
            "cycles/01/0/0/C-010001.json",
        ]);
        assert_eq!(r.next_id("cycles", "C-", 6).unwrap(), "C-010002");
        assert_eq!(
            r.ids("cycles", ".json").unwrap(),
            ["C-000007", "C-000042", "C-001234", "C-001250", "C-010001"]
        );
        assert_eq!(
            r.find("cycles", "C-001234", ".json").unwrap().as_deref(),
            Some("cycles/00/1/2/C-001234.json")
        );
        assert_eq!(
            r.find("cycles", "C-000007", ".json").unwrap().as_deref(),
            Some("cycles/C-000007.json")
        );
        assert_eq!(r.find("cycles", "C-000008", ".json").unwrap(), None);
        // An earlier version's flat records only; a directory never sharded.
        let r = records_at(&["cycles/C-000012.json", "cycles/C-000007.json"]);
        assert_eq!(r.next_id("cycles", "C-", 6).unwrap(), "C-000013");
        let r = records_at(&["proposals/P-0009/proposal.yaml", "deployments/D-0003.yaml"]);
        assert_eq!(r.next_id("proposals", "P-", 4).unwrap(), "P-0010");
        assert_eq!(r.next_id("deployments", "D-", 4).unwrap(), "D-0004");
        assert_eq!(r.next_id("cycles", "C-", 6).unwrap(), "C-000001");
    }
}
