//! The REPL's backend: a [`Session`] holding the program built so far, and one entry point,
//! [`Session::input`], that takes what the user typed (an expression, a definition or a
//! `:command`) and returns a [`Reply`]. It knows nothing of terminals, so it is tested on
//! its own; the frontend (`super::editor`) and the pipe mode print its replies.
//!
//! The program is kept as definitions, each a slice of the text it was typed in or loaded
//! from (see `super::program`). To check it, the definitions are assembled into one file:
//! module items, then the session's workflow (the first workflow of a loaded file, else
//! `repl`) with its parameters and body. A map from the assembled text back to each slice
//! lets every diagnostic point into the line just typed (or the loaded file), exactly as
//! `flowc check` shows it.
//! Expressions are typed by the checker in the workflow's scope (see [`check::Probe`]) and
//! evaluated with the parameters' defaults, the bindings, and the results of the last run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use miette::LabeledSpan;

use super::program::{decl_def, Assembled, Def, Kind, Moved, Origin, Program, Wrap, PROBE};

use crate::check::{self, FsLoader, Type};
use crate::diagnostics::{self, did_you_mean, Diagnostics, Format, RenderOptions};
use crate::lower::Lowered;
use crate::parse::outline::{outline, DeclKind};
use crate::runtime::driver;
use crate::runtime::eval::{eval_typed, EvalError, Scope, Value};
use crate::runtime::params::{coerce, Constants};
use crate::runtime::run::Report;
use crate::source::{SourceFile, SourceId, SourceMap};
use crate::typed::{self, Ref};

/// The REPL's commands: name, argument, what it does (for `:help`, completion and hints).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (":type", "EXPR", "show the type of an expression"),
    (
        ":load",
        "FILE",
        "load a .flow file (replacing the session's program)",
    ),
    (":reload", "", "load the last loaded file again"),
    (":check", "", "check the program, warnings included"),
    (":graph", "", "print the workflow's execution graph"),
    (":plan", "", "show what a run would do"),
    (
        ":run",
        "[STEP|all]",
        "run a step (and what it needs), or the whole workflow",
    ),
    (
        ":vars",
        "",
        "list the names in scope with their types and values",
    ),
    (
        ":doc",
        "NAME",
        "show the documentation of a name, function or module",
    ),
    (":explain", "CODE", "explain a diagnostic code"),
    (":reset", "", "forget every definition"),
    (":help", "", "show this help"),
    (":quit", "", "leave the REPL (Ctrl-D does too)"),
];

/// A mistake in a REPL command (the program's own mistakes are the usual diagnostics).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReplError {
    /// A `:command` that does not exist.
    #[error("unknown command `{command}`")]
    #[diagnostic(code(E0470))]
    UnknownCommand {
        /// What was typed.
        command: String,
        /// "did you mean", or the list of commands.
        #[help]
        help: Option<String>,
    },

    /// A command used without its argument.
    #[error("`{command}` needs an argument: `{command} {argument}`")]
    #[diagnostic(code(E0471), help("type `:help` to see every command"))]
    MissingArgument {
        /// The command.
        command: String,
        /// What it takes.
        argument: String,
    },

    /// `:run` of a step the workflow does not have.
    #[error("the workflow `{workflow}` has no step `{step}`")]
    #[diagnostic(code(E0472))]
    UnknownStep {
        /// The step asked for.
        step: String,
        /// The session's workflow.
        workflow: String,
        /// "did you mean", or the steps there are.
        #[help]
        help: Option<String>,
    },

    /// `:doc` of a name that is nowhere.
    #[error("nothing is named `{name}`")]
    #[diagnostic(code(E0473))]
    UnknownName {
        /// The name asked for.
        name: String,
        /// "did you mean".
        #[help]
        help: Option<String>,
    },

    /// `:explain` of something that is not a code.
    #[error("`{code}` is not a flowc diagnostic code")]
    #[diagnostic(code(E0474), help("codes look like `E0101` or `W0001`"))]
    UnknownCode {
        /// What was asked for.
        code: String,
    },

    /// `:reload` before any `:load`.
    #[error("no file is loaded, so there is nothing to reload")]
    #[diagnostic(code(E0475), help("load one first: `:load FILE`"))]
    NothingLoaded,
}

/// What the session answers to one input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// The result, for stdout (ends with a newline unless empty).
    pub output: String,
    /// Rendered diagnostics, for stderr.
    pub errors: String,
    /// False when the input failed: a diagnostic, or a run that did not succeed.
    pub ok: bool,
    /// True after `:quit`.
    pub quit: bool,
}

impl Reply {
    fn out(text: impl Into<String>) -> Reply {
        let mut output = text.into();
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        Reply {
            output,
            ok: true,
            ..Reply::default()
        }
    }

    fn failed(errors: String) -> Reply {
        Reply {
            errors,
            ok: false,
            ..Reply::default()
        }
    }
}

/// What the frontend completes: the names in scope and what follows a `.`.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Parameters, bindings, steps, tasks, constants and module aliases.
    pub names: Vec<String>,
    /// The fields after `NAME.`: a step's result fields, a module's members, `workflow`'s.
    pub fields: BTreeMap<String, Vec<String>>,
}

/// A checked program, with what is needed to report on it.
struct Compiled {
    sources: SourceMap,
    root: SourceId,
    asm: Assembled,
    lowered: Lowered,
    /// The probe expression, typed, when one was asked for.
    probe: Option<typed::Expr>,
}

/// A REPL session: the program built so far and what it needs to answer.
#[derive(Debug)]
pub struct Session {
    opts: RenderOptions,
    origins: Vec<Origin>,
    program: Program,
    loaded: Option<PathBuf>,
    inputs: usize,
    /// Step results of the last `:run`, by step name.
    results: BTreeMap<String, Value>,
    names: Names,
    /// What `:run` runs a workflow with.
    runner: Runner,
}

/// How `:run` runs a compiled workflow and shows it: the front end's progress and
/// summary (`flowc repl` gives `flowc run`'s), or [`driver::run_quietly`]. It gives the
/// exit code of `flowc run` and the report.
pub type RunFn =
    dyn FnMut(Lowered, &str, BTreeMap<String, Value>, &driver::Launch) -> (u8, Option<Report>);

/// The session's [`RunFn`].
struct Runner(Box<RunFn>);

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runner")
    }
}

impl Session {
    /// An empty session whose diagnostics are rendered with `opts`.
    pub fn new(opts: RenderOptions) -> Session {
        let mut session = Session {
            opts,
            origins: Vec::new(),
            program: Program::default(),
            loaded: None,
            inputs: 0,
            results: BTreeMap::new(),
            names: Names::default(),
            runner: Runner(Box::new(driver::run_quietly)),
        };
        session.refresh_names();
        session
    }

    /// Runs `:run` with `runner` (the front end's progress and summary) instead of
    /// quietly.
    pub fn with_runner(mut self, runner: Box<RunFn>) -> Session {
        self.runner = Runner(runner);
        self
    }

    /// The names the frontend completes, as of the last input.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Answers one complete input (possibly several lines).
    pub fn input(&mut self, text: &str) -> Reply {
        let trimmed = text.trim();
        if trimmed.is_empty() || is_comment(trimmed) {
            return Reply::out("");
        }
        self.inputs += 1;
        let reply = if let Some(command) = trimmed.strip_prefix(':') {
            self.command(command)
        } else {
            let origin = self.add_origin(text);
            match first_word(text) {
                // `workflow.status` is an expression, `workflow w { ... }` a definition.
                "workflow" if is_workflow_field(text) => self.evaluate(origin, true),
                "import" | "task" | "workflow" => self.define(origin, Wrap::File),
                "let" | "secret" | "step" | "finally" | "defaults" => {
                    self.define(origin, Wrap::Body)
                }
                // `concurrency "group" skip` is a definition; a name alone, an expression.
                "concurrency" if text.trim() != "concurrency" => self.define(origin, Wrap::Body),
                // `timeout 1h` sets the run's timeout; `timeout * 2` reads a binding.
                "timeout" | "max_failures" if is_setting(text) => self.define(origin, Wrap::Body),
                "param" => self.define(origin, Wrap::Param),
                _ => self.evaluate(origin, true),
            }
        };
        self.refresh_names();
        reply
    }

    fn add_origin(&mut self, text: &str) -> usize {
        self.origins.push(Origin {
            name: format!("<repl:{}>", self.inputs),
            path: None,
            text: text.to_string(),
        });
        self.origins.len() - 1
    }

    fn command(&mut self, command: &str) -> Reply {
        let (name, arg) = match command.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (command, ""),
        };
        let full = format!(":{name}");
        let needs = |argument: &str| ReplError::MissingArgument {
            command: full.clone(),
            argument: argument.to_string(),
        };
        match name {
            "type" | "t" if arg.is_empty() => self.report(needs("EXPR")),
            "type" | "t" => {
                let origin = self.add_origin(arg);
                self.evaluate(origin, false)
            }
            "load" | "l" if arg.is_empty() => self.report(needs("FILE")),
            "load" | "l" => self.load(Path::new(arg)),
            "reload" | "r" => match self.loaded.clone() {
                Some(path) => self.load(&path),
                None => self.report(ReplError::NothingLoaded),
            },
            "check" => self.check(),
            "graph" => self.graph(),
            "plan" => self.plan(),
            "run" => self.run((!arg.is_empty() && arg != "all").then_some(arg)),
            "vars" => self.vars(),
            "doc" if arg.is_empty() => self.report(needs("NAME")),
            "doc" => self.doc(arg),
            "explain" if arg.is_empty() => self.report(needs("CODE")),
            "explain" => match diagnostics::explain(arg) {
                Some(text) => Reply::out(text),
                None => self.report(ReplError::UnknownCode {
                    code: arg.to_string(),
                }),
            },
            "reset" => {
                self.program = Program::default();
                self.loaded = None;
                self.results.clear();
                Reply::out("the session is empty again")
            }
            "help" | "h" | "?" => Reply::out(help()),
            "quit" | "q" | "exit" => Reply {
                quit: true,
                ..Reply::out("")
            },
            _ => {
                let names: Vec<&str> = COMMANDS.iter().map(|(c, _, _)| *c).collect();
                let help = did_you_mean(&full, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("the commands are: {}", names.join(" "))));
                self.report(ReplError::UnknownCommand {
                    command: full.clone(),
                    help,
                })
            }
        }
    }

    /// Renders a command error (it has no source excerpt).
    fn report(&self, err: ReplError) -> Reply {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("<repl>", None, ""));
        let mut diags = Diagnostics::new();
        diags.error(id, err);
        Reply::failed(render_plain(&diags, &sources, self.opts))
    }

    // -----------------------------------------------------------------------------------
    // Definitions
    // -----------------------------------------------------------------------------------

    /// Parses the definitions in `origin` and adds them, replacing those of the same name;
    /// the whole program is checked again, and nothing changes if it no longer checks.
    fn define(&mut self, origin: usize, wrap: Wrap) -> Reply {
        let defs = match self.parse_defs(origin, wrap) {
            Ok(defs) => defs,
            Err(errors) => return Reply::failed(errors),
        };
        let before = self.program.clone();
        let mut lines = Vec::new();
        for def in &defs {
            let replaced = self.program.install(def.clone());
            lines.push((def, replaced));
        }
        if let Err(mut errors) = self.compile(None, None) {
            self.program = before;
            errors.push_str("nothing was defined: the program would not check\n");
            return Reply::failed(errors);
        }
        let mut out = String::new();
        for (def, replaced) in lines {
            let verb = if replaced { "redefined" } else { "defined" };
            let ty = match def.kind {
                Kind::Let | Kind::Secret | Kind::Param | Kind::Const => self
                    .type_of_name(&def.name)
                    .map(|t| format!(" : {t}"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            if def.kind == Kind::Defaults {
                let _ = writeln!(out, "{verb} the workflow's defaults");
            } else if def.kind == Kind::Outputs {
                let _ = writeln!(out, "{verb} the workflow's outputs");
            } else if def.kind == Kind::Concurrency {
                let _ = writeln!(out, "{verb} the workflow's concurrency group");
            } else if def.kind == Kind::Setting {
                let _ = writeln!(out, "{verb} the run's `{}`", def.name);
            } else {
                let _ = writeln!(out, "{verb} {} `{}`{ty}", def.kind.word(), def.name);
            }
        }
        Reply::out(out)
    }

    /// Parses one input as definitions.
    fn parse_defs(&self, origin: usize, wrap: Wrap) -> Result<Vec<Def>, String> {
        let input = &self.origins[origin].text;
        let (prefix, body_start, suffix) = match wrap {
            Wrap::File => ("", 0, ""),
            Wrap::Body => ("workflow __repl {\n", 0, "\n}\n"),
            Wrap::Param => {
                let at = input.find("param").map_or(0, |i| i + "param".len());
                ("workflow __repl(\n", at, "\n) {}\n")
            }
        };
        let mut asm = Assembled::default();
        asm.push(prefix);
        asm.copy(&self.origins, origin, body_start, input.len());
        asm.push(suffix);
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("<repl>", None, asm.text.clone()));
        let file = crate::parse::parse(id, sources.get(id))
            .map_err(|diags| self.render(&diags, &sources, id, &asm))?;
        // Spans in the assembled text, back to the input.
        let shift = |span: crate::source::Span| {
            let back = |at: u32| {
                (at as usize)
                    .saturating_sub(prefix.len())
                    .saturating_add(body_start)
                    .min(input.len())
            };
            (back(span.start), back(span.end))
        };
        let def = |name: &str, kind: Kind, span: crate::source::Span| {
            let (start, end) = shift(span);
            Def {
                name: name.to_string(),
                kind,
                origin,
                start,
                end,
            }
        };
        let mut defs = Vec::new();
        for item in outline(&file) {
            match (wrap, item.decl.kind) {
                (Wrap::File, _) => defs.push(decl_def(&item.decl, &def)),
                (Wrap::Body, DeclKind::Workflow) => {
                    defs.extend(item.body.iter().map(|d| decl_def(d, &def)));
                }
                (Wrap::Param, DeclKind::Workflow) => {
                    defs.extend(item.params.iter().map(|d| decl_def(d, &def)));
                }
                _ => {}
            }
        }
        Ok(defs)
    }

    /// `:load FILE`: the file's items become the program; its first workflow becomes the
    /// session's workflow. Nothing changes if the file has errors.
    fn load(&mut self, path: &Path) -> Reply {
        let file = match driver::read_source(path) {
            Ok(file) => file,
            Err((name, err)) => {
                let mut sources = SourceMap::new();
                let id = sources.add(SourceFile::new(name, None, ""));
                let mut diags = Diagnostics::new();
                diags.error(id, err);
                return Reply::failed(render_plain(&diags, &sources, self.opts));
            }
        };
        self.origins.push(Origin {
            name: file.name.clone(),
            path: file.path.clone(),
            text: file.text.clone(),
        });
        let origin = self.origins.len() - 1;
        let mut sources = SourceMap::new();
        let id = sources.add(file);
        let parsed = match crate::parse::parse(id, sources.get(id)) {
            Ok(parsed) => parsed,
            Err(diags) => return Reply::failed(render_plain(&diags, &sources, self.opts)),
        };
        let def = |name: &str, kind: Kind, span: crate::source::Span| Def {
            name: name.to_string(),
            kind,
            origin,
            start: span.start as usize,
            end: span.end as usize,
        };
        let mut program = Program::default();
        let mut focus = false;
        for item in outline(&parsed) {
            if item.decl.kind == DeclKind::Workflow && !focus {
                focus = true;
                program.workflow = item.decl.name.clone();
                program.docs = item.docs.clone();
                program.params = item.params.iter().map(|d| decl_def(d, &def)).collect();
                program.body = item.body.iter().map(|d| decl_def(d, &def)).collect();
            } else {
                program.items.push(decl_def(&item.decl, &def));
            }
        }
        let before = std::mem::replace(&mut self.program, program);
        let before_path = self.loaded.replace(path.to_path_buf());
        if let Err(errors) = self.compile(None, None) {
            self.program = before;
            self.loaded = before_path;
            return Reply::failed(errors);
        }
        self.results.clear();
        let steps = self
            .program
            .body
            .iter()
            .filter(|d| d.kind == Kind::Step)
            .count();
        Reply::out(format!(
            "loaded `{}`: workflow `{}` with {}",
            path.display(),
            self.program.workflow,
            plural(steps, "step")
        ))
    }

    // -----------------------------------------------------------------------------------
    // Checking
    // -----------------------------------------------------------------------------------

    /// Assembles the program (with only the steps in `only`, if given, and the probe
    /// expression `probe` as the last binding of the workflow) and runs the front end on it.
    /// Errors come back rendered, pointing into the texts they were typed in.
    fn compile(
        &self,
        probe: Option<usize>,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Compiled, String> {
        let asm = self.assemble(probe, only);
        let mut sources = SourceMap::new();
        let path = self.loaded.clone();
        let root = sources.add(SourceFile::new("<repl>", path, asm.text.clone()));
        let asked = probe.map(|_| (self.program.workflow.as_str(), PROBE));
        let (lowered, ty) = crate::compile_probe(&mut sources, root, &FsLoader, asked)
            .map_err(|diags| self.render(&diags, &sources, root, &asm))?;
        Ok(Compiled {
            sources,
            root,
            asm,
            lowered,
            probe: ty,
        })
    }

    fn assemble(&self, probe: Option<usize>, only: Option<&BTreeSet<String>>) -> Assembled {
        let p = &self.program;
        let mut asm = Assembled::default();
        for def in &p.items {
            asm.copy(&self.origins, def.origin, def.start, def.end);
            asm.push("\n");
        }
        for line in &p.docs {
            asm.push(&format!("///{line}\n"));
        }
        asm.push(&format!("workflow {}(\n", p.workflow));
        for def in &p.params {
            asm.copy(&self.origins, def.origin, def.start, def.end);
            asm.push(",\n");
        }
        asm.push(") {\n");
        for def in &p.body {
            if def.kind == Kind::Step && only.is_some_and(|o| !o.contains(&def.name)) {
                continue;
            }
            asm.copy(&self.origins, def.origin, def.start, def.end);
            asm.push("\n");
        }
        if let Some(origin) = probe {
            asm.push(&format!("let {PROBE} =\n"));
            let len = self.origins[origin].text.len();
            asm.copy(&self.origins, origin, 0, len);
            asm.push("\n");
        }
        asm.push("}\n");
        asm
    }

    /// Renders diagnostics of the assembled file as if each stood in the text it was typed
    /// in; diagnostics of imported modules are rendered as they are.
    fn render(
        &self,
        diags: &Diagnostics,
        sources: &SourceMap,
        root: SourceId,
        asm: &Assembled,
    ) -> String {
        let mut out = String::new();
        let mut files = OriginFiles::default();
        for diag in diags
            .iter()
            .filter(|d| d.severity == diagnostics::Severity::Error)
        {
            out.push_str(&self.render_one(diag, sources, root, asm, &mut files));
        }
        out
    }

    fn render_one(
        &self,
        diag: &diagnostics::Diagnostic,
        sources: &SourceMap,
        root: SourceId,
        asm: &Assembled,
        files: &mut OriginFiles,
    ) -> String {
        let labels: Vec<LabeledSpan> = diag.inner.labels().map(|l| l.collect()).unwrap_or_default();
        let primary = labels.iter().find(|l| l.primary()).or(labels.first());
        let segment = primary.and_then(|l| asm.segment(l.offset()));
        let (Some(segment), true) = (segment, diag.source == root) else {
            return diagnostics::render(diag, sources, Format::Human, self.opts);
        };
        let origin = &self.origins[segment.origin];
        let map = |offset: usize| {
            offset.clamp(segment.start, segment.end) - segment.start + segment.origin_start
        };
        let labels = labels
            .iter()
            .filter(|l| l.offset() >= segment.start && l.offset() <= segment.end)
            .map(|l| {
                let start = map(l.offset());
                let end = map(l.offset() + l.len()).max(start);
                let span = miette::SourceSpan::new(start.into(), end - start);
                let label = l.label().map(str::to_string);
                if l.primary() {
                    LabeledSpan::new_primary_with_span(label, span)
                } else {
                    LabeledSpan::new_with_span(label, span)
                }
            })
            .collect();
        let moved = Moved {
            message: diag.inner.to_string(),
            code: diag.code(),
            help: diag.inner.help().map(|h| h.to_string()),
            labels,
            severity: match diag.severity {
                diagnostics::Severity::Error => miette::Severity::Error,
                diagnostics::Severity::Warning => miette::Severity::Warning,
            },
        };
        let (one, id) = files.entry(segment.origin).or_insert_with(|| {
            let mut one = SourceMap::new();
            let id = one.add(SourceFile::new(
                origin.name.clone(),
                origin.path.clone(),
                origin.text.clone(),
            ));
            (one, id)
        });
        let mut d = Diagnostics::new();
        match diag.severity {
            diagnostics::Severity::Error => d.error(*id, moved),
            diagnostics::Severity::Warning => d.warning(*id, moved),
        }
        render_plain(&d, one, self.opts)
    }

    // -----------------------------------------------------------------------------------
    // Expressions
    // -----------------------------------------------------------------------------------

    /// Types (and, with `value`, evaluates) the expression that is the whole of `origin`.
    fn evaluate(&mut self, origin: usize, value: bool) -> Reply {
        // Parsed on its own first, so that a syntax error points into the input alone.
        let mut sources = SourceMap::new();
        let o = &self.origins[origin];
        let id = sources.add(SourceFile::new(o.name.clone(), None, o.text.clone()));
        if let Err(diags) = crate::parse::parse_expr(id, sources.get(id)) {
            return Reply::failed(render_plain(&diags, &sources, self.opts));
        }
        let compiled = match self.compile(Some(origin), None) {
            Ok(c) => c,
            Err(errors) => return Reply::failed(errors),
        };
        let Some(expr) = &compiled.probe else {
            return Reply::failed("error: internal error: the expression was not typed\n".into());
        };
        let ty = &expr.ty;
        if !value {
            return Reply::out(ty.to_string());
        }
        let known = self.values(&compiled);
        match eval_typed(expr, &known) {
            Ok(v) => Reply::out(format!("{v} : {ty}")),
            Err(EvalError::Pending) => Reply::out(format!("? : {ty} (not known before the run)")),
            Err(e) => {
                let mut diags = Diagnostics::new();
                diags.error(compiled.root, e);
                Reply::failed(self.render(&diags, &compiled.sources, compiled.root, &compiled.asm))
            }
        }
    }

    /// The type of a name in the workflow's scope, if it checks.
    fn type_of_name(&mut self, name: &str) -> Option<Type> {
        let origin = self.add_origin(name);
        let compiled = self.compile(Some(origin), None);
        // The probe text is not an input: forget it.
        self.origins.pop();
        compiled.ok()?.probe.map(|e| e.ty)
    }

    /// The values known before a run: constants, the parameters' defaults, the bindings,
    /// and the step results of the last `:run`.
    fn values(&self, c: &Compiled) -> Known {
        let env = |name: &str| std::env::var(name).ok();
        let program = &c.lowered.program;
        let consts = Constants::of(program, &env);
        let mut known = Known {
            consts,
            ..Known::default()
        };
        let Some(wf) = program.workflow(&self.program.workflow) else {
            return known;
        };
        known.steps = wf.steps.iter().map(|s| s.name.clone()).collect();
        for p in &wf.params {
            let Some(default) = &p.default else { continue };
            match eval_typed(default, &known) {
                Ok(v) => {
                    known.values.insert(p.name.clone(), coerce(v, &p.ty));
                }
                Err(EvalError::Pending) => {}
                Err(e) => {
                    known.failed.get_mut().insert(p.name.clone(), e);
                }
            }
        }
        for b in &wf.bindings {
            match eval_typed(&b.value, &known) {
                Ok(v) => {
                    known.values.insert(b.name.clone(), coerce(v, &b.ty));
                }
                Err(EvalError::Pending) => {}
                Err(e) => {
                    known.failed.get_mut().insert(b.name.clone(), e);
                }
            }
        }
        let mut values = std::mem::take(&mut known.values);
        for (step, record) in &self.results {
            if self
                .program
                .body
                .iter()
                .any(|d| d.kind == Kind::Step && &d.name == step)
            {
                values.insert(step.clone(), record.clone());
            }
        }
        known.values = values;
        known
    }

    // -----------------------------------------------------------------------------------
    // Commands
    // -----------------------------------------------------------------------------------

    fn check(&self) -> Reply {
        match self.compile(None, None) {
            Ok(c) => {
                let mut out = String::new();
                let mut files = OriginFiles::default();
                for diag in c.lowered.warnings.iter() {
                    out.push_str(&self.render_one(diag, &c.sources, c.root, &c.asm, &mut files));
                }
                let (_, warnings) = c.lowered.warnings.counts();
                let summary = match warnings {
                    0 => "no problems found".to_string(),
                    n => plural(n, "warning"),
                };
                Reply {
                    errors: out,
                    ..Reply::out(summary)
                }
            }
            Err(errors) => Reply::failed(errors),
        }
    }

    fn graph(&self) -> Reply {
        match self.compile(None, None) {
            Ok(c) => Reply::out(
                c.lowered
                    .graphs
                    .iter()
                    .find(|g| g.workflow == self.program.workflow)
                    .map(|g| g.dump())
                    .unwrap_or_default(),
            ),
            Err(errors) => Reply::failed(errors),
        }
    }

    fn plan(&self) -> Reply {
        let c = match self.compile(None, None) {
            Ok(c) => c,
            Err(errors) => return Reply::failed(errors),
        };
        let graphs: Vec<_> = c
            .lowered
            .graphs
            .iter()
            .filter(|g| g.workflow == self.program.workflow)
            .collect();
        let env = |name: &str| std::env::var(name).ok();
        match crate::runtime::plan::plan(
            &c.lowered,
            &c.sources,
            &graphs,
            &crate::runtime::params::Inputs::default(),
            &env,
        ) {
            Ok(text) => Reply::out(text),
            Err(errors) => {
                let mut diags = Diagnostics::new();
                for e in errors {
                    diags.error(c.root, e);
                }
                Reply::failed(self.render(&diags, &c.sources, c.root, &c.asm))
            }
        }
    }

    /// `:run [STEP]`: runs the whole workflow, or only `step` and the steps it needs, with
    /// the live progress of `flowc run` on stderr. The results are kept, so that
    /// expressions can read them afterwards.
    fn run(&mut self, step: Option<&str>) -> Reply {
        let full = match self.compile(None, None) {
            Ok(c) => c,
            Err(errors) => return Reply::failed(errors),
        };
        let only = match step {
            None => None,
            Some(step) => match self.needed_steps(&full, step) {
                Ok(set) => Some(set),
                Err(err) => return self.report(err),
            },
        };
        let compiled = match only {
            None => full,
            Some(set) => match self.compile(None, Some(&set)) {
                Ok(c) => c,
                Err(errors) => return Reply::failed(errors),
            },
        };
        let workflow = self.program.workflow.clone();
        let params = match driver::resolve_params(
            compiled.root,
            &compiled.lowered,
            &workflow,
            &crate::runtime::params::Inputs::default(),
        ) {
            Ok(params) => params,
            Err(diags) => {
                let text: String = diags
                    .iter()
                    .map(|d| diagnostics::render(d, &compiled.sources, Format::Human, self.opts))
                    .collect();
                return Reply::failed(text);
            }
        };
        // Expressions typed after the run read every step's result.
        let launch = driver::Launch {
            keep_records: true,
            ..driver::Launch::default()
        };
        let (code, report) = (self.runner.0)(compiled.lowered, &workflow, params, &launch);
        if let Some(report) = report {
            for s in report.steps {
                self.results.insert(s.name, s.record);
            }
        }
        Reply {
            ok: code == driver::EXIT_OK,
            ..Reply::default()
        }
    }

    /// `step` and every step it waits for or falls back on, transitively.
    fn needed_steps(&self, c: &Compiled, step: &str) -> Result<BTreeSet<String>, ReplError> {
        let info = c.lowered.program.workflow(&self.program.workflow);
        let steps = info.map(|i| i.steps.as_slice()).unwrap_or_default();
        let Some(start) = steps.iter().position(|s| s.name == step) else {
            let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
            let help = did_you_mean(step, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| {
                    (!names.is_empty()).then(|| format!("its steps are: {}", names.join(", ")))
                });
            return Err(ReplError::UnknownStep {
                step: step.to_string(),
                workflow: self.program.workflow.clone(),
                help,
            });
        };
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(i) = todo.pop() {
            if !seen.insert(steps[i].name.clone()) {
                continue;
            }
            todo.extend(steps[i].deps.iter().map(|d| d.step.index()));
            todo.extend(steps[i].fallbacks().map(|l| l.step.index()));
        }
        Ok(seen)
    }

    fn vars(&mut self) -> Reply {
        let c = match self.compile(None, None) {
            Ok(c) => c,
            Err(errors) => return Reply::failed(errors),
        };
        let known = self.values(&c);
        let defs: Vec<Def> = self
            .program
            .items
            .iter()
            .chain(&self.program.params)
            .chain(&self.program.body)
            .filter(|d| {
                !matches!(
                    d.kind,
                    Kind::Defaults | Kind::Outputs | Kind::Concurrency | Kind::Setting
                )
            })
            .cloned()
            .collect();
        let mut out = String::new();
        for def in defs {
            let line = match def.kind {
                Kind::Task | Kind::Workflow | Kind::Import | Kind::Policy => {
                    format!("{} {}", def.kind.word(), def.name)
                }
                _ => {
                    let ty = self
                        .type_of_name(&def.name)
                        .map_or_else(|| "?".to_string(), |t| t.to_string());
                    let failed = known.failed.borrow();
                    match known.values.get(&def.name) {
                        Some(v) => format!("{} : {ty} = {v}", def.name),
                        None if def.kind == Kind::Step => format!("{} : {ty}", def.name),
                        None if failed.contains_key(&def.name) => format!(
                            "{} : {ty} (cannot be evaluated: {})",
                            def.name, failed[&def.name]
                        ),
                        None => format!("{} : {ty} (not known before the run)", def.name),
                    }
                }
            };
            out.push_str(&line);
            out.push('\n');
        }
        if out.is_empty() {
            out = "nothing is defined yet".to_string();
        }
        Reply::out(out)
    }

    fn doc(&self, name: &str) -> Reply {
        if let Some(b) = crate::stdlib::builtins::lookup(name) {
            let params: Vec<String> = b
                .params
                .iter()
                .enumerate()
                .map(|(i, (p, t))| {
                    let optional = i >= b.params.len() - b.optional;
                    format!("{p}: {}{}", sig_name(*t), if optional { "?" } else { "" })
                })
                .collect();
            return Reply::out(format!(
                "function {}({}) -> {}\n  {}",
                b.name,
                params.join(", "),
                sig_name(b.ret),
                b.doc()
            ));
        }
        let c = match self.compile(None, None) {
            Ok(c) => c,
            Err(errors) => return Reply::failed(errors),
        };
        let Some(root) = c.lowered.modules.len().checked_sub(1) else {
            return Reply::failed(String::new());
        };
        let modules = &c.lowered.modules;
        let imports = imports_of(&c.lowered.program, root);
        let (module, member) = match name.split_once('.') {
            Some((alias, member)) => match imports.get(alias) {
                Some(&m) => (m, member),
                None => (root, name),
            },
            None => (root, name),
        };
        let m = &modules[module];
        if member == name && imports.contains_key(name) {
            let mut out = format!("module `{name}` ({})\n", modules[imports[name]].key);
            let mut members: Vec<String> = modules[imports[name]]
                .tasks
                .values()
                .chain(modules[imports[name]].workflows.values())
                .map(|s| format!("  {}", signature_line(s)))
                .collect();
            members.sort();
            out.push_str(&members.join("\n"));
            return Reply::out(out);
        }
        if let Some(sig) = m.tasks.get(member).or_else(|| m.workflows.get(member)) {
            return Reply::out(with_docs(signature_line(sig), &sig.docs));
        }
        let workflow = (module == root).then_some(self.program.workflow.as_str());
        if let Some(found) = find_docs(&c.lowered.program, module, workflow, member) {
            return Reply::out(found);
        }
        let mut names = self.names.names.clone();
        names.extend(
            crate::stdlib::builtins::BUILTINS
                .iter()
                .map(|b| b.name.to_string()),
        );
        let help = did_you_mean(name, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"));
        self.report(ReplError::UnknownName {
            name: name.to_string(),
            help,
        })
    }

    /// Recomputes the names the frontend completes.
    fn refresh_names(&mut self) {
        let mut names = Names::default();
        names.fields.insert(
            "workflow".to_string(),
            vec!["name".into(), "status".into(), "run_id".into()],
        );
        let Ok(c) = self.compile(None, None) else {
            return;
        };
        let Some(root) = c.lowered.modules.len().checked_sub(1) else {
            return;
        };
        let module = &c.lowered.modules[root];
        for (alias, m) in imports_of(&c.lowered.program, root) {
            let m = &c.lowered.modules[m];
            let mut members: Vec<String> = m
                .tasks
                .keys()
                .chain(m.workflows.keys())
                .chain(m.consts.keys())
                .cloned()
                .collect();
            members.sort();
            names.fields.insert(alias.clone(), members);
            names.names.push(alias);
        }
        names.names.extend(module.tasks.keys().cloned());
        names.names.extend(module.consts.keys().cloned());
        for def in self.program.params.iter().chain(&self.program.body) {
            if !matches!(
                def.kind,
                Kind::Defaults | Kind::Outputs | Kind::Concurrency | Kind::Setting
            ) {
                names.names.push(def.name.clone());
            }
        }
        if let Some(wf) = c.lowered.program.workflow(&self.program.workflow) {
            for step in &wf.steps {
                let gate = matches!(step.action, typed::Action::Approve(_));
                let gate_fields = if gate { check::types::GATE_FIELDS } else { &[] };
                let fields: Vec<String> = (check::types::STEP_FIELDS.iter())
                    .chain(gate_fields)
                    .map(|f| f.to_string())
                    .chain(step.outputs.iter().map(|o| o.name.clone()))
                    .collect();
                names.fields.insert(step.name.clone(), fields);
            }
        }
        names.names.sort();
        names.names.dedup();
        self.names = names;
    }
}

/// The values known before a run, and the parameters and bindings that failed to
/// evaluate (an `env` of an unset variable), with why: reading one gives its error rather
/// than "not known before the run".
#[derive(Debug, Default)]
struct Known {
    /// Parameters, bindings and the step results of the last `:run`, by name.
    values: BTreeMap<String, Value>,
    /// Every module's constants.
    consts: Constants,
    /// The workflow's step names, by id.
    steps: Vec<String>,
    failed: std::cell::RefCell<BTreeMap<String, EvalError>>,
}

impl Scope for Known {
    fn value(&self, name: &Ref) -> Result<Value, EvalError> {
        let named = match name {
            Ref::Param(n) | Ref::Binding(n) => n.as_str(),
            Ref::Step(id) | Ref::Instance(id) => match self.steps.get(id.index()) {
                Some(n) => n.as_str(),
                None => return Err(EvalError::Pending),
            },
            Ref::Const { module, name } => {
                return self
                    .consts
                    .get(*module, name)
                    .cloned()
                    .ok_or(EvalError::Pending)
            }
            Ref::Arg(_) | Ref::Local(_) => return Err(EvalError::Pending),
        };
        if let Some(v) = self.values.get(named) {
            return Ok(v.clone());
        }
        // Each failure is reported once per evaluation; a second read is only pending.
        match self.failed.borrow_mut().remove(named) {
            Some(e) => Err(e),
            None => Err(EvalError::Pending),
        }
    }
}

/// The modules that module `index` imports, by alias.
fn imports_of(program: &typed::Program, index: usize) -> std::collections::HashMap<String, usize> {
    program
        .modules
        .get(index)
        .map(|m| m.imports.iter().cloned().collect())
        .unwrap_or_default()
}

/// The docs of a constant of module `module`, or of a parameter, binding or step of the
/// session's workflow `workflow` (given when `module` is the root file).
fn find_docs(
    program: &typed::Program,
    module: usize,
    workflow: Option<&str>,
    name: &str,
) -> Option<String> {
    if let Some(c) = program
        .modules
        .get(module)
        .and_then(|m| m.consts.iter().find(|c| c.name == name))
    {
        return Some(with_docs(format!("constant {name}"), &c.docs));
    }
    let wf = program.workflow(workflow?)?;
    if let Some(p) = wf.params.iter().find(|p| p.name == name) {
        return Some(with_docs(format!("parameter {name}"), &p.docs));
    }
    if let Some(b) = wf.bindings.iter().find(|b| b.name == name) {
        let kind = if b.secret { "secret" } else { "let" };
        return Some(with_docs(format!("{kind} {name}"), &b.docs));
    }
    let step = wf.step_named(name)?;
    let mut head = format!("step {name}");
    let outputs: Vec<&str> = step.outputs.iter().map(|o| o.name.as_str()).collect();
    if !outputs.is_empty() {
        let _ = write!(head, " (outputs: {})", outputs.join(", "));
    }
    Some(with_docs(head, &step.docs))
}

fn with_docs(head: String, docs: &[String]) -> String {
    if docs.is_empty() {
        return format!("{head}\n  (no documentation)");
    }
    let body: Vec<String> = docs.iter().map(|l| format!("  {}", l.trim())).collect();
    format!("{head}\n{}", body.join("\n"))
}

fn signature_line(sig: &check::Signature) -> String {
    let params: Vec<String> = sig
        .params
        .iter()
        .map(|p| {
            format!(
                "{}: {}{}",
                p.name,
                p.ty,
                if p.has_default { "?" } else { "" }
            )
        })
        .collect();
    let mut line = format!("{} {}({})", sig.kind, sig.name, params.join(", "));
    if !sig.outputs.is_empty() {
        let outs: Vec<String> = sig
            .outputs
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        let _ = write!(line, " -> {{ {} }}", outs.join(", "));
    }
    line
}

fn sig_name(sig: crate::stdlib::builtins::Sig) -> &'static str {
    use crate::stdlib::builtins::Sig;
    match sig {
        Sig::Str => "string",
        Sig::Int => "int",
        Sig::Float => "float",
        Sig::Bool => "bool",
        Sig::Dur => "duration",
        Sig::Scalar => "string|int|float|bool|duration",
        Sig::Sized => "string|list<A>|map<A>",
        Sig::ListStr => "list<string>",
        Sig::ListA => "list<A>",
        Sig::MapA => "map<A>",
        Sig::A => "A",
        Sig::ElemOfFirst => "element",
        Sig::Data => "any type but secret",
        Sig::Secret => "secret",
    }
}

/// Renders diagnostics against the files they point into, errors and warnings alike.
fn render_plain(diags: &Diagnostics, sources: &SourceMap, opts: RenderOptions) -> String {
    diags
        .iter()
        .map(|d| diagnostics::render(d, sources, Format::Human, opts))
        .collect()
}

/// The origins' texts as source files, made once per rendering of many diagnostics (a
/// file with 20,000 errors was copied and indexed 20,000 times).
type OriginFiles = std::collections::HashMap<usize, (SourceMap, SourceId)>;

/// The text of `:help`.
fn help() -> String {
    let mut out = String::from(
        "Type an expression to see its value and type, or a definition to add it:\n  \
         let x = 1    secret s = env(\"S\")    param n: int = 2    step a { run \"echo hi\" }\n  \
         task t(x: string) { run \"echo ${x}\" }    import \"std/http\" as http\n\
         Redefining a name replaces it. Input goes on while a brace, bracket or string is open.\n\
         Commands:\n",
    );
    for (name, arg, what) in COMMANDS {
        let _ = writeln!(out, "  {:<22} {what}", format!("{name} {arg}"));
    }
    out
}

/// The first word of an input, after doc and plain comments.
fn first_word(text: &str) -> &str {
    let mut rest = text.trim_start();
    while rest.starts_with("//") {
        rest = rest.find('\n').map_or("", |i| &rest[i + 1..]).trim_start();
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Whether the input is a run setting (`timeout 1h`, `max_failures 3`) rather than an
/// expression reading a name spelt like one (`timeout * 2`): its keyword is followed by
/// the start of a value, not by an operator or the end.
fn is_setting(text: &str) -> bool {
    let word = first_word(text);
    let start = text.find(word).map_or(text.len(), |i| i + word.len());
    text[start..]
        .trim_start()
        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '"' || c == '(')
        && text[start..].starts_with(char::is_whitespace)
}

/// Whether the input starts with `workflow.` (a field of the running workflow).
fn is_workflow_field(text: &str) -> bool {
    let rest = text.trim_start();
    rest.find("workflow")
        .map(|i| rest[i + "workflow".len()..].trim_start().starts_with('.'))
        .unwrap_or(false)
}

fn is_comment(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with("//")
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Whether `text` still has an open brace, bracket, parenthesis or string (including
/// `${...}` inside a string), so that the REPL reads another line before answering. A
/// closing delimiter without an opening one ends the input: the parser reports it.
pub fn is_incomplete(text: &str) -> bool {
    let bytes = text.as_bytes();
    // `"` for a string, `$` for an interpolation, otherwise the opening delimiter.
    let mut stack: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if stack.last() == Some(&b'"') {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    stack.push(b'$');
                    i += 1;
                }
                _ => {}
            }
        } else {
            match b {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'"' | b'(' | b'[' | b'{' => stack.push(b),
                b')' | b']' | b'}' => {
                    let Some(_) = stack.pop() else { return false };
                }
                _ => {}
            }
        }
        i += 1;
    }
    !stack.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::new(RenderOptions {
            color: false,
            width: 80,
        })
    }

    fn ok(s: &mut Session, input: &str) -> String {
        let reply = s.input(input);
        assert!(reply.ok, "{input} failed:\n{}", reply.errors);
        reply.output
    }

    fn fails(s: &mut Session, input: &str) -> String {
        let reply = s.input(input);
        assert!(!reply.ok, "{input} succeeded: {}", reply.output);
        reply.errors
    }

    #[test]
    fn expressions_show_value_and_type() {
        let mut s = session();
        assert_eq!(ok(&mut s, r#"len(["a", "b"]) * 2"#), "4 : int\n");
        assert_eq!(ok(&mut s, "1.5 + 1"), "2.5 : float\n");
        assert_eq!(ok(&mut s, "2s * 3"), "6s : duration\n");
        assert_eq!(
            ok(&mut s, r#"{ a: [1, 2] }"#),
            "{ a: [1, 2] } : map<list<int>>\n"
        );
        assert_eq!(ok(&mut s, ":type \"x\" + \"y\""), "string\n");
    }

    #[test]
    fn definitions_build_up_and_replace() {
        let mut s = session();
        assert_eq!(ok(&mut s, "let x = 20"), "defined let `x` : int\n");
        assert_eq!(
            ok(&mut s, "param n: int = 2"),
            "defined parameter `n` : int\n"
        );
        assert_eq!(ok(&mut s, "x + n"), "22 : int\n");
        assert_eq!(ok(&mut s, "let x = \"a\""), "redefined let `x` : string\n");
        assert_eq!(ok(&mut s, "x"), "\"a\" : string\n");
        assert_eq!(
            ok(&mut s, "secret token = env(\"NOPE_UNSET\", \"s3\")"),
            "defined secret `token` : secret\n"
        );
        assert_eq!(ok(&mut s, "token"), "*** : secret\n");
        assert_eq!(
            ok(
                &mut s,
                "step build {\n  run \"echo hi\"\n  outputs { digest: string }\n}"
            ),
            "defined step `build`\n"
        );
        assert_eq!(ok(&mut s, ":type build.digest"), "string\n");
        assert_eq!(
            ok(&mut s, "build.digest"),
            "? : string (not known before the run)\n"
        );
        assert_eq!(
            ok(&mut s, "task t(m: string) { run \"echo ${m}\" }"),
            "defined task `t`\n"
        );
        assert!(s.names().names.contains(&"build".to_string()));
        assert!(s.names().fields["build"].contains(&"digest".to_string()));
    }

    #[test]
    fn a_redefinition_that_breaks_a_dependent_is_refused() {
        let mut s = session();
        ok(&mut s, "let n = 3");
        ok(&mut s, "step a when n > 2 { run \"echo\" }");
        let errors = fails(&mut s, "let n = \"three\"");
        assert!(
            errors.contains("E0201") || errors.contains("error["),
            "{errors}"
        );
        // Points into the step's own input, not the assembled file.
        assert!(errors.contains("<repl:2>"), "{errors}");
        assert!(errors.ends_with("nothing was defined: the program would not check\n"));
        assert_eq!(ok(&mut s, "n"), "3 : int\n");
    }

    #[test]
    fn errors_point_into_the_line_just_typed() {
        let mut s = session();
        ok(&mut s, "let x = 1");
        let errors = fails(&mut s, "x + y");
        assert!(errors.contains("error[E0101]"), "{errors}");
        assert!(errors.contains("<repl:2>:1:5"), "{errors}");
        assert!(errors.contains("x + y"), "{errors}");
        let errors = fails(&mut s, "1 +");
        assert!(errors.contains("<repl:3>"), "{errors}");
        let errors = fails(&mut s, "step b { run 42 }");
        assert!(errors.contains("<repl:4>:1:14"), "{errors}");
        // The session goes on.
        assert_eq!(ok(&mut s, "x"), "1 : int\n");
    }

    #[test]
    fn runtime_errors_are_diagnostics_too() {
        let mut s = session();
        let errors = fails(&mut s, "1 / 0");
        assert!(errors.contains("E0420"), "{errors}");
        // A binding that cannot be evaluated says why, where it was defined.
        ok(
            &mut s,
            "secret s = env(\"FLOWC_TEST_SURELY_UNSET_VARIABLE\")",
        );
        let errors = fails(&mut s, "s");
        assert!(errors.contains("E0422"), "{errors}");
        assert!(errors.contains("<repl:2>:1:12"), "{errors}");
        assert!(ok(&mut s, ":vars").contains("s : secret (cannot be evaluated: `env` failed"));
    }

    #[test]
    fn commands() {
        let mut s = session();
        assert!(ok(&mut s, ":help").contains(":run [STEP|all]"));
        assert!(ok(&mut s, ":explain E0101").starts_with("# E0101"));
        assert!(fails(&mut s, ":explain X1").contains("E0474"));
        assert!(fails(&mut s, ":typo").contains("E0470"));
        assert!(fails(&mut s, ":type").contains("E0471"));
        assert!(fails(&mut s, ":reload").contains("E0475"));
        assert!(fails(&mut s, ":doc nothing_here").contains("E0473"));
        assert!(ok(&mut s, ":doc len").starts_with("function len("));
        ok(&mut s, "/// The answer.\nlet answer = 42");
        assert_eq!(ok(&mut s, ":doc answer"), "let answer\n  The answer.\n");
        ok(&mut s, "step a { run \"echo a\" }");
        ok(&mut s, "step b after a { run \"echo b\" }");
        assert_eq!(
            ok(&mut s, ":graph"),
            "workflow repl\n  step a\n  step b\n    <- a (after)\n"
        );
        assert!(ok(&mut s, ":plan").contains("2. b  after a"));
        assert!(fails(&mut s, ":run c").contains("E0472"));
        assert!(ok(&mut s, ":vars").contains("answer : int = 42"));
        // `answer` is never read: the warning points into the input that defined it.
        let reply = s.input(":check");
        assert_eq!(reply.output, "1 warning\n");
        assert!(reply.errors.contains("warning[W0001]"), "{}", reply.errors);
        assert!(reply.errors.contains("<repl:9>:2:5"), "{}", reply.errors);
        ok(&mut s, ":reset");
        assert_eq!(ok(&mut s, ":vars"), "nothing is defined yet\n");
        assert_eq!(ok(&mut s, ":check"), "no problems found\n");
        assert!(s.input(":quit").quit);
    }

    #[test]
    fn loading_a_file() {
        let mut s = session();
        let root = env!("CARGO_MANIFEST_DIR");
        let out = ok(&mut s, &format!(":load {root}/examples/deploy.flow"));
        assert!(out.starts_with("loaded `"), "{out}");
        assert!(out.contains("workflow `deploy`"), "{out}");
        assert_eq!(ok(&mut s, ":type build.digest"), "string\n");
        assert_eq!(ok(&mut s, "target == \"prod\""), "false : bool\n");
        assert!(ok(&mut s, ":doc http").contains("wait_ok"));
        assert!(s.names().fields.contains_key("http"));
        let errors = fails(&mut s, ":load /surely/not/here.flow");
        assert!(errors.contains("E0010"), "{errors}");
        // The failed load kept the program.
        assert_eq!(ok(&mut s, ":type build.digest"), "string\n");
        let errors = fails(
            &mut s,
            &format!(":load {root}/examples/broken/typo-in-after.flow"),
        );
        assert!(errors.contains("typo-in-after.flow:15:19"), "{errors}");
        assert!(ok(&mut s, ":reload").contains("deploy"));
    }

    #[test]
    fn running_a_step_keeps_its_results() {
        let mut s = session();
        ok(
            &mut s,
            "step hi { run \"printf 'n=7\\n' > \\\"$FLOW_OUTPUT\\\"\"\n outputs { n: int } }",
        );
        ok(&mut s, "step other { run \"false\" }");
        let reply = s.input(":run hi");
        assert!(reply.ok, "{}", reply.errors);
        assert_eq!(ok(&mut s, "hi.n + 1"), "8 : int\n");
        assert_eq!(ok(&mut s, "hi.status"), "\"succeeded\" : string\n");
        let reply = s.input(":run all");
        assert!(!reply.ok);
    }

    #[test]
    fn a_matrix_and_a_chain_are_shown_and_run() {
        let mut s = session();
        ok(
            &mut s,
            "step t for a in [1, 2] for b in [\"x\", \"y\", \"z\"] { run \"echo ${a}${b}\" }",
        );
        ok(
            &mut s,
            "step c for r in t { run \"echo ${r.a} ${r.b} ${r.status}\" }",
        );
        assert_eq!(ok(&mut s, ":type t.exit_code"), "list<int>\n");
        assert_eq!(
            ok(&mut s, ":graph"),
            "workflow repl\n  step t [fan-out]\n  step c [fan-out]\n    <- t (per instance)\n"
        );
        assert!(ok(&mut s, ":plan").contains(
            "c  reads t · per instance: t[i,j] → c[i,j] · for r in t: one per instance of t"
        ));
        let reply = s.input(":run all");
        assert!(reply.ok, "{}", reply.errors);
        assert_eq!(ok(&mut s, "len(c.stdout)"), "6 : int\n");
        assert_eq!(
            ok(&mut s, "trim(c.stdout[5])"),
            "\"2 z succeeded\" : string\n"
        );
    }

    #[test]
    fn hostile_input_gives_diagnostics_not_panics() {
        let mut s = session();
        let inputs = [
            "}",
            "{",
            "step",
            "param",
            "param x",
            "let",
            "secret s = 1",
            "workflow",
            "let x = 1 } workflow y {",
            "step a { run \"x\" } }",
            "import \"nope\" as n",
            "task",
            ":load /",
            ":load examples",
            ":run",
            ":doc",
            ":doc a.b.c",
            ":type )",
            "\"\\u{110000}\"",
            "é",
            "9999999999999999999999",
            "[[[[[[[[[[[[1]]]]]]]]]]]]",
            "let __repl_probe = 1",
            "__repl_probe",
            ":explain",
            "defaults { timeout 1 }",
            "finally",
            "workflow w { step a { run \"x\" } }",
            "workflow.status",
        ];
        for input in inputs {
            let reply = s.input(input);
            assert!(
                reply.ok || !reply.errors.is_empty(),
                "{input}: no diagnostic"
            );
        }
        assert_eq!(ok(&mut s, "1 + 1"), "2 : int\n");
        assert_eq!(ok(&mut s, ":type workflow.status"), "string\n");
    }

    #[test]
    fn open_delimiters_continue_the_input() {
        assert!(is_incomplete("step a {"));
        assert!(is_incomplete("[1,\n2"));
        assert!(is_incomplete("\"abc"));
        assert!(is_incomplete("\"a ${ {"));
        assert!(!is_incomplete("\"a ${x} }\""));
        assert!(!is_incomplete("step a { run \"}\" } // {"));
        assert!(!is_incomplete("}"));
        assert!(!is_incomplete("\"\\\"\""));
    }
}
