//! `boucle invite`: a one-time invitation link and its QR code.

use boucle_client_core::invite::qr_text;

use crate::output::json_line;
use crate::profile::Globals;

pub async fn run(globals: &Globals) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let link = engine.invite().await?.to_link();
            if globals.json {
                json_line(&serde_json::json!({ "link": link }));
                return Ok(());
            }
            outln!("Give this one-time invitation to one person (it works once):");
            outln!();
            outln!("{link}");
            if let Some(qr) = qr_text(&link) {
                outln!();
                outln!("{qr}");
            }
            outln!(
                "They run `boucle accept LINK`; they appear in `boucle contacts` once you sync."
            );
            Ok(())
        })
        .await
}
