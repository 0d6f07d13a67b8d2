//! Step fingerprints for `flowc resume`: a hash of everything that decides what a step
//! does, read from the resolved program. A finished step whose fingerprint is unchanged is
//! kept; one whose fingerprint changed runs again, with everything downstream (the rule
//! that also covers the results it reads).
//!
//! A step's fingerprint covers its resolved form (its own attributes merged with its
//! task's and the workflow's `defaults`, its task call with every argument, its command),
//! and, followed transitively, the value of every binding and constant it reads, in
//! whichever module they are defined, and the run's input for every parameter it reads.
//! Comments, docs, layout and positions are not part of it, and neither is anything the
//! step does not read.

use std::collections::BTreeMap;

use super::eval::Value;
use crate::typed::{dump, Expr, ExprKind, Program, Ref, Step, Workflow};

/// Every step's fingerprint, in step order.
pub fn fingerprints(
    program: &Program,
    wf: &Workflow,
    inputs: &BTreeMap<String, Value>,
) -> Vec<u64> {
    wf.steps
        .iter()
        .map(|s| fingerprint(program, wf, s, inputs))
        .collect()
}

/// One step's fingerprint.
fn fingerprint(
    program: &Program,
    wf: &Workflow,
    step: &Step,
    inputs: &BTreeMap<String, Value>,
) -> u64 {
    let mut hash = fnv(FNV_START, step.dump(wf).as_bytes());
    // What it reads, each once, in a stable order: `param NAME`, `let NAME`, `const M NAME`.
    let mut read: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: Vec<&Expr> = Vec::new();
    step.for_each_expr(&mut |e| pending.push(e));
    while let Some(e) = pending.pop() {
        let mut refs: Vec<&Ref> = Vec::new();
        e.walk(&mut |x| {
            if let ExprKind::Ref(r) = &x.kind {
                refs.push(r);
            }
        });
        for r in refs {
            let key = match r {
                Ref::Param(name) => format!("param {name}"),
                Ref::Binding(name) => format!("let {name}"),
                Ref::Const { module, name } => format!("const {module} {name}"),
                Ref::Arg(_) | Ref::Step(_) | Ref::Instance(_) | Ref::Local(_) => continue,
            };
            if read.contains_key(&key) {
                continue;
            }
            // A binding's or constant's value is followed in turn.
            let value = match r {
                Ref::Param(name) => format!("{:?}", inputs.get(name)),
                Ref::Binding(name) => match wf.bindings.iter().find(|b| &b.name == name) {
                    Some(b) => {
                        pending.push(&b.value);
                        dump::expr(&b.value)
                    }
                    None => String::new(),
                },
                Ref::Const { module, name } => match program
                    .modules
                    .get(*module)
                    .and_then(|m| m.consts.iter().find(|c| &c.name == name))
                {
                    Some(c) => {
                        pending.push(&c.value);
                        dump::expr(&c.value)
                    }
                    None => String::new(),
                },
                Ref::Arg(_) | Ref::Step(_) | Ref::Instance(_) | Ref::Local(_) => continue,
            };
            read.insert(key, value);
        }
    }
    for (key, value) in &read {
        hash = fnv(hash, key.as_bytes());
        hash = fnv(hash, b"=");
        hash = fnv(hash, value.as_bytes());
        hash = fnv(hash, b"\n");
    }
    hash
}

/// FNV-1a, 64 bits: stable across builds and platforms, which a journal needs.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::FsLoader;
    use crate::source::{SourceFile, SourceMap};

    /// A step that reads another twice, a plain one, and one after another.
    const PROGRAM: &str = "workflow w {
  let who = \"world\"
  step a { run \"true\" }
  step b { run \"echo ${a.exit_code} ${a.exit_code} ${who}\" }
  step c after b { run \"exit 1\" }
}
";

    fn compiled() -> crate::lower::Lowered {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("t.flow", None, PROGRAM));
        crate::compile(&mut sources, id, &FsLoader).expect("compiles")
    }

    /// The fingerprints of a run journaled by an earlier flowc are compared with this
    /// flowc's: a change to what they hash re-runs kept steps on resume (reported as
    /// "its definition or inputs changed"). These are the values in the journal of this
    /// program run by flowc before the program dump showed one line per dependency; a
    /// change here must be deliberate, and said in docs/runs.md.
    #[test]
    fn fingerprints_stay_what_earlier_runs_recorded() {
        let lowered = compiled();
        let wf = &lowered.program.workflows[0];
        let got = fingerprints(&lowered.program, wf, &BTreeMap::new());
        let recorded = [
            0x993e_58a7_db20_2b75,
            0xc03b_17f7_1682_5205,
            0x4c8b_dfca_8244_8625,
        ];
        assert_eq!(got, recorded, "{got:#x?}");
    }

    /// The stable text lists each read; the program dump one line per dependency.
    #[test]
    fn the_stable_text_keeps_each_read_and_the_dump_one_per_dependency() {
        let lowered = compiled();
        let wf = &lowered.program.workflows[0];
        let stable = wf.steps[1].dump(wf);
        assert_eq!(stable.matches("data #0 a").count(), 2, "{stable}");
        let shown = wf.dump();
        assert_eq!(shown.matches("data #0 a").count(), 1, "{shown}");
    }
}
