//! Encoding and decoding of the binary envelope (magic, version, manifest, payload, checksum).

use sha2::{Digest, Sha256};

use crate::{Error, Manifest, Result};

/// The 8 bytes every model file starts with.
pub const MAGIC: &[u8; 8] = b"INGOTMDL";
/// The container version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u16 = 1;

const HEADER_LEN: usize = 16;
const CHECKSUM_LEN: usize = 32;

/// A decoded model file: the manifest plus the algorithm-owned payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The self-describing metadata.
    pub manifest: Manifest,
    /// Opaque bytes interpreted by the algorithm named in the manifest.
    pub payload: Vec<u8>,
}

impl ModelFile {
    /// Encodes the file. The manifest's `format_version` is written as [`FORMAT_VERSION`]; the
    /// output is a pure function of the manifest and payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut manifest = self.manifest.clone();
        manifest.format_version = FORMAT_VERSION;
        // Serializing plain structs, string-keyed maps and JSON values cannot fail.
        let json = serde_json::to_vec(&manifest).unwrap_or_default();
        let mut out =
            Vec::with_capacity(HEADER_LEN + json.len() + 8 + self.payload.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        // A manifest is metadata; it cannot realistically approach 4 GiB.
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&(self.payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.payload);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Decodes and verifies a model file.
    pub fn decode(bytes: &[u8]) -> Result<ModelFile> {
        let mut reader = Reader { bytes, pos: 0 };
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(Error::BadMagic);
        }
        reader.take(MAGIC.len(), "magic number")?;
        let version = u16::from_le_bytes(reader.array("format version")?);
        if version == 0 || version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let reserved = u16::from_le_bytes(reader.array("reserved header field")?);
        if reserved != 0 {
            return Err(Error::Reserved { value: reserved });
        }
        let manifest_len = u32::from_le_bytes(reader.array("manifest length")?);
        let manifest_bytes = reader.take_u64(u64::from(manifest_len), "manifest")?;
        let payload_len = u64::from_le_bytes(reader.array("payload length")?);
        let payload = reader.take_u64(payload_len, "payload")?;
        let content_len = reader.pos;
        let checksum = reader.take(CHECKSUM_LEN, "checksum")?;
        if reader.pos != bytes.len() {
            return Err(Error::TrailingBytes {
                extra: (bytes.len() - reader.pos) as u64,
            });
        }
        let digest = Sha256::digest(&bytes[..content_len]);
        if digest.as_slice() != checksum {
            return Err(Error::ChecksumMismatch);
        }
        let manifest: Manifest = serde_json::from_slice(manifest_bytes).map_err(Error::Manifest)?;
        if manifest.format_version != version {
            return Err(Error::VersionMismatch {
                header: version,
                manifest: manifest.format_version,
            });
        }
        Ok(ModelFile {
            manifest,
            payload: payload.to_vec(),
        })
    }
}

/// A bounds-checked cursor that names the section it failed to read.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, len: usize, section: &'static str) -> Result<&'a [u8]> {
        if len > self.remaining() {
            return Err(Error::Truncated {
                section,
                needed: len as u64,
                available: self.remaining() as u64,
            });
        }
        let slice = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    fn take_u64(&mut self, len: u64, section: &'static str) -> Result<&'a [u8]> {
        match usize::try_from(len) {
            Ok(len) => self.take(len, section),
            Err(_) => Err(Error::Truncated {
                section,
                needed: len,
                available: self.remaining() as u64,
            }),
        }
    }

    fn array<const N: usize>(&mut self, section: &'static str) -> Result<[u8; N]> {
        let slice = self.take(N, section)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
