//! Checking a workflow's `concurrency` item: at most one per workflow; its group is a
//! string read before any step runs, from parameters, bindings and constants, never from a
//! step result or a secret (the name is shown in messages and kept in the state directory).

use miette::SourceSpan;

use super::error::CheckError;
use super::expr::{ExprCx, Place};
use super::types::Type;
use super::workflow::Checker;
use crate::ast::{self, WorkflowItem};
use crate::typed;

/// A `concurrency` item that cannot work.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConcurrencyError {
    /// The group's name is not a string.
    #[error("a concurrency group is a string, found `{found}`")]
    #[diagnostic(
        code(E0530),
        help("name the group with a string, such as `concurrency \"deploy-${{target}}\"`")
    )]
    NotString {
        /// The type found.
        found: String,
        /// The group.
        #[label("this is `{found}`")]
        span: SourceSpan,
    },

    /// The group's name reads a step result.
    #[error("the concurrency group reads the result of step `{step}`")]
    #[diagnostic(
        code(E0531),
        help("the group is taken before any step runs; build its name from parameters, `let` bindings and constants")
    )]
    ReadsStep {
        /// The step.
        step: String,
        /// The reference.
        #[label("step result read here")]
        span: SourceSpan,
    },

    /// A step calls a workflow that has a concurrency group.
    #[error("workflow `{callee}` has a concurrency group and cannot be called as a step")]
    #[diagnostic(
        code(E0532),
        help("a called workflow runs inside its caller's run, which holds only the group of the workflow flowc runs: put the `concurrency` item in the calling workflow, or run `{callee}` on its own")
    )]
    Called {
        /// The workflow called, as written.
        callee: String,
        /// The call.
        #[label("called here")]
        span: SourceSpan,
    },
}

impl Checker<'_> {
    /// Checks the workflow's `concurrency` items (a second one is E0111) once its bindings
    /// are declared, and gives the first one resolved.
    pub(super) fn check_concurrency(
        &mut self,
        wf: &ast::Workflow,
        steps: &[&ast::Step],
    ) -> Option<typed::Concurrency> {
        let mut items = wf.body.iter().filter_map(|it| match it {
            WorkflowItem::Concurrency(c) => Some(c),
            _ => None,
        });
        let first = items.next()?;
        for again in items {
            self.error(CheckError::Repeated {
                what: "concurrency".to_string(),
                span: keyword(again.span).into(),
                first: keyword(first.span).into(),
            });
        }
        // As if in one more step, so that step reads are collected rather than refused.
        let mut cx = ExprCx::new(Place::Step(steps.len()), "the concurrency group");
        let group = self.expr(&first.group, &mut cx);
        for (step, span, _) in std::mem::take(&mut cx.deps) {
            self.diags.error(
                self.source,
                ConcurrencyError::ReadsStep {
                    step: steps
                        .get(step)
                        .map(|s| s.name.name.clone())
                        .unwrap_or_default(),
                    span: span.into(),
                },
            );
        }
        match &group.ty {
            Type::String | Type::Unknown => {}
            Type::Secret => self.error(CheckError::SecretLeak {
                place: "the concurrency group".to_string(),
                span: first.group.span.into(),
                help: Some(
                    "a group's name is shown in messages and kept in the state directory; build it from values that are not secret"
                        .to_string(),
                ),
            }),
            other => self.diags.error(
                self.source,
                ConcurrencyError::NotString {
                    found: other.to_string(),
                    span: first.group.span.into(),
                },
            ),
        }
        Some(typed::Concurrency {
            group,
            policy: first.policy.map(|(p, _)| p).unwrap_or_default(),
            span: self.at(first.span),
        })
    }
}

/// The span of the `concurrency` keyword at the start of an item.
fn keyword(item: crate::source::Span) -> crate::source::Span {
    let end = (item.start as usize + "concurrency".len()).min(item.end as usize);
    crate::source::Span::new(item.start as usize, end)
}
