//! Runs the OBSERVE phase over a directory with the built-in config and prints the
//! Observation as JSON (used by `bench/run.sh`; the CLI will expose the same).
//!
//! usage: observe DIR [--since RFC3339] [--now RFC3339] [--cursors FILE | --state DIR]
//!                    [--summary]
//! `--cursors FILE` loads the cursors from FILE when it exists and saves them after,
//! so a second run reads only what was appended (every cursor live, as a records layer
//! without sealed segments keeps them). `--state DIR` keeps the read state as a cycle
//! does on the records branch: `DIR/state.json` and the sealed segments in
//! `DIR/sealed/`. `--summary` leaves out the samples.

use anyhow::{bail, Context, Result};
use improve::observe::{self, Cursors, Window};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let (mut since, mut now, mut cursors_file, mut summary) = (None, None, None, false);
    let mut state_dir: Option<std::path::PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--since" => since = args.next(),
            "--now" => now = args.next(),
            "--cursors" => cursors_file = args.next(),
            "--state" => state_dir = args.next().map(Into::into),
            "--summary" => summary = true,
            _ if dir.is_none() && !a.starts_with("--") => dir = Some(a),
            _ => bail!("unexpected argument {a:?}"),
        }
    }
    let dir = dir.context("usage: observe DIR [--since TS] [--now TS] [--cursors FILE]")?;
    let now = improve::clock::now(now.as_deref())?;
    let start = match since {
        Some(s) => improve::clock::parse_ts(&s)?,
        None => now - chrono::Duration::days(7),
    };
    let t0 = std::time::Instant::now();
    let timing = std::env::var_os("OBSERVE_TIMING").is_some();
    let cursors: Cursors = match (&cursors_file, &state_dir) {
        (Some(f), _) if std::path::Path::new(f).exists() => {
            observe::cursors_from_json(&std::fs::read(f)?).context("reading the cursors file")?
        }
        (_, Some(dir)) => load_state(dir, now)?,
        _ => Cursors::new(),
    };
    let cfg = improve::config::Config::builtin();
    let window = Window { start, end: now };
    let t1 = std::time::Instant::now();
    let (mut obs, cursors) = observe::run(std::path::Path::new(&dir), &cfg, cursors, window, now)?;
    let t2 = std::time::Instant::now();
    if let Some(f) = &cursors_file {
        // Replaced atomically but not fsynced: a cycle keeps its cursors in a records
        // commit (libgit2 does not fsync loose objects either), so an fsync here would
        // time the disk, not the incremental cycle.
        let tmp = format!("{f}.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&cursors)?)?;
        std::fs::rename(&tmp, f)?;
    }
    if let Some(dir) = &state_dir {
        save_state(dir, &cursors)?;
    }
    if timing {
        // Where an incremental cycle's time goes (load, observe, save), on stderr.
        eprintln!(
            "timing: cursors load {:?}, observe {:?}, cursors save {:?}",
            t1 - t0,
            t2 - t1,
            t2.elapsed()
        );
    }
    if summary {
        obs.samples.clear();
    }
    println!("{}", serde_json::to_string_pretty(&obs)?);
    Ok(())
}

/// The read state as a cycle keeps it: `state.json` (the live cursors) and the sealed
/// segments, whose `.keys` files every run reads.
fn load_state(dir: &std::path::Path, now: improve::clock::Timestamp) -> Result<Cursors> {
    let mut c = match std::fs::read(dir.join("state.json")) {
        Ok(b) => observe::cursors_from_json(&b).context("reading state.json")?,
        Err(_) => Cursors::new(),
    };
    let sealed = dir.join("sealed");
    let names: Vec<String> = std::fs::read_dir(&sealed)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    // The built-in window_max (7 days): segments re-checked every 84 hours.
    let recheck = observe::recheck_hours(chrono::Duration::days(7));
    c.load_sealed(
        &names,
        |n| Ok(std::fs::read(sealed.join(n)).ok()),
        observe::Recheck::at(now, recheck),
    )?;
    Ok(c)
}

/// Writes what changed: `state.json`, and the segments written or deleted this run.
fn save_state(dir: &std::path::Path, c: &Cursors) -> Result<()> {
    let sealed = dir.join("sealed");
    std::fs::create_dir_all(&sealed)?;
    std::fs::write(dir.join("state.json"), serde_json::to_vec(c)?)?;
    for (path, bytes) in c.to_files() {
        let name = path.rsplit('/').next().unwrap_or(&path);
        match bytes {
            Some(b) => std::fs::write(sealed.join(name), b)?,
            None => std::fs::remove_file(sealed.join(name))?,
        }
    }
    Ok(())
}
