//! The connection table shared by the accept loop and the connection tasks: the
//! [`Admission`] rules, plus a way to ask each connection to close, plus the summarized
//! log of refusals.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

use super::admission::{Admission, AdmissionLimits, ConnId, Refusal};
use super::refusals::{RefusalLog, SUMMARY_INTERVAL, Turned};
use crate::config::Limits;

struct Table {
    admission: Admission,
    closers: HashMap<ConnId, Arc<Notify>>,
    log: RefusalLog,
}

/// See the module documentation.
pub(crate) struct Slots {
    table: Mutex<Table>,
}

impl Slots {
    pub(crate) fn new(limits: &Limits) -> Self {
        let admission = Admission::new(AdmissionLimits {
            max_connections: limits.max_connections as usize,
            max_unproven: limits.max_unproven_connections as usize,
            max_per_address: limits.max_connections_per_address as usize,
            handshake_rate: f64::from(limits.handshakes_per_address_per_sec),
            handshake_burst: f64::from(limits.handshake_burst_per_address),
            input_budget: usize::try_from(limits.max_partial_input_bytes).unwrap_or(usize::MAX),
        });
        Self {
            table: Mutex::new(Table {
                admission,
                closers: HashMap::new(),
                log: RefusalLog::new(SUMMARY_INTERVAL),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections in the table.
    pub(crate) fn len(&self) -> usize {
        self.lock().admission.len()
    }

    /// Admits a connection (closing another to make room, if the rules say so). Returns
    /// its id and what tells it to close.
    pub(crate) fn admit(
        &self,
        ip: IpAddr,
        validated: bool,
        now: Instant,
    ) -> Result<(ConnId, Arc<Notify>), Refusal> {
        let mut table = self.lock();
        let admitted = table.admission.admit(ip, validated, now)?;
        if let Some(victim) = admitted.evict {
            if let Some(closer) = table.closers.get(&victim) {
                closer.notify_one();
            }
            log(&mut table, Turned::DisplacedForSlot, now);
        }
        let closer = Arc::new(Notify::new());
        table.closers.insert(admitted.id, closer.clone());
        Ok((admitted.id, closer))
    }

    /// The QUIC handshake completed: the address is the client's.
    pub(crate) fn established(&self, id: ConnId) {
        self.lock().admission.established(id);
    }

    /// The connection proved something.
    pub(crate) fn prove(&self, id: ConnId) {
        self.lock().admission.prove(id);
    }

    /// Undecoded input bytes held, all connections.
    pub(crate) fn input_used(&self) -> usize {
        self.lock().admission.input_used()
    }

    /// The connection is gone.
    pub(crate) fn remove(&self, id: ConnId) {
        let mut table = self.lock();
        table.admission.remove(id);
        table.closers.remove(&id);
    }

    /// Reserves `n` bytes of input memory. On `false`, try again a little later: a
    /// connection may have been asked to close to free memory.
    pub(crate) fn reserve_input(&self, id: ConnId, n: usize) -> bool {
        let mut table = self.lock();
        match table.admission.reserve_input(id, n) {
            Ok(()) => true,
            Err(victim) => {
                if let Some(victim) = victim {
                    if let Some(closer) = table.closers.get(&victim) {
                        closer.notify_one();
                    }
                    log(&mut table, Turned::DisplacedForMemory, Instant::now());
                }
                false
            }
        }
    }

    /// Sets the input memory charged to `id` to what it holds.
    pub(crate) fn settle_input(&self, id: ConnId, held: usize) {
        self.lock().admission.settle_input(id, held);
    }

    /// Counts a refusal for the summary.
    pub(crate) fn note(&self, what: Turned, now: Instant) {
        log(&mut self.lock(), what, now);
    }

    /// Writes the summary line if one is due.
    pub(crate) fn flush_log(&self, now: Instant) {
        if let Some(line) = self.lock().log.flush(now) {
            tracing::warn!("{line}");
        }
    }
}

fn log(table: &mut Table, what: Turned, now: Instant) {
    if let Some(line) = table.log.record(what, now) {
        tracing::warn!("{line}");
    }
}
