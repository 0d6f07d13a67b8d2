//! `flowc check PATH...`: runs the front end on each file (a directory stands for its
//! `*.flow` files, as for `flowc fmt`) and reports every problem. Human output goes to
//! stderr; `--format json|github` goes to stdout.

use crate::cli::out::{err, errln, out};
use std::path::PathBuf;

use crate::check::FsLoader;
use crate::diagnostics::{self, Diagnostics, Format, RenderOptions, Severity};
use crate::source::{SourceFile, SourceMap};

use super::load;

/// Arguments of `flowc check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The files to check, or directories whose `*.flow` files (not those of
    /// subdirectories) to check; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Output format: human (stderr), json (one object per line on stdout) or github
    /// (workflow-command annotations on stdout).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 when there are warnings, not only errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Checks every file; returns the exit code.
pub fn run(args: CheckArgs, color: bool) -> u8 {
    let opts = RenderOptions {
        color,
        width: super::width(),
    };
    check_all(
        &load::flow_files(&args.files),
        args.format,
        opts,
        args.deny_warnings,
    )
}

fn check_all(files: &[PathBuf], format: Format, opts: RenderOptions, deny_warnings: bool) -> u8 {
    let mut errors = 0;
    let mut warnings = 0;
    let mut input_errors = 0;
    for arg in files {
        let mut sources = SourceMap::new();
        let diags = match load::read(arg) {
            Ok(file) => {
                let id = sources.add(file);
                match crate::compile(&mut sources, id, &FsLoader) {
                    Ok(mut lowered) => {
                        let warnings = std::mem::take(&mut lowered.warnings);
                        // The process ends soon: freeing a large program piece by piece
                        // would only cost time.
                        std::mem::forget(lowered);
                        warnings
                    }
                    Err(diags) => diags,
                }
            }
            Err((name, err)) => {
                input_errors += 1;
                let id = sources.add(SourceFile::new(name, None, ""));
                let mut d = Diagnostics::new();
                d.error(id, err);
                d
            }
        };
        for diag in diags.iter() {
            match diag.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            let text = diagnostics::render(diag, &sources, format, opts);
            if format == Format::Human {
                err!("{text}");
            } else {
                out!("{text}");
            }
        }
    }
    if format == Format::Human {
        errln!("{}", summary(files.len(), errors, warnings));
    }
    if input_errors > 0 {
        super::EXIT_USAGE
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        super::EXIT_FINDINGS
    } else {
        super::EXIT_OK
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(files: usize, errors: usize, warnings: usize) -> String {
    let checked = plural(files, "file");
    match (errors, warnings) {
        (0, 0) => format!("checked {checked}: no problems found"),
        (0, w) => format!("checked {checked}: {}", plural(w, "warning")),
        (e, 0) => format!("checked {checked}: {}", plural(e, "error")),
        (e, w) => format!(
            "checked {checked}: {}, {}",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}
