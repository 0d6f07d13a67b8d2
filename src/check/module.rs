//! Modules: finding imported files through a [`Loader`], detecting import cycles, and
//! checking each module's items in the order their dependencies need.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use super::error::{CheckError, CheckWarning};
use super::workflow::Checker;
use super::{Module, Signature};
use crate::ast;
use crate::diagnostics::Diagnostics;
use crate::source::{SourceFile, SourceId, SourceMap};

/// A module's text, found by a [`Loader`].
#[derive(Debug)]
pub struct Loaded {
    /// Its display name.
    pub name: String,
    /// Its location on disk; `None` for embedded modules.
    pub path: Option<PathBuf>,
    /// An identity shared by every import of the same module.
    pub key: String,
    /// The text.
    pub text: String,
}

/// Why an import could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Nothing at any of these places.
    NotFound(Vec<String>),
    /// Something is there, but it is not a `.flow` module (see [`FsLoader`]).
    NotModule {
        /// The path it names.
        path: String,
        /// What it is instead.
        reason: String,
    },
    /// A `.flow` file that cannot be read, or is not text ([`crate::source::read_source`]).
    Input(crate::source::InputError),
}

/// Finds the text of imported modules.
pub trait Loader {
    /// Loads `spec` as imported from a file at `importer` (if it has a path).
    fn load(&self, importer: Option<&Path>, spec: &str) -> Result<Loaded, LoadError>;
}

/// Loads `std/...` from the embedded standard library and other paths from the filesystem,
/// relative to the importing file.
///
/// An import names a module and nothing else: a regular file whose name ends in `.flow`,
/// read by the rules of the root file ([`crate::source::read_source`]: at most
/// [`crate::source::MAX_SOURCE_LEN`] bytes of UTF-8 without NUL). `import "lib/x"` means
/// `lib/x.flow`. A path may lead anywhere, `..` and absolute paths included, and symbolic
/// links are followed, but the file reached must itself be a regular `.flow` file: a
/// directory, a FIFO, a device, a file under `/proc`, `/sys` or `/dev`, or a file with
/// another name is refused ([`LoadError::NotModule`]) before a byte of it is read, so
/// that no diagnostic ever shows text of a file that is not a module.
#[derive(Debug, Default)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, importer: Option<&Path>, spec: &str) -> Result<Loaded, LoadError> {
        if let Some(text) = crate::stdlib::module(spec) {
            return Ok(Loaded {
                name: format!("<{spec}>"),
                path: None,
                key: spec.to_string(),
                text: text.to_string(),
            });
        }
        if spec.starts_with("std/") {
            let known: Vec<&str> = crate::stdlib::MODULES.iter().map(|(p, _)| *p).collect();
            return Err(LoadError::NotFound(vec![format!(
                "the standard library, which has {}",
                known.join(", ")
            )]));
        }
        let base = importer
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut candidates = vec![lexical(&base.join(spec))];
        if Path::new(spec).extension().is_none() {
            candidates.push(lexical(&base.join(format!("{spec}.flow"))));
        }
        // `lib/x` may be a directory beside `lib/x.flow`: a refusal counts only when no
        // other candidate is a module.
        let mut refused = None;
        for path in &candidates {
            if std::fs::symlink_metadata(path).is_err() {
                continue;
            }
            if let Err(reason) = module_file(path) {
                refused.get_or_insert(LoadError::NotModule {
                    path: path.display().to_string(),
                    reason,
                });
                continue;
            }
            let file = crate::source::read_import(path).map_err(LoadError::Input)?;
            return Ok(Loaded {
                name: path.display().to_string(),
                key: canonical(path).display().to_string(),
                path: Some(path.clone()),
                text: file,
            });
        }
        Err(refused.unwrap_or_else(|| {
            LoadError::NotFound(candidates.iter().map(|p| p.display().to_string()).collect())
        }))
    }
}

/// Whether `path` (which exists) may be imported: what it leads to, links followed, is a
/// regular file named `*.flow` outside the kernel's file systems. Otherwise, why not.
fn module_file(path: &Path) -> Result<(), String> {
    let is_flow = |p: &Path| p.extension().is_some_and(|e| e == "flow");
    let Ok(target) = std::fs::canonicalize(path) else {
        return Err("it is a link that leads nowhere".to_string());
    };
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_file() => {}
        Ok(meta) => return Err(format!("it is {}", crate::source::file_kind(&meta))),
        Err(e) => return Err(e.to_string()),
    }
    if !is_flow(path) {
        return Err("its name does not end in `.flow`".to_string());
    }
    if !is_flow(&target) {
        return Err(format!(
            "it is a link to `{}`, whose name does not end in `.flow`",
            target.display()
        ));
    }
    if ["/proc", "/sys", "/dev"]
        .iter()
        .any(|root| target.starts_with(root))
    {
        return Err(format!(
            "it is `{}`, a file of the operating system",
            target.display()
        ));
    }
    Ok(())
}

/// A path without `.` components, so that messages show `lib/x.flow`, not `./lib/./x.flow`.
fn lexical(path: &Path) -> PathBuf {
    let cleaned: PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if cleaned.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        cleaned
    }
}

/// The canonical form of a path, or the path itself where that fails.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// State shared while checking a root file and its imports.
pub struct Context<'a> {
    /// Every file read so far.
    pub sources: &'a mut SourceMap,
    /// Where imports come from.
    pub loader: &'a dyn Loader,
    /// Finished modules.
    pub modules: Vec<Module>,
    /// Finished modules by key.
    pub by_key: HashMap<String, usize>,
    /// Keys of the modules being checked, outermost first (for cycle detection).
    pub loading: Vec<String>,
    /// Everything found.
    pub diags: Diagnostics,
    /// The REPL's expression to type in the root file (see [`super::Probe`]).
    pub probe: Option<super::Probe>,
    /// Its typed form, once checked.
    pub probe_expr: Option<crate::typed::Expr>,
}

/// What a module's own items declare, gathered before their bodies are checked.
pub struct Exports {
    /// Tasks by name.
    pub tasks: HashMap<String, Signature>,
    /// Workflows by name.
    pub workflows: HashMap<String, Signature>,
    /// Constants by name.
    pub consts: HashMap<String, super::Type>,
}

impl Context<'_> {
    /// Checks one module and records it; returns its index.
    pub fn check_module(&mut self, source: SourceId, key: String, file: ast::File) -> usize {
        self.loading.push(key.clone());
        // Imports first, so that their exports are known.
        let mut imports = Vec::new();
        for item in &file.items {
            if let ast::Item::Import(import) = item {
                let module = self.import(source, import);
                imports.push((import.clone(), module));
            }
        }
        let (exports, resolved, unused) = {
            // Embedded modules have no path on disk; only they may use `native`.
            let stdlib = key.starts_with("std/") && self.sources.get(source).path.is_none();
            let text = self.sources.get(source).text.as_str();
            let mut checker = Checker::new(source, text, &self.modules, &mut self.diags);
            checker.stdlib = stdlib;
            checker.file_dir = (self.sources.get(source).path.as_deref())
                .and_then(|p| std::path::absolute(p).ok())
                .and_then(|p| p.parent().map(Path::to_path_buf));
            for (import, module) in &imports {
                checker.declare_import(import, *module);
            }
            // Only the root file (the outermost module being loaded) gets the probe.
            if self.loading.len() == 1 {
                checker.probe = self.probe.take();
            }
            let exports = checker.check_items(&file);
            if checker.probe_expr.is_some() {
                self.probe_expr = checker.probe_expr.take();
            }
            let mut typed = std::mem::take(&mut checker.typed);
            typed.key = key.clone();
            typed.imports = imports
                .iter()
                .filter_map(|(import, m)| Some((import.alias.name.clone(), (*m)?)))
                .collect();
            let resolved = (typed, std::mem::take(&mut checker.typed_workflows));
            (exports, resolved, checker.finish_imports())
        };
        for import in unused {
            self.diags.warning(
                source,
                CheckWarning::UnusedImport {
                    name: import.alias.name.clone(),
                    span: import.span.into(),
                },
            );
        }
        self.loading.pop();
        let index = self.modules.len();
        self.modules.push(Module {
            source,
            key: key.clone(),
            tasks: exports.tasks,
            workflows: exports.workflows,
            consts: exports.consts,
            typed: resolved.0,
            typed_workflows: resolved.1,
        });
        self.by_key.insert(key, index);
        index
    }

    /// Resolves, loads and checks one import; `None` when it failed (already reported).
    fn import(&mut self, source: SourceId, import: &ast::Import) -> Option<usize> {
        let importer = self.sources.get(source).path.clone();
        let loaded = match self.loader.load(importer.as_deref(), &import.path) {
            Ok(loaded) => loaded,
            Err(LoadError::NotFound(looked)) => {
                self.diags.error(
                    source,
                    CheckError::ModuleNotFound {
                        path: import.path.clone(),
                        span: import.path_span.into(),
                        help: Some(format!("looked in {}", looked.join(", "))),
                    },
                );
                return None;
            }
            Err(LoadError::NotModule { path, reason }) => {
                self.diags.error(
                    source,
                    CheckError::ImportNotModule {
                        path,
                        reason,
                        span: import.path_span.into(),
                    },
                );
                return None;
            }
            // Reported at the import: the file's own text is never shown.
            Err(LoadError::Input(e)) => {
                self.diags.error(source, e.at(import.path_span));
                return None;
            }
        };
        if let Some(pos) = self.loading.iter().position(|k| *k == loaded.key) {
            let mut chain: Vec<String> = self.loading[pos..].iter().map(|k| short(k)).collect();
            chain.push(short(&loaded.key));
            self.diags.error(
                source,
                CheckError::ImportCycle {
                    chain: chain.join(" -> "),
                    span: import.path_span.into(),
                },
            );
            return None;
        }
        if let Some(&index) = self.by_key.get(&loaded.key) {
            return Some(index);
        }
        let id = match loaded
            .path
            .as_deref()
            .and_then(|p| self.sources.find_path(p))
        {
            Some(id) => id,
            None => self
                .sources
                .add(SourceFile::new(loaded.name, loaded.path, loaded.text)),
        };
        let parsed = crate::parse::parse(id, self.sources.get(id));
        match parsed {
            Ok(file) => Some(self.check_module(id, loaded.key, file)),
            Err(diags) => {
                self.diags.extend(diags);
                None
            }
        }
    }
}

/// The file name of a module key, for import-cycle chains.
fn short(key: &str) -> String {
    Path::new(key)
        .file_name()
        .map_or_else(|| key.to_string(), |n| n.to_string_lossy().into_owned())
}
