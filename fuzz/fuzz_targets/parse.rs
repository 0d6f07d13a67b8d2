//! Fuzzes the front end: arbitrary bytes, if UTF-8, are parsed by the recovering parser,
//! which must agree with `parse`, and whatever parses is checked and lowered, as `flowc
//! check` does. Every stage must return diagnostics rather than panic, and every
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
    // The recovering parser agrees with `parse`: no errors and the same tree, or errors
    // for both.
    let (recovered, errors) = flowc::parse::parse_recovering(id, sources.get(id));
    match flowc::parse::parse(id, sources.get(id)) {
        Ok(file) => assert!(errors.is_empty() && file == recovered),
        Err(diags) => {
            assert!(!errors.is_empty());
            assert_labels_inside(&sources, &diags);
        }
    }
    // The whole front end as `flowc check` runs it: what parsed is checked and lowered.
    let diags = match flowc::compile(&mut sources, id, &NoImports) {
        Ok(lowered) => lowered.warnings,
        Err(diags) => diags,
    };
    assert_labels_inside(&sources, &diags);
});
