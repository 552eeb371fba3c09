//! `$(slog)`: syslog-ng's secure logging (module secure-logging), forward-secure encrypted logs
//! that its `slogverify` decrypts and checks.
//!
//! Each entry is encrypted with AES-256-GCM under a key derived from the current host key, which
//! then evolves (so a key taken from the host cannot decrypt what was logged before), and an
//! aggregated CMAC over every entry is kept in the MAC file (so dropped or reordered entries are
//! found). The key file (`key || CMAC(key; counter) || counter`) and the MAC file
//! (`MAC || CMAC(MAC; zeros)`) are rewritten after every entry, as 3.38 does, so a restart goes on
//! where the last run stopped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openssl::base64;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{encrypt_aead, Cipher};
use rsng_core::template::{BuiltinFunction, ExternalFunction, ExternalFunctions};

use crate::internal;

const KEY_LENGTH: usize = 32;
const MAC_LENGTH: usize = 16;
const IV_LENGTH: usize = 12;
const BLOCK: usize = 16;

/// Inputs of the PRF that derive the encryption key, the MAC key and the next host key.
const ENCRYPTION_PATTERN: [u8; BLOCK] = [0x36; BLOCK];
const MAC_PATTERN: [u8; BLOCK] = [0x5c; BLOCK];
const EVOLVE_PATTERN: [u8; BLOCK] = [0x6a; BLOCK];

/// Supplies `$(slog)` to template compilation.
pub struct SecureLogging;

impl ExternalFunctions for SecureLogging {
    fn prepare(
        &self,
        function: BuiltinFunction,
        options: &[(&str, &str)],
    ) -> Result<Arc<dyn ExternalFunction>, String> {
        if function != BuiltinFunction::Slog {
            return Err(format!("$({}) has no outside state", function.name()));
        }
        let option = |name: &str| options.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap_or_default();
        Ok(Arc::new(Slog::load(PathBuf::from(option("key-file")), PathBuf::from(option("mac-file")))))
    }
}

/// One `$(slog)` call's running state.
struct Slog {
    /// `None`: the key could not be loaded; entries are written in clear text.
    state: Mutex<Option<HostKey>>,
    key_path: PathBuf,
    mac_path: PathBuf,
}

struct HostKey {
    key: [u8; KEY_LENGTH],
    /// Entries logged so far (the index of `key`).
    counter: u64,
    /// The aggregated MAC over every entry so far.
    mac: [u8; MAC_LENGTH],
}

impl Slog {
    fn load(key_path: PathBuf, mac_path: PathBuf) -> Slog {
        let state = match read_key(&key_path) {
            Some((key, counter)) => {
                let mac = read_mac(&mac_path);
                if mac.is_none() && counter > 0 {
                    internal::warning(format!(
                        "[SLOG] ERROR: Aggregated MAC not found or invalid; File='{}'",
                        mac_path.display()
                    ));
                }
                Some(HostKey { key, counter, mac: mac.unwrap_or([0; MAC_LENGTH]) })
            }
            None => {
                internal::warning(
                    "[SLOG] WARNING: Template parsing failed, key file not found or invalid. Reverting to clear text \
                     logging.",
                );
                None
            }
        };
        Slog { state: Mutex::new(state), key_path, mac_path }
    }
}

impl ExternalFunction for Slog {
    fn call(&self, arg: &[u8], out: &mut Vec<u8>) {
        // One entry at a time: each evolves the key the next one needs.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(host) = guard.as_mut() else {
            out.extend_from_slice(arg);
            return;
        };
        const EMPTY: &[u8] = b"[SLOG] ERROR: String of length 0 received";
        let text = if arg.is_empty() {
            internal::error("[SLOG] ERROR: String of length 0 received");
            EMPTY
        } else {
            arg
        };
        match encrypt_entry(host, text) {
            Ok(entry) => out.extend_from_slice(&entry),
            Err(e) => {
                internal::error(format!("[SLOG] ERROR: Unable to correctly encrypt log message; error='{e}'"));
                out.extend_from_slice(&counter_text(host.counter));
                out.extend_from_slice(b":[SLOG] ERROR: Unable to correctly encrypt the following log message:: ");
                out.extend_from_slice(text);
                return;
            }
        }
        host.key = evolve(&host.key);
        host.counter += 1;
        if let Err(e) = write_key(&self.key_path, &host.key, host.counter) {
            internal::error(format!("[SLOG] ERROR: Cannot write key to file; error='{e}'"));
            return;
        }
        if let Err(e) = write_mac(&self.mac_path, &host.mac) {
            internal::error(format!(
                "[SLOG] ERROR: Unable to write aggregated MAC; File='{}', error='{e}'",
                self.mac_path.display()
            ));
        }
    }
}

/// `COUNTER:BASE64(IV || TAG || CIPHERTEXT)`, updating the aggregated MAC in `host`.
fn encrypt_entry(host: &mut HostKey, text: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let encryption_key = prf(&host.key, &ENCRYPTION_PATTERN)?;
    let mac_key = prf(&host.key, &MAC_PATTERN)?;
    // The MAC input is the previous aggregated MAC (after the first entry), then IV, tag and
    // ciphertext: one buffer holds it all.
    let mut buf = vec![0u8; BLOCK + IV_LENGTH + BLOCK + text.len()];
    buf[..BLOCK].copy_from_slice(&host.mac);
    openssl::rand::rand_bytes(&mut buf[BLOCK..BLOCK + IV_LENGTH])?;
    let (head, tail) = buf.split_at_mut(BLOCK + IV_LENGTH);
    let (tag, ciphertext_space) = tail.split_at_mut(BLOCK);
    let ciphertext = encrypt_aead(Cipher::aes_256_gcm(), &encryption_key, Some(&head[BLOCK..]), &[], text, tag)?;
    ciphertext_space.copy_from_slice(&ciphertext);
    let mac_input = if host.counter > 0 { &buf[..] } else { &buf[BLOCK..] };
    let mac = cmac(&mac_key, mac_input)?;
    let mut entry = counter_text(host.counter);
    entry.push(b':');
    entry.extend_from_slice(base64::encode_block(&buf[BLOCK..]).as_bytes());
    host.mac = mac;
    Ok(entry)
}

/// The entry number as 3.38 writes it: the base64 of its 8 little-endian bytes.
fn counter_text(counter: u64) -> Vec<u8> {
    base64::encode_block(&counter.to_le_bytes()).into_bytes()
}

/// AES-256 CMAC.
fn cmac(key: &[u8; KEY_LENGTH], input: &[u8]) -> Result<[u8; MAC_LENGTH], openssl::error::ErrorStack> {
    let pkey = PKey::cmac(&Cipher::aes_256_cbc(), key)?;
    let mut signer = Signer::new_without_digest(&pkey)?;
    signer.update(input)?;
    let mut out = [0u8; MAC_LENGTH];
    signer.sign(&mut out)?;
    Ok(out)
}

/// 3.38's CMAC-based PRF for a 32-byte output: two blocks, the last input byte counting up.
fn prf(key: &[u8; KEY_LENGTH], pattern: &[u8; BLOCK]) -> Result<[u8; KEY_LENGTH], openssl::error::ErrorStack> {
    let mut input = *pattern;
    let mut out = [0u8; KEY_LENGTH];
    for block in out.chunks_mut(BLOCK) {
        block.copy_from_slice(&cmac(key, &input)?);
        input[BLOCK - 1] = input[BLOCK - 1].wrapping_add(1);
    }
    Ok(out)
}

fn evolve(key: &[u8; KEY_LENGTH]) -> [u8; KEY_LENGTH] {
    // A CMAC over fixed inputs only fails if OpenSSL lacks AES; the key then stays, and the
    // failure shows in the entry that could not be encrypted with it.
    prf(key, &EVOLVE_PATTERN).unwrap_or(*key)
}

fn read_key(path: &Path) -> Option<([u8; KEY_LENGTH], u64)> {
    let data = std::fs::read(path).ok()?;
    if data.len() < KEY_LENGTH + MAC_LENGTH + 8 {
        return None;
    }
    let key: [u8; KEY_LENGTH] = data[..KEY_LENGTH].try_into().ok()?;
    let counter_bytes = &data[KEY_LENGTH + MAC_LENGTH..KEY_LENGTH + MAC_LENGTH + 8];
    if cmac(&key, counter_bytes).ok()? != data[KEY_LENGTH..KEY_LENGTH + MAC_LENGTH] {
        internal::warning("[SLOG] ERROR: Host key corrupted. CMAC in key file not matching");
        return None;
    }
    Some((key, u64::from_le_bytes(counter_bytes.try_into().ok()?)))
}

fn write_key(path: &Path, key: &[u8; KEY_LENGTH], counter: u64) -> std::io::Result<()> {
    let counter = counter.to_le_bytes();
    let check = cmac(key, &counter).map_err(std::io::Error::other)?;
    let mut data = Vec::with_capacity(KEY_LENGTH + MAC_LENGTH + 8);
    data.extend_from_slice(key);
    data.extend_from_slice(&check);
    data.extend_from_slice(&counter);
    std::fs::write(path, data)
}

/// The MAC file's check: a CMAC of zeros under the MAC padded to a key.
fn mac_check(mac: &[u8; MAC_LENGTH]) -> Result<[u8; MAC_LENGTH], openssl::error::ErrorStack> {
    let mut key = [0u8; KEY_LENGTH];
    key[..MAC_LENGTH].copy_from_slice(mac);
    cmac(&key, &[0u8; MAC_LENGTH])
}

fn read_mac(path: &Path) -> Option<[u8; MAC_LENGTH]> {
    let data = std::fs::read(path).ok()?;
    if data.len() != 2 * MAC_LENGTH {
        internal::error("[SLOG] ERROR: $(slog) parsing failed, invalid size of MAC file");
        return None;
    }
    let mac: [u8; MAC_LENGTH] = data[..MAC_LENGTH].try_into().ok()?;
    if mac_check(&mac).ok()? != data[MAC_LENGTH..] {
        internal::warning("[SLOG] ERROR: MAC computation invalid");
        return None;
    }
    Some(mac)
}

fn write_mac(path: &Path, mac: &[u8; MAC_LENGTH]) -> std::io::Result<()> {
    let check = mac_check(mac).map_err(std::io::Error::other)?;
    let mut data = Vec::with_capacity(2 * MAC_LENGTH);
    data.extend_from_slice(mac);
    data.extend_from_slice(&check);
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4493's AES-CMAC examples are for AES-128; NIST SP 800-38B gives AES-256 ones.
    #[test]
    fn cmac_matches_nist_aes256_example() {
        let key: [u8; 32] = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        assert_eq!(cmac(&key, &[]).unwrap().to_vec(), hex::<16>("028962f61b7bf89efc6b551f4667d983").to_vec());
        let block: [u8; 16] = hex("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(cmac(&key, &block).unwrap().to_vec(), hex::<16>("28a7023f452e8f82bd4bf28d8c37c35c").to_vec());
    }

    #[test]
    fn counter_is_twelve_characters() {
        assert_eq!(counter_text(0), b"AAAAAAAAAAA=");
        assert_eq!(counter_text(1), b"AQAAAAAAAAA=");
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
