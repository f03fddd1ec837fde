//! Runs a configured command: argv only (never a shell), in a given directory, with a
//! timeout after which the process is killed. Nothing from logs reaches the argv.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub argv: Vec<String>,
    pub dir: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub millis: u64,
    /// The last lines of stdout and stderr (bounded).
    pub output_tail: String,
    #[serde(skip)]
    pub stdout: String,
}

impl RunRecord {
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

fn tail(s: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

/// Runs `argv` in `dir`, feeding `stdin` if given, killing it after `timeout`.
pub fn run(
    argv: &[String],
    dir: &Path,
    envs: &[(&str, String)],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<RunRecord> {
    let (prog, args) = argv.split_first().context("empty command")?;
    let started = Instant::now();
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {argv:?} in {}", dir.display()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = pipe.write_all(input);
    }
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            timed_out = true;
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ok(RunRecord {
        argv: argv.to_vec(),
        dir: dir.display().to_string(),
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        millis: started.elapsed().as_millis() as u64,
        output_tail: format!("{}\n{}", tail(&stdout, 20), tail(&stderr, 20))
            .trim()
            .to_string(),
        stdout,
    })
}
