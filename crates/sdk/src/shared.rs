//! Shared data and shared queues: state shared by the VMs of one plugin (Envoy runs one VM
//! per worker thread), with compare-and-swap for safe updates.

use crate::hostcalls;
use higress_abi::Status;

/// Reads a key: its value and CAS token, `None` when absent.
pub fn get(key: &str) -> Result<Option<(Vec<u8>, u32)>, Status> {
    let (value, cas) = hostcalls::get_shared_data(key)?;
    Ok(value.map(|v| (v, cas)))
}

/// Writes a key. With `Some(cas)` the write fails with `CasMismatch` if the key changed since
/// it was read; `None` writes unconditionally.
pub fn set(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), Status> {
    hostcalls::set_shared_data(key, value, cas.unwrap_or(0))
}

/// Read-modify-write with CAS, retried up to `retries` times on conflicts. `f` gets the
/// current value and returns the new one (`None` leaves the key untouched). Returns what
/// was written.
pub fn update(
    key: &str,
    retries: u32,
    mut f: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>, Status> {
    for _ in 0..=retries {
        let current = get(key)?;
        let Some(next) = f(current.as_ref().map(|(v, _)| v.as_slice())) else { return Ok(None) };
        let cas = current.map(|(_, cas)| cas);
        match set(key, &next, cas) {
            Ok(()) => return Ok(Some(next)),
            Err(Status::CasMismatch) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Status::CasMismatch)
}

/// Adds `delta` to a decimal counter stored at `key` (created at 0), with CAS retries.
pub fn increment(key: &str, delta: i64, retries: u32) -> Result<i64, Status> {
    let written = update(key, retries, |current| {
        let n: i64 = current.and_then(|v| std::str::from_utf8(v).ok()).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        Some(n.saturating_add(delta).to_string().into_bytes())
    })?;
    written.and_then(|v| String::from_utf8(v).ok()).and_then(|v| v.parse().ok()).ok_or(Status::InternalFailure)
}

/// A shared queue: VMs enqueue, the VM that registered it is told (`Root::on_queue_ready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedQueue {
    id: u32,
}

impl SharedQueue {
    /// Registers (or finds) a queue owned by this VM.
    pub fn register(name: &str) -> Result<SharedQueue, Status> {
        Ok(SharedQueue { id: hostcalls::register_shared_queue(name)? })
    }

    /// Finds a queue registered by the VM `vm_id`; `None` when there is none yet.
    pub fn resolve(vm_id: &str, name: &str) -> Result<Option<SharedQueue>, Status> {
        Ok(hostcalls::resolve_shared_queue(vm_id, name)?.map(|id| SharedQueue { id }))
    }

    /// The queue id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Appends an item.
    pub fn enqueue(&self, item: &[u8]) -> Result<(), Status> {
        hostcalls::enqueue_shared_queue(self.id, item)
    }

    /// Takes the oldest item; `None` when empty.
    pub fn dequeue(&self) -> Result<Option<Vec<u8>>, Status> {
        hostcalls::dequeue_shared_queue(self.id)
    }
}
