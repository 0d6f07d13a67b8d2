//! Lowering: a checked program in, one execution graph per workflow out. Builds the
//! dependency graph from `after` clauses and data references, and rejects what cannot run:
//! cycles (E0301, with the whole cycle shown), self-dependencies, invalid fallbacks and
//! dependencies on `finally` steps. Warns about steps that can never run (W0003).
//! Then [`inline`] replaces calls of workflows by their steps (see there).

mod error;
pub mod inline;

pub use error::{GraphError, NeverRuns};

use miette::LabeledSpan;
use petgraph::graph::{DiGraph, NodeIndex};

use petgraph::visit::EdgeRef;

use crate::check::{Checked, Module};
use crate::diagnostics::Diagnostics;
use crate::graph::{EdgeKind, ExecGraph, Node, Shown};
use crate::typed::{DepKind, OnFailure, Workflow};

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

/// Lowers every workflow of every module (so imported modules are validated too), inlines
/// the calls of workflows ([`inline`]), and returns the root module's graphs.
pub fn lower(mut checked: Checked) -> Result<Lowered, Diagnostics> {
    let mut diags = std::mem::take(&mut checked.warnings);
    // The workflows as written are what the diagnostics speak of; the root file's graphs
    // are kept for the workflows that call no other.
    let mut graphs = written_graphs(&checked, &mut diags);
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    let mut program = checked.take_program();
    // Inlining joins graphs that are each sound, so this finds nothing new to report.
    let mut inlined = Diagnostics::new();
    for w in inline::inline(&mut program) {
        graphs[w] = lower_workflow(&program.workflows[w], &mut inlined);
    }
    if inlined.has_errors() {
        inlined.sort();
        return Err(inlined);
    }
    diags.sort();
    Ok(Lowered {
        graphs,
        modules: checked.modules,
        warnings: diags,
        program,
    })
}

/// The graph checks of [`lower`] (calls of workflows that never end, cycles,
/// self-dependencies, fallbacks, dependencies on `finally` steps, steps that never run),
/// also on a program with errors elsewhere, so that one pass reports every independent
/// problem. A reference the checker could not resolve is simply no edge.
pub fn check_graphs(checked: &Checked, diags: &mut Diagnostics) {
    written_graphs(checked, diags);
}

/// [`check_graphs`], giving the root file's graphs as written.
fn written_graphs(checked: &Checked, diags: &mut Diagnostics) -> Vec<ExecGraph> {
    let root = checked.modules.len().saturating_sub(1);
    let mut graphs = Vec::new();
    for (i, module) in checked.modules.iter().enumerate() {
        for wf in &module.typed_workflows {
            let graph = lower_workflow(wf, diags);
            if i == root {
                graphs.push(graph);
            }
        }
    }
    let modules = (checked.modules.iter())
        .map(|m| m.typed_workflows.as_slice())
        .collect();
    inline::check_calls(modules, diags);
    graphs
}

/// What a node shows, boxed, or nothing when it shows nothing.
fn shown(shown: Shown) -> Option<Box<Shown>> {
    (shown != Shown::default()).then(|| Box::new(shown))
}

/// The execution graph of one workflow: a node per step (node index = step id) and an edge
/// for every order the scheduler keeps: `after` and data reads, compensation, fallbacks,
/// and `finally` steps after every ordinary step that nothing else waits for.
fn lower_workflow(wf: &Workflow, diags: &mut Diagnostics) -> ExecGraph {
    let source = wf.span.source;
    let n = wf.steps.len();
    let mut graph: DiGraph<Node, EdgeKind> = DiGraph::with_capacity(n, n);
    for step in &wf.steps {
        graph.add_node(Node {
            name: step.name.clone(),
            finally: step.finally,
            fan_out: step.fan_out.is_some(),
            never: step.never,
            shown: shown(Shown {
                when: {
                    let each = step.fan_out.as_ref().and_then(|f| f.instance_when.as_ref());
                    match (&step.when, each) {
                        (Some(w), None) => Some(w.to_source(wf)),
                        (None, Some(e)) => {
                            Some(format!("each instance: {}", e.to_source_in(wf, step)))
                        }
                        (Some(w), Some(e)) => Some(format!(
                            "{}, each instance: {}",
                            w.to_source(wf),
                            e.to_source_in(wf, step)
                        )),
                        (None, None) => None,
                    }
                },
                gives: step
                    .outputs
                    .iter()
                    .filter(|o| o.value.is_some())
                    .map(|o| format!("{}: {}", o.name, o.ty))
                    .collect(),
                routes: route_texts(wf, step),
                fallback_if: None,
                checkpoint: step.checkpoint.as_ref().map(|c| c.label.clone()),
                priority: step.settings.priority.as_ref().map(|p| p.to_source(wf)),
                dir: step.settings.dir.as_ref().map(|d| d.path.to_source(wf)),
                max_failures: (step.fan_out.as_ref())
                    .and_then(|f| f.max_failures.as_ref())
                    .map(|n| n.to_source(wf)),
            }),
        });
    }
    // A fallback step that a conditional route leads to is labelled with its condition.
    for step in &wf.steps {
        for r in &step.settings.routes {
            if let OnFailure::Fallback(l) = r.to {
                if let Some(node) = graph.node_weight_mut(NodeIndex::new(l.step.index())) {
                    let mut more = node.shown.take().unwrap_or_default();
                    more.fallback_if = Some(r.condition.to_source(wf));
                    node.shown = Some(more);
                }
            }
        }
    }
    let mut linked: Vec<usize> = Vec::new();
    for (i, step) in wf.steps.iter().enumerate() {
        let to = NodeIndex::new(i);
        linked.clear();
        for dep in &step.deps {
            let d = dep.step.index();
            if d == i {
                diags.error(
                    source,
                    GraphError::SelfDependency {
                        step: step.name.clone(),
                        span: dep.span.span.into(),
                    },
                );
                continue;
            }
            let target = &wf.steps[d];
            if target.finally && !step.finally {
                diags.error(
                    source,
                    GraphError::AfterFinally {
                        step: step.name.clone(),
                        target: target.name.clone(),
                        span: dep.span.span.into(),
                    },
                );
                continue;
            }
            let kind = match dep.kind {
                _ if step.waits_per_instance(dep.step) => EdgeKind::Instance,
                DepKind::After => EdgeKind::After,
                DepKind::Data | DepKind::Output => EdgeKind::Data,
            };
            // Several references to one step make one edge. (A scan of this step's own few
            // dependencies, not `find_edge`, which scans all of the target's edges and is
            // quadratic in a fan-out.)
            if !linked.contains(&d) {
                linked.push(d);
                graph.add_edge(NodeIndex::new(d), to, kind);
            }
        }
        if let Some(link) = step.compensates {
            let target = link.step.index();
            if target == i {
                diags.error(
                    source,
                    GraphError::SelfDependency {
                        step: step.name.clone(),
                        span: link.span.span.into(),
                    },
                );
            } else if !linked.contains(&target) {
                graph.add_edge(NodeIndex::new(target), to, EdgeKind::Compensates);
            }
        }
        for link in step.fallbacks() {
            let target = link.step.index();
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
                        span: link.span.span.into(),
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
        attributes: wf
            .concurrency
            .iter()
            .map(|c| {
                let text = format!("{} {}", c.group.to_source(wf), c.policy.name());
                ("concurrency", text)
            })
            .chain(wf.timeout.iter().map(|t| ("timeout", t.to_source(wf))))
            .chain((wf.max_failures.iter()).map(|n| ("max_failures", n.to_source(wf))))
            .collect(),
        graph,
    };
    let cycles = exec.cycles();
    for cycle in &cycles {
        report_cycle(wf, cycle, diags);
    }
    let mut exec = exec;
    if cycles.is_empty() {
        never_runs(wf, &exec, diags);
        finally_edges(wf, &mut exec);
    }
    exec
}

/// A step's failure routes as written, in order (`validate if build.exit_code == 1`,
/// `fail_fast`), when it has conditional ones; none otherwise.
pub fn route_texts(wf: &Workflow, step: &crate::typed::Step) -> Vec<String> {
    if step.settings.routes.is_empty() {
        return Vec::new();
    }
    let to = |to: OnFailure| match to {
        OnFailure::FailFast => "fail_fast".to_string(),
        OnFailure::Continue => "continue".to_string(),
        OnFailure::Fallback(l) => wf.step(l.step).name.clone(),
    };
    (step.settings.routes.iter())
        .map(|r| format!("{} if {}", to(r.to), r.condition.to_source(wf)))
        .chain(std::iter::once(to(step.settings.on_failure)))
        .collect()
}

/// `finally` steps run once everything ordinary has ended: an edge from each ordinary step
/// that no other ordinary step waits for (which has ended only when all before it have).
fn finally_edges(wf: &Workflow, exec: &mut ExecGraph) {
    let finals: Vec<usize> = (0..wf.steps.len())
        .filter(|&i| wf.steps[i].finally)
        .collect();
    if finals.is_empty() {
        return;
    }
    let sinks: Vec<usize> = (0..wf.steps.len())
        .filter(|&i| !wf.steps[i].finally)
        .filter(|&i| {
            exec.graph
                .edges_directed(NodeIndex::new(i), petgraph::Direction::Outgoing)
                .all(|e| wf.steps[e.target().index()].finally)
        })
        .collect();
    for &f in &finals {
        for &s in &sinks {
            let (from, to) = (NodeIndex::new(s), NodeIndex::new(f));
            // A step that the `finally` step reads is ordered before it already.
            if exec.graph.find_edge(from, to).is_none() {
                exec.graph.add_edge(from, to, EdgeKind::Finally);
            }
        }
    }
}

fn report_cycle(wf: &Workflow, cycle: &[usize], diags: &mut Diagnostics) {
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
        let fallback = |s: &crate::typed::Step| s.fallbacks().find(|l| l.step.index() == to);
        if let Some(dep) = step.deps.iter().find(|d| d.step.index() == from) {
            edges.push(LabeledSpan::new_with_span(
                Some(how(dep.kind)),
                dep.span.span,
            ));
        } else if let Some(link) = step.compensates.filter(|l| l.step.index() == from) {
            let label = format!("`{}` compensates `{}`", step.name, wf.steps[from].name);
            edges.push(LabeledSpan::new_with_span(Some(label), link.span.span));
        } else if let Some(link) = fallback(&wf.steps[from]) {
            let label = format!("`{}` falls back to `{}`", wf.steps[from].name, step.name);
            edges.push(LabeledSpan::new_with_span(Some(label), link.span.span));
        }
    }
    diags.error(
        wf.span.source,
        GraphError::Cycle {
            cycle: names.join(" -> "),
            edges,
        },
    );
}

/// Warns about steps that can never run: those that read a declared output of a step whose
/// `when` is always false (directly or through others), compensate it, are its fallback,
/// or iterate its instances.
/// An `after` dependency on a skipped step does not stop a step: skipped counts as done.
fn never_runs(wf: &Workflow, exec: &ExecGraph, diags: &mut Diagnostics) {
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
        for l in step.fallbacks() {
            fallback_of[l.step.index()] = Some(owner);
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
            .find_map(|d| cause[d.step.index()].map(|_| d.step.index()))
            .or_else(|| {
                step.compensates
                    .and_then(|l| cause[l.step.index()].map(|_| l.step.index()))
            })
            .or_else(|| fallback_of[i].filter(|&owner| cause[owner].is_some()))
            // A `for` over a step that never runs has no instances.
            .or_else(|| {
                let over = step.fan_out.as_deref().and_then(|f| f.over)?;
                cause[over.index()].map(|_| over.index())
            });
        if let Some(upstream) = blocked {
            cause[i] = Some(upstream);
            let root = cause[upstream].unwrap_or(upstream);
            diags.warning(
                wf.span.source,
                NeverRuns {
                    step: step.name.clone(),
                    span: step.span.span.into(),
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
