//! What the README and the guide (`docs/`) name stays true as the tree
//! moves: every test they cite (`module::test_name`, as the fault table
//! does) exists under that name, and every file of the repository they
//! name (`src/...`, `tests/...`, `deploy/...`) exists.

use std::{fs, path::Path};

use regex::Regex;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The README and every page of the guide, with their text.
fn pages() -> Vec<(String, String)> {
    let mut pages = vec![(
        "README.md".to_string(),
        fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap(),
    )];
    for entry in fs::read_dir(Path::new(ROOT).join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
            pages.push((name, fs::read_to_string(&path).unwrap()));
        }
    }
    pages
}

/// Every integration test, as `module::name`.
fn tests() -> Vec<String> {
    let test = Regex::new(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn (\w+)").unwrap();
    let mut all = Vec::new();
    for entry in fs::read_dir(Path::new(ROOT).join("tests/integration")).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).unwrap();
        all.extend(test.captures_iter(&text).map(|c| format!("{module}::{}", &c[1])));
    }
    all
}

#[test]
fn every_test_the_docs_cite_exists() {
    let tests = tests();
    assert!(tests.len() > 100, "the integration tests were not found");
    // A test's name is a sentence: at least three underscores, which no
    // Rust path the docs show (`app::follow`, `rules::HOLD_CAP`) has.
    // A pytest test is cited as `test_file.py::test_name`.
    let cited = Regex::new(r"(^|[^.\w])([a-z][a-z0-9_]*::[a-z0-9]+(?:_[a-z0-9]+){3,})\b").unwrap();
    let pytest = Regex::new(r"\b(test_\w+\.py)::(test_\w+)\b").unwrap();
    let mut stale = Vec::new();
    for (page, text) in pages() {
        for c in cited.captures_iter(&text) {
            if !tests.contains(&c[2].to_string()) {
                stale.push(format!("{page}: {}", &c[2]));
            }
        }
        for c in pytest.captures_iter(&text) {
            let file = Path::new(ROOT).join("python/tests").join(&c[1]);
            let found = fs::read_to_string(&file)
                .is_ok_and(|code| code.contains(&format!("def {}(", &c[2])));
            if !found {
                stale.push(format!("{page}: {}", &c[0]));
            }
        }
    }
    assert!(stale.is_empty(), "tests the docs cite that do not exist:\n{}", stale.join("\n"));
}

#[test]
fn every_file_the_docs_name_exists() {
    let named = Regex::new(
        r"\b(?:src|tests|python|benches|fuzz|deploy)/[A-Za-z0-9_./-]+\.(?:rs|py|sh|toml|yaml)\b",
    )
    .unwrap();
    let mut missing = Vec::new();
    for (page, text) in pages() {
        for m in named.find_iter(&text) {
            if !Path::new(ROOT).join(m.as_str()).exists() {
                missing.push(format!("{page}: {}", m.as_str()));
            }
        }
    }
    assert!(missing.is_empty(), "files the docs name that do not exist:\n{}", missing.join("\n"));
}
