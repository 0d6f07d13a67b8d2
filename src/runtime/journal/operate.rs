//! What the commands that operate a run decide from its journal and its workflow: the
//! steps `flowc resume --from` / `--only` name, and the plan of `flowc rollback`: which
//! finished steps it undoes (those after the checkpoint it rolls back to), with which
//! compensations, in the reverse order of their finishes, and which it cannot undo.

use crate::diagnostics::did_you_mean;
use crate::typed::Workflow;

use super::*;

/// A request of an operator that does not fit the run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum OperateError {
    /// `--from` / `--only` names no step (or instance) of the workflow.
    #[error("`{flag} {name}`: workflow `{workflow}` has no {what}")]
    #[diagnostic(code(E0513), help("{help}"))]
    UnknownStep {
        /// `--from` or `--only`.
        flag: &'static str,
        /// The name given.
        name: String,
        /// The workflow.
        workflow: String,
        /// `step `x`` or `instance 5 of `x``.
        what: String,
        /// Did you mean, or the steps there are.
        help: String,
    },

    /// `--to` names no checkpoint label or step of the workflow.
    #[error("`--to {name}`: workflow `{workflow}` has no checkpoint or step `{name}`")]
    #[diagnostic(code(E0514), help("{help}"))]
    UnknownCheckpoint {
        /// The name given.
        name: String,
        /// The workflow.
        workflow: String,
        /// Did you mean, or the labels there are.
        help: String,
    },

    /// `--to` names a checkpoint the run did not reach.
    #[error("run `{run}` did not reach checkpoint `{name}`: step `{step}` {state}")]
    #[diagnostic(
        code(E0515),
        help("roll back to a checkpoint whose step succeeded (`flowc status {run}` lists them), or roll back everything without `--to`")
    )]
    NotReached {
        /// The run.
        run: String,
        /// The checkpoint as given.
        name: String,
        /// Its step.
        step: String,
        /// What became of it (`failed`, `has not run`, `was rolled back`).
        state: String,
    },

    /// Steps to undo without a compensation step, and no `--force`.
    #[error("run `{run}` cannot be rolled back completely: {steps} {have} no compensation step (`on_failure_of`)")]
    #[diagnostic(
        code(E0516),
        help("give {them} a compensation step, or roll back anyway with `--force`: {them} then stay as {they} are (kept), and the rest is undone")
    )]
    NotReversible {
        /// The run.
        run: String,
        /// The steps, in words.
        steps: String,
        /// `has` or `have`.
        have: &'static str,
        /// `it` or `them`.
        them: &'static str,
        /// `it` or `they`.
        they: &'static str,
    },

    /// `--to` differs from the rollback left unfinished.
    #[error("run `{run}` has an unfinished rollback {to}")]
    #[diagnostic(
        code(E0517),
        help("finish it first with `flowc rollback {run}` (without `--to`), then roll back further if need be")
    )]
    RollbackUnfinished {
        /// The run.
        run: String,
        /// `to `x`` or `of everything`.
        to: String,
    },

    /// A compensation of an unfinished rollback is gone from the workflow file.
    #[error("cannot continue the rollback of run `{run}`: workflow `{workflow}` has no step `{step}` any more")]
    #[diagnostic(
        code(E0518),
        help("restore the step in the workflow file, then `flowc rollback {run}` again")
    )]
    CompensationGone {
        /// The run.
        run: String,
        /// The workflow.
        workflow: String,
        /// The compensation step.
        step: String,
    },
}

/// The steps asked for with `flag` (`--from` or `--only`), checked against the workflow:
/// a step, or one instance of a fan-out step (`rollout[1]`; the instances it had when it
/// last finished, if it did).
pub fn rerun_steps(
    state: &RunState,
    info: &Workflow,
    names: &[String],
    only: bool,
) -> Result<Vec<Rerun>, OperateError> {
    let flag = if only { "--only" } else { "--from" };
    names
        .iter()
        .map(|name| {
            let (base, instance) = match name.split_once('[') {
                Some((base, rest)) => match rest.strip_suffix(']').map(str::parse::<usize>) {
                    Some(Ok(k)) => (base, Some(k)),
                    _ => (name.as_str(), None),
                },
                None => (name.as_str(), None),
            };
            let unknown = |what: String, help: String| OperateError::UnknownStep {
                flag,
                name: name.clone(),
                workflow: info.name.clone(),
                what,
                help,
            };
            let Some(step) = info.steps.iter().position(|s| s.name == base) else {
                let names = info.steps.iter().map(|s| s.name.as_str());
                let help = match did_you_mean(base, names) {
                    Some(s) => format!("did you mean `{flag} {s}`?"),
                    None => "`flowc status RUN` lists the run's steps".to_string(),
                };
                return Err(unknown(format!("step `{base}`"), help));
            };
            if let Some(k) = instance {
                let s = &info.steps[step];
                if s.fan_out.is_none() {
                    return Err(unknown(
                        format!("instance {k} of `{base}`"),
                        format!("`{base}` is not a fan-out step: name it alone, `{flag} {base}`"),
                    ));
                }
                if let Some(n) = instances_of(state, base).filter(|&n| k >= n) {
                    return Err(unknown(
                        format!("instance {k} of `{base}`"),
                        format!(
                            "`{base}` had {n} instances, `{base}[0]` to `{base}[{}]`",
                            n.saturating_sub(1)
                        ),
                    ));
                }
            }
            Ok(Rerun {
                step,
                instance,
                only,
                name: name.clone(),
            })
        })
        .collect()
}

/// How many instances a fan-out step had when it last finished.
fn instances_of(state: &RunState, step: &str) -> Option<usize> {
    match &state.finished.get(step)?.record {
        crate::runtime::eval::Value::Record(fields) => match fields.get("exit_code") {
            Some(crate::runtime::eval::Value::List(items)) => Some(items.len()),
            _ => None,
        },
        _ => None,
    }
}

/// What `flowc rollback` will do.
#[derive(Clone, Debug, Default)]
pub struct UndoPlan {
    /// The checkpoint it rolls back to, as given, with its step.
    pub to: Option<(String, String)>,
    /// `(compensation, step it undoes)` by index, in the order they run.
    pub undo: Vec<(usize, usize)>,
    /// Steps to undo that have no compensation, by index.
    pub kept: Vec<usize>,
    /// It goes on with a rollback that was interrupted (or failed): how many of its
    /// compensations ended before.
    pub continued: Option<usize>,
}

/// The rollback of `state` to the checkpoint `to` (a label, or a step name; `None`: every
/// finished step), or the rollback left unfinished, continued.
///
/// The steps it undoes are the ordinary steps that succeeded after the checkpoint's step
/// did (or that finished some fan-out instances without finishing), and have not been
/// undone since: by an earlier rollback, or by a compensation that ran in the run because
/// they failed. Each has its compensation steps (`on_failure_of`), in source order; they
/// run in the reverse order of the finishes.
pub fn plan_rollback(
    state: &RunState,
    info: &Workflow,
    to: Option<&str>,
) -> Result<UndoPlan, OperateError> {
    let run = state.run_id().to_string();
    let index = |name: &str| info.steps.iter().position(|s| s.name == name);
    if let Some(open) = state.open_rollback() {
        if to.is_some() && to != open.to.as_deref() {
            return Err(OperateError::RollbackUnfinished {
                run,
                to: match &open.to {
                    Some(t) => format!("to `{t}`"),
                    None => "of everything".to_string(),
                },
            });
        }
        let mut undo = Vec::new();
        for (comp, target) in open.left() {
            let (Some(c), Some(t)) = (index(&comp), index(&target)) else {
                return Err(OperateError::CompensationGone {
                    run,
                    workflow: info.name.clone(),
                    step: comp,
                });
            };
            undo.push((c, t));
        }
        let to = open.to.clone().map(|t| {
            let step = checkpoint_step(info, &t).map(|i| info.steps[i].name.clone());
            (t.clone(), step.unwrap_or(t))
        });
        return Ok(UndoPlan {
            to,
            undo,
            kept: open.kept.iter().filter_map(|k| index(k)).collect(),
            continued: Some(open.done.len()),
        });
    }
    let mut plan = UndoPlan::default();
    let mut after = None;
    if let Some(to) = to {
        let Some(c) = checkpoint_step(info, to) else {
            let labels: Vec<&str> = (info.steps.iter())
                .filter_map(|s| s.checkpoint.as_ref().map(|c| c.label.as_str()))
                .collect();
            let names = labels
                .iter()
                .copied()
                .chain(info.steps.iter().map(|s| s.name.as_str()));
            let help = match did_you_mean(to, names) {
                Some(s) => format!("did you mean `--to {s}`?"),
                None if labels.is_empty() => "the workflow labels no step with `checkpoint \"LABEL\"`; `--to` also takes a step's name".to_string(),
                None => format!(
                    "its checkpoints are {}; `--to` also takes a step's name",
                    labels.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            return Err(OperateError::UnknownCheckpoint {
                name: to.to_string(),
                workflow: info.name.clone(),
                help,
            });
        };
        let step = &info.steps[c].name;
        let finish = state.finished.get(step);
        let reached =
            finish.filter(|f| f.status == "succeeded" && !state.rolled_back.contains_key(step));
        let Some(f) = reached else {
            return Err(OperateError::NotReached {
                run,
                name: to.to_string(),
                step: step.clone(),
                state: match finish {
                    Some(_) if state.rolled_back.contains_key(step) => {
                        "was rolled back".to_string()
                    }
                    Some(f) => format!("is {}", f.status),
                    None => "has not finished".to_string(),
                },
            });
        };
        after = Some(f.seq);
        plan.to = Some((to.to_string(), step.clone()));
    }
    // The steps to undo, with the position of their last finish (or finished instance).
    let mut targets: Vec<(usize, usize)> = Vec::new();
    for (i, step) in info.steps.iter().enumerate() {
        if step.finally || step.compensates.is_some() || state.rolled_back.contains_key(&step.name)
        {
            continue;
        }
        let finished = state.finished.get(&step.name);
        let at = match finished {
            Some(f) if f.status == "succeeded" => Some(f.seq),
            // A fan-out stopped (paused, interrupted, failed) after some instances finished.
            _ => state
                .instances
                .keys()
                .any(|l| step_of(l) == step.name)
                .then(|| state.instance_seq.get(&step.name).copied())
                .flatten(),
        };
        let Some(at) = at.filter(|&at| after.is_none_or(|cut| at > cut)) else {
            continue;
        };
        let comps: Vec<usize> = (info.steps.iter())
            .filter(|c| c.compensated() == Some(i))
            .map(|c| c.id.index())
            .collect();
        // Undone already: a compensation of it succeeded after it finished.
        let undone = comps.iter().any(|&c| {
            state
                .finished
                .get(&info.steps[c].name)
                .is_some_and(|f| f.status == "succeeded" && f.seq > at)
        });
        if undone {
            continue;
        }
        if comps.is_empty() {
            plan.kept.push(i);
        }
        targets.push((at, i));
    }
    targets.sort_by(|a, b| b.cmp(a));
    plan.kept
        .sort_by_key(|k| targets.iter().position(|(_, t)| t == k));
    for (_, t) in targets {
        for c in (info.steps.iter()).filter(|c| c.compensated() == Some(t)) {
            plan.undo.push((c.id.index(), t));
        }
    }
    Ok(plan)
}

/// The step a checkpoint names: the step with that label, else the step with that name.
fn checkpoint_step(info: &Workflow, to: &str) -> Option<usize> {
    (info.steps.iter())
        .position(|s| s.checkpoint.as_ref().is_some_and(|c| c.label == to))
        .or_else(|| info.steps.iter().position(|s| s.name == to))
}

impl UndoPlan {
    /// The refusal of a rollback that would leave steps as they are, without `--force`.
    pub fn refusal(&self, run: &str, info: &Workflow) -> Option<OperateError> {
        if self.kept.is_empty() || self.continued.is_some() {
            return None;
        }
        let names: Vec<String> = (self.kept.iter())
            .map(|&k| format!("`{}`", info.steps[k].name))
            .collect();
        let one = names.len() == 1;
        Some(OperateError::NotReversible {
            run: run.to_string(),
            steps: if one {
                format!("step {}", names.join(", "))
            } else {
                format!("steps {}", names.join(", "))
            },
            have: if one { "has" } else { "have" },
            them: if one { "it" } else { "them" },
            they: if one { "it" } else { "they" },
        })
    }
}
