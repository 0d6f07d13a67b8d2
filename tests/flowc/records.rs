//! Records (`record { name: string, replicas: int }` and the literals `{ name: "web",
//! replicas: 3 }`) through the real `flowc` binary: as parameters (default, `--var`, a vars
//! file), as step outputs read back from `$FLOW_OUTPUT` and kept across a resume, in
//! `flowc plan`, in the REPL, and formatted by `flowc fmt`. Steps write what they see to
//! files, which the tests read.

use std::path::Path;

use crate::support::{flowc_in, tmp, Flowc};

/// A workflow with a record parameter whose step writes its fields to `seen.txt`.
const SCALE: &str = r#"workflow scale(
  spec: record { name: string, replicas: int, canary: bool } = { name: "web", replicas: 3, canary: false },
) {
  step apply when !spec.canary || spec.replicas > 1 {
    run "echo ${spec.name} ${spec.replicas * 2} ${spec.canary} ${to_json(spec)} > seen.txt"
  }
}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_record_parameter_takes_its_default_a_var_or_a_vars_file() {
    let dir = tmp();
    write(dir.path(), "w.flow", SCALE);
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(dir.path(), "seen.txt"),
        "web 6 false {\"canary\":false,\"name\":\"web\",\"replicas\":3}\n"
    );

    let var = r#"spec={"name": "api", "replicas": 5, "canary": true}"#;
    let out = flowc_in(dir.path(), &["run", "w.flow", "--var", var]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(dir.path(), "seen.txt"),
        "api 10 true {\"canary\":true,\"name\":\"api\",\"replicas\":5}\n"
    );

    write(
        dir.path(),
        "vars.json",
        r#"{"spec": {"name": "db", "replicas": 1, "canary": false}}"#,
    );
    let out = flowc_in(dir.path(), &["run", "w.flow", "--vars-file", "vars.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(read(dir.path(), "seen.txt").starts_with("db 2 false "));
}

#[test]
fn a_record_input_with_a_misspelt_missing_or_mistyped_field_is_refused() {
    let dir = tmp();
    write(dir.path(), "w.flow", SCALE);
    let cases = [
        (
            r#"spec={"name": "api", "replicsa": 5, "canary": true}"#,
            "the record has no field \"replicsa\" (did you mean `replicas`?",
        ),
        (
            r#"spec={"name": "api", "canary": true}"#,
            "the field \"replicas\" is missing",
        ),
        (
            r#"spec={"name": "api", "replicas": "5", "canary": true}"#,
            "at [\"replicas\"]: expected an int, found a string",
        ),
        (r#"spec=["api"]"#, "expected an object, found an array"),
    ];
    for (var, why) in cases {
        let out = flowc_in(dir.path(), &["run", "w.flow", "--var", var]);
        assert_eq!(out.code, 2, "{var}: {}", out.stderr);
        // The message as one line, without the marks of its wrapping.
        let one_line = out
            .stderr
            .split_whitespace()
            .filter(|w| *w != "│")
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            one_line.contains("error[E0431]") && one_line.contains(why),
            "{var}: {}",
            out.stderr
        );
        assert!(!dir.path().join("seen.txt").exists(), "nothing ran");
    }
}

#[test]
fn a_record_output_is_read_back_typed_and_kept_by_a_resume() {
    let dir = tmp();
    // `deploy` fails until `fixed` exists; `spec` writes its output once per run.
    let text = r#"workflow w() {
  step spec {
    run "echo ran >> spec-runs.txt && echo '{\"target\": {\"name\": \"web\", \"replicas\": 3, \"extra\": 1}}' > $FLOW_OUTPUT"
    outputs { target: record { name: string, replicas: int } }
  }
  step deploy { run "test -f fixed && echo ${spec.target.name} ${spec.target.replicas + 1} > deployed.txt" }
}
"#;
    write(dir.path(), "w.flow", text);
    let out = flowc_in(dir.path(), &["run", "w.flow"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    write(dir.path(), "fixed", "");
    let out = flowc_in(dir.path(), &["resume", "--last"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read(dir.path(), "deployed.txt"), "web 4\n");
    assert_eq!(read(dir.path(), "spec-runs.txt"), "ran\n", "spec was kept");
}

#[test]
fn plan_shows_record_values_and_the_repl_prints_them() {
    let dir = tmp();
    write(dir.path(), "w.flow", SCALE);
    let out = flowc_in(dir.path(), &["plan", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(
        shown.contains(r#"spec = { canary: false, name: "web", replicas: 3 }"#),
        "{shown}"
    );

    let out = Flowc::new(&["repl"])
        .dir(dir.path())
        .stdin(
            "{ name: \"web\", replicas: 3, \"dry-run\": true }\n\
             secret token = \"s3cr3t\"\n\
             { user: \"ci\", auth: \"Bearer ${token}\", tries: 2 }.auth\n\
             { user: \"ci\", auth: \"Bearer ${token}\", tries: 2 }\n\
             :load w.flow\n\
             spec.replicas + 1\n",
        )
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{ "dry-run": true, name: "web", replicas: 3 } : record { "dry-run": bool, name: string, replicas: int }"#,
            "defined secret `token` : secret",
            "*** : secret",
            r#"{ auth: ***, tries: 2, user: "ci" } : record { auth: secret, tries: int, user: string }"#,
            "loaded `w.flow`: workflow `scale` with 1 step",
            "4 : int",
        ],
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("s3cr3t"));
}

#[test]
fn fmt_writes_record_types_and_literals_canonically() {
    let dir = tmp();
    write(
        dir.path(),
        "w.flow",
        "workflow w(spec: record{name:string\n  \"dry-run\" : bool,} = {name:\"web\",\"dry-run\":true}) {\n  let all: list<record{n:int}> = [{n:1}]\n  step s { run \"echo ${spec.name} ${len(all)}\" }\n}\n",
    );
    let out = flowc_in(dir.path(), &["fmt", "w.flow"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(dir.path(), "w.flow"),
        "workflow w(spec: record { name: string, \"dry-run\": bool } = { name: \"web\", \"dry-run\": true }) {\n  let all: list<record { n: int }> = [{ n: 1 }]\n  step s { run \"echo ${spec.name} ${len(all)}\" }\n}\n"
    );
    let again = flowc_in(dir.path(), &["fmt", "--check", "w.flow"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let check = flowc_in(dir.path(), &["check", "w.flow"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn a_secret_field_of_a_record_parameter_is_redacted_like_any_secret() {
    let dir = tmp();
    write(
        dir.path(),
        "w.flow",
        r#"workflow w(creds: record { user: string, token: secret } = { user: "ci", token: "zz-default-secret-1" }) {
  step s {
    run "sh -c 'echo $USER_NAME has $TOKEN; echo $TOKEN > token.txt'"
    env { TOKEN: creds.token, USER_NAME: creds.user }
  }
}
"#,
    );
    let given = r#"creds={"user": "ops", "token": "zz-given-secret-2"}"#;
    for (args, secret) in [
        (vec!["run", "w.flow"], "zz-default-secret-1"),
        (vec!["run", "w.flow", "--var", given], "zz-given-secret-2"),
    ] {
        let out = flowc_in(dir.path(), &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            read(dir.path(), "token.txt"),
            format!("{secret}\n"),
            "the step got it"
        );
        assert!(out.stderr.contains("has ***"), "{}", out.stderr);
        assert!(!out.stderr.contains(secret), "{}", out.stderr);
        let plan = flowc_in(dir.path(), &["plan", "w.flow"]);
        assert!(
            plan.stdout.contains("token: ***") || plan.stderr.contains("token: ***"),
            "{plan:?}"
        );
    }
}
