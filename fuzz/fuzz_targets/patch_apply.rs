//! Fuzzes the patch functions: input is `old \0 new \0 patch`. A diff of old and new
//! must apply and reverse exactly; applying arbitrary patch text must not panic.
#![no_main]
use improve::propose::patch::{apply, reverse, unified_diff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let old = parts.next().unwrap_or("");
    let new = parts.next().unwrap_or("");
    let raw = parts.next().unwrap_or("");
    let patch = unified_diff("f.txt", Some(old), Some(new));
    assert_eq!(apply(old, &patch).expect("own diff applies"), new);
    assert_eq!(apply(new, &reverse(&patch)).expect("reverse applies"), old);
    let created = unified_diff("f.txt", None, Some(new));
    assert_eq!(apply("", &created).expect("creation applies"), new);
    let _ = apply(old, raw);
    let _ = apply(old, &reverse(raw));
});
