//! Fuzzes the log decoders of the observe phase.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    improve::observe::fuzz_decode(data);
});
