//! The registry of stable diagnostic codes and their long explanations, served by
//! `flowc explain CODE`. Codes are never reused or renumbered; a test checks that each is
//! documented here, used by exactly one error variant, and hit by a UI fixture.

/// Every code with its explanation (Markdown), in order.
pub const CODES: &[(&str, &str)] = &[
    ("E0001", include_str!("explain/E0001.md")),
    ("E0002", include_str!("explain/E0002.md")),
    ("E0003", include_str!("explain/E0003.md")),
    ("E0004", include_str!("explain/E0004.md")),
    ("E0005", include_str!("explain/E0005.md")),
    ("E0006", include_str!("explain/E0006.md")),
    ("E0007", include_str!("explain/E0007.md")),
    ("E0008", include_str!("explain/E0008.md")),
    ("E0009", include_str!("explain/E0009.md")),
    ("E0010", include_str!("explain/E0010.md")),
    ("E0101", include_str!("explain/E0101.md")),
    ("E0102", include_str!("explain/E0102.md")),
    ("E0103", include_str!("explain/E0103.md")),
    ("E0104", include_str!("explain/E0104.md")),
    ("E0105", include_str!("explain/E0105.md")),
    ("E0106", include_str!("explain/E0106.md")),
    ("E0107", include_str!("explain/E0107.md")),
    ("E0108", include_str!("explain/E0108.md")),
    ("E0109", include_str!("explain/E0109.md")),
    ("E0110", include_str!("explain/E0110.md")),
    ("E0111", include_str!("explain/E0111.md")),
    ("E0112", include_str!("explain/E0112.md")),
    ("E0201", include_str!("explain/E0201.md")),
    ("E0202", include_str!("explain/E0202.md")),
    ("E0203", include_str!("explain/E0203.md")),
    ("E0204", include_str!("explain/E0204.md")),
    ("E0205", include_str!("explain/E0205.md")),
    ("E0206", include_str!("explain/E0206.md")),
    ("E0207", include_str!("explain/E0207.md")),
    ("E0208", include_str!("explain/E0208.md")),
    ("E0209", include_str!("explain/E0209.md")),
    ("E0210", include_str!("explain/E0210.md")),
    ("E0211", include_str!("explain/E0211.md")),
    ("E0212", include_str!("explain/E0212.md")),
    ("E0213", include_str!("explain/E0213.md")),
    ("E0214", include_str!("explain/E0214.md")),
    ("E0215", include_str!("explain/E0215.md")),
    ("E0216", include_str!("explain/E0216.md")),
    ("E0301", include_str!("explain/E0301.md")),
    ("E0302", include_str!("explain/E0302.md")),
    ("E0303", include_str!("explain/E0303.md")),
    ("E0304", include_str!("explain/E0304.md")),
    ("E0401", include_str!("explain/E0401.md")),
    ("E0402", include_str!("explain/E0402.md")),
    ("E0403", include_str!("explain/E0403.md")),
    ("E0404", include_str!("explain/E0404.md")),
    ("E0405", include_str!("explain/E0405.md")),
    ("E0406", include_str!("explain/E0406.md")),
    ("E0410", include_str!("explain/E0410.md")),
    ("E0411", include_str!("explain/E0411.md")),
    ("E0412", include_str!("explain/E0412.md")),
    ("E0420", include_str!("explain/E0420.md")),
    ("E0421", include_str!("explain/E0421.md")),
    ("E0422", include_str!("explain/E0422.md")),
    ("E0423", include_str!("explain/E0423.md")),
    ("E0424", include_str!("explain/E0424.md")),
    ("W0001", include_str!("explain/W0001.md")),
    ("W0002", include_str!("explain/W0002.md")),
    ("W0003", include_str!("explain/W0003.md")),
    ("W0004", include_str!("explain/W0004.md")),
];

/// The explanation of a code (case-insensitive), if it exists.
pub fn explain(code: &str) -> Option<&'static str> {
    CODES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code.trim()))
        .map(|(_, text)| *text)
}
