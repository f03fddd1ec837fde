//! How a log file is recognised from one cycle to the next: its path, its inode, and a
//! fingerprint of its first bytes. An inode alone is not an identity (a log deleted and
//! recreated often gets the same one back), so a file whose first bytes changed is a
//! new file and is read from its start.
//!
//! Every hash here is persisted (cursor rows, sealed segments): FNV-1a and the
//! SplitMix64 finaliser are fixed, unlike the standard library's hasher.

/// Bytes at the start of a file that its fingerprint covers (fewer when fewer were
/// read): enough to hold the first line of every log format the tool reads, and with
/// it the first timestamp, which a recreated log does not share with the old one.
pub const FP_BYTES: u64 = 1024;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `h` (start with [`path_hash_start`]).
#[inline]
pub fn fnv_continue(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(FNV_PRIME);
    }
    h
}

/// The state of an empty path hash.
pub fn path_hash_start() -> u64 {
    FNV_OFFSET
}

/// Hash of a repository-relative path. The walk computes the same value from the
/// directory's state and the file name, without building the path string.
pub fn path_hash(rel: &str) -> u64 {
    fnv_continue(FNV_OFFSET, rel.as_bytes())
}

/// SplitMix64's finaliser: spreads every input bit over the output.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of a retired file in the sealed segments: its path and inode together, so
/// that a file renamed over the path (another inode) is not taken for the old one.
#[inline]
pub fn file_key(path_hash: u64, inode: u64) -> u64 {
    mix(path_hash ^ mix(inode.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// Fingerprint of a file's first bytes; never 0, which stands for "not known" (cursors
/// written before fingerprints existed).
pub fn fingerprint(first: &[u8]) -> u64 {
    match mix(fnv_continue(FNV_OFFSET, first)) {
        0 => 1,
        h => h,
    }
}

/// Modification time in nanoseconds since the epoch (0 is "not known").
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    mtime_ns_of(meta.mtime(), meta.mtime_nsec())
}

/// `mtime_ns` from a `stat`'s seconds and nanoseconds.
pub fn mtime_ns_of(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// Reads the first `n` bytes of `file` (fewer if it is shorter) without moving its
/// position, and returns their fingerprint.
pub fn fingerprint_of(file: &std::fs::File, n: u64) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; n.min(FP_BYTES) as usize];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64)? {
            0 => break,
            k => got += k,
        }
    }
    Ok(fingerprint(&buf[..got]))
}

/// A file name for messages: valid UTF-8 as is, other bytes as `\xNN`.
pub fn escape_name(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_fixed_and_the_walk_can_build_them_piecewise() {
        // Persisted values: a change here orphans every sealed segment on record.
        assert_eq!(path_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(path_hash("a"), 0xaf63_dc4c_8601_ec8c);
        let dir = fnv_continue(path_hash_start(), b"logs/traversal/");
        assert_eq!(
            fnv_continue(dir, b"traversal_1.jsonl"),
            path_hash("logs/traversal/traversal_1.jsonl")
        );
        assert_ne!(file_key(path_hash("a"), 1), file_key(path_hash("a"), 2));
        assert_ne!(file_key(path_hash("a"), 1), file_key(path_hash("b"), 1));
        assert_ne!(fingerprint(b""), 0);
        assert_ne!(fingerprint(b"{\"a\":1}\n"), fingerprint(b"{\"a\":2}\n"));
        assert_eq!(escape_name(b"ok\xffname\xc3\xa9"), "ok\\xffname\u{e9}");
    }
}
