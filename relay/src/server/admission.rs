//! Who gets a connection slot, and who gives memory back when the relay runs short.
//!
//! Sans-IO: time is passed in, and the caller closes the connections this table names.
//! The rules (relay-protocol §13):
//! - at most `max_connections` connections; of these, at most `max_unproven` that have
//!   proved nothing (no mailbox proven, no request succeeded). When a new connection
//!   would pass either limit, the oldest connection that has proved nothing is closed to
//!   make room; only when every slot is held by a proven connection is the new one
//!   refused. So connections that prove nothing (abandoned handshakes, clients that never
//!   say hello) can never keep a client out, and never displace one that proved itself;
//! - at most `max_per_address` connections, and a token bucket of handshakes, per source
//!   address (an IPv4 address, or an IPv6 /64: one host can usually pick any address in
//!   its /64). A connection counts against its address once the address is known to be
//!   the client's (validated by a QUIC Retry, or the handshake completed), and attempts
//!   from validated and unvalidated addresses draw on separate buckets: so attempts that
//!   spoof a client's address cannot use up that client's allowance;
//! - one relay-wide budget of memory for received bytes not yet decoded (partial
//!   frames). A connection reserves before it reads; when the budget is spent, the
//!   connection holding the most such bytes is closed, one that proved nothing first. A
//!   connection that proved nothing never displaces a proven one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Identifies a connection in the table.
pub(crate) type ConnId = u64;

/// Limits the table enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdmissionLimits {
    pub max_connections: usize,
    pub max_unproven: usize,
    pub max_per_address: usize,
    /// Handshakes per second per address, sustained.
    pub handshake_rate: f64,
    /// Handshakes per address in a burst.
    pub handshake_burst: f64,
    /// Bytes of undecoded input, all connections together.
    pub input_budget: usize,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// Every slot is held by a connection that proved itself.
    Full,
    /// Too many connections from this address.
    PerAddress,
    /// Too many handshakes from this address lately.
    HandshakeRate,
}

/// The table's answer to a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    pub id: ConnId,
    /// A connection to close to make room for this one.
    pub evict: Option<ConnId>,
}

/// Source addresses are grouped: IPv4 by address, IPv6 by /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AddressKey(u128);

impl AddressKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddressKey(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(u128::from(u32::from(v4))),
                None => AddressKey((u128::from(v6) >> 64 << 64) | (1 << 32)),
            },
        }
    }
}

#[derive(Debug)]
struct Entry {
    key: AddressKey,
    /// Counted against its address (the address is known to be the client's).
    counted: bool,
    opened: Instant,
    proven: bool,
    /// Input memory charged to the budget.
    input: usize,
    /// Already asked to close.
    evicting: bool,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Most source addresses with a handshake bucket of their own; past that, new addresses
/// share one bucket (so the table's own memory stays bounded under a spoofed flood).
const MAX_BUCKETS: usize = 65_536;
/// Most connections asked to close and not yet gone before new ones are refused.
const MAX_EVICTING: usize = 64;
const OVERFLOW_KEY: (AddressKey, bool) = (AddressKey(u128::MAX), false);

/// The connection table. See the module documentation.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: AdmissionLimits,
    entries: HashMap<ConnId, Entry>,
    per_address: HashMap<AddressKey, usize>,
    buckets: HashMap<(AddressKey, bool), Bucket>,
    unproven: usize,
    evicting: usize,
    unproven_evicting: usize,
    input_used: usize,
    next_id: ConnId,
    last_prune: Option<Instant>,
}

impl Admission {
    pub(crate) fn new(limits: AdmissionLimits) -> Self {
        Self {
            limits,
            entries: HashMap::new(),
            per_address: HashMap::new(),
            buckets: HashMap::new(),
            unproven: 0,
            evicting: 0,
            unproven_evicting: 0,
            input_used: 0,
            next_id: 0,
            last_prune: None,
        }
    }

    /// Connections in the table (including those asked to close).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Undecoded input bytes charged, all connections.
    pub(crate) fn input_used(&self) -> usize {
        self.input_used
    }

    /// Decides on a new connection from `ip` at `now`; `validated`: the address is known
    /// to be the client's.
    pub(crate) fn admit(
        &mut self,
        ip: IpAddr,
        validated: bool,
        now: Instant,
    ) -> Result<Admitted, Refusal> {
        self.prune(now);
        let key = AddressKey::of(ip);
        if self.per_address.get(&key).copied().unwrap_or(0) >= self.limits.max_per_address {
            return Err(Refusal::PerAddress);
        }
        if !self.take_handshake_token((key, validated), now) {
            return Err(Refusal::HandshakeRate);
        }
        let live = self.entries.len() - self.evicting;
        let unproven_live = self.unproven - self.unproven_evicting;
        let mut evict = None;
        if live >= self.limits.max_connections || unproven_live >= self.limits.max_unproven {
            if self.evicting >= MAX_EVICTING {
                return Err(Refusal::Full);
            }
            let victim = self
                .entries
                .iter()
                .filter(|(_, e)| !e.proven && !e.evicting)
                .min_by_key(|(id, e)| (e.opened, **id))
                .map(|(id, _)| *id);
            match victim {
                Some(victim) => {
                    self.mark_evicting(victim);
                    evict = Some(victim);
                }
                None => return Err(Refusal::Full),
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(
            id,
            Entry {
                key,
                counted: validated,
                opened: now,
                proven: false,
                input: 0,
                evicting: false,
            },
        );
        if validated {
            *self.per_address.entry(key).or_insert(0) += 1;
        }
        self.unproven += 1;
        Ok(Admitted { id, evict })
    }

    /// The handshake completed: the address is the client's, and counts from now on.
    pub(crate) fn established(&mut self, id: ConnId) {
        if let Some(entry) = self.entries.get_mut(&id)
            && !entry.counted
        {
            entry.counted = true;
            *self.per_address.entry(entry.key).or_insert(0) += 1;
        }
    }

    /// The connection proved something: it keeps its slot from now on.
    pub(crate) fn prove(&mut self, id: ConnId) {
        if let Some(entry) = self.entries.get_mut(&id)
            && !entry.proven
        {
            entry.proven = true;
            self.unproven -= 1;
            if entry.evicting {
                // Asked to close before it proved itself: it still closes.
                self.unproven_evicting -= 1;
            }
        }
    }

    /// The connection is gone: frees its slot and its input memory.
    pub(crate) fn remove(&mut self, id: ConnId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        if !entry.proven {
            self.unproven -= 1;
        }
        if entry.evicting {
            self.evicting -= 1;
            if !entry.proven {
                self.unproven_evicting -= 1;
            }
        }
        self.input_used -= entry.input;
        if entry.counted
            && let Some(count) = self.per_address.get_mut(&entry.key)
        {
            *count -= 1;
            if *count == 0 {
                self.per_address.remove(&entry.key);
            }
        }
    }

    /// Reserves `n` more bytes of input memory for `id`. When the budget is spent, names
    /// a connection to close (and marks it so): the caller closes it and tries again
    /// later. `Err(None)`: nothing can be done now; try again later.
    pub(crate) fn reserve_input(&mut self, id: ConnId, n: usize) -> Result<(), Option<ConnId>> {
        let Some(entry) = self.entries.get(&id) else {
            return Err(None);
        };
        if self.input_used + n <= self.limits.input_budget {
            self.input_used += n;
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.input += n;
            }
            return Ok(());
        }
        let may_displace_proven = entry.proven;
        let victim = self
            .entries
            .iter()
            .filter(|(other, e)| **other != id && !e.evicting && e.input > 0)
            .filter(|(_, e)| may_displace_proven || !e.proven)
            .max_by_key(|(other, e)| (!e.proven, e.input, std::cmp::Reverse(**other)))
            .map(|(other, _)| *other);
        if let Some(victim) = victim {
            self.mark_evicting(victim);
        }
        Err(victim)
    }

    /// Sets `id`'s charged input memory to what it holds (at most what it reserved).
    pub(crate) fn settle_input(&mut self, id: ConnId, held: usize) {
        if let Some(entry) = self.entries.get_mut(&id) {
            self.input_used = self.input_used - entry.input + held;
            entry.input = held;
        }
    }

    fn mark_evicting(&mut self, id: ConnId) {
        if let Some(entry) = self.entries.get_mut(&id)
            && !entry.evicting
        {
            entry.evicting = true;
            self.evicting += 1;
            if !entry.proven {
                self.unproven_evicting += 1;
            }
        }
    }

    fn take_handshake_token(&mut self, key: (AddressKey, bool), now: Instant) -> bool {
        let key = if self.buckets.len() >= MAX_BUCKETS && !self.buckets.contains_key(&key) {
            OVERFLOW_KEY
        } else {
            key
        };
        let burst = self.limits.handshake_burst.max(1.0);
        let bucket = self.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limits.handshake_rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets handshake buckets that have filled up again (about once a second).
    fn prune(&mut self, now: Instant) {
        if self
            .last_prune
            .is_some_and(|last| now.saturating_duration_since(last) < Duration::from_secs(1))
        {
            return;
        }
        self.last_prune = Some(now);
        let (rate, burst) = (self.limits.handshake_rate, self.limits.handshake_burst);
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * rate < burst
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AdmissionLimits {
        AdmissionLimits {
            max_connections: 10,
            max_unproven: 6,
            max_per_address: 100,
            handshake_rate: 1_000.0,
            handshake_burst: 1_000.0,
            input_budget: 100,
        }
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn the_oldest_unproven_connection_makes_room_and_proven_ones_stay() {
        let mut table = Admission::new(limits());
        let t = Instant::now();
        let mut ids = Vec::new();
        for n in 0..6 {
            let admitted = table
                .admit(ip(n), true, t + Duration::from_millis(n.into()))
                .unwrap();
            assert_eq!(admitted.evict, None);
            ids.push(admitted.id);
        }
        table.prove(ids[1]);
        // Unproven share (6) is full again after one more: the oldest unproven goes.
        let admitted = table
            .admit(ip(7), true, t + Duration::from_secs(1))
            .unwrap();
        assert_eq!(admitted.evict, None, "5 unproven + 1 proven: room");
        let admitted = table
            .admit(ip(8), true, t + Duration::from_secs(1))
            .unwrap();
        assert_eq!(admitted.evict, Some(ids[0]));
        table.remove(ids[0]);
        let next = table
            .admit(ip(9), true, t + Duration::from_secs(2))
            .unwrap();
        assert_eq!(
            next.evict,
            Some(ids[2]),
            "ids[1] is proven and keeps its slot"
        );
    }

    #[test]
    fn a_table_full_of_proven_connections_refuses() {
        let mut table = Admission::new(limits());
        let t = Instant::now();
        for n in 0..10 {
            let id = table.admit(ip(n), true, t).unwrap().id;
            table.prove(id);
        }
        assert_eq!(table.admit(ip(11), true, t), Err(Refusal::Full));
        assert_eq!(table.len(), 10);
    }

    #[test]
    fn per_address_limits_and_handshake_rate() {
        let mut table = Admission::new(AdmissionLimits {
            max_per_address: 3,
            handshake_rate: 2.0,
            handshake_burst: 4.0,
            ..limits()
        });
        let t = Instant::now();
        let first: Vec<_> = (0..3)
            .map(|_| table.admit(ip(1), true, t).unwrap().id)
            .collect();
        assert_eq!(table.admit(ip(1), true, t), Err(Refusal::PerAddress));
        table.remove(first[0]);
        table.admit(ip(1), true, t).unwrap();
        table.remove(first[1]);
        // The burst of 4 is spent.
        assert_eq!(table.admit(ip(1), true, t), Err(Refusal::HandshakeRate));
        // Another address is not affected; an IPv6 neighbour in the same /64 is one address.
        table.admit(ip(2), true, t).unwrap();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(AddressKey::of(a), AddressKey::of(b));
        // Half a second later, one more handshake is allowed.
        table
            .admit(ip(1), true, t + Duration::from_millis(500))
            .unwrap();
    }

    #[test]
    fn spoofed_attempts_do_not_use_up_a_clients_allowance() {
        let mut table = Admission::new(AdmissionLimits {
            max_per_address: 2,
            handshake_rate: 1.0,
            handshake_burst: 2.0,
            ..limits()
        });
        let t = Instant::now();
        // Attempts claiming ip(1) whose address is not validated: they count against
        // neither the per-address limit nor the validated bucket.
        table.admit(ip(1), false, t).unwrap();
        table.admit(ip(1), false, t).unwrap();
        assert_eq!(table.admit(ip(1), false, t), Err(Refusal::HandshakeRate));
        let real = table.admit(ip(1), true, t).unwrap().id;
        table.admit(ip(1), true, t).unwrap();
        assert_eq!(table.admit(ip(1), true, t), Err(Refusal::PerAddress));
        table.remove(real);
        // One completing its handshake counts from then on.
        let late = table.admit(ip(3), false, t).unwrap().id;
        table.established(late);
        table.admit(ip(3), true, t).unwrap();
        assert_eq!(table.admit(ip(3), true, t), Err(Refusal::PerAddress));
    }

    #[test]
    fn the_input_budget_names_the_largest_unproven_holder() {
        let mut table = Admission::new(limits());
        let t = Instant::now();
        let a = table.admit(ip(1), true, t).unwrap().id;
        let b = table.admit(ip(2), true, t).unwrap().id;
        let c = table.admit(ip(3), true, t).unwrap().id;
        table.prove(c);
        table.reserve_input(a, 30).unwrap();
        table.reserve_input(b, 50).unwrap();
        table.reserve_input(c, 20).unwrap();
        assert_eq!(table.input_used(), 100);
        // b holds the most and proved nothing.
        assert_eq!(table.reserve_input(c, 10), Err(Some(b)));
        // An unproven connection cannot displace the proven one.
        assert_eq!(table.reserve_input(b, 10), Err(Some(a)));
        assert_eq!(table.reserve_input(a, 10), Err(None));
        table.remove(b);
        assert_eq!(table.input_used(), 50);
        table.reserve_input(c, 10).unwrap();
        table.settle_input(c, 5);
        assert_eq!(table.input_used(), 35);
    }
}
