//! The errors (E01xx names, E02xx types) and warnings (W0xxx) of name resolution and type
//! checking. Each variant holds the spans and facts of one problem; the renderer gives it
//! words.

use miette::SourceSpan;

/// A problem with names or types.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckError {
    /// A name that nothing defines.
    #[error("unknown name `{name}`")]
    #[diagnostic(code(E0101))]
    UnknownName {
        /// The name.
        name: String,
        /// Where it is used.
        #[label("not defined here")]
        span: SourceSpan,
        /// Did-you-mean or other advice.
        #[help]
        help: Option<String>,
    },

    /// A step name that no step has.
    #[error("unknown step `{name}`")]
    #[diagnostic(code(E0102))]
    UnknownStep {
        /// The name.
        name: String,
        /// Where it is used.
        #[label("no step has this name")]
        span: SourceSpan,
        /// Did-you-mean or other advice.
        #[help]
        help: Option<String>,
    },

    /// Two definitions of one name in one scope.
    #[error("`{name}` is defined more than once")]
    #[diagnostic(
        code(E0103),
        help("rename one of them; steps, bindings and parameters share one namespace")
    )]
    Duplicate {
        /// The name.
        name: String,
        /// The second definition.
        #[label("defined again here")]
        span: SourceSpan,
        /// The first definition.
        #[label("first defined here")]
        first: SourceSpan,
    },

    /// A field or output that a value does not have.
    #[error("{owner} has no field `{field}`")]
    #[diagnostic(code(E0104))]
    UnknownField {
        /// The field.
        field: String,
        /// What was accessed, as words.
        owner: String,
        /// The field access.
        #[label("unknown field")]
        span: SourceSpan,
        /// Did-you-mean and the fields it has.
        #[help]
        help: Option<String>,
    },

    /// A call of a function that does not exist.
    #[error("unknown function `{name}`")]
    #[diagnostic(code(E0105))]
    UnknownFunction {
        /// The name.
        name: String,
        /// The callee.
        #[label("no function has this name")]
        span: SourceSpan,
        /// Did-you-mean or other advice.
        #[help]
        help: Option<String>,
    },

    /// An import whose module cannot be found.
    #[error("cannot find module `{path}`")]
    #[diagnostic(code(E0106))]
    ModuleNotFound {
        /// The path as written.
        path: String,
        /// The import path.
        #[label("imported here")]
        span: SourceSpan,
        /// Where flowc looked.
        #[help]
        help: Option<String>,
    },

    /// An import that names something other than a `.flow` module: a directory, a device,
    /// a FIFO, a file under `/proc`, a file with another name, or a link to one of those.
    #[error("`{path}` is not a flow module: {reason}")]
    #[diagnostic(
        code(E0120),
        help("an import names a `.flow` file, such as `import \"lib/deploy.flow\" as deploy`; flowc reads nothing else")
    )]
    ImportNotModule {
        /// The path looked at.
        path: String,
        /// What it is instead.
        reason: String,
        /// The import path.
        #[label("imported here")]
        span: SourceSpan,
    },

    /// A member that a module does not export.
    #[error("module `{module}` has no member `{member}`")]
    #[diagnostic(code(E0107))]
    UnknownMember {
        /// The module alias.
        module: String,
        /// The member.
        member: String,
        /// The member access.
        #[label("not in `{module}`")]
        span: SourceSpan,
        /// Did-you-mean and what the module has.
        #[help]
        help: Option<String>,
    },

    /// A step result read where no step has run yet.
    #[error("the result of step `{step}` is not available in {place}")]
    #[diagnostic(
        code(E0108),
        help("bindings and parameter defaults are evaluated before any step runs; read step results inside a step")
    )]
    StepOutsideStep {
        /// The step.
        step: String,
        /// Where it was read.
        place: String,
        /// The reference.
        #[label("step result read here")]
        span: SourceSpan,
    },

    /// `step s = f()` where `f` is neither a task nor a workflow.
    #[error("unknown task or workflow `{name}`")]
    #[diagnostic(code(E0109))]
    UnknownCallee {
        /// The callee as written.
        name: String,
        /// The callee.
        #[label("no task or workflow has this name")]
        span: SourceSpan,
        /// Did-you-mean.
        #[help]
        help: Option<String>,
    },

    /// Modules that import each other.
    #[error("import cycle: {chain}")]
    #[diagnostic(
        code(E0110),
        help("move what both modules need into a third module that imports neither")
    )]
    ImportCycle {
        /// `a.flow -> b.flow -> a.flow`.
        chain: String,
        /// The import that closes the cycle.
        #[label("this import leads back to a module being imported")]
        span: SourceSpan,
    },

    /// An attribute or clause written twice.
    #[error("`{what}` is given more than once")]
    #[diagnostic(code(E0111), help("keep one of them"))]
    Repeated {
        /// The keyword.
        what: String,
        /// The second one.
        #[label("given again here")]
        span: SourceSpan,
        /// The first one.
        #[label("first given here")]
        first: SourceSpan,
    },

    /// A type name the language does not have.
    #[error("unknown type `{name}`")]
    #[diagnostic(code(E0112))]
    UnknownType {
        /// The name.
        name: String,
        /// Where it is written.
        #[label("not a type")]
        span: SourceSpan,
        /// Did-you-mean and the list of types.
        #[help]
        help: Option<String>,
    },

    /// A value of the wrong type.
    #[error("expected `{expected}`, found `{found}`")]
    #[diagnostic(code(E0201))]
    Mismatch {
        /// The type wanted.
        expected: String,
        /// The type found.
        found: String,
        /// What the value is for.
        context: String,
        /// The value.
        #[label("{context}")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// A condition that is not a bool.
    #[error("condition must be `bool`, found `{found}`")]
    #[diagnostic(code(E0202))]
    NotBool {
        /// The type found.
        found: String,
        /// The condition.
        #[label("this is `{found}`")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// An int where a duration is wanted.
    #[error("duration `{value}` has no unit")]
    #[diagnostic(
        code(E0203),
        help("add a unit: `{value}ms`, `{value}s`, `{value}m`, `{value}h` or `{value}d`")
    )]
    DurationWithoutUnit {
        /// The number as written.
        value: String,
        /// The number.
        #[label("a number without a unit")]
        span: SourceSpan,
    },

    /// A parameter default of the wrong type.
    #[error("default of parameter `{param}` is `{found}`, but the parameter is `{expected}`")]
    #[diagnostic(
        code(E0204),
        help("change the default or the parameter's type so that they agree")
    )]
    BadDefault {
        /// The parameter.
        param: String,
        /// Its type.
        expected: String,
        /// The default's type.
        found: String,
        /// The default.
        #[label("this default is `{found}`")]
        span: SourceSpan,
        /// The declared type.
        #[label("declared `{expected}` here")]
        ty: SourceSpan,
    },

    /// A secret flowing into text that would be visible.
    #[error("secret would leak into {place}")]
    #[diagnostic(code(E0205))]
    SecretLeak {
        /// Where it would show.
        place: String,
        /// The secret value.
        #[label("this is a secret")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// Arguments that do not match the parameters.
    #[error("{message}")]
    #[diagnostic(code(E0206))]
    BadArguments {
        /// What is wrong.
        message: String,
        /// Where.
        label: String,
        /// The argument or call.
        #[label("{label}")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// An operator applied to types it does not take.
    #[error("`{op}` cannot be applied to `{left}` and `{right}`")]
    #[diagnostic(code(E0207))]
    BadOperator {
        /// The operator.
        op: String,
        /// The left operand's type (or the only one).
        left: String,
        /// The right operand's type.
        right: String,
        /// The expression.
        #[label("`{left}` {op} `{right}`")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// A count that is zero or negative.
    #[error("{what} must be a positive integer, found {value}")]
    #[diagnostic(code(E0208))]
    NotPositive {
        /// The attribute.
        what: String,
        /// The value.
        value: String,
        /// The value.
        #[label("not positive")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// A list or map interpolated into text.
    #[error("a value of type `{ty}` cannot be interpolated into text")]
    #[diagnostic(code(E0209))]
    NotInterpolatable {
        /// Its type.
        ty: String,
        /// The interpolation.
        #[label("this is `{ty}`")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// A step or task that does nothing.
    #[error("{kind} `{step}` has no action")]
    #[diagnostic(
        code(E0210),
        help("give it one of `run`, `exec`, `sleep` or `approve`, or make it call a task: `step {step} = task(...)`")
    )]
    NoAction {
        /// "step" or "task".
        kind: &'static str,
        /// The step.
        step: String,
        /// The step's name.
        #[label("this {kind} does nothing")]
        span: SourceSpan,
    },

    /// A step or task with two actions.
    #[error("{kind} `{step}` has more than one action")]
    #[diagnostic(
        code(E0211),
        help("a step does one thing; split it into two steps, the second `after` the first")
    )]
    ManyActions {
        /// "step" or "task".
        kind: &'static str,
        /// The step.
        step: String,
        /// The second action.
        #[label("second action")]
        span: SourceSpan,
        /// The first action.
        #[label("first action")]
        first: SourceSpan,
    },

    /// An output named like a built-in field of the step result.
    #[error("output `{name}` clashes with the built-in field `{name}` of every step result")]
    #[diagnostic(
        code(E0212),
        help("the built-in fields are status, exit_code, stdout, attempts, duration, timed_out and signal; rename the output")
    )]
    OutputClash {
        /// The output.
        name: String,
        /// The declaration.
        #[label("rename this output")]
        span: SourceSpan,
    },

    /// A backoff policy the language does not have.
    #[error("unknown backoff policy `{name}`")]
    #[diagnostic(code(E0213))]
    UnknownBackoff {
        /// The name.
        name: String,
        /// Where.
        #[label("not a backoff policy")]
        span: SourceSpan,
        /// Did-you-mean and the list.
        #[help]
        help: Option<String>,
    },

    /// An attribute where it has no meaning.
    #[error("`{attr}` is not allowed in {place}")]
    #[diagnostic(code(E0214))]
    NotAllowedHere {
        /// The attribute.
        attr: String,
        /// Where it was written.
        place: String,
        /// The attribute.
        #[label("not allowed here")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// Field access or indexing on a value that has neither.
    #[error("a value of type `{ty}` {what}")]
    #[diagnostic(code(E0215))]
    NoFields {
        /// The value's type.
        ty: String,
        /// "has no fields" or "cannot be indexed".
        what: String,
        /// The access.
        #[label("this is `{ty}`")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// A record literal without a field its record type has.
    #[error("missing field{} {fields} of `{ty}`", if *several { "s" } else { "" })]
    #[diagnostic(code(E0240))]
    MissingRecordField {
        /// The missing fields, in backticks, comma-separated.
        fields: String,
        /// Whether more than one is missing.
        several: bool,
        /// The record type wanted.
        ty: String,
        /// The literal.
        #[label("this record has no {fields}")]
        span: SourceSpan,
        /// What to add.
        #[help]
        help: Option<String>,
    },

    /// A field in a record literal that its record type does not have.
    #[error("`{ty}` has no field `{field}`")]
    #[diagnostic(code(E0241))]
    UnknownRecordField {
        /// The field as written.
        field: String,
        /// The record type wanted.
        ty: String,
        /// The field's name in the literal.
        #[label("not a field of the record")]
        span: SourceSpan,
        /// Did-you-mean and the fields it has.
        #[help]
        help: Option<String>,
    },

    /// A record type, or a record literal checked against one, that names a field twice.
    #[error("field `{name}` is given more than once")]
    #[diagnostic(code(E0242), help("a record has each field once: remove one of them"))]
    DuplicateField {
        /// The field.
        name: String,
        /// The second one.
        #[label("given again here")]
        span: SourceSpan,
        /// The first one.
        #[label("first given here")]
        first: SourceSpan,
    },

    /// `list` without its element type, or `int<string>`.
    #[error("{message}")]
    #[diagnostic(code(E0216))]
    TypeArity {
        /// What is wrong.
        message: String,
        /// The type.
        #[label("here")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// `timeout 0s` or a negative constant duration where only a positive one makes sense.
    #[error("{what} must be a positive duration, found {value}")]
    #[diagnostic(
        code(E0217),
        help("give the step the time it needs, or remove `timeout` to let it run as long as it takes")
    )]
    NotPositiveDuration {
        /// The attribute.
        what: String,
        /// The value as written.
        value: String,
        /// The value.
        #[label("{}", if *zero { "zero" } else { "negative" })]
        span: SourceSpan,
        /// Whether it is zero (rather than negative).
        zero: bool,
    },

    /// `max` on a `for` that is not the last of a matrix.
    #[error("`max` must follow the last `for` of step `{step}`")]
    #[diagnostic(
        code(E0234),
        help("`max` bounds all the instances of a matrix at once: move `max {value}` after the last `for ... in ...`")
    )]
    MaxBeforeLastFor {
        /// The step.
        step: String,
        /// The bound as written.
        value: String,
        /// The `max`.
        #[label("this bounds every instance of the matrix, not one list")]
        span: SourceSpan,
        /// The last `for`.
        #[label("the last `for`")]
        last: SourceSpan,
    },

    /// Two `for` clauses of one step with the same variable.
    #[error("loop variable `{name}` is declared twice in step `{step}`")]
    #[diagnostic(
        code(E0235),
        help("give each `for` of a matrix its own variable: `for py in pys for os in oses`")
    )]
    DuplicateLoopVar {
        /// The variable.
        name: String,
        /// The step.
        step: String,
        /// The second declaration.
        #[label("declared again here")]
        span: SourceSpan,
        /// The first one.
        #[label("first declared here")]
        first: SourceSpan,
    },

    /// `for w in STEP` where the step does not fan out.
    #[error("step `{target}` does not fan out, so `for` cannot iterate its instances")]
    #[diagnostic(code(E0236))]
    NotFannedOut {
        /// The step named.
        target: String,
        /// Where it is named.
        #[label("a step without `for`")]
        span: SourceSpan,
        /// Advice.
        #[help]
        help: Option<String>,
    },

    /// `for w in STEP` where a loop variable of the step has the name of a field of its
    /// result.
    #[error("the instances of `{target}` cannot be iterated: its loop variable `{var}` has the name of a field of its result")]
    #[diagnostic(
        code(E0237),
        help("the result of an instance has the step's built-in fields, its outputs and its loop variables, by name: rename the loop variable `{var}` of `{target}`")
    )]
    LoopVarClash {
        /// The step iterated.
        target: String,
        /// The loop variable.
        var: String,
        /// Where the step is iterated.
        #[label("iterated here")]
        span: SourceSpan,
    },

    /// A `for` over a step's instances that is not the step's first `for`.
    #[error("a `for` over the instances of `{target}` must be the first `for` of step `{step}`")]
    #[diagnostic(
        code(E0238),
        help("write `for {var} in {target}` first; further `for` clauses then make a matrix with each instance")
    )]
    ChainNotFirst {
        /// The step iterated.
        target: String,
        /// The step with the clauses.
        step: String,
        /// The loop variable.
        var: String,
        /// The clause.
        #[label("iterates the instances of a step")]
        span: SourceSpan,
    },

    /// `priority` reading a step result, or a fan-out's `max_failures` reading its loop
    /// variable: a value read before what it reads is known.
    #[error("`{what}` {why}: it cannot read {read}")]
    #[diagnostic(code(E0218), help("{help}"))]
    DecidedTooEarly {
        /// The attribute.
        what: String,
        /// When its value is decided.
        why: &'static str,
        /// What it reads.
        read: String,
        /// The read.
        #[label("not known yet when `{what}` is decided")]
        span: SourceSpan,
        /// Advice.
        help: &'static str,
    },

    /// `max_failures` on a step that does not fan out.
    #[error("`max_failures` on step `{step}`, which does not fan out")]
    #[diagnostic(
        code(E0219),
        help("a step's `max_failures` counts its instances' failures: add `for x in list`, or bound the whole run with `max_failures` in the workflow's body")
    )]
    MaxFailuresWithoutFanOut {
        /// The step.
        step: String,
        /// The attribute.
        #[label("this step has one instance")]
        span: SourceSpan,
    },

    /// `max_failures` on a step that calls a workflow with `for`.
    #[error("`max_failures` on step `{step}`, a call of the workflow `{callee}`")]
    #[diagnostic(
        code(E0220),
        help("each step of a called workflow fans out on its own, so one budget cannot count the calls' failures; bound the whole run with `max_failures` in the workflow's body")
    )]
    MaxFailuresOnWorkflowCall {
        /// The step.
        step: String,
        /// The workflow it calls.
        callee: String,
        /// The attribute.
        #[label("not a budget of the calls")]
        span: SourceSpan,
    },

    /// `retry POLICY` with a `backoff`, `jitter` or `if` of its own.
    #[error("the retry policy `{name}` cannot be combined with `backoff`, `jitter` or `if`")]
    #[diagnostic(
        code(E0115),
        help("a named policy is the whole retry clause; write the clause out in full to change a part of it")
    )]
    PolicyWithClauses {
        /// The policy as written.
        name: String,
        /// The extra part.
        #[label("not allowed after a named policy")]
        span: SourceSpan,
    },

    /// A workflow that calls itself, directly or through others.
    #[error("workflow `{name}` calls itself: {chain}")]
    #[diagnostic(
        code(E0116),
        help("sub-workflows are inlined into their caller, so a call cycle would never end; use a `for` fan-out to repeat steps")
    )]
    RecursiveWorkflow {
        /// The workflow.
        name: String,
        /// The calls, `a -> b -> a`.
        chain: String,
        /// The call that closes the cycle.
        #[label("this call closes the cycle")]
        span: SourceSpan,
    },

    /// `native` outside a task of the embedded standard library.
    #[error("`native` is only allowed in tasks of the standard library")]
    #[diagnostic(
        code(E0113),
        help("native actions are implemented inside flowc; import the `std/...` module that offers one and call its task")
    )]
    NativeOutsideStdlib {
        /// The attribute.
        #[label("in {place}")]
        span: SourceSpan,
        /// Where it was written, as words.
        place: String,
    },

    /// A failure route after one without `if`, which takes every failure first.
    #[error("this failure route is never taken")]
    #[diagnostic(
        code(E0226),
        help("routes are tried in order and the first that holds is taken; an `on_failure` without `if` holds for every failure, so write it last")
    )]
    UnreachableRoute {
        /// The route that is never reached.
        #[label("never taken")]
        span: SourceSpan,
        /// The route without `if` before it.
        #[label("every failure takes this route first")]
        first: SourceSpan,
    },

    /// `on_failure TARGET if COND` where no failed step's result is at hand: in `defaults`,
    /// a task, or a step that calls a workflow.
    #[error("a failure route with a condition cannot stand in {place}")]
    #[diagnostic(code(E0227))]
    RouteNotHere {
        /// Where it was written, as words.
        place: String,
        /// The condition.
        #[label("a condition here has no failed step to read")]
        span: SourceSpan,
        /// What to do instead.
        #[help]
        help: String,
    },

    /// Two routes of one step naming the same fallback step.
    #[error("step `{target}` is named by two failure routes of one step")]
    #[diagnostic(
        code(E0228),
        help("a fallback step belongs to one route: write one route whose condition joins both with `||`")
    )]
    DuplicateRoute {
        /// The fallback step.
        target: String,
        /// The second route's target.
        #[label("named again here")]
        span: SourceSpan,
        /// The first route's target.
        #[label("first named here")]
        first: SourceSpan,
    },

    /// A route's condition that reads another step's result.
    #[error("a failure route of step `{step}` reads step `{other}`")]
    #[diagnostic(
        code(E0229),
        help("a route is chosen from the result of the step that failed (`{step}.exit_code`, `{step}.timed_out`, ...); read `{other}` in the step the route leads to")
    )]
    RouteReadsOtherStep {
        /// The step whose route it is.
        step: String,
        /// The step read.
        other: String,
        /// The read.
        #[label("another step's result")]
        span: SourceSpan,
    },

    /// A route's condition that reads a declared output of the failed step.
    #[error("a failure route of step `{step}` reads one of its declared outputs")]
    #[diagnostic(
        code(E0230),
        help("a step that failed has no declared outputs, so this would never hold; read its built-in fields: `exit_code`, `timed_out`, `signal`, `stdout`, `attempts`")
    )]
    RouteReadsOutput {
        /// The step.
        step: String,
        /// The read.
        #[label("an output a failed step does not have")]
        span: SourceSpan,
    },

    /// `native "x.y"` naming an action the runtime does not implement.
    #[error("unknown native action `{name}`")]
    #[diagnostic(code(E0114))]
    UnknownNative {
        /// The name as written.
        name: String,
        /// The name.
        #[label("the runtime implements no such action")]
        span: SourceSpan,
        /// Did-you-mean and the known actions.
        #[help]
        help: Option<String>,
    },

    /// `checkpoint` with something other than a plain label.
    #[error(
        "a checkpoint label must be a plain string of letters, digits, `-` and `_`: {problem}"
    )]
    #[diagnostic(
        code(E0511),
        help("write it as a literal, such as `checkpoint \"pre-production\"`: `flowc rollback --to` names it on the command line, so it is known before the run")
    )]
    BadCheckpoint {
        /// What is wrong with it.
        problem: String,
        /// The label.
        #[label("not a plain label")]
        span: SourceSpan,
    },

    /// Two steps of one workflow with the same checkpoint label.
    #[error("two steps of workflow `{workflow}` are labelled `checkpoint \"{label}\"`")]
    #[diagnostic(
        code(E0512),
        help("`flowc rollback --to {label}` must name one step: rename one of the labels")
    )]
    DuplicateCheckpoint {
        /// The workflow.
        workflow: String,
        /// The label.
        label: String,
        /// The second label.
        #[label("labelled again here")]
        span: SourceSpan,
        /// The first.
        #[label("first here")]
        first: SourceSpan,
    },
}

/// Something that is probably a mistake but does not stop the program.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckWarning {
    /// A binding or parameter nothing reads.
    #[error("{kind} `{name}` is never used")]
    #[diagnostic(
        code(W0001),
        severity(Warning),
        help("remove it, or start its name with `_` to keep it unused on purpose")
    )]
    Unused {
        /// "let binding", "secret", "parameter".
        kind: &'static str,
        /// The name.
        name: String,
        /// The definition.
        #[label("defined here")]
        span: SourceSpan,
    },

    /// A `when` that can never hold.
    #[error("condition is always false, so step `{step}` never runs")]
    #[diagnostic(
        code(W0002),
        severity(Warning),
        help("remove the step, or fix the condition")
    )]
    AlwaysFalse {
        /// The step.
        step: String,
        /// The condition.
        #[label("always false")]
        span: SourceSpan,
    },

    /// A gate's `decision` compared with a value it never has.
    #[error("an approval's `decision` is never \"{value}\"")]
    #[diagnostic(code(W0005), severity(Warning))]
    UnknownDecision {
        /// The value compared with.
        value: String,
        /// The string.
        #[label("never equal to `decision`")]
        span: SourceSpan,
        /// Did-you-mean and the values it has.
        #[help]
        help: Option<String>,
    },

    /// A failure route whose condition is always false.
    #[error("the failure route to `{target}` is never taken: its condition is always false")]
    #[diagnostic(
        code(W0006),
        severity(Warning),
        help("remove the route, or fix its condition")
    )]
    RouteNeverTaken {
        /// The route's target.
        target: String,
        /// The condition.
        #[label("always false")]
        span: SourceSpan,
    },

    /// An import nothing uses.
    #[error("import `{name}` is never used")]
    #[diagnostic(code(W0004), severity(Warning), help("remove the import"))]
    UnusedImport {
        /// The alias.
        name: String,
        /// The import.
        #[label("imported here")]
        span: SourceSpan,
    },
}

/// A `run` command or `exec` list that cannot be started, found at check time: the
/// command's own error (E0402-E0405, the codes the runtime used to raise mid-run), placed
/// on the text or the value it is about.
#[derive(Debug, thiserror::Error)]
#[error("{inner}")]
pub struct CommandAt {
    /// What is wrong.
    pub inner: crate::command::CommandError,
    /// Where.
    pub span: SourceSpan,
    /// What is at the span.
    pub label: &'static str,
}

impl miette::Diagnostic for CommandAt {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.inner.code()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.inner.help()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some(self.label.to_string()), self.span),
        )))
    }
}
