//! The one-file tar archives a plugin image's layer holds (`plugin.wasm`), written
//! reproducibly (no time, no owner) and read back by name.

/// A ustar archive holding `data` as the regular file `name` (mode 0644, time 0).
pub fn one_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    put(&mut header, 0, 100, name.as_bytes());
    put(&mut header, 100, 8, b"0000644\0");
    put(&mut header, 108, 8, b"0000000\0");
    put(&mut header, 116, 8, b"0000000\0");
    put(&mut header, 124, 12, format!("{:011o}\0", data.len()).as_bytes());
    put(&mut header, 136, 12, b"00000000000\0");
    put(&mut header, 156, 1, b"0");
    put(&mut header, 257, 8, b"ustar\x0000");
    // The checksum is computed with its own field as spaces.
    put(&mut header, 148, 8, b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    put(&mut header, 148, 8, format!("{sum:06o}\0 ").as_bytes());
    let mut out = Vec::with_capacity(512 + data.len() + 512 * 3);
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(512), 0);
    // Two zero blocks end the archive.
    out.resize(out.len() + 1024, 0);
    out
}

fn put(header: &mut [u8; 512], at: usize, len: usize, value: &[u8]) {
    if let Some(field) = header.get_mut(at..at + len) {
        for (slot, byte) in field.iter_mut().zip(value) {
            *slot = *byte;
        }
    }
}

/// The content of the regular file `name` (a leading `./` or `/` ignored) in a tar archive.
pub fn find(archive: &[u8], name: &str) -> Result<Vec<u8>, String> {
    let wanted = name.trim_start_matches("./").trim_start_matches('/');
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while let Some(header) = archive.get(at..at + 512) {
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let text = |from: usize, len: usize| {
            let field = header.get(from..from + len).unwrap_or_default();
            let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
            String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
        };
        let size = usize::from_str_radix(text(124, 12).trim(), 8).map_err(|_| "a tar header has a bad size")?;
        let kind = header.get(156).copied().unwrap_or(0);
        let data_at = at + 512;
        let data = archive.get(data_at..data_at + size).ok_or("the tar archive is cut short")?;
        let mut path = match long_name.take() {
            Some(long) => long,
            None => {
                let prefix = text(345, 155);
                let base = text(0, 100);
                if prefix.is_empty() {
                    base
                } else {
                    format!("{prefix}/{base}")
                }
            }
        };
        path = path.trim_start_matches("./").trim_start_matches('/').to_string();
        match kind {
            // GNU long name: the next entry's name.
            b'L' => long_name = Some(String::from_utf8_lossy(data).trim_end_matches('\0').to_string()),
            b'0' | 0 if path == wanted => return Ok(data.to_vec()),
            _ => {}
        }
        at = data_at + size.next_multiple_of(512);
    }
    Err(format!("no {wanted} in the layer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_is_found_again() {
        let data: Vec<u8> = (0..1300u32).map(|i| i as u8).collect();
        let archive = one_file("plugin.wasm", &data);
        assert_eq!(archive.len() % 512, 0);
        assert_eq!(find(&archive, "plugin.wasm").unwrap(), data);
        assert_eq!(find(&archive, "./plugin.wasm").unwrap(), data);
        assert!(find(&archive, "other.wasm").unwrap_err().contains("no other.wasm"));
        assert!(find(&archive[..600], "plugin.wasm").is_err());
        // The checksum a tar reader checks: the header's bytes with the field as spaces.
        let mut header = archive[..512].to_vec();
        let stored = u32::from_str_radix(std::str::from_utf8(&header[148..154]).unwrap(), 8).unwrap();
        header[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, header.iter().map(|b| u32::from(*b)).sum::<u32>());
    }
}
