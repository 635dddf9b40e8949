//! The session client's TypeScript made into JavaScript for the browser, so that `/app/` works
//! from the sources on a fresh clone with no Node.js: oxc parses each file and strips its types
//! (interfaces, annotations, `import type`, parameter properties become fields), as `tsc` would
//! for `web/tsconfig.json`'s ES2022 target. Nothing is type-checked here; `make test` runs `tsc`.

use oxc::allocator::Allocator;
use oxc::codegen::Codegen;
use oxc::parser::Parser;
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use oxc::transformer::{TransformOptions, Transformer};
use std::path::Path;

/// The JavaScript of the TypeScript module `source` (read from `path`, which names it in
/// errors); `Err` says what oxc refused.
pub fn to_javascript(path: &Path, source: &str) -> Result<String, String> {
    let allocator = Allocator::default();
    let kind = SourceType::ts().with_module(true);
    let parsed = Parser::new(&allocator, source, kind).parse();
    if parsed.diagnostics.has_errors() {
        return Err(describe(path, &parsed.diagnostics));
    }
    let mut program = parsed.program;
    let scoping = SemanticBuilder::new()
        .build(&program)
        .semantic
        .into_scoping();
    let options = TransformOptions::default();
    let done =
        Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
    if done.diagnostics.has_errors() {
        return Err(describe(path, &done.diagnostics));
    }
    Ok(Codegen::new().build(&program).code)
}

fn describe(path: &Path, diagnostics: &oxc::diagnostics::Diagnostics) -> String {
    let first = diagnostics
        .iter()
        .next()
        .map_or_else(String::new, ToString::to_string);
    format!("{}: {first}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_go_and_the_code_stays() {
        let ts = r#"
            import type { Thing } from "./thing.js";
            import { used } from "./used.js";
            export interface Shape { a: number }
            export class Holder {
              constructor(private readonly inner: Thing | null, public n: number = 1) {}
              get value(): number { return used(this.n) satisfies number; }
            }
            export const f = <T,>(x: T): T => x as T;
        "#;
        let js = to_javascript(Path::new("x.ts"), ts).unwrap();
        for gone in [
            "interface",
            "import type",
            ": number",
            "satisfies",
            " as T",
            "private",
        ] {
            assert!(!js.contains(gone), "{gone} left in:\n{js}");
        }
        for kept in [
            "import { used } from \"./used.js\"",
            "this.inner = inner",
            "export const f",
        ] {
            assert!(js.contains(kept), "{kept} missing from:\n{js}");
        }
    }

    #[test]
    fn a_syntax_error_names_the_file() {
        let err = to_javascript(Path::new("web/src/broken.ts"), "export const = ;").unwrap_err();
        assert!(err.starts_with("web/src/broken.ts: "), "{err}");
    }
}
