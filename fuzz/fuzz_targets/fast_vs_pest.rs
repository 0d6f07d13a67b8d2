//! Fuzzes the parser's fast path against pest: for arbitrary bytes, if UTF-8, whatever the
//! fast path accepts, pest must accept too, with an equal tree (spans included). The fast
//! path may decline anything; it may never differ.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = flowc::parse::fast_only(text) {
        let pest = flowc::parse::pest_only(text);
        assert_eq!(Some(fast), pest, "the fast path and pest differ on {text:?}");
    }
});
