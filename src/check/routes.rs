//! Checking a step's failure routes (`on_failure TARGET [if COND]`, several per step, the
//! first whose condition holds taken): their targets, their order (a route after one
//! without `if` is never taken), one route per fallback step, and their conditions, which
//! are `bool`s over the failed step's own result and nothing else that a step produces.

use rustc_hash::FxHashMap as HashMap;

use super::attrs::RouteAttr;
use super::consts::{self, Const};
use super::error::{CheckError, CheckWarning};
use super::expr::{ExprCx, Place};
use crate::source::Span;
use crate::typed;

use super::workflow::Checker;

/// A step's failure routes, resolved.
pub(super) struct Routes {
    /// The conditional routes, in order.
    pub(super) routes: Vec<typed::Route>,
    /// The route written without `if` (last, or it is E0226), if any.
    pub(super) otherwise: Option<typed::OnFailure>,
    /// Whether the step writes any `on_failure` at all: then its routes are its whole
    /// failure policy (`defaults` and its task's do not apply).
    pub(super) written: bool,
}

impl Checker<'_> {
    /// Resolves the `on_failure` attributes of step `index` (named `name`). Called once the
    /// step's loop variable is out of scope: a route is chosen once for the whole step.
    pub(super) fn failure_routes(
        &mut self,
        name: &str,
        index: usize,
        written: Vec<RouteAttr>,
        step_ids: &HashMap<&str, usize>,
        calls_workflow: bool,
    ) -> Routes {
        let mut out = Routes {
            routes: Vec::new(),
            otherwise: None,
            written: !written.is_empty(),
        };
        // The route without `if` that takes every failure, once one is written.
        let mut always: Option<Span> = None;
        let mut targets: HashMap<usize, Span> = HashMap::default();
        for route in written {
            if let Some(first) = always {
                self.error(CheckError::UnreachableRoute {
                    span: route.span.into(),
                    first: first.into(),
                });
                continue;
            }
            let to = match route.target.name.as_str() {
                "continue" => Some(typed::OnFailure::Continue),
                "fail_fast" => Some(typed::OnFailure::FailFast),
                _ => self.step_ref(&route.target, step_ids).map(|target| {
                    if let Some(first) = targets.insert(target, route.target.span) {
                        self.error(CheckError::DuplicateRoute {
                            target: route.target.name.clone(),
                            span: route.target.span.into(),
                            first: first.into(),
                        });
                    }
                    typed::OnFailure::Fallback(typed::Link {
                        step: typed::StepId::new(target),
                        span: self.at(route.target.span),
                    })
                }),
            };
            let Some(cond) = &route.condition else {
                always = Some(route.span);
                out.otherwise = to;
                continue;
            };
            if calls_workflow {
                self.route_condition(name, index, cond);
                self.error(CheckError::RouteNotHere {
                    place: format!("step `{name}`, which calls a workflow"),
                    span: cond.span.into(),
                    help: "the route would apply to every step of the called workflow: write routes on those steps, or route the call with an `on_failure` without `if`".to_string(),
                });
                continue;
            }
            let condition = self.route_condition(name, index, cond);
            if consts::eval(cond) == Some(Const::Bool(false)) {
                self.warning(CheckWarning::RouteNeverTaken {
                    target: route.target.name.clone(),
                    span: cond.span.into(),
                });
            }
            if let Some(to) = to {
                out.routes.push(typed::Route { condition, to });
            }
        }
        out
    }

    /// A route's condition: a `bool` that reads the built-in fields of the step's own
    /// result, and no other step (E0229) and none of its declared outputs (E0230), which a
    /// failed step does not have.
    fn route_condition(
        &mut self,
        name: &str,
        index: usize,
        cond: &crate::ast::Expr,
    ) -> typed::Expr {
        let mut cx = ExprCx::new(
            Place::Step(index),
            format!("a failure route of step `{name}`"),
        );
        let typed = self.condition(cond, &mut cx);
        for (step, span, output) in cx.deps {
            if step != index {
                let other = self.text(span).to_string();
                self.error(CheckError::RouteReadsOtherStep {
                    step: name.to_string(),
                    other,
                    span: span.into(),
                });
            } else if output {
                self.error(CheckError::RouteReadsOutput {
                    step: name.to_string(),
                    span: span.into(),
                });
            }
        }
        typed
    }
}
