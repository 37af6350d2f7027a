//! The README's configuration table is the configuration: it lists exactly the variables
//! the binary reads (`config::VARIABLES`), and the source reads no variable that list
//! does not name.

use std::collections::BTreeSet;
use std::path::Path;

use portcullis_server::config::VARIABLES;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `PORTCULLIS_…` names in `text` (a name is upper-case letters, digits and `_`).
fn names(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("PORTCULLIS_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

fn source_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_readme_lists_every_variable_the_binary_reads() {
    let readme = std::fs::read_to_string(manifest_dir().join("../../README.md")).unwrap();
    let start = readme
        .find("## Configuration")
        .expect("a configuration section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let table: BTreeSet<String> = section
        .lines()
        .filter(|l| l.starts_with("| `PORTCULLIS_"))
        .flat_map(names)
        .collect();
    let declared: BTreeSet<String> = VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    assert_eq!(
        table, declared,
        "the README table and config::VARIABLES differ"
    );

    // Every variable the server's and the use cases' sources name is declared.
    let mut files = Vec::new();
    source_files(&manifest_dir().join("src"), &mut files);
    source_files(&manifest_dir().join("../portcullis-app/src"), &mut files);
    let mut read = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in names(&text) {
            // `PORTCULLIS_` alone is the prefix, in the code that reads the file's names.
            if name != "PORTCULLIS_" {
                read.insert(name);
            }
        }
    }
    let undeclared: Vec<_> = read.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "read but not in config::VARIABLES: {undeclared:?}"
    );
}
