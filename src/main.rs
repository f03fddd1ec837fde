//! The `improve` binary: parse, dispatch, map the result to an exit code. Everything
//! else lives in the library so tests can call it.

fn main() {
    let code = improve::cli::main();
    std::process::exit(code);
}
