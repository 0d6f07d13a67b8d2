//! Fuzzes the front end: arbitrary bytes, if UTF-8, are parsed, and whatever parses is
//! checked and lowered. Every stage must return diagnostics rather than panic, and every
//! diagnostic's labels must lie within its file.

#![no_main]

use std::path::Path;

use flowc::check::{Loaded, Loader};
use flowc::diagnostics::Diagnostics;
use flowc::source::{SourceFile, SourceMap};
use libfuzzer_sys::fuzz_target;

/// Refuses every import, so the fuzzer never reads the filesystem.
struct NoImports;

impl Loader for NoImports {
    fn load(&self, _importer: Option<&Path>, _spec: &str) -> Result<Loaded, Vec<String>> {
        Err(vec!["nowhere (the fuzzer allows no imports)".to_string()])
    }
}

fn assert_labels_inside(sources: &SourceMap, diags: &Diagnostics) {
    for d in diags.iter() {
        let len = sources.get(d.source).text.len();
        for label in d.inner.labels().into_iter().flatten() {
            assert!(
                label.offset() + label.len() <= len,
                "{}: label {}..{} outside a text of {len} bytes",
                d.code(),
                label.offset(),
                label.offset() + label.len()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new("fuzz.flow", None, text));
    let file = match flowc::parse::parse(id, sources.get(id)) {
        Ok(file) => file,
        Err(diags) => return assert_labels_inside(&sources, &diags),
    };
    let diags = match flowc::check::check(&mut sources, id, file, &NoImports) {
        Ok(checked) => match flowc::lower::lower(checked) {
            Ok(lowered) => lowered.warnings,
            Err(diags) => diags,
        },
        Err(diags) => diags,
    };
    assert_labels_inside(&sources, &diags);
});
