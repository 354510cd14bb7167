//! `boucle verify CONTACT [--confirm]`: compare safety numbers, mark verified.

use boucle_client_core::invite::qr_text;

use crate::output::json_line;
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The contact: their name, or the start of their id.
    contact: String,
    /// You compared the numbers and they match: mark the contact verified.
    #[arg(long)]
    confirm: bool,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let id = engine.find_contact(&args.contact)?;
            let number = engine.safety_number(id)?;
            let contact = if args.confirm {
                engine.mark_verified(id)?
            } else {
                engine.contact(id)?
            };
            let groups = number.digit_groups();
            if globals.json {
                json_line(&serde_json::json!({
                    "contact": contact.id.to_hex(),
                    "name": contact.name,
                    "safety_number": groups.join(" "),
                    "verified": contact.verified,
                    "identity_changed": contact.identity_changed,
                }));
                return Ok(());
            }
            if contact.identity_changed {
                outln!(
                    "WARNING: {}'s identity key changed since you met. Compare again before trusting them.",
                    contact.name
                );
            }
            outln!("Safety number with {}:", contact.name);
            outln!();
            for row in groups.chunks(4) {
                outln!("    {}", row.join(" "));
            }
            if let Some(qr) = qr_text(number.qr_payload()) {
                outln!();
                outln!("{qr}");
            }
            if args.confirm {
                outln!("{} is now marked verified.", contact.name);
            } else if contact.verified {
                outln!("{} is verified.", contact.name);
            } else {
                outln!(
                    "Compare it with {} in person or on a channel you trust; if it matches, run\n    boucle verify {} --confirm",
                    contact.name,
                    contact.id.short()
                );
            }
            Ok(())
        })
        .await
}
