//! The workspace's layering, checked from the source: between the top-level modules of every crate
//! the imports (`crate::…` paths, including the crate root's re-exports) point one way. A cycle
//! fails the test, naming the modules and, for each arrow of one cycle, a file that makes it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One crate's top-level modules and, for each arrow between two of them, a file that makes it.
#[derive(Debug, Default)]
struct ModuleGraph {
    arrows: BTreeMap<String, BTreeMap<String, PathBuf>>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every crate of the repository: a folder with a `Cargo.toml` and a `src/`.
fn crates(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            found.push(dir.clone());
        }
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir()
                && !name.starts_with('.')
                && name != "target"
                && name != "node_modules"
                && name != "vendor"
            {
                pending.push(path);
            }
        }
    }
    found.sort();
    found
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The source without comments (line and block) and without the contents of string literals, so
/// neither a doc link nor a URL counts as an import.
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if let Some(raw) = rest.strip_prefix("r#\"") {
            i += raw.find("\"#").map_or(rest.len(), |end| end + 5);
            out.push_str("\"\"");
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            i += (j + 1).min(rest.len());
            out.push_str("\"\"");
        } else if rest.starts_with('\'') && rest.len() > 2 && rest[1..].chars().nth(1) == Some('\'')
        {
            // A char literal such as '"' or '{'.
            let width = rest[1..].chars().next().map_or(1, char::len_utf8);
            i += width + 2;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first segments of every `crate::` path: `crate::a::b` gives `a`, `crate::{a::b, c}` gives
/// `a` and `c`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        if code[..start]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == '$')
        {
            continue; // `$crate::` or `huifang_crate::`
        }
        let rest = code[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.extend(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.extend(first_segment(&item));
        } else {
            names.extend(first_segment(rest));
        }
    }
    names
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| is_ident(*c))
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// The names the crate root re-exports (`pub use module::{A, B}`), each with its module.
fn root_exports(root_file: &Path) -> BTreeMap<String, String> {
    let mut exports = BTreeMap::new();
    let code = code_only(&fs::read_to_string(root_file).unwrap_or_default());
    for statement in code.split(';') {
        let statement = statement.trim();
        let Some(path) = statement
            .strip_prefix("pub use ")
            .or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let path = path
            .trim_start_matches("crate::")
            .trim_start_matches("self::");
        let Some(module) = first_segment(path) else {
            continue;
        };
        let tail = &path[module.len()..];
        let names: Vec<String> = match (tail.find('{'), tail.rfind('}')) {
            (Some(open), Some(close)) => tail[open + 1..close]
                .split(',')
                .filter_map(|item| item.rsplit(" as ").next().map(str::trim).map(str::to_owned))
                .map(|item| item.rsplit("::").next().unwrap_or_default().to_owned())
                .collect(),
            _ => vec![
                tail.rsplit(" as ")
                    .next()
                    .unwrap_or_default()
                    .rsplit("::")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            ],
        };
        for name in names.into_iter().filter(|n| !n.is_empty() && n != "self") {
            exports.insert(name, module.clone());
        }
    }
    exports
}

fn module_graph(crate_dir: &Path) -> ModuleGraph {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&src).ok())
        .filter_map(|rel| rel.components().next())
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut exports = root_exports(&src.join("lib.rs"));
    exports.extend(root_exports(&src.join("main.rs")));
    let mut graph = ModuleGraph::default();
    for file in &files {
        let Some(from) = file
            .strip_prefix(&src)
            .ok()
            .and_then(|rel| rel.components().next())
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
        else {
            continue;
        };
        if from == "lib" || from == "main" {
            continue; // the root declares and re-exports every module
        }
        let code = code_only(&fs::read_to_string(file).unwrap_or_default());
        for name in crate_paths(&code) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(module) = exports.get(&name) {
                module.clone()
            } else {
                continue; // an item defined in the root itself
            };
            if to != from {
                graph
                    .arrows
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g ModuleGraph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.arrows.get(v).into_iter().flat_map(|a| a.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.arrows.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

/// One closed path through a cycle's modules, each arrow with a file that makes it.
fn explain(graph: &ModuleGraph, component: &[String]) -> String {
    let inside: BTreeSet<&str> = component.iter().map(String::as_str).collect();
    let start = component[0].as_str();
    // Breadth-first from `start` back to `start` within the component.
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(v) = queue.pop_front() {
        for w in graph.arrows.get(v).into_iter().flat_map(|a| a.keys()) {
            let w = w.as_str();
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                last = Some(v);
                break 'search;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut back = Vec::new();
    let mut at = last.unwrap_or(start);
    while at != start {
        back.push(at);
        at = came_from.get(at).copied().unwrap_or(start);
    }
    let mut path = vec![start];
    path.extend(back.into_iter().rev());
    path.push(start);
    path.windows(2)
        .map(|pair| {
            let file = graph
                .arrows
                .get(pair[0])
                .and_then(|a| a.get(pair[1]))
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            format!("    {} → {}   ({file})", pair[0], pair[1])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_crate_has_an_import_cycle_between_its_top_level_modules() {
    let root = workspace_root();
    let crates = crates(&root);
    assert!(
        crates.iter().any(|c| c.ends_with("client-core")),
        "the crates were not found from {}",
        root.display()
    );
    let mut report = Vec::new();
    for dir in &crates {
        let graph = module_graph(dir);
        let name = dir.strip_prefix(&root).unwrap_or(dir);
        for component in cycles(&graph) {
            report.push(format!(
                "{}: {} modules import each other: {}\n{}",
                name.display(),
                component.len(),
                component.join(", "),
                explain(&graph, &component)
            ));
        }
    }
    assert!(report.is_empty(), "import cycles:\n{}", report.join("\n"));
}

/// The check itself finds what it must: grouped and nested imports, re-exports through the root,
/// and it ignores comments, doc links and strings.
#[test]
fn the_check_sees_grouped_imports_and_ignores_comments_and_strings() {
    let code = code_only(
        r#"use crate::{a::{X, Y}, b};
           // use crate::c;
           /// [`crate::d`]
           let s = "crate::e";
           let c = '"';
           crate::f::g();
           $crate::h::i();"#,
    );
    assert_eq!(crate_paths(&code), ["a", "b", "f"]);

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("store")).unwrap_or_else(|e| panic!("{e}"));
    let write = |path: &str, text: &str| {
        fs::write(src.join(path), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(
        "lib.rs",
        "mod store; mod sync; mod session;\npub use store::Store;\n",
    );
    write("store.rs", "mod inner;\nuse crate::session::Session;\n");
    write("store/inner.rs", "fn f() { crate::sync::run() }\n");
    write("sync.rs", "use crate::Store;\n");
    write("session.rs", "//! see [`crate::sync`]\n");
    let graph = module_graph(dir.path());
    assert_eq!(
        cycles(&graph),
        vec![vec!["store".to_owned(), "sync".to_owned()]]
    );
    let why = explain(&graph, &["store".to_owned(), "sync".to_owned()]);
    assert!(
        why.contains("store → sync") && why.contains("inner.rs"),
        "{why}"
    );
    assert!(why.contains("sync → store"), "{why}");
}

/// The `[dependencies]` of a crate's manifest, by name.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = fs::read_to_string(workspace_root().join(krate).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("{krate}/Cargo.toml: {e}"));
    let mut section = String::new();
    let mut found = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section != "[dependencies]" || line.is_empty() || line.starts_with('#') {
            continue;
        }
        found.push(
            line.split(['=', '.', ' '])
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    found
}

/// The crates below the HTTP layer know nothing of HTTP, templates, spreadsheets or the command
/// line: a query change recompiles none of them, and the domain cannot reach for a request.
#[test]
fn no_crate_below_http_depends_on_the_web_stack() {
    const WEB_STACK: &[&str] = &[
        "axum",
        "axum-extra",
        "tower",
        "tower-http",
        "askama",
        "rust_xlsxwriter",
        "clap",
        "hyper",
    ];
    for krate in ["server/core", "server/store", "protocol"] {
        let found: Vec<String> = dependencies(krate)
            .into_iter()
            .filter(|name| WEB_STACK.contains(&name.as_str()))
            .collect();
        assert!(found.is_empty(), "{krate} depends on {found:?}");
    }
}

/// SQL is the store's alone: the domain and the HTTP layer reach the database only through the
/// store's typed queries, so neither depends on the database driver.
#[test]
fn only_the_store_speaks_sql() {
    let deps = dependencies("server/store");
    assert!(
        deps.iter().any(|d| d == "sqlx"),
        "the store uses sqlx: {deps:?}"
    );
    for krate in ["server/core", "server/http"] {
        let deps = dependencies(krate);
        assert!(
            !deps.iter().any(|d| d == "sqlx"),
            "{krate} depends on sqlx; its queries belong in server/store"
        );
    }
}
