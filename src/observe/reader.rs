//! Streaming line reader with a resumable cursor: fixed-size buffered reads (memory
//! does not grow with the file), only the bytes after the cursor, a re-read from the
//! start after rotation or truncation, and a last line without '\n' left for next time.

use super::{identity, Cursor};
use memchr::memchr;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Longest line decoded; longer ones are skipped (and never buffered whole).
pub const MAX_LINE: usize = 1 << 20;
/// Bytes asked of the kernel per read.
const CHUNK: usize = 1 << 20;

/// What the reader hands to the decoder for one complete line.
pub enum Line<'a> {
    /// A complete line (without its '\n' or a trailing '\r').
    Text(&'a [u8]),
    /// A line longer than MAX_LINE, skipped unread.
    TooLong,
}

/// A reusable read buffer (one per thread).
pub struct Buf(Vec<u8>);

impl Default for Buf {
    fn default() -> Self {
        Buf(vec![0; MAX_LINE + CHUNK + 1])
    }
}

/// What the decoder tells the reader after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The line was consumed (used, counted or skipped).
    Go,
    /// Leave this line and everything after it for a later cycle: the cursor stays
    /// before it (a line stamped after the window, see `window::When::Hold`).
    Hold,
}

/// Why a file with a cursor was read from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Another inode at the path (rotated, or deleted and recreated).
    Inode,
    /// Shorter than the cursor's offset (truncated).
    Truncated,
    /// Same inode and long enough, but other first bytes: deleted and recreated on a
    /// reused inode, or truncated and regrown past the old offset.
    Fingerprint,
}

/// The outcome of one read.
#[derive(Debug)]
pub struct ReadOutcome {
    pub cursor: Cursor,
    /// Bytes consumed.
    pub bytes: u64,
    /// Set when a cursor was there but reading started from 0.
    pub restart: Option<Restart>,
    /// A line was held back for a later cycle.
    pub held: bool,
}

/// Where to start reading by the listing alone: the cursor if the file is the same
/// inode and not shorter, else from 0 (rotated: new inode; truncated: smaller than the
/// cursor). `read_lines` also checks the fingerprint.
pub fn start_of(cursor: Option<&Cursor>, inode: u64, size: u64) -> (u64, u64) {
    match cursor {
        Some(c) if c.resumes(inode, size) => (c.offset, c.line),
        _ => (0, 0),
    }
}

/// The file as `stat` saw it just before the read.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub inode: u64,
    pub size: u64,
    pub mtime: i64,
}

/// Reads `path` from the cursor, calling `f(line_number, line)` for every complete line
/// until it answers `Flow::Hold`. The cursor is resumed only if the file's first bytes
/// still have the cursor's fingerprint; the new cursor carries the fingerprint of the
/// first `min(offset, FP_BYTES)` bytes and the mtime of `st`.
pub fn read_lines(
    path: &Path,
    cursor: Option<&Cursor>,
    st: Stat,
    buf: &mut Buf,
    mut f: impl FnMut(u64, Line<'_>) -> Flow,
) -> std::io::Result<ReadOutcome> {
    let (mut offset, mut line_no) = start_of(cursor, st.inode, st.size);
    let mut restart = match cursor {
        Some(c) if c.inode != st.inode => Some(Restart::Inode),
        Some(c) if st.size < c.offset => Some(Restart::Truncated),
        _ => None,
    };
    let mut file = std::fs::File::open(path)?;
    // The fingerprint the new cursor inherits, if the prefix it covers is unchanged.
    let mut fp = 0;
    if let Some(c) = cursor.filter(|_| offset > 0) {
        if c.fp != 0 && identity::fingerprint_of(&file, c.fp_len())? != c.fp {
            restart = Some(Restart::Fingerprint);
            (offset, line_no) = (0, 0);
        } else {
            fp = c.fp;
        }
    }
    let mut out = Cursor {
        offset,
        line: line_no,
        inode: st.inode,
        size: st.size,
        sealed: false,
        mtime: st.mtime,
        fp: 0,
    };
    let start = offset;
    let mut held = false;
    if offset < st.size {
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        let buf = &mut buf.0;
        // buf[lo..hi] holds unconsumed bytes; `base` is the file offset of buf[0].
        let (mut lo, mut hi) = (0usize, 0usize);
        let mut base = offset;
        let mut discarding = false;
        'read: loop {
            if discarding {
                match memchr(b'\n', &buf[lo..hi]) {
                    Some(k) => {
                        lo += k + 1;
                        discarding = false;
                        line_no += 1;
                        // A line too long to decode has no timestamp to hold it by.
                        f(line_no, Line::TooLong);
                        out.offset = base + lo as u64;
                        out.line = line_no;
                    }
                    None => lo = hi,
                }
            }
            if !discarding {
                while let Some(k) = memchr(b'\n', &buf[lo..hi]) {
                    let mut line = &buf[lo..lo + k];
                    if let [rest @ .., b'\r'] = line {
                        line = rest;
                    }
                    let l = if line.len() > MAX_LINE {
                        Line::TooLong
                    } else {
                        Line::Text(line)
                    };
                    if f(line_no + 1, l) == Flow::Hold {
                        held = true;
                        out.offset = base + lo as u64;
                        out.line = line_no;
                        break 'read;
                    }
                    line_no += 1;
                    lo += k + 1;
                }
                out.offset = base + lo as u64;
                out.line = line_no;
                if hi - lo > MAX_LINE {
                    // The cursor stays before this line: if it is never completed it is
                    // re-examined next cycle rather than lost.
                    discarding = true;
                    lo = hi;
                }
            }
            if lo > 0 {
                buf.copy_within(lo..hi, 0);
                base += lo as u64;
                hi -= lo;
                lo = 0;
            }
            if base + hi as u64 >= st.size {
                // Everything the stat promised is in: bytes written since are next
                // cycle's, and the read that would return 0 is saved (one syscall a file).
                break;
            }
            let n = file.read(&mut buf[hi..])?;
            if n == 0 {
                break;
            }
            hi += n;
        }
        out.size = out.size.max(base + hi as u64);
    }
    out.fp = if out.offset == 0 {
        0
    } else if fp != 0 && out.fp_len() == start.min(identity::FP_BYTES) {
        fp
    } else {
        identity::fingerprint_of(&file, out.fp_len())?
    };
    if held {
        // Read again next cycle even if the file does not change: the held line is
        // there, waiting for the clock (a cursor without an mtime is never current).
        out.mtime = 0;
    }
    Ok(ReadOutcome {
        bytes: out.offset - start,
        cursor: out,
        restart,
        held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(path: &Path) -> Stat {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).unwrap();
        Stat {
            inode: m.ino(),
            size: m.len(),
            mtime: identity::mtime_ns(&m),
        }
    }

    fn read_until(
        path: &Path,
        cursor: Option<&Cursor>,
        hold: &str,
    ) -> (Vec<(u64, String)>, ReadOutcome) {
        let mut got = vec![];
        let r = read_lines(path, cursor, stat(path), &mut Buf::default(), |n, l| {
            let text = match l {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong => "<long>".into(),
            };
            if !hold.is_empty() && text.starts_with(hold) {
                return Flow::Hold;
            }
            got.push((n, text));
            Flow::Go
        })
        .unwrap();
        (got, r)
    }

    fn collect(path: &Path, cursor: Option<&Cursor>) -> (Vec<(u64, String)>, Cursor) {
        let (got, r) = read_until(path, cursor, "");
        (got, r.cursor)
    }

    #[test]
    fn partial_last_line_waits_for_its_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "one\ntwo\nthr").unwrap();
        let (got, c) = collect(&p, None);
        assert_eq!(got, vec![(1, "one".into()), (2, "two".into())]);
        assert_eq!((c.offset, c.line), (8, 2));
        std::fs::write(&p, "one\ntwo\nthree\r\n").unwrap();
        let (got, c2) = collect(&p, Some(&c));
        assert_eq!(got, vec![(3, "three".into())]);
        assert_eq!(c2.offset, 15);
    }

    #[test]
    fn a_file_grown_since_its_stat_is_read_as_far_as_the_read_got() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "one\ntwo\nthr").unwrap();
        let mut got = vec![];
        // The stat saw 4 bytes; the file has 11 by the time it is read.
        let st = Stat {
            size: 4,
            ..stat(&p)
        };
        let r = read_lines(&p, None, st, &mut Buf::default(), |n, _| {
            got.push(n);
            Flow::Go
        })
        .unwrap();
        let c = r.cursor;
        assert_eq!((got, c.offset, c.size, r.bytes), (vec![1, 2], 8, 11, 8));
        std::fs::write(&p, "one\ntwo\nthree\n").unwrap();
        let (got, c2) = collect(&p, Some(&c));
        assert_eq!((got, c2.offset), (vec![(3, "three".into())], 14));
    }

    #[test]
    fn long_lines_are_skipped_without_buffering_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        let long = "x".repeat(3 * MAX_LINE + 7);
        std::fs::write(&p, format!("a\n{long}\nb\n{long}")).unwrap();
        let (got, c) = collect(&p, None);
        assert_eq!(
            got,
            vec![(1, "a".into()), (2, "<long>".into()), (3, "b".into())]
        );
        assert_eq!(c.line, 3);
        assert_eq!(c.offset as usize, 2 + long.len() + 1 + 2);
    }

    #[test]
    fn a_held_line_and_all_after_it_wait_for_the_next_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "a\nb\nlater 1\nc\n").unwrap();
        let (got, r) = read_until(&p, None, "later");
        assert!(r.held);
        assert_eq!(got, vec![(1, "a".into()), (2, "b".into())]);
        assert_eq!((r.cursor.offset, r.cursor.line, r.bytes), (4, 2, 4));
        // Next time the line is no longer held: read from it, numbered as before.
        let (got, r) = read_until(&p, Some(&r.cursor), "");
        assert!(!r.held);
        assert_eq!(got, vec![(3, "later 1".into()), (4, "c".into())]);
        assert_eq!(r.cursor.offset, 14);
    }

    #[test]
    fn the_same_inode_with_other_first_bytes_is_read_from_the_start() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "first 1\nfirst 2\n").unwrap();
        let (_, c) = collect(&p, None);
        assert_eq!(c.fp, identity::fingerprint(b"first 1\nfirst 2\n"));
        // Appended: resumed, the fingerprint of the same prefix kept.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"first 3\n")
            .unwrap();
        let (got, r) = read_until(&p, Some(&c), "");
        assert_eq!((got.len(), r.restart), (1, None));
        assert_eq!(
            r.cursor.fp,
            identity::fingerprint(b"first 1\nfirst 2\nfirst 3\n")
        );
        // Truncated and rewritten in place (same inode), longer than the old offset.
        let ino = stat(&p).inode;
        std::fs::write(&p, "other 1\nother 2\nother 3\nother 4\n").unwrap();
        assert_eq!(stat(&p).inode, ino);
        let (got, r) = read_until(&p, Some(&r.cursor), "");
        assert_eq!(r.restart, Some(Restart::Fingerprint));
        assert_eq!(got.first(), Some(&(1, "other 1".to_string())));
        assert_eq!(got.len(), 4);
        // A cursor of an earlier version (no fingerprint) resumes on the inode alone.
        let legacy = Cursor {
            fp: 0,
            mtime: 0,
            ..r.cursor.clone()
        };
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"other 5\n")
            .unwrap();
        let (got, r) = read_until(&p, Some(&legacy), "");
        assert_eq!((got, r.restart), (vec![(5, "other 5".into())], None));
        assert_ne!(r.cursor.fp, 0, "the fingerprint is learnt");
    }

    use std::io::Write as _;
}
