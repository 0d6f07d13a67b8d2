//! Reading input files: text must be UTF-8 and not binary; unreadable paths, directories
//! and bad encodings become coded diagnostics (E0008, E0010) instead of IO error dumps
//! (see [`crate::runtime::driver::read_source`]; this adds `-` for stdin).

use crate::cli::out::{err, errln};
use std::path::{Path, PathBuf};

use crate::check::FsLoader;
use crate::diagnostics::{self, Diagnostics, Format, RenderOptions};
use crate::lower::Lowered;
use crate::runtime::driver::{self, InputError};
use crate::source::{SourceFile, SourceId, SourceMap};

/// The files that command-line paths name, as `flowc check` and `flowc fmt` take them: a
/// file, or `-` (standard input), as it is; a directory as the `*.flow` files directly in it,
/// sorted, without hidden files, symbolic links and subdirectories (so that `flowc fmt
/// examples/` leaves the deliberately broken `examples/broken/` alone). A directory without
/// any gets a warning on stderr.
pub fn flow_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() != "-" && path.is_dir() {
            let before = files.len();
            flow_files_in(path, &mut files);
            if files.len() == before {
                errln!("warning: no .flow files in `{}`", path.display());
            }
        } else {
            files.push(path.clone());
        }
    }
    files
}

/// The `*.flow` files directly in `dir`, as [`flow_files`] takes them.
fn flow_files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_file() && path.extension().is_some_and(|e| e == "flow") {
            out.push(path);
        }
    }
}

/// Reads one input: a path, or `-` for stdin.
pub fn read(arg: &Path) -> Result<SourceFile, (String, InputError)> {
    if arg != Path::new("-") {
        return driver::read_source(arg);
    }
    let buf =
        crate::limits::read_stdin(crate::limits::MAX_SOURCE_LEN, "a .flow file").map_err(|e| {
            (
                "<stdin>".to_string(),
                InputError::Unreadable {
                    file: "<stdin>".to_string(),
                    reason: e.to_string(),
                    help: None,
                    span: None,
                },
            )
        })?;
    driver::source_from_bytes("<stdin>".to_string(), None, buf)
}

/// Reads and compiles one file for `run`, `plan` and `graph`, printing its diagnostics
/// (human, on stderr). Returns the sources, the file's id and the lowered program, or the
/// exit code to stop with: 2 for unreadable input, 1 for errors in the file.
pub fn compile(path: &Path, opts: RenderOptions) -> Result<(SourceMap, SourceId, Lowered), u8> {
    compile_quietly(path).report(opts)
}

/// A file read and compiled, with its diagnostics not shown yet.
pub struct Compiled {
    sources: SourceMap,
    result: Result<(SourceId, Lowered), u8>,
    diags: Diagnostics,
}

impl Compiled {
    /// Prints the diagnostics (human, on stderr) and gives what [`compile`] gives.
    pub fn report(self, opts: RenderOptions) -> Result<(SourceMap, SourceId, Lowered), u8> {
        for diag in self.diags.iter() {
            err!(
                "{}",
                diagnostics::render(diag, &self.sources, Format::Human, opts)
            );
        }
        let sources = self.sources;
        self.result.map(|(id, lowered)| (sources, id, lowered))
    }
}

/// [`compile`] without printing anything yet (`flowc resume` compiles on one thread while
/// it reads the journal on another, and shows the diagnostics only if the run can resume).
pub fn compile_quietly(path: &Path) -> Compiled {
    let mut sources = SourceMap::new();
    let file = match read(path) {
        Ok(file) => file,
        Err((name, err)) => {
            let id = sources.add(SourceFile::new(name, None, ""));
            let mut diags = Diagnostics::new();
            diags.error(id, err);
            return Compiled {
                sources,
                result: Err(super::EXIT_USAGE),
                diags,
            };
        }
    };
    let id = sources.add(file);
    let (result, diags) = match crate::compile(&mut sources, id, &FsLoader) {
        Ok(mut lowered) => {
            let warnings = std::mem::take(&mut lowered.warnings);
            (Ok((id, lowered)), warnings)
        }
        Err(diags) => (Err(super::EXIT_FINDINGS), diags),
    };
    Compiled {
        sources,
        result,
        diags,
    }
}

/// The graphs of the workflows a command acts on: all of them, or only `wanted`. Reports
/// an unknown name (with "did you mean") or a file without workflows and returns exit 2.
pub fn select_workflows<'a>(
    lowered: &'a Lowered,
    file: &Path,
    wanted: Option<&str>,
) -> Result<Vec<&'a crate::graph::ExecGraph>, u8> {
    let graphs: Vec<_> = lowered
        .graphs
        .iter()
        .filter(|g| wanted.is_none_or(|w| g.workflow == w))
        .collect();
    if !graphs.is_empty() {
        return Ok(graphs);
    }
    let names: Vec<&str> = lowered.graphs.iter().map(|g| g.workflow.as_str()).collect();
    let e = match wanted {
        Some(w) => {
            let hint = diagnostics::did_you_mean(w, names.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            super::usage::UsageError::Workflow {
                message: format!("`{}` has no workflow `{w}`", file.display()),
                help: (!names.is_empty() || !hint.is_empty())
                    .then(|| format!("{hint}its workflows are: {}", names.join(", "))),
            }
        }
        None => super::usage::UsageError::Workflow {
            message: format!("`{}` has no workflows", file.display()),
            help: None,
        },
    };
    Err(super::usage::report(e))
}
