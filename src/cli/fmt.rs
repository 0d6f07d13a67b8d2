//! `flowc fmt [--check] [--diff] PATH...`: rewrites `.flow` files in the canonical layout of
//! [`crate::format::format`], comments kept. A directory stands for the `*.flow` files
//! directly in it (not in its subdirectories, so that `flowc fmt examples/` leaves the
//! deliberately broken `examples/broken/` alone); `-` formats standard input to standard
//! output.
//!
//! A file that does not parse gets its syntax diagnostics and is left alone. Every result
//! is parsed back and compared with the original (same tree, spans aside; same comments,
//! in order) before anything is written, and a file is replaced atomically: the new text
//! goes to a temporary file beside it, which is then renamed over it.

use crate::cli::out::{err, errln, out, outln};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::diagnostics::{self, Diagnostics, Format, RenderOptions};
use crate::source::{SourceFile, SourceId, SourceMap};

use super::load;

/// Arguments of `flowc fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Files, or directories whose `*.flow` files (not those of subdirectories) to format;
    /// `-` formats standard input to standard output.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write nothing: list the files that are not formatted on stdout, and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// Write nothing: print a unified diff of each change on stdout (exit 0, or with
    /// `--check` exit 1 if any file would change), as black's `--diff` does.
    #[arg(long)]
    pub diff: bool,
}

/// One input: a file, or standard input.
enum Input {
    File(PathBuf),
    Stdin,
}

/// What happened to one input.
#[derive(Default)]
struct Tally {
    inputs: usize,
    changed: usize,
    /// Files that do not parse (exit 1).
    invalid: usize,
    /// Unreadable or unwritable files, or an internal error (exit 2).
    failed: usize,
    /// `--check` or `--diff`: nothing is written.
    dry: bool,
}

/// Formats or checks every input; returns the exit code.
pub fn run(args: FmtArgs, color: bool) -> u8 {
    let opts = RenderOptions {
        color,
        width: super::width(),
    };
    let mut tally = Tally::default();
    let inputs = expand(&args.paths, &mut tally);
    let only_stdin = inputs.iter().all(|i| matches!(i, Input::Stdin));
    let tally = format_all(&inputs, &args, opts, tally);
    if !only_stdin || tally.failed + tally.invalid > 0 {
        errln!("{}", summary(&tally));
    }
    if tally.failed > 0 {
        super::EXIT_USAGE
    } else if tally.invalid > 0 || (args.check && tally.changed > 0) {
        super::EXIT_FINDINGS
    } else {
        super::EXIT_OK
    }
}

/// The inputs the paths name ([`load::flow_files`]).
fn expand(paths: &[PathBuf], tally: &mut Tally) -> Vec<Input> {
    let inputs: Vec<Input> = load::flow_files(paths)
        .into_iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::File(p)
            }
        })
        .collect();
    tally.inputs = inputs.len();
    inputs
}

fn format_all(inputs: &[Input], args: &FmtArgs, opts: RenderOptions, mut tally: Tally) -> Tally {
    tally.dry = args.check || args.diff;
    for input in inputs {
        let arg = match input {
            Input::File(p) => p.as_path(),
            Input::Stdin => Path::new("-"),
        };
        let mut sources = SourceMap::new();
        let source = match load::read(arg) {
            Ok(file) => file,
            Err((name, err)) => {
                tally.failed += 1;
                let id = sources.add(SourceFile::new(name, None, ""));
                let mut d = Diagnostics::new();
                d.error(id, err);
                report(&d, &sources, opts);
                continue;
            }
        };
        let name = source.name.clone();
        let id = sources.add(source);
        let text = sources.get(id).text.as_str();
        let formatted = match format_checked(id, &sources) {
            Ok(f) => f,
            Err(Failure::Syntax(d)) => {
                tally.invalid += 1;
                report(&d, &sources, opts);
                continue;
            }
            Err(Failure::Internal(why)) => {
                tally.failed += 1;
                errln!(
                    "error: internal error: formatting `{name}` would {why}; it was left \
                     unchanged, please report it"
                );
                continue;
            }
        };
        let changed = formatted != text;
        if changed {
            tally.changed += 1;
        }
        match input {
            _ if args.diff && changed => {
                let diff = similar::TextDiff::from_lines(text, &formatted);
                out!(
                    "{}",
                    diff.unified_diff()
                        .header(&format!("a/{name}"), &format!("b/{name}"))
                );
            }
            _ if args.check && changed => {
                outln!("{name}");
            }
            // Nothing is written with either flag.
            _ if args.diff || args.check => {}
            Input::Stdin => {
                out!("{formatted}");
            }
            Input::File(path) if changed => {
                if let Err(err) = write_atomically(path, &formatted) {
                    tally.failed += 1;
                    errln!("error: cannot write `{name}`: {err}");
                }
            }
            _ => {}
        }
    }
    tally
}

/// Why a file was not formatted.
enum Failure {
    /// It does not parse.
    Syntax(Diagnostics),
    /// The formatter would have changed its meaning or lost a comment (a bug).
    Internal(&'static str),
}

/// Formats one file and makes sure the result means the same and keeps every comment.
fn format_checked(id: SourceId, sources: &SourceMap) -> Result<String, Failure> {
    let source = sources.get(id);
    let file = crate::parse::parse(id, source).map_err(Failure::Syntax)?;
    let formatted = crate::format::format(&file, &source.text);
    let again = SourceFile::new(source.name.clone(), None, formatted.as_str());
    let reparsed = crate::parse::parse(id, &again)
        .map_err(|_| Failure::Internal("produce text that does not parse"))?;
    if crate::format::sexpr_without_spans(&reparsed) != crate::format::sexpr_without_spans(&file) {
        return Err(Failure::Internal("change its meaning"));
    }
    if crate::format::comments(&formatted) != crate::format::comments(&source.text) {
        return Err(Failure::Internal("lose or reorder a comment"));
    }
    Ok(formatted)
}

fn report(diags: &Diagnostics, sources: &SourceMap, opts: RenderOptions) {
    for diag in diags.iter() {
        err!(
            "{}",
            diagnostics::render(diag, sources, Format::Human, opts)
        );
    }
}

/// Replaces the file `path` resolves to (through symbolic links) with `text`: written to
/// a temporary file in the same directory, given the original's permissions, then
/// renamed over it, so that a reader sees the old text or the new, never a part.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".flowc-fmt-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    let permissions = std::fs::metadata(&target)?.permissions();
    tmp.as_file().set_permissions(permissions)?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(tally: &Tally) -> String {
    let files = plural(tally.inputs, "file");
    let mut text = match (tally.dry, tally.changed) {
        (true, 0) => format!("checked {files}: no changes needed"),
        (true, n) => format!("checked {files}: {n} would be reformatted"),
        (false, 0) => format!("formatted {files}: none changed"),
        (false, n) => format!("formatted {files}: {n} changed"),
    };
    if tally.invalid > 0 {
        let _ = write!(text, ", {} with syntax errors", tally.invalid);
    }
    if tally.failed > 0 {
        let _ = write!(text, ", {} could not be read or written", tally.failed);
    }
    text
}
