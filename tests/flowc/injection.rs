//! Injection one level down (issue 15): a value that reaches a program which parses its
//! argument as a command again (`sh -c`, `bash -c`, `ssh HOST CMD`, `eval`, `su -c`, behind
//! `docker exec`, `kubectl exec`, `xargs`) is refused by `flowc check` (E0407), in `run` text
//! and `exec` lists; the safe forms (the value through `env`, or as a positional argument)
//! run with hostile values and create nothing.

use std::path::Path;

use crate::support::Flowc;

/// Values that run `touch PWNED` if a shell parses them as code.
const HOSTILE: &[&str] = &[
    "x; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "' ; touch PWNED ; '",
    "\" ; touch PWNED ; \"",
    "x && touch PWNED",
    "x | touch PWNED",
    "x\ntouch PWNED",
];

/// Every refused form: the step's body.
const REFUSED: &[&str] = &[
    r#"run "sh -c 'echo deploy ${target}'""#,
    r#"run "bash -c \"echo deploy ${target}\"""#,
    r#"run "/bin/sh -ec 'echo deploy ${target}'""#,
    r#"run "true && sh -c 'echo deploy ${target}'""#,
    r#"run "env X=1 sh -c 'echo deploy ${target}'""#,
    r#"run "echo a | xargs sh -c 'echo deploy ${target}'""#,
    r#"run "docker exec web sh -c 'echo deploy ${target}'""#,
    r#"run "kubectl exec pod -- sh -c 'echo deploy ${target}'""#,
    r#"run "ssh host echo deploy ${target}""#,
    r#"run "eval \"echo deploy ${target}\"""#,
    r#"run "su app -c 'echo deploy ${target}'""#,
    r#"exec ["sh", "-c", "echo deploy ${target}"]"#,
    r#"exec ["bash", "-c", "echo deploy ${target}"]"#,
    r#"exec ["env", "sh", "-c", "echo deploy ${target}"]"#,
    r#"exec ["ssh", "-p", "22", "host", "echo deploy ${target}"]"#,
];

fn pwned(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("PWNED"))
        .count()
}

#[test]
fn every_form_of_a_second_parser_is_refused_before_anything_runs() {
    let mut tried = 0;
    for (k, body) in REFUSED.iter().enumerate() {
        for value in HOSTILE {
            let dir = tempfile::tempdir().expect("tempdir");
            let text =
                format!("workflow w(target: string = \"staging\") {{\n  step s {{ {body} }}\n}}\n");
            std::fs::write(dir.path().join("w.flow"), &text).expect("write");
            let out = Flowc::new(&["run", "w.flow", "--var", &format!("target={value}")])
                .dir(dir.path())
                .env("NO_COLOR", "1")
                .run();
            // A file that does not check is an input error for `flowc run`.
            assert_eq!(out.code, 2, "form {k} `{body}`: {}", out.stderr);
            assert!(
                out.stderr.contains("E0407"),
                "form {k} `{body}`: {}",
                out.stderr
            );
            assert_eq!(pwned(dir.path()), 0, "form {k} `{body}` with {value:?}");
            tried += 1;
        }
    }
    assert_eq!(tried, REFUSED.len() * HOSTILE.len());
}

#[test]
fn the_safe_forms_pass_hostile_values_as_data() {
    let text = r#"workflow w(target: string = "staging") {
  step by_env {
    run "sh -c 'echo \"env:$TARGET\" >> got'"
    env { TARGET: target }
  }
  step by_position after by_env { run "sh -c 'echo \"pos:$1\" >> got' sh ${target}" }
  step by_exec after by_position { exec ["sh", "-c", "echo \"exec:$1\" >> got", "sh", target] }
  step plain after by_exec { run "echo plain:${target} >> got" }
}
"#;
    for value in HOSTILE.iter().filter(|v| !v.contains('\n')) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("w.flow"), text).expect("write");
        let out = Flowc::new(&["run", "w.flow", "--var", &format!("target={value}")])
            .dir(dir.path())
            .env("NO_COLOR", "1")
            .run();
        assert_eq!(out.code, 0, "{value:?}: {}", out.stderr);
        assert_eq!(pwned(dir.path()), 0, "{value:?}");
        let got = std::fs::read_to_string(dir.path().join("got")).expect("got");
        assert_eq!(
            got,
            format!("env:{value}\npos:{value}\nexec:{value}\nplain:{value}\n"),
            "{value:?}"
        );
    }
}
