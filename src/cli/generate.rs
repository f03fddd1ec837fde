//! `improve completions SHELL` and `improve man`: generated from the clap definitions,
//! so they never drift from the real command line. The man page is one page,
//! improve(1), with every command in its COMMANDS section (no `improve-init(1)`
//! pages are shipped, so none is named) and the exit codes in EXIT STATUS.

use super::app::App;
use super::out;
use anyhow::Result;
use clap::CommandFactory;
use clap_mangen::Man;
use improve::error::exit;
use serde_json::json;

/// Print shell completions to stdout, e.g. `improve completions bash >
/// /etc/bash_completion.d/improve`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff) to stdout: `improve man > improve.1`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {}

/// Prints generated text, or with `--json` an object holding it.
fn emit(app: &App, key: &str, text: &str, extra: serde_json::Value) -> Result<i32> {
    if app.json {
        let mut v = json!({ key: text });
        if let (Some(o), Some(x)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        out::json(&v)?;
    } else {
        out::text(text);
    }
    Ok(0)
}

pub fn completions(app: &App, args: CompletionsArgs) -> Result<i32> {
    let mut cmd = super::Cli::command();
    let mut buf = vec![];
    clap_complete::generate(args.shell, &mut cmd, "improve", &mut buf);
    emit(
        app,
        "script",
        &String::from_utf8_lossy(&buf),
        json!({"shell": args.shell.to_string()}),
    )
}

pub fn man(app: &App, _args: ManArgs) -> Result<i32> {
    emit(app, "roff", &man_page()?, json!({}))
}

/// Text for a roff line: backslashes and dashes escaped, no leading control dot.
fn roff(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// A section rendered by clap_mangen without its `.SH` heading line.
fn body(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<String> {
    let mut buf = vec![];
    render(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with(".SH "))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// The shown subcommands of `cmd`, last first (a stack pops them in order).
fn subcommands(cmd: &clap::Command) -> Vec<clap::Command> {
    let mut v: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .cloned()
        .collect();
    v.reverse();
    v
}

/// The whole page: NAME, SYNOPSIS, DESCRIPTION, the global OPTIONS, every command
/// with its own options, EXIT STATUS, ENVIRONMENT, VERSION.
pub fn man_page() -> Result<String> {
    let mut cmd = super::Cli::command();
    cmd.build();
    let top = Man::new(cmd.clone());
    let mut buf = vec![];
    top.render_title(&mut buf)?;
    top.render_name_section(&mut buf)?;
    top.render_synopsis_section(&mut buf)?;
    top.render_description_section(&mut buf)?;
    top.render_options_section(&mut buf)?;
    let mut page = String::from_utf8_lossy(&buf).into_owned();
    page.push_str(".SH COMMANDS\n");
    let mut stack = subcommands(&cmd);
    while let Some(sub) = stack.pop() {
        // The global options are described once, above.
        let sub = sub.mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
        let name = sub
            .get_bin_name()
            .unwrap_or_else(|| sub.get_name())
            .to_string();
        page.push_str(&format!(".SS \"{}\"\n", roff(&name)));
        let m = Man::new(sub.clone());
        page.push_str(&body(|b| m.render_synopsis_section(b))?);
        page.push_str(&body(|b| m.render_description_section(b))?);
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            page.push_str(&body(|b| m.render_options_section(b))?);
        }
        stack.extend(subcommands(&sub));
    }
    page.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in exit::TABLE {
        page.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff(meaning)));
    }
    page.push_str(".SH ENVIRONMENT\n");
    for (name, meaning) in [
        (
            "NO_COLOR",
            "when set and not empty, no colour on a terminal (as --color never)",
        ),
        (
            "RUST_LOG",
            "what is logged on stderr, in tracing's filter syntax (e.g. improve=debug); overrides \
             -v and -q",
        ),
    ] {
        page.push_str(&format!(".TP\n\\fB{name}\\fR\n{}\n", roff(meaning)));
    }
    let mut buf = vec![];
    top.render_version_section(&mut buf)?;
    page.push_str(&String::from_utf8_lossy(&buf));
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command says what it does and every argument has its help text.
    #[test]
    fn every_command_and_argument_is_documented() {
        let mut stack = vec![super::super::Cli::command()];
        while let Some(cmd) = stack.pop() {
            cmd.clone().debug_assert();
            assert!(cmd.get_about().is_some(), "{} has no about", cmd.get_name());
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                let help = a.get_help().or(a.get_long_help()).map(|h| h.to_string());
                assert!(
                    help.is_some_and(|h| !h.trim().is_empty()),
                    "{} {id}: no help text",
                    cmd.get_name()
                );
            }
            stack.extend(cmd.get_subcommands().cloned());
        }
    }

    #[test]
    fn roff_text_cannot_become_a_request() {
        assert_eq!(roff(".SH x-y \\z"), "\\&.SH x\\-y \\ez");
    }
}
