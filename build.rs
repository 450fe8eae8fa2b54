//! Writes the package's public types for this build into `OUT_DIR/types.d.ts`: the lines of
//! `src/web/types.d.ts` for the OAuth build (`--features oauth`, `reauth/oauth`) or for the core
//! (`reauth`), picked by `//#if oauth`, `//#else` and `//#end` lines.

use std::{env, fs, path::Path};

fn main() {
    let source = "src/web/types.d.ts";
    println!("cargo::rerun-if-changed={source}");
    let oauth = env::var_os("CARGO_FEATURE_OAUTH").is_some();
    let text = fs::read_to_string(source).expect("src/web/types.d.ts");
    // Whether the lines being read are kept: one flag per open `//#if`.
    let mut keep: Vec<bool> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.trim() {
            "//#if oauth" => keep.push(oauth),
            "//#else" => {
                let k = keep.last_mut().expect("//#else without //#if");
                *k = !oauth;
            }
            "//#end" => {
                keep.pop().expect("//#end without //#if");
            }
            _ if keep.iter().all(|k| *k) => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    assert!(keep.is_empty(), "an //#if without //#end in {source}");
    let dir = env::var("OUT_DIR").expect("OUT_DIR");
    fs::write(Path::new(&dir).join("types.d.ts"), out).expect("OUT_DIR/types.d.ts");
}
