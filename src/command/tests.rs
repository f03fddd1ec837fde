use super::*;

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

fn pids(stdout: &str) -> Vec<i32> {
    stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn a_background_child_holding_the_pipe_does_not_keep_the_caller_waiting() {
    let started = Instant::now();
    let r = run(
        &sh("sleep 60 & echo $!"),
        Path::new("/"),
        &[],
        None,
        Duration::from_secs(50),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "{r:?}");
    assert_eq!(r.exit_code, Some(0));
    let bg = pids(&r.stdout);
    assert_eq!(bg.len(), 1, "{r:?}");
    assert!(!alive(bg[0]), "the background sleep {} survived", bg[0]);
}

#[test]
fn a_timeout_kills_the_whole_group_and_says_so() {
    let started = Instant::now();
    let r = run_limited(
        &sh("sleep 60 & echo $!; sleep 60"),
        Path::new("/"),
        &[],
        None,
        Limits::timeout(Duration::from_millis(500)),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "{r:?}");
    assert!(r.timed_out);
    assert_eq!(r.stopped_by, Some(StopCause::Timeout));
    assert_eq!(r.outcome(), Outcome::TimedOut);
    assert_eq!(r.signal, Some(libc::SIGTERM));
    for p in pids(&r.stdout) {
        assert!(!alive(p), "{p} survived");
    }
}

#[test]
fn the_deadline_stops_a_command_before_its_own_timeout() {
    let started = Instant::now();
    let r = run_limited(
        &sh("sleep 60"),
        Path::new("/"),
        &[],
        None,
        Limits {
            timeout: Duration::from_secs(60),
            deadline: Some(Instant::now() + Duration::from_millis(300)),
        },
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(r.stopped_by, Some(StopCause::Deadline));
    assert!(r.outcome().is_inconclusive());
    // A spent budget starts nothing.
    let r = run_limited(
        &sh("echo ran > /dev/stderr"),
        Path::new("/"),
        &[],
        None,
        Limits {
            timeout: Duration::from_secs(60),
            deadline: Some(Instant::now()),
        },
    )
    .unwrap();
    assert_eq!(r.stopped_by, Some(StopCause::Deadline));
    assert!(!r.output_tail.contains("ran"), "{r:?}");
}

#[test]
fn sigterm_is_followed_by_sigkill_for_a_child_that_ignores_it() {
    let started = Instant::now();
    let r = run_limited(
        &sh("trap '' TERM; echo $$; while :; do sleep 1; done"),
        Path::new("/"),
        &[],
        None,
        Limits::timeout(Duration::from_millis(300)),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(r.signal, Some(libc::SIGKILL), "{r:?}");
    for p in pids(&r.stdout) {
        assert!(!alive(p), "{p} survived");
    }
}

#[test]
fn a_daemon_that_left_the_group_is_found_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("daemon.pid");
    // Double fork into a new session: outside the process group, still on our pipe.
    let script = format!(
        "setsid sh -c 'echo $$ > {p}; exec sleep 60' & sleep 0.2; while [ ! -s {p} ]; do sleep 0.05; done; echo started",
        p = pidfile.display()
    );
    let started = Instant::now();
    let r = run(&sh(&script), dir.path(), &[], None, Duration::from_secs(50)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "{r:?}");
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("started"));
    let daemon: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(daemon), "the daemon {daemon} survived");
    assert_eq!(r.leftovers_killed, 1, "{r:?}");
}

#[test]
fn input_a_command_never_reads_cannot_block_the_caller() {
    let input = vec![b'x'; 4 << 20];
    let started = Instant::now();
    let r = run(
        &sh("sleep 60"),
        Path::new("/"),
        &[],
        Some(&input),
        Duration::from_millis(300),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(r.timed_out);
    let r = run(
        &sh("wc -c"),
        Path::new("/"),
        &[],
        Some(b"four"),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(r.stdout.trim(), "4");
}

#[test]
fn could_not_run_is_told_apart_from_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    for argv in [
        vec!["/nonexistent/improve-test-program".to_string()],
        vec![script.display().to_string()],
    ] {
        let r = run_limited(
            &argv,
            dir.path(),
            &[],
            None,
            Limits::timeout(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(r.outcome(), Outcome::CouldNotRun, "{r:?}");
        assert!(
            r.spawn_error.as_deref().unwrap().contains("cannot run"),
            "{r:?}"
        );
        assert!(run(&argv, dir.path(), &[], None, Duration::from_secs(5)).is_err());
    }
    let r = run_limited(
        &sh("echo no >&2; exit 3"),
        dir.path(),
        &[],
        None,
        Limits::timeout(Duration::from_secs(5)),
    )
    .unwrap();
    assert_eq!(r.outcome(), Outcome::Failed);
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.output_tail, "no");
    assert!(!r.outcome().is_inconclusive());
}

#[test]
fn records_written_before_these_fields_still_read() {
    let old = r#"{"argv":["make","test"],"dir":"/tmp/x","exit_code":0,"timed_out":false,"millis":12,"output_tail":"ok"}"#;
    let r: RunRecord = serde_json::from_str(old).unwrap();
    assert_eq!(r.outcome(), Outcome::Passed);
    let back = serde_json::to_string(&r).unwrap();
    assert_eq!(back, old, "a plain run serialises as before");
}

#[test]
fn only_the_end_of_a_long_output_is_kept() {
    let r = run(
        &sh("i=0; while [ $i -lt 5 ]; do head -c 1048576 /dev/zero | tr '\\0' 'a'; echo; i=$((i+1)); done; echo '{\"m\": 1}'"),
        Path::new("/"),
        &[],
        None,
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(r.stdout.len() as u64 <= KEEP_BYTES);
    assert!(r.stdout.ends_with("{\"m\": 1}\n"));
    assert!(r.stdout.starts_with('a'));
}
