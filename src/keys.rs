//! The configuration keys as documentation. README.md's key tables (each
//! between `keys` markers; one table, or one per provider) are the single
//! source: they are compiled in, parsed here
//! and rendered into the man page's CONFIGURATION section
//! (`scripts/generate.sh`). `tests/generated.rs` checks the table against
//! the parser in both directions: every key listed is accepted, and every
//! key the parser accepts is listed.

/// README.md, whose key table this module reads.
const README: &str = include_str!("../README.md");

/// The line before README's key table.
pub const BEGIN: &str =
    "<!-- BEGIN keys: the man page's CONFIGURATION section is generated from this table -->";
/// The line after it.
pub const END: &str = "<!-- END keys -->";

/// One row of the key table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The dotted names the row documents (`sip.password_env`,
    /// `sip.password_file`...). A name with a `<...>` part stands for a
    /// family (`schedule.<weekday>`).
    pub names: Vec<String>,
    /// The default as written (Markdown), empty when there is none.
    pub default: String,
    /// What it does (Markdown).
    pub meaning: String,
}

/// The key table of README.md as compiled in.
pub fn keys() -> Vec<Key> {
    parse_table(README).unwrap_or_else(|e| panic!("README.md: {e}"))
}

/// Splits a Markdown table row on its unescaped `|`.
fn cells(row: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = row.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell).trim().to_string()),
            c => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        cells.push(cell.trim().to_string());
    }
    cells
}

/// The names of a first cell such as `` `sip.password_env` / `password_file` ``:
/// each backquoted name, a name without a dot taking the section of the one
/// before it.
fn row_names(cell: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for name in cell.split('`').skip(1).step_by(2) {
        let name = if name.contains('.') {
            name.to_string()
        } else {
            let section = names
                .last()
                .and_then(|n| n.split_once('.'))
                .map(|(s, _)| s.to_string())
                .ok_or_else(|| format!("key {name:?} has no section (write section.{name})"))?;
            format!("{section}.{name}")
        };
        names.push(name);
    }
    if names.is_empty() {
        return Err(format!("no `key` in the first cell of {cell:?}"));
    }
    Ok(names)
}

/// Parses every key table between [`BEGIN`] and [`END`], in order.
pub fn parse_table(readme: &str) -> Result<Vec<Key>, String> {
    let mut rows = Vec::new();
    let mut rest = readme;
    while let Some(at) = rest.find(BEGIN) {
        let start = at + BEGIN.len();
        let end = rest[start..]
            .find(END)
            .map(|e| start + e)
            .ok_or_else(|| format!("no line {END} after a key table"))?;
        rows.extend(
            rest[start..end]
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with('|'))
                .skip(2),
        );
        rest = &rest[end..];
    }
    if rows.is_empty() {
        return Err(format!("no key table after a line {BEGIN}"));
    }
    let mut keys = Vec::new();
    for row in rows {
        let cells = cells(row);
        let [name, default, meaning] = cells.as_slice() else {
            return Err(format!("key table row {row:?} does not have 3 cells"));
        };
        keys.push(Key {
            names: row_names(name)?,
            default: default.clone(),
            meaning: meaning.clone(),
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_table_parses_with_unique_dotted_names() {
        let mut seen = std::collections::HashSet::new();
        let keys = keys();
        assert!(keys.len() > 10, "{keys:?}");
        for key in keys {
            for name in key.names {
                assert!(name.contains('.'), "{name}: expected section.key");
                assert!(seen.insert(name.clone()), "{name} is listed twice");
            }
        }
        assert!(seen.contains("pool.name"));
    }

    #[test]
    fn rows_inherit_sections_and_keep_escaped_pipes() {
        let readme = format!(
            "x\n{BEGIN}\n| key | default | meaning |\n|---|---|---|\n\
             | `sip.password_env` / `password_file` | none | a \\| b |\n{END}\n"
        );
        let twice = format!(
            "{readme}\n{}",
            readme.replace("sip.password_env", "media.password_env")
        );
        let keys = parse_table(&twice).unwrap();
        assert_eq!(keys[0].names, ["sip.password_env", "sip.password_file"]);
        assert_eq!(keys[0].meaning, "a | b");
        assert_eq!(keys[1].names, ["media.password_env", "media.password_file"]);
        assert!(parse_table("no table").is_err());
        let orphan = format!("{BEGIN}\n| k | d | m |\n|-|-|-|\n| `password` | | |\n{END}");
        assert!(parse_table(&orphan).unwrap_err().contains("no section"));
    }
}
