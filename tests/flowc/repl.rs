//! `flowc repl`: end-to-end through a real pseudo-terminal (completion, multi-line input,
//! highlighting, history across sessions, Ctrl-C, Ctrl-D and the done-when scenario), and
//! through a pipe (no prompts, no colours, exit 1 when an input failed).
//!
//! The terminal tests wait for output with generous timeouts and never assert on timing,
//! so that they hold on a loaded machine.

use std::path::Path;
use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::session::PtySession;

use crate::support::{root, Flowc};

/// How long any one expected output may take to appear.
const TIMEOUT_MS: u64 = 60_000;

/// `flowc repl ARGS` on a pseudo-terminal in the crate root, with its history in `history`.
fn spawn(history: &Path, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowc"));
    cmd.arg("repl")
        .args(args)
        .current_dir(root())
        .env("TERM", "xterm-256color")
        .env("FLOWC_HISTORY", history)
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR");
    let mut p = rexpect::session::spawn_command(cmd, Some(TIMEOUT_MS)).expect("flowc repl starts");
    fresh_prompt(&mut p);
    p
}

/// Types keys (without Enter).
fn keys(p: &mut PtySession, text: &str) {
    p.send(text).expect("typed");
    p.flush().expect("flushed");
}

/// Types a line and presses Enter.
fn enter(p: &mut PtySession, line: &str) {
    keys(p, &format!("{line}\r"));
}

/// Waits until a new line is being read: rustyline turns bracketed paste on as each read
/// starts. (Keys sent before that could be read together with the previous line's last key
/// and dropped with it.)
fn fresh_prompt(p: &mut PtySession) {
    p.exp_string("\x1b[?2004h").expect("a new read starts");
    p.exp_string("flow> ").expect("a fresh prompt");
}

/// Expects `needle` in the answer to the last input, then waits for the next prompt.
fn answer(p: &mut PtySession, needle: &str, what: &str) {
    p.exp_string(needle)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    fresh_prompt(p);
}

/// Leaves with Ctrl-D (at a fresh prompt) and checks that the REPL exits 0.
fn leave(mut p: PtySession) {
    p.send_control('d').expect("ctrl-d");
    p.exp_eof().expect("the REPL exits");
    match p.process().wait() {
        Ok(WaitStatus::Exited(_, code)) => assert_eq!(code, 0),
        other => panic!("unexpected end: {other:?}"),
    }
}

fn history_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history");
    (dir, path)
}

#[test]
fn done_when_load_type_evaluate_and_run() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history, &[]);
    enter(&mut p, ":load examples/deploy.flow");
    answer(
        &mut p,
        "loaded `examples/deploy.flow`: workflow `deploy` with",
        "loaded",
    );
    enter(&mut p, ":type build.digest");
    answer(&mut p, "\nstring\r\n", "the type of an output");
    enter(&mut p, "target == \"prod\" && len(regions) > 1");
    answer(&mut p, "false : bool", "a condition");
    enter(&mut p, "len([\"a\", \"b\"]) * 2");
    answer(&mut p, "4 : int", "the issue's example");
    // deploy's steps need docker and kubectl: run a step of an example that runs anywhere.
    enter(&mut p, ":load examples/hello.flow");
    answer(&mut p, "workflow `hello` with", "loaded hello");
    enter(&mut p, ":run count");
    // (The pty reader sees bytes, so only ASCII is matched.)
    p.exp_string("greet[0] | hello world in")
        .expect("live progress");
    answer(&mut p, "workflow `hello` succeeded", "the run's summary");
    enter(&mut p, "count.greetings");
    answer(&mut p, "3 : int", "the step's output, after the run");
    leave(p);
}

#[test]
fn tab_completes_commands_paths_names_and_outputs() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history, &[]);
    keys(&mut p, ":lo\t");
    p.exp_string(":load").expect("the command completed");
    keys(&mut p, " examples/hel\t");
    p.exp_string("hello.flow").expect("the path completed");
    keys(&mut p, "\r");
    answer(&mut p, "workflow `hello` with", "loaded");
    keys(&mut p, "lang\t");
    p.exp_string("languages").expect("a parameter completed");
    keys(&mut p, " == [] || count.gre\t");
    p.exp_string("greetings").expect("a step output completed");
    keys(&mut p, " > 2\r");
    answer(
        &mut p,
        "? : bool (not known before the run)",
        "the completed line was evaluated",
    );
    leave(p);
}

#[test]
fn open_braces_brackets_and_strings_continue_the_input() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history, &[]);
    enter(&mut p, "step hi {");
    enter(&mut p, "  run \"echo {");
    enter(&mut p, "hi}\"");
    enter(&mut p, "}");
    answer(
        &mut p,
        "defined step `hi`",
        "one definition from four lines",
    );
    enter(&mut p, "[1,");
    enter(&mut p, " 2]");
    answer(&mut p, "[1, 2] : list<int>", "a list over two lines");
    leave(p);
}

#[test]
fn keywords_are_highlighted_and_ctrl_c_clears_the_input() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history, &[]);
    keys(&mut p, "let");
    p.exp_string("\x1b[1;35mlet\x1b[0m")
        .expect("the keyword in colour");
    // Ctrl-C drops `let`: what follows is evaluated on its own.
    p.send_control('c').expect("ctrl-c");
    fresh_prompt(&mut p);
    enter(&mut p, "40 + 2");
    answer(&mut p, "42 : int", "the cleared line is gone");
    leave(p);
}

#[test]
fn ctrl_c_cancels_a_running_step_and_the_session_goes_on() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history, &[]);
    enter(&mut p, "step slow { run \"sleep 60\" }");
    answer(&mut p, "defined step `slow`", "defined");
    enter(&mut p, ":run slow");
    p.exp_string("0s slow").expect("the step started");
    p.send_control('c').expect("ctrl-c");
    p.exp_string("interrupted (SIGINT): stopping running steps")
        .expect("the run was cancelled");
    fresh_prompt(&mut p);
    enter(&mut p, "1 + 1");
    answer(&mut p, "2 : int", "the session survived");
    leave(p);
}

#[test]
fn history_is_kept_across_sessions_and_hinted() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history, &[]);
    enter(&mut p, "20 * 3 + 1");
    answer(&mut p, "61 : int", "evaluated");
    leave(p);
    let saved = std::fs::read_to_string(&history).expect("the history file was written");
    assert!(saved.contains("20 * 3 + 1"), "{saved}");

    let mut p = spawn(&history, &[]);
    // The previous session's line is offered as a hint, then recalled with the Up arrow.
    keys(&mut p, "20 *");
    p.exp_string(" 3 + 1").expect("the hint from history");
    p.send_control('c').expect("ctrl-c");
    fresh_prompt(&mut p);
    keys(&mut p, "\x1b[A");
    keys(&mut p, "\r");
    answer(&mut p, "61 : int", "the recalled line was evaluated");
    leave(p);
}

#[test]
fn piped_input_prints_results_without_prompts_or_colours() {
    let out = Flowc::new(&["repl"])
        .stdin("1 + 1\nlet xs = [\n  \"a\",\n  \"b\",\n]\nlen(xs) * 2\n:type xs\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "2 : int\ndefined let `xs` : list<string>\n4 : int\nlist<string>\n"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn piped_input_that_fails_exits_1_and_goes_on() {
    let out = Flowc::new(&["repl"])
        .stdin("1 + nope\n:nope\n:load\n:run x\n:doc nope\n:explain nope\n:reload\n2 + 2\n")
        .run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "4 : int\n");
    for code in [
        "E0101", "E0470", "E0471", "E0472", "E0473", "E0474", "E0475",
    ] {
        assert!(out.stderr.contains(code), "{code} missing:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains('\x1b'), "{}", out.stderr);
    assert!(out.stderr.contains("<repl:1>:1:5"), "{}", out.stderr);
}

#[test]
fn piped_run_loads_a_file_and_quits() {
    let out = Flowc::new(&["repl", "examples/hello.flow"])
        .stdin(":type count.greetings\n:quit\n1 + 1\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "loaded `examples/hello.flow`: workflow `hello` with 5 steps\nint\n"
    );
}

#[test]
fn a_file_that_does_not_check_is_reported_with_its_own_lines() {
    let out = Flowc::new(&["repl", "examples/broken/typo-in-after.flow"])
        .stdin("1\n")
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("examples/broken/typo-in-after.flow:15:19"),
        "{}",
        out.stderr
    );
}

/// After `:run`, a step named after a call of a workflow (and one after it, whose place
/// moved when the call was inlined) reads its own result, not that of an inlined step.
#[test]
fn results_of_steps_around_an_inlined_call_are_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("w.flow"),
        r#"workflow main(rs: list<string> = ["eu", "us"]) {
  step each for r in rs = region(r: r)
  step last after each { run "echo last" }
}

workflow region(r: string) {
  step push {
    run "echo digest=d-${r} > $FLOW_OUTPUT"
    outputs { digest: string }
  }
  outputs { digest: string = push.digest }
}
"#,
    )
    .expect("write");
    let out = Flowc::new(&["repl", "w.flow"])
        .dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(":run\neach.digest\nlast.stdout\n:quit\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("[\"d-eu\", \"d-us\"] : list<string>\n\"last\\n\" : string\n"),
        "{}",
        out.stdout
    );
}
