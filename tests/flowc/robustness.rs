//! Hostile input through the real binary: deep nesting, very long chains, huge workflows
//! and garbage give diagnostics or success, never a crash or a stack overflow.

use crate::support::Flowc;

fn check_text(text: &str) -> crate::support::Output {
    Flowc::new(&["check", "--format", "json", "-"])
        .stdin(text)
        .run()
}

fn assert_no_crash(out: &crate::support::Output) {
    assert!(
        matches!(out.code, 0..=2),
        "flowc crashed (exit {}): {}",
        out.code,
        &out.stderr[..out.stderr.len().min(2000)]
    );
    assert!(
        !out.stderr.contains("panicked"),
        "flowc panicked: {}",
        out.stderr
    );
}

#[test]
fn deeply_nested_parentheses_give_e0004() {
    let n = 100_000;
    let text = format!("let x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    let out = check_text(&text);
    assert_no_crash(&out);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("\"E0004\""), "{}", out.stdout);
}

#[test]
fn deeply_nested_lists_give_e0004() {
    let n = 100_000;
    let text = format!("let x = {}1{}\n", "[".repeat(n), "]".repeat(n));
    let out = check_text(&text);
    assert_no_crash(&out);
    assert!(out.stdout.contains("\"E0004\""), "{}", out.stdout);
}

#[test]
fn nesting_at_the_limit_is_accepted() {
    let n = 200;
    let text = format!("let x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    let out = check_text(&text);
    assert_no_crash(&out);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn long_operator_chains_check_and_prefix_runs_are_bounded() {
    let sum = format!("let x = 1{}\n", " + 1".repeat(100_000));
    let out = check_text(&sum);
    assert_no_crash(&out);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // A run of prefix operators nests like brackets: bounded, with a diagnostic.
    let nots = format!("let y = {}true\n", "!".repeat(100_000));
    let out = check_text(&nots);
    assert_no_crash(&out);
    assert!(out.stdout.contains("\"E0004\""), "{}", out.stdout);
    let ok = format!("let z = {}true\n", "!".repeat(200));
    assert_eq!(check_text(&ok).code, 0);
}

#[test]
fn small_files_on_the_main_thread_do_not_overflow() {
    // Files under 4 KiB are checked without the big-stack thread; the longest chain
    // such a file can hold must still check.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chain.flow");
    std::fs::write(&path, format!("let y = 1{}\n", "+1".repeat(2_000))).expect("write");
    let out = crate::support::Flowc::new(&["check", path.to_str().expect("utf8")]).run();
    assert_no_crash(&out);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_chain_of_100_000_steps_checks() {
    let mut text = String::from("workflow chain {\n  step s0 { run \"true\" }\n");
    for i in 1..100_000 {
        text.push_str(&format!(
            "  step s{i} after s{} {{ run \"true\" }}\n",
            i - 1
        ));
    }
    text.push_str("}\n");
    let out = check_text(&text);
    assert_no_crash(&out);
    assert_eq!(out.code, 0, "{}", &out.stdout[..out.stdout.len().min(2000)]);
}

#[test]
fn a_long_cycle_is_reported_whole() {
    let n = 1_000;
    let mut text = String::from("workflow ring {\n");
    for i in 0..n {
        text.push_str(&format!(
            "  step s{i} after s{} {{ run \"true\" }}\n",
            (i + n - 1) % n
        ));
    }
    text.push_str("}\n");
    let out = check_text(&text);
    assert_no_crash(&out);
    assert_eq!(out.code, 1);
    let line = out.stdout.lines().next().expect("one diagnostic");
    assert!(line.contains("\"E0301\""));
    assert!(line.contains("s0 -> s1 -> s2"), "{line}");
    assert!(line.contains("s999 -> s0"), "{line}");
}

#[test]
fn garbage_never_crashes() {
    let inputs: Vec<Vec<u8>> = vec![
        b"}}}}{{{{".to_vec(),
        b"workflow".to_vec(),
        b"workflow w { step".to_vec(),
        b"\"${\"${\"${".to_vec(),
        b"let x = \"\\u{110000}\"".to_vec(),
        b"let x = 99999999999999999999999".to_vec(),
        b"let x = 5xs".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x41],
        "workflow ü { }".as_bytes().to_vec(),
        "let 名前 = 1".as_bytes().to_vec(),
    ];
    for input in inputs {
        let out = Flowc::new(&["check", "-"]).stdin(input.clone()).run();
        assert_no_crash(&out);
        assert_ne!(
            out.code,
            0,
            "accepted garbage {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

/// A mistake half a megabyte into one line is reported with its line and column (the
/// excerpt is left out: the terminal renderer cannot lay out labels that far right).
#[test]
fn an_error_far_right_on_a_huge_line_is_reported_plainly() {
    let text = format!("workflow w(x: {}) {{ }}\n", "list<".repeat(100_000));
    let out = Flowc::new(&["check", "-"]).stdin(text.as_str()).run();
    assert_no_crash(&out);
    assert_eq!(out.code, 1, "{}", &out.stderr[..out.stderr.len().min(2000)]);
    assert!(out.stderr.contains("error[E0001]"), "{}", out.stderr);
    assert!(out.stderr.contains(":1:500015"), "{}", out.stderr);
}

/// Issue 14, defect 10: an 80 KB file with a 20,000-term sum checked clean but overflowed
/// the stack in `flowc run` and `flowc graph`, which compiled and evaluated on the main
/// thread. Every command now runs on the same large stack.
#[test]
fn a_long_sum_that_checks_also_graphs_plans_and_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sum.flow");
    let text = format!(
        "workflow w {{\n  let n = 1{}\n  step s {{ run \"echo total ${{n}}\" }}\n}}\n",
        " + 1".repeat(20_000)
    );
    assert!(text.len() > 80_000);
    std::fs::write(&path, text).expect("write");
    let file = path.to_str().expect("utf8");
    for args in [
        vec!["check", file],
        vec!["graph", file],
        vec!["graph", "--format", "json", file],
        vec!["plan", file],
        vec!["fmt", "--check", file],
    ] {
        let out = Flowc::new(&args).dir(dir.path()).run();
        assert_no_crash(&out);
        assert_ne!(out.code, 2, "{args:?}: {}", out.stderr);
    }
    let out = Flowc::new(&["run", file]).dir(dir.path()).run();
    assert_no_crash(&out);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("total 20001"), "{}", out.stderr);
}
