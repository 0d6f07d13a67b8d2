//! The resolved program: what [`crate::check`] gives every later phase, and the only thing
//! they read. Names are resolved (to parameters, bindings, module constants by module
//! identity, step ids), every expression is typed ([`Expr`]), a step's attributes are merged
//! from the step, the task it calls and every `defaults` block ([`Settings`]), `run`
//! commands are compiled into [`Template`]s at check time, and every span knows its file.
//!
//! Steps are linked by [`StepId`]s into their workflow's `steps` table, so the execution
//! graph, the journal and the scheduler agree on them by construction.

pub mod dump;
mod expr;

pub use expr::{BinOp, Expr, ExprKind, Ref, StrPart, UnOp};

use std::path::PathBuf;
use std::sync::Arc;

use crate::check::Type;
use crate::command::Template;
use crate::source::{FileSpan, SourceId};

/// A step's index in its workflow's [`Workflow::steps`] (and its node in the graph).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepId(pub u32);

impl StepId {
    /// The id of the step at `index`.
    pub fn new(index: usize) -> StepId {
        StepId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The index into the workflow's steps.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The resolved program of one root file.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Every module, imports before their importers, so the root file last.
    pub modules: Vec<Module>,
    /// The root file's workflows, in source order.
    pub workflows: Vec<Workflow>,
}

impl Program {
    /// The workflow named `name` of the root file.
    pub fn workflow(&self, name: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.name == name)
    }
}

/// What a module defines that steps of any module may use.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// Its file.
    pub source: SourceId,
    /// Its identity: `std/http`, or the canonical path of its file.
    pub key: String,
    /// Its imports: each alias and the module it names ([`Program::modules`]).
    pub imports: Vec<(String, usize)>,
    /// Its constants, in source order (each may read the ones before it).
    pub consts: Vec<Const>,
    /// Its named retry policies.
    pub policies: Vec<Policy>,
    /// Its tasks.
    pub tasks: Vec<Task>,
    /// Its workflows, for an imported module (the root file's are
    /// [`Program::workflows`]).
    pub workflows: Vec<Workflow>,
}

impl Module {
    /// The task named `name`.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The policy named `name`.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// A module-level `let`.
#[derive(Clone, Debug)]
pub struct Const {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// The span of its name.
    pub span: FileSpan,
    /// Its type.
    pub ty: Type,
    /// Its value: reads only literals, builtins and constants before it.
    pub value: Expr,
}

/// `policy NAME { retry ... }`.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// From its name to the end of the declaration.
    pub span: FileSpan,
    /// The clause it stands for.
    pub retry: Retry,
}

/// A task: a step template. Its expressions read its parameters as [`Ref::Arg`].
#[derive(Clone, Debug)]
pub struct Task {
    /// Its name.
    pub name: String,
    /// The span of its name.
    pub span: FileSpan,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// Its parameters; defaults read only constants.
    pub params: Vec<Param>,
    /// Its attributes.
    pub attrs: Attrs,
}

/// A parameter of a workflow or task.
#[derive(Clone, Debug)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its default.
    pub default: Option<Expr>,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// Where it is declared.
    pub span: FileSpan,
}

/// A workflow of the root file.
#[derive(Clone, Debug)]
pub struct Workflow {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// Its parameters.
    pub params: Vec<Param>,
    /// Its `let` and `secret` bindings, in source order (each may read those before it).
    pub bindings: Vec<Binding>,
    /// Its steps; a [`StepId`] indexes this table.
    pub steps: Vec<Step>,
    /// The outputs it gives a calling step, with their values.
    pub outputs: Vec<Output>,
    /// `max_parallel` from its `defaults`.
    pub max_parallel: Option<Expr>,
    /// `concurrency "group" policy`: at most one run per group name at a time.
    pub concurrency: Option<Concurrency>,
    /// The run's `timeout`, from its body: when it passes, the run ends `timed_out`.
    pub timeout: Option<Expr>,
    /// The run's `max_failures`, from its body: after this many failures nothing new
    /// starts and the run fails.
    pub max_failures: Option<Expr>,
    /// The span of its name.
    pub span: FileSpan,
}

/// A workflow's concurrency group: its name is evaluated when a run starts, before any
/// step (it reads parameters, bindings and constants, never a step result or a secret),
/// and the run holds the group until it ends.
#[derive(Clone, Debug)]
pub struct Concurrency {
    /// The group's name, a string.
    pub group: Expr,
    /// What a second run of the group does while one holds it.
    pub policy: GroupPolicy,
    /// The `concurrency` item, from its keyword to its end.
    pub span: FileSpan,
}

/// What a run does when another run holds its concurrency group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GroupPolicy {
    /// Wait for the group to be free, then run (the default).
    #[default]
    Queue,
    /// Do not run: end at once with the status `skipped`.
    Skip,
    /// Cancel the run that holds the group (as `flowc cancel` does), then run.
    Cancel,
}

impl GroupPolicy {
    /// The policy as written: `queue`, `skip`, `cancel`.
    pub fn name(self) -> &'static str {
        match self {
            GroupPolicy::Queue => "queue",
            GroupPolicy::Skip => "skip",
            GroupPolicy::Cancel => "cancel",
        }
    }

    /// The policy a word names.
    pub fn from_name(word: &str) -> Option<GroupPolicy> {
        Some(match word {
            "queue" => GroupPolicy::Queue,
            "skip" => GroupPolicy::Skip,
            "cancel" => GroupPolicy::Cancel,
            _ => return None,
        })
    }
}

impl Workflow {
    /// How many entries an instance index of step `id` has: 0 for a step that does not
    /// fan out, one per axis for one that does (a `for` over a step counts that step's).
    pub fn dims(&self, id: StepId) -> usize {
        let mut id = id;
        let mut extra = 0;
        // Bounded by the number of steps: `over` links form no cycle in a lowered
        // program, and a cycle in one being checked only ends the walk early.
        for _ in 0..=self.steps.len() {
            let Some(fan) = self
                .steps
                .get(id.index())
                .and_then(|s| s.fan_out.as_deref())
            else {
                return extra;
            };
            extra += fan.matrix.len();
            match fan.over {
                Some(up) => id = up,
                None => return extra + 1,
            }
        }
        extra
    }

    /// The step with this id.
    pub fn step(&self, id: StepId) -> &Step {
        &self.steps[id.index()]
    }

    /// The step named `name`.
    pub fn step_named(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// `let` or `secret` in a workflow body.
#[derive(Clone, Debug)]
pub struct Binding {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// True for `secret`: its value is never shown.
    pub secret: bool,
    /// Its type.
    pub ty: Type,
    /// Its value.
    pub value: Expr,
}

/// A step with everything that drives it resolved. What most steps lack (a fan-out, a
/// condition, a task call) is boxed, and what `defaults` gives every step is shared, so a
/// workflow of 100,000 steps stays small.
#[derive(Clone, Debug)]
pub struct Step {
    /// Its id in the workflow.
    pub id: StepId,
    /// Its name.
    pub name: String,
    /// The span of its name.
    pub span: FileSpan,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// A `finally` step: runs when everything else has ended.
    pub finally: bool,
    /// `for var in list [max k]`.
    pub fan_out: Option<Box<FanOut>>,
    /// `when`.
    pub when: Option<Box<Expr>>,
    /// Its `when` is always false.
    pub never: bool,
    /// What it waits for, in the order written (`after` first, then data reads).
    pub deps: Vec<Dep>,
    /// `on_failure_of`: the step it compensates.
    pub compensates: Option<Link>,
    /// The task it calls, with the arguments bound.
    pub call: Option<Box<TaskCall>>,
    /// What it does.
    pub action: Action,
    /// Retry, timeout, env and failure policy, merged.
    pub settings: Settings,
    /// Its outputs: written by its command (no value), or computed (with one).
    pub outputs: Vec<Output>,
    /// `checkpoint "label"`: the name its finish goes by for `flowc rollback --to`.
    pub checkpoint: Option<Box<Checkpoint>>,
}

/// A step's `checkpoint "label"`. Not part of what the step does: its fingerprint leaves
/// it out, so relabelling a step never runs it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The label (`pre-production`; `call.label` for a step inlined from a call).
    pub label: String,
    /// Where it is written.
    pub span: FileSpan,
}

impl Step {
    /// The index of its fallback step (`on_failure STEP`).
    pub fn fallback(&self) -> Option<usize> {
        match self.settings.on_failure {
            OnFailure::Fallback(l) => Some(l.step.index()),
            _ => None,
        }
    }

    /// Whether this step waits for `target` instance by instance (each instance for the
    /// instances that go with it, [`FanOut::counterparts`]) rather than for all of it: it
    /// goes with `target`'s instances, never reads `target` as a whole, does not
    /// compensate it, does not name the step it iterates in `after`, and its fan-out
    /// lists do not read an instance of it (they are evaluated before any instance
    /// starts).
    pub fn waits_per_instance(&self, target: StepId) -> bool {
        let Some(fan) = self.fan_out.as_deref() else {
            return false;
        };
        if fan.counterpart(target).is_none() || self.compensates.is_some_and(|l| l.step == target) {
            return false;
        }
        // (The steps of a call with `for` wait for each other with `after` one by one.)
        let after = |d: &Dep| d.step == target && d.kind == DepKind::After;
        if fan.over == Some(target) && self.deps.iter().any(after) {
            return false;
        }
        let mut whole = false;
        self.for_each_expr(&mut |e| {
            // The list of a `for` over `target` names it, and is no read of it.
            if fan.over == Some(target) && std::ptr::eq(e, &fan.list) {
                return;
            }
            e.walk(&mut |x| {
                whole |= matches!(x.kind, ExprKind::Ref(Ref::Step(id)) if id == target);
            });
        });
        for list in fan.lists() {
            list.walk(&mut |x| {
                whole |= matches!(x.kind, ExprKind::Ref(Ref::Instance(id)) if id == target);
            });
        }
        !whole
    }

    /// Every step its failure may fall back to, in the order written: the targets of its
    /// conditional routes, then its unconditional fallback.
    pub fn fallbacks(&self) -> impl Iterator<Item = Link> + '_ {
        let unconditional = match self.settings.on_failure {
            OnFailure::Fallback(l) => Some(l),
            _ => None,
        };
        (self.settings.routes.iter())
            .filter_map(|r| match r.to {
                OnFailure::Fallback(l) => Some(l),
                _ => None,
            })
            .chain(unconditional)
    }

    /// The index of the step it compensates (`on_failure_of STEP`).
    pub fn compensated(&self) -> Option<usize> {
        self.compensates.map(|l| l.step.index())
    }

    /// Calls `f` on every expression of the step (not on the expressions inside them):
    /// its clauses, the task call's arguments, its action, settings and computed outputs.
    pub fn for_each_expr<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        if let Some(fan) = &self.fan_out {
            f(&fan.list);
            fan.matrix.iter().for_each(|a| f(&a.list));
            if let Some(max) = &fan.max {
                f(max);
            }
            fan.max_per.iter().for_each(|(_, m)| f(m));
            if let Some(when) = &fan.instance_when {
                f(when);
            }
            if let Some(n) = &fan.max_failures {
                f(n);
            }
        }
        if let Some(when) = &self.when {
            f(when);
        }
        if let Some(call) = &self.call {
            call.args.iter().for_each(|(_, e)| f(e));
        }
        match &self.action {
            Action::Run(c) => c.values.iter().for_each(&mut *f),
            Action::Exec(e) | Action::Sleep(e) | Action::Approve(e) => f(e),
            Action::Native(_) => {}
            Action::Workflow(call) => call
                .args
                .iter()
                .filter_map(|(_, e)| e.as_ref())
                .for_each(&mut *f),
        }
        if let Some(r) = &self.settings.retry {
            f(&r.count);
            for e in [&r.backoff.delay, &r.backoff.max, &r.condition]
                .into_iter()
                .flatten()
            {
                f(e);
            }
        }
        if let Some(t) = &self.settings.timeout {
            f(t);
        }
        if let Some(p) = &self.settings.priority {
            f(p);
        }
        if let Some(d) = &self.settings.dir {
            f(&d.path);
        }
        self.settings.env.iter().for_each(|(_, e)| f(e));
        self.settings.routes.iter().for_each(|r| f(&r.condition));
        self.outputs
            .iter()
            .filter_map(|o| o.value.as_ref())
            .for_each(f);
    }
}

impl Step {
    /// [`Step::for_each_expr`], for changing them: a shared `retry` or `timeout` is copied
    /// first, so the other steps that share it keep theirs.
    pub fn for_each_expr_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        if let Some(fan) = &mut self.fan_out {
            f(&mut fan.list);
            fan.matrix.iter_mut().for_each(|a| f(&mut a.list));
            if let Some(max) = &mut fan.max {
                f(max);
            }
            fan.max_per.iter_mut().for_each(|(_, m)| f(m));
            if let Some(when) = &mut fan.instance_when {
                f(when);
            }
            if let Some(n) = &mut fan.max_failures {
                f(n);
            }
        }
        if let Some(when) = &mut self.when {
            f(when);
        }
        if let Some(call) = &mut self.call {
            call.args.iter_mut().for_each(|(_, e)| f(e));
        }
        match &mut self.action {
            Action::Run(c) => c.values.iter_mut().for_each(&mut *f),
            Action::Exec(e) | Action::Sleep(e) | Action::Approve(e) => f(e),
            Action::Native(_) => {}
            Action::Workflow(call) => call
                .args
                .iter_mut()
                .filter_map(|(_, e)| e.as_mut())
                .for_each(&mut *f),
        }
        if let Some(r) = &mut self.settings.retry {
            let r = Arc::make_mut(r);
            f(&mut r.count);
            for e in [&mut r.backoff.delay, &mut r.backoff.max, &mut r.condition]
                .into_iter()
                .flatten()
            {
                f(e);
            }
        }
        if let Some(t) = &mut self.settings.timeout {
            f(Arc::make_mut(t));
        }
        if let Some(p) = &mut self.settings.priority {
            f(Arc::make_mut(p));
        }
        if let Some(d) = &mut self.settings.dir {
            f(&mut Arc::make_mut(d).path);
        }
        self.settings.env.iter_mut().for_each(|(_, e)| f(e));
        (self.settings.routes.iter_mut()).for_each(|r| f(&mut r.condition));
        self.outputs
            .iter_mut()
            .filter_map(|o| o.value.as_mut())
            .for_each(f);
    }
}

/// The fan-out clauses of a step: one `for` (a fan-out), several (a matrix), or a `for`
/// over the instances of another fan-out step (a per-instance chain).
///
/// An instance's index has one entry per axis: the first axis is `var in list`, or the
/// instances of [`FanOut::over`] (as many entries as that step's index has); then one
/// entry per [`FanOut::matrix`] axis. Instances are in row-major order (the last axis
/// varies fastest), which is the order of the lists in the step's result.
#[derive(Clone, Debug)]
pub struct FanOut {
    /// The loop variable ([`Ref::Local`]; for a `for` over a step, [`Ref::Instance`]).
    pub var: String,
    /// The list iterated over (for a `for` over a step, the step's name, as written).
    pub list: Expr,
    /// At most this many instances at once.
    pub max: Option<Expr>,
    /// A condition each instance checks before it starts (with the loop variable bound): a
    /// step inlined from a call with `for` keeps its own `when` here. An instance whose
    /// condition is false is skipped; the step's `when` is decided once for all of them.
    pub instance_when: Option<Expr>,
    /// Keep each instance's result in the step's record, for [`Ref::Instance`] readers.
    pub keep_instances: bool,
    /// The further axes of a matrix (`for py in pys for os in oses`), in the order
    /// written; each list may read the variables of the axes before it.
    pub matrix: Vec<Axis>,
    /// `for w in STEP`: the first axis is the instances of this fan-out step, and `var`
    /// is each one's result ([`Ref::Instance`] of it).
    pub over: Option<StepId>,
    /// The fan-out steps whose instances this step's instances read or wait for one by
    /// one rather than as a whole: `over`, and the steps of the same call with `for`.
    pub counterparts: Vec<Counterpart>,
    /// Bounds inside the product: at most `max` instances at once among those whose
    /// indices share their first `n` entries (the `max` of a fan-out inlined from a call
    /// with `for` applies to each run of the called workflow).
    pub max_per: Vec<(usize, Expr)>,
    /// `max_failures`: after this many instances failed, no new instance starts.
    pub max_failures: Option<Expr>,
}

impl FanOut {
    /// Every list expression of the fan-out's axes, the first one included unless it
    /// iterates a step.
    pub fn lists(&self) -> impl Iterator<Item = &Expr> {
        (self.over.is_none().then_some(&self.list))
            .into_iter()
            .chain(self.matrix.iter().map(|a| &a.list))
    }

    /// The counterpart relation with `step`, if this step has one.
    pub fn counterpart(&self, step: StepId) -> Option<Counterpart> {
        self.counterparts.iter().copied().find(|c| c.step == step)
    }
}

/// One more axis of a matrix: `for var in list`.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The loop variable ([`Ref::Local`]).
    pub var: String,
    /// The list iterated over.
    pub list: Expr,
}

/// A per-instance relation: instance `i` of the reading step goes with the instances of
/// `step` whose index starts with the first `prefix` entries of `i`. When `prefix` is the
/// length of `step`'s index that is one instance (a chain: `qc[1]` with `worker[1]`);
/// when it is shorter, the instances that share it (in a call with `for` of a workflow
/// that fans out itself, the inner fan-out's instances of one run of the workflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counterpart {
    /// The step read or waited for.
    pub step: StepId,
    /// How many leading index entries the two share.
    pub prefix: usize,
}

/// Why a step waits for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepKind {
    /// Written in `after`.
    After,
    /// A read of a built-in field of the other step's result (`status`, ...).
    Data,
    /// A read of a declared output of the other step.
    Output,
}

/// One dependency of a step.
#[derive(Clone, Copy, Debug)]
pub struct Dep {
    /// The step depended on.
    pub step: StepId,
    /// How it arose.
    pub kind: DepKind,
    /// Where it is written.
    pub span: FileSpan,
}

/// A reference from one step to another written in `on_failure_of` or `on_failure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// The step named.
    pub step: StepId,
    /// Where it is written.
    pub span: FileSpan,
}

/// A step's call of a task.
#[derive(Clone, Debug)]
pub struct TaskCall {
    /// The callee as written (`http.wait_ok`), for people.
    pub callee: String,
    /// The module that defines the task ([`Program::modules`]).
    pub module: usize,
    /// The task's name.
    pub task: String,
    /// Every parameter's value, in parameter order: the argument written (read in the
    /// workflow's scope) or the parameter's default (read in the task module's scope).
    pub args: Vec<(String, Expr)>,
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// `run "text"`: a command compiled at check time.
    Run(Command),
    /// `exec [argv]`: a list of strings, never a shell.
    Exec(Expr),
    /// `sleep duration`.
    Sleep(Expr),
    /// `approve "question"`.
    Approve(Expr),
    /// `native "http.get"`: an action the runtime implements.
    Native(String),
    /// A call of a workflow: what [`crate::check`] gives; [`crate::lower`] replaces the
    /// step by the workflow's steps, so no step of a lowered program has it.
    Workflow(Box<WorkflowCall>),
}

/// A step's call of a workflow, before it is inlined.
#[derive(Clone, Debug)]
pub struct WorkflowCall {
    /// The callee as written (`common.deploy`), for people.
    pub callee: String,
    /// The module that defines the workflow ([`Program::modules`]).
    pub module: usize,
    /// The workflow's name.
    pub name: String,
    /// Every parameter in order, with the argument written for it (read in the caller's
    /// scope), or `None` for its default.
    pub args: Vec<(String, Option<Expr>)>,
    /// The call, `deploy(region: "eu")`.
    pub span: FileSpan,
}

/// A `run` command: its shape fixed at check time, its values filled in at run time.
#[derive(Clone, Debug)]
pub struct Command {
    /// The compiled shape (argv words or an `sh -c` script with quoted holes).
    pub template: Template,
    /// The values of its holes, in order.
    pub values: Vec<Expr>,
}

/// How failures of a step are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Stop starting new steps and fail the run.
    #[default]
    FailFast,
    /// Let the failure through: dependents still run.
    Continue,
    /// Run this step instead; the failure stands only if it fails too.
    Fallback(Link),
}

/// A conditional failure route, `on_failure TARGET if COND`: taken when the step failed
/// and `condition` holds over its result, unless an earlier route was.
#[derive(Clone, Debug)]
pub struct Route {
    /// Which failures take it: reads the failed step's own result ([`Ref::Step`] of the
    /// step itself, [`Ref::Instance`] in a step inlined from a call with `for`).
    pub condition: Expr,
    /// What the failure does then.
    pub to: OnFailure,
}

/// A step's retry clause.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Retries after the first attempt.
    pub count: Expr,
    /// The delay policy.
    pub backoff: Backoff,
    /// Randomise each delay.
    pub jitter: bool,
    /// Which failures are retried (all when absent).
    pub condition: Option<Expr>,
    /// `module.NAME` when the clause is a named policy.
    pub policy: Option<String>,
}

/// The delay between attempts: `backoff KIND(delay, max: d)`.
#[derive(Clone, Debug)]
pub struct Backoff {
    /// How the delay grows.
    pub kind: BackoffKind,
    /// The first delay; `None` (no `backoff` written) is 1 s.
    pub delay: Option<Expr>,
    /// The longest delay.
    pub max: Option<Expr>,
}

/// How the delay between attempts grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackoffKind {
    /// The same each time.
    Fixed,
    /// `delay`, `2 * delay`, `3 * delay`, ...
    Linear,
    /// `delay`, `2 * delay`, `4 * delay`, ...
    Exponential,
}

impl BackoffKind {
    /// The kind as written: `fixed`, `linear`, `exponential`.
    pub fn name(self) -> &'static str {
        match self {
            BackoffKind::Fixed => "fixed",
            BackoffKind::Linear => "linear",
            BackoffKind::Exponential => "exponential",
        }
    }
}

/// A step's behaviour besides its action, merged from the step, its task and `defaults`.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `retry` (shared with the `defaults` block or task it may come from).
    pub retry: Option<Arc<Retry>>,
    /// `timeout` (shared likewise).
    pub timeout: Option<Arc<Expr>>,
    /// `env`.
    pub env: Vec<(String, Expr)>,
    /// `on_failure`: what a failure does when none of `routes` is taken (the unconditional
    /// route written last, else fail_fast for a step with routes, else the default).
    pub on_failure: OnFailure,
    /// The conditional failure routes (`on_failure TARGET if COND`), tried in order before
    /// `on_failure`; only a step itself has them, never a task or `defaults`.
    pub routes: Vec<Route>,
    /// Which of these the step or its task sets, rather than a `defaults` block.
    pub own: Own,
    /// `priority` (shared likewise): decided when the run starts.
    pub priority: Option<Arc<Expr>>,
    /// `dir` (shared likewise).
    pub dir: Option<Arc<WorkDir>>,
}

/// `dir "path"`: the working directory of a step's process.
#[derive(Clone, Debug)]
pub struct WorkDir {
    /// The path, a `string`; relative to `base` unless absolute.
    pub path: Expr,
    /// The absolute directory of the file the attribute is written in; `None` for text
    /// without a file (standard input, the REPL), whose paths are relative to the run's
    /// working directory.
    pub base: Option<PathBuf>,
}

impl Settings {
    /// The settings of a step inlined from a call, given the call step's: what the step (or
    /// its task) sets itself wins, then what the call step sets itself, then the called
    /// workflow's `defaults` (already in `self`), then the caller's (in `call`).
    pub fn inherit(&mut self, call: &Settings) {
        let (own, theirs) = (self.own, call.own);
        if !own.retry && (theirs.retry || self.retry.is_none()) {
            self.retry = call.retry.clone();
        }
        if !own.timeout && (theirs.timeout || self.timeout.is_none()) {
            self.timeout = call.timeout.clone();
        }
        if !own.env && (theirs.env || self.env.is_empty()) {
            self.env = call.env.clone();
        }
        if !own.on_failure && (theirs.on_failure || self.on_failure == OnFailure::FailFast) {
            self.on_failure = call.on_failure;
        }
        if !own.priority && (theirs.priority || self.priority.is_none()) {
            self.priority = call.priority.clone();
        }
        if !own.dir && (theirs.dir || self.dir.is_none()) {
            self.dir = call.dir.clone();
        }
        self.own = Own {
            retry: own.retry || theirs.retry,
            timeout: own.timeout || theirs.timeout,
            env: own.env || theirs.env,
            on_failure: own.on_failure || theirs.on_failure,
            priority: own.priority || theirs.priority,
            dir: own.dir || theirs.dir,
        };
    }
}

/// Which settings a step (or its task) sets itself. A step inlined from a called workflow
/// keeps these; for the others the calling step's attributes come first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Own {
    /// `retry`.
    pub retry: bool,
    /// `timeout`.
    pub timeout: bool,
    /// `env`.
    pub env: bool,
    /// `on_failure`.
    pub on_failure: bool,
    /// `priority`.
    pub priority: bool,
    /// `dir`.
    pub dir: bool,
}

/// A declared output.
#[derive(Clone, Debug)]
pub struct Output {
    /// Its name.
    pub name: String,
    /// Its doc comment.
    pub docs: Vec<String>,
    /// Its type.
    pub ty: Type,
    /// Its value, for computed outputs (a workflow's `outputs`); `None` when the step's
    /// command writes it.
    pub value: Option<Expr>,
}

/// The attributes of one step, task or `defaults` block as written, before merging.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    /// The action.
    pub action: Option<Action>,
    /// `retry` (shared with the `defaults` block or task it may come from).
    pub retry: Option<Arc<Retry>>,
    /// `timeout` (shared likewise).
    pub timeout: Option<Arc<Expr>>,
    /// `env`.
    pub env: Option<Vec<(String, Expr)>>,
    /// `outputs`.
    pub outputs: Option<Vec<Output>>,
    /// `on_failure`.
    pub on_failure: Option<OnFailure>,
    /// `max_parallel`.
    pub max_parallel: Option<Expr>,
    /// `priority`.
    pub priority: Option<Arc<Expr>>,
    /// `dir`.
    pub dir: Option<Arc<WorkDir>>,
    /// `max_failures` (of a fan-out step, or of the run in a workflow body).
    pub max_failures: Option<Expr>,
}

impl Attrs {
    /// `self`, with what it does not set taken from `fallback`.
    pub fn or(self, fallback: &Attrs) -> Attrs {
        Attrs {
            action: self.action.or_else(|| fallback.action.clone()),
            retry: self.retry.or_else(|| fallback.retry.clone()),
            timeout: self.timeout.or_else(|| fallback.timeout.clone()),
            env: self.env.or_else(|| fallback.env.clone()),
            outputs: self.outputs.or_else(|| fallback.outputs.clone()),
            on_failure: self.on_failure.or(fallback.on_failure),
            max_parallel: self.max_parallel.or_else(|| fallback.max_parallel.clone()),
            priority: self.priority.or_else(|| fallback.priority.clone()),
            dir: self.dir.or_else(|| fallback.dir.clone()),
            max_failures: self.max_failures.or_else(|| fallback.max_failures.clone()),
        }
    }
}
