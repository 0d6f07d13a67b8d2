//! The execution graph of one workflow on petgraph: one node per step, one edge per
//! dependency, plus cycle detection, topological order, a stable text dump for tests, and
//! DOT, Mermaid and JSON renderings (`flowc graph`).

mod render;

use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

/// A step in the graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// The step's name.
    pub name: String,
    /// A `finally` step: runs after all others.
    pub finally: bool,
    /// A `for` fan-out step: expands into instances at run time.
    pub fan_out: bool,
    /// Its `when` is always false.
    pub never: bool,
    /// What `flowc graph` shows of it besides its name and flags; `None` for a step
    /// that has none of it (most steps of a large workflow: a box per node would cost a
    /// few hundred bytes each, for every run).
    pub shown: Option<Box<Shown>>,
}

/// The parts of a [`Node`] that `flowc graph` shows, as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shown {
    /// Its `when` condition, as written.
    pub when: Option<String>,
    /// The outputs it computes from other steps (`name: type`): the declared outputs of
    /// a sub-workflow, on the step that called it.
    pub gives: Vec<String>,
    /// Its `checkpoint` label, which `flowc rollback --to` names.
    pub checkpoint: Option<String>,
    /// Its failure routes in order, as written (`validate if build.exit_code == 1`, ...,
    /// `fail_fast`), for a step with conditional routes; empty otherwise.
    pub routes: Vec<String>,
    /// For a fallback step that a conditional route leads to: that route's condition.
    pub fallback_if: Option<String>,
    /// Its `priority`, as written.
    pub priority: Option<String>,
    /// Its working directory (`dir`), as written.
    pub dir: Option<String>,
    /// Its fan-out's failure budget (`max_failures`), as written.
    pub max_failures: Option<String>,
}

/// A step without anything more to show.
static NOTHING_SHOWN: Shown = Shown {
    when: None,
    gives: Vec::new(),
    checkpoint: None,
    routes: Vec::new(),
    fallback_if: None,
    priority: None,
    dir: None,
    max_failures: None,
};

impl Node {
    /// What is shown of it besides its name and flags.
    pub fn shown(&self) -> &Shown {
        self.shown.as_deref().unwrap_or(&NOTHING_SHOWN)
    }

    /// Its settings that order or place it: `priority 10`, `dir "build"`,
    /// `max_failures 2`, as written.
    pub fn settings(&self) -> Vec<String> {
        let shown = self.shown();
        [
            ("priority", &shown.priority),
            ("dir", &shown.dir),
            ("max_failures", &shown.max_failures),
        ]
        .into_iter()
        .filter_map(|(kw, v)| v.as_ref().map(|v| format!("{kw} {v}")))
        .collect()
    }
}

/// Why an edge exists; edges point from the step that runs first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// `after`.
    After,
    /// A read of the earlier step's result.
    Data,
    /// `on_failure_of`: the later step compensates the earlier one.
    Compensates,
    /// `on_failure`: the later step is the earlier one's fallback.
    Fallback,
    /// The later step is a `finally` step, which starts once the earlier one (an ordinary
    /// step nothing else waits for) has ended.
    Finally,
    /// Both fan out, and each instance of the later step waits only for the instances
    /// of the earlier one that go with it (`for w in worker`: `qc[1]` after `worker[1]`).
    Instance,
}

impl EdgeKind {
    /// The kind in words: `after`, `data`, `compensates`, `fallback`, `finally`, `per
    /// instance`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::After => "after",
            EdgeKind::Data => "data",
            EdgeKind::Compensates => "compensates",
            EdgeKind::Fallback => "fallback",
            EdgeKind::Finally => "finally",
            EdgeKind::Instance => "per instance",
        }
    }
}

/// The execution graph of one workflow. Node indices equal step indices.
#[derive(Debug)]
pub struct ExecGraph {
    /// The workflow's name.
    pub workflow: String,
    /// The workflow's own attributes, by keyword, each as written after it:
    /// `("concurrency", "\"deploy-${target}\" cancel")`, `("timeout", "1h")`,
    /// `("max_failures", "3")`.
    pub attributes: Vec<(&'static str, String)>,
    /// Steps and dependencies.
    pub graph: DiGraph<Node, EdgeKind>,
}

impl ExecGraph {
    /// How an edge of this kind into `to` is labelled: its kind, and for a fallback taken
    /// by a conditional route, `fallback if COND`.
    pub fn edge_label(&self, kind: EdgeKind, to: NodeIndex) -> String {
        match (kind, &self.graph[to].shown().fallback_if) {
            (EdgeKind::Fallback, Some(cond)) => format!("fallback if {cond}"),
            _ => kind.name().to_string(),
        }
    }

    /// Every cycle, as step indices in dependency order (one per strongly connected
    /// component), in source order of their first step.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let mut cycles: Vec<Vec<usize>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1)
            .filter_map(|scc| self.cycle_in(&scc))
            .collect();
        cycles.sort();
        cycles
    }

    /// One cycle through the lowest-numbered node of a strongly connected component.
    fn cycle_in(&self, scc: &[NodeIndex]) -> Option<Vec<usize>> {
        let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min()?;
        // Breadth-first search from `start` back to itself, within the component.
        let mut parent: std::collections::HashMap<NodeIndex, NodeIndex> =
            std::collections::HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .edges_directed(n, Direction::Outgoing)
                .map(|e| e.target())
                .filter(|t| members.contains(t))
                .collect();
            next.sort();
            for t in next {
                if t == start {
                    let mut path = vec![n.index()];
                    let mut cur = n;
                    while cur != start {
                        cur = parent[&cur];
                        path.push(cur.index());
                    }
                    path.reverse();
                    return Some(path);
                }
                if let std::collections::hash_map::Entry::Vacant(v) = parent.entry(t) {
                    v.insert(n);
                    queue.push_back(t);
                }
            }
        }
        None
    }

    /// Step indices in an order where every step comes after its dependencies (ties in
    /// source order); `None` if there is a cycle.
    pub fn topo_order(&self) -> Option<Vec<usize>> {
        let n = self.graph.node_count();
        let mut indegree: Vec<usize> = (0..n)
            .map(|i| {
                self.graph
                    .edges_directed(NodeIndex::new(i), Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
            .filter(|&i| indegree[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(std::cmp::Reverse(i)) = ready.pop() {
            order.push(i);
            for e in self
                .graph
                .edges_directed(NodeIndex::new(i), Direction::Outgoing)
            {
                let t = e.target().index();
                indegree[t] -= 1;
                if indegree[t] == 0 {
                    ready.push(std::cmp::Reverse(t));
                }
            }
        }
        (order.len() == n).then_some(order)
    }

    /// A stable, line-oriented text form: the workflow's attributes, then one line per
    /// step with its flags and incoming edges, in source order.
    pub fn dump(&self) -> String {
        let mut out = format!("workflow {}\n", self.workflow);
        for (keyword, text) in &self.attributes {
            let _ = writeln!(out, "  {keyword} {text}");
        }
        for idx in self.graph.node_indices() {
            let node = &self.graph[idx];
            let mut flags = Vec::new();
            if node.finally {
                flags.push("finally");
            }
            if node.fan_out {
                flags.push("fan-out");
            }
            if node.never {
                flags.push("never");
            }
            let _ = write!(out, "  step {}", node.name);
            if !flags.is_empty() {
                let _ = write!(out, " [{}]", flags.join(", "));
            }
            let mut incoming: Vec<(usize, EdgeKind)> = self
                .graph
                .edges_directed(idx, Direction::Incoming)
                .map(|e| (e.source().index(), *e.weight()))
                .collect();
            incoming.sort_by_key(|(s, _)| *s);
            let shown = node.shown();
            if let Some(when) = &shown.when {
                let _ = write!(out, "\n    when {when}");
            }
            if !shown.gives.is_empty() {
                let _ = write!(out, "\n    outputs {}", shown.gives.join(", "));
            }
            if let Some(label) = &shown.checkpoint {
                let _ = write!(out, "\n    checkpoint {label:?}");
            }
            for route in &shown.routes {
                let _ = write!(out, "\n    on_failure {route}");
            }
            for setting in node.settings() {
                let _ = write!(out, "\n    {setting}");
            }
            for (s, kind) in incoming {
                let _ = write!(
                    out,
                    "\n    <- {} ({})",
                    self.graph[NodeIndex::new(s)].name,
                    self.edge_label(kind, idx)
                );
            }
            out.push('\n');
        }
        out
    }
}
