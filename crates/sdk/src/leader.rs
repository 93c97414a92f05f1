//! Leader election among the VMs of one plugin (wasm-go's `DoLeaderElection`): a lease in
//! shared data, taken and renewed with compare-and-swap, that expires when its holder stops
//! renewing it (its VM is gone). Call [`LeaderElection::try_acquire`] from a tick.

use crate::{hostcalls, shared};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// wasm-go's key prefix.
pub const LEASE_KEY_PREFIX: &str = "higress_wasm_vm_lease";

#[derive(Serialize, Deserialize)]
struct Lease {
    #[serde(rename = "vmID")]
    vm_id: String,
    timestamp: u64,
}

/// One VM's view of the election.
#[derive(Debug)]
pub struct LeaderElection {
    key: String,
    vm_id: String,
    lease: Duration,
    leader: Cell<bool>,
}

impl LeaderElection {
    /// An election named `name` (usually the plugin name), with wasm-go's 60 s lease.
    pub fn new(name: &str) -> Self {
        LeaderElection {
            key: format!("{LEASE_KEY_PREFIX}:{name}"),
            vm_id: random_id(),
            lease: Duration::from_secs(60),
            leader: Cell::new(false),
        }
    }

    /// Changes how long a lease lives without renewal.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// This VM's id in the lease.
    pub fn vm_id(&self) -> &str {
        &self.vm_id
    }

    /// Whether this VM held the lease at the last attempt.
    pub fn is_leader(&self) -> bool {
        self.leader.get()
    }

    /// Takes the lease if it is free or expired, renews it if this VM holds it. Returns
    /// whether this VM is the leader now.
    pub fn try_acquire(&self) -> bool {
        let leader = self.attempt();
        self.leader.set(leader);
        leader
    }

    fn attempt(&self) -> bool {
        let now = hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000_000;
        let current = match shared::get(&self.key) {
            Ok(current) => current,
            Err(_) => return false,
        };
        let cas = match &current {
            None => None,
            Some((bytes, cas)) => {
                let Ok(lease) = serde_json::from_slice::<Lease>(bytes) else { return false };
                let expired = now.saturating_sub(lease.timestamp) > self.lease.as_secs();
                if lease.vm_id != self.vm_id && !expired {
                    return false;
                }
                Some(*cas)
            }
        };
        let lease = Lease { vm_id: self.vm_id.clone(), timestamp: now };
        let Ok(bytes) = serde_json::to_vec(&lease) else { return false };
        if shared::set(&self.key, &bytes, cas).is_err() {
            return false;
        }
        // Shared data has no create-if-absent: two VMs that both found no lease both wrote
        // one, and the later write won. Only the VM whose lease is stored leads.
        cas.is_some() || self.holds_lease()
    }

    /// Whether the stored lease names this VM.
    fn holds_lease(&self) -> bool {
        match shared::get(&self.key) {
            Ok(Some((bytes, _))) => serde_json::from_slice::<Lease>(&bytes).is_ok_and(|l| l.vm_id == self.vm_id),
            _ => false,
        }
    }
}

/// 128 random bits as hex, from the WASI random source std's hasher keys come from.
fn random_id() -> String {
    let mut id = String::with_capacity(32);
    for i in 0..2u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(i);
        id.push_str(&format!("{:016x}", hasher.finish()));
    }
    id
}
