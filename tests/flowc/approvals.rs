//! Approval gates through the real binary: who decided, when and why (`flowc approve RUN
//! STEP --as NAME --comment TEXT`, `flowc reject`, a default name from the login), the
//! gate's result fields (`decision`, `approver`, `comment`, `decided_at`), a `timeout`
//! whose deadline is kept in the journal so that a resume after it takes the timeout path,
//! a timeout routed apart from a refusal (an escalation chain), and the timeout of a
//! question at a terminal. Steps write what they saw to a ledger file; the deadline tests
//! wait for a deadline to pass, but nothing here measures time.

use std::path::Path;

use crate::support::{
    flowc_in, ledger, run_id, run_in, status, step, tmp, wait_for_deadline, Flowc,
};

/// A release gate whose timeout escalates to a second approver and whose refusal fails.
const CHAIN: &str = "workflow release {
  step sign_off {
    approve \"Release 2.4?\"
    timeout 1s
    on_failure escalate if sign_off.decision == \"timed_out\"
    on_failure fail_fast
  }
  step escalate {
    approve \"Nobody signed 2.4 off: release anyway?\"
    timeout 1h
  }
  step publish after sign_off {
    run \"echo publish ${sign_off.decision} by [${escalate.approver}] >> ledger\"
  }
}
";

#[test]
fn a_resume_after_the_deadline_takes_the_timeout_route() {
    let dir = tmp();
    let dir = dir.path();
    let out = run_in(dir, CHAIN, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("it times out at"), "{}", out.stderr);
    let id = run_id(&out.stderr);
    wait_for_deadline(dir, &id, "sign_off");
    // Too late to decide at the first level.
    let late = flowc_in(dir, &["approve", &id, "sign_off", "--as", "ana"]);
    assert_eq!(late.code, 2, "{}", late.stderr);
    let code = "E0593";
    assert!(late.stderr.contains(code), "{}", late.stderr);
    // The resume takes the timeout path: the second level now waits.
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let code = "E0481";
    assert!(out.stderr.contains(code), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("↪ sign_off: on_failure escalate (if sign_off.decision == \"timed_out\")"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("is waiting for approval of `escalate`"),
        "{}",
        out.stderr
    );
    // Whether the failure of `sign_off` stands is up to `escalate`: `publish` waits for
    // it, undecided, and is neither skipped nor run.
    assert!(!out.stderr.contains("publish skipped"), "{}", out.stderr);
    let row = out.stderr.lines().find(|l| l.starts_with("publish "));
    assert!(
        row.is_some_and(|r| r.split_whitespace().nth(1) == Some("waiting")),
        "{}",
        out.stderr
    );
    let ok = flowc_in(
        dir,
        &[
            "approve",
            &id,
            "escalate",
            "--as",
            "dir-ops",
            "--comment",
            "ship it",
        ],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ledger(dir),
        ["publish timed_out by [dir-ops]"],
        "{}",
        out.stderr
    );
    let s = status(dir, &id);
    let decisions = step(&s, "sign_off")["decisions"].clone();
    assert_eq!(decisions[0]["decision"], "timed_out", "{s}");
    let decisions = step(&s, "escalate")["decisions"].clone();
    assert_eq!(decisions[0]["decision"], "approved", "{s}");
    assert_eq!(decisions[0]["by"], "dir-ops", "{s}");
    assert_eq!(decisions[0]["comment"], "ship it", "{s}");
    let human = flowc_in(dir, &["status", &id]);
    assert!(
        human.stdout.contains("sign_off: timed out at "),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("escalate: approved by dir-ops at "),
        "{}",
        human.stdout
    );
}

#[test]
fn a_refusal_takes_another_route_than_a_timeout() {
    let dir = tmp();
    let dir = dir.path();
    let out = run_in(dir, &CHAIN.replace("timeout 1s", "timeout 1h"), &[]);
    let id = run_id(&out.stderr);
    let no = flowc_in(
        dir,
        &[
            "reject",
            &id,
            "sign_off",
            "--as",
            "ana",
            "--comment",
            "changelog is wrong",
        ],
    );
    assert_eq!(no.code, 0, "{}", no.stderr);
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("rejected: Release 2.4?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("⤼ escalate skipped: the failure of `sign_off` took another route"),
        "{}",
        out.stderr
    );
    assert!(ledger(dir).is_empty());
    let s = status(dir, &id);
    let decision = &step(&s, "sign_off")["decisions"][0];
    assert_eq!(decision["decision"], "refused", "{s}");
    assert_eq!(decision["comment"], "changelog is wrong", "{s}");
}

#[test]
fn the_gate_result_says_who_decided_when_and_why() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow g {
  step gate { approve \"ship it?\" }
  step ship after gate {
    run \"echo ${gate.decision} [${gate.approver}] [${gate.comment}] ${len(gate.decided_at)} ${gate.timed_out} >> ledger\"
  }
}
";
    let out = run_in(dir, text, &[]);
    let id = run_id(&out.stderr);
    // Without `--as`, the decision is the login's.
    let ok = Flowc::new(&["approve", &id, "gate", "--comment", "looks good"])
        .dir(dir)
        .env_remove("FLOWC_STATE_DIR")
        .env("USER", "ana")
        .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stderr.contains("as ana"), "{}", ok.stderr);
    let out = flowc_in(dir, &["resume", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // `decided_at` is RFC 3339 to the second: 20 characters.
    assert_eq!(
        ledger(dir),
        ["approved [ana] [looks good] 20 false"],
        "{}",
        out.stderr
    );
    // A pre-approval says which flag it was.
    let dir = tmp();
    let out = run_in(dir.path(), text, &["--approve", "gate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = ledger(dir.path()).join("");
    assert!(
        line.contains("[pre-approved with --approve gate]"),
        "{line}"
    );
}

#[test]
fn a_decision_needs_someone_to_record() {
    let dir = tmp();
    let dir = dir.path();
    let out = run_in(
        dir,
        "workflow g {\n  step gate { approve \"ok?\" }\n}\n",
        &[],
    );
    let id = run_id(&out.stderr);
    let nobody = flowc_in(dir, &["approve", &id, "gate", "--as", "  "]);
    assert_eq!(nobody.code, 2, "{}", nobody.stderr);
    let code = "E0594";
    assert!(nobody.stderr.contains(code), "{}", nobody.stderr);
    // Nothing was recorded: the gate still waits.
    assert_eq!(step(&status(dir, &id), "gate")["status"], "waiting");
}

/// Runs `flowc run w.flow` in `dir` inside a pseudo-terminal (util-linux `script`) whose
/// input stays open and silent until flowc exits: nobody answers. Returns the exit code
/// and what the terminal showed.
fn run_unanswered_in_terminal(dir: &Path) -> (i32, String) {
    let command = format!("{} run w.flow --log-dir logs", env!("CARGO_BIN_EXE_flowc"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    // Held open, never written: end of input would be an answer (a refusal).
    let silent = child.stdin.take();
    let out = child.wait_with_output().expect("finishes");
    drop(silent);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_question_at_the_terminal_times_out() {
    let dir = tmp();
    let dir = dir.path();
    let text = "workflow g {
  step gate {
    approve \"Ship it?\"
    timeout 1s
    on_failure page_oncall if gate.timed_out
  }
  step page_oncall { run \"echo paged ${gate.decision} >> ledger\" }
  step ship after gate { run \"echo ship >> ledger\" }
}
";
    std::fs::write(dir.join("w.flow"), text).expect("write");
    let (code, screen) = run_unanswered_in_terminal(dir);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("approve `gate`: Ship it? [y/N, 1s left]"),
        "{screen}"
    );
    assert!(
        screen.contains("approve `gate`: no answer within 1s (timed out)"),
        "{screen}"
    );
    assert_eq!(ledger(dir), ["paged timed_out", "ship"], "{screen}");
}
