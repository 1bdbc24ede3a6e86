//! The layout of `src/` (DESIGN.md "Modules"): no import cycle between the
//! top-level modules, and the layering that keeps it so — the model depends
//! on nothing of ours, the command line only on leaf modules, the planner on
//! no adapter, the report on no command. Also: comments cite the design by
//! sections that exist in docs/DESIGN.md, never a document outside the tree. Dependencies are read from the
//! source text: every `crate::name` path (`use crate::{a::X, b}` groups
//! included) and every `super::` path that climbs to the crate root, outside
//! comments, string literals and test code (`#[cfg(test)]` items and
//! `tests.rs` files). `lib.rs` and `main.rs` wire everything and are not
//! modules of the graph.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// Where one module names another.
#[derive(Debug, Clone)]
struct Site {
    file: PathBuf,
    line: usize,
}

/// Module → module it depends on → the first place that says so.
type Graph = BTreeMap<String, BTreeMap<String, Site>>;

/// The source text with comments and the contents of string and character
/// literals replaced by spaces (newlines kept, so line numbers stay right).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_char(prev(&chars, i)) {
            // A raw string r"..." or r#"..."#: ends at the quote followed by as many #.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            out.push_str(&" ".repeat(hashes + 2));
            i += hashes + 2;
            while i < chars.len() && !chars[i..].starts_with(&close.chars().collect::<Vec<_>>()) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push_str(&" ".repeat(close.len()));
            i += close.len();
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let skip = if chars[i] == '\\' { 2 } else { 1 };
                for _ in 0..skip {
                    if let Some(&ch) = chars.get(i) {
                        out.push(blank(ch));
                    }
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && char_literal_len(&chars[i..]).is_some() {
            let len = char_literal_len(&chars[i..]).unwrap_or(1);
            out.push_str(&" ".repeat(len));
            i += len;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 { ' ' } else { chars[i - 1] }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The length of a character literal starting at `chars[0] == '\''`
/// (`'a'`, `'\n'`, `'\u{1F600}'`), `None` for a lifetime such as `'a`.
fn char_literal_len(chars: &[char]) -> Option<usize> {
    if chars.get(1) == Some(&'\\') {
        let end = chars.get(3..)?.iter().position(|&c| c == '\'')?;
        return Some(end + 4);
    }
    (chars.get(2) == Some(&'\'')).then_some(3)
}

/// The code with every `#[cfg(test)]` item blanked: from the attribute to
/// the `;` or the matching `}` that ends the item.
fn without_test_items(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let code_len = out.len();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= out.len() {
        if out[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let mut j = i + marker.len();
        let mut depth = 0usize;
        while j < out.len() {
            match out[j] {
                ';' if depth == 0 => break,
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        for c in &mut out[i..(j + 1).min(code_len)] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = j + 1;
    }
    out.into_iter().collect()
}

/// The module path of a file relative to `src/` (`provider/openstack/http.rs`
/// → `provider::openstack::http`, `pool/mod.rs` → `pool`).
fn module_path(relative: &Path) -> Vec<String> {
    let mut path: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = path.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" {
            path.push(stem.to_string());
        }
    }
    path
}

/// The identifiers of the code, with their byte offset.
fn words(code: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices() {
        match (ident_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &code[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &code[s..]));
    }
    out
}

/// The first names of the paths that follow `rest` (`x::...` or a group
/// `{a::X, b, c::{..}}`), each with its byte offset in `rest`.
fn path_heads(rest: &str) -> Vec<(usize, String)> {
    let trimmed = rest.trim_start();
    let offset = rest.len() - trimmed.len();
    if let Some(group) = trimmed.strip_prefix('{') {
        let mut heads = Vec::new();
        let (mut depth, mut item_start) = (0usize, 0usize);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    heads.extend(first_name(&group[item_start..i], offset + 1 + item_start));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    heads.extend(first_name(&group[item_start..i], offset + 1 + item_start));
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        heads
    } else {
        first_name(trimmed, offset).into_iter().collect()
    }
}

fn first_name(item: &str, offset: usize) -> Option<(usize, String)> {
    let trimmed = item.trim_start();
    let name: String = trimmed.chars().take_while(|&c| ident_char(c)).collect();
    (!name.is_empty()).then(|| (offset + item.len() - trimmed.len(), name))
}

/// The top-level modules a file's code names: `crate::x` paths, and
/// `super::` chains that climb out of the file's top-level module.
fn references(code: &str, module: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let words = words(code);
    for (index, &(at, word)) in words.iter().enumerate() {
        let after = &code[at + word.len()..];
        let before = code[..at].trim_end();
        if !after.trim_start().starts_with("::") || before.ends_with("::") {
            continue;
        }
        let mut depth = match word {
            "crate" => module.len(),
            "super" => 1,
            _ => continue,
        };
        let mut rest_at = at + word.len();
        // Follow `super::super::...`.
        let mut next = index + 1;
        if word == "super" {
            while let Some(&(n_at, "super")) = words.get(next) {
                if code[rest_at..n_at].trim() != "::" {
                    break;
                }
                depth += 1;
                rest_at = n_at + "super".len();
                next += 1;
            }
        }
        if depth < module.len() {
            continue;
        }
        let Some(path) = code[rest_at..].trim_start().strip_prefix("::") else {
            continue;
        };
        let path_at = code.len() - path.len();
        out.extend(
            path_heads(path)
                .into_iter()
                .map(|(offset, name)| (path_at + offset, name)),
        );
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The dependency graph between the top-level modules under `src`.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut sources = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src").to_path_buf();
        let module = module_path(&relative);
        let test_file = relative
            .iter()
            .any(|part| part == "tests" || part == "tests.rs");
        if test_file || matches!(module.first().map(String::as_str), Some("main" | "lib")) {
            continue;
        }
        sources.push((file, module));
    }
    let names: BTreeSet<String> = sources.iter().map(|(_, m)| m[0].clone()).collect();
    let mut graph: Graph = names.iter().map(|n| (n.clone(), BTreeMap::new())).collect();
    for (file, module) in &sources {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = without_test_items(&code_only(&text));
        for (at, name) in references(&code, module) {
            if name == module[0] || !names.contains(&name) {
                continue;
            }
            let line = code[..at].matches('\n').count() + 1;
            let site = Site {
                file: Path::new("src").join(file.strip_prefix(src).expect("under src")),
                line,
            };
            graph
                .get_mut(&module[0])
                .expect("known module")
                .entry(name)
                .or_insert(site);
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn tangles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, m: &'a str) {
        let i = w.index.len();
        w.index.insert(m, i);
        w.low.insert(m, i);
        w.stack.push(m);
        w.on_stack.insert(m);
        for n in w.graph[m].keys() {
            let n = n.as_str();
            if !w.index.contains_key(n) {
                visit(w, n);
                let low = w.low[m].min(w.low[n]);
                w.low.insert(m, low);
            } else if w.on_stack.contains(n) {
                let low = w.low[m].min(w.index[n]);
                w.low.insert(m, low);
            }
        }
        if w.low[m] == w.index[m] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                component.push(top.to_string());
                if top == m {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for m in graph.keys() {
        if !walk.index.contains_key(m.as_str()) {
            visit(&mut walk, m);
        }
    }
    walk.found.sort();
    walk.found
}

/// One shortest cycle through the first module of a tangle, each step with
/// the place that makes it.
fn describe(graph: &Graph, tangle: &[String]) -> String {
    let start = &tangle[0];
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start.as_str()]);
    let mut back = None;
    while let Some(m) = queue.pop_front() {
        for n in graph[m].keys().filter(|n| tangle.contains(n)) {
            if n == start {
                back = Some(m);
                break;
            }
            if !came_from.contains_key(n.as_str()) {
                came_from.insert(n, m);
                queue.push_back(n);
            }
        }
        if back.is_some() {
            break;
        }
    }
    let mut path = vec![start.as_str()];
    let mut at = back.expect("a tangle has a cycle");
    while at != start {
        path.push(at);
        at = came_from[at];
    }
    path.push(start);
    path.reverse();
    let steps: Vec<String> = path
        .windows(2)
        .map(|pair| {
            let site = &graph[pair[0]][pair[1]];
            format!(
                "  {} -> {} ({}:{})",
                pair[0],
                pair[1],
                site.file.display(),
                site.line
            )
        })
        .collect();
    format!(
        "modules {} depend on each other:\n{}",
        tangle.join(", "),
        steps.join("\n")
    )
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn dependencies<'a>(graph: &'a Graph, module: &str) -> BTreeSet<&'a str> {
    graph
        .get(module)
        .unwrap_or_else(|| panic!("no module {module} under src/"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let graph = graph(&src());
    assert!(graph.len() > 10, "modules found: {:?}", graph.keys());
    let tangles = tangles(&graph);
    let text: Vec<String> = tangles.iter().map(|t| describe(&graph, t)).collect();
    assert!(tangles.is_empty(), "import cycles:\n{}", text.join("\n"));
}

#[test]
fn the_model_depends_on_nothing_of_ours() {
    assert_eq!(dependencies(&graph(&src()), "model"), BTreeSet::new());
}

#[test]
fn the_command_line_depends_only_on_leaf_modules() {
    let graph = graph(&src());
    for used in dependencies(&graph, "cli") {
        let below = dependencies(&graph, used);
        assert!(
            below.is_empty(),
            "cli uses {used}, which depends on {below:?}: argument types belong in cli.rs"
        );
    }
}

/// The planner takes its model types from `model`, never from the adapters
/// that produce them (`decision`, the pass decision, is held to the same rule
/// when present).
#[test]
fn the_planner_depends_on_no_adapter() {
    let graph = graph(&src());
    let planners = ["plan", "decision"]
        .into_iter()
        .filter(|m| graph.contains_key(*m));
    for planner in planners {
        let used = dependencies(&graph, planner);
        for adapter in ["provider", "pool", "probe", "lock", "metrics"] {
            assert!(
                !used.contains(adapter),
                "{planner} depends on {adapter}: {:?}",
                graph[planner][adapter]
            );
        }
    }
}

#[test]
fn the_report_depends_on_no_command() {
    let graph = graph(&src());
    let used = dependencies(&graph, "report");
    for command in [
        "check", "import", "pass", "simulate", "suggest", "generate", "status",
    ] {
        assert!(
            !used.contains(command),
            "report depends on {command}: {:?}",
            graph["report"][command]
        );
    }
}

/// The reader itself, on a tree made for it: the checks above could not
/// fail if it missed the forms of path they are about.
#[test]
fn the_reader_finds_every_form_of_path_and_only_code() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    };
    write(
        "lib.rs",
        "pub mod a; pub mod b; pub mod c; pub mod d; pub mod e;",
    );
    write("a.rs", "use crate::{\n    b::X,\n    c::{Y, Z},\n};\n");
    write(
        "b.rs",
        "// crate::e in a comment\nconst S: &str = \"crate::e\";\nconst R: &str = r#\"crate::e\"#;\nfn f<'a>(x: &'a str) -> char { 'c' }\n#[cfg(test)]\nmod tests {\n    use crate::e;\n}\n",
    );
    write("c/mod.rs", "pub mod deep;\n");
    write(
        "c/deep.rs",
        "use super::super::d::W;\nuse super::Sibling;\n",
    );
    write("c/tests.rs", "use crate::e::V;\n");
    write("d.rs", "pub fn g() { crate::a::h() }\n");
    write("e.rs", "pub(crate) fn v() {}\n");
    let graph = graph(dir.path());
    let deps = |m: &str| dependencies(&graph, m).into_iter().collect::<Vec<_>>();
    assert_eq!(deps("a"), ["b", "c"]);
    assert_eq!(deps("b"), Vec::<&str>::new());
    assert_eq!(deps("c"), ["d"]);
    assert_eq!(deps("d"), ["a"]);
    assert_eq!(deps("e"), Vec::<&str>::new());
    let tangles = tangles(&graph);
    assert_eq!(tangles, [vec!["a".to_string(), "c".into(), "d".into()]]);
    let text = describe(&graph, &tangles[0]);
    assert!(text.contains("a -> c"), "{text}");
    assert!(text.contains("c -> d"), "{text}");
    assert!(text.contains("d -> a"), "{text}");
    assert!(text.contains("deep.rs:1"), "{text}");
}

/// The headings (`##`, `###`) of docs/DESIGN.md.
fn design_headings() -> BTreeSet<String> {
    let design = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/DESIGN.md");
    let text = fs::read_to_string(&design).expect("docs/DESIGN.md");
    text.lines()
        .filter_map(|l| l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")))
        .map(|h| h.trim().to_string())
        .collect()
}

/// The section names a text cites: after `DESIGN.md`, a name in double
/// quotes, then more after `›` or a comma (comment lines joined, so a
/// citation may wrap).
fn cited_sections(text: &str) -> Vec<String> {
    let text: Vec<&str> = text
        .lines()
        .map(|l| {
            l.trim_start()
                .trim_start_matches('/')
                .trim_start_matches('!')
                .trim()
        })
        .collect();
    let text = text.join(" ");
    let mut out = Vec::new();
    for (at, _) in text.match_indices("DESIGN.md \"") {
        let mut rest = &text[at + "DESIGN.md ".len()..];
        while let Some(quoted) = rest.strip_prefix('"') {
            let Some(end) = quoted.find('"') else { break };
            out.push(quoted[..end].to_string());
            rest = quoted[end + 1..].trim_start();
            match rest.strip_prefix('›').or_else(|| rest.strip_prefix(',')) {
                Some(next) => rest = next.trim_start(),
                None => break,
            }
        }
    }
    out
}

/// Code, tests and README cite the design by sections of docs/DESIGN.md
/// that exist, and never a document outside the repository.
#[test]
fn citations_name_sections_of_the_design_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let headings = design_headings();
    assert!(headings.contains("Decision"), "{headings:?}");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    files.push(root.join("README.md"));
    let outside = [
        concat!("SP", "EC §"),
        concat!("SP", "EC.md"),
        concat!("SP", "EC step"),
    ];
    // (This file spells the patterns it looks for.)
    files.retain(|f| !f.ends_with("tests/layout.rs"));
    for file in files {
        let text = fs::read_to_string(&file).expect("readable");
        for section in cited_sections(&text) {
            assert!(
                headings.contains(&section),
                "{} cites DESIGN.md \"{section}\", which is not a heading of docs/DESIGN.md",
                file.display()
            );
        }
        for pattern in outside {
            assert!(
                !text.contains(pattern),
                "{} cites {pattern:?}, a document outside the repository",
                file.display()
            );
        }
    }
}

#[test]
fn citations_are_read_with_their_subsections() {
    assert_eq!(
        cited_sections(
            r#"(DESIGN.md "Decision" › "Target", "Scale up and packing") and DESIGN.md "Report"."#
        ),
        ["Decision", "Target", "Scale up and packing", "Report"]
    );
}
