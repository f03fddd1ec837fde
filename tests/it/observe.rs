//! What a production host does to the logs under the cycle, driven through the binary:
//! a log recreated on a reused inode, and clocks that jump forward and step back.
//! Each writes a line for the suite's closing summary.

use crate::reliability::summary;
use crate::support::*;
use std::os::unix::fs::MetadataExt;

fn agent_lines(n: usize, start: chrono::DateTime<chrono::Utc>, tool: &str) -> String {
    (0..n)
        .map(|i| {
            let ts = start + chrono::Duration::milliseconds(i as i64 * 500);
            format!(
                "{{\"ts\":\"{}\",\"session\":\"s\",\"event\":\"tool_call\",\"tool\":\"{tool}{i}\",\"ok\":true}}\n",
                ts.format("%Y-%m-%dT%H:%M:%S%.3fZ")
            )
        })
        .collect()
}

fn num(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[test]
fn a_log_recreated_on_a_reused_inode_is_read_whole() {
    let env = Env::new();
    let rel = "logs/agents/tools.jsonl";
    env.write(rel, &agent_lines(6000, h(0), "q"));
    let r = env.cycle_json(&at(1));
    assert_eq!(
        (num(&r, "lines_read"), num(&r, "skipped_total")),
        (6000, 0),
        "{r}"
    );
    let ino = std::fs::metadata(env.path(rel)).unwrap().ino();
    // Deleted and recreated on the same inode: ext4 and tmpfs hand a freed inode back
    // to the next file created, unless a file created meanwhile took it.
    std::fs::remove_file(env.path(rel)).unwrap();
    let mut reused = false;
    for k in 0..200 {
        let tmp = format!("logs/agents/.new-{k}");
        env.write(&tmp, &agent_lines(6000, h(1), "query-tool-"));
        if std::fs::metadata(env.path(&tmp)).unwrap().ino() == ino {
            std::fs::rename(env.path(&tmp), env.path(rel)).unwrap();
            reused = true;
            break;
        }
    }
    for k in 0..200 {
        let _ = std::fs::remove_file(env.path(&format!("logs/agents/.new-{k}")));
    }
    if !reused {
        env.write(rel, &agent_lines(6000, h(1), "query-tool-"));
    }
    let r = env.cycle_json(&at(2));
    let (read, skipped) = (num(&r, "lines_read"), num(&r, "skipped_total"));
    assert_eq!((read, skipped), (6000, 0), "{r}");
    // Copy-truncated and regrown in place: the same inode for certain.
    std::fs::write(env.path(rel), agent_lines(6000, h(2), "another-tool-name-")).unwrap();
    let r = env.cycle_json(&at(3));
    assert_eq!(
        (num(&r, "lines_read"), num(&r, "skipped_total")),
        (6000, 0),
        "{r}"
    );
    let lost = 12_000 - read.min(6000) - num(&r, "lines_read").min(6000);
    summary(
        "inode-reuse",
        &format!(
            "inode reuse: 2 logs of 6000 lines recreated on the same inode ({}), {lost} lost",
            if reused {
                "deleted and recreated, and rewritten in place"
            } else {
                "rewritten in place; this file system gave no inode back"
            }
        ),
    );
}

#[test]
fn a_clock_that_jumps_forward_and_steps_back_loses_no_line() {
    let env = Env::new();
    let explore = |tag: &str, n: usize, start: chrono::DateTime<chrono::Utc>| {
        write_explorations(&env, n, |i| {
            Expl::healthy(
                &format!("{tag}{i}"),
                start + chrono::Duration::minutes(i as i64),
            )
        });
    };
    let explorations = |r: &serde_json::Value| -> u64 {
        let id = r["cycle"].as_str().unwrap();
        let rec: serde_json::Value =
            serde_json::from_str(&env.record(&format!("cycles/00/0/0/{id}.json"))).unwrap();
        rec["metrics"]["exploration_count"].as_f64().unwrap() as u64
    };
    let mut seen = 0;
    let mut skipped = 0;
    let mut step = |now: &str| {
        let r = env.cycle_json(now);
        skipped += num(&r, "skipped_total");
        explorations(&r)
    };
    explore("a", 4, h(0) + chrono::Duration::minutes(10));
    seen += step(&at(1));
    // The host clock jumps ten hours ahead for one cycle...
    assert_eq!(step(&at(10)), 0);
    // ... and back. The explorations of the hours in between are stamped before that
    // cycle's window: late, not lost.
    explore("b", 3, h(2));
    let late = step(&at(11));
    assert_eq!(late, 3, "stamped before the window, used as late");
    seen += late;
    // Our clock steps back while the system's does not: lines ahead of our clock wait.
    explore("c", 2, h(3) + chrono::Duration::minutes(30));
    assert_eq!(step(&at(3)), 0, "held, not skipped");
    seen += step(&at(4));
    assert_eq!(skipped, 0);
    assert_eq!(seen, 9, "every exploration counted once");
    summary(
        "clock-steps",
        &format!(
            "clock steps: 9 explorations across a 10-hour jump forward and a step back, {} lost",
            9 - seen.min(9)
        ),
    );
}

/// A retired log is re-checked once in every period of half `window_max`, in its
/// segment's hour. Cycles every two hours never run in that hour when it is odd: the
/// next cycle re-checks the segments whose hour passed since the last one.
#[test]
fn a_retired_log_appended_to_is_read_by_cycles_that_skip_its_hour() {
    let env = Env::new();
    // window_max 8h: a period of 4 hours; segment 1's hour is 1 (mod 4), and T0 is
    // midnight UTC, so cycles at even hours from T0 never run in it.
    env.configure(&[
        ("window_default: 24h", "window_default: 6h"),
        ("window_max: 7d", "window_max: 8h"),
    ]);
    write_explorations(&env, 512, |i| Expl::healthy(&format!("r{i:03}"), h(-3)));
    let first = env.cycle_json(&at(0));
    assert_eq!(first["files_read"], 512, "{first}");
    let line = format!(
        r#"{{"event":"ENERGY_INJECTION","exploration_id":"r007","timestamp":"{}","energy_injection":{{"amount":0.5,"reason":"traversal"}}}}"#,
        h(1).format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    env.append(
        "logs/traversal/traversal_r007.jsonl",
        &format!("{line}\n{line}\n"),
    );
    let read: Vec<u64> = [2, 4, 6]
        .iter()
        .map(|n| env.cycle_json(&at(*n))["lines_read"].as_u64().unwrap())
        .collect();
    assert_eq!(
        read,
        vec![2, 0, 0],
        "lines read by the cycles at hours 2, 4 and 6"
    );
}
