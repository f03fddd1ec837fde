//! Fuzzes the Python literal editor: the first line of the input is the name to look
//! up (`NAME`, `NAME[key]`, `Class.attr`, `Class.method(param)`), the rest is the file.
//! Errors are fine; panics and broken invariants are not.
#![no_main]
use improve::propose::edit::{find, find_in, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (name, src) = text.split_once('\n').unwrap_or((&text, ""));
    improve_fuzz_common::check_editor(Format::Python, src, name);
    // Naming the file changes the messages, never what is found.
    let plain = find(Format::Python, src, name);
    let named = find_in(Format::Python, "pkg/mod.py", src, name);
    match (plain, named) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("find and find_in disagree"),
    }
});

#[path = "common.rs"]
mod improve_fuzz_common;

