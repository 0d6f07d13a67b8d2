//! Secrets and hostile files, through the real binary: imports read `.flow` modules and
//! nothing else (E0120, E0008), a secret copied into a plain output is refused (E0480)
//! and never reaches a file under `.flow/`, `secret` outputs stay redacted, redaction holds
//! at any line length and read boundary, and a step's terminal escapes other than colour
//! do not reach flowc's terminal.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{tmp, Flowc, Output};

/// Every file and directory under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every window of `n` consecutive bytes of `secret` found in `text`.
fn pieces_of(secret: &str, text: &[u8], n: usize) -> Vec<String> {
    secret
        .as_bytes()
        .windows(n)
        .filter(|w| text.windows(n).any(|t| t == *w))
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

/// Asserts that no file under `dir` holds a piece of `secret` and that none is group or
/// world readable; returns how many files were searched.
fn assert_private_and_clean(dir: &Path, secret: &str) -> usize {
    let mut files = 0;
    for path in walk(dir) {
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", path.display());
        if meta.is_file() {
            files += 1;
            let bytes = std::fs::read(&path).expect("readable");
            let found = pieces_of(secret, &bytes, 6);
            assert!(found.is_empty(), "{} holds {found:?}", path.display());
        }
    }
    files
}

/// `flowc check FILE` in `dir`, with a secret in flowc's environment.
fn check(dir: &Path, file: &str) -> Output {
    Flowc::new(&["check", file])
        .dir(dir)
        .env("FOO_SECRET", "hunter2-environ")
        .run()
}

#[test]
fn imports_read_flow_modules_and_nothing_else() {
    let dir = tmp();
    let d = dir.path();
    std::fs::create_dir_all(d.join("project/lib")).expect("mkdir");
    std::fs::create_dir_all(d.join("project/dir.flow")).expect("mkdir");
    std::fs::write(d.join("secret.txt"), "TOPSECRET-file-text\n").expect("write");
    std::fs::write(
        d.join("project/nul.flow"),
        "workflow n {}\n\0NULSECRET-text\n",
    )
    .expect("write");
    std::fs::write(d.join("project/latin1.flow"), b"// caf\xe9 LATINSECRET\n").expect("write");
    std::os::unix::fs::symlink(d.join("secret.txt"), d.join("project/txt_link.flow"))
        .expect("symlink");
    std::os::unix::fs::symlink("/proc/self/environ", d.join("project/environ.flow"))
        .expect("symlink");
    // Larger than the limit for any .flow file (sparse: no disk is used).
    std::fs::File::create(d.join("project/huge.flow"))
        .and_then(|f| f.set_len(flowc::source::MAX_SOURCE_LEN + 1))
        .expect("huge file");
    let fifo = std::process::Command::new("mkfifo")
        .arg(d.join("project/pipe.flow"))
        .status()
        .expect("mkfifo runs");
    assert!(fifo.success());

    // Each import alone, so that each refusal is seen on its own: (import, code).
    let cases = [
        ("/proc/self/environ", "E0120"),
        ("/etc/passwd", "E0120"),
        ("/etc/shadow", "E0120"),
        ("../secret.txt", "E0120"),
        ("../secret", "E0106"),
        ("./txt_link.flow", "E0120"),
        ("./environ.flow", "E0120"),
        ("./pipe.flow", "E0120"),
        ("./dir.flow", "E0120"),
        ("/dev/zero", "E0120"),
        ("/dev/stdin", "E0120"),
        ("/proc/self/cmdline", "E0120"),
        ("./lib", "E0120"),
        ("./nul.flow", "E0008"),
        ("./latin1.flow", "E0008"),
        ("./huge.flow", "E0010"),
    ];
    for (spec, code) in cases {
        let text = format!("import \"{spec}\" as m\n\nworkflow w {{\n  step s = m.go()\n}}\n");
        std::fs::write(d.join("project/w.flow"), &text).expect("write");
        let started = std::time::Instant::now();
        let out = check(&d.join("project"), "w.flow");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{spec} took too long"
        );
        assert_eq!(out.code, 1, "{spec}: {}", out.stderr);
        assert!(out.stderr.contains(code), "{spec}: {}", out.stderr);
        let all = format!("{}{}", out.stdout, out.stderr);
        for leak in [
            "hunter2",
            "TOPSECRET",
            "NULSECRET",
            "LATINSECRET",
            "root:",
            "PATH=",
        ] {
            assert!(!all.contains(leak), "{spec} printed {leak}: {all}");
        }
        // The excerpt is of the importing file.
        assert!(out.stderr.contains("w.flow:1:8"), "{spec}: {}", out.stderr);
    }

    // Modules still load: relative to the importing file, and outside the project.
    std::fs::write(
        d.join("project/lib/tasks.flow"),
        "import \"../../shared.flow\" as shared\n\ntask go() { run \"echo ${shared.greeting}\" }\n",
    )
    .expect("write");
    std::fs::write(d.join("shared.flow"), "let greeting = \"hi\"\n").expect("write");
    std::fs::write(
        d.join("project/w.flow"),
        "import \"lib/tasks\" as m\n\nworkflow w {\n  step s = m.go()\n}\n",
    )
    .expect("write");
    let out = check(d, "project/w.flow");
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// The leak of issue 15: a step given `TOKEN` through `env` writes it to a plain output,
/// which a later step would put on its command line.
const LEAK: &str = r#"workflow w {
  secret token = env("TOKEN")
  step out {
    run "sh -c 'echo leak=$TOKEN >> $FLOW_OUTPUT; echo wrote it'"
    env { TOKEN: token }
    outputs { leak: string }
  }
  step use {
    run "echo got ${out.leak}; touch used"
  }
}
"#;

const TOKEN: &str = "tok-9f8e7d6c5b4a-Qx71zz";

/// `flowc run w.flow` in `dir`, `w.flow` holding `text`, with [`TOKEN`] in `$TOKEN`.
fn run_with_token(dir: &Path, text: &str) -> Output {
    std::fs::write(dir.join("w.flow"), text).expect("write");
    Flowc::new(&["run", "w.flow"])
        .dir(dir)
        .env("TOKEN", TOKEN)
        .run()
}

#[test]
fn a_secret_in_a_plain_output_fails_its_step_and_stays_off_disk() {
    let dir = tmp();
    let d = dir.path();
    let out = run_with_token(d, LEAK);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0480"), "{}", out.stderr);
    assert!(out.stderr.contains("output `leak`"), "{}", out.stderr);
    assert!(out.stderr.contains("declare it `secret`"), "{}", out.stderr);
    assert!(!d.join("used").exists(), "a later step ran");
    assert!(!out.stderr.contains(TOKEN), "{}", out.stderr);

    let json = Flowc::new(&["run", "w.flow", "--events", "json"])
        .dir(d)
        .env("TOKEN", TOKEN)
        .run();
    assert_eq!(json.code, 1, "{}", json.stderr);
    assert!(json.stdout.contains("E0480"), "{}", json.stdout);
    let runs: Vec<String> = std::fs::read_dir(d.join(".flow/runs"))
        .expect("runs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let mut shown = format!("{}{}{}", out.stderr, json.stdout, json.stderr);
    for run in &runs {
        for cmd in ["status", "logs"] {
            let o = Flowc::new(&[cmd, run]).dir(d).run();
            shown.push_str(&o.stdout);
            shown.push_str(&o.stderr);
        }
    }
    assert!(shown.contains("wrote it"), "{shown}");
    assert!(pieces_of(TOKEN, shown.as_bytes(), 6).is_empty(), "{shown}");
    let files = assert_private_and_clean(&d.join(".flow"), TOKEN);
    // Two runs: each a journal and its lock, the failed step's log and output file.
    assert!(files >= 8, "searched only {files} files");
}

/// A step that declares no outputs may still write `$FLOW_OUTPUT`. When the run has a
/// secret, that file is scrubbed and made private like one that is read back.
#[test]
fn an_undeclared_output_file_is_scrubbed_when_the_run_has_a_secret() {
    let dir = tmp();
    let d = dir.path();
    let text = r#"workflow w {
  secret token = env("TOKEN")
  step s {
    run "sh -c 'umask 022; echo t=$TOKEN > $FLOW_OUTPUT; echo wrote it'"
    env { TOKEN: token }
  }
}
"#;
    let out = run_with_token(d, text);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written: Vec<PathBuf> = walk(&d.join(".flow"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "s.out"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(
        std::fs::read_to_string(&written[0]).expect("s.out"),
        "t=***\n"
    );
    assert_private_and_clean(&d.join(".flow"), TOKEN);
}

#[test]
fn the_repl_run_refuses_the_leak_too() {
    let dir = tmp();
    let d = dir.path();
    std::fs::write(d.join("w.flow"), LEAK).expect("write");
    let out = Flowc::new(&["repl"])
        .dir(d)
        .env("TOKEN", TOKEN)
        .stdin(":load w.flow\n:run\n")
        .run();
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(shown.contains("E0480"), "{shown}");
    assert!(pieces_of(TOKEN, shown.as_bytes(), 6).is_empty(), "{shown}");
    assert!(!d.join("used").exists(), "a later step ran");
}

#[test]
fn a_secret_output_is_redacted_everywhere_and_used_through_env() {
    let dir = tmp();
    let d = dir.path();
    let text = r#"workflow w {
  step login {
    run "sh -c 'echo session=sess-1234567890-abcdef >> $FLOW_OUTPUT; echo printed sess-1234567890-abcdef'"
    outputs { session: secret }
  }
  step use {
    run "sh -c 'echo got $S; echo \"$S\" > seen'"
    env { S: login.session }
  }
}
"#;
    std::fs::write(d.join("w.flow"), text).expect("write");
    let out = Flowc::new(&["run", "w.flow", "--events", "json"])
        .dir(d)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The later step got the value, through its environment.
    assert_eq!(
        std::fs::read_to_string(d.join("seen")).expect("seen"),
        "sess-1234567890-abcdef\n"
    );
    assert!(out.stdout.contains("got ***"), "{}", out.stdout);
    let secret = "sess-1234567890-abcdef";
    std::fs::remove_file(d.join("seen")).expect("remove");
    assert_private_and_clean(&d.join(".flow"), secret);

    // Interpolating it into a command is the secret leak E0205, like any secret.
    let leak = text.replace("echo got $S", "echo got ${login.session}");
    std::fs::write(d.join("w.flow"), leak).expect("write");
    let out = Flowc::new(&["check", "w.flow"]).dir(d).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("E0205"), "{}", out.stderr);
}

/// A script that prints `N` bytes of padding and then the secret on the same line, in
/// two writes with a pause between, so that the pipe is read in between.
const EMIT: &str = r#"head -c "$N" /dev/zero | tr '\0' a
half=${TOKEN%????????????}
printf '%s' "$half"
sleep 0.05
printf '%s\n' "${TOKEN#"$half"}"
"#;

#[test]
fn redaction_holds_at_any_line_length_and_read_boundary() {
    let dir = tmp();
    let d = dir.path();
    std::fs::write(d.join("emit.sh"), EMIT).expect("write");
    let text = r#"workflow w(n: int = 0) {
  secret token = env("TOKEN")
  step p {
    run "sh ./emit.sh"
    env { TOKEN: token, N: "${n}" }
  }
}
"#;
    std::fs::write(d.join("w.flow"), text).expect("write");
    let secret = "Zq7-Lr9w-Kp2x-S3CR-93xK-0042";
    // Line lengths from the issue, and lines whose 64 KiB cut falls inside the secret.
    let mut lengths = vec![1026, 4098, 8194, 16386, 65536];
    lengths.extend([65536 + 10, 65536 + 20, 2 * 65536 + 15]);
    for len in lengths {
        let pad = len - secret.len();
        let n = format!("n={pad}");
        let term = Flowc::new(&["run", "w.flow", "--var", &n])
            .dir(d)
            .env("TOKEN", secret)
            .run();
        assert_eq!(term.code, 0, "{len}: {}", term.stderr);
        let json = Flowc::new(&["run", "w.flow", "--var", &n, "--events", "json"])
            .dir(d)
            .env("TOKEN", secret)
            .run();
        assert_eq!(json.code, 0, "{len}: {}", json.stderr);
        for (what, shown) in [("terminal", &term.stderr), ("events", &json.stdout)] {
            let found = pieces_of(secret, shown.as_bytes(), 6);
            assert!(found.is_empty(), "{len}, {what}: {found:?}");
            assert!(shown.contains("***"), "{len}, {what}: no marker");
        }
    }
    let mut logs = String::new();
    for e in std::fs::read_dir(d.join(".flow/runs")).expect("runs") {
        let run = e.expect("entry").file_name().to_string_lossy().into_owned();
        logs.push_str(&Flowc::new(&["logs", &run]).dir(d).run().stdout);
    }
    assert!(pieces_of(secret, logs.as_bytes(), 6).is_empty());
    assert!(logs.matches("***").count() >= 16, "{}", logs.len());
    assert_private_and_clean(&d.join(".flow"), secret);
}

#[test]
fn step_output_keeps_colour_but_not_other_terminal_escapes() {
    let dir = tmp();
    let d = dir.path();
    let script = concat!(
        "printf '\\033]0;pwned-title\\007title\\n'\n",
        "printf '\\033]52;c;Y2xpcGJvYXJk\\033\\\\clipboard\\n'\n",
        "printf 'up\\033[2A\\033[2Jcleared\\033[10;5Hmoved\\n'\n",
        "printf '\\033[31mred\\033[0m\\n'\n",
    );
    std::fs::write(d.join("esc.sh"), script).expect("write");
    std::fs::write(
        d.join("w.flow"),
        "workflow w {\n  step p { run \"sh ./esc.sh\" }\n}\n",
    )
    .expect("write");
    let out = Flowc::new(&["run", "w.flow"]).dir(d).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = std::fs::read_dir(d.join(".flow/runs"))
        .expect("runs")
        .next()
        .expect("a run")
        .expect("entry")
        .file_name()
        .to_string_lossy()
        .into_owned();
    let logs = Flowc::new(&["logs", &run]).dir(d).run().stdout;
    for shown in [&out.stderr, &logs] {
        for line in ["p | title", "p | clipboard", "p | upclearedmoved"] {
            assert!(shown.contains(line), "{line} missing: {shown:?}");
        }
        assert!(shown.contains("\u{1b}[31mred\u{1b}[0m"), "{shown:?}");
        for bad in ["\u{1b}]", "\u{1b}[2A", "\u{1b}[2J", "\u{1b}[10;5H", "\u{7}"] {
            assert!(
                !shown.contains(bad),
                "{bad:?} reached the terminal: {shown:?}"
            );
        }
    }
}
