//! The floor plan (docs/architecture.md) holds: `tests/floor_plan.py`
//! finds no file over 500 lines, no function over 60, no import from a
//! lower layer to a higher one and no ring of files that use each other.

use std::{fs, path::Path, process::Command};

use crate::common::tool;

const CHECKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/floor_plan.py");

/// Runs the checker over `root` (this repository when None): its exit
/// status and what it printed.
fn check(root: Option<&Path>) -> Option<(bool, String)> {
    let mut command = Command::new(tool("python3", "python3")?);
    command.arg(CHECKER).env_remove("PHX_FLOOR_ROOT");
    if let Some(root) = root {
        command.env("PHX_FLOOR_ROOT", root);
    }
    let out = command.output().expect("python3 runs");
    Some((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned()))
}

#[test]
fn the_tree_keeps_its_floor_plan() {
    let Some((ok, printed)) = check(None) else { return };
    assert!(ok, "the floor plan is broken:\n{printed}");
}

/// The checker can fail: a tree that breaks each rule once is caught on
/// each.
#[test]
fn the_checker_sees_each_kind_of_breach() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for folder in ["engine", "app/follow"] {
        fs::create_dir_all(src.join(folder)).unwrap();
    }
    fs::write(src.join("lib.rs"), "mod engine;\nmod app;\n").unwrap();
    fs::write(src.join("engine/mod.rs"), "mod long;\nmod up;\n").unwrap();
    // A file too long, with a function too long in it.
    let body = "    let _ = 1;\n".repeat(70);
    let filler = "// filler\n".repeat(440);
    fs::write(src.join("engine/long.rs"), format!("fn long() {{\n{body}}}\n{filler}")).unwrap();
    // The engine using the application.
    fs::write(src.join("engine/up.rs"), "use crate::app::follow::Thing;\n").unwrap();
    // Two files that use each other.
    fs::write(src.join("app/mod.rs"), "pub mod follow;\nmod nowhere;\n").unwrap();
    // A file outside the plan.
    fs::write(src.join("app/nowhere.rs"), "").unwrap();
    fs::write(src.join("app/follow/mod.rs"), "mod a;\nmod b;\npub struct Thing;\n").unwrap();
    fs::write(src.join("app/follow/a.rs"), "use super::b::B;\npub struct A;\n").unwrap();
    fs::write(src.join("app/follow/b.rs"), "use super::a::A;\npub struct B;\n").unwrap();
    let Some((ok, printed)) = check(Some(dir.path())) else { return };
    assert!(!ok, "{printed}");
    for breach in [
        "src/engine/long.rs: 512 lines",
        "src/engine/long.rs:1: fn long is 72 lines",
        "src/engine/up.rs uses src/app/follow/mod.rs, a layer above it",
        "src/app/nowhere.rs is in no layer",
        "files that use each other: src/app/follow/a.rs, src/app/follow/b.rs",
    ] {
        assert!(printed.contains(breach), "missing {breach:?} in:\n{printed}");
    }
}
