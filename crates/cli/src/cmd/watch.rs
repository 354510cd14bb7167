//! `boucle watch`: stream incoming messages and changes until Ctrl-C (or SIGTERM).

use boucle_client_core::{Engine, Event};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::output::{ContactJson, MessageJson, json_line, message_line, peer_name};
use crate::profile::Globals;

pub async fn run(globals: &Globals) -> anyhow::Result<()> {
    let engine = globals.unlock().await?;
    // Subscribed before anything is processed, so nothing pending is missed.
    let mut events = engine.events();
    if !globals.json {
        eprintln!(
            "Watching {} (Ctrl-C to stop)…",
            engine.name().unwrap_or_default()
        );
    }
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => match event {
                Ok(event) => show(globals, &engine, event),
                Err(RecvError::Lagged(missed)) => {
                    eprintln!("note: {missed} events were missed; `boucle read` shows everything")
                }
                Err(RecvError::Closed) => break,
            },
        }
    }
    engine.lock().await;
    Ok(())
}

fn show(globals: &Globals, engine: &Engine, event: Event) {
    match event {
        Event::MessageReceived(view) if globals.json => {
            let peer = peer_name(engine, &view);
            tagged("message", &MessageJson::new(&view, &peer));
        }
        Event::MessageUpdated(view) if globals.json => {
            let peer = peer_name(engine, &view);
            tagged("updated", &MessageJson::new(&view, &peer));
        }
        Event::MessageReceived(view) => {
            let peer = peer_name(engine, &view);
            outln!("{}", message_line(&view, &peer));
        }
        Event::MessageUpdated(view) => {
            let peer = peer_name(engine, &view);
            outln!("updated {}", message_line(&view, &peer));
        }
        Event::ContactAdded(contact) if globals.json => {
            tagged("contact", &ContactJson::from(&contact))
        }
        Event::ContactAdded(contact) => {
            outln!("{} ({}) is now a contact", contact.name, contact.id.short())
        }
        Event::IdentityChanged(id) => {
            let name = engine.contact(id).map(|c| c.name).unwrap_or_default();
            if globals.json {
                json_line(&serde_json::json!({
                    "event": "identity_changed",
                    "contact": id.to_hex(),
                    "name": name,
                }));
            } else {
                outln!(
                    "WARNING: {name}'s identity key changed: compare safety numbers again (boucle verify {})",
                    id.short()
                );
            }
        }
        Event::RelayStatus {
            relay,
            connected,
            error,
        } => {
            if globals.json {
                json_line(&serde_json::json!({
                    "event": "relay",
                    "relay": relay,
                    "connected": connected,
                    "error": error,
                }));
            } else if connected {
                eprintln!("connected to {relay}");
            } else {
                eprintln!(
                    "lost the connection to {relay}{}; retrying",
                    error.map(|e| format!(": {e}")).unwrap_or_default()
                );
            }
        }
        Event::PollChanged { conversation, poll } => {
            organizing(globals, engine, "poll", conversation, &poll)
        }
        Event::AgendaChanged {
            conversation,
            event,
        } => organizing(globals, engine, "agenda", conversation, &event),
        Event::TransferProgress {
            conversation,
            message,
            done,
            total,
            upload,
        } if globals.json => json_line(&serde_json::json!({
            "event": "progress",
            "contact": crate::output::contact_of(conversation).map(|id| id.to_hex()),
            "loop": crate::output::loop_of(conversation).map(|id| hex::encode(id.0)),
            "id": hex::encode(message.0),
            "done": done,
            "total": total,
            "upload": upload,
        })),
        _ => {}
    }
}

/// A poll or an event changed (votes, answers, edits): one line, or one JSON object.
fn organizing(
    globals: &Globals,
    engine: &Engine,
    what: &str,
    conversation: boucle_client_core::ConversationId,
    id: &boucle_client_core::MessageId,
) {
    let (contact, loop_id) = crate::cmd::poll::conversation_json(conversation);
    if globals.json {
        json_line(&serde_json::json!({
            "event": what,
            "contact": contact,
            "loop": loop_id,
            "id": hex::encode(id.0),
        }));
        return;
    }
    let short = crate::output::short_message(id);
    let line = if what == "poll" {
        engine.poll(conversation, *id).map(|p| {
            let counts: Vec<String> = p.options.iter().map(|o| o.votes.to_string()).collect();
            format!(
                "poll {short} {}: {} voters, per option [{}]{}",
                p.question,
                p.voters.len(),
                counts.join(" "),
                if p.closed { " (closed)" } else { "" }
            )
        })
    } else {
        engine.event(conversation, *id).map(|e| {
            format!(
                "event {short} {}: {} going, {} maybe, {} no{}",
                e.details.title,
                e.counts.going,
                e.counts.maybe,
                e.counts.no,
                if e.cancelled { " (cancelled)" } else { "" }
            )
        })
    };
    if let Ok(line) = line {
        outln!("{line}");
    }
}

/// Prints `value` as one JSON line with an `"event"` field added.
fn tagged(event: &str, value: &impl Serialize) {
    match serde_json::to_value(value) {
        Ok(mut object) => {
            object["event"] = event.into();
            json_line(&object);
        }
        Err(error) => eprintln!("error: cannot encode an event as JSON: {error}"),
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
