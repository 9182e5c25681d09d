//! The layers of `src/` (docs/architecture.md): each folder is a layer, and a module may use
//! its own layer and the layers below, never one above; no two modules use each other, directly
//! or through others. Read from the source: `crate::LAYER::MODULE` paths in code outside
//! `#[cfg(test)]` modules (test fixtures may reach up, e.g. a path's tests generating a fleet).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom to top.
const LAYERS: [&str; 11] = [
    "support", "domain", "store", "paths", "backends", "analysis", "fleet", "harness", "report",
    "cli", "cmd",
];

fn rank(layer: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| *l == layer)
        .unwrap_or_else(|| panic!("src/{layer} is not a known layer"))
}

/// (module path like `paths::batched`, its code without `#[cfg(test)]` modules).
fn modules() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            let name = parts.join("::");
            // A `tests.rs` is a unit-test module (`#[cfg(test)] mod tests;`): test code may
            // build fixtures from any layer.
            if name == "lib" || name == "main" || parts.last().is_some_and(|l| l == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code = match text
                .find("#[cfg(test)]\nmod tests")
                .or_else(|| text.find("#[cfg(test)]\npub(crate) mod tests"))
            {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.push((name, code));
        }
    }
    out.sort();
    out
}

/// Module → the modules (two levels: `layer::module`) its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let known: BTreeSet<String> = mods
        .iter()
        .map(|(n, _)| n.split("::").take(2).collect::<Vec<_>>().join("::"))
        .collect();
    let mut g = BTreeMap::new();
    for (name, code) in &mods {
        let me = name.split("::").take(2).collect::<Vec<_>>().join("::");
        let mut uses = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let two: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).take(2).collect();
            let target = two.join("::");
            if known.contains(&target) && target != me {
                uses.insert(target);
            } else if two.len() == 2 && known.contains(two[0]) && two[0] != me {
                uses.insert(two[0].to_string());
            }
        }
        g.entry(me).or_insert_with(BTreeSet::new).extend(uses);
    }
    g
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let mut up = Vec::new();
    for (m, uses) in graph() {
        let mine = rank(m.split("::").next().unwrap());
        for u in uses {
            if rank(u.split("::").next().unwrap()) > mine {
                up.push(format!("{m} uses {u}"));
            }
        }
    }
    assert!(up.is_empty(), "imports up a layer:\n{}", up.join("\n"));
}

#[test]
fn no_modules_use_each_other_in_a_circle() {
    let g = graph();
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let at = path.iter().position(|p| p == n).unwrap();
                let mut cycle = path[at..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if let Some(c) = visit(n, &g, &mut state, &mut Vec::new()) {
            panic!("a circle of imports: {}", c.join(" → "));
        }
    }
}

#[test]
fn every_layer_says_what_it_owns_and_may_import() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for layer in &LAYERS[..LAYERS.len() - 2] {
        let doc = std::fs::read_to_string(src.join(layer).join("mod.rs")).unwrap();
        assert!(doc.starts_with("//! "), "src/{layer}/mod.rs: no module doc");
        assert!(
            doc.contains("May import:"),
            "src/{layer}/mod.rs: no `May import:` line"
        );
    }
}

#[test]
fn the_library_knows_nothing_of_the_command_line() {
    let mut found = Vec::new();
    for (name, code) in modules() {
        if name == "cli" || name.starts_with("cmd") {
            continue;
        }
        // anyhow too: the library's errors are thiserror enums with their sources.
        for word in ["clap::", "indicatif", "anyhow"] {
            if code.contains(word) {
                found.push(format!("{name} names {word}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every `tests.rs` under `src/` is a unit-test module its parent declares under
/// `#[cfg(test)]`, so the layer check above may skip it.
#[test]
fn unit_test_files_are_compiled_for_tests_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "tests.rs") {
                let parent = if dir.join("mod.rs").exists() {
                    dir.join("mod.rs")
                } else {
                    dir.with_extension("rs")
                };
                let text = std::fs::read_to_string(&parent).unwrap();
                assert!(
                    text.contains("#[cfg(test)]\nmod tests;")
                        || text.contains("#[cfg(test)]\npub(crate) mod tests;"),
                    "{}: declares tests.rs without #[cfg(test)]",
                    parent.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0);
}
