//! `--vars-file` in JSON, TOML and YAML through the real binary: each kind gives the same
//! values to a run, type errors point at the key's line and column in the vars file
//! (snapshotted), unknown keys, nested lists and maps, YAML's plain scalars, anchors and
//! edge cases, and files flowc cannot use (E0433, E0434).

use std::path::Path;

use crate::support::{json_lines, tmp, Flowc, Output};

/// A workflow with a parameter of every kind a vars file can set; its one step prints
/// them all.
const DEPLOY: &str = r#"workflow deploy(
  target: string,
  replicas: int = 1,
  ratio: float = 0.5,
  verbose: bool = false,
  grace: duration = 1m,
  regions: list<string> = ["eu"],
  limits: map<int> = { eu: 1 },
  shards: list<list<int>> = [[0]],
  owners: map<list<string>> = { eu: ["ops"] },
  token: secret = "none",
) {
  step show {
    run "echo ${target} ${replicas} ${ratio} ${verbose} ${grace} ${to_json(regions)} ${to_json(limits)} ${to_json(shards)} ${to_json(owners)}"
    env { TOKEN: token }
  }
}
"#;

/// A directory holding `deploy.flow` and the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tmp();
    std::fs::write(dir.path().join("deploy.flow"), DEPLOY).expect("deploy.flow");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("vars file");
    }
    dir
}

/// `flowc ARGS` in `dir`, not journaled, without colour, 160 columns wide (so that no
/// message is wrapped).
fn flowc(dir: &Path, args: &[&str]) -> Output {
    Flowc::new(args)
        .dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "160")
        .env("FLOWC_JOURNAL", "off")
        .env_remove("FLOW_VAR_target")
        .run()
}

/// The plan's first line: every parameter's value.
fn header(dir: &Path, vars: &str) -> String {
    let out = flowc(dir, &["plan", "deploy.flow", "--vars-file", vars]);
    assert_eq!(out.code, 0, "{vars}: {}", out.stderr);
    out.stdout.lines().next().unwrap_or_default().to_string()
}

const JSON: &str = r#"{
  "target": "prod",
  "replicas": 3,
  "ratio": 1.5,
  "verbose": true,
  "grace": "1h30m",
  "regions": ["eu-west", "us-east"],
  "limits": {"eu": 4, "us": 8},
  "shards": [[1, 2], [3]],
  "owners": {"eu": ["ops", "dev"]},
  "token": "t0ps3cret"
}
"#;

const TOML: &str = r#"target = "prod"
replicas = 3
ratio = 1.5
verbose = true
grace = "1h30m"
regions = ["eu-west", "us-east"]
shards = [[1, 2], [3]]
token = "t0ps3cret"

[limits]
eu = 4
us = 8

[owners]
eu = ["ops", "dev"]
"#;

const YAML: &str = "# Production.
target: prod
replicas: 3
ratio: 1.5
verbose: true
grace: 1h30m
regions:
  - eu-west
  - us-east
limits: {eu: 4, us: 8}
shards: [[1, 2], [3]]
owners:
  eu: [ops, dev]
token: t0ps3cret
";

#[test]
fn json_toml_and_yaml_give_a_run_the_same_values() {
    let dir = project(&[
        ("prod.json", JSON),
        ("prod.toml", TOML),
        ("prod.yaml", YAML),
        ("prod.YML", YAML),
    ]);
    let d = dir.path();
    let expected = "workflow deploy (target = \"prod\", replicas = 3, ratio = 1.5, verbose = true, \
                    grace = 1h30m, regions = [\"eu-west\", \"us-east\"], limits = { eu: 4, us: 8 }, \
                    shards = [[1, 2], [3]], owners = { eu: [\"ops\", \"dev\"] }, token = ***)";
    for vars in ["prod.json", "prod.toml", "prod.yaml", "prod.YML"] {
        assert_eq!(header(d, vars), expected, "{vars}");
        // The run itself gets them: its step prints them.
        let out = flowc(
            d,
            &[
                "run",
                "deploy.flow",
                "--vars-file",
                vars,
                "--events",
                "json",
            ],
        );
        assert_eq!(out.code, 0, "{vars}: {}", out.stderr);
        let printed: Vec<String> = json_lines(&out.stdout)
            .into_iter()
            .filter(|e| e["event"] == "output")
            .map(|e| e["line"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            printed,
            [
                r#"prod 3 1.5 true 1h30m ["eu-west","us-east"] {"eu":4,"us":8} [[1,2],[3]] {"eu":["ops","dev"]}"#
            ],
            "{vars}"
        );
    }
}

/// The stderr of `flowc plan` with each of these vars files, for a snapshot.
fn plan_errors(files: &[(&str, &str)]) -> String {
    let dir = project(files);
    let mut all = String::new();
    for (name, _) in files {
        let out = flowc(dir.path(), &["plan", "deploy.flow", "--vars-file", name]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{name}");
        all.push_str(&format!(
            "$ flowc plan deploy.flow --vars-file {name}\n{}\n",
            out.stderr
        ));
    }
    all
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "snapshots/vars", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn type_errors_and_unknown_keys_point_at_their_line_in_the_vars_file() {
    let text = plan_errors(&[
        (
            "bad.json",
            "{\n  \"target\": \"prod\",\n  \"replicas\": \"three\",\n  \"shards\": [[1], [2, \"x\"]],\n  \"limits\": {\"eu\": 1.5},\n  \"tagret\": \"dev\"\n}\n",
        ),
        (
            "bad.toml",
            "target = \"prod\"\nreplicas = 2.5\ngrace = 30\nowners = { eu = [\"ops\", 7] }\ntagret = \"dev\"\n",
        ),
        (
            "bad.yaml",
            "target: prod\nverbose: no\nreplicas: \"3\"\ngrace: 30\nregions:\n  - eu\n  - [us]\ntagret: dev\n",
        ),
    ]);
    // Each names the parameter, and the file at the line and column of the value.
    for needle in [
        "bad value for parameter `replicas` from vars file `bad.json`: expected an int, found a string",
        "╭─[bad.json:3:15]",
        "at [1][1]: expected an int, found a string",
        "╭─[bad.json:4:23]",
        "unknown parameter `tagret` for workflow `deploy` (given by vars file `bad.json`)",
        "╭─[bad.json:6:3]",
        "╭─[bad.toml:2:12]",
        "2.5 is not a whole number",
        "at [\"eu\"][1]: expected a string, found a number",
        "╭─[bad.toml:5:1]",
        "expected `true` or `false`, found \"no\"",
        "╭─[bad.yaml:2:10]",
        "╭─[bad.yaml:7:5]",
        "did you mean `target`?",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    snapshot("type_errors", &text);
}

#[test]
fn files_that_cannot_be_used_are_e0433_at_the_place_and_other_kinds_e0434() {
    let text = plan_errors(&[
        ("trailing-comma.json", "{\"target\": \"prod\",}\n"),
        ("list.json", "[\"target\", \"prod\"]\n"),
        ("unquoted.toml", "target = prod\n"),
        ("twice.toml", "target = \"a\"\ntarget = \"b\"\n"),
        ("unclosed.yaml", "target: [prod\n"),
        ("twice.yml", "target: a\nreplicas: 2\ntarget: b\n"),
        ("two-documents.yaml", "target: a\n---\ntarget: b\n"),
        ("tagged.yaml", "target: !vault secret/prod\n"),
        ("vars.ini", "target = prod\n"),
        ("vars", "{\"target\": \"prod\"}\n"),
    ]);
    let codes: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("error["))
        .map(|l| &l[..5])
        .collect();
    assert_eq!(
        codes,
        [
            "E0433", "E0433", "E0433", "E0433", "E0433", "E0433", "E0433", "E0433", "E0434",
            "E0434"
        ],
        "{text}"
    );
    assert!(
        text.contains("flowc reads `.json` (JSON), `.toml` (TOML), `.yaml` or `.yml` (YAML)"),
        "{text}"
    );
    snapshot("unusable_files", &text);
}

#[test]
fn yaml_plain_scalars_are_read_as_the_declared_type() {
    // `no`, `on`, `1.10`, `0123` stay text where text is declared (YAML 1.2 has no
    // `yes`/`no` booleans, and a version is not a number); ints in YAML's forms; `~` is
    // "not set", so the default stays; a quoted value is always text.
    let dir = project(&[(
        "edge.yaml",
        "target: no\nreplicas: 0x10\nratio: 2\nverbose: TRUE\ngrace: ~\n\
         regions: [on, 1.10, '0123', !!str 7, \"~\"]\nlimits: {eu: 0o17}\n",
    )]);
    assert_eq!(
        header(dir.path(), "edge.yaml"),
        "workflow deploy (target = \"no\", replicas = 16, ratio = 2.0, verbose = true, \
         grace = 1m, regions = [\"on\", \"1.10\", \"0123\", \"7\", \"~\"], limits = { eu: 15 }, \
         shards = [[0]], owners = { eu: [\"ops\"] }, token = ***)"
    );
}

#[test]
fn yaml_anchors_and_aliases_are_expanded_where_they_are_used() {
    let dir = project(&[
        (
            "anchors.yaml",
            "target: &t prod\nregions: &r [eu-west, us-east]\nowners:\n  eu: *r\n  us: [*t]\n",
        ),
        (
            "alias-error.yaml",
            "target: prod\nbase: &n [1, 2]\nregions: *n\n",
        ),
    ]);
    assert_eq!(
        header(dir.path(), "anchors.yaml"),
        "workflow deploy (target = \"prod\", replicas = 1, ratio = 0.5, verbose = false, \
         grace = 1m, regions = [\"eu-west\", \"us-east\"], limits = { eu: 1 }, shards = [[0]], \
         owners = { eu: [\"eu-west\", \"us-east\"], us: [\"prod\"] }, token = ***)"
    );
    // Plain `1` is text for a list<string>, so the alias itself fits; the anchor's key
    // is unknown, and reported at its line.
    let out = flowc(
        dir.path(),
        &["plan", "deploy.flow", "--vars-file", "alias-error.yaml"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown parameter `base`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("╭─[alias-error.yaml:2:1]"),
        "{}",
        out.stderr
    );
    // An alias of a value that does not fit is reported where the alias is used.
    let dir = project(&[(
        "alias.yaml",
        "target: prod\nx-shared: &n [a, b]\nshards: [*n]\n",
    )]);
    let out = flowc(
        dir.path(),
        &["plan", "deploy.flow", "--vars-file", "alias.yaml"],
    );
    assert!(
        out.stderr.contains("at [0][0]: \"a\" is not an int"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("╭─[alias.yaml:3:10]"), "{}", out.stderr);
}

#[test]
fn a_secret_from_a_vars_file_is_never_shown() {
    let dir = project(&[
        (
            "secret.json",
            "{\"target\": \"prod\", \"token\": 4242424242}\n",
        ),
        ("secret.yaml", "target: prod\ntoken: [s3cr3t-value]\n"),
    ]);
    for vars in ["secret.json", "secret.yaml"] {
        let out = flowc(dir.path(), &["plan", "deploy.flow", "--vars-file", vars]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("bad value for parameter `token`"),
            "{}",
            out.stderr
        );
        // Neither the message nor the excerpt of the file shows the value.
        assert!(
            !out.stderr.contains("4242424242") && !out.stderr.contains("s3cr3t"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("token: ") || out.stderr.contains("\"token\": "),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn null_means_not_set_in_every_kind() {
    let dir = project(&[
        ("null.json", "{\"target\": \"prod\", \"replicas\": null}\n"),
        ("null.yaml", "target: prod\nreplicas:\nverbose: null\n"),
        ("empty.yaml", ""),
        ("empty.toml", ""),
    ]);
    for vars in ["null.json", "null.yaml"] {
        assert!(
            header(dir.path(), vars).starts_with(
                "workflow deploy (target = \"prod\", replicas = 1, ratio = 0.5, verbose = false,"
            ),
            "{vars}"
        );
    }
    // An empty TOML or YAML file sets nothing: `target` is still missing.
    for vars in ["empty.yaml", "empty.toml"] {
        let out = flowc(dir.path(), &["plan", "deploy.flow", "--vars-file", vars]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("E0432"), "{vars}: {}", out.stderr);
    }
}

#[test]
fn flags_and_the_environment_still_win_over_a_yaml_file() {
    let dir = project(&[("prod.yaml", YAML)]);
    let out = Flowc::new(&[
        "plan",
        "deploy.flow",
        "--vars-file",
        "prod.yaml",
        "--var",
        "replicas=9",
    ])
    .dir(dir.path())
    .env("FLOW_VAR_target", "from-env")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let given = out.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        given.starts_with(
            "  given: target from FLOW_VAR_target, replicas from --var, ratio from prod.yaml"
        ),
        "{given}"
    );
}

/// The first block of each language in the "Vars files" section of docs/cli.md.
fn documented_vars_files() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(crate::support::root().join("docs/cli.md")).expect("cli.md");
    let section = doc
        .split("### Vars files")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Vars files section");
    ["json", "toml", "yaml"]
        .iter()
        .map(|lang| {
            let block = section
                .split(&format!("```{lang}\n"))
                .nth(1)
                .and_then(|b| b.split("```").next())
                .unwrap_or_else(|| panic!("no {lang} block"));
            (format!("doc.{lang}"), block.to_string())
        })
        .collect()
}

#[test]
fn the_documented_vars_files_give_the_same_values() {
    let files = documented_vars_files();
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dir = project(&borrowed);
    let headers: Vec<String> = files.iter().map(|(n, _)| header(dir.path(), n)).collect();
    assert!(
        headers[0].starts_with(
            "workflow deploy (target = \"prod\", replicas = 3, ratio = 0.5, verbose = false, grace = 5m, regions = [\"eu-west\", \"us-east\"], limits = { eu: 4 },"
        ),
        "{}",
        headers[0]
    );
    assert_eq!(headers[0], headers[1]);
    assert_eq!(headers[0], headers[2]);
}

#[test]
fn a_record_parameter_takes_a_table_or_a_mapping_and_a_misspelt_field_is_shown_at_its_key() {
    let dir = tmp();
    let d = dir.path();
    std::fs::write(
        d.join("w.flow"),
        "workflow w(spec: record { name: string, replicas: int }) {\n  step s { run \"echo ${spec.name} ${spec.replicas}\" }\n}\n",
    )
    .expect("w.flow");
    std::fs::write(
        d.join("spec.toml"),
        "[spec]\nname = \"web\"\nreplicas = 3\n",
    )
    .expect("toml");
    std::fs::write(d.join("spec.yaml"), "spec: {name: web, replicas: 3}\n").expect("yaml");
    std::fs::write(d.join("typo.yaml"), "spec:\n  name: web\n  replicsa: 3\n").expect("typo");
    for vars in ["spec.toml", "spec.yaml"] {
        let out = flowc(
            d,
            &["run", "w.flow", "--vars-file", vars, "--events", "json"],
        );
        assert_eq!(out.code, 0, "{vars}: {}", out.stderr);
        assert!(
            out.stdout.contains(r#""line":"web 3""#),
            "{vars}: {}",
            out.stdout
        );
    }
    let out = flowc(d, &["plan", "w.flow", "--vars-file", "typo.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the record has no field \"replicsa\" (did you mean `replicas`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("╭─[typo.yaml:3:3]"), "{}", out.stderr);
}
