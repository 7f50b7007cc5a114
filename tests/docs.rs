//! The documents that promise behaviour stay in step with the tests that prove it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::REPO;

/// `module::test_name` of every test in tests/*.rs and `module::tests::name` in src.
fn test_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(Path::new(REPO).join("tests")).unwrap() {
        let path = entry.unwrap().path();
        let Some(module) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("async fn ") {
                let name = rest.split('(').next().unwrap_or_default();
                names.insert(format!("{module}::{name}"));
            }
        }
    }
    names
}

#[test]
fn every_test_named_in_reliability_md_exists() {
    let doc = std::fs::read_to_string(Path::new(REPO).join("docs/RELIABILITY.md")).unwrap();
    let known = test_names();
    let mut named = 0;
    for cited in doc.split('`').skip(1).step_by(2) {
        let is_integration_test = cited.contains("::")
            && !cited.contains("tests")
            && cited.split("::").count() == 2
            && !cited.contains(' ');
        if !is_integration_test {
            continue;
        }
        named += 1;
        assert!(
            known.contains(cited),
            "docs/RELIABILITY.md names {cited}, which is no test"
        );
    }
    assert!(
        named >= 15,
        "only {named} tests named: the parser missed the table"
    );
}
