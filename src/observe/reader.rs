//! Streaming line reader with a resumable cursor: fixed-size buffered reads (memory
//! does not grow with the file), only the bytes after the cursor, a re-read from the
//! start after rotation or truncation, and a last line without '\n' left for next time.

use super::Cursor;
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

/// Where to start reading: the cursor if the file is the same and not shorter,
/// else from 0 (rotated: new inode; truncated: smaller than the cursor).
pub fn start_of(cursor: Option<&Cursor>, inode: u64, size: u64) -> (u64, u64) {
    match cursor {
        Some(c) if c.inode == inode && size >= c.offset => (c.offset, c.line),
        _ => (0, 0),
    }
}

/// Reads `path` from the cursor, calling `f(line_number, line)` for every complete line.
/// Returns the new cursor and the number of bytes consumed.
pub fn read_lines(
    path: &Path,
    cursor: Option<&Cursor>,
    inode: u64,
    size: u64,
    buf: &mut Buf,
    mut f: impl FnMut(u64, Line<'_>),
) -> std::io::Result<(Cursor, u64)> {
    let (offset, mut line_no) = start_of(cursor, inode, size);
    let mut out = Cursor {
        offset,
        line: line_no,
        inode,
        size,
        sealed: false,
    };
    if offset == size {
        return Ok((out, 0));
    }
    let mut file = std::fs::File::open(path)?;
    if offset > 0 {
        file.seek(SeekFrom::Start(offset))?;
    }
    let buf = &mut buf.0;
    // buf[lo..hi] holds unconsumed bytes; `base` is the file offset of buf[0].
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut base = offset;
    let mut discarding = false;
    loop {
        if discarding {
            match memchr(b'\n', &buf[lo..hi]) {
                Some(k) => {
                    lo += k + 1;
                    discarding = false;
                    line_no += 1;
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
                line_no += 1;
                if line.len() > MAX_LINE {
                    f(line_no, Line::TooLong);
                } else {
                    f(line_no, Line::Text(line));
                }
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
        if base + hi as u64 >= size {
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
    let consumed = out.offset - offset;
    Ok((out, consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(path: &Path, cursor: Option<&Cursor>) -> (Vec<(u64, String)>, Cursor) {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).unwrap();
        let mut got = vec![];
        let (c, _) = read_lines(
            path,
            cursor,
            m.ino(),
            m.len(),
            &mut Buf::default(),
            |n, l| {
                got.push((
                    n,
                    match l {
                        Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        Line::TooLong => "<long>".into(),
                    },
                ))
            },
        )
        .unwrap();
        (got, c)
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
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "one\ntwo\nthr").unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        let mut got = vec![];
        // The stat saw 4 bytes; the file has 11 by the time it is read.
        let (c, n) = read_lines(&p, None, ino, 4, &mut Buf::default(), |n, _| got.push(n)).unwrap();
        assert_eq!((got, c.offset, c.size, n), (vec![1, 2], 8, 11, 8));
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
}
