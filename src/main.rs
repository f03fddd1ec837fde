//! The `improve` binary: the command line. It parses, dispatches to the library,
//! formats what each command shows and maps the result to an exit code; the library
//! never prints, so nothing in it can depend on this crate.

mod cli;

fn main() {
    let code = cli::main();
    std::process::exit(code);
}
