//! Renders an [`ExecGraph`] for people and tools: Graphviz DOT, Mermaid flowcharts and a
//! stable JSON shape (documented in docs/cli.md).

use std::fmt::Write as _;

use petgraph::visit::EdgeRef;
use serde::Serialize;

use super::{EdgeKind, ExecGraph};

/// Quotes a string for DOT.
fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ExecGraph {
    /// Graphviz DOT: the workflow's attributes as the graph's label; boxes for steps (3-D
    /// for fan-outs, dashed for `finally`, grey for steps that never run; a `when`
    /// condition under the name); solid edges for `after`, dashed for data, dotted red for
    /// compensation, orange for fallbacks, dashed grey into `finally` steps, bold for the
    /// per-instance edges of chained fan-outs.
    pub fn to_dot(&self) -> String {
        let mut out = format!(
            "digraph {} {{\n  rankdir=LR;\n  node [shape=box];\n",
            dot_quote(&self.workflow)
        );
        if !self.attributes.is_empty() {
            let lines: Vec<String> = std::iter::once(self.workflow.clone())
                .chain(self.attributes.iter().map(|(k, t)| format!("{k} {t}")))
                .map(|line| {
                    let quoted = dot_quote(&line);
                    quoted[1..quoted.len() - 1].to_string()
                })
                .collect();
            let _ = writeln!(out, "  label=\"{}\";\n  labelloc=t;", lines.join("\\n"));
        }
        for idx in self.graph.node_indices() {
            let node = &self.graph[idx];
            let mut attrs = Vec::new();
            if node.fan_out {
                attrs.push("shape=box3d");
            }
            if node.finally {
                attrs.push("style=dashed");
            }
            if node.never {
                attrs.push("color=gray, fontcolor=gray");
            }
            let label;
            let shown = node.shown();
            let mut lines: Vec<String> = shown.when.iter().map(|w| format!("when {w}")).collect();
            lines.extend(shown.routes.iter().map(|r| format!("on_failure {r}")));
            lines.extend(shown.checkpoint.iter().map(|c| format!("checkpoint {c}")));
            lines.extend(node.settings());
            if !lines.is_empty() {
                // Each part quoted on its own: the line break between them is DOT's `\n`.
                let parts: Vec<String> = std::iter::once(&node.name)
                    .chain(&lines)
                    .map(|part| {
                        let quoted = dot_quote(part);
                        quoted[1..quoted.len() - 1].to_string()
                    })
                    .collect();
                label = format!("label=\"{}\"", parts.join("\\n"));
                attrs.push(&label);
            }
            let _ = write!(out, "  {}", dot_quote(&node.name));
            if !attrs.is_empty() {
                let _ = write!(out, " [{}]", attrs.join(", "));
            }
            out.push_str(";\n");
        }
        for e in self.graph.edge_references() {
            let fallback;
            let style = match e.weight() {
                EdgeKind::After => "",
                EdgeKind::Data => " [style=dashed, label=\"data\"]",
                EdgeKind::Compensates => " [style=dotted, color=red, label=\"on failure\"]",
                EdgeKind::Fallback => {
                    let label = dot_quote(&self.edge_label(EdgeKind::Fallback, e.target()));
                    fallback = format!(" [color=orange, label={label}]");
                    &fallback
                }
                EdgeKind::Finally => " [style=dashed, color=gray, label=\"finally\"]",
                EdgeKind::Instance => " [style=bold, label=\"per instance\"]",
            };
            let _ = writeln!(
                out,
                "  {} -> {}{style};",
                dot_quote(&self.graph[e.source()].name),
                dot_quote(&self.graph[e.target()].name)
            );
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart, for Markdown that renders it (GitHub, GitLab); the workflow's
    /// attributes are `%%` comments at its top.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (keyword, text) in &self.attributes {
            let _ = writeln!(out, "  %% {keyword} {text}");
        }
        for idx in self.graph.node_indices() {
            let node = &self.graph[idx];
            let mut label = node.name.clone();
            if node.fan_out {
                label.push_str(" (for each)");
            }
            if node.finally {
                label.push_str(" (finally)");
            }
            let shown = node.shown();
            if let Some(when) = &shown.when {
                label.push_str("<br/>when ");
                label.push_str(when);
            }
            for route in &shown.routes {
                label.push_str("<br/>on_failure ");
                label.push_str(route);
            }
            if let Some(checkpoint) = &shown.checkpoint {
                label.push_str("<br/>checkpoint ");
                label.push_str(checkpoint);
            }
            for setting in node.settings() {
                label.push_str("<br/>");
                label.push_str(&setting);
            }
            // Mermaid ends a quoted label at `"`; its entity keeps the condition's strings.
            let label = label.replace('"', "#quot;");
            // Index ids, not step names: a step may be called `end`, which Mermaid reserves.
            let _ = writeln!(out, "  s{}[\"{}\"]", idx.index(), label);
        }
        for e in self.graph.edge_references() {
            let routed;
            let arrow = match (e.weight(), &self.graph[e.target()].shown().fallback_if) {
                (EdgeKind::After, _) => "-->",
                (EdgeKind::Data, _) => "-. data .->",
                (EdgeKind::Compensates, _) => "-. on failure .->",
                (EdgeKind::Fallback, None) => "-- fallback -->",
                (EdgeKind::Fallback, Some(cond)) => {
                    routed = format!("-->|\"fallback if {}\"|", cond.replace('"', "#quot;"));
                    &routed
                }
                (EdgeKind::Finally, _) => "-. finally .->",
                (EdgeKind::Instance, _) => "== per instance ==>",
            };
            let _ = writeln!(
                out,
                "  s{} {arrow} s{}",
                e.source().index(),
                e.target().index()
            );
        }
        out
    }

    /// The JSON shape: `{"workflow", "attributes": {keyword: text}, "nodes": [{name,
    /// finally, fan_out, never, when}], "edges": [{from, to, kind}]}`, nodes in source
    /// order, edges by target then source; `when` is the condition as written, or null;
    /// `attributes` holds the workflow's own (`concurrency`), each as written. A step with
    /// conditional failure routes has `on_failure` (its routes as written, in order), and a
    /// fallback edge that such a route takes has `if` (the route's condition); a labelled step
    /// has `checkpoint`.
    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct JsonNode<'a> {
            name: &'a str,
            finally: bool,
            fan_out: bool,
            never: bool,
            when: Option<&'a str>,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            on_failure: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            checkpoint: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            priority: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            dir: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            max_failures: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct JsonEdge<'a> {
            from: &'a str,
            to: &'a str,
            kind: &'static str,
            #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
            condition: Option<&'a str>,
        }
        let nodes: Vec<JsonNode<'_>> = self
            .graph
            .node_weights()
            .map(|n| {
                let shown = n.shown();
                JsonNode {
                    name: &n.name,
                    finally: n.finally,
                    fan_out: n.fan_out,
                    never: n.never,
                    when: shown.when.as_deref(),
                    on_failure: &shown.routes,
                    checkpoint: shown.checkpoint.as_deref(),
                    priority: shown.priority.as_deref(),
                    dir: shown.dir.as_deref(),
                    max_failures: shown.max_failures.as_deref(),
                }
            })
            .collect();
        let mut edges: Vec<(usize, usize, EdgeKind)> = self
            .graph
            .edge_references()
            .map(|e| (e.target().index(), e.source().index(), *e.weight()))
            .collect();
        edges.sort_by_key(|(t, s, _)| (*t, *s));
        let edges: Vec<JsonEdge<'_>> = edges
            .into_iter()
            .map(|(t, s, kind)| {
                let to = &self.graph[petgraph::graph::NodeIndex::new(t)];
                JsonEdge {
                    from: &self.graph[petgraph::graph::NodeIndex::new(s)].name,
                    to: &to.name,
                    kind: match kind {
                        EdgeKind::Instance => "instance",
                        other => other.name(),
                    },
                    condition: (to.shown().fallback_if)
                        .as_deref()
                        .filter(|_| kind == EdgeKind::Fallback),
                }
            })
            .collect();
        let attributes: serde_json::Map<String, serde_json::Value> = self
            .attributes
            .iter()
            .map(|(k, t)| (k.to_string(), serde_json::Value::String(t.clone())))
            .collect();
        serde_json::json!({
            "workflow": self.workflow,
            "attributes": attributes,
            "nodes": nodes,
            "edges": edges,
        })
    }
}
