//! The `improve/records` branch: everything the tool records, committed by the tool
//! alone, fast-forward only, written with plumbing. A phase gathers its writes in a
//! [`Tx`] and lands them as one commit with an expected-old ref update, so a record is
//! either wholly there or not at all, and a concurrent writer fails instead of losing
//! data. Every Tx carries at least one audit entry (V2). How records are laid out so
//! that a commit stays small however long the history is: `layout`.

pub mod layout;
pub mod state;

pub use state::State;

use crate::audit::{self, AuditEntry};
use crate::clock::{fmt_ts, Timestamp};
use crate::git::Git;
use anyhow::{bail, Result};
use git2::Oid;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;

/// `value` as pretty JSON with every array on one line, and a final newline.
fn json_rows<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut b,
        RowFormatter::default(),
    ))?;
    b.push(b'\n');
    Ok(b)
}

/// Pretty objects with arrays written inline (`put_json_rows`).
#[derive(Default)]
struct RowFormatter {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    compact: serde_json::ser::CompactFormatter,
}

impl serde_json::ser::Formatter for RowFormatter {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.compact.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.compact.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.compact.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.compact.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// A YAML record read from `path`; one that does not parse is an error naming its
/// file and line.
pub fn parse_yaml<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T> {
    serde_yaml::from_slice(bytes).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        let msg = e.to_string();
        // serde_yaml appends " at line L column C"; the error names the line itself.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        record_error(path, line, &msg)
    })
}

fn record_error(path: &str, line: usize, message: &str) -> anyhow::Error {
    crate::error::Error::Record {
        file: path.to_string(),
        line,
        message: message.to_string(),
    }
    .into()
}

/// Read access to the records branch at one tip.
pub struct Records<'g> {
    pub git: &'g Git,
    pub branch: String,
    pub tip: Option<Oid>,
}

impl<'g> Records<'g> {
    pub fn open(git: &'g Git, branch: &str) -> Result<Records<'g>> {
        let tip = git.ref_oid(branch)?;
        Ok(Records {
            git,
            branch: branch.to_string(),
            tip,
        })
    }

    /// Re-reads the tip (after a commit by this process).
    pub fn refresh(&mut self) -> Result<()> {
        self.tip = self.git.ref_oid(&self.branch)?;
        Ok(())
    }

    pub fn exists(&self) -> bool {
        self.tip.is_some()
    }

    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.tip {
            Some(t) => self.git.read_file(t, path),
            None => Ok(None),
        }
    }

    pub fn read_string(&self, path: &str) -> Result<Option<String>> {
        Ok(self
            .read(path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// A JSON record; one that does not parse is an error naming its file and line.
    pub fn read_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let Some(b) = self.read(path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&b).map(Some).map_err(|e| {
            record_error(
                path,
                e.line(),
                &e.to_string()
                    .replace(&format!(" at line {} column {}", e.line(), e.column()), ""),
            )
        })
    }

    /// A YAML record; one that does not parse is an error naming its file and line.
    pub fn read_yaml<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let Some(b) = self.read(path)? else {
            return Ok(None);
        };
        parse_yaml(path, &b).map(Some)
    }

    /// Names directly below `dir`, sorted.
    pub fn list(&self, dir: &str) -> Result<Vec<String>> {
        let mut v = match self.tip {
            Some(t) => self.git.list_dir(t, dir)?,
            None => vec![],
        };
        v.sort();
        Ok(v)
    }

    /// One value per name under `dir` (sorted), read by `read`; a name it reads as
    /// nothing is skipped. How a store loads all of its records.
    pub fn read_each<T>(
        &self,
        dir: &str,
        mut read: impl FnMut(&str) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        let mut out = vec![];
        for name in self.list(dir)? {
            if let Some(t) = read(&name)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// The next free id with `prefix` (`P-`, `D-`, `C-`) among the names in `dir`, or in
    /// its shards (`layout`): a few tree reads, whatever the history.
    pub fn next_id(&self, dir: &str, prefix: &str, width: usize) -> Result<String> {
        let max = self.last_number(dir, prefix)?.unwrap_or(0);
        Ok(format!("{prefix}{:0width$}", max + 1))
    }

    /// Starts a transaction on the current tip.
    pub fn tx(&self) -> Tx {
        Tx {
            base: self.tip,
            writes: BTreeMap::new(),
            appends: BTreeMap::new(),
            audit: vec![],
            csv_headers: BTreeMap::new(),
        }
    }
}

/// A set of record writes that land as one commit.
#[must_use = "a Tx does nothing until committed"]
pub struct Tx {
    base: Option<Oid>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
    appends: BTreeMap<String, Vec<u8>>,
    audit: Vec<audit::Pending>,
    csv_headers: BTreeMap<String, String>,
}

impl Tx {
    pub fn put(&mut self, path: &str, bytes: Vec<u8>) {
        self.writes.insert(path.to_string(), Some(bytes));
    }

    pub fn put_json<T: Serialize>(&mut self, path: &str, value: &T) -> Result<()> {
        let mut b = serde_json::to_vec_pretty(value)?;
        b.push(b'\n');
        self.put(path, b);
        Ok(())
    }

    /// Like `put_json`, but every array on one line: for records that hold thousands
    /// of short rows of scalars (the cursors of `state.json`), one line per row keeps
    /// the file small and its diff to the lines that changed.
    pub fn put_json_rows<T: Serialize>(&mut self, path: &str, value: &T) -> Result<()> {
        self.put(path, json_rows(value)?);
        Ok(())
    }

    pub fn put_yaml<T: Serialize>(&mut self, path: &str, value: &T) -> Result<()> {
        self.put(path, serde_yaml::to_string(value)?.into_bytes());
        Ok(())
    }

    pub fn delete(&mut self, path: &str) {
        self.writes.insert(path.to_string(), None);
    }

    /// Appends bytes to a file (JSONL, CSV) at commit time.
    pub fn append(&mut self, path: &str, bytes: &[u8]) {
        self.appends
            .entry(path.to_string())
            .or_default()
            .extend_from_slice(bytes);
    }

    /// Appends CSV rows, writing `header` first when the file is new.
    pub fn append_csv(&mut self, path: &str, header: &str, rows: &str) {
        self.csv_headers
            .insert(path.to_string(), header.to_string());
        self.append(path, rows.as_bytes());
    }

    /// Records an audit entry for this transaction (hashed and chained at commit).
    pub fn audit(&mut self, phase: &str, action: &str, subject: &str, detail: serde_json::Value) {
        self.audit.push(audit::Pending {
            phase: phase.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            detail,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.appends.is_empty() && self.audit.is_empty()
    }

    /// Lands the transaction as one commit on the records branch. Refuses a Tx
    /// without an audit entry (V2). Returns the new tip.
    pub fn commit(
        self,
        records: &mut Records,
        cycle: &str,
        now: Timestamp,
        summary: &str,
    ) -> Result<Oid> {
        if self.audit.is_empty() {
            bail!("internal: records commit without an audit entry ({summary})");
        }
        let git = records.git;
        if git.ref_oid(&records.branch)? != self.base {
            bail!(
                "the records branch {} moved while this cycle ran; nothing was written",
                records.branch
            );
        }
        let mut changes = self.writes;
        for (path, extra) in self.appends {
            let mut current = match changes.get(&path) {
                Some(Some(b)) => b.clone(),
                Some(None) => vec![],
                None => match self.base {
                    Some(b) => git.read_file(b, &path)?.unwrap_or_default(),
                    None => vec![],
                },
            };
            if current.is_empty() {
                if let Some(h) = self.csv_headers.get(&path) {
                    current.extend_from_slice(h.as_bytes());
                }
            }
            if !current.is_empty() && !current.ends_with(b"\n") {
                current.push(b'\n');
            }
            current.extend_from_slice(&extra);
            changes.insert(path, Some(current));
        }
        // Chain the audit entries after the current head of the log.
        let mut head = audit::head(git, self.base)?;
        let (mut index, mut indexed) = deploy_index(git, self.base, head.seq)?;
        let mut audit_lines: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for p in self.audit {
            let entry = AuditEntry::chain(&head, now, cycle, p);
            let path = audit::file_for(now, head.file.as_deref());
            if let Some(i) = index.as_mut() {
                indexed |= i.note(&entry, &path);
            }
            let line = entry.to_line();
            head = audit::Head {
                seq: entry.seq,
                hash: entry.hash.clone(),
                file: Some(path.clone()),
            };
            audit_lines
                .entry(path)
                .or_default()
                .extend_from_slice(&line);
        }
        for (path, lines) in audit_lines {
            let mut current = match self.base {
                Some(b) => git.read_file(b, &path)?.unwrap_or_default(),
                None => vec![],
            };
            current.extend_from_slice(&lines);
            changes.insert(path, Some(current));
        }
        if let Some(i) = index.filter(|_| indexed) {
            changes.insert(audit::INDEX.to_string(), Some(json_rows(&i)?));
        }
        let message = format!(
            "improve: {summary}\n\nImprove-Cycle: {cycle}\nImprove-Time: {}\n",
            fmt_ts(now)
        );
        crate::crash::point("records-before-commit");
        let new = git.commit_changes(self.base, &changes, &message, now)?;
        git.update_ref(&records.branch, new, self.base, "improve: records")?;
        crate::crash::point("records-after-commit");
        audit::save_anchor(git, new, &head)?;
        records.tip = Some(new);
        Ok(new)
    }
}

/// The deployment index a commit on `base` (whose chain ends at `seq`) keeps up, and
/// whether it must be written even if no entry is added: the one on record; a new one
/// on a new chain; none on records of an earlier version (the cycle builds it from the
/// whole chain once, `layout::upgrade`). One that cannot be read is rebuilt, so it
/// never stops a commit.
fn deploy_index(git: &Git, base: Option<Oid>, seq: u64) -> Result<(Option<audit::Index>, bool)> {
    match audit::Index::load(git, base) {
        Ok(Some(i)) => Ok((Some(i), false)),
        Ok(None) if seq == 0 => Ok((Some(audit::Index::default()), true)),
        Ok(None) => Ok((None, false)),
        Err(_) => Ok((Some(audit::Index::build(git, base)?), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_one_line_each_inside_pretty_objects() {
        let state = super::state::State {
            cursors: [
                ("logs/a.jsonl", [1, 1, 7, 1], false),
                ("logs/b.jsonl", [9, 2, 8, 9], true),
            ]
            .into_iter()
            .map(|(p, [offset, line, inode, size], sealed)| {
                let c = crate::observe::Cursor {
                    offset,
                    line,
                    inode,
                    size,
                    sealed,
                    ..Default::default()
                };
                (p.to_string(), c)
            })
            .collect(),
            last_cycle: Some("C-000001".into()),
            ..Default::default()
        };
        let text = String::from_utf8(json_rows(&state).unwrap()).unwrap();
        assert!(text.starts_with(
            "{\n  \"cursors\": {\n    \"logs/a.jsonl\": [1,1,7,1],\n    \"logs/b.jsonl\": [9,2,8,9,true]\n  },\n  \"last_cycle\": \"C-000001\","
        ), "{text}");
        let back: super::state::State = serde_json::from_str(&text).unwrap();
        assert_eq!(back.cursors, state.cursors);
        assert_eq!(json_rows(&Vec::<u8>::new()).unwrap(), b"[]\n");
    }
}
