//! Writes the package's public types for this build into `OUT_DIR/types.d.ts`: the lines of
//! `src/web/types.d.ts` for this build's features (`oauth`: `reauth/oauth`; `bff`:
//! `reauth/bff`; neither: the core, `reauth`), picked by `//#if FEATURE` (`//#if !FEATURE`),
//! `//#else` and `//#end` lines.

use std::{env, fs, path::Path};

fn main() {
    let source = "src/web/types.d.ts";
    println!("cargo::rerun-if-changed={source}");
    let on = |feature: &str| {
        let var = format!("CARGO_FEATURE_{}", feature.to_uppercase());
        env::var_os(var).is_some()
    };
    let text = fs::read_to_string(source).expect("src/web/types.d.ts");
    // Whether the lines being read are kept: one flag per open `//#if`.
    let mut keep: Vec<bool> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim();
        if let Some(cond) = t.strip_prefix("//#if ") {
            let cond = cond.trim();
            keep.push(match cond.strip_prefix('!') {
                Some(f) => !on(f),
                None => on(cond),
            });
        } else if t == "//#else" {
            let k = keep.last_mut().expect("//#else without //#if");
            *k = !*k;
        } else if t == "//#end" {
            keep.pop().expect("//#end without //#if");
        } else if keep.iter().all(|k| *k) {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(keep.is_empty(), "an //#if without //#end in {source}");
    let dir = env::var("OUT_DIR").expect("OUT_DIR");
    fs::write(Path::new(&dir).join("types.d.ts"), out).expect("OUT_DIR/types.d.ts");
}
