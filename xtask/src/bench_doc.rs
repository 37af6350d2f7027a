//! `docs/benchmarks.md` holds one section per benchmark, between `<!-- bench:NAME -->` and
//! `<!-- /bench:NAME -->`. Each benchmark replaces only its own section, so the others'
//! figures and the hand-written notes outside the markers stay.

use anyhow::Result;

use crate::util;

/// `text` with the section `name` set to `body` (appended at the end when missing).
pub fn replace_section(text: &str, name: &str, body: &str) -> String {
    let open = format!("<!-- bench:{name} -->");
    let close = format!("<!-- /bench:{name} -->");
    let section = format!("{open}\n{}\n{close}", body.trim());
    match (text.find(&open), text.find(&close)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{section}{}", &text[..start], &text[end + close.len()..])
        }
        _ => format!("{}\n\n{section}\n", text.trim_end()),
    }
}

/// Writes `body` as the section `name` of `docs/benchmarks.md`.
pub fn write_section(name: &str, body: &str) -> Result<()> {
    let path = util::root().join("docs").join("benchmarks.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(&path, replace_section(&text, name, body))?;
    eprintln!("xtask: wrote the {name} section of docs/benchmarks.md");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    #[test]
    fn only_the_named_section_changes() {
        let doc = "# B\n\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\n\nnotes\n\n<!-- bench:b -->\nold b\n<!-- /bench:b -->\n";
        let new = replace_section(doc, "a", "new a");
        assert_eq!(
            new,
            "# B\n\n<!-- bench:a -->\nnew a\n<!-- /bench:a -->\n\nnotes\n\n<!-- bench:b -->\nold b\n<!-- /bench:b -->\n"
        );
        let added = replace_section(doc, "c", "c!");
        assert!(added.starts_with(doc.trim_end()));
        assert!(added.ends_with("\n\n<!-- bench:c -->\nc!\n<!-- /bench:c -->\n"));
    }
}
