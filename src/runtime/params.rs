//! A workflow's inputs: the value of each parameter for one run (or plan), from its default,
//! a vars file, `FLOW_VAR_<name>` environment variables and `--var name=value` flags.
//!
//! Precedence, lowest first, as in Terraform: the parameter's **default**, then the **vars
//! file** (`--vars-file F`: JSON, TOML or YAML, see [`super::vars_file`]), then
//! **`FLOW_VAR_<name>`** environment variables, then **`--var name=value`** flags, where a
//! later flag wins over an earlier one. A parameter without a default must get a value from
//! one of the others (E0432).
//!
//! Text values (flags and environment variables) are read against the declared type:
//! `string` and `secret` as they are, `int`, `float`, `bool` (`true`/`false`), `duration`
//! with units as in the language (`90s`, `1h30m`), and `list<T>`/`map<T>` as JSON
//! (`--var 'regions=["eu","us"]'`). Vars-file values are typed by their file's syntax and
//! checked against the type (an `int` must be a whole number; durations are strings such as
//! `"5m"`; `null` means "not set here"), except YAML's plain scalars, which are read as the
//! declared type. Every bad input is reported, not just the first: a name no parameter has
//! (E0430), a value that does not fit (E0431), a missing required value (E0432), an
//! unusable vars file (E0433), a vars file of a kind flowc does not read (E0434). Errors
//! about the vars file point into it: it is added to the [`SourceMap`] when it is loaded,
//! and [`diagnostics`] files each error under the file its span is in.
//!
//! Defaults are typed expressions of the resolved program, evaluated over the constants of
//! every module ([`Constants`], each found by its module's identity) and the parameters
//! before them; a default that cannot be computed before the run (it calls `git_sha()`) is
//! left out of the result, so looking it up gives [`EvalError::Pending`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use miette::{LabeledSpan, SourceSpan};

use crate::check::Type;
use crate::diagnostics::{did_you_mean, Diagnostics};
use crate::source::{SourceFile, SourceId, SourceMap};
use crate::typed::{self, Program, Ref};

use super::eval::{eval_typed, EvalError, Scope, Value};
use super::vars_file::{self, Data, Entry, Kind, Node};

/// Looks up an environment variable of the flowc process (injected, so tests and plans can
/// control it).
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The prefix of environment variables that set parameters: `FLOW_VAR_target`.
pub const ENV_PREFIX: &str = "FLOW_VAR_";

/// A value that cannot be used as an input.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InputError {
    /// A `--var`, `FLOW_VAR_` or vars-file entry for a parameter that does not exist.
    #[error("unknown parameter `{name}` for {scope} (given by {origin})")]
    #[diagnostic(code(E0430))]
    UnknownParam {
        /// The name given.
        name: String,
        /// Where it was looked for: "workflow `deploy`", "workflows `a`, `b`".
        scope: String,
        /// Where the name came from.
        origin: Origin,
        /// Did you mean, or the parameters there are.
        #[help]
        help: Option<String>,
        /// The key in the vars file.
        #[label("not a parameter of {scope}")]
        at: Option<InFile>,
    },

    /// A value that does not fit the parameter's type.
    #[error(transparent)]
    #[diagnostic(transparent)]
    BadValue(Box<BadValue>),

    /// A parameter without a default that got no value.
    #[error("parameter `{name}` of workflow `{workflow}` has no value")]
    #[diagnostic(code(E0432))]
    Missing {
        /// The parameter.
        name: String,
        /// Its type.
        ty: String,
        /// The workflow.
        workflow: String,
        /// How to give one.
        #[help]
        help: Option<String>,
    },

    /// A vars file that cannot be read, does not parse, or is not a map of names to values.
    #[error("cannot use vars file `{name}`: {reason}")]
    #[diagnostic(code(E0433))]
    VarsFile {
        /// The file as given.
        name: String,
        /// Why.
        reason: String,
        /// Advice.
        #[help]
        help: Option<String>,
        /// Where in the file, when it was read.
        #[label(collection)]
        labels: Vec<LabeledSpan>,
        /// The vars file the labels point into.
        file: Option<SourceId>,
    },

    /// A vars file whose extension names no kind flowc reads.
    #[error(
        "cannot use vars file `{name}`: flowc reads {}, chosen by the extension",
        vars_file::SUPPORTED
    )]
    #[diagnostic(
        code(E0434),
        help("name the file after its format (`vars.yaml`), or convert it to one of these")
    )]
    VarsFileKind {
        /// The file as given.
        name: String,
    },

    /// A default that failed to evaluate (an unset `env(NAME)` without a default, ...);
    /// its spans point into the workflow's file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Default(EvalError),
}

/// A value that does not fit its parameter's type (E0431).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("bad value for parameter `{name}` from {origin}: {reason}")]
#[diagnostic(code(E0431))]
pub struct BadValue {
    /// The parameter.
    pub name: String,
    /// Its declared type.
    pub ty: String,
    /// Where the value came from.
    pub origin: Origin,
    /// What is wrong (never shows a secret's text).
    pub reason: String,
    /// How values of the type are written.
    #[help]
    pub help: Option<String>,
    /// The value in the vars file (the element that does not fit, in a list or map).
    #[label("`{name}` is declared `{ty}`")]
    pub at: Option<InFile>,
}

/// A place in the vars file: its text in the source map, and a span of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFile {
    /// The vars file.
    pub file: SourceId,
    /// The place in it.
    pub span: crate::source::Span,
}

impl From<InFile> for SourceSpan {
    fn from(at: InFile) -> SourceSpan {
        at.span.into()
    }
}

impl InputError {
    /// The vars file this error's labels point into, if they point into one.
    pub fn file(&self) -> Option<SourceId> {
        match self {
            InputError::UnknownParam { at, .. } => at.map(|a| a.file),
            InputError::BadValue(bad) => bad.at.map(|a| a.file),
            InputError::VarsFile { file, .. } => *file,
            _ => None,
        }
    }
}

/// The diagnostics of input errors: each against the vars file its labels point into, or
/// else `root`, the workflow's file.
pub fn diagnostics(errors: Vec<InputError>, root: SourceId) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for e in errors {
        diags.error(e.file().unwrap_or(root), e);
    }
    diags
}

/// Where an input value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The parameter's default.
    Default,
    /// The vars file, by the name it was given as.
    VarsFile(String),
    /// A `FLOW_VAR_<name>` environment variable.
    Env(String),
    /// A `--var` flag.
    Flag,
}

impl Origin {
    /// A short form for listings: `--var`, `FLOW_VAR_target`, `vars.json`, `default`.
    pub fn short(&self) -> &str {
        match self {
            Origin::Default => "default",
            Origin::VarsFile(f) => f,
            Origin::Env(v) => v,
            Origin::Flag => "--var",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("its default"),
            Origin::VarsFile(file) => write!(f, "vars file `{file}`"),
            Origin::Env(var) => write!(f, "environment variable `{var}`"),
            Origin::Flag => f.write_str("`--var`"),
        }
    }
}

/// One declared parameter of a workflow.
#[derive(Clone, Debug)]
pub struct Param<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its checked type.
    pub ty: &'a Type,
    /// Its default, if any.
    pub default: Option<&'a typed::Expr>,
}

/// A workflow's parameters, in declaration order.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    /// The workflow's name.
    pub workflow: &'a str,
    /// Its parameters.
    pub params: Vec<Param<'a>>,
}

impl<'a> Params<'a> {
    /// The parameters of workflow `name` of the root file.
    pub fn of(program: &'a Program, name: &str) -> Option<Params<'a>> {
        let wf = program.workflow(name)?;
        let params = wf
            .params
            .iter()
            .map(|p| Param {
                name: &p.name,
                ty: &p.ty,
                default: p.default.as_ref(),
            })
            .collect();
        Some(Params {
            workflow: &wf.name,
            params,
        })
    }

    /// The parameter names, in order.
    pub fn names(&self) -> Vec<&'a str> {
        self.params.iter().map(|p| p.name).collect()
    }
}

/// Values given from outside: `--var` flags and a loaded vars file. (`FLOW_VAR_`
/// variables are looked up per parameter when resolving.)
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `--var name=value` pairs, in command-line order.
    pub vars: Vec<(String, String)>,
    /// The vars file, if one was given.
    pub file: Option<VarsFile>,
}

/// A loaded vars file.
#[derive(Clone, Debug)]
pub struct VarsFile {
    /// The file as it was given.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its text, in the source map it was loaded into.
    pub source: SourceId,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

impl VarsFile {
    /// The value given for `name`, unless it is `null` (not set).
    fn get(&self, name: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|e| e.key == name)
            .map(|e| &e.value)
            .filter(|v| !v.is_null())
    }
}

impl Inputs {
    /// Takes the `--var` pairs and reads the vars file, adding its text to `sources` so that
    /// errors can point into it (E0433 when it cannot be used, E0434 for an extension
    /// flowc does not read). The values of the keys named in `secrets` (the `secret`
    /// parameters, [`secret_names`]) are masked in that text, so that no excerpt shows them.
    pub fn load(
        vars: Vec<(String, String)>,
        vars_file: Option<&Path>,
        secrets: &[&str],
        sources: &mut SourceMap,
    ) -> Result<Inputs, InputError> {
        let file = vars_file
            .map(|path| read_vars_file(path, secrets, sources))
            .transpose()?;
        Ok(Inputs { vars, file })
    }

    /// E0430 for every `--var` and vars-file name not in `declared`; `scope` names where
    /// they were looked for ("workflow `deploy`", "workflows `a`, `b`").
    pub fn unknown(&self, scope: &str, declared: &[&str]) -> Vec<InputError> {
        let mut errors = Vec::new();
        let mut report = |name: &str, origin: Origin, at: Option<InFile>| {
            if declared.contains(&name) {
                return;
            }
            let help = match did_you_mean(name, declared.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if declared.is_empty() => "it takes no parameters".to_string(),
                None => format!("the parameters are: {}", declared.join(", ")),
            };
            errors.push(InputError::UnknownParam {
                name: name.to_string(),
                scope: scope.to_string(),
                origin,
                help: Some(help),
                at,
            });
        };
        if let Some(file) = &self.file {
            for e in &file.entries {
                report(
                    &e.key,
                    Origin::VarsFile(file.name.clone()),
                    Some(InFile {
                        file: file.source,
                        span: e.key_span,
                    }),
                );
            }
        }
        let mut seen = Vec::new();
        for (name, _) in &self.vars {
            if !seen.contains(&name) {
                seen.push(name);
                report(name, Origin::Flag, None);
            }
        }
        errors
    }

    /// The inputs for the names in `declared` only (for one of several workflows).
    pub fn only(&self, declared: &[&str]) -> Inputs {
        Inputs {
            vars: self
                .vars
                .iter()
                .filter(|(n, _)| declared.contains(&n.as_str()))
                .cloned()
                .collect(),
            file: self.file.as_ref().map(|f| VarsFile {
                entries: f
                    .entries
                    .iter()
                    .filter(|e| declared.contains(&e.key.as_str()))
                    .cloned()
                    .collect(),
                ..f.clone()
            }),
        }
    }
}

/// The names of the `secret` parameters (or lists and maps of secrets) of the workflows
/// of `program` named in `workflows`.
pub fn secret_names<'a>(program: &'a Program, workflows: &[&str]) -> Vec<&'a str> {
    program
        .workflows
        .iter()
        .filter(|wf| workflows.contains(&wf.name.as_str()))
        .flat_map(|wf| &wf.params)
        .filter(|p| p.ty.is_secret())
        .map(|p| p.name.as_str())
        .collect()
}

/// Splits a `--var` argument at its first `=`: `regions=["eu"]` is `("regions", "[\"eu\"]")`.
/// The value may be empty; the name may not.
pub fn parse_var(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        Some(_) => Err(format!("`{arg}` has no parameter name before `=`")),
        None => Err(format!("expected NAME=VALUE, found `{arg}`")),
    }
}

/// A resolved parameter: its value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// The value, already of the parameter's type (`secret` parameters hold
    /// [`Value::Secret`]).
    pub value: Value,
    /// Where it came from.
    pub origin: Origin,
}

/// Resolves every parameter of a workflow, applying the precedence described in the
/// [module docs](self). `env` looks up environment variables (`FLOW_VAR_<name>`, and
/// `env()` in defaults); `consts` holds the program's constants ([`Constants::of`]).
pub fn resolve(
    params: &Params<'_>,
    inputs: &Inputs,
    env: EnvFn<'_>,
    consts: &Constants,
) -> Result<BTreeMap<String, Value>, Vec<InputError>> {
    resolve_inputs(params, inputs, env, consts)
        .map(|m| m.into_iter().map(|(k, i)| (k, i.value)).collect())
}

/// [`resolve`] over already loaded [`Inputs`], keeping where each value came from.
pub fn resolve_inputs(
    params: &Params<'_>,
    inputs: &Inputs,
    env: EnvFn<'_>,
    consts: &Constants,
) -> Result<BTreeMap<String, Input>, Vec<InputError>> {
    let mut errors = inputs.unknown(&format!("workflow `{}`", params.workflow), &params.names());
    let mut resolved: BTreeMap<String, Input> = BTreeMap::new();
    // Defaults see the constants and the parameters before them.
    let mut scope: BTreeMap<String, Value> = BTreeMap::new();
    for p in &params.params {
        // Every given value is checked, even one a higher layer overrides.
        let mut value: Option<Input> = None;
        let mut given = |result: Result<Value, Mismatch>, origin: Origin, help: Syntax| match result
        {
            Ok(v) => {
                value = Some(Input { value: v, origin });
            }
            Err(m) => errors.push(InputError::BadValue(Box::new(BadValue {
                name: p.name.to_string(),
                ty: p.ty.to_string(),
                origin,
                reason: m.reason,
                help: type_help(p.ty, help),
                at: m.at,
            }))),
        };
        if let Some(file) = &inputs.file {
            if let Some(node) = file.get(p.name) {
                given(
                    from_node(node, p.ty, file.kind).map_err(|(reason, span)| Mismatch {
                        reason,
                        at: Some(InFile {
                            file: file.source,
                            span,
                        }),
                    }),
                    Origin::VarsFile(file.name.clone()),
                    Syntax::File(file.kind),
                );
            }
        }
        let var = format!("{ENV_PREFIX}{}", p.name);
        if let Some(text) = env(&var) {
            given(
                from_text(&text, p.ty).map_err(Mismatch::text),
                Origin::Env(var),
                Syntax::Text,
            );
        }
        for (_, text) in inputs.vars.iter().filter(|(n, _)| n == p.name) {
            given(
                from_text(text, p.ty).map_err(Mismatch::text),
                Origin::Flag,
                Syntax::Text,
            );
        }
        let value = match (value, p.default) {
            (Some(v), _) => Some(v),
            (None, Some(default)) => {
                let names = Known {
                    values: &scope,
                    args: &[],
                    consts,
                    env,
                };
                match eval_typed(default, &names) {
                    Ok(v) => Some(Input {
                        value: coerce(v, p.ty),
                        origin: Origin::Default,
                    }),
                    Err(EvalError::Pending) => None,
                    Err(e) => {
                        errors.push(InputError::Default(e));
                        None
                    }
                }
            }
            (None, None) => {
                errors.push(InputError::Missing {
                    name: p.name.to_string(),
                    ty: p.ty.to_string(),
                    workflow: params.workflow.to_string(),
                    help: Some(format!(
                        "it has no default: pass `--var {0}=VALUE`, set `{ENV_PREFIX}{0}`, or put it in a vars file",
                        p.name
                    )),
                });
                None
            }
        };
        if let Some(v) = value {
            scope.insert(p.name.to_string(), v.value.clone());
            resolved.insert(p.name.to_string(), v);
        }
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

/// The values of every module's constants, by module index and name: what a typed
/// [`Ref::Const`] reads. A constant that cannot be computed before the run (it calls
/// `git_sha()`), or fails to, is missing, so reading it is [`EvalError::Pending`].
#[derive(Clone, Debug, Default)]
pub struct Constants {
    values: BTreeMap<(usize, String), Value>,
}

impl Constants {
    /// Evaluates the constants of every module of `program`, imports first and each module
    /// in source order (a constant reads only those before it).
    pub fn of(program: &Program, env: EnvFn<'_>) -> Constants {
        let mut consts = Constants::default();
        for (m, module) in program.modules.iter().enumerate() {
            for c in &module.consts {
                let names = Known {
                    values: &BTreeMap::new(),
                    args: &[],
                    consts: &consts,
                    env,
                };
                if let Ok(v) = eval_typed(&c.value, &names) {
                    consts.values.insert((m, c.name.clone()), coerce(v, &c.ty));
                }
            }
        }
        consts
    }

    /// The value of constant `name` of module `module`.
    pub fn get(&self, module: usize, name: &str) -> Option<&Value> {
        self.values.get(&(module, name.to_string()))
    }
}

/// The values known before a run, which what is evaluated then may read: parameters and
/// bindings by name (those resolved so far), a called task's arguments, and the
/// constants; `env()` reads through `env`. Step results and loop variables are pending.
pub struct Known<'a> {
    /// Parameters and bindings.
    pub values: &'a BTreeMap<String, Value>,
    /// A called task's arguments.
    pub args: &'a [(String, Value)],
    /// Every module's constants.
    pub consts: &'a Constants,
    /// The process environment.
    pub env: EnvFn<'a>,
}

impl Scope for Known<'_> {
    fn value(&self, name: &Ref) -> Result<Value, EvalError> {
        match name {
            Ref::Param(n) | Ref::Binding(n) => self.values.get(n).cloned(),
            Ref::Arg(n) => self
                .args
                .iter()
                .find(|(a, _)| a == n)
                .map(|(_, v)| v.clone()),
            Ref::Const { module, name } => self.consts.get(*module, name).cloned(),
            Ref::Step(_) | Ref::Instance(_) | Ref::Local(_) => None,
        }
        .ok_or(EvalError::Pending)
    }

    fn env_var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }
}

/// Gives a value the representation of its declared type: text for a `secret` becomes
/// [`Value::Secret`], an int for a `float` becomes a float, element by element in lists,
/// maps and records.
pub fn coerce(value: Value, ty: &Type) -> Value {
    match (value, ty) {
        (Value::Str(s), Type::Secret) => Value::Secret(s),
        (Value::Int(i), Type::Float) => Value::Float(i as f64),
        (Value::List(items), Type::List(t)) => {
            Value::List(items.into_iter().map(|v| coerce(v, t)).collect())
        }
        (Value::Map(m), Type::Map(t)) => {
            Value::Map(m.into_iter().map(|(k, v)| (k, coerce(v, t))).collect())
        }
        (Value::Record(m), Type::Record(r)) => Value::Record(
            m.into_iter()
                .map(|(k, v)| {
                    let v = match r.field(&k) {
                        Some(t) => coerce(v, t),
                        None => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        (v, _) => v,
    }
}

/// Reads a vars file, of the kind its extension names, and adds its text to `sources`.
fn read_vars_file(
    path: &Path,
    secrets: &[&str],
    sources: &mut SourceMap,
) -> Result<VarsFile, InputError> {
    let name = path.display().to_string();
    let Some(kind) = Kind::of(path) else {
        return Err(InputError::VarsFileKind { name });
    };
    let fail = |reason: String, help: Option<&str>| InputError::VarsFile {
        name: name.clone(),
        reason,
        help: help.map(str::to_string),
        labels: Vec::new(),
        file: None,
    };
    let text = crate::limits::read_file(path, crate::limits::MAX_VARS_FILE_LEN, "a vars file")
        .and_then(|b| String::from_utf8(b).map_err(|_| std::io::ErrorKind::InvalidData.into()))
        .map_err(|e| {
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
                _ if path.is_dir() => "it is a directory".to_string(),
                _ => e.to_string(),
            };
            fail(
                reason,
                Some("check the path; it is relative to the current directory"),
            )
        })?;
    let parsed = vars_file::parse(kind, &text);
    let shown = match &parsed {
        Ok(entries) => masked(text, entries, secrets),
        Err(_) => text,
    };
    let source = sources.add(SourceFile::new(
        name.clone(),
        Some(path.to_path_buf()),
        shown,
    ));
    let text = &sources.get(source).text;
    let entries = parsed.map_err(|e| {
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(e.label),
            SourceSpan::from(on_a_line(e.span, text)),
        )];
        if let Some((span, label)) = e.also {
            labels.push(LabeledSpan::new_with_span(Some(label), span));
        }
        InputError::VarsFile {
            name: name.clone(),
            reason: e.message,
            help: Some(e.help.unwrap_or_else(|| file_help(kind).to_string())),
            labels,
            file: Some(source),
        }
    })?;
    Ok(VarsFile {
        name,
        kind,
        source,
        entries,
    })
}

/// `text` with the values of the keys named in `secrets` replaced by `*`s, byte for byte
/// (line breaks kept), so that every span still points where it did.
fn masked(text: String, entries: &[Entry], secrets: &[&str]) -> String {
    let mut bytes = text.into_bytes();
    for e in entries.iter().filter(|e| secrets.contains(&e.key.as_str())) {
        let span = e.value.span;
        if let Some(value) = bytes.get_mut(span.start as usize..span.end as usize) {
            value
                .iter_mut()
                .filter(|b| !matches!(b, b'\n' | b'\r'))
                .for_each(|b| *b = b'*');
        }
    }
    // Whole characters were replaced, so the text is still UTF-8.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `span`, moved back from the end of the file to the end of its last line: a parser that
/// wanted more says so at the very end, past the final newline, where no line is shown.
fn on_a_line(span: crate::source::Span, text: &str) -> crate::source::Span {
    let end = text.trim_end_matches(['\n', '\r']).len();
    if span.start as usize > end {
        crate::source::Span::new(end, end)
    } else {
        span
    }
}

/// What a vars file of `kind` looks like, for E0433's help.
fn file_help(kind: Kind) -> &'static str {
    match kind {
        Kind::Json => "write a JSON object of parameter names to values: {\"target\": \"prod\", \"regions\": [\"eu\", \"us\"]}",
        Kind::Toml => "write one `name = value` line per parameter: target = \"prod\"",
        Kind::Yaml => "write one `name: value` line per parameter: `target: prod`",
    }
}

/// The syntax a value was written in, for the help of E0431.
#[derive(Clone, Copy)]
enum Syntax {
    /// A `--var` flag or a `FLOW_VAR_` variable.
    Text,
    /// A vars file of this kind.
    File(Kind),
}

/// Why a given value does not fit its parameter, and where it is in the vars file.
struct Mismatch {
    reason: String,
    at: Option<InFile>,
}

impl Mismatch {
    /// A text value's mismatch (it has no place in a file).
    fn text(reason: String) -> Mismatch {
        Mismatch { reason, at: None }
    }
}

/// How values of a type are written, for E0431's help.
fn type_help(ty: &Type, syntax: Syntax) -> Option<String> {
    use Kind::{Json, Toml, Yaml};
    use Syntax::{File, Text};
    let text = match (ty, syntax) {
        (Type::Int, _) => "write a whole number, like `3` or `-7`",
        (Type::Float, _) => "write a number, like `2.5` or `3`",
        (Type::Bool, File(Yaml)) => {
            "write `true` or `false` (YAML 1.2 reads `yes`, `no`, `on` and `off` as text)"
        }
        (Type::Bool, _) => "write `true` or `false`",
        (Type::Duration, Text | File(Yaml)) => {
            "write a duration with a unit, like `30s`, `5m` or `1h30m`"
        }
        (Type::Duration, File(Json | Toml)) => {
            "write a duration as a string with a unit, like \"30s\" or \"1h30m\""
        }
        (Type::List(_), Text) => {
            "write a JSON array, like --var 'regions=[\"eu-west\", \"us-east\"]'"
        }
        (Type::Map(_), Text) => "write a JSON object, like --var 'limits={\"eu\": 4}'",
        (Type::Record(_), Text) => {
            "write a JSON object with every field of the record, like --var 'spec={\"name\": \"web\", \"replicas\": 3}'"
        }
        (Type::Record(_), File(Json)) => {
            "write a JSON object with every field of the record, each of its type"
        }
        (Type::Record(_), File(Toml)) => {
            "write a TOML table with every field of the record, each of its type"
        }
        (Type::Record(_), File(Yaml)) => {
            "write a YAML mapping with every field of the record, each of its type"
        }
        (Type::String | Type::Secret, File(Json)) => "write a JSON string, in double quotes",
        (Type::String | Type::Secret, File(Toml)) => "write a TOML string, in quotes",
        (Type::String | Type::Secret, File(Yaml)) => "write the text, quoted or not",
        (Type::List(_), File(Json)) => "write a JSON array of elements of the declared type",
        (Type::List(_), File(Toml)) => "write a TOML array, like [\"eu\", \"us\"]",
        (Type::List(_), File(Yaml)) => {
            "write a YAML sequence, like [eu, us] or one `- item` a line"
        }
        (Type::Map(_), File(Json)) => "write a JSON object with values of the declared type",
        (Type::Map(_), File(Toml)) => "write a TOML table, like { eu = 4 }",
        (Type::Map(_), File(Yaml)) => {
            "write a YAML mapping, like {eu: 4} or one `key: value` a line"
        }
        _ => return None,
    };
    Some(text.to_string())
}

/// Shows a given value in a message: quoted, and cut short when long.
fn shown(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{:?}...", cut)
    } else {
        format!("{text:?}")
    }
}

/// Reads a `--var` or `FLOW_VAR_` text as a value of `ty`.
fn from_text(text: &str, ty: &Type) -> Result<Value, String> {
    let t = text.trim();
    match ty {
        Type::String | Type::Unknown => Ok(Value::Str(text.to_string())),
        Type::Secret => Ok(Value::Secret(text.to_string())),
        Type::Int => t
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("{} is not an int", shown(text))),
        Type::Float => float(t)
            .map(Value::Float)
            .ok_or_else(|| format!("{} is not a float", shown(text))),
        Type::Bool => match t {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{} is not `true` or `false`", shown(text))),
        },
        Type::Duration => duration(t)
            .map(Value::Duration)
            .map_err(|why| format!("{} is not a duration: {why}", shown(text))),
        Type::Record(r) if !r.is_data() => Err(format!("a {ty} cannot be given as an input")),
        Type::List(_) | Type::Map(_) | Type::Record(_) => {
            let json: serde_json::Value = serde_json::from_str(t).map_err(|e| {
                let what = if matches!(ty, Type::List(_)) {
                    "a JSON array"
                } else {
                    "a JSON object"
                };
                if ty.is_secret() {
                    format!("the value is not {what} ({e})")
                } else {
                    format!("{} is not {what} ({e})", shown(text))
                }
            })?;
            from_node(&Node::from_json(&json), ty, Kind::Json).map_err(|(reason, _)| reason)
        }
        Type::Module(_) => Err(format!("a {ty} cannot be given as an input")),
    }
}

/// A duration in the language's units; empty text is not one.
fn duration(text: &str) -> Result<u64, String> {
    if text.is_empty() {
        return Err("it is empty".to_string());
    }
    crate::parse::parse_duration(text)
}

/// A finite float written in decimal (`2.5`, `-3`, `1e3`).
fn float(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A whole number: decimal (`3`, `+3`, `3.0`), or as YAML 1.2 writes ints, `0x1f` or `0o17`.
fn whole(text: &str) -> Result<i64, String> {
    let t = text.strip_prefix('+').unwrap_or(text);
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let radix = |digits: &str, base: u32| i64::from_str_radix(digits, base).ok();
    if let Some(n) = t
        .strip_prefix("0x")
        .and_then(|d| radix(d, 16))
        .or_else(|| t.strip_prefix("0o").and_then(|d| radix(d, 8)))
    {
        return Ok(n);
    }
    match float(text) {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        Some(f) if f.fract() != 0.0 => Err(format!("{text} is not a whole number")),
        Some(_) => Err(format!("{text} does not fit a 64-bit int")),
        None => Err(format!("{} is not an int", shown(text))),
    }
}

/// The reason `why` of an element at `index` (`[1]`, `["eu"]`), joined to the path of an
/// element inside it: `at [1]: ...`, then `at [0][1]: ...`.
fn inside(index: String, why: String) -> String {
    match why.strip_prefix("at ") {
        Some(path) => format!("at {index}{path}"),
        None => format!("at {index}: {why}"),
    }
}

/// Checks a vars-file (or `--var` JSON) value against `ty` and converts it. An error names
/// the element (`at [1]`) and what was found in the words of the file's `kind` (`an
/// array`, `a mapping`), never shows a secret's text, and gives the span of the value that
/// does not fit.
fn from_node(node: &Node, ty: &Type, kind: Kind) -> Result<Value, (String, crate::source::Span)> {
    let fail = |reason: String| Err((reason, node.span));
    let found = |what: &str| {
        let found = match &node.data {
            // A plain YAML scalar is shown: it is what the reader wrote, unquoted. (Text is
            // never a mismatch for a `secret`, so no secret is shown.)
            Data::Plain(text) if !node.is_null() => shown(text),
            _ => node.kind(kind).to_string(),
        };
        Err((format!("expected {what}, found {found}"), node.span))
    };
    match (ty, &node.data) {
        (Type::String | Type::Unknown, Data::Str(s) | Data::Plain(s)) if !node.is_null() => {
            Ok(Value::Str(s.clone()))
        }
        (Type::Secret, Data::Str(s) | Data::Plain(s)) if !node.is_null() => {
            Ok(Value::Secret(s.clone()))
        }
        (Type::Bool, Data::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, Data::Plain(text)) => match text.as_str() {
            "true" | "True" | "TRUE" => Ok(Value::Bool(true)),
            "false" | "False" | "FALSE" => Ok(Value::Bool(false)),
            _ => found("`true` or `false`"),
        },
        (Type::Int, Data::Number(text) | Data::Plain(text)) if !node.is_null() => match whole(text)
        {
            Ok(n) => Ok(Value::Int(n)),
            Err(why) => fail(why),
        },
        (Type::Float, Data::Number(text) | Data::Plain(text)) if !node.is_null() => {
            match float(text) {
                Some(f) => Ok(Value::Float(f)),
                None => fail(format!("{} is not a finite number", shown(text))),
            }
        }
        (Type::Duration, Data::Str(s) | Data::Plain(s)) if !node.is_null() => duration(s.trim())
            .map(Value::Duration)
            .or_else(|why| fail(format!("{} is not a duration: {why}", shown(s)))),
        (Type::Duration, Data::Number(_)) => fail(
            "a duration is written as a string with a unit, like \"5m\", not a bare number"
                .to_string(),
        ),
        (Type::Record(r), Data::Map(entries)) if r.is_data() => {
            // A key the record does not have is a mistake (a misspelt field), not data
            // to drop.
            if let Some(e) = entries.iter().find(|e| r.field(&e.key).is_none()) {
                let names: Vec<&str> = r.field_names().collect();
                let hint = match crate::diagnostics::did_you_mean(&e.key, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                let why = format!(
                    "the record has no field {:?} ({hint}its fields are: {})",
                    e.key,
                    names.join(", ")
                );
                return Err((why, e.key_span));
            }
            r.fields
                .iter()
                .map(
                    |(k, t)| match entries.iter().find(|e| e.key == k.as_ref()) {
                        Some(e) => from_node(&e.value, t, kind)
                            .map(|v| (k.to_string(), v))
                            .map_err(|(why, at)| (inside(format!("[{k:?}]"), why), at)),
                        None => Err((format!("the field {k:?} is missing"), node.span)),
                    },
                )
                .collect::<Result<_, _>>()
                .map(Value::Record)
        }
        (Type::List(t), Data::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                from_node(item, t, kind).map_err(|(e, at)| (inside(format!("[{i}]"), e), at))
            })
            .collect::<Result<_, _>>()
            .map(Value::List),
        (Type::Map(t), Data::Map(entries)) => entries
            .iter()
            .map(|e| {
                from_node(&e.value, t, kind)
                    .map(|v| (e.key.clone(), v))
                    .map_err(|(why, at)| (inside(format!("[{:?}]", e.key), why), at))
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        (Type::String | Type::Secret | Type::Unknown, _) => found("a string"),
        (Type::Int, _) => found("an int"),
        (Type::Float, _) => found("a number"),
        (Type::Bool, _) => found("`true` or `false`"),
        (Type::Duration, _) => found("a duration string, like \"5m\""),
        (Type::List(_), _) => found(kind.list()),
        (Type::Map(_), _) => found(kind.map()),
        (Type::Record(r), _) if r.is_data() => found(kind.map()),
        (Type::Record(_) | Type::Module(_), _) => {
            fail(format!("a {ty} cannot be given as an input"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::FsLoader;
    use crate::source::{SourceFile, SourceMap};
    use miette::Diagnostic;

    const FILE: &str = r#"
let region = "eu"
workflow deploy(
  target: string = "staging",
  replicas: int = 2,
  ratio: float = 0.5,
  verbose: bool = false,
  grace: duration = 1m30s,
  regions: list<string> = ["${region}-west", "us-east"],
  limits: map<int> = { eu: 4 },
  token: secret = "t0ps3cret",
  home: string = env("FLOWC_TEST_HOME", "/nowhere"),
  copies: int = replicas * 2,
) {
  step s {
    run "echo ${target} ${replicas} ${ratio} ${verbose} ${grace} ${join(regions, ",")} ${limits["eu"]} ${home} ${copies}"
    env { T: token }
  }
}
workflow needs(name: string, count: int) {
  step s { run "echo ${name} ${count}" }
}
"#;

    fn module() -> (SourceMap, crate::lower::Lowered) {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("t.flow", None, FILE));
        let lowered = crate::compile(&mut sources, id, &FsLoader).expect("compiles");
        (sources, lowered)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn run(
        workflow: &str,
        vars: &[(&str, &str)],
        file: Option<&Path>,
        env: EnvFn<'_>,
    ) -> Result<BTreeMap<String, Value>, Vec<InputError>> {
        let (_, lowered) = module();
        let consts = Constants::of(&lowered.program, env);
        let params = Params::of(&lowered.program, workflow).expect("workflow exists");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let mut sources = SourceMap::new();
        let secrets = secret_names(&lowered.program, &[workflow]);
        let inputs = Inputs::load(vars, file, &secrets, &mut sources).map_err(|e| vec![e])?;
        resolve(&params, &inputs, env, &consts)
    }

    fn codes(errors: &[InputError]) -> Vec<String> {
        errors
            .iter()
            .map(|e| e.code().map(|c| c.to_string()).unwrap_or_default())
            .collect()
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    #[test]
    fn defaults_are_evaluated_with_constants_and_earlier_parameters() {
        let values = run("deploy", &[], None, &no_env).expect("resolves");
        assert_eq!(values["target"], s("staging"));
        assert_eq!(values["ratio"], Value::Float(0.5));
        assert_eq!(values["grace"], Value::Duration(90_000));
        assert_eq!(
            values["regions"],
            Value::List(vec![s("eu-west"), s("us-east")])
        );
        assert_eq!(values["token"], Value::Secret("t0ps3cret".to_string()));
        assert_eq!(values["home"], s("/nowhere"));
        assert_eq!(values["copies"], Value::Int(4));
    }

    #[test]
    fn text_values_are_read_against_the_declared_type() {
        let vars = [
            ("target", "prod"),
            ("replicas", " 5 "),
            ("ratio", "3"),
            ("verbose", "true"),
            ("grace", "1h30m"),
            ("regions", r#"["ap-south"]"#),
            ("limits", r#"{"us": 8}"#),
            ("token", "abc"),
        ];
        let values = run("deploy", &vars, None, &no_env).expect("resolves");
        assert_eq!(values["target"], s("prod"));
        assert_eq!(values["replicas"], Value::Int(5));
        assert_eq!(values["ratio"], Value::Float(3.0));
        assert_eq!(values["verbose"], Value::Bool(true));
        assert_eq!(values["grace"], Value::Duration(5_400_000));
        assert_eq!(values["regions"], Value::List(vec![s("ap-south")]));
        assert_eq!(
            values["limits"],
            Value::Map(BTreeMap::from([("us".to_string(), Value::Int(8))]))
        );
        assert_eq!(values["token"], Value::Secret("abc".to_string()));
        // A default that reads an earlier parameter sees its given value.
        assert_eq!(values["copies"], Value::Int(10));
    }

    #[test]
    fn precedence_is_default_file_env_flag_and_the_last_flag_wins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vars.json");
        std::fs::write(
            &path,
            r#"{"target": "file", "replicas": 7, "ratio": 1.5, "grace": "2m", "verbose": null}"#,
        )
        .expect("written");
        let env = |name: &str| match name {
            "FLOW_VAR_target" => Some("env".to_string()),
            "FLOW_VAR_replicas" => Some("8".to_string()),
            _ => None,
        };
        let values = run(
            "deploy",
            &[("target", "flag1"), ("target", "flag2")],
            Some(&path),
            &env,
        )
        .expect("resolves");
        assert_eq!(values["target"], s("flag2"));
        assert_eq!(values["replicas"], Value::Int(8));
        assert_eq!(values["ratio"], Value::Float(1.5));
        assert_eq!(values["grace"], Value::Duration(120_000));
        assert_eq!(values["verbose"], Value::Bool(false), "null means not set");
    }

    #[test]
    fn every_bad_input_is_reported_at_once() {
        let env = |name: &str| (name == "FLOW_VAR_verbose").then(|| "yes".to_string());
        let errors = run(
            "deploy",
            &[
                ("tagret", "prod"),
                ("replicas", "three"),
                ("grace", "90"),
                ("regions", "eu,us"),
                ("limits", r#"{"eu": 1.5}"#),
            ],
            None,
            &env,
        )
        .expect_err("bad inputs");
        assert_eq!(
            codes(&errors),
            ["E0430", "E0431", "E0431", "E0431", "E0431", "E0431"]
        );
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text[0],
            "unknown parameter `tagret` for workflow `deploy` (given by `--var`)"
        );
        assert!(
            matches!(&errors[0], InputError::UnknownParam { help: Some(h), .. } if h == "did you mean `target`?")
        );
        assert!(text[1].contains("\"three\" is not an int"), "{}", text[1]);
        assert!(text[2].contains("is not `true` or `false`"), "{}", text[2]);
        assert!(text[2].contains("FLOW_VAR_verbose"), "{}", text[2]);
        assert!(text[3].contains("`90` has no unit"), "{}", text[3]);
        assert!(text[4].contains("is not a JSON array"), "{}", text[4]);
        assert!(
            text[5].contains("at [\"eu\"]: 1.5 is not a whole number"),
            "{}",
            text[5]
        );
    }

    #[test]
    fn required_parameters_need_a_value() {
        let errors = run("needs", &[("name", "x")], None, &no_env).expect_err("count missing");
        assert_eq!(codes(&errors), ["E0432"]);
        assert_eq!(
            errors[0].to_string(),
            "parameter `count` of workflow `needs` has no value"
        );
        let env = |n: &str| (n == "FLOW_VAR_count").then(|| "3".to_string());
        let values = run("needs", &[("name", "x")], None, &env).expect("env gives it");
        assert_eq!(values["count"], Value::Int(3));
    }

    #[test]
    fn vars_files_are_json_objects_with_typed_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            r#"{"regions": ["a", "b"], "limits": {"x": 1}, "replicas": 3.0, "token": "s"}"#,
        )
        .expect("written");
        let values = run("deploy", &[], Some(&good), &no_env).expect("resolves");
        assert_eq!(values["regions"], Value::List(vec![s("a"), s("b")]));
        assert_eq!(values["replicas"], Value::Int(3));
        assert_eq!(values["token"], Value::Secret("s".to_string()));

        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            r#"{"replicas": 2.5, "grace": 30, "regions": ["a", 1], "token": 42, "verbos": true}"#,
        )
        .expect("written");
        let errors = run("deploy", &[], Some(&bad), &no_env).expect_err("bad values");
        assert_eq!(
            codes(&errors),
            ["E0430", "E0431", "E0431", "E0431", "E0431"]
        );
        let all: String = errors.iter().map(|e| format!("{e}\n")).collect();
        assert!(all.contains("2.5 is not a whole number"), "{all}");
        assert!(all.contains("not a bare number"), "{all}");
        assert!(
            all.contains("at [1]: expected a string, found a number"),
            "{all}"
        );
        assert!(!all.contains("42"), "secrets are never shown: {all}");
    }

    #[test]
    fn unusable_vars_files_are_e0433_and_unknown_kinds_e0434() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ini = dir.path().join("vars.ini");
        std::fs::write(&ini, "target = prod\n").expect("written");
        let array = dir.path().join("array.json");
        std::fs::write(&array, "[1, 2]").expect("written");
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{\"target\": ").expect("written");
        let missing = dir.path().join("missing.json");
        for (path, code, why) in [
            (&ini, "E0434", "flowc reads `.json` (JSON), `.toml` (TOML)"),
            (
                &array,
                "E0433",
                "expected a map of parameter names to values, found an array",
            ),
            (&broken, "E0433", "not valid JSON"),
            (&missing, "E0433", "no such file"),
        ] {
            let errors = run("deploy", &[], Some(path), &no_env).expect_err("unusable");
            assert_eq!(codes(&errors), [code]);
            assert!(errors[0].to_string().contains(why), "{}", errors[0]);
        }
    }

    #[test]
    fn the_three_kinds_of_vars_file_give_the_same_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = [
            (
                "v.json",
                r#"{"target": "prod", "replicas": 3, "ratio": 1, "verbose": true, "grace": "2m",
                   "regions": ["eu", "us"], "limits": {"eu": 4}, "token": "t"}"#,
            ),
            (
                "v.toml",
                "target = \"prod\"\nreplicas = 3\nratio = 1\nverbose = true\ngrace = \"2m\"\n\
                 regions = [\"eu\", \"us\"]\ntoken = \"t\"\n[limits]\neu = 4\n",
            ),
            (
                "v.yaml",
                "target: prod\nreplicas: 3\nratio: 1\nverbose: true\ngrace: 2m\n\
                 regions:\n  - eu\n  - us\nlimits: {eu: 4}\ntoken: t\n",
            ),
        ];
        let mut all = Vec::new();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("written");
            all.push(run("deploy", &[], Some(&path), &no_env).expect(name));
        }
        assert_eq!(all[0], all[1]);
        assert_eq!(all[0], all[2]);
        assert_eq!(all[0]["ratio"], Value::Float(1.0));
        assert_eq!(all[0]["grace"], Value::Duration(120_000));
    }

    #[test]
    fn yaml_plain_scalars_are_read_as_the_declared_type() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v.yml");
        std::fs::write(
            &path,
            "target: no\nreplicas: 0x10\nregions: [1.10, on]\ntoken: 0123\nverbose: True\n",
        )
        .expect("written");
        let values = run("deploy", &[], Some(&path), &no_env).expect("resolves");
        assert_eq!(values["target"], s("no"));
        assert_eq!(values["replicas"], Value::Int(16));
        assert_eq!(values["regions"], Value::List(vec![s("1.10"), s("on")]));
        assert_eq!(values["token"], Value::Secret("0123".to_string()));
        assert_eq!(values["verbose"], Value::Bool(true));

        std::fs::write(
            &path,
            "verbose: no\nreplicas: \"3\"\ngrace: 30\nregions: [eu, ~]\n",
        )
        .expect("written");
        let errors = run("deploy", &[], Some(&path), &no_env).expect_err("bad values");
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(codes(&errors), ["E0431"; 4], "{all:?}");
        assert!(
            all[0].contains("expected an int, found a string"),
            "{all:?}"
        );
        assert!(
            all[1].contains("expected `true` or `false`, found \"no\""),
            "{all:?}"
        );
        assert!(all[2].contains("`30` has no unit"), "{all:?}");
        assert!(
            all[3].contains("at [1]: expected a string, found null"),
            "{all:?}"
        );
    }

    #[test]
    fn a_failing_default_is_reported_with_its_eval_code() {
        let text = "workflow w(home: string = env(\"FLOWC_TEST_SURELY_UNSET\")) { step s { run \"echo ${home}\" } }";
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("t.flow", None, text));
        let lowered = crate::compile(&mut sources, id, &FsLoader).expect("compiles");
        let params = Params::of(&lowered.program, "w").expect("exists");
        let none = Constants::default();
        let errors = resolve(&params, &Inputs::default(), &no_env, &none).expect_err("unset");
        assert_eq!(codes(&errors), ["E0422"]);
        let given = Inputs {
            vars: vec![("home".to_string(), "/h".to_string())],
            file: None,
        };
        let values =
            resolve(&params, &given, &no_env, &none).expect("a given value spares the default");
        assert_eq!(values["home"], s("/h"));
    }

    #[test]
    fn var_arguments_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_var("q=a=b").expect("splits"),
            ("q".to_string(), "a=b".to_string())
        );
        assert_eq!(
            parse_var("empty=").expect("splits"),
            ("empty".to_string(), String::new())
        );
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("=x").is_err());
    }

    #[test]
    fn unknown_names_across_several_workflows() {
        let inputs = Inputs {
            vars: vec![("name".to_string(), "x".to_string())],
            file: None,
        };
        assert!(inputs.unknown("w", &["name", "count"]).is_empty());
        assert!(inputs.only(&["target"]).vars.is_empty());
        let errors = inputs.unknown("workflow `w`", &[]);
        assert!(
            matches!(&errors[0], InputError::UnknownParam { help: Some(h), .. } if h == "it takes no parameters")
        );
    }
}
