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
