//! The shell's modules (`src/web/`) import one another one way only: no module imports one that
//! imports it back, directly or through others, and none imports from a layer above its own.
//! Read from the source: `use super::m`, `super::m::…` and `crate::web::m` in each module, and
//! `m::…` in `mod.rs`.

use std::collections::BTreeMap;
use std::fs;

/// Each module of `src/web/` (`mod` for `mod.rs`) and the sibling modules it refers to.
fn imports() -> BTreeMap<String, Vec<String>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web");
    let mut sources = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("src/web") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            sources.insert(name, fs::read_to_string(&path).expect("a module"));
        }
    }
    let names: Vec<String> = sources.keys().filter(|n| *n != "mod").cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, text) in &sources {
        // Code only: comments (doc links included) say nothing about imports.
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let mut used = Vec::new();
        for other in names.iter().filter(|n| *n != module) {
            let mut prefixes = vec![
                format!("super::{other}::"),
                format!("super::{other};"),
                format!("super::{other}}}"),
                format!("super::{other},"),
                format!("crate::web::{other}"),
            ];
            if module == "mod" {
                prefixes.push(format!("{other}::"));
            }
            let refers = prefixes.iter().any(|p| {
                code.match_indices(p.as_str()).any(|(i, _)| {
                    // `m::` must not be the end of a longer path or name (`x_m::`, `y::m::`).
                    let before = code[..i].chars().next_back();
                    p.starts_with("super")
                        || p.starts_with("crate")
                        || !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                })
            }) || (code.contains("use super::{") && {
                // `use super::{a, b::C};`
                code.split("use super::{").skip(1).any(|rest| {
                    let list = rest.split('}').next().unwrap_or("");
                    list.split(',').any(|item| {
                        let item = item.trim();
                        item == other || item.starts_with(&format!("{other}::"))
                    })
                })
            });
            if refers {
                used.push(other.clone());
            }
        }
        graph.insert(module.clone(), used);
    }
    graph
}

/// A circle of imports, if there is one.
fn circle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut c = path[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(node.to_string());
        None
    }
    let mut done = Vec::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// The layers, bottom up (as the crate docs draw them): a module may import from its own layer
/// (without a circle) and from those below, never from one above.
const LAYERS: &[(&str, &[&str])] = &[
    ("bindings and glue", &["js"]),
    ("data", &["response", "wait", "options", "store"]),
    ("the core shell", &["mod", "send", "flight", "page"]),
    ("OAuth, DPoP and cookie sessions", &["oauth", "dpop", "bff"]),
    ("the exports", &["exports"]),
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, ms)| ms.contains(&module))
        .unwrap_or_else(|| panic!("src/web/{module}.rs is in no layer: add it to LAYERS"))
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let g = imports();
    let mut upward = Vec::new();
    for (module, used) in &g {
        for u in used {
            if layer_of(u) > layer_of(module) {
                upward.push(format!(
                    "{module} ({}) imports {u} ({})",
                    LAYERS[layer_of(module)].0,
                    LAYERS[layer_of(u)].0
                ));
            }
        }
    }
    assert!(upward.is_empty(), "{upward:#?}");
}

#[test]
fn the_reader_sees_imports() {
    // The check reads what it should: known one-way imports are found.
    let g = imports();
    assert!(g["flight"].contains(&"wait".to_string()), "{g:?}");
    assert!(g["store"].contains(&"options".to_string()), "{g:?}");
    assert!(g["mod"].contains(&"flight".to_string()), "{g:?}");
    assert!(!g["js"].iter().any(|m| m != "js"), "js imports none: {g:?}");
}

#[test]
fn no_module_of_the_shell_imports_one_that_imports_it_back() {
    let g = imports();
    assert_eq!(circle(&g), None, "imports: {g:?}");
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), vec!["b".to_string()]);
    g.insert("b".to_string(), vec!["c".to_string()]);
    g.insert("c".to_string(), vec!["a".to_string()]);
    assert_eq!(
        circle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
