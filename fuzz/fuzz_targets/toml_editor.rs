//! Fuzzes the Toml literal editor: the first line of the input is the name to look
//! up, the rest is the file. Errors are fine; panics and broken invariants are not.
#![no_main]
use improve::propose::edit::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (name, src) = text.split_once('\n').unwrap_or((&text, ""));
    improve_fuzz_common::check_editor(Format::Toml, src, name);
});

#[path = "common.rs"]
mod improve_fuzz_common;
