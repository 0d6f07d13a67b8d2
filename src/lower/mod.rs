//! Lowering: a checked program in, one execution graph per workflow out. Builds the
//! dependency graph from `after` clauses and data references, and rejects what cannot run:
//! cycles (E0301, with the whole cycle shown), self-dependencies, invalid fallbacks and
//! dependencies on `finally` steps. Warns about steps that can never run (W0003).
//! Before that, [`inline`] replaces calls of local workflows by their steps (see there).

mod error;
pub mod inline;

pub use error::{GraphError, NeverRuns};

use miette::LabeledSpan;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::check::{Checked, DepKind, Module, WorkflowInfo};
use crate::diagnostics::Diagnostics;
use crate::graph::{EdgeKind, ExecGraph, Node};

/// The lowered program: one graph per workflow of the root file, the checked modules they
/// came from, and the warnings found.
#[derive(Debug)]
pub struct Lowered {
    /// One graph per workflow, in source order.
    pub graphs: Vec<ExecGraph>,
    /// The checked modules (imports first, the root file last).
    pub modules: Vec<Module>,
    /// Warnings from checking and lowering.
    pub warnings: Diagnostics,
    /// The resolved program.
    pub program: crate::typed::Program,
}

/// Lowers every workflow of every module (so imported modules are validated too) and
/// returns the root module's graphs.
pub fn lower(mut checked: Checked) -> Result<Lowered, Diagnostics> {
    let program = checked.take_program();
    let Checked { modules, warnings } = checked;
    let mut diags = warnings;
    let mut graphs = Vec::new();
    let root = modules.len().saturating_sub(1);
    for (i, module) in modules.iter().enumerate() {
        for wf in &module.checked_workflows {
            let graph = lower_workflow(module, wf, &mut diags);
            if i == root {
                graphs.push(graph);
            }
        }
    }
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(Lowered {
            graphs,
            modules,
            warnings: diags,
            program,
        })
    }
}

/// The graph checks of [`lower`] (cycles, self-dependencies, fallbacks, dependencies on
/// `finally` steps, steps that never run) on a program with errors elsewhere, so that one
/// pass reports every independent problem. A reference the checker could not resolve is
/// simply no edge.
pub fn check_graphs(checked: &Checked, diags: &mut Diagnostics) {
    for module in &checked.modules {
        for wf in &module.checked_workflows {
            lower_workflow(module, wf, diags);
        }
    }
}

fn lower_workflow(module: &Module, wf: &WorkflowInfo, diags: &mut Diagnostics) -> ExecGraph {
    let source = module.source;
    let mut graph: DiGraph<Node, EdgeKind> = DiGraph::with_capacity(wf.steps.len(), wf.steps.len());
    let ast_wf = match module.ast.items.get(wf.item) {
        Some(crate::ast::Item::Workflow(w)) => Some(w),
        _ => None,
    };
    for step in &wf.steps {
        let gives = match ast_wf.and_then(|w| w.body.get(step.body_index)) {
            Some(crate::ast::WorkflowItem::Step(s)) => s
                .attrs
                .iter()
                .filter_map(|a| match &a.kind {
                    crate::ast::AttrKind::Outputs(decls) => Some(decls),
                    _ => None,
                })
                .flatten()
                .filter(|d| d.value.is_some())
                .map(|d| format!("{}: {}", d.name.name, crate::print::type_text(&d.ty)))
                .collect(),
            _ => Vec::new(),
        };
        graph.add_node(Node {
            name: step.name.clone(),
            finally: step.finally,
            fan_out: step.fan_out,
            never: step.never,
            gives,
        });
    }
    let mut linked: Vec<usize> = Vec::new();
    for (i, step) in wf.steps.iter().enumerate() {
        let to = NodeIndex::new(i);
        linked.clear();
        for dep in &step.deps {
            if dep.step == i {
                diags.error(
                    source,
                    GraphError::SelfDependency {
                        step: step.name.clone(),
                        span: dep.span.into(),
                    },
                );
                continue;
            }
            let target = &wf.steps[dep.step];
            if target.finally && !step.finally {
                diags.error(
                    source,
                    GraphError::AfterFinally {
                        step: step.name.clone(),
                        target: target.name.clone(),
                        span: dep.span.into(),
                    },
                );
                continue;
            }
            let kind = match dep.kind {
                DepKind::After => EdgeKind::After,
                DepKind::Data | DepKind::Output => EdgeKind::Data,
            };
            // Several references to one step make one edge. (A scan of this step's own few
            // dependencies, not `find_edge`, which scans all of the target's edges and is
            // quadratic in a fan-out.)
            if !linked.contains(&dep.step) {
                linked.push(dep.step);
                graph.add_edge(NodeIndex::new(dep.step), to, kind);
            }
        }
        if let Some((target, span)) = step.compensates {
            if target == i {
                diags.error(
                    source,
                    GraphError::SelfDependency {
                        step: step.name.clone(),
                        span: span.into(),
                    },
                );
            } else if !linked.contains(&target) {
                graph.add_edge(NodeIndex::new(target), to, EdgeKind::Compensates);
            }
        }
        if let Some((target, span)) = step.fallback {
            let reason = if target == i {
                Some(format!("step `{}` cannot be its own fallback", step.name))
            } else if wf.steps[target].finally {
                Some(format!(
                    "`{}` is a `finally` step, which always runs",
                    wf.steps[target].name
                ))
            } else {
                None
            };
            match reason {
                Some(reason) => diags.error(
                    source,
                    GraphError::BadFallback {
                        reason,
                        span: span.into(),
                        help: Some("name an ordinary step that handles the failure".to_string()),
                    },
                ),
                None => {
                    graph.add_edge(to, NodeIndex::new(target), EdgeKind::Fallback);
                }
            }
        }
    }
    let exec = ExecGraph {
        workflow: wf.name.clone(),
        graph,
    };
    let cycles = exec.cycles();
    for cycle in &cycles {
        report_cycle(module, wf, cycle, diags);
    }
    if cycles.is_empty() {
        never_runs(module, wf, &exec, diags);
    }
    exec
}

fn report_cycle(module: &Module, wf: &WorkflowInfo, cycle: &[usize], diags: &mut Diagnostics) {
    let mut names: Vec<&str> = cycle.iter().map(|&i| wf.steps[i].name.as_str()).collect();
    names.push(names[0]);
    let mut edges = Vec::new();
    for (k, &from) in cycle.iter().enumerate() {
        let to = cycle[(k + 1) % cycle.len()];
        let step = &wf.steps[to];
        let how = |kind: DepKind| match kind {
            DepKind::After => format!("`{}` runs after `{}`", step.name, wf.steps[from].name),
            DepKind::Data | DepKind::Output => {
                format!("`{}` reads `{}`", step.name, wf.steps[from].name)
            }
        };
        if let Some(dep) = step.deps.iter().find(|d| d.step == from) {
            edges.push(LabeledSpan::new_with_span(Some(how(dep.kind)), dep.span));
        } else if let Some((_, span)) = step.compensates.filter(|(t, _)| *t == from) {
            let label = format!("`{}` compensates `{}`", step.name, wf.steps[from].name);
            edges.push(LabeledSpan::new_with_span(Some(label), span));
        } else if let Some((_, span)) = wf.steps[from].fallback.filter(|(t, _)| *t == to) {
            let label = format!("`{}` falls back to `{}`", wf.steps[from].name, step.name);
            edges.push(LabeledSpan::new_with_span(Some(label), span));
        }
    }
    diags.error(
        module.source,
        GraphError::Cycle {
            cycle: names.join(" -> "),
            edges,
        },
    );
}

/// Warns about steps that can never run: those that read a declared output of a step whose
/// `when` is always false (directly or through others), compensate it, or are its fallback.
/// An `after` dependency on a skipped step does not stop a step: skipped counts as done.
fn never_runs(module: &Module, wf: &WorkflowInfo, exec: &ExecGraph, diags: &mut Diagnostics) {
    if !wf.steps.iter().any(|s| s.never) {
        return;
    }
    let Some(order) = exec.topo_order() else {
        return;
    };
    // For each step that never runs, the step that first caused it.
    let mut cause: Vec<Option<usize>> = vec![None; wf.steps.len()];
    let mut fallback_of: Vec<Option<usize>> = vec![None; wf.steps.len()];
    for (owner, step) in wf.steps.iter().enumerate() {
        if let Some((f, _)) = step.fallback {
            fallback_of[f] = Some(owner);
        }
    }
    for i in order {
        let step = &wf.steps[i];
        if step.never {
            cause[i] = Some(i);
            continue;
        }
        if step.finally {
            continue;
        }
        let blocked = step
            .deps
            .iter()
            .filter(|d| d.kind == DepKind::Output)
            .find_map(|d| cause[d.step].map(|_| d.step))
            .or_else(|| step.compensates.and_then(|(t, _)| cause[t].map(|_| t)))
            .or_else(|| fallback_of[i].filter(|&owner| cause[owner].is_some()));
        if let Some(upstream) = blocked {
            cause[i] = Some(upstream);
            let root = cause[upstream].unwrap_or(upstream);
            diags.warning(
                module.source,
                NeverRuns {
                    step: step.name.clone(),
                    span: step.span.into(),
                    help: Some(if upstream == root {
                        format!("it needs `{}`, whose condition is always false", wf.steps[upstream].name)
                    } else {
                        format!(
                            "it needs `{}`, which never runs because the condition of `{}` is always false",
                            wf.steps[upstream].name, wf.steps[root].name
                        )
                    }),
                },
            );
        }
    }
}
