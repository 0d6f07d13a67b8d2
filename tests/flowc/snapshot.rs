//! The journal codec: the committed golden journal of every released format version
//! decodes forever, and damaged files (every truncation, every flipped byte) never panic:
//! they give back the complete records or a coded refusal.

use std::collections::BTreeMap;

use flowc::snapshot::record::{Failure, Record, RunStarted, Val};
use flowc::snapshot::{self, SnapshotError};
use miette::Diagnostic;

use crate::support::root;

/// The records of tests/golden/journal-v1.bin: one of every kind.
fn golden_records() -> Vec<Record> {
    let mut inputs = BTreeMap::new();
    inputs.insert("target".to_string(), Val::Str("prod".to_string()));
    inputs.insert("count".to_string(), Val::Int(-3));
    inputs.insert("ratio".to_string(), Val::Float(0.5));
    inputs.insert("dry".to_string(), Val::Bool(true));
    inputs.insert("wait".to_string(), Val::Duration(90_000));
    inputs.insert("token".to_string(), Val::Secret("s3cret".to_string()));
    inputs.insert(
        "regions".to_string(),
        Val::List(vec![Val::Str("eu".to_string()), Val::Str("us".to_string())]),
    );
    let mut map = BTreeMap::new();
    map.insert("k".to_string(), Val::Int(1));
    inputs.insert("tags".to_string(), Val::Map(map.clone()));
    let mut outputs = BTreeMap::new();
    outputs.insert("version".to_string(), Val::Str("1.2.3".to_string()));
    vec![
        Record::RunStarted(RunStarted {
            run_id: "1700000000-ab12".to_string(),
            file: "/work/deploy.flow".to_string(),
            workflow: "deploy".to_string(),
            inputs,
            max_parallel: 8,
            approve_all: false,
            approve: vec!["gate".to_string()],
            log_dir: "/work/.flow/logs/1700000000-ab12".to_string(),
            workdir: "/work".to_string(),
            steps: 4,
            at_ms: 1_700_000_000_000,
        }),
        Record::Driver {
            pid: 4242,
            at_ms: 1_700_000_000_001,
        },
        Record::StepStarted {
            step: "test[3]".to_string(),
            attempt: 2,
            pgid: 31337,
            at_ms: 1_700_000_000_002,
        },
        Record::AttemptFailed {
            step: "test[3]".to_string(),
            attempt: 1,
            exit_code: 75,
            reason: "exit code 75".to_string(),
        },
        Record::InstanceFinished {
            step: "test[3]".to_string(),
            exit_code: 0,
            stdout: "ok\n".to_string(),
            attempts: 2,
            duration_ms: 1200,
            outputs: outputs.clone(),
            fingerprint: 0x0123_4567_89ab_cdef,
        },
        Record::StepFinished {
            step: "call.build".to_string(),
            status: "succeeded".to_string(),
            attempts: 1,
            duration_ms: 3000,
            exit_codes: vec![0],
            reason: None,
            record: Val::Record(outputs),
            fingerprint: 0xdead_beef_0123_4567,
            at_ms: 1_700_000_000_003,
        },
        Record::StepSkipped {
            step: "notify".to_string(),
            reason: "its condition is false".to_string(),
        },
        Record::Approval {
            step: "gate".to_string(),
            approved: true,
            at_ms: 1_700_000_000_004,
        },
        Record::RunFinished {
            status: "succeeded".to_string(),
            at_ms: 1_700_000_000_005,
        },
    ]
}

fn golden_path() -> std::path::PathBuf {
    root().join("tests/golden/journal-v1.bin")
}

/// The golden file was written once by format version 1 (`FLOWC_BLESS_GOLDEN=1` writes it
/// again, which is only right when creating the file for a new version). It must decode to
/// the same records forever, whatever the current format version is.
#[test]
fn golden_journal_v1_decodes_forever() {
    if std::env::var_os("FLOWC_BLESS_GOLDEN").is_some() {
        snapshot::write_atomic(&golden_path(), &golden_records()).expect("write golden");
    }
    let loaded = snapshot::load::<Record>(&golden_path()).expect("the v1 golden file decodes");
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.records, golden_records());
    let bytes = std::fs::read(golden_path()).expect("read");
    assert_eq!(&bytes[..8], b"FLOWJRNL");
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes(), "format version 1");
}

/// The records of tests/golden/journal-v2.bin: those of version 1, then the record
/// version 2 added, a step's coded failure (with the cause of a fan-out's).
fn golden_records_v2() -> Vec<Record> {
    let mut records = golden_records();
    let finish = records.pop().expect("the run's end");
    records.push(Record::StepFailed {
        step: "test".to_string(),
        failure: Failure {
            code: "E0468".to_string(),
            message: "test[3]: exit code 75".to_string(),
            help: Some("`test[3]` failed with E0460".to_string()),
            cause: Some(Box::new(Failure {
                code: "E0460".to_string(),
                message: "exit code 75".to_string(),
                help: None,
                cause: None,
            })),
        },
    });
    records.push(finish);
    records
}

fn golden_path_v2() -> std::path::PathBuf {
    root().join("tests/golden/journal-v2.bin")
}

/// Like the version 1 file: written once (`FLOWC_BLESS_GOLDEN=1`), decoded forever.
#[test]
fn golden_journal_v2_decodes_forever() {
    if std::env::var_os("FLOWC_BLESS_GOLDEN").is_some() {
        snapshot::write_atomic(&golden_path_v2(), &golden_records_v2()).expect("write golden");
    }
    let loaded = snapshot::load::<Record>(&golden_path_v2()).expect("the v2 golden file decodes");
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.records, golden_records_v2());
    let bytes = std::fs::read(golden_path_v2()).expect("read");
    assert_eq!(&bytes[8..12], &2u32.to_le_bytes(), "format version 2");
}

/// The records of tests/golden/journal-v3.bin: those of version 2, then the records
/// version 3 added: the route a failed step's failure took, a gate's deadline, and a
/// decision with who made it and why.
fn golden_records_v3() -> Vec<Record> {
    let mut records = golden_records_v2();
    let finish = records.pop().expect("the run's end");
    records.extend([
        Record::GateOpened {
            step: "gate".to_string(),
            deadline_ms: 1_700_000_120_000,
        },
        Record::Decision {
            step: "gate".to_string(),
            decision: "timed_out".to_string(),
            by: String::new(),
            comment: String::new(),
            at_ms: 1_700_000_120_000,
        },
        Record::RouteTaken {
            step: "gate".to_string(),
            route: 0,
            to: "escalate".to_string(),
            condition: "gate.decision == \"timed_out\"".to_string(),
        },
        Record::Decision {
            step: "escalate".to_string(),
            decision: "approved".to_string(),
            by: "ana".to_string(),
            comment: "checked the changelog".to_string(),
            at_ms: 1_700_000_130_000,
        },
    ]);
    records.push(finish);
    records
}

fn golden_path_v3() -> std::path::PathBuf {
    root().join("tests/golden/journal-v3.bin")
}

/// Like the version 1 and 2 files: written once (`FLOWC_BLESS_GOLDEN=1`), decoded forever.
#[test]
fn golden_journal_v3_decodes_forever() {
    if std::env::var_os("FLOWC_BLESS_GOLDEN").is_some() {
        snapshot::write_atomic(&golden_path_v3(), &golden_records_v3()).expect("write golden");
    }
    let loaded = snapshot::load::<Record>(&golden_path_v3()).expect("the v3 golden file decodes");
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.records, golden_records_v3());
    let bytes = std::fs::read(golden_path_v3()).expect("read");
    assert_eq!(&bytes[8..12], &3u32.to_le_bytes(), "format version 3");
}

/// The records of tests/golden/journal-v4.bin: those of version 3, then the records
/// version 4 added: a concurrency group found busy, then taken, and a run that ended
/// skipped.
fn golden_records_v4() -> Vec<Record> {
    let mut records = golden_records_v3();
    let finish = records.pop().expect("the run's end");
    records.extend([
        Record::GroupBusy {
            group: "deploy-prod".to_string(),
            policy: "queue".to_string(),
            holder: "1699999999-cd34".to_string(),
            at_ms: 1_700_000_140_000,
        },
        Record::GroupTaken {
            group: "deploy-prod".to_string(),
            policy: "queue".to_string(),
            at_ms: 1_700_000_150_000,
        },
    ]);
    records.push(finish);
    records.push(Record::RunFinished {
        status: "skipped".to_string(),
        at_ms: 1_700_000_160_000,
    });
    records
}

fn golden_path_v4() -> std::path::PathBuf {
    root().join("tests/golden/journal-v4.bin")
}

/// Like the files of the versions before: written once (`FLOWC_BLESS_GOLDEN=1`), decoded
/// forever.
#[test]
fn golden_journal_v4_decodes_forever() {
    if std::env::var_os("FLOWC_BLESS_GOLDEN").is_some() {
        snapshot::write_atomic(&golden_path_v4(), &golden_records_v4()).expect("write golden");
    }
    let loaded = snapshot::load::<Record>(&golden_path_v4()).expect("the v4 golden file decodes");
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.records, golden_records_v4());
    let bytes = std::fs::read(golden_path_v4()).expect("read");
    assert_eq!(&bytes[8..12], &4u32.to_le_bytes(), "format version 4");
}

/// The records of tests/golden/journal-v5.bin: those of version 4, then the records
/// version 5 added (operating a run: checkpoints, a resume from a step, a rollback and one
/// of its compensations) and the end a rollback gives a run.
fn golden_records_v5() -> Vec<Record> {
    let mut records = golden_records_v4();
    records.push(Record::Checkpoints {
        labels: vec![("pre-production".to_string(), "build".to_string())],
    });
    records.push(Record::Resumed {
        from: vec!["test[3]".to_string()],
        only: vec!["build".to_string()],
        at_ms: 1_700_000_202_000,
    });
    records.push(Record::RollbackStarted {
        to: Some("pre-production".to_string()),
        undo: vec![("undo_test".to_string(), "test".to_string())],
        kept: vec!["notify".to_string()],
        at_ms: 1_700_000_203_000,
    });
    records.push(Record::CompensationStarted {
        step: "undo_test".to_string(),
        target: "test".to_string(),
        at_ms: 1_700_000_203_100,
    });
    records.push(Record::RunFinished {
        status: "rolled_back".to_string(),
        at_ms: 1_700_000_204_000,
    });
    records
}

fn golden_path_v5() -> std::path::PathBuf {
    root().join("tests/golden/journal-v5.bin")
}

/// Like the files of the versions before: written once (`FLOWC_BLESS_GOLDEN=1`), decoded
/// forever.
#[test]
fn golden_journal_v5_decodes_forever() {
    if std::env::var_os("FLOWC_BLESS_GOLDEN").is_some() {
        snapshot::write_atomic(&golden_path_v5(), &golden_records_v5()).expect("write golden");
    }
    let loaded = snapshot::load::<Record>(&golden_path_v5()).expect("the v5 golden file decodes");
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.records, golden_records_v5());
    let bytes = std::fs::read(golden_path_v5()).expect("read");
    assert_eq!(&bytes[8..12], &5u32.to_le_bytes(), "format version 5");
}

/// The records of tests/golden/journal-v6.bin: those of version 5, then the record
/// version 6 added, a step instance that failed for good (what `max_failures` counts).
fn golden_records_v6() -> Vec<Record> {
    let mut records = golden_records_v5();
    let finish = records.pop().expect("the run's end");
    records.push(Record::InstanceFailed {
        step: "test[3]".to_string(),
        at_ms: 1_700_000_203_500,
    });
    records.push(finish);
    records
}

fn golden_path_v6() -> std::path::PathBuf {
    root().join("tests/golden/journal-v6.bin")
}

/// Like the files of the versions before: written once (`FLOWC_BLESS_GOLDEN=1`), decoded
/// forever.
#[test]
fn golden_journal_v6_decodes_forever() {
    if std::env::var_os("FLOWC_BLESS_GOLDEN").is_some() {
        snapshot::write_atomic(&golden_path_v6(), &golden_records_v6()).expect("write golden");
    }
    let loaded = snapshot::load::<Record>(&golden_path_v6()).expect("the v6 golden file decodes");
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.records, golden_records_v6());
    let bytes = std::fs::read(golden_path_v6()).expect("read");
    assert_eq!(&bytes[8..12], &6u32.to_le_bytes(), "format version 6");
}

fn code(e: &SnapshotError) -> String {
    e.code().map(|c| c.to_string()).unwrap_or_default()
}

#[test]
fn every_truncation_recovers_complete_records_or_refuses() {
    let bytes = std::fs::read(golden_path()).expect("read");
    let all = golden_records();
    let header_len = snapshot::header().len();
    for len in 0..bytes.len() {
        match snapshot::decode::<Record>("j", &bytes[..len]) {
            Ok(loaded) => {
                assert!(len >= header_len, "a cut header decoded at {len}");
                assert_eq!(loaded.records[..], all[..loaded.records.len()]);
                assert!(loaded.records.len() < all.len(), "at {len}");
                assert_eq!(
                    loaded.warnings.is_empty(),
                    loaded.valid_len == len as u64,
                    "a dropped tail is reported (W0010) at {len}"
                );
                if let Some(w) = loaded.warnings.first() {
                    assert_eq!(w.code().map(|c| c.to_string()).as_deref(), Some("W0010"));
                }
            }
            Err(e) => {
                assert!(len < header_len, "refused a torn tail at {len}: {e}");
                assert_eq!(code(&e), "E0502", "at {len}: {e}");
            }
        }
    }
}

#[test]
fn every_flipped_byte_recovers_complete_records_or_refuses_with_a_code() {
    let bytes = std::fs::read(golden_path()).expect("read");
    let all = golden_records();
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xff;
        match snapshot::decode::<Record>("j", &damaged) {
            // Only the last record may go (as a torn tail): every record before it is
            // covered by its checksum.
            Ok(loaded) => {
                assert!(loaded.records.len() >= all.len() - 1, "at {at}");
                assert_eq!(loaded.records[..], all[..loaded.records.len()], "at {at}");
            }
            Err(e) => {
                let c = code(&e);
                let expected: &[&str] = if at < 8 {
                    &["E0501"]
                } else if at < 12 {
                    &["E0503", "E0502"]
                } else {
                    &["E0502", "E0504"]
                };
                assert!(expected.contains(&c.as_str()), "at {at}: {c} {e}");
            }
        }
    }
}

#[test]
fn a_huge_length_prefix_is_refused_without_allocating() {
    let mut bytes = snapshot::header();
    let len = 0xffff_fff0u32.to_le_bytes();
    bytes.extend_from_slice(&len);
    bytes.extend_from_slice(&crc32c::crc32c(&len).to_le_bytes());
    bytes.extend_from_slice(&[0u8; 8]);
    let e = snapshot::decode::<Record>("j", &bytes).expect_err("refused");
    assert_eq!(code(&e), "E0504");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = snapshot::load::<Record>(&dir.path().join("nope")).expect_err("refused");
    assert_eq!(code(&e), "E0505");
}

#[test]
fn a_newer_format_version_names_both_versions() {
    let mut bytes = std::fs::read(golden_path()).expect("read");
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = snapshot::decode::<Record>("j", &bytes).expect_err("refused");
    assert_eq!(code(&e), "E0503");
    let text = e.to_string();
    assert!(text.contains("format version 7"), "{text}");
    let newest = format!("up to version {}", snapshot::FORMAT_VERSION);
    assert!(text.contains(&newest), "{text}");
}

#[test]
fn load_never_changes_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal");
    let mut bytes = std::fs::read(golden_path()).expect("read");
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&path, &bytes).expect("write");
    let loaded = snapshot::load::<Record>(&path).expect("loads");
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}
