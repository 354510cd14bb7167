//! Padding to size buckets: `len u32 LE || payload || zeros`, filling the
//! bucket minus the 16-byte AEAD tag, so every body is exactly a bucket long.

use crate::error::EnvelopeError;

/// The only lengths a sealed body can have, smallest first.
pub const BUCKETS: [usize; 5] = [256, 1024, 4096, 16384, 65536];
/// The AEAD tag appended to the padded plaintext.
pub(crate) const TAG: usize = 16;
/// The largest payload that fits: the biggest bucket minus tag and length.
pub const MAX_PAYLOAD: usize = BUCKETS[BUCKETS.len() - 1] - TAG - 4;

/// The bucket a payload of `len` bytes is sealed into.
pub fn bucket_for(len: usize) -> Option<usize> {
    BUCKETS.iter().copied().find(|b| len + 4 + TAG <= *b)
}

/// Pads `payload` to `bucket_for(len) - TAG` bytes.
pub(crate) fn pad(payload: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let bucket = bucket_for(payload.len()).ok_or(EnvelopeError::TooLarge(payload.len()))?;
    let len = u32::try_from(payload.len()).map_err(|_| EnvelopeError::TooLarge(payload.len()))?;
    let mut out = Vec::with_capacity(bucket);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out.resize(bucket - TAG, 0);
    Ok(out)
}

/// Strips the padding; the zeros must be zeros.
pub(crate) fn unpad(padded: &[u8]) -> Result<&[u8], EnvelopeError> {
    let bad = EnvelopeError::MalformedBody("bad padding");
    let len_bytes: [u8; 4] = padded
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(bad.clone())?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let end = len
        .checked_add(4)
        .filter(|e| *e <= padded.len())
        .ok_or(bad.clone())?;
    if padded[end..].iter().any(|b| *b != 0) {
        return Err(bad);
    }
    Ok(&padded[4..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact() {
        for len in [0, 1, 235, 236, 237, 1004, 1005, 65516] {
            let padded = pad(&vec![7u8; len]).unwrap();
            assert!(BUCKETS.contains(&(padded.len() + TAG)), "len {len}");
            assert_eq!(unpad(&padded).unwrap().len(), len);
        }
        assert_eq!(bucket_for(236), Some(256));
        assert_eq!(bucket_for(237), Some(1024));
        assert!(pad(&vec![0u8; MAX_PAYLOAD + 1]).is_err());
    }
}
