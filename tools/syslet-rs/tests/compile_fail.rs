// SPDX-License-Identifier: GPL-2.0

//! The crate's `compile_fail` doctests, checked for their error codes.
//!
//! Stable rustdoc only checks that a `compile_fail` snippet fails to
//! build, for any reason: the `E0505` in "```compile_fail,E0505" is read
//! by nightly rustdoc only. So a snippet that stopped failing for its
//! reason (the borrow the crate's API must refuse) and failed for another
//! one (a typo, a changed signature) would still pass. This test finds
//! every such snippet in `src/`, builds it with rustc against the crate
//! (built here as an rlib), and requires that its errors are exactly
//! the codes the snippet names. A snippet that builds, or a `compile_fail`
//! without a code, fails the test; so does a control snippet that must
//! build but does not (a harness that cannot build anything would
//! otherwise fail every snippet, if with other codes).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's sources. Where cargo runs the test from, not where it was
/// compiled: a test binary reused from a shared target directory may have
/// been built from a checkout at another path.
fn src() -> String {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    format!("{dir}/src")
}
const TMP: &str = env!("CARGO_TARGET_TMPDIR");

struct Snippet {
    file: String,
    line: usize,
    /// The codes after `compile_fail` (rustdoc allows several).
    codes: Vec<String>,
    body: String,
}

/// The `compile_fail` blocks of the `///` and `//!` comments of `text`.
fn snippets(file: &str, text: &str) -> Vec<Snippet> {
    enum State {
        Prose,
        OtherBlock,
        Fail(Snippet),
    }
    let mut out = Vec::new();
    let mut state = State::Prose;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) else {
            assert!(matches!(state, State::Prose), "{file}:{}: a doc block that does not end", i + 1);
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        let fence = doc.trim_end().strip_prefix("```");
        state = match (state, fence) {
            (State::Prose, Some(attrs)) => {
                let attrs: Vec<&str> = attrs.split(',').map(str::trim).collect();
                if attrs.contains(&"compile_fail") {
                    let mut codes: Vec<String> = attrs
                        .iter()
                        .filter(|a| a.len() == 5 && a.starts_with('E'))
                        .map(|a| a.to_string())
                        .collect();
                    codes.sort();
                    State::Fail(Snippet { file: file.to_string(), line: i + 1, codes, body: String::new() })
                } else {
                    State::OtherBlock
                }
            }
            (State::Prose, None) => State::Prose,
            (State::OtherBlock, Some("")) => State::Prose,
            (State::OtherBlock, _) => State::OtherBlock,
            (State::Fail(s), Some("")) => {
                out.push(s);
                State::Prose
            }
            (State::Fail(mut s), _) => {
                // Rustdoc's hidden lines: "# code" is code, "#" empty.
                let code = match doc {
                    "#" => "",
                    d => d.strip_prefix("# ").unwrap_or(d),
                };
                s.body.push_str(code);
                s.body.push('\n');
                State::Fail(s)
            }
        };
    }
    assert!(matches!(state, State::Prose), "{file}: a doc block that does not end");
    out
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

/// The crate as an rlib in a directory of its own; its path.
fn build_crate(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = rustc()
        .args(["--edition", "2021", "--crate-type", "rlib", "--crate-name", "syslet", "-C", "debuginfo=0"])
        .arg("--out-dir")
        .arg(dir)
        .arg(format!("{}/lib.rs", src()))
        .output()
        .expect("run rustc");
    assert!(out.status.success(), "building the crate: {}", String::from_utf8_lossy(&out.stderr));
    dir.join("libsyslet.rlib")
}

/// Builds `body` as rustdoc would (inside `fn main` unless it has one),
/// linked against the rlib; returns (built, stderr).
fn build_snippet(rlib: &Path, dir: &Path, name: &str, body: &str) -> (bool, String) {
    let src = if body.contains("fn main") {
        format!("#![allow(unused)]\n{body}")
    } else {
        format!("#![allow(unused)]\nfn main() {{\n{body}}}\n")
    };
    let path = dir.join(format!("{name}.rs"));
    std::fs::write(&path, src).unwrap();
    let out = rustc()
        .args(["--edition", "2021", "--crate-type", "bin", "-C", "debuginfo=0"])
        .arg("--extern")
        .arg(format!("syslet={}", rlib.display()))
        .arg("-o")
        .arg(dir.join(name))
        .arg(&path)
        .output()
        .expect("run rustc");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The distinct `error[E....]` codes of rustc's output.
fn error_codes(stderr: &str) -> Vec<String> {
    let mut codes: Vec<String> = stderr
        .match_indices("error[E")
        .map(|(i, _)| stderr[i + 6..i + 11].to_string())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn the_parser_finds_blocks_codes_and_hidden_lines() {
    let text = "/// ```\n/// ok();\n/// ```\n/// ```compile_fail,E0597,E0505\n/// # hidden();\n/// shown();\n///\n/// ```\nfn f() {}\n//! ```compile_fail\n//! x\n//! ```\n";
    let s = snippets("t.rs", text);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].line, &s[0].codes[..]), (4, &["E0505".to_string(), "E0597".to_string()][..]));
    assert_eq!(s[0].body, "hidden();\nshown();\n\n");
    assert_eq!((s[1].line, s[1].codes.len(), s[1].body.as_str()), (10, 0, "x\n"));
    assert_eq!(error_codes("error[E0505]: a\nerror[E0502]: b\nerror[E0505]: c\nerror: aborting"), ["E0502", "E0505"]);
}

#[test]
fn compile_fail_snippets_fail_with_their_error_code() {
    let dir = Path::new(TMP).join("compile_fail");
    let rlib = build_crate(&dir);

    // Control: the harness can build a snippet that uses the crate.
    let control = "let mut data = [0u8; 8];\nsyslet::scope(2, |ring| {\n    let mut c = syslet::Chain::new();\n    let b = c.buf_mut(&mut data);\n    c.getdents64(syslet::FdArg::Cwd, b);\n    let _ = ring.submit(c);\n}).unwrap();\nlet _ = data[0];\n";
    let (built, stderr) = build_snippet(&rlib, &dir, "control", control);
    assert!(built, "the control snippet must build: {stderr}");

    let mut all = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(src()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        all.extend(snippets(&name, &std::fs::read_to_string(f).unwrap()));
    }
    // ring.rs's three (a buffer freed, ended or read while lent) and
    // spawn.rs's (captures with drop glue), at least.
    assert!(all.len() >= 4, "found only {} compile_fail snippets", all.len());

    let mut failures = Vec::new();
    for (n, s) in all.iter().enumerate() {
        let at = format!("{}:{}", s.file, s.line);
        if s.codes.is_empty() {
            failures.push(format!("{at}: compile_fail without an error code"));
            continue;
        }
        let (built, stderr) = build_snippet(&rlib, &dir, &format!("snippet{n}"), &s.body);
        let codes = error_codes(&stderr);
        if built {
            failures.push(format!("{at}: builds, but must fail with {:?}", s.codes));
        } else if codes != s.codes {
            failures.push(format!("{at}: wanted exactly {:?}, got {codes:?}:\n{stderr}", s.codes));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
