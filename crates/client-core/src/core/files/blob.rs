//! The encrypted blob of an attachment: the file split into chunks, each sealed with
//! ChaCha20-Poly1305 under a fresh random key (`protocol-spec/organizing.md` §4).
//!
//! Chunk `i` of `n` is `ChaCha20-Poly1305(key, nonce = i:u32 BE ‖ 0^7 ‖ last:u8,
//! aad = "boucle/file/v1/chunk", plaintext[i·chunk_size ..])`, where `last` is 1 for
//! chunk `n-1` only: chunks cannot be reordered, swapped or the file cut short without
//! a chunk failing to open. The SHA-256 in the attachment reference is over the
//! concatenated chunk ciphertexts, in index order. Pure functions, no I/O.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Version of the blob format (first field of the locator).
pub(crate) const BLOB_VERSION: u8 = 1;
/// The largest file that can be sent or received: 64 MiB.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;
/// Plaintext bytes per chunk this version writes: with the AEAD tag, the content frame
/// and the Olm or Megolm overhead, a chunk still fits the largest envelope bucket.
pub(crate) const CHUNK_SIZE: u32 = 63 * 1024;
/// Smallest chunk size a receiver accepts (bounds the number of chunks).
pub(crate) const MIN_CHUNK_SIZE: u32 = 4 * 1024;
/// Most chunks any valid attachment has.
pub(crate) const MAX_CHUNKS: u32 = (MAX_FILE_SIZE / MIN_CHUNK_SIZE as u64) as u32;
/// The AEAD tag each chunk carries.
pub(crate) const TAG_LEN: usize = 16;
const CHUNK_AAD: &[u8] = b"boucle/file/v1/chunk";

/// How the blob is cut: the attachment reference's `locator`, postcard-encoded
/// `version:u8 chunk_size:u32 chunks:u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Locator {
    pub version: u8,
    pub chunk_size: u32,
    pub chunks: u32,
}

/// Why an attachment cannot be used; the text is shown to people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BlobError {
    #[error("the file is larger than the 64 MiB limit")]
    TooLarge,
    #[error("the attachment's description is not valid (made by an incompatible version?)")]
    BadLocator,
    #[error("a piece of the file has the wrong size: it was damaged or tampered with")]
    BadChunk,
    #[error("the file's checksum does not match: it was damaged or tampered with")]
    Checksum,
    #[error("a piece of the file does not decrypt: it was damaged or tampered with")]
    Decrypt,
    #[error("pieces of the file are missing")]
    Missing,
}

impl Locator {
    /// The locator for a file of `size` bytes cut into `chunk_size` pieces.
    pub(crate) fn for_size(size: u64, chunk_size: u32) -> Locator {
        Locator {
            version: BLOB_VERSION,
            chunk_size,
            chunks: chunk_count(size, chunk_size),
        }
    }

    pub(crate) fn to_bytes(self) -> Vec<u8> {
        postcard::to_allocvec(&self).unwrap_or_default()
    }

    /// Decodes and checks a locator against the announced plaintext size. Trailing
    /// bytes (fields of a later version) are ignored.
    pub(crate) fn parse(bytes: &[u8], size: u64) -> Result<Locator, BlobError> {
        if size > MAX_FILE_SIZE {
            return Err(BlobError::TooLarge);
        }
        let (locator, _rest): (Locator, _) =
            postcard::take_from_bytes(bytes).map_err(|_| BlobError::BadLocator)?;
        let valid = locator.version == BLOB_VERSION
            && (MIN_CHUNK_SIZE..=CHUNK_SIZE).contains(&locator.chunk_size)
            && locator.chunks == chunk_count(size, locator.chunk_size);
        if valid {
            Ok(locator)
        } else {
            Err(BlobError::BadLocator)
        }
    }

    /// Plaintext length of chunk `index` of a file of `size` bytes.
    pub(crate) fn plain_len(&self, size: u64, index: u32) -> usize {
        let start = u64::from(index) * u64::from(self.chunk_size);
        size.saturating_sub(start).min(u64::from(self.chunk_size)) as usize
    }

    /// Ciphertext length of chunk `index`.
    pub(crate) fn cipher_len(&self, size: u64, index: u32) -> usize {
        self.plain_len(size, index) + TAG_LEN
    }
}

/// Number of chunks of a file: at least one (an empty file is one empty chunk).
fn chunk_count(size: u64, chunk_size: u32) -> u32 {
    let n = size.div_ceil(u64::from(chunk_size.max(1))).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn nonce(index: u32, last: bool) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&index.to_be_bytes());
    bytes[11] = u8::from(last);
    Nonce::from(bytes)
}

/// A file, encrypted: what the sender needs to queue it.
pub(crate) struct SealedBlob {
    pub key: Zeroizing<[u8; 32]>,
    pub sha256: [u8; 32],
    pub locator: Locator,
    pub chunks: Vec<Vec<u8>>,
}

/// Encrypts a file under `key`, which must be fresh and random (the caller draws it
/// from the core's rng): one key per file.
pub(crate) fn seal(
    plaintext: &[u8],
    chunk_size: u32,
    key: Zeroizing<[u8; 32]>,
) -> Result<SealedBlob, BlobError> {
    if plaintext.len() as u64 > MAX_FILE_SIZE {
        return Err(BlobError::TooLarge);
    }
    let locator = Locator::for_size(plaintext.len() as u64, chunk_size);
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let mut hash = Sha256::new();
    let mut chunks = Vec::with_capacity(locator.chunks as usize);
    for index in 0..locator.chunks {
        let start = index as usize * chunk_size as usize;
        let len = locator.plain_len(plaintext.len() as u64, index);
        let piece = &plaintext[start..start + len];
        let sealed = cipher
            .encrypt(
                &nonce(index, index + 1 == locator.chunks),
                Payload {
                    msg: piece,
                    aad: CHUNK_AAD,
                },
            )
            .map_err(|_| BlobError::Decrypt)?;
        hash.update(&sealed);
        chunks.push(sealed);
    }
    Ok(SealedBlob {
        key,
        sha256: hash.finalize().into(),
        locator,
        chunks,
    })
}

/// Decrypts one chunk.
pub(crate) fn open_chunk(
    key: &[u8; 32],
    locator: &Locator,
    index: u32,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BlobError> {
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(
            &nonce(index, index + 1 == locator.chunks),
            Payload {
                msg: data,
                aad: CHUNK_AAD,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| BlobError::Decrypt)
}

/// Checks a complete blob (chunks in index order, all present): sizes, checksum, and
/// that every chunk opens. Nothing is kept of the plaintext.
pub(crate) fn verify(
    key: &[u8; 32],
    sha256: &[u8; 32],
    size: u64,
    locator: &Locator,
    chunks: &[&[u8]],
) -> Result<(), BlobError> {
    if chunks.len() as u64 != u64::from(locator.chunks) {
        return Err(BlobError::Missing);
    }
    let mut hash = Sha256::new();
    for (index, data) in (0u32..).zip(chunks) {
        if data.len() != locator.cipher_len(size, index) {
            return Err(BlobError::BadChunk);
        }
        hash.update(data);
    }
    let digest: [u8; 32] = hash.finalize().into();
    if &digest != sha256 {
        return Err(BlobError::Checksum);
    }
    for (index, data) in (0u32..).zip(chunks) {
        open_chunk(key, locator, index, data)?;
    }
    Ok(())
}

/// Decrypts a complete, verified blob.
pub(crate) fn open<'a>(
    key: &[u8; 32],
    size: u64,
    locator: &Locator,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Zeroizing<Vec<u8>>, BlobError> {
    let mut out = Zeroizing::new(Vec::with_capacity(size as usize));
    let mut count = 0u32;
    for (index, data) in (0u32..).zip(chunks) {
        if index >= locator.chunks {
            return Err(BlobError::BadChunk);
        }
        out.extend_from_slice(&open_chunk(key, locator, index, data)?);
        count += 1;
    }
    if count != locator.chunks || out.len() as u64 != size {
        return Err(BlobError::Missing);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    fn test_key() -> Zeroizing<[u8; 32]> {
        Zeroizing::new([0x5a; 32])
    }

    use super::*;

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn refs(chunks: &[Vec<u8>]) -> Vec<&[u8]> {
        chunks.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn round_trip_at_chunk_boundaries() {
        let cs = MIN_CHUNK_SIZE;
        for len in [
            0,
            1,
            cs as usize - 1,
            cs as usize,
            cs as usize + 1,
            3 * cs as usize,
        ] {
            let plain = file(len);
            let blob = seal(&plain, cs, test_key()).unwrap();
            assert_eq!(blob.chunks.len() as u32, blob.locator.chunks);
            assert_eq!(
                Locator::parse(&blob.locator.to_bytes(), len as u64),
                Ok(blob.locator)
            );
            verify(
                &blob.key,
                &blob.sha256,
                len as u64,
                &blob.locator,
                &refs(&blob.chunks),
            )
            .unwrap();
            let opened = open(&blob.key, len as u64, &blob.locator, refs(&blob.chunks)).unwrap();
            assert_eq!(&opened[..], &plain[..], "len {len}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        let cs = MIN_CHUNK_SIZE;
        let len = 3 * cs as u64 + 10;
        let blob = seal(&file(len as usize), cs, test_key()).unwrap();
        let ok =
            |chunks: &[Vec<u8>]| verify(&blob.key, &blob.sha256, len, &blob.locator, &refs(chunks));
        // A flipped bit: the checksum fails, and the chunk does not open.
        let mut flipped = blob.chunks.clone();
        flipped[1][5] ^= 1;
        assert_eq!(ok(&flipped), Err(BlobError::Checksum));
        assert_eq!(
            open(&blob.key, len, &blob.locator, refs(&flipped)).unwrap_err(),
            BlobError::Decrypt
        );
        // Swapped chunks do not open (the nonce binds the index).
        let mut swapped = blob.chunks.clone();
        swapped.swap(0, 1);
        assert_eq!(
            open(&blob.key, len, &blob.locator, refs(&swapped)).unwrap_err(),
            BlobError::Decrypt
        );
        // A missing chunk, and a chunk of the wrong size.
        assert_eq!(ok(&blob.chunks[..3]), Err(BlobError::Missing));
        let mut short = blob.chunks.clone();
        short[3].pop();
        assert_eq!(ok(&short), Err(BlobError::BadChunk));
        // The wrong key.
        let wrong = [7u8; 32];
        assert_eq!(
            open(&wrong, len, &blob.locator, refs(&blob.chunks)).unwrap_err(),
            BlobError::Decrypt
        );
        // A cut-short file: the last chunk of a shorter locator is not marked last.
        let shorter = Locator::for_size(2 * cs as u64, cs);
        assert_eq!(
            open(&blob.key, 2 * cs as u64, &shorter, refs(&blob.chunks[..2])).unwrap_err(),
            BlobError::Decrypt
        );
    }

    #[test]
    fn locators_are_checked() {
        let good = Locator::for_size(100_000, CHUNK_SIZE);
        assert_eq!(good.chunks, 2);
        assert!(Locator::parse(&good.to_bytes(), 100_000).is_ok());
        // Announced size and chunk count disagree.
        assert_eq!(
            Locator::parse(&good.to_bytes(), 10),
            Err(BlobError::BadLocator)
        );
        // Too large, bad version, tiny chunks, garbage.
        assert_eq!(
            Locator::parse(&good.to_bytes(), MAX_FILE_SIZE + 1),
            Err(BlobError::TooLarge)
        );
        let v2 = Locator { version: 2, ..good };
        assert_eq!(
            Locator::parse(&v2.to_bytes(), 100_000),
            Err(BlobError::BadLocator)
        );
        let tiny = Locator::for_size(100_000, 16);
        assert_eq!(
            Locator::parse(&tiny.to_bytes(), 100_000),
            Err(BlobError::BadLocator)
        );
        assert_eq!(Locator::parse(&[0xff; 3], 1), Err(BlobError::BadLocator));
        // A later version's extra fields are ignored.
        let mut longer = good.to_bytes();
        longer.extend_from_slice(&[1, 2, 3]);
        assert_eq!(Locator::parse(&longer, 100_000), Ok(good));
        assert!(seal(&[], CHUNK_SIZE, test_key()).unwrap().chunks.len() == 1);
    }
}
