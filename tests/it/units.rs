//! The systemd units and the crontab in `templates/` are what an admin installs as they
//! are: each unit is parsed and its required keys asserted, `systemd-analyze verify` and
//! `security` judge them where systemd-analyze exists, and the crontab's lines and the
//! alert script are run with fake `improve`, `systemctl`, `journalctl`, `logger`, `mail`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// A unit file: every `Key=value` of every section, in order (keys repeat in systemd).
struct Unit {
    name: String,
    entries: Vec<(String, String, String)>,
}

impl Unit {
    fn load(name: &str) -> Unit {
        let path = templates().join("systemd").join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut section = String::new();
        let mut entries = vec![];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            assert!(!line.ends_with('\\'), "{name}:{}: no continuations", n + 1);
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_string();
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}:{}: not Key=value: {line}", n + 1));
            assert!(
                !section.is_empty(),
                "{name}:{}: key before a section",
                n + 1
            );
            entries.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
        }
        Unit {
            name: name.to_string(),
            entries,
        }
    }

    /// Every value of `key` in `section`; an empty assignment resets the list, as in systemd.
    fn all(&self, section: &str, key: &str) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for (_, _, v) in self
            .entries
            .iter()
            .filter(|(s, k, _)| s == section && k == key)
        {
            if v.is_empty() {
                out.clear();
            }
            out.extend(v.split_whitespace().map(String::from));
        }
        out
    }

    /// The value of a key set once (the last assignment wins, as in systemd).
    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
    }

    fn is(&self, section: &str, key: &str, want: &str) {
        assert_eq!(
            self.get(section, key),
            Some(want),
            "{}: [{section}] {key}= should be {want:?}",
            self.name
        );
    }
}

/// The keys every unit that runs improve as a service shares: its own user, no root
/// powers, a read-only system, a private /tmp, an alert when it fails.
fn assert_hardened_service(u: &Unit) {
    u.is("Service", "Type", "oneshot");
    u.is("Service", "User", "improve");
    u.is("Service", "Group", "improve");
    u.is("Service", "ProtectSystem", "strict");
    u.is("Service", "ProtectHome", "yes");
    u.is("Service", "PrivateTmp", "yes");
    u.is("Service", "PrivateDevices", "yes");
    u.is("Service", "NoNewPrivileges", "yes");
    u.is("Service", "CapabilityBoundingSet", "");
    u.is("Service", "UMask", "0027");
    for k in [
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "LockPersonality",
        "MemoryDenyWriteExecute",
    ] {
        u.is("Service", k, "yes");
    }
    assert!(
        u.all("Service", "SystemCallFilter")
            .contains(&"@system-service".to_string()),
        "{}: SystemCallFilter=@system-service",
        u.name
    );
    u.is("Unit", "OnFailure", "improve-alert@%n.service");
    assert!(
        u.get("Service", "ExecStart")
            .is_some_and(|e| e.starts_with("/usr/local/bin/improve ")),
        "{}: ExecStart runs the installed binary",
        u.name
    );
}

#[test]
fn the_cycle_unit_runs_as_its_own_user_and_writes_only_its_repository() {
    let u = Unit::load("improve.service");
    assert_hardened_service(&u);
    let repo = u
        .get("Service", "WorkingDirectory")
        .expect("WorkingDirectory=");
    assert_eq!(
        u.all("Service", "ReadWritePaths"),
        vec![repo.to_string()],
        "the repository is the one path it may write (besides its home and /tmp)"
    );
    // Pushing and forge APIs need IP; nothing else.
    let mut families = u.all("Service", "RestrictAddressFamilies");
    families.sort();
    assert_eq!(families, ["AF_INET", "AF_INET6", "AF_UNIX"]);
    assert!(u
        .all("Unit", "Wants")
        .contains(&"network-online.target".into()));
    assert!(u
        .all("Unit", "After")
        .contains(&"network-online.target".into()));
    // 75: another cycle was running and the trigger was queued.
    assert!(u.all("Service", "SuccessExitStatus").contains(&"75".into()));
    assert!(u.get("Service", "ExecStart").unwrap().contains(" cycle"));
    // Its home (git identity, ssh keys) is writable although the system is not.
    u.is("Service", "StateDirectory", "improve");
}

#[test]
fn the_health_unit_only_reads_has_no_network_and_a_daily_timer() {
    let u = Unit::load("improve-health.service");
    assert_hardened_service(&u);
    assert!(u.get("Service", "ExecStart").unwrap().ends_with(" health"));
    assert!(
        u.all("Service", "ReadWritePaths").is_empty(),
        "health writes nothing: the repository stays read-only"
    );
    u.is("Service", "PrivateNetwork", "yes");
    assert_eq!(
        u.get("Service", "WorkingDirectory"),
        Unit::load("improve.service").get("Service", "WorkingDirectory"),
        "both services watch the same repository"
    );
    let t = Unit::load("improve-health.timer");
    assert!(t.get("Timer", "OnCalendar").is_some(), "a schedule");
    t.is("Timer", "Persistent", "true");
    t.is("Install", "WantedBy", "timers.target");
}

#[test]
fn every_unit_a_unit_names_is_shipped() {
    let dir = templates().join("systemd");
    // A timer starts the service of its own name unless Unit= says otherwise.
    for timer in ["improve.timer", "improve-health.timer"] {
        let t = Unit::load(timer);
        let service = t
            .get("Timer", "Unit")
            .map(String::from)
            .unwrap_or_else(|| timer.replace(".timer", ".service"));
        assert!(dir.join(&service).is_file(), "{timer} starts {service}");
    }
    // OnFailure=improve-alert@%n.service is an instance of the shipped template...
    for service in ["improve.service", "improve-health.service"] {
        let on_failure = Unit::load(service)
            .get("Unit", "OnFailure")
            .unwrap()
            .to_string();
        let template = on_failure.replace("%n", "");
        assert!(dir.join(&template).is_file(), "{service}: {template}");
    }
    // ... whose ExecStart is the shipped script, given the failed unit's name.
    let alert = Unit::load("improve-alert@.service");
    let exec = alert.get("Service", "ExecStart").unwrap();
    let (program, arg) = exec.split_once(' ').unwrap();
    assert_eq!(arg, "%i");
    let script = dir.join(Path::new(program).file_name().unwrap());
    assert!(script.is_file(), "{} is shipped", script.display());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "{} is executable", script.display());
    // The alert itself never alerts (no loop) and runs as the service user.
    assert!(alert.get("Unit", "OnFailure").is_none());
    alert.is("Service", "User", "improve");
}

/// `systemd-analyze`, or why it cannot run here.
fn systemd_analyze() -> Result<(), String> {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("systemd-analyze --version exited {}", o.status)),
        Err(e) => Err(format!(
            "systemd-analyze not found ({e}); `make deps` installs it"
        )),
    }
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    if let Err(why) = systemd_analyze() {
        eprintln!("SKIPPED the_units_pass_systemd_analyze_verify: {why}");
        return;
    }
    // The units as installed, with the programs they run where this build has them and
    // the man page `Documentation=` names generated by the binary.
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_improve");
    let script = templates().join("systemd/improve-alert");
    let mut names = vec![];
    for entry in std::fs::read_dir(templates().join("systemd")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !(name.ends_with(".service") || name.ends_with(".timer")) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("/usr/local/bin/improve", bin)
            .replace("/usr/local/libexec/improve-alert", script.to_str().unwrap());
        std::fs::write(tmp.path().join(&name), text).unwrap();
        names.push(if name.ends_with("@.service") {
            name.replace("@.service", "@improve.service.service")
        } else {
            name
        });
    }
    assert!(names.len() >= 5, "{names:?}");
    let man = tmp.path().join("man/man1");
    std::fs::create_dir_all(&man).unwrap();
    let page = Command::new(bin).arg("man").output().unwrap();
    assert!(page.status.success());
    std::fs::write(man.join("improve.1"), page.stdout).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&names)
        .current_dir(tmp.path())
        .env("MANPATH", tmp.path().join("man"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "verify {names:?}: {stderr}");
    // Unknown keys and bad values are only warnings: none may name our units.
    for name in &names {
        let stem = name.split('@').next().unwrap();
        assert!(
            !stderr.lines().any(|l| l.contains(stem)),
            "systemd-analyze verify complains about {name}:\n{stderr}"
        );
    }
}

#[test]
fn systemd_rates_the_units_exposure_at_most_4() {
    if let Err(why) = systemd_analyze() {
        eprintln!("SKIPPED systemd_rates_the_units_exposure_at_most_4: {why}");
        return;
    }
    let mut figures = BTreeMap::new();
    for name in [
        "improve.service",
        "improve-health.service",
        "improve-alert@.service",
    ] {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(templates().join("systemd").join(name))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.contains("offline") && !text.contains("Overall exposure level") {
            eprintln!("SKIPPED exposure of {name}: this systemd-analyze has no --offline: {text}");
            return;
        }
        let figure: f64 = text
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for "))
            .and_then(|(_, rest)| rest.split_once(": "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("no exposure figure for {name}:\n{text}"));
        figures.insert(name, figure);
    }
    eprintln!("systemd-analyze security: {figures:?}");
    for (name, figure) in &figures {
        assert!(*figure <= 4.0, "{name} rates {figure} (> 4.0)");
    }
    // The unit that runs the repository's own commands is the most confined of those
    // that write, and its comment states the figure it gets.
    let unit = std::fs::read_to_string(templates().join("systemd/improve.service")).unwrap();
    let stated = format!("rates this {:.1}", figures["improve.service"]);
    assert!(
        unit.contains(&stated),
        "improve.service should say {stated:?}"
    );
}

/// The crontab: its environment lines and its jobs' commands, as cron reads them.
fn crontab() -> (BTreeMap<String, String>, Vec<String>) {
    let text = std::fs::read_to_string(templates().join("cron/improve.crontab")).unwrap();
    let (mut env, mut jobs) = (BTreeMap::new(), vec![]);
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_whitespace().next().unwrap();
        if let Some((k, v)) = first.split_once('=') {
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                env.insert(k.to_string(), v.to_string());
                continue;
            }
        }
        // Five time fields, then the command. Cron turns `\%` into `%` and cuts the
        // command at an unescaped `%` (the rest becomes stdin): none is wanted here.
        let mut rest = line;
        for _ in 0..5 {
            rest = rest.trim_start();
            rest = &rest[rest.find(char::is_whitespace).expect("five time fields")..];
        }
        let mut command = String::new();
        let mut chars = rest.trim().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'%') => command.push(chars.next().unwrap()),
                '%' => panic!("unescaped % in crontab line: {line}"),
                c => command.push(c),
            }
        }
        jobs.push(command);
    }
    (env, jobs)
}

/// Runs one crontab command as cron would (`$SHELL -c`), with a fake `improve` first
/// on PATH that prints a table and a line on stderr, then exits `rc`. Returns what
/// cron would mail (everything printed) and the fake's arguments.
fn run_job(job: &str, rc: i32) -> (String, String) {
    let (env, _) = crontab();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&repo).unwrap();
    let fake = bin.join("improve");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"$PWD $*\" >> \"$FAKE_ARGS\"\necho 'improve health: ERROR'\necho '  H2   ERROR  deployment success   1 of 3 100% wrong'\necho 'a message on stderr' >&2\nexit \"$FAKE_RC\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(job.contains("cd /srv/mind "), "{job}");
    let job = job.replace("/srv/mind", repo.to_str().unwrap());
    let args = tmp.path().join("args");
    let out: Output = Command::new(&env["SHELL"])
        .arg("-c")
        .arg(&job)
        .env_clear()
        .env("PATH", format!("{}:{}", bin.display(), env["PATH"]))
        .env("FAKE_RC", rc.to_string())
        .env("FAKE_ARGS", &args)
        .output()
        .unwrap();
    let mail =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let called = std::fs::read_to_string(&args).unwrap_or_default();
    assert!(
        called.starts_with(repo.to_str().unwrap()),
        "runs in the repository: {called}"
    );
    (mail, called)
}

#[test]
fn the_crontab_is_quiet_when_all_is_well_and_mails_failures() {
    let (env, jobs) = crontab();
    assert_eq!(env.get("SHELL").map(String::as_str), Some("/bin/sh"));
    assert!(
        env["PATH"].split(':').any(|d| d == "/usr/local/bin"),
        "PATH finds the installed binary"
    );
    let cycle = jobs
        .iter()
        .find(|j| j.contains("improve cycle"))
        .expect("a cycle line");
    let health = jobs
        .iter()
        .find(|j| j.contains("improve health"))
        .expect("a health line");
    assert_eq!(jobs.len(), 2, "{jobs:?}");

    // A cycle: done or queued behind another (75) mails nothing; a failure mails all.
    for rc in [0, 75] {
        assert_quiet(cycle, rc, "cycle --push origin");
    }
    for rc in [1, 2, 101] {
        assert_mailed(cycle, rc, "improve cycle");
    }
    // Health: HEALTHY or WARNING (0) mails nothing even when the command prints its
    // table; ERROR (3) or a failure mails the table and the status.
    assert_quiet(health, 0, "health");
    for rc in [3, 1, 2] {
        assert_mailed(health, rc, "improve health");
    }
}

/// The job prints nothing (cron mails nothing) when the command exits `rc`, and it
/// called `improve` with `args` and `-q`.
fn assert_quiet(job: &str, rc: i32, args: &str) {
    let (mail, called) = run_job(job, rc);
    assert_eq!(mail, "", "exit {rc} must print nothing: {job}");
    assert!(called.contains(args) && called.contains(" -q"), "{called}");
}

/// The job prints (cron mails) the exit status and all the command printed.
fn assert_mailed(job: &str, rc: i32, what: &str) {
    let (mail, _) = run_job(job, rc);
    assert!(mail.contains(&format!("{what} exited {rc}")), "{mail}");
    assert!(
        mail.contains("a message on stderr") && mail.contains("H2   ERROR"),
        "{mail}"
    );
}

#[test]
fn the_alert_script_passes_the_journal_on_stdin_never_to_a_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let fakes = [
        // systemctl show --value -> the invocation id; status -> one line.
        ("systemctl", "case \"$1\" in show) echo 0f3a9c;; status) echo '× improve.service - improve: one improvement cycle';; esac\n"),
        // The failed run's journal, with text a shell would run if it ever saw it.
        ("journalctl", "echo \"journalctl $*\" >> \"$OUT/calls\"\necho 'cycle failed: $(touch \"$OUT/pwned\") `touch \"$OUT/pwned2\"` ; rm -rf /'\n"),
        ("logger", "echo \"$*\" >> \"$OUT/logger\"\n"),
        ("mail", "echo \"$*\" > \"$OUT/mail-args\"; cat > \"$OUT/mail-body\"\n"),
    ];
    use std::os::unix::fs::PermissionsExt;
    for (name, body) in fakes {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = |command: &str| {
        Command::new(templates().join("systemd/improve-alert"))
            .arg("improve.service")
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("OUT", &out)
            .env("IMPROVE_ALERT_COMMAND", command)
            .env("IMPROVE_ALERT_MAIL", "ops@example.com")
            .output()
            .unwrap()
    };
    let o = run("cat > \"$OUT/command-stdin\"; echo \"$IMPROVE_ALERT_UNIT\" > \"$OUT/unit\"");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_default();
    let body = read("command-stdin");
    assert!(body.starts_with("improve.service failed on "), "{body}");
    assert!(body.contains("× improve.service - improve"), "{body}");
    assert!(
        body.contains("cycle failed: $(touch"),
        "the journal verbatim: {body}"
    );
    assert_eq!(read("unit").trim(), "improve.service");
    assert!(
        read("calls").contains("_SYSTEMD_INVOCATION_ID=0f3a9c"),
        "only the failed run's journal: {}",
        read("calls")
    );
    assert!(
        read("logger").contains("-p user.err -t improve-alert"),
        "{}",
        read("logger")
    );
    assert_eq!(read("mail-body"), body, "the mail says the same");
    assert!(read("mail-args").contains("-s improve: improve.service failed on"));
    assert!(read("mail-args").trim_end().ends_with("ops@example.com"));
    assert!(!out.join("pwned").exists() && !out.join("pwned2").exists());

    // A channel that fails makes the alert fail (so that shows too), after mailing.
    std::fs::remove_file(out.join("mail-body")).unwrap();
    let o = run("exit 7");
    assert_eq!(o.status.code(), Some(7));
    assert!(!read("mail-body").is_empty(), "mail is still sent");
}
