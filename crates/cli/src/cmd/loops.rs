//! `boucle loop ...`: group conversations. Members of a loop need not be contacts of
//! each other; only admins remove, promote, rename and set the policy, and add members
//! unless the policy lets every member invite.

use std::time::Duration;

use boucle_client_core::{
    ConversationId, DeliveryState, Engine, Inviting, LoopPolicy, LoopView, MemberView, Posting,
};

use crate::output::{MessageJson, json_line, message_line, peer_name, short_message};
use crate::profile::Globals;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a loop (you are its admin) and invite contacts into it.
    Create {
        /// The loop's name.
        name: String,
        /// Contacts to invite (names or id prefixes).
        contacts: Vec<String>,
    },
    /// List your loops.
    List,
    /// Invite a contact into a loop (admins, or members if the loop lets them).
    Add {
        /// The loop: its name or the start of its id.
        r#loop: String,
        /// The contact: their name or the start of their id.
        contact: String,
    },
    /// Remove a member from a loop (admins only).
    Remove {
        r#loop: String,
        /// The member: a contact's name or the member id `boucle loop members` shows.
        member: String,
    },
    /// Make a member an admin (admins only).
    Promote { r#loop: String, member: String },
    /// Rename a loop (admins only).
    Rename { r#loop: String, name: String },
    /// Show or set who may post and who may invite (setting it: admins only).
    Policy {
        r#loop: String,
        /// Only admins post (an announcement loop); members still react.
        #[arg(long, conflicts_with = "everyone_posts")]
        admins_only_post: bool,
        /// Every member posts (the default).
        #[arg(long)]
        everyone_posts: bool,
        /// Every member may invite their contacts.
        #[arg(long, conflicts_with = "admins_invite")]
        members_invite: bool,
        /// Only admins invite (the default).
        #[arg(long)]
        admins_invite: bool,
    },
    /// Leave a loop: the others are told, and you receive nothing more from it.
    Leave { r#loop: String },
    /// Show a loop's members.
    Members { r#loop: String },
    /// Send a message to a loop.
    Send {
        r#loop: String,
        text: String,
        /// Seconds to wait for the message to reach the relays before leaving it queued.
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        wait: u64,
    },
    /// Show a loop's conversation (oldest first) and mark it read.
    Read {
        r#loop: String,
        /// How many messages to show (the latest ones).
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// Show messages before this position, to page back.
        #[arg(long, value_name = "POSITION")]
        before: Option<u64>,
    },
}

pub async fn run(globals: &Globals, command: Command) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move { dispatch(globals, &engine, command).await })
        .await
}

async fn dispatch(globals: &Globals, engine: &Engine, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create { name, contacts } => {
            let ids = contacts
                .iter()
                .map(|c| engine.find_contact(c))
                .collect::<Result<Vec<_>, _>>()?;
            let id = engine.create_loop(&name, &ids).await?;
            engine.sync(Duration::from_secs(10)).await;
            let view = find(engine, &hex::encode(id.0))?;
            done(
                globals,
                &view,
                "created; the invited contacts join when they next sync",
            )
        }
        Command::List => {
            let loops = engine.loops()?;
            if globals.json {
                loops.iter().for_each(|l| json_line(&loop_json(l)));
            } else if loops.is_empty() {
                outln!("No loops yet: `boucle loop create NAME CONTACT...`.");
            } else {
                loops.iter().for_each(|l| outln!("{}", loop_line(l)));
            }
            Ok(())
        }
        Command::Add { r#loop, contact } => {
            let id = engine.find_loop(&r#loop)?;
            engine.invite_to_loop(id, engine.find_contact(&contact)?)?;
            engine.sync(Duration::from_secs(10)).await;
            done(globals, &find(engine, &r#loop)?, "invited")
        }
        Command::Remove { r#loop, member } => {
            engine.remove_from_loop(engine.find_loop(&r#loop)?, &member)?;
            engine.sync(Duration::from_secs(10)).await;
            done(globals, &find(engine, &r#loop)?, "member removed")
        }
        Command::Promote { r#loop, member } => {
            engine.promote_in_loop(engine.find_loop(&r#loop)?, &member)?;
            engine.sync(Duration::from_secs(10)).await;
            done(globals, &find(engine, &r#loop)?, "member promoted to admin")
        }
        Command::Rename { r#loop, name } => {
            let id = engine.find_loop(&r#loop)?;
            engine.rename_loop(id, &name)?;
            engine.sync(Duration::from_secs(10)).await;
            done(globals, &find(engine, &hex::encode(id.0))?, "renamed")
        }
        Command::Policy {
            r#loop,
            admins_only_post,
            everyone_posts,
            members_invite,
            admins_invite,
        } => {
            let id = engine.find_loop(&r#loop)?;
            let current = find(engine, &hex::encode(id.0))?.policy;
            let policy = LoopPolicy {
                posting: match (admins_only_post, everyone_posts) {
                    (true, _) => Posting::Admins,
                    (_, true) => Posting::Everyone,
                    _ => current.posting,
                },
                inviting: match (members_invite, admins_invite) {
                    (true, _) => Inviting::Members,
                    (_, true) => Inviting::Admins,
                    _ => current.inviting,
                },
            };
            if policy != current {
                engine.set_loop_policy(id, policy)?;
                engine.sync(Duration::from_secs(10)).await;
            }
            let view = find(engine, &hex::encode(id.0))?;
            done(globals, &view, &policy_text(&view))
        }
        Command::Leave { r#loop } => {
            let id = engine.find_loop(&r#loop)?;
            engine.leave_loop(id)?;
            engine.sync(Duration::from_secs(10)).await;
            done(globals, &find(engine, &hex::encode(id.0))?, "left")
        }
        Command::Members { r#loop } => {
            let members = engine.loop_members(engine.find_loop(&r#loop)?)?;
            for member in &members {
                if globals.json {
                    json_line(&member_json(member));
                } else {
                    outln!("{}", member_line(member));
                }
            }
            Ok(())
        }
        Command::Send { r#loop, text, wait } => {
            let conversation = ConversationId::Loop(engine.find_loop(&r#loop)?);
            let view = engine.send_text(conversation, &text)?;
            let left = engine.sync(Duration::from_secs(wait)).await;
            let view = engine
                .history(conversation, Some(view.position + 1), 1)?
                .into_iter()
                .find(|m| m.id == view.id)
                .unwrap_or(view);
            let queued = !left
                && !matches!(
                    view.delivery,
                    Some(DeliveryState::WaitingForMembers(_) | DeliveryState::Failed(_))
                );
            if globals.json {
                json_line(&MessageJson::new(&view, "me"));
            } else if let Some(DeliveryState::WaitingForMembers(n)) = view.delivery {
                outln!(
                    "kept for the {} invited: it is sent to each one when they join (id {})",
                    crate::output::members(n),
                    short_message(&view.id)
                );
            } else if let Some(DeliveryState::Failed(reason)) = &view.delivery {
                outln!("not sent: {reason} (id {})", short_message(&view.id));
            } else if left {
                outln!("sent to the loop: id {}", short_message(&view.id));
            } else {
                outln!(
                    "queued: a relay is unreachable, it will be sent on the next run (id {})",
                    short_message(&view.id)
                );
            }
            if queued {
                Err(crate::exit::NotAllSent.into())
            } else {
                Ok(())
            }
        }
        Command::Read {
            r#loop,
            limit,
            before,
        } => {
            let conversation = ConversationId::Loop(engine.find_loop(&r#loop)?);
            let messages = engine.history(conversation, before, limit)?;
            engine.mark_read(conversation)?;
            for view in &messages {
                let peer = peer_name(engine, view);
                if globals.json {
                    json_line(&MessageJson::new(view, &peer));
                } else {
                    outln!("{}", message_line(view, &peer));
                }
            }
            if messages.is_empty() && !globals.json {
                outln!("No messages in this loop yet.");
            }
            Ok(())
        }
    }
}

fn find(engine: &Engine, query: &str) -> anyhow::Result<LoopView> {
    let id = engine.find_loop(query)?;
    engine
        .loops()?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| anyhow::anyhow!("the loop disappeared"))
}

fn done(globals: &Globals, view: &LoopView, what: &str) -> anyhow::Result<()> {
    if globals.json {
        json_line(&loop_json(view));
    } else {
        outln!("{}: {what}", view.name);
    }
    Ok(())
}

fn loop_json(view: &LoopView) -> serde_json::Value {
    serde_json::json!({
        "id": hex::encode(view.id.0),
        "name": view.name,
        "members": view.members,
        "admin": view.admin,
        "member": view.member,
        "unread": view.unread,
        "last_activity": view.last_activity,
        "admins_only_post": view.policy.posting == Posting::Admins,
        "members_invite": view.policy.inviting == Inviting::Members,
        "may_post": view.may_post,
        "timer_seconds": view.timer,
    })
}

fn policy_text(view: &LoopView) -> String {
    let posting = match view.policy.posting {
        Posting::Admins => "only admins post",
        _ => "every member posts",
    };
    let inviting = match view.policy.inviting {
        Inviting::Members => "every member invites",
        _ => "only admins invite",
    };
    format!("{posting}, {inviting}")
}

fn loop_line(view: &LoopView) -> String {
    let mut line = format!(
        "{}  {}  {} members",
        hex::encode(&view.id.0[..4]),
        view.name,
        view.members
    );
    if view.unread > 0 {
        line.push_str(&format!("  ({} unread)", view.unread));
    }
    if view.admin {
        line.push_str("  admin");
    }
    if view.policy.posting == Posting::Admins {
        line.push_str("  announcements");
    }
    if view.timer > 0 {
        line.push_str(&format!(
            "  disappearing after {}",
            crate::cmd::timer::timer_text(view.timer)
        ));
    }
    if !view.member {
        line.push_str("  (not a member: joining, or left)");
    }
    line
}

fn member_json(member: &MemberView) -> serde_json::Value {
    serde_json::json!({
        "id": member.id,
        "name": member.name,
        "me": member.me,
        "admin": member.admin,
        "verified": member.verified,
    })
}

fn member_line(member: &MemberView) -> String {
    let name = match (&member.name, member.me) {
        (_, true) => "you".to_owned(),
        (Some(name), false) => name.clone(),
        (None, false) => "(not a contact)".to_owned(),
    };
    let mut line = format!("{}  {name}", member.id);
    if member.admin {
        line.push_str("  admin");
    }
    if member.verified {
        line.push_str("  verified");
    }
    line
}
