//! `improve completions SHELL` and `improve man`: generated from the clap definitions,
//! so they never drift from the real command line.

use anyhow::Result;
use clap::CommandFactory;

/// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff) to stdout: `improve man > improve.1`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {}

pub fn completions(args: CompletionsArgs) -> Result<i32> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "improve", &mut std::io::stdout());
    Ok(0)
}

pub fn man(_args: ManArgs) -> Result<i32> {
    let cmd = super::Cli::command();
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
    Ok(0)
}
