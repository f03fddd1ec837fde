//! `improve audit verify`: check the hash chain of the audit log.

use super::app::App;
use anyhow::Result;
use improve::audit;
use improve::records::Records;

/// The hash-chained audit log.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the chain: any edit, deletion, reordering or truncation of an entry, a
    /// rewrite or deletion of the records branch, or a corrupt local anchor, fails
    /// (exit 1). A timestamp earlier than the one before (a clock that stepped back) is
    /// a warning: the chain's order is its sequence.
    Verify,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    match args.command {
        AuditCommand::Verify => {
            let git = app.git()?;
            let cfg = app.config(&git)?;
            let records = Records::open(&git, &cfg.records_branch)?;
            let v = audit::verify(&git, records.tip)?;
            if app.json {
                super::print_json(&v)?;
            } else if v.ok() {
                app.say(format!(
                    "audit log OK: {} entries in {} files, chain intact",
                    v.entries, v.files
                ));
                for w in &v.warnings {
                    outln!("  warning: {}", super::out::safe(w));
                }
            } else {
                outln!(
                    "audit log FAILED verification ({} entries read):",
                    v.entries
                );
                for p in &v.problems {
                    outln!("  {}", super::out::safe(p));
                }
                for w in &v.warnings {
                    outln!("  warning: {}", super::out::safe(w));
                }
            }
            Ok(if v.ok() { 0 } else { 1 })
        }
    }
}
