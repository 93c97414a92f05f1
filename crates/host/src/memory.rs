//! Guest memory access for hostcalls. Every pointer the guest passes is checked against the
//! memory's bounds: a bad pointer yields `InvalidMemoryAccess`, never a host panic.

use crate::state::HostState;
use higress_abi::Status;
use wasmtime::{Caller, Memory};

/// Why a hostcall stopped: a status for the guest, or a trap raised by guest code the host
/// called back into (its allocator).
pub(crate) enum HcError {
    Status(Status),
    Trap(wasmtime::Error),
}

impl From<Status> for HcError {
    fn from(status: Status) -> Self {
        HcError::Status(status)
    }
}

/// Converts a hostcall's outcome into the i32 the guest receives, or a trap.
pub(crate) fn finish(result: Result<(), HcError>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(Status::Ok.wire() as i32),
        Err(HcError::Status(status)) => Ok(status.wire() as i32),
        Err(HcError::Trap(trap)) => Err(trap),
    }
}

fn memory(c: &Caller<'_, HostState>) -> Result<Memory, Status> {
    c.data().memory.ok_or(Status::InvalidMemoryAccess)
}

fn range(ptr: i32, len: usize) -> Result<std::ops::Range<usize>, Status> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len).ok_or(Status::InvalidMemoryAccess)?;
    Ok(start..end)
}

/// Copies `len` bytes at `ptr` out of guest memory.
pub(crate) fn read_bytes(c: &mut Caller<'_, HostState>, ptr: i32, len: usize) -> Result<Vec<u8>, Status> {
    let mem = memory(c)?;
    mem.data(&*c).get(range(ptr, len)?).map(<[u8]>::to_vec).ok_or(Status::InvalidMemoryAccess)
}

/// Reads `len` bytes at `ptr` (an i32 length from the guest).
pub(crate) fn read(c: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Result<Vec<u8>, Status> {
    read_bytes(c, ptr, len as u32 as usize)
}

/// Reads a UTF-8 string (invalid sequences replaced).
pub(crate) fn read_string(c: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Result<String, Status> {
    Ok(String::from_utf8_lossy(&read(c, ptr, len)?).into_owned())
}

/// Writes `bytes` at `ptr`.
pub(crate) fn write_bytes(c: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> Result<(), Status> {
    let mem = memory(c)?;
    let slot = mem.data_mut(&mut *c).get_mut(range(ptr, bytes.len())?).ok_or(Status::InvalidMemoryAccess)?;
    slot.copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian u32 at `ptr`.
pub(crate) fn write_u32(c: &mut Caller<'_, HostState>, ptr: i32, value: u32) -> Result<(), Status> {
    write_bytes(c, ptr, &value.to_le_bytes())
}

/// Writes a little-endian u64 at `ptr`.
pub(crate) fn write_u64(c: &mut Caller<'_, HostState>, ptr: i32, value: u64) -> Result<(), Status> {
    write_bytes(c, ptr, &value.to_le_bytes())
}

/// Allocates `bytes.len()` bytes in the guest (its `malloc` or `proxy_on_memory_allocate`),
/// copies `bytes` there and stores the pointer and length at `ptr_out` / `len_out`.
/// Empty data is returned as pointer 0, length 0, as Envoy does.
pub(crate) fn return_bytes(
    c: &mut Caller<'_, HostState>,
    bytes: &[u8],
    ptr_out: i32,
    len_out: i32,
) -> Result<(), HcError> {
    if bytes.is_empty() {
        write_u32(c, ptr_out, 0)?;
        write_u32(c, len_out, 0)?;
        return Ok(());
    }
    let len = u32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
    // An `Rc`: cloning the typed function itself would register its type again per call.
    let alloc = c.data().alloc.clone().ok_or(Status::InvalidMemoryAccess)?;
    let ptr = alloc.call(&mut *c, len).map_err(HcError::Trap)?;
    if ptr == 0 {
        return Err(Status::InvalidMemoryAccess.into());
    }
    write_bytes(c, ptr as i32, bytes)?;
    write_u32(c, ptr_out, ptr)?;
    write_u32(c, len_out, len)?;
    Ok(())
}
